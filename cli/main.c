/* main.c -- the dmarcsift command line: argv -> options -> library calls.
 *
 * The only file that prints to stdout/stderr or chooses an exit status.
 * Exit status (sysexits): 0 success; 1 --fail-on-reject threshold passed;
 * 64 usage; 65 some input could not be parsed (the others were stored);
 * 74 I/O or database error. Errors are one line on stderr:
 * "dmarcsift: <input>: <what is wrong>". */
#include <getopt.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sift_import.h"
#include "sift_json.h"
#include "sift_util.h"
#include "sift_xml.h"

#define EX_OK 0
#define EX_THRESHOLD 1
#define EX_USAGE 64
#define EX_DATAERR 65
#define EX_IOERR 74

static const char *progname = "dmarcsift";

static const char usage_main[] =
    "usage: dmarcsift [--db PATH] COMMAND [OPTIONS] [ARGS]\n"
    "\n"
    "DMARC aggregate report (rua) processor: stores reports in SQLite and\n"
    "explains which senders would be rejected (550 5.7.1) under p=reject.\n"
    "\n"
    "commands:\n"
    "  ingest INPUT...     store reports from files, directories, mbox,\n"
    "                      Maildir, .eml, .xml/.gz/.zip, or - for stdin\n"
    "  inspect INPUT...    parse without storing; one JSON object per report\n"
    "  report              failure summary: who would be rejected, why, fix\n"
    "  export              one row per stored record (csv or jsonl)\n"
    "  stats               what the database holds\n"
    "  prune --before DATE delete reports that ended before DATE\n"
    "  retry-failed        re-parse the stored inputs that failed\n"
    "\n"
    "options:\n"
    "  --db PATH           database (default: $DMARCSIFT_DB, else ./dmarcsift.db)\n"
    "  -h, --help          help (also: dmarcsift COMMAND --help)\n"
    "  -V, --version       print the version\n"
    "\n"
    "exit status: 0 ok, 1 --fail-on-reject threshold passed, 64 usage error,\n"
    "65 some input could not be parsed, 74 i/o or database error\n";

#define LIMIT_OPTS "max-report-size max-input-size max-depth max-entries"
#define LIMITS_HELP                                                            \
    "limits (a bad input over one fails alone; sizes take K, M, G):\n"        \
    "  --max-report-size SIZE    decompressed XML per report (default 1G)\n" \
    "  --max-input-size SIZE     one message, MIME part or kept failed input\n" \
    "                            held in memory (default 256M)\n"            \
    "  --max-depth N             nested containers, eml > zip > gz (default 8)\n" \
    "  --max-entries N           zip entries or MIME parts per container\n"  \
    "                            (default 10000)\n"

static const char usage_ingest[] =
    "usage: dmarcsift [--db PATH] ingest [--quiet] [LIMITS] INPUT...\n"
    "\n"
    "Store every DMARC aggregate report found in INPUT (file, directory,\n"
    "mbox, Maildir, .eml, .xml, .xml.gz, .zip, or - for stdin). Kinds are\n"
    "recognised by content. Reports already stored are counted as\n"
    "duplicates. Each input that cannot be used is named on stderr and kept\n"
    "in the database (see retry-failed).\n"
    "\n"
    "  -q, --quiet               no progress and no summary line\n"
    "\n" LIMITS_HELP;

static const char usage_inspect[] =
    "usage: dmarcsift inspect [LIMITS] INPUT...\n"
    "\n"
    "Parse reports without storing them and print one JSON object per report\n"
    "(JSON Lines) on stdout. Keys: docs/inspect.md.\n"
    "\n" LIMITS_HELP;

static const char usage_report[] =
    "usage: dmarcsift [--db PATH] report [--domain D] [--reporter ORG]\n"
    "                 [--since DATE] [--until DATE] [--format text|json|csv]\n"
    "                 [--fail-on-reject N]\n"
    "\n"
    "Per policy domain and source IP: messages, DMARC failures, and the\n"
    "messages that would be rejected (550 5.7.1) under p=reject, why, and\n"
    "what fixes it. DATE is YYYY-MM-DD (UTC).\n"
    "\n"
    "  --fail-on-reject N   exit with status 1 when more than N messages\n"
    "                       would be rejected (for nightly alerts)\n";

