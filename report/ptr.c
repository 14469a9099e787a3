/* ptr.c -- the cached source names (store/dns_cache.c) for report and
 * export: read once into a sorted array, looked up by address. The
 * organisational domain of a confirmed name is computed here (PSL). */
#include "report_int.h"

#include <stdlib.h>
#include <string.h>

struct loader {
    sift_report_ptrs *m;
    sift_eval *ev;
};

static int
add(void *payload, const sift_ptr_row *r)
{
    struct loader *l = payload;
    sift_report_ptrs *m = l->m;
    sift_report_ptr *e;
    char org[256];

    if (r->ip == NULL || r->name == NULL)
        return 0; /* no name: nothing to show */
    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 256;
        sift_report_ptr *v = realloc(m->v, cap * sizeof(*v));
        if (v == NULL)
            return SIFT_ENOMEM;
        m->v = v;
        m->cap = cap;
    }
    e = &m->v[m->n];
    memset(e, 0, sizeof(*e));
    e->confirmed = r->confirmed != 0;
    if ((e->ip = strdup(r->ip)) == NULL || (e->name = strdup(r->name)) == NULL)
        goto oom;
    if (e->confirmed && l->ev != NULL &&
        sift_eval_org_domain(l->ev, r->name, org, sizeof(org)) != NULL &&
        (e->org = strdup(org)) == NULL)
        goto oom;
    m->n++;
    return 0;
oom:
    free(e->ip);
    free(e->name);
    return SIFT_ENOMEM;
}

int
sift_report__ptrs_load(sift_report_ptrs *m, sift_store *st, sift_err *err)
{
    struct loader l;
    sift_err e2;
    int rc;

    memset(m, 0, sizeof(*m));
    l.m = m;
    l.ev = NULL;
    sift_err_clear(&e2);
    if (sift_eval_new(&l.ev, &e2) != SIFT_OK) /* no org domains then */
        l.ev = NULL;
    rc = sift_store_dns_ptr_each(st, add, &l, err);
    sift_eval_free(l.ev);
    if (rc == SIFT_ENOMEM)
        return sift_err_set(err, SIFT_ENOMEM, "out of memory");
    return rc;
}

static int
cmp(const void *k, const void *e)
{
    return strcmp(k, ((const sift_report_ptr *)e)->ip);
}

const sift_report_ptr *
sift_report__ptr_find(const sift_report_ptrs *m, const char *ip)
{
    if (ip == NULL || m->n == 0)
        return NULL;
    /* rows come in address order (strcmp order: SQLite's BINARY) */
    return bsearch(ip, m->v, m->n, sizeof(*m->v), cmp);
}

void
sift_report__ptrs_free(sift_report_ptrs *m)
{
    size_t i;

    for (i = 0; i < m->n; i++) {
        free(m->v[i].ip);
        free(m->v[i].name);
        free(m->v[i].org);
    }
    free(m->v);
    memset(m, 0, sizeof(*m));
}
