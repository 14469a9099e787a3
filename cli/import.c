/* import.c -- inputs -> reports -> database; see sift_import.h.
 *
 * Two threads, one pipeline. A producer thread walks the inputs (ingest/),
 * parses each report (xml/) and evaluates its records (report/); it sends
 * what it found as messages through a bounded queue. The calling thread is
 * the only one that writes to the store and calls the callback. Parsing and
 * SQLite inserts each take about half of an ingest, so on two cores they
 * overlap (docs/performance.md).
 *
 * Memory stays bounded: a report travels as BEGIN, RECORDS chunks of at
 * most CHUNK_RECORDS records, END; the queue holds at most QUEUE_MAX
 * messages and QUEUE_BYTES of their memory. A re-ingest stays cheap:
 * the producer asks about the input's raw-bytes fingerprint (seen_inputs)
 * through its own read-only connection and skips bytes stored before
 * having read only their header; else it asks about the report's
 * identity and only drains a stored report (to compare content hashes)
 * instead of sending its records. It does not wait for the answers (a
 * server across a network takes a round trip): see produce_report(). The
 * writer still decides: a report stored earlier in this run, or by
 * another process, is caught by sift_store_begin(), and it remembers each
 * input's fingerprint with the outcome.
 *
 * Invariant: a report is either stored with all its records (commit) or
 * not at all (rollback); a report that fails half way becomes a failed
 * input with its raw bytes, so nothing is lost. */
#include "sift_import.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sift_xml.h"

#define CHUNK_RECORDS 256
/* producer.seen_avg, .known_avg: 1/8 of it is the latest input's */
#define SEEN_ONE 256u
/* A server is asked about an input only while known_avg is at least
 * this (about 1 in 16 of the latest answers said seen or stored), and
 * about every ASK_SAMPLE-th input regardless: see ask_now(). */
#define KNOWN_LOW (SEEN_ONE / 16)
#define ASK_SAMPLE 16
/* The queue holds at most QUEUE_MAX messages and QUEUE_BYTES of them
 * (but always one): enough for the producer to go on parsing while the
 * writer waits for a batch to commit (a PostgreSQL server's COPY of a
 * batch takes a few hundred ms; 64 messages, some 16 reports, stalled
 * the producer for most of it: 100,000 records into PostgreSQL 2.9-3.4 s
 * -> 1.9-2.6 s). 16 MiB keeps row d (one report of 1M records) at 55 MB
 * of peak RSS, under its 64 MB (docs/performance.md). */
#define QUEUE_MAX 4096
#define QUEUE_BYTES (16u << 20)
#define RECS_FIRST 16 /* records a message has room for at first */
/* The consumer is woken once WAKE_AT messages wait (or at the end), and
 * otherwise looks every WAIT_MS: a wake-up per message cost a quarter of
 * a re-ingest in futex calls and context switches. */
#define WAKE_AT 4
#define WAIT_MS 5
#define BLOCK_MIN 16384
#define BLOCK_FIRST 1024

/* A database failure ends the run; any other failure ends only the unit. */
static int
fatal(int rc)
{
    return rc == SIFT_EDB || rc == SIFT_ENOMEM || rc == SIFT_ENOFD;
}

/* --- messages ----------------------------------------------------------- */

typedef enum msg_kind {
    M_BEGIN,   /* a new report: meta, path */
    M_RECORDS, /* records of the open report, with their verdicts */
    M_END,     /* the open report is complete: final meta, content hash */
    M_ABORT,   /* the open report failed half way: why, raw */
    M_UNIT,    /* any other outcome: kind, path, why, raw, meta, hash */
    M_FATAL,   /* the producer hit a fatal error: err */
    M_UNITEND, /* every item of the unit `path` was sent (settled cb) */
    M_DONE     /* no more inputs */
} msg_kind;

/* Copies live in a chain of blocks owned by the message. */
typedef struct block {
    struct block *next;
    size_t used, cap;
    max_align_t data[];
} block;

/* A failed unit's bytes, kept for retry-failed: copied to a temporary
 * file (up to --max-keep-size) that the writer streams into the database.
 * spool NULL: kept without its bytes; len is then its size when known. */
typedef struct kept {
    FILE *spool; /* tmpfile(), or NULL */
    uint64_t len;
    sift_hash128 hash;
} kept;

typedef struct msg {
    struct msg *next;
    msg_kind kind;
    block *mem;
    char *path;
    sift_outcome_kind outcome; /* M_UNIT */
    sift_err why;              /* M_ABORT, M_UNIT failed; M_FATAL error */
    int rc;                    /* M_FATAL */
    kept raw;                  /* a failed unit's bytes */
    sift_report_meta meta; /* M_BEGIN, M_END, M_UNIT conflict */
    sift_hash128 hash;     /* M_END, M_UNIT conflict/adopt, M_ABORT */
    int hash_ok;           /* M_ABORT: hash covers every byte */
    int adopt;             /* M_UNIT duplicate of a report whose hash is unknown
                              (schema 1): store this copy's hash for it */
    /* M_BEGIN, M_UNIT: the input's raw-bytes fingerprint, to remember it
     * once the outcome is known (have_fp), or the outcome came from it
     * (seen: nothing to write) */
    int have_fp, seen;
    sift_hash128 fp;
    uint64_t fp_len;
    sift_record *recs; /* M_RECORDS */
    sift_verdict *verdicts;
    size_t n, cap; /* records, and room for them (up to CHUNK_RECORDS) */
    size_t bytes;  /* its memory, counted while it is queued */
} msg;

static void *
msg_alloc(msg *m, size_t n)
{
    block *b = m->mem;
    size_t a = sizeof(max_align_t);

    n = (n + a - 1) / a * a;
    if (b == NULL || b->cap - b->used < n) {
        /* a small first block: most messages carry a few strings */
        size_t min = b == NULL ? BLOCK_FIRST : BLOCK_MIN;
        size_t cap = n > min ? n : min;
        if ((b = malloc(sizeof(*b) + cap)) == NULL)
            return NULL;
        b->next = m->mem;
        b->used = 0;
        b->cap = cap;
        m->mem = b;
    }
    b->used += n;
    return (char *)b->data + b->used - n;
}

/* Copy a string into the message; *ok = 0 when memory runs out. */
static const char *
msg_str(msg *m, const char *s, int *ok)
{
    size_t n;
    char *p;

    if (s == NULL)
        return NULL;
    n = strlen(s) + 1;
    if ((p = msg_alloc(m, n)) == NULL) {
        *ok = 0;
        return NULL;
    }
    memcpy(p, s, n);
    return p;
}

