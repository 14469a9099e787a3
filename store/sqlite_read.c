/* sqlite_read.c -- the SQLite backend's typed reads for report/ and
 * export (sift_store.h, "typed reads").
 *
 * The SQLite-only tricks live here: the record scan walks the table
 * without an index (NOT INDEXED: a table scan beats walking an index and
 * sorting 10^6 rows), on a memory-mapped read-only handle, split at the
 * middle record id into two halves scanned on two threads, the upper one
 * on a second read-only handle of the same file (docs/report.md,
 * docs/performance.md). The filter is one SQL fragment over `reports r`
 * with four bound parameters (?1 domains, ?2 reporters: JSON arrays of
 * strings; ?3 since, ?4 until). */
#include "sqlite_int.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sift_json.h"

/* WHERE fragment; a NULL parameter disables its test. The date test is
 * the half-open overlap of [date_begin, date_end) with [since, until). */
#define FILTER_SQL                                                             \
    " (?1 IS NULL OR r.policy_domain COLLATE NOCASE IN"                        \
    "   (SELECT value FROM json_each(?1)))"                                    \
    " AND (?2 IS NULL OR r.org_name COLLATE NOCASE IN"                         \
    "   (SELECT value FROM json_each(?2)))"                                    \
    " AND (?3 IS NULL OR r.date_end > ?3)"                                     \
    " AND (?4 IS NULL OR r.date_begin < ?4) "
#define FILTER_NPARAMS 4

typedef struct fparams {
    sift_param p[FILTER_NPARAMS];
    char *json[2];
} fparams;

/* A JSON array of the strings v[0..n), NULL when n == 0 or on ENOMEM
 * (*nomem set). */
static char *
json_list(const char *const *v, size_t n, int *nomem)
{
    char *out = NULL;
    size_t len = 0, i;
    FILE *fp;

    if (n == 0)
        return NULL;
    if ((fp = open_memstream(&out, &len)) == NULL) {
        *nomem = 1;
        return NULL;
    }
    fputc('[', fp);
    for (i = 0; i < n; i++) {
        if (i)
            fputc(',', fp);
        sift_json_str(fp, v[i]);
    }
    fputc(']', fp);
    if (ferror(fp)) {
        fclose(fp);
        free(out);
        *nomem = 1;
        return NULL;
    }
    fclose(fp);
    return out;
}

static void
params_free(fparams *fp)
{
    free(fp->json[0]);
    free(fp->json[1]);
}

/* Fill fp from f; free with params_free() either way. */
static int
params(fparams *fp, const sift_store_filter *f, sift_err *err)
{
    sift_param *p = fp->p;
    int nomem = 0;

    memset(fp, 0, sizeof(*fp));
    p[0].type = p[1].type = SIFT_P_TEXT;
    p[2].type = p[3].type = SIFT_P_NULL;
    if (f == NULL)
        return SIFT_OK;
    p[0].s = fp->json[0] = json_list(f->domains, f->ndomains, &nomem);
    p[1].s = fp->json[1] = json_list(f->reporters, f->nreporters, &nomem);
    if (nomem)
        return sift_err_set(err, SIFT_ENOMEM, "out of memory");
    if (f->has_since) {
        p[2].type = SIFT_P_INT;
        p[2].i = f->since;
    }
    if (f->has_until) {
        p[3].type = SIFT_P_INT;
        p[3].i = f->until;
    }
    return SIFT_OK;
}

static const char *
txt(sift_row *r, int col)
{
    const char *s = sift_row_text(r, col);
    return s ? s : "";
}

/* --- reports ------------------------------------------------------------ */

struct cbs {
    void *cb;
    void *payload;
};

static int
on_report(void *payload, sift_row *row)
{
    struct cbs *c = payload;
    sift_report_row r;

    r.id = sift_row_int(row, 0);
    r.domain = txt(row, 1);
    r.org = txt(row, 2);
    r.begin = sift_row_int(row, 3);
    r.end = sift_row_int(row, 4);
    return ((sift_report_row_cb)c->cb)(c->payload, &r);
}

