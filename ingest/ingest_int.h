/* ingest_int.h -- private to ingest/: sniffing, reader layers, MIME, and
 * the table of sources.
 * A unit's bytes flow through a chain of `lay`ers (file, memory, zip
 * entry, inflate, peek). Every decompressing layer caps its output and the
 * peek layer caps a report, so no chain yields more than
 * lim->max_report_size bytes. Inputs and containers are `src_ops` rows
 * (ingest.c has the table); their frames sit on one stack. Nothing here is
 * public. */
#ifndef SIFT_INGEST_INT_H
#define SIFT_INGEST_INT_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <zip.h>
#include <zlib.h>

#include "sift_err.h"
#include "sift_ingest.h"
#include "sift_limits.h"
#include "sift_reader.h"
#include "sift_util.h"

/* What the first bytes of a unit look like (sniff.c). */
typedef enum sniff_kind {
    SNIFF_UNKNOWN = 0,
    SNIFF_EMPTY,
    SNIFF_XML,
    SNIFF_GZIP,
    SNIFF_ZLIB,
    SNIFF_ZIP,
    SNIFF_ZIP_EMPTY, /* PK\5\6: an archive without entries */
    SNIFF_MBOX,
    SNIFF_MESSAGE,
    SNIFF_TAR,  /* "ustar" at offset 257 (POSIX and GNU) */
    SNIFF_XZ,   /* FD 37 7A 58 5A 00 */
    SNIFF_BZIP2 /* "BZh1".."BZh9" + a block or end-of-stream magic */
} sniff_kind;

#define SIFT_PEEK 4096 /* bytes of a unit looked at before deciding */

/* Classify head[0..n) (n may be short at end of input). */
sniff_kind sift_ingest__sniff(const unsigned char *head, size_t n);

/* Stricter test for text/plain and text/html MIME parts: they must open
 * with "<?xml" or carry a <feedback> start tag near the start. */
int sift_ingest__strict_xml(const unsigned char *head, size_t n);

/* A reader layer. Layers of one unit are linked through `chain` and
 * freed together with lay_free_chain(); the reader must be first. */
typedef struct lay lay;
struct lay {
    sift_reader r;
    lay *chain;
    void (*dispose)(lay *l);
};

void sift_ingest__lay_free_chain(lay *l); /* NULL is a no-op */

/* Peek layer: buffers the first SIFT_PEEK bytes for sniffing, then passes
 * the rest through; fails with SIFT_ETOOBIG past `cap` bytes (capmsg
 * names what was too big) and stamps err->where with r.name. */
typedef struct pk_lay {
    lay l;
    sift_reader *in;
    unsigned char head[SIFT_PEEK];
    size_t hlen, hoff;
    int filled;
    uint64_t total, cap;
    const char *capmsg; /* e.g. "decompressed size" */
    const char *capopt; /* e.g. "--max-report-size" */
} pk_lay;

pk_lay *sift_ingest__pk_new(lay **chain, sift_reader *in, const char *name,
                            uint64_t cap, const char *capmsg,
                            const char *capopt, sift_err *err);
/* Fill the head (reads until SIFT_PEEK bytes or end of input). */
int sift_ingest__pk_fill(pk_lay *p, sift_err *err);

/* Inflate layer over `in`: gzip (multi-member; trailing non-gzip bytes
 * ignored) or zlib. Output beyond `cap` bytes fails with SIFT_ETOOBIG. */
lay *sift_ingest__inflate_new(lay **chain, sift_reader *in, int gzip,
                              const char *name, uint64_t cap, sift_err *err);

/* Zip entry layer over an open zip_file_t (closed by the layer, even on
 * failure). Reading more than `declared` bytes (the central directory's
 * size; UINT64_MAX when unknown) fails with SIFT_EFORMAT. */
lay *sift_ingest__zipent_new(lay **chain, zip_file_t *zf, uint64_t declared,
                             const char *name, sift_err *err);

/* Open a zip by path (random access) or over memory (borrowed; must
 * outlive the archive). Returns SIFT_EFORMAT with libzip's message. */
int sift_ingest__zip_open_path(zip_t **out, const char *path, sift_err *err);
int sift_ingest__zip_open_mem(zip_t **out, const void *buf, size_t len,
                              sift_err *err);

/* Document layer over `in` (docsplit.c): yields one XML document of the
 * stream, then end of stream; when another document follows,
 * split_more() says so and split_next() starts reading it (under the
 * provenance name `name`, borrowed). NULL: out of memory. */
typedef struct split_lay split_lay;
split_lay *sift_ingest__split_new(lay **chain, sift_reader *in,
                                  const char *name);
sift_reader *sift_ingest__split_reader(split_lay *s);
/* 1 when another document follows. A document read in part is read to
 * its end first; one never read is left (the rest of the stream too). */
