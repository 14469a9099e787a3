/* reeval.c -- stored verdicts follow the code: recompute every record's
 * verdict with this build's evaluation (sift_eval_record) and store
 * SIFT_EVAL_VERSION. Run by `dmarcsift reevaluate`, and by ingest and
 * report when the database's version is behind. */
#include "sift_report.h"

#define BATCH 5000u /* records per transaction */

static void
verdict(void *payload, sift_verdict *out, const sift_report_meta *meta,
        const sift_record *rec)
{
    sift_eval_record(out, payload, meta, rec);
}

int
sift_reevaluate(sift_store *st, uint64_t *done, sift_reeval_progress cb,
                void *payload, sift_err *err)
{
    sift_eval *ev = NULL;
    uint64_t total = 0;
    int64_t after = 0, last;
    unsigned n;
    int rc;

    *done = 0;
    if ((rc = sift_store_count_records(&total, st, err)) != SIFT_OK ||
        (rc = sift_eval_new(&ev, err)) != SIFT_OK)
        return rc;
    for (;;) {
        rc = sift_store_rewrite_verdicts(st, after, BATCH, &last, &n, verdict,
                                         ev, err);
        if (rc != SIFT_OK)
            break;
        *done += n;
        if (cb != NULL)
            cb(payload, *done, total);
        if (n < BATCH)
            break;
        after = last;
    }
    if (rc == SIFT_OK)
        rc = sift_store_set_eval_version(st, SIFT_EVAL_VERSION, err);
    sift_eval_free(ev);
    return rc;
}