static const char *const *
msg_strv(msg *m, const char *const *v, size_t n, int *ok)
{
    const char **out;
    size_t i;

    if (n == 0)
        return NULL;
    if ((out = msg_alloc(m, n * sizeof(*out))) == NULL) {
        *ok = 0;
        return NULL;
    }
    for (i = 0; i < n; i++)
        out[i] = msg_str(m, v[i], ok);
    return out;
}

static int
msg_meta(msg *m, const sift_report_meta *s)
{
    sift_report_meta *d = &m->meta;
    int ok = 1;

    *d = *s;
    d->version = msg_str(m, s->version, &ok);
    d->namespace = msg_str(m, s->namespace, &ok);
    d->org_name = msg_str(m, s->org_name, &ok);
    d->email = msg_str(m, s->email, &ok);
    d->extra_contact_info = msg_str(m, s->extra_contact_info, &ok);
    d->report_id = msg_str(m, s->report_id, &ok);
    d->errors = msg_strv(m, s->errors, s->n_errors, &ok);
    d->generator = msg_str(m, s->generator, &ok);
    d->domain = msg_str(m, s->domain, &ok);
    d->adkim = msg_str(m, s->adkim, &ok);
    d->aspf = msg_str(m, s->aspf, &ok);
    d->p = msg_str(m, s->p, &ok);
    d->sp = msg_str(m, s->sp, &ok);
    d->np = msg_str(m, s->np, &ok);
    d->fo = msg_str(m, s->fo, &ok);
    d->testing = msg_str(m, s->testing, &ok);
    d->discovery_method = msg_str(m, s->discovery_method, &ok);
    d->warnings = msg_strv(m, s->warnings, s->n_warnings, &ok);
    return ok ? SIFT_OK : SIFT_ENOMEM;
}

/* Append a deep copy of rec and v to an M_RECORDS message. */
static int
msg_record(msg *m, const sift_record *s, const sift_verdict *v)
{
    sift_record *d;
    sift_verdict *dv;

    if (m->n >= CHUNK_RECORDS) /* the caller sends it on at CHUNK_RECORDS */
        return SIFT_EUSAGE;
    if (m->n == m->cap) { /* room doubles: most reports are small */
        size_t cap = m->cap * 2 > CHUNK_RECORDS ? CHUNK_RECORDS : m->cap * 2;
        sift_record *r = realloc(m->recs, cap * sizeof(*r));
        sift_verdict *vv;
        if (r == NULL)
            return SIFT_ENOMEM;
        m->recs = r;
        if ((vv = realloc(m->verdicts, cap * sizeof(*vv))) == NULL)
            return SIFT_ENOMEM;
        m->verdicts = vv;
        m->cap = cap;
    }
    d = &m->recs[m->n];
    dv = &m->verdicts[m->n];
    sift_reason *rs = NULL;
    sift_dkim_result *dk = NULL;
    sift_spf_result *sp = NULL;
    size_t i;
    int ok = 1;

    *d = *s;
    *dv = *v;
    d->source_ip = msg_str(m, s->source_ip, &ok);
    d->disposition = msg_str(m, s->disposition, &ok);
    d->dkim = msg_str(m, s->dkim, &ok);
    d->spf = msg_str(m, s->spf, &ok);
    d->header_from = msg_str(m, s->header_from, &ok);
    d->envelope_from = msg_str(m, s->envelope_from, &ok);
    d->envelope_to = msg_str(m, s->envelope_to, &ok);
    if (s->n_reasons > 0 &&
        (rs = msg_alloc(m, s->n_reasons * sizeof(*rs))) == NULL)
        return SIFT_ENOMEM;
    for (i = 0; i < s->n_reasons; i++) {
        rs[i].type = msg_str(m, s->reasons[i].type, &ok);
        rs[i].comment = msg_str(m, s->reasons[i].comment, &ok);
    }
    if (s->n_dkim > 0 && (dk = msg_alloc(m, s->n_dkim * sizeof(*dk))) == NULL)
        return SIFT_ENOMEM;
    for (i = 0; i < s->n_dkim; i++) {
        dk[i].domain = msg_str(m, s->dkim_results[i].domain, &ok);
        dk[i].selector = msg_str(m, s->dkim_results[i].selector, &ok);
        dk[i].result = msg_str(m, s->dkim_results[i].result, &ok);
        dk[i].human_result = msg_str(m, s->dkim_results[i].human_result, &ok);
    }
    if (s->n_spf > 0 && (sp = msg_alloc(m, s->n_spf * sizeof(*sp))) == NULL)
        return SIFT_ENOMEM;
    for (i = 0; i < s->n_spf; i++) {
        sp[i].domain = msg_str(m, s->spf_results[i].domain, &ok);
        sp[i].scope = msg_str(m, s->spf_results[i].scope, &ok);
        sp[i].result = msg_str(m, s->spf_results[i].result, &ok);
        sp[i].human_result = msg_str(m, s->spf_results[i].human_result, &ok);
    }
    d->reasons = rs;
    d->dkim_results = dk;
    d->spf_results = sp;
    /* the verdict's domains are borrowed from the record: copy them too */
    dv->spf_domain = msg_str(m, v->spf_domain, &ok);
    dv->dkim_domain = msg_str(m, v->dkim_domain, &ok);
    if (!ok)
        return SIFT_ENOMEM;
    m->n++;
    return SIFT_OK;
}

static void
msg_free(msg *m)
{
    block *b, *next;

    if (m == NULL)
        return;
    for (b = m->mem; b != NULL; b = next) {
        next = b->next;
        free(b);
    }
    free(m->path);
    if (m->raw.spool != NULL)
        fclose(m->raw.spool);
    free(m->recs);
    free(m->verdicts);
    free(m);
}

static msg *
msg_new(msg_kind kind, const char *path)
{
    msg *m = calloc(1, sizeof(*m));

    if (m == NULL)
        return NULL;
    m->kind = kind;
    sift_err_clear(&m->why);
    if (path != NULL && (m->path = strdup(path)) == NULL) {
        free(m);
        return NULL;
    }
    if (kind == M_RECORDS &&
        ((m->recs = malloc(RECS_FIRST * sizeof(*m->recs))) == NULL ||
         (m->verdicts = malloc(RECS_FIRST * sizeof(*m->verdicts))) == NULL)) {
        msg_free(m);
        return NULL;
    }
    if (kind == M_RECORDS)
        m->cap = RECS_FIRST;
    return m;
}

