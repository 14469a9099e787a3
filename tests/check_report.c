/* check_report.c -- report/: alignment, verdicts and categories (pure
 * evaluation over hand-built records), sender lookup, and golden outputs of
 * the summary and the export over a store populated through the store API.
 * Expected category sets are written out in full: a record must have
 * exactly these, no more. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sift_report.h"
#include "sift_json.h"
#include "testutil.h"

/* --- building records ---------------------------------------------------- */

typedef struct trec {
    sift_record r;
    sift_dkim_result dk[6];
    sift_spf_result sp[6];
    sift_reason rs[6];
} trec;

static void
meta_init(sift_report_meta *m)
{
    memset(m, 0, sizeof(*m));
    m->org_name = "receiver.test";
    m->email = "noreply@receiver.test";
    m->report_id = "r1";
    m->begin = 1700000000;
    m->end = 1700086399;
    m->domain = "example.com";
    m->p = "reject";
    m->pct = -1;
}

static void
rec_init(trec *t, const char *from, const char *env, const char *pe_dkim,
         const char *pe_spf)
{
    memset(t, 0, sizeof(*t));
    t->r.source_ip = "192.0.2.1";
    t->r.count = 1;
    t->r.disposition = "none";
    t->r.header_from = from;
    t->r.envelope_from = env;
    t->r.dkim = pe_dkim;
    t->r.spf = pe_spf;
    t->r.dkim_results = t->dk;
    t->r.spf_results = t->sp;
    t->r.reasons = t->rs;
}

static void
dkim(trec *t, const char *d, const char *result)
{
    t->dk[t->r.n_dkim].domain = d;
    t->dk[t->r.n_dkim].selector = "s1";
    t->dk[t->r.n_dkim].result = result;
    t->r.n_dkim++;
}

static void
spf(trec *t, const char *d, const char *scope, const char *result)
{
    t->sp[t->r.n_spf].domain = d;
    t->sp[t->r.n_spf].scope = scope;
    t->sp[t->r.n_spf].result = result;
    t->r.n_spf++;
}

static void
reason(trec *t, const char *type, const char *comment)
{
    t->rs[t->r.n_reasons].type = type;
    t->rs[t->r.n_reasons].comment = comment;
    t->r.n_reasons++;
}

/* Category set as "code code ..." in enum order, for readable asserts. */
static const char *
codes(uint32_t mask)
{
    static char buf[1024];
    int i;

    buf[0] = '\0';
    for (i = 0; i < SIFT_CAT__COUNT; i++) {
        if (mask & (1u << i)) {
            if (buf[0])
                strcat(buf, " ");
            strcat(buf, sift_category_code((sift_category)i));
        }
    }
    return buf;
}

static sift_eval *ev;

static void
ev_setup(void)
{
    sift_err err;

    sift_err_clear(&err);
    ck_assert_int_eq(sift_eval_new(&ev, &err), SIFT_OK);
}

static void
ev_teardown(void)
{
    sift_eval_free(ev);
    ev = NULL;
}

static sift_verdict
eval(const sift_report_meta *m, const trec *t)
{
    sift_verdict v;

    sift_eval_record(&v, ev, m, &t->r);
    return v;
}

/* --- alignment ----------------------------------------------------------- */

static const struct {
    const char *d, *from, *mode;
    int aligned, approx;
} align_cases[] = {
    {"example.com", "example.com", "r", 1, 0},
    {"example.com", "example.com", "s", 1, 0},
    {"mail.example.com", "example.com", "r", 1, 0},        /* child */
    {"example.com", "news.example.com", "r", 1, 0},        /* parent */
    {"bounce.example.com", "news.example.com", "r", 1, 1}, /* siblings */
    {"mail.example.com", "example.com", "s", 0, 0},
    {"example.com", "news.example.com", "s", 0, 0},
    {"bounce.example.com", "news.example.com", "s", 0, 0},
    {"EXAMPLE.COM.", "example.com", "s", 1, 0}, /* case, trailing dot */
    {"Mail.Example.Com", "user@EXAMPLE.com", "r", 1, 0},
    {"example.net", "example.com", "r", 0, 0},
    {"com", "example.com", "r", 0, 0}, /* a public suffix never aligns */
    {"notexample.com", "example.com", "r", 0, 0},
    {"a.example.co.uk", "b.example.co.uk", "r", 1, 1}, /* multi-label */
    {"other.co.uk", "example.co.uk", "r", 0, 0},
    {"co.uk", "example.co.uk", "r", 0, 0},
    {"alice.github.io", "bob.github.io", "r", 0, 0}, /* PSL private */
    {"www.alice.github.io", "alice.github.io", "r", 1, 0},
    /* *.compute.amazonaws.com: every region label is a suffix */
    {"ec2-198-51-100-1.eu-west-1.compute.amazonaws.com",
     "ec2-198-51-100-2.eu-west-1.compute.amazonaws.com", "r", 0, 0},
    {"eu-west-1.compute.amazonaws.com",
     "ec2-198-51-100-2.eu-west-1.compute.amazonaws.com", "r", 0, 0},
    /* IDN: U-labels and A-labels are the same name */
    {"bücher.de", "xn--bcher-kva.de", "s", 1, 0},
    {"mail.BÜCHER.de", "xn--bcher-kva.de", "r", 1, 0},
    {"mail.example.рф", "example.xn--p1ai", "r", 1, 0},
    {"", "example.com", "r", 0, 0},
    {"example.com", "", "r", 0, 0},
};

START_TEST(test_alignment_table)
{
    sift_report_meta m;
    trec t;
    sift_verdict v;

    meta_init(&m);
    m.domain = NULL; /* no policy-domain checks here */
    m.adkim = align_cases[_i].mode;
    m.aspf = align_cases[_i].mode;
    rec_init(&t, align_cases[_i].from, NULL, "fail", "fail");
    dkim(&t, align_cases[_i].d, "pass");
    v = eval(&m, &t);
    ck_assert_msg(v.dkim_aligned == align_cases[_i].aligned,
                  "dkim d=%s from=%s mode=%s: aligned=%d", align_cases[_i].d,
                  align_cases[_i].from, align_cases[_i].mode, v.dkim_aligned);
    ck_assert_msg(!!(v.flags & SIFT_FLAG_PSL_APPROX) == align_cases[_i].approx,
                  "d=%s from=%s: approx flag", align_cases[_i].d,
                  align_cases[_i].from);
    /* the same answer for SPF through aspf */
    rec_init(&t, align_cases[_i].from, NULL, "fail", "fail");
    spf(&t, align_cases[_i].d, "mfrom", "pass");
    v = eval(&m, &t);
    ck_assert_msg(v.spf_aligned == align_cases[_i].aligned,
                  "spf %s from=%s mode=%s: aligned=%d", align_cases[_i].d,
                  align_cases[_i].from, align_cases[_i].mode, v.spf_aligned);
}
END_TEST

START_TEST(test_org_domain)
{
    char buf[256];

    ck_assert_str_eq(
        sift_eval_org_domain(ev, "a.b.c.example.com", buf, sizeof(buf)),
        "example.com");
    ck_assert_str_eq(
        sift_eval_org_domain(ev, "Mail.Example.CO.UK.", buf, sizeof(buf)),
        "example.co.uk");
    ck_assert_str_eq(
        sift_eval_org_domain(ev, "mail.bücher.de", buf, sizeof(buf)),
        "xn--bcher-kva.de");
    ck_assert_ptr_null(sift_eval_org_domain(ev, "co.uk", buf, sizeof(buf)));
    ck_assert_ptr_null(sift_eval_org_domain(ev, "com", buf, sizeof(buf)));
    ck_assert_ptr_null(sift_eval_org_domain(ev, "", buf, sizeof(buf)));
    ck_assert_ptr_null(sift_eval_org_domain(ev, NULL, buf, sizeof(buf)));
    ck_assert_ptr_null(
        sift_eval_org_domain(ev, "example.com", buf, 5)); /* too small */
}
END_TEST

/* --- categories: one record per category, exact sets --------------------- */

START_TEST(test_cat_p1_p2)
{
    sift_report_meta m;
    trec t;
    sift_verdict v;

    meta_init(&m);
    rec_init(&t, "example.com", "example.com", "pass", "pass");
    dkim(&t, "example.com", "pass");
    spf(&t, "example.com", "mfrom", "pass");
    v = eval(&m, &t);
    ck_assert_str_eq(codes(v.categories), "pass_dkim_aligned pass_spf_aligned");
    ck_assert_int_eq(v.outcome, SIFT_OUT_PASS);
    ck_assert_int_eq(v.dmarc_fail, 0);
    ck_assert_int_eq(v.would_reject, 0);
    ck_assert_int_eq(v.flags, 0);
    ck_assert_str_eq(v.spf_domain, "example.com");
    ck_assert_str_eq(v.dkim_domain, "example.com");

    /* P2 alone: SPF via a bounce subdomain, no signature */
    rec_init(&t, "example.com", "bounce.example.com", "fail", "pass");
    spf(&t, "bounce.example.com", NULL, "pass");
    v = eval(&m, &t);
    ck_assert_str_eq(codes(v.categories), "pass_spf_aligned dkim_none");
    ck_assert_int_eq(v.outcome, SIFT_OUT_PASS);
    ck_assert_int_eq(v.flags, 0);
}
END_TEST

/* SPF result words → categories; the SPF domain is outside example.com's
 * org, so no unauthenticated (U1). */
static const struct {
    const char *result, *codes;
    sift_outcome outcome;
} spf_cases[] = {
    {"softfail", "spf_softfail dkim_none unauthenticated",
     SIFT_OUT_WOULD_REJECT},
    {"fail", "spf_fail dkim_none unauthenticated", SIFT_OUT_WOULD_REJECT},
    {"hardfail", "spf_fail dkim_none unauthenticated", SIFT_OUT_WOULD_REJECT},
    {"Fail", "spf_fail dkim_none unauthenticated", SIFT_OUT_WOULD_REJECT},
    {"neutral", "spf_neutral dkim_none unauthenticated", SIFT_OUT_WOULD_REJECT},
    {"none", "spf_none dkim_none unauthenticated", SIFT_OUT_WOULD_REJECT},
    {"temperror", "spf_temperror dkim_none unauthenticated",
     SIFT_OUT_WOULD_REJECT},
    {"permerror", "spf_permerror dkim_none unauthenticated",
     SIFT_OUT_WOULD_REJECT},
    {"unknown", "spf_permerror dkim_none unauthenticated",
     SIFT_OUT_WOULD_REJECT},
    {"error", "spf_permerror dkim_none unauthenticated", SIFT_OUT_WOULD_REJECT},
    {"policy", "spf_policy dkim_none unauthenticated", SIFT_OUT_WOULD_REJECT},
    {"pass", "spf_not_aligned dkim_none", SIFT_OUT_WOULD_REJECT},
    {"bogus", "dkim_none unauthenticated", SIFT_OUT_WOULD_REJECT},
};

START_TEST(test_cat_spf_results)
{
    sift_report_meta m;
    trec t;
    sift_verdict v;

    meta_init(&m);
    rec_init(&t, "example.com", "mailer.example.net", "fail", "fail");
    spf(&t, "mailer.example.net", "mfrom", spf_cases[_i].result);
    v = eval(&m, &t);
    ck_assert_msg(strcmp(codes(v.categories), spf_cases[_i].codes) == 0,
                  "spf %s: got '%s' want '%s'", spf_cases[_i].result,
                  codes(v.categories), spf_cases[_i].codes);
    ck_assert_int_eq(v.outcome, spf_cases[_i].outcome);
    ck_assert_int_eq(v.dmarc_fail, 1);
    ck_assert_int_eq(v.would_reject,
                     spf_cases[_i].outcome == SIFT_OUT_WOULD_REJECT);
    ck_assert_str_eq(v.spf_domain, "mailer.example.net");
    ck_assert_ptr_null(v.dkim_domain);
}
END_TEST

