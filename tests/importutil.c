/* importutil.c -- import cases shared by check_integrity (SQLite) and
 * check_pg (PostgreSQL). */
#include "importutil.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sift_import.h"
#include "sift_xml.h"
#include "testutil.h"

static void
import_dir(sift_import_stats *s, const char *db, const char *dir)
{
    sift_limits lim = SIFT_LIMITS_INIT;
    sift_store *st = NULL;
    sift_ingest *in = NULL;
    sift_eval *ev = NULL;
    sift_err err;
    int rc;

    memset(s, 0, sizeof(*s));
    sift_xml_init();
    ck_assert_int_eq(sift_eval_new(&ev, &err), SIFT_OK);
    rc = sift_store_open(&st, db, 0, &err);
    ck_assert_msg(rc == SIFT_OK, "open %s: %s", db, err.msg);
    ck_assert_int_eq(sift_ingest_new(&in, &lim, &err), SIFT_OK);
    ck_assert_int_eq(sift_ingest_add_path(in, dir, &err), SIFT_OK);
    rc = sift_import_run(s, in, st, ev, &lim, 1, NULL, NULL, &err);
    ck_assert_msg(rc == SIFT_OK, "import %s: %s", dir, err.msg);
    sift_ingest_free(in);
    sift_store_close(st);
    sift_eval_free(ev);
}

static int
count_cb(void *payload, sift_row *row)
{
    *(int64_t *)payload = sift_row_int(row, 0);
    return 0;
}

static int64_t
count_of(const char *db, const char *sql)
{
    sift_store *st = NULL;
    sift_err err;
    int64_t n = -1;
    int rc;

    ck_assert_int_eq(sift_store_open(&st, db, SIFT_STORE_READONLY, &err),
                     SIFT_OK);
    rc = sift_store_query(st, sql, NULL, 0, count_cb, &n, &err);
    ck_assert_msg(rc == SIFT_OK, "%s: %s", sql, err.msg);
    sift_store_close(st);
    return n;
}

/* "<dir>/<name>" holding report `id` of 3 records, edited: the first
 * `from` in it becomes `to` (from NULL: as made). */
static void
put_report(const char *dir, const char *name, const char *id, const char *from,
           const char *to)
{
    static const unsigned counts[3] = {5, 7, 11};
    char path[1024], *doc = report_doc("unasked.example", id, 0, counts, 3);

    if (from != NULL) {
        char *copy = replace_once(doc, from, to);
        free(doc);
        doc = copy;
    }
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    ck_assert_int_eq(spit(path, doc, strlen(doc)), 0);
    free(doc);
}

void
check_unasked_copies(const char *db, const char *dir, unsigned long want_asked)
{
    char a[1024], b[1024], id[16], name[32];
    sift_import_stats s;
    unsigned long asked;
    int i;

    snprintf(a, sizeof(a), "%s/unasked-a", dir);
    snprintf(b, sizeof(b), "%s/unasked-b", dir);
    ck_assert_int_eq(mkdir(a, 0700), 0);
    ck_assert_int_eq(mkdir(b, 0700), 0);
    for (i = 0; i < 40; i++) {
        snprintf(id, sizeof(id), "a%02d", i);
        snprintf(name, sizeof(name), "%s.xml", id);
        put_report(a, name, id, NULL, NULL);
        snprintf(id, sizeof(id), "b%02d", i);
        snprintf(name, sizeof(name), "%s.xml", id);
        put_report(b, name, id, NULL, NULL);
    }
    /* read after the new ones (a directory is read in name order) */
    put_report(b, "c1-seen.xml", "a05", NULL, NULL);
    put_report(b, "c2-indented.xml", "a06", "<record>", "\n  <record>");
    put_report(b, "c3-conflict.xml", "a07", "<count>7</count>",
               "<count>8</count>");
    put_report(b, "c4-broken.xml", "a08", "<count>7</count>",
               "<count>7x</count>");

    import_dir(&s, db, a);
    ck_assert_uint_eq(s.imported, 40);
    ck_assert_uint_eq(s.records, 120);
    ck_assert_uint_eq(s.messages, 920);
    ck_assert_uint_eq(s.duplicates + s.conflicts + s.failed, 0);

    asked = sift_import__asked;
    import_dir(&s, db, b);
    asked = sift_import__asked - asked;
    ck_assert_uint_eq(s.imported, 40);
    ck_assert_uint_eq(s.records, 120);
    ck_assert_uint_eq(s.messages, 920);
    ck_assert_uint_eq(s.duplicates, 2);
    ck_assert_uint_eq(s.conflicts, 1);
    ck_assert_uint_eq(s.not_reports + s.failure_reports, 0);
    ck_assert_uint_eq(s.failed, 1);
    ck_assert_uint_eq(asked, want_asked);

    ck_assert_int_eq(count_of(db, "SELECT count(*) FROM reports"), 80);
    ck_assert_int_eq(count_of(db, "SELECT count(*) FROM records"), 240);
    ck_assert_int_eq(count_of(db, "SELECT count(*) FROM conflicts"), 1);
    ck_assert_int_eq(count_of(db, "SELECT count(*) FROM failed_inputs"), 1);
    /* the seen copy's bytes are a05's; the others' bytes were noted */
    ck_assert_int_eq(count_of(db, "SELECT count(*) FROM seen_inputs"), 82);
}
