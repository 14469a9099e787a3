/* verdicts.c -- the stored verdicts and the evaluation that wrote them
 * (issue 12; per report since schema 7, issue 14): rewrite the verdict
 * columns of the reports below an evaluation version, whole reports in
 * batches, from each record rebuilt as sift_record (its report's policy,
 * its reasons and auth results), with a verdict function the caller
 * provides (report/'s evaluation: store/ does not depend on it), and
 * stamp those reports. SQL stays here; memory is bounded by one record. */
#include "sqlite_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CHILD 64 /* reasons / DKIM / SPF results read back per record */

int
sift_sq_count_records(sift_sq *st, uint64_t *n, sift_err *err)
{
    sqlite3_stmt *s = NULL;
    int rc;

    *n = 0;
    rc = sqlite3_prepare_v2(st->db, "SELECT count(*) FROM records", -1, &s,
                            NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        *n = (uint64_t)sqlite3_column_int64(s, 0);
        rc = SQLITE_OK;
    }
    sqlite3_finalize(s);
    return rc == SQLITE_OK ? SIFT_OK
                           : sift_sq__db_err(st, rc, err, "count records");
}

static const char *
col(sqlite3_stmt *s, int i)
{
    return (const char *)sqlite3_column_text(s, i);
}

/* Copies of a row's strings live until the next row: SQLite's pointers
 * are invalidated by the next step of their own statement only, and the
 * child statements are reset per record, so the record's strings are
 * copied into one arena. */
typedef struct arena {
    char *p;
    size_t n, cap;
} arena;

static const char *
keep(arena *a, const char *s, int *oom)
{
    size_t l;
    char *q;

    if (s == NULL)
        return NULL;
    l = strlen(s) + 1;
    if (a->n + l > a->cap) {
        size_t cap = a->cap ? a->cap : 4096;
        while (cap < a->n + l)
            cap *= 2;
        /* a realloc would move earlier strings: grow only between
         * records (the caller resets n), else fail this one */
        if (a->n > 0) {
            *oom = 1;
            return NULL;
        }
        if ((q = realloc(a->p, cap)) == NULL) {
            *oom = 1;
            return NULL;
        }
        a->p = q;
        a->cap = cap;
    }
    memcpy(a->p + a->n, s, l);
    a->n += l;
    return a->p + a->n - l;
}

