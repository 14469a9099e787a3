/* check_pg.c -- the PostgreSQL backend against a real server (issue 14).
 *
 * $SIFT_TEST_PG is the URI of a database on a throwaway server whose user
 * may create databases (scripts/pg-cluster.sh starts one; its password
 * comes from PGPASSFILE); each case works in a fresh database. Without it
 * the suite is skipped (exit 77). $SIFT_TEST_PG_DIR (the cluster's
 * directory) enables the server-restart case.
 *
 * The store cases that do not depend on the backend run on both from
 * check_store (`check_store pg`); this suite keeps what is PostgreSQL's
 * own: partitions, connection errors, many processes and hosts, a
 * SIGKILL and a server restart, and the two backends side by side. */
#include <check.h>
#include <libpq-fe.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sift_store.h"
#include "pg_int.h" /* SIFT_PG_SCHEMA_LOCK, sift_store__upgrade_wait_ms */
#include "sift_util.h"
#include "pgutil.h"
#include "testutil.h"
#include "importutil.h"

static const char *server; /* $SIFT_TEST_PG */
static char *box;
static char dburi[1024]; /* this case's fresh database */
static char dbname[64];
static int ndb;

static void
admin(const char *sql)
{
    pgu_exec(server, sql);
}

static void
setup(void)
{
    char sql[128];

    box = sandbox();
    ck_assert_ptr_nonnull(box);
    snprintf(dbname, sizeof(dbname), "sift_ck_%d_%d", (int)getpid(), ++ndb);
    /* left by an earlier run killed before its teardown, whose pid this
     * one has again (seen on a long-lived test server) */
    snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)",
             dbname);
    admin(sql);
    snprintf(sql, sizeof(sql), "CREATE DATABASE %s", dbname);
    admin(sql);
    pgu_uri(dburi, sizeof(dburi), server, dbname);
}

static void
teardown(void)
{
    char sql[128];

    snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)",
             dbname);
    admin(sql);
    rm_rf(box);
    free(box);
    box = NULL;
}

