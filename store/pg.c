/* pg.c -- the PostgreSQL backend: connecting, the schema and its
 * migrations, and writing reports (pg_int.h has the design).
 *
 * A report is its row in `reports` (INSERT ... ON CONFLICT DO NOTHING:
 * the identity is UNIQUE) plus its records and child rows as COPY text,
 * inside the batch transaction; nothing of it is visible before the batch
 * commits, and a rollback deletes the row and drops the buffered text.
 * Its final values (counts, hash, warnings), its seen input and the
 * failed row it resolves are deferred (pg_int.h, DQ_*): one statement
 * of each kind per batch instead of one per report. */
#include "pg_int.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sift_json.h"

/* --- parameters ----------------------------------------------------------- */

void
sift_pg__pp_init(pp *p)
{
    memset(p, 0, sizeof(*p));
}

void
sift_pg__pp_free(pp *p)
{
    int i;

    for (i = 0; i < p->n; i++)
        free(p->owned[i]);
    p->n = 0;
}

/* s with every invalid UTF-8 sequence as U+FFFD (a malloc'd copy), or
 * NULL when s is valid (or on ENOMEM: then PostgreSQL refuses the value
 * and the error says so). */
static char *
utf8_fix(const char *s)
{
    const unsigned char *p;
    size_t n, len = strlen(s);
    char *out, *o;

    for (p = (const unsigned char *)s; *p; p += n)
        if ((n = sift_utf8_len(p, SIZE_MAX)) == 0)
            break;
    if (*p == '\0')
        return NULL;
    if ((out = malloc(len * 3 + 1)) == NULL)
        return NULL;
    for (o = out, p = (const unsigned char *)s; *p; p += n) {
        if ((n = sift_utf8_len(p, SIZE_MAX)) == 0) {
            memcpy(o, "\xef\xbf\xbd", 3);
            o += 3;
            n = 1;
        } else {
            memcpy(o, p, n);
            o += n;
        }
    }
    *o = '\0';
    return out;
}

void
sift_pg__p_text(pp *p, const char *s)
{
    int i = p->n++;

    p->len[i] = p->fmt[i] = 0;
    p->v[i] = s;
    if (s != NULL && (p->owned[i] = utf8_fix(s)) != NULL)
        p->v[i] = p->owned[i];
}

void
sift_pg__p_key(pp *p, const char *s)
{
    sift_pg__p_text(p, s ? s : "");
}

void
sift_pg__p_int(pp *p, int64_t v)
{
    int i = p->n++;

    snprintf(p->num[i], sizeof(p->num[i]), "%" PRId64, v);
    p->v[i] = p->num[i];
    p->len[i] = p->fmt[i] = 0;
}

void
sift_pg__p_null(pp *p)
{
    int i = p->n++;

    p->v[i] = NULL;
    p->len[i] = p->fmt[i] = 0;
}

void
sift_pg__p_bin(pp *p, const void *b, size_t n)
{
    int i = p->n++;

    p->v[i] = b;
    p->len[i] = (int)n;
    p->fmt[i] = 1;
}

void
sift_pg__p_hash(pp *p, sift_hash128 h)
{
    int i = p->n;

    sift_hash128_put((unsigned char *)p->num[i], h);
    sift_pg__p_bin(p, p->num[i], 16);
}

/* --- errors and statements ------------------------------------------------ */

int
sift_pg__fail(sift_pg *pg, sift_err *err, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL)
        return SIFT_EDB;
    va_start(ap, fmt);
    sift_err_vset(err, SIFT_EDB, fmt, ap);
    va_end(ap);
    if (pg != NULL)
        sift_err_where(err, pg->shown);
    return SIFT_EDB;
}

/* The first line of s, without a trailing "\n" and libpq's "FATAL:  " /
 * "ERROR:  " prefix, into buf. */
static void
first_line(char *buf, size_t n, const char *s)
{
    size_t l;

    if (s == NULL)
        s = "";
    if (strncmp(s, "FATAL:  ", 8) == 0 || strncmp(s, "ERROR:  ", 8) == 0)
        s += 8;
    l = strcspn(s, "\r\n");
    if (l >= n)
        l = n - 1;
    memcpy(buf, s, l);
    buf[l] = '\0';
}

int
sift_pg__res_err(sift_pg *pg, PGresult *r, sift_err *err, const char *what)
{
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    char line[512];
    int rc;

    first_line(line, sizeof(line),
               msg ? msg : (r ? PQresultErrorMessage(r) : NULL));
    if (line[0] == '\0')
        first_line(line, sizeof(line), PQerrorMessage(pg->conn));
    if (pg->query_errs && PQstatus(pg->conn) == CONNECTION_OK &&
        state != NULL &&
        (strncmp(state, "42", 2) == 0 || strncmp(state, "22", 2) == 0 ||
         strncmp(state, "0A", 2) == 0 || strcmp(state, "08P01") == 0)) {
        /* the statement's own fault (syntax, names, parameters) */
        sift_err_set(err, SIFT_EUSAGE, "bad query: %s", line);
        sift_err_where(err, pg->shown);
        rc = SIFT_EUSAGE;
    } else if (PQstatus(pg->conn) == CONNECTION_BAD ||
               (state != NULL &&
                (strncmp(state, "08", 2) == 0 || strcmp(state, "57P01") == 0 ||
                 strcmp(state, "57P02") == 0 || strcmp(state, "57P03") == 0)))
        rc = sift_pg__fail(pg, err,
                           "lost the connection to the database server "
                           "(database %s on %s:%s)",
                           PQdb(pg->conn), PQhost(pg->conn), PQport(pg->conn));
    else if (state != NULL && strcmp(state, "25006") == 0)
        rc = sift_pg__fail(pg, err, "database is read-only");
    else if (state != NULL && strcmp(state, "55P03") == 0)
        rc = sift_pg__fail(pg, err, "database is locked by another process");
    else if (state != NULL && strcmp(state, "53100") == 0)
        rc = sift_pg__fail(pg, err, "disk full");
    else if (state != NULL && strcmp(state, "53200") == 0) {
        sift_err_set(err, SIFT_ENOMEM, "out of memory (database server)");
        sift_err_where(err, pg->shown);
        rc = SIFT_ENOMEM;
    } else
        rc = sift_pg__fail(pg, err, "%.64s: %s", what, line);
    PQclear(r);
    return rc;
}

/* The prepared statement for sql, prepared now if new: 1 with name set,
 * 0 when it cannot be kept (run it unnamed), or minus the error code. */
static int
prepared(sift_pg *pg, char name[24], const char *sql, const pp *p,
         sift_err *err, const char *what)
{
    PGresult *r;
    size_t i;

    for (i = 0; i < SIFT_PG_PREPARED && pg->prep[i] != NULL &&
                strcmp(pg->prep[i], sql) != 0;
         i++)
        ;
    if (i == SIFT_PG_PREPARED)
        return 0;
    snprintf(name, 24, "sift_s%zu", i);
    if (pg->prep[i] != NULL)
        return 1;
    r = PQprepare(pg->conn, name, sql, p->n, NULL);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        return -sift_pg__res_err(pg, r, err, what);
    PQclear(r);
    pg->prep[i] = strdup(sql); /* NULL: prepared again next time */
    if (pg->prep[i] == NULL) {
        PQclear(PQexec(pg->conn, "DEALLOCATE ALL"));
        return 0;
    }
    return 1;
}

static void forget_answer(sift_pg *pg);

int
sift_pg__exec(sift_pg *pg, PGresult **out, const char *sql, pp *p,
              sift_err *err, const char *what)
{
    PGresult *r;
    ExecStatusType s;

    if (out != NULL)
        *out = NULL;
    if (pg->n_fin + pg->n_seen + pg->n_res > 0 && !pg->no_apply) {
        int rc = sift_pg__apply(pg, err);
        if (rc != SIFT_OK)
            return rc;
    }
    if (pg->asked)
        forget_answer(pg);
    if (p != NULL) {
        char name[24];
        int rc;

        if ((rc = prepared(pg, name, sql, p, err, what)) < 0)
            return -rc;
        if (rc == 1)
            r = PQexecPrepared(pg->conn, name, p->n, p->v, p->len, p->fmt, 0);
        else
            r = PQexecParams(pg->conn, sql, p->n, NULL, p->v, p->len, p->fmt,
                             0);
    } else {
        r = PQexec(pg->conn, sql);
    }
    s = PQresultStatus(r);
    if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK)
        return sift_pg__res_err(pg, r, err, what);
    if (out != NULL)
        *out = r;
    else
        PQclear(r);
    return SIFT_OK;
}

int64_t
sift_pg__int(const PGresult *r, int i, int c)
{
    const char *s = PQgetvalue(r, i, c);

    if (s[0] == 't' && s[1] == '\0')
        return 1;
    return strtoll(s, NULL, 10);
}

/* --- the schema ----------------------------------------------------------- */

/* Schema 5 (the first PostgreSQL schema; the same tables as SQLite's
 * schema 5, docs/schema.md). Records and their child rows are
 * partitioned by the month of their report's end date (partitions are
 * created as months appear; prune drops whole ones); dates before 1990
 * or from 2200 on share the _pmin and _pmax partitions. */
