/* render_html.c -- `dmarcsift report --format html`: the summary model as
 * one self-contained page (docs/report.md "HTML"): inline CSS and SVG, no
 * script, nothing fetched. Per domain: the readiness verdict, the trend
 * chart (stacked pass / exempted / would reject per day), the senders
 * with kinds, NEW marks and advice, and the silent reporters.
 *
 * Every string from a report (domain, org_name, sender names, IPs, and
 * the texts built from them) goes through esc(): terminal controls, bidi
 * controls and invalid UTF-8 are made visible first (sift_text_safe),
 * then & < > " ' become entities, in text and in attributes alike. */
#include "report_int.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "sift_json.h"
#include "sift_util.h"

#define CHART_DAYS 92 /* days the chart shows at most (the last ones) */

/* s escaped for HTML text and attribute values. */
static void
esc(FILE *fp, const char *s)
{
    char *buf = NULL;
    size_t n = 0;
    const char *p;
    FILE *m;

    if (s == NULL)
        s = "-";
    if ((m = open_memstream(&buf, &n)) == NULL) {
        fputs("?", fp);
        return;
    }
    sift_text_safe(m, s);
    fclose(m);
    for (p = buf; p != NULL && *p; p++) {
        switch (*p) {
        case '&':
            fputs("&amp;", fp);
            break;
        case '<':
            fputs("&lt;", fp);
            break;
        case '>':
            fputs("&gt;", fp);
            break;
        case '"':
            fputs("&quot;", fp);
            break;
        case '\'':
            fputs("&#39;", fp);
            break;
        default:
            fputc(*p, fp);
        }
    }
    free(buf);
}

static const char *
num(char *b, size_t n, uint64_t v)
{
    return sift_fmt_thousands(b, n, v);
}

static const char css[] =
    "body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;"
    "color:#1b1f24;background:#fff;margin:0 auto;max-width:72rem;"
    "padding:1rem}\n"
    "h1{font-size:1.4rem;margin:.2rem 0}h2{font-size:1.2rem;margin:0 0 .4rem;"
    "overflow-wrap:anywhere}h3{font-size:1rem;margin:1rem 0 .3rem}\n"
    "p{margin:.3rem 0}.meta{color:#57606a}\n"
    "section{border-top:2px solid #d0d7de;margin-top:1.5rem;"
    "padding-top:.8rem}\n"
    ".scroll{overflow-x:auto}\n"
    "table{border-collapse:collapse;width:100%;font-size:.92rem}\n"
    "th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid "
    "#d8dee4;vertical-align:top}\n"
    "td.n,th.n{text-align:right;white-space:nowrap}\n"
    "td.adv{min-width:16rem;overflow-wrap:anywhere}\n"
    ".verdict{display:inline-block;padding:.15rem .6rem;border-radius:1rem;"
    "font-weight:600;border:1px solid}\n"
    ".not_enough_data{background:#f6f8fa;color:#57606a}\n"
    ".not_ready{background:#ffebe9;color:#a40e26}\n"
    ".ready_for_quarantine,.ready_for_reject{background:#dafbe1;"
    "color:#116329}\n"
    ".enforced{background:#ddf4ff;color:#0550ae}\n"
    ".new{background:#fff8c5;color:#7d4e00;border:1px solid #d4a72c;"
    "border-radius:.3rem;padding:0 .3rem;font-size:.8rem;font-weight:600}\n"
    ".warn{color:#a40e26;font-weight:600}\n"
    "figure{margin:.8rem 0}svg{max-width:100%;height:auto;display:block}\n"
    ".key span{display:inline-block;width:.8rem;height:.8rem;"
    "margin:0 .25rem 0 .8rem;vertical-align:-.1rem}\n"
    ".pass{fill:#2da44e;background:#2da44e}"
    ".exempt{fill:#54aeff;background:#54aeff}"
    ".reject{fill:#cf222e;background:#cf222e}"
    ".other{fill:#8c959f;background:#8c959f}\n"
    /* a phone: each row a card, numbers labelled */
    "@media (max-width:40rem){body{padding:.5rem;font-size:14px}"
    "table.cards thead{display:none}"
    "table.cards tr{display:block;border-bottom:1px solid #d0d7de;"
    "padding:.3rem 0}"
    "table.cards td{display:block;border:0;padding:.05rem .2rem;"
    "text-align:left;min-width:0}"
    "table.cards td:first-child{font-weight:600}"
    "table.cards td[data-l]::before{content:attr(data-l) \": \";"
    "color:#57606a}}\n"
    "@media print{body{max-width:none;font-size:11pt}"
    "section{break-inside:avoid-page}.scroll{overflow:visible}"
    ".key span,.verdict,.new{print-color-adjust:exact;"
    "-webkit-print-color-adjust:exact}}\n";

