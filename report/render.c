/* render.c -- `dmarcsift report`: per policy domain, which sources would be
 * rejected under p=reject, why, and the fix; as text, JSON or CSV.
 *
 * All counting is done by SQLite (GROUP BY over records joined to reports,
 * using the stored verdict columns); C holds one row per (domain, source)
 * and sorts it. Lists of domains per source are capped (LIST_MAX shown,
 * the total counted), so memory grows with sources, never with records.
 * Every string from a report is escaped for the output format. */
#include "report_int.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sift_json.h"
#include "sift_util.h"

#define LIST_MAX 5           /* domains shown per list */
#define SET_CAP 32           /* distinct domains tracked per list */
#define MAX_SOURCES 4000000u /* (domain, source) rows held in memory */
#define WRAP 80

_Static_assert(SIFT_FLAG_SPF_MISMATCH == 1 && SIFT_FLAG_DKIM_MISMATCH == 2 &&
                   SIFT_FLAG_DMARC_MISMATCH == 4,
               "the SQL below tests flags & 7");

/* --- small helpers shared with export.c ---------------------------------- */

/* A JSON array of the strings v[0..n), NULL when n == 0 or on ENOMEM
 * (*nomem set). */
static char *
json_list(const char *const *v, size_t n, int *nomem)
{
    char *out = NULL;
    size_t len = 0, i;
    FILE *fp;

    if (n == 0)
        return NULL;
    if ((fp = open_memstream(&out, &len)) == NULL) {
        *nomem = 1;
        return NULL;
    }
    fputc('[', fp);
    for (i = 0; i < n; i++) {
        if (i)
            fputc(',', fp);
        sift_json_str(fp, v[i]);
    }
    fputc(']', fp);
    if (ferror(fp)) {
        fclose(fp);
        free(out);
        *nomem = 1;
        return NULL;
    }
    fclose(fp);
    return out;
}

int
sift_report__params(sift_report_fparams *fp, const sift_filter *f,
                    sift_err *err)
{
    sift_param *p = fp->p;
    int nomem = 0;

    memset(fp, 0, sizeof(*fp));
    p[0].type = p[1].type = SIFT_P_TEXT;
    p[2].type = p[3].type = SIFT_P_NULL;
    if (f == NULL)
        return SIFT_OK;
    p[0].s = fp->json[0] = json_list(f->domains, f->ndomains, &nomem);
    p[1].s = fp->json[1] = json_list(f->reporters, f->nreporters, &nomem);
    if (nomem)
        return sift_err_set(err, SIFT_ENOMEM, "out of memory");
    if (f->has_since) {
        p[2].type = SIFT_P_INT;
        p[2].i = f->since;
    }
    if (f->has_until) {
        p[3].type = SIFT_P_INT;
        p[3].i = f->until;
    }
    return SIFT_OK;
}

