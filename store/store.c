/* store.c -- opening the database and writing reports into it.
 *
 * A report is a SAVEPOINT inside a batch transaction (BEGIN IMMEDIATE)
 * that commits every SIFT_STORE_BATCH_REPORTS reports or
 * SIFT_STORE_BATCH_MS of batch age, and at flush/close. Invariant: a row in
 * `reports` is visible to anyone else only together with all its records
 * (the savepoint is released only after the last one). */
#include "sqlite_int.h"
#include "sift_util.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

static const char *const stmt_sql[Q__COUNT] = {
    [Q_FIND_REPORT] = "SELECT content_hash, record_count, message_count"
                      " FROM reports WHERE org_name = ?1"
                      " AND report_id = ?2 AND policy_domain = ?3"
                      " AND date_begin = ?4 AND date_end = ?5",
    [Q_INS_REPORT] =
        "INSERT INTO reports (org_name, report_id, policy_domain,"
        " date_begin, date_end, email, extra_contact_info, errors, version,"
        " namespace, generator, adkim, aspf, p, sp, np, pct, fo, testing,"
        " discovery_method, input_path, ingested_at, eval_version)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13,"
        " ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23)",
    [Q_FIN_REPORT] = "UPDATE reports SET warnings = ?1, content_hash = ?2,"
                     " record_count = ?3, message_count = ?4 WHERE id = ?5",
    [Q_INS_RECORD] =
        "INSERT INTO records (report_id, idx, xml_line, source_ip, count,"
        " disposition, pe_dkim, pe_spf, header_from, envelope_from,"
        " envelope_to, dmarc_fail, would_reject, outcome, spf_aligned,"
        " dkim_aligned, categories, flags, spf_domain, dkim_domain,"
        " primary_cat)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13,"
        " ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21)",
    [Q_INS_REASON] = "INSERT INTO reasons (record_id, idx, type, comment)"
                     " VALUES (?1, ?2, ?3, ?4)",
    [Q_INS_DKIM] = "INSERT INTO dkim_results (record_id, idx, domain,"
                   " selector, result, human_result)"
                   " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [Q_INS_SPF] = "INSERT INTO spf_results (record_id, idx, domain, scope,"
                  " result, human_result) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [Q_INS_FAILED] =
        "INSERT INTO failed_inputs (path, reason, raw, size, raw_hash,"
        " fp, first_seen, last_seen) VALUES (?1, ?2, ?3, ?4, ?5, ?7, ?6, ?6)"
        " ON CONFLICT (path, raw_hash) DO UPDATE SET"
        " reason = excluded.reason, last_seen = excluded.last_seen,"
        " fp = coalesce(excluded.fp, fp)",
    [Q_SEEN_FIND] = "SELECT conflict FROM seen_inputs WHERE fp = ?1"
                    " AND len = ?2",
    [Q_SEEN_ADD] = "INSERT OR IGNORE INTO seen_inputs (fp, len, report,"
                   " conflict) SELECT ?1, ?2, id, ?3 FROM reports"
                   " WHERE org_name = ?4 AND report_id = ?5"
                   " AND policy_domain = ?6 AND date_begin = ?7"
                   " AND date_end = ?8",
    [Q_INS_CONFLICT] =
        "INSERT INTO conflicts (org_name, report_id, policy_domain,"
        " date_begin, date_end, input_path, content_hash, first_seen,"
        " last_seen) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)"
        " ON CONFLICT (org_name, report_id, policy_domain, date_begin,"
        " date_end, content_hash) DO UPDATE SET"
        " last_seen = excluded.last_seen",
    [Q_EACH_FAILED] = "SELECT id, path, reason, raw, size FROM failed_inputs"
                      " WHERE id > ?1 ORDER BY id LIMIT 1",
    [Q_DEL_FAILED] = "DELETE FROM failed_inputs WHERE id = ?1",
    [Q_PRUNE] = "DELETE FROM reports WHERE date_end < ?1",
    /* sat_sum: a database holding counts near 2^63 must not make stats
     * fail with "integer overflow" (SUM's behaviour) */
    [Q_STATS] = "SELECT count(*), sat_sum(record_count),"
                " sat_sum(message_count), count(DISTINCT org_name),"
                " count(DISTINCT policy_domain), coalesce(min(date_begin), 0),"
                " coalesce(max(date_end), 0),"
                " (SELECT count(*) FROM failed_inputs),"
                " (SELECT count(*) FROM conflicts) FROM reports",
    [Q_ADOPT_HASH] = "UPDATE reports SET content_hash = ?6"
                     " WHERE org_name = ?1 AND report_id = ?2"
                     " AND policy_domain = ?3 AND date_begin = ?4"
                     " AND date_end = ?5 AND content_hash IS NULL",
    [Q_FAILED_FIND] = "SELECT id FROM failed_inputs WHERE path = ?1"
                      " AND raw_hash = ?2",
    [Q_RESOLVE_FIND] = "SELECT 1 FROM failed_inputs WHERE path = ?1"
                       " AND fp = ?2",
    [Q_RESOLVE_FAILED] = "DELETE FROM failed_inputs WHERE path = ?1"
                         " AND fp = ?2",
    [Q_PRUNE_FAILED] = "DELETE FROM failed_inputs WHERE last_seen < ?1",
    [Q_LIST_FAILED] = "SELECT id, path, reason, size, raw IS NOT NULL,"
                      " first_seen, last_seen FROM failed_inputs"
                      " WHERE id > ?1 ORDER BY id LIMIT 64",
    [Q_FORGET_ALL] = "DELETE FROM failed_inputs",
    [Q_BEGIN] = "BEGIN IMMEDIATE",
    [Q_COMMIT] = "COMMIT",
    [Q_ROLLBACK] = "ROLLBACK",
    [Q_SAVEPOINT] = "SAVEPOINT sift_report",
    [Q_RELEASE] = "RELEASE sift_report",
    [Q_ROLLBACK_TO] = "ROLLBACK TO sift_report",
};

/* --- errors ----------------------------------------------------------- */

int
sift_sq__fail(sift_sq *st, sift_err *err, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL)
        return SIFT_EDB;
    va_start(ap, fmt);
    sift_err_vset(err, SIFT_EDB, fmt, ap);
    va_end(ap);
    if (st != NULL)
        sift_err_where(err, st->path);
    return SIFT_EDB;
}