int
sift_sq_read_reports(sift_sq *st, const sift_store_filter *f,
                     sift_report_row_cb cb, void *payload, sift_err *err)
{
    static const char q[] =
        "SELECT r.id, r.policy_domain, r.org_name, r.date_begin, r.date_end"
        " FROM reports r WHERE" FILTER_SQL "ORDER BY r.id";
    struct cbs c = {(void *)cb, payload};
    fparams fp;
    int rc = params(&fp, f, err);

    if (rc == SIFT_OK)
        rc = sift_sq_query(st, q, fp.p, FILTER_NPARAMS, on_report, &c, err);
    params_free(&fp);
    return rc;
}

/* --- evaluation versions ------------------------------------------------ */

static int
on_eval_version(void *payload, sift_row *row)
{
    struct cbs *c = payload;

    return ((sift_eval_version_cb)c->cb)(c->payload, (int)sift_row_int(row, 0),
                                         (uint64_t)sift_row_int(row, 1),
                                         (uint64_t)sift_row_int(row, 2));
}

int
sift_sq_eval_versions(sift_sq *st, const sift_store_filter *f,
                      sift_eval_version_cb cb, void *payload, sift_err *err)
{
    static const char q[] = "SELECT r.eval_version, count(*),"
                            " sat_sum(r.record_count) FROM reports r"
                            " WHERE" FILTER_SQL "GROUP BY r.eval_version"
                            " ORDER BY r.eval_version";
    struct cbs c = {(void *)cb, payload};
    fparams fp;
    int rc = params(&fp, f, err);

    if (rc == SIFT_OK)
        rc = sift_sq_query(st, q, fp.p, FILTER_NPARAMS, on_eval_version, &c,
                           err);
    params_free(&fp);
    return rc;
}

/* --- reasons ------------------------------------------------------------ */

static int
on_reason(void *payload, sift_row *row)
{
    struct cbs *c = payload;

    return ((sift_reason_row_cb)c->cb)(c->payload, sift_row_int(row, 0),
                                       txt(row, 1), sift_row_int(row, 2) != 0);
}

int
sift_sq_read_reasons(sift_sq *st, sift_reason_row_cb cb, void *payload,
                     sift_err *err)
{
    /* SQLite's lower() and LIKE fold ASCII only (no ICU) */
    static const char q[] =
        "SELECT x.record_id, lower(coalesce(x.type, '')),"
        " lower(coalesce(x.comment, '')) LIKE '%arc=pass%' FROM reasons x";
    struct cbs c = {(void *)cb, payload};

    return sift_sq_query(st, q, NULL, 0, on_reason, &c, err);
}

/* --- the record scan ---------------------------------------------------- */

/* Only what every record contributes: SQLite decoding columns is most of
 * the scan's time (bench row f: each column fetched once, no SQL
 * expression). */
#define Q_SCAN                                                                 \
    "SELECT c.report_id, c.source_ip, c.count, c.outcome,"                     \
    " c.flags, c.categories, c.header_from, c.spf_domain, c.dkim_domain,"      \
    " c.id FROM records c NOT INDEXED"

static const char *
col(sqlite3_stmt *s, int i)
{
    return (const char *)sqlite3_column_text(s, i);
}

