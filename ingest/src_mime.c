/* src_mime.c -- RFC 5322 messages (GMime 3) and their frame.
 * A message is parsed from memory already capped at max_input_size; its
 * leaves (through message/rfc822) are decoded one at a time, so at most
 * one decoded part is held besides it.
 *
 * GLib aborts the process when an allocation fails (g_malloc), and GMime
 * allocates with it: out of memory inside GMime would be SIGTRAP, not a
 * clean exit. So GMime never grows a buffer by the size of the input:
 * header fields are counted and sized before it parses (their cost is
 * tried first as a mapping), and a part over 1 MiB is decoded into a
 * memfd, which is then mapped (mmap fails cleanly); a smaller one decodes
 * in memory, inside an 8 MiB reserve. */
#define _GNU_SOURCE /* memfd_create */
#include "ingest_int.h"

#include <errno.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
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
    void *cur; /* the last decoded leaf, mapped (cur_len bytes) */
    size_t cur_len;
    GMimeStream *cur_mem; /* or in memory, when it was small */
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

static pthread_once_t as_once = PTHREAD_ONCE_INIT;
static int as_limited; /* RLIMIT_AS is set (read once: a system call) */

static void
as_read(void)
{
    struct rlimit as;

    as_limited = getrlimit(RLIMIT_AS, &as) != 0 || as.rlim_cur != RLIM_INFINITY;
}

/* Make sure n bytes of address space could be had now, then give them
 * back: GMime (GLib) aborts the process when an allocation fails, so its
 * needs are tried first with an inaccessible mapping, which fails cleanly
 * (ulimit -v counts it) and costs two system calls, never a page. A
 * heuristic (another thread may allocate in between), sized with a wide
 * margin. Only an address-space limit can refuse such a mapping (neither
 * RLIMIT_DATA nor strict overcommit counts an inaccessible one), so
 * without one (as the process started) there is nothing to try: the pair
 * of calls was a third of the time of an mbox of empty messages. */
