/* cli.h -- what the command files of the dmarcsift CLI share: the parsed
 * options, exit statuses, error printing and option parsing (opts.c).
 * One file per command (cmd_*.c); main.c dispatches. Only cli/ prints to
 * stdout/stderr or chooses an exit status. */
#ifndef SIFT_CLI_H
#define SIFT_CLI_H

#include <stdint.h>

#include "sift_import.h"
#include "sift_owner.h"
#include "sift_json.h"
#include "sift_util.h"
#include "sift_xml.h"

#define EX_OK 0
#define EX_THRESHOLD 1
#define EX_USAGE 64
#define EX_DATAERR 65
/* a top-level input or the database of a read command does not exist or
 * cannot be read; nothing was stored for it */
#define EX_NOINPUT 66
#define EX_IOERR 74
#define EX_CONFIG 78 /* unreadable or malformed configuration file */
/* parse_opts' "--help was printed, exit 0" */
#define EX_HELP_DONE (-EX_OK - 1)

extern const char *progname;
extern const char usage_main[];

#define LIMIT_OPTS                                                             \
    "max-report-size max-input-size max-depth max-entries max-messages"
/* ingest and retry-failed: they keep failed inputs */
#define KEEP_OPTS LIMIT_OPTS " max-keep-size"
#define KEEP_HELP                                                              \
    "  --max-keep-size SIZE      bytes of a failed input kept in the\n"        \
    "                            database for retry-failed (default 512M,\n"   \
    "                            at most 900M; streamed, not held in "         \
    "memory)\n"
#define LIMITS_HELP                                                            \
    "limits (a bad input over one fails alone; sizes take K, M, G):\n"         \
    "  --max-report-size SIZE    decompressed XML per report (default 1G)\n"   \
    "  --max-input-size SIZE     one message, MIME part or kept failed "       \
    "input\n"                                                                  \
    "                            held in memory (default 256M)\n"              \
    "  --max-depth N             nested containers, eml > zip > gz (default "  \
    "8)\n"                                                                     \
    "  --max-entries N           zip entries or MIME parts per container\n"    \
    "                            (default 10000)\n"                            \
    "  --max-messages N          messages per mbox (default 1000000)\n"

/* Options shared by the commands; each command accepts its own subset. */
struct opts {
    const char *db;
    int quiet;
    sift_limits lim;
    sift_filter filter; /* its lists point into domains/reporters */
    const char **domains, **reporters; /* argv strings; opts_free() */
    const char *format;
    const char *before;
    long long fail_on_reject; /* -1: off */
    /* --fail-on-reject N%: per domain, thousandths of a percent; -1 off */
    long long fail_on_reject_pm;
    int fail_on_new; /* --fail-on-new */
    /* ingest: filing and IMAP (docs/imap.md) */
    const char *move_to, *failed_to;
    const char *cacert, *netrc_file, *password_file, *oauth2_token_file;
    int insecure;
    sift_report_opts report; /* report: --top, --all, --min-messages */
    /* from the configuration file (main.c, config.c) */
    char **sources; /* [ingest] source: ingest's INPUTs when none */
    size_t n_sources;
    const sift_owner_knowledge *owner; /* [owner], [senders]: for report */
    /* DNS (docs/dns.md): resolve, and --dns on ingest/report */
    int dns;                  /* --dns: resolve source names first */
    const char **dns_servers; /* --dns-server, repeated; opts_free() */
    size_t n_dns_servers;
    int dns_timeout_ms; /* --dns-timeout; 0: the default */
};

/* One line on stderr: "dmarcsift: <where>: <msg>". */
void die_err(const sift_err *err);
/* One line on stderr, returns 64. `usage` is the command's help text: its
 * first line names the command for the hint. */
