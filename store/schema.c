/* schema.c -- the database schema as code, and its migrations.
 *
 * migrations[i] upgrades schema version i to i + 1; PRAGMA user_version is
 * the version a file is at and PRAGMA application_id marks it as ours. All
 * steps from a file's version to SIFT_STORE_SCHEMA run in one IMMEDIATE
 * transaction, so a file is always at exactly one version. Tables and
 * columns are documented in docs/schema.md: change both together. */
#include "sqlite_int.h"

#include <stdio.h>
#include <string.h>

/* Version 0 -> 1: the initial schema. Absent identity strings are stored
 * as '' (NOT NULL) so that the UNIQUE identity really is unique: SQLite
 * treats NULLs as distinct in UNIQUE constraints. */
static const char schema_v1[] =
    "CREATE TABLE reports ("
    " id INTEGER PRIMARY KEY,"
    " org_name TEXT NOT NULL,"
    " report_id TEXT NOT NULL,"
    " policy_domain TEXT NOT NULL,"
    " date_begin INTEGER NOT NULL,"
    " date_end INTEGER NOT NULL,"
    " email TEXT,"
    " extra_contact_info TEXT,"
    " errors TEXT NOT NULL DEFAULT '[]',"
    " version TEXT,"
    " namespace TEXT,"
    " generator TEXT,"
    " adkim TEXT, aspf TEXT,"
    " p TEXT, sp TEXT, np TEXT,"
    " pct INTEGER,"
    " fo TEXT,"
    " testing TEXT,"
    " discovery_method TEXT,"
    " input_path TEXT,"
    " content_hash INTEGER NOT NULL DEFAULT 0,"
    " ingested_at INTEGER NOT NULL,"
    " warnings TEXT NOT NULL DEFAULT '[]',"
    " record_count INTEGER NOT NULL DEFAULT 0,"
    " message_count INTEGER NOT NULL DEFAULT 0,"
    " UNIQUE (org_name, report_id, policy_domain, date_begin, date_end)"
    ");"
    "CREATE INDEX reports_domain_begin ON reports(policy_domain, date_begin);"
    "CREATE INDEX reports_end ON reports(date_end);"
    "CREATE INDEX reports_org ON reports(org_name, date_begin);"
    "CREATE TABLE records ("
    " id INTEGER PRIMARY KEY,"
    " report_id INTEGER NOT NULL"
    "  REFERENCES reports(id) ON DELETE CASCADE,"
    " idx INTEGER NOT NULL,"
    " xml_line INTEGER NOT NULL DEFAULT 0,"
    " source_ip TEXT,"
    " count INTEGER NOT NULL,"
    " disposition TEXT,"
    " pe_dkim TEXT,"
    " pe_spf TEXT,"
    " header_from TEXT,"
    " envelope_from TEXT,"
    " envelope_to TEXT,"
    " dmarc_fail INTEGER NOT NULL,"
    " would_reject INTEGER NOT NULL,"
    " outcome INTEGER NOT NULL,"
    " spf_aligned INTEGER NOT NULL,"
    " dkim_aligned INTEGER NOT NULL,"
    " categories INTEGER NOT NULL,"
    " flags INTEGER NOT NULL,"
    " spf_domain TEXT,"
    " dkim_domain TEXT"
    ");"
    "CREATE INDEX records_report ON records(report_id, source_ip);"
    "CREATE TABLE reasons ("
    " record_id INTEGER NOT NULL"
    "  REFERENCES records(id) ON DELETE CASCADE,"
    " idx INTEGER NOT NULL,"
    " type TEXT,"
    " comment TEXT,"
    " PRIMARY KEY (record_id, idx)"
    ") WITHOUT ROWID;"
    "CREATE TABLE dkim_results ("
    " record_id INTEGER NOT NULL"
    "  REFERENCES records(id) ON DELETE CASCADE,"
    " idx INTEGER NOT NULL,"
    " domain TEXT,"
    " selector TEXT,"
    " result TEXT,"
    " human_result TEXT,"
    " PRIMARY KEY (record_id, idx)"
    ") WITHOUT ROWID;"
    "CREATE TABLE spf_results ("
    " record_id INTEGER NOT NULL"
    "  REFERENCES records(id) ON DELETE CASCADE,"
    " idx INTEGER NOT NULL,"
    " domain TEXT,"
    " scope TEXT,"
    " result TEXT,"
    " human_result TEXT,"
    " PRIMARY KEY (record_id, idx)"
    ") WITHOUT ROWID;"
    "CREATE TABLE failed_inputs ("
    " id INTEGER PRIMARY KEY,"
    " path TEXT NOT NULL,"
    " reason TEXT NOT NULL,"
    " raw BLOB,"
    " size INTEGER NOT NULL,"
    " raw_hash INTEGER NOT NULL,"
    " first_seen INTEGER NOT NULL,"
    " last_seen INTEGER NOT NULL,"
    " UNIQUE (path, raw_hash)"
    ");"
    /* Inputs already stored, by the FNV-1a hash and length of their raw
     * bytes (sift_ingest_fingerprint): a re-run skips them without
     * decompressing or parsing. Goes with its report. */
    "CREATE TABLE seen_inputs ("
    " fp INTEGER NOT NULL,"
    " len INTEGER NOT NULL,"
    " report INTEGER NOT NULL REFERENCES reports(id) ON DELETE CASCADE,"
    " conflict INTEGER NOT NULL,"
    " PRIMARY KEY (fp, len)"
    ") WITHOUT ROWID;"
    "CREATE INDEX seen_inputs_report ON seen_inputs(report);"
    "CREATE TABLE conflicts ("
    " id INTEGER PRIMARY KEY,"
    " org_name TEXT NOT NULL,"
    " report_id TEXT NOT NULL,"
    " policy_domain TEXT NOT NULL,"
    " date_begin INTEGER NOT NULL,"
    " date_end INTEGER NOT NULL,"
    " input_path TEXT,"
    " content_hash INTEGER NOT NULL,"
    " first_seen INTEGER NOT NULL,"
    " last_seen INTEGER NOT NULL,"
    " UNIQUE (org_name, report_id, policy_domain, date_begin, date_end,"
    "  content_hash)"
    ");";

