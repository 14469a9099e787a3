/* cmd_failed.c -- failed list / failed forget: the inputs that could not
 * be stored, and clearing them by hand. (retry-failed re-reads them; a
 * failed input is also resolved by itself when the same input, by path
 * and fingerprint, later imports; prune --before drops old ones.) */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char usage_failed[] =
    "usage: dmarcsift [--db PATH] failed list [--format text|json]\n"
    "       dmarcsift [--db PATH] failed forget ID...|--all\n"
    "\n"
    "The inputs that could not be stored (each is named on stderr when it\n"
    "fails, and kept with its reason and, up to the keep ceiling, its\n"
    "bytes).\n"
    "\n"
    "  list      one line per failed input: id, last seen, size, whether\n"
    "            its bytes are kept (retry-failed can re-read only those),\n"
    "            input and reason; --format json: one JSON object per line\n"
    "  forget    delete the failed inputs with these ids (see list), or\n"
    "            all of them with --all\n"
    "\n"
    "A failed input also goes away when the same input (same path, same\n"
    "bytes) later imports, when retry-failed stores it, and with prune\n"
    "--before DATE when it was last seen before DATE.\n";

/* Print s for a terminal: control characters, C1 controls and bidi
 * overrides/isolates as escapes, so a path or reason cannot move the
 * cursor or reorder the line. */
static void
put_safe(FILE *fp, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;

    for (; *p; p++) {
        if (*p < 0x20 || *p == 0x7f)
            fprintf(fp, "\\x%02x", *p);
        else if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
            fprintf(fp, "\\u%04x", p[1]), p++;
        else if (p[0] == 0xe2 && p[1] == 0x80 && p[2] >= 0xaa && p[2] <= 0xae)
            fprintf(fp, "\\u%04x", 0x2000 + (p[2] - 0x80)), p += 2;
        else if (p[0] == 0xe2 && p[1] == 0x81 && p[2] >= 0xa6 && p[2] <= 0xa9)
            fprintf(fp, "\\u%04x", 0x2040 + (p[2] - 0x80)), p += 2;
        else if (*p == '\\')
            fputs("\\\\", fp);
        else
            fputc(*p, fp);
    }
}

struct list_ctx {
    int json;
    uint64_t n;
};

static int
list_one(void *payload, const sift_failed_info *f)
{
    struct list_ctx *c = payload;
    char seen[32], first[32], size[32];

    c->n++;
    sift_fmt_time(seen, sizeof(seen), f->last_seen);
    sift_fmt_time(first, sizeof(first), f->first_seen);
    if (c->json) {
        printf("{\"id\": %" PRId64 ", \"path\": ", f->id);
        sift_json_str(stdout, f->path);
        fputs(", \"reason\": ", stdout);
        sift_json_str(stdout, f->reason);
        printf(", \"size\": %" PRIu64 ", \"kept\": %s, \"first_seen\": \"%s\","
               " \"last_seen\": \"%s\"}\n",
               f->size, f->kept ? "true" : "false", first, seen);
        return 0;
    }
    sift_fmt_size(size, sizeof(size), f->size);
    printf("%-4" PRId64 " %s  %9s  %-8s  ", f->id, seen, size,
           f->kept ? "kept" : "not kept");
    put_safe(stdout, f->path);
    fputs(": ", stdout);
    put_safe(stdout, f->reason);
    fputc('\n', stdout);
    return 0;
}

static int
failed_list(struct opts *o, int argc, char **argv)
{
    struct list_ctx c = {0, 0};
    sift_store *st = NULL;
    sift_err err;
    int first, ex, rc;

    if ((ex = parse_opts(o, argc, argv, "db format", usage_failed, &first)))
        return ex;
    if (first < argc)
        return usage_error(usage_failed, "unexpected argument '%s'",
                           argv[first]);
    c.json = o->format && strcmp(o->format, "json") == 0;
    if (o->format && !c.json && strcmp(o->format, "text") != 0)
        return usage_error(usage_failed, "unknown format '%s'", o->format);
    if ((ex = open_store(&st, o, SIFT_STORE_READONLY)) != EX_OK)
        return ex;
    sift_err_clear(&err);
    if (!c.json)
        printf("id   last seen                   size  bytes     input: "
               "reason\n");
    rc = sift_store_list_failed(st, list_one, &c, &err);
    sift_store_close(st);
    if (rc != SIFT_OK) {
        die_err(&err);
        return EX_IOERR;
    }
    if (!c.json && c.n == 0)
        printf("(no failed inputs)\n");
    return EX_OK;
}

static int
failed_forget(struct opts *o, int argc, char **argv)
{
    sift_store *st = NULL;
    char **args;
    sift_err err;
    uint64_t n = 0;
    int i, nargs = 0, all = 0, first, ex = EX_OK, missing = 0;

    /* --all is this subcommand's own flag: take it out before the shared
     * option parser sees it */
    if ((args = calloc((size_t)argc + 1, sizeof(*args))) == NULL) {
        fprintf(stderr, "%s: out of memory\n", progname);
        return EX_IOERR;
    }
    for (i = 0; i < argc; i++) {
        if (i > 0 && strcmp(argv[i], "--all") == 0)
            all = 1;
        else
            args[nargs++] = argv[i];
    }
    if ((ex = parse_opts(o, nargs, args, "db", usage_failed, &first)))
        goto out;
    if (all && first < nargs) {
        ex = usage_error(usage_failed, "%s", "give ids or --all, not both");
        goto out;
    }
    if (!all && first >= nargs) {
        ex = usage_error(usage_failed, "%s",
                         "failed forget needs ids (see 'failed list') or "
                         "--all");
        goto out;
    }
    for (i = first; i < nargs; i++) {
        char *end;
        long long id;

        errno = 0;
        id = strtoll(args[i], &end, 10);
        if (errno || end == args[i] || *end || id < 1 || args[i][0] == '+') {
            ex = usage_error(usage_failed,
                             "an id is a number from 'failed list', not '%s'",
                             args[i]);
            goto out;
        }
    }
    if ((ex = open_store(&st, o, SIFT_STORE_EXISTING)) != EX_OK)
        goto out;
    sift_err_clear(&err);
    if (all) {
        if (sift_store_forget_all_failed(st, &n, &err) != SIFT_OK) {
            die_err(&err);
            ex = EX_IOERR;
            goto out;
        }
    } else {
        for (i = first; i < nargs; i++) {
            int rc =
                sift_store_delete_failed(st, strtoll(args[i], NULL, 10), &err);
            if (rc == SIFT_ITEROVER) {
                fprintf(stderr, "%s: no failed input with id %s\n", progname,
                        args[i]);
                missing++;
            } else if (rc != SIFT_OK) {
                die_err(&err);
                ex = EX_IOERR;
                goto out;
            } else {
                n++;
            }
        }
    }
    if (!o->quiet)
        printf("forgot %" PRIu64 " failed %s\n", n,
               plural(n, "input", "inputs"));
    if (missing > 0)
        ex = EX_DATAERR;
out:
    sift_store_close(st);
    free(args);
    return ex;
}

int
cmd_failed(struct opts *o, int argc, char **argv)
{
    if (argc < 2)
        return usage_error(usage_failed, "%s",
                           "failed needs 'list' or 'forget'");
    if (strcmp(argv[1], "list") == 0)
        return failed_list(o, argc - 1, argv + 1);
    if (strcmp(argv[1], "forget") == 0)
        return failed_forget(o, argc - 1, argv + 1);
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(usage_failed, stdout);
        return EX_OK;
    }
    return usage_error(usage_failed, "unknown subcommand '%s'", argv[1]);
}