/* Why writing the database may have failed: the file size limit (ulimit
 * -f) reached, or the file system full. 1 with a reason in buf, else 0. */
static int
write_trouble(const char *path, char *buf, size_t n)
{
    struct rlimit rl;
    struct statvfs vfs;
    struct stat sb;
    char dir[4200];
    char *slash;

    uint64_t big = 0;

    /* the database or its WAL, whichever grew last */
    if (stat(path, &sb) == 0)
        big = (uint64_t)sb.st_size;
    snprintf(dir, sizeof(dir), "%s-wal", path);
    if (stat(dir, &sb) == 0 && (uint64_t)sb.st_size > big)
        big = (uint64_t)sb.st_size;
    if (getrlimit(RLIMIT_FSIZE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        big + 65536 >= (uint64_t)rl.rlim_cur) {
        snprintf(buf, n, "the file size limit (ulimit -f) of %llu bytes",
                 (unsigned long long)rl.rlim_cur);
        return 1;
    }
    snprintf(dir, sizeof(dir), "%s", path);
    if ((slash = strrchr(dir, '/')) != NULL)
        *(slash == dir ? slash + 1 : slash) = '\0';
    else
        snprintf(dir, sizeof(dir), ".");
    if (statvfs(dir, &vfs) == 0 &&
        (uint64_t)vfs.f_bavail * vfs.f_frsize < UINT64_C(1) << 20) {
        snprintf(buf, n, "the file system is full");
        return 1;
    }
    return 0;
}

int
sift_sq__prep(sift_sq *st, sqlite3_stmt **s, const char *sql, const char *what,
              sift_err *err)
{
    int rc = sqlite3_prepare_v2(st->db, sql, -1, s, NULL);

    return rc == SQLITE_OK ? SIFT_OK : sift_sq__db_err(st, rc, err, what);
}

int
sift_sq__step_err(sift_sq *st, const char *what, sift_err *err)
{
    return sift_sq__db_err(st, sqlite3_extended_errcode(st->db), err, what);
}

int
sift_sq__db_err(sift_sq *st, int rc, sift_err *err, const char *what)
{
    const char *msg = st && st->db ? sqlite3_errmsg(st->db) : "unknown";

    switch (rc & 0xff) {
    case SQLITE_NOMEM:
        sift_err_set(err, SIFT_ENOMEM, "out of memory");
        if (st != NULL)
            sift_err_where(err, st->path);
        return SIFT_ENOMEM;
    case SQLITE_FULL:
        return sift_sq__fail(st, err, "disk full");
    case SQLITE_READONLY:
        /* WAL needs <db>-shm next to the file, even to read */
        if (rc == SQLITE_READONLY_DIRECTORY)
            return sift_sq__fail(st, err,
                                 "database is read-only (its directory "
                                 "is not writable)");
        return sift_sq__fail(st, err, "database is read-only");
    case SQLITE_CORRUPT:
        return sift_sq__fail(st, err, "database is corrupt");
    case SQLITE_NOTADB:
        return sift_sq__fail(st, err,
                             "not a dmarcsift database "
                             "(file is not a database)");
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return sift_sq__fail(st, err, "database is locked by another process");
    case SQLITE_IOERR: {
        /* "disk I/O error" alone does not tell a full disk from a bad one,
         * and SQLite's saved errno is gone by now: look for the usual
         * causes of a failed write ourselves */
        int sys = st && st->db ? sqlite3_system_errno(st->db) : 0;
        char why[128];
        if (sys != 0)
            return sift_sq__fail(st, err, "i/o error: %s (%s)", msg,
                                 strerror(sys));
        if (st != NULL && write_trouble(st->path, why, sizeof(why)))
            return sift_sq__fail(st, err, "i/o error: %s (%s)", msg, why);
        return sift_sq__fail(st, err, "i/o error: %s", msg);
    }
    case SQLITE_CANTOPEN:
        return sift_sq__fail(st, err, "cannot open database: %s", msg);
    default:
        return sift_sq__fail(st, err, "%.64s: %s", what, msg);
    }
}

/* Some steps of opening (switching to WAL, committing the schema while
 * another process reads the fresh file) fail with SQLITE_BUSY without
 * consulting the busy handler, when SQLite sees a lock it could deadlock
 * on. They are safe to repeat: retry them until the busy timeout. */
int
sift_sq__exec(sift_sq *st, const char *sql, sift_err *err)
{
    struct timespec pause = {0, 20 * 1000000L};
    int64_t waited = 0;
    int rc;

    while ((rc = sqlite3_exec(st->db, sql, NULL, NULL, NULL)) != SQLITE_OK &&
           (rc & 0xff) == SQLITE_BUSY && waited < st->busy_ms) {
        nanosleep(&pause, NULL);
        waited += 20;
    }
    if (rc != SQLITE_OK)
        return sift_sq__db_err(st, rc, err, "exec");
    return SIFT_OK;
}

int
sift_sq__run(sift_sq *st, sqlite3_stmt *s, sift_err *err)
{
    int rc = sqlite3_step(s), ext;

    while (rc == SQLITE_ROW)
        rc = sqlite3_step(s);
    ext = rc == SQLITE_DONE ? SQLITE_OK : sqlite3_extended_errcode(st->db);
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    if (rc == SQLITE_DONE)
        return SIFT_OK;
    rc = sift_sq__db_err(st, ext, err, "write");
    /* Disk full or i/o errors may make SQLite roll back the whole
     * transaction: then the batch is gone. */
    if (sqlite3_get_autocommit(st->db))
        st->in_batch = 0;
    return rc;
}

static int64_t
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* --- open / close ----------------------------------------------------- */

/* A reader of a WAL database needs to create <db>-shm, which fails on a
 * read-only mount (a backup, a snapshot). When that is the only problem --
 * the file opens but its first read cannot, and no <db>-wal holds pages
 * the main file lacks -- reopen it as immutable: nobody can write it
 * through this mount, so no locking is needed. */
static int
open_readonly_fallback(sift_sq *st, const char *path)
{
    char wal[4200], uri[3 * 4096 + 32];
    struct stat sb;
    size_t n;
    const char *p;
    int rc;

    rc = sqlite3_exec(st->db, "SELECT count(*) FROM sqlite_schema", NULL, NULL,
                      NULL);
    if (((rc & 0xff) != SQLITE_CANTOPEN && rc != SQLITE_READONLY_CANTINIT &&
         rc != SQLITE_READONLY_DIRECTORY) ||
        strlen(path) > 4096)
        return rc;
    snprintf(wal, sizeof(wal), "%s-wal", path);
    if (stat(wal, &sb) == 0 || errno != ENOENT)
        return rc;
    /* the URI's path part: percent-encode what URI syntax reserves */
    n = (size_t)snprintf(uri, sizeof(uri), "file:");
    for (p = path; *p != '\0'; p++) {
        if (*p == '%' || *p == '?' || *p == '#')
            n += (size_t)snprintf(uri + n, sizeof(uri) - n, "%%%02X",
                                  (unsigned char)*p);
        else
            uri[n++] = *p;
    }
    snprintf(uri + n, sizeof(uri) - n, "?immutable=1");
    sqlite3_close(st->db);
    st->db = NULL;
    rc = sqlite3_open_v2(
        uri, &st->db,
        SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX, NULL);
    if (st->db != NULL) {
        sqlite3_extended_result_codes(st->db, 1);
        sqlite3_busy_timeout(st->db, st->busy_ms);
    }
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(st->db, "SELECT count(*) FROM sqlite_schema", NULL,
                          NULL, NULL);
    return rc;
}

/* Open st (calloc'd, maybe with a target_version) on path; on failure st
 * is freed. */
static int
open_with(sift_sq *st, const char *path, unsigned flags, sift_err *err)
{
    int rc, oflags, i;

    st->base.ops = &sift_sq__ops;
    if ((st->path = strdup(path)) == NULL) {
        rc = sift_err_set(err, SIFT_ENOMEM, "out of memory");
        goto fail;
    }
    sift_buf_init(&st->json, SIFT_STORE_MAX_JSON);
    /* Memory statistics cost a global mutex round trip per allocation;
     * nothing reads them. Only possible before SQLite initialises: later
     * calls fail harmlessly with SQLITE_MISUSE. */
    (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    st->readonly = (flags & SIFT_STORE_READONLY) != 0;
    if (st->target_version == 0)
        st->target_version = SIFT_STORE_SCHEMA;
    /* A connection is used by one thread at a time (sift_store.h), so
     * SQLite's per-connection mutex is pure cost (3% of an ingest). */
    oflags = (st->readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE) |
             SQLITE_OPEN_NOMUTEX;
    if (!st->readonly && !(flags & SIFT_STORE_EXISTING))
        oflags |= SQLITE_OPEN_CREATE;
    st->busy_ms = 30000;
    rc = sqlite3_open_v2(path, &st->db, oflags, NULL);
    /* The busy timeout comes before the first query: a reader's first
     * read (here, or in the fallback below) may meet a writer's lock
     * (checkpoint, WAL recovery) and must wait for it, not fail. */
    if (st->db != NULL) {
        sqlite3_extended_result_codes(st->db, 1);
        sqlite3_busy_timeout(st->db, st->busy_ms);
    }
    if (rc == SQLITE_OK && st->readonly)
        rc = open_readonly_fallback(st, path);
    if (rc != SQLITE_OK) {
        rc = sift_sq__db_err(st, rc, err, "open");
        goto fail;
    }
    /* SQLite silently falls back to read-only when the file is not
     * writable: a writer must know now, not at the first insert. */
    if (!st->readonly && sqlite3_db_readonly(st->db, "main") == 1) {
        rc = sift_sq__fail(st, err, "database is read-only");
        goto fail;
    }
    /* Savepoint (statement) journals stay in memory: each report's undo
     * data is at most a report's worth of pages, and writing it to a temp
     * file cost over half the time of small reports (measured; see
     * docs/schema.md). A 16 MiB page cache (default 2 MiB) keeps the
     * indexes hot: +40% records/s. */
    if ((rc = sift_sq__exec(st,
                            "PRAGMA foreign_keys = ON;"
                            " PRAGMA temp_store = MEMORY;"
                            " PRAGMA cache_size = -16384",
                            err)) != 0)
        goto fail;
    /* sift_xxh128() is used by a migration step */
    if ((rc = sift_sq__functions(st, err)) != 0)
        goto fail;
    if ((rc = sift_sq__migrate(st, err)) != 0)
        goto fail;
    if (st->target_version != SIFT_STORE_SCHEMA) /* sift_sq__open_at */
        return SIFT_OK;
    /* A whole-file scan: map the file instead of copying each page out of
     * the OS cache (report over 5M records: 2.24 -> 2.11 s). */
    if ((flags & SIFT_STORE_SCAN) &&
        (rc = sift_sq__exec(st, "PRAGMA mmap_size = 4294967296", err)) != 0)
        goto fail;
    if (!st->readonly) {
        if ((rc = sift_sq__exec(st, "PRAGMA journal_mode = WAL", err)) != 0)
            goto fail;
        if ((rc = sift_sq__exec(st, "PRAGMA synchronous = NORMAL", err)) != 0)
            goto fail;
    }
    for (i = 0; i < Q__COUNT; i++) {
        rc = sqlite3_prepare_v3(st->db, stmt_sql[i], -1,
                                SQLITE_PREPARE_PERSISTENT, &st->q[i], NULL);
        if (rc != SQLITE_OK) {
            rc = sift_sq__db_err(st, rc, err, "prepare");
            goto fail;
        }
    }
    return SIFT_OK;
fail:
    sift_sq_close(st);
    return rc;
}

int
sift_sq_open(sift_sq **out, const char *path, unsigned flags, sift_err *err)
{
    sift_sq *st;
    int rc;

    *out = NULL;
    if ((st = calloc(1, sizeof(*st))) == NULL)
        return sift_err_set(err, SIFT_ENOMEM, "out of memory");
    if ((rc = open_with(st, path, flags, err)) == SIFT_OK)
        *out = st;
    return rc;
}

int
sift_sq__open_at(sift_sq **out, const char *path, int version, sift_err *err)
{
    sift_sq *st;
    int rc;

    *out = NULL;
    if (version <= 0 || version > SIFT_STORE_SCHEMA)
        return sift_err_set(err, SIFT_EUSAGE, "no schema version %d", version);
    /* sift_store_open with a target: the same code path, minus the
     * statements (they are written for SIFT_STORE_SCHEMA) */
    if ((st = calloc(1, sizeof(*st))) == NULL)
        return sift_err_set(err, SIFT_ENOMEM, "out of memory");
    st->target_version = version;
    rc = open_with(st, path, 0, err);
    if (rc == SIFT_OK)
        *out = st;
    return rc;
}

sqlite3 *
sift_sq__db(sift_sq *st)
{
    return st->db;
}

int
sift_sq_set_busy_timeout(sift_sq *st, int ms, sift_err *err)
{
    (void)err;
    st->busy_ms = ms < 0 ? 0 : ms;
    sqlite3_busy_timeout(st->db, st->busy_ms);
    return SIFT_OK;
}

void
sift_sq_close(sift_sq *st)
{
    int i;

    if (st == NULL)
        return;
    if (st->in_report)
        sift_sq_rollback(st);
    if (st->in_batch)
        sift_sq_flush(st, NULL);
    sift_sq__cache_free(st);
    for (i = 0; i < Q__COUNT; i++)
        sqlite3_finalize(st->q[i]);
    sqlite3_close(st->db);
    sift_buf_dispose(&st->json);
    free(st->path);
    free(st);
}

/* --- binding helpers -------------------------------------------------- */

static int
bind_text(sqlite3_stmt *s, int i, const char *v)
{
    if (v == NULL)
        return sqlite3_bind_null(s, i);
    return sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT);
}

/* Identity strings: '' when absent (see schema.c). */
static int
bind_key(sqlite3_stmt *s, int i, const char *v)
{
    return sqlite3_bind_text(s, i, v ? v : "", -1, SQLITE_TRANSIENT);
}

/* 128-bit hashes are 16-byte BLOBs (sift_hash128_put order). */
static int
bind_hash(sqlite3_stmt *s, int i, sift_hash128 h)
{
    unsigned char b[16];

    sift_hash128_put(b, h);
    return sqlite3_bind_blob(s, i, b, sizeof(b), SQLITE_TRANSIENT);
}

/* 1 with *h set when column i holds a 16-byte hash, else 0 (NULL: a
 * schema-1 value dropped by the upgrade). */
static int
column_hash(sqlite3_stmt *s, int i, sift_hash128 *h)
{
    const void *b = sqlite3_column_blob(s, i);

    h->hi = h->lo = 0;
    if (b == NULL || sqlite3_column_bytes(s, i) != 16)
        return 0;
    *h = sift_hash128_get(b);
    return 1;
}

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

/* Append v as a JSON string literal. Strings are UTF-8 from the parser;
 * only '"', '\\' and control characters need escaping. */
static int
json_str(sift_buf *b, const char *v, sift_err *err)
{
    const char *p = v ? v : "", *run = p;
    char esc[8];
    int rc;

    if ((rc = sift_buf_add(b, "\"", 1, err)) != SIFT_OK)
        return rc;
    for (; *p; p++) {
        unsigned char c = (unsigned char)*p;

        if (c != '"' && c != '\\' && c >= 0x20 && c != 0x7f)
            continue;
        if ((rc = sift_buf_add(b, run, (size_t)(p - run), err)) != SIFT_OK)
            return rc;
        if (c == '"' || c == '\\')
            snprintf(esc, sizeof(esc), "\\%c", c);
        else
            snprintf(esc, sizeof(esc), "\\u%04x", c);
        if ((rc = sift_buf_add(b, esc, strlen(esc), err)) != SIFT_OK)
            return rc;
        run = p + 1;
    }
    if ((rc = sift_buf_add(b, run, (size_t)(p - run), err)) != SIFT_OK)
        return rc;
    return sift_buf_add(b, "\"", 1, err);
}

/* Encode n strings as a JSON array into st->json (valid until the next
 * call). Past SIFT_STORE_MAX_JSON bytes the remaining strings are replaced
 * by one "(N more not stored)" element: a report with a million warnings
 * must not make one giant column. */
int
sift_store__json_array(sift_buf *b, const char *const *v, size_t n,
                       sift_err *err)
{
    size_t i, mark;
    char more[64];
    int rc;

    sift_buf_reset(b);
    b->max = SIFT_STORE_MAX_JSON - sizeof(more);
    if ((rc = sift_buf_add(b, "[", 1, err)) != SIFT_OK)
        return rc;
    for (i = 0; i < n; i++) {
        mark = b->len;
        rc = i > 0 ? sift_buf_add(b, ",", 1, err) : SIFT_OK;
        if (rc == SIFT_OK)
            rc = json_str(b, v[i], err);
        if (rc == SIFT_ETOOBIG) {
            b->max = SIFT_STORE_MAX_JSON;
            b->len = mark;
            snprintf(more, sizeof(more), "%s\"(%zu more not stored)\"",
                     i > 0 ? "," : "", n - i);
            rc = sift_buf_add(b, more, strlen(more), err);
            break;
        }
        if (rc != SIFT_OK)
            return rc;
    }
    b->max = SIFT_STORE_MAX_JSON;
    if (rc != SIFT_OK)
        return rc;
    return sift_buf_add(b, "]", 1, err);
}

/* --- batches ---------------------------------------------------------- */

static int
batch_commit(sift_sq *st, sift_err *err)
{
    int rc;

    if (!st->in_batch)
        return SIFT_OK;
    st->in_batch = 0;
    st->batch_reports = 0;
    rc = sift_sq__run(st, st->q[Q_COMMIT], err);
    if (rc != SIFT_OK && !sqlite3_get_autocommit(st->db))
        sift_sq__run(st, st->q[Q_ROLLBACK], NULL);
    if (rc == SIFT_OK)
        st->commits++;
    return rc;
}

static int
batch_due(const sift_sq *st)
{
    if (st->hold)
        return 0;
    return st->batch_reports >= SIFT_STORE_BATCH_REPORTS ||
           now_ms() - st->batch_start_ms >= SIFT_STORE_BATCH_MS;
}

static int
batch_open(sift_sq *st, sift_err *err)
{
    int rc;

    if (st->in_batch && sqlite3_get_autocommit(st->db))
        st->in_batch = 0; /* rolled back by SQLite after an error */
    if (st->in_batch && batch_due(st) &&
        (rc = batch_commit(st, err)) != SIFT_OK)
        return rc;
    if (st->in_batch)
        return SIFT_OK;
    if ((rc = sift_sq__run(st, st->q[Q_BEGIN], err)) != SIFT_OK)
        return rc;
    st->in_batch = 1;
    st->batch_reports = 0;
    st->batch_start_ms = now_ms();
    return SIFT_OK;
}

int
sift_sq__write(sift_sq *st, sqlite3_stmt *s, sift_err *err)
{
    int rc;

    if (st->hold && !st->in_batch && (rc = batch_open(st, err)) != SIFT_OK) {
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
        return rc;
    }
    return sift_sq__run(st, s, err);
}

int
sift_sq_flush(sift_sq *st, sift_err *err)
{
    if (st->in_report)
        return sift_err_set(err, SIFT_EUSAGE,
                            "cannot flush while a report is open");
    if (st->hold)
        return SIFT_OK;
    return batch_commit(st, err);
}

uint64_t
sift_sq_commits(const sift_sq *st)
{
    return st->commits;
}

int
sift_sq_held(const sift_sq *st)
{
    return st->hold;
}

int
sift_sq_hold(sift_sq *st, int on, sift_err *err)
{
    if (st->in_report)
        return sift_err_set(err, SIFT_EUSAGE,
                            "cannot hold or release while a report is open");
    if (on > 0) {
        st->hold = 1;
        return SIFT_OK;
    }
    st->hold = 0;
    if (on < 0) { /* give up: nothing of the held work remains */
        if (st->in_batch && !sqlite3_get_autocommit(st->db))
            sift_sq__run(st, st->q[Q_ROLLBACK], NULL);
        st->in_batch = 0;
        st->batch_reports = 0;
        return SIFT_OK;
    }
    if (st->in_batch && sqlite3_get_autocommit(st->db))
        st->in_batch = 0; /* rolled back by SQLite after an error */
    return batch_commit(st, err);
}

/* --- one report ------------------------------------------------------- */

static int
find_report(sift_sq *st, sift_stored *out, const sift_report_meta *m,
            sift_err *err)
{
    sqlite3_stmt *s = st->q[Q_FIND_REPORT];
    int rc;

    bind_key(s, 1, m->org_name);
    bind_key(s, 2, m->report_id);
    bind_key(s, 3, m->domain);
    sqlite3_bind_int64(s, 4, m->begin);
    sqlite3_bind_int64(s, 5, m->end);
    rc = sqlite3_step(s);
    memset(out, 0, sizeof(*out));
    if (rc == SQLITE_ROW) {
        out->hash_known = column_hash(s, 0, &out->hash);
        out->records = (uint64_t)sqlite3_column_int64(s, 1);
        out->messages = (uint64_t)sqlite3_column_int64(s, 2);
        rc = SIFT_EDUP;
    } else if (rc == SQLITE_DONE) {
        rc = SIFT_OK;
    } else {
        rc = sift_sq__db_err(st, sqlite3_extended_errcode(st->db), err,
                             "find report");
    }
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return rc;
}

int
sift_sq_lookup(sift_sq *st, sift_stored *out, const sift_report_meta *meta,
               sift_err *err)
{
    memset(out, 0, sizeof(*out));
    if (st->in_report)
        return sift_err_set(err, SIFT_EUSAGE, "a report is open");
    return find_report(st, out, meta, err);
}

int
sift_sq_adopt_hash(sift_sq *st, const sift_report_meta *m, sift_hash128 hash,
                   sift_err *err)
{
    sqlite3_stmt *s = st->q[Q_ADOPT_HASH];
    int rc;

    if (!st->in_report && (rc = batch_open(st, err)) != SIFT_OK)
        return rc;
    bind_key(s, 1, m->org_name);
    bind_key(s, 2, m->report_id);
    bind_key(s, 3, m->domain);
    sqlite3_bind_int64(s, 4, m->begin);
    sqlite3_bind_int64(s, 5, m->end);
    bind_hash(s, 6, hash);
    return sift_sq__write(st, s, err);
}

const char *
sift_sq_path(const sift_sq *st)
{
    return st->path;
}

int
sift_sq_is_readonly(const sift_sq *st)
{
    return st->readonly;
}

static int
insert_report(sift_sq *st, const sift_report_meta *m, const char *input_path,
              sift_err *err)
{
    sqlite3_stmt *s = st->q[Q_INS_REPORT];
    int rc, ext;

    if ((rc = sift_store__json_array(&st->json, m->errors, m->n_errors, err)) !=
        SIFT_OK)
        return rc;
    bind_key(s, 1, m->org_name);
    bind_key(s, 2, m->report_id);
    bind_key(s, 3, m->domain);
    sqlite3_bind_int64(s, 4, m->begin);
    sqlite3_bind_int64(s, 5, m->end);
    bind_text(s, 6, m->email);
    bind_text(s, 7, m->extra_contact_info);
    bind_text(s, 8, st->json.p);
    bind_text(s, 9, m->version);
    bind_text(s, 10, m->namespace);
    bind_text(s, 11, m->generator);
    bind_text(s, 12, m->adkim);
    bind_text(s, 13, m->aspf);
    bind_text(s, 14, m->p);
    bind_text(s, 15, m->sp);
    bind_text(s, 16, m->np);
    if (m->pct >= 0)
        sqlite3_bind_int(s, 17, m->pct);
    else
        sqlite3_bind_null(s, 17);
    bind_text(s, 18, m->fo);
    bind_text(s, 19, m->testing);
    bind_text(s, 20, m->discovery_method);
    bind_text(s, 21, input_path);
    sqlite3_bind_int64(s, 22, (int64_t)time(NULL));
    sqlite3_bind_int(s, 23, st->base.eval_stamp);
    rc = sqlite3_step(s);
    ext = rc == SQLITE_DONE ? SQLITE_OK : sqlite3_extended_errcode(st->db);
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    if (rc == SQLITE_DONE) {
        st->report_rowid = sqlite3_last_insert_rowid(st->db);
        return SIFT_OK;
    }
    /* Another writer stored the same identity after our check (only
     * possible without an IMMEDIATE batch, but never an error). */
    if (ext == SQLITE_CONSTRAINT_UNIQUE)
        return SIFT_EDUP;
    return sift_sq__db_err(st, ext, err, "insert report");
}

/* Drop the savepoint (and everything in it). */
static void
drop_report(sift_sq *st)
{
    sift_sq__run(st, st->q[Q_ROLLBACK_TO], NULL);
    sift_sq__run(st, st->q[Q_RELEASE], NULL);
    st->in_report = 0;
    /* Some errors (disk full, i/o) make SQLite roll back the whole
     * transaction: the batch is gone with it. */
    if (sqlite3_get_autocommit(st->db))
        st->in_batch = 0;
}

int
sift_sq_begin(sift_sq *st, sift_stored *dup, const sift_report_meta *meta,
              const char *input_path, sift_err *err)
{
    sift_stored h;
    int rc;

    assert(st != NULL && meta != NULL);
    memset(&h, 0, sizeof(h));
    if (dup != NULL)
        memset(dup, 0, sizeof(*dup));
    if (st->in_report)
        return sift_err_set(err, SIFT_EUSAGE, "a report is already open");
    if ((rc = batch_open(st, err)) != SIFT_OK)
        return rc;
    if ((rc = sift_sq__run(st, st->q[Q_SAVEPOINT], err)) != SIFT_OK)
        return rc;
    st->in_report = 1;
    st->report_failed = 0;
    st->report_records = st->report_messages = 0;
    st->report_idx = 0;
    rc = find_report(st, &h, meta, err);
    if (rc == SIFT_OK) {
        rc = insert_report(st, meta, input_path, err);
        /* lost a race: the winner's hash */
        if (rc == SIFT_EDUP && find_report(st, &h, meta, NULL) != SIFT_EDUP)
            memset(&h, 0, sizeof(h));
    }
    if (rc == SIFT_EDUP && dup != NULL)
        *dup = h;
    if (rc != SIFT_OK)
        drop_report(st);
    return rc;
}

static int
insert_children(sift_sq *st, int64_t rowid, const sift_record *r, sift_err *err)
{
    sqlite3_stmt *s;
    size_t i;
    int rc;

    s = st->q[Q_INS_REASON];
    for (i = 0; i < r->n_reasons; i++) {
        sqlite3_bind_int64(s, 1, rowid);
        sqlite3_bind_int64(s, 2, (int64_t)i);
        bind_text(s, 3, r->reasons[i].type);
        bind_text(s, 4, r->reasons[i].comment);
        if ((rc = sift_sq__run(st, s, err)) != SIFT_OK)
            return rc;
    }
    s = st->q[Q_INS_DKIM];
    for (i = 0; i < r->n_dkim; i++) {
        sqlite3_bind_int64(s, 1, rowid);
        sqlite3_bind_int64(s, 2, (int64_t)i);
        bind_text(s, 3, r->dkim_results[i].domain);
        bind_text(s, 4, r->dkim_results[i].selector);
        bind_text(s, 5, r->dkim_results[i].result);
        bind_text(s, 6, r->dkim_results[i].human_result);
        if ((rc = sift_sq__run(st, s, err)) != SIFT_OK)
            return rc;
    }
    s = st->q[Q_INS_SPF];
    for (i = 0; i < r->n_spf; i++) {
        sqlite3_bind_int64(s, 1, rowid);
        sqlite3_bind_int64(s, 2, (int64_t)i);
        bind_text(s, 3, r->spf_results[i].domain);
        bind_text(s, 4, r->spf_results[i].scope);
        bind_text(s, 5, r->spf_results[i].result);
        bind_text(s, 6, r->spf_results[i].human_result);
        if ((rc = sift_sq__run(st, s, err)) != SIFT_OK)
            return rc;
    }
    return SIFT_OK;
}

int
sift_sq_add(sift_sq *st, const sift_record *r, const sift_verdict *v,
            sift_err *err)
{
    static const sift_verdict none = {0};
    sqlite3_stmt *s = st->q[Q_INS_RECORD];
    int rc;

    assert(r != NULL);
    if (!st->in_report)
        return sift_err_set(err, SIFT_EUSAGE, "no report is open");
    if (v == NULL)
        v = &none;
    sqlite3_bind_int64(s, 1, st->report_rowid);
    sqlite3_bind_int64(s, 2, st->report_idx);
    sqlite3_bind_int64(s, 3, clamp64(r->line));
    bind_text(s, 4, r->source_ip);
    sqlite3_bind_int64(s, 5, clamp64(r->count));
    bind_text(s, 6, r->disposition);
    bind_text(s, 7, r->dkim);
    bind_text(s, 8, r->spf);
    bind_text(s, 9, r->header_from);
    bind_text(s, 10, r->envelope_from);
    bind_text(s, 11, r->envelope_to);
    sqlite3_bind_int(s, 12, v->dmarc_fail);
    sqlite3_bind_int(s, 13, v->would_reject);
    sqlite3_bind_int(s, 14, (int)v->outcome);
    sqlite3_bind_int(s, 15, v->spf_aligned);
    sqlite3_bind_int(s, 16, v->dkim_aligned);
    sqlite3_bind_int64(s, 17, (int64_t)v->categories);
    sqlite3_bind_int64(s, 18, (int64_t)sift_stored_flags(v, r->disposition));
    bind_text(s, 19, v->spf_domain);
    bind_text(s, 20, v->dkim_domain);
    sqlite3_bind_int(s, 21, (int)v->primary);
    if ((rc = sift_sq__run(st, s, err)) != SIFT_OK)
        goto fail;
    rc = insert_children(st, sqlite3_last_insert_rowid(st->db), r, err);
    if (rc != SIFT_OK)
        goto fail;
    st->report_idx++;
    st->report_records++;
    st->report_messages = sat_add(st->report_messages, r->count);
    return SIFT_OK;
fail:
    st->report_failed = 1;
    return rc;
}

int
sift_sq_commit(sift_sq *st, const sift_report_meta *meta,
               sift_hash128 content_hash, sift_err *err)
{
    sqlite3_stmt *s = st->q[Q_FIN_REPORT];
    int rc;

    if (!st->in_report)
        return sift_err_set(err, SIFT_EUSAGE, "no report is open");
    if (st->report_failed) {
        drop_report(st);
        return sift_sq__fail(st, err, "report not stored: a record failed");
    }
    rc = sift_store__json_array(&st->json, meta ? meta->warnings : NULL,
                                meta ? meta->n_warnings : 0, err);
    if (rc != SIFT_OK)
        goto fail;
    bind_text(s, 1, st->json.p);
    bind_hash(s, 2, content_hash);
    sqlite3_bind_int64(s, 3, clamp64(st->report_records));
    sqlite3_bind_int64(s, 4, clamp64(st->report_messages));
    sqlite3_bind_int64(s, 5, st->report_rowid);
    if ((rc = sift_sq__run(st, s, err)) != SIFT_OK)
        goto fail;
    if ((rc = sift_sq__run(st, st->q[Q_RELEASE], err)) != SIFT_OK)
        goto fail;
    st->in_report = 0;
    st->batch_reports++;
    if (batch_due(st))
        return batch_commit(st, err);
    return SIFT_OK;
fail:
    drop_report(st);
    return rc;
}

void
sift_sq_rollback(sift_sq *st)
{
    if (st == NULL || !st->in_report)
        return;
    drop_report(st);
}

/* --- conflicts and failed inputs -------------------------------------- */

int
sift_sq_note_conflict(sift_sq *st, const sift_report_meta *m,
                      const char *input_path, sift_hash128 content_hash,
                      sift_err *err)
{
    sqlite3_stmt *s = st->q[Q_INS_CONFLICT];

    bind_key(s, 1, m->org_name);
    bind_key(s, 2, m->report_id);
    bind_key(s, 3, m->domain);
    sqlite3_bind_int64(s, 4, m->begin);
    sqlite3_bind_int64(s, 5, m->end);
    bind_text(s, 6, input_path);
    bind_hash(s, 7, content_hash);
    sqlite3_bind_int64(s, 8, (int64_t)time(NULL));
    return sift_sq__write(st, s, err);
}

int
sift_sq_seen(sift_sq *st, int *conflict, sift_hash128 fp, uint64_t len,
             sift_err *err)
{
    sqlite3_stmt *s = st->q[Q_SEEN_FIND];
    int rc;

    *conflict = 0;
    bind_hash(s, 1, fp);
    sqlite3_bind_int64(s, 2, clamp64(len));
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        *conflict = sqlite3_column_int(s, 0) != 0;
        rc = SIFT_EDUP;
    } else if (rc == SQLITE_DONE) {
        rc = SIFT_OK;
    } else {
        rc = sift_sq__db_err(st, sqlite3_extended_errcode(st->db), err,
                             "seen inputs");
    }
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return rc;
}

