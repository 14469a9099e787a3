/* sift_store.h -- the store: reports kept exactly once, in SQLite (a
 * file) or PostgreSQL (a server many hosts share; docs/scaling.md).
 *
 * A report's identity is (org_name, report_id, policy domain, begin, end);
 * storing it again is SIFT_EDUP, not an error. Each report is written
 * completely or not at all (transactions; WAL journal; busy timeout so
 * concurrent `ingest` processes both finish). Every statement is prepared
 * once per handle and every value is bound. Only this module includes
 * <sqlite3.h>. Schema: docs/schema.md.
 *
 * Threads: a handle is used by one thread at a time (its connection is
 * opened without SQLite's mutex); separate handles may be used in
 * parallel. */
#ifndef SIFT_STORE_H
#define SIFT_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "sift_err.h"
#include "sift_hash.h"
#include "sift_record.h"

typedef struct sift_store sift_store;

enum {
    SIFT_STORE_READONLY = 1u << 0, /* open existing, never write */
    /* the handle will scan the whole file (report): memory-map it, so that
     * pages are read in place instead of copied (peak RSS then includes
     * the file-backed pages of the mapped database) */
    SIFT_STORE_SCAN = 1u << 1,
    /* open only an existing file (a read-write maintenance command):
     * never create one. READONLY implies it. */
    SIFT_STORE_EXISTING = 1u << 2
};

/* What is stored under a report's identity (SIFT_EDUP). hash_known is 0
 * for a report stored by schema 1, whose 64-bit hashes were dropped by
 * the upgrade: compare a copy by records and messages, and adopt its
 * hash with sift_store_adopt_hash() when they match. */
typedef struct sift_stored {
    sift_hash128 hash;
    int hash_known;
    uint64_t records, messages;
} sift_stored;

/* Open (creating unless READONLY) and migrate the database at path
 * (":memory:" works, for tests), or connect to the PostgreSQL database of
 * a URI (libpq's: passwords from PGPASSWORD, PGPASSFILE or ~/.pgpass;
 * READONLY: read-only transactions; the schema is created or migrated
 * once, under an advisory lock, other hosts waiting). PostgreSQL errors
 * are SIFT_EDB with where = the URI without its password: "cannot
 * connect to database D on H port P: <why>", "lost the connection to the
 * database server (database D on H:P)". Errors (all SIFT_EDB, err->where =
 * path): "cannot open database: ...", "not a dmarcsift database[ (file is not a
 * database)]", "database was created by a newer dmarcsift (schema N, this
 * build knows M)", "database is read-only" (a writer on a file it cannot
 * write), "database is corrupt" (may also surface at the first query:
 * open does not scan the file). Ownership: *out is the caller's, free it
 * with sift_store_close(). */
int sift_store_open(sift_store **out, const char *path, unsigned flags,
                    sift_err *err);
/* 1 when path is a PostgreSQL connection URI (postgresql:// or
 * postgres://: sift_store_open() connects to that server; docs/scaling.md),
 * 0 for a SQLite file. */
int sift_store_is_uri(const char *path);
/* path as it may be shown in a message: a URI without its password
 * ("user:secret@" becomes "user@", a password= parameter is left out),
 * anything else unchanged. malloc'd (free it); NULL on ENOMEM. */
char *sift_store_display_name(const char *path);
/* How long a writer waits for another process's write lock before
 * failing with "database is locked by another process" (default 30000
 * ms, set at open). Returns SIFT_OK. */
int sift_store_set_busy_timeout(sift_store *st, int ms, sift_err *err);
/* Commit any open batch and close. NULL is a no-op. Errors of that last
 * commit cannot be reported here: call sift_store_flush() first when they
 * matter. */
void sift_store_close(sift_store *st);
/* The schema version this build writes and migrates to (SIFT_STORE_SCHEMA;
 * --version prints it). */
int sift_store_schema_version(void);

/* --- writing one report: begin, add*, commit | rollback --------------- */

/* Start storing a report (opening a batch transaction if none is open:
 * BEGIN IMMEDIATE, waiting up to the busy timeout for other writers).
 * SIFT_OK: a new report is open. SIFT_EDUP: the
 * identity is already stored; *dup (may be NULL) says what is stored
 * (compare its hash with sift_xml_content_hash() to tell a re-send from a
 * conflicting one) and nothing is open. input_path is the provenance
 * (sift_item.path). */
