/* sift_reader.h -- a pull byte stream: the seam between ingest and xml.
 *
 * ingest hands out sift_readers (a file, a gunzip stream, a zip entry, a
 * decoded MIME part); xml pulls from one without knowing where the bytes
 * come from (the redis rio idea). A reader is not thread-safe. */
#ifndef SIFT_READER_H
#define SIFT_READER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "sift_err.h"

typedef struct sift_reader {
    /* Provenance path of the bytes, e.g. "export.mbox#17/r.zip/r.xml".
     * Borrowed: valid as long as the reader. */
    const char *name;
    /* Read up to len bytes into buf; *nread = 0 means end of stream.
     * Returns SIFT_OK or a negative sift_code with err set. */
    int (*read)(void *ctx, void *buf, size_t len, size_t *nread,
                sift_err *err);
    void *ctx;
} sift_reader;

/* Convenience wrapper around r->read(). */
static inline int
sift_reader_read(sift_reader *r, void *buf, size_t len, size_t *nread,
                 sift_err *err)
{
    return r->read(r->ctx, buf, len, nread, err);
}

/* A reader over a memory buffer. The struct embeds its state; the caller
 * owns it and the buffer, which must outlive it. No free needed. */
typedef struct sift_memreader {
    sift_reader r;
    const unsigned char *p;
    size_t len, off;
} sift_memreader;

/* Initialise m to read buf[0..len); returns &m->r. */
sift_reader *sift_memreader_init(sift_memreader *m, const void *buf,
                                 size_t len, const char *name);

/* A reader over a stdio stream (not closed by the reader). */
typedef struct sift_filereader {
    sift_reader r;
    FILE *fp;
} sift_filereader;

sift_reader *sift_filereader_init(sift_filereader *f, FILE *fp,
                                  const char *name);

/* Read the whole stream into a fresh malloc'd buffer of at most `max`
 * bytes (plus a NUL terminator not counted in *len). Returns SIFT_OK,
 * SIFT_ETOOBIG when the stream is longer than max (err names the limit),
 * or the reader's error. Ownership: *out is the caller's, free() it. */
int sift_reader_slurp(unsigned char **out, size_t *len, sift_reader *r,
                      uint64_t max, sift_err *err);

#endif
