/* sift_reader.c -- memory and stdio readers; see sift_reader.h. */
#include "sift_reader.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sift_util.h"

static int
mem_read(void *ctx, void *buf, size_t len, size_t *nread, sift_err *err)
{
    sift_memreader *m = ctx;
    size_t n = m->len - m->off;

    (void)err;
    if (n > len)
        n = len;
    if (n > 0)
        memcpy(buf, m->p + m->off, n);
    m->off += n;
    *nread = n;
    return SIFT_OK;
}

sift_reader *
sift_memreader_init(sift_memreader *m, const void *buf, size_t len,
                    const char *name)
{
    m->p = buf;
    m->len = len;
    m->off = 0;
    m->r.name = name;
    m->r.read = mem_read;
    m->r.ctx = m;
    return &m->r;
}

static int
file_read(void *ctx, void *buf, size_t len, size_t *nread, sift_err *err)
{
    sift_filereader *f = ctx;
    size_t n = fread(buf, 1, len, f->fp);

    *nread = n;
    if (n == 0 && ferror(f->fp))
        return sift_err_sys(err, "read failed");
    return SIFT_OK;
}

sift_reader *
sift_filereader_init(sift_filereader *f, FILE *fp, const char *name)
{
    f->fp = fp;
    f->r.name = name;
    f->r.read = file_read;
    f->r.ctx = f;
    return &f->r;
}

int
sift_reader_slurp(unsigned char **out, size_t *len, sift_reader *r,
                  uint64_t max, sift_err *err)
{
    unsigned char *buf = NULL, *nb;
    size_t cap = 0, n = 0, got;
    int rc;

    *out = NULL;
    *len = 0;
    for (;;) {
        if (cap - n < 65536) {
            size_t ncap = cap ? cap * 2 : 65536 + 1;
            if ((nb = realloc(buf, ncap)) == NULL) {
                rc = sift_err_set(err, SIFT_ENOMEM, "out of memory");
                goto fail;
            }
            buf = nb;
            cap = ncap;
        }
        rc = sift_reader_read(r, buf + n, cap - n - 1, &got, err);
        if (rc != SIFT_OK)
            goto fail;
        if (got == 0)
            break;
        n += got;
        if (n > max) {
            char h[32];
            sift_fmt_size(h, sizeof(h), max);
            rc = sift_err_set(err, SIFT_ETOOBIG,
                              "larger than the %s limit", h);
            goto fail;
        }
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return SIFT_OK;
fail:
    free(buf);
    return rc;
}
