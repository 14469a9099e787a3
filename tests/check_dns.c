/* check_dns.c -- the resolver (dns/) and the DNS cache against a real
 * authoritative server: NSD, started here on 127.0.0.1 on a free port
 * with zones written here (skipped, exit 77, without NSD; Debian: nsd).
 * A silent server is a UDP socket this test binds and never reads. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dns_int.h" /* the parsers alone */
#include "sift_dns.h"
#include "sift_store.h"
#include "store_int.h" /* sift_store__open_at */
#include "pgutil.h"
#include "testutil.h"

#ifndef NSD
#define NSD "/usr/sbin/nsd"
#endif

static char *srv; /* the server's directory */
static pid_t nsd_pid;
static int port;
static char server[64]; /* "127.0.0.1:PORT" */
static char *box;       /* per-test sandbox */
static char dbpath[600];

/* --- the server -------------------------------------------------------- */

/* A port free for both UDP and TCP on 127.0.0.1. */
static int
free_port(void)
{
    int i;

    for (i = 0; i < 50; i++) {
        struct sockaddr_in a = {0};
        socklen_t n = sizeof(a);
        int s = socket(AF_INET, SOCK_DGRAM, 0), t, ok, p;
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ck_assert_int_eq(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
        ck_assert_int_eq(getsockname(s, (struct sockaddr *)&a, &n), 0);
        p = ntohs(a.sin_port);
        t = socket(AF_INET, SOCK_STREAM, 0);
        ok = bind(t, (struct sockaddr *)&a, sizeof(a)) == 0;
        close(t);
        close(s);
        if (ok)
            return p;
    }
    ck_abort_msg("no free port");
    return 0;
}

static void
write_file(const char *dir, const char *name, const char *text)
{
    char p[700];

    snprintf(p, sizeof(p), "%s/%s", dir, name);
    ck_assert_int_eq(spit(p, text, strlen(text)), 0);
}

/* TEST-NET-1 (192.0.2.0/24) and 2001:db8::/32 reverse; forward names in
 * example.test, google.com and sendgrid.net (this server is the only one
 * asked). write_zone() puts the SOA (negative TTL 900) and NS first. */
static const char rev4_zone[] = /* 2.0.192.in-addr.arpa */
    "1 3600 IN PTR mail-a.example.test.\n"
    "2 3600 IN PTR forged.example.test.\n"
    "4 3600 IN PTR mail-sor-f41.google.com.\n"
    "5 3600 IN PTR bad.example.test.\n"
    "5 3600 IN PTR good.example.test.\n"
    "6 3600 IN PTR nowhere.example.test.\n";
static const char rev6_zone[] = /* 8.b.d.0.1.0.0.2.ip6.arpa */
    "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0 3600 IN PTR "
    "v6.example.test.\n";
static const char fwd_zone[] = /* example.test */
    "ns 3600 IN A 127.0.0.1\n"
    "mail-a 600 IN A 192.0.2.1\n"
    "forged 600 IN A 192.0.2.99\n"
    "bad 600 IN A 192.0.2.77\n"
    "good 300 IN A 192.0.2.5\n"
    "v6 600 IN AAAA 2001:db8::1\n"
    /* DMARC: the organisational domain's, and one further down */
    "_dmarc 3600 IN TXT \"v=DMARC1; p=none; rua=mailto:d@example.test\"\n"
    "_dmarc.dept 1800 IN TXT \"v=DMARC1; p=reject\"\n"
    /* SPF: a domain with sendgrid, and a chain of includes */
    "@ 3600 IN TXT \"v=spf1 include:spf1.example.test "
    "include:sendgrid.net -all\"\n"
    "@ 3600 IN TXT \"google-site-verification=abc\"\n"
    "spf1 3600 IN TXT \"v=spf1 ip4:192.0.2.0/24 ~all\"\n"
    "big 3600 IN TXT \"v=spf1 include:l1.example.test a mx -all\"\n"
    "l1 3600 IN TXT \"v=spf1 include:l2.example.test a mx ?all\"\n"
    "l2 3600 IN TXT \"v=spf1 include:l3.example.test exists:x.example.test "
    "ptr\"\n"
    "l3 3600 IN TXT \"v=spf1 a:foo.example.test mx:bar.example.test "
    "include:l1.example.test\"\n"
    "open 3600 IN TXT \"v=spf1 +all\"\n"
    "two 3600 IN TXT \"v=spf1 -all\"\n"
    "two 3600 IN TXT \"v=spf1 a -all\"\n"
    "gone 3600 IN TXT \"v=spf1 include:nothere.example.test -all\"\n"
    /* DKIM: revoked; the keys are appended at start (dkim_keys) */
    "old._domainkey 3600 IN TXT \"v=DKIM1; k=rsa; p=\"\n";
static const char google_zone[] = /* google.com */
    "mail-sor-f41 300 IN A 192.0.2.4\n";
static const char sendgrid_zone[] = /* sendgrid.net */
    "@ 3600 IN TXT \"v=spf1 ip4:167.89.0.0/17 -all\"\n";

static void
write_zone(const char *file, const char *zone, const char *body)
{
    char text[8192];

    snprintf(text, sizeof(text),
             "$TTL 3600\n@ 3600 IN SOA ns.%s. hostmaster.%s. 1 3600 600 "
             "86400 900\n@ IN NS ns.%s.\n%s",
             zone, zone, zone, body);
    write_file(srv, file, text);
}

static int
can_connect(int p)
{
    struct sockaddr_in a = {0};
    int s = socket(AF_INET, SOCK_STREAM, 0), ok;

    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)p);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ok = connect(s, (struct sockaddr *)&a, sizeof(a)) == 0;
    close(s);
    return ok;
}

/* s2048 and s1024._domainkey.example.test: RSA keys made by openssl
 * now, appended to fwd.zone (the 2048-bit one as two strings). */
static void
dkim_keys(void)
{
    static const char sh[] =
        "set -e\n"
        "for b in 2048 1024; do\n"
        "  k=$(openssl genrsa $b 2>/dev/null |\n"
        "      openssl rsa -pubout -outform DER 2>/dev/null | base64 -w0)\n"
        "  [ -n \"$k\" ]\n"
        "  a=$(printf %s \"$k\" | cut -c1-200)\n"
        "  z=$(printf %s \"$k\" | cut -c201-)\n"
        "  printf 's%s._domainkey 3600 IN TXT \"v=DKIM1; k=rsa; p=%s\" "
        "\"%s\"\\n' \"$b\" \"$a\" \"$z\" >> fwd.zone\n"
        "done\n";
    char cmd[800];

    write_file(srv, "keys.sh", sh);
    snprintf(cmd, sizeof(cmd), "cd %s && sh keys.sh", srv);
    ck_assert_int_eq(system(cmd), 0);
}

static void
server_start(void)
{
    char conf[4096], cpath[700];
    int i;

    srv = sandbox();
    ck_assert_ptr_nonnull(srv);
    port = free_port();
    snprintf(server, sizeof(server), "127.0.0.1:%d", port);
    write_zone("rev4.zone", "2.0.192.in-addr.arpa", rev4_zone);
    write_zone("rev6.zone", "8.b.d.0.1.0.0.2.ip6.arpa", rev6_zone);
    write_zone("fwd.zone", "example.test", fwd_zone);
    write_zone("google.zone", "google.com", google_zone);
    write_zone("sendgrid.zone", "sendgrid.net", sendgrid_zone);
    write_zone("tld.zone", "test", ""); /* _dmarc.test: NXDOMAIN */
    dkim_keys();
    snprintf(conf, sizeof(conf),
             "server:\n"
             "  ip-address: 127.0.0.1@%d\n"
             "  port: %d\n"
             "  zonesdir: \"%s\"\n"
             "  pidfile: \"%s/nsd.pid\"\n"
             "  logfile: \"%s/nsd.log\"\n"
             "  xfrdfile: \"%s/xfrd.state\"\n"
             "  zonelistfile: \"%s/zone.list\"\n"
             "  xfrdir: \"%s\"\n"
             "  database: \"\"\n"
             "  username: \"\"\n"
             "  chroot: \"\"\n"
             "  server-count: 1\n"
             "  verbosity: 1\n"
             "remote-control:\n"
             "  control-enable: no\n"
             "zone:\n  name: 2.0.192.in-addr.arpa\n  zonefile: rev4.zone\n"
             "zone:\n  name: 8.b.d.0.1.0.0.2.ip6.arpa\n  zonefile: "
             "rev6.zone\n"
             "zone:\n  name: example.test\n  zonefile: fwd.zone\n"
             "zone:\n  name: google.com\n  zonefile: google.zone\n"
             "zone:\n  name: sendgrid.net\n  zonefile: sendgrid.zone\n"
             "zone:\n  name: test\n  zonefile: tld.zone\n",
             port, port, srv, srv, srv, srv, srv, srv);
    write_file(srv, "nsd.conf", conf);
    snprintf(cpath, sizeof(cpath), "%s/nsd.conf", srv);
    if ((nsd_pid = fork()) == 0) {
        int fd = open("/dev/null", O_RDWR);
        dup2(fd, 0);
        dup2(fd, 1);
        execl(NSD, NSD, "-d", "-c", cpath, (char *)NULL);
        _exit(127);
    }
    ck_assert_int_gt(nsd_pid, 0);
    for (i = 0; i < 200 && !can_connect(port); i++)
        usleep(25000);
    ck_assert_msg(can_connect(port), "nsd did not start (see %s/nsd.log)", srv);
}

