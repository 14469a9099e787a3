/* check_faults.c -- crashes, concurrency and I/O faults around `ingest`.
 *
 * Invariant checked: whatever happens to a dmarcsift process (SIGKILL at a
 * random point, a concurrent writer, a full disk, a read-only or missing
 * database), the database stays consistent (PRAGMA integrity_check) and a
 * later clean run ends with exactly what one clean run stores. */
#define _GNU_SOURCE /* unshare, asprintf */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sift_store.h"
#include "testutil.h"

#define NREPORTS 200

/* --- running the binary ------------------------------------------------ */

typedef struct proc {
    pid_t pid;
    int fo, fe;
    int code; /* exit status, or -signal */
    char *out, *err;
} proc;

typedef struct spawn_opts {
    const char *cwd;
    rlim_t fsize;        /* RLIMIT_FSIZE in bytes, 0: none */
    const char *ro_path; /* run with this directory mounted read-only */
} spawn_opts;

static char *
read_fd(int fd)
{
    char *buf = NULL;
    size_t cap = 0, n = 0;
    ssize_t got;

    lseek(fd, 0, SEEK_SET);
    for (;;) {
        if (cap - n < 4096) {
            char *nb = realloc(buf, cap ? cap * 2 : 8192);
            ck_assert_ptr_nonnull(nb);
            buf = nb;
            cap = cap ? cap * 2 : 8192;
        }
        got = read(fd, buf + n, cap - n - 1);
        if (got <= 0)
            break;
        n += (size_t)got;
    }
    buf[n] = '\0';
    return buf;
}

static int
write_str(const char *path, const char *s)
{
    int fd = open(path, O_WRONLY), ok;
    if (fd < 0)
        return -1;
    ok = write(fd, s, strlen(s)) == (ssize_t)strlen(s);
    close(fd);
    return ok ? 0 : -1;
}

/* In the child: a private mount namespace (inside a user namespace, so
 * that it works for root in a container too) where `dir` is read-only.
 * Returns 0, or -1 when the kernel does not allow it. */
static int
make_readonly(const char *dir)
{
    char map[64];
    uid_t uid = geteuid();
    gid_t gid = getegid();

    if (unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0)
        return -1;
    snprintf(map, sizeof(map), "0 %u 1", (unsigned)uid);
    if (write_str("/proc/self/setgroups", "deny") != 0 ||
        write_str("/proc/self/uid_map", map) != 0)
        return -1;
    snprintf(map, sizeof(map), "0 %u 1", (unsigned)gid);
    if (write_str("/proc/self/gid_map", map) != 0 ||
        mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
        mount(dir, dir, NULL, MS_BIND | MS_REC, NULL) != 0 ||
        mount(NULL, dir, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) != 0)
        return -1;
    return 0;
}

/* Start argv without waiting. */
static void
start(proc *p, const char *const *argv, const spawn_opts *o)
{
    char to[] = "/tmp/sift-fout-XXXXXX", te[] = "/tmp/sift-ferr-XXXXXX";

    memset(p, 0, sizeof(*p));
    p->fo = mkstemp(to);
    p->fe = mkstemp(te);
    ck_assert(p->fo >= 0 && p->fe >= 0);
    unlink(to);
    unlink(te);
    p->pid = fork();
    ck_assert(p->pid >= 0);
    if (p->pid == 0) {
        int fi = open("/dev/null", O_RDONLY);
        if (fi < 0 || (o && o->cwd && chdir(o->cwd) != 0))
            _exit(126);
        if (o && o->fsize) {
            struct rlimit rl = {o->fsize, o->fsize};
            signal(SIGXFSZ, SIG_IGN); /* write() fails with EFBIG */
            if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
                _exit(126);
        }
        if (o && o->ro_path && make_readonly(o->ro_path) != 0)
            _exit(125);
        dup2(fi, 0);
        dup2(p->fo, 1);
        dup2(p->fe, 2);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
}

static void
finish(proc *p)
{
    int st = 0;
    ck_assert(waitpid(p->pid, &st, 0) == p->pid);
    p->code = WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st);
    p->out = read_fd(p->fo);
    p->err = read_fd(p->fe);
    close(p->fo);
    close(p->fe);
}

