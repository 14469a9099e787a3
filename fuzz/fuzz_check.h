/* fuzz_check.h -- invariants shared by the libFuzzer harnesses.
 *
 * Every harness drains what it is given to the end and traps (a crash
 * libFuzzer keeps as a reproducer) when a contract of a public header is
 * broken: an error without a message, a multi-line error, an unescaped
 * control character in a provenance path. Header-only: static helpers;
 * define FUZZ_WITH_INGEST before including it for drain_ingest(). */
#ifndef SIFT_FUZZ_CHECK_H
#define SIFT_FUZZ_CHECK_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sift_err.h"
#ifdef FUZZ_WITH_INGEST
#include "sift_ingest.h"
#endif

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Keeps the compiler from dropping reads whose result is unused. */
static volatile size_t fuzz_sink;

static __attribute__((unused)) void
touch(const char *s)
{
    if (s != NULL)
        fuzz_sink += strlen(s);
}

/* 1 if s holds a C0 control character or DEL. */
static int
has_control(const char *s)
{
    for (; s != NULL && *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 1;
    return 0;
}

/* An error must say what went wrong, on one line. */
static __attribute__((unused)) void
check_err(const sift_err *err, int rc)
{
    if (rc >= 0 || rc == SIFT_ITEROVER)
        __builtin_trap();
    if (err->msg[0] == '\0' || has_control(err->msg) || has_control(err->where))
        __builtin_trap();
}

#ifdef FUZZ_WITH_INGEST
/* Drain every item of `in` and every byte of every report reader; `chunk`
 * is the read size (small values exercise the readers' edge cases). */
static void
drain_ingest(sift_ingest *in, size_t chunk)
{
    static unsigned char buf[65536];
    const sift_item *it;
    sift_err err;
    unsigned long items = 0;
    int rc;

    if (chunk == 0 || chunk > sizeof(buf))
        chunk = sizeof(buf);
    sift_err_clear(&err);
    while ((rc = sift_ingest_next(in, &it, &err)) == SIFT_OK) {
        items++;
        if (it->path == NULL || has_control(it->path))
            __builtin_trap();
        switch (it->kind) {
        case SIFT_ITEM_REPORT: {
            size_t n = 0;
            sift_err rerr;
            if (it->reader == NULL)
                __builtin_trap();
            sift_err_clear(&rerr);
            do {
                rc = sift_reader_read(it->reader, buf, chunk, &n, &rerr);
                if (rc != SIFT_OK) {
                    check_err(&rerr, rc);
                    break;
                }
                if (n > chunk)
                    __builtin_trap();
                fuzz_sink += n;
            } while (n > 0);
            break;
        }
        case SIFT_ITEM_FAILED:
            check_err(&it->err, it->err.code);
            if (it->reader != NULL)
                __builtin_trap();
            break;
        case SIFT_ITEM_NOT_REPORT:
        case SIFT_ITEM_FAILURE_REPORT:
            if (it->reader != NULL)
                __builtin_trap();
            break;
        default:
            __builtin_trap();
        }
        /* the raw bytes of every third item, as import keeps failures */
        if (items % 3 == 1) {
            unsigned char *raw = NULL;
            size_t len = 0;
            sift_err rerr;
            sift_err_clear(&rerr);
            if (sift_ingest_raw(in, &raw, &len, &rerr) == SIFT_OK)
                fuzz_sink += len;
            free(raw);
        }
    }
    if (rc != SIFT_ITEROVER)
        check_err(&err, rc);
    fuzz_sink += (size_t)sift_ingest_bytes_read(in);
}
#endif

#endif
