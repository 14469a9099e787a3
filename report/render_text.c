/* render_text.c -- `dmarcsift report` as text: a digest for a cron mail.
 * A per-domain table first; then per domain its policy, dispositions and
 * counts, and only the senders with would-reject messages, DNS errors or
 * reporter inconsistencies, worst first (--top N of them, every sender
 * with at least 5% of the domain's would-reject messages, --all for
 * everything); passing senders in one line. Every string from a report
 * is escaped (sift_text_safe). */
#include "report_int.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sift_json.h"
#include "sift_util.h"

#define WRAP 80
#define FIXES_SHOWN 3 /* advice lines per sender */

/* --- text ---------------------------------------------------------------- */

/* Word-wrap `s` (already safe: no control characters) at WRAP columns,
 * first line prefixed by `lead`, the others by `indent`. Runs of spaces
 * collapse; a word longer than a line is not broken. */
static void
wrap(FILE *fp, const char *lead, const char *indent, const char *s)
{
    size_t col = strlen(lead), ind = strlen(indent), w;
    const char *p = s, *e, *q;
    int first_word = 1;

    fputs(lead, fp);
    for (;;) {
        while (*p == ' ')
            p++;
        if (*p == '\0')
            break;
        if ((e = strchr(p, ' ')) == NULL)
            e = p + strlen(p);
        for (w = 0, q = p; q < e; q++) /* display width: code points */
            if (((unsigned char)*q & 0xc0) != 0x80)
                w++;
        if (!first_word && col + 1 + w > WRAP) {
            fputc('\n', fp);
            fputs(indent, fp);
            col = ind;
            first_word = 1;
        }
        if (!first_word) {
            fputc(' ', fp);
            col++;
        }
        fwrite(p, 1, (size_t)(e - p), fp);
        col += w;
        first_word = 0;
        p = e;
    }
    fputc('\n', fp);
}

/* A line assembled in memory (escaped), then wrapped. */
typedef struct line {
    char *p;
    size_t n;
    FILE *fp;
} line;

static int
line_open(line *l)
{
    l->p = NULL;
    l->n = 0;
    l->fp = open_memstream(&l->p, &l->n);
    return l->fp ? SIFT_OK : SIFT_ENOMEM;
}

static void
line_flush(line *l, FILE *out, const char *lead, const char *indent)
{
    fflush(l->fp);
    wrap(out, lead, indent, l->p ? l->p : "");
    fclose(l->fp);
    free(l->p);
    l->fp = NULL;
    l->p = NULL;
}

/* What the domain publishes now, where it differs from what the reports
 * saw (published.c; only after `dmarcsift resolve`). */
static int
pub_text(FILE *fp, const domain *d)
{
    char lines[24][512], day[32];
    size_t n = sift_report__pub_lines(lines, 24, d), k;
    line l;

    sift_report__date(day, sizeof(day), d->pub->looked_up, 0);
    if (n == 0) {
        fprintf(fp, "Published now (DNS, %s): no differences\n", day);
        return SIFT_OK;
    }
    fprintf(fp, "Published now (DNS, %s):\n", day);
    for (k = 0; k < n; k++) {
        if (line_open(&l))
            return SIFT_ENOMEM;
        sift_text_safe(l.fp, lines[k]);
        line_flush(&l, fp, "  ", "    ");
    }
    return SIFT_OK;
}

static const char *
or_dash(const char *s)
{
    return s && *s ? s : "-";
}

static const char *
plural(uint64_t n, const char *one, const char *many)
{
    return n == 1 ? one : many;
}

/* "1,234" */
static const char *
num(char *b, size_t n, uint64_t v)
{
    return sift_fmt_thousands(b, n, v);
}

static int
failing_cat(int i)
{
    return i != SIFT_CAT_PASS_DKIM_ALIGNED && i != SIFT_CAT_PASS_SPF_ALIGNED &&
           i != SIFT_CAT_FORWARDED_DKIM_INTACT;
}

