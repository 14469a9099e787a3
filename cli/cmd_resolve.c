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

int
resolve_sources(sift_store *st, const struct opts *o)
{
    struct todo t = {0};
    struct run *r = NULL;
    sift_dns *d = NULL;
    sift_dns_opts dopt;
    sift_dns_counts c;
    struct timespec t0;
    sift_err err;
    uint64_t cached = 0, expired = 0;
    int rc, ex = EX_OK;
    size_t i;

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
        rc = sift_store_dns_ptr_count(st, r->now, &cached, &expired, &err);
    if (rc != SIFT_OK) {
        if (rc == SIFT_ENOMEM)
            sift_err_set(&err, SIFT_ENOMEM, "out of memory");
        die_err(&err);
        ex = EX_IOERR;
        goto done;
    }
    if (t.n == 0) {
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
    r->total = t.n;
    r->progress = !o->quiet && isatty(2);
    r->last = t0;
    rc = sift_dns_ptr_batch(d, (const char *const *)t.ip, t.n, on_ptr, r, &err);
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
        fprintf(stderr, "%s: DNS: %s: source names not looked up\n", progname,
                err.msg);
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
                r->confirmed, r->unconfirmed, r->noname, r->failed, c.queries,
                s > 0 ? (double)c.queries / s : 0.0);
    }
done:
    sift_dns_end(d);
    for (i = 0; i < t.n; i++)
        free(t.ip[i]);
    free(t.ip);
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
