/* sift_ingest.h -- find every report in what users point us at.
 *
 * Inputs are files, directories (recursive; Maildir cur/ and new/, tmp/
 * and the mail servers' index and state files skipped), "-" for stdin, or
 * memory (a stored failed payload being retried). Kinds are recognised by
 * content, never by name or Content-Type: gzip, zip, XML (optional BOM and
 * whitespace; UTF-8 or UTF-16), raw zlib, an RFC 5322 message, an mbox.
 * Containers nest (mbox > message > message/rfc822 > zip > gzip > xml) up to
 * lim->max_depth.
 *
 * ingest does not parse XML: it yields byte streams that look like XML
 * and the caller (cli/import.c) hands them to xml/. Every unit ends as
 * exactly one item: a report candidate, not a report, a failure report, or
 * failed (with the reason), so the caller can account for all of them.
 *
 *     sift_ingest *in; const sift_item *it;
 *     sift_ingest_new(&in, &lim, &err);
 *     sift_ingest_add_path(in, "export.mbox", &err);
 *     while ((rc = sift_ingest_next(in, &it, &err)) == SIFT_OK) ...;
 *     sift_ingest_free(in);
 */
#ifndef SIFT_INGEST_H
#define SIFT_INGEST_H

#include <stddef.h>
#include <stdint.h>

#include "sift_err.h"
#include "sift_hash.h"
#include "sift_limits.h"
#include "sift_reader.h"

typedef struct sift_ingest sift_ingest;

typedef enum sift_item_kind {
    SIFT_ITEM_REPORT = 1,     /* reader yields the (decompressed) XML */
    SIFT_ITEM_NOT_REPORT,     /* a unit with no aggregate report in it:
                                 a message without report parts, a zip
                                 entry that is not XML, junk */
    SIFT_ITEM_FAILURE_REPORT, /* an ARF/RFC 6591 failure report (ruf) */
    SIFT_ITEM_FAILED          /* could not be read or unpacked; err says
                                 why and where */
} sift_item_kind;

typedef struct sift_item {
    sift_item_kind kind;
    /* Provenance through every container, e.g.
     * "export.mbox#17/google.com!example.com!1!2.zip/google.com!...xml".
     * Message numbers in an mbox are 1-based. Zip entry names appear here
     * (escaped: control characters as ?) but are never used as paths. */
    const char *path;
    /* SIFT_ITEM_REPORT: the XML bytes, pulled lazily (a gzip member is
     * inflated as it is read; reading past lim->max_report_size fails
     * with SIFT_ETOOBIG). NULL for the other kinds. */
    sift_reader *reader;
    /* SIFT_ITEM_FAILED: the reason, err.where = path. */
    sift_err err;
    /* The outermost unit this item came from: the file (also one inside a
     * directory or Maildir), "<stdin>", a memory input's name, or an IMAP
     * message ("imaps://u@host/INBOX;UIDVALIDITY=5;UID=9"). Items of one
     * unit are consecutive, so a change of unit means the last one is
     * complete (the import's "unit settled", used to move messages). */
    const char *unit;
} sift_item;

/* Create an empty ingest queue. lim is copied (NULL: SIFT_LIMITS_INIT).
 * Ownership: *out is the caller's, free it with sift_ingest_free(). */
int sift_ingest_new(sift_ingest **out, const sift_limits *lim, sift_err *err);

/* Queue a file, a directory or "-" (stdin). Nothing is read yet; a path
 * that does not exist is reported as a SIFT_ITEM_FAILED item in order, so
 * this only fails on SIFT_ENOMEM. Items from stdin have paths starting
 * with "<stdin>"; stdin is read as a stream, except that a zip or a single
 * message on it is held in memory (lim->max_input_size). docs/ingest.md
 * has the provenance path rules. */
int sift_ingest_add_path(sift_ingest *in, const char *path, sift_err *err);

/* Queue a memory buffer under the provenance name `name` (both copied). */
int sift_ingest_add_memory(sift_ingest *in, const char *name, const void *buf,
                           size_t len, sift_err *err);

/* Never yield the file at `path` nor its SQLite companions (path-wal,
 * path-shm, path-journal) when a directory walk meets them: the database
 * being written may sit inside an ingested folder. Matched by the
 * directory's device and inode plus the file name, so relative paths and
 * symlinked directories match too; a path whose directory does not exist
 * is ignored. Files given as inputs themselves are not affected. Only
 * fails on SIFT_ENOMEM. */
int sift_ingest_skip(sift_ingest *in, const char *path, sift_err *err);

/* Next item. Returns SIFT_OK with *item set, SIFT_ITEROVER when every
 * input is exhausted, SIFT_ENOMEM, or SIFT_ENOFD (out of file
 * descriptors: err names the file and the limit; the run should stop). Bad
 * inputs are never errors here: they are SIFT_ITEM_FAILED items, and the next
 * call goes on with the next unit. Ownership: *item is borrowed, valid until
 * the next call; the caller need not read its reader to the end. */
int sift_ingest_next(sift_ingest *in, const sift_item **item, sift_err *err);

/* The raw bytes behind the current item, to keep a payload that failed:
 * the innermost file, MIME part (decoded) or archive entry holding it,
 * still compressed, such that sift_ingest_add_memory(name = item->path)
 * reproduces the item. Capped at lim->max_input_size.
 * Returns SIFT_OK, SIFT_ETOOBIG (over the cap: see sift_ingest_raw_spool),
 * SIFT_EUSAGE (no current item, or nothing kept) or the read error. For stdin
 * items it reads the rest of stdin. Ownership: *buf is the caller's, free() it.
 */