/* Categories that do not end in a rejection: exempted, indeterminate. */
static int
not_rejected(int i)
{
    return i == SIFT_CAT_RECEIVER_OVERRIDE || i == SIFT_CAT_SPF_TEMPERROR ||
           i == SIFT_CAT_DKIM_TEMPERROR;
}

/* The failing category with the most messages, those that would be
 * rejected first; -1 when none fails. */
static int
biggest_cause(const uint64_t *cat_msgs)
{
    int i, pass, best = -1;

    for (pass = 0; pass < 2 && best < 0; pass++)
        for (i = 0; i < SIFT_CAT__COUNT; i++)
            if (failing_cat(i) && (pass || !not_rejected(i)) &&
                cat_msgs[i] > 0 && (best < 0 || cat_msgs[i] > cat_msgs[best]))
                best = i;
    return best;
}

/* Categories of a sender with messages, largest first, into v. */
static size_t
sorted_cats(const sender *s, sift_category *v)
{
    size_t n = 0, i, j;

    for (i = 0; i < SIFT_CAT__COUNT; i++) {
        if (s->cat_msgs[i] == 0)
            continue;
        for (j = n; j > 0 && s->cat_msgs[v[j - 1]] < s->cat_msgs[i]; j--)
            v[j] = v[j - 1];
        v[j] = (sift_category)i;
        n++;
    }
    return n;
}

static void
policy_now(char *b, size_t n, const domain *d)
{
    int k;

    if (!d->has_policy) {
        snprintf(b, n, "-");
        return;
    }
    k = snprintf(b, n, "p=%s", or_dash(d->p));
    if (d->pct >= 0 && d->pct < 100 && k > 0 && (size_t)k < n)
        k += snprintf(b + k, n - (size_t)k, " pct=%" PRId64, d->pct);
    if (d->testing && strcasecmp(d->testing, "y") == 0 && k > 0 &&
        (size_t)k < n)
        snprintf(b + k, n - (size_t)k, " t=y");
}

/* The per-domain table. Domain names are escaped into a buffer first so
 * that the column width counts what is shown. */
static int
table(FILE *fp, const ctx *c)
{
    char a[32], b[32], e[32], pol[64], p1[16], *name;
    size_t i, wd = 6, wp = 10, len;
    FILE *m;
    int k;

    for (i = 0; i < c->n_dom; i++) {
        const domain *d = &c->dom[i];
        size_t nl = 0;
        name = NULL;
        if ((m = open_memstream(&name, &nl)) == NULL)
            return SIFT_ENOMEM;
        sift_text_safe(m, d->name[0] ? d->name : "(none)");
        fclose(m);
        len = strlen(name);
        free(name);
        if (len > wd)
            wd = len < 40 ? len : 40;
        policy_now(pol, sizeof(pol), d);
        if (strlen(pol) > wp)
            wp = strlen(pol);
    }
    fprintf(fp, "%-*s  %-*s  %10s  %10s  %12s  %8s  %s\n", (int)wd, "Domain",
            (int)wp, "Policy now", "Messages", "DMARC pass", "Would reject",
            "Exempted", "Biggest cause");
    for (i = 0; i < c->n_dom; i++) {
        const domain *d = &c->dom[i];
        size_t nl = 0;
        name = NULL;
        if ((m = open_memstream(&name, &nl)) == NULL)
            return SIFT_ENOMEM;
        sift_text_safe(m, d->name[0] ? d->name : "(none)");
        fclose(m);
        policy_now(pol, sizeof(pol), d);
        sift_report__percent(p1, sizeof(p1), d->messages - d->dmarc_fail,
                             d->messages);
        fprintf(fp, "%-*s  %-*s  %10s  %9s%%  %12s  %8s  ", (int)wd, name,
                (int)wp, pol, num(a, sizeof(a), d->messages), p1,
                num(b, sizeof(b), d->would_reject),
                num(e, sizeof(e), d->overridden));
        free(name);
        k = biggest_cause(d->cat_msgs);
        if (k < 0)
            fputs("-\n", fp);
        else
            fprintf(fp, "%s: %s\n", sift_category_text((sift_category)k),
                    num(a, sizeof(a), d->cat_msgs[k]));
    }
    return SIFT_OK;
}