START_TEST(test_cat_spf_missing_and_helo)
{
    sift_report_meta m;
    trec t;
    sift_verdict v;

    meta_init(&m);
    /* S9: nothing reported */
    rec_init(&t, "example.com", NULL, "fail", "fail");
    v = eval(&m, &t);
    ck_assert_str_eq(codes(v.categories),
                     "spf_missing dkim_none unauthenticated");
    ck_assert_ptr_null(v.spf_domain);
    ck_assert_int_eq(v.flags, 0);

    /* S9: HELO-only with a non-empty envelope is not usable (§2.5) */
    rec_init(&t, "example.com", "example.com", "fail", "fail");
    spf(&t, "mx.example.com", "helo", "pass");
    v = eval(&m, &t);
    ck_assert_str_eq(codes(v.categories),
                     "spf_missing dkim_none unauthenticated");
    ck_assert_int_eq(v.spf_aligned, 0);
    ck_assert_uint_eq(v.flags, SIFT_FLAG_HELO_ONLY_SPF);
    ck_assert_str_eq(v.spf_domain, "example.com"); /* the envelope */

    /* S10: null reverse-path, the HELO result is the MAIL FROM identity */
    rec_init(&t, "example.com", "", "fail", "pass");
    spf(&t, "mx.example.com", "helo", "pass");
    v = eval(&m, &t);
    ck_assert_str_eq(codes(v.categories),
                     "pass_spf_aligned null_reverse_path dkim_none");
    ck_assert_int_eq(v.spf_aligned, 1);
    ck_assert_int_eq(v.outcome, SIFT_OUT_PASS);
    ck_assert_uint_eq(v.flags, 0);

    /* "<>" is a null reverse-path too; an envelope that is not a domain
     * is not (its HELO result must not be taken for MAIL FROM) */
    rec_init(&t, "example.com", "<>", "fail", "pass");
    spf(&t, "mx.example.com", "helo", "pass");
    v = eval(&m, &t);
    ck_assert_str_eq(codes(v.categories),
                     "pass_spf_aligned null_reverse_path dkim_none");
    rec_init(&t, "example.com", "foo bar", "fail", "pass");
    spf(&t, "mx.example.com", "helo", "pass");
    v = eval(&m, &t);
    ck_assert_str_eq(codes(v.categories),
                     "spf_missing dkim_none reporter_inconsistent");
    ck_assert_int_eq(v.spf_aligned, 0);

    /* an mfrom result is preferred over helo, whatever the order */
    rec_init(&t, "example.com", "example.com", "fail", "fail");
    spf(&t, "mx.example.com", "helo", "pass");
    spf(&t, "example.com", "mfrom", "softfail");
    v = eval(&m, &t);
    ck_assert_str_eq(codes(v.categories),
                     "spf_softfail dkim_none unauthenticated");

    /* envelope and SPF domain disagree */
    rec_init(&t, "example.com", "bounces.example.org", "fail", "fail");
    spf(&t, "example.org", "mfrom", "fail");
    v = eval(&m, &t);
    ck_assert_uint_eq(v.flags, SIFT_FLAG_ENVELOPE_SPF_MISMATCH);
    ck_assert_str_eq(codes(v.categories), "spf_fail dkim_none unauthenticated");

    /* empty SPF domain: fall back to the envelope */
    rec_init(&t, "example.com", "example.com", "fail", "pass");
    spf(&t, "", NULL, "pass");
    v = eval(&m, &t);
    ck_assert_int_eq(v.spf_aligned, 1);
    ck_assert_str_eq(v.spf_domain, "example.com");
}
END_TEST

START_TEST(test_cat_dkim_results)
{
    sift_report_meta m;
    trec t;
    sift_verdict v;

    meta_init(&m);
    /* D1: only "none" entries */
    rec_init(&t, "example.com", "example.com", "fail", "pass");
    dkim(&t, "example.com", "none");
    spf(&t, "example.com", NULL, "pass");
    v = eval(&m, &t);
    ck_assert_str_eq(codes(v.categories), "pass_spf_aligned dkim_none");

    /* D2 */
    rec_init(&t, "example.com", "fwd.example.org", "fail", "fail");
    dkim(&t, "esp.example.net", "pass");
    spf(&t, "fwd.example.org", NULL, "fail");
    v = eval(&m, &t);
    ck_assert_str_eq(codes(v.categories), "spf_fail dkim_third_party");
    ck_assert_str_eq(v.dkim_domain, "esp.example.net");
    ck_assert_int_eq(v.would_reject, 1);

    /* D3 on a third-party signature while SPF carries the pass */
    rec_init(&t, "example.com", "example.com", "fail", "pass");
    dkim(&t, "third.example.org", "fail");
    spf(&t, "example.com", NULL, "pass");
    v = eval(&m, &t);
    ck_assert_str_eq(codes(v.categories), "pass_spf_aligned dkim_fail");
    ck_assert_str_eq(v.dkim_domain, "third.example.org");

    /* D4: aligned-domain key lookup failed → indeterminate */
    rec_init(&t, "example.com", "other.example.org", "fail", "fail");
    dkim(&t, "example.com", "temperror");
    spf(&t, "other.example.org", NULL, "fail");
    v = eval(&m, &t);
    ck_assert_str_eq(codes(v.categories), "spf_fail dkim_temperror");
    ck_assert_int_eq(v.outcome, SIFT_OUT_DNS_ERROR);
    ck_assert_int_eq(v.would_reject, 0);

    /* a temperror on an unrelated d= cannot make the result indeterminate */
    rec_init(&t, "example.com", "other.example.org", "fail", "fail");
    dkim(&t, "list.example.org", "temperror");
    spf(&t, "other.example.org", NULL, "fail");
    v = eval(&m, &t);
    ck_assert_int_eq(v.outcome, SIFT_OUT_WOULD_REJECT);

    /* D5 */
    rec_init(&t, "example.com", "example.com", "fail", "pass");
    dkim(&t, "example.com", "permerror");
    spf(&t, "example.com", NULL, "pass");
    v = eval(&m, &t);
    ck_assert_str_eq(codes(v.categories), "pass_spf_aligned dkim_permerror");

    /* D6: neutral and policy */
    rec_init(&t, "example.com", "example.com", "fail", "pass");
    dkim(&t, "example.com", "policy");
    dkim(&t, "example.com", "Neutral");
    spf(&t, "example.com", NULL, "pass");
    v = eval(&m, &t);
    ck_assert_str_eq(codes(v.categories),
                     "pass_spf_aligned dkim_not_acceptable");
}
END_TEST

START_TEST(test_cat_forwarding)
{
    sift_report_meta m;
    trec t;
    sift_verdict v;

    meta_init(&m);
    /* F1: forwarded without SRS: original envelope fails at the forwarder */
    rec_init(&t, "example.com", "example.com", "pass", "fail");
    dkim(&t, "example.com", "pass");
    spf(&t, "example.com", NULL, "fail");
    v = eval(&m, &t);
    ck_assert_str_eq(codes(v.categories),
                     "pass_dkim_aligned spf_fail forwarded_dkim_intact");
    ck_assert_int_eq(v.outcome, SIFT_OUT_PASS);

    /* F1 with SRS: the forwarder's own envelope passes, unaligned */
    rec_init(&t, "example.com", "srs.forwarder.example", "pass", "fail");
    dkim(&t, "example.com", "pass");
    spf(&t, "srs.forwarder.example", NULL, "pass");
    v = eval(&m, &t);
    ck_assert_str_eq(codes(v.categories), "pass_dkim_aligned spf_not_aligned "
                                          "forwarded_dkim_intact");

    /* ...but an unaligned SPF pass for a known ESP is just an ESP */
    rec_init(&t, "example.com", "em123.sendgrid.net", "pass", "fail");
    dkim(&t, "example.com", "pass");
    spf(&t, "em123.sendgrid.net", NULL, "pass");
    v = eval(&m, &t);
    ck_assert_str_eq(codes(v.categories), "pass_dkim_aligned spf_not_aligned");

    /* F2: mailing list broke the signature and re-signed with its own */
    rec_init(&t, "example.com", "list.example.org", "fail", "fail");
    dkim(&t, "example.com", "fail");
    dkim(&t, "list.example.org", "pass");
    spf(&t, "list.example.org", NULL, "pass");
    v = eval(&m, &t);
    ck_assert_str_eq(codes(v.categories),
                     "spf_not_aligned dkim_third_party dkim_fail "
                     "forwarded_both_broken");
    ck_assert_int_eq(v.would_reject, 1);
    ck_assert_int_eq(v.primary, SIFT_CAT_FORWARDED_BOTH_BROKEN);
    /* the explanation names the signature that broke */
    ck_assert_str_eq(v.dkim_domain, "example.com");

    /* F3: the receiver exempted it */
    reason(&t, "mailing_list", NULL);
    v = eval(&m, &t);
    ck_assert_str_eq(codes(v.categories),
                     "spf_not_aligned dkim_third_party dkim_fail "
                     "forwarded_both_broken receiver_override");
    ck_assert_int_eq(v.outcome, SIFT_OUT_OVERRIDDEN);
    ck_assert_int_eq(v.would_reject, 0);
    ck_assert_int_eq(v.dmarc_fail, 1);
}
END_TEST

START_TEST(test_cat_unauthenticated_and_third_party)
{
    sift_report_meta m;
    trec t;
    sift_verdict v;

    meta_init(&m);
    /* U1: spoofing pattern */
    rec_init(&t, "example.com", "example.com", "fail", "fail");
    spf(&t, "example.com", NULL, "softfail");
    v = eval(&m, &t);
    ck_assert_str_eq(codes(v.categories),
                     "spf_softfail dkim_none unauthenticated");
    ck_assert_int_eq(v.would_reject, 1);

    /* a broken aligned signature without evidence of a list or forwarder
     * (no list signature, SRS or ARC) is not "forwarded": still an
     * unauthenticated source (a spoofer can forge a broken signature) */
    dkim(&t, "example.com", "fail");
    v = eval(&m, &t);
    ck_assert_str_eq(codes(v.categories),
                     "spf_softfail dkim_fail unauthenticated");
    ck_assert_int_eq(v.primary, SIFT_CAT_UNAUTHENTICATED);
    ck_assert_str_eq(v.dkim_domain, "example.com");

    /* U2: an ESP with neither DKIM nor return-path configured */
    rec_init(&t, "example.com", "bounces.sendgrid.net", "fail", "fail");
    dkim(&t, "sendgrid.net", "pass");
    spf(&t, "bounces.sendgrid.net", "mfrom", "pass");
    v = eval(&m, &t);
    ck_assert_str_eq(codes(v.categories), "spf_not_aligned dkim_third_party "
                                          "unconfigured_third_party");
    ck_assert_int_eq(v.would_reject, 1);
    ck_assert_str_eq(v.spf_domain, "bounces.sendgrid.net");
    ck_assert_str_eq(v.dkim_domain, "sendgrid.net");
}
END_TEST

START_TEST(test_cat_reporter_inconsistent)
{
    sift_report_meta m;
    trec t;
    sift_verdict v;

    meta_init(&m);
    /* reporter says DKIM pass; the only passing signature is unaligned */
    rec_init(&t, "example.com", "example.com", "Pass", "fail");
    dkim(&t, "esp.example.net", "pass");
    spf(&t, "example.com", NULL, "fail");
    v = eval(&m, &t);
    ck_assert_uint_eq(v.flags,
                      SIFT_FLAG_DKIM_MISMATCH | SIFT_FLAG_DMARC_MISMATCH);
    ck_assert_str_eq(codes(v.categories),
                     "spf_fail dkim_third_party unauthenticated "
                     "reporter_inconsistent");
    /* the reporter is the basis: not a failure, never "corrected" */
    ck_assert_int_eq(v.dmarc_fail, 0);
    ck_assert_int_eq(v.outcome, SIFT_OUT_PASS);

    /* reporter says fail although SPF passes aligned */
    rec_init(&t, "example.com", "example.com", "fail", "fail");
    spf(&t, "example.com", NULL, "pass");
    v = eval(&m, &t);
    ck_assert_uint_eq(v.flags,
                      SIFT_FLAG_SPF_MISMATCH | SIFT_FLAG_DMARC_MISMATCH);
    ck_assert_str_eq(codes(v.categories),
                     "pass_spf_aligned dkim_none reporter_inconsistent");
    ck_assert_int_eq(v.dmarc_fail, 1);
    ck_assert_int_eq(v.would_reject, 1);

    /* From outside the policy domain */
    rec_init(&t, "example.org", "example.org", "pass", "pass");
    dkim(&t, "example.org", "pass");
    spf(&t, "example.org", NULL, "pass");
    v = eval(&m, &t);
    ck_assert_uint_eq(v.flags, SIFT_FLAG_FROM_OUTSIDE_DOMAIN);
    ck_assert_str_eq(codes(v.categories), "pass_dkim_aligned pass_spf_aligned "
                                          "reporter_inconsistent");

    /* no header_from: nothing can align */
    rec_init(&t, NULL, "example.com", "fail", "fail");
    spf(&t, "example.com", NULL, "pass");
    v = eval(&m, &t);
    ck_assert_uint_eq(v.flags, SIFT_FLAG_NO_HEADER_FROM);
    ck_assert_str_eq(codes(v.categories), "spf_not_aligned dkim_none");
}
END_TEST

