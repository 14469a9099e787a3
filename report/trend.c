/* trend.c -- the report over time (docs/report.md "Over time"): per-day
 * series, first_seen and NEW senders against the history before the
 * window, silent reporters, and the readiness for enforcement.
 *
 * A report's messages are spread over the UTC days its range overlaps,
 * in proportion to the overlap, with integer shares that add up exactly
 * (largest remainder). The history before the window is scanned with the
 * window's records (one pass, model.c) into a second model, whose
 * senders are matched to the window's by kind and name. */
#include "report_int.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "sift_json.h"
#include "sift_util.h"

__extension__ typedef unsigned __int128 u128;

/* --- per-day series ------------------------------------------------------ */

size_t
sift_report__shares(int64_t *first_day, uint64_t *share, int64_t begin,
                    int64_t end, uint64_t count)
{
    uint64_t rem[MAX_SPREAD_DAYS], left = count;
    int64_t d0, d1, d;
    size_t k, i;

    if (end <= begin) { /* a broken range: its first day */
        *first_day = sift_day_of(begin);
        share[0] = count;
        return 1;
    }
    /* unsigned: a hostile range may not fit in int64_t */
    if ((uint64_t)end - (uint64_t)begin >
        (uint64_t)MAX_SPREAD_DAYS * DAY_SECONDS)
        begin = end - (int64_t)MAX_SPREAD_DAYS * DAY_SECONDS;
    d0 = sift_day_of(begin);
    d1 = sift_day_of(end - 1);
    *first_day = d0;
    if (d0 == d1) {
        share[0] = count;
        return 1;
    }
    k = (size_t)(d1 - d0 + 1);
    if (k > MAX_SPREAD_DAYS) { /* partial first and last days */
        k = MAX_SPREAD_DAYS;
        *first_day = d0 = d1 - MAX_SPREAD_DAYS + 1;
        begin = d0 * DAY_SECONDS;
    }
    for (i = 0, d = d0; i < k; i++, d++) {
        int64_t day0 = d * DAY_SECONDS, lo = day0 < begin ? begin : day0;
        int64_t hi = end - day0 > DAY_SECONDS ? day0 + DAY_SECONDS : end;
        u128 x;

        x = (u128)count * (uint64_t)(hi - lo);
        share[i] = (uint64_t)(x / (uint64_t)(end - begin));
        rem[i] = (uint64_t)(x % (uint64_t)(end - begin));
        left -= share[i];
    }
    /* the left-over messages (fewer than k) go to the largest
     * remainders, the earliest day first on a tie */
    while (left > 0) {
        size_t best = 0;
        for (i = 1; i < k; i++)
            if (rem[i] > rem[best])
                best = i;
        share[best]++;
        rem[best] = 0;
        left--;
    }
    return k;
}

/* The cell of `day` in s, inserted in order when new; NULL when out of
 * memory. Records come mostly in day order: the last cell first. */
static dayc *
cell(series *s, int64_t day)
{
    uint32_t lo = 0, hi = s->n;

    if (s->hint < s->n && s->v[s->hint].day == day)
        return &s->v[s->hint];
    if (s->n > 0 && s->v[s->n - 1].day < day)
        lo = s->n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (s->v[mid].day == day) {
            s->hint = mid;
            return &s->v[mid];
        }
        if (s->v[mid].day < day)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (s->n == s->cap) {
        uint32_t cap = s->cap ? s->cap * 2 : 4;
        dayc *v = realloc(s->v, cap * sizeof(*v));
        if (v == NULL)
            return NULL;
        s->v = v;
        s->cap = cap;
    }
    memmove(&s->v[lo + 1], &s->v[lo], (s->n - lo) * sizeof(*s->v));
    memset(&s->v[lo], 0, sizeof(*s->v));
    s->v[lo].day = day;
    s->n++;
    s->hint = lo;
    return &s->v[lo];
}

static void
cell_add(dayc *x, uint64_t n, int outcome)
{
    x->messages = sift_sat_add(x->messages, n);
    if (outcome == SIFT_OUT_PASS)
        x->pass = sift_sat_add(x->pass, n);
    else
        x->fail = sift_sat_add(x->fail, n);
    if (outcome == SIFT_OUT_WOULD_REJECT)
        x->would_reject = sift_sat_add(x->would_reject, n);
    else if (outcome == SIFT_OUT_OVERRIDDEN)
        x->exempted = sift_sat_add(x->exempted, n);
}

