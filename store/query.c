/* query.c -- reading the store: generic queries for report/, stats,
 * prune and the failed-input list.
 *
 * sift_sq_query() keeps a small LRU cache of prepared statements keyed
 * by SQL text, so report/ can call it in loops without re-preparing. Only
 * read-only statements are accepted (sqlite3_stmt_readonly). */
#include "sqlite_int.h"

#include <stdlib.h>
#include <string.h>

int64_t
sift_row_int(sift_row *r, int col)
{
    if (r->res != NULL)
        return sift_pg__row_int(r, col);
    return sqlite3_column_int64(r->stmt, col);
}

double
sift_row_double(sift_row *r, int col)
{
    if (r->res != NULL)
        return sift_pg__row_double(r, col);
    return sqlite3_column_double(r->stmt, col);
}

const char *
sift_row_text(sift_row *r, int col)
{
    if (r->res != NULL)
        return sift_pg__row_text(r, col);
    return (const char *)sqlite3_column_text(r->stmt, col);
}

int
sift_row_is_null(sift_row *r, int col)
{
    if (r->res != NULL)
        return sift_pg__row_is_null(r, col);
    return sqlite3_column_type(r->stmt, col) == SQLITE_NULL;
}

int
sift_row_columns(sift_row *r)
{
    if (r->res != NULL)
        return sift_pg__row_columns(r);
    return sqlite3_column_count(r->stmt);
}

/* --- bit_or(x): aggregate bitwise OR of integers, 0 for no input ------- */

static void
bit_or_step(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    int64_t *acc = sqlite3_aggregate_context(ctx, sizeof(*acc));

    (void)argc;
    if (acc == NULL) {
        sqlite3_result_error_nomem(ctx);
        return;
    }
    if (sqlite3_value_type(argv[0]) != SQLITE_NULL)
        *acc |= sqlite3_value_int64(argv[0]);
}

static void
bit_or_final(sqlite3_context *ctx)
{
    int64_t *acc = sqlite3_aggregate_context(ctx, 0);

    sqlite3_result_int64(ctx, acc ? *acc : 0);
}

/* --- sat_sum(x): SUM of integers saturating at INT64_MAX / INT64_MIN --- */

static void
sat_sum_step(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    int64_t *acc = sqlite3_aggregate_context(ctx, sizeof(*acc)), v;

    (void)argc;
    if (acc == NULL) {
        sqlite3_result_error_nomem(ctx);
        return;
    }
    if (sqlite3_value_type(argv[0]) == SQLITE_NULL)
        return;
    v = sqlite3_value_int64(argv[0]);
    if (v > 0 && *acc > INT64_MAX - v)
        *acc = INT64_MAX;
    else if (v < 0 && *acc < INT64_MIN - v)
        *acc = INT64_MIN;
    else
        *acc += v;
}

/* --- sift_xxh128(blob): the 16-byte XXH3-128 of a BLOB (NULL: of no
 * bytes), for the schema-2 migration of failed_inputs.raw_hash ---------- */

static void
xxh128_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    const void *p = sqlite3_value_blob(argv[0]);
    int n = sqlite3_value_bytes(argv[0]);
    unsigned char out[16];

    (void)argc;
    sift_hash128_put(out,
                     sift_hash128_of(p, p != NULL && n > 0 ? (size_t)n : 0));
    sqlite3_result_blob(ctx, out, sizeof(out), SQLITE_TRANSIENT);
}

