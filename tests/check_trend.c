/* check_trend.c -- report/ over time: per-day series that add up exactly,
 * first_seen and NEW across runs, silent reporters, and each readiness
 * state from hand-made histories (docs/report.md "Over time"). The data
 * goes through the store API into a real SQLite file. */
#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report_int.h"
#include "testutil.h"

#define BASE 1793491200 /* 2026-11-01T00:00:00Z */
#define DAY 86400

static sift_eval *ev;
static sift_store *st;
static char *dir;
static int nrep; /* report ids */

static void
setup(void)
{
    char path[4096];
    sift_err err;

    sift_err_clear(&err);
    ck_assert_int_eq(sift_eval_new(&ev, &err), SIFT_OK);
    dir = sandbox();
    ck_assert_ptr_nonnull(dir);
    snprintf(path, sizeof(path), "%s/t.db", dir);
    ck_assert_msg(sift_store_open(&st, path, 0, &err) == SIFT_OK, "open: %s",
                  err.msg);
    nrep = 0;
}

static void
teardown(void)
{
    sift_store_close(st);
    rm_rf(dir);
    free(dir);
    sift_eval_free(ev);
}

/* What a record is: own mail passing, SendGrid failing or passing, an
 * unauthenticated source (spoofing). */
enum kind { OWN, SG_FAIL, SG_PASS, SPOOF, UNKNOWN };

typedef struct trec {
    sift_record r;
    sift_dkim_result dk[2];
    sift_spf_result sp[1];
} trec;

static void
mk(trec *t, enum kind k, uint64_t count)
{
    memset(t, 0, sizeof(*t));
    t->r.count = count;
    t->r.disposition = "none";
    t->r.header_from = "example.com";
    t->r.dkim_results = t->dk;
    t->r.spf_results = t->sp;
    t->sp[0].scope = "mfrom";
    t->r.n_spf = 1;
    t->dk[0].selector = t->dk[1].selector = "s1";
    switch (k) {
    case OWN:
        t->r.source_ip = "192.0.2.10";
        t->r.envelope_from = "example.com";
        t->r.dkim = t->r.spf = "pass";
        t->dk[0].domain = "example.com";
        t->dk[0].result = "pass";
        t->r.n_dkim = 1;
        t->sp[0].domain = "example.com";
        t->sp[0].result = "pass";
        break;
    case SG_FAIL:
    case SG_PASS:
        t->r.source_ip = "198.51.100.5";
        t->r.envelope_from = "bounces.sendgrid.net";
        t->r.dkim = k == SG_PASS ? "pass" : "fail";
        t->r.spf = "fail";
        t->dk[0].domain = "sendgrid.net";
        t->dk[0].result = "pass";
        t->r.n_dkim = 1;
        if (k == SG_PASS) {
            t->dk[1].domain = "example.com";
            t->dk[1].result = "pass";
            t->r.n_dkim = 2;
        }
        t->sp[0].domain = "bounces.sendgrid.net";
        t->sp[0].result = "pass";
        break;
    case UNKNOWN: /* an unknown signer: a name the model interns */
        t->r.source_ip = "203.0.113.77";
        t->r.envelope_from = "mailer.example.net";
        t->r.dkim = t->r.spf = "fail";
        t->dk[0].domain = "mailer.example.net";
        t->dk[0].result = "pass";
        t->r.n_dkim = 1;
        t->sp[0].domain = "mailer.example.net";
        t->sp[0].result = "pass";
        break;
    case SPOOF:
        t->r.source_ip = "203.0.113.66";
        t->r.envelope_from = "example.com";
        t->r.dkim = t->r.spf = "fail";
        t->sp[0].domain = "example.com";
        t->sp[0].result = "fail";
        break;
    }
}

/* Store one report over [begin, end) from `org` with policy p and the
 * records (kind, count) pairs, ended by a count of 0. */