int sift_store_begin(sift_store *st, sift_stored *dup,
                     const sift_report_meta *meta, const char *input_path,
                     sift_err *err);
/* Add one record of the open report with its verdict (v may be NULL: all
 * zero). Values are copied. On failure call sift_store_rollback(); a
 * commit after a failed add is refused. A count above INT64_MAX is stored
 * as INT64_MAX. */
int sift_store_add(sift_store *st, const sift_record *rec,
                   const sift_verdict *v, sift_err *err);
/* Finish the open report: write its final warnings and content hash. The
 * report becomes durable at the latest when the batch commits (at most
 * every few hundred ms of work, and at sift_store_flush/close). */
int sift_store_commit(sift_store *st, const sift_report_meta *meta,
                      sift_hash128 content_hash, sift_err *err);
/* Drop the open report (nothing of it remains); reports committed
 * earlier in the batch are kept. No-op when none is open. Never fails. */
void sift_store_rollback(sift_store *st);
/* Make everything committed so far durable now (commit the batch).
 * SIFT_EUSAGE while a report is open. If a batch commit fails (disk full,
 * i/o error) the reports of that batch are lost and the error is returned
 * by whichever call committed (commit, begin, flush); re-running the
 * import stores them. sift_store_commits() counts the batch commits that
 * succeeded: a report whose sift_store_commit() returned SIFT_OK is
 * durable once that count has grown. While held (sift_store_hold) flush
 * commits nothing. */
int sift_store_flush(sift_store *st, sift_err *err);
uint64_t sift_store_commits(const sift_store *st);
/* on != 0: from now on everything written stays in one transaction (no
 * batch limit, sift_store_flush() and every write outside a report join
 * it) until sift_store_hold(st, 0), which commits it and returns that
 * commit's error, or sift_store_hold(st, -1), which rolls it all back
 * (never fails). retry-failed stores an input and deletes its failed row
 * this way: both or neither. SIFT_EUSAGE while a report is open. */
int sift_store_hold(sift_store *st, int on, sift_err *err);
int sift_store_held(const sift_store *st);

/* Is a report with meta's identity stored (committed)? SIFT_EDUP with
 * *out = what is stored, or SIFT_OK (*out zeroed) when not. Reads only:
 * works on a READONLY handle, and may run in another thread than the
 * writer's (on its own handle), to skip parsing what is stored already. */
int sift_store_lookup(sift_store *st, sift_stored *out,
                      const sift_report_meta *meta, sift_err *err);
/* Set the content hash of the stored report with meta's identity when it
 * is unknown (hash_known == 0); a known hash is never changed. Joins the
 * open batch, opening one if needed. */
int sift_store_adopt_hash(sift_store *st, const sift_report_meta *meta,
                          sift_hash128 hash, sift_err *err);

/* Inputs seen before, by their raw bytes' fingerprint (see
 * sift_ingest_fingerprint): SIFT_EDUP when an input with this fingerprint
 * and length was stored (or found to duplicate or conflict with a stored
 * report; *conflict says which), SIFT_OK when not. Reads only. */
int sift_store_seen(sift_store *st, int *conflict, sift_hash128 fp,
                    uint64_t len, sift_err *err);
/* Asking without waiting, for a reader whose database is across a
 * network (import.c's producer): sift_store_ask_seen() and
 * sift_store_ask_lookup() send the question of sift_store_seen() and
 * sift_store_lookup(), sift_store_ask_input() both at once (one statement,
 * one round trip), and return; sift_store_answer() waits for the answer
 * and fills *out. sift_store_answered() says, without waiting, whether
 * sift_store_answer() would return at once (nonzero too when nothing is
 * asked). One question at a time: until it is answered, the handle takes
 * no other call (but _answered, _answer, _remote and _close). SQLite
 * answers at once (the ask looks it up). A failed ask returns its error
 * and leaves nothing asked; asking while a question is pending, or
 * answering when none is, is SIFT_EUSAGE. Reads only. */
typedef struct sift_answer {
    int seen;           /* the input's bytes were seen (sift_store_seen) */
    int conflict;       /* ... as those of a conflicting copy */
    int stored;         /* the report is stored (sift_store_lookup); left 0
                           by ask_input when the bytes were seen */
    sift_stored report; /* what is stored, when stored */
} sift_answer;
int sift_store_ask_seen(sift_store *st, sift_hash128 fp, uint64_t len,
                        sift_err *err);
