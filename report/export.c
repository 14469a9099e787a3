/* export.c -- `dmarcsift export`: one row per stored record with its
 * report's metadata and policy, its auth results and its verdict, as CSV
 * (RFC 4180, formula-neutralised) or JSON Lines.
 *
 * The store streams the records in id order with their child rows
 * (sift_store_export_records), so memory does not grow with the number
 * of records. */
#include "report_int.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "sift_json.h"

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

/* After the stored columns: the source's cached name (ptr.c) */
static const char *const ptr_columns[] = {"ptr", "ptr_unconfirmed", "ptr_org"};

typedef struct exp_ctx {
    FILE *fp;
    sift_format fmt;
    sift_err *err;
    sift_report_ptrs ptrs; /* cached source names */
} exp_ctx;

/* The three ptr values of a row's source: confirmed name, unconfirmed
 * name, organisational domain (each NULL when there is none). */
static void
ptr_values(const exp_ctx *c, const char *ip, const char *v[3])
{
    const sift_report_ptr *p = sift_report__ptr_find(&c->ptrs, ip);

    v[0] = p && p->confirmed ? p->name : NULL;
    v[1] = p && !p->confirmed ? p->name : NULL;
    v[2] = p ? p->org : NULL;
}

/* Field f of child i of kind (0 reasons, 1 DKIM, 2 SPF) of r. */
static const char *
child_field(const sift_record *r, int kind, size_t i, int f)
{
    if (kind == 0) {
        const sift_reason *x = &r->reasons[i];
        return f == 0 ? x->type : x->comment;
    }
    if (kind == 1) {
        const sift_dkim_result *x = &r->dkim_results[i];
        return f == 0   ? x->domain
               : f == 1 ? x->selector
               : f == 2 ? x->result
                        : x->human_result;
    }
    {
        const sift_spf_result *x = &r->spf_results[i];
        return f == 0   ? x->domain
               : f == 1 ? x->scope
               : f == 2 ? x->result
                        : x->human_result;
    }
}

static size_t
child_count(const sift_record *r, int kind)
{
    return kind == 0 ? r->n_reasons : kind == 1 ? r->n_dkim : r->n_spf;
}

/* JSON array of objects of a record's child rows. */
static void
children_json(FILE *fp, const sift_record *r, int kind)
{
    size_t i, n = child_count(r, kind);
    int f;

    fputc('[', fp);
    for (i = 0; i < n; i++) {
        fputs(i ? ", {" : "{", fp);
        for (f = 0; f < 4 && child_keys[kind][f]; f++) {
            if (f)
                fputs(", ", fp);
            sift_json_str(fp, child_keys[kind][f]);
            fputs(": ", fp);
            sift_json_str(fp, child_field(r, kind, i, f));
        }
        fputc('}', fp);
    }
    fputc(']', fp);
}

/* Compact CSV encoding "a:b:c;a:b:c" (fields: reasons type:comment; DKIM
 * domain:selector:result; SPF domain:scope:result). ':' ';' and '%' in
 * values are percent-encoded, NULL is empty. */
static void
children_csv(FILE *m, const sift_record *r, int kind)
{
    size_t i, n = child_count(r, kind);
    int f, nf = kind == 0 ? 2 : 3;
    const char *q;

    for (i = 0; i < n; i++) {
        if (i)
            fputc(';', m);
        for (f = 0; f < nf; f++) {
            if (f)
                fputc(':', m);
            for (q = child_field(r, kind, i, f); q != NULL && *q; q++) {
                if (*q == ':' || *q == ';' || *q == '%')
                    fprintf(m, "%%%02X", (unsigned char)*q);
                else
                    fputc(*q, m);
            }
        }
    }
}

/* Column col of an export row: its text (NULL when absent), or its
 * integer (*null set when absent). */
static const char *
col_text(const sift_export_row *x, int col)
{
    const sift_report_meta *m = x->meta;
    const sift_record *r = x->rec;

    switch (col) {
    case C_ORG:
        return m->org_name;
    case C_EMAIL:
        return m->email;
    case C_RID:
        return m->report_id;
    case C_DOMAIN:
        return m->domain;
    case C_ADKIM:
        return m->adkim;
    case C_ASPF:
        return m->aspf;
    case C_P:
        return m->p;
    case C_SP:
        return m->sp;
    case C_NP:
        return m->np;
    case C_TESTING:
        return m->testing;
    case C_IP:
        return r->source_ip;
    case C_DISP:
        return r->disposition;
    case C_DKIM:
        return r->dkim;
    case C_SPF:
        return r->spf;
    case C_FROM:
        return r->header_from;
    case C_ENVFROM:
        return r->envelope_from;
    case C_ENVTO:
        return r->envelope_to;
    default:
        return NULL;
    }
}

static int64_t
col_int(const sift_export_row *x, int col, int *null)
{
    *null = 0;
    switch (col) {
    case C_PCT:
        *null = x->meta->pct < 0;
        return x->meta->pct;
    case C_COUNT:
        return (int64_t)x->rec->count; /* the stored pattern */
    case C_FAIL:
        return x->dmarc_fail;
    case C_REJECT:
        return x->would_reject;
    case C_OUTCOME:
        return x->outcome;
    case C_SPFAL:
        return x->spf_aligned;
    case C_DKIMAL:
        return x->dkim_aligned;
    case C_CATS:
        return x->categories;
    default:
        *null = 1;
        return 0;
    }
}