static void
report(const char *org, const char *p, int64_t begin, int64_t end, ...)
{
    sift_report_meta m;
    sift_verdict v;
    sift_stored dup;
    sift_hash128 h = {0, 0};
    sift_err err;
    char id[32];
    va_list ap;
    trec t;
    int k;

    memset(&m, 0, sizeof(m));
    snprintf(id, sizeof(id), "r%d", ++nrep);
    m.org_name = org;
    m.email = "noreply@receiver.test";
    m.report_id = id;
    m.begin = begin;
    m.end = end;
    m.domain = "example.com";
    m.p = p;
    m.pct = -1;
    h.lo = (uint64_t)nrep;
    sift_err_clear(&err);
    ck_assert_msg(sift_store_begin(st, &dup, &m, "test", &err) == SIFT_OK,
                  "begin: %s", err.msg);
    va_start(ap, end);
    while ((k = va_arg(ap, int)) >= 0) {
        uint64_t n = va_arg(ap, uint64_t);
        mk(&t, (enum kind)k, n);
        t.r.line = 10;
        sift_eval_record(&v, ev, &m, &t.r);
        ck_assert_msg(sift_store_add(st, &t.r, &v, &err) == SIFT_OK, "add: %s",
                      err.msg);
    }
    va_end(ap);
    ck_assert_msg(sift_store_commit(st, &m, h, &err) == SIFT_OK, "commit: %s",
                  err.msg);
}
#define R(k, n) (int)(k), (uint64_t)(n)
#define END (-1)

/* Daily reports of `org` for days [from, to) (days after BASE). */
static void
daily(const char *org, const char *p, int from, int to, int k, uint64_t n)
{
    int i;

    for (i = from; i < to; i++)
        report(org, p, BASE + (int64_t)i * DAY,
               BASE + (int64_t)i * DAY + DAY - 1, R(k, n), END);
}

/* Render from store `from` with a generation time of BASE + now_day
 * days. */
static char *
render_from(sift_store *from, sift_format fmt, int by, int since_day,
            int now_day, sift_report_totals *t)
{
    sift_report_opts o = {SIFT_REPORT_TOP_DEFAULT, 0, 0, 0, NULL, 0, 0, 0};
    sift_filter f;
    sift_err err;
    char *buf = NULL;
    size_t n = 0;
    FILE *fp = open_memstream(&buf, &n);
    int rc;

    memset(&f, 0, sizeof(f));
    if (since_day >= 0) {
        f.has_since = 1;
        f.since = BASE + (int64_t)since_day * DAY;
    }
    o.generated_at = BASE + (int64_t)now_day * DAY;
    o.by = by;
    sift_err_clear(&err);
    rc = sift_report_write(fp, t, from, &f, &o, fmt, &err);
    fclose(fp);
    ck_assert_msg(rc == SIFT_OK, "report: %s", err.msg);
    if (getenv("TREND_DUMP") != NULL) /* to review a change */
        fputs(buf, stderr);
    return buf;
}

static char *
render(sift_format fmt, int by, int since_day, int now_day,
       sift_report_totals *t)
{
    return render_from(st, fmt, by, since_day, now_day, t);
}

/* The domain's series (the last "series" in the JSON: the domain's comes
 * after its senders'), summed; *ndays entries. */
static void
series_sum(const char *json, const char *from, uint64_t sum[5], int *ndays)
{
    const char *p = strstr(json, from);

    memset(sum, 0, 5 * sizeof(*sum));
    *ndays = 0;
    ck_assert_ptr_nonnull(p);
    p = strchr(p, '[');
    while ((p = strstr(p, "{\"date\": ")) != NULL) {
        uint64_t v[5];
        char date[16];
        const char *e = strchr(p, '}');
        ck_assert_int_eq(
            sscanf(p,
                   "{\"date\": \"%10[0-9-]\", \"messages\": %" SCNu64
                   ", \"dmarc_pass\": %" SCNu64 ", \"dmarc_fail\": %" SCNu64
                   ", \"would_reject\": %" SCNu64 ", \"exempted\": %" SCNu64,
                   date, &v[0], &v[1], &v[2], &v[3], &v[4]),
            6);
        ck_assert_uint_eq(v[0], v[1] + v[2]); /* pass + fail per day */
        for (int i = 0; i < 5; i++)
            sum[i] += v[i];
        (*ndays)++;
        p = e;
        if (e[1] == ']')
            break;
    }
}