static void
server_stop(void)
{
    int st;

    if (nsd_pid > 0) {
        kill(nsd_pid, SIGTERM);
        waitpid(nsd_pid, &st, 0);
        nsd_pid = 0;
    }
    if (srv) {
        rm_rf(srv);
        free(srv);
        srv = NULL;
    }
}

static void
setup(void)
{
    box = sandbox();
    ck_assert_ptr_nonnull(box);
    snprintf(dbpath, sizeof(dbpath), "%s/d.db", box);
}

static void
teardown(void)
{
    rm_rf(box);
    free(box);
}

/* --- helpers ----------------------------------------------------------- */

static int
sift(char **out, char **err, ...)
{
    const char *argv[32];
    va_list ap;
    int n = 0, rc;
    char *o = NULL, *e = NULL;

    argv[n++] = SIFT_BINARY;
    argv[n++] = "--no-config";
    argv[n++] = "--db";
    argv[n++] = dbpath;
    va_start(ap, err);
    while (n < 31 && (argv[n] = va_arg(ap, const char *)) != NULL)
        n++;
    va_end(ap);
    argv[n] = NULL;
    rc = run(argv, NULL, &o, &e);
    if (out)
        *out = o;
    else
        free(o);
    if (err)
        *err = e;
    else
        free(e);
    return rc;
}

