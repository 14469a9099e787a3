/* cmd_resolve.c -- resolve: the names of the stored source addresses,
 * looked up in one parallel pass and cached in the database (dns/,
 * store/dns_cache.c; docs/dns.md). Also ingest/report --dns. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "sift_dns.h"

static const char usage_resolve[] =
    "usage: dmarcsift [--db PATH] resolve [--dns-server ADDR[:PORT]]...\n"
    "                 [--dns-timeout MS] [--quiet]\n"
    "\n"
    "Look up the name (PTR, confirmed by the name's A/AAAA) of every stored\n"
    "source address that is not cached or whose cached answer expired, many\n"
    "at a time, and cache the answers in the database. report and export\n"
    "show the cached names; they never look anything up themselves unless\n"
    "given --dns.\n"
    "\n"
    "options:\n" DNS_HELP
    "  -q, --quiet               no progress line and no summary\n";

#define PUT_BATCH 512

struct todo {
    char **ip;
    size_t n, cap;
};

static int
todo_add(void *payload, const char *ip)
{
    struct todo *t = payload;

    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 1024;
        char **v = realloc(t->ip, cap * sizeof(*v));
        if (v == NULL)
            return SIFT_ENOMEM;
        t->ip = v;
        t->cap = cap;
    }
    if ((t->ip[t->n] = strdup(ip)) == NULL)
        return SIFT_ENOMEM;
    t->n++;
    return 0;
}

struct run {
    sift_store *st;
    sift_err err;
    int64_t now;
    /* rows waiting to be written, with their strings */
    sift_ptr_row rows[PUT_BATCH];
    char names[PUT_BATCH][256];
    size_t n_rows;
    uint64_t done, total, confirmed, unconfirmed, noname, failed;
    int progress;
    struct timespec last;
};