static const char usage_export[] =
    "usage: dmarcsift [--db PATH] export [--format csv|jsonl] [--domain D]\n"
    "                 [--reporter ORG] [--since DATE] [--until DATE]\n"
    "\n"
    "One row per stored record with its report, auth results and verdict.\n"
    "Columns: docs/report.md.\n";

static const char usage_stats[] =
    "usage: dmarcsift [--db PATH] stats [--format text|json]\n";

static const char usage_prune[] =
    "usage: dmarcsift [--db PATH] prune --before DATE\n"
    "\n"
    "Delete reports whose date range ended before DATE, with their records.\n";

static const char usage_retry[] =
    "usage: dmarcsift [--db PATH] retry-failed [--quiet] [LIMITS]\n"
    "\n"
    "Re-parse the stored inputs that failed; those that now succeed are\n"
    "stored and removed from the failed list (raise a limit to retry\n"
    "inputs that were over it).\n"
    "\n" LIMITS_HELP;

/* Options shared by the commands; each command accepts its own subset. */
struct opts {
    const char *db;
    int quiet;
    sift_limits lim;
    sift_filter filter;
    const char *format;
    const char *before;
    long long fail_on_reject; /* -1: off */
};

static void
die_err(const sift_err *err)
{
    if (err->where[0])
        fprintf(stderr, "%s: %s: %s\n", progname, err->where, err->msg);
    else
        fprintf(stderr, "%s: %s\n", progname, err->msg);
}

/* One line on stderr, exit 64. `usage` is the command's help text: its
 * first line names the command for the hint. */