/* --- the queue ---------------------------------------------------------- */

typedef struct queue {
    pthread_mutex_t mu;
    pthread_cond_t can_put, can_get;
    msg *head, *tail;
    size_t n, bytes; /* messages queued, and their memory */
    int stop; /* the consumer gave up: the producer must finish */
    int done; /* the producer has returned: nothing more will come */
} queue;

/* Hand m over (the queue owns it from here, even on failure). Returns 0,
 * or -1 when the consumer has stopped. */
static int
put(queue *q, msg *m)
{
    block *b;

    m->bytes = sizeof(*m);
    for (b = m->mem; b != NULL; b = b->next)
        m->bytes += sizeof(*b) + b->cap;
    if (m->recs != NULL)
        m->bytes += m->cap * (sizeof(*m->recs) + sizeof(*m->verdicts));
    if (m->raw.spool != NULL) /* an open file: at most 64 of them queued */
        m->bytes += QUEUE_BYTES / 64;
    pthread_mutex_lock(&q->mu);
    while ((q->n >= QUEUE_MAX || (q->n > 0 && q->bytes >= QUEUE_BYTES)) &&
           !q->stop)
        pthread_cond_wait(&q->can_put, &q->mu);
    if (q->stop) {
        pthread_mutex_unlock(&q->mu);
        msg_free(m);
        return -1;
    }
    if (q->tail)
        q->tail->next = m;
    else
        q->head = m;
    q->tail = m;
    q->n++;
    q->bytes += m->bytes;
    if (q->n >= WAKE_AT || m->kind == M_DONE || m->kind == M_FATAL)
        pthread_cond_signal(&q->can_get);
    pthread_mutex_unlock(&q->mu);
    return 0;
}

/* The next message, or NULL when the producer ended without M_DONE or
 * M_FATAL (it could not even allocate one). */
static msg *
get(queue *q)
{
    msg *m;

    pthread_mutex_lock(&q->mu);
    while (q->head == NULL && !q->done) {
        struct timespec t;
        clock_gettime(CLOCK_REALTIME, &t);
        t.tv_nsec += WAIT_MS * 1000000L;
        if (t.tv_nsec >= 1000000000L) {
            t.tv_sec++;
            t.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&q->can_get, &q->mu, &t);
    }
    if ((m = q->head) == NULL) {
        pthread_mutex_unlock(&q->mu);
        return NULL;
    }
    q->head = m->next;
    if (q->head == NULL)
        q->tail = NULL;
    q->n--;
    q->bytes -= m->bytes;
    pthread_cond_signal(&q->can_put);
    pthread_mutex_unlock(&q->mu);
    m->next = NULL;
    return m;
}

/* --- the producer ------------------------------------------------------- */

typedef struct producer {
    queue q;
    sift_ingest *in;
    /* the current report input's fingerprint (sift_ingest_fingerprint) */
    int have_fp;
    sift_hash128 fp;
    uint64_t fp_len;
    sift_store *reader; /* read-only handle for identity lookups, or NULL */
    /* how many of the latest inputs were seen before, as a moving
     * average (SEEN_ONE: all of them): see produce_report() */
    unsigned seen_avg;
    /* the same of the answers that said seen or stored (SEEN_ONE at
     * first: a run asks until it knows better), and the inputs not asked
     * about since the last one that was */
    unsigned known_avg, unasked;
    sift_eval *ev;
    const sift_limits *lim;
    int keep_failed;
    int units;  /* send M_UNITEND */
    char *unit; /* the unit of the items being sent */
} producer;

/* Send a fatal error; the producer then ends. */
static int
send_fatal(producer *p, int rc, const sift_err *err)
{
    msg *m = msg_new(M_FATAL, NULL);

    if (m == NULL)
        return -1; /* the consumer sees the queue end without M_DONE */
    m->rc = rc;
    if (err != NULL)
        m->why = *err;
    if (rc == SIFT_ENOMEM && m->why.msg[0] == '\0')
        sift_err_set(&m->why, SIFT_ENOMEM, "out of memory");
    put(&p->q, m);
    return -1;
}

/* The bytes of the failed current item, for retry-failed, spooled to a
 * temporary file up to --max-keep-size (one path for every size: a file
 * over --max-input-size is read once, never into memory). Past it, or on
 * an error, it is kept without them. */
static void
keep_raw(producer *p, kept *k)
{
    sift_err e;

    if ((k->spool = tmpfile()) == NULL)
        return;
    if (sift_ingest_raw_spool(p->in, k->spool, &k->len, &k->hash, &e) !=
        SIFT_OK) {
        fclose(k->spool);
        k->spool = NULL; /* k->len: its size, when known */
    }
}

/* Send a unit outcome. For SIFT_FAILED, why says why and the raw bytes
 * are attached when they are to be kept. */
static int
send_unit(producer *p, sift_outcome_kind kind, const char *path,
          const sift_err *why, const sift_report_meta *meta, sift_hash128 hash)
{
    msg *m = msg_new(M_UNIT, path);

    if (m == NULL || (meta != NULL && msg_meta(m, meta) != SIFT_OK)) {
        msg_free(m);
        return send_fatal(p, SIFT_ENOMEM, NULL);
    }
    m->outcome = kind;
    m->hash = hash;
    m->have_fp = p->have_fp;
    m->fp = p->fp;
    m->fp_len = p->fp_len;
    if (why != NULL)
        m->why = *why;
    if (kind == SIFT_FAILED && p->keep_failed)
        keep_raw(p, &m->raw);
    return put(&p->q, m);
}

static const sift_hash128 no_hash;

/* The input's fingerprint asked again once its report was read to the
 * end: the first report of a stream of several only then gets its own
 * (sift_ingest_fingerprint), and that is the one to note as seen. */
static void
refresh_fp(producer *p)
{
    sift_err err;

    sift_err_clear(&err);
    if (p->have_fp &&
        sift_ingest_fingerprint(p->in, &p->fp, &p->fp_len, &err) != SIFT_OK)
        p->have_fp = 0;
}

/* A copy of a report stored by schema 1, whose 64-bit content hash the
 * upgrade dropped: parse the rest of it and compare its record count and
 * message total with what is stored. Equal: a re-send, whose hash the
 * stored report adopts (later copies compare exactly); else a conflict. */
