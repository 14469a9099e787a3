/* pg_int.h -- private to store/: the PostgreSQL backend's handle and
 * helpers (pg.c: connection, schema, writing; pg_read.c: reading).
 *
 * Writers are serialised per batch by a transaction-level advisory lock
 * (SIFT_PG_WRITE_LOCK), the equivalent of SQLite's BEGIN IMMEDIATE: no
 * two batches interleave, so identity inserts never wait on each other
 * and no two writers can deadlock. Records and their child rows are
 * buffered as COPY text and sent when the batch commits or when the
 * records' buffer passes SIFT_PG_COPY_FLUSH. Every value is bound or
 * COPY-escaped; the only SQL built from values is partition names and bounds,
 * from integers. Schema: docs/schema.md ("PostgreSQL"). */
#ifndef SIFT_PG_INT_H
#define SIFT_PG_INT_H

#include <libpq-fe.h>
#include <stdint.h>

#include "store_int.h"
#include "sift_util.h"

#define SIFT_PG_APP "dmarcsift"
#define SIFT_PG_SCHEMA_LOCK 0x5349465453434845 /* "SIFTSCHE" */
#define SIFT_PG_WRITE_LOCK 0x5349465457524954  /* "SIFTWRIT" */
/* Bytes of a COPY buffer sent before the batch commits: the server then
 * stores a batch's records while the client parses the next, and a big
 * report costs less memory. 1 MiB (some 5,000 records): an ingest of row
 * a's corpus 6% faster than with 16 MiB and 13 MB smaller; 256 KiB was
 * as fast here but 10% slower across a network (2 round trips a COPY). */
#define SIFT_PG_COPY_FLUSH (1u << 20)
#define SIFT_PG_COPY_MAX (256u << 20) /* ceiling of one buffer */
#define SIFT_PG_ID_BLOCK 1000         /* record ids taken per nextval() */
#define SIFT_PG_PREPARED 48 /* statements kept prepared per connection */
#define SIFT_PG_DEFER_MAX (1u << 20) /* bytes of one deferred array */
#define SIFT_PG_PACK_MAX 1000 /* records in one record pack (pg_pack.c) */
#define SIFT_PG_UPGRADE_WAIT_MS (30 * 60 * 1000) /* another's upgrade */

enum { CP_RECORDS, CP_REASONS, CP_PACKS, CP__COUNT };

/* A record pack being built (pg_pack.c): the scan's view of a run of
 * consecutive record ids of one report. _init/_dispose pair. */
typedef struct sift_pg_pack {
    sift_buf data;    /* the encoded records */
    sift_buf prev[4]; /* the last record's strings (has[i]: not NULL) */
    sift_buf tmp[4];  /* a string made valid UTF-8 */
    int has[4];
    int64_t first, report, end; /* first record id, report id, date_end */
    unsigned n;                 /* records in it; 0: empty */
} sift_pg_pack;

/* The deferred writes of the open batch, as array literals (one per
 * column): each report's final update, its seen input, its resolved
 * failed row. They are applied set-wise (one statement each) before the
 * batch commits and before any other statement on the connection, so
 * the order of writes as the connection sees them is unchanged. */
enum {
    DQ_FIN_ID,
    DQ_FIN_WARN,
    DQ_FIN_HASH,
    DQ_FIN_REC,
    DQ_FIN_MSG,
    DQ_SEEN_FP,
    DQ_SEEN_LEN,
    DQ_SEEN_CONFLICT,
    DQ_SEEN_ORG,
    DQ_SEEN_RID,
    DQ_SEEN_DOM,
    DQ_SEEN_BEGIN,
    DQ_SEEN_END,
    DQ_RES_PATH,
    DQ_RES_FP,
    DQ__COUNT
};

typedef struct sift_pg sift_pg;

