/* src_dir.c -- directories, walked recursively in name order. Dot files
 * are skipped; in a Maildir (cur/ and new/ present) tmp/ is skipped too,
 * as it holds partial deliveries, and so are the mail servers' own index
 * and state files (Maildir++: Dovecot, Courier). Files registered with
 * sift_ingest_skip() (the database and its -wal/-shm/-journal) are never
 * yielded. Symlinks to files are followed, to directories never
 * (loops). */
#include "ingest_int.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct dir_st {
    char **names; /* f->n of them; "" = skipped */
} dir_st;

static int
cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* dir/name with the name's bytes as they are: it is opened. (Control
 * characters reach the terminal only through the CLI's escaper.) */
static char *
join_path(const char *dir, const char *name)
{
    size_t a = strlen(dir), c = strlen(name);
    char *s = malloc(a + c + 2);

    if (s == NULL)
        return NULL;
    if (a > 0 && dir[a - 1] == '/')
        a--;
    memcpy(s, dir, a);
    s[a] = '/';
    memcpy(s + a + 1, name, c + 1);
    return s;
}

static int
is_dir(const char *dir, const char *name)
{
    char *p = join_path(dir, name);
    struct stat sb;
    int r = p != NULL && stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);

    free(p);
    return r;
}

/* Names a Maildir++ folder holds besides cur/ new/ tmp/ that are the mail
 * server's, not mail: Dovecot's and Courier's indexes, UID lists,
 * keywords, subscriptions, and the empty `maildirfolder` marker. */
static int
maildir_service(const char *name)
{
    static const char *const exact[] = {
        "maildirfolder",    "subscriptions",        "dovecot-uidlist",
        "dovecot-keywords", "courierpop3dsizelist",
    };
    static const char *const prefix[] = {
        "dovecot.index",       "dovecot.list.index", "dovecot-uidvalidity",
        "dovecot.mailbox.log", "courierimap",
    };
    size_t i;

    for (i = 0; i < sizeof(exact) / sizeof(exact[0]); i++)
        if (strcmp(name, exact[i]) == 0)
            return 1;
    for (i = 0; i < sizeof(prefix) / sizeof(prefix[0]); i++)
        if (strncmp(name, prefix[i], strlen(prefix[i])) == 0)
            return 1;
    return 0;
}

/* Is name (in the directory dev/ino) a file sift_ingest_skip() named, or
 * one of its SQLite companions? */
static int
skipped(const sift_ingest *in, const struct stat *dsb, const char *name)
{
    static const char *const sfx[] = {"", "-wal", "-shm", "-journal"};
    size_t i, j, n;

    for (i = 0; i < in->nskips; i++) {
        const struct sift_ingest_skip *k = &in->skips[i];
        if (k->dev != (unsigned long long)dsb->st_dev ||
            k->ino != (unsigned long long)dsb->st_ino)
            continue;
        n = strlen(k->base);
        if (strncmp(name, k->base, n) != 0)
            continue;
        for (j = 0; j < sizeof(sfx) / sizeof(sfx[0]); j++)
            if (strcmp(name + n, sfx[j]) == 0)
                return 1;
    }
    return 0;
}

static void
dir_dispose(frame *f)
{
    dir_st *d = f->st;
    size_t i;

    if (d == NULL)
        return;
    for (i = 0; d->names && i < f->n; i++)
        free(d->names[i]);
    free(d->names);
    free(d);
}

int
sift_ingest__dir_open(sift_ingest *in, char *path, sift_err *err)
{
    DIR *d = opendir(path);
    struct dirent *de;
    struct stat dsb;
    frame *f = NULL;
    dir_st *st;
    size_t cap = 0, i;
    int rc, maildir;

    if (d == NULL && SIFT_FD_ERRNO(errno)) {
        rc = sift_ingest__enofd(err, path);
        free(path);
        return rc;
    }
    if (d == NULL) {
        char m[300];
        snprintf(m, sizeof(m), "cannot open: %s", strerror(errno));
        sift_ingest__emit_fail(in, path, NULL, NULL, SIFT_EIO, m);
        return SIFT_OK;
    }
    if ((rc = sift_ingest__push(in, &sift_src_dir, path, 0, NULL, &f, err)) !=
        SIFT_OK) {
        closedir(d);
        return rc;
    }
    if ((st = f->st = calloc(1, sizeof(*st))) == NULL)
        goto nomem;
    if (in->nskips > 0 && fstat(dirfd(d), &dsb) != 0)
        memset(&dsb, 0, sizeof(dsb));
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        if (in->nskips > 0 && skipped(in, &dsb, de->d_name))
            continue;
        if (f->n == cap) {
            size_t nc = cap ? cap * 2 : 32;
            char **nn = realloc(st->names, nc * sizeof(*nn));
            if (nn == NULL)
                goto nomem;
            st->names = nn;
            cap = nc;
        }
        if ((st->names[f->n] = strdup(de->d_name)) == NULL)
            goto nomem;
        f->n++;
    }
    closedir(d);
    if (f->n > 1)
        qsort(st->names, f->n, sizeof(*st->names), cmp_names);
    /* Maildir: messages in cur/ and new/; tmp/ holds partial deliveries;
     * the rest of the folder is the mail server's. */
    maildir = is_dir(path, "cur") && is_dir(path, "new");
    for (i = 0; maildir && i < f->n; i++)
        if (strcmp(st->names[i], "tmp") == 0 || maildir_service(st->names[i]))
            st->names[i][0] = '\0';
    return SIFT_OK;
nomem:
    closedir(d);
    return sift_ingest__enomem(err);
}

static int
dir_next(sift_ingest *in, frame *f, sift_err *err)
{
    dir_st *st = f->st;

    while (f->i < f->n) {
        const char *name = st->names[f->i++];
        struct stat sb;
        char *p;

        if (name[0] == '\0')
            continue;
        if ((p = join_path(f->path, name)) == NULL)
            return sift_ingest__enomem(err);
        if (lstat(p, &sb) != 0) {
            char m[300];
            snprintf(m, sizeof(m), "cannot open: %s", strerror(errno));
            sift_ingest__emit_fail(in, p, NULL, NULL, SIFT_EIO, m);
            return SIFT_OK;
        }
        if (S_ISDIR(sb.st_mode))
            return sift_ingest__dir_open(in, p, err);
        /* Follow a symlink to a file, never to a directory (loops). */
        if (S_ISLNK(sb.st_mode) && stat(p, &sb) != 0)
            sb.st_mode = 0;
        if (S_ISREG(sb.st_mode))
            return sift_ingest__file_open(in, p, err);
        free(p);
    }
    f->done = 1;
    return SIFT_OK;
}

const src_ops sift_src_dir = {
    .name = "dir",
    .next = dir_next,
    .dispose = dir_dispose,
};