static int
settle_unknown(producer *p, const sift_item *it, sift_xml *x,
               const sift_report_meta *meta, const sift_stored *stored)
{
    const sift_record *rec;
    uint64_t n, sum;
    sift_err why;
    msg *m;
    int rc;

    sift_err_clear(&why);
    while ((rc = sift_xml_next(x, &rec, &why)) == SIFT_OK)
        ;
    n = sift_xml_records(x);
    sum = sift_xml_messages(x); /* an overflow failed the report */
    if (fatal(rc))
        return send_fatal(p, rc, &why);
    refresh_fp(p);
    if (rc != SIFT_ITEROVER) /* stored; this copy is damaged */
        return send_unit(p, SIFT_DUPLICATE, it->path, NULL, NULL, no_hash);
    if (sum > (uint64_t)INT64_MAX) /* stored clamped */
        sum = (uint64_t)INT64_MAX;
    if (n != stored->records || sum != stored->messages)
        return send_unit(p, SIFT_CONFLICT, it->path, NULL, meta,
                         sift_xml_content_hash(x));
    if ((m = msg_new(M_UNIT, it->path)) == NULL || msg_meta(m, meta) != 0) {
        msg_free(m);
        return send_fatal(p, SIFT_ENOMEM, NULL);
    }
    m->outcome = SIFT_DUPLICATE;
    m->adopt = 1;
    m->hash = sift_xml_content_hash(x);
    m->have_fp = p->have_fp;
    m->fp = p->fp;
    m->fp_len = p->fp_len;
    return put(&p->q, m);
}

/* A report found stored (sift_store_lookup): x, read up to any point,
 * is read to its end to tell a re-send from a conflicting copy. rc: what
 * reading its records returned so far (SIFT_OK while some are left). */
static int
settle_stored(producer *p, const sift_item *it, sift_xml *x,
              const sift_report_meta *meta, const sift_stored *stored, int rc)
{
    sift_err why;

    sift_err_clear(&why);
    if (!stored->hash_known)
        return settle_unknown(p, it, x, meta, stored);
    /* a copy whose records failed is compared by the hash of all its
     * bytes, as a drained one is (the drain does not parse records) */
    if (rc == SIFT_OK || rc == SIFT_ITEROVER)
        rc = sift_xml_drain(x, &why);
    else
        rc = sift_xml_hash_rest(x, &why);
    refresh_fp(p);
    if (rc != SIFT_OK) /* stored; damaged */
        return send_unit(p, SIFT_DUPLICATE, it->path, NULL, NULL, no_hash);
    if (sift_hash128_eq(sift_xml_content_hash(x), stored->hash))
        return send_unit(p, SIFT_DUPLICATE, it->path, NULL, meta, no_hash);
    return send_unit(p, SIFT_CONFLICT, it->path, NULL, meta,
                     sift_xml_content_hash(x));
}

/* The answer to the question asked on the reader's handle, if one was
 * (*asked: cleared). A failed lookup is no answer (*a zeroed): the
 * writer decides (sift_store_begin). */
static void
answer(producer *p, int *asked, sift_answer *a)
{
    sift_err err;

    memset(a, 0, sizeof(*a));
    if (!*asked)
        return;
    *asked = 0;
    sift_err_clear(&err);
    if (sift_store_answer(p->reader, a, &err) != SIFT_OK)
        memset(a, 0, sizeof(*a));
    p->known_avg = p->known_avg - p->known_avg / 8 +
                   (a->seen || a->stored ? SEEN_ONE / 8 : 0);
}

unsigned long sift_import__asked;

/* Ask the database about this input (its bytes seen? its report
 * stored?)? Always when it answers at once (SQLite). A server takes a
 * round trip, client and server CPU (some 10% of an ingest's wall time
 * on 2 cores when every input is new), so it is asked only while some
 * of the latest answers said yes, and about every ASK_SAMPLE-th input
 * regardless, whose answer keeps the average true.
 *
 * A question not asked is answered by the writer: sift_store_begin()
 * finds the report stored, and the copy is settled from its content hash
 * as a duplicate or a conflict, as when a lookup fails or another host
 * stored it meanwhile. The outcomes are the same; what is lost is only
 * the skipping of a seen input's reading, and a stored report's records
 * go to the writer, which drops them. A seen input that does not open is
 * asked about anyway (produce_report). */
static int
ask_now(producer *p)
{
    if (p->reader == NULL)
        return 0;
    if (!sift_store_remote(p->reader) || p->known_avg >= KNOWN_LOW ||
        ++p->unasked >= ASK_SAMPLE) {
        p->unasked = 0;
        sift_import__asked++;
        return 1;
    }
    return 0;
}

/* Was the input seen (its fingerprint asked about)? Also kept in
 * p->seen_avg. */
static int
seen_answer(producer *p, const sift_answer *a)
{
    p->seen_avg = p->seen_avg - p->seen_avg / 8 + (a->seen ? SEEN_ONE / 8 : 0);
    return a->seen;
}

/* Before a report's first message goes: the answer to the question asked
 * about it, if one is pending (*a filled). The seen part counts only when
 * it was asked with the lookup (not early: then it was answered before). */
enum { GO_ON, WAS_SEEN, WAS_STORED };
static int
decide(producer *p, int *asked, int early, sift_answer *a)
{
    if (!*asked)
        return GO_ON;
    answer(p, asked, a);
    if (p->have_fp && !early && seen_answer(p, a))
        return WAS_SEEN;
    return a->stored ? WAS_STORED : GO_ON;
}

/* Parse one report candidate and send it. Returns 0, or -1 to stop.
 *
 * The database is asked whether the input's bytes were seen and whether
 * its report is stored. A server takes a round trip to answer, which the
 * parser spends reading: the report's first chunk of records (all of them
 * in most reports) is read before the answer is needed, and nothing of
 * the report is sent before it. The seen question is asked first and
 * waited for when the database answers at once (SQLite) or when most
 * inputs were seen lately (a nightly re-run: reading what is then thrown
 * away costs more than a local round trip); else it goes with the lookup,
 * once the header is read, in one statement. A server is not asked at
 * all about most inputs of a run whose inputs are all new (ask_now). */