int sift_ingest_raw(sift_ingest *in, unsigned char **buf, size_t *len,
                    sift_err *err);

/* The same bytes streamed into out (a temporary file), for a failed input
 * too large to hold in memory: not capped at max_input_size but at
 * lim->max_keep_size. An mbox message over max_input_size is spooled to a
 * temporary file as it is split, so its bytes are here too; the rest come
 * from the source (a file is read again) or, when the source can only
 * give them in memory, from sift_ingest_raw(). *len and *hash (XXH3-128)
 * describe what was written. Returns SIFT_OK, SIFT_ETOOBIG past
 * max_keep_size ("PATH: larger than the N MiB limit (--max-keep-size)";
 * out then holds a prefix, and *len is the input's size when known, else
 * what was written), SIFT_EUSAGE (nothing kept) or an i/o error.
 * out is written from its current position; the caller owns it. */
int sift_ingest_raw_spool(sift_ingest *in, FILE *out, uint64_t *len,
                          sift_hash128 *hash, sift_err *err);

/* A fingerprint of the current item's raw bytes, for skipping inputs
 * already stored without decompressing them: *fp = XXH3-128 (sift_hash.h)
 * of the bytes sift_ingest_raw() would return, *len their length. For a
 * zip entry, sift_hash128_mix() of the whole archive's hash and the
 * entry's index. For the Nth report of a stream of several ("path#N"),
 * the stream's hash mixed with N; the first report learns that it has
 * followers when its reader meets the second, so ask again after reading
 * it to its end before noting it (a stream whose first report was noted
 * under the stream's own hash would be skipped whole on a re-run, its
 * later reports unread). Reads a
 * file again but never inflates. SIFT_EUSAGE when there is none (stdin,
 * or no current item); a read error otherwise. */
int sift_ingest_fingerprint(sift_ingest *in, sift_hash128 *fp, uint64_t *len,
                            sift_err *err);

/* Bytes read from the outermost inputs so far (for progress display). */
unsigned long long sift_ingest_bytes_read(const sift_ingest *in);

void sift_ingest_free(sift_ingest *in); /* NULL is a no-op */

/* ---- IMAP (src_imap.c; docs/imap.md) ---- */

typedef struct sift_imap sift_imap;

typedef struct sift_imap_opts {
    /* imaps://user@host[:port]/MAILBOX (TLS), or imap://... (STARTTLS
     * required unless insecure). A password in the URL is refused. */
    const char *url;
    /* Secrets, used for login only and never put into a message. One of
     * them; with neither, libcurl looks the user up in netrc_file (NULL:
     * ~/.netrc). */
    const char *password;
    const char *oauth2_token; /* XOAUTH2 / OAUTHBEARER bearer token */
    const char *netrc_file;
    const char *cacert; /* a CA bundle for the server's certificate */
    int insecure;       /* imap:// may stay plain text */
} sift_imap_opts;

/* Connect, log in, and read the mailbox's UIDVALIDITY (STATUS). Errors are
 * one line with err->where = the URL as sift_imap_name() prints it:
 * "login failed for user 'u': ...", "TLS certificate not trusted: ...",
 * "cannot connect: ...", "cannot open the mailbox: ..." (SIFT_EIO), or a
 * URL that cannot be used (SIFT_EUSAGE). *out is the caller's: close it
 * with sift_imap_close(). */
int sift_imap_open(sift_imap **out, const sift_imap_opts *o, sift_err *err);
const char *sift_imap_name(const sift_imap *im);   /* scheme://user@host... */
const char *sift_imap_server(const sift_imap *im); /* "host:port" */
const char *sift_imap_user(const sift_imap *im);
const char *sift_imap_mailbox(const sift_imap *im);
uint32_t sift_imap_uidvalidity(const sift_imap *im);
/* UIDs in from..to (to = 0: up to the highest), ascending. *uids is the
 * caller's (free()). */
int sift_imap_search(sift_imap *im, uint32_t from, uint32_t to, uint32_t **uids,
                     size_t *n, sift_err *err);
/* Queue these UIDs (ascending, copied) for fetching through `in`: each is
 * one unit whose path is "<name>;UIDVALIDITY=V;UID=N". A message over
 * lim.max_input_size (RFC822.SIZE) is a failed item without being
 * fetched. im is borrowed and used by whichever thread drains `in`; a
 * lost connection ends the queue early (sift_imap_status says why). */
int sift_ingest_add_imap(sift_ingest *in, sift_imap *im, const uint32_t *uids,
                         size_t n, sift_err *err);
/* SIFT_OK, or the error that stopped fetching early (copied to err). */
int sift_imap_status(const sift_imap *im, sift_err *err);
/* Move messages into folder (created when missing): UID MOVE, else UID
 * COPY + \Deleted + UID EXPUNGE (UIDPLUS; never a plain EXPUNGE). Only
 * for messages whose reports are committed. */
int sift_imap_move(sift_imap *im, const uint32_t *uids, size_t n,
                   const char *folder, sift_err *err);
void sift_imap_close(sift_imap *im); /* NULL is a no-op; logs out */

#endif
