/* main.c -- the dmarcsift command line: argv -> options -> library calls.
 *
 * The only file that prints to stdout/stderr or chooses an exit status.
 * Exit status (sysexits): 0 success; 1 --fail-on-reject threshold passed;
 * 64 usage; 65 some input could not be parsed (the others were stored);
 * 74 I/O or database error. Errors are one line on stderr:
 * "dmarcsift: <input>: <what is wrong>". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

const char *progname = "dmarcsift";

const char usage_main[] =
    "usage: dmarcsift [--db PATH] COMMAND [OPTIONS] [ARGS]\n"
    "\n"
    "DMARC aggregate report (rua) processor: stores reports in SQLite and\n"
    "explains which senders would be rejected (550 5.7.1) under p=reject.\n"
    "\n"
    "commands:\n"
    "  ingest INPUT...     store reports from files, directories, mbox,\n"
    "                      Maildir, .eml, .xml/.gz/.zip, - for stdin, or\n"
    "                      an IMAP mailbox (imaps://user@host/MAILBOX)\n"
    "  inspect INPUT...    parse without storing; one JSON object per report\n"
    "  report              failure summary: who would be rejected, why, fix\n"
    "  export              one row per stored record (csv or jsonl)\n"
    "  stats               what the database holds\n"
    "  prune --before DATE delete reports that ended before DATE\n"
    "  retry-failed        re-parse the stored inputs that failed\n"
    "\n"
    "options:\n"
    "  --db PATH           database (default: $DMARCSIFT_DB, else "
    "./dmarcsift.db)\n"
    "  -h, --help          help (also: dmarcsift COMMAND --help)\n"
    "  -V, --version       print the version\n"
    "\n"
    "exit status: 0 ok, 1 --fail-on-reject threshold passed, 64 usage error,\n"
    "65 some input could not be parsed, 74 i/o or database error\n";

/* --- main -------------------------------------------------------------- */

int
main(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*fn)(struct opts *, int, char **);
    } cmds[] = {{"ingest", cmd_ingest},     {"inspect", cmd_inspect},
                {"report", cmd_report},     {"export", cmd_export},
                {"stats", cmd_stats},       {"prune", cmd_prune},
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
    else if (strcmp(cmd, "help") == 0) {
        fputs(usage_main, stdout);
        return EX_OK;
    } else
        return usage_error(usage_main, "unknown command '%s'", cmd);
    return ex == EX_HELP_DONE ? EX_OK : ex;
}
