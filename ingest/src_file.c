/* src_file.c -- files: a user-given path or one found in a directory
 * (a directory itself is handed to src_dir.c), and the file layer that
 * stdin shares. Raw bytes and fingerprints read the file again. */
#include "ingest_int.h"

#include <errno.h>
#include <fcntl.h>
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

static const char *
kind_of(mode_t m)
{
    return S_ISFIFO(m)   ? "a FIFO"
           : S_ISSOCK(m) ? "a socket"
           : S_ISBLK(m)  ? "a block device"
                         : "not a file";
}

/* /dev/stdin, /dev/fd/0: the same file as our standard input */
static int
is_stdin(const struct stat *sb)
{
    struct stat in;

    return fstat(0, &in) == 0 && in.st_dev == sb->st_dev &&
           in.st_ino == sb->st_ino;
}

int
sift_ingest__fopen(FILE **out, struct stat *sb, const char *path, int dev_ok,
                   sift_err *err)
{
    int fd, fl;

    *out = NULL;
    /* O_NONBLOCK: opening a FIFO without a writer must not hang */
    if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) < 0)
        return SIFT_FD_ERRNO(errno) ? sift_ingest__enofd(err, path)
                                    : sift_err_sys(err, "cannot open");
    if (fstat(fd, sb) != 0) {
        sift_err_sys(err, "cannot open");
        close(fd);
        return SIFT_EIO;
    }
    if (!S_ISREG(sb->st_mode) && !S_ISDIR(sb->st_mode) &&
        !(dev_ok && S_ISCHR(sb->st_mode)) && !is_stdin(sb)) {
        close(fd);
        return sift_err_set(err, SIFT_EFORMAT,
                            "not a regular file (%s); give - to read "
                            "standard input",
                            kind_of(sb->st_mode));
    }
    if ((fl = fcntl(fd, F_GETFL)) < 0 ||
        fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0 ||
        (*out = fdopen(fd, "rb")) == NULL) {
        sift_err_sys(err, "cannot open");
        close(fd);
        return SIFT_EIO;
    }
    return SIFT_OK;
}

int
sift_ingest__file_open(sift_ingest *in, char *path, sift_err *err)
{
    struct stat sb;
    lay *chain = NULL, *l;
    origin org = {.kind = O_SRC, .ops = &sift_src_file};
    FILE *fp;
    sift_err e;
    int rc;

    sift_err_clear(&e);
    /* a character device given by the user is read on purpose */
    if ((rc = sift_ingest__fopen(&fp, &sb, path, 1, &e)) != SIFT_OK) {
        if (rc == SIFT_ENOFD) {
            *err = e;
            free(path);
            return rc;
        }
        sift_ingest__emit(in, SIFT_ITEM_FAILED, path, NULL, NULL, NULL, &e);
        return SIFT_OK;
    }
    if (S_ISDIR(sb.st_mode)) {
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

    struct stat sb;

    (void)o;
    if ((rc = sift_ingest__fopen(&fp, &sb, path, 1, err)) != SIFT_OK) {
        sift_err_where(err, path);
        return rc;
    }
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
    struct stat sb;
    FILE *fp;
    int rc;

    (void)in;
    (void)o;
    if ((rc = sift_ingest__fopen(&fp, &sb, path, 1, err)) != SIFT_OK) {
        sift_err_where(err, path);
        return rc;
    }
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
    struct stat sb;
    size_t got;
    FILE *f;
    int rc;

    if ((rc = sift_ingest__fopen(&f, &sb, path, 1, err)) != SIFT_OK) {
        sift_err_where(err, path);
        return rc;
    }
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