static int
header(FILE *fp, const ctx *c)
{
    const sift_report_totals *t = &c->tot;
    const sift_filter *f = c->filter;
    char a[32], b[32], d1[24], d2[24];
    size_t i, nf = 0;
    line l;

    if (line_open(&l))
        return SIFT_ENOMEM;
    fprintf(l.fp,
            "dmarcsift report: %zu %s, %s %s, %s would be rejected "
            "under p=reject%s",
            c->n_dom, plural(c->n_dom, "domain", "domains"),
            num(a, sizeof(a), t->messages),
            plural(t->messages, "message", "messages"),
            num(b, sizeof(b), t->would_reject),
            t->saturated ? " (counts saturated at 2^64-1: the reports "
                           "claim more than that)"
                         : "");
    line_flush(&l, fp, "", "  ");
    if (line_open(&l))
        return SIFT_ENOMEM;
    if (c->n_reps > 0) {
        sift_report__date(d1, sizeof(d1), c->period_from, 0);
        sift_report__date(d2, sizeof(d2), c->period_to, 0);
        fprintf(l.fp, "Period: %s .. %s (%s %s);", d1, d2,
                num(a, sizeof(a), c->n_reps),
                plural(c->n_reps, "report", "reports"));
    } else {
        fputs("Period: none (no reports);", l.fp);
    }
    fputs(" filters:", l.fp);
    for (i = 0; f != NULL && i < f->ndomains; i++) {
        nf++;
        fputs(i ? "," : " domain=", l.fp);
        sift_text_safe(l.fp, f->domains[i]);
    }
    for (i = 0; f != NULL && i < f->nreporters; i++) {
        nf++;
        fputs(i ? "," : " reporter=", l.fp);
        sift_text_safe(l.fp, f->reporters[i]);
    }
    if (f != NULL && f->has_since) {
        sift_report__date(d1, sizeof(d1), f->since, 0);
        fprintf(l.fp, " since=%s", d1);
        nf++;
    }
    if (f != NULL && f->has_until) {
        sift_report__date(d1, sizeof(d1), f->until, 0);
        fprintf(l.fp, " until=%s", d1);
        nf++;
    }
    if (c->opts->min_messages > 0) {
        fprintf(l.fp, " min-messages=%" PRIu64, c->opts->min_messages);
        nf++;
    }
    if (nf == 0)
        fputs(" none", l.fp);
    sift_report__date(d1, sizeof(d1), c->opts->generated_at, 1);
    fprintf(l.fp, "; generated %s", d1);
    line_flush(&l, fp, "", "  ");
    return SIFT_OK;
}

static int
strictness(const char *p)
{
    if (p == NULL)
        return -1;
    if (strcasecmp(p, "reject") == 0)
        return 2;
    if (strcasecmp(p, "quarantine") == 0)
        return 1;
    if (strcasecmp(p, "none") == 0)
        return 0;
    return -1;
}

/* "daily", "every 3 days", "every 6 hours" */
static void
interval(char *b, size_t n, int64_t gap)
{
    int64_t days = (gap + DAY_SECONDS / 2) / DAY_SECONDS;

    if (gap < DAY_SECONDS * 3 / 4)
        snprintf(b, n, "every %" PRId64 " hours", (gap + 1800) / 3600);
    else if (days <= 1)
        snprintf(b, n, "daily");
    else if (days == 7)
        snprintf(b, n, "weekly");
    else
        snprintf(b, n, "every %" PRId64 " days", days);
}

/* What the domain's reporting says: no report for days, silent
 * reporters. */