int
sift_report__spread(series *s, int64_t begin, int64_t end, uint64_t count,
                    int outcome)
{
    uint64_t share[MAX_SPREAD_DAYS];
    int64_t d0;
    size_t k, i;
    dayc *x;

    if (end > begin && sift_day_of(begin) == sift_day_of(end - 1)) {
        if ((x = cell(s, sift_day_of(begin))) == NULL) /* the usual case */
            return SIFT_ENOMEM;
        cell_add(x, count, outcome);
        return SIFT_OK;
    }
    k = sift_report__shares(&d0, share, begin, end, count);
    for (i = 0; i < k; i++) {
        if (share[i] == 0)
            continue;
        if ((x = cell(s, d0 + (int64_t)i)) == NULL)
            return SIFT_ENOMEM;
        cell_add(x, share[i], outcome);
    }
    return SIFT_OK;
}

int
sift_report__series_merge(series *to, const series *from)
{
    uint32_t i;
    dayc *x;

    for (i = 0; i < from->n; i++) {
        const dayc *y = &from->v[i];
        if ((x = cell(to, y->day)) == NULL)
            return SIFT_ENOMEM;
        x->messages = sift_sat_add(x->messages, y->messages);
        x->pass = sift_sat_add(x->pass, y->pass);
        x->fail = sift_sat_add(x->fail, y->fail);
        x->would_reject = sift_sat_add(x->would_reject, y->would_reject);
        x->exempted = sift_sat_add(x->exempted, y->exempted);
    }
    return SIFT_OK;
}

void
sift_report__series_free(series *s)
{
    free(s->v);
    memset(s, 0, sizeof(*s));
}

/* --- the history --------------------------------------------------------- */

static int
oom(ctx *c)
{
    return sift_err_set(c->err, SIFT_ENOMEM, "out of memory");
}

/* 1 if s is one of v[0..n) (ASCII case-insensitive), or n == 0 */
static int
in_list(const char *s, const char *const *v, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (strcasecmp(s, v[i]) == 0)
            return 1;
    return n == 0;
}

typedef struct load {
    ctx *c;
    int nomem;
} load;

static int
on_span(void *payload, const sift_report_span *r)
{
    load *l = payload;
    ctx *c = l->c;
    const sift_filter *f = c->filter;
    long dom, org;
    span *s;

    if (f != NULL && (!in_list(r->domain, f->domains, f->ndomains) ||
                      !in_list(r->org, f->reporters, f->nreporters)))
        return 0;
    if ((dom = sift_report__intern(c, r->domain)) < 0 ||
        (org = sift_report__intern(c, r->org)) < 0 ||
        (c->spans = sift_report__grow(c->spans, &c->cap_spans, c->n_spans + 1,
                                      sizeof(*c->spans))) == NULL) {
        l->nomem = 1;
        return oom(c);
    }
    s = &c->spans[c->n_spans++];
    s->id = r->id;
    s->begin = r->begin;
    s->end = r->end;
    s->dom = (uint32_t)dom;
    s->org = (uint32_t)org;
    return 0;
}

/* The history model: the window's strings (shared, never freed by it),
 * the reports that ended before the window. */
static int
hist_new(ctx *c, int64_t since)
{
    ctx *h;
    size_t i;

    for (i = 0; i < c->n_spans && c->spans[i].end > since; i++)
        ;
    if (i == c->n_spans) /* nothing before the window: no history */
        return SIFT_OK;
    if ((h = c->hist = calloc(1, sizeof(*h))) == NULL ||
        (h->atoms = calloc(c->n_atoms, sizeof(*h->atoms))) == NULL)
        return oom(c);
    for (i = 0; i < c->n_atoms; i++)
        h->atoms[i].s = c->atoms[i].s;
    h->n_atoms = h->cap_atoms = h->n_shared_atoms = c->n_atoms;
    h->err = c->err;
    h->opts = c->opts;
    h->filter = c->filter;
    h->series_off = 1;
    h->rm_sorted = 1;
    h->period_from = INT64_MAX;
    h->period_to = INT64_MIN;
    for (i = 0; i < c->n_spans; i++) {
        const span *s = &c->spans[i];
        rep *r;
        if (s->end > since)
            continue;
        if ((h->reps = sift_report__grow(h->reps, &h->cap_reps, h->n_reps + 1,
                                         sizeof(*h->reps))) == NULL)
            return oom(c);
        r = &h->reps[h->n_reps++];
        r->id = s->id;
        r->begin = s->begin;
        r->end = s->end;
        r->dom = s->dom;
        r->org = s->org;
    }
    return SIFT_OK;
}

