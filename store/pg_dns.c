/* pg_dns.c -- the DNS cache in PostgreSQL (tables dns_ptr, dns_published,
 * dns_dkim; schema 7 here, SQLite's 6); see sift_store.h and
 * dns_cache.c, whose answers these match row for row: strings are
 * ordered and ASCII-lowercased under the "C" collation, as SQLite does.
 *
 * A write of n rows is one statement over arrays (unnest), so it is
 * atomic on its own and joins an open batch like every other write
 * (sift_pg__write). Reads stream in single-row mode. */
#include "pg_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WHAT "dns cache" /* names a failed step in errors */

/* --- array literals ------------------------------------------------------ */

/* An array literal being built: {"a","b",NULL} or {1,2}. */
typedef struct arr {
    char *s;
    size_t len, cap;
    int nomem;
} arr;

static void
arr_put(arr *a, const char *s, size_t n)
{
    if (a->nomem)
        return;
    if (a->len + n + 2 > a->cap) {
        size_t cap = a->cap ? a->cap : 256;
        char *p;

        while (a->len + n + 2 > cap)
            cap *= 2;
        if ((p = realloc(a->s, cap)) == NULL) {
            a->nomem = 1;
            return;
        }
        a->s = p;
        a->cap = cap;
    }
    memcpy(a->s + a->len, s, n);
    a->len += n;
    a->s[a->len] = '\0';
}

static void
arr_sep(arr *a)
{
    arr_put(a, a->len == 0 ? "{" : ",", 1);
}

/* A text element, quoted and escaped; NULL (or "" when empty_null) is
 * the NULL element. */
static void
arr_text(arr *a, const char *v, int empty_null)
{
    arr_sep(a);
    if (v == NULL || (empty_null && v[0] == '\0')) {
        arr_put(a, "NULL", 4);
        return;
    }
    arr_put(a, "\"", 1);
    for (; *v; v++) {
        if (*v == '"' || *v == '\\')
            arr_put(a, "\\", 1);
        arr_put(a, v, 1);
    }
    arr_put(a, "\"", 1);
}

static void
arr_int(arr *a, int64_t v)
{
    char num[24];

    arr_sep(a);
    arr_put(a, num, (size_t)snprintf(num, sizeof(num), "%lld", (long long)v));
}

/* Close the literal: the text, or NULL when out of memory. */
static const char *
arr_end(arr *a)
{
    if (a->len == 0)
        arr_put(a, "{", 1);
    arr_put(a, "}", 1);
    return a->nomem ? NULL : a->s;
}

static int
writable(sift_pg *st, sift_err *err)
{
    if (st->readonly)
        return sift_pg__fail(st, err, "database is read-only");
    if (st->in_report)
        return sift_err_set(err, SIFT_EUSAGE, "a report is open");
    return SIFT_OK;
}

/* --- source names -------------------------------------------------------- */

typedef struct str_cb {
    int (*cb)(void *payload, const char *s);
    void *payload;
} str_cb;

static int
on_str(void *payload, const PGresult *r)
{
    str_cb *c = payload;

    return c->cb(c->payload, PQgetvalue(r, 0, 0));
}

int
sift_pg_dns_ptr_todo(sift_pg *st, int64_t now,
                     int (*cb)(void *payload, const char *ip), void *payload,
                     sift_err *err)
{
    str_cb c = {cb, payload};
    pp p;
    int rc;

    sift_pg__pp_init(&p);
    sift_pg__p_int(&p, now);
    rc = sift_pg__stream(st,
                         "SELECT DISTINCT r.source_ip COLLATE \"C\" AS ip"
                         " FROM records r LEFT JOIN dns_ptr p"
                         " ON p.ip = r.source_ip WHERE r.source_ip IS NOT NULL"
                         " AND r.source_ip <> '' AND (p.ip IS NULL"
                         " OR p.looked_up + p.ttl <= $1) ORDER BY ip",
                         &p, on_str, &c, err, WHAT);
    sift_pg__pp_free(&p);
    return rc;
}