/* Scan records with ids in (lo, hi] (hi < 0: no upper bound). */
static int
scan_range(sift_sq *st, int64_t lo, int64_t hi, sift_scan_cb cb, void *payload,
           sift_err *err)
{
    static const char q_all[] = Q_SCAN;
    static const char q_lo[] = Q_SCAN " WHERE c.id <= ?1";
    static const char q_hi[] = Q_SCAN " WHERE c.id > ?1";
    sqlite3_stmt *s = NULL;
    sift_scan_row r;
    int rc;

    rc = sqlite3_prepare_v2(st->db,
                            lo < 0 && hi < 0 ? q_all
                            : hi >= 0        ? q_lo
                                             : q_hi,
                            -1, &s, NULL);
    if (rc != SQLITE_OK)
        return sift_sq__db_err(st, rc, err, "scan");
    if (hi >= 0)
        sqlite3_bind_int64(s, 1, hi);
    else if (lo >= 0)
        sqlite3_bind_int64(s, 1, lo);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        int stop;

        r.report = sqlite3_column_int64(s, 0);
        r.source_ip = col(s, 1);
        r.count = (uint64_t)sqlite3_column_int64(s, 2);
        r.outcome = sqlite3_column_int(s, 3);
        r.flags = (uint32_t)sqlite3_column_int64(s, 4);
        r.categories = (uint32_t)sqlite3_column_int64(s, 5);
        r.header_from = col(s, 6);
        r.spf_domain = col(s, 7);
        r.dkim_domain = col(s, 8);
        r.id = sqlite3_column_int64(s, 9);
        if ((stop = cb(payload, &r)) != 0) {
            sqlite3_finalize(s);
            return stop;
        }
    }
    rc = rc == SQLITE_DONE
             ? SIFT_OK
             : sift_sq__db_err(st, sqlite3_extended_errcode(st->db), err,
                               "scan");
    sqlite3_finalize(s);
    return rc;
}

typedef struct half {
    sift_sq *st;
    int64_t split;
    sift_scan_cb cb;
    void *payload;
    sift_err err;
    int rc;
} half;

static void *
scan_half(void *arg)
{
    half *h = arg;

    h->rc = scan_range(h->st, h->split, -1, h->cb, h->payload, &h->err);
    return NULL;
}

static int
on_max_id(void *payload, sift_row *row)
{
    *(int64_t *)payload = sift_row_int(row, 0);
    return 0;
}

/* Two halves on two cores when st is a read-only handle on a file (a
 * second handle then sees the same committed data): 1.95 -> 1.3 s over
 * 5M records. Else one pass. */
int
sift_sq_scan_records(sift_sq *st, int parts, sift_scan_cb cb,
                     void *const *payloads, int *used, sift_err *err)
{
    int64_t max_id = 0;
    pthread_t tid;
    half h;
    int rc;

    *used = 1;
    if (parts < 2 || !st->readonly || strcmp(st->path, ":memory:") == 0 ||
        sift_sq_query(st, "SELECT coalesce(max(id), 0) FROM records", NULL, 0,
                      on_max_id, &max_id, err) != SIFT_OK ||
        max_id < 2)
        return scan_range(st, -1, -1, cb, payloads[0], err);
    memset(&h, 0, sizeof(h));
    sift_err_clear(&h.err);
    h.split = max_id / 2;
    h.cb = cb;
    h.payload = payloads[1];
    if (sift_sq_open(&h.st, st->path, SIFT_STORE_READONLY | SIFT_STORE_SCAN,
                     &h.err) != SIFT_OK)
        return scan_range(st, -1, -1, cb, payloads[0], err);
    if (pthread_create(&tid, NULL, scan_half, &h) != 0) {
        sift_sq_close(h.st);
        return scan_range(st, -1, -1, cb, payloads[0], err);
    }
    rc = scan_range(st, -1, h.split, cb, payloads[0], err);
    pthread_join(tid, NULL);
    sift_sq_close(h.st);
    if (rc == SIFT_OK && h.rc != SIFT_OK) {
        *err = h.err;
        rc = h.rc;
    }
    *used = 2;
    return rc;
}

/* --- the sources with the most messages ----------------------------------- */

/* JSON array of the ids (malloc'd), NULL when out of memory. */
static char *
id_list(const int64_t *ids, size_t n)
{
    char *out = NULL;
    size_t len = 0, i;
    FILE *fp = open_memstream(&out, &len);

    if (fp == NULL)
        return NULL;
    fputc('[', fp);
    for (i = 0; i < n; i++)
        fprintf(fp, "%s%lld", i ? "," : "", (long long)ids[i]);
    fputc(']', fp);
    if (ferror(fp)) {
        fclose(fp);
        free(out);
        return NULL;
    }
    fclose(fp);
    return out;
}

