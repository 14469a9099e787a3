/* check_xml.c -- the xml/ module: dialects, quirks, damaged and hostile
 * reports, limits, hashing, the inspect renderer and the real corpus.
 * Fixtures are hand-written under fixtures/xml and fixtures/bad; large and
 * hostile inputs are generated here at run time. */
#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sift_util.h"
#include "sift_xml.h"
#include "testutil.h"

static sift_limits lim = SIFT_LIMITS_INIT;

/* --- helpers ----------------------------------------------------------- */

/* One parse of a fixture; the buffer and reader outlive the parser. */
typedef struct parse {
    char *buf;
    size_t len;
    sift_memreader mr;
    sift_xml *x;
    const sift_report_meta *m;
    sift_err err;
    int rc;
} parse;

static void
parse_mem(parse *p, const char *buf, size_t len, const char *name)
{
    memset(p, 0, sizeof(*p));
    p->buf = malloc(len + 1);
    ck_assert_ptr_nonnull(p->buf);
    memcpy(p->buf, buf, len);
    p->len = len;
    sift_err_clear(&p->err);
    p->rc = sift_xml_open(&p->x, &p->m,
                          sift_memreader_init(&p->mr, p->buf, len, name), &lim,
                          &p->err);
}

static void
parse_fixture(parse *p, const char *rel)
{
    size_t len;
    char *b = slurp(fixture(rel), &len);

    ck_assert_msg(b != NULL, "cannot read fixture %s", rel);
    parse_mem(p, b, len, rel);
    free(b);
}

static void
parse_done(parse *p)
{
    sift_xml_free(p->x);
    free(p->buf);
    p->x = NULL;
    p->buf = NULL;
}

/* Open must succeed; the next record must exist. */
static const sift_record *
next_rec(parse *p)
{
    const sift_record *r = NULL;
    int rc = sift_xml_next(p->x, &r, &p->err);

    ck_assert_msg(rc == SIFT_OK, "next: rc=%d %s: %s", rc, p->err.where,
                  p->err.msg);
    ck_assert_ptr_nonnull(r);
    return r;
}

static void
expect_end(parse *p)
{
    const sift_record *r = NULL;
    int rc = sift_xml_next(p->x, &r, &p->err);

    ck_assert_msg(rc == SIFT_ITEROVER, "expected end: rc=%d %s: %s", rc,
                  p->err.where, p->err.msg);
    ck_assert_ptr_null(r);
}

static int
has_warning(const sift_report_meta *m, const char *w)
{
    size_t i;

    for (i = 0; i < m->n_warnings; i++)
        if (strcmp(m->warnings[i], w) == 0)
            return 1;
    return 0;
}

static void
dump_warnings(const sift_report_meta *m)
{
    size_t i;

    for (i = 0; i < m->n_warnings; i++)
        fprintf(stderr, "warning[%zu]: %s\n", i, m->warnings[i]);
}

#define ck_warning(m, w)                                                       \
    do {                                                                       \
        if (!has_warning((m), (w)))                                            \
            dump_warnings(m);                                                  \
        ck_assert_msg(has_warning((m), (w)), "missing warning: %s", (w));      \
    } while (0)

/* Parse to the end; returns the final code (ITEROVER, or an error). */
static int
parse_all(parse *p, uint64_t *records)
{
    const sift_record *r;
    int rc;

    *records = 0;
    if (p->rc != SIFT_OK)
        return p->rc;
    while ((rc = sift_xml_next(p->x, &r, &p->err)) == SIFT_OK)
        (*records)++;
    return rc;
}

/* A reader that synthesises prefix + unit*count + suffix, never holding
 * more than one unit in memory. */
typedef struct synth {
    sift_reader r;
    const char *prefix, *unit, *suffix;
    uint64_t count, done;
    size_t off;
    int phase;
    uint64_t produced;
} synth;

static int
synth_read(void *ctx, void *buf, size_t len, size_t *nread, sift_err *err)
{
    synth *s = ctx;
    char *out = buf;
    size_t n = 0;

    (void)err;
    while (n < len && s->phase < 3) {
        const char *src = s->phase == 0   ? s->prefix
                          : s->phase == 1 ? s->unit
                                          : s->suffix;
        size_t sl = strlen(src), k;
        if (s->phase == 1 && s->done >= s->count) {
            s->phase = 2, s->off = 0;
            continue;
        }
        k = sl - s->off < len - n ? sl - s->off : len - n;
        memcpy(out + n, src + s->off, k);
        n += k;
        s->off += k;
        if (s->off == sl) {
            s->off = 0;
            if (s->phase == 1)
                s->done++;
            else
                s->phase++;
        }
    }
    s->produced += n;
    *nread = n;
    return SIFT_OK;
}

static sift_reader *
synth_init(synth *s, const char *prefix, const char *unit, uint64_t count,
           const char *suffix)
{
    memset(s, 0, sizeof(*s));
    s->prefix = prefix;
    s->unit = unit;
    s->suffix = suffix;
    s->count = count;
    s->r.name = "synth.xml";
    s->r.read = synth_read;
    s->r.ctx = s;
    return &s->r;
}

/* A reader that hands out one byte per call: chunk-boundary torture. */
typedef struct trickle {
    sift_reader r;
    const char *p;
    size_t len, off;
} trickle;

static int
trickle_read(void *ctx, void *buf, size_t len, size_t *nread, sift_err *err)
{
    trickle *t = ctx;

    (void)err;
    *nread = 0;
    if (len > 0 && t->off < t->len) {
        *(char *)buf = t->p[t->off++];
        *nread = 1;
    }
    return SIFT_OK;
}

static const char HEAD[] =
    "<?xml version=\"1.0\"?>\n<feedback>\n<report_metadata>"
    "<org_name>Gen</org_name><email>g@gen.example</email>"
    "<report_id>gen-1</report_id><date_range><begin>1</begin>"
    "<end>2</end></date_range></report_metadata>\n"
    "<policy_published><domain>example.com</domain><p>none</p>"
    "</policy_published>\n";
static const char REC[] =
    "<record><row><source_ip>192.0.2.9</source_ip><count>3</count>"
    "<policy_evaluated><disposition>none</disposition><dkim>pass</dkim>"
    "<spf>pass</spf></policy_evaluated></row><identifiers>"
    "<header_from>example.com</header_from></identifiers><auth_results>"
    "<dkim><domain>example.com</domain><result>pass</result></dkim>"
    "</auth_results></record>\n";
static const char TAIL[] = "</feedback>\n";

/* --- dialects ---------------------------------------------------------- */

