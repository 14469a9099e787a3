/* cmd_inspect.c -- inspect: parse without storing, JSON Lines out. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

static const char usage_inspect[] =
    "usage: dmarcsift inspect [LIMITS] INPUT...\n"
    "\n"
    "Parse reports without storing them and print one JSON object per report\n"
    "(JSON Lines) on stdout. Keys: docs/inspect.md.\n"
    "\n" LIMITS_HELP;

int
cmd_inspect(struct opts *o, int argc, char **argv)
{
    sift_ingest *in = NULL;
    const sift_item *it;
    sift_err err;
    int i, first, ex, rc, failed = 0;

    if ((ex = parse_opts(o, argc, argv, LIMIT_OPTS, usage_inspect, &first)) !=
        0)
        return ex;
    if (first >= argc)
        return usage_error(usage_inspect, "%s",
                           "inspect needs at least one INPUT");
    sift_err_clear(&err);
    if (sift_ingest_new(&in, &o->lim, &err) != SIFT_OK) {
        die_err(&err);
        return EX_IOERR;
    }
    for (i = first; i < argc; i++)
        if (sift_ingest_add_path(in, argv[i], &err) != SIFT_OK) {
            die_err(&err);
            sift_ingest_free(in);
            return EX_IOERR;
        }
    while ((rc = sift_ingest_next(in, &it, &err)) == SIFT_OK) {
        sift_err why;
        int xrc = SIFT_OK;
        sift_err_clear(&why);
        if (it->kind == SIFT_ITEM_FAILED) {
            /* the JSON Lines still show every report candidate */
            char msg[sizeof(why.where) + sizeof(why.msg) + 4];
            why = it->err;
            sift_err_where(&why, it->path);
            snprintf(msg, sizeof(msg), "%s: %s", why.where, why.msg);
            fputs("{\"input\":", stdout);
            sift_json_str(stdout, it->path);
            fputs(",\"error\":", stdout);
            sift_json_str(stdout, msg);
            fputs("}\n", stdout);
        } else if (it->kind != SIFT_ITEM_REPORT ||
                   (xrc = sift_xml_inspect(stdout, it->reader, &o->lim,
                                           &why)) == SIFT_OK ||
                   xrc == SIFT_ENOTREPORT) {
            continue;
        }
        sift_err_where(&why, it->path);
        fflush(stdout);
        die_err(&why);
        failed++;
    }
    sift_ingest_free(in);
    if (rc != SIFT_ITEROVER) {
        die_err(&err);
        return EX_IOERR;
    }
    if (fflush(stdout) != 0) {
        fprintf(stderr, "%s: stdout: write failed\n", progname);
        return EX_IOERR;
    }
    return failed ? EX_DATAERR : EX_OK;
}
