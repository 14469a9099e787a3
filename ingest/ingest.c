/* ingest.c -- the queue of inputs and the stack of container frames.
 * Opening a unit yields one item or pushes a frame (dir, zip, mbox,
 * message) that yields more. Invariant: every unit ends as exactly one
 * item, and what the current item borrows lives until the next
 * sift_ingest_next(), which releases it before anything else. */
#include "sift_ingest.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ingest_int.h"

typedef enum input_kind { IN_PATH, IN_MEM, IN_IMAP } input_kind;

typedef struct input {
    struct input *next;
    input_kind kind;
    char *name;
    unsigned char *buf;
    size_t len;
    sift_imap *im; /* IN_IMAP, borrowed */
} input;

/* Where the raw bytes of an item can be fetched again. */
typedef enum origin_kind {
    O_NONE = 0,
    O_FILE,  /* the file at item->path */
    O_STDIN, /* standard input (teed) */
    O_MEM,   /* p[0..len), owned by a frame or the input */
    O_ZIPENT /* entry idx of za */
} origin_kind;

typedef struct origin {
    origin_kind kind;
    const unsigned char *p;
    size_t len;
    zip_t *za;
    zip_uint64_t idx;
} origin;

typedef enum frame_kind { F_DIR, F_ZIP, F_MBOX, F_MSG, F_IMAP } frame_kind;

typedef struct frame {
    struct frame *up;
    frame_kind kind;
    char *path;
    unsigned depth;
    int done;
    lay *chain; /* reader layers the frame reads from */
    origin org; /* raw bytes of the container itself */
    size_t i, n;
    /* F_DIR */
    char **names;
    /* F_ZIP */
    zip_t *za;
    unsigned char *zbuf;
    /* F_MBOX */
    mbox_split *mb;
    sift_buf msg; /* also F_IMAP: the message fetched */
    /* F_IMAP */
    sift_imap *im;
    /* F_MSG */
    mime_msg *mm;
    unsigned char *own; /* the message bytes, when the frame owns them */
    size_t found;
} frame;

struct sift_ingest {
    sift_limits lim;
    input *head, *tail;
    unsigned char *inbuf; /* the memory input being processed */
    frame *top;
    int have;
    sift_item item;
    char *item_path;
    lay *item_chain;
    origin item_org;
    char *unit; /* the outermost unit being read (sift_item.unit) */
    unsigned long long bytes;
    /* stdin as read so far, for sift_ingest_raw(): spooled to an unlinked
     * temporary file, so a large report on stdin costs disk, not memory */
    FILE *tee;
    uint64_t tee_len;
    int tee_over;
};

/* ---- small helpers ---- */

static int
enomem(sift_err *err)
{
    return sift_err_set(err, SIFT_ENOMEM, "out of memory");
}

/* base + sep + name, control characters in name shown as '?'. */
static char *
join(const char *base, const char *sep, const char *name)
{
    size_t a = strlen(base), b = strlen(sep), c = strlen(name), i;
    char *s = malloc(a + b + c + 1);

    if (s == NULL)
        return NULL;
    if (a > 0 && base[a - 1] == '/' && sep[0] == '/')
        a--; /* "dir/" + "/" + "x" is "dir/x" */
    memcpy(s, base, a);
    memcpy(s + a, sep, b);
    for (i = 0; i < c; i++) {
        unsigned char ch = (unsigned char)name[i];
        s[a + b + i] = ch < 0x20 || ch == 0x7f ? '?' : (char)ch;
    }
    s[a + b + c] = '\0';
    return s;
}

/* A new outermost unit begins (a file, a memory input, a message). */
static int
set_unit(sift_ingest *in, const char *name, sift_err *err)
{
    char *u = strdup(name);

    if (u == NULL)
        return enomem(err);
    free(in->unit);
    in->unit = u;
    return SIFT_OK;
}

static void
release_item(sift_ingest *in)
{
    sift_ingest__lay_free_chain(in->item_chain);
    in->item_chain = NULL;
    free(in->item_path);
    in->item_path = NULL;
    memset(&in->item, 0, sizeof(in->item));
    memset(&in->item_org, 0, sizeof(in->item_org));
    in->have = 0;
}

/* Make the current item. Takes ownership of path and chain. */
static void
emit(sift_ingest *in, sift_item_kind kind, char *path, lay *chain,
     sift_reader *r, const origin *org, const sift_err *e)
{
    in->item.kind = kind;
    in->item.path = path;
    in->item.reader = r;
    sift_err_clear(&in->item.err);
    if (e != NULL) {
        in->item.err = *e;
        in->item.err.where[0] = '\0';
        sift_err_where(&in->item.err, path);
    }
    in->item.unit = in->unit;
    in->item_path = path;
    in->item_chain = chain;
    if (org)
        in->item_org = *org;
    in->have = 1;
}

