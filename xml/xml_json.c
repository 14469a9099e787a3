/* xml_json.c -- `dmarcsift inspect`: one report as one JSON Lines object.
 *
 * Streams: the header is written after sift_xml_open(), each record after
 * its sift_xml_next(), the warnings last. Invariant: whatever happens, the
 * line written is one complete, valid JSON object ending in '\n' (a parse
 * error closes the records array and adds an "error" key). */
#include "sift_xml.h"

#include <inttypes.h>
#include <stdio.h>

#include "sift_json.h"

static void
key(FILE *fp, const char *k, const char *v)
{
    fprintf(fp, "\"%s\":", k);
    sift_json_str(fp, v);
}

static void
write_meta(FILE *fp, const sift_report_meta *m)
{
    size_t i;

    key(fp, "version", m->version);
    putc(',', fp);
    key(fp, "namespace", m->namespace);
    fputs(",\"report_metadata\":{", fp);
    key(fp, "org_name", m->org_name);
    putc(',', fp);
    key(fp, "email", m->email);
    putc(',', fp);
    key(fp, "extra_contact_info", m->extra_contact_info);
    putc(',', fp);
    key(fp, "report_id", m->report_id);
    fprintf(fp,
            ",\"date_range\":{\"begin\":%" PRId64 ",\"end\":%" PRId64
            "},\"errors\":[",
            m->begin, m->end);
    for (i = 0; i < m->n_errors; i++) {
        if (i > 0)
            putc(',', fp);
        sift_json_str(fp, m->errors[i]);
    }
    fputs("],", fp);
    key(fp, "generator", m->generator);
    fputs("},\"policy_published\":{", fp);
    key(fp, "domain", m->domain);
    putc(',', fp);
    key(fp, "adkim", m->adkim);
    putc(',', fp);
    key(fp, "aspf", m->aspf);
    putc(',', fp);
    key(fp, "p", m->p);
    putc(',', fp);
    key(fp, "sp", m->sp);
    putc(',', fp);
    key(fp, "np", m->np);
    if (m->pct >= 0)
        fprintf(fp, ",\"pct\":%d,", m->pct);
    else
        fputs(",\"pct\":null,", fp);
    key(fp, "fo", m->fo);
    putc(',', fp);
    key(fp, "testing", m->testing);
    putc(',', fp);
    key(fp, "discovery_method", m->discovery_method);
    putc('}', fp);
}

static void
write_record(FILE *fp, const sift_record *r)
{
    size_t i;

    fputs("{\"row\":{", fp);
    key(fp, "source_ip", r->source_ip);
    fprintf(fp, ",\"count\":%" PRIu64 ",\"policy_evaluated\":{", r->count);
    key(fp, "disposition", r->disposition);
    putc(',', fp);
    key(fp, "dkim", r->dkim);
    putc(',', fp);
    key(fp, "spf", r->spf);
    fputs(",\"reasons\":[", fp);
    for (i = 0; i < r->n_reasons; i++) {
        fputs(i ? ",{" : "{", fp);
        key(fp, "type", r->reasons[i].type);
        putc(',', fp);
        key(fp, "comment", r->reasons[i].comment);
        putc('}', fp);
    }
    fputs("]}},\"identifiers\":{", fp);
    key(fp, "header_from", r->header_from);
    putc(',', fp);
    key(fp, "envelope_from", r->envelope_from);
    putc(',', fp);
    key(fp, "envelope_to", r->envelope_to);
    fputs("},\"auth_results\":{\"dkim\":[", fp);
    for (i = 0; i < r->n_dkim; i++) {
        const sift_dkim_result *d = &r->dkim_results[i];
        fputs(i ? ",{" : "{", fp);
        key(fp, "domain", d->domain);
        putc(',', fp);
        key(fp, "selector", d->selector);
        putc(',', fp);
        key(fp, "result", d->result);
        putc(',', fp);
        key(fp, "human_result", d->human_result);
        putc('}', fp);
    }
    fputs("],\"spf\":[", fp);
    for (i = 0; i < r->n_spf; i++) {
        const sift_spf_result *s = &r->spf_results[i];
        fputs(i ? ",{" : "{", fp);
        key(fp, "domain", s->domain);
        putc(',', fp);
        key(fp, "scope", s->scope);
        putc(',', fp);
        key(fp, "result", s->result);
        putc(',', fp);
        key(fp, "human_result", s->human_result);
        putc('}', fp);
    }
    fputs("]}}", fp);
}

static void
write_error(FILE *fp, const sift_err *e)
{
    char buf[sizeof(e->where) + sizeof(e->msg) + 4];

    if (e->where[0])
        snprintf(buf, sizeof(buf), "%s: %s", e->where, e->msg);
    else
        snprintf(buf, sizeof(buf), "%s", e->msg);
    fputs(",\"error\":", fp);
    sift_json_str(fp, buf);
}

int
sift_xml_inspect(FILE *fp, sift_reader *in, const sift_limits *lim,
                 sift_err *err)
{
    const sift_report_meta *meta;
    const sift_record *rec;
    sift_xml *x = NULL;
    sift_err e;
    size_t i, n = 0;
    int rc;

    sift_err_clear(&e);
    fputs("{\"input\":", fp);
    sift_json_str(fp, in->name);
    rc = sift_xml_open(&x, &meta, in, lim, &e);
    if (rc != SIFT_OK) {
        write_error(fp, &e);
        goto out;
    }
    putc(',', fp);
    write_meta(fp, meta);
    fputs(",\"records\":[", fp);
    while ((rc = sift_xml_next(x, &rec, &e)) == SIFT_OK) {
        if (n++ > 0)
            putc(',', fp);
        write_record(fp, rec);
    }
    fputs("],\"warnings\":[", fp);
    for (i = 0; i < meta->n_warnings; i++) {
        if (i > 0)
            putc(',', fp);
        sift_json_str(fp, meta->warnings[i]);
    }
    putc(']', fp);
    if (rc == SIFT_ITEROVER)
        rc = SIFT_OK;
    else
        write_error(fp, &e);
out:
    fputs("}\n", fp);
    sift_xml_free(x);
    if (rc != SIFT_OK && err != NULL)
        *err = e;
    if (ferror(fp) && rc == SIFT_OK)
        rc = sift_err_set(err, SIFT_EIO, "cannot write inspect output");
    return rc;
}
