/* sift_import.h -- the ingest pipeline: inputs -> reports -> database.
 *
 * The only place where ingest/, xml/, report/ (evaluation) and store/
 * meet. Every unit ingest finds ends as exactly one outcome below, and the
 * caller hears about each one through a callback (the CLI prints errors and
 * progress from it). Nothing here prints. */
#ifndef SIFT_IMPORT_H
#define SIFT_IMPORT_H

#include <stdint.h>

#include "sift_err.h"
#include "sift_ingest.h"
#include "sift_limits.h"
#include "sift_report.h"
#include "sift_store.h"

typedef enum sift_outcome_kind {
    SIFT_IMPORTED = 1,   /* a new report, stored with all its records */
    SIFT_DUPLICATE,      /* already stored, same content */
    SIFT_CONFLICT,       /* already stored, different content: kept once */
    SIFT_NOT_REPORT,     /* no aggregate report in this unit */
    SIFT_FAILURE_REPORT, /* an ARF failure report (counted, not stored) */
    SIFT_FAILED          /* unusable: reason given, raw bytes kept */
} sift_outcome_kind;

typedef struct sift_import_stats {
    uint64_t imported, duplicates, conflicts, not_reports, failure_reports,
        failed;
    uint64_t records, messages; /* of the imported reports */
} sift_import_stats;

/* Called once per unit. path is its provenance; err is set for
 * SIFT_FAILED (err->where holds the position, err->msg the problem). */
typedef void (*sift_import_cb)(void *payload, sift_outcome_kind kind,
                               const char *path, const sift_err *err,
                               const sift_import_stats *sofar);

/* Drain `in` into `st`. Parsing and evaluation run on a second thread,
 * which uses `in` and `ev` (the caller must not touch them until this
 * returns) and its own read-only handle on st's file; the store, the
 * callback and *stats are used only on the calling thread.
 * Bad inputs are outcomes, not errors: this returns
 * SIFT_OK unless the database fails (SIFT_EDB; err says why) or memory
 * runs out; what was committed before stays committed. *stats accumulates
 * (it is not zeroed), so several runs can share one. When `keep_failed`
 * is 0, failed payloads are not written to the failed_inputs table (used
 * by retry-failed, which already holds them). */
int sift_import_run(sift_import_stats *stats, sift_ingest *in, sift_store *st,
                    sift_eval *ev, const sift_limits *lim, int keep_failed,
                    sift_import_cb cb, void *payload, sift_err *err);

/* Called once per unit (sift_item.unit: a file, an IMAP message) after
 * every outcome of it is durably committed: the caller may now move or
 * delete it. counts holds that unit's outcomes alone, except imported
 * (and records, messages): 0, as a stored report is told when its batch
 * commits, which may be after its unit ended. Units settle in
 * order, at most SIFT_IMPORT_SETTLE_BATCH units after they ended (the
 * import commits then), and only when the run does not fail: a unit not
 * settled is read again by the next run. Runs on the calling thread,
 * with no report open: it may write to the store. */
typedef void (*sift_import_settled_cb)(void *payload, const char *unit,
                                       const sift_import_stats *counts);
#define SIFT_IMPORT_SETTLE_BATCH 64

/* Test hook: how many inputs the parsing thread has asked the database
 * about (seen bytes, stored report) in this process. Written by the
 * parsing thread; read it after a run returns. */
extern unsigned long sift_import__asked;

/* sift_import_run() with a settled callback (payload is shared with cb). */
int sift_import_run_settled(sift_import_stats *stats, sift_ingest *in,
                            sift_store *st, sift_eval *ev,
                            const sift_limits *lim, int keep_failed,
                            sift_import_cb cb, sift_import_settled_cb settled,
                            void *payload, sift_err *err);

#endif