int
sift_pg_dns_ptr_put(sift_pg *st, const sift_ptr_row *rows, size_t n,
                    sift_err *err)
{
    arr a[6];
    size_t i;
    pp p;
    int rc;

    if (n == 0)
        return SIFT_OK;
    if ((rc = writable(st, err)) != SIFT_OK)
        return rc;
    memset(a, 0, sizeof(a));
    for (i = 0; i < n; i++) {
        arr_text(&a[0], rows[i].ip, 0);
        arr_text(&a[1], rows[i].name, 1);
        arr_int(&a[2], rows[i].confirmed != 0);
        arr_text(&a[3], rows[i].status, 0);
        arr_int(&a[4], rows[i].ttl);
        arr_int(&a[5], rows[i].looked_up);
    }
    sift_pg__pp_init(&p);
    for (i = 0; i < 6; i++)
        sift_pg__p_text(&p, arr_end(&a[i]));
    for (i = 0; i < 6 && !a[i].nomem; i++)
        ;
    if (i < 6)
        rc = sift_err_set(err, SIFT_ENOMEM, "out of memory");
    else
        rc = sift_pg__write(
            st,
            "INSERT INTO dns_ptr (ip, name, confirmed, status, ttl,"
            " looked_up) SELECT * FROM unnest($1::text[], $2::text[],"
            " $3::integer[], $4::text[], $5::bigint[], $6::bigint[])"
            " ON CONFLICT (ip) DO UPDATE SET name = excluded.name,"
            " confirmed = excluded.confirmed, status = excluded.status,"
            " ttl = excluded.ttl, looked_up = excluded.looked_up",
            &p, NULL, err, WHAT);
    sift_pg__pp_free(&p);
    for (i = 0; i < 6; i++)
        free(a[i].s);
    return rc;
}

typedef struct ptr_cb {
    int (*cb)(void *payload, const sift_ptr_row *r);
    void *payload;
} ptr_cb;

static const char *
col(const PGresult *r, int c)
{
    return PQgetisnull(r, 0, c) ? NULL : PQgetvalue(r, 0, c);
}

static int
on_ptr(void *payload, const PGresult *r)
{
    ptr_cb *c = payload;
    sift_ptr_row row;

    row.ip = col(r, 0);
    row.name = col(r, 1);
    row.confirmed = (int)sift_pg__int(r, 0, 2);
    row.status = col(r, 3);
    row.ttl = sift_pg__int(r, 0, 4);
    row.looked_up = sift_pg__int(r, 0, 5);
    return c->cb(c->payload, &row);
}

int
sift_pg_dns_ptr_each(sift_pg *st,
                     int (*cb)(void *payload, const sift_ptr_row *r),
                     void *payload, sift_err *err)
{
    ptr_cb c = {cb, payload};

    return sift_pg__stream(st,
                           "SELECT ip, name, confirmed, status, ttl, looked_up"
                           " FROM dns_ptr ORDER BY ip COLLATE \"C\"",
                           NULL, on_ptr, &c, err, WHAT);
}

int
sift_pg_dns_ptr_count(sift_pg *st, int64_t now, uint64_t *total,
                      uint64_t *expired, sift_err *err)
{
    PGresult *r = NULL;
    pp p;
    int rc;

    *total = *expired = 0;
    sift_pg__pp_init(&p);
    sift_pg__p_int(&p, now);
    rc = sift_pg__exec(st, &r,
                       "SELECT count(*), count(*) FILTER (WHERE"
                       " looked_up + ttl <= $1) FROM dns_ptr",
                       &p, err, WHAT);
    sift_pg__pp_free(&p);
    if (rc != SIFT_OK)
        return rc;
    *total = (uint64_t)sift_pg__int(r, 0, 0);
    *expired = (uint64_t)sift_pg__int(r, 0, 1);
    PQclear(r);
    return SIFT_OK;
}

/* --- what a policy domain publishes -------------------------------------- */

int
sift_pg_dns_domains_todo(sift_pg *st, int64_t now,
                         int (*cb)(void *payload, const char *domain),
                         void *payload, sift_err *err)
{
    str_cb c = {cb, payload};
    pp p;
    int rc;

    sift_pg__pp_init(&p);
    sift_pg__p_int(&p, now);
    rc = sift_pg__stream(
        st,
        "SELECT DISTINCT lower(r.policy_domain COLLATE \"C\") AS d"
        " FROM reports r LEFT JOIN dns_published p"
        " ON p.domain = lower(r.policy_domain COLLATE \"C\")"
        " WHERE r.policy_domain <> '' AND length(r.policy_domain) <= 253"
        " AND (p.domain IS NULL OR p.looked_up + p.ttl <= $1) ORDER BY d",
        &p, on_str, &c, err, WHAT);
    sift_pg__pp_free(&p);
    return rc;
}

