/* check_integrity.c -- nothing lost, nothing double-counted, nothing stuck
 * (issues 11 and 19): the 128-bit hashes and the schema-1 upgrade, the
 * failed-input lifecycle, and the store under concurrent readers, writers
 * and kills. Drives the real dmarcsift binary on real SQLite files. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sift_import.h"
#include "sift_xml.h"
#include "store_int.h" /* SIFT_STORE_SCHEMA, sift_store__open_at */
#include "testutil.h"
#include "importutil.h"

extern char **environ;

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif

static char *sb;
static char *paths[256];
static int n_paths;

/* "<sandbox>/<rel>", valid until the test ends. */
static const char *
sbpath(const char *rel)
{
    char buf[4200];

    ck_assert_int_lt(n_paths, 256);
    snprintf(buf, sizeof(buf), "%s/%s", sb, rel);
    paths[n_paths] = strdup(buf);
    ck_assert_ptr_nonnull(paths[n_paths]);
    return paths[n_paths++];
}

static void
setup(void)
{
    sb = sandbox();
    ck_assert_ptr_nonnull(sb);
}

static void
teardown(void)
{
    rm_rf(sb);
    free(sb);
    while (n_paths > 0)
        free(paths[--n_paths]);
}

/* --- documents ------------------------------------------------------- */

/* The counterexample of issue 11.1: 16 records, counts differing only in
 * two digits (records 7 and 15: 65, 75 vs 85, 15), report_id of 34
 * letters. Under 0.1.0's word-wise FNV both the content hash and the
 * raw-bytes fingerprint of the two documents are equal (each changed
 * digit is the top byte of an 8-byte word and the two differences cancel),
 * so the corrected copy was a "duplicate", or skipped unread. */
static char *
counterexample(int corrected)
{
    unsigned c[16];
    int i;

    for (i = 0; i < 16; i++)
        c[i] = 10;
    c[7] = corrected ? 85 : 65;
    c[15] = corrected ? 15 : 75;
    return report_doc("hash.example", NULL, 34, c, 16);
}

static void
put_file(const char *path, const char *s)
{
    ck_assert_msg(spit(path, s, strlen(s)) == 0, "cannot write %s", path);
}

/* --- running dmarcsift ------------------------------------------------ */

static int
sift_run(char **out, char **err, ...)
{
    const char *argv[32];
    va_list ap;
    int n = 0, rc;
    char *o = NULL, *e = NULL;

    argv[n++] = SIFT_BINARY;
    va_start(ap, err);
    while (n < 31 && (argv[n] = va_arg(ap, const char *)) != NULL)
        n++;
    va_end(ap);
    argv[n] = NULL;
    rc = run(argv, NULL, &o, &e);
    if (out)
        *out = o;
    else
        free(o);
    if (err)
        *err = e;
    else
        free(e);
    return rc;
}

/* The integer after "key": in stats --format json output. */
static long long
json_int(const char *json, const char *key)
{
    char pat[64];
    const char *p;

    snprintf(pat, sizeof(pat), "\"%s\": ", key);
    p = strstr(json, pat);
    ck_assert_msg(p != NULL, "no %s in %s", key, json);
    return strtoll(p + strlen(pat), NULL, 10);
}

struct counts {
    long long reports, records, messages, failed, conflicts;
};

static struct counts
db_counts(const char *db)
{
    struct counts c;
    char *out = NULL, *err = NULL;
    int rc =
        sift_run(&out, &err, "--db", db, "stats", "--format", "json", NULL);

    ck_assert_msg(rc == 0, "stats: exit %d: %s", rc, err);
    c.reports = json_int(out, "reports");
    c.records = json_int(out, "records");
    c.messages = json_int(out, "messages");
    c.failed = json_int(out, "failed_inputs");
    c.conflicts = json_int(out, "conflicts");
    free(out);
    free(err);
    return c;
}

static long long
sql_int(const char *db, const char *sql)
{
    sqlite3 *h = NULL;
    sqlite3_stmt *s = NULL;
    long long v = -1;

    ck_assert_int_eq(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL),
                     SQLITE_OK);
    ck_assert_msg(sqlite3_prepare_v2(h, sql, -1, &s, NULL) == SQLITE_OK,
                  "%s: %s", sql, sqlite3_errmsg(h));
    if (sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(h);
    return v;
}

/* --- 11.1: the weak-hash counterexample ------------------------------- */

static sift_hash128
doc_hash(const char *doc)
{
    sift_limits lim = SIFT_LIMITS_INIT;
    const sift_report_meta *m;
    const sift_record *r;
    sift_memreader mr;
    sift_xml *x = NULL;
    sift_err err;
    sift_hash128 h;

    ck_assert_int_eq(
        sift_xml_open(&x, &m,
                      sift_memreader_init(&mr, doc, strlen(doc), "h.xml"), &lim,
                      &err),
        SIFT_OK);
    while (sift_xml_next(x, &r, &err) == SIFT_OK)
        ;
    h = sift_xml_content_hash(x);
    sift_xml_free(x);
    return h;
}

START_TEST(test_counterexample_hashes_differ)
{
    char *a = counterexample(0), *b = counterexample(1);

    ck_assert_uint_eq(strlen(a), strlen(b));
    ck_assert(!sift_hash128_eq(doc_hash(a), doc_hash(b)));
    ck_assert(!sift_hash128_eq(sift_hash128_of(a, strlen(a)),
                               sift_hash128_of(b, strlen(b))));
    /* the same document hashes alike (and re-indenting does not matter,
     * see check_xml) */
    ck_assert(sift_hash128_eq(doc_hash(a), doc_hash(a)));
    free(a);
    free(b);
}
END_TEST

