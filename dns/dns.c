/* dns.c -- the c-ares resolver: channel, poll loop, answer parsing, and
 * source names (PTR, forward-confirmed); see sift_dns.h.
 *
 * One c-ares channel per handle; queries are ares_query() (no search
 * list), answers are parsed here from the wire format (ares_expand_name
 * for names) so that TTLs, including the negative TTL of an SOA, are
 * kept. The loop waits with poll() on the channel's sockets for at most
 * ares_timeout(), then lets ares_process_fd() read answers and expire
 * queries. At most max_inflight lookups are open at once; each has one
 * query outstanding at a time (PTR, then A/AAAA of each name). */
#include "sift_dns.h"

#include <arpa/inet.h>
#include <ares.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DNS_T_A 1
#define DNS_T_PTR 12
#define DNS_T_AAAA 28
#define DNS_T_SOA 6
#define DNS_T_TXT 16
#define TXT_MAX 8192 /* bytes of TXT kept per answer (all records) */
#define DNS_C_IN 1
#define MAX_RR 8            /* records of one answer we look at */
#define MAX_NAMES 4         /* PTR names tried for forward confirmation */
#define NEG_TTL 300         /* negative answer without an SOA */
#define UNCONFIRMED_TTL 300 /* the forward lookup failed: retry sooner */

struct sift_dns {
    ares_channel ch;
    int ares_inited;
    char servers[512];
    unsigned max_inflight, dead_after;
    unsigned inflight;
    int dead;
    int stop; /* the callback's non-zero return */
    sift_dns_counts counts;
    sift_dns_ptr_cb cb;
    sift_dns_txt_cb txt_cb;
    void *payload;
    const char *const *items; /* the batch's addresses or names */
};

/* A parsed answer. */
struct answer {
    sift_dns_status status;
    uint32_t ttl;
    int n;
    char names[MAX_RR][256];
    unsigned char addr[MAX_RR][16];
    /* TXT: each record's strings joined, NUL-terminated, in txt (NULL
     * unless a TXT query) */
    char *txt;
    size_t txt_len;
    const char *rr[MAX_RR];
};

/* One address's lookups. */
struct ptr_job {
    sift_dns *d;
    sift_dns_ptr r;
    int family;
    unsigned char addr[16];
    char names[MAX_NAMES][256];
    int nnames, cur;
};

const char *
sift_dns_status_name(sift_dns_status s)
{
    switch (s) {
    case SIFT_DNS_OK:
        return "ok";
    case SIFT_DNS_NXDOMAIN:
        return "nxdomain";
    case SIFT_DNS_NODATA:
        return "nodata";
    case SIFT_DNS_TIMEOUT:
        return "timeout";
    case SIFT_DNS_SERVFAIL:
        return "servfail";
    case SIFT_DNS_BADADDR:
        return "badaddr";
    default:
        return "error";
    }
}

int
sift_dns_status_final(sift_dns_status s)
{
    return s == SIFT_DNS_OK || s == SIFT_DNS_NXDOMAIN || s == SIFT_DNS_NODATA;
}

const char *
sift_dns_version(void)
{
    return ares_version(NULL);
}

/* --- servers ------------------------------------------------------------ */

/* Split "ADDR[:PORT]" / "[V6]:PORT" / "V6": *family, addr (text, no
 * brackets) and port (0: none). Returns 0 or -1. */
static int
split_server(const char *s, char *addr, size_t addrsz, unsigned *port)
{
    const char *a = s, *end, *p = NULL;
    unsigned char bin[16];
    size_t n;

    *port = 0;
    if (s[0] == '[') {
        a = s + 1;
        if ((end = strchr(a, ']')) == NULL)
            return -1;
        if (end[1] == ':')
            p = end + 2;
        else if (end[1] != '\0')
            return -1;
    } else if ((end = strchr(s, ':')) != NULL && strchr(end + 1, ':') == NULL) {
        p = end + 1; /* IPv4:PORT */
    } else {
        end = s + strlen(s); /* IPv4 or bare IPv6 */
    }
    n = (size_t)(end - a);
    if (n == 0 || n >= addrsz)
        return -1;
    memcpy(addr, a, n);
    addr[n] = '\0';
    if (inet_pton(AF_INET, addr, bin) != 1 &&
        inet_pton(AF_INET6, addr, bin) != 1)
        return -1;
    if (p != NULL) {
        unsigned long v = 0;
        if (*p == '\0' || strlen(p) > 5)
            return -1;
        for (; *p; p++) {
            if (*p < '0' || *p > '9')
                return -1;
            v = v * 10 + (unsigned)(*p - '0');
        }
        if (v == 0 || v > 65535)
            return -1;
        *port = (unsigned)v;
    }
    return 0;
}