static double
since(const struct timespec *t0)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) +
           (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

static int
flush_rows(struct run *r)
{
    int rc = sift_store_dns_ptr_put(r->st, r->rows, r->n_rows, &r->err);

    r->n_rows = 0;
    return rc;
}

static int
on_ptr(void *payload, const sift_dns_ptr *p)
{
    struct run *r = payload;

    r->done++;
    if (p->status == SIFT_DNS_OK && p->confirmed)
        r->confirmed++;
    else if (p->status == SIFT_DNS_OK)
        r->unconfirmed++;
    else if (sift_dns_status_final(p->status))
        r->noname++;
    else
        r->failed++;
    if (sift_dns_status_final(p->status)) {
        sift_ptr_row *row = &r->rows[r->n_rows];
        snprintf(r->names[r->n_rows], sizeof(r->names[0]), "%s", p->name);
        row->ip = p->ip;
        row->name = r->names[r->n_rows];
        row->confirmed = p->confirmed;
        row->status = sift_dns_status_name(p->status);
        row->ttl = p->ttl;
        row->looked_up = r->now;
        if (++r->n_rows == PUT_BATCH && flush_rows(r) != SIFT_OK)
            return r->err.code ? r->err.code : SIFT_EDB;
    }
    if (r->progress && since(&r->last) >= 0.25) {
        clock_gettime(CLOCK_MONOTONIC, &r->last);
        fprintf(stderr, "\rresolve: %" PRIu64 " of %" PRIu64 " addresses",
                r->done, r->total);
    }
    return 0;
}

/* --- what the policy domains publish ---------------------------------- */

#define DKIM_MAX 32 /* DKIM keys checked per policy domain */

struct sels {
    char *d[DKIM_MAX], *s[DKIM_MAX];
    size_t n;
};

/* payload: the domains' sels, selected by i */
static int
sel_add(void *payload, size_t i, const char *d, const char *sel)
{
    struct sels *x = (struct sels *)payload + i;

    if (x->n == DKIM_MAX)
        return 0;
    if ((x->d[x->n] = strdup(d)) == NULL)
        return SIFT_ENOMEM;
    if ((x->s[x->n] = strdup(sel)) == NULL) {
        free(x->d[x->n]);
        return SIFT_ENOMEM;
    }
    x->n++;
    return 0;
}

static void
sels_free(struct sels *x)
{
    size_t i;

    for (i = 0; i < x->n; i++) {
        free(x->d[i]);
        free(x->s[i]);
    }
    x->n = 0;
}

#define DOMAINS_AT_ONCE 64 /* domains whose lookups share each batch */

/* Store what one domain publishes (p) with its DKIM keys. */
static int
store_published(sift_store *st, const sift_dns_published *p, int64_t now,
                sift_err *err)
{
    sift_published_row row;
    sift_dkim_row kr[DKIM_MAX];
    size_t k;

    memset(&row, 0, sizeof(row));
    row.domain = p->domain;
    row.tree_at = p->tree.at;
    row.tree_record = p->tree.record;
    row.psl_at = p->psl.at;
    row.psl_record = p->psl.record;
    row.differ = p->dmarc_differ;
    row.spf_record = p->spf.record;
    row.spf_records = p->spf.records;
    row.spf_lookups = p->spf.lookups;
    row.spf_all = p->spf.all_pass;
    row.spf_includes = p->spf.includes;
    row.spf_error = p->spf.error;
    /* something unanswered: look again soon */
    row.ttl = p->dmarc_answered && p->spf_answered ? p->ttl
              : p->ttl < 300                       ? p->ttl
                                                   : 300;
    row.looked_up = now;
    for (k = 0; k < p->n_dkim && k < DKIM_MAX; k++) {
        kr[k].domain = p->dkim[k].domain;
        kr[k].selector = p->dkim[k].selector;
        kr[k].status = sift_dns_status_name(p->dkim[k].status);
        kr[k].present = p->dkim[k].present;
        kr[k].key_type = p->dkim[k].type;
        kr[k].key_bits = p->dkim[k].bits;
        kr[k].ttl =
            sift_dns_status_final(p->dkim[k].status) ? p->dkim[k].ttl : 0;
        kr[k].looked_up = now;
    }
    return sift_store_dns_published_put(st, &row, kr, k, err);
}

/* Look up and store what each domain publishes, DOMAINS_AT_ONCE at a
 * time, with the DKIM selectors the stored reports show for each (read
 * for all the domains in one pass first). SIFT_OK, SIFT_EIO (no answer;
 * err says which servers) or another error. *n_dkim counts the keys
 * checked. */
static int
published_pass(sift_store *st, sift_dns *d, const struct todo *dom, int64_t now,
               size_t *n_dkim, sift_err *err)
{
    sift_dns_domain_query q[DOMAINS_AT_ONCE];
    struct sels *x = calloc(dom->n ? dom->n : 1, sizeof(*x));
    char org[DOMAINS_AT_ONCE][256];
    sift_dns_published *p = calloc(DOMAINS_AT_ONCE, sizeof(*p));
    sift_eval *ev = NULL;
    sift_err e2;
    size_t first, i, n;
    int rc = SIFT_OK;

    if (p == NULL || x == NULL) {
        free(p);
        free(x);
        return sift_err_set(err, SIFT_ENOMEM, "out of memory");
    }
    sift_err_clear(&e2);
    if (sift_eval_new(&ev, &e2) != SIFT_OK)
        ev = NULL; /* the PSL's answer is then the domain's own */
    rc = sift_store_dns_selectors_many(st, (const char *const *)dom->ip, dom->n,
                                       DKIM_MAX, sel_add, x, err);
    if (rc == SIFT_ENOMEM)
        rc = sift_err_set(err, SIFT_ENOMEM, "out of memory");
    for (first = 0; first < dom->n && rc == SIFT_OK; first += n) {
        n = dom->n - first < DOMAINS_AT_ONCE ? dom->n - first : DOMAINS_AT_ONCE;
        for (i = 0; i < n; i++) {
            const char *name = dom->ip[first + i];
            memset(&q[i], 0, sizeof(q[i]));
            q[i].domain = name;
            q[i].org = name;
            if (ev != NULL &&
                sift_eval_org_domain(ev, name, org[i], sizeof(org[i])) != NULL)
                q[i].org = org[i];
            q[i].dkim_domains = (const char *const *)x[first + i].d;
            q[i].selectors = (const char *const *)x[first + i].s;
            q[i].n_dkim = x[first + i].n;
        }
        rc = sift_dns_published_lookup_many(d, p, q, n, err);
        for (i = 0; rc == SIFT_OK && i < n; i++) {
            *n_dkim += p[i].n_dkim;
            rc = store_published(st, &p[i], now, err);
        }
        for (i = 0; i < n; i++) /* free again after a failure: no-op */
            sift_dns_published_free(&p[i]);
    }
    for (i = 0; i < dom->n; i++)
        sels_free(&x[i]);
    sift_eval_free(ev);
    free(x);
    free(p);
    return rc;
}

static int
dom_add(void *payload, const char *d)
{
    return todo_add(payload, d);
}

static void
todo_free(struct todo *t)
{
    size_t i;

    for (i = 0; i < t->n; i++)
        free(t->ip[i]);
    free(t->ip);
}

int
resolve_sources(sift_store *st, const struct opts *o)
{
    struct todo t = {0}, dom = {0};
    struct run *r = NULL;
    sift_dns *d = NULL;
    sift_dns_opts dopt;
    sift_dns_counts c;
    struct timespec t0;
    sift_err err;
    uint64_t cached = 0, expired = 0;
    size_t n_dkim = 0;
    int rc, ex = EX_OK;

    sift_err_clear(&err);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if ((r = calloc(1, sizeof(*r))) == NULL) {
        fprintf(stderr, "%s: out of memory\n", progname);
        return EX_IOERR;
    }
    r->st = st;
    r->now = (int64_t)time(NULL);
    sift_err_clear(&r->err);
    rc = sift_store_dns_ptr_todo(st, r->now, todo_add, &t, &err);
    if (rc == SIFT_OK)
        rc = sift_store_dns_domains_todo(st, r->now, dom_add, &dom, &err);
    if (rc == SIFT_OK)
        rc = sift_store_dns_ptr_count(st, r->now, &cached, &expired, &err);
    if (rc != SIFT_OK) {
        if (rc == SIFT_ENOMEM)
            sift_err_set(&err, SIFT_ENOMEM, "out of memory");
        die_err(&err);
        ex = EX_IOERR;
        goto done;
    }
    if (t.n == 0 && dom.n == 0) {
        if (!o->quiet)
            fprintf(stderr,
                    "resolve: nothing to look up (%" PRIu64 " %s cached)\n",
                    cached, plural(cached, "address", "addresses"));
        goto done;
    }
    memset(&dopt, 0, sizeof(dopt));
    dopt.servers = o->dns_servers;
    dopt.nservers = o->n_dns_servers;
    dopt.timeout_ms = o->dns_timeout_ms;
    if ((rc = sift_dns_init(&d, &dopt, &err)) != SIFT_OK) {
        sift_err_where(&err, "DNS");
        die_err(&err);
        ex = rc == SIFT_EUSAGE ? EX_USAGE : EX_OK;
        goto done;
    }
    if (t.n > 0) {
        r->total = t.n;
        r->progress = !o->quiet && isatty(2);
        r->last = t0;
        rc = sift_dns_ptr_batch(d, (const char *const *)t.ip, t.n, on_ptr, r,
                                &err);
        if (r->progress)
            fputs("\r\033[K", stderr);
        if (rc == SIFT_OK || rc == SIFT_EIO) {
            int rc2 = flush_rows(r);
            if (rc2 != SIFT_OK) {
                die_err(&r->err);
                ex = EX_IOERR;
                goto done;
            }
        }
        if (rc == SIFT_EIO) {
            /* the servers do not answer: one line, and the run goes on */
            fprintf(stderr, "%s: DNS: %s: source names not looked up\n",
                    progname, err.msg);
            goto done;
        }
        if (rc != SIFT_OK) {
            die_err(r->err.code ? &r->err : &err);
            ex = EX_IOERR;
            goto done;
        }
        sift_dns_counts_get(d, &c);
        if (!o->quiet) {
            double s = since(&t0);
            fprintf(stderr,
                    "resolved %" PRIu64 " source %s in %.1f s: %" PRIu64
                    " confirmed, %" PRIu64 " unconfirmed, %" PRIu64
                    " without a name, %" PRIu64 " not answered (%" PRIu64
                    " queries, %.0f/s)\n",
                    r->done, plural(r->done, "address", "addresses"), s,
                    r->confirmed, r->unconfirmed, r->noname, r->failed,
                    c.queries, s > 0 ? (double)c.queries / s : 0.0);
        }
    }
    if (dom.n > 0) {
        rc = published_pass(st, d, &dom, r->now, &n_dkim, &err);
        if (rc == SIFT_EIO) {
            fprintf(stderr, "%s: DNS: %s: published records not looked up\n",
                    progname, err.msg);
            goto done;
        }
        if (rc != SIFT_OK) {
            die_err(&err);
            ex = EX_IOERR;
            goto done;
        }
        if (!o->quiet)
            fprintf(stderr,
                    "looked up what %zu policy %s (DMARC, SPF, %zu DKIM "
                    "%s)\n",
                    dom.n, plural(dom.n, "domain publishes", "domains publish"),
                    n_dkim, plural(n_dkim, "key", "keys"));
    }
done:
    sift_dns_end(d);
    todo_free(&t);
    todo_free(&dom);
    free(r);
    return ex;
}

int
cmd_resolve(struct opts *o, int argc, char **argv)
{
    sift_store *st = NULL;
    int first, ex;

    if ((ex = parse_opts(o, argc, argv, "db quiet dns-server dns-timeout",
                         usage_resolve, &first)))
        return ex;
    if (first < argc)
        return usage_error(usage_resolve, "unexpected argument '%s'",
                           argv[first]);
    if ((ex = open_store(&st, o, SIFT_STORE_EXISTING)) != EX_OK)
        return ex;
    ex = resolve_sources(st, o);
    sift_store_close(st);
    return ex;
}
