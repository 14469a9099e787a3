/* main.c -- the dmarcsift command line: argv -> options -> library calls.
 *
 * The only file that prints to stdout/stderr or chooses an exit status.
 * Exit status (sysexits): 0 success; 1 --fail-on-reject threshold passed
 * or --fail-on-new found a new rejected sender;
 * 64 usage; 65 some input could not be parsed (the others were stored);
 * 66 a top-level input or the database of a read command is missing;
 * 74 I/O or database error; 78 configuration file. Errors are one line on
 * stderr: "dmarcsift: <input>: <what is wrong>". */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config.h"

#ifndef SIFT_SYSCONFDIR
#define SIFT_SYSCONFDIR "/etc"
#endif

const char *progname = "dmarcsift";

const char usage_main[] =
    "usage: dmarcsift [--db PATH] [--config FILE | --no-config] COMMAND\n"
    "                 [OPTIONS] [ARGS]\n"
    "\n"
    "DMARC aggregate report (rua) processor: stores reports in SQLite and\n"
    "explains which senders would be rejected (550 5.7.1) under p=reject.\n"
    "\n"
    "commands:\n"
    "  ingest INPUT...     store reports from files, directories, mbox,\n"
    "                      Maildir, .eml, .xml/.gz/.zip/.tar[.gz|.xz|.bz2],\n"
    "                      .xz/.bz2, - for stdin, or an IMAP mailbox\n"
    "                      (imaps://user@host/MAILBOX)\n"
    "  inspect INPUT...    parse without storing; one JSON object per report\n"
    "  report              failure summary: who would be rejected, why, fix\n"
    "  export              one row per stored record (csv or jsonl)\n"
    "  stats               what the database holds\n"
    "  prune --before DATE delete reports that ended before DATE\n"
    "  retry-failed        re-parse the stored inputs that failed\n"
    "  failed list|forget  show the failed inputs, or forget some or all\n"
    "  reevaluate          recompute stored verdicts with this version\n"
    "  resolve             look up and cache the source addresses' names\n"
    "                      (DNS; report and export show them)\n"
    "\n"
    "options:\n"
    "  --db PATH|URI       database: a SQLite file, or a PostgreSQL URI\n"
    "                      postgresql://user@host:port/dbname (default:\n"
    "                      $DMARCSIFT_DB, else ./dmarcsift.db)\n"
    "  --config FILE       read only this configuration file (default:\n"
    "                      $DMARCSIFT_CONFIG, else the system file and then\n"
    "                      $XDG_CONFIG_HOME/dmarcsift/config; see FILES in\n"
    "                      dmarcsift(1))\n"
    "  --no-config         read no configuration file\n"
    "  -h, --help          help (also: dmarcsift COMMAND --help)\n"
    "  -V, --version       print the version, commit and library versions\n"
    "  help [COMMAND]      this text, or COMMAND's (as COMMAND --help)\n"
    "\n"
    "exit status: 0 ok, 1 --fail-on-reject threshold passed (or\n"
    "--fail-on-new), 64 usage error, 65 some input could not be parsed,\n"
    "66 an input or the database does\n"
    "not exist, 74 i/o or database error, 78 bad configuration file.\n"
    "Manual: man dmarcsift\n";

/* The configuration: --config FILE or $DMARCSIFT_CONFIG alone, else the
 * system file then the user file (missing ones skipped); then the
 * environment and the command line over it (command line > environment >
 * user file > system file). Returns EX_OK or EX_CONFIG. */