int
sift_dns_check_server(const char *s, sift_err *err)
{
    char addr[64];
    unsigned port;

    if (split_server(s, addr, sizeof(addr), &port) != 0)
        return sift_err_set(err, SIFT_EUSAGE,
                            "bad DNS server '%s' (want ADDR[:PORT], IPv6 "
                            "as [ADDR]:PORT)",
                            s);
    return SIFT_OK;
}

/* d->servers = the channel's servers as "ADDR:PORT,...". */
static void
describe_servers(sift_dns *d)
{
    struct ares_addr_port_node *list = NULL, *n;
    size_t len = 0;

    d->servers[0] = '\0';
    if (ares_get_servers_ports(d->ch, &list) != ARES_SUCCESS)
        return;
    for (n = list; n != NULL && len + 64 < sizeof(d->servers); n = n->next) {
        char a[INET6_ADDRSTRLEN];
        int port = n->udp_port ? n->udp_port : 53;
        if (inet_ntop(n->family, &n->addr, a, sizeof(a)) == NULL)
            continue;
        len += (size_t)snprintf(d->servers + len, sizeof(d->servers) - len,
                                n->family == AF_INET6 ? "%s[%s]:%d" : "%s%s:%d",
                                len ? "," : "", a, port);
    }
    ares_free_data(list);
}

int
sift_dns_init(sift_dns **out, const sift_dns_opts *o, sift_err *err)
{
    struct ares_options ao;
    char csv[2048];
    size_t i, len = 0;
    sift_dns *d;
    int rc;

    *out = NULL;
    csv[0] = '\0';
    for (i = 0; i < o->nservers; i++) {
        char addr[64];
        unsigned port;
        if (split_server(o->servers[i], addr, sizeof(addr), &port) != 0)
            return sift_dns_check_server(o->servers[i], err);
        if (len + 80 >= sizeof(csv))
            return sift_err_set(err, SIFT_EUSAGE, "too many DNS servers");
        len += (size_t)snprintf(csv + len, sizeof(csv) - len,
                                strchr(addr, ':') ? "%s[%s]:%u" : "%s%s:%u",
                                len ? "," : "", addr, port ? port : 53);
    }
    if ((d = calloc(1, sizeof(*d))) == NULL)
        return sift_err_set(err, SIFT_ENOMEM, "out of memory");
    d->max_inflight = o->max_inflight ? o->max_inflight : 256;
    d->dead_after = o->dead_after ? o->dead_after : 16;
    if ((rc = ares_library_init(ARES_LIB_INIT_ALL)) != ARES_SUCCESS) {
        free(d);
        return sift_err_set(err, SIFT_ERR, "cannot start the resolver: %s",
                            ares_strerror(rc));
    }
    d->ares_inited = 1;
    memset(&ao, 0, sizeof(ao));
    /* NOCHECKRESP: a SERVFAIL or REFUSED is an answer (it reaches the
     * callback at once), not a reason to wait for the other tries */
    ao.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_EDNS | ARES_FLAG_NOCHECKRESP;
    ao.timeout = o->timeout_ms > 0 ? o->timeout_ms : 2000;
    ao.tries = o->tries > 0 ? o->tries : 2;
    ao.ednspsz = 1232;
    rc = ares_init_options(&d->ch, &ao,
                           ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS |
                               ARES_OPT_TRIES | ARES_OPT_EDNSPSZ);
    if (rc != ARES_SUCCESS) {
        ares_library_cleanup();
        free(d);
        return sift_err_set(err, SIFT_ERR, "cannot start the resolver: %s",
                            ares_strerror(rc));
    }
    if (o->nservers > 0 &&
        (rc = ares_set_servers_ports_csv(d->ch, csv)) != ARES_SUCCESS) {
        sift_dns_end(d);
        return sift_err_set(err, SIFT_EUSAGE, "bad DNS servers '%s': %s", csv,
                            ares_strerror(rc));
    }
    describe_servers(d);
    *out = d;
    return SIFT_OK;
}