static void
head(FILE *fp, const ctx *c)
{
    const sift_report_totals *t = &c->tot;
    char a[32], b[32], d1[24], d2[24];

    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta "
          "charset=\"utf-8\">\n<meta name=\"viewport\" "
          "content=\"width=device-width, initial-scale=1\">\n",
          fp);
    /* nothing may be fetched: no source is allowed but inline style */
    fputs("<meta http-equiv=\"Content-Security-Policy\" "
          "content=\"default-src 'none'; style-src 'unsafe-inline'\">\n",
          fp);
    fputs("<title>dmarcsift report</title>\n<style>\n", fp);
    fputs(css, fp);
    fputs("</style>\n</head>\n<body>\n<h1>dmarcsift report</h1>\n", fp);
    sift_report__date(d1, sizeof(d1), c->period_from, 0);
    sift_report__date(d2, sizeof(d2), c->period_to - 1, 0);
    fprintf(fp,
            "<p>%zu %s, %s messages, <strong>%s would be rejected</strong> "
            "under p=reject</p>\n",
            c->n_dom, c->n_dom == 1 ? "domain" : "domains",
            num(a, sizeof(a), t->messages), num(b, sizeof(b), t->would_reject));
    if (c->n_reps > 0)
        fprintf(fp, "<p class=\"meta\">Period %s .. %s (%zu reports); ", d1, d2,
                c->n_reps);
    else
        fputs("<p class=\"meta\">No reports; ", fp);
    sift_report__date(d1, sizeof(d1), c->opts->generated_at, 1);
    sift_report__date(d2, sizeof(d2), c->now, 1);
    fprintf(fp, "generated %s; now %s</p>\n", d1, d2);
}

static void
table(FILE *fp, const ctx *c)
{
    char a[32], b[32], p1[16];
    size_t i;

    fputs("<div class=\"scroll\"><table class=\"cards\">\n<thead><tr>"
          "<th>Domain</th>"
          "<th>Policy</th><th class=\"n\">Messages</th><th class=\"n\">DMARC "
          "pass</th><th class=\"n\">Would reject</th><th>Readiness</th>"
          "</tr></thead>\n<tbody>\n",
          fp);
    for (i = 0; i < c->n_dom; i++) {
        const domain *d = &c->dom[i];
        sift_report__percent(p1, sizeof(p1), d->messages - d->dmarc_fail,
                             d->messages);
        fprintf(fp, "<tr><td><a href=\"#d%zu\">", i);
        esc(fp, d->name);
        fputs("</a></td><td data-l=\"Policy\">p=", fp);
        esc(fp, d->has_policy && d->p ? d->p : "-");
        fprintf(fp,
                "</td><td class=\"n\" data-l=\"Messages\">%s</td>"
                "<td class=\"n\" data-l=\"DMARC pass\">%s%%</td>"
                "<td class=\"n\" data-l=\"Would reject\">%s</td><td><span "
                "class=\"verdict %s\">%s</span></td></tr>\n",
                num(a, sizeof(a), d->messages), p1,
                num(b, sizeof(b), d->would_reject),
                sift_report__ready_code(d->ready),
                sift_report__ready_code(d->ready));
    }
    fputs("</tbody>\n</table></div>\n", fp);
}