/* SQLite answers at once: the ask looks it up and keeps the answer. */
int
sift_sq_ask(sift_sq *st, const sift_hash128 *fp, uint64_t len,
            const sift_report_meta *meta, sift_err *err)
{
    sift_answer *a = &st->ans.a;
    int rc = SIFT_OK;

    if (st->ans.asked)
        return sift_err_set(err, SIFT_EUSAGE, "a question is pending");
    memset(a, 0, sizeof(*a));
    sift_err_clear(&st->ans.err);
    if (fp != NULL) {
        rc = sift_sq_seen(st, &a->conflict, *fp, len, &st->ans.err);
        if ((a->seen = rc == SIFT_EDUP) != 0)
            rc = SIFT_OK;
    }
    if (rc == SIFT_OK && meta != NULL && !a->seen) {
        rc = sift_sq_lookup(st, &a->report, meta, &st->ans.err);
        if ((a->stored = rc == SIFT_EDUP) != 0)
            rc = SIFT_OK;
    }
    st->ans.rc = rc;
    st->ans.asked = 1;
    return SIFT_OK;
}

int
sift_sq_answered(sift_sq *st)
{
    (void)st;
    return 1;
}

int
sift_sq_answer(sift_sq *st, sift_answer *out, sift_err *err)
{
    if (!st->ans.asked)
        return sift_err_set(err, SIFT_EUSAGE, "nothing asked");
    st->ans.asked = 0;
    if (st->ans.rc != SIFT_OK) {
        if (err != NULL)
            *err = st->ans.err;
        return st->ans.rc;
    }
    *out = st->ans.a;
    return SIFT_OK;
}

