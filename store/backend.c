/* backend.c -- the public sift_store_* calls: open picks the backend by
 * the path (a postgresql:// or postgres:// URI: PostgreSQL, else a SQLite
 * file); every other call goes through the handle's ops table. */
#include "store_int.h"
#include "sqlite_int.h"
#include "pg_int.h"

#include <stdlib.h>
#include <string.h>

int
sift_store__is_pg(const char *path)
{
    return path != NULL && (strncmp(path, "postgresql://", 13) == 0 ||
                            strncmp(path, "postgres://", 11) == 0);
}

char *
sift_store_display_name(const char *uri)
{
    const char *scheme = strstr(uri, "://"), *auth, *at, *colon, *p;
    size_t n = strlen(uri);
    char *out, *o;

    if ((out = malloc(n + 1)) == NULL)
        return NULL;
    if (scheme == NULL) {
        memcpy(out, uri, n + 1);
        return out;
    }
    auth = scheme + 3;
    at = auth + strcspn(auth, "@/?");
    colon = memchr(auth, ':', (size_t)(at - auth));
    o = out;
    if (*at == '@' && colon != NULL) {
        memcpy(o, uri, (size_t)(colon - uri));
        o += colon - uri;
        p = at;
    } else {
        p = uri;
    }
    /* copy the rest, leaving out password=... parameters */
    while (*p) {
        if ((*p == '?' || *p == '&') && strncmp(p + 1, "password=", 9) == 0) {
            const char *e = p + 1 + strcspn(p + 1, "&");
            if (*p == '?' && *e == '&') {
                *o++ = '?';
                p = e + 1;
            } else {
                p = e;
            }
            continue;
        }
        *o++ = *p++;
    }
    *o = '\0';
    return out;
}

int
sift_store_is_uri(const char *path)
{
    return sift_store__is_pg(path);
}

int
sift_store_open(sift_store **out, const char *path, unsigned flags,
                sift_err *err)
{
    int rc;

    *out = NULL;
    if (sift_store__is_pg(path)) {
        sift_pg *pg = NULL;
        rc = sift_pg_open(&pg, path, flags, err);
        if (rc == SIFT_OK)
            *out = &pg->base;
    } else {
        sift_sq *sq = NULL;
        rc = sift_sq_open(&sq, path, flags, err);
        if (rc == SIFT_OK)
            *out = &sq->base;
    }
    return rc;
}

int
sift_store__open_at(sift_store **out, const char *path, int version,
                    sift_err *err)
{
    sift_sq *sq = NULL;
    int rc = sift_sq__open_at(&sq, path, version, err);

    *out = rc == SIFT_OK ? &sq->base : NULL;
    return rc;
}

struct sqlite3 *
sift_store__db(sift_store *st)
{
    return st->ops == &sift_sq__ops ? ((sift_sq *)st)->db : NULL;
}

struct each_ctx {
    sift_failed_cb cb;
    void *payload;
    int64_t last;
};

static int
each_one(void *payload, int64_t id, const char *path, const char *reason,
         const void *raw, size_t len)
{
    struct each_ctx *c = payload;

    c->last = id;
    return c->cb(c->payload, id, path, reason, raw, len);
}

int
sift_store_each_failed(sift_store *st, sift_failed_cb cb, void *payload,
                       sift_err *err)
{
    struct each_ctx c = {cb, payload, 0};
    int rc;

    while ((rc = sift_store_next_failed(st, c.last, each_one, &c, err)) ==
           SIFT_OK)
        ;
    return rc == SIFT_ITEROVER ? SIFT_OK : rc;
}

void
sift_store_close(sift_store *st)
{
    if (st != NULL)
        st->ops->close(st);
}

int
sift_store_set_busy_timeout(sift_store *st, int ms, sift_err *err)
{
    return st->ops->set_busy_timeout(st, ms, err);
}

int
sift_store_begin(sift_store *st, sift_stored *dup, const sift_report_meta *meta,
                 const char *input_path, sift_err *err)
{
    return st->ops->begin(st, dup, meta, input_path, err);
}

int
sift_store_add(sift_store *st, const sift_record *rec, const sift_verdict *v,
               sift_err *err)
{
    return st->ops->add(st, rec, v, err);
}

int
sift_store_commit(sift_store *st, const sift_report_meta *meta,
                  sift_hash128 content_hash, sift_err *err)
{
    return st->ops->commit(st, meta, content_hash, err);
}

void
sift_store_rollback(sift_store *st)
{
    st->ops->rollback(st);
}

int
sift_store_flush(sift_store *st, sift_err *err)
{
    return st->ops->flush(st, err);
}

