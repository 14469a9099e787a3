/* src_archive.c -- tar (plain or inside gzip, xz, bzip2) and bare .xz /
 * .bz2 streams, read with libarchive entry by entry like a zip, and
 * streamed: the archive is never held whole.
 *
 * A tar entry is a unit at "ARCHIVE/entry/name" (names escaped like zip
 * names, never used as paths); directories, links and devices are skipped;
 * macOS "._" debris is not a report. A bare .xz or .bz2 is a
 * decompression layer, as gzip is: its one item has the archive's own
 * path. Limits as for zip: --max-entries per archive, --max-depth, and an
 * entry is capped by the peek layer above (--max-report-size, "decompressed
 * size"). An entry whose tar header declares more than --max-report-size
 * fails, and the rest of that archive with it: skipping it would cost as
 * much decompression as reading it. */
#include "ingest_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <archive.h>
#include <archive_entry.h>

#define AR_BUF 65536

typedef struct ar_st {
    struct archive *a;
    sift_reader *in; /* the container's bytes (the unit's peek layer) */
    sift_err in_err; /* why reading them failed */
    int in_failed;
    int bare; /* sniffed as xz/bzip2: a tar inside, or one bare stream */
    int raw;  /* it is one bare stream (libarchive's raw format) */
    uint64_t entries;
    /* the archive's own fingerprint, computed once (see src_zip.c) */
    int fp_done, fp_rc;
    sift_hash128 fp;
    uint64_t fp_len;
    sift_err fp_err;
    unsigned char buf[AR_BUF];
} ar_st;

static la_ssize_t
ar_read_cb(struct archive *a, void *ctx, const void **out)
{
    ar_st *s = ctx;
    size_t got = 0;

    (void)a;
    *out = s->buf;
    sift_err_clear(&s->in_err);
    if (sift_reader_read(s->in, s->buf, sizeof(s->buf), &got, &s->in_err) !=
        SIFT_OK) {
        s->in_failed = 1;
        archive_set_error(a, EIO, "%s", s->in_err.msg);
        return -1;
    }
    return (la_ssize_t)got;
}

/* A new reader for the formats we take: tar, or (raw) one bare stream.
 * Filters: gzip, xz/lzma, bzip2 (a tar.gz reaches here inflated already,
 * but the raw() path below reads the container's raw bytes). */
static struct archive *
ar_new(int raw)
{
    struct archive *a = archive_read_new();

    if (a == NULL)
        return NULL;
    archive_read_support_filter_gzip(a);
    archive_read_support_filter_xz(a);
    archive_read_support_filter_lzma(a);
    archive_read_support_filter_bzip2(a);
    if (raw) {
        /* tar first: a .tar.xz is a tar, a .xz of one report is raw */
        archive_read_support_format_tar(a);
        archive_read_support_format_raw(a);
    } else {
        archive_read_support_format_tar(a);
    }
    return a;
}

static void
ar_dispose(frame *f)
{
    ar_st *s = f->st;

    if (s == NULL)
        return;
    if (s->a)
        archive_read_free(s->a);
    free(s);
}

/* ---- the entry layer ---- */

typedef struct are_lay {
    lay l;
    struct archive *a;
    uint64_t declared, got; /* UINT64_MAX: unknown */
} are_lay;

static int
are_read(void *ctx, void *buf, size_t len, size_t *nread, sift_err *err)
{
    are_lay *e = ctx;
    la_ssize_t n = archive_read_data(e->a, buf, len);

    *nread = 0;
    if (n < 0)
        return sift_err_set(err, SIFT_EFORMAT, "archive: %s",
                            archive_error_string(e->a)
                                ? archive_error_string(e->a)
                                : "read error");
    e->got += (uint64_t)n;
    if (e->got > e->declared)
        return sift_err_set(err, SIFT_EFORMAT,
                            "archive: entry larger than its declared size");
    *nread = (size_t)n;
    return SIFT_OK;
}

static lay *
are_new(lay **chain, struct archive *a, uint64_t declared, const char *name)
{
    are_lay *e = calloc(1, sizeof(*e));

    if (e == NULL)
        return NULL;
    e->a = a;
    e->declared = declared;
    e->l.r.name = name;
    e->l.r.read = are_read;
    e->l.r.ctx = e;
    e->l.chain = *chain;
    *chain = &e->l;
    return &e->l;
}

/* ---- the frame ---- */

