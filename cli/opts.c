/* opts.c -- option parsing and error printing shared by the commands. */
#include <getopt.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

void
die_err(const sift_err *err)
{
    if (err->where[0])
        fprintf(stderr, "%s: %s: %s\n", progname, err->where, err->msg);
    else
        fprintf(stderr, "%s: %s\n", progname, err->msg);
}

int
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

int
exit_for(int rc)
{
    switch (rc) {
    case SIFT_OK:
        return EX_OK;
    case SIFT_EUSAGE:
        return EX_USAGE;
    case SIFT_EFORMAT:
    case SIFT_ENOTREPORT:
    case SIFT_ETOOBIG:
        return EX_DATAERR;
    default:
        return EX_IOERR;
    }
}

enum {
    O_DB = 1000,
    O_MAXSIZE,
    O_MAXINPUT,
    O_MAXDEPTH,
    O_MAXENTRIES,
    O_DOMAIN,
    O_REPORTER,
    O_SINCE,
    O_UNTIL,
    O_FORMAT,
    O_BEFORE,
    O_FAILON,
    O_MOVETO,
    O_FAILEDTO,
    O_CACERT,
    O_NETRC,
    O_PWFILE,
    O_TOKENFILE,
    O_INSECURE,
    O_PASSWORD
};

/* Whether the space-separated list holds word exactly ("json" is not in
 * "csv jsonl"). */
int
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
int
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
        {"move-to", required_argument, NULL, O_MOVETO},
        {"failed-to", required_argument, NULL, O_FAILEDTO},
        {"cacert", required_argument, NULL, O_CACERT},
        {"netrc-file", required_argument, NULL, O_NETRC},
        {"password-file", required_argument, NULL, O_PWFILE},
        {"oauth2-token-file", required_argument, NULL, O_TOKENFILE},
        {"insecure", no_argument, NULL, O_INSECURE},
        /* refused with a reason (and not taken as --password-file) */
        {"password", required_argument, NULL, O_PASSWORD},
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
            return EX_HELP_DONE;
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
        case O_DB:
            o->db = optarg;
            break;
        case 'q':
            o->quiet = 1;
            break;
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
                return usage_error(usage,
                                   "--%s needs a count from 1 to "
                                   "1000000, not '%s'",
                                   name, optarg);
            if (c == O_MAXDEPTH)
                o->lim.max_depth = (unsigned)v;
            else
                o->lim.max_entries = (unsigned)v;
            break;
        }
        case O_DOMAIN:
            o->filter.domain = optarg;
            break;
        case O_REPORTER:
            o->filter.reporter = optarg;
            break;
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
        case O_FORMAT:
            o->format = optarg;
            break;
        case O_BEFORE:
            o->before = optarg;
            break;
        case O_FAILON: {
            char *end;
            o->fail_on_reject = strtoll(optarg, &end, 10);
            if (*end || o->fail_on_reject < 0)
                return usage_error(
                    usage, "--fail-on-reject needs a count, not '%s'", optarg);
            break;
        }
        case O_MOVETO:
            o->move_to = optarg;
            break;
        case O_FAILEDTO:
            o->failed_to = optarg;
            break;
        case O_CACERT:
            o->cacert = optarg;
            break;
        case O_NETRC:
            o->netrc_file = optarg;
            break;
        case O_PWFILE:
            o->password_file = optarg;
            break;
        case O_TOKENFILE:
            o->oauth2_token_file = optarg;
            break;
        case O_INSECURE:
            o->insecure = 1;
            break;
        case O_PASSWORD:
            return usage_error(usage, "%s",
                               "no password on the command line (other "
                               "users can read it in ps): use "
                               "--password-file FILE, ~/.netrc or "
                               "DMARCSIFT_IMAP_PASSWORD");
        default:
            break;
        }
    }
    *first_arg = optind;
    return 0;
}

int
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

int
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

const char *
plural(uint64_t n, const char *one, const char *many)
{
    return n == 1 ? one : many;
}