/* The stacked chart of the domain's last CHART_DAYS days with data:
 * pass, exempted, would reject, other failures (DNS errors). */
static void
chart(FILE *fp, const domain *d)
{
    const series *s = &d->a->days;
    const int bw = 10, gap = 2, h = 120, top = 14, bottom = 18;
    int64_t last, first, day;
    uint64_t max = 0;
    uint32_t k, from = 0;
    char a[32], d1[24], d2[24], dx[24];
    int n, w, i;

    if (s->n == 0)
        return;
    last = s->v[s->n - 1].day;
    first = s->v[0].day;
    if (last - first + 1 > CHART_DAYS)
        first = last - CHART_DAYS + 1;
    while (from < s->n && s->v[from].day < first)
        from++;
    for (k = from; k < s->n; k++)
        if (s->v[k].messages > max)
            max = s->v[k].messages;
    n = (int)(last - first + 1);
    w = n * (bw + gap);
    if (w < 240) /* room for the two dates */
        w = 240;
    sift_report__date(d1, sizeof(d1), first * DAY_SECONDS, 0);
    sift_report__date(d2, sizeof(d2), last * DAY_SECONDS, 0);
    /* a short chart is shown half as large again (max-width: 100%) */
    fprintf(fp,
            "<figure>\n<svg viewBox=\"0 0 %d %d\" width=\"%d\" "
            "height=\"%d\" role=\"img\" aria-label=\"messages per day, %s "
            "to %s\" xmlns=\"http://www.w3.org/2000/svg\">\n",
            w, top + h + bottom, w < 480 ? w * 3 / 2 : w,
            w < 480 ? (top + h + bottom) * 3 / 2 : top + h + bottom, d1, d2);
    fprintf(fp,
            "<line x1=\"0\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#d0d7de\"/>"
            "\n<text x=\"0\" y=\"10\" font-size=\"10\" fill=\"#57606a\">"
            "%s messages</text>\n",
            top + h, w, top + h, num(a, sizeof(a), max));
    for (k = from, i = 0, day = first; day <= last; day++, i++) {
        const dayc *x;
        uint64_t other, parts[4];
        static const char *const cls[4] = {"pass", "exempt", "reject", "other"};
        double y = top + h;
        int j;

        if (k >= s->n || s->v[k].day != day)
            continue;
        x = &s->v[k++];
        if (x->messages == 0 || max == 0)
            continue;
        /* DNS errors: what fails and is neither (saturated counts
         * cannot make it negative) */
        other = x->fail - sift_sat_add(x->would_reject, x->exempted);
        if (sift_sat_add(x->would_reject, x->exempted) > x->fail)
            other = 0;
        parts[0] = x->pass;
        parts[1] = x->exempted;
        parts[2] = x->would_reject;
        parts[3] = other;
        sift_report__date(dx, sizeof(dx), day * DAY_SECONDS, 0);
        fprintf(fp,
                "<g><title>%s: %" PRIu64 " messages, %" PRIu64 " pass, %" PRIu64
                " exempted, %" PRIu64 " would be rejected</title>",
                dx, x->messages, x->pass, x->exempted, x->would_reject);
        for (j = 0; j < 4; j++) {
            double hh = (double)parts[j] * h / (double)max;
            if (parts[j] == 0)
                continue;
            y -= hh;
            fprintf(fp,
                    "<rect class=\"%s\" x=\"%d\" y=\"%.2f\" width=\"%d\" "
                    "height=\"%.2f\"/>",
                    cls[j], i * (bw + gap), y, bw, hh);
        }
        fputs("</g>\n", fp);
    }
    fprintf(fp,
            "<text x=\"0\" y=\"%d\" font-size=\"10\" fill=\"#57606a\">%s"
            "</text>\n<text x=\"%d\" y=\"%d\" font-size=\"10\" "
            "fill=\"#57606a\" text-anchor=\"end\">%s</text>\n</svg>\n",
            top + h + 13, d1, w, top + h + 13, d2);
    fputs("<figcaption class=\"key\">Messages per day:<span class=\"pass\">"
          "</span>pass<span class=\"exempt\"></span>exempted<span "
          "class=\"reject\"></span>would be rejected<span class=\"other\">"
          "</span>other failures</figcaption>\n</figure>\n",
          fp);
}

