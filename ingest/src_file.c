/* src_file.c -- files: a user-given path or one found in a directory
 * (a directory itself is handed to src_dir.c), and the file layer that
 * stdin shares. Raw bytes and fingerprints read the file again. */
#include "ingest_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct file_lay {
    lay l;
    FILE *fp;
    sift_ingest *in;
    int is_stdin;
} file_lay;

static void
file_dispose(lay *l)
{
    file_lay *f = (file_lay *)l;

    if (f->fp && !f->is_stdin)
        fclose(f->fp);
}

static int
file_read(void *ctx, void *buf, size_t len, size_t *nread, sift_err *err)
{
    file_lay *f = ctx;
    size_t n = fread(buf, 1, len, f->fp);

    *nread = n;
    if (n == 0 && ferror(f->fp))
        return sift_err_sys(err, "read failed");
    f->in->bytes += n;
    if (f->is_stdin && n > 0)
        sift_ingest__tee_add(f->in, buf, n);
    return SIFT_OK;
}

lay *
sift_ingest__file_lay_new(lay **chain, sift_ingest *in, FILE *fp, int is_stdin,
                          const char *name)
{
    file_lay *fl = calloc(1, sizeof(*fl));

    if (fl == NULL)
        return NULL;
    fl->fp = fp;
    fl->in = in;
    fl->is_stdin = is_stdin;
    fl->l.r.name = name;
    fl->l.r.read = file_read;
    fl->l.r.ctx = fl;
    fl->l.dispose = file_dispose;
    fl->l.chain = *chain;
    *chain = &fl->l;
    return &fl->l;
}

int
sift_ingest__file_open(sift_ingest *in, char *path, sift_err *err)
{
    struct stat sb;
    lay *chain = NULL, *l;
    origin org = {.kind = O_SRC, .ops = &sift_src_file};
    FILE *fp;

    if ((fp = fopen(path, "rb")) == NULL) {
        char m[300];
        snprintf(m, sizeof(m), "cannot open: %s", strerror(errno));
        sift_ingest__emit_fail(in, path, NULL, NULL, SIFT_EIO, m);
        return SIFT_OK;
    }
    if (fstat(fileno(fp), &sb) == 0 && S_ISDIR(sb.st_mode)) {
        fclose(fp);
        return sift_ingest__dir_open(in, path, err);
    }
    if ((l = sift_ingest__file_lay_new(&chain, in, fp, 0, path)) == NULL) {
        fclose(fp);
        free(path);
        return sift_ingest__enomem(err);
    }
    return sift_ingest__open_unit(in, chain, &l->r, path, 0, &org, path, U_TOP,
                                  err);
}

static int
file_start(sift_ingest *in, input *ip, sift_err *err)
{
    return sift_ingest__file_open(in, ip->name, err);
}

static int
file_claims(const char *path)
{
    (void)path;
    return 1; /* whatever no other input source took */
}

static int
file_raw(sift_ingest *in, const origin *o, const char *path,
         unsigned char **buf, size_t *len, sift_err *err)
{
    sift_filereader fr;
    char l[96];
    FILE *fp;
    int rc;

    (void)o;
    if ((fp = fopen(path, "rb")) == NULL)
        return sift_err_sys(err, "%s: cannot open", path);
    rc = sift_reader_slurp(buf, len, sift_filereader_init(&fr, fp, path),
                           in->lim.max_input_size, err);
    fclose(fp);
    if (rc == SIFT_ETOOBIG) {
        sift_ingest__limit(l, sizeof(l), in->lim.max_input_size,
                           "--max-input-size");
        sift_err_set(err, SIFT_ETOOBIG, "%s: larger than %s", path, l);
    }
    return rc;
}

/* The file read again, streamed (not capped at max_input_size). */
static int
file_raw_stream(sift_ingest *in, const origin *o, const char *path, FILE *out,
                uint64_t max, uint64_t *len, sift_hasher *h, sift_err *err)
{
    FILE *fp;
    int rc;

    (void)in;
    (void)o;
    if ((fp = fopen(path, "rb")) == NULL)
        return sift_err_sys(err, "%s: cannot open", path);
    rc = sift_ingest__copy(fp, out, max, len, h, path, err);
    fclose(fp);
    return rc;
}

int
sift_ingest__fingerprint_file(const char *path, sift_hash128 *fp, uint64_t *len,
                              sift_err *err)
{
    unsigned char buf[65536];
    sift_hasher h;
    uint64_t n = 0;
    size_t got;
    FILE *f;

    if ((f = fopen(path, "rb")) == NULL)
        return sift_err_sys(err, "%s: cannot open", path);
    sift_hasher_init(&h);
    while ((got = fread(buf, 1, sizeof(buf), f)) > 0) {
        sift_hasher_add(&h, buf, got);
        n += got;
    }
    if (ferror(f)) {
        fclose(f);
        return sift_err_sys(err, "%s: read failed", path);
    }
    fclose(f);
    *fp = sift_hasher_digest(&h);
    *len = n;
    return SIFT_OK;
}

static int
file_fingerprint(sift_ingest *in, const origin *o, const char *path,
                 sift_hash128 *fp, uint64_t *len, sift_err *err)
{
    (void)in;
    (void)o;
    return sift_ingest__fingerprint_file(path, fp, len, err);
}

const src_ops sift_src_file = {
    .name = "file",
    .claims = file_claims,
    .start = file_start,
    .raw = file_raw,
    .fingerprint = file_fingerprint,
    .raw_stream = file_raw_stream,
};
