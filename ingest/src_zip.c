/* src_zip.c -- zip archives: open one (from its file with random access,
 * or from memory), walk its entries as a frame, stream one entry.
 *
 * Declared sizes in the archive are never trusted: entries are read with
 * zip_fread() in chunks and capped by the peek layer above. Entry names
 * are only ever used for provenance strings, never as file names. */
#include "ingest_int.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct zent_lay {
    lay l;
    zip_file_t *zf;
    uint64_t declared, got;
} zent_lay;

static void
zent_dispose(lay *l)
{
    zent_lay *z = (zent_lay *)l;

    if (z->zf)
        zip_fclose(z->zf);
}

static int
zent_read(void *ctx, void *buf, size_t len, size_t *nread, sift_err *err)
{
    zent_lay *z = ctx;
    zip_int64_t n = zip_fread(z->zf, buf, len);

    *nread = 0;
    if (n < 0)
        return sift_err_set(err, SIFT_EFORMAT, "zip: %s",
                            zip_file_strerror(z->zf));
    /* libzip inflates past the declared size without complaint: a
     * declared-small entry that keeps expanding is a bomb. */
    z->got += (uint64_t)n;
    if (z->got > z->declared)
        return sift_err_set(err, SIFT_EFORMAT,
                            "zip: entry larger than its declared size");
    *nread = (size_t)n;
    return SIFT_OK;
}

lay *
sift_ingest__zipent_new(lay **chain, zip_file_t *zf, uint64_t declared,
                        const char *name, sift_err *err)
{
    zent_lay *z = calloc(1, sizeof(*z));

    if (z == NULL) {
        zip_fclose(zf);
        sift_err_set(err, SIFT_ENOMEM, "out of memory");
        return NULL;
    }
    z->zf = zf;
    z->declared = declared;
    z->l.r.name = name;
    z->l.r.read = zent_read;
    z->l.r.ctx = z;
    z->l.dispose = zent_dispose;
    z->l.chain = *chain;
    *chain = &z->l;
    return &z->l;
}

static int
zip_fail(sift_err *err, zip_error_t *ze)
{
    sift_err_set(err, SIFT_EFORMAT, "zip: %s", zip_error_strerror(ze));
    zip_error_fini(ze);
    return SIFT_EFORMAT;
}

int
sift_ingest__zip_open_path(zip_t **out, const char *path, sift_err *err)
{
    zip_error_t ze;
    int code = 0;

    errno = 0;
    *out = zip_open(path, ZIP_RDONLY | ZIP_CHECKCONS, &code);
    if (*out == NULL && code == ZIP_ER_INCONS)
        *out = zip_open(path, ZIP_RDONLY, &code); /* macOS zips */
    if (*out != NULL)
        return SIFT_OK;
    if (code == ZIP_ER_OPEN && SIFT_FD_ERRNO(errno))
        return sift_ingest__enofd(err, path);
    zip_error_init_with_code(&ze, code);
    return zip_fail(err, &ze);
}

static zip_t *
open_src(const void *buf, size_t len, int flags, zip_error_t *ze)
{
    zip_source_t *src = zip_source_buffer_create(buf, len, 0, ze);
    zip_t *za;

    if (src == NULL)
        return NULL;
    if ((za = zip_open_from_source(src, flags, ze)) == NULL)
        zip_source_free(src);
    return za;
}

int
sift_ingest__zip_open_mem(zip_t **out, const void *buf, size_t len,
                          sift_err *err)
{
    zip_error_t ze;

    zip_error_init(&ze);
    /* macOS Archive Utility zips fail ZIP_CHECKCONS (local headers differ
     * from the central directory) but read fine: retry without it. Entry
     * reads are capped anyway, so consistency is not our bomb defence. */
    *out = open_src(buf, len, ZIP_RDONLY | ZIP_CHECKCONS, &ze);
    if (*out == NULL && zip_error_code_zip(&ze) == ZIP_ER_INCONS) {
        zip_error_fini(&ze);
        zip_error_init(&ze);
        *out = open_src(buf, len, ZIP_RDONLY, &ze);
    }
    if (*out == NULL)
        return zip_fail(err, &ze);
    zip_error_fini(&ze);
    return SIFT_OK;
}

/* ---- the frame ---- */