static void
emit_fail(sift_ingest *in, char *path, lay *chain, const origin *org, int code,
          const char *msg)
{
    sift_err e;

    sift_err_clear(&e);
    sift_err_set(&e, code, "%s", msg);
    emit(in, SIFT_ITEM_FAILED, path, chain, NULL, org, &e);
}

static int
push(sift_ingest *in, frame_kind kind, char *path, unsigned depth,
     const origin *org, frame **out, sift_err *err)
{
    frame *f = calloc(1, sizeof(*f));

    if (f == NULL) {
        free(path);
        return enomem(err);
    }
    f->kind = kind;
    f->path = path;
    f->depth = depth;
    if (org)
        f->org = *org;
    f->up = in->top;
    in->top = f;
    *out = f;
    return SIFT_OK;
}

static void
frame_free(frame *f)
{
    size_t i;

    if (f == NULL)
        return;
    for (i = 0; f->names && i < f->n; i++)
        free(f->names[i]);
    free(f->names);
    if (f->za)
        zip_discard(f->za);
    free(f->zbuf);
    sift_ingest__mbox_free(f->mb);
    sift_buf_dispose(&f->msg);
    sift_ingest__mime_free(f->mm);
    free(f->own); /* after the message that parsed it in place */
    sift_ingest__lay_free_chain(f->chain);
    free(f->path);
    free(f);
}

static void
pop(sift_ingest *in)
{
    frame *f = in->top;

    in->top = f->up;
    frame_free(f);
}

/* ---- base layers: file and memory ---- */

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

/* Append to the stdin spool; past --max-input-size (or on a write error)
 * the spool is dropped and sift_ingest_raw() says so. */
static void
tee_add(sift_ingest *in, const void *buf, size_t n)
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
file_read(void *ctx, void *buf, size_t len, size_t *nread, sift_err *err)
{
    file_lay *f = ctx;
    size_t n = fread(buf, 1, len, f->fp);

    *nread = n;
    if (n == 0 && ferror(f->fp))
        return sift_err_sys(err, "read failed");
    f->in->bytes += n;
    if (f->is_stdin && n > 0)
        tee_add(f->in, buf, n);
    return SIFT_OK;
}

typedef struct mem_lay {
    lay l;
    const unsigned char *p;
    size_t len, off;
} mem_lay;

static int
mem_read(void *ctx, void *buf, size_t len, size_t *nread, sift_err *err)
{
    mem_lay *m = ctx;
    size_t n = m->len - m->off;

    (void)err;
    if (n > len)
        n = len;
    memcpy(buf, m->p + m->off, n);
    m->off += n;
    *nread = n;
    return SIFT_OK;
}

static lay *
mem_new(lay **chain, const unsigned char *p, size_t len, const char *name)
{
    mem_lay *m = calloc(1, sizeof(*m));

    if (m == NULL)
        return NULL;
    m->p = p ? p : (const unsigned char *)"";
    m->len = len;
    m->l.r.name = name;
    m->l.r.read = mem_read;
    m->l.r.ctx = m;
    m->l.chain = *chain;
    *chain = &m->l;
    return &m->l;
}

/* ---- units ---- */

static int start_message(sift_ingest *in, const unsigned char *buf, size_t len,
                         unsigned char *own, char *path, unsigned depth,
                         const origin *org, sift_err *err);

static int
depth_fail(sift_ingest *in, char *path, lay *chain, const origin *org)
{
    char m[128];

    snprintf(m, sizeof(m), "nesting deeper than the %u limit (--max-depth)",
             in->lim.max_depth);
    emit_fail(in, path, chain, org, SIFT_ETOOBIG, m);
    return SIFT_OK;
}

/* Read all of r (at most max bytes) for containers that need it whole. */
static int
spool(sift_ingest *in, sift_reader *r, unsigned char **buf, size_t *len,
      const char *what, sift_err *e)
{
    int rc = sift_reader_slurp(buf, len, r, in->lim.max_input_size, e);

    if (rc == SIFT_ETOOBIG) {
        char l[96];
        sift_ingest__limit(l, sizeof(l), in->lim.max_input_size,
                           "--max-input-size");
        sift_err_set(e, SIFT_ETOOBIG, "%s larger than %s", what, l);
    }
    return rc;
}

static int
open_zip(sift_ingest *in, zip_t *za, unsigned char *zbuf, char *path,
         unsigned depth, const origin *org, sift_err *err)
{
    zip_int64_t n = zip_get_num_entries(za, 0);
    frame *f = NULL;
    int rc;

    if (n < 0 || (uint64_t)n > in->lim.max_entries) {
        char m[128];
        snprintf(m, sizeof(m), "zip has more than %u entries (--max-entries)",
                 in->lim.max_entries);
        zip_discard(za);
        free(zbuf);
        emit_fail(in, path, NULL, org, SIFT_ETOOBIG, m);
        return SIFT_OK;
    }
    if ((rc = push(in, F_ZIP, path, depth, org, &f, err)) != SIFT_OK) {
        zip_discard(za);
        free(zbuf);
        return rc;
    }
    f->za = za;
    f->zbuf = zbuf;
    f->n = (size_t)n;
    return SIFT_OK;
}