static void
verdict(FILE *fp, const domain *d)
{
    size_t i;

    fprintf(fp,
            "<h3>Readiness</h3>\n<p><span class=\"verdict %s\">%s</span></p>"
            "\n",
            sift_report__ready_code(d->ready),
            sift_report__ready_code(d->ready));
    if (d->n_reasons > 0) {
        fputs("<ul>\n", fp);
        for (i = 0; i < d->n_reasons; i++) {
            fputs("<li>", fp);
            esc(fp, d->reasons[i]);
            fputs("</li>\n", fp);
        }
        fputs("</ul>\n", fp);
    }
    fputs("<p><strong>Next step:</strong> ", fp);
    esc(fp, d->next_step);
    fputs("</p>\n", fp);
}

/* A category that needs a fix (not a pass). */
static int
failing(sift_category c)
{
    return c != SIFT_CAT_PASS_DKIM_ALIGNED && c != SIFT_CAT_PASS_SPF_ALIGNED &&
           c != SIFT_CAT_FORWARDED_DKIM_INTACT;
}

static int
has_failing(const sift_category *v, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (failing(v[i]))
            return 1;
    return 0;
}

static void
senders(FILE *fp, const ctx *c, const domain *d)
{
    sift_category v[SIFT_CAT__COUNT];
    char a[32], b[32], e[32], adv[1024], d1[24];
    size_t k, i, n, shown;

    fputs("<h3>Senders</h3>\n<div class=\"scroll\"><table class=\"cards\">"
          "\n<thead><tr>"
          "<th>Sender</th><th>Kind</th><th class=\"n\">Messages</th>"
          "<th class=\"n\">DMARC fail</th><th class=\"n\">Would reject</th>"
          "<th>Advice</th></tr></thead>\n<tbody>\n",
          fp);
    for (k = d->first_snd; k < d->first_snd + d->n_snd; k++) {
        const sender *s = &c->snd[k];
        fputs("<tr class=\"sender\"><td>", fp);
        esc(fp, s->name);
        if (s->is_new) {
            sift_report__date(d1, sizeof(d1), s->first_seen, 0);
            fprintf(fp,
                    " <span class=\"new\" title=\"first seen %s\">NEW"
                    "</span>",
                    d1);
        }
        fprintf(fp,
                "</td><td data-l=\"Kind\">%s</td><td class=\"n\" "
                "data-l=\"Messages\">%s</td><td class=\"n\" data-l=\"DMARC "
                "fail\">%s</td><td class=\"n\" data-l=\"Would reject\">%s"
                "</td><td class=\"adv\">",
                sift_kind_code(s->kind), num(a, sizeof(a), s->messages),
                num(b, sizeof(b), s->dmarc_fail),
                num(e, sizeof(e), s->would_reject));
        /* the advice of its categories, largest first (at most 3) */
        for (i = 0, n = 0; i < SIFT_CAT__COUNT; i++) {
            size_t j;
            if (s->cat_msgs[i] == 0)
                continue;
            for (j = n; j > 0 && s->cat_msgs[v[j - 1]] < s->cat_msgs[i]; j--)
                v[j] = v[j - 1];
            v[j] = (sift_category)i;
            n++;
        }
        /* as in the digest: the fixes of its failing categories, else
         * what its biggest category says */
        for (i = 0, shown = 0; i < n && shown < 3; i++) {
            if (!failing(v[i]) && (shown > 0 || has_failing(v, n)))
                continue;
            sift_report__sender_advice(adv, sizeof(adv), d, s, v[i]);
            if (shown++)
                fputs("<br>", fp);
            esc(fp, adv);
        }
        fputs("</td></tr>\n", fp);
    }
    fputs("</tbody>\n</table></div>\n", fp);
}

