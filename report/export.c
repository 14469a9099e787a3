/* export.c -- `dmarcsift export`: one row per stored record with its
 * report's metadata and policy, its auth results and its verdict, as CSV
 * (RFC 4180, formula-neutralised) or JSON Lines.
 *
 * One SELECT steps the records in row-id order; child rows (reasons, DKIM,
 * SPF) come from correlated group_concat subqueries in the same row, so
 * memory does not grow with the number of records. */
#include "report_int.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "sift_json.h"

/* Child rows are encoded by SQL as entries separated by char(30); fields
 * separated by char(31); each field is 'N' (NULL) or 'V' + value. XML 1.0
 * cannot carry these control characters, so they cannot clash. */
#define FIELD(x) "CASE WHEN " x " IS NULL THEN 'N' ELSE 'V' || " x " END"

static const char q_export[] =
    "SELECT r.org_name, r.email, r.report_id, r.date_begin, r.date_end,"
    " r.policy_domain, r.adkim, r.aspf, r.p, r.sp, r.np, r.testing, r.pct,"
    " c.source_ip, c.count, c.disposition, c.pe_dkim, c.pe_spf,"
    " c.header_from, c.envelope_from, c.envelope_to,"
    " (SELECT group_concat(" FIELD("x.type") " || char(31) || "
    FIELD("x.comment") ", char(30)) FROM (SELECT type, comment FROM reasons"
    " WHERE record_id = c.id ORDER BY idx) x),"
    " (SELECT group_concat(" FIELD("k.domain") " || char(31) || "
    FIELD("k.selector") " || char(31) || " FIELD("k.result") " || char(31) || "
    FIELD("k.human_result") ", char(30)) FROM (SELECT domain, selector,"
    " result, human_result FROM dkim_results WHERE record_id = c.id"
    " ORDER BY idx) k),"
    " (SELECT group_concat(" FIELD("s.domain") " || char(31) || "
    FIELD("s.scope") " || char(31) || " FIELD("s.result") " || char(31) || "
    FIELD("s.human_result") ", char(30)) FROM (SELECT domain, scope, result,"
    " human_result FROM spf_results WHERE record_id = c.id ORDER BY idx) s),"
    " c.dmarc_fail, c.would_reject, c.outcome, c.spf_aligned,"
    " c.dkim_aligned, c.categories"
    " FROM records c JOIN reports r ON r.id = c.report_id"
    " WHERE" SIFT_REPORT_FILTER_SQL "ORDER BY c.id";

enum {
    C_ORG, C_EMAIL, C_RID, C_BEGIN, C_END, C_DOMAIN, C_ADKIM, C_ASPF, C_P,
    C_SP, C_NP, C_TESTING, C_PCT, C_IP, C_COUNT, C_DISP, C_DKIM, C_SPF, C_FROM, C_ENVFROM,
    C_ENVTO, C_REASONS, C_DKIMRES, C_SPFRES, C_FAIL, C_REJECT, C_OUTCOME,
    C_SPFAL, C_DKIMAL, C_CATS
};

static const char *const columns[] = {
    "org_name",     "email",        "report_id",   "begin",
    "end",          "policy_domain", "adkim",      "aspf",
    "p",            "sp",           "np",          "testing",
    "pct",          "source_ip",
    "count",        "disposition",  "dkim",        "spf",
    "header_from",  "envelope_from", "envelope_to", "reasons",
    "dkim_results", "spf_results",  "dmarc_fail",  "would_reject",
    "outcome",      "spf_aligned",  "dkim_aligned", "categories",
};

/* After the stored columns: the source's cached name (ptr.c) */
static const char *const ptr_columns[] = {"ptr", "ptr_unconfirmed", "ptr_org"};

static const char *const child_keys[3][4] = {
    {"type", "comment", NULL, NULL},
    {"domain", "selector", "result", "human_result"},
    {"domain", "scope", "result", "human_result"},
};

static const char *
outcome_name(int64_t o)
{
    switch (o) {
    case SIFT_OUT_PASS: return "pass";
    case SIFT_OUT_WOULD_REJECT: return "would_reject";
    case SIFT_OUT_OVERRIDDEN: return "overridden";
    case SIFT_OUT_DNS_ERROR: return "dns_error";
    default: return "unknown";
    }
}

typedef struct exp_ctx {
    FILE *fp;
    sift_format fmt;
    char *tmp; /* scratch for one encoded cell, grown as needed */
    size_t cap;
    sift_err *err;
    sift_report_ptrs ptrs; /* cached source names */
} exp_ctx;

/* The three ptr values of a row's source: confirmed name, unconfirmed
 * name, organisational domain (each NULL when there is none). */
static void
ptr_values(const exp_ctx *c, sift_row *row, const char *v[3])
{
    const sift_report_ptr *p =
        sift_report__ptr_find(&c->ptrs, sift_row_text(row, C_IP));

    v[0] = p && p->confirmed ? p->name : NULL;
    v[1] = p && !p->confirmed ? p->name : NULL;
    v[2] = p ? p->org : NULL;
}

