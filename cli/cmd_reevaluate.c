/* cmd_reevaluate.c -- `dmarcsift reevaluate`: recompute the stored
 * verdicts of older evaluations with this build's (docs/report.md "Stored
 * verdicts"). ingest, retry-failed and report run it themselves when a
 * stored report's evaluation version is behind SIFT_EVAL_VERSION; stats
 * and report show versions that differ from this build's (hosts of
 * different builds on one database, docs/scaling.md). */
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
    "the reports written by an older evaluation with this version's.\n"
    "Runs by itself when a database holds such reports; needs write\n"
    "access. Reports of a newer dmarcsift are left alone. Shows progress\n"
    "on a terminal.\n";

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

/* Recompute on st (a writer): the reports below this build's version,
 * redo != 0: and those of this version. Prints one line when quiet is
 * 0. */
static int
reevaluate(sift_store *st, int redo, int from, int quiet)
{
    struct progress p = {isatty(STDERR_FILENO)};
    uint64_t done = 0;
    char a[32];
    sift_err err;
    int rc;

    sift_err_clear(&err);
    rc = sift_reevaluate(st, redo, &done, quiet ? NULL : on_progress, &p, &err);
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

static int
on_version(void *payload, int version, uint64_t reports, uint64_t records)
{
    struct eval_mix *m = payload;

    (void)records;
    if (m->n == 0 || version < m->min)
        m->min = version;
    if (m->n == 0 || version > m->max)
        m->max = version;
    if (m->n < EVAL_MIX_MAX) {
        m->v[m->n].version = version;
        m->v[m->n].reports = reports;
        m->n++;
    } else {
        m->more = 1;
    }
    return 0;
}

int
eval_mix_read(struct eval_mix *m, sift_store *st, const sift_filter *f)
{
    sift_err err;

    memset(m, 0, sizeof(*m));
    sift_err_clear(&err);
    if (sift_report_eval_versions(st, f, on_version, m, &err) != SIFT_OK) {
        die_err(&err);
        return EX_IOERR;
    }
    return EX_OK;
}

int
eval_mix_differs(const struct eval_mix *m)
{
    return m->n > 1 || (m->n == 1 && m->min != SIFT_EVAL_VERSION);
}

void
eval_mix_print(FILE *fp, const struct eval_mix *m)
{
    char a[32];
    int i;

    for (i = 0; i < m->n; i++)
        fprintf(fp, "%s%d (%s %s)", i ? ", " : "", m->v[i].version,
                sift_fmt_thousands(a, sizeof(a), m->v[i].reports),
                plural(m->v[i].reports, "report", "reports"));
    if (m->more)
        fputs(", ...", fp);
}

int
eval_warn(sift_store *st, const struct opts *o)
{
    struct eval_mix m;
    char *shown;
    int ex;

    if ((ex = eval_mix_read(&m, st, &o->filter)) != EX_OK)
        return ex;
    if (!eval_mix_differs(&m))
        return EX_OK;
    shown = sift_store_display_name(o->db); /* no password */
    fprintf(stderr,
            "%s: %s: the verdicts of these reports come from evaluation %s ",
            progname, shown ? shown : "database",
            m.n > 1 ? "versions" : "version");
    free(shown);
    eval_mix_print(stderr, &m);
    fprintf(stderr, "; this build has %d: run 'dmarcsift reevaluate' ",
            SIFT_EVAL_VERSION);
    if (m.max > SIFT_EVAL_VERSION)
        fprintf(stderr, "with the newest dmarcsift (evaluation version %d)\n",
                m.max);
    else
        fputs("with write access\n", stderr);
    return EX_OK;
}

int
reevaluate_if_behind(sift_store *st, int quiet)
{
    struct eval_mix m;
    int ex;

    if ((ex = eval_mix_read(&m, st, NULL)) != EX_OK)
        return ex;
    if (m.n == 0 || m.min >= SIFT_EVAL_VERSION)
        return EX_OK;
    return reevaluate(st, 0, m.min, quiet);
}

int
reevaluate_path_if_behind(const struct opts *o)
{
    struct eval_mix m;
    sift_store *st = NULL;
    sift_err err;
    int ex;

    /* a quick look with a reader; a writer only when there is work (or a
     * schema upgrade, which a reader cannot do) */
    sift_err_clear(&err);
    if (db_special(o->db) != NULL) /* the caller's open_store() says so */
        return EX_OK;
    if (sift_store_open(&st, o->db, SIFT_STORE_READONLY, &err) == SIFT_OK) {
        sift_err_clear(&err);
        memset(&m, 0, sizeof(m));
        ex = sift_store_eval_versions(st, NULL, on_version, &m, &err);
        sift_store_close(st);
        if (ex != SIFT_OK || m.n == 0 || m.min >= SIFT_EVAL_VERSION)
            return EX_OK;
    }
    /* never create a file here (a server database exists once open) */
    if (!sift_store_is_uri(o->db) && access(o->db, F_OK) != 0)
        return EX_OK;
    sift_err_clear(&err);
    /* no writer (a read-only file): the caller reports what is stored,
     * and eval_warn() says that it is stale; a database that cannot be
     * opened at all is the caller's open to report */
    if (sift_store_open(&st, o->db, 0, &err) != SIFT_OK)
        return EX_OK;
    ex = reevaluate_if_behind(st, o->quiet);
    sift_store_close(st);
    return ex;
}

int
cmd_reevaluate(struct opts *o, int argc, char **argv)
{
    struct eval_mix m;
    sift_store *st = NULL;
    uint64_t newer = 0;
    char a[32];
    int first, ex, i;

    if ((ex = parse_opts(o, argc, argv, "db quiet", usage_reevaluate,
                         &first)) != 0)
        return ex;
    if (first < argc)
        return usage_error(usage_reevaluate, "unexpected argument '%s'",
                           argv[first]);
    if ((ex = open_store(&st, o, 0)) != EX_OK)
        return ex;
    if ((ex = eval_mix_read(&m, st, NULL)) == EX_OK)
        ex = reevaluate(st, 1, m.n ? m.min : SIFT_EVAL_VERSION, o->quiet);
    /* a newer build's reports are left alone: say who can redo them */
    for (i = 0; i < m.n; i++)
        if (m.v[i].version > SIFT_EVAL_VERSION)
            newer += m.v[i].reports;
    if (ex == EX_OK && newer > 0) {
        char *shown = sift_store_display_name(o->db); /* no password */
        fprintf(stderr,
                "%s: %s: left %s %s of a newer evaluation alone (version "
                "%d, this build has %d): run 'dmarcsift reevaluate' with the "
                "newest dmarcsift\n",
                progname, shown ? shown : "database",
                sift_fmt_thousands(a, sizeof(a), newer),
                plural(newer, "report", "reports"), m.max, SIFT_EVAL_VERSION);
        free(shown);
    }
    sift_store_close(st);
    return ex;
}
