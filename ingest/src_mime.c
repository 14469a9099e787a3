/* src_mime.c -- RFC 5322 messages (GMime 3) and the mbox splitter.
 * A message is parsed from memory already capped at max_input_size; its
 * leaves (through message/rfc822) are decoded one at a time, so at most
 * one decoded part is held besides it. An mbox is split line by line from
 * a stream and never loaded whole. */
#include "ingest_int.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gmime/gmime.h>

struct mime_msg {
    GMimeMessage *msg;
    /* The bytes GMime parses in place (no copy): a GByteArray around the
     * caller's buffer (or around `fixed`), released without freeing them */
    GByteArray *ba;
    unsigned char *fixed;
    GMimeObject **leaf;
    size_t n, cap;
    size_t objects;
    int arf;
    GMimeStream *cur; /* the last decoded leaf */
};

static pthread_once_t gmime_once = PTHREAD_ONCE_INIT;

/* GLib would print GMime's warnings to stderr; library code never prints.
 */
static void
quiet(const gchar *domain, GLogLevelFlags level, const gchar *msg,
      gpointer data)
{
    (void)domain;
    (void)level;
    (void)msg;
    (void)data;
}

static void
gmime_start(void)
{
    g_mime_init();
    g_log_set_handler("gmime", G_LOG_LEVEL_MASK, quiet, NULL);
}

/* Trustwave writes "ContentType:" for the top-level header. When the
 * header block has no Content-Type but that typo, return a patched copy
 * (caller frees); else NULL. */
static unsigned char *
fix_content_type(const unsigned char *buf, size_t len, size_t *nlen)
{
    size_t i = 0, typo = (size_t)-1;
    unsigned char *out;

    while (i < len) {
        const unsigned char *p = buf + i;
        const unsigned char *nl = memchr(p, '\n', len - i);
        size_t ll = nl ? (size_t)(nl - p) : len - i;
        if (ll == 0 || (ll == 1 && p[0] == '\r'))
            break; /* end of the header block */
        if (ll >= 13 && strncasecmp((const char *)p, "content-type:", 13) == 0)
            return NULL;
        if (ll >= 12 && strncasecmp((const char *)p, "contenttype:", 12) == 0 &&
            typo == (size_t)-1)
            typo = i;
        i += ll + 1;
    }
    if (typo == (size_t)-1 || (out = malloc(len + 1)) == NULL)
        return NULL;
    memcpy(out, buf, typo);
    memcpy(out + typo, "Content-", 8);
    memcpy(out + typo + 8, buf + typo + 7, len - typo - 7);
    *nlen = len + 1;
    return out;
}

static int
is_arf(GMimeContentType *ct)
{
    const char *rt;

    if (ct == NULL)
        return 0;
    if (g_mime_content_type_is_type(ct, "message", "feedback-report"))
        return 1;
    if (g_mime_content_type_is_type(ct, "multipart", "report") &&
        (rt = g_mime_content_type_get_parameter(ct, "report-type")) != NULL &&
        strcasecmp(rt, "feedback-report") == 0)
        return 1;
    return 0;
}

static int
flatten(mime_msg *m, GMimeObject *obj, unsigned depth, const sift_limits *lim,
        sift_err *err)
{
    char l[96];

    if (obj == NULL)
        return SIFT_OK;
    if (depth > lim->max_depth) {
        snprintf(l, sizeof(l), "the %u limit (--max-depth)", lim->max_depth);
        return sift_err_set(err, SIFT_ETOOBIG, "MIME nesting deeper than %s",
                            l);
    }
    if (++m->objects > lim->max_entries)
        return sift_err_set(err, SIFT_ETOOBIG,
                            "message has more than %u MIME parts "
                            "(--max-entries)",
                            lim->max_entries);
    if (is_arf(g_mime_object_get_content_type(obj)))
        m->arf = 1;
    if (GMIME_IS_MULTIPART(obj)) {
        GMimeMultipart *mp = GMIME_MULTIPART(obj);
        int i, n = g_mime_multipart_get_count(mp);
        for (i = 0; i < n; i++) {
            int rc = flatten(m, g_mime_multipart_get_part(mp, i), depth + 1,
                             lim, err);
            if (rc != SIFT_OK)
                return rc;
        }
        return SIFT_OK;
    }
    if (GMIME_IS_MESSAGE_PART(obj)) {
        GMimeMessage *inner =
            g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));
        if (inner == NULL)
            return SIFT_OK;
        return flatten(m, g_mime_message_get_mime_part(inner), depth + 1, lim,
                       err);
    }
    if (GMIME_IS_PART(obj)) {
        if (m->n == m->cap) {
            size_t nc = m->cap ? m->cap * 2 : 16;
            GMimeObject **nl = realloc(m->leaf, nc * sizeof(*nl));
            if (nl == NULL)
                return sift_err_set(err, SIFT_ENOMEM, "out of memory");
            m->leaf = nl;
            m->cap = nc;
        }
        m->leaf[m->n++] = obj;
    }
    return SIFT_OK;
}

