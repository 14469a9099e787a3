/* testutil.c -- see testutil.h. */
#include "testutil.h"

#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

const char *
fixture(const char *rel)
{
    static char buf[4096];
    snprintf(buf, sizeof(buf), "%s/%s", SIFT_FIXTURES, rel);
    return buf;
}

char *
slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    char *buf = NULL;
    size_t cap = 0, n = 0, got;

    if (fp == NULL)
        return NULL;
    for (;;) {
        if (cap - n < 4096) {
            char *nb = realloc(buf, cap ? cap * 2 : 8192);
            if (nb == NULL) {
                free(buf);
                fclose(fp);
                return NULL;
            }
            buf = nb;
            cap = cap ? cap * 2 : 8192;
        }
        got = fread(buf + n, 1, cap - n - 1, fp);
        if (got == 0)
            break;
        n += got;
    }
    fclose(fp);
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

int
spit(const char *path, const void *buf, size_t len)
{
    FILE *fp = fopen(path, "wb");
    int rc;

    if (fp == NULL)
        return -1;
    rc = fwrite(buf, 1, len, fp) == len ? 0 : -1;
    if (fclose(fp) != 0)
        rc = -1;
    return rc;
}

char *
sandbox(void)
{
    const char *tmp = getenv("TMPDIR");
    char *p;

    if (tmp == NULL || *tmp == '\0')
        tmp = "/tmp";
    if ((p = malloc(strlen(tmp) + 32)) == NULL)
        return NULL;
    sprintf(p, "%s/sift-test-XXXXXX", tmp);
    if (mkdtemp(p) == NULL) {
        free(p);
        return NULL;
    }
    return p;
}

void
rm_rf(const char *path)
{
    pid_t pid;

    if (path == NULL || strncmp(path, "/tmp/", 5) != 0 ||
        strstr(path, "sift-test-") == NULL)
        return; /* only ever remove our own sandboxes */
    if ((pid = fork()) == 0) {
        execlp("rm", "rm", "-rf", path, (char *)NULL);
        _exit(127);
    }
    if (pid > 0)
        waitpid(pid, NULL, 0);
}

static char *
drain_fd(int fd)
{
    char *buf = NULL;
    size_t cap = 0, n = 0;
    ssize_t got;

    for (;;) {
        if (cap - n < 4096) {
            char *nb = realloc(buf, cap ? cap * 2 : 8192);
            if (nb == NULL)
                break;
            buf = nb;
            cap = cap ? cap * 2 : 8192;
        }
        got = read(fd, buf + n, cap - n - 1);
        if (got <= 0)
            break;
        n += (size_t)got;
    }
    if (buf)
        buf[n] = '\0';
    return buf;
}

