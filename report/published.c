/* published.c -- what each policy domain publishes now (store/dns_cache.c,
 * written by `dmarcsift resolve`), and how it differs from what the
 * reporters saw: the digest's "Published now" lines, and the JSON
 * "published" object (docs/dns.md). */
#include "report_int.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sift_json.h"

static char *
dup_or_null(const char *s, int *oom)
{
    char *r;

    if (s == NULL || s[0] == '\0')
        return NULL;
    if ((r = strdup(s)) == NULL)
        *oom = 1;
    return r;
}

static int
add_pub(void *payload, const sift_published_row *r)
{
    sift_report_pubs *m = payload;
    sift_report_pub *p;
    int oom = 0;

    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 16;
        sift_report_pub *v = realloc(m->v, cap * sizeof(*v));
        if (v == NULL)
            return SIFT_ENOMEM;
        m->v = v;
        m->cap = cap;
    }
    p = &m->v[m->n++];
    memset(p, 0, sizeof(*p));
    p->domain = dup_or_null(r->domain, &oom);
    p->tree_at = dup_or_null(r->tree_at, &oom);
    p->tree_record = dup_or_null(r->tree_record, &oom);
    p->psl_at = dup_or_null(r->psl_at, &oom);
    p->psl_record = dup_or_null(r->psl_record, &oom);
    p->spf_record = dup_or_null(r->spf_record, &oom);
    p->spf_includes = dup_or_null(r->spf_includes, &oom);
    p->spf_error = dup_or_null(r->spf_error, &oom);
    p->differ = r->differ;
    p->spf_records = r->spf_records;
    p->spf_lookups = r->spf_lookups;
    p->spf_all = r->spf_all;
    p->looked_up = r->looked_up;
    return oom || p->domain == NULL ? SIFT_ENOMEM : 0;
}

static int
add_key(void *payload, const sift_dkim_row *k)
{
    sift_report_pub *p = payload;
    sift_report_key *v, *e;
    int oom = 0;

    if (p->n_dkim == 32)
        return 0;
    if ((v = realloc(p->dkim, (p->n_dkim + 1) * sizeof(*v))) == NULL)
        return SIFT_ENOMEM;
    p->dkim = v;
    e = &v[p->n_dkim++];
    memset(e, 0, sizeof(*e));
    e->domain = dup_or_null(k->domain, &oom);
    e->selector = dup_or_null(k->selector, &oom);
    e->status = dup_or_null(k->status, &oom);
    e->type = dup_or_null(k->key_type, &oom);
    e->present = k->present;
    e->bits = k->key_bits;
    return oom ? SIFT_ENOMEM : 0;
}

int
sift_report__pubs_load(sift_report_pubs *m, sift_store *st, sift_err *err)
{
    size_t i;
    int rc;

    memset(m, 0, sizeof(*m));
    rc = sift_store_dns_published_each(st, add_pub, m, err);
    for (i = 0; i < m->n && rc == SIFT_OK; i++)
        rc = sift_store_dns_dkim_each(st, m->v[i].domain, add_key, &m->v[i],
                                      err);
    if (rc == SIFT_ENOMEM)
        return sift_err_set(err, SIFT_ENOMEM, "out of memory");
    return rc;
}

const sift_report_pub *
sift_report__pub_find(const sift_report_pubs *m, const char *name)
{
    size_t i;

    for (i = 0; name != NULL && i < m->n; i++)
        if (strcasecmp(m->v[i].domain, name) == 0)
            return &m->v[i];
    return NULL;
}

void
sift_report__pubs_free(sift_report_pubs *m)
{
    size_t i, k;

    for (i = 0; i < m->n; i++) {
        sift_report_pub *p = &m->v[i];
        free(p->domain);
        free(p->tree_at);
        free(p->tree_record);
        free(p->psl_at);
        free(p->psl_record);
        free(p->spf_record);
        free(p->spf_includes);
        free(p->spf_error);
        for (k = 0; k < p->n_dkim; k++) {
            free(p->dkim[k].domain);
            free(p->dkim[k].selector);
            free(p->dkim[k].status);
            free(p->dkim[k].type);
        }
        free(p->dkim);
    }
    free(m->v);
    memset(m, 0, sizeof(*m));
}

/* The value of tag `name` in a DMARC record, into buf ("" when absent). */
static const char *
dmarc_tag(char *buf, size_t n, const char *rec, const char *name)
{
    const char *p = rec;
    size_t ln = strlen(name);

    buf[0] = '\0';
    while (p != NULL && *p) {
        const char *e;
        while (*p == ' ' || *p == '\t' || *p == ';')
            p++;
        e = p + strcspn(p, ";");
        if (strncasecmp(p, name, ln) == 0) {
            const char *v = p + ln;
            while (*v == ' ' || *v == '\t')
                v++;
            if (*v == '=') {
                size_t l;
                v++;
                while (*v == ' ' || *v == '\t')
                    v++;
                l = (size_t)(e - v);
                while (l > 0 && (v[l - 1] == ' ' || v[l - 1] == '\t'))
                    l--;
                snprintf(buf, n, "%.*s", (int)l, v);
                return buf;
            }
        }
        p = e;
    }
    return buf;
}

int
sift_report__includes_has(const sift_report_pub *p, const char *include)
{
    const char *s, *hit;
    size_t n;

    if (p == NULL || include == NULL || (s = p->spf_includes) == NULL)
        return 0;
    n = strlen(include);
    for (hit = s; (hit = strstr(hit, include)) != NULL; hit += n)
        if ((hit == s || hit[-1] == ' ') && (hit[n] == ' ' || hit[n] == '\0'))
            return 1;
    return 0;
}