static int
produce_report(producer *p, const sift_item *it)
{
    sift_xml *x = NULL;
    const sift_report_meta *meta;
    const sift_record *rec;
    sift_verdict v;
    sift_err why, err;
    sift_answer a;
    msg *m = NULL, *begin = NULL;
    int rc, ret = 0, asked = 0, early = 0, ask;

    sift_err_clear(&why);
    sift_err_clear(&err);
    p->have_fp =
        p->reader != NULL &&
        sift_ingest_fingerprint(p->in, &p->fp, &p->fp_len, &err) == SIFT_OK;
    ask = ask_now(p);
    if (ask && p->have_fp &&
        (!sift_store_remote(p->reader) || p->seen_avg >= SEEN_ONE / 2)) {
        early = 1;
        asked =
            sift_store_ask_seen(p->reader, p->fp, p->fp_len, &err) == SIFT_OK;
        answer(p, &asked, &a);
        if (seen_answer(p, &a))
            goto seen;
    }
    rc = sift_xml_open(&x, &meta, it->reader, p->lim, &why);
    if (rc != SIFT_OK) {
        /* seen bytes are a duplicate, whatever they read as today */
        if (p->have_fp && !early) {
            sift_import__asked++;
            asked = sift_store_ask_seen(p->reader, p->fp, p->fp_len, &err) ==
                    SIFT_OK;
            answer(p, &asked, &a);
            if (seen_answer(p, &a))
                goto seen;
        }
        if (fatal(rc))
            ret = send_fatal(p, rc, &why);
        /* Well-formed XML of another kind is not a failure of ours. */
        else if (rc == SIFT_ENOTREPORT)
            ret = send_unit(p, SIFT_NOT_REPORT, it->path, NULL, NULL, no_hash);
        else
            ret = send_unit(p, SIFT_FAILED, it->path, &why, NULL, no_hash);
        goto out;
    }
    /* Stored already (as far as the committed database says)? Then only
     * the content hash is needed, to tell a re-send from a conflicting
     * one, and nothing of the report is sent. */
    if (ask && p->have_fp && !early)
        asked = sift_store_ask_input(p->reader, p->fp, p->fp_len, meta, &err) ==
                SIFT_OK;
    else if (ask)
        asked = sift_store_ask_lookup(p->reader, meta, &err) == SIFT_OK;
    if ((begin = msg_new(M_BEGIN, it->path)) == NULL ||
        msg_meta(begin, meta) != SIFT_OK) {
        ret = send_fatal(p, SIFT_ENOMEM, NULL);
        goto out;
    }
    begin->have_fp = p->have_fp;
    begin->fp = p->fp;
    begin->fp_len = p->fp_len;
    while ((rc = sift_xml_next(x, &rec, &why)) == SIFT_OK) {
        sift_eval_record(&v, p->ev, meta, rec);
        if (m == NULL && (m = msg_new(M_RECORDS, NULL)) == NULL) {
            ret = send_fatal(p, SIFT_ENOMEM, NULL);
            goto out;
        }
        if (msg_record(m, rec, &v) != SIFT_OK) {
            ret = send_fatal(p, SIFT_ENOMEM, NULL);
            goto out;
        }
        if (m->n == CHUNK_RECORDS) {
            if (begin != NULL) {
                switch (decide(p, &asked, early, &a)) {
                case WAS_SEEN:
                    goto seen;
                case WAS_STORED:
                    goto stored;
                }
                /* put() owns what it is given, also when it fails (the
                 * writer stopped: a full disk) */
                ret = put(&p->q, begin);
                begin = NULL;
                if (ret != 0)
                    goto out;
            }
            ret = put(&p->q, m);
            m = NULL;
            if (ret != 0)
                goto out;
        }
    }
    if (fatal(rc)) {
        ret = send_fatal(p, rc, &why);
        goto out;
    }
    if (begin != NULL) {
        switch (decide(p, &asked, early, &a)) {
        case WAS_SEEN:
            goto seen;
        case WAS_STORED:
            goto stored;
        }
        ret = put(&p->q, begin);
        begin = NULL;
        if (ret != 0)
            goto out;
    }
    if (rc != SIFT_ITEROVER) {
        msg *ab;
        msg_free(m); /* half a report is never stored */
        m = NULL;
        if ((ab = msg_new(M_ABORT, it->path)) == NULL ||
            msg_meta(ab, meta) != SIFT_OK) {
            msg_free(ab);
            ret = send_fatal(p, SIFT_ENOMEM, NULL);
            goto out;
        }
        ab->why = why;
        /* if the writer finds this identity stored (earlier in this run),
         * the copy is compared by the hash of all its bytes, as a drained
         * duplicate is */
        ab->hash_ok = sift_xml_hash_rest(x, NULL) == SIFT_OK;
        ab->hash = sift_xml_content_hash(x);
        if (p->keep_failed)
            keep_raw(p, &ab->raw);
        ret = put(&p->q, ab);
        goto out;
    }
    if (m != NULL) {
        ret = put(&p->q, m);
        m = NULL;
        if (ret != 0)
            goto out;
    }
    /* the final meta: warnings grow while records are read */
    if ((m = msg_new(M_END, it->path)) == NULL ||
        msg_meta(m, meta) != SIFT_OK) {
        ret = send_fatal(p, SIFT_ENOMEM, NULL);
        goto out;
    }
    m->hash = sift_xml_content_hash(x);
    refresh_fp(p); /* read to its end: the fingerprint to note */
    m->have_fp = p->have_fp;
    m->fp = p->fp;
    m->fp_len = p->fp_len;
    ret = put(&p->q, m);
    m = NULL;
    goto out;
seen: /* bytes stored before: nothing to read or write */
    msg_free(m);
    if ((m = msg_new(M_UNIT, it->path)) == NULL) {
        ret = send_fatal(p, SIFT_ENOMEM, NULL);
        goto out;
    }
    m->outcome = a.conflict ? SIFT_CONFLICT : SIFT_DUPLICATE;
    m->seen = 1;
    m->have_fp = 1; /* to resolve a failed row of this input */
    m->fp = p->fp;
    m->fp_len = p->fp_len;
    ret = put(&p->q, m);
    m = NULL;
    goto out;
stored:
    ret = settle_stored(p, it, x, meta, &a.report, rc);
out:
    answer(p, &asked, &a); /* the handle takes calls again */
    msg_free(begin);
    msg_free(m);
    sift_xml_free(x);
    return ret;
}