static int
load_config(sift_config *cfg, struct opts *o, sift_owner_knowledge *owner,
            const char *file, int none, const char *cmdline_db)
{
    const char *env_db = getenv("DMARCSIFT_DB");
    char user[4096];
    sift_err err;
    int rc = SIFT_OK;

    sift_err_clear(&err);
    if (file == NULL && (file = getenv("DMARCSIFT_CONFIG")) != NULL &&
        *file == '\0')
        file = NULL;
    if (none)
        ;
    else if (file != NULL)
        rc = sift_config_read(cfg, file, 0, &err);
    else {
        rc = sift_config_read(cfg, SIFT_SYSCONFDIR "/dmarcsift/dmarcsift.conf",
                              1, &err);
        if (rc == SIFT_OK && sift_config_user_path(user, sizeof(user)) == 0)
            rc = sift_config_read(cfg, user, 1, &err);
    }
    if (rc == SIFT_OK)
        rc = sift_config_owner(cfg, owner, &err);
    if (rc != SIFT_OK) {
        die_err(&err);
        return EX_CONFIG;
    }
    if (cmdline_db)
        o->db = cmdline_db;
    else if (env_db && *env_db)
        o->db = env_db;
    else if (cfg->db)
        o->db = cfg->db;
    else
        o->db = "./dmarcsift.db";
    if (cfg->quiet >= 0)
        o->quiet = cfg->quiet;
    if (cfg->lim_set & SIFT_CFG_MAX_REPORT_SIZE)
        o->lim.max_report_size = cfg->lim.max_report_size;
    if (cfg->lim_set & SIFT_CFG_MAX_INPUT_SIZE)
        o->lim.max_input_size = cfg->lim.max_input_size;
    if (cfg->lim_set & SIFT_CFG_MAX_DEPTH)
        o->lim.max_depth = cfg->lim.max_depth;
    if (cfg->lim_set & SIFT_CFG_MAX_ENTRIES)
        o->lim.max_entries = cfg->lim.max_entries;
    if (cfg->lim_set & SIFT_CFG_MAX_MESSAGES)
        o->lim.max_messages = cfg->lim.max_messages;
    if (cfg->lim_set & SIFT_CFG_MAX_KEEP_SIZE)
        o->lim.max_keep_size = cfg->lim.max_keep_size;
    if (cfg->max_sources > 0) /* --max-sources, parsed later, replaces it */
        o->report.max_sources = cfg->max_sources;
    o->sources = cfg->sources;
    o->n_sources = cfg->n_sources;
    o->owner = owner;
    return EX_OK;
}

_Static_assert(SIFT_CONFIG_MAX_SOURCES == SIFT_REPORT_MAX_SOURCES_CEILING,
               "[report] max-sources and --max-sources share a ceiling");

/* --- main -------------------------------------------------------------- */

/* Everything a command printed must have reached stdout: a full disk or a
 * closed pipe is an I/O error (74), in one line, whatever the command
 * returned -- unless it already failed with one. */
static int
finish(int ex)
{
    int bad = fflush(stdout) != 0 || ferror(stdout);
    int e = errno;

    if (fclose(stdout) != 0 && !bad) {
        bad = 1;
        e = errno;
    }
    if (!bad)
        return ex;
    if (ex != EX_IOERR && ex != EX_USAGE)
        fprintf(stderr, "%s: cannot write to standard output: %s\n", progname,
                strerror(e ? e : EIO));
    return ex == EX_USAGE ? ex : EX_IOERR;
}

static int run(int argc, char **argv, struct opts *o, sift_config *cfg);

int
main(int argc, char **argv)
{
    struct opts o;
    sift_config cfg; /* o points into it */
    int ex;

    /* past a file size limit (ulimit -f) a write fails with EFBIG and is
     * reported (a decoded MIME part, the database), instead of a kill */
    signal(SIGXFSZ, SIG_IGN);
    memset(&o, 0, sizeof(o));
    sift_config_init(&cfg);
    errno = 0;
    ex = run(argc, argv, &o, &cfg);
    opts_free(&o);
    sift_config_free(&cfg);
    return finish(ex);
}