START_TEST(test_counterexample_is_a_conflict)
{
    const char *db = sbpath("h.db");
    char *a = counterexample(0), *b = counterexample(1), *out, *err;
    struct counts c;
    int rc;

    put_file(sbpath("a.xml"), a);
    put_file(sbpath("b.xml"), b);
    rc = sift_run(&out, &err, "--db", db, "ingest", sbpath("a.xml"), NULL);
    ck_assert_msg(rc == 0, "exit %d: %s", rc, err);
    free(out);
    free(err);
    /* the corrected copy: read (not skipped by fingerprint), compared, and
     * found to differ */
    rc = sift_run(&out, &err, "--db", db, "ingest", sbpath("b.xml"), NULL);
    ck_assert_msg(rc == 0, "exit %d: %s", rc, err);
    ck_assert_str_eq(out, "ingested 0 reports (0 records, 0 messages); "
                          "1 duplicate (1 conflicting); 0 not a report; "
                          "0 failure reports; 0 failed\n");
    free(out);
    free(err);
    c = db_counts(db);
    ck_assert_int_eq(c.reports, 1);
    ck_assert_int_eq(c.messages, 14 * 10 + 65 + 75);
    ck_assert_int_eq(c.conflicts, 1);
    /* the first copy again: a re-send, skipped by its fingerprint */
    rc = sift_run(&out, &err, "--db", db, "ingest", sbpath("a.xml"), NULL);
    ck_assert_msg(rc == 0, "exit %d: %s", rc, err);
    ck_assert_str_eq(out, "ingested 0 reports (0 records, 0 messages); "
                          "1 duplicate (0 conflicting); 0 not a report; "
                          "0 failure reports; 0 failed\n");
    free(out);
    free(err);
    ck_assert_int_eq(db_counts(db).conflicts, 1);
    free(a);
    free(b);
}
END_TEST

/* --- the schema-1 upgrade --------------------------------------------- */

/* A database as 0.1.0 wrote it (the v1 DDL through the test hook), with
 * the counterexample's first copy stored under 0.1.0's 64-bit hash, a
 * second report, a seen input, a conflict and a failed input with bytes. */
static void
write_v1(const char *db)
{
    sift_store *st = NULL;
    sift_err err;
    char sql[2048];
    int i;

    sift_err_clear(&err);
    ck_assert_int_eq(sift_store__open_at(&st, db, 1, &err), SIFT_OK);
    ck_assert_int_eq(sqlite3_exec(sift_store__db(st),
                                  "SELECT count(*) FROM reports", NULL, NULL,
                                  NULL),
                     SQLITE_OK);
    snprintf(sql, sizeof(sql),
             "BEGIN;"
             "INSERT INTO reports (id, org_name, report_id, policy_domain,"
             " date_begin, date_end, errors, input_path, content_hash,"
             " ingested_at, warnings, record_count, message_count) VALUES"
             " (1, 'hash.example', '%.34s', 'example.com', 1700000000,"
             " 1700086399, '[]', 'a.xml', -1234567890123, 1700000000, '[]',"
             " 16, 280),"
             " (2, 'other.example', 'o-1', 'example.com', 1700000000,"
             " 1700086399, '[]', 'o.xml', 77, 1700000000, '[]', 2, 9);",
             "rrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrr");
    ck_assert_int_eq(sqlite3_exec(sift_store__db(st), sql, NULL, NULL, NULL),
                     SQLITE_OK);
    for (i = 0; i < 16; i++) {
        snprintf(sql, sizeof(sql),
                 "INSERT INTO records (report_id, idx, source_ip, count,"
                 " dmarc_fail, would_reject, outcome, spf_aligned,"
                 " dkim_aligned, categories, flags) VALUES (1, %d,"
                 " '192.0.2.%d', %d, 0, 0, 0, 1, 1, 0, 0);",
                 i, 100 + i,
                 i == 7    ? 65
                 : i == 15 ? 75
                           : 10);
        ck_assert_int_eq(
            sqlite3_exec(sift_store__db(st), sql, NULL, NULL, NULL), SQLITE_OK);
    }
    ck_assert_int_eq(
        sqlite3_exec(sift_store__db(st),
                     "INSERT INTO records (report_id, idx, source_ip, count,"
                     " dmarc_fail, would_reject, outcome, spf_aligned,"
                     " dkim_aligned, categories, flags) VALUES"
                     " (2, 0, '198.51.100.1', 4, 1, 1, 2, 0, 0, 6, 0),"
                     " (2, 1, '198.51.100.2', 5, 0, 0, 0, 1, 0, 0, 0);"
                     "INSERT INTO seen_inputs VALUES (-99, 5000, 1, 0);"
                     "INSERT INTO conflicts (org_name, report_id,"
                     " policy_domain, date_begin, date_end, input_path,"
                     " content_hash, first_seen, last_seen) VALUES"
                     " ('other.example', 'o-1', 'example.com', 1700000000,"
                     " 1700086399, 'o2.xml', 78, 1700000000, 1700000000);"
                     "INSERT INTO failed_inputs (path, reason, raw, size,"
                     " raw_hash, first_seen, last_seen) VALUES ('bad.xml',"
                     " 'truncated', x'3c666565', 4, 5, 1700000000,"
                     " 1700000001);"
                     "COMMIT;",
                     NULL, NULL, NULL),
        SQLITE_OK);
    sift_store_close(st);
    ck_assert_int_eq(sql_int(db, "PRAGMA user_version"), 1);
}

START_TEST(test_v1_database_is_upgraded)
{
    const char *db = sbpath("v1.db");
    sift_store *st = NULL;
    sift_err err;
    unsigned char want[16];

    write_v1(db);
    sift_err_clear(&err);
    ck_assert_int_eq(sift_store_open(&st, db, 0, &err), SIFT_OK);
    sift_store_close(st);
    ck_assert_int_eq(sql_int(db, "PRAGMA user_version"), SIFT_STORE_SCHEMA);
    /* every report and record kept, counts unchanged */
    ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM reports"), 2);
    ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM records"), 18);
    ck_assert_int_eq(sql_int(db, "SELECT sum(message_count) FROM reports"),
                     289);
    ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM records r JOIN"
                                 " reports p ON p.id = r.report_id"),
                     18);
    /* the old hashes: unknown; old fingerprints: gone */
    ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM reports"
                                 " WHERE content_hash IS NULL"),
                     2);
    ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM seen_inputs"), 0);
    ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM conflicts"
                                 " WHERE content_hash IS NULL"
                                 " AND input_path = 'o2.xml'"),
                     1);
    /* the failed input: kept, its raw_hash recomputed from the bytes */
    ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM failed_inputs"
                                 " WHERE path = 'bad.xml' AND size = 4"
                                 " AND length(raw_hash) = 16 AND fp IS NULL"),
                     1);
    sift_hash128_put(want, sift_hash128_of("<fee", 4));
    {
        sqlite3 *h;
        sqlite3_stmt *s;
        ck_assert_int_eq(sqlite3_open(db, &h), SQLITE_OK);
        ck_assert_int_eq(sqlite3_prepare_v2(h,
                                            "SELECT raw_hash FROM"
                                            " failed_inputs",
                                            -1, &s, NULL),
                         SQLITE_OK);
        ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
        ck_assert_int_eq(sqlite3_column_bytes(s, 0), 16);
        ck_assert_mem_eq(sqlite3_column_blob(s, 0), want, 16);
        sqlite3_finalize(s);
        sqlite3_close(h);
    }
    ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM pragma_integrity_check"
                                 " WHERE integrity_check = 'ok'"),
                     1);
    ck_assert_int_eq(
        sql_int(db, "SELECT count(*) FROM pragma_foreign_key_check"), 0);
}
END_TEST

