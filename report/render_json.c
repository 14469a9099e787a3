/* render_json.c -- `dmarcsift report --format json`: the summary model as
 * one JSON document (keys: docs/report.md "JSON"). */
#include "report_int.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "sift_json.h"
#include "sift_util.h"

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

/* {"code": messages, ...} of a source's primary categories, largest
 * first */
static void
catmsgs_json(FILE *fp, const source *s)
{
    uint32_t i;

    fputc('{', fp);
    for (i = 0; i < s->n_cx; i++)
        fprintf(fp, "%s\"%s\": %" PRIu64, i ? ", " : "",
                sift_category_code((sift_category)s->cx[i].cat),
                s->cx[i].messages);
    fputc('}', fp);
}

/* Failing categories of a sender, largest first, into v (codes). */
static size_t
sender_cats(const sender *s, sift_category *v, int failing_only)
{
    size_t n = 0, i, j;

    for (i = 0; i < SIFT_CAT__COUNT; i++) {
        if (s->cat_msgs[i] == 0)
            continue;
        if (failing_only && (i == SIFT_CAT_PASS_DKIM_ALIGNED ||
                             i == SIFT_CAT_PASS_SPF_ALIGNED ||
                             i == SIFT_CAT_FORWARDED_DKIM_INTACT))
            continue;
        for (j = n; j > 0 && s->cat_msgs[v[j - 1]] < s->cat_msgs[i]; j--)
            v[j] = v[j - 1];
        v[j] = (sift_category)i;
        n++;
    }
    return n;
}

static void date_json(FILE *fp, int64_t t, int have);
static void strs_json(FILE *fp, const char *const *v, size_t n);

/* "series": [{date, messages, dmarc_pass, dmarc_fail, would_reject,
 * exempted}] by day or week (--by); SIFT_ENOMEM */
static int
series_json(FILE *fp, const ctx *c, const series *s, const char *indent)
{
    dayc *v;
    size_t n = sift_report__by(&v, s, c->opts->by), i;
    char d1[24];

    if (n == SIZE_MAX)
        return SIFT_ENOMEM;
    fputs("\"series\": [", fp);
    for (i = 0; i < n; i++) {
        sift_report__date(d1, sizeof(d1), v[i].day * DAY_SECONDS, 0);
        fprintf(fp,
                "%s%s{\"date\": \"%s\", \"messages\": %" PRIu64
                ", \"dmarc_pass\": %" PRIu64 ", \"dmarc_fail\": %" PRIu64
                ", \"would_reject\": %" PRIu64 ", \"exempted\": %" PRIu64 "}",
                i ? "," : "", indent, d1, v[i].messages, v[i].pass, v[i].fail,
                v[i].would_reject, v[i].exempted);
    }
    fputs(n ? "]" : "]", fp);
    free(v);
    return SIFT_OK;
}