static int
run(int argc, char **argv, struct opts *op, sift_config *cfg)
{
    static const struct {
        const char *name;
        int (*fn)(struct opts *, int, char **);
    } cmds[] = {{"ingest", cmd_ingest},         {"inspect", cmd_inspect},
                {"report", cmd_report},         {"export", cmd_export},
                {"stats", cmd_stats},           {"prune", cmd_prune},
                {"retry-failed", cmd_retry},    {"failed", cmd_failed},
                {"reevaluate", cmd_reevaluate}, {"resolve", cmd_resolve}};
    struct opts o = *op;
    sift_limits lim = SIFT_LIMITS_INIT;
    static sift_owner_knowledge owner; /* o.owner outlives run() */
    const char *cmd, *cfg_file = NULL, *db = NULL;
    size_t i;
    int argi = 1, ex, no_cfg = 0;

    o.lim = lim;
    o.fail_on_reject = -1;
    o.fail_on_reject_pm = -1;
    o.report.top = SIFT_REPORT_TOP_DEFAULT;

    /* global options come before the command */
    while (argi < argc && argv[argi][0] == '-' && argv[argi][1] != '\0') {
        const char *a = argv[argi];
        if (strcmp(a, "--db") == 0 && argi + 1 < argc) {
            db = argv[argi + 1];
            argi += 2;
        } else if (strncmp(a, "--db=", 5) == 0) {
            db = a + 5;
            argi++;
        } else if (strcmp(a, "--config") == 0 && argi + 1 < argc) {
            cfg_file = argv[argi + 1];
            argi += 2;
        } else if (strncmp(a, "--config=", 9) == 0) {
            cfg_file = a + 9;
            argi++;
        } else if (strcmp(a, "--no-config") == 0) {
            no_cfg = 1;
            argi++;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(usage_main, stdout);
            return EX_OK;
        } else if (strcmp(a, "-V") == 0 || strcmp(a, "--version") == 0) {
            print_version();
            return EX_OK;
        } else {
            return usage_error(usage_main,
                               strcmp(a, "--db") == 0 ||
                                       strcmp(a, "--config") == 0
                                   ? "option '%s' needs a value"
                                   : "unknown option '%s'",
                               a);
        }
    }
    if (argi >= argc)
        return usage_error(usage_main, "%s", "missing command");
    if (cfg_file && no_cfg)
        return usage_error(usage_main, "%s",
                           "--config and --no-config exclude each other");
    cmd = argv[argi];
    /* help needs no configuration: it works with a broken file */
    if (strcmp(cmd, "help") == 0)
        no_cfg = 1;
    for (i = (size_t)argi + 1; i < (size_t)argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            break;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            no_cfg = 1;
    }
    if ((ex = load_config(cfg, &o, &owner, cfg_file, no_cfg, db)) != EX_OK)
        return ex;
    sift_xml_init();
    for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
        if (strcmp(cmd, cmds[i].name) == 0)
            break;
    if (i < sizeof(cmds) / sizeof(cmds[0])) {
        ex = cmds[i].fn(&o, argc - argi, argv + argi);
    } else if (strcmp(cmd, "help") == 0) {
        /* help COMMAND is COMMAND --help */
        char *hv[3] = {NULL, "--help", NULL};
        if (argi + 1 >= argc) {
            fputs(usage_main, stdout);
            return EX_OK;
        }
        if (argi + 2 < argc)
            return usage_error(usage_main, "%s",
                               "help takes one COMMAND at most");
        for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
            if (strcmp(argv[argi + 1], cmds[i].name) == 0)
                break;
        if (i == sizeof(cmds) / sizeof(cmds[0]))
            return usage_error(usage_main, "unknown command '%s'",
                               argv[argi + 1]);
        hv[0] = argv[argi + 1];
        ex = cmds[i].fn(&o, 2, hv);
    } else {
        return usage_error(usage_main, "unknown command '%s'", cmd);
    }
    *op = o; /* opts_free() frees what parsing allocated */
    return ex == EX_HELP_DONE ? EX_OK : ex;
}
