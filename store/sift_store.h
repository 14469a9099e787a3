/* sift_store.h -- the SQLite store: reports kept exactly once.
 *
 * A report's identity is (org_name, report_id, policy domain, begin, end);
 * storing it again is SIFT_EDUP, not an error. Each report is written
 * completely or not at all (transactions; WAL journal; busy timeout so
 * concurrent `ingest` processes both finish). Every statement is prepared
 * once per handle and every value is bound. Only this module includes
 * <sqlite3.h>. Schema: docs/schema.md. */
#ifndef SIFT_STORE_H
#define SIFT_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "sift_err.h"
#include "sift_record.h"

typedef struct sift_store sift_store;

enum {
    SIFT_STORE_READONLY = 1u << 0 /* open existing, never write */
};

/* Open (creating unless READONLY) and migrate the database at path.
 * Errors (all SIFT_EDB, one line naming the problem): cannot be opened,
 * not a dmarcsift database, made by a newer dmarcsift, read-only,
 * corrupt. */
int sift_store_open(sift_store **out, const char *path, unsigned flags,
                    sift_err *err);
/* Commit any open batch and close. NULL is a no-op. */
void sift_store_close(sift_store *st);

/* --- writing one report: begin, add*, commit | rollback --------------- */

/* Start storing a report. SIFT_OK: a new report is open. SIFT_EDUP: the
 * identity is already stored; *dup_hash is its content hash (compare with
 * sift_xml_content_hash() to tell a re-send from a conflicting one) and
 * nothing is open. input_path is the provenance (sift_item.path). */
int sift_store_begin(sift_store *st, uint64_t *dup_hash,
                     const sift_report_meta *meta, const char *input_path,
                     sift_err *err);
/* Add one record of the open report with its verdict. */
int sift_store_add(sift_store *st, const sift_record *rec,
                   const sift_verdict *v, sift_err *err);
/* Finish the open report: write its final warnings and content hash. The
 * report becomes durable at the latest when the batch commits (at most
 * every few hundred ms of work, and at sift_store_flush/close). */
int sift_store_commit(sift_store *st, const sift_report_meta *meta,
                      uint64_t content_hash, sift_err *err);
/* Drop the open report (nothing of it remains). Never fails. */
void sift_store_rollback(sift_store *st);
/* Make everything committed so far durable now. */
int sift_store_flush(sift_store *st, sift_err *err);

/* Record a conflicting duplicate (same identity, different content) so
 * that `stats` and `report` can show it. */
int sift_store_note_conflict(sift_store *st, const sift_report_meta *meta,
                             const char *input_path, uint64_t content_hash,
                             sift_err *err);

/* Keep an input that failed: provenance, reason and its raw bytes. A
 * failed input with the same path and bytes is kept once. */
int sift_store_add_failed(sift_store *st, const char *path,
                          const char *reason, const void *raw, size_t len,
                          sift_err *err);

/* --- maintenance ------------------------------------------------------ */

typedef struct sift_stats {
    uint64_t reports, records, messages, reporters, domains;
    uint64_t failed_inputs, conflicts;
    int64_t first_begin, last_end; /* 0 when there are no reports */
} sift_stats;

int sift_store_stats(sift_stats *out, sift_store *st, sift_err *err);

/* Delete reports whose date range ended before `before` (epoch seconds),
 * with their records and results. *deleted = reports removed. */
int sift_store_prune(uint64_t *deleted, sift_store *st, int64_t before,
                     sift_err *err);

/* Call cb for each stored failed input (ordered by id). cb returns 0 to go
 * on, non-zero to stop (that value is returned). Strings and raw are
 * borrowed for the duration of the call. */
typedef int (*sift_failed_cb)(void *payload, int64_t id, const char *path,
                              const char *reason, const void *raw,
                              size_t len);
int sift_store_each_failed(sift_store *st, sift_failed_cb cb, void *payload,
                           sift_err *err);
int sift_store_delete_failed(sift_store *st, int64_t id, sift_err *err);

/* --- generic read queries, for report/ (which never sees sqlite3) ------ */

typedef struct sift_row sift_row;
int64_t sift_row_int(sift_row *r, int col);
double sift_row_double(sift_row *r, int col);
const char *sift_row_text(sift_row *r, int col); /* NULL for SQL NULL */
int sift_row_is_null(sift_row *r, int col);
int sift_row_columns(sift_row *r);

typedef struct sift_param {
    enum { SIFT_P_NULL, SIFT_P_INT, SIFT_P_TEXT } type;
    int64_t i;
    const char *s;
} sift_param;

/* Run a read-only SQL statement with `n` bound parameters (?1..?n) and
 * call cb for each row; cb returns 0 to go on, non-zero to stop (then that
 * value is returned). Statements are cached by SQL text, so calling this
 * in a loop does not re-prepare. SQL functions available besides SQLite's
 * own: the aggregate bit_or(x). */
typedef int (*sift_row_cb)(void *payload, sift_row *row);
int sift_store_query(sift_store *st, const char *sql, const sift_param *params,
                     int n, sift_row_cb cb, void *payload, sift_err *err);

#endif
