/* ingest.c -- the queue of inputs, the table of sources and the stack of
 * container frames. Opening a unit yields one item or pushes a frame that
 * yields more; what a frame is (a directory, a zip, an mbox, a message)
 * is its source's business (src_*.c). Invariant: every unit ends as
 * exactly one item, and what the current item borrows lives until the
 * next sift_ingest_next(), which releases it before anything else. */
#include "sift_ingest.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "ingest_int.h"

/* The sources. Inputs are offered to claims() in this order (the file
 * source takes whatever is left, so it comes last among inputs); a unit
 * is opened by the first source whose sniffs match its kind. A new source
 * is a src_*.c file and a row here. */
static const src_ops *const sources[] = {
    &sift_src_stdin,                     /* "-" */
    &sift_src_zip,    &sift_src_archive, /* tar, xz, bzip2 (libarchive) */
    &sift_src_mbox,   &sift_src_msg,     &sift_src_dir,
    &sift_src_memory, &sift_src_file, /* last: takes any input path */
};
#define NSOURCES (sizeof(sources) / sizeof(sources[0]))

/* ---- small helpers ---- */

int
sift_ingest__enomem(sift_err *err)
{
    return sift_err_set(err, SIFT_ENOMEM, "out of memory");
}

int
sift_ingest__enofd(sift_err *err, const char *path)
{
    struct rlimit rl;
    int e = errno;

    if (e == ENFILE)
        sift_err_set(err, SIFT_ENOFD, "cannot open: %s (system-wide)",
                     strerror(e));
    else if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
        sift_err_set(err, SIFT_ENOFD,
                     "cannot open: %s (the limit, ulimit -n, is %llu)",
                     strerror(e), (unsigned long long)rl.rlim_cur);
    else
        sift_err_set(err, SIFT_ENOFD, "cannot open: %s", strerror(e));
    sift_err_where(err, path);
    return SIFT_ENOFD;
}

char *
sift_ingest__join(const char *base, const char *sep, const char *name)
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

static void
release_item(sift_ingest *in)
{
    sift_ingest__lay_free_chain(in->item_chain);
    in->item_chain = NULL;
    free(in->item_path);
    in->item_path = NULL;
    free(in->item_base);
    in->item_base = NULL;
    in->item_split = NULL;
    in->item_doc = 0;
    memset(&in->item, 0, sizeof(in->item));
    memset(&in->item_org, 0, sizeof(in->item_org));
    in->have = 0;
}

/* The outermost unit of the item at path: the first frame above the
 * directories and mailboxes that hold it (a file, a message), else the
 * item itself. */
static const char *
unit_of(const sift_ingest *in, const char *path)
{
    const frame *f, *u = NULL;

    /* directories and mailboxes are at the bottom of the stack: the
     * lowest frame of another kind is the unit */
    for (f = in->top; f != NULL; f = f->up)
        if (f->ops != &sift_src_dir && f->ops != &sift_src_imap)
            u = f;
    return u != NULL ? u->path : path;
}

void
sift_ingest__emit(sift_ingest *in, sift_item_kind kind, char *path, lay *chain,
                  sift_reader *r, const origin *org, const sift_err *e)
{
    in->item.kind = kind;
    in->item.unit = unit_of(in, path);
    in->item.path = path;
    in->item.reader = r;
    sift_err_clear(&in->item.err);
    if (e != NULL) {
        in->item.err = *e;
        in->item.err.where[0] = '\0';
        sift_err_where(&in->item.err, path);
    }
    in->item_path = path;
    in->item_chain = chain;
    if (org)
        in->item_org = *org;
    in->have = 1;
}

void
sift_ingest__emit_fail(sift_ingest *in, char *path, lay *chain,
                       const origin *org, int code, const char *msg)
{
    sift_err e;

    sift_err_clear(&e);
    sift_err_set(&e, code, "%s", msg);
    sift_ingest__emit(in, SIFT_ITEM_FAILED, path, chain, NULL, org, &e);
}

int
sift_ingest__depth_fail(sift_ingest *in, char *path, lay *chain,
                        const origin *org)
{
    char m[128];

    snprintf(m, sizeof(m), "nesting deeper than the %u limit (--max-depth)",
             in->lim.max_depth);
    sift_ingest__emit_fail(in, path, chain, org, SIFT_ETOOBIG, m);
    return SIFT_OK;
}

