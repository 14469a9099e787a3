/* dns_int.h -- published.c's parsers of what a server returned, one
 * name's answer at a time, for check_dns and fuzz/fuzz_dns.c. Callers
 * of the module use sift_dns_published_lookup() (sift_dns.h) instead.
 *
 * An answer is txt: its n TXT records, each NUL-terminated, one after
 * another (a record is the concatenation of its character-strings). Any
 * bytes are accepted; the results stay within their fields' sizes. */
#ifndef SIFT_DNS_INT_H
#define SIFT_DNS_INT_H

#include <stddef.h>

#include "sift_dns.h"

/* The bits of the RSA modulus in der (a SubjectPublicKeyInfo or a bare
 * RSAPublicKey, n bytes, nothing read past them); 0 when it is neither. */
int sift_dns__rsa_bits(const unsigned char *der, size_t n);

/* <selector>._domainkey's answer into k: present (a record with a
 * non-empty p=), type ("rsa", "ed25519") and bits (0 unknown). */
void sift_dns__dkim_key(sift_dns_dkim *k, const char *txt, size_t n);

/* How many records start with "v=DMARC1" (case-insensitive, then the
 * end, a space, a tab or ';'); the first of them in buf (cut to
 * bufsz - 1 bytes), "" when none. Only exactly one is a policy. */
int sift_dns__dmarc_pick(char *buf, size_t bufsz, const char *txt, size_t n);

/* A domain's own SPF answer into s (status, records, record, lookups,
 * all_pass, includes, and the error of more than one record, naming "the
 * domain"), by the walk's own step for the top; returns how many
 * include/redirect targets the walk would look up next. */
size_t sift_dns__spf_top(sift_dns_spf *s, const char *txt, size_t n);

#endif