int sift_ingest__split_more(split_lay *s);
void sift_ingest__split_next(split_lay *s, const char *name);
/* 1 once the reader has met the start of another document. */
int sift_ingest__split_cut(const split_lay *s);

/* Format a size limit into a message: "the 1 GiB limit (--max-report-size)"
 */
void sift_ingest__limit(char *buf, size_t n, uint64_t v, const char *opt);
/* Copy src to its end into out, adding to *len and hashing into h;
 * SIFT_ETOOBIG when *len would pass max (err names --max-keep-size). */
int sift_ingest__copy(FILE *src, FILE *out, uint64_t max, uint64_t *len,
                      sift_hasher *h, const char *path, sift_err *err);

/* ---- MIME (src_mime.c) ---- */

/* One parsed message: leaves flattened in depth-first order. */
typedef struct mime_msg mime_msg;

typedef struct mime_leaf_info {
    const char *filename; /* NULL when the part has none */
    int text;             /* text/plain or text/html: strict XML test */
} mime_leaf_info;

/* Parse buf[0..len) in place (borrowed, unchanged, until
 * sift_ingest__mime_free: GMime's streams point into it). Returns SIFT_OK,
 * SIFT_EFORMAT (not a message), SIFT_ETOOBIG (parts or nesting over the
 * limits, err names it). *arf is set for an ARF failure report. */
int sift_ingest__mime_parse(mime_msg **out, int *arf, const unsigned char *buf,
                            size_t len, const sift_limits *lim, sift_err *err);
size_t sift_ingest__mime_count(const mime_msg *m);
/* Decode leaf i; *p and *n are valid until the next decode or free. */
int sift_ingest__mime_decode(mime_msg *m, size_t i, mime_leaf_info *info,
                             const unsigned char **p, size_t *n, sift_err *err);
void sift_ingest__mime_free(mime_msg *m);

/* mbox splitter (src_mbox.c) over a byte stream: one message at a time, the
 * From_ line dropped, ">From " unquoted. */
typedef struct mbox_split mbox_split;
struct origin;
/* keep: a message over its buffer's max is spooled to a temporary file,
 * up to keep bytes, so that it can be kept for retry (0: never). */
int sift_ingest__mbox_new(mbox_split **out, sift_reader *in, uint64_t keep,
                          sift_err *err);
/* Next message into b (reset first). SIFT_OK, SIFT_ITEROVER at end,
 * SIFT_ETOOBIG when the message passed b->max (it was skipped; its bytes
 * are in the spool, see below), or a read error (the split cannot
 * continue). */
int sift_ingest__mbox_next(mbox_split *s, sift_buf *b, sift_err *err);
/* After SIFT_ETOOBIG: 1 and *o = an O_SPOOL origin over the spooled
 * message (valid until the next sift_ingest__mbox_next), else 0. */
int sift_ingest__mbox_spool(mbox_split *s, struct origin *o);
void sift_ingest__mbox_free(mbox_split *s);

/* ---- sources, frames and the queue (ingest.c) ----
 *
 * A source is one src_ops row. It can play up to three roles:
 *   input:     claims() a user-given path ("-", a URL) and start()s it;
 *   container: open()s a unit whose first bytes sniff as one of `sniffs`;
 *   frame:     next() yields one item or pushes a frame, per call.
 * Items whose raw bytes only the source can fetch again carry an origin
 * O_SRC naming the source: raw() and fingerprint() serve them.
 * Adding a source is one file plus one row in ingest.c's table. */

typedef struct sift_src_ops src_ops;
typedef struct frame frame;
typedef struct sift_ingest_input input;

/* Where the raw bytes of an item (or a container) can be fetched again. */
typedef enum origin_kind {
    O_NONE = 0,
    O_MEM,  /* p[0..len), owned by a frame or the input */
    O_SRC,  /* ask ops: raw()/fingerprint() with f and idx */
    O_SPOOL /* spool[0..len), a temporary file owned by a frame: a unit
               too large for memory, kept for retry (src_mbox.c) */
} origin_kind;

typedef struct origin {
    origin_kind kind;
    const unsigned char *p; /* O_MEM */
    size_t len;
    const src_ops *ops;      /* O_SRC */
    frame *f;                /* O_SRC: the container frame, or NULL */
    uint64_t idx;            /* O_SRC: entry number inside f */
    FILE *spool;             /* O_SPOOL */
    uint64_t spool_len;      /* O_SPOOL: bytes in spool (the unit's size) */
    sift_hash128 spool_hash; /* O_SPOOL: their XXH3-128 */
    int spool_whole;         /* O_SPOOL: spool holds the whole unit (else it
                                was cut at max_keep_size: nothing is kept,
                                spool_len is the unit's size, spool may be
                                NULL) */
} origin;