static int usage_error(const char *usage, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int
usage_error(const char *usage, const char *fmt, ...)
{
    char cmd[32] = "";
    va_list ap;

    if (usage != usage_main &&
        sscanf(usage, "usage: dmarcsift [--db PATH] %31s", cmd) != 1 &&
        sscanf(usage, "usage: dmarcsift %31s", cmd) != 1)
        cmd[0] = '\0';
    fprintf(stderr, "%s: ", progname);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (see 'dmarcsift %s%s--help')\n", cmd, *cmd ? " " : "");
    return EX_USAGE;
}

static int
exit_for(int rc)
{
    switch (rc) {
    case SIFT_OK: return EX_OK;
    case SIFT_EUSAGE: return EX_USAGE;
    case SIFT_EFORMAT:
    case SIFT_ETOOBIG: return EX_DATAERR;
    default: return EX_IOERR;
    }
}

enum {
    O_DB = 1000, O_MAXSIZE, O_MAXINPUT, O_MAXDEPTH, O_MAXENTRIES, O_DOMAIN, O_REPORTER, O_SINCE, O_UNTIL,
    O_FORMAT, O_BEFORE, O_FAILON
};

/* Whether the space-separated list holds word exactly ("json" is not in
 * "csv jsonl"). */
static int
has_word(const char *list, const char *word)
{
    size_t n = strlen(word);
    const char *p;

    for (p = list; (p = strstr(p, word)) != NULL; p += n)
        if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
            return 1;
    return 0;
}

/* Parse a command's options; `allowed` lists the long options it takes.
 * Returns 0, or an exit status for usage errors / --help. */
static int
parse_opts(struct opts *o, int argc, char **argv, const char *allowed,
           const char *usage, int *first_arg)
{
    static const struct option all[] = {
        {"db", required_argument, NULL, O_DB},
        {"quiet", no_argument, NULL, 'q'},
        {"max-report-size", required_argument, NULL, O_MAXSIZE},
        {"max-input-size", required_argument, NULL, O_MAXINPUT},
        {"max-depth", required_argument, NULL, O_MAXDEPTH},
        {"max-entries", required_argument, NULL, O_MAXENTRIES},
        {"domain", required_argument, NULL, O_DOMAIN},
        {"reporter", required_argument, NULL, O_REPORTER},
        {"since", required_argument, NULL, O_SINCE},
        {"until", required_argument, NULL, O_UNTIL},
        {"format", required_argument, NULL, O_FORMAT},
        {"before", required_argument, NULL, O_BEFORE},
        {"fail-on-reject", required_argument, NULL, O_FAILON},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    sift_err err;
    int c, idx;

    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+:qh", all, &idx)) != -1) {
        const char *name = NULL;
        if (c == 'h') {
            fputs(usage, stdout);
            return -EX_OK - 1; /* "done, exit 0" */
        }
        if (c == '?' || c == ':') {
            const char *bad = argv[optind - 1];
            return usage_error(usage,
                               c == ':' ? "option '%s' needs a value"
                                        : "unknown option '%s'",
                               bad);
        }
        for (idx = 0; all[idx].name; idx++)
            if (all[idx].val == c)
                name = all[idx].name;
        if (name && !has_word(allowed, name))
            return usage_error(usage, "option '--%s' not valid here", name);
        switch (c) {
        case O_DB: o->db = optarg; break;
        case 'q': o->quiet = 1; break;
        case O_MAXSIZE:
            if (sift_parse_size(&o->lim.max_report_size, optarg, &err))
                return usage_error(usage, "%s", err.msg);
            break;
        case O_MAXINPUT:
            if (sift_parse_size(&o->lim.max_input_size, optarg, &err))
                return usage_error(usage, "%s", err.msg);
            break;
        case O_MAXDEPTH:
        case O_MAXENTRIES: {
            char *end;
            unsigned long v;
            errno = 0;
            v = strtoul(optarg, &end, 10);
            if (errno || end == optarg || *end || optarg[0] == '-' || v < 1 ||
                v > 1000000)
                return usage_error(usage, "--%s needs a count from 1 to "
                                   "1000000, not '%s'", name, optarg);
            if (c == O_MAXDEPTH)
                o->lim.max_depth = (unsigned)v;
            else
                o->lim.max_entries = (unsigned)v;
            break;
        }
        case O_DOMAIN: o->filter.domain = optarg; break;
        case O_REPORTER: o->filter.reporter = optarg; break;
        case O_SINCE:
        case O_UNTIL: {
            int64_t t;
            if (sift_parse_date(&t, optarg, &err))
                return usage_error(usage, "%s", err.msg);
            if (c == O_SINCE) {
                o->filter.since = t;
                o->filter.has_since = 1;
            } else {
                o->filter.until = t;
                o->filter.has_until = 1;
            }
            break;
        }
        case O_FORMAT: o->format = optarg; break;
        case O_BEFORE: o->before = optarg; break;
        case O_FAILON: {
            char *end;
            o->fail_on_reject = strtoll(optarg, &end, 10);
            if (*end || o->fail_on_reject < 0)
                return usage_error(usage,
                                   "--fail-on-reject needs a count, not '%s'",
                                   optarg);
            break;
        }
        default: break;
        }
    }
    *first_arg = optind;
    return 0;
}

static int
open_store(sift_store **st, const struct opts *o, unsigned flags)
{
    sift_err err;

    sift_err_clear(&err);
    if (sift_store_open(st, o->db, flags, &err) != SIFT_OK) {
        sift_err_where(&err, o->db);
        die_err(&err);
        return EX_IOERR;
    }
    return EX_OK;
}

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

static void
on_outcome(void *payload, sift_outcome_kind kind, const char *path,
           const sift_err *err, const sift_import_stats *s)
{
    struct progress *p = payload;

    (void)path;
    p->units++;
    if (kind == SIFT_FAILED && err) {
        if (p->show)
            fputs("\r\033[K", stderr);
        die_err(err);
    }
    if (p->show && secs_since(&p->last) >= 0.25) {
        double t = secs_since(&p->start);
        clock_gettime(CLOCK_MONOTONIC, &p->last);
        fprintf(stderr, "\r\033[K%llu inputs, %" PRIu64 " records, %.0f records/s",
                p->units, s->records, t > 0 ? (double)s->records / t : 0.0);
    }
}

static const char *
plural(uint64_t n, const char *one, const char *many)
{
    return n == 1 ? one : many;
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

static int
cmd_ingest(struct opts *o, int argc, char **argv)
{
    sift_store *st = NULL;
    sift_ingest *in = NULL;
    sift_import_stats s = {0};
    sift_err err;
    int i, first, ex;

    if ((ex = parse_opts(o, argc, argv, "db quiet " LIMIT_OPTS,
                         usage_ingest, &first)) != 0)
        return ex;
    if (first >= argc)
        return usage_error(usage_ingest, "%s", "ingest needs at least one INPUT");
    sift_err_clear(&err);
    if (sift_ingest_new(&in, &o->lim, &err) != SIFT_OK) {
        die_err(&err);
        return EX_IOERR;
    }
    for (i = first; i < argc; i++)
        if (sift_ingest_add_path(in, argv[i], &err) != SIFT_OK) {
            die_err(&err);
            ex = EX_IOERR;
            goto out;
        }
    if ((ex = open_store(&st, o, 0)) != EX_OK)
        goto out;
    ex = run_import(&s, in, st, o, 1);
    if (!o->quiet)
        print_summary(&s);
    if (ex == EX_OK && s.failed > 0)
        ex = EX_DATAERR;
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
static int
cmd_retry(struct opts *o, int argc, char **argv)
{
    sift_store *st = NULL;
    struct failed_row r = {0};
    sift_import_stats total = {0};
    sift_err err;
    int64_t after = 0;
    size_t n = 0;
    int first, ex, rc;

    if ((ex = parse_opts(o, argc, argv, "db quiet " LIMIT_OPTS,
                         usage_retry, &first)) != 0)
        return ex;
    if (first < argc)
        return usage_error(usage_retry, "unexpected argument '%s'",
                           argv[first]);
    if ((ex = open_store(&st, o, 0)) != EX_OK)
        return ex;
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
            fprintf(stderr, "dmarcsift: %s: cannot retry, its bytes were not "
                            "kept (%s)\n",
                    r.path, r.reason);
            total.failed++;
            continue;
        }
        if (sift_ingest_new(&in, &o->lim, &err) != SIFT_OK ||
            sift_ingest_add_memory(in, r.path, r.raw, r.len, &err) !=
                SIFT_OK) {
            sift_ingest_free(in);
            die_err(&err);
            ex = EX_IOERR;
            break;
        }
        ex = run_import(&s, in, st, o, 0);
        sift_ingest_free(in);
        if (ex == EX_OK && s.failed == 0 &&
            sift_store_delete_failed(st, r.id, &err) != SIFT_OK) {
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

/* --- inspect ----------------------------------------------------------- */

static int
cmd_inspect(struct opts *o, int argc, char **argv)
{
    sift_ingest *in = NULL;
    const sift_item *it;
    sift_err err;
    int i, first, ex, rc, failed = 0;

    if ((ex = parse_opts(o, argc, argv, LIMIT_OPTS, usage_inspect,
                         &first)) != 0)
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
                   sift_xml_inspect(stdout, it->reader, &o->lim, &why) ==
                       SIFT_OK) {
            continue;
        }
        if (strncmp(why.msg, "not a DMARC aggregate report", 28) == 0)
            continue;
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

/* --- report / export --------------------------------------------------- */

static int
parse_format(sift_format *out, const char *s, const char *allowed,
             const char *usage)
{
    static const struct {
        const char *name;
        sift_format f;
    } fmts[] = {{"text", SIFT_FMT_TEXT},
                {"json", SIFT_FMT_JSON},
                {"csv", SIFT_FMT_CSV},
                {"jsonl", SIFT_FMT_JSONL}};
    size_t i;

    for (i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++)
        if (strcmp(s, fmts[i].name) == 0 && has_word(allowed, s)) {
            *out = fmts[i].f;
            return 0;
        }
    return usage_error(usage, "unknown format '%s'", s);
}

static int
cmd_report(struct opts *o, int argc, char **argv, int export)
{
    const char *usage = export ? usage_export : usage_report;
    sift_store *st = NULL;
    sift_report_totals tot = {0};
    sift_format fmt = SIFT_FMT_TEXT;
    sift_err err;
    int first, ex, rc;

    ex = parse_opts(o, argc, argv,
                    export ? "db domain reporter since until format"
                           : "db domain reporter since until format "
                             "fail-on-reject",
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
    if ((ex = open_store(&st, o,
                         SIFT_STORE_READONLY |
                             (export ? 0 : SIFT_STORE_SCAN))) != EX_OK)
        return ex;
    sift_err_clear(&err);
    rc = export ? sift_export_write(stdout, st, &o->filter, fmt, &err)
                : sift_report_write(stdout, &tot, st, &o->filter, fmt, &err);
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

/* --- stats / prune ----------------------------------------------------- */

static int
cmd_stats(struct opts *o, int argc, char **argv)
{
    sift_store *st = NULL;
    sift_stats s;
    sift_err err;
    char t1[32], t2[32], a[32], b[32], c[32];
    int first, ex, json;

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
    sift_store_close(st);
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
        printf(", \"failed_inputs\": %" PRIu64 ", \"conflicts\": %" PRIu64
               "}\n",
               s.failed_inputs, s.conflicts);
    } else {
        printf("reports:        %s\n", sift_fmt_thousands(a, sizeof(a), s.reports));
        printf("records:        %s\n", sift_fmt_thousands(b, sizeof(b), s.records));
        printf("messages:       %s\n", sift_fmt_thousands(c, sizeof(c), s.messages));
        printf("reporters:      %" PRIu64 "\n", s.reporters);
        printf("policy domains: %" PRIu64 "\n", s.domains);
        printf("date range:     %s .. %s\n", s.reports ? t1 : "-",
               s.reports ? t2 : "-");
        printf("failed inputs:  %" PRIu64 "\n", s.failed_inputs);
        printf("conflicts:      %" PRIu64 "\n", s.conflicts);
    }
    return EX_OK;
}

static int
cmd_prune(struct opts *o, int argc, char **argv)
{
    sift_store *st = NULL;
    uint64_t n = 0;
    int64_t before;
    sift_err err;
    int first, ex;

    if ((ex = parse_opts(o, argc, argv, "db before quiet", usage_prune,
                         &first)))
        return ex;
    if (first < argc)
        return usage_error(usage_prune, "unexpected argument '%s'",
                           argv[first]);
    if (o->before == NULL)
        return usage_error(usage_prune, "%s", "prune needs --before DATE");
    sift_err_clear(&err);
    if (sift_parse_date(&before, o->before, &err))
        return usage_error(usage_prune, "%s", err.msg);
    if ((ex = open_store(&st, o, 0)) != EX_OK)
        return ex;
    if (sift_store_prune(&n, st, before, &err) != SIFT_OK) {
        sift_store_close(st);
        die_err(&err);
        return EX_IOERR;
    }
    sift_store_close(st);
    if (!o->quiet)
        printf("pruned %" PRIu64 " reports that ended before %s\n", n,
               o->before);
    return EX_OK;
}

/* --- main -------------------------------------------------------------- */

int
main(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*fn)(struct opts *, int, char **);
    } cmds[] = {{"ingest", cmd_ingest},   {"inspect", cmd_inspect},
                {"stats", cmd_stats},     {"prune", cmd_prune},
                {"retry-failed", cmd_retry}};
    struct opts o;
    sift_limits lim = SIFT_LIMITS_INIT;
    const char *cmd;
    size_t i;
    int argi = 1, ex;

    memset(&o, 0, sizeof(o));
    o.lim = lim;
    o.fail_on_reject = -1;
    o.db = getenv("DMARCSIFT_DB");
    if (o.db == NULL || *o.db == '\0')
        o.db = "./dmarcsift.db";

    /* global options come before the command */
    while (argi < argc && argv[argi][0] == '-' && argv[argi][1] != '\0') {
        const char *a = argv[argi];
        if (strcmp(a, "--db") == 0 && argi + 1 < argc) {
            o.db = argv[argi + 1];
            argi += 2;
        } else if (strncmp(a, "--db=", 5) == 0) {
            o.db = a + 5;
            argi++;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(usage_main, stdout);
            return EX_OK;
        } else if (strcmp(a, "-V") == 0 || strcmp(a, "--version") == 0) {
            printf("dmarcsift %s\n", SIFT_VERSION);
            return EX_OK;
        } else {
            return usage_error(usage_main,
                               strcmp(a, "--db") == 0
                                   ? "option '%s' needs a value"
                                   : "unknown option '%s'",
                               a);
        }
    }
    if (argi >= argc)
        return usage_error(usage_main, "%s", "missing command");
    cmd = argv[argi];
    sift_xml_init();
    for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
        if (strcmp(cmd, cmds[i].name) == 0)
            break;
    if (i < sizeof(cmds) / sizeof(cmds[0]))
        ex = cmds[i].fn(&o, argc - argi, argv + argi);
    else if (strcmp(cmd, "report") == 0)
        ex = cmd_report(&o, argc - argi, argv + argi, 0);
    else if (strcmp(cmd, "export") == 0)
        ex = cmd_report(&o, argc - argi, argv + argi, 1);
    else if (strcmp(cmd, "help") == 0) {
        fputs(usage_main, stdout);
        return EX_OK;
    } else
        return usage_error(usage_main, "unknown command '%s'", cmd);
    return ex == -EX_OK - 1 ? EX_OK : ex;
}
