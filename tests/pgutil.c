/* pgutil.c -- see pgutil.h. */
#include "pgutil.h"

#include <check.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
pgu_uri(char *out, size_t n, const char *server, const char *name)
{
    const char *slash = strrchr(server, '/');
    const char *q = strchr(slash, '?');

    snprintf(out, n, "%.*s/%s%s", (int)(slash - server), server, name,
             q ? q : "");
}

/* The server's notices (NOTICE: database ... does not exist, skipping)
 * are not the test's output. */
static void
quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

void
pgu_exec(const char *uri, const char *sql)
{
    PGconn *c = PQconnectdb(uri);
    PGresult *r;

    ck_assert_msg(PQstatus(c) == CONNECTION_OK, "connect: %s",
                  PQerrorMessage(c));
    PQsetNoticeProcessor(c, quiet, NULL);
    r = PQexec(c, sql);
    ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK, "%s: %s", sql,
                  PQresultErrorMessage(r));
    PQclear(r);
    PQfinish(c);
}

int64_t
pgu_int(const char *uri, const char *sql)
{
    PGconn *c = PQconnectdb(uri);
    PGresult *r;
    const char *v;
    int64_t n;

    ck_assert_msg(PQstatus(c) == CONNECTION_OK, "connect: %s",
                  PQerrorMessage(c));
    r = PQexec(c, sql);
    ck_assert_msg(PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1,
                  "%s: %s", sql, PQresultErrorMessage(r));
    v = PQgetvalue(r, 0, 0);
    n = strcmp(v, "t") == 0 ? 1 : strtoll(v, NULL, 10);
    PQclear(r);
    PQfinish(c);
    return n;
}

void
pgu_text(char *out, size_t n, const char *uri, const char *sql)
{
    PGconn *c = PQconnectdb(uri);
    PGresult *r;

    ck_assert_msg(PQstatus(c) == CONNECTION_OK, "connect: %s",
                  PQerrorMessage(c));
    r = PQexec(c, sql);
    ck_assert_msg(PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1,
                  "%s: %s", sql, PQresultErrorMessage(r));
    ck_assert_msg(strlen(PQgetvalue(r, 0, 0)) < n, "%s: %zu bytes", sql,
                  strlen(PQgetvalue(r, 0, 0)));
    snprintf(out, n, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    PQfinish(c);
}
