/* check_hostile.c -- hostile inputs through the real dmarcsift binary.
 *
 * Every input is generated at run time in a sandbox (bombs are built with
 * zlib from repeated full-flush deflate blocks, so they stay ~1 MB on
 * disk). Invariant checked for each: the bad input is named in one stderr
 * line with exit 65, nothing crashes, and the good report in the same run
 * is stored. Output safety: text/JSON/CSV renderings of hostile strings. */
#define _GNU_SOURCE /* asprintf */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "testutil.h"

/* Time bounds are for optimised builds; sanitizer builds get more. */
#if defined(__SANITIZE_ADDRESS__)
#define SLOW 6
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SLOW 6
#endif
#endif
#ifndef SLOW
#define SLOW 1
#endif

/* SIFT_TSAN=1 (scripts/test.sh's TSan job): the binary runs 5-15 times
 * slower and bigger under ThreadSanitizer. The time and RSS bounds are
 * relaxed by scaling what spawn() measures; assertions on content are
 * untouched. */
static double
tsan_slack(void)
{
    const char *e = getenv("SIFT_TSAN");

    return e != NULL && *e != '\0' && strcmp(e, "0") != 0 ? 15.0 : 1.0;
}

/* --- running the binary ------------------------------------------------ */

/* The next spawn()'s stdin (NULL: /dev/null); reset after each. */
static const char *stdin_path;
/* The next spawn()'s resource limit (RLIMIT_AS or RLIMIT_NOFILE; -1:
 * none), set in the child before exec; reset after each. */
static int child_res = -1;
static rlim_t child_lim;

typedef struct proc {
    int code;    /* exit status, or -signal when killed */
    double secs; /* CPU time (user + system) of the child: the work an
                    input costs, whatever else loads the machine (a wall
                    clock bound failed CI runs on a busy machine) */
    long rss_kb; /* peak RSS of the child (wait4 ru_maxrss) */
    char *out, *err;
} proc;

static void
proc_free(proc *p)
{
    free(p->out);
    free(p->err);
    memset(p, 0, sizeof(*p));
}

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

/* fork/exec argv in `cwd` (NULL: inherit) and wait4() for it, measuring
 * wall time and peak RSS; stdout/stderr are captured. */