static int
reporting(FILE *fp, const domain *d)
{
    char d1[24], iv[48];
    size_t i;
    line l;

    if (d->quiet_days >= 2) {
        sift_report__date(d1, sizeof(d1), d->last_report - 1, 0);
        fprintf(fp, "No report for %" PRId64 " days: the last one ended %s\n",
                d->quiet_days, d1);
    }
    if (d->n_silent == 0)
        return SIFT_OK;
    if (line_open(&l))
        return SIFT_ENOMEM;
    fputs("Silent reporters: ", l.fp);
    for (i = 0; i < d->n_silent; i++) {
        sift_report__date(d1, sizeof(d1), d->silent[i].last - 1, 0);
        interval(iv, sizeof(iv), d->silent[i].gap);
        if (i)
            fputs("; ", l.fp);
        sift_text_safe(l.fp, d->silent[i].org);
        fprintf(l.fp, ": last report %s, usually %s", d1, iv);
    }
    line_flush(&l, fp, "", "  ");
    return SIFT_OK;
}

/* The last 14 days of would-reject per day: a sparkline in UTF-8, else
 * digits (0 none, 1..9 scaled to the largest day). */
#define TREND_DAYS 14
static void
trend(FILE *fp, const ctx *c, const domain *d)
{
    /* middle dot, then U+2581..U+2588 */
    static const char *const bar[] = {
        "\xc2\xb7",     "\xe2\x96\x81", "\xe2\x96\x82",
        "\xe2\x96\x83", "\xe2\x96\x84", "\xe2\x96\x85",
        "\xe2\x96\x86", "\xe2\x96\x87", "\xe2\x96\x88"};
    uint64_t v[TREND_DAYS] = {0}, max = 0;
    /* to the domain's last day with messages (c: the period's end) */
    int64_t last = d->a->days.n > 0 ? d->a->days.v[d->a->days.n - 1].day
                                    : sift_day_of(c->period_to - 1);
    int64_t first = last - TREND_DAYS + 1;
    char d1[24], a[32];
    uint32_t k;
    int i;

    for (k = 0; k < d->a->days.n; k++) {
        const dayc *x = &d->a->days.v[k];
        if (x->day >= first && x->day <= last)
            v[x->day - first] = x->would_reject;
    }
    for (i = 0; i < TREND_DAYS; i++)
        if (v[i] > max)
            max = v[i];
    sift_report__date(d1, sizeof(d1), last * DAY_SECONDS, 0);
    fprintf(fp, "Would reject per day, %d days to %s: ", TREND_DAYS, d1);
    for (i = 0; i < TREND_DAYS; i++) {
        unsigned lv = 0;
        if (v[i] > 0) /* 1..8 (sparkline), 1..9 (digits) */
            lv = 1 + (unsigned)((__extension__(unsigned __int128) v[i] *
                                 (c->opts->utf8 ? 7 : 8)) /
                                max);
        if (c->opts->utf8)
            fputs(bar[lv], fp);
        else
            fputc('0' + (int)lv, fp);
    }
    fprintf(fp, " (max %s)\n", num(a, sizeof(a), max));
}

/* Readiness, its reasons and the next step; legitimate senders seen
 * before but not in this period. */
static int
ready(FILE *fp, const domain *d)
{
    char d1[24];
    size_t i;
    line l;

    if (line_open(&l))
        return SIFT_ENOMEM;
    fprintf(l.fp, "Readiness: %s", sift_report__ready_code(d->ready));
    for (i = 0; i < d->n_reasons; i++) {
        fputs(i ? "; " : ": ", l.fp);
        sift_text_safe(l.fp, d->reasons[i]);
    }
    line_flush(&l, fp, "", "  ");
    if (line_open(&l))
        return SIFT_ENOMEM;
    fputs("Next step: ", l.fp);
    sift_text_safe(l.fp, d->next_step ? d->next_step : "-");
    line_flush(&l, fp, "", "  ");
    if (d->n_absent == 0)
        return SIFT_OK;
    if (line_open(&l))
        return SIFT_ENOMEM;
    fputs("Seen before, not in this period: ", l.fp);
    for (i = 0; i < d->n_absent; i++) {
        const sender *h = d->absent[i];
        if (i)
            fputs("; ", l.fp);
        sift_text_safe(l.fp, h->name);
        sift_report__date(d1, sizeof(d1), h->last - 1, 0);
        fprintf(l.fp, " (last %s, %s)", d1,
                h->last_wr > 0 && h->last_wr >= h->last ? "failing"
                                                        : "passing");
    }
    line_flush(&l, fp, "", "  ");
    return SIFT_OK;
}

