/* reeval.c -- stored verdicts follow the code: recompute the verdicts of
 * the reports written by an older evaluation with this build's
 * (sift_eval_record) and stamp them SIFT_EVAL_VERSION, report by report.
 * Run by `dmarcsift reevaluate`, and by ingest and report when a stored
 * report's version is behind. Reports of this version or a newer one (a
 * host running a newer build) are left alone. */
#include "report_int.h"

#define BATCH 5000u /* records per transaction (whole reports) */

static void
verdict(void *payload, sift_verdict *out, const sift_report_meta *meta,
        const sift_record *rec)
{
    sift_eval_record(out, payload, meta, rec);
}

struct todo {
    int below;
    uint64_t records;
};

static int
count_todo(void *payload, int version, uint64_t reports, uint64_t records)
{
    struct todo *t = payload;

    (void)reports;
    if (version < t->below)
        t->records += records;
    return 0;
}

int
sift_reevaluate(sift_store *st, int redo, uint64_t *done,
                sift_reeval_progress cb, void *payload, sift_err *err)
{
    sift_eval *ev = NULL;
    struct todo t = {redo ? SIFT_EVAL_VERSION + 1 : SIFT_EVAL_VERSION, 0};
    int64_t after = 0, last;
    unsigned n;
    int rc;

    *done = 0;
    if ((rc = sift_store_eval_versions(st, NULL, count_todo, &t, err)) !=
            SIFT_OK ||
        (rc = sift_eval_new(&ev, err)) != SIFT_OK)
        return rc;
    for (;;) {
        rc = sift_store_rewrite_verdicts(st, SIFT_EVAL_VERSION, redo, after,
                                         BATCH, &last, &n, verdict, ev, err);
        if (rc != SIFT_OK || last == after)
            break;
        *done += n;
        if (cb != NULL)
            cb(payload, *done, t.records);
        after = last;
    }
    sift_eval_free(ev);
    return rc;
}

int
sift_report_eval_versions(sift_store *st, const sift_filter *f,
                          sift_eval_version_cb cb, void *payload, sift_err *err)
{
    sift_store_filter sf;

    if (f == NULL)
        return sift_store_eval_versions(st, NULL, cb, payload, err);
    sift_report__sfilter(&sf, f);
    return sift_store_eval_versions(st, &sf, cb, payload, err);
}