static const char pg_schema_v5[] =
    "CREATE TABLE sift_meta ("
    " id integer PRIMARY KEY CHECK (id = 1),"
    " application text NOT NULL,"
    " schema integer NOT NULL);"
    "CREATE TABLE reports ("
    " id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
    " org_name text NOT NULL,"
    " report_id text NOT NULL,"
    " policy_domain text NOT NULL,"
    " date_begin bigint NOT NULL,"
    " date_end bigint NOT NULL,"
    " email text, extra_contact_info text,"
    " errors text NOT NULL DEFAULT '[]',"
    " version text, namespace text, generator text,"
    " adkim text, aspf text, p text, sp text, np text, pct integer,"
    " fo text, testing text, discovery_method text, input_path text,"
    " ingested_at bigint NOT NULL,"
    " warnings text NOT NULL DEFAULT '[]',"
    " record_count bigint NOT NULL DEFAULT 0,"
    " message_count bigint NOT NULL DEFAULT 0,"
    " content_hash bytea,"
    " UNIQUE (org_name, report_id, policy_domain, date_begin, date_end));"
    "CREATE INDEX reports_domain_begin ON reports (policy_domain, date_begin);"
    "CREATE INDEX reports_end ON reports (date_end);"
    "CREATE INDEX reports_org ON reports (org_name, date_begin);"
    "CREATE SEQUENCE records_id_seq INCREMENT BY 1000;"
    "CREATE TABLE records ("
    " id bigint NOT NULL,"
    " report_id bigint NOT NULL,"
    " date_end bigint NOT NULL,"
    " idx integer NOT NULL,"
    " xml_line bigint NOT NULL DEFAULT 0,"
    " source_ip text,"
    " count bigint NOT NULL,"
    " disposition text, pe_dkim text, pe_spf text,"
    " header_from text, envelope_from text, envelope_to text,"
    " dmarc_fail integer NOT NULL,"
    " would_reject integer NOT NULL,"
    " outcome integer NOT NULL,"
    " spf_aligned integer NOT NULL,"
    " dkim_aligned integer NOT NULL,"
    " categories bigint NOT NULL,"
    " flags bigint NOT NULL,"
    " spf_domain text, dkim_domain text,"
    " primary_cat integer NOT NULL DEFAULT -1,"
    " PRIMARY KEY (id, date_end)"
    ") PARTITION BY RANGE (date_end);"
    "CREATE INDEX records_report ON records (report_id);"
    "CREATE TABLE reasons ("
    " record_id bigint NOT NULL, date_end bigint NOT NULL,"
    " idx integer NOT NULL, type text, comment text,"
    " PRIMARY KEY (record_id, idx, date_end)"
    ") PARTITION BY RANGE (date_end);"
    "CREATE TABLE dkim_results ("
    " record_id bigint NOT NULL, date_end bigint NOT NULL,"
    " idx integer NOT NULL, domain text, selector text, result text,"
    " human_result text,"
    " PRIMARY KEY (record_id, idx, date_end)"
    ") PARTITION BY RANGE (date_end);"
    "CREATE TABLE spf_results ("
    " record_id bigint NOT NULL, date_end bigint NOT NULL,"
    " idx integer NOT NULL, domain text, scope text, result text,"
    " human_result text,"
    " PRIMARY KEY (record_id, idx, date_end)"
    ") PARTITION BY RANGE (date_end);"
    "CREATE TABLE records_pmin PARTITION OF records"
    " FOR VALUES FROM (MINVALUE) TO (631152000);"
    "CREATE TABLE reasons_pmin PARTITION OF reasons"
    " FOR VALUES FROM (MINVALUE) TO (631152000);"
    "CREATE TABLE dkim_results_pmin PARTITION OF dkim_results"
    " FOR VALUES FROM (MINVALUE) TO (631152000);"
    "CREATE TABLE spf_results_pmin PARTITION OF spf_results"
    " FOR VALUES FROM (MINVALUE) TO (631152000);"
    "CREATE TABLE records_pmax PARTITION OF records"
    " FOR VALUES FROM (7258118400) TO (MAXVALUE);"
    "CREATE TABLE reasons_pmax PARTITION OF reasons"
    " FOR VALUES FROM (7258118400) TO (MAXVALUE);"
    "CREATE TABLE dkim_results_pmax PARTITION OF dkim_results"
    " FOR VALUES FROM (7258118400) TO (MAXVALUE);"
    "CREATE TABLE spf_results_pmax PARTITION OF spf_results"
    " FOR VALUES FROM (7258118400) TO (MAXVALUE);"
    "CREATE TABLE failed_inputs ("
    " id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
    " path text NOT NULL, reason text NOT NULL, raw bytea,"
    " size bigint NOT NULL, raw_hash bytea NOT NULL, fp bytea,"
    " first_seen bigint NOT NULL, last_seen bigint NOT NULL,"
    " UNIQUE (path, raw_hash));"
    "CREATE INDEX failed_inputs_fp ON failed_inputs (path, fp);"
    "CREATE TABLE seen_inputs ("
    " fp bytea NOT NULL, len bigint NOT NULL,"
    " report bigint NOT NULL REFERENCES reports (id) ON DELETE CASCADE,"
    " conflict integer NOT NULL,"
    " PRIMARY KEY (fp, len));"
    "CREATE INDEX seen_inputs_report ON seen_inputs (report);"
    "CREATE TABLE conflicts ("
    " id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
    " org_name text NOT NULL, report_id text NOT NULL,"
    " policy_domain text NOT NULL,"
    " date_begin bigint NOT NULL, date_end bigint NOT NULL,"
    " input_path text, content_hash bytea,"
    " first_seen bigint NOT NULL, last_seen bigint NOT NULL,"
    " UNIQUE (org_name, report_id, policy_domain, date_begin, date_end,"
    "  content_hash));"
    "CREATE TABLE evaluation ("
    " id integer PRIMARY KEY CHECK (id = 1),"
    " version integer NOT NULL);"
    "INSERT INTO evaluation (id, version) VALUES (1, 0);"
    "CREATE TABLE imap_mailboxes ("
    " id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
    " server text NOT NULL, \"user\" text NOT NULL, mailbox text NOT NULL,"
    " uidvalidity bigint NOT NULL,"
    " first_run bigint NOT NULL, last_run bigint NOT NULL,"
    " UNIQUE (server, \"user\", mailbox, uidvalidity));"
    "CREATE TABLE imap_settled ("
    " mailbox bigint NOT NULL"
    "  REFERENCES imap_mailboxes (id) ON DELETE CASCADE,"
    " uid bigint NOT NULL, failed integer NOT NULL,"
    " settled_at bigint NOT NULL,"
    " PRIMARY KEY (mailbox, uid));";

/* Version 6 -> 7: the evaluation version per report (SQLite's step 7),
 * and the DNS cache (pg_dns.c; SQLite's step 6, schema_dns in schema.c,
 * column for column: source names, what each policy domain publishes,
 * DKIM keys), which PostgreSQL's step 6 had left out. */
static const char pg_schema_v7[] =
    /* the evaluation version per report (SQLite's step 7) */
    "ALTER TABLE reports ADD COLUMN eval_version integer NOT NULL"
    " DEFAULT 0;"
    "UPDATE reports SET eval_version ="
    " coalesce((SELECT version FROM evaluation), 0);"
    "DROP TABLE evaluation;"
    /* the DNS cache */
    "CREATE TABLE dns_ptr ("
    " ip text PRIMARY KEY, name text, confirmed integer NOT NULL,"
    " status text NOT NULL, ttl bigint NOT NULL, looked_up bigint NOT NULL);"
    "CREATE TABLE dns_published ("
    " domain text PRIMARY KEY, tree_at text, tree_record text,"
    " psl_at text, psl_record text, differ integer NOT NULL,"
    " spf_record text, spf_records integer NOT NULL,"
    " spf_lookups integer NOT NULL, spf_all integer NOT NULL,"
    " spf_includes text, spf_error text,"
    " ttl bigint NOT NULL, looked_up bigint NOT NULL);"
    "CREATE TABLE dns_dkim ("
    " domain text NOT NULL, selector text NOT NULL, status text NOT NULL,"
    " present integer NOT NULL, key_type text, key_bits integer NOT NULL,"
    " ttl bigint NOT NULL, looked_up bigint NOT NULL,"
    " PRIMARY KEY (domain, selector));";

/* Version 7 -> 8: record packs, what the report's scan reads of each
 * record packed per run of ids (pg_pack.c), partitioned like records
 * (a partition for each month records have). SQLite's step 8 does
 * nothing: its scan reads the records table itself. The packs of the
 * records already stored are built after this (fill_packs). */
static const char pg_schema_v8[] =
    "CREATE TABLE record_packs ("
    " first_id bigint NOT NULL, report_id bigint NOT NULL,"
    " date_end bigint NOT NULL, n integer NOT NULL, data bytea NOT NULL,"
    " PRIMARY KEY (first_id, date_end)"
    ") PARTITION BY RANGE (date_end);"
    "CREATE INDEX record_packs_report ON record_packs (report_id);"
    "CREATE TABLE record_packs_pmin PARTITION OF record_packs"
    " FOR VALUES FROM (MINVALUE) TO (631152000);"
    "CREATE TABLE record_packs_pmax PARTITION OF record_packs"
    " FOR VALUES FROM (7258118400) TO (MAXVALUE);"
    "DO $$DECLARE m record; BEGIN"
    " FOR m IN SELECT c.relname AS name,"
    "  pg_get_expr(c.relpartbound, c.oid) AS bound"
    "  FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
    "  WHERE i.inhparent = 'records'::regclass"
    "  AND c.relname ~ '^records_p[0-9]{6}$' LOOP"
    "  EXECUTE format('CREATE TABLE %I PARTITION OF record_packs %s',"
    "   'record_packs_p' || substr(m.name, 10), m.bound);"
    " END LOOP; END$$;";

/* Version 8 -> 9: a record's DKIM and SPF results move into the record
 * row (records.dkim, records.spf), encoded as the reads decode them:
 * entries separated by chr(30), fields by chr(31), each field 'N' (NULL)
 * or 'V' and its value; NULL for none (enc_auth, below, writes the same
 * bytes). Two rows and two index entries fewer per record: their COPY
 * was a third of the server's time in an ingest. The tables become views
 * of the columns, so what queried them still can. SQLite's step 9 does
 * nothing. */
static const char pg_schema_v9[] =
    "ALTER TABLE records ADD COLUMN dkim text, ADD COLUMN spf text;"
    "UPDATE records c SET"
    " dkim = (SELECT string_agg("
    " CASE WHEN x.domain IS NULL THEN 'N'"
    " ELSE 'V' || x.domain END || chr(31) ||"
    " CASE WHEN x.selector IS NULL THEN 'N'"
    " ELSE 'V' || x.selector END || chr(31) ||"
    " CASE WHEN x.result IS NULL THEN 'N'"
    " ELSE 'V' || x.result END || chr(31) ||"
    " CASE WHEN x.human_result IS NULL THEN 'N'"
    " ELSE 'V' || x.human_result END"
    " , chr(30) ORDER BY x.idx) FROM dkim_results x"
    " WHERE x.record_id = c.id AND x.date_end = c.date_end),"
    " spf = (SELECT string_agg("
    " CASE WHEN x.domain IS NULL THEN 'N'"
    " ELSE 'V' || x.domain END || chr(31) ||"
    " CASE WHEN x.scope IS NULL THEN 'N'"
    " ELSE 'V' || x.scope END || chr(31) ||"
    " CASE WHEN x.result IS NULL THEN 'N'"
    " ELSE 'V' || x.result END || chr(31) ||"
    " CASE WHEN x.human_result IS NULL THEN 'N'"
    " ELSE 'V' || x.human_result END"
    " , chr(30) ORDER BY x.idx) FROM spf_results x"
    " WHERE x.record_id = c.id AND x.date_end = c.date_end);"
    "DROP TABLE dkim_results, spf_results;"
    "CREATE FUNCTION sift_field(e text, i integer) RETURNS text"
    " LANGUAGE sql IMMUTABLE AS"
    " $$SELECT CASE WHEN left(split_part(e, chr(31), i), 1) = 'V'"
    " THEN substr(split_part(e, chr(31), i), 2) END$$;"
    "CREATE VIEW dkim_results AS SELECT c.id AS record_id, c.date_end,"
    " (e.n - 1)::integer AS idx, sift_field(e.v, 1) AS domain,"
    " sift_field(e.v, 2) AS selector, sift_field(e.v, 3) AS result,"
    " sift_field(e.v, 4) AS human_result FROM records c CROSS JOIN LATERAL"
    " string_to_table(c.dkim, chr(30)) WITH ORDINALITY AS e (v, n);"
    "CREATE VIEW spf_results AS SELECT c.id AS record_id, c.date_end,"
    " (e.n - 1)::integer AS idx, sift_field(e.v, 1) AS domain,"
    " sift_field(e.v, 2) AS scope, sift_field(e.v, 3) AS result,"
    " sift_field(e.v, 4) AS human_result FROM records c CROSS JOIN LATERAL"
    " string_to_table(c.spf, chr(30)) WITH ORDINALITY AS e (v, n);";

/* 9 -> 10: a report row is inserted when its report begins and updated
 * once, with the batch, when it ends (content hash, counts, warnings).
 * In a full page that update is a new row elsewhere and an entry in each
 * of reports' five indexes; with half of each page left free it stays
 * on the page (a HOT update) and the indexes are not touched: the
 * ingest's final update 40-53 -> 9-10 ms per 2,000 reports. The older
 * pages keep their fill until rewritten. */
static const char pg_schema_v10[] =
    "ALTER TABLE reports SET (fillfactor = 50);";

static int
fill_packs(sift_pg *pg, sift_err *err)
{
    return sift_pg__repack(pg, NULL, err);
}

/* steps[i] brings a database to steps[i].to (then fill, when set, adds
 * the rows the step derives); append new versions here (a new SQLite
 * schema step needs its PostgreSQL step too). */
static const struct {
    int to;
    const char *sql;
    int (*fill)(sift_pg *pg, sift_err *err);
} pg_steps[] = {
    /* 0 -> 5: the first PostgreSQL schema (SQLite's 5: raw last in
     * failed_inputs, as here) */
    {5, pg_schema_v5, NULL},
    /* 5 -> 6: SQLite's DNS cache, left out here at first: the version
     * moved in step only (step 7 adds the tables) */
    {6, "SELECT 1", NULL},
    {7, pg_schema_v7, NULL}, /* 6 -> 7: SQLite's 7, and SQLite's 6 at last */
    {8, pg_schema_v8, fill_packs}, /* 7 -> 8: record packs */
    {9, pg_schema_v9, NULL},   /* 8 -> 9: DKIM and SPF results in the record */
    {10, pg_schema_v10, NULL}, /* 9 -> 10: reports pages half full */
};
#define N_STEPS (sizeof(pg_steps) / sizeof(pg_steps[0]))

_Static_assert(SIFT_STORE_SCHEMA == 10,
               "a new schema version needs its PostgreSQL step in pg.c");