int
sift_ingest__push(sift_ingest *in, const src_ops *ops, char *path,
                  unsigned depth, const origin *org, frame **out, sift_err *err)
{
    frame *f = calloc(1, sizeof(*f));

    if (f == NULL) {
        free(path);
        return sift_ingest__enomem(err);
    }
    f->ops = ops;
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
    if (f == NULL)
        return;
    if (f->ops->dispose)
        f->ops->dispose(f);
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

uint64_t
sift_ingest__held(const sift_ingest *in)
{
    const frame *f;
    uint64_t n = 0;

    for (f = in->top; f != NULL; f = f->up)
        n += f->held;
    return n;
}

int
sift_ingest__held_fail(sift_ingest *in, sift_err *e, const char *what)
{
    char h[32];

    sift_fmt_size(h, sizeof(h), in->lim.max_input_size);
    return sift_err_set(e, SIFT_ETOOBIG,
                        "%s and the containers around it would hold more than "
                        "2 x %s in memory (--max-input-size)",
                        what, h);
}

int
sift_ingest__spool(sift_ingest *in, sift_reader *r, unsigned char **buf,
                   size_t *len, const char *what, sift_err *e)
{
    uint64_t max = in->lim.max_input_size, held = sift_ingest__held(in);
    uint64_t room = held >= 2 * max ? 0 : 2 * max - held;
    int rc = sift_reader_slurp(buf, len, r, room < max ? room : max, e);

    if (rc == SIFT_ETOOBIG && room < max)
        return sift_ingest__held_fail(in, e, what);
    if (rc == SIFT_ETOOBIG) {
        char l[96];
        sift_ingest__limit(l, sizeof(l), in->lim.max_input_size,
                           "--max-input-size");
        sift_err_set(e, SIFT_ETOOBIG, "%s larger than %s", what, l);
    }
    return rc;
}

/* ---- units ---- */

static const src_ops *
container_for(sniff_kind k)
{
    size_t i;

    for (i = 0; i < NSOURCES; i++)
        if (sources[i]->open && (sources[i]->sniffs & SNIFF_BIT(k)))
            return sources[i];
    return NULL;
}

int
sift_ingest__open_unit(sift_ingest *in, lay *chain, sift_reader *r, char *path,
                       unsigned depth, const origin *org, const char *file,
                       int flags, sift_err *err)
{
    int compressed = (flags & U_INFLATED) != 0, top_level = flags & U_TOP;
    int rc;
    sift_err e;

    sift_err_clear(&e);
    for (;;) {
        pk_lay *pk =
            sift_ingest__pk_new(&chain, r, path, UINT64_MAX, "report size",
                                "--max-report-size", &e);
        const src_ops *ops;
        sniff_kind k;
        unit u;
        lay *l;

        if (pk == NULL)
            goto nomem;
        if ((rc = sift_ingest__pk_fill(pk, &e)) != SIFT_OK) {
            if (rc == SIFT_ENOMEM)
                goto nomem;
            sift_ingest__emit(in, SIFT_ITEM_FAILED, path, chain, NULL, org, &e);
            return SIFT_OK;
        }
        k = sift_ingest__sniff(pk->head, pk->hlen);
        switch (k) {
        case SNIFF_XML: {
            split_lay *s = NULL;
            pk->cap = in->lim.max_report_size;
            if (compressed)
                pk->capmsg = "decompressed size";
            /* UTF-16 (NUL bytes) is read as one document */
            if (memchr(pk->head, 0, pk->hlen < 64 ? pk->hlen : 64) == NULL &&
                (s = sift_ingest__split_new(&chain, &pk->l.r, path)) == NULL)
                goto nomem;
            sift_ingest__emit(in, SIFT_ITEM_REPORT, path, chain,
                              s ? sift_ingest__split_reader(s) : &pk->l.r, org,
                              NULL);
            in->item_split = s;
            in->item_doc = 1;
            return SIFT_OK;
        }
        case SNIFF_GZIP:
        case SNIFF_ZLIB:
            if (depth + 1 > in->lim.max_depth)
                return sift_ingest__depth_fail(in, path, chain, org);
            l = sift_ingest__inflate_new(&chain, &pk->l.r, k == SNIFF_GZIP,
                                         path, in->lim.max_report_size, &e);
            if (l == NULL)
                goto nomem;
            r = &l->r;
            depth++;
            compressed = 1;
            file = NULL;
            continue;
        case SNIFF_EMPTY:
            if (top_level && !compressed) {
                sift_ingest__emit_fail(in, path, chain, org, SIFT_EFORMAT,
                                       "empty file");
                return SIFT_OK;
            }
            break;
        default:
            break;
        }
        if ((ops = container_for(k)) == NULL) {
            sift_ingest__emit(in, SIFT_ITEM_NOT_REPORT, path, chain, NULL, org,
                              NULL);
            return SIFT_OK;
        }
        if (depth + 1 > in->lim.max_depth)
            return sift_ingest__depth_fail(in, path, chain, org);
        u.chain = chain;
        u.pk = pk;
        u.path = path;
        u.depth = depth + 1;
        u.org = *org;
        u.file = file;
        u.compressed = compressed;
        return ops->open(in, &u, err);
    }
nomem:
    sift_ingest__lay_free_chain(chain);
    free(path);
    return sift_ingest__enomem(err);
}

/* ---- public API ---- */

int
sift_ingest_new(sift_ingest **out, const sift_limits *lim, sift_err *err)
{
    sift_limits def = SIFT_LIMITS_INIT;

    if ((*out = calloc(1, sizeof(**out))) == NULL)
        return sift_ingest__enomem(err);
    (*out)->lim = lim ? *lim : def;
    return SIFT_OK;
}

static int
enqueue(sift_ingest *in, const src_ops *ops, const char *name, const void *buf,
        size_t len, sift_err *err)
{
    input *ip = calloc(1, sizeof(*ip));

    if (ip == NULL || (ip->name = strdup(name)) == NULL) {
        free(ip);
        return sift_ingest__enomem(err);
    }
    ip->ops = ops;
    if (buf != NULL) {
        if ((ip->buf = malloc(len ? len : 1)) == NULL) {
            free(ip->name);
            free(ip);
            return sift_ingest__enomem(err);
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
    const src_ops *ops = &sift_src_file;
    size_t i;

    for (i = 0; i < NSOURCES; i++)
        if (sources[i]->claims && sources[i]->claims(path)) {
            ops = sources[i];
            break;
        }
    return enqueue(in, ops, path, NULL, 0, err);
}

int
sift_ingest_add_memory(sift_ingest *in, const char *name, const void *buf,
                       size_t len, sift_err *err)
{
    return enqueue(in, &sift_src_memory, name, buf ? buf : "", len, err);
}

int
sift_ingest_add_imap(sift_ingest *in, sift_imap *im, const uint32_t *uids,
                     size_t n, sift_err *err)
{
    int rc;

    if ((rc = sift_imap__queue(im, uids, n, err)) != SIFT_OK ||
        (rc = enqueue(in, &sift_src_imap, sift_imap_name(im), NULL, 0, err)) !=
            SIFT_OK)
        return rc;
    in->tail->im = im;
    return SIFT_OK;
}

int
sift_ingest_skip(sift_ingest *in, const char *path, sift_err *err)
{
    const char *slash = strrchr(path, '/');
    struct sift_ingest_skip *ns;
    char *dir, *base;
    struct stat sb;
    int ok;

    if (slash == NULL)
        dir = strdup(".");
    else if (slash == path)
        dir = strdup("/");
    else
        dir = strndup(path, (size_t)(slash - path));
    if (dir == NULL)
        return sift_ingest__enomem(err);
    ok = stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode);
    free(dir);
    if (!ok || (slash ? slash[1] : path[0]) == '\0')
        return SIFT_OK;
    if ((base = strdup(slash ? slash + 1 : path)) == NULL)
        return sift_ingest__enomem(err);
    ns = realloc(in->skips, (in->nskips + 1) * sizeof(*ns));
    if (ns == NULL) {
        free(base);
        return sift_ingest__enomem(err);
    }
    in->skips = ns;
    ns[in->nskips].dev = (unsigned long long)sb.st_dev;
    ns[in->nskips].ino = (unsigned long long)sb.st_ino;
    ns[in->nskips].base = base;
    in->nskips++;
    return SIFT_OK;
}

/* The current report item was read up to a second document in its
 * stream: make that the item ("path#2"), on the same reader layers. Past
 * --max-entries documents the stream fails and the rest is not read. */
static int
next_doc(sift_ingest *in, const sift_item **item, sift_err *err)
{
    const char *base = in->item_base ? in->item_base : in->item_path;
    const char *owner = in->item.unit;
    unsigned doc = in->item_doc + 1;
    char num[32], *p;

    snprintf(num, sizeof(num), "%u", doc);
    if ((p = sift_ingest__join(base, "#", num)) == NULL)
        return sift_ingest__enomem(err);
    if (in->item_base == NULL)
        in->item_base = in->item_path; /* unit may point to it */
    else
        free(in->item_path);
    in->item_path = p;
    in->item.path = p;
    in->item.unit = owner;
    in->item_doc = doc;
    sift_err_clear(&in->item.err);
    if (doc > in->lim.max_entries) {
        in->item.kind = SIFT_ITEM_FAILED;
        in->item.reader = NULL;
        in->item_split = NULL;
        sift_err_set(&in->item.err, SIFT_ETOOBIG,
                     "more than %u reports in one stream (--max-entries)",
                     in->lim.max_entries);
        sift_err_where(&in->item.err, p);
    } else {
        sift_ingest__split_next(in->item_split, p);
        in->item.reader = sift_ingest__split_reader(in->item_split);
    }
    *item = &in->item;
    return SIFT_OK;
}

int
sift_ingest_next(sift_ingest *in, const sift_item **item, sift_err *err)
{
    int rc;

    *item = NULL;
    if (in->have && in->item_split != NULL &&
        sift_ingest__split_more(in->item_split))
        return next_doc(in, item, err);
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
            rc = ip->ops->start(in, ip, err); /* takes ip's name and buf */
            free(ip);
        } else {
            rc = f->ops->next(in, f, err);
        }
        if (rc != SIFT_OK)
            return rc;
    }
}

