/* report_int.h -- what report/'s files share; private to report/.
 *
 * model.c builds the summary model from the store (domains -> senders ->
 * sources with per-category message counts); render_text.c,
 * render_json.c and render_csv.c write it; advice.c holds the advice
 * rules; export.c streams records. Every read goes through the store's
 * typed calls (sift_store.h) with the filter as sift_store_filter. */
#ifndef SIFT_REPORT_INT_H
#define SIFT_REPORT_INT_H

#include "sift_report.h"

/* The store's filter from f (NULL: everything); strings borrowed. */
void sift_report__sfilter(sift_store_filter *out, const sift_filter *f);

/* Report time as "YYYY-MM-DDTHH:MM:SSZ" (full != 0) or "YYYY-MM-DD". */
void sift_report__date(char *buf, size_t n, int64_t t, int full);

/* One CSV cell via sift_csv_cell() (RFC 4180 quoting, formula guard),
 * after terminal controls are made visible: C0 controls other than TAB,
 * CR and LF, DEL, C1 controls and invalid UTF-8 bytes become "\\xHH". */
void sift_report__csv(FILE *fp, const char *s);

/* --- over time (trend.c; docs/report.md "Over time") --------------------- */

#define DAY_SECONDS 86400
/* A report longer than this is spread over its last MAX_SPREAD_DAYS */
#define MAX_SPREAD_DAYS 92

/* One UTC day's messages (day: days since 1970-01-01). */
typedef struct dayc {
    int64_t day;
    uint64_t messages, pass, fail, would_reject, exempted;
} dayc;

/* Days in ascending order; `hint` is the cell used last. */
typedef struct series {
    dayc *v;
    uint32_t n, cap, hint;
} series;

/* Add `count` messages of one record (outcome SIFT_OUT_*) of a report
 * over [begin, end) to s, spread over the UTC days it overlaps in
 * proportion to the overlap (largest remainder: the days' shares add up
 * to count exactly). SIFT_OK or SIFT_ENOMEM. */
int sift_report__spread(series *s, int64_t begin, int64_t end, uint64_t count,
                        int outcome);
/* Fold `from` into `to` (cell by cell). SIFT_OK or SIFT_ENOMEM. */
int sift_report__series_merge(series *to, const series *from);
void sift_report__series_free(series *s);
/* The shares of count over the days of [begin, end): k days from
 * *first_day, share[0..k), k <= MAX_SPREAD_DAYS. Returns k. */
size_t sift_report__shares(int64_t *first_day, uint64_t *share, int64_t begin,
                           int64_t end, uint64_t count);

/* Readiness states, in docs/report.md order. */
typedef enum ready_state {
    READY_NOT_ENOUGH_DATA = 0,
    READY_NOT_READY,
    READY_QUARANTINE,
    READY_REJECT,
    READY_ENFORCED
} ready_state;
const char *sift_report__ready_code(ready_state s);

/* A reporter of a domain that stopped reporting. */
typedef struct silent {
    const char *org; /* interned */
    int64_t last;    /* its newest report's end */
    int64_t gap;     /* its usual interval (median gap), seconds */
} silent;

/* A report of the whole history that passes the domain and reporter
 * filters (dates aside): for silence and the history scan. */
typedef struct span {
    int64_t id, begin, end;
    uint32_t dom, org; /* atoms */
} span;
/* --- cached source names (ptr.c; store/dns_cache.c) ---------------------- */

typedef struct sift_report_ptr {
    char *ip, *name; /* owned */
    int confirmed;   /* name's A/AAAA holds ip */
    char *org;       /* organisational domain of a confirmed name, or NULL */
} sift_report_ptr;

typedef struct sift_report_ptrs {
    sift_report_ptr *v; /* sorted by ip (strcmp) */
    size_t n, cap;
} sift_report_ptrs;

/* Read every cached name (expired ones too). SIFT_OK or an error; free with
 * sift_report__ptrs_free() either way. */
int sift_report__ptrs_load(sift_report_ptrs *m, sift_store *st, sift_err *err);
const sift_report_ptr *sift_report__ptr_find(const sift_report_ptrs *m,
                                             const char *ip);