/* The shares of a record over the days of its report add up exactly. */
START_TEST(test_shares)
{
    uint64_t share[MAX_SPREAD_DAYS], sum;
    int64_t d0;
    size_t k, i;

    /* one day */
    k = sift_report__shares(&d0, share, BASE, BASE + DAY - 1, 7);
    ck_assert_uint_eq(k, 1);
    ck_assert_int_eq(d0, BASE / DAY);
    ck_assert_uint_eq(share[0], 7);
    /* 7 equal days, 10 messages: 1 each, the 3 left over to the first
     * days (equal remainders: the earliest wins) */
    k = sift_report__shares(&d0, share, BASE, BASE + 7 * DAY, 10);
    ck_assert_uint_eq(k, 7);
    ck_assert_uint_eq(share[0], 2);
    ck_assert_uint_eq(share[2], 2);
    ck_assert_uint_eq(share[3], 1);
    ck_assert_uint_eq(share[6], 1);
    /* noon to noon over 30 days: half days at both ends */
    k = sift_report__shares(&d0, share, BASE + DAY / 2,
                            BASE + 30 * DAY + DAY / 2, 3000);
    ck_assert_uint_eq(k, 31);
    ck_assert_uint_eq(share[0], 50);
    ck_assert_uint_eq(share[1], 100);
    ck_assert_uint_eq(share[30], 50);
    for (i = 0, sum = 0; i < k; i++)
        sum += share[i];
    ck_assert_uint_eq(sum, 3000);
    /* a huge count does not overflow */
    k = sift_report__shares(&d0, share, BASE, BASE + 3 * DAY, UINT64_MAX);
    for (i = 0, sum = 0; i < k; i++)
        sum += share[i];
    ck_assert_uint_eq(sum, UINT64_MAX);
    ck_assert_uint_eq(share[0], UINT64_MAX / 3);
    /* an inverted range counts on its first day; a range of years on its
     * last MAX_SPREAD_DAYS */
    k = sift_report__shares(&d0, share, BASE + DAY, BASE, 5);
    ck_assert_uint_eq(k, 1);
    ck_assert_int_eq(d0, BASE / DAY + 1);
    k = sift_report__shares(&d0, share, 0, BASE, 5);
    ck_assert_uint_eq(k, MAX_SPREAD_DAYS);
    ck_assert_int_eq(d0, BASE / DAY - MAX_SPREAD_DAYS);
}
END_TEST

/* Reports spanning 1, 7 and 30 days: per-day counts add up exactly to
 * the totals, for the domain and for each sender, by day and by week. */