static int
ar_open(sift_ingest *in, unit *u, sift_err *err)
{
    sniff_kind k = sift_ingest__sniff(u->pk->head, u->pk->hlen);
    frame *f = NULL;
    ar_st *s;
    int rc;

    if ((s = calloc(1, sizeof(*s))) == NULL) {
        sift_ingest__lay_free_chain(u->chain);
        free(u->path);
        return sift_ingest__enomem(err);
    }
    s->bare = k != SNIFF_TAR;
    s->in = &u->pk->l.r;
    if ((s->a = ar_new(s->bare)) == NULL) {
        free(s);
        sift_ingest__lay_free_chain(u->chain);
        free(u->path);
        return sift_ingest__enomem(err);
    }
    if ((rc = sift_ingest__push(in, &sift_src_archive, u->path, u->depth,
                                &u->org, &f, err)) != SIFT_OK) {
        ar_dispose(&(frame){.st = s});
        sift_ingest__lay_free_chain(u->chain);
        return rc;
    }
    f->st = s;
    f->chain = u->chain; /* s->in lives in it */
    if (archive_read_open(s->a, s, NULL, ar_read_cb, NULL) != ARCHIVE_OK) {
        char *p = strdup(f->path);
        f->done = 1;
        if (p == NULL)
            return sift_ingest__enomem(err);
        if (s->in_failed)
            sift_ingest__emit(in, SIFT_ITEM_FAILED, p, NULL, NULL, &f->org,
                              &s->in_err);
        else
            sift_ingest__emit_fail(in, p, NULL, &f->org, SIFT_EFORMAT,
                                   archive_error_string(s->a)
                                       ? archive_error_string(s->a)
                                       : "not a readable archive");
    }
    return SIFT_OK;
}

/* The archive failed (a damaged header, a truncated stream): one item for
 * the archive itself, and nothing more is read from it. */
static int
ar_fail(sift_ingest *in, frame *f, int code, const char *msg, sift_err *err)
{
    ar_st *s = f->st;
    char *p = strdup(f->path);

    f->done = 1;
    if (p == NULL)
        return sift_ingest__enomem(err);
    if (s->in_failed) {
        sift_ingest__emit(in, SIFT_ITEM_FAILED, p, NULL, NULL, &f->org,
                          &s->in_err);
        return SIFT_OK;
    }
    sift_ingest__emit_fail(in, p, NULL, &f->org, code, msg);
    return SIFT_OK;
}

static int
ar_next(sift_ingest *in, frame *f, sift_err *err)
{
    ar_st *s = f->st;

    for (;;) {
        struct archive_entry *ent;
        origin org = {.kind = O_SRC, .ops = &sift_src_archive, .f = f};
        uint64_t declared = UINT64_MAX;
        const char *name, *base;
        lay *chain = NULL, *l;
        char *p;
        int r;

        if (s->raw && s->entries > 0) {
            /* one stream, read: asking libarchive for a next header would
             * decompress the rest of it first (a bomb's remainder) */
            f->done = 1;
            return SIFT_OK;
        }
        r = archive_read_next_header(s->a, &ent);
        if (r == ARCHIVE_EOF) {
            f->done = 1;
            return SIFT_OK;
        }
        if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
            char m[300];
            snprintf(m, sizeof(m), "%s: %s",
                     s->raw ? "compressed stream" : "tar",
                     archive_error_string(s->a) ? archive_error_string(s->a)
                                                : "damaged archive");
            return ar_fail(in, f, SIFT_EFORMAT, m, err);
        }
        s->raw = s->bare && (archive_format(s->a) & ARCHIVE_FORMAT_BASE_MASK) ==
                                ARCHIVE_FORMAT_RAW;
        org.idx = s->entries++;
        if (s->raw) {
            /* a bare stream is a layer: its item keeps the archive's path */
            if ((p = strdup(f->path)) == NULL)
                return sift_ingest__enomem(err);
        } else {
            if (archive_entry_filetype(ent) != AE_IFREG)
                continue; /* directories, links, devices: not data */
            if (s->entries > in->lim.max_entries) {
                char m[128];
                snprintf(m, sizeof(m),
                         "tar has more than %u entries (--max-entries)",
                         in->lim.max_entries);
                return ar_fail(in, f, SIFT_ETOOBIG, m, err);
            }
            name = archive_entry_pathname(ent);
            if (name == NULL)
                name = "";
            while (name[0] == '.' && name[1] == '/')
                name += 2; /* "./x.xml" from `tar -C dir .` */
            if ((p = sift_ingest__join(f->path, "/", name)) == NULL)
                return sift_ingest__enomem(err);
            base = strrchr(name, '/') ? strrchr(name, '/') + 1 : name;
            if (strncmp(base, "._", 2) == 0 ||
                strncmp(name, "__MACOSX/", 9) == 0) {
                sift_ingest__emit(in, SIFT_ITEM_NOT_REPORT, p, NULL, NULL, &org,
                                  NULL);
                return SIFT_OK;
            }
            if (archive_entry_size_is_set(ent) &&
                archive_entry_size(ent) >= 0) {
                declared = (uint64_t)archive_entry_size(ent);
                if (declared > in->lim.max_report_size) {
                    char m[160], lim[96];
                    sift_ingest__limit(lim, sizeof(lim),
                                       in->lim.max_report_size,
                                       "--max-report-size");
                    snprintf(m, sizeof(m),
                             "tar entry larger than %s; the rest of the "
                             "archive is not read",
                             lim);
                    f->done = 1;
                    sift_ingest__emit_fail(in, p, NULL, &org, SIFT_ETOOBIG, m);
                    return SIFT_OK;
                }
            }
        }
        if ((l = are_new(&chain, s->a, declared, p)) == NULL) {
            free(p);
            return sift_ingest__enomem(err);
        }
        return sift_ingest__open_unit(in, chain, &l->r, p, f->depth, &org, NULL,
                                      U_INFLATED, err);
    }
}