size_t
sift_report__pub_lines(char lines[][512], size_t max, const domain *d)
{
    const sift_report_pub *p = d->pub;
    char now_p[64], tp[64], pp[64];
    size_t n = 0, k;

    if (p == NULL)
        return 0;
#define LINE(...)                                                              \
    do {                                                                       \
        if (n < max)                                                           \
            snprintf(lines[n++], 512, __VA_ARGS__);                            \
    } while (0)
    dmarc_tag(now_p, sizeof(now_p), p->tree_record, "p");
    if (p->tree_record == NULL)
        LINE("DMARC: no record found now for %s (the reports saw p=%s)",
             d->name, d->p ? d->p : "-");
    else if (d->p != NULL && strcasecmp(now_p, d->p) != 0)
        LINE("DMARC: p=%s published now at _dmarc.%s; the reports saw p=%s",
             now_p, p->tree_at ? p->tree_at : d->name, d->p);
    if (p->differ)
        LINE("DMARC: the RFC 9989 tree walk finds %s%s (p=%s), the PSL "
             "lookup %s%s (p=%s): receivers may apply either",
             p->tree_at ? "_dmarc." : "no record", p->tree_at ? p->tree_at : "",
             dmarc_tag(tp, sizeof(tp), p->tree_record, "p")[0] ? tp : "-",
             p->psl_at ? "_dmarc." : "no record", p->psl_at ? p->psl_at : "",
             dmarc_tag(pp, sizeof(pp), p->psl_record, "p")[0] ? pp : "-");
    if (p->spf_records == 0)
        LINE("SPF: no SPF record at %s", p->domain);
    else if (p->spf_records > 1)
        LINE("SPF: %d SPF records at %s: receivers treat that as a "
             "permerror (one record only)",
             p->spf_records, p->domain);
    if (p->spf_lookups > 10)
        LINE("SPF: %d DNS lookups, over the limit of 10: receivers "
             "return permerror (flatten includes or drop unused ones)",
             p->spf_lookups);
    if (p->spf_all)
        LINE("SPF: +all lets every server on the Internet pass SPF for %s",
             p->domain);
    if (p->spf_error != NULL)
        LINE("SPF: %s", p->spf_error);
    for (k = 0; k < p->n_dkim; k++) {
        const sift_report_key *e = &p->dkim[k];
        if (e->status == NULL || !e->selector || !e->domain)
            continue;
        if (!e->present && strcmp(e->status, "ok") == 0)
            LINE("DKIM: the key of %s._domainkey.%s is revoked (empty p=)",
                 e->selector, e->domain);
        else if (!e->present && (strcmp(e->status, "nxdomain") == 0 ||
                                 strcmp(e->status, "nodata") == 0))
            LINE("DKIM: no key at %s._domainkey.%s, a selector the reports "
                 "show in use",
                 e->selector, e->domain);
        else if (e->present && e->type && strcmp(e->type, "rsa") == 0 &&
                 e->bits > 0 && e->bits < 1024)
            LINE("DKIM: %s._domainkey.%s is a %d-bit RSA key: receivers "
                 "ignore keys under 1024 bits",
                 e->selector, e->domain, e->bits);
        else if (e->present && e->type && strcmp(e->type, "rsa") == 0 &&
                 e->bits == 1024)
            LINE("DKIM: %s._domainkey.%s is a 1024-bit RSA key (2048 is "
                 "recommended)",
                 e->selector, e->domain);
    }
#undef LINE
    return n;
}

static void
jstr(FILE *fp, const char *k, const char *v)
{
    fprintf(fp, "\"%s\": ", k);
    sift_json_str(fp, v);
}

void
sift_report__pub_json(FILE *fp, const domain *d)
{
    const sift_report_pub *p = d->pub;
    char lines[24][512], date[32];
    size_t n, k;

    fputs(",\n      \"published\": ", fp);
    if (p == NULL) {
        fputs("null", fp);
        return;
    }
    sift_report__date(date, sizeof(date), p->looked_up, 1);
    fprintf(fp, "{\"looked_up\": \"%s\", \"dmarc\": {\"tree_walk\": {", date);
    jstr(fp, "at", p->tree_at);
    fputs(", ", fp);
    jstr(fp, "record", p->tree_record);
    fputs("}, \"psl\": {", fp);
    jstr(fp, "at", p->psl_at);
    fputs(", ", fp);
    jstr(fp, "record", p->psl_record);
    fprintf(fp, "}, \"differ\": %s}, \"spf\": {", p->differ ? "true" : "false");
    jstr(fp, "record", p->spf_record);
    fprintf(fp,
            ", \"records\": %d, \"lookups\": %d, \"over_limit\": %s, "
            "\"all_pass\": %s, ",
            p->spf_records, p->spf_lookups,
            p->spf_lookups > 10 ? "true" : "false",
            p->spf_all ? "true" : "false");
    jstr(fp, "includes", p->spf_includes);
    fputs(", ", fp);
    jstr(fp, "error", p->spf_error);
    fputs("}, \"dkim\": [", fp);
    for (k = 0; k < p->n_dkim; k++) {
        const sift_report_key *e = &p->dkim[k];
        fputs(k ? ", {" : "{", fp);
        jstr(fp, "domain", e->domain);
        fputs(", ", fp);
        jstr(fp, "selector", e->selector);
        fputs(", ", fp);
        jstr(fp, "status", e->status);
        fprintf(fp, ", \"present\": %s, ", e->present ? "true" : "false");
        jstr(fp, "type", e->type);
        fprintf(fp, ", \"bits\": %d}", e->bits);
    }
    fputs("], \"differences\": [", fp);
    n = sift_report__pub_lines(lines, 24, d);
    for (k = 0; k < n; k++) {
        if (k)
            fputs(", ", fp);
        sift_json_str(fp, lines[k]);
    }
    fputs("]}", fp);
}