#define U_TOP 1      /* a file or memory input, not inside a container */
#define U_INFLATED 2 /* r already yields decompressed bytes (zip entry) */

/* Sniff the bytes of r and turn them into an item or a frame. Takes
 * ownership of chain (the layers behind r) and path. zip_path is the file
 * to reopen with random access when r is that file, uncompressed. Only
 * SIFT_ENOMEM is returned as an error; everything else becomes an item. */
static int
open_unit(sift_ingest *in, lay *chain, sift_reader *r, char *path,
          unsigned depth, const origin *org, const char *zip_path, int flags,
          sift_err *err)
{
    int compressed = (flags & U_INFLATED) != 0, top_level = flags & U_TOP;
    int rc;
    sift_err e;

    sift_err_clear(&e);
    for (;;) {
        pk_lay *pk =
            sift_ingest__pk_new(&chain, r, path, UINT64_MAX, "report size",
                                "--max-report-size", &e);
        unsigned char *buf = NULL;
        size_t len = 0;
        zip_t *za = NULL;
        frame *f = NULL;
        sniff_kind k;
        lay *l;

        if (pk == NULL)
            goto nomem;
        if ((rc = sift_ingest__pk_fill(pk, &e)) != SIFT_OK) {
            if (rc == SIFT_ENOMEM)
                goto nomem;
            emit(in, SIFT_ITEM_FAILED, path, chain, NULL, org, &e);
            return SIFT_OK;
        }
        k = sift_ingest__sniff(pk->head, pk->hlen);
        switch (k) {
        case SNIFF_XML:
            pk->cap = in->lim.max_report_size;
            if (compressed)
                pk->capmsg = "decompressed size";
            emit(in, SIFT_ITEM_REPORT, path, chain, &pk->l.r, org, NULL);
            return SIFT_OK;
        case SNIFF_GZIP:
        case SNIFF_ZLIB:
            if (depth + 1 > in->lim.max_depth)
                return depth_fail(in, path, chain, org);
            l = sift_ingest__inflate_new(&chain, &pk->l.r, k == SNIFF_GZIP,
                                         path, in->lim.max_report_size, &e);
            if (l == NULL)
                goto nomem;
            r = &l->r;
            depth++;
            compressed = 1;
            zip_path = NULL;
            continue;
        case SNIFF_ZIP:
            if (depth + 1 > in->lim.max_depth)
                return depth_fail(in, path, chain, org);
            if (zip_path != NULL) {
                struct stat sb;
                rc = sift_ingest__zip_open_path(&za, zip_path, &e);
                /* libzip reads the file itself: count it for progress */
                if (stat(zip_path, &sb) == 0 && (size_t)sb.st_size > pk->hlen)
                    in->bytes += (size_t)sb.st_size - pk->hlen;
            } else if (!compressed && org->kind == O_MEM) {
                /* The bytes are already in memory (a MIME part, a memory
                 * input) and outlive this frame: no copy. */
                rc = sift_ingest__zip_open_mem(&za, org->p, org->len, &e);
            } else {
                rc = spool(in, &pk->l.r, &buf, &len, "zip", &e);
                if (rc == SIFT_OK)
                    rc = sift_ingest__zip_open_mem(&za, buf, len, &e);
            }
            if (rc == SIFT_ENOMEM)
                goto nomem;
            if (rc != SIFT_OK) {
                free(buf);
                emit(in, SIFT_ITEM_FAILED, path, chain, NULL, org, &e);
                return SIFT_OK;
            }
            sift_ingest__lay_free_chain(chain);
            return open_zip(in, za, buf, path, depth + 1, org, err);
        case SNIFF_MBOX:
            if (depth + 1 > in->lim.max_depth)
                return depth_fail(in, path, chain, org);
            if ((rc = push(in, F_MBOX, path, depth + 1, org, &f, err)) !=
                SIFT_OK) {
                sift_ingest__lay_free_chain(chain);
                return rc;
            }
            f->chain = chain;
            sift_buf_init(&f->msg, (size_t)in->lim.max_input_size);
            if ((rc = sift_ingest__mbox_new(&f->mb, &pk->l.r, err)) != SIFT_OK)
                f->done = 1;
            return rc;
        case SNIFF_MESSAGE:
            if (depth + 1 > in->lim.max_depth)
                return depth_fail(in, path, chain, org);
            if (!compressed && org->kind == O_MEM &&
                org->len <= in->lim.max_input_size) {
                /* already in memory: parse it where it is */
                sift_ingest__lay_free_chain(chain);
                return start_message(in, org->p, org->len, NULL, path,
                                     depth + 1, org, err);
            }
            rc = spool(in, &pk->l.r, &buf, &len, "message", &e);
            if (rc == SIFT_ENOMEM)
                goto nomem;
            if (rc != SIFT_OK) {
                emit(in, SIFT_ITEM_FAILED, path, chain, NULL, org, &e);
                return SIFT_OK;
            }
            sift_ingest__lay_free_chain(chain);
            /* the frame keeps buf: GMime parses it in place */
            return start_message(in, buf, len, buf, path, depth + 1, org, err);
        case SNIFF_EMPTY:
            if (top_level && !compressed) {
                emit_fail(in, path, chain, org, SIFT_EFORMAT, "empty file");
                return SIFT_OK;
            }
            /* fall through */
        default:
            emit(in, SIFT_ITEM_NOT_REPORT, path, chain, NULL, org, NULL);
            return SIFT_OK;
        }
    }
nomem:
    sift_ingest__lay_free_chain(chain);
    free(path);
    return enomem(err);
}