/* Version 1 -> 2: 128-bit hashes (XXH3-128, 16-byte BLOBs, util's
 * sift_hash128_put() order) instead of 64-bit FNV. What happens to a v1
 * file's 64-bit values (docs/schema.md, "Upgrading from schema 1"):
 * - reports.content_hash becomes NULL, "unknown": the next copy of such
 *   a report is parsed and compared by record count and message total;
 *   if they match it is a re-send and its hash is adopted, else it is a
 *   conflict.
 * - seen_inputs is emptied: every input is read again once (a v1
 *   fingerprint cannot be compared with a new one, and a weak one must
 *   not skip anything unread).
 * - failed_inputs.raw_hash is recomputed from the kept bytes (sift_xxh128,
 *   registered on every handle); fp (the input's fingerprint, for
 *   resolving a failed row when the input later imports) is NULL.
 * - conflicts.content_hash becomes NULL (the rows are kept).
 * DROP COLUMN needs SQLite 3.35 (Debian 12 has 3.40). */
static const char schema_v2[] =
    "ALTER TABLE reports DROP COLUMN content_hash;"
    "ALTER TABLE reports ADD COLUMN content_hash BLOB;"
    "DROP TABLE seen_inputs;"
    "CREATE TABLE seen_inputs ("
    " fp BLOB NOT NULL,"
    " len INTEGER NOT NULL,"
    " report INTEGER NOT NULL REFERENCES reports(id) ON DELETE CASCADE,"
    " conflict INTEGER NOT NULL,"
    " PRIMARY KEY (fp, len)"
    ") WITHOUT ROWID;"
    "CREATE INDEX seen_inputs_report ON seen_inputs(report);"
    "CREATE TABLE failed_inputs_v2 ("
    " id INTEGER PRIMARY KEY,"
    " path TEXT NOT NULL,"
    " reason TEXT NOT NULL,"
    " raw BLOB,"
    " size INTEGER NOT NULL,"
    " raw_hash BLOB NOT NULL,"
    " fp BLOB,"
    " first_seen INTEGER NOT NULL,"
    " last_seen INTEGER NOT NULL,"
    " UNIQUE (path, raw_hash)"
    ");"
    "INSERT INTO failed_inputs_v2 (id, path, reason, raw, size, raw_hash,"
    " fp, first_seen, last_seen) SELECT id, path, reason, raw, size,"
    " sift_xxh128(raw), NULL, first_seen, last_seen FROM failed_inputs;"
    "DROP TABLE failed_inputs;"
    "ALTER TABLE failed_inputs_v2 RENAME TO failed_inputs;"
    "CREATE INDEX failed_inputs_fp ON failed_inputs(path, fp);"
    "CREATE TABLE conflicts_v2 ("
    " id INTEGER PRIMARY KEY,"
    " org_name TEXT NOT NULL,"
    " report_id TEXT NOT NULL,"
    " policy_domain TEXT NOT NULL,"
    " date_begin INTEGER NOT NULL,"
    " date_end INTEGER NOT NULL,"
    " input_path TEXT,"
    " content_hash BLOB,"
    " first_seen INTEGER NOT NULL,"
    " last_seen INTEGER NOT NULL,"
    " UNIQUE (org_name, report_id, policy_domain, date_begin, date_end,"
    "  content_hash)"
    ");"
    "INSERT INTO conflicts_v2 (id, org_name, report_id, policy_domain,"
    " date_begin, date_end, input_path, content_hash, first_seen, last_seen)"
    " SELECT id, org_name, report_id, policy_domain, date_begin, date_end,"
    " input_path, NULL, first_seen, last_seen FROM conflicts;"
    "DROP TABLE conflicts;"
    "ALTER TABLE conflicts_v2 RENAME TO conflicts;";