void
sift_dns_end(sift_dns *d)
{
    if (d == NULL)
        return;
    if (d->ch != NULL)
        ares_destroy(d->ch);
    if (d->ares_inited)
        ares_library_cleanup();
    free(d);
}

const char *
sift_dns_servers(const sift_dns *d)
{
    return d->servers;
}

void
sift_dns_counts_get(const sift_dns *d, sift_dns_counts *out)
{
    *out = d->counts;
}

/* --- answers ------------------------------------------------------------ */

static uint32_t
get32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           p[3];
}

static unsigned
get16(const unsigned char *p)
{
    return (unsigned)p[0] << 8 | p[1];
}

/* Skip (or read into buf) the name at p. Returns its encoded length, or
 * -1. */
static long
name_at(const unsigned char *p, const unsigned char *abuf, int alen, char *buf,
        size_t bufsz)
{
    char *s = NULL;
    long enclen = 0;

    if (ares_expand_name(p, abuf, alen, &s, &enclen) != ARES_SUCCESS)
        return -1;
    if (buf != NULL) {
        size_t n = strlen(s), i;
        if (n >= bufsz)
            n = bufsz - 1;
        for (i = 0; i < n; i++) {
            char c = s[i];
            buf[i] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
        }
        buf[n] = '\0';
    }
    ares_free_string(s);
    return enclen;
}

/* One TXT record: its character-strings joined into a->txt (records that
 * do not fit are dropped). Returns 0 or -1. */
static int
txt_rdata(struct answer *a, const unsigned char *p, unsigned rdlen)
{
    const unsigned char *end = p + rdlen;
    size_t start = a->txt_len, len = a->txt_len;

    while (p < end) {
        unsigned n = *p++;
        if ((long)n > end - p || len + n + 1 > TXT_MAX)
            return -1;
        memcpy(a->txt + len, p, n);
        len += n;
        p += n;
    }
    a->txt[len++] = '\0';
    a->rr[a->n] = a->txt + start;
    a->txt_len = len;
    return 0;
}

/* Read the records of type qtype from the answer section, the smallest
 * TTL, and for an empty answer the negative TTL of the authority's SOA.
 * a->status is set by the caller from c-ares's status; this only reads.
 * Returns 0, or -1 for a malformed message. */
static int
parse_answer(struct answer *a, const unsigned char *abuf, int alen,
             unsigned qtype)
{
    const unsigned char *p = abuf, *end = abuf + alen;
    unsigned qd, an, ns, i;
    int have_ttl = 0;
    long l;

    a->n = 0;
    a->ttl = 0;
    if (alen < 12)
        return -1;
    qd = get16(abuf + 4);
    an = get16(abuf + 6);
    ns = get16(abuf + 8);
    p += 12;
    for (i = 0; i < qd; i++) {
        if ((l = name_at(p, abuf, alen, NULL, 0)) < 0 || end - p < l + 4)
            return -1;
        p += l + 4;
    }
    for (i = 0; i < an + ns; i++) {
        unsigned type, cls, rdlen;
        uint32_t ttl;
        if ((l = name_at(p, abuf, alen, NULL, 0)) < 0 || end - p < l + 10)
            return -1;
        p += l;
        type = get16(p);
        cls = get16(p + 2);
        ttl = get32(p + 4);
        if (ttl > 0x7fffffffu) /* RFC 2181 8: treat as 0 */
            ttl = 0;
        rdlen = get16(p + 8);
        p += 10;
        if (end - p < (long)rdlen)
            return -1;
        if (cls != DNS_C_IN) {
            p += rdlen;
            continue;
        }
        if (i < an && type == qtype && a->n < MAX_RR) {
            int keep = 1;
            if (type == DNS_T_PTR)
                keep = name_at(p, abuf, alen, a->names[a->n],
                               sizeof(a->names[0])) >= 0;
            else if (type == DNS_T_A && rdlen == 4)
                memcpy(a->addr[a->n], p, 4);
            else if (type == DNS_T_AAAA && rdlen == 16)
                memcpy(a->addr[a->n], p, 16);
            else if (type == DNS_T_TXT && a->txt != NULL)
                keep = txt_rdata(a, p, rdlen) == 0;
            else
                keep = 0;
            if (keep) {
                a->n++;
                if (!have_ttl || ttl < a->ttl)
                    a->ttl = ttl;
                have_ttl = 1;
            }
        } else if (i >= an && type == DNS_T_SOA && a->n == 0 && rdlen >= 20) {
            uint32_t min = get32(p + rdlen - 4);
            if (min < ttl)
                ttl = min;
            if (!have_ttl || ttl < a->ttl)
                a->ttl = ttl;
            have_ttl = 1;
        }
        p += rdlen;
    }
    if (!have_ttl && a->n == 0)
        a->ttl = NEG_TTL;
    return 0;
}

