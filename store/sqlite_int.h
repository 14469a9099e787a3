/* sqlite_int.h -- private to store/: the SQLite backend's handle and
 * helpers (store.c, schema.c, query.c, verdicts.c, imap_state.c,
 * sqlite_read.c, sqlite_ops.c).
 *
 * Invariant: every sqlite3_stmt in struct sift_sq is prepared in
 * sift_sq_open() and finalized only in sift_sq_close(); each use
 * ends with sqlite3_reset() + sqlite3_clear_bindings(). No other folder
 * includes this file. */
#ifndef SIFT_SQLITE_INT_H
#define SIFT_SQLITE_INT_H

#include <sqlite3.h>
#include <stdint.h>

#include "store_int.h"
#include "sift_util.h"

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

typedef struct sift_sq sift_sq;

struct sift_sq {
    sift_store base; /* first: the backend-neutral handle */
    sqlite3 *db;
    char *path;
    int readonly;
    int busy_ms;        /* busy timeout, also bounds retries in __exec */
    int target_version; /* migrate to this (SIFT_STORE_SCHEMA but in tests) */
    int hold;           /* sift_sq_hold(): the batch commits only at 0 */
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
    /* the answer of sift_sq_ask(), found when asked */
    struct {
        int asked, rc;
        sift_answer a;
        sift_err err;
    } ans;
    struct qcache cache[SIFT_STORE_QCACHE];
    uint64_t tick;
};

/* Test hook: open path and migrate it to schema `version` only (0 <
 * version <= SIFT_STORE_SCHEMA; creating it when missing), so that a
 * test can write a database the way an older release did and then open
 * it with the current code. No statement is prepared: use only
 * sift_sq__db() / sift_sq__exec() on it, then sift_sq_close(). */
int sift_sq__open_at(sift_sq **out, const char *path, int version,
                     sift_err *err);
sqlite3 *sift_sq__db(sift_sq *st);

/* Map a SQLite result code to a one-line SIFT_EDB (or SIFT_ENOMEM) error
 * with where = the database path. `what` names the failed step for codes
 * that have no fixed message. Returns the sift code. */