int sift_store_ask_lookup(sift_store *st, const sift_report_meta *meta,
                          sift_err *err);
int sift_store_ask_input(sift_store *st, sift_hash128 fp, uint64_t len,
                         const sift_report_meta *meta, sift_err *err);
int sift_store_answered(sift_store *st);
/* SIFT_OK with *out filled (zeroed first), or the lookup's error. */
int sift_store_answer(sift_store *st, sift_answer *out, sift_err *err);
/* Nonzero when an answer takes a round trip (a database server), so that
 * asking early and reading meanwhile pays. */
int sift_store_remote(const sift_store *st);

/* Remember that the input with this fingerprint and length holds the
 * stored report with meta's identity (conflict != 0: a conflicting copy
 * of it). Kept once; deleted with the report (prune). Joins the open
 * batch, opening one if needed. */
int sift_store_note_seen(sift_store *st, sift_hash128 fp, uint64_t len,
                         const sift_report_meta *meta, int conflict,
                         sift_err *err);

/* The path the store was opened with, and whether it was opened
 * SIFT_STORE_READONLY (then everything it sees is committed, and a second
 * read-only handle on the path sees the same). */
const char *sift_store_path(const sift_store *st);
int sift_store_is_readonly(const sift_store *st);

/* Record a conflicting duplicate (same identity, different content) so
 * that `stats` and `report` can show it. The same conflicting copy (same
 * content hash) is kept once. */
int sift_store_note_conflict(sift_store *st, const sift_report_meta *meta,
                             const char *input_path, sift_hash128 content_hash,
                             sift_err *err);

/* Keep an input that failed: provenance, reason and its raw bytes (copied;
 * raw may be NULL), and the input's fingerprint fp (sift_ingest_fingerprint;
 * NULL when unknown) so that it is resolved when the same input later
 * imports (sift_store_resolve_failed). A failed input with the same path
 * and bytes is kept once (its reason and last_seen are updated). Bytes
 * above SIFT_MAX_KEEP_CEILING are not kept: only path, reason and size. */
int sift_store_add_failed(sift_store *st, const char *path, const char *reason,
                          const void *raw, size_t len, const sift_hash128 *fp,
                          sift_err *err);
/* The same for bytes too large to hold in memory: len bytes read from f
 * (from its start; the caller keeps f) are streamed into the new row with
 * SQLite's incremental blob I/O, inside the open or a new batch. hash is
 * their XXH3-128 (the caller computed it while writing f). Above
 * SIFT_MAX_KEEP_CEILING (util/sift_limits.h) nothing is kept but path,
 * reason and size. */
int sift_store_add_failed_file(sift_store *st, const char *path,
                               const char *reason, FILE *f, uint64_t len,
                               sift_hash128 hash, const sift_hash128 *fp,
                               sift_err *err);
/* The input at path with fingerprint fp was used (imported, or found
 * stored): delete its failed rows. *resolved (may be NULL) = rows deleted.
 * Joins the open batch, opening one if needed. */
int sift_store_resolve_failed(sift_store *st, const char *path, sift_hash128 fp,
                              uint64_t *resolved, sift_err *err);

/* --- maintenance ------------------------------------------------------ */

typedef struct sift_stats {
    uint64_t reports, records, messages, reporters, domains;
    uint64_t failed_inputs, conflicts;
    int64_t first_begin, last_end; /* 0 when there are no reports */
} sift_stats;

int sift_store_stats(sift_stats *out, sift_store *st, sift_err *err);

/* Delete reports whose date range ended before `before` (epoch seconds),
 * with their records and results, and failed inputs last seen before it,
 * in one transaction (the open batch is committed first; SIFT_EUSAGE while
 * a report is open), then return free pages to the file system.
 * *deleted = reports removed, *failed (may be NULL) = failed rows
 * removed. */
int sift_store_prune(uint64_t *deleted, uint64_t *failed, sift_store *st,
                     int64_t before, sift_err *err);

/* One stored failed input, for listing (strings borrowed for the call). */
typedef struct sift_failed_info {
    int64_t id;
    const char *path, *reason;
    uint64_t size;
    int kept; /* its bytes are stored: retry-failed can re-read them */
    int64_t first_seen, last_seen;
} sift_failed_info;
/* Call cb for each failed input, ordered by id; cb returns 0 to go on,
 * non-zero to stop (that value is returned). Reads only. */
