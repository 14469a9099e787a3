/* published.c -- what a domain publishes now: its DMARC record found by
 * the RFC 9989 tree walk and by the RFC 7489 PSL lookup, its SPF record
 * flattened with the count of DNS-querying terms, and its DKIM keys for
 * given selectors; see sift_dns.h.
 *
 * Every step is a batch of TXT queries (sift_dns_txt_batch), so a domain
 * costs a few round trips whatever the number of names: all the tree
 * walk's candidates in one batch, the SPF includes level by level. */
#include "sift_dns.h"
#include "dns_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#define WALK_MAX 8       /* _dmarc names of one tree walk */
#define SPF_NAMES_MAX 40 /* SPF records followed for one domain */
#define SPF_DEPTH_MAX 10 /* include/redirect levels followed */

/* One name's answer, copied out of the callback. */
struct txt_res {
    sift_dns_status status;
    uint32_t ttl;
    size_t n;
    char *txt; /* n records, NUL-separated (owned) */
};

struct txt_set {
    struct txt_res *r;
};

static int
keep_txt(void *payload, const sift_dns_txt *t)
{
    struct txt_set *s = payload;
    struct txt_res *r = &s->r[t->index];
    size_t len = 0, i;
    char *p;

    r->status = t->status;
    r->ttl = t->ttl;
    for (i = 0; i < t->n; i++)
        len += strlen(t->rr[i]) + 1;
    if (len && (r->txt = malloc(len)) == NULL)
        return SIFT_ENOMEM;
    for (i = 0, p = r->txt; i < t->n; i++) {
        size_t l = strlen(t->rr[i]) + 1;
        memcpy(p, t->rr[i], l);
        p += l;
    }
    r->n = t->n;
    return 0;
}

static void
txt_free(struct txt_res *r, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        free(r[i].txt);
    free(r);
}

/* Look up n names; *out[i] answers names[i] (free with txt_free). */
static int
txt_lookup(sift_dns *d, struct txt_res **out, const char *const *names,
           size_t n, sift_err *err)
{
    struct txt_set s;
    int rc;

    *out = NULL;
    if ((s.r = calloc(n ? n : 1, sizeof(*s.r))) == NULL)
        return sift_err_set(err, SIFT_ENOMEM, "out of memory");
    rc = sift_dns_txt_batch(d, names, n, keep_txt, &s, err);
    if (rc != SIFT_OK) {
        txt_free(s.r, n);
        return rc;
    }
    *out = s.r;
    return SIFT_OK;
}

/* The one record of r that starts with prefix (case-insensitive), in
 * buf; *count = how many did. */
static void
pick(const struct txt_res *r, const char *prefix, char *buf, size_t bufsz,
     int *count)
{
    const char *p = r->txt;
    size_t i, lp = strlen(prefix);

    *count = 0;
    buf[0] = '\0';
    for (i = 0; i < r->n; i++, p += strlen(p) + 1)
        if (strncasecmp(p, prefix, lp) == 0 &&
            (p[lp] == '\0' || p[lp] == ' ' || p[lp] == ';' || p[lp] == '\t')) {
            if ((*count)++ == 0)
                snprintf(buf, bufsz, "%s", p);
        }
}

static void
lower(char *s)
{
    for (; *s; s++)
        if (*s >= 'A' && *s <= 'Z')
            *s = (char)(*s - 'A' + 'a');
}

static size_t
count_labels(const char *d)
{
    size_t n = *d ? 1 : 0;

    for (; *d; d++)
        if (*d == '.')
            n++;
    return n;
}

/* The RFC 9989 tree walk's targets (DMARCbis 4.10): the domain itself;
 * then, from a name of more than 8 labels, its last 7; then one label
 * less each time, down to one label. */
static size_t
walk_targets(char t[][256], const char *domain)
{
    const char *p = domain;
    size_t n = 0, labels = count_labels(domain);

    snprintf(t[n++], 256, "%s", domain);
    if (labels > 8) {
        while (labels > 7 && (p = strchr(p, '.')) != NULL) {
            p++;
            labels--;
        }
        if (p != NULL)
            snprintf(t[n++], 256, "%s", p);
    }
    p = strchr(t[n - 1], '.');
    while (p != NULL && n < WALK_MAX) {
        snprintf(t[n++], 256, "%s", p + 1);
        p = strchr(t[n - 1], '.');
    }
    return n;
}