static int
reserve(size_t n)
{
    void *p;

    pthread_once(&as_once, as_read);
    if (!as_limited)
        return 0;
    p = mmap(NULL, n, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    if (p == MAP_FAILED)
        return -1;
    munmap(p, n);
    return 0;
}

#define GMIME_RESERVE (8u << 20) /* parser, objects, filters */
#define SMALL_PART (1u << 20)    /* encoded bytes decoded in memory */

/* Is line p[0..n) a header field ("Name:" with a printable name)? */
static int
field_line(const unsigned char *p, size_t n)
{
    size_t i;

    for (i = 0; i < n && p[i] > ' ' && p[i] < 0x7f && p[i] != ':'; i++)
        ;
    return i > 0 && i < n && p[i] == ':';
}

/* Count header fields before GMime sees the bytes: GMime keeps about 500
 * bytes per field, so 5 MiB of "X: y" lines cost 500 MiB. Fields are
 * counted in the message's header block, after each line that may be a
 * boundary ("--"), and in a block that looks like an embedded message's
 * header right after another header block. Returns 1 past max. */
static int
too_many_fields(const unsigned char *buf, size_t len, size_t max,
                size_t *fields, size_t *bytes)
{
    size_t i = 0, n = 0, hb = 0;
    int head = 1, maybe = 0;

    while (i < len) {
        const unsigned char *p = buf + i;
        const unsigned char *nl = memchr(p, '\n', len - i);
        size_t ll = nl ? (size_t)(nl - p) : len - i;
        size_t l2 = ll > 0 && p[ll - 1] == '\r' ? ll - 1 : ll;

        i += ll + 1;
        if (head)
            hb += ll + 1;
        if (head) {
            if (l2 == 0) {
                head = 0;
                maybe = 1; /* a message/rfc822 body starts with a header */
            } else if (p[0] == ' ' || p[0] == '\t') {
                continue; /* folded */
            } else if (field_line(p, l2)) {
                if (++n > max)
                    goto over;
            } else {
                head = 0; /* GMime ends the header block here */
            }
            continue;
        }
        if ((maybe && field_line(p, l2)) ||
            (l2 >= 2 && p[0] == '-' && p[1] == '-')) {
            head = 1;
            if (p[0] != '-' && ++n > max)
                goto over;
        }
        maybe = 0;
    }
    *fields = n;
    *bytes = hb;
    return 0;
over:
    *fields = n;
    *bytes = hb;
    return 1;
}

int
sift_ingest__mime_parse(mime_msg **out, int *arf, const unsigned char *buf,
                        size_t len, const sift_limits *lim, sift_err *err)
{
    mime_msg *m = NULL;
    unsigned char *fixed = NULL;
    size_t flen = 0, fields, nf = 0, hb = 0, parts, hcap;
    GMimeStream *st = NULL;
    GMimeParser *ps = NULL;
    int rc;

    *out = NULL;
    *arf = 0;
    pthread_once(&gmime_once, gmime_start);
    if (buf == NULL || len == 0)
        return sift_err_set(err, SIFT_EFORMAT, "empty message");
    if ((parts = count_multipart(buf, len)) > lim->max_entries)
        return sift_err_set(err, SIFT_ETOOBIG,
                            "message has more than %u MIME parts "
                            "(--max-entries)",
                            lim->max_entries);
    /* at most 1 field per 512 bytes of --max-input-size (1000 at least):
     * their cost stays within the limit */
    fields = lim->max_input_size / 512 < 1000 ? 1000
             : lim->max_input_size / 512 > SIZE_MAX
                 ? SIZE_MAX
                 : (size_t)(lim->max_input_size / 512);
    if (too_many_fields(buf, len, fields, &nf, &hb))
        return sift_err_set(err, SIFT_ETOOBIG,
                            "message has more than %zu header fields (1 per "
                            "512 bytes of --max-input-size)",
                            fields);
    /* GMime keeps several copies of header text (a 6 MiB Subject costs
     * 50 MiB): at most 1/64 of --max-input-size of it (1 MiB at least) */
    hcap = lim->max_input_size / 64 < (1u << 20) ? (1u << 20)
           : lim->max_input_size / 64 > SIZE_MAX
               ? SIZE_MAX
               : (size_t)(lim->max_input_size / 64);
    if (hb > hcap) {
        char h[32];
        sift_fmt_size(h, sizeof(h), hcap);
        return sift_err_set(err, SIFT_ETOOBIG,
                            "message has more than %s of header fields (1/64 "
                            "of --max-input-size)",
                            h);
    }
    /* what GMime will allocate: ~500 bytes a field, a few copies of the
     * header text, a few KB a part */
    if (reserve(GMIME_RESERVE + nf * 1024 + hb * 8 + parts * 8192) != 0)
        return sift_err_set(err, SIFT_ENOMEM, "out of memory");
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
    GMimeStream *st;
    struct stat sb;
    struct rlimit rl;
    gint64 len;
    int fd, rc, e;

    info->filename = g_mime_part_get_filename(part);
    info->text = ct != NULL && g_mime_content_type_is_type(ct, "text", "*") &&
                 !g_mime_content_type_is_type(ct, "text", "xml");
    if (m->cur != NULL)
        munmap(m->cur, m->cur_len);
    if (m->cur_mem != NULL)
        g_object_unref(m->cur_mem);
    m->cur = NULL;
    m->cur_len = 0;
    m->cur_mem = NULL;
    *p = (const unsigned char *)"";
    *n = 0;
    if (dw == NULL)
        return SIFT_OK;
    if (reserve(GMIME_RESERVE) != 0)
        return sift_err_set(err, SIFT_ENOMEM, "out of memory");
    /* A small part (a report, mostly) decodes into memory: its buffer
     * grows to at most its encoded size, well inside the reserve. */
    if ((len = g_mime_stream_length(g_mime_data_wrapper_get_stream(dw))) >= 0 &&
        len <= SMALL_PART) {
        GByteArray *ba;
        m->cur_mem = g_mime_stream_mem_new();
        if (g_mime_data_wrapper_write_to_stream(dw, m->cur_mem) < 0)
            return sift_err_set(err, SIFT_EFORMAT, "cannot decode MIME part");
        ba = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(m->cur_mem));
        if (ba != NULL && ba->len > 0) {
            *p = ba->data;
            *n = ba->len;
        }
        return SIFT_OK;
    }
    /* A larger one into a memfd, not a GByteArray (g_realloc aborts) */
    if ((fd = memfd_create("sift-part", MFD_CLOEXEC)) < 0)
        return SIFT_FD_ERRNO(errno)
                   ? sift_ingest__enofd(err, "memfd")
                   : sift_err_sys(err, "cannot decode MIME part");
    st = g_mime_stream_fs_new(fd);
    g_mime_stream_fs_set_owner(GMIME_STREAM_FS(st), FALSE);
    rc = g_mime_data_wrapper_write_to_stream(dw, st) < 0 ? -1 : 0;
    e = errno;
    g_object_unref(st);
    if (rc != 0 && e == EFBIG && getrlimit(RLIMIT_FSIZE, &rl) == 0 &&
        rl.rlim_cur != RLIM_INFINITY) { /* SIGXFSZ is ignored (cli/main.c) */
        close(fd);
        return sift_err_set(err, SIFT_ETOOBIG,
                            "cannot decode MIME part: it is larger than the "
                            "file size limit (ulimit -f) of %llu bytes",
                            (unsigned long long)rl.rlim_cur);
    }
    if (rc != 0) {
        errno = e;
        rc = e == ENOMEM || e == ENOSPC
                 ? sift_err_sys(err, "cannot decode MIME part")
                 : sift_err_set(err, SIFT_EFORMAT, "cannot decode MIME part");
        close(fd);
        return rc;
    }
    if (fstat(fd, &sb) != 0) {
        rc = sift_err_sys(err, "cannot decode MIME part");
        close(fd);
        return rc;
    }
    if (sb.st_size > 0) {
        void *map =
            mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (map == MAP_FAILED) {
            close(fd);
            return sift_err_set(err, SIFT_ENOMEM, "out of memory");
        }
        m->cur = map;
        m->cur_len = (size_t)sb.st_size;
        *p = map;
        *n = m->cur_len;
    }
    close(fd); /* the mapping stays */
    return SIFT_OK;
}