struct sift_pg {
    sift_store base; /* first: the backend-neutral handle */
    PGconn *conn;
    char *uri;   /* as given (may hold a password): to open more handles */
    char *shown; /* the URI without its password: err->where */
    int readonly;
    int busy_ms;
    int hold;
    uint64_t commits;
    int in_batch;
    unsigned batch_reports;
    int64_t batch_start_ms;
    /* the open report */
    int in_report;
    int report_failed;
    int report_flushed; /* its rows were sent already (a COPY flush) */
    int64_t report_rowid, report_end;
    uint64_t report_records, report_messages;
    int64_t report_idx;
    /* record ids: [next_id, end_id) is ours */
    int64_t next_id, end_id;
    sift_buf cp[CP__COUNT];
    size_t mark[CP__COUNT];
    sift_pg_pack pack; /* the open report's pack (into cp[CP_PACKS]) */
    sift_buf json;
    sift_buf enc; /* a record's DKIM or SPF results, encoded */
    /* deferred writes (see DQ_*): how many of each kind are queued */
    sift_buf dq[DQ__COUNT];
    unsigned n_fin, n_seen, n_res;
    int no_apply;   /* set while a statement must not apply them first */
    int asked;      /* a question is in flight (sift_pg_ask_*): ASK_* */
    int query_errs; /* in sift_pg_query: the statement's faults are
                       SIFT_EUSAGE ("bad query: ...") */
    /* reports committed into a batch that was then rolled back without
     * the caller being told (a report's rollback failed): the next write
     * says so, so that they are never counted as stored */
    uint64_t lost;
    char lost_why[160];
    /* prepared statements, by SQL text (names "sift_s<i>") */
    char *prep[SIFT_PG_PREPARED];
    /* months (year * 12 + month - 1) whose partitions exist, as seen in
     * the open batch (looked up again in each batch: a prune elsewhere
     * may drop them) */
    int32_t *months;
    size_t n_months, cap_months;
    size_t months_done; /* months[0..months_done) exist for good: the rest
                           were created in the open batch */
};

/* Bound parameters of one statement: text (copied when not valid UTF-8:
 * invalid bytes become U+FFFD, PostgreSQL refuses them), integers,
 * binary (hashes, raw bytes). */
#define PP_MAX 24
typedef struct pp {
    const char *v[PP_MAX];
    int len[PP_MAX], fmt[PP_MAX];
    char num[PP_MAX][24];
    char *owned[PP_MAX];
    int n;
} pp;

void sift_pg__pp_init(pp *p);
void sift_pg__pp_free(pp *p);
void sift_pg__p_text(pp *p, const char *s); /* NULL: SQL NULL */
void sift_pg__p_key(pp *p, const char *s);  /* NULL: '' */
void sift_pg__p_int(pp *p, int64_t v);
void sift_pg__p_null(pp *p);
void sift_pg__p_bin(pp *p, const void *b, size_t n);
void sift_pg__p_hash(pp *p, sift_hash128 h);