/* Version 2 -> 3: the verdict
 * columns gain the record's primary category (-1: written before it
 * existed), and the database says which evaluation wrote its verdicts
 * (0: an older one). `dmarcsift reevaluate` (run by ingest and report
 * when the version is behind SIFT_EVAL_VERSION) recomputes them. */
static const char schema_eval[] =
    "ALTER TABLE records ADD COLUMN primary_cat INTEGER NOT NULL DEFAULT -1;"
    "CREATE TABLE evaluation ("
    " id INTEGER PRIMARY KEY CHECK (id = 1),"
    " version INTEGER NOT NULL"
    ");"
    "INSERT INTO evaluation (id, version) VALUES (1, 0);";

/* Version 3 -> 4: IMAP state (docs/imap.md): per (server, user, mailbox,
 * UIDVALIDITY), the UIDs whose every report is committed, so a run fetches only
 * the others and the mover moves only these. Issue 15: v4 here; the integrator
 * numbers it v5 once the DNS-cache step is in. */
static const char schema_imap[] =
    "CREATE TABLE imap_mailboxes ("
    " id INTEGER PRIMARY KEY,"
    " server TEXT NOT NULL,"
    " user TEXT NOT NULL,"
    " mailbox TEXT NOT NULL,"
    " uidvalidity INTEGER NOT NULL,"
    " first_run INTEGER NOT NULL,"
    " last_run INTEGER NOT NULL,"
    " UNIQUE (server, user, mailbox, uidvalidity)"
    ");"
    "CREATE TABLE imap_settled ("
    " mailbox INTEGER NOT NULL"
    "  REFERENCES imap_mailboxes(id) ON DELETE CASCADE,"
    " uid INTEGER NOT NULL,"
    " failed INTEGER NOT NULL,"
    " settled_at INTEGER NOT NULL,"
    " PRIMARY KEY (mailbox, uid)"
    ") WITHOUT ROWID;";

/* Version 4 -> 5: failed_inputs.raw becomes the last column. A failed
 * input over --max-input-size is streamed into its row with incremental
 * blob I/O (sift_store_add_failed_file): the row is inserted with
 * zeroblob(size), which SQLite writes page by page only when the blob is
 * the record's last field; anywhere else it builds the whole record in
 * memory (100 MiB of zeros: 231 MiB RSS instead of 31 MiB). Same rows,
 * same ids. */
static const char schema_keep[] =
    "CREATE TABLE failed_inputs_v5 ("
    " id INTEGER PRIMARY KEY,"
    " path TEXT NOT NULL,"
    " reason TEXT NOT NULL,"
    " size INTEGER NOT NULL,"
    " raw_hash BLOB NOT NULL,"
    " fp BLOB,"
    " first_seen INTEGER NOT NULL,"
    " last_seen INTEGER NOT NULL,"
    " raw BLOB,"
    " UNIQUE (path, raw_hash)"
    ");"
    "INSERT INTO failed_inputs_v5 (id, path, reason, size, raw_hash, fp,"
    " first_seen, last_seen, raw) SELECT id, path, reason, size, raw_hash,"
    " fp, first_seen, last_seen, raw FROM failed_inputs;"
    "DROP TABLE failed_inputs;"
    "ALTER TABLE failed_inputs_v5 RENAME TO failed_inputs;"
    "CREATE INDEX failed_inputs_fp ON failed_inputs(path, fp);";

