/* imap_state.c -- which IMAP messages are settled; see sift_store.h.
 *
 * A mailbox is (server, user, mailbox, UIDVALIDITY): a changed
 * UIDVALIDITY is a new row, so its messages are fetched again (the
 * fingerprint and report identity checks keep that from storing anything
 * twice). A settled UID is one whose every report is committed; it is
 * never fetched again, and the mover forgets it once it has left the
 * mailbox. These calls run a few times per run (once per batch of
 * messages), so their statements are prepared per call rather than kept
 * in the handle. Writes are a SAVEPOINT: they join an open batch, or are
 * their own transaction. */
#include "sqlite_int.h"

#include <string.h>
#include <time.h>

#define WHAT "imap state" /* names a failed step in errors */

int
sift_sq_imap_mailbox(sift_sq *st, int64_t *id, const char *server,
                     const char *user, const char *mailbox,
                     uint32_t uidvalidity, sift_err *err)
{
    static const char ins[] =
        "INSERT INTO imap_mailboxes (server, user, mailbox, uidvalidity,"
        " first_run, last_run) VALUES (?1, ?2, ?3, ?4, ?5, ?5)"
        " ON CONFLICT (server, user, mailbox, uidvalidity) DO UPDATE SET"
        " last_run = excluded.last_run RETURNING id";
    sqlite3_stmt *s = NULL;
    int rc;

    *id = 0;
    if (st->readonly)
        return sift_sq__fail(st, err, "database is read-only");
    if ((rc = sift_sq__prep(st, &s, ins, WHAT, err)) != SIFT_OK)
        return rc;
    sqlite3_bind_text(s, 1, server, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, user, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, mailbox, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 4, uidvalidity);
    sqlite3_bind_int64(s, 5, (int64_t)time(NULL));
    if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        *id = sqlite3_column_int64(s, 0);
        rc = sqlite3_step(s) == SQLITE_DONE ? SIFT_OK
                                            : sift_sq__step_err(st, WHAT, err);
    } else {
        rc = sift_sq__step_err(st, WHAT, err);
    }
    sqlite3_finalize(s);
    return rc;
}

int
sift_sq_imap_each_settled(sift_sq *st, int64_t mailbox, sift_uid_cb cb,
                          void *payload, sift_err *err)
{
    static const char sel[] = "SELECT uid, failed FROM imap_settled"
                              " WHERE mailbox = ?1 ORDER BY uid";
    sqlite3_stmt *s = NULL;
    int rc;

    if ((rc = sift_sq__prep(st, &s, sel, WHAT, err)) != SIFT_OK)
        return rc;
    sqlite3_bind_int64(s, 1, mailbox);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        int r = cb(payload, (uint32_t)sqlite3_column_int64(s, 0),
                   sqlite3_column_int(s, 1));
        if (r != 0) {
            sqlite3_finalize(s);
            return r;
        }
    }
    rc = rc == SQLITE_DONE ? SIFT_OK : sift_sq__step_err(st, WHAT, err);
    sqlite3_finalize(s);
    return rc;
}

/* Run one statement per UID inside a savepoint. */
static int
each_uid(sift_sq *st, const char *sql, int64_t mailbox, const uint32_t *uids,
         const unsigned char *failed, size_t n, sift_err *err)
{
    sqlite3_stmt *s = NULL;
    int64_t now = (int64_t)time(NULL);
    size_t i;
    int rc;

    if (n == 0)
        return SIFT_OK;
    if (st->readonly)
        return sift_sq__fail(st, err, "database is read-only");
    if (st->in_report)
        return sift_err_set(err, SIFT_EUSAGE, "a report is open");
    if ((rc = sift_sq__prep(st, &s, sql, WHAT, err)) != SIFT_OK)
        return rc;
    if ((rc = sift_sq__exec(st, "SAVEPOINT sift_imap", err)) != SIFT_OK) {
        sqlite3_finalize(s);
        return rc;
    }
    for (i = 0; i < n && rc == SIFT_OK; i++) {
        sqlite3_bind_int64(s, 1, mailbox);
        sqlite3_bind_int64(s, 2, uids[i]);
        sqlite3_bind_int(s, 3, failed != NULL && failed[i] != 0);
        sqlite3_bind_int64(s, 4, now);
        if (sqlite3_step(s) != SQLITE_DONE)
            rc = sift_sq__step_err(st, WHAT, err);
        sqlite3_reset(s);
    }
    sqlite3_finalize(s);
    if (rc != SIFT_OK) {
        sqlite3_exec(st->db, "ROLLBACK TO sift_imap; RELEASE sift_imap", NULL,
                     NULL, NULL);
        return rc;
    }
    return sift_sq__exec(st, "RELEASE sift_imap", err);
}

int
sift_sq_imap_settle(sift_sq *st, int64_t mailbox, const uint32_t *uids,
                    const unsigned char *failed, size_t n, sift_err *err)
{
    static const char ins[] =
        "INSERT INTO imap_settled (mailbox, uid, failed, settled_at)"
        " VALUES (?1, ?2, ?3, ?4) ON CONFLICT (mailbox, uid) DO UPDATE SET"
        " failed = excluded.failed, settled_at = excluded.settled_at";

    return each_uid(st, ins, mailbox, uids, failed, n, err);
}

int
sift_sq_imap_forget(sift_sq *st, int64_t mailbox, const uint32_t *uids,
                    size_t n, sift_err *err)
{
    /* binding ?3 and ?4 fails harmlessly (SQLITE_RANGE): one loop */
    static const char del[] = "DELETE FROM imap_settled WHERE mailbox = ?1"
                              " AND uid = ?2";

    return each_uid(st, del, mailbox, uids, NULL, n, err);
}