/* Where the database stands: *version (0: no schema), or not ours. */
static int
inspect(sift_pg *pg, int *version, sift_err *err)
{
    PGresult *r = NULL;
    int rc;

    *version = 0;
    rc = sift_pg__exec(pg, &r,
                       "SELECT to_regclass('sift_meta') IS NOT NULL,"
                       " to_regclass('reports') IS NOT NULL",
                       NULL, err, "inspect");
    if (rc != SIFT_OK)
        return rc;
    if (sift_pg__int(r, 0, 0) == 0) {
        int theirs = sift_pg__int(r, 0, 1) != 0;
        PQclear(r);
        return theirs ? sift_pg__fail(pg, err, "not a dmarcsift database")
                      : SIFT_OK;
    }
    PQclear(r);
    rc = sift_pg__exec(pg, &r, "SELECT application, schema FROM sift_meta",
                       NULL, err, "inspect");
    if (rc != SIFT_OK)
        return rc;
    if (PQntuples(r) != 1 || strcmp(PQgetvalue(r, 0, 0), SIFT_PG_APP) != 0) {
        PQclear(r);
        return sift_pg__fail(pg, err, "not a dmarcsift database");
    }
    *version = (int)sift_pg__int(r, 0, 1);
    PQclear(r);
    if (*version > SIFT_STORE_SCHEMA)
        return sift_pg__fail(pg, err,
                             "database was created by a newer dmarcsift "
                             "(schema %d, this build knows %d)",
                             *version, SIFT_STORE_SCHEMA);
    return SIFT_OK;
}

int sift_store__upgrade_wait_ms = SIFT_PG_UPGRADE_WAIT_MS;

/* Take the schema lock (a session lock), waiting for another process's
 * upgrade up to sift_store__upgrade_wait_ms rather than the busy timeout:
 * an upgrade of a big database takes minutes (137 s to schema 9 for 5M
 * records here), and a host that opened it meanwhile must wait for it,
 * not fail as if a writer held a lock. */
static int
schema_lock(sift_pg *pg, int version, sift_err *err)
{
    char sql[160];
    PGresult *r;
    int rc;

    snprintf(sql, sizeof(sql),
             "SELECT set_config('lock_timeout', '%d', false),"
             " pg_advisory_lock(%lld)",
             sift_store__upgrade_wait_ms > 0 ? sift_store__upgrade_wait_ms : 1,
             (long long)SIFT_PG_SCHEMA_LOCK);
    r = PQexec(pg->conn, sql);
    if (PQresultStatus(r) == PGRES_TUPLES_OK) {
        PQclear(r);
        rc = SIFT_OK;
    } else {
        const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        if (state != NULL && strcmp(state, "55P03") == 0) {
            PQclear(r);
            rc = sift_pg__fail(pg, err,
                               "database is being upgraded from schema %d to "
                               "%d by another process: gave up waiting after "
                               "%d s",
                               version, SIFT_STORE_SCHEMA,
                               sift_store__upgrade_wait_ms / 1000);
        } else {
            rc = sift_pg__res_err(pg, r, err, "schema upgrade");
        }
    }
    /* back to the busy timeout */
    snprintf(sql, sizeof(sql), "SET lock_timeout = %d",
             pg->busy_ms > 0 ? pg->busy_ms : 1);
    if (rc == SIFT_OK)
        rc = sift_pg__exec(pg, NULL, sql, NULL, err, "schema upgrade");
    else
        PQclear(PQexec(pg->conn, sql));
    return rc;
}

/* Bring the schema to SIFT_STORE_SCHEMA in one transaction, under an
 * advisory lock: other hosts opening the database meanwhile wait, then
 * find it migrated. */
static int
migrate(sift_pg *pg, sift_err *err)
{
    char sql[160];
    size_t i;
    int version, rc;

    if ((rc = inspect(pg, &version, err)) != SIFT_OK)
        return rc;
    if (version == SIFT_STORE_SCHEMA)
        return SIFT_OK;
    if (pg->readonly)
        return sift_pg__fail(pg, err,
                             "database needs an upgrade from schema %d to "
                             "%d: open it once read-write",
                             version, SIFT_STORE_SCHEMA);
    /* A session lock, then a transaction: a transaction that starts after
     * the lock sees the catalog as the previous holder left it (an
     * advisory lock taken inside a transaction does not refresh the
     * catalog caches: the table another host just created looked
     * absent, "relation sift_meta already exists") */
    if ((rc = schema_lock(pg, version, err)) != SIFT_OK)
        return rc;
    if ((rc = sift_pg__exec(pg, NULL, "BEGIN", NULL, err, "schema upgrade")) !=
        SIFT_OK)
        goto unlock;
    /* the writer lock too: a writer of the previous build, still running,
     * waits instead of storing records that a step's fill would miss */
    snprintf(sql, sizeof(sql), "SELECT pg_advisory_xact_lock(%lld)",
             (long long)SIFT_PG_WRITE_LOCK);
    if ((rc = sift_pg__exec(pg, NULL, sql, NULL, err, "schema upgrade")) !=
        SIFT_OK)
        goto fail;
    if ((rc = inspect(pg, &version, err)) != SIFT_OK)
        goto fail;
    if (version == SIFT_STORE_SCHEMA) /* another host did it meanwhile */
        goto commit;
    for (i = 0; i < N_STEPS; i++) {
        if (pg_steps[i].to <= version)
            continue;
        rc = sift_pg__exec(pg, NULL, pg_steps[i].sql, NULL, err,
                           "schema upgrade");
        if (rc == SIFT_OK && pg_steps[i].fill != NULL)
            rc = pg_steps[i].fill(pg, err);
        if (rc != SIFT_OK)
            goto fail;
        version = pg_steps[i].to;
    }
    snprintf(sql, sizeof(sql),
             "INSERT INTO sift_meta (id, application, schema)"
             " VALUES (1, '%s', %d) ON CONFLICT (id) DO UPDATE SET"
             " schema = excluded.schema",
             SIFT_PG_APP, version);
    if ((rc = sift_pg__exec(pg, NULL, sql, NULL, err, "schema upgrade")) !=
        SIFT_OK)
        goto fail;
commit:
    if ((rc = sift_pg__exec(pg, NULL, "COMMIT", NULL, err, "schema upgrade")) !=
        SIFT_OK)
        goto fail;
    goto unlock;
fail:
    PQclear(PQexec(pg->conn, "ROLLBACK"));
unlock:
    snprintf(sql, sizeof(sql), "SELECT pg_advisory_unlock(%lld)",
             (long long)SIFT_PG_SCHEMA_LOCK);
    PQclear(PQexec(pg->conn, sql));
    return rc;
}

/* --- open / close --------------------------------------------------------- */

static int
connect_err(sift_pg *pg, sift_err *err)
{
    const char *m = PQerrorMessage(pg->conn), *f, *p;
    const char *host = PQhost(pg->conn), *port = PQport(pg->conn);
    const char *db = PQdb(pg->conn);
    char line[512];

    /* "connection to server at "h" (a), port p failed: WHY\n..." */
    for (p = m; (f = strstr(p, "failed: ")) != NULL; p = f + 8)
        ;
    first_line(line, sizeof(line), p);
    if (host == NULL || host[0] == '\0' || host[0] == '/')
        return sift_pg__fail(pg, err,
                             "cannot connect to database %s (local socket "
                             "%s): %s",
                             db ? db : "?", host ? host : "default", line);
    return sift_pg__fail(pg, err,
                         "cannot connect to database %s on %s port %s: %s",
                         db ? db : "?", host, port ? port : "5432", line);
}

static void
discard_notice(void *arg, const char *msg)
{
    (void)arg;
    (void)msg;
}

int
sift_pg_open(sift_pg **out, const char *uri, unsigned flags, sift_err *err)
{
    static const char *const keys[] = {"application_name", "connect_timeout",
                                       "dbname", NULL};
    const char *vals[] = {"dmarcsift", "10", uri, NULL};
    sift_pg *pg;
    size_t i;
    int rc;

    *out = NULL;
    if ((pg = calloc(1, sizeof(*pg))) == NULL)
        return sift_err_set(err, SIFT_ENOMEM, "out of memory");
    pg->base.ops = &sift_pg__ops;
    pg->base.remote = 1;
    pg->readonly = (flags & SIFT_STORE_READONLY) != 0;
    pg->busy_ms = 30000;
    for (i = 0; i < CP__COUNT; i++)
        sift_buf_init(&pg->cp[i], SIFT_PG_COPY_MAX);
    for (i = 0; i < DQ__COUNT; i++)
        sift_buf_init(&pg->dq[i], SIFT_PG_COPY_MAX);
    sift_pg__pack_init(&pg->pack);
    sift_buf_init(&pg->json, SIFT_STORE_MAX_JSON);
    sift_buf_init(&pg->enc, SIFT_PG_COPY_MAX);
    if ((pg->uri = strdup(uri)) == NULL ||
        (pg->shown = sift_store_display_name(uri)) == NULL) {
        rc = sift_err_set(err, SIFT_ENOMEM, "out of memory");
        goto fail;
    }
    vals[2] = uri;
    pg->conn = PQconnectdbParams(keys, vals, 1);
    if (pg->conn == NULL) {
        rc = sift_err_set(err, SIFT_ENOMEM, "out of memory");
        goto fail;
    }
    if (PQstatus(pg->conn) != CONNECTION_OK) {
        rc = connect_err(pg, err);
        goto fail;
    }
    /* quiet notices; UTC; the busy timeout as lock_timeout; no JIT (it
     * compiled the record scan's plan over 121 month partitions for 9 s
     * of a 14 s scan); a reader cannot write */
    PQsetNoticeProcessor(pg->conn, discard_notice, NULL);
    rc = sift_pg__exec(pg, NULL,
                       pg->readonly
                           ? "SET client_min_messages = warning;"
                             " SET TIME ZONE 'UTC'; SET lock_timeout = 30000;"
                             " SET jit = off;"
                             " SET default_transaction_read_only = on"
                           : "SET client_min_messages = warning;"
                             " SET TIME ZONE 'UTC'; SET lock_timeout = 30000;"
                             " SET jit = off",
                       NULL, err, "open");
    if (rc != SIFT_OK)
        goto fail;
    /* a writer on a server that cannot write (a standby, a read-only
     * database) fails here, as a writer of a read-only SQLite file does,
     * not at its first write: `report` on a replica then reads what is
     * stored and says it is stale instead of trying to re-evaluate */
    if (!pg->readonly) {
        PGresult *r = NULL;
        rc = sift_pg__exec(pg, &r,
                           "SELECT pg_is_in_recovery() OR"
                           " current_setting('transaction_read_only') = 'on'",
                           NULL, err, "open");
        if (rc == SIFT_OK && sift_pg__int(r, 0, 0) != 0)
            rc = sift_pg__fail(pg, err, "database is read-only");
        PQclear(r);
        if (rc != SIFT_OK)
            goto fail;
    }
    if ((rc = migrate(pg, err)) != SIFT_OK)
        goto fail;
    *out = pg;
    return SIFT_OK;
fail:
    sift_pg_close(pg);
    return rc;
}

int
sift_pg_set_busy_timeout(sift_pg *pg, int ms, sift_err *err)
{
    pp p;
    int rc;

    pg->busy_ms = ms < 0 ? 0 : ms;
    sift_pg__pp_init(&p);
    /* 0 would mean "wait forever" to PostgreSQL */
    sift_pg__p_int(&p, pg->busy_ms > 0 ? pg->busy_ms : 1);
    rc = sift_pg__exec(pg, NULL, "SELECT set_config('lock_timeout', $1, false)",
                       &p, err, "busy timeout");
    sift_pg__pp_free(&p);
    return rc;
}

void
sift_pg_close(sift_pg *pg)
{
    size_t i;

    if (pg == NULL)
        return;
    if (pg->conn != NULL && PQstatus(pg->conn) == CONNECTION_OK) {
        if (pg->in_report)
            sift_pg_rollback(pg);
        if (pg->in_batch && pg->hold)
            sift_pg_hold(pg, -1, NULL);
        if (pg->in_batch)
            sift_pg_flush(pg, NULL);
    }
    PQfinish(pg->conn);
    for (i = 0; i < SIFT_PG_PREPARED; i++)
        free(pg->prep[i]);
    for (i = 0; i < CP__COUNT; i++)
        sift_buf_dispose(&pg->cp[i]);
    for (i = 0; i < DQ__COUNT; i++)
        sift_buf_dispose(&pg->dq[i]);
    sift_pg__pack_dispose(&pg->pack);
    sift_buf_dispose(&pg->json);
    sift_buf_dispose(&pg->enc);
    free(pg->months);
    free(pg->uri);
    free(pg->shown);
    free(pg);
}

