/* sqlite_ops.c -- the SQLite backend's ops table: each entry passes the
 * handle on as the sift_sq it is (sift_sq embeds sift_store first). */
#include "sqlite_int.h"

static void
a_close(sift_store *st)
{
    sift_sq_close((sift_sq *)st);
}

static int
a_set_busy_timeout(sift_store *st, int ms, sift_err *err)
{
    return sift_sq_set_busy_timeout((sift_sq *)st, ms, err);
}

static int
a_begin(sift_store *st, sift_stored *dup, const sift_report_meta *meta,
        const char *input_path, sift_err *err)
{
    return sift_sq_begin((sift_sq *)st, dup, meta, input_path, err);
}

static int
a_add(sift_store *st, const sift_record *rec, const sift_verdict *v,
      sift_err *err)
{
    return sift_sq_add((sift_sq *)st, rec, v, err);
}

static int
a_commit(sift_store *st, const sift_report_meta *meta,
         sift_hash128 content_hash, sift_err *err)
{
    return sift_sq_commit((sift_sq *)st, meta, content_hash, err);
}

static void
a_rollback(sift_store *st)
{
    sift_sq_rollback((sift_sq *)st);
}

static int
a_flush(sift_store *st, sift_err *err)
{
    return sift_sq_flush((sift_sq *)st, err);
}

static uint64_t
a_commits(sift_store *st)
{
    return sift_sq_commits((sift_sq *)st);
}

static int
a_hold(sift_store *st, int on, sift_err *err)
{
    return sift_sq_hold((sift_sq *)st, on, err);
}

static int
a_held(sift_store *st)
{
    return sift_sq_held((sift_sq *)st);
}

static int
a_lookup(sift_store *st, sift_stored *out, const sift_report_meta *meta,
         sift_err *err)
{
    return sift_sq_lookup((sift_sq *)st, out, meta, err);
}

static int
a_adopt_hash(sift_store *st, const sift_report_meta *meta, sift_hash128 hash,
             sift_err *err)
{
    return sift_sq_adopt_hash((sift_sq *)st, meta, hash, err);
}

static int
a_seen(sift_store *st, int *conflict, sift_hash128 fp, uint64_t len,
       sift_err *err)
{
    return sift_sq_seen((sift_sq *)st, conflict, fp, len, err);
}

static int
a_note_seen(sift_store *st, sift_hash128 fp, uint64_t len,
            const sift_report_meta *meta, int conflict, sift_err *err)
{
    return sift_sq_note_seen((sift_sq *)st, fp, len, meta, conflict, err);
}

static int
a_note_conflict(sift_store *st, const sift_report_meta *meta,
                const char *input_path, sift_hash128 content_hash,
                sift_err *err)
{
    return sift_sq_note_conflict((sift_sq *)st, meta, input_path, content_hash,
                                 err);
}

static int
a_add_failed(sift_store *st, const char *path, const char *reason,
             const void *raw, size_t len, const sift_hash128 *fp, sift_err *err)
{
    return sift_sq_add_failed((sift_sq *)st, path, reason, raw, len, fp, err);
}

static int
a_add_failed_file(sift_store *st, const char *path, const char *reason, FILE *f,
                  uint64_t len, sift_hash128 hash, const sift_hash128 *fp,
                  sift_err *err)
{
    return sift_sq_add_failed_file((sift_sq *)st, path, reason, f, len, hash,
                                   fp, err);
}

static int
a_resolve_failed(sift_store *st, const char *path, sift_hash128 fp,
                 uint64_t *resolved, sift_err *err)
{
    return sift_sq_resolve_failed((sift_sq *)st, path, fp, resolved, err);
}

static int
a_stats(sift_store *st, sift_stats *out, sift_err *err)
{
    return sift_sq_stats((sift_sq *)st, out, err);
}

static int
a_prune(sift_store *st, uint64_t *deleted, uint64_t *failed, int64_t before,
        sift_err *err)
{
    return sift_sq_prune((sift_sq *)st, deleted, failed, before, err);
}

static int
a_list_failed(sift_store *st,
              int (*cb)(void *payload, const sift_failed_info *f),
              void *payload, sift_err *err)
{
    return sift_sq_list_failed((sift_sq *)st, cb, payload, err);
}

static int
a_forget_all_failed(sift_store *st, uint64_t *n, sift_err *err)
{
    return sift_sq_forget_all_failed((sift_sq *)st, n, err);
}

static int
a_next_failed(sift_store *st, int64_t after, sift_failed_cb cb, void *payload,
              sift_err *err)
{
    return sift_sq_next_failed((sift_sq *)st, after, cb, payload, err);
}

static int
a_delete_failed(sift_store *st, int64_t id, sift_err *err)
{
    return sift_sq_delete_failed((sift_sq *)st, id, err);
}