int sift_store_list_failed(sift_store *st,
                           int (*cb)(void *payload, const sift_failed_info *f),
                           void *payload, sift_err *err);
/* Delete every failed input; *n = rows deleted. */
int sift_store_forget_all_failed(sift_store *st, uint64_t *n, sift_err *err);

/* Call cb for each stored failed input (ordered by id). cb returns 0 to go
 * on, non-zero to stop (that value is returned). Strings and raw are
 * borrowed for the duration of the call; raw is NULL and len 0 when the
 * bytes were not kept. cb may call sift_store_delete_failed() and store
 * reports; it must not call sift_store_each_failed(). */
typedef int (*sift_failed_cb)(void *payload, int64_t id, const char *path,
                              const char *reason, const void *raw, size_t len);
int sift_store_each_failed(sift_store *st, sift_failed_cb cb, void *payload,
                           sift_err *err);
/* The first stored failed input with id > after: cb is called once with it
 * (strings and raw borrowed for the call) and its return value returned;
 * SIFT_ITEROVER when there is none. No statement stays open between calls,
 * so the caller may store reports and delete rows in between. */
int sift_store_next_failed(sift_store *st, int64_t after, sift_failed_cb cb,
                           void *payload, sift_err *err);
/* Delete the failed input with this id (joins the open or held batch).
 * SIFT_ITEROVER when there is no such row. */
int sift_store_delete_failed(sift_store *st, int64_t id, sift_err *err);

/* --- IMAP state (imap_state.c; docs/imap.md) -------------------------- */

/* The row of the mailbox (server "host:port", user, mailbox name,
 * UIDVALIDITY), created when new: *id for the calls below. A new
 * UIDVALIDITY is a new mailbox, with nothing settled. */
int sift_store_imap_mailbox(sift_store *st, int64_t *id, const char *server,
                            const char *user, const char *mailbox,
                            uint32_t uidvalidity, sift_err *err);
/* cb for each settled UID of the mailbox, ascending; failed != 0 when the
 * message held a failed unit. cb returns 0 to go on, else that value is
 * returned. */
typedef int (*sift_uid_cb)(void *payload, uint32_t uid, int failed);
int sift_store_imap_each_settled(sift_store *st, int64_t mailbox,
                                 sift_uid_cb cb, void *payload, sift_err *err);
/* Mark n UIDs settled (every report of each committed); failed may be
 * NULL. One savepoint: joins an open batch, else its own transaction.
 * SIFT_EUSAGE while a report is open. */
int sift_store_imap_settle(sift_store *st, int64_t mailbox,
                           const uint32_t *uids, const unsigned char *failed,
                           size_t n, sift_err *err);
/* Forget settled UIDs that have left the mailbox (moved). */
int sift_store_imap_forget(sift_store *st, int64_t mailbox,
                           const uint32_t *uids, size_t n, sift_err *err);

/* --- the DNS cache (dns_cache.c; docs/dns.md) -------------------------- */

/* One source address's cached name. Strings are borrowed (for the call
 * that passes the row). */
typedef struct sift_ptr_row {
    const char *ip;
    const char *name;   /* confirmed name, or the unconfirmed PTR; NULL none */
    int confirmed;      /* name's A/AAAA holds ip */
    const char *status; /* "ok", "nxdomain", "nodata" (sift_dns_status) */
    int64_t ttl, looked_up; /* seconds; epoch seconds */
} sift_ptr_row;

/* cb for each distinct stored source address (records.source_ip) that
 * has no cache row, or whose row expired (looked_up + ttl <= now), in
 * address order; cb returns 0 to go on, else that value is returned.
 * Reads only; cb must not write to st. */
int sift_store_dns_ptr_todo(sift_store *st, int64_t now,
                            int (*cb)(void *payload, const char *ip),
                            void *payload, sift_err *err);
/* Insert or replace n cache rows in one savepoint (joins an open batch,
 * else its own transaction). SIFT_EUSAGE while a report is open. */
int sift_store_dns_ptr_put(sift_store *st, const sift_ptr_row *rows, size_t n,
                           sift_err *err);
/* cb for each cache row (expired ones too: a stale name beats none when
 * offline), in address order. cb returns 0 to go on. Reads only. */
int sift_store_dns_ptr_each(sift_store *st,
                            int (*cb)(void *payload, const sift_ptr_row *r),
                            void *payload, sift_err *err);