START_TEST(test_rfc7489_every_field)
{
    parse p;
    const sift_record *r;

    parse_fixture(&p, "xml/reporter.example!example.com!1700000000!"
                      "1700086399.xml");
    ck_assert_msg(p.rc == SIFT_OK, "%s: %s", p.err.where, p.err.msg);
    ck_assert_pstr_eq(p.m->version, "1.0");
    ck_assert_pstr_eq(p.m->namespace, NULL);
    ck_assert_pstr_eq(p.m->org_name, "Reporter Example");
    ck_assert_pstr_eq(p.m->email, "dmarc-reports@reporter.example");
    ck_assert_pstr_eq(p.m->extra_contact_info,
                      "https://reporter.example/dmarc");
    ck_assert_pstr_eq(p.m->report_id, "rid-7489-1");
    ck_assert_int_eq(p.m->begin, 1700000000);
    ck_assert_int_eq(p.m->end, 1700086399);
    ck_assert_uint_eq(p.m->n_errors, 2);
    ck_assert_str_eq(p.m->errors[0], "first problem");
    ck_assert_str_eq(p.m->errors[1], "second problem");
    ck_assert_pstr_eq(p.m->generator, NULL);
    ck_assert_pstr_eq(p.m->domain, "example.com");
    ck_assert_pstr_eq(p.m->adkim, "s");
    ck_assert_pstr_eq(p.m->aspf, "r");
    ck_assert_pstr_eq(p.m->p, "reject");
    ck_assert_pstr_eq(p.m->sp, "quarantine");
    ck_assert_pstr_eq(p.m->np, NULL);
    ck_assert_int_eq(p.m->pct, 50);
    ck_assert_pstr_eq(p.m->fo, "1");
    ck_assert_pstr_eq(p.m->testing, NULL);
    ck_assert_pstr_eq(p.m->discovery_method, NULL);

    r = next_rec(&p);
    ck_assert_uint_eq(r->line, 25);
    ck_assert_pstr_eq(r->source_ip, "192.0.2.10");
    ck_assert_uint_eq(r->count, 12);
    ck_assert_pstr_eq(r->disposition, "none");
    ck_assert_pstr_eq(r->dkim, "fail");
    ck_assert_pstr_eq(r->spf, "fail");
    ck_assert_uint_eq(r->n_reasons, 2);
    ck_assert_pstr_eq(r->reasons[0].type, "forwarded");
    ck_assert_pstr_eq(r->reasons[0].comment, "via list");
    ck_assert_pstr_eq(r->reasons[1].type, "local_policy");
    ck_assert_pstr_eq(r->reasons[1].comment, NULL);
    ck_assert_pstr_eq(r->header_from, "example.com");
    ck_assert_pstr_eq(r->envelope_from, "bounce.example.com");
    ck_assert_pstr_eq(r->envelope_to, "rcpt.example");
    ck_assert_uint_eq(r->n_dkim, 2);
    ck_assert_pstr_eq(r->dkim_results[0].domain, "example.com");
    ck_assert_pstr_eq(r->dkim_results[0].selector, "s1");
    ck_assert_pstr_eq(r->dkim_results[0].result, "fail");
    ck_assert_pstr_eq(r->dkim_results[0].human_result, "body hash mismatch");
    ck_assert_pstr_eq(r->dkim_results[1].domain, "esp.example");
    ck_assert_pstr_eq(r->dkim_results[1].selector, "k2");
    ck_assert_pstr_eq(r->dkim_results[1].result, "pass");
    ck_assert_pstr_eq(r->dkim_results[1].human_result, NULL);
    ck_assert_uint_eq(r->n_spf, 2);
    ck_assert_pstr_eq(r->spf_results[0].domain, "bounce.example.com");
    ck_assert_pstr_eq(r->spf_results[0].scope, "mfrom");
    ck_assert_pstr_eq(r->spf_results[0].result, "softfail");
    ck_assert_pstr_eq(r->spf_results[1].domain, "mx.reporter.example");
    ck_assert_pstr_eq(r->spf_results[1].scope, "helo");
    ck_assert_pstr_eq(r->spf_results[1].result, "pass");

    r = next_rec(&p);
    ck_assert_pstr_eq(r->source_ip, "2001:db8::25");
    ck_assert_uint_eq(r->count, 3);
    ck_assert_pstr_eq(r->disposition, "reject");
    ck_assert_uint_eq(r->n_reasons, 0);
    ck_assert_pstr_eq(r->envelope_from, NULL);
    ck_assert_pstr_eq(r->envelope_to, NULL);
    ck_assert_uint_eq(r->n_dkim, 0);
    ck_assert_uint_eq(r->n_spf, 1);
    ck_assert_pstr_eq(r->spf_results[0].domain, "spoof.example");
    ck_assert_pstr_eq(r->spf_results[0].scope, NULL);
    expect_end(&p);
    expect_end(&p); /* stays over */
    ck_assert_uint_eq(sift_xml_records(p.x), 2);
    ck_assert_uint_eq(sift_xml_messages(p.x), 15);
    ck_assert_uint_eq(p.m->n_warnings, 0);
    parse_done(&p);
}
END_TEST

START_TEST(test_ns_01_with_xsd_xsi)
{
    parse p;
    const sift_record *r;

    parse_fixture(&p, "xml/ns-0.1.xml");
    ck_assert_int_eq(p.rc, SIFT_OK);
    ck_assert_pstr_eq(p.m->namespace, "http://dmarc.org/dmarc-xml/0.1");
    ck_assert_pstr_eq(p.m->version, "1.0");
    ck_assert_pstr_eq(p.m->org_name, "Outlook-like");
    ck_assert_pstr_eq(p.m->report_id, "ns01-1");
    ck_assert_int_eq(p.m->begin, 1711756800);
    ck_assert_int_eq(p.m->end, 1711843200);
    ck_assert_pstr_eq(p.m->p, "quarantine");
    ck_assert_int_eq(p.m->pct, -1);
    r = next_rec(&p);
    ck_assert_pstr_eq(r->source_ip, "198.51.100.7");
    ck_assert_uint_eq(r->count, 4);
    ck_assert_pstr_eq(r->disposition, "quarantine");
    ck_assert_pstr_eq(r->envelope_to, "example.org");
    ck_assert_pstr_eq(r->envelope_from, "example.com");
    ck_assert_uint_eq(r->n_spf, 1);
    ck_assert_pstr_eq(r->spf_results[0].result, "fail");
    expect_end(&p);
    ck_assert_uint_eq(p.m->n_warnings, 0);
    parse_done(&p);
}
END_TEST

START_TEST(test_ns_02_extension_and_foreign_elements_skipped)
{
    parse p;
    const sift_record *r;

    parse_fixture(&p, "xml/ns-0.2.xml");
    ck_assert_int_eq(p.rc, SIFT_OK);
    ck_assert_pstr_eq(p.m->namespace, "http://dmarc.org/dmarc-xml/0.2");
    ck_assert_pstr_eq(p.m->version, "2.0");
    ck_assert_pstr_eq(p.m->org_name, "Draft Reporter"); /* not x:org_name */
    ck_assert_pstr_eq(p.m->np, "reject");
    r = next_rec(&p);
    ck_assert_pstr_eq(r->source_ip, "203.0.113.5"); /* not x:source_ip */
    ck_assert_uint_eq(r->count, 6);                 /* not x:count */
    ck_assert_uint_eq(r->n_dkim, 1);
    ck_assert_pstr_eq(r->dkim_results[0].selector, "sel");
    expect_end(&p);
    ck_assert_uint_eq(sift_xml_messages(p.x), 6);
    ck_assert_uint_eq(p.m->n_warnings, 0);
    parse_done(&p);
}
END_TEST

START_TEST(test_ns_20_default_rfc9990_fields)
{
    parse p;
    const sift_record *r;

    parse_fixture(&p, "xml/ns-2.0-default.xml");
    ck_assert_int_eq(p.rc, SIFT_OK);
    ck_assert_pstr_eq(p.m->namespace, "urn:ietf:params:xml:ns:dmarc-2.0");
    ck_assert_pstr_eq(p.m->version, "1.0");
    ck_assert_pstr_eq(p.m->extra_contact_info, "https://gmx.example/hilfe");
    ck_assert_uint_eq(p.m->n_errors, 1);
    ck_assert_str_eq(p.m->errors[0], "resolver timeout");
    ck_assert_pstr_eq(p.m->generator, "sift-fixture 1.0");
    ck_assert_pstr_eq(p.m->domain, "example.org");
    ck_assert_pstr_eq(p.m->discovery_method, "treewalk");
    ck_assert_pstr_eq(p.m->p, "reject");
    ck_assert_pstr_eq(p.m->sp, "none");
    ck_assert_pstr_eq(p.m->np, "quarantine");
    ck_assert_pstr_eq(p.m->testing, "y");
    ck_assert_pstr_eq(p.m->adkim, "r");
    ck_assert_pstr_eq(p.m->aspf, "s");
    ck_assert_int_eq(p.m->pct, -1);
    r = next_rec(&p);
    ck_assert_pstr_eq(r->disposition, "pass");
    ck_assert_uint_eq(r->n_reasons, 1);
    ck_assert_pstr_eq(r->reasons[0].type, "policy_test_mode");
    ck_assert_pstr_eq(r->reasons[0].comment, "t=y");
    ck_assert_pstr_eq(r->envelope_from, "example.org");
    ck_assert_pstr_eq(r->dkim_results[0].human_result, "good");
    ck_assert_pstr_eq(r->spf_results[0].result, "policy");
    ck_assert_pstr_eq(r->spf_results[0].human_result, "local policy");
    expect_end(&p);
    ck_assert_uint_eq(p.m->n_warnings, 0);
    parse_done(&p);
}
END_TEST