typedef struct zip_st {
    zip_t *za;
    unsigned char *zbuf; /* the archive's bytes when spooled to memory */
    /* The archive's own fingerprint, computed by the first entry that
     * asks and reused by the others (hashing the archive once per entry
     * made a 2,000-entry zip quadratic). fp_rc != SIFT_OK (with fp_err)
     * is reused too: the archive does not change under one frame. */
    int fp_done, fp_rc;
    sift_hash128 fp;
    uint64_t fp_len;
    sift_err fp_err;
} zip_st;

static void
zip_dispose(frame *f)
{
    zip_st *z = f->st;

    if (z == NULL)
        return;
    if (z->za)
        zip_discard(z->za);
    free(z->zbuf);
    free(z);
}

static int
open_zip(sift_ingest *in, zip_t *za, unsigned char *zbuf, size_t zlen,
         char *path, unsigned depth, const origin *org, sift_err *err)
{
    zip_int64_t n = zip_get_num_entries(za, 0);
    frame *f = NULL;
    zip_st *z;
    int rc;

    if (n < 0 || (uint64_t)n > in->lim.max_entries) {
        char m[128];
        snprintf(m, sizeof(m), "zip has more than %u entries (--max-entries)",
                 in->lim.max_entries);
        zip_discard(za);
        free(zbuf);
        sift_ingest__emit_fail(in, path, NULL, org, SIFT_ETOOBIG, m);
        return SIFT_OK;
    }
    if ((z = calloc(1, sizeof(*z))) == NULL) {
        zip_discard(za);
        free(zbuf);
        free(path);
        return sift_ingest__enomem(err);
    }
    z->za = za;
    z->zbuf = zbuf;
    if ((rc = sift_ingest__push(in, &sift_src_zip, path, depth, org, &f,
                                err)) != SIFT_OK) {
        zip_dispose(&(frame){.st = z});
        return rc;
    }
    f->st = z;
    f->n = (size_t)n;
    f->held = zbuf != NULL ? zlen : 0;
    return SIFT_OK;
}

static int
zip_unit_open(sift_ingest *in, unit *u, sift_err *err)
{
    unsigned char *buf = NULL;
    size_t len = 0;
    zip_t *za = NULL;
    sift_err e;
    int rc;

    sift_err_clear(&e);
    if (u->file != NULL) {
        struct stat sb;
        rc = sift_ingest__zip_open_path(&za, u->file, &e);
        /* libzip reads the file itself: count it for progress */
        if (stat(u->file, &sb) == 0 && (size_t)sb.st_size > u->pk->hlen)
            in->bytes += (size_t)sb.st_size - u->pk->hlen;
    } else if (!u->compressed && u->org.kind == O_MEM) {
        /* The bytes are already in memory (a MIME part, a memory input)
         * and outlive this frame: no copy. */
        rc = sift_ingest__zip_open_mem(&za, u->org.p, u->org.len, &e);
    } else {
        rc = sift_ingest__spool(in, &u->pk->l.r, &buf, &len, "zip", &e);
        if (rc == SIFT_OK)
            rc = sift_ingest__zip_open_mem(&za, buf, len, &e);
    }
    if (rc == SIFT_ENOMEM) {
        free(buf);
        sift_ingest__lay_free_chain(u->chain);
        free(u->path);
        return sift_ingest__enomem(err);
    }
    if (rc == SIFT_ENOFD) {
        free(buf);
        sift_ingest__lay_free_chain(u->chain);
        free(u->path);
        *err = e;
        return rc;
    }
    if (rc != SIFT_OK) {
        free(buf);
        sift_ingest__emit(in, SIFT_ITEM_FAILED, u->path, u->chain, NULL,
                          &u->org, &e);
        return SIFT_OK;
    }
    sift_ingest__lay_free_chain(u->chain);
    return open_zip(in, za, buf, len, u->path, u->depth, &u->org, err);
}

static uint64_t
declared_size(zip_t *za, zip_uint64_t idx)
{
    zip_stat_t st;

    zip_stat_init(&st);
    if (zip_stat_index(za, idx, 0, &st) == 0 && (st.valid & ZIP_STAT_SIZE))
        return st.size;
    return UINT64_MAX;
}