/* An entry's raw bytes: the archive is opened again over its own raw
 * bytes (what sift_ingest_raw() gives for the container, in memory up to
 * --max-input-size) and read to entry idx. Not for an archive streamed
 * from stdin: fetching its bytes would consume the rest of stdin. */
static int
ar_raw(sift_ingest *in, const origin *o, const char *path, unsigned char **buf,
       size_t *len, sift_err *err)
{
    frame *f = o->f;
    ar_st *s = f->st;
    const origin *co = &f->org;
    unsigned char *cbuf = NULL;
    const unsigned char *cp;
    size_t clen = 0;
    struct archive *a;
    struct archive_entry *ent;
    uint64_t i = 0;
    char l[96];
    int rc, r;

    if (co->kind == O_SRC && co->ops == &sift_src_stdin)
        return sift_err_set(err, SIFT_EUSAGE,
                            "%s: no raw bytes kept (an archive streamed "
                            "from stdin)",
                            path);
    if (co->kind == O_MEM) {
        cp = co->p;
        clen = co->len;
    } else if (co->kind == O_SRC && co->ops->raw != NULL) {
        if ((rc = co->ops->raw(in, co, f->path, &cbuf, &clen, err)) != SIFT_OK)
            return rc;
        cp = cbuf;
    } else {
        return sift_err_set(err, SIFT_EUSAGE, "%s: no raw bytes kept", path);
    }
    if ((a = ar_new(s->bare)) == NULL) {
        free(cbuf);
        return sift_ingest__enomem(err);
    }
    /* a .tar.gz: the container's raw bytes are still gzip */
    r = archive_read_open_memory(a, cp, clen);
    while (r == ARCHIVE_OK &&
           ((r = archive_read_next_header(a, &ent)) == ARCHIVE_OK ||
            r == ARCHIVE_WARN)) {
        r = ARCHIVE_OK;
        if (i++ == o->idx)
            break;
    }
    if (r != ARCHIVE_OK) {
        rc = sift_err_set(err, SIFT_EFORMAT, "%s: archive: %s", path,
                          archive_error_string(a) ? archive_error_string(a)
                                                  : "entry not found again");
        goto out;
    }
    {
        lay *chain = NULL, *el = are_new(&chain, a, UINT64_MAX, path);
        if (el == NULL) {
            rc = sift_ingest__enomem(err);
            goto out;
        }
        rc = sift_reader_slurp(buf, len, &el->r, in->lim.max_input_size, err);
        sift_ingest__lay_free_chain(chain);
    }
    if (rc == SIFT_ETOOBIG) {
        sift_ingest__limit(l, sizeof(l), in->lim.max_input_size,
                           "--max-input-size");
        sift_err_set(err, SIFT_ETOOBIG, "%s: larger than %s", path, l);
    }
out:
    archive_read_free(a);
    free(cbuf);
    return rc;
}

/* An entry's fingerprint: the archive's bytes (hashed once per frame),
 * then the entry's number. */
static int
ar_fingerprint(sift_ingest *in, const origin *o, const char *path,
               sift_hash128 *fp, uint64_t *len, sift_err *err)
{
    frame *f = o->f;
    ar_st *s;

    (void)path;
    if (f == NULL || f != in->top)
        return sift_err_set(err, SIFT_EUSAGE, "no fingerprint");
    s = f->st;
    if (!s->fp_done) {
        sift_err_clear(&s->fp_err);
        s->fp_rc = sift_ingest__origin_fingerprint(in, &f->org, f->path, &s->fp,
                                                   &s->fp_len, &s->fp_err);
        s->fp_done = s->fp_rc != SIFT_ENOMEM;
    }
    if (s->fp_rc != SIFT_OK) {
        if (err != NULL)
            *err = s->fp_err;
        return s->fp_rc;
    }
    *fp = sift_hash128_mix(s->fp, (uint64_t)o->idx);
    *len = s->fp_len;
    return SIFT_OK;
}

const src_ops sift_src_archive = {
    .name = "archive",
    .sniffs =
        SNIFF_BIT(SNIFF_TAR) | SNIFF_BIT(SNIFF_XZ) | SNIFF_BIT(SNIFF_BZIP2),
    .open = ar_open,
    .next = ar_next,
    .dispose = ar_dispose,
    .raw = ar_raw,
    .fingerprint = ar_fingerprint,
};