START_TEST(test_series_sums)
{
    sift_report_totals t;
    uint64_t sum[5];
    int ndays;
    char *out;

    report("one.test", "none", BASE, BASE + DAY - 1, R(OWN, 101), R(SPOOF, 3),
           END);
    report("seven.test", "none", BASE + DAY, BASE + 8 * DAY, R(OWN, 1000),
           R(SG_FAIL, 13), END);
    report("thirty.test", "none", BASE + DAY / 3, BASE + 30 * DAY + DAY / 3,
           R(OWN, 99991), R(SPOOF, 29), END);
    out = render(SIFT_FMT_JSON, 1, -1, 31, &t);
    ck_assert_uint_eq(t.messages, 101 + 3 + 1000 + 13 + 99991 + 29);
    series_sum(out, "\"absent_senders\"", sum, &ndays);
    ck_assert_int_eq(ndays, 31); /* days 0..30 */
    ck_assert_uint_eq(sum[0], t.messages);
    ck_assert_uint_eq(sum[2], t.dmarc_fail);
    ck_assert_uint_eq(sum[3], t.would_reject);
    ck_assert_uint_eq(sum[3], 3 + 13 + 29);
    /* day 0: the 1-day report and 2/3 of a day of the 30-day one
     * (99991 * 2/3 / 30 = 2221.98: 2222 by the largest remainder; 29 * 2/3
     * / 30 = 0.64: 0, the full days' 0.97 come first) */
    ck_assert_ptr_nonnull(strstr(
        out, "{\"date\": \"2026-11-01\", \"messages\": 2326, \"dmarc_pass\": "
             "2323, \"dmarc_fail\": 3, \"would_reject\": 3, \"exempted\": 0}"));
    /* day 1: 1000/7 -> 143 and 13/7 -> 2 (equal remainders: the first six
     * days get one more), 99991/30 -> 3334 and 29/30 -> 1 */
    ck_assert_ptr_nonnull(strstr(
        out, "{\"date\": \"2026-11-02\", \"messages\": 3480, \"dmarc_pass\": "
             "3477, \"dmarc_fail\": 3, \"would_reject\": 3, \"exempted\": 0}"));
    /* SendGrid: 13 over 7 days, the first 6 get 2 */
    series_sum(out, "\"name\": \"SendGrid\"", sum, &ndays);
    ck_assert_int_eq(ndays, 7);
    ck_assert_uint_eq(sum[0], 13);
    ck_assert_uint_eq(sum[3], 13);
    free(out);
    out = render(SIFT_FMT_JSON, 7, -1, 31, &t);
    series_sum(out, "\"absent_senders\"", sum, &ndays);
    ck_assert_int_eq(ndays, 6); /* weeks from Mon 2026-10-26 */
    ck_assert_uint_eq(sum[0], t.messages);
    ck_assert_ptr_nonnull(strstr(out, "{\"date\": \"2026-10-26\""));
    free(out);
}
END_TEST

/* A sender first seen inside --since is NEW; one seen before is not.
 * Run once, add a report, run again. */
START_TEST(test_new_across_runs)
{
    sift_report_totals t;
    char *out;

    daily("mail.test", "none", 0, 10, OWN, 100);
    out = render(SIFT_FMT_JSON, 0, 8, 10, &t);
    ck_assert_ptr_nonnull(strstr(out,
                                 "\"first_seen\": \"2026-11-01T00:00:00Z\""
                                 ", \"last_seen\": \"2026-11-10T23:59:59Z\""
                                 ", \"new\": false"));
    ck_assert_ptr_null(strstr(out, "\"new\": true"));
    ck_assert_uint_eq(t.new_rejecting, 0);
    free(out);

    report("mail.test", "none", BASE + 10 * DAY, BASE + 11 * DAY - 1,
           R(OWN, 100), R(SG_FAIL, 25), END);
    out = render(SIFT_FMT_JSON, 0, 10, 11, &t);
    ck_assert_ptr_nonnull(strstr(out, "{\"name\": \"SendGrid\", \"kind\": "
                                      "\"service\""));
    ck_assert_ptr_nonnull(strstr(out,
                                 "\"first_seen\": \"2026-11-11T00:00:00Z\""
                                 ", \"last_seen\": \"2026-11-11T23:59:59Z\""
                                 ", \"new\": true"));
    ck_assert_ptr_nonnull(strstr(out,
                                 "\"first_seen\": \"2026-11-01T00:00:00Z\""
                                 ", \"last_seen\": \"2026-11-11T23:59:59Z\""
                                 ", \"new\": false"));
    ck_assert_uint_eq(t.new_rejecting, 1);
    free(out);
    out = render(SIFT_FMT_TEXT, 0, 10, 11, &t);
    ck_assert_ptr_nonnull(
        strstr(out, "  SendGrid (service) NEW (first seen 2026-11-11): 25 "
                    "messages, DMARC fail 25,\n    would reject 25\n"));
    free(out);
    out = render(SIFT_FMT_CSV, 0, 10, 11, &t);
    ck_assert_ptr_nonnull(
        strstr(out, ",service,SendGrid,unconfigured_third_party=25,"
                    "2026-11-11T00:00:00Z,1,,,\r\n"));
    free(out);
    /* without --since there is no "before": nothing is NEW */
    out = render(SIFT_FMT_JSON, 0, -1, 11, &t);
    ck_assert_ptr_null(strstr(out, "\"new\": true"));
    ck_assert_uint_eq(t.new_rejecting, 0);
    free(out);
}
END_TEST