static void
spawn(proc *p, const char *const *argv, const char *cwd)
{
    char to[] = "/tmp/sift-hout-XXXXXX", te[] = "/tmp/sift-herr-XXXXXX";
    int fo = mkstemp(to), fe = mkstemp(te), st = 0;
    struct rusage ru;
    pid_t pid;

    ck_assert(fo >= 0 && fe >= 0);
    unlink(to);
    unlink(te);
    pid = fork();
    ck_assert(pid >= 0);
    if (pid == 0) {
        int fi = open(stdin_path ? stdin_path : "/dev/null", O_RDONLY);
        if (fi < 0 || (cwd && chdir(cwd) != 0))
            _exit(126);
        dup2(fi, 0);
        dup2(fo, 1);
        dup2(fe, 2);
        if (fi > 2)
            close(fi);
        close(fo);
        close(fe);
        if (child_res >= 0) {
            struct rlimit rl = {child_lim, child_lim};
            if (setrlimit(child_res, &rl) != 0)
                _exit(125);
        }
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    stdin_path = NULL;
    child_res = -1;
    ck_assert(wait4(pid, &st, 0, &ru) == pid);
    p->secs = ((double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
               (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6) /
              tsan_slack();
    p->rss_kb = (long)((double)ru.ru_maxrss / tsan_slack());
    p->code = WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st);
    p->out = read_fd(fo);
    p->err = read_fd(fe);
    close(fo);
    close(fe);
}

/* dmarcsift --db DB args... (NULL-terminated), run in cwd. */
static void
sift_in(proc *p, const char *cwd, const char *db, ...)
{
    const char *argv[32];
    va_list ap;
    int n = 0;

    argv[n++] = SIFT_BINARY;
    argv[n++] = "--db";
    argv[n++] = db;
    va_start(ap, db);
    while (n < 31 && (argv[n] = va_arg(ap, const char *)) != NULL)
        n++;
    va_end(ap);
    argv[n] = NULL;
    spawn(p, argv, cwd);
}

static size_t
count_lines(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* One measurement line on stdout (collected in docs/security.md). */
static void
note(const proc *p, const char *what, long long disk)
{
    printf("hostile: %s: exit %d, %.2f s, peak RSS %ld MiB", what, p->code,
           p->secs, p->rss_kb / 1024);
    if (disk > 0)
        printf(", %lld bytes on disk", disk);
    printf("\n");
    if (p->err && *p->err)
        printf("  %s%s", p->err,
               p->err[strlen(p->err) - 1] == '\n' ? "" : "\n");
    fflush(stdout);
}

/* --- the sandbox and a good report ---------------------------------------- */

static char *sb;        /* this test's sandbox */
static char db[4200];   /* sb/db */
static char good[4200]; /* sb/good.xml */

static const char *
sbpath(const char *name)
{
    static char bufs[4][4200];
    static int i;
    i = (i + 1) % 4;
    snprintf(bufs[i], sizeof(bufs[i]), "%s/%s", sb, name);
    return bufs[i];
}

#define REPORT_HEAD                                                            \
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"                             \
    "<feedback>\n"                                                             \
    "  <report_metadata>\n"                                                    \
    "    <org_name>%s</org_name>\n"                                            \
    "    <email>dmarc@reporter.example</email>\n"                              \
    "    <report_id>%s</report_id>\n"                                          \
    "    <date_range><begin>1793491200</begin>"                                \
    "<end>1793577599</end></date_range>\n"                                     \
    "  </report_metadata>\n"                                                   \
    "  <policy_published><domain>example.com</domain><adkim>r</adkim>"         \
    "<aspf>r</aspf><p>none</p><sp>none</sp><pct>100</pct>"                     \
    "</policy_published>\n"
#define REPORT_RECORD                                                          \
    "  <record>\n"                                                             \
    "    <row><source_ip>%s</source_ip><count>%d</count>\n"                    \
    "      <policy_evaluated><disposition>none</disposition>"                  \
    "<dkim>fail</dkim><spf>fail</spf>%s</policy_evaluated></row>\n"            \
    "    <identifiers><header_from>example.com</header_from>"                  \
    "<envelope_from>%s</envelope_from></identifiers>\n"                        \
    "    <auth_results><dkim><domain>%s</domain><result>pass</result>"         \
    "<selector>s1</selector><human_result>%s</human_result></dkim>"            \
    "<spf><domain>%s</domain><result>pass</result></spf></auth_results>\n"     \
    "  </record>\n"
#define REPORT_TAIL "</feedback>\n"

/* A small valid report (caller frees): one failing record. */
static char *
report_xml(const char *org, const char *id)
{
    char *s = NULL;
    ck_assert(asprintf(&s, REPORT_HEAD REPORT_RECORD REPORT_TAIL, org, id,
                       "192.0.2.1", 5, "", "sender.example", "sender.example",
                       "", "sender.example") > 0);
    return s;
}

static void
write_file(const char *path, const void *p, size_t n)
{
    ck_assert_msg(spit(path, p, n) == 0, "cannot write %s", path);
}

static void
setup(void)
{
    char *g;
    sb = sandbox();
    ck_assert_ptr_nonnull(sb);
    snprintf(db, sizeof(db), "%s/db", sb);
    snprintf(good, sizeof(good), "%s/good.xml", sb);
    g = report_xml("good.example", "good-1");
    write_file(good, g, strlen(g));
    free(g);
}

static void
teardown(void)
{
    rm_rf(sb);
    free(sb);
    sb = NULL;
}

/* --- byte buffers, gzip and zip writers ---------------------------------- */

typedef struct mem {
    unsigned char *p;
    size_t len, cap;
} mem;

static void
mem_add(mem *m, const void *p, size_t n)
{
    if (m->cap - m->len < n) {
        size_t nc = m->cap ? m->cap : 4096;
        while (nc - m->len < n)
            nc *= 2;
        m->p = realloc(m->p, nc);
        ck_assert_ptr_nonnull(m->p);
        m->cap = nc;
    }
    if (n)
        memcpy(m->p + m->len, p, n);
    m->len += n;
}

static void
mem_u16(mem *m, unsigned v)
{
    unsigned char b[2] = {v & 0xff, (v >> 8) & 0xff};
    mem_add(m, b, 2);
}

static void
mem_u32(mem *m, uint32_t v)
{
    unsigned char b[4] = {v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff,
                          (v >> 24) & 0xff};
    mem_add(m, b, 4);
}

static void
mem_u64(mem *m, uint64_t v)
{
    mem_u32(m, (uint32_t)v);
    mem_u32(m, (uint32_t)(v >> 32));
}

static void
mem_free(mem *m)
{
    free(m->p);
    memset(m, 0, sizeof(*m));
}

/* Feed n bytes to a raw deflate stream, appending output to m. */
static void
zpush(z_stream *z, mem *m, const void *p, size_t n, int flush)
{
    unsigned char out[65536];
    int rc;

    z->next_in = (unsigned char *)p;
    z->avail_in = (uInt)n;
    do {
        z->next_out = out;
        z->avail_out = sizeof(out);
        rc = deflate(z, flush);
        ck_assert(rc == Z_OK || rc == Z_STREAM_END || rc == Z_BUF_ERROR);
        mem_add(m, out, sizeof(out) - z->avail_out);
    } while (z->avail_out == 0 || (flush == Z_FINISH && rc != Z_STREAM_END));
}

/* A deflated stream of head + fill_len bytes of `fill` + tail (with
 * `mark`, when not NULL, ending every 32 KiB of the fill). The
 * middle is one 1 MiB chunk deflated between two full flushes and then
 * repeated: each copy is self-contained, so the bomb costs nothing to
 * build. *crc and *usize describe the inflated bytes (usize % 2^32 is the
 * gzip ISIZE). fill_len must be a multiple of 1 MiB. */
static void
deflate_bomb_marked(mem *out, const char *head, int fill, const char *mark,
                    uint64_t fill_len, const char *tail, uint32_t *crc,
                    uint64_t *usize)
{
    const size_t chunk = 1u << 20;
    unsigned char *buf = malloc(chunk), *blk;
    size_t mark_at, mark_len = mark ? strlen(mark) : 0;
    size_t pos, blen;
    uint64_t i;
    uLong c, cc;
    z_stream z;

    ck_assert_ptr_nonnull(buf);
    ck_assert(fill_len % chunk == 0);
    memset(buf, fill, chunk);
    for (mark_at = 32768; mark_len && mark_at <= chunk; mark_at += 32768)
        memcpy(buf + mark_at - mark_len, mark, mark_len);
    memset(&z, 0, sizeof(z));
    ck_assert(deflateInit2(&z, 9, Z_DEFLATED, -15, 9, Z_DEFAULT_STRATEGY) ==
              Z_OK);
    zpush(&z, out, head, strlen(head), Z_FULL_FLUSH);
    c = crc32(0, (const Bytef *)head, (uInt)strlen(head));
    cc = crc32(0, buf, (uInt)chunk);
    if (fill_len > 0) {
        pos = out->len;
        zpush(&z, out, buf, chunk, Z_FULL_FLUSH);
        blen = out->len - pos;
        blk = malloc(blen);
        ck_assert_ptr_nonnull(blk);
        memcpy(blk, out->p + pos, blen);
        for (i = 1; i < fill_len / chunk; i++)
            mem_add(out, blk, blen);
        free(blk);
        for (i = 0; i < fill_len / chunk; i++)
            c = crc32_combine(c, cc, (z_off_t)chunk);
    }
    zpush(&z, out, tail, strlen(tail), Z_FINISH);
    c = crc32(c, (const Bytef *)tail, (uInt)strlen(tail));
    deflateEnd(&z);
    free(buf);
    *crc = (uint32_t)c;
    *usize = strlen(head) + fill_len + strlen(tail);
}

static void
deflate_bomb(mem *out, const char *head, int fill, uint64_t fill_len,
             const char *tail, uint32_t *crc, uint64_t *usize)
{
    deflate_bomb_marked(out, head, fill, NULL, fill_len, tail, crc, usize);
}

/* gzip framing (RFC 1952) around a raw deflate stream. */
static void
gzip_frame(mem *out, const mem *raw, uint32_t crc, uint64_t usize)
{
    static const unsigned char hdr[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
    mem_add(out, hdr, sizeof(hdr));
    mem_add(out, raw->p, raw->len);
    mem_u32(out, crc);
    mem_u32(out, (uint32_t)usize);
}

static void
write_gz_bomb_marked(const char *path, const char *head, int fill,
                     const char *mark, uint64_t fill_len, const char *tail)
{
    mem raw = {0}, gz = {0};
    uint32_t crc;
    uint64_t usize;

    deflate_bomb_marked(&raw, head, fill, mark, fill_len, tail, &crc, &usize);
    gzip_frame(&gz, &raw, crc, usize);
    write_file(path, gz.p, gz.len);
    mem_free(&raw);
    mem_free(&gz);
}

static void
write_gz_bomb(const char *path, const char *head, int fill, uint64_t fill_len,
              const char *tail)
{
    write_gz_bomb_marked(path, head, fill, NULL, fill_len, tail);
}

/* Plain gzip of a buffer. */
static void
gzip_mem(mem *out, const void *p, size_t n)
{
    mem raw = {0};
    z_stream z;

    memset(&z, 0, sizeof(z));
    ck_assert(deflateInit2(&z, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) ==
              Z_OK);
    zpush(&z, &raw, p, n, Z_FINISH);
    deflateEnd(&z);
    gzip_frame(out, &raw, (uint32_t)crc32(0, p, (uInt)n), n);
    mem_free(&raw);
}

/* A zip archive written by hand, so that its headers can lie. */
typedef struct zentry {
    char *name;
    uint32_t crc, csize, usize, offset;
    unsigned method;
} zentry;

typedef struct zipw {
    mem m;
    zentry *e;
    size_t n, cap;
} zipw;

static void
zip_cd_entry(zipw *z, const char *name, uint32_t crc, uint32_t csize,
             uint32_t usize, uint32_t offset, unsigned method)
{
    if (z->n == z->cap) {
        z->cap = z->cap ? z->cap * 2 : 16;
        z->e = realloc(z->e, z->cap * sizeof(*z->e));
        ck_assert_ptr_nonnull(z->e);
    }
    z->e[z->n].name = strdup(name);
    z->e[z->n].crc = crc;
    z->e[z->n].csize = csize;
    z->e[z->n].usize = usize;
    z->e[z->n].offset = offset;
    z->e[z->n].method = method;
    z->n++;
}

/* Add an entry with already-compressed data; crc/usize are what the
 * headers claim. Returns the local header offset. */
static uint32_t
zip_add_raw(zipw *z, const char *name, const void *data, size_t clen,
            unsigned method, uint32_t crc, uint32_t usize)
{
    uint32_t off = (uint32_t)z->m.len;
    mem_u32(&z->m, 0x04034b50);
    mem_u16(&z->m, 20);
    mem_u16(&z->m, 0);
    mem_u16(&z->m, method);
    mem_u16(&z->m, 0);
    mem_u16(&z->m, 0x21);
    mem_u32(&z->m, crc);
    mem_u32(&z->m, (uint32_t)clen);
    mem_u32(&z->m, usize);
    mem_u16(&z->m, (unsigned)strlen(name));
    mem_u16(&z->m, 0);
    mem_add(&z->m, name, strlen(name));
    mem_add(&z->m, data, clen);
    zip_cd_entry(z, name, crc, (uint32_t)clen, usize, off, method);
    return off;
}

/* Add a deflated entry holding p[0..n). */
static void
zip_add(zipw *z, const char *name, const void *p, size_t n)
{
    mem raw = {0};
    z_stream s;

    memset(&s, 0, sizeof(s));
    ck_assert(deflateInit2(&s, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) ==
              Z_OK);
    zpush(&s, &raw, p, n, Z_FINISH);
    deflateEnd(&s);
    zip_add_raw(z, name, raw.p, raw.len, 8, (uint32_t)crc32(0, p, (uInt)n),
                (uint32_t)n);
    mem_free(&raw);
}

/* Central directory and end records (zip64 ones past 65535 entries). */
static void
zip_finish(zipw *z, mem *out)
{
    uint32_t cd_off = (uint32_t)z->m.len, cd_size;
    size_t i;
    int z64 = z->n > 0xfffe;

    for (i = 0; i < z->n; i++) {
        zentry *e = &z->e[i];
        mem_u32(&z->m, 0x02014b50);
        mem_u16(&z->m, 20);
        mem_u16(&z->m, 20);
        mem_u16(&z->m, 0);
        mem_u16(&z->m, e->method);
        mem_u16(&z->m, 0);
        mem_u16(&z->m, 0x21);
        mem_u32(&z->m, e->crc);
        mem_u32(&z->m, e->csize);
        mem_u32(&z->m, e->usize);
        mem_u16(&z->m, (unsigned)strlen(e->name));
        mem_u16(&z->m, 0);
        mem_u16(&z->m, 0);
        mem_u16(&z->m, 0);
        mem_u16(&z->m, 0);
        mem_u32(&z->m, 0);
        mem_u32(&z->m, e->offset);
        mem_add(&z->m, e->name, strlen(e->name));
        free(e->name);
    }
    cd_size = (uint32_t)z->m.len - cd_off;
    if (z64) {
        uint32_t rec = (uint32_t)z->m.len;
        mem_u32(&z->m, 0x06064b50);
        mem_u64(&z->m, 44);
        mem_u16(&z->m, 45);
        mem_u16(&z->m, 45);
        mem_u32(&z->m, 0);
        mem_u32(&z->m, 0);
        mem_u64(&z->m, z->n);
        mem_u64(&z->m, z->n);
        mem_u64(&z->m, cd_size);
        mem_u64(&z->m, cd_off);
        mem_u32(&z->m, 0x07064b50);
        mem_u32(&z->m, 0);
        mem_u64(&z->m, rec);
        mem_u32(&z->m, 1);
    }
    mem_u32(&z->m, 0x06054b50);
    mem_u16(&z->m, 0);
    mem_u16(&z->m, 0);
    mem_u16(&z->m, z64 ? 0xffff : (unsigned)z->n);
    mem_u16(&z->m, z64 ? 0xffff : (unsigned)z->n);
    mem_u32(&z->m, cd_size);
    mem_u32(&z->m, cd_off);
    mem_u16(&z->m, 0);
    free(z->e);
    *out = z->m;
    memset(z, 0, sizeof(*z));
}

static int json_valid(const char *s, size_t n);

/* --- assertions ------------------------------------------------------------
 */

/* The good report (and only it, unless `extra` more) is stored. */
static void
assert_reports(unsigned n)
{
    proc p = {0};
    char want[64];

    sift_in(&p, NULL, db, "stats", "--format", "json", NULL);
    ck_assert_msg(p.code == 0, "stats exit %d: %s", p.code, p.err);
    snprintf(want, sizeof(want), "{\"reports\": %u,", n);
    ck_assert_msg(strncmp(p.out, want, strlen(want)) == 0, "want %s, stats: %s",
                  want, p.out);
    proc_free(&p);
}

/* Exit 65; exactly `lines` stderr lines, the first naming `input` and
 * holding `needle` (a substring where the text comes from a library). */
static void
assert_failed(const proc *p, const char *input, const char *needle,
              size_t lines)
{
    char prefix[4300];

    ck_assert_msg(p->code == 65, "exit %d (want 65); stderr: %s", p->code,
                  p->err);
    ck_assert_msg(count_lines(p->err) == lines, "want %zu lines: %s", lines,
                  p->err);
    snprintf(prefix, sizeof(prefix), "dmarcsift: %s", input);
    ck_assert_msg(strncmp(p->err, prefix, strlen(prefix)) == 0,
                  "stderr does not start with '%s': %s", prefix, p->err);
    ck_assert_msg(strstr(p->err, needle) != NULL, "no '%s' in: %s", needle,
                  p->err);
    ck_assert_msg(strchr(p->err, '\033') == NULL, "raw ESC on stderr");
}

/* Exit 65 and stderr is exactly the one line "dmarcsift: <sandbox>/"
 * followed by the formatted text (our own wording, so all of it). */
static void assert_line(const proc *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void
assert_line(const proc *p, const char *fmt, ...)
{
    char want[4400], tail[4096];
    va_list ap;

    ck_assert_msg(p->code == 65, "exit %d (want 65); stderr: %s", p->code,
                  p->err);
    va_start(ap, fmt);
    vsnprintf(tail, sizeof(tail), fmt, ap);
    va_end(ap);
    snprintf(want, sizeof(want), "dmarcsift: %s/%s\n", sb, tail);
    ck_assert_str_eq(p->err, want);
}

/* ingest BAD GOOD; returns the process (caller frees). */
static void
ingest_bad(proc *p, const char *bad)
{
    struct stat st;

    sift_in(p, NULL, db, "ingest", "--quiet", bad, good, NULL);
    note(p, strrchr(bad, '/') + 1, stat(bad, &st) == 0 ? st.st_size : 0);
}

/* Entries of a directory, without . and .. */
static int
dir_entries(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *e;
    int n = 0;

    ck_assert_ptr_nonnull(d);
    while ((e = readdir(d)) != NULL)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

/* --- XML-level attacks ------------------------------------------------------
 */

static const char secret[] = "SIFT-SECRET-7f3c9a0e";

/* Nothing the tool printed, now or later, contains the secret. */
static void
assert_secret_absent(const proc *ing)
{
    static const char *const cmds[][4] = {{"report", NULL},
                                          {"report", "--format", "json", NULL},
                                          {"export", "--format", "jsonl", NULL},
                                          {"export", "--format", "csv", NULL}};
    size_t i;

    ck_assert(strstr(ing->out, secret) == NULL);
    ck_assert(strstr(ing->err, secret) == NULL);
    for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        proc p = {0};
        sift_in(&p, NULL, db, cmds[i][0], cmds[i][1], cmds[i][2], NULL);
        ck_assert_msg(p.code == 0, "%s exit %d: %s", cmds[i][0], p.code, p.err);
        ck_assert(strstr(p.out, secret) == NULL);
        ck_assert(strstr(p.err, secret) == NULL);
        proc_free(&p);
    }
}

START_TEST(test_xxe_external_entity_is_not_read)
{
    char *x = NULL;
    proc p = {0};

    write_file(sbpath("secret.txt"), secret, strlen(secret));
    ck_assert(asprintf(&x,
                       "<?xml version=\"1.0\"?>\n"
                       "<!DOCTYPE feedback [\n"
                       "  <!ENTITY xxe SYSTEM \"file://%s/secret.txt\">\n"
                       "]>\n" REPORT_HEAD REPORT_TAIL,
                       sb, "&xxe;", "xxe-1") > 0);
    /* REPORT_HEAD has its own XML declaration: drop the second one */
    {
        char *decl = strstr(x + 5, "<?xml");
        char *end = strstr(decl, "?>") + 3;
        memmove(decl, end, strlen(end) + 1);
    }
    write_file(sbpath("xxe.xml"), x, strlen(x));
    free(x);
    ingest_bad(&p, sbpath("xxe.xml"));
    assert_line(&p, "xxe.xml: DOCTYPE not allowed in a DMARC report");
    assert_reports(1);
    assert_secret_absent(&p);
    proc_free(&p);

    /* an external parameter entity inside the internal subset */
    ck_assert(asprintf(&x,
                       "<?xml version=\"1.0\"?>\n"
                       "<!DOCTYPE feedback [\n"
                       "  <!ENTITY %% p SYSTEM \"file://%s/secret.txt\">\n"
                       "  %%p;\n"
                       "]>\n<feedback><report_metadata><org_name>x"
                       "</org_name></report_metadata></feedback>\n",
                       sb) > 0);
    write_file(sbpath("xxe-pe.xml"), x, strlen(x));
    free(x);
    ingest_bad(&p, sbpath("xxe-pe.xml"));
    assert_line(&p, "xxe-pe.xml: DOCTYPE not allowed in a DMARC report");
    assert_secret_absent(&p);
    proc_free(&p);
}
END_TEST

START_TEST(test_billion_laughs_is_refused)
{
    static const char lol[] =
        "<?xml version=\"1.0\"?>\n"
        "<!DOCTYPE lolz [\n"
        " <!ENTITY lol \"lol\">\n"
        " <!ENTITY lol1 "
        "\"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n"
        " <!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;"
        "&lol1;&lol1;\">\n"
        " <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;"
        "&lol2;&lol2;\">\n"
        " <!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;"
        "&lol3;&lol3;\">\n"
        " <!ENTITY lol5 \"&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;"
        "&lol4;&lol4;\">\n"
        " <!ENTITY lol6 \"&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;"
        "&lol5;&lol5;\">\n"
        " <!ENTITY lol7 \"&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;"
        "&lol6;&lol6;\">\n"
        " <!ENTITY lol8 \"&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;"
        "&lol7;&lol7;\">\n"
        " <!ENTITY lol9 \"&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;"
        "&lol8;&lol8;\">\n"
        "]>\n"
        "<feedback><report_metadata><org_name>&lol9;</org_name>"
        "</report_metadata></feedback>\n";
    proc p = {0};

    write_file(sbpath("lol.xml"), lol, strlen(lol));
    ingest_bad(&p, sbpath("lol.xml"));
    assert_line(&p, "lol.xml: DOCTYPE not allowed in a DMARC report");
    ck_assert_msg(p.secs < 10, "took %.1f s", p.secs);
    ck_assert_msg(p.rss_kb < 200 * 1024, "peak RSS %ld KiB", p.rss_kb);
    assert_reports(1);
    proc_free(&p);
}
END_TEST

START_TEST(test_doctype_is_refused)
{
    char *x = report_xml("dtd.example", "dtd-1");
    char *y = NULL;
    proc p = {0};

    /* a DOCTYPE right after the XML declaration, pointing nowhere */
    ck_assert(asprintf(&y,
                       "%.*s<!DOCTYPE feedback SYSTEM "
                       "\"http://dtd.invalid/feedback.dtd\">\n%s",
                       (int)(strchr(x, '\n') - x + 1), x,
                       strchr(x, '\n') + 1) > 0);
    write_file(sbpath("dtd.xml"), y, strlen(y));
    ingest_bad(&p, sbpath("dtd.xml"));
    assert_line(&p, "dtd.xml: DOCTYPE not allowed in a DMARC report");
    assert_reports(1);
    free(x);
    free(y);
    proc_free(&p);
}
END_TEST

START_TEST(test_deep_nesting_is_refused)
{
    const size_t depth = 100000;
    mem m = {0};
    proc p = {0};
    size_t i;

    mem_add(&m, "<?xml version=\"1.0\"?>\n<feedback>", 32);
    for (i = 0; i < depth; i++)
        mem_add(&m, "<a>", 3);
    for (i = 0; i < depth; i++)
        mem_add(&m, "</a>", 4);
    mem_add(&m, "</feedback>\n", 12);
    write_file(sbpath("deep.xml"), m.p, m.len);
    mem_free(&m);
    ingest_bad(&p, sbpath("deep.xml"));
    assert_line(&p, "deep.xml:2: element nesting deeper than 32 levels");
    ck_assert_msg(p.secs < 10, "took %.1f s", p.secs);
    assert_reports(1);
    proc_free(&p);
}
END_TEST

START_TEST(test_100mb_text_node_is_refused)
{
    char *head = NULL;
    proc p = {0};

    ck_assert(asprintf(&head, "<?xml version=\"1.0\"?>\n<feedback>\n"
                              "<report_metadata><org_name>") > 0);
    write_gz_bomb(sbpath("text.xml.gz"), head, 'A', UINT64_C(100) << 20,
                  "</org_name></report_metadata></feedback>\n");
    free(head);
    ingest_bad(&p, sbpath("text.xml.gz"));
    assert_line(&p, "text.xml.gz:3: <org_name>: text longer than 64 KiB");
    ck_assert_msg(p.secs < 10, "took %.1f s", p.secs);
    ck_assert_msg(p.rss_kb < 100 * 1024, "peak RSS %ld KiB", p.rss_kb);
    assert_reports(1);
    proc_free(&p);
}
END_TEST

START_TEST(test_nul_byte_is_refused)
{
    char *x = report_xml("nul.example", "nul-1");
    size_t len = strlen(x);
    proc p = {0};

    strstr(x, "nul.example")[3] = '\0'; /* "nul\0example" */
    write_file(sbpath("nul.xml"), x, len);
    free(x);
    ingest_bad(&p, sbpath("nul.xml"));
    assert_failed(&p, sbpath("nul.xml"), "", 1);
    assert_reports(1);
    proc_free(&p);
}
END_TEST

/* Invalid UTF-8 is repaired (U+FFFD) and the repair kept as a warning:
 * the report is stored and every rendering stays valid UTF-8/JSON. */
START_TEST(test_invalid_utf8_is_repaired)
{
    char *x = report_xml("bad\xff\xfe\xc0\xaf"
                         "utf8.example",
                         "utf8-1");
    proc p = {0};

    write_file(sbpath("utf8.xml"), x, strlen(x));
    free(x);
    ingest_bad(&p, sbpath("utf8.xml"));
    ck_assert_msg(p.code == 0, "exit %d: %s", p.code, p.err);
    ck_assert_str_eq(p.err, "");
    proc_free(&p);
    assert_reports(2);
    sift_in(&p, NULL, db, "export", "--format", "jsonl", NULL);
    ck_assert_int_eq(p.code, 0);
    ck_assert_msg(strstr(p.out, "\"bad\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
                                "\xef\xbf\xbdutf8.example\"") != NULL,
                  "%s", p.out);
    ck_assert(json_valid(p.out, strcspn(p.out, "\n")));
    proc_free(&p);
}
END_TEST

START_TEST(test_invalid_utf16_is_refused)
{
    char *x = report_xml("utf16.example", "utf16-1");
    char *decl = strstr(x, "UTF-8");
    mem m = {0};
    size_t i;

    memcpy(decl, "UTF16", 5); /* re-declared below */
    mem_add(&m, "\xff\xfe", 2);
    for (i = 0; x[i]; i++) {
        if (strncmp(x + i, "UTF16", 5) == 0) {
            static const char u[] = "UTF-16";
            size_t k;
            for (k = 0; k < 6; k++)
                mem_u16(&m, (unsigned char)u[k]);
            i += 4;
            continue;
        }
        if (strncmp(x + i, "utf16.", 6) == 0)
            mem_u16(&m, 0xd800); /* a lone high surrogate */
        mem_u16(&m, (unsigned char)x[i]);
    }
    free(x);
    write_file(sbpath("utf16.xml"), m.p, m.len);
    mem_free(&m);
    {
        proc p = {0};
        ingest_bad(&p, sbpath("utf16.xml"));
        assert_failed(&p, sbpath("utf16.xml"), "", 1);
        assert_reports(1);
        proc_free(&p);
    }
}
END_TEST

/* The DOCTYPE pre-scan must also see a DOCTYPE spelled in UTF-16. */
START_TEST(test_utf16_doctype_is_refused)
{
    char *x = NULL;
    mem m = {0};
    proc p = {0};
    size_t i;

    write_file(sbpath("secret.txt"), secret, strlen(secret));
    ck_assert(asprintf(&x,
                       "<?xml version=\"1.0\" encoding=\"UTF-16\"?>\n"
                       "<!DOCTYPE feedback [<!ENTITY xxe SYSTEM "
                       "\"file://%s/secret.txt\">]>\n"
                       "<feedback><report_metadata><org_name>&xxe;"
                       "</org_name></report_metadata></feedback>\n",
                       sb) > 0);
    mem_add(&m, "\xff\xfe", 2);
    for (i = 0; x[i]; i++)
        mem_u16(&m, (unsigned char)x[i]);
    free(x);
    write_file(sbpath("utf16-dtd.xml"), m.p, m.len);
    mem_free(&m);
    ingest_bad(&p, sbpath("utf16-dtd.xml"));
    assert_line(&p, "utf16-dtd.xml: DOCTYPE not allowed in a DMARC report");
    assert_secret_absent(&p);
    assert_reports(1);
    proc_free(&p);
}
END_TEST

/* --- compression and archive bombs ---------------------------------------- */

/* A complete report followed by more than 1 GiB of blanks (a comment
 * every 32 KiB keeps it from being one endless text run): inflating it
 * must stop at the 1 GiB default --max-report-size. */
START_TEST(test_gzip_bomb_stops_at_the_limit)
{
    char *x = report_xml("bomb.example", "bomb-1");
    struct stat st;
    proc p = {0};

    write_gz_bomb_marked(sbpath("bomb.xml.gz"), x, ' ', "<!---->",
                         UINT64_C(1100) << 20, "");
    free(x);
    ck_assert(stat(sbpath("bomb.xml.gz"), &st) == 0);
    ck_assert_msg(st.st_size < 2 * 1024 * 1024, "bomb is %lld bytes",
                  (long long)st.st_size);
    ingest_bad(&p, sbpath("bomb.xml.gz"));
    assert_line(&p, "bomb.xml.gz: decompressed size exceeds the 1 GiB limit "
                    "(--max-report-size)");
    /* every byte passes xml/'s scanner: slow in -O0 sanitizer builds */
    ck_assert_msg(p.secs < 10 * SLOW, "took %.1f s", p.secs);
    ck_assert_msg(p.rss_kb < 100 * 1024, "peak RSS %ld KiB", p.rss_kb);
    assert_reports(1);
    proc_free(&p);
}
END_TEST

/* 1.1 GiB of blanks after the report, without a single '<': one text run
 * that ends at the text limit long before the size limit. */
START_TEST(test_gzip_bomb_of_blanks_hits_the_text_limit)
{
    char *x = report_xml("blanks.example", "blanks-1");
    proc p = {0};

    write_gz_bomb(sbpath("blanks.xml.gz"), x, ' ', UINT64_C(1100) << 20, "");
    free(x);
    ingest_bad(&p, sbpath("blanks.xml.gz"));
    assert_failed(&p, sbpath("blanks.xml.gz"), ": text longer than 64 KiB", 1);
    ck_assert_msg(p.secs < 10, "took %.1f s", p.secs);
    ck_assert_msg(p.rss_kb < 100 * 1024, "peak RSS %ld KiB", p.rss_kb);
    assert_reports(1);
    proc_free(&p);
}
END_TEST

/* 1.1 GiB of zeros: not XML at all. Whatever ingest decides, it must not
 * inflate the whole thing into memory. */
START_TEST(test_gzip_bomb_of_zeros_is_cheap)
{
    proc p = {0};

    write_gz_bomb(sbpath("zeros.gz"), "", 0, UINT64_C(1100) << 20, "");
    ingest_bad(&p, sbpath("zeros.gz"));
    /* sniffed from its first bytes: not a report, nothing more inflated */
    ck_assert_msg(p.code == 0, "exit %d: %s", p.code, p.err);
    ck_assert_str_eq(p.err, "");
    ck_assert_msg(p.secs < 10, "took %.1f s", p.secs);
    ck_assert_msg(p.rss_kb < 100 * 1024, "peak RSS %ld KiB", p.rss_kb);
    assert_reports(1);
    proc_free(&p);
}
END_TEST

/* --max-report-size 1M and 64 MiB of blanks and comments. */
START_TEST(test_gzip_bomb_respects_max_report_size_flag)
{
    char *x = report_xml("small.example", "small-1");
    proc p = {0};

    write_gz_bomb_marked(sbpath("blank.xml.gz"), x, ' ', "<!---->",
                         UINT64_C(64) << 20, "");
    free(x);
    sift_in(&p, NULL, db, "ingest", "--quiet", "--max-report-size", "1M",
            sbpath("blank.xml.gz"), good, NULL);
    assert_line(&p, "blank.xml.gz: decompressed size exceeds the 1 MiB limit "
                    "(--max-report-size)");
    ck_assert_msg(p.secs < 10, "took %.1f s", p.secs);
    assert_reports(1);
    proc_free(&p);
}
END_TEST

/* A zip entry that claims 1,000 bytes and inflates past 1 GiB. */
START_TEST(test_zip_bomb_with_lying_size)
{
    char *x = report_xml("zbomb.example", "zbomb-1");
    mem raw = {0}, out = {0};
    zipw z = {0};
    uint32_t crc;
    uint64_t usize;
    proc p = {0};

    deflate_bomb(&raw, x, ' ', UINT64_C(1100) << 20, "", &crc, &usize);
    free(x);
    zip_add_raw(&z, "report.xml", raw.p, raw.len, 8, crc, 1000);
    zip_finish(&z, &out);
    write_file(sbpath("bomb.zip"), out.p, out.len);
    mem_free(&raw);
    mem_free(&out);
    ingest_bad(&p, sbpath("bomb.zip"));
    assert_line(&p, "bomb.zip/report.xml: zip: entry larger than its "
                    "declared size");
    ck_assert_msg(p.secs < 15, "took %.1f s", p.secs);
    ck_assert_msg(p.rss_kb < 100 * 1024, "peak RSS %ld KiB", p.rss_kb);
    assert_reports(1);
    proc_free(&p);
}
END_TEST

START_TEST(test_zip_with_100000_entries)
{
    mem out = {0};
    zipw z = {0};
    char name[32];
    proc p = {0};
    unsigned i;

    for (i = 0; i < 100000; i++) {
        snprintf(name, sizeof(name), "e%06u.txt", i);
        zip_add_raw(&z, name, "x", 1, 0,
                    (uint32_t)crc32(0, (const Bytef *)"x", 1), 1);
    }
    zip_finish(&z, &out);
    write_file(sbpath("many.zip"), out.p, out.len);
    mem_free(&out);
    ingest_bad(&p, sbpath("many.zip"));
    assert_line(&p, "many.zip: zip has more than 10000 entries "
                    "(--max-entries)");
    ck_assert_msg(p.secs < 20, "took %.1f s", p.secs);
    assert_reports(1);
    proc_free(&p);
}
END_TEST

/* 500 central-directory entries that all point at one local entry of
 * 8 MiB (David Fifield's overlapping "non-recursive" zip bomb). */
START_TEST(test_zip_with_overlapping_entries)
{
    char *x = report_xml("overlap.example", "overlap-1");
    mem raw = {0}, out = {0};
    zipw z = {0};
    uint32_t crc, off;
    uint64_t usize;
    char name[32];
    proc p = {0};
    unsigned i;

    *strstr(x, "</feedback>") = '\0';
    deflate_bomb(&raw, x, ' ', UINT64_C(8) << 20, "</feedback>\n", &crc,
                 &usize);
    free(x);
    off = zip_add_raw(&z, "r.xml", raw.p, raw.len, 8, crc, (uint32_t)usize);
    for (i = 1; i < 500; i++) {
        snprintf(name, sizeof(name), "r%03u.xml", i);
        zip_cd_entry(&z, name, crc, (uint32_t)raw.len, (uint32_t)usize, off, 8);
    }
    zip_finish(&z, &out);
    write_file(sbpath("overlap.zip"), out.p, out.len);
    mem_free(&raw);
    mem_free(&out);
    ingest_bad(&p, sbpath("overlap.zip"));
    ck_assert_msg(p.code == 0 || p.code == 65, "exit %d: %s", p.code, p.err);
    ck_assert_msg(p.secs < 30, "took %.1f s", p.secs);
    ck_assert_msg(p.rss_kb < 200 * 1024, "peak RSS %ld KiB", p.rss_kb);
    /* the report is stored at most once; the good one in any case */
    assert_line(&p, "overlap.zip: zip: Not a zip archive");
    assert_reports(1);
    proc_free(&p);
}
END_TEST

/* gz in zip in gz ... ten containers around a valid report. */
START_TEST(test_nested_archives_hit_the_depth_limit)
{
    char *x = report_xml("nested.example", "nested-1");
    mem cur = {0};
    proc p = {0};
    int level;

    mem_add(&cur, x, strlen(x));
    free(x);
    for (level = 0; level < 10; level++) {
        mem next = {0};
        if (level % 2 == 0) {
            gzip_mem(&next, cur.p, cur.len);
        } else {
            zipw z = {0};
            zip_add(&z, "inner.bin", cur.p, cur.len);
            zip_finish(&z, &next);
        }
        mem_free(&cur);
        cur = next;
    }
    write_file(sbpath("nested.zip"), cur.p, cur.len);
    mem_free(&cur);
    ingest_bad(&p, sbpath("nested.zip"));
    assert_line(&p, "nested.zip/inner.bin/inner.bin/inner.bin/inner.bin: "
                    "nesting deeper than the 8 limit (--max-depth)");
    assert_reports(1);
    proc_free(&p);
}
END_TEST

/* Entry names that would escape if they were ever used as paths. */
START_TEST(test_zip_entry_names_are_never_paths)
{
    static const char junk[] = "<feedback><report_metadata>";
    char abs[256], work[4200];
    mem out = {0};
    zipw z = {0};
    struct stat st;
    proc p = {0};

    snprintf(abs, sizeof(abs), "/tmp/sift-hostile-abs-%ld.xml", (long)getpid());
    snprintf(work, sizeof(work), "%s/work/deep", sb);
    ck_assert(mkdir(sbpath("work"), 0700) == 0);
    ck_assert(mkdir(work, 0700) == 0);
    zip_add(&z, "../../evil-dotdot.xml", junk, strlen(junk));
    zip_add(&z, abs, junk, strlen(junk));
    zip_add(&z, "esc\033[2J\007name.xml", junk, strlen(junk));
    zip_finish(&z, &out);
    write_file(sbpath("slip.zip"), out.p, out.len);
    mem_free(&out);
    sift_in(&p, work, db, "ingest", "--quiet", sbpath("slip.zip"), good, NULL);
    ck_assert_msg(p.code == 65, "exit %d: %s", p.code, p.err);
    ck_assert_msg(count_lines(p.err) == 3, "stderr: %s", p.err);
    ck_assert(stat(sbpath("evil-dotdot.xml"), &st) != 0);
    ck_assert(stat(sbpath("work/evil-dotdot.xml"), &st) != 0);
    ck_assert(stat(abs, &st) != 0);
    ck_assert(strchr(p.err, '\033') == NULL && strchr(p.err, '\007') == NULL);
    ck_assert_msg(strstr(p.err, "esc?[2J?name.xml") != NULL, "stderr: %s",
                  p.err);
    ck_assert_msg(strstr(p.err, "../../evil-dotdot.xml") != NULL, "stderr: %s",
                  p.err);
    /* the working directory and its parent stayed empty */
    ck_assert_int_eq(dir_entries(work), 0);
    ck_assert_int_eq(dir_entries(sbpath("work")), 1);
    assert_reports(1);
    proc_free(&p);
}
END_TEST

START_TEST(test_truncated_gzip_and_zip)
{
    char *x = report_xml("trunc.example", "trunc-1");
    mem gz = {0}, zp = {0};
    zipw z = {0};
    proc p = {0};

    gzip_mem(&gz, x, strlen(x));
    write_file(sbpath("trunc.xml.gz"), gz.p, gz.len / 2);
    zip_add(&z, "trunc.xml", x, strlen(x));
    zip_finish(&z, &zp);
    write_file(sbpath("trunc.zip"), zp.p, zp.len - 30);
    free(x);

    ingest_bad(&p, sbpath("trunc.xml.gz"));
    assert_line(&p, "trunc.xml.gz: truncated gzip");
    proc_free(&p);
    ingest_bad(&p, sbpath("trunc.zip"));
    assert_line(&p, "trunc.zip: zip: Not a zip archive");
    proc_free(&p);
    /* cut inside the entry data: the end records are gone as well */
    write_file(sbpath("trunc2.zip"), zp.p, 60);
    ingest_bad(&p, sbpath("trunc2.zip"));
    assert_line(&p, "trunc2.zip: zip: Not a zip archive");
    proc_free(&p);
    assert_reports(1);
    mem_free(&gz);
    mem_free(&zp);
}
END_TEST

START_TEST(test_zip_with_corrupt_crc)
{
    char *x = report_xml("crc.example", "crc-1");
    mem out = {0};
    zipw z = {0};
    proc p = {0};

    zip_add_raw(&z, "crc.xml", x, strlen(x), 0,
                (uint32_t)crc32(0, (const Bytef *)x, (uInt)strlen(x)) ^ 1,
                (uint32_t)strlen(x));
    free(x);
    zip_finish(&z, &out);
    write_file(sbpath("crc.zip"), out.p, out.len);
    mem_free(&out);
    ingest_bad(&p, sbpath("crc.zip"));
    assert_line(&p, "crc.zip/crc.xml: zip: CRC error");
    assert_reports(1);
    proc_free(&p);
}
END_TEST

/* --- mail --------------------------------------------------------------- */

START_TEST(test_mime_message_with_10000_parts)
{
    mem m = {0};
    proc p = {0};
    char *x = report_xml("mime.example", "mime-1");
    unsigned i;
    static const char head[] =
        "From: dmarc@reporter.example\r\nTo: rua@example.com\r\n"
        "Subject: Report Domain: example.com\r\nMIME-Version: 1.0\r\n"
        "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n";

    mem_add(&m, head, strlen(head));
    for (i = 0; i < 10000; i++) {
        static const char part[] =
            "--b\r\nContent-Type: text/plain\r\n\r\nx\r\n";
        mem_add(&m, part, strlen(part));
    }
    mem_add(&m, "--b\r\nContent-Type: text/xml\r\n\r\n", 31);
    mem_add(&m, x, strlen(x));
    mem_add(&m, "\r\n--b--\r\n", 9);
    free(x);
    write_file(sbpath("parts.eml"), m.p, m.len);
    mem_free(&m);
    ingest_bad(&p, sbpath("parts.eml"));
    assert_line(&p, "parts.eml: message has more than 10000 MIME parts "
                    "(--max-entries)");
    ck_assert_msg(p.secs < 20, "took %.1f s", p.secs);
    assert_reports(1);
    proc_free(&p);
}
END_TEST

START_TEST(test_mbox_with_a_100mb_line)
{
    static const char head[] =
        "From MAILER-DAEMON Thu Nov 22 00:00:00 2026\n"
        "From: dmarc@reporter.example\nSubject: long\n\n";
    const size_t line = 100u << 20;
    char *buf = malloc(1 << 20);
    FILE *fp = fopen(sbpath("long.mbox"), "wb");
    proc p = {0};
    size_t i;

    ck_assert(buf && fp);
    memset(buf, 'a', 1 << 20);
    fputs(head, fp);
    for (i = 0; i < line >> 20; i++)
        fwrite(buf, 1, 1 << 20, fp);
    fputs("\n", fp);
    ck_assert(fclose(fp) == 0);
    free(buf);
    ingest_bad(&p, sbpath("long.mbox"));
    /* a message without a report in it: not a failure */
    ck_assert_msg(p.code == 0, "exit %d: %s", p.code, p.err);
    ck_assert_str_eq(p.err, "");
    ck_assert_msg(p.secs < 30, "took %.1f s", p.secs);
    /* The message is held in memory (max_input_size), but not many
     * times. Only checked without sanitizers: ASan's quarantine keeps
     * freed 100 MiB buffers resident. */
    ck_assert_msg(SLOW > 1 || p.rss_kb < 400 * 1024,
                  "peak RSS %ld MiB for a 100 MiB message", p.rss_kb / 1024);
    assert_reports(1);
    unlink(sbpath("long.mbox"));
    proc_free(&p);
}
END_TEST

/* A 150 MiB report on stdin is stored; the copy ingest keeps in case it
 * fails (sift_ingest_raw) must not hold all of it in memory: the store
 * keeps at most 64 MiB of a failed input anyway. */
START_TEST(test_large_report_on_stdin)
{
    char *x = report_xml("stdin.example", "stdin-1");
    char *blk = malloc(1 << 20);
    FILE *fp = fopen(sbpath("big.xml"), "wb");
    proc p = {0};
    size_t i;

    ck_assert(blk && fp);
    memset(blk, ' ', 1 << 20);
    for (i = 32768; i <= (1u << 20); i += 32768)
        memcpy(blk + i - 7, "<!---->", 7);
    fputs(x, fp);
    for (i = 0; i < 150; i++)
        fwrite(blk, 1, 1 << 20, fp);
    ck_assert(fclose(fp) == 0);
    free(blk);
    free(x);
    stdin_path = sbpath("big.xml");
    sift_in(&p, NULL, db, "ingest", "--quiet", "-", NULL);
    note(&p, "150 MiB report on stdin", 0);
    ck_assert_msg(p.code == 0, "exit %d: %s", p.code, p.err);
    unlink(sbpath("big.xml"));
    assert_reports(1);
    /* checked without sanitizers only (their allocator inflates RSS) */
    ck_assert_msg(SLOW > 1 || p.rss_kb < 100 * 1024,
                  "peak RSS %ld MiB for a 150 MiB report on stdin",
                  p.rss_kb / 1024);
    proc_free(&p);
}
END_TEST

/* --- nothing is lost: failed inputs are kept and can be retried ---------- */

START_TEST(test_failed_inputs_are_kept_and_retry_safely)
{
    char *x = report_xml("retry.example", "retry-1");
    mem gz = {0}, zp = {0};
    zipw z = {0};
    proc p = {0};
    char *lines;

    /* three different defects, all small enough to be kept raw */
    write_file(sbpath("dtd.xml"), "<!DOCTYPE feedback><feedback/>", 30);
    gzip_mem(&gz, x, strlen(x));
    write_file(sbpath("cut.xml.gz"), gz.p, gz.len / 2);
    zip_add_raw(&z, "crc.xml", x, strlen(x), 0,
                (uint32_t)crc32(0, (const Bytef *)x, (uInt)strlen(x)) ^ 1,
                (uint32_t)strlen(x));
    zip_finish(&z, &zp);
    write_file(sbpath("crc.zip"), zp.p, zp.len);
    free(x);
    mem_free(&gz);
    mem_free(&zp);
    sift_in(&p, NULL, db, "ingest", "--quiet", sbpath("dtd.xml"),
            sbpath("cut.xml.gz"), sbpath("crc.zip"), good, NULL);
    ck_assert_int_eq(p.code, 65);
    ck_assert_int_eq(count_lines(p.err), 3);
    proc_free(&p);

    sift_in(&p, NULL, db, "stats", "--format", "json", NULL);
    ck_assert_msg(strstr(p.out, "\"failed_inputs\": 3,") != NULL, "%s", p.out);
    proc_free(&p);

    /* retrying from the stored bytes fails the same way, one line each */
    sift_in(&p, NULL, db, "retry-failed", "--quiet", NULL);
    note(&p, "retry-failed", 0);
    ck_assert_int_eq(p.code, 65);
    ck_assert_msg(count_lines(p.err) == 3,
                  "retry-failed retried %zu of 3 failed inputs: %s",
                  count_lines(p.err), p.err);
    ck_assert(asprintf(&lines,
                       "dmarcsift: %s/dtd.xml: DOCTYPE not allowed in a DMARC "
                       "report\n",
                       sb) > 0);
    ck_assert_msg(strstr(p.err, lines) != NULL, "%s", p.err);
    free(lines);
    proc_free(&p);
    sift_in(&p, NULL, db, "stats", "--format", "json", NULL);
    ck_assert_msg(strncmp(p.out, "{\"reports\": 1,", 14) == 0, "%s", p.out);
    ck_assert_msg(strstr(p.out, "\"failed_inputs\": 3,") != NULL, "%s", p.out);
    proc_free(&p);
}
END_TEST

/* --- re-runs skip inputs by their bytes, never by their names ------------ */

/* A nightly re-run skips inputs whose bytes were stored before (a
 * fingerprint of the raw file or archive), but a file rewritten under the
 * same name, or an archive holding a changed copy, is read again: a
 * changed copy of a stored report is a conflict, never a silent skip. */
START_TEST(test_rerun_skips_only_identical_bytes)
{
    char *x = report_xml("rerun.example", "rerun-1"), *y;
    mem zp = {0};
    zipw z = {0};
    proc p = {0};

    write_file(sbpath("r.xml"), x, strlen(x));
    zip_add(&z, "r.xml", x, strlen(x));
    zip_finish(&z, &zp);
    write_file(sbpath("r.zip"), zp.p, zp.len);
    mem_free(&zp);
    sift_in(&p, NULL, db, "ingest", sbpath("r.xml"), sbpath("r.zip"), NULL);
    ck_assert_msg(p.code == 0, "exit %d: %s", p.code, p.err);
    ck_assert_str_eq(p.out, "ingested 1 report (1 record, 5 messages); "
                            "1 duplicate (0 conflicting); 0 not a report; "
                            "0 failure reports; 0 failed\n");
    proc_free(&p);
    /* the same bytes again: both skipped, same outcomes */
    sift_in(&p, NULL, db, "ingest", sbpath("r.xml"), sbpath("r.zip"), NULL);
    ck_assert_str_eq(p.out, "ingested 0 reports (0 records, 0 messages); "
                            "2 duplicates (0 conflicting); 0 not a report; "
                            "0 failure reports; 0 failed\n");
    proc_free(&p);
    /* same name, same identity, other content: read, and a conflict */
    y = strdup(x);
    ck_assert_ptr_nonnull(y);
    *strstr(y, "<count>5</count>") = '\0';
    {
        char *z2 = NULL;
        ck_assert(asprintf(&z2, "%s<count>6</count>%s", y,
                           strstr(x, "<count>5</count>") + 16) > 0);
        write_file(sbpath("r.xml"), z2, strlen(z2));
        free(z2);
    }
    free(y);
    sift_in(&p, NULL, db, "ingest", sbpath("r.xml"), NULL);
    ck_assert_str_eq(p.out, "ingested 0 reports (0 records, 0 messages); "
                            "1 duplicate (1 conflicting); 0 not a report; "
                            "0 failure reports; 0 failed\n");
    proc_free(&p);
    /* and that conflicting copy is remembered as one */
    sift_in(&p, NULL, db, "ingest", sbpath("r.xml"), NULL);
    ck_assert_str_eq(p.out, "ingested 0 reports (0 records, 0 messages); "
                            "1 duplicate (1 conflicting); 0 not a report; "
                            "0 failure reports; 0 failed\n");
    proc_free(&p);
    /* a pruned report's input is imported again */
    sift_in(&p, NULL, db, "prune", "--before", "2030-01-01", NULL);
    ck_assert_msg(p.code == 0, "prune: %s", p.err);
    proc_free(&p);
    write_file(sbpath("r.xml"), x, strlen(x));
    sift_in(&p, NULL, db, "ingest", sbpath("r.xml"), NULL);
    ck_assert_str_eq(p.out, "ingested 1 report (1 record, 5 messages); "
                            "0 duplicates (0 conflicting); 0 not a report; "
                            "0 failure reports; 0 failed\n");
    proc_free(&p);
    free(x);
}
END_TEST

/* --- streams of several reports (issue 18) ----------------------------- */

/* Two complete reports in one file, and two gzip members holding one
 * each: both are stored ("path#2" for the second), none is dropped with a
 * warning. A stream of many tiny documents stops at --max-entries. */
START_TEST(test_concatenated_reports_are_each_stored)
{
    char *a = report_xml("cat.example", "cat-1");
    char *b = report_xml("cat.example", "cat-2");
    char *c = report_xml("cat.example", "cat-3");
    char *d = report_xml("cat.example", "cat-4");
    mem m = {0}, gz = {0};
    proc p = {0};
    char want[4400];

    mem_add(&m, a, strlen(a));
    mem_add(&m, b, strlen(b));
    write_file(sbpath("two.xml"), m.p, m.len);
    gzip_mem(&gz, c, strlen(c));
    gzip_mem(&gz, d, strlen(d));
    write_file(sbpath("two.xml.gz"), gz.p, gz.len);
    sift_in(&p, NULL, db, "ingest", sbpath("two.xml"), sbpath("two.xml.gz"),
            good, NULL);
    ck_assert_msg(p.code == 0, "exit %d: %s", p.code, p.err);
    ck_assert_str_eq(p.err, "");
    ck_assert_str_eq(p.out, "ingested 5 reports (5 records, 25 messages); "
                            "0 duplicates (0 conflicting); 0 not a report; "
                            "0 failure reports; 0 failed\n");
    proc_free(&p);
    assert_reports(5);
    /* provenance and no "Extra content" warning */
    sift_in(&p, NULL, db, "inspect", sbpath("two.xml.gz"), NULL);
    ck_assert_msg(p.code == 0, "inspect exit %d: %s", p.code, p.err);
    ck_assert_uint_eq(count_lines(p.out), 2);
    snprintf(want, sizeof(want), "{\"input\":\"%s/two.xml.gz#2\",", sb);
    ck_assert_msg(strstr(p.out, want) != NULL, "no %s in %s", want, p.out);
    ck_assert_msg(strstr(p.out, "cat-4") != NULL, "%s", p.out);
    ck_assert_msg(strstr(p.out, "Extra content") == NULL, "%s", p.out);
    proc_free(&p);
    /* the same bytes again: every report of each file is a duplicate (the
     * first is read, as its own fingerprint is not the file's; the
     * second is skipped by its fingerprint) */
    sift_in(&p, NULL, db, "ingest", sbpath("two.xml"), sbpath("two.xml.gz"),
            NULL);
    ck_assert_str_eq(p.out, "ingested 0 reports (0 records, 0 messages); "
                            "4 duplicates (0 conflicting); 0 not a report; "
                            "0 failure reports; 0 failed\n");
    proc_free(&p);
    free(a), free(b), free(c), free(d);
    mem_free(&m);
    mem_free(&gz);
}
END_TEST

/* The second report of a stream fails: it is kept (with the stream's
 * bytes), retry-failed does not resolve it by skipping the stream as
 * seen, and a re-run still reaches it. */
START_TEST(test_failed_second_report_stays_failed)
{
    char *a = report_xml("half.example", "half-1");
    static const char bad[] = "<feedback><report_metadata>";
    static const char why[] = "half.xml#2:1: malformed XML: Extra content at "
                              "the end of the document (missing <report_id>)";
    mem m = {0};
    proc p = {0};
    int i;

    mem_add(&m, a, strlen(a));
    mem_add(&m, bad, strlen(bad));
    write_file(sbpath("half.xml"), m.p, m.len);
    for (i = 0; i < 2; i++) { /* the first run, then a re-run */
        sift_in(&p, NULL, db, "ingest", "--quiet", sbpath("half.xml"), NULL);
        assert_line(&p, "%s", why);
        proc_free(&p);
    }
    assert_reports(1);
    sift_in(&p, NULL, db, "retry-failed", NULL);
    ck_assert_int_eq(p.code, 65);
    ck_assert_msg(strstr(p.out, "1 duplicate") && strstr(p.out, "1 failed"),
                  "%s", p.out);
    proc_free(&p);
    sift_in(&p, NULL, db, "failed", "list", NULL);
    ck_assert_msg(strstr(p.out, why) != NULL, "not kept: %s", p.out);
    ck_assert_msg(strstr(p.out, " kept ") != NULL, "no bytes: %s", p.out);
    proc_free(&p);
    mem_free(&m);
    free(a);
}
END_TEST

/* 4 MiB of "<a/>" (a 1 million document stream, 4 KB gzipped): work
 * stops after --max-entries documents with one line. */
START_TEST(test_stream_of_tiny_documents_is_capped)
{
    mem m = {0}, gz = {0};
    unsigned i;
    proc p = {0};

    for (i = 0; i < 1000000; i++)
        mem_add(&m, "<a/>", 4);
    gzip_mem(&gz, m.p, m.len);
    write_file(sbpath("tiny.xml.gz"), gz.p, gz.len);
    ingest_bad(&p, sbpath("tiny.xml.gz"));
    assert_line(&p, "tiny.xml.gz#10001: more than 10000 reports in one "
                    "stream (--max-entries)");
    ck_assert_msg(p.secs < 20 * SLOW, "took %.1f s", p.secs);
    assert_reports(1);
    proc_free(&p);
    mem_free(&m);
    mem_free(&gz);
}
END_TEST

/* Files in a directory whose names hold ESC, BEL and other control bytes
 * are opened by their real names; messages show them with '?'. */
START_TEST(test_control_characters_in_file_names)
{
    char *a = report_xml("ctl.example", "ctl-1");
    static const char bad[] = "<feedback><report_metadata>";
    proc p = {0};

    ck_assert(mkdir(sbpath("in"), 0700) == 0);
    write_file(sbpath("in/a\033[2J\a.xml"), a, strlen(a));
    write_file(sbpath("in/b\033]0;x\a\x01\x7f.xml"), bad, strlen(bad));
    sift_in(&p, NULL, db, "ingest", "--quiet", sbpath("in"), good, NULL);
    note(&p, "control-character names", 0);
    assert_line(&p, "in/b?]0;x???.xml:1: malformed XML: Extra content at the "
                    "end of the document (missing <report_id>)");
    assert_reports(2);
    proc_free(&p);
    free(a);
}
END_TEST

/* 3 million empty messages in 35 KB of .mbox.gz: work stops after
 * --max-messages (default 1000000; 1000 here to keep the test short). */
START_TEST(test_mbox_of_empty_messages_is_capped)
{
    mem m = {0}, gz = {0};
    unsigned i;
    proc p = {0};

    for (i = 0; i < 3000000; i++)
        mem_add(&m, "From a\n\n", 8);
    gzip_mem(&gz, m.p, m.len);
    write_file(sbpath("empty.mbox.gz"), gz.p, gz.len);
    sift_in(&p, NULL, db, "ingest", "--quiet", "--max-messages", "1000",
            sbpath("empty.mbox.gz"), good, NULL);
    note(&p, "empty.mbox.gz", (long long)gz.len);
    assert_line(&p, "empty.mbox.gz: mbox has more than 1000 messages "
                    "(--max-messages); the rest is not read");
    ck_assert_msg(p.secs < 10 * SLOW, "took %.1f s", p.secs);
    assert_reports(1);
    proc_free(&p);
    mem_free(&m);
    mem_free(&gz);
}
END_TEST

/* 1 million "X: y" header lines: 5 MiB of message in 7 KB of .mbox.gz,
 * which GMime would keep at about 500 bytes a field (514 MiB). */
START_TEST(test_many_header_fields_are_refused)
{
    static const char head[] = "From a\nFrom: x@example.net\n";
    mem m = {0}, gz = {0};
    unsigned i;
    proc p = {0};

    mem_add(&m, head, strlen(head));
    for (i = 0; i < 1000000; i++)
        mem_add(&m, "X: y\n", 5);
    mem_add(&m, "\nbody\n", 6);
    gzip_mem(&gz, m.p, m.len);
    write_file(sbpath("hdr.mbox.gz"), gz.p, gz.len);
    sift_in(&p, NULL, db, "ingest", "--quiet", "--max-input-size", "8M",
            sbpath("hdr.mbox.gz"), good, NULL);
    note(&p, "hdr.mbox.gz", (long long)gz.len);
    assert_line(&p, "hdr.mbox.gz#1: message has more than 16384 header "
                    "fields (1 per 512 bytes of --max-input-size)");
    ck_assert_msg(SLOW > 1 || p.rss_kb < 5 * 8 * 1024 + 16 * 1024,
                  "peak RSS %ld MiB with --max-input-size 8M", p.rss_kb / 1024);
    assert_reports(1);
    proc_free(&p);
    mem_free(&m);
    mem_free(&gz);
}
END_TEST

static void
base64_mem(mem *out, const unsigned char *p, size_t n)
{
    static const char a[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t i, col = 0;

    for (i = 0; i < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16;
        char q[4];
        if (i + 1 < n)
            v |= (unsigned)p[i + 1] << 8;
        if (i + 2 < n)
            v |= p[i + 2];
        q[0] = a[v >> 18 & 63];
        q[1] = a[v >> 12 & 63];
        q[2] = i + 1 < n ? a[v >> 6 & 63] : '=';
        q[3] = i + 2 < n ? a[v & 63] : '=';
        mem_add(out, q, 4);
        if ((col += 4) == 76) {
            mem_add(out, "\n", 1);
            col = 0;
        }
    }
    mem_add(out, "\n", 1);
}

/* Messages nested through gzip'd base64 parts, each with 7 MiB of text:
 * every level is under --max-input-size (8M), but together they would
 * hold the limit times the depth. 26 KB on disk. */
START_TEST(test_nested_messages_hold_bounded_memory)
{
    static const char head[] = "From: x@example.net\nMIME-Version: 1.0\n"
                               "Content-Type: multipart/mixed; boundary=b\n\n"
                               "--b\nContent-Type: text/plain\n\n";
    static const char att[] = "--b\nContent-Type: application/octet-stream\n"
                              "Content-Transfer-Encoding: base64\n\n";
    char line[78];
    mem gz = {0};
    proc p = {0};
    int lvl;
    size_t i;

    memset(line, 'a', 76);
    line[76] = '\n';
    for (lvl = 0; lvl < 5; lvl++) {
        mem m = {0};
        mem_add(&m, head, strlen(head));
        for (i = 0; i < (7u << 20) / 77; i++)
            mem_add(&m, line, 77);
        if (lvl > 0) {
            mem_add(&m, att, strlen(att));
            base64_mem(&m, gz.p, gz.len);
        }
        mem_add(&m, "--b--\n", 6);
        mem_free(&gz);
        gzip_mem(&gz, m.p, m.len);
        mem_free(&m);
    }
    write_file(sbpath("nest.eml.gz"), gz.p, gz.len);
    sift_in(&p, NULL, db, "ingest", "--quiet", "--max-input-size", "8M",
            sbpath("nest.eml.gz"), good, NULL);
    note(&p, "nest.eml.gz", (long long)gz.len);
    assert_line(&p, "nest.eml.gz/part2/part2: message and the containers "
                    "around it would hold more than 2 x 8 MiB in memory "
                    "(--max-input-size)");
    ck_assert_msg(SLOW > 1 || p.rss_kb < 5 * 8 * 1024 + 16 * 1024,
                  "peak RSS %ld MiB with --max-input-size 8M", p.rss_kb / 1024);
    assert_reports(1);
    proc_free(&p);
    mem_free(&gz);
}
END_TEST

/* --- starved resources and odd files (issue 18) ------------------------- */

/* A MIME part over 1 MiB is decoded into a memfd, which obeys the file
 * size limit: under `ulimit -f` the process was killed by SIGXFSZ. It
 * ignores the signal now; the part fails with one line naming the
 * limit, and the run goes on. */
START_TEST(test_file_size_limit_fails_the_part)
{
    static const char head[] = "From: x@example.net\nMIME-Version: 1.0\n"
                               "Content-Type: multipart/mixed; boundary=b\n\n"
                               "--b\nContent-Type: application/octet-stream\n"
                               "Content-Transfer-Encoding: base64\n\n";
    unsigned char *raw = malloc(3u << 20);
    mem m = {0};
    proc p = {0};
    size_t i;

    ck_assert_ptr_nonnull(raw);
    for (i = 0; i < (3u << 20); i++)
        raw[i] = (unsigned char)(i * 7 + i / 251);
    mem_add(&m, head, strlen(head));
    base64_mem(&m, raw, 3u << 20);
    mem_add(&m, "--b--\n", 6);
    write_file(sbpath("big.eml"), m.p, m.len);
    child_res = RLIMIT_FSIZE;
    child_lim = 1u << 20;
    sift_in(&p, NULL, db, "inspect", sbpath("big.eml"), good, NULL);
    note(&p, "3 MiB MIME part under ulimit -f 1 MiB", 0);
    ck_assert_msg(p.code == 65, "exit %d: %s", p.code, p.err);
    assert_line(&p, "big.eml/part1: cannot decode MIME part: it is larger "
                    "than the file size limit (ulimit -f) of 1048576 bytes");
    ck_assert_ptr_nonnull(strstr(p.out, "\"org_name\":\"good.example\""));
    proc_free(&p);
    mem_free(&m);
    free(raw);
}
END_TEST

/* --- report over many sources (issue 18) ------------------------------- */

/* ASan's shadow memory and its quarantine of freed blocks (a bounded
 * report frees its first scan's rows and makes them again): RSS bounds
 * grow by this much. */
static double
asan_slack(void)
{
#if defined(__SANITIZE_ADDRESS__)
    return 4.0;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
    return 4.0;
#else
    return 1.0;
#endif
#else
    return 1.0;
#endif
}

/* One report of 200,000 records from 200,000 source IPs (record i: i % 7
 * + 1 messages, every third unauthenticated): `report` held one row per
 * source, 346 MiB; past --max-sources (default 100,000) the sources with
 * the fewest messages are counted together and every total stays that of
 * the full report. */
START_TEST(test_report_over_many_sources_is_bounded)
{
    const char *xml = sbpath("many.xml");
    FILE *f = fopen(xml, "w");
    uint64_t messages = 0, fail = 0;
    char want[256], *nl;
    proc p, q, r;
    unsigned i;

    ck_assert_ptr_nonnull(f);
    fputs("<?xml version=\"1.0\"?>\n<feedback><report_metadata>"
          "<org_name>gen.example</org_name><email>a@gen.example</email>"
          "<report_id>many</report_id><date_range><begin>1700000000</begin>"
          "<end>1700086400</end></date_range></report_metadata>"
          "<policy_published><domain>example.com</domain><p>none</p>"
          "</policy_published>\n",
          f);
    for (i = 0; i < 200000; i++) {
        const char *res = i % 3 == 0 ? "fail" : "pass";
        const char *d = i % 3 == 0 ? "spam.example" : "example.com";
        fprintf(f,
                "<record><row><source_ip>10.%u.%u.%u</source_ip>"
                "<count>%u</count><policy_evaluated><disposition>none"
                "</disposition><dkim>%s</dkim><spf>%s</spf>"
                "</policy_evaluated></row><identifiers><header_from>"
                "example.com</header_from></identifiers><auth_results>"
                "<dkim><domain>%s</domain><result>%s</result></dkim><spf>"
                "<domain>%s</domain><result>%s</result></spf></auth_results>"
                "</record>\n",
                i / 65536, i / 256 % 256, i % 256, i % 7 + 1, res, res, d, res,
                d, res);
        messages += i % 7 + 1;
        fail += i % 3 == 0 ? i % 7 + 1 : 0;
    }
    fputs("</feedback>\n", f);
    ck_assert_int_eq(fclose(f), 0);
    sift_in(&p, NULL, db, "ingest", "--quiet", xml, NULL);
    ck_assert_msg(p.code == 0, "ingest: %s", p.err);
    sift_in(&q, NULL, db, "report", NULL);
    note(&q, "report over 200,000 sources (default --max-sources)", 0);
    ck_assert_int_eq(q.code, 0);
    snprintf(want, sizeof(want),
             "Messages: %" PRIu64 ",%03" PRIu64 ", DMARC pass: %" PRIu64
             ",%03" PRIu64 " (66.7%%), DMARC fail: %" PRIu64 ",%03" PRIu64 "\n",
             messages / 1000, messages % 1000, (messages - fail) / 1000,
             (messages - fail) % 1000, fail / 1000, fail % 1000);
    ck_assert_msg(strstr(q.out, want) != NULL, "no '%s' in\n%s", want, q.out);
    ck_assert_ptr_nonnull(
        strstr(q.out, "Sources: the 100,000 with the most messages are "
                      "named, 100,000 more are counted\n  together as "
                      "\"other sources\" (--max-sources 100000)\n"));
    ck_assert_ptr_nonnull(strstr(q.out, "other sources (100,000 sources "
                                        "counted together): "));
    /* the whole report in memory: the same totals, more memory */
    sift_in(&r, NULL, db, "report", "--max-sources", "4000000", NULL);
    note(&r, "report over 200,000 sources (--max-sources 4000000)", 0);
    ck_assert_int_eq(r.code, 0);
    ck_assert_ptr_nonnull(strstr(r.out, want));
    ck_assert_ptr_null(strstr(r.out, "other sources"));
    nl = strstr(q.out, "\nPeriod:");
    ck_assert_ptr_nonnull(nl);
    ck_assert_int_eq(strncmp(q.out, r.out, (size_t)(nl - q.out)), 0);
    /* 346 MiB before the bound; the file is mapped besides (some 70
     * MiB of the peak) */
    ck_assert_msg(q.rss_kb < (long)(200 * 1024 * asan_slack()),
                  "peak RSS %ld KiB", q.rss_kb);
    proc_free(&p);
    proc_free(&q);
    proc_free(&r);
}
END_TEST

/* A FIFO as an input or as --db is refused at once, never waited on. */
START_TEST(test_fifos_are_refused_without_blocking)
{
    proc p = {0};
    char want[4400];

    ck_assert(mkfifo(sbpath("in.fifo"), 0600) == 0);
    ck_assert(mkfifo(sbpath("db.fifo"), 0600) == 0);
    ingest_bad(&p, sbpath("in.fifo"));
    assert_line(&p, "in.fifo: not a regular file (a FIFO); give - to read "
                    "standard input");
    ck_assert_msg(p.secs < 10, "took %.1f s", p.secs);
    assert_reports(1);
    proc_free(&p);
    sift_in(&p, NULL, sbpath("db.fifo"), "stats", NULL);
    snprintf(want, sizeof(want),
             "dmarcsift: %s/db.fifo: not a regular file (a FIFO)\n", sb);
    ck_assert_int_eq(p.code, 74);
    ck_assert_str_eq(p.err, want);
    proc_free(&p);
    sift_in(&p, NULL, sbpath("db.fifo"), "ingest", good, NULL);
    ck_assert_int_eq(p.code, 74);
    ck_assert_str_eq(p.err, want);
    proc_free(&p);
}
END_TEST

/* Every stderr line is ours ("dmarcsift: ..."): no GLib-ERROR, no
 * loader message; the process exited (no signal) with 0, 65 or 74. */
static void
assert_clean_exit(const proc *p, const char *what, long lim)
{
    const char *s = p->err;

    ck_assert_msg(p->code >= 0, "%s %ld: killed by signal %d; stderr: %s", what,
                  lim, -p->code, p->err);
    ck_assert_msg(p->code == 0 || p->code == 65 || p->code == 74,
                  "%s %ld: exit %d; stderr: %s", what, lim, p->code, p->err);
    while (*s) {
        const char *nl = strchr(s, '\n');
        ck_assert_msg(strncmp(s, "dmarcsift: ", 11) == 0,
                      "%s %ld: a line not ours: %s", what, lim, s);
        if (nl == NULL)
            break;
        s = nl + 1;
    }
    if (p->code == 74)
        ck_assert_msg(*p->err != '\0', "%s %ld: exit 74 without a word", what,
                      lim);
}

/* Inputs that make GMime, libzip, zlib, libxml2 and SQLite allocate:
 * a message with a base64 zip of a 3.5 MiB report (5,000 records), the
 * same in an mbox.gz, and a 16 MiB random attachment. */
static void
write_starve_inputs(void)
{
    char *x = report_xml("starve.example", "starve-1");
    char *tail = strstr(x, "  <record>");
    char *end = strstr(x, "</feedback>");
    static const char mhead[] =
        "From: x@example.net\nMIME-Version: 1.0\n"
        "Content-Type: multipart/mixed; boundary=b\n\n"
        "--b\nContent-Type: application/zip; name=\"r.zip\"\n"
        "Content-Transfer-Encoding: base64\n\n";
    mem big = {0}, zp = {0}, msg = {0}, mb = {0}, gz = {0}, junk = {0};
    zipw z = {0};
    uint32_t r = 12345;
    unsigned i;

    ck_assert(tail && end);
    mem_add(&big, x, (size_t)(tail - x));
    for (i = 0; i < 5000; i++)
        mem_add(&big, tail, (size_t)(end - tail));
    mem_add(&big, end, strlen(end));
    write_file(sbpath("big.xml"), big.p, big.len);
    zip_add(&z, "big.xml", big.p, big.len);
    zip_finish(&z, &zp);
    mem_add(&msg, mhead, strlen(mhead));
    base64_mem(&msg, zp.p, zp.len);
    mem_add(&msg, "--b--\n", 6);
    write_file(sbpath("big.eml"), msg.p, msg.len);
    mem_add(&mb, "From a\n", 7);
    mem_add(&mb, msg.p, msg.len);
    gzip_mem(&gz, mb.p, mb.len);
    write_file(sbpath("big.mbox.gz"), gz.p, gz.len);
    for (i = 0; i < (16u << 20) / 4; i++) {
        r ^= r << 13, r ^= r >> 17, r ^= r << 5;
        mem_add(&junk, &r, 4);
    }
    mem_free(&msg);
    mem_add(&msg, mhead, strlen(mhead));
    base64_mem(&msg, junk.p, junk.len);
    mem_add(&msg, "--b--\n", 6);
    write_file(sbpath("junk.eml"), msg.p, msg.len);
    mem_free(&big), mem_free(&zp), mem_free(&msg), mem_free(&mb);
    mem_free(&gz), mem_free(&junk);
    free(x);
}

/* ulimit -v from where the binary starts up to where all is stored: every
 * run ends in exit 0, 65 or 74 with our own lines, never a signal (GLib
 * aborts inside GMime were SIGTRAP, its error path SIGSEGV). Not under
 * sanitizers, whose shadow memory needs terabytes of address space. */
START_TEST(test_low_memory_sweep_ends_cleanly)
{
    long mib, lo = 0, ok_at = 0;
    unsigned runs = 0, oom = 0;
    proc p = {0};

    if (SLOW > 1 || tsan_slack() > 1) {
        printf("hostile: low-memory sweep SKIPPED under sanitizers\n");
        return;
    }
    write_starve_inputs();
    /* the smallest limit the binary (its libraries, two threads) runs in */
    for (mib = 40; mib <= 400 && lo == 0; mib += 4) {
        const char *argv[] = {SIFT_BINARY, "--version", NULL};
        child_res = RLIMIT_AS;
        child_lim = (rlim_t)mib << 20;
        spawn(&p, argv, NULL);
        if (p.code == 0)
            lo = mib;
        proc_free(&p);
    }
    ck_assert_msg(lo > 0, "dmarcsift --version never ran");
    for (mib = lo; mib <= lo + 72; mib += 4) {
        unlink(db);
        child_res = RLIMIT_AS;
        child_lim = (rlim_t)mib << 20;
        sift_in(&p, NULL, db, "ingest", "--quiet", sbpath("big.eml"),
                sbpath("big.mbox.gz"), sbpath("junk.eml"), sbpath("big.xml"),
                good, NULL);
        assert_clean_exit(&p, "ulimit -v (MiB)", mib);
        runs++;
        oom += p.code == 74 && strstr(p.err, "out of memory") != NULL;
        if (p.code == 0 && ok_at == 0)
            ok_at = mib;
        proc_free(&p);
    }
    printf("hostile: ulimit -v sweep %ld..%ld MiB: %u runs, %u out of "
           "memory (exit 74), all stored from %ld MiB, no signal\n",
           lo, lo + 72, runs, oom, ok_at);
    ck_assert_msg(oom > 0, "the sweep never ran out of memory");
    ck_assert_msg(ok_at > 0, "nothing was stored even at %ld MiB", lo + 72);
}
END_TEST

/* ulimit -n from where the binary starts to 24, over a directory, a zip,
 * a message, an mbox.gz and stdin: one line and exit 74 when descriptors
 * run out, never a signal. */
START_TEST(test_few_descriptors_sweep_ends_cleanly)
{
    char *x = report_xml("fd.example", "fd-1");
    mem zp = {0};
    zipw z = {0};
    unsigned n, lo = 0, enofd = 0;
    long ok_at = 0;
    proc p = {0};

    write_starve_inputs();
    ck_assert(mkdir(sbpath("dir"), 0700) == 0);
    write_file(sbpath("dir/a.xml"), x, strlen(x));
    zip_add(&z, "r.xml", x, strlen(x));
    zip_finish(&z, &zp);
    write_file(sbpath("r.zip"), zp.p, zp.len);
    mem_free(&zp);
    free(x);
    for (n = 3; n <= 24 && lo == 0; n++) {
        const char *argv[] = {SIFT_BINARY, "--version", NULL};
        child_res = RLIMIT_NOFILE;
        child_lim = n;
        spawn(&p, argv, NULL);
        if (p.code == 0)
            lo = n;
        proc_free(&p);
    }
    ck_assert_msg(lo > 0, "dmarcsift --version never ran");
    for (n = lo; n <= 24; n++) {
        unlink(db);
        child_res = RLIMIT_NOFILE;
        child_lim = n;
        stdin_path = good;
        sift_in(&p, NULL, db, "ingest", "--quiet", sbpath("dir"),
                sbpath("r.zip"), sbpath("big.eml"), sbpath("big.mbox.gz"), "-",
                NULL);
        assert_clean_exit(&p, "ulimit -n", (long)n);
        if (p.code == 74 && strstr(p.err, "cannot open: Too many open files "
                                          "(the limit, ulimit -n, is ")) {
            ck_assert_uint_eq(count_lines(p.err), 1);
            enofd++;
        }
        if (p.code == 0 && ok_at == 0)
            ok_at = n;
        proc_free(&p);
    }
    printf("hostile: ulimit -n sweep %u..24: %u runs out of descriptors "
           "(exit 74, one line), all stored from %ld, no signal\n",
           lo, enofd, ok_at);
    ck_assert_msg(enofd > 0, "descriptors never ran out");
    ck_assert_msg(ok_at > 0, "nothing stored even with 24 descriptors");
}
END_TEST

/* --- output safety ----------------------------------------------------- */

/* A strict JSON (RFC 8259) validator: 1 if [p, end) is exactly one value
 * plus blanks; strings must be valid UTF-8 without raw control chars. */
typedef struct js {
    const unsigned char *p, *end;
    int depth;
} js;

static int js_value(js *j);

static void
js_ws(js *j)
{
    while (j->p < j->end &&
           (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
        j->p++;
}

static int
js_utf8(js *j)
{
    const unsigned char *s = j->p;
    size_t left = (size_t)(j->end - s), n, k;
    unsigned lo = 0x80, hi = 0xbf;

    if (s[0] < 0x80)
        n = 1;
    else if (s[0] >= 0xc2 && s[0] <= 0xdf)
        n = 2;
    else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        n = 3;
        if (s[0] == 0xe0)
            lo = 0xa0;
        if (s[0] == 0xed)
            hi = 0x9f;
    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        n = 4;
        if (s[0] == 0xf0)
            lo = 0x90;
        if (s[0] == 0xf4)
            hi = 0x8f;
    } else
        return 0;
    if (left < n)
        return 0;
    for (k = 1; k < n; k++) {
        unsigned a = k == 1 ? lo : 0x80, b = k == 1 ? hi : 0xbf;
        if (s[k] < a || s[k] > b)
            return 0;
    }
    j->p += n;
    return 1;
}

static int
js_string(js *j)
{
    if (j->p >= j->end || *j->p != '"')
        return 0;
    j->p++;
    while (j->p < j->end) {
        unsigned char c = *j->p;
        if (c == '"') {
            j->p++;
            return 1;
        }
        if (c < 0x20)
            return 0;
        if (c == '\\') {
            if (++j->p >= j->end)
                return 0;
            c = *j->p++;
            if (c == 'u') {
                int k;
                for (k = 0; k < 4; k++, j->p++)
                    if (j->p >= j->end ||
                        !strchr("0123456789abcdefABCDEF", *j->p) || *j->p == 0)
                        return 0;
            } else if (c == 0 || !strchr("\"\\/bfnrt", c)) {
                return 0;
            }
            continue;
        }
        if (!js_utf8(j))
            return 0;
    }
    return 0;
}

static int
js_digits(js *j)
{
    const unsigned char *s = j->p;
    while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
        j->p++;
    return j->p > s;
}

static int
js_number(js *j)
{
    if (j->p < j->end && *j->p == '-')
        j->p++;
    if (j->p < j->end && *j->p == '0')
        j->p++;
    else if (!js_digits(j))
        return 0;
    if (j->p < j->end && *j->p == '.') {
        j->p++;
        if (!js_digits(j))
            return 0;
    }
    if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
        j->p++;
        if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
            j->p++;
        if (!js_digits(j))
            return 0;
    }
    return 1;
}

static int
js_lit(js *j, const char *w)
{
    size_t n = strlen(w);
    if ((size_t)(j->end - j->p) < n || memcmp(j->p, w, n) != 0)
        return 0;
    j->p += n;
    return 1;
}

static int
js_value(js *j)
{
    int ok = 0;

    js_ws(j);
    if (j->p >= j->end || ++j->depth > 256)
        return 0;
    switch (*j->p) {
    case '{':
    case '[': {
        char close = *j->p == '{' ? '}' : ']';
        int obj = close == '}';
        j->p++;
        js_ws(j);
        if (j->p < j->end && *j->p == close) {
            j->p++;
            ok = 1;
            break;
        }
        for (;;) {
            if (obj) {
                js_ws(j);
                if (!js_string(j))
                    return 0;
                js_ws(j);
                if (j->p >= j->end || *j->p++ != ':')
                    return 0;
            }
            if (!js_value(j))
                return 0;
            js_ws(j);
            if (j->p >= j->end)
                return 0;
            if (*j->p == ',') {
                j->p++;
                continue;
            }
            if (*j->p++ != close)
                return 0;
            break;
        }
        ok = 1;
        break;
    }
    case '"':
        ok = js_string(j);
        break;
    case 't':
        ok = js_lit(j, "true");
        break;
    case 'f':
        ok = js_lit(j, "false");
        break;
    case 'n':
        ok = js_lit(j, "null");
        break;
    default:
        ok = js_number(j);
        break;
    }
    j->depth--;
    return ok;
}

static int
json_valid(const char *s, size_t n)
{
    js j = {(const unsigned char *)s, (const unsigned char *)s + n, 0};
    if (!js_value(&j))
        return 0;
    js_ws(&j);
    return j.p == j.end;
}

/* Check every cell of an RFC 4180 document: none may start with a
 * formula character (a leading '-' is fine for a plain number). Returns
 * the number of cells; *bad is set to the first offending cell. */
static size_t
csv_check(const char *s, char *bad, size_t badlen)
{
    size_t cells = 0;
    char cell[4096];

    bad[0] = '\0';
    while (*s) {
        size_t n = 0;
        if (*s == '"') {
            s++;
            while (*s && !(*s == '"' && s[1] != '"')) {
                if (*s == '"')
                    s++;
                if (n < sizeof(cell) - 1)
                    cell[n++] = *s;
                s++;
            }
            if (*s == '"')
                s++;
        } else {
            while (*s && *s != ',' && *s != '\n' && *s != '\r') {
                if (n < sizeof(cell) - 1)
                    cell[n++] = *s;
                s++;
            }
        }
        cell[n] = '\0';
        cells++;
        if (bad[0] == '\0' && n > 0 &&
            (strchr("=+@\t\r", cell[0]) != NULL ||
             (cell[0] == '-' && strspn(cell + 1, "0123456789.") != n - 1)))
            snprintf(bad, badlen, "%s", cell);
        if (*s == '\r')
            s++;
        if (*s == ',' || *s == '\n')
            s++;
    }
    return cells;
}

START_TEST(test_hostile_strings_are_escaped_on_output)
{
    /* C1 CSI (U+009B) is a legal XML character; ESC and BEL are not (the
     * second report carries them raw and as character references). */
    char *evil = NULL, *raw = NULL;
    static const char *const fmts[][3] = {{"report", "text", "r.txt"},
                                          {"report", "json", "r.json"},
                                          {"report", "csv", "r.csv"},
                                          {"export", "jsonl", "e.jsonl"},
                                          {"export", "csv", "e.csv"}};
    char bad[4096];
    proc p = {0};
    size_t i;

    ck_assert(asprintf(&evil, REPORT_HEAD REPORT_RECORD REPORT_TAIL,
                       "=cmd|' /C calc'!A0 \xc2\x9b"
                       "31mEvil",
                       "+evil-1", "192.0.2.99", 7,
                       "<reason><type>other</type><comment>@SUM(1+1)"
                       "\xc2\x9b"
                       "2J</comment></reason>",
                       "-evil.example", "evil.example",
                       "-2+3 \xc2\x9b"
                       "2J",
                       "evil.example") > 0);
    ck_assert(asprintf(&raw, REPORT_HEAD REPORT_RECORD REPORT_TAIL,
                       "raw\033[2J\007esc", "raw-1", "192.0.2.98", 3,
                       "<reason><type>other</type><comment>&#27;[2J&#7;"
                       "</comment></reason>",
                       "", "evil.example", "x", "evil.example") > 0);
    write_file(sbpath("evil.xml"), evil, strlen(evil));
    write_file(sbpath("raw.xml"), raw, strlen(raw));
    free(evil);
    free(raw);
    sift_in(&p, NULL, db, "ingest", "--quiet", sbpath("evil.xml"),
            sbpath("raw.xml"), good, NULL);
    note(&p, "evil.xml + raw.xml", 0);
    /* both stored: the raw ESC/BEL (illegal in XML) are dropped by the
     * recovering parser, each drop kept as a warning */
    ck_assert_msg(p.code == 0, "exit %d: %s", p.code, p.err);
    ck_assert_str_eq(p.err, "");
    proc_free(&p);

    for (i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
        const char *o;
        sift_in(&p, NULL, db, fmts[i][0], "--format", fmts[i][1], NULL);
        ck_assert_msg(p.code == 0, "%s %s: exit %d: %s", fmts[i][0], fmts[i][1],
                      p.code, p.err);
        o = p.out;
        ck_assert_msg(strchr(o, '\033') == NULL && strchr(o, '\007') == NULL,
                      "%s %s: raw ESC/BEL", fmts[i][0], fmts[i][1]);
        if (strcmp(fmts[i][1], "text") == 0)
            ck_assert_msg(strstr(o, "\xc2\x9b") == NULL,
                          "report text: raw C1 CSI");
        if (strcmp(fmts[i][1], "json") == 0)
            ck_assert_msg(json_valid(o, strlen(o)), "report json invalid: %s",
                          o);
        if (strcmp(fmts[i][1], "jsonl") == 0) {
            const char *l = o;
            size_t lines = 0;
            while (*l) {
                const char *nl = strchr(l, '\n');
                size_t n = nl ? (size_t)(nl - l) : strlen(l);
                ck_assert_msg(json_valid(l, n), "jsonl line %zu invalid: %.*s",
                              lines + 1, (int)n, l);
                lines++;
                l += n + (nl != NULL);
            }
            ck_assert_msg(lines >= 2, "jsonl has %zu lines", lines);
            ck_assert(strstr(o, "=cmd|' /C calc'!A0") != NULL);
        }
        if (strcmp(fmts[i][1], "csv") == 0) {
            ck_assert(csv_check(o, bad, sizeof(bad)) > 0);
            ck_assert_msg(bad[0] == '\0', "%s csv: formula cell '%s'",
                          fmts[i][0], bad);
        }
        if (strcmp(fmts[i][0], "export") == 0 && strcmp(fmts[i][1], "csv") == 0)
            ck_assert_msg(strstr(o, "'=cmd|' /C calc'!A0") != NULL,
                          "export csv: org_name not neutralised: %s", o);
        proc_free(&p);
    }
}
END_TEST

static Suite *
hostile_suite(void)
{
    Suite *s = suite_create("hostile");
    TCase *xml = tcase_create("xml");
    TCase *bomb = tcase_create("bombs");
    TCase *arch = tcase_create("archives");
    TCase *mail = tcase_create("mail");
    TCase *out = tcase_create("output");
    TCase *stream = tcase_create("streams");
    TCase *starve = tcase_create("starved");
    TCase *all[] = {xml, bomb, arch, mail, out, stream, starve};
    size_t i;

    for (i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        tcase_add_checked_fixture(all[i], setup, teardown);
        tcase_set_timeout(all[i], 120);
        suite_add_tcase(s, all[i]);
    }
    tcase_add_test(xml, test_xxe_external_entity_is_not_read);
    tcase_add_test(xml, test_billion_laughs_is_refused);
    tcase_add_test(xml, test_doctype_is_refused);
    tcase_add_test(xml, test_deep_nesting_is_refused);
    tcase_add_test(xml, test_100mb_text_node_is_refused);
    tcase_add_test(xml, test_nul_byte_is_refused);
    tcase_add_test(xml, test_invalid_utf8_is_repaired);
    tcase_add_test(xml, test_invalid_utf16_is_refused);
    tcase_add_test(xml, test_utf16_doctype_is_refused);
    /* the 1 GiB default limit itself: `ctest -L slow` (SIFT_TEST_SLOW=1);
     * test_gzip_bomb_respects_max_report_size_flag proves the path small */
    if (getenv("SIFT_TEST_SLOW") != NULL) {
        TCase *slow = tcase_create("slow");
        tcase_add_checked_fixture(slow, setup, teardown);
        tcase_set_timeout(slow, 300);
        suite_add_tcase(s, slow);
        tcase_add_test(slow, test_gzip_bomb_stops_at_the_limit);
    }
    tcase_add_test(bomb, test_gzip_bomb_of_blanks_hits_the_text_limit);
    tcase_add_test(bomb, test_gzip_bomb_of_zeros_is_cheap);
    tcase_add_test(bomb, test_gzip_bomb_respects_max_report_size_flag);
    tcase_add_test(bomb, test_zip_bomb_with_lying_size);
    tcase_add_test(arch, test_zip_with_100000_entries);
    tcase_add_test(arch, test_zip_with_overlapping_entries);
    tcase_add_test(arch, test_nested_archives_hit_the_depth_limit);
    tcase_add_test(arch, test_zip_entry_names_are_never_paths);
    tcase_add_test(arch, test_truncated_gzip_and_zip);
    tcase_add_test(arch, test_zip_with_corrupt_crc);
    tcase_add_test(mail, test_mime_message_with_10000_parts);
    tcase_add_test(mail, test_mbox_with_a_100mb_line);
    tcase_add_test(mail, test_failed_inputs_are_kept_and_retry_safely);
    tcase_add_test(mail, test_large_report_on_stdin);
    tcase_add_test(mail, test_rerun_skips_only_identical_bytes);
    tcase_add_test(out, test_hostile_strings_are_escaped_on_output);
    tcase_add_test(stream, test_concatenated_reports_are_each_stored);
    tcase_add_test(stream, test_stream_of_tiny_documents_is_capped);
    tcase_add_test(stream, test_failed_second_report_stays_failed);
    tcase_add_test(stream, test_control_characters_in_file_names);
    tcase_add_test(stream, test_mbox_of_empty_messages_is_capped);
    tcase_add_test(stream, test_many_header_fields_are_refused);
    tcase_add_test(stream, test_nested_messages_hold_bounded_memory);
    tcase_add_test(out, test_report_over_many_sources_is_bounded);
    tcase_add_test(starve, test_fifos_are_refused_without_blocking);
    tcase_add_test(starve, test_file_size_limit_fails_the_part);
    tcase_add_test(starve, test_low_memory_sweep_ends_cleanly);
    tcase_add_test(starve, test_few_descriptors_sweep_ends_cleanly);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(hostile_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