int
sift_sq__functions(sift_sq *st, sift_err *err)
{
    int rc = sqlite3_create_function_v2(
        st->db, "bit_or", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL, NULL,
        bit_or_step, bit_or_final, NULL);

    if (rc == SQLITE_OK)
        rc = sqlite3_create_function_v2(
            st->db, "sat_sum", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL,
            NULL, sat_sum_step, bit_or_final, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_create_function_v2(st->db, "sift_xxh128", 1,
                                        SQLITE_UTF8 | SQLITE_DETERMINISTIC,
                                        NULL, xxh128_fn, NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return sift_sq__db_err(st, rc, err, "register functions");
    return SIFT_OK;
}

/* --- statement cache -------------------------------------------------- */

void
sift_sq__cache_free(sift_sq *st)
{
    int i;

    for (i = 0; i < SIFT_STORE_QCACHE; i++) {
        sqlite3_finalize(st->cache[i].s);
        free(st->cache[i].sql);
        st->cache[i].s = NULL;
        st->cache[i].sql = NULL;
    }
}

static int
prepare_query(sift_sq *st, sqlite3_stmt **out, const char *sql, sift_err *err)
{
    sqlite3_stmt *s = NULL;
    const char *tail = NULL;
    int rc;

    *out = NULL;
    rc = sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s,
                            &tail);
    if (rc == SQLITE_ERROR) {
        sift_err_set(err, SIFT_EUSAGE, "bad query: %s", sqlite3_errmsg(st->db));
        sift_err_where(err, st->path);
        return SIFT_EUSAGE;
    }
    if (rc != SQLITE_OK)
        return sift_sq__db_err(st, rc, err, "prepare query");
    if (s == NULL) {
        rc = sift_err_set(err, SIFT_EUSAGE, "bad query: no statement");
        goto fail;
    }
    tail += strspn(tail, " \t\r\n;");
    if (*tail != '\0') {
        rc = sift_err_set(err, SIFT_EUSAGE,
                          "bad query: more than one statement");
        goto fail;
    }
    if (!sqlite3_stmt_readonly(s)) {
        rc = sift_err_set(err, SIFT_EUSAGE, "bad query: not read-only");
        goto fail;
    }
    *out = s;
    return SIFT_OK;
fail:
    sift_err_where(err, st->path);
    sqlite3_finalize(s);
    return rc;
}

/* A cached statement for sql, or a fresh one in *tmp (the caller finalizes
 * it) when the cached one is busy: a callback may re-enter with the same
 * SQL. */
static int
get_query(sift_sq *st, sqlite3_stmt **out, sqlite3_stmt **tmp, const char *sql,
          sift_err *err)
{
    struct qcache *c, *victim = &st->cache[0];
    sqlite3_stmt *s;
    char *copy;
    int i, rc;

    *out = *tmp = NULL;
    st->tick++;
    for (i = 0; i < SIFT_STORE_QCACHE; i++) {
        c = &st->cache[i];
        if (c->sql != NULL && strcmp(c->sql, sql) == 0) {
            c->used = st->tick;
            if (sqlite3_stmt_busy(c->s)) {
                rc = prepare_query(st, tmp, sql, err);
                *out = *tmp;
                return rc;
            }
            *out = c->s;
            return SIFT_OK;
        }
        if (c->sql == NULL || c->used < victim->used)
            victim = c;
        if (c->sql == NULL)
            break;
    }
    if ((rc = prepare_query(st, &s, sql, err)) != SIFT_OK)
        return rc;
    if (sqlite3_stmt_busy(victim->s) || (copy = strdup(sql)) == NULL) {
        /* Evicting would pull a running statement from under a caller;
         * use this one once instead. */
        *out = *tmp = s;
        return SIFT_OK;
    }
    sqlite3_finalize(victim->s);
    free(victim->sql);
    victim->sql = copy;
    victim->s = s;
    victim->used = st->tick;
    *out = s;
    return SIFT_OK;
}

int
sift_sq_query(sift_sq *st, const char *sql, const sift_param *params, int n,
              sift_row_cb cb, void *payload, sift_err *err)
{
    sqlite3_stmt *s = NULL, *tmp = NULL;
    sift_row row;
    int rc, i;

    if ((rc = get_query(st, &s, &tmp, sql, err)) != SIFT_OK)
        return rc;
    if (n != sqlite3_bind_parameter_count(s)) {
        rc = sift_err_set(err, SIFT_EUSAGE,
                          "bad query: %d parameters given, %d expected", n,
                          sqlite3_bind_parameter_count(s));
        sift_err_where(err, st->path);
        goto out;
    }
    for (i = 0; i < n; i++) {
        switch (params[i].type) {
        case SIFT_P_INT:
            sqlite3_bind_int64(s, i + 1, params[i].i);
            break;
        case SIFT_P_TEXT: /* a NULL string is SQL NULL */
            if (params[i].s != NULL)
                sqlite3_bind_text(s, i + 1, params[i].s, -1, SQLITE_TRANSIENT);
            else
                sqlite3_bind_null(s, i + 1);
            break;
        case SIFT_P_NULL:
        default:
            sqlite3_bind_null(s, i + 1);
            break;
        }
    }
    memset(&row, 0, sizeof(row));
    row.stmt = s;
    for (;;) {
        rc = sqlite3_step(s);
        if (rc == SQLITE_DONE) {
            rc = SIFT_OK;
            break;
        }
        if (rc != SQLITE_ROW) {
            rc = sift_sq__db_err(st, sqlite3_extended_errcode(st->db), err,
                                 "query");
            break;
        }
        if (cb != NULL && (rc = cb(payload, &row)) != 0)
            break;
    }
out:
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    sqlite3_finalize(tmp);
    return rc;
}

/* --- stats, prune, failed inputs -------------------------------------- */

int
sift_sq_stats(sift_sq *st, sift_stats *out, sift_err *err)
{
    sqlite3_stmt *s = st->q[Q_STATS];
    int rc;

    memset(out, 0, sizeof(*out));
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        out->reports = (uint64_t)sqlite3_column_int64(s, 0);
        out->records = (uint64_t)sqlite3_column_int64(s, 1);
        out->messages = (uint64_t)sqlite3_column_int64(s, 2);
        out->reporters = (uint64_t)sqlite3_column_int64(s, 3);
        out->domains = (uint64_t)sqlite3_column_int64(s, 4);
        out->first_begin = sqlite3_column_int64(s, 5);
        out->last_end = sqlite3_column_int64(s, 6);
        out->failed_inputs = (uint64_t)sqlite3_column_int64(s, 7);
        out->conflicts = (uint64_t)sqlite3_column_int64(s, 8);
        rc = SIFT_OK;
    } else {
        rc =
            sift_sq__db_err(st, sqlite3_extended_errcode(st->db), err, "stats");
    }
    sqlite3_reset(s);
    return rc;
}

