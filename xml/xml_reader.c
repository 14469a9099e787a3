/* xml_reader.c -- DMARC aggregate report parser: libxml2 SAX2 push parser in
 * recover mode, fed in small chunks pulled from a sift_reader.
 *
 * Invariants: memory is bounded per chunk and per record, never per report
 * (records completed while one chunk is parsed wait in a queue whose arena is
 * reset when it drains); no DTD, entity or external resource is ever
 * processed; every byte read is hashed, counted against max_report_size and
 * scanned for "<!DOCTYPE"/"<!ENTITY" (NUL bytes skipped, so UTF-16 too). */
#include "sift_xml.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/SAX2.h>

#include "sift_json.h"
#include "sift_util.h"
#include "xml_int.h"

#define CHUNK 8192       /* bytes fed to libxml2 per call */
#define MAX_WARNINGS 20  /* kept; then one "... and N more" line */
#define MAX_ERRORS 64    /* <error> elements kept per report */
#define MAX_RESULTS 1000 /* <dkim>, <spf>, <reason> kept per record */
#define RECORD_MAX (16u << 20)
#define QUEUE_MAX (256u << 20)
#define META_MAX (16u << 20)

/* Containers: elements whose children we interpret. */
enum ctr {
    C_NONE = 0,
    C_FEEDBACK,
    C_META,
    C_DATE,
    C_POLICY,
    C_RECORD,
    C_ROW,
    C_PE,
    C_REASON,
    C_IDENT,
    C_AUTH,
    C_ADKIM,
    C_ASPF
};

/* Leaves: elements whose text is a value. */
enum fld {
    F_NONE = 0,
    F_VERSION,
    F_ORG,
    F_EMAIL,
    F_EXTRA,
    F_RID,
    F_BEGIN,
    F_END,
    F_ERROR,
    F_GENERATOR,
    F_PDOMAIN,
    F_ADKIM,
    F_ASPF,
    F_P,
    F_SP,
    F_NP,
    F_PCT,
    F_FO,
    F_TESTING,
    F_DISCOVERY,
    F_IP,
    F_COUNT,
    F_DISP,
    F_PE_DKIM,
    F_PE_SPF,
    F_TYPE,
    F_COMMENT,
    F_HFROM,
    F_EFROM,
    F_ETO,
    F_DK_DOMAIN,
    F_DK_SELECTOR,
    F_DK_RESULT,
    F_DK_HUMAN,
    F_SPF_DOMAIN,
    F_SPF_SCOPE,
    F_SPF_RESULT,
    F_SPF_HUMAN
};

static const struct rule {
    const char *name;
    unsigned char ctx; /* enum ctr the element must be inside */
    unsigned char ctr; /* container it opens, or */
    unsigned char fld; /* leaf it is */
} rules[] = {
    {"report_metadata", C_FEEDBACK, C_META, 0},
    {"policy_published", C_FEEDBACK, C_POLICY, 0},
    {"policy_published", C_META, C_POLICY, 0}, /* recovery nesting */
    {"date_range", C_META, C_DATE, 0},
    {"data_range", C_META, C_DATE, 0}, /* misspelling seen in the wild */
    {"row", C_RECORD, C_ROW, 0},
    {"policy_evaluated", C_ROW, C_PE, 0},
    {"policy_evaluated", C_RECORD, C_PE, 0},
    {"reason", C_PE, C_REASON, 0},
    {"identifiers", C_RECORD, C_IDENT, 0},
    {"identities", C_RECORD, C_IDENT, 0},
    {"auth_results", C_RECORD, C_AUTH, 0},
    {"dkim", C_AUTH, C_ADKIM, 0},
    {"spf", C_AUTH, C_ASPF, 0},
    {"version", C_FEEDBACK, 0, F_VERSION},
    {"org_name", C_META, 0, F_ORG},
    {"email", C_META, 0, F_EMAIL},
    {"extra_contact_info", C_META, 0, F_EXTRA},
    {"report_id", C_META, 0, F_RID},
    {"error", C_META, 0, F_ERROR},
    {"generator", C_META, 0, F_GENERATOR},
    {"begin", C_DATE, 0, F_BEGIN},
    {"end", C_DATE, 0, F_END},
    {"domain", C_POLICY, 0, F_PDOMAIN},
    {"adkim", C_POLICY, 0, F_ADKIM},
    {"aspf", C_POLICY, 0, F_ASPF},
    {"p", C_POLICY, 0, F_P},
    {"sp", C_POLICY, 0, F_SP},
    {"np", C_POLICY, 0, F_NP},
    {"pct", C_POLICY, 0, F_PCT},
    {"fo", C_POLICY, 0, F_FO},
    {"testing", C_POLICY, 0, F_TESTING},
    {"discovery_method", C_POLICY, 0, F_DISCOVERY},
    {"source_ip", C_ROW, 0, F_IP},
    {"source_ip", C_RECORD, 0, F_IP},
    {"count", C_ROW, 0, F_COUNT},
    {"count", C_RECORD, 0, F_COUNT},
    {"disposition", C_PE, 0, F_DISP},
    {"dkim", C_PE, 0, F_PE_DKIM},
    {"spf", C_PE, 0, F_PE_SPF},
    {"type", C_REASON, 0, F_TYPE},
    {"comment", C_REASON, 0, F_COMMENT},
    {"header_from", C_IDENT, 0, F_HFROM},
    {"envelope_from", C_IDENT, 0, F_EFROM},
    {"envelope_to", C_IDENT, 0, F_ETO},
    {"domain", C_ADKIM, 0, F_DK_DOMAIN},
    {"selector", C_ADKIM, 0, F_DK_SELECTOR},
    {"result", C_ADKIM, 0, F_DK_RESULT},
    {"human_result", C_ADKIM, 0, F_DK_HUMAN},
    {"domain", C_ASPF, 0, F_SPF_DOMAIN},
    {"scope", C_ASPF, 0, F_SPF_SCOPE},
    {"result", C_ASPF, 0, F_SPF_RESULT},
    {"human_result", C_ASPF, 0, F_SPF_HUMAN},
};

/* How a leaf's text is normalised, and how it is named in messages. */
enum kind { K_TEXT, K_ENUM, K_DOMAIN, K_SPECIAL };

static const char *const w_align[] = {"r", "s", NULL};
static const char *const w_policy[] = {"none", "quarantine", "reject", NULL};
static const char *const w_testing[] = {"n", "y", NULL};
static const char *const w_discovery[] = {"psl", "treewalk", NULL};
static const char *const w_disp[] = {"none", "quarantine", "reject", "pass",
                                     NULL};
static const char *const w_passfail[] = {"pass", "fail", NULL};
static const char *const w_reason[] = {
    "forwarded",    "sampled_out", "trusted_forwarder", "mailing_list",
    "local_policy", "other",       "policy_test_mode",  NULL};
static const char *const w_dkim[] = {"none",      "pass",    "fail",
                                     "policy",    "neutral", "temperror",
                                     "permerror", NULL};
/* "unknown" and "error" are RFC 7489's legacy words: kept, not warned */
static const char *const w_spf[] = {
    "none",      "neutral", "pass",    "fail",  "softfail", "temperror",
    "permerror", "policy",  "unknown", "error", NULL};
static const char *const w_scope[] = {"helo", "mfrom", NULL};