/* Count "multipart/" before GMime sees the bytes: GMime's parser recurses
 * per nesting level, so a nesting bomb must not reach it. */
static size_t
count_multipart(const unsigned char *p, size_t n)
{
    size_t i, c = 0;

    for (i = 0; i + 10 <= n; i++)
        if ((p[i] == 'm' || p[i] == 'M') &&
            strncasecmp((const char *)p + i, "multipart/", 10) == 0)
            c++;
    return c;
}

int
sift_ingest__mime_parse(mime_msg **out, int *arf, const unsigned char *buf,
                        size_t len, const sift_limits *lim, sift_err *err)
{
    mime_msg *m = NULL;
    unsigned char *fixed = NULL;
    size_t flen = 0;
    GMimeStream *st = NULL;
    GMimeParser *ps = NULL;
    int rc;

    *out = NULL;
    *arf = 0;
    pthread_once(&gmime_once, gmime_start);
    if (buf == NULL || len == 0)
        return sift_err_set(err, SIFT_EFORMAT, "empty message");
    if (count_multipart(buf, len) > lim->max_entries)
        return sift_err_set(err, SIFT_ETOOBIG,
                            "message has more than %u MIME parts "
                            "(--max-entries)",
                            lim->max_entries);
    if (len >= G_MAXUINT) /* GByteArray lengths are guint */
        return sift_err_set(err, SIFT_ETOOBIG, "message of 4 GiB or more");
    if ((m = calloc(1, sizeof(*m))) == NULL)
        return sift_err_set(err, SIFT_ENOMEM, "out of memory");
    if ((fixed = fix_content_type(buf, len, &flen)) != NULL) {
        buf = fixed;
        len = flen;
        m->fixed = fixed;
        fixed = NULL;
    }
    /* Parse the bytes where they are: g_mime_stream_mem_new_with_buffer()
     * would copy the whole message (a third of the peak for a 100 MiB
     * one). GMime only reads them; the array is released, not freed. */
    m->ba = g_byte_array_new_take((guint8 *)(uintptr_t)buf, len);
    st = g_mime_stream_mem_new_with_byte_array(m->ba);
    g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(st), FALSE);
    ps = g_mime_parser_new_with_stream(st);
    g_mime_parser_set_format(ps, GMIME_FORMAT_MESSAGE);
    m->msg = g_mime_parser_construct_message(ps, NULL);
    if (m->msg == NULL) {
        rc = sift_err_set(err, SIFT_EFORMAT, "not a mail message");
        goto fail;
    }
    rc = flatten(m, g_mime_message_get_mime_part(m->msg), 0, lim, err);
    if (rc != SIFT_OK)
        goto fail;
    *arf = m->arf;
    *out = m;
    m = NULL;
fail:
    if (ps)
        g_object_unref(ps);
    if (st)
        g_object_unref(st);
    free(fixed);
    sift_ingest__mime_free(m);
    return rc;
}

size_t
sift_ingest__mime_count(const mime_msg *m)
{
    return m->n;
}

int
sift_ingest__mime_decode(mime_msg *m, size_t i, mime_leaf_info *info,
                         const unsigned char **p, size_t *n, sift_err *err)
{
    GMimePart *part = GMIME_PART(m->leaf[i]);
    GMimeContentType *ct = g_mime_object_get_content_type(m->leaf[i]);
    GMimeDataWrapper *dw = g_mime_part_get_content(part);
    GByteArray *ba;

    info->filename = g_mime_part_get_filename(part);
    info->text = ct != NULL && g_mime_content_type_is_type(ct, "text", "*") &&
                 !g_mime_content_type_is_type(ct, "text", "xml");
    if (m->cur)
        g_object_unref(m->cur);
    m->cur = g_mime_stream_mem_new();
    *p = NULL;
    *n = 0;
    if (dw != NULL && g_mime_data_wrapper_write_to_stream(dw, m->cur) < 0)
        return sift_err_set(err, SIFT_EFORMAT, "cannot decode MIME part");
    ba = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(m->cur));
    if (ba != NULL) {
        *p = ba->data;
        *n = ba->len;
    }
    return SIFT_OK;
}

void
sift_ingest__mime_free(mime_msg *m)
{
    if (m == NULL)
        return;
    if (m->cur)
        g_object_unref(m->cur);
    if (m->msg)
        g_object_unref(m->msg);
    if (m->ba) /* the parts' streams are gone with the message */
        g_byte_array_free(m->ba, FALSE);
    free(m->fixed);
    free(m->leaf);
    free(m);
}

/* ---- mbox ---- */

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
