/* sift_dns.h -- asynchronous DNS on c-ares: many queries in flight, each
 * with its own timeout and tries, answered in one pass (docs/dns.md).
 *
 * The only module that includes <ares.h>. It depends on util/ only and
 * knows nothing of the database: callers store what it returns.
 *
 * Source names: sift_dns_ptr_batch() looks up the PTR of each address and
 * confirms it forward (the name's A or AAAA holds the address). TTLs are
 * the smallest of the answer's records (for a negative answer: of the
 * SOA in the authority section, RFC 2308).
 *
 * A server that never answers costs little: once `dead_after` queries
 * have timed out without a single answer from any server, the pass stops
 * and returns SIFT_EIO ("no answer from ...").
 *
 * Threads: a handle is used by one thread at a time. */
#ifndef SIFT_DNS_H
#define SIFT_DNS_H

#include <stddef.h>
#include <stdint.h>

#include "sift_err.h"

typedef struct sift_dns sift_dns;

/* What a lookup came to. OK, NXDOMAIN and NODATA are answers (cacheable);
 * the others are not. */
typedef enum sift_dns_status {
    SIFT_DNS_OK = 0,
    SIFT_DNS_NXDOMAIN, /* the name does not exist */
    SIFT_DNS_NODATA,   /* the name exists, without records of that type */
    SIFT_DNS_TIMEOUT,  /* no answer within timeout x tries */
    SIFT_DNS_SERVFAIL, /* the server failed or refused */
    SIFT_DNS_BADADDR,  /* the address given is not an IPv4/IPv6 address */
    SIFT_DNS_ERROR     /* anything else (malformed answer, cancelled) */
} sift_dns_status;

/* "ok", "nxdomain", "nodata", "timeout", "servfail", "badaddr", "error". */
const char *sift_dns_status_name(sift_dns_status s);
/* Whether s is an answer worth caching (OK, NXDOMAIN, NODATA). */
int sift_dns_status_final(sift_dns_status s);

typedef struct sift_dns_opts {
    /* servers as "ADDR[:PORT]" (IPv6 as "[ADDR]:PORT" or bare ADDR);
     * none: those of /etc/resolv.conf */
    const char *const *servers;
    size_t nservers;
    int timeout_ms;        /* first try of a query; 0: 2000 */
    int tries;             /* 0: 2 (c-ares doubles the timeout per round) */
    unsigned max_inflight; /* lookups in flight; 0: 256 */
    unsigned dead_after;   /* timeouts without any answer; 0: 16 */
} sift_dns_opts;

/* Check one --dns-server value: SIFT_EUSAGE "bad DNS server 'X' (want
 * ADDR[:PORT], IPv6 as [ADDR]:PORT)" when it is not one. */
int sift_dns_check_server(const char *s, sift_err *err);

/* Start a resolver (c-ares channel). Errors: SIFT_EUSAGE for a bad
 * server, SIFT_ERR "cannot start the resolver: ..." (c-ares's message).
 * *out is the caller's: sift_dns_end() it. */
int sift_dns_init(sift_dns **out, const sift_dns_opts *o, sift_err *err);
void sift_dns_end(sift_dns *d); /* NULL is a no-op */
/* The servers in use, "ADDR:PORT,..." (for messages). */
const char *sift_dns_servers(const sift_dns *d);
/* c-ares's run-time version, e.g. "1.18.1". */
const char *sift_dns_version(void);

/* One source address's name. */
typedef struct sift_dns_ptr {
    size_t index;           /* of the address in the batch */
    const char *ip;         /* the address as given (borrowed) */
    sift_dns_status status; /* of the PTR lookup */
    int confirmed;          /* name's A/AAAA holds ip */
    /* confirmed: that name; else the first PTR name ("" when none) */
    char name[256];
    uint32_t ttl; /* seconds the answer may be kept */
} sift_dns_ptr;

/* Called once per address as its lookups finish (completion order). r is
 * valid for the call. A non-zero return stops the batch: that value is
 * returned. */
typedef int (*sift_dns_ptr_cb)(void *payload, const sift_dns_ptr *r);

/* Resolve the names of n addresses, max_inflight at a time. Returns
 * SIFT_OK when every address got a result (answers, NXDOMAIN, timeouts
 * alike), SIFT_EIO "no answer from SERVERS (N queries timed out)" when
 * the servers look dead (the remaining addresses get no callback), or
 * the callback's non-zero value. */
int sift_dns_ptr_batch(sift_dns *d, const char *const *ips, size_t n,
                       sift_dns_ptr_cb cb, void *payload, sift_err *err);

/* Counters of the handle's life: queries sent, answered (any response),
 * timed out. */
typedef struct sift_dns_counts {
    uint64_t queries, answered, timeouts;
} sift_dns_counts;
void sift_dns_counts_get(const sift_dns *d, sift_dns_counts *out);

#endif