static int
sender_json(FILE *fp, const ctx *c, const domain *d, const sender *s)
{
    sift_category v[SIFT_CAT__COUNT];
    char adv[1024];
    size_t i, n;

    fputs("{\"name\": ", fp);
    sift_json_str(fp, s->name);
    fprintf(fp,
            ", \"kind\": \"%s\", \"messages\": %" PRIu64
            ", \"dmarc_fail\": %" PRIu64 ", \"would_reject\": %" PRIu64
            ", \"exempted\": %" PRIu64 ", \"dns_errors\": %" PRIu64
            ", \"inconsistent\": %" PRIu64 ",\n          ",
            sift_kind_code(s->kind), s->messages, s->dmarc_fail,
            s->would_reject, s->overridden, s->dns_error, s->inconsistent);
    fputs("\"first_seen\": ", fp);
    date_json(fp, s->first_seen, 1);
    fputs(", \"last_seen\": ", fp);
    date_json(fp, s->last, 1);
    fprintf(fp, ", \"new\": %s,\n          \"ips\": [",
            s->is_new ? "true" : "false");
    for (i = 0; i < s->n_src; i++) {
        const source *t = &c->src[c->sord[s->first_src + i]];
        fputs(i ? ", {\"ip\": " : "{\"ip\": ", fp);
        sift_json_str(fp, t->folded ? NULL : t->ip);
        if (t->folded > 0)
            fprintf(fp, ", \"folded_sources\": %" PRIu64, t->folded);
        fprintf(fp,
                ", \"messages\": %" PRIu64 ", \"would_reject\": %" PRIu64 "}",
                t->messages, t->would_reject);
    }
    fputs("],\n          \"categories\": [", fp);
    n = sender_cats(s, v, 0);
    for (i = 0; i < n; i++)
        fprintf(fp, "%s{\"code\": \"%s\", \"messages\": %" PRIu64 "}",
                i ? ", " : "", sift_category_code(v[i]), s->cat_msgs[v[i]]);
    fputs("],\n          \"advice\": [", fp);
    for (i = 0; i < n; i++) {
        sift_report__sender_advice(adv, sizeof(adv), d, s, v[i]);
        fprintf(fp, "%s{\"category\": \"%s\", \"text\": ", i ? ", " : "",
                sift_category_code(v[i]));
        sift_json_str(fp, adv);
        fputc('}', fp);
    }
    fputc(']', fp);
    if (c->opts->by) {
        fputs(",\n          ", fp);
        if (series_json(fp, c, &s->days, "\n            ") != SIFT_OK)
            return SIFT_ENOMEM;
    }
    fputc('}', fp);
    return SIFT_OK;
}

/* readiness, reporting, absent senders, series (--by) of a domain */
static int
over_time_json(FILE *fp, const ctx *c, const domain *d)
{
    size_t i;

    fprintf(fp, ",\n      \"readiness\": {\"state\": \"%s\", \"reasons\": ",
            sift_report__ready_code(d->ready));
    strs_json(fp, (const char *const *)d->reasons, d->n_reasons);
    fputs(",\n        \"next_step\": ", fp);
    sift_json_str(fp, d->next_step);
    fputs("},\n      \"reporting\": {\"last_report\": ", fp);
    date_json(fp, d->last_report, d->last_report > 0);
    fprintf(fp,
            ", \"days_without_reports\": %" PRId64 ", \"silent_reporters\": [",
            d->quiet_days);
    for (i = 0; i < d->n_silent; i++) {
        fputs(i ? ", {\"reporter\": " : "{\"reporter\": ", fp);
        sift_json_str(fp, d->silent[i].org);
        fputs(", \"last_report\": ", fp);
        date_json(fp, d->silent[i].last, 1);
        fprintf(fp, ", \"usual_interval_seconds\": %" PRId64 "}",
                d->silent[i].gap);
    }
    fputs("]},\n      \"absent_senders\": [", fp);
    for (i = 0; i < d->n_absent; i++) {
        const sender *h = d->absent[i];
        fputs(i ? ", {\"name\": " : "{\"name\": ", fp);
        sift_json_str(fp, h->name);
        fprintf(fp, ", \"kind\": \"%s\", \"first_seen\": ",
                sift_kind_code(h->kind));
        date_json(fp, h->first, 1);
        fputs(", \"last_seen\": ", fp);
        date_json(fp, h->last, 1);
        fprintf(fp, ", \"failing\": %s}",
                h->last_wr > 0 && h->last_wr >= h->last ? "true" : "false");
    }
    fputc(']', fp);
    if (c->opts->by) {
        fputs(",\n      ", fp);
        return series_json(fp, c, &d->a->days, "\n        ");
    }
    return SIFT_OK;
}

static void
date_json(FILE *fp, int64_t t, int have)
{
    char d[24];

    if (!have) {
        fputs("null", fp);
        return;
    }
    sift_report__date(d, sizeof(d), t, 1);
    fprintf(fp, "\"%s\"", d);
}