START_TEST(test_sp_np_selection)
{
    sift_report_meta m;
    trec t;
    sift_verdict v;

    meta_init(&m);
    rec_init(&t, "news.example.com", "news.example.com", "fail", "pass");
    spf(&t, "news.example.com", NULL, "pass");
    /* no np: sp (or p) is the answer whether or not the name exists */
    v = eval(&m, &t);
    ck_assert_str_eq(codes(v.categories), "pass_spf_aligned dkim_none");
    m.sp = "quarantine";
    v = eval(&m, &t);
    ck_assert_str_eq(codes(v.categories), "pass_spf_aligned dkim_none");
    /* np equal to the effective sp: not ambiguous */
    m.np = "quarantine";
    v = eval(&m, &t);
    ck_assert_str_eq(codes(v.categories), "pass_spf_aligned dkim_none");
    /* np differs from sp: existence of the subdomain matters */
    m.np = "reject";
    v = eval(&m, &t);
    ck_assert_str_eq(codes(v.categories),
                     "pass_spf_aligned dkim_none ambiguous_sp_np");
    /* sp absent: np is compared with p */
    m.sp = NULL;
    m.np = "none";
    v = eval(&m, &t);
    ck_assert_str_eq(codes(v.categories),
                     "pass_spf_aligned dkim_none ambiguous_sp_np");
    /* the policy domain itself uses p: never ambiguous */
    rec_init(&t, "example.com", "example.com", "fail", "pass");
    spf(&t, "example.com", NULL, "pass");
    v = eval(&m, &t);
    ck_assert_str_eq(codes(v.categories), "pass_spf_aligned dkim_none");
}
END_TEST

START_TEST(test_testing_or_sampling)
{
    sift_report_meta m;
    trec t;
    sift_verdict v;

    meta_init(&m);
    rec_init(&t, "example.com", "other.example.org", "fail", "fail");
    spf(&t, "other.example.org", NULL, "fail");
    m.pct = 100;
    v = eval(&m, &t);
    ck_assert_str_eq(codes(v.categories), "spf_fail dkim_none unauthenticated");
    m.pct = 50;
    v = eval(&m, &t);
    ck_assert_str_eq(codes(v.categories),
                     "spf_fail dkim_none unauthenticated testing_or_sampling");
    ck_assert_int_eq(v.would_reject, 1);
    m.pct = -1;
    m.testing = "y";
    v = eval(&m, &t);
    ck_assert_str_eq(codes(v.categories),
                     "spf_fail dkim_none unauthenticated testing_or_sampling");
    m.testing = "n";
    reason(&t, "sampled_out", NULL);
    v = eval(&m, &t);
    ck_assert_str_eq(codes(v.categories),
                     "spf_fail dkim_none unauthenticated testing_or_sampling");
    ck_assert_int_eq(v.outcome, SIFT_OUT_WOULD_REJECT);
}
END_TEST

/* --- would_reject and overrides ------------------------------------------ */

static const struct {
    const char *type, *comment;
    sift_outcome outcome;
} reason_cases[] = {
    {"forwarded", NULL, SIFT_OUT_OVERRIDDEN},
    {"trusted_forwarder", NULL, SIFT_OUT_OVERRIDDEN},
    {"mailing_list", NULL, SIFT_OUT_OVERRIDDEN},
    {"local_policy", "arc=pass", SIFT_OUT_OVERRIDDEN},
    {"local_policy", NULL, SIFT_OUT_OVERRIDDEN},
    {"other", "whatever", SIFT_OUT_OVERRIDDEN},
    {"Forwarded", NULL, SIFT_OUT_OVERRIDDEN},
    {"some_new_word", NULL, SIFT_OUT_OVERRIDDEN}, /* unknown → other */
    {"sampled_out", NULL, SIFT_OUT_WOULD_REJECT},
    {"policy_test_mode", NULL, SIFT_OUT_WOULD_REJECT},
    {"", NULL, SIFT_OUT_WOULD_REJECT},
    {"", "ARC=pass as.1.google.com=pass", SIFT_OUT_OVERRIDDEN},
    {NULL, NULL, SIFT_OUT_WOULD_REJECT},
};

START_TEST(test_override_reasons)
{
    sift_report_meta m;
    trec t;
    sift_verdict v;

    meta_init(&m);
    rec_init(&t, "example.com", "other.example.org", "fail", "fail");
    spf(&t, "other.example.org", NULL, "fail");
    reason(&t, reason_cases[_i].type, reason_cases[_i].comment);
    v = eval(&m, &t);
    ck_assert_msg(v.outcome == reason_cases[_i].outcome,
                  "reason '%s': outcome %d",
                  reason_cases[_i].type ? reason_cases[_i].type : "(null)",
                  (int)v.outcome);
    ck_assert_int_eq(v.dmarc_fail, 1);
    ck_assert_int_eq(v.would_reject,
                     reason_cases[_i].outcome == SIFT_OUT_WOULD_REJECT);
    ck_assert_int_eq(!!(v.categories & (1u << SIFT_CAT_RECEIVER_OVERRIDE)),
                     reason_cases[_i].outcome == SIFT_OUT_OVERRIDDEN);
}
END_TEST

START_TEST(test_dns_error_wins_over_override)
{
    sift_report_meta m;
    trec t;
    sift_verdict v;

    meta_init(&m);
    rec_init(&t, "example.com", "example.com", "fail", "fail");
    spf(&t, "example.com", NULL, "temperror");
    reason(&t, "forwarded", NULL);
    v = eval(&m, &t);
    ck_assert_int_eq(v.outcome, SIFT_OUT_DNS_ERROR);
    ck_assert_int_eq(v.would_reject, 0);
    ck_assert_str_eq(codes(v.categories),
                     "spf_temperror dkim_none receiver_override");
    /* a pass is a pass, whatever else happened */
    rec_init(&t, "example.com", "example.com", "pass", "fail");
    dkim(&t, "example.com", "pass");
    spf(&t, "example.com", NULL, "temperror");
    v = eval(&m, &t);
    ck_assert_int_eq(v.outcome, SIFT_OUT_PASS);
}
END_TEST

/* --- issue 12: verdict semantics and the decision list ------------------- */

/* A record from a compact description. dkim: "d:result d:result", spf:
 * "d:scope:result" (scope "-" = absent), reason "type:comment" (NULL
 * none); "~" for a NULL pe word. Strings live in the case table. */
typedef struct dcase {
    const char *name;
    const char *p, *sp, *aspf, *adkim;
    const char *from, *env, *pe_dkim, *pe_spf, *disp;
    const char *dkim, *spf, *reason;
    sift_category primary;
    sift_outcome outcome;
} dcase;

static char dbuf[8][256];

static void
build(sift_report_meta *m, trec *t, const dcase *c)
{
    char *tok, *save, *a, *b;
    int nb = 0;

    meta_init(m);
    m->p = c->p;
    m->sp = c->sp;
    m->aspf = c->aspf;
    m->adkim = c->adkim;
    rec_init(t, c->from, c->env, strcmp(c->pe_dkim, "~") ? c->pe_dkim : NULL,
             strcmp(c->pe_spf, "~") ? c->pe_spf : NULL);
    t->r.disposition = c->disp;
    if (c->dkim) {
        snprintf(dbuf[nb], sizeof(dbuf[nb]), "%s", c->dkim);
        for (tok = strtok_r(dbuf[nb], " ", &save); tok;
             tok = strtok_r(NULL, " ", &save)) {
            a = strchr(tok, ':');
            *a = '\0';
            dkim(t, tok, a + 1);
        }
        nb++;
    }
    if (c->spf) {
        snprintf(dbuf[nb], sizeof(dbuf[nb]), "%s", c->spf);
        for (tok = strtok_r(dbuf[nb], " ", &save); tok;
             tok = strtok_r(NULL, " ", &save)) {
            a = strchr(tok, ':');
            *a++ = '\0';
            b = strchr(a, ':');
            *b++ = '\0';
            spf(t, tok, strcmp(a, "-") ? a : NULL, b);
        }
        nb++;
    }
    if (c->reason) {
        snprintf(dbuf[nb], sizeof(dbuf[nb]), "%s", c->reason);
        a = strchr(dbuf[nb], ':');
        if (a)
            *a++ = '\0';
        reason(t, dbuf[nb], a);
    }
}

#define X "example.com"
/* One row per entry of the decision list (docs/report.md), in its order,
 * plus the semantics of issue 12 that change the outcome. */