/* Cache rows in all, and of those expired at now. */
int sift_store_dns_ptr_count(sift_store *st, int64_t now, uint64_t *total,
                             uint64_t *expired, sift_err *err);

/* What a policy domain publishes (sift_dns_published, flattened). Strings
 * borrowed; NULL or "" for none. */
typedef struct sift_published_row {
    const char *domain;
    const char *tree_at, *tree_record; /* RFC 9989 tree walk */
    const char *psl_at, *psl_record;   /* RFC 7489, by the PSL */
    int differ;
    const char *spf_record;
    int spf_records, spf_lookups, spf_all;
    const char *spf_includes, *spf_error;
    int64_t ttl, looked_up;
} sift_published_row;

/* A DKIM key of a (d=, selector) seen in the reports. */
typedef struct sift_dkim_row {
    const char *domain, *selector;
    const char *status;   /* of the TXT lookup: "ok", "nxdomain", "nodata" */
    int present;          /* a key with a non-empty p= */
    const char *key_type; /* "rsa", "ed25519"; NULL when no key */
    int key_bits;         /* 0: unknown */
    int64_t ttl, looked_up;
} sift_dkim_row;

/* cb for each stored policy domain (lowercase) whose published row is
 * missing or expired at now; cb returns 0 to go on. Reads only. */
int sift_store_dns_domains_todo(sift_store *st, int64_t now,
                                int (*cb)(void *payload, const char *domain),
                                void *payload, sift_err *err);
/* cb for each distinct (d=, selector) of the stored DKIM results whose d=
 * is domain or under it (lowercase), at most `max`, in (d, selector)
 * order (bytes; d lowercase, the selector as stored, never empty). cb
 * returns 0 to go on, else that value is returned. Reads only. */
int sift_store_dns_selectors(sift_store *st, const char *domain, unsigned max,
                             int (*cb)(void *payload, const char *d,
                                       const char *selector),
                             void *payload, sift_err *err);
/* The same for n domains (lowercase) in one pass over the stored results,
 * which costs what one domain does: cb(payload, i, d, selector) for
 * domains[i], at most max per domain, each domain's in (d, selector)
 * order. A d= under several of the domains is given to each of them. */
int sift_store_dns_selectors_many(
    sift_store *st, const char *const *domains, size_t n, unsigned max,
    int (*cb)(void *payload, size_t i, const char *d, const char *selector),
    void *payload, sift_err *err);
/* Replace the domain's published row and write its n DKIM rows, in one
 * savepoint. */
int sift_store_dns_published_put(sift_store *st, const sift_published_row *p,
                                 const sift_dkim_row *k, size_t n,
                                 sift_err *err);
/* cb for each published row, by domain; cb for each DKIM row of a domain
 * (d= equal to or under it), by d= and selector. Reads only. */
int sift_store_dns_published_each(sift_store *st,
                                  int (*cb)(void *payload,
                                            const sift_published_row *p),
                                  void *payload, sift_err *err);
int sift_store_dns_dkim_each(sift_store *st, const char *domain,
                             int (*cb)(void *payload, const sift_dkim_row *k),
                             void *payload, sift_err *err);

/* --- generic read queries, for tests and diagnostics ------------------ */

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

/* Run one read-only SQL statement with `n` bound parameters (?1..?n) and
 * call cb (may be NULL) for each row; cb returns 0 to go on, non-zero to
 * stop (then that value is returned). Statements are cached by SQL text
 * (16 slots, LRU), so calling this in a loop does not re-prepare. A
 * statement that writes, several statements, a syntax error or a wrong
 * parameter count is SIFT_EUSAGE ("bad query: ..."). The row and its
 * strings are valid only inside cb. cb may run other queries. SQL
 * functions besides SQLite's own (JSON1 included): the aggregate
 * bit_or(x), bitwise OR of the non-NULL integers, 0 when there are none.
 * Tables and columns: docs/schema.md. PostgreSQL: ?N becomes $N and the
 * statement runs as given (read-only only on a READONLY handle; in a
 * writer's open batch, inside a savepoint, so that one that fails leaves
 * the batch as it was); its faults (syntax, names, parameters) are
 * SIFT_EUSAGE in the server's words; the SQLite functions above do not
 * exist there. For tests and diagnostics:
 * report/ and export use the typed reads. */
typedef int (*sift_row_cb)(void *payload, sift_row *row);
int sift_store_query(sift_store *st, const char *sql, const sift_param *params,
                     int n, sift_row_cb cb, void *payload, sift_err *err);