/* own: buf's memory when the message frame is to free it, else NULL (the
 * bytes outlive the frame); freed here when no frame is made. */
static int
start_message(sift_ingest *in, const unsigned char *buf, size_t len,
              unsigned char *own, char *path, unsigned depth, const origin *org,
              sift_err *err)
{
    mime_msg *mm = NULL;
    frame *f = NULL;
    sift_err e;
    int arf = 0, rc;

    sift_err_clear(&e);
    rc = sift_ingest__mime_parse(&mm, &arf, buf, len, &in->lim, &e);
    if (rc == SIFT_ENOMEM) {
        free(own);
        free(path);
        return enomem(err);
    }
    if (rc != SIFT_OK) {
        free(own);
        emit(in, SIFT_ITEM_FAILED, path, NULL, NULL, org, &e);
        return SIFT_OK;
    }
    if (arf) {
        /* The attached original message is the offender's, not a report:
         * do not look inside. */
        sift_ingest__mime_free(mm);
        free(own);
        emit(in, SIFT_ITEM_FAILURE_REPORT, path, NULL, NULL, org, NULL);
        return SIFT_OK;
    }
    if ((rc = push(in, F_MSG, path, depth, org, &f, err)) != SIFT_OK) {
        sift_ingest__mime_free(mm);
        free(own);
        return rc;
    }
    f->mm = mm;
    f->own = own; /* freed after mm (frame_free) */
    f->n = sift_ingest__mime_count(mm);
    return SIFT_OK;
}

/* ---- directories ---- */

static int
cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
is_dir(const char *dir, const char *name)
{
    char *p = join(dir, "/", name);
    struct stat sb;
    int r = p != NULL && stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);

    free(p);
    return r;
}

static int
open_dir(sift_ingest *in, char *path, sift_err *err)
{
    DIR *d = opendir(path);
    struct dirent *de;
    frame *f = NULL;
    size_t cap = 0, i;
    int rc, maildir;

    if (d == NULL) {
        char m[300];
        snprintf(m, sizeof(m), "cannot open: %s", strerror(errno));
        if (set_unit(in, path, err) != SIFT_OK) {
            free(path);
            return SIFT_ENOMEM;
        }
        emit_fail(in, path, NULL, NULL, SIFT_EIO, m);
        return SIFT_OK;
    }
    if ((rc = push(in, F_DIR, path, 0, NULL, &f, err)) != SIFT_OK) {
        closedir(d);
        return rc;
    }
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        if (f->n == cap) {
            size_t nc = cap ? cap * 2 : 32;
            char **nn = realloc(f->names, nc * sizeof(*nn));
            if (nn == NULL)
                goto nomem;
            f->names = nn;
            cap = nc;
        }
        if ((f->names[f->n] = strdup(de->d_name)) == NULL)
            goto nomem;
        f->n++;
    }
    closedir(d);
    if (f->n > 1)
        qsort(f->names, f->n, sizeof(*f->names), cmp_names);
    /* Maildir: messages in cur/ and new/; tmp/ holds partial deliveries. */
    maildir = is_dir(path, "cur") && is_dir(path, "new");
    for (i = 0; maildir && i < f->n; i++)
        if (strcmp(f->names[i], "tmp") == 0)
            f->names[i][0] = '\0';
    return SIFT_OK;
nomem:
    closedir(d);
    return enomem(err);
}