static int
a_imap_mailbox(sift_store *st, int64_t *id, const char *server,
               const char *user, const char *mailbox, uint32_t uidvalidity,
               sift_err *err)
{
    return sift_sq_imap_mailbox((sift_sq *)st, id, server, user, mailbox,
                                uidvalidity, err);
}

static int
a_imap_each_settled(sift_store *st, int64_t mailbox, sift_uid_cb cb,
                    void *payload, sift_err *err)
{
    return sift_sq_imap_each_settled((sift_sq *)st, mailbox, cb, payload, err);
}

static int
a_imap_settle(sift_store *st, int64_t mailbox, const uint32_t *uids,
              const unsigned char *failed, size_t n, sift_err *err)
{
    return sift_sq_imap_settle((sift_sq *)st, mailbox, uids, failed, n, err);
}

static int
a_imap_forget(sift_store *st, int64_t mailbox, const uint32_t *uids, size_t n,
              sift_err *err)
{
    return sift_sq_imap_forget((sift_sq *)st, mailbox, uids, n, err);
}

static int
a_query(sift_store *st, const char *sql, const sift_param *params, int n,
        sift_row_cb cb, void *payload, sift_err *err)
{
    return sift_sq_query((sift_sq *)st, sql, params, n, cb, payload, err);
}

static int
a_eval_version(sift_store *st, int *version, sift_err *err)
{
    return sift_sq_eval_version((sift_sq *)st, version, err);
}

static int
a_set_eval_version(sift_store *st, int version, sift_err *err)
{
    return sift_sq_set_eval_version((sift_sq *)st, version, err);
}

static int
a_count_records(sift_store *st, uint64_t *n, sift_err *err)
{
    return sift_sq_count_records((sift_sq *)st, n, err);
}

static int
a_rewrite_verdicts(sift_store *st, int64_t after, unsigned limit, int64_t *last,
                   unsigned *done, sift_verdict_fn fn, void *payload,
                   sift_err *err)
{
    return sift_sq_rewrite_verdicts((sift_sq *)st, after, limit, last, done, fn,
                                    payload, err);
}

static int
a_read_reports(sift_store *st, const sift_store_filter *f,
               sift_report_row_cb cb, void *payload, sift_err *err)
{
    return sift_sq_read_reports((sift_sq *)st, f, cb, payload, err);
}

static int
a_read_reasons(sift_store *st, sift_reason_row_cb cb, void *payload,
               sift_err *err)
{
    return sift_sq_read_reasons((sift_sq *)st, cb, payload, err);
}

static int
a_scan_records(sift_store *st, int parts, sift_scan_cb cb,
               void *const *payloads, int *used, sift_err *err)
{
    return sift_sq_scan_records((sift_sq *)st, parts, cb, payloads, used, err);
}

static int
a_top_sources(sift_store *st, const int64_t *ids, size_t n, uint64_t limit,
              sift_top_pair_cb pair, sift_domain_sources_cb domain,
              void *payload, sift_err *err)
{
    return sift_sq_top_sources((sift_sq *)st, ids, n, limit, pair, domain,
                               payload, err);
}

static int
a_record_verdict(sift_store *st, int64_t id, sift_verdict_row_cb cb,
                 void *payload, sift_err *err)
{
    return sift_sq_record_verdict((sift_sq *)st, id, cb, payload, err);
}

static int
a_read_policies(sift_store *st, const sift_store_filter *f,
                sift_policy_row_cb cb, void *payload, sift_err *err)
{
    return sift_sq_read_policies((sift_sq *)st, f, cb, payload, err);
}

static int
a_export_records(sift_store *st, const sift_store_filter *f, sift_export_cb cb,
                 void *payload, sift_err *err)
{
    return sift_sq_export_records((sift_sq *)st, f, cb, payload, err);
}

static const char *
a_path(sift_store *st)
{
    return sift_sq_path((sift_sq *)st);
}

static int
a_is_readonly(sift_store *st)
{
    return sift_sq_is_readonly((sift_sq *)st);
}

const sift_store_ops sift_sq__ops = {
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
    .dns_ptr_todo = sift_sq_dns_ptr_todo,
    .dns_ptr_put = sift_sq_dns_ptr_put,
    .dns_ptr_each = sift_sq_dns_ptr_each,
    .dns_ptr_count = sift_sq_dns_ptr_count,
    .dns_domains_todo = sift_sq_dns_domains_todo,
    .dns_selectors = sift_sq_dns_selectors,
    .dns_published_put = sift_sq_dns_published_put,
    .dns_published_each = sift_sq_dns_published_each,
    .dns_dkim_each = sift_sq_dns_dkim_each,
};
