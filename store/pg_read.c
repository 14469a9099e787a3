/* pg_read.c -- the PostgreSQL backend's reads: typed reads for report/
 * and export, stats, failed inputs, IMAP state, the generic query for
 * tests, and rewriting verdicts.
 *
 * Big reads stream: the record scan is binary COPY (SELECT ...) TO
 * STDOUT (no parameters: it reads every record), the others use
 * single-row mode. Orders and comparisons are bytewise (COLLATE "C") and
 * case-folding is ASCII-only, as in SQLite, so that both backends give
 * byte-identical reports. */
#include "pg_int.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* --- helpers -------------------------------------------------------------- */

static const char *
key(const PGresult *r, int i, int c)
{
    return PQgetvalue(r, i, c); /* "" for NULL */
}

/* Run sql in single-row mode: fn for each row (returns 0 to go on, else
 * that value is returned once the rest is drained). */
static int
stream(sift_pg *pg, const char *sql, pp *p,
       int (*fn)(void *payload, const PGresult *r), void *payload,
       sift_err *err, const char *what)
{
    PGresult *r;
    int rc = SIFT_OK, stop = 0;

    if ((rc = sift_pg__settle(pg, err)) != SIFT_OK)
        return rc;
    if (!PQsendQueryParams(pg->conn, sql, p ? p->n : 0, NULL, p ? p->v : NULL,
                           p ? p->len : NULL, p ? p->fmt : NULL, 0))
        return sift_pg__res_err(pg, NULL, err, what);
    PQsetSingleRowMode(pg->conn);
    while ((r = PQgetResult(pg->conn)) != NULL) {
        ExecStatusType s = PQresultStatus(r);

        if (s == PGRES_SINGLE_TUPLE) {
            if (!stop && (stop = fn(payload, r)) != 0)
                PQrequestCancel(pg->conn);
            PQclear(r);
        } else if (s == PGRES_TUPLES_OK || s == PGRES_COMMAND_OK) {
            PQclear(r);
        } else if (stop) {
            PQclear(r); /* the cancel we asked for */
        } else if (rc == SIFT_OK) {
            rc = sift_pg__res_err(pg, r, err, what);
        } else {
            PQclear(r);
        }
    }
    return stop ? stop : rc;
}

int
sift_pg__stream(sift_pg *pg, const char *sql, pp *p,
                int (*fn)(void *payload, const PGresult *r), void *payload,
                sift_err *err, const char *what)
{
    return stream(pg, sql, p, fn, payload, err, what);
}

/* A PostgreSQL array literal of the ASCII-lowercased strings v[0..n)
 * (malloc'd), NULL when n == 0 or on ENOMEM (*nomem set). */
static char *
lower_array(const char *const *v, size_t n, int *nomem)
{
    size_t len = 3, i;
    const char *s;
    char *out, *o;

    if (n == 0)
        return NULL;
    for (i = 0; i < n; i++)
        len += 3 + 2 * strlen(v[i]);
    if ((out = malloc(len)) == NULL) {
        *nomem = 1;
        return NULL;
    }
    o = out;
    *o++ = '{';
    for (i = 0; i < n; i++) {
        if (i)
            *o++ = ',';
        *o++ = '"';
        for (s = v[i]; *s; s++) {
            char c = *s >= 'A' && *s <= 'Z' ? (char)(*s - 'A' + 'a') : *s;
            if (c == '"' || c == '\\')
                *o++ = '\\';
            *o++ = c;
        }
        *o++ = '"';
    }
    *o++ = '}';
    *o = '\0';
    return out;
}

/* The filter over `reports r`, with $1..$4. */
#define FILTER_SQL                                                             \
    " ($1::text[] IS NULL OR lower(r.policy_domain COLLATE \"C\")"             \
    "   = ANY ($1::text[]))"                                                   \
    " AND ($2::text[] IS NULL OR lower(r.org_name COLLATE \"C\")"              \
    "   = ANY ($2::text[]))"                                                   \
    " AND ($3::bigint IS NULL OR r.date_end > $3)"                             \
    " AND ($4::bigint IS NULL OR r.date_begin < $4) "

/* p gets the filter's 4 parameters; arrays in a[2] (free them). */
static int
filter_params(pp *p, char *a[2], const sift_store_filter *f, sift_err *err)
{
    int nomem = 0;

    a[0] = a[1] = NULL;
    if (f != NULL) {
        a[0] = lower_array(f->domains, f->ndomains, &nomem);
        a[1] = lower_array(f->reporters, f->nreporters, &nomem);
    }
    if (nomem)
        return sift_err_set(err, SIFT_ENOMEM, "out of memory");
    sift_pg__p_text(p, a[0]);
    sift_pg__p_text(p, a[1]);
    if (f != NULL && f->has_since)
        sift_pg__p_int(p, f->since);
    else
        sift_pg__p_null(p);
    if (f != NULL && f->has_until)
        sift_pg__p_int(p, f->until);
    else
        sift_pg__p_null(p);
    return SIFT_OK;
}

/* Binary COPY (text output of 5M rows cost the server 4.5 s of a 9 s
 * scan): big-endian integers, text as bytes. */
