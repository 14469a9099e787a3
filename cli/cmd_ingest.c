/* cmd_ingest.c -- ingest and retry-failed: inputs -> import -> store,
 * with a progress line on a terminal and one summary line. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

static const char usage_ingest[] =
    "usage: dmarcsift [--db PATH] ingest [--quiet] [LIMITS] [INPUT...]\n"
    "\n"
    "Store every DMARC aggregate report found in INPUT (file, directory,\n"
    "mbox, Maildir, .eml, .xml, .xml.gz, .zip, .tar, .tar.gz, .tar.xz,\n"
    ".tar.bz2, .xz, .bz2, or - for stdin). Kinds are recognised by\n"
    "content. Reports already stored are counted as\n"
    "duplicates. Each input that cannot be used is named on stderr and kept\n"
    "in the database (see retry-failed and failed list); a kept failure is\n"
    "resolved when the same input later imports. In a Maildir, tmp/ and\n"
    "the mail server's index files are skipped; so is the database itself\n"
    "when it sits in an ingested folder. An INPUT that does not exist or\n"
    "cannot be read is named and skipped, nothing is kept for it, and the\n"
    "run exits 66 (65 when something else failed too). Without INPUT, the\n"
    "'source =' lines of the configuration file's [ingest] section are\n"
    "read.\n"
    "\n"
    "  -q, --quiet               no progress and no summary line\n"
    "\n" LIMITS_HELP;

static const char usage_retry[] =
    "usage: dmarcsift [--db PATH] retry-failed [--quiet] [LIMITS]\n"
    "\n"
    "Re-parse the stored inputs that failed; those that now succeed are\n"
    "stored and removed from the failed list in one transaction (raise a\n"
    "limit to retry inputs that were over it). Inputs kept without their\n"
    "bytes cannot be retried: ingest them again, or 'failed forget' them.\n"
    "\n" LIMITS_HELP;

/* --- ingest ------------------------------------------------------------ */

struct progress {
    int show;
    unsigned long long units;
    struct timespec start, last;
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
        snprintf(line, sizeof(line),
                 "%llu inputs, %" PRIu64 " records, %.0f records/s", p->units,
                 s->records, t > 0 ? (double)s->records / t : 0.0);
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

static int
run_import(sift_import_stats *s, sift_ingest *in, sift_store *st,
           const struct opts *o, int keep_failed)
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
    clock_gettime(CLOCK_MONOTONIC, &p.start);
    p.last = p.start;
    rc = sift_import_run(s, in, st, ev, &o->lim, keep_failed, on_outcome, &p,
                         &err);
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
    sift_err err;
    int i, first, ex, inputs = 0, noinput = 0;

    if ((ex = parse_opts(o, argc, argv, "db quiet " LIMIT_OPTS, usage_ingest,
                         &first)) != 0)
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
    sift_err_clear(&err);
    if (sift_ingest_new(&in, &o->lim, &err) != SIFT_OK) {
        die_err(&err);
        return EX_IOERR;
    }
    for (i = first; i < argc; i++) {
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
    /* the database (and its -wal/-shm) may sit inside an ingested folder */
    if (sift_ingest_skip(in, o->db, &err) != SIFT_OK) {
        die_err(&err);
        ex = EX_IOERR;
        goto out;
    }
    ex = run_import(&s, in, st, o, 1);
    if (!o->quiet)
        print_summary(&s);
    if (ex == EX_OK && s.failed > 0)
        ex = EX_DATAERR;
    if (ex == EX_OK && noinput > 0)
        ex = EX_NOINPUT;
out:
    sift_ingest_free(in);
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

    if ((ex = parse_opts(o, argc, argv, "db quiet " LIMIT_OPTS, usage_retry,
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
        ex = run_import(&s, in, st, o, 0);
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