static const dcase decision_cases[] = {
    {"pass via DKIM", "reject", NULL, NULL, NULL, X, X, "pass", "pass", "none",
     X ":pass", X ":-:pass", NULL, SIFT_CAT_PASS_DKIM_ALIGNED, SIFT_OUT_PASS},
    {"pass via SPF", "reject", NULL, NULL, NULL, X, X, "fail", "pass", "none",
     NULL, X ":-:pass", NULL, SIFT_CAT_PASS_SPF_ALIGNED, SIFT_OUT_PASS},
    {"forwarded, DKIM intact", "reject", NULL, NULL, NULL, X, X, "pass", "fail",
     "none", X ":pass", X ":-:fail", NULL, SIFT_CAT_FORWARDED_DKIM_INTACT,
     SIFT_OUT_PASS},
    {"spf temperror that could align", "reject", NULL, NULL, NULL, X, X, "fail",
     "fail", "none", NULL, X ":-:temperror", NULL, SIFT_CAT_SPF_TEMPERROR,
     SIFT_OUT_DNS_ERROR},
    {"dkim temperror, aligned", "reject", NULL, NULL, NULL, X, X, "fail",
     "fail", "none", X ":temperror", X ":-:fail", NULL, SIFT_CAT_DKIM_TEMPERROR,
     SIFT_OUT_DNS_ERROR},
    /* semantic 4: an SPF temperror for a domain that cannot align */
    {"spf temperror, unaligned", "reject", NULL, NULL, NULL, X,
     "bulk.example.net", "fail", "fail", "none", NULL,
     "bulk.example.net:-:temperror", NULL, SIFT_CAT_UNAUTHENTICATED,
     SIFT_OUT_WOULD_REJECT},
    {"override, disposition none", "reject", NULL, NULL, NULL, X, X, "fail",
     "fail", "none", NULL, X ":-:fail",
     "forwarded:", SIFT_CAT_RECEIVER_OVERRIDE, SIFT_OUT_OVERRIDDEN},
    /* semantic 1: a reason with the policy's own disposition exempts
     * nothing: the mail was rejected */
    {"reason other, disposition reject", "reject", NULL, NULL, NULL, X, X,
     "fail", "fail", "reject", NULL, X ":-:fail", "other:sender not authorized",
     SIFT_CAT_UNAUTHENTICATED, SIFT_OUT_WOULD_REJECT},
    {"reason, quarantine at p=quarantine", "quarantine", NULL, NULL, NULL, X, X,
     "fail", "fail", "quarantine", NULL, X ":-:fail",
     "local_policy:", SIFT_CAT_UNAUTHENTICATED, SIFT_OUT_WOULD_REJECT},
    {"reason, quarantine at p=reject", "reject", NULL, NULL, NULL, X, X, "fail",
     "fail", "quarantine", NULL, X ":-:fail",
     "mailing_list:", SIFT_CAT_RECEIVER_OVERRIDE, SIFT_OUT_OVERRIDDEN},
    {"reason at p=none", "none", NULL, NULL, NULL, X, X, "fail", "fail", "none",
     NULL, X ":-:fail", "local_policy:arc=pass", SIFT_CAT_RECEIVER_OVERRIDE,
     SIFT_OUT_OVERRIDDEN},
    {"subdomain under sp=quarantine", "reject", "quarantine", NULL, NULL,
     "news." X, X, "fail", "fail", "quarantine", NULL, X ":-:fail",
     "forwarded:", SIFT_CAT_UNAUTHENTICATED, SIFT_OUT_WOULD_REJECT},
    {"reporter fail, recomputed pass", "reject", NULL, NULL, NULL, X, X, "fail",
     "fail", "none", X ":pass", X ":-:pass", NULL,
     SIFT_CAT_REPORTER_INCONSISTENT, SIFT_OUT_WOULD_REJECT},
    {"list: own signature broken, list signs", "reject", NULL, NULL, NULL, X,
     "lists.example.org", "fail", "fail", "none",
     X ":fail lists.example.org:pass", "lists.example.org:-:pass", NULL,
     SIFT_CAT_FORWARDED_BOTH_BROKEN, SIFT_OUT_WOULD_REJECT},
    {"SRS envelope, signature broken", "reject", NULL, NULL, NULL, X,
     "SRS0=ab12=CD=example.com=bob@fwd.example.net", "fail", "fail", "none",
     X ":fail", "fwd.example.net:-:softfail", NULL,
     SIFT_CAT_FORWARDED_BOTH_BROKEN, SIFT_OUT_WOULD_REJECT},
    {"ESP with broken own signature", "reject", NULL, NULL, NULL, X,
     "bounces.sendgrid.net", "fail", "fail", "none",
     X ":fail sendgrid.net:pass", "bounces.sendgrid.net:-:pass", NULL,
     SIFT_CAT_DKIM_FAIL, SIFT_OUT_WOULD_REJECT},
    {"own key missing, SPF unaligned pass", "reject", NULL, NULL, NULL, X,
     "bounce.example.net", "fail", "fail", "none", X ":permerror",
     "bounce.example.net:-:pass", NULL, SIFT_CAT_DKIM_PERMERROR,
     SIFT_OUT_WOULD_REJECT},
    {"unconfigured ESP", "reject", NULL, NULL, NULL, X, "bounces.sendgrid.net",
     "fail", "fail", "none", "sendgrid.net:pass", "bounces.sendgrid.net:-:pass",
     NULL, SIFT_CAT_UNCONFIGURED_THIRD_PARTY, SIFT_OUT_WOULD_REJECT},
    {"third-party signer only", "reject", NULL, NULL, NULL, X, X, "fail",
     "fail", "none", "signer.example.net:pass", X ":-:softfail", NULL,
     SIFT_CAT_DKIM_THIRD_PARTY, SIFT_OUT_WOULD_REJECT},
    {"SPF pass, unaligned", "reject", NULL, NULL, NULL, X, "mail.example.net",
     "fail", "fail", "none", NULL, "mail.example.net:-:pass", NULL,
     SIFT_CAT_SPF_NOT_ALIGNED, SIFT_OUT_WOULD_REJECT},
    /* strict alignment: a subdomain return-path does not align */
    {"aspf=s, subdomain return-path", "reject", NULL, "s", NULL, X, "em123." X,
     "fail", "fail", "none", NULL, "em123." X ":-:pass", NULL,
     SIFT_CAT_SPF_NOT_ALIGNED, SIFT_OUT_WOULD_REJECT},
    {"own SPF permerror", "reject", NULL, NULL, NULL, X, X, "fail", "fail",
     "none", NULL, X ":-:permerror", NULL, SIFT_CAT_SPF_PERMERROR,
     SIFT_OUT_WOULD_REJECT},
    {"null reverse-path", "reject", NULL, NULL, NULL, X, "", "fail", "fail",
     "none", NULL, "mx.example.net:helo:fail", NULL, SIFT_CAT_NULL_REVERSE_PATH,
     SIFT_OUT_WOULD_REJECT},
    {"spoofing", "reject", NULL, NULL, NULL, X, X, "fail", "fail", "reject",
     NULL, X ":-:fail", NULL, SIFT_CAT_UNAUTHENTICATED, SIFT_OUT_WOULD_REJECT},
    /* semantic 2: no <dkim>/<spf> in policy_evaluated is not a fail */
    {"pe without dkim/spf, aligned DKIM", "reject", NULL, NULL, NULL, X, X, "~",
     "~", "none", X ":pass", X ":-:pass", NULL, SIFT_CAT_PASS_DKIM_ALIGNED,
     SIFT_OUT_PASS},
    {"pe without dkim/spf, nothing aligned", "reject", NULL, NULL, NULL, X, X,
     "~", "~", "none", NULL, X ":-:fail", NULL, SIFT_CAT_UNAUTHENTICATED,
     SIFT_OUT_WOULD_REJECT},
};
#undef X

START_TEST(test_decision_list)
{
    const dcase *c = &decision_cases[_i];
    sift_report_meta m;
    trec t;
    sift_verdict v;

    build(&m, &t, c);
    v = eval(&m, &t);
    ck_assert_msg(v.primary == c->primary, "%s: primary %s, want %s", c->name,
                  sift_category_code(v.primary),
                  sift_category_code(c->primary));
    ck_assert_msg(v.outcome == c->outcome, "%s: outcome %d, want %d", c->name,
                  (int)v.outcome, (int)c->outcome);
    if (v.dmarc_fail) /* a failing record's primary is in its set */
        ck_assert(v.categories & (1u << v.primary));
    /* the reporter is not "inconsistent" for what it did not report */
    if (strcmp(c->pe_dkim, "~") == 0)
        ck_assert(v.flags & SIFT_FLAG_PE_MISSING);
}
END_TEST

/* semantic 3: several author domains, each aligned by a passing
 * identifier (OpenDMARC writes "pages.example.com, example.com") */
START_TEST(test_multiple_author_domains)
{
    sift_report_meta m;
    trec t;
    sift_verdict v;

    meta_init(&m);
    rec_init(&t, "pages.example.com, example.com", NULL, "pass", "pass");
    dkim(&t, "pages.example.com", "pass");
    dkim(&t, "example.com", "pass");
    spf(&t, "pages.example.com", NULL, "pass");
    spf(&t, "example.com", NULL, "pass");
    m.adkim = m.aspf = "s";
    v = eval(&m, &t);
    ck_assert_uint_eq(v.flags, SIFT_FLAG_MULTI_AUTHOR);
    ck_assert_int_eq(v.dkim_aligned, 1);
    ck_assert_int_eq(v.spf_aligned, 1);
    ck_assert(!(v.categories & (1u << SIFT_CAT_REPORTER_INCONSISTENT)));
    ck_assert_int_eq(v.outcome, SIFT_OUT_PASS);
    /* one author domain without a passing aligned identifier: the
     * recomputation says fail, so a reporter's pass is inconsistent */
    rec_init(&t, "example.com, other.example.net", NULL, "pass", "pass");
    dkim(&t, "example.com", "pass");
    spf(&t, "example.com", NULL, "pass");
    v = eval(&m, &t);
    ck_assert(v.flags & SIFT_FLAG_DMARC_MISMATCH);
    ck_assert(v.flags & SIFT_FLAG_FROM_OUTSIDE_DOMAIN);
    ck_assert_int_eq(v.dkim_aligned, 0);
}
END_TEST

/* --- advice rules (advice.c): one case per row ---------------------------- */

static const sift_sender *
svc(const char *domain)
{
    const sift_sender *x = sift_sender_lookup(domain);
    ck_assert_ptr_nonnull(x);
    return x;
}

typedef struct acase {
    const char *row; /* the rule that must match */
    sift_category cat;
    const char *service_domain; /* looked up in the sender table, or NULL */
    const char *from, *env, *dkim, *ip;
    int aspf_s, adkim_s;
    const char *want[3];     /* substrings the advice must hold */
    const char *unwant[2];   /* and must not */
    sift_sender_label label; /* the owner's configuration */
    int own_net;
} acase;