void sift_report__ptrs_free(sift_report_ptrs *m);

/* --- what the policy domains publish (published.c) ---------------------- */

typedef struct sift_report_key {
    char *domain, *selector, *status, *type; /* owned; NULL absent */
    int present, bits;
} sift_report_key;

typedef struct sift_report_pub {
    char *domain; /* owned, like every string here; NULL absent */
    char *tree_at, *tree_record, *psl_at, *psl_record;
    char *spf_record, *spf_includes, *spf_error;
    int differ, spf_records, spf_lookups, spf_all;
    int64_t looked_up;
    sift_report_key *dkim;
    size_t n_dkim;
} sift_report_pub;

typedef struct sift_report_pubs {
    sift_report_pub *v;
    size_t n, cap;
} sift_report_pubs;

/* Read every published row with its DKIM keys. Free with
 * sift_report__pubs_free() either way. */
int sift_report__pubs_load(sift_report_pubs *m, sift_store *st, sift_err *err);
const sift_report_pub *sift_report__pub_find(const sift_report_pubs *m,
                                             const char *name);
void sift_report__pubs_free(sift_report_pubs *m);
/* Whether the published SPF (any level) holds this include: term. */
int sift_report__includes_has(const sift_report_pub *p, const char *include);

/* --- the summary model --------------------------------------------------- */

#define LIST_MAX 5  /* domains shown per list */
#define SET_CAP 32  /* distinct domains tracked per list */
#define IPS_SHOWN 3 /* IPs named per sender in the text digest */
/* The name of the sender that counts a domain's other sources together
 * past --max-sources (kind unknown). */
#define OTHER_SOURCES "other sources"