/* The history model starts with the window's strings and no table of
 * them: past 31 strings its first intern (an unknown signer's name)
 * built a 64-slot table for them all and, past 63, looped forever. */
START_TEST(test_history_with_many_strings)
{
    sift_report_totals t;
    char org[32], *out;
    int i;

    for (i = 0; i < 70; i++) { /* 70 reporters before the window */
        snprintf(org, sizeof(org), "org%d.test", i);
        report(org, "none", BASE + (int64_t)(i % 5) * DAY,
               BASE + (int64_t)(i % 5) * DAY + DAY - 1, R(UNKNOWN, 3), END);
    }
    report("org0.test", "none", BASE + 8 * DAY, BASE + 9 * DAY - 1,
           R(UNKNOWN, 5), END);
    out = render(SIFT_FMT_JSON, 0, 8, 9, &t);
    ck_assert_ptr_nonnull(strstr(out, "{\"name\": \"example.net\", \"kind\": "
                                      "\"unknown\", \"messages\": 5,"));
    ck_assert_ptr_null(strstr(out, "\"new\": true"));
    free(out);
}
END_TEST

/* A daily reporter that stopped is listed; one that goes on is not; a
 * domain without reports for days says so. */
START_TEST(test_silent_reporter)
{
    sift_report_totals t;
    char *out;

    daily("Yahoo", "none", 0, 10, OWN, 10);
    daily("Google", "none", 0, 20, OWN, 10);
    out = render(SIFT_FMT_JSON, 0, -1, 20, &t);
    ck_assert_ptr_nonnull(strstr(
        out, "\"reporting\": {\"last_report\": \"2026-11-20T23:59:59Z\", "
             "\"days_without_reports\": 0, \"silent_reporters\": "
             "[{\"reporter\": \"Yahoo\", \"last_report\": "
             "\"2026-11-10T23:59:59Z\", \"usual_interval_seconds\": 86400}]}"));
    free(out);
    out = render(SIFT_FMT_TEXT, 0, -1, 20, &t);
    ck_assert_ptr_nonnull(strstr(
        out, "\nSilent reporters: Yahoo: last report 2026-11-10, usually "
             "daily\n"));
    ck_assert_ptr_null(strstr(out, "No report for"));
    free(out);
    /* five days later, nobody reports: the domain says so first, and
     * only Yahoo stopped before the others */
    out = render(SIFT_FMT_TEXT, 0, -1, 25, &t);
    ck_assert_ptr_nonnull(
        strstr(out, "== example.com ==\nNo report for 5 days: the last one "
                    "ended 2026-11-20\nSilent reporters: Yahoo: last report "
                    "2026-11-10, usually daily\n"));
    free(out);
}
END_TEST

static void
state_is(const char *json, const char *state)
{
    char want[128];

    snprintf(want, sizeof(want), "\"readiness\": {\"state\": \"%s\"", state);
    ck_assert_msg(strstr(json, want) != NULL, "want %s in:\n%s", state, json);
}

