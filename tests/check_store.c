/* check_store.c -- store/: schema, idempotence, atomicity, refusals,
 * crash and concurrency behaviour of the store, on both backends.
 *
 * `check_store` runs every case on SQLite files; `check_store pg` runs
 * the backend-neutral cases (everything through sift_store.h: add,
 * commit, duplicates, conflicts, seen and failed inputs, stats, prune,
 * typed reads, faults) on PostgreSQL, each in a fresh database on the
 * server of $SIFT_TEST_PG (scripts/pg-cluster.sh), and says skipped
 * (exit 77) without one. The SQLite-only cases (the file, its header,
 * PRAGMAs, migrations of SQLite files) run on SQLite only.
 *
 * Reports are synthetic sift_report_meta/sift_record structs built here;
 * every SQLite database lives in a sandbox() directory. */
#include <check.h>
#include <libpq-fe.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sift_store.h"
#include "sift_util.h"
#include "store_int.h" /* SIFT_STORE_SCHEMA */
#include "pgutil.h"
#include "testutil.h"

/* --- helpers ---------------------------------------------------------- */

static char *box;
static char dbpath[1024]; /* this case's database: a file or a URI */

/* The backend of this run: 0 SQLite, 1 PostgreSQL ($SIFT_TEST_PG, the
 * URI of a database on a server whose user may create databases). */
static int on_pg;
static const char *server;
static char dbname[64];
static int ndb;

/* The SQL of this run's backend: most checks read the same tables in
 * either dialect. */
#define SQL2(sqlite, pg) (on_pg ? (pg) : (sqlite))

static void
setup(void)
{
    char sql[128];

    box = sandbox();
    ck_assert_ptr_nonnull(box);
    if (!on_pg) {
        snprintf(dbpath, sizeof(dbpath), "%s/sift.db", box);
        return;
    }
    snprintf(dbname, sizeof(dbname), "sift_st_%d_%d", (int)getpid(), ++ndb);
    /* left by an earlier run killed before its teardown (same pid) */
    snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)",
             dbname);
    pgu_exec(server, sql);
    snprintf(sql, sizeof(sql), "CREATE DATABASE %s", dbname);
    pgu_exec(server, sql);
    pgu_uri(dbpath, sizeof(dbpath), server, dbname);
}

static void
teardown(void)
{
    char sql[128];

    if (on_pg) {
        snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)",
                 dbname);
        pgu_exec(server, sql);
    }
    rm_rf(box);
    free(box);
    box = NULL;
}

static sift_store *
open_ok(const char *path, unsigned flags)
{
    sift_store *st = NULL;
    sift_err err;

    sift_err_clear(&err);
    ck_assert_msg(sift_store_open(&st, path, flags, &err) == SIFT_OK,
                  "open %s: %s", path, err.msg);
    return st;
}

/* Run a query that yields one integer. */
struct one {
    int64_t v;
    char s[256];
    int rows;
};

static int
one_cb(void *payload, sift_row *row)
{
    struct one *o = payload;
    const char *t = sift_row_text(row, 0);

    o->v = sift_row_int(row, 0);
    snprintf(o->s, sizeof(o->s), "%s", t ? t : "(null)");
    o->rows++;
    return 0;
}

static int64_t
q_int(sift_store *st, const char *sql)
{
    struct one o = {0};
    sift_err err;

    sift_err_clear(&err);
    ck_assert_msg(sift_store_query(st, sql, NULL, 0, one_cb, &o, &err) ==
                      SIFT_OK,
                  "%s: %s", sql, err.msg);
    ck_assert_int_eq(o.rows, 1);
    return o.v;
}

static const char *
q_text(sift_store *st, const char *sql)
{
    static struct one o;
    sift_err err;

    memset(&o, 0, sizeof(o));
    sift_err_clear(&err);
    ck_assert_msg(sift_store_query(st, sql, NULL, 0, one_cb, &o, &err) ==
                      SIFT_OK,
                  "%s: %s", sql, err.msg);
    ck_assert_int_eq(o.rows, 1);
    return o.s;
}

/* A synthetic report: index i decides identity and record count. */
#define SYNTH_MAXREC 9
struct synth {
    sift_report_meta m;
    char rid[64];
    char ip[SYNTH_MAXREC][48];
    sift_record rec[SYNTH_MAXREC];
    sift_dkim_result dk[SYNTH_MAXREC][2];
    sift_spf_result sp[SYNTH_MAXREC];
    size_t n;
};

static size_t
synth_nrec(int i)
{
    return 1 + (size_t)(i % SYNTH_MAXREC);
}

static void
synth(struct synth *s, int i)
{
    size_t j;

    memset(s, 0, sizeof(*s));
    snprintf(s->rid, sizeof(s->rid), "r%06d", i);
    s->m.org_name = i % 2 ? "google.com" : "Yahoo! Inc.";
    s->m.report_id = s->rid;
    s->m.domain = i % 3 ? "example.com" : "example.org";
    /* one report a day, over 400 days (13 months: PostgreSQL creates
     * partitions per month) */
    s->m.begin = 1700000000 + (int64_t)(i % 400) * 86400;
    s->m.end = s->m.begin + 86399;
    s->m.p = "reject";
    s->m.pct = 100;
    s->n = synth_nrec(i);
    for (j = 0; j < s->n; j++) {
        snprintf(s->ip[j], sizeof(s->ip[j]), "192.0.2.%zu", j + 1);
        s->dk[j][0] = (sift_dkim_result){"example.com", "s1", "pass", NULL};
        s->dk[j][1] = (sift_dkim_result){"esp.net", "k", "fail", NULL};
        s->sp[j] = (sift_spf_result){"esp.net", "mfrom", "pass", NULL};
        s->rec[j] = (sift_record){.line = 10 + j,
                                  .source_ip = s->ip[j],
                                  .count = (uint64_t)(j + 1),
                                  .disposition = "none",
                                  .dkim = "pass",
                                  .spf = "fail",
                                  .header_from = "example.com",
                                  .dkim_results = s->dk[j],
                                  .n_dkim = 1 + j % 2,
                                  .spf_results = &s->sp[j],
                                  .n_spf = 1};
    }
}

static sift_hash128
synth_hash(int i)
{
    return sift_hash128_of(&i, sizeof(i));
}

/* A 128-bit hash with only its low word set, for readable tests. */
static sift_hash128
H(uint64_t v)
{
    sift_hash128 h = {0, v};
    return h;
}

/* Store synthetic report i; SIFT_OK or SIFT_EDUP (or an error). */
static int
store_synth(sift_store *st, int i, sift_err *err)
{
    struct synth s;
    sift_verdict v = {0};
    sift_stored dup;
    size_t j;
    int rc;

    synth(&s, i);
    if ((rc = sift_store_begin(st, &dup, &s.m, "synthetic", err)) != SIFT_OK)
        return rc;
    for (j = 0; j < s.n; j++) {
        v.dmarc_fail = j % 2;
        if ((rc = sift_store_add(st, &s.rec[j], &v, err)) != SIFT_OK) {
            sift_store_rollback(st);
            return rc;
        }
    }
    return sift_store_commit(st, &s.m, synth_hash(i), err);
}

static uint64_t
synth_records(int from, int to)
{
    uint64_t n = 0;
    int i;

    for (i = from; i < to; i++)
        n += synth_nrec(i);
    return n;
}

/* Every stored report holds exactly its records (no half-stored one). */
static int
check_whole_cb(void *payload, sift_row *row)
{
    int *bad = payload;
    const char *rid = sift_row_text(row, 0);
    int i = atoi(rid + 1);

    if ((uint64_t)sift_row_int(row, 1) != synth_nrec(i) ||
        sift_row_int(row, 2) != sift_row_int(row, 1))
        (*bad)++;
    return 0;
}

static int
count_half_stored(sift_store *st)
{
    int bad = 0;
    sift_err err;

    sift_err_clear(&err);
    ck_assert_int_eq(
        sift_store_query(st,
                         "SELECT r.report_id, r.record_count,"
                         " (SELECT count(*) FROM records c"
                         "  WHERE c.report_id = r.id) FROM reports r",
                         NULL, 0, check_whole_cb, &bad, &err),
        SIFT_OK);
    return bad;
}

/* Overwrite len bytes of a file at off. */
static void
patch(const char *path, long off, const void *p, size_t len)
{
    FILE *fp = fopen(path, "r+b");

    ck_assert_ptr_nonnull(fp);
    ck_assert_int_eq(fseek(fp, off, SEEK_SET), 0);
    ck_assert_uint_eq(fwrite(p, 1, len, fp), len);
    ck_assert_int_eq(fclose(fp), 0);
}