int
sift_ingest_raw(sift_ingest *in, unsigned char **buf, size_t *len,
                sift_err *err)
{
    const origin *o = &in->item_org;
    char l[96];

    *buf = NULL;
    *len = 0;
    if (!in->have)
        return sift_err_set(err, SIFT_EUSAGE, "no current item");
    if (o->kind == O_MEM) {
        if (o->len > in->lim.max_input_size) {
            sift_ingest__limit(l, sizeof(l), in->lim.max_input_size,
                               "--max-input-size");
            return sift_err_set(err, SIFT_ETOOBIG, "%s: larger than %s",
                                in->item.path, l);
        }
        if ((*buf = malloc(o->len ? o->len : 1)) == NULL)
            return sift_ingest__enomem(err);
        if (o->len)
            memcpy(*buf, o->p, o->len);
        *len = o->len;
        return SIFT_OK;
    }
    if (o->kind == O_SPOOL) {
        /* spooled because it was over --max-input-size */
        sift_ingest__limit(l, sizeof(l), in->lim.max_input_size,
                           "--max-input-size");
        return sift_err_set(err, SIFT_ETOOBIG, "%s: larger than %s",
                            in->item.path, l);
    }
    if (o->kind != O_SRC || o->ops->raw == NULL)
        return sift_err_set(err, SIFT_EUSAGE, "%s: no raw bytes kept",
                            in->item.path);
    /* a second report of a stream: the stream's bytes, under its path */
    return o->ops->raw(in, o, in->item_base ? in->item_base : in->item.path,
                       buf, len, err);
}