START_TEST(test_ready_not_enough_data)
{
    sift_report_totals t;
    char *out;

    daily("mail.test", "none", 0, 5, OWN, 100);
    out = render(SIFT_FMT_JSON, 0, -1, 5, &t);
    state_is(out, "not_enough_data");
    ck_assert_ptr_nonnull(
        strstr(out, "\"reasons\": [\"5 days with reports in this period, 14 "
                    "needed\"]"));
    free(out);
}
END_TEST

START_TEST(test_ready_not_ready)
{
    sift_report_totals t;
    char *out;

    daily("mail.test", "none", 0, 20, OWN, 100);
    report("mail.test", "none", BASE + 20 * DAY, BASE + 21 * DAY - 1,
           R(OWN, 100), R(SG_FAIL, 4), END);
    out = render(SIFT_FMT_JSON, 0, -1, 21, &t);
    state_is(out, "not_ready");
    ck_assert_ptr_nonnull(
        strstr(out, "\"reasons\": [\"SendGrid (service): 4 of 4 messages would "
                    "be rejected (100.0%)\"]"));
    free(out);
}
END_TEST

START_TEST(test_ready_for_quarantine_and_reject)
{
    sift_report_totals t;
    char *out;

    /* spoofing does not hold the domain back: p=reject is for it */
    daily("mail.test", "none", 0, 14, OWN, 100);
    daily("mail.test", "none", 14, 15, SPOOF, 7);
    out = render(SIFT_FMT_JSON, 0, -1, 15, &t);
    state_is(out, "ready_for_quarantine");
    ck_assert_ptr_nonnull(strstr(
        out, "\"reasons\": [\"15 days, 1,407 messages: every legitimate sender "
             "(own servers, services, forwarders) passes DMARC or is "
             "exempted\", \"7 messages from unknown or unauthenticated "
             "senders would be rejected: what p=reject is for (check that "
             "none of them is yours)\"]"));
    ck_assert_ptr_nonnull(strstr(out, "\"next_step\": \"publish p=quarantine: "
                                      "with t=y first for RFC 9989 receivers"));
    free(out);
    daily("mail.test", "quarantine", 15, 16, OWN, 100);
    out = render(SIFT_FMT_JSON, 0, -1, 16, &t);
    state_is(out, "ready_for_reject");
    ck_assert_ptr_nonnull(strstr(out, "\"next_step\": \"publish p=reject: "));
    free(out);
}
END_TEST

START_TEST(test_ready_enforced)
{
    sift_report_totals t;
    char *out;

    daily("mail.test", "reject", 0, 3, OWN, 100);
    out = render(SIFT_FMT_JSON, 0, -1, 3, &t);
    state_is(out, "enforced");
    free(out);
}
END_TEST

/* A monthly sender: seen failing in October, not in the window. It blocks
 * "ready" until it is seen passing. */
START_TEST(test_monthly_sender_blocks_ready)
{
    sift_report_totals t;
    char *out;

    report("mail.test", "none", BASE - 20 * DAY, BASE - 19 * DAY - 1,
           R(OWN, 100), R(SG_FAIL, 500), END);
    daily("mail.test", "none", 0, 20, OWN, 100);
    out = render(SIFT_FMT_JSON, 0, 0, 20, &t);
    state_is(out, "not_ready");
    ck_assert_ptr_nonnull(strstr(
        out, "\"reasons\": [\"SendGrid (service): not seen in this period; "
             "last seen 2026-10-12 with messages that would be rejected (a "
             "monthly or quarterly sender?): wait until it is seen "
             "passing\"]"));
    ck_assert_ptr_nonnull(strstr(
        out, "\"absent_senders\": [{\"name\": \"SendGrid\", \"kind\": "
             "\"service\", \"first_seen\": \"2026-10-12T00:00:00Z\", "
             "\"last_seen\": \"2026-10-12T23:59:59Z\", \"failing\": true}]"));
    free(out);
    /* the whole history as the window: it failed, it still blocks */
    out = render(SIFT_FMT_JSON, 0, -1, 20, &t);
    state_is(out, "not_ready");
    free(out);
    /* seen passing in the window: ready */
    report("mail.test", "none", BASE + 20 * DAY, BASE + 21 * DAY - 1,
           R(OWN, 100), R(SG_PASS, 500), END);
    out = render(SIFT_FMT_JSON, 0, 0, 21, &t);
    state_is(out, "ready_for_quarantine");
    ck_assert_ptr_nonnull(strstr(out, "\"absent_senders\": []"));
    free(out);
}
END_TEST

