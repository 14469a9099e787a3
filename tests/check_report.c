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
    {"mail.example.com", "example.com", "r", 1, 0},  /* child */
    {"example.com", "news.example.com", "r", 1, 0},  /* parent */
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
    ck_assert_msg(!!(v.flags & SIFT_FLAG_PSL_APPROX) ==
                      align_cases[_i].approx,
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

    ck_assert_str_eq(sift_eval_org_domain(ev, "a.b.c.example.com", buf,
                                          sizeof(buf)),
                     "example.com");
    ck_assert_str_eq(sift_eval_org_domain(ev, "Mail.Example.CO.UK.", buf,
                                          sizeof(buf)),
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
    ck_assert_str_eq(codes(v.categories),
                     "pass_dkim_aligned pass_spf_aligned");
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
    {"softfail", "spf_softfail dkim_none", SIFT_OUT_WOULD_REJECT},
    {"fail", "spf_fail dkim_none", SIFT_OUT_WOULD_REJECT},
    {"hardfail", "spf_fail dkim_none", SIFT_OUT_WOULD_REJECT},
    {"Fail", "spf_fail dkim_none", SIFT_OUT_WOULD_REJECT},
    {"neutral", "spf_neutral dkim_none", SIFT_OUT_WOULD_REJECT},
    {"none", "spf_none dkim_none", SIFT_OUT_WOULD_REJECT},
    {"temperror", "spf_temperror dkim_none", SIFT_OUT_DNS_ERROR},
    {"permerror", "spf_permerror dkim_none", SIFT_OUT_WOULD_REJECT},
    {"unknown", "spf_permerror dkim_none", SIFT_OUT_WOULD_REJECT},
    {"error", "spf_permerror dkim_none", SIFT_OUT_WOULD_REJECT},
    {"policy", "spf_policy dkim_none", SIFT_OUT_WOULD_REJECT},
    {"pass", "spf_not_aligned dkim_none", SIFT_OUT_WOULD_REJECT},
    {"bogus", "dkim_none", SIFT_OUT_WOULD_REJECT},
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
    ck_assert_str_eq(codes(v.categories), "spf_missing dkim_none");
    ck_assert_ptr_null(v.spf_domain);
    ck_assert_int_eq(v.flags, 0);

    /* S9: HELO-only with a non-empty envelope is not usable (§2.5) */
    rec_init(&t, "example.com", "example.com", "fail", "fail");
    spf(&t, "mx.example.com", "helo", "pass");
    v = eval(&m, &t);
    ck_assert_str_eq(codes(v.categories), "spf_missing dkim_none");
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
    ck_assert_str_eq(codes(v.categories), "spf_fail dkim_none");

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
    ck_assert_str_eq(codes(v.categories),
                     "pass_spf_aligned dkim_permerror");

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
    ck_assert_str_eq(codes(v.categories),
                     "pass_dkim_aligned spf_not_aligned "
                     "forwarded_dkim_intact");

    /* ...but an unaligned SPF pass for a known ESP is just an ESP */
    rec_init(&t, "example.com", "em123.sendgrid.net", "pass", "fail");
    dkim(&t, "example.com", "pass");
    spf(&t, "em123.sendgrid.net", NULL, "pass");
    v = eval(&m, &t);
    ck_assert_str_eq(codes(v.categories),
                     "pass_dkim_aligned spf_not_aligned");

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
    ck_assert_str_eq(v.dkim_domain, "list.example.org");

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

    /* an aligned-domain signature (even failing) is not "unauthenticated" */
    dkim(&t, "example.com", "fail");
    v = eval(&m, &t);
    ck_assert_str_eq(codes(v.categories),
                     "spf_softfail dkim_fail forwarded_both_broken");

    /* U2: an ESP with neither DKIM nor return-path configured */
    rec_init(&t, "example.com", "bounces.sendgrid.net", "fail", "fail");
    dkim(&t, "sendgrid.net", "pass");
    spf(&t, "bounces.sendgrid.net", "mfrom", "pass");
    v = eval(&m, &t);
    ck_assert_str_eq(codes(v.categories),
                     "spf_not_aligned dkim_third_party "
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
    ck_assert_str_eq(codes(v.categories),
                     "pass_dkim_aligned pass_spf_aligned "
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
    ck_assert_str_eq(codes(v.categories), "spf_fail dkim_none");
    m.pct = 50;
    v = eval(&m, &t);
    ck_assert_str_eq(codes(v.categories),
                     "spf_fail dkim_none testing_or_sampling");
    ck_assert_int_eq(v.would_reject, 1);
    m.pct = -1;
    m.testing = "y";
    v = eval(&m, &t);
    ck_assert_str_eq(codes(v.categories),
                     "spf_fail dkim_none testing_or_sampling");
    m.testing = "n";
    reason(&t, "sampled_out", NULL);
    v = eval(&m, &t);
    ck_assert_str_eq(codes(v.categories),
                     "spf_fail dkim_none testing_or_sampling");
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
                  "reason '%s': outcome %d", reason_cases[_i].type
                  ? reason_cases[_i].type : "(null)", (int)v.outcome);
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

/* --- names and senders --------------------------------------------------- */

START_TEST(test_category_codes)
{
    static const char *const want[SIFT_CAT__COUNT] = {
        "pass_dkim_aligned", "pass_spf_aligned", "spf_not_aligned",
        "spf_softfail", "spf_fail", "spf_neutral", "spf_none",
        "spf_temperror", "spf_permerror", "spf_policy", "spf_missing",
        "null_reverse_path", "dkim_none", "dkim_third_party", "dkim_fail",
        "dkim_temperror", "dkim_permerror", "dkim_not_acceptable",
        "forwarded_dkim_intact", "forwarded_both_broken",
        "receiver_override", "unauthenticated", "unconfigured_third_party",
        "reporter_inconsistent", "ambiguous_sp_np", "testing_or_sampling"};
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
    ck_assert_str_eq(sift_sender_lookup("eur.protection.outlook.com")
                         ->spf_include,
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

/* Render into memory. */
static char *
render(int export, sift_format fmt, const sift_filter *f,
       sift_report_totals *t, int want_rc, sift_err *err)
{
    char *buf = NULL;
    size_t n = 0;
    FILE *fp = open_memstream(&buf, &n);
    int rc;

    ck_assert_ptr_nonnull(fp);
    sift_err_clear(err);
    rc = export ? sift_export_write(fp, st, f, fmt, err)
                : sift_report_write(fp, t, st, f, fmt, err);
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
    ck_assert_ptr_nonnull(strstr(out,
        "\"messages\": 197,\n      \"dmarc_pass\": 132,\n"
        "      \"dmarc_pass_rate\": 67.0,\n      \"dmarc_fail\": 65,\n"
        "      \"would_reject\": 57,\n      \"would_reject_rate\": 28.9,\n"
        "      \"would_reject_sources\": 2"));
    ck_assert_ptr_nonnull(strstr(out,
        "\"messages\": 1001,\n      \"dmarc_pass\": 1,\n"
        "      \"dmarc_pass_rate\": 0.1,\n      \"dmarc_fail\": 1000,\n"
        "      \"would_reject\": 1000,\n      \"would_reject_rate\": 99.9,\n"
        "      \"would_reject_sources\": 1"));
    ck_assert_ptr_nonnull(strstr(out,
        "\"source_ip\": \"198.51.100.5\", \"sender\": \"SendGrid\", "
        "\"messages\": 50, \"dmarc_fail\": 50, \"would_reject\": 50"));
    ck_assert_ptr_nonnull(strstr(out,
        "\"source_ip\": \"203.0.113.7\", \"sender\": null, "
        "\"messages\": 7, \"dmarc_fail\": 7, \"would_reject\": 7"));
    ck_assert_ptr_nonnull(strstr(out,
        "\"source_ip\": \"192.0.2.10\", \"sender\": null, "
        "\"messages\": 120, \"dmarc_fail\": 0, \"would_reject\": 0"));
    ck_assert_ptr_nonnull(strstr(out,
        "\"source_ip\": \"192.0.2.99\", \"sender\": null, "
        "\"messages\": 5, \"dmarc_fail\": 5, \"would_reject\": 0, "
        "\"exempted\": 5"));
    ck_assert_ptr_nonnull(strstr(out,
        "\"source_ip\": \"203.0.113.8\", \"sender\": null, "
        "\"messages\": 3, \"dmarc_fail\": 3, \"would_reject\": 0, "
        "\"exempted\": 0, \"dns_errors\": 3"));
    ck_assert_ptr_nonnull(strstr(out,
        "\"source_ip\": \"2001:db8::1\", \"sender\": null, "
        "\"messages\": 1000, \"dmarc_fail\": 1000, \"would_reject\": 1000"));
    ck_assert_ptr_nonnull(strstr(out,
        "\"exempted\": {\"messages\": 5, \"by_reason\": "
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
                          "be rejected under p=reject\nno records match\n");
    ck_assert_uint_eq(t.messages, 0);
    free(out);
    out = render(0, SIFT_FMT_JSON, &f, &t, SIFT_OK, &err);
    ck_assert_str_eq(out, "{\n  \"messages\": 0,\n  \"dmarc_fail\": 0,\n"
                          "  \"would_reject\": 0,\n  \"domains\": []\n}\n");
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
    ck_assert_msg(strstr(out, "\"inconsistencies\": {\"messages\": 4,") !=
                      NULL,
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
    ck_assert_msg(strstr(out, "check that the DNS servers of example.com "
                              "answer reliably\r\n") != NULL,
                  "%s", out);
    ck_assert_msg(strstr(out, "(the DKIM signature aligned with example.com "
                              "broke)") != NULL,
                  "%s", out);
    free(out);
}
END_TEST

/* A read-only handle scans the records on two threads (render.c
 * scan_records); the result must be the one-pass result, byte for byte. */
START_TEST(test_two_core_scan_equals_one_pass)
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
    ck_assert_int_eq(sift_store_open(&ro, path,
                                     SIFT_STORE_READONLY | SIFT_STORE_SCAN,
                                     &err),
                     SIFT_OK);
    for (i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
        sift_report_totals t1, t2;
        char *one = render(0, fmts[i], NULL, &t1, SIFT_OK, &err), *two;
        char *buf = NULL;
        size_t n = 0;
        FILE *fp = open_memstream(&buf, &n);

        ck_assert_ptr_nonnull(fp);
        ck_assert_int_eq(sift_report_write(fp, &t2, ro, NULL, fmts[i], &err),
                         SIFT_OK);
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

START_TEST(test_bad_format_is_usage_error)
{
    sift_err err;
    char *out;

    out = render(0, SIFT_FMT_JSONL, NULL, NULL, SIFT_EUSAGE, &err);
    ck_assert_str_eq(err.msg, "report format must be text, json or csv");
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
    dkim(&t, "@sum(1)\x9b" "31m.example.net", "pass");
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
            ck_assert_msg(strstr(out, ",=") == NULL && strstr(out, ",+") ==
                                                            NULL &&
                              strstr(out, ",@") == NULL &&
                              strstr(out, ",-") == NULL &&
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
    ck_assert_ptr_nonnull(strstr(out,
        "\"reasons\": [{\"type\": \"other\", \"comment\": "
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
    suite_add_tcase(s, tc);

    tc = tcase_create("render");
    tcase_add_checked_fixture(tc, store_setup, store_teardown);
    tcase_add_test(tc, test_report_text_golden);
    tcase_add_test(tc, test_report_json_golden);
    tcase_add_test(tc, test_report_csv_golden);
    tcase_add_test(tc, test_report_filters);
    tcase_add_test(tc, test_inconsistency_count_matches_category);
    tcase_add_test(tc, test_advice_wording);
    tcase_add_test(tc, test_two_core_scan_equals_one_pass);
    tcase_add_test(tc, test_bad_format_is_usage_error);
    tcase_add_test(tc, test_export_golden);
    tcase_add_test(tc, test_hostile_strings_are_neutralised);
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