static int
domain_head(FILE *fp, const domain *d)
{
    char a[32], b[32], e[32], p1[32], d1[24];
    const uint64_t *disp = d->a->disp;
    int ps = d->has_policy ? strictness(d->p) : -1;
    size_t j, k;
    line l;

    fputs("\n== ", fp);
    sift_text_safe(fp, d->name[0] ? d->name : "(no policy domain)");
    fputs(" ==\n", fp);
    if (reporting(fp, d) != SIFT_OK)
        return SIFT_ENOMEM;
    if (d->has_policy) {
        if (line_open(&l))
            return SIFT_ENOMEM;
        sift_report__date(d1, sizeof(d1), d->policy_end, 0);
        fputs("Published policy: p=", l.fp);
        sift_text_safe(l.fp, or_dash(d->p));
        fputs(" sp=", l.fp);
        sift_text_safe(l.fp, or_dash(d->sp));
        fputs(" np=", l.fp);
        sift_text_safe(l.fp, or_dash(d->np));
        if (d->pct >= 0)
            fprintf(l.fp, " pct=%" PRId64, d->pct);
        else
            fputs(" pct=-", l.fp);
        fputs(" t=", l.fp);
        sift_text_safe(l.fp, or_dash(d->testing));
        fputs(" adkim=", l.fp);
        sift_text_safe(l.fp, or_dash(d->adkim));
        fputs(" aspf=", l.fp);
        sift_text_safe(l.fp, or_dash(d->aspf));
        fprintf(l.fp, " (as of %s, ", d1);
        sift_text_safe(l.fp, or_dash(d->policy_org));
        fputs(")", l.fp);
        line_flush(&l, fp, "", "  ");
    }
    if (d->pub != NULL && pub_text(fp, d) != SIFT_OK)
        return SIFT_ENOMEM;
    sift_report__percent(p1, sizeof(p1), d->messages - d->dmarc_fail,
                         d->messages);
    fprintf(fp, "Messages: %s, DMARC pass: %s (%s%%), DMARC fail: %s\n",
            num(a, sizeof(a), d->messages),
            num(b, sizeof(b), d->messages - d->dmarc_fail), p1,
            num(e, sizeof(e), d->dmarc_fail));
    if (ps >= 1) { /* what receivers did, when the policy asks for it */
        if (line_open(&l))
            return SIFT_ENOMEM;
        fprintf(l.fp,
                "Receivers' dispositions: none %s, quarantine %s, "
                "reject %s",
                num(a, sizeof(a), disp[DISP_NONE]),
                num(b, sizeof(b), disp[DISP_QUARANTINE]),
                num(e, sizeof(e), disp[DISP_REJECT]));
        line_flush(&l, fp, "", "  ");
    }
    sift_report__percent(p1, sizeof(p1), d->would_reject, d->messages);
    if (line_open(&l))
        return SIFT_ENOMEM;
    if (ps == 2 && d->would_reject == 0)
        fputs("Published p=reject: every message passes DMARC or is "
              "exempted",
              l.fp);
    else if (ps == 2) /* already enforced: say what happens now */
        fprintf(l.fp,
                "Published p=reject: %s %s (%s%%) from %s %s fail "
                "DMARC with no exemption, so receivers may reject "
                "them (550 5.7.1; Gmail: 5.7.26); reported as "
                "rejected: %s",
                num(a, sizeof(a), d->would_reject),
                plural(d->would_reject, "message", "messages"), p1,
                num(b, sizeof(b), d->reject_senders),
                plural(d->reject_senders, "sender", "senders"),
                num(e, sizeof(e), disp[DISP_REJECT]));
    else if (d->would_reject == 0)
        fputs("Under p=reject, nothing would be rejected", l.fp);
    else
        fprintf(l.fp,
                "Under p=reject, %s %s (%s%%) from %s %s would be "
                "rejected (550 5.7.1; Gmail: 5.7.26)",
                num(a, sizeof(a), d->would_reject),
                plural(d->would_reject, "message", "messages"), p1,
                num(b, sizeof(b), d->reject_senders),
                plural(d->reject_senders, "sender", "senders"));
    line_flush(&l, fp, "", "  ");
    /* subdomain mail under a weaker sp */
    if (d->has_policy && d->sp && d->sp[0] && strictness(d->sp) >= 0 &&
        strictness(d->sp) < ps && d->a->sub_messages > 0) {
        if (line_open(&l))
            return SIFT_ENOMEM;
        fputs("Subdomain mail (sp=", l.fp);
        sift_text_safe(l.fp, d->sp);
        fprintf(l.fp, "): %s %s, %s would be rejected under sp=reject",
                num(a, sizeof(a), d->a->sub_messages),
                plural(d->a->sub_messages, "message", "messages"),
                num(b, sizeof(b), d->a->sub_would_reject));
        line_flush(&l, fp, "", "  ");
    }
    /* lines that would say 0 are left out: a digest */
    if (d->overridden > 0 && line_open(&l))
        return SIFT_ENOMEM;
    if (d->overridden > 0)
        fprintf(l.fp, "Exempted by receivers: %s",
                num(a, sizeof(a), d->overridden));
    for (j = 0, k = 0; j < N_EXEMPT && d->overridden > 0; j++) {
        if (d->exempted[j] == 0)
            continue;
        fputs(k++ ? ", " : " (", l.fp);
        fprintf(l.fp, "%s %s", sift_report__exempt_types[j],
                num(a, sizeof(a), d->exempted[j]));
    }
    if (k)
        fputs(")", l.fp);
    if (d->overridden > 0)
        line_flush(&l, fp, "", "  ");
    if (d->dns_error > 0)
        fprintf(fp, "DNS errors (temperror, indeterminate): %s\n",
                num(a, sizeof(a), d->dns_error));
    if (d->inconsistent == 0 && d->a->pe_missing == 0)
        return SIFT_OK;
    if (d->inconsistent == 0)
        goto pe;
    if (line_open(&l))
        return SIFT_ENOMEM;
    fprintf(l.fp, "Reporter inconsistencies: %s %s",
            num(a, sizeof(a), d->inconsistent),
            plural(d->inconsistent, "message", "messages"));
    if (d->example->has) {
        fputs(", e.g. ", l.fp);
        sift_text_safe(l.fp, or_dash(d->example->org));
        fputs(" says dkim=", l.fp);
        sift_text_safe(l.fp, or_dash(d->example->pe_dkim));
        fputs(" spf=", l.fp);
        sift_text_safe(l.fp, or_dash(d->example->pe_spf));
        fputs(" for ", l.fp);
        sift_text_safe(l.fp, or_dash(d->example->ip));
        fputs(" (From ", l.fp);
        sift_text_safe(l.fp, or_dash(d->example->from));
        fprintf(l.fp, "), the raw results suggest dkim=%s spf=%s",
                d->example->dkim_al ? "pass" : "fail",
                d->example->spf_al ? "pass" : "fail");
    }
    line_flush(&l, fp, "", "  ");
pe:
    if (d->a->pe_missing > 0) {
        if (line_open(&l))
            return SIFT_ENOMEM;
        fprintf(l.fp,
                "Warning: for %s %s the reporter gave no <dkim> or "
                "<spf> in policy_evaluated; the recomputed alignment "
                "stands in for it",
                num(a, sizeof(a), d->a->pe_missing),
                plural(d->a->pe_missing, "message", "messages"));
        line_flush(&l, fp, "", "  ");
    }
    return SIFT_OK;
}

