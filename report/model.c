/* model.c -- the summary model of `dmarcsift report`: one scan over the
 * stored verdicts, aggregated per (policy domain, source IP) with message
 * counts per primary category, then grouped into senders (services, own
 * servers, forwarders, unknown signers, unauthenticated sources) per
 * domain, worst first. The writers (render_*.c) only format it.
 *
 * C holds one row per (domain, source) and sorts it. Lists of domains per
 * source are capped (LIST_MAX shown, the total counted), so memory grows
 * with sources, never with records. */
#include "report_int.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "sift_json.h"
#include "sift_util.h"

/* The scan's callback result when a ctx holds --max-sources rows: the
 * scan stops and starts again, bounded (scan_records). Not a sift_code. */
#define OVER_CAP 1

/* What the ctxs of one scan share: rows made (a ctx and its upper half
 * count together), and whether any of them went past its cap. */
typedef struct scan_cap {
    atomic_size_t rows;
    atomic_int *over;
} scan_cap;

const char *const sift_report__exempt_types[N_EXEMPT] = {
    "forwarded", "local_policy", "mailing_list", "other", "trusted_forwarder"};
#define exempt_types sift_report__exempt_types

/* Exempting reasons of one record, as a bit per exempt_types[] entry. */
typedef struct rmask {
    int64_t record_id;
    unsigned mask;
} rmask;

_Static_assert(SIFT_FLAG_SPF_MISMATCH == 1 && SIFT_FLAG_DKIM_MISMATCH == 2 &&
                   SIFT_FLAG_DMARC_MISMATCH == 4,
               "the SQL below tests flags & 7");

/* --- small helpers shared with export.c ---------------------------------- */

void
sift_report__sfilter(sift_store_filter *out, const sift_filter *f)
{
    memset(out, 0, sizeof(*out));
    if (f == NULL)
        return;
    out->domains = f->domains;
    out->ndomains = f->ndomains;
    out->reporters = f->reporters;
    out->nreporters = f->nreporters;
    out->since = f->since;
    out->until = f->until;
    out->has_since = f->has_since;
    out->has_until = f->has_until;
}

void
sift_report__date(char *buf, size_t n, int64_t t, int full)
{
    sift_fmt_time(buf, n, t);
    if (!full && strlen(buf) == 20)
        buf[10] = '\0';
}

void
sift_report__csv(FILE *fp, const char *str)
{
    const unsigned char *s = (const unsigned char *)str, *p;
    char *buf = NULL;
    size_t len = 0, n;
    FILE *m;

    for (p = s; p != NULL && *p; p += n) {
        n = sift_utf8_len(p, SIZE_MAX);
        if (n == 0 || (*p < 0x20 && *p != '\t' && *p != '\r' && *p != '\n') ||
            *p == 0x7f || (n == 2 && p[0] == 0xc2 && p[1] < 0xa0) ||
            (n == 3 && sift_bidi_control(p, n)))
            break;
    }
    if (p == NULL || *p == '\0') { /* nothing to neutralise */
        sift_csv_cell(fp, str);
        return;
    }
    if ((m = open_memstream(&buf, &len)) == NULL) {
        sift_csv_cell(fp, "?");
        return;
    }
    for (p = s; *p; p += n) {
        n = sift_utf8_len(p, SIZE_MAX);
        if (n == 0 || (*p < 0x20 && *p != '\t' && *p != '\r' && *p != '\n') ||
            *p == 0x7f) {
            fprintf(m, "\\x%02x", *p);
            n = 1;
        } else if (n == 2 && p[0] == 0xc2 && p[1] < 0xa0) {
            fprintf(m, "\\x%02x", p[1]); /* C1 control, e.g. CSI */
        } else if (n == 3 && sift_bidi_control(p, n)) {
            fprintf(m, "\\u%04x", (unsigned)sift_bidi_control(p, n));
        } else {
            fwrite(p, 1, n, m);
        }
    }
    fclose(m);
    sift_csv_cell(fp, buf);
    free(buf);
}

void *
sift_report__grow(void *p, size_t *cap, size_t need, size_t size)
{
    size_t n = *cap ? *cap : 64;
    void *q;

    if (need <= *cap)
        return p;
    while (n < need)
        n *= 2;
    if ((q = realloc(p, n * size)) == NULL)
        return NULL;
    *cap = n;
    return q;
}

#define grow sift_report__grow

static int
oom(ctx *c)
{
    return sift_err_set(c->err, SIFT_ENOMEM, "out of memory");
}

/* strdup that fails the callback when memory runs out: dup NULL is fine */
#define DUP_OR_FAIL(dst, s)                                                    \
    do {                                                                       \
        const char *s_ = (s);                                                  \
        if (s_ != NULL && ((dst) = strdup(s_)) == NULL)                        \
            return oom(c);                                                     \
    } while (0)

static uint64_t
hash_str(const char *s, uint64_t seed)
{
    uint64_t h = sift_hash64w(SIFT_HASH64_INIT, s, strlen(s)) ^ seed;

    /* FNV's low bits are weak on short similar keys (IP addresses), and
     * the table uses the low bits: finish with murmur3's fmix64 */
    h ^= h >> 33;
    h *= UINT64_C(0xff51afd7ed558ccd);
    h ^= h >> 33;
    h *= UINT64_C(0xc4ceb9fe1a85ec53);
    h ^= h >> 33;
    return h;
}

/* Rebuild an open-addressing table of `size` slots (power of two). */
static uint32_t *
rehash(size_t size, size_t n, uint64_t (*h)(ctx *, size_t), ctx *c)
{
    uint32_t *t = calloc(size, sizeof(*t));
    size_t i, j;

    if (t == NULL)
        return NULL;
    for (i = 0; i < n; i++) {
        for (j = h(c, i) & (size - 1); t[j]; j = (j + 1) & (size - 1))
            ;
        t[j] = (uint32_t)(i + 1);
    }
    return t;
}

static uint64_t
atom_hash(ctx *c, size_t i)
{
    return hash_str(c->atoms[i].s, 0);
}

/* Index of the atom for s, added when new; -1 when out of memory. */
long
sift_report__intern(ctx *c, const char *s)
{
    size_t j, mask;
    uint32_t *t;

    if (c->atab_size == 0 || (c->n_atoms + 1) * 2 > c->atab_size) {
        size_t size = c->atab_size ? c->atab_size : 64;
        /* the history's table starts empty over the window's atoms */
        while ((c->n_atoms + 1) * 2 > size)
            size *= 2;
        if ((t = rehash(size, c->n_atoms, atom_hash, c)) == NULL)
            return -1;
        free(c->atab);
        c->atab = t;
        c->atab_size = size;
    }
    mask = c->atab_size - 1;
    for (j = hash_str(s, 0) & mask; c->atab[j]; j = (j + 1) & mask)
        if (strcmp(c->atoms[c->atab[j] - 1].s, s) == 0)
            return (long)c->atab[j] - 1;
    if ((c->atoms = grow(c->atoms, &c->cap_atoms, c->n_atoms + 1,
                         sizeof(*c->atoms))) == NULL)
        return -1;
    memset(&c->atoms[c->n_atoms], 0, sizeof(atom));
    if ((c->atoms[c->n_atoms].s = strdup(s)) == NULL)
        return -1;
    c->atab[j] = (uint32_t)(c->n_atoms + 1);
    return (long)c->n_atoms++;
}

#define intern sift_report__intern

static uint64_t
src_hash(ctx *c, size_t i)
{
    return hash_str(c->src[i].ip, (uint64_t)(uintptr_t)c->src[i].domain);
}

/* Row k of a bounded scan: c's own, or in an upper half its copy of the
 * lower's row k, made when first used (NULL: out of memory). */
static source *
row_at(ctx *c, size_t k)
{
    const source *h;
    source *s;

    if (c->map == NULL)
        return &c->src[k];
    if (c->map[k] != 0)
        return &c->src[c->map[k] - 1];
    if ((c->src = grow(c->src, &c->cap_src, c->n_src + 1, sizeof(*c->src))) ==
        NULL) {
        oom(c);
        return NULL;
    }
    h = &c->home->src[k];
    s = &c->src[c->n_src];
    memset(s, 0, sizeof(*s));
    s->domain = h->domain;
    s->ip = h->ip; /* borrowed */
    s->folded = h->folded;
    s->first = INT64_MAX;
    s->last = INT64_MIN;
    c->map[k] = (uint32_t)++c->n_src;
    return s;
}

