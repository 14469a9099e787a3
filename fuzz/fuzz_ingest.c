/* fuzz_ingest.c -- libFuzzer harness for ingest/: sniffing and unpacking.
 *
 * The input is queued as memory (as retry-failed does) and every item and
 * every byte of every report reader is drained. Invariant: every unit
 * ends as one well-formed item; nothing crashes, leaks or hangs. */
#include <stdint.h>
#include <stdlib.h>

#define FUZZ_WITH_INGEST
#include "fuzz_check.h"
#include "sift_ingest.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sift_limits lim = SIFT_LIMITS_INIT;
    sift_ingest *in = NULL;
    sift_err err;

    /* small ceilings: a 4 KiB input may still inflate to gigabytes */
    lim.max_report_size = 4u << 20;
    lim.max_input_size = 4u << 20;
    lim.max_entries = 256;
    sift_err_clear(&err);
    if (sift_ingest_new(&in, &lim, &err) != SIFT_OK)
        return 0;
    if (sift_ingest_add_memory(in, "fuzz.bin", data, size, &err) == SIFT_OK)
        drain_ingest(in, size > 0 && (data[0] & 1) ? 7 : 65536);
    sift_ingest_free(in);
    return 0;
}