/* The database of backend b (0 SQLite, 1 PostgreSQL) for this case. */
static const char *
db_of(int b)
{
    static char path[600];

    if (b == 1)
        return dburi;
    snprintf(path, sizeof(path), "%s/sift.db", box);
    return path;
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

struct one {
    int64_t v;
    int rows;
};

static int
one_cb(void *payload, sift_row *row)
{
    struct one *o = payload;

    o->v = sift_row_int(row, 0);
    o->rows++;
    return 0;
}

/* One integer from SQL both backends understand. */
static int64_t
q_int(sift_store *st, const char *sql)
{
    struct one o = {0, 0};
    sift_err err;

    sift_err_clear(&err);
    ck_assert_msg(sift_store_query(st, sql, NULL, 0, one_cb, &o, &err) ==
                      SIFT_OK,
                  "%s: %s", sql, err.msg);
    ck_assert_int_eq(o.rows, 1);
    return o.v;
}

/* The evaluation versions of the reports in f as "V:REPORTS:RECORDS ..."
 * (static buffer). */
static int
on_version(void *payload, int version, uint64_t reports, uint64_t records)
{
    char *b = payload;
    size_t n = strlen(b);

    snprintf(b + n, 256 - n, "%s%d:%llu:%llu", n ? " " : "", version,
             (unsigned long long)reports, (unsigned long long)records);
    return 0;
}

static const char *
versions_of(sift_store *st, const sift_store_filter *f)
{
    static char b[256];
    sift_err err;

    b[0] = '\0';
    sift_err_clear(&err);
    ck_assert_msg(sift_store_eval_versions(st, f, on_version, b, &err) ==
                      SIFT_OK,
                  "eval versions: %s", err.msg);
    return b;
}

/* --- synthetic reports -----------------------------------------------------
 */

#define MAXREC 6
struct synth {
    sift_report_meta m;
    char rid[32], ip[MAXREC][32];
    sift_record rec[MAXREC];
    sift_dkim_result dk[MAXREC];
    sift_spf_result sp[MAXREC];
    sift_reason rs[MAXREC];
    size_t n;
};

static void
synth(struct synth *s, int i)
{
    size_t j;

    memset(s, 0, sizeof(*s));
    snprintf(s->rid, sizeof(s->rid), "r%04d", i);
    s->m.org_name = i % 2 ? "google.com" : "Yahoo! Inc.";
    s->m.report_id = s->rid;
    s->m.domain = i % 3 ? "example.com" : "example.org";
    /* one report a week from 2023-11-14: several months */
    s->m.begin = 1700000000 + (int64_t)i * 7 * 86400;
    s->m.end = s->m.begin + 86399;
    s->m.p = "reject";
    s->m.pct = i % 4 ? 100 : -1;
    s->n = 1 + (size_t)(i % MAXREC);
    for (j = 0; j < s->n; j++) {
        snprintf(s->ip[j], sizeof(s->ip[j]), "192.0.2.%zu", j + 1);
        s->dk[j] = (sift_dkim_result){"example.com", "s1", "pass", NULL};
        s->sp[j] = (sift_spf_result){"esp.net", "mfrom", "pass", "a\tb\\c"};
        s->rs[j] = (sift_reason){"forwarded", "arc=pass; tab\there"};
        s->rec[j] = (sift_record){.line = 10 + j,
                                  .source_ip = s->ip[j],
                                  .count = (uint64_t)(j + 1) * 10,
                                  .disposition = "none",
                                  .dkim = "pass",
                                  .spf = j % 2 ? "fail" : "pass",
                                  .header_from = "example.com",
                                  .envelope_from = j % 3 ? "esp.net" : NULL,
                                  .dkim_results = &s->dk[j],
                                  .n_dkim = 1,
                                  .spf_results = &s->sp[j],
                                  .n_spf = 1,
                                  .reasons = &s->rs[j],
                                  .n_reasons = j % 2};
    }
}

static int
store_synth(sift_store *st, int i, sift_stored *dup, sift_err *err)
{
    struct synth s;
    sift_verdict v = {0};
    sift_hash128 h = {0, (uint64_t)i + 1};
    size_t j;
    int rc;

    synth(&s, i);
    if ((rc = sift_store_begin(st, dup, &s.m, "synthetic", err)) != SIFT_OK)
        return rc;
    for (j = 0; j < s.n; j++) {
        v.dmarc_fail = (int)(j % 2);
        v.outcome = j % 2 ? SIFT_OUT_WOULD_REJECT : SIFT_OUT_PASS;
        v.categories = 1u << j;
        if ((rc = sift_store_add(st, &s.rec[j], &v, err)) != SIFT_OK) {
            sift_store_rollback(st);
            return rc;
        }
    }
    return sift_store_commit(st, &s.m, h, err);
}

/* --- partitions ------------------------------------------------------------
 */

/* The partitions (records and child tables) of month yyyymm exist? */
static int64_t
months_of(sift_store *st, const char *like)
{
    sift_param p = {.type = SIFT_P_TEXT, .s = like};
    struct one o = {0, 0};
    sift_err err;

    sift_err_clear(&err);
    ck_assert_int_eq(sift_store_query(st,
                                      "SELECT count(*) FROM pg_class"
                                      " WHERE relname LIKE ?1"
                                      " AND relkind = 'r'",
                                      &p, 1, one_cb, &o, &err),
                     SIFT_OK);
    return o.v;
}

/* Weekly reports over 7 months: each month gets its partitions; prune
 * drops the partitions of whole months before its date (and deletes the
 * rest of the boundary month row by row, with their seen inputs); a
 * report of a dropped month is stored again afterwards. (The store's
 * behaviour on both backends is check_store's; this is how PostgreSQL
 * lays it out.) */
START_TEST(test_prune_drops_partitions)
{
    sift_store *st = open_ok(dburi, 0);
    struct synth x;
    uint64_t n = 0;
    sift_stats s;
    sift_err err;
    int i;

    sift_err_clear(&err);
    for (i = 0; i < 30; i++)
        ck_assert_int_eq(store_synth(st, i, NULL, &err), SIFT_OK);
    synth(&x, 12);
    ck_assert_int_eq(
        sift_store_note_seen(st, (sift_hash128){1, 2}, 500, &x.m, 0, &err),
        SIFT_OK);
    ck_assert_int_eq(sift_store_flush(st, &err), SIFT_OK);
    /* 2023-11 .. 2024-06: 8 months, 3 tables each (records, reasons,
     * record_packs) */
    ck_assert_int_eq(months_of(st, "%\\_p2023%"), 2 * 3);
    ck_assert_int_eq(months_of(st, "%\\_p2024%"), 6 * 3);
    ck_assert_int_eq(months_of(st, "records\\_p202311"), 1);
    /* reports 0..12 end before 2024-02-13 (report 13 begins then):
     * 2023-11, 2023-12 and 2024-01 go whole, February row by row */
    ck_assert_int_eq(
        sift_store_prune(&n, NULL, st, 1700000000 + 13 * 7 * 86400, &err),
        SIFT_OK);
    ck_assert_uint_eq(n, 13);
    ck_assert_int_eq(months_of(st, "%\\_p2023%"), 0);
    ck_assert_int_eq(months_of(st, "%\\_p202401"), 0);
    ck_assert_int_eq(months_of(st, "%\\_p202402"), 3);
    ck_assert_int_eq(sift_store_stats(&s, st, &err), SIFT_OK);
    ck_assert_uint_eq(s.reports, 17);
    ck_assert_int_eq(q_int(st, "SELECT count(*) FROM records"),
                     (int64_t)s.records);
    ck_assert_int_eq(q_int(st, "SELECT count(*) FROM seen_inputs"), 0);
    ck_assert_int_eq(q_int(st, "SELECT count(*) FROM records WHERE"
                               " date_end < 1700000000 + 13 * 7 * 86400"),
                     0);
    /* a dropped month comes back */
    ck_assert_int_eq(store_synth(st, 0, NULL, &err), SIFT_OK);
    ck_assert_int_eq(sift_store_flush(st, &err), SIFT_OK);
    ck_assert_int_eq(months_of(st, "records\\_p202311"), 1);
    ck_assert_int_eq(sift_store_stats(&s, st, &err), SIFT_OK);
    ck_assert_uint_eq(s.reports, 18);
    ck_assert_int_eq(q_int(st, "SELECT count(*) FROM records"),
                     (int64_t)s.records);
    sift_store_close(st);
}
END_TEST

/* --- core store cases, both backends (moving to check_store) ---------------
 */

struct pairs {
    int pairs;
    uint64_t sources;
};

static int
on_pair(void *payload, const char *domain, const char *ip)
{
    (void)domain;
    (void)ip;
    ((struct pairs *)payload)->pairs++;
    return 0;
}

static int
on_domain_n(void *payload, const char *domain, uint64_t sources)
{
    (void)domain;
    ((struct pairs *)payload)->sources += sources;
    return 0;
}

static int
on_report_id(void *payload, const sift_report_row *r)
{
    *(int64_t *)payload = r->id;
    return 0;
}

static int
on_failed_id(void *payload, int64_t id, const char *path, const char *reason,
             const void *raw, size_t len)
{
    (void)path;
    (void)reason;
    (void)raw;
    (void)len;
    *(int64_t *)payload = id;
    return 0;
}

/* Inside one batch (held): a report's final values, its seen input and
 * a resolved failed row are visible to what the batch does next (a
 * duplicate of that report gets its hash and counts), the first seen
 * note of an input wins, and all of it commits -- or rolls back --
 * together. (PostgreSQL defers them to one statement each per batch.) */
START_TEST(test_batch_deferred_writes)
{
    static const unsigned char bytes[] = {'<', 'x', '>'};
    sift_store *st = open_ok(db_of(_i), 0);
    sift_hash128 fp = {5, 6}, seen_fp = {8, 9}, gone_fp = {10, 11};
    sift_stored dup;
    struct synth x;
    sift_stats s;
    sift_err err;
    uint64_t n = 9;
    int conflict = -1;

    sift_err_clear(&err);
    ck_assert_int_eq(sift_store_add_failed(st, "in/r.xml", "bad", bytes,
                                           sizeof(bytes), &fp, &err),
                     SIFT_OK);
    ck_assert_int_eq(sift_store_hold(st, 1, &err), SIFT_OK);
    ck_assert_int_eq(store_synth(st, 4, NULL, &err), SIFT_OK);
    memset(&dup, 0, sizeof(dup));
    ck_assert_int_eq(store_synth(st, 4, &dup, &err), SIFT_EDUP);
    ck_assert(dup.hash_known);
    ck_assert_uint_eq(dup.hash.lo, 5);
    ck_assert_uint_eq(dup.records, 1 + 4 % MAXREC);
    ck_assert_uint_eq(dup.messages,
                      10 * (1 + 4 % MAXREC) * (2 + 4 % MAXREC) / 2);
    synth(&x, 4);
    ck_assert_int_eq(sift_store_note_seen(st, seen_fp, 77, &x.m, 0, &err),
                     SIFT_OK);
    ck_assert_int_eq(sift_store_note_seen(st, seen_fp, 77, &x.m, 1, &err),
                     SIFT_OK);
    ck_assert_int_eq(sift_store_resolve_failed(st, "in/r.xml", fp, NULL, &err),
                     SIFT_OK);
    /* reads on the writer's handle see the batch so far: the report's
     * records (buffered for COPY on PostgreSQL) and the failed row gone
     * (a deferred delete there) -- review of stop 22 */
    {
        struct pairs pr = {0, 0};
        int64_t rid = -1, seen_id = -1;
        /* (no generic query first: sift_store_query sends what the batch
         * buffered, which would hide the reads' own lapse) */
        ck_assert_int_eq(
            sift_store_next_failed(st, 0, on_failed_id, &seen_id, &err),
            SIFT_ITEROVER);
        ck_assert_int_eq(seen_id, -1);
        ck_assert_int_eq(
            sift_store_read_reports(st, NULL, on_report_id, &rid, &err),
            SIFT_OK);
        ck_assert_int_gt(rid, 0);
        ck_assert_msg(sift_store_top_sources(st, &rid, 1, 100, on_pair,
                                             on_domain_n, &pr, &err) == SIFT_OK,
                      "top sources: %s", err.msg);
        ck_assert_int_eq(pr.pairs, 1 + 4 % MAXREC);
        ck_assert_int_eq(pr.sources, 1 + 4 % MAXREC);
    }
    ck_assert_int_eq(sift_store_hold(st, 0, &err), SIFT_OK);
    ck_assert_int_eq(sift_store_seen(st, &conflict, seen_fp, 77, &err),
                     SIFT_EDUP);
    ck_assert_int_eq(conflict, 0);
    ck_assert_int_eq(sift_store_forget_all_failed(st, &n, &err), SIFT_OK);
    ck_assert_uint_eq(n, 0);
    /* a batch rolled back takes its deferred writes with it */
    ck_assert_int_eq(sift_store_hold(st, 1, &err), SIFT_OK);
    ck_assert_int_eq(store_synth(st, 5, NULL, &err), SIFT_OK);
    synth(&x, 5);
    ck_assert_int_eq(sift_store_note_seen(st, gone_fp, 78, &x.m, 0, &err),
                     SIFT_OK);
    ck_assert_int_eq(sift_store_hold(st, -1, &err), SIFT_OK);
    ck_assert_int_eq(sift_store_seen(st, &conflict, gone_fp, 78, &err),
                     SIFT_OK);
    ck_assert_int_eq(sift_store_stats(&s, st, &err), SIFT_OK);
    ck_assert_uint_eq(s.reports, 1);
    ck_assert_uint_eq(s.records, 1 + 4 % MAXREC);
    ck_assert_int_eq(q_int(st, "SELECT count(*) FROM seen_inputs"), 1);
    ck_assert_int_eq(q_int(st, "SELECT count(*) FROM reports WHERE"
                               " content_hash IS NULL"),
                     0);
    sift_store_close(st);
}
END_TEST

static int
on_uid(void *payload, uint32_t uid, int failed)
{
    uint64_t *sum = payload;

    *sum += uid * 10u + (unsigned)failed;
    return 0;
}

START_TEST(test_hold_imap_eval)
{
    sift_store *st = open_ok(db_of(_i), 0);
    static const uint32_t uids[] = {3, 4, 9};
    static const unsigned char failed[] = {0, 1, 0};
    int64_t mb = 0, mb2 = 0;
    uint64_t sum = 0;
    sift_stats s;
    sift_err err;

    sift_err_clear(&err);
    /* held work given up: nothing of it remains */
    ck_assert_int_eq(sift_store_hold(st, 1, &err), SIFT_OK);
    ck_assert_int_eq(store_synth(st, 1, NULL, &err), SIFT_OK);
    ck_assert_int_eq(sift_store_add_failed(st, "p", "r", "x", 1, NULL, &err),
                     SIFT_OK);
    ck_assert_int_eq(sift_store_hold(st, -1, &err), SIFT_OK);
    ck_assert_int_eq(sift_store_stats(&s, st, &err), SIFT_OK);
    ck_assert_uint_eq(s.reports, 0);
    ck_assert_uint_eq(s.failed_inputs, 0);
    /* held work released: all of it */
    ck_assert_int_eq(sift_store_hold(st, 1, &err), SIFT_OK);
    ck_assert_int_eq(store_synth(st, 1, NULL, &err), SIFT_OK);
    ck_assert_int_eq(sift_store_hold(st, 0, &err), SIFT_OK);
    ck_assert_int_eq(sift_store_stats(&s, st, &err), SIFT_OK);
    ck_assert_uint_eq(s.reports, 1);
    /* IMAP state */
    ck_assert_int_eq(
        sift_store_imap_mailbox(st, &mb, "h:993", "u", "INBOX", 77, &err),
        SIFT_OK);
    ck_assert_int_eq(
        sift_store_imap_mailbox(st, &mb2, "h:993", "u", "INBOX", 77, &err),
        SIFT_OK);
    ck_assert_int_eq(mb, mb2);
    ck_assert_int_eq(sift_store_imap_settle(st, mb, uids, failed, 3, &err),
                     SIFT_OK);
    ck_assert_int_eq(sift_store_imap_forget(st, mb, uids + 2, 1, &err),
                     SIFT_OK);
    ck_assert_int_eq(sift_store_imap_each_settled(st, mb, on_uid, &sum, &err),
                     SIFT_OK);
    ck_assert_uint_eq(sum, 30 + 41);
    /* the evaluation version: a writer that did not set one stamps 0 */
    ck_assert_str_eq(versions_of(st, NULL), "0:1:2");
    sift_store_close(st);
}
END_TEST

/* --- evaluation versions per report (issue 14), both backends ------------ */

/* What a re-evaluation computes: every record would be rejected. */
static void
reject_all(void *payload, sift_verdict *out, const sift_report_meta *meta,
           const sift_record *rec)
{
    unsigned *calls = payload;

    (void)meta;
    (void)rec;
    memset(out, 0, sizeof(*out));
    out->dmarc_fail = 1;
    out->would_reject = 1;
    out->outcome = SIFT_OUT_WOULD_REJECT;
    (*calls)++;
}

static size_t packs_match(sift_store *st);

START_TEST(test_eval_versions)
{
    static const char *const com[] = {"EXAMPLE.com"};
    sift_store_filter f = {com, 1, NULL, 0, 0, 0, 0, 0};
    sift_store *st = open_ok(db_of(_i), 0);
    int64_t after = 0, last = -1, ids[4];
    unsigned done = 0, calls = 0;
    sift_err err;
    int i;

    sift_err_clear(&err);
    /* reports 0..3 (1+2+3+4 records) by a build of evaluation 1, 4..5
     * (5+6) by one of evaluation 2 */
    sift_store_set_eval_stamp(st, 1);
    for (i = 0; i < 6; i++) {
        if (i == 4)
            sift_store_set_eval_stamp(st, 2);
        ck_assert_int_eq(store_synth(st, i, NULL, &err), SIFT_OK);
    }
    ck_assert_int_eq(sift_store_flush(st, &err), SIFT_OK);
    ck_assert_str_eq(versions_of(st, NULL), "1:4:10 2:2:11");
    /* example.com: reports 1, 2 (of 1), 4, 5 (of 2); case-insensitive */
    ck_assert_str_eq(versions_of(st, &f), "1:2:5 2:2:11");
    /* a batch of no records is a caller's mistake */
    ck_assert_int_eq(sift_store_rewrite_verdicts(st, 2, 0, 0, 0, &last, &done,
                                                 reject_all, &calls, &err),
                     SIFT_EUSAGE);
    ck_assert_str_eq(err.msg, "reevaluate: a batch needs at least 1 record");
    ck_assert_int_eq(last, 0);
    sift_err_clear(&err);
    /* version 1 leaves everything alone: nothing is below it */
    ck_assert_int_eq(sift_store_rewrite_verdicts(st, 1, 0, 0, 100, &last, &done,
                                                 reject_all, &calls, &err),
                     SIFT_OK);
    ck_assert_int_eq(last, 0);
    ck_assert_uint_eq(done, 0);
    ck_assert_uint_eq(calls, 0);
    /* version 2, about 3 records a batch, whole reports: {0, 1} (3
     * records), {2} (3), {3} (4), then none */
    for (i = 0; i < 4; i++) {
        ck_assert_int_eq(sift_store_rewrite_verdicts(st, 2, 0, after, 3, &last,
                                                     &done, reject_all, &calls,
                                                     &err),
                         SIFT_OK);
        ck_assert_uint_eq(done, i == 3 ? 0 : i == 2 ? 4 : 3);
        ids[i] = last;
        if (i < 3)
            ck_assert_int_gt(last, after);
        else
            ck_assert_int_eq(last, after);
        after = last;
    }
    ck_assert_uint_eq(calls, 10);
    ck_assert_int_eq(q_int(st, "SELECT count(*) FROM reports WHERE"
                               " report_id = 'r0001'"),
                     1);
    ck_assert_int_eq(ids[0], q_int(st, "SELECT id FROM reports WHERE"
                                       " report_id = 'r0001'"));
    ck_assert_int_eq(ids[1], q_int(st, "SELECT id FROM reports WHERE"
                                       " report_id = 'r0002'"));
    ck_assert_int_eq(ids[2], q_int(st, "SELECT id FROM reports WHERE"
                                       " report_id = 'r0003'"));
    ck_assert_str_eq(versions_of(st, NULL), "2:6:21");
    /* the rewritten records are those of the version-1 reports only */
    ck_assert_int_eq(q_int(st, "SELECT count(*) FROM records WHERE"
                               " would_reject = 1"),
                     10);
    ck_assert_int_eq(q_int(st, "SELECT count(*) FROM records c JOIN reports r"
                               " ON r.id = c.report_id WHERE c.would_reject"
                               " = 1 AND r.report_id IN ('r0004', 'r0005')"),
                     0);
    /* a newer build's reports are never rewritten down */
    sift_store_set_eval_stamp(st, 3);
    ck_assert_int_eq(store_synth(st, 6, NULL, &err), SIFT_OK);
    ck_assert_int_eq(sift_store_flush(st, &err), SIFT_OK);
    ck_assert_int_eq(sift_store_rewrite_verdicts(st, 2, 0, 0, 100, &last, &done,
                                                 reject_all, &calls, &err),
                     SIFT_OK);
    ck_assert_int_eq(last, 0);
    /* redo: this version's reports again (21 records), not the newer */
    calls = 0;
    ck_assert_int_eq(sift_store_rewrite_verdicts(st, 2, 1, 0, 100, &last, &done,
                                                 reject_all, &calls, &err),
                     SIFT_OK);
    ck_assert_uint_eq(done, 21);
    ck_assert_uint_eq(calls, 21);
    ck_assert_int_eq(last, q_int(st, "SELECT id FROM reports WHERE"
                                     " report_id = 'r0005'"));
    ck_assert_int_eq(q_int(st, "SELECT count(*) FROM records WHERE"
                               " would_reject = 1"),
                     21);
    ck_assert_str_eq(versions_of(st, NULL), "2:6:21 3:1:1");
    if (_i == 1) /* the report's scan sees the rewritten verdicts */
        ck_assert_uint_eq(packs_match(st), 22);
    sift_store_close(st);
}
END_TEST

/* --- record packs ----------------------------------------------------------
 */

/* One scan row, or one records row, as a line: the two must agree. */
static void
pack_line(FILE *fp, int64_t id, int64_t report, const char *ip, uint64_t count,
          int outcome, uint32_t flags, uint32_t cats, const char *from,
          const char *spf, const char *dkim)
{
    fprintf(fp, "%lld %lld [%s] %llu %d %u %u [%s] [%s] [%s]\n", (long long)id,
            (long long)report, ip ? ip : "NULL", (unsigned long long)count,
            outcome, flags, cats, from ? from : "NULL", spf ? spf : "NULL",
            dkim ? dkim : "NULL");
}

static int
on_pack_row(void *payload, const sift_scan_row *r)
{
    pack_line(payload, r->id, r->report, r->source_ip, r->count, r->outcome,
              r->flags, r->categories, r->header_from, r->spf_domain,
              r->dkim_domain);
    return 0;
}

static int
on_record_row(void *payload, sift_row *row)
{
    pack_line(payload, sift_row_int(row, 0), sift_row_int(row, 1),
              sift_row_text(row, 2), (uint64_t)sift_row_int(row, 3),
              (int)sift_row_int(row, 4), (uint32_t)sift_row_int(row, 5),
              (uint32_t)sift_row_int(row, 6), sift_row_text(row, 7),
              sift_row_text(row, 8), sift_row_text(row, 9));
    return 0;
}

/* The report's scan, which reads record packs on PostgreSQL, gives the
 * records table's rows, in id order, in one part and in two; returns
 * the number of records. */
static size_t
packs_match(sift_store *st)
{
    char *want = NULL, *got[2] = {NULL, NULL};
    size_t wn = 0, gn[2] = {0, 0}, lines = 0;
    FILE *fw = open_memstream(&want, &wn), *fg[2];
    sift_err err;
    int parts, used, i;

    sift_err_clear(&err);
    ck_assert_int_eq(
        sift_store_query(st,
                         "SELECT id, report_id, source_ip, count, outcome,"
                         " flags & 4294967295, categories & 4294967295,"
                         " header_from, spf_domain, dkim_domain"
                         " FROM records ORDER BY id",
                         NULL, 0, on_record_row, fw, &err),
        SIFT_OK);
    fclose(fw);
    for (parts = 1; parts <= 2; parts++) {
        void *pl[2];
        char *all = NULL;
        size_t an = 0;
        FILE *fa;

        for (i = 0; i < 2; i++) {
            fg[i] = open_memstream(&got[i], &gn[i]);
            pl[i] = fg[i];
        }
        ck_assert_msg(sift_store_scan_records(st, parts, on_pack_row, pl, &used,
                                              &err) == SIFT_OK,
                      "scan: %s", err.msg);
        ck_assert_int_le(used, parts);
        fclose(fg[0]);
        fclose(fg[1]);
        fa = open_memstream(&all, &an);
        fputs(got[0], fa);
        fputs(got[1], fa);
        fclose(fa);
        if (strcmp(all, want) != 0) { /* the first line that differs */
            size_t k = 0, l = 0;
            while (all[k] == want[k])
                if (all[k++] == '\n')
                    l = k;
            ck_assert_msg(0, "parts %d: scan %.120s != records %.120s", parts,
                          all + l, want + l);
        }
        free(all);
        free(got[0]);
        free(got[1]);
    }
    for (i = 0; want[i]; i++)
        lines += want[i] == '\n';
    free(want);
    return lines;
}

/* The packs' bytes, in first_id order (static buffer). */
static const char *
packs_hex(const char *uri)
{
    static char b[1 << 20];

    pgu_text(b, sizeof(b), uri,
             "SELECT coalesce(string_agg(first_id || ':' || n || ':' ||"
             " encode(data, 'hex'), ',' ORDER BY first_id), '')"
             " FROM record_packs");
    return b;
}

/* A report of n records: ip i%257 (a new string every record), header
 * from, SPF and DKIM domains that repeat, change, are NULL, or hold
 * bytes that are not UTF-8; verdicts that vary. */
static void
store_big(sift_store *st, int i, size_t n, int rollback)
{
    static const char *const from[] = {"example.com", "example.com",
                                       "bad\xff\xfeutf8.example", NULL};
    /* 3 and 4 differ as given but are the same once stored (U+FFFD) */
    static const char *const dom[] = {
        NULL, "esp.net", "esp.net", "x\x80y.example", "x\x81y.example", ""};
    struct synth s;
    sift_err err;
    size_t j;

    sift_err_clear(&err);
    synth(&s, i);
    ck_assert_int_eq(sift_store_begin(st, NULL, &s.m, "big", &err), SIFT_OK);
    for (j = 0; j < n; j++) {
        char ip[32];
        sift_record r = s.rec[0];
        sift_verdict v = {0};

        snprintf(ip, sizeof(ip), "198.51.%zu.%zu", j / 251 % 256, j % 257);
        r.source_ip = j % 97 == 5 ? NULL : ip;
        r.header_from = from[j / 3 % 4];
        r.count = j % 13 == 0 ? UINT64_MAX : (uint64_t)j * 1000003;
        v.outcome = (sift_outcome)(j % 4);
        v.categories = (uint32_t)(j * 2654435761u);
        v.dmarc_fail = (int)(j % 2);
        v.spf_domain = dom[j % 6];
        v.dkim_domain = dom[j / 7 % 6];
        ck_assert_int_eq(sift_store_add(st, &r, &v, &err), SIFT_OK);
    }
    if (rollback)
        sift_store_rollback(st);
    else
        ck_assert_int_eq(
            sift_store_commit(st, &s.m, (sift_hash128){9, 9}, &err), SIFT_OK);
}

/* This build's schema with steps 10 and 9 undone: reports' pages full
 * again, DKIM and SPF results back in their own tables (what schema 8
 * wrote), from the views of the columns. */
static const char UNDO_9[] =
    "ALTER TABLE reports RESET (fillfactor);"
    "CREATE TABLE sift_undo_dk AS SELECT * FROM dkim_results;"
    "CREATE TABLE sift_undo_sp AS SELECT * FROM spf_results;"
    "DROP VIEW dkim_results, spf_results;"
    "DROP FUNCTION sift_field(text, integer);"
    "CREATE TABLE dkim_results ("
    " record_id bigint NOT NULL, date_end bigint NOT NULL,"
    " idx integer NOT NULL, domain text, selector text, result text,"
    " human_result text, PRIMARY KEY (record_id, idx, date_end)"
    ") PARTITION BY RANGE (date_end);"
    "CREATE TABLE spf_results ("
    " record_id bigint NOT NULL, date_end bigint NOT NULL,"
    " idx integer NOT NULL, domain text, scope text, result text,"
    " human_result text, PRIMARY KEY (record_id, idx, date_end)"
    ") PARTITION BY RANGE (date_end);"
    "DO $$DECLARE m record; BEGIN"
    " FOR m IN SELECT c.relname AS name,"
    "  pg_get_expr(c.relpartbound, c.oid) AS bound"
    "  FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
    "  WHERE i.inhparent = 'records'::regclass LOOP"
    "  EXECUTE format('CREATE TABLE %I PARTITION OF dkim_results %s',"
    "   'dkim_results' || substr(m.name, 8), m.bound);"
    "  EXECUTE format('CREATE TABLE %I PARTITION OF spf_results %s',"
    "   'spf_results' || substr(m.name, 8), m.bound);"
    " END LOOP; END$$;"
    "INSERT INTO dkim_results SELECT * FROM sift_undo_dk;"
    "INSERT INTO spf_results SELECT * FROM sift_undo_sp;"
    "DROP TABLE sift_undo_dk, sift_undo_sp;"
    "ALTER TABLE records DROP COLUMN dkim, DROP COLUMN spf;"
    "UPDATE sift_meta SET schema = 8;";

/* Every record's DKIM and SPF columns, and what their views show. */
#define AUTH_COLUMNS                                                           \
    "SELECT string_agg(id || '=' || coalesce(dkim, '-') || '|' ||"             \
    " coalesce(spf, '-'), ',' ORDER BY id) FROM records"
#define AUTH_VIEWS                                                             \
    "SELECT (SELECT string_agg(concat_ws(':', record_id, idx, domain,"         \
    " coalesce(selector, 'NULL'), result, coalesce(human_result, 'NULL')),"    \
    " ',' ORDER BY record_id, idx) FROM dkim_results) || ' / ' ||"             \
    " (SELECT string_agg(concat_ws(':', record_id, idx, domain,"               \
    " coalesce(scope, 'NULL'), result, coalesce(human_result, 'NULL')),"       \
    " ',' ORDER BY record_id, idx) FROM spf_results)"

/* Schema 9 keeps a record's DKIM and SPF results in the record row
 * (records.dkim, records.spf), encoded by the writer; the upgrade from
 * schema 8 encodes what the tables held the same way, byte for byte, and
 * leaves views of the same names and rows. */
START_TEST(test_auth_in_record_row)
{
    static char cols[1 << 16], views[1 << 16], got[1 << 16];
    sift_store *st = open_ok(dburi, 0);
    struct synth s;
    sift_dkim_result dk[3] = {{"example.com", NULL, "pass", NULL},
                              {"esp.example.net",
                               "s\x1e"
                               "2024",
                               "fail", "body hash\tmismatch"},
                              {"", "", "none", "back\\slash \xff"}};
    sift_spf_result sp = {"bounce.esp.net", NULL, "softfail", "x\x1fy"};
    sift_err err;
    int i;

    sift_err_clear(&err);
    for (i = 0; i < 4; i++)
        ck_assert_int_eq(store_synth(st, i, NULL, &err), SIFT_OK);
    /* several results, NULL and empty fields, bytes COPY escapes, bytes
     * that are not UTF-8, the separators in a value; a record with none */
    synth(&s, 10);
    s.rec[0].dkim_results = dk;
    s.rec[0].n_dkim = 3;
    s.rec[0].spf_results = &sp;
    s.rec[1].n_dkim = 0;
    s.rec[1].n_spf = 0;
    ck_assert_int_eq(sift_store_begin(st, NULL, &s.m, "auth", &err), SIFT_OK);
    ck_assert_int_eq(sift_store_add(st, &s.rec[0], NULL, &err), SIFT_OK);
    ck_assert_int_eq(sift_store_add(st, &s.rec[1], NULL, &err), SIFT_OK);
    ck_assert_int_eq(sift_store_commit(st, &s.m, (sift_hash128){7, 7}, &err),
                     SIFT_OK);
    ck_assert_int_eq(sift_store_flush(st, &err), SIFT_OK);
    pgu_text(got, sizeof(got), dburi,
             "SELECT concat_ws(':', d.idx, domain, coalesce(selector, 'NULL'),"
             " result, coalesce(human_result, 'NULL')) || ' / ' ||"
             " (SELECT string_agg(concat_ws(':', idx, domain,"
             " coalesce(scope, 'NULL'), result, human_result), ',')"
             " FROM spf_results x WHERE x.record_id = d.record_id)"
             " FROM dkim_results d JOIN records c ON c.id = d.record_id"
             " WHERE c.idx = 0 AND d.idx = 1 AND c.report_id ="
             " (SELECT id FROM reports WHERE report_id = 'r0010')");
    ck_assert_str_eq(got, "1:esp.example.net:s\xef\xbf\xbd"
                          "2024:fail:body hash\tmismatch / "
                          "0:bounce.esp.net:NULL:softfail:x\xef\xbf\xbdy");
    ck_assert_int_eq(q_int(st, "SELECT count(*) FROM dkim_results d JOIN"
                               " reports r ON r.report_id = 'r0010' JOIN"
                               " records c ON c.report_id = r.id AND"
                               " c.id = d.record_id"),
                     3);
    ck_assert_int_eq(q_int(st, "SELECT count(*) FROM records c JOIN reports r"
                               " ON r.id = c.report_id WHERE r.report_id ="
                               " 'r0010' AND c.dkim IS NULL AND c.spf IS NULL"),
                     1);
    ck_assert_int_eq(q_int(st, "SELECT count(*) FROM spf_results"),
                     1 + 2 + 3 + 4 + 1);
    pgu_text(cols, sizeof(cols), dburi, AUTH_COLUMNS);
    pgu_text(views, sizeof(views), dburi, AUTH_VIEWS);
    sift_store_close(st);

    /* the same database at schema 8, upgraded */
    pgu_exec(dburi, UNDO_9);
    ck_assert_int_eq(pgu_int(dburi, "SELECT count(*) FROM dkim_results"),
                     1 + 2 + 3 + 4 + 3);
    st = open_ok(dburi, 0);
    ck_assert_int_eq(q_int(st, "SELECT schema FROM sift_meta"),
                     SIFT_STORE_SCHEMA);
    pgu_text(got, sizeof(got), dburi, AUTH_COLUMNS);
    ck_assert_str_eq(got, cols);
    pgu_text(got, sizeof(got), dburi, AUTH_VIEWS);
    ck_assert_str_eq(got, views);
    ck_assert_int_eq(q_int(st, "SELECT count(*) FROM pg_class WHERE relname"
                               " LIKE 'dkim\\_results%' AND relkind <> 'v'"),
                     0);
    /* and the upgraded database takes reports as a new one does */
    ck_assert_int_eq(store_synth(st, 5, NULL, &err), SIFT_OK);
    ck_assert_int_eq(sift_store_flush(st, &err), SIFT_OK);
    ck_assert_int_eq(q_int(st, "SELECT count(*) FROM spf_results"),
                     1 + 2 + 3 + 4 + 1 + 6);
    sift_store_close(st);
}
END_TEST

/* Updates of reports (and their HOT part) in the statistics, once the
 * store's backend has ended and reported them. */
static void
report_updates(int64_t *upd, int64_t *hot, int64_t want_upd)
{
    int tries;

    for (tries = 0; tries < 100; tries++) {
        *upd = pgu_int(dburi, "SELECT n_tup_upd FROM pg_stat_user_tables"
                              " WHERE relname = 'reports'");
        if (*upd >= want_upd)
            break;
        usleep(50 * 1000);
    }
    *hot = pgu_int(dburi, "SELECT n_tup_hot_upd FROM pg_stat_user_tables"
                          " WHERE relname = 'reports'");
}

/* Schema 10: reports' pages are filled half, so that the final update
 * of a report row (content hash, counts, warnings, with the batch)
 * stays on its page: a HOT update, no new entry in reports' five
 * indexes. An upgrade from schema 9 sets it. Full pages, as before,
 * make most of them new rows (the control). */
START_TEST(test_reports_half_full)
{
    sift_store *st = open_ok(dburi, 0);
    int64_t upd, hot, upd0, hot0;
    sift_err err;
    int i;

    sift_err_clear(&err);
    ck_assert_int_eq(pgu_int(dburi, "SELECT count(*) FROM pg_class WHERE"
                                    " relname = 'reports' AND reloptions ="
                                    " '{fillfactor=50}'"),
                     1);
    for (i = 0; i < 300; i++)
        ck_assert_int_eq(store_synth(st, i, NULL, &err), SIFT_OK);
    sift_store_close(st);
    report_updates(&upd0, &hot0, 300);
    ck_assert_int_eq(upd0, 300);
    ck_assert_int_ge(hot0, 250);

    /* a database at schema 9: a writer's open sets it */
    pgu_exec(dburi, "ALTER TABLE reports RESET (fillfactor);"
                    "UPDATE sift_meta SET schema = 9;");
    st = open_ok(dburi, 0);
    ck_assert_int_eq(q_int(st, "SELECT schema FROM sift_meta"),
                     SIFT_STORE_SCHEMA);
    ck_assert_int_eq(pgu_int(dburi, "SELECT count(*) FROM pg_class WHERE"
                                    " relname = 'reports' AND reloptions ="
                                    " '{fillfactor=50}'"),
                     1);
    /* full pages again, behind the writer's back: most updates move */
    pgu_exec(dburi, "ALTER TABLE reports RESET (fillfactor)");
    for (i = 300; i < 600; i++)
        ck_assert_int_eq(store_synth(st, i, NULL, &err), SIFT_OK);
    sift_store_close(st);
    report_updates(&upd, &hot, upd0 + 300);
    ck_assert_int_eq(upd - upd0, 300);
    ck_assert_msg(hot - hot0 < 100, "%lld of 300 HOT on full pages",
                  (long long)(hot - hot0));
}
END_TEST

/* Record packs (store/pg_pack.c) stay the records' view through writing
 * (a report past one pack, a rolled-back report), an upgrade from schema
 * 7 (which builds them from the records: the same bytes the writer
 * wrote), re-evaluation and prune. */
START_TEST(test_record_packs)
{
    sift_store *st = open_ok(dburi, 0);
    int64_t last = -1;
    unsigned done = 0, calls = 0;
    uint64_t pruned = 0;
    char *written;
    sift_err err;
    int i;

    sift_err_clear(&err);
    for (i = 0; i < 8; i++)
        ck_assert_int_eq(store_synth(st, i, NULL, &err), SIFT_OK);
    store_big(st, 40, 2345, 0);
    store_big(st, 41, 30, 1);
    store_big(st, 42, 1, 0);
    /* rolled back after some of its rows were sent (a record's COPY row
     * is over 150 bytes): they are deleted, nothing else is */
    ck_assert_uint_gt(20000 * 150, 2 * SIFT_PG_COPY_FLUSH);
    store_big(st, 43, 20000, 1);
    ck_assert_int_eq(sift_store_flush(st, &err), SIFT_OK);
    ck_assert_uint_eq(packs_match(st),
                      1 + 2 + 3 + 4 + 5 + 6 + 1 + 2 + 2345 + 1);
    /* 8 small reports, 3 packs of the big one (1000 records at most) */
    ck_assert_int_eq(q_int(st, "SELECT count(*) FROM record_packs"), 8 + 3 + 1);
    ck_assert_int_eq(q_int(st, "SELECT max(n) FROM record_packs"), 1000);
    written = strdup(packs_hex(dburi));
    sift_store_close(st);

    /* schema 7 had no packs: the upgrade builds them, byte for byte */
    pgu_exec(dburi, UNDO_9);
    pgu_exec(dburi,
             "DROP TABLE record_packs; UPDATE sift_meta SET schema = 7;");
    st = open_ok(dburi, 0);
    ck_assert_int_eq(q_int(st, "SELECT schema FROM sift_meta"),
                     SIFT_STORE_SCHEMA);
    ck_assert_str_eq(packs_hex(dburi), written);
    ck_assert_int_eq(q_int(st, "SELECT count(*) FROM pg_class WHERE relname"
                               " LIKE 'record\\_packs\\_p%' AND relkind = 'r'"),
                     q_int(st, "SELECT count(*) FROM pg_class WHERE relname"
                               " LIKE 'records\\_p%' AND relkind = 'r'"));
    packs_match(st);

    /* re-evaluation rewrites the packs of the reports it rewrites */
    ck_assert_int_eq(sift_store_rewrite_verdicts(st, 2, 1, 0, 500, &last, &done,
                                                 reject_all, &calls, &err),
                     SIFT_OK);
    ck_assert_uint_gt(done, 0);
    ck_assert_int_eq(q_int(st, "SELECT count(*) FROM records"
                               " WHERE would_reject = 1"),
                     (int64_t)done);
    packs_match(st);
    ck_assert_str_ne(packs_hex(dburi), written);

    /* prune drops them with the records, by month */
    ck_assert_int_eq(
        sift_store_prune(&pruned, NULL, st, 1700000000 + 5 * 7 * 86400, &err),
        SIFT_OK);
    ck_assert_uint_eq(pruned, 5);
    ck_assert_int_eq(q_int(st, "SELECT count(*) FROM record_packs"
                               " WHERE date_end < 1700000000 + 5 * 7 * 86400"),
                     0);
    packs_match(st);
    /* a month whose records partitions an older build (schema 7) made,
     * without record_packs': the writer adds the missing one */
    pgu_exec(dburi, "CREATE TABLE records_p202501 PARTITION OF records"
                    " FOR VALUES FROM (1735689600) TO (1738368000);"
                    "CREATE TABLE reasons_p202501 PARTITION OF reasons"
                    " FOR VALUES FROM (1735689600) TO (1738368000);");
    ck_assert_int_eq(store_synth(st, 60, NULL, &err), SIFT_OK);
    ck_assert_int_eq(sift_store_flush(st, &err), SIFT_OK);
    ck_assert_int_eq(q_int(st, "SELECT count(*) FROM record_packs_p202501"), 1);
    packs_match(st);
    free(written);
    sift_store_close(st);
}
END_TEST

static int
count_rows(void *payload, const sift_scan_row *r)
{
    (void)r;
    (*(int *)payload)++;
    return 0;
}

/* A database that cannot be written (a standby; here one whose
 * transactions are read-only by default) refuses a writer at open, as a
 * read-only SQLite file does, and still serves a reader: `report` on a
 * replica whose reports are behind reads them and says so, instead of
 * failing at the re-evaluation's first write (stop 22's note). */
/* Copies of a stored report longer than the importer's first chunk, on
 * PostgreSQL, where the reader's lookup is answered while it parses (see
 * check_long_report_copies; check_integrity runs it on SQLite). */
START_TEST(test_copies_of_a_long_stored_report)
{
    check_long_report_copies(dburi, box);
}
END_TEST

/* Copies of stored reports after many new inputs, which a server is not
 * asked about (cli/import.c, ask_now): the writer finds them stored. The
 * run asks about its first 23 inputs (the moving average of yes answers
 * then falls under KNOWN_LOW), the 39th (every 16th not asked), and the
 * broken copy, which fails at open. check_integrity runs the same on
 * SQLite, which is asked about every input. */
START_TEST(test_unasked_copies)
{
    check_unasked_copies(dburi, box, 25);
}
END_TEST

START_TEST(test_read_only_server_refuses_writer)
{
    sift_store *st = open_ok(dburi, 0), *w = NULL;
    char sql[160];
    sift_err err;

    sift_err_clear(&err);
    sift_store_set_eval_stamp(st, 1);
    ck_assert_int_eq(store_synth(st, 0, NULL, &err), SIFT_OK);
    sift_store_close(st);
    snprintf(sql, sizeof(sql),
             "ALTER DATABASE %s SET default_transaction_read_only = on",
             dbname);
    admin(sql);
    ck_assert_int_eq(sift_store_open(&w, dburi, 0, &err), SIFT_EDB);
    ck_assert_ptr_null(w);
    ck_assert_str_eq(err.msg, "database is read-only");
    st = open_ok(dburi, SIFT_STORE_READONLY);
    ck_assert_str_eq(versions_of(st, NULL), "1:1:1");
    sift_store_close(st);
}
END_TEST

/* A pack the scan cannot read (the database's bytes are not trusted)
 * ends the scan with one error, never a crash or a wrong row: every
 * pack cut short at each length, a wrong count, a string state 3, a
 * "same" with nothing before it, a NUL in a string, bytes past the
 * records. */
START_TEST(test_malformed_packs)
{
    static const char *const bad[] = {
        "n = n + 1",                              /* too few records */
        "n = 0",                                  /* none */
        "data = '\\xff' || substr(data, 2)",      /* string state 3 */
        "data = '\\x55' || substr(data, 2)",      /* same, no previous */
        "data = data || '\\x00'::bytea",          /* bytes past the end */
        "data = '\\x80000000000000000000000000'", /* varint too long */
        "data = '\\x0201010101026100'",           /* NUL in a string */
    };
    const size_t nbad = sizeof(bad) / sizeof(bad[0]);
    sift_store *st = open_ok(dburi, 0);
    char sql[256];
    sift_err err;
    int64_t len;
    size_t i;
    int rows = 0, used;
    void *pl[2] = {&rows, &rows};

    sift_err_clear(&err);
    store_big(st, 40, 60, 0);
    ck_assert_int_eq(sift_store_flush(st, &err), SIFT_OK);
    len = q_int(st, "SELECT octet_length(data) FROM record_packs");
    ck_assert_int_gt(len, 60 * 5);
    pgu_exec(dburi, "CREATE TABLE good AS SELECT * FROM record_packs");
    /* each bad pack; then cut at every length below 48, at every 7th
     * after it, and one byte short */
    for (i = 0; i < nbad + (size_t)len; i++) {
        size_t cut = i - nbad;
        if (i < nbad)
            snprintf(sql, sizeof(sql), "UPDATE record_packs SET %s", bad[i]);
        else if (cut < 48 || cut % 7 == 0 || cut == (size_t)len - 1)
            snprintf(sql, sizeof(sql),
                     "UPDATE record_packs SET data = substr(data, 1, %zu)",
                     cut);
        else
            continue;
        pgu_exec(dburi, sql);
        sift_err_clear(&err);
        ck_assert_int_eq(
            sift_store_scan_records(st, 1, count_rows, pl, &used, &err),
            SIFT_EDB);
        ck_assert_str_eq(err.msg, "scan: a malformed record pack");
        pgu_exec(dburi, "DELETE FROM record_packs;"
                        "INSERT INTO record_packs SELECT * FROM good");
    }
    /* and the good pack reads */
    rows = 0;
    ck_assert_int_eq(
        sift_store_scan_records(st, 1, count_rows, pl, &used, &err), SIFT_OK);
    ck_assert_int_eq(rows, 60);
    sift_store_close(st);
}
END_TEST

/* Schema 6 -> 7 on PostgreSQL: the database's evaluation version goes to
 * every report and the evaluation table goes. The schema-6 database is
 * this build's with step 7 undone (the same tables as 6 wrote). */
static void
on_case_db(const char *sql)
{
    pgu_exec(dburi, sql);
}

/* A report rolled back inside a batch whose earlier reports were
 * committed: when its rows cannot be deleted (here a trigger refuses),
 * the whole batch is rolled back, and the earlier report must not pass
 * for stored: the next write says so, once (review of stop 22). */
START_TEST(test_lost_batch_is_told)
{
    sift_store *st = open_ok(db_of(1), 0);
    struct synth s;
    sift_stats stats;
    sift_err err;

    sift_err_clear(&err);
    on_case_db("CREATE FUNCTION no_delete() RETURNS trigger LANGUAGE plpgsql"
               " AS $$ BEGIN RAISE EXCEPTION 'no delete here'; END $$;"
               "CREATE TRIGGER no_delete BEFORE DELETE ON reports"
               " FOR EACH ROW EXECUTE FUNCTION no_delete()");
    ck_assert_int_eq(sift_store_hold(st, 1, &err), SIFT_OK);
    ck_assert_int_eq(store_synth(st, 0, NULL, &err), SIFT_OK);
    synth(&s, 1);
    ck_assert_int_eq(sift_store_begin(st, NULL, &s.m, "synthetic", &err),
                     SIFT_OK);
    ck_assert_int_eq(sift_store_add(st, &s.rec[0], &(sift_verdict){0}, &err),
                     SIFT_OK);
    sift_store_rollback(st); /* its DELETE fails: the batch goes */
    ck_assert_int_eq(sift_store_hold(st, 0, &err), SIFT_EDB);
    ck_assert_str_eq(err.msg, "1 stored report of a batch rolled back after "
                              "an error (rollback: no delete here): not "
                              "stored");
    /* told once; the database holds neither report */
    sift_err_clear(&err);
    ck_assert_int_eq(sift_store_flush(st, &err), SIFT_OK);
    ck_assert_int_eq(sift_store_stats(&stats, st, &err), SIFT_OK);
    ck_assert_uint_eq(stats.reports, 0);
    sift_store_close(st);
}
END_TEST

START_TEST(test_pg_schema6_upgrade)
{
    sift_store *st = open_ok(db_of(1), 0);
    sift_err err;
    int i;

    sift_err_clear(&err);
    for (i = 0; i < 3; i++)
        ck_assert_int_eq(store_synth(st, i, NULL, &err), SIFT_OK);
    sift_store_close(st);
    on_case_db(UNDO_9);
    on_case_db("ALTER TABLE reports DROP COLUMN eval_version;"
               "CREATE TABLE evaluation ("
               " id integer PRIMARY KEY CHECK (id = 1),"
               " version integer NOT NULL);"
               "INSERT INTO evaluation (id, version) VALUES (1, 2);"
               "DROP TABLE dns_ptr, dns_published, dns_dkim, record_packs;"
               "UPDATE sift_meta SET schema = 6;");
    /* a reader cannot upgrade */
    {
        sift_store *ro = NULL;
        sift_err_clear(&err);
        ck_assert_int_eq(
            sift_store_open(&ro, db_of(1), SIFT_STORE_READONLY, &err),
            SIFT_EDB);
        ck_assert_str_eq(err.msg, "database needs an upgrade from schema 6 "
                                  "to 10: open it once read-write");
    }
    st = open_ok(db_of(1), 0);
    ck_assert_int_eq(q_int(st, "SELECT schema FROM sift_meta"),
                     SIFT_STORE_SCHEMA);
    ck_assert_int_eq(q_int(st, "SELECT count(*) FROM pg_tables WHERE"
                               " schemaname = current_schema() AND"
                               " tablename = 'evaluation'"),
                     0);
    ck_assert_str_eq(versions_of(st, NULL), "2:3:6");
    /* and the DNS cache, which PostgreSQL's step 6 had left out */
    ck_assert_int_eq(q_int(st, "SELECT count(*) FROM pg_tables WHERE"
                               " schemaname = current_schema() AND"
                               " tablename IN ('dns_ptr', 'dns_published',"
                               " 'dns_dkim')"),
                     3);
    ck_assert_int_eq(q_int(st, "SELECT count(*) FROM dns_ptr"), 0);
    /* and steps 8's record packs, built from the records */
    ck_assert_int_eq(q_int(st, "SELECT count(*) FROM record_packs"), 3);
    ck_assert_uint_eq(packs_match(st), 1 + 2 + 3);
    sift_store_close(st);
}
END_TEST

/* A child that holds the schema lock of uri for `secs` seconds, as a
 * process upgrading the database does; returns once it holds it. */
static pid_t
hold_schema_lock(const char *uri, int secs)
{
    int fd[2];
    char c = 0, sql[64];
    pid_t pid;

    snprintf(sql, sizeof(sql), "SELECT pg_advisory_lock(%lld)",
             (long long)SIFT_PG_SCHEMA_LOCK);
    ck_assert_int_eq(pipe(fd), 0);
    if ((pid = fork()) == 0) {
        PGconn *conn = PQconnectdb(uri);
        PGresult *r = PQexec(conn, sql);
        c = PQresultStatus(r) == PGRES_TUPLES_OK ? 'y' : 'n';
        if (write(fd[1], &c, 1) != 1)
            _exit(1);
        sleep((unsigned)secs);
        PQclear(r);
        PQfinish(conn); /* the lock goes with the session */
        _exit(0);
    }
    close(fd[1]);
    ck_assert_int_eq(read(fd[0], &c, 1), 1);
    close(fd[0]);
    ck_assert_int_eq(c, 'y');
    return pid;
}

/* A process that opens a database while another upgrades it waits for
 * the upgrade, up to its own limit (30 minutes; here shortened), not the
 * busy timeout: an upgrade of a big database takes minutes (stop 25). On
 * giving up it says what it waited for. */
START_TEST(test_waits_for_anothers_upgrade)
{
    sift_store *st = open_ok(dburi, 0);
    struct timespec t0, t1;
    int saved = sift_store__upgrade_wait_ms, i, status;
    pid_t pid;
    sift_err err;

    sift_err_clear(&err);
    for (i = 0; i < 3; i++)
        ck_assert_int_eq(store_synth(st, i, NULL, &err), SIFT_OK);
    sift_store_close(st);
    pgu_exec(dburi, UNDO_9);

    /* the other process takes longer than this one waits */
    sift_store__upgrade_wait_ms = 1000;
    pid = hold_schema_lock(dburi, 4);
    st = NULL;
    ck_assert_int_eq(sift_store_open(&st, dburi, 0, &err), SIFT_EDB);
    ck_assert_ptr_null(st);
    ck_assert_str_eq(err.msg, "database is being upgraded from schema 8 to 10 "
                              "by another process: gave up waiting after 1 s");
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_int_eq(pgu_int(dburi, "SELECT schema FROM sift_meta"), 8);

    /* it ends in time: this one finds the schema current and goes on */
    sift_store__upgrade_wait_ms = 60000;
    pid = hold_schema_lock(dburi, 2);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    sift_err_clear(&err);
    st = open_ok(dburi, 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ck_assert_int_ge(t1.tv_sec - t0.tv_sec, 1); /* it did wait */
    ck_assert_int_eq(q_int(st, "SELECT schema FROM sift_meta"),
                     SIFT_STORE_SCHEMA);
    ck_assert_int_eq(q_int(st, "SELECT count(*) FROM spf_results"), 1 + 2 + 3);
    sift_store_close(st);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    sift_store__upgrade_wait_ms = saved;
}
END_TEST

/* Typed reads give the same rows from both backends. */
static int
on_scan(void *payload, const sift_scan_row *r)
{
    FILE *fp = payload;

    fprintf(fp, "%lld %s %llu %d %u %u %s %s %s\n", (long long)r->report,
            r->source_ip ? r->source_ip : "-", (unsigned long long)r->count,
            r->outcome, r->flags, r->categories,
            r->header_from ? r->header_from : "-",
            r->spf_domain ? r->spf_domain : "-",
            r->dkim_domain ? r->dkim_domain : "-");
    return 0;
}

static int
on_export(void *payload, const sift_export_row *x)
{
    FILE *fp = payload;
    size_t i;

    fprintf(fp, "%s|%s|%lld|%d|%s|%s|%llu|%d|%u|", x->meta->org_name,
            x->meta->report_id, (long long)x->meta->end, x->meta->pct,
            x->rec->source_ip,
            x->rec->envelope_from ? x->rec->envelope_from : "(null)",
            (unsigned long long)x->rec->count, x->outcome, x->categories);
    for (i = 0; i < x->rec->n_reasons; i++)
        fprintf(fp, "[%s/%s]", x->rec->reasons[i].type,
                x->rec->reasons[i].comment);
    for (i = 0; i < x->rec->n_spf; i++)
        fprintf(fp, "[%s/%s/%s]", x->rec->spf_results[i].domain,
                x->rec->spf_results[i].result,
                x->rec->spf_results[i].human_result);
    fputc('\n', fp);
    return 0;
}

static char *
reads_of(const char *db)
{
    sift_store *st = open_ok(db, SIFT_STORE_READONLY);
    const char *doms[] = {"EXAMPLE.com"};
    sift_store_filter f = {doms, 1, NULL, 0, 1700000000 + 70 * 86400, 0, 1, 0};
    void *pl[2];
    char *out = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&out, &len);
    sift_err err;
    int used = 0;

    sift_err_clear(&err);
    pl[0] = pl[1] = fp;
    ck_assert_int_eq(sift_store_scan_records(st, 1, on_scan, pl, &used, &err),
                     SIFT_OK);
    ck_assert_int_eq(used, 1);
    ck_assert_int_eq(sift_store_export_records(st, &f, on_export, fp, &err),
                     SIFT_OK);
    fclose(fp);
    sift_store_close(st);
    return out;
}

START_TEST(test_typed_reads_equal)
{
    sift_store *a = open_ok(db_of(0), 0), *b = open_ok(db_of(1), 0);
    sift_err err;
    char *x, *y;
    int i;

    sift_err_clear(&err);
    for (i = 0; i < 25; i++) {
        ck_assert_int_eq(store_synth(a, i, NULL, &err), SIFT_OK);
        ck_assert_int_eq(store_synth(b, i, NULL, &err), SIFT_OK);
    }
    sift_store_close(a);
    sift_store_close(b);
    x = reads_of(db_of(0));
    y = reads_of(db_of(1));
    ck_assert_ptr_nonnull(strstr(x, "[forwarded/arc=pass; tab\there]"));
    ck_assert_ptr_nonnull(strstr(x, "[esp.net/pass/a\tb\\c]"));
    ck_assert_str_eq(x, y);
    free(x);
    free(y);
}
END_TEST

/* --- connection errors: one line, host and database, no password ------- */

static void
expect_open_error(const char *uri, const char *part, const char *secret)
{
    sift_store *st = NULL;
    sift_err err;

    sift_err_clear(&err);
    ck_assert_int_eq(sift_store_open(&st, uri, 0, &err), SIFT_EDB);
    ck_assert_ptr_null(st);
    ck_assert_msg(strstr(err.msg, part) != NULL, "'%s' lacks '%s'", err.msg,
                  part);
    ck_assert_ptr_null(strchr(err.msg, '\n'));
    if (secret != NULL) {
        ck_assert_ptr_null(strstr(err.msg, secret));
        ck_assert_ptr_null(strstr(err.where, secret));
    }
}

START_TEST(test_connection_errors)
{
    char uri[1100], msg[300];
    const char *at = strstr(server, "://"), *host;
    char *shown;

    at = at ? at + 3 : server;
    host = strchr(at, '@') ? strchr(at, '@') + 1 : at;
    /* a wrong password (given in the URI: it must not be echoed) */
    snprintf(uri, sizeof(uri), "postgresql://sift:S3cretPw@%s", host);
    expect_open_error(uri, "password authentication failed", "S3cretPw");
    expect_open_error(uri, "database sift on 127.0.0.1 port ", "S3cretPw");
    /* a refused connection (port 1 on this host) */
    expect_open_error("postgresql://sift:S3cretPw@127.0.0.1:1/sift",
                      "cannot connect to database sift on 127.0.0.1 port 1: "
                      "Connection refused",
                      "S3cretPw");
    /* a missing database */
    pgu_uri(uri, sizeof(uri), server, "no_such_db");
    snprintf(msg, sizeof(msg), "database \"no_such_db\" does not exist");
    expect_open_error(uri, msg, NULL);
    expect_open_error(uri, "cannot connect to database no_such_db on ", NULL);
    /* the shown form of a URI */
    shown = sift_store_display_name(
        "postgres://u:pw@h:5/d?sslmode=require&password=pw2&x=1");
    ck_assert_str_eq(shown, "postgres://u@h:5/d?sslmode=require&x=1");
    free(shown);
    shown = sift_store_display_name("postgresql://h/d?password=pw2");
    ck_assert_str_eq(shown, "postgresql://h/d");
    free(shown);
}
END_TEST

/* --- many processes ---------------------------------------------------------
 */

/* n forked processes each open the fresh database (creating its schema
 * once under the advisory lock) and store reports i..i+40 (overlapping):
 * every report once, no error. */
START_TEST(test_concurrent_writers)
{
    enum { N = 4 };
    pid_t pid[N];
    sift_store *st;
    sift_stats s;
    sift_err err;
    int k, status;

    for (k = 0; k < N; k++) {
        if ((pid[k] = fork()) == 0) {
            sift_store *w = NULL;
            int i, rc = 0;

            sift_err_clear(&err);
            if (sift_store_open(&w, dburi, 0, &err) != SIFT_OK) {
                fprintf(stderr, "open: %s\n", err.msg);
                _exit(1);
            }
            for (i = k * 10; i < k * 10 + 40 && rc == 0; i++) {
                int r = store_synth(w, i, NULL, &err);
                if (r != SIFT_OK && r != SIFT_EDUP) {
                    fprintf(stderr, "store %d: %s\n", i, err.msg);
                    rc = 1;
                }
            }
            if (sift_store_flush(w, &err) != SIFT_OK)
                rc = 1;
            sift_store_close(w);
            _exit(rc);
        }
    }
    for (k = 0; k < N; k++) {
        ck_assert_int_eq(waitpid(pid[k], &status, 0), pid[k]);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                      "writer %d failed", k);
    }
    st = open_ok(dburi, SIFT_STORE_READONLY);
    sift_err_clear(&err);
    ck_assert_int_eq(sift_store_stats(&s, st, &err), SIFT_OK);
    ck_assert_uint_eq(s.reports, 70); /* 0 .. 69 */
    ck_assert_int_eq(q_int(st, "SELECT count(*) FROM reports r WHERE"
                               " record_count <> (SELECT count(*) FROM"
                               " records c WHERE c.report_id = r.id)"),
                     0);
    sift_store_close(st);
}
END_TEST

