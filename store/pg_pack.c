/* pg_pack.c -- the PostgreSQL backend's record packs: what the report's
 * scan reads of each record (sift_scan_row), packed per run of
 * consecutive record ids of one report into one bytea.
 *
 * The scan of 5M records read row by row cost the server 5-6
 * CPU-seconds of COPY on its own (9 columns a row); read as packs it is
 * some 100,000 rows. record_packs is derived from records: the writer
 * fills both in the same transaction, reevaluate rebuilds the packs of
 * the reports it rewrites, prune drops both by month, and schema step 8
 * builds the packs of an older database. A change made to records by
 * hand (sift_store_query) is not seen by the scan until `dmarcsift
 * reevaluate --redo` rebuilds them.
 *
 * A pack holds up to SIFT_PG_PACK_MAX records with consecutive ids
 * first_id, first_id + 1, ...: the ids of one writer's id block, so the
 * id ranges of two packs never overlap and packs in first_id order are
 * records in id order. Each record is
 *
 *   a byte of four 2-bit string states (source_ip, header_from,
 *     spf_domain, dkim_domain; low bits first): 0 NULL, 1 the previous
 *     record's value, 2 a literal follows
 *   count, outcome, flags, categories: unsigned LEB128 varints
 *   the literals, in that order: a varint length, then the bytes
 *
 * Strings are valid UTF-8 (as records' text columns are: invalid bytes
 * become U+FFFD) and hold no NUL. */
#include "pg_int.h"

#include <stdlib.h>
#include <string.h>

#include "sift_json.h" /* sift_utf8_len */

enum { ST_NULL = 0, ST_SAME = 1, ST_LIT = 2 };

void
sift_pg__pack_init(sift_pg_pack *k)
{
    int i;

    memset(k, 0, sizeof(*k));
    sift_buf_init(&k->data, SIFT_PG_COPY_MAX);
    for (i = 0; i < 4; i++) {
        sift_buf_init(&k->prev[i], SIFT_PG_COPY_MAX);
        sift_buf_init(&k->tmp[i], SIFT_PG_COPY_MAX);
    }
}

void
sift_pg__pack_dispose(sift_pg_pack *k)
{
    int i;

    sift_buf_dispose(&k->data);
    for (i = 0; i < 4; i++) {
        sift_buf_dispose(&k->prev[i]);
        sift_buf_dispose(&k->tmp[i]);
    }
}

void
sift_pg__pack_reset(sift_pg_pack *k)
{
    sift_buf_reset(&k->data);
    k->n = 0;
}

static int
put_varint(sift_buf *b, uint64_t v, sift_err *err)
{
    unsigned char o[10];
    int n = 0;

    do {
        o[n] = (unsigned char)(v & 0x7f);
        v >>= 7;
        if (v)
            o[n] |= 0x80;
        n++;
    } while (v);
    return sift_buf_add(b, o, (size_t)n, err);
}

/* s as stored in a text column (invalid UTF-8 bytes as U+FFFD): s
 * itself when it is valid, else a copy in tmp. */
static int
stored_text(sift_buf *tmp, const char *s, const char **out, size_t *len,
            sift_err *err)
{
    const unsigned char *q;
    size_t n;
    int rc = SIFT_OK, bad = 0;

    for (q = (const unsigned char *)s; *q; q += n) {
        if (*q < 0x80) { /* most of every string: no call per byte */
            n = 1;
            continue;
        }
        if ((n = sift_utf8_len(q, SIZE_MAX)) == 0) {
            bad = 1;
            break;
        }
    }
    if (!bad) {
        *out = s;
        *len = (size_t)((const char *)q - s);
        return SIFT_OK;
    }
    sift_buf_reset(tmp);
    for (q = (const unsigned char *)s; *q && rc == SIFT_OK; q += n) {
        if ((n = sift_utf8_len(q, SIZE_MAX)) == 0) {
            rc = sift_buf_add(tmp, "\xef\xbf\xbd", 3, err);
            n = 1;
        } else {
            rc = sift_buf_add(tmp, q, n, err);
        }
    }
    *out = tmp->p;
    *len = tmp->len;
    return rc;
}

/* The pack as one COPY text row of record_packs (first_id, report_id,
 * date_end, n, data), appended to out; the pack is then empty. */
int
sift_pg__pack_emit(sift_pg_pack *k, sift_buf *out, sift_err *err)
{
    static const char hex[] = "0123456789abcdef";
    char chunk[512];
    size_t i, o = 0;
    int rc;

    if (k->n == 0)
        return SIFT_OK;
    rc = sift_buf_addf(out, err, "%lld\t%lld\t%lld\t%u\t\\\\x",
                       (long long)k->first, (long long)k->report,
                       (long long)k->end, k->n);
    for (i = 0; i < k->data.len && rc == SIFT_OK; i++) {
        unsigned char c = (unsigned char)k->data.p[i];
        chunk[o++] = hex[c >> 4];
        chunk[o++] = hex[c & 15];
        if (o == sizeof(chunk)) {
            rc = sift_buf_add(out, chunk, o, err);
            o = 0;
        }
    }
    if (rc == SIFT_OK && o > 0)
        rc = sift_buf_add(out, chunk, o, err);
    if (rc == SIFT_OK)
        rc = sift_buf_add(out, "\n", 1, err);
    sift_pg__pack_reset(k);
    return rc;
}