const char *
sift_pg_path(const sift_pg *pg)
{
    return pg->uri;
}

int
sift_pg_is_readonly(const sift_pg *pg)
{
    return pg->readonly;
}

/* --- batches -------------------------------------------------------------- */

static int64_t
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
buffers_reset(sift_pg *pg)
{
    size_t i;

    for (i = 0; i < CP__COUNT; i++) {
        sift_buf_reset(&pg->cp[i]);
        pg->mark[i] = 0;
    }
    for (i = 0; i < DQ__COUNT; i++)
        sift_buf_reset(&pg->dq[i]);
    sift_pg__pack_reset(&pg->pack);
    pg->n_fin = pg->n_seen = pg->n_res = 0;
    pg->no_apply = 0;
}

void
sift_pg__batch_drop(sift_pg *pg)
{
    if (pg->in_batch && PQstatus(pg->conn) == CONNECTION_OK)
        PQclear(PQexec(pg->conn, "ROLLBACK"));
    pg->in_batch = 0;
    pg->batch_reports = 0;
    pg->in_report = 0;
    pg->n_months = pg->months_done; /* created in the batch: gone with it */
    buffers_reset(pg);
}

static int
batch_due(const sift_pg *pg)
{
    return !pg->hold && (pg->batch_reports >= SIFT_STORE_BATCH_REPORTS ||
                         now_ms() - pg->batch_start_ms >= SIFT_STORE_BATCH_MS);
}

static const char *const copy_sql[CP__COUNT] = {
    [CP_RECORDS] = "COPY records (id, report_id, date_end, idx, xml_line,"
                   " source_ip, count, disposition, pe_dkim, pe_spf,"
                   " header_from, envelope_from, envelope_to, dmarc_fail,"
                   " would_reject, outcome, spf_aligned, dkim_aligned,"
                   " categories, flags, spf_domain, dkim_domain, primary_cat,"
                   " dkim, spf) FROM STDIN",
    [CP_REASONS] = "COPY reasons (record_id, date_end, idx, type, comment)"
                   " FROM STDIN",
    [CP_PACKS] = "COPY record_packs (first_id, report_id, date_end, n, data)"
                 " FROM STDIN",
};

int
sift_pg__copy_in(sift_pg *pg, const char *sql, const sift_buf *b, sift_err *err)
{
    PGresult *r;
    size_t off;
    int rc = SIFT_OK;

    r = PQexec(pg->conn, sql);
    if (PQresultStatus(r) != PGRES_COPY_IN)
        return sift_pg__res_err(pg, r, err, "copy");
    PQclear(r);
    for (off = 0; off < b->len && rc == SIFT_OK; off += 1u << 20) {
        size_t n = b->len - off < (1u << 20) ? b->len - off : 1u << 20;
        if (PQputCopyData(pg->conn, b->p + off, (int)n) != 1)
            rc = sift_pg__res_err(pg, NULL, err, "copy");
    }
    if (PQputCopyEnd(pg->conn, rc == SIFT_OK ? NULL : "failed") != 1 &&
        rc == SIFT_OK)
        rc = sift_pg__res_err(pg, NULL, err, "copy");
    while ((r = PQgetResult(pg->conn)) != NULL) {
        if (PQresultStatus(r) != PGRES_COMMAND_OK && rc == SIFT_OK)
            rc = sift_pg__res_err(pg, r, err, "copy");
        else
            PQclear(r);
    }
    return rc;
}

/* Send the buffered rows (in the open transaction). */
static int
copy_flush(sift_pg *pg, sift_err *err)
{
    size_t i;
    int rc = SIFT_OK;

    for (i = 0; i < CP__COUNT && rc == SIFT_OK; i++) {
        sift_buf *b = &pg->cp[i];

        if (b->len == 0)
            continue;
        rc = sift_pg__copy_in(pg, copy_sql[i], b, err);
        sift_buf_reset(b);
        pg->mark[i] = 0;
    }
    return rc;
}

int
sift_pg__settle(sift_pg *pg, sift_err *err)
{
    int rc;

    if ((rc = sift_pg__send_buffered(pg, err)) != SIFT_OK)
        return rc;
    if (pg->n_fin + pg->n_seen + pg->n_res > 0 && !pg->no_apply)
        return sift_pg__apply(pg, err);
    return SIFT_OK;
}

int
sift_pg__send_buffered(sift_pg *pg, sift_err *err)
{
    int rc;

    if (!pg->in_batch)
        return SIFT_OK;
    if (pg->in_report) /* its rows are in the tables now */
        pg->report_flushed = 1;
    if ((rc = copy_flush(pg, err)) != SIFT_OK) {
        sift_pg__batch_drop(pg);
        pg->report_failed = 1;
    }
    return rc;
}

/* A batch's committed reports were lost since the last call (see
 * sift_pg.lost): one error, once. */
static int
lost_check(sift_pg *pg, sift_err *err)
{
    uint64_t n = pg->lost;

    if (n == 0)
        return SIFT_OK;
    pg->lost = 0;
    return sift_pg__fail(pg, err,
                         "%" PRIu64 " stored report%s of a batch rolled back "
                         "after an error (%s): not stored",
                         n, n == 1 ? "" : "s",
                         pg->lost_why[0] ? pg->lost_why : "unknown");
}

static int
batch_commit(sift_pg *pg, sift_err *err)
{
    int rc;

    if ((rc = lost_check(pg, err)) != SIFT_OK)
        return rc;
    if (!pg->in_batch)
        return SIFT_OK;
    if ((rc = copy_flush(pg, err)) == SIFT_OK &&
        (rc = sift_pg__apply(pg, err)) == SIFT_OK)
        rc = sift_pg__exec(pg, NULL, "COMMIT", NULL, err, "commit");
    if (rc != SIFT_OK) {
        sift_pg__batch_drop(pg);
        return rc;
    }
    pg->in_batch = 0;
    pg->batch_reports = 0;
    pg->commits++;
    pg->months_done = pg->n_months;
    return SIFT_OK;
}

int
sift_pg__batch_open(sift_pg *pg, sift_err *err)
{
    char sql[96];
    int rc;

    if (pg->readonly)
        return sift_pg__fail(pg, err, "database is read-only");
    if ((rc = lost_check(pg, err)) != SIFT_OK)
        return rc;
    if (pg->in_batch && batch_due(pg) && !pg->in_report &&
        (rc = batch_commit(pg, err)) != SIFT_OK)
        return rc;
    if (pg->in_batch)
        return SIFT_OK;
    snprintf(sql, sizeof(sql), "BEGIN; SELECT pg_advisory_xact_lock(%lld)",
             (long long)SIFT_PG_WRITE_LOCK);
    if ((rc = sift_pg__exec(pg, NULL, sql, NULL, err, "begin")) != SIFT_OK) {
        /* BEGIN ran and the lock wait failed (lock_timeout): roll the
         * aborted transaction back, or every later statement on this
         * connection fails ("current transaction is aborted") */
        pg->in_batch = 1;
        sift_pg__batch_drop(pg);
        return rc;
    }
    pg->in_batch = 1;
    pg->batch_reports = 0;
    pg->batch_start_ms = now_ms();
    /* a prune elsewhere may have dropped months since the last batch:
     * under the writer lock they are looked up again (once per batch) */
    pg->n_months = pg->months_done = 0;
    return SIFT_OK;
}

int
sift_pg__write(sift_pg *pg, const char *sql, pp *p, uint64_t *changed,
               sift_err *err, const char *what)
{
    PGresult *r = NULL;
    int rc;

    if (changed != NULL)
        *changed = 0;
    if (pg->readonly)
        return sift_pg__fail(pg, err, "database is read-only");
    if (pg->hold && !pg->in_batch &&
        (rc = sift_pg__batch_open(pg, err)) != SIFT_OK)
        return rc;
    if ((rc = sift_pg__exec(pg, &r, sql, p, err, what)) != SIFT_OK) {
        if (pg->in_batch)
            sift_pg__batch_drop(pg);
        return rc;
    }
    if (changed != NULL)
        *changed = (uint64_t)strtoull(PQcmdTuples(r), NULL, 10);
    PQclear(r);
    return SIFT_OK;
}

int
sift_pg_flush(sift_pg *pg, sift_err *err)
{
    int rc;

    if (pg->in_report)
        return sift_err_set(err, SIFT_EUSAGE,
                            "cannot flush while a report is open");
    if ((rc = lost_check(pg, err)) != SIFT_OK)
        return rc;
    if (pg->hold)
        return SIFT_OK;
    return batch_commit(pg, err);
}

uint64_t
sift_pg_commits(const sift_pg *pg)
{
    return pg->commits;
}

int
sift_pg_held(const sift_pg *pg)
{
    return pg->hold;
}

int
sift_pg_hold(sift_pg *pg, int on, sift_err *err)
{
    if (pg->in_report)
        return sift_err_set(err, SIFT_EUSAGE,
                            "cannot hold or release while a report is open");
    if (on > 0) {
        pg->hold = 1;
        return SIFT_OK;
    }
    pg->hold = 0;
    if (on < 0) {
        sift_pg__batch_drop(pg);
        return SIFT_OK;
    }
    return batch_commit(pg, err);
}

/* --- deferred writes ------------------------------------------------------ */

/* One element of the array literal dq[k] (a '{' before the first). */
static int
dq_sep(sift_pg *pg, int k, sift_err *err)
{
    sift_buf *b = &pg->dq[k];

    return sift_buf_add(b, b->len == 0 ? "{" : ",", 1, err);
}

static int
dq_int(sift_pg *pg, int k, int64_t v, sift_err *err)
{
    char num[24];
    int n = snprintf(num, sizeof(num), "%" PRId64, v);
    int rc = dq_sep(pg, k, err);

    return rc != SIFT_OK ? rc : sift_buf_add(&pg->dq[k], num, (size_t)n, err);
}

/* A text element, quoted: NULL is NULL; invalid UTF-8 becomes U+FFFD (as
 * sift_pg__p_text does). */
static int
dq_text(sift_pg *pg, int k, const char *s, sift_err *err)
{
    sift_buf *b = &pg->dq[k];
    const unsigned char *p;
    size_t n;
    int rc;

    if ((rc = dq_sep(pg, k, err)) != SIFT_OK)
        return rc;
    if (s == NULL)
        return sift_buf_add(b, "NULL", 4, err);
    if ((rc = sift_buf_add(b, "\"", 1, err)) != SIFT_OK)
        return rc;
    for (p = (const unsigned char *)s; *p && rc == SIFT_OK; p += n) {
        n = sift_utf8_len(p, SIZE_MAX);
        if (n == 0) {
            rc = sift_buf_add(b, "\xef\xbf\xbd", 3, err);
            n = 1;
        } else if (*p == '"' || *p == '\\') {
            char esc[2] = {'\\', (char)*p};
            rc = sift_buf_add(b, esc, 2, err);
        } else {
            rc = sift_buf_add(b, p, n, err);
        }
    }
    return rc != SIFT_OK ? rc : sift_buf_add(b, "\"", 1, err);
}

/* A bytea element: "\\x<hex>" (the backslash escaped in the literal). */
static int
dq_hash(sift_pg *pg, int k, sift_hash128 h, sift_err *err)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char raw[16];
    char lit[4 + 32 + 1];
    size_t i;
    int rc;

    sift_hash128_put(raw, h);
    memcpy(lit, "\"\\\\x", 4);
    for (i = 0; i < 16; i++) {
        lit[4 + 2 * i] = hex[raw[i] >> 4];
        lit[5 + 2 * i] = hex[raw[i] & 15];
    }
    lit[36] = '"';
    if ((rc = dq_sep(pg, k, err)) != SIFT_OK)
        return rc;
    return sift_buf_add(&pg->dq[k], lit, sizeof(lit), err);
}

/* Close the literals [k0, k1) and bind them as parameters. */
static int
dq_bind(sift_pg *pg, pp *p, int k0, int k1, sift_err *err)
{
    int k, rc;

    for (k = k0; k < k1; k++) {
        if ((rc = sift_buf_add(&pg->dq[k], "}", 1, err)) != SIFT_OK)
            return rc;
        p->v[p->n] = pg->dq[k].p;
        p->len[p->n] = p->fmt[p->n] = 0;
        p->n++;
    }
    return SIFT_OK;
}