static int
on_top_pair(void *payload, sift_row *row)
{
    struct cbs *c = payload;

    return ((sift_top_pair_cb)c->cb)(c->payload, txt(row, 0), txt(row, 1));
}

static int
on_domain_sources(void *payload, sift_row *row)
{
    struct cbs *c = payload;

    return ((sift_domain_sources_cb)c->cb)(c->payload, txt(row, 0),
                                           (uint64_t)sift_row_int(row, 1));
}

/* The records of the listed reports, per (domain, ip); count is the
 * stored 64-bit pattern of an unsigned value: total() (a double, never
 * an overflow error) of its unsigned value orders them. */
#define Q_PAIRS                                                                \
    "SELECT coalesce(r.policy_domain, '') AS d,"                               \
    " coalesce(c.source_ip, '') AS ip,"                                        \
    " total(CASE WHEN c.count < 0 THEN c.count + 18446744073709551616.0"       \
    " ELSE c.count END) AS m"                                                  \
    " FROM records c JOIN reports r ON r.id = c.report_id"                     \
    " WHERE c.report_id IN (SELECT value FROM json_each(?1)) GROUP BY d, ip"

int
sift_sq_top_sources(sift_sq *st, const int64_t *ids, size_t n, uint64_t limit,
                    sift_top_pair_cb pair, sift_domain_sources_cb domain,
                    void *payload, sift_err *err)
{
    static const char q_top[] = "SELECT d, ip FROM (" Q_PAIRS ")"
                                " ORDER BY m DESC, d, ip LIMIT ?2";
    static const char q_count[] = "SELECT d, count(*) FROM (" Q_PAIRS ")"
                                  " GROUP BY d";
    struct cbs c = {(void *)pair, payload};
    sift_param p[2];
    char *list = id_list(ids, n);
    sift_err e2;
    int rc, swap;

    if (list == NULL)
        return sift_err_set(err, SIFT_ENOMEM, "out of memory");
    p[0].type = SIFT_P_TEXT;
    p[0].s = list;
    p[1].type = SIFT_P_INT;
    p[1].i = limit > INT64_MAX ? INT64_MAX : (int64_t)limit;
    /* the sorter spills to temporary files, not to memory, for this call
     * only (the handle keeps its statement journals in memory); inside a
     * transaction (a writer's open batch) SQLite cannot switch, and the
     * sort stays in memory */
    swap = sqlite3_get_autocommit(st->db);
    if (swap &&
        (rc = sift_sq__exec(st, "PRAGMA temp_store = FILE", err)) != SIFT_OK)
        goto done;
    rc = sift_sq_query(st, q_top, p, 2, on_top_pair, &c, err);
    c.cb = (void *)domain;
    if (rc == SIFT_OK)
        rc = sift_sq_query(st, q_count, p, 1, on_domain_sources, &c, err);
    sift_err_clear(&e2);
    if (swap &&
        sift_sq__exec(st, "PRAGMA temp_store = MEMORY", &e2) != SIFT_OK &&
        rc == SIFT_OK) {
        *err = e2;
        rc = e2.code;
    }
done:
    free(list);
    return rc;
}

/* --- one record's verdict columns ---------------------------------------- */

static int
on_verdict(void *payload, sift_row *row)
{
    struct cbs *c = payload;

    return ((sift_verdict_row_cb)c->cb)(
        c->payload, sift_row_text(row, 0), sift_row_text(row, 1),
        (int)sift_row_int(row, 2), (int)sift_row_int(row, 3));
}

int
sift_sq_record_verdict(sift_sq *st, int64_t id, sift_verdict_row_cb cb,
                       void *payload, sift_err *err)
{
    static const char q[] =
        "SELECT pe_dkim, pe_spf, dkim_aligned, spf_aligned FROM records"
        " WHERE id = ?1";
    struct cbs c = {(void *)cb, payload};
    sift_param p = {SIFT_P_INT, 0, NULL};

    p.i = id;
    return sift_sq_query(st, q, &p, 1, on_verdict, &c, err);
}

