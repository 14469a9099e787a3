/* sift_owner.h -- what the domain owner knows and the reports cannot say:
 * the owner's own sending IP ranges and how to label other senders
 * (legitimate, forwarder, not ours). Plain data, filled by the CLI from
 * the configuration file (cli/config.c, [owner] and [senders]) and read by
 * report/; no allocation and no functions here beyond one inline matcher.
 *
 * Contract for the reader: own_nets are the owner's infrastructure (a
 * failing source inside one is a configuration problem of the owner, never
 * a third party); senders are matched in order, first match wins; a sender
 * with is_net matches a source IP inside net; one without is_net names a
 * domain and matches that domain or any subdomain of it (e.g. the
 * source's reverse name or the DKIM/SPF domain the record authenticated
 * with). Strings are lowercase, without a trailing dot. */
#ifndef SIFT_OWNER_H
#define SIFT_OWNER_H

#include <stddef.h>
#include <string.h>

/* An IPv4 or IPv6 range: family 4 or 6, addr in network byte order (first
 * 4 bytes for IPv4), prefix in bits; host bits are zero. */
typedef struct sift_ipnet {
    int family;
    unsigned char addr[16];
    unsigned prefix;
} sift_ipnet;

typedef enum sift_sender_label {
    SIFT_LABEL_NONE = 0,
    SIFT_LABEL_LEGITIMATE, /* "legitimate": ours, should pass; fix it */
    SIFT_LABEL_FORWARDER,  /* "forwarder": relays our mail; failures expected */
    SIFT_LABEL_NOT_OURS    /* "not-ours": spoofing; p=reject is the fix */
} sift_sender_label;

typedef struct sift_owner_sender {
    const char *name; /* as configured: "192.0.2.0/24" or "example.net" */
    int is_net;       /* name is an IP address or range: see net */
    sift_ipnet net;
    sift_sender_label label;
} sift_owner_sender;

typedef struct sift_owner_knowledge {
    const sift_ipnet *own_nets; /* [owner] network = ... */
    size_t n_own_nets;
    const sift_owner_sender *senders; /* [owner] forwarder = ... (label
                                   FORWARDER) then [senders] in file order */
    size_t n_senders;
} sift_owner_knowledge;

/* Whether addr (4 or 16 bytes in network order, per family 4 or 6) lies
 * inside net. */
static inline int
sift_ipnet_contains(const sift_ipnet *net, int family,
                    const unsigned char *addr)
{
    unsigned full = net->prefix / 8, rest = net->prefix % 8;

    if (net->family != family)
        return 0;
    if (memcmp(net->addr, addr, full) != 0)
        return 0;
    if (rest == 0)
        return 1;
    return ((net->addr[full] ^ addr[full]) & (0xffu << (8 - rest)) & 0xffu) ==
           0;
}

#endif
