/* src_memory.c -- memory inputs (a stored failed payload being retried)
 * and the memory layer that MIME parts and mbox messages are read
 * through. Their raw bytes are the origin O_MEM, served by ingest.c. */
#include "ingest_int.h"

#include <stdlib.h>
#include <string.h>

typedef struct mem_lay {
    lay l;
    const unsigned char *p;
    size_t len, off;
} mem_lay;

static int
mem_read(void *ctx, void *buf, size_t len, size_t *nread, sift_err *err)
{
    mem_lay *m = ctx;
    size_t n = m->len - m->off;

    (void)err;
    if (n > len)
        n = len;
    memcpy(buf, m->p + m->off, n);
    m->off += n;
    *nread = n;
    return SIFT_OK;
}

lay *
sift_ingest__mem_new(lay **chain, const unsigned char *p, size_t len,
                     const char *name)
{
    mem_lay *m = calloc(1, sizeof(*m));

    if (m == NULL)
        return NULL;
    m->p = p ? p : (const unsigned char *)"";
    m->len = len;
    m->l.r.name = name;
    m->l.r.read = mem_read;
    m->l.r.ctx = m;
    m->l.chain = *chain;
    *chain = &m->l;
    return &m->l;
}

static int
mem_start(sift_ingest *in, input *ip, sift_err *err)
{
    origin org = {.kind = O_MEM};
    lay *chain = NULL, *l;

    /* The buffer stays alive while items from it are current. */
    free(in->inbuf);
    in->inbuf = ip->buf;
    in->bytes += ip->len;
    org.p = ip->buf;
    org.len = ip->len;
    if ((l = sift_ingest__mem_new(&chain, ip->buf, ip->len, ip->name)) ==
        NULL) {
        free(ip->name);
        return sift_ingest__enomem(err);
    }
    return sift_ingest__open_unit(in, chain, &l->r, ip->name, 0, &org, NULL,
                                  U_TOP, err);
}

const src_ops sift_src_memory = {
    .name = "memory",
    .start = mem_start,
};