/* All upgrade steps run in one transaction: a step that fails leaves the
 * file exactly at schema 1, old hashes and all. */
START_TEST(test_v1_upgrade_is_one_transaction)
{
    const char *db = sbpath("v1.db");
    sift_store *st = NULL;
    sift_err err;
    sqlite3 *h;

    write_v1(db);
    /* a table in the way of a late step (the conflicts rebuild) */
    ck_assert_int_eq(sqlite3_open(db, &h), SQLITE_OK);
    ck_assert_int_eq(
        sqlite3_exec(h, "CREATE TABLE conflicts_v2 (x)", NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(h);
    sift_err_clear(&err);
    ck_assert_int_eq(sift_store_open(&st, db, 0, &err), SIFT_EDB);
    ck_assert_ptr_null(st);
    ck_assert_str_eq(err.msg, "schema upgrade: table conflicts_v2 already"
                              " exists");
    ck_assert_int_eq(sql_int(db, "PRAGMA user_version"), 1);
    ck_assert_int_eq(sql_int(db, "SELECT content_hash FROM reports"
                                 " WHERE id = 2"),
                     77);
    ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM seen_inputs"), 1);
    ck_assert_int_eq(sql_int(db, "SELECT raw_hash FROM failed_inputs"), 5);
    ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM reports"), 2);
}
END_TEST

/* After the upgrade a copy of a schema-1 report is compared by records
 * and messages: the same report is a duplicate whose hash is adopted (the
 * next corrected copy is then a conflict by hash); a copy with other
 * counts is a conflict at once. */
/* Copies of a stored report longer than the producer's first chunk of
 * records: see check_long_report_copies() (testutil.c; check_pg runs it
 * on PostgreSQL). */
START_TEST(test_copies_of_a_long_stored_report)
{
    check_long_report_copies(sbpath("long.db"), sb);
}
END_TEST

/* Copies of stored reports after many new inputs: SQLite is asked about
 * every input (see check_unasked_copies; check_pg runs it on PostgreSQL,
 * which is not). */
START_TEST(test_unasked_copies)
{
    check_unasked_copies(sbpath("unasked.db"), sb, 44);
}
END_TEST

START_TEST(test_v1_report_then_copies)
{
    const char *db = sbpath("v1.db"), *db2 = sbpath("v1b.db");
    char *a = counterexample(0), *b = counterexample(1), *out, *err;
    int rc;

    put_file(sbpath("a.xml"), a);
    put_file(sbpath("b.xml"), b);
    write_v1(db);
    rc = sift_run(&out, &err, "--db", db, "ingest", sbpath("a.xml"), NULL);
    ck_assert_msg(rc == 0, "exit %d: %s", rc, err);
    ck_assert_str_eq(out, "ingested 0 reports (0 records, 0 messages); "
                          "1 duplicate (0 conflicting); 0 not a report; "
                          "0 failure reports; 0 failed\n");
    free(out);
    free(err);
    ck_assert_int_eq(sql_int(db, "SELECT length(content_hash) FROM reports"
                                 " WHERE id = 1"),
                     16);
    rc = sift_run(&out, &err, "--db", db, "ingest", sbpath("b.xml"), NULL);
    ck_assert_msg(rc == 0, "exit %d: %s", rc, err);
    ck_assert_str_eq(out, "ingested 0 reports (0 records, 0 messages); "
                          "1 duplicate (1 conflicting); 0 not a report; "
                          "0 failure reports; 0 failed\n");
    free(out);
    free(err);
    ck_assert_int_eq(db_counts(db).conflicts, 2); /* o-1's and this one */

    /* the corrected copy first: other message total, a conflict */
    write_v1(db2);
    rc = sift_run(&out, &err, "--db", db2, "ingest", sbpath("b.xml"), NULL);
    ck_assert_msg(rc == 0, "exit %d: %s", rc, err);
    ck_assert_str_eq(out, "ingested 0 reports (0 records, 0 messages); "
                          "1 duplicate (1 conflicting); 0 not a report; "
                          "0 failure reports; 0 failed\n");
    free(out);
    free(err);
    ck_assert_int_eq(sql_int(db2, "SELECT content_hash IS NULL FROM reports"
                                  " WHERE id = 1"),
                     1);
    free(a);
    free(b);
}
END_TEST

/* --- 11.5: the failed-input lifecycle ---------------------------------- */

START_TEST(test_failed_lifecycle)
{
    const char *db = sbpath("f.db");
    unsigned c[3] = {1, 2, 3};
    char *doc = report_doc("life.example", "l-1", 0, c, 3), *out, *err;
    char *doc2 = report_doc("life.example", "l-2", 0, c, 3);
    int rc;

    put_file(sbpath("big.xml"), doc);
    put_file(sbpath("broken.xml"), "<feedback><report_metadata>");
    /* over a limit: failed, kept with its bytes */
    rc = sift_run(&out, &err, "--db", db, "ingest", "--max-report-size", "1K",
                  sbpath("big.xml"), sbpath("broken.xml"), NULL);
    ck_assert_msg(rc == 65, "exit %d: %s", rc, err);
    free(out);
    free(err);
    ck_assert_int_eq(db_counts(db).failed, 2);
    rc = sift_run(&out, &err, "--db", db, "failed", "list", "--format", "json",
                  NULL);
    ck_assert_int_eq(rc, 0);
    ck_assert_ptr_nonnull(strstr(out, "{\"id\": 1, \"path\": "));
    ck_assert_ptr_nonnull(strstr(out, "big.xml\", \"reason\": "));
    ck_assert_ptr_nonnull(strstr(out, "\"kept\": true"));
    ck_assert_ptr_nonnull(strstr(out, "{\"id\": 2, \"path\": "));
    free(out);
    free(err);
    /* the same input (path and bytes) imports later: its row resolves */
    rc = sift_run(&out, &err, "--db", db, "ingest", sbpath("big.xml"), NULL);
    ck_assert_msg(rc == 0, "exit %d: %s", rc, err);
    free(out);
    free(err);
    ck_assert_int_eq(db_counts(db).failed, 1);
    ck_assert_int_eq(db_counts(db).reports, 1);
    ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM failed_inputs"
                                 " WHERE path LIKE '%broken.xml'"),
                     1);
    /* other bytes at the same path do not resolve it */
    put_file(sbpath("broken.xml"), doc2);
    rc = sift_run(&out, &err, "--db", db, "ingest", sbpath("broken.xml"), NULL);
    ck_assert_msg(rc == 0, "exit %d: %s", rc, err);
    free(out);
    free(err);
    ck_assert_int_eq(db_counts(db).failed, 1);
    /* forget by id: a wrong id is named */
    rc = sift_run(&out, &err, "--db", db, "failed", "forget", "99", NULL);
    ck_assert_int_eq(rc, 65);
    ck_assert_str_eq(err, "dmarcsift: no failed input with id 99\n");
    ck_assert_str_eq(out, "forgot 0 failed inputs\n");
    free(out);
    free(err);
    rc = sift_run(&out, &err, "--db", db, "failed", "forget", "x1", NULL);
    ck_assert_int_eq(rc, 64);
    free(out);
    free(err);
    rc = sift_run(&out, &err, "--db", db, "failed", "forget", "2", NULL);
    ck_assert_int_eq(rc, 0);
    ck_assert_str_eq(out, "forgot 1 failed input\n");
    free(out);
    free(err);
    ck_assert_int_eq(db_counts(db).failed, 0);
    rc = sift_run(&out, &err, "--db", db, "failed", "list", NULL);
    ck_assert_int_eq(rc, 0);
    ck_assert_str_eq(out, "id   last seen                   size  bytes     "
                          "input: reason\n(no failed inputs)\n");
    free(out);
    free(err);
    free(doc);
    free(doc2);
}
END_TEST