#define D "example.com"
static const acase advice_cases[] = {
    /* the owner's configuration first */
    {"owner_not_ours",
     SIFT_CAT_UNCONFIGURED_THIRD_PARTY,
     "sendgrid.net",
     D,
     "bounces.sendgrid.net",
     "sendgrid.net",
     "167.89.1.1",
     0,
     0,
     {"not yours", "p=reject blocks it", "do not authorize"},
     {"authenticate the domain", NULL},
     SIFT_LABEL_NOT_OURS,
     0},
    {"owner_forwarder",
     SIFT_CAT_UNAUTHENTICATED,
     NULL,
     D,
     D,
     D,
     "192.0.2.7",
     0,
     0,
     {"a forwarder of yours", "SRS and ARC", NULL},
     {"spoofing", NULL},
     SIFT_LABEL_FORWARDER,
     0},
    {"owner_own_server",
     SIFT_CAT_UNAUTHENTICATED,
     NULL,
     D,
     D,
     NULL,
     "2001:db8::7",
     0,
     0,
     {"your server 2001:db8::7", "add ip6:2001:db8::7 to the SPF record", NULL},
     {"if not", NULL},
     SIFT_LABEL_NONE,
     1},
    {"pass_forwarded",
     SIFT_CAT_FORWARDED_DKIM_INTACT,
     NULL,
     D,
     "fwd.example.net",
     D,
     "192.0.2.1",
     0,
     0,
     {"harmless", NULL, NULL},
     {NULL, NULL},
     SIFT_LABEL_NONE,
     0},
    {"pass",
     SIFT_CAT_PASS_SPF_ALIGNED,
     NULL,
     D,
     D,
     NULL,
     "192.0.2.1",
     0,
     0,
     {"SPF only", "d=example.com", NULL},
     {NULL, NULL},
     SIFT_LABEL_NONE,
     0},
    {"dns_spf",
     SIFT_CAT_SPF_TEMPERROR,
     NULL,
     D,
     "bounce." D,
     NULL,
     "192.0.2.1",
     0,
     0,
     {"SPF record of bounce.example.com", NULL, NULL},
     {NULL, NULL},
     SIFT_LABEL_NONE,
     0},
    {"dns_dkim",
     SIFT_CAT_DKIM_TEMPERROR,
     NULL,
     D,
     D,
     "mail." D,
     "192.0.2.1",
     0,
     0,
     {"DKIM key of d=mail.example.com", NULL, NULL},
     {NULL, NULL},
     SIFT_LABEL_NONE,
     0},
    {"override",
     SIFT_CAT_RECEIVER_OVERRIDE,
     NULL,
     D,
     "lists.example.org",
     D,
     "192.0.2.1",
     0,
     0,
     {"nothing to fix at the source", NULL, NULL},
     {NULL, NULL},
     SIFT_LABEL_NONE,
     0},
    {"list",
     SIFT_CAT_FORWARDED_BOTH_BROKEN,
     NULL,
     D,
     "lists.example.org",
     "news." D,
     "192.0.2.1",
     0,
     0,
     {"d=news.example.com broke", "ARC", NULL},
     {"lists.example.org", NULL},
     SIFT_LABEL_NONE,
     0},
    {"inconsistent",
     SIFT_CAT_REPORTER_INCONSISTENT,
     NULL,
     D,
     D,
     D,
     "192.0.2.1",
     0,
     0,
     {"nothing to fix on your side", NULL, NULL},
     {"authorize", NULL},
     SIFT_LABEL_NONE,
     0},
    /* a DKIM failure fix only for a d= that aligns with From */
    {"dkim_broken",
     SIFT_CAT_DKIM_FAIL,
     "sendgrid.net",
     D,
     "bounces.sendgrid.net",
     D,
     "192.0.2.1",
     0,
     0,
     {"SendGrid: ", "d=example.com does not verify", NULL},
     {NULL, NULL},
     SIFT_LABEL_NONE,
     0},
    {"dkim_broken",
     SIFT_CAT_DKIM_PERMERROR,
     NULL,
     D,
     "bounce.example.net",
     "mail." D,
     "192.0.2.1",
     0,
     0,
     {"d=mail.example.com is missing", NULL, NULL},
     {NULL, NULL},
     SIFT_LABEL_NONE,
     0},
    {"unknown_sender",
     SIFT_CAT_DKIM_FAIL,
     NULL,
     D,
     "bounce.example.net",
     "other.example.net",
     "192.0.2.1",
     0,
     0,
     {"if this service is yours", "if not, p=reject blocks it", NULL},
     {"does not verify", NULL},
     SIFT_LABEL_NONE,
     0},
    /* Microsoft 365 / Google Workspace: their include does align */
    {"service_own_mailfrom",
     SIFT_CAT_DKIM_THIRD_PARTY,
     "onmicrosoft.com",
     D,
     D,
     "contoso.onmicrosoft.com",
     "40.107.1.1",
     0,
     0,
     {"add include:spf.protection.outlook.com to the SPF record of example.com",
      "so it aligns", NULL},
     {"return-path", NULL},
     SIFT_LABEL_NONE,
     0},
    {"service_own_mailfrom",
     SIFT_CAT_DKIM_THIRD_PARTY,
     "gappssmtp.com",
     D,
     D,
     "example-com.20230601.gappssmtp.com",
     "209.85.1.1",
     0,
     0,
     {"Google Admin console", "include:_spf.google.com", NULL},
     {NULL, NULL},
     SIFT_LABEL_NONE,
     0},
    /* Mailchimp: no custom return-path */
    {"service_mailchimp",
     SIFT_CAT_UNCONFIGURED_THIRD_PARTY,
     "mcsv.net",
     D,
     "mail198.atl121.mcsv.net",
     "mcsv.net",
     "198.2.1.1",
     0,
     0,
     {"no custom return-path", "DKIM d=example.com is the only way", NULL},
     {"include:servers.mcsv.net to", NULL},
     SIFT_LABEL_NONE,
     0},
    /* SendGrid / Postmark: the return-path is a CNAME to the vendor */
    {"service_cname_return_path",
     SIFT_CAT_UNCONFIGURED_THIRD_PARTY,
     "sendgrid.net",
     D,
     "bounces.sendgrid.net",
     "sendgrid.net",
     "167.89.1.1",
     0,
     0,
     {"CNAME under example.com", "does nothing", NULL},
     {NULL, NULL},
     SIFT_LABEL_NONE,
     0},
    {"service_cname_return_path",
     SIFT_CAT_SPF_NOT_ALIGNED,
     "sendgrid.net",
     D,
     "em2295." D,
     NULL,
     "167.89.1.1",
     1,
     0,
     {"with aspf=s the return-path em2295.example.com does not align", "aspf=r",
      NULL},
     {"use a custom return-path", NULL},
     SIFT_LABEL_NONE,
     0},
    {"service_cname_return_path",
     SIFT_CAT_UNCONFIGURED_THIRD_PARTY,
     "postmarkapp.com",
     D,
     "pm-bounces.postmarkapp.com",
     "pm.mtasv.net",
     "50.31.1.1",
     0,
     0,
     {"Postmark: ", "does nothing", NULL},
     {NULL, NULL},
     SIFT_LABEL_NONE,
     0},
    /* SES: the include goes into the custom MAIL FROM subdomain */
    {"service_ses",
     SIFT_CAT_UNCONFIGURED_THIRD_PARTY,
     "amazonses.com",
     D,
     "us-east-1.amazonses.com",
     "amazonses.com",
     "54.240.1.1",
     0,
     0,
     {"custom MAIL FROM subdomain", "include:amazonses.com",
      "in the SPF of example.com does nothing"},
     {NULL, NULL},
     SIFT_LABEL_NONE,
     0},
    {"service",
     SIFT_CAT_DKIM_THIRD_PARTY,
     "zendesk.com",
     D,
     D,
     "zendesk.com",
     "192.161.1.1",
     0,
     0,
     {"Zendesk: ", NULL, NULL},
     {NULL, NULL},
     SIFT_LABEL_NONE,
     0},
    /* strict alignment: the identifier must equal From */
    {"strict_alignment",
     SIFT_CAT_SPF_NOT_ALIGNED,
     NULL,
     D,
     "bounce." D,
     NULL,
     "192.0.2.1",
     1,
     0,
     {"aspf=s requires exactly example.com", "aspf=r", NULL},
     {"not aligned with", NULL},
     SIFT_LABEL_NONE,
     0},
    {"strict_alignment",
     SIFT_CAT_DKIM_THIRD_PARTY,
     NULL,
     D,
     "bounce.example.net",
     "mail." D,
     "192.0.2.1",
     0,
     1,
     {"adkim=s requires exactly d=example.com", NULL, NULL},
     {NULL, NULL},
     SIFT_LABEL_NONE,
     0},
    /* an unknown signer: both ways, never "authorize" it outright */
    {"unknown_sender",
     SIFT_CAT_DKIM_THIRD_PARTY,
     NULL,
     D,
     D,
     "bulk-mailer.example",
     "198.51.100.7",
     0,
     0,
     {"unknown sender bulk-mailer.example", "if this service is yours",
      "if not, p=reject blocks it"},
     {NULL, NULL},
     SIFT_LABEL_NONE,
     0},
    {"spf_permerror",
     SIFT_CAT_SPF_PERMERROR,
     NULL,
     D,
     "mail." D,
     NULL,
     "192.0.2.1",
     0,
     0,
     {"SPF record of mail.example.com", NULL, NULL},
     {NULL, NULL},
     SIFT_LABEL_NONE,
     0},
    /* a null reverse-path: HELO SPF or DKIM, never a return-path */
    {"null_reverse_path",
     SIFT_CAT_NULL_REVERSE_PATH,
     NULL,
     D,
     "",
     NULL,
     "2001:db8::25",
     0,
     0,
     {"HELO name", "ip6:2001:db8::25", "DKIM"},
     {"return-path under", NULL},
     SIFT_LABEL_NONE,
     0},
    /* SPF advice names the envelope domain's record and ip4:/ip6: */
    {"unauthenticated",
     SIFT_CAT_UNAUTHENTICATED,
     NULL,
     D,
     "bounce." D,
     NULL,
     "203.0.113.9",
     0,
     0,
     {"add ip4:203.0.113.9 to the SPF record of bounce.example.com",
      "if not, it is spoofing", NULL},
     {"ip4:/ip6:", NULL},
     SIFT_LABEL_NONE,
     0},
    {"unauthenticated",
     SIFT_CAT_UNAUTHENTICATED,
     NULL,
     D,
     D,
     D,
     "2001:db8::9",
     0,
     0,
     {"ip6:2001:db8::9", "check the DKIM key of d=example.com", NULL},
     {"nothing to fix", NULL},
     SIFT_LABEL_NONE,
     0},
};
#undef D

START_TEST(test_advice_rows)
{
    const acase *a = &advice_cases[_i];
    sift_advice_in in;
    char buf[1024];
    const char *row;
    int k;

    memset(&in, 0, sizeof(in));
    in.cat = a->cat;
    in.kind = a->service_domain ? SIFT_KIND_SERVICE : SIFT_KIND_UNKNOWN;
    in.service = a->service_domain ? svc(a->service_domain) : NULL;
    in.domain = "example.com";
    in.from = a->from;
    in.env = a->env;
    in.dkim = a->dkim;
    in.ip = a->ip;
    in.aspf_strict = a->aspf_s;
    in.adkim_strict = a->adkim_s;
    in.label = a->label;
    in.own_net = a->own_net;
    row = sift_advice(buf, sizeof(buf), &in);
    ck_assert_msg(strcmp(row, a->row) == 0, "case %d: row %s, want %s: %s", _i,
                  row, a->row, buf);
    for (k = 0; k < 3 && a->want[k]; k++)
        ck_assert_msg(strstr(buf, a->want[k]) != NULL,
                      "case %d (%s): no '%s' in: %s", _i, row, a->want[k], buf);
    for (k = 0; k < 2 && a->unwant[k]; k++)
        ck_assert_msg(strstr(buf, a->unwant[k]) == NULL,
                      "case %d (%s): '%s' in: %s", _i, row, a->unwant[k], buf);
}
END_TEST

/* Every row of the table has a case above. */
START_TEST(test_advice_rows_covered)
{
    static const char *const ids[] = {"pass_forwarded",
                                      "pass",
                                      "dns_spf",
                                      "dns_dkim",
                                      "override",
                                      "list",
                                      "inconsistent",
                                      "dkim_broken",
                                      "service_own_mailfrom",
                                      "service_mailchimp",
                                      "service_cname_return_path",
                                      "service_ses",
                                      "service",
                                      "strict_alignment",
                                      "unknown_sender",
                                      "spf_permerror",
                                      "null_reverse_path",
                                      "unauthenticated"};
    size_t i, j;

    for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        for (j = 0; j < sizeof(advice_cases) / sizeof(advice_cases[0]); j++)
            if (strcmp(advice_cases[j].row, ids[i]) == 0)
                break;
        ck_assert_msg(j < sizeof(advice_cases) / sizeof(advice_cases[0]),
                      "row %s has no test case", ids[i]);
    }
}
END_TEST

/* --- names and senders --------------------------------------------------- */

START_TEST(test_category_codes)
{
    static const char *const want[SIFT_CAT__COUNT] = {
        "pass_dkim_aligned",
        "pass_spf_aligned",
        "spf_not_aligned",
        "spf_softfail",
        "spf_fail",
        "spf_neutral",
        "spf_none",
        "spf_temperror",
        "spf_permerror",
        "spf_policy",
        "spf_missing",
        "null_reverse_path",
        "dkim_none",
        "dkim_third_party",
        "dkim_fail",
        "dkim_temperror",
        "dkim_permerror",
        "dkim_not_acceptable",
        "forwarded_dkim_intact",
        "forwarded_both_broken",
        "receiver_override",
        "unauthenticated",
        "unconfigured_third_party",
        "reporter_inconsistent",
        "ambiguous_sp_np",
        "testing_or_sampling"};
    int i;

    for (i = 0; i < SIFT_CAT__COUNT; i++) {
        ck_assert_str_eq(sift_category_code((sift_category)i), want[i]);
        ck_assert_ptr_nonnull(sift_category_text((sift_category)i));
    }
    ck_assert_str_eq(sift_category_code(SIFT_CAT__COUNT), "unknown");
}
END_TEST

START_TEST(test_sender_lookup)
{
    const sift_sender *s;
    size_t n;

    s = sift_sender_lookup("amazonses.com");
    ck_assert_ptr_nonnull(s);
    ck_assert_str_eq(s->name, "Amazon SES");
    ck_assert_str_eq(s->spf_include, "include:amazonses.com");
    s = sift_sender_lookup("eu-west-1.AmazonSES.com.");
    ck_assert_str_eq(s->name, "Amazon SES");
    ck_assert_str_eq(sift_sender_lookup("em1234.sendgrid.net")->name,
                     "SendGrid");
    ck_assert_str_eq(sift_sender_lookup("mail186.atl121.mcsv.net")->name,
                     "Mailchimp");
    ck_assert_str_eq(sift_sender_lookup("rsgsv.net")->spf_include,
                     "include:servers.mcsv.net");
    ck_assert_str_eq(
        sift_sender_lookup("eur.protection.outlook.com")->spf_include,
        "include:spf.protection.outlook.com");
    ck_assert_str_eq(sift_sender_lookup("contoso.onmicrosoft.com")->name,
                     "Microsoft 365");
    ck_assert_str_eq(sift_sender_lookup("google.com")->spf_include,
                     "include:_spf.google.com");
    ck_assert_str_eq(sift_sender_lookup("mailgun.org")->spf_include,
                     "include:mailgun.org");
    /* label boundary: notsendgrid.net is not SendGrid */
    ck_assert_ptr_null(sift_sender_lookup("notsendgrid.net"));
    ck_assert_ptr_null(sift_sender_lookup("sendgrid.net.evil.example"));
    ck_assert_ptr_null(sift_sender_lookup("example.com"));
    ck_assert_ptr_null(sift_sender_lookup(""));
    ck_assert_ptr_null(sift_sender_lookup(NULL));
    sift_sender_table(&n);
    ck_assert_uint_ge(n, 25);
}
END_TEST

/* --- golden outputs over a populated store -------------------------------- */

