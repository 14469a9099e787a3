/* xml_arena.c -- the bump allocator behind per-record memory.
 *
 * Invariant: a->total never exceeds a->max; reset keeps every block, so the
 * steady state of a long report allocates nothing. */
#include "xml_int.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sift_util.h"

struct sift_xml__block {
    sift_xml__block *next;
    size_t cap, used;
    max_align_t data[]; /* cap bytes */
};

#define ALIGN_UP(n)                                                            \
    (((n) + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1))

void
sift_xml__arena_init(sift_xml__arena *a, size_t block_size, size_t max,
                     const char *what)
{
    a->head = a->cur = NULL;
    a->total = 0;
    a->max = max;
    a->block_size = block_size;
    a->what = what;
}

void
sift_xml__arena_dispose(sift_xml__arena *a)
{
    sift_xml__block *b, *next;

    if (a == NULL)
        return;
    for (b = a->head; b != NULL; b = next) {
        next = b->next;
        free(b);
    }
    a->head = a->cur = NULL;
    a->total = 0;
}

void
sift_xml__arena_reset(sift_xml__arena *a)
{
    sift_xml__block *b;

    for (b = a->head; b != NULL; b = b->next)
        b->used = 0;
    a->cur = a->head;
}

void *
sift_xml__arena_alloc(sift_xml__arena *a, size_t n, sift_err *err)
{
    sift_xml__block *b, *last = NULL;
    size_t need = ALIGN_UP(n ? n : 1), cap;
    void *p;

    if (need < n)
        return sift_err_set(err, SIFT_ETOOBIG, "%s too large", a->what), NULL;
    for (b = a->cur; b != NULL; b = b->next) {
        if (b->cap - b->used >= need)
            break;
        last = b;
    }
    if (b == NULL) {
        cap = need > a->block_size ? need : a->block_size;
        if (cap > a->max || a->total > a->max - cap) {
            char h[32];
            sift_fmt_size(h, sizeof(h), a->max);
            sift_err_set(err, SIFT_ETOOBIG, "%s larger than %s", a->what, h);
            return NULL;
        }
        if ((b = malloc(sizeof(*b) + cap)) == NULL) {
            sift_err_set(err, SIFT_ENOMEM, "out of memory");
            return NULL;
        }
        b->cap = cap;
        b->used = 0;
        a->total += cap;
        /* append after the last block so reused blocks keep their order */
        if (last == NULL)
            for (last = a->head; last && last->next; last = last->next)
                ;
        b->next = NULL;
        if (last == NULL)
            a->head = b;
        else
            last->next = b;
    }
    a->cur = b;
    p = (char *)b->data + b->used;
    b->used += need;
    return p;
}

char *
sift_xml__arena_strndup(sift_xml__arena *a, const char *s, size_t n,
                        sift_err *err)
{
    char *p = sift_xml__arena_alloc(a, n + 1, err);

    if (p == NULL)
        return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}