static int
sender_block(FILE *fp, const ctx *c, const domain *d, const sender *s)
{
    sift_category v[SIFT_CAT__COUNT];
    char a[32], b[32], e[32], adv[1024];
    size_t i, n, nfix = 0;
    line l;

    if (line_open(&l))
        return SIFT_ENOMEM;
    sift_text_safe(l.fp, s->name);
    /* own servers, forwarders and unauthenticated sources say what they
     * are by their name */
    if (s->folded > 0) /* past --max-sources */
        fprintf(l.fp, " (%s %s counted together)", num(a, sizeof(a), s->folded),
                plural(s->folded, "source", "sources"));
    else
        fputs(s->kind == SIFT_KIND_SERVICE   ? " (service)"
              : s->kind == SIFT_KIND_UNKNOWN ? " (unknown sender)"
                                             : "",
              l.fp);
    if (s->is_new) {
        sift_report__date(adv, sizeof(adv), s->first_seen, 0);
        fprintf(l.fp, " NEW (first seen %s)", adv);
    }
    fprintf(l.fp, ": %s %s, DMARC fail %s, would reject %s",
            num(a, sizeof(a), s->messages),
            plural(s->messages, "message", "messages"),
            num(b, sizeof(b), s->dmarc_fail),
            num(e, sizeof(e), s->would_reject));
    if (s->dns_error)
        fprintf(l.fp, ", DNS errors %s", num(a, sizeof(a), s->dns_error));
    if (s->inconsistent)
        fprintf(l.fp, ", reporter inconsistencies %s",
                num(a, sizeof(a), s->inconsistent));
    line_flush(&l, fp, "\n  ", "    ");
    if (line_open(&l))
        return SIFT_ENOMEM;
    for (i = 0; i < s->n_src && i < IPS_SHOWN; i++) {
        const source *t = &c->src[c->sord[s->first_src + i]];
        if (i)
            fputs(", ", l.fp);
        if (t->folded > 0)
            fprintf(l.fp, "%s other %s", num(b, sizeof(b), t->folded),
                    plural(t->folded, "source", "sources"));
        else
            sift_text_safe(l.fp, t->ip[0] ? t->ip : "(no source ip)");
        if (t->ptr != NULL && t->ptr->confirmed) { /* resolve's name */
            fputc(' ', l.fp);
            sift_text_safe(l.fp, t->ptr->name);
        }
        fprintf(l.fp, " (%s)", num(a, sizeof(a), t->messages));
    }
    if (s->n_src > IPS_SHOWN)
        fprintf(l.fp, " +%zu more", s->n_src - IPS_SHOWN);
    line_flush(&l, fp, s->n_src == 1 ? "    IP: " : "    IPs: ", "      ");
    n = sorted_cats(s, v);
    if (line_open(&l))
        return SIFT_ENOMEM;
    for (i = 0; i < n; i++)
        fprintf(l.fp, "%s%s %s", i ? "; " : "", sift_category_text(v[i]),
                num(a, sizeof(a), s->cat_msgs[v[i]]));
    line_flush(&l, fp, "    why: ", "      ");
    for (i = 0; i < n; i++)
        if (failing_cat(v[i]))
            nfix++;
    if (nfix == 0 && s->inconsistent > 0) {
        if (line_open(&l))
            return SIFT_ENOMEM;
        fprintf(l.fp,
                "none: passes DMARC; for %s %s the reporter's verdict "
                "differs from the results it lists (see Reporter "
                "inconsistencies): nothing to fix at the source",
                num(a, sizeof(a), s->inconsistent),
                plural(s->inconsistent, "message", "messages"));
        line_flush(&l, fp, "    fix: ", "      ");
        return SIFT_OK;
    }
    for (i = 0, nfix = nfix > FIXES_SHOWN ? FIXES_SHOWN : nfix; i < n; i++) {
        if (!failing_cat(v[i]) && nfix > 0)
            continue;
        if (line_open(&l))
            return SIFT_ENOMEM;
        sift_report__sender_advice(adv, sizeof(adv), d, s, v[i]);
        sift_text_safe(l.fp, adv);
        line_flush(&l, fp, "    fix: ", "      ");
        if (nfix == 0 || --nfix == 0)
            break;
    }
    return SIFT_OK;
}

