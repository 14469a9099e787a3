/* testutil.h -- helpers shared by the Check runners. */
#ifndef SIFT_TESTUTIL_H
#define SIFT_TESTUTIL_H

#include <stddef.h>

/* "<fixtures>/<rel>" in a static buffer (valid until the next call). */
const char *fixture(const char *rel);

/* Read a whole file (NUL-terminated); NULL on error. free() it. */
char *slurp(const char *path, size_t *len);

/* Write buf to path; 0 on success. */
int spit(const char *path, const void *buf, size_t len);

/* A fresh temporary directory (mkdtemp); free() the result. rm_rf() it. */
char *sandbox(void);
void rm_rf(const char *path);

/* Run argv (argv[0] is a path), stdin from `in` (NULL: /dev/null);
 * capture stdout and stderr (malloc'd, NUL-terminated) and return the exit
 * status, or -1 if it did not exit normally. */
int run(const char *const *argv, const char *in, char **out, char **errout);

/* 1 if the real-world corpus (../shared/corpus) is present. When it is
 * not, prints one line saying the corpus tests were skipped. */
int corpus_present(const char *suite);

#endif