int
sift_sq_rewrite_verdicts(sift_sq *st, int version, int redo, int64_t after,
                         unsigned limit, int64_t *last, unsigned *done,
                         sift_verdict_fn fn, void *payload, sift_err *err)
{
    /* whole reports below `below`, after `after`, up to about limit
     * records; the batch's write lock keeps the set fixed */
    static const char q_pick[] = "SELECT id, record_count FROM reports"
                                 " WHERE id > ?1 AND eval_version < ?2"
                                 " ORDER BY id";
    static const char q_rec[] =
        "SELECT c.id, c.report_id, c.source_ip, c.count, c.disposition,"
        " c.pe_dkim, c.pe_spf, c.header_from, c.envelope_from,"
        " c.envelope_to, r.policy_domain, r.adkim, r.aspf, r.p, r.sp, r.np,"
        " r.pct, r.testing, r.org_name, r.date_begin, r.date_end"
        " FROM reports r JOIN records c ON c.report_id = r.id"
        " WHERE r.id > ?1 AND r.id <= ?2 AND r.eval_version < ?3";
    static const char q_rs[] = "SELECT type, comment FROM reasons"
                               " WHERE record_id = ?1 ORDER BY idx";
    static const char q_dk[] = "SELECT domain, selector, result, human_result"
                               " FROM dkim_results WHERE record_id = ?1"
                               " ORDER BY idx";
    static const char q_sp[] = "SELECT domain, scope, result, human_result"
                               " FROM spf_results WHERE record_id = ?1"
                               " ORDER BY idx";
    static const char q_up[] =
        "UPDATE records SET dmarc_fail = ?2, would_reject = ?3, outcome = ?4,"
        " spf_aligned = ?5, dkim_aligned = ?6, categories = ?7, flags = ?8,"
        " spf_domain = ?9, dkim_domain = ?10, primary_cat = ?11"
        " WHERE id = ?1";
    static const char q_stamp[] = "UPDATE reports SET eval_version = ?3"
                                  " WHERE id > ?1 AND id <= ?2"
                                  " AND eval_version < ?4";
    sqlite3_stmt *rec = NULL, *rs = NULL, *dk = NULL, *sp = NULL, *up = NULL,
                 *pick = NULL, *stamp = NULL;
    int64_t upto = after;
    uint64_t want = 0;
    int below = redo ? version + 1 : version;
    sift_reason reasons[MAX_CHILD];
    sift_dkim_result dkims[MAX_CHILD];
    sift_spf_result spfs[MAX_CHILD];
    arena a = {NULL, 0, 0};
    int rc, in_tx = 0, oom = 0;

    *last = after;
    *done = 0;
    if (st->readonly)
        return sift_sq__fail(st, err, "database is read-only");
    if ((rc = sift_sq__exec(st, "BEGIN IMMEDIATE", err)) != SIFT_OK)
        return rc;
    in_tx = 1;
    if ((rc = sqlite3_prepare_v2(st->db, q_rec, -1, &rec, NULL)) != SQLITE_OK ||
        (rc = sqlite3_prepare_v2(st->db, q_rs, -1, &rs, NULL)) != SQLITE_OK ||
        (rc = sqlite3_prepare_v2(st->db, q_dk, -1, &dk, NULL)) != SQLITE_OK ||
        (rc = sqlite3_prepare_v2(st->db, q_sp, -1, &sp, NULL)) != SQLITE_OK ||
        (rc = sqlite3_prepare_v2(st->db, q_up, -1, &up, NULL)) != SQLITE_OK ||
        (rc = sqlite3_prepare_v2(st->db, q_pick, -1, &pick, NULL)) !=
            SQLITE_OK ||
        (rc = sqlite3_prepare_v2(st->db, q_stamp, -1, &stamp, NULL)) !=
            SQLITE_OK) {
        rc = sift_sq__db_err(st, rc, err, "reevaluate");
        goto out;
    }
    sqlite3_bind_int64(pick, 1, after);
    sqlite3_bind_int(pick, 2, below);
    while (want < limit && (rc = sqlite3_step(pick)) == SQLITE_ROW) {
        int64_t n = sqlite3_column_int64(pick, 1);
        upto = sqlite3_column_int64(pick, 0);
        want += n > 0 ? (uint64_t)n : 1; /* an empty report counts 1 */
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        rc = sift_sq__db_err(st, rc, err, "reevaluate");
        goto out;
    }
    sqlite3_reset(pick);
    if (upto == after) { /* nothing to do */
        rc = SIFT_OK;
        goto out;
    }
    sqlite3_bind_int64(rec, 1, after);
    sqlite3_bind_int64(rec, 2, upto);
    sqlite3_bind_int(rec, 3, below);
    while ((rc = sqlite3_step(rec)) == SQLITE_ROW) {
        sift_report_meta meta;
        sift_record r;
        sift_verdict v;
        int64_t id = sqlite3_column_int64(rec, 0);
        size_t n;
        int tries;

        for (tries = 0; tries < 8; tries++) {
            oom = 0;
            a.n = 0;
            memset(&meta, 0, sizeof(meta));
            memset(&r, 0, sizeof(r));
            r.source_ip = keep(&a, col(rec, 2), &oom);
            r.count = (uint64_t)sqlite3_column_int64(rec, 3);
            r.disposition = keep(&a, col(rec, 4), &oom);
            r.dkim = keep(&a, col(rec, 5), &oom);
            r.spf = keep(&a, col(rec, 6), &oom);
            r.header_from = keep(&a, col(rec, 7), &oom);
            r.envelope_from = keep(&a, col(rec, 8), &oom);
            r.envelope_to = keep(&a, col(rec, 9), &oom);
            meta.domain = keep(&a, col(rec, 10), &oom);
            meta.adkim = keep(&a, col(rec, 11), &oom);
            meta.aspf = keep(&a, col(rec, 12), &oom);
            meta.p = keep(&a, col(rec, 13), &oom);
            meta.sp = keep(&a, col(rec, 14), &oom);
            meta.np = keep(&a, col(rec, 15), &oom);
            meta.pct = sqlite3_column_type(rec, 16) == SQLITE_NULL
                           ? -1
                           : sqlite3_column_int(rec, 16);
            meta.testing = keep(&a, col(rec, 17), &oom);
            meta.org_name = keep(&a, col(rec, 18), &oom);
            meta.begin = sqlite3_column_int64(rec, 19);
            meta.end = sqlite3_column_int64(rec, 20);
            sqlite3_bind_int64(rs, 1, id);
            for (n = 0; n < MAX_CHILD && sqlite3_step(rs) == SQLITE_ROW; n++) {
                reasons[n].type = keep(&a, col(rs, 0), &oom);
                reasons[n].comment = keep(&a, col(rs, 1), &oom);
            }
            r.reasons = reasons;
            r.n_reasons = n;
            sqlite3_reset(rs);
            sqlite3_bind_int64(dk, 1, id);
            for (n = 0; n < MAX_CHILD && sqlite3_step(dk) == SQLITE_ROW; n++) {
                dkims[n].domain = keep(&a, col(dk, 0), &oom);
                dkims[n].selector = keep(&a, col(dk, 1), &oom);
                dkims[n].result = keep(&a, col(dk, 2), &oom);
                dkims[n].human_result = keep(&a, col(dk, 3), &oom);
            }
            r.dkim_results = dkims;
            r.n_dkim = n;
            sqlite3_reset(dk);
            sqlite3_bind_int64(sp, 1, id);
            for (n = 0; n < MAX_CHILD && sqlite3_step(sp) == SQLITE_ROW; n++) {
                spfs[n].domain = keep(&a, col(sp, 0), &oom);
                spfs[n].scope = keep(&a, col(sp, 1), &oom);
                spfs[n].result = keep(&a, col(sp, 2), &oom);
                spfs[n].human_result = keep(&a, col(sp, 3), &oom);
            }
            r.spf_results = spfs;
            r.n_spf = n;
            sqlite3_reset(sp);
            if (!oom)
                break;
            /* the arena was too small: grow it (now empty) and retry */
            a.n = 0;
            if (a.cap < 1u << 26) {
                char *q = realloc(a.p, a.cap ? a.cap * 4 : 65536);
                if (q == NULL)
                    break;
                a.p = q;
                a.cap = a.cap ? a.cap * 4 : 65536;
            }
        }
        if (oom) {
            rc = sift_err_set(err, SIFT_ENOMEM, "out of memory");
            goto out;
        }
        fn(payload, &v, &meta, &r);
        sqlite3_bind_int64(up, 1, id);
        sqlite3_bind_int(up, 2, v.dmarc_fail);
        sqlite3_bind_int(up, 3, v.would_reject);
        sqlite3_bind_int(up, 4, (int)v.outcome);
        sqlite3_bind_int(up, 5, v.spf_aligned);
        sqlite3_bind_int(up, 6, v.dkim_aligned);
        sqlite3_bind_int64(up, 7, (int64_t)v.categories);
        sqlite3_bind_int64(up, 8,
                           (int64_t)sift_stored_flags(&v, r.disposition));
        if (v.spf_domain)
            sqlite3_bind_text(up, 9, v.spf_domain, -1, SQLITE_TRANSIENT);
        else
            sqlite3_bind_null(up, 9);
        if (v.dkim_domain)
            sqlite3_bind_text(up, 10, v.dkim_domain, -1, SQLITE_TRANSIENT);
        else
            sqlite3_bind_null(up, 10);
        sqlite3_bind_int(up, 11, (int)v.primary);
        if ((rc = sift_sq__run(st, up, err)) != SIFT_OK)
            goto out;
        (*done)++;
    }
    if (rc != SQLITE_DONE) {
        rc = sift_sq__db_err(st, rc, err, "reevaluate");
        goto out;
    }
    sqlite3_bind_int64(stamp, 1, after);
    sqlite3_bind_int64(stamp, 2, upto);
    sqlite3_bind_int(stamp, 3, version);
    sqlite3_bind_int(stamp, 4, below);
    if ((rc = sift_sq__run(st, stamp, err)) != SIFT_OK)
        goto out;
    *last = upto;
    rc = SIFT_OK;
out:
    sqlite3_finalize(rec);
    sqlite3_finalize(rs);
    sqlite3_finalize(dk);
    sqlite3_finalize(sp);
    sqlite3_finalize(up);
    sqlite3_finalize(pick);
    sqlite3_finalize(stamp);
    free(a.p);
    if (in_tx) {
        if (rc == SIFT_OK)
            rc = sift_sq__exec(st, "COMMIT", err);
        if (rc != SIFT_OK && !sqlite3_get_autocommit(st->db))
            sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
    }
    return rc;
}
