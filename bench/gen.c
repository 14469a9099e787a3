/* gen.c -- deterministic DMARC aggregate-report corpus generator (bench/).
 *
 * Invariant: the same options give the same bytes. Randomness comes from
 * splitmix64 seeded with (seed, report index), never rand() or the clock,
 * so report i is identical in a directory, an mbox or an XML copy. A report
 * is written record by record into a bounded buffer; --single-report
 * streams it, so a million records never sit in memory at once. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <zip.h>
#include <zlib.h>

#define EX_USAGE 64
#define EX_IOERR 74

/* Largest report kept whole in memory (directory and mbox modes). */
#define MAX_REPORT_BYTES (512u << 20)
/* Streaming mode flushes the buffer past this size. */
#define FLUSH_AT (1u << 20)

/* --- PRNG: splitmix64 ------------------------------------------------- */

struct rng {
    uint64_t s;
};

static uint64_t
rng_next(struct rng *r)
{
    uint64_t z = (r->s += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

/* Uniform in [0, n) (multiply-shift; bias is irrelevant here). */
static uint32_t
rng_below(struct rng *r, uint32_t n)
{
    return (uint32_t)(((rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

static struct rng
rng_for(uint64_t seed, uint64_t stream)
{
    struct rng r = {seed ^ (stream * UINT64_C(0xd1b54a32d192ed03))};
    rng_next(&r);
    return r;
}

/* --- reporters and policy domains ------------------------------------ */

enum {
    R_NS2 = 1u << 0,        /* xmlns dmarc-2.0, <version>1.0, psl, testing */
    R_XSD = 1u << 1,        /* xmlns:xsd/xsi and <version>1.0 (Microsoft) */
    R_FLOAT_TS = 1u << 2,   /* <begin>1337270400.0</begin> (163.com) */
    R_ENV_FROM = 1u << 3,   /* <envelope_from> */
    R_ENV_TO = 1u << 4,     /* <envelope_to> */
    R_SCOPE = 1u << 5,      /* <scope>mfrom</scope> */
    R_SPF_FIRST = 1u << 6,  /* spf before dkim in auth_results (Mail.Ru) */
    R_DKIM_RES2 = 1u << 7,  /* dkim: domain, result, selector (Google) */
    R_NP = 1u << 8,         /* <np> in policy_published */
    R_FO = 1u << 9,         /* <fo> in policy_published */
    R_NO_DECL = 1u << 10,   /* no XML declaration */
    R_ARC_REASON = 1u << 11 /* local_policy arc=pass for mailing lists */
};

enum id_style { ID_DIGITS19, ID_HEX32, ID_YAHOO, ID_DIGITS29, ID_AGGR };

struct reporter {
    const char *org;      /* <org_name> */
    const char *receiver; /* first part of the file name */
    const char *email;
    const char *extra; /* extra_contact_info, or NULL */
    const char *decl;  /* XML declaration */
    const char *indent, *eol;
    unsigned flags;
    int end_delta; /* end - begin */
    enum id_style id;
    int zip; /* mbox mode: attach a zip rather than a gzip */
};

static const struct reporter reporters[] = {
    {"google.com", "google.com", "noreply-dmarc-support@google.com",
     "https://support.google.com/a/answer/2466580",
     "<?xml version=\"1.0\" encoding=\"UTF-8\" ?>", "  ", "\n",
     R_DKIM_RES2 | R_NP | R_ARC_REASON, 86399, ID_DIGITS19, 1},
    {"Enterprise Outlook", "enterprise.protection.outlook.com",
     "dmarcreport@microsoft.com", NULL, "<?xml version=\"1.0\"?>", "  ", "\r\n",
     R_XSD | R_ENV_FROM | R_ENV_TO | R_SCOPE | R_FO, 86400, ID_HEX32, 0},
    {"Outlook.com", "protection.outlook.com", "dmarcreport@microsoft.com", NULL,
     "<?xml version=\"1.0\"?>", "  ", "\r\n",
     R_XSD | R_ENV_FROM | R_ENV_TO | R_SCOPE | R_FO, 86400, ID_HEX32, 0},
    {"Yahoo", "yahoo.com", "dmarchelp@yahooinc.com", NULL,
     "<?xml version=\"1.0\"?>", "  ", "\t\n", 0, 86399, ID_YAHOO, 0},
    {"Mail.Ru", "mail.ru", "dmarc_support@corp.mail.ru",
     "http://help.mail.ru/mail-help", "<?xml version='1.0' encoding='utf-8'?>",
     "", "", R_SPF_FIRST | R_SCOPE, 86400, ID_DIGITS29, 0},
    {"GMX", "gmx.net", "noreply-dmarc@sicher.gmx.net",
     "https://postmaster.gmx.net/en/case?c=r2002",
     "<?xml version=\"1.0\" encoding=\"UTF-8\"?>", "   ", "\n",
     R_NS2 | R_ENV_FROM | R_SCOPE, 86399, ID_HEX32, 0},
    {"163.com", "163.com", "abuse@163.com", NULL, "", "  ", "\n",
     R_FLOAT_TS | R_NO_DECL, 86399, ID_AGGR, 1},
};
#define N_REPORTERS (sizeof(reporters) / sizeof(reporters[0]))

struct domain {
    const char *name;
    const char *adkim, *aspf, *p, *sp, *np; /* np NULL: not published */
    int pct;
    const char *selector; /* the domain's own DKIM selector */
};

static const struct domain domains[] = {
    {"example.com", "r", "r", "reject", "reject", "reject", 100, "s1"},
    {"example.net", "r", "r", "none", "none", NULL, 100, "google"},
    {"example.org", "r", "r", "quarantine", "none", "quarantine", 50,
     "selector1"},
    {"example.co.uk", "s", "r", "reject", "quarantine", NULL, 100, "k1"},
};
#define N_DOMAINS (sizeof(domains) / sizeof(domains[0]))

/* Third-party senders: DKIM d=, selector, SPF (return-path) domain. */
struct esp {
    const char *dkim_domain, *selector, *spf_domain;
    const char *const *pfx; /* IPv4 /16 prefixes they send from */
    size_t n_pfx;
};
static const char *const sendgrid_pfx[] = {"167.89", "149.72", "168.245"};
static const char *const mailchimp_pfx[] = {"198.2", "205.201"};
static const char *const ses_pfx[] = {"54.240", "23.251"};
static const struct esp esps[] = {
    {"sendgrid.net", "smtpapi", "sendgrid.net", sendgrid_pfx, 3},
    {"mcsv.net", "k2", "mail198.atl121.mcsv.net", mailchimp_pfx, 2},
    {"amazonses.com", "224i4yxa5dv7c2xz3womw6peuasteono",
     "us-east-1.amazonses.com", ses_pfx, 2},
};
#define N_ESPS (sizeof(esps) / sizeof(esps[0]))

/* --- source IP pools (a few hundred addresses, fixed per seed) -------- */

enum pool {
    P_OWN,       /* per policy domain: 192.0.2.0/24, 2001:db8:N::/48 */
    P_ESP,       /* per ESP, from its published ranges */
    P_FORWARDER, /* Microsoft 365 and Gmail forwarding */
    P_LIST,      /* Google Groups */
    P_SPOOF,     /* 198.51.100.0/24, 203.0.113.0/24, 2001:db8:bad::/48 */
    P__COUNT
};

#define OWN_PER_DOMAIN 8
#define ESP_PER 40
#define N_FORWARDERS 40
#define N_LIST 12
#define N_SPOOF 300

struct pools {
    char own[N_DOMAINS][OWN_PER_DOMAIN][48];
    char esp[N_ESPS][ESP_PER][48];
    char fwd[N_FORWARDERS][48];
    char list[N_LIST][48];
    char spoof[N_SPOOF][48];
};

static void
make_pools(struct pools *pl, uint64_t seed)
{
    struct rng g = rng_for(seed, UINT64_C(0xffffffff00000001));
    size_t d, i, e;

    for (d = 0; d < N_DOMAINS; d++)
        for (i = 0; i < OWN_PER_DOMAIN; i++) {
            if (i < 6)
                snprintf(pl->own[d][i], 48, "192.0.2.%zu", 10 + d * 20 + i);
            else
                snprintf(pl->own[d][i], 48, "2001:db8:%zx::%zx", d + 1,
                         i + 0x10);
        }
    for (e = 0; e < N_ESPS; e++)
        for (i = 0; i < ESP_PER; i++)
            snprintf(pl->esp[e][i], 48, "%s.%u.%u",
                     esps[e].pfx[rng_below(&g, (uint32_t)esps[e].n_pfx)],
                     rng_below(&g, 128), 1 + rng_below(&g, 254));
    for (i = 0; i < N_FORWARDERS; i++) {
        if (i % 4 == 3)
            snprintf(pl->fwd[i], 48, "2a01:111:f400:fe%02x::%x",
                     rng_below(&g, 256), 1 + rng_below(&g, 0xfffe));
        else if (i % 2)
            snprintf(pl->fwd[i], 48, "40.107.%u.%u", rng_below(&g, 256),
                     1 + rng_below(&g, 254));
        else
            snprintf(pl->fwd[i], 48, "209.85.%u.%u", 128 + rng_below(&g, 96),
                     1 + rng_below(&g, 254));
    }
    for (i = 0; i < N_LIST; i++)
        snprintf(pl->list[i], 48, "209.85.220.%u", 30 + rng_below(&g, 60));
    for (i = 0; i < N_SPOOF; i++) {
        if (i % 6 == 5)
            snprintf(pl->spoof[i], 48, "2001:db8:bad:%x::%x",
                     rng_below(&g, 0x10000), 1 + rng_below(&g, 0xfffe));
        else
            snprintf(pl->spoof[i], 48, "%s.%u",
                     i % 2 ? "198.51.100" : "203.0.113",
                     1 + rng_below(&g, 254));
    }
}

/* --- output buffer ------------------------------------------------------ */

/* The XML of one report. With `gz` or `copy` set and stream on, it is
 * flushed past FLUSH_AT; otherwise it grows up to MAX_REPORT_BYTES. */
struct out {
    char *buf;
    size_t len, cap;
    int stream;
    gzFile gz;
    FILE *copy;
    int failed; /* errno of the first failure, or -1 for too big */
    uint64_t total;
};

static void
out_flush(struct out *o)
{
    if (o->len == 0 || o->failed)
        return;
    if (o->gz && gzwrite(o->gz, o->buf, (unsigned)o->len) != (int)o->len)
        o->failed = EIO;
    if (o->copy && fwrite(o->buf, 1, o->len, o->copy) != o->len)
        o->failed = errno ? errno : EIO;
    o->len = 0;
}

static void
out_put(struct out *o, const char *s, size_t n)
{
    if (o->failed)
        return;
    if (o->len + n > o->cap) {
        size_t ncap = o->cap ? o->cap : 64 * 1024;
        char *nb;
        while (ncap < o->len + n)
            ncap *= 2;
        if (ncap > MAX_REPORT_BYTES) {
            o->failed = -1;
            return;
        }
        if ((nb = realloc(o->buf, ncap)) == NULL) {
            o->failed = ENOMEM;
            return;
        }
        o->buf = nb;
        o->cap = ncap;
    }
    memcpy(o->buf + o->len, s, n);
    o->len += n;
    o->total += n;
}

static void
out_str(struct out *o, const char *s)
{
    out_put(o, s, strlen(s));
}

/* Text content: & < > escaped (values are generated, but be exact). */
static void
out_text(struct out *o, const char *s)
{
    const char *run = s;
    for (; *s; s++) {
        const char *rep = NULL;
        if (*s == '&')
            rep = "&amp;";
        else if (*s == '<')
            rep = "&lt;";
        else if (*s == '>')
            rep = "&gt;";
        if (rep) {
            out_put(o, run, (size_t)(s - run));
            out_str(o, rep);
            run = s + 1;
        }
    }
    out_put(o, run, (size_t)(s - run));
}

/* --- XML writing in a reporter's layout -------------------------------- */

struct fmt {
    const struct reporter *r;
    size_t indent_len;
};

static void
indent(struct out *o, const struct fmt *f, int depth)
{
    int i;
    for (i = 0; i < depth; i++)
        out_put(o, f->r->indent, f->indent_len);
}

static void
open_el(struct out *o, const struct fmt *f, int depth, const char *name)
{
    indent(o, f, depth);
    out_str(o, "<");
    out_str(o, name);
    out_str(o, ">");
    out_str(o, f->r->eol);
}

static void
close_el(struct out *o, const struct fmt *f, int depth, const char *name)
{
    indent(o, f, depth);
    out_str(o, "</");
    out_str(o, name);
    out_str(o, ">");
    out_str(o, f->r->eol);
}

static void
el(struct out *o, const struct fmt *f, int depth, const char *name,
   const char *value)
{
    indent(o, f, depth);
    out_str(o, "<");
    out_str(o, name);
    out_str(o, ">");
    out_text(o, value);
    out_str(o, "</");
    out_str(o, name);
    out_str(o, ">");
    out_str(o, f->r->eol);
}

static void
el_u64(struct out *o, const struct fmt *f, int depth, const char *name,
       uint64_t v)
{
    char b[32];
    snprintf(b, sizeof(b), "%" PRIu64, v);
    el(o, f, depth, name, b);
}

/* --- one report --------------------------------------------------------- */

struct rep {
    size_t index;
    const struct reporter *r;
    const struct domain *d;
    int64_t begin, end;
    char report_id[64];
    char base[256]; /* file name without extension */
    struct rng g;   /* continues into the records */
};

/* Reports rotate over (reporter, domain) slots, one day per full turn,
 * going back from 2026-11-01: file names never collide. */
static void
rep_init(struct rep *rp, uint64_t seed, size_t index)
{
    const size_t slots = N_REPORTERS * N_DOMAINS;
    const int64_t base_day = 1793491200; /* 2026-11-01T00:00:00Z */
    size_t slot = index % slots;
    struct rng *g;
    char day[16];
    time_t t;
    struct tm tm;

    rp->index = index;
    rp->g = rng_for(seed, index);
    g = &rp->g;
    rp->r = &reporters[slot % N_REPORTERS];
    rp->d = &domains[slot / N_REPORTERS];
    rp->begin = base_day - (int64_t)(index / slots) * 86400;
    rp->end = rp->begin + rp->r->end_delta;
    t = (time_t)rp->begin;
    gmtime_r(&t, &tm);
    strftime(day, sizeof(day), "%Y%m%d", &tm);
    switch (rp->r->id) {
    case ID_DIGITS19:
        snprintf(rp->report_id, sizeof(rp->report_id), "%" PRIu64,
                 UINT64_C(1000000000000000000) +
                     rng_next(g) % UINT64_C(8000000000000000000));
        break;
    case ID_HEX32:
        snprintf(rp->report_id, sizeof(rp->report_id),
                 "%016" PRIx64 "%016" PRIx64, rng_next(g), rng_next(g));
        break;
    case ID_YAHOO:
        snprintf(rp->report_id, sizeof(rp->report_id), "%" PRId64 ".%06u",
                 rp->end + 1 + rng_below(g, 7200), rng_below(g, 1000000));
        break;
    case ID_DIGITS29:
        snprintf(rp->report_id, sizeof(rp->report_id),
                 "%" PRIu64 "%010" PRIu64 "%09u",
                 UINT64_C(1000000000) + rng_next(g) % UINT64_C(9000000000),
                 rng_next(g) % UINT64_C(10000000000), rng_below(g, 1000000000));
        break;
    case ID_AGGR:
        snprintf(rp->report_id, sizeof(rp->report_id), "aggr_report_%s_%s_%s",
                 rp->d->name, day, rp->r->receiver);
        break;
    }
    snprintf(rp->base, sizeof(rp->base), "%s!%s!%" PRId64 "!%" PRId64,
             rp->r->receiver, rp->d->name, rp->begin, rp->end);
}

static void
el_ts(struct out *o, const struct fmt *f, int depth, const char *name,
      int64_t v)
{
    char b[32];
    snprintf(b, sizeof(b), "%" PRId64 "%s", v,
             f->r->flags & R_FLOAT_TS ? ".0" : "");
    el(o, f, depth, name, b);
}

static void
write_head(struct out *o, const struct fmt *f, const struct rep *rp)
{
    const struct reporter *r = f->r;
    const struct domain *d = rp->d;

    if (!(r->flags & R_NO_DECL)) {
        out_str(o, r->decl);
        out_str(o, r->eol);
    }
    if (r->flags & R_NS2)
        out_str(o, "<feedback xmlns=\"urn:ietf:params:xml:ns:dmarc-2.0\">");
    else if (r->flags & R_XSD)
        out_str(o, "<feedback xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" "
                   "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">");
    else
        out_str(o, "<feedback>");
    out_str(o, r->eol);
    if (r->flags & (R_NS2 | R_XSD))
        el(o, f, 1, "version", "1.0");
    open_el(o, f, 1, "report_metadata");
    el(o, f, 2, "org_name", r->org);
    el(o, f, 2, "email", r->email);
    if (r->extra)
        el(o, f, 2, "extra_contact_info", r->extra);
    el(o, f, 2, "report_id", rp->report_id);
    open_el(o, f, 2, "date_range");
    el_ts(o, f, 3, "begin", rp->begin);
    el_ts(o, f, 3, "end", rp->end);
    close_el(o, f, 2, "date_range");
    close_el(o, f, 1, "report_metadata");
    open_el(o, f, 1, "policy_published");
    el(o, f, 2, "domain", d->name);
    if (r->flags & R_NS2)
        el(o, f, 2, "discovery_method", "psl");
    el(o, f, 2, "adkim", d->adkim);
    el(o, f, 2, "aspf", d->aspf);
    el(o, f, 2, "p", d->p);
    el(o, f, 2, "sp", d->sp);
    if (!(r->flags & R_NS2))
        el_u64(o, f, 2, "pct", (uint64_t)d->pct);
    if ((r->flags & (R_NP | R_NS2)) && d->np)
        el(o, f, 2, "np", d->np);
    if (r->flags & R_FO)
        el(o, f, 2, "fo", "0");
    if (r->flags & R_NS2)
        el(o, f, 2, "testing", "n");
    close_el(o, f, 1, "policy_published");
}

static void
write_tail(struct out *o, const struct fmt *f)
{
    out_str(o, "</feedback>");
    out_str(o, f->r->eol);
}

/* --- one record ---------------------------------------------------------- */

enum kind {
    K_OWN,         /* aligned pass from the domain's own servers */
    K_ESP_ALIGNED, /* SendGrid/Mailchimp/SES signing with d=domain */
    K_ESP_THIRD,   /* the same ESPs, not set up: only their own d= */
    K_FWD_DKIM,    /* forwarded: DKIM survives, SPF fails */
    K_FWD_BROKEN,  /* forwarded and modified: both fail */
    K_LIST,        /* mailing list, ARC pass */
    K_SPOOF,       /* unauthenticated */
    K_TEMPERROR,   /* DNS trouble at the receiver */
    K_NULL_RP,     /* bounce with a null reverse-path, SPF on HELO */
    K__COUNT
};
static const unsigned kind_weight[K__COUNT] = {30, 14, 10, 10, 5, 5, 22, 2, 2};

struct dkim_res {
    const char *domain, *selector, *result, *human;
};
struct spf_res {
    const char *domain, *scope, *result;
};
struct rec {
    const char *ip;
    uint64_t count;
    const char *disp, *pe_dkim, *pe_spf;
    const char *reason_type, *reason_comment;
    const char *header_from, *envelope_from, *envelope_to;
    struct dkim_res dk[3];
    int ndk;
    struct spf_res sp[2];
    int nsp;
    char hf[128], ef[128], spfd[128], ipbuf[48];
};

static enum kind
pick_kind(struct rng *g)
{
    unsigned x = rng_below(g, 100), k;
    for (k = 0; k < K__COUNT - 1; k++) {
        if (x < kind_weight[k])
            return (enum kind)k;
        x -= kind_weight[k];
    }
    return (enum kind)k;
}

/* Message counts are heavy-tailed: mostly a handful, some thousands. */
static uint64_t
pick_count(struct rng *g, enum kind k)
{
    uint32_t x = rng_below(g, 1000);
    if (k == K_SPOOF || k == K_TEMPERROR || k == K_NULL_RP)
        return 1 + (x < 900 ? 0 : rng_below(g, 5));
    if (x < 600)
        return 1 + rng_below(g, 5);
    if (x < 950)
        return 5 + rng_below(g, 200);
    return 200 + rng_below(g, 20000);
}

static void
add_dkim(struct rec *c, const char *domain, const char *sel, const char *result)
{
    if (c->ndk < 3)
        c->dk[c->ndk++] = (struct dkim_res){domain, sel, result, NULL};
}

static void
add_spf(struct rec *c, const char *domain, const char *scope,
        const char *result)
{
    if (c->nsp < 2)
        c->sp[c->nsp++] = (struct spf_res){domain, scope, result};
}

/* The disposition a receiver applies to a DMARC failure. */
static void
apply_policy(struct rec *c, struct rng *g, const struct domain *d)
{
    const char *pol = d->p; /* failures below all use the policy domain */
    if (d->pct < 100 && (int)rng_below(g, 100) >= d->pct) {
        c->disp = strcmp(pol, "reject") == 0 ? "quarantine" : "none";
        c->reason_type = "sampled_out";
        return;
    }
    c->disp = pol;
}

static void
make_record(struct rec *c, struct rng *g, const struct rep *rp,
            const struct pools *pl, int random_ips)
{
    const struct domain *d = rp->d;
    const struct reporter *r = rp->r;
    size_t di = (size_t)(d - domains);
    enum kind k = pick_kind(g);
    const struct esp *e = &esps[rng_below(g, N_ESPS)];
    size_t ei = (size_t)(e - esps);

    memset(c, 0, offsetof(struct rec, hf));
    c->hf[0] = c->ef[0] = c->spfd[0] = '\0';
    c->header_from = d->name;
    c->disp = "none";
    c->pe_dkim = c->pe_spf = "fail";
    c->count = pick_count(g, k);
    if (r->flags & R_ENV_TO)
        c->envelope_to = rng_below(g, 4) ? "example.net" : "example.org";
    switch (k) {
    case K_OWN:
        c->ip = pl->own[di][rng_below(g, OWN_PER_DOMAIN)];
        if (rng_below(g, 5) == 0) {
            snprintf(c->hf, sizeof(c->hf), "news.%s", d->name);
            c->header_from = c->hf;
        }
        add_dkim(c, c->header_from, d->selector, "pass");
        if (rng_below(g, 10) == 0)
            add_dkim(c, d->name, "google", "pass");
        snprintf(c->spfd, sizeof(c->spfd), "%s", c->header_from);
        add_spf(c, c->spfd, "mfrom", "pass");
        c->envelope_from = c->spfd;
        c->pe_dkim = c->pe_spf = "pass";
        break;
    case K_ESP_ALIGNED:
        c->ip = pl->esp[ei][rng_below(g, ESP_PER)];
        add_dkim(c, d->name, ei == 1 ? "k3" : "s1", "pass");
        add_dkim(c, e->dkim_domain, e->selector, "pass");
        if (ei == 0) { /* SendGrid with a branded return path */
            snprintf(c->spfd, sizeof(c->spfd), "em%u.%s",
                     1000 + (unsigned)di * 377, d->name);
            c->pe_spf = "pass";
        } else {
            snprintf(c->spfd, sizeof(c->spfd), "%s", e->spf_domain);
        }
        add_spf(c, c->spfd, "mfrom", "pass");
        c->envelope_from = c->spfd;
        c->pe_dkim = "pass";
        break;
    case K_ESP_THIRD:
        c->ip = pl->esp[ei][rng_below(g, ESP_PER)];
        add_dkim(c, e->dkim_domain, e->selector, "pass");
        add_spf(c, e->spf_domain, "mfrom", "pass");
        c->envelope_from = e->spf_domain;
        apply_policy(c, g, d);
        break;
    case K_FWD_DKIM:
        c->ip = pl->fwd[rng_below(g, N_FORWARDERS)];
        add_dkim(c, d->name, d->selector, "pass");
        add_spf(c, d->name, "mfrom", rng_below(g, 2) ? "softfail" : "fail");
        c->envelope_from = d->name;
        c->pe_dkim = "pass";
        break;
    case K_FWD_BROKEN:
        c->ip = pl->fwd[rng_below(g, N_FORWARDERS)];
        add_dkim(c, d->name, d->selector, "fail");
        add_spf(c, d->name, "mfrom", "fail");
        c->envelope_from = d->name;
        if (rng_below(g, 4) == 0) {
            c->reason_type = "forwarded";
            c->disp = "none";
        } else {
            apply_policy(c, g, d);
        }
        break;
    case K_LIST:
        c->ip = pl->list[rng_below(g, N_LIST)];
        add_dkim(c, d->name, d->selector, "fail");
        add_dkim(c, "googlegroups.com", "20230601", "pass");
        add_spf(c, "googlegroups.com", "mfrom", "pass");
        c->envelope_from = "googlegroups.com";
        if (r->flags & R_ARC_REASON) {
            c->reason_type = "local_policy";
            c->reason_comment =
                "arc=pass as.1.google.com=pass ams.1.google.com=pass";
        } else {
            c->reason_type = "mailing_list";
        }
        break;
    case K_SPOOF:
        if (random_ips) {
            uint32_t a = rng_below(g, 1u << 22);
            if (rng_below(g, 8) == 0)
                snprintf(c->ipbuf, sizeof(c->ipbuf), "2001:db8:%x:%x::%x",
                         a >> 12, a & 0xfff, 1 + rng_below(g, 0xfffe));
            else /* 100.64.0.0/10 */
                snprintf(c->ipbuf, sizeof(c->ipbuf), "100.%u.%u.%u",
                         64 + (a >> 16), (a >> 8) & 0xff, a & 0xff);
            c->ip = c->ipbuf;
        } else {
            c->ip = pl->spoof[rng_below(g, N_SPOOF)];
        }
        switch (rng_below(g, 3)) {
        case 0:
            break; /* no DKIM at all */
        case 1:
            add_dkim(c, d->name, "default", "fail");
            break;
        default:
            add_dkim(c, "bulk-mailer.example", "x", "none");
            break;
        }
        add_spf(c, d->name, "mfrom",
                rng_below(g, 3) ? "softfail"
                                : (rng_below(g, 2) ? "fail" : "none"));
        c->envelope_from = d->name;
        apply_policy(c, g, d);
        break;
    case K_TEMPERROR:
        c->ip = pl->own[di][rng_below(g, OWN_PER_DOMAIN)];
        add_dkim(c, d->name, d->selector, "temperror");
        c->dk[0].human =
            "signature error: temporary dns failure requesting selector";
        add_spf(c, d->name, "mfrom", "temperror");
        c->envelope_from = d->name;
        apply_policy(c, g, d);
        break;
    case K_NULL_RP:
        c->ip = pl->own[di][rng_below(g, 6)];
        snprintf(c->spfd, sizeof(c->spfd), "mx%u.%s", 1 + rng_below(g, 2),
                 d->name);
        add_spf(c, c->spfd, "helo", "pass");
        c->envelope_from = "";
        c->pe_spf = "pass";
        break;
    case K__COUNT:
        break;
    }
}

static void
write_auth(struct out *o, const struct fmt *f, const struct rec *c, int spf)
{
    int i;
    unsigned fl = f->r->flags;

    if (spf) {
        for (i = 0; i < c->nsp; i++) {
            open_el(o, f, 3, "spf");
            el(o, f, 4, "domain", c->sp[i].domain);
            if ((fl & R_SCOPE) || strcmp(c->sp[i].scope, "helo") == 0)
                el(o, f, 4, "scope", c->sp[i].scope);
            el(o, f, 4, "result", c->sp[i].result);
            close_el(o, f, 3, "spf");
        }
        return;
    }
    for (i = 0; i < c->ndk; i++) {
        open_el(o, f, 3, "dkim");
        el(o, f, 4, "domain", c->dk[i].domain);
        if (fl & R_DKIM_RES2) {
            el(o, f, 4, "result", c->dk[i].result);
            el(o, f, 4, "selector", c->dk[i].selector);
        } else {
            el(o, f, 4, "selector", c->dk[i].selector);
            el(o, f, 4, "result", c->dk[i].result);
        }
        if (c->dk[i].human)
            el(o, f, 4, "human_result", c->dk[i].human);
        close_el(o, f, 3, "dkim");
    }
}

static void
write_record(struct out *o, const struct fmt *f, const struct rec *c)
{
    unsigned fl = f->r->flags;
    int spf_first = (fl & R_SPF_FIRST) != 0;

    open_el(o, f, 1, "record");
    open_el(o, f, 2, "row");
    el(o, f, 3, "source_ip", c->ip);
    el_u64(o, f, 3, "count", c->count);
    open_el(o, f, 3, "policy_evaluated");
    el(o, f, 4, "disposition", c->disp);
    el(o, f, 4, "dkim", c->pe_dkim);
    el(o, f, 4, "spf", c->pe_spf);
    if (c->reason_type) {
        open_el(o, f, 4, "reason");
        el(o, f, 5, "type", c->reason_type);
        if (c->reason_comment)
            el(o, f, 5, "comment", c->reason_comment);
        close_el(o, f, 4, "reason");
    }
    close_el(o, f, 3, "policy_evaluated");
    close_el(o, f, 2, "row");
    open_el(o, f, 2, "identifiers");
    if (c->envelope_to)
        el(o, f, 3, "envelope_to", c->envelope_to);
    if ((fl & R_ENV_FROM) && c->envelope_from)
        el(o, f, 3, "envelope_from", c->envelope_from);
    el(o, f, 3, "header_from", c->header_from);
    close_el(o, f, 2, "identifiers");
    open_el(o, f, 2, "auth_results");
    write_auth(o, f, c, spf_first);
    write_auth(o, f, c, !spf_first);
    close_el(o, f, 2, "auth_results");
    close_el(o, f, 1, "record");
}

struct counts {
    uint64_t reports, records, messages, xml_bytes, out_bytes;
};

/* Write report `rp` with `n` records into `o`, flushing when streaming. */
static void
emit_report(struct out *o, struct rep *rp, uint64_t n, const struct pools *pl,
            int random_ips, struct counts *cnt)
{
    struct fmt f = {rp->r, strlen(rp->r->indent)};
    struct rec c;
    uint64_t i;

    write_head(o, &f, rp);
    for (i = 0; i < n && !o->failed; i++) {
        make_record(&c, &rp->g, rp, pl, random_ips);
        write_record(o, &f, &c);
        cnt->messages += c.count;
        if (o->stream && o->len >= FLUSH_AT)
            out_flush(o);
    }
    write_tail(o, &f);
    cnt->records += n;
    cnt->reports++;
}

/* --- containers ---------------------------------------------------------- */

struct bytes {
    unsigned char *p;
    size_t len;
};

static void
bytes_free(struct bytes *b)
{
    free(b->p);
    b->p = NULL;
    b->len = 0;
}

/* gzip (RFC 1952, no name, mtime 0) of data, as gzip -n would. */
static int
make_gz(struct bytes *out, const char *data, size_t len)
{
    z_stream z;
    int rc;

    memset(&z, 0, sizeof(z));
    out->p = NULL;
    if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return -1;
    out->len = deflateBound(&z, (uLong)len);
    if ((out->p = malloc(out->len)) == NULL) {
        deflateEnd(&z);
        return -1;
    }
    z.next_in = (Bytef *)data;
    z.avail_in = (uInt)len;
    z.next_out = out->p;
    z.avail_out = (uInt)out->len;
    rc = deflate(&z, Z_FINISH);
    out->len = z.total_out;
    deflateEnd(&z);
    if (rc != Z_STREAM_END) {
        bytes_free(out);
        return -1;
    }
    return 0;
}

/* A zip holding one member `name` with a fixed mtime, built in memory. */
static int
make_zip(struct bytes *out, const char *name, const char *data, size_t len,
         time_t mtime)
{
    zip_error_t ze;
    zip_source_t *src = NULL, *fs = NULL;
    zip_t *za = NULL;
    zip_int64_t idx, n;
    zip_stat_t st;
    int rc = -1;

    out->p = NULL;
    out->len = 0;
    zip_error_init(&ze);
    if ((src = zip_source_buffer_create(NULL, 0, 0, &ze)) == NULL)
        goto out;
    if ((za = zip_open_from_source(src, ZIP_TRUNCATE, &ze)) == NULL)
        goto out;
    zip_source_keep(src);
    if ((fs = zip_source_buffer(za, data, len, 0)) == NULL)
        goto out;
    if ((idx = zip_file_add(za, name, fs, 0)) < 0) {
        zip_source_free(fs);
        goto out;
    }
    if (zip_set_file_compression(za, (zip_uint64_t)idx, ZIP_CM_DEFLATE, 6) ||
        zip_file_set_mtime(za, (zip_uint64_t)idx, mtime, 0))
        goto out;
    if (zip_close(za) != 0)
        goto out;
    za = NULL;
    if (zip_source_stat(src, &st) != 0 || !(st.valid & ZIP_STAT_SIZE) ||
        zip_source_open(src) != 0)
        goto out;
    if ((out->p = malloc(st.size ? st.size : 1)) != NULL) {
        n = zip_source_read(src, out->p, st.size);
        if (n == (zip_int64_t)st.size) {
            out->len = st.size;
            rc = 0;
        }
    }
    zip_source_close(src);
out:
    if (za)
        zip_discard(za);
    zip_source_free(src);
    zip_error_fini(&ze);
    if (rc != 0)
        bytes_free(out);
    return rc;
}

static int
write_file(const char *dir, const char *name, const void *p, size_t len)
{
    char path[4096];
    FILE *fp;
    int ok;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if ((fp = fopen(path, "wb")) == NULL)
        return -1;
    ok = fwrite(p, 1, len, fp) == len;
    ok = (fclose(fp) == 0) && ok;
    return ok ? 0 : -1;
}

/* Base64 (RFC 2045), 76 columns, CRLF-free (mbox lines end in \n). */
static void
put_base64(FILE *fp, const unsigned char *p, size_t len)
{
    static const char a[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char line[80];
    size_t i, col = 0;

    for (i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        size_t left = len - i;
        if (left > 1)
            v |= (uint32_t)p[i + 1] << 8;
        if (left > 2)
            v |= p[i + 2];
        line[col++] = a[(v >> 18) & 63];
        line[col++] = a[(v >> 12) & 63];
        line[col++] = left > 1 ? a[(v >> 6) & 63] : '=';
        line[col++] = left > 2 ? a[v & 63] : '=';
        if (col == 76) {
            line[col++] = '\n';
            fwrite(line, 1, col, fp);
            col = 0;
        }
    }
    if (col) {
        line[col++] = '\n';
        fwrite(line, 1, col, fp);
    }
}

/* One report e-mail, as a receiver's rua mailer sends it (mboxo). */
static void
put_message(FILE *fp, const struct rep *rp, const char *file,
            const struct bytes *att, int zip)
{
    char ctime_s[64], date_s[64];
    time_t t = (time_t)(rp->end + 3600 + (int64_t)(rp->index % 7200));
    struct tm tm;
    uint64_t mid = rp->index * UINT64_C(2654435761) + 0x5eed;

    gmtime_r(&t, &tm);
    strftime(ctime_s, sizeof(ctime_s), "%a %b %e %H:%M:%S %Y", &tm);
    strftime(date_s, sizeof(date_s), "%a, %d %b %Y %H:%M:%S +0000", &tm);
    fprintf(fp,
            "From %s %s\n"
            "Return-Path: <%s>\n"
            "Date: %s\n"
            "From: %s <%s>\n"
            "To: dmarc-rua@%s\n"
            "Subject: Report domain: %s Submitter: %s Report-ID: <%s>\n"
            "Message-ID: <%016" PRIx64 ".%zu@%s>\n"
            "MIME-Version: 1.0\n"
            "Content-Type: multipart/mixed; boundary=\"=_b%zu\"\n"
            "\n"
            "This is a multi-part message in MIME format.\n"
            "\n"
            "--=_b%zu\n"
            "Content-Type: text/plain; charset=\"UTF-8\"\n"
            "\n"
            "This is an aggregate report from %s.\n"
            "\n"
            "--=_b%zu\n"
            "Content-Type: %s; name=\"%s\"\n"
            "Content-Disposition: attachment; filename=\"%s\"\n"
            "Content-Transfer-Encoding: base64\n"
            "\n",
            rp->r->email, ctime_s, rp->r->email, date_s, rp->r->org,
            rp->r->email, rp->d->name, rp->d->name, rp->r->receiver,
            rp->report_id, mid, rp->index, rp->r->receiver, rp->index,
            rp->index, rp->r->org, rp->index,
            zip ? "application/zip" : "application/gzip", file, file);
    put_base64(fp, att->p, att->len);
    fprintf(fp, "\n--=_b%zu--\n\n", rp->index);
}

/* --- modes -----------------------------------------------------------------
 */

enum format { F_XML, F_GZ, F_ZIP, F_MIXED };

struct opts {
    uint64_t seed;
    uint64_t reports, records, single;
    enum format format;
    const char *mbox, *xml_dir, *out_dir;
};

static int
fail(const char *what, const char *name)
{
    fprintf(stderr, "gen: %s: %s: %s\n", name, what,
            errno ? strerror(errno) : "failed");
    return EX_IOERR;
}

static int
run_many(const struct opts *op, const struct pools *pl, struct counts *cnt)
{
    struct out o = {0};
    FILE *mb = NULL;
    uint64_t i;
    int ex = 0;

    if (op->mbox && (mb = fopen(op->mbox, "wb")) == NULL)
        return fail("cannot create", op->mbox);
    for (i = 0; i < op->reports && ex == 0; i++) {
        struct rep rp;
        struct bytes att = {0};
        char name[300];
        enum format fm = op->format;
        int rc = 0;

        rep_init(&rp, op->seed, (size_t)i);
        o.len = 0;
        emit_report(&o, &rp, op->records, pl, 0, cnt);
        if (o.failed) {
            errno = o.failed > 0 ? o.failed : EFBIG;
            ex = fail("report too large or out of memory", rp.base);
            break;
        }
        if (op->xml_dir) {
            snprintf(name, sizeof(name), "%s.xml", rp.base);
            if (write_file(op->xml_dir, name, o.buf, o.len) != 0) {
                ex = fail("cannot write", name);
                break;
            }
        }
        if (mb) {
            int zip = rp.r->zip;
            snprintf(name, sizeof(name), "%s.xml", rp.base);
            rc = zip ? make_zip(&att, name, o.buf, o.len, (time_t)rp.end)
                     : make_gz(&att, o.buf, o.len);
            if (rc != 0) {
                ex = fail("cannot compress", rp.base);
                break;
            }
            snprintf(name, sizeof(name), "%s.%s", rp.base,
                     zip ? "zip" : "xml.gz");
            put_message(mb, &rp, name, &att, zip);
            cnt->out_bytes += att.len;
            bytes_free(&att);
            continue;
        }
        if (fm == F_MIXED)
            fm = (enum format)(i % 3);
        if (fm == F_XML) {
            snprintf(name, sizeof(name), "%s.xml", rp.base);
            rc = write_file(op->out_dir, name, o.buf, o.len);
            cnt->out_bytes += o.len;
        } else {
            if (fm == F_GZ) {
                rc = make_gz(&att, o.buf, o.len);
                snprintf(name, sizeof(name), "%s.xml.gz", rp.base);
            } else {
                snprintf(name, sizeof(name), "%s.xml", rp.base);
                rc = make_zip(&att, name, o.buf, o.len, (time_t)rp.end);
                snprintf(name, sizeof(name), "%s.zip", rp.base);
            }
            if (rc == 0)
                rc = write_file(op->out_dir, name, att.p, att.len);
            cnt->out_bytes += att.len;
            bytes_free(&att);
        }
        if (rc != 0)
            ex = fail("cannot write", name);
    }
    cnt->xml_bytes = o.total;
    free(o.buf);
    if (mb && (ferror(mb) | fclose(mb)) != 0 && ex == 0)
        ex = fail("cannot write", op->mbox);
    return ex;
}

static int
run_single(const struct opts *op, const struct pools *pl, struct counts *cnt)
{
    struct out o = {0};
    struct rep rp;
    char path[4096];
    struct stat st;
    int ex = 0;

    rep_init(&rp, op->seed, 0); /* slot 0: google.com, example.com */
    o.stream = 1;
    snprintf(path, sizeof(path), "%s/%s.xml.gz", op->out_dir, rp.base);
    if ((o.gz = gzopen(path, "wb6")) == NULL)
        return fail("cannot create", path);
    if (op->xml_dir) {
        char cp[4096];
        snprintf(cp, sizeof(cp), "%s/%s.xml", op->xml_dir, rp.base);
        if ((o.copy = fopen(cp, "wb")) == NULL) {
            ex = fail("cannot create", cp);
            goto out;
        }
    }
    emit_report(&o, &rp, op->single, pl, 1, cnt);
    out_flush(&o);
    if (o.failed) {
        errno = o.failed > 0 ? o.failed : EFBIG;
        ex = fail("cannot write", path);
    }
out:
    if (o.copy && fclose(o.copy) != 0 && ex == 0)
        ex = fail("cannot write", "xml copy");
    if (gzclose(o.gz) != Z_OK && ex == 0)
        ex = fail("cannot write", path);
    if (ex == 0 && stat(path, &st) == 0)
        cnt->out_bytes = (uint64_t)st.st_size;
    cnt->xml_bytes = o.total;
    free(o.buf);
    return ex;
}

static const char usage[] =
    "usage: gen [--seed N] [--reports N] [--records M]\n"
    "           [--format xml|gz|zip|mixed] [--xml-dir DIR] OUTDIR\n"
    "       gen [--seed N] [--reports N] [--records M] [--xml-dir DIR]\n"
    "           --mbox FILE\n"
    "       gen [--seed N] [--xml-dir DIR] --single-report RECORDS OUTDIR\n"
    "\n"
    "Deterministic DMARC aggregate-report corpus for bench/run.sh. Report i\n"
    "is the same bytes in every mode. --xml-dir also writes each report's\n"
    "decompressed XML (the xmllint baseline). Prints one summary line:\n"
    "reports records messages xml_bytes output_bytes\n";

/* Create DIR (one level) unless it exists. */
static int
mkdir_p(const char *dir)
{
    struct stat st;
    if (mkdir(dir, 0777) == 0)
        return 0;
    return (errno == EEXIST && stat(dir, &st) == 0 && S_ISDIR(st.st_mode)) ? 0
                                                                           : -1;
}

static int
parse_u64(uint64_t *v, const char *s, const char *opt)
{
    char *end;
    errno = 0;
    *v = strtoull(s, &end, 10);
    if (errno || end == s || *end || *s == '-') {
        fprintf(stderr, "gen: %s needs a number, not '%s'\n", opt, s);
        return -1;
    }
    return 0;
}

int
main(int argc, char **argv)
{
    static const struct option lo[] = {
        {"seed", required_argument, NULL, 's'},
        {"reports", required_argument, NULL, 'n'},
        {"records", required_argument, NULL, 'm'},
        {"format", required_argument, NULL, 'f'},
        {"mbox", required_argument, NULL, 'b'},
        {"single-report", required_argument, NULL, '1'},
        {"xml-dir", required_argument, NULL, 'x'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    struct opts op = {
        .seed = 20261101, .reports = 100, .records = 50, .format = F_MIXED};
    struct counts cnt = {0};
    struct pools *pl = NULL;
    int c, ex;

    while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        int bad = 0;
        switch (c) {
        case 's':
            bad = parse_u64(&op.seed, optarg, "--seed");
            break;
        case 'n':
            bad = parse_u64(&op.reports, optarg, "--reports");
            break;
        case 'm':
            bad = parse_u64(&op.records, optarg, "--records");
            break;
        case '1':
            bad = parse_u64(&op.single, optarg, "--single-report");
            break;
        case 'b':
            op.mbox = optarg;
            break;
        case 'x':
            op.xml_dir = optarg;
            break;
        case 'f':
            if (strcmp(optarg, "xml") == 0)
                op.format = F_XML;
            else if (strcmp(optarg, "gz") == 0)
                op.format = F_GZ;
            else if (strcmp(optarg, "zip") == 0)
                op.format = F_ZIP;
            else if (strcmp(optarg, "mixed") == 0)
                op.format = F_MIXED;
            else {
                fprintf(stderr, "gen: unknown format '%s'\n", optarg);
                bad = 1;
            }
            break;
        case 'h':
            fputs(usage, stdout);
            return 0;
        default:
            bad = 1;
            break;
        }
        if (bad) {
            fputs(usage, stderr);
            return EX_USAGE;
        }
    }
    if (optind < argc)
        op.out_dir = argv[optind++];
    if (optind < argc || (!op.mbox && !op.out_dir) ||
        (op.mbox && (op.out_dir || op.single)) ||
        (op.single == 0 && (op.reports == 0 || op.records == 0))) {
        fputs(usage, stderr);
        return EX_USAGE;
    }
    if ((op.out_dir && mkdir_p(op.out_dir) != 0) ||
        (op.xml_dir && mkdir_p(op.xml_dir) != 0))
        return fail("cannot create", op.out_dir ? op.out_dir : op.xml_dir);
    if ((pl = calloc(1, sizeof(*pl))) == NULL) {
        fputs("gen: out of memory\n", stderr);
        return EX_IOERR;
    }
    make_pools(pl, op.seed);
    ex = op.single ? run_single(&op, pl, &cnt) : run_many(&op, pl, &cnt);
    free(pl);
    if (ex == 0)
        printf("%" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 "\n",
               cnt.reports, cnt.records, cnt.messages, cnt.xml_bytes,
               cnt.out_bytes);
    return ex;
}