int
sift_sq_prune(sift_sq *st, uint64_t *deleted, uint64_t *failed, int64_t before,
              sift_err *err)
{
    sqlite3_stmt *s = st->q[Q_PRUNE];
    uint64_t nf = 0;
    int rc;

    *deleted = 0;
    if (failed != NULL)
        *failed = 0;
    /* Commits the open batch: prune is its own transaction. */
    if ((rc = sift_sq_flush(st, err)) != SIFT_OK)
        return rc;
    if ((rc = sift_sq__run(st, st->q[Q_BEGIN], err)) != SIFT_OK)
        return rc;
    sqlite3_bind_int64(s, 1, before);
    if ((rc = sift_sq__run(st, s, err)) != SIFT_OK)
        goto fail;
    *deleted = (uint64_t)sqlite3_changes64(st->db);
    sqlite3_bind_int64(st->q[Q_PRUNE_FAILED], 1, before);
    if ((rc = sift_sq__run(st, st->q[Q_PRUNE_FAILED], err)) != SIFT_OK)
        goto fail;
    nf = (uint64_t)sqlite3_changes64(st->db);
    if ((rc = sift_sq__run(st, st->q[Q_COMMIT], err)) != SIFT_OK)
        goto fail;
    if (failed != NULL)
        *failed = nf;
    /* Give the freed pages back to the file system (auto_vacuum is
     * INCREMENTAL); failing here loses nothing. */
    if (*deleted > 0 || nf > 0)
        sqlite3_exec(st->db, "PRAGMA incremental_vacuum", NULL, NULL, NULL);
    return SIFT_OK;
fail:
    *deleted = 0;
    if (!sqlite3_get_autocommit(st->db))
        sift_sq__run(st, st->q[Q_ROLLBACK], NULL);
    return rc;
}