/* The unit of the next item is `unit` (NULL: the end): close the last. */
static int
unit_change(producer *p, const char *unit)
{
    msg *m;

    if (!p->units ||
        (p->unit != NULL && unit != NULL && strcmp(p->unit, unit) == 0))
        return 0;
    if (p->unit != NULL) {
        if ((m = msg_new(M_UNITEND, p->unit)) == NULL)
            return send_fatal(p, SIFT_ENOMEM, NULL);
        free(p->unit);
        p->unit = NULL;
        if (put(&p->q, m) != 0)
            return -1;
    }
    if (unit != NULL && (p->unit = strdup(unit)) == NULL)
        return send_fatal(p, SIFT_ENOMEM, NULL);
    return 0;
}

static void
produce_all(producer *p)
{
    const sift_item *it;
    sift_err err;
    int rc;

    sift_err_clear(&err);
    while ((rc = sift_ingest_next(p->in, &it, &err)) == SIFT_OK) {
        int stop;
        p->have_fp = 0;
        if (it->unit != NULL && unit_change(p, it->unit) != 0)
            return;
        switch (it->kind) {
        case SIFT_ITEM_REPORT:
            stop = produce_report(p, it);
            break;
        case SIFT_ITEM_NOT_REPORT:
            stop = send_unit(p, SIFT_NOT_REPORT, it->path, NULL, NULL, no_hash);
            break;
        case SIFT_ITEM_FAILURE_REPORT:
            stop = send_unit(p, SIFT_FAILURE_REPORT, it->path, NULL, NULL,
                             no_hash);
            break;
        case SIFT_ITEM_FAILED:
        default:
            /* its fingerprint, when its bytes can be read, resolves the
             * failed row once the same input imports */
            p->have_fp = sift_ingest_fingerprint(p->in, &p->fp, &p->fp_len,
                                                 &err) == SIFT_OK;
            sift_err_clear(&err);
            stop = send_unit(p, SIFT_FAILED, it->path, &it->err, NULL, no_hash);
            break;
        }
        if (stop)
            return;
    }
    if (rc != SIFT_ITEROVER)
        send_fatal(p, rc, &err);
    else if (unit_change(p, NULL) == 0) {
        msg *m = msg_new(M_DONE, NULL);
        if (m == NULL)
            send_fatal(p, SIFT_ENOMEM, NULL);
        else
            put(&p->q, m);
    }
}

static void *
produce(void *arg)
{
    producer *p = arg;

    produce_all(p);
    pthread_mutex_lock(&p->q.mu);
    p->q.done = 1;
    pthread_cond_signal(&p->q.can_get);
    pthread_mutex_unlock(&p->q.mu);
    return NULL;
}

/* --- the writer (calling thread) ---------------------------------------- */

/* Keep a failed unit: its reason plus the raw bytes, when there are any
 * (raw may be NULL). */
static int
keep_failure(sift_store *st, const char *path, const sift_err *why,
             const kept *raw, const sift_hash128 *fp, sift_err *err)
{
    char reason[sizeof(why->where) + sizeof(why->msg) + 4];

    if (why->where[0] != '\0' && strcmp(why->where, path) != 0)
        snprintf(reason, sizeof(reason), "%s: %s", why->where, why->msg);
    else
        snprintf(reason, sizeof(reason), "%s", why->msg);
    if (raw != NULL && raw->spool != NULL)
        return sift_store_add_failed_file(st, path, reason, raw->spool,
                                          raw->len, raw->hash, fp, err);
    return sift_store_add_failed(st, path, reason, NULL, raw ? raw->len : 0, fp,
                                 err);
}

/* Units that ended but are not yet known to be committed. */
typedef struct unit_pend {
    char *unit;
    sift_import_stats counts;
} unit_pend;

/* A report stored in the open batch, told to the caller once the batch
 * commits (sift_store_commits() grows): a summary never counts a report
 * that a failed batch took with it. */
typedef struct pending {
    char *path;
    uint64_t records, messages;
} pending;

typedef struct writer {
    sift_store *st;
    sift_import_stats *s;
    sift_import_settled_cb settled;
    sift_import_stats u; /* outcomes of the current unit */
    unit_pend upend[SIFT_IMPORT_SETTLE_BATCH];
    size_t nupend;
    int keep_failed;
    sift_import_cb cb;
    void *payload;
    /* the open report */
    int open, skipping;
    sift_stored dup;
    uint64_t records, messages;
    int have_fp; /* its input's fingerprint, noted with the outcome */
    sift_hash128 fp;
    uint64_t fp_len;
    /* imported reports whose batch has not committed yet */
    pending *pend;
    size_t n_pend, cap_pend;
    uint64_t commits; /* sift_store_commits() when pend was last emptied */
} writer;