/* --- 11.6: failed inputs over --max-input-size keep their bytes ------- */

/* A message of about `pad` bytes: a text part of padding and the report
 * `doc` as an attachment. Returned without the mbox From_ line. */
static char *
big_message(const char *doc, size_t pad)
{
    static const char head[] =
        "From: rua@big.example\nTo: dmarc@example.com\nSubject: Report\n"
        "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"B\"\n"
        "\n--B\nContent-Type: text/plain\n\n";
    static const char mid[] =
        "\n--B\nContent-Type: application/xml\nContent-Disposition:"
        " attachment; filename=\"r.xml\"\n\n";
    size_t n = strlen(head) + pad + strlen(mid) + strlen(doc) + 16, len, i;
    char *m = malloc(n);

    ck_assert_ptr_nonnull(m);
    len = (size_t)snprintf(m, n, "%s", head);
    for (i = 0; i + 64 <= pad; i += 64) {
        memset(m + len, 'p', 63);
        m[len + 63] = '\n';
        len += 64;
    }
    len += (size_t)snprintf(m + len, n - len, "%s%s\n--B--\n\n", mid, doc);
    return m;
}

/* An mbox message over --max-input-size is spooled to a temporary file as
 * it is split and streamed into the database (failed_inputs.raw, last
 * column: schema 5), whole and exact; retry-failed with a raised limit
 * stores its report. Over --max-keep-size it is kept without its bytes.
 * 0.1.0 kept none of it ("cannot retry, its bytes were not kept"). */