static int
open_file(sift_ingest *in, char *path, int user_given, sift_err *err)
{
    struct stat sb;
    file_lay *fl;
    lay *chain = NULL;
    origin org = {.kind = O_FILE};
    FILE *fp;
    int is_stdin = user_given && strcmp(path, "-") == 0;

    if (is_stdin) {
        free(path);
        if ((path = strdup("<stdin>")) == NULL)
            return enomem(err);
        fp = stdin;
        org.kind = O_STDIN;
    }
    if (set_unit(in, path, err) != SIFT_OK) {
        free(path);
        return SIFT_ENOMEM;
    }
    if (is_stdin) {
        /* opened above */
    } else if ((fp = fopen(path, "rb")) == NULL) {
        char m[300];
        snprintf(m, sizeof(m), "cannot open: %s", strerror(errno));
        emit_fail(in, path, NULL, NULL, SIFT_EIO, m);
        return SIFT_OK;
    }
    if (!is_stdin && fstat(fileno(fp), &sb) == 0 && S_ISDIR(sb.st_mode)) {
        fclose(fp);
        return open_dir(in, path, err);
    }
    if ((fl = calloc(1, sizeof(*fl))) == NULL) {
        if (!is_stdin)
            fclose(fp);
        free(path);
        return enomem(err);
    }
    fl->fp = fp;
    fl->in = in;
    fl->is_stdin = is_stdin;
    fl->l.r.name = path;
    fl->l.r.read = file_read;
    fl->l.r.ctx = fl;
    fl->l.dispose = file_dispose;
    chain = &fl->l;
    if (is_stdin) {
        if (in->tee != NULL)
            fclose(in->tee);
        in->tee = tmpfile(); /* NULL: raw bytes of stdin are not kept */
        in->tee_len = 0;
        in->tee_over = in->tee == NULL;
    }
    return open_unit(in, chain, &fl->l.r, path, 0, &org, is_stdin ? NULL : path,
                     U_TOP, err);
}

/* ---- frames ---- */

static int
dir_next(sift_ingest *in, frame *f, sift_err *err)
{
    while (f->i < f->n) {
        const char *name = f->names[f->i++];
        struct stat sb;
        char *p;

        if (name[0] == '\0')
            continue;
        if ((p = join(f->path, "/", name)) == NULL)
            return enomem(err);
        if (lstat(p, &sb) != 0) {
            char m[300];
            snprintf(m, sizeof(m), "cannot open: %s", strerror(errno));
            if (set_unit(in, p, err) != SIFT_OK) {
                free(p);
                return SIFT_ENOMEM;
            }
            emit_fail(in, p, NULL, NULL, SIFT_EIO, m);
            return SIFT_OK;
        }
        if (S_ISDIR(sb.st_mode))
            return open_dir(in, p, err);
        /* Follow a symlink to a file, never to a directory (loops). */
        if (S_ISLNK(sb.st_mode) && stat(p, &sb) != 0)
            sb.st_mode = 0;
        if (S_ISREG(sb.st_mode))
            return open_file(in, p, 0, err);
        free(p);
    }
    f->done = 1;
    return SIFT_OK;
}

static int
zip_next(sift_ingest *in, frame *f, sift_err *err)
{
    while (f->i < f->n) {
        zip_uint64_t idx = f->i++;
        const char *name = zip_get_name(f->za, idx, ZIP_FL_ENC_RAW);
        origin org = {.kind = O_ZIPENT, .za = f->za, .idx = idx};
        const char *base;
        zip_stat_t st;
        zip_file_t *zf;
        lay *chain = NULL, *l;
        char *p;

        if (name == NULL)
            name = "";
        if (name[0] != '\0' && name[strlen(name) - 1] == '/')
            continue; /* a directory */
        if ((p = join(f->path, "/", name)) == NULL)
            return enomem(err);
        base = strrchr(name, '/') ? strrchr(name, '/') + 1 : name;
        if (strncmp(name, "__MACOSX/", 9) == 0 || strncmp(base, "._", 2) == 0) {
            emit(in, SIFT_ITEM_NOT_REPORT, p, NULL, NULL, &org, NULL);
            return SIFT_OK;
        }
        zip_stat_init(&st);
        if (zip_stat_index(f->za, idx, 0, &st) == 0 &&
            (st.valid & ZIP_STAT_ENCRYPTION_METHOD) &&
            st.encryption_method != ZIP_EM_NONE) {
            emit_fail(in, p, NULL, &org, SIFT_EFORMAT,
                      "zip entry is encrypted");
            return SIFT_OK;
        }
        if ((zf = zip_fopen_index(f->za, idx, 0)) == NULL) {
            char m[300];
            snprintf(m, sizeof(m), "zip: %s", zip_strerror(f->za));
            emit_fail(in, p, NULL, &org, SIFT_EFORMAT, m);
            return SIFT_OK;
        }
        if ((l = sift_ingest__zipent_new(
                 &chain, zf, (st.valid & ZIP_STAT_SIZE) ? st.size : UINT64_MAX,
                 p, err)) == NULL) {
            free(p);
            return SIFT_ENOMEM;
        }
        return open_unit(in, chain, &l->r, p, f->depth, &org, NULL, U_INFLATED,
                         err);
    }
    f->done = 1;
    return SIFT_OK;
}

