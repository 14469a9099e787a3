/* cmd_report.c -- report and export: read the store, write a summary or
 * one row per record. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
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
    "                 [--since DATE] [--until DATE]\n"
    "                 [--format text|json|csv|html] [--by day|week]\n"
    "                 [--top N] [--all] [--min-messages N] [--max-sources N]\n"
    "                 [--fail-on-reject N|N%] [--fail-on-new] [--dns]\n"
    "                 [--dns-server ADDR[:PORT]]... [--dns-timeout MS]\n"
    "\n"
    "A digest per policy domain: a table of the domains, then the senders\n"
    "(services, own servers, forwarders, unknown signers, unauthenticated\n"
    "sources) whose messages would be rejected (550 5.7.1) under p=reject,\n"
    "fail on DNS errors or are reported inconsistently, worst first, with\n"
    "why and what fixes it; per domain the would-reject trend, silent\n"
    "reporters and whether it is ready for p=quarantine or p=reject.\n"
    "Senders first seen inside --since..--until are marked NEW. \"Now\"\n"
    "(silence, readiness) is --until when given, else the generation\n"
    "time: $SOURCE_DATE_EPOCH when set (reproducible output).\n"
    "\n"
    "  --top N              senders shown per domain (default 10; a sender\n"
    "                       with 5% of a domain's would-reject is always "
    "shown)\n"
    "  --all                every sender, passing ones too\n"
    "  --min-messages N     hide senders with fewer than N messages\n"
    "  --max-sources N      (domain, source IP) rows held (default 100000,\n"
    "                       at most 4000000); past it the sources with the\n"
    "                       fewest messages are counted together per\n"
    "                       domain as \"other sources\" (totals stay exact)\n"
    "  --domain D, --reporter ORG  only these (repeat for any of several;\n"
    "                       ASCII case-insensitive)\n"
    "  --since DATE, --until DATE  reports overlapping [since, until); DATE\n"
    "                       is YYYY-MM-DD, YYYY-MM-DDTHH:MM:SS[Z] (UTC) or\n"
    "                       @EPOCH-SECONDS\n"
    "  --format html        one self-contained page (charts, readiness)\n"
    "  --by day|week        json and csv: per-day or per-week series per\n"
    "                       domain and sender\n"
    "  --fail-on-reject N   exit with status 1 when more than N messages\n"
    "                       would be rejected (for nightly alerts); N% when\n"
    "                       more than N percent of a domain's messages would\n"
    "                       be rejected\n"
    "  --fail-on-new        exit with status 1 when a NEW sender would be\n"
    "                       rejected\n"
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

/* The text digest may use UTF-8 (the trend's sparkline) when the locale
 * says so: the first of LC_ALL, LC_CTYPE, LANG that is set. */
static int
utf8_locale(void)
{
    static const char *const vars[] = {"LC_ALL", "LC_CTYPE", "LANG"};
    size_t i;

    for (i = 0; i < 3; i++) {
        const char *v = getenv(vars[i]);
        if (v == NULL || v[0] == '\0')
            continue;
        for (; *v; v++)
            if (strncasecmp(v, "utf-8", 5) == 0 ||
                strncasecmp(v, "utf8", 4) == 0)
                return 1;
        return 0;
    }
    return 0;
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
                             "fail-on-reject top all min-messages by "
                             "max-sources fail-on-new dns dns-server "
                             "dns-timeout",
                    usage, &first);
    if (ex != 0)
        return ex;
    if (first < argc)
        return usage_error(usage, "unexpected argument '%s'", argv[first]);
    if (o->format == NULL)
        o->format = export ? "csv" : "text";
    if ((ex = parse_format(&fmt, o->format,
                           export ? "csv jsonl" : "text json csv html", usage)))
        return ex;
    if (o->report.by && fmt != SIFT_FMT_JSON && fmt != SIFT_FMT_CSV)
        return usage_error(usage, "--by needs --format json or csv");
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
    /* verdicts of another evaluation than this build's: say so */
    if ((ex = eval_warn(st, o)) != EX_OK) {
        sift_store_close(st);
        return ex;
    }
    sift_err_clear(&err);
    o->report.generated_at = generated_at();
    o->report.owner = o->owner; /* [owner] and [senders] of the config */
    o->report.utf8 = utf8_locale();
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
    if (export)
        return EX_OK;
    ex = EX_OK;
    if (o->fail_on_reject >= 0 &&
        tot.would_reject > (uint64_t)o->fail_on_reject) {
        fprintf(stderr,
                "dmarcsift: %" PRIu64 " messages would be rejected under "
                "p=reject, over the --fail-on-reject threshold of %lld\n",
                tot.would_reject, (long long)o->fail_on_reject);
        ex = EX_THRESHOLD;
    }
    /* the worst domain's share against N% (thousandths of a percent) */
    if (o->fail_on_reject_pm >= 0 && tot.worst_messages > 0 &&
        (__extension__(unsigned __int128) tot.worst_would_reject * 100000 >
         (__extension__(unsigned __int128) tot.worst_messages *
          (unsigned long long)o->fail_on_reject_pm))) {
        fputs("dmarcsift: ", stderr);
        sift_text_safe(stderr, tot.worst_domain);
        char frac[8] = "";
        long long f = o->fail_on_reject_pm % 1000;
        int dec = 3;
        if (f != 0) { /* ".5", ".25", ".125" as given */
            for (; f % 10 == 0; f /= 10)
                dec--;
            snprintf(frac, sizeof(frac), ".%0*lld", dec, f);
        }
        fprintf(stderr,
                ": %" PRIu64 " of %" PRIu64 " messages would be rejected "
                "under p=reject, over the --fail-on-reject threshold of "
                "%lld%s%%\n",
                tot.worst_would_reject, tot.worst_messages,
                o->fail_on_reject_pm / 1000, frac);
        ex = EX_THRESHOLD;
    }
    if (o->fail_on_new && tot.new_rejecting > 0) {
        fprintf(stderr,
                "dmarcsift: %" PRIu64 " NEW %s would be rejected under "
                "p=reject (--fail-on-new)\n",
                tot.new_rejecting,
                plural(tot.new_rejecting, "sender", "senders"));
        ex = EX_THRESHOLD;
    }
    return ex;
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