static void
proc_free(proc *p)
{
    free(p->out);
    free(p->err);
    p->out = p->err = NULL;
}

static size_t
count_lines(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* argv for: dmarcsift --db DB <words...> <files[from..to)> */
typedef struct argvb {
    const char *v[NREPORTS + 16];
    int n;
} argvb;

static void
argv_init(argvb *a, const char *db)
{
    a->n = 0;
    a->v[a->n++] = SIFT_BINARY;
    a->v[a->n++] = "--db";
    a->v[a->n++] = db;
    a->v[a->n] = NULL;
}

static void
argv_add(argvb *a, const char *s)
{
    ck_assert(a->n < (int)(sizeof(a->v) / sizeof(a->v[0])) - 1);
    a->v[a->n++] = s;
    a->v[a->n] = NULL;
}

/* Run `dmarcsift --db db args...` (NULL-terminated) to completion. */
static void
sift(proc *p, const spawn_opts *o, const char *db, ...)
{
    argvb a;
    const char *s;
    va_list ap;

    argv_init(&a, db);
    va_start(ap, db);
    while ((s = va_arg(ap, const char *)) != NULL)
        argv_add(&a, s);
    va_end(ap);
    start(p, a.v, o);
    finish(p);
}

/* --- fixtures: NREPORTS small reports in sb/reports/ ---------------------- */

static char *sb;
static char *files[NREPORTS];
static char srcdir[4200];

static const char *
sbpath(const char *name)
{
    static char bufs[4][4200];
    static int i;
    i = (i + 1) % 4;
    snprintf(bufs[i], sizeof(bufs[i]), "%s/%s", sb, name);
    return bufs[i];
}

static void
write_report(const char *path, unsigned i)
{
    static const char *const orgs[] = {"google.com", "yahoo.com", "outlook.com",
                                       "mail.ru", "gmx.net"};
    FILE *fp = fopen(path, "wb");
    unsigned r;

    ck_assert_ptr_nonnull(fp);
    fprintf(fp,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<feedback>\n"
            "<report_metadata><org_name>%s</org_name>"
            "<email>dmarc@%s</email><report_id>fault-%04u</report_id>"
            "<date_range><begin>%u</begin><end>%u</end></date_range>"
            "</report_metadata>\n"
            "<policy_published><domain>example.com</domain><p>none</p>"
            "</policy_published>\n",
            orgs[i % 5], orgs[i % 5], i, 1793491200u + i * 86400u,
            1793491200u + i * 86400u + 86399u);
    for (r = 0; r < 3; r++)
        fprintf(fp,
                "<record><row><source_ip>192.0.2.%u</source_ip>"
                "<count>%u</count><policy_evaluated>"
                "<disposition>none</disposition><dkim>%s</dkim>"
                "<spf>fail</spf></policy_evaluated></row>"
                "<identifiers><header_from>example.com</header_from>"
                "</identifiers><auth_results><dkim><domain>example.com"
                "</domain><result>%s</result></dkim><spf><domain>"
                "bounce.example.net</domain><result>pass</result></spf>"
                "</auth_results></record>\n",
                r + 1, i * 10 + r + 1, r ? "fail" : "pass",
                r ? "fail" : "pass");
    fputs("</feedback>\n", fp);
    ck_assert(fclose(fp) == 0);
}

static void
setup(void)
{
    unsigned i;

    sb = sandbox();
    ck_assert_ptr_nonnull(sb);
    snprintf(srcdir, sizeof(srcdir), "%s/reports", sb);
    ck_assert(mkdir(srcdir, 0700) == 0);
    for (i = 0; i < NREPORTS; i++) {
        ck_assert(asprintf(&files[i], "%s/r%04u.xml", srcdir, i) > 0);
        write_report(files[i], i);
    }
}

static void
teardown(void)
{
    unsigned i;

    for (i = 0; i < NREPORTS; i++) {
        free(files[i]);
        files[i] = NULL;
    }
    rm_rf(sb);
    free(sb);
    sb = NULL;
}

/* --- what a database holds ---------------------------------------------- */

typedef struct acc {
    char *s;
    size_t len, cap;
} acc;

static int
acc_row(void *payload, sift_row *row)
{
    acc *a = payload;
    int c, n = sift_row_columns(row);

    for (c = 0; c < n; c++) {
        const char *t = sift_row_text(row, c);
        size_t tl = t ? strlen(t) : 4;
        if (a->cap - a->len < tl + 2) {
            a->cap = (a->cap + tl + 2) * 2;
            a->s = realloc(a->s, a->cap);
            ck_assert_ptr_nonnull(a->s);
        }
        memcpy(a->s + a->len, t ? t : "NULL", tl);
        a->len += tl;
        a->s[a->len++] = c + 1 < n ? '|' : '\n';
        a->s[a->len] = '\0';
    }
    return 0;
}

/* The rows of `sql` as "a|b\n" lines (caller frees); NULL when the file
 * is a database that a process was killed in before it got a schema (a
 * read-only open refuses those). */
static char *
query_or_unborn(const char *dbpath, const char *sql)
{
    sift_store *st = NULL;
    sift_err err;
    acc a = {0};
    int rc;

    sift_err_clear(&err);
    rc = sift_store_open(&st, dbpath, SIFT_STORE_READONLY, &err);
    if (rc != SIFT_OK && strstr(err.msg, "from schema 0 to") != NULL)
        return NULL;
    if (rc != SIFT_OK && strcmp(err.msg, "database is read-only") == 0) {
        /* killed while the schema was being created: a hot rollback
         * journal that only a read-write open may roll back */
        char *j = NULL;
        int hot;
        ck_assert(asprintf(&j, "%s-journal", dbpath) > 0);
        hot = access(j, F_OK) == 0;
        free(j);
        if (hot)
            return NULL;
    }
    ck_assert_msg(rc == SIFT_OK, "open %s: %s", dbpath, err.msg);
    rc = sift_store_query(st, sql, NULL, 0, acc_row, &a, &err);
    ck_assert_msg(rc == SIFT_OK, "%s: %s", sql, err.msg);
    sift_store_close(st);
    return a.s ? a.s : strdup("");
}

static char *
query(const char *dbpath, const char *sql)
{
    char *r = query_or_unborn(dbpath, sql);
    ck_assert_msg(r != NULL, "%s: database has no schema", dbpath);
    return r;
}

static void
assert_integrity(const char *dbpath)
{
    char *r = query(dbpath, "PRAGMA integrity_check");
    ck_assert_msg(strcmp(r, "ok\n") == 0, "%s: integrity_check: %s", dbpath, r);
    free(r);
}

/* After a kill: the file may not even have a schema yet. Returns 1 when
 * it had one (and it is consistent). */
static int
assert_integrity_after_kill(const char *dbpath)
{
    char *r = query_or_unborn(dbpath, "PRAGMA integrity_check");
    if (r == NULL)
        return 0;
    ck_assert_msg(strcmp(r, "ok\n") == 0, "%s: integrity_check: %s", dbpath, r);
    free(r);
    return 1;
}

/* Everything stored, in a canonical order: per report its identity and
 * counts, plus the stored children and failure/conflict counts. */
static char *
digest(const char *dbpath)
{
    char *a = query(
        dbpath,
        "SELECT r.org_name, r.report_id, r.policy_domain, r.date_begin, "
        "r.date_end, r.record_count, r.message_count, hex(r.content_hash), "
        "(SELECT count(*) FROM records c WHERE c.report_id = r.id), "
        "(SELECT coalesce(sum(c.count), 0) FROM records c "
        " WHERE c.report_id = r.id), "
        "(SELECT count(*) FROM records c JOIN dkim_results d "
        " ON d.record_id = c.id WHERE c.report_id = r.id) "
        "FROM reports r ORDER BY r.org_name, r.report_id");
    char *b = query(dbpath, "SELECT 'failed', count(*) FROM failed_inputs");
    char *c = query(dbpath, "SELECT 'conflicts', count(*) FROM conflicts");
    char *d = NULL;

    ck_assert(asprintf(&d, "%s%s%s", a, b, c) > 0);
    free(a);
    free(b);
    free(c);
    return d;
}

static void
rm_db(const char *dbpath)
{
    static const char *const sfx[] = {"", "-wal", "-shm", "-journal"};
    size_t i;

    for (i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
        char *p = NULL;
        ck_assert(asprintf(&p, "%s%s", dbpath, sfx[i]) > 0);
        unlink(p);
        free(p);
    }
}

/* Ingest everything into a fresh database; returns its digest. */
static char *
clean_run(const char *dbpath, double *secs)
{
    struct timespec t0, t1;
    proc p;

    rm_db(dbpath);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    sift(&p, NULL, dbpath, "ingest", "--quiet", srcdir, NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ck_assert_msg(p.code == 0, "clean ingest: exit %d: %s", p.code, p.err);
    ck_assert_str_eq(p.err, "");
    proc_free(&p);
    if (secs)
        *secs = (double)(t1.tv_sec - t0.tv_sec) +
                (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    return digest(dbpath);
}

static void
assert_reports(const char *dbpath, unsigned n)
{
    char *r = query(dbpath, "SELECT count(*) FROM reports");
    char want[32];
    snprintf(want, sizeof(want), "%u\n", n);
    ck_assert_str_eq(r, want);
    free(r);
}

/* --- (a) SIGKILL at random points --------------------------------------- */

static uint64_t prng = UINT64_C(0x5eed20261122);

static unsigned
rnd(unsigned n)
{
    prng ^= prng << 13;
    prng ^= prng >> 7;
    prng ^= prng << 17;
    return (unsigned)(prng % n);
}

START_TEST(test_sigkill_then_rerun_equals_one_clean_run)
{
    char *want, *got;
    char dbk[4300];
    double secs;
    unsigned trial, killed = 0, unborn = 0, window;

    want = clean_run(sbpath("clean.db"), &secs);
    assert_integrity(sbpath("clean.db"));
    ck_assert_ptr_nonnull(strstr(want, "failed|0\n"));
    /* kill within 10..400 ms, but inside the run even on a fast build */
    window = (unsigned)(secs * 1000);
    if (window > 400)
        window = 400;
    if (window < 20)
        window = 20;
    snprintf(dbk, sizeof(dbk), "%s/kill.db", sb);
    for (trial = 0; trial < 20; trial++) {
        argvb a;
        proc p;
        struct timespec ts;
        unsigned ms = 10 + rnd(window - 9);

        rm_db(dbk);
        argv_init(&a, dbk);
        argv_add(&a, "ingest");
        argv_add(&a, "--quiet");
        argv_add(&a, srcdir);
        start(&p, a.v, NULL);
        ts.tv_sec = ms / 1000;
        ts.tv_nsec = (long)(ms % 1000) * 1000000L;
        nanosleep(&ts, NULL);
        kill(p.pid, SIGKILL);
        finish(&p);
        killed += p.code == -SIGKILL;
        ck_assert_msg(p.code == -SIGKILL || p.code == 0,
                      "trial %u: exit %d: %s", trial, p.code, p.err);
        proc_free(&p);
        if (access(dbk, F_OK) == 0)
            unborn += !assert_integrity_after_kill(dbk);

        sift(&p, NULL, dbk, "ingest", "--quiet", srcdir, NULL);
        ck_assert_msg(p.code == 0,
                      "trial %u (killed at %u ms): rerun exit "
                      "%d: %s",
                      trial, ms, p.code, p.err);
        proc_free(&p);
        assert_integrity(dbk);
        got = digest(dbk);
        ck_assert_msg(strcmp(got, want) == 0,
                      "trial %u (killed at %u ms): stored data differs", trial,
                      ms);
        free(got);
    }
    printf("faults: %u of 20 ingest runs killed mid-run (%u before the schema "
           "existed; window %u ms, clean run %.2f s)\n",
           killed, unborn, window, secs);
    ck_assert_msg(killed >= 5, "only %u of 20 runs were killed mid-run",
                  killed);
    free(want);
}
END_TEST

/* --- (b) concurrent writers ---------------------------------------------- */

/* `n` ingest processes at once, process k over files [k*step, k*step +
 * span): together they cover every file, with overlaps. */
static void
concurrent(unsigned n, unsigned step, unsigned span)
{
    char *want = clean_run(sbpath("clean.db"), NULL), *got;
    char dbc[4300];
    proc p[4];
    argvb a[4];
    unsigned k, i;

    snprintf(dbc, sizeof(dbc), "%s/conc-%u.db", sb, n);
    rm_db(dbc);
    for (k = 0; k < n; k++) {
        argv_init(&a[k], dbc);
        argv_add(&a[k], "ingest");
        argv_add(&a[k], "--quiet");
        for (i = k * step; i < k * step + span && i < NREPORTS; i++)
            argv_add(&a[k], files[i]);
    }
    for (k = 0; k < n; k++)
        start(&p[k], a[k].v, NULL);
    for (k = 0; k < n; k++)
        finish(&p[k]);
    for (k = 0; k < n; k++) {
        ck_assert_msg(p[k].code == 0, "writer %u of %u: exit %d: %s", k, n,
                      p[k].code, p[k].err);
        ck_assert_str_eq(p[k].err, "");
        proc_free(&p[k]);
    }
    assert_integrity(dbc);
    assert_reports(dbc, NREPORTS);
    got = digest(dbc);
    ck_assert_str_eq(got, want);
    free(got);
    free(want);
}

START_TEST(test_two_concurrent_ingests)
{
    concurrent(2, 70, 130); /* 0..129 and 70..199 */
}
END_TEST

START_TEST(test_four_concurrent_ingests)
{
    concurrent(4, 40, 80); /* 0..79, 40..119, 80..159, 120..199 */
}
END_TEST

/* --- (c) databases that cannot be written ----------------------------- */

/* Exit 74 and exactly one stderr line, starting "dmarcsift: <db>: ". */
static void
assert_db_error(const proc *p, const char *dbpath, const char *needle)
{
    char prefix[4400];

    ck_assert_msg(p->code == 74, "exit %d (want 74): %s", p->code, p->err);
    ck_assert_msg(count_lines(p->err) == 1, "want one line: %s", p->err);
    snprintf(prefix, sizeof(prefix), "dmarcsift: %s: ", dbpath);
    ck_assert_msg(strncmp(p->err, prefix, strlen(prefix)) == 0,
                  "want '%s...', got: %s", prefix, p->err);
    ck_assert_msg(strstr(p->err, needle) != NULL, "no '%s' in: %s", needle,
                  p->err);
}

static void
assert_no_db(const proc *p, const char *dbpath)
{
    char want[4400];

    snprintf(want, sizeof(want),
             "dmarcsift: no database at %s (run 'dmarcsift ingest' first, or"
             " pass --db)\n",
             dbpath);
    ck_assert_msg(p->code == 66, "exit %d (want 66): %s", p->code, p->err);
    ck_assert_str_eq(p->err, want);
    ck_assert_str_eq(p->out, "");
}

START_TEST(test_missing_directory_for_db)
{
    static const char db[] = "/nonexistent/dir/x.db";
    proc p;

    sift(&p, NULL, db, "ingest", "--quiet", files[0], NULL);
    assert_db_error(&p, db, "cannot open database");
    ck_assert_str_eq(p.out, "");
    proc_free(&p);
    sift(&p, NULL, db, "report", NULL);
    assert_no_db(&p, db);
    proc_free(&p);
}
END_TEST

/* Issue 11.8: commands that only read (or maintain) a database never
 * create one: exit 66, one exact line, no file (nor -wal/-shm). */
START_TEST(test_readonly_open_of_a_missing_db_creates_nothing)
{
    const char *db = sbpath("absent.db");
    char side[4200];
    struct stat st;
    proc p;

    sift(&p, NULL, db, "stats", NULL);
    assert_no_db(&p, db);
    proc_free(&p);
    sift(&p, NULL, db, "export", NULL);
    assert_no_db(&p, db);
    proc_free(&p);
    sift(&p, NULL, db, "report", NULL);
    assert_no_db(&p, db);
    proc_free(&p);
    sift(&p, NULL, db, "prune", "--before", "2026-01-01", NULL);
    assert_no_db(&p, db);
    proc_free(&p);
    sift(&p, NULL, db, "retry-failed", NULL);
    assert_no_db(&p, db);
    proc_free(&p);
    sift(&p, NULL, db, "failed", "list", NULL);
    assert_no_db(&p, db);
    proc_free(&p);
    sift(&p, NULL, db, "failed", "forget", "--all", NULL);
    assert_no_db(&p, db);
    proc_free(&p);
    ck_assert(stat(db, &st) != 0 && errno == ENOENT);
    snprintf(side, sizeof(side), "%s-wal", db);
    ck_assert(stat(side, &st) != 0 && errno == ENOENT);
    snprintf(side, sizeof(side), "%s-shm", db);
    ck_assert(stat(side, &st) != 0 && errno == ENOENT);
}
END_TEST

START_TEST(test_db_that_is_not_a_database)
{
    const char *db = sbpath("junk.db");
    char junk[8192];
    proc p;

    memset(junk, 'J', sizeof(junk));
    ck_assert(spit(db, junk, sizeof(junk)) == 0);
    sift(&p, NULL, db, "ingest", "--quiet", files[0], NULL);
    assert_db_error(&p, db, ": not a dmarcsift database");
    proc_free(&p);
    sift(&p, NULL, db, "stats", NULL);
    assert_db_error(&p, db, ": not a dmarcsift database");
    proc_free(&p);
    /* a directory where the file should be */
    ck_assert(mkdir(sbpath("dir.db"), 0700) == 0);
    sift(&p, NULL, sbpath("dir.db"), "ingest", "--quiet", files[0], NULL);
    assert_db_error(&p, sbpath("dir.db"), "cannot open database");
    proc_free(&p);
}
END_TEST

/* A read-only filesystem: chmod does not stop root, so the database's
 * directory is bind-mounted read-only in a private mount namespace. */
START_TEST(test_readonly_filesystem)
{
    char dir[4300], db[4400];
    spawn_opts ro = {0};
    proc p;

    snprintf(dir, sizeof(dir), "%s/ro", sb);
    snprintf(db, sizeof(db), "%s/ro.db", dir);
    ck_assert(mkdir(dir, 0700) == 0);
    sift(&p, NULL, db, "ingest", "--quiet", files[0], NULL);
    ck_assert_msg(p.code == 0, "exit %d: %s", p.code, p.err);
    proc_free(&p);

    ro.ro_path = dir;
    sift(&p, &ro, db, "ingest", "--quiet", files[1], NULL);
    if (p.code == 125) {
        printf("faults: SKIPPED read-only filesystem test: no user/mount "
               "namespaces here\n");
        proc_free(&p);
        return;
    }
    printf("faults: ingest on a read-only filesystem: %s", p.err);
    fflush(stdout);
    assert_db_error(&p, db, "");
    {
        char want[4500];
        snprintf(want, sizeof(want), "dmarcsift: %s: database is read-only\n",
                 db);
        ck_assert_str_eq(p.err, want);
    }
    proc_free(&p);
    /* reading still works (a backup on a read-only mount); asserted last,
     * after the checks below, which open the file from outside the
     * namespace and so leave -shm/-wal files behind */
    sift(&p, &ro, db, "stats", "--format", "json", NULL);
    /* nothing was half-written */
    assert_integrity(db);
    assert_reports(db, 1);
    ck_assert_msg(p.code == 0, "stats on a read-only fs: exit %d: %s", p.code,
                  p.err);
    ck_assert_msg(strncmp(p.out, "{\"reports\": 1,", 14) == 0, "%s", p.out);
    proc_free(&p);
}
END_TEST

/* A full disk: RLIMIT_FSIZE makes write() fail with EFBIG part way. */
/* Issue 11.4: on a full disk the summary counts only reports whose batch
 * committed; those lost with the failed batch are failed, exit 74. (0.1.0
 * said "ingested 400 reports" while the database held none of them.) */
START_TEST(test_full_disk_summary_counts_committed)
{
    const char *db = sbpath("sum.db");
    spawn_opts full = {0};
    unsigned long long imported = 0, failed = 0, stored_before, stored;
    struct stat st;
    char *r;
    const char *p;
    proc q;
    unsigned i;
    argvb a;

    argv_init(&a, db);
    argv_add(&a, "ingest");
    argv_add(&a, "--quiet");
    for (i = 0; i < 5; i++)
        argv_add(&a, files[i]);
    start(&q, a.v, NULL);
    finish(&q);
    ck_assert_msg(q.code == 0, "exit %d: %s", q.code, q.err);
    proc_free(&q);
    ck_assert(stat(db, &st) == 0);
    r = query(db, "SELECT count(*) FROM reports");
    stored_before = strtoull(r, NULL, 10);
    free(r);

    full.fsize = (rlim_t)st.st_size + 64 * 1024;
    sift(&q, &full, db, "ingest", srcdir, NULL);
    ck_assert_msg(q.code == 74, "exit %d: %s", q.code, q.err);
    ck_assert_msg(strncmp(q.out, "ingested ", 9) == 0, "summary: %s", q.out);
    imported = strtoull(q.out + 9, NULL, 10);
    p = strstr(q.out, "failure reports; ");
    ck_assert_msg(p != NULL, "summary: %s", q.out);
    failed = strtoull(p + 17, NULL, 10);
    proc_free(&q);
    r = query(db, "SELECT count(*) FROM reports");
    stored = strtoull(r, NULL, 10);
    free(r);
    printf("faults: full disk: summary says %llu ingested, %llu failed;"
           " the database gained %llu\n",
           imported, failed, stored - stored_before);
    ck_assert_uint_eq(imported, stored - stored_before);
    ck_assert_uint_gt(failed, 0); /* the lost batch */
    assert_integrity(db);
}
END_TEST

START_TEST(test_full_disk_then_recovery)
{
    char *want = clean_run(sbpath("clean.db"), NULL), *got;
    const char *db = sbpath("full.db");
    spawn_opts full = {0};
    struct stat st;
    proc p;
    unsigned i;
    argvb a;

    /* a few reports first, so the file exists and has a size */
    argv_init(&a, db);
    argv_add(&a, "ingest");
    argv_add(&a, "--quiet");
    for (i = 0; i < 5; i++)
        argv_add(&a, files[i]);
    start(&p, a.v, NULL);
    finish(&p);
    ck_assert_msg(p.code == 0, "exit %d: %s", p.code, p.err);
    proc_free(&p);
    ck_assert(stat(db, &st) == 0);

    full.fsize = (rlim_t)st.st_size + 64 * 1024;
    sift(&p, &full, db, "ingest", "--quiet", srcdir, NULL);
    assert_db_error(&p, db,
                    "disk I/O error (the file size limit (ulimit -f) of");
    printf("faults: full disk (file size limit %llu bytes): %s",
           (unsigned long long)full.fsize, p.err);
    proc_free(&p);
    assert_integrity(db);

    sift(&p, NULL, db, "ingest", "--quiet", srcdir, NULL);
    ck_assert_msg(p.code == 0, "rerun: exit %d: %s", p.code, p.err);
    proc_free(&p);
    assert_integrity(db);
    got = digest(db);
    ck_assert_str_eq(got, want);
    free(got);
    free(want);
}
END_TEST

static Suite *
faults_suite(void)
{
    Suite *s = suite_create("faults");
    TCase *kill9 = tcase_create("sigkill");
    TCase *conc = tcase_create("concurrency");
    TCase *io = tcase_create("io");
    TCase *all[] = {kill9, conc, io};
    size_t i;

    for (i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        tcase_add_checked_fixture(all[i], setup, teardown);
        tcase_set_timeout(all[i], 120);
        suite_add_tcase(s, all[i]);
    }
    tcase_add_test(kill9, test_sigkill_then_rerun_equals_one_clean_run);
    tcase_add_test(conc, test_two_concurrent_ingests);
    tcase_add_test(conc, test_four_concurrent_ingests);
    tcase_add_test(io, test_missing_directory_for_db);
    tcase_add_test(io, test_readonly_open_of_a_missing_db_creates_nothing);
    tcase_add_test(io, test_db_that_is_not_a_database);
    tcase_add_test(io, test_readonly_filesystem);
    tcase_add_test(io, test_full_disk_then_recovery);
    tcase_add_test(io, test_full_disk_summary_counts_committed);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(faults_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