static long long
sql_int(const char *sql)
{
    sqlite3 *h = NULL;
    sqlite3_stmt *s = NULL;
    long long v = -1;

    ck_assert_int_eq(sqlite3_open_v2(dbpath, &h, SQLITE_OPEN_READONLY, NULL),
                     SQLITE_OK);
    ck_assert_msg(sqlite3_prepare_v2(h, sql, -1, &s, NULL) == SQLITE_OK,
                  "%s: %s", sql, sqlite3_errmsg(h));
    if (sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(h);
    return v;
}

static void
sql_exec(const char *sql)
{
    sqlite3 *h = NULL;

    ck_assert_int_eq(sqlite3_open(dbpath, &h), SQLITE_OK);
    ck_assert_msg(sqlite3_exec(h, sql, NULL, NULL, NULL) == SQLITE_OK, "%s: %s",
                  sql, sqlite3_errmsg(h));
    sqlite3_close(h);
}

/* A report for example.test with one record per address. */
static void
ingest_sources(const char *const *ips, size_t n)
{
    char path[700], *doc, *e = NULL;
    size_t cap = 4096 + n * 600, len = 0, i;
    int rc;

    doc = malloc(cap);
    ck_assert_ptr_nonnull(doc);
    len += (size_t)snprintf(
        doc + len, cap - len,
        "<?xml version=\"1.0\"?>\n<feedback><report_metadata>"
        "<org_name>dns.test</org_name><email>r@dns.test</email>"
        "<report_id>dns-1</report_id><date_range><begin>1700000000</begin>"
        "<end>1700086399</end></date_range></report_metadata>"
        "<policy_published><domain>example.test</domain><p>none</p>"
        "</policy_published>\n");
    for (i = 0; i < n; i++)
        len += (size_t)snprintf(
            doc + len, cap - len,
            "<record><row><source_ip>%s</source_ip><count>%zu</count>"
            "<policy_evaluated><disposition>none</disposition><dkim>fail"
            "</dkim><spf>fail</spf></policy_evaluated></row><identifiers>"
            "<header_from>example.test</header_from></identifiers>"
            "<auth_results><dkim><domain>example.test</domain><selector>"
            "s1024</selector><result>fail</result></dkim><spf><domain>"
            "example.test</domain><result>fail</result></spf></auth_results>"
            "</record>\n",
            ips[i], i + 1);
    len += (size_t)snprintf(doc + len, cap - len, "</feedback>\n");
    snprintf(path, sizeof(path), "%s/r.xml", box);
    ck_assert_int_eq(spit(path, doc, len), 0);
    free(doc);
    rc = sift(NULL, &e, "ingest", "--quiet", path, NULL);
    ck_assert_msg(rc == 0, "ingest: %d: %s", rc, e);
    free(e);
}

static const char *const ips[] = {
    "192.0.2.1", /* confirmed */
    "192.0.2.2", /* PTR whose A is another address: unconfirmed */
    "192.0.2.3", /* no PTR: NXDOMAIN */
    "192.0.2.4", /* mail-sor-f41.google.com, confirmed */
    "192.0.2.5", /* two PTR names, the second confirms */
    "192.0.2.6", /* PTR name that does not exist */
    "2001:db8::1",
};
#define N_IPS (sizeof(ips) / sizeof(ips[0]))

static double
now_s(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* --- the resolver ------------------------------------------------------ */

static sift_dns_ptr got[16];

static int
keep(void *payload, const sift_dns_ptr *r)
{
    (void)payload;
    ck_assert_uint_lt(r->index, 16);
    got[r->index] = *r;
    return 0;
}

START_TEST(test_ptr_confirmed_unconfirmed_nxdomain)
{
    const char *sv[1] = {server};
    const char *const in[] = {"192.0.2.1", "192.0.2.2", "192.0.2.3",
                              "192.0.2.5", "192.0.2.6", "2001:db8::1",
                              "not-an-ip"};
    sift_dns_opts o = {0};
    sift_dns_counts c;
    sift_dns *d = NULL;
    sift_err err;

    sift_err_clear(&err);
    memset(got, 0, sizeof(got));
    o.servers = sv;
    o.nservers = 1;
    o.timeout_ms = 500;
    ck_assert_int_eq(sift_dns_init(&d, &o, &err), SIFT_OK);
    ck_assert_str_eq(sift_dns_servers(d), server);
    ck_assert_int_eq(sift_dns_ptr_batch(d, in, 7, keep, NULL, &err), SIFT_OK);
    /* forward-confirmed: the smaller TTL of PTR (3600) and A (600) */
    ck_assert_int_eq(got[0].status, SIFT_DNS_OK);
    ck_assert_int_eq(got[0].confirmed, 1);
    ck_assert_str_eq(got[0].name, "mail-a.example.test");
    ck_assert_uint_eq(got[0].ttl, 600);
    ck_assert_str_eq(got[0].ip, "192.0.2.1");
    /* the name's A is 192.0.2.99 */
    ck_assert_int_eq(got[1].status, SIFT_DNS_OK);
    ck_assert_int_eq(got[1].confirmed, 0);
    ck_assert_str_eq(got[1].name, "forged.example.test");
    ck_assert_uint_eq(got[1].ttl, 3600);
    /* NXDOMAIN, kept for the SOA's minimum (900 < its TTL 3600) */
    ck_assert_int_eq(got[2].status, SIFT_DNS_NXDOMAIN);
    ck_assert_str_eq(got[2].name, "");
    ck_assert_uint_eq(got[2].ttl, 900);
    /* two names: the one that confirms wins (TTL 300 of its A) */
    ck_assert_int_eq(got[3].confirmed, 1);
    ck_assert_str_eq(got[3].name, "good.example.test");
    ck_assert_uint_eq(got[3].ttl, 300);
    /* the PTR name does not exist: unconfirmed */
    ck_assert_int_eq(got[4].status, SIFT_DNS_OK);
    ck_assert_int_eq(got[4].confirmed, 0);
    ck_assert_str_eq(got[4].name, "nowhere.example.test");
    /* IPv6: ip6.arpa nibbles and AAAA */
    ck_assert_int_eq(got[5].confirmed, 1);
    ck_assert_str_eq(got[5].name, "v6.example.test");
    ck_assert_int_eq(got[6].status, SIFT_DNS_BADADDR);
    sift_dns_counts_get(d, &c);
    /* 6 PTR + A of 1, 2, 5 (two names), 6 + AAAA */
    ck_assert_uint_eq(c.queries, 12);
    ck_assert_uint_eq(c.answered, 12);
    ck_assert_uint_eq(c.timeouts, 0);
    sift_dns_end(d);
}
END_TEST

START_TEST(test_published_records)
{
    const char *sv[1] = {server};
    const char *dd[] = {"example.test", "example.test", "example.test",
                        "example.test"};
    const char *sel[] = {"s2048", "s1024", "old", "nokey"};
    sift_dns_domain_query q = {0};
    sift_dns_opts o = {0};
    sift_dns_published p;
    sift_dns *d = NULL;
    sift_err err;

    sift_err_clear(&err);
    o.servers = sv;
    o.nservers = 1;
    o.timeout_ms = 500;
    ck_assert_int_eq(sift_dns_init(&d, &o, &err), SIFT_OK);
    /* the tree walk stops at dept.example.test; the PSL jumps to the
     * organisational domain */
    q.domain = "a.dept.example.test";
    q.org = "example.test";
    ck_assert_int_eq(sift_dns_published_lookup(d, &p, &q, &err), SIFT_OK);
    ck_assert_str_eq(p.tree.at, "dept.example.test");
    ck_assert_str_eq(p.tree.record, "v=DMARC1; p=reject");
    ck_assert_str_eq(p.psl.at, "example.test");
    ck_assert_str_eq(p.psl.record,
                     "v=DMARC1; p=none; rua=mailto:d@example.test");
    ck_assert_int_eq(p.dmarc_differ, 1);
    ck_assert_int_eq(p.dmarc_answered, 1);
    ck_assert_int_eq(p.spf.records, 0);
    ck_assert_int_eq(p.spf.status, SIFT_DNS_NXDOMAIN);
    ck_assert_uint_eq(p.ttl, 900); /* the SOA minimum of the NXDOMAINs */
    sift_dns_published_free(&p);
    /* the organisational domain itself: both agree; SPF flattened; keys */
    q.domain = "example.test";
    q.org = "example.test";
    q.dkim_domains = dd;
    q.selectors = sel;
    q.n_dkim = 4;
    ck_assert_int_eq(sift_dns_published_lookup(d, &p, &q, &err), SIFT_OK);
    ck_assert_str_eq(p.tree.at, "example.test");
    ck_assert_int_eq(p.dmarc_differ, 0);
    ck_assert_int_eq(p.spf.records, 1);
    ck_assert_str_eq(p.spf.record, "v=spf1 include:spf1.example.test "
                                   "include:sendgrid.net -all");
    ck_assert_int_eq(p.spf.lookups, 2);
    ck_assert_int_eq(p.spf.all_pass, 0);
    ck_assert_str_eq(p.spf.includes,
                     "include:spf1.example.test include:sendgrid.net");
    ck_assert_str_eq(p.spf.error, "");
    ck_assert_uint_eq(p.n_dkim, 4);
    ck_assert_int_eq(p.dkim[0].present, 1);
    ck_assert_int_eq(p.dkim[0].bits, 2048);
    ck_assert_str_eq(p.dkim[0].type, "rsa");
    ck_assert_int_eq(p.dkim[1].bits, 1024);
    ck_assert_int_eq(p.dkim[2].status, SIFT_DNS_OK);
    ck_assert_int_eq(p.dkim[2].present, 0); /* p= empty: revoked */
    ck_assert_int_eq(p.dkim[3].status, SIFT_DNS_NXDOMAIN);
    ck_assert_int_eq(p.dkim[3].present, 0);
    sift_dns_published_free(&p);
    memset(&q, 0, sizeof(q));
    /* 11 lookups down a chain of includes (l3 includes l1 again: a loop,
     * followed once) */
    q.domain = "big.example.test";
    q.org = "example.test";
    ck_assert_int_eq(sift_dns_published_lookup(d, &p, &q, &err), SIFT_OK);
    ck_assert_int_eq(p.spf.lookups, 12);
    ck_assert_str_eq(p.spf.includes,
                     "include:l1.example.test include:l2.example.test "
                     "include:l3.example.test include:l1.example.test");
    ck_assert_str_eq(p.tree.at, "example.test"); /* walked up one label */
    ck_assert_int_eq(p.dmarc_differ, 0);
    sift_dns_published_free(&p);
    q.domain = "open.example.test";
    ck_assert_int_eq(sift_dns_published_lookup(d, &p, &q, &err), SIFT_OK);
    ck_assert_int_eq(p.spf.all_pass, 1);
    ck_assert_int_eq(p.spf.lookups, 0);
    sift_dns_published_free(&p);
    q.domain = "two.example.test";
    ck_assert_int_eq(sift_dns_published_lookup(d, &p, &q, &err), SIFT_OK);
    ck_assert_int_eq(p.spf.records, 2);
    ck_assert_str_eq(p.spf.error, "two.example.test has 2 SPF records");
    sift_dns_published_free(&p);
    q.domain = "gone.example.test";
    ck_assert_int_eq(sift_dns_published_lookup(d, &p, &q, &err), SIFT_OK);
    ck_assert_str_eq(p.spf.error, "nothere.example.test has no SPF record");
    ck_assert_int_eq(p.spf.lookups, 1);
    sift_dns_published_free(&p);
    /* several domains at once: each batch serves all of them, and every
     * domain gets what it got alone */
    {
        sift_dns_domain_query m[4];
        sift_dns_published mp[4];
        const char *dom[4] = {"a.dept.example.test", "big.example.test",
                              "gone.example.test", "example.test"};
        size_t i;
        memset(m, 0, sizeof(m));
        for (i = 0; i < 4; i++) {
            m[i].domain = dom[i];
            m[i].org = "example.test";
        }
        m[3].dkim_domains = dd;
        m[3].selectors = sel;
        m[3].n_dkim = 2;
        ck_assert_int_eq(sift_dns_published_lookup_many(d, mp, m, 4, &err),
                         SIFT_OK);
        ck_assert_str_eq(mp[0].tree.at, "dept.example.test");
        ck_assert_str_eq(mp[0].psl.at, "example.test");
        ck_assert_int_eq(mp[0].dmarc_differ, 1);
        ck_assert_int_eq(mp[1].spf.lookups, 12);
        ck_assert_str_eq(mp[1].tree.at, "example.test");
        ck_assert_str_eq(mp[2].spf.error,
                         "nothere.example.test has no SPF record");
        ck_assert_int_eq(mp[3].spf.lookups, 2);
        ck_assert_uint_eq(mp[3].n_dkim, 2);
        ck_assert_int_eq(mp[3].dkim[0].bits, 2048);
        ck_assert_int_eq(mp[3].dkim[1].bits, 1024);
        ck_assert_uint_eq(mp[0].n_dkim, 0);
        for (i = 0; i < 4; i++)
            sift_dns_published_free(&mp[i]);
    }
    sift_dns_end(d);
}
END_TEST

/* --- the parsers of answers, without a server (dns_int.h) ------------- */

/* sift_dns__rsa_bits over an exact-size heap copy of hex, so that ASan
 * sees any read past the key. */
static int
bits_of(const char *hex)
{
    size_t n = strlen(hex) / 2, i;
    unsigned char *k = malloc(n ? n : 1);
    int bits;

    ck_assert_ptr_nonnull(k);
    for (i = 0; i < n; i++) {
        unsigned v;
        ck_assert_int_eq(sscanf(hex + 2 * i, "%2x", &v), 1);
        k[i] = (unsigned char)v;
    }
    bits = sift_dns__rsa_bits(k, n);
    free(k);
    return bits;
}

/* A bare RSAPublicKey: modulus 00 c1 23 (16 bits), exponent 3. */
#define BARE "3008020300c123020103"
/* The same as a SubjectPublicKeyInfo (rsaEncryption, BIT STRING). */
#define SPKI "301c300d06092a864886f70d0101010500030b00" BARE

START_TEST(test_key_der)
{
    ck_assert_int_eq(bits_of(BARE), 16);
    ck_assert_int_eq(bits_of(SPKI), 16);
    ck_assert_int_eq(bits_of("30050203010001"), 17); /* 01 00 01 */
    ck_assert_int_eq(bits_of("3003020100"), 0);      /* modulus 0 */
    /* an empty SEQUENCE, the last bytes of the key: read nothing more
     * (fuzz_dns finds it at once: the SPKI test read the byte after it) */
    ck_assert_int_eq(bits_of("3000"), 0);
    ck_assert_int_eq(bits_of("30"), 0);
    ck_assert_int_eq(bits_of(""), 0);
    ck_assert_int_eq(bits_of("301c300d06092a864886f70d01"), 0); /* cut */
    ck_assert_int_eq(bits_of("3084000000080203"), 0); /* 4 length bytes */
    ck_assert_int_eq(bits_of("3080"), 0);             /* indefinite */
    ck_assert_int_eq(bits_of("300430000300"), 0);     /* empty BIT STRING */
    ck_assert_int_eq(bits_of("3003040101"), 0);       /* not an INTEGER */
    ck_assert_int_eq(bits_of("30820003020181"), 8);   /* long form */
}
END_TEST

/* One name's answer: records separated by '|' become NUL-separated. */
static size_t
answer(char *out, size_t cap, const char *recs)
{
    size_t n = 1, i;

    ck_assert_uint_lt(strlen(recs), cap);
    for (i = 0; recs[i]; i++) {
        out[i] = recs[i] == '|' ? '\0' : recs[i];
        n += recs[i] == '|';
    }
    out[i] = '\0';
    return n;
}

static sift_dns_dkim
key_of(const char *recs)
{
    char txt[512];
    size_t n = answer(txt, sizeof(txt), recs);
    sift_dns_dkim k;

    memset(&k, 0, sizeof(k));
    sift_dns__dkim_key(&k, txt, n);
    return k;
}

START_TEST(test_key_records)
{
    sift_dns_dkim k;

    k = key_of("v=DKIM1; k=rsa; p=MBwwDQYJKoZIhvcNAQEBBQADCwAwCAIDAMEjAgED");
    ck_assert(k.present);
    ck_assert_str_eq(k.type, "rsa");
    ck_assert_int_eq(k.bits, 16);
    /* spaces inside the base64 (a record of several strings), no k= */
    k = key_of("v=DKIM1;p = MAgCAwDB IwIBAw== ;t=s");
    ck_assert_str_eq(k.type, "rsa");
    ck_assert_int_eq(k.bits, 16);
    k = key_of("v=DKIM1; k=ed25519; "
               "p=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=");
    ck_assert_str_eq(k.type, "ed25519");
    ck_assert_int_eq(k.bits, 256);
    k = key_of("v=DKIM1; k=ed25519; p=AAEC");
    ck_assert_str_eq(k.type, "ed25519");
    ck_assert_int_eq(k.bits, 0);
    k = key_of("v=DKIM1; k=rsa; p=");
    ck_assert(!k.present);
    ck_assert_str_eq(k.type, "");
    ck_assert_int_eq(k.bits, 0);
    k = key_of("v=DKIM1; k=rsa; p=!!!!");
    ck_assert(k.present);
    ck_assert_str_eq(k.type, "rsa");
    ck_assert_int_eq(k.bits, 0);
    k = key_of("v=DKIM1; k=rsa; p=MAAA");
    ck_assert_int_eq(k.bits, 0);
    /* the first record with a p= tag counts; pp= and a value are not one */
    k = key_of("v=DKIM1; pp=MAgCAwDBIwIBAw==; h=p|v=DKIM1; p=|x");
    ck_assert(!k.present);
    k = key_of("no key here|neither");
    ck_assert(!k.present);
    ck_assert_str_eq(k.type, "");
}
END_TEST

START_TEST(test_spf_and_dmarc_records)
{
    char txt[512], buf[32];
    size_t n, next;
    sift_dns_spf s;

    memset(&s, 0, sizeof(s));
    n = answer(txt, sizeof(txt),
               "v=spf1 include:A.example redirect=b.example a mx:c/24 ptr "
               "exists:%{i}.x.example ip4:192.0.2.0/24 include:%{d}.y -all|"
               "v=DMARC1; p=none");
    next = sift_dns__spf_top(&s, txt, n);
    ck_assert_int_eq(s.records, 1);
    ck_assert_int_eq(s.lookups, 7);
    ck_assert_int_eq(s.all_pass, 0);
    ck_assert_str_eq(s.includes, "include:a.example redirect=b.example "
                                 "include:%{d}.y");
    ck_assert_uint_eq(next, 2); /* a macro is not looked up */

    memset(&s, 0, sizeof(s));
    n = answer(txt, sizeof(txt), "V=SPF1 +ALL|v=spf1 a -all|v=spf10 mx");
    ck_assert_uint_eq(sift_dns__spf_top(&s, txt, n), 0);
    ck_assert_int_eq(s.records, 2);
    ck_assert_str_eq(s.record, "V=SPF1 +ALL");
    ck_assert_int_eq(s.all_pass, 1);
    ck_assert_int_eq(s.lookups, 0);

    memset(&s, 0, sizeof(s));
    n = answer(txt, sizeof(txt), "v=spf1");
    ck_assert_uint_eq(sift_dns__spf_top(&s, txt, n), 0);
    ck_assert_int_eq(s.records, 1);
    ck_assert_int_eq(s.lookups, 0);

    n = answer(txt, sizeof(txt),
               "v=spf1 -all|v=DMARC1; p=reject; rua=mailto:d@example.net");
    ck_assert_int_eq(sift_dns__dmarc_pick(buf, sizeof(buf), txt, n), 1);
    ck_assert_str_eq(buf, "v=DMARC1; p=reject; rua=mailto:");
    n = answer(txt, sizeof(txt), "v=DMARC1;p=none|v=dmarc1 ; p=reject");
    ck_assert_int_eq(sift_dns__dmarc_pick(buf, sizeof(buf), txt, n), 2);
    ck_assert_str_eq(buf, "v=DMARC1;p=none");
    n = answer(txt, sizeof(txt), "v=DMARC10; p=none|v=DMARC");
    ck_assert_int_eq(sift_dns__dmarc_pick(buf, sizeof(buf), txt, n), 0);
    ck_assert_str_eq(buf, "");
}
END_TEST

START_TEST(test_bad_server_values)
{
    sift_err err;

    sift_err_clear(&err);
    ck_assert_int_eq(sift_dns_check_server("127.0.0.1", &err), SIFT_OK);
    ck_assert_int_eq(sift_dns_check_server("[::1]:5353", &err), SIFT_OK);
    ck_assert_int_eq(sift_dns_check_server("::1", &err), SIFT_OK);
    ck_assert_int_eq(sift_dns_check_server("127.0.0.1:0", &err), SIFT_EUSAGE);
    ck_assert_str_eq(err.msg, "bad DNS server '127.0.0.1:0' (want "
                              "ADDR[:PORT], IPv6 as [ADDR]:PORT)");
    ck_assert_int_eq(sift_dns_check_server("dns.example", &err), SIFT_EUSAGE);
    ck_assert_int_eq(sift_dns_check_server("1.2.3.4:99999", &err), SIFT_EUSAGE);
}
END_TEST

/* --- resolve: the command and the cache --------------------------------- */

/* More policy domains than one batch of lookups (64): each gets the
 * selectors of its own d= and of d= under it, read for all of them in
 * one pass. The names do not exist: the keys are stored as nxdomain. */
START_TEST(test_many_domains_get_their_selectors)
{
    char dir[700], path[800], doc[2048], *o = NULL, *e = NULL;
    int i, rc;

    snprintf(dir, sizeof(dir), "%s/many", box);
    ck_assert_int_eq(mkdir(dir, 0700), 0);
    for (i = 0; i < 70; i++) {
        int n = snprintf(
            doc, sizeof(doc),
            "<?xml version=\"1.0\"?>\n<feedback><report_metadata>"
            "<org_name>dns.test</org_name><email>r@dns.test</email>"
            "<report_id>many-%d</report_id><date_range><begin>1700000000"
            "</begin><end>1700086399</end></date_range></report_metadata>"
            "<policy_published><domain>d%02d.example.test</domain><p>none"
            "</p></policy_published><record><row><source_ip>192.0.2.1"
            "</source_ip><count>1</count><policy_evaluated><disposition>none"
            "</disposition><dkim>fail</dkim><spf>fail</spf>"
            "</policy_evaluated></row><identifiers><header_from>"
            "d%02d.example.test</header_from></identifiers><auth_results>"
            "<dkim><domain>D%02d.example.test</domain><selector>s%02d"
            "</selector><result>fail</result></dkim><dkim><domain>"
            "mail.d%02d.example.test</domain><selector>m%02d</selector>"
            "<result>fail</result></dkim><spf><domain>d%02d.example.test"
            "</domain><result>fail</result></spf></auth_results></record>"
            "</feedback>\n",
            i, i, i, i, i, i, i, i);
        snprintf(path, sizeof(path), "%s/r%02d.xml", dir, i);
        ck_assert_int_eq(spit(path, doc, (size_t)n), 0);
    }
    rc = sift(NULL, &e, "ingest", "--quiet", dir, NULL);
    ck_assert_msg(rc == 0, "ingest: %d: %s", rc, e);
    free(e);
    rc = sift(&o, &e, "resolve", "--dns-server", server, NULL);
    ck_assert_msg(rc == 0, "resolve: %d: %s", rc, e);
    ck_assert_msg(strstr(e, "looked up what 70 policy domains publish "
                            "(DMARC, SPF, 140 DKIM keys)\n") != NULL,
                  "%s", e);
    free(o);
    free(e);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM dns_published"), 70);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM dns_dkim"), 140);
    /* each domain's own pair, and the pair under it, and no other */
    ck_assert_int_eq(sql_int("SELECT count(*) FROM dns_dkim WHERE status ="
                             " 'nxdomain' AND present = 0 AND ((domain ="
                             " 'd' || substr(selector, 2) || '.example.test'"
                             " AND selector LIKE 's%') OR (domain = 'mail.d'"
                             " || substr(selector, 2) || '.example.test' AND"
                             " selector LIKE 'm%'))"),
                     140);
}
END_TEST

