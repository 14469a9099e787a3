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
#include "sift_owner.h"
#include "sift_record.h"
#include "sift_store.h"

/* --- evaluation ------------------------------------------------------- */

typedef struct sift_eval sift_eval;

/* Load the Public Suffix List (the system's, else libpsl's built-in). */
int sift_eval_new(sift_eval **out, sift_err *err);
void sift_eval_free(sift_eval *ev); /* NULL is a no-op */

/* The version of the evaluation below. Stored verdicts written by an
 * older one are recomputed (sift_reevaluate). Raise it whenever a verdict
 * or a category can change. */
#define SIFT_EVAL_VERSION 2

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

/* Recompute the verdicts of every stored report whose evaluation version
 * is below SIFT_EVAL_VERSION (redo != 0: or equal to it, `dmarcsift
 * reevaluate`: the Public Suffix List may have changed) with this
 * evaluation and stamp those reports SIFT_EVAL_VERSION (whole reports in
 * batches of a few thousand records, one transaction each; memory does
 * not grow with the database). Reports of a newer version (a newer
 * build's) are never touched. *done = records
 * rewritten. progress (may be NULL) is called after each batch with
 * records done and the total to do. */
typedef void (*sift_reeval_progress)(void *payload, uint64_t done,
                                     uint64_t total);
int sift_reevaluate(sift_store *st, int redo, uint64_t *done,
                    sift_reeval_progress cb, void *payload, sift_err *err);

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

/* --- senders and advice (advice.c; docs/report.md "Advice rules") ------ */

/* What a sender is; the digest groups sources into senders. */
typedef enum sift_sender_kind {
    SIFT_KIND_OWN = 0,         /* the domain's own servers (mostly aligned) */
    SIFT_KIND_SERVICE,         /* a known service (senders.def) */
    SIFT_KIND_FORWARDER,       /* forwarders and mailing lists (evidence) */
    SIFT_KIND_UNKNOWN,         /* an unknown third-party signer/envelope */
    SIFT_KIND_UNAUTHENTICATED, /* nothing authenticates it */
    SIFT_KIND__COUNT
} sift_sender_kind;

/* "own", "service", "forwarder", "unknown", "unauthenticated". */
const char *sift_kind_code(sift_sender_kind k);

/* What one piece of advice is about: one primary category of one sender,
 * with the identifiers of that category's biggest record. */
typedef struct sift_advice_in {
    sift_category cat;
    sift_sender_kind kind;
    const sift_sender *service; /* NULL unless a known service */
    const char *domain;         /* the policy domain */
    const char *from;           /* author domain of the record */
    const char *env;  /* SPF (MAIL FROM) domain; "" null reverse-path */
    const char *dkim; /* the d= the category is about, or NULL */
    const char *ip;   /* a source IP of it */
    int aspf_strict, adkim_strict;
    /* what the owner's configuration says of the sender (sift_owner.h):
     * SIFT_LABEL_*, and whether its IP is in an [owner] network */
    sift_sender_label label;
    int own_net;
    /* the service's SPF include is in the policy domain's published SPF
     * now: 1 yes, 0 no, -1 not looked up (dmarcsift resolve) */
    int spf_include_published;
    /* the DNS lookups the published SPF needs now; -1 not looked up */
    int spf_lookups_published;
} sift_advice_in;

/* One line of advice into buf (bounded, NUL-terminated; strings from the
 * input are copied as they are: escape for output). Returns the id of the
 * rule that matched (a static string, listed in docs/report.md). */
const char *sift_advice(char *buf, size_t n, const sift_advice_in *in);

/* --- rendering -------------------------------------------------------- */

typedef enum sift_format {
    SIFT_FMT_TEXT = 0,
    SIFT_FMT_JSON,
    SIFT_FMT_CSV,
    SIFT_FMT_JSONL,
    SIFT_FMT_HTML
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

/* Totals of one sift_report_write(), for --fail-on-reject. Sums
 * saturate at UINT64_MAX instead of wrapping (`saturated` then is 1), so
 * a huge count can never hide a rejection. */
typedef struct sift_report_totals {
    uint64_t messages, dmarc_fail, would_reject;
    int saturated;
    /* --fail-on-new: NEW senders with would-reject messages */
    uint64_t new_rejecting;
    /* --fail-on-reject N%: the domain with the highest would-reject
     * share ("" when there are no messages) */
    char worst_domain[256];
    uint64_t worst_messages, worst_would_reject;
} sift_report_totals;

/* What the digest shows (NULL options: the defaults). */
typedef struct sift_report_opts {
    unsigned top;          /* problem senders per domain (default 10) */
    int all;               /* every sender, passing ones too */
    uint64_t min_messages; /* hide senders with fewer messages */
    int64_t generated_at;  /* the header's time, epoch seconds */
    /* the owner's own networks and sender labels (configuration file),
     * or NULL: a source in an own network is the owner's; a labelled one
     * is grouped and advised as labelled */
    const sift_owner_knowledge *owner;
    /* --by: series per domain and sender in JSON and CSV: 0 none, 1 per
     * day, 7 per week (Monday to Sunday) */
    int by;
    int utf8; /* the text digest may use UTF-8 (the trend's sparkline) */
    /* --max-sources: (policy domain, source IP) rows held, 0 the default;
     * past it the sources with fewer messages are counted together per
     * domain (docs/report.md "Many sources") */
    uint64_t max_sources;
} sift_report_opts;
#define SIFT_REPORT_TOP_DEFAULT 10
#define SIFT_REPORT_MAX_SOURCES_DEFAULT 100000
#define SIFT_REPORT_MAX_SOURCES_CEILING 4000000

/* The failure summary (`dmarcsift report`): text, json, csv or html. */
int sift_report_write(FILE *fp, sift_report_totals *totals, sift_store *st,
                      const sift_filter *f, const sift_report_opts *o,
                      sift_format fmt, sift_err *err);

/* One row per stored record (`dmarcsift export`): csv or jsonl. Streams:
 * memory does not grow with the number of records. */
int sift_export_write(FILE *fp, sift_store *st, const sift_filter *f,
                      sift_format fmt, sift_err *err);

/* The evaluation versions of the stored reports in f (NULL: all), as
 * sift_store_eval_versions(): cb per version, ascending, with its reports
 * and records (reeval.c). report warns with them when they differ from
 * SIFT_EVAL_VERSION (docs/scaling.md). */
int sift_report_eval_versions(sift_store *st, const sift_filter *f,
                              sift_eval_version_cb cb, void *payload,
                              sift_err *err);

#endif
