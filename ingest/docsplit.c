/* docsplit.c -- the document layer: ends a report's byte stream where its
 * root element ends and a second document begins, so that two reports in
 * one stream (two.xml, or two gzip members holding one each) are read as
 * two items instead of the second being dropped as "Extra content".
 *
 * A light scan, not a parser: start and end tags are counted (quotes in
 * attributes honoured), comments, CDATA sections and processing
 * instructions skipped, and the stream is cut before a '<' that opens an
 * element or an XML declaration after the root element closed (matched by
 * name). Whitespace, comments, PIs and junk after the root stay with the
 * document before them, so a single report reads exactly as it did. Bytes
 * are scanned with memchr between tags; only tag bytes are looked at one
 * by one. Used for ASCII-compatible encodings only (ingest.c decides). */
#include "ingest_int.h"

#include <stdlib.h>
#include <string.h>

enum {
    S_TEXT = 0, /* between tags */
    S_TAG,      /* inside a start or end tag, after its name */
    S_NAME,     /* reading the tag's name */
    S_COMMENT,  /* inside <!-- --> */
    S_CDATA,    /* inside <![CDATA[ ]]> */
    S_PI        /* inside <? ?> or another <! declaration */
};

#define LOOK 9 /* bytes after '<' needed to tell "<![CDATA[" */
#define DRAIN_MAX (1u << 20)

struct split_lay {
    lay l;
    sift_reader *in;
    unsigned char buf[65536];
    size_t len, dpos, spos; /* delivered <= scanned <= len */
    int eof, cut;           /* cut: this document ends at spos */
    int touched;            /* read at least once (this document) */
    int state, endtag, quote, slash;
    unsigned depth;
    int root_open, root_done;
    char root[64], name[64];
    size_t rlen, nlen;
};

static int
name_start(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
           c == ':' || c >= 0x80;
}

static int
name_char(unsigned char c)
{
    return name_start(c) || (c >= '0' && c <= '9') || c == '-' || c == '.';
}

/* The first `end` (el bytes, ending in '>') in p[0..n), or NULL. */
static const unsigned char *
find_end(const unsigned char *p, size_t n, const char *end, size_t el)
{
    size_t i = el - 1;

    while (i < n) {
        const unsigned char *gt = memchr(p + i, '>', n - i);
        if (gt == NULL)
            return NULL;
        i = (size_t)(gt - p);
        if (memcmp(p + i - (el - 1), end, el) == 0)
            return p + i - (el - 1);
        i++;
    }
    return NULL;
}

/* A tag ended (at '>'). */
static void
tag_end(split_lay *s)
{
    if (s->endtag) {
        if (s->depth > 0)
            s->depth--;
        /* only the root's own end tag ends the document: a stray end tag
         * in a malformed report does not */
        if (s->depth == 0 && s->root_open) {
            if (s->nlen == s->rlen && memcmp(s->name, s->root, s->nlen) == 0)
                s->root_done = 1;
            else
                s->depth = 1;
        }
    } else if (!s->slash) {
        if (s->depth == 0 && !s->root_open) {
            memcpy(s->root, s->name, s->nlen);
            s->rlen = s->nlen;
            s->root_open = 1;
        }
        s->depth++;
    } else if (s->depth == 0 && !s->root_open) {
        s->root_open = s->root_done = 1; /* <feedback/> */
    }
    s->state = S_TEXT;
}