/* The data set, and what the report must say about it (hand computation).
 *
 * Report A: google.com "a1", example.com, 2023-11-15 (1700006400 ..
 *   1700092799), p=none pct=100.
 *   A1 192.0.2.10     x100 DKIM+SPF example.com pass, pe pass/pass: PASS
 *   A2 198.51.100.5   x40  SendGrid d=sendgrid.net, envelope
 *                          bounces.sendgrid.net, pe fail/fail: WOULD_REJECT
 *                          (spf_not_aligned dkim_third_party
 *                          unconfigured_third_party)
 *   A3 203.0.113.7    x7   SPF example.com softfail, no DKIM: WOULD_REJECT
 *                          (spf_softfail dkim_none unauthenticated)
 *   A4 209.85.220.41  x12  DKIM example.com pass, SPF example.com fail,
 *                          pe pass/fail: PASS (forwarded_dkim_intact)
 *   A5 192.0.2.99     x5   list: d=example.com fail, d=list.example.org
 *                          pass, SPF list.example.org pass; reason
 *                          local_policy "arc=pass": OVERRIDDEN
 * Report B: "Yahoo! Inc." "b1", example.com, 2023-11-16 (1700092800 ..
 *   1700179199), p=quarantine sp=none pct=50 (so testing_or_sampling on
 *   every record; this is the most recent report: the published policy).
 *   B1 198.51.100.5   x10  as A2: WOULD_REJECT
 *   B2 203.0.113.8    x3   SPF example.com temperror: DNS_ERROR
 *   B3 192.0.2.10     x20  pe dkim=pass spf=pass, but the only DKIM pass is
 *                          d=example.net (unaligned): DKIM mismatch, PASS
 * Report C: "Mail.ru" "c1", example.org, 2023-11-15, p=reject.
 *   C1 2001:db8::1    x1000 SPF example.org fail, no DKIM: WOULD_REJECT
 *   C2 2001:db8::2    x1    SPF example.org pass: PASS
 *
 * example.com, sources by would_reject desc, messages desc, ip:
 *   198.51.100.5   messages 50  fail 50  would_reject 50  (SendGrid)
 *   203.0.113.7    messages 7   fail 7   would_reject 7
 *   192.0.2.10     messages 120 fail 0   would_reject 0
 *   209.85.220.41  messages 12  fail 0   would_reject 0
 *   192.0.2.99     messages 5   fail 5   would_reject 0 (exempted)
 *   203.0.113.8    messages 3   fail 3   would_reject 0 (dns error)
 *   messages 197, fail 65, pass 132 (67.0%), would_reject 57 (28.9%) from
 *   2 sources; exempted 5 (local_policy 5); dns errors 3;
 *   inconsistencies 20 (B3).
 * example.org: 2001:db8::1 1000/1000/1000, 2001:db8::2 1/0/0; messages
 *   1001, fail 1000, pass 1 (0.1%), would_reject 1000 (99.9%) from 1.
 * Totals: messages 1198, dmarc_fail 1065, would_reject 1057. */

static void
store_report(sift_store *st, const sift_report_meta *m, trec *const *recs,
             size_t n)
{
    sift_verdict v;
    sift_err err;
    sift_stored dup;
    sift_hash128 h = {0, 42};
    size_t i;

    sift_err_clear(&err);
    ck_assert_msg(sift_store_begin(st, &dup, m, "test", &err) == SIFT_OK,
                  "begin: %s", err.msg);
    for (i = 0; i < n; i++) {
        recs[i]->r.line = (unsigned long)(10 + i);
        sift_eval_record(&v, ev, m, &recs[i]->r);
        ck_assert_msg(sift_store_add(st, &recs[i]->r, &v, &err) == SIFT_OK,
                      "add: %s", err.msg);
    }
    ck_assert_msg(sift_store_commit(st, m, h, &err) == SIFT_OK, "commit: %s",
                  err.msg);
}

static void
populate(sift_store *st)
{
    sift_report_meta a, b, c;
    trec a1, a2, a3, a4, a5, b1, b2, b3, c1, c2;

    meta_init(&a);
    a.org_name = "google.com";
    a.report_id = "a1";
    a.begin = 1700006400;
    a.end = 1700092799;
    a.p = "none";
    a.pct = 100;
    rec_init(&a1, "example.com", "example.com", "pass", "pass");
    a1.r.source_ip = "192.0.2.10";
    a1.r.count = 100;
    dkim(&a1, "example.com", "pass");
    spf(&a1, "example.com", "mfrom", "pass");
    rec_init(&a2, "example.com", "bounces.sendgrid.net", "fail", "fail");
    a2.r.source_ip = "198.51.100.5";
    a2.r.count = 40;
    dkim(&a2, "sendgrid.net", "pass");
    spf(&a2, "bounces.sendgrid.net", "mfrom", "pass");
    rec_init(&a3, "example.com", "example.com", "fail", "fail");
    a3.r.source_ip = "203.0.113.7";
    a3.r.count = 7;
    spf(&a3, "example.com", "mfrom", "softfail");
    rec_init(&a4, "example.com", "example.com", "pass", "fail");
    a4.r.source_ip = "209.85.220.41";
    a4.r.count = 12;
    dkim(&a4, "example.com", "pass");
    spf(&a4, "example.com", "mfrom", "fail");
    rec_init(&a5, "example.com", "list.example.org", "fail", "fail");
    a5.r.source_ip = "192.0.2.99";
    a5.r.count = 5;
    dkim(&a5, "example.com", "fail");
    dkim(&a5, "list.example.org", "pass");
    spf(&a5, "list.example.org", "mfrom", "pass");
    reason(&a5, "local_policy", "arc=pass");
    {
        trec *const recs[] = {&a1, &a2, &a3, &a4, &a5};
        store_report(st, &a, recs, 5);
    }

    meta_init(&b);
    b.org_name = "Yahoo! Inc.";
    b.report_id = "b1";
    b.begin = 1700092800;
    b.end = 1700179199;
    b.p = "quarantine";
    b.sp = "none";
    b.np = "reject";
    b.testing = "n";
    b.pct = 50;
    b1 = a2;
    b1.r.dkim_results = b1.dk;
    b1.r.spf_results = b1.sp;
    b1.r.reasons = b1.rs;
    b1.r.count = 10;
    rec_init(&b2, "example.com", "example.com", "fail", "fail");
    b2.r.source_ip = "203.0.113.8";
    b2.r.count = 3;
    spf(&b2, "example.com", "mfrom", "temperror");
    rec_init(&b3, "example.com", "example.com", "pass", "pass");
    b3.r.source_ip = "192.0.2.10";
    b3.r.count = 20;
    dkim(&b3, "example.net", "pass");
    spf(&b3, "example.com", "mfrom", "pass");
    {
        trec *const recs[] = {&b1, &b2, &b3};
        store_report(st, &b, recs, 3);
    }

    meta_init(&c);
    c.org_name = "Mail.ru";
    c.report_id = "c1";
    c.begin = 1700006400;
    c.end = 1700092799;
    c.domain = "example.org";
    rec_init(&c1, "example.org", "example.org", "fail", "fail");
    c1.r.source_ip = "2001:db8::1";
    c1.r.count = 1000;
    spf(&c1, "example.org", "mfrom", "fail");
    rec_init(&c2, "example.org", "example.org", "fail", "pass");
    c2.r.source_ip = "2001:db8::2";
    c2.r.count = 1;
    spf(&c2, "example.org", "mfrom", "pass");
    {
        trec *const recs[] = {&c1, &c2};
        store_report(st, &c, recs, 2);
    }
}

static char *dir;
static sift_store *st;

static void
store_setup(void)
{
    char path[4096];
    sift_err err;

    ev_setup();
    dir = sandbox();
    ck_assert_ptr_nonnull(dir);
    snprintf(path, sizeof(path), "%s/t.db", dir);
    sift_err_clear(&err);
    ck_assert_msg(sift_store_open(&st, path, 0, &err) == SIFT_OK, "open: %s",
                  err.msg);
}

static void
store_teardown(void)
{
    sift_store_close(st);
    st = NULL;
    rm_rf(dir);
    free(dir);
    dir = NULL;
    ev_teardown();
}

/* The digest's options in tests: defaults, a fixed generation time. */
static sift_report_opts ropts = {
    SIFT_REPORT_TOP_DEFAULT, 0, 0, 1700600000, NULL, 0, 0, 0};

/* Render into memory. */
static char *
render(int export, sift_format fmt, const sift_filter *f, sift_report_totals *t,
       int want_rc, sift_err *err)
{
    char *buf = NULL;
    size_t n = 0;
    FILE *fp = open_memstream(&buf, &n);
    int rc;

    ck_assert_ptr_nonnull(fp);
    sift_err_clear(err);
    rc = export ? sift_export_write(fp, st, f, fmt, err)
                : sift_report_write(fp, t, st, f, &ropts, fmt, err);
    fclose(fp);
    ck_assert_msg(rc == want_rc, "rc %d: %s", rc, err->msg);
    return buf;
}

/* Compare with fixtures/report/<name>; with SIFT_REPORT_DUMP set, also
 * write what we got to $SIFT_REPORT_DUMP/<name> to review a change. */
static void
golden(const char *name, const char *got)
{
    char *want = slurp(fixture(name), NULL);
    const char *dump = getenv("SIFT_REPORT_DUMP");

    if (dump != NULL) {
        char path[4096];
        const char *base = strrchr(name, '/');
        snprintf(path, sizeof(path), "%s/%s", dump, base ? base + 1 : name);
        spit(path, got, strlen(got));
    }
    ck_assert_msg(want != NULL, "missing fixture %s", name);
    ck_assert_msg(strcmp(want, got) == 0, "%s differs from the output:\n%s",
                  name, got);
    free(want);
}

START_TEST(test_report_text_golden)
{
    sift_report_totals t;
    sift_err err;
    char *out;

    populate(st);
    out = render(0, SIFT_FMT_TEXT, NULL, &t, SIFT_OK, &err);
    golden("report/expected.txt", out);
    ck_assert_uint_eq(t.messages, 1198);
    ck_assert_uint_eq(t.dmarc_fail, 1065);
    ck_assert_uint_eq(t.would_reject, 1057);
    free(out);
}
END_TEST

/* Where the JSON object of source `ip` starts. */
static const char *
src_at(const char *json, const char *ip)
{
    char key[128];

    snprintf(key, sizeof(key), "{\"source_ip\": \"%s\", \"sender\"", ip);
    return strstr(json, key);
}

/* The owner's configuration ([owner] network, [senders] labels) decides
 * what a sender is and how it is advised. */