typedef struct sel_cb {
    int (*cb)(void *payload, const char *d, const char *selector);
    void *payload;
} sel_cb;

static int
on_sel(void *payload, const PGresult *r)
{
    sel_cb *c = payload;

    return c->cb(c->payload, PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1));
}

/* Every distinct (lowercase d=, selector) of the DKIM results, in that
 * order (sift_store_dns_selectors_many matches them to the domains). It
 * reads records.dkim itself (schema 9; pg.c), not the dkim_results view:
 * the fields as stored, 'V' and the value ('N' is NULL). One pass for all
 * the domains: over 1M records 1.3 s, where a query per domain, which
 * skipped the records not mentioning it, had taken 2.3 s each. */
int
sift_pg_dns_dkim_pairs(sift_pg *st,
                       int (*cb)(void *payload, const char *d,
                                 const char *selector),
                       void *payload, sift_err *err)
{
    sel_cb c = {cb, payload};

    return sift_pg__stream(
        st,
        "SELECT DISTINCT lower(substr(x.d, 2) COLLATE \"C\") AS d,"
        " substr(x.s, 2) COLLATE \"C\" AS s FROM (SELECT"
        " split_part(e, chr(31), 1) AS d, split_part(e, chr(31), 2) AS s"
        " FROM records c, string_to_table(c.dkim, chr(30)) e) x"
        " WHERE x.d LIKE 'V%' AND x.s LIKE 'V_%' ORDER BY d, s",
        NULL, on_sel, &c, err, WHAT);
}

int
sift_pg_dns_published_put(sift_pg *st, const sift_published_row *d,
                          const sift_dkim_row *k, size_t n, sift_err *err)
{
    arr a[8];
    size_t i;
    pp p;
    int rc;

    if ((rc = writable(st, err)) != SIFT_OK)
        return rc;
    memset(a, 0, sizeof(a));
    for (i = 0; i < n; i++) {
        arr_text(&a[0], k[i].domain, 0);
        arr_text(&a[1], k[i].selector, 0);
        arr_text(&a[2], k[i].status, 0);
        arr_int(&a[3], k[i].present != 0);
        arr_text(&a[4], k[i].key_type, 1);
        arr_int(&a[5], k[i].key_bits);
        arr_int(&a[6], k[i].ttl);
        arr_int(&a[7], k[i].looked_up);
    }
    sift_pg__pp_init(&p);
#define OPT(s) sift_pg__p_text(&p, (s) != NULL && (s)[0] != '\0' ? (s) : NULL)
    sift_pg__p_text(&p, d->domain);
    OPT(d->tree_at);
    OPT(d->tree_record);
    OPT(d->psl_at);
    OPT(d->psl_record);
    sift_pg__p_int(&p, d->differ != 0);
    OPT(d->spf_record);
    sift_pg__p_int(&p, d->spf_records);
    sift_pg__p_int(&p, d->spf_lookups);
    sift_pg__p_int(&p, d->spf_all != 0);
    OPT(d->spf_includes);
    OPT(d->spf_error);
    sift_pg__p_int(&p, d->ttl);
    sift_pg__p_int(&p, d->looked_up);
#undef OPT
    for (i = 0; i < 8; i++)
        sift_pg__p_text(&p, arr_end(&a[i]));
    for (i = 0; i < 8 && !a[i].nomem; i++)
        ;
    /* one statement: the domain's row, then its keys (a data-modifying
     * CTE runs whether or not the outer statement reads it) */
    if (i < 8)
        rc = sift_err_set(err, SIFT_ENOMEM, "out of memory");
    else
        rc = sift_pg__write(
            st,
            "WITH d AS (INSERT INTO dns_published (domain, tree_at,"
            " tree_record, psl_at, psl_record, differ, spf_record,"
            " spf_records, spf_lookups, spf_all, spf_includes, spf_error,"
            " ttl, looked_up) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9,"
            " $10, $11, $12, $13, $14) ON CONFLICT (domain) DO UPDATE SET"
            " tree_at = excluded.tree_at, tree_record = excluded.tree_record,"
            " psl_at = excluded.psl_at, psl_record = excluded.psl_record,"
            " differ = excluded.differ, spf_record = excluded.spf_record,"
            " spf_records = excluded.spf_records,"
            " spf_lookups = excluded.spf_lookups, spf_all = excluded.spf_all,"
            " spf_includes = excluded.spf_includes,"
            " spf_error = excluded.spf_error, ttl = excluded.ttl,"
            " looked_up = excluded.looked_up)"
            " INSERT INTO dns_dkim (domain, selector, status, present,"
            " key_type, key_bits, ttl, looked_up) SELECT * FROM"
            " unnest($15::text[], $16::text[], $17::text[], $18::integer[],"
            " $19::text[], $20::integer[], $21::bigint[], $22::bigint[])"
            " ON CONFLICT (domain, selector) DO UPDATE SET"
            " status = excluded.status, present = excluded.present,"
            " key_type = excluded.key_type, key_bits = excluded.key_bits,"
            " ttl = excluded.ttl, looked_up = excluded.looked_up",
            &p, NULL, err, WHAT);
    sift_pg__pp_free(&p);
    for (i = 0; i < 8; i++)
        free(a[i].s);
    return rc;
}