int
sift_ingest__copy(FILE *src, FILE *out, uint64_t max, uint64_t *len,
                  sift_hasher *h, const char *path, sift_err *err)
{
    unsigned char buf[65536];
    size_t got;
    char l[96];

    while ((got = fread(buf, 1, sizeof(buf), src)) > 0) {
        if (got > max - *len) {
            sift_ingest__limit(l, sizeof(l), max, "--max-keep-size");
            return sift_err_set(err, SIFT_ETOOBIG, "%s: larger than %s", path,
                                l);
        }
        if (fwrite(buf, 1, got, out) != got)
            return sift_err_sys(err, "%s: cannot write a temporary file", path);
        sift_hasher_add(h, buf, got);
        *len += got;
    }
    if (ferror(src))
        return sift_err_sys(err, "%s: read failed", path);
    return SIFT_OK;
}

int
sift_ingest_raw_spool(sift_ingest *in, FILE *out, uint64_t *len,
                      sift_hash128 *hash, sift_err *err)
{
    const origin *o = &in->item_org;
    uint64_t max = in->lim.max_keep_size;
    unsigned char *buf = NULL;
    sift_hasher h;
    size_t n = 0;
    char l[96];
    int rc;

    *len = 0;
    hash->hi = hash->lo = 0;
    if (!in->have)
        return sift_err_set(err, SIFT_EUSAGE, "no current item");
    sift_hasher_init(&h);
    switch (o->kind) {
    case O_SPOOL:
        if (!o->spool_whole) {
            *len = o->spool_len;
            sift_ingest__limit(l, sizeof(l), max, "--max-keep-size");
            return sift_err_set(err, SIFT_ETOOBIG, "%s: larger than %s",
                                in->item.path, l);
        }
        rewind(o->spool);
        rc = sift_ingest__copy(o->spool, out, max, len, &h, in->item.path, err);
        break;
    case O_SRC:
        if (o->ops->raw_stream != NULL) {
            /* a second report of a stream: the stream's bytes */
            rc = o->ops->raw_stream(
                in, o, in->item_base ? in->item_base : in->item.path, out, max,
                len, &h, err);
            break;
        }
        /* the source's bytes in memory */
        /* fall through */
    default:
        if ((rc = sift_ingest_raw(in, &buf, &n, err)) != SIFT_OK)
            return rc;
        if (n > max) {
            *len = n;
            sift_ingest__limit(l, sizeof(l), max, "--max-keep-size");
            rc = sift_err_set(err, SIFT_ETOOBIG, "%s: larger than %s",
                              in->item.path, l);
        } else if (n > 0 && fwrite(buf, 1, n, out) != n) {
            rc = sift_err_sys(err, "%s: cannot write a temporary file",
                              in->item.path);
        } else {
            sift_hasher_add(&h, buf, n);
            *len = n;
        }
        free(buf);
        break;
    }
    if (rc == SIFT_OK && fflush(out) != 0)
        rc = sift_err_sys(err, "%s: cannot write a temporary file",
                          in->item.path);
    if (rc == SIFT_OK)
        *hash = sift_hasher_digest(&h);
    return rc;
}