START_TEST(test_oversized_message_kept_whole)
{
    const char *db = sbpath("k.db"), *db2 = sbpath("k2.db");
    const char *mbox = sbpath("big.mbox");
    unsigned c[3] = {1, 2, 3};
    char *doc = report_doc("big.example", "b-1", 0, c, 3);
    char *doc2 = report_doc("big.example", "b-2", 0, c, 3);
    char *m = big_message(doc, 3u << 20), *out, *err, sql[200];
    size_t mlen = strlen(m);
    unsigned char want[16];
    FILE *f;
    int rc;

    ck_assert_ptr_nonnull(f = fopen(mbox, "wb"));
    fprintf(f, "From rua@big.example Mon Jan  1 00:00:00 2024\n%s", m);
    fprintf(f,
            "From rua@big.example Mon Jan  1 00:00:00 2024\n"
            "From: rua@big.example\nSubject: Report\n"
            "Content-Type: application/xml\n\n%s",
            doc2);
    ck_assert_int_eq(fclose(f), 0);

    rc = sift_run(&out, &err, "--db", db, "ingest", "--max-input-size", "1M",
                  mbox, NULL);
    ck_assert_msg(rc == 65, "exit %d: %s", rc, err);
    ck_assert_ptr_nonnull(
        strstr(err, "big.mbox#1: message larger than the 1 MiB limit"
                    " (--max-input-size)\n"));
    ck_assert_ptr_nonnull(strstr(out, "ingested 1 report (3 records, 6"
                                      " messages)"));
    free(out);
    free(err);
    /* kept whole: its size, its bytes, their hash */
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM failed_inputs WHERE path LIKE"
             " '%%big.mbox#1' AND size = %zu AND length(raw) = %zu",
             mlen, mlen);
    ck_assert_int_eq(sql_int(db, sql), 1);
    sift_hash128_put(want, sift_hash128_of(m, mlen));
    {
        sqlite3 *h;
        sqlite3_stmt *s;
        ck_assert_int_eq(sqlite3_open(db, &h), SQLITE_OK);
        ck_assert_int_eq(sqlite3_prepare_v2(h,
                                            "SELECT raw_hash, raw FROM"
                                            " failed_inputs",
                                            -1, &s, NULL),
                         SQLITE_OK);
        ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
        ck_assert_mem_eq(sqlite3_column_blob(s, 0), want, 16);
        ck_assert_int_eq(sqlite3_column_bytes(s, 1), (int)mlen);
        ck_assert_mem_eq(sqlite3_column_blob(s, 1), m, mlen);
        sqlite3_finalize(s);
        sqlite3_close(h);
    }
    /* a raised limit stores it */
    rc = sift_run(&out, &err, "--db", db, "retry-failed", "--max-input-size",
                  "8M", NULL);
    ck_assert_msg(rc == 0, "exit %d: %s", rc, err);
    ck_assert_str_eq(out, "retried 1 failed input: ingested 1 report (3"
                          " records, 6 messages); 0 duplicates (0"
                          " conflicting); 0 not a report; 0 failure"
                          " reports; 0 failed\n");
    free(out);
    free(err);
    ck_assert_int_eq(db_counts(db).reports, 2);
    ck_assert_int_eq(db_counts(db).failed, 0);

    /* over --max-keep-size: its size only */
    rc = sift_run(&out, &err, "--db", db2, "ingest", "--max-input-size", "1M",
                  "--max-keep-size", "2M", mbox, NULL);
    ck_assert_msg(rc == 65, "exit %d: %s", rc, err);
    free(out);
    free(err);
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM failed_inputs WHERE size = %zu"
             " AND raw IS NULL",
             mlen);
    ck_assert_int_eq(sql_int(db2, sql), 1);
    rc = sift_run(&out, &err, "--db", db2, "retry-failed", NULL);
    ck_assert_int_eq(rc, 65);
    ck_assert_ptr_nonnull(
        strstr(err, "big.mbox#1: cannot retry, its bytes were not kept"
                    " (message larger than the 1 MiB limit"
                    " (--max-input-size))\n"));
    free(out);
    free(err);
    rc = sift_run(&out, &err, "--db", db2, "ingest", "--max-keep-size", "901M",
                  mbox, NULL);
    ck_assert_int_eq(rc, 64);
    ck_assert_ptr_nonnull(
        strstr(err, "dmarcsift: --max-keep-size is at most 900M, not '901M'"));
    free(out);
    free(err);
    free(m);
    free(doc);
    free(doc2);
}
END_TEST

/* Schema 4 -> 5 rebuilds failed_inputs with raw as its last column and
 * keeps every row, id and byte. */
START_TEST(test_v4_failed_inputs_rebuilt)
{
    const char *db = sbpath("v4.db");
    sift_store *st = NULL;
    sift_err err;

    sift_err_clear(&err);
    ck_assert_int_eq(sift_store__open_at(&st, db, 4, &err), SIFT_OK);
    ck_assert_int_eq(
        sqlite3_exec(sift_store__db(st),
                     "INSERT INTO failed_inputs (id, path, reason, raw, size,"
                     " raw_hash, fp, first_seen, last_seen) VALUES (7,"
                     " 'a.xml', 'truncated', x'3c666565', 4, x'01', x'02',"
                     " 1700000000, 1700000001), (9, 'b.xml', 'too big', NULL,"
                     " 99, x'03', NULL, 1700000002, 1700000003);",
                     NULL, NULL, NULL),
        SQLITE_OK);
    sift_store_close(st);
    ck_assert_int_eq(sql_int(db, "PRAGMA user_version"), 4);
    ck_assert_int_eq(sift_store_open(&st, db, 0, &err), SIFT_OK);
    sift_store_close(st);
    ck_assert_int_eq(sql_int(db, "PRAGMA user_version"), SIFT_STORE_SCHEMA);
    ck_assert_int_eq(sql_int(db, "SELECT cid FROM pragma_table_info("
                                 "'failed_inputs') WHERE name = 'raw'"),
                     8);
    ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM failed_inputs WHERE"
                                 " id = 7 AND path = 'a.xml' AND raw ="
                                 " x'3c666565' AND size = 4 AND raw_hash ="
                                 " x'01' AND fp = x'02' AND first_seen ="
                                 " 1700000000 AND last_seen = 1700000001"),
                     1);
    ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM failed_inputs WHERE"
                                 " id = 9 AND raw IS NULL AND size = 99"),
                     1);
    ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM sqlite_master WHERE"
                                 " name = 'failed_inputs_fp'"),
                     1);
}
END_TEST

/* Schema 6 -> 7: the database-wide evaluation version goes to each
 * report (reports.eval_version) and the evaluation table goes; the
 * reports and their ids stay. */
START_TEST(test_v6_eval_version_per_report)
{
    const char *db = sbpath("v6.db");
    sift_store *st = NULL;
    sift_err err;

    sift_err_clear(&err);
    ck_assert_int_eq(sift_store__open_at(&st, db, 6, &err), SIFT_OK);
    ck_assert_int_eq(
        sqlite3_exec(sift_store__db(st),
                     "INSERT INTO reports (id, org_name, report_id,"
                     " policy_domain, date_begin, date_end, ingested_at,"
                     " record_count) VALUES (4, 'a', 'r1', 'example.com',"
                     " 1700000000, 1700086399, 1700090000, 2), (8, 'b', 'r2',"
                     " 'example.org', 1700000000, 1700086399, 1700090000, 1);"
                     "UPDATE evaluation SET version = 2;",
                     NULL, NULL, NULL),
        SQLITE_OK);
    sift_store_close(st);
    ck_assert_int_eq(sql_int(db, "PRAGMA user_version"), 6);
    /* a reader cannot upgrade it */
    ck_assert_int_eq(sift_store_open(&st, db, SIFT_STORE_READONLY, &err),
                     SIFT_EDB);
    ck_assert_str_eq(err.msg, "database needs an upgrade from schema 6 to 10:"
                              " open it once read-write");
    sift_err_clear(&err);
    ck_assert_int_eq(sift_store_open(&st, db, 0, &err), SIFT_OK);
    sift_store_close(st);
    ck_assert_int_eq(sql_int(db, "PRAGMA user_version"), SIFT_STORE_SCHEMA);
    ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM reports WHERE"
                                 " eval_version = 2 AND id IN (4, 8)"),
                     2);
    ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM reports"), 2);
    ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM sqlite_master WHERE"
                                 " name = 'evaluation'"),
                     0);
}
END_TEST