static void
strs_json(FILE *fp, const char *const *v, size_t n)
{
    size_t i;

    fputc('[', fp);
    for (i = 0; i < n; i++) {
        if (i)
            fputs(", ", fp);
        sift_json_str(fp, v[i]);
    }
    fputc(']', fp);
}

static void
meta_json(FILE *fp, const ctx *c)
{
    const sift_filter *f = c->filter;

    fputs("  \"meta\": {\"version\": ", fp);
    sift_json_str(fp, SIFT_VERSION);
    fputs(", \"generated_at\": ", fp);
    date_json(fp, c->opts->generated_at, 1);
    fputs(", \"period\": {\"from\": ", fp);
    date_json(fp, c->period_from, c->n_reps > 0);
    fputs(", \"to\": ", fp);
    date_json(fp, c->period_to, c->n_reps > 0);
    fputs("}, \"filters\": {\"domains\": ", fp);
    strs_json(fp, f ? f->domains : NULL, f ? f->ndomains : 0);
    fputs(", \"reporters\": ", fp);
    strs_json(fp, f ? f->reporters : NULL, f ? f->nreporters : 0);
    fputs(", \"since\": ", fp);
    date_json(fp, f ? f->since : 0, f && f->has_since);
    fputs(", \"until\": ", fp);
    date_json(fp, f ? f->until : 0, f && f->has_until);
    fprintf(
        fp, ", \"top\": %u, \"all\": %s, \"min_messages\": %" PRIu64 "}},\n",
        c->opts->top, c->opts->all ? "true" : "false", c->opts->min_messages);
    fputs("  \"over_time\": {\"now\": ", fp);
    date_json(fp, c->now, 1);
    fprintf(fp, ", \"by\": %s},\n",
            c->opts->by == 7   ? "\"week\""
            : c->opts->by == 1 ? "\"day\""
                               : "null");
}

/* The source's cached name (docs/dns.md): ptr is the forward-confirmed
 * name, ptr_unconfirmed one that did not confirm, ptr_org the
 * organisational domain of the confirmed one. */
static void
ptr_json(FILE *fp, const sift_report_ptr *p)
{
    fputs(",\n         \"ptr\": ", fp);
    sift_json_str(fp, p && p->confirmed ? p->name : NULL);
    fputs(", \"ptr_unconfirmed\": ", fp);
    sift_json_str(fp, p && !p->confirmed ? p->name : NULL);
    fputs(", \"ptr_org\": ", fp);
    sift_json_str(fp, p ? p->org : NULL);
}