/* The source (domain, ip), added when new; NULL with err set, or with
 * *over set past the cap (the scan stops: OVER_CAP). A bounded scan adds
 * none: a source without a row goes to its domain's other sources. */
static source *
find_source(ctx *c, const char *dname, const char *ip, int *over)
{
    size_t j, mask;
    uint32_t *t;
    source *s;

    if (c->bounded) { /* the rows are the home ctx's (c or the lower) */
        const ctx *h = c->home != NULL ? c->home : c;
        mask = h->stab_size - 1;
        for (j = hash_str(ip, (uint64_t)(uintptr_t)dname) & mask; h->stab[j];
             j = (j + 1) & mask) {
            const source *k = &h->src[h->stab[j] - 1];
            if (k->domain == dname && strcmp(k->ip, ip) == 0)
                return row_at(c, h->stab[j] - 1);
        }
        return NULL;
    }
    if (c->stab_size == 0 || (c->n_src + 1) * 2 > c->stab_size) {
        size_t size = c->stab_size ? c->stab_size * 2 : 1024;
        if ((t = rehash(size, c->n_src, src_hash, c)) == NULL) {
            oom(c);
            return NULL;
        }
        free(c->stab);
        c->stab = t;
        c->stab_size = size;
    }
    mask = c->stab_size - 1;
    for (j = hash_str(ip, (uint64_t)(uintptr_t)dname) & mask; c->stab[j];
         j = (j + 1) & mask) {
        s = &c->src[c->stab[j] - 1];
        if (s->domain == dname && strcmp(s->ip, ip) == 0)
            return s;
    }
    if (c->cap != NULL &&
        atomic_fetch_add_explicit(&c->cap->rows, 1, memory_order_relaxed) >=
            c->max_src) {
        atomic_store(c->cap->over, 1);
        *over = 1;
        return NULL;
    }
    if ((c->src = grow(c->src, &c->cap_src, c->n_src + 1, sizeof(*c->src))) ==
        NULL) {
        oom(c);
        return NULL;
    }
    s = &c->src[c->n_src];
    memset(s, 0, sizeof(*s));
    s->domain = dname;
    s->first = INT64_MAX;
    s->last = INT64_MIN;
    if ((s->ip = strdup(ip)) == NULL) {
        oom(c);
        return NULL;
    }
    c->stab[j] = (uint32_t)(++c->n_src);
    return s;
}

/* s from c's string pool (added when new); NULL when out of memory. The
 * sources hold the same few domains many times: one copy each. */
static const char *
pooled(ctx *c, const char *s)
{
    size_t j, mask;

    if ((c->n_pool + 1) * 2 > c->pool_size) {
        size_t size = c->pool_size ? c->pool_size * 2 : 256, i;
        char **t = calloc(size, sizeof(*t));

        if (t == NULL)
            return NULL;
        for (i = 0; i < c->pool_size; i++) {
            if (c->pool[i] == NULL)
                continue;
            for (j = hash_str(c->pool[i], 0) & (size - 1); t[j];
                 j = (j + 1) & (size - 1))
                ;
            t[j] = c->pool[i];
        }
        free(c->pool);
        c->pool = t;
        c->pool_size = size;
    }
    mask = c->pool_size - 1;
    for (j = hash_str(s, 0) & mask; c->pool[j]; j = (j + 1) & mask)
        if (strcmp(c->pool[j], s) == 0)
            return c->pool[j];
    if ((c->pool[j] = strdup(s)) == NULL)
        return NULL;
    c->n_pool++;
    return c->pool[j];
}

static void
pool_free(ctx *c)
{
    size_t i;

    for (i = 0; i < c->pool_size; i++)
        free(c->pool[i]);
    free(c->pool);
    c->pool = NULL;
    c->n_pool = c->pool_size = 0;
}

/* Add v to the list unless present (interned: v is an atom's string,
 * compared by pointer; else compared by value and pooled when new);
 * SIFT_ENOMEM on failure. */
