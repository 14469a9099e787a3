/* sift_hash.c -- XXH3-128 behind sift_hash.h. */
#define XXH_STATIC_LINKING_ONLY
#include "sift_hash.h"

#include <string.h>
#include <xxhash.h>

_Static_assert(sizeof(XXH3_state_t) + 64 <= sizeof(((sift_hasher *)0)->space),
               "sift_hasher holds an aligned XXH3_state_t");

static XXH3_state_t *
state(const sift_hasher *h)
{
    uintptr_t p = (uintptr_t)h->space;

    return (XXH3_state_t *)((p + 63) & ~(uintptr_t)63);
}

void
sift_hasher_init(sift_hasher *h)
{
    (void)XXH3_128bits_reset(state(h));
}

void
sift_hasher_add(sift_hasher *h, const void *p, size_t n)
{
    if (n > 0)
        (void)XXH3_128bits_update(state(h), p, n);
}

static sift_hash128
from_xxh(XXH128_hash_t x)
{
    sift_hash128 r = {x.high64, x.low64};

    return r;
}

sift_hash128
sift_hasher_digest(const sift_hasher *h)
{
    return from_xxh(XXH3_128bits_digest(state(h)));
}

sift_hash128
sift_hash128_of(const void *p, size_t n)
{
    static const unsigned char none[1];

    return from_xxh(XXH3_128bits(n > 0 ? p : none, n));
}

sift_hash128
sift_hash128_mix(sift_hash128 h, uint64_t v)
{
    unsigned char b[24];
    int i;

    sift_hash128_put(b, h);
    for (i = 0; i < 8; i++)
        b[16 + i] = (unsigned char)(v >> (56 - 8 * i));
    return sift_hash128_of(b, sizeof(b));
}

int
sift_hash128_eq(sift_hash128 a, sift_hash128 b)
{
    return a.hi == b.hi && a.lo == b.lo;
}

void
sift_hash128_put(unsigned char out[16], sift_hash128 h)
{
    int i;

    for (i = 0; i < 8; i++) {
        out[i] = (unsigned char)(h.hi >> (56 - 8 * i));
        out[8 + i] = (unsigned char)(h.lo >> (56 - 8 * i));
    }
}

sift_hash128
sift_hash128_get(const unsigned char in[16])
{
    sift_hash128 h = {0, 0};
    int i;

    for (i = 0; i < 8; i++) {
        h.hi = h.hi << 8 | in[i];
        h.lo = h.lo << 8 | in[8 + i];
    }
    return h;
}