/* c-ares status (and the message when there is one) -> answer. Counts
 * answers and timeouts on d. */
static void
read_answer(sift_dns *d, struct answer *a, int status, unsigned char *abuf,
            int alen, unsigned qtype)
{
    a->status = SIFT_DNS_ERROR;
    a->n = 0;
    a->ttl = 0;
    a->txt_len = 0;
    switch (status) {
    case ARES_SUCCESS:
    case ARES_ENODATA:
    case ARES_ENOTFOUND:
        d->counts.answered++;
        if (abuf == NULL || parse_answer(a, abuf, alen, qtype) != 0) {
            a->status = SIFT_DNS_ERROR;
            return;
        }
        if (status == ARES_ENOTFOUND)
            a->status = SIFT_DNS_NXDOMAIN;
        else
            a->status = a->n > 0 ? SIFT_DNS_OK : SIFT_DNS_NODATA;
        return;
    case ARES_ESERVFAIL:
    case ARES_EREFUSED:
    case ARES_ENOTIMP:
    case ARES_EFORMERR:
        d->counts.answered++;
        a->status = SIFT_DNS_SERVFAIL;
        return;
    case ARES_ETIMEOUT:
    case ARES_ECONNREFUSED:
        d->counts.timeouts++;
        a->status = SIFT_DNS_TIMEOUT;
        if (d->counts.answered == 0 && d->counts.timeouts >= d->dead_after)
            d->dead = 1;
        return;
    default: /* cancelled, destroyed, bad response */
        a->status = SIFT_DNS_ERROR;
        return;
    }
}

/* --- source names ------------------------------------------------------- */

static void forward_next(struct ptr_job *j);

static void
job_done(struct ptr_job *j)
{
    sift_dns *d = j->d;

    d->inflight--;
    if (d->stop == 0 && !(d->dead && j->r.status == SIFT_DNS_ERROR)) {
        int r = d->cb(d->payload, &j->r);
        if (r != 0)
            d->stop = r;
    }
    free(j);
}

static void
on_forward(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
    struct ptr_job *j = arg;
    struct answer a;
    size_t len = j->family == AF_INET ? 4 : 16;
    int i;

    (void)timeouts;
    a.txt = NULL;
    read_answer(j->d, &a, status, abuf, alen,
                j->family == AF_INET ? DNS_T_A : DNS_T_AAAA);
    if (a.status == SIFT_DNS_OK) {
        for (i = 0; i < a.n; i++)
            if (memcmp(a.addr[i], j->addr, len) == 0) {
                j->r.confirmed = 1;
                snprintf(j->r.name, sizeof(j->r.name), "%s", j->names[j->cur]);
                if (a.ttl < j->r.ttl)
                    j->r.ttl = a.ttl;
                job_done(j);
                return;
            }
    } else if (!sift_dns_status_final(a.status) && j->r.ttl > UNCONFIRMED_TTL) {
        j->r.ttl = UNCONFIRMED_TTL; /* could not check: look again soon */
    }
    if (a.status == SIFT_DNS_ERROR && j->d->dead) {
        j->r.status = SIFT_DNS_ERROR;
        job_done(j);
        return;
    }
    j->cur++;
    forward_next(j);
}

/* Query the A/AAAA of the next PTR name, or finish unconfirmed. */
static void
forward_next(struct ptr_job *j)
{
    if (j->cur >= j->nnames || j->d->dead || j->d->stop) {
        j->r.confirmed = 0;
        snprintf(j->r.name, sizeof(j->r.name), "%s", j->names[0]);
        job_done(j);
        return;
    }
    j->d->counts.queries++;
    ares_query(j->d->ch, j->names[j->cur], DNS_C_IN,
               j->family == AF_INET ? DNS_T_A : DNS_T_AAAA, on_forward, j);
}