/* --- policies ------------------------------------------------------------ */

static int
on_policy(void *payload, sift_row *row)
{
    struct cbs *c = payload;
    sift_policy_row r;

    r.domain = txt(row, 0);
    r.p = sift_row_text(row, 1);
    r.sp = sift_row_text(row, 2);
    r.np = sift_row_text(row, 3);
    r.pct = sift_row_is_null(row, 4) ? -1 : (int)sift_row_int(row, 4);
    r.testing = sift_row_text(row, 5);
    r.adkim = sift_row_text(row, 6);
    r.aspf = sift_row_text(row, 7);
    r.org = sift_row_text(row, 8);
    r.end = sift_row_int(row, 9);
    return ((sift_policy_row_cb)c->cb)(c->payload, &r);
}

int
sift_sq_read_policies(sift_sq *st, const sift_store_filter *f,
                      sift_policy_row_cb cb, void *payload, sift_err *err)
{
    static const char q[] =
        "SELECT policy_domain, p, sp, np, pct, testing, adkim, aspf, org_name,"
        " date_end FROM (SELECT r.*, row_number() OVER (PARTITION BY"
        " r.policy_domain ORDER BY r.date_end DESC, r.date_begin DESC,"
        " r.org_name, r.id) AS rn FROM reports r WHERE" FILTER_SQL
        ") WHERE rn = 1 ORDER BY policy_domain";
    struct cbs c = {(void *)cb, payload};
    fparams fp;
    int rc = params(&fp, f, err);

    if (rc == SIFT_OK)
        rc = sift_sq_query(st, q, fp.p, FILTER_NPARAMS, on_policy, &c, err);
    params_free(&fp);
    return rc;
}

/* --- export --------------------------------------------------------------- */

#define MAX_CHILD (1u << 20) /* children of one exported record */

typedef struct exp {
    sift_sq *st;
    sqlite3_stmt *rs, *dk, *sp;
    sift_export_cb cb;
    void *payload;
    sift_reason reasons[64];
    sift_dkim_result dkims[64];
    sift_spf_result spfs[64];
    sift_err *err;
} exp;

/* A copy of column i of s (SQLite's text is gone at the next step), NULL
 * for NULL; *oom set when the copy fails. */
static const char *
dup_col(sqlite3_stmt *s, int i, int *oom)
{
    const char *v = col(s, i);
    char *d;

    if (v == NULL)
        return NULL;
    if ((d = strdup(v)) == NULL)
        *oom = 1;
    return d;
}

/* Free the copied strings of n children of kind in arr. */
static void
children_free(void *arr, int kind, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (kind == 0) {
            sift_reason *x = (sift_reason *)arr + i;
            free((char *)x->type);
            free((char *)x->comment);
        } else if (kind == 1) {
            sift_dkim_result *x = (sift_dkim_result *)arr + i;
            free((char *)x->domain);
            free((char *)x->selector);
            free((char *)x->result);
            free((char *)x->human_result);
        } else {
            sift_spf_result *x = (sift_spf_result *)arr + i;
            free((char *)x->domain);
            free((char *)x->scope);
            free((char *)x->result);
            free((char *)x->human_result);
        }
    }
}

/* The child rows of record id through stmt s into an array of copies
 * (children_free): up to 64 children in the fixed arrays, more in a
 * heap array (*heap, freed by the caller). */