START_TEST(test_failed_forget_all_and_prune)
{
    const char *db = sbpath("f.db");
    char *out, *err;
    int rc;

    put_file(sbpath("b1.xml"), "<feedback>");
    put_file(sbpath("b2.xml"), "<feedback><x>");
    put_file(sbpath("b3.xml"), "<feedback><y>");
    rc = sift_run(&out, &err, "--db", db, "ingest", sbpath("b1.xml"),
                  sbpath("b2.xml"), sbpath("b3.xml"), NULL);
    ck_assert_int_eq(rc, 65);
    free(out);
    free(err);
    ck_assert_int_eq(db_counts(db).failed, 3);
    /* a row last seen long ago */
    {
        sqlite3 *h;
        ck_assert_int_eq(sqlite3_open(db, &h), SQLITE_OK);
        ck_assert_int_eq(sqlite3_exec(h,
                                      "UPDATE failed_inputs SET last_seen ="
                                      " 1600000000 WHERE path LIKE"
                                      " '%b1.xml'",
                                      NULL, NULL, NULL),
                         SQLITE_OK);
        sqlite3_close(h);
    }
    rc = sift_run(&out, &err, "--db", db, "prune", "--before", "2021-01-01",
                  NULL);
    ck_assert_msg(rc == 0, "exit %d: %s", rc, err);
    ck_assert_str_eq(out, "pruned 0 reports that ended before 2021-01-01 and"
                          " 1 failed input last seen before it\n");
    free(out);
    free(err);
    ck_assert_int_eq(db_counts(db).failed, 2);
    rc = sift_run(&out, &err, "--db", db, "failed", "forget", "--all", NULL);
    ck_assert_int_eq(rc, 0);
    ck_assert_str_eq(out, "forgot 2 failed inputs\n");
    free(out);
    free(err);
    ck_assert_int_eq(db_counts(db).failed, 0);
    /* and the next run exits 0 */
    rc = sift_run(&out, &err, "--db", db, "retry-failed", NULL);
    ck_assert_int_eq(rc, 0);
    free(out);
    free(err);
}
END_TEST

/* A missing or unreadable top-level input is not a failed report: named,
 * nothing stored, exit 66; with nothing else to read no database is made. */
START_TEST(test_missing_input_is_noinput)
{
    const char *db = sbpath("n.db");
    struct stat st;
    char *out, *err, want[4400];
    int rc;

    rc = sift_run(&out, &err, "--db", db, "ingest", sbpath("nope.xml"), NULL);
    ck_assert_int_eq(rc, 66);
    snprintf(want, sizeof(want),
             "dmarcsift: %s: cannot open: No such file or directory\n",
             sbpath("nope.xml"));
    ck_assert_str_eq(err, want);
    ck_assert_str_eq(out, "");
    free(out);
    free(err);
    ck_assert(stat(db, &st) != 0 && errno == ENOENT);
    if (geteuid() != 0) { /* root reads anything */
        put_file(sbpath("locked.xml"), "<feedback/>");
        ck_assert_int_eq(chmod(sbpath("locked.xml"), 0), 0);
        rc = sift_run(&out, &err, "--db", db, "ingest", sbpath("locked.xml"),
                      NULL);
        ck_assert_int_eq(rc, 66);
        ck_assert_ptr_nonnull(strstr(err, "Permission denied"));
        free(out);
        free(err);
    }
}
END_TEST

/* --- many processes ---------------------------------------------------- */

/* Write n one-record reports r<first>..r<first+n-1> of org into dir. */
static void
write_reports(const char *dir, const char *org, int first, int n,
              unsigned records)
{
    unsigned c[64];
    char id[32], path[4300];
    unsigned j;
    int i;

    mkdir(dir, 0700);
    for (j = 0; j < records && j < 64; j++)
        c[j] = j + 1;
    for (i = first; i < first + n; i++) {
        char *d;
        snprintf(id, sizeof(id), "r%05d", i);
        d = report_doc(org, id, 0, c, (int)records);
        snprintf(path, sizeof(path), "%s/%s.xml", dir, id);
        put_file(path, d);
        free(d);
    }
}

/* Start dmarcsift with stdout and stderr to files; returns the pid. */
static pid_t
spawn_sift(const char *outpath, const char *const *args)
{
    posix_spawn_file_actions_t fa;
    const char *argv[16];
    pid_t pid;
    int n = 0;

    argv[n++] = SIFT_BINARY;
    for (; args[n - 1] != NULL && n < 15; n++)
        argv[n] = args[n - 1];
    argv[n] = NULL;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    if (outpath != NULL) {
        posix_spawn_file_actions_addopen(&fa, 1, outpath,
                                         O_WRONLY | O_CREAT | O_TRUNC, 0600);
        posix_spawn_file_actions_adddup2(&fa, 1, 2);
    } else {
        posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
        posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    }
    ck_assert_int_eq(
        posix_spawn(&pid, SIFT_BINARY, &fa, NULL, (char *const *)argv, environ),
        0);
    posix_spawn_file_actions_destroy(&fa);
    return pid;
}

static int
wait_code(pid_t pid)
{
    int status;

    while (waitpid(pid, &status, 0) < 0)
        ck_assert_int_eq(errno, EINTR);
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return -WTERMSIG(status);
}