START_TEST(test_ns_20_prefixed_version_absent)
{
    parse p;
    const sift_record *r;

    parse_fixture(&p, "xml/ns-2.0-prefixed.xml");
    ck_assert_int_eq(p.rc, SIFT_OK);
    ck_assert_pstr_eq(p.m->namespace, "urn:ietf:params:xml:ns:dmarc-2.0");
    ck_assert_pstr_eq(p.m->version, NULL);
    ck_assert_pstr_eq(p.m->org_name, "Prefixed Org");
    ck_assert_pstr_eq(p.m->report_id, "pfx-1");
    r = next_rec(&p);
    ck_assert_pstr_eq(r->source_ip, "192.0.2.33");
    ck_assert_pstr_eq(r->spf, "pass");
    ck_assert_uint_eq(r->n_spf, 1);
    r = next_rec(&p);
    ck_assert_pstr_eq(r->source_ip, "192.0.2.34");
    ck_assert_uint_eq(r->count, 2);
    ck_assert_uint_eq(r->n_dkim, 0); /* <d:auth_results/> */
    ck_assert_uint_eq(r->n_spf, 0);
    expect_end(&p);
    ck_assert_uint_eq(sift_xml_messages(p.x), 3);
    parse_done(&p);
}
END_TEST

/* --- normalisation quirks ---------------------------------------------- */

START_TEST(test_quirks_normalised)
{
    parse p;
    const sift_record *r;

    parse_fixture(&p, "xml/quirks.xml");
    ck_assert_msg(p.rc == SIFT_OK, "%s", p.err.msg);
    ck_assert_pstr_eq(p.m->org_name, "quirky.example"); /* from <email> */
    ck_assert_pstr_eq(p.m->email, "noc@Quirky.Example");
    ck_assert_pstr_eq(p.m->report_id, "<1549848636.139658>");
    ck_assert_int_eq(p.m->begin, 1337270400);      /* "1337270400.0" */
    ck_assert_int_eq(p.m->end, 1337356799);        /* "  1337356799.5 " */
    ck_assert_pstr_eq(p.m->domain, "example.com"); /* "Example.COM." */
    ck_assert_pstr_eq(p.m->p, "reject");           /* "Reject" */
    ck_assert_pstr_eq(p.m->sp, NULL);              /* <sp/> */
    ck_assert_int_eq(p.m->pct, 100);               /* " 100 " */

    r = next_rec(&p); /* children in reverse order */
    ck_assert_pstr_eq(r->source_ip, "fe80::202:b3ff:fe1e:8329");
    ck_assert_uint_eq(r->count, 7);
    ck_assert_pstr_eq(r->disposition, "none");
    ck_assert_pstr_eq(r->dkim, "pass");
    ck_assert_pstr_eq(r->spf, "fail");
    ck_assert_pstr_eq(r->header_from, "mail.example.com");
    ck_assert_pstr_eq(r->envelope_from, NULL); /* absent */
    ck_assert_uint_eq(r->n_dkim, 1);
    ck_assert_pstr_eq(r->dkim_results[0].domain, "example.com");
    ck_assert_pstr_eq(r->dkim_results[0].selector, "Sel1");
    ck_assert_pstr_eq(r->dkim_results[0].result, "pass");
    ck_assert_uint_eq(r->n_spf, 1);
    ck_assert_pstr_eq(r->spf_results[0].result, "hardfail");
    ck_assert_pstr_eq(r->spf_results[0].domain, "example.com");

    r = next_rec(&p); /* <identities>, empties, two <auth_results> */
    ck_assert_pstr_eq(r->header_from, "example.com");
    ck_assert_pstr_eq(r->envelope_from, ""); /* present, empty */
    ck_assert_uint_eq(r->n_reasons, 1);
    ck_assert_pstr_eq(r->reasons[0].type, NULL);
    ck_assert_pstr_eq(r->reasons[0].comment, "");
    ck_assert_uint_eq(r->n_dkim, 1);
    ck_assert_pstr_eq(r->dkim_results[0].domain, "");
    ck_assert_pstr_eq(r->dkim_results[0].selector, "");
    ck_assert_pstr_eq(r->dkim_results[0].result, "none");
    ck_assert_uint_eq(r->n_spf, 1);
    ck_assert_pstr_eq(r->spf_results[0].result, "neutral");

    r = next_rec(&p);
    ck_assert_pstr_eq(r->source_ip, "198.51.100.2");
    ck_assert_uint_eq(r->count, 0);
    ck_assert_pstr_eq(r->envelope_from, "bounce.example.com");
    ck_assert_uint_eq(r->n_dkim, 0);
    ck_assert_uint_eq(r->n_spf, 0);
    expect_end(&p);

    ck_assert_uint_eq(p.m->n_warnings, 4);
    ck_warning(p.m, "repaired: line 7: <data_range> read as <date_range>");
    ck_warning(p.m, "line 19: another <policy_published> ignored");
    ck_warning(p.m, "record 1: <spf><result>: unknown value 'hardfail'");
    ck_warning(p.m, "empty <org_name>: using 'quirky.example' from <email>");
    parse_done(&p);
}
END_TEST

START_TEST(test_invalid_source_ip_keeps_record_without_ip)
{
    parse p;
    uint64_t n;

    parse_fixture(&p, "bad/bad-source-ip.xml");
    ck_assert_int_eq(p.rc, SIFT_OK);
    ck_assert_int_eq(parse_all(&p, &n), SIFT_ITEROVER);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(p.m->n_warnings, 1);
    ck_warning(p.m, "record 1: <source_ip>: not an IP address: "
                    "'192.0.2.300'; kept without a source IP");
    parse_done(&p);
}
END_TEST

START_TEST(test_empty_source_ip_keeps_record_without_ip)
{
    char doc[2048];
    const sift_record *r;
    const char *c = strstr(REC, "192.0.2.9");
    parse p;
    int n;

    /* record 1 has <source_ip></source_ip>, record 2 is fine */
    n = snprintf(doc, sizeof(doc), "%s%.*s%s%s%s", HEAD, (int)(c - REC), REC,
                 c + 9, REC, TAIL);
    parse_mem(&p, doc, (size_t)n, "e.xml");
    ck_assert_int_eq(p.rc, SIFT_OK);
    r = next_rec(&p);
    ck_assert_ptr_null(r->source_ip);
    ck_assert_uint_eq(r->count, 3);
    r = next_rec(&p);
    ck_assert_pstr_eq(r->source_ip, "192.0.2.9");
    expect_end(&p);
    ck_assert_uint_eq(sift_xml_records(p.x), 2);
    ck_assert_uint_eq(sift_xml_messages(p.x), 6);
    ck_assert_uint_eq(p.m->n_warnings, 1);
    ck_warning(p.m, "record 1: empty <source_ip>; kept without a source IP");
    parse_done(&p);
}
END_TEST

