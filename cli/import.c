/* import.c -- inputs -> reports -> database; see sift_import.h.
 *
 * Invariant: a report is either stored with all its records (commit) or
 * not at all (rollback); a report that fails half way becomes a failed
 * input with its raw bytes, so nothing is lost. */
#include "sift_import.h"

#include <stdlib.h>
#include <string.h>

#include "sift_xml.h"

/* A database failure ends the run; any other failure ends only the unit. */
static int
fatal(int rc)
{
    return rc == SIFT_EDB || rc == SIFT_ENOMEM;
}

/* Keep a failed unit: reason plus its raw bytes when ingest can give them. */
static int
keep_failure(sift_store *st, sift_ingest *in, const char *path,
             const sift_err *why, int with_raw, sift_err *err)
{
    unsigned char *raw = NULL;
    size_t len = 0;
    sift_err rerr;
    char reason[sizeof(why->where) + sizeof(why->msg) + 4];
    int rc;

    sift_err_clear(&rerr);
    if (with_raw && sift_ingest_raw(in, &raw, &len, &rerr) != SIFT_OK) {
        raw = NULL;
        len = 0;
    }
    if (why->where[0] != '\0' && strcmp(why->where, path) != 0)
        snprintf(reason, sizeof(reason), "%s: %s", why->where, why->msg);
    else
        snprintf(reason, sizeof(reason), "%s", why->msg);
    rc = sift_store_add_failed(st, path, reason, raw, len, err);
    free(raw);
    return rc;
}

/* Parse, evaluate and store one report candidate. Returns the outcome in
 * *kind (with *why for SIFT_FAILED), or a fatal code. */
static int
import_report(sift_outcome_kind *kind, sift_err *why, sift_import_stats *s,
              const sift_item *it, sift_store *st, sift_eval *ev,
              const sift_limits *lim, sift_err *err)
{
    sift_xml *x = NULL;
    const sift_report_meta *meta;
    const sift_record *rec;
    sift_verdict v;
    uint64_t dup_hash = 0, records = 0, messages = 0;
    int rc, open = 0;

    rc = sift_xml_open(&x, &meta, it->reader, lim, why);
    if (rc != SIFT_OK) {
        if (fatal(rc))
            goto out;
        /* Well-formed XML of another kind is not a failure of ours. */
        *kind = strncmp(why->msg, "not a DMARC aggregate report", 28) == 0
                    ? SIFT_NOT_REPORT
                    : SIFT_FAILED;
        rc = SIFT_OK;
        goto out;
    }
    rc = sift_store_begin(st, &dup_hash, meta, it->path, err);
    if (rc == SIFT_EDUP) {
        if ((rc = sift_xml_drain(x, why)) != SIFT_OK) {
            *kind = SIFT_DUPLICATE; /* stored already; the copy is damaged */
            rc = SIFT_OK;
            goto out;
        }
        if (sift_xml_content_hash(x) == dup_hash) {
            *kind = SIFT_DUPLICATE;
            rc = SIFT_OK;
        } else {
            *kind = SIFT_CONFLICT;
            rc = sift_store_note_conflict(st, meta, it->path,
                                          sift_xml_content_hash(x), err);
        }
        goto out;
    }
    if (rc != SIFT_OK)
        goto out;
    open = 1;
    while ((rc = sift_xml_next(x, &rec, why)) == SIFT_OK) {
        sift_eval_record(&v, ev, meta, rec);
        if ((rc = sift_store_add(st, rec, &v, err)) != SIFT_OK)
            goto out;
        records++;
        messages += rec->count;
    }
    if (rc != SIFT_ITEROVER) {
        if (fatal(rc))
            goto out;
        *kind = SIFT_FAILED; /* half a report is never stored */
        rc = SIFT_OK;
        goto out;
    }
    rc = sift_store_commit(st, meta, sift_xml_content_hash(x), err);
    if (rc != SIFT_OK)
        goto out;
    open = 0;
    *kind = SIFT_IMPORTED;
    s->records += records;
    s->messages += messages;
out:
    if (open)
        sift_store_rollback(st);
    sift_xml_free(x);
    return rc;
}

int
sift_import_run(sift_import_stats *s, sift_ingest *in, sift_store *st,
                sift_eval *ev, const sift_limits *lim, int keep_failed,
                sift_import_cb cb, void *payload, sift_err *err)
{
    const sift_item *it;
    sift_outcome_kind kind = SIFT_FAILED;
    sift_err why;
    int rc;

    while ((rc = sift_ingest_next(in, &it, err)) == SIFT_OK) {
        sift_err_clear(&why);
        switch (it->kind) {
        case SIFT_ITEM_REPORT:
            rc = import_report(&kind, &why, s, it, st, ev, lim, err);
            if (rc != SIFT_OK)
                return rc;
            break;
        case SIFT_ITEM_NOT_REPORT:
            kind = SIFT_NOT_REPORT;
            break;
        case SIFT_ITEM_FAILURE_REPORT:
            kind = SIFT_FAILURE_REPORT;
            break;
        case SIFT_ITEM_FAILED:
        default:
            kind = SIFT_FAILED;
            why = it->err;
            break;
        }
        switch (kind) {
        case SIFT_IMPORTED: s->imported++; break;
        case SIFT_DUPLICATE: s->duplicates++; break;
        case SIFT_CONFLICT: s->conflicts++; break;
        case SIFT_NOT_REPORT: s->not_reports++; break;
        case SIFT_FAILURE_REPORT: s->failure_reports++; break;
        case SIFT_FAILED:
            s->failed++;
            sift_err_where(&why, it->path);
            if (keep_failed &&
                (rc = keep_failure(st, in, it->path, &why, 1, err)) != SIFT_OK)
                return rc;
            break;
        }
        if (cb)
            cb(payload, kind, it->path, kind == SIFT_FAILED ? &why : NULL, s);
    }
    if (rc != SIFT_ITEROVER)
        return rc;
    return sift_store_flush(st, err);
}