static void
min_ttl(uint32_t *ttl, const struct txt_res *r)
{
    if (sift_dns_status_final(r->status) && r->ttl < *ttl)
        *ttl = r->ttl;
}

/* --- DMARC ---------------------------------------------------------- */

struct spf_walk;

/* One domain's names for the lookups: the walk's targets and the PSL's
 * organisational domain (t[org_i]), and the SPF walk's state. */
struct dom_state {
    char t[WALK_MAX + 1][256];
    size_t n, nwalk, org_i;
    struct spf_walk *w;
    char (*level)[256], (*next)[256];
    size_t n_level, n_next;
};

/* The walk's answers r[0..nwalk) and the PSL's, into out. */
static void
dmarc_eval(sift_dns_published *out, const struct dom_state *s,
           const struct txt_res *r)
{
    size_t i;
    int count;

    out->dmarc_answered = 1;
    /* the walk: the first target with exactly one valid record */
    for (i = 0; i < s->nwalk; i++) {
        if (!sift_dns_status_final(r[i].status))
            out->dmarc_answered = 0;
        min_ttl(&out->ttl, &r[i]);
        pick(&r[i], "v=DMARC1", out->tree.record, sizeof(out->tree.record),
             &count);
        if (count == 1) {
            snprintf(out->tree.at, sizeof(out->tree.at), "%s", s->t[i]);
            break;
        }
        out->tree.record[0] = '\0';
    }
    /* the PSL: the domain, else its organisational domain */
    pick(&r[0], "v=DMARC1", out->psl.record, sizeof(out->psl.record), &count);
    if (count == 1) {
        snprintf(out->psl.at, sizeof(out->psl.at), "%s", s->t[0]);
    } else {
        out->psl.record[0] = '\0';
        if (s->org_i != 0 && s->org_i < s->n) {
            min_ttl(&out->ttl, &r[s->org_i]);
            pick(&r[s->org_i], "v=DMARC1", out->psl.record,
                 sizeof(out->psl.record), &count);
            if (count == 1)
                snprintf(out->psl.at, sizeof(out->psl.at), "%s",
                         s->t[s->org_i]);
            else
                out->psl.record[0] = '\0';
        }
    }
    out->dmarc_differ = strcasecmp(out->tree.at, out->psl.at) != 0 ||
                        strcmp(out->tree.record, out->psl.record) != 0;
}

/* Every domain's _dmarc names in one batch. */
static int
dmarc_many(sift_dns *d, sift_dns_published *out, const sift_dns_domain_query *q,
           struct dom_state *st, size_t n, sift_err *err)
{
    const char **names = NULL;
    char(*qn)[300] = NULL;
    struct txt_res *r = NULL;
    size_t total = 0, i, j, k;
    int rc;

    for (i = 0; i < n; i++) {
        struct dom_state *s = &st[i];
        const char *org = q[i].org ? q[i].org : out[i].domain;
        s->n = s->nwalk = walk_targets(s->t, out[i].domain);
        s->org_i = SIZE_MAX;
        for (j = 0; j < s->n; j++)
            if (strcasecmp(s->t[j], org) == 0)
                s->org_i = j;
        if (s->org_i == SIZE_MAX && s->n <= WALK_MAX) { /* off the walk */
            snprintf(s->t[s->n], 256, "%s", org);
            s->org_i = s->n++;
        }
        total += s->n;
    }
    names = calloc(total ? total : 1, sizeof(*names));
    qn = calloc(total ? total : 1, sizeof(*qn));
    if (names == NULL || qn == NULL) {
        rc = sift_err_set(err, SIFT_ENOMEM, "out of memory");
        goto done;
    }
    for (i = 0, k = 0; i < n; i++)
        for (j = 0; j < st[i].n; j++, k++) {
            snprintf(qn[k], sizeof(qn[k]), "_dmarc.%.255s", st[i].t[j]);
            names[k] = qn[k];
        }
    if ((rc = txt_lookup(d, &r, names, total, err)) != SIFT_OK)
        goto done;
    for (i = 0, k = 0; i < n; k += st[i].n, i++)
        dmarc_eval(&out[i], &st[i], r + k);
    txt_free(r, total);
done:
    free(names);
    free(qn);
    return rc;
}