START_TEST(test_empty_record_is_ignored_with_warning)
{
    char doc[2048];
    const sift_record *r;
    parse p;
    int n;

    /* stuartmaxwell's corpus has <record/>: nothing in it to keep */
    n = snprintf(doc, sizeof(doc), "%s<record/><record>\n</record>%s%s", HEAD,
                 REC, TAIL);
    parse_mem(&p, doc, (size_t)n, "e.xml");
    ck_assert_int_eq(p.rc, SIFT_OK);
    r = next_rec(&p);
    ck_assert_pstr_eq(r->source_ip, "192.0.2.9");
    expect_end(&p);
    ck_assert_uint_eq(sift_xml_records(p.x), 1);
    ck_assert_uint_eq(p.m->n_warnings, 2);
    ck_warning(p.m, "record 1: empty <record> ignored");
    ck_warning(p.m, "record 2: empty <record> ignored");
    parse_done(&p);
}
END_TEST

/* --- damaged reports that must still yield the report ------------------ */

static const struct damaged {
    const char *file;
    const char *org_name;
    const char *email;
    const char *report_id;
    const char *warning; /* NULL: no warning at all */
} damaged[] = {
    {"bad/stray-schema.xml", "Example Org", "dmarc@example.org", "r-1",
     "repaired: line 1: ignored stray <xs:schema> start tag"},
    {"bad/unescaped-lt.xml", "Example Org", "", "r-1",
     "repaired: line 13: Couldn't find end of Start Tag foo"},
    {"bad/invalid-utf8.xml", "Example \xef\xbf\xbdOrg\xef\xbf\xbd",
     "dmarc@example.org", "r-1",
     "repaired: line 4: Input is not proper UTF-8, indicate encoding ! "
     "Bytes: 0x91 0x4F 0x72 0x67"},
    {"bad/control-char.xml", "Example Org", "dmarc@example.org", "r-1",
     "repaired: line 16: xmlParseComment: invalid xmlChar value 7"},
    {"bad/malformed-close.xml", "Example Org", "dmarc@example.org", "2025",
     "repaired: line 6: malformed closing tag after <report_id>"},
    {"bad/leading-whitespace.xml", "Example Org", "dmarc@example.org", "r-1",
     "repaired: line 4: XML declaration allowed only at the start of the "
     "document"},
    {"bad/utf8-bom.xml", "Example Org", "dmarc@example.org", "r-1", NULL},
    {"bad/utf16-bom.xml", "Ex\xc3\xa4mple Org", "dmarc@example.org", "r-1",
     NULL},
    {"bad/windows-1252.xml", "Soci\xc3\xa9t\xc3\xa9 \xe2\x82\xacuro",
     "dmarc@example.org", "r-1", NULL},
    {"bad/one-line.xml", "Example Org", "dmarc@example.org", "r-1", NULL},
};

START_TEST(test_damaged_report_is_repaired)
{
    const struct damaged *d = &damaged[_i];
    const sift_record *r;
    parse p;

    parse_fixture(&p, d->file);
    ck_assert_msg(p.rc == SIFT_OK, "%s: rc=%d %s: %s", d->file, p.rc,
                  p.err.where, p.err.msg);
    ck_assert_pstr_eq(p.m->org_name, d->org_name);
    ck_assert_pstr_eq(p.m->email, d->email);
    ck_assert_pstr_eq(p.m->report_id, d->report_id);
    ck_assert_int_eq(p.m->begin, 1700000000);
    ck_assert_int_eq(p.m->end, 1700086399);
    ck_assert_pstr_eq(p.m->domain, "example.com");
    ck_assert_pstr_eq(p.m->p, "none");
    r = next_rec(&p);
    ck_assert_pstr_eq(r->source_ip, "192.0.2.1");
    ck_assert_uint_eq(r->count, 2);
    ck_assert_pstr_eq(r->disposition, "none");
    ck_assert_pstr_eq(r->dkim, "pass");
    ck_assert_pstr_eq(r->spf, "fail");
    ck_assert_pstr_eq(r->header_from, "example.com");
    ck_assert_uint_eq(r->n_dkim, 1);
    ck_assert_pstr_eq(r->dkim_results[0].domain, "example.com");
    ck_assert_pstr_eq(r->dkim_results[0].result, "pass");
    if (strcmp(d->file, "bad/control-char.xml") == 0) {
        ck_assert_uint_eq(r->n_reasons, 1);
        ck_assert_pstr_eq(r->reasons[0].comment, "arc=pass as2");
    }
    expect_end(&p);
    if (d->warning == NULL) {
        if (p.m->n_warnings)
            dump_warnings(p.m);
        ck_assert_uint_eq(p.m->n_warnings, 0);
    } else
        ck_warning(p.m, d->warning);
    parse_done(&p);
}
END_TEST

/* --- reports that must fail, with the exact message --------------------- */

static const struct failing {
    const char *file;
    int rc;
    const char *where;
    const char *msg;
} failing[] = {
    {"bad/count-3x.xml", SIFT_EFORMAT, "bad/count-3x.xml:11",
     "<count>: not an integer: '3x'"},
    {"bad/missing-report-id.xml", SIFT_EFORMAT, "bad/missing-report-id.xml",
     "missing <report_id>"},
    {"bad/missing-org-email.xml", SIFT_EFORMAT, "bad/missing-org-email.xml",
     "missing <org_name> and <email>"},
    {"bad/missing-domain.xml", SIFT_EFORMAT, "bad/missing-domain.xml",
     "missing <policy_published><domain>"},
    {"bad/missing-date-range.xml", SIFT_EFORMAT, "bad/missing-date-range.xml",
     "missing <date_range>"},
    {"bad/missing-end.xml", SIFT_EFORMAT, "bad/missing-end.xml",
     "missing <date_range><end>"},
    {"bad/not-dmarc.xml", SIFT_ENOTREPORT, "bad/not-dmarc.xml:2",
     "not a DMARC aggregate report: root element <html>"},
    {"bad/truncated.xml", SIFT_EFORMAT, "bad/truncated.xml:10",
     "truncated report: record 1 not closed"},
    {"bad/garbage.xml", SIFT_EFORMAT, "bad/garbage.xml:1",
     "malformed XML: Document is empty"},
    {"bad/empty.xml", SIFT_EFORMAT, "bad/empty.xml", "empty document"},
};

START_TEST(test_bad_report_fails_with_message)
{
    const struct failing *f = &failing[_i];
    uint64_t n;
    parse p;
    int rc;

    parse_fixture(&p, f->file);
    rc = parse_all(&p, &n);
    ck_assert_msg(rc == f->rc, "%s: rc=%d", f->file, rc);
    ck_assert_str_eq(p.err.where, f->where);
    ck_assert_str_eq(p.err.msg, f->msg);
    ck_assert_int_eq(p.err.code, f->rc);
    if (p.rc != SIFT_OK)
        ck_assert_ptr_null(p.x);
    parse_done(&p);
}
END_TEST

/* A bad value deep in a streamed report: records before it were
 * returned, then the error names the line. */