uint64_t
sift_store_commits(const sift_store *st)
{
    return st->ops->commits((sift_store *)st);
}

int
sift_store_hold(sift_store *st, int on, sift_err *err)
{
    return st->ops->hold(st, on, err);
}

int
sift_store_held(const sift_store *st)
{
    return st->ops->held((sift_store *)st);
}

int
sift_store_lookup(sift_store *st, sift_stored *out,
                  const sift_report_meta *meta, sift_err *err)
{
    return st->ops->lookup(st, out, meta, err);
}

int
sift_store_adopt_hash(sift_store *st, const sift_report_meta *meta,
                      sift_hash128 hash, sift_err *err)
{
    return st->ops->adopt_hash(st, meta, hash, err);
}

int
sift_store_seen(sift_store *st, int *conflict, sift_hash128 fp, uint64_t len,
                sift_err *err)
{
    return st->ops->seen(st, conflict, fp, len, err);
}

/* The ops' ask: fp NULL asks nothing of the bytes, meta NULL nothing
 * of the report. */
int
sift_store_ask_seen(sift_store *st, sift_hash128 fp, uint64_t len,
                    sift_err *err)
{
    return st->ops->ask(st, &fp, len, NULL, err);
}

int
sift_store_ask_lookup(sift_store *st, const sift_report_meta *meta,
                      sift_err *err)
{
    return st->ops->ask(st, NULL, 0, meta, err);
}

int
sift_store_ask_input(sift_store *st, sift_hash128 fp, uint64_t len,
                     const sift_report_meta *meta, sift_err *err)
{
    return st->ops->ask(st, &fp, len, meta, err);
}

int
sift_store_answered(sift_store *st)
{
    return st->ops->answered(st);
}

int
sift_store_answer(sift_store *st, sift_answer *out, sift_err *err)
{
    memset(out, 0, sizeof(*out));
    return st->ops->answer(st, out, err);
}

int
sift_store_remote(const sift_store *st)
{
    return st->remote;
}

int
sift_store_note_seen(sift_store *st, sift_hash128 fp, uint64_t len,
                     const sift_report_meta *meta, int conflict, sift_err *err)
{
    return st->ops->note_seen(st, fp, len, meta, conflict, err);
}

int
sift_store_note_conflict(sift_store *st, const sift_report_meta *meta,
                         const char *input_path, sift_hash128 content_hash,
                         sift_err *err)
{
    return st->ops->note_conflict(st, meta, input_path, content_hash, err);
}

int
sift_store_add_failed(sift_store *st, const char *path, const char *reason,
                      const void *raw, size_t len, const sift_hash128 *fp,
                      sift_err *err)
{
    return st->ops->add_failed(st, path, reason, raw, len, fp, err);
}

int
sift_store_add_failed_file(sift_store *st, const char *path, const char *reason,
                           FILE *f, uint64_t len, sift_hash128 hash,
                           const sift_hash128 *fp, sift_err *err)
{
    return st->ops->add_failed_file(st, path, reason, f, len, hash, fp, err);
}

int
sift_store_resolve_failed(sift_store *st, const char *path, sift_hash128 fp,
                          uint64_t *resolved, sift_err *err)
{
    return st->ops->resolve_failed(st, path, fp, resolved, err);
}

int
sift_store_stats(sift_stats *out, sift_store *st, sift_err *err)
{
    return st->ops->stats(st, out, err);
}

int
sift_store_prune(uint64_t *deleted, uint64_t *failed, sift_store *st,
                 int64_t before, sift_err *err)
{
    return st->ops->prune(st, deleted, failed, before, err);
}

int
sift_store_list_failed(sift_store *st,
                       int (*cb)(void *payload, const sift_failed_info *f),
                       void *payload, sift_err *err)
{
    return st->ops->list_failed(st, cb, payload, err);
}

int
sift_store_forget_all_failed(sift_store *st, uint64_t *n, sift_err *err)
{
    return st->ops->forget_all_failed(st, n, err);
}

int
sift_store_next_failed(sift_store *st, int64_t after, sift_failed_cb cb,
                       void *payload, sift_err *err)
{
    return st->ops->next_failed(st, after, cb, payload, err);
}

int
sift_store_delete_failed(sift_store *st, int64_t id, sift_err *err)
{
    return st->ops->delete_failed(st, id, err);
}

int
sift_store_imap_mailbox(sift_store *st, int64_t *id, const char *server,
                        const char *user, const char *mailbox,
                        uint32_t uidvalidity, sift_err *err)
{
    return st->ops->imap_mailbox(st, id, server, user, mailbox, uidvalidity,
                                 err);
}