void
sift_report__params_free(sift_report_fparams *fp)
{
    free(fp->json[0]);
    free(fp->json[1]);
    fp->json[0] = fp->json[1] = NULL;
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
        if (n == 0 || (*p < 0x20 && *p != '\t' && *p != '\r' &&
                       *p != '\n') ||
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

/* --- the data ------------------------------------------------------------ */

/* Distinct strings of one source (owned copies), at most SET_CAP of them;
 * `overflow` says more were seen. */
typedef struct strset {
    char **v;
    uint32_t n, cap;
    int overflow;
} strset;

/* Distinct interned strings (borrowed, compared by pointer). */
typedef struct ptrset {
    const char *v[SET_CAP];
    uint32_t n;
    int overflow;
} ptrset;

/* What a list shows: the LIST_MAX smallest of a set (borrowed). */
typedef struct strlist {
    const char *v[LIST_MAX];
    size_t n;     /* shown, <= LIST_MAX */
    size_t total; /* distinct values kept (<= SET_CAP) */
    int more;     /* and more than that were seen */
} strlist;

typedef struct source {
    const char *domain; /* interned */
    char *ip;
    uint64_t messages, dmarc_fail, would_reject, overridden, dns_error;
    uint64_t inconsistent;
    uint32_t cats, flags;
    int64_t first, last;
    strset sfrom, senv, sdkim;
    ptrset srep;
    strlist from, env, dkim, reporters;
    const sift_sender *sender;
} source;

/* The example inconsistency of a domain: the record with the most
 * messages, then the earliest report, then org_name, then record id. */
typedef struct example {
    int has;
    const char *org; /* interned */
    char *ip, *from, *pe_dkim, *pe_spf;
    int dkim_al, spf_al;
    uint64_t count;
    int64_t begin, rec_id;
} example;

/* An interned string: a policy domain or an org_name. */
/* Exempting reason types, in output order; anything else counts as
 * "other" (standards.md §1.5), as does an empty type whose comment says
 * arc=pass. */
static const char *const exempt_types[] = {
    "forwarded", "local_policy", "mailing_list", "other", "trusted_forwarder"};
#define N_EXEMPT 5
#define EXEMPT_OTHER 3

typedef struct atom {
    char *s;
    example ex;                  /* used for policy domains */
    uint64_t exempted[N_EXEMPT]; /* messages, by reason type */
} atom;

/* Exempting reasons of one record, as a bit per exempt_types[] entry. */
typedef struct rmask {
    int64_t record_id;
    unsigned mask;
} rmask;

typedef struct rep {
    int64_t id, begin, end;
    uint32_t dom, org; /* atoms */
} rep;

typedef struct domain {
    const char *name; /* interned */
    const uint64_t *exempted; /* N_EXEMPT counts, borrowed from the atom */
    /* published policy, from the most recent report */
    char *p, *sp, *np, *testing, *adkim, *aspf, *policy_org;
    int64_t pct, policy_end;
    int has_policy;
    uint64_t messages, dmarc_fail, would_reject, overridden, dns_error;
    uint64_t inconsistent, reject_sources;
    size_t first_src, n_src; /* into ctx.src, after sorting */
    const example *example; /* borrowed from the atom */
} domain;

typedef struct ctx {
    atom *atoms;
    size_t n_atoms, cap_atoms;
    uint32_t *atab; /* open addressing: atom index + 1, 0 = empty */
    size_t atab_size;
    rep *reps;
    size_t n_reps, cap_reps, last_rep;
    source *src;
    size_t n_src, cap_src;
    uint32_t *stab; /* open addressing: source index + 1 */
    size_t stab_size;
    domain *dom;
    size_t n_dom, cap_dom;
    rmask *rm;
    size_t n_rm, cap_rm;
    int rm_sorted;
    sift_err *err;
} ctx;

static void *
grow(void *p, size_t *cap, size_t need, size_t size)
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
static long
intern(ctx *c, const char *s)
{
    size_t j, mask;
    uint32_t *t;

    if (c->atab_size == 0 || (c->n_atoms + 1) * 2 > c->atab_size) {
        size_t size = c->atab_size ? c->atab_size * 2 : 64;
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

static uint64_t
src_hash(ctx *c, size_t i)
{
    return hash_str(c->src[i].ip, (uint64_t)(uintptr_t)c->src[i].domain);
}

/* The source (domain, ip), added when new; NULL with err set. */
static source *
find_source(ctx *c, const char *dname, const char *ip)
{
    size_t j, mask;
    uint32_t *t;
    source *s;

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
    if (c->n_src >= MAX_SOURCES) {
        sift_err_set(c->err, SIFT_ETOOBIG,
                     "more than %u sources: narrow the report with a "
                     "domain, reporter or date filter",
                     MAX_SOURCES);
        return NULL;
    }
    if ((c->src = grow(c->src, &c->cap_src, c->n_src + 1,
                       sizeof(*c->src))) == NULL) {
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

/* Add v to the set unless present; SIFT_ENOMEM on failure. */
static int
strset_add(strset *set, const char *v)
{
    uint32_t i;

    if (v == NULL || v[0] == '\0')
        return SIFT_OK;
    for (i = set->n; i-- > 0;) /* newest first: runs repeat */
        if (strcmp(set->v[i], v) == 0)
            return SIFT_OK;
    if (set->n == SET_CAP) {
        set->overflow = 1;
        return SIFT_OK;
    }
    if (set->n == set->cap) {
        uint32_t cap = set->cap ? set->cap * 2 : 2;
        char **p = realloc(set->v, cap * sizeof(*p));
        if (p == NULL)
            return SIFT_ENOMEM;
        set->v = p;
        set->cap = cap;
    }
    if ((set->v[set->n] = strdup(v)) == NULL)
        return SIFT_ENOMEM;
    set->n++;
    return SIFT_OK;
}

static void
strset_free(strset *set)
{
    uint32_t i;

    for (i = 0; i < set->n; i++)
        free(set->v[i]);
    free(set->v);
}

static void
ptrset_add(ptrset *set, const char *v)
{
    uint32_t i;

    for (i = 0; i < set->n; i++)
        if (set->v[i] == v)
            return;
    if (set->n == SET_CAP)
        set->overflow = 1;
    else
        set->v[set->n++] = v;
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sort the set's values in place and show the LIST_MAX smallest. */
static void
show(strlist *l, const char **v, uint32_t n, int overflow)
{
    size_t i;

    if (n > 1)
        qsort(v, n, sizeof(*v), cmp_str);
    l->total = n;
    l->more = overflow;
    l->n = n < LIST_MAX ? n : LIST_MAX;
    for (i = 0; i < l->n; i++)
        l->v[i] = v[i];
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
ctx_free(ctx *c)
{
    size_t i;

    for (i = 0; i < c->n_src; i++) {
        free(c->src[i].ip);
        strset_free(&c->src[i].sfrom);
        strset_free(&c->src[i].senv);
        strset_free(&c->src[i].sdkim);
    }
    free(c->src);
    free(c->stab);
    for (i = 0; i < c->n_dom; i++) {
        domain *d = &c->dom[i];
        free(d->p);
        free(d->sp);
        free(d->np);
        free(d->testing);
        free(d->adkim);
        free(d->aspf);
        free(d->policy_org);
    }
    free(c->dom);
    for (i = 0; i < c->n_atoms; i++) {
        free(c->atoms[i].s);
        example_free(&c->atoms[i].ex);
    }
    free(c->atoms);
    free(c->atab);
    free(c->reps);
    free(c->rm);
}

static const char *
txt(sift_row *r, int col)
{
    const char *s = sift_row_text(r, col);
    return s ? s : "";
}

static uint64_t
u64(sift_row *r, int col)
{
    int64_t v = sift_row_int(r, col);
    return v < 0 ? 0 : (uint64_t)v;
}

/* --- queries ------------------------------------------------------------- */

/* The reports in the filter, by id: the scan below joins in C. */
static const char q_reports[] =
    "SELECT r.id, r.policy_domain, r.org_name, r.date_begin, r.date_end"
    " FROM reports r WHERE" SIFT_REPORT_FILTER_SQL "ORDER BY r.id";

static int
on_report(void *payload, sift_row *row)
{
    ctx *c = payload;
    long dom, org;
    rep *r;

    if ((dom = intern(c, txt(row, 1))) < 0 || (org = intern(c, txt(row, 2))) < 0)
        return oom(c);
    if ((c->reps = grow(c->reps, &c->cap_reps, c->n_reps + 1,
                        sizeof(*c->reps))) == NULL)
        return oom(c);
    r = &c->reps[c->n_reps++];
    r->id = sift_row_int(row, 0);
    r->dom = (uint32_t)dom;
    r->org = (uint32_t)org;
    r->begin = sift_row_int(row, 3);
    r->end = sift_row_int(row, 4);
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
static const char q_reasons[] =
    "SELECT x.record_id, lower(coalesce(x.type, '')),"
    " lower(coalesce(x.comment, '')) LIKE '%arc=pass%' FROM reasons x";

static int
on_reason(void *payload, sift_row *row)
{
    ctx *c = payload;
    const char *t = txt(row, 1);
    int64_t id = sift_row_int(row, 0);
    unsigned bit = 0;
    int i;

    if (t[0] == '\0' || strcmp(t, "sampled_out") == 0 ||
        strcmp(t, "policy_test_mode") == 0) {
        if (sift_row_int(row, 2)) /* arc=pass in the comment */
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
    if ((c->rm = grow(c->rm, &c->cap_rm, c->n_rm + 1, sizeof(*c->rm))) ==
        NULL)
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

/* One sequential pass over the records (NOT INDEXED: a table scan beats
 * walking an index and sorting 10^6 rows for GROUP BY; see docs/report.md),
 * aggregated per (policy domain, source ip) in a hash table. */
/* Only what every record contributes: SQLite decoding columns is most of
 * the scan's time, so dmarc_fail and would_reject are derived from
 * outcome, and the inconsistency example's verdict columns are fetched
 * afterwards for the one record chosen per domain (q_example): 2.69 ->
 * 2.28 s over 5M records (bench row f); with the file memory-mapped,
 * each column fetched once, and no SQL expression: 1.94 s. */
#define Q_SCAN                                                                 \
    "SELECT c.report_id, c.source_ip, c.count, c.outcome,"                     \
    " c.flags, c.categories, c.header_from, c.spf_domain, c.dkim_domain,"      \
    " c.id FROM records c NOT INDEXED"
static const char q_scan[] = Q_SCAN;
/* The two halves of the scan on two cores, split at a record id. */
static const char q_scan_lo[] = Q_SCAN " WHERE c.id <= ?1";
static const char q_scan_hi[] = Q_SCAN " WHERE c.id > ?1";
static const char q_max_id[] = "SELECT coalesce(max(id), 0) FROM records";
static const char q_example[] =
    "SELECT pe_dkim, pe_spf, dkim_aligned, spf_aligned FROM records"
    " WHERE id = ?1";

/* 1 if the record in row should replace the example e. */
static int
better_example(const example *e, uint64_t count, int64_t begin,
               const char *org, int64_t id)
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

static int
on_record(void *payload, sift_row *row)
{
    ctx *c = payload;
    const rep *r = find_rep(c, sift_row_int(row, 0));
    uint64_t count;
    uint32_t flags;
    const char *env;
    source *s;
    int outcome;

    if (r == NULL) /* report outside the filter */
        return 0;
    if ((s = find_source(c, c->atoms[r->dom].s, txt(row, 1))) == NULL)
        return c->err ? c->err->code : SIFT_ENOMEM;
    count = u64(row, 2);
    outcome = (int)sift_row_int(row, 3);
    flags = (uint32_t)sift_row_int(row, 4);
    s->messages += count;
    if (outcome != SIFT_OUT_PASS) /* eval: dmarc_fail <=> not a pass */
        s->dmarc_fail += count;
    if (outcome == SIFT_OUT_WOULD_REJECT)
        s->would_reject += count;
    if (outcome == SIFT_OUT_OVERRIDDEN) {
        unsigned m = rm_lookup(c, sift_row_int(row, 9));
        int i;

        s->overridden += count;
        for (i = 0; i < N_EXEMPT; i++)
            if (m & (1u << i))
                c->atoms[r->dom].exempted[i] += count;
    } else if (outcome == SIFT_OUT_DNS_ERROR)
        s->dns_error += count;
    s->flags |= flags;
    s->cats |= (uint32_t)sift_row_int(row, 5);
    if (r->begin < s->first)
        s->first = r->begin;
    if (r->end > s->last)
        s->last = r->end;
    env = sift_row_text(row, 7); /* NULL: absent; "": null reverse-path */
    if (strset_add(&s->sfrom, sift_row_text(row, 6)) ||
        strset_add(&s->senv, env == NULL || env[0] ? env : "<>") ||
        strset_add(&s->sdkim, sift_row_text(row, 8)))
        return oom(c);
    ptrset_add(&s->srep, c->atoms[r->org].s);
    /* the same records as the reporter_inconsistent category; the example
     * shown is one where reporter and recomputation disagree */
    if (flags & (SIFT_FLAG_SPF_MISMATCH | SIFT_FLAG_DKIM_MISMATCH |
                 SIFT_FLAG_DMARC_MISMATCH | SIFT_FLAG_FROM_OUTSIDE_DOMAIN))
        s->inconsistent += count;
    if (flags & (SIFT_FLAG_SPF_MISMATCH | SIFT_FLAG_DKIM_MISMATCH |
                 SIFT_FLAG_DMARC_MISMATCH)) {
        example *e = &c->atoms[r->dom].ex;
        const char *org = c->atoms[r->org].s;
        int64_t id = sift_row_int(row, 9);

        if (better_example(e, count, r->begin, org, id)) {
            example_free(e);
            memset(e, 0, sizeof(*e));
            e->has = 1;
            e->org = org;
            e->count = count;
            e->begin = r->begin;
            e->rec_id = id;
            DUP_OR_FAIL(e->ip, txt(row, 1));
            DUP_OR_FAIL(e->from, sift_row_text(row, 6));
        }
    }
    return 0;
}

/* --- the record scan on two cores ---------------------------------------- */

/* The upper half of the records is scanned on a second thread, with its
 * own read-only handle, into its own sources, exemption counts and
 * examples (a ctx that shares the read-only tables: reports, reasons,
 * interned strings). Merging it after the lower half gives exactly what
 * one scan in id order gives: sums, ORs, min/max, the better example, and
 * set insertion in id order (the lower half's values first; a set that
 * overflowed in either half overflows). 1.95 -> 1.3 s over 5M records. */
typedef struct half {
    ctx c;
    sift_store *st;
    sift_param p;
    sift_err err;
    int rc;
} half;

static void *
scan_half(void *arg)
{
    half *h = arg;

    h->rc = sift_store_query(h->st, q_scan_hi, &h->p, 1, on_record, &h->c,
                             &h->err);
    return NULL;
}

static int
half_init(half *h, const ctx *c, const char *path)
{
    size_t i;

    memset(h, 0, sizeof(*h));
    h->c = *c;
    h->c.src = NULL;
    h->c.n_src = h->c.cap_src = 0;
    h->c.stab = NULL;
    h->c.stab_size = 0;
    h->c.last_rep = 0;
    h->c.dom = NULL;
    h->c.n_dom = h->c.cap_dom = 0;
    h->c.err = &h->err;
    sift_err_clear(&h->err);
    if ((h->c.atoms = calloc(c->n_atoms ? c->n_atoms : 1,
                             sizeof(*h->c.atoms))) == NULL)
        return SIFT_ENOMEM;
    for (i = 0; i < c->n_atoms; i++)
        h->c.atoms[i].s = c->atoms[i].s; /* shared: never freed here */
    h->c.cap_atoms = c->n_atoms;
    return sift_store_open(&h->st, path, SIFT_STORE_READONLY | SIFT_STORE_SCAN,
                           &h->err);
}

static void
half_free(half *h)
{
    size_t i;

    for (i = 0; i < h->c.n_src; i++) {
        free(h->c.src[i].ip);
        strset_free(&h->c.src[i].sfrom);
        strset_free(&h->c.src[i].senv);
        strset_free(&h->c.src[i].sdkim);
    }
    free(h->c.src);
    free(h->c.stab);
    for (i = 0; h->c.atoms != NULL && i < h->c.n_atoms; i++)
        example_free(&h->c.atoms[i].ex);
    free(h->c.atoms);
    sift_store_close(h->st);
}

static int
strset_merge(strset *to, const strset *from)
{
    uint32_t i;

    for (i = 0; i < from->n; i++)
        if (strset_add(to, from->v[i]) != SIFT_OK)
            return SIFT_ENOMEM;
    if (from->overflow)
        to->overflow = 1;
    return SIFT_OK;
}

/* Fold the upper half h into c, which holds the lower half. */
static int
merge_half(ctx *c, half *h)
{
    size_t i;
    uint32_t k;

    for (i = 0; i < c->n_atoms; i++) {
        atom *a = &c->atoms[i], *b = &h->c.atoms[i];
        for (k = 0; k < N_EXEMPT; k++)
            a->exempted[k] += b->exempted[k];
        if (b->ex.has && better_example(&a->ex, b->ex.count, b->ex.begin,
                                        b->ex.org, b->ex.rec_id)) {
            example_free(&a->ex);
            a->ex = b->ex;
            memset(&b->ex, 0, sizeof(b->ex));
        }
    }
    for (i = 0; i < h->c.n_src; i++) {
        const source *t = &h->c.src[i];
        source *s = find_source(c, t->domain, t->ip);

        if (s == NULL)
            return c->err->code != SIFT_OK ? c->err->code : SIFT_ENOMEM;
        s->messages += t->messages;
        s->dmarc_fail += t->dmarc_fail;
        s->would_reject += t->would_reject;
        s->overridden += t->overridden;
        s->dns_error += t->dns_error;
        s->inconsistent += t->inconsistent;
        s->cats |= t->cats;
        s->flags |= t->flags;
        if (t->first < s->first)
            s->first = t->first;
        if (t->last > s->last)
            s->last = t->last;
        if (strset_merge(&s->sfrom, &t->sfrom) != SIFT_OK ||
            strset_merge(&s->senv, &t->senv) != SIFT_OK ||
            strset_merge(&s->sdkim, &t->sdkim) != SIFT_OK)
            return oom(c);
        for (k = 0; k < t->srep.n; k++)
            ptrset_add(&s->srep, t->srep.v[k]);
        if (t->srep.overflow)
            s->srep.overflow = 1;
    }
    return SIFT_OK;
}

static int
on_max_id(void *payload, sift_row *row)
{
    *(int64_t *)payload = sift_row_int(row, 0);
    return 0;
}

/* Scan every record into c: on two cores when st is a read-only handle on
 * a file (a second handle then sees the same committed data), else in one
 * pass. */
static int
scan_records(ctx *c, sift_store *st, sift_err *err)
{
    const char *path = sift_store_path(st);
    int64_t max_id = 0;
    pthread_t tid;
    half h;
    int rc;

    if (!sift_store_is_readonly(st) || path == NULL ||
        strcmp(path, ":memory:") == 0 ||
        (rc = sift_store_query(st, q_max_id, NULL, 0, on_max_id, &max_id,
                               err)) != SIFT_OK ||
        max_id < 2)
        return sift_store_query(st, q_scan, NULL, 0, on_record, c, err);
    if (half_init(&h, c, path) != SIFT_OK) {
        half_free(&h); /* no second handle: one pass */
        return sift_store_query(st, q_scan, NULL, 0, on_record, c, err);
    }
    h.p.type = SIFT_P_INT;
    h.p.i = max_id / 2;
    if (pthread_create(&tid, NULL, scan_half, &h) != 0) {
        half_free(&h);
        return sift_store_query(st, q_scan, NULL, 0, on_record, c, err);
    }
    rc = sift_store_query(st, q_scan_lo, &h.p, 1, on_record, c, err);
    pthread_join(tid, NULL);
    if (rc == SIFT_OK && h.rc != SIFT_OK) {
        *err = h.err;
        rc = h.rc;
    }
    if (rc == SIFT_OK)
        rc = merge_half(c, &h);
    half_free(&h);
    return rc;
}

/* q_example's row: the verdict columns of a domain's example record. */
static int
on_example(void *payload, sift_row *row)
{
    example *e = payload;
    const char *d = sift_row_text(row, 0), *sp = sift_row_text(row, 1);

    if ((d != NULL && (e->pe_dkim = strdup(d)) == NULL) ||
        (sp != NULL && (e->pe_spf = strdup(sp)) == NULL))
        return SIFT_ENOMEM;
    e->dkim_al = (int)sift_row_int(row, 2);
    e->spf_al = (int)sift_row_int(row, 3);
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
        sift_param p = {SIFT_P_INT, 0, NULL};

        if (!e->has)
            continue;
        p.i = e->rec_id;
        if ((rc = sift_store_query(st, q_example, &p, 1, on_example, e,
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

/* Lists to show, and the sender, once the scan is over. */
static void
finish_sources(ctx *c)
{
    size_t i;

    for (i = 0; i < c->n_src; i++) {
        source *s = &c->src[i];
        show(&s->from, (const char **)s->sfrom.v, s->sfrom.n,
             s->sfrom.overflow);
        show(&s->env, (const char **)s->senv.v, s->senv.n, s->senv.overflow);
        show(&s->dkim, (const char **)s->sdkim.v, s->sdkim.n,
             s->sdkim.overflow);
        show(&s->reporters, s->srep.v, s->srep.n, s->srep.overflow);
        s->sender = identify(s);
    }
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

static const char q_policy[] =
    "SELECT policy_domain, p, sp, np, pct, testing, adkim, aspf, org_name,"
    " date_end FROM (SELECT r.*, row_number() OVER (PARTITION BY"
    " r.policy_domain ORDER BY r.date_end DESC, r.date_begin DESC,"
    " r.org_name, r.id) AS rn FROM reports r WHERE" SIFT_REPORT_FILTER_SQL
    ") WHERE rn = 1 ORDER BY policy_domain";

static int
on_policy(void *payload, sift_row *row)
{
    ctx *c = payload;
    domain *d = find_domain(c, txt(row, 0));

    if (d == NULL) /* a report without records */
        return 0;
    d->has_policy = 1;
    DUP_OR_FAIL(d->p, sift_row_text(row, 1));
    DUP_OR_FAIL(d->sp, sift_row_text(row, 2));
    DUP_OR_FAIL(d->np, sift_row_text(row, 3));
    d->pct = sift_row_is_null(row, 4) ? -1 : sift_row_int(row, 4);
    DUP_OR_FAIL(d->testing, sift_row_text(row, 5));
    DUP_OR_FAIL(d->adkim, sift_row_text(row, 6));
    DUP_OR_FAIL(d->aspf, sift_row_text(row, 7));
    DUP_OR_FAIL(d->policy_org, sift_row_text(row, 8));
    d->policy_end = sift_row_int(row, 9);
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
        }
        d->n_src++;
        d->messages += s->messages;
        d->dmarc_fail += s->dmarc_fail;
        d->would_reject += s->would_reject;
        d->overridden += s->overridden;
        d->dns_error += s->dns_error;
        d->inconsistent += s->inconsistent;
        if (s->would_reject > 0)
            d->reject_sources++;
    }
    return SIFT_OK;
}

/* --- advice -------------------------------------------------------------- */

#define HAS(s, cat) (((s)->cats >> (cat)) & 1u)

static const char *
first(const strlist *l, const char *dflt)
{
    return l->n ? l->v[0] : dflt;
}

/* One line of advice for a source, into b (bounded). The order is the
 * order of importance: what stops a rejection first. */
static void
advice(char *b, size_t n, const source *s)
{
    const char *from = first(&s->from, "the From domain");
    const char *x = first(&s->env, "the envelope domain");
    const char *z = first(&s->dkim, "the signing domain");

    if (s->dmarc_fail == 0) {
        if (HAS(s, SIFT_CAT_FORWARDED_DKIM_INTACT))
            snprintf(b, n, "none: DMARC passes on DKIM; SPF breaks at this "
                           "forwarder, which is harmless");
        else
            snprintf(b, n, "none: all messages pass DMARC");
    } else if (s->would_reject == 0 && s->dns_error > 0 &&
               s->overridden == 0) {
        int both = s->dkim.n && strcasecmp(x, z) != 0;
        snprintf(b, n, "transient DNS errors (temperror): check that the "
                       "DNS servers of %s%s%s answer reliably", x,
                 both ? " and " : "", both ? z : "");
    } else if (s->would_reject == 0) {
        snprintf(b, n, "receivers exempt this mail (forwarding, mailing "
                       "list or ARC): nothing to fix at the source; keep "
                       "DKIM signing aligned so it survives forwarding");
    } else if (HAS(s, SIFT_CAT_FORWARDED_BOTH_BROKEN)) {
        /* the broken signature is the one aligned with From (F2), which
         * may be a parent or sibling domain of it under relaxed rules */
        snprintf(b, n, "forwarder or mailing list altered the message "
                       "(the DKIM signature aligned with %s broke): nothing "
                       "to fix at the source; ask the list to use ARC or "
                       "From rewriting", from);
    } else if (s->sender != NULL &&
               (HAS(s, SIFT_CAT_UNCONFIGURED_THIRD_PARTY) ||
                HAS(s, SIFT_CAT_SPF_NOT_ALIGNED) ||
                HAS(s, SIFT_CAT_DKIM_THIRD_PARTY))) {
        snprintf(b, n, "%s: %s (SPF alone does not align: %s only helps "
                       "with a custom return-path under %s)",
                 s->sender->name, s->sender->fix,
                 s->sender->spf_include ? s->sender->spf_include
                                        : "an SPF include",
                 from);
    } else if (HAS(s, SIFT_CAT_UNCONFIGURED_THIRD_PARTY) ||
               HAS(s, SIFT_CAT_DKIM_THIRD_PARTY)) {
        snprintf(b, n, "third-party sender: have it sign with a custom "
                       "DKIM domain under %s (d=%s now), or use a "
                       "return-path under %s",
                 from, z, from);
    } else if (HAS(s, SIFT_CAT_SPF_NOT_ALIGNED)) {
        snprintf(b, n, "SPF passes for %s, which is not aligned with %s: "
                       "use a return-path under %s or sign with DKIM "
                       "d=%s",
                 x, from, from, from);
    } else if (HAS(s, SIFT_CAT_SPF_PERMERROR)) {
        snprintf(b, n, "fix the SPF record of %s (permerror: syntax, more "
                       "than 10 DNS lookups or several records)", x);
    } else if (HAS(s, SIFT_CAT_DKIM_FAIL) || HAS(s, SIFT_CAT_DKIM_PERMERROR)) {
        snprintf(b, n, "DKIM for d=%s does not verify: check the selector's "
                       "public key in DNS and that nothing rewrites the "
                       "message after signing", z);
    } else if (HAS(s, SIFT_CAT_UNAUTHENTICATED)) {
        snprintf(b, n, "unauthenticated: if this server is yours, add it "
                       "to the SPF of %s (ip4:/ip6:%s) and sign with DKIM "
                       "d=%s; otherwise it is spoofing that p=reject blocks",
                 from, s->ip, from);
    } else {
        snprintf(b, n, "authorize this source for %s: an SPF-passing "
                       "return-path under %s or DKIM signing with d=%s; "
                       "if it is not yours, p=reject blocks it",
                 from, from, from);
    }
}

/* --- text ---------------------------------------------------------------- */

/* Word-wrap `s` (already safe: no control characters) at WRAP columns,
 * first line prefixed by `lead`, the others by `indent`. Runs of spaces
 * collapse; a word longer than a line is not broken. */
static void
wrap(FILE *fp, const char *lead, const char *indent, const char *s)
{
    size_t col = strlen(lead), ind = strlen(indent), w;
    const char *p = s, *e, *q;
    int first_word = 1;

    fputs(lead, fp);
    for (;;) {
        while (*p == ' ')
            p++;
        if (*p == '\0')
            break;
        if ((e = strchr(p, ' ')) == NULL)
            e = p + strlen(p);
        for (w = 0, q = p; q < e; q++) /* display width: code points */
            if (((unsigned char)*q & 0xc0) != 0x80)
                w++;
        if (!first_word && col + 1 + w > WRAP) {
            fputc('\n', fp);
            fputs(indent, fp);
            col = ind;
            first_word = 1;
        }
        if (!first_word) {
            fputc(' ', fp);
            col++;
        }
        fwrite(p, 1, (size_t)(e - p), fp);
        col += w;
        first_word = 0;
        p = e;
    }
    fputc('\n', fp);
}

/* A line assembled in memory (escaped), then wrapped. */
typedef struct line {
    char *p;
    size_t n;
    FILE *fp;
} line;

static int
line_open(line *l)
{
    l->p = NULL;
    l->n = 0;
    l->fp = open_memstream(&l->p, &l->n);
    return l->fp ? SIFT_OK : SIFT_ENOMEM;
}

static void
line_flush(line *l, FILE *out, const char *lead, const char *indent)
{
    fflush(l->fp);
    wrap(out, lead, indent, l->p ? l->p : "");
    fclose(l->fp);
    free(l->p);
    l->fp = NULL;
    l->p = NULL;
}

static void
list_text(FILE *fp, const strlist *l)
{
    size_t i;

    if (l->n == 0) {
        fputs("-", fp);
        return;
    }
    for (i = 0; i < l->n; i++) {
        if (i)
            fputs(", ", fp);
        sift_text_safe(fp, l->v[i]);
    }
    if (l->more)
        fprintf(fp, " (+%zu or more)", l->total - l->n + 1);
    else if (l->total > l->n)
        fprintf(fp, " (+%zu more)", l->total - l->n);
}

/* "x.y" percent of part in whole, rounded half up; integer arithmetic so
 * output does not depend on floating point. */
static void
percent(char *buf, size_t n, uint64_t part, uint64_t whole)
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

static const char *
or_dash(const char *s)
{
    return s && *s ? s : "-";
}

/* Category words; SPF ones name the SPF domain when the source has only
 * one. DKIM ones do not: a record keeps one explanation d= (dkim_domain),
 * not which signature each DKIM category is about. */
static void
cats_text(FILE *fp, const source *s)
{
    int i, n = 0;

    for (i = 0; i < SIFT_CAT__COUNT; i++) {
        if (!HAS(s, i))
            continue;
        if (n++)
            fputs("; ", fp);
        fputs(sift_category_text((sift_category)i), fp);
        switch (i) {
        case SIFT_CAT_PASS_SPF_ALIGNED:
        case SIFT_CAT_SPF_NOT_ALIGNED:
        case SIFT_CAT_SPF_SOFTFAIL:
        case SIFT_CAT_SPF_FAIL:
        case SIFT_CAT_SPF_NEUTRAL:
        case SIFT_CAT_SPF_NONE:
        case SIFT_CAT_SPF_TEMPERROR:
        case SIFT_CAT_SPF_PERMERROR:
        case SIFT_CAT_SPF_POLICY:
            if (s->env.total == 1) { /* only when unambiguous */
                fputs(" (", fp);
                sift_text_safe(fp, s->env.v[0]);
                fputs(")", fp);
            }
            break;
        default:
            break;
        }
    }
}

static int
write_text(FILE *fp, ctx *c, const sift_report_totals *t)
{
    char a[32], b[32], p1[32], d1[24], d2[24], adv[1024];
    size_t i, j, k;
    line l;

    if (line_open(&l))
        return SIFT_ENOMEM;
    fprintf(l.fp, "dmarcsift report: %zu domain%s, %s messages, %s would be "
                  "rejected under p=reject",
            c->n_dom, c->n_dom == 1 ? "" : "s",
            sift_fmt_thousands(a, sizeof(a), t->messages),
            sift_fmt_thousands(b, sizeof(b), t->would_reject));
    line_flush(&l, fp, "", "  ");
    if (c->n_dom == 0)
        fputs("no records match\n", fp);
    for (i = 0; i < c->n_dom; i++) {
        domain *d = &c->dom[i];

        fputs("\n== ", fp);
        sift_text_safe(fp, d->name[0] ? d->name : "(no policy domain)");
        fputs(" ==\n", fp);
        if (d->has_policy) {
            if (line_open(&l))
                return SIFT_ENOMEM;
            sift_report__date(d1, sizeof(d1), d->policy_end, 0);
            fputs("Published policy: p=", l.fp);
            sift_text_safe(l.fp, or_dash(d->p));
            fputs(" sp=", l.fp);
            sift_text_safe(l.fp, or_dash(d->sp));
            fputs(" np=", l.fp);
            sift_text_safe(l.fp, or_dash(d->np));
            if (d->pct >= 0)
                fprintf(l.fp, " pct=%" PRId64, d->pct);
            else
                fputs(" pct=-", l.fp);
            fputs(" t=", l.fp);
            sift_text_safe(l.fp, or_dash(d->testing));
            fputs(" adkim=", l.fp);
            sift_text_safe(l.fp, or_dash(d->adkim));
            fputs(" aspf=", l.fp);
            sift_text_safe(l.fp, or_dash(d->aspf));
            fprintf(l.fp, " (as of %s, ", d1);
            sift_text_safe(l.fp, or_dash(d->policy_org));
            fputs(")", l.fp);
            line_flush(&l, fp, "", "  ");
        }
        percent(p1, sizeof(p1), d->messages - d->dmarc_fail, d->messages);
        fprintf(fp, "Messages: %s, DMARC pass: %s (%s%%), DMARC fail: %s\n",
                sift_fmt_thousands(a, sizeof(a), d->messages),
                sift_fmt_thousands(b, sizeof(b),
                                   d->messages - d->dmarc_fail),
                p1, sift_fmt_thousands(d1, sizeof(d1), d->dmarc_fail));
        percent(p1, sizeof(p1), d->would_reject, d->messages);
        if (line_open(&l))
            return SIFT_ENOMEM;
        fprintf(l.fp, "Under p=reject, %s messages (%s%%) from %" PRIu64
                      " source%s would be rejected (550 5.7.1; Gmail: "
                      "5.7.26)",
                sift_fmt_thousands(a, sizeof(a), d->would_reject), p1,
                d->reject_sources, d->reject_sources == 1 ? "" : "s");
        line_flush(&l, fp, "", "  ");
        if (line_open(&l))
            return SIFT_ENOMEM;
        fprintf(l.fp, "Exempted by receivers: %s",
                sift_fmt_thousands(a, sizeof(a), d->overridden));
        for (j = 0, k = 0; j < N_EXEMPT; j++) {
            if (d->exempted[j] == 0)
                continue;
            fputs(k++ ? ", " : " (", l.fp);
            fprintf(l.fp, "%s %s", exempt_types[j],
                    sift_fmt_thousands(a, sizeof(a), d->exempted[j]));
        }
        if (k)
            fputs(")", l.fp);
        line_flush(&l, fp, "", "  ");
        fprintf(fp, "DNS errors (temperror, indeterminate): %s\n",
                sift_fmt_thousands(a, sizeof(a), d->dns_error));
        if (line_open(&l))
            return SIFT_ENOMEM;
        fprintf(l.fp, "Reporter inconsistencies: %s messages",
                sift_fmt_thousands(a, sizeof(a), d->inconsistent));
        if (d->example->has) {
            fputs(", e.g. ", l.fp);
            sift_text_safe(l.fp, or_dash(d->example->org));
            fputs(" says dkim=", l.fp);
            sift_text_safe(l.fp, or_dash(d->example->pe_dkim));
            fputs(" spf=", l.fp);
            sift_text_safe(l.fp, or_dash(d->example->pe_spf));
            fputs(" for ", l.fp);
            sift_text_safe(l.fp, or_dash(d->example->ip));
            fputs(" (From ", l.fp);
            sift_text_safe(l.fp, or_dash(d->example->from));
            fprintf(l.fp, "), the raw results suggest dkim=%s spf=%s",
                    d->example->dkim_al ? "pass" : "fail",
                    d->example->spf_al ? "pass" : "fail");
        }
        line_flush(&l, fp, "", "  ");

        for (j = d->first_src; j < d->first_src + d->n_src; j++) {
            source *s = &c->src[j];

            fputs("\n  ", fp);
            sift_text_safe(fp, s->ip[0] ? s->ip : "(no source ip)");
            fputs("  ", fp);
            fputs(s->sender ? s->sender->name : "unknown sender", fp);
            fputc('\n', fp);
            fprintf(fp, "    messages %s, DMARC fail %s, would reject %s\n",
                    sift_fmt_thousands(a, sizeof(a), s->messages),
                    sift_fmt_thousands(b, sizeof(b), s->dmarc_fail),
                    sift_fmt_thousands(d1, sizeof(d1), s->would_reject));
            if (line_open(&l))
                return SIFT_ENOMEM;
            cats_text(l.fp, s);
            line_flush(&l, fp, "    why: ", "      ");
            if (line_open(&l))
                return SIFT_ENOMEM;
            fputs("From ", l.fp);
            list_text(l.fp, &s->from);
            fputs("; envelope ", l.fp);
            list_text(l.fp, &s->env);
            fputs("; DKIM d= ", l.fp);
            list_text(l.fp, &s->dkim);
            line_flush(&l, fp, "    ", "      ");
            if (line_open(&l))
                return SIFT_ENOMEM;
            sift_report__date(d1, sizeof(d1), s->first, 0);
            sift_report__date(d2, sizeof(d2), s->last, 0);
            fputs("reported by ", l.fp);
            list_text(l.fp, &s->reporters);
            fprintf(l.fp, "; seen %s .. %s", d1, d2);
            line_flush(&l, fp, "    ", "      ");
            if (line_open(&l))
                return SIFT_ENOMEM;
            advice(adv, sizeof(adv), s);
            sift_text_safe(l.fp, adv);
            line_flush(&l, fp, "    fix: ", "      ");
        }
    }
    return SIFT_OK;
}

/* --- JSON ---------------------------------------------------------------- */

static void
list_json(FILE *fp, const strlist *l)
{
    size_t i;

    fputc('[', fp);
    for (i = 0; i < l->n; i++) {
        if (i)
            fputs(", ", fp);
        sift_json_str(fp, l->v[i]);
    }
    fputc(']', fp);
}

static void
cats_json(FILE *fp, uint32_t cats)
{
    int i, n = 0;

    fputc('[', fp);
    for (i = 0; i < SIFT_CAT__COUNT; i++) {
        if (!((cats >> i) & 1u))
            continue;
        if (n++)
            fputs(", ", fp);
        sift_json_str(fp, sift_category_code((sift_category)i));
    }
    fputc(']', fp);
}

static void
write_json(FILE *fp, ctx *c, const sift_report_totals *t)
{
    char d1[24], d2[24], p1[32], adv[1024];
    size_t i, j, k;

    fprintf(fp,
            "{\n  \"messages\": %" PRIu64 ",\n  \"dmarc_fail\": %" PRIu64
            ",\n  \"would_reject\": %" PRIu64 ",\n  \"domains\": [",
            t->messages, t->dmarc_fail, t->would_reject);
    for (i = 0; i < c->n_dom; i++) {
        domain *d = &c->dom[i];

        fputs(i ? ",\n    {\n" : "\n    {\n", fp);
        fputs("      \"domain\": ", fp);
        sift_json_str(fp, d->name);
        if (d->has_policy) {
            sift_report__date(d1, sizeof(d1), d->policy_end, 1);
            fputs(",\n      \"policy\": {\"p\": ", fp);
            sift_json_str(fp, d->p);
            fputs(", \"sp\": ", fp);
            sift_json_str(fp, d->sp);
            fputs(", \"np\": ", fp);
            sift_json_str(fp, d->np);
            if (d->pct >= 0)
                fprintf(fp, ", \"pct\": %" PRId64, d->pct);
            else
                fputs(", \"pct\": null", fp);
            fputs(", \"testing\": ", fp);
            sift_json_str(fp, d->testing);
            fputs(", \"adkim\": ", fp);
            sift_json_str(fp, d->adkim);
            fputs(", \"aspf\": ", fp);
            sift_json_str(fp, d->aspf);
            fputs(", \"reporter\": ", fp);
            sift_json_str(fp, d->policy_org);
            fprintf(fp, ", \"as_of\": \"%s\"}", d1);
        } else {
            fputs(",\n      \"policy\": null", fp);
        }
        percent(p1, sizeof(p1), d->messages - d->dmarc_fail, d->messages);
        fprintf(fp,
                ",\n      \"messages\": %" PRIu64
                ",\n      \"dmarc_pass\": %" PRIu64
                ",\n      \"dmarc_pass_rate\": %s"
                ",\n      \"dmarc_fail\": %" PRIu64
                ",\n      \"would_reject\": %" PRIu64,
                d->messages, d->messages - d->dmarc_fail, p1, d->dmarc_fail,
                d->would_reject);
        percent(p1, sizeof(p1), d->would_reject, d->messages);
        fprintf(fp,
                ",\n      \"would_reject_rate\": %s"
                ",\n      \"would_reject_sources\": %" PRIu64
                ",\n      \"exempted\": {\"messages\": %" PRIu64
                ", \"by_reason\": {",
                p1, d->reject_sources, d->overridden);
        for (j = 0, k = 0; j < N_EXEMPT; j++) {
            if (d->exempted[j] == 0)
                continue;
            fprintf(fp, "%s\"%s\": %" PRIu64, k++ ? ", " : "",
                    exempt_types[j], d->exempted[j]);
        }
        fprintf(fp,
                "}},\n      \"dns_errors\": %" PRIu64
                ",\n      \"inconsistencies\": {\"messages\": %" PRIu64
                ", \"example\": ",
                d->dns_error, d->inconsistent);
        if (d->example->has) {
            fputs("{\"reporter\": ", fp);
            sift_json_str(fp, d->example->org);
            fputs(", \"source_ip\": ", fp);
            sift_json_str(fp, d->example->ip);
            fputs(", \"header_from\": ", fp);
            sift_json_str(fp, d->example->from);
            fputs(", \"reported_dkim\": ", fp);
            sift_json_str(fp, d->example->pe_dkim);
            fputs(", \"reported_spf\": ", fp);
            sift_json_str(fp, d->example->pe_spf);
            fprintf(fp,
                    ", \"recomputed_dkim\": \"%s\", \"recomputed_spf\": "
                    "\"%s\", \"messages\": %" PRIu64 "}",
                    d->example->dkim_al ? "pass" : "fail",
                    d->example->spf_al ? "pass" : "fail", d->example->count);
        } else {
            fputs("null", fp);
        }
        fputs("},\n      \"sources\": [", fp);
        for (j = d->first_src; j < d->first_src + d->n_src; j++) {
            source *s = &c->src[j];

            fputs(j > d->first_src ? ",\n        {" : "\n        {", fp);
            fputs("\"source_ip\": ", fp);
            sift_json_str(fp, s->ip);
            fputs(", \"sender\": ", fp);
            sift_json_str(fp, s->sender ? s->sender->name : NULL);
            fprintf(fp,
                    ", \"messages\": %" PRIu64 ", \"dmarc_fail\": %" PRIu64
                    ", \"would_reject\": %" PRIu64
                    ", \"exempted\": %" PRIu64 ", \"dns_errors\": %" PRIu64
                    ", \"inconsistent\": %" PRIu64 ",\n         \"categories\": ",
                    s->messages, s->dmarc_fail, s->would_reject,
                    s->overridden, s->dns_error, s->inconsistent);
            cats_json(fp, s->cats);
            fputs(",\n         \"header_from\": ", fp);
            list_json(fp, &s->from);
            fputs(", \"envelope_domains\": ", fp);
            list_json(fp, &s->env);
            fputs(", \"dkim_domains\": ", fp);
            list_json(fp, &s->dkim);
            fputs(",\n         \"reporters\": ", fp);
            list_json(fp, &s->reporters);
            sift_report__date(d1, sizeof(d1), s->first, 1);
            sift_report__date(d2, sizeof(d2), s->last, 1);
            fprintf(fp, ", \"first_seen\": \"%s\", \"last_seen\": \"%s\"",
                    d1, d2);
            advice(adv, sizeof(adv), s);
            fputs(",\n         \"advice\": ", fp);
            sift_json_str(fp, adv);
            fputc('}', fp);
        }
        fputs(d->n_src ? "\n      ]\n    }" : "]\n    }", fp);
    }
    fputs(c->n_dom ? "\n  ]\n}\n" : "]\n}\n", fp);
}

/* --- CSV ----------------------------------------------------------------- */

static void
list_csv(FILE *fp, const strlist *l)
{
    char *buf = NULL;
    size_t n = 0, i;
    FILE *m = open_memstream(&buf, &n);

    if (m == NULL)
        return;
    /* ';' between values, as in export's child lists: an org_name may
     * hold spaces; ';' and '%' inside a value are written %3B and %25 */
    for (i = 0; i < l->n; i++) {
        const char *v;
        if (i)
            fputc(';', m);
        for (v = l->v[i]; *v; v++) {
            if (*v == ';')
                fputs("%3B", m);
            else if (*v == '%')
                fputs("%25", m);
            else
                fputc(*v, m);
        }
    }
    fclose(m);
    sift_report__csv(fp, buf);
    free(buf);
}

static void
write_csv(FILE *fp, ctx *c)
{
    char d1[24], d2[24], adv[1024];
    size_t i, j;
    int k, n;

    fputs("domain,p,source_ip,sender,messages,dmarc_fail,would_reject,"
          "exempted,dns_errors,categories,header_from,envelope_domains,"
          "dkim_domains,reporters,first_seen,last_seen,advice\r\n",
          fp);
    for (i = 0; i < c->n_dom; i++) {
        domain *d = &c->dom[i];
        for (j = d->first_src; j < d->first_src + d->n_src; j++) {
            source *s = &c->src[j];

            sift_report__csv(fp, d->name);
            fputc(',', fp);
            sift_report__csv(fp, d->p);
            fputc(',', fp);
            sift_report__csv(fp, s->ip);
            fputc(',', fp);
            sift_report__csv(fp, s->sender ? s->sender->name : NULL);
            fprintf(fp,
                    ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64
                    ",%" PRIu64 ",",
                    s->messages, s->dmarc_fail, s->would_reject,
                    s->overridden, s->dns_error);
            for (k = 0, n = 0; k < SIFT_CAT__COUNT; k++) /* codes: safe */
                if ((s->cats >> k) & 1u)
                    fprintf(fp, "%s%s", n++ ? " " : "",
                            sift_category_code((sift_category)k));
            fputc(',', fp);
            list_csv(fp, &s->from);
            fputc(',', fp);
            list_csv(fp, &s->env);
            fputc(',', fp);
            list_csv(fp, &s->dkim);
            fputc(',', fp);
            list_csv(fp, &s->reporters);
            sift_report__date(d1, sizeof(d1), s->first, 1);
            sift_report__date(d2, sizeof(d2), s->last, 1);
            fprintf(fp, ",%s,%s,", d1, d2);
            advice(adv, sizeof(adv), s);
            sift_report__csv(fp, adv);
            fputs("\r\n", fp);
        }
    }
}

/* --- entry point --------------------------------------------------------- */

int
sift_report_write(FILE *fp, sift_report_totals *totals, sift_store *st,
                  const sift_filter *f, sift_format fmt, sift_err *err)
{
    sift_report_fparams fpar;
    sift_param *p = fpar.p;
    sift_report_totals t = {0, 0, 0};
    ctx c;
    size_t i;
    int rc;

    memset(&c, 0, sizeof(c));
    c.err = err;
    if (totals != NULL)
        memset(totals, 0, sizeof(*totals));
    if (fmt != SIFT_FMT_TEXT && fmt != SIFT_FMT_JSON && fmt != SIFT_FMT_CSV)
        return sift_err_set(err, SIFT_EUSAGE,
                            "report format must be text, json or csv");
    if ((rc = sift_report__params(&fpar, f, err)) != SIFT_OK)
        goto out;
    if ((rc = sift_store_query(st, q_reports, p, SIFT_REPORT_FILTER_NPARAMS,
                               on_report, &c, err)) != SIFT_OK)
        goto out;
    c.rm_sorted = 1;
    if (c.n_reps > 0 &&
        (rc = sift_store_query(st, q_reasons, NULL, 0, on_reason, &c,
                               err)) != SIFT_OK)
        goto out;
    rm_finish(&c);
    if (c.n_reps > 0 && (rc = scan_records(&c, st, err)) != SIFT_OK)
        goto out;
    if ((rc = fill_examples(&c, st, err)) != SIFT_OK)
        goto out;
    finish_sources(&c);
    if (c.n_src > 1)
        qsort(c.src, c.n_src, sizeof(*c.src), src_order);
    if ((rc = build_domains(&c)) != SIFT_OK)
        goto out;
    if ((rc = sift_store_query(st, q_policy, p, SIFT_REPORT_FILTER_NPARAMS,
                               on_policy, &c, err)) != SIFT_OK)
        goto out;
    for (i = 0; i < c.n_dom; i++) {
        t.messages += c.dom[i].messages;
        t.dmarc_fail += c.dom[i].dmarc_fail;
        t.would_reject += c.dom[i].would_reject;
    }
    switch (fmt) {
    case SIFT_FMT_TEXT:
        rc = write_text(fp, &c, &t);
        if (rc != SIFT_OK)
            sift_err_set(err, rc, "out of memory");
        break;
    case SIFT_FMT_JSON:
        write_json(fp, &c, &t);
        break;
    default:
        write_csv(fp, &c);
        break;
    }
    if (rc == SIFT_OK && (fflush(fp) != 0 || ferror(fp)))
        rc = sift_err_sys(err, "cannot write the report");
    if (rc == SIFT_OK && totals != NULL)
        *totals = t;
out:
    sift_report__params_free(&fpar);
    ctx_free(&c);
    return rc;
}