/* --- typed reads for report/ and export (no SQL outside store/) ------- */

/* Which reports a read covers: any of these policy domains / org_names
 * (ASCII case-insensitive; n = 0: all; strings borrowed), and a date
 * range [date_begin, date_end) overlapping [since, until) (each bound
 * only when has_*). NULL: everything. */
typedef struct sift_store_filter {
    const char *const *domains;
    size_t ndomains;
    const char *const *reporters;
    size_t nreporters;
    int64_t since, until;
    int has_since, has_until;
} sift_store_filter;

/* One stored report, for report/'s join in C. Strings are borrowed for
 * the call; identity strings are "" when absent. */
typedef struct sift_report_row {
    int64_t id; /* the store's report id: records name it */
    const char *domain, *org;
    int64_t begin, end;
} sift_report_row;
typedef int (*sift_report_row_cb)(void *payload, const sift_report_row *r);
/* cb for each report in the filter, ascending id. cb returns 0 to go on,
 * else that value is returned (so for every callback below). */
int sift_store_read_reports(sift_store *st, const sift_store_filter *f,
                            sift_report_row_cb cb, void *payload,
                            sift_err *err);

/* Every stored reason of every record (any order): type ASCII-lowercased
 * ("" when absent), arc_pass = its comment contains "arc=pass" (ASCII
 * case-insensitive). */
typedef int (*sift_reason_row_cb)(void *payload, int64_t record_id,
                                  const char *type, int arc_pass);
int sift_store_read_reasons(sift_store *st, sift_reason_row_cb cb,
                            void *payload, sift_err *err);

/* What the report scan reads of each record (strings borrowed; NULL when
 * absent). count is the stored 64-bit pattern of the reported value. */
typedef struct sift_scan_row {
    int64_t id, report;
    const char *source_ip, *header_from, *spf_domain, *dkim_domain;
    uint64_t count;
    int outcome;
    uint32_t flags, categories;
} sift_scan_row;
typedef int (*sift_scan_cb)(void *payload, const sift_scan_row *r);
/* Every stored record, split into at most `parts` (>= 1) consecutive
 * ranges of record ids that the backend may scan in parallel (SQLite: a
 * read-only file handle scans two halves on two threads): part i calls cb
 * with payloads[i], in ascending id order within the part, part i's ids
 * below part i+1's. *used = the parts used (1..parts); payloads past it
 * were not called. cb of different parts may run at the same time. */
int sift_store_scan_records(sift_store *st, int parts, sift_scan_cb cb,
                            void *const *payloads, int *used, sift_err *err);

/* The (policy domain, source IP) pairs among the records of the reports
 * ids[0..n) with the most messages: pair() for at most `limit` of them,
 * most messages (the unsigned sum of count) first, then domain and IP
 * bytewise; then domain() once per policy domain with the number of
 * distinct source IPs of its records there (any order). A NULL domain or
 * IP reads "". The grouping runs in the database (SQLite sorts in
 * temporary files): memory does not grow with the number of pairs, only
 * with `limit`. report/ uses it past --max-sources. */
typedef int (*sift_top_pair_cb)(void *payload, const char *domain,
                                const char *ip);
typedef int (*sift_domain_sources_cb)(void *payload, const char *domain,
                                      uint64_t sources);
int sift_store_top_sources(sift_store *st, const int64_t *ids, size_t n,
                           uint64_t limit, sift_top_pair_cb pair,
                           sift_domain_sources_cb domain, void *payload,
                           sift_err *err);

/* The reporter's verdict columns of one record (the report's example). */
typedef int (*sift_verdict_row_cb)(void *payload, const char *pe_dkim,
                                   const char *pe_spf, int dkim_aligned,
                                   int spf_aligned);
/* cb once when the record exists; SIFT_OK either way. */
int sift_store_record_verdict(sift_store *st, int64_t id,
                              sift_verdict_row_cb cb, void *payload,
                              sift_err *err);

/* The newest published policy of each policy domain in the filter: the
 * report with the latest date_end (then date_begin, then the smallest
 * org_name bytewise, then the lowest id), ascending domain (bytewise). */
