/* history.c -- what report/ needs of the whole stored history, beyond
 * the filtered period: every report's date range, reporter and policy
 * domain (first_seen, NEW senders, silent reporters; docs/report.md
 * "Over time"). Reads only. */
#include "store_int.h"

#include <string.h>

static const char q_spans[] =
    "SELECT id, policy_domain, org_name, date_begin, date_end FROM reports"
    " ORDER BY id";

typedef struct spans_ctx {
    sift_span_cb cb;
    void *payload;
} spans_ctx;

static int
on_span(void *payload, sift_row *row)
{
    spans_ctx *s = payload;
    sift_report_span r;
    const char *d = sift_row_text(row, 1), *o = sift_row_text(row, 2);

    memset(&r, 0, sizeof(r));
    r.id = sift_row_int(row, 0);
    r.domain = d ? d : "";
    r.org = o ? o : "";
    r.begin = sift_row_int(row, 3);
    r.end = sift_row_int(row, 4);
    return s->cb(s->payload, &r);
}

int
sift_store_report_spans(sift_store *st, sift_span_cb cb, void *payload,
                        sift_err *err)
{
    spans_ctx s = {cb, payload};

    return sift_store_query(st, q_spans, NULL, 0, on_span, &s, err);
}
