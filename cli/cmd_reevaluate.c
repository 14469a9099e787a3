/* cmd_reevaluate.c -- `dmarcsift reevaluate`: recompute every stored
 * verdict with this build's evaluation (docs/report.md "Stored verdicts").
 * ingest, retry-failed and report run it themselves when the database's
 * evaluation version is behind SIFT_EVAL_VERSION. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static const char usage_reevaluate[] =
    "usage: dmarcsift [--db PATH] reevaluate [--quiet]\n"
    "\n"
    "Recompute the stored verdicts (would-reject, categories, senders) of\n"
    "every record with this version's evaluation. Runs by itself when a\n"
    "database was written by an older dmarcsift; needs write access.\n"
    "Shows progress on a terminal.\n";

struct progress {
    int tty;
};

static void
on_progress(void *payload, uint64_t done, uint64_t total)
{
    const struct progress *p = payload;
    char a[32], b[32];

    if (!p->tty)
        return;
    fprintf(stderr,
            "\rdmarcsift: reevaluating: %s of %s records (%" PRIu64 "%%)",
            sift_fmt_thousands(a, sizeof(a), done),
            sift_fmt_thousands(b, sizeof(b), total),
            total ? done * 100 / total : 100);
    fflush(stderr);
}

/* Recompute on st (a writer). Prints one line when quiet is 0. */
static int
reevaluate(sift_store *st, int from, int quiet)
{
    struct progress p = {isatty(STDERR_FILENO)};
    uint64_t done = 0;
    char a[32];
    sift_err err;
    int rc;

    sift_err_clear(&err);
    rc = sift_reevaluate(st, &done, quiet ? NULL : on_progress, &p, &err);
    if (p.tty && !quiet)
        fputc('\n', stderr);
    if (rc != SIFT_OK) {
        die_err(&err);
        return exit_for(rc);
    }
    if (!quiet && done > 0)
        fprintf(stderr,
                "dmarcsift: reevaluated %s %s (evaluation version %d -> "
                "%d)\n",
                sift_fmt_thousands(a, sizeof(a), done),
                plural(done, "record", "records"), from, SIFT_EVAL_VERSION);
    return EX_OK;
}

int
reevaluate_if_behind(sift_store *st, int quiet)
{
    sift_err err;
    int v = 0;

    sift_err_clear(&err);
    if (sift_store_eval_version(st, &v, &err) != SIFT_OK) {
        die_err(&err);
        return EX_IOERR;
    }
    if (v >= SIFT_EVAL_VERSION)
        return EX_OK;
    return reevaluate(st, v, quiet);
}

int
reevaluate_path_if_behind(const struct opts *o)
{
    sift_store *st = NULL;
    sift_err err;
    int v = 0, ex;

    /* a quick look with a reader; a writer only when there is work (or a
     * schema upgrade, which a reader cannot do) */
    sift_err_clear(&err);
    if (db_special(o->db) != NULL) /* the caller's open_store() says so */
        return EX_OK;
    if (sift_store_open(&st, o->db, SIFT_STORE_READONLY, &err) == SIFT_OK) {
        ex = sift_store_eval_version(st, &v, &err);
        sift_store_close(st);
        if (ex != SIFT_OK || v >= SIFT_EVAL_VERSION)
            return EX_OK;
    }
    /* never create a file here (a server database exists once open) */
    if (!sift_store_is_uri(o->db) && access(o->db, F_OK) != 0)
        return EX_OK;
    sift_err_clear(&err);
    if (sift_store_open(&st, o->db, 0, &err) != SIFT_OK) {
        /* no writer (a read-only file): report what is stored, and say
         * that it is stale; a database that cannot be opened at all is
         * the caller's open to report */
        if (v > 0 || strstr(err.msg, "read-only") != NULL) {
            char *shown = sift_store_display_name(o->db);
            fprintf(stderr,
                    "dmarcsift: %s: verdicts were written by an older "
                    "evaluation (version %d, this build has %d): run "
                    "'dmarcsift reevaluate' with write access\n",
                    shown ? shown : "database", v, SIFT_EVAL_VERSION);
            free(shown);
        }
        return EX_OK;
    }
    ex = reevaluate_if_behind(st, o->quiet);
    sift_store_close(st);
    return ex;
}

int
cmd_reevaluate(struct opts *o, int argc, char **argv)
{
    sift_store *st = NULL;
    sift_err err;
    int first, ex, v = 0;

    if ((ex = parse_opts(o, argc, argv, "db quiet", usage_reevaluate,
                         &first)) != 0)
        return ex;
    if (first < argc)
        return usage_error(usage_reevaluate, "unexpected argument '%s'",
                           argv[first]);
    if ((ex = open_store(&st, o, 0)) != EX_OK)
        return ex;
    sift_err_clear(&err);
    if (sift_store_eval_version(st, &v, &err) != SIFT_OK) {
        die_err(&err);
        sift_store_close(st);
        return EX_IOERR;
    }
    ex = reevaluate(st, v, o->quiet);
    sift_store_close(st);
    return ex;
}