typedef struct sift_policy_row {
    const char *domain, *p, *sp, *np, *testing, *adkim, *aspf, *org;
    int pct; /* -1: absent */
    int64_t end;
} sift_policy_row;
typedef int (*sift_policy_row_cb)(void *payload, const sift_policy_row *r);
int sift_store_read_policies(sift_store *st, const sift_store_filter *f,
                             sift_policy_row_cb cb, void *payload,
                             sift_err *err);

/* One record of `dmarcsift export` with its report: meta has org_name,
 * email, report_id, begin, end, domain, adkim, aspf, p, sp, np, testing,
 * pct (-1: absent); rec has the record and its reasons, DKIM and SPF
 * results in stored order; the verdict columns are as stored. All
 * borrowed for the call. */
typedef struct sift_export_row {
    const sift_report_meta *meta;
    const sift_record *rec;
    int dmarc_fail, would_reject, outcome, spf_aligned, dkim_aligned;
    uint32_t categories;
} sift_export_row;
typedef int (*sift_export_cb)(void *payload, const sift_export_row *r);
/* cb for each record of the reports in the filter, ascending record id.
 * Memory: one record. */
int sift_store_export_records(sift_store *st, const sift_store_filter *f,
                              sift_export_cb cb, void *payload, sift_err *err);

/* --- stored verdicts and their evaluation version (verdicts.c) -------- */

/* Each stored report carries the version of the evaluation that computed
 * its records' verdicts (reports.eval_version; 0: one before versions
 * were stored, or a writer that did not say). Hosts of different builds
 * writing one database leave reports of different versions: stats and
 * report show them (docs/scaling.md).
 *
 * The version a writer stamps on the reports it stores from now on (the
 * caller's evaluation, e.g. report/'s SIFT_EVAL_VERSION; store/ does not
 * depend on report/). A property of the handle, not of each call: one
 * process evaluates with one build. 0 until set. */
void sift_store_set_eval_stamp(sift_store *st, int version);

/* cb once per evaluation version found among the reports in the filter
 * (NULL: all), ascending version, with how many reports carry it and
 * their records (sum of record counts). None when there are no reports.
 * Reads only. */
typedef int (*sift_eval_version_cb)(void *payload, int version,
                                    uint64_t reports, uint64_t records);
int sift_store_eval_versions(sift_store *st, const sift_store_filter *f,
                             sift_eval_version_cb cb, void *payload,
                             sift_err *err);
int sift_store_count_records(uint64_t *n, sift_store *st, sift_err *err);

/* Computes a verdict from a record rebuilt from the store (report/'s
 * sift_eval_record; *out may borrow rec's strings until it returns). */
typedef void (*sift_verdict_fn)(void *payload, sift_verdict *out,
                                const sift_report_meta *meta,
                                const sift_record *rec);

/* Re-evaluate whole reports: the stored reports with id > after whose
 * evaluation version is below `version` (redo != 0: or equal to it, e.g.
 * to recompute after a Public Suffix List update), in ascending id, as many as
 * hold about `limit` records (at least one report, which may hold more),
 * in one transaction: each of their records is rebuilt (its report's
 * policy, reasons, DKIM and SPF results; at most 64 of each) and given to
 * fn, its verdict columns rewritten, and the reports stamped `version`.
 * A report's stamp thus always names the evaluation of its verdicts, and
 * a report of `version` or newer is never touched (an older build never
 * rewrites a newer one's verdicts). PostgreSQL locks the reports it takes
 * (another host re-evaluating at the same time skips what this one
 * stamped). *last = the last report id taken (after when none: finished),
 * *done = records rewritten. Memory: one record (SQLite), one batch of
 * records (PostgreSQL). A writer only; limit 0 is SIFT_EUSAGE. */
int sift_store_rewrite_verdicts(sift_store *st, int version, int redo,
                                int64_t after, unsigned limit, int64_t *last,
                                unsigned *done, sift_verdict_fn fn,
                                void *payload, sift_err *err);

/* --- the whole history (sqlite_read.c, pg_read.c) ---------------------- */

/* One stored report's identity for report/'s history: strings borrowed
 * for the call ("" when absent). */
typedef struct sift_report_span {
    int64_t id, begin, end;
    const char *domain, *org;
} sift_report_span;
/* Call cb for every stored report, by id (unfiltered: the caller keeps
 * what it wants); cb returns 0 to go on, non-zero to stop (returned). */
typedef int (*sift_span_cb)(void *payload, const sift_report_span *r);
int sift_store_report_spans(sift_store *st, sift_span_cb cb, void *payload,
                            sift_err *err);

#endif
