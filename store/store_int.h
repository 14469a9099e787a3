/* store_int.h -- private to store/: the backend-neutral handle and the
 * operations every backend provides.
 *
 * A sift_store is the first member of a backend's handle (sift_sq in
 * sqlite_int.h, sift_pg in pg_int.h); its ops table does the work, and
 * store.c's public functions (backend.c) only dispatch. No other folder
 * includes this file. */
#ifndef SIFT_STORE_INT_H
#define SIFT_STORE_INT_H

#include <stdint.h>

#include "sift_limits.h"
#include "sift_store.h"
#include "sift_util.h"

/* The schema this build writes. Versions: 1 = 0.1.0; 2 = 128-bit hashes,
 * failed-input fingerprints; 3 = evaluation version, primary category;
 * 4 = IMAP state; 5 = failed_inputs.raw as the last column (streamed kept
 * bytes); 6 = DNS cache; 7 = evaluation version per report; 8 = record
 * packs, 9 = DKIM and SPF results in the record row, 10 = reports pages
 * half full (8-10: PostgreSQL only; docs/schema.md). */
#define SIFT_STORE_SCHEMA 10
#define SIFT_STORE_APP_ID 0x53494654 /* "SIFT" */

/* Batch policy (docs/schema.md, "Batching"): the write transaction is
 * committed after this many reports or this much time, whichever first. */
#ifndef SIFT_STORE_BATCH_REPORTS /* overridable for benchmarks */
#define SIFT_STORE_BATCH_REPORTS 500
#endif
#ifndef SIFT_STORE_BATCH_MS
#define SIFT_STORE_BATCH_MS 250
#endif

/* Raw bytes of a failed input above this are never kept (path and reason
 * are): below SQLite's largest value (SQLITE_MAX_LENGTH, 10^9 bytes). The
 * caller's --max-keep-size is at most this (SIFT_MAX_KEEP_CEILING). */
#define SIFT_STORE_MAX_FAILED_RAW SIFT_MAX_KEEP_CEILING

/* Ceiling of the JSON text of `errors` or `warnings` of one report. */
#define SIFT_STORE_MAX_JSON (1u << 20)

typedef struct sift_store_ops sift_store_ops;

struct sift_store {
    const sift_store_ops *ops;
    /* stamped on each report written (reports.eval_version):
     * sift_store_set_eval_stamp() */
    int eval_stamp;
    int remote; /* answers take a round trip: sift_store_remote() */
};

/* One entry per public call of sift_store.h (same contract; the handle
 * always comes first): the list is store_ops.def. */
struct sift_store_ops {
#define SIFT_STORE_OP(ret, name, params, args) ret(*name) params;
#define SIFT_STORE_VOP(name, params, args) void(*name) params;
#include "store_ops.def"
#undef SIFT_STORE_OP
#undef SIFT_STORE_VOP
};

/* A row of sift_store_query(): a SQLite statement (stmt), or row i of a
 * PostgreSQL result (res). */
struct sift_row {
    void *stmt;
    const void *res;
    int i;
};
/* The PostgreSQL side of the sift_row_* accessors (pg_read.c). */
int64_t sift_pg__row_int(sift_row *row, int col);
double sift_pg__row_double(sift_row *row, int col);
const char *sift_pg__row_text(sift_row *row, int col);
int sift_pg__row_is_null(sift_row *row, int col);
int sift_pg__row_columns(sift_row *row);

/* 1 when path names a PostgreSQL database (a postgresql:// or
 * postgres:// URI), else 0 (a SQLite file). */
int sift_store__is_pg(const char *path);

/* Encode n strings as a JSON array into b (reset first): the text of
 * reports.errors and reports.warnings. Past SIFT_STORE_MAX_JSON bytes the
 * remaining strings become one "(N more not stored)" element (store.c). */
int sift_store__json_array(sift_buf *b, const char *const *v, size_t n,
                           sift_err *err);

/* Test hooks on SQLite files (backend.c): open path migrated to schema
 * `version` only (0 < version <= SIFT_STORE_SCHEMA; creating it when
 * missing), so that a test can write a database the way an older release
 * did; no statement is prepared: use only sift_store__db() on it, then
 * sift_store_close(). sift_store__db() is the SQLite connection of a
 * SQLite handle (NULL for another backend). */
struct sqlite3;
int sift_store__open_at(sift_store **out, const char *path, int version,
                        sift_err *err);
struct sqlite3 *sift_store__db(sift_store *st);

/* How long opening a PostgreSQL database waits, in ms, for another
 * process's schema upgrade to end (pg.c; SIFT_PG_UPGRADE_WAIT_MS): an
 * upgrade of a big database takes minutes. Tests shorten it. */
extern int sift_store__upgrade_wait_ms;

#endif