/* Scan from spos. Returns 1 when more bytes are needed first. */
static int
scan(split_lay *s)
{
    const unsigned char *b = s->buf;

    while (s->spos < s->len && !s->cut) {
        size_t p = s->spos, avail = s->len - p;
        const unsigned char *q;
        unsigned char c;

        switch (s->state) {
        case S_TEXT:
            if ((q = memchr(b + p, '<', avail)) == NULL) {
                s->spos = s->len;
                break;
            }
            p = (size_t)(q - b);
            s->spos = p;
            avail = s->len - p;
            if (avail < LOOK && !s->eof)
                return 1;
            if (avail >= 4 && memcmp(b + p, "<!--", 4) == 0) {
                s->state = S_COMMENT;
                s->spos = p + 4;
            } else if (avail >= 9 && memcmp(b + p, "<![CDATA[", 9) == 0) {
                s->state = S_CDATA;
                s->spos = p + 9;
            } else if (avail >= 2 && (b[p + 1] == '?' || b[p + 1] == '!')) {
                if (s->root_done && avail >= 6 &&
                    memcmp(b + p, "<?xml", 5) == 0 &&
                    (b[p + 5] == ' ' || b[p + 5] == '\t' || b[p + 5] == '\r' ||
                     b[p + 5] == '\n')) {
                    s->cut = 1; /* the next document's declaration */
                    return 0;
                }
                s->state = S_PI;
                s->spos = p + 2;
            } else if (avail >= 2 &&
                       (b[p + 1] == '/' || name_start(b[p + 1]))) {
                if (s->root_done && b[p + 1] != '/') {
                    s->cut = 1; /* the next document's root element */
                    return 0;
                }
                s->endtag = b[p + 1] == '/';
                s->quote = s->slash = 0;
                s->nlen = 0;
                /* names matter only for the root's start and end tags */
                s->state = (s->endtag ? s->depth == 1 : s->depth == 0) ? S_NAME
                                                                       : S_TAG;
                s->spos = p + 1 + (size_t)s->endtag;
            } else {
                s->spos = p + 1; /* a stray '<': malformed, not ours */
            }
            break;
        case S_NAME:
            c = b[p];
            if (name_char(c)) {
                if (s->nlen < sizeof(s->name))
                    s->name[s->nlen++] = (char)c;
                s->spos = p + 1;
                break;
            }
            s->state = S_TAG;
            break;
        case S_TAG:
            /* fast path: no quote before the next '>' (one pass: a
             * report's tags are a few bytes, shorter than three memchr
             * calls cost) */
            q = b + p;
            if (!s->quote)
                while (q < b + s->len && *q != '>' && *q != '"' && *q != '\'')
                    q++;
            if (!s->quote && q < b + s->len && *q == '>') {
                const unsigned char *t = q;
                while (t > b + p && (t[-1] == ' ' || t[-1] == '\t' ||
                                     t[-1] == '\r' || t[-1] == '\n'))
                    t--;
                if (t > b + p)
                    s->slash = t[-1] == '/';
                s->spos = (size_t)(q - b) + 1;
                tag_end(s);
                break;
            }
            for (; p < s->len; p++) {
                c = b[p];
                if (s->quote) {
                    if (c == s->quote)
                        s->quote = 0;
                } else if (c == '"' || c == '\'') {
                    s->quote = c;
                } else if (c == '>') {
                    s->spos = p + 1;
                    tag_end(s);
                    break;
                } else if (c != ' ' && c != '\t' && c != '\r' && c != '\n') {
                    s->slash = c == '/';
                }
            }
            if (p == s->len)
                s->spos = s->len;
            break;
        case S_COMMENT:
        case S_CDATA:
        case S_PI: {
            const char *end = s->state == S_COMMENT ? "-->"
                              : s->state == S_CDATA ? "]]>"
                                                    : ">";
            size_t el = strlen(end);
            q = find_end(b + p, avail, end, el);
            if (q != NULL) {
                s->spos = (size_t)(q - b) + el;
                s->state = S_TEXT;
            } else if (s->eof) {
                s->spos = s->len; /* unterminated: malformed, not ours */
            } else {
                /* the end marker may straddle the refill */
                s->spos = avail >= el ? s->len - (el - 1) : p;
                if (s->spos < p)
                    s->spos = p;
                return 1;
            }
            break;
        }
        }
    }
    return 0;
}

static int
split_read(void *ctx, void *buf, size_t len, size_t *nread, sift_err *err)
{
    split_lay *s = ctx;
    size_t got, n;
    int rc;

    *nread = 0;
    s->touched = 1;
    while (s->dpos == s->spos) {
        int more;
        if (s->cut)
            return SIFT_OK; /* the end of this document */
        more = s->spos < s->len ? scan(s) : !s->eof;
        if (s->dpos < s->spos || s->cut)
            continue;
        if (!more && s->spos == s->len && s->eof)
            return SIFT_OK;
        if (!more && s->spos < s->len)
            continue;
        /* need bytes: keep [dpos, len), read more behind them */
        if (s->dpos > 0) {
            memmove(s->buf, s->buf + s->dpos, s->len - s->dpos);
            s->len -= s->dpos;
            s->spos -= s->dpos;
            s->dpos = 0;
        }
        if (s->eof)
            return SIFT_OK; /* cannot happen: scan() asks only before eof */
        rc = sift_reader_read(s->in, s->buf + s->len, sizeof(s->buf) - s->len,
                              &got, err);
        if (rc != SIFT_OK)
            return rc;
        if (got == 0)
            s->eof = 1;
        s->len += got;
    }
    n = s->spos - s->dpos;
    if (n > len)
        n = len;
    memcpy(buf, s->buf + s->dpos, n);
    s->dpos += n;
    *nread = n;
    return SIFT_OK;
}

split_lay *
sift_ingest__split_new(lay **chain, sift_reader *in, const char *name)
{
    split_lay *s = calloc(1, sizeof(*s));

    if (s == NULL)
        return NULL;
    s->l.r.name = name;
    s->l.r.read = split_read;
    s->l.r.ctx = s;
    s->l.chain = *chain;
    *chain = &s->l;
    s->in = in;
    return s;
}

sift_reader *
sift_ingest__split_reader(split_lay *s)
{
    return &s->l.r;
}

int
sift_ingest__split_cut(const split_lay *s)
{
    return s->cut;
}

int
sift_ingest__split_more(split_lay *s)
{
    unsigned char tmp[4096];
    size_t n, drained = 0;
    sift_err e;

    /* a document read only in part (not a report, or malformed) is read
     * on for up to DRAIN_MAX bytes to find its end, so a next one is not
     * lost; past that (a bomb of blanks after a failed report) the rest
     * is left: that document failed, and its kept bytes are the whole
     * stream's. One never read at all (skipped by its fingerprint)
     * leaves the rest unread too. */
    if (!s->touched)
        return 0;
    sift_err_clear(&e);
    do {
        if (split_read(s, tmp, sizeof(tmp), &n, &e) != SIFT_OK ||
            (drained += n) > DRAIN_MAX)
            return 0;
    } while (n > 0);
    return s->cut && s->dpos == s->spos;
}

void
sift_ingest__split_next(split_lay *s, const char *name)
{
    s->cut = s->touched = 0;
    s->state = S_TEXT;
    s->endtag = s->quote = s->slash = 0;
    s->depth = 0;
    s->root_open = s->root_done = 0;
    s->rlen = s->nlen = 0;
    s->l.r.name = name;
}
