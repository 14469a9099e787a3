/* eval.c -- per-record DMARC verdict: alignment recomputed from auth_results
 * (standards.md §2.5), the reporter's policy_evaluated as the basis of
 * dmarc_fail (§3.5 C), the p=reject what-if (§3.5 E, §3.6) and the
 * explanation categories (§3.7). Pure: no I/O, no allocation except for
 * IDN conversion of non-ASCII domains. The reporter is never "corrected":
 * disagreement only sets SIFT_FLAG_*_MISMATCH. */
#include "sift_report.h"
#include "sift_util.h"

#include <libpsl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#ifdef SIFT_HAVE_IDN2
#include <idn2.h>
#endif

#define DOMAIN_MAX 256 /* 253 octets of a DNS name, plus slack and NUL */

/* Reports name the same few domains over and over: a direct-mapped cache
 * of registrable-domain lookups saves most of libpsl's cost (5% of an
 * ingest). Names of 64 bytes or more are not cached. */
#define ORG_SLOTS 512
#define ORG_NAME 64

struct org_slot {
    char name[ORG_NAME]; /* "" = empty slot */
    short off;           /* registrable domain at name + off, -1: none */
};

struct sift_eval {
    psl_ctx_t *psl;
    int owned; /* psl_latest() result: psl_free() it; builtin is static */
    struct org_slot org[ORG_SLOTS];
};

int
sift_eval_new(sift_eval **out, sift_err *err)
{
    sift_eval *ev;

    *out = NULL;
    if ((ev = calloc(1, sizeof(*ev))) == NULL)
        return sift_err_set(err, SIFT_ENOMEM, "out of memory");
    ev->psl = psl_latest(NULL);
    if (ev->psl != NULL) {
        ev->owned = 1;
    } else if ((ev->psl = (psl_ctx_t *)psl_builtin()) == NULL) {
        free(ev);
        return sift_err_set(err, SIFT_ERR,
                            "no public suffix list: neither the system's "
                            "nor libpsl's built-in one is available");
    }
    *out = ev;
    return SIFT_OK;
}

void
sift_eval_free(sift_eval *ev)
{
    if (ev == NULL)
        return;
    if (ev->owned)
        psl_free(ev->psl);
    free(ev);
}

/* --- domain normalisation and alignment -------------------------------- */

/* normalize(d) of §2.5 into buf[DOMAIN_MAX]: trim, part after the last '@',
 * strip trailing dots, lowercase, U-labels to A-labels. Returns 1 when a
 * non-empty plausible domain remains, else 0 (buf is then ""). */
static int
normalize(char *buf, const char *d)
{
    const char *s, *e, *at;
    size_t n, i;
    int ascii = 1;

    buf[0] = '\0';
    if (d == NULL)
        return 0;
    s = d;
    e = d + strlen(d);
    while (s < e && (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n'))
        s++;
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' ||
                     e[-1] == '\n' || e[-1] == '.' || e[-1] == '>'))
        e--;
    for (at = e; at > s; at--) {
        if (at[-1] == '@') {
            s = at;
            break;
        }
    }
    if (s < e && *s == '<')
        s++;
    n = (size_t)(e - s);
    if (n == 0 || n >= DOMAIN_MAX)
        return 0;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x80)
            ascii = 0;
        else if (c <= 0x20 || c == 0x7f || c == '@' || c == '/')
            return 0;
        buf[i] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
    }
    buf[n] = '\0';
    if (!ascii) {
#ifdef SIFT_HAVE_IDN2
        char *a = NULL;
        if (idn2_to_ascii_8z(buf, &a, IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL) ==
                IDN2_OK &&
            a != NULL && strlen(a) < DOMAIN_MAX) {
            strcpy(buf, a);
            for (i = 0; buf[i]; i++)
                if (buf[i] >= 'A' && buf[i] <= 'Z')
                    buf[i] = (char)(buf[i] + 32);
        }
        idn2_free(a);
        /* on failure keep the lowercased UTF-8: it still compares equal to
         * itself, and libpsl accepts UTF-8 */
#endif
    }
    return 1;
}

