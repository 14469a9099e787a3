/* fuzz_mime.c -- libFuzzer harness for ingest/'s MIME and mbox paths.
 *
 * The same bytes are queued twice: after a header line (so they read as
 * an RFC 5322 message) and after an mbox "From " line (so they read as a
 * mailbox). Invariant: as in fuzz_ingest.c, every item is well-formed. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_WITH_INGEST
#include "fuzz_check.h"
#include "sift_ingest.h"

static const char msg_head[] = "MIME-Version: 1.0\r\n";
static const char mbox_head[] = "From fuzz@example.com Sat Jan  1 00:00:00 "
                                "2000\nMIME-Version: 1.0\n";

/* Queue head + data under `name`; 0 on success. */
static int
add_with_head(sift_ingest *in, const char *name, const char *head,
              const uint8_t *data, size_t size)
{
    size_t hl = strlen(head);
    unsigned char *buf = malloc(hl + size + 1);
    sift_err err;
    int rc;

    if (buf == NULL)
        return -1;
    memcpy(buf, head, hl);
    if (size > 0)
        memcpy(buf + hl, data, size);
    sift_err_clear(&err);
    rc = sift_ingest_add_memory(in, name, buf, hl + size, &err);
    free(buf); /* add_memory copies */
    return rc;
}

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

    lim.max_report_size = 4u << 20;
    lim.max_input_size = 4u << 20;
    lim.max_entries = 256;
    sift_err_clear(&err);
    if (sift_ingest_new(&in, &lim, &err) != SIFT_OK)
        return 0;
    if (add_with_head(in, "fuzz.eml", msg_head, data, size) == 0 &&
        add_with_head(in, "fuzz.mbox", mbox_head, data, size) == 0)
        drain_ingest(in, 65536);
    sift_ingest_free(in);
    return 0;
}
