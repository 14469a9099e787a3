/* dns_cache.c -- the DNS cache tables (schema 6); see sift_store.h.
 *
 * dns_ptr holds one row per source address, written by `resolve` and
 * read by report and export. These calls run a few times per run (a
 * write is a batch of rows), so statements are prepared per call. */
#include "sqlite_int.h"

#include <string.h>

#define WHAT "dns cache" /* names a failed step in errors */

int
sift_sq_dns_ptr_todo(sift_sq *st, int64_t now,
                     int (*cb)(void *payload, const char *ip), void *payload,
                     sift_err *err)
{
    static const char sel[] =
        "SELECT DISTINCT r.source_ip FROM records r"
        " LEFT JOIN dns_ptr p ON p.ip = r.source_ip"
        " WHERE r.source_ip IS NOT NULL AND r.source_ip <> ''"
        " AND (p.ip IS NULL OR p.looked_up + p.ttl <= ?1)"
        " ORDER BY r.source_ip";
    sqlite3_stmt *s = NULL;
    int rc;

    if ((rc = sift_sq__prep(st, &s, sel, WHAT, err)) != SIFT_OK)
        return rc;
    sqlite3_bind_int64(s, 1, now);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        int r = cb(payload, (const char *)sqlite3_column_text(s, 0));
        if (r != 0) {
            sqlite3_finalize(s);
            return r;
        }
    }
    rc = rc == SQLITE_DONE ? SIFT_OK : sift_sq__step_err(st, WHAT, err);
    sqlite3_finalize(s);
    return rc;
}

int
sift_sq_dns_ptr_put(sift_sq *st, const sift_ptr_row *rows, size_t n,
                    sift_err *err)
{
    static const char ins[] =
        "INSERT INTO dns_ptr (ip, name, confirmed, status, ttl, looked_up)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (ip) DO UPDATE SET"
        " name = excluded.name, confirmed = excluded.confirmed,"
        " status = excluded.status, ttl = excluded.ttl,"
        " looked_up = excluded.looked_up";
    sqlite3_stmt *s = NULL;
    size_t i;
    int rc;

    if (n == 0)
        return SIFT_OK;
    if (st->readonly)
        return sift_sq__fail(st, err, "database is read-only");
    if (st->in_report)
        return sift_err_set(err, SIFT_EUSAGE, "a report is open");
    if ((rc = sift_sq__prep(st, &s, ins, WHAT, err)) != SIFT_OK)
        return rc;
    if ((rc = sift_sq__exec(st, "SAVEPOINT sift_dns", err)) != SIFT_OK) {
        sqlite3_finalize(s);
        return rc;
    }
    for (i = 0; i < n && rc == SIFT_OK; i++) {
        sqlite3_bind_text(s, 1, rows[i].ip, -1, SQLITE_STATIC);
        if (rows[i].name != NULL && rows[i].name[0] != '\0')
            sqlite3_bind_text(s, 2, rows[i].name, -1, SQLITE_STATIC);
        else
            sqlite3_bind_null(s, 2);
        sqlite3_bind_int(s, 3, rows[i].confirmed != 0);
        sqlite3_bind_text(s, 4, rows[i].status, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 5, rows[i].ttl);
        sqlite3_bind_int64(s, 6, rows[i].looked_up);
        if (sqlite3_step(s) != SQLITE_DONE)
            rc = sift_sq__step_err(st, WHAT, err);
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
    }
    sqlite3_finalize(s);
    if (rc != SIFT_OK) {
        sqlite3_exec(st->db, "ROLLBACK TO sift_dns; RELEASE sift_dns", NULL,
                     NULL, NULL);
        return rc;
    }
    return sift_sq__exec(st, "RELEASE sift_dns", err);
}

int
sift_sq_dns_ptr_each(sift_sq *st,
                     int (*cb)(void *payload, const sift_ptr_row *r),
                     void *payload, sift_err *err)
{
    static const char sel[] = "SELECT ip, name, confirmed, status, ttl,"
                              " looked_up FROM dns_ptr ORDER BY ip";
    sqlite3_stmt *s = NULL;
    int rc;

    if ((rc = sift_sq__prep(st, &s, sel, WHAT, err)) != SIFT_OK)
        return rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        sift_ptr_row r;
        int x;
        r.ip = (const char *)sqlite3_column_text(s, 0);
        r.name = (const char *)sqlite3_column_text(s, 1);
        r.confirmed = sqlite3_column_int(s, 2);
        r.status = (const char *)sqlite3_column_text(s, 3);
        r.ttl = sqlite3_column_int64(s, 4);
        r.looked_up = sqlite3_column_int64(s, 5);
        if ((x = cb(payload, &r)) != 0) {
            sqlite3_finalize(s);
            return x;
        }
    }
    rc = rc == SQLITE_DONE ? SIFT_OK : sift_sq__step_err(st, WHAT, err);
    sqlite3_finalize(s);
    return rc;
}

