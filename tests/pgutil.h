/* pgutil.h -- PostgreSQL helpers of the tests that reach the server
 * outside the store (check_store pg, check_pg, check_dns): SQL of their
 * own, databases made and dropped. Each failure fails the running Check
 * case with the server's message. */
#ifndef SIFT_PGUTIL_H
#define SIFT_PGUTIL_H

#include <stddef.h>
#include <stdint.h>

/* The URI of database `name` on the server of URI `server` (its path
 * replaced, its ?parameters kept). */
void pgu_uri(char *out, size_t n, const char *server, const char *name);
/* Run sql (no rows back) on the database at uri. */
void pgu_exec(const char *uri, const char *sql);
/* The one value of sql's one row as an integer ("t"/"f": 1/0). */
int64_t pgu_int(const char *uri, const char *sql);
/* The one value of sql's one row as text, into out[0..n) (it must fit). */
void pgu_text(char *out, size_t n, const char *uri, const char *sql);

#endif