static int
zip_next(sift_ingest *in, frame *f, sift_err *err)
{
    zip_st *z = f->st;

    while (f->i < f->n) {
        zip_uint64_t idx = f->i++;
        const char *name = zip_get_name(z->za, idx, ZIP_FL_ENC_RAW);
        origin org = {.kind = O_SRC, .ops = &sift_src_zip, .f = f, .idx = idx};
        const char *base;
        zip_stat_t st;
        zip_file_t *zf;
        lay *chain = NULL, *l;
        char *p;

        if (name == NULL)
            name = "";
        if (name[0] != '\0' && name[strlen(name) - 1] == '/')
            continue; /* a directory */
        if ((p = sift_ingest__join(f->path, "/", name)) == NULL)
            return sift_ingest__enomem(err);
        base = strrchr(name, '/') ? strrchr(name, '/') + 1 : name;
        if (strncmp(name, "__MACOSX/", 9) == 0 || strncmp(base, "._", 2) == 0) {
            sift_ingest__emit(in, SIFT_ITEM_NOT_REPORT, p, NULL, NULL, &org,
                              NULL);
            return SIFT_OK;
        }
        zip_stat_init(&st);
        if (zip_stat_index(z->za, idx, 0, &st) == 0 &&
            (st.valid & ZIP_STAT_ENCRYPTION_METHOD) &&
            st.encryption_method != ZIP_EM_NONE) {
            sift_ingest__emit_fail(in, p, NULL, &org, SIFT_EFORMAT,
                                   "zip entry is encrypted");
            return SIFT_OK;
        }
        if ((zf = zip_fopen_index(z->za, idx, 0)) == NULL) {
            char m[300];
            snprintf(m, sizeof(m), "zip: %s", zip_strerror(z->za));
            sift_ingest__emit_fail(in, p, NULL, &org, SIFT_EFORMAT, m);
            return SIFT_OK;
        }
        if ((l = sift_ingest__zipent_new(
                 &chain, zf, (st.valid & ZIP_STAT_SIZE) ? st.size : UINT64_MAX,
                 p, err)) == NULL) {
            free(p);
            return SIFT_ENOMEM;
        }
        return sift_ingest__open_unit(in, chain, &l->r, p, f->depth, &org, NULL,
                                      U_INFLATED, err);
    }
    f->done = 1;
    return SIFT_OK;
}

/* An entry's raw bytes: the entry, inflated by libzip. Its declared size
 * bounds the copy, as it bounded the parse: a lying entry (a bomb) fails
 * after that many bytes. */
static int
zip_raw(sift_ingest *in, const origin *o, const char *path, unsigned char **buf,
        size_t *len, sift_err *err)
{
    zip_st *z = o->f->st;
    lay *chain = NULL, *zl;
    zip_file_t *zf;
    char l[96];
    int rc;

    if ((zf = zip_fopen_index(z->za, o->idx, 0)) == NULL)
        return sift_err_set(err, SIFT_EFORMAT, "zip: %s", zip_strerror(z->za));
    if ((zl = sift_ingest__zipent_new(&chain, zf, declared_size(z->za, o->idx),
                                      path, err)) == NULL)
        return SIFT_ENOMEM;
    rc = sift_reader_slurp(buf, len, &zl->r, in->lim.max_input_size, err);
    sift_ingest__lay_free_chain(chain);
    if (rc == SIFT_ETOOBIG) {
        sift_ingest__limit(l, sizeof(l), in->lim.max_input_size,
                           "--max-input-size");
        sift_err_set(err, SIFT_ETOOBIG, "%s: larger than %s", path, l);
    }
    return rc;
}

/* An entry's fingerprint: the archive's bytes, then the entry's index. */
static int
zip_fingerprint(sift_ingest *in, const origin *o, const char *path,
                sift_hash128 *fp, uint64_t *len, sift_err *err)
{
    frame *f = o->f;
    zip_st *z;

    (void)path;
    if (f == NULL || f != in->top)
        return sift_err_set(err, SIFT_EUSAGE, "no fingerprint");
    z = f->st;
    if (!z->fp_done) {
        sift_err_clear(&z->fp_err);
        z->fp_rc = sift_ingest__origin_fingerprint(in, &f->org, f->path, &z->fp,
                                                   &z->fp_len, &z->fp_err);
        /* out of memory may pass: ask again next time */
        z->fp_done = z->fp_rc != SIFT_ENOMEM;
    }
    if (z->fp_rc != SIFT_OK) {
        if (err != NULL)
            *err = z->fp_err;
        return z->fp_rc;
    }
    *fp = sift_hash128_mix(z->fp, (uint64_t)o->idx);
    *len = z->fp_len;
    return SIFT_OK;
}

const src_ops sift_src_zip = {
    .name = "zip",
    .sniffs = SNIFF_BIT(SNIFF_ZIP),
    .open = zip_unit_open,
    .next = zip_next,
    .dispose = zip_dispose,
    .raw = zip_raw,
    .fingerprint = zip_fingerprint,
};