/* On a read-only handle the scan runs on two threads, the history model
 * too: the output is the one-pass output byte for byte. */
START_TEST(test_two_core_scan_with_history)
{
    static const sift_format fmts[] = {SIFT_FMT_TEXT, SIFT_FMT_JSON,
                                       SIFT_FMT_HTML};
    sift_report_totals t1, t2;
    char path[4096];
    sift_store *ro = NULL;
    sift_err err;
    size_t i;

    report("mail.test", "none", BASE - 20 * DAY, BASE - 19 * DAY - 1,
           R(OWN, 100), R(SG_FAIL, 500), R(SPOOF, 3), END);
    daily("mail.test", "none", 0, 10, OWN, 100);
    daily("other.test", "none", 0, 10, SPOOF, 7);
    report("mail.test", "none", BASE + 10 * DAY, BASE + 11 * DAY - 1,
           R(OWN, 100), R(SG_PASS, 5), R(SPOOF, 9), END);
    daily("mail.test", "none", 11, 15, OWN, 100);
    /* a late-arriving old report: its records are in the upper half */
    report("late.test", "none", BASE - 30 * DAY, BASE - 29 * DAY - 1,
           R(SG_FAIL, 11), R(OWN, 50), END);
    sift_err_clear(&err);
    ck_assert_int_eq(sift_store_flush(st, &err), SIFT_OK);
    snprintf(path, sizeof(path), "%s/t.db", dir);
    ck_assert_int_eq(
        sift_store_open(&ro, path, SIFT_STORE_READONLY | SIFT_STORE_SCAN, &err),
        SIFT_OK);
    for (i = 0; i < 2 * sizeof(fmts) / sizeof(fmts[0]); i++) {
        sift_format f = fmts[i % 3];
        int by = f == SIFT_FMT_JSON && i >= 3;
        char *one = render(f, by, 5, 15, &t1);
        char *two = render_from(ro, f, by, 5, 15, &t2);
        ck_assert_str_eq(one, two);
        ck_assert_uint_eq(t1.would_reject, t2.would_reject);
        free(one);
        free(two);
    }
    /* what the history says: SendGrid seen in October (the late report
     * first), not NEW */
    {
        char *out = render_from(ro, SIFT_FMT_JSON, 0, 5, 15, &t1);
        ck_assert_ptr_nonnull(strstr(out, "\"first_seen\": "
                                          "\"2026-10-02T00:00:00Z\", "
                                          "\"last_seen\": "
                                          "\"2026-11-11T23:59:59Z\", "
                                          "\"new\": false"));
        free(out);
    }
    sift_store_close(ro);
}
END_TEST

static Suite *
trend_suite(void)
{
    Suite *s = suite_create("trend");
    TCase *tc = tcase_create("trend");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_shares);
    tcase_add_test(tc, test_series_sums);
    tcase_add_test(tc, test_new_across_runs);
    tcase_add_test(tc, test_history_with_many_strings);
    tcase_add_test(tc, test_silent_reporter);
    tcase_add_test(tc, test_ready_not_enough_data);
    tcase_add_test(tc, test_ready_not_ready);
    tcase_add_test(tc, test_ready_for_quarantine_and_reject);
    tcase_add_test(tc, test_ready_enforced);
    tcase_add_test(tc, test_monthly_sender_blocks_ready);
    tcase_add_test(tc, test_two_core_scan_with_history);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(trend_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