START_TEST(test_count_error_midstream_names_line)
{
    char *doc = malloc(sizeof(HEAD) + 3000 * sizeof(REC) + 64);
    const sift_record *r;
    size_t off = 0;
    uint64_t n = 0;
    parse p;
    int i, rc;

    off += (size_t)sprintf(doc + off, "%s", HEAD);
    for (i = 0; i < 3000; i++)
        off += (size_t)sprintf(doc + off, "%s", REC);
    memcpy(doc + off, TAIL, sizeof(TAIL));
    /* record k starts on line 4 + k (HEAD has 4 lines) */
    {
        char *q = doc + strlen(HEAD) + 2499 * (sizeof(REC) - 1);
        char *c = strstr(q, "<count>3</count>");
        memcpy(c, "<count>3x</count", 16);
        memmove(c + 16, c + 15, strlen(c + 15) + 1);
        c[16] = '>';
        ck_assert(strncmp(c, "<count>3x</count>", 17) == 0);
    }
    parse_mem(&p, doc, strlen(doc), "big.xml");
    free(doc);
    ck_assert_int_eq(p.rc, SIFT_OK);
    while ((rc = sift_xml_next(p.x, &r, &p.err)) == SIFT_OK) {
        ck_assert_uint_eq(r->count, 3);
        n++;
    }
    ck_assert_int_eq(rc, SIFT_EFORMAT);
    ck_assert_uint_lt(n, 2499);
    ck_assert_uint_gt(n, 2000); /* streamed: most came before the error */
    ck_assert_str_eq(p.err.where, "big.xml:2504");
    ck_assert_str_eq(p.err.msg, "<count>: not an integer: '3x'");
    /* the failure is sticky */
    ck_assert_int_eq(sift_xml_next(p.x, &r, &p.err), SIFT_EFORMAT);
    parse_done(&p);
}
END_TEST

START_TEST(test_number_overflow_rejected)
{
    static const char doc[] =
        "<feedback><report_metadata><org_name>o</org_name><report_id>1"
        "</report_id><date_range><begin>1</begin><end>2</end></date_range>"
        "</report_metadata><policy_published><domain>d.example</domain>"
        "</policy_published><record><row><source_ip>192.0.2.1</source_ip>"
        "<count>18446744073709551616</count></row></record></feedback>";
    static const char doc2[] =
        "<feedback><report_metadata><org_name>o</org_name><report_id>1"
        "</report_id><date_range><begin>9223372036854775808</begin><end>2"
        "</end></date_range></report_metadata></feedback>";
    uint64_t n;
    parse p;

    parse_mem(&p, doc, sizeof(doc) - 1, "o.xml");
    ck_assert_int_eq(parse_all(&p, &n), SIFT_EFORMAT);
    ck_assert_str_eq(p.err.msg, "<count>: out of range: "
                                "'18446744073709551616'");
    parse_done(&p);
    parse_mem(&p, doc2, sizeof(doc2) - 1, "o.xml");
    ck_assert_int_eq(p.rc, SIFT_EFORMAT);
    ck_assert_str_eq(p.err.msg, "<begin>: out of range: "
                                "'9223372036854775808'");
    ck_assert_str_eq(p.err.where, "o.xml:1");
    parse_done(&p);
}
END_TEST

/* --- hostile input ----------------------------------------------------- */

static int
mem_contains(const char *hay, size_t n, const char *needle)
{
    size_t k = strlen(needle), i;

    for (i = 0; i + k <= n; i++)
        if (memcmp(hay + i, needle, k) == 0)
            return 1;
    return 0;
}

START_TEST(test_xxe_never_reads_the_file)
{
    char *dir = sandbox(), path[512], doc[2048], *out = NULL;
    size_t outlen = 0, i, n;
    sift_memreader mr;
    sift_err err;
    FILE *fp;
    parse p;
    int rc;

    ck_assert_ptr_nonnull(dir);
    snprintf(path, sizeof(path), "%s/secret.txt", dir);
    ck_assert_int_eq(spit(path, "TOPSECRET-4242\n", 15), 0);
    n = (size_t)snprintf(
        doc, sizeof(doc),
        "<?xml version=\"1.0\"?>\n<!DOCTYPE feedback [\n"
        "<!ENTITY xxe SYSTEM \"file://%s\">\n]>\n<feedback>"
        "<report_metadata><org_name>&xxe;</org_name><email>a@b.example"
        "</email><report_id>&xxe;</report_id><date_range><begin>1</begin>"
        "<end>2</end></date_range></report_metadata><policy_published>"
        "<domain>example.com</domain></policy_published></feedback>\n",
        path);
    parse_mem(&p, doc, n, "xxe.xml");
    ck_assert_int_eq(p.rc, SIFT_EFORMAT);
    ck_assert_str_eq(p.err.msg, "DOCTYPE not allowed in a DMARC report");
    ck_assert_ptr_null(p.x);
    parse_done(&p);

    /* the inspect output carries no trace of the file either */
    fp = open_memstream(&out, &outlen);
    sift_err_clear(&err);
    rc = sift_xml_inspect(fp, sift_memreader_init(&mr, doc, n, "xxe.xml"), &lim,
                          &err);
    fclose(fp);
    ck_assert_int_eq(rc, SIFT_EFORMAT);
    ck_assert(!mem_contains(out, outlen, "TOPSECRET"));
    ck_assert_str_eq(out, "{\"input\":\"xxe.xml\",\"error\":\"xxe.xml: "
                          "DOCTYPE not allowed in a DMARC report\"}\n");
    free(out);

    /* the same document in UTF-16LE: the byte scan skips the NULs */
    {
        char *u16 = malloc(2 * n + 2);
        u16[0] = (char)0xff, u16[1] = (char)0xfe;
        for (i = 0; i < n; i++)
            u16[2 + 2 * i] = doc[i], u16[3 + 2 * i] = 0;
        parse_mem(&p, u16, 2 * n + 2, "xxe16.xml");
        free(u16);
        ck_assert_int_eq(p.rc, SIFT_EFORMAT);
        ck_assert_str_eq(p.err.msg, "DOCTYPE not allowed in a DMARC report");
        parse_done(&p);
    }
    rm_rf(dir);
    free(dir);
}
END_TEST

START_TEST(test_entity_reference_rejected)
{
    static const char doc[] =
        "<feedback><report_metadata><org_name>&ext;</org_name>"
        "</report_metadata></feedback>";
    parse p;

    parse_mem(&p, doc, sizeof(doc) - 1, "ent.xml");
    ck_assert_int_eq(p.rc, SIFT_EFORMAT);
    ck_assert_str_eq(p.err.msg,
                     "entity reference '&ext;' not allowed in a DMARC report");
    ck_assert_str_eq(p.err.where, "ent.xml:1");
    parse_done(&p);
}
END_TEST

START_TEST(test_billion_laughs_rejected_fast)
{
    char doc[4096];
    size_t n = 0;
    clock_t t0 = clock();
    parse p;
    int i;

    n += (size_t)sprintf(doc + n, "<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n"
                                  "<!ENTITY lol \"lol\">\n");
    for (i = 1; i < 10; i++) {
        int j;
        n += (size_t)sprintf(doc + n, "<!ENTITY lol%d \"", i);
        for (j = 0; j < 10; j++)
            n += (size_t)sprintf(doc + n, i == 1 ? "&lol;" : "&lol%d;", i - 1);
        n += (size_t)sprintf(doc + n, "\">\n");
    }
    n += (size_t)sprintf(doc + n, "]>\n<feedback><report_metadata><org_name>"
                                  "&lol9;</org_name></report_metadata>"
                                  "</feedback>\n");
    parse_mem(&p, doc, n, "lol.xml");
    ck_assert_int_eq(p.rc, SIFT_EFORMAT);
    ck_assert_str_eq(p.err.msg, "DOCTYPE not allowed in a DMARC report");
    ck_assert_msg(clock() - t0 < CLOCKS_PER_SEC, "too slow");
    parse_done(&p);
}
END_TEST