int
sift_sq_next_failed(sift_sq *st, int64_t after, sift_failed_cb cb,
                    void *payload, sift_err *err)
{
    sqlite3_stmt *s = st->q[Q_EACH_FAILED];
    int rc;

    /* One row per call, the statement reset before returning: the caller
     * may delete rows or store reports (retry-failed) between calls. */
    sqlite3_bind_int64(s, 1, after);
    rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) {
        rc = SIFT_ITEROVER;
    } else if (rc != SQLITE_ROW) {
        rc = sift_sq__db_err(st, sqlite3_extended_errcode(st->db), err,
                             "failed inputs");
    } else {
        int64_t id = sqlite3_column_int64(s, 0);
        const char *path = (const char *)sqlite3_column_text(s, 1);
        const char *reason = (const char *)sqlite3_column_text(s, 2);
        const void *raw = sqlite3_column_blob(s, 3);
        size_t len = (size_t)sqlite3_column_bytes(s, 3);

        if (raw == NULL)
            len = 0;
        rc = cb(payload, id, path ? path : "", reason ? reason : "", raw, len);
    }
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return rc;
}

int
sift_sq_delete_failed(sift_sq *st, int64_t id, sift_err *err)
{
    sqlite3_stmt *s = st->q[Q_DEL_FAILED];
    int rc;

    sqlite3_bind_int64(s, 1, id);
    if ((rc = sift_sq__write(st, s, err)) != SIFT_OK)
        return rc;
    return sqlite3_changes64(st->db) > 0 ? SIFT_OK : SIFT_ITEROVER;
}

int
sift_sq_forget_all_failed(sift_sq *st, uint64_t *n, sift_err *err)
{
    int rc;

    *n = 0;
    if ((rc = sift_sq__write(st, st->q[Q_FORGET_ALL], err)) != SIFT_OK)
        return rc;
    *n = (uint64_t)sqlite3_changes64(st->db);
    return SIFT_OK;
}

int
sift_sq_list_failed(sift_sq *st,
                    int (*cb)(void *payload, const sift_failed_info *f),
                    void *payload, sift_err *err)
{
    sqlite3_stmt *s = st->q[Q_LIST_FAILED];
    sift_failed_info f;
    int64_t after = 0;
    int rc, rows;

    /* pages of 64 rows: no statement stays open while cb runs long */
    do {
        rows = 0;
        sqlite3_bind_int64(s, 1, after);
        while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
            const char *p = (const char *)sqlite3_column_text(s, 1);
            const char *r = (const char *)sqlite3_column_text(s, 2);
            int stop;

            rows++;
            f.id = after = sqlite3_column_int64(s, 0);
            f.path = p ? p : "";
            f.reason = r ? r : "";
            f.size = (uint64_t)sqlite3_column_int64(s, 3);
            f.kept = sqlite3_column_int(s, 4) != 0;
            f.first_seen = sqlite3_column_int64(s, 5);
            f.last_seen = sqlite3_column_int64(s, 6);
            if ((stop = cb(payload, &f)) != 0) {
                sqlite3_reset(s);
                sqlite3_clear_bindings(s);
                return stop;
            }
        }
        if (rc != SQLITE_DONE)
            rc = sift_sq__db_err(st, sqlite3_extended_errcode(st->db), err,
                                 "failed inputs");
        else
            rc = SIFT_OK;
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
    } while (rc == SIFT_OK && rows == 64);
    return rc;
}
