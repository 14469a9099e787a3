/* xml_int.h -- internals shared by the xml/ sources (not a public API).
 *
 * The arena is the per-record allocator: append-only blocks, reset keeps
 * the blocks for reuse, so a report of a million records parses in the
 * memory of its largest record. A ceiling bounds its total size. */
#ifndef SIFT_XML_INT_H
#define SIFT_XML_INT_H

#include <stddef.h>

#include "sift_err.h"

typedef struct sift_xml__block sift_xml__block;

typedef struct sift_xml__arena {
    sift_xml__block *head, *cur;
    size_t total;      /* bytes of all blocks */
    size_t max;        /* ceiling for total */
    size_t block_size; /* default size of a new block */
    const char *what;  /* named in the ETOOBIG message */
} sift_xml__arena;

void sift_xml__arena_init(sift_xml__arena *a, size_t block_size, size_t max,
                          const char *what);
void sift_xml__arena_dispose(sift_xml__arena *a);
/* Forget every allocation; keeps the blocks. */
void sift_xml__arena_reset(sift_xml__arena *a);
/* n bytes aligned for any object; NULL with err set (ENOMEM/ETOOBIG). */
void *sift_xml__arena_alloc(sift_xml__arena *a, size_t n, sift_err *err);
/* Copy of s[0..n) plus NUL; NULL with err set. */
char *sift_xml__arena_strndup(sift_xml__arena *a, const char *s, size_t n,
                              sift_err *err);

#endif