START_TEST(test_deep_nesting_rejected)
{
    const sift_report_meta *m;
    sift_xml *x = NULL;
    sift_err err;
    synth s;
    int rc;

    sift_err_clear(&err);
    rc = sift_xml_open(&x, &m, synth_init(&s, "<feedback>", "<a>", 100000, ""),
                       &lim, &err);
    ck_assert_int_eq(rc, SIFT_ETOOBIG);
    ck_assert_str_eq(err.msg, "element nesting deeper than 32 levels");
    ck_assert_str_eq(err.where, "synth.xml:1");
    ck_assert_uint_lt(s.produced, 65536); /* stopped early */
    ck_assert_ptr_null(x);
}
END_TEST

START_TEST(test_100mb_text_node_rejected)
{
    static char unit[4097];
    const sift_report_meta *m;
    sift_xml *x = NULL;
    sift_err err;
    synth s;
    int rc;

    memset(unit, 'A', 4096);
    sift_err_clear(&err);
    rc = sift_xml_open(&x, &m,
                       synth_init(&s, "<feedback><report_metadata><org_name>",
                                  unit, 25600, "</org_name>"),
                       &lim, &err);
    ck_assert_int_eq(rc, SIFT_ETOOBIG);
    ck_assert_str_eq(err.msg, "<org_name>: text longer than 64 KiB");
    ck_assert_uint_lt(s.produced, 1u << 20); /* 100 MB never read */
    ck_assert_ptr_null(x);
}
END_TEST

START_TEST(test_text_value_capped)
{
    size_t n = 70000;
    char *doc = malloc(n + 256);
    size_t off = 0;
    parse p;

    off += (size_t)sprintf(doc, "<feedback><report_metadata><org_name>");
    memset(doc + off, 'B', n);
    off += n;
    off += (size_t)sprintf(doc + off, "</org_name></report_metadata>"
                                      "</feedback>");
    parse_mem(&p, doc, off, "big-text.xml");
    free(doc);
    ck_assert_int_eq(p.rc, SIFT_ETOOBIG);
    ck_assert_str_eq(p.err.msg, "<org_name>: text longer than 64 KiB");
    ck_assert_str_eq(p.err.where, "big-text.xml:1");
    parse_done(&p);
}
END_TEST

/* The too-long text names its element also when the start tag is cut
 * between two of the 8 KiB chunks the raw bytes are scanned in (after the
 * '<', inside the name, after it) or has a namespace prefix: the scan
 * reads a whole name at once when it can, a byte at a time across a cut
 * (xml_reader.c, scan). */
START_TEST(test_text_limit_names_a_cut_tag)
{
    static const char head[] = "<feedback xmlns:d=\"urn:example:x\">"
                               "<report_metadata>";
    static const char tag[] = "<d:org_name>";
    static const size_t cut[] = {1, 2, 3, 6, sizeof(tag) - 2, sizeof(tag) - 1};
    /* past the raw scan's bound: a foreign element's text is not kept */
    size_t n = 300000, i;

    for (i = 0; i < sizeof(cut) / sizeof(cut[0]); i++) {
        char *doc = malloc(8192 + n + 256);
        size_t off = sizeof(head) - 1, pad = 8192 - off - cut[i];
        parse p;

        memcpy(doc, head, off);
        memset(doc + off, ' ', pad);
        off += pad;
        memcpy(doc + off, tag, sizeof(tag) - 1);
        ck_assert_int_eq(off + cut[i], 8192);
        off += sizeof(tag) - 1;
        memset(doc + off, 'B', n);
        off += n;
        off += (size_t)sprintf(doc + off, "</d:org_name></report_metadata>"
                                          "</feedback>");
        parse_mem(&p, doc, off, "cut-tag.xml");
        free(doc);
        ck_assert_msg(p.rc == SIFT_ETOOBIG, "cut %zu: %d %s", cut[i], p.rc,
                      p.err.msg);
        ck_assert_msg(
            strcmp(p.err.msg, "<org_name>: text longer than 64 KiB") == 0,
            "cut after %zu bytes of the tag: %s", cut[i], p.err.msg);
        parse_done(&p);
    }
}
END_TEST

START_TEST(test_limits_report_size_and_records)
{
    sift_limits saved = lim;
    uint64_t n;
    parse p;

    lim.max_report_size = 512;
    parse_fixture(&p, "xml/reporter.example!example.com!1700000000!"
                      "1700086399.xml");
    ck_assert_int_eq(p.rc, SIFT_ETOOBIG);
    ck_assert_str_eq(p.err.msg, "report larger than the 512 B limit");
    parse_done(&p);
    lim = saved;

    lim.max_records = 1;
    parse_fixture(&p, "xml/ns-2.0-prefixed.xml");
    ck_assert_int_eq(parse_all(&p, &n), SIFT_ETOOBIG);
    ck_assert_str_eq(p.err.msg, "more than 1 records");
    ck_assert_str_eq(p.err.where, "xml/ns-2.0-prefixed.xml:22");
    parse_done(&p);
    lim = saved;
}
END_TEST

START_TEST(test_warnings_capped)
{
    char *doc = malloc(sizeof(HEAD) + 30 * (sizeof(REC) + 8) + 64);
    size_t off = 0;
    uint64_t n;
    parse p;
    int i;

    off += (size_t)sprintf(doc, "%s", HEAD);
    for (i = 0; i < 30; i++) {
        const char *c = strstr(REC, "<disposition>none");
        off += (size_t)sprintf(doc + off, "%.*s<disposition>drop%s",
                               (int)(c - REC), REC, c + 17);
    }
    off += (size_t)sprintf(doc + off, "%s", TAIL);
    parse_mem(&p, doc, off, "w.xml");
    free(doc);
    ck_assert_int_eq(parse_all(&p, &n), SIFT_ITEROVER);
    ck_assert_uint_eq(n, 30);
    ck_assert_uint_eq(p.m->n_warnings, 21);
    ck_assert_str_eq(p.m->warnings[0],
                     "record 1: <disposition>: unknown value 'drop'");
    ck_assert_str_eq(p.m->warnings[19],
                     "record 20: <disposition>: unknown value 'drop'");
    ck_assert_str_eq(p.m->warnings[20], "... and 10 more");
    parse_done(&p);
}
END_TEST

/* A reader that fails after handing out a prefix. */
static int
broken_read(void *ctx, void *buf, size_t len, size_t *nread, sift_err *err)
{
    int *calls = ctx;

    *nread = 0;
    if ((*calls)++ == 0) {
        *nread = len < 10 ? len : 10;
        memcpy(buf, "<feedback>", *nread);
        return SIFT_OK;
    }
    return sift_err_set(err, SIFT_EIO, "read failed: disk on fire");
}

START_TEST(test_reader_error_is_passed_up)
{
    const sift_report_meta *m;
    sift_reader rd = {"broken.xml", broken_read, NULL};
    sift_xml *x = NULL;
    sift_err err;
    int calls = 0, rc;

    rd.ctx = &calls;
    sift_err_clear(&err);
    rc = sift_xml_open(&x, &m, &rd, &lim, &err);
    ck_assert_int_eq(rc, SIFT_EIO);
    ck_assert_int_eq(err.code, SIFT_EIO);
    ck_assert_str_eq(err.msg, "read failed: disk on fire");
    ck_assert_str_eq(err.where, "broken.xml");
    ck_assert_ptr_null(x);
    sift_xml_free(NULL); /* no-op */
}
END_TEST