/* A generated corpus of `reports` reports in box/gen. */
static void
gen_corpus(const char *dir, int reports, int records)
{
    char nrep[16], nrec[16];
    const char *argv[] = {SIFT_GEN,   "--reports", nrep, "--records", nrec,
                          "--format", "mixed",     dir,  NULL};
    char *out = NULL, *errout = NULL;

    snprintf(nrep, sizeof(nrep), "%d", reports);
    snprintf(nrec, sizeof(nrec), "%d", records);
    ck_assert_int_eq(run(argv, NULL, &out, &errout), 0);
    free(out);
    free(errout);
}

static pid_t
spawn_ingest(const char *db, const char *dir, const char *errfile)
{
    pid_t pid = fork();

    if (pid == 0) {
        FILE *e = freopen(errfile, "w", stderr);
        (void)e;
        if (freopen("/dev/null", "w", stdout) == NULL)
            _exit(126);
        setenv("DMARCSIFT_CONFIG", "/dev/null", 1);
        execl(SIFT_BINARY, SIFT_BINARY, "ingest", "-q", "--db", db, dir,
              (char *)NULL);
        _exit(127);
    }
    return pid;
}

static uint64_t
reports_in(const char *db)
{
    sift_store *st = open_ok(db, SIFT_STORE_READONLY);
    sift_stats s;
    sift_err err;

    sift_err_clear(&err);
    ck_assert_int_eq(sift_store_stats(&s, st, &err), SIFT_OK);
    /* never a half report */
    ck_assert_int_eq(q_int(st, "SELECT count(*) FROM reports r WHERE"
                               " record_count <> (SELECT count(*) FROM"
                               " records c WHERE c.report_id = r.id)"),
                     0);
    sift_store_close(st);
    return s.reports;
}