int
sift_sq_dns_ptr_count(sift_sq *st, int64_t now, uint64_t *total,
                      uint64_t *expired, sift_err *err)
{
    static const char sel[] =
        "SELECT count(*), coalesce(sum(looked_up + ttl <= ?1), 0)"
        " FROM dns_ptr";
    sqlite3_stmt *s = NULL;
    int rc;

    *total = *expired = 0;
    if ((rc = sift_sq__prep(st, &s, sel, WHAT, err)) != SIFT_OK)
        return rc;
    sqlite3_bind_int64(s, 1, now);
    if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        *total = (uint64_t)sqlite3_column_int64(s, 0);
        *expired = (uint64_t)sqlite3_column_int64(s, 1);
        rc = SIFT_OK;
    } else {
        rc = sift_sq__step_err(st, WHAT, err);
    }
    sqlite3_finalize(s);
    return rc;
}

/* --- what a policy domain publishes ------------------------------------ */

int
sift_sq_dns_domains_todo(sift_sq *st, int64_t now,
                         int (*cb)(void *payload, const char *domain),
                         void *payload, sift_err *err)
{
    static const char sel[] =
        "SELECT DISTINCT lower(r.policy_domain) AS d FROM reports r"
        " LEFT JOIN dns_published p ON p.domain = lower(r.policy_domain)"
        " WHERE r.policy_domain <> '' AND length(r.policy_domain) <= 253"
        " AND (p.domain IS NULL OR p.looked_up + p.ttl <= ?1) ORDER BY d";
    sqlite3_stmt *s = NULL;
    int rc;

    if ((rc = sift_sq__prep(st, &s, sel, WHAT, err)) != SIFT_OK)
        return rc;
    sqlite3_bind_int64(s, 1, now);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        int r = cb(payload, (const char *)sqlite3_column_text(s, 0));
        if (r != 0) {
            sqlite3_finalize(s);
            return r;
        }
    }
    rc = rc == SQLITE_DONE ? SIFT_OK : sift_sq__step_err(st, WHAT, err);
    sqlite3_finalize(s);
    return rc;
}

/* Every distinct (lowercase d=, selector) of the DKIM results, in that
 * order (sift_store_dns_selectors_many matches them to the domains): one
 * pass over the table whatever the number of domains, where a query per
 * domain had been one pass each (0.37 s per domain over 1M records). */
int
sift_sq_dns_dkim_pairs(sift_sq *st,
                       int (*cb)(void *payload, const char *d,
                                 const char *selector),
                       void *payload, sift_err *err)
{
    static const char sel[] =
        "SELECT DISTINCT lower(domain) AS d, selector FROM dkim_results"
        " WHERE domain IS NOT NULL AND selector IS NOT NULL"
        " AND selector <> '' ORDER BY d, selector";
    sqlite3_stmt *s = NULL;
    int rc;

    if ((rc = sift_sq__prep(st, &s, sel, WHAT, err)) != SIFT_OK)
        return rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        int r = cb(payload, (const char *)sqlite3_column_text(s, 0),
                   (const char *)sqlite3_column_text(s, 1));
        if (r != 0) {
            sqlite3_finalize(s);
            return r;
        }
    }
    rc = rc == SQLITE_DONE ? SIFT_OK : sift_sq__step_err(st, WHAT, err);
    sqlite3_finalize(s);
    return rc;
}

static void
bind_opt(sqlite3_stmt *s, int i, const char *v)
{
    if (v != NULL && v[0] != '\0')
        sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(s, i);
}

