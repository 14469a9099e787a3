/* fuzz_xml.c -- libFuzzer harness for xml/: the input is one report.
 *
 * Invariant checked: every input ends in SIFT_ITEROVER or in an error
 * with a one-line message, without crash, leak or hang; a report read
 * record by record and one drained hash alike (sift_xml_content_hash). */
#include <stdint.h>
#include <stdlib.h>

#include "fuzz_check.h"
#include "sift_xml.h"

static void
touch_meta(const sift_report_meta *m)
{
    size_t i;

    touch(m->version);
    touch(m->namespace);
    touch(m->org_name);
    touch(m->email);
    touch(m->report_id);
    touch(m->domain);
    touch(m->p);
    for (i = 0; i < m->n_errors; i++)
        touch(m->errors[i]);
    for (i = 0; i < m->n_warnings; i++)
        touch(m->warnings[i]);
}

static void
touch_record(const sift_record *r)
{
    size_t i;

    touch(r->source_ip);
    touch(r->disposition);
    touch(r->header_from);
    touch(r->envelope_from);
    for (i = 0; i < r->n_reasons; i++) {
        touch(r->reasons[i].type);
        touch(r->reasons[i].comment);
    }
    for (i = 0; i < r->n_dkim; i++) {
        touch(r->dkim_results[i].domain);
        touch(r->dkim_results[i].selector);
        touch(r->dkim_results[i].result);
    }
    for (i = 0; i < r->n_spf; i++) {
        touch(r->spf_results[i].domain);
        touch(r->spf_results[i].result);
    }
    fuzz_sink += (size_t)r->count;
}

/* Parse the whole input; `drain` skips records. Returns 1 when the
 * document was read to the end, with its hash in *hash. */
static int
parse(const uint8_t *data, size_t size, int drain, sift_hash128 *hash)
{
    sift_limits lim = SIFT_LIMITS_INIT;
    sift_memreader m;
    sift_xml *x = NULL;
    const sift_report_meta *meta = NULL;
    const sift_record *rec;
    sift_err err;
    int rc, done = 0;

    lim.max_report_size = 1 << 20;
    lim.max_records = 10000;
    sift_err_clear(&err);
    rc = sift_xml_open(
        &x, &meta, sift_memreader_init(&m, data, size, "fuzz.xml"), &lim, &err);
    if (rc != SIFT_OK) {
        check_err(&err, rc);
        if (x != NULL)
            __builtin_trap(); /* "On failure *out is NULL" */
        return 0;
    }
    touch_meta(meta);
    if (drain) {
        rc = sift_xml_drain(x, &err);
        if (rc != SIFT_OK)
            check_err(&err, rc);
        done = rc == SIFT_OK;
    } else {
        while ((rc = sift_xml_next(x, &rec, &err)) == SIFT_OK)
            touch_record(rec);
        if (rc != SIFT_ITEROVER)
            check_err(&err, rc);
        done = rc == SIFT_ITEROVER;
        touch_meta(meta);
        fuzz_sink += (size_t)(sift_xml_records(x) + sift_xml_messages(x));
    }
    *hash = sift_xml_content_hash(x);
    sift_xml_free(x);
    return done;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    sift_xml_init();
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sift_hash128 h1 = {0, 0}, h2 = {0, 0};
    int full, drained;

    full = parse(data, size, 0, &h1);
    drained = parse(data, size, 1, &h2);
    if (full && drained && !sift_hash128_eq(h1, h2))
        __builtin_trap(); /* both hash every byte of the same document */
    return 0;
}