static double
now_s(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Issue 19: readers never fail because a writer is at work. 200 reads
 * (stats and report, alternately, two at a time) while writers run
 * back to back: a 3,000-report ingest, then prune (which deletes them
 * all), then the ingest again, ... Every read exits 0. */
START_TEST(test_reads_during_ingest)
{
    const char *db = sbpath("r.db"), *dir = sbpath("in");
    const char *ing[] = {"--db", db, "ingest", "--quiet", dir, NULL};
    const char *prune[] = {"--db",       db,        "prune", "--before",
                           "2100-01-01", "--quiet", NULL};
    const char *seed[] = {"--db",         db,  "ingest", "--quiet",
                          sbpath("seed"), NULL};
    const char *st[] = {"--db", db, "stats", NULL};
    const char *rep[] = {"--db", db, "report", NULL};
    pid_t w, r[2] = {0, 0};
    int reads = 0, during = 0, bad = 0, k, code, cycles = 0, started = 0;
    char log[4300];
    double t0;

    write_reports(dir, "load.example", 0, 3000, 8);
    write_reports(sbpath("seed"), "seed.example", 0, 1, 1);
    ck_assert_int_eq(wait_code(spawn_sift(NULL, seed)), 0); /* db exists */
    t0 = now_s();
    w = spawn_sift(NULL, ing);
    while (reads < 200) {
        for (k = 0; k < 2 && started < 200; k++) {
            if (r[k] != 0)
                continue;
            snprintf(log, sizeof(log), "%s/read%d.log", sb, k);
            r[k] = spawn_sift(log, started % 2 ? rep : st);
            started++;
        }
        for (k = 0; k < 2; k++) {
            if (r[k] == 0)
                continue;
            code = wait_code(r[k]);
            r[k] = 0;
            reads++;
            if (code != 0) {
                char *msg;
                snprintf(log, sizeof(log), "%s/read%d.log", sb, k);
                msg = slurp(log, NULL);
                fprintf(stderr, "read %d: exit %d: %s", reads, code,
                        msg ? msg : "");
                free(msg);
                bad++;
            }
            /* was the writer still at work when the read ended? Else
             * start the next one */
            if (waitpid(w, &code, WNOHANG) == 0) {
                during++;
                continue;
            }
            ck_assert_msg(WIFEXITED(code) && WEXITSTATUS(code) == 0,
                          "writer %d: status %d", cycles, code);
            cycles++;
            w = spawn_sift(NULL, cycles % 2 ? prune : ing);
        }
    }
    ck_assert_int_eq(wait_code(w), 0);
    printf("integrity: %d reads during %d writer runs (3,000-report ingest,"
           " prune, ...; %.1f s), %d of them while a writer was running,"
           " %d failed\n",
           reads, cycles + 1, now_s() - t0, during, bad);
    ck_assert_int_eq(bad, 0);
    ck_assert_int_eq(reads, 200);
    ck_assert_msg(during >= 150, "only %d reads overlapped a writer", during);
    if (cycles % 2) /* the last writer pruned */
        ck_assert_int_eq(wait_code(spawn_sift(NULL, ing)), 0);
    /* the seed report is gone after the first prune */
    ck_assert_int_eq(db_counts(db).reports, cycles == 0 ? 3001 : 3000);
}
END_TEST

/* Issue 19: a SIGKILL at any point of retry-failed leaves every input
 * either stored or still failed, never both and never neither. */
START_TEST(test_kill_during_retry)
{
    const char *db = sbpath("k.db"), *dir = sbpath("in");
    const char *ing[] = {"--db", db,  "ingest", "--quiet", "--max-report-size",
                         "1K",   dir, NULL};
    const char *retry[] = {"--db", db, "retry-failed", "--quiet", NULL};
    const int n = 120, kills = SANITIZED ? 8 : 16;
    struct counts c;
    double t0, clean;
    int i, killed = 0;

    write_reports(dir, "kill.example", 0, n, 12); /* each over 1K */
    ck_assert_int_eq(wait_code(spawn_sift(NULL, ing)), 65);
    c = db_counts(db);
    ck_assert_int_eq(c.reports, 0);
    ck_assert_int_eq(c.failed, n);
    /* how long a whole retry takes, on a copy */
    {
        char cmd[9000];
        snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", db, sbpath("k2.db"));
        ck_assert_int_eq(system(cmd), 0);
    }
    {
        const char *r2[] = {"--db", sbpath("k2.db"), "retry-failed", "--quiet",
                            NULL};
        t0 = now_s();
        ck_assert_int_eq(wait_code(spawn_sift(NULL, r2)), 0);
        clean = now_s() - t0;
        ck_assert_int_eq(db_counts(sbpath("k2.db")).reports, n);
    }
    {
        char cmd[9000];
        snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", db, sbpath("pristine.db"));
        ck_assert_int_eq(system(cmd), 0);
    }
    srand(19);
    for (i = 0; i < kills; i++) {
        pid_t pid;
        /* every kill lands in a whole retry of all n inputs */
        if (i > 0) {
            char cmd[9000];
            snprintf(cmd, sizeof(cmd),
                     "rm -f '%s-wal' '%s-shm' && cp '%s' '%s'", db, db,
                     sbpath("pristine.db"), db);
            ck_assert_int_eq(system(cmd), 0);
        }
        pid = spawn_sift(NULL, retry);
        struct timespec d;
        double at = 0.02 + 0.8 * clean * (double)rand() / RAND_MAX;
        int code;

        d.tv_sec = (time_t)at;
        d.tv_nsec = (long)((at - (double)d.tv_sec) * 1e9);
        nanosleep(&d, NULL);
        kill(pid, SIGKILL);
        code = wait_code(pid);
        killed += code == -SIGKILL;
        c = db_counts(db);
        ck_assert_msg(c.reports + c.failed == n,
                      "after a kill at %.3f s: %lld reports + %lld failed"
                      " != %d",
                      at, c.reports, c.failed, n);
        ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM failed_inputs f"
                                     " JOIN reports r ON f.path ="
                                     " r.input_path"),
                         0);
    }
    ck_assert_int_eq(wait_code(spawn_sift(NULL, retry)), 0);
    c = db_counts(db);
    printf("integrity: retry-failed killed %d of %d times (clean run %.2f s);"
           " counts added up after each\n",
           killed, kills, clean);
    ck_assert_int_eq(c.reports, n);
    ck_assert_int_eq(c.failed, 0);
    ck_assert_int_ge(killed, kills / 4);
}
END_TEST

/* Parse "ingested N report" from a summary file. */
static long long
imported_in(const char *path)
{
    char *s = slurp(path, NULL);
    long long v = -1;

    ck_assert_msg(s != NULL, "no output %s", path);
    if (strncmp(s, "ingested ", 9) == 0)
        v = strtoll(s + 9, NULL, 10);
    ck_assert_msg(v >= 0, "no summary in %s: %s", path, s);
    free(s);
    return v;
}