static void
raw_sql(const char *path, const char *sql)
{
    sqlite3 *db = NULL;

    ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
    ck_assert_int_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

static int64_t
raw_int(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;
    int64_t v;

    ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
    ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
    v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(db);
    return v;
}

static void
expect_open_fails(const char *path, unsigned flags, const char *msg)
{
    sift_store *st = NULL;
    sift_err err;

    sift_err_clear(&err);
    ck_assert_int_eq(sift_store_open(&st, path, flags, &err), SIFT_EDB);
    ck_assert_ptr_null(st);
    ck_assert_str_eq(err.msg, msg);
    ck_assert_str_eq(err.where, path);
}

/* --- storing and reading back ----------------------------------------- */

static const char *const errors2[] = {"first \"error\"", "second\\one"};
static const char *const warns2[] = {"unknown disposition 'bogus'",
                                     "line\nbreak"};

static void
full_report(sift_report_meta *m)
{
    memset(m, 0, sizeof(*m));
    m->version = "1.0";
    m->namespace = "urn:ietf:params:xml:ns:dmarc-2.0";
    m->org_name = "google.com";
    m->email = "noreply-dmarc-support@google.com";
    m->extra_contact_info = "https://support.google.com/a/answer/2466580";
    m->report_id = "12345678901234567890";
    m->begin = 1700000000;
    m->end = 1700086399;
    m->errors = errors2;
    m->n_errors = 2;
    m->generator = "gen/1.2";
    m->domain = "example.com";
    m->adkim = "r";
    m->aspf = "s";
    m->p = "reject";
    m->sp = "quarantine";
    m->np = "none";
    m->pct = 50;
    m->fo = "1";
    m->testing = "n";
    m->discovery_method = "treewalk";
}

START_TEST(test_every_field_round_trips)
{
    sift_store *st = open_ok(dbpath, 0);
    sift_report_meta m;
    sift_err err;
    sift_stored dup;
    static const sift_reason reasons[] = {{"forwarded", NULL},
                                          {"local_policy", "arc=pass"}};
    static const sift_dkim_result dk[] = {
        {"example.com", NULL, "pass", NULL},
        {"esp.example.net", "s2024", "fail", "body hash mismatch"}};
    static const sift_spf_result sp[] = {
        {"mx.example.com", "helo", "pass", NULL},
        {"bounce.esp.net", NULL, "softfail", "~all"}};
    sift_record r0 = {.line = 42,
                      .source_ip = "2001:db8::1",
                      .count = 17,
                      .disposition = "reject",
                      .dkim = "fail",
                      .spf = "fail",
                      .reasons = reasons,
                      .n_reasons = 2,
                      .header_from = "example.com",
                      .envelope_from = NULL,
                      .envelope_to = "example.org",
                      .dkim_results = dk,
                      .n_dkim = 2,
                      .spf_results = sp,
                      .n_spf = 2};
    sift_record r1 = {.line = 60,
                      .source_ip = "192.0.2.7",
                      .count = UINT64_MAX,
                      .disposition = "none",
                      .header_from = "example.com",
                      .envelope_from = ""};
    sift_verdict v0 = {.dmarc_fail = 1,
                       .would_reject = 1,
                       .spf_aligned = 0,
                       .dkim_aligned = 1,
                       .outcome = SIFT_OUT_WOULD_REJECT,
                       .categories = (1u << SIFT_CAT_SPF_SOFTFAIL) |
                                     (1u << SIFT_CAT_DKIM_FAIL),
                       .flags = SIFT_FLAG_PSL_APPROX,
                       .spf_domain = "bounce.esp.net",
                       .dkim_domain = "esp.example.net"};
    sift_verdict v1 = {.outcome = SIFT_OUT_PASS,
                       .categories = 1u << SIFT_CAT_REPORTER_INCONSISTENT,
                       .flags = SIFT_FLAG_NO_HEADER_FROM};

    full_report(&m);
    sift_err_clear(&err);
    ck_assert_int_eq(sift_store_begin(st, &dup, &m, "in.mbox#3/r.zip", &err),
                     SIFT_OK);
    ck_assert(!dup.hash_known && dup.records == 0);
    ck_assert_int_eq(sift_store_add(st, &r0, &v0, &err), SIFT_OK);
    ck_assert_int_eq(sift_store_add(st, &r1, &v1, &err), SIFT_OK);
    m.warnings = warns2;
    m.n_warnings = 2;
    ck_assert_int_eq(
        sift_store_commit(st, &m, H(UINT64_C(0xfedcba9876543210)), &err),
        SIFT_OK);
    ck_assert_int_eq(sift_store_flush(st, &err), SIFT_OK);

    ck_assert_str_eq(q_text(st, "SELECT org_name || '|' || report_id || '|'"
                                " || policy_domain || '|' || date_begin || '|'"
                                " || date_end || '|' || email || '|' ||"
                                " extra_contact_info FROM reports"),
                     "google.com|12345678901234567890|example.com|"
                     "1700000000|1700086399|noreply-dmarc-support@google.com|"
                     "https://support.google.com/a/answer/2466580");
    ck_assert_str_eq(q_text(st, "SELECT version || '|' || namespace || '|' ||"
                                " generator || '|' || adkim || aspf || '|' ||"
                                " p || '|' || sp || '|' || np || '|' || pct"
                                " || '|' || fo || '|' || testing || '|' ||"
                                " discovery_method || '|' || input_path"
                                " FROM reports"),
                     "1.0|urn:ietf:params:xml:ns:dmarc-2.0|gen/1.2|rs|reject|"
                     "quarantine|none|50|1|n|treewalk|in.mbox#3/r.zip");
    ck_assert_str_eq(q_text(st, "SELECT errors FROM reports"),
                     "[\"first \\\"error\\\"\",\"second\\\\one\"]");
    ck_assert_str_eq(
        q_text(st, SQL2("SELECT group_concat(value, '/') FROM"
                        " reports, json_each(reports.errors)",
                        "SELECT string_agg(value, '/') FROM reports,"
                        " json_array_elements_text(reports.errors::json)")),
        "first \"error\"/second\\one");
    ck_assert_str_eq(q_text(st, SQL2("SELECT json_extract(warnings, '$[1]')"
                                     " FROM reports",
                                     "SELECT warnings::json ->> 1"
                                     " FROM reports")),
                     "line\nbreak");
    ck_assert_str_eq(q_text(st, SQL2("SELECT hex(content_hash) FROM reports",
                                     "SELECT upper(encode(content_hash,"
                                     " 'hex')) FROM reports")),
                     "0000000000000000FEDCBA9876543210");
    ck_assert_int_eq(q_int(st, "SELECT record_count FROM reports"), 2);
    ck_assert_int_eq(q_int(st, "SELECT message_count FROM reports"),
                     INT64_MAX); /* 17 + UINT64_MAX saturates */
    ck_assert_int_ge(q_int(st, "SELECT ingested_at FROM reports"), 1700000000);

    /* record 0 */
    ck_assert_str_eq(
        q_text(st, "SELECT idx || '|' || xml_line || '|' || source_ip || '|'"
                   " || count || '|' || disposition || '|' || pe_dkim || '|'"
                   " || pe_spf || '|' || header_from || '|' ||"
                   " coalesce(envelope_from, 'NULL') || '|' || envelope_to"
                   " FROM records WHERE idx = 0"),
        "0|42|2001:db8::1|17|reject|fail|fail|example.com|NULL|example.org");
    ck_assert_str_eq(
        q_text(st, SQL2("SELECT dmarc_fail || would_reject || outcome ||"
                        " spf_aligned || dkim_aligned || '|' || categories"
                        " || '|' || (flags & 1023) || '|' || spf_domain ||"
                        " '|' || dkim_domain FROM records WHERE idx = 0",
                        "SELECT dmarc_fail::text || would_reject || outcome"
                        " || spf_aligned || dkim_aligned || '|' ||"
                        " categories || '|' || (flags & 1023) || '|' ||"
                        " spf_domain || '|' || dkim_domain FROM records"
                        " WHERE idx = 0")),
        "11101|16392|8|bounce.esp.net|esp.example.net");
    /* issue 12: the stored flags also carry the disposition (3: reject)
     * and the primary category + 1 for report's scan */
    ck_assert_int_eq(q_int(st, "SELECT (flags >> 10) & 3 FROM records"
                               " WHERE idx = 0"),
                     3);
    ck_assert_int_eq(q_int(st, "SELECT (flags >> 16) & 255 FROM records"
                               " WHERE idx = 0"),
                     1);
    /* record 1: '' envelope_from kept, clamped count, NULL pe fields */
    ck_assert_int_eq(q_int(st, "SELECT envelope_from IS NOT NULL AND"
                               " envelope_from = '' FROM records"
                               " WHERE idx = 1"),
                     1);
    ck_assert_int_eq(q_int(st, "SELECT count FROM records WHERE idx = 1"),
                     INT64_MAX);
    ck_assert_int_eq(q_int(st, "SELECT pe_dkim IS NULL AND pe_spf IS NULL"
                               " AND envelope_to IS NULL FROM records"
                               " WHERE idx = 1"),
                     1);
    ck_assert_int_eq(q_int(st, "SELECT categories FROM records WHERE idx = 1"),
                     1 << SIFT_CAT_REPORTER_INCONSISTENT);
    ck_assert_int_eq(q_int(st, "SELECT bit_or(flags & 1023) FROM records"),
                     SIFT_FLAG_PSL_APPROX | SIFT_FLAG_NO_HEADER_FROM);
    /* children in document order */
    ck_assert_str_eq(
        q_text(st, SQL2("SELECT group_concat(type || ':' ||"
                        " coalesce(comment, 'NULL'), ',') FROM"
                        " (SELECT * FROM reasons ORDER BY idx)",
                        "SELECT string_agg(type || ':' ||"
                        " coalesce(comment, 'NULL'), ',' ORDER BY idx)"
                        " FROM reasons")),
        "forwarded:NULL,local_policy:arc=pass");
    ck_assert_str_eq(
        q_text(st, SQL2("SELECT group_concat(domain || ':' ||"
                        " coalesce(selector, 'NULL') || ':' || result"
                        " || ':' || coalesce(human_result, 'NULL'),"
                        " ',') FROM (SELECT * FROM dkim_results"
                        " ORDER BY idx)",
                        "SELECT string_agg(domain || ':' ||"
                        " coalesce(selector, 'NULL') || ':' || result"
                        " || ':' || coalesce(human_result, 'NULL'),"
                        " ',' ORDER BY idx) FROM dkim_results")),
        "example.com:NULL:pass:NULL,"
        "esp.example.net:s2024:fail:body hash mismatch");
    ck_assert_str_eq(
        q_text(st, SQL2("SELECT group_concat(domain || ':' ||"
                        " coalesce(scope, 'NULL') || ':' || result ||"
                        " ':' || coalesce(human_result, 'NULL'), ',')"
                        " FROM (SELECT * FROM spf_results"
                        " ORDER BY idx)",
                        "SELECT string_agg(domain || ':' ||"
                        " coalesce(scope, 'NULL') || ':' || result ||"
                        " ':' || coalesce(human_result, 'NULL'), ','"
                        " ORDER BY idx) FROM spf_results")),
        "mx.example.com:helo:pass:NULL,"
        "bounce.esp.net:NULL:softfail:~all");
    ck_assert_int_eq(q_int(st, "SELECT count(*) FROM reasons r JOIN records c"
                               " ON c.id = r.record_id WHERE c.idx = 0"),
                     2);
    sift_store_close(st);
}
END_TEST

START_TEST(test_absent_fields_are_null)
{
    sift_store *st = open_ok(dbpath, 0);
    sift_report_meta m = {.begin = 1, .end = 2, .pct = -1};
    sift_record r = {.count = 1};
    sift_err err;

    sift_err_clear(&err);
    ck_assert_int_eq(sift_store_begin(st, NULL, &m, NULL, &err), SIFT_OK);
    ck_assert_int_eq(sift_store_add(st, &r, NULL, &err), SIFT_OK);
    ck_assert_int_eq(sift_store_commit(st, &m, H(0), &err), SIFT_OK);
    ck_assert_str_eq(
        q_text(st, SQL2("SELECT quote(org_name) || quote(report_id)"
                        " || quote(policy_domain) || quote(pct) ||"
                        " quote(email) || quote(input_path) ||"
                        " errors || warnings FROM reports",
                        "SELECT quote_nullable(org_name) ||"
                        " quote_nullable(report_id) ||"
                        " quote_nullable(policy_domain) ||"
                        " quote_nullable(pct) || quote_nullable(email) ||"
                        " quote_nullable(input_path) || errors || warnings"
                        " FROM reports")),
        "''''''NULLNULLNULL[][]");
    ck_assert_int_eq(q_int(st, "SELECT source_ip IS NULL AND categories = 0"
                               " AND outcome = 0 FROM records"),
                     1);
    /* the '' identity still deduplicates */
    ck_assert_int_eq(sift_store_begin(st, NULL, &m, NULL, &err), SIFT_EDUP);
    sift_store_close(st);
}
END_TEST

START_TEST(test_duplicate_is_edup_with_hash)
{
    sift_store *st = open_ok(dbpath, 0);
    struct synth s;
    sift_stored dup;
    sift_err err;

    sift_err_clear(&err);
    ck_assert_int_eq(store_synth(st, 7, &err), SIFT_OK);
    ck_assert_int_eq(store_synth(st, 8, &err), SIFT_OK);
    synth(&s, 7);
    ck_assert_int_eq(sift_store_begin(st, &dup, &s.m, "again", &err),
                     SIFT_EDUP);
    ck_assert(dup.hash_known && sift_hash128_eq(dup.hash, synth_hash(7)));
    /* nothing is open: add is refused, a new begin works */
    ck_assert_int_eq(sift_store_add(st, &s.rec[0], NULL, &err), SIFT_EUSAGE);
    ck_assert_str_eq(err.msg, "no report is open");
    ck_assert_int_eq(store_synth(st, 7, &err), SIFT_EDUP);
    ck_assert_int_eq(q_int(st, "SELECT count(*) FROM reports"), 2);
    ck_assert_int_eq(q_int(st, "SELECT count(*) FROM records"),
                     (int64_t)synth_records(7, 9));
    /* a different end date is a different report */
    s.m.end++;
    ck_assert_int_eq(sift_store_begin(st, &dup, &s.m, "x", &err), SIFT_OK);
    ck_assert(!dup.hash_known && dup.records == 0);
    sift_store_rollback(st);
    sift_store_close(st);
}
END_TEST

START_TEST(test_second_run_stores_nothing_new)
{
    sift_store *st;
    sift_stats a, b;
    sift_err err;
    int i;

    sift_err_clear(&err);
    st = open_ok(dbpath, 0);
    for (i = 0; i < 50; i++)
        ck_assert_int_eq(store_synth(st, i, &err), SIFT_OK);
    ck_assert_int_eq(sift_store_stats(&a, st, &err), SIFT_OK);
    sift_store_close(st);

    st = open_ok(dbpath, 0); /* the next night */
    for (i = 0; i < 50; i++)
        ck_assert_int_eq(store_synth(st, i, &err), SIFT_EDUP);
    ck_assert_int_eq(sift_store_stats(&b, st, &err), SIFT_OK);
    ck_assert_uint_eq(a.reports, 50);
    ck_assert_uint_eq(b.reports, 50);
    ck_assert_uint_eq(a.records, synth_records(0, 50));
    ck_assert_uint_eq(b.records, a.records);
    ck_assert_int_eq(q_int(st, "SELECT count(*) FROM records"),
                     (int64_t)a.records);
    ck_assert_int_eq(q_int(st, "SELECT count(*) FROM dkim_results"),
                     q_int(st, "SELECT sum(1 + idx % 2) FROM records"));
    sift_store_close(st);
}
END_TEST

START_TEST(test_rollback_leaves_nothing)
{
    sift_store *st = open_ok(dbpath, 0);
    struct synth s;
    sift_stats stats;
    sift_err err;
    size_t j;

    sift_err_clear(&err);
    ck_assert_int_eq(store_synth(st, 1, &err), SIFT_OK);
    synth(&s, 8);
    ck_assert_int_eq(sift_store_begin(st, NULL, &s.m, "x", &err), SIFT_OK);
    for (j = 0; j < s.n; j++)
        ck_assert_int_eq(sift_store_add(st, &s.rec[j], NULL, &err), SIFT_OK);
    ck_assert_int_eq(sift_store_flush(st, &err), SIFT_EUSAGE);
    ck_assert_str_eq(err.msg, "cannot flush while a report is open");
    ck_assert_int_eq(sift_store_begin(st, NULL, &s.m, "x", &err), SIFT_EUSAGE);
    sift_store_rollback(st);
    sift_store_rollback(st); /* nothing open: no-op */
    ck_assert_int_eq(sift_store_flush(st, &err), SIFT_OK);
    ck_assert_int_eq(sift_store_stats(&stats, st, &err), SIFT_OK);
    ck_assert_uint_eq(stats.reports, 1);
    ck_assert_uint_eq(stats.records, synth_nrec(1));
    ck_assert_int_eq(q_int(st, "SELECT count(*) FROM records"),
                     (int64_t)synth_nrec(1));
    ck_assert_int_eq(q_int(st, "SELECT count(*) FROM spf_results"),
                     (int64_t)synth_nrec(1));
    /* the rolled-back identity can be stored afterwards */
    ck_assert_int_eq(store_synth(st, 8, &err), SIFT_OK);
    sift_store_close(st);

    /* close with a report open drops it, keeps the batch */
    st = open_ok(dbpath, 0);
    ck_assert_int_eq(store_synth(st, 20, &err), SIFT_OK);
    synth(&s, 21);
    ck_assert_int_eq(sift_store_begin(st, NULL, &s.m, "x", &err), SIFT_OK);
    ck_assert_int_eq(sift_store_add(st, &s.rec[0], NULL, &err), SIFT_OK);
    sift_store_close(st);
    st = open_ok(dbpath, 0);
    ck_assert_int_eq(q_int(st, "SELECT count(*) FROM reports"), 3);
    ck_assert_int_eq(q_int(st, "SELECT count(*) FROM reports"
                               " WHERE report_id = 'r000021'"),
                     0);
    sift_store_close(st);
}
END_TEST

START_TEST(test_hostile_strings_stored_verbatim)
{
    static const char *const ids[] = {
        "x'); DROP TABLE reports;--", "\"; DELETE FROM records; --",
        "%s%n%x ?1 :a @b $c", "r\xc3\xa9sum\xc3\xa9 \xe2\x80\xae"};
    sift_store *st = open_ok(dbpath, 0);
    sift_report_meta m;
    sift_param p;
    struct one o;
    sift_err err;
    size_t i;

    sift_err_clear(&err);
    for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        full_report(&m);
        m.report_id = ids[i];
        m.org_name = ids[i];
        ck_assert_int_eq(sift_store_begin(st, NULL, &m, ids[i], &err), SIFT_OK);
        ck_assert_int_eq(sift_store_commit(st, &m, H(1), &err), SIFT_OK);
    }
    ck_assert_int_eq(q_int(st, "SELECT count(*) FROM reports"), 4);
    for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        memset(&o, 0, sizeof(o));
        p = (sift_param){.type = SIFT_P_TEXT, .s = ids[i]};
        ck_assert_int_eq(sift_store_query(st,
                                          "SELECT report_id FROM reports"
                                          " WHERE org_name = ?1 AND"
                                          " input_path = ?1",
                                          &p, 1, one_cb, &o, &err),
                         SIFT_OK);
        ck_assert_int_eq(o.rows, 1);
        ck_assert_str_eq(o.s, ids[i]);
    }
    full_report(&m);
    m.report_id = ids[0];
    m.org_name = ids[0];
    ck_assert_int_eq(sift_store_begin(st, NULL, &m, "x", &err), SIFT_EDUP);
    sift_store_close(st);
}
END_TEST

