/* opts.c -- option parsing and error printing shared by the commands. */
#include <getopt.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "sift_dns.h"

/* Paths and messages can carry bytes from a report or an archive entry:
 * written as the text report writes values (controls as \xHH). */
void
die_err(const sift_err *err)
{
    fprintf(stderr, "%s: ", progname);
    if (err->where[0]) {
        sift_text_safe(stderr, err->where);
        fputs(": ", stderr);
    }
    sift_text_safe(stderr, err->msg);
    fputc('\n', stderr);
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
    O_MAXKEEP,
    O_MAXDEPTH,
    O_MAXENTRIES,
    O_MAXMESSAGES,
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
    O_PASSWORD,
    O_TOP,
    O_ALL,
    O_MINMSG,
    O_MAXSRC,
    O_BY,
    O_FAILNEW,
    O_DNS,
    O_DNSSERVER,
    O_DNSTIMEOUT
};

/* A count in plain decimal digits (no sign, no spaces, no empty string),
 * from lo to hi. Returns 0 and *out, or -1. */
static int
parse_count(unsigned long long *out, const char *s, unsigned long long lo,
            unsigned long long hi)
{
    unsigned long long v = 0;
    const char *p;

    if (s == NULL || *s == '\0' || strlen(s) > 20)
        return -1;
    for (p = s; *p; p++) {
        unsigned d = (unsigned)(*p - '0');
        if (*p < '0' || *p > '9' || v > (ULLONG_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    if (v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

/* Append v to a filter list (domains/reporters), allocated for argc
 * entries on first use (freed by opts_free). */
static int
list_add(const char ***list, size_t *n, int argc, const char *v)
{
    size_t i;

    if (*list == NULL && (*list = calloc((size_t)argc, sizeof(**list))) == NULL)
        return -1;
    for (i = 0; i < *n; i++)
        if (strcasecmp((*list)[i], v) == 0)
            return 0; /* named twice: once is enough */
    (*list)[(*n)++] = v;
    return 0;
}

void
opts_free(struct opts *o)
{
    free(o->domains);
    free(o->reporters);
    free(o->dns_servers);
    o->domains = o->reporters = o->dns_servers = NULL;
}

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

/* "2%", "0.5%", "100%": thousandths of a percent (0..100000); -1 when
 * malformed. */
static int
parse_percent(unsigned long long *out, const char *s)
{
    unsigned long long v = 0;
    int digits = 0, decimals = -1;

    for (; *s >= '0' && *s <= '9' && digits < 4; s++, digits++)
        v = v * 10 + (unsigned long long)(*s - '0');
    if (digits == 0)
        return -1;
    if (*s == '.')
        for (s++, decimals = 0; *s >= '0' && *s <= '9' && decimals < 3;
             s++, decimals++)
            v = v * 10 + (unsigned long long)(*s - '0');
    if (decimals == 0 || s[0] != '%' || s[1] != '\0')
        return -1;
    for (decimals = decimals < 0 ? 0 : decimals; decimals < 3; decimals++)
        v *= 10;
    if (v > 100000)
        return -1;
    *out = v;
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
        {"max-keep-size", required_argument, NULL, O_MAXKEEP},
        {"max-depth", required_argument, NULL, O_MAXDEPTH},
        {"max-entries", required_argument, NULL, O_MAXENTRIES},
        {"max-messages", required_argument, NULL, O_MAXMESSAGES},
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
        {"top", required_argument, NULL, O_TOP},
        {"all", no_argument, NULL, O_ALL},
        {"min-messages", required_argument, NULL, O_MINMSG},
        {"max-sources", required_argument, NULL, O_MAXSRC},
        {"by", required_argument, NULL, O_BY},
        {"fail-on-new", no_argument, NULL, O_FAILNEW},
        {"dns", no_argument, NULL, O_DNS},
        {"dns-server", required_argument, NULL, O_DNSSERVER},
        {"dns-timeout", required_argument, NULL, O_DNSTIMEOUT},
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
        case O_MAXKEEP:
            if (sift_parse_size(&o->lim.max_keep_size, optarg, &err))
                return usage_error(usage, "%s", err.msg);
            if (o->lim.max_keep_size > SIFT_MAX_KEEP_CEILING)
                return usage_error(usage,
                                   "--max-keep-size is at most 900M, not "
                                   "'%s'",
                                   optarg);
            break;
        case O_MAXDEPTH:
        case O_MAXENTRIES: {
            unsigned long long v;
            if (parse_count(&v, optarg, 1, 1000000) != 0)
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
        case O_MAXMESSAGES: {
            unsigned long long v;
            if (parse_count(&v, optarg, 1, 1000000000) != 0)
                return usage_error(usage,
                                   "--%s needs a count from 1 to "
                                   "1000000000, not '%s'",
                                   name, optarg);
            o->lim.max_messages = (unsigned)v;
            break;
        }
        case O_DOMAIN:
        case O_REPORTER: {
            const char *p;
            if (*optarg == '\0')
                return usage_error(usage, "--%s needs a %s, not ''", name,
                                   c == O_DOMAIN ? "domain name"
                                                 : "reporter name");
            for (p = optarg; *p; p++)
                if ((unsigned char)*p < 0x20 || *p == 0x7f)
                    return usage_error(usage,
                                       "--%s: control characters are not "
                                       "allowed in a name",
                                       name);
            /* repeated: any of them */
            if (c == O_DOMAIN
                    ? list_add(&o->domains, &o->filter.ndomains, argc, optarg)
                    : list_add(&o->reporters, &o->filter.nreporters, argc,
                               optarg)) {
                fprintf(stderr, "%s: out of memory\n", progname);
                return EX_IOERR;
            }
            o->filter.domains = o->domains;
            o->filter.reporters = o->reporters;
            break;
        }
        case O_SINCE:
        case O_UNTIL: {
            int64_t t;
            if (sift_parse_date(&t, optarg, &err))
                return usage_error(usage, "--%s: %s", name, err.msg);
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
            unsigned long long v;
            if (strchr(optarg, '%') != NULL) {
                if (parse_percent(&v, optarg) != 0)
                    return usage_error(usage,
                                       "--fail-on-reject needs a percentage "
                                       "of messages (0%% to 100%%, at most "
                                       "3 decimals, e.g. 2%% or 0.5%%), "
                                       "not '%s'",
                                       optarg);
                o->fail_on_reject_pm = (long long)v;
                break;
            }
            if (parse_count(&v, optarg, 0, LLONG_MAX) != 0)
                return usage_error(usage,
                                   "--fail-on-reject needs a count of "
                                   "messages (digits only, 0 to %lld), "
                                   "not '%s'",
                                   LLONG_MAX, optarg);
            o->fail_on_reject = (long long)v;
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
        case O_TOP: {
            unsigned long long v;
            if (parse_count(&v, optarg, 0, 1000000))
                return usage_error(usage,
                                   "--top needs a count of senders "
                                   "(0..1000000), not '%s'",
                                   optarg);
            o->report.top = (unsigned)v;
            break;
        }
        case O_ALL:
            o->report.all = 1;
            break;
        case O_BY:
            if (strcmp(optarg, "day") == 0)
                o->report.by = 1;
            else if (strcmp(optarg, "week") == 0)
                o->report.by = 7;
            else
                return usage_error(usage, "--by needs day or week, not '%s'",
                                   optarg);
            break;
        case O_FAILNEW:
            o->fail_on_new = 1;
            break;
        case O_MINMSG: {
            unsigned long long v;
            if (parse_count(&v, optarg, 0, UINT64_MAX))
                return usage_error(usage,
                                   "--min-messages needs a count of "
                                   "messages, not '%s'",
                                   optarg);
            o->report.min_messages = (uint64_t)v;
            break;
        }
        case O_MAXSRC: {
            unsigned long long v;
            if (parse_count(&v, optarg, 1, SIFT_REPORT_MAX_SOURCES_CEILING))
                return usage_error(usage,
                                   "--max-sources needs a count from 1 to "
                                   "%d, not '%s'",
                                   SIFT_REPORT_MAX_SOURCES_CEILING, optarg);
            o->report.max_sources = (uint64_t)v;
            break;
        }
        case O_DNS:
            o->dns = 1;
            break;
        case O_DNSSERVER: {
            size_t nl = o->n_dns_servers;
            sift_err_clear(&err);
            if (sift_dns_check_server(optarg, &err) != SIFT_OK)
                return usage_error(usage, "%s", err.msg);
            if (list_add(&o->dns_servers, &nl, argc, optarg)) {
                fprintf(stderr, "%s: out of memory\n", progname);
                return EX_IOERR;
            }
            o->n_dns_servers = nl;
            o->dns = 1; /* implies --dns */
            break;
        }
        case O_DNSTIMEOUT: {
            unsigned long long v;
            if (parse_count(&v, optarg, 10, 60000))
                return usage_error(usage,
                                   "--dns-timeout needs milliseconds "
                                   "(10..60000), not '%s'",
                                   optarg);
            o->dns_timeout_ms = (int)v;
            o->dns = 1;
            break;
        }
        default:
            break;
        }
    }
    if (o->filter.has_since && o->filter.has_until &&
        o->filter.since >= o->filter.until) {
        char a[32], b[32];
        sift_fmt_time(a, sizeof(a), o->filter.since);
        sift_fmt_time(b, sizeof(b), o->filter.until);
        return usage_error(usage,
                           "--since %s is not before --until %s (the "
                           "range is [since, until))",
                           a, b);
    }
    *first_arg = optind;
    return 0;
}

const char *
db_special(const char *path)
{
    struct stat sb;

    if (stat(path, &sb) != 0 || S_ISREG(sb.st_mode) || S_ISDIR(sb.st_mode))
        return NULL;
    return S_ISFIFO(sb.st_mode)   ? "a FIFO"
           : S_ISSOCK(sb.st_mode) ? "a socket"
           : S_ISCHR(sb.st_mode)  ? "a character device"
           : S_ISBLK(sb.st_mode)  ? "a block device"
                                  : "not a file";
}

int
open_store(sift_store **st, const struct opts *o, unsigned flags)
{
    const char *special = db_special(o->db);
    sift_err err;

    sift_err_clear(&err);
    if (special != NULL) {
        sift_err_set(&err, SIFT_EIO, "not a regular file (%s)", special);
        sift_err_where(&err, o->db);
        die_err(&err);
        return EX_IOERR;
    }
    if ((flags & (SIFT_STORE_READONLY | SIFT_STORE_EXISTING)) &&
        !sift_store_is_uri(o->db) && strcmp(o->db, ":memory:") != 0 &&
        access(o->db, F_OK) != 0 && errno == ENOENT) {
        fprintf(stderr,
                "%s: no database at %s (run 'dmarcsift ingest' first, or "
                "pass --db)\n",
                progname, o->db);
        return EX_NOINPUT;
    }
    if (sift_store_open(st, o->db, flags, &err) != SIFT_OK) {
        char *shown = sift_store_display_name(o->db); /* no password */
        sift_err_where(&err, shown ? shown : "database");
        free(shown);
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
                {"jsonl", SIFT_FMT_JSONL},
                {"html", SIFT_FMT_HTML}};
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
