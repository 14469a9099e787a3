/* ingest_int.h -- private to ingest/: sniffing, reader layers, MIME.
 * A unit's bytes flow through a chain of `lay`ers (file, memory, zip
 * entry, inflate, peek). Every decompressing layer caps its output and the
 * peek layer caps a report, so no chain yields more than
 * lim->max_report_size bytes. Nothing here is public. */
#ifndef SIFT_INGEST_INT_H
#define SIFT_INGEST_INT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <zip.h>
#include <zlib.h>

#include "sift_err.h"
#include "sift_ingest.h"
#include "sift_limits.h"
#include "sift_reader.h"
#include "sift_util.h"

/* What the first bytes of a unit look like (sniff.c). */
typedef enum sniff_kind {
    SNIFF_UNKNOWN = 0,
    SNIFF_EMPTY,
    SNIFF_XML,
    SNIFF_GZIP,
    SNIFF_ZLIB,
    SNIFF_ZIP,
    SNIFF_ZIP_EMPTY, /* PK\5\6: an archive without entries */
    SNIFF_MBOX,
    SNIFF_MESSAGE
} sniff_kind;

#define SIFT_PEEK 4096 /* bytes of a unit looked at before deciding */

/* Classify head[0..n) (n may be short at end of input). */
sniff_kind sift_ingest__sniff(const unsigned char *head, size_t n);

/* Stricter test for text/plain and text/html MIME parts: they must open
 * with "<?xml" or carry a <feedback> start tag near the start. */
int sift_ingest__strict_xml(const unsigned char *head, size_t n);

/* A reader layer. Layers of one unit are linked through `chain` and
 * freed together with lay_free_chain(); the reader must be first. */
typedef struct lay lay;
struct lay {
    sift_reader r;
    lay *chain;
    void (*dispose)(lay *l);
};

void sift_ingest__lay_free_chain(lay *l); /* NULL is a no-op */

/* Peek layer: buffers the first SIFT_PEEK bytes for sniffing, then passes
 * the rest through; fails with SIFT_ETOOBIG past `cap` bytes (capmsg
 * names what was too big) and stamps err->where with r.name. */
typedef struct pk_lay {
    lay l;
    sift_reader *in;
    unsigned char head[SIFT_PEEK];
    size_t hlen, hoff;
    int filled;
    uint64_t total, cap;
    const char *capmsg; /* e.g. "decompressed size" */
    const char *capopt; /* e.g. "--max-report-size" */
} pk_lay;

pk_lay *sift_ingest__pk_new(lay **chain, sift_reader *in, const char *name,
                            uint64_t cap, const char *capmsg,
                            const char *capopt, sift_err *err);
/* Fill the head (reads until SIFT_PEEK bytes or end of input). */
int sift_ingest__pk_fill(pk_lay *p, sift_err *err);

/* Inflate layer over `in`: gzip (multi-member; trailing non-gzip bytes
 * ignored) or zlib. Output beyond `cap` bytes fails with SIFT_ETOOBIG. */
lay *sift_ingest__inflate_new(lay **chain, sift_reader *in, int gzip,
                              const char *name, uint64_t cap, sift_err *err);

/* Zip entry layer over an open zip_file_t (closed by the layer, even on
 * failure). Reading more than `declared` bytes (the central directory's
 * size; UINT64_MAX when unknown) fails with SIFT_EFORMAT. */
lay *sift_ingest__zipent_new(lay **chain, zip_file_t *zf, uint64_t declared,
                             const char *name, sift_err *err);

/* Open a zip by path (random access) or over memory (borrowed; must
 * outlive the archive). Returns SIFT_EFORMAT with libzip's message. */
int sift_ingest__zip_open_path(zip_t **out, const char *path, sift_err *err);
int sift_ingest__zip_open_mem(zip_t **out, const void *buf, size_t len,
                              sift_err *err);

/* Format a size limit into a message: "the 1 GiB limit (--max-report-size)"
 */
void sift_ingest__limit(char *buf, size_t n, uint64_t v, const char *opt);

/* ---- MIME (src_mime.c) ---- */

/* One parsed message: leaves flattened in depth-first order. */
typedef struct mime_msg mime_msg;

typedef struct mime_leaf_info {
    const char *filename; /* NULL when the part has none */
    int text;             /* text/plain or text/html: strict XML test */
} mime_leaf_info;

/* Parse buf[0..len) in place (borrowed, unchanged, until
 * sift_ingest__mime_free: GMime's streams point into it). Returns SIFT_OK,
 * SIFT_EFORMAT (not a message), SIFT_ETOOBIG (parts or nesting over the
 * limits, err names it). *arf is set for an ARF failure report. */
int sift_ingest__mime_parse(mime_msg **out, int *arf, const unsigned char *buf,
                            size_t len, const sift_limits *lim, sift_err *err);
size_t sift_ingest__mime_count(const mime_msg *m);
/* Decode leaf i; *p and *n are valid until the next decode or free. */
int sift_ingest__mime_decode(mime_msg *m, size_t i, mime_leaf_info *info,
                             const unsigned char **p, size_t *n, sift_err *err);
void sift_ingest__mime_free(mime_msg *m);

/* mbox splitter over a byte stream: one message at a time, the From_
 * line dropped, ">From " unquoted. */
typedef struct mbox_split mbox_split;
int sift_ingest__mbox_new(mbox_split **out, sift_reader *in, sift_err *err);
/* Next message into b (reset first). SIFT_OK, SIFT_ITEROVER at end,
 * SIFT_ETOOBIG when the message passed b->max (it was skipped), or a
 * read error (the split cannot continue). */
int sift_ingest__mbox_next(mbox_split *s, sift_buf *b, sift_err *err);
void sift_ingest__mbox_free(mbox_split *s);

/* ---- IMAP (src_imap.c) ---- */

/* Replace the session's fetch queue (copied). */
int sift_imap__queue(sift_imap *im, const uint32_t *uids, size_t n,
                     sift_err *err);
/* The next queued message into b (reset first; b->max is the size limit).
 * SIFT_OK: *path (malloc'd, the caller's) and the bytes. SIFT_ETOOBIG:
 * *path set, e says why, nothing fetched. SIFT_ITEROVER: the queue is
 * done, or fetching stopped (sift_imap_status). SIFT_ENOMEM. */
int sift_imap__next(sift_imap *im, sift_buf *b, char **path, sift_err *e);
/* Bytes fetched so far (progress). */
unsigned long long sift_imap__bytes(const sift_imap *im);

#endif
