/* cmd_ingest.c -- ingest and retry-failed: inputs -> import -> store,
 * with a progress line on a terminal and one summary line. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

static const char usage_ingest[] =
    "usage: dmarcsift [--db PATH] ingest [--quiet] [OPTIONS] [LIMITS] "
    "[INPUT...]\n"
    "\n"
    "Store every DMARC aggregate report found in INPUT (file, directory,\n"
    "mbox, Maildir, .eml, .xml, .xml.gz, .zip, .tar, .tar.gz, .tar.xz,\n"
    ".tar.bz2, .xz, .bz2, - for stdin, or an IMAP mailbox\n"
    "imaps://user@host[:port]/MAILBOX). Kinds are recognised by\n"
    "content. Reports already stored are counted as\n"
    "duplicates. Each input that cannot be used is named on stderr and kept\n"
    "in the database (see retry-failed and failed list); a kept failure is\n"
    "resolved when the same input later imports. In a Maildir, tmp/ and\n"
    "the mail server's index files are skipped; so is the database itself\n"
    "when it sits in an ingested folder. An INPUT that does not exist or\n"
    "cannot be read is named and skipped, nothing is kept for it, and the\n"
    "run exits 66 (65 when something else failed too). A mailbox is read\n"
    "incrementally: messages settled by an earlier run are not fetched\n"
    "again. Without INPUT, the\n"
    "'source =' lines of the configuration file's [ingest] section are\n"
    "read.\n"
    "\n"
    "  -q, --quiet               no progress and no summary line\n"
    "  --move-to FOLDER          once all reports of a message are stored,\n"
    "                            move it to FOLDER (IMAP; created when\n"
    "                            missing), or to the Maildir FOLDER's cur/\n"
    "                            when the INPUTs are Maildir folders\n"
    "  --failed-to FOLDER        the same for messages holding a failed\n"
    "                            input (else they stay; their bytes are kept)\n"
    "IMAP (docs/imap.md; the password is never an argument):\n"
    "  --password-file FILE      the password is FILE's first line; else\n"
    "                            $DMARCSIFT_IMAP_PASSWORD, else ~/.netrc\n"
    "  --netrc-file FILE         look the user up in FILE, not ~/.netrc\n"
    "  --oauth2-token-file FILE  log in with XOAUTH2 using FILE's token\n"
    "  --cacert FILE             trust the CA certificates in FILE\n"
    "  --insecure                let imap:// go without STARTTLS (plain\n"
    "                            text; certificates are still checked)\n"
    "DNS (docs/dns.md; off unless asked for):\n"
    "  --dns                     then look up the names of new source\n"
    "                            addresses (as 'dmarcsift resolve'; the\n"
    "                            two options below imply it)\n" DNS_HELP
    "\n" LIMITS_HELP KEEP_HELP;

static const char usage_retry[] =
    "usage: dmarcsift [--db PATH] retry-failed [--quiet] [LIMITS]\n"
    "\n"
    "Re-parse the stored inputs that failed; those that now succeed are\n"
    "stored and removed from the failed list in one transaction (raise a\n"
    "limit to retry inputs that were over it). Inputs kept without their\n"
    "bytes cannot be retried: ingest them again, or 'failed forget' them.\n"
    "\n" LIMITS_HELP KEEP_HELP;

/* --- ingest ------------------------------------------------------------ */

/* A list of UIDs with a failed flag each. */
struct uidlist {
    uint32_t *u;
    unsigned char *failed;
    size_t n, cap;
};

struct imap_src {
    sift_imap *im;
    int64_t mbox;        /* imap_mailboxes.id */
    uint32_t high;       /* highest settled UID before this run */
    struct uidlist left; /* settled before, still in the mailbox */
    struct uidlist now;  /* settled by this run */
    size_t queued;
};

struct filing {
    const struct opts *o;
    sift_store *st;
    struct imap_src *src;
    size_t nsrc;
    int maildir; /* local inputs are Maildir folders to move from */
    int trouble; /* a settle or a move failed: exit 74 */
    unsigned long long settled, total;
};