int
sift_report__load_history(ctx *c, sift_store *st)
{
    const sift_filter *f = c->filter;
    load l = {c, 0};
    int rc;

    if ((rc = sift_store_report_spans(st, on_span, &l, c->err)) != SIFT_OK)
        return rc;
    /* now: --until when given, else the generation time; never before
     * the end of the newest report in the window */
    c->now = c->opts != NULL ? c->opts->generated_at : (int64_t)time(NULL);
    if (f != NULL && f->has_until)
        c->now = f->until;
    if (c->n_reps > 0 && c->period_to > c->now)
        c->now = c->period_to;
    if (f != NULL && f->has_since)
        return hist_new(c, f->since);
    return SIFT_OK;
}

/* --- first seen, NEW, absent senders ------------------------------------- */

static const domain *
hist_domain(const ctx *h, const char *name)
{
    size_t lo = 0, hi = h->n_dom;

    while (lo < hi) { /* sorted by name */
        size_t mid = (lo + hi) / 2;
        int r = strcmp(h->dom[mid].name, name);
        if (r == 0)
            return &h->dom[mid];
        if (r < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static int
snd_key(const sender *a, const sender *b)
{
    if (a->kind != b->kind)
        return a->kind < b->kind ? -1 : 1;
    return strcmp(a->name, b->name);
}

static int
sndp_order(const void *a, const void *b)
{
    return snd_key(*(const sender *const *)a, *(const sender *const *)b);
}

/* Pointers to d's senders in c sorted by (kind, name) (malloc'd), or
 * NULL when d has none or memory runs out (*nomem). */
static const sender **
by_key(const ctx *c, const domain *d, int *nomem)
{
    const sender **v;
    size_t k;

    if (d->n_snd == 0)
        return NULL;
    if ((v = malloc(d->n_snd * sizeof(*v))) == NULL) {
        *nomem = 1;
        return NULL;
    }
    for (k = 0; k < d->n_snd; k++)
        v[k] = &c->snd[d->first_snd + k];
    qsort(v, d->n_snd, sizeof(*v), sndp_order);
    return v;
}

/* The sender of v[0..n) (by_key order) with s's kind and name, or NULL */
static const sender *
same_sender(const sender *const *v, size_t n, const sender *s)
{
    size_t lo = 0, hi = n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int r = snd_key(v[mid], s);
        if (r == 0)
            return v[mid];
        if (r < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* own servers, services, forwarders: mail the owner wants delivered */
static int
legitimate(sift_sender_kind k)
{
    return k == SIFT_KIND_OWN || k == SIFT_KIND_SERVICE ||
           k == SIFT_KIND_FORWARDER;
}

static int
first_seen(ctx *c, domain *d)
{
    const domain *hd = c->hist ? hist_domain(c->hist, d->name) : NULL;
    const sender **hv = NULL, **wv = NULL, **ab;
    int nomem = 0;
    size_t k;

    d->has_history = hd != NULL;
    if (hd != NULL &&
        ((hv = by_key(c->hist, hd, &nomem)) == NULL ||
         (wv = by_key(c, d, &nomem)) == NULL) &&
        nomem) {
        free(hv);
        return oom(c);
    }
    for (k = d->first_snd; k < d->first_snd + d->n_snd; k++) {
        sender *t = &c->snd[k];
        const sender *h = hv ? same_sender(hv, hd->n_snd, t) : NULL;
        t->first_seen = t->first;
        if (h != NULL && h->first < t->first_seen)
            t->first_seen = h->first;
        /* other sources (--max-sources) are never NEW: their sources vary */
        t->is_new = hd != NULL && h == NULL && t->folded == 0;
    }
    for (k = 0; hd != NULL && k < hd->n_snd; k++) {
        const sender *h = &c->hist->snd[hd->first_snd + k];
        if (!legitimate(h->kind) ||
            (wv != NULL && same_sender(wv, d->n_snd, h) != NULL))
            continue;
        if ((ab = realloc(d->absent, (d->n_absent + 1) * sizeof(*ab))) ==
            NULL) {
            nomem = 1;
            break;
        }
        d->absent = ab;
        d->absent[d->n_absent++] = h;
    }
    free(hv);
    free(wv);
    return nomem ? oom(c) : SIFT_OK;
}

/* --- silent reporters ---------------------------------------------------- */

#define SILENT_FACTOR 3        /* usual intervals without a report */
#define SILENT_MIN (2 * 86400) /* and at least this long */
#define QUIET_DAYS 2           /* a domain without reports this long */

static int
cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

typedef struct dspan {
    uint32_t dom, org; /* atoms */
    int64_t end;
} dspan;

static int
dspan_order(const void *a, const void *b)
{
    const dspan *x = a, *y = b;

    if (x->dom != y->dom)
        return x->dom < y->dom ? -1 : 1;
    if (x->org != y->org)
        return x->org < y->org ? -1 : 1;
    return x->end < y->end ? -1 : x->end > y->end;
}

static int
silent_order(const void *a, const void *b)
{
    return strcmp(((const silent *)a)->org, ((const silent *)b)->org);
}

/* The reporters of d, from v[0..n): the spans up to now sorted by domain
 * atom, reporter atom and end. d's last report, and the reporters whose
 * usual interval (median gap between the distinct ends of their reports,
 * three reports at least) has passed SILENT_FACTOR times (and SILENT_MIN)
 * up to now, by name. */
static int
silence(ctx *c, domain *d, uint32_t dom, const dspan *v, size_t n,
        int64_t *gaps)
{
    size_t lo = 0, hi = n, i, j;
    int64_t ref;
    silent *t;

    while (lo < hi) { /* the first span of dom */
        size_t mid = lo + (hi - lo) / 2;
        if (v[mid].dom < dom)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (i = lo; i < n && v[i].dom == dom; i++)
        if (v[i].end > d->last_report)
            d->last_report = v[i].end;
    if (d->last_report > 0)
        d->quiet_days = (c->now - d->last_report) / DAY_SECONDS;
    /* a domain nobody reports on says so (quiet_days): its reporters are
     * measured against its last report, not now, so that only those
     * that stopped before the others are listed */
    ref = d->quiet_days >= QUIET_DAYS ? d->last_report : c->now;
    for (i = lo; i < n && v[i].dom == dom; i = j) {
        size_t ng = 0;
        int64_t gap, last;
        for (j = i + 1; j < n && v[j].dom == dom && v[j].org == v[i].org; j++)
            if (v[j].end > v[j - 1].end)
                gaps[ng++] = v[j].end - v[j - 1].end;
        last = v[j - 1].end;
        if (ng < 2)
            continue;
        qsort(gaps, ng, sizeof(*gaps), cmp_i64);
        gap = gaps[(ng - 1) / 2];
        if (ref - last <= SILENT_MIN || gap <= 0 ||
            (ref - last) / SILENT_FACTOR <= gap)
            continue;
        if ((t = realloc(d->silent, (d->n_silent + 1) * sizeof(*t))) == NULL)
            return oom(c);
        d->silent = t;
        t[d->n_silent].org = c->atoms[v[i].org].s;
        t[d->n_silent].last = last;
        t[d->n_silent].gap = gap;
        d->n_silent++;
    }
    if (d->n_silent > 1)
        qsort(d->silent, d->n_silent, sizeof(*d->silent), silent_order);
    return SIFT_OK;
}

/* --- readiness ----------------------------------------------------------- */

#define READY_MIN_DAYS 14      /* days with messages in the window */
#define READY_MIN_MESSAGES 100 /* messages in the window */
#define READY_TOLERANCE 1000   /* a sender blocks above 1/1000 rejected */
#define REASONS_MAX 8          /* reasons listed, then "and N more" */

const char *
sift_report__ready_code(ready_state s)
{
    static const char *const code[] = {"not_enough_data", "not_ready",
                                       "ready_for_quarantine",
                                       "ready_for_reject", "enforced"};
    return (unsigned)s < 5 ? code[s] : "unknown";
}

static int reason(ctx *c, domain *d, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Add one readiness reason (formatted, bounded). */
static int
reason(ctx *c, domain *d, const char *fmt, ...)
{
    char buf[512], **v;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if ((v = realloc(d->reasons, (d->n_reasons + 1) * sizeof(*v))) == NULL)
        return oom(c);
    d->reasons = v;
    if ((v[d->n_reasons] = strdup(buf)) == NULL)
        return oom(c);
    d->n_reasons++;
    return SIFT_OK;
}

static const char *
kind_word(sift_sender_kind k)
{
    return k == SIFT_KIND_SERVICE ? " (service)" : "";
}

static int
is(const char *v, const char *want)
{
    return v != NULL && strcasecmp(v, want) == 0;
}

static int
readiness(ctx *c, domain *d)
{
    uint64_t blocking = 0, more = 0;
    const char *p = d->has_policy && d->p ? d->p : "none";
    char pc[16], day[32], n1[32], n2[32];
    size_t k;
    int rc = SIFT_OK;

    for (k = 0; k < d->a->days.n; k++)
        if (d->a->days.v[k].messages > 0)
            d->data_days++;
    for (k = d->first_snd; k < d->first_snd + d->n_snd && rc == SIFT_OK; k++) {
        const sender *t = &c->snd[k];
        if (!legitimate(t->kind) || t->would_reject == 0 ||
            (u128)t->would_reject * READY_TOLERANCE <= t->messages)
            continue;
        if (blocking++ >= REASONS_MAX) {
            more++;
            continue;
        }
        sift_report__percent(pc, sizeof(pc), t->would_reject, t->messages);
        rc = reason(c, d, "%s%s: %s of %s messages would be rejected (%s%%)",
                    t->name, kind_word(t->kind),
                    sift_fmt_thousands(n1, sizeof(n1), t->would_reject),
                    sift_fmt_thousands(n2, sizeof(n2), t->messages), pc);
    }
    for (k = 0; k < d->n_absent && rc == SIFT_OK; k++) {
        const sender *h = d->absent[k];
        if (h->last_wr <= 0 || h->last_wr < h->last)
            continue; /* seen passing last time */
        if (blocking++ >= REASONS_MAX) {
            more++;
            continue;
        }
        sift_report__date(day, sizeof(day), h->last - 1, 0);
        rc = reason(c, d,
                    "%s%s: not seen in this period; last seen %s with "
                    "messages that would be rejected (a monthly or "
                    "quarterly sender?): wait until it is seen passing",
                    h->name, kind_word(h->kind), day);
    }
    if (rc == SIFT_OK && more > 0)
        rc = reason(c, d, "and %" PRIu64 " more senders", more);
    if (rc != SIFT_OK)
        return rc;
    if (is(d->p, "reject") && (d->pct < 0 || d->pct >= 100) &&
        !is(d->testing, "y")) {
        /* the failing senders above stay as reasons: they lose mail */
        d->ready = READY_ENFORCED;
        return reason(c, d,
                      "p=reject with pct=100 and no t=y: receivers "
                      "reject mail that fails DMARC");
    }
    if (blocking > 0) {
        d->ready = READY_NOT_READY;
        return SIFT_OK;
    }
    if (d->data_days < READY_MIN_DAYS || d->messages < READY_MIN_MESSAGES) {
        d->ready = READY_NOT_ENOUGH_DATA;
        if (d->data_days < READY_MIN_DAYS &&
            (rc = reason(c, d,
                         "%" PRIu64 " %s with reports in this period, "
                         "%d needed",
                         d->data_days, d->data_days == 1 ? "day" : "days",
                         READY_MIN_DAYS)) != SIFT_OK)
            return rc;
        if (d->messages < READY_MIN_MESSAGES)
            rc = reason(c, d, "%" PRIu64 " %s in this period, %d needed",
                        d->messages, d->messages == 1 ? "message" : "messages",
                        READY_MIN_MESSAGES);
        return rc;
    }
    d->ready = is(p, "quarantine") || is(p, "reject") ? READY_REJECT
                                                      : READY_QUARANTINE;
    if ((rc = reason(c, d,
                     "%" PRIu64 " days, %s messages: every "
                     "legitimate sender (own servers, services, "
                     "forwarders) passes DMARC or is exempted",
                     d->data_days,
                     sift_fmt_thousands(n1, sizeof(n1), d->messages))) !=
        SIFT_OK)
        return rc;
    if (d->would_reject > 0)
        rc = reason(c, d,
                    "%s messages from unknown or unauthenticated "
                    "senders would be rejected: what p=reject is for (check "
                    "that none of them is yours)",
                    sift_fmt_thousands(n1, sizeof(n1), d->would_reject));
    return rc;
}

static int
next_step(ctx *c, domain *d)
{
    const char *p = d->has_policy && d->p ? d->p : "none";
    char buf[1024];

    switch (d->ready) {
    case READY_NOT_ENOUGH_DATA:
        snprintf(buf, sizeof(buf),
                 "keep p=%s and collect at least %d days of reports, then "
                 "run again over them (report --since DATE)",
                 p, READY_MIN_DAYS);
        break;
    case READY_NOT_READY:
        snprintf(buf, sizeof(buf),
                 "stay at p=%s: fix the senders named in the reasons (see "
                 "their advice), then run again",
                 p);
        break;
    case READY_QUARANTINE:
        snprintf(buf, sizeof(buf),
                 "publish p=quarantine: with t=y first for RFC 9989 "
                 "receivers (they then treat failing mail as under p=none), "
                 "and t=n after a clean week; RFC 7489 receivers ignore t: "
                 "raise pct 10, 25, 50, 100 for them (RFC 9989 receivers "
                 "ignore pct). Leave sp= unset so subdomains follow p, and "
                 "publish np=reject (non-existent subdomains send no mail)");
        break;
    case READY_REJECT:
        snprintf(buf, sizeof(buf),
                 "publish p=reject: with t=y first for RFC 9989 receivers "
                 "(they then quarantine failing mail), and t=n after a "
                 "clean week; for RFC 7489 receivers raise pct 10, 25, 50, "
                 "100 (RFC 9989 receivers ignore pct). Then sp=reject (or "
                 "unset) and np=reject");
        break;
    default:
        snprintf(buf, sizeof(buf),
                 "%salert on NEW senders (report --since DATE "
                 "--fail-on-new)",
                 is(d->np, "reject") ? ""
                                     : "publish np=reject (non-existent "
                                       "subdomains send no mail); ");
        break;
    }
    if ((d->next_step = strdup(buf)) == NULL)
        return oom(c);
    return SIFT_OK;
}

int
sift_report__over_time(ctx *c)
{
    dspan *v = NULL;
    int64_t *gaps = NULL;
    size_t i, n = 0;
    int rc = SIFT_OK;

    if (c->n_spans > 0 && ((v = malloc(c->n_spans * sizeof(*v))) == NULL ||
                           (gaps = malloc(c->n_spans * sizeof(*gaps))) == NULL))
        rc = oom(c);
    for (i = 0; rc == SIFT_OK && i < c->n_spans; i++) {
        const span *s = &c->spans[i];
        if (s->begin >= c->now) /* after now: not yet */
            continue;
        v[n].dom = s->dom;
        v[n].org = s->org;
        v[n].end = s->end < c->now ? s->end : c->now;
        n++;
    }
    if (n > 1)
        qsort(v, n, sizeof(*v), dspan_order);
    for (i = 0; i < c->n_dom && rc == SIFT_OK; i++) {
        domain *d = &c->dom[i];
        long a = sift_report__intern(c, d->name);

        if (a < 0) {
            rc = oom(c);
            break;
        }
        d->a = &c->atoms[a]; /* interning may have moved the atoms */
        d->exempted = d->a->exempted;
        d->example = &d->a->ex;
        if ((rc = first_seen(c, d)) != SIFT_OK ||
            (rc = silence(c, d, (uint32_t)a, v, n, gaps)) != SIFT_OK ||
            (rc = readiness(c, d)) != SIFT_OK)
            break;
        rc = next_step(c, d);
    }
    free(v);
    free(gaps);
    return rc;
}

size_t
sift_report__by(dayc **out, const series *s, int by)
{
    dayc *v;
    size_t n = 0;
    uint32_t i;

    *out = NULL;
    if (s->n == 0)
        return 0;
    if ((v = malloc(s->n * sizeof(*v))) == NULL)
        return SIZE_MAX;
    for (i = 0; i < s->n; i++) {
        const dayc *y = &s->v[i];
        int64_t p = sift_period_of(y->day, by);
        if (n == 0 || v[n - 1].day != p) { /* s is in day order */
            memset(&v[n], 0, sizeof(*v));
            v[n++].day = p;
        }
        v[n - 1].messages = sift_sat_add(v[n - 1].messages, y->messages);
        v[n - 1].pass = sift_sat_add(v[n - 1].pass, y->pass);
        v[n - 1].fail = sift_sat_add(v[n - 1].fail, y->fail);
        v[n - 1].would_reject =
            sift_sat_add(v[n - 1].would_reject, y->would_reject);
        v[n - 1].exempted = sift_sat_add(v[n - 1].exempted, y->exempted);
    }
    *out = v;
    return n;
}