int
sift_store_imap_each_settled(sift_store *st, int64_t mailbox, sift_uid_cb cb,
                             void *payload, sift_err *err)
{
    return st->ops->imap_each_settled(st, mailbox, cb, payload, err);
}

int
sift_store_imap_settle(sift_store *st, int64_t mailbox, const uint32_t *uids,
                       const unsigned char *failed, size_t n, sift_err *err)
{
    return st->ops->imap_settle(st, mailbox, uids, failed, n, err);
}

int
sift_store_imap_forget(sift_store *st, int64_t mailbox, const uint32_t *uids,
                       size_t n, sift_err *err)
{
    return st->ops->imap_forget(st, mailbox, uids, n, err);
}

int
sift_store_query(sift_store *st, const char *sql, const sift_param *params,
                 int n, sift_row_cb cb, void *payload, sift_err *err)
{
    return st->ops->query(st, sql, params, n, cb, payload, err);
}

void
sift_store_set_eval_stamp(sift_store *st, int version)
{
    st->eval_stamp = version;
}

int
sift_store_eval_versions(sift_store *st, const sift_store_filter *f,
                         sift_eval_version_cb cb, void *payload, sift_err *err)
{
    return st->ops->eval_versions(st, f, cb, payload, err);
}

int
sift_store_count_records(uint64_t *n, sift_store *st, sift_err *err)
{
    return st->ops->count_records(st, n, err);
}

int
sift_store_rewrite_verdicts(sift_store *st, int version, int redo,
                            int64_t after, unsigned limit, int64_t *last,
                            unsigned *done, sift_verdict_fn fn, void *payload,
                            sift_err *err)
{
    if (limit == 0) {
        *last = after;
        *done = 0;
        return sift_err_set(err, SIFT_EUSAGE,
                            "reevaluate: a batch needs at least 1 record");
    }
    return st->ops->rewrite_verdicts(st, version, redo, after, limit, last,
                                     done, fn, payload, err);
}

int
sift_store_read_reports(sift_store *st, const sift_store_filter *f,
                        sift_report_row_cb cb, void *payload, sift_err *err)
{
    return st->ops->read_reports(st, f, cb, payload, err);
}

int
sift_store_read_reasons(sift_store *st, sift_reason_row_cb cb, void *payload,
                        sift_err *err)
{
    return st->ops->read_reasons(st, cb, payload, err);
}

int
sift_store_scan_records(sift_store *st, int parts, sift_scan_cb cb,
                        void *const *payloads, int *used, sift_err *err)
{
    return st->ops->scan_records(st, parts, cb, payloads, used, err);
}

int
sift_store_top_sources(sift_store *st, const int64_t *ids, size_t n,
                       uint64_t limit, sift_top_pair_cb pair,
                       sift_domain_sources_cb domain, void *payload,
                       sift_err *err)
{
    return st->ops->top_sources(st, ids, n, limit, pair, domain, payload, err);
}

int
sift_store_record_verdict(sift_store *st, int64_t id, sift_verdict_row_cb cb,
                          void *payload, sift_err *err)
{
    return st->ops->record_verdict(st, id, cb, payload, err);
}

int
sift_store_read_policies(sift_store *st, const sift_store_filter *f,
                         sift_policy_row_cb cb, void *payload, sift_err *err)
{
    return st->ops->read_policies(st, f, cb, payload, err);
}

int
sift_store_export_records(sift_store *st, const sift_store_filter *f,
                          sift_export_cb cb, void *payload, sift_err *err)
{
    return st->ops->export_records(st, f, cb, payload, err);
}

const char *
sift_store_path(const sift_store *st)
{
    return st->ops->path((sift_store *)st);
}

int
sift_store_is_readonly(const sift_store *st)
{
    return st->ops->is_readonly((sift_store *)st);
}

int
sift_store_report_spans(sift_store *st, sift_span_cb cb, void *payload,
                        sift_err *err)
{
    return st->ops->report_spans(st, cb, payload, err);
}

/* --- the DNS cache ------------------------------------------------------ */

int
sift_store_dns_ptr_todo(sift_store *st, int64_t now,
                        int (*cb)(void *payload, const char *ip), void *payload,
                        sift_err *err)
{
    return st->ops->dns_ptr_todo(st, now, cb, payload, err);
}

int
sift_store_dns_ptr_put(sift_store *st, const sift_ptr_row *rows, size_t n,
                       sift_err *err)
{
    return st->ops->dns_ptr_put(st, rows, n, err);
}

int
sift_store_dns_ptr_each(sift_store *st,
                        int (*cb)(void *payload, const sift_ptr_row *r),
                        void *payload, sift_err *err)
{
    return st->ops->dns_ptr_each(st, cb, payload, err);
}