static int
list_add(ctx *c, strlist *l, const char *v, int interned)
{
    uint32_t i;

    if (v == NULL || v[0] == '\0')
        return SIFT_OK;
    if (interned) {
        for (i = 0; i < l->total; i++)
            if (l->v[i] == v)
                return SIFT_OK;
    } else {
        for (i = l->total; i-- > 0;) /* newest first: runs repeat */
            if (strcmp(l->v[i], v) == 0)
                return SIFT_OK;
    }
    if (l->total == SET_CAP) {
        l->more = 1;
        return SIFT_OK;
    }
    if (l->total == l->cap) {
        uint32_t cap = l->cap ? l->cap * 2 : 2;
        const char **p = realloc(l->v, cap * sizeof(*p));
        if (p == NULL)
            return SIFT_ENOMEM;
        l->v = p;
        l->cap = cap;
    }
    if (!interned && (v = pooled(c, v)) == NULL)
        return SIFT_ENOMEM;
    l->v[l->total++] = v;
    return SIFT_OK;
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sort the list's values in place and show the LIST_MAX smallest. */
static void
show(strlist *l)
{
    if (l->total > 1)
        qsort(l->v, l->total, sizeof(*l->v), cmp_str);
    l->n = l->total < LIST_MAX ? l->total : LIST_MAX;
}

static void
example_free(example *e)
{
    free(e->ip);
    free(e->from);
    free(e->pe_dkim);
    free(e->pe_spf);
}

static void
cx_free(source *s)
{
    free(s->cx); /* its strings are pooled */
    s->cx = NULL;
    s->n_cx = 0;
}

/* x's identifiers, pooled. */
static int
dup3(ctx *c, catx *x, const char *from, const char *env, const char *dkim)
{
    if ((from && (from = pooled(c, from)) == NULL) ||
        (env && (env = pooled(c, env)) == NULL) ||
        (dkim && (dkim = pooled(c, dkim)) == NULL))
        return SIFT_ENOMEM;
    x->from = from;
    x->env = env;
    x->dkim = dkim;
    return SIFT_OK;
}

/* Count `count` messages of primary category cat at s; the biggest
 * record's identifiers are kept (ties: the first seen, in id order). */
static int
cx_add(ctx *c, source *s, unsigned cat, uint64_t count, const char *from,
       const char *env, const char *dkim)
{
    uint32_t i;
    catx *x;

    for (i = 0; i < s->n_cx; i++)
        if (s->cx[i].cat == cat)
            break;
    if (i == s->n_cx) {
        if ((x = realloc(s->cx, (s->n_cx + 1) * sizeof(*x))) == NULL)
            return SIFT_ENOMEM;
        s->cx = x;
        memset(&x[i], 0, sizeof(*x));
        x[i].cat = (uint8_t)cat;
        s->n_cx++;
    }
    x = &s->cx[i];
    x->messages = sift_sat_add(x->messages, count);
    if (x->messages == count || count > x->best) {
        x->best = count;
        return dup3(c, x, from, env, dkim);
    }
    return SIFT_OK;
}

/* Free c's sources (their ips and table unless borrowed). */
static void
sources_free(ctx *c)
{
    size_t i;

    for (i = 0; i < c->n_src; i++) {
        if (!c->borrowed)
            free(c->src[i].ip);
        free(c->src[i].from.v);
        free(c->src[i].env.v);
        free(c->src[i].dkim.v);
        free(c->src[i].reporters.v);
        cx_free(&c->src[i]);
        sift_report__series_free(&c->src[i].days);
    }
    free(c->src);
    if (!c->borrowed)
        free(c->stab);
    free(c->map);
    c->map = NULL;
    c->src = NULL;
    c->n_src = c->cap_src = 0;
    c->stab = NULL;
    c->stab_size = 0;
}

static void
ctx_free(ctx *c)
{
    size_t i, j;

    if (c->hist != NULL) {
        ctx_free(c->hist);
        free(c->hist);
    }
    sources_free(c);
    pool_free(c);
    for (i = 0; i < c->n_snd; i++)
        sift_report__series_free(&c->snd[i].days);
    free(c->snd);
    free(c->sord);
    for (i = 0; i < c->n_dom; i++) {
        domain *d = &c->dom[i];
        free(d->p);
        free(d->sp);
        free(d->np);
        free(d->testing);
        free(d->adkim);
        free(d->aspf);
        free(d->policy_org);
        free(d->silent);
        free(d->absent);
        for (j = 0; j < d->n_reasons; j++)
            free(d->reasons[j]);
        free(d->reasons);
        free(d->next_step);
    }
    free(c->dom);
    for (i = 0; i < c->n_atoms; i++) {
        if (i >= c->n_shared_atoms)
            free(c->atoms[i].s);
        example_free(&c->atoms[i].ex);
        sift_report__series_free(&c->atoms[i].days);
    }
    free(c->spans);
    free(c->atoms);
    free(c->atab);
    free(c->reps);
    free(c->rm);
    sift_report__ptrs_free(&c->ptrs);
    sift_report__pubs_free(&c->pubs);
    memset(c, 0, sizeof(*c));
}

void
sift_report__model_free(ctx *c)
{
    ctx_free(c);
}

static const char *
txt(const char *s)
{
    return s ? s : "";
}

/* --- queries ------------------------------------------------------------- */

/* The reports in the filter, by id: the scan below joins in C. */
static int
on_report(void *payload, const sift_report_row *row)
{
    ctx *c = payload;
    long dom, org;
    rep *r;

    if ((dom = intern(c, row->domain)) < 0 || (org = intern(c, row->org)) < 0)
        return oom(c);
    if ((c->reps = grow(c->reps, &c->cap_reps, c->n_reps + 1,
                        sizeof(*c->reps))) == NULL)
        return oom(c);
    r = &c->reps[c->n_reps++];
    r->id = row->id;
    r->dom = (uint32_t)dom;
    r->org = (uint32_t)org;
    r->begin = row->begin;
    r->end = row->end;
    if (r->begin < c->period_from)
        c->period_from = r->begin;
    if (r->end > c->period_to)
        c->period_to = r->end;
    return 0;
}

static const rep *
find_rep(ctx *c, int64_t id)
{
    size_t lo = 0, hi = c->n_reps;

    /* records come in row-id order: mostly the same report again */
    if (c->last_rep < c->n_reps && c->reps[c->last_rep].id == id)
        return &c->reps[c->last_rep];
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (c->reps[mid].id == id) {
            c->last_rep = mid;
            return &c->reps[mid];
        }
        if (c->reps[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* Exempting reasons, read once (a small table) so that the record scan
 * needs no join: kept as (record id, type bits) for records that have
 * any. Memory grows with the number of such reasons only. */
static int
on_reason(void *payload, int64_t id, const char *t, int arc_pass)
{
    ctx *c = payload;
    unsigned bit = 0;
    int i;

    if (t[0] == '\0' || strcmp(t, "sampled_out") == 0 ||
        strcmp(t, "policy_test_mode") == 0) {
        if (arc_pass) /* arc=pass in the comment */
            bit = 1u << EXEMPT_OTHER;
    } else {
        bit = 1u << EXEMPT_OTHER;
        for (i = 0; i < N_EXEMPT; i++)
            if (strcmp(t, exempt_types[i]) == 0)
                bit = 1u << i;
    }
    if (bit == 0)
        return 0;
    if (c->n_rm > 0 && c->rm[c->n_rm - 1].record_id == id) {
        c->rm[c->n_rm - 1].mask |= bit;
        return 0;
    }
    if ((c->rm = grow(c->rm, &c->cap_rm, c->n_rm + 1, sizeof(*c->rm))) == NULL)
        return oom(c);
    if (c->n_rm > 0 && c->rm[c->n_rm - 1].record_id > id)
        c->rm_sorted = 0;
    c->rm[c->n_rm].record_id = id;
    c->rm[c->n_rm].mask = bit;
    c->n_rm++;
    return 0;
}

static int
rm_order(const void *a, const void *b)
{
    const rmask *x = a, *y = b;
    return x->record_id < y->record_id ? -1 : x->record_id > y->record_id;
}

/* Sort and merge duplicates (a record's reasons out of order). */
static void
rm_finish(ctx *c)
{
    size_t i, j = 0;

    if (c->rm_sorted || c->n_rm < 2)
        return;
    qsort(c->rm, c->n_rm, sizeof(*c->rm), rm_order);
    for (i = 1; i < c->n_rm; i++) {
        if (c->rm[i].record_id == c->rm[j].record_id)
            c->rm[j].mask |= c->rm[i].mask;
        else
            c->rm[++j] = c->rm[i];
    }
    c->n_rm = j + 1;
}

static unsigned
rm_lookup(const ctx *c, int64_t id)
{
    size_t lo = 0, hi = c->n_rm;

    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (c->rm[mid].record_id == id)
            return c->rm[mid].mask;
        if (c->rm[mid].record_id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

/* One pass over the records (sift_store_scan_records), aggregated per
 * (policy domain, source ip) in a hash table. Only what every record
 * contributes is read: dmarc_fail and would_reject are derived from
 * outcome, and the inconsistency example's verdict columns are fetched
 * afterwards for the one record chosen per domain (fill_examples). */

/* 1 if the record in row should replace the example e. */
static int
better_example(const example *e, uint64_t count, int64_t begin, const char *org,
               int64_t id)
{
    int r;

    if (!e->has)
        return 1;
    if (count != e->count)
        return count > e->count;
    if (begin != e->begin)
        return begin < e->begin;
    if ((r = strcmp(org, e->org)) != 0)
        return r < 0;
    return id < e->rec_id;
}

/* 1 if `from` is a proper subdomain of the policy domain `d`. */
static int
is_sub(const char *from, const char *d)
{
    size_t lf, ld;

    if (from == NULL)
        return 0;
    lf = strlen(from);
    ld = strlen(d);
    return ld > 0 && lf > ld && from[lf - ld - 1] == '.' &&
           strcmp(from + lf - ld, d) == 0;
}

static int record_into(ctx *c, const rep *r, const sift_scan_row *row);

/* A record of a report in the window goes to c, one of a report before
 * it to the history (c->hist); others are skipped. */
static int
on_record(void *payload, const sift_scan_row *row)
{
    ctx *c = payload;
    const rep *r;

    if (c->cap != NULL &&
        atomic_load_explicit(c->cap->over, memory_order_relaxed))
        return OVER_CAP; /* another part went past the cap */
    r = find_rep(c, row->report);

    if (r != NULL)
        return record_into(c, r, row);
    if (c->hist != NULL && (r = find_rep(c->hist, row->report)) != NULL)
        return record_into(c->hist, r, row);
    return 0;
}

static int
record_into(ctx *c, const rep *r, const sift_scan_row *row)
{
    atom *da;
    uint64_t count;
    uint32_t flags;
    const char *env, *from;
    unsigned disp;
    source *s;
    int outcome, primary, over = 0;

    da = &c->atoms[r->dom];
    if ((s = find_source(c, da->s, txt(row->source_ip), &over)) == NULL) {
        if (over)
            return OVER_CAP;
        if (!c->bounded)
            return c->err ? c->err->code : SIFT_ENOMEM;
        if (da->other == 0) /* the records changed since they were counted */
            return sift_err_set(c->err, SIFT_EDB,
                                "the records changed during the report: "
                                "run it again");
        if ((s = row_at(c, da->other - 1)) == NULL)
            return SIFT_ENOMEM;
    }
    /* the stored 64-bit pattern of the reported unsigned value */
    count = row->count;
    outcome = row->outcome;
    flags = row->flags;
    /* primary category and disposition ride in the stored flags
     * (sift_stored_flags): no extra column to decode per record */
    primary = (int)((flags >> SIFT_SFLAG_PRIMARY_SHIFT) & 0xffu) - 1;
    disp = (flags >> SIFT_SFLAG_DISP_SHIFT) & 3u;
    flags &= 0x3ffu;
    s->messages = sift_sat_add(s->messages, count);
    if (outcome != SIFT_OUT_PASS) /* eval: dmarc_fail <=> not a pass */
        s->dmarc_fail = sift_sat_add(s->dmarc_fail, count);
    if (outcome == SIFT_OUT_WOULD_REJECT)
        s->would_reject = sift_sat_add(s->would_reject, count);
    if (outcome == SIFT_OUT_OVERRIDDEN) {
        unsigned m = rm_lookup(c, row->id);
        int i;

        s->overridden = sift_sat_add(s->overridden, count);
        for (i = 0; i < N_EXEMPT; i++)
            if (m & (1u << i))
                da->exempted[i] = sift_sat_add(da->exempted[i], count);
    } else if (outcome == SIFT_OUT_DNS_ERROR)
        s->dns_error = sift_sat_add(s->dns_error, count);
    if (outcome == SIFT_OUT_WOULD_REJECT && r->end > s->last_wr)
        s->last_wr = r->end;
    if (!c->series_off &&
        (sift_report__spread(&da->days, r->begin, r->end, count, outcome) ||
         (c->opts != NULL && c->opts->by &&
          sift_report__spread(&s->days, r->begin, r->end, count, outcome))))
        return oom(c);
    s->flags |= flags;
    s->cats |= row->categories;
    if (r->begin < s->first)
        s->first = r->begin;
    if (r->end > s->last)
        s->last = r->end;
    from = row->header_from;
    env = row->spf_domain; /* NULL: absent; "": null reverse-path */
    /* the other sources row names no domains: its lists would name a
     * few of many sources */
    if (!s->folded &&
        (list_add(c, &s->from, from, 0) ||
         list_add(c, &s->env, env == NULL || env[0] ? env : "<>", 0) ||
         list_add(c, &s->dkim, row->dkim_domain, 0) ||
         list_add(c, &s->reporters, c->atoms[r->org].s, 1)))
        return oom(c);
    /* a record stored before primary categories existed has none (-1):
     * `dmarcsift reevaluate` gives it one; until then it counts under
     * its outcome's broadest category */
    if (primary < 0 || primary >= SIFT_CAT__COUNT)
        primary = outcome == SIFT_OUT_PASS ? SIFT_CAT_PASS_DKIM_ALIGNED
                                           : SIFT_CAT_UNAUTHENTICATED;
    if (cx_add(c, s, (unsigned)primary, count, from, env, row->dkim_domain) !=
        SIFT_OK)
        return oom(c);
    if (disp > 0) /* 1 none, 2 quarantine, 3 reject */
        da->disp[disp - 1] = sift_sat_add(da->disp[disp - 1], count);
    if (is_sub(from, da->s)) {
        da->sub_messages = sift_sat_add(da->sub_messages, count);
        if (outcome == SIFT_OUT_WOULD_REJECT)
            da->sub_would_reject = sift_sat_add(da->sub_would_reject, count);
    }
    if (flags & SIFT_FLAG_PE_MISSING)
        da->pe_missing = sift_sat_add(da->pe_missing, count);
    /* the same records as the reporter_inconsistent category; the example
     * shown is one where reporter and recomputation disagree */
    if (flags & (SIFT_FLAG_SPF_MISMATCH | SIFT_FLAG_DKIM_MISMATCH |
                 SIFT_FLAG_DMARC_MISMATCH | SIFT_FLAG_FROM_OUTSIDE_DOMAIN))
        s->inconsistent = sift_sat_add(s->inconsistent, count);
    if (flags & (SIFT_FLAG_SPF_MISMATCH | SIFT_FLAG_DKIM_MISMATCH |
                 SIFT_FLAG_DMARC_MISMATCH)) {
        example *e = &da->ex;
        const char *org = c->atoms[r->org].s;
        int64_t id = row->id;

        if (better_example(e, count, r->begin, org, id)) {
            example_free(e);
            memset(e, 0, sizeof(*e));
            e->has = 1;
            e->org = org;
            e->count = count;
            e->begin = r->begin;
            e->rec_id = id;
            DUP_OR_FAIL(e->ip, txt(row->source_ip));
            DUP_OR_FAIL(e->from, from);
        }
    }
    return 0;
}

/* --- the record scan on two cores ---------------------------------------- */

/* The store may scan the upper half of the records on a second thread
 * (sift_store_scan_records), into its own sources, exemption counts and
 * examples (a ctx that shares the read-only tables: reports, reasons,
 * interned strings). Merging it after the lower half gives exactly what
 * one scan in id order gives: sums, ORs, min/max, the better example, and
 * set insertion in id order (the lower half's values first; a set that
 * overflowed in either half overflows). 1.95 -> 1.3 s over 5M records. */
typedef struct half {
    ctx c;
    sift_err err;
} half;

/* x: a copy of c for the upper half: c's read-only tables (reports,
 * reasons, strings) shared, its own sources and atom counts. */
static int
half_ctx(ctx *x, const ctx *c, sift_err *err)
{
    size_t i;

    *x = *c;
    x->src = NULL;
    x->n_src = x->cap_src = 0;
    x->stab = NULL;
    x->stab_size = 0;
    x->borrowed = 0;
    x->map = NULL;
    x->home = NULL;
    x->pool = NULL; /* its own: the threads add to their pools */
    x->n_pool = x->pool_size = 0;
    x->last_rep = 0;
    x->dom = NULL;
    x->n_dom = x->cap_dom = 0;
    x->hist = NULL;
    x->err = err;
    if ((x->atoms = calloc(c->n_atoms ? c->n_atoms : 1, sizeof(*x->atoms))) ==
        NULL)
        return SIFT_ENOMEM;
    for (i = 0; i < c->n_atoms; i++) {
        x->atoms[i].s = c->atoms[i].s; /* shared: never freed here */
        x->atoms[i].other = c->atoms[i].other;
    }
    x->cap_atoms = c->n_atoms;
    if (!c->bounded || c->n_src == 0)
        return SIFT_OK;
    /* bounded: c's rows (its table and ips, read-only while both scan),
     * each copied when this half first counts in it */
    if ((x->map = calloc(c->n_src, sizeof(*x->map))) == NULL)
        return SIFT_ENOMEM;
    x->home = c;
    x->borrowed = 1;
    return SIFT_OK;
}

static void
half_ctx_free(ctx *x)
{
    size_t i;

    sources_free(x);
    pool_free(x);
    for (i = 0; x->atoms != NULL && i < x->n_atoms; i++) {
        example_free(&x->atoms[i].ex);
        sift_report__series_free(&x->atoms[i].days);
    }
    free(x->atoms);
}

/* The upper half's models: the window's, and the history's when there is
 * one (--since: records before the window feed it). */
static int
half_init(half *h, const ctx *c)
{
    memset(h, 0, sizeof(*h));
    sift_err_clear(&h->err);
    if (half_ctx(&h->c, c, &h->err) != SIFT_OK)
        return SIFT_ENOMEM;
    if (c->hist != NULL &&
        ((h->c.hist = calloc(1, sizeof(*h->c.hist))) == NULL ||
         half_ctx(h->c.hist, c->hist, &h->err) != SIFT_OK))
        return SIFT_ENOMEM;
    return SIFT_OK;
}

static void
half_free(half *h)
{
    half_ctx_free(&h->c);
    if (h->c.hist != NULL) {
        half_ctx_free(h->c.hist);
        free(h->c.hist);
    }
}

static int
list_merge(ctx *c, strlist *to, const strlist *from, int interned)
{
    uint32_t i;

    for (i = 0; i < from->total; i++)
        if (list_add(c, to, from->v[i], interned) != SIFT_OK)
            return SIFT_ENOMEM;
    if (from->more)
        to->more = 1;
    return SIFT_OK;
}

/* Fold the upper half hc into c, which holds the lower half. */
static int
merge_ctx(ctx *c, ctx *hc)
{
    size_t i;
    uint32_t k;

    for (i = 0; i < c->n_atoms; i++) {
        atom *a = &c->atoms[i], *b = &hc->atoms[i];
        for (k = 0; k < N_EXEMPT; k++)
            a->exempted[k] = sift_sat_add(a->exempted[k], b->exempted[k]);
        for (k = 0; k < DISP__COUNT; k++)
            a->disp[k] = sift_sat_add(a->disp[k], b->disp[k]);
        a->sub_messages = sift_sat_add(a->sub_messages, b->sub_messages);
        a->sub_would_reject =
            sift_sat_add(a->sub_would_reject, b->sub_would_reject);
        a->pe_missing = sift_sat_add(a->pe_missing, b->pe_missing);
        if (sift_report__series_merge(&a->days, &b->days) != SIFT_OK)
            return oom(c);
        if (b->ex.has && better_example(&a->ex, b->ex.count, b->ex.begin,
                                        b->ex.org, b->ex.rec_id)) {
            example_free(&a->ex);
            a->ex = b->ex;
            memset(&b->ex, 0, sizeof(b->ex));
        }
    }
    for (i = 0; i < (hc->map != NULL ? c->n_src : hc->n_src); i++) {
        const source *t;
        source *s;
        int over = 0;

        if (hc->map != NULL) { /* bounded: row i where it has one */
            if (hc->map[i] == 0)
                continue;
            t = &hc->src[hc->map[i] - 1];
            s = &c->src[i];
        } else {
            t = &hc->src[i];
            s = find_source(c, t->domain, t->ip, &over);
        }
        if (s == NULL)
            return c->err->code != SIFT_OK ? c->err->code : SIFT_ENOMEM;
        s->messages = sift_sat_add(s->messages, t->messages);
        s->dmarc_fail = sift_sat_add(s->dmarc_fail, t->dmarc_fail);
        s->would_reject = sift_sat_add(s->would_reject, t->would_reject);
        s->overridden = sift_sat_add(s->overridden, t->overridden);
        s->dns_error = sift_sat_add(s->dns_error, t->dns_error);
        s->inconsistent = sift_sat_add(s->inconsistent, t->inconsistent);
        /* categories: the lower half's biggest record wins a tie, as in
         * one pass in id order */
        for (k = 0; k < t->n_cx; k++) {
            const catx *y = &t->cx[k];
            uint32_t m;
            for (m = 0; m < s->n_cx && s->cx[m].cat != y->cat; m++)
                ;
            if (m == s->n_cx || y->best > s->cx[m].best) {
                if (cx_add(c, s, y->cat, 0, NULL, NULL, NULL) != SIFT_OK)
                    return oom(c);
                for (m = 0; s->cx[m].cat != y->cat; m++)
                    ;
                s->cx[m].best = y->best;
                if (dup3(c, &s->cx[m], y->from, y->env, y->dkim) != SIFT_OK)
                    return oom(c);
            }
            for (m = 0; s->cx[m].cat != y->cat; m++)
                ;
            s->cx[m].messages = sift_sat_add(s->cx[m].messages, y->messages);
        }
        s->cats |= t->cats;
        s->flags |= t->flags;
        if (t->first < s->first)
            s->first = t->first;
        if (t->last > s->last)
            s->last = t->last;
        if (t->last_wr > s->last_wr)
            s->last_wr = t->last_wr;
        if (sift_report__series_merge(&s->days, &t->days) != SIFT_OK)
            return oom(c);
        /* the reporters are the shared atoms' strings */
        if (list_merge(c, &s->from, &t->from, 0) != SIFT_OK ||
            list_merge(c, &s->env, &t->env, 0) != SIFT_OK ||
            list_merge(c, &s->dkim, &t->dkim, 0) != SIFT_OK ||
            list_merge(c, &s->reporters, &t->reporters, 1) != SIFT_OK)
            return oom(c);
    }
    return SIFT_OK;
}

/* One scan of every record into c: in two parts when the store splits
 * the scan (the upper part into a second ctx, merged after), else in one
 * pass. OVER_CAP when an unbounded ctx went past its cap. */
static int
scan_pass(ctx *c, sift_store *st, sift_err *err)
{
    atomic_int over = 0;
    scan_cap wc, hc;
    void *payloads[2];
    half h;
    int rc, used = 1, parts = 2;

    atomic_init(&wc.rows, 0);
    atomic_init(&hc.rows, 0);
    wc.over = hc.over = &over;
    if (!c->bounded) { /* a ctx and its upper half count together */
        c->cap = &wc;
        if (c->hist != NULL)
            c->hist->cap = &hc;
    }
    if (half_init(&h, c) != SIFT_OK)
        parts = 1; /* no second ctx: one pass */
    payloads[0] = c;
    payloads[1] = &h.c;
    rc = sift_store_scan_records(st, parts, on_record, payloads, &used, err);
    c->cap = NULL; /* the merge below counts no rows */
    if (c->hist != NULL)
        c->hist->cap = NULL;
    if (rc != SIFT_OK && rc != OVER_CAP && used > 1 && h.err.code != SIFT_OK &&
        err != NULL && err->code == SIFT_OK)
        *err = h.err; /* the upper part's callback failed */
    if (rc == SIFT_OK && used > 1)
        rc = merge_ctx(c, &h.c);
    if (rc == SIFT_OK && used > 1 && c->hist != NULL)
        rc = merge_ctx(c->hist, h.c.hist);
    half_free(&h);
    return rc;
}

/* Forget what a scan counted in c (its sources, the atoms' counts). */
static void
scan_reset(ctx *c)
{
    size_t i;

    sources_free(c);
    for (i = 0; i < c->n_atoms; i++) {
        atom *a = &c->atoms[i];
        example_free(&a->ex);
        memset(&a->ex, 0, sizeof(a->ex));
        memset(a->exempted, 0, sizeof(a->exempted));
        memset(a->disp, 0, sizeof(a->disp));
        a->sub_messages = a->sub_would_reject = a->pe_missing = 0;
        sift_report__series_free(&a->days);
        a->kept = a->folded = 0;
        a->other = 0;
    }
}

static int
on_top_pair(void *payload, const char *dname, const char *ip)
{
    ctx *c = payload;
    long a = intern(c, dname);
    int over = 0;

    if (a < 0 || find_source(c, c->atoms[a].s, ip, &over) == NULL)
        return oom(c);
    c->atoms[a].kept++;
    return 0;
}

static int
on_domain_sources(void *payload, const char *dname, uint64_t sources)
{
    ctx *c = payload;
    long a = intern(c, dname);

    if (a < 0)
        return oom(c);
    if (sources > c->atoms[a].kept)
        c->atoms[a].folded = sources - c->atoms[a].kept;
    return 0;
}

/* c's rows for a bounded scan: the max_src (domain, source) pairs of its
 * reports with the most messages (the store groups them), then one other
 * sources row per domain that has more. */
static int
bound(ctx *c, sift_store *st, sift_err *err)
{
    int64_t *ids;
    size_t i, n = c->n_atoms;
    char buf[64];
    int rc;

    scan_reset(c);
    if (c->n_reps == 0)
        return SIFT_OK;
    if ((ids = malloc(c->n_reps * sizeof(*ids))) == NULL)
        return oom(c);
    for (i = 0; i < c->n_reps; i++)
        ids[i] = c->reps[i].id;
    rc = sift_store_top_sources(st, ids, c->n_reps, c->max_src, on_top_pair,
                                on_domain_sources, c, err);
    free(ids);
    if (rc != SIFT_OK)
        return rc == SIFT_ENOMEM ? oom(c) : rc;
    for (i = 0; i < c->n_atoms && i < n; i++) {
        atom *a = &c->atoms[i];
        source *s;
        if (a->folded == 0)
            continue;
        if ((c->src = grow(c->src, &c->cap_src, c->n_src + 1,
                           sizeof(*c->src))) == NULL)
            return oom(c);
        s = &c->src[c->n_src];
        memset(s, 0, sizeof(*s));
        s->domain = a->s;
        s->folded = a->folded;
        s->first = INT64_MAX;
        s->last = INT64_MIN;
        snprintf(buf, sizeof(buf), "(%" PRIu64 " other sources)", a->folded);
        if ((s->ip = strdup(buf)) == NULL)
            return oom(c);
        a->other = ++c->n_src;
        c->folded = sift_sat_add(c->folded, a->folded);
    }
    if (c->n_src > 0 && c->n_src < c->cap_src) { /* no room to grow into */
        source *t = realloc(c->src, c->n_src * sizeof(*c->src));
        if (t != NULL) {
            c->src = t;
            c->cap_src = c->n_src;
        }
    }
    c->bounded = 1;
    return SIFT_OK;
}

/* Scan every record into c (and its history). Past max_src rows in
 * either, the scan stops and runs again bounded: only the sources with
 * the most messages get a row, the others of a domain count together in
 * its other sources row, so that memory stays within max_src rows while
 * every total stays exact (docs/report.md "Many sources"). */
static int
scan_records(ctx *c, sift_store *st, sift_err *err)
{
    int rc;

    c->max_src = c->opts != NULL && c->opts->max_sources > 0
                     ? c->opts->max_sources
                     : SIFT_REPORT_MAX_SOURCES_DEFAULT;
    if (c->hist != NULL)
        c->hist->max_src = c->max_src;
    if ((rc = scan_pass(c, st, err)) != OVER_CAP)
        return rc;
    if ((rc = bound(c, st, err)) != SIFT_OK ||
        (c->hist != NULL && (rc = bound(c->hist, st, err)) != SIFT_OK))
        return rc;
    rc = scan_pass(c, st, err);
    return rc == OVER_CAP ? sift_err_set(err, SIFT_ERR, "source cap") : rc;
}

/* The verdict columns of a domain's example record. */
static int
on_example(void *payload, const char *d, const char *sp, int dkim_al,
           int spf_al)
{
    example *e = payload;

    if ((d != NULL && (e->pe_dkim = strdup(d)) == NULL) ||
        (sp != NULL && (e->pe_spf = strdup(sp)) == NULL))
        return SIFT_ENOMEM;
    e->dkim_al = dkim_al;
    e->spf_al = spf_al;
    return 0;
}

/* After the scan: each domain's chosen example gets its verdict columns. */
static int
fill_examples(ctx *c, sift_store *st, sift_err *err)
{
    size_t i;
    int rc;

    for (i = 0; i < c->n_atoms; i++) {
        example *e = &c->atoms[i].ex;

        if (!e->has)
            continue;
        if ((rc = sift_store_record_verdict(st, e->rec_id, on_example, e,
                                            err)) != SIFT_OK) {
            if (rc == SIFT_ENOMEM)
                sift_err_set(err, SIFT_ENOMEM, "out of memory");
            return rc;
        }
    }
    return SIFT_OK;
}

static const sift_sender *
identify(const source *s)
{
    const sift_sender *snd;
    size_t i;

    for (i = 0; i < s->dkim.n; i++)
        if ((snd = sift_sender_lookup(s->dkim.v[i])) != NULL)
            return snd;
    for (i = 0; i < s->env.n; i++)
        if ((snd = sift_sender_lookup(s->env.v[i])) != NULL)
            return snd;
    return NULL;
}

static uint64_t
cx_msgs(const source *s, unsigned cat)
{
    uint32_t i;

    for (i = 0; i < s->n_cx; i++)
        if (s->cx[i].cat == cat)
            return s->cx[i].messages;
    return 0;
}

static int
cx_order(const void *a, const void *b)
{
    const catx *x = a, *y = b;

    if (x->messages != y->messages)
        return x->messages > y->messages ? -1 : 1;
    return x->cat < y->cat ? -1 : x->cat > y->cat;
}

/* The third-party categories: an identified but unaligned sender. */
static int
third_party(unsigned cat)
{
    return cat == SIFT_CAT_UNCONFIGURED_THIRD_PARTY ||
           cat == SIFT_CAT_DKIM_THIRD_PARTY ||
           cat == SIFT_CAT_SPF_NOT_ALIGNED || cat == SIFT_CAT_DKIM_FAIL ||
           cat == SIFT_CAT_DKIM_PERMERROR;
}

/* 1 if domain d is `name` or a subdomain of it (lowercase). */
static int
dom_under(const char *d, const char *name)
{
    size_t ld, ln;

    if (d == NULL || name == NULL || name[0] == '\0')
        return 0;
    ld = strlen(d);
    ln = strlen(name);
    if (ld == ln)
        return strcasecmp(d, name) == 0;
    return ld > ln && d[ld - ln - 1] == '.' &&
           strcasecmp(d + ld - ln, name) == 0;
}

/* The owner's configuration (sift_owner.h): an own network makes the
 * source the owner's; a [senders] entry (first match: a network holding
 * its IP, or a domain its DKIM d= or envelope is under) labels it.
 * Returns 1 when it decided the kind and name. */
static int
owner_says(ctx *c, source *s)
{
    const sift_owner_knowledge *k = c->opts ? c->opts->owner : NULL;
    unsigned char addr[16];
    int family = 0;
    size_t i, j;

    if (k == NULL)
        return 0;
    if (inet_pton(AF_INET, s->ip, addr) == 1)
        family = 4;
    else if (inet_pton(AF_INET6, s->ip, addr) == 1)
        family = 6;
    for (i = 0; family && i < k->n_own_nets; i++)
        if (sift_ipnet_contains(&k->own_nets[i], family, addr))
            s->own_net = 1;
    for (i = 0; i < k->n_senders && s->label == SIFT_LABEL_NONE; i++) {
        const sift_owner_sender *o = &k->senders[i];
        int hit = 0;
        if (o->is_net)
            hit = family && sift_ipnet_contains(&o->net, family, addr);
        for (j = 0; !o->is_net && !hit && j < s->dkim.n; j++)
            hit = dom_under(s->dkim.v[j], o->name);
        for (j = 0; !o->is_net && !hit && j < s->env.n; j++)
            hit = dom_under(s->env.v[j], o->name);
        if (hit) {
            s->label = o->label;
            s->sender_name = o->name;
        }
    }
    switch (s->label) {
    case SIFT_LABEL_LEGITIMATE:
        s->kind = s->sender ? SIFT_KIND_SERVICE : SIFT_KIND_OWN;
        return 1;
    case SIFT_LABEL_FORWARDER:
        s->kind = SIFT_KIND_FORWARDER;
        return 1;
    case SIFT_LABEL_NOT_OURS:
        s->kind = SIFT_KIND_UNAUTHENTICATED;
        return 1;
    default:
        break;
    }
    if (s->own_net) {
        s->kind = SIFT_KIND_OWN;
        s->sender_name = "own servers";
        s->label = SIFT_LABEL_NONE;
        return 1;
    }
    return 0;
}

/* sender_name as an interned string (the configured names are the
 * configuration's; the model keeps its own copy). */
static int
intern_name(ctx *c, source *s)
{
    long a;

    if (s->own_net && s->label == SIFT_LABEL_NONE)
        return SIFT_OK; /* a static name */
    if ((a = intern(c, s->sender_name)) < 0)
        return oom(c);
    s->sender_name = c->atoms[a].s;
    return SIFT_OK;
}

/* What a source is (docs/report.md "Senders"): a known service; the
 * domain's own servers when most of its mail passes aligned; a forwarder
 * or list only on positive evidence (an override reason, a list's
 * signature next to a broken one, SRS, ARC, or aligned DKIM surviving a
 * broken SPF); an unknown signer when it authenticates as someone else;
 * otherwise unauthenticated. Name: the service, or the unknown signer's
 * registrable domain. */
static int
classify(ctx *c, source *s, sift_eval *ev)
{
    /* a reporter's fail the recomputation calls a pass counts as aligned */
    uint64_t own =
        sift_sat_add(sift_sat_add(cx_msgs(s, SIFT_CAT_PASS_DKIM_ALIGNED),
                                  cx_msgs(s, SIFT_CAT_PASS_SPF_ALIGNED)),
                     cx_msgs(s, SIFT_CAT_REPORTER_INCONSISTENT));
    uint64_t fwd = cx_msgs(s, SIFT_CAT_FORWARDED_DKIM_INTACT) +
                   cx_msgs(s, SIFT_CAT_FORWARDED_BOTH_BROKEN) +
                   cx_msgs(s, SIFT_CAT_RECEIVER_OVERRIDE);
    const catx *tp = NULL;
    char org[256];
    const char *name;
    uint32_t i;
    long a;

    if (s->folded) { /* many sources: what they are is not known */
        s->kind = SIFT_KIND_UNKNOWN;
        if ((a = intern(c, OTHER_SOURCES)) < 0)
            return oom(c);
        s->sender_name = c->atoms[a].s;
        return SIFT_OK;
    }
    for (i = 0; i < s->n_cx; i++) /* largest first */
        if (third_party(s->cx[i].cat) && tp == NULL)
            tp = &s->cx[i];
    if (owner_says(c, s)) /* the owner's configuration first */
        return intern_name(c, s);
    if (s->sender != NULL) {
        s->kind = SIFT_KIND_SERVICE;
        s->sender_name = s->sender->name;
    } else if (own > s->messages / 2) {
        s->kind = SIFT_KIND_OWN;
        s->sender_name = "own servers";
    } else if (fwd > 0) {
        s->kind = SIFT_KIND_FORWARDER;
        s->sender_name = "forwarders and mailing lists";
    } else if (s->ptr_sender != NULL) {
        /* its forward-confirmed name is a known service's (docs/dns.md) */
        s->sender = s->ptr_sender;
        s->kind = SIFT_KIND_SERVICE;
        s->sender_name = s->sender->name;
    } else if (tp != NULL) {
        s->kind = SIFT_KIND_UNKNOWN;
        name = tp->cat == SIFT_CAT_DKIM_THIRD_PARTY ||
                       tp->cat == SIFT_CAT_UNCONFIGURED_THIRD_PARTY
                   ? tp->dkim
                   : tp->env;
        if (name == NULL || name[0] == '\0')
            name = tp->dkim ? tp->dkim : "unknown";
        if (ev != NULL &&
            sift_eval_org_domain(ev, name, org, sizeof(org)) != NULL)
            name = org;
        if ((a = intern(c, name)) < 0)
            return oom(c);
        s->sender_name = c->atoms[a].s;
    } else if (own > 0) {
        s->kind = SIFT_KIND_OWN;
        s->sender_name = "own servers";
    } else {
        s->kind = SIFT_KIND_UNAUTHENTICATED;
        s->sender_name = "unauthenticated sources";
    }
    return SIFT_OK;
}

/* Lists to show, categories in order, and the sender, after the scan. */
static int
finish_sources(ctx *c)
{
    sift_eval *ev = NULL;
    sift_err e2;
    size_t i;
    int rc = SIFT_OK;

    sift_err_clear(&e2);
    if (sift_eval_new(&ev, &e2) != SIFT_OK) /* names stay unreduced */
        ev = NULL;
    for (i = 0; i < c->n_src && rc == SIFT_OK; i++) {
        source *s = &c->src[i];
        show(&s->from);
        show(&s->env);
        show(&s->dkim);
        show(&s->reporters);
        if (s->n_cx > 1)
            qsort(s->cx, s->n_cx, sizeof(*s->cx), cx_order);
        s->sender = identify(s);
        s->ptr = sift_report__ptr_find(&c->ptrs, s->ip);
        if (s->ptr != NULL && s->ptr->confirmed)
            s->ptr_sender = sift_sender_lookup(s->ptr->name);
        rc = classify(c, s, ev);
    }
    sift_eval_free(ev);
    return rc;
}

static domain *
find_domain(ctx *c, const char *name)
{
    size_t lo = 0, hi = c->n_dom;

    while (lo < hi) { /* c->dom is sorted by name */
        size_t mid = (lo + hi) / 2;
        int r = strcmp(c->dom[mid].name, name);
        if (r == 0)
            return &c->dom[mid];
        if (r < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static int
on_policy(void *payload, const sift_policy_row *row)
{
    ctx *c = payload;
    domain *d = find_domain(c, row->domain);

    if (d == NULL) /* a report without records */
        return 0;
    d->has_policy = 1;
    DUP_OR_FAIL(d->p, row->p);
    DUP_OR_FAIL(d->sp, row->sp);
    DUP_OR_FAIL(d->np, row->np);
    d->pct = row->pct;
    DUP_OR_FAIL(d->testing, row->testing);
    DUP_OR_FAIL(d->adkim, row->adkim);
    DUP_OR_FAIL(d->aspf, row->aspf);
    DUP_OR_FAIL(d->policy_org, row->org);
    d->policy_end = row->end;
    return 0;
}

/* Domain order, then would_reject desc, messages desc, ip. */
static int
src_order(const void *a, const void *b)
{
    const source *x = a, *y = b;
    int r = strcmp(x->domain, y->domain);

    if (r)
        return r;
    if (x->would_reject != y->would_reject)
        return x->would_reject > y->would_reject ? -1 : 1;
    if (x->messages != y->messages)
        return x->messages > y->messages ? -1 : 1;
    return strcmp(x->ip, y->ip);
}

/* Domains from the sorted sources, with their totals. */
static int
build_domains(ctx *c)
{
    size_t i;
    uint32_t k;
    domain *d = NULL;
    long a;

    for (i = 0; i < c->n_src; i++) {
        source *s = &c->src[i];
        if (d == NULL || d->name != s->domain) {
            if ((c->dom = grow(c->dom, &c->cap_dom, c->n_dom + 1,
                               sizeof(*c->dom))) == NULL)
                return oom(c);
            d = &c->dom[c->n_dom++];
            memset(d, 0, sizeof(*d));
            d->pct = -1;
            d->first_src = i;
            d->name = s->domain;
            if ((a = intern(c, s->domain)) < 0)
                return oom(c);
            d->example = &c->atoms[a].ex;
            d->exempted = c->atoms[a].exempted;
            d->a = &c->atoms[a];
        }
        d->n_src++;
        d->messages = sift_sat_add(d->messages, s->messages);
        d->dmarc_fail = sift_sat_add(d->dmarc_fail, s->dmarc_fail);
        d->would_reject = sift_sat_add(d->would_reject, s->would_reject);
        d->overridden = sift_sat_add(d->overridden, s->overridden);
        d->dns_error = sift_sat_add(d->dns_error, s->dns_error);
        d->inconsistent = sift_sat_add(d->inconsistent, s->inconsistent);
        if (s->would_reject > 0)
            d->reject_sources++;
        for (k = 0; k < s->n_cx; k++)
            d->cat_msgs[s->cx[k].cat] =
                sift_sat_add(d->cat_msgs[s->cx[k].cat], s->cx[k].messages);
    }
    return SIFT_OK;
}

/* Worst first: would reject, DNS errors, inconsistencies, messages, then
 * kind and name for a stable order. */
static int
snd_order(const void *a, const void *b)
{
    const sender *x = a, *y = b;

    if (x->would_reject != y->would_reject)
        return x->would_reject > y->would_reject ? -1 : 1;
    if (x->dns_error != y->dns_error)
        return x->dns_error > y->dns_error ? -1 : 1;
    if (x->inconsistent != y->inconsistent)
        return x->inconsistent > y->inconsistent ? -1 : 1;
    if (x->messages != y->messages)
        return x->messages > y->messages ? -1 : 1;
    if (x->kind != y->kind)
        return x->kind < y->kind ? -1 : 1;
    return strcmp(x->name, y->name);
}

static size_t
find_sender(const ctx *c, const domain *d, const source *s)
{
    size_t k;

    for (k = d->first_snd; k < d->first_snd + d->n_snd; k++)
        if (c->snd[k].kind == s->kind && c->snd[k].name == s->sender_name)
            return k;
    return SIZE_MAX;
}

/* Group each domain's sources into senders, sum them, order them worst
 * first, and list each sender's sources (already worst first) in sord. */
static int
build_senders(ctx *c)
{
    size_t i, j, k, *fill = NULL;
    uint32_t m;

    for (i = 0; i < c->n_dom; i++) {
        domain *d = &c->dom[i];
        d->first_snd = c->n_snd;
        for (j = d->first_src; j < d->first_src + d->n_src; j++) {
            source *s = &c->src[j];
            sender *t;
            if ((k = find_sender(c, d, s)) == SIZE_MAX) {
                if ((c->snd = grow(c->snd, &c->cap_snd, c->n_snd + 1,
                                   sizeof(*c->snd))) == NULL)
                    return oom(c);
                k = c->n_snd++;
                d->n_snd++;
                t = &c->snd[k];
                memset(t, 0, sizeof(*t));
                t->name = s->sender_name;
                t->kind = s->kind;
                t->service = s->sender;
                t->label = s->label;
                t->own_net = s->own_net;
                t->first = INT64_MAX;
                t->last = INT64_MIN;
            }
            t = &c->snd[k];
            t->folded = sift_sat_add(t->folded, s->folded);
            if (s->first < t->first)
                t->first = s->first;
            if (s->last > t->last)
                t->last = s->last;
            if (s->last_wr > t->last_wr)
                t->last_wr = s->last_wr;
            if (s->days.n > 0 &&
                sift_report__series_merge(&t->days, &s->days) != SIFT_OK)
                return oom(c);
            t->messages = sift_sat_add(t->messages, s->messages);
            t->dmarc_fail = sift_sat_add(t->dmarc_fail, s->dmarc_fail);
            t->would_reject = sift_sat_add(t->would_reject, s->would_reject);
            t->overridden = sift_sat_add(t->overridden, s->overridden);
            t->dns_error = sift_sat_add(t->dns_error, s->dns_error);
            t->inconsistent = sift_sat_add(t->inconsistent, s->inconsistent);
            for (m = 0; m < s->n_cx; m++) {
                const catx *x = &s->cx[m];
                t->cat_msgs[x->cat] =
                    sift_sat_add(t->cat_msgs[x->cat], x->messages);
                if (t->cat_ex[x->cat] == NULL ||
                    x->best > t->cat_ex[x->cat]->best) {
                    t->cat_ex[x->cat] = x;
                    t->cat_src[x->cat] = s;
                }
            }
        }
        if (d->n_snd > 1)
            qsort(&c->snd[d->first_snd], d->n_snd, sizeof(*c->snd), snd_order);
        for (k = d->first_snd; k < d->first_snd + d->n_snd; k++)
            if (c->snd[k].would_reject > 0)
                d->reject_senders++;
    }
    if (c->n_src == 0)
        return SIFT_OK;
    if ((c->sord = malloc(c->n_src * sizeof(*c->sord))) == NULL ||
        (fill = calloc(c->n_snd + 1, sizeof(*fill))) == NULL)
        return oom(c);
    for (i = 0; i < c->n_dom; i++) {
        domain *d = &c->dom[i];
        for (j = d->first_src; j < d->first_src + d->n_src; j++) {
            c->src[j].sender_idx = find_sender(c, d, &c->src[j]);
            c->snd[c->src[j].sender_idx].n_src++;
        }
    }
    for (k = 0, j = 0; k < c->n_snd; k++) {
        c->snd[k].first_src = j;
        fill[k] = j;
        j += c->snd[k].n_src;
    }
    for (j = 0; j < c->n_src; j++) /* in source order: worst first */
        c->sord[fill[c->src[j].sender_idx]++] = j;
    free(fill);
    return SIFT_OK;
}

/* "x.y" percent of part in whole, rounded half up; integer arithmetic so
 * output does not depend on floating point. */
void
sift_report__percent(char *buf, size_t n, uint64_t part, uint64_t whole)
{
    uint64_t t;

    if (whole == 0) {
        snprintf(buf, n, "0.0");
        return;
    }
    if (part > UINT64_MAX / 1000)
        t = (uint64_t)((double)part * 1000.0 / (double)whole + 0.5);
    else
        t = (part * 1000 + whole / 2) / whole;
    snprintf(buf, n, "%" PRIu64 ".%" PRIu64, t / 10, t % 10);
}

/* The history model after its scan: senders per domain, as for the
 * window. */
int
sift_report__hist_finish(ctx *h)
{
    int rc;

    if ((rc = finish_sources(h)) != SIFT_OK)
        return rc;
    if (h->n_src > 1)
        qsort(h->src, h->n_src, sizeof(*h->src), src_order);
    if ((rc = build_domains(h)) != SIFT_OK)
        return rc;
    return build_senders(h);
}

/* 1 if domain d's would-reject share is above that of the totals' worst
 * domain so far. */
static int
worse(const domain *d, const sift_report_totals *t)
{
    __extension__ typedef unsigned __int128 u128;

    if (d->messages == 0)
        return 0;
    if (t->worst_messages == 0)
        return 1;
    return (u128)d->would_reject * t->worst_messages >
           (u128)t->worst_would_reject * d->messages;
}

/* --- entry point --------------------------------------------------------- */

static int
model_run(ctx *c, sift_store *st, const sift_store_filter *p, sift_err *err)
{
    size_t i;
    int rc;

    if ((rc = sift_store_read_reports(st, p, on_report, c, err)) != SIFT_OK)
        return rc;
    c->rm_sorted = 1;
    if ((rc = sift_report__load_history(c, st)) != SIFT_OK)
        return rc;
    if (c->n_reps > 0 &&
        (rc = sift_store_read_reasons(st, on_reason, c, err)) != SIFT_OK)
        return rc;
    rm_finish(c);
    if (c->n_reps > 0 && (rc = scan_records(c, st, err)) != SIFT_OK)
        return rc;
    if ((rc = fill_examples(c, st, err)) != SIFT_OK)
        return rc;
    if (c->n_src > 0 &&
        (rc = sift_report__ptrs_load(&c->ptrs, st, err)) != SIFT_OK)
        return rc;
    if ((rc = finish_sources(c)) != SIFT_OK)
        return rc;
    if (c->n_src > 1)
        qsort(c->src, c->n_src, sizeof(*c->src), src_order);
    if ((rc = build_domains(c)) != SIFT_OK ||
        (rc = build_senders(c)) != SIFT_OK)
        return rc;
    if ((rc = sift_store_read_policies(st, p, on_policy, c, err)) != SIFT_OK)
        return rc;
    if ((c->hist != NULL &&
         (rc = sift_report__hist_finish(c->hist)) != SIFT_OK) ||
        (rc = sift_report__over_time(c)) != SIFT_OK)
        return rc;
    if (c->n_dom > 0 &&
        (rc = sift_report__pubs_load(&c->pubs, st, err)) != SIFT_OK)
        return rc;
    for (i = 0; i < c->n_dom; i++)
        c->dom[i].pub = sift_report__pub_find(&c->pubs, c->dom[i].name);
    for (i = 0; i < c->n_dom; i++) {
        uint64_t m = c->tot.messages, w = c->tot.would_reject;
        c->tot.messages = sift_sat_add(m, c->dom[i].messages);
        c->tot.dmarc_fail =
            sift_sat_add(c->tot.dmarc_fail, c->dom[i].dmarc_fail);
        c->tot.would_reject = sift_sat_add(w, c->dom[i].would_reject);
        if (c->tot.messages == UINT64_MAX || c->tot.would_reject == UINT64_MAX)
            c->tot.saturated = 1;
        if (worse(&c->dom[i], &c->tot)) {
            snprintf(c->tot.worst_domain, sizeof(c->tot.worst_domain), "%s",
                     c->dom[i].name);
            c->tot.worst_messages = c->dom[i].messages;
            c->tot.worst_would_reject = c->dom[i].would_reject;
        }
    }
    for (i = 0; i < c->n_snd; i++)
        if (c->snd[i].is_new && c->snd[i].would_reject > 0)
            c->tot.new_rejecting++;
    return SIFT_OK;
}

int
sift_report__model(ctx *c, sift_store *st, const sift_filter *f,
                   const sift_report_opts *o, sift_err *err)
{
    sift_store_filter sf;

    memset(c, 0, sizeof(*c));
    c->err = err;
    c->filter = f;
    c->opts = o;
    c->period_from = INT64_MAX;
    c->period_to = INT64_MIN;
    sift_report__sfilter(&sf, f);
    return model_run(c, st, &sf, err);
}

int
sift_report_write(FILE *fp, sift_report_totals *totals, sift_store *st,
                  const sift_filter *f, const sift_report_opts *o,
                  sift_format fmt, sift_err *err)
{
    sift_report_opts def = {SIFT_REPORT_TOP_DEFAULT, 0, 0, 0, NULL, 0, 0, 0};
    ctx c;
    int rc;

    if (totals != NULL)
        memset(totals, 0, sizeof(*totals));
    if (fmt != SIFT_FMT_TEXT && fmt != SIFT_FMT_JSON && fmt != SIFT_FMT_CSV &&
        fmt != SIFT_FMT_HTML)
        return sift_err_set(err, SIFT_EUSAGE,
                            "report format must be text, json, csv or html");
    if (o != NULL && o->by != 0 && fmt != SIFT_FMT_JSON && fmt != SIFT_FMT_CSV)
        return sift_err_set(err, SIFT_EUSAGE,
                            "--by needs --format json or csv");
    if (o == NULL) {
        def.generated_at = (int64_t)time(NULL);
        o = &def;
    }
    rc = sift_report__model(&c, st, f, o, err);
    if (rc == SIFT_OK) {
        switch (fmt) {
        case SIFT_FMT_TEXT:
            rc = sift_report__text(fp, &c);
            break;
        case SIFT_FMT_JSON:
            rc = sift_report__json(fp, &c);
            break;
        case SIFT_FMT_HTML:
            rc = sift_report__html(fp, &c);
            break;
        default:
            rc = c.opts->by ? sift_report__csv_series(fp, &c)
                            : sift_report__csv_all(fp, &c);
            break;
        }
        if (rc != SIFT_OK)
            sift_err_set(err, rc, "out of memory");
    }
    if (rc == SIFT_OK && (fflush(fp) != 0 || ferror(fp)))
        rc = sift_err_sys(err, "cannot write the report");
    if (rc == SIFT_OK && totals != NULL)
        *totals = c.tot;
    ctx_free(&c);
    return rc;
}