START_TEST(test_auth_results_capped_per_record)
{
    static const char dk[] =
        "<dkim><domain>d.example</domain><result>pass</result></dkim>";
    char *doc = malloc(sizeof(HEAD) + 1100 * sizeof(dk) + 1024);
    const sift_record *r;
    size_t off = 0;
    parse p;
    int i;

    off += (size_t)sprintf(doc,
                           "%s<record><row><source_ip>192.0.2.1"
                           "</source_ip><count>1</count></row>"
                           "<auth_results>",
                           HEAD);
    for (i = 0; i < 1100; i++)
        off += (size_t)sprintf(doc + off, "%s", dk);
    off += (size_t)sprintf(doc + off, "</auth_results></record>%s", TAIL);
    parse_mem(&p, doc, off, "many.xml");
    free(doc);
    ck_assert_int_eq(p.rc, SIFT_OK);
    r = next_rec(&p);
    ck_assert_uint_eq(r->n_dkim, 1000);
    ck_assert_pstr_eq(r->dkim_results[999].domain, "d.example");
    expect_end(&p);
    ck_assert_uint_eq(p.m->n_warnings, 1);
    ck_warning(p.m, "record 1: more than 1000 <dkim>; rest ignored");
    parse_done(&p);
}
END_TEST

START_TEST(test_drain_after_open)
{
    const sift_record *r;
    parse p;

    parse_fixture(&p, "xml/ns-2.0-prefixed.xml");
    ck_assert_int_eq(p.rc, SIFT_OK);
    ck_assert_int_eq(sift_xml_drain(p.x, &p.err), SIFT_OK);
    ck_assert_int_eq(sift_xml_drain(p.x, &p.err), SIFT_OK);
    ck_assert_int_eq(sift_xml_next(p.x, &r, &p.err), SIFT_ITEROVER);
    ck_assert_uint_eq(sift_xml_records(p.x), 0);
    parse_done(&p);
}
END_TEST

/* --- streaming, hashing ------------------------------------------------ */

START_TEST(test_many_records_stream)
{
    const sift_report_meta *m;
    const sift_record *r;
    sift_xml *x = NULL;
    uint64_t n = 0;
    sift_err err;
    synth s;
    int rc;

    sift_err_clear(&err);
    rc = sift_xml_open(&x, &m, synth_init(&s, HEAD, REC, 50000, TAIL), &lim,
                       &err);
    ck_assert_int_eq(rc, SIFT_OK);
    ck_assert_uint_lt(s.produced, 65536); /* open stops at the 1st record */
    while ((rc = sift_xml_next(x, &r, &err)) == SIFT_OK) {
        ck_assert_pstr_eq(r->source_ip, "192.0.2.9");
        n++;
    }
    ck_assert_int_eq(rc, SIFT_ITEROVER);
    ck_assert_uint_eq(n, 50000);
    ck_assert_uint_eq(sift_xml_records(x), 50000);
    ck_assert_uint_eq(sift_xml_messages(x), 150000);
    ck_assert_uint_eq(m->n_warnings, 0);
    sift_xml_free(x);
}
END_TEST

static char *
inspect_to_string(sift_reader *in, int *rc)
{
    char *out = NULL;
    size_t len = 0;
    sift_err err;
    FILE *fp = open_memstream(&out, &len);

    sift_err_clear(&err);
    *rc = sift_xml_inspect(fp, in, &lim, &err);
    fclose(fp);
    return out;
}

START_TEST(test_one_byte_reads_give_same_result)
{
    const char *rel = "xml/quirks.xml";
    char *buf, *a, *b;
    sift_memreader mr;
    trickle t;
    size_t len;
    int rc;

    buf = slurp(fixture(rel), &len);
    ck_assert_ptr_nonnull(buf);
    a = inspect_to_string(sift_memreader_init(&mr, buf, len, rel), &rc);
    ck_assert_int_eq(rc, SIFT_OK);
    memset(&t, 0, sizeof(t));
    t.r.name = rel;
    t.r.read = trickle_read;
    t.r.ctx = &t;
    t.p = buf;
    t.len = len;
    b = inspect_to_string(&t.r, &rc);
    ck_assert_int_eq(rc, SIFT_OK);
    ck_assert_str_eq(a, b);
    free(a);
    free(b);
    free(buf);
}
END_TEST

static sift_hash128
full_hash(const char *doc, size_t n, int drain)
{
    const sift_report_meta *m;
    const sift_record *r;
    sift_memreader mr;
    sift_xml *x = NULL;
    sift_err err;
    sift_hash128 h;
    int rc;

    rc = sift_xml_open(&x, &m, sift_memreader_init(&mr, doc, n, "h.xml"), &lim,
                       &err);
    ck_assert_int_eq(rc, SIFT_OK);
    if (drain)
        ck_assert_int_eq(sift_xml_drain(x, &err), SIFT_OK);
    else
        while ((rc = sift_xml_next(x, &r, &err)) == SIFT_OK)
            ;
    h = sift_xml_content_hash(x);
    sift_xml_free(x);
    return h;
}

START_TEST(test_content_hash_ignores_whitespace)
{
    size_t n = strlen(HEAD) + 3000 * strlen(REC) + strlen(TAIL);
    char *lf = malloc(n + 1), *crlf = malloc(2 * n + 1), *p;
    size_t i, m = 0;
    sift_hash128 h1, h2, h3, h4;

    p = lf;
    p += sprintf(p, "%s", HEAD);
    for (i = 0; i < 3000; i++)
        p += sprintf(p, "%s", REC);
    sprintf(p, "%s", TAIL);
    for (i = 0; i < n; i++) {
        if (lf[i] == '\n')
            crlf[m++] = '\r';
        crlf[m++] = lf[i];
    }
    h1 = full_hash(lf, n, 0);
    h2 = full_hash(crlf, m, 0);
    h3 = full_hash(lf, n, 1); /* drained after open: all bytes hashed */
    ck_assert(sift_hash128_eq(h1, h2));
    ck_assert(sift_hash128_eq(h1, h3));
    lf[n - 20] = 'X'; /* inside the last record's tags: content differs */
    p = strstr(lf + n - 400, "192.0.2.9");
    p[8] = '8';
    h4 = full_hash(lf, n, 1);
    ck_assert(!sift_hash128_eq(h1, h4));
    free(lf);
    free(crlf);
}
END_TEST

/* --- inspect ----------------------------------------------------------- */

START_TEST(test_inspect_exact_output)
{
    static const char expect[] =
        "{\"input\":\"xml/ns-0.1.xml\",\"version\":\"1.0\",\"namespace\":"
        "\"http://dmarc.org/dmarc-xml/0.1\",\"report_metadata\":{"
        "\"org_name\":\"Outlook-like\",\"email\":"
        "\"dmarcreport@outlook.example\",\"extra_contact_info\":null,"
        "\"report_id\":\"ns01-1\",\"date_range\":{\"begin\":1711756800,"
        "\"end\":1711843200},\"errors\":[],\"generator\":null},"
        "\"policy_published\":{\"domain\":\"example.com\",\"adkim\":null,"
        "\"aspf\":null,\"p\":\"quarantine\",\"sp\":null,\"np\":null,"
        "\"pct\":null,\"fo\":null,\"testing\":null,\"discovery_method\":null},"
        "\"records\":[{\"row\":{\"source_ip\":\"198.51.100.7\",\"count\":4,"
        "\"policy_evaluated\":{\"disposition\":\"quarantine\",\"dkim\":"
        "\"fail\",\"spf\":\"fail\",\"reasons\":[]}},\"identifiers\":{"
        "\"header_from\":\"example.com\",\"envelope_from\":\"example.com\","
        "\"envelope_to\":\"example.org\"},\"auth_results\":{\"dkim\":[],"
        "\"spf\":[{\"domain\":\"example.com\",\"scope\":\"mfrom\",\"result\":"
        "\"fail\",\"human_result\":null}]}}],\"warnings\":[]}\n";
    const char *rel = "xml/ns-0.1.xml";
    sift_memreader mr;
    char *buf, *out;
    size_t len;
    int rc;

    buf = slurp(fixture(rel), &len);
    out = inspect_to_string(sift_memreader_init(&mr, buf, len, rel), &rc);
    ck_assert_int_eq(rc, SIFT_OK);
    ck_assert_str_eq(out, expect);
    free(out);
    free(buf);
}
END_TEST