/* a + b, saturating at UINT64_MAX: a count never wraps (issue 18) */
static inline uint64_t
sift_sat_add(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* Distinct strings of one source (borrowed from the ctx's string pool
 * or its atoms), at most SET_CAP of them, in the order first seen; after
 * the scan sorted, and the list shows the LIST_MAX smallest. */
typedef struct strlist {
    const char **v;
    uint32_t total, cap; /* distinct values kept (<= SET_CAP), room */
    uint32_t n;          /* shown after the scan, <= LIST_MAX */
    int more;            /* and more than SET_CAP were seen */
} strlist;

/* One primary category of a source: its messages, and the identifiers of
 * its biggest record (the ones its advice names). */
typedef struct catx {
    uint8_t cat;
    uint64_t messages, best;
    /* pooled (ctx.pool); NULL absent, env "" null path */
    const char *from, *env, *dkim;
} catx;

typedef struct source {
    const char *domain; /* interned */
    char *ip;           /* the other sources row: "(N other sources)" */
    /* past --max-sources: the number of sources a domain's "other
     * sources" row counts together, 0 for a source of its own */
    uint64_t folded;
    uint64_t messages, dmarc_fail, would_reject, overridden, dns_error;
    uint64_t inconsistent;
    uint32_t cats, flags;
    int64_t first, last;
    strlist from, env, dkim, reporters;
    catx *cx; /* by primary category, largest first after the scan */
    uint32_t n_cx;
    const sift_sender *sender;
    sift_sender_kind kind;
    const char *sender_name; /* interned or static */
    size_t sender_idx;       /* into ctx.snd */
    sift_sender_label label; /* from the owner's configuration */
    int own_net;             /* in an [owner] network */
    int64_t last_wr;         /* newest report end with would-reject mail */
    series days;             /* per day, with --by only */
    /* its cached name (ctx.ptrs) or NULL, and the known service its
     * confirmed name belongs to or NULL (docs/dns.md) */
    const sift_report_ptr *ptr;
    const sift_sender *ptr_sender;
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

/* Exempting reason types, in output order; anything else counts as
 * "other" (standards.md §1.5), as does an empty type whose comment says
 * arc=pass. */
#define N_EXEMPT 5
#define EXEMPT_OTHER 3
extern const char *const sift_report__exempt_types[N_EXEMPT];

/* Receivers' dispositions, as reported: none (or RFC 9990's pass),
 * quarantine, reject. */
enum { DISP_NONE, DISP_QUARANTINE, DISP_REJECT, DISP__COUNT };

/* An interned string: a policy domain or an org_name. Per policy
 * domain, the counts that only a domain has. */
typedef struct atom {
    char *s;
    example ex;                  /* used for policy domains */
    uint64_t exempted[N_EXEMPT]; /* messages, by reason type */
    uint64_t disp[DISP__COUNT];  /* messages, by reported disposition */
    uint64_t sub_messages, sub_would_reject; /* From a subdomain */
    uint64_t pe_missing; /* no <dkim>/<spf> in policy_evaluated */
    series days;         /* per day (policy domains) */
    /* past --max-sources (a policy domain): its sources with a row of
     * their own, the ones counted together, that row (index + 1) */
    uint64_t kept, folded;
    size_t other;
} atom;

/* A sender: the sources of one domain that are one service, the
 * domain's own servers, forwarders and lists, one unknown signer, or
 * unauthenticated sources. */
typedef struct sender {
    const char *name;
    sift_sender_kind kind;
    const sift_sender *service;
    sift_sender_label label;
    int own_net;
    uint64_t folded; /* "other sources": the sources it counts together */
    uint64_t messages, dmarc_fail, would_reject, overridden, dns_error;
    uint64_t inconsistent;
    uint64_t cat_msgs[SIFT_CAT__COUNT];
    const catx *cat_ex[SIFT_CAT__COUNT];    /* biggest record's identifiers */
    const source *cat_src[SIFT_CAT__COUNT]; /* and its source */
    size_t first_src, n_src;                /* into ctx.sord */
    /* over time: first and last report begin/end of its sources in the
     * window, first seen over the whole history, NEW */
    int64_t first, last, last_wr, first_seen;
    int is_new;
    series days; /* with --by only */
} sender;

typedef struct rep {
    int64_t id, begin, end;
    uint32_t dom, org; /* atoms */
} rep;

typedef struct domain {
    const char *name;         /* interned */
    const atom *a;            /* its atom: exemptions, dispositions */
    const uint64_t *exempted; /* N_EXEMPT counts, borrowed from the atom */
    /* published policy, from the most recent report */
    char *p, *sp, *np, *testing, *adkim, *aspf, *policy_org;
    int64_t pct, policy_end;
    int has_policy;
    uint64_t messages, dmarc_fail, would_reject, overridden, dns_error;
    uint64_t inconsistent, reject_sources, reject_senders;
    uint64_t cat_msgs[SIFT_CAT__COUNT]; /* failing primary categories */
    size_t first_src, n_src;            /* into ctx.src, after sorting */
    size_t first_snd, n_snd;            /* into ctx.snd, worst first */
    const example *example;             /* borrowed from the atom */
    /* over time (trend.c) */
    int has_history;     /* reports before the window (NEW needs them) */
    int64_t last_report; /* newest report end up to now, whole history */
    int64_t quiet_days;  /* whole days since then (shown from 2) */
    silent *silent;      /* reporters that stopped, by name */
    size_t n_silent;
    const sender **absent; /* legitimate senders seen before, not now */
    size_t n_absent;
    uint64_t data_days; /* days with messages in the window */
    ready_state ready;
    char **reasons; /* readiness reasons (owned) */
    size_t n_reasons;
    char *next_step;
    /* what it publishes now (ctx.pubs), or NULL: not looked up */
    const sift_report_pub *pub;
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
    sender *snd;
    size_t n_snd, cap_snd;
    size_t *sord; /* source indices grouped by sender, worst first */
    struct rmask *rm;
    size_t n_rm, cap_rm;
    int rm_sorted;
    /* over time */
    struct ctx *hist;      /* senders of the reports before the window */
    size_t n_shared_atoms; /* hist: atoms[0..n) are the window's strings */
    span *spans;           /* the filtered history, by id */
    size_t n_spans, cap_spans;
    int64_t now;    /* docs/report.md "Over time": what "now" is */
    int series_off; /* hist: no per-day counts */
    int64_t period_from, period_to; /* over the reports in the filter */
    sift_report_totals tot;
    const sift_filter *filter;
    const sift_report_opts *opts;
    sift_err *err;
    sift_report_ptrs ptrs; /* cached source names */
    sift_report_pubs pubs; /* what the policy domains publish */
    /* --max-sources (docs/report.md "Many sources"): past max_src rows
     * the scan starts again with only the sources with the most messages
     * (bounded); the rest of a domain goes to its "other sources" row */
    uint64_t max_src, folded;
    int bounded;
    int borrowed;           /* a bounded upper half: src ips and stab are c's */
    const struct ctx *home; /* its lower half's ctx, whose rows it counts */
    uint32_t *map;          /* by home row: index + 1 of its copy, 0 none */
    struct scan_cap *cap;   /* shared by the scan's ctxs (model.c) */
    /* the sources' strings, each once (open addressing, NULL empty) */
    char **pool;
    size_t n_pool, pool_size;
} ctx;

/* Build the model (queries and the record scan); 0 or an error code with
 * err set. model_free() releases what it holds (also after a failure). */
int sift_report__model(ctx *c, sift_store *st, const sift_filter *f,
                       const sift_report_opts *o, sift_err *err);
void sift_report__model_free(ctx *c);

/* The advice of one sender for one category, into buf (bounded). */
void sift_report__sender_advice(char *buf, size_t n, const domain *d,
                                const sender *s, sift_category cat);
/* A source's advice for the old per-source "advice" fields: that of its
 * biggest failing category (or of a pass). */
void sift_report__source_advice(char *buf, size_t n, const domain *d,
                                const source *s);

/* "x.y" percent of part in whole, rounded half up (integer arithmetic). */
void sift_report__percent(char *buf, size_t n, uint64_t part, uint64_t whole);

/* The history, before the scan: spans and the history ctx (trend.c). */
int sift_report__load_history(ctx *c, sift_store *st);
/* After the model is built: first_seen, NEW, absent senders, silent
 * reporters, readiness (trend.c). */
int sift_report__over_time(ctx *c);
/* The model's helpers trend.c uses (model.c). */
long sift_report__intern(ctx *c, const char *s);
void *sift_report__grow(void *p, size_t *cap, size_t need, size_t size);
int sift_report__hist_finish(ctx *h);
/* The day `t` is in (floor division). */
static inline int64_t
sift_day_of(int64_t t)
{
    return t >= 0 ? t / DAY_SECONDS : -((-(t + 1)) / DAY_SECONDS) - 1;
}
/* The differences between what d publishes now and what the reports saw,
 * one line each (at most max), for the digest and JSON; 0 when nothing was
 * looked up. */
size_t sift_report__pub_lines(char lines[][512], size_t max, const domain *d);
/* ",\n      \"published\": {...}" (or null) of d's JSON object. */
void sift_report__pub_json(FILE *fp, const domain *d);

/* Text, JSON and CSV writers of the model. */
int sift_report__text(FILE *fp, const ctx *c);
int sift_report__json(FILE *fp, const ctx *c);
int sift_report__csv_all(FILE *fp, const ctx *c);
int sift_report__html(FILE *fp, const ctx *c);
/* --by: the CSV of the series (one row per domain or sender and day or
 * week). */
int sift_report__csv_series(FILE *fp, const ctx *c);
/* s by period (1 day, 7 week): *out (malloc'd, days without messages
 * left out) and its length; SIZE_MAX when out of memory. */
size_t sift_report__by(dayc **out, const series *s, int by);
/* Series cell of the period `by` (1 day, 7 week: Monday) that day is in. */
static inline int64_t
sift_period_of(int64_t day, int by)
{
    /* 1970-01-01 was a Thursday: day 4 was a Monday */
    return by == 7 ? day - (((day - 4) % 7) + 7) % 7 : day;
}

/* Does this sender belong in the digest (would-reject, DNS errors or
 * reporter inconsistencies)? */
static inline int
sift_report__problem(const sender *s)
{
    return s->would_reject > 0 || s->dns_error > 0 || s->inconsistent > 0;
}

#endif
