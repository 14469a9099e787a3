/* cmd_db.c -- stats and prune: what the database holds, and keeping it
 * small. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

static const char usage_stats[] =
    "usage: dmarcsift [--db PATH] stats [--format text|json]\n";

static const char usage_prune[] =
    "usage: dmarcsift [--db PATH] prune --before DATE\n"
    "\n"
    "Delete reports whose date range ended before DATE, with their records,\n"
    "and failed inputs last seen before DATE.\n";

int
cmd_stats(struct opts *o, int argc, char **argv)
{
    struct eval_mix m;
    sift_store *st = NULL;
    sift_stats s;
    sift_err err;
    char t1[32], t2[32], a[32], b[32], c[32];
    int first, ex, json, i;

    if ((ex = parse_opts(o, argc, argv, "db format", usage_stats, &first)))
        return ex;
    if (first < argc)
        return usage_error(usage_stats, "unexpected argument '%s'",
                           argv[first]);
    json = o->format && strcmp(o->format, "json") == 0;
    if (o->format && !json && strcmp(o->format, "text") != 0)
        return usage_error(usage_stats, "unknown format '%s'", o->format);
    if ((ex = open_store(&st, o, SIFT_STORE_READONLY)) != EX_OK)
        return ex;
    sift_err_clear(&err);
    if (sift_store_stats(&s, st, &err) != SIFT_OK) {
        sift_store_close(st);
        die_err(&err);
        return EX_IOERR;
    }
    /* the evaluation versions, shown only when some differ from this
     * build's (hosts of different builds on one database) */
    ex = eval_mix_read(&m, st, NULL);
    sift_store_close(st);
    if (ex != EX_OK)
        return ex;
    if (s.reports) {
        sift_fmt_time(t1, sizeof(t1), s.first_begin);
        sift_fmt_time(t2, sizeof(t2), s.last_end);
    }
    if (json) {
        printf("{\"reports\": %" PRIu64 ", \"records\": %" PRIu64
               ", \"messages\": %" PRIu64 ", \"reporters\": %" PRIu64
               ", \"domains\": %" PRIu64 ", \"first\": ",
               s.reports, s.records, s.messages, s.reporters, s.domains);
        sift_json_str(stdout, s.reports ? t1 : NULL);
        fputs(", \"last\": ", stdout);
        sift_json_str(stdout, s.reports ? t2 : NULL);
        printf(", \"failed_inputs\": %" PRIu64 ", \"conflicts\": %" PRIu64,
               s.failed_inputs, s.conflicts);
        if (eval_mix_differs(&m)) {
            fputs(", \"evaluation_versions\": [", stdout);
            for (i = 0; i < m.n; i++)
                printf("%s{\"version\": %d, \"reports\": %" PRIu64 "}",
                       i ? ", " : "", m.v[i].version, m.v[i].reports);
            printf("], \"build_evaluation_version\": %d", SIFT_EVAL_VERSION);
        }
        fputs("}\n", stdout);
    } else {
        printf("reports:        %s\n",
               sift_fmt_thousands(a, sizeof(a), s.reports));
        printf("records:        %s\n",
               sift_fmt_thousands(b, sizeof(b), s.records));
        printf("messages:       %s\n",
               sift_fmt_thousands(c, sizeof(c), s.messages));
        printf("reporters:      %" PRIu64 "\n", s.reporters);
        printf("policy domains: %" PRIu64 "\n", s.domains);
        printf("date range:     %s .. %s\n", s.reports ? t1 : "-",
               s.reports ? t2 : "-");
        printf("failed inputs:  %" PRIu64 "\n", s.failed_inputs);
        printf("conflicts:      %" PRIu64 "\n", s.conflicts);
        if (eval_mix_differs(&m)) {
            fputs("evaluation:     ", stdout);
            eval_mix_print(stdout, &m);
            printf("; this build has %d\n", SIFT_EVAL_VERSION);
        }
    }
    return EX_OK;
}

int
cmd_prune(struct opts *o, int argc, char **argv)
{
    sift_store *st = NULL;
    uint64_t n = 0, nf = 0;
    int64_t before;
    sift_err err;
    int first, ex;

    if ((ex =
             parse_opts(o, argc, argv, "db before quiet", usage_prune, &first)))
        return ex;
    if (first < argc)
        return usage_error(usage_prune, "unexpected argument '%s'",
                           argv[first]);
    if (o->before == NULL)
        return usage_error(usage_prune, "%s", "prune needs --before DATE");
    sift_err_clear(&err);
    if (sift_parse_date(&before, o->before, &err))
        return usage_error(usage_prune, "%s", err.msg);
    if ((ex = open_store(&st, o, SIFT_STORE_EXISTING)) != EX_OK)
        return ex;
    if (sift_store_prune(&n, &nf, st, before, &err) != SIFT_OK) {
        sift_store_close(st);
        die_err(&err);
        return EX_IOERR;
    }
    sift_store_close(st);
    if (!o->quiet)
        printf("pruned %" PRIu64 " %s that ended before %s and %" PRIu64
               " failed %s last seen before it\n",
               n, plural(n, "report", "reports"), o->before, nf,
               plural(nf, "input", "inputs"));
    return EX_OK;
}