int usage_error(const char *usage, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The exit status for a library return code. */
int exit_for(int rc);
/* Whether the space-separated list holds word exactly. */
int has_word(const char *list, const char *word);
/* Parse a command's options; `allowed` lists the long options it takes.
 * Returns 0 (*first_arg = first operand), EX_HELP_DONE after --help, or
 * an exit status for usage errors. */
int parse_opts(struct opts *o, int argc, char **argv, const char *allowed,
               const char *usage, int *first_arg);
/* Free what parse_opts allocated (the filter lists). */
void opts_free(struct opts *o);
/* Parse --format s, one of the words in allowed; else a usage error. */
int parse_format(sift_format *out, const char *s, const char *allowed,
                 const char *usage);
/* Open o->db. With SIFT_STORE_READONLY or SIFT_STORE_EXISTING a missing
 * file is not created: "no database at PATH (run 'dmarcsift ingest'
 * first, or pass --db)", EX_NOINPUT. Other failures: EX_IOERR. */
int open_store(sift_store **st, const struct opts *o, unsigned flags);
/* A --db that exists but is a FIFO, socket or device: its kind ("a
 * FIFO"), which open_store() refuses (SQLite would block on a FIFO);
 * NULL otherwise. */
const char *db_special(const char *path);
const char *plural(uint64_t n, const char *one, const char *many);

/* dmarcsift --version (version.c). */
void print_version(void);

/* The commands (argv[0] is the command name). */
int cmd_ingest(struct opts *o, int argc, char **argv);
int cmd_retry(struct opts *o, int argc, char **argv);
int cmd_inspect(struct opts *o, int argc, char **argv);
int cmd_report(struct opts *o, int argc, char **argv);
int cmd_export(struct opts *o, int argc, char **argv);
int cmd_stats(struct opts *o, int argc, char **argv);
int cmd_prune(struct opts *o, int argc, char **argv);
int cmd_failed(struct opts *o, int argc, char **argv);
int cmd_reevaluate(struct opts *o, int argc, char **argv);
int cmd_resolve(struct opts *o, int argc, char **argv);

/* Look up the names of the stored source addresses that are not cached
 * (or expired), in parallel, and cache them (cmd_resolve.c): resolve,
 * and ingest/report --dns. A resolver that does not answer is one line on
 * stderr and EX_OK; EX_IOERR only for a database error. */
int resolve_sources(sift_store *st, const struct opts *o);

#define DNS_HELP                                                               \
    "  --dns-server ADDR[:PORT]  ask this server (repeatable; default: the\n"  \
    "                            servers of /etc/resolv.conf)\n"               \
    "  --dns-timeout MS          first try of a query (default 2000; two\n"    \
    "                            tries, the second twice as long)\n"

/* Stored verdicts follow the code (cmd_reevaluate.c): recompute them when
 * the database's evaluation version is behind; on an open writer, or by
 * path (opens a writer only when there is work). An exit status. */
int reevaluate_if_behind(sift_store *st, int quiet);
/* The evaluation versions of the stored reports (cmd_reevaluate.c): the
 * first EVAL_MIX_MAX, ascending (more: there were others). */
#define EVAL_MIX_MAX 16
struct eval_mix {
    int n, more, min, max;
    struct {
        int version;
        uint64_t reports;
    } v[EVAL_MIX_MAX];
};
/* Read them for the reports in f (NULL: all); EX_IOERR after a message. */
int eval_mix_read(struct eval_mix *m, sift_store *st, const sift_filter *f);
/* 1 when they are mixed, or one version other than SIFT_EVAL_VERSION. */
int eval_mix_differs(const struct eval_mix *m);
/* "2 (1,204 reports), 3 (88 reports)" */
void eval_mix_print(FILE *fp, const struct eval_mix *m);
/* report: one warning line on stderr when the reports of o's filter carry
 * versions that differ (mixed, older left by a read-only database, or a
 * newer build's); EX_IOERR after a message when they cannot be read. */
int eval_warn(sift_store *st, const struct opts *o);
int reevaluate_path_if_behind(const struct opts *o);

#endif