static const struct fldinfo {
    const char *label; /* "<p>" or "<spf><result>" */
    unsigned char kind;
    const char *const *words;
} flds[] = {
    [F_NONE] = {"", K_TEXT, NULL},
    [F_VERSION] = {"<version>", K_TEXT, NULL},
    [F_ORG] = {"<org_name>", K_TEXT, NULL},
    [F_EMAIL] = {"<email>", K_TEXT, NULL},
    [F_EXTRA] = {"<extra_contact_info>", K_TEXT, NULL},
    [F_RID] = {"<report_id>", K_TEXT, NULL},
    [F_BEGIN] = {"<begin>", K_SPECIAL, NULL},
    [F_END] = {"<end>", K_SPECIAL, NULL},
    [F_ERROR] = {"<error>", K_TEXT, NULL},
    [F_GENERATOR] = {"<generator>", K_TEXT, NULL},
    [F_PDOMAIN] = {"<policy_published><domain>", K_DOMAIN, NULL},
    [F_ADKIM] = {"<adkim>", K_ENUM, w_align},
    [F_ASPF] = {"<aspf>", K_ENUM, w_align},
    [F_P] = {"<p>", K_ENUM, w_policy},
    [F_SP] = {"<sp>", K_ENUM, w_policy},
    [F_NP] = {"<np>", K_ENUM, w_policy},
    [F_PCT] = {"<pct>", K_SPECIAL, NULL},
    [F_FO] = {"<fo>", K_TEXT, NULL},
    [F_TESTING] = {"<testing>", K_ENUM, w_testing},
    [F_DISCOVERY] = {"<discovery_method>", K_ENUM, w_discovery},
    [F_IP] = {"<source_ip>", K_SPECIAL, NULL},
    [F_COUNT] = {"<count>", K_SPECIAL, NULL},
    [F_DISP] = {"<disposition>", K_ENUM, w_disp},
    [F_PE_DKIM] = {"<policy_evaluated><dkim>", K_ENUM, w_passfail},
    [F_PE_SPF] = {"<policy_evaluated><spf>", K_ENUM, w_passfail},
    [F_TYPE] = {"<reason><type>", K_ENUM, w_reason},
    [F_COMMENT] = {"<reason><comment>", K_TEXT, NULL},
    [F_HFROM] = {"<header_from>", K_SPECIAL, NULL},
    [F_EFROM] = {"<envelope_from>", K_DOMAIN, NULL},
    [F_ETO] = {"<envelope_to>", K_DOMAIN, NULL},
    [F_DK_DOMAIN] = {"<dkim><domain>", K_DOMAIN, NULL},
    [F_DK_SELECTOR] = {"<dkim><selector>", K_TEXT, NULL},
    [F_DK_RESULT] = {"<dkim><result>", K_ENUM, w_dkim},
    [F_DK_HUMAN] = {"<dkim><human_result>", K_TEXT, NULL},
    [F_SPF_DOMAIN] = {"<spf><domain>", K_DOMAIN, NULL},
    [F_SPF_SCOPE] = {"<spf><scope>", K_ENUM, w_scope},
    [F_SPF_RESULT] = {"<spf><result>", K_ENUM, w_spf},
    [F_SPF_HUMAN] = {"<spf><human_result>", K_TEXT, NULL},
};

/* One open element. */
enum fkind { FR_SKIP, FR_TRANSPARENT, FR_CTR, FR_LEAF };
typedef struct frame {
    unsigned char kind, id, committed;
    unsigned long line;
} frame;

#define RULE_CACHE 61
struct rcache {
    const xmlChar *name;
    unsigned ctx;
    const struct rule *rule;
};

/* Growable array reused across records (no per-record malloc churn). */
typedef struct vec {
    void *p;
    size_t n, cap;
} vec;

struct sift_xml {
    sift_reader *in;
    sift_limits lim;
    xmlParserCtxtPtr ctxt;
    sift_xml__arena meta_arena, build_arena, queue_arena;
    sift_report_meta meta;
    sift_buf text; /* text of the open leaf */
    sift_buf fix;  /* its UTF-8 repair, when needed */

    /* byte-level state */
    uint64_t nbytes, nonspace;
    sift_hasher hash;             /* XXH3-128 of the non-whitespace bytes */
    unsigned m_doctype, m_entity; /* matcher positions */
    size_t text_run;              /* bytes since the last '<' */
    unsigned tagstate, taglen;
    char tag[64], lasttag[64]; /* last start tag seen in the raw bytes */

    /* parse state */
    frame *stack;
    unsigned depth;
    int root_seen, root_done, first_record, eof, drained;
    const char *root_ns;
    int have_begin, have_end, policy_blocks, meta_blocks, pct_seen;
    int meta_done;
    const char **errors;
    size_t n_errors;

    /* the record being built */
    int in_record, rec_bad_ip, rec_have_count;
    uint64_t rec_no;
    sift_record cur;
    vec reasons, dkims, spfs;
    int warned_many;

    /* completed records waiting to be returned */
    sift_record **queue;
    size_t qlen, qhead, qcap;
    uint64_t records, messages;

    /* warnings */
    const char *warn[MAX_WARNINGS + 1];
    uint64_t n_warn_total;
    char more[64];
    char prebuf[48];

    /* first fatal libxml2 error (used when nothing usable was found) */
    char xml_msg[256];
    int enc_failed; /* libxml2 halted on a charset conversion error */
    unsigned long xml_line;

    struct rcache rcache[RULE_CACHE];

    /* sticky failure */
    int rc;
    sift_err err;
};

/* --- errors and warnings ---------------------------------------------- */

static unsigned long
cur_line(sift_xml *x)
{
    if (x->ctxt == NULL || x->ctxt->input == NULL)
        return 0;
    return (unsigned long)x->ctxt->input->line;
}

/* Record the first failure; later ones are consequences. Stops libxml2. */
static int failv(sift_xml *x, sift_code code, unsigned long line,
                 const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));