void
sift_ingest__mime_free(mime_msg *m)
{
    if (m == NULL)
        return;
    if (m->cur != NULL)
        munmap(m->cur, m->cur_len);
    if (m->cur_mem != NULL)
        g_object_unref(m->cur_mem);
    if (m->msg)
        g_object_unref(m->msg);
    if (m->ba) /* the parts' streams are gone with the message */
        g_byte_array_free(m->ba, FALSE);
    free(m->fixed);
    free(m->leaf);
    free(m);
}

/* ---- the frame ---- */

typedef struct msg_st {
    mime_msg *mm;
    unsigned char *own; /* the message bytes, when the frame owns them */
    size_t own_len;
    size_t found; /* report-like parts seen */
} msg_st;

static void
msg_dispose(frame *f)
{
    msg_st *s = f->st;

    if (s == NULL)
        return;
    sift_ingest__mime_free(s->mm);
    free(s->own); /* after the message that parsed it in place */
    free(s);
}

int
sift_ingest__msg_start(sift_ingest *in, const unsigned char *buf, size_t len,
                       unsigned char *own, char *path, unsigned depth,
                       const origin *org, sift_err *err)
{
    mime_msg *mm = NULL;
    frame *f = NULL;
    msg_st *s;
    sift_err e;
    int arf = 0, rc;

    sift_err_clear(&e);
    rc = sift_ingest__mime_parse(&mm, &arf, buf, len, &in->lim, &e);
    if (rc == SIFT_ENOMEM) {
        free(own);
        free(path);
        return sift_ingest__enomem(err);
    }
    if (rc != SIFT_OK) {
        free(own);
        sift_ingest__emit(in, SIFT_ITEM_FAILED, path, NULL, NULL, org, &e);
        return SIFT_OK;
    }
    if (arf) {
        /* The attached original message is the offender's, not a report:
         * do not look inside. */
        sift_ingest__mime_free(mm);
        free(own);
        sift_ingest__emit(in, SIFT_ITEM_FAILURE_REPORT, path, NULL, NULL, org,
                          NULL);
        return SIFT_OK;
    }
    if ((s = calloc(1, sizeof(*s))) == NULL) {
        sift_ingest__mime_free(mm);
        free(own);
        free(path);
        return sift_ingest__enomem(err);
    }
    s->mm = mm;
    s->own = own; /* freed after mm (msg_dispose) */
    s->own_len = own != NULL ? len : 0;
    if ((rc = sift_ingest__push(in, &sift_src_msg, path, depth, org, &f,
                                err)) != SIFT_OK) {
        msg_dispose(&(frame){.st = s});
        return rc;
    }
    f->st = s;
    f->held = s->own_len;
    f->n = sift_ingest__mime_count(mm);
    return SIFT_OK;
}