/* A SIFT_EDB error with where = the shown URI. */
int sift_pg__fail(sift_pg *pg, sift_err *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The error of result r (NULL: of the connection) as one line: a lost
 * connection, "database is read-only", "database is locked by another
 * process", "disk full", else "<what>: <server message>". Clears r. */
int sift_pg__res_err(sift_pg *pg, PGresult *r, sift_err *err, const char *what);
/* Run sql with p (may be NULL); *out (may be NULL: cleared) gets the
 * result when it is COMMAND_OK or TUPLES_OK, else the error is
 * returned. With parameters the statement is prepared once per
 * connection (the first SIFT_PG_PREPARED texts) and then only executed:
 * the server parses and plans it once. */
int sift_pg__exec(sift_pg *pg, PGresult **out, const char *sql, pp *p,
                  sift_err *err, const char *what);
/* 64-bit integer of column c of row i. */
int64_t sift_pg__int(const PGresult *r, int i, int c);
/* Value (i, c) of r as text, NULL for SQL NULL. */
static inline const char *
sift_pg__val(const PGresult *r, int i, int c)
{
    return PQgetisnull(r, i, c) ? NULL : PQgetvalue(r, i, c);
}
/* Write sql in the open batch when there is one (opening one while held),
 * else on its own (autocommit). *changed (may be NULL) = rows changed. */
int sift_pg__write(sift_pg *pg, const char *sql, pp *p, uint64_t *changed,
                   sift_err *err, const char *what);
/* Open the batch transaction (taking the writer lock) if none is open. */
int sift_pg__batch_open(sift_pg *pg, sift_err *err);
/* Lose the open batch (after an error: the transaction is aborted). */
void sift_pg__batch_drop(sift_pg *pg);
/* Send the rows of the open batch that are still buffered here (COPY
 * text), so that a statement in the batch sees them, as a SQLite handle
 * sees its own uncommitted rows. On failure the batch is dropped. */
int sift_pg__send_buffered(sift_pg *pg, sift_err *err);
/* Run the deferred writes of the open batch now (sift_pg__exec does it
 * before any other statement). On an error the batch is dropped. */
int sift_pg__apply(sift_pg *pg, sift_err *err);
/* Before a statement that does not go through sift_pg__exec (single-row
 * mode, binary results): the open batch's buffered rows are sent and its
 * deferred writes applied, so it reads what the batch wrote. */
int sift_pg__settle(sift_pg *pg, sift_err *err);

int sift_pg_open(sift_pg **out, const char *uri, unsigned flags, sift_err *err);
void sift_pg_close(sift_pg *st);
int sift_pg_set_busy_timeout(sift_pg *st, int ms, sift_err *err);
int sift_pg_begin(sift_pg *st, sift_stored *dup, const sift_report_meta *meta,
                  const char *input_path, sift_err *err);
int sift_pg_add(sift_pg *st, const sift_record *rec, const sift_verdict *v,
                sift_err *err);
int sift_pg_commit(sift_pg *st, const sift_report_meta *meta,
                   sift_hash128 content_hash, sift_err *err);
void sift_pg_rollback(sift_pg *st);
int sift_pg_flush(sift_pg *st, sift_err *err);
uint64_t sift_pg_commits(const sift_pg *st);
int sift_pg_hold(sift_pg *st, int on, sift_err *err);
int sift_pg_held(const sift_pg *st);
int sift_pg_lookup(sift_pg *st, sift_stored *out, const sift_report_meta *meta,
                   sift_err *err);
int sift_pg_adopt_hash(sift_pg *st, const sift_report_meta *meta,
                       sift_hash128 hash, sift_err *err);
int sift_pg_ask(sift_pg *pg, const sift_hash128 *fp, uint64_t len,
                const sift_report_meta *meta, sift_err *err);
int sift_pg_answered(sift_pg *pg);
int sift_pg_answer(sift_pg *pg, sift_answer *out, sift_err *err);
int sift_pg_seen(sift_pg *st, int *conflict, sift_hash128 fp, uint64_t len,
                 sift_err *err);
int sift_pg_note_seen(sift_pg *st, sift_hash128 fp, uint64_t len,
                      const sift_report_meta *meta, int conflict,
                      sift_err *err);
int sift_pg_note_conflict(sift_pg *st, const sift_report_meta *meta,
                          const char *input_path, sift_hash128 content_hash,
                          sift_err *err);
int sift_pg_add_failed(sift_pg *st, const char *path, const char *reason,
                       const void *raw, size_t len, const sift_hash128 *fp,
                       sift_err *err);
int sift_pg_add_failed_file(sift_pg *st, const char *path, const char *reason,
                            FILE *f, uint64_t len, sift_hash128 hash,
                            const sift_hash128 *fp, sift_err *err);
int sift_pg_resolve_failed(sift_pg *st, const char *path, sift_hash128 fp,
                           uint64_t *resolved, sift_err *err);
int sift_pg_stats(sift_pg *st, sift_stats *out, sift_err *err);
int sift_pg_prune(sift_pg *st, uint64_t *deleted, uint64_t *failed,
                  int64_t before, sift_err *err);
int sift_pg_list_failed(sift_pg *st,
                        int (*cb)(void *payload, const sift_failed_info *f),
                        void *payload, sift_err *err);
int sift_pg_forget_all_failed(sift_pg *st, uint64_t *n, sift_err *err);
int sift_pg_next_failed(sift_pg *st, int64_t after, sift_failed_cb cb,
                        void *payload, sift_err *err);
int sift_pg_delete_failed(sift_pg *st, int64_t id, sift_err *err);
int sift_pg_imap_mailbox(sift_pg *st, int64_t *id, const char *server,
                         const char *user, const char *mailbox,
                         uint32_t uidvalidity, sift_err *err);
int sift_pg_imap_each_settled(sift_pg *st, int64_t mailbox, sift_uid_cb cb,
                              void *payload, sift_err *err);
int sift_pg_imap_settle(sift_pg *st, int64_t mailbox, const uint32_t *uids,
                        const unsigned char *failed, size_t n, sift_err *err);
int sift_pg_imap_forget(sift_pg *st, int64_t mailbox, const uint32_t *uids,
                        size_t n, sift_err *err);
int sift_pg_query(sift_pg *st, const char *sql, const sift_param *params, int n,
                  sift_row_cb cb, void *payload, sift_err *err);
int sift_pg_eval_versions(sift_pg *st, const sift_store_filter *f,
                          sift_eval_version_cb cb, void *payload,
                          sift_err *err);
int sift_pg_count_records(sift_pg *st, uint64_t *n, sift_err *err);
int sift_pg_rewrite_verdicts(sift_pg *st, int version, int redo, int64_t after,
                             unsigned limit, int64_t *last, unsigned *done,
                             sift_verdict_fn fn, void *payload, sift_err *err);
int sift_pg_read_reports(sift_pg *st, const sift_store_filter *f,
                         sift_report_row_cb cb, void *payload, sift_err *err);
int sift_pg_read_reasons(sift_pg *st, sift_reason_row_cb cb, void *payload,
                         sift_err *err);
int sift_pg_scan_records(sift_pg *st, int parts, sift_scan_cb cb,
                         void *const *payloads, int *used, sift_err *err);
int sift_pg_top_sources(sift_pg *st, const int64_t *ids, size_t n,
                        uint64_t limit, sift_top_pair_cb pair,
                        sift_domain_sources_cb domain, void *payload,
                        sift_err *err);
int sift_pg_record_verdict(sift_pg *st, int64_t id, sift_verdict_row_cb cb,
                           void *payload, sift_err *err);
int sift_pg_read_policies(sift_pg *st, const sift_store_filter *f,
                          sift_policy_row_cb cb, void *payload, sift_err *err);
int sift_pg_export_records(sift_pg *st, const sift_store_filter *f,
                           sift_export_cb cb, void *payload, sift_err *err);
const char *sift_pg_path(const sift_pg *st);
int sift_pg_is_readonly(const sift_pg *st);

/* The DNS cache (pg_dns.c). */
int sift_pg_dns_ptr_todo(sift_pg *st, int64_t now,
                         int (*cb)(void *payload, const char *ip),
                         void *payload, sift_err *err);
int sift_pg_dns_ptr_put(sift_pg *st, const sift_ptr_row *rows, size_t n,
                        sift_err *err);
int sift_pg_dns_ptr_each(sift_pg *st,
                         int (*cb)(void *payload, const sift_ptr_row *r),
                         void *payload, sift_err *err);
int sift_pg_dns_ptr_count(sift_pg *st, int64_t now, uint64_t *total,
                          uint64_t *expired, sift_err *err);
int sift_pg_dns_domains_todo(sift_pg *st, int64_t now,
                             int (*cb)(void *payload, const char *domain),
                             void *payload, sift_err *err);
int sift_pg_dns_dkim_pairs(sift_pg *st,
                           int (*cb)(void *payload, const char *d,
                                     const char *selector),
                           void *payload, sift_err *err);
int sift_pg_dns_published_put(sift_pg *st, const sift_published_row *p,
                              const sift_dkim_row *k, size_t n, sift_err *err);
int sift_pg_dns_published_each(sift_pg *st,
                               int (*cb)(void *payload,
                                         const sift_published_row *p),
                               void *payload, sift_err *err);
int sift_pg_dns_dkim_each(sift_pg *st, const char *domain,
                          int (*cb)(void *payload, const sift_dkim_row *k),
                          void *payload, sift_err *err);

/* Run sql (p may be NULL) in single-row mode: fn for each row (row 0 of
 * the result it gets); fn returns 0 to go on, else that value is returned
 * once the rest is drained (pg_read.c). */
int sift_pg__stream(sift_pg *pg, const char *sql, pp *p,
                    int (*fn)(void *payload, const PGresult *r), void *payload,
                    sift_err *err, const char *what);

/* Every report's span, by id (sqlite_read.c / pg_read.c). */
int sift_pg_report_spans(sift_pg *st, sift_span_cb cb, void *payload,
                         sift_err *err);

extern const sift_store_ops sift_pg__ops;

/* --- record packs (pg_pack.c) --- */
void sift_pg__pack_init(sift_pg_pack *k);
void sift_pg__pack_dispose(sift_pg_pack *k);
void sift_pg__pack_reset(sift_pg_pack *k);
/* Add record r (r->id, r->report; its report's date_end) to pack k: when
 * it does not continue k (not the next id, another report, or k full), k
 * is emitted into out first. The strings are copied as needed. */
int sift_pg__pack_add(sift_pg_pack *k, sift_buf *out, int64_t date_end,
                      const sift_scan_row *r, sift_err *err);
/* Append k as a COPY text row of record_packs to out (nothing when k is
 * empty); k is then empty. */
int sift_pg__pack_emit(sift_pg_pack *k, sift_buf *out, sift_err *err);
/* Call cb for each of the n records of pack data p[0..len) whose first
 * id is first: 0 (with *stop = cb's non-zero return when it stopped),
 * -1 when the pack is malformed, -2 on ENOMEM. scratch holds the
 * strings (reused between calls; the caller disposes of it). */
int sift_pg__pack_decode(const unsigned char *p, size_t len, int64_t first,
                         int64_t report, int64_t n, sift_buf *scratch,
                         sift_scan_cb cb, void *payload, int *stop);
/* Rebuild the packs of the reports in the PostgreSQL array literal ids
 * (their old packs are deleted), or of every record (ids NULL: there
 * must be no packs yet), in the open transaction. */
int sift_pg__repack(sift_pg *pg, const char *ids, sift_err *err);
/* COPY the rows of b (COPY text) with sql (a COPY ... FROM STDIN), in
 * the open transaction; b is left as it was. */
int sift_pg__copy_in(sift_pg *pg, const char *sql, const sift_buf *b,
                     sift_err *err);

#endif
