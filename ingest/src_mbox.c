/* src_mbox.c -- mbox files: split line by line from a stream (never
 * loaded whole), one message at a time; the From_ line is dropped and
 * mboxrd's ">From " unquoted. Each message is parsed by src_mime.c from
 * the frame's buffer (capped at --max-input-size). Messages are numbered
 * from 1 in provenance paths ("export.mbox#17").
 *
 * A message over the buffer's cap (--max-input-size) is not held in
 * memory: its bytes go to a temporary file (the spool), up to `keep`
 * bytes (--max-keep-size), so that the failed input can still be kept for
 * retry-failed; the store streams it from there (docs/security.md). */
#include "ingest_int.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct mbox_split {
    sift_reader *in;
    size_t len, off;
    int eof, started, pending;
    /* the spool of the current oversized message */
    uint64_t keep;      /* most bytes spooled; 0: none */
    FILE *spool;        /* reused from message to message */
    uint64_t spool_len; /* bytes of the current message in it */
    uint64_t msg_len;   /* bytes of the current message, cut or not */
    int spooling;       /* the current message is being spooled */
    int spool_cut;      /* ... and passed keep (or a write failed) */
    sift_hasher h;      /* of the spooled bytes */
    unsigned char buf[65536];
};

int
sift_ingest__mbox_new(mbox_split **out, sift_reader *in, uint64_t keep,
                      sift_err *err)
{
    if ((*out = calloc(1, sizeof(**out))) == NULL)
        return sift_err_set(err, SIFT_ENOMEM, "out of memory");
    (*out)->in = in;
    (*out)->keep = keep;
    return SIFT_OK;
}

void
sift_ingest__mbox_free(mbox_split *s)
{
    if (s != NULL && s->spool != NULL)
        fclose(s->spool);
    free(s);
}

/* Append p[0..n) to the spool of the current message; past keep (or on a
 * write error) the message is marked cut and nothing more is written. */
static void
spool_add(mbox_split *s, const void *p, size_t n)
{
    s->msg_len += n;
    if (s->spool_cut || n == 0)
        return;
    if (s->spool_len + n > s->keep || fwrite(p, 1, n, s->spool) != n) {
        s->spool_cut = 1;
        return;
    }
    sift_hasher_add(&s->h, p, n);
    s->spool_len += n;
}

/* The message outgrew b: spool what b holds, then the rest as it comes. */
static void
spool_start(mbox_split *s, const sift_buf *b)
{
    s->spooling = 1;
    s->spool_len = 0;
    s->msg_len = 0;
    s->spool_cut = 0;
    if (s->keep == 0 || (s->spool == NULL && (s->spool = tmpfile()) == NULL)) {
        s->spool_cut = 1;
    } else {
        rewind(s->spool);
        if (ftruncate(fileno(s->spool), 0) != 0)
            s->spool_cut = 1;
        sift_hasher_init(&s->h);
    }
    spool_add(s, b->p, b->len);
}

int
sift_ingest__mbox_spool(mbox_split *s, origin *o)
{
    if (!s->spooling)
        return 0;
    if (s->spool == NULL || fflush(s->spool) != 0)
        s->spool_cut = 1;
    memset(o, 0, sizeof(*o));
    o->kind = O_SPOOL;
    o->spool = s->spool;
    o->spool_len = s->spool_cut ? s->msg_len : s->spool_len;
    if (!s->spool_cut) /* h is initialised only for a spool in use */
        o->spool_hash = sift_hasher_digest(&s->h);
    o->spool_whole = !s->spool_cut;
    return 1;
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
 * NULL. *big is set when b overflowed; from then on the message goes to
 * the spool. */
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
        if (b != NULL && *big)
            spool_add(s, p, seg);
        else if (b != NULL && sift_buf_add(b, p, seg, NULL) != SIFT_OK) {
            *big = 1;
            spool_start(s, b);
            spool_add(s, p, seg);
        }
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
    s->spooling = 0;
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
    if ((rc = sift_ingest__mbox_new(&s->mb, &u->pk->l.r, in->lim.max_keep_size,
                                    err)) != SIFT_OK)
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
        origin spool;
        int kept = 0;
        if (rc == SIFT_ETOOBIG)
            kept = sift_ingest__mbox_spool(s->mb, &spool);
        else
            f->done = 1; /* a read error: the rest is unreachable */
        sift_ingest__emit(in, SIFT_ITEM_FAILED, p, NULL, NULL,
                          kept ? &spool : NULL, &e);
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