static int
msg_open(sift_ingest *in, unit *u, sift_err *err)
{
    unsigned char *buf = NULL;
    size_t len = 0;
    sift_err e;
    int rc;

    if (!u->compressed && u->org.kind == O_MEM &&
        u->org.len <= in->lim.max_input_size) {
        /* already in memory: parse it where it is */
        sift_ingest__lay_free_chain(u->chain);
        return sift_ingest__msg_start(in, u->org.p, u->org.len, NULL, u->path,
                                      u->depth, &u->org, err);
    }
    sift_err_clear(&e);
    rc = sift_ingest__spool(in, &u->pk->l.r, &buf, &len, "message", &e);
    if (rc == SIFT_ENOMEM) {
        sift_ingest__lay_free_chain(u->chain);
        free(u->path);
        return sift_ingest__enomem(err);
    }
    if (rc != SIFT_OK) {
        sift_ingest__emit(in, SIFT_ITEM_FAILED, u->path, u->chain, NULL,
                          &u->org, &e);
        return SIFT_OK;
    }
    sift_ingest__lay_free_chain(u->chain);
    /* the frame keeps buf: GMime parses it in place */
    return sift_ingest__msg_start(in, buf, len, buf, u->path, u->depth, &u->org,
                                  err);
}

static int
msg_next(sift_ingest *in, frame *f, sift_err *err)
{
    msg_st *s = f->st;

    while (f->i < f->n) {
        size_t i = f->i++;
        const unsigned char *p;
        size_t n;
        mime_leaf_info info;
        origin org = {.kind = O_MEM};
        lay *chain = NULL, *l;
        sniff_kind k;
        char *path;
        sift_err e;
        int rc;

        sift_err_clear(&e);
        rc = sift_ingest__mime_decode(s->mm, i, &info, &p, &n, &e);
        f->held = s->own_len + (rc == SIFT_OK ? n : 0);
        if (rc == SIFT_ENOMEM)
            return sift_ingest__enomem(err); /* the run stops: exit 74 */
        if (rc == SIFT_ENOFD) {
            *err = e;
            return rc;
        }
        if (rc == SIFT_OK) {
            k = sift_ingest__sniff(p, n);
            if (k == SNIFF_XML && info.text && !sift_ingest__strict_xml(p, n))
                continue; /* an HTML or text body */
            if (k != SNIFF_XML && k != SNIFF_GZIP && k != SNIFF_ZLIB &&
                k != SNIFF_ZIP && k != SNIFF_TAR && k != SNIFF_XZ &&
                k != SNIFF_BZIP2)
                continue;
            /* bound what nesting multiplies: a container inside */
            if (k != SNIFF_XML &&
                sift_ingest__held(in) > 2 * in->lim.max_input_size)
                rc = sift_ingest__held_fail(in, &e, "decoded part");
        }
        if (info.filename != NULL && info.filename[0] != '\0') {
            path = sift_ingest__join(f->path, "/", info.filename);
        } else {
            char pn[32];
            snprintf(pn, sizeof(pn), "part%zu", i + 1);
            path = sift_ingest__join(f->path, "/", pn);
        }
        if (path == NULL)
            return sift_ingest__enomem(err);
        s->found++;
        if (rc != SIFT_OK) {
            sift_ingest__emit(in, SIFT_ITEM_FAILED, path, NULL, NULL, NULL, &e);
            return SIFT_OK;
        }
        org.p = p;
        org.len = n;
        if ((l = sift_ingest__mem_new(&chain, p, n, path)) == NULL) {
            free(path);
            return sift_ingest__enomem(err);
        }
        return sift_ingest__open_unit(in, chain, &l->r, path, f->depth, &org,
                                      NULL, 0, err);
    }
    f->done = 1;
    if (s->found == 0) {
        char *p = strdup(f->path);
        if (p == NULL)
            return sift_ingest__enomem(err);
        sift_ingest__emit(in, SIFT_ITEM_NOT_REPORT, p, NULL, NULL, &f->org,
                          NULL);
    }
    return SIFT_OK;
}

const src_ops sift_src_msg = {
    .name = "message",
    .sniffs = SNIFF_BIT(SNIFF_MESSAGE),
    .open = msg_open,
    .next = msg_next,
    .dispose = msg_dispose,
};
