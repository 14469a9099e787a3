/* importutil.h -- import cases shared by the SQLite and PostgreSQL runners
 * (check_integrity, check_pg): they call the import library itself. */
#ifndef SIFT_IMPORTUTIL_H
#define SIFT_IMPORTUTIL_H

/* Copies of stored reports among many new inputs, imported into db (a
 * path or a URI; dir: where to write them). 40 reports are stored; a
 * second run has 40 new ones, then a byte-identical copy of a stored
 * report (seen bytes), a re-indented copy (a duplicate), a copy with
 * another count (a conflict) and a copy with a bad record (failed at
 * open). A server is not asked about most inputs of a run that are all
 * new (cli/import.c, ask_now): the writer then finds the stored reports,
 * and the outcomes must be those of a run that asks about every input, as
 * SQLite's does. Asserts the second run's outcomes, the reports stored,
 * and that it asked about want_asked inputs. */
void check_unasked_copies(const char *db, const char *dir,
                          unsigned long want_asked);

#endif
