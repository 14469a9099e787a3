/* pg_ops.c -- the PostgreSQL backend's ops table: each entry passes the
 * handle on as the sift_pg it is (sift_pg embeds sift_store first). */
#include "pg_int.h"

static void
a_close(sift_store *st)
{
    sift_pg_close((sift_pg *)st);
}

static int
a_set_busy_timeout(sift_store *st, int ms, sift_err *err)
{
    return sift_pg_set_busy_timeout((sift_pg *)st, ms, err);
}

static int
a_begin(sift_store *st, sift_stored *dup, const sift_report_meta *meta,
        const char *input_path, sift_err *err)
{
    return sift_pg_begin((sift_pg *)st, dup, meta, input_path, err);
}

static int
a_add(sift_store *st, const sift_record *rec, const sift_verdict *v,
      sift_err *err)
{
    return sift_pg_add((sift_pg *)st, rec, v, err);
}

static int
a_commit(sift_store *st, const sift_report_meta *meta,
         sift_hash128 content_hash, sift_err *err)
{
    return sift_pg_commit((sift_pg *)st, meta, content_hash, err);
}

static void
a_rollback(sift_store *st)
{
    sift_pg_rollback((sift_pg *)st);
}

static int
a_flush(sift_store *st, sift_err *err)
{
    return sift_pg_flush((sift_pg *)st, err);
}

static uint64_t
a_commits(sift_store *st)
{
    return sift_pg_commits((sift_pg *)st);
}

static int
a_hold(sift_store *st, int on, sift_err *err)
{
    return sift_pg_hold((sift_pg *)st, on, err);
}

static int
a_held(sift_store *st)
{
    return sift_pg_held((sift_pg *)st);
}

static int
a_lookup(sift_store *st, sift_stored *out, const sift_report_meta *meta,
         sift_err *err)
{
    return sift_pg_lookup((sift_pg *)st, out, meta, err);
}

static int
a_adopt_hash(sift_store *st, const sift_report_meta *meta, sift_hash128 hash,
             sift_err *err)
{
    return sift_pg_adopt_hash((sift_pg *)st, meta, hash, err);
}

static int
a_seen(sift_store *st, int *conflict, sift_hash128 fp, uint64_t len,
       sift_err *err)
{
    return sift_pg_seen((sift_pg *)st, conflict, fp, len, err);
}

static int
a_note_seen(sift_store *st, sift_hash128 fp, uint64_t len,
            const sift_report_meta *meta, int conflict, sift_err *err)
{
    return sift_pg_note_seen((sift_pg *)st, fp, len, meta, conflict, err);
}

static int
a_note_conflict(sift_store *st, const sift_report_meta *meta,
                const char *input_path, sift_hash128 content_hash,
                sift_err *err)
{
    return sift_pg_note_conflict((sift_pg *)st, meta, input_path, content_hash,
                                 err);
}

static int
a_add_failed(sift_store *st, const char *path, const char *reason,
             const void *raw, size_t len, const sift_hash128 *fp, sift_err *err)
{
    return sift_pg_add_failed((sift_pg *)st, path, reason, raw, len, fp, err);
}

static int
a_add_failed_file(sift_store *st, const char *path, const char *reason, FILE *f,
                  uint64_t len, sift_hash128 hash, const sift_hash128 *fp,
                  sift_err *err)
{
    return sift_pg_add_failed_file((sift_pg *)st, path, reason, f, len, hash,
                                   fp, err);
}

static int
a_resolve_failed(sift_store *st, const char *path, sift_hash128 fp,
                 uint64_t *resolved, sift_err *err)
{
    return sift_pg_resolve_failed((sift_pg *)st, path, fp, resolved, err);
}

static int
a_stats(sift_store *st, sift_stats *out, sift_err *err)
{
    return sift_pg_stats((sift_pg *)st, out, err);
}

static int
a_prune(sift_store *st, uint64_t *deleted, uint64_t *failed, int64_t before,
        sift_err *err)
{
    return sift_pg_prune((sift_pg *)st, deleted, failed, before, err);
}

static int
a_list_failed(sift_store *st,
              int (*cb)(void *payload, const sift_failed_info *f),
              void *payload, sift_err *err)
{
    return sift_pg_list_failed((sift_pg *)st, cb, payload, err);
}

static int
a_forget_all_failed(sift_store *st, uint64_t *n, sift_err *err)
{
    return sift_pg_forget_all_failed((sift_pg *)st, n, err);
}

static int
a_next_failed(sift_store *st, int64_t after, sift_failed_cb cb, void *payload,
              sift_err *err)
{
    return sift_pg_next_failed((sift_pg *)st, after, cb, payload, err);
}

static int
a_delete_failed(sift_store *st, int64_t id, sift_err *err)
{
    return sift_pg_delete_failed((sift_pg *)st, id, err);
}

static int
a_imap_mailbox(sift_store *st, int64_t *id, const char *server,
               const char *user, const char *mailbox, uint32_t uidvalidity,
               sift_err *err)
{
    return sift_pg_imap_mailbox((sift_pg *)st, id, server, user, mailbox,
                                uidvalidity, err);
}

