/* src_stdin.c -- "-": standard input, read as a stream. What has been
 * read is teed to an unlinked temporary file (up to --max-input-size) so
 * sift_ingest_raw() can return an item's bytes; stdin has no
 * fingerprint. */
#include "ingest_int.h"

#include <stdlib.h>
#include <string.h>

/* Append to the stdin spool; past --max-input-size (or on a write error)
 * the spool is dropped and sift_ingest_raw() says so. */
void
sift_ingest__tee_add(sift_ingest *in, const void *buf, size_t n)
{
    if (in->tee_over)
        return;
    if (in->tee == NULL || in->tee_len + n > in->lim.max_input_size ||
        fwrite(buf, 1, n, in->tee) != n) {
        in->tee_over = 1;
        if (in->tee != NULL)
            fclose(in->tee);
        in->tee = NULL;
        return;
    }
    in->tee_len += n;
}

static int
stdin_claims(const char *path)
{
    return strcmp(path, "-") == 0;
}

static int
stdin_start(sift_ingest *in, input *ip, sift_err *err)
{
    origin org = {.kind = O_SRC, .ops = &sift_src_stdin};
    lay *chain = NULL, *l;
    char *path;

    free(ip->name);
    if ((path = strdup("<stdin>")) == NULL)
        return sift_ingest__enomem(err);
    if ((l = sift_ingest__file_lay_new(&chain, in, stdin, 1, path)) == NULL) {
        free(path);
        return sift_ingest__enomem(err);
    }
    if (in->tee != NULL)
        fclose(in->tee);
    in->tee = tmpfile(); /* NULL: raw bytes of stdin are not kept */
    in->tee_len = 0;
    in->tee_over = in->tee == NULL;
    return sift_ingest__open_unit(in, chain, &l->r, path, 0, &org, NULL, U_TOP,
                                  err);
}

static int
stdin_raw(sift_ingest *in, const origin *o, const char *path,
          unsigned char **buf, size_t *len, sift_err *err)
{
    unsigned char tmp[65536];
    sift_filereader fr;
    char l[96];
    int rc;

    (void)o;
    sift_ingest__limit(l, sizeof(l), in->lim.max_input_size,
                       "--max-input-size");
    while (!in->tee_over) {
        size_t n = fread(tmp, 1, sizeof(tmp), stdin);
        if (n == 0)
            break;
        sift_ingest__tee_add(in, tmp, n);
    }
    if (in->tee_over)
        return sift_err_set(err, SIFT_ETOOBIG,
                            "%s: larger than %s (or no temporary file)", path,
                            l);
    if (fflush(in->tee) != 0 || fseek(in->tee, 0, SEEK_SET) != 0)
        return sift_err_sys(err, "%s: temporary copy", path);
    rc = sift_reader_slurp(buf, len, sift_filereader_init(&fr, in->tee, path),
                           in->lim.max_input_size, err);
    if (fseek(in->tee, 0, SEEK_END) != 0 && rc == SIFT_OK)
        rc = sift_err_sys(err, "%s: temporary copy", path);
    if (rc == SIFT_ETOOBIG)
        sift_err_set(err, SIFT_ETOOBIG, "%s: larger than %s", path, l);
    return rc;
}

const src_ops sift_src_stdin = {
    .name = "stdin",
    .claims = stdin_claims,
    .start = stdin_start,
    .raw = stdin_raw,
};