int
sift_report__json(FILE *fp, const ctx *c)
{
    const sift_report_totals *t = &c->tot;
    char d1[24], d2[24], p1[32], adv[1024];
    size_t i, j, k;

    fputs("{\n", fp);
    meta_json(fp, c);
    fprintf(fp,
            "  \"messages\": %" PRIu64 ",\n  \"dmarc_fail\": %" PRIu64
            ",\n  \"would_reject\": %" PRIu64 ",\n  \"domains\": [",
            t->messages, t->dmarc_fail, t->would_reject);
    for (i = 0; i < c->n_dom; i++) {
        const domain *d = &c->dom[i];

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
        sift_report__pub_json(fp, d);
        sift_report__percent(p1, sizeof(p1), d->messages - d->dmarc_fail,
                             d->messages);
        fprintf(fp,
                ",\n      \"messages\": %" PRIu64
                ",\n      \"dmarc_pass\": %" PRIu64
                ",\n      \"dmarc_pass_rate\": %s"
                ",\n      \"dmarc_fail\": %" PRIu64
                ",\n      \"would_reject\": %" PRIu64,
                d->messages, d->messages - d->dmarc_fail, p1, d->dmarc_fail,
                d->would_reject);
        sift_report__percent(p1, sizeof(p1), d->would_reject, d->messages);
        fprintf(fp,
                ",\n      \"would_reject_rate\": %s"
                ",\n      \"would_reject_sources\": %" PRIu64,
                p1, d->reject_sources);
        if (d->a->folded > 0) /* past --max-sources: only then */
            fprintf(fp,
                    ",\n      \"folded_sources\": %" PRIu64
                    ", \"max_sources\": %" PRIu64,
                    d->a->folded, c->max_src);
        fprintf(fp,
                ",\n      \"exempted\": {\"messages\": %" PRIu64
                ", \"by_reason\": {",
                d->overridden);
        for (j = 0, k = 0; j < N_EXEMPT; j++) {
            if (d->exempted[j] == 0)
                continue;
            fprintf(fp, "%s\"%s\": %" PRIu64, k++ ? ", " : "",
                    sift_report__exempt_types[j], d->exempted[j]);
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
            const source *s = &c->src[j];

            fputs(j > d->first_src ? ",\n        {" : "\n        {", fp);
            fputs("\"source_ip\": ", fp);
            sift_json_str(fp, s->folded ? NULL : s->ip);
            if (s->folded > 0) /* past --max-sources */
                fprintf(fp, ", \"folded_sources\": %" PRIu64, s->folded);
            fputs(", \"sender\": ", fp);
            sift_json_str(fp, s->sender ? s->sender->name : NULL);
            fprintf(fp,
                    ", \"messages\": %" PRIu64 ", \"dmarc_fail\": %" PRIu64
                    ", \"would_reject\": %" PRIu64 ", \"exempted\": %" PRIu64
                    ", \"dns_errors\": %" PRIu64 ", \"inconsistent\": %" PRIu64
                    ",\n         \"categories\": ",
                    s->messages, s->dmarc_fail, s->would_reject, s->overridden,
                    s->dns_error, s->inconsistent);
            cats_json(fp, s->cats);
            fputs(",\n         \"category_messages\": ", fp);
            catmsgs_json(fp, s);
            fprintf(fp, ", \"sender_kind\": \"%s\", \"sender_name\": ",
                    sift_kind_code(s->kind));
            sift_json_str(fp, s->sender_name);
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
            fprintf(fp, ", \"first_seen\": \"%s\", \"last_seen\": \"%s\"", d1,
                    d2);
            ptr_json(fp, s->ptr);
            sift_report__source_advice(adv, sizeof(adv), d, s);
            fputs(",\n         \"advice\": ", fp);
            sift_json_str(fp, adv);
            fputc('}', fp);
        }
        fputs(d->n_src ? "\n      ]," : "],", fp);
        fprintf(fp,
                "\n      \"dispositions\": {\"none\": %" PRIu64
                ", \"quarantine\": %" PRIu64 ", \"reject\": %" PRIu64 "}"
                ",\n      \"subdomains\": {\"messages\": %" PRIu64
                ", \"would_reject\": %" PRIu64 "}"
                ",\n      \"policy_evaluated_incomplete\": %" PRIu64
                ",\n      \"senders\": [",
                d->a->disp[DISP_NONE], d->a->disp[DISP_QUARANTINE],
                d->a->disp[DISP_REJECT], d->a->sub_messages,
                d->a->sub_would_reject, d->a->pe_missing);
        for (k = 0; k < d->n_snd; k++) {
            fputs(k ? ",\n        " : "\n        ", fp);
            if (sender_json(fp, c, d, &c->snd[d->first_snd + k]) != SIFT_OK)
                return SIFT_ENOMEM;
        }
        fputs(d->n_snd ? "\n      ]" : "]", fp);
        if (over_time_json(fp, c, d) != SIFT_OK)
            return SIFT_ENOMEM;
        fputs("\n    }", fp);
    }
    fprintf(fp,
            c->n_dom ? "\n  ],\n  \"saturated\": %s\n}\n"
                     : "],\n  \"saturated\": %s\n}\n",
            t->saturated ? "true" : "false");
    return SIFT_OK;
}