START_TEST(test_resolve_caches_and_reuses)
{
    char *o = NULL, *e = NULL;
    int rc;

    ingest_sources(ips, N_IPS);
    rc = sift(&o, &e, "resolve", "--dns-server", server, NULL);
    ck_assert_msg(rc == 0, "resolve: %d: %s", rc, e);
    ck_assert_str_eq(o, "");
    ck_assert_msg(strncmp(e, "resolved 7 source addresses in ", 31) == 0 &&
                      strstr(e, " s: 4 confirmed, 2 unconfirmed, 1 without "
                                "a name, 0 not answered (14 queries, ") &&
                      strstr(e, "/s)\nlooked up what 1 policy domain "
                                "publishes (DMARC, SPF, 1 DKIM key)\n") &&
                      strchr(e, '\n') != strrchr(e, '\n'),
                  "%s", e);
    free(o);
    free(e);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM dns_ptr"), 7);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM dns_ptr WHERE ip ="
                             " '192.0.2.1' AND name = 'mail-a.example.test'"
                             " AND confirmed = 1 AND status = 'ok' AND ttl ="
                             " 600 AND looked_up > 1700000000"),
                     1);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM dns_ptr WHERE ip ="
                             " '192.0.2.2' AND name = 'forged.example.test'"
                             " AND confirmed = 0 AND ttl = 3600"),
                     1);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM dns_ptr WHERE ip ="
                             " '192.0.2.3' AND name IS NULL AND confirmed = 0"
                             " AND status = 'nxdomain' AND ttl = 900"),
                     1);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM dns_ptr WHERE ip ="
                             " '2001:db8::1' AND name = 'v6.example.test'"
                             " AND confirmed = 1"),
                     1);
    /* what example.test publishes, and its key of selector s1024 */
    ck_assert_int_eq(
        sql_int("SELECT count(*) FROM dns_published WHERE domain ="
                " 'example.test' AND tree_at = 'example.test' AND psl_at ="
                " 'example.test' AND differ = 0 AND tree_record = 'v=DMARC1;"
                " p=none; rua=mailto:d@example.test' AND spf_records = 1 AND"
                " spf_lookups = 2 AND spf_all = 0 AND spf_includes ="
                " 'include:spf1.example.test include:sendgrid.net' AND"
                " spf_error IS NULL AND ttl = 3600"),
        1);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM dns_dkim WHERE domain ="
                             " 'example.test' AND selector = 's1024' AND"
                             " status = 'ok' AND present = 1 AND key_type ="
                             " 'rsa' AND key_bits = 1024 AND ttl = 3600"),
                     1);
    /* a second run is served from the cache: nothing asked */
    rc = sift(&o, &e, "resolve", "--dns-server", server, NULL);
    ck_assert_int_eq(rc, 0);
    ck_assert_str_eq(e, "resolve: nothing to look up (7 addresses cached)\n");
    free(o);
    free(e);
    /* expiry: 192.0.2.1's 600 s are over, 192.0.2.3's 900 s are not */
    sql_exec("UPDATE dns_ptr SET looked_up = looked_up - 700");
    rc = sift(&o, &e, "resolve", "--dns-server", server, NULL);
    ck_assert_int_eq(rc, 0);
    ck_assert_msg(strncmp(e, "resolved 4 source addresses in ", 31) == 0 &&
                      strstr(e, " s: 4 confirmed, 0 unconfirmed, 0 without "
                                "a name, 0 not answered (9 queries, "),
                  "%s", e);
    free(o);
    free(e);
    ck_assert_int_eq(
        sql_int("SELECT count(*) FROM dns_ptr WHERE"
                " looked_up + ttl <= CAST(strftime('%s', 'now') AS INTEGER)"),
        0);
    /* --quiet: nothing at all */
    sql_exec("DELETE FROM dns_ptr WHERE ip = '192.0.2.4'");
    rc = sift(&o, &e, "resolve", "--quiet", "--dns-server", server, NULL);
    ck_assert_int_eq(rc, 0);
    ck_assert_str_eq(o, "");
    ck_assert_str_eq(e, "");
    free(o);
    free(e);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM dns_ptr WHERE ip ="
                             " '192.0.2.4' AND name = 'mail-sor-f41.google.com'"
                             " AND confirmed = 1 AND ttl = 300"),
                     1);
}
END_TEST