int
sift_report__text(FILE *fp, const ctx *c)
{
    const sift_report_opts *o = c->opts;
    char a[32], b[32];
    size_t i, k;
    int rc;
    line l;

    if ((rc = header(fp, c)) != SIFT_OK)
        return rc;
    if (c->n_dom == 0) {
        fputs("no records match\n", fp);
        return SIFT_OK;
    }
    fputc('\n', fp);
    if ((rc = table(fp, c)) != SIFT_OK)
        return rc;
    for (i = 0; i < c->n_dom; i++) {
        const domain *d = &c->dom[i];
        uint64_t more_msgs = 0, ok_msgs = 0, small_msgs = 0;
        size_t shown = 0, more = 0, ok = 0, small = 0;

        if ((rc = domain_head(fp, d)) != SIFT_OK)
            return rc;
        if (d->a->folded > 0) { /* past --max-sources */
            if (line_open(&l))
                return SIFT_ENOMEM;
            fprintf(l.fp,
                    "Sources: the %s with the most messages are named, %s "
                    "more %s counted together as \"" OTHER_SOURCES
                    "\" (--max-sources %" PRIu64 ")",
                    num(a, sizeof(a), d->a->kept),
                    num(b, sizeof(b), d->a->folded),
                    plural(d->a->folded, "is", "are"), c->max_src);
            line_flush(&l, fp, "", "  ");
        }
        trend(fp, c, d);
        if ((rc = ready(fp, d)) != SIFT_OK)
            return rc;
        for (k = d->first_snd; k < d->first_snd + d->n_snd; k++) {
            const sender *s = &c->snd[k];
            int problem = sift_report__problem(s);
            /* a sender with 5% of the domain's would-reject is always
             * named, whatever --top says */
            int big = d->would_reject > 0 &&
                      s->would_reject >= d->would_reject / 20 &&
                      s->would_reject > 0;

            if (s->messages < o->min_messages) {
                small++;
                small_msgs = sift_sat_add(small_msgs, s->messages);
            } else if (o->all || (problem && (shown < o->top || big))) {
                if ((rc = sender_block(fp, c, d, s)) != SIFT_OK)
                    return rc;
                shown++;
            } else if (problem) {
                more++;
                more_msgs = sift_sat_add(more_msgs, s->messages);
            } else {
                ok++;
                ok_msgs = sift_sat_add(ok_msgs, s->messages);
            }
        }
        if (more > 0)
            fprintf(fp, "\n  (+%zu more %s, %s %s: --all)\n", more,
                    plural(more, "sender", "senders"),
                    num(a, sizeof(a), more_msgs),
                    plural(more_msgs, "message", "messages"));
        if (small > 0)
            fprintf(
                fp,
                "%s  (%zu %s under --min-messages %" PRIu64 " hidden, %s %s)\n",
                more > 0 ? "" : "\n", small, plural(small, "sender", "senders"),
                o->min_messages, num(a, sizeof(a), small_msgs),
                plural(small_msgs, "message", "messages"));
        if (ok > 0) {
            size_t n = 0;
            if (line_open(&l))
                return SIFT_ENOMEM;
            fprintf(l.fp, "Passing or exempted: %zu %s, %s %s (", ok,
                    plural(ok, "sender", "senders"), num(b, sizeof(b), ok_msgs),
                    plural(ok_msgs, "message", "messages"));
            for (k = d->first_snd; k < d->first_snd + d->n_snd; k++) {
                const sender *s = &c->snd[k];
                if (s->messages < o->min_messages || sift_report__problem(s))
                    continue;
                if (n == LIST_MAX) {
                    fprintf(l.fp, ", +%zu more", ok - n);
                    break;
                }
                if (n++)
                    fputs(", ", l.fp);
                sift_text_safe(l.fp, s->name);
                fprintf(l.fp, "%s %s", s->is_new ? " NEW" : "",
                        num(a, sizeof(a), s->messages));
            }
            fputs(")", l.fp);
            line_flush(&l, fp, "\n  ", "    ");
        }
    }
    return SIFT_OK;
}
