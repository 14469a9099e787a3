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

/* One aggregate report without any whitespace (so its raw bytes are the
 * bytes its content hash covers): org_name org, report_id id (or `pad`
 * letters r when NULL), n records with counts[i] from 192.0.2.(100 + i).
 * free() it; aborts when out of memory. */
char *report_doc(const char *org, const char *id, int pad,
                 const unsigned *counts, int n);

/* s with the first `from` replaced by `to` (which must be there). free()
 * it; aborts when out of memory or when from is missing. */
char *replace_once(const char *s, const char *from, const char *to);

/* Copies of a stored report of 300 records, longer than the importer's
 * first chunk (256), ingested into db (dir: where to write them): the
 * reader's lookup, asked after the header, is answered once that chunk is
 * read, and nothing of a copy reaches the writer. A re-indented copy is a
 * duplicate; one with a bad record past the block the parser reads at
 * open (some 150 records), in the first chunk or after it, is compared by
 * the hash of all its bytes as a drained copy is: a conflict. A bad
 * record within that block fails the open before any lookup: a failed
 * input (as in 0.1.0). The first copy again is a seen duplicate. Asserts
 * the summaries and the final stats. */
void check_long_report_copies(const char *db, const char *dir);

#endif