int
run(const char *const *argv, const char *in, char **out, char **errout)
{
    char tmpl_o[] = "/tmp/sift-out-XXXXXX", tmpl_e[] = "/tmp/sift-err-XXXXXX";
    int fo = mkstemp(tmpl_o), fe = mkstemp(tmpl_e), st = 0;
    pid_t pid;

    if (fo < 0 || fe < 0)
        return -1;
    unlink(tmpl_o);
    unlink(tmpl_e);
    if ((pid = fork()) == 0) {
        int fi = open(in ? in : "/dev/null", O_RDONLY);
        if (fi < 0)
            _exit(126);
        dup2(fi, 0);
        dup2(fo, 1);
        dup2(fe, 2);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    if (pid < 0 || waitpid(pid, &st, 0) < 0)
        return -1;
    lseek(fo, 0, SEEK_SET);
    lseek(fe, 0, SEEK_SET);
    if (out)
        *out = drain_fd(fo);
    if (errout)
        *errout = drain_fd(fe);
    close(fo);
    close(fe);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int
corpus_present(const char *suite)
{
    struct stat sb;
    char p[4096];

    snprintf(p, sizeof(p), "%s/stats.tsv", SIFT_CORPUS);
    if (stat(p, &sb) == 0)
        return 1;
    printf("%s: SKIPPED corpus tests: %s not found (CI provides "
           "../shared/corpus)\n",
           suite, p);
    return 0;
}

char *
report_doc(const char *org, const char *id, int pad, const unsigned *counts,
           int n)
{
    size_t cap = 4096 + (size_t)n * 512;
    char *s = malloc(cap), rid[64];
    size_t len;
    int i;

    if (s == NULL)
        abort();
    if (id == NULL) {
        memset(rid, 'r', (size_t)pad);
        rid[pad] = '\0';
        id = rid;
    }
    len = (size_t)snprintf(
        s, cap,
        "<?xml version=\"1.0\"?><feedback><report_metadata><org_name>%s"
        "</org_name><email>d@hash.example</email><report_id>%s</report_id>"
        "<date_range><begin>1700000000</begin><end>1700086399</end>"
        "</date_range></report_metadata><policy_published><domain>"
        "example.com</domain><p>reject</p></policy_published>",
        org, id);
    for (i = 0; i < n; i++)
        len += (size_t)snprintf(
            s + len, cap - len,
            "<record><row><source_ip>192.0.2.%d</source_ip><count>%u</count>"
            "<policy_evaluated><disposition>none</disposition><dkim>pass"
            "</dkim><spf>pass</spf></policy_evaluated></row><identifiers>"
            "<header_from>example.com</header_from></identifiers>"
            "<auth_results><spf><domain>example.com</domain><result>pass"
            "</result></spf></auth_results></record>",
            100 + i, counts[i]);
    snprintf(s + len, cap - len, "</feedback>\n");
    return s;
}

char *
replace_once(const char *s, const char *from, const char *to)
{
    const char *at = strstr(s, from);
    size_t a, b = strlen(from), c = strlen(to);
    char *r;

    if (at == NULL)
        abort();
    a = (size_t)(at - s);
    r = malloc(strlen(s) - b + c + 1);
    if (r == NULL)
        abort();
    memcpy(r, s, a);
    memcpy(r + a, to, c);
    strcpy(r + a + c, at + b);
    return r;
}

/* The integer after "key": in `stats --format json` output. */
static long long
stat_of(const char *json, const char *key)
{
    char pat[64];
    const char *p;

    snprintf(pat, sizeof(pat), "\"%s\": ", key);
    p = strstr(json, pat);
    ck_assert_msg(p != NULL, "no %s in %s", key, json);
    return strtoll(p + strlen(pat), NULL, 10);
}

void
check_long_report_copies(const char *db, const char *dir)
{
    static const struct {
        const char *name, *from, *to, *outcome;
        int exit;
    } copies[] = {
        {"indented.xml", "<record>", "\n  <record>",
         "1 duplicate (0 conflicting); 0 not a report; 0 failure reports; "
         "0 failed",
         0},
        {"mid.xml", "<count>1200</count>", "<count>12x0</count>",
         "1 duplicate (1 conflicting); 0 not a report; 0 failure reports; "
         "0 failed",
         0},
        {"late.xml", "<count>1290</count>", "<count>12x0</count>",
         "1 duplicate (1 conflicting); 0 not a report; 0 failure reports; "
         "0 failed",
         0},
        {"early.xml", "<count>1010</count>", "<count>10x0</count>",
         "0 duplicates (0 conflicting); 0 not a report; 0 failure reports; "
         "1 failed",
         65},
    };
    const char *argv[] = {SIFT_BINARY, "--db", db, "ingest", NULL, NULL};
    const char *stats[] = {SIFT_BINARY, "--db", db,  "stats",
                           "--format",  "json", NULL};
    char path[1024], want[256], *doc, *copy, *out, *err;
    unsigned c[300];
    size_t i;
    int rc;

    for (i = 0; i < 300; i++)
        c[i] = 1000 + (unsigned)i;
    doc = report_doc("long.example", NULL, 12, c, 300);
    snprintf(path, sizeof(path), "%s/a.xml", dir);
    ck_assert_int_eq(spit(path, doc, strlen(doc)), 0);
    argv[4] = path;
    rc = run(argv, NULL, &out, &err);
    ck_assert_msg(rc == 0, "exit %d: %s", rc, err);
    ck_assert_str_eq(out, "ingested 1 report (300 records, 344,850 messages); "
                          "0 duplicates (0 conflicting); 0 not a report; "
                          "0 failure reports; 0 failed\n");
    free(out);
    free(err);
    for (i = 0; i < sizeof(copies) / sizeof(copies[0]); i++) {
        copy = replace_once(doc, copies[i].from, copies[i].to);
        snprintf(path, sizeof(path), "%s/%s", dir, copies[i].name);
        ck_assert_int_eq(spit(path, copy, strlen(copy)), 0);
        free(copy);
        rc = run(argv, NULL, &out, &err);
        ck_assert_msg(rc == copies[i].exit, "%s: exit %d: %s", copies[i].name,
                      rc, err);
        snprintf(want, sizeof(want),
                 "ingested 0 reports (0 records, 0 messages); %s\n",
                 copies[i].outcome);
        ck_assert_str_eq(out, want);
        free(out);
        free(err);
    }
    /* the stored bytes again: seen, whether asked first (SQLite, or after
     * seen inputs) or with the lookup after the header (a server, the
     * run's first input) */
    snprintf(path, sizeof(path), "%s/a.xml", dir);
    rc = run(argv, NULL, &out, &err);
    ck_assert_msg(rc == 0, "exit %d: %s", rc, err);
    ck_assert_str_eq(out, "ingested 0 reports (0 records, 0 messages); "
                          "1 duplicate (0 conflicting); 0 not a report; "
                          "0 failure reports; 0 failed\n");
    free(out);
    free(err);
    rc = run(stats, NULL, &out, &err);
    ck_assert_msg(rc == 0, "stats: exit %d: %s", rc, err);
    ck_assert_int_eq(stat_of(out, "reports"), 1);
    ck_assert_int_eq(stat_of(out, "records"), 300);
    ck_assert_int_eq(stat_of(out, "messages"), 344850);
    ck_assert_int_eq(stat_of(out, "failed_inputs"), 1);
    ck_assert_int_eq(stat_of(out, "conflicts"), 2);
    free(out);
    free(err);
    free(doc);
}