/* Version 5 -> 6: the DNS cache (dns/, store/dns_cache.c; docs/schema.md).
 * dns_ptr, one row per source address: the PTR name (confirmed: its
 * A/AAAA holds the address; else the first PTR name, or NULL when there
 * is none), the lookup's status ("ok", "nxdomain", "nodata"), the
 * answer's TTL and when it was looked up. Only answers are kept:
 * timeouts are looked up again. dns_published and dns_dkim: what each
 * policy domain publishes now. */
static const char schema_dns[] = "CREATE TABLE dns_ptr ("
                                 " ip TEXT PRIMARY KEY,"
                                 " name TEXT,"
                                 " confirmed INTEGER NOT NULL,"
                                 " status TEXT NOT NULL,"
                                 " ttl INTEGER NOT NULL,"
                                 " looked_up INTEGER NOT NULL"
                                 ") WITHOUT ROWID;"
                                 "CREATE TABLE dns_published ("
                                 " domain TEXT PRIMARY KEY,"
                                 " tree_at TEXT, tree_record TEXT,"
                                 " psl_at TEXT, psl_record TEXT,"
                                 " differ INTEGER NOT NULL,"
                                 " spf_record TEXT,"
                                 " spf_records INTEGER NOT NULL,"
                                 " spf_lookups INTEGER NOT NULL,"
                                 " spf_all INTEGER NOT NULL,"
                                 " spf_includes TEXT,"
                                 " spf_error TEXT,"
                                 " ttl INTEGER NOT NULL,"
                                 " looked_up INTEGER NOT NULL"
                                 ") WITHOUT ROWID;"
                                 "CREATE TABLE dns_dkim ("
                                 " domain TEXT NOT NULL,"
                                 " selector TEXT NOT NULL,"
                                 " status TEXT NOT NULL,"
                                 " present INTEGER NOT NULL,"
                                 " key_type TEXT,"
                                 " key_bits INTEGER NOT NULL,"
                                 " ttl INTEGER NOT NULL,"
                                 " looked_up INTEGER NOT NULL,"
                                 " PRIMARY KEY (domain, selector)"
                                 ") WITHOUT ROWID;";

/* Version 6 -> 7: the evaluation version moves from the database to each
 * report (reports.eval_version): hosts of different builds writing one
 * database leave reports of different versions, which stats and report
 * show and reevaluate brings up to date report by report. Existing
 * reports get the database's version; the `evaluation` table goes. */
static const char schema_evpr[] =
    "ALTER TABLE reports ADD COLUMN eval_version INTEGER NOT NULL DEFAULT 0;"
    "UPDATE reports SET eval_version ="
    " coalesce((SELECT version FROM evaluation), 0);"
    "DROP TABLE evaluation;";

/* Version 7 -> 8: PostgreSQL's record packs (store/pg_pack.c), which
 * its report scan reads instead of the records; SQLite's scan reads the
 * records table itself, so the step only moves the version, keeping the
 * two backends' schema numbers in step. */
static const char schema_packs[] = "SELECT 1;";

/* Version 8 -> 9: PostgreSQL keeps a record's DKIM and SPF results in the
 * record row; SQLite keeps its tables (the step only moves the version). */
static const char schema_auth[] = "SELECT 1;";

/* Version 9 -> 10: PostgreSQL fills reports' pages half, so that a
 * report's final values update it in place; nothing here. */
static const char schema_fill[] = "SELECT 1;";

