/* src_zip.c -- libzip glue: open an archive, stream one entry.
 *
 * Declared sizes in the archive are never trusted: entries are read with
 * zip_fread() in chunks and capped by the peek layer above. Entry names
 * are only ever used for provenance strings, never as file names. */
#include "ingest_int.h"

#include <stdlib.h>

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

    *out = zip_open(path, ZIP_RDONLY | ZIP_CHECKCONS, &code);
    if (*out == NULL && code == ZIP_ER_INCONS)
        *out = zip_open(path, ZIP_RDONLY, &code); /* macOS zips */
    if (*out != NULL)
        return SIFT_OK;
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