/* --- SPF ------------------------------------------------------------ */

struct spf_walk {
    char names[SPF_NAMES_MAX][256];
    size_t n;
};

static int
seen(const struct spf_walk *w, const char *name)
{
    size_t i;

    for (i = 0; i < w->n; i++)
        if (strcasecmp(w->names[i], name) == 0)
            return 1;
    return 0;
}

static void
add_include(sift_dns_spf *s, const char *what, const char *name)
{
    size_t len = strlen(s->includes);

    if (len + strlen(what) + strlen(name) + 3 < sizeof(s->includes))
        snprintf(s->includes + len, sizeof(s->includes) - len, "%s%s%s",
                 len ? " " : "", what, name);
}

/* Count the DNS-querying terms of one record (RFC 7208 4.6.4: include,
 * a, mx, ptr, exists, redirect) and queue the include/redirect targets
 * not seen yet into next[]. top: the domain's own record (+all counts
 * there). */
static void
spf_terms(sift_dns_spf *s, const char *rec, int top, struct spf_walk *w,
          char next[][256], size_t *n_next)
{
    const char *p = rec + 6; /* "v=spf1" */

    while (*p) {
        char term[300];
        size_t len;
        const char *t = term, *target = NULL;
        while (*p == ' ')
            p++;
        len = strcspn(p, " ");
        if (len == 0)
            break;
        snprintf(term, sizeof(term), "%.*s", (int)len, p);
        p += len;
        lower(term);
        if (*t == '+' || *t == '-' || *t == '~' || *t == '?') {
            if (top && strcmp(t + 1, "all") == 0 && *t == '+')
                s->all_pass = 1;
            t++;
        } else if (top && strcmp(t, "all") == 0) {
            s->all_pass = 1;
        }
        if (strncmp(t, "include:", 8) == 0) {
            s->lookups++;
            target = t + 8;
            add_include(s, "include:", target);
        } else if (strncmp(t, "redirect=", 9) == 0) {
            s->lookups++;
            target = t + 9;
            add_include(s, "redirect=", target);
        } else if (strcmp(t, "a") == 0 || strncmp(t, "a:", 2) == 0 ||
                   strncmp(t, "a/", 2) == 0 || strcmp(t, "mx") == 0 ||
                   strncmp(t, "mx:", 3) == 0 || strncmp(t, "mx/", 3) == 0 ||
                   strcmp(t, "ptr") == 0 || strncmp(t, "ptr:", 4) == 0 ||
                   strncmp(t, "exists:", 7) == 0) {
            s->lookups++;
        }
        if (target != NULL && strchr(target, '%') == NULL && *target &&
            !seen(w, target) && *n_next < SPF_NAMES_MAX &&
            w->n < SPF_NAMES_MAX) {
            snprintf(next[(*n_next)++], 256, "%s", target);
            snprintf(w->names[w->n++], 256, "%s", target);
        }
    }
}

/* The SPF answer x of `name`, depth levels below the domain, into s: at
 * the top the domain's own record, its status and how many there are;
 * below it a name without a record is an error, and more than one is
 * anywhere. The record's include/redirect targets not seen yet go into
 * next[]. */
static void
spf_answer(sift_dns_spf *s, const struct txt_res *x, const char *name,
           int depth, struct spf_walk *w, char next[][256], size_t *n_next)
{
    char rec[1024];
    int count;

    pick(x, "v=spf1", rec, sizeof(rec), &count);
    if (depth == 0) {
        s->status = x->status;
        s->records = count;
        snprintf(s->record, sizeof(s->record), "%s", rec);
    }
    if (count == 0 && depth > 0 && s->error[0] == '\0')
        snprintf(s->error, sizeof(s->error), "%s has no SPF record", name);
    if (count > 1 && s->error[0] == '\0')
        snprintf(s->error, sizeof(s->error), "%s has %d SPF records", name,
                 count);
    if (count >= 1)
        spf_terms(s, rec, depth == 0, w, next, n_next);
}