START_TEST(test_owner_knowledge)
{
    static const sift_ipnet own[] = {{4, {203, 0, 113, 0}, 24}};
    static const sift_owner_sender snd[] = {
        {"2001:db8::1",
         1,
         {6, {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 128},
         SIFT_LABEL_NOT_OURS},
        {"list.example.org", 0, {0, {0}, 0}, SIFT_LABEL_FORWARDER}};
    const sift_owner_knowledge k = {own, 1, snd, 2};
    sift_report_opts o = ropts;
    sift_report_totals t;
    sift_err err;
    char *buf = NULL;
    size_t n = 0;
    FILE *fp;

    populate(st);
    o.owner = &k;
    ck_assert_ptr_nonnull(fp = open_memstream(&buf, &n));
    sift_err_clear(&err);
    ck_assert_int_eq(
        sift_report_write(fp, &t, st, NULL, &o, SIFT_FMT_JSON, &err), SIFT_OK);
    fclose(fp);
    /* 203.0.113.7 (unauthenticated by the reports) is in an own network */
    ck_assert_msg(strstr(buf, "{\"name\": \"own servers\", \"kind\": \"own\", "
                              "\"messages\": 130,") != NULL,
                  "%s", buf);
    ck_assert_msg(strstr(buf, "your server 203.0.113.7 (your configuration "
                              "says so) is not authorized: add "
                              "ip4:203.0.113.7 to the SPF record of "
                              "example.com") != NULL,
                  "%s", buf);
    /* 2001:db8::1 is labelled not-ours: spoofing, never "authorize" */
    ck_assert_msg(strstr(buf, "{\"name\": \"2001:db8::1\", \"kind\": "
                              "\"unauthenticated\"") != NULL,
                  "%s", buf);
    ck_assert_msg(strstr(buf,
                         "not yours (your configuration says so): mail "
                         "from 2001:db8::1 as example.org is spoofing") != NULL,
                  "%s", buf);
    /* the list by its envelope domain: a forwarder of the owner's */
    ck_assert_msg(strstr(buf, "{\"name\": \"list.example.org\", \"kind\": "
                              "\"forwarder\"") != NULL,
                  "%s", buf);
    ck_assert_uint_eq(t.would_reject, 1057); /* verdicts do not change */
    free(buf);
}
END_TEST

START_TEST(test_report_json_golden)
{
    sift_report_totals t;
    sift_err err;
    char *out;

    populate(st);
    out = render(0, SIFT_FMT_JSON, NULL, &t, SIFT_OK, &err);
    golden("report/expected.json", out);
    /* the hand computation, per domain and per source */
    ck_assert_ptr_nonnull(strstr(out, "\"domain\": \"example.com\""));
    ck_assert_ptr_nonnull(strstr(
        out, "\"messages\": 197,\n      \"dmarc_pass\": 132,\n"
             "      \"dmarc_pass_rate\": 67.0,\n      \"dmarc_fail\": 65,\n"
             "      \"would_reject\": 57,\n      \"would_reject_rate\": 28.9,\n"
             "      \"would_reject_sources\": 2"));
    ck_assert_ptr_nonnull(strstr(
        out,
        "\"messages\": 1001,\n      \"dmarc_pass\": 1,\n"
        "      \"dmarc_pass_rate\": 0.1,\n      \"dmarc_fail\": 1000,\n"
        "      \"would_reject\": 1000,\n      \"would_reject_rate\": 99.9,\n"
        "      \"would_reject_sources\": 1"));
    ck_assert_ptr_nonnull(strstr(
        out, "\"source_ip\": \"198.51.100.5\", \"sender\": \"SendGrid\", "
             "\"messages\": 50, \"dmarc_fail\": 50, \"would_reject\": 50"));
    ck_assert_ptr_nonnull(
        strstr(out, "\"source_ip\": \"203.0.113.7\", \"sender\": null, "
                    "\"messages\": 7, \"dmarc_fail\": 7, \"would_reject\": 7"));
    ck_assert_ptr_nonnull(strstr(
        out, "\"source_ip\": \"192.0.2.10\", \"sender\": null, "
             "\"messages\": 120, \"dmarc_fail\": 0, \"would_reject\": 0"));
    ck_assert_ptr_nonnull(
        strstr(out, "\"source_ip\": \"192.0.2.99\", \"sender\": null, "
                    "\"messages\": 5, \"dmarc_fail\": 5, \"would_reject\": 0, "
                    "\"exempted\": 5"));
    ck_assert_ptr_nonnull(
        strstr(out, "\"source_ip\": \"203.0.113.8\", \"sender\": null, "
                    "\"messages\": 3, \"dmarc_fail\": 3, \"would_reject\": 0, "
                    "\"exempted\": 0, \"dns_errors\": 3"));
    ck_assert_ptr_nonnull(strstr(
        out,
        "\"source_ip\": \"2001:db8::1\", \"sender\": null, "
        "\"messages\": 1000, \"dmarc_fail\": 1000, \"would_reject\": 1000"));
    ck_assert_ptr_nonnull(
        strstr(out, "\"exempted\": {\"messages\": 5, \"by_reason\": "
                    "{\"local_policy\": 5}}"));
    /* sources are ordered: would_reject desc, messages desc, ip */
    ck_assert_ptr_nonnull(src_at(out, "198.51.100.5"));
    ck_assert(src_at(out, "198.51.100.5") < src_at(out, "203.0.113.7"));
    ck_assert(src_at(out, "203.0.113.7") < src_at(out, "192.0.2.10"));
    ck_assert(src_at(out, "209.85.220.41") < src_at(out, "192.0.2.99"));
    ck_assert_uint_eq(t.would_reject, 1057);
    free(out);
}
END_TEST

START_TEST(test_report_csv_golden)
{
    sift_err err;
    char *out;

    populate(st);
    out = render(0, SIFT_FMT_CSV, NULL, NULL, SIFT_OK, &err);
    golden("report/expected.csv", out);
    free(out);
}
END_TEST

START_TEST(test_report_filters)
{
    sift_report_totals t;
    sift_filter f;
    sift_err err;
    char *out;

    populate(st);
    memset(&f, 0, sizeof(f));
    f.domains = (const char *const[]){"EXAMPLE.ORG"};
    f.ndomains = 1;
    out = render(0, SIFT_FMT_JSON, &f, &t, SIFT_OK, &err);
    ck_assert_uint_eq(t.messages, 1001);
    ck_assert_uint_eq(t.dmarc_fail, 1000);
    ck_assert_uint_eq(t.would_reject, 1000);
    ck_assert_ptr_null(strstr(out, "example.com"));
    free(out);

    /* a list means any of them (repeated --domain / --reporter) */
    {
        sift_report_totals all;
        out = render(0, SIFT_FMT_JSON, NULL, &all, SIFT_OK, &err);
        free(out);
        memset(&f, 0, sizeof(f));
        f.domains = (const char *const[]){"example.org", "nothing.example"};
        f.ndomains = 2;
        out = render(0, SIFT_FMT_JSON, &f, &t, SIFT_OK, &err);
        ck_assert_uint_eq(t.messages, 1001);
        free(out);
        f.domains = (const char *const[]){"example.org", "Example.COM"};
        out = render(0, SIFT_FMT_JSON, &f, &t, SIFT_OK, &err);
        ck_assert_uint_eq(t.messages, all.messages);
        ck_assert_uint_eq(t.would_reject, all.would_reject);
        ck_assert_uint_gt(all.messages, 1001);
        free(out);
        memset(&f, 0, sizeof(f));
        f.reporters = (const char *const[]){"google.com", "mail.ru"};
        f.nreporters = 2;
        out = render(0, SIFT_FMT_JSON, &f, &t, SIFT_OK, &err);
        ck_assert_uint_gt(t.messages, 164);
        ck_assert_uint_lt(t.messages, all.messages);
        free(out);
    }

    memset(&f, 0, sizeof(f));
    f.reporters = (const char *const[]){"google.com"};
    f.nreporters = 1;
    out = render(0, SIFT_FMT_TEXT, &f, &t, SIFT_OK, &err);
    ck_assert_uint_eq(t.messages, 164); /* A: 100+40+7+12+5 */
    ck_assert_uint_eq(t.dmarc_fail, 52);
    ck_assert_uint_eq(t.would_reject, 47);
    free(out);

    /* since 2023-11-16: only report B overlaps */
    memset(&f, 0, sizeof(f));
    f.since = 1700092800;
    f.has_since = 1;
    out = render(0, SIFT_FMT_CSV, &f, &t, SIFT_OK, &err);
    ck_assert_uint_eq(t.messages, 33);
    ck_assert_uint_eq(t.dmarc_fail, 13);
    ck_assert_uint_eq(t.would_reject, 10);
    free(out);

    /* until 2023-11-16: reports A and C */
    f.has_since = 0;
    f.until = 1700092800;
    f.has_until = 1;
    out = render(0, SIFT_FMT_TEXT, &f, &t, SIFT_OK, &err);
    ck_assert_uint_eq(t.messages, 1165);
    ck_assert_uint_eq(t.would_reject, 1047);
    free(out);

    /* nothing matches */
    memset(&f, 0, sizeof(f));
    f.domains = (const char *const[]){"nothing.example"};
    f.ndomains = 1;
    out = render(0, SIFT_FMT_TEXT, &f, &t, SIFT_OK, &err);
    ck_assert_str_eq(out, "dmarcsift report: 0 domains, 0 messages, 0 would "
                          "be rejected under p=reject\n"
                          "Period: none (no reports); filters: "
                          "domain=nothing.example; generated\n"
                          "  2023-11-21T20:53:20Z\n"
                          "no records match\n");
    ck_assert_uint_eq(t.messages, 0);
    free(out);
    out = render(0, SIFT_FMT_JSON, &f, &t, SIFT_OK, &err);
    ck_assert_msg(strstr(out, "\"period\": {\"from\": null, \"to\": null}, "
                              "\"filters\": {\"domains\": "
                              "[\"nothing.example\"],") != NULL,
                  "%s", out);
    ck_assert_msg(strstr(out, "\n  \"messages\": 0,\n  \"dmarc_fail\": 0,\n"
                              "  \"would_reject\": 0,\n  \"domains\": [],\n"
                              "  \"saturated\": false\n}\n") != NULL,
                  "%s", out);
    free(out);
}
END_TEST

/* The inconsistency count covers the same records as the
 * reporter_inconsistent category: a From outside the policy domain too. */
START_TEST(test_inconsistency_count_matches_category)
{
    sift_report_meta m;
    trec r1;
    trec *const recs[] = {&r1};
    sift_report_totals t;
    sift_err err;
    char *out;

    meta_init(&m);
    rec_init(&r1, "elsewhere.example", "elsewhere.example", "pass", "pass");
    r1.r.count = 4;
    dkim(&r1, "elsewhere.example", "pass");
    spf(&r1, "elsewhere.example", "mfrom", "pass");
    store_report(st, &m, recs, 1);
    out = render(0, SIFT_FMT_JSON, NULL, &t, SIFT_OK, &err);
    ck_assert_msg(strstr(out, "\"reporter_inconsistent\"") != NULL, "%s", out);
    ck_assert_msg(strstr(out, "\"inconsistent\": 4,") != NULL, "%s", out);
    ck_assert_msg(strstr(out, "\"inconsistencies\": {\"messages\": 4,") != NULL,
                  "%s", out);
    free(out);
}
END_TEST

/* Advice names each domain once, and the signature that broke by what it
 * was aligned with. */
START_TEST(test_advice_wording)
{
    sift_report_meta m;
    trec r1, r2;
    trec *const recs[] = {&r1, &r2};
    sift_report_totals t;
    sift_err err;
    char *out;

    meta_init(&m);
    rec_init(&r1, "example.com", "example.com", "fail", "fail");
    r1.r.source_ip = "192.0.2.1";
    dkim(&r1, "example.com", "temperror");
    spf(&r1, "example.com", "mfrom", "temperror");
    rec_init(&r2, "example.com", "list.example.org", "fail", "fail");
    r2.r.source_ip = "192.0.2.2";
    dkim(&r2, "mail.example.com", "fail");
    dkim(&r2, "list.example.org", "pass");
    spf(&r2, "list.example.org", "mfrom", "pass");
    store_report(st, &m, recs, 2);
    out = render(0, SIFT_FMT_CSV, NULL, &t, SIFT_OK, &err);
    ck_assert_msg(strstr(out, "looking up the SPF record of example.com: check "
                              "that its DNS servers answer reliably") != NULL,
                  "%s", out);
    /* the signature that broke is named, not the list's passing one */
    ck_assert_msg(strstr(out, "(the signature d=mail.example.com broke on the "
                              "way)") != NULL,
                  "%s", out);
    free(out);
}
END_TEST

/* A read-only handle scans the records on two threads (render.c
 * scan_records); the result must be the one-pass result, byte for byte. */
START_TEST(test_two_core_scan_equals_one_pass)
{
    /* per-day and per-sender series (--by) merge too */
    static const struct {
        sift_format f;
        int by;
    } fmts[] = {{SIFT_FMT_TEXT, 0}, {SIFT_FMT_JSON, 0}, {SIFT_FMT_CSV, 0},
                {SIFT_FMT_JSON, 1}, {SIFT_FMT_CSV, 7},  {SIFT_FMT_HTML, 0}};
    char path[4096];
    sift_store *ro = NULL;
    sift_err err;
    size_t i;

    populate(st);
    sift_err_clear(&err);
    ck_assert_int_eq(sift_store_flush(st, &err), SIFT_OK);
    snprintf(path, sizeof(path), "%s/t.db", dir);
    ck_assert_int_eq(
        sift_store_open(&ro, path, SIFT_STORE_READONLY | SIFT_STORE_SCAN, &err),
        SIFT_OK);
    for (i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
        sift_report_totals t1, t2;
        char *one, *two, *buf = NULL;
        size_t n = 0;
        FILE *fp;

        ropts.by = fmts[i].by;
        one = render(0, fmts[i].f, NULL, &t1, SIFT_OK, &err);
        ck_assert_ptr_nonnull(fp = open_memstream(&buf, &n));
        ck_assert_int_eq(
            sift_report_write(fp, &t2, ro, NULL, &ropts, fmts[i].f, &err),
            SIFT_OK);
        ropts.by = 0;
        fclose(fp);
        two = buf;
        ck_assert_str_eq(one, two);
        ck_assert_uint_eq(t1.would_reject, t2.would_reject);
        ck_assert_uint_eq(t1.would_reject, 1057);
        free(one);
        free(two);
    }
    sift_store_close(ro);
}
END_TEST

/* Past --max-sources (docs/report.md §10) the two-part scan, which runs
 * twice and counts the other sources in a row per domain, still gives the
 * one-pass result byte for byte, and the totals of the unbounded model. */
START_TEST(test_bounded_scan_equals_one_pass)
{
    static const sift_format fmts[] = {SIFT_FMT_TEXT, SIFT_FMT_JSON,
                                       SIFT_FMT_CSV};
    char path[4096];
    sift_store *ro = NULL;
    sift_err err;
    size_t i;

    populate(st);
    sift_err_clear(&err);
    ck_assert_int_eq(sift_store_flush(st, &err), SIFT_OK);
    snprintf(path, sizeof(path), "%s/t.db", dir);
    ck_assert_int_eq(
        sift_store_open(&ro, path, SIFT_STORE_READONLY | SIFT_STORE_SCAN, &err),
        SIFT_OK);
    for (i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
        sift_report_totals t0, t1, t2;
        char *all, *one, *two, *buf = NULL;
        size_t n = 0;
        FILE *fp;

        all = render(0, fmts[i], NULL, &t0, SIFT_OK, &err);
        ropts.max_sources = 2;
        one = render(0, fmts[i], NULL, &t1, SIFT_OK, &err);
        ck_assert_ptr_nonnull(fp = open_memstream(&buf, &n));
        ck_assert_int_eq(
            sift_report_write(fp, &t2, ro, NULL, &ropts, fmts[i], &err),
            SIFT_OK);
        ropts.max_sources = 0;
        fclose(fp);
        two = buf;
        ck_assert_str_eq(one, two);
        ck_assert_msg(strstr(one, "other sources") != NULL, "%s", one);
        ck_assert_msg(strstr(all, "other sources") == NULL, "%s", all);
        ck_assert_uint_eq(t1.messages, t0.messages);
        ck_assert_uint_eq(t1.dmarc_fail, t0.dmarc_fail);
        ck_assert_uint_eq(t1.would_reject, 1057);
        ck_assert_uint_eq(t2.would_reject, 1057);
        free(all);
        free(one);
        free(two);
    }
    sift_store_close(ro);
}
END_TEST

START_TEST(test_bad_format_is_usage_error)
{
    sift_err err;
    char *out;

    out = render(0, SIFT_FMT_JSONL, NULL, NULL, SIFT_EUSAGE, &err);
    ck_assert_str_eq(err.msg, "report format must be text, json, csv or html");
    free(out);
    out = render(1, SIFT_FMT_TEXT, NULL, NULL, SIFT_EUSAGE, &err);
    ck_assert_str_eq(err.msg, "export format must be csv or jsonl");
    free(out);
}
END_TEST

START_TEST(test_export_golden)
{
    sift_filter f;
    sift_err err;
    char *out;

    populate(st);
    out = render(1, SIFT_FMT_CSV, NULL, NULL, SIFT_OK, &err);
    golden("report/export.csv", out);
    free(out);
    out = render(1, SIFT_FMT_JSONL, NULL, NULL, SIFT_OK, &err);
    golden("report/export.jsonl", out);
    free(out);
    memset(&f, 0, sizeof(f));
    f.reporters = (const char *const[]){"mail.ru"};
    f.nreporters = 1;
    out = render(1, SIFT_FMT_JSONL, &f, NULL, SIFT_OK, &err);
    ck_assert_ptr_nonnull(strstr(out, "\"source_ip\": \"2001:db8::2\""));
    ck_assert_ptr_null(strstr(out, "google.com"));
    free(out);
}
END_TEST

/* Attacker-controlled strings: formula injection and terminal escapes in
 * org_name, a reason comment, header_from and a DKIM domain. */
/* The HTML page of the data set: escaped strings, the readiness, the
 * senders, the chart (fixtures/report/expected.html). */
START_TEST(test_report_html_golden)
{
    sift_err err;
    char *out;

    populate(st);
    out = render(0, SIFT_FMT_HTML, NULL, NULL, SIFT_OK, &err);
    golden("report/expected.html", out);
    /* Yahoo! Inc. and the JSON of reasons are escaped, never raw */
    ck_assert_ptr_nonnull(
        strstr(out, "<span class=\"org\">Yahoo! Inc.</span>"));
    free(out);
}
END_TEST

/* Markup in a report's strings (org_name, policy domain, a DKIM d= that
 * names an unknown sender) is text in the HTML page. */
START_TEST(test_html_escapes_markup)
{
    sift_report_meta m;
    trec t;
    sift_err err;
    char *out;

    meta_init(&m);
    m.org_name = "<script>alert(1)</script>\"><img src=x onerror=alert(2)>";
    m.domain = "<b>x</b>.example";
    m.report_id = "<img src=x onerror=alert(3)>";
    rec_init(&t, "<b>x</b>.example", "evil.example", "fail", "fail");
    t.r.source_ip = "192.0.2.1\x1b[2J";
    dkim(&t, "'onmouseover='alert(4)'.example", "pass");
    spf(&t, "evil.example", "mfrom", "pass");
    {
        trec *const recs[] = {&t};
        store_report(st, &m, recs, 1);
    }
    out = render(0, SIFT_FMT_HTML, NULL, NULL, SIFT_OK, &err);
    ck_assert_ptr_null(strstr(out, "<script"));
    ck_assert_ptr_null(strstr(out, "<img"));
    ck_assert_ptr_null(strstr(out, "<b>"));
    ck_assert_ptr_null(strstr(out, "'onmouseover"));
    ck_assert_ptr_null(strchr(out, '\x1b'));
    ck_assert_ptr_nonnull(
        strstr(out, "<span class=\"org\">&lt;script&gt;alert(1)&lt;/script&gt;"
                    "&quot;&gt;&lt;img src=x onerror=alert(2)&gt;</span>"));
    ck_assert_ptr_nonnull(strstr(out, "<h2>&lt;b&gt;x&lt;/b&gt;.example</h2>"));
    ck_assert_ptr_nonnull(strstr(out, "&#39;onmouseover=&#39;alert(4)&#39;"));
    free(out);
}
END_TEST

START_TEST(test_hostile_strings_are_neutralised)
{
    sift_report_meta m;
    trec t;
    sift_err err;
    char *out;
    int fmt;

    meta_init(&m);
    m.org_name = "=HYPERLINK(\"http://evil.example\",\"x\")\x1b[2J";
    rec_init(&t, "+evil\x1b]0;owned\x07.example.com", "example.com", "fail",
             "fail");
    dkim(&t,
         "@sum(1)\x9b"
         "31m.example.net",
         "pass");
    spf(&t, "-2+3.example.com", NULL, "softfail");
    reason(&t, "other", "=1+1\x1b[31m,\"quoted\"\r\nnext");
    {
        trec *const recs[] = {&t};
        store_report(st, &m, recs, 1);
    }
    for (fmt = 0; fmt < 5; fmt++) {
        int export = fmt >= 3;
        sift_format f = fmt == 0   ? SIFT_FMT_TEXT
                        : fmt == 1 ? SIFT_FMT_JSON
                        : fmt == 2 ? SIFT_FMT_CSV
                        : fmt == 3 ? SIFT_FMT_CSV
                                   : SIFT_FMT_JSONL;

        out = render(export, f, NULL, NULL, SIFT_OK, &err);
        /* no raw ESC, BEL, CSI (C1) in any format */
        ck_assert_msg(strchr(out, '\x1b') == NULL, "fmt %d: raw ESC", fmt);
        ck_assert_msg(strchr(out, '\x07') == NULL, "fmt %d: raw BEL", fmt);
        ck_assert_msg(strstr(out, "\xc2\x9b") == NULL &&
                          strchr(out, '\x9b') == NULL,
                      "fmt %d: raw CSI", fmt);
        if (f == SIFT_FMT_CSV) {
            /* every cell that starts like a formula is quoted and
             * prefixed with ' */
            ck_assert_msg(
                strstr(out, ",=") == NULL && strstr(out, ",+") == NULL &&
                    strstr(out, ",@") == NULL && strstr(out, ",-") == NULL &&
                    strncmp(out, "=", 1) != 0,
                "fmt %d: formula not neutralised:\n%s", fmt, out);
        }
        if (f == SIFT_FMT_TEXT)
            ck_assert_ptr_nonnull(strstr(out, "\\x1b"));
        if (f == SIFT_FMT_JSON || f == SIFT_FMT_JSONL)
            ck_assert_ptr_nonnull(strstr(out, "\\u001b"));
        free(out);
    }
    out = render(1, SIFT_FMT_CSV, NULL, NULL, SIFT_OK, &err);
    ck_assert_ptr_nonnull(
        strstr(out, "\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"x\"\")"));
    ck_assert_ptr_nonnull(strstr(out, ",\"'+evil"));
    /* the reason comment is encoded, its ':' ';' '%' escaped */
    ck_assert_ptr_nonnull(strstr(out, ",\"other:=1+1"));
    free(out);
    out = render(1, SIFT_FMT_JSONL, NULL, NULL, SIFT_OK, &err);
    ck_assert_ptr_nonnull(
        strstr(out, "\"reasons\": [{\"type\": \"other\", \"comment\": "
                    "\"=1+1\\u001b[31m,\\\"quoted\\\"\\r\\nnext\"}]"));
    free(out);
}
END_TEST

static Suite *
report_suite(void)
{
    Suite *s = suite_create("report");
    TCase *tc;

    tc = tcase_create("eval");
    tcase_add_checked_fixture(tc, ev_setup, ev_teardown);
    tcase_add_loop_test(tc, test_alignment_table, 0,
                        sizeof(align_cases) / sizeof(align_cases[0]));
    tcase_add_test(tc, test_org_domain);
    tcase_add_test(tc, test_cat_p1_p2);
    tcase_add_loop_test(tc, test_cat_spf_results, 0,
                        sizeof(spf_cases) / sizeof(spf_cases[0]));
    tcase_add_test(tc, test_cat_spf_missing_and_helo);
    tcase_add_test(tc, test_cat_dkim_results);
    tcase_add_test(tc, test_cat_forwarding);
    tcase_add_test(tc, test_cat_unauthenticated_and_third_party);
    tcase_add_test(tc, test_cat_reporter_inconsistent);
    tcase_add_test(tc, test_sp_np_selection);
    tcase_add_test(tc, test_testing_or_sampling);
    tcase_add_loop_test(tc, test_override_reasons, 0,
                        sizeof(reason_cases) / sizeof(reason_cases[0]));
    tcase_add_test(tc, test_dns_error_wins_over_override);
    tcase_add_loop_test(tc, test_decision_list, 0,
                        sizeof(decision_cases) / sizeof(decision_cases[0]));
    tcase_add_test(tc, test_multiple_author_domains);
    tcase_add_loop_test(tc, test_advice_rows, 0,
                        sizeof(advice_cases) / sizeof(advice_cases[0]));
    tcase_add_test(tc, test_advice_rows_covered);
    suite_add_tcase(s, tc);

    tc = tcase_create("render");
    tcase_add_checked_fixture(tc, store_setup, store_teardown);
    tcase_add_test(tc, test_report_text_golden);
    tcase_add_test(tc, test_report_json_golden);
    tcase_add_test(tc, test_owner_knowledge);
    tcase_add_test(tc, test_report_csv_golden);
    tcase_add_test(tc, test_report_filters);
    tcase_add_test(tc, test_inconsistency_count_matches_category);
    tcase_add_test(tc, test_advice_wording);
    tcase_add_test(tc, test_two_core_scan_equals_one_pass);
    tcase_add_test(tc, test_bounded_scan_equals_one_pass);
    tcase_add_test(tc, test_bad_format_is_usage_error);
    tcase_add_test(tc, test_export_golden);
    tcase_add_test(tc, test_hostile_strings_are_neutralised);
    tcase_add_test(tc, test_report_html_golden);
    tcase_add_test(tc, test_html_escapes_markup);
    suite_add_tcase(s, tc);

    tc = tcase_create("names");
    tcase_add_test(tc, test_category_codes);
    tcase_add_test(tc, test_sender_lookup);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(report_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