/* Issue 19: after one earlier run, `procs` concurrent ingests of two
 * overlapping folders (A: 61 reports, B: 41 of which 20 are copies of
 * A's files, under other names) store every report exactly once: the
 * database holds 82, and the summaries' "ingested" counts add up to 82 (no
 * report counted by two processes, none by nobody). */
static void
concurrent_round(int procs, int round)
{
    char db[4300], out[4300];
    const char *a = sbpath("A"), *b = sbpath("B");
    pid_t pid[24];
    long long total = 0;
    int i;

    snprintf(db, sizeof(db), "%s/c%d-%d.db", sb, procs, round);
    /* an earlier run stored one report (whose bytes collide with one of
     * B's under 0.1.0's fingerprint); then the concurrent runs */
    {
        const char *first[] = {"--db", db, "ingest",
                               sbpath("A/0-collide-a.xml"), NULL};
        snprintf(out, sizeof(out), "%s/c-first.out", sb);
        ck_assert_int_eq(wait_code(spawn_sift(out, first)), 0);
        total += imported_in(out);
    }
    for (i = 0; i < procs; i++) {
        const char *args[] = {"--db",        db,  "ingest", i % 2 ? a : b,
                              i % 2 ? b : a, NULL};
        snprintf(out, sizeof(out), "%s/c%d.out", sb, i);
        pid[i] = spawn_sift(out, args);
    }
    for (i = 0; i < procs; i++) {
        int code = wait_code(pid[i]);
        snprintf(out, sizeof(out), "%s/c%d.out", sb, i);
        if (code != 0) {
            char *s = slurp(out, NULL);
            ck_abort_msg("round %d, ingest %d of %d: exit %d: %s", round, i,
                         procs, code, s ? s : "");
        }
        total += imported_in(out);
    }
    ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM reports"), 82);
    ck_assert_int_eq(sql_int(db, "SELECT count(DISTINCT report_id ||"
                                 " org_name) FROM reports"),
                     82);
    ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM records"), 82 * 2);
    ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM failed_inputs"), 0);
    ck_assert_msg(total == 82, "round %d: %d ingests imported %lld", round,
                  procs, total);
    unlink(db);
}

static void
concurrent_inputs(void)
{
    int i;

    write_reports(sbpath("A"), "conc.example", 0, 60, 2);
    write_reports(sbpath("B"), "conc.example", 40, 20, 2); /* copies */
    write_reports(sbpath("B"), "conc.example", 1000, 20, 2);
    /* Two different reports whose raw bytes collide under 0.1.0's 64-bit
     * word-wise FNV fingerprint (the report ids differ in two digits 8
     * bytes apart): with it, whichever came second was skipped unread as
     * "seen" -- a report lost, in any interleaving. */
    {
        static const unsigned c[2] = {1, 2};
        char *d = report_doc("conc.example", "qqqqqq2qqqqqqq0", 0, c, 2);
        put_file(sbpath("A/0-collide-a.xml"), d);
        free(d);
        d = report_doc("conc.example", "qqqqqq8qqqqqqq6", 0, c, 2);
        put_file(sbpath("B/zz-collide-b.xml"), d);
        free(d);
    }
    for (i = 0; i < 20; i++) { /* distinct names, same bytes as A's */
        char from[4300], to[4300];
        snprintf(from, sizeof(from), "%s/r%05d.xml", sbpath("B"), 40 + i);
        snprintf(to, sizeof(to), "%s/copy%05d.xml", sbpath("B"), 40 + i);
        ck_assert_int_eq(rename(from, to), 0);
    }
}

START_TEST(test_concurrent_ingests_12)
{
    const int rounds = SANITIZED ? 4 : 20;
    double t0 = now_s();
    int r;

    concurrent_inputs();
    for (r = 0; r < rounds; r++)
        concurrent_round(12, r);
    printf("integrity: %d rounds of 12 concurrent ingests, every report"
           " once (%.1f s)\n",
           rounds, now_s() - t0);
}
END_TEST

START_TEST(test_concurrent_ingests_24)
{
    const int rounds = SANITIZED ? 3 : 20;
    double t0 = now_s();
    int r;

    concurrent_inputs();
    for (r = 0; r < rounds; r++)
        concurrent_round(24, r);
    printf("integrity: %d rounds of 24 concurrent ingests, every report"
           " once (%.1f s)\n",
           rounds, now_s() - t0);
}
END_TEST

static Suite *
integrity_suite(void)
{
    Suite *s = suite_create("integrity");
    TCase *h = tcase_create("hash"), *f = tcase_create("failed"),
          *c = tcase_create("concurrency");

    tcase_add_checked_fixture(h, setup, teardown);
    tcase_add_test(h, test_counterexample_hashes_differ);
    tcase_add_test(h, test_counterexample_is_a_conflict);
    tcase_add_test(h, test_copies_of_a_long_stored_report);
    tcase_add_test(h, test_unasked_copies);
    tcase_add_test(h, test_v1_database_is_upgraded);
    tcase_add_test(h, test_v1_upgrade_is_one_transaction);
    tcase_add_test(h, test_v1_report_then_copies);
    suite_add_tcase(s, h);
    tcase_add_checked_fixture(f, setup, teardown);
    tcase_add_test(f, test_failed_lifecycle);
    tcase_add_test(f, test_failed_forget_all_and_prune);
    tcase_add_test(f, test_missing_input_is_noinput);
    tcase_add_test(f, test_oversized_message_kept_whole);
    tcase_add_test(f, test_v4_failed_inputs_rebuilt);
    tcase_add_test(f, test_v6_eval_version_per_report);
    suite_add_tcase(s, f);
    tcase_add_checked_fixture(c, setup, teardown);
    tcase_set_timeout(c, 600);
    tcase_add_test(c, test_reads_during_ingest);
    tcase_add_test(c, test_kill_during_retry);
    tcase_add_test(c, test_concurrent_ingests_12);
    tcase_add_test(c, test_concurrent_ingests_24);
    suite_add_tcase(s, c);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(integrity_suite());
    int failed;

    sift_xml_init();
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