static int
mbox_next(sift_ingest *in, frame *f, sift_err *err)
{
    origin org = {.kind = O_MEM};
    char num[32];
    sift_err e;
    char *p;
    int rc;

    sift_err_clear(&e);
    rc = sift_ingest__mbox_next(f->mb, &f->msg, &e);
    if (rc == SIFT_ITEROVER) {
        f->done = 1;
        return SIFT_OK;
    }
    snprintf(num, sizeof(num), "%zu", ++f->n);
    if ((p = join(f->path, "#", num)) == NULL)
        return enomem(err);
    if (rc == SIFT_ENOMEM) {
        free(p);
        return enomem(err);
    }
    if (rc != SIFT_OK) {
        if (rc != SIFT_ETOOBIG)
            f->done = 1; /* a read error: the rest is unreachable */
        emit(in, SIFT_ITEM_FAILED, p, NULL, NULL, NULL, &e);
        return SIFT_OK;
    }
    org.p = (const unsigned char *)f->msg.p;
    org.len = f->msg.len;
    if (org.len == 0) {
        emit(in, SIFT_ITEM_NOT_REPORT, p, NULL, NULL, &org, NULL);
        return SIFT_OK;
    }
    if (f->depth + 1 > in->lim.max_depth)
        return depth_fail(in, p, NULL, &org);
    return start_message(in, org.p, org.len, NULL, p, f->depth + 1, &org, err);
}

static int
msg_next(sift_ingest *in, frame *f, sift_err *err)
{
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
        rc = sift_ingest__mime_decode(f->mm, i, &info, &p, &n, &e);
        if (rc == SIFT_OK) {
            k = sift_ingest__sniff(p, n);
            if (k == SNIFF_XML && info.text && !sift_ingest__strict_xml(p, n))
                continue; /* an HTML or text body */
            if (k != SNIFF_XML && k != SNIFF_GZIP && k != SNIFF_ZLIB &&
                k != SNIFF_ZIP)
                continue;
        }
        if (info.filename != NULL && info.filename[0] != '\0') {
            path = join(f->path, "/", info.filename);
        } else {
            char pn[32];
            snprintf(pn, sizeof(pn), "part%zu", i + 1);
            path = join(f->path, "/", pn);
        }
        if (path == NULL)
            return enomem(err);
        f->found++;
        if (rc != SIFT_OK) {
            emit(in, SIFT_ITEM_FAILED, path, NULL, NULL, NULL, &e);
            return SIFT_OK;
        }
        org.p = p;
        org.len = n;
        if ((l = mem_new(&chain, p, n, path)) == NULL) {
            free(path);
            return enomem(err);
        }
        return open_unit(in, chain, &l->r, path, f->depth, &org, NULL, 0, err);
    }
    f->done = 1;
    if (f->found == 0) {
        char *p = strdup(f->path);
        if (p == NULL)
            return enomem(err);
        emit(in, SIFT_ITEM_NOT_REPORT, p, NULL, NULL, &f->org, NULL);
    }
    return SIFT_OK;
}

/* One message of an IMAP mailbox: a unit of its own, parsed in place in
 * the frame's buffer (src_imap.c fetches it). */
static int
imap_next(sift_ingest *in, frame *f, sift_err *err)
{
    origin org = {.kind = O_MEM};
    unsigned long long before = sift_imap__bytes(f->im);
    char *p = NULL;
    sift_err e;
    int rc;

    sift_err_clear(&e);
    rc = sift_imap__next(f->im, &f->msg, &p, &e);
    in->bytes += sift_imap__bytes(f->im) - before;
    if (rc == SIFT_ITEROVER) {
        f->done = 1;
        return SIFT_OK;
    }
    if (rc == SIFT_ENOMEM || set_unit(in, p, err) != SIFT_OK) {
        free(p);
        return enomem(err);
    }
    if (rc != SIFT_OK) { /* over the size limit: not fetched */
        emit(in, SIFT_ITEM_FAILED, p, NULL, NULL, NULL, &e);
        return SIFT_OK;
    }
    org.p = (const unsigned char *)f->msg.p;
    org.len = f->msg.len;
    if (org.len == 0) {
        emit(in, SIFT_ITEM_NOT_REPORT, p, NULL, NULL, &org, NULL);
        return SIFT_OK;
    }
    return start_message(in, org.p, org.len, NULL, p, f->depth + 1, &org, err);
}

static int
start_input(sift_ingest *in, input *ip, sift_err *err)
{
    origin org = {.kind = O_MEM};
    lay *chain = NULL, *l;

    if (ip->kind == IN_PATH)
        return open_file(in, ip->name, 1, err);
    if (ip->kind == IN_IMAP) {
        frame *f = NULL;
        int rc = push(in, F_IMAP, ip->name, 0, NULL, &f, err);
        if (rc != SIFT_OK)
            return rc;
        f->im = ip->im;
        sift_buf_init(&f->msg, (size_t)in->lim.max_input_size);
        return SIFT_OK;
    }
    if (set_unit(in, ip->name, err) != SIFT_OK) {
        free(ip->name);
        free(ip->buf);
        return SIFT_ENOMEM;
    }
    /* The buffer stays alive while items from it are current. */
    free(in->inbuf);
    in->inbuf = ip->buf;
    in->bytes += ip->len;
    org.p = ip->buf;
    org.len = ip->len;
    if ((l = mem_new(&chain, ip->buf, ip->len, ip->name)) == NULL) {
        free(ip->name);
        return enomem(err);
    }
    return open_unit(in, chain, &l->r, ip->name, 0, &org, NULL, U_TOP, err);
}

