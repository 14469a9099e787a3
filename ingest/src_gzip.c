/* src_gzip.c -- reader layers: peek/cap and gzip/zlib inflate.
 *
 * Inflation is lazy (one read() inflates at most what the caller asked
 * for) and capped: a layer never yields more than its `cap` bytes, so a
 * gzip bomb ends in SIFT_ETOOBIG after bounded work and memory. */
#include "ingest_int.h"

#include <stdlib.h>
#include <string.h>

void
sift_ingest__lay_free_chain(lay *l)
{
    while (l != NULL) {
        lay *next = l->chain;
        if (l->dispose)
            l->dispose(l);
        free(l);
        l = next;
    }
}

void
sift_ingest__limit(char *buf, size_t n, uint64_t v, const char *opt)
{
    char h[32];

    sift_fmt_size(h, sizeof(h), v);
    snprintf(buf, n, "the %s limit (%s)", h, opt);
}

/* ---- peek / cap ---- */

static int
pk_read(void *ctx, void *buf, size_t len, size_t *nread, sift_err *err)
{
    pk_lay *p = ctx;
    size_t n = 0;
    int rc = SIFT_OK;

    *nread = 0;
    if (p->hoff < p->hlen) {
        n = p->hlen - p->hoff;
        if (n > len)
            n = len;
        memcpy(buf, p->head + p->hoff, n);
        p->hoff += n;
    } else if ((rc = sift_reader_read(p->in, buf, len, &n, err)) != SIFT_OK) {
        sift_err_where(err, p->l.r.name);
        return rc;
    }
    p->total += n;
    if (p->total > p->cap) {
        char lim[96];
        sift_ingest__limit(lim, sizeof(lim), p->cap, p->capopt);
        sift_err_set(err, SIFT_ETOOBIG, "%s exceeds %s", p->capmsg, lim);
        sift_err_where(err, p->l.r.name);
        return SIFT_ETOOBIG;
    }
    *nread = n;
    return SIFT_OK;
}

pk_lay *
sift_ingest__pk_new(lay **chain, sift_reader *in, const char *name,
                    uint64_t cap, const char *capmsg, const char *capopt,
                    sift_err *err)
{
    pk_lay *p = calloc(1, sizeof(*p));

    if (p == NULL) {
        sift_err_set(err, SIFT_ENOMEM, "out of memory");
        return NULL;
    }
    p->l.r.name = name;
    p->l.r.read = pk_read;
    p->l.r.ctx = p;
    p->l.chain = *chain;
    *chain = &p->l;
    p->in = in;
    p->cap = cap;
    p->capmsg = capmsg;
    p->capopt = capopt;
    return p;
}

int
sift_ingest__pk_fill(pk_lay *p, sift_err *err)
{
    size_t got;
    int rc;

    if (p->filled)
        return SIFT_OK;
    p->filled = 1;
    while (p->hlen < sizeof(p->head)) {
        rc = sift_reader_read(p->in, p->head + p->hlen,
                              sizeof(p->head) - p->hlen, &got, err);
        if (rc != SIFT_OK) {
            sift_err_where(err, p->l.r.name);
            return rc;
        }
        if (got == 0)
            break;
        p->hlen += got;
    }
    return SIFT_OK;
}

/* ---- inflate ---- */

typedef struct infl_lay {
    lay l;
    sift_reader *in;
    z_stream z;
    int zinit, gzip, in_eof, done;
    uint64_t out, cap;
    unsigned char ibuf[65536];
} infl_lay;

static void
infl_dispose(lay *l)
{
    infl_lay *f = (infl_lay *)l;

    if (f->zinit)
        inflateEnd(&f->z);
}

/* Top up the input buffer, keeping unconsumed bytes. */
static int
infl_fill(infl_lay *f, sift_err *err)
{
    size_t got, have = f->z.avail_in;
    int rc;

    if (f->in_eof)
        return SIFT_OK;
    if (have > 0 && f->z.next_in != f->ibuf)
        memmove(f->ibuf, f->z.next_in, have);
    rc = sift_reader_read(f->in, f->ibuf + have, sizeof(f->ibuf) - have, &got,
                          err);
    if (rc != SIFT_OK)
        return rc;
    if (got == 0)
        f->in_eof = 1;
    f->z.next_in = f->ibuf;
    f->z.avail_in = (uInt)(have + got);
    return SIFT_OK;
}

static int
infl_read(void *ctx, void *buf, size_t len, size_t *nread, sift_err *err)
{
    infl_lay *f = ctx;
    const char *what = f->gzip ? "gzip" : "zlib";
    int rc, zr;

    *nread = 0;
    if (f->done || len == 0)
        return SIFT_OK;
    if (len > (1u << 30))
        len = 1u << 30;
    f->z.next_out = buf;
    f->z.avail_out = (uInt)len;
    while (f->z.avail_out == len) {
        if (f->z.avail_in == 0) {
            if ((rc = infl_fill(f, err)) != SIFT_OK)
                return rc;
            if (f->z.avail_in == 0)
                return sift_err_set(err, SIFT_EFORMAT, "truncated %s",
                                    f->gzip ? "gzip" : "zlib stream");
        }
        zr = inflate(&f->z, Z_NO_FLUSH);
        if (zr == Z_STREAM_END) {
            /* Another member follows only if its magic does; anything
             * else (Mimecast's CRLF) is trailing junk we ignore. */
            if (f->gzip && f->z.avail_in < 2 &&
                (rc = infl_fill(f, err)) != SIFT_OK)
                return rc;
            if (f->gzip && f->z.avail_in >= 2 && f->z.next_in[0] == 0x1f &&
                f->z.next_in[1] == 0x8b) {
                inflateReset(&f->z);
                continue;
            }
            f->done = 1;
            break;
        }
        if (zr == Z_BUF_ERROR && f->z.avail_in == 0)
            continue;
        if (zr != Z_OK)
            return sift_err_set(err, SIFT_EFORMAT, "%s: %s", what,
                                f->z.msg ? f->z.msg : "corrupt data");
    }
    *nread = len - f->z.avail_out;
    f->out += *nread;
    if (f->out > f->cap) {
        char lim[96];
        sift_ingest__limit(lim, sizeof(lim), f->cap, "--max-report-size");
        return sift_err_set(err, SIFT_ETOOBIG, "decompressed size exceeds %s",
                            lim);
    }
    return SIFT_OK;
}

lay *
sift_ingest__inflate_new(lay **chain, sift_reader *in, int gzip,
                         const char *name, uint64_t cap, sift_err *err)
{
    infl_lay *f = calloc(1, sizeof(*f));

    if (f == NULL) {
        sift_err_set(err, SIFT_ENOMEM, "out of memory");
        return NULL;
    }
    if (inflateInit2(&f->z, gzip ? 16 + MAX_WBITS : MAX_WBITS) != Z_OK) {
        free(f);
        sift_err_set(err, SIFT_ENOMEM, "out of memory");
        return NULL;
    }
    f->zinit = 1;
    f->gzip = gzip;
    f->in = in;
    f->cap = cap;
    f->l.r.name = name;
    f->l.r.read = infl_read;
    f->l.r.ctx = f;
    f->l.dispose = infl_dispose;
    f->l.chain = *chain;
    *chain = &f->l;
    return &f->l;
}