/* The SPF records of every domain, level by level: one batch per level
 * for all the domains. */
static int
spf_many(sift_dns *d, sift_dns_published *out, struct dom_state *st, size_t n,
         sift_err *err)
{
    const char **names = NULL;
    size_t i, k, total;
    int depth, rc = SIFT_OK;

    for (i = 0; i < n; i++) {
        struct dom_state *s = &st[i];
        s->w = calloc(1, sizeof(*s->w));
        s->level = calloc(SPF_NAMES_MAX, 256);
        s->next = calloc(SPF_NAMES_MAX, 256);
        if (s->w == NULL || s->level == NULL || s->next == NULL)
            return sift_err_set(err, SIFT_ENOMEM, "out of memory");
        snprintf(s->level[0], 256, "%s", out[i].domain);
        snprintf(s->w->names[s->w->n++], 256, "%s", out[i].domain);
        s->n_level = 1;
    }
    if ((names = calloc(n * SPF_NAMES_MAX, sizeof(*names))) == NULL)
        return sift_err_set(err, SIFT_ENOMEM, "out of memory");
    for (depth = 0; depth < SPF_DEPTH_MAX; depth++) {
        struct txt_res *r = NULL;
        for (i = 0, total = 0; i < n; i++)
            for (k = 0; k < st[i].n_level; k++)
                names[total++] = st[i].level[k];
        if (total == 0)
            break;
        if ((rc = txt_lookup(d, &r, names, total, err)) != SIFT_OK)
            break;
        for (i = 0, total = 0; i < n; i++) {
            struct dom_state *s = &st[i];
            sift_dns_spf *sp = &out[i].spf;
            s->n_next = 0;
            for (k = 0; k < s->n_level; k++, total++) {
                const struct txt_res *x = &r[total];
                min_ttl(&out[i].ttl, x);
                if (!sift_dns_status_final(x->status))
                    out[i].spf_answered = 0;
                spf_answer(sp, x, s->level[k], depth, s->w, s->next,
                           &s->n_next);
            }
            memcpy(s->level, s->next, s->n_next * 256);
            s->n_level = s->n_next;
        }
        txt_free(r, total);
    }
    for (i = 0; rc == SIFT_OK && i < n; i++)
        if (st[i].n_level > 0 && out[i].spf.error[0] == '\0')
            snprintf(out[i].spf.error, sizeof(out[i].spf.error),
                     "includes nested deeper than %d levels", SPF_DEPTH_MAX);
    free(names);
    return rc;
}

/* --- DKIM ----------------------------------------------------------- */

