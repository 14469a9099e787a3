/* render_csv.c -- `dmarcsift report --format csv`: one row per (domain,
 * source) of the summary model (columns: docs/report.md "CSV"). */
#include "report_int.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "sift_util.h"

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

int
sift_report__csv_all(FILE *fp, const ctx *c)
{
    char d1[24], d2[24], adv[1024];
    size_t i, j;
    int k, n;

    fputs("domain,p,source_ip,sender,messages,dmarc_fail,would_reject,"
          "exempted,dns_errors,categories,header_from,envelope_domains,"
          "dkim_domains,reporters,first_seen,last_seen,advice,"
          "sender_kind,sender_name,category_messages,sender_first_seen,"
          "sender_new,ptr,ptr_unconfirmed,ptr_org\r\n",
          fp);
    for (i = 0; i < c->n_dom; i++) {
        const domain *d = &c->dom[i];
        for (j = d->first_src; j < d->first_src + d->n_src; j++) {
            const source *s = &c->src[j];
            const sift_report_ptr *p;
            uint32_t x;

            sift_report__csv(fp, d->name);
            fputc(',', fp);
            sift_report__csv(fp, d->p);
            fputc(',', fp);
            sift_report__csv(fp, s->ip);
            fputc(',', fp);
            sift_report__csv(fp, s->sender ? s->sender->name : NULL);
            fprintf(fp,
                    ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64
                    ",",
                    s->messages, s->dmarc_fail, s->would_reject, s->overridden,
                    s->dns_error);
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
            sift_report__source_advice(adv, sizeof(adv), d, s);
            sift_report__csv(fp, adv);
            fprintf(fp, ",%s,", sift_kind_code(s->kind));
            sift_report__csv(fp, s->sender_name);
            fputc(',', fp); /* codes and numbers: safe */
            for (x = 0; x < s->n_cx; x++)
                fprintf(fp, "%s%s=%" PRIu64, x ? ";" : "",
                        sift_category_code((sift_category)s->cx[x].cat),
                        s->cx[x].messages);
            if (s->sender_idx < c->n_snd) {
                const sender *t = &c->snd[s->sender_idx];
                sift_report__date(d1, sizeof(d1), t->first_seen, 1);
                fprintf(fp, ",%s,%d", d1, t->is_new);
            } else {
                fputs(",,0", fp);
            }
            /* the source's cached name, as export and JSON give it */
            p = s->ptr;
            fputc(',', fp);
            sift_report__csv(fp, p && p->confirmed ? p->name : NULL);
            fputc(',', fp);
            sift_report__csv(fp, p && !p->confirmed ? p->name : NULL);
            fputc(',', fp);
            sift_report__csv(fp, p ? p->org : NULL);
            fputs("\r\n", fp);
        }
    }
    return SIFT_OK;
}

/* One series row per period: domain and (empty for the domain's total)
 * sender kind and name. */
static int
series_rows(FILE *fp, const ctx *c, const domain *d, const sender *t,
            const series *s)
{
    dayc *v;
    size_t n = sift_report__by(&v, s, c->opts->by), i;
    char d1[24];

    if (n == SIZE_MAX)
        return SIFT_ENOMEM;
    for (i = 0; i < n; i++) {
        sift_report__csv(fp, d->name);
        fprintf(fp, ",%s,", t ? sift_kind_code(t->kind) : "");
        sift_report__csv(fp, t ? t->name : NULL);
        sift_report__date(d1, sizeof(d1), v[i].day * DAY_SECONDS, 0);
        fprintf(fp,
                ",%d,%s,%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64
                ",%" PRIu64 "\r\n",
                t ? t->is_new : 0, d1, v[i].messages, v[i].pass, v[i].fail,
                v[i].would_reject, v[i].exempted);
    }
    free(v);
    return SIFT_OK;
}

int
sift_report__csv_series(FILE *fp, const ctx *c)
{
    size_t i, k;

    fputs("domain,sender_kind,sender_name,sender_new,date,messages,"
          "dmarc_pass,dmarc_fail,would_reject,exempted\r\n",
          fp);
    for (i = 0; i < c->n_dom; i++) {
        const domain *d = &c->dom[i];
        if (series_rows(fp, c, d, NULL, &d->a->days) != SIFT_OK)
            return SIFT_ENOMEM;
        for (k = d->first_snd; k < d->first_snd + d->n_snd; k++)
            if (series_rows(fp, c, d, &c->snd[k], &c->snd[k].days) != SIFT_OK)
                return SIFT_ENOMEM;
    }
    return SIFT_OK;
}