int
sift_ingest__origin_fingerprint(sift_ingest *in, const origin *o,
                                const char *path, sift_hash128 *fp,
                                uint64_t *len, sift_err *err)
{
    if (o->kind == O_MEM) {
        *fp = sift_hash128_of(o->p, o->len);
        *len = o->len;
        return SIFT_OK;
    }
    if (o->kind == O_SPOOL && o->spool_whole) {
        *fp = o->spool_hash;
        *len = o->spool_len;
        return SIFT_OK;
    }
    if (o->kind != O_SRC || o->ops->fingerprint == NULL)
        return sift_err_set(err, SIFT_EUSAGE, "no fingerprint");
    return o->ops->fingerprint(in, o, path, fp, len, err);
}

int
sift_ingest_fingerprint(sift_ingest *in, sift_hash128 *fp, uint64_t *len,
                        sift_err *err)
{
    int rc;

    fp->hi = fp->lo = 0;
    *len = 0;
    if (!in->have)
        return sift_err_set(err, SIFT_EUSAGE, "no current item");
    rc = sift_ingest__origin_fingerprint(
        in, &in->item_org, in->item_base ? in->item_base : in->item.path, fp,
        len, err);
    /* The reports of a stream of several are told apart: the Nth gets
     * the stream's fingerprint mixed with N. The first one only once the
     * second has been met (read to its end, it knows), so a single report
     * keeps its file's fingerprint; see sift_ingest.h. */
    if (rc == SIFT_OK &&
        (in->item_doc > 1 ||
         (in->item_split != NULL && sift_ingest__split_cut(in->item_split))))
        *fp = sift_hash128_mix(*fp, in->item_doc);
    return rc;
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
    size_t i;

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
    if (in->tee != NULL)
        fclose(in->tee);
    for (i = 0; i < in->nskips; i++)
        free(in->skips[i].base);
    free(in->skips);
    free(in);
}
