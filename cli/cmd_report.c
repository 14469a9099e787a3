/* cmd_report.c -- report and export: read the store, write a summary or
 * one row per record. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

#define DNS_HELP_REPORT                                                        \
    "  --dns-server ADDR[:PORT]\n"                                             \
    "                       ask this server (repeatable; implies --dns;\n"     \
    "                       default: the servers of /etc/resolv.conf)\n"       \
    "  --dns-timeout MS     first try of a query (default 2000)\n"

static const char usage_report[] =
    "usage: dmarcsift [--db PATH] report [--domain D] [--reporter ORG]\n"
    "                 [--since DATE] [--until DATE] [--format text|json|csv]\n"
    "                 [--top N] [--all] [--min-messages N]\n"
    "                 [--fail-on-reject N] [--dns] [--dns-server "
    "ADDR[:PORT]]...\n"
    "                 [--dns-timeout MS]\n"
    "\n"
    "A digest per policy domain: a table of the domains, then the senders\n"
    "(services, own servers, forwarders, unknown signers, unauthenticated\n"
    "sources) whose messages would be rejected (550 5.7.1) under p=reject,\n"
    "fail on DNS errors or are reported inconsistently, worst first, with\n"
    "why and what fixes it. The header's time is $SOURCE_DATE_EPOCH when\n"
    "set (reproducible output).\n"
    "\n"
    "  --top N              senders shown per domain (default 10; a sender\n"
    "                       with 5% of a domain's would-reject is always "
    "shown)\n"
    "  --all                every sender, passing ones too\n"
    "  --min-messages N     hide senders with fewer than N messages\n"
    "  --domain D, --reporter ORG  only these (repeat for any of several;\n"
    "                       ASCII case-insensitive)\n"
    "  --since DATE, --until DATE  reports overlapping [since, until); DATE\n"
    "                       is YYYY-MM-DD, YYYY-MM-DDTHH:MM:SS[Z] (UTC) or\n"
    "                       @EPOCH-SECONDS\n"
    "  --fail-on-reject N   exit with status 1 when more than N messages\n"
    "                       would be rejected (for nightly alerts)\n"
    "  --dns                first look up the source addresses' names that\n"
    "                       are not cached (as 'dmarcsift resolve'); without\n"
    "                       it the cached names are shown and nothing is\n"
    "                       looked up\n" DNS_HELP_REPORT;

/* The header's time: $SOURCE_DATE_EPOCH (digits only) or now. */
static int64_t
generated_at(void)
{
    const char *e = getenv("SOURCE_DATE_EPOCH");
    char *end;
    long long v;

    if (e != NULL && *e >= '0' && *e <= '9') {
        errno = 0;
        v = strtoll(e, &end, 10);
        if (*end == '\0' && errno == 0)
            return (int64_t)v;
    }
    return (int64_t)time(NULL);
}

static const char usage_export[] =
    "usage: dmarcsift [--db PATH] export [--format csv|jsonl] [--domain D]\n"
    "                 [--reporter ORG] [--since DATE] [--until DATE] [--dns]\n"
    "                 [--dns-server ADDR[:PORT]]... [--dns-timeout MS]\n"
    "\n"
    "One row per stored record with its report, auth results and verdict.\n"
    "Columns: docs/report.md. Filters as for report: --domain and\n"
    "--reporter repeat for any of several; DATE is YYYY-MM-DD,\n"
    "YYYY-MM-DDTHH:MM:SS[Z] (UTC) or @EPOCH-SECONDS. The columns ptr,\n"
    "ptr_unconfirmed and ptr_org are the source's cached name (resolve).\n"
    "\n"
    "  --dns                first look up the names that are not cached\n"
    "                       (as 'dmarcsift resolve')\n" DNS_HELP_REPORT;

static int
report_or_export(struct opts *o, int argc, char **argv, int export)
{
    const char *usage = export ? usage_export : usage_report;
    sift_store *st = NULL;
    sift_report_totals tot = {0};
    sift_format fmt = SIFT_FMT_TEXT;
    sift_err err;
    int first, ex, rc;

    ex = parse_opts(o, argc, argv,
                    export ? "db domain reporter since until format "
                             "dns dns-server dns-timeout"
                           : "db domain reporter since until format "
                             "fail-on-reject top all min-messages "
                             "dns dns-server dns-timeout",
                    usage, &first);
    if (ex != 0)
        return ex;
    if (first < argc)
        return usage_error(usage, "unexpected argument '%s'", argv[first]);
    if (o->format == NULL)
        o->format = export ? "csv" : "text";
    if ((ex = parse_format(&fmt, o->format,
                           export ? "csv jsonl" : "text json csv", usage)))
        return ex;
    /* verdicts written by an older evaluation are recomputed first */
    if ((ex = reevaluate_path_if_behind(o)) != EX_OK)
        return ex;
    if (o->dns) { /* names first, on a writer of its own (docs/dns.md) */
        if ((ex = open_store(&st, o, SIFT_STORE_EXISTING)) != EX_OK)
            return ex;
        ex = resolve_sources(st, o);
        sift_store_close(st);
        st = NULL;
        if (ex != EX_OK)
            return ex;
    }
    if ((ex = open_store(
             &st, o, SIFT_STORE_READONLY | (export ? 0 : SIFT_STORE_SCAN))) !=
        EX_OK)
        return ex;
    sift_err_clear(&err);
    o->report.generated_at = generated_at();
    o->report.owner = o->owner; /* [owner] and [senders] of the config */
    rc = export ? sift_export_write(stdout, st, &o->filter, fmt, &err)
                : sift_report_write(stdout, &tot, st, &o->filter, &o->report,
                                    fmt, &err);
    sift_store_close(st);
    if (rc == SIFT_OK && fflush(stdout) != 0)
        rc = sift_err_sys(&err, "stdout: write failed");
    if (rc != SIFT_OK) {
        die_err(&err);
        return exit_for(rc);
    }
    if (!export && o->fail_on_reject >= 0 &&
        tot.would_reject > (uint64_t)o->fail_on_reject) {
        fprintf(stderr,
                "dmarcsift: %" PRIu64 " messages would be rejected under "
                "p=reject, over the --fail-on-reject threshold of %lld\n",
                tot.would_reject, (long long)o->fail_on_reject);
        return EX_THRESHOLD;
    }
    return EX_OK;
}

int
cmd_report(struct opts *o, int argc, char **argv)
{
    return report_or_export(o, argc, argv, 0);
}

int
cmd_export(struct opts *o, int argc, char **argv)
{
    return report_or_export(o, argc, argv, 1);
}
