/* testutil.c -- see testutil.h. */
#include "testutil.h"

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