/* Next field of an encoded child list: sets *val (NULL for SQL NULL) as a
 * NUL-terminated copy in scratch and advances *pp. Returns 0 at the end of
 * the entry. */
static int
next_field(const char **pp, char *scratch, const char **val, int *more)
{
    const char *p = *pp, *e;
    size_t n;

    if (p == NULL || *p == '\0' || *p == '\x1e')
        return 0;
    e = p + strcspn(p, "\x1e\x1f");
    n = (size_t)(e - p);
    if (p[0] == 'N') {
        *val = NULL;
    } else {
        memcpy(scratch, p + 1, n - 1);
        scratch[n - 1] = '\0';
        *val = scratch;
    }
    *more = *e == '\x1f';
    *pp = *e == '\x1f' ? e + 1 : e;
    return 1;
}

/* JSON array of objects from an encoded child list. */
static void
children_json(FILE *fp, const char *enc, int kind, char *scratch)
{
    const char *p = enc, *val;
    int entry = 0, f, more;

    fputc('[', fp);
    while (p != NULL && *p) {
        fputs(entry++ ? ", {" : "{", fp);
        for (f = 0; f < 4 && child_keys[kind][f]; f++) {
            if (!next_field(&p, scratch, &val, &more))
                val = NULL;
            if (f)
                fputs(", ", fp);
            sift_json_str(fp, child_keys[kind][f]);
            fputs(": ", fp);
            sift_json_str(fp, val);
        }
        while (*p && *p != '\x1e') /* skip anything unexpected */
            p++;
        if (*p == '\x1e')
            p++;
        fputc('}', fp);
    }
    fputc(']', fp);
}

/* Compact CSV encoding "a:b:c;a:b:c" (fields: reasons type:comment; DKIM
 * domain:selector:result; SPF domain:scope:result). ':' ';' and '%' in
 * values are percent-encoded, NULL is empty. Written into buf. */
static void
children_csv(FILE *m, const char *enc, int kind, char *scratch)
{
    const char *p = enc, *val, *q;
    int entry = 0, f, more, nf = kind == 0 ? 2 : 3;

    while (p != NULL && *p) {
        if (entry++)
            fputc(';', m);
        for (f = 0; f < nf; f++) {
            if (!next_field(&p, scratch, &val, &more))
                val = NULL;
            if (f)
                fputc(':', m);
            for (q = val; q != NULL && *q; q++) {
                if (*q == ':' || *q == ';' || *q == '%')
                    fprintf(m, "%%%02X", (unsigned char)*q);
                else
                    fputc(*q, m);
            }
        }
        while (*p && *p != '\x1e')
            p++;
        if (*p == '\x1e')
            p++;
    }
}

static int
scratch_for(exp_ctx *c, size_t need)
{
    char *p;

    if (need <= c->cap)
        return SIFT_OK;
    if ((p = realloc(c->tmp, need)) == NULL)
        return sift_err_set(c->err, SIFT_ENOMEM, "out of memory");
    c->tmp = p;
    c->cap = need;
    return SIFT_OK;
}

static void
dates(sift_row *row, char *b, char *e)
{
    sift_report__date(b, 24, sift_row_int(row, C_BEGIN), 1);
    sift_report__date(e, 24, sift_row_int(row, C_END), 1);
}

static void
csv_int_or_empty(FILE *fp, sift_row *row, int col)
{
    if (!sift_row_is_null(row, col))
        fprintf(fp, "%" PRId64, sift_row_int(row, col));
}

static int
on_row_csv(exp_ctx *c, sift_row *row)
{
    FILE *fp = c->fp, *m;
    char b[24], e[24], *cell = NULL;
    size_t celln = 0;
    uint32_t cats;
    int i, n, col;

    dates(row, b, e);
    for (col = C_ORG; col <= C_CATS; col++) {
        if (col)
            fputc(',', fp);
        switch (col) {
        case C_BEGIN: fputs(b, fp); break;
        case C_END: fputs(e, fp); break;
        case C_PCT:
        case C_COUNT: csv_int_or_empty(fp, row, col); break;
        case C_REASONS:
        case C_DKIMRES:
        case C_SPFRES:
            if ((m = open_memstream(&cell, &celln)) == NULL)
                return sift_err_set(c->err, SIFT_ENOMEM, "out of memory");
            children_csv(m, sift_row_text(row, col), col - C_REASONS, c->tmp);
            fclose(m);
            sift_report__csv(fp, cell);
            free(cell);
            cell = NULL;
            break;
        case C_FAIL:
        case C_REJECT:
        case C_SPFAL:
        case C_DKIMAL:
            fprintf(fp, "%d", sift_row_int(row, col) != 0);
            break;
        case C_OUTCOME:
            fputs(outcome_name(sift_row_int(row, col)), fp);
            break;
        case C_CATS:
            cats = (uint32_t)sift_row_int(row, col);
            for (i = 0, n = 0; i < SIFT_CAT__COUNT; i++)
                if ((cats >> i) & 1u)
                    fprintf(fp, "%s%s", n++ ? " " : "",
                            sift_category_code((sift_category)i));
            break;
        default: sift_report__csv(fp, sift_row_text(row, col)); break;
        }
    }
    {
        const char *v[3];
        ptr_values(c, row, v);
        for (i = 0; i < 3; i++) {
            fputc(',', fp);
            if (v[i] != NULL)
                sift_report__csv(fp, v[i]);
        }
    }
    fputs("\r\n", fp);
    return 0;
}