static void
on_ptr(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
    struct ptr_job *j = arg;
    struct answer a;
    int i;

    (void)timeouts;
    a.txt = NULL;
    read_answer(j->d, &a, status, abuf, alen, DNS_T_PTR);
    j->r.status = a.status;
    j->r.ttl = a.ttl;
    if (a.status != SIFT_DNS_OK) {
        job_done(j);
        return;
    }
    for (i = 0; i < a.n && j->nnames < MAX_NAMES; i++)
        if (a.names[i][0] != '\0')
            snprintf(j->names[j->nnames++], sizeof(j->names[0]), "%s",
                     a.names[i]);
    if (j->nnames == 0) {
        j->r.status = SIFT_DNS_NODATA;
        job_done(j);
        return;
    }
    forward_next(j);
}

/* "1.2.0.192.in-addr.arpa" / nibbles ".ip6.arpa". */
static void
reverse_name(char *buf, size_t n, int family, const unsigned char *a)
{
    static const char hex[] = "0123456789abcdef";
    size_t len = 0;
    int i;

    if (family == AF_INET) {
        snprintf(buf, n, "%u.%u.%u.%u.in-addr.arpa", a[3], a[2], a[1], a[0]);
        return;
    }
    for (i = 15; i >= 0 && len + 4 < n; i--) {
        buf[len++] = hex[a[i] & 15];
        buf[len++] = '.';
        buf[len++] = hex[a[i] >> 4];
        buf[len++] = '.';
    }
    snprintf(buf + len, n - len, "ip6.arpa");
}

static void
start_job(sift_dns *d, const char *ip, size_t index)
{
    struct ptr_job *j = calloc(1, sizeof(*j));
    char rev[80];

    if (j == NULL) {
        d->stop = SIFT_ENOMEM;
        return;
    }
    j->d = d;
    j->r.index = index;
    j->r.ip = ip;
    d->inflight++;
    if (inet_pton(AF_INET, ip, j->addr) == 1)
        j->family = AF_INET;
    else if (inet_pton(AF_INET6, ip, j->addr) == 1)
        j->family = AF_INET6;
    else {
        j->r.status = SIFT_DNS_BADADDR;
        job_done(j);
        return;
    }
    reverse_name(rev, sizeof(rev), j->family, j->addr);
    d->counts.queries++;
    ares_query(d->ch, rev, DNS_C_IN, DNS_T_PTR, on_ptr, j);
}