int
sift_sq_dns_published_put(sift_sq *st, const sift_published_row *p,
                          const sift_dkim_row *k, size_t n, sift_err *err)
{
    static const char ins_p[] =
        "INSERT OR REPLACE INTO dns_published (domain, tree_at, tree_record,"
        " psl_at, psl_record, differ, spf_record, spf_records, spf_lookups,"
        " spf_all, spf_includes, spf_error, ttl, looked_up) VALUES (?1, ?2,"
        " ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)";
    static const char ins_k[] =
        "INSERT OR REPLACE INTO dns_dkim (domain, selector, status, present,"
        " key_type, key_bits, ttl, looked_up) VALUES (?1, ?2, ?3, ?4, ?5, ?6,"
        " ?7, ?8)";
    sqlite3_stmt *s = NULL;
    size_t i;
    int rc;

    if (st->readonly)
        return sift_sq__fail(st, err, "database is read-only");
    if (st->in_report)
        return sift_err_set(err, SIFT_EUSAGE, "a report is open");
    if ((rc = sift_sq__exec(st, "SAVEPOINT sift_dns", err)) != SIFT_OK)
        return rc;
    if ((rc = sift_sq__prep(st, &s, ins_p, WHAT, err)) != SIFT_OK)
        goto fail;
    sqlite3_bind_text(s, 1, p->domain, -1, SQLITE_STATIC);
    bind_opt(s, 2, p->tree_at);
    bind_opt(s, 3, p->tree_record);
    bind_opt(s, 4, p->psl_at);
    bind_opt(s, 5, p->psl_record);
    sqlite3_bind_int(s, 6, p->differ != 0);
    bind_opt(s, 7, p->spf_record);
    sqlite3_bind_int(s, 8, p->spf_records);
    sqlite3_bind_int(s, 9, p->spf_lookups);
    sqlite3_bind_int(s, 10, p->spf_all != 0);
    bind_opt(s, 11, p->spf_includes);
    bind_opt(s, 12, p->spf_error);
    sqlite3_bind_int64(s, 13, p->ttl);
    sqlite3_bind_int64(s, 14, p->looked_up);
    rc = sqlite3_step(s) == SQLITE_DONE ? SIFT_OK
                                        : sift_sq__step_err(st, WHAT, err);
    sqlite3_finalize(s);
    s = NULL;
    if (rc != SIFT_OK || n == 0)
        goto end;
    if ((rc = sift_sq__prep(st, &s, ins_k, WHAT, err)) != SIFT_OK)
        goto fail;
    for (i = 0; i < n && rc == SIFT_OK; i++) {
        sqlite3_bind_text(s, 1, k[i].domain, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, k[i].selector, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 3, k[i].status, -1, SQLITE_STATIC);
        sqlite3_bind_int(s, 4, k[i].present != 0);
        bind_opt(s, 5, k[i].key_type);
        sqlite3_bind_int(s, 6, k[i].key_bits);
        sqlite3_bind_int64(s, 7, k[i].ttl);
        sqlite3_bind_int64(s, 8, k[i].looked_up);
        if (sqlite3_step(s) != SQLITE_DONE)
            rc = sift_sq__step_err(st, WHAT, err);
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
    }
    sqlite3_finalize(s);
end:
    if (rc != SIFT_OK)
        goto fail;
    return sift_sq__exec(st, "RELEASE sift_dns", err);
fail:
    sqlite3_exec(st->db, "ROLLBACK TO sift_dns; RELEASE sift_dns", NULL, NULL,
                 NULL);
    return rc;
}

static const char *
col(sqlite3_stmt *s, int i)
{
    return (const char *)sqlite3_column_text(s, i);
}

int
sift_sq_dns_published_each(sift_sq *st,
                           int (*cb)(void *payload,
                                     const sift_published_row *p),
                           void *payload, sift_err *err)
{
    static const char sel[] =
        "SELECT domain, tree_at, tree_record, psl_at, psl_record, differ,"
        " spf_record, spf_records, spf_lookups, spf_all, spf_includes,"
        " spf_error, ttl, looked_up FROM dns_published ORDER BY domain";
    sqlite3_stmt *s = NULL;
    int rc;

    if ((rc = sift_sq__prep(st, &s, sel, WHAT, err)) != SIFT_OK)
        return rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        sift_published_row p;
        int x;
        p.domain = col(s, 0);
        p.tree_at = col(s, 1);
        p.tree_record = col(s, 2);
        p.psl_at = col(s, 3);
        p.psl_record = col(s, 4);
        p.differ = sqlite3_column_int(s, 5);
        p.spf_record = col(s, 6);
        p.spf_records = sqlite3_column_int(s, 7);
        p.spf_lookups = sqlite3_column_int(s, 8);
        p.spf_all = sqlite3_column_int(s, 9);
        p.spf_includes = col(s, 10);
        p.spf_error = col(s, 11);
        p.ttl = sqlite3_column_int64(s, 12);
        p.looked_up = sqlite3_column_int64(s, 13);
        if ((x = cb(payload, &p)) != 0) {
            sqlite3_finalize(s);
            return x;
        }
    }
    rc = rc == SQLITE_DONE ? SIFT_OK : sift_sq__step_err(st, WHAT, err);
    sqlite3_finalize(s);
    return rc;
}

int
sift_sq_dns_dkim_each(sift_sq *st, const char *domain,
                      int (*cb)(void *payload, const sift_dkim_row *k),
                      void *payload, sift_err *err)
{
    static const char sel[] =
        "SELECT domain, selector, status, present, key_type, key_bits, ttl,"
        " looked_up FROM dns_dkim WHERE domain = ?1"
        " OR substr(domain, -length(?1) - 1) = '.' || ?1"
        " ORDER BY domain, selector";
    sqlite3_stmt *s = NULL;
    int rc;

    if ((rc = sift_sq__prep(st, &s, sel, WHAT, err)) != SIFT_OK)
        return rc;
    sqlite3_bind_text(s, 1, domain, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        sift_dkim_row k;
        int x;
        k.domain = col(s, 0);
        k.selector = col(s, 1);
        k.status = col(s, 2);
        k.present = sqlite3_column_int(s, 3);
        k.key_type = col(s, 4);
        k.key_bits = sqlite3_column_int(s, 5);
        k.ttl = sqlite3_column_int64(s, 6);
        k.looked_up = sqlite3_column_int64(s, 7);
        if ((x = cb(payload, &k)) != 0) {
            sqlite3_finalize(s);
            return x;
        }
    }
    rc = rc == SQLITE_DONE ? SIFT_OK : sift_sq__step_err(st, WHAT, err);
    sqlite3_finalize(s);
    return rc;
}