/* report and export show the cached names; a confirmed name's
 * organisational domain names its service (mail-sor-f41.google.com is
 * Google); ingest --dns and report --dns resolve on the way. */
START_TEST(test_report_and_export_show_names)
{
    char *o = NULL, *e = NULL;
    int rc;

    ingest_sources(ips, N_IPS);
    /* before resolve: no names, and no lookups */
    rc = sift(&o, &e, "report", "--format", "json", "--all", NULL);
    ck_assert_int_eq(rc, 0);
    ck_assert_ptr_null(strstr(o, "mail-sor-f41"));
    ck_assert_ptr_nonnull(
        strstr(o, "\"source_ip\": \"192.0.2.4\", \"sender\": null,"));
    free(o);
    free(e);
    rc = sift(&o, &e, "report", "--format", "json", "--all", "--dns-server",
              server, NULL);
    ck_assert_msg(rc == 0, "%d: %s", rc, e);
    ck_assert_msg(strncmp(e, "resolved 7 source addresses in ", 31) == 0, "%s",
                  e);
    ck_assert_ptr_nonnull(strstr(o, "\"source_ip\": \"192.0.2.4\", "
                                    "\"sender\": \"Google Workspace / "
                                    "Gmail\","));
    ck_assert_ptr_nonnull(
        strstr(o, "\"ptr\": \"mail-sor-f41.google.com\", "
                  "\"ptr_unconfirmed\": null, \"ptr_org\": \"google.com\""));
    ck_assert_ptr_nonnull(strstr(o,
                                 "\"ptr\": null, \"ptr_unconfirmed\": "
                                 "\"forged.example.test\", \"ptr_org\": null"));
    ck_assert_ptr_nonnull(
        strstr(o, "\"ptr\": \"v6.example.test\", \"ptr_unconfirmed\": "
                  "null, \"ptr_org\": \"example.test\""));
    /* the NXDOMAIN source has no name */
    ck_assert_ptr_nonnull(strstr(o, "\"source_ip\": \"192.0.2.3\""));
    free(o);
    free(e);
    rc = sift(&o, &e, "export", NULL);
    ck_assert_int_eq(rc, 0);
    ck_assert_ptr_nonnull(strstr(o, ",dkim_aligned,categories,ptr,"
                                    "ptr_unconfirmed,ptr_org\r\n"));
    ck_assert_ptr_nonnull(strstr(o, ",192.0.2.4,4,none,"));
    ck_assert_ptr_nonnull(
        strstr(o, ",mail-sor-f41.google.com,,google.com\r\n"));
    ck_assert_ptr_nonnull(strstr(o, ",,forged.example.test,\r\n"));
    free(o);
    free(e);
    /* the report's CSV carries them too, as its last three columns */
    rc = sift(&o, &e, "report", "--format", "csv", "--all", NULL);
    ck_assert_int_eq(rc, 0);
    ck_assert_ptr_nonnull(
        strstr(o, ",sender_new,ptr,ptr_unconfirmed,ptr_org\r\n"));
    ck_assert_ptr_nonnull(strstr(o, "\r\nexample.test,none,192.0.2.4,"));
    ck_assert_ptr_nonnull(
        strstr(o, ",0,mail-sor-f41.google.com,,google.com\r\n"));
    ck_assert_ptr_nonnull(strstr(o, ",0,,forged.example.test,\r\n"));
    free(o);
    free(e);
    rc = sift(&o, &e, "export", "--format", "jsonl", NULL);
    ck_assert_int_eq(rc, 0);
    ck_assert_ptr_nonnull(strstr(
        o, "\"ptr\": \"mail-a.example.test\", \"ptr_unconfirmed\": null, "
           "\"ptr_org\": \"example.test\"}\n"));
    free(o);
    free(e);
    /* ingest --dns: a new source is looked up, the others are cached */
    sql_exec("INSERT INTO records (report_id, idx, source_ip, count,"
             " dmarc_fail, would_reject, outcome, spf_aligned, dkim_aligned,"
             " categories, flags) VALUES (1, 99, '2001:db8::2', 1, 0, 0, 0,"
             " 0, 0, 0, 0)");
    rc = sift(&o, &e, "ingest", "--dns-server", server, "--quiet", "/dev/null",
              NULL);
    ck_assert_msg(rc == 65 || rc == 0, "%d: %s", rc, e);
    free(o);
    free(e);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM dns_ptr"), 8);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM dns_ptr WHERE ip ="
                             " '2001:db8::2' AND status = 'nxdomain'"),
                     1);
}
END_TEST