static int
on_row_jsonl(exp_ctx *c, sift_row *row)
{
    FILE *fp = c->fp;
    char b[24], e[24];
    uint32_t cats;
    int i, n, col;

    dates(row, b, e);
    fputc('{', fp);
    for (col = C_ORG; col <= C_CATS; col++) {
        if (col)
            fputs(", ", fp);
        fprintf(fp, "\"%s\": ", columns[col]);
        switch (col) {
        case C_BEGIN: fprintf(fp, "\"%s\"", b); break;
        case C_END: fprintf(fp, "\"%s\"", e); break;
        case C_PCT:
        case C_COUNT:
            if (sift_row_is_null(row, col))
                fputs("null", fp);
            else
                fprintf(fp, "%" PRId64, sift_row_int(row, col));
            break;
        case C_REASONS:
        case C_DKIMRES:
        case C_SPFRES:
            children_json(fp, sift_row_text(row, col), col - C_REASONS,
                          c->tmp);
            break;
        case C_FAIL:
        case C_REJECT:
        case C_SPFAL:
        case C_DKIMAL:
            fputs(sift_row_int(row, col) ? "true" : "false", fp);
            break;
        case C_OUTCOME:
            fprintf(fp, "\"%s\"", outcome_name(sift_row_int(row, col)));
            break;
        case C_CATS:
            cats = (uint32_t)sift_row_int(row, col);
            fputc('[', fp);
            for (i = 0, n = 0; i < SIFT_CAT__COUNT; i++)
                if ((cats >> i) & 1u)
                    fprintf(fp, "%s\"%s\"", n++ ? ", " : "",
                            sift_category_code((sift_category)i));
            fputc(']', fp);
            break;
        default: sift_json_str(fp, sift_row_text(row, col)); break;
        }
    }
    {
        const char *v[3];
        ptr_values(c, row, v);
        for (i = 0; i < 3; i++) {
            fprintf(fp, ", \"%s\": ", ptr_columns[i]);
            sift_json_str(fp, v[i]);
        }
    }
    fputs("}\n", fp);
    return 0;
}

static int
on_row(void *payload, sift_row *row)
{
    exp_ctx *c = payload;
    size_t need = 1;
    int col;

    /* scratch must hold any one field of the encoded child lists */
    for (col = C_REASONS; col <= C_SPFRES; col++) {
        const char *s = sift_row_text(row, col);
        size_t n = s ? strlen(s) + 1 : 1;
        if (n > need)
            need = n;
    }
    if (scratch_for(c, need) != SIFT_OK)
        return SIFT_ENOMEM;
    if (c->fmt == SIFT_FMT_CSV)
        return on_row_csv(c, row);
    return on_row_jsonl(c, row);
}

int
sift_export_write(FILE *fp, sift_store *st, const sift_filter *f,
                  sift_format fmt, sift_err *err)
{
    sift_report_fparams fpar;
    exp_ctx c;
    size_t i;
    int rc;

    if (fmt != SIFT_FMT_CSV && fmt != SIFT_FMT_JSONL)
        return sift_err_set(err, SIFT_EUSAGE,
                            "export format must be csv or jsonl");
    memset(&c, 0, sizeof(c));
    c.fp = fp;
    c.fmt = fmt;
    c.err = err;
    if (fmt == SIFT_FMT_CSV) {
        for (i = 0; i < sizeof(columns) / sizeof(columns[0]); i++)
            fprintf(fp, "%s%s", i ? "," : "", columns[i]);
        for (i = 0; i < sizeof(ptr_columns) / sizeof(ptr_columns[0]); i++)
            fprintf(fp, ",%s", ptr_columns[i]);
        fputs("\r\n", fp);
    }
    memset(&fpar, 0, sizeof(fpar));
    rc = sift_report__ptrs_load(&c.ptrs, st, err);
    if (rc == SIFT_OK)
        rc = sift_report__params(&fpar, f, err);
    if (rc == SIFT_OK)
        rc = sift_store_query(st, q_export, fpar.p, SIFT_REPORT_FILTER_NPARAMS,
                              on_row, &c, err);
    sift_report__params_free(&fpar);
    if (rc == SIFT_OK && (fflush(fp) != 0 || ferror(fp)))
        rc = sift_err_sys(err, "cannot write the export");
    free(c.tmp);
    sift_report__ptrs_free(&c.ptrs);
    return rc;
}