/* A container being walked. The common fields are the stack's; `st` is
 * the source's own state, freed by ops->dispose. */
struct frame {
    frame *up;
    const src_ops *ops;
    char *path;
    unsigned depth;
    int done;
    lay *chain; /* reader layers the frame reads from (freed after st) */
    origin org; /* raw bytes of the container itself */
    size_t i, n;
    uint64_t held; /* bytes it holds in memory: a spooled message or zip,
                      an mbox's current message, a decoded MIME part */
    void *st;
};

/* A queued input (sift_ingest_add_path / add_memory). */
struct sift_ingest_input {
    input *next;
    const src_ops *ops; /* the source that starts it */
    char *name;
    unsigned char *buf; /* memory inputs */
    size_t len;
    sift_imap *im; /* IMAP inputs (borrowed) */
};

/* A unit about to be opened as a container: the layers so far and the
 * peek layer on top (its head is filled). */
typedef struct unit {
    lay *chain;       /* owned: ends up with the frame or is freed */
    pk_lay *pk;       /* the unit's bytes, head already read */
    char *path;       /* owned */
    unsigned depth;   /* the container's depth (already checked) */
    origin org;       /* raw bytes of the unit */
    const char *file; /* the file to reopen with random access when pk
                         reads it uncompressed, else NULL */
    int compressed;   /* pk yields decompressed bytes */
} unit;

#define SNIFF_BIT(k) (1u << (k))

struct sift_src_ops {
    const char *name;
    /* input role: does this source take the user-given path? */
    int (*claims)(const char *path);
    /* Start an input; takes ip->name and ip->buf (not ip itself). */
    int (*start)(sift_ingest *in, input *ip, sift_err *err);
    /* container role: SNIFF_BIT()s of the kinds it opens */
    unsigned sniffs;
    /* Open u (takes u->chain and u->path): emit one item or push. */
    int (*open)(sift_ingest *in, unit *u, sift_err *err);
    /* frame role: yield the next item, push a frame, or set f->done */
    int (*next)(sift_ingest *in, frame *f, sift_err *err);
    void (*dispose)(frame *f); /* free f->st; NULL when there is none */
    /* O_SRC origins: the raw bytes (capped at max_input_size) and their
     * fingerprint. path is the item's (or container's) path. NULL: none
     * (SIFT_EUSAGE). */
    int (*raw)(sift_ingest *in, const origin *o, const char *path,
               unsigned char **buf, size_t *len, sift_err *err);
    int (*fingerprint)(sift_ingest *in, const origin *o, const char *path,
                       sift_hash128 *fp, uint64_t *len, sift_err *err);
    /* O_SRC origins: the raw bytes streamed into out, at most max bytes
     * (SIFT_ETOOBIG past it), hashed into h. NULL: raw() is used. */
    int (*raw_stream)(sift_ingest *in, const origin *o, const char *path,
                      FILE *out, uint64_t max, uint64_t *len, sift_hasher *h,
                      sift_err *err);
};

struct sift_ingest {
    sift_limits lim;
    input *head, *tail;
    unsigned char *inbuf; /* the memory input being processed */
    frame *top;
    int have;
    sift_item item;
    char *item_path;
    lay *item_chain;
    origin item_org;
    /* the current report item's document layer, the document's number in
     * its stream (1, 2, ...), and the stream's own path while a second
     * document is read from it (items then are "path#2", ...) */
    split_lay *item_split;
    unsigned item_doc;
    char *item_base;
    unsigned long long bytes;
    /* stdin as read so far, for sift_ingest_raw(): spooled to an unlinked
     * temporary file, so a large report on stdin costs disk, not memory
     * (src_stdin.c) */
    FILE *tee;
    uint64_t tee_len;
    int tee_over;
    /* files never yielded by a directory walk (sift_ingest_skip) */
    struct sift_ingest_skip *skips;
    size_t nskips;
};

struct sift_ingest_skip {
    unsigned long long dev, ino; /* the directory holding it */
    char *base;                  /* its file name */
};

/* The sources (one file each) and the container lookup. */
extern const src_ops sift_src_stdin, sift_src_file, sift_src_dir,
    sift_src_memory, sift_src_zip, sift_src_mbox, sift_src_msg,
    sift_src_archive, sift_src_imap;

int sift_ingest__enomem(sift_err *err);
/* errno is EMFILE or ENFILE: SIFT_ENOFD, "path: cannot open: Too many open
 * files (the limit, ulimit -n, is 7)". Ends the run: every later input
 * would fail the same way for a reason that is not its own. */
#define SIFT_FD_ERRNO(e) ((e) == EMFILE || (e) == ENFILE)
int sift_ingest__enofd(sift_err *err, const char *path);
/* base + sep + name, control characters in name shown as '?'. */
char *sift_ingest__join(const char *base, const char *sep, const char *name);