/* ---- public API ---- */

int
sift_ingest_new(sift_ingest **out, const sift_limits *lim, sift_err *err)
{
    sift_limits def = SIFT_LIMITS_INIT;

    if ((*out = calloc(1, sizeof(**out))) == NULL)
        return enomem(err);
    (*out)->lim = lim ? *lim : def;
    return SIFT_OK;
}

static int
enqueue(sift_ingest *in, input_kind kind, const char *name, const void *buf,
        size_t len, sift_err *err)
{
    input *ip = calloc(1, sizeof(*ip));

    if (ip == NULL || (ip->name = strdup(name)) == NULL) {
        free(ip);
        return enomem(err);
    }
    ip->kind = kind;
    if (kind == IN_MEM) {
        if ((ip->buf = malloc(len ? len : 1)) == NULL) {
            free(ip->name);
            free(ip);
            return enomem(err);
        }
        if (len)
            memcpy(ip->buf, buf, len);
        ip->len = len;
    }
    if (in->tail)
        in->tail->next = ip;
    else
        in->head = ip;
    in->tail = ip;
    return SIFT_OK;
}

int
sift_ingest_add_path(sift_ingest *in, const char *path, sift_err *err)
{
    return enqueue(in, IN_PATH, path, NULL, 0, err);
}

int
sift_ingest_add_memory(sift_ingest *in, const char *name, const void *buf,
                       size_t len, sift_err *err)
{
    return enqueue(in, IN_MEM, name, buf, len, err);
}

int
sift_ingest_add_imap(sift_ingest *in, sift_imap *im, const uint32_t *uids,
                     size_t n, sift_err *err)
{
    int rc;

    if ((rc = sift_imap__queue(im, uids, n, err)) != SIFT_OK ||
        (rc = enqueue(in, IN_IMAP, sift_imap_name(im), NULL, 0, err)) !=
            SIFT_OK)
        return rc;
    in->tail->im = im;
    return SIFT_OK;
}

int
sift_ingest_next(sift_ingest *in, const sift_item **item, sift_err *err)
{
    int rc;

    *item = NULL;
    release_item(in);
    for (;;) {
        frame *f = in->top;

        if (in->have) {
            *item = &in->item;
            return SIFT_OK;
        }
        if (f != NULL && f->done) {
            pop(in);
            continue;
        }
        if (f == NULL) {
            input *ip = in->head;
            if (ip == NULL)
                return SIFT_ITEROVER;
            in->head = ip->next;
            if (in->head == NULL)
                in->tail = NULL;
            rc = start_input(in, ip, err); /* takes ip's name and buf */
            free(ip);
        } else if (f->kind == F_DIR) {
            rc = dir_next(in, f, err);
        } else if (f->kind == F_ZIP) {
            rc = zip_next(in, f, err);
        } else if (f->kind == F_MBOX) {
            rc = mbox_next(in, f, err);
        } else if (f->kind == F_IMAP) {
            rc = imap_next(in, f, err);
        } else {
            rc = msg_next(in, f, err);
        }
        if (rc != SIFT_OK)
            return rc;
    }
}

static int
copy_out(unsigned char **buf, size_t *len, const void *p, size_t n,
         sift_err *err)
{
    if ((*buf = malloc(n ? n : 1)) == NULL)
        return enomem(err);
    if (n)
        memcpy(*buf, p, n);
    *len = n;
    return SIFT_OK;
}