static int
failv(sift_xml *x, sift_code code, unsigned long line, const char *fmt,
      va_list ap)
{
    if (x->rc != SIFT_OK)
        return x->rc;
    sift_err_clear(&x->err);
    sift_err_vset(&x->err, code, fmt, ap);
    if (line > 0)
        snprintf(x->err.where, sizeof(x->err.where), "%s:%lu",
                 x->in->name ? x->in->name : "-", line);
    else
        snprintf(x->err.where, sizeof(x->err.where), "%s",
                 x->in->name ? x->in->name : "-");
    for (char *s = x->err.where; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            *s = '?';
    x->rc = code;
    if (x->ctxt != NULL)
        xmlStopParser(x->ctxt);
    return code;
}

static int fail(sift_xml *x, sift_code code, unsigned long line,
                const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int
fail(sift_xml *x, sift_code code, unsigned long line, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    failv(x, code, line, fmt, ap);
    va_end(ap);
    return x->rc;
}

/* Adopt an error already described in e (allocation, limits). */
static int
fail_err(sift_xml *x, const sift_err *e, unsigned long line)
{
    return fail(x, e->code, line, "%s", e->msg);
}

static void warn(sift_xml *x, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void
warn(sift_xml *x, const char *fmt, ...)
{
    char buf[512];
    sift_err e;
    va_list ap;
    char *p, *s;

    x->n_warn_total++;
    if (x->n_warn_total > MAX_WARNINGS) {
        snprintf(x->more, sizeof(x->more), "... and %" PRIu64 " more",
                 x->n_warn_total - MAX_WARNINGS);
        x->warn[MAX_WARNINGS] = x->more;
        x->meta.n_warnings = MAX_WARNINGS + 1;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    for (s = buf; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            *s = '?';
    p = sift_xml__arena_strndup(&x->meta_arena, buf, strlen(buf), &e);
    if (p == NULL)
        return; /* a lost warning is not worth failing the report */
    x->warn[x->meta.n_warnings++] = p;
}

/* Quote at most 32 bytes of a value in messages. */
#define QV "'%.32s%s'"
#define QA(s) (s), (strlen(s) > 32 ? "..." : "")

/* libxml2's structured error handler: each error is a repair. */
static void
on_xml_error(void *ctx, xmlErrorPtr e)
{
    sift_xml *x = ctx;
    char msg[256];
    size_t n;

    if (e == NULL || e->message == NULL)
        return;
    snprintf(msg, sizeof(msg), "%s", e->message);
    for (n = 0; msg[n]; n++)
        if (msg[n] == '\n' && msg[n + 1] != '\0')
            msg[n] = ' ';
    n = strlen(msg);
    while (n > 0 && isspace((unsigned char)msg[n - 1]))
        msg[--n] = '\0';
    if (e->level == XML_ERR_FATAL && x->xml_msg[0] == '\0') {
        snprintf(x->xml_msg, sizeof(x->xml_msg), "%s", msg);
        x->xml_line = e->line > 0 ? (unsigned long)e->line : 0;
    }
    if (x->rc != SIFT_OK)
        return;
    warn(x, "repaired: line %d: %s", e->line, msg);
}

/* --- small value helpers ---------------------------------------------- */

static int
is_xml_space(int c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Trim in place; returns the start, *len the trimmed length. */
static char *
trim(char *s, size_t *len)
{
    size_t n = *len;

    while (n > 0 && is_xml_space((unsigned char)*s))
        s++, n--;
    while (n > 0 && is_xml_space((unsigned char)s[n - 1]))
        n--;
    s[n] = '\0';
    *len = n;
    return s;
}

static void
lower(char *s)
{
    for (; *s; s++)
        if (*s >= 'A' && *s <= 'Z')
            *s = (char)(*s - 'A' + 'a');
}

/* Lowercase a domain and drop one trailing dot. */
static void
norm_domain(char *s, size_t *len)
{
    lower(s);
    if (*len > 0 && s[*len - 1] == '.')
        s[--*len] = '\0';
}

/* Parse an unsigned decimal; 0 on success. */
static int
parse_u64(uint64_t *out, const char *s)
{
    uint64_t v = 0;

    if (*s == '+')
        s++;
    if (*s == '\0')
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        if (v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
            return -2;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *out = v;
    return 0;
}

/* Parse a signed decimal with an optional fraction (truncated). */
static int
parse_i64(int64_t *out, const char *s)
{
    uint64_t v = 0;
    int neg = 0;

    if (*s == '-' || *s == '+')
        neg = *s++ == '-';
    if (*s < '0' || *s > '9')
        return -1;
    for (; *s >= '0' && *s <= '9'; s++) {
        if (v > (UINT64_C(9223372036854775808) - (uint64_t)(*s - '0')) / 10)
            return -2;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    if (*s == '.') {
        for (s++; *s >= '0' && *s <= '9'; s++)
            ;
    }
    if (*s != '\0')
        return -1;
    if (!neg && v > (uint64_t)INT64_MAX)
        return -2;
    *out = neg ? (v == UINT64_C(9223372036854775808) ? INT64_MIN : -(int64_t)v)
               : (int64_t)v;
    return 0;
}

/* --- the record being built -------------------------------------------- */

static void *
vec_push(vec *v, size_t size, sift_err *e)
{
    void *np;

    if (v->n == v->cap) {
        size_t ncap = v->cap ? v->cap * 2 : 8;
        if ((np = realloc(v->p, ncap * size)) == NULL) {
            sift_err_set(e, SIFT_ENOMEM, "out of memory");
            return NULL;
        }
        v->p = np;
        v->cap = ncap;
    }
    np = (char *)v->p + v->n++ * size;
    memset(np, 0, size);
    return np;
}

static sift_dkim_result *
last_dkim(sift_xml *x)
{
    return x->dkims.n ? (sift_dkim_result *)x->dkims.p + x->dkims.n - 1 : NULL;
}

static sift_spf_result *
last_spf(sift_xml *x)
{
    return x->spfs.n ? (sift_spf_result *)x->spfs.p + x->spfs.n - 1 : NULL;
}

static sift_reason *
last_reason(sift_xml *x)
{
    return x->reasons.n ? (sift_reason *)x->reasons.p + x->reasons.n - 1 : NULL;
}

/* Once the report-level part is over (first record or end of input):
 * an empty <org_name> falls back to the domain of <email>. Running it at
 * a fixed point keeps warnings in the same order however bytes arrive. */
static void
meta_finalize(sift_xml *x)
{
    const char *at, *d;
    size_t n;
    char *v;

    if (x->meta_done)
        return;
    x->meta_done = 1;
    if ((x->meta.org_name != NULL && x->meta.org_name[0] != '\0') ||
        x->meta.email == NULL || x->meta.email[0] == '\0')
        return;
    at = strrchr(x->meta.email, '@');
    d = at ? at + 1 : x->meta.email;
    n = strlen(d);
    while (n > 0 && d[n - 1] == '>')
        n--;
    if ((v = sift_xml__arena_strndup(&x->meta_arena, d, n, NULL)) == NULL) {
        fail(x, SIFT_ENOMEM, 0, "out of memory");
        return;
    }
    lower(v);
    warn(x, "empty <org_name>: using '%s' from <email>", v);
    x->meta.org_name = v;
}

static void
record_begin(sift_xml *x, unsigned long line)
{
    meta_finalize(x);
    x->rec_no++;
    if (x->rec_no > x->lim.max_records) {
        fail(x, SIFT_ETOOBIG, line, "more than %" PRIu64 " records",
             x->lim.max_records);
        return;
    }
    sift_xml__arena_reset(&x->build_arena);
    memset(&x->cur, 0, sizeof(x->cur));
    x->cur.line = line;
    x->reasons.n = x->dkims.n = x->spfs.n = 0;
    x->in_record = 1;
    x->rec_bad_ip = 0;
    x->rec_have_count = 0;
    x->warned_many = 0;
    x->first_record = 1;
}

static const char *
qdup(sift_xml *x, const char *s, sift_err *e)
{
    if (s == NULL)
        return NULL;
    return sift_xml__arena_strndup(&x->queue_arena, s, strlen(s), e);
}

#define QDUP(dst, src)                                                         \
    do {                                                                       \
        if ((src) != NULL && ((dst) = qdup(x, (src), &e)) == NULL)             \
            goto fail;                                                         \
    } while (0)

/* Deep-copy the built record into the queue arena and enqueue it. */
static void
record_end(sift_xml *x)
{
    sift_record *r = NULL;
    const sift_record *c = &x->cur;
    sift_reason *rs = NULL;
    sift_dkim_result *dk = NULL;
    sift_spf_result *sp = NULL;
    size_t i;
    sift_err e;

    x->in_record = 0;
    if (x->rc != SIFT_OK)
        return;
    /* `<record/>` or a record of empty elements carries nothing to keep */
    if (c->source_ip == NULL && !x->rec_bad_ip && !x->rec_have_count &&
        c->disposition == NULL && c->dkim == NULL && c->spf == NULL &&
        c->header_from == NULL && c->envelope_from == NULL &&
        c->envelope_to == NULL && x->reasons.n == 0 && x->dkims.n == 0 &&
        x->spfs.n == 0) {
        warn(x, "record %" PRIu64 ": empty <record> ignored", x->rec_no);
        return;
    }
    /* A record without a usable source IP still carries messages: keep it
     * (source_ip NULL) so that no count is lost; the warning says why. */
    if (c->source_ip == NULL && !x->rec_bad_ip)
        warn(x,
             "record %" PRIu64 ": missing <source_ip>; kept without a "
             "source IP",
             x->rec_no);
    if (!x->rec_have_count) {
        fail(x, SIFT_EFORMAT, c->line, "record %" PRIu64 ": missing <count>",
             x->rec_no);
        return;
    }
    if (x->qlen == x->qcap) {
        size_t ncap = x->qcap ? x->qcap * 2 : 64;
        sift_record **nq = realloc(x->queue, ncap * sizeof(*nq));
        if (nq == NULL) {
            fail(x, SIFT_ENOMEM, 0, "out of memory");
            return;
        }
        x->queue = nq;
        x->qcap = ncap;
    }
    if ((r = sift_xml__arena_alloc(&x->queue_arena, sizeof(*r), &e)) == NULL)
        goto fail;
    *r = *c;
    QDUP(r->source_ip, c->source_ip);
    QDUP(r->disposition, c->disposition);
    QDUP(r->dkim, c->dkim);
    QDUP(r->spf, c->spf);
    QDUP(r->header_from, c->header_from);
    QDUP(r->envelope_from, c->envelope_from);
    QDUP(r->envelope_to, c->envelope_to);
    r->n_reasons = x->reasons.n;
    r->n_dkim = x->dkims.n;
    r->n_spf = x->spfs.n;
    r->reasons = NULL;
    r->dkim_results = NULL;
    r->spf_results = NULL;
    if (r->n_reasons) {
        const sift_reason *src = x->reasons.p;
        rs = sift_xml__arena_alloc(&x->queue_arena, r->n_reasons * sizeof(*rs),
                                   &e);
        if (rs == NULL)
            goto fail;
        for (i = 0; i < r->n_reasons; i++) {
            rs[i] = src[i];
            QDUP(rs[i].type, src[i].type);
            QDUP(rs[i].comment, src[i].comment);
        }
        r->reasons = rs;
    }
    if (r->n_dkim) {
        const sift_dkim_result *src = x->dkims.p;
        dk =
            sift_xml__arena_alloc(&x->queue_arena, r->n_dkim * sizeof(*dk), &e);
        if (dk == NULL)
            goto fail;
        for (i = 0; i < r->n_dkim; i++) {
            dk[i] = src[i];
            QDUP(dk[i].domain, src[i].domain);
            QDUP(dk[i].selector, src[i].selector);
            QDUP(dk[i].result, src[i].result);
            QDUP(dk[i].human_result, src[i].human_result);
        }
        r->dkim_results = dk;
    }
    if (r->n_spf) {
        const sift_spf_result *src = x->spfs.p;
        sp = sift_xml__arena_alloc(&x->queue_arena, r->n_spf * sizeof(*sp), &e);
        if (sp == NULL)
            goto fail;
        for (i = 0; i < r->n_spf; i++) {
            sp[i] = src[i];
            QDUP(sp[i].domain, src[i].domain);
            QDUP(sp[i].scope, src[i].scope);
            QDUP(sp[i].result, src[i].result);
            QDUP(sp[i].human_result, src[i].human_result);
        }
        r->spf_results = sp;
    }
    x->queue[x->qlen++] = r;
    return;
fail:
    fail_err(x, &e, c->line);
}

/* --- leaf values ------------------------------------------------------- */

/* "record N: " inside a record, else "": formatted only for a warning. */
static const char *
rec_pre(sift_xml *x)
{
    if (!x->in_record)
        return "";
    snprintf(x->prebuf, sizeof(x->prebuf), "record %" PRIu64 ": ", x->rec_no);
    return x->prebuf;
}

/* Store one normalised value. s is NUL-terminated, trimmed, mutable. */
static void
commit_value(sift_xml *x, unsigned id, unsigned long line, char *s, size_t len)
{
    const struct fldinfo *fi = &flds[id];
    sift_xml__arena *a = x->in_record ? &x->build_arena : &x->meta_arena;
    const char **slot = NULL;
    const char *v;
    sift_err e;
    int rc;

    switch (id) { /* numbers and addresses first */
    case F_BEGIN:
    case F_END: {
        int64_t t;
        int *have = id == F_BEGIN ? &x->have_begin : &x->have_end;
        if ((rc = parse_i64(&t, s)) != 0) {
            fail(x, SIFT_EFORMAT, line, "%s: %s: " QV, fi->label,
                 rc == -2 ? "out of range" : "not an integer", QA(s));
            return;
        }
        if (*have) {
            warn(x, "duplicate %s ignored", fi->label);
            return;
        }
        *have = 1;
        if (id == F_BEGIN)
            x->meta.begin = t;
        else
            x->meta.end = t;
        return;
    }
    case F_PCT: {
        uint64_t u;
        if (x->pct_seen++) {
            warn(x, "duplicate <pct> ignored");
            return;
        }
        if (len == 0)
            return;
        if (parse_u64(&u, s) != 0 || u > 100) {
            warn(x, "<pct>: not a percentage: " QV, QA(s));
            return;
        }
        x->meta.pct = (int)u;
        return;
    }
    case F_COUNT: {
        uint64_t u;
        if ((rc = parse_u64(&u, s)) != 0) {
            fail(x, SIFT_EFORMAT, line, "<count>: %s: " QV,
                 rc == -2 ? "out of range" : "not an integer", QA(s));
            return;
        }
        if (x->rec_have_count) {
            warn(x, "%sduplicate <count> ignored", rec_pre(x));
            return;
        }
        x->rec_have_count = 1;
        x->cur.count = u;
        return;
    }
    case F_IP: {
        unsigned char bin[16];
        char txt[INET6_ADDRSTRLEN];
        const char *p = s;
        int af = AF_INET;
        if (x->cur.source_ip != NULL || x->rec_bad_ip) {
            warn(x, "%sduplicate <source_ip> ignored", rec_pre(x));
            return;
        }
        if (len == 0) {
            warn(x, "%sempty <source_ip>; kept without a source IP",
                 rec_pre(x));
            x->rec_bad_ip = 1;
            return;
        }
        if (inet_pton(AF_INET, p, bin) != 1) {
            af = AF_INET6;
            if (inet_pton(AF_INET6, p, bin) != 1) {
                warn(x,
                     "%s<source_ip>: not an IP address: " QV
                     "; kept without a source IP",
                     rec_pre(x), QA(s));
                x->rec_bad_ip = 1;
                return;
            }
        }
        inet_ntop(af, bin, txt, sizeof(txt));
        if ((v = sift_xml__arena_strndup(a, txt, strlen(txt), &e)) == NULL)
            goto oom;
        x->cur.source_ip = v;
        return;
    }
    case F_HFROM: {
        char *at = strrchr(s, '@');
        if (at != NULL) {
            s = at + 1;
            len = strlen(s);
        }
        while (len > 0 && s[len - 1] == '>')
            s[--len] = '\0';
        while (*s == '<')
            s++, len--;
        norm_domain(s, &len);
        break;
    }
    default:
        break;
    }

    if (fi->kind == K_DOMAIN)
        norm_domain(s, &len);
    if (fi->kind == K_ENUM) {
        const char *const *w;
        if (len == 0)
            return; /* <sp/>, <result/>: as if absent */
        lower(s);
        for (w = fi->words; *w != NULL; w++)
            if (strcmp(*w, s) == 0)
                break;
        if (*w == NULL)
            warn(x, "%s%s: unknown value " QV, rec_pre(x), fi->label, QA(s));
    }
    if ((v = sift_xml__arena_strndup(a, s, len, &e)) == NULL)
        goto oom;

    switch (id) {
    case F_VERSION:
        slot = &x->meta.version;
        break;
    case F_ORG:
        slot = &x->meta.org_name;
        break;
    case F_EMAIL:
        slot = &x->meta.email;
        break;
    case F_EXTRA:
        slot = &x->meta.extra_contact_info;
        break;
    case F_RID:
        slot = &x->meta.report_id;
        break;
    case F_GENERATOR:
        slot = &x->meta.generator;
        break;
    case F_PDOMAIN:
        slot = &x->meta.domain;
        break;
    case F_ADKIM:
        slot = &x->meta.adkim;
        break;
    case F_ASPF:
        slot = &x->meta.aspf;
        break;
    case F_P:
        slot = &x->meta.p;
        break;
    case F_SP:
        slot = &x->meta.sp;
        break;
    case F_NP:
        slot = &x->meta.np;
        break;
    case F_FO:
        slot = &x->meta.fo;
        break;
    case F_TESTING:
        slot = &x->meta.testing;
        break;
    case F_DISCOVERY:
        slot = &x->meta.discovery_method;
        break;
    case F_DISP:
        slot = &x->cur.disposition;
        break;
    case F_PE_DKIM:
        slot = &x->cur.dkim;
        break;
    case F_PE_SPF:
        slot = &x->cur.spf;
        break;
    case F_HFROM:
        slot = &x->cur.header_from;
        break;
    case F_EFROM:
        slot = &x->cur.envelope_from;
        break;
    case F_ETO:
        slot = &x->cur.envelope_to;
        break;
    case F_TYPE:
    case F_COMMENT: {
        sift_reason *r = last_reason(x);
        if (r != NULL)
            slot = id == F_TYPE ? &r->type : &r->comment;
        break;
    }
    case F_DK_DOMAIN:
    case F_DK_SELECTOR:
    case F_DK_RESULT:
    case F_DK_HUMAN: {
        sift_dkim_result *d = last_dkim(x);
        if (d != NULL)
            slot = id == F_DK_DOMAIN     ? &d->domain
                   : id == F_DK_SELECTOR ? &d->selector
                   : id == F_DK_RESULT   ? &d->result
                                         : &d->human_result;
        break;
    }
    case F_SPF_DOMAIN:
    case F_SPF_SCOPE:
    case F_SPF_RESULT:
    case F_SPF_HUMAN: {
        sift_spf_result *p = last_spf(x);
        if (p != NULL)
            slot = id == F_SPF_DOMAIN   ? &p->domain
                   : id == F_SPF_SCOPE  ? &p->scope
                   : id == F_SPF_RESULT ? &p->result
                                        : &p->human_result;
        break;
    }
    case F_ERROR:
        if (x->n_errors >= MAX_ERRORS) {
            if (x->n_errors++ == MAX_ERRORS)
                warn(x, "more than %d <error> elements; rest ignored",
                     MAX_ERRORS);
            return;
        }
        x->errors[x->n_errors++] = v;
        x->meta.n_errors = x->n_errors;
        return;
    default:
        return;
    }
    if (slot == NULL)
        return;
    if (*slot != NULL) {
        warn(x, "%sduplicate %s ignored", rec_pre(x), fi->label);
        return;
    }
    *slot = v;
    return;
oom:
    fail_err(x, &e, line);
}

/* libxml2's recovery passes undecodable bytes through: every value we
 * hand out is UTF-8, so each bad byte becomes U+FFFD. Returns s or a
 * repaired copy in x->fix. */
static char *
utf8_fix(sift_xml *x, char *s, size_t *len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i, n;
    sift_err e;

    for (i = 0; i < *len; i += n)
        if ((n = sift_utf8_len(p + i, *len - i)) == 0)
            break;
    if (i == *len)
        return s;
    sift_buf_reset(&x->fix);
    for (i = 0; i < *len; i += n) {
        if ((n = sift_utf8_len(p + i, *len - i)) == 0) {
            n = 1;
            if (sift_buf_add(&x->fix, "\xef\xbf\xbd", 3, &e) != SIFT_OK)
                return s; /* cannot happen: fix holds 3x max_text */
        } else if (sift_buf_add(&x->fix, p + i, n, &e) != SIFT_OK)
            return s;
    }
    *len = x->fix.len;
    return x->fix.p;
}

/* A leaf ends, or recovery nested an element inside it: take its text. */
static void
commit_leaf(sift_xml *x, frame *f)
{
    char empty[1] = "", *s;
    const char *name;
    size_t len = x->text.len, nl;

    if (f->committed)
        return;
    f->committed = 1;
    s = len ? trim(x->text.p, &len) : empty;
    /* "<report_id>2025/report_id>": a closing tag that lost its '<' */
    name = strrchr(flds[f->id].label, '<') + 1; /* "report_id>" */
    nl = strlen(name);
    if (len > nl + 1 && s[len - nl - 1] == '/' &&
        memcmp(s + len - nl, name, nl) == 0) {
        len -= nl + 1;
        s[len] = '\0';
        s = trim(s, &len);
        warn(x, "repaired: line %lu: malformed closing tag after %s", f->line,
             flds[f->id].label);
    }
    s = utf8_fix(x, s, &len);
    commit_value(x, f->id, f->line, s, len);
}

/* --- SAX callbacks ----------------------------------------------------- */

static int
known_ns(const char *uri)
{
    return strcmp(uri, "http://dmarc.org/dmarc-xml/0.1") == 0 ||
           strcmp(uri, "http://dmarc.org/dmarc-xml/0.2") == 0 ||
           strcmp(uri, "urn:ietf:params:xml:ns:dmarc-2.0") == 0;
}

static void
push(sift_xml *x, unsigned kind, unsigned id, unsigned long line)
{
    frame *f = &x->stack[x->depth++];

    f->kind = (unsigned char)kind;
    f->id = (unsigned char)id;
    f->committed = 0;
    f->line = line;
}

/* Open a container: new array items, block bookkeeping. Returns 0 to
 * skip the element instead. */
static int
open_container(sift_xml *x, unsigned c, const char *name, unsigned long line)
{
    sift_err e;
    vec *v = NULL;
    size_t size = 0;
    const char *label = NULL;

    switch (c) {
    case C_META:
        if (x->meta_blocks++ > 0)
            warn(x, "line %lu: another <report_metadata>: merged", line);
        return 1;
    case C_POLICY:
        if (x->policy_blocks++ > 0) {
            warn(x, "line %lu: another <policy_published> ignored", line);
            return 0;
        }
        return 1;
    case C_DATE:
        if (strcmp(name, "data_range") == 0)
            warn(x, "repaired: line %lu: <data_range> read as <date_range>",
                 line);
        return 1;
    case C_REASON:
        v = &x->reasons, size = sizeof(sift_reason), label = "<reason>";
        break;
    case C_ADKIM:
        v = &x->dkims, size = sizeof(sift_dkim_result), label = "<dkim>";
        break;
    case C_ASPF:
        v = &x->spfs, size = sizeof(sift_spf_result), label = "<spf>";
        break;
    default:
        return 1;
    }
    if (v->n >= MAX_RESULTS) {
        if (!x->warned_many)
            warn(x, "record %" PRIu64 ": more than %d %s; rest ignored",
                 x->rec_no, MAX_RESULTS, label);
        x->warned_many = 1;
        return 0;
    }
    if (vec_push(v, size, &e) == NULL) {
        fail_err(x, &e, line);
        return 0;
    }
    return 1;
}

/* The rule for element `name` directly inside container `ctx`, or NULL.
 * libxml2 interns names in its dictionary, so a name is the same pointer
 * every time: a small direct-mapped cache skips the string compares. */
static const struct rule *
find_rule(sift_xml *x, const xmlChar *name, unsigned ctx)
{
    size_t slot = (((uintptr_t)name >> 4) ^ ctx * 7) % RULE_CACHE, i;
    struct rcache *c = &x->rcache[slot];
    const struct rule *rl = NULL;

    if (c->name == name && c->ctx == ctx)
        return c->rule;
    for (i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
        if (rules[i].ctx == ctx && rules[i].name[0] == (char)name[0] &&
            strcmp(rules[i].name, (const char *)name) == 0) {
            rl = &rules[i];
            break;
        }
    c->name = name;
    c->ctx = ctx;
    c->rule = rl;
    return rl;
}

static void
on_start(void *ctx, const xmlChar *localname, const xmlChar *prefix,
         const xmlChar *URI, int nb_namespaces, const xmlChar **namespaces,
         int nb_attributes, int nb_defaulted, const xmlChar **attributes)
{
    sift_xml *x = ctx;
    const char *name = (const char *)localname;
    const char *uri = (const char *)URI;
    unsigned long line = cur_line(x);
    const struct rule *rl = NULL;
    frame *top;
    int k;

    (void)prefix, (void)nb_namespaces, (void)namespaces;
    (void)nb_attributes, (void)nb_defaulted, (void)attributes;
    if (x->rc != SIFT_OK)
        return;
    if (x->depth >= x->lim.max_xml_depth) {
        fail(x, SIFT_ETOOBIG, line, "element nesting deeper than %u levels",
             x->lim.max_xml_depth);
        return;
    }
    top = x->depth ? &x->stack[x->depth - 1] : NULL;
    if (top != NULL && top->kind == FR_SKIP) {
        push(x, FR_SKIP, 0, line);
        return;
    }
    if (top != NULL && top->kind == FR_LEAF)
        commit_leaf(x, top); /* recovery nested something in a value */

    if (!x->root_seen) {
        if (strcmp(name, "feedback") == 0) {
            x->root_seen = 1;
            if (uri != NULL &&
                (x->root_ns = sift_xml__arena_strndup(
                     &x->meta_arena, uri, strlen(uri), NULL)) == NULL) {
                fail(x, SIFT_ENOMEM, line, "out of memory");
                return;
            }
            x->meta.namespace = x->root_ns;
            push(x, FR_CTR, C_FEEDBACK, line);
            return;
        }
        if (x->depth == 0 && strcmp(name, "schema") == 0) {
            warn(x, "repaired: line %lu: ignored stray <%s%s%s> start tag",
                 line, prefix ? (const char *)prefix : "", prefix ? ":" : "",
                 name);
            push(x, FR_TRANSPARENT, 0, line);
            return;
        }
        if (x->depth == 0) {
            fail(x, SIFT_ENOTREPORT, line,
                 "not a DMARC aggregate report: root element <%.64s>", name);
            return;
        }
        push(x, FR_SKIP, 0, line);
        return;
    }
    if (x->root_done || (uri != NULL && !known_ns(uri) &&
                         (x->root_ns == NULL || strcmp(uri, x->root_ns)))) {
        push(x, FR_SKIP, 0, line); /* extension or foreign element */
        return;
    }
    if (strcmp(name, "record") == 0) {
        if (x->in_record) {
            warn(x, "line %lu: <record> nested in a record ignored", line);
            push(x, FR_SKIP, 0, line);
            return;
        }
        record_begin(x, line);
        push(x, FR_CTR, C_RECORD, line);
        return;
    }
    /* the nearest enclosing container that gives this name a meaning;
     * a record is a barrier: report fields are not taken from inside it */
    for (k = (int)x->depth - 1; k >= 0 && rl == NULL; k--) {
        frame *f = &x->stack[k];
        if (f->kind != FR_CTR)
            continue;
        rl = find_rule(x, localname, f->id);
        if (f->id == C_RECORD)
            break;
    }
    if (rl == NULL) {
        push(x, FR_SKIP, 0, line);
        return;
    }
    if (rl->ctr) {
        if (!open_container(x, rl->ctr, name, line)) {
            push(x, FR_SKIP, 0, line);
            return;
        }
        push(x, FR_CTR, rl->ctr, line);
        return;
    }
    sift_buf_reset(&x->text);
    push(x, FR_LEAF, rl->fld, line);
}

static void
on_end(void *ctx, const xmlChar *localname, const xmlChar *prefix,
       const xmlChar *URI)
{
    sift_xml *x = ctx;
    frame *f;

    (void)localname, (void)prefix, (void)URI;
    if (x->rc != SIFT_OK || x->depth == 0)
        return;
    f = &x->stack[--x->depth];
    if (f->kind == FR_LEAF)
        commit_leaf(x, f);
    else if (f->kind == FR_CTR && f->id == C_RECORD)
        record_end(x);
    else if (f->kind == FR_CTR && f->id == C_FEEDBACK)
        x->root_done = 1;
}

static void
on_text(void *ctx, const xmlChar *ch, int len)
{
    sift_xml *x = ctx;
    frame *f;
    sift_err e;

    if (x->rc != SIFT_OK || x->depth == 0)
        return;
    f = &x->stack[x->depth - 1];
    if (f->kind != FR_LEAF || f->committed)
        return;
    if (sift_buf_add(&x->text, ch, (size_t)len, &e) != SIFT_OK) {
        if (e.code == SIFT_ETOOBIG) {
            char h[32];
            sift_fmt_size(h, sizeof(h), x->lim.max_text);
            fail(x, SIFT_ETOOBIG, f->line, "%s: text longer than %s",
                 flds[f->id].label, h);
        } else
            fail_err(x, &e, f->line);
    }
}

static void
on_doctype(void *ctx, const xmlChar *name, const xmlChar *eid,
           const xmlChar *sid)
{
    sift_xml *x = ctx;

    (void)name, (void)eid, (void)sid;
    fail(x, SIFT_EFORMAT, cur_line(x), "DOCTYPE not allowed in a DMARC report");
}

static void
on_entity_decl(void *ctx, const xmlChar *name, int type, const xmlChar *pid,
               const xmlChar *sid, xmlChar *content)
{
    (void)name, (void)type, (void)pid, (void)sid, (void)content;
    on_doctype(ctx, NULL, NULL, NULL);
}

static xmlEntityPtr
on_get_entity(void *ctx, const xmlChar *name)
{
    sift_xml *x = ctx;

    fail(x, SIFT_EFORMAT, cur_line(x),
         "entity reference '&%.32s;' not allowed in a DMARC report",
         (const char *)name);
    return NULL;
}

static xmlParserInputPtr
on_resolve(void *ctx, const xmlChar *pid, const xmlChar *sid)
{
    (void)ctx, (void)pid, (void)sid;
    return NULL;
}

static xmlParserInputPtr
deny_loader(const char *url, const char *id, xmlParserCtxtPtr ctxt)
{
    (void)url, (void)id, (void)ctxt;
    return NULL;
}

void
sift_xml_init(void)
{
    static int done;

    if (done)
        return;
    done = 1;
    xmlInitParser();
    xmlSetExternalEntityLoader(deny_loader);
}

/* --- bytes in ---------------------------------------------------------- */

static int
is_name_start(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int
is_name_char(unsigned char c)
{
    return is_name_start(c) || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
           c == ':';
}

/* ASCII whitespace, which the content hash ignores. */
static const unsigned char ws[256] = {
    [' '] = 1, ['\t'] = 1, ['\n'] = 1, ['\r'] = 1, ['\f'] = 1, ['\v'] = 1};

/* The content hash: XXH3-128 over the non-whitespace bytes, so that
 * CRLF/LF or re-indented copies hash alike. Whitespace is squeezed out
 * first without branches, then each chunk is hashed in one call. */
static void
hash_bytes(sift_xml *x, const unsigned char *p, size_t n)
{
    unsigned char tmp[CHUNK];
    size_t i, k;

    while (n > 0) {
        size_t m = n < sizeof(tmp) ? n : sizeof(tmp);
        for (i = 0, k = 0; i < m; i++) {
            tmp[k] = p[i];
            k += !ws[p[i]];
        }
        x->nonspace += k;
        sift_hasher_add(&x->hash, tmp, k);
        p += m;
        n -= m;
    }
}

/* Hash, count, and watch the raw bytes before libxml2 sees them: refuse a
 * DOCTYPE or ENTITY (also spelled in UTF-16: NUL bytes are skipped while a
 * match is pending), bound text runs (bytes between two '<'), and remember
 * the last start-tag name for that error. Outside a pending match or tag
 * name, the bytes up to the next '<' are skipped with memchr. */
static int
scan(sift_xml *x, const unsigned char *p, size_t n)
{
    static const char dt[] = "<!DOCTYPE", en[] = "<!ENTITY";
    size_t run_max = x->lim.max_text * 4 + 4096, run = x->text_run;
    unsigned md = x->m_doctype, me = x->m_entity;
    unsigned ts = x->tagstate;
    char hs[32];
    size_t i;
    int rc = SIFT_OK;

    hash_bytes(x, p, n);
    for (i = 0; i < n; i++) {
        unsigned char c = p[i];
        if (c != '<' && (md | me | ts) == 0) {
            const unsigned char *lt = memchr(p + i, '<', n - i);
            size_t end = lt != NULL ? (size_t)(lt - p) : n;
            if (run + (end - i) > run_max)
                goto toolong;
            run += end - i;
            if ((i = end) == n)
                break;
            c = '<';
        }
        if (c == '<' && i + 1 < n && is_name_start(p[i + 1])) {
            /* a start tag's name, read whole: the same state as the
             * byte-at-a-time steps below reach (md, me 0; ts 2); its end
             * (or a NUL, or the chunk's end) is theirs again */
            size_t j;
            x->taglen = 0;
            for (j = i + 1; j < n && is_name_char(p[j]); j++) {
                if (p[j] == ':')
                    x->taglen = 0;
                else if (x->taglen < sizeof(x->tag) - 1)
                    x->tag[x->taglen++] = (char)p[j];
            }
            md = me = 0;
            ts = 2;
            if ((run = j - i - 1) > run_max)
                goto toolong;
            i = j - 1;
            continue;
        }
        if (c == 0)
            continue; /* UTF-16: match on the ASCII bytes alone */
        md = (unsigned char)dt[md] == c ? md + 1 : c == '<' ? 1 : 0;
        me = (unsigned char)en[me] == c ? me + 1 : c == '<' ? 1 : 0;
        if (md == sizeof(dt) - 1 || me == sizeof(en) - 1) {
            rc = fail(x, SIFT_EFORMAT, 0,
                      "DOCTYPE not allowed in a DMARC report");
            goto out;
        }
        if (c == '<') {
            run = 0;
            ts = 1;
            x->taglen = 0;
            continue;
        }
        if (++run > run_max)
            goto toolong;
        if (ts == 0)
            continue;
        if (ts == 2 ? is_name_char(c) : is_name_start(c)) {
            if (c == ':')
                x->taglen = 0;
            else if (x->taglen < sizeof(x->tag) - 1)
                x->tag[x->taglen++] = (char)c;
            ts = 2;
        } else {
            if (ts == 2) {
                memcpy(x->lasttag, x->tag, x->taglen);
                x->lasttag[x->taglen] = '\0';
            }
            ts = 0;
        }
    }
    goto out;
toolong:
    sift_fmt_size(hs, sizeof(hs), x->lim.max_text);
    rc = fail(x, SIFT_ETOOBIG, cur_line(x), "<%s>: text longer than %s",
              x->lasttag, hs);
out:
    x->m_doctype = md;
    x->m_entity = me;
    x->tagstate = ts;
    x->text_run = run;
    return rc;
}

/* Read one chunk; *n = 0 at end of input. */
static int
pull(sift_xml *x, unsigned char *buf, size_t *n)
{
    sift_err e;
    int rc;

    sift_err_clear(&e);
    rc = sift_reader_read(x->in, buf, CHUNK, n, &e);
    if (rc != SIFT_OK) {
        sift_code code = e.code != SIFT_OK ? e.code : (sift_code)rc;
        return fail(x, code, 0, "%s", e.msg[0] ? e.msg : "read failed");
    }
    x->nbytes += *n;
    if (x->nbytes > x->lim.max_report_size) {
        char h[32];
        sift_fmt_size(h, sizeof(h), x->lim.max_report_size);
        return fail(x, SIFT_ETOOBIG, 0, "report larger than the %s limit", h);
    }
    return scan(x, buf, *n);
}

/* After the last byte: decide whether what we got is a usable report. */
static void
finish(sift_xml *x)
{
    x->eof = 1;
    if (x->rc != SIFT_OK)
        return;
    if (!x->root_seen) {
        if (x->nonspace == 0)
            fail(x, SIFT_EFORMAT, 0, "empty document");
        else if (x->xml_msg[0])
            fail(x, SIFT_EFORMAT, x->xml_line, "malformed XML: %s", x->xml_msg);
        else
            fail(x, SIFT_ENOTREPORT, 0,
                 "not a DMARC aggregate report: no root element");
        return;
    }
    if (x->in_record) {
        fail(x, SIFT_EFORMAT, x->cur.line,
             "truncated report: record %" PRIu64 " not closed", x->rec_no);
        return;
    }
    /* recover mode cannot resume after a failed conversion: whatever
     * followed is lost, so keeping the records before it would undercount */
    if (x->enc_failed)
        fail(x, SIFT_EFORMAT, x->xml_line, "malformed XML: %s", x->xml_msg);
}

/* Feed one chunk to libxml2 (or terminate it at end of input). */
static int
feed(sift_xml *x)
{
    unsigned char buf[CHUNK];
    size_t n = 0;
    int xrc;

    if (pull(x, buf, &n) != SIFT_OK)
        return x->rc;
    if (n == 0)
        xrc = xmlParseChunk(x->ctxt, NULL, 0, 1);
    else
        xrc = xmlParseChunk(x->ctxt, (const char *)buf, (int)n, 0);
    if (xrc == XML_ERR_INVALID_ENCODING && x->xml_msg[0] == '\0') {
        /* libxml2 reports a failed charset conversion only on its generic
         * channel, then halts: record it as the fatal error */
        snprintf(x->xml_msg, sizeof(x->xml_msg),
                 "bytes invalid in the declared encoding");
        x->xml_line = (unsigned long)xmlSAX2GetLineNumber(x->ctxt);
        x->enc_failed = 1;
    }
    if (n == 0)
        finish(x);
    return x->rc;
}

/* --- public API -------------------------------------------------------- */

static void
silent_generic(void *ctx, const char *fmt, ...)
{
    (void)ctx, (void)fmt;
}

static void
silent_structured(void *ctx, xmlErrorPtr e)
{
    (void)ctx, (void)e;
}

static int
setup_parser(sift_xml *x)
{
    xmlSAXHandler sax;

    memset(&sax, 0, sizeof(sax));
    sax.initialized = XML_SAX2_MAGIC;
    sax.startElementNs = on_start;
    sax.endElementNs = on_end;
    sax.characters = on_text;
    sax.cdataBlock = on_text;
    sax.internalSubset = on_doctype;
    sax.externalSubset = on_doctype;
    sax.entityDecl = on_entity_decl;
    sax.getEntity = on_get_entity;
    sax.getParameterEntity = on_get_entity;
    sax.resolveEntity = on_resolve;
    sax.serror = on_xml_error;
    /* Errors raised without a parser context (encoding conversion, I/O)
     * go to libxml2's per-thread generic handlers, which print to stderr;
     * nothing below cli/ prints. Those errors also surface as a fatal
     * parser error through on_xml_error, so dropping them loses nothing. */
    xmlSetGenericErrorFunc(NULL, silent_generic);
    xmlSetStructuredErrorFunc(NULL, silent_structured);
    x->ctxt = xmlCreatePushParserCtxt(&sax, x, NULL, 0, x->in->name);
    if (x->ctxt == NULL)
        return fail(x, SIFT_ENOMEM, 0, "out of memory");
    xmlCtxtUseOptions(x->ctxt, XML_PARSE_RECOVER | XML_PARSE_NONET |
                                   XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    return SIFT_OK;
}

static int
copy_err(sift_xml *x, sift_err *err)
{
    if (err != NULL)
        *err = x->err;
    return x->rc;
}

int
sift_xml_open(sift_xml **out, const sift_report_meta **meta, sift_reader *in,
              const sift_limits *lim, sift_err *err)
{
    sift_xml *x;
    int rc;

    *out = NULL;
    *meta = NULL;
    if ((x = calloc(1, sizeof(*x))) == NULL)
        return sift_err_set(err, SIFT_ENOMEM, "out of memory");
    x->in = in;
    x->lim = *lim;
    if (x->lim.max_xml_depth == 0)
        x->lim.max_xml_depth = 1;
    if (x->lim.max_text > (SIZE_MAX - 4096) / 4) /* keep the sums below */
        x->lim.max_text = (SIZE_MAX - 4096) / 4;
    sift_hasher_init(&x->hash);
    x->meta.pct = -1;
    x->meta.warnings = x->warn;
    sift_buf_init(&x->text, x->lim.max_text);
    sift_buf_init(&x->fix, x->lim.max_text * 3 + 3);
    sift_xml__arena_init(&x->meta_arena, 16384, META_MAX, "report metadata");
    sift_xml__arena_init(&x->build_arena, 16384, RECORD_MAX, "record");
    sift_xml__arena_init(&x->queue_arena, 65536, QUEUE_MAX, "record queue");
    x->stack = calloc(x->lim.max_xml_depth, sizeof(*x->stack));
    x->errors = calloc(MAX_ERRORS, sizeof(*x->errors));
    if (x->stack == NULL || x->errors == NULL) {
        rc = sift_err_set(err, SIFT_ENOMEM, "out of memory");
        goto fail;
    }
    x->meta.errors = x->errors;
    if (setup_parser(x) != SIFT_OK) {
        rc = copy_err(x, err);
        goto fail;
    }
    while (x->rc == SIFT_OK && !x->eof && !x->first_record)
        feed(x);
    if (x->rc == SIFT_OK) {
        const sift_report_meta *m = &x->meta;
        const char *missing = NULL;
        if (m->report_id == NULL || m->report_id[0] == '\0')
            missing = "missing <report_id>";
        else if ((m->org_name == NULL || !m->org_name[0]) &&
                 (m->email == NULL || !m->email[0]))
            missing = "missing <org_name> and <email>";
        else if (m->domain == NULL || m->domain[0] == '\0')
            missing = "missing <policy_published><domain>";
        else if (!x->have_begin && !x->have_end)
            missing = "missing <date_range>";
        else if (!x->have_begin)
            missing = "missing <date_range><begin>";
        else if (!x->have_end)
            missing = "missing <date_range><end>";
        /* a field is missing because libxml2 gave up: name the cause */
        if (missing != NULL && x->xml_msg[0] != '\0')
            fail(x, SIFT_EFORMAT, x->xml_line, "malformed XML: %s (%s)",
                 x->xml_msg, missing);
        else if (missing != NULL)
            fail(x, SIFT_EFORMAT, 0, "%s", missing);
    }
    if (x->rc == SIFT_OK)
        meta_finalize(x);
    if (x->rc != SIFT_OK) {
        rc = copy_err(x, err);
        goto fail;
    }
    *out = x;
    *meta = &x->meta;
    return SIFT_OK;
fail:
    sift_xml_free(x);
    return rc;
}

int
sift_xml_next(sift_xml *x, const sift_record **rec, sift_err *err)
{
    *rec = NULL;
    for (;;) {
        if (x->rc != SIFT_OK)
            return copy_err(x, err);
        if (x->qhead < x->qlen) {
            const sift_record *r = x->queue[x->qhead++];
            if (x->messages + r->count < x->messages) {
                fail(x, SIFT_ETOOBIG, r->line, "sum of <count> exceeds 2^64");
                return copy_err(x, err);
            }
            x->records++;
            x->messages += r->count;
            *rec = r;
            return SIFT_OK;
        }
        if (x->eof || x->drained)
            return SIFT_ITEROVER;
        x->qhead = x->qlen = 0;
        sift_xml__arena_reset(&x->queue_arena);
        feed(x);
    }
}

int
sift_xml_drain(sift_xml *x, sift_err *err)
{
    unsigned char buf[CHUNK];
    size_t n;

    if (x->rc != SIFT_OK)
        return copy_err(x, err);
    if (x->eof || x->drained)
        return SIFT_OK;
    x->drained = 1;
    x->qhead = x->qlen = 0;
    do {
        if (pull(x, buf, &n) != SIFT_OK) {
            /* a DOCTYPE further on still makes the bytes unusable */
            return copy_err(x, err);
        }
    } while (n > 0);
    return SIFT_OK;
}

int
sift_xml_hash_rest(sift_xml *x, sift_err *err)
{
    unsigned char buf[CHUNK];
    sift_err saved = x->err;
    int saved_rc = x->rc, rc = SIFT_OK;
    size_t n;

    if (x->eof || x->drained)
        return SIFT_OK;
    x->drained = 1;
    x->qhead = x->qlen = 0;
    x->rc = SIFT_OK; /* pull() and scan() stop at a set error */
    do {
        if ((rc = pull(x, buf, &n)) != SIFT_OK) {
            if (err != NULL)
                *err = x->err;
            break;
        }
    } while (n > 0);
    x->rc = saved_rc;
    x->err = saved;
    return rc;
}

sift_hash128
sift_xml_content_hash(const sift_xml *x)
{
    return sift_hasher_digest(&x->hash);
}

uint64_t
sift_xml_records(const sift_xml *x)
{
    return x->records;
}

uint64_t
sift_xml_messages(const sift_xml *x)
{
    return x->messages;
}

void
sift_xml_free(sift_xml *x)
{
    if (x == NULL)
        return;
    if (x->ctxt != NULL) {
        if (x->ctxt->myDoc != NULL)
            xmlFreeDoc(x->ctxt->myDoc);
        xmlFreeParserCtxt(x->ctxt);
    }
    sift_buf_dispose(&x->text);
    sift_buf_dispose(&x->fix);
    sift_xml__arena_dispose(&x->meta_arena);
    sift_xml__arena_dispose(&x->build_arena);
    sift_xml__arena_dispose(&x->queue_arena);
    free(x->reasons.p);
    free(x->dkims.p);
    free(x->spfs.p);
    free(x->queue);
    free(x->stack);
    free(x->errors);
    free(x);
}