/* What the domains publish now, against what the reports saw: the
 * digest's lines, JSON, and advice that knows the include is there. */
static const char two_reports[] =
    "<?xml version=\"1.0\"?>\n<feedback><report_metadata><org_name>dns.test"
    "</org_name><email>r@dns.test</email><report_id>pub-1</report_id>"
    "<date_range><begin>1700000000</begin><end>1700086399</end>"
    "</date_range></report_metadata><policy_published><domain>example.test"
    "</domain><p>none</p></policy_published><record><row><source_ip>"
    "198.51.100.23</source_ip><count>460</count><policy_evaluated>"
    "<disposition>none</disposition><dkim>fail</dkim><spf>fail</spf>"
    "</policy_evaluated></row><identifiers><header_from>example.test"
    "</header_from></identifiers><auth_results><dkim><domain>sendgrid.net"
    "</domain><selector>s1</selector><result>pass</result></dkim><spf>"
    "<domain>bounces.sendgrid.net</domain><result>pass</result></spf>"
    "</auth_results></record><record><row><source_ip>192.0.2.1</source_ip>"
    "<count>2</count><policy_evaluated><disposition>none</disposition>"
    "<dkim>fail</dkim><spf>fail</spf></policy_evaluated></row><identifiers>"
    "<header_from>example.test</header_from></identifiers><auth_results>"
    "<dkim><domain>example.test</domain><selector>s1024</selector><result>"
    "fail</result></dkim><dkim><domain>News.Example.Test</domain><selector>"
    "s2048</selector><result>fail</result></dkim><dkim><domain>"
    "xexample.test</domain><selector>zz</selector><result>fail</result>"
    "</dkim><spf><domain>example.test</domain><result>fail</result></spf>"
    "</auth_results></record></feedback>\n";
static const char dept_report[] =
    "<?xml version=\"1.0\"?>\n<feedback><report_metadata><org_name>dns.test"
    "</org_name><email>r@dns.test</email><report_id>pub-2</report_id>"
    "<date_range><begin>1700000000</begin><end>1700086399</end>"
    "</date_range></report_metadata><policy_published><domain>"
    "a.dept.example.test</domain><p>none</p></policy_published><record>"
    "<row><source_ip>192.0.2.1</source_ip><count>3</count>"
    "<policy_evaluated><disposition>none</disposition><dkim>fail</dkim>"
    "<spf>fail</spf></policy_evaluated></row><identifiers><header_from>"
    "a.dept.example.test</header_from></identifiers><auth_results><spf>"
    "<domain>a.dept.example.test</domain><result>fail</result></spf>"
    "</auth_results></record></feedback>\n";

/* Google Workspace mail for the domain whose SPF needs 12 lookups. */
static const char big_report[] =
    "<?xml version=\"1.0\"?>\n<feedback><report_metadata><org_name>dns.test"
    "</org_name><email>r@dns.test</email><report_id>pub-3</report_id>"
    "<date_range><begin>1700000000</begin><end>1700086399</end>"
    "</date_range></report_metadata><policy_published><domain>"
    "big.example.test</domain><p>none</p></policy_published><record><row>"
    "<source_ip>192.0.2.4</source_ip><count>7</count><policy_evaluated>"
    "<disposition>none</disposition><dkim>fail</dkim><spf>fail</spf>"
    "</policy_evaluated></row><identifiers><header_from>big.example.test"
    "</header_from></identifiers><auth_results><dkim><domain>"
    "big-example-test.20230601.gappssmtp.com</domain><selector>20230601"
    "</selector><result>pass</result></dkim><spf><domain>big.example.test"
    "</domain><result>fail</result></spf></auth_results></record>"
    "</feedback>\n";