/* The queue is over its ceiling: apply it now. */
static int
dq_full(sift_pg *pg, sift_err *err)
{
    size_t k;

    for (k = 0; k < DQ__COUNT; k++)
        if (pg->dq[k].len >= SIFT_PG_DEFER_MAX)
            return sift_pg__apply(pg, err);
    return SIFT_OK;
}

int
sift_pg__apply(sift_pg *pg, sift_err *err)
{
    static const struct {
        int k0, k1;
        const char *sql, *what;
    } step[] = {
        {DQ_FIN_ID, DQ_FIN_MSG + 1,
         "UPDATE reports r SET warnings = v.w, content_hash = v.h,"
         " record_count = v.rc, message_count = v.mc"
         " FROM unnest($1::bigint[], $2::text[], $3::bytea[], $4::bigint[],"
         " $5::bigint[]) AS v(id, w, h, rc, mc) WHERE r.id = v.id",
         "finish report"},
        {DQ_SEEN_FP, DQ_SEEN_END + 1,
         "INSERT INTO seen_inputs (fp, len, report, conflict)"
         " SELECT v.fp, v.len, r.id, v.c FROM unnest($1::bytea[],"
         " $2::bigint[], $3::integer[], $4::text[], $5::text[], $6::text[],"
         " $7::bigint[], $8::bigint[]) WITH ORDINALITY"
         " AS v(fp, len, c, org, rid, dom, b, e, n)"
         " JOIN reports r ON r.org_name = v.org AND r.report_id = v.rid"
         " AND r.policy_domain = v.dom AND r.date_begin = v.b"
         " AND r.date_end = v.e ORDER BY v.n ON CONFLICT DO NOTHING",
         "note seen"},
        {DQ_RES_PATH, DQ_RES_FP + 1,
         "DELETE FROM failed_inputs f USING unnest($1::text[], $2::bytea[])"
         " AS v(path, fp) WHERE f.path = v.path AND f.fp = v.fp",
         "failed inputs"},
    };
    unsigned *const count[] = {&pg->n_fin, &pg->n_seen, &pg->n_res};
    size_t i, k;
    pp p;
    int rc = SIFT_OK;

    if (pg->no_apply)
        return SIFT_OK;
    pg->no_apply = 1;
    for (i = 0; i < sizeof(step) / sizeof(step[0]) && rc == SIFT_OK; i++) {
        if (*count[i] == 0)
            continue;
        sift_pg__pp_init(&p);
        if ((rc = dq_bind(pg, &p, step[i].k0, step[i].k1, err)) == SIFT_OK)
            rc = sift_pg__exec(pg, NULL, step[i].sql, &p, err, step[i].what);
        for (k = (size_t)step[i].k0; k < (size_t)step[i].k1; k++)
            sift_buf_reset(&pg->dq[k]);
        *count[i] = 0;
    }
    pg->no_apply = 0;
    if (rc != SIFT_OK)
        sift_pg__batch_drop(pg);
    return rc;
}

/* --- partitions ----------------------------------------------------------- */

/* The partitions of the month holding t exist (created now if not, in
 * the open batch, under the writer lock). */
static int
ensure_month(sift_pg *pg, int64_t t, sift_err *err)
{
    static const char *const tables[] = {"records", "reasons", "record_packs"};
    struct tm tm, lo, hi;
    time_t tt;
    int32_t m;
    size_t i;
    char sql[256];
    PGresult *r = NULL;
    pp p;
    int rc;

    if (t < 631152000 || t >= INT64_C(7258118400))
        return SIFT_OK; /* _pmin, _pmax */
    tt = (time_t)t;
    gmtime_r(&tt, &tm);
    m = (tm.tm_year + 1900) * 12 + tm.tm_mon;
    for (i = 0; i < pg->n_months; i++)
        if (pg->months[i] == m)
            return SIFT_OK;
    memset(&lo, 0, sizeof(lo));
    lo.tm_year = tm.tm_year;
    lo.tm_mon = tm.tm_mon;
    lo.tm_mday = 1;
    hi = lo;
    hi.tm_mon++;
    /* record_packs' partition is created last (a month an older build
     * made, of schema 7, has the others only) */
    snprintf(sql, sizeof(sql), "record_packs_p%04d%02d", tm.tm_year + 1900,
             tm.tm_mon + 1);
    sift_pg__pp_init(&p);
    sift_pg__p_text(&p, sql);
    rc = sift_pg__exec(pg, &r, "SELECT to_regclass($1) IS NOT NULL", &p, err,
                       "partition");
    sift_pg__pp_free(&p);
    if (rc != SIFT_OK)
        return rc;
    if (sift_pg__int(r, 0, 0) == 0) {
        for (i = 0; i < sizeof(tables) / sizeof(tables[0]) && rc == SIFT_OK;
             i++) {
            snprintf(sql, sizeof(sql),
                     "CREATE TABLE IF NOT EXISTS %s_p%04d%02d PARTITION OF %s"
                     " FOR VALUES FROM (%lld) TO (%lld)",
                     tables[i], tm.tm_year + 1900, tm.tm_mon + 1, tables[i],
                     (long long)timegm(&lo), (long long)timegm(&hi));
            rc = sift_pg__exec(pg, NULL, sql, NULL, err, "partition");
        }
    }
    PQclear(r);
    if (rc != SIFT_OK)
        return rc;
    if (pg->n_months == pg->cap_months) {
        size_t cap = pg->cap_months ? pg->cap_months * 2 : 16;
        int32_t *v = realloc(pg->months, cap * sizeof(*v));
        if (v == NULL)
            return SIFT_OK; /* asked again next time */
        pg->months = v;
        pg->cap_months = cap;
    }
    pg->months[pg->n_months++] = m;
    return SIFT_OK;
}

/* --- one report ----------------------------------------------------------- */

static int64_t
clamp64(uint64_t v)
{
    return v > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)v;
}