/* 4 and 12 `dmarcsift ingest` processes over the same corpus at once
 * (issues 14 and 19): each report once, every process exits 0 with
 * nothing on stderr. */
START_TEST(test_concurrent_ingests)
{
    int n = _i == 0 ? 4 : 12;
    char dir[600], errf[12][640], *e;
    pid_t pid[12];
    int k, status;

    snprintf(dir, sizeof(dir), "%s/gen", box);
    gen_corpus(dir, 400, 20);
    for (k = 0; k < n; k++) {
        snprintf(errf[k], sizeof(errf[k]), "%s/err%d", box, k);
        pid[k] = spawn_ingest(dburi, dir, errf[k]);
    }
    for (k = 0; k < n; k++) {
        ck_assert_int_eq(waitpid(pid[k], &status, 0), pid[k]);
        e = slurp(errf[k], NULL);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                      "ingest %d exit %d: %s", k, WEXITSTATUS(status), e);
        ck_assert_str_eq(e, "");
        free(e);
    }
    ck_assert_uint_eq(reports_in(dburi), 400);
}
END_TEST

/* Reads while a 3,000-report ingest runs (issue 19 against PostgreSQL):
 * every `stats` and `report` exits 0, and the ingest stores everything. */
START_TEST(test_reads_during_ingest)
{
    char dir[600], errf[640];
    const char *stats[] = {SIFT_BINARY, "stats", "--db", dburi, NULL};
    const char *report[] = {SIFT_BINARY, "report", "--db", dburi, NULL};
    pid_t pid;
    int status, i, reads = 0;

    snprintf(dir, sizeof(dir), "%s/gen", box);
    snprintf(errf, sizeof(errf), "%s/err", box);
    gen_corpus(dir, 3000, 5);
    sift_store_close(open_ok(dburi, 0));
    setenv("DMARCSIFT_CONFIG", "/dev/null", 1);
    pid = spawn_ingest(dburi, dir, errf);
    for (i = 0; i < 200 && waitpid(pid, &status, WNOHANG) == 0; i++) {
        char *o = NULL, *er = NULL;
        int rc = run(i % 4 ? stats : report, NULL, &o, &er);
        ck_assert_msg(rc == 0, "read %d exit %d: %s", i, rc, er);
        free(o);
        free(er);
        reads++;
    }
    if (i == 200)
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_int_eq(WEXITSTATUS(status), 0);
    ck_assert_int_gt(reads, 5);
    ck_assert_uint_eq(reports_in(dburi), 3000);
}
END_TEST