/* Wait for the channel's sockets (or its next timeout) and process. */
static int
wait_and_process(sift_dns *d, sift_err *err)
{
    ares_socket_t socks[ARES_GETSOCK_MAXNUM];
    struct pollfd pf[ARES_GETSOCK_MAXNUM];
    struct timeval tv, *tvp;
    unsigned bits;
    int i, n = 0, ms, r;

    /* the bits as unsigned: ARES_GETSOCK_WRITABLE(bits, 15) shifts a
     * signed 1 by 31 */
    bits = (unsigned)ares_getsock(d->ch, socks, ARES_GETSOCK_MAXNUM);
    for (i = 0; i < ARES_GETSOCK_MAXNUM; i++) {
        short ev = 0;
        if ((bits >> i) & 1u)
            ev |= POLLIN;
        if ((bits >> (i + ARES_GETSOCK_MAXNUM)) & 1u)
            ev |= POLLOUT;
        if (ev) {
            pf[n].fd = socks[i];
            pf[n].events = ev;
            pf[n].revents = 0;
            n++;
        }
    }
    tvp = ares_timeout(d->ch, NULL, &tv);
    ms = tvp ? (int)(tvp->tv_sec * 1000 + (tvp->tv_usec + 999) / 1000) : 1000;
    r = poll(pf, (nfds_t)n, ms);
    if (r < 0 && errno != EINTR)
        return sift_err_sys(err, "poll");
    if (r <= 0) {
        ares_process_fd(d->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
        return SIFT_OK;
    }
    for (i = 0; i < n; i++) {
        if (pf[i].revents == 0)
            continue;
        ares_process_fd(d->ch,
                        pf[i].revents & (POLLIN | POLLERR | POLLHUP)
                            ? pf[i].fd
                            : ARES_SOCKET_BAD,
                        pf[i].revents & POLLOUT ? pf[i].fd : ARES_SOCKET_BAD);
    }
    return SIFT_OK;
}

/* Run a batch of n lookups, start(d, i) opening the i-th: at most
 * max_inflight open, stopping early when the servers look dead or a
 * callback said stop. */
static int
run_batch(sift_dns *d, size_t n, void (*start)(sift_dns *, size_t),
          sift_err *err)
{
    size_t next = 0;
    uint64_t answered0 = d->counts.answered, timeouts0 = d->counts.timeouts;
    int rc = SIFT_OK;

    d->stop = 0;
    d->dead = 0;
    while (next < n || d->inflight > 0) {
        while (!d->dead && !d->stop && d->inflight < d->max_inflight &&
               next < n) {
            start(d, next);
            next++;
        }
        if (d->dead || d->stop) {
            ares_cancel(d->ch); /* the callbacks run now */
            break;
        }
        if (d->inflight == 0)
            continue;
        if ((rc = wait_and_process(d, err)) != SIFT_OK) {
            ares_cancel(d->ch);
            return rc;
        }
    }
    /* every query of the pass timed out: as dead as it gets */
    if (!d->stop && d->counts.answered == answered0 &&
        d->counts.timeouts > timeouts0)
        d->dead = 1;
    if (d->stop)
        return d->stop == SIFT_ENOMEM
                   ? sift_err_set(err, SIFT_ENOMEM, "out of memory")
                   : d->stop;
    if (d->dead) {
        uint64_t t = d->counts.timeouts - timeouts0;
        return sift_err_set(
            err, SIFT_EIO, "no answer from %s (%llu %s unanswered)",
            d->servers[0] ? d->servers : "the DNS servers",
            (unsigned long long)t, t == 1 ? "query" : "queries");
    }
    return SIFT_OK;
}

static void
start_ptr(sift_dns *d, size_t i)
{
    start_job(d, d->items[i], i);
}

int
sift_dns_ptr_batch(sift_dns *d, const char *const *ips, size_t n,
                   sift_dns_ptr_cb cb, void *payload, sift_err *err)
{
    d->cb = cb;
    d->payload = payload;
    d->items = ips;
    return run_batch(d, n, start_ptr, err);
}

/* --- TXT ---------------------------------------------------------------- */

struct txt_job {
    sift_dns *d;
    size_t index;
};

static void
on_txt(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
    struct txt_job *j = arg;
    sift_dns *d = j->d;
    struct answer *a = malloc(sizeof(*a) + TXT_MAX);
    sift_dns_txt r;

    (void)timeouts;
    d->inflight--;
    if (a == NULL) {
        d->stop = SIFT_ENOMEM;
        free(j);
        return;
    }
    a->txt = (char *)(a + 1);
    read_answer(d, a, status, abuf, alen, DNS_T_TXT);
    if (d->stop == 0 && !(d->dead && a->status == SIFT_DNS_ERROR)) {
        int x;
        memset(&r, 0, sizeof(r));
        r.index = j->index;
        r.name = d->items[j->index];
        r.status = a->status;
        r.ttl = a->ttl;
        r.n = (size_t)a->n;
        r.rr = a->rr;
        if ((x = d->txt_cb(d->payload, &r)) != 0)
            d->stop = x;
    }
    free(a);
    free(j);
}

static void
start_txt(sift_dns *d, size_t i)
{
    struct txt_job *j = malloc(sizeof(*j));

    if (j == NULL) {
        d->stop = SIFT_ENOMEM;
        return;
    }
    j->d = d;
    j->index = i;
    d->inflight++;
    d->counts.queries++;
    ares_query(d->ch, d->items[i], DNS_C_IN, DNS_T_TXT, on_txt, j);
}

int
sift_dns_txt_batch(sift_dns *d, const char *const *names, size_t n,
                   sift_dns_txt_cb cb, void *payload, sift_err *err)
{
    d->txt_cb = cb;
    d->payload = payload;
    d->items = names;
    return run_batch(d, n, start_txt, err);
}
