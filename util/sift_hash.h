/* sift_hash.h -- XXH3-128 (libxxhash) for content identity: the XML
 * content hash (xml/) and the input fingerprint (ingest/). 128 bits, so a
 * changed copy of a report is never taken for a re-send by accident (the
 * 64-bit word-wise FNV used before let a difference in a word's top byte
 * vanish). Not cryptographic: it identifies content, not authors. */
#ifndef SIFT_HASH_H
#define SIFT_HASH_H

#include <stddef.h>
#include <stdint.h>

typedef struct sift_hash128 {
    uint64_t hi, lo;
} sift_hash128;

/* Streaming state. It holds libxxhash's XXH3 state aligned inside it at
 * run time: initialise it in place and never copy it (memcpy, struct
 * assignment) once initialised. */
typedef struct sift_hasher {
    uint64_t space[96];
} sift_hasher;

void sift_hasher_init(sift_hasher *h);
void sift_hasher_add(sift_hasher *h, const void *p, size_t n);
/* The hash of everything added so far; the state may go on. */
sift_hash128 sift_hasher_digest(const sift_hasher *h);

/* One-shot hash of n bytes (p may be NULL when n is 0). */
sift_hash128 sift_hash128_of(const void *p, size_t n);
/* The hash of a hash and an integer, e.g. an archive and an entry index. */
sift_hash128 sift_hash128_mix(sift_hash128 h, uint64_t v);
int sift_hash128_eq(sift_hash128 a, sift_hash128 b);

/* Canonical 16-byte form (big-endian hi, then lo), as stored. */
void sift_hash128_put(unsigned char out[16], sift_hash128 h);
sift_hash128 sift_hash128_get(const unsigned char in[16]);

#endif