static int
a_imap_each_settled(sift_store *st, int64_t mailbox, sift_uid_cb cb,
                    void *payload, sift_err *err)
{
    return sift_pg_imap_each_settled((sift_pg *)st, mailbox, cb, payload, err);
}

static int
a_imap_settle(sift_store *st, int64_t mailbox, const uint32_t *uids,
              const unsigned char *failed, size_t n, sift_err *err)
{
    return sift_pg_imap_settle((sift_pg *)st, mailbox, uids, failed, n, err);
}

static int
a_imap_forget(sift_store *st, int64_t mailbox, const uint32_t *uids, size_t n,
              sift_err *err)
{
    return sift_pg_imap_forget((sift_pg *)st, mailbox, uids, n, err);
}

static int
a_query(sift_store *st, const char *sql, const sift_param *params, int n,
        sift_row_cb cb, void *payload, sift_err *err)
{
    return sift_pg_query((sift_pg *)st, sql, params, n, cb, payload, err);
}

static int
a_eval_version(sift_store *st, int *version, sift_err *err)
{
    return sift_pg_eval_version((sift_pg *)st, version, err);
}

static int
a_set_eval_version(sift_store *st, int version, sift_err *err)
{
    return sift_pg_set_eval_version((sift_pg *)st, version, err);
}

static int
a_count_records(sift_store *st, uint64_t *n, sift_err *err)
{
    return sift_pg_count_records((sift_pg *)st, n, err);
}

static int
a_rewrite_verdicts(sift_store *st, int64_t after, unsigned limit, int64_t *last,
                   unsigned *done, sift_verdict_fn fn, void *payload,
                   sift_err *err)
{
    return sift_pg_rewrite_verdicts((sift_pg *)st, after, limit, last, done, fn,
                                    payload, err);
}

static int
a_read_reports(sift_store *st, const sift_store_filter *f,
               sift_report_row_cb cb, void *payload, sift_err *err)
{
    return sift_pg_read_reports((sift_pg *)st, f, cb, payload, err);
}

static int
a_read_reasons(sift_store *st, sift_reason_row_cb cb, void *payload,
               sift_err *err)
{
    return sift_pg_read_reasons((sift_pg *)st, cb, payload, err);
}

static int
a_scan_records(sift_store *st, int parts, sift_scan_cb cb,
               void *const *payloads, int *used, sift_err *err)
{
    return sift_pg_scan_records((sift_pg *)st, parts, cb, payloads, used, err);
}

static int
a_top_sources(sift_store *st, const int64_t *ids, size_t n, uint64_t limit,
              sift_top_pair_cb pair, sift_domain_sources_cb domain,
              void *payload, sift_err *err)
{
    return sift_pg_top_sources((sift_pg *)st, ids, n, limit, pair, domain,
                               payload, err);
}

static int
a_record_verdict(sift_store *st, int64_t id, sift_verdict_row_cb cb,
                 void *payload, sift_err *err)
{
    return sift_pg_record_verdict((sift_pg *)st, id, cb, payload, err);
}

static int
a_read_policies(sift_store *st, const sift_store_filter *f,
                sift_policy_row_cb cb, void *payload, sift_err *err)
{
    return sift_pg_read_policies((sift_pg *)st, f, cb, payload, err);
}

static int
a_export_records(sift_store *st, const sift_store_filter *f, sift_export_cb cb,
                 void *payload, sift_err *err)
{
    return sift_pg_export_records((sift_pg *)st, f, cb, payload, err);
}

static const char *
a_path(sift_store *st)
{
    return sift_pg_path((sift_pg *)st);
}

static int
a_is_readonly(sift_store *st)
{
    return sift_pg_is_readonly((sift_pg *)st);
}

const sift_store_ops sift_pg__ops = {
    .close = a_close,
    .set_busy_timeout = a_set_busy_timeout,
    .begin = a_begin,
    .add = a_add,
    .commit = a_commit,
    .rollback = a_rollback,
    .flush = a_flush,
    .commits = a_commits,
    .hold = a_hold,
    .held = a_held,
    .lookup = a_lookup,
    .adopt_hash = a_adopt_hash,
    .seen = a_seen,
    .note_seen = a_note_seen,
    .note_conflict = a_note_conflict,
    .add_failed = a_add_failed,
    .add_failed_file = a_add_failed_file,
    .resolve_failed = a_resolve_failed,
    .stats = a_stats,
    .prune = a_prune,
    .list_failed = a_list_failed,
    .forget_all_failed = a_forget_all_failed,
    .next_failed = a_next_failed,
    .delete_failed = a_delete_failed,
    .imap_mailbox = a_imap_mailbox,
    .imap_each_settled = a_imap_each_settled,
    .imap_settle = a_imap_settle,
    .imap_forget = a_imap_forget,
    .query = a_query,
    .eval_version = a_eval_version,
    .set_eval_version = a_set_eval_version,
    .count_records = a_count_records,
    .rewrite_verdicts = a_rewrite_verdicts,
    .read_reports = a_read_reports,
    .read_reasons = a_read_reasons,
    .scan_records = a_scan_records,
    .record_verdict = a_record_verdict,
    .top_sources = a_top_sources,
    .read_policies = a_read_policies,
    .export_records = a_export_records,
    .path = a_path,
    .is_readonly = a_is_readonly,
};