static uint64_t
sat_add(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* One outcome: count it, keep a failure, tell the caller. */
static int
outcome(writer *w, sift_outcome_kind kind, const char *path, sift_err *why,
        const kept *raw, const sift_hash128 *fp, sift_err *err)
{
    sift_import_stats *s = w->s;
    int rc = SIFT_OK;

    switch (kind) {
    case SIFT_IMPORTED:
        s->imported++;
        w->u.imported++;
        break;
    case SIFT_DUPLICATE:
        s->duplicates++;
        w->u.duplicates++;
        break;
    case SIFT_CONFLICT:
        s->conflicts++;
        w->u.conflicts++;
        break;
    case SIFT_NOT_REPORT:
        s->not_reports++;
        w->u.not_reports++;
        break;
    case SIFT_FAILURE_REPORT:
        s->failure_reports++;
        w->u.failure_reports++;
        break;
    case SIFT_FAILED:
        s->failed++;
        w->u.failed++;
        sift_err_where(why, path);
        if (w->keep_failed)
            rc = keep_failure(w->st, path, why, raw, fp, err);
        break;
    }
    if (rc == SIFT_OK && w->cb)
        w->cb(w->payload, kind, path, kind == SIFT_FAILED ? why : NULL, s);
    return rc;
}

/* The reports of committed batches are imported now. */
static void
release_pending(writer *w)
{
    size_t i;

    for (i = 0; i < w->n_pend; i++) {
        w->s->records = sat_add(w->s->records, w->pend[i].records);
        w->s->messages = sat_add(w->s->messages, w->pend[i].messages);
        outcome(w, SIFT_IMPORTED, w->pend[i].path, NULL, NULL, NULL, NULL);
        free(w->pend[i].path);
    }
    w->n_pend = 0;
    w->commits = sift_store_commits(w->st);
}

/* The run failed: reports whose batch did not commit are lost with it. */
static void
lose_pending(writer *w, const sift_err *cause)
{
    sift_err why;
    size_t i;

    for (i = 0; i < w->n_pend; i++) {
        sift_err_set(&why, SIFT_EDB,
                     "not stored: its batch was rolled back (%s)",
                     cause && cause->msg[0] ? cause->msg : "database error");
        w->s->failed++;
        sift_err_where(&why, w->pend[i].path);
        if (w->cb)
            w->cb(w->payload, SIFT_FAILED, w->pend[i].path, &why, w->s);
        free(w->pend[i].path);
    }
    w->n_pend = 0;
}

static int
add_pending(writer *w, const char *path, sift_err *err)
{
    if (w->n_pend == w->cap_pend) {
        size_t cap = w->cap_pend ? w->cap_pend * 2 : 64;
        pending *p = realloc(w->pend, cap * sizeof(*p));
        if (p == NULL)
            return sift_err_set(err, SIFT_ENOMEM, "out of memory");
        w->pend = p;
        w->cap_pend = cap;
    }
    if ((w->pend[w->n_pend].path = strdup(path)) == NULL)
        return sift_err_set(err, SIFT_ENOMEM, "out of memory");
    w->pend[w->n_pend].records = w->records;
    w->pend[w->n_pend].messages = w->messages;
    w->n_pend++;
    return SIFT_OK;
}

/* The input at path was used: a failed row of the same bytes is done. */
static int
resolve(writer *w, const char *path, int have_fp, sift_hash128 fp,
        sift_err *err)
{
    if (!have_fp || !w->keep_failed) /* retry-failed deletes its own row */
        return SIFT_OK;
    return sift_store_resolve_failed(w->st, path, fp, NULL, err);
}

/* The open report turned out to be stored already: a re-send (same
 * content hash) or a conflicting copy. A report stored by schema 1 has no
 * hash: compare records and messages, and adopt this copy's hash when
 * they match. */
static int
settle_duplicate(writer *w, msg *m, sift_err *err)
{
    int conflict, rc;

    if (w->dup.hash_known)
        conflict = !sift_hash128_eq(m->hash, w->dup.hash);
    else
        conflict = w->records != w->dup.records ||
                   (w->messages > (uint64_t)INT64_MAX
                        ? (uint64_t)INT64_MAX
                        : w->messages) != w->dup.messages;
    w->skipping = 0;
    if (conflict && (rc = sift_store_note_conflict(w->st, &m->meta, m->path,
                                                   m->hash, err)) != SIFT_OK)
        return rc;
    if (!conflict && !w->dup.hash_known &&
        (rc = sift_store_adopt_hash(w->st, &m->meta, m->hash, err)) != SIFT_OK)
        return rc;
    if (w->have_fp &&
        (rc = sift_store_note_seen(w->st, w->fp, w->fp_len, &m->meta, conflict,
                                   err)) != SIFT_OK)
        return rc;
    if ((rc = resolve(w, m->path, w->have_fp, w->fp, err)) != SIFT_OK)
        return rc;
    return outcome(w, conflict ? SIFT_CONFLICT : SIFT_DUPLICATE, m->path, NULL,
                   NULL, NULL, err);
}

/* Tell the caller about the pending units (everything before is
 * committed: after sift_store_flush). */
static void
settle_pending(writer *w)
{
    size_t i;

    for (i = 0; i < w->nupend; i++) {
        w->settled(w->payload, w->upend[i].unit, &w->upend[i].counts);
        free(w->upend[i].unit);
    }
    w->nupend = 0;
}

/* A unit ended: settle it with the next commit (forced every
 * SIFT_IMPORT_SETTLE_BATCH units). */
static int
unit_end(writer *w, msg *m, sift_err *err)
{
    int rc;

    /* imported reports are told when their batch commits, possibly
     * after their unit ended: not counted per unit */
    w->u.imported = w->u.records = w->u.messages = 0;
    w->upend[w->nupend].unit = m->path;
    w->upend[w->nupend].counts = w->u;
    m->path = NULL;
    w->nupend++;
    memset(&w->u, 0, sizeof(w->u));
    if (w->nupend < SIFT_IMPORT_SETTLE_BATCH)
        return SIFT_OK;
    if ((rc = sift_store_flush(w->st, err)) != SIFT_OK)
        return rc;
    if (w->n_pend > 0 && sift_store_commits(w->st) != w->commits)
        release_pending(w);
    settle_pending(w);
    return SIFT_OK;
}

/* Handle one message. Returns SIFT_OK, SIFT_ITEROVER after M_DONE, or a
 * fatal code with err set. */
static int
consume(writer *w, msg *m, sift_err *err)
{
    size_t i;
    int rc;

    switch (m->kind) {
    case M_BEGIN:
        w->records = w->messages = 0;
        w->skipping = 0;
        w->have_fp = m->have_fp;
        w->fp = m->fp;
        w->fp_len = m->fp_len;
        rc = sift_store_begin(w->st, &w->dup, &m->meta, m->path, err);
        if (rc == SIFT_EDUP) {
            w->skipping = 1; /* stored meanwhile: compare at END */
            return SIFT_OK;
        }
        if (rc != SIFT_OK)
            return rc;
        w->open = 1;
        return SIFT_OK;
    case M_RECORDS:
        for (i = 0; i < m->n; i++) {
            if (!w->skipping &&
                (rc = sift_store_add(w->st, &m->recs[i], &m->verdicts[i],
                                     err)) != SIFT_OK)
                return rc;
            w->records++;
            w->messages = sat_add(w->messages, m->recs[i].count);
        }
        return SIFT_OK;
    case M_ABORT:
        if (w->skipping && (!m->hash_ok || !w->dup.hash_known)) {
            /* stored; this copy is unreadable or cannot be compared */
            w->skipping = 0;
            return outcome(w, SIFT_DUPLICATE, m->path, NULL, NULL, NULL, err);
        }
        if (!w->skipping) {
            sift_store_rollback(w->st);
            w->open = 0;
            return outcome(w, SIFT_FAILED, m->path, &m->why, &m->raw,
                           m->have_fp ? &m->fp : NULL, err);
        }
        /* stored already: compare this copy by its hash */
        return settle_duplicate(w, m, err);
    case M_END:
        /* the fingerprint as known at the end (the first report of a
         * stream of several has its own) */
        w->have_fp = w->have_fp && m->have_fp;
        w->fp = m->fp;
        w->fp_len = m->fp_len;
        if (w->skipping)
            return settle_duplicate(w, m, err);
        if ((rc = sift_store_commit(w->st, &m->meta, m->hash, err)) != SIFT_OK)
            return rc;
        w->open = 0;
        /* the report is in the batch: it counts once the batch commits */
        if ((rc = add_pending(w, m->path, err)) != SIFT_OK)
            return rc;
        if (w->have_fp &&
            (rc = sift_store_note_seen(w->st, w->fp, w->fp_len, &m->meta, 0,
                                       err)) != SIFT_OK)
            return rc;
        return resolve(w, m->path, w->have_fp, w->fp, err);
    case M_UNIT:
        if (m->seen) { /* known from its fingerprint: nothing to store */
            if ((rc = resolve(w, m->path, m->have_fp, m->fp, err)) != SIFT_OK)
                return rc;
            return outcome(w, m->outcome, m->path, NULL, NULL, NULL, err);
        }
        if (m->outcome == SIFT_CONFLICT &&
            (rc = sift_store_note_conflict(w->st, &m->meta, m->path, m->hash,
                                           err)) != SIFT_OK)
            return rc;
        if (m->adopt && (rc = sift_store_adopt_hash(w->st, &m->meta, m->hash,
                                                    err)) != SIFT_OK)
            return rc;
        if (m->have_fp &&
            (m->outcome == SIFT_CONFLICT ||
             (m->outcome == SIFT_DUPLICATE && m->meta.report_id != NULL)) &&
            (rc = sift_store_note_seen(w->st, m->fp, m->fp_len, &m->meta,
                                       m->outcome == SIFT_CONFLICT, err)) !=
                SIFT_OK)
            return rc;
        if ((m->outcome == SIFT_DUPLICATE || m->outcome == SIFT_CONFLICT) &&
            (rc = resolve(w, m->path, m->have_fp, m->fp, err)) != SIFT_OK)
            return rc;
        return outcome(w, m->outcome, m->path, &m->why, &m->raw,
                       m->have_fp ? &m->fp : NULL, err);
    case M_UNITEND:
        return unit_end(w, m, err);
    case M_FATAL:
        *err = m->why;
        return m->rc != SIFT_OK ? m->rc : SIFT_ERR;
    case M_DONE:
    default:
        return SIFT_ITEROVER;
    }
}

int
sift_import_run(sift_import_stats *s, sift_ingest *in, sift_store *st,
                sift_eval *ev, const sift_limits *lim, int keep_failed,
                sift_import_cb cb, void *payload, sift_err *err)
{
    return sift_import_run_settled(s, in, st, ev, lim, keep_failed, cb, NULL,
                                   payload, err);
}

int
sift_import_run_settled(sift_import_stats *s, sift_ingest *in, sift_store *st,
                        sift_eval *ev, const sift_limits *lim, int keep_failed,
                        sift_import_cb cb, sift_import_settled_cb settled,
                        void *payload, sift_err *err)
{
    producer p;
    writer w;
    pthread_t tid;
    const char *path = sift_store_path(st);
    sift_err rerr;
    msg *m;
    int rc;

    memset(&p, 0, sizeof(p));
    memset(&w, 0, sizeof(w));
    p.in = in;
    p.ev = ev;
    p.known_avg = SEEN_ONE;
    p.lim = lim;
    p.keep_failed = keep_failed;
    w.st = st;
    w.s = s;
    w.keep_failed = keep_failed;
    w.cb = cb;
    w.payload = payload;
    w.settled = settled;
    p.units = settled != NULL;
    w.commits = sift_store_commits(st);
    /* the reports stored below carry the version of the evaluation that
     * computed their verdicts (produce: sift_eval_record) */
    sift_store_set_eval_stamp(st, SIFT_EVAL_VERSION);
    /* Lookups see only committed reports; without a reader (":memory:",
     * or it cannot be opened) every report is parsed and the writer's
     * sift_store_begin() finds the duplicates. */
    sift_err_clear(&rerr);
    if (path != NULL && path[0] != '\0' && strcmp(path, ":memory:") != 0 &&
        sift_store_open(&p.reader, path, SIFT_STORE_READONLY, &rerr) != SIFT_OK)
        p.reader = NULL;
    pthread_mutex_init(&p.q.mu, NULL);
    pthread_cond_init(&p.q.can_put, NULL);
    pthread_cond_init(&p.q.can_get, NULL);
    if (pthread_create(&tid, NULL, produce, &p) != 0) {
        rc = sift_err_set(err, SIFT_ENOMEM, "cannot start a thread");
        goto done;
    }
    do {
        if ((m = get(&p.q)) == NULL) {
            rc = sift_err_set(err, SIFT_ENOMEM, "out of memory");
            break;
        }
        rc = consume(&w, m, err);
        msg_free(m);
        if (w.n_pend > 0 && sift_store_commits(st) != w.commits)
            release_pending(&w);
    } while (rc == SIFT_OK);
    if (rc != SIFT_ITEROVER) {
        /* stop the producer and throw away what it still sends */
        pthread_mutex_lock(&p.q.mu);
        p.q.stop = 1;
        pthread_cond_broadcast(&p.q.can_put);
        pthread_mutex_unlock(&p.q.mu);
    }
    pthread_join(tid, NULL);
    while (p.q.head != NULL) {
        m = p.q.head;
        p.q.head = m->next;
        msg_free(m);
    }
    if (w.open)
        sift_store_rollback(st);
    if (rc == SIFT_ITEROVER)
        rc = sift_store_flush(st, err);
    /* Held (retry-failed): the caller commits, and reports the error of
     * that commit for the whole input. */
    if (rc == SIFT_OK &&
        (sift_store_commits(st) != w.commits || sift_store_held(st)))
        release_pending(&w);
    else if (w.n_pend > 0)
        lose_pending(&w, err);
    if (rc == SIFT_OK)
        settle_pending(&w);
    while (w.nupend > 0) /* not committed: not settled */
        free(w.upend[--w.nupend].unit);
    free(p.unit);
done:
    free(w.pend);
    pthread_cond_destroy(&p.q.can_get);
    pthread_cond_destroy(&p.q.can_put);
    pthread_mutex_destroy(&p.q.mu);
    sift_store_close(p.reader);
    return rc;
}
