/* sift_report.h -- what would be rejected under p=reject, why, and the fix.
 *
 * Two halves:
 *  - evaluation (pure, no I/O): sift_eval_record() recomputes SPF/DKIM
 *    alignment from a record's auth_results (libpsl with the system's
 *    Public Suffix List for relaxed mode), compares with the reporter's
 *    policy_evaluated, and derives dmarc_fail, would_reject and the
 *    explanation categories (standards.md §2, §3.5, §3.7). cli/import.c
 *    calls it for every record before storing.
 *  - rendering: sift_report_write() and sift_export_write() query the
 *    store and write text, JSON or CSV to a caller's FILE. They never
 *    print anywhere else. Strings from reports are escaped for the output
 *    format (terminal controls, JSON, CSV formula injection). */
#ifndef SIFT_REPORT_H
#define SIFT_REPORT_H

#include <stdint.h>
#include <stdio.h>

#include "sift_err.h"
#include "sift_record.h"
#include "sift_store.h"

/* --- evaluation ------------------------------------------------------- */

typedef struct sift_eval sift_eval;

/* Load the Public Suffix List (the system's, else libpsl's built-in). */
int sift_eval_new(sift_eval **out, sift_err *err);
void sift_eval_free(sift_eval *ev); /* NULL is a no-op */

/* Compute the verdict of one record. Never fails; *out borrows strings
 * from rec. */
void sift_eval_record(sift_verdict *out, sift_eval *ev,
                      const sift_report_meta *meta, const sift_record *rec);

/* Organizational domain of `domain` (lowercase), written to buf; returns
 * buf, or NULL when the domain is itself a public suffix or invalid. */
const char *sift_eval_org_domain(sift_eval *ev, const char *domain, char *buf,
                                 size_t n);

/* Stable snake_case code (docs/report.md) and display text. Returns a
 * static string ("unknown" / "Unknown category" for an out-of-range c). */
const char *sift_category_code(sift_category c);
const char *sift_category_text(sift_category c);

/* --- sender identification (offline; table in senders.def) ------------ */

typedef struct sift_sender {
    const char *suffix;      /* matched domain suffix, e.g. "sendgrid.net" */
    const char *name;        /* service, e.g. "SendGrid" */
    const char *spf_include; /* e.g. "include:sendgrid.net", or NULL */
    const char *fix;         /* what to configure so its mail aligns */
} sift_sender;

/* The service whose DKIM d= / envelope domain `domain` is (the domain or
 * a subdomain of a table suffix, case-insensitive, longest suffix wins).
 * Returns a static entry, or NULL when unknown or domain is NULL. */
const sift_sender *sift_sender_lookup(const char *domain);
/* The whole table (static), *n entries; for docs and tests. */
const sift_sender *sift_sender_table(size_t *n);

/* --- rendering -------------------------------------------------------- */

typedef enum sift_format {
    SIFT_FMT_TEXT = 0,
    SIFT_FMT_JSON,
    SIFT_FMT_CSV,
    SIFT_FMT_JSONL
} sift_format;

typedef struct sift_filter {
    /* Any of these policy domains / org_names (ASCII case-insensitive);
     * none (n = 0): all. The strings are borrowed. */
    const char *const *domains;
    size_t ndomains;
    const char *const *reporters;
    size_t nreporters;
    int64_t since, until; /* report date range overlaps [since, until) */
    int has_since, has_until;
} sift_filter;

/* Totals of one sift_report_write(), for --fail-on-reject. */
typedef struct sift_report_totals {
    uint64_t messages, dmarc_fail, would_reject;
} sift_report_totals;

/* The failure summary (`dmarcsift report`): text, json or csv. */
int sift_report_write(FILE *fp, sift_report_totals *totals, sift_store *st,
                      const sift_filter *f, sift_format fmt, sift_err *err);

/* One row per stored record (`dmarcsift export`): csv or jsonl. Streams:
 * memory does not grow with the number of records. */
int sift_export_write(FILE *fp, sift_store *st, const sift_filter *f,
                      sift_format fmt, sift_err *err);

#endif