/* 1 if `child` is a proper DNS subdomain of `parent` (both normalised). */
static int
is_subdomain(const char *child, const char *parent)
{
    size_t lc = strlen(child), lp = strlen(parent);

    return lc > lp && child[lc - lp - 1] == '.' &&
           memcmp(child + lc - lp, parent, lp) == 0;
}

const char *
sift_eval_org_domain(sift_eval *ev, const char *domain, char *buf, size_t n)
{
    char norm[DOMAIN_MAX];
    const char *r;

    if (ev == NULL || buf == NULL || n == 0 || !normalize(norm, domain))
        return NULL;
    if ((r = psl_registrable_domain(ev->psl, norm)) == NULL || strlen(r) >= n)
        return NULL;
    memcpy(buf, r, strlen(r) + 1);
    return buf;
}

/* psl_registrable_domain() through the cache: a pointer into name, or
 * NULL for a public suffix (or a name libpsl rejects). */
static const char *
org_of(sift_eval *ev, const char *name)
{
    size_t n = strlen(name);
    struct org_slot *sl;
    const char *r;

    if (n >= ORG_NAME)
        return psl_registrable_domain(ev->psl, name);
    sl = &ev->org[sift_hash64(SIFT_HASH64_INIT, name, n) % ORG_SLOTS];
    if (strcmp(sl->name, name) != 0 || sl->name[0] == '\0') {
        r = psl_registrable_domain(ev->psl, name);
        memcpy(sl->name, name, n + 1);
        sl->off = r == NULL ? -1 : (short)(r - name);
    }
    return sl->off < 0 ? NULL : name + sl->off;
}

/* aligned(x, H, mode) of §2.5 on normalised names. Sets *approx when the
 * answer came from comparing PSL org domains of names that are not in a
 * parent/child relation (the one case a DNS tree walk may answer
 * differently, §2.3). */
static int
aligned(sift_eval *ev, const char *x, const char *h, int strict, int *approx)
{
    const char *ox, *oh;

    if (x[0] == '\0' || h[0] == '\0')
        return 0;
    if (strcmp(x, h) == 0)
        return 1;
    if (strict)
        return 0;
    ox = org_of(ev, x);
    oh = org_of(ev, h);
    if (ox == NULL || oh == NULL || strcmp(ox, oh) != 0)
        return 0;
    if (!is_subdomain(x, h) && !is_subdomain(h, x) && approx != NULL)
        *approx = 1;
    return 1;
}

/* Same organisational domain (relaxed), whatever the policy's mode. */
static int
same_org(sift_eval *ev, const char *x, const char *h)
{
    return aligned(ev, x, h, 0, NULL);
}

/* --- result words -------------------------------------------------------- */

enum res {
    R_UNKNOWN = 0, /* absent or a raw word we do not know */
    R_NONE,
    R_PASS,
    R_FAIL, /* also SPF "hardfail" */
    R_SOFTFAIL,
    R_NEUTRAL,
    R_POLICY,
    R_TEMPERROR,
    R_PERMERROR /* also legacy SPF "unknown" / "error" (§1.2) */
};

static enum res
parse_res(const char *w)
{
    static const struct {
        const char *w;
        enum res r;
    } words[] = {
        {"none", R_NONE},           {"pass", R_PASS},
        {"fail", R_FAIL},           {"hardfail", R_FAIL},
        {"softfail", R_SOFTFAIL},   {"neutral", R_NEUTRAL},
        {"policy", R_POLICY},       {"temperror", R_TEMPERROR},
        {"permerror", R_PERMERROR}, {"unknown", R_PERMERROR},
        {"error", R_PERMERROR},
    };
    size_t i;

    if (w == NULL)
        return R_UNKNOWN;
    for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        if (strcasecmp(w, words[i].w) == 0)
            return words[i].r;
    return R_UNKNOWN;
}

static int
word_is(const char *w, const char *want)
{
    return w != NULL && strcasecmp(w, want) == 0;
}

/* A scope meaning the MAIL FROM identity: absent, empty or "mfrom". */
static int
scope_mfrom(const char *scope)
{
    return scope == NULL || scope[0] == '\0' || word_is(scope, "mfrom");
}

static int
strcasestr_ascii(const char *hay, const char *needle)
{
    size_t n = strlen(needle);

    for (; hay != NULL && *hay; hay++)
        if (strncasecmp(hay, needle, n) == 0)
            return 1;
    return 0;
}