int
sift_store_dns_ptr_count(sift_store *st, int64_t now, uint64_t *total,
                         uint64_t *expired, sift_err *err)
{
    return st->ops->dns_ptr_count(st, now, total, expired, err);
}

int
sift_store_dns_domains_todo(sift_store *st, int64_t now,
                            int (*cb)(void *payload, const char *domain),
                            void *payload, sift_err *err)
{
    return st->ops->dns_domains_todo(st, now, cb, payload, err);
}

/* sift_store_dns_selectors_many: the backend streams every distinct
 * (d=, selector) in order, and each d= and the names above it are looked
 * up among the domains, sorted. */
typedef struct sel_dom {
    const char *name;
    size_t i;
} sel_dom;

typedef struct sel_match {
    sel_dom *dom; /* the non-empty domains, by name then index */
    size_t n;
    unsigned *count, max;
    int (*cb)(void *payload, size_t i, const char *d, const char *selector);
    void *payload;
} sel_match;

static int
sel_dom_cmp(const void *a, const void *b)
{
    const sel_dom *x = a, *y = b;
    int c = strcmp(x->name, y->name);

    return c ? c : (x->i > y->i) - (x->i < y->i);
}

static int
sel_pair(void *payload, const char *d, const char *selector)
{
    sel_match *m = payload;
    const char *s = d;
    size_t lo, hi, mid;
    int r;

    for (;;) {
        /* the first domain named s */
        for (lo = 0, hi = m->n; lo < hi;) {
            mid = lo + (hi - lo) / 2;
            if (strcmp(m->dom[mid].name, s) < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        for (; lo < m->n && strcmp(m->dom[lo].name, s) == 0; lo++) {
            size_t i = m->dom[lo].i;
            if (m->count[i] < m->max) {
                m->count[i]++;
                if ((r = m->cb(m->payload, i, d, selector)) != 0)
                    return r;
            }
        }
        if ((s = strchr(s, '.')) == NULL)
            return 0;
        s++;
    }
}

int
sift_store_dns_selectors_many(sift_store *st, const char *const *domains,
                              size_t n, unsigned max,
                              int (*cb)(void *payload, size_t i, const char *d,
                                        const char *selector),
                              void *payload, sift_err *err)
{
    sel_match m = {NULL, 0, NULL, max, cb, payload};
    size_t i;
    int rc = SIFT_OK;

    if (n == 0 || max == 0)
        return SIFT_OK;
    m.dom = malloc(n * sizeof(*m.dom));
    m.count = calloc(n, sizeof(*m.count));
    if (m.dom == NULL || m.count == NULL) {
        rc = sift_err_set(err, SIFT_ENOMEM, "out of memory");
        goto out;
    }
    for (i = 0; i < n; i++)
        if (domains[i] != NULL && domains[i][0] != '\0') {
            m.dom[m.n].name = domains[i];
            m.dom[m.n++].i = i;
        }
    if (m.n == 0)
        goto out;
    qsort(m.dom, m.n, sizeof(*m.dom), sel_dom_cmp);
    rc = st->ops->dns_dkim_pairs(st, sel_pair, &m, err);
out:
    free(m.dom);
    free(m.count);
    return rc;
}

typedef struct sel_one {
    int (*cb)(void *payload, const char *d, const char *selector);
    void *payload;
} sel_one;

static int
sel_one_cb(void *payload, size_t i, const char *d, const char *selector)
{
    sel_one *o = payload;

    (void)i;
    return o->cb(o->payload, d, selector);
}

int
sift_store_dns_selectors(sift_store *st, const char *domain, unsigned max,
                         int (*cb)(void *payload, const char *d,
                                   const char *selector),
                         void *payload, sift_err *err)
{
    sel_one o = {cb, payload};

    return sift_store_dns_selectors_many(st, &domain, 1, max, sel_one_cb, &o,
                                         err);
}

int
sift_store_dns_published_put(sift_store *st, const sift_published_row *p,
                             const sift_dkim_row *k, size_t n, sift_err *err)
{
    return st->ops->dns_published_put(st, p, k, n, err);
}

int
sift_store_dns_published_each(sift_store *st,
                              int (*cb)(void *payload,
                                        const sift_published_row *p),
                              void *payload, sift_err *err)
{
    return st->ops->dns_published_each(st, cb, payload, err);
}

int
sift_store_dns_dkim_each(sift_store *st, const char *domain,
                         int (*cb)(void *payload, const sift_dkim_row *k),
                         void *payload, sift_err *err)
{
    return st->ops->dns_dkim_each(st, domain, cb, payload, err);
}