int sift_sq__db_err(sift_sq *st, int rc, sift_err *err, const char *what);
/* A SIFT_EDB error with a formatted message and where = the path. */
int sift_sq__fail(sift_sq *st, sift_err *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Prepare sql on st's connection; a failure is sift_sq__db_err(.., what). */
int sift_sq__prep(sift_sq *st, sqlite3_stmt **s, const char *sql,
                  const char *what, sift_err *err);
/* The error of the last failed step on st's connection, as
 * sift_sq__db_err(.., what). */
int sift_sq__step_err(sift_sq *st, const char *what, sift_err *err);
/* Run SQL without results (sqlite3_exec). */
int sift_sq__exec(sift_sq *st, const char *sql, sift_err *err);
/* Bring the schema to SIFT_STORE_SCHEMA (schema.c). */
int sift_sq__migrate(sift_sq *st, sift_err *err);
/* Step a prepared write statement to completion, then reset it. */
int sift_sq__run(sift_sq *st, sqlite3_stmt *s, sift_err *err);
/* Run one write outside a report: inside the open batch if any (opening
 * one while held, sift_store_hold), else in its own (autocommit)
 * transaction. */
int sift_sq__write(sift_sq *st, sqlite3_stmt *s, sift_err *err);
/* Register bit_or(), sat_sum() and sift_xxh128() and prepare nothing
 * else (query.c). */
int sift_sq__functions(sift_sq *st, sift_err *err);
/* Finalize the query cache (query.c). */
void sift_sq__cache_free(sift_sq *st);

/* The backend's operations (sift_store.h documents each as
 * sift_store_<name>); sqlite_ops.c puts them into sift_sq__ops. */
int sift_sq_open(sift_sq **out, const char *path, unsigned flags,
                 sift_err *err);
void sift_sq_close(sift_sq *st);
int sift_sq_set_busy_timeout(sift_sq *st, int ms, sift_err *err);
int sift_sq_begin(sift_sq *st, sift_stored *dup, const sift_report_meta *meta,
                  const char *input_path, sift_err *err);
int sift_sq_add(sift_sq *st, const sift_record *rec, const sift_verdict *v,
                sift_err *err);
int sift_sq_commit(sift_sq *st, const sift_report_meta *meta,
                   sift_hash128 content_hash, sift_err *err);
void sift_sq_rollback(sift_sq *st);
int sift_sq_flush(sift_sq *st, sift_err *err);
uint64_t sift_sq_commits(const sift_sq *st);
int sift_sq_hold(sift_sq *st, int on, sift_err *err);
int sift_sq_held(const sift_sq *st);
int sift_sq_lookup(sift_sq *st, sift_stored *out, const sift_report_meta *meta,
                   sift_err *err);
int sift_sq_adopt_hash(sift_sq *st, const sift_report_meta *meta,
                       sift_hash128 hash, sift_err *err);
int sift_sq_seen(sift_sq *st, int *conflict, sift_hash128 fp, uint64_t len,
                 sift_err *err);
int sift_sq_ask(sift_sq *st, const sift_hash128 *fp, uint64_t len,
                const sift_report_meta *meta, sift_err *err);
int sift_sq_answered(sift_sq *st);
int sift_sq_answer(sift_sq *st, sift_answer *out, sift_err *err);
int sift_sq_note_seen(sift_sq *st, sift_hash128 fp, uint64_t len,
                      const sift_report_meta *meta, int conflict,
                      sift_err *err);
int sift_sq_note_conflict(sift_sq *st, const sift_report_meta *meta,
                          const char *input_path, sift_hash128 content_hash,
                          sift_err *err);
int sift_sq_add_failed(sift_sq *st, const char *path, const char *reason,
                       const void *raw, size_t len, const sift_hash128 *fp,
                       sift_err *err);
int sift_sq_add_failed_file(sift_sq *st, const char *path, const char *reason,
                            FILE *f, uint64_t len, sift_hash128 hash,
                            const sift_hash128 *fp, sift_err *err);
int sift_sq_resolve_failed(sift_sq *st, const char *path, sift_hash128 fp,
                           uint64_t *resolved, sift_err *err);
int sift_sq_stats(sift_sq *st, sift_stats *out, sift_err *err);
int sift_sq_prune(sift_sq *st, uint64_t *deleted, uint64_t *failed,
                  int64_t before, sift_err *err);
int sift_sq_list_failed(sift_sq *st,
                        int (*cb)(void *payload, const sift_failed_info *f),
                        void *payload, sift_err *err);
int sift_sq_forget_all_failed(sift_sq *st, uint64_t *n, sift_err *err);
int sift_sq_next_failed(sift_sq *st, int64_t after, sift_failed_cb cb,
                        void *payload, sift_err *err);
int sift_sq_delete_failed(sift_sq *st, int64_t id, sift_err *err);
int sift_sq_imap_mailbox(sift_sq *st, int64_t *id, const char *server,
                         const char *user, const char *mailbox,
                         uint32_t uidvalidity, sift_err *err);
int sift_sq_imap_each_settled(sift_sq *st, int64_t mailbox, sift_uid_cb cb,
                              void *payload, sift_err *err);
int sift_sq_imap_settle(sift_sq *st, int64_t mailbox, const uint32_t *uids,
                        const unsigned char *failed, size_t n, sift_err *err);
int sift_sq_imap_forget(sift_sq *st, int64_t mailbox, const uint32_t *uids,
                        size_t n, sift_err *err);
int sift_sq_query(sift_sq *st, const char *sql, const sift_param *params, int n,
                  sift_row_cb cb, void *payload, sift_err *err);
int sift_sq_eval_versions(sift_sq *st, const sift_store_filter *f,
                          sift_eval_version_cb cb, void *payload,
                          sift_err *err);
int sift_sq_count_records(sift_sq *st, uint64_t *n, sift_err *err);
int sift_sq_rewrite_verdicts(sift_sq *st, int version, int redo, int64_t after,
                             unsigned limit, int64_t *last, unsigned *done,
                             sift_verdict_fn fn, void *payload, sift_err *err);
int sift_sq_read_reports(sift_sq *st, const sift_store_filter *f,
                         sift_report_row_cb cb, void *payload, sift_err *err);
int sift_sq_read_reasons(sift_sq *st, sift_reason_row_cb cb, void *payload,
                         sift_err *err);
int sift_sq_scan_records(sift_sq *st, int parts, sift_scan_cb cb,
                         void *const *payloads, int *used, sift_err *err);
int sift_sq_top_sources(sift_sq *st, const int64_t *ids, size_t n,
                        uint64_t limit, sift_top_pair_cb pair,
                        sift_domain_sources_cb domain, void *payload,
                        sift_err *err);
int sift_sq_record_verdict(sift_sq *st, int64_t id, sift_verdict_row_cb cb,
                           void *payload, sift_err *err);
int sift_sq_read_policies(sift_sq *st, const sift_store_filter *f,
                          sift_policy_row_cb cb, void *payload, sift_err *err);
int sift_sq_export_records(sift_sq *st, const sift_store_filter *f,
                           sift_export_cb cb, void *payload, sift_err *err);
const char *sift_sq_path(const sift_sq *st);
int sift_sq_is_readonly(const sift_sq *st);

/* The DNS cache (dns_cache.c). */
int sift_sq_dns_ptr_todo(sift_sq *st, int64_t now,
                         int (*cb)(void *payload, const char *ip),
                         void *payload, sift_err *err);
int sift_sq_dns_ptr_put(sift_sq *st, const sift_ptr_row *rows, size_t n,
                        sift_err *err);
int sift_sq_dns_ptr_each(sift_sq *st,
                         int (*cb)(void *payload, const sift_ptr_row *r),
                         void *payload, sift_err *err);
int sift_sq_dns_ptr_count(sift_sq *st, int64_t now, uint64_t *total,
                          uint64_t *expired, sift_err *err);
int sift_sq_dns_domains_todo(sift_sq *st, int64_t now,
                             int (*cb)(void *payload, const char *domain),
                             void *payload, sift_err *err);
int sift_sq_dns_dkim_pairs(sift_sq *st,
                           int (*cb)(void *payload, const char *d,
                                     const char *selector),
                           void *payload, sift_err *err);
int sift_sq_dns_published_put(sift_sq *st, const sift_published_row *p,
                              const sift_dkim_row *k, size_t n, sift_err *err);
int sift_sq_dns_published_each(sift_sq *st,
                               int (*cb)(void *payload,
                                         const sift_published_row *p),
                               void *payload, sift_err *err);
int sift_sq_dns_dkim_each(sift_sq *st, const char *domain,
                          int (*cb)(void *payload, const sift_dkim_row *k),
                          void *payload, sift_err *err);

/* Every report's span, by id (sqlite_read.c / pg_read.c). */
int sift_sq_report_spans(sift_sq *st, sift_span_cb cb, void *payload,
                         sift_err *err);

extern const sift_store_ops sift_sq__ops;

#endif