/* --- maintenance ------------------------------------------------------ */

START_TEST(test_stats_counts_everything)
{
    sift_store *st = open_ok(dbpath, 0);
    struct synth s;
    sift_stats x;
    sift_err err;
    int i;

    sift_err_clear(&err);
    ck_assert_int_eq(sift_store_stats(&x, st, &err), SIFT_OK);
    ck_assert_uint_eq(x.reports, 0);
    ck_assert_int_eq(x.first_begin, 0);
    ck_assert_int_eq(x.last_end, 0);
    for (i = 0; i < 6; i++)
        ck_assert_int_eq(store_synth(st, i, &err), SIFT_OK);
    synth(&s, 2);
    ck_assert_int_eq(sift_store_note_conflict(st, &s.m, "b.xml", H(5), &err),
                     SIFT_OK);
    ck_assert_int_eq(sift_store_note_conflict(st, &s.m, "c.xml", H(5), &err),
                     SIFT_OK); /* same copy again: kept once */
    ck_assert_int_eq(sift_store_note_conflict(st, &s.m, "d.xml", H(6), &err),
                     SIFT_OK);
    ck_assert_int_eq(
        sift_store_add_failed(st, "bad.xml", "boom", "x", 1, NULL, &err),
        SIFT_OK);
    ck_assert_int_eq(sift_store_stats(&x, st, &err), SIFT_OK);
    ck_assert_uint_eq(x.reports, 6);
    ck_assert_uint_eq(x.records, synth_records(0, 6)); /* 1+..+6 = 21 */
    ck_assert_uint_eq(x.records, 21);
    /* messages: sum over reports of 1..n = 1+3+6+10+15+21 */
    ck_assert_uint_eq(x.messages, 56);
    ck_assert_uint_eq(x.reporters, 2);
    ck_assert_uint_eq(x.domains, 2);
    ck_assert_uint_eq(x.conflicts, 2);
    ck_assert_uint_eq(x.failed_inputs, 1);
    ck_assert_int_eq(x.first_begin, 1700000000);
    ck_assert_int_eq(x.last_end, 1700000000 + 5 * 86400 + 86399);
    ck_assert_str_eq(q_text(st, SQL2("SELECT input_path FROM conflicts"
                                     " WHERE hex(content_hash) ="
                                     " '00000000000000000000000000000005'",
                                     "SELECT input_path FROM conflicts"
                                     " WHERE encode(content_hash, 'hex') ="
                                     " '00000000000000000000000000000005'")),
                     "b.xml");
    sift_store_close(st);
}
END_TEST

/* Issue 18: counts near 2^64. Each report's message_count saturates at
 * INT64_MAX; stats must saturate its sums too, not fail with SQLite's
 * "integer overflow" (0.1.0: exit 74). */
START_TEST(test_stats_saturates)
{
    sift_store *st = open_ok(dbpath, 0);
    sift_report_meta m;
    sift_record r = {.count = UINT64_MAX, .source_ip = "192.0.2.1"};
    sift_stats x;
    sift_err err;
    static const char *const ids[] = {"big-1", "big-2", "big-3"};
    size_t i;

    sift_err_clear(&err);
    for (i = 0; i < 3; i++) {
        full_report(&m);
        m.report_id = ids[i];
        ck_assert_int_eq(sift_store_begin(st, NULL, &m, "x", &err), SIFT_OK);
        ck_assert_int_eq(sift_store_add(st, &r, NULL, &err), SIFT_OK);
        ck_assert_int_eq(sift_store_add(st, &r, NULL, &err), SIFT_OK);
        ck_assert_int_eq(sift_store_commit(st, &m, H(i), &err), SIFT_OK);
    }
    ck_assert_int_eq(q_int(st, "SELECT min(message_count) FROM reports"),
                     INT64_MAX);
    ck_assert_msg(sift_store_stats(&x, st, &err) == SIFT_OK, "stats: %s",
                  err.msg);
    ck_assert_uint_eq(x.reports, 3);
    ck_assert_uint_eq(x.records, 6);
    ck_assert_uint_eq(x.messages, (uint64_t)INT64_MAX);
    /* and the other way round (sat_sum: SQLite's; PostgreSQL sums in
     * numeric) */
    if (on_pg) {
        sift_store_close(st);
        return;
    }
    ck_assert_int_eq(q_int(st,
                           "SELECT sat_sum(x) FROM (SELECT -9223372036854775807"
                           " AS x UNION ALL SELECT -5)"),
                     INT64_MIN);
    ck_assert_int_eq(q_int(st, "SELECT sat_sum(x) FROM (SELECT 2 AS x"
                               " UNION ALL SELECT NULL UNION ALL SELECT 3)"),
                     5);
    ck_assert_int_eq(q_int(st, "SELECT sat_sum(x) FROM (SELECT 1 AS x)"
                               " WHERE x = 0"),
                     0);
    sift_store_close(st);
}
END_TEST

START_TEST(test_prune_cascades)
{
    sift_store *st = open_ok(dbpath, 0);
    uint64_t n = 99;
    sift_err err;
    int i;

    sift_err_clear(&err);
    for (i = 0; i < 10; i++)
        ck_assert_int_eq(store_synth(st, i, &err), SIFT_OK);
    /* reports 0..3 end before day 4 begins */
    ck_assert_int_eq(
        sift_store_prune(&n, NULL, st, 1700000000 + 4 * 86400, &err), SIFT_OK);
    ck_assert_uint_eq(n, 4);
    ck_assert_int_eq(q_int(st, "SELECT count(*) FROM reports"), 6);
    ck_assert_int_eq(q_int(st, "SELECT min(report_id) = 'r000004'"
                               " FROM reports"),
                     1);
    ck_assert_int_eq(q_int(st, "SELECT count(*) FROM records"),
                     (int64_t)synth_records(4, 10));
    ck_assert_int_eq(q_int(st, "SELECT count(*) FROM spf_results"),
                     (int64_t)synth_records(4, 10));
    ck_assert_int_eq(q_int(st, "SELECT count(*) FROM dkim_results d WHERE"
                               " NOT EXISTS (SELECT 1 FROM records r"
                               " WHERE r.id = d.record_id)"),
                     0);
    ck_assert_int_eq(sift_store_prune(&n, NULL, st, 0, &err), SIFT_OK);
    ck_assert_uint_eq(n, 0);
    /* pruned reports can be imported again (PostgreSQL: into the
     * month partition prune dropped) */
    ck_assert_int_eq(store_synth(st, 0, &err), SIFT_OK);
    ck_assert_int_eq(sift_store_flush(st, &err), SIFT_OK);
    ck_assert_int_eq(q_int(st, "SELECT count(*) FROM records"),
                     (int64_t)synth_records(4, 10) + 1);
    if (!on_pg)
        ck_assert_str_eq(q_text(st, "PRAGMA integrity_check"), "ok");
    sift_store_close(st);
}
END_TEST

