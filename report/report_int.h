/* report_int.h -- helpers shared by render.c and export.c; private to
 * report/. The filter is one SQL fragment over `reports r` with four
 * bound parameters (?1 domains, ?2 reporters: JSON arrays of strings;
 * ?3 since, ?4 until), so every query binds exactly the same
 * parameters. */
#ifndef SIFT_REPORT_INT_H
#define SIFT_REPORT_INT_H

#include "sift_report.h"

/* WHERE fragment; a NULL parameter disables its test. The date test is
 * the half-open overlap of [date_begin, date_end) with [since, until). */
#define SIFT_REPORT_FILTER_SQL                                                 \
    " (?1 IS NULL OR r.policy_domain COLLATE NOCASE IN"                        \
    "   (SELECT value FROM json_each(?1)))"                                    \
    " AND (?2 IS NULL OR r.org_name COLLATE NOCASE IN"                         \
    "   (SELECT value FROM json_each(?2)))"                                    \
    " AND (?3 IS NULL OR r.date_end > ?3)"                                     \
    " AND (?4 IS NULL OR r.date_begin < ?4) "
#define SIFT_REPORT_FILTER_NPARAMS 4

/* The bound filter: p[4] from f (NULL f = everything); json[] holds the
 * lists' JSON text that p points into. */
typedef struct sift_report_fparams {
    sift_param p[SIFT_REPORT_FILTER_NPARAMS];
    char *json[2];
} sift_report_fparams;

/* Fill fp from f. SIFT_OK or SIFT_ENOMEM; free with
 * sift_report__params_free() either way. */
int sift_report__params(sift_report_fparams *fp, const sift_filter *f,
                        sift_err *err);
void sift_report__params_free(sift_report_fparams *fp);

/* Report time as "YYYY-MM-DDTHH:MM:SSZ" (full != 0) or "YYYY-MM-DD". */
void sift_report__date(char *buf, size_t n, int64_t t, int full);

/* One CSV cell via sift_csv_cell() (RFC 4180 quoting, formula guard),
 * after terminal controls are made visible: C0 controls other than TAB,
 * CR and LF, DEL, C1 controls and invalid UTF-8 bytes become "\\xHH". */
void sift_report__csv(FILE *fp, const char *s);

#endif