static void
quiet(FILE *fp, const domain *d)
{
    char d1[24];

    if (d->quiet_days >= 2) {
        sift_report__date(d1, sizeof(d1), d->last_report - 1, 0);
        fprintf(fp,
                "<p class=\"warn\">No report for %" PRId64 " days: the last "
                "one ended %s</p>\n",
                d->quiet_days, d1);
    }
}

static void
silent_reporters(FILE *fp, const domain *d)
{
    char d1[24];
    size_t i;

    if (d->n_silent == 0)
        return;
    fputs("<h3>Silent reporters</h3>\n<ul>\n", fp);
    for (i = 0; i < d->n_silent; i++) {
        int64_t days = (d->silent[i].gap + DAY_SECONDS / 2) / DAY_SECONDS;
        sift_report__date(d1, sizeof(d1), d->silent[i].last - 1, 0);
        fputs("<li class=\"silent\">", fp);
        esc(fp, d->silent[i].org);
        if (days <= 1)
            fprintf(fp, ": last report %s, usually daily</li>\n", d1);
        else
            fprintf(fp,
                    ": last report %s, usually every %" PRId64 " days</li>\n",
                    d1, days);
    }
    fputs("</ul>\n", fp);
}

static void
absent(FILE *fp, const domain *d)
{
    char d1[24];
    size_t i;

    if (d->n_absent == 0)
        return;
    fputs("<h3>Seen before, not in this period</h3>\n<ul>\n", fp);
    for (i = 0; i < d->n_absent; i++) {
        const sender *h = d->absent[i];
        sift_report__date(d1, sizeof(d1), h->last - 1, 0);
        fputs("<li>", fp);
        esc(fp, h->name);
        fprintf(
            fp, " (%s): last seen %s, %s</li>\n", sift_kind_code(h->kind), d1,
            h->last_wr > 0 && h->last_wr >= h->last ? "failing" : "passing");
    }
    fputs("</ul>\n", fp);
}

int
sift_report__html(FILE *fp, const ctx *c)
{
    char a[32], b[32], p1[16];
    size_t i;

    head(fp, c);
    if (c->n_dom == 0) {
        fputs("<p>No records match.</p>\n</body>\n</html>\n", fp);
        return SIFT_OK;
    }
    table(fp, c);
    for (i = 0; i < c->n_dom; i++) {
        const domain *d = &c->dom[i];
        fprintf(fp, "<section class=\"domain\" id=\"d%zu\">\n<h2>", i);
        esc(fp, d->name);
        fputs("</h2>\n", fp);
        quiet(fp, d);
        sift_report__percent(p1, sizeof(p1), d->would_reject, d->messages);
        fputs("<p>Published policy p=", fp);
        esc(fp, d->has_policy && d->p ? d->p : "-");
        if (d->has_policy) {
            char d1[24];
            sift_report__date(d1, sizeof(d1), d->policy_end - 1, 0);
            fputs(" sp=", fp);
            esc(fp, d->sp && d->sp[0] ? d->sp : "-");
            fputs(" np=", fp);
            esc(fp, d->np && d->np[0] ? d->np : "-");
            if (d->pct >= 0)
                fprintf(fp, " pct=%" PRId64, d->pct);
            fputs(" t=", fp);
            esc(fp, d->testing && d->testing[0] ? d->testing : "-");
            fprintf(fp,
                    " <span class=\"meta\">(as of %s, <span "
                    "class=\"org\">",
                    d1);
            esc(fp, d->policy_org);
            fputs("</span>)</span>", fp);
        }
        fprintf(fp,
                "</p>\n<p>%s messages, %s (%s%%) would be rejected under "
                "p=reject</p>\n",
                num(a, sizeof(a), d->messages),
                num(b, sizeof(b), d->would_reject), p1);
        verdict(fp, d);
        chart(fp, d);
        senders(fp, c, d);
        absent(fp, d);
        silent_reporters(fp, d);
        fputs("</section>\n", fp);
    }
    fputs("</body>\n</html>\n", fp);
    return SIFT_OK;
}
