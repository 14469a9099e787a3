/* fuzz_dns.c -- libFuzzer harness for dns/'s parsers of what a server
 * returned (dns_int.h): DKIM key records (tags, base64, DER), SPF terms,
 * the DMARC record pick.
 *
 * The input is one name's answer: its records separated by NUL bytes
 * (a final NUL is added). The whole input is also read as DER, from a
 * buffer of exactly its size. Invariant: every result stays within its
 * field and its contract (a type of "", "rsa" or "ed25519", a key's bits
 * at most 8 per byte read, the SPF walk's next targets at most 40). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dns_int.h"
#include "fuzz_check.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

static void
check_key(const sift_dns_dkim *k)
{
    if (strcmp(k->type, "") != 0 && strcmp(k->type, "rsa") != 0 &&
        strcmp(k->type, "ed25519") != 0)
        __builtin_trap();
    /* the key is decoded into 2,048 bytes at most */
    if (k->bits < 0 || k->bits > 2048 * 8 || (!k->present && k->bits != 0))
        __builtin_trap();
}

static void
check_spf(const sift_dns_spf *s, size_t next, size_t n)
{
    if (s->records < 0 || (size_t)s->records > n || s->lookups < 0 ||
        next > 40 || (s->records == 0 && (s->lookups || s->all_pass)))
        __builtin_trap();
    if (strnlen(s->record, sizeof(s->record)) == sizeof(s->record) ||
        strnlen(s->includes, sizeof(s->includes)) == sizeof(s->includes))
        __builtin_trap();
    touch(s->record);
    touch(s->includes);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned char *der = malloc(size ? size : 1);
    char *txt = malloc(size + 1), buf[64];
    sift_dns_dkim k;
    sift_dns_spf s;
    size_t i, n = 1, next;
    int bits, count;

    if (der == NULL || txt == NULL)
        goto done;
    memcpy(der, data, size);
    bits = sift_dns__rsa_bits(der, size);
    if (bits < 0 || (size_t)bits > size * 8)
        __builtin_trap();

    memcpy(txt, data, size);
    txt[size] = '\0';
    for (i = 0; i < size; i++)
        n += txt[i] == '\0';

    memset(&k, 0, sizeof(k));
    sift_dns__dkim_key(&k, txt, n);
    check_key(&k);

    count = sift_dns__dmarc_pick(buf, sizeof(buf), txt, n);
    if (count < 0 || (size_t)count > n ||
        strnlen(buf, sizeof(buf)) == sizeof(buf) ||
        (count == 0 && buf[0] != '\0') ||
        (count > 0 && strncasecmp(buf, "v=DMARC1", 8) != 0))
        __builtin_trap();

    memset(&s, 0, sizeof(s));
    next = sift_dns__spf_top(&s, txt, n);
    check_spf(&s, next, n);
done:
    free(der);
    free(txt);
    return 0;
}
