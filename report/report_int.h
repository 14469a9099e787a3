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

/* --- the summary model --------------------------------------------------- */

#define LIST_MAX 5  /* domains shown per list */
#define SET_CAP 32  /* distinct domains tracked per list */
#define IPS_SHOWN 3 /* IPs named per sender in the text digest */

/* a + b, saturating at UINT64_MAX: a count never wraps (issue 18) */
static inline uint64_t
sift_sat_add(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

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

/* One primary category of a source: its messages, and the identifiers of
 * its biggest record (the ones its advice names). */
typedef struct catx {
    uint8_t cat;
    uint64_t messages, best;
    char *from, *env, *dkim; /* owned; NULL absent, env "" null path */
} catx;

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
    catx *cx; /* by primary category, largest first after the scan */
    uint32_t n_cx;
    const sift_sender *sender;
    sift_sender_kind kind;
    const char *sender_name; /* interned or static */
    size_t sender_idx;       /* into ctx.snd */
    sift_sender_label label; /* from the owner's configuration */
    int own_net;             /* in an [owner] network */
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
    uint64_t messages, dmarc_fail, would_reject, overridden, dns_error;
    uint64_t inconsistent;
    uint64_t cat_msgs[SIFT_CAT__COUNT];
    const catx *cat_ex[SIFT_CAT__COUNT];    /* biggest record's identifiers */
    const source *cat_src[SIFT_CAT__COUNT]; /* and its source */
    size_t first_src, n_src;                /* into ctx.sord */
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
    int64_t period_from, period_to; /* over the reports in the filter */
    sift_report_totals tot;
    const sift_filter *filter;
    const sift_report_opts *opts;
    sift_err *err;
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

/* Text, JSON and CSV writers of the model. */
int sift_report__text(FILE *fp, const ctx *c);
int sift_report__json(FILE *fp, const ctx *c);
int sift_report__csv_all(FILE *fp, const ctx *c);

/* Does this sender belong in the digest (would-reject, DNS errors or
 * reporter inconsistencies)? */
static inline int
sift_report__problem(const sender *s)
{
    return s->would_reject > 0 || s->dns_error > 0 || s->inconsistent > 0;
}

#endif