/* SIGKILL of an ingest leaves no half report; the next run completes. */
START_TEST(test_sigkill_ingest)
{
    char dir[600], errf[640];
    struct timespec t = {0, 400 * 1000000L};
    pid_t pid;
    int status;
    uint64_t before;

    snprintf(dir, sizeof(dir), "%s/gen", box);
    snprintf(errf, sizeof(errf), "%s/err", box);
    gen_corpus(dir, 1500, 60);
    sift_store_close(open_ok(dburi, 0)); /* the schema, before the kill */
    pid = spawn_ingest(dburi, dir, errf);
    nanosleep(&t, NULL);
    kill(pid, SIGKILL);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    before = reports_in(dburi); /* asserts: no half report */
    ck_assert_uint_lt(before, 1500);
    pid = spawn_ingest(dburi, dir, errf);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_int_eq(WEXITSTATUS(status), 0);
    ck_assert_uint_eq(reports_in(dburi), 1500);
}
END_TEST

/* `dmarcsift ARGS...` in a child, stderr into errfile (NULL: /dev/null). */
static pid_t
spawn_sift(const char *const *args, const char *errfile)
{
    pid_t pid = fork();

    if (pid == 0) {
        const char *argv[16];
        size_t i;

        if (freopen(errfile ? errfile : "/dev/null", "w", stderr) == NULL ||
            freopen("/dev/null", "w", stdout) == NULL)
            _exit(126);
        setenv("DMARCSIFT_CONFIG", "/dev/null", 1);
        argv[0] = SIFT_BINARY;
        for (i = 0; args[i] != NULL && i < 14; i++)
            argv[i + 1] = args[i];
        argv[i + 1] = NULL;
        execv(SIFT_BINARY, (char *const *)argv);
        _exit(127);
    }
    return pid;
}

