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

typedef struct sift_store_ops sift_store_ops;

struct sift_store {
    const sift_store_ops *ops;
};

/* One entry per public call of sift_store.h (same contract; the handle
 * always comes first). */
struct sift_store_ops {
    void (*close)(sift_store *st);
    int (*set_busy_timeout)(sift_store *st, int ms, sift_err *err);
    int (*begin)(sift_store *st, sift_stored *dup, const sift_report_meta *meta,
                 const char *input_path, sift_err *err);
    int (*add)(sift_store *st, const sift_record *rec, const sift_verdict *v,
               sift_err *err);
    int (*commit)(sift_store *st, const sift_report_meta *meta,
                  sift_hash128 content_hash, sift_err *err);
    void (*rollback)(sift_store *st);
    int (*flush)(sift_store *st, sift_err *err);
    uint64_t (*commits)(sift_store *st);
    int (*hold)(sift_store *st, int on, sift_err *err);
    int (*held)(sift_store *st);
    int (*lookup)(sift_store *st, sift_stored *out,
                  const sift_report_meta *meta, sift_err *err);
    int (*adopt_hash)(sift_store *st, const sift_report_meta *meta,
                      sift_hash128 hash, sift_err *err);
    int (*seen)(sift_store *st, int *conflict, sift_hash128 fp, uint64_t len,
                sift_err *err);
    int (*note_seen)(sift_store *st, sift_hash128 fp, uint64_t len,
                     const sift_report_meta *meta, int conflict, sift_err *err);
    int (*note_conflict)(sift_store *st, const sift_report_meta *meta,
                         const char *input_path, sift_hash128 content_hash,
                         sift_err *err);
    int (*add_failed)(sift_store *st, const char *path, const char *reason,
                      const void *raw, size_t len, const sift_hash128 *fp,
                      sift_err *err);
    int (*add_failed_file)(sift_store *st, const char *path, const char *reason,
                           FILE *f, uint64_t len, sift_hash128 hash,
                           const sift_hash128 *fp, sift_err *err);
    int (*resolve_failed)(sift_store *st, const char *path, sift_hash128 fp,
                          uint64_t *resolved, sift_err *err);
    int (*stats)(sift_store *st, sift_stats *out, sift_err *err);
    int (*prune)(sift_store *st, uint64_t *deleted, uint64_t *failed,
                 int64_t before, sift_err *err);
    int (*list_failed)(sift_store *st,
                       int (*cb)(void *payload, const sift_failed_info *f),
                       void *payload, sift_err *err);
    int (*forget_all_failed)(sift_store *st, uint64_t *n, sift_err *err);
    int (*next_failed)(sift_store *st, int64_t after, sift_failed_cb cb,
                       void *payload, sift_err *err);
    int (*delete_failed)(sift_store *st, int64_t id, sift_err *err);
    int (*imap_mailbox)(sift_store *st, int64_t *id, const char *server,
                        const char *user, const char *mailbox,
                        uint32_t uidvalidity, sift_err *err);
    int (*imap_each_settled)(sift_store *st, int64_t mailbox, sift_uid_cb cb,
                             void *payload, sift_err *err);
    int (*imap_settle)(sift_store *st, int64_t mailbox, const uint32_t *uids,
                       const unsigned char *failed, size_t n, sift_err *err);
    int (*imap_forget)(sift_store *st, int64_t mailbox, const uint32_t *uids,
                       size_t n, sift_err *err);
    int (*query)(sift_store *st, const char *sql, const sift_param *params,
                 int n, sift_row_cb cb, void *payload, sift_err *err);
    int (*eval_version)(sift_store *st, int *version, sift_err *err);
    int (*set_eval_version)(sift_store *st, int version, sift_err *err);
    int (*count_records)(sift_store *st, uint64_t *n, sift_err *err);
    int (*rewrite_verdicts)(sift_store *st, int64_t after, unsigned limit,
                            int64_t *last, unsigned *done, sift_verdict_fn fn,
                            void *payload, sift_err *err);
    int (*read_reports)(sift_store *st, const sift_store_filter *f,
                        sift_report_row_cb cb, void *payload, sift_err *err);
    int (*read_reasons)(sift_store *st, sift_reason_row_cb cb, void *payload,
                        sift_err *err);
    int (*scan_records)(sift_store *st, int parts, sift_scan_cb cb,
                        void *const *payloads, int *used, sift_err *err);
    int (*record_verdict)(sift_store *st, int64_t id, sift_verdict_row_cb cb,
                          void *payload, sift_err *err);
    int (*top_sources)(sift_store *st, const int64_t *ids, size_t n,
                       uint64_t limit, sift_top_pair_cb pair,
                       sift_domain_sources_cb domain, void *payload,
                       sift_err *err);
    int (*read_policies)(sift_store *st, const sift_store_filter *f,
                         sift_policy_row_cb cb, void *payload, sift_err *err);
    int (*export_records)(sift_store *st, const sift_store_filter *f,
                          sift_export_cb cb, void *payload, sift_err *err);
    /* the DNS cache (dns_cache.c): NULL on a backend without one */
    int (*dns_ptr_todo)(sift_store *st, int64_t now,
                        int (*cb)(void *payload, const char *ip), void *payload,
                        sift_err *err);
    int (*dns_ptr_put)(sift_store *st, const sift_ptr_row *rows, size_t n,
                       sift_err *err);
    int (*dns_ptr_each)(sift_store *st,
                        int (*cb)(void *payload, const sift_ptr_row *r),
                        void *payload, sift_err *err);
    int (*dns_ptr_count)(sift_store *st, int64_t now, uint64_t *total,
                         uint64_t *expired, sift_err *err);
    int (*dns_domains_todo)(sift_store *st, int64_t now,
                            int (*cb)(void *payload, const char *domain),
                            void *payload, sift_err *err);
    int (*dns_selectors)(sift_store *st, const char *domain, unsigned max,
                         int (*cb)(void *payload, const char *d,
                                   const char *selector),
                         void *payload, sift_err *err);
    int (*dns_published_put)(sift_store *st, const sift_published_row *p,
                             const sift_dkim_row *k, size_t n, sift_err *err);
    int (*dns_published_each)(sift_store *st,
                              int (*cb)(void *payload,
                                        const sift_published_row *p),
                              void *payload, sift_err *err);
    int (*dns_dkim_each)(sift_store *st, const char *domain,
                         int (*cb)(void *payload, const sift_dkim_row *k),
                         void *payload, sift_err *err);
    const char *(*path)(sift_store *st);
    int (*is_readonly)(sift_store *st);
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

#endif