static uint64_t
sat_add(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static void
key_params(pp *p, const sift_report_meta *m)
{
    sift_pg__p_key(p, m->org_name);
    sift_pg__p_key(p, m->report_id);
    sift_pg__p_key(p, m->domain);
    sift_pg__p_int(p, m->begin);
    sift_pg__p_int(p, m->end);
}

#define SQL_FIND_REPORT                                                        \
    "SELECT content_hash, record_count, message_count"                         \
    " FROM reports WHERE org_name = $1 AND report_id = $2"                     \
    " AND policy_domain = $3 AND date_begin = $4 AND date_end = $5"
#define SQL_SEEN "SELECT conflict FROM seen_inputs WHERE fp = $1 AND len = $2"
/* Both in one row: the seen input's conflict (NULL: not seen), the
 * report's id (NULL: not stored) and what SQL_FIND_REPORT gives. */
#define SQL_INPUT                                                              \
    "SELECT s.conflict, r.id, r.content_hash, r.record_count,"                 \
    " r.message_count FROM (SELECT 1) AS one"                                  \
    " LEFT JOIN seen_inputs s ON s.fp = $6 AND s.len = $7"                     \
    " LEFT JOIN reports r ON r.org_name = $1 AND r.report_id = $2"             \
    " AND r.policy_domain = $3 AND r.date_begin = $4 AND r.date_end = $5"

/* *out from row 0 of a result whose columns c, c + 1 and c + 2 are a
 * report's content_hash, record_count and message_count. */
static void
stored_row(sift_stored *out, const PGresult *r, int c)
{
    memset(out, 0, sizeof(*out));
    if (!PQgetisnull(r, 0, c)) {
        size_t n = 0;
        unsigned char *b =
            PQunescapeBytea((const unsigned char *)PQgetvalue(r, 0, c), &n);
        if (b != NULL && n == 16) {
            out->hash = sift_hash128_get(b);
            out->hash_known = 1;
        }
        PQfreemem(b);
    }
    out->records = (uint64_t)sift_pg__int(r, 0, c + 1);
    out->messages = (uint64_t)sift_pg__int(r, 0, c + 2);
}

static int
find_report(sift_pg *pg, sift_stored *out, const sift_report_meta *m,
            sift_err *err)
{
    PGresult *r = NULL;
    pp p;
    int rc;

    memset(out, 0, sizeof(*out));
    sift_pg__pp_init(&p);
    key_params(&p, m);
    rc = sift_pg__exec(pg, &r, SQL_FIND_REPORT, &p, err, "find report");
    sift_pg__pp_free(&p);
    if (rc != SIFT_OK)
        return rc;
    if (PQntuples(r) == 1) {
        stored_row(out, r, 0);
        rc = SIFT_EDUP;
    }
    PQclear(r);
    return rc;
}

int
sift_pg_lookup(sift_pg *pg, sift_stored *out, const sift_report_meta *meta,
               sift_err *err)
{
    memset(out, 0, sizeof(*out));
    if (pg->in_report)
        return sift_err_set(err, SIFT_EUSAGE, "a report is open");
    return find_report(pg, out, meta, err);
}

int
sift_pg_adopt_hash(sift_pg *pg, const sift_report_meta *m, sift_hash128 hash,
                   sift_err *err)
{
    pp p;
    int rc;

    if (!pg->in_report && (rc = sift_pg__batch_open(pg, err)) != SIFT_OK)
        return rc;
    sift_pg__pp_init(&p);
    key_params(&p, m);
    sift_pg__p_hash(&p, hash);
    rc = sift_pg__write(pg,
                        "UPDATE reports SET content_hash = $6"
                        " WHERE org_name = $1 AND report_id = $2"
                        " AND policy_domain = $3 AND date_begin = $4"
                        " AND date_end = $5 AND content_hash IS NULL",
                        &p, NULL, err, "adopt hash");
    sift_pg__pp_free(&p);
    return rc;
}

int
sift_pg_begin(sift_pg *pg, sift_stored *dup, const sift_report_meta *m,
              const char *input_path, sift_err *err)
{
    PGresult *r = NULL;
    sift_stored h;
    size_t i;
    pp p;
    int rc;

    if (dup != NULL)
        memset(dup, 0, sizeof(*dup));
    if (pg->in_report)
        return sift_err_set(err, SIFT_EUSAGE, "a report is already open");
    if ((rc = sift_pg__batch_open(pg, err)) != SIFT_OK)
        return rc;
    /* the deferred writes of the batch's earlier reports wait: neither
     * the partitions nor the identity insert depend on them */
    pg->no_apply = 1;
    rc = ensure_month(pg, m->end, err);
    pg->no_apply = 0;
    if (rc != SIFT_OK)
        goto fail;
    rc = sift_store__json_array(&pg->json, m->errors, m->n_errors, err);
    if (rc != SIFT_OK)
        return rc; /* nothing sent: the batch goes on */
    sift_pg__pp_init(&p);
    key_params(&p, m);
    sift_pg__p_text(&p, m->email);
    sift_pg__p_text(&p, m->extra_contact_info);
    sift_pg__p_text(&p, pg->json.p);
    sift_pg__p_text(&p, m->version);
    sift_pg__p_text(&p, m->namespace);
    sift_pg__p_text(&p, m->generator);
    sift_pg__p_text(&p, m->adkim);
    sift_pg__p_text(&p, m->aspf);
    sift_pg__p_text(&p, m->p);
    sift_pg__p_text(&p, m->sp);
    sift_pg__p_text(&p, m->np);
    if (m->pct >= 0)
        sift_pg__p_int(&p, m->pct);
    else
        sift_pg__p_null(&p);
    sift_pg__p_text(&p, m->fo);
    sift_pg__p_text(&p, m->testing);
    sift_pg__p_text(&p, m->discovery_method);
    sift_pg__p_text(&p, input_path);
    sift_pg__p_int(&p, (int64_t)time(NULL));
    sift_pg__p_int(&p, pg->base.eval_stamp);
    pg->no_apply = 1;
    rc = sift_pg__exec(
        pg, &r,
        "INSERT INTO reports (org_name, report_id, policy_domain,"
        " date_begin, date_end, email, extra_contact_info, errors, version,"
        " namespace, generator, adkim, aspf, p, sp, np, pct, fo, testing,"
        " discovery_method, input_path, ingested_at, eval_version)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13,"
        " $14, $15, $16, $17, $18, $19, $20, $21, $22, $23)"
        " ON CONFLICT DO NOTHING RETURNING id",
        &p, err, "insert report");
    pg->no_apply = 0;
    sift_pg__pp_free(&p);
    if (rc != SIFT_OK)
        goto fail;
    if (PQntuples(r) == 0) { /* stored already */
        PQclear(r);
        rc = find_report(pg, &h, m, err);
        if (rc == SIFT_OK) /* gone meanwhile: cannot be, under the lock */
            memset(&h, 0, sizeof(h));
        else if (rc != SIFT_EDUP)
            goto fail;
        if (dup != NULL)
            *dup = h;
        return SIFT_EDUP;
    }
    pg->report_rowid = sift_pg__int(r, 0, 0);
    PQclear(r);
    pg->in_report = 1;
    pg->report_failed = 0;
    pg->report_flushed = 0;
    pg->report_end = m->end;
    pg->report_records = pg->report_messages = 0;
    pg->report_idx = 0;
    sift_pg__pack_reset(&pg->pack);
    for (i = 0; i < CP__COUNT; i++)
        pg->mark[i] = pg->cp[i].len;
    return SIFT_OK;
fail:
    sift_pg__batch_drop(pg);
    return rc;
}

/* COPY text: one field, tab-separated (first: no tab), \N for NULL.
 * Runs of bytes that need nothing (printable ASCII but the backslash)
 * are appended whole: the writer formats every record's text here. */
static int
cp_text(sift_buf *b, const char *s, int first, sift_err *err)
{
    const unsigned char *p, *run;
    char esc[2] = {'\\', 0};
    size_t n;
    int rc;

    if (!first && (rc = sift_buf_add(b, "\t", 1, err)) != SIFT_OK)
        return rc;
    if (s == NULL)
        return sift_buf_add(b, "\\N", 2, err);
    for (p = run = (const unsigned char *)s;; p += n) {
        if (*p >= 0x20 && *p < 0x7f && *p != '\\') {
            n = 1;
            continue;
        }
        if (p > run &&
            (rc = sift_buf_add(b, run, (size_t)(p - run), err)) != SIFT_OK)
            return rc;
        if (*p == '\0')
            return SIFT_OK;
        n = sift_utf8_len(p, SIZE_MAX);
        if (n == 0) { /* PostgreSQL refuses invalid UTF-8 */
            rc = sift_buf_add(b, "\xef\xbf\xbd", 3, err);
            n = 1;
        } else {
            switch (*p) {
            case '\\':
                esc[1] = '\\';
                break;
            case '\t':
                esc[1] = 't';
                break;
            case '\n':
                esc[1] = 'n';
                break;
            case '\r':
                esc[1] = 'r';
                break;
            default:
                esc[1] = 0;
                break;
            }
            rc = esc[1] ? sift_buf_add(b, esc, 2, err)
                        : sift_buf_add(b, p, n, err);
        }
        if (rc != SIFT_OK)
            return rc;
        run = p + n;
    }
}

static int
cp_int(sift_buf *b, int64_t v, int first, sift_err *err)
{
    char num[24], *o = num + sizeof(num);
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;

    do {
        *--o = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--o = '-';
    if (!first)
        *--o = '\t';
    return sift_buf_add(b, o, (size_t)(num + sizeof(num) - o), err);
}

static int
cp_end(sift_buf *b, sift_err *err)
{
    return sift_buf_add(b, "\n", 1, err);
}

/* The reasons of record id: rows of `reasons` (few records have any). */
static int
cp_reasons(sift_pg *pg, int64_t id, const sift_record *r, sift_err *err)
{
    sift_buf *b = &pg->cp[CP_REASONS];
    size_t i;
    int rc = SIFT_OK;

    for (i = 0; i < r->n_reasons && rc == SIFT_OK; i++) {
        if ((rc = cp_int(b, id, 1, err)) == SIFT_OK &&
            (rc = cp_int(b, pg->report_end, 0, err)) == SIFT_OK &&
            (rc = cp_int(b, (int64_t)i, 0, err)) == SIFT_OK &&
            (rc = cp_text(b, r->reasons[i].type, 0, err)) == SIFT_OK &&
            (rc = cp_text(b, r->reasons[i].comment, 0, err)) == SIFT_OK)
            rc = cp_end(b, err);
    }
    return rc;
}

/* One DKIM or SPF result appended to e as records.dkim/.spf hold them
 * (pg_schema_v9): chr(30) before all but the first, its 4 fields
 * separated by chr(31), each 'N' (NULL) or 'V' and the value. The two
 * separators (which XML 1.0 cannot carry) become U+FFFD in a value, so
 * that no value can split the list. */
static int
enc_auth(sift_buf *e, const char *const f[4], int first, sift_err *err)
{
    size_t i, n;
    const char *v;
    int rc = SIFT_OK;

    if (!first)
        rc = sift_buf_add(e, "\x1e", 1, err);
    for (i = 0; i < 4 && rc == SIFT_OK; i++) {
        if (i > 0 && (rc = sift_buf_add(e, "\x1f", 1, err)) != SIFT_OK)
            break;
        if (f[i] == NULL) {
            rc = sift_buf_add(e, "N", 1, err);
            continue;
        }
        rc = sift_buf_add(e, "V", 1, err);
        for (v = f[i]; rc == SIFT_OK && *v != '\0'; v += n) {
            if ((n = strcspn(v, "\x1e\x1f")) > 0) {
                rc = sift_buf_add(e, v, n, err);
            } else {
                rc = sift_buf_add(e, "\xef\xbf\xbd", 3, err);
                n = 1;
            }
        }
    }
    return rc;
}

/* The record's DKIM and SPF results: its last two COPY fields. */
static int
cp_auth(sift_pg *pg, sift_buf *b, const sift_record *r, sift_err *err)
{
    sift_buf *e = &pg->enc;
    size_t i;
    int rc = SIFT_OK;

    sift_buf_reset(e);
    for (i = 0; i < r->n_dkim && rc == SIFT_OK; i++) {
        const sift_dkim_result *d = &r->dkim_results[i];
        const char *f[4] = {d->domain, d->selector, d->result, d->human_result};
        rc = enc_auth(e, f, i == 0, err);
    }
    if (rc == SIFT_OK)
        rc = cp_text(b, r->n_dkim ? e->p : NULL, 0, err);
    sift_buf_reset(e);
    for (i = 0; i < r->n_spf && rc == SIFT_OK; i++) {
        const sift_spf_result *sp = &r->spf_results[i];
        const char *f[4] = {sp->domain, sp->scope, sp->result,
                            sp->human_result};
        rc = enc_auth(e, f, i == 0, err);
    }
    if (rc == SIFT_OK)
        rc = cp_text(b, r->n_spf ? e->p : NULL, 0, err);
    return rc;
}

/* The next record id (a block of SIFT_PG_ID_BLOCK per nextval()). */
static int
next_id(sift_pg *pg, int64_t *id, sift_err *err)
{
    PGresult *r = NULL;
    int rc;

    if (pg->next_id == pg->end_id) {
        pg->no_apply = 1;
        rc = sift_pg__exec(pg, &r, "SELECT nextval('records_id_seq')", NULL,
                           err, "record id");
        pg->no_apply = 0;
        if (rc != SIFT_OK)
            return rc;
        pg->next_id = sift_pg__int(r, 0, 0);
        pg->end_id = pg->next_id + SIFT_PG_ID_BLOCK;
        PQclear(r);
    }
    *id = pg->next_id++;
    return SIFT_OK;
}

int
sift_pg_add(sift_pg *pg, const sift_record *r, const sift_verdict *v,
            sift_err *err)
{
    static const sift_verdict none = {0};
    sift_buf *b = &pg->cp[CP_RECORDS];
    sift_scan_row row;
    int64_t id;
    int rc;

    if (!pg->in_report)
        return sift_err_set(err, SIFT_EUSAGE, "no report is open");
    if (v == NULL)
        v = &none;
    if ((rc = next_id(pg, &id, err)) != SIFT_OK)
        goto fail;
    if ((rc = cp_int(b, id, 1, err)) != SIFT_OK ||
        (rc = cp_int(b, pg->report_rowid, 0, err)) != SIFT_OK ||
        (rc = cp_int(b, pg->report_end, 0, err)) != SIFT_OK ||
        (rc = cp_int(b, pg->report_idx, 0, err)) != SIFT_OK ||
        (rc = cp_int(b, clamp64(r->line), 0, err)) != SIFT_OK ||
        (rc = cp_text(b, r->source_ip, 0, err)) != SIFT_OK ||
        (rc = cp_int(b, clamp64(r->count), 0, err)) != SIFT_OK ||
        (rc = cp_text(b, r->disposition, 0, err)) != SIFT_OK ||
        (rc = cp_text(b, r->dkim, 0, err)) != SIFT_OK ||
        (rc = cp_text(b, r->spf, 0, err)) != SIFT_OK ||
        (rc = cp_text(b, r->header_from, 0, err)) != SIFT_OK ||
        (rc = cp_text(b, r->envelope_from, 0, err)) != SIFT_OK ||
        (rc = cp_text(b, r->envelope_to, 0, err)) != SIFT_OK ||
        (rc = cp_int(b, v->dmarc_fail, 0, err)) != SIFT_OK ||
        (rc = cp_int(b, v->would_reject, 0, err)) != SIFT_OK ||
        (rc = cp_int(b, (int)v->outcome, 0, err)) != SIFT_OK ||
        (rc = cp_int(b, v->spf_aligned, 0, err)) != SIFT_OK ||
        (rc = cp_int(b, v->dkim_aligned, 0, err)) != SIFT_OK ||
        (rc = cp_int(b, (int64_t)v->categories, 0, err)) != SIFT_OK ||
        (rc = cp_int(b, (int64_t)sift_stored_flags(v, r->disposition), 0,
                     err)) != SIFT_OK ||
        (rc = cp_text(b, v->spf_domain, 0, err)) != SIFT_OK ||
        (rc = cp_text(b, v->dkim_domain, 0, err)) != SIFT_OK ||
        (rc = cp_int(b, (int)v->primary, 0, err)) != SIFT_OK ||
        (rc = cp_auth(pg, b, r, err)) != SIFT_OK ||
        (rc = cp_end(b, err)) != SIFT_OK)
        goto fail;
    if ((rc = cp_reasons(pg, id, r, err)) != SIFT_OK)
        goto fail;
    /* what the report's scan reads of it (pg_pack.c) */
    memset(&row, 0, sizeof(row));
    row.id = id;
    row.report = pg->report_rowid;
    row.source_ip = r->source_ip;
    row.header_from = r->header_from;
    row.spf_domain = v->spf_domain;
    row.dkim_domain = v->dkim_domain;
    row.count = (uint64_t)clamp64(r->count);
    row.outcome = (int)v->outcome;
    row.flags = (uint32_t)sift_stored_flags(v, r->disposition);
    row.categories = (uint32_t)v->categories;
    if ((rc = sift_pg__pack_add(&pg->pack, &pg->cp[CP_PACKS], pg->report_end,
                                &row, err)) != SIFT_OK)
        goto fail;
    pg->report_idx++;
    pg->report_records++;
    pg->report_messages = sat_add(pg->report_messages, r->count);
    /* a big report: send what is buffered (its rows stay in the batch) */
    if (b->len >= SIFT_PG_COPY_FLUSH) {
        pg->report_flushed = 1;
        if ((rc = copy_flush(pg, err)) != SIFT_OK) {
            sift_pg__batch_drop(pg);
            pg->report_failed = 1;
            return rc;
        }
    }
    return SIFT_OK;
fail:
    pg->report_failed = 1;
    return rc;
}

/* Drop the open report: its buffered rows, and what was sent of it. */
static void
drop_report(sift_pg *pg)
{
    sift_err e;
    size_t i;
    pp p;

    pg->in_report = 0;
    sift_pg__pack_reset(&pg->pack);
    if (!pg->in_batch)
        return;
    sift_err_clear(&e);
    for (i = 0; i < CP__COUNT; i++)
        if (pg->cp[i].len > pg->mark[i])
            pg->cp[i].len = pg->mark[i];
    sift_pg__pp_init(&p);
    sift_pg__p_int(&p, pg->report_rowid);
    sift_pg__p_int(&p, pg->report_end);
    if (pg->report_flushed) {
        static const char *const del[] = {
            "DELETE FROM reasons x USING records c WHERE c.report_id = $1"
            " AND c.date_end = $2 AND x.date_end = $2 AND x.record_id = c.id",
            "DELETE FROM records WHERE report_id = $1 AND date_end = $2",
            "DELETE FROM record_packs WHERE report_id = $1"
            " AND date_end = $2"};
        for (i = 0; i < sizeof(del) / sizeof(del[0]); i++)
            if (sift_pg__exec(pg, NULL, del[i], &p, &e, "rollback") != SIFT_OK)
                break;
    }
    if (sift_pg__exec(pg, NULL,
                      "DELETE FROM reports WHERE id = $1 AND date_end = $2", &p,
                      &e, "rollback") != SIFT_OK) {
        snprintf(pg->lost_why, sizeof(pg->lost_why), "%.150s", e.msg);
        pg->lost += pg->batch_reports; /* the caller is not told here */
        sift_pg__batch_drop(pg);
    }
    sift_pg__pp_free(&p);
}

int
sift_pg_commit(sift_pg *pg, const sift_report_meta *meta,
               sift_hash128 content_hash, sift_err *err)
{
    int rc;

    if (!pg->in_report)
        return sift_err_set(err, SIFT_EUSAGE, "no report is open");
    if (pg->report_failed) {
        drop_report(pg);
        return sift_pg__fail(pg, err, "report not stored: a record failed");
    }
    rc = sift_store__json_array(&pg->json, meta ? meta->warnings : NULL,
                                meta ? meta->n_warnings : 0, err);
    if (rc == SIFT_OK) /* the report's last pack */
        rc = sift_pg__pack_emit(&pg->pack, &pg->cp[CP_PACKS], err);
    if (rc != SIFT_OK) {
        drop_report(pg);
        return rc;
    }
    /* the row's final values: applied with the batch's others (one
     * UPDATE), before the batch commits or anything reads them */
    if ((rc = dq_int(pg, DQ_FIN_ID, pg->report_rowid, err)) == SIFT_OK &&
        (rc = dq_text(pg, DQ_FIN_WARN, pg->json.p, err)) == SIFT_OK &&
        (rc = dq_hash(pg, DQ_FIN_HASH, content_hash, err)) == SIFT_OK &&
        (rc = dq_int(pg, DQ_FIN_REC, clamp64(pg->report_records), err)) ==
            SIFT_OK &&
        (rc = dq_int(pg, DQ_FIN_MSG, clamp64(pg->report_messages), err)) ==
            SIFT_OK) {
        pg->n_fin++;
        rc = dq_full(pg, err);
    }
    if (rc != SIFT_OK) {
        sift_pg__batch_drop(pg);
        return rc;
    }
    pg->in_report = 0;
    pg->batch_reports++;
    if (batch_due(pg))
        return batch_commit(pg, err);
    return SIFT_OK;
}

void
sift_pg_rollback(sift_pg *pg)
{
    if (pg == NULL || !pg->in_report)
        return;
    drop_report(pg);
}

/* --- seen inputs, conflicts, failed inputs -------------------------------- */

int
sift_pg_note_conflict(sift_pg *pg, const sift_report_meta *m,
                      const char *input_path, sift_hash128 content_hash,
                      sift_err *err)
{
    pp p;
    int rc;

    sift_pg__pp_init(&p);
    key_params(&p, m);
    sift_pg__p_text(&p, input_path);
    sift_pg__p_hash(&p, content_hash);
    sift_pg__p_int(&p, (int64_t)time(NULL));
    rc = sift_pg__write(
        pg,
        "INSERT INTO conflicts (org_name, report_id, policy_domain,"
        " date_begin, date_end, input_path, content_hash, first_seen,"
        " last_seen) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)"
        " ON CONFLICT (org_name, report_id, policy_domain, date_begin,"
        " date_end, content_hash) DO UPDATE SET"
        " last_seen = excluded.last_seen",
        &p, NULL, err, "note conflict");
    sift_pg__pp_free(&p);
    return rc;
}

int
sift_pg_seen(sift_pg *pg, int *conflict, sift_hash128 fp, uint64_t len,
             sift_err *err)
{
    PGresult *r = NULL;
    pp p;
    int rc;

    *conflict = 0;
    sift_pg__pp_init(&p);
    sift_pg__p_hash(&p, fp);
    sift_pg__p_int(&p, clamp64(len));
    rc = sift_pg__exec(pg, &r, SQL_SEEN, &p, err, "seen inputs");
    sift_pg__pp_free(&p);
    if (rc != SIFT_OK)
        return rc;
    if (PQntuples(r) > 0) {
        *conflict = sift_pg__int(r, 0, 0) != 0;
        rc = SIFT_EDUP;
    }
    PQclear(r);
    return rc;
}

/* --- questions in flight (sift_store_ask_*) ------------------------------ */

enum { ASK_NONE, ASK_SEEN, ASK_LOOKUP, ASK_INPUT };

static const char *const ask_what[] = {"", "seen inputs", "find report",
                                       "seen inputs"};

int
sift_pg_ask(sift_pg *pg, const sift_hash128 *fp, uint64_t len,
            const sift_report_meta *meta, sift_err *err)
{
    int kind = meta == NULL ? ASK_SEEN : fp == NULL ? ASK_LOOKUP : ASK_INPUT;
    const char *sql = kind == ASK_SEEN     ? SQL_SEEN
                      : kind == ASK_LOOKUP ? SQL_FIND_REPORT
                                           : SQL_INPUT;
    char name[24];
    int rc, sent;
    pp p;

    if (pg->asked)
        return sift_err_set(err, SIFT_EUSAGE, "a question is pending");
    if (pg->in_report)
        return sift_err_set(err, SIFT_EUSAGE, "a report is open");
    if (fp == NULL && meta == NULL)
        return sift_err_set(err, SIFT_EUSAGE, "nothing to ask");
    if (pg->n_fin + pg->n_seen + pg->n_res > 0 && !pg->no_apply &&
        (rc = sift_pg__apply(pg, err)) != SIFT_OK)
        return rc;
    sift_pg__pp_init(&p);
    if (meta != NULL)
        key_params(&p, meta);
    if (fp != NULL) {
        sift_pg__p_hash(&p, *fp);
        sift_pg__p_int(&p, clamp64(len));
    }
    if ((rc = prepared(pg, name, sql, &p, err, ask_what[kind])) >= 0) {
        if (rc == 1)
            sent =
                PQsendQueryPrepared(pg->conn, name, p.n, p.v, p.len, p.fmt, 0);
        else
            sent = PQsendQueryParams(pg->conn, sql, p.n, NULL, p.v, p.len,
                                     p.fmt, 0);
        rc = sent ? SIFT_OK : sift_pg__res_err(pg, NULL, err, ask_what[kind]);
        if (sent)
            pg->asked = kind;
    } else {
        rc = -rc;
    }
    sift_pg__pp_free(&p);
    return rc;
}

int
sift_pg_answered(sift_pg *pg)
{
    /* a failed read: the answer (an error) is there */
    if (!pg->asked || !PQconsumeInput(pg->conn))
        return 1;
    return !PQisBusy(pg->conn);
}

int
sift_pg_answer(sift_pg *pg, sift_answer *out, sift_err *err)
{
    PGresult *r, *extra;
    int kind = pg->asked;

    if (kind == ASK_NONE)
        return sift_err_set(err, SIFT_EUSAGE, "nothing asked");
    pg->asked = ASK_NONE;
    r = PQgetResult(pg->conn);
    while ((extra = PQgetResult(pg->conn)) != NULL) /* the end: NULL */
        PQclear(extra);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        return sift_pg__res_err(pg, r, err, ask_what[kind]);
    if (kind == ASK_INPUT && PQntuples(r) == 1) {
        if ((out->seen = !PQgetisnull(r, 0, 0)) != 0)
            out->conflict = sift_pg__int(r, 0, 0) != 0;
        else if ((out->stored = !PQgetisnull(r, 0, 1)) != 0)
            stored_row(&out->report, r, 2);
    } else if (kind == ASK_SEEN && PQntuples(r) > 0) {
        out->seen = 1;
        out->conflict = sift_pg__int(r, 0, 0) != 0;
    } else if (kind == ASK_LOOKUP && PQntuples(r) == 1) {
        out->stored = 1;
        stored_row(&out->report, r, 0);
    }
    PQclear(r);
    return SIFT_OK;
}

/* Another statement comes: an unanswered question's answer is dropped. */
static void
forget_answer(sift_pg *pg)
{
    PGresult *r;

    pg->asked = ASK_NONE;
    while ((r = PQgetResult(pg->conn)) != NULL)
        PQclear(r);
}

int
sift_pg_note_seen(sift_pg *pg, sift_hash128 fp, uint64_t len,
                  const sift_report_meta *m, int conflict, sift_err *err)
{
    pp p;
    int rc;

    if (!pg->in_report && (rc = sift_pg__batch_open(pg, err)) != SIFT_OK)
        return rc;
    if (pg->in_batch) { /* deferred: applied set-wise (sift_pg__apply) */
        if ((rc = dq_hash(pg, DQ_SEEN_FP, fp, err)) == SIFT_OK &&
            (rc = dq_int(pg, DQ_SEEN_LEN, clamp64(len), err)) == SIFT_OK &&
            (rc = dq_int(pg, DQ_SEEN_CONFLICT, conflict != 0, err)) ==
                SIFT_OK &&
            (rc = dq_text(pg, DQ_SEEN_ORG, m->org_name ? m->org_name : "",
                          err)) == SIFT_OK &&
            (rc = dq_text(pg, DQ_SEEN_RID, m->report_id ? m->report_id : "",
                          err)) == SIFT_OK &&
            (rc = dq_text(pg, DQ_SEEN_DOM, m->domain ? m->domain : "", err)) ==
                SIFT_OK &&
            (rc = dq_int(pg, DQ_SEEN_BEGIN, m->begin, err)) == SIFT_OK &&
            (rc = dq_int(pg, DQ_SEEN_END, m->end, err)) == SIFT_OK) {
            pg->n_seen++;
            return dq_full(pg, err);
        }
        sift_pg__batch_drop(pg);
        return rc;
    }
    sift_pg__pp_init(&p);
    sift_pg__p_hash(&p, fp);
    sift_pg__p_int(&p, clamp64(len));
    sift_pg__p_int(&p, conflict != 0);
    key_params(&p, m);
    rc = sift_pg__write(pg,
                        "INSERT INTO seen_inputs (fp, len, report, conflict)"
                        " SELECT $1, $2, id, $3 FROM reports"
                        " WHERE org_name = $4 AND report_id = $5"
                        " AND policy_domain = $6 AND date_begin = $7"
                        " AND date_end = $8 ON CONFLICT DO NOTHING",
                        &p, NULL, err, "note seen");
    sift_pg__pp_free(&p);
    return rc;
}

int
sift_pg_add_failed(sift_pg *pg, const char *path, const char *reason,
                   const void *raw, size_t len, const sift_hash128 *fp,
                   sift_err *err)
{
    sift_hash128 h = sift_hash128_of(raw, raw ? len : 0);
    pp p;
    int rc;

    sift_pg__pp_init(&p);
    sift_pg__p_key(&p, path);
    sift_pg__p_key(&p, reason);
    if (raw != NULL && len <= SIFT_STORE_MAX_FAILED_RAW)
        sift_pg__p_bin(&p, raw, len);
    else
        sift_pg__p_null(&p);
    sift_pg__p_int(&p, clamp64(len));
    sift_pg__p_hash(&p, h);
    sift_pg__p_int(&p, (int64_t)time(NULL));
    if (fp != NULL)
        sift_pg__p_hash(&p, *fp);
    else
        sift_pg__p_null(&p);
    rc = sift_pg__write(
        pg,
        "INSERT INTO failed_inputs (path, reason, raw, size, raw_hash, fp,"
        " first_seen, last_seen) VALUES ($1, $2, $3, $4, $5, $7, $6, $6)"
        " ON CONFLICT (path, raw_hash) DO UPDATE SET"
        " reason = excluded.reason, last_seen = excluded.last_seen,"
        " fp = coalesce(excluded.fp, failed_inputs.fp)",
        &p, NULL, err, "failed input");
    sift_pg__pp_free(&p);
    return rc;
}

/* COPY's binary format: big-endian integers of n bytes. */
static void
be_put(unsigned char *o, uint64_t v, int n)
{
    int i;

    for (i = n - 1; i >= 0; i--, v >>= 8)
        o[i] = (unsigned char)v;
}

static int
copy_put(sift_pg *pg, const void *p, size_t n, sift_err *err)
{
    if (n > 0 && PQputCopyData(pg->conn, p, (int)n) != 1)
        return sift_pg__res_err(pg, NULL, err, "failed input");
    return SIFT_OK;
}

/* One field of a binary COPY row: its length (-1: NULL), its bytes. */
static int
copy_field(sift_pg *pg, const void *p, int64_t len, sift_err *err)
{
    unsigned char l[4];
    int rc;

    be_put(l, (uint64_t)len, 4);
    if ((rc = copy_put(pg, l, 4, err)) != SIFT_OK || len <= 0)
        return rc;
    return copy_put(pg, p, (size_t)len, err);
}

/* The new row of a failed input whose len bytes are in f, as one binary
 * COPY row: the bytes go to the server in 64 KiB pieces, never whole
 * here. */
static int
copy_failed_row(sift_pg *pg, const char *path, const char *reason, FILE *f,
                uint64_t len, sift_hash128 hash, const sift_hash128 *fp,
                sift_err *err)
{
    /* signature, flags, header extension length; the row's field count */
    static const unsigned char head[] = {'P',  'G',  'C',  'O', 'P', 'Y', '\n',
                                         0xff, '\r', '\n', 0,   0,   0,   0,
                                         0,    0,    0,    0,   0,   0,   8};
    static const unsigned char trailer[] = {0xff, 0xff};
    unsigned char buf[65536], num[8], hb[16], fb[16];
    const char *text[2] = {path ? path : "", reason ? reason : ""};
    char *fixed[2] = {NULL, NULL};
    int64_t now = (int64_t)time(NULL);
    uint64_t off = 0;
    PGresult *r;
    size_t i;
    int rc;

    r = PQexec(pg->conn, "COPY failed_inputs (path, reason, raw, size,"
                         " raw_hash, fp, first_seen, last_seen)"
                         " FROM STDIN (FORMAT binary)");
    if (PQresultStatus(r) != PGRES_COPY_IN)
        return sift_pg__res_err(pg, r, err, "failed input");
    PQclear(r);
    rc = copy_put(pg, head, sizeof(head), err);
    for (i = 0; i < 2 && rc == SIFT_OK; i++) {
        if ((fixed[i] = utf8_fix(text[i])) != NULL)
            text[i] = fixed[i];
        rc = copy_field(pg, text[i], (int64_t)strlen(text[i]), err);
    }
    free(fixed[0]);
    free(fixed[1]);
    if (rc == SIFT_OK) {
        be_put(num, len, 4);
        rc = copy_put(pg, num, 4, err);
    }
    rewind(f);
    while (rc == SIFT_OK && off < len) {
        size_t want =
            len - off < sizeof(buf) ? (size_t)(len - off) : sizeof(buf);
        if (fread(buf, 1, want, f) != want)
            rc = sift_err_sys(err, "%s: cannot read the temporary copy",
                              text[0]);
        else
            rc = copy_put(pg, buf, want, err);
        off += want;
    }
    sift_hash128_put(hb, hash);
    if (fp != NULL)
        sift_hash128_put(fb, *fp);
    be_put(num, (uint64_t)clamp64(len), 8);
    if (rc == SIFT_OK && (rc = copy_field(pg, num, 8, err)) == SIFT_OK &&
        (rc = copy_field(pg, hb, 16, err)) == SIFT_OK &&
        (rc = copy_field(pg, fb, fp != NULL ? 16 : -1, err)) == SIFT_OK) {
        be_put(num, (uint64_t)now, 8);
        if ((rc = copy_field(pg, num, 8, err)) == SIFT_OK &&
            (rc = copy_field(pg, num, 8, err)) == SIFT_OK)
            rc = copy_put(pg, trailer, sizeof(trailer), err);
    }
    if (PQputCopyEnd(pg->conn, rc == SIFT_OK ? NULL : "failed") != 1 &&
        rc == SIFT_OK)
        rc = sift_pg__res_err(pg, NULL, err, "failed input");
    while ((r = PQgetResult(pg->conn)) != NULL) {
        if (PQresultStatus(r) != PGRES_COMMAND_OK && rc == SIFT_OK)
            rc = sift_pg__res_err(pg, r, err, "failed input");
        else
            PQclear(r);
    }
    return rc;
}

/* Bytes too large for memory: streamed into the new row (binary COPY) up
 * to SIFT_STORE_MAX_FAILED_RAW, as SQLite's incremental blob I/O does,
 * inside the open or a new batch (under its writer lock: the look-up and
 * the insert cannot race another host's); a failure drops the row only
 * (a savepoint). Above the ceiling only path, reason and size. */
int
sift_pg_add_failed_file(sift_pg *pg, const char *path, const char *reason,
                        FILE *f, uint64_t len, sift_hash128 hash,
                        const sift_hash128 *fp, sift_err *err)
{
    uint64_t found = 0;
    pp p;
    int rc;

    if (len > SIFT_STORE_MAX_FAILED_RAW)
        return sift_pg_add_failed(pg, path, reason, NULL, (size_t)len, fp, err);
    if (!pg->in_report && (rc = sift_pg__batch_open(pg, err)) != SIFT_OK)
        return rc;
    /* kept before (same path and bytes): only reason, last_seen and fp
     * change, and no bytes are sent */
    sift_pg__pp_init(&p);
    sift_pg__p_key(&p, path);
    sift_pg__p_hash(&p, hash);
    sift_pg__p_key(&p, reason);
    sift_pg__p_int(&p, (int64_t)time(NULL));
    if (fp != NULL)
        sift_pg__p_hash(&p, *fp);
    else
        sift_pg__p_null(&p);
    rc = sift_pg__write(pg,
                        "UPDATE failed_inputs SET reason = $3,"
                        " last_seen = $4, fp = coalesce($5, fp)"
                        " WHERE path = $1 AND raw_hash = $2",
                        &p, &found, err, "failed input");
    sift_pg__pp_free(&p);
    if (rc != SIFT_OK || found > 0)
        return rc;
    if ((rc = sift_pg__exec(pg, NULL, "SAVEPOINT sift_keep", NULL, err,
                            "failed input")) != SIFT_OK) {
        sift_pg__batch_drop(pg);
        return rc;
    }
    rc = copy_failed_row(pg, path, reason, f, len, hash, fp, err);
    if (PQstatus(pg->conn) != CONNECTION_OK) {
        sift_pg__batch_drop(pg);
        return rc;
    }
    PQclear(PQexec(pg->conn, rc == SIFT_OK
                                 ? "RELEASE SAVEPOINT sift_keep"
                                 : "ROLLBACK TO SAVEPOINT sift_keep"));
    return rc;
}

int
sift_pg_resolve_failed(sift_pg *pg, const char *path, sift_hash128 fp,
                       uint64_t *resolved, sift_err *err)
{
    PGresult *r = NULL;
    uint64_t n = 0;
    pp p;
    int rc;

    if (resolved != NULL)
        *resolved = 0;
    /* in a batch (and no count wanted): deferred, applied set-wise with
     * the batch's other writes (sift_pg__apply) */
    if (pg->in_batch && resolved == NULL && !pg->readonly) {
        if ((rc = dq_text(pg, DQ_RES_PATH, path ? path : "", err)) == SIFT_OK &&
            (rc = dq_hash(pg, DQ_RES_FP, fp, err)) == SIFT_OK) {
            pg->n_res++;
            return dq_full(pg, err);
        }
        sift_pg__batch_drop(pg);
        return rc;
    }
    sift_pg__pp_init(&p);
    sift_pg__p_key(&p, path);
    sift_pg__p_hash(&p, fp);
    /* a read first: the usual case (nothing failed) takes no write lock */
    rc = sift_pg__exec(pg, &r,
                       "SELECT 1 FROM failed_inputs WHERE path = $1"
                       " AND fp = $2",
                       &p, err, "failed inputs");
    if (rc == SIFT_OK && PQntuples(r) > 0 &&
        (pg->in_report || (rc = sift_pg__batch_open(pg, err)) == SIFT_OK)) {
        rc = sift_pg__write(pg,
                            "DELETE FROM failed_inputs WHERE path = $1"
                            " AND fp = $2",
                            &p, &n, err, "failed inputs");
        if (rc == SIFT_OK && resolved != NULL)
            *resolved = n;
    }
    PQclear(r);
    sift_pg__pp_free(&p);
    return rc;
}

/* --- prune ---------------------------------------------------------------- */

int
sift_pg_prune(sift_pg *pg, uint64_t *deleted, uint64_t *failed, int64_t before,
              sift_err *err)
{
    static const char *const tables[] = {"records", "reasons", "record_packs"};
    enum { N_PARTED = sizeof(tables) / sizeof(tables[0]) };
    PGresult *r = NULL, *d = NULL;
    uint64_t nr = 0, nf = 0;
    char sql[160];
    int rc, i, k;
    pp p;

    *deleted = 0;
    if (failed != NULL)
        *failed = 0;
    if ((rc = sift_pg_flush(pg, err)) != SIFT_OK)
        return rc;
    if ((rc = sift_pg__batch_open(pg, err)) != SIFT_OK)
        return rc;
    sift_pg__pp_init(&p);
    sift_pg__p_int(&p, before);
    /* whole months ending at or before `before`: drop their partitions */
    rc = sift_pg__exec(pg, &r,
                       "SELECT c.relname FROM pg_inherits i"
                       " JOIN pg_class c ON c.oid = i.inhrelid"
                       " WHERE i.inhparent = 'records'::regclass"
                       " AND c.relname ~ '^records_p[0-9]{6}$'",
                       NULL, err, "prune");
    for (i = 0; rc == SIFT_OK && i < PQntuples(r); i++) {
        const char *name = PQgetvalue(r, i, 0) + strlen("records_p");
        struct tm hi;
        int ym = atoi(name);

        memset(&hi, 0, sizeof(hi));
        hi.tm_year = ym / 100 - 1900;
        hi.tm_mon = ym % 100; /* the next month */
        hi.tm_mday = 1;
        if ((int64_t)timegm(&hi) > before)
            continue;
        for (k = 0; k < N_PARTED && rc == SIFT_OK; k++) {
            snprintf(sql, sizeof(sql), "DROP TABLE IF EXISTS %s_p%06d",
                     tables[k], ym);
            rc = sift_pg__exec(pg, NULL, sql, NULL, err, "prune");
        }
        pg->n_months = pg->months_done = 0; /* asked again when needed */
    }
    PQclear(r);
    /* the rest row by row (partition pruning keeps it to the boundary) */
    for (k = N_PARTED - 1; k >= 0 && rc == SIFT_OK; k--) {
        snprintf(sql, sizeof(sql), "DELETE FROM %s WHERE date_end < $1",
                 tables[k]);
        rc = sift_pg__exec(pg, NULL, sql, &p, err, "prune");
    }
    if (rc == SIFT_OK &&
        (rc = sift_pg__exec(pg, &d, "DELETE FROM reports WHERE date_end < $1",
                            &p, err, "prune")) == SIFT_OK) {
        nr = strtoull(PQcmdTuples(d), NULL, 10);
        PQclear(d);
    }
    if (rc == SIFT_OK &&
        (rc = sift_pg__exec(pg, &d,
                            "DELETE FROM failed_inputs WHERE last_seen < $1",
                            &p, err, "prune")) == SIFT_OK) {
        nf = strtoull(PQcmdTuples(d), NULL, 10);
        PQclear(d);
    }
    sift_pg__pp_free(&p);
    if (rc == SIFT_OK)
        rc = batch_commit(pg, err);
    else
        sift_pg__batch_drop(pg);
    if (rc != SIFT_OK)
        return rc;
    *deleted = nr;
    if (failed != NULL)
        *failed = nf;
    return SIFT_OK;
}

int
sift_pg_count_records(sift_pg *pg, uint64_t *n, sift_err *err)
{
    PGresult *r = NULL;
    int rc;

    *n = 0;
    rc = sift_pg__exec(pg, &r, "SELECT count(*) FROM records", NULL, err,
                       "count records");
    if (rc == SIFT_OK)
        *n = (uint64_t)sift_pg__int(r, 0, 0);
    PQclear(r);
    return rc;
}