int
sift_pg__pack_add(sift_pg_pack *k, sift_buf *out, int64_t date_end,
                  const sift_scan_row *r, sift_err *err)
{
    const char *s[4], *v[4] = {NULL, NULL, NULL, NULL};
    size_t len[4] = {0, 0, 0, 0};
    unsigned char h = 0;
    int i, rc;

    if (k->n > 0 &&
        (r->id != k->first + (int64_t)k->n || r->report != k->report ||
         date_end != k->end || k->n >= SIFT_PG_PACK_MAX)) {
        if ((rc = sift_pg__pack_emit(k, out, err)) != SIFT_OK)
            return rc;
    }
    if (k->n == 0) {
        k->first = r->id;
        k->report = r->report;
        k->end = date_end;
        for (i = 0; i < 4; i++)
            k->has[i] = 0;
    }
    s[0] = r->source_ip;
    s[1] = r->header_from;
    s[2] = r->spf_domain;
    s[3] = r->dkim_domain;
    /* the string states, compared as stored (after U+FFFD), as a rebuild
     * from the records compares them */
    for (i = 0; i < 4; i++) {
        int st = ST_NULL;
        if (s[i] != NULL) {
            if ((rc = stored_text(&k->tmp[i], s[i], &v[i], &len[i], err)) !=
                SIFT_OK)
                return rc;
            st =
                k->has[i] && len[i] == k->prev[i].len &&
                        (len[i] == 0 || memcmp(k->prev[i].p, v[i], len[i]) == 0)
                    ? ST_SAME
                    : ST_LIT;
        }
        h |= (unsigned char)(st << (2 * i));
    }
    if ((rc = sift_buf_add(&k->data, &h, 1, err)) != SIFT_OK ||
        (rc = put_varint(&k->data, r->count, err)) != SIFT_OK ||
        (rc = put_varint(&k->data, (uint32_t)r->outcome, err)) != SIFT_OK ||
        (rc = put_varint(&k->data, r->flags, err)) != SIFT_OK ||
        (rc = put_varint(&k->data, r->categories, err)) != SIFT_OK)
        return rc;
    for (i = 0; i < 4; i++) {
        int st = h >> (2 * i) & 3;
        if (st == ST_LIT) {
            if ((rc = put_varint(&k->data, len[i], err)) != SIFT_OK ||
                (rc = sift_buf_add(&k->data, v[i], len[i], err)) != SIFT_OK)
                return rc;
            /* this record's value, for the next one to refer to */
            sift_buf_reset(&k->prev[i]);
            if ((rc = sift_buf_add(&k->prev[i], v[i], len[i], err)) != SIFT_OK)
                return rc;
        }
        k->has[i] = st != ST_NULL;
    }
    k->n++;
    return SIFT_OK;
}

/* --- decoding ------------------------------------------------------------- */

static int
get_varint(const unsigned char **p, const unsigned char *end, uint64_t *v)
{
    uint64_t x = 0;
    int shift = 0;

    while (*p < end && shift < 64) {
        unsigned char c = *(*p)++;
        x |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            *v = x;
            return 0;
        }
        shift += 7;
    }
    return -1;
}