struct progress {
    int show;
    unsigned long long units;
    struct timespec start, last;
    struct filing *f; /* NULL: nothing to settle or move */
};

static double
secs_since(const struct timespec *a)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - a->tv_sec) +
           (double)(now.tv_nsec - a->tv_nsec) / 1e9;
}

/* Columns of the terminal on stderr (0: unknown). */
static unsigned
term_cols(void)
{
    struct winsize ws;

    if (ioctl(2, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        return ws.ws_col;
    return 0;
}

/* The progress line, cut to the terminal's width (one column spare, so
 * the cursor never wraps): a line that wraps is not erased by \r\033[K. */
static void
show_progress(const char *line)
{
    unsigned cols = term_cols();
    size_t n = strlen(line);

    if (cols == 0)
        cols = 80;
    if (n > cols - 1)
        n = cols - 1;
    fputs("\r\033[K", stderr);
    fwrite(line, 1, n, stderr);
}

static void
on_outcome(void *payload, sift_outcome_kind kind, const char *path,
           const sift_err *err, const sift_import_stats *s)
{
    struct progress *p = payload;

    (void)path;
    p->units++;
    /* a report lost with a failed batch: counted as failed; the database
     * error that lost it is printed once, at the end */
    if (kind == SIFT_FAILED && err && err->code != SIFT_EDB) {
        if (p->show)
            fputs("\r\033[K", stderr);
        die_err(err);
    }
    if (p->show && secs_since(&p->last) >= 0.25) {
        double t = secs_since(&p->start);
        char line[160];
        clock_gettime(CLOCK_MONOTONIC, &p->last);
        if (p->f != NULL && p->f->total > 0)
            snprintf(line, sizeof(line),
                     "%llu of %llu messages, %" PRIu64
                     " records, %.0f records/s",
                     p->f->settled, p->f->total, s->records,
                     t > 0 ? (double)s->records / t : 0.0);
        else
            snprintf(line, sizeof(line),
                     "%llu inputs, %" PRIu64 " records, %.0f records/s",
                     p->units, s->records,
                     t > 0 ? (double)s->records / t : 0.0);
        show_progress(line);
    }
}

/* The closing line of ingest and retry-failed: one outcome per unit. */
static void
print_summary(const sift_import_stats *s)
{
    char a[32], b[32], c[32];
    uint64_t dups = s->duplicates + s->conflicts;

    printf("ingested %s %s (%s %s, %s %s); %" PRIu64 " %s (%" PRIu64
           " conflicting); %" PRIu64 " not a report; %" PRIu64 " %s; %" PRIu64
           " failed\n",
           sift_fmt_thousands(a, sizeof(a), s->imported),
           plural(s->imported, "report", "reports"),
           sift_fmt_thousands(b, sizeof(b), s->records),
           plural(s->records, "record", "records"),
           sift_fmt_thousands(c, sizeof(c), s->messages),
           plural(s->messages, "message", "messages"), dups,
           plural(dups, "duplicate", "duplicates"), s->conflicts,
           s->not_reports, s->failure_reports,
           plural(s->failure_reports, "failure report", "failure reports"),
           s->failed);
}

/* --- filing: IMAP state and movers -------------------------------------- */

static int
uid_push(struct uidlist *l, uint32_t uid, int failed)
{
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 256;
        uint32_t *u = realloc(l->u, nc * sizeof(*u));
        unsigned char *f;
        if (u == NULL)
            return -1;
        l->u = u;
        if ((f = realloc(l->failed, nc)) == NULL)
            return -1;
        l->failed = f;
        l->cap = nc;
    }
    l->u[l->n] = uid;
    l->failed[l->n++] = failed != 0;
    return 0;
}

static void
uid_free(struct uidlist *l)
{
    free(l->u);
    free(l->failed);
    memset(l, 0, sizeof(*l));
}

static int
collect_settled(void *payload, uint32_t uid, int failed)
{
    struct uidlist *l = payload;

    return uid_push(l, uid, failed) != 0 ? SIFT_ENOMEM : 0;
}

/* Make DIR a Maildir folder (DIR, DIR/cur, DIR/new, DIR/tmp). */
static int
make_maildir(const char *dir, sift_err *err)
{
    static const char *const sub[] = {"", "/cur", "/new", "/tmp"};
    char p[PATH_MAX];
    size_t i;

    for (i = 0; i < 4; i++) {
        snprintf(p, sizeof(p), "%s%s", dir, sub[i]);
        if (mkdir(p, 0700) != 0 && errno != EEXIST) {
            sift_err_sys(err, "cannot create the Maildir folder");
            sift_err_where(err, p);
            return SIFT_EIO;
        }
    }
    return SIFT_OK;
}

static int
is_maildir(const char *dir)
{
    char p[PATH_MAX];
    struct stat sb;

    snprintf(p, sizeof(p), "%s/cur", dir);
    if (stat(p, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return 0;
    snprintf(p, sizeof(p), "%s/new", dir);
    return stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* Move a settled Maildir message into DIR/cur/, keeping its name (a
 * message from new/ gets the ":2," info a message in cur/ carries). */
static void
maildir_move(struct filing *f, const char *unit, const char *dir)
{
    const char *base = strrchr(unit, '/') ? strrchr(unit, '/') + 1 : unit;
    int from_new = base - unit >= 4 && strncmp(base - 4, "new/", 4) == 0;
    char to[PATH_MAX];

    snprintf(to, sizeof(to), "%s/cur/%s%s", dir, base,
             from_new && strstr(base, ":2,") == NULL ? ":2," : "");
    if (rename(unit, to) != 0) {
        fprintf(stderr, "%s: %s: cannot move to %s: %s\n", progname, unit, to,
                strerror(errno));
        f->trouble = 1;
    }
}

static void
on_settled(void *payload, const char *unit, const sift_import_stats *c)
{
    struct progress *p = payload;
    struct filing *f = p->f;
    size_t i;

    f->settled++;
    for (i = 0; i < f->nsrc; i++) {
        struct imap_src *src = &f->src[i];
        const char *name = sift_imap_name(src->im), *u;
        size_t n = strlen(name);
        unsigned char failed = c->failed > 0;
        uint32_t uid;
        sift_err err;

        if (strncmp(unit, name, n) != 0 ||
            strncmp(unit + n, ";UIDVALIDITY=", 13) != 0 ||
            (u = strstr(unit + n, ";UID=")) == NULL)
            continue;
        uid = (uint32_t)strtoul(u + 5, NULL, 10);
        sift_err_clear(&err);
        if (sift_store_imap_settle(f->st, src->mbox, &uid, &failed, 1, &err) !=
                SIFT_OK ||
            uid_push(&src->now, uid, failed) != 0) {
            if (err.msg[0] == '\0')
                sift_err_set(&err, SIFT_ENOMEM, "out of memory");
            die_err(&err);
            f->trouble = 1;
        }
        return;
    }
    if (f->maildir) {
        const char *dir = c->failed > 0 ? f->o->failed_to : f->o->move_to;
        if (dir != NULL)
            maildir_move(f, unit, dir);
    }
}

/* Connect to one mailbox, learn what is settled, queue what is new. */
static int
imap_prepare(struct filing *f, struct imap_src *src, sift_ingest *in,
             const char *url, const char *password, const char *token)
{
    const struct opts *o = f->o;
    sift_imap_opts io = {0};
    struct uidlist done = {0};
    uint32_t *uids = NULL, *have = NULL;
    size_t n = 0, nh = 0, i, j;
    sift_err err;
    int rc;

    sift_err_clear(&err);
    io.url = url;
    io.password = password;
    io.oauth2_token = token;
    io.netrc_file = o->netrc_file;
    io.cacert = o->cacert;
    io.insecure = o->insecure;
    if ((rc = sift_imap_open(&src->im, &io, &err)) != SIFT_OK)
        goto fail;
    if ((rc = sift_store_imap_mailbox(
             f->st, &src->mbox, sift_imap_server(src->im),
             sift_imap_user(src->im), sift_imap_mailbox(src->im),
             sift_imap_uidvalidity(src->im), &err)) != SIFT_OK ||
        (rc = sift_store_imap_each_settled(f->st, src->mbox, collect_settled,
                                           &done, &err)) != SIFT_OK)
        goto fail;
    src->high = done.n > 0 ? done.u[done.n - 1] : 0;
    /* settled by an earlier run but not moved (it stopped, or was killed,
     * before its moves): move them with this run's */
    if ((o->move_to || o->failed_to) && done.n > 0) {
        if ((rc = sift_imap_search(src->im, 1, src->high, &have, &nh, &err)) !=
            SIFT_OK)
            goto fail;
        for (i = 0, j = 0; i < nh && j < done.n;) {
            if (have[i] < done.u[j])
                i++;
            else if (have[i] > done.u[j])
                j++;
            else {
                if (uid_push(&src->left, have[i], done.failed[j]) != 0)
                    goto nomem;
                i++;
                j++;
            }
        }
    }
    if ((rc = sift_imap_search(src->im, src->high + 1, 0, &uids, &n, &err)) !=
            SIFT_OK ||
        (rc = sift_ingest_add_imap(in, src->im, uids, n, &err)) != SIFT_OK)
        goto fail;
    src->queued = n;
    f->total += n;
    goto out;
nomem:
    rc = sift_err_set(&err, SIFT_ENOMEM, "out of memory");
fail:
    die_err(&err);
    sift_imap_close(src->im);
    src->im = NULL;
out:
    free(uids);
    free(have);
    uid_free(&done);
    return rc;
}

static int
cmp_uid(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

    return x < y ? -1 : x > y;
}

/* After the run: move what is settled, forget what has left. */
static void
imap_file(struct filing *f, struct imap_src *src)
{
    const char *dest[2] = {f->o->move_to, f->o->failed_to};
    struct uidlist *lists[2] = {&src->left, &src->now};
    int pass, l;
    sift_err err;

    for (pass = 0; pass < 2; pass++) { /* 0: stored, 1: failed */
        struct uidlist go = {0};
        size_t i;
        if (dest[pass] == NULL)
            continue;
        for (l = 0; l < 2; l++)
            for (i = 0; i < lists[l]->n; i++)
                if (lists[l]->failed[i] == pass &&
                    uid_push(&go, lists[l]->u[i], pass) != 0) {
                    fprintf(stderr, "%s: out of memory\n", progname);
                    f->trouble = 1;
                    uid_free(&go);
                    return;
                }
        if (go.n > 1) /* earlier runs' and this run's */
            qsort(go.u, go.n, sizeof(*go.u), cmp_uid);
        sift_err_clear(&err);
        if (sift_imap_move(src->im, go.u, go.n, dest[pass], &err) != SIFT_OK ||
            sift_store_imap_forget(f->st, src->mbox, go.u, go.n, &err) !=
                SIFT_OK) {
            die_err(&err);
            f->trouble = 1;
        }
        uid_free(&go);
    }
}

/* First line of a file, for a secret; NULL (with a message) on failure.
 * The caller wipes and frees it. */
static char *
read_secret(const char *path, const char *what)
{
    FILE *fp = fopen(path, "r");
    char *buf = NULL;
    size_t n;

    if (fp == NULL) {
        fprintf(stderr, "%s: %s: cannot read the %s: %s\n", progname, path,
                what, strerror(errno));
        return NULL;
    }
    if ((buf = calloc(1, 4097)) == NULL || fgets(buf, 4097, fp) == NULL) {
        fprintf(stderr, "%s: %s: the %s file is empty\n", progname, path, what);
        free(buf);
        fclose(fp);
        return NULL;
    }
    fclose(fp);
    n = strlen(buf);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        buf[--n] = '\0';
    return buf;
}

static void
wipe(char *s)
{
    if (s != NULL) {
        volatile char *v = s;
        while (*v)
            *v++ = '\0';
        free(s);
    }
}

static int
is_imap_url(const char *s)
{
    return strncmp(s, "imaps://", 8) == 0 || strncmp(s, "imap://", 7) == 0;
}

static int
run_import(sift_import_stats *s, sift_ingest *in, sift_store *st,
           const struct opts *o, int keep_failed, struct filing *f)
{
    sift_eval *ev = NULL;
    struct progress p = {0};
    sift_err err;
    int rc;

    sift_err_clear(&err);
    if ((rc = sift_eval_new(&ev, &err)) != SIFT_OK) {
        die_err(&err);
        return EX_IOERR;
    }
    p.show = !o->quiet && isatty(2);
    p.f = f;
    clock_gettime(CLOCK_MONOTONIC, &p.start);
    p.last = p.start;
    rc = sift_import_run_settled(s, in, st, ev, &o->lim, keep_failed,
                                 on_outcome, f ? on_settled : NULL, &p, &err);
    if (p.show)
        fputs("\r\033[K", stderr);
    sift_eval_free(ev);
    if (rc != SIFT_OK) {
        die_err(&err);
        return EX_IOERR;
    }
    return EX_OK;
}

int
cmd_ingest(struct opts *o, int argc, char **argv)
{
    sift_store *st = NULL;
    sift_ingest *in = NULL;
    sift_import_stats s = {0};
    struct filing f = {0};
    char *password = NULL, *token = NULL;
    const char *env;
    sift_err err;
    int i, first, ex, nimap = 0, nlocal = 0, inputs = 0, noinput = 0;
    size_t k;

    if ((ex = parse_opts(o, argc, argv,
                         "db quiet move-to failed-to cacert netrc-file "
                         "password-file oauth2-token-file insecure "
                         "password dns dns-server dns-timeout " KEEP_OPTS,
                         usage_ingest, &first)) != 0)
        return ex;
    if (first >= argc && o->n_sources > 0) {
        /* no INPUT: the configuration file's [ingest] source lines */
        argv = o->sources;
        argc = (int)o->n_sources;
        first = 0;
    }
    if (first >= argc)
        return usage_error(usage_ingest, "%s",
                           "ingest needs at least one INPUT or a configured "
                           "source");
    for (i = first; i < argc; i++) {
        if (is_imap_url(argv[i]))
            nimap++;
        else if ((o->move_to || o->failed_to) && !is_maildir(argv[i]))
            return usage_error(usage_ingest,
                               "--move-to and --failed-to move messages out "
                               "of IMAP mailboxes and Maildir folders; '%s' "
                               "is neither",
                               argv[i]);
        else
            nlocal++;
    }
    if (nimap > 0 && nlocal > 0 && (o->move_to || o->failed_to))
        return usage_error(usage_ingest, "%s",
                           "--move-to names an IMAP folder or a Maildir "
                           "directory: give IMAP URLs or Maildir folders, "
                           "not both");
    if (o->password_file && o->oauth2_token_file)
        return usage_error(usage_ingest, "%s",
                           "--password-file and --oauth2-token-file exclude "
                           "each other");
    sift_err_clear(&err);
    f.o = o;
    f.maildir = nlocal > 0 && (o->move_to || o->failed_to);
    if (nimap > 0) {
        if (o->password_file &&
            (password = read_secret(o->password_file, "password")) == NULL)
            return EX_IOERR;
        if (o->oauth2_token_file &&
            (token = read_secret(o->oauth2_token_file, "token")) == NULL)
            return EX_IOERR;
        if (password == NULL && token == NULL &&
            (env = getenv("DMARCSIFT_IMAP_PASSWORD")) != NULL &&
            env[0] != '\0' && (password = strdup(env)) == NULL)
            return EX_IOERR;
        if ((f.src = calloc((size_t)nimap, sizeof(*f.src))) == NULL) {
            ex = EX_IOERR;
            goto out;
        }
    }
    for (i = 0; f.maildir && i < 2; i++) {
        const char *dir = i == 0 ? o->move_to : o->failed_to;
        if (dir != NULL && make_maildir(dir, &err) != SIFT_OK) {
            die_err(&err);
            ex = EX_IOERR;
            goto out;
        }
    }
    if (sift_ingest_new(&in, &o->lim, &err) != SIFT_OK) {
        die_err(&err);
        ex = EX_IOERR;
        goto out;
    }
    for (i = first; i < argc; i++) {
        if (is_imap_url(argv[i])) {
            inputs++; /* connected to once the database is open */
            continue;
        }
        /* A top-level input that is not there (a typo) or cannot be read
         * is the caller's mistake, not a failed report: named, skipped,
         * nothing kept, exit 66. O_NONBLOCK: a FIFO must not block here. */
        if (strcmp(argv[i], "-") != 0) {
            int fd = open(argv[i], O_RDONLY | O_NONBLOCK | O_CLOEXEC);
            if (fd < 0) {
                fprintf(stderr, "%s: %s: cannot open: %s\n", progname, argv[i],
                        strerror(errno));
                noinput++;
                continue;
            }
            close(fd);
        }
        if (sift_ingest_add_path(in, argv[i], &err) != SIFT_OK) {
            die_err(&err);
            ex = EX_IOERR;
            goto out;
        }
        inputs++;
    }
    if (inputs == 0) { /* nothing to read: no database is created */
        ex = EX_NOINPUT;
        goto out;
    }
    if ((ex = open_store(&st, o, 0)) != EX_OK ||
        (ex = reevaluate_if_behind(st, o->quiet)) != EX_OK)
        goto out;
    f.st = st;
    for (i = first; i < argc; i++) {
        if (!is_imap_url(argv[i]))
            continue;
        if (imap_prepare(&f, &f.src[f.nsrc], in, argv[i], password, token) ==
            SIFT_OK)
            f.nsrc++;
        else
            f.trouble = 1; /* named; the other inputs go on */
    }
    wipe(password);
    wipe(token);
    password = token = NULL;
    if (nimap > 0 && f.nsrc == 0 && inputs == nimap) {
        ex = EX_IOERR;
        goto out;
    }
    /* the database (and its -wal/-shm) may sit inside an ingested folder */
    if (sift_ingest_skip(in, o->db, &err) != SIFT_OK) {
        die_err(&err);
        ex = EX_IOERR;
        goto out;
    }
    ex = run_import(&s, in, st, o, 1, f.nsrc > 0 || f.maildir ? &f : NULL);
    for (k = 0; k < f.nsrc; k++) {
        /* what was settled is moved, even after a lost connection */
        if (sift_imap_status(f.src[k].im, &err) != SIFT_OK) {
            die_err(&err);
            f.trouble = 1;
        }
        if (ex == EX_OK)
            imap_file(&f, &f.src[k]);
    }
    if (!o->quiet)
        print_summary(&s);
    if (o->dns && ex != EX_IOERR) { /* the new sources' names (docs/dns.md) */
        int dx = resolve_sources(st, o);
        if (dx != EX_OK)
            ex = dx;
    }
    if (ex == EX_OK && f.trouble)
        ex = EX_IOERR;
    if (ex == EX_OK && s.failed > 0)
        ex = EX_DATAERR;
    if (ex == EX_OK && noinput > 0)
        ex = EX_NOINPUT;
out:
    wipe(password);
    wipe(token);
    sift_ingest_free(in);
    for (k = 0; k < f.nsrc; k++) {
        sift_imap_close(f.src[k].im);
        uid_free(&f.src[k].left);
        uid_free(&f.src[k].now);
    }
    free(f.src);
    sift_store_close(st);
    return ex;
}

/* --- retry-failed ------------------------------------------------------ */

/* One stored failed input, copied out of the store so that no statement
 * is open while it is re-imported. */
struct failed_row {
    int64_t id;
    char *path, *reason;
    unsigned char *raw;
    size_t len;
};

static int
copy_failed(void *payload, int64_t id, const char *path, const char *reason,
            const void *raw, size_t len)
{
    struct failed_row *r = payload;

    r->id = id;
    r->path = strdup(path);
    r->reason = strdup(reason);
    r->raw = len > 0 ? malloc(len) : NULL;
    r->len = len;
    if (r->path == NULL || r->reason == NULL || (len > 0 && r->raw == NULL))
        return SIFT_ENOMEM;
    if (len > 0)
        memcpy(r->raw, raw, len);
    return 0;
}

static void
free_failed(struct failed_row *r)
{
    free(r->path);
    free(r->reason);
    free(r->raw);
    memset(r, 0, sizeof(*r));
}

static void
add_stats(sift_import_stats *t, const sift_import_stats *s)
{
    t->imported += s->imported;
    t->duplicates += s->duplicates;
    t->conflicts += s->conflicts;
    t->not_reports += s->not_reports;
    t->failure_reports += s->failure_reports;
    t->failed += s->failed;
    t->records += s->records;
    t->messages += s->messages;
}

/* Re-import each stored failed input from its kept bytes, one at a time
 * (memory: one input). Inputs kept without bytes (an unreadable archive
 * entry, one over the size limit) cannot be retried: each gets a line. */
int
cmd_retry(struct opts *o, int argc, char **argv)
{
    sift_store *st = NULL;
    struct failed_row r = {0};
    sift_import_stats total = {0};
    sift_err err;
    int64_t after = 0;
    size_t n = 0;
    int first, ex, rc;

    if ((ex = parse_opts(o, argc, argv, "db quiet " KEEP_OPTS, usage_retry,
                         &first)) != 0)
        return ex;
    if (first < argc)
        return usage_error(usage_retry, "unexpected argument '%s'",
                           argv[first]);
    if ((ex = open_store(&st, o, SIFT_STORE_EXISTING)) != EX_OK)
        return ex;
    if ((ex = reevaluate_if_behind(st, o->quiet)) != EX_OK) {
        sift_store_close(st);
        return ex;
    }
    sift_err_clear(&err);
    while (ex == EX_OK) {
        sift_ingest *in = NULL;
        sift_import_stats s = {0};

        free_failed(&r);
        rc = sift_store_next_failed(st, after, copy_failed, &r, &err);
        if (rc == SIFT_ITEROVER)
            break;
        if (rc != SIFT_OK) {
            if (rc == SIFT_ENOMEM)
                sift_err_set(&err, SIFT_ENOMEM, "out of memory");
            die_err(&err);
            ex = EX_IOERR;
            break;
        }
        after = r.id;
        n++;
        if (r.raw == NULL) {
            fputs("dmarcsift: ", stderr);
            sift_text_safe(stderr, r.path);
            fputs(": cannot retry, its bytes were not kept (", stderr);
            sift_text_safe(stderr, r.reason);
            fputs(")\n", stderr);
            total.failed++;
            continue;
        }
        if (sift_ingest_new(&in, &o->lim, &err) != SIFT_OK ||
            sift_ingest_add_memory(in, r.path, r.raw, r.len, &err) != SIFT_OK) {
            sift_ingest_free(in);
            die_err(&err);
            ex = EX_IOERR;
            break;
        }
        /* The input's reports and the deletion of its failed row commit
         * together: a kill in between leaves neither (never a report
         * both stored and still failed). */
        if (sift_store_hold(st, 1, &err) != SIFT_OK) {
            sift_ingest_free(in);
            die_err(&err);
            ex = EX_IOERR;
            break;
        }
        ex = run_import(&s, in, st, o, 0, NULL);
        sift_ingest_free(in);
        rc = SIFT_OK;
        if (ex == EX_OK && s.failed == 0)
            rc = sift_store_delete_failed(st, r.id, &err);
        if (rc == SIFT_ITEROVER) /* another process resolved it meanwhile */
            rc = SIFT_OK;
        if (ex == EX_OK && rc == SIFT_OK)
            rc = sift_store_hold(st, 0, &err);
        else
            sift_store_hold(st, -1, NULL); /* neither */
        if (ex == EX_OK && rc != SIFT_OK) {
            die_err(&err);
            ex = EX_IOERR;
        }
        add_stats(&total, &s);
    }
    free_failed(&r);
    if (ex == EX_OK && !o->quiet) {
        printf("retried %zu failed %s: ", n, n == 1 ? "input" : "inputs");
        print_summary(&total);
    }
    if (ex == EX_OK && total.failed > 0)
        ex = EX_DATAERR;
    sift_store_close(st);
    return ex;
}
