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
 * alike), SIFT_EIO "no answer from SERVERS (N queries unanswered)" when
 * the servers look dead (the remaining addresses get no callback), or
 * the callback's non-zero value. */
int sift_dns_ptr_batch(sift_dns *d, const char *const *ips, size_t n,
                       sift_dns_ptr_cb cb, void *payload, sift_err *err);

/* One name's TXT records (each record's strings joined), valid for the
 * call. n is 0 unless status is OK. */
typedef struct sift_dns_txt {
    size_t index;     /* of the name in the batch */
    const char *name; /* as given (borrowed) */
    sift_dns_status status;
    uint32_t ttl;
    size_t n; /* records (at most 8; 8 KiB of text in all) */
    const char *const *rr;
} sift_dns_txt;
typedef int (*sift_dns_txt_cb)(void *payload, const sift_dns_txt *r);

/* Look up the TXT records of n names, as sift_dns_ptr_batch() does
 * addresses (same returns). */
int sift_dns_txt_batch(sift_dns *d, const char *const *names, size_t n,
                       sift_dns_txt_cb cb, void *payload, sift_err *err);

/* --- what a domain publishes now (published.c) ------------------------ */

typedef struct sift_dns_dmarc {
    char at[256];      /* the domain whose _dmarc record was used; "" none */
    char record[1024]; /* that record; "" none */
} sift_dns_dmarc;

typedef struct sift_dns_spf {
    sift_dns_status status; /* of the domain's TXT lookup */
    int records;            /* v=spf1 records at the domain (> 1: permerror) */
    /* DNS-querying terms (include, a, mx, ptr, exists, redirect) of the
     * record and of every include/redirect followed (RFC 7208 4.6.4:
     * more than 10 is a permerror at receivers) */
    int lookups;
    int all_pass;        /* the record ends in "all" or "+all" */
    char record[1024];   /* the domain's record; "" none */
    char includes[2048]; /* "include:X redirect=Y ..." of every level */
    char error[300];     /* "" or the first problem met below the top */
} sift_dns_spf;

typedef struct sift_dns_dkim {
    char domain[256], selector[128];
    sift_dns_status status; /* of <selector>._domainkey.<domain> */
    uint32_t ttl;
    int present;  /* a key record with a non-empty p= */
    int bits;     /* its length (RSA modulus, ed25519 256); 0 unknown */
    char type[8]; /* "rsa", "ed25519", "" when no key */
} sift_dns_dkim;

typedef struct sift_dns_published {
    char domain[256];
    /* RFC 9989's tree walk (DMARCbis 4.10) and RFC 7489's lookup (the
     * domain, then its organisational domain by the PSL) */
    sift_dns_dmarc tree, psl;
    int dmarc_differ;   /* they found different records */
    int dmarc_answered; /* every _dmarc query of the walk was answered */
    sift_dns_spf spf;
    int spf_answered;    /* every SPF query was answered */
    sift_dns_dkim *dkim; /* n_dkim, in the query's order (owned) */
    size_t n_dkim;
    uint32_t ttl; /* the smallest TTL of the answers (at most a day) */
} sift_dns_published;

typedef struct sift_dns_domain_query {
    const char *domain; /* the policy domain */
    const char *org;    /* its organisational domain by the PSL (NULL: the
                         * domain) */
    /* DKIM keys to check: n_dkim (d=, selector) pairs */
    const char *const *dkim_domains, *const *selectors;
    size_t n_dkim;
} sift_dns_domain_query;

/* Look up what q->domain publishes now. SIFT_OK with *out filled (free it
 * with sift_dns_published_free), or the batch's error (SIFT_EIO: the
 * servers do not answer). Unanswered lookups leave their part empty and
 * clear dmarc_answered / spf_answered, or leave a DKIM status that is
 * not final. */
int sift_dns_published_lookup(sift_dns *d, sift_dns_published *out,
                              const sift_dns_domain_query *q, sift_err *err);
/* The same for n domains at once: each step (the _dmarc names, each level
 * of SPF includes, the DKIM keys) is one batch for all of them, so n
 * domains cost the round trips of one. out[i] answers q[i]. */
int sift_dns_published_lookup_many(sift_dns *d, sift_dns_published *out,
                                   const sift_dns_domain_query *q, size_t n,
                                   sift_err *err);
void sift_dns_published_free(sift_dns_published *p);

/* Counters of the handle's life: queries sent, answered (any response),
 * timed out. */
typedef struct sift_dns_counts {
    uint64_t queries, answered, timeouts;
} sift_dns_counts;
void sift_dns_counts_get(const sift_dns *d, sift_dns_counts *out);

#endif