/* Inputs remembered by fingerprint go with their report. */
START_TEST(test_seen_inputs_follow_their_report)
{
    sift_store *st = open_ok(dbpath, 0);
    struct synth s0, s5;
    uint64_t n = 0;
    sift_err err;
    int conflict = -1, i;

    sift_err_clear(&err);
    for (i = 0; i < 6; i++)
        ck_assert_int_eq(store_synth(st, i, &err), SIFT_OK);
    synth(&s0, 0);
    synth(&s5, 5);
    ck_assert_int_eq(sift_store_note_seen(st, H(42), 1000, &s0.m, 0, &err),
                     SIFT_OK);
    ck_assert_int_eq(sift_store_note_seen(st, H(43), 1000, &s5.m, 1, &err),
                     SIFT_OK);
    /* kept once */
    ck_assert_int_eq(sift_store_note_seen(st, H(42), 1000, &s0.m, 1, &err),
                     SIFT_OK);
    ck_assert_int_eq(sift_store_flush(st, &err), SIFT_OK);
    ck_assert_int_eq(sift_store_seen(st, &conflict, H(42), 1000, &err),
                     SIFT_EDUP);
    ck_assert_int_eq(conflict, 0);
    ck_assert_int_eq(sift_store_seen(st, &conflict, H(43), 1000, &err),
                     SIFT_EDUP);
    ck_assert_int_eq(conflict, 1);
    /* same hash, other length; other hash */
    ck_assert_int_eq(sift_store_seen(st, &conflict, H(42), 999, &err), SIFT_OK);
    ck_assert_int_eq(sift_store_seen(st, &conflict, H(44), 1000, &err),
                     SIFT_OK);
    /* pruning report 0 forgets its input: a re-run imports it again */
    ck_assert_int_eq(sift_store_prune(&n, NULL, st, 1700000000 + 86400, &err),
                     SIFT_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(sift_store_seen(st, &conflict, H(42), 1000, &err),
                     SIFT_OK);
    ck_assert_int_eq(sift_store_seen(st, &conflict, H(43), 1000, &err),
                     SIFT_EDUP);
    sift_store_close(st);
}
END_TEST

/* The asked forms (sift_store_ask_*) answer as sift_store_seen() and
 * sift_store_lookup() do, one question at a time, on a reader's handle
 * beside the writer's (the importer's producer); a handle closed with a
 * question pending leaks nothing (ASan). */
static sift_answer
answer_when_ready(sift_store *st)
{
    sift_answer a;
    sift_err err;
    int i;

    for (i = 0; i < 10000 && !sift_store_answered(st); i++)
        usleep(1000);
    ck_assert(sift_store_answered(st));
    memset(&a, 0xff, sizeof(a));
    ck_assert_int_eq(sift_store_answer(st, &a, &err), SIFT_OK);
    return a;
}

START_TEST(test_questions_answered_later)
{
    sift_store *st = open_ok(dbpath, 0), *rd;
    struct synth s0, s9;
    sift_stored want;
    sift_answer a;
    sift_err err;

    sift_err_clear(&err);
    ck_assert_int_eq(store_synth(st, 0, &err), SIFT_OK);
    synth(&s0, 0);
    synth(&s9, 9);
    ck_assert_int_eq(sift_store_note_seen(st, H(43), 1000, &s0.m, 1, &err),
                     SIFT_OK);
    ck_assert_int_eq(sift_store_flush(st, &err), SIFT_OK);
    rd = open_ok(dbpath, SIFT_STORE_READONLY);
    ck_assert_int_eq(sift_store_remote(rd),
                     strncmp(dbpath, "postgres", 8) == 0);
    ck_assert(sift_store_answered(rd)); /* nothing asked */
    ck_assert_int_eq(sift_store_answer(rd, &a, &err), SIFT_EUSAGE);
    ck_assert_str_eq(err.msg, "nothing asked");

    /* seen: as a conflicting copy; other bytes: not */
    ck_assert_int_eq(sift_store_ask_seen(rd, H(43), 1000, &err), SIFT_OK);
    ck_assert_int_eq(sift_store_ask_seen(rd, H(43), 1000, &err), SIFT_EUSAGE);
    ck_assert_str_eq(err.msg, "a question is pending");
    ck_assert_int_eq(sift_store_ask_lookup(rd, &s0.m, &err), SIFT_EUSAGE);
    a = answer_when_ready(rd);
    ck_assert_int_eq(a.seen, 1);
    ck_assert_int_eq(a.conflict, 1);
    ck_assert_int_eq(a.stored, 0);
    ck_assert_int_eq(sift_store_ask_seen(rd, H(44), 1000, &err), SIFT_OK);
    a = answer_when_ready(rd);
    ck_assert_int_eq(a.seen, 0);
    ck_assert_int_eq(a.conflict, 0);
    ck_assert_int_eq(sift_store_answer(rd, &a, &err), SIFT_EUSAGE);

    /* the stored report, as sift_store_lookup() tells it */
    ck_assert_int_eq(sift_store_lookup(st, &want, &s0.m, &err), SIFT_EDUP);
    ck_assert_int_eq(sift_store_ask_lookup(rd, &s0.m, &err), SIFT_OK);
    a = answer_when_ready(rd);
    ck_assert_int_eq(a.seen, 0);
    ck_assert_int_eq(a.stored, 1);
    ck_assert_int_eq(a.report.hash_known, 1);
    ck_assert(sift_hash128_eq(a.report.hash, want.hash));
    ck_assert(sift_hash128_eq(a.report.hash, synth_hash(0)));
    ck_assert_uint_eq(a.report.records, s0.n);
    ck_assert_uint_eq(a.report.records, want.records);
    ck_assert_uint_eq(a.report.messages, want.messages);
    ck_assert_int_eq(sift_store_ask_lookup(rd, &s9.m, &err), SIFT_OK);
    a = answer_when_ready(rd);
    ck_assert_int_eq(a.stored, 0);
    ck_assert_int_eq(a.report.hash_known, 0);
    ck_assert_uint_eq(a.report.records, 0);

    /* both at once: unseen bytes of a stored report; seen bytes (the
     * report then left unasked); unseen bytes of a new report */
    ck_assert_int_eq(sift_store_ask_input(rd, H(45), 1000, &s0.m, &err),
                     SIFT_OK);
    a = answer_when_ready(rd);
    ck_assert_int_eq(a.seen, 0);
    ck_assert_int_eq(a.stored, 1);
    ck_assert(sift_hash128_eq(a.report.hash, synth_hash(0)));
    ck_assert_uint_eq(a.report.records, want.records);
    ck_assert_uint_eq(a.report.messages, want.messages);
    ck_assert_int_eq(sift_store_ask_input(rd, H(43), 1000, &s0.m, &err),
                     SIFT_OK);
    a = answer_when_ready(rd);
    ck_assert_int_eq(a.seen, 1);
    ck_assert_int_eq(a.conflict, 1);
    ck_assert_int_eq(a.stored, 0);
    ck_assert_int_eq(sift_store_ask_input(rd, H(45), 1000, &s9.m, &err),
                     SIFT_OK);
    a = answer_when_ready(rd);
    ck_assert_int_eq(a.seen, 0);
    ck_assert_int_eq(a.stored, 0);

    /* a report stored meanwhile by the writer is found */
    ck_assert_int_eq(store_synth(st, 9, &err), SIFT_OK);
    ck_assert_int_eq(sift_store_flush(st, &err), SIFT_OK);
    ck_assert_int_eq(sift_store_ask_input(rd, H(45), 1000, &s9.m, &err),
                     SIFT_OK);
    a = answer_when_ready(rd);
    ck_assert_int_eq(a.stored, 1);
    ck_assert_uint_eq(a.report.records, s9.n);

    ck_assert_int_eq(sift_store_ask_seen(rd, H(43), 1000, &err), SIFT_OK);
    sift_store_close(rd); /* with the question pending */
    sift_store_close(st);
}
END_TEST

struct failed_seen {
    int n;
    int64_t ids[8];
    char paths[8][64];
    size_t lens[8];
    unsigned char raw[8][16];
    int stop_at;
    sift_store *del;
};

static int
failed_cb(void *payload, int64_t id, const char *path, const char *reason,
          const void *raw, size_t len)
{
    struct failed_seen *f = payload;

    (void)reason;
    if (f->n >= 8)
        return 1;
    f->ids[f->n] = id;
    snprintf(f->paths[f->n], sizeof(f->paths[0]), "%s", path);
    f->lens[f->n] = len;
    if (raw != NULL)
        memcpy(f->raw[f->n], raw, len < 16 ? len : 16);
    f->n++;
    if (f->del != NULL)
        sift_store_delete_failed(f->del, id, NULL);
    return f->n == f->stop_at ? 42 : 0;
}

START_TEST(test_failed_inputs_kept_once)
{
    static const unsigned char bin[] = {0x1f, 0x8b, 0, 0xff, 0, 'x'};
    sift_store *st = open_ok(dbpath, 0);
    struct failed_seen f;
    sift_err err;

    sift_err_clear(&err);
    ck_assert_int_eq(sift_store_add_failed(st, "a.gz", "truncated gzip", bin,
                                           sizeof(bin), NULL, &err),
                     SIFT_OK);
    ck_assert_int_eq(sift_store_add_failed(st, "a.gz", "still truncated", bin,
                                           sizeof(bin), NULL, &err),
                     SIFT_OK);
    ck_assert_int_eq(
        sift_store_add_failed(st, "a.gz", "other bytes", bin, 3, NULL, &err),
        SIFT_OK);
    ck_assert_int_eq(
        sift_store_add_failed(st, "b.xml", "empty", NULL, 0, NULL, &err),
        SIFT_OK);
    ck_assert_int_eq(q_int(st, "SELECT count(*) FROM failed_inputs"), 3);
    ck_assert_str_eq(q_text(st, "SELECT reason FROM failed_inputs"
                                " WHERE size = 6"),
                     "still truncated");
    memset(&f, 0, sizeof(f));
    ck_assert_int_eq(sift_store_each_failed(st, failed_cb, &f, &err), SIFT_OK);
    ck_assert_int_eq(f.n, 3);
    ck_assert_str_eq(f.paths[0], "a.gz");
    ck_assert_uint_eq(f.lens[0], sizeof(bin));
    ck_assert_mem_eq(f.raw[0], bin, sizeof(bin));
    ck_assert_uint_eq(f.lens[1], 3);
    ck_assert_str_eq(f.paths[2], "b.xml");
    ck_assert_uint_eq(f.lens[2], 0);
    ck_assert_int_lt(f.ids[0], f.ids[1]);
    /* stopping returns the callback's value */
    memset(&f, 0, sizeof(f));
    f.stop_at = 2;
    ck_assert_int_eq(sift_store_each_failed(st, failed_cb, &f, &err), 42);
    ck_assert_int_eq(f.n, 2);
    /* deleting inside the walk (retry-failed) visits each row once */
    memset(&f, 0, sizeof(f));
    f.del = st;
    ck_assert_int_eq(sift_store_each_failed(st, failed_cb, &f, &err), SIFT_OK);
    ck_assert_int_eq(f.n, 3);
    ck_assert_int_eq(q_int(st, "SELECT count(*) FROM failed_inputs"), 0);
    sift_store_close(st);
}
END_TEST

/* Listing, next, resolving and forgetting failed inputs (moved from
 * check_pg, where it ran on both backends). */
struct failed_one {
    int n, kept;
    char path[64], reason[64];
    unsigned char raw[16];
    size_t len;
    uint64_t size;
};

static int
next_cb(void *payload, int64_t id, const char *path, const char *reason,
        const void *raw, size_t len)
{
    struct failed_one *f = payload;

    (void)id;
    f->n++;
    snprintf(f->path, sizeof(f->path), "%s", path);
    snprintf(f->reason, sizeof(f->reason), "%s", reason);
    f->len = len;
    if (raw != NULL && len <= sizeof(f->raw))
        memcpy(f->raw, raw, len);
    return 0;
}

static int
list_cb(void *payload, const sift_failed_info *i)
{
    struct failed_one *f = payload;

    f->n++;
    f->kept = i->kept;
    f->size = i->size;
    snprintf(f->path, sizeof(f->path), "%s", i->path);
    snprintf(f->reason, sizeof(f->reason), "%s", i->reason);
    return 0;
}

START_TEST(test_failed_inputs_listed_and_resolved)
{
    static const unsigned char bytes[] = {0, 1, 0xff, '\\', '\t', 0, 'x'};
    sift_store *st = open_ok(dbpath, 0);
    struct failed_one f;
    sift_hash128 fp = {5, 6};
    uint64_t n = 9;
    sift_err err;

    sift_err_clear(&err);
    ck_assert_int_eq(sift_store_add_failed(st, "in/a.gz", "gzip: bad", bytes,
                                           sizeof(bytes), &fp, &err),
                     SIFT_OK);
    /* the same path and bytes again: kept once, reason updated */
    ck_assert_int_eq(sift_store_add_failed(st, "in/a.gz", "gzip: worse", bytes,
                                           sizeof(bytes), &fp, &err),
                     SIFT_OK);
    /* a path that is not UTF-8 is kept: as it is in SQLite, with U+FFFD
     * for the bad byte in PostgreSQL (text must be UTF-8 there) */
    ck_assert_int_eq(sift_store_add_failed(st, "in/\xff.xml", "empty file",
                                           NULL, 0, NULL, &err),
                     SIFT_OK);
    memset(&f, 0, sizeof(f));
    ck_assert_int_eq(sift_store_next_failed(st, 0, next_cb, &f, &err), SIFT_OK);
    ck_assert_int_eq(f.n, 1);
    ck_assert_str_eq(f.path, "in/a.gz");
    ck_assert_str_eq(f.reason, "gzip: worse");
    ck_assert_uint_eq(f.len, sizeof(bytes));
    ck_assert_mem_eq(f.raw, bytes, sizeof(bytes));
    memset(&f, 0, sizeof(f));
    ck_assert_int_eq(sift_store_list_failed(st, list_cb, &f, &err), SIFT_OK);
    ck_assert_int_eq(f.n, 2);
    ck_assert_int_eq(f.kept, 0); /* the last: no bytes */
    ck_assert_uint_eq(f.size, 0);
    ck_assert_str_eq(f.path, on_pg ? "in/\xef\xbf\xbd.xml" : "in/\xff.xml");
    ck_assert_str_eq(f.reason, "empty file");
    /* another path with the same fingerprint is not resolved */
    ck_assert_int_eq(sift_store_resolve_failed(st, "in/b.gz", fp, &n, &err),
                     SIFT_OK);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(sift_store_resolve_failed(st, "in/a.gz", fp, &n, &err),
                     SIFT_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(sift_store_flush(st, &err), SIFT_OK);
    ck_assert_int_eq(sift_store_next_failed(st, 0, next_cb, &f, &err), SIFT_OK);
    ck_assert_int_eq(sift_store_forget_all_failed(st, &n, &err), SIFT_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(sift_store_next_failed(st, 0, next_cb, &f, &err),
                     SIFT_ITEROVER);
    ck_assert_int_eq(sift_store_delete_failed(st, 12345, &err), SIFT_ITEROVER);
    sift_store_close(st);
}
END_TEST

static int
id_cb(void *payload, int64_t id, const char *path, const char *reason,
      const void *raw, size_t len)
{
    int64_t *last = payload;

    (void)path;
    (void)reason;
    (void)raw;
    (void)len;
    *last = id;
    return 0;
}

/* retry-failed's walk, one row at a time by id, visits every row in id
 * order past id 9 and 99 (PostgreSQL: an id read as text once sorted
 * "10" before "9", and the walk stopped early) */
START_TEST(test_failed_inputs_walked_in_id_order)
{
    sift_store *st = open_ok(dbpath, 0);
    int64_t after = 0, last = 0;
    char path[32];
    sift_err err;
    int i, rc, n = 0;

    sift_err_clear(&err);
    for (i = 0; i < 120; i++) {
        snprintf(path, sizeof(path), "in/%03d.xml", i);
        ck_assert_int_eq(
            sift_store_add_failed(st, path, "bad", path, 6, NULL, &err),
            SIFT_OK);
    }
    ck_assert_int_eq(sift_store_flush(st, &err), SIFT_OK);
    while ((rc = sift_store_next_failed(st, after, id_cb, &last, &err)) ==
           SIFT_OK) {
        ck_assert_int_gt(last, after);
        after = last;
        n++;
    }
    ck_assert_int_eq(rc, SIFT_ITEROVER);
    ck_assert_int_eq(n, 120);
    sift_store_close(st);
}
END_TEST

/* A failed input too large for memory is streamed into the store from
 * its temporary file, whole, up to the keep ceiling, on both backends
 * (PostgreSQL kept at most 64 MiB of it before; 70 MiB here), and read
 * back byte for byte; the same bytes again are kept once; over the
 * ceiling only path, reason and size. */
struct big_seen {
    int n;
    size_t len;
    int same;
    char reason[64];
    const unsigned char *want;
};

static int
big_cb(void *payload, int64_t id, const char *path, const char *reason,
       const void *raw, size_t len)
{
    struct big_seen *b = payload;

    (void)id;
    (void)path;
    b->n++;
    b->len = len;
    b->same = raw != NULL && memcmp(raw, b->want, len) == 0;
    snprintf(b->reason, sizeof(b->reason), "%s", reason);
    return 0;
}

START_TEST(test_big_failed_input_streamed_whole)
{
    const size_t len = (size_t)70 << 20;
    sift_store *st = open_ok(dbpath, 0);
    struct big_seen b;
    struct failed_one f;
    unsigned char *buf = malloc(len);
    sift_hash128 h, fp = {1, 2};
    char path[1100];
    FILE *fpf;
    size_t i;
    sift_err err;

    ck_assert_ptr_nonnull(buf);
    for (i = 0; i < len; i++)
        buf[i] = (unsigned char)(i * 31 ^ i >> 9);
    h = sift_hash128_of(buf, len);
    snprintf(path, sizeof(path), "%s/big.tmp", box);
    ck_assert_int_eq(spit(path, buf, len), 0);
    fpf = fopen(path, "rb");
    ck_assert_ptr_nonnull(fpf);
    sift_err_clear(&err);
    ck_assert_int_eq(sift_store_add_failed_file(st, "in/big.mbox#1", "too big",
                                                fpf, len, h, &fp, &err),
                     SIFT_OK);
    /* again: the row is found, nothing is sent */
    ck_assert_int_eq(sift_store_add_failed_file(st, "in/big.mbox#1",
                                                "still too big", fpf, len, h,
                                                NULL, &err),
                     SIFT_OK);
    /* over the ceiling: not kept (the file is not read) */
    ck_assert_int_eq(sift_store_add_failed_file(st, "in/huge.xml", "huge", fpf,
                                                SIFT_MAX_KEEP_CEILING + 1, h,
                                                NULL, &err),
                     SIFT_OK);
    fclose(fpf);
    ck_assert_int_eq(sift_store_flush(st, &err), SIFT_OK);
    sift_store_close(st);

    st = open_ok(dbpath, 0);
    memset(&b, 0, sizeof(b));
    b.want = buf;
    ck_assert_int_eq(sift_store_next_failed(st, 0, big_cb, &b, &err), SIFT_OK);
    ck_assert_int_eq(b.n, 1);
    ck_assert_uint_eq(b.len, len);
    ck_assert(b.same);
    ck_assert_str_eq(b.reason, "still too big");
    memset(&f, 0, sizeof(f));
    ck_assert_int_eq(sift_store_list_failed(st, list_cb, &f, &err), SIFT_OK);
    ck_assert_int_eq(f.n, 2);
    ck_assert_str_eq(f.path, "in/huge.xml");
    ck_assert_int_eq(f.kept, 0);
    ck_assert_uint_eq(f.size, SIFT_MAX_KEEP_CEILING + 1);
    /* its fingerprint was kept: the input resolves */
    ck_assert_int_eq(q_int(st, "SELECT count(*) FROM failed_inputs"
                               " WHERE fp IS NOT NULL"),
                     1);
    free(buf);
    sift_store_close(st);
}
END_TEST

/* Held work (retry-failed's one transaction per input): given up, none
 * of it remains; released, all of it. */
START_TEST(test_hold_gives_up_or_keeps_all)
{
    sift_store *st = open_ok(dbpath, 0);
    sift_stats s;
    sift_err err;

    sift_err_clear(&err);
    ck_assert_int_eq(sift_store_hold(st, 1, &err), SIFT_OK);
    ck_assert(sift_store_held(st));
    ck_assert_int_eq(store_synth(st, 1, &err), SIFT_OK);
    ck_assert_int_eq(sift_store_add_failed(st, "p", "r", "x", 1, NULL, &err),
                     SIFT_OK);
    /* a flush while held commits nothing */
    ck_assert_int_eq(sift_store_flush(st, &err), SIFT_OK);
    ck_assert_int_eq(sift_store_hold(st, -1, &err), SIFT_OK);
    ck_assert(!sift_store_held(st));
    ck_assert_int_eq(sift_store_stats(&s, st, &err), SIFT_OK);
    ck_assert_uint_eq(s.reports, 0);
    ck_assert_uint_eq(s.records, 0);
    ck_assert_uint_eq(s.failed_inputs, 0);
    ck_assert_int_eq(sift_store_hold(st, 1, &err), SIFT_OK);
    ck_assert_int_eq(store_synth(st, 1, &err), SIFT_OK);
    ck_assert_int_eq(sift_store_add_failed(st, "p", "r", "x", 1, NULL, &err),
                     SIFT_OK);
    ck_assert_int_eq(sift_store_hold(st, 0, &err), SIFT_OK);
    sift_store_close(st);
    st = open_ok(dbpath, SIFT_STORE_READONLY);
    ck_assert_int_eq(sift_store_stats(&s, st, &err), SIFT_OK);
    ck_assert_uint_eq(s.reports, 1);
    ck_assert_uint_eq(s.records, synth_nrec(1));
    ck_assert_uint_eq(s.failed_inputs, 1);
    sift_store_close(st);
}
END_TEST

/* A prune by another handle (PostgreSQL: it drops the month partitions
 * a writer stored into before): the writer's next report of that month
 * is stored all the same. */
START_TEST(test_prune_under_writer)
{
    sift_store *w = open_ok(dbpath, 0), *p = open_ok(dbpath, 0);
    uint64_t n = 0;
    sift_stats s;
    sift_err err;

    sift_err_clear(&err);
    ck_assert_int_eq(store_synth(w, 0, &err), SIFT_OK);
    ck_assert_int_eq(sift_store_flush(w, &err), SIFT_OK);
    ck_assert_int_eq(sift_store_prune(&n, NULL, p, INT64_C(1800000000), &err),
                     SIFT_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(store_synth(w, 1, &err), SIFT_OK);
    ck_assert_int_eq(sift_store_flush(w, &err), SIFT_OK);
    ck_assert_int_eq(sift_store_stats(&s, p, &err), SIFT_OK);
    ck_assert_uint_eq(s.reports, 1);
    ck_assert_uint_eq(s.records, synth_nrec(1));
    sift_store_close(w);
    sift_store_close(p);
}
END_TEST

/* --- typed reads (report/ and export) --------------------------------- */

struct reads {
    FILE *fp;
    int64_t first_report;
};

static int
reads_report(void *payload, const sift_report_row *r)
{
    struct reads *x = payload;

    if (x->first_report == 0)
        x->first_report = r->id;
    fprintf(x->fp, "report %lld %s|%s|%lld|%lld\n",
            (long long)(r->id - x->first_report), r->domain, r->org,
            (long long)r->begin, (long long)r->end);
    return 0;
}

static int
reads_scan(void *payload, const sift_scan_row *r)
{
    struct reads *x = payload;

    fprintf(x->fp, "scan %lld %s %llu %d %u %u %s %s %s\n",
            (long long)(r->report - x->first_report),
            r->source_ip ? r->source_ip : "-", (unsigned long long)r->count,
            r->outcome, r->flags, r->categories,
            r->header_from ? r->header_from : "-",
            r->spf_domain ? r->spf_domain : "-",
            r->dkim_domain ? r->dkim_domain : "-");
    return 0;
}

static int
reads_policy(void *payload, const sift_policy_row *r)
{
    struct reads *x = payload;

    fprintf(x->fp, "policy %s p=%s sp=%s pct=%d org=%s end=%lld\n", r->domain,
            r->p ? r->p : "-", r->sp ? r->sp : "-", r->pct, r->org,
            (long long)r->end);
    return 0;
}

static int
reads_export(void *payload, const sift_export_row *e)
{
    struct reads *x = payload;
    size_t i;

    fprintf(x->fp, "export %s|%s|%lld|%d|%s|%s|%llu|%d%d%d|%u|",
            e->meta->org_name, e->meta->report_id, (long long)e->meta->end,
            e->meta->pct, e->rec->source_ip,
            e->rec->envelope_from ? e->rec->envelope_from : "(null)",
            (unsigned long long)e->rec->count, e->dmarc_fail, e->outcome,
            e->would_reject, e->categories);
    for (i = 0; i < e->rec->n_dkim; i++)
        fprintf(x->fp, "[%s/%s/%s]", e->rec->dkim_results[i].domain,
                e->rec->dkim_results[i].selector,
                e->rec->dkim_results[i].result);
    for (i = 0; i < e->rec->n_spf; i++)
        fprintf(x->fp, "[%s/%s/%s]", e->rec->spf_results[i].domain,
                e->rec->spf_results[i].scope, e->rec->spf_results[i].result);
    fputc('\n', x->fp);
    return 0;
}

/* The same reports give the same rows, in the same order, from either
 * backend: the golden below is each backend's exact output. */
/* The DKIM selectors of a policy domain (resolve's key lookups): d= the
 * domain or under it in any case, a selector present and not empty, each
 * pair once, in order; a domain that only ends in its name, or that
 * appears only as a selector or a result comment, is not under it. */
static int
on_selector(void *payload, const char *d, const char *sel)
{
    char *b = payload;
    size_t n = strlen(b);

    snprintf(b + n, 512 - n, "%s%s/%s", n ? " " : "", d, sel);
    return 0;
}

/* sift_store_dns_selectors_many's cb: "i:d/selector" appended to the
 * log; returns stop_at's value at that call (0: never). */
struct many_log {
    char b[512];
    int calls, stop_at;
};

static int
on_many(void *payload, size_t i, const char *d, const char *sel)
{
    struct many_log *l = payload;
    size_t n = strlen(l->b);

    snprintf(l->b + n, sizeof(l->b) - n, "%s%zu:%s/%s", n ? " " : "", i, d,
             sel);
    return ++l->calls == l->stop_at ? 42 : 0;
}

START_TEST(test_dkim_selectors)
{
    sift_store *st = open_ok(dbpath, 0);
    sift_dkim_result dk[][3] = {
        {{"example.test", "s1024", "fail", NULL},
         {"News.Example.Test", "s2048", "fail", NULL},
         {"xexample.test", "zz", "fail", NULL}},
        {{"example.test", NULL, "none", NULL},
         {"example.test", "", "none", NULL},
         {"other.net", "example.test", "pass", "example.test"}},
        {{"EXAMPLE.test", "s1024", "pass", NULL},
         {"a.b.example.test", "Mixed", "pass", NULL},
         {NULL, "s9", "pass", NULL}},
    };
    char got[512];
    struct synth s;
    sift_err err;
    size_t j;

    sift_err_clear(&err);
    synth(&s, 1);
    ck_assert_int_eq(sift_store_begin(st, NULL, &s.m, "sel", &err), SIFT_OK);
    for (j = 0; j < 3; j++) {
        s.rec[j].dkim_results = dk[j];
        s.rec[j].n_dkim = 3;
        ck_assert_int_eq(sift_store_add(st, &s.rec[j], NULL, &err), SIFT_OK);
    }
    ck_assert_int_eq(sift_store_commit(st, &s.m, H(1), &err), SIFT_OK);
    ck_assert_int_eq(sift_store_flush(st, &err), SIFT_OK);
    got[0] = '\0';
    ck_assert_int_eq(sift_store_dns_selectors(st, "example.test", 10,
                                              on_selector, got, &err),
                     SIFT_OK);
    ck_assert_str_eq(got, "a.b.example.test/Mixed example.test/s1024 "
                          "news.example.test/s2048");
    got[0] = '\0';
    ck_assert_int_eq(
        sift_store_dns_selectors(st, "example.test", 2, on_selector, got, &err),
        SIFT_OK);
    ck_assert_str_eq(got, "a.b.example.test/Mixed example.test/s1024");
    got[0] = '\0';
    ck_assert_int_eq(sift_store_dns_selectors(st, "nowhere.test", 10,
                                              on_selector, got, &err),
                     SIFT_OK);
    ck_assert_str_eq(got, "");

    /* many domains in one pass: a d= under two of them goes to both, a
     * domain given twice gets its pairs twice, "" matches nothing, and
     * each domain stops at max (2), in the stream's (d, selector) order */
    {
        const char *const doms[] = {
            "news.example.test", "example.test", "",
            "other.net",         "nowhere.test", "example.test"};
        struct many_log l;

        memset(&l, 0, sizeof(l));
        ck_assert_int_eq(
            sift_store_dns_selectors_many(st, doms, 6, 2, on_many, &l, &err),
            SIFT_OK);
        ck_assert_str_eq(l.b, "1:a.b.example.test/Mixed "
                              "5:a.b.example.test/Mixed "
                              "1:example.test/s1024 5:example.test/s1024 "
                              "0:news.example.test/s2048 "
                              "3:other.net/example.test");
        /* cb's value stops the pass and is returned */
        memset(&l, 0, sizeof(l));
        l.stop_at = 2;
        ck_assert_int_eq(
            sift_store_dns_selectors_many(st, doms, 6, 2, on_many, &l, &err),
            42);
        ck_assert_str_eq(l.b, "1:a.b.example.test/Mixed "
                              "5:a.b.example.test/Mixed");
        memset(&l, 0, sizeof(l));
        ck_assert_int_eq(
            sift_store_dns_selectors_many(st, doms, 0, 2, on_many, &l, &err),
            SIFT_OK);
        ck_assert_int_eq(sift_store_dns_selectors_many(st, doms + 2, 1, 2,
                                                       on_many, &l, &err),
                         SIFT_OK);
        ck_assert_int_eq(l.calls, 0);
    }
    sift_store_close(st);
}
END_TEST

START_TEST(test_typed_reads)
{
    static const char golden[] =
        "report 0 example.org|Yahoo! Inc.|1700000000|1700086399\n"
        "report 1 example.com|google.com|1700086400|1700172799\n"
        "report 2 example.com|Yahoo! Inc.|1700172800|1700259199\n"
        "report 3 example.org|google.com|1700259200|1700345599\n"
        "scan 0 192.0.2.1 1 0 66560 0 example.com - -\n"
        "scan 1 192.0.2.1 1 0 66560 0 example.com - -\n"
        "scan 1 192.0.2.2 2 0 66560 0 example.com - -\n"
        "scan 2 192.0.2.1 1 0 66560 0 example.com - -\n"
        "scan 2 192.0.2.2 2 0 66560 0 example.com - -\n"
        "scan 2 192.0.2.3 3 0 66560 0 example.com - -\n"
        "scan 3 192.0.2.1 1 0 66560 0 example.com - -\n"
        "scan 3 192.0.2.2 2 0 66560 0 example.com - -\n"
        "scan 3 192.0.2.3 3 0 66560 0 example.com - -\n"
        "scan 3 192.0.2.4 4 0 66560 0 example.com - -\n"
        "policy example.com p=reject sp=- pct=100 org=Yahoo! Inc."
        " end=1700259199\n"
        "export google.com|r000001|1700172799|100|192.0.2.1|(null)|1|000|0|"
        "[example.com/s1/pass][esp.net/mfrom/pass]\n"
        "export google.com|r000001|1700172799|100|192.0.2.2|(null)|2|100|0|"
        "[example.com/s1/pass][esp.net/k/fail][esp.net/mfrom/pass]\n"
        "export Yahoo! Inc.|r000002|1700259199|100|192.0.2.1|(null)|1|000|0|"
        "[example.com/s1/pass][esp.net/mfrom/pass]\n"
        "export Yahoo! Inc.|r000002|1700259199|100|192.0.2.2|(null)|2|100|0|"
        "[example.com/s1/pass][esp.net/k/fail][esp.net/mfrom/pass]\n"
        "export Yahoo! Inc.|r000002|1700259199|100|192.0.2.3|(null)|3|000|0|"
        "[example.com/s1/pass][esp.net/mfrom/pass]\n";
    static const char *const doms[] = {"EXAMPLE.com"};
    sift_store_filter f = {doms, 1, NULL, 0, 0, 0, 0, 0};
    sift_store *st = open_ok(dbpath, 0);
    struct reads x = {NULL, 0};
    void *pl[1] = {&x};
    char *out = NULL;
    size_t len = 0;
    sift_err err;
    int i, used = 0;

    sift_err_clear(&err);
    for (i = 0; i < 4; i++)
        ck_assert_int_eq(store_synth(st, i, &err), SIFT_OK);
    sift_store_close(st);
    st = open_ok(dbpath, SIFT_STORE_READONLY);
    x.fp = open_memstream(&out, &len);
    ck_assert_ptr_nonnull(x.fp);
    ck_assert_int_eq(sift_store_read_reports(st, NULL, reads_report, &x, &err),
                     SIFT_OK);
    ck_assert_int_eq(
        sift_store_scan_records(st, 1, reads_scan, pl, &used, &err), SIFT_OK);
    ck_assert_int_eq(used, 1);
    ck_assert_int_eq(sift_store_read_policies(st, &f, reads_policy, &x, &err),
                     SIFT_OK);
    ck_assert_int_eq(sift_store_export_records(st, &f, reads_export, &x, &err),
                     SIFT_OK);
    fclose(x.fp);
    ck_assert_str_eq(out, golden);
    free(out);
    sift_store_close(st);
}
END_TEST

/* --- sift_store_query ------------------------------------------------- */

static int
sum_cb(void *payload, sift_row *row)
{
    int64_t *sum = payload;

    ck_assert_int_eq(sift_row_columns(row), 3);
    ck_assert(sift_row_is_null(row, 2));
    ck_assert_ptr_null(sift_row_text(row, 2));
    ck_assert(sift_row_double(row, 1) > 0.49 && sift_row_double(row, 1) < 0.51);
    *sum += sift_row_int(row, 0);
    return 0;
}

static int
stop_cb(void *payload, sift_row *row)
{
    (void)payload;
    (void)row;
    return 7;
}

START_TEST(test_query_binds_caches_and_refuses_writes)
{
    sift_store *st = open_ok(dbpath, 0);
    sift_param p[2];
    int64_t sum = 0;
    sift_err err;
    char sql[64];
    int i;

    sift_err_clear(&err);
    for (i = 0; i < 5; i++)
        ck_assert_int_eq(store_synth(st, i, &err), SIFT_OK);
    p[0] = (sift_param){.type = SIFT_P_INT, .i = 2};
    p[1] = (sift_param){.type = SIFT_P_NULL};
    for (i = 0; i < 1000; i++) /* cached: no re-prepare per call */
        ck_assert_int_eq(sift_store_query(st,
                                          "SELECT count(*), 0.5, ?2 FROM"
                                          " records WHERE count = ?1",
                                          p, 2, sum_cb, &sum, &err),
                         SIFT_OK);
    ck_assert_int_eq(sum, 1000 * 4); /* reports 1..4 have a count=2 row */
    /* more distinct statements than cache slots */
    for (i = 0; i < 40; i++) {
        snprintf(sql, sizeof(sql), "SELECT %d", i);
        ck_assert_int_eq(q_int(st, sql), i);
    }
    ck_assert_int_eq(sift_store_query(st, "SELECT 1 UNION SELECT 2", NULL, 0,
                                      stop_cb, NULL, &err),
                     7);
    ck_assert_int_eq(q_int(st, "SELECT bit_or(x) FROM (SELECT 1 AS x UNION"
                               " SELECT 4 UNION SELECT NULL) AS t"),
                     5);
    ck_assert_int_eq(q_int(st, SQL2("SELECT bit_or(1) FROM reports WHERE 0",
                                    "SELECT coalesce(bit_or(1), 0) FROM"
                                    " reports WHERE false")),
                     0);
    if (on_pg) {
        /* PostgreSQL runs a statement as given on a read-write handle
         * (sift_store.h); a statement at fault is SIFT_EUSAGE too, in
         * the server's words */
        ck_assert_int_eq(
            sift_store_query(st, "SELEC 1", NULL, 0, NULL, NULL, &err),
            SIFT_EUSAGE);
        ck_assert_str_eq(err.msg, "bad query: syntax error at or near "
                                  "\"SELEC\"");
        ck_assert_int_eq(sift_store_query(st, "SELECT 1; SELECT 2", NULL, 0,
                                          NULL, NULL, &err),
                         SIFT_EUSAGE);
        ck_assert_str_eq(err.msg, "bad query: cannot insert multiple "
                                  "commands into a prepared statement");
        ck_assert_msg(sift_store_query(st, "SELECT no_such FROM reports", NULL,
                                       0, NULL, NULL, &err) == SIFT_EUSAGE,
                      "%s", err.msg);
        ck_assert_str_eq(err.msg, "bad query: column \"no_such\" does not "
                                  "exist");
        /* and the writer's open batch lived through them */
        ck_assert_int_eq(q_int(st, "SELECT count(*) FROM reports"), 5);
        sift_store_close(st);
        st = open_ok(dbpath, SIFT_STORE_READONLY);
        ck_assert_int_eq(q_int(st, "SELECT count(*) FROM reports"), 5);
        sift_store_close(st);
        return;
    }
    ck_assert_int_eq(
        sift_store_query(st, "DELETE FROM reports", NULL, 0, NULL, NULL, &err),
        SIFT_EUSAGE);
    ck_assert_str_eq(err.msg, "bad query: not read-only");
    ck_assert_int_eq(sift_store_query(st, "SELECT 1; DELETE FROM reports", NULL,
                                      0, NULL, NULL, &err),
                     SIFT_EUSAGE);
    ck_assert_str_eq(err.msg, "bad query: more than one statement");
    ck_assert_int_eq(sift_store_query(st, "SELEC 1", NULL, 0, NULL, NULL, &err),
                     SIFT_EUSAGE);
    ck_assert_str_eq(err.msg, "bad query: near \"SELEC\": syntax error");
    ck_assert_int_eq(
        sift_store_query(st, "SELECT ?1", NULL, 0, NULL, NULL, &err),
        SIFT_EUSAGE);
    ck_assert_str_eq(err.msg, "bad query: 0 parameters given, 1 expected");
    ck_assert_int_eq(q_int(st, "SELECT count(*) FROM reports"), 5);
    ck_assert_str_eq(q_text(st, "PRAGMA integrity_check"), "ok");
    ck_assert_int_eq(q_int(st, "PRAGMA foreign_keys"), 1);
    sift_store_close(st);
}
END_TEST

struct reenter {
    sift_store *st;
    int depth, rows;
};

static int
reenter_cb(void *payload, sift_row *row)
{
    struct reenter *r = payload;
    sift_err err;

    (void)row;
    r->rows++;
    if (r->depth++ == 0)
        ck_assert_int_eq(sift_store_query(r->st, "SELECT 1 UNION SELECT 2",
                                          NULL, 0, reenter_cb, r, &err),
                         SIFT_OK);
    return 0;
}

START_TEST(test_query_reentrant_same_sql)
{
    sift_store *st = open_ok(dbpath, 0);
    struct reenter r = {st, 0, 0};
    sift_err err;

    ck_assert_int_eq(sift_store_query(st, "SELECT 1 UNION SELECT 2", NULL, 0,
                                      reenter_cb, &r, &err),
                     SIFT_OK);
    ck_assert_int_eq(r.rows, 4);
    sift_store_close(st);
}
END_TEST

/* --- IMAP state ------------------------------------------------------- */

struct uids {
    uint32_t u[16];
    int failed[16];
    size_t n;
};

static int
uids_cb(void *payload, uint32_t uid, int failed)
{
    struct uids *u = payload;

    ck_assert_uint_lt(u->n, 16);
    u->u[u->n] = uid;
    u->failed[u->n++] = failed;
    return 0;
}

START_TEST(test_imap_state)
{
    static const uint32_t a[] = {7, 3, 12};
    static const unsigned char fa[] = {0, 1, 0};
    static const uint32_t gone[] = {3, 99};
    sift_store *st = open_ok(dbpath, 0);
    int64_t id, id2, id3;
    struct uids u = {0};
    sift_err err;

    sift_err_clear(&err);
    ck_assert_int_eq(sift_store_imap_mailbox(st, &id, "mail.example.com:993",
                                             "dmarc", "INBOX", 5, &err),
                     SIFT_OK);
    ck_assert_int_eq(sift_store_imap_mailbox(st, &id2, "mail.example.com:993",
                                             "dmarc", "INBOX", 5, &err),
                     SIFT_OK);
    ck_assert_int_eq(id, id2); /* the same mailbox */
    ck_assert_int_eq(sift_store_imap_mailbox(st, &id3, "mail.example.com:993",
                                             "dmarc", "INBOX", 6, &err),
                     SIFT_OK);
    ck_assert_int_ne(id, id3); /* a new UIDVALIDITY: a new mailbox */
    /* inside a batch that is still open: joins it */
    ck_assert_int_eq(store_synth(st, 1, &err), SIFT_OK);
    ck_assert_int_eq(sift_store_imap_settle(st, id, a, fa, 3, &err), SIFT_OK);
    ck_assert_int_eq(sift_store_flush(st, &err), SIFT_OK);
    /* settling again is harmless */
    ck_assert_int_eq(sift_store_imap_settle(st, id, a, NULL, 1, &err), SIFT_OK);
    sift_store_close(st);
    st = open_ok(dbpath, 0);
    ck_assert_int_eq(sift_store_imap_each_settled(st, id, uids_cb, &u, &err),
                     SIFT_OK);
    ck_assert_uint_eq(u.n, 3);
    ck_assert_uint_eq(u.u[0], 3);
    ck_assert_int_eq(u.failed[0], 1);
    ck_assert_uint_eq(u.u[1], 7);
    ck_assert_int_eq(u.failed[1], 0);
    ck_assert_uint_eq(u.u[2], 12);
    ck_assert_int_eq(sift_store_imap_forget(st, id, gone, 2, &err), SIFT_OK);
    memset(&u, 0, sizeof(u));
    ck_assert_int_eq(sift_store_imap_each_settled(st, id, uids_cb, &u, &err),
                     SIFT_OK);
    ck_assert_uint_eq(u.n, 2);
    ck_assert_uint_eq(u.u[0], 7);
    memset(&u, 0, sizeof(u));
    ck_assert_int_eq(sift_store_imap_each_settled(st, id3, uids_cb, &u, &err),
                     SIFT_OK);
    ck_assert_uint_eq(u.n, 0);
    sift_store_close(st);
}
END_TEST

/* A database written by the schema before the IMAP step (its tables
 * dropped, user_version one lower) keeps its reports and gains them. */
START_TEST(test_imap_state_migration)
{
    char sql[400];
    sift_store *st = open_ok(dbpath, 0);
    int64_t id;
    sift_err err;

    sift_err_clear(&err);
    ck_assert_int_eq(store_synth(st, 1, &err), SIFT_OK);
    sift_store_close(st);
    snprintf(sql, sizeof(sql),
             "DROP TABLE imap_settled; DROP TABLE imap_mailboxes;"
             " DROP TABLE dns_ptr; DROP TABLE dns_published;"
             " DROP TABLE dns_dkim; ALTER TABLE reports DROP COLUMN"
             " eval_version; CREATE TABLE evaluation (id INTEGER PRIMARY KEY"
             " CHECK (id = 1), version INTEGER NOT NULL); INSERT INTO"
             " evaluation VALUES (1, 0); PRAGMA user_version = %d;",
             3); /* the IMAP step is 3 -> 4 */
    raw_sql(dbpath, sql);
    st = open_ok(dbpath, 0);
    ck_assert_int_eq(q_int(st, "PRAGMA user_version"), SIFT_STORE_SCHEMA);
    ck_assert_int_eq(q_int(st, "SELECT count(*) FROM reports"), 1);
    ck_assert_int_eq(q_int(st, "SELECT count(*) FROM imap_settled"), 0);
    ck_assert_int_eq(
        sift_store_imap_mailbox(st, &id, "h:993", "u", "INBOX", 1, &err),
        SIFT_OK);
    sift_store_close(st);
}
END_TEST

/* --- refusals --------------------------------------------------------- */

START_TEST(test_fresh_file_gets_schema)
{
    sift_store *st = open_ok(dbpath, 0);
    struct stat sb;
    char wal[1100];

    snprintf(wal, sizeof(wal), "%s-wal", dbpath);
    ck_assert_int_eq(q_int(st, "PRAGMA user_version"), SIFT_STORE_SCHEMA);
    ck_assert_int_eq(q_int(st, "PRAGMA application_id"), 0x53494654);
    ck_assert_int_eq(stat(wal, &sb), 0); /* journal_mode = WAL */
    ck_assert_int_eq(q_int(st, "PRAGMA auto_vacuum"), 2);
    ck_assert_int_eq(q_int(st, "SELECT count(*) FROM sqlite_master WHERE"
                               " type = 'table'"),
                     13); /* v3 (issue 12): evaluation; v4: imap_*; v6:
                            dns_ptr, dns_published, dns_dkim; v7: no
                            evaluation (a column of reports) */
    sift_store_close(st);
    st = open_ok(dbpath, SIFT_STORE_READONLY);
    ck_assert_int_eq(q_int(st, "SELECT count(*) FROM reports"), 0);
    sift_store_close(st);
}
END_TEST

START_TEST(test_older_schema_is_upgraded)
{
    sift_store *st;
    char msg[200];

    snprintf(msg, sizeof(msg),
             "database needs an upgrade from schema 0 to %d: open it"
             " once read-write",
             SIFT_STORE_SCHEMA);
    if (on_pg) {
        /* an empty database: read-only opens never create the schema */
        expect_open_fails(dbpath, SIFT_STORE_READONLY, msg);
        /* a failing step leaves the database as it was (one
         * transaction), other tables untouched */
        pgu_exec(dbpath, "CREATE TABLE notes (x integer);"
                         " INSERT INTO notes VALUES (1);"
                         " CREATE TABLE records (x integer)");
        expect_open_fails(dbpath, 0,
                          "schema upgrade: relation \"records\" already"
                          " exists");
        ck_assert_int_eq(pgu_int(dbpath, "SELECT to_regclass('sift_meta')"
                                         " IS NULL AND to_regclass('reports')"
                                         " IS NULL"),
                         1);
        pgu_exec(dbpath, "DROP TABLE records");
        st = open_ok(dbpath, 0);
        ck_assert_int_eq(q_int(st, "SELECT schema FROM sift_meta"),
                         SIFT_STORE_SCHEMA);
        ck_assert_int_eq(q_int(st, "SELECT count(*) FROM reports"), 0);
        ck_assert_int_eq(q_int(st, "SELECT x FROM notes"), 1);
        sift_store_close(st);
        return;
    }
    /* an "old" file: ours (application_id), schema 0, one leftover table
     * the migration must not disturb */
    raw_sql(dbpath, "PRAGMA application_id = 1397311060;"
                    "CREATE TABLE notes (x); INSERT INTO notes VALUES (1);");
    st = open_ok(dbpath, 0);
    ck_assert_int_eq(q_int(st, "PRAGMA user_version"), SIFT_STORE_SCHEMA);
    ck_assert_int_eq(q_int(st, "SELECT count(*) FROM reports"), 0);
    ck_assert_int_eq(q_int(st, "SELECT x FROM notes"), 1);
    sift_store_close(st);
    /* read-only opens never upgrade */
    raw_sql(dbpath, "PRAGMA user_version = 0; DROP TABLE reports;");
    expect_open_fails(dbpath, SIFT_STORE_READONLY, msg);
    /* a failing step leaves the file as it was (one transaction) */
    expect_open_fails(dbpath, 0,
                      "schema upgrade: table records already exists");
    ck_assert_int_eq(raw_int(dbpath, "SELECT count(*) FROM sqlite_master"
                                     " WHERE name = 'reports'"),
                     0);
    ck_assert_int_eq(raw_int(dbpath, "PRAGMA user_version"), 0);
}
END_TEST

START_TEST(test_newer_schema_refused)
{
    static const unsigned char next[4] = {0, 0, 0, SIFT_STORE_SCHEMA + 1};
    sift_store *st = open_ok(dbpath, 0);
    char msg[200], sql[64];

    sift_store_close(st);
    if (on_pg) {
        snprintf(sql, sizeof(sql), "UPDATE sift_meta SET schema = %d",
                 SIFT_STORE_SCHEMA + 1);
        pgu_exec(dbpath, sql);
    } else {
        patch(dbpath, 60, next, 4); /* header: user_version */
    }
    snprintf(msg, sizeof(msg),
             "database was created by a newer dmarcsift (schema %d,"
             " this build knows %d)",
             SIFT_STORE_SCHEMA + 1, SIFT_STORE_SCHEMA);
    expect_open_fails(dbpath, 0, msg);
    expect_open_fails(dbpath, SIFT_STORE_READONLY, msg);
}
END_TEST

START_TEST(test_foreign_database_refused)
{
    static const unsigned char other[4] = {0x12, 0x34, 0x56, 0x78};
    char path2[600];
    sift_store *st;

    if (on_pg) {
        /* PostgreSQL: a database with other tables may hold ours (a
         * shared database); one with a `reports` table of another
         * program, or another program's sift_meta, is refused */
        pgu_exec(dbpath, "CREATE TABLE reports (id bigint)");
        expect_open_fails(dbpath, 0, "not a dmarcsift database");
        expect_open_fails(dbpath, SIFT_STORE_READONLY,
                          "not a dmarcsift database");
        pgu_exec(dbpath, "DROP TABLE reports");
        sift_store_close(open_ok(dbpath, 0));
        pgu_exec(dbpath, "UPDATE sift_meta SET application = 'other'");
        expect_open_fails(dbpath, 0, "not a dmarcsift database");
        return;
    }
    raw_sql(dbpath, "CREATE TABLE messages (id INTEGER PRIMARY KEY);");
    expect_open_fails(dbpath, 0, "not a dmarcsift database");
    expect_open_fails(dbpath, SIFT_STORE_READONLY, "not a dmarcsift database");
    /* ours except for the application_id */
    snprintf(path2, sizeof(path2), "%s/other.db", box);
    st = open_ok(path2, 0);
    sift_store_close(st);
    patch(path2, 68, other, 4);
    expect_open_fails(path2, 0, "not a dmarcsift database");
}
END_TEST

START_TEST(test_non_sqlite_file_refused)
{
    char junk[8192];

    memset(junk, 'A', sizeof(junk));
    memcpy(junk, "From: someone\n", 14);
    ck_assert_int_eq(spit(dbpath, junk, sizeof(junk)), 0);
    expect_open_fails(dbpath, 0,
                      "not a dmarcsift database (file is not a database)");
    expect_open_fails(dbpath, SIFT_STORE_READONLY,
                      "not a dmarcsift database (file is not a database)");
}
END_TEST

/* What this proves: a READONLY handle can read but every write path
 * fails with the read-only message (the database enforces it, not us). */
START_TEST(test_readonly_handle_refuses_writes)
{
    sift_store *st = open_ok(dbpath, 0);
    struct synth s;
    sift_stats x;
    uint64_t n = 0;
    sift_err err;

    sift_err_clear(&err);
    ck_assert_int_eq(store_synth(st, 1, &err), SIFT_OK);
    sift_store_close(st);

    st = open_ok(dbpath, SIFT_STORE_READONLY);
    ck_assert(sift_store_is_readonly(st));
    ck_assert_int_eq(q_int(st, "SELECT count(*) FROM reports"), 1);
    synth(&s, 2);
    ck_assert_int_eq(sift_store_begin(st, NULL, &s.m, "x", &err), SIFT_EDB);
    ck_assert_str_eq(err.msg, "database is read-only");
    ck_assert_str_eq(err.where, dbpath);
    sift_err_clear(&err);
    ck_assert_int_eq(sift_store_add_failed(st, "p", "r", "x", 1, NULL, &err),
                     SIFT_EDB);
    ck_assert_str_eq(err.msg, "database is read-only");
    sift_err_clear(&err);
    ck_assert_int_eq(sift_store_prune(&n, NULL, st, INT64_C(1800000000), &err),
                     SIFT_EDB);
    ck_assert_str_eq(err.msg, "database is read-only");
    /* and reading goes on */
    sift_err_clear(&err);
    ck_assert_int_eq(sift_store_stats(&x, st, &err), SIFT_OK);
    ck_assert_uint_eq(x.reports, 1);
    sift_store_close(st);
}
END_TEST

/* The file-level refusals: permissions, a read-only directory, missing
 * files (SQLite). */
START_TEST(test_readonly_file_refuses_writes)
{
    sift_store *st = open_ok(dbpath, 0);
    sift_err err;
    char missing[600];

    sift_err_clear(&err);
    ck_assert_int_eq(store_synth(st, 1, &err), SIFT_OK);
    sift_store_close(st);

    /* chmod 0444 only stops writes for non-root users: as root, check it
     * in a child that drops to uid/gid 65534 (nobody). */
    ck_assert_int_eq(chmod(dbpath, 0444), 0);
    if (geteuid() != 0) {
        expect_open_fails(dbpath, 0, "database is read-only");
    } else {
        pid_t pid;
        int status;

        char dir[600], indir[700];

        /* a writable file in a read-only directory: WAL needs -shm */
        snprintf(dir, sizeof(dir), "%s/rodir", box);
        snprintf(indir, sizeof(indir), "%s/x.db", dir);
        ck_assert_int_eq(mkdir(dir, 0755), 0);
        sift_store_close(open_ok(indir, 0));
        ck_assert_int_eq(chmod(indir, 0666), 0);
        ck_assert_int_eq(chmod(dir, 0555), 0);
        ck_assert_int_eq(chmod(box, 0755), 0);
        if ((pid = fork()) == 0) {
            static const char dirmsg[] =
                "database is read-only (its directory is not writable)";
            sift_store *ro = NULL;

            sift_err_clear(&err);
            if (setgid(65534) != 0 || setuid(65534) != 0)
                _exit(3);
            if (sift_store_open(&ro, dbpath, 0, &err) != SIFT_EDB ||
                strcmp(err.msg, "database is read-only") != 0)
                _exit(4);
            sift_err_clear(&err);
            if (sift_store_open(&ro, indir, 0, &err) != SIFT_EDB ||
                strcmp(err.msg, dirmsg) != 0)
                _exit(5);
            /* reading still works: the store reopens it immutable */
            sift_err_clear(&err);
            if (sift_store_open(&ro, indir, SIFT_STORE_READONLY, &err) !=
                SIFT_OK)
                _exit(6);
            sift_store_close(ro);
            _exit(0);
        }
        ck_assert_int_gt(pid, 0);
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert(WIFEXITED(status));
        ck_assert_int_eq(WEXITSTATUS(status), 0);
        ck_assert_int_eq(chmod(dir, 0755), 0); /* for rm_rf */
    }
    ck_assert_int_eq(chmod(dbpath, 0644), 0);

    snprintf(missing, sizeof(missing), "%s/missing.db", box);
    expect_open_fails(missing, SIFT_STORE_READONLY,
                      "cannot open database: unable to open database file");
    expect_open_fails(box, 0,
                      "cannot open database: unable to open database file");
}
END_TEST

START_TEST(test_corrupt_database_detected)
{
    sift_store *st = open_ok(dbpath, 0);
    sift_stats x;
    sift_err err;
    struct stat sb;
    char *junk;
    long pages;
    int i, rc;

    sift_err_clear(&err);
    for (i = 0; i < 300; i++)
        ck_assert_int_eq(store_synth(st, i, &err), SIFT_OK);
    sift_store_close(st);
    ck_assert_int_eq(stat(dbpath, &sb), 0);
    pages = sb.st_size / 4096;
    ck_assert_int_gt(pages, 8);
    /* garbage over every page but the first (the schema) */
    junk = malloc(4096);
    ck_assert_ptr_nonnull(junk);
    for (i = 0; i < 4096; i++)
        junk[i] = (char)(i * 7 + 3);
    for (i = 1; i < pages; i++)
        patch(dbpath, (long)i * 4096, junk, 4096);
    free(junk);

    sift_err_clear(&err);
    st = NULL;
    rc = sift_store_open(&st, dbpath, 0, &err);
    if (rc == SIFT_OK)
        rc = sift_store_stats(&x, st, &err);
    ck_assert_int_eq(rc, SIFT_EDB);
    ck_assert_str_eq(err.msg, "database is corrupt");
    ck_assert_str_eq(err.where, dbpath);
    sift_store_close(st);

    /* garbage over the header page as well */
    junk = calloc(1, 100);
    ck_assert_ptr_nonnull(junk);
    memset(junk, 0x5a, 100);
    patch(dbpath, 0, junk, 100);
    free(junk);
    expect_open_fails(dbpath, 0,
                      "not a dmarcsift database (file is not a database)");
}
END_TEST

START_TEST(test_busy_writer_gets_locked_message)
{
    sift_store *a = open_ok(dbpath, 0), *b = open_ok(dbpath, 0);
    struct synth s;
    sift_err err;

    sift_err_clear(&err);
    synth(&s, 1);
    ck_assert_int_eq(sift_store_begin(a, NULL, &s.m, "a", &err), SIFT_OK);
    ck_assert_int_eq(sift_store_set_busy_timeout(b, 100, &err), SIFT_OK);
    synth(&s, 2);
    ck_assert_int_eq(sift_store_begin(b, NULL, &s.m, "b", &err), SIFT_EDB);
    ck_assert_str_eq(err.msg, "database is locked by another process");
    ck_assert_str_eq(err.where, dbpath);
    /* readers are not blocked by the writer (WAL; PostgreSQL: MVCC) */
    ck_assert_int_eq(q_int(b, "SELECT count(*) FROM reports"), 0);
    sift_store_rollback(a);
    ck_assert_int_eq(sift_store_flush(a, &err), SIFT_OK);
    ck_assert_int_eq(store_synth(b, 2, &err), SIFT_OK);
    sift_store_close(a);
    sift_store_close(b);
}
END_TEST

START_TEST(test_disk_full_keeps_whole_reports)
{
    sift_store *st = open_ok(dbpath, 0);
    sift_err err;
    int i, rc = SIFT_OK, ok = 0;

    sift_err_clear(&err);
    /* a ceiling on the file size stands in for a full disk */
    ck_assert_int_eq(sift_store_query(st, "PRAGMA max_page_count = 60", NULL, 0,
                                      NULL, NULL, &err),
                     SIFT_OK);
    for (i = 0; i < 5000 && rc == SIFT_OK; i++) {
        rc = store_synth(st, i, &err);
        if (rc == SIFT_OK && (rc = sift_store_flush(st, &err)) == SIFT_OK)
            ok++;
    }
    ck_assert_int_eq(rc, SIFT_EDB);
    ck_assert_str_eq(err.msg, "disk full");
    ck_assert_str_eq(err.where, dbpath);
    ck_assert_int_gt(ok, 10);
    sift_store_close(st);
    st = open_ok(dbpath, 0);
    ck_assert_int_eq(q_int(st, "SELECT count(*) FROM reports"), ok);
    ck_assert_int_eq(count_half_stored(st), 0);
    ck_assert_str_eq(q_text(st, "PRAGMA integrity_check"), "ok");
    sift_store_close(st);
}
END_TEST

START_TEST(test_huge_warning_list_is_capped)
{
    sift_store *st = open_ok(dbpath, 0);
    sift_report_meta m = {.report_id = "w", .begin = 1, .end = 2};
    const char **w;
    sift_err err;
    size_t i, n = 200000;

    sift_err_clear(&err);
    w = malloc(n * sizeof(*w));
    ck_assert_ptr_nonnull(w);
    for (i = 0; i < n; i++)
        w[i] = "unknown value 'xyz' in <disposition>";
    m.warnings = w;
    m.n_warnings = n;
    ck_assert_int_eq(sift_store_begin(st, NULL, &m, "x", &err), SIFT_OK);
    ck_assert_int_eq(sift_store_commit(st, &m, H(0), &err), SIFT_OK);
    ck_assert_int_le(q_int(st, "SELECT length(warnings) FROM reports"),
                     1 << 20);
    ck_assert_int_eq(q_int(st, SQL2("SELECT json_valid(warnings) FROM reports",
                                    "SELECT json_typeof(warnings::json) ="
                                    " 'array' FROM reports")),
                     1);
    ck_assert_str_eq(q_text(st, SQL2("SELECT value FROM reports,"
                                     " json_each(reports.warnings)"
                                     " ORDER BY key DESC LIMIT 1",
                                     "SELECT warnings::json ->>"
                                     " (json_array_length(warnings::json)"
                                     " - 1) FROM reports")),
                     "(173116 more not stored)");
    free(w);
    sift_store_close(st);
}
END_TEST

/* --- faults: SIGKILL mid-run, two writers ----------------------------- */

#define KILL_REPORTS 20000

/* Child body: store reports [from, to), exit 0 when all were OK or
 * EDUP. _exit: no Check or sanitizer teardown in the child. */
static void
child_store(const char *path, int from, int to, int ready_fd)
{
    sift_store *st = NULL;
    sift_err err;
    int i, rc, bad = 0;

    sift_err_clear(&err);
    if (sift_store_open(&st, path, 0, &err) != SIFT_OK) {
        fprintf(stderr, "child open: %s\n", err.msg);
        _exit(2);
    }
    if (ready_fd >= 0 && write(ready_fd, "r", 1) != 1)
        _exit(3);
    for (i = from; i < to; i++) {
        rc = store_synth(st, i, &err);
        if (rc != SIFT_OK && rc != SIFT_EDUP) {
            fprintf(stderr, "child %d: %s\n", i, err.msg);
            bad = 1;
            break;
        }
    }
    if (sift_store_flush(st, &err) != SIFT_OK)
        bad = 1;
    sift_store_close(st);
    _exit(bad);
}

START_TEST(test_sigkill_leaves_whole_reports)
{
    static const int delays_ms[] = {50, 150, 400, 900};
    sift_store *st;
    sift_err err;
    int64_t before;
    int status, i, rc, stored;
    pid_t pid;

    sift_err_clear(&err);
    st = open_ok(dbpath, 0); /* created before the children start */
    sift_store_close(st);
    for (size_t k = 0; k < sizeof(delays_ms) / sizeof(delays_ms[0]); k++) {
        struct timespec ts = {0, delays_ms[k] * 1000000L};

        int fds[2];
        char c;

        ck_assert_int_eq(pipe(fds), 0);
        if ((pid = fork()) == 0) {
            close(fds[0]);
            child_store(dbpath, 0, KILL_REPORTS, fds[1]);
        }
        ck_assert_int_gt(pid, 0);
        close(fds[1]);
        /* time from the moment the child starts storing */
        ck_assert_int_eq(read(fds[0], &c, 1), 1);
        close(fds[0]);
        nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);

        st = open_ok(dbpath, 0);
        if (!on_pg) {
            ck_assert_str_eq(q_text(st, "PRAGMA integrity_check"), "ok");
            ck_assert_int_eq(
                q_int(st, "SELECT count(*) FROM pragma_foreign_key_check"), 0);
        }
        ck_assert_int_eq(count_half_stored(st), 0);
        before = q_int(st, "SELECT count(*) FROM reports");
        printf("check_store: SIGKILL after %d ms: %lld of %d reports"
               " stored%s\n",
               delays_ms[k], (long long)before, KILL_REPORTS,
               WIFSIGNALED(status) ? "" : " (child finished first)");
        sift_store_close(st);
    }
    /* the next run completes the job: totals equal one clean run */
    st = open_ok(dbpath, 0);
    stored = 0;
    for (i = 0; i < KILL_REPORTS; i++) {
        rc = store_synth(st, i, &err);
        ck_assert_msg(rc == SIFT_OK || rc == SIFT_EDUP, "%d: %s", i, err.msg);
        stored += rc == SIFT_OK;
    }
    ck_assert_int_eq(sift_store_flush(st, &err), SIFT_OK);
    ck_assert_int_eq(q_int(st, "SELECT count(*) FROM reports"), KILL_REPORTS);
    ck_assert_int_eq(q_int(st, "SELECT count(*) FROM records"),
                     (int64_t)synth_records(0, KILL_REPORTS));
    ck_assert_int_eq(q_int(st, "SELECT count(*) FROM spf_results"),
                     (int64_t)synth_records(0, KILL_REPORTS));
    ck_assert_int_eq(count_half_stored(st), 0);
    ck_assert_int_lt(stored, KILL_REPORTS); /* the children did store */
    sift_store_close(st);
}
END_TEST

START_TEST(test_two_writers_store_each_report_once)
{
    sift_store *st;
    pid_t a, b;
    int sa, sb;

    st = open_ok(dbpath, 0);
    sift_store_close(st);
    if ((a = fork()) == 0)
        child_store(dbpath, 0, 1200, -1);
    if ((b = fork()) == 0)
        child_store(dbpath, 600, 1800, -1);
    ck_assert_int_gt(a, 0);
    ck_assert_int_gt(b, 0);
    ck_assert_int_eq(waitpid(a, &sa, 0), a);
    ck_assert_int_eq(waitpid(b, &sb, 0), b);
    ck_assert(WIFEXITED(sa) && WEXITSTATUS(sa) == 0);
    ck_assert(WIFEXITED(sb) && WEXITSTATUS(sb) == 0);
    st = open_ok(dbpath, 0);
    ck_assert_int_eq(q_int(st, "SELECT count(*) FROM reports"), 1800);
    ck_assert_int_eq(q_int(st, "SELECT count(*) FROM records"),
                     (int64_t)synth_records(0, 1800));
    ck_assert_int_eq(count_half_stored(st), 0);
    if (!on_pg)
        ck_assert_str_eq(q_text(st, "PRAGMA integrity_check"), "ok");
    sift_store_close(st);
}
END_TEST

START_TEST(test_concurrent_first_open_creates_once)
{
    pid_t pids[3];
    int s, i;
    sift_store *st;

    for (i = 0; i < 3; i++) {
        if ((pids[i] = fork()) == 0)
            child_store(dbpath, i * 10, i * 10 + 20, -1);
        ck_assert_int_gt(pids[i], 0);
    }
    for (i = 0; i < 3; i++) {
        ck_assert_int_eq(waitpid(pids[i], &s, 0), pids[i]);
        ck_assert(WIFEXITED(s) && WEXITSTATUS(s) == 0);
    }
    st = open_ok(dbpath, 0);
    ck_assert_int_eq(q_int(st, "SELECT count(*) FROM reports"), 40);
    sift_store_close(st);
}
END_TEST

/* The cases that run on both backends, then (SQLite) the file-level
 * ones. */
static Suite *
store_suite(void)
{
    Suite *s = suite_create(on_pg ? "store-pg" : "store");
    TCase *tc;

    tc = tcase_create("write");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_every_field_round_trips);
    tcase_add_test(tc, test_absent_fields_are_null);
    tcase_add_test(tc, test_duplicate_is_edup_with_hash);
    tcase_add_test(tc, test_second_run_stores_nothing_new);
    tcase_add_test(tc, test_rollback_leaves_nothing);
    tcase_add_test(tc, test_hostile_strings_stored_verbatim);
    tcase_add_test(tc, test_hold_gives_up_or_keeps_all);
    suite_add_tcase(s, tc);

    tc = tcase_create("maintenance");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_stats_counts_everything);
    tcase_add_test(tc, test_stats_saturates);
    tcase_add_test(tc, test_prune_cascades);
    tcase_add_test(tc, test_prune_under_writer);
    tcase_add_test(tc, test_seen_inputs_follow_their_report);
    tcase_add_test(tc, test_questions_answered_later);
    tcase_add_test(tc, test_failed_inputs_kept_once);
    tcase_add_test(tc, test_failed_inputs_listed_and_resolved);
    tcase_add_test(tc, test_big_failed_input_streamed_whole);
    tcase_add_test(tc, test_failed_inputs_walked_in_id_order);
    suite_add_tcase(s, tc);

    tc = tcase_create("read");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_typed_reads);
    tcase_add_test(tc, test_dkim_selectors);
    tcase_add_test(tc, test_query_binds_caches_and_refuses_writes);
    tcase_add_test(tc, test_query_reentrant_same_sql);
    tcase_add_test(tc, test_imap_state);
    suite_add_tcase(s, tc);

    tc = tcase_create("open");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_older_schema_is_upgraded);
    tcase_add_test(tc, test_newer_schema_refused);
    tcase_add_test(tc, test_foreign_database_refused);
    tcase_add_test(tc, test_readonly_handle_refuses_writes);
    tcase_add_test(tc, test_busy_writer_gets_locked_message);
    tcase_add_test(tc, test_huge_warning_list_is_capped);
    suite_add_tcase(s, tc);

    tc = tcase_create("faults");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_sigkill_leaves_whole_reports);
    tcase_add_test(tc, test_two_writers_store_each_report_once);
    tcase_add_test(tc, test_concurrent_first_open_creates_once);
    suite_add_tcase(s, tc);

    if (on_pg)
        return s;
    tc = tcase_create("sqlite");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_fresh_file_gets_schema);
    tcase_add_test(tc, test_imap_state_migration);
    tcase_add_test(tc, test_non_sqlite_file_refused);
    tcase_add_test(tc, test_readonly_file_refuses_writes);
    tcase_add_test(tc, test_corrupt_database_detected);
    tcase_add_test(tc, test_disk_full_keeps_whole_reports);
    suite_add_tcase(s, tc);
    return s;
}

/* check_store: SQLite; check_store pg: PostgreSQL ($SIFT_TEST_PG; exit
 * 77 without it). */
int
main(int argc, char **argv)
{
    SRunner *sr;
    int failed;

    if (argc > 1 && strcmp(argv[1], "pg") == 0) {
        on_pg = 1;
        server = getenv("SIFT_TEST_PG");
        if (server == NULL || server[0] == '\0' ||
            strrchr(server, '/') == NULL) {
            printf("check_store pg: SKIPPED: no $SIFT_TEST_PG (start a"
                   " server with scripts/pg-cluster.sh)\n");
            return 77;
        }
    }
    sr = srunner_create(store_suite());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