/* Append new versions here; never edit a released step. */
static const char *const migrations[] = {
    schema_v1,    /* 0 -> 1 */
    schema_v2,    /* 1 -> 2: 128-bit hashes, failed-input lifecycle */
    schema_eval,  /* 2 -> 3: evaluation version, primary category */
    schema_imap,  /* 3 -> 4: IMAP state */
    schema_keep,  /* 4 -> 5: failed_inputs.raw last (streamed kept bytes) */
    schema_dns,   /* 5 -> 6: DNS cache (source names) */
    schema_evpr,  /* 6 -> 7: evaluation version per report */
    schema_packs, /* 7 -> 8: nothing (PostgreSQL's record packs) */
    schema_auth,  /* 8 -> 9: nothing (PostgreSQL's DKIM and SPF columns) */
    schema_fill,  /* 9 -> 10: nothing (PostgreSQL's reports fillfactor) */
};

_Static_assert(sizeof(migrations) / sizeof(migrations[0]) == SIFT_STORE_SCHEMA,
               "one migration step per schema version");

/* Where the file stands: fresh (no objects), ours at some version, or
 * somebody else's. One statement, so one read transaction: the three
 * values must come from the same state of the file while another process
 * may be creating it. */
static int
inspect(sift_sq *st, int *version, int *fresh, sift_err *err)
{
    static const char sql[] =
        "SELECT (SELECT application_id FROM pragma_application_id),"
        " (SELECT user_version FROM pragma_user_version),"
        " (SELECT count(*) FROM sqlite_master)";
    sqlite3_stmt *s = NULL;
    int appid = 0, uv = 0, objects = 0, rc;

    *fresh = 0;
    *version = 0;
    rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        appid = sqlite3_column_int(s, 0);
        uv = sqlite3_column_int(s, 1);
        objects = sqlite3_column_int(s, 2);
        rc = SQLITE_OK;
    }
    if (rc != SQLITE_OK)
        rc = sift_sq__db_err(st, sqlite3_extended_errcode(st->db), err,
                             "inspect");
    sqlite3_finalize(s);
    if (rc != SIFT_OK)
        return rc;
    if (appid == 0 && uv == 0 && objects == 0) {
        *fresh = 1;
        return SIFT_OK;
    }
    if (appid != SIFT_STORE_APP_ID || uv < 0)
        return sift_sq__fail(st, err, "not a dmarcsift database");
    if (uv > st->target_version)
        return sift_sq__fail(st, err,
                             "database was created by a newer dmarcsift "
                             "(schema %d, this build knows %d)",
                             uv, st->target_version);
    *version = uv;
    return SIFT_OK;
}

int
sift_sq__migrate(sift_sq *st, sift_err *err)
{
    char sql[96];
    int version, fresh, rc, i, in_tx = 0, target = st->target_version;

    if (target <= 0 || target > SIFT_STORE_SCHEMA)
        return sift_err_set(err, SIFT_EUSAGE, "no schema version %d", target);
    if ((rc = inspect(st, &version, &fresh, err)) != 0)
        return rc;
    if (version == target)
        return SIFT_OK;
    if (st->readonly)
        return sift_sq__fail(st, err,
                             "database needs an upgrade from schema %d "
                             "to %d: open it once read-write",
                             version, target);
    /* auto_vacuum only takes effect before the first table is created. */
    if (fresh && (rc = sift_sq__exec(st,
                                     "PRAGMA auto_vacuum = "
                                     "INCREMENTAL",
                                     err)) != 0)
        return rc;
    if ((rc = sift_sq__exec(st, "BEGIN IMMEDIATE", err)) != 0)
        return rc;
    in_tx = 1;
    /* Another process may have migrated while we waited for the lock. */
    if ((rc = inspect(st, &version, &fresh, err)) != 0)
        goto fail;
    for (i = version; i < target; i++) {
        rc = sqlite3_exec(st->db, migrations[i], NULL, NULL, NULL);
        if (rc != SQLITE_OK) {
            rc = sift_sq__db_err(st, rc, err, "schema upgrade");
            goto fail;
        }
    }
    snprintf(sql, sizeof(sql), "PRAGMA application_id = %d", SIFT_STORE_APP_ID);
    if ((rc = sift_sq__exec(st, sql, err)) != 0)
        goto fail;
    snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", target);
    if ((rc = sift_sq__exec(st, sql, err)) != 0)
        goto fail;
    if ((rc = sift_sq__exec(st, "COMMIT", err)) != 0)
        goto fail;
    return SIFT_OK;
fail:
    if (in_tx && !sqlite3_get_autocommit(st->db))
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

int
sift_store_schema_version(void)
{
    return SIFT_STORE_SCHEMA;
}