int
sift_ingest_raw(sift_ingest *in, unsigned char **buf, size_t *len,
                sift_err *err)
{
    const origin *o = &in->item_org;
    sift_filereader fr;
    unsigned char tmp[65536];
    char l[96];
    lay *chain = NULL, *zl;
    zip_file_t *zf;
    zip_stat_t zst;
    FILE *fp;
    int rc;

    *buf = NULL;
    *len = 0;
    sift_ingest__limit(l, sizeof(l), in->lim.max_input_size,
                       "--max-input-size");
    if (!in->have)
        return sift_err_set(err, SIFT_EUSAGE, "no current item");
    switch (o->kind) {
    case O_MEM:
        if (o->len > in->lim.max_input_size)
            return sift_err_set(err, SIFT_ETOOBIG, "%s: larger than %s",
                                in->item.path, l);
        return copy_out(buf, len, o->p, o->len, err);
    case O_FILE:
        if ((fp = fopen(in->item.path, "rb")) == NULL)
            return sift_err_sys(err, "%s: cannot open", in->item.path);
        rc = sift_reader_slurp(buf, len,
                               sift_filereader_init(&fr, fp, in->item.path),
                               in->lim.max_input_size, err);
        fclose(fp);
        break;
    case O_ZIPENT:
        if ((zf = zip_fopen_index(o->za, o->idx, 0)) == NULL)
            return sift_err_set(err, SIFT_EFORMAT, "zip: %s",
                                zip_strerror(o->za));
        /* the entry's declared size bounds the copy, as it bounded the
         * parse: a lying entry (a bomb) fails after that many bytes */
        zip_stat_init(&zst);
        if ((zl = sift_ingest__zipent_new(
                 &chain, zf,
                 zip_stat_index(o->za, o->idx, 0, &zst) == 0 &&
                         (zst.valid & ZIP_STAT_SIZE)
                     ? zst.size
                     : UINT64_MAX,
                 in->item.path, err)) == NULL)
            return SIFT_ENOMEM;
        rc = sift_reader_slurp(buf, len, &zl->r, in->lim.max_input_size, err);
        sift_ingest__lay_free_chain(chain);
        break;
    case O_STDIN:
        while (!in->tee_over) {
            size_t n = fread(tmp, 1, sizeof(tmp), stdin);
            if (n == 0)
                break;
            tee_add(in, tmp, n);
        }
        if (in->tee_over)
            return sift_err_set(err, SIFT_ETOOBIG,
                                "%s: larger than %s (or no temporary file)",
                                in->item.path, l);
        if (fflush(in->tee) != 0 || fseek(in->tee, 0, SEEK_SET) != 0)
            return sift_err_sys(err, "%s: temporary copy", in->item.path);
        rc = sift_reader_slurp(
            buf, len, sift_filereader_init(&fr, in->tee, in->item.path),
            in->lim.max_input_size, err);
        if (fseek(in->tee, 0, SEEK_END) != 0 && rc == SIFT_OK)
            rc = sift_err_sys(err, "%s: temporary copy", in->item.path);
        break;
    default:
        return sift_err_set(err, SIFT_EUSAGE, "%s: no raw bytes kept",
                            in->item.path);
    }
    if (rc == SIFT_ETOOBIG)
        sift_err_set(err, SIFT_ETOOBIG, "%s: larger than %s", in->item.path, l);
    return rc;
}

/* Fingerprint of the bytes behind an origin (file or memory). */
static int
fingerprint(const origin *o, const char *path, uint64_t *fp, uint64_t *len,
            sift_err *err)
{
    unsigned char buf[65536];
    uint64_t h = SIFT_HASH64_INIT, n = 0;
    size_t got;
    FILE *f;

    switch (o->kind) {
    case O_MEM:
        *fp = sift_hash64w(h, o->p, o->len);
        *len = o->len;
        return SIFT_OK;
    case O_FILE:
        if ((f = fopen(path, "rb")) == NULL)
            return sift_err_sys(err, "%s: cannot open", path);
        /* full reads but the last keep the word stream exact */
        while ((got = fread(buf, 1, sizeof(buf), f)) > 0) {
            h = sift_hash64w(h, buf, got);
            n += got;
            if (got < sizeof(buf))
                break;
        }
        if (ferror(f)) {
            fclose(f);
            return sift_err_sys(err, "%s: read failed", path);
        }
        fclose(f);
        *fp = h;
        *len = n;
        return SIFT_OK;
    default:
        return sift_err_set(err, SIFT_EUSAGE, "no fingerprint");
    }
}

int
sift_ingest_fingerprint(sift_ingest *in, uint64_t *fp, uint64_t *len,
                        sift_err *err)
{
    const origin *o = &in->item_org;
    frame *f = in->top;
    int rc;

    *fp = 0;
    *len = 0;
    if (!in->have)
        return sift_err_set(err, SIFT_EUSAGE, "no current item");
    if (o->kind != O_ZIPENT)
        return fingerprint(o, in->item.path, fp, len, err);
    /* an entry: the archive's bytes, then the entry's index */
    if (f == NULL || f->kind != F_ZIP || f->za != o->za)
        return sift_err_set(err, SIFT_EUSAGE, "no fingerprint");
    if ((rc = fingerprint(&f->org, f->path, fp, len, err)) != SIFT_OK)
        return rc;
    *fp = sift_hash64(*fp, &o->idx, sizeof(o->idx));
    return SIFT_OK;
}

unsigned long long
sift_ingest_bytes_read(const sift_ingest *in)
{
    return in ? in->bytes : 0;
}

void
sift_ingest_free(sift_ingest *in)
{
    input *ip, *next;

    if (in == NULL)
        return;
    release_item(in);
    while (in->top)
        pop(in);
    for (ip = in->head; ip; ip = next) {
        next = ip->next;
        free(ip->name);
        free(ip->buf);
        free(ip);
    }
    free(in->inbuf);
    free(in->unit);
    if (in->tee != NULL)
        fclose(in->tee);
    free(in);
}