/* Reason types that exempt mail from a p=reject what-if (§3.6): the
 * receiver already lets such mail through. sampled_out and
 * policy_test_mode are artefacts of the published record and do not;
 * an unknown non-empty type counts as "other" (§1.5). An empty type
 * exempts only when its comment says arc=pass. */
static int
reason_exempts(const sift_reason *r)
{
    if (r->type == NULL || r->type[0] == '\0')
        return strcasestr_ascii(r->comment, "arc=pass");
    if (word_is(r->type, "sampled_out") || word_is(r->type, "policy_test_mode"))
        return strcasestr_ascii(r->comment, "arc=pass");
    return 1;
}

static int
reason_sampling(const sift_reason *r)
{
    return word_is(r->type, "sampled_out") ||
           word_is(r->type, "policy_test_mode");
}

#define CAT(c) (1u << (c))
#define MAX_AUTHORS 8

/* Strictness of a disposition word: none (or RFC 9990's pass) 0,
 * quarantine 1, reject 2; -1 for an absent or unknown word. */
static int
disp_rank(const char *w)
{
    if (word_is(w, "none") || word_is(w, "pass"))
        return 0;
    if (word_is(w, "quarantine"))
        return 1;
    if (word_is(w, "reject"))
        return 2;
    return -1;
}

/* What the published policy demands for a failing record whose author
 * domain is h (normalised; "" unknown) under policy domain d: p for the
 * domain itself, sp (default p) for its subdomains (§3.1). A policy of
 * none or an unknown word demands what the what-if assumes: reject. */
static int
demanded(const sift_report_meta *meta, const char *h, const char *d)
{
    const char *pol = meta->p;
    int r;

    if (h[0] != '\0' && d[0] != '\0' && is_subdomain(h, d) && meta->sp &&
        meta->sp[0])
        pol = meta->sp;
    r = disp_rank(pol);
    return r <= 0 ? 2 : r;
}

/* An SRS-rewritten envelope (SRS0=/SRS1= local part): a forwarder. */
static int
is_srs(const char *env)
{
    return env != NULL &&
           (strncasecmp(env, "srs0=", 5) == 0 ||
            strncasecmp(env, "srs1=", 5) == 0 || strcasestr_ascii(env, "@srs"));
}

/* Several author domains in one header_from (RFC 7489 §6.6.1, as
 * OpenDMARC writes them: "a.example, b.example"): up to MAX_AUTHORS
 * normalised domains into au[], returns how many. */
static size_t
split_authors(char au[][DOMAIN_MAX], const char *from)
{
    char part[DOMAIN_MAX];
    const char *p = from, *e;
    size_t n = 0, len;

    if (from == NULL || strchr(from, ',') == NULL)
        return 0;
    while (*p && n < MAX_AUTHORS) {
        if ((e = strchr(p, ',')) == NULL)
            e = p + strlen(p);
        len = (size_t)(e - p);
        if (len < sizeof(part)) {
            memcpy(part, p, len);
            part[len] = '\0';
            if (normalize(au[n], part))
                n++;
        }
        p = *e ? e + 1 : e;
    }
    return n;
}

/* Is author domain a aligned by a passing DKIM signature (*dk) and by a
 * passing MAIL FROM SPF result (*sp)? Every SPF result of MAIL FROM scope
 * counts: a reporter listing several authors lists one SPF per author. */
static void
author_pass(sift_eval *ev, const sift_record *rec, const char *a, int strict_s,
            int strict_d, int *dk, int *sp)
{
    char z[DOMAIN_MAX];
    size_t i;

    *dk = *sp = 0;
    for (i = 0; i < rec->n_dkim; i++)
        if (parse_res(rec->dkim_results[i].result) == R_PASS &&
            normalize(z, rec->dkim_results[i].domain) &&
            aligned(ev, z, a, strict_d, NULL))
            *dk = 1;
    for (i = 0; i < rec->n_spf; i++)
        if (scope_mfrom(rec->spf_results[i].scope) &&
            parse_res(rec->spf_results[i].result) == R_PASS &&
            normalize(z, rec->spf_results[i].domain) &&
            aligned(ev, z, a, strict_s, NULL))
            *sp = 1;
}