int
sift_sq_note_seen(sift_sq *st, sift_hash128 fp, uint64_t len,
                  const sift_report_meta *m, int conflict, sift_err *err)
{
    sqlite3_stmt *s = st->q[Q_SEEN_ADD];
    int rc;

    if (!st->in_report && (rc = batch_open(st, err)) != SIFT_OK)
        return rc;
    bind_hash(s, 1, fp);
    sqlite3_bind_int64(s, 2, clamp64(len));
    sqlite3_bind_int(s, 3, conflict != 0);
    bind_key(s, 4, m->org_name);
    bind_key(s, 5, m->report_id);
    bind_key(s, 6, m->domain);
    sqlite3_bind_int64(s, 7, m->begin);
    sqlite3_bind_int64(s, 8, m->end);
    return sift_sq__write(st, s, err);
}

int
sift_sq_add_failed(sift_sq *st, const char *path, const char *reason,
                   const void *raw, size_t len, const sift_hash128 *fp,
                   sift_err *err)
{
    sqlite3_stmt *s = st->q[Q_INS_FAILED];
    sift_hash128 h = sift_hash128_of(raw, raw ? len : 0);

    bind_key(s, 1, path);
    bind_key(s, 2, reason);
    if (raw != NULL && len <= SIFT_STORE_MAX_FAILED_RAW)
        sqlite3_bind_blob64(s, 3, raw, len, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(s, 3);
    sqlite3_bind_int64(s, 4, clamp64(len));
    bind_hash(s, 5, h);
    sqlite3_bind_int64(s, 6, (int64_t)time(NULL));
    if (fp != NULL)
        bind_hash(s, 7, *fp);
    return sift_sq__write(st, s, err);
}

int
sift_sq_add_failed_file(sift_sq *st, const char *path, const char *reason,
                        FILE *f, uint64_t len, sift_hash128 hash,
                        const sift_hash128 *fp, sift_err *err)
{
    sqlite3_stmt *s = st->q[Q_INS_FAILED], *q = st->q[Q_FAILED_FIND];
    sqlite3_blob *blob = NULL;
    unsigned char buf[65536];
    sqlite3_int64 id;
    uint64_t off = 0;
    int rc, found;

    if (len > SIFT_STORE_MAX_FAILED_RAW)
        return sift_sq_add_failed(st, path, reason, NULL, len, fp, err);
    /* kept before (same path and bytes): only reason and last_seen change,
     * and the upsert below writes no bytes */
    bind_key(q, 1, path);
    bind_hash(q, 2, hash);
    rc = sqlite3_step(q);
    found = rc == SQLITE_ROW;
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return sift_sq__db_err(st, sqlite3_extended_errcode(st->db), err,
                               "failed inputs");
    bind_key(s, 1, path);
    bind_key(s, 2, reason);
    sqlite3_bind_zeroblob64(s, 3, len);
    sqlite3_bind_int64(s, 4, clamp64(len));
    bind_hash(s, 5, hash);
    sqlite3_bind_int64(s, 6, (int64_t)time(NULL));
    if (fp != NULL)
        bind_hash(s, 7, *fp);
    if ((rc = sift_sq__write(st, s, err)) != SIFT_OK || found || len == 0)
        return rc;
    /* a new row: stream the bytes into its zero-filled blob, in the same
     * transaction, never holding them whole */
    id = sqlite3_last_insert_rowid(st->db);
    if (sqlite3_blob_open(st->db, "main", "failed_inputs", "raw", id, 1,
                          &blob) != SQLITE_OK)
        goto db_fail;
    rewind(f);
    while (off < len) {
        size_t want =
            len - off < sizeof(buf) ? (size_t)(len - off) : sizeof(buf);
        if (fread(buf, 1, want, f) != want) {
            sqlite3_blob_close(blob);
            return sift_err_sys(err, "%s: cannot read the temporary copy",
                                path);
        }
        if (sqlite3_blob_write(blob, buf, (int)want, (int)off) != SQLITE_OK)
            goto db_fail;
        off += want;
    }
    if (sqlite3_blob_close(blob) != SQLITE_OK) {
        blob = NULL;
        goto db_fail;
    }
    return SIFT_OK;
db_fail:
    rc = sift_sq__db_err(st, sqlite3_extended_errcode(st->db), err,
                         "failed inputs");
    if (blob != NULL)
        sqlite3_blob_close(blob);
    return rc;
}

int
sift_sq_resolve_failed(sift_sq *st, const char *path, sift_hash128 fp,
                       uint64_t *resolved, sift_err *err)
{
    sqlite3_stmt *s = st->q[Q_RESOLVE_FAILED];
    int rc;

    if (resolved != NULL)
        *resolved = 0;
    /* a read first: the usual case (nothing failed) takes no write lock */
    bind_key(st->q[Q_RESOLVE_FIND], 1, path);
    bind_hash(st->q[Q_RESOLVE_FIND], 2, fp);
    rc = sqlite3_step(st->q[Q_RESOLVE_FIND]);
    sqlite3_reset(st->q[Q_RESOLVE_FIND]);
    sqlite3_clear_bindings(st->q[Q_RESOLVE_FIND]);
    if (rc == SQLITE_DONE)
        return SIFT_OK;
    if (rc != SQLITE_ROW)
        return sift_sq__db_err(st, sqlite3_extended_errcode(st->db), err,
                               "failed inputs");
    if (!st->in_report && (rc = batch_open(st, err)) != SIFT_OK)
        return rc;
    bind_key(s, 1, path);
    bind_hash(s, 2, fp);
    if ((rc = sift_sq__write(st, s, err)) == SIFT_OK && resolved != NULL)
        *resolved = (uint64_t)sqlite3_changes64(st->db);
    return rc;
}