int
sift_pg__pack_decode(const unsigned char *p, size_t len, int64_t first,
                     int64_t report, int64_t n, sift_buf *scratch,
                     sift_scan_cb cb, void *payload, int *stop)
{
    const unsigned char *end = p + len;
    const char *cur[4] = {NULL, NULL, NULL, NULL};
    char *o;
    int64_t i;
    int k;

    *stop = 0;
    if (n <= 0 || (uint64_t)n > len)
        return -1;
    /* every literal with its NUL: at most twice the pack's bytes */
    if (scratch->cap < len * 2 + 1) {
        char *np = realloc(scratch->p, len * 2 + 1);
        if (np == NULL)
            return -2;
        scratch->p = np;
        scratch->cap = len * 2 + 1;
    }
    o = scratch->p;
    for (i = 0; i < n; i++) {
        sift_scan_row row;
        uint64_t count, outcome, flags, cats;
        unsigned char h;

        if (p >= end)
            return -1;
        h = *p++;
        if (get_varint(&p, end, &count) < 0 ||
            get_varint(&p, end, &outcome) < 0 ||
            get_varint(&p, end, &flags) < 0 || get_varint(&p, end, &cats) < 0)
            return -1;
        for (k = 0; k < 4; k++) {
            int st = h >> (2 * k) & 3;
            uint64_t sl;
            if (st == ST_NULL) {
                cur[k] = NULL;
            } else if (st == ST_SAME) {
                if (cur[k] == NULL)
                    return -1;
            } else if (st == ST_LIT) {
                if (get_varint(&p, end, &sl) < 0 || sl > (uint64_t)(end - p) ||
                    memchr(p, '\0', (size_t)sl) != NULL)
                    return -1;
                memcpy(o, p, (size_t)sl);
                o[sl] = '\0';
                cur[k] = o;
                o += sl + 1;
                p += sl;
            } else {
                return -1;
            }
        }
        memset(&row, 0, sizeof(row));
        row.id = first + i;
        row.report = report;
        row.source_ip = cur[0];
        row.header_from = cur[1];
        row.spf_domain = cur[2];
        row.dkim_domain = cur[3];
        row.count = count;
        row.outcome = (int)(uint32_t)outcome;
        row.flags = (uint32_t)flags;
        row.categories = (uint32_t)cats;
        if ((*stop = cb(payload, &row)) != 0)
            return 0;
    }
    return p == end ? 0 : -1;
}

/* --- rebuilding ----------------------------------------------------------- */

#define REPACK_PAGE 20000 /* records read per statement */
#define REPACK_COLS                                                            \
    "SELECT id, report_id, date_end, source_ip, count, outcome, flags,"        \
    " categories, header_from, spf_domain, dkim_domain FROM records"

int
sift_pg__repack(sift_pg *pg, const char *ids, sift_err *err)
{
    static const char q_some[] =
        REPACK_COLS " WHERE report_id = ANY ($1::bigint[]) AND id > $2"
                    " ORDER BY id LIMIT $3";
    static const char q_all[] = REPACK_COLS " WHERE id > $1 ORDER BY id"
                                            " LIMIT $2";
    static const char copy[] =
        "COPY record_packs (first_id, report_id, date_end, n, data) FROM STDIN";
    sift_pg_pack k;
    sift_buf out;
    PGresult *r = NULL;
    int64_t after = 0;
    int rc = SIFT_OK, got, i;
    pp p;

    if (ids != NULL) {
        sift_pg__pp_init(&p);
        sift_pg__p_text(&p, ids);
        rc = sift_pg__exec(pg, NULL,
                           "DELETE FROM record_packs"
                           " WHERE report_id = ANY ($1::bigint[])",
                           &p, err, "record packs");
        sift_pg__pp_free(&p);
        if (rc != SIFT_OK)
            return rc;
    }
    sift_pg__pack_init(&k);
    sift_buf_init(&out, SIFT_PG_COPY_MAX);
    do {
        sift_pg__pp_init(&p);
        if (ids != NULL)
            sift_pg__p_text(&p, ids);
        sift_pg__p_int(&p, after);
        sift_pg__p_int(&p, REPACK_PAGE);
        rc = sift_pg__exec(pg, &r, ids != NULL ? q_some : q_all, &p, err,
                           "record packs");
        sift_pg__pp_free(&p);
        if (rc != SIFT_OK)
            break;
        got = PQntuples(r);
        for (i = 0; i < got && rc == SIFT_OK; i++) {
            sift_scan_row row;

            memset(&row, 0, sizeof(row));
            row.id = sift_pg__int(r, i, 0);
            row.report = sift_pg__int(r, i, 1);
            row.source_ip = sift_pg__val(r, i, 3);
            row.count = (uint64_t)sift_pg__int(r, i, 4);
            row.outcome = (int)sift_pg__int(r, i, 5);
            row.flags = (uint32_t)sift_pg__int(r, i, 6);
            row.categories = (uint32_t)sift_pg__int(r, i, 7);
            row.header_from = sift_pg__val(r, i, 8);
            row.spf_domain = sift_pg__val(r, i, 9);
            row.dkim_domain = sift_pg__val(r, i, 10);
            after = row.id;
            rc = sift_pg__pack_add(&k, &out, sift_pg__int(r, i, 2), &row, err);
        }
        PQclear(r);
        r = NULL;
        if (rc == SIFT_OK && out.len >= SIFT_PG_COPY_FLUSH) {
            rc = sift_pg__copy_in(pg, copy, &out, err);
            sift_buf_reset(&out);
        }
    } while (rc == SIFT_OK && got == REPACK_PAGE);
    if (rc == SIFT_OK)
        rc = sift_pg__pack_emit(&k, &out, err);
    if (rc == SIFT_OK && out.len > 0)
        rc = sift_pg__copy_in(pg, copy, &out, err);
    sift_buf_dispose(&out);
    sift_pg__pack_dispose(&k);
    return rc;
}