void
sift_eval_record(sift_verdict *out, sift_eval *ev, const sift_report_meta *meta,
                 const sift_record *rec)
{
    char h[DOMAIN_MAX], d[DOMAIN_MAX], x[DOMAIN_MAX], env[DOMAIN_MAX];
    char z[DOMAIN_MAX], au[MAX_AUTHORS][DOMAIN_MAX];
    const sift_spf_result *spf = NULL;
    const char *dkim_pass_al = NULL, *dkim_pass_3p = NULL, *dkim_other = NULL,
               *dkim_fail_al = NULL, *dkim_perm_al = NULL, *dkim_temp_al = NULL;
    int have_h, have_env, null_path, strict_s, strict_d, approx = 0;
    int spf_pass, spf_al = 0, dkim_al = 0, any_mfrom = 0, helo_used = 0;
    int al_dkim_sig = 0, al_dkim_fail = 0, dns_temp = 0, spf_dns = 0;
    int exempt = 0, arc = 0, sampling = 0, only_none = 1, rep_spf, rep_dkim;
    int recomputed, list_sig = 0;
    enum res sr = R_UNKNOWN;
    sift_category pc;
    uint32_t c = 0;
    size_t i, n_au;

    memset(out, 0, sizeof(*out));
    n_au = split_authors(au, rec->header_from);
    if (n_au > 1) {
        memcpy(h, au[0], sizeof(h));
        have_h = 1;
        out->flags |= SIFT_FLAG_MULTI_AUTHOR;
    } else {
        have_h = normalize(h, rec->header_from);
        if (n_au == 1)
            memcpy(h, au[0], sizeof(h));
    }
    if (!have_h)
        out->flags |= SIFT_FLAG_NO_HEADER_FROM;
    if (!normalize(d, meta->domain))
        d[0] = '\0';
    strict_s = word_is(meta->aspf, "s");
    strict_d = word_is(meta->adkim, "s");
    have_env = normalize(env, rec->envelope_from);
    /* a null reverse-path is reported as an empty element (or "<>"); a
     * value that is not a domain is just unusable, not a bounce */
    null_path =
        rec->envelope_from != NULL && (rec->envelope_from[0] == '\0' ||
                                       strcmp(rec->envelope_from, "<>") == 0);

    /* --- SPF: the MAIL FROM identity only (§2.5) --- */
    for (i = 0; i < rec->n_spf; i++) {
        if (scope_mfrom(rec->spf_results[i].scope)) {
            spf = &rec->spf_results[i];
            any_mfrom = 1;
            break;
        }
    }
    if (spf == NULL) {
        for (i = 0; i < rec->n_spf; i++) {
            if (!word_is(rec->spf_results[i].scope, "helo"))
                continue;
            if (null_path) {
                spf = &rec->spf_results[i];
                helo_used = 1;
            } else {
                out->flags |= SIFT_FLAG_HELO_ONLY_SPF;
            }
            break;
        }
    }
    if (spf != NULL && normalize(x, spf->domain)) {
        out->spf_domain = spf->domain;
    } else if (have_env) {
        /* no SPF domain reported: the envelope is the MAIL FROM identity */
        memcpy(x, env, sizeof(x));
        out->spf_domain = rec->envelope_from;
    } else {
        x[0] = '\0';
    }
    if (spf != NULL)
        sr = parse_res(spf->result);
    spf_pass = sr == R_PASS;
    if (spf_pass && have_h)
        spf_al = aligned(ev, x, h, strict_s, &approx);
    if (have_env && spf != NULL && x[0] != '\0' && strcmp(env, x) != 0)
        out->flags |= SIFT_FLAG_ENVELOPE_SPF_MISMATCH;
    /* a temperror makes the result indeterminate only when its domain
     * could have aligned (or is unknown), as for DKIM below */
    if (sr == R_TEMPERROR &&
        (x[0] == '\0' || !have_h || aligned(ev, x, h, strict_s, NULL)))
        dns_temp = spf_dns = 1;

    /* --- DKIM: any passing signature with an aligned d= --- */
    for (i = 0; i < rec->n_dkim; i++) {
        const sift_dkim_result *k = &rec->dkim_results[i];
        enum res kr = parse_res(k->result);
        int has_z = normalize(z, k->domain);
        int al = has_z && have_h && aligned(ev, z, h, strict_d, NULL);

        if (kr != R_NONE)
            only_none = 0;
        if (has_z && have_h && same_org(ev, z, h))
            al_dkim_sig = al_dkim_sig || kr != R_NONE;
        switch (kr) {
        case R_PASS:
            if (al) {
                if (!dkim_al)
                    (void)aligned(ev, z, h, strict_d, &approx);
                dkim_al = 1;
                if (dkim_pass_al == NULL)
                    dkim_pass_al = k->domain;
            } else {
                c |= CAT(SIFT_CAT_DKIM_THIRD_PARTY);
                if (dkim_pass_3p == NULL)
                    dkim_pass_3p = k->domain;
                /* a passing signature of something that is not a sending
                 * service: a mailing list's own (F2's evidence) */
                if (has_z && sift_sender_lookup(z) == NULL)
                    list_sig = 1;
            }
            break;
        case R_FAIL:
            c |= CAT(SIFT_CAT_DKIM_FAIL);
            if (al) {
                al_dkim_fail = 1;
                if (dkim_fail_al == NULL)
                    dkim_fail_al = k->domain;
            }
            break;
        case R_TEMPERROR:
            c |= CAT(SIFT_CAT_DKIM_TEMPERROR);
            /* only a signature that could have aligned makes the result
             * indeterminate (§2.5); an empty d= might have */
            if (al || !has_z) {
                dns_temp = 1;
                if (dkim_temp_al == NULL)
                    dkim_temp_al = k->domain;
            }
            break;
        case R_PERMERROR:
            c |= CAT(SIFT_CAT_DKIM_PERMERROR);
            if (al && dkim_perm_al == NULL)
                dkim_perm_al = k->domain;
            break;
        case R_NEUTRAL:
        case R_POLICY:
            c |= CAT(SIFT_CAT_DKIM_NOT_ACCEPTABLE);
            break;
        default:
            break;
        }
        if (kr != R_PASS && kr != R_NONE && dkim_other == NULL)
            dkim_other = k->domain;
    }
    if (rec->n_dkim == 0 || only_none)
        c |= CAT(SIFT_CAT_DKIM_NONE);
    out->dkim_domain = dkim_pass_al   ? dkim_pass_al
                       : dkim_pass_3p ? dkim_pass_3p
                                      : dkim_other;
    recomputed = spf_al || dkim_al;
    if (n_au > 1) { /* every author domain must be aligned by a pass */
        int all_dk = 1, all_sp = 1, all = 1, dk, sp;
        for (i = 0; i < n_au; i++) {
            author_pass(ev, rec, au[i], strict_s, strict_d, &dk, &sp);
            all_dk = all_dk && dk;
            all_sp = all_sp && sp;
            all = all && (dk || sp);
        }
        dkim_al = all_dk;
        spf_al = all_sp;
        recomputed = all;
    }
    out->spf_aligned = spf_al;
    out->dkim_aligned = dkim_al;
    if (approx)
        out->flags |= SIFT_FLAG_PSL_APPROX;

    /* --- the reporter's verdict is the basis (§3.5 C); a missing
     * <dkim> or <spf> in policy_evaluated is not a fail: the recomputed
     * value stands in for it (a real AOL report of 2012 has none) --- */
    if (rec->dkim == NULL || rec->dkim[0] == '\0') {
        rep_dkim = dkim_al;
        out->flags |= SIFT_FLAG_PE_MISSING;
    } else {
        rep_dkim = word_is(rec->dkim, "pass");
    }
    if (rec->spf == NULL || rec->spf[0] == '\0') {
        rep_spf = spf_al;
        out->flags |= SIFT_FLAG_PE_MISSING;
    } else {
        rep_spf = word_is(rec->spf, "pass");
    }
    if (rep_spf != spf_al)
        out->flags |= SIFT_FLAG_SPF_MISMATCH;
    if (rep_dkim != dkim_al)
        out->flags |= SIFT_FLAG_DKIM_MISMATCH;
    if ((rep_spf || rep_dkim) != recomputed)
        out->flags |= SIFT_FLAG_DMARC_MISMATCH;
    out->dmarc_fail = !(rep_spf || rep_dkim);

    /* An override reason exempts a record only when the receiver applied
     * a disposition less strict than the policy demands (RFC 7489 App. C,
     * RFC 9989 §5.4: a reason explains a deviation); "reject" with reason
     * "other" was rejected. An absent disposition counts as none. */
    for (i = 0; i < rec->n_reasons; i++) {
        if (reason_exempts(&rec->reasons[i]))
            exempt = 1;
        if (reason_sampling(&rec->reasons[i]))
            sampling = 1;
        if (strcasestr_ascii(rec->reasons[i].comment, "arc=pass"))
            arc = 1;
    }
    if (exempt) {
        int r = disp_rank(rec->disposition);
        if ((r < 0 ? 0 : r) >= demanded(meta, have_h ? h : "", d))
            exempt = 0;
    }
    if (!out->dmarc_fail)
        out->outcome = SIFT_OUT_PASS;
    else if (dns_temp)
        out->outcome = SIFT_OUT_DNS_ERROR;
    else if (exempt)
        out->outcome = SIFT_OUT_OVERRIDDEN;
    else
        out->outcome = SIFT_OUT_WOULD_REJECT;
    out->would_reject = out->outcome == SIFT_OUT_WOULD_REJECT;

    /* --- policy scope (§3.1) --- */
    if (have_h && d[0] != '\0') {
        for (i = 0; i < (n_au > 1 ? n_au : 1); i++) {
            const char *a = n_au > 1 ? au[i] : h;
            if (is_subdomain(a, d)) {
                const char *sp = meta->sp && meta->sp[0] ? meta->sp : meta->p;
                const char *np = meta->np && meta->np[0] ? meta->np : sp;
                if (np != NULL && (sp == NULL || strcasecmp(np, sp) != 0))
                    c |= CAT(SIFT_CAT_AMBIGUOUS_SP_NP);
            } else if (strcmp(a, d) != 0) {
                out->flags |= SIFT_FLAG_FROM_OUTSIDE_DOMAIN;
            }
        }
    }

    /* --- categories (§3.7) --- */
    if (dkim_al)
        c |= CAT(SIFT_CAT_PASS_DKIM_ALIGNED);
    if (spf_al)
        c |= CAT(SIFT_CAT_PASS_SPF_ALIGNED);
    if (spf_pass && !spf_al)
        c |= CAT(SIFT_CAT_SPF_NOT_ALIGNED);
    switch (sr) {
    case R_SOFTFAIL:
        c |= CAT(SIFT_CAT_SPF_SOFTFAIL);
        break;
    case R_FAIL:
        c |= CAT(SIFT_CAT_SPF_FAIL);
        break;
    case R_NEUTRAL:
        c |= CAT(SIFT_CAT_SPF_NEUTRAL);
        break;
    case R_NONE:
        c |= CAT(SIFT_CAT_SPF_NONE);
        break;
    case R_TEMPERROR:
        c |= CAT(SIFT_CAT_SPF_TEMPERROR);
        break;
    case R_PERMERROR:
        c |= CAT(SIFT_CAT_SPF_PERMERROR);
        break;
    case R_POLICY:
        c |= CAT(SIFT_CAT_SPF_POLICY);
        break;
    default:
        break;
    }
    if (!any_mfrom && !helo_used)
        c |= CAT(SIFT_CAT_SPF_MISSING);
    if (null_path)
        c |= CAT(SIFT_CAT_NULL_REVERSE_PATH);
    /* F1: DKIM carried the message; SPF broke on the way (the forwarder's
     * IP is not in the envelope domain's SPF, or SRS put the forwarder's
     * own domain in the envelope). An unaligned SPF pass for a known ESP
     * is an ordinary ESP setup (S1), not forwarding. */
    if (dkim_al && (sr == R_FAIL || sr == R_SOFTFAIL || sr == R_NONE ||
                    (spf_pass && !spf_al && sift_sender_lookup(x) == NULL)))
        c |= CAT(SIFT_CAT_FORWARDED_DKIM_INTACT);
    /* F2 needs positive evidence next to the broken aligned signature: a
     * list's own passing signature, an SRS envelope or ARC */
    if (al_dkim_fail && !dkim_al && !spf_al &&
        (list_sig || is_srs(rec->envelope_from) || arc))
        c |= CAT(SIFT_CAT_FORWARDED_BOTH_BROKEN);
    if (exempt)
        c |= CAT(SIFT_CAT_RECEIVER_OVERRIDE);
    if (have_h && !al_dkim_sig &&
        (sr == R_FAIL || sr == R_SOFTFAIL || sr == R_NONE) && x[0] != '\0' &&
        same_org(ev, x, h))
        c |= CAT(SIFT_CAT_UNAUTHENTICATED);
    if ((c & CAT(SIFT_CAT_SPF_NOT_ALIGNED)) &&
        (c & CAT(SIFT_CAT_DKIM_THIRD_PARTY)) && !dkim_al && !spf_al &&
        !al_dkim_fail) /* a broken own signature means a list (F2) */
        c |= CAT(SIFT_CAT_UNCONFIGURED_THIRD_PARTY);
    if (out->flags & (SIFT_FLAG_SPF_MISMATCH | SIFT_FLAG_DKIM_MISMATCH |
                      SIFT_FLAG_DMARC_MISMATCH | SIFT_FLAG_FROM_OUTSIDE_DOMAIN))
        c |= CAT(SIFT_CAT_REPORTER_INCONSISTENT);
    if (sampling || word_is(meta->testing, "y") ||
        (meta->pct >= 0 && meta->pct < 100))
        c |= CAT(SIFT_CAT_TESTING_OR_SAMPLING);

    /* --- the decision list: one primary category (docs/report.md) --- */
    if (!out->dmarc_fail)
        pc = (c & CAT(SIFT_CAT_FORWARDED_DKIM_INTACT))
                 ? SIFT_CAT_FORWARDED_DKIM_INTACT
             : rep_dkim ? SIFT_CAT_PASS_DKIM_ALIGNED
                        : SIFT_CAT_PASS_SPF_ALIGNED;
    else if (out->outcome == SIFT_OUT_DNS_ERROR)
        pc = spf_dns ? SIFT_CAT_SPF_TEMPERROR : SIFT_CAT_DKIM_TEMPERROR;
    else if (out->outcome == SIFT_OUT_OVERRIDDEN)
        pc = SIFT_CAT_RECEIVER_OVERRIDE;
    else if (recomputed)
        pc = SIFT_CAT_REPORTER_INCONSISTENT;
    else if (c & CAT(SIFT_CAT_FORWARDED_BOTH_BROKEN))
        pc = SIFT_CAT_FORWARDED_BOTH_BROKEN;
    else if (dkim_fail_al != NULL && (spf_pass || dkim_pass_3p != NULL))
        pc = SIFT_CAT_DKIM_FAIL;
    else if (dkim_perm_al != NULL && (spf_pass || dkim_pass_3p != NULL))
        pc = SIFT_CAT_DKIM_PERMERROR;
    else if (spf_pass && dkim_pass_3p != NULL)
        pc = SIFT_CAT_UNCONFIGURED_THIRD_PARTY;
    else if (dkim_pass_3p != NULL)
        pc = SIFT_CAT_DKIM_THIRD_PARTY;
    else if (spf_pass)
        pc = SIFT_CAT_SPF_NOT_ALIGNED;
    else if (sr == R_PERMERROR && have_h && x[0] != '\0' && same_org(ev, x, h))
        pc = SIFT_CAT_SPF_PERMERROR;
    else if (null_path)
        pc = SIFT_CAT_NULL_REVERSE_PATH;
    else
        pc = SIFT_CAT_UNAUTHENTICATED;
    /* the set stays what the recomputation found: a pass primary is the
     * reporter's word, and may disagree with it (reporter_inconsistent) */
    if (out->dmarc_fail)
        c |= CAT(pc);
    out->primary = pc;
    out->categories = c;
    /* the d= the primary category is about */
    switch (pc) {
    case SIFT_CAT_DKIM_FAIL:
    case SIFT_CAT_FORWARDED_BOTH_BROKEN:
        out->dkim_domain = dkim_fail_al;
        break;
    case SIFT_CAT_DKIM_PERMERROR:
        out->dkim_domain = dkim_perm_al;
        break;
    case SIFT_CAT_DKIM_TEMPERROR:
        if (dkim_temp_al != NULL)
            out->dkim_domain = dkim_temp_al;
        break;
    case SIFT_CAT_UNAUTHENTICATED:
        if (dkim_fail_al != NULL)
            out->dkim_domain = dkim_fail_al;
        break;
    default:
        break;
    }
}