/* Exit code of pid, or -signal. */
static int
wait_code(pid_t pid)
{
    int status;

    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}

static double
now_s(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Reports and failed inputs in db; no input both stored and failed. */
static void
retry_counts(const char *db, uint64_t *reports, uint64_t *failed)
{
    sift_store *st = open_ok(db, SIFT_STORE_READONLY);
    sift_stats s;
    sift_err err;

    sift_err_clear(&err);
    ck_assert_int_eq(sift_store_stats(&s, st, &err), SIFT_OK);
    ck_assert_int_eq(q_int(st, "SELECT count(*) FROM failed_inputs f"
                               " JOIN reports r ON f.path = r.input_path"),
                     0);
    ck_assert_int_eq(q_int(st, "SELECT count(*) FROM reports r WHERE"
                               " record_count <> (SELECT count(*) FROM"
                               " records c WHERE c.report_id = r.id)"),
                     0);
    sift_store_close(st);
    *reports = s.reports;
    *failed = s.failed_inputs;
}

/* Issue 19 against PostgreSQL: a SIGKILL at any point of retry-failed
 * leaves every input either stored or still failed, never both and
 * never neither; the next retry completes. Each kill lands in a whole
 * retry of all n inputs (the database is made again from a template of
 * the failed state). */
START_TEST(test_kill_during_retry)
{
    enum { N = 120, KILLS = 8 };
    char dir[600], sql[256], pristine[80], copy[80], curi[1024];
    const char *ing[] = {
        "ingest", "--quiet", "--db", dburi, "--max-report-size",
        "1K",     dir,       NULL};
    const char *retry[] = {"retry-failed", "--quiet", "--db", dburi, NULL};
    const char *retry2[] = {"retry-failed", "--quiet", "--db", curi, NULL};
    uint64_t reports, failed;
    double t0, clean;
    int i, killed = 0;

    snprintf(dir, sizeof(dir), "%s/gen", box);
    snprintf(pristine, sizeof(pristine), "%s_pristine", dbname);
    snprintf(copy, sizeof(copy), "%s_copy", dbname);
    gen_corpus(dir, N, 12); /* each over 1K */
    ck_assert_int_eq(wait_code(spawn_sift(ing, NULL)), 65);
    retry_counts(dburi, &reports, &failed);
    ck_assert_uint_eq(reports, 0);
    ck_assert_uint_eq(failed, N);
    snprintf(sql, sizeof(sql), "CREATE DATABASE %s TEMPLATE %s", pristine,
             dbname);
    admin(sql);
    /* how long a whole retry takes, on a copy */
    snprintf(sql, sizeof(sql), "CREATE DATABASE %s TEMPLATE %s", copy,
             pristine);
    admin(sql);
    pgu_uri(curi, sizeof(curi), server, copy);
    t0 = now_s();
    ck_assert_int_eq(wait_code(spawn_sift(retry2, NULL)), 0);
    clean = now_s() - t0;
    retry_counts(curi, &reports, &failed);
    ck_assert_uint_eq(reports, N);
    ck_assert_uint_eq(failed, 0);
    snprintf(sql, sizeof(sql), "DROP DATABASE %s WITH (FORCE)", copy);
    admin(sql);

    srand(19);
    for (i = 0; i < KILLS; i++) {
        double at = 0.02 + 0.8 * clean * (double)rand() / RAND_MAX;
        struct timespec d;
        pid_t pid;

        if (i > 0) {
            snprintf(sql, sizeof(sql), "DROP DATABASE %s WITH (FORCE)", dbname);
            admin(sql);
            snprintf(sql, sizeof(sql), "CREATE DATABASE %s TEMPLATE %s", dbname,
                     pristine);
            admin(sql);
        }
        pid = spawn_sift(retry, NULL);
        d.tv_sec = (time_t)at;
        d.tv_nsec = (long)((at - (double)d.tv_sec) * 1e9);
        nanosleep(&d, NULL);
        kill(pid, SIGKILL);
        killed += wait_code(pid) == -SIGKILL;
        retry_counts(dburi, &reports, &failed);
        ck_assert_msg(reports + failed == N,
                      "after a kill at %.3f s: %llu reports + %llu failed"
                      " != %d",
                      at, (unsigned long long)reports,
                      (unsigned long long)failed, N);
    }
    ck_assert_int_eq(wait_code(spawn_sift(retry, NULL)), 0);
    retry_counts(dburi, &reports, &failed);
    printf("check_pg: retry-failed killed %d of %d times (clean run %.2f s);"
           " counts added up after each\n",
           killed, KILLS, clean);
    ck_assert_uint_eq(reports, N);
    ck_assert_uint_eq(failed, 0);
    ck_assert_int_ge(killed, KILLS / 2);
    snprintf(sql, sizeof(sql), "DROP DATABASE %s", pristine);
    admin(sql);
}
END_TEST

/* A server restart mid-ingest ends that run with one line and exit 74;
 * the next run completes. */
START_TEST(test_server_restart)
{
    const char *cluster = getenv("SIFT_TEST_PG_DIR");
    char dir[600], errf[640], *e, *nl;
    struct timespec t = {0, 500 * 1000000L};
    pid_t pid;
    int status;

    if (cluster == NULL || cluster[0] == '\0') {
        printf("check_pg: server restart case skipped (no SIFT_TEST_PG_DIR)\n");
        return;
    }
    snprintf(dir, sizeof(dir), "%s/gen", box);
    snprintf(errf, sizeof(errf), "%s/err", box);
    gen_corpus(dir, 3000, 60);
    sift_store_close(open_ok(dburi, 0));
    pid = spawn_ingest(dburi, dir, errf);
    nanosleep(&t, NULL);
    {
        const char *argv[] = {"/bin/sh", SIFT_PG_CLUSTER, "restart", cluster,
                              NULL};
        char *o = NULL, *er = NULL;
        int rc = run(argv, NULL, &o, &er);
        ck_assert_msg(rc == 0, "restart: %s", er);
        free(o);
        free(er);
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    e = slurp(errf, NULL);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 74, "exit %d: %s",
                  WEXITSTATUS(status), e);
    nl = strchr(e, '\n');
    ck_assert_msg(nl != NULL && nl[1] == '\0', "not one line: %s", e);
    ck_assert_ptr_nonnull(strstr(e, "lost the connection to the database"));
    free(e);
    pid = spawn_ingest(dburi, dir, errf);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_int_eq(WEXITSTATUS(status), 0);
    ck_assert_uint_eq(reports_in(dburi), 3000);
}
END_TEST

static Suite *
pg_suite(void)
{
    Suite *s = suite_create("pg");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_prune_drops_partitions);
    tcase_add_loop_test(tc, test_hold_imap_eval, 0, 2);
    tcase_add_loop_test(tc, test_eval_versions, 0, 2);
    tcase_add_test(tc, test_pg_schema6_upgrade);
    tcase_add_test(tc, test_waits_for_anothers_upgrade);
    tcase_add_test(tc, test_record_packs);
    tcase_add_test(tc, test_auth_in_record_row);
    tcase_add_test(tc, test_copies_of_a_long_stored_report);
    tcase_add_test(tc, test_unasked_copies);
    tcase_add_test(tc, test_reports_half_full);
    tcase_add_test(tc, test_malformed_packs);
    tcase_add_test(tc, test_read_only_server_refuses_writer);
    tcase_add_test(tc, test_lost_batch_is_told);
    tcase_add_loop_test(tc, test_batch_deferred_writes, 0, 2);
    tcase_add_test(tc, test_typed_reads_equal);
    tcase_add_test(tc, test_connection_errors);
    suite_add_tcase(s, tc);
    tc = tcase_create("processes");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_concurrent_writers);
    tcase_add_loop_test(tc, test_concurrent_ingests, 0, 2);
    tcase_add_test(tc, test_reads_during_ingest);
    tcase_add_test(tc, test_sigkill_ingest);
    tcase_add_test(tc, test_server_restart);
    suite_add_tcase(s, tc);
    tc = tcase_create("retry");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_kill_during_retry);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr;
    int failed;

    server = getenv("SIFT_TEST_PG");
    if (server == NULL || server[0] == '\0' || strrchr(server, '/') == NULL) {
        printf("check_pg: SKIPPED: no $SIFT_TEST_PG (start a server with "
               "scripts/pg-cluster.sh)\n");
        return 77;
    }
    sr = srunner_create(pg_suite());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