START_TEST(test_inspect_error_midway_is_valid_json)
{
    const char *rel = "bad/truncated.xml";
    sift_memreader mr;
    char *buf, *out;
    size_t len;
    int rc;

    buf = slurp(fixture(rel), &len);
    out = inspect_to_string(sift_memreader_init(&mr, buf, len, rel), &rc);
    ck_assert_int_eq(rc, SIFT_EFORMAT);
    ck_assert_ptr_nonnull(strstr(out, "\"records\":[],\"warnings\":["));
    ck_assert_ptr_nonnull(
        strstr(out, "],\"error\":\"bad/truncated.xml:10: truncated report: "
                    "record 1 not closed\"}\n"));
    ck_assert_ptr_eq(strchr(out, '\n'), out + strlen(out) - 1); /* 1 line */
    free(out);
    free(buf);
}
END_TEST

/* --- the real-world corpus --------------------------------------------- */

/* ok rows whose values are invalid though the XML is well-formed */
static const struct {
    const char *file, *msg;
} corpus_fail[] = {
    {"stuartmaxwell__dmarc-report/tests/reports/dmarc-invalid-2.xml",
     "missing <date_range>"},
    {"stuartmaxwell__dmarc-report/tests/reports/dmarc-invalid-3.xml",
     "<begin>: not an integer: 'not-a-number'"},
};

START_TEST(test_corpus)
{
    char path[4096], *tsv, *line, *save = NULL;
    unsigned ok = 0, err_handled = 0, expected_fail = 0;

    if (!corpus_present("check_xml"))
        return;
    snprintf(path, sizeof(path), "%s/stats.tsv", SIFT_CORPUS);
    tsv = slurp(path, NULL);
    ck_assert_ptr_nonnull(tsv);
    for (line = strtok_r(tsv, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        char *col[8], *s = line;
        unsigned c, k;
        const char *want_fail = NULL;
        uint64_t n = 0, msgs = 0;
        const sift_record *r;
        parse p;
        char *buf;
        size_t len;
        int rc;

        for (c = 0; c < 8; c++) {
            col[c] = s;
            s = strchr(s, '\t');
            if (s == NULL)
                break;
            *s++ = '\0';
        }
        if (c < 7 || strcmp(col[1], "-") != 0 ||
            strcmp(col[0], "source_file") == 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", SIFT_CORPUS, col[0]);
        buf = slurp(path, &len);
        ck_assert_msg(buf != NULL, "cannot read %s", path);
        parse_mem(&p, buf, len, col[0]);
        free(buf);
        rc = p.rc;
        if (rc == SIFT_OK) {
            while ((rc = sift_xml_next(p.x, &r, &p.err)) == SIFT_OK) {
                n++;
                msgs += r->count;
            }
        }
        for (k = 0; k < sizeof(corpus_fail) / sizeof(corpus_fail[0]); k++)
            if (strcmp(col[0], corpus_fail[k].file) == 0)
                want_fail = corpus_fail[k].msg;
        if (strcmp(col[7], "ok") == 0 && want_fail == NULL) {
            ck_assert_msg(rc == SIFT_ITEROVER, "%s: %s: %s", col[0],
                          p.err.where, p.err.msg);
            ck_assert_msg(n == strtoull(col[2], NULL, 10),
                          "%s: %" PRIu64 " records, want %s", col[0], n,
                          col[2]);
            ck_assert_msg(msgs == strtoull(col[3], NULL, 10),
                          "%s: %" PRIu64 " messages, want %s", col[0], msgs,
                          col[3]);
            ok++;
        } else if (want_fail != NULL) {
            ck_assert_int_eq(rc, SIFT_EFORMAT);
            ck_assert_str_eq(p.err.msg, want_fail);
            expected_fail++;
        } else if (strcmp(col[7], "err") == 0) {
            if (rc == SIFT_ITEROVER)
                ck_assert_msg(p.m->n_warnings >= 1, "%s: no warning", col[0]);
            else {
                ck_assert_msg(p.err.msg[0] != '\0', "%s: empty error", col[0]);
                ck_assert_ptr_null(strchr(p.err.msg, '\n'));
            }
            err_handled++;
        }
        parse_done(&p);
    }
    free(tsv);
    printf("check_xml: corpus: %u ok matched, %u err handled, %u invalid "
           "values rejected as expected\n",
           ok, err_handled, expected_fail);
    ck_assert_uint_gt(ok, 40);
}
END_TEST

static Suite *
xml_suite(void)
{
    Suite *s = suite_create("xml");
    TCase *tc;

    tc = tcase_create("dialects");
    tcase_add_test(tc, test_rfc7489_every_field);
    tcase_add_test(tc, test_ns_01_with_xsd_xsi);
    tcase_add_test(tc, test_ns_02_extension_and_foreign_elements_skipped);
    tcase_add_test(tc, test_ns_20_default_rfc9990_fields);
    tcase_add_test(tc, test_ns_20_prefixed_version_absent);
    suite_add_tcase(s, tc);

    tc = tcase_create("values");
    tcase_add_test(tc, test_quirks_normalised);
    tcase_add_test(tc, test_invalid_source_ip_keeps_record_without_ip);
    tcase_add_test(tc, test_empty_source_ip_keeps_record_without_ip);
    tcase_add_test(tc, test_empty_record_is_ignored_with_warning);
    tcase_add_test(tc, test_number_overflow_rejected);
    tcase_add_test(tc, test_warnings_capped);
    suite_add_tcase(s, tc);

    tc = tcase_create("damaged");
    tcase_add_loop_test(tc, test_damaged_report_is_repaired, 0,
                        sizeof(damaged) / sizeof(damaged[0]));
    tcase_add_loop_test(tc, test_bad_report_fails_with_message, 0,
                        sizeof(failing) / sizeof(failing[0]));
    tcase_add_test(tc, test_count_error_midstream_names_line);
    suite_add_tcase(s, tc);

    tc = tcase_create("hostile");
    tcase_add_test(tc, test_xxe_never_reads_the_file);
    tcase_add_test(tc, test_entity_reference_rejected);
    tcase_add_test(tc, test_billion_laughs_rejected_fast);
    tcase_add_test(tc, test_deep_nesting_rejected);
    tcase_add_test(tc, test_100mb_text_node_rejected);
    tcase_add_test(tc, test_text_value_capped);
    tcase_add_test(tc, test_text_limit_names_a_cut_tag);
    tcase_add_test(tc, test_limits_report_size_and_records);
    tcase_add_test(tc, test_reader_error_is_passed_up);
    tcase_add_test(tc, test_auth_results_capped_per_record);
    suite_add_tcase(s, tc);

    tc = tcase_create("stream");
    tcase_add_test(tc, test_many_records_stream);
    tcase_add_test(tc, test_one_byte_reads_give_same_result);
    tcase_add_test(tc, test_content_hash_ignores_whitespace);
    tcase_add_test(tc, test_drain_after_open);
    suite_add_tcase(s, tc);

    tc = tcase_create("inspect");
    tcase_add_test(tc, test_inspect_exact_output);
    tcase_add_test(tc, test_inspect_error_midway_is_valid_json);
    suite_add_tcase(s, tc);

    tc = tcase_create("corpus");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_corpus);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr;
    int failed;

    sift_xml_init();
    sr = srunner_create(xml_suite());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
