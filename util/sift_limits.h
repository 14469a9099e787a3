/* sift_limits.h -- every ceiling the pipeline enforces, in one struct.
 *
 * Shared by ingest (containers) and xml (documents). The defaults are
 * generous for real reports (the largest real ones are tens of MB of XML)
 * and small enough that a bomb ends in SIFT_ETOOBIG, not an OOM kill.
 * docs/security.md lists them with the reasoning. */
#ifndef SIFT_LIMITS_H
#define SIFT_LIMITS_H

#include <stddef.h>
#include <stdint.h>

typedef struct sift_limits {
    uint64_t max_report_size; /* decompressed XML bytes per report */
    uint64_t max_input_size;  /* bytes ingest holds in memory for one unit:
                                 a message, a MIME part, a zip from a stream */
    unsigned max_depth;       /* container nesting (eml > zip > gz > ...) */
    unsigned max_entries;     /* zip entries or MIME parts per container,
                                 reports in one XML stream */
    unsigned max_messages;    /* messages per mbox (each costs work even
                                 when empty: 3 million fit in 27 KB of
                                 .mbox.gz) */
    unsigned max_xml_depth;   /* element nesting in a report */
    size_t max_text;          /* bytes of one XML text value */
    uint64_t max_records;     /* records per report */
    uint64_t max_keep_size;   /* bytes of a failed input kept in the
                                 database for retry-failed (streamed, never
                                 held in memory whole) */
} sift_limits;

/* The highest --max-keep-size: below SQLite's largest value (10^9 bytes,
 * SQLITE_MAX_LENGTH). */
#define SIFT_MAX_KEEP_CEILING (UINT64_C(900) << 20)

#define SIFT_LIMITS_INIT                                                       \
    {                                                                          \
        .max_report_size = UINT64_C(1) << 30,                                  \
        .max_input_size = UINT64_C(256) << 20, .max_depth = 8,                 \
        .max_entries = 10000, .max_messages = 1000000, .max_xml_depth = 32,    \
        .max_text = 64 * 1024, .max_records = 10000000,                        \
        .max_keep_size = UINT64_C(512) << 20                                   \
    }

#endif
