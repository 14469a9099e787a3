/* src_mbox.c -- mbox files: split line by line from a stream (never
 * loaded whole), one message at a time; the From_ line is dropped and
 * mboxrd's ">From " unquoted. Each message is parsed by src_mime.c from
 * the frame's buffer (capped at --max-input-size). Messages are numbered
 * from 1 in provenance paths ("export.mbox#17"). */
#include "ingest_int.h"

#include <stdlib.h>
#include <string.h>

struct mbox_split {
    sift_reader *in;
    size_t len, off;
    int eof, started, pending;
    unsigned char buf[65536];
};

int
sift_ingest__mbox_new(mbox_split **out, sift_reader *in, sift_err *err)
{
    if ((*out = calloc(1, sizeof(**out))) == NULL)
        return sift_err_set(err, SIFT_ENOMEM, "out of memory");
    (*out)->in = in;
    return SIFT_OK;
}

void
sift_ingest__mbox_free(mbox_split *s)
{
    free(s);
}

/* Make sure a whole line, or at least 256 bytes of it, is buffered. */
static int
mb_fill(mbox_split *s, sift_err *err)
{
    size_t got;
    int rc;

    while (!s->eof && !memchr(s->buf + s->off, '\n', s->len - s->off) &&
           s->len - s->off < 256) {
        if (s->off > 0) {
            memmove(s->buf, s->buf + s->off, s->len - s->off);
            s->len -= s->off;
            s->off = 0;
        }
        rc = sift_reader_read(s->in, s->buf + s->len, sizeof(s->buf) - s->len,
                              &got, err);
        if (rc != SIFT_OK)
            return rc;
        if (got == 0)
            s->eof = 1;
        s->len += got;
    }
    return SIFT_OK;
}

/* Consume the rest of the current line, appending it to b unless b is
 * NULL. *big is set when b overflowed. */
static int
mb_line(mbox_split *s, sift_buf *b, int *big, sift_err *err)
{
    for (;;) {
        const unsigned char *p, *nl;
        size_t seg;
        int rc;

        if (s->off == s->len) {
            s->off = s->len = 0;
            if (s->eof)
                return SIFT_OK;
            if ((rc = mb_fill(s, err)) != SIFT_OK)
                return rc;
            if (s->off == s->len)
                return SIFT_OK;
        }
        p = s->buf + s->off;
        nl = memchr(p, '\n', s->len - s->off);
        seg = nl ? (size_t)(nl - p) + 1 : s->len - s->off;
        if (b != NULL && !*big && sift_buf_add(b, p, seg, NULL) != SIFT_OK)
            *big = 1;
        s->off += seg;
        if (nl)
            return SIFT_OK;
    }
}

int
sift_ingest__mbox_next(mbox_split *s, sift_buf *b, sift_err *err)
{
    int rc, big = 0;

    sift_buf_reset(b);
    if (!s->started) {
        s->started = 1;
        if ((rc = mb_fill(s, err)) != SIFT_OK)
            return rc;
        if (s->len - s->off >= 5 && memcmp(s->buf + s->off, "From ", 5) == 0) {
            if ((rc = mb_line(s, NULL, &big, err)) != SIFT_OK)
                return rc;
        }
        s->pending = 1;
    }
    if (!s->pending)
        return SIFT_ITEROVER;
    s->pending = 0;
    for (;;) {
        const unsigned char *p;
        size_t avail, k = 0;

        if ((rc = mb_fill(s, err)) != SIFT_OK)
            return rc;
        p = s->buf + s->off;
        avail = s->len - s->off;
        if (avail == 0)
            break;
        if (avail >= 5 && memcmp(p, "From ", 5) == 0) {
            if ((rc = mb_line(s, NULL, &big, err)) != SIFT_OK)
                return rc;
            s->pending = 1;
            break;
        }
        while (k < avail && p[k] == '>')
            k++;
        if (k > 0 && avail - k >= 5 && memcmp(p + k, "From ", 5) == 0)
            s->off++; /* mboxrd: one level of ">From " quoting */
        if ((rc = mb_line(s, b, &big, err)) != SIFT_OK)
            return rc;
    }
    if (big) {
        char l[96];
        sift_ingest__limit(l, sizeof(l), b->max, "--max-input-size");
        return sift_err_set(err, SIFT_ETOOBIG, "message larger than %s", l);
    }
    return SIFT_OK;
}