/* --- category names ------------------------------------------------------ */

static const struct {
    const char *code, *text;
} cats[SIFT_CAT__COUNT] = {
    [SIFT_CAT_PASS_DKIM_ALIGNED] = {"pass_dkim_aligned",
                                    "DMARC pass via aligned DKIM"},
    [SIFT_CAT_PASS_SPF_ALIGNED] = {"pass_spf_aligned",
                                   "DMARC pass via aligned SPF"},
    [SIFT_CAT_SPF_NOT_ALIGNED] = {"spf_not_aligned",
                                  "SPF pass but not aligned"},
    [SIFT_CAT_SPF_SOFTFAIL] = {"spf_softfail", "SPF softfail"},
    [SIFT_CAT_SPF_FAIL] = {"spf_fail", "SPF fail"},
    [SIFT_CAT_SPF_NEUTRAL] = {"spf_neutral", "SPF neutral"},
    [SIFT_CAT_SPF_NONE] = {"spf_none", "No SPF record"},
    [SIFT_CAT_SPF_TEMPERROR] = {"spf_temperror", "SPF DNS problem (temperror)"},
    [SIFT_CAT_SPF_PERMERROR] = {"spf_permerror",
                                "SPF record broken (permerror)"},
    [SIFT_CAT_SPF_POLICY] = {"spf_policy",
                             "SPF pass rejected by receiver policy"},
    [SIFT_CAT_SPF_MISSING] = {"spf_missing",
                              "No SPF result reported / HELO-only SPF"},
    [SIFT_CAT_NULL_REVERSE_PATH] = {"null_reverse_path",
                                    "Null reverse-path (bounce/DSN)"},
    [SIFT_CAT_DKIM_NONE] = {"dkim_none", "No DKIM signature"},
    [SIFT_CAT_DKIM_THIRD_PARTY] = {"dkim_third_party",
                                   "DKIM signed by third party"},
    [SIFT_CAT_DKIM_FAIL] = {"dkim_fail", "DKIM signature failed verification"},
    [SIFT_CAT_DKIM_TEMPERROR] = {"dkim_temperror",
                                 "DKIM key lookup failed (temperror)"},
    [SIFT_CAT_DKIM_PERMERROR] = {"dkim_permerror",
                                 "DKIM key missing or malformed (permerror)"},
    [SIFT_CAT_DKIM_NOT_ACCEPTABLE] = {"dkim_not_acceptable",
                                      "DKIM signature not acceptable "
                                      "(neutral/policy)"},
    [SIFT_CAT_FORWARDED_DKIM_INTACT] = {"forwarded_dkim_intact",
                                        "Forwarded: SPF broken, DKIM intact"},
    [SIFT_CAT_FORWARDED_BOTH_BROKEN] = {"forwarded_both_broken",
                                        "Forwarded / mailing list: SPF and "
                                        "DKIM both broken"},
    [SIFT_CAT_RECEIVER_OVERRIDE] = {"receiver_override", "Receiver override"},
    [SIFT_CAT_UNAUTHENTICATED] = {"unauthenticated",
                                  "Unauthenticated source (possible "
                                  "spoofing)"},
    [SIFT_CAT_UNCONFIGURED_THIRD_PARTY] = {"unconfigured_third_party",
                                           "Unconfigured third-party sender"},
    [SIFT_CAT_REPORTER_INCONSISTENT] = {"reporter_inconsistent",
                                        "Reporter inconsistency"},
    [SIFT_CAT_AMBIGUOUS_SP_NP] = {"ambiguous_sp_np",
                                  "Policy scope ambiguity (sp vs np)"},
    [SIFT_CAT_TESTING_OR_SAMPLING] = {"testing_or_sampling",
                                      "Testing/sampling in effect"},
};

const char *
sift_category_code(sift_category c)
{
    if ((unsigned)c >= SIFT_CAT__COUNT)
        return "unknown";
    return cats[c].code;
}

const char *
sift_category_text(sift_category c)
{
    if ((unsigned)c >= SIFT_CAT__COUNT)
        return "Unknown category";
    return cats[c].text;
}