/* Make the current item. Takes ownership of path and chain. */
void sift_ingest__emit(sift_ingest *in, sift_item_kind kind, char *path,
                       lay *chain, sift_reader *r, const origin *org,
                       const sift_err *e);
void sift_ingest__emit_fail(sift_ingest *in, char *path, lay *chain,
                            const origin *org, int code, const char *msg);
/* A SIFT_ETOOBIG item: nesting over --max-depth. Returns SIFT_OK. */
int sift_ingest__depth_fail(sift_ingest *in, char *path, lay *chain,
                            const origin *org);
/* Push a frame of source ops (takes path; freed on failure). */
int sift_ingest__push(sift_ingest *in, const src_ops *ops, char *path,
                      unsigned depth, const origin *org, frame **out,
                      sift_err *err);
/* Bytes held by the frames on the stack (frame.held). Together they stay
 * under 2 x max_input_size: past it, a spool or a decoded part fails with
 * SIFT_ETOOBIG (nested containers, each under the limit, would otherwise
 * multiply it by the nesting depth). */
uint64_t sift_ingest__held(const sift_ingest *in);
/* The message for that failure: "<what> and the containers around it
 * would hold more than 2 x 8 MiB in memory (--max-input-size)". */
int sift_ingest__held_fail(sift_ingest *in, sift_err *e, const char *what);
/* Read all of r (at most max_input_size, and at most what the frames
 * leave of 2 x max_input_size) for containers that need it whole; `what`
 * names it in the too-big message. */
int sift_ingest__spool(sift_ingest *in, sift_reader *r, unsigned char **buf,
                       size_t *len, const char *what, sift_err *e);

#define U_TOP 1      /* a file or memory input, not inside a container */
#define U_INFLATED 2 /* r already yields decompressed bytes (zip entry) */

/* Sniff the bytes of r and turn them into an item or a frame. Takes
 * ownership of chain (the layers behind r) and path. file is the file to
 * reopen with random access when r is that file, uncompressed. Only
 * SIFT_ENOMEM is returned as an error; everything else becomes an item. */
int sift_ingest__open_unit(sift_ingest *in, lay *chain, sift_reader *r,
                           char *path, unsigned depth, const origin *org,
                           const char *file, int flags, sift_err *err);

/* Memory layer over p[0..len) (borrowed). NULL: out of memory. */
lay *sift_ingest__mem_new(lay **chain, const unsigned char *p, size_t len,
                          const char *name);
/* File layer over fp (closed by the layer unless is_stdin); counts bytes
 * read into in->bytes and tees stdin. NULL: out of memory (fp not
 * closed). */
lay *sift_ingest__file_lay_new(lay **chain, sift_ingest *in, FILE *fp,
                               int is_stdin, const char *name);
/* Open path for reading without ever blocking (O_NONBLOCK, then cleared):
 * a FIFO, socket or block device (and a character device unless dev_ok)
 * fails with SIFT_EFORMAT "not a regular file (a FIFO); give - to read
 * standard input". *sb is its fstat; a directory opens too. */
struct stat;
int sift_ingest__fopen(FILE **out, struct stat *sb, const char *path,
                       int dev_ok, sift_err *err);
/* Open a file (or a directory) found in a directory or given by the user;
 * takes path. */
int sift_ingest__file_open(sift_ingest *in, char *path, sift_err *err);
int sift_ingest__dir_open(sift_ingest *in, char *path, sift_err *err);
/* Parse a message in buf[0..len) and push its frame. own: buf's memory
 * when the frame is to free it, else NULL (the bytes outlive the frame);
 * freed here when no frame is made. Takes path. */
int sift_ingest__msg_start(sift_ingest *in, const unsigned char *buf,
                           size_t len, unsigned char *own, char *path,
                           unsigned depth, const origin *org, sift_err *err);
/* Fingerprint of the bytes behind o (sift_ingest_fingerprint()'s rules);
 * path is the item's or container's. */
int sift_ingest__origin_fingerprint(sift_ingest *in, const origin *o,
                                    const char *path, sift_hash128 *fp,
                                    uint64_t *len, sift_err *err);
/* Fingerprint of a file's bytes, read in full 64 KiB blocks. */
int sift_ingest__fingerprint_file(const char *path, sift_hash128 *fp,
                                  uint64_t *len, sift_err *err);
/* Append to the stdin spool (src_stdin.c). */
void sift_ingest__tee_add(sift_ingest *in, const void *buf, size_t n);

/* ---- IMAP (src_imap.c) ---- */

/* Replace the session's fetch queue (copied). */
int sift_imap__queue(sift_imap *im, const uint32_t *uids, size_t n,
                     sift_err *err);

#endif
