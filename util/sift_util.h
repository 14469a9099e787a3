/* sift_util.h -- small shared helpers: bounded buffers, sizes, hashing.
 * Nothing here prints or exits. */
#ifndef SIFT_UTIL_H
#define SIFT_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "sift_err.h"

/* A growable byte buffer with a ceiling (curl dynbuf). Always
 * NUL-terminated once anything was added. _init/_dispose pair; the struct
 * is the caller's, the memory is the buffer's. */
typedef struct sift_buf {
    char *p;
    size_t len, cap, max;
} sift_buf;

void sift_buf_init(sift_buf *b, size_t max);
void sift_buf_dispose(sift_buf *b);
void sift_buf_reset(sift_buf *b); /* len = 0, keeps memory */
/* Append n bytes; SIFT_ETOOBIG if len would exceed max (nothing appended),
 * SIFT_ENOMEM on allocation failure. */
int sift_buf_add(sift_buf *b, const void *p, size_t n, sift_err *err);
int sift_buf_addf(sift_buf *b, sift_err *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Parse "64", "10K", "512M", "1G" (binary multiples, case-insensitive)
 * into *out. Returns SIFT_OK or SIFT_EUSAGE with err naming the text. */
int sift_parse_size(uint64_t *out, const char *s, sift_err *err);

/* Format bytes as "1 GiB", "64 MiB", "512 KiB" or "123 B" into buf. */
void sift_fmt_size(char *buf, size_t n, uint64_t bytes);

/* Parse a date, strictly: "YYYY-MM-DD" (00:00:00 UTC),
 * "YYYY-MM-DDTHH:MM:SS" with 'T' or ' ' and an optional 'Z' (UTC), or
 * "@SECONDS" (epoch seconds, digits only). Years from 1970; the day must
 * exist (2026-02-30 does not); seconds 00-59 (no leap second). A bare
 * integer such as 20231201 is refused (ambiguous). Returns SIFT_OK or
 * SIFT_EUSAGE with err saying what is accepted. */
int sift_parse_date(int64_t *out, const char *s, sift_err *err);

/* Format epoch seconds as "YYYY-MM-DDTHH:MM:SSZ" (UTC) into buf (>= 21). */
void sift_fmt_time(char *buf, size_t n, int64_t t);

/* 64-bit FNV-1a, incremental: h = sift_hash64(h, p, n), start with
 * SIFT_HASH64_INIT. Not cryptographic; identifies content, not authors. */
#define SIFT_HASH64_INIT UINT64_C(0xcbf29ce484222325)
uint64_t sift_hash64(uint64_t h, const void *p, size_t n);
/* The same, eight times faster: FNV-1a over 8-byte little-endian words,
 * then the n % 8 tail bytes one at a time. Streaming is exact only when
 * every piece but the last is a multiple of 8 bytes long. A different
 * value from sift_hash64(). */
uint64_t sift_hash64w(uint64_t h, const void *p, size_t n);

#endif