static int
children(exp *e, sqlite3_stmt *s, int64_t id, int kind, void **heap, size_t *n)
{
    size_t cap = 64;
    int rc, oom = 0;

    *n = 0;
    sqlite3_bind_int64(s, 1, id);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        void *arr = kind == 0   ? (void *)e->reasons
                    : kind == 1 ? (void *)e->dkims
                                : (void *)e->spfs;
        size_t sz = kind == 0   ? sizeof(sift_reason)
                    : kind == 1 ? sizeof(sift_dkim_result)
                                : sizeof(sift_spf_result);

        if (*n >= MAX_CHILD)
            break;
        if (*n == cap) { /* past the fixed array: move to the heap */
            void *p = realloc(*heap, sz * cap * 2);
            if (p == NULL)
                return sift_err_set(e->err, SIFT_ENOMEM, "out of memory");
            if (*heap == NULL)
                memcpy(p, arr, sz * cap);
            *heap = p;
            cap *= 2;
        }
        if (*heap != NULL)
            arr = *heap;
        if (kind == 0) {
            sift_reason *x = (sift_reason *)arr + *n;
            x->type = dup_col(s, 0, &oom);
            x->comment = dup_col(s, 1, &oom);
        } else if (kind == 1) {
            sift_dkim_result *x = (sift_dkim_result *)arr + *n;
            x->domain = dup_col(s, 0, &oom);
            x->selector = dup_col(s, 1, &oom);
            x->result = dup_col(s, 2, &oom);
            x->human_result = dup_col(s, 3, &oom);
        } else {
            sift_spf_result *x = (sift_spf_result *)arr + *n;
            x->domain = dup_col(s, 0, &oom);
            x->scope = dup_col(s, 1, &oom);
            x->result = dup_col(s, 2, &oom);
            x->human_result = dup_col(s, 3, &oom);
        }
        (*n)++;
        if (oom)
            return sift_err_set(e->err, SIFT_ENOMEM, "out of memory");
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return sift_sq__db_err(e->st, sqlite3_extended_errcode(e->st->db),
                               e->err, "export");
    return SIFT_OK;
}

static int
on_export(void *payload, sift_row *row)
{
    exp *e = payload;
    sift_report_meta m;
    sift_record r;
    sift_export_row x;
    void *h0 = NULL, *h1 = NULL, *h2 = NULL;
    size_t n0 = 0, n1 = 0, n2 = 0;
    int64_t id = sift_row_int(row, 27);
    int rc;

    memset(&m, 0, sizeof(m));
    memset(&r, 0, sizeof(r));
    m.org_name = sift_row_text(row, 0);
    m.email = sift_row_text(row, 1);
    m.report_id = sift_row_text(row, 2);
    m.begin = sift_row_int(row, 3);
    m.end = sift_row_int(row, 4);
    m.domain = sift_row_text(row, 5);
    m.adkim = sift_row_text(row, 6);
    m.aspf = sift_row_text(row, 7);
    m.p = sift_row_text(row, 8);
    m.sp = sift_row_text(row, 9);
    m.np = sift_row_text(row, 10);
    m.testing = sift_row_text(row, 11);
    m.pct = sift_row_is_null(row, 12) ? -1 : (int)sift_row_int(row, 12);
    r.source_ip = sift_row_text(row, 13);
    r.count = (uint64_t)sift_row_int(row, 14);
    r.disposition = sift_row_text(row, 15);
    r.dkim = sift_row_text(row, 16);
    r.spf = sift_row_text(row, 17);
    r.header_from = sift_row_text(row, 18);
    r.envelope_from = sift_row_text(row, 19);
    r.envelope_to = sift_row_text(row, 20);
    x.dmarc_fail = (int)sift_row_int(row, 21);
    x.would_reject = (int)sift_row_int(row, 22);
    x.outcome = (int)sift_row_int(row, 23);
    x.spf_aligned = (int)sift_row_int(row, 24);
    x.dkim_aligned = (int)sift_row_int(row, 25);
    x.categories = (uint32_t)sift_row_int(row, 26);
    x.meta = &m;
    x.rec = &r;
    rc = children(e, e->rs, id, 0, &h0, &n0);
    sqlite3_reset(e->rs);
    if (rc == SIFT_OK)
        rc = children(e, e->dk, id, 1, &h1, &n1);
    sqlite3_reset(e->dk);
    if (rc == SIFT_OK)
        rc = children(e, e->sp, id, 2, &h2, &n2);
    sqlite3_reset(e->sp);
    r.reasons = h0 ? h0 : e->reasons;
    r.dkim_results = h1 ? h1 : e->dkims;
    r.spf_results = h2 ? h2 : e->spfs;
    r.n_reasons = n0;
    r.n_dkim = n1;
    r.n_spf = n2;
    if (rc == SIFT_OK)
        rc = e->cb(e->payload, &x);
    children_free((void *)r.reasons, 0, n0);
    children_free((void *)r.dkim_results, 1, n1);
    children_free((void *)r.spf_results, 2, n2);
    free(h0);
    free(h1);
    free(h2);
    return rc;
}