static void
dates(const sift_export_row *x, char *b, char *e)
{
    sift_report__date(b, 24, x->meta->begin, 1);
    sift_report__date(e, 24, x->meta->end, 1);
}

static int
on_row_csv(exp_ctx *c, const sift_export_row *row)
{
    FILE *fp = c->fp, *m;
    char b[24], e[24], *cell = NULL;
    size_t celln = 0;
    uint32_t cats;
    int64_t v;
    int i, n, col, null;

    dates(row, b, e);
    for (col = C_ORG; col <= C_CATS; col++) {
        if (col)
            fputc(',', fp);
        v = col_int(row, col, &null);
        switch (col) {
        case C_BEGIN: fputs(b, fp); break;
        case C_END: fputs(e, fp); break;
        case C_PCT:
        case C_COUNT:
            if (!null)
                fprintf(fp, "%" PRId64, v);
            break;
        case C_REASONS:
        case C_DKIMRES:
        case C_SPFRES:
            if ((m = open_memstream(&cell, &celln)) == NULL)
                return sift_err_set(c->err, SIFT_ENOMEM, "out of memory");
            children_csv(m, row->rec, col - C_REASONS);
            fclose(m);
            sift_report__csv(fp, cell);
            free(cell);
            cell = NULL;
            break;
        case C_FAIL:
        case C_REJECT:
        case C_SPFAL:
        case C_DKIMAL:
            fprintf(fp, "%d", v != 0);
            break;
        case C_OUTCOME:
            fputs(outcome_name(v), fp);
            break;
        case C_CATS:
            cats = (uint32_t)v;
            for (i = 0, n = 0; i < SIFT_CAT__COUNT; i++)
                if ((cats >> i) & 1u)
                    fprintf(fp, "%s%s", n++ ? " " : "",
                            sift_category_code((sift_category)i));
            break;
        default:
            sift_report__csv(fp, col_text(row, col));
            break;
        }
    }
    {
        const char *pv[3];
        ptr_values(c, col_text(row, C_IP), pv);
        for (i = 0; i < 3; i++) {
            fputc(',', fp);
            if (pv[i] != NULL)
                sift_report__csv(fp, pv[i]);
        }
    }
    fputs("\r\n", fp);
    return 0;
}

static int
on_row_jsonl(exp_ctx *c, const sift_export_row *row)
{
    FILE *fp = c->fp;
    char b[24], e[24];
    uint32_t cats;
    int64_t v;
    int i, n, col, null;

    dates(row, b, e);
    fputc('{', fp);
    for (col = C_ORG; col <= C_CATS; col++) {
        if (col)
            fputs(", ", fp);
        fprintf(fp, "\"%s\": ", columns[col]);
        v = col_int(row, col, &null);
        switch (col) {
        case C_BEGIN: fprintf(fp, "\"%s\"", b); break;
        case C_END: fprintf(fp, "\"%s\"", e); break;
        case C_PCT:
        case C_COUNT:
            if (null)
                fputs("null", fp);
            else
                fprintf(fp, "%" PRId64, v);
            break;
        case C_REASONS:
        case C_DKIMRES:
        case C_SPFRES:
            children_json(fp, row->rec, col - C_REASONS);
            break;
        case C_FAIL:
        case C_REJECT:
        case C_SPFAL:
        case C_DKIMAL:
            fputs(v ? "true" : "false", fp);
            break;
        case C_OUTCOME:
            fprintf(fp, "\"%s\"", outcome_name(v));
            break;
        case C_CATS:
            cats = (uint32_t)v;
            fputc('[', fp);
            for (i = 0, n = 0; i < SIFT_CAT__COUNT; i++)
                if ((cats >> i) & 1u)
                    fprintf(fp, "%s\"%s\"", n++ ? ", " : "",
                            sift_category_code((sift_category)i));
            fputc(']', fp);
            break;
        default:
            sift_json_str(fp, col_text(row, col));
            break;
        }
    }
    {
        const char *pv[3];
        ptr_values(c, col_text(row, C_IP), pv);
        for (i = 0; i < 3; i++) {
            fprintf(fp, ", \"%s\": ", ptr_columns[i]);
            sift_json_str(fp, pv[i]);
        }
    }
    fputs("}\n", fp);
    return 0;
}

static int
on_row(void *payload, const sift_export_row *row)
{
    exp_ctx *c = payload;

    if (c->fmt == SIFT_FMT_CSV)
        return on_row_csv(c, row);
    return on_row_jsonl(c, row);
}

int
sift_export_write(FILE *fp, sift_store *st, const sift_filter *f,
                  sift_format fmt, sift_err *err)
{
    sift_store_filter sf;
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
    sift_report__sfilter(&sf, f);
    rc = sift_report__ptrs_load(&c.ptrs, st, err);
    if (rc == SIFT_OK)
        rc = sift_store_export_records(st, &sf, on_row, &c, err);
    if (rc == SIFT_OK && (fflush(fp) != 0 || ferror(fp)))
        rc = sift_err_sys(err, "cannot write the export");
    sift_report__ptrs_free(&c.ptrs);
    return rc;
}
