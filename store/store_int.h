/* store_int.h -- private to store/: the handle and shared helpers.
 *
 * Invariant: every sqlite3_stmt in struct sift_store is prepared in
 * sift_store_open() and finalized only in sift_store_close(); each use
 * ends with sqlite3_reset() + sqlite3_clear_bindings(). No other folder
 * includes this file. */
#ifndef SIFT_STORE_INT_H
#define SIFT_STORE_INT_H

#include <sqlite3.h>
#include <stdint.h>

#include "sift_limits.h"
#include "sift_store.h"
#include "sift_util.h"

/* The schema this build writes. Versions: 1 = 0.1.0; 2 = 128-bit hashes,
 * failed-input fingerprints; 3 = evaluation version, primary category;
 * 4 = IMAP state; 5 = failed_inputs.raw as the last column (streamed kept
 * bytes); 6 = DNS cache (docs/schema.md). */
#define SIFT_STORE_SCHEMA 6
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

#define SIFT_STORE_QCACHE 16

enum stmt_id {
    Q_FIND_REPORT,
    Q_INS_REPORT,
    Q_FIN_REPORT,
    Q_INS_RECORD,
    Q_INS_REASON,
    Q_INS_DKIM,
    Q_INS_SPF,
    Q_INS_FAILED,
    Q_INS_CONFLICT,
    Q_SEEN_FIND,
    Q_SEEN_ADD,
    Q_EACH_FAILED,
    Q_DEL_FAILED,
    Q_PRUNE,
    Q_STATS,
    Q_ADOPT_HASH,
    Q_RESOLVE_FIND,
    Q_RESOLVE_FAILED,
    Q_FAILED_FIND,
    Q_PRUNE_FAILED,
    Q_LIST_FAILED,
    Q_FORGET_ALL,
    Q_BEGIN,
    Q_COMMIT,
    Q_ROLLBACK,
    Q_SAVEPOINT,
    Q_RELEASE,
    Q_ROLLBACK_TO,
    Q__COUNT
};

struct qcache {
    char *sql;
    sqlite3_stmt *s;
    uint64_t used; /* LRU tick */
};

struct sift_store {
    sqlite3 *db;
    char *path;
    int readonly;
    int busy_ms;        /* busy timeout, also bounds retries in __exec */
    int target_version; /* migrate to this (SIFT_STORE_SCHEMA but in tests) */
    int hold;           /* sift_store_hold(): the batch commits only at 0 */
    uint64_t commits;   /* batch commits that succeeded */
    sqlite3_stmt *q[Q__COUNT];
    /* batch: one write transaction spanning several reports */
    int in_batch;
    unsigned batch_reports;
    int64_t batch_start_ms;
    /* the open report (a SAVEPOINT inside the batch) */
    int in_report;
    int report_failed;
    int64_t report_rowid;
    uint64_t report_records, report_messages;
    int64_t report_idx;
    sift_buf json; /* JSON array text for errors/warnings, reused */
    struct qcache cache[SIFT_STORE_QCACHE];
    uint64_t tick;
};

/* Test hook: open path and migrate it to schema `version` only (0 <
 * version <= SIFT_STORE_SCHEMA; creating it when missing), so that a
 * test can write a database the way an older release did and then open
 * it with the current code. No statement is prepared: use only
 * sift_store__db() / sift_store__exec() on it, then sift_store_close(). */
int sift_store__open_at(sift_store **out, const char *path, int version,
                        sift_err *err);
sqlite3 *sift_store__db(sift_store *st);

/* Map a SQLite result code to a one-line SIFT_EDB (or SIFT_ENOMEM) error
 * with where = the database path. `what` names the failed step for codes
 * that have no fixed message. Returns the sift code. */
int sift_store__db_err(sift_store *st, int rc, sift_err *err, const char *what);
/* A SIFT_EDB error with a formatted message and where = the path. */
int sift_store__fail(sift_store *st, sift_err *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Run SQL without results (sqlite3_exec). */
int sift_store__exec(sift_store *st, const char *sql, sift_err *err);
/* Bring the schema to SIFT_STORE_SCHEMA (schema.c). */
int sift_store__migrate(sift_store *st, sift_err *err);
/* Step a prepared write statement to completion, then reset it. */
int sift_store__run(sift_store *st, sqlite3_stmt *s, sift_err *err);
/* Run one write outside a report: inside the open batch if any (opening
 * one while held, sift_store_hold), else in its own (autocommit)
 * transaction. */
int sift_store__write(sift_store *st, sqlite3_stmt *s, sift_err *err);
/* Register bit_or(), sat_sum() and sift_xxh128() and prepare nothing
 * else (query.c). */
int sift_store__functions(sift_store *st, sift_err *err);
/* Finalize the query cache (query.c). */
void sift_store__cache_free(sift_store *st);

#endif