START_TEST(test_digest_shows_published_differences)
{
    char p1[700], p2[700], p3[700], *o = NULL, *e = NULL;
    int rc;

    snprintf(p1, sizeof(p1), "%s/a.xml", box);
    snprintf(p2, sizeof(p2), "%s/b.xml", box);
    snprintf(p3, sizeof(p3), "%s/c.xml", box);
    ck_assert_int_eq(spit(p1, two_reports, strlen(two_reports)), 0);
    ck_assert_int_eq(spit(p2, dept_report, strlen(dept_report)), 0);
    ck_assert_int_eq(spit(p3, big_report, strlen(big_report)), 0);
    rc = sift(NULL, &e, "ingest", "--quiet", p1, p2, p3, NULL);
    ck_assert_msg(rc == 0, "%d: %s", rc, e);
    free(e);
    /* offline: no "Published now" at all */
    rc = sift(&o, &e, "report", NULL);
    ck_assert_int_eq(rc, 0);
    ck_assert_ptr_null(strstr(o, "Published now"));
    free(o);
    free(e);
    rc = sift(&o, &e, "resolve", "--dns-server", server, NULL);
    ck_assert_msg(rc == 0, "%d: %s", rc, e);
    /* s1024 and s2048 (d=news.example.test, under the domain); not
     * xexample.test's */
    ck_assert_ptr_nonnull(strstr(e, "looked up what 3 policy domains publish "
                                    "(DMARC, SPF, 2 DKIM keys)\n"));
    free(o);
    free(e);
    rc = sift(&o, &e, "report", NULL);
    ck_assert_int_eq(rc, 0);
    ck_assert_msg(
        strstr(o, "Published now (DNS, ") &&
            strstr(o, "):\n  DMARC: p=reject published now at "
                      "_dmarc.dept.example.test; the reports saw\n"
                      "    p=none\n"
                      "  DMARC: the RFC 9989 tree walk finds "
                      "_dmarc.dept.example.test (p=reject), the\n"
                      "    PSL lookup _dmarc.example.test (p=none): receivers "
                      "may apply either\n"
                      "  SPF: no SPF record at a.dept.example.test\n"
                      "Messages: 3,"),
        "%s", o);
    ck_assert_msg(strstr(o, ":\n  DKIM: s1024._domainkey.example.test is a "
                            "1024-bit RSA key (2048 is\n    recommended)\n") !=
                      NULL,
                  "%s", o);
    /* the confirmed name next to the address */
    ck_assert_msg(strstr(o, "    IP: 192.0.2.1 mail-a.example.test (3)\n"),
                  "%s", o);
    ck_assert_msg(strstr(o, "fix: SendGrid: include:sendgrid.net is already "
                            "in example.test's SPF; what\n      is missing is "
                            "the custom return-path: ") != NULL,
                  "%s", o);
    free(o);
    free(e);
    rc = sift(&o, &e, "report", "--format", "json", NULL);
    ck_assert_int_eq(rc, 0);
    ck_assert_msg(
        strstr(o, "\"published\": {\"looked_up\": \"") &&
            strstr(o, "\"dmarc\": {\"tree_walk\": {\"at\": "
                      "\"dept.example.test\", \"record\": \"v=DMARC1; "
                      "p=reject\"}, \"psl\": {\"at\": \"example.test\", "
                      "\"record\": \"v=DMARC1; p=none; "
                      "rua=mailto:d@example.test\"}, \"differ\": true}") &&
            strstr(o, "\"spf\": {\"record\": \"v=spf1 "
                      "include:spf1.example.test include:sendgrid.net -all\", "
                      "\"records\": 1, \"lookups\": 2, \"over_limit\": "
                      "false, \"all_pass\": false, \"includes\": "
                      "\"include:spf1.example.test include:sendgrid.net\", "
                      "\"error\": null}, \"dkim\": [{\"domain\": "
                      "\"example.test\", \"selector\": \"s1024\", "
                      "\"status\": \"ok\", \"present\": true, \"type\": "
                      "\"rsa\", \"bits\": 1024}, {\"domain\": "
                      "\"news.example.test\", \"selector\": \"s2048\", "
                      "\"status\": \"nxdomain\", \"present\": false, "
                      "\"type\": null, \"bits\": 0}], \"differences\": "
                      "[\"DKIM: s1024._domainkey.example.test is a 1024-bit "
                      "RSA key (2048 is recommended)\", \"DKIM: no key at "
                      "s2048._domainkey.news.example.test, a selector the "
                      "reports show in use\"]}"),
        "%s", o);
    /* 12 lookups: the digest says so, and the advice will not add one */
    ck_assert_msg(
        strstr(o, "\"differences\": [\"SPF: 12 DNS lookups, over the limit "
                  "of 10: receivers return permerror (flatten includes or "
                  "drop unused ones)\"]}") &&
            strstr(o, "Google Workspace: turn on DKIM signing for the domain "
                      "in the Google Admin console (Apps > Gmail > "
                      "Authenticate email); for SPF, include:_spf.google.com "
                      "would be lookup 13 of big.example.test's SPF, over the "
                      "limit of 10: flatten or drop an include first"),
        "%s", o);
    free(o);
    free(e);
}
END_TEST

/* A policy domain that is no DNS name (an empty label; 300 bytes): its
 * lookups fail alone (the longer one is not even asked), resolve goes
 * on and exits 0. */
START_TEST(test_bad_policy_domain)
{
    char doc[2048], path[700], *o = NULL, *e = NULL, longname[301];
    const char *names[] = {"a..b.example.test", longname};
    size_t i;
    int rc;

    memset(longname, 'x', 300);
    longname[300] = '\0';
    for (i = 0; i < 2; i++) {
        snprintf(doc, sizeof(doc),
                 "<?xml version=\"1.0\"?>\n<feedback><report_metadata>"
                 "<org_name>dns.test</org_name><report_id>bad-%zu</report_id>"
                 "<date_range><begin>1700000000</begin><end>1700086399</end>"
                 "</date_range></report_metadata><policy_published><domain>"
                 "%s</domain><p>none</p></policy_published><record><row>"
                 "<source_ip>192.0.2.1</source_ip><count>1</count>"
                 "<policy_evaluated><disposition>none</disposition><dkim>"
                 "fail</dkim><spf>fail</spf></policy_evaluated></row>"
                 "<identifiers><header_from>%s</header_from></identifiers>"
                 "</record></feedback>\n",
                 i, names[i], names[i]);
        snprintf(path, sizeof(path), "%s/bad%zu.xml", box, i);
        ck_assert_int_eq(spit(path, doc, strlen(doc)), 0);
        rc = sift(NULL, &e, "ingest", "--quiet", path, NULL);
        ck_assert_msg(rc == 0, "%d: %s", rc, e);
        free(e);
    }
    rc = sift(&o, &e, "resolve", "--dns-server", server, NULL);
    ck_assert_msg(rc == 0, "%d: %s", rc, e);
    ck_assert_msg(strstr(e, "looked up what 1 policy domain publishes") != NULL,
                  "%s", e);
    free(o);
    free(e);
    /* the walk goes on above the empty label; no name of 300 bytes is
     * asked */
    ck_assert_int_eq(sql_int("SELECT count(*) FROM dns_published"), 1);
    ck_assert_int_eq(
        sql_int("SELECT count(*) FROM dns_published WHERE"
                " domain = 'a..b.example.test' AND tree_at ="
                " 'example.test' AND psl_at = 'example.test' AND differ ="
                " 0 AND spf_record IS NULL AND ttl = 300"),
        1);
    rc = sift(&o, &e, "report", NULL);
    ck_assert_int_eq(rc, 0);
    ck_assert_ptr_nonnull(
        strstr(o, "  SPF: no SPF record at a..b.example.test\n"));
    free(o);
    free(e);
}
END_TEST

/* A server that never answers: one line, exit 0, within the timeout x
 * tries (200 + 400 ms) and a margin. */
START_TEST(test_silent_server)
{
    struct sockaddr_in a = {0};
    socklen_t n = sizeof(a);
    int s = socket(AF_INET, SOCK_DGRAM, 0), rc;
    char want[200], sv[64], *o = NULL, *e = NULL;
    double t0;

    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
    ck_assert_int_eq(getsockname(s, (struct sockaddr *)&a, &n), 0);
    snprintf(sv, sizeof(sv), "127.0.0.1:%d", ntohs(a.sin_port));
    ingest_sources(ips, N_IPS);
    t0 = now_s();
    rc = sift(&o, &e, "resolve", "--dns-server", sv, "--dns-timeout", "200",
              NULL);
    ck_assert_double_lt(now_s() - t0, 3.0);
    ck_assert_int_eq(rc, 0);
    ck_assert_str_eq(o, "");
    snprintf(want, sizeof(want),
             "dmarcsift: DNS: no answer from %s (7 queries unanswered): "
             "source names not looked up\n",
             sv);
    ck_assert_str_eq(e, want);
    free(o);
    free(e);
    /* report --dns: the report all the same, after that one line */
    t0 = now_s();
    rc = sift(&o, &e, "report", "--dns-server", sv, "--dns-timeout", "200",
              NULL);
    ck_assert_double_lt(now_s() - t0, 3.0);
    ck_assert_int_eq(rc, 0);
    ck_assert_str_eq(e, want);
    ck_assert_ptr_nonnull(strstr(o, "dmarcsift report: 1 domain, 28 messages"));
    free(o);
    free(e);
    close(s);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM dns_ptr"), 0);
}
END_TEST

START_TEST(test_resolve_usage)
{
    char *o = NULL, *e = NULL;

    ingest_sources(ips, 1);
    ck_assert_int_eq(
        sift(&o, &e, "resolve", "--dns-server", "dns.example", NULL), 64);
    ck_assert_str_eq(e, "dmarcsift: bad DNS server 'dns.example' (want "
                        "ADDR[:PORT], IPv6 as [ADDR]:PORT) (see 'dmarcsift "
                        "resolve --help')\n");
    free(o);
    free(e);
    ck_assert_int_eq(sift(&o, &e, "resolve", "--dns-timeout", "5", NULL), 64);
    ck_assert_str_eq(e, "dmarcsift: --dns-timeout needs milliseconds "
                        "(10..60000), not '5' (see 'dmarcsift resolve "
                        "--help')\n");
    free(o);
    free(e);
}
END_TEST