/* ---- the frame ---- */

typedef struct mbox_st {
    mbox_split *mb;
    sift_buf msg; /* the current message */
} mbox_st;

static void
mbox_dispose(frame *f)
{
    mbox_st *s = f->st;

    if (s == NULL)
        return;
    sift_ingest__mbox_free(s->mb);
    sift_buf_dispose(&s->msg);
    free(s);
}

static int
mbox_open(sift_ingest *in, unit *u, sift_err *err)
{
    frame *f = NULL;
    mbox_st *s;
    int rc;

    if ((rc = sift_ingest__push(in, &sift_src_mbox, u->path, u->depth, &u->org,
                                &f, err)) != SIFT_OK) {
        sift_ingest__lay_free_chain(u->chain);
        return rc;
    }
    f->chain = u->chain;
    if ((s = f->st = calloc(1, sizeof(*s))) == NULL) {
        f->done = 1;
        return sift_ingest__enomem(err);
    }
    sift_buf_init(&s->msg, (size_t)in->lim.max_input_size);
    if ((rc = sift_ingest__mbox_new(&s->mb, &u->pk->l.r, err)) != SIFT_OK)
        f->done = 1;
    return rc;
}

static int
mbox_next(sift_ingest *in, frame *f, sift_err *err)
{
    mbox_st *s = f->st;
    origin org = {.kind = O_MEM};
    char num[32];
    sift_err e;
    char *p;
    int rc;

    sift_err_clear(&e);
    rc = sift_ingest__mbox_next(s->mb, &s->msg, &e);
    if (rc == SIFT_ITEROVER) {
        f->done = 1;
        return SIFT_OK;
    }
    if (++f->n > in->lim.max_messages) {
        /* empty messages are cheap to write and dear to count: 3 million
         * fit in 27 KB of .mbox.gz; the rest of the mbox is not read */
        char m[128];
        f->done = 1;
        if ((p = strdup(f->path)) == NULL)
            return sift_ingest__enomem(err);
        snprintf(m, sizeof(m),
                 "mbox has more than %u messages (--max-messages); the rest "
                 "is not read",
                 in->lim.max_messages);
        sift_ingest__emit_fail(in, p, NULL, NULL, SIFT_ETOOBIG, m);
        return SIFT_OK;
    }
    snprintf(num, sizeof(num), "%zu", f->n);
    if ((p = sift_ingest__join(f->path, "#", num)) == NULL)
        return sift_ingest__enomem(err);
    if (rc == SIFT_ENOMEM) {
        free(p);
        return sift_ingest__enomem(err);
    }
    if (rc != SIFT_OK) {
        if (rc != SIFT_ETOOBIG)
            f->done = 1; /* a read error: the rest is unreachable */
        sift_ingest__emit(in, SIFT_ITEM_FAILED, p, NULL, NULL, NULL, &e);
        return SIFT_OK;
    }
    org.p = (const unsigned char *)s->msg.p;
    org.len = s->msg.len;
    f->held = org.len;
    if (org.len == 0) {
        sift_ingest__emit(in, SIFT_ITEM_NOT_REPORT, p, NULL, NULL, &org, NULL);
        return SIFT_OK;
    }
    if (f->depth + 1 > in->lim.max_depth)
        return sift_ingest__depth_fail(in, p, NULL, &org);
    return sift_ingest__msg_start(in, org.p, org.len, NULL, p, f->depth + 1,
                                  &org, err);
}

const src_ops sift_src_mbox = {
    .name = "mbox",
    .sniffs = SNIFF_BIT(SNIFF_MBOX),
    .open = mbox_open,
    .next = mbox_next,
    .dispose = mbox_dispose,
};