static int64_t
be64(const unsigned char *p)
{
    uint64_t v = 0;
    int i;

    for (i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return (int64_t)v;
}

static int64_t
be_int(const unsigned char *p, int32_t len)
{
    if (len == 8)
        return be64(p);
    if (len == 4)
        return (int32_t)((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
                         (uint32_t)p[2] << 8 | p[3]);
    return 0;
}

/* --- reports, reasons, policies, one verdict ------------------------------ */

struct cbs {
    void *cb;
    void *payload;
};

static int
on_report(void *payload, const PGresult *res)
{
    struct cbs *c = payload;
    sift_report_row r;

    r.id = sift_pg__int(res, 0, 0);
    r.domain = key(res, 0, 1);
    r.org = key(res, 0, 2);
    r.begin = sift_pg__int(res, 0, 3);
    r.end = sift_pg__int(res, 0, 4);
    return ((sift_report_row_cb)c->cb)(c->payload, &r);
}

int
sift_pg_read_reports(sift_pg *pg, const sift_store_filter *f,
                     sift_report_row_cb cb, void *payload, sift_err *err)
{
    struct cbs c = {(void *)cb, payload};
    char *a[2];
    pp p;
    int rc;

    sift_pg__pp_init(&p);
    if ((rc = filter_params(&p, a, f, err)) == SIFT_OK)
        rc = stream(pg,
                    "SELECT r.id, r.policy_domain, r.org_name, r.date_begin,"
                    " r.date_end FROM reports r WHERE" FILTER_SQL
                    "ORDER BY r.id",
                    &p, on_report, &c, err, "reports");
    sift_pg__pp_free(&p);
    free(a[0]);
    free(a[1]);
    return rc;
}

/* Every reason as binary COPY (no parameters; half a million rows in
 * single-row mode cost 0.8 s): record_id int8, type text, arc_pass bool. */
int
sift_pg_read_reasons(sift_pg *pg, sift_reason_row_cb cb, void *payload,
                     sift_err *err)
{
    PGresult *r;
    char *msg = NULL, type[256];
    int n, rc = SIFT_OK, stop = 0, header = 0;

    if ((rc = sift_pg__settle(pg, err)) != SIFT_OK)
        return rc;
    r = PQexec(pg->conn,
               "COPY (SELECT x.record_id, lower(coalesce(x.type, '') COLLATE"
               " \"C\"), strpos(lower(coalesce(x.comment, '') COLLATE \"C\"),"
               " 'arc=pass') > 0 FROM reasons x) TO STDOUT (FORMAT binary)");
    if (PQresultStatus(r) != PGRES_COPY_OUT)
        return sift_pg__res_err(pg, r, err, "reasons");
    PQclear(r);
    while ((n = PQgetCopyData(pg->conn, &msg, 0)) > 0) {
        const unsigned char *p = (const unsigned char *)msg, *end = p + n;
        int32_t l0, l1, l2;

        if (!header && end - p >= 19) {
            p += 15;
            p += 4 + (uint32_t)be_int(p, 4);
            header = 1;
        }
        /* 3 fields: 2 + (4 + 8) + (4 + type) + (4 + 1) bytes */
        if (!stop && rc == SIFT_OK && end - p >= 2 && (p[0] << 8 | p[1]) == 3) {
            p += 2;
            l0 = (int32_t)be_int(p, 4);
            l1 = end - p >= 16 ? (int32_t)be_int(p + 12, 4) : -1;
            if (l0 != 8 || l1 < 0 || end - p < 16 + l1 + 5) {
                rc = sift_pg__fail(pg, err, "reasons: a malformed row");
            } else {
                l2 = (int32_t)be_int(p + 16 + l1, 4);
                /* a type longer than any exempt one is "other" all the
                 * same: cut it */
                memcpy(type, p + 16, l1 < 255 ? (size_t)l1 : 255);
                type[l1 < 255 ? l1 : 255] = '\0';
                stop = cb(payload, be64(p + 4), type,
                          l2 == 1 && p[16 + l1 + 4] != 0);
            }
            if (stop || rc != SIFT_OK)
                PQrequestCancel(pg->conn);
        }
        PQfreemem(msg);
        msg = NULL;
    }
    if (n == -2 && rc == SIFT_OK && !stop)
        rc = sift_pg__res_err(pg, NULL, err, "reasons");
    while ((r = PQgetResult(pg->conn)) != NULL) {
        if (PQresultStatus(r) != PGRES_COMMAND_OK && rc == SIFT_OK && !stop)
            rc = sift_pg__res_err(pg, r, err, "reasons");
        else
            PQclear(r);
    }
    return stop ? stop : rc;
}

static int
on_verdict(void *payload, const PGresult *res)
{
    struct cbs *c = payload;

    return ((sift_verdict_row_cb)c->cb)(
        c->payload, sift_pg__val(res, 0, 0), sift_pg__val(res, 0, 1),
        (int)sift_pg__int(res, 0, 2), (int)sift_pg__int(res, 0, 3));
}

int
sift_pg_record_verdict(sift_pg *pg, int64_t id, sift_verdict_row_cb cb,
                       void *payload, sift_err *err)
{
    struct cbs c = {(void *)cb, payload};
    pp p;
    int rc;

    sift_pg__pp_init(&p);
    sift_pg__p_int(&p, id);
    rc = stream(pg,
                "SELECT pe_dkim, pe_spf, dkim_aligned, spf_aligned FROM records"
                " WHERE id = $1",
                &p, on_verdict, &c, err, "record");
    sift_pg__pp_free(&p);
    return rc;
}

/* The sources with the most messages (sift_store_top_sources). */
static int
on_top_pair(void *payload, const PGresult *res)
{
    struct cbs *c = payload;

    return ((sift_top_pair_cb)c->cb)(c->payload, key(res, 0, 0),
                                     key(res, 0, 1));
}

static int
on_domain_sources(void *payload, const PGresult *res)
{
    struct cbs *c = payload;

    return ((sift_domain_sources_cb)c->cb)(c->payload, key(res, 0, 0),
                                           (uint64_t)sift_pg__int(res, 0, 1));
}

/* The records of the listed reports ($1, an array literal) per (domain,
 * ip), with the exact unsigned sum of count. */
#define Q_PAIRS                                                                \
    "SELECT coalesce(r.policy_domain, '') AS d,"                               \
    " coalesce(c.source_ip, '') AS ip,"                                        \
    " sum(CASE WHEN c.count < 0 THEN c.count::numeric"                         \
    " + 18446744073709551616 ELSE c.count::numeric END) AS m"                  \
    " FROM records c JOIN reports r ON r.id = c.report_id"                     \
    " WHERE c.report_id = ANY ($1::bigint[]) GROUP BY 1, 2"

int
sift_pg_top_sources(sift_pg *pg, const int64_t *ids, size_t n, uint64_t limit,
                    sift_top_pair_cb pair, sift_domain_sources_cb domain,
                    void *payload, sift_err *err)
{
    struct cbs c = {(void *)pair, payload};
    char *list = NULL;
    size_t len = 0, i;
    FILE *fp = open_memstream(&list, &len);
    pp p;
    int rc;

    if (fp == NULL)
        return sift_err_set(err, SIFT_ENOMEM, "out of memory");
    fputc('{', fp);
    for (i = 0; i < n; i++)
        fprintf(fp, "%s%" PRId64, i ? "," : "", ids[i]);
    fputc('}', fp);
    if (ferror(fp) | fclose(fp)) {
        free(list);
        return sift_err_set(err, SIFT_ENOMEM, "out of memory");
    }
    sift_pg__pp_init(&p);
    sift_pg__p_text(&p, list);
    sift_pg__p_int(&p, limit > INT64_MAX ? INT64_MAX : (int64_t)limit);
    rc = stream(pg,
                "SELECT d, ip FROM (" Q_PAIRS ") g"
                " ORDER BY m DESC, d COLLATE \"C\", ip COLLATE \"C\" LIMIT $2",
                &p, on_top_pair, &c, err, "top sources");
    sift_pg__pp_free(&p);
    c.cb = (void *)domain;
    sift_pg__pp_init(&p);
    sift_pg__p_text(&p, list);
    if (rc == SIFT_OK)
        rc = stream(pg, "SELECT d, count(*) FROM (" Q_PAIRS ") g GROUP BY d",
                    &p, on_domain_sources, &c, err, "top sources");
    sift_pg__pp_free(&p);
    free(list);
    return rc;
}

static int
on_policy(void *payload, const PGresult *res)
{
    struct cbs *c = payload;
    sift_policy_row r;

    r.domain = key(res, 0, 0);
    r.p = sift_pg__val(res, 0, 1);
    r.sp = sift_pg__val(res, 0, 2);
    r.np = sift_pg__val(res, 0, 3);
    r.pct = PQgetisnull(res, 0, 4) ? -1 : (int)sift_pg__int(res, 0, 4);
    r.testing = sift_pg__val(res, 0, 5);
    r.adkim = sift_pg__val(res, 0, 6);
    r.aspf = sift_pg__val(res, 0, 7);
    r.org = sift_pg__val(res, 0, 8);
    r.end = sift_pg__int(res, 0, 9);
    return ((sift_policy_row_cb)c->cb)(c->payload, &r);
}

int
sift_pg_read_policies(sift_pg *pg, const sift_store_filter *f,
                      sift_policy_row_cb cb, void *payload, sift_err *err)
{
    struct cbs c = {(void *)cb, payload};
    char *a[2];
    pp p;
    int rc;

    sift_pg__pp_init(&p);
    if ((rc = filter_params(&p, a, f, err)) == SIFT_OK)
        rc = stream(
            pg,
            "SELECT DISTINCT ON (r.policy_domain COLLATE \"C\")"
            " r.policy_domain, r.p, r.sp, r.np, r.pct, r.testing, r.adkim,"
            " r.aspf, r.org_name, r.date_end FROM reports r WHERE" FILTER_SQL
            "ORDER BY r.policy_domain COLLATE \"C\", r.date_end DESC,"
            " r.date_begin DESC, r.org_name COLLATE \"C\", r.id",
            &p, on_policy, &c, err, "policies");
    sift_pg__pp_free(&p);
    free(a[0]);
    free(a[1]);
    return rc;
}

/* --- the record scan: record packs, binary COPY --------------------------- */

/* The scan reads record_packs (pg_pack.c): one COPY row per run of up to
 * SIFT_PG_PACK_MAX records, which the client unpacks. Read row by row,
 * the records' 5M rows cost the server 5-6 CPU-seconds of COPY. */
typedef struct scanbuf {
    sift_buf strings; /* the unpacked strings of the current pack */
    int header_done;
} scanbuf;

#define SCAN_NCOLS 4
#define SCAN_COLS "SELECT first_id, report_id, n, data FROM record_packs"

/* The records of one binary COPY message (the first also holds the file
 * header; the last is the trailer) to cb: 0 (*stop = cb's non-zero
 * return when it stopped), -1 for a malformed message, -2 on ENOMEM. */
static int
scan_pack(scanbuf *sb, const char *msg, int len, sift_scan_cb cb, void *payload,
          int *stop)
{
    const unsigned char *p = (const unsigned char *)msg,
                        *end = p + (len > 0 ? len : 0);
    const unsigned char *f[SCAN_NCOLS];
    int32_t fl[SCAN_NCOLS];
    int k;

    *stop = 0;
    if (!sb->header_done) {
        if (end - p < 19 || memcmp(p, "PGCOPY\n\377\r\n", 11) != 0)
            return -1;
        p += 15;
        p += 4 + (uint32_t)be_int(p, 4);
        sb->header_done = 1;
    }
    if (end - p < 2)
        return -1;
    if (p[0] == 0xff && p[1] == 0xff)
        return 0; /* the trailer */
    if ((p[0] << 8 | p[1]) != SCAN_NCOLS)
        return -1;
    p += 2;
    for (k = 0; k < SCAN_NCOLS; k++) {
        if (end - p < 4)
            return -1;
        fl[k] = (int32_t)be_int(p, 4);
        p += 4;
        f[k] = fl[k] >= 0 ? p : NULL;
        if (fl[k] > end - p || f[k] == NULL)
            return -1;
        p += fl[k];
    }
    return sift_pg__pack_decode(f[3], (size_t)fl[3], be_int(f[0], fl[0]),
                                be_int(f[1], fl[1]), be_int(f[2], fl[2]),
                                &sb->strings, cb, payload, stop);
}

/* The error of a scan_pack result: -2 out of memory, else malformed. */
static int
pack_err(sift_pg *pg, int bad, sift_err *err)
{
    if (bad == -2)
        return sift_err_set(err, SIFT_ENOMEM, "out of memory");
    return sift_pg__fail(pg, err, "scan: a malformed record pack");
}

/* The error of connection c (pg's own or the second scan connection). */
static int
conn_err(sift_pg *pg, PGconn *c, PGresult *r, sift_err *err)
{
    PGconn *keep = pg->conn;
    int rc;

    pg->conn = c;
    rc = sift_pg__res_err(pg, r, err, "scan");
    pg->conn = keep;
    return rc;
}

/* Start `COPY (...) TO STDOUT` on c. */
static int
copy_out(sift_pg *pg, PGconn *c, const char *sql, sift_err *err)
{
    PGresult *r = PQexec(c, sql);

    if (PQresultStatus(r) != PGRES_COPY_OUT)
        return conn_err(pg, c, r, err);
    PQclear(r);
    return SIFT_OK;
}

/* Read the COPY streams of n (1 or 2) connections at once, non-blocking
 * in one thread: rows of conns[i] go to cb with payloads[i]. */
static int
copy_drain(sift_pg *pg, PGconn **conns, int n, sift_scan_cb cb,
           void *const *payloads, sift_err *err)
{
    int done[2] = {0, 0}, left = n, rc = SIFT_OK, stop = 0, cancelled = 0, i;
    scanbuf sb[2];
    struct pollfd pfd[2];
    PGresult *r;

    for (i = 0; i < 2; i++) {
        sift_buf_init(&sb[i].strings, SIZE_MAX);
        sb[i].header_done = 0;
    }
    while (left > 0) {
        int progress = 0, np = 0;

        for (i = 0; i < n; i++) {
            char *line = NULL;
            int got = 0, k;

            if (done[i])
                continue;
            /* a few hundred rows per turn, then the other stream */
            for (k = 0; k < 256; k++) {
                if ((got = PQgetCopyData(conns[i], &line, 1)) <= 0)
                    break;
                progress = 1;
                if (!stop && rc == SIFT_OK) {
                    int bad =
                        scan_pack(&sb[i], line, got, cb, payloads[i], &stop);
                    if (bad != 0)
                        stop = rc = pack_err(pg, bad, err);
                }
                if (stop && !cancelled) { /* the rest is not wanted */
                    cancelled = 1;
                    PQrequestCancel(conns[0]);
                    if (n > 1)
                        PQrequestCancel(conns[1]);
                }
                PQfreemem(line);
                line = NULL;
            }
            if (got >= 0)
                continue;
            if (got == -2 && rc == SIFT_OK && !stop)
                rc = conn_err(pg, conns[i], NULL, err);
            while ((r = PQgetResult(conns[i])) != NULL) {
                if (PQresultStatus(r) != PGRES_COMMAND_OK && rc == SIFT_OK &&
                    !stop)
                    rc = conn_err(pg, conns[i], r, err);
                else
                    PQclear(r);
            }
            done[i] = 1;
            left--;
            progress = 1;
        }
        if (progress || left == 0)
            continue;
        for (i = 0; i < n; i++)
            if (!done[i]) {
                pfd[np].fd = PQsocket(conns[i]);
                pfd[np].events = POLLIN;
                pfd[np].revents = 0;
                np++;
            }
        if (poll(pfd, (nfds_t)np, 1000) < 0 && errno != EINTR) {
            rc = sift_pg__fail(pg, err, "scan: poll: %s", strerror(errno));
            break;
        }
        for (i = 0; i < n; i++)
            if (!done[i] && !PQconsumeInput(conns[i])) {
                if (rc == SIFT_OK)
                    rc = conn_err(pg, conns[i], NULL, err);
                done[i] = 1;
                left--;
            }
    }
    sift_buf_dispose(&sb[0].strings);
    sift_buf_dispose(&sb[1].strings);
    return stop ? stop : rc;
}

/* One COPY stream read by its own thread (the second scan connection):
 * its rows go to cb with payload, in the stream's order. */
typedef struct drain {
    sift_pg *pg; /* the handle owning conn (errors name it) */
    sift_scan_cb cb;
    void *payload;
    atomic_int *halt; /* set by the stream that stops: the other stops too */
    sift_err err;
    int rc;
} drain;

/* Read pg's COPY stream to its end, blocking. Returns SIFT_OK, the
 * callback's non-zero return, or an error (in d->err). */
static int
drain_one(drain *d)
{
    PGconn *c = d->pg->conn;
    scanbuf sb;
    int got, stop = 0, rc = SIFT_OK, cancelled = 0;
    char *line = NULL;
    PGresult *r;

    sift_buf_init(&sb.strings, SIZE_MAX);
    sb.header_done = 0;
    while ((got = PQgetCopyData(c, &line, 0)) > 0) {
        if (!stop && rc == SIFT_OK) {
            int bad = scan_pack(&sb, line, got, d->cb, d->payload, &stop);
            if (bad != 0)
                stop = rc = pack_err(d->pg, bad, &d->err);
            if (stop)
                atomic_store(d->halt, 1);
        }
        PQfreemem(line);
        line = NULL;
        if ((stop || atomic_load(d->halt)) && !cancelled) {
            /* the rest is not wanted */
            PGcancel *k = PQgetCancel(c);
            char buf[256];
            cancelled = 1;
            if (k != NULL) {
                (void)PQcancel(k, buf, (int)sizeof(buf));
                PQfreeCancel(k);
            }
        }
    }
    if (got == -2 && !cancelled)
        rc = sift_pg__res_err(d->pg, NULL, &d->err, "scan");
    while ((r = PQgetResult(c)) != NULL) {
        if (PQresultStatus(r) != PGRES_COMMAND_OK && rc == SIFT_OK &&
            !cancelled)
            rc = sift_pg__res_err(d->pg, r, &d->err, "scan");
        else
            PQclear(r);
    }
    sift_buf_dispose(&sb.strings);
    return stop ? stop : rc;
}

static void *
drain_thread(void *arg)
{
    drain *d = arg;

    d->rc = drain_one(d);
    return NULL;
}

/* Both streams at once, each read by its own thread (this one reads
 * pg's, a second thread other's): the callbacks of the two payloads then
 * run on two cores, as in the SQLite backend's two-thread scan. When the
 * thread cannot start, one thread polls both (copy_drain). */
static int
drain_two(sift_pg *pg, sift_pg *other, sift_scan_cb cb, void *const *payloads,
          sift_err *err)
{
    atomic_int halt;
    drain d[2];
    pthread_t tid;
    int rc, i;

    atomic_init(&halt, 0);
    for (i = 0; i < 2; i++) {
        d[i].pg = i == 0 ? pg : other;
        d[i].cb = cb;
        d[i].payload = payloads[i];
        d[i].halt = &halt;
        sift_err_clear(&d[i].err);
        d[i].rc = SIFT_OK;
    }
    if (pthread_create(&tid, NULL, drain_thread, &d[1]) != 0) {
        PGconn *conns[2] = {pg->conn, other->conn};
        return copy_drain(pg, conns, 2, cb, payloads, err);
    }
    rc = drain_one(&d[0]);
    pthread_join(tid, NULL);
    if (rc == SIFT_OK && d[1].rc != SIFT_OK) {
        rc = d[1].rc;
        if (err != NULL && d[1].err.code != SIFT_OK)
            *err = d[1].err;
    } else if (rc != SIFT_OK && err != NULL && d[0].err.code != SIFT_OK) {
        *err = d[0].err;
    }
    return rc;
}

/* Every record in id order, as binary COPY of their packs (pg_pack.c:
 * packs in first_id order are records in id order). With parts >= 2 and
 * enough records, two streams from two connections (the second a
 * read-only handle on the same URI), split at the middle first id: the
 * server produces both halves on two cores while this thread reads
 * them. The split is bound (set_config): COPY itself takes no
 * parameters. */
int
sift_pg_scan_records(sift_pg *pg, int parts, sift_scan_cb cb,
                     void *const *payloads, int *used, sift_err *err)
{
    static const char q_all[] =
        "COPY (" SCAN_COLS " ORDER BY first_id) TO STDOUT (FORMAT binary)";
    static const char q_lo[] = "COPY (" SCAN_COLS " WHERE first_id <="
                               " current_setting('sift.split')::bigint"
                               " ORDER BY first_id) TO STDOUT (FORMAT binary)";
    static const char q_hi[] = "COPY (" SCAN_COLS " WHERE first_id >"
                               " current_setting('sift.split')::bigint"
                               " ORDER BY first_id) TO STDOUT (FORMAT binary)";
    static const char q_set[] =
        "SELECT set_config('sift.split', $1::text, false)";
    PGresult *r = NULL;
    PGconn *conns[2];
    sift_pg *other = NULL;
    int64_t lo = 0, hi = 0;
    sift_err oerr;
    pp p;
    int rc;

    *used = 1;
    conns[0] = pg->conn;
    /* a writer's open report has packs still being built */
    if (pg->in_report)
        return sift_err_set(err, SIFT_EUSAGE, "scan: a report is open");
    if ((rc = sift_pg__settle(pg, err)) != SIFT_OK)
        return rc;
    if (parts >= 2 &&
        sift_pg__exec(pg, &r,
                      "SELECT coalesce(min(first_id), 0),"
                      " coalesce(max(first_id), 0) FROM record_packs",
                      NULL, err, "scan") == SIFT_OK) {
        lo = sift_pg__int(r, 0, 0);
        hi = sift_pg__int(r, 0, 1);
        PQclear(r);
    }
    sift_err_clear(&oerr);
    /* a second connection is worth it past some 10,000 record ids */
    if (hi - lo < 10000 ||
        sift_pg_open(&other, pg->uri, SIFT_STORE_READONLY, &oerr) != SIFT_OK) {
        if ((rc = copy_out(pg, pg->conn, q_all, err)) != SIFT_OK)
            return rc;
        return copy_drain(pg, conns, 1, cb, payloads, err);
    }
    conns[1] = other->conn;
    sift_pg__pp_init(&p);
    sift_pg__p_int(&p, lo + (hi - lo) / 2);
    rc = sift_pg__exec(pg, NULL, q_set, &p, err, "scan");
    if (rc == SIFT_OK)
        rc = sift_pg__exec(other, NULL, q_set, &p, err, "scan");
    sift_pg__pp_free(&p);
    if (rc == SIFT_OK && (rc = copy_out(pg, conns[0], q_lo, err)) == SIFT_OK) {
        if ((rc = copy_out(pg, conns[1], q_hi, err)) == SIFT_OK) {
            *used = 2;
            rc = drain_two(pg, other, cb, payloads, err);
        } else {
            (void)copy_drain(pg, conns, 1, cb, payloads, NULL);
        }
    }
    sift_pg_close(other);
    return rc;
}

/* --- export --------------------------------------------------------------- */

/* A record's child rows come encoded in one column: entries separated by
 * char(30), fields by char(31), each field 'N' (NULL) or 'V' + value.
 * Its reasons are so aggregated here; its DKIM and SPF results are so
 * stored (records.dkim, records.spf: pg.c's pg_schema_v9). XML 1.0
 * cannot carry these control characters, so they cannot clash. */
#define FIELD(x) "CASE WHEN " x " IS NULL THEN 'N' ELSE 'V' || " x " END"
#define CHILD(cols, t)                                                         \
    "(SELECT string_agg(" cols ", chr(30) ORDER BY x.idx) FROM " t " x"        \
    " WHERE x.record_id = c.id AND x.date_end = c.date_end)"
#define REASONS                                                                \
    CHILD(FIELD("x.type") " || chr(31) || " FIELD("x.comment"), "reasons")
/* A record's DKIM and SPF results are stored so (records.dkim, .spf) */
#define AUTH "c.dkim, c.spf"

/* Decoded child rows of one record: strings point into `text` (a copy). */
typedef struct kids {
    char *text[3];
    sift_reason *rs;
    sift_dkim_result *dk;
    sift_spf_result *sp;
    size_t n[3];
} kids;

static void
kids_free(kids *k)
{
    int i;

    for (i = 0; i < 3; i++)
        free(k->text[i]);
    free(k->rs);
    free(k->dk);
    free(k->sp);
    memset(k, 0, sizeof(*k));
}

/* Decode enc (kind 0 reasons, 1 DKIM, 2 SPF) into k. */
static int
kids_decode(kids *k, int kind, const char *enc)
{
    size_t n = 1, i = 0, nf = kind == 0 ? 2 : 4;
    const char *fields[4];
    char *p, *e;

    k->n[kind] = 0;
    if (enc == NULL || *enc == '\0')
        return SIFT_OK;
    for (p = (char *)enc; *p; p++)
        n += *p == '\x1e';
    if ((k->text[kind] = strdup(enc)) == NULL)
        return SIFT_ENOMEM;
    if ((kind == 0 && (k->rs = calloc(n, sizeof(*k->rs))) == NULL) ||
        (kind == 1 && (k->dk = calloc(n, sizeof(*k->dk))) == NULL) ||
        (kind == 2 && (k->sp = calloc(n, sizeof(*k->sp))) == NULL))
        return SIFT_ENOMEM;
    for (p = k->text[kind]; p != NULL && i < n; i++) {
        size_t f;

        e = strchr(p, '\x1e');
        if (e != NULL)
            *e = '\0';
        for (f = 0; f < nf; f++) {
            char *q = p ? strchr(p, '\x1f') : NULL;
            if (q != NULL)
                *q = '\0';
            fields[f] = p == NULL || *p != 'V' ? NULL : p + 1;
            p = q ? q + 1 : NULL;
        }
        if (kind == 0) {
            k->rs[i].type = fields[0];
            k->rs[i].comment = fields[1];
        } else if (kind == 1) {
            k->dk[i].domain = fields[0];
            k->dk[i].selector = fields[1];
            k->dk[i].result = fields[2];
            k->dk[i].human_result = fields[3];
        } else {
            k->sp[i].domain = fields[0];
            k->sp[i].scope = fields[1];
            k->sp[i].result = fields[2];
            k->sp[i].human_result = fields[3];
        }
        p = e ? e + 1 : NULL;
    }
    k->n[kind] = i;
    return SIFT_OK;
}

struct exp {
    sift_export_cb cb;
    void *payload;
    sift_err *err;
};

static int
on_export(void *payload, const PGresult *res)
{
    struct exp *e = payload;
    sift_report_meta m;
    sift_record r;
    sift_export_row x;
    kids k;
    int rc, i;

    memset(&m, 0, sizeof(m));
    memset(&r, 0, sizeof(r));
    memset(&k, 0, sizeof(k));
    m.org_name = sift_pg__val(res, 0, 0);
    m.email = sift_pg__val(res, 0, 1);
    m.report_id = sift_pg__val(res, 0, 2);
    m.begin = sift_pg__int(res, 0, 3);
    m.end = sift_pg__int(res, 0, 4);
    m.domain = sift_pg__val(res, 0, 5);
    m.adkim = sift_pg__val(res, 0, 6);
    m.aspf = sift_pg__val(res, 0, 7);
    m.p = sift_pg__val(res, 0, 8);
    m.sp = sift_pg__val(res, 0, 9);
    m.np = sift_pg__val(res, 0, 10);
    m.testing = sift_pg__val(res, 0, 11);
    m.pct = PQgetisnull(res, 0, 12) ? -1 : (int)sift_pg__int(res, 0, 12);
    r.source_ip = sift_pg__val(res, 0, 13);
    r.count = (uint64_t)sift_pg__int(res, 0, 14);
    r.disposition = sift_pg__val(res, 0, 15);
    r.dkim = sift_pg__val(res, 0, 16);
    r.spf = sift_pg__val(res, 0, 17);
    r.header_from = sift_pg__val(res, 0, 18);
    r.envelope_from = sift_pg__val(res, 0, 19);
    r.envelope_to = sift_pg__val(res, 0, 20);
    for (i = 0; i < 3; i++)
        if (kids_decode(&k, i, sift_pg__val(res, 0, 21 + i)) != SIFT_OK) {
            kids_free(&k);
            return sift_err_set(e->err, SIFT_ENOMEM, "out of memory");
        }
    r.reasons = k.rs;
    r.n_reasons = k.n[0];
    r.dkim_results = k.dk;
    r.n_dkim = k.n[1];
    r.spf_results = k.sp;
    r.n_spf = k.n[2];
    x.meta = &m;
    x.rec = &r;
    x.dmarc_fail = (int)sift_pg__int(res, 0, 24);
    x.would_reject = (int)sift_pg__int(res, 0, 25);
    x.outcome = (int)sift_pg__int(res, 0, 26);
    x.spf_aligned = (int)sift_pg__int(res, 0, 27);
    x.dkim_aligned = (int)sift_pg__int(res, 0, 28);
    x.categories = (uint32_t)sift_pg__int(res, 0, 29);
    rc = e->cb(e->payload, &x);
    kids_free(&k);
    return rc;
}

int
sift_pg_export_records(sift_pg *pg, const sift_store_filter *f,
                       sift_export_cb cb, void *payload, sift_err *err)
{
    struct exp e = {cb, payload, err};
    char *a[2];
    pp p;
    int rc;

    sift_pg__pp_init(&p);
    if ((rc = filter_params(&p, a, f, err)) == SIFT_OK)
        rc = stream(
            pg,
            "SELECT r.org_name, r.email, r.report_id, r.date_begin,"
            " r.date_end, r.policy_domain, r.adkim, r.aspf, r.p, r.sp, r.np,"
            " r.testing, r.pct, c.source_ip, c.count, c.disposition,"
            " c.pe_dkim, c.pe_spf, c.header_from, c.envelope_from,"
            " c.envelope_to, " REASONS ", " AUTH
            ", c.dmarc_fail, c.would_reject, c.outcome, c.spf_aligned,"
            " c.dkim_aligned, c.categories FROM records c JOIN reports r"
            " ON r.id = c.report_id WHERE" FILTER_SQL "ORDER BY c.id",
            &p, on_export, &e, err, "export");
    sift_pg__pp_free(&p);
    free(a[0]);
    free(a[1]);
    return rc;
}

/* --- evaluation versions -------------------------------------------------- */

int
sift_pg_eval_versions(sift_pg *pg, const sift_store_filter *f,
                      sift_eval_version_cb cb, void *payload, sift_err *err)
{
    PGresult *r = NULL;
    char *a[2];
    pp p;
    int rc, i;

    sift_pg__pp_init(&p);
    if ((rc = filter_params(&p, a, f, err)) == SIFT_OK)
        rc = sift_pg__exec(pg, &r,
                           "SELECT r.eval_version, count(*),"
                           " least(coalesce(sum(r.record_count), 0),"
                           "  9223372036854775807)::bigint"
                           " FROM reports r WHERE" FILTER_SQL
                           "GROUP BY r.eval_version"
                           " ORDER BY r.eval_version",
                           &p, err, "evaluation versions");
    sift_pg__pp_free(&p);
    free(a[0]);
    free(a[1]);
    for (i = 0; rc == SIFT_OK && i < PQntuples(r); i++)
        rc = cb(payload, (int)sift_pg__int(r, i, 0),
                (uint64_t)sift_pg__int(r, i, 1),
                (uint64_t)sift_pg__int(r, i, 2));
    PQclear(r);
    return rc;
}

/* --- rewriting verdicts --------------------------------------------------- */

/* Rewrite the verdicts of the records in res (the page query's rows). */
static int
rewrite_page(sift_pg *pg, PGresult *res, sift_verdict_fn fn, void *payload,
             int64_t *lastrec, unsigned *done, sift_err *err)
{
    pp p;
    int rc = SIFT_OK, i, j;

    for (i = 0; rc == SIFT_OK && i < PQntuples(res); i++) {
        sift_report_meta meta;
        sift_record r;
        sift_verdict v;
        kids k;

        memset(&meta, 0, sizeof(meta));
        memset(&r, 0, sizeof(r));
        memset(&k, 0, sizeof(k));
        memset(&v, 0, sizeof(v));
        r.source_ip = sift_pg__val(res, i, 2);
        r.count = (uint64_t)sift_pg__int(res, i, 3);
        r.disposition = sift_pg__val(res, i, 4);
        r.dkim = sift_pg__val(res, i, 5);
        r.spf = sift_pg__val(res, i, 6);
        r.header_from = sift_pg__val(res, i, 7);
        r.envelope_from = sift_pg__val(res, i, 8);
        r.envelope_to = sift_pg__val(res, i, 9);
        meta.domain = sift_pg__val(res, i, 10);
        meta.adkim = sift_pg__val(res, i, 11);
        meta.aspf = sift_pg__val(res, i, 12);
        meta.p = sift_pg__val(res, i, 13);
        meta.sp = sift_pg__val(res, i, 14);
        meta.np = sift_pg__val(res, i, 15);
        meta.pct = PQgetisnull(res, i, 16) ? -1 : (int)sift_pg__int(res, i, 16);
        meta.testing = sift_pg__val(res, i, 17);
        meta.org_name = sift_pg__val(res, i, 18);
        meta.begin = sift_pg__int(res, i, 19);
        meta.end = sift_pg__int(res, i, 1);
        for (j = 0; j < 3; j++)
            if (kids_decode(&k, j, sift_pg__val(res, i, 20 + j)) != SIFT_OK)
                rc = sift_err_set(err, SIFT_ENOMEM, "out of memory");
        r.reasons = k.rs;
        r.n_reasons = k.n[0] > 64 ? 64 : k.n[0];
        r.dkim_results = k.dk;
        r.n_dkim = k.n[1] > 64 ? 64 : k.n[1];
        r.spf_results = k.sp;
        r.n_spf = k.n[2] > 64 ? 64 : k.n[2];
        if (rc == SIFT_OK) {
            fn(payload, &v, &meta, &r);
            sift_pg__pp_init(&p);
            sift_pg__p_int(&p, sift_pg__int(res, i, 0));
            sift_pg__p_int(&p, v.dmarc_fail);
            sift_pg__p_int(&p, v.would_reject);
            sift_pg__p_int(&p, (int)v.outcome);
            sift_pg__p_int(&p, v.spf_aligned);
            sift_pg__p_int(&p, v.dkim_aligned);
            sift_pg__p_int(&p, (int64_t)v.categories);
            sift_pg__p_int(&p, (int64_t)sift_stored_flags(&v, r.disposition));
            sift_pg__p_text(&p, v.spf_domain);
            sift_pg__p_text(&p, v.dkim_domain);
            sift_pg__p_int(&p, (int)v.primary);
            sift_pg__p_int(&p, meta.end);
            rc = sift_pg__exec(
                pg, NULL,
                "UPDATE records SET dmarc_fail = $2, would_reject = $3,"
                " outcome = $4, spf_aligned = $5, dkim_aligned = $6,"
                " categories = $7, flags = $8, spf_domain = $9,"
                " dkim_domain = $10, primary_cat = $11"
                " WHERE id = $1 AND date_end = $12",
                &p, err, "reevaluate");
            sift_pg__pp_free(&p);
        }
        kids_free(&k);
        if (rc == SIFT_OK) {
            *lastrec = sift_pg__int(res, i, 0);
            (*done)++;
        }
    }
    return rc;
}

/* The reports to re-evaluate in this batch: ids after `after` of a
 * version below `below`, about limit records' worth, as a PostgreSQL array
 * literal in b; *upto = the last id taken (after when none). */
static int
pick_reports(sift_pg *pg, sift_buf *b, int64_t *upto, int below, int64_t after,
             unsigned limit, sift_err *err)
{
    PGresult *r = NULL;
    uint64_t want = 0;
    pp p;
    int rc, i;

    *upto = after;
    sift_pg__pp_init(&p);
    sift_pg__p_int(&p, after);
    sift_pg__p_int(&p, below);
    sift_pg__p_int(&p, limit);
    rc = sift_pg__exec(pg, &r,
                       "SELECT id, record_count FROM reports WHERE id > $1"
                       " AND eval_version < $2 ORDER BY id LIMIT $3",
                       &p, err, "reevaluate");
    sift_pg__pp_free(&p);
    if (rc == SIFT_OK)
        rc = sift_buf_add(b, "{", 1, err);
    for (i = 0; rc == SIFT_OK && i < PQntuples(r) && want < limit; i++) {
        int64_t n = sift_pg__int(r, i, 1);
        *upto = sift_pg__int(r, i, 0);
        want += n > 0 ? (uint64_t)n : 1; /* an empty report counts 1 */
        rc = sift_buf_addf(b, err, "%s%lld", i ? "," : "", (long long)*upto);
    }
    if (rc == SIFT_OK)
        rc = sift_buf_add(b, "}", 1, err);
    PQclear(r);
    return rc;
}

int
sift_pg_rewrite_verdicts(sift_pg *pg, int version, int redo, int64_t after,
                         unsigned limit, int64_t *last, unsigned *done,
                         sift_verdict_fn fn, void *payload, sift_err *err)
{
    PGresult *res = NULL;
    sift_buf ids;
    int64_t upto, lastrec = 0;
    unsigned n;
    pp p;
    int rc, below = redo ? version + 1 : version;

    *last = after;
    *done = 0;
    sift_buf_init(&ids, (size_t)limit * 24 + 64);
    if ((rc = sift_pg_flush(pg, err)) != SIFT_OK ||
        (rc = sift_pg__batch_open(pg, err)) != SIFT_OK)
        goto out;
    if ((rc = pick_reports(pg, &ids, &upto, below, after, limit, err)) !=
        SIFT_OK)
        goto fail;
    if (upto == after) { /* nothing to do */
        rc = sift_pg_flush(pg, err);
        goto out;
    }
    /* lock them, and keep those still below `below`: another host that
     * re-evaluated them meanwhile has stamped them (its stamp is seen
     * once its transaction commits: FOR UPDATE waits, then checks again) */
    sift_pg__pp_init(&p);
    sift_pg__p_text(&p, ids.p);
    sift_pg__p_int(&p, below);
    rc = sift_pg__exec(pg, &res,
                       "SELECT id FROM reports WHERE id = ANY ($1::bigint[])"
                       " AND eval_version < $2 ORDER BY id FOR UPDATE",
                       &p, err, "reevaluate");
    sift_pg__pp_free(&p);
    if (rc == SIFT_OK) {
        int i;
        sift_buf_reset(&ids);
        rc = sift_buf_add(&ids, "{", 1, err);
        for (i = 0; rc == SIFT_OK && i < PQntuples(res); i++)
            rc = sift_buf_addf(&ids, err, "%s%lld", i ? "," : "",
                               (long long)sift_pg__int(res, i, 0));
        if (rc == SIFT_OK)
            rc = sift_buf_add(&ids, "}", 1, err);
    }
    PQclear(res);
    res = NULL;
    /* their records, a page of `limit` at a time */
    do {
        n = *done;
        sift_pg__pp_init(&p);
        sift_pg__p_text(&p, ids.p);
        sift_pg__p_int(&p, lastrec);
        sift_pg__p_int(&p, limit);
        if (rc == SIFT_OK)
            rc = sift_pg__exec(
                pg, &res,
                "SELECT c.id, c.date_end, c.source_ip, c.count, c.disposition,"
                " c.pe_dkim, c.pe_spf, c.header_from, c.envelope_from,"
                " c.envelope_to, r.policy_domain, r.adkim, r.aspf, r.p, r.sp,"
                " r.np, r.pct, r.testing, r.org_name, r.date_begin, " REASONS
                ", " AUTH " FROM records c JOIN reports r ON r.id = c.report_id"
                " WHERE r.id = ANY ($1::bigint[]) AND c.id > $2"
                " ORDER BY c.id LIMIT $3",
                &p, err, "reevaluate");
        sift_pg__pp_free(&p);
        if (rc == SIFT_OK)
            rc = rewrite_page(pg, res, fn, payload, &lastrec, done, err);
        PQclear(res);
        res = NULL;
    } while (rc == SIFT_OK && *done - n == limit);
    /* the scan's packs of these reports hold the old verdicts */
    if (rc == SIFT_OK)
        rc = sift_pg__repack(pg, ids.p, err);
    if (rc == SIFT_OK) {
        sift_pg__pp_init(&p);
        sift_pg__p_int(&p, version);
        sift_pg__p_text(&p, ids.p);
        rc = sift_pg__exec(pg, NULL,
                           "UPDATE reports SET eval_version = $1"
                           " WHERE id = ANY ($2::bigint[])",
                           &p, err, "reevaluate");
        sift_pg__pp_free(&p);
    }
    if (rc == SIFT_OK && (rc = sift_pg_flush(pg, err)) == SIFT_OK) {
        *last = upto;
        goto out;
    }
fail:
    sift_pg__batch_drop(pg);
    *done = 0;
    *last = after;
out:
    sift_buf_dispose(&ids);
    return rc;
}

/* --- stats and failed inputs ---------------------------------------------- */

int
sift_pg_stats(sift_pg *pg, sift_stats *out, sift_err *err)
{
    PGresult *r = NULL;
    int rc;

    memset(out, 0, sizeof(*out));
    /* sums saturate at the 64-bit bounds, as SQLite's sat_sum */
    rc = sift_pg__exec(
        pg, &r,
        "SELECT count(*),"
        " greatest(least(coalesce(sum(record_count), 0),"
        "  9223372036854775807), -9223372036854775808)::bigint,"
        " greatest(least(coalesce(sum(message_count), 0),"
        "  9223372036854775807), -9223372036854775808)::bigint,"
        " count(DISTINCT org_name), count(DISTINCT policy_domain),"
        " coalesce(min(date_begin), 0), coalesce(max(date_end), 0),"
        " (SELECT count(*) FROM failed_inputs),"
        " (SELECT count(*) FROM conflicts) FROM reports",
        NULL, err, "stats");
    if (rc != SIFT_OK)
        return rc;
    out->reports = (uint64_t)sift_pg__int(r, 0, 0);
    out->records = (uint64_t)sift_pg__int(r, 0, 1);
    out->messages = (uint64_t)sift_pg__int(r, 0, 2);
    out->reporters = (uint64_t)sift_pg__int(r, 0, 3);
    out->domains = (uint64_t)sift_pg__int(r, 0, 4);
    out->first_begin = sift_pg__int(r, 0, 5);
    out->last_end = sift_pg__int(r, 0, 6);
    out->failed_inputs = (uint64_t)sift_pg__int(r, 0, 7);
    out->conflicts = (uint64_t)sift_pg__int(r, 0, 8);
    PQclear(r);
    return SIFT_OK;
}

int
sift_pg_next_failed(sift_pg *pg, int64_t after, sift_failed_cb cb,
                    void *payload, sift_err *err)
{
    static const char sql[] =
        "SELECT id::text AS id_text, path, reason, raw FROM failed_inputs"
        " WHERE id > $1 ORDER BY id LIMIT 1";
    PGresult *r;
    pp p;
    int rc;

    /* binary results: the kept bytes arrive as they are (a hex text of
     * them would be twice their size here, and over 1 GB the server
     * refuses to build it); id is cast to text, under another name
     * (ORDER BY id would sort that text); path and reason are text
     * either way */
    if ((rc = sift_pg__settle(pg, err)) != SIFT_OK)
        return rc;
    sift_pg__pp_init(&p);
    sift_pg__p_int(&p, after);
    r = PQexecParams(pg->conn, sql, p.n, NULL, p.v, p.len, p.fmt, 1);
    sift_pg__pp_free(&p);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        return sift_pg__res_err(pg, r, err, "failed inputs");
    if (PQntuples(r) == 0) {
        PQclear(r);
        return SIFT_ITEROVER;
    }
    rc = cb(payload, sift_pg__int(r, 0, 0), key(r, 0, 1), key(r, 0, 2),
            PQgetisnull(r, 0, 3) ? NULL : PQgetvalue(r, 0, 3),
            PQgetisnull(r, 0, 3) ? 0 : (size_t)PQgetlength(r, 0, 3));
    PQclear(r);
    return rc;
}

int
sift_pg_delete_failed(sift_pg *pg, int64_t id, sift_err *err)
{
    uint64_t n = 0;
    pp p;
    int rc;

    sift_pg__pp_init(&p);
    sift_pg__p_int(&p, id);
    rc = sift_pg__write(pg, "DELETE FROM failed_inputs WHERE id = $1", &p, &n,
                        err, "failed inputs");
    sift_pg__pp_free(&p);
    if (rc != SIFT_OK)
        return rc;
    return n > 0 ? SIFT_OK : SIFT_ITEROVER;
}

int
sift_pg_forget_all_failed(sift_pg *pg, uint64_t *n, sift_err *err)
{
    return sift_pg__write(pg, "DELETE FROM failed_inputs", NULL, n, err,
                          "failed inputs");
}

int
sift_pg_list_failed(sift_pg *pg,
                    int (*cb)(void *payload, const sift_failed_info *f),
                    void *payload, sift_err *err)
{
    PGresult *r = NULL;
    sift_failed_info f;
    int64_t after = 0;
    int rc, rows, i, stop;
    pp p;

    do {
        sift_pg__pp_init(&p);
        sift_pg__p_int(&p, after);
        rc = sift_pg__exec(pg, &r,
                           "SELECT id, path, reason, size, raw IS NOT NULL,"
                           " first_seen, last_seen FROM failed_inputs"
                           " WHERE id > $1 ORDER BY id LIMIT 64",
                           &p, err, "failed inputs");
        sift_pg__pp_free(&p);
        if (rc != SIFT_OK)
            return rc;
        rows = PQntuples(r);
        for (i = 0; i < rows; i++) {
            f.id = after = sift_pg__int(r, i, 0);
            f.path = key(r, i, 1);
            f.reason = key(r, i, 2);
            f.size = (uint64_t)sift_pg__int(r, i, 3);
            f.kept = sift_pg__int(r, i, 4) != 0;
            f.first_seen = sift_pg__int(r, i, 5);
            f.last_seen = sift_pg__int(r, i, 6);
            if ((stop = cb(payload, &f)) != 0) {
                PQclear(r);
                return stop;
            }
        }
        PQclear(r);
    } while (rows == 64);
    return SIFT_OK;
}

/* --- IMAP state ----------------------------------------------------------- */

int
sift_pg_imap_mailbox(sift_pg *pg, int64_t *id, const char *server,
                     const char *user, const char *mailbox,
                     uint32_t uidvalidity, sift_err *err)
{
    PGresult *r = NULL;
    pp p;
    int rc;

    *id = 0;
    if (pg->readonly)
        return sift_pg__fail(pg, err, "database is read-only");
    sift_pg__pp_init(&p);
    sift_pg__p_key(&p, server);
    sift_pg__p_key(&p, user);
    sift_pg__p_key(&p, mailbox);
    sift_pg__p_int(&p, uidvalidity);
    sift_pg__p_int(&p, (int64_t)time(NULL));
    rc = sift_pg__exec(
        pg, &r,
        "INSERT INTO imap_mailboxes (server, \"user\", mailbox, uidvalidity,"
        " first_run, last_run) VALUES ($1, $2, $3, $4, $5, $5)"
        " ON CONFLICT (server, \"user\", mailbox, uidvalidity) DO UPDATE SET"
        " last_run = excluded.last_run RETURNING id",
        &p, err, "imap state");
    sift_pg__pp_free(&p);
    if (rc != SIFT_OK) {
        if (pg->in_batch)
            sift_pg__batch_drop(pg);
        return rc;
    }
    *id = sift_pg__int(r, 0, 0);
    PQclear(r);
    return SIFT_OK;
}

int
sift_pg_imap_each_settled(sift_pg *pg, int64_t mailbox, sift_uid_cb cb,
                          void *payload, sift_err *err)
{
    PGresult *r = NULL;
    pp p;
    int rc, i, stop;

    sift_pg__pp_init(&p);
    sift_pg__p_int(&p, mailbox);
    rc = sift_pg__exec(pg, &r,
                       "SELECT uid, failed FROM imap_settled"
                       " WHERE mailbox = $1 ORDER BY uid",
                       &p, err, "imap state");
    sift_pg__pp_free(&p);
    if (rc != SIFT_OK)
        return rc;
    for (i = 0; i < PQntuples(r); i++)
        if ((stop = cb(payload, (uint32_t)sift_pg__int(r, i, 0),
                       (int)sift_pg__int(r, i, 1))) != 0) {
            PQclear(r);
            return stop;
        }
    PQclear(r);
    return SIFT_OK;
}

/* "{1,2,3}" of n values (failed: 0/1 flags when non-NULL), malloc'd. */
static char *
int_array(const uint32_t *uids, const unsigned char *flags, size_t n)
{
    char *out = malloc(n * 12 + 3), *o;
    size_t i;

    if (out == NULL)
        return NULL;
    o = out;
    *o++ = '{';
    for (i = 0; i < n; i++)
        o += sprintf(o, "%s%u", i ? "," : "",
                     flags ? (unsigned)(flags[i] != 0) : (unsigned)uids[i]);
    *o++ = '}';
    *o = '\0';
    return out;
}

/* settle: with failed flags ($3) and the time ($4); else only $1, $2. */
static int
imap_write(sift_pg *pg, const char *sql, int settle, int64_t mailbox,
           const uint32_t *uids, const unsigned char *failed, size_t n,
           sift_err *err)
{
    char *a = NULL, *b = NULL;
    unsigned char *none = NULL;
    pp p;
    int rc;

    if (n == 0)
        return SIFT_OK;
    if (pg->readonly)
        return sift_pg__fail(pg, err, "database is read-only");
    if (pg->in_report)
        return sift_err_set(err, SIFT_EUSAGE, "a report is open");
    if (failed == NULL && (none = calloc(n, 1)) == NULL)
        return sift_err_set(err, SIFT_ENOMEM, "out of memory");
    if ((a = int_array(uids, NULL, n)) == NULL ||
        (b = int_array(uids, failed ? failed : none, n)) == NULL) {
        free(a);
        free(none);
        return sift_err_set(err, SIFT_ENOMEM, "out of memory");
    }
    sift_pg__pp_init(&p);
    sift_pg__p_int(&p, mailbox);
    sift_pg__p_text(&p, a);
    if (settle) {
        sift_pg__p_text(&p, b);
        sift_pg__p_int(&p, (int64_t)time(NULL));
    }
    rc = sift_pg__write(pg, sql, &p, NULL, err, "imap state");
    sift_pg__pp_free(&p);
    free(a);
    free(b);
    free(none);
    return rc;
}

int
sift_pg_imap_settle(sift_pg *pg, int64_t mailbox, const uint32_t *uids,
                    const unsigned char *failed, size_t n, sift_err *err)
{
    return imap_write(pg,
                      "INSERT INTO imap_settled (mailbox, uid, failed,"
                      " settled_at) SELECT $1, u, f, $4 FROM"
                      " unnest($2::bigint[], $3::integer[]) AS t (u, f)"
                      " ON CONFLICT (mailbox, uid) DO UPDATE SET"
                      " failed = excluded.failed,"
                      " settled_at = excluded.settled_at",
                      1, mailbox, uids, failed, n, err);
}

int
sift_pg_imap_forget(sift_pg *pg, int64_t mailbox, const uint32_t *uids,
                    size_t n, sift_err *err)
{
    return imap_write(pg,
                      "DELETE FROM imap_settled WHERE mailbox = $1"
                      " AND uid = ANY ($2::bigint[])",
                      0, mailbox, uids, NULL, n, err);
}

/* --- the generic query (tests and diagnostics) ---------------------------- */

int64_t
sift_pg__row_int(sift_row *row, int col)
{
    const PGresult *r = row->res;

    if (PQgetisnull(r, row->i, col))
        return 0;
    return sift_pg__int(r, row->i, col);
}

double
sift_pg__row_double(sift_row *row, int col)
{
    const PGresult *r = row->res;

    return PQgetisnull(r, row->i, col)
               ? 0.0
               : strtod(PQgetvalue(r, row->i, col), NULL);
}

const char *
sift_pg__row_text(sift_row *row, int col)
{
    return sift_pg__val(row->res, row->i, col);
}

int
sift_pg__row_is_null(sift_row *row, int col)
{
    return PQgetisnull(row->res, row->i, col);
}

int
sift_pg__row_columns(sift_row *row)
{
    return PQnfields(row->res);
}

int
sift_pg_query(sift_pg *pg, const char *sql, const sift_param *params, int n,
              sift_row_cb cb, void *payload, sift_err *err)
{
    PGresult *r = NULL;
    sift_row row;
    char *q;
    const char *s;
    size_t len = strlen(sql);
    pp p;
    int rc, i, stop;

    if (n < 0 || n > PP_MAX)
        return sift_err_set(err, SIFT_EUSAGE, "bad query: too many parameters");
    /* the open batch's rows, visible to its own statements */
    if ((rc = sift_pg__send_buffered(pg, err)) != SIFT_OK)
        return rc;
    /* ?N placeholders become $N */
    if ((q = malloc(len + 1)) == NULL)
        return sift_err_set(err, SIFT_ENOMEM, "out of memory");
    for (i = 0, s = sql; *s; s++)
        q[i++] = *s == '?' && s[1] >= '0' && s[1] <= '9' ? '$' : *s;
    q[i] = '\0';
    sift_pg__pp_init(&p);
    for (i = 0; i < n; i++) {
        if (params[i].type == SIFT_P_INT)
            sift_pg__p_int(&p, params[i].i);
        else if (params[i].type == SIFT_P_TEXT)
            sift_pg__p_text(&p, params[i].s);
        else
            sift_pg__p_null(&p);
    }
    /* in a writer's open batch, a statement that fails must not take the
     * batch's transaction with it */
    if (pg->in_batch)
        rc =
            sift_pg__exec(pg, NULL, "SAVEPOINT sift_query", NULL, err, "query");
    if (rc == SIFT_OK) {
        pg->query_errs = 1;
        rc = sift_pg__exec(pg, &r, q, &p, err, "bad query");
        pg->query_errs = 0;
        if (pg->in_batch) {
            if (rc != SIFT_OK)
                PQclear(PQexec(pg->conn, "ROLLBACK TO SAVEPOINT sift_query"));
            PQclear(PQexec(pg->conn, "RELEASE SAVEPOINT sift_query"));
        }
    }
    sift_pg__pp_free(&p);
    free(q);
    if (rc != SIFT_OK) {
        PQclear(r);
        return rc;
    }
    memset(&row, 0, sizeof(row));
    row.res = r;
    for (i = 0; cb != NULL && i < PQntuples(r); i++) {
        row.i = i;
        if ((stop = cb(payload, &row)) != 0) {
            PQclear(r);
            return stop;
        }
    }
    PQclear(r);
    return SIFT_OK;
}

/* --- the whole history (report/trend.c) --------------------------------- */
/* Every report's date range, reporter and policy domain, by id: for
 * first_seen, NEW senders and silent reporters (docs/report.md "Over
 * time"). */

static const char pg_q_spans[] =
    "SELECT id, policy_domain, org_name, date_begin, date_end FROM reports"
    " ORDER BY id";

static int
on_pg_span(void *payload, const PGresult *r)
{
    struct cbs *s = payload;
    sift_report_span row;

    memset(&row, 0, sizeof(row));
    row.id = sift_pg__int(r, 0, 0);
    row.domain = PQgetvalue(r, 0, 1);
    row.org = PQgetvalue(r, 0, 2);
    row.begin = sift_pg__int(r, 0, 3);
    row.end = sift_pg__int(r, 0, 4);
    return ((sift_span_cb)s->cb)(s->payload, &row);
}

int
sift_pg_report_spans(sift_pg *st, sift_span_cb cb, void *payload, sift_err *err)
{
    struct cbs s = {(void *)cb, payload};

    return stream(st, pg_q_spans, NULL, on_pg_span, &s, err, "report history");
}