/* Schema 5 -> 6 adds the empty cache and keeps what was stored. */
START_TEST(test_v5_database_gets_cache)
{
    sift_store *st = NULL;
    sift_err err;

    sift_err_clear(&err);
    ck_assert_int_eq(sift_store__open_at(&st, dbpath, 5, &err), SIFT_OK);
    ck_assert_int_eq(sqlite3_exec(sift_store__db(st),
                                  "INSERT INTO failed_inputs (id, path, reason,"
                                  " size, raw_hash, first_seen, last_seen)"
                                  " VALUES (3, 'x.xml', 'bad', 1, x'00', 1,"
                                  " 2)",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sift_store_close(st);
    ck_assert_int_eq(sql_int("PRAGMA user_version"), 5);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM sqlite_master WHERE name ="
                             " 'dns_ptr'"),
                     0);
    ck_assert_int_eq(sift_store_open(&st, dbpath, 0, &err), SIFT_OK);
    sift_store_close(st);
    ck_assert_int_eq(sql_int("PRAGMA user_version"), SIFT_STORE_SCHEMA);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM dns_ptr"), 0);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM pragma_table_info("
                             "'dns_ptr')"),
                     6);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM dns_published"), 0);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM dns_dkim"), 0);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM failed_inputs WHERE id = 3"
                             " AND path = 'x.xml'"),
                     1);
}
END_TEST

/* --- PostgreSQL (SIFT_TEST_PG) ----------------------------------------- */

/* Run one command on the SQLite file and on the PostgreSQL database in
 * turn (dbpath switched): the outputs must be the same bytes. */
static void
same_output(const char *pg_uri, const char *a1, const char *a2, const char *a3,
            const char *a4)
{
    char sq[sizeof(dbpath)], *o1 = NULL, *o2 = NULL, *e1 = NULL, *e2 = NULL;
    int r1, r2;

    memcpy(sq, dbpath, sizeof(sq));
    r1 = sift(&o1, &e1, a1, a2, a3, a4, NULL);
    snprintf(dbpath, sizeof(dbpath), "%s", pg_uri);
    r2 = sift(&o2, &e2, a1, a2, a3, a4, NULL);
    memcpy(dbpath, sq, sizeof(dbpath));
    ck_assert_msg(r1 == 0 && r2 == 0, "%s: %d %d: %s / %s", a1, r1, r2, e1, e2);
    if (strcmp(o1, o2) != 0) { /* both kept in the sandbox to compare */
        char p1[700], p2[700];

        snprintf(p1, sizeof(p1), "%s/sqlite.out", box);
        snprintf(p2, sizeof(p2), "%s/pg.out", box);
        spit(p1, o1, strlen(o1));
        spit(p2, o2, strlen(o2));
        ck_abort_msg("%s %s %s: SQLite and PostgreSQL differ", a1, a2 ? a2 : "",
                     a3 ? a3 : "");
    }
    ck_assert_str_eq(e1, e2);
    free(o1);
    free(o2);
    free(e1);
    free(e2);
}

#define STAMP                                                                  \
    "UPDATE dns_ptr SET looked_up = 1700150000;"                               \
    "UPDATE dns_published SET looked_up = 1700150000;"                         \
    "UPDATE dns_dkim SET looked_up = 1700150000"

/* The same sources resolved into SQLite and into PostgreSQL: the same
 * cache answers, and report, export and stats are the same bytes. */
START_TEST(test_postgresql_same_cache)
{
    const char *base = getenv("SIFT_TEST_PG");
    char name[64], sql[128], uri[600], sq[sizeof(dbpath)];
    char *o = NULL, *e = NULL;
    int rc;

    snprintf(name, sizeof(name), "sift_dns_%d", (int)getpid());
    /* left by an earlier run killed before it dropped it (same pid) */
    snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", name);
    pgu_exec(base, sql);
    snprintf(sql, sizeof(sql), "CREATE DATABASE %s", name);
    pgu_exec(base, sql);
    pgu_uri(uri, sizeof(uri), base, name);
    setenv("SOURCE_DATE_EPOCH", "1700200000", 1);
    ingest_sources(ips, N_IPS);
    rc = sift(&o, &e, "resolve", "--quiet", "--dns-server", server, NULL);
    ck_assert_msg(rc == 0, "resolve: %d: %s", rc, e);
    free(o);
    free(e);
    memcpy(sq, dbpath, sizeof(sq));
    snprintf(dbpath, sizeof(dbpath), "%s", uri);
    ingest_sources(ips, N_IPS);
    rc = sift(&o, &e, "resolve", "--dns-server", server, NULL);
    ck_assert_msg(rc == 0, "resolve on PostgreSQL: %d: %s", rc, e);
    ck_assert_msg(strncmp(e, "resolved 7 source addresses in ", 31) == 0 &&
                      strstr(e, " s: 4 confirmed, 2 unconfirmed, 1 without "
                                "a name, 0 not answered (14 queries, ") &&
                      strstr(e, "/s)\nlooked up what 1 policy domain "
                                "publishes (DMARC, SPF, 1 DKIM key)\n"),
                  "%s", e);
    free(o);
    free(e);
    rc = sift(&o, &e, "resolve", "--dns-server", server, NULL);
    ck_assert_int_eq(rc, 0);
    ck_assert_str_eq(e, "resolve: nothing to look up (7 addresses cached)\n");
    free(o);
    free(e);
    memcpy(dbpath, sq, sizeof(dbpath));
    /* the two lookups ran seconds apart: the same time in both */
    sql_exec(STAMP);
    pgu_exec(uri, STAMP);
    same_output(uri, "report", "--all", NULL, NULL);
    same_output(uri, "report", "--format", "json", "--all");
    same_output(uri, "report", "--format", "csv", "--all");
    same_output(uri, "export", "--format", "csv", NULL);
    same_output(uri, "export", "--format", "jsonl", NULL);
    /* the names are there, not only equal */
    snprintf(dbpath, sizeof(dbpath), "%s", uri);
    rc = sift(&o, &e, "report", "--format", "json", "--all", NULL);
    memcpy(dbpath, sq, sizeof(dbpath));
    ck_assert_int_eq(rc, 0);
    ck_assert_ptr_nonnull(strstr(o, "\"source_ip\": \"192.0.2.4\", "
                                    "\"sender\": \"Google Workspace / "
                                    "Gmail\","));
    ck_assert_ptr_nonnull(strstr(o, "\"ptr\": \"mail-sor-f41.google.com\""));
    free(o);
    free(e);
    unsetenv("SOURCE_DATE_EPOCH");
    snprintf(sql, sizeof(sql), "DROP DATABASE %s WITH (FORCE)", name);
    pgu_exec(base, sql);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("dns");
    TCase *srvc = tcase_create("nsd"), *local = tcase_create("local");
    SRunner *r;
    int failed, have = access(NSD, X_OK) == 0;

    signal(SIGPIPE, SIG_IGN);
    if (!have)
        printf("dns: SKIPPED: %s not installed (Debian: nsd)\n", NSD);
    tcase_add_checked_fixture(local, setup, teardown);
    tcase_add_test(local, test_key_der);
    tcase_add_test(local, test_key_records);
    tcase_add_test(local, test_spf_and_dmarc_records);
    tcase_add_test(local, test_bad_server_values);
    tcase_add_test(local, test_silent_server);
    tcase_add_test(local, test_resolve_usage);
    tcase_add_test(local, test_v5_database_gets_cache);
    suite_add_tcase(s, local);
    if (have) {
        tcase_set_timeout(srvc, 120);
        tcase_add_unchecked_fixture(srvc, server_start, server_stop);
        tcase_add_checked_fixture(srvc, setup, teardown);
        tcase_add_test(srvc, test_ptr_confirmed_unconfirmed_nxdomain);
        tcase_add_test(srvc, test_published_records);
        tcase_add_test(srvc, test_resolve_caches_and_reuses);
        tcase_add_test(srvc, test_many_domains_get_their_selectors);
        tcase_add_test(srvc, test_report_and_export_show_names);
        tcase_add_test(srvc, test_digest_shows_published_differences);
        tcase_add_test(srvc, test_bad_policy_domain);
        if (getenv("SIFT_TEST_PG") != NULL)
            tcase_add_test(srvc, test_postgresql_same_cache);
        else
            printf("dns: PostgreSQL case skipped (SIFT_TEST_PG unset)\n");
        suite_add_tcase(s, srvc);
    }
    r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    failed = srunner_ntests_failed(r);
    srunner_free(r);
    if (!have)
        return failed ? 1 : 77;
    return failed ? 1 : 0;
}