/* Base64 (whitespace skipped) into out; returns the length or -1. */
static long
b64(unsigned char *out, size_t cap, const char *s, size_t n)
{
    static const char tab[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    unsigned v = 0;
    size_t len = 0, i;
    int bits = 0;

    for (i = 0; i < n; i++) {
        const char *c;
        if (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n')
            continue;
        if (s[i] == '=')
            break;
        if ((c = strchr(tab, s[i])) == NULL || s[i] == '\0')
            return -1;
        v = (v << 6) | (unsigned)(c - tab);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (len == cap)
                return -1;
            out[len++] = (unsigned char)(v >> bits);
            v &= (1u << bits) - 1;
        }
    }
    return (long)len;
}

/* A DER header at *p: tag, and the content's length. Returns 0 or -1. */
static int
der(const unsigned char **p, const unsigned char *end, unsigned tag,
    size_t *len)
{
    const unsigned char *q = *p;
    size_t l;

    if (end - q < 2 || *q++ != tag)
        return -1;
    l = *q++;
    if (l & 0x80) {
        unsigned k = l & 0x7f;
        if (k == 0 || k > 3 || end - q < (long)k)
            return -1;
        for (l = 0; k > 0; k--)
            l = (l << 8) | *q++;
    }
    if ((size_t)(end - q) < l)
        return -1;
    *p = q;
    *len = l;
    return 0;
}

/* Bits of an RSA SubjectPublicKeyInfo's modulus (or of a bare RSAPublicKey),
 * 0 when it is not one. */
static int
rsa_bits(const unsigned char *k, size_t n)
{
    const unsigned char *p = k, *end = k + n;
    size_t len;

    if (der(&p, end, 0x30, &len) != 0)
        return 0;
    end = p + len;
    /* SubjectPublicKeyInfo: algorithm, BIT STRING (an empty SEQUENCE may
     * end the key: nothing after it is read) */
    if (p < end && *p == 0x30) {
        if (der(&p, end, 0x30, &len) != 0)
            return 0;
        p += len;
        if (der(&p, end, 0x03, &len) != 0 || len < 1)
            return 0;
        p++; /* unused bits */
        end = p + len - 1;
        if (der(&p, end, 0x30, &len) != 0)
            return 0;
        end = p + len;
    }
    if (der(&p, end, 0x02, &len) != 0 || len == 0)
        return 0;
    while (len > 0 && *p == 0) {
        p++;
        len--;
    }
    if (len == 0)
        return 0;
    {
        int bits = (int)(len - 1) * 8;
        unsigned top = *p;
        while (top) {
            bits++;
            top >>= 1;
        }
        return bits;
    }
}

/* The value of tag `name` in a tag=value list, or NULL; *n its length. */
static const char *
tag(const char *rec, const char *name, size_t *n)
{
    const char *p = rec;
    size_t ln = strlen(name);

    while (*p) {
        const char *e;
        while (*p == ' ' || *p == '\t' || *p == ';')
            p++;
        e = p + strcspn(p, ";");
        if (strncmp(p, name, ln) == 0) {
            const char *v = p + ln;
            while (*v == ' ' || *v == '\t')
                v++;
            if (*v == '=') {
                v++;
                while (*v == ' ' || *v == '\t')
                    v++;
                *n = (size_t)(e - v);
                while (*n > 0 && (v[*n - 1] == ' ' || v[*n - 1] == '\t'))
                    (*n)--;
                return v;
            }
        }
        p = e;
    }
    return NULL;
}

static void
dkim_key(sift_dns_dkim *k, const struct txt_res *r)
{
    const char *p = r->txt, *v;
    size_t i, n = 0;

    k->status = r->status;
    k->ttl = r->ttl;
    for (i = 0; i < r->n; i++, p += strlen(p) + 1)
        if ((v = tag(p, "p", &n)) != NULL)
            break;
    if (i == r->n) /* no key record */
        return;
    k->present = n > 0; /* p= empty: revoked */
    if (n > 0) {
        unsigned char der_buf[2048];
        long len = b64(der_buf, sizeof(der_buf), v, n);
        const char *kt;
        size_t ktn = 0;
        kt = tag(p, "k", &ktn);
        if (kt != NULL && ktn == 7 && strncmp(kt, "ed25519", 7) == 0) {
            snprintf(k->type, sizeof(k->type), "ed25519");
            k->bits = len == 32 ? 256 : 0;
        } else {
            snprintf(k->type, sizeof(k->type), "rsa");
            k->bits = len > 0 ? rsa_bits(der_buf, (size_t)len) : 0;
        }
    }
}

/* Every domain's DKIM keys in one batch. */
static int
dkim_many(sift_dns *d, sift_dns_published *out, const sift_dns_domain_query *q,
          size_t n, sift_err *err)
{
    char(*names)[320] = NULL;
    const char **np = NULL;
    struct txt_res *r = NULL;
    size_t total = 0, i, j, k;
    int rc = SIFT_OK;

    for (i = 0; i < n; i++)
        total += q[i].n_dkim;
    if (total == 0)
        return SIFT_OK;
    names = calloc(total, sizeof(*names));
    np = calloc(total, sizeof(*np));
    if (names == NULL || np == NULL) {
        rc = sift_err_set(err, SIFT_ENOMEM, "out of memory");
        goto done;
    }
    for (i = 0, k = 0; i < n; i++) {
        if (q[i].n_dkim == 0)
            continue;
        if ((out[i].dkim = calloc(q[i].n_dkim, sizeof(*out[i].dkim))) == NULL) {
            rc = sift_err_set(err, SIFT_ENOMEM, "out of memory");
            goto done;
        }
        out[i].n_dkim = q[i].n_dkim;
        for (j = 0; j < q[i].n_dkim; j++, k++) {
            sift_dns_dkim *e = &out[i].dkim[j];
            snprintf(e->domain, sizeof(e->domain), "%s", q[i].dkim_domains[j]);
            snprintf(e->selector, sizeof(e->selector), "%s", q[i].selectors[j]);
            snprintf(names[k], sizeof(names[k]), "%.127s._domainkey.%.180s",
                     q[i].selectors[j], q[i].dkim_domains[j]);
            np[k] = names[k];
        }
    }
    if ((rc = txt_lookup(d, &r, np, total, err)) != SIFT_OK)
        goto done;
    for (i = 0, k = 0; i < n; i++)
        for (j = 0; j < out[i].n_dkim; j++, k++)
            dkim_key(&out[i].dkim[j], &r[k]);
    txt_free(r, total);
done:
    free(names);
    free(np);
    return rc;
}

int
sift_dns_published_lookup_many(sift_dns *d, sift_dns_published *out,
                               const sift_dns_domain_query *q, size_t n,
                               sift_err *err)
{
    struct dom_state *st;
    size_t i;
    int rc;

    for (i = 0; i < n; i++) {
        memset(&out[i], 0, sizeof(out[i]));
        out[i].ttl = 86400;
        out[i].spf_answered = 1;
        snprintf(out[i].domain, sizeof(out[i].domain), "%s", q[i].domain);
        lower(out[i].domain);
    }
    if ((st = calloc(n ? n : 1, sizeof(*st))) == NULL)
        return sift_err_set(err, SIFT_ENOMEM, "out of memory");
    rc = dmarc_many(d, out, q, st, n, err);
    if (rc == SIFT_OK)
        rc = spf_many(d, out, st, n, err);
    if (rc == SIFT_OK)
        rc = dkim_many(d, out, q, n, err);
    for (i = 0; i < n; i++) {
        free(st[i].w);
        free(st[i].level);
        free(st[i].next);
        if (rc != SIFT_OK)
            sift_dns_published_free(&out[i]);
    }
    free(st);
    return rc;
}

int
sift_dns_published_lookup(sift_dns *d, sift_dns_published *out,
                          const sift_dns_domain_query *q, sift_err *err)
{
    return sift_dns_published_lookup_many(d, out, q, 1, err);
}

void
sift_dns_published_free(sift_dns_published *p)
{
    free(p->dkim);
    p->dkim = NULL;
    p->n_dkim = 0;
}

/* --- the parsers alone (dns_int.h) ---------------------------------- */

/* n records, each NUL-terminated, as one name's answer. */
static struct txt_res
as_answer(const char *txt, size_t n)
{
    struct txt_res r = {SIFT_DNS_OK, 3600, n, (char *)txt};

    return r;
}

int
sift_dns__rsa_bits(const unsigned char *der_bytes, size_t n)
{
    return rsa_bits(der_bytes, n);
}

void
sift_dns__dkim_key(sift_dns_dkim *k, const char *txt, size_t n)
{
    struct txt_res r = as_answer(txt, n);

    dkim_key(k, &r);
}

int
sift_dns__dmarc_pick(char *buf, size_t bufsz, const char *txt, size_t n)
{
    struct txt_res r = as_answer(txt, n);
    int count;

    pick(&r, "v=DMARC1", buf, bufsz, &count);
    return count;
}

size_t
sift_dns__spf_top(sift_dns_spf *s, const char *txt, size_t n)
{
    struct txt_res r = as_answer(txt, n);
    struct spf_walk *w = calloc(1, sizeof(*w));
    char(*next)[256] = calloc(SPF_NAMES_MAX, 256);
    size_t n_next = 0;

    if (w != NULL && next != NULL)
        spf_answer(s, &r, "the domain", 0, w, next, &n_next);
    free(w);
    free(next);
    return n_next;
}