typedef struct pub_cb {
    int (*cb)(void *payload, const sift_published_row *p);
    void *payload;
} pub_cb;

static int
on_pub(void *payload, const PGresult *r)
{
    pub_cb *c = payload;
    sift_published_row p;

    p.domain = col(r, 0);
    p.tree_at = col(r, 1);
    p.tree_record = col(r, 2);
    p.psl_at = col(r, 3);
    p.psl_record = col(r, 4);
    p.differ = (int)sift_pg__int(r, 0, 5);
    p.spf_record = col(r, 6);
    p.spf_records = (int)sift_pg__int(r, 0, 7);
    p.spf_lookups = (int)sift_pg__int(r, 0, 8);
    p.spf_all = (int)sift_pg__int(r, 0, 9);
    p.spf_includes = col(r, 10);
    p.spf_error = col(r, 11);
    p.ttl = sift_pg__int(r, 0, 12);
    p.looked_up = sift_pg__int(r, 0, 13);
    return c->cb(c->payload, &p);
}

int
sift_pg_dns_published_each(sift_pg *st,
                           int (*cb)(void *payload,
                                     const sift_published_row *p),
                           void *payload, sift_err *err)
{
    pub_cb c = {cb, payload};

    return sift_pg__stream(
        st,
        "SELECT domain, tree_at, tree_record, psl_at, psl_record, differ,"
        " spf_record, spf_records, spf_lookups, spf_all, spf_includes,"
        " spf_error, ttl, looked_up FROM dns_published"
        " ORDER BY domain COLLATE \"C\"",
        NULL, on_pub, &c, err, WHAT);
}

typedef struct key_cb {
    int (*cb)(void *payload, const sift_dkim_row *k);
    void *payload;
} key_cb;

static int
on_key(void *payload, const PGresult *r)
{
    key_cb *c = payload;
    sift_dkim_row k;

    k.domain = col(r, 0);
    k.selector = col(r, 1);
    k.status = col(r, 2);
    k.present = (int)sift_pg__int(r, 0, 3);
    k.key_type = col(r, 4);
    k.key_bits = (int)sift_pg__int(r, 0, 5);
    k.ttl = sift_pg__int(r, 0, 6);
    k.looked_up = sift_pg__int(r, 0, 7);
    return c->cb(c->payload, &k);
}

int
sift_pg_dns_dkim_each(sift_pg *st, const char *domain,
                      int (*cb)(void *payload, const sift_dkim_row *k),
                      void *payload, sift_err *err)
{
    key_cb c = {cb, payload};
    pp p;
    int rc;

    sift_pg__pp_init(&p);
    sift_pg__p_text(&p, domain);
    rc = sift_pg__stream(
        st,
        "SELECT domain, selector, status, present, key_type, key_bits, ttl,"
        " looked_up FROM dns_dkim WHERE domain = $1"
        " OR right(domain, length($1) + 1) = '.' || $1"
        " ORDER BY domain COLLATE \"C\", selector COLLATE \"C\"",
        &p, on_key, &c, err, WHAT);
    sift_pg__pp_free(&p);
    return rc;
}