int
sift_sq_export_records(sift_sq *st, const sift_store_filter *f,
                       sift_export_cb cb, void *payload, sift_err *err)
{
    static const char q[] =
        "SELECT r.org_name, r.email, r.report_id, r.date_begin, r.date_end,"
        " r.policy_domain, r.adkim, r.aspf, r.p, r.sp, r.np, r.testing, r.pct,"
        " c.source_ip, c.count, c.disposition, c.pe_dkim, c.pe_spf,"
        " c.header_from, c.envelope_from, c.envelope_to,"
        " c.dmarc_fail, c.would_reject, c.outcome, c.spf_aligned,"
        " c.dkim_aligned, c.categories, c.id"
        " FROM records c JOIN reports r ON r.id = c.report_id"
        " WHERE" FILTER_SQL "ORDER BY c.id";
    static const char q_rs[] = "SELECT type, comment FROM reasons"
                               " WHERE record_id = ?1 ORDER BY idx";
    static const char q_dk[] = "SELECT domain, selector, result, human_result"
                               " FROM dkim_results WHERE record_id = ?1"
                               " ORDER BY idx";
    static const char q_sp[] = "SELECT domain, scope, result, human_result"
                               " FROM spf_results WHERE record_id = ?1"
                               " ORDER BY idx";
    exp e;
    fparams fp;
    int rc;

    memset(&e, 0, sizeof(e));
    e.st = st;
    e.cb = cb;
    e.payload = payload;
    e.err = err;
    if ((rc = params(&fp, f, err)) != SIFT_OK)
        goto out;
    if ((rc = sqlite3_prepare_v2(st->db, q_rs, -1, &e.rs, NULL)) != SQLITE_OK ||
        (rc = sqlite3_prepare_v2(st->db, q_dk, -1, &e.dk, NULL)) != SQLITE_OK ||
        (rc = sqlite3_prepare_v2(st->db, q_sp, -1, &e.sp, NULL)) != SQLITE_OK) {
        rc = sift_sq__db_err(st, rc, err, "export");
        goto out;
    }
    rc = sift_sq_query(st, q, fp.p, FILTER_NPARAMS, on_export, &e, err);
out:
    params_free(&fp);
    sqlite3_finalize(e.rs);
    sqlite3_finalize(e.dk);
    sqlite3_finalize(e.sp);
    return rc;
}

/* --- the whole history (report/trend.c) --------------------------------- */
/* Every report's date range, reporter and policy domain, by id: for
 * first_seen, NEW senders and silent reporters (docs/report.md "Over
 * time"). */

static const char q_spans[] =
    "SELECT id, policy_domain, org_name, date_begin, date_end FROM reports"
    " ORDER BY id";

static int
on_span(void *payload, sift_row *row)
{
    struct cbs *s = payload;
    sift_report_span r;
    const char *d = sift_row_text(row, 1), *o = sift_row_text(row, 2);

    memset(&r, 0, sizeof(r));
    r.id = sift_row_int(row, 0);
    r.domain = d ? d : "";
    r.org = o ? o : "";
    r.begin = sift_row_int(row, 3);
    r.end = sift_row_int(row, 4);
    return ((sift_span_cb)s->cb)(s->payload, &r);
}

int
sift_sq_report_spans(sift_sq *st, sift_span_cb cb, void *payload, sift_err *err)
{
    struct cbs s = {(void *)cb, payload};

    return sift_sq_query(st, q_spans, NULL, 0, on_span, &s, err);
}
