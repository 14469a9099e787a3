/* check_imap.c -- `dmarcsift ingest imaps://...` against a real Dovecot.
 *
 * The suite starts /usr/sbin/dovecot on 127.0.0.1 (a free port) with a
 * config, a passwd-file and a self-signed certificate made in a temporary
 * directory, delivers messages with IMAP APPEND (so UIDs follow delivery
 * order), runs the dmarcsift binary, and stops the server at the end.
 * Without dovecot (or openssl) it prints SKIPPED and exits 77. Each test
 * has its own user, hence its own Maildir. Also here: --move-to for a
 * local Maildir, which needs no server. */
#include <check.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

#define DOVECOT "/usr/sbin/dovecot"

static char *srv;      /* the server's directory */
static int port;       /* its imaps port */
static char cert[600]; /* its certificate (the test's CA) */
static char *box;      /* per-test sandbox */
static char dbpath[600];

/* --- the server -------------------------------------------------------- */

static int
free_port(void)
{
    struct sockaddr_in a = {0};
    socklen_t n = sizeof(a);
    int s = socket(AF_INET, SOCK_STREAM, 0), p;

    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
    ck_assert_int_eq(getsockname(s, (struct sockaddr *)&a, &n), 0);
    p = ntohs(a.sin_port);
    close(s);
    return p;
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

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int
sh(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    return system(cmd);
}

static void
server_start(void)
{
    char path[700], conf[8192];
    const char *login, *internal;
    unsigned mail_uid, mail_gid;
    struct passwd *pw;
    int i;

    srv = sandbox();
    ck_assert_ptr_nonnull(srv);
    chmod(srv, 0755);
    port = free_port();
    snprintf(cert, sizeof(cert), "%s/cert.pem", srv);
    ck_assert_int_eq(
        sh("openssl req -x509 -newkey rsa:2048 -nodes -keyout %s/key.pem "
           "-out %s -days 2 -subj /CN=127.0.0.1 "
           "-addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1",
           srv, cert),
        0);
    snprintf(path, sizeof(path), "%s/passwd", srv);
    {
        FILE *fp = fopen(path, "w");
        ck_assert_ptr_nonnull(fp);
        for (i = 1; i <= 9; i++)
            fprintf(fp, "u%d:{PLAIN}pw-u%d-s3cret::::::\n", i, i);
        fclose(fp);
    }
    snprintf(path, sizeof(path), "%s/mail", srv);
    mkdir(path, 0777);
    chmod(path, 0777);
    /* Dovecot runs no login process as root: as root, use the package's
     * users; otherwise everything runs as the current user. */
    if (getuid() == 0) {
        login = "dovenull";
        internal = "dovecot";
        mail_uid = mail_gid = 65534;
    } else {
        pw = getpwuid(getuid());
        ck_assert_ptr_nonnull(pw);
        login = internal = pw->pw_name;
        mail_uid = getuid();
        mail_gid = getgid();
    }
    snprintf(conf, sizeof(conf),
             "base_dir = %s/run\n"
             "state_dir = %s/state\n"
             "log_path = %s/log\n"
             "protocols = imap\n"
             "listen = 127.0.0.1\n"
             "default_internal_user = %s\n"
             "default_internal_group = %s\n"
             "default_login_user = %s\n"
             "first_valid_uid = 1\n"
             "mail_location = maildir:%s/mail/%%u\n"
             "ssl = required\n"
             "ssl_cert = <%s\n"
             "ssl_key = <%s/key.pem\n"
             "auth_mechanisms = plain login\n"
             "auth_failure_delay = 0\n"
             "passdb {\n  driver = passwd-file\n  args = %s/passwd\n}\n"
             "userdb {\n  driver = static\n"
             "  args = uid=%u gid=%u home=%s/mail/%%u\n}\n"
             "service imap-login {\n"
             "  chroot =\n"
             "  inet_listener imap {\n    port = 0\n  }\n"
             "  inet_listener imaps {\n    address = 127.0.0.1\n"
             "    port = %d\n    ssl = yes\n  }\n}\n"
             "service anvil {\n  chroot =\n}\n",
             srv, srv, srv, internal, internal, login, srv, cert, srv, srv,
             mail_uid, mail_gid, srv, port);
    snprintf(path, sizeof(path), "%s/dovecot.conf", srv);
    ck_assert_int_eq(spit(path, conf, strlen(conf)), 0);
    snprintf(path, sizeof(path), "%s/run", srv);
    mkdir(path, 0755);
    snprintf(path, sizeof(path), "%s/state", srv);
    mkdir(path, 0755);
    ck_assert_int_eq(sh(DOVECOT " -c %s/dovecot.conf", srv), 0);
    for (i = 0; i < 100 && !can_connect(port); i++)
        usleep(50000);
    ck_assert_msg(can_connect(port), "dovecot did not start (see %s/log)", srv);
}

static void
server_stop(void)
{
    if (srv == NULL)
        return;
    sh(DOVECOT " -c %s/dovecot.conf stop >/dev/null 2>&1", srv);
    if (getenv("SIFT_KEEP_DOVECOT") != NULL) /* debugging: keep its log */
        fprintf(stderr, "imap: server files kept in %s\n", srv);
    else
        rm_rf(srv);
    free(srv);
    srv = NULL;
}

static void
setup(void)
{
    box = sandbox();
    ck_assert_ptr_nonnull(box);
    snprintf(dbpath, sizeof(dbpath), "%s/sift.db", box);
}

static void
teardown(void)
{
    rm_rf(box);
    free(box);
    box = NULL;
}

/* --- IMAP from the test's side (libcurl, as a mail client would) ------- */

struct upload {
    const char *p;
    size_t len, off;
};

static size_t
up_read(char *buf, size_t sz, size_t n, void *ctx)
{
    struct upload *u = ctx;
    size_t k = u->len - u->off;

    if (k > sz * n)
        k = sz * n;
    memcpy(buf, u->p + u->off, k);
    u->off += k;
    return k;
}

static size_t
to_buf(char *p, size_t sz, size_t n, void *ctx)
{
    char **b = ctx;
    size_t old = *b ? strlen(*b) : 0;

    *b = realloc(*b, old + sz * n + 1);
    memcpy(*b + old, p, sz * n);
    (*b)[old + sz * n] = '\0';
    return sz * n;
}

static CURL *
client(const char *user)
{
    static char pw[64];
    CURL *c = curl_easy_init();

    snprintf(pw, sizeof(pw), "pw-%s-s3cret", user);
    curl_easy_setopt(c, CURLOPT_USERNAME, user);
    curl_easy_setopt(c, CURLOPT_PASSWORD, pw);
    curl_easy_setopt(c, CURLOPT_CAINFO, cert);
    return c;
}

/* Deliver messages to user's mailbox, in order (APPEND). */
static void
deliver(const char *user, const char *mailbox, char *const *msgs, size_t n)
{
    CURL *c = client(user);
    char url[300];
    size_t i;

    snprintf(url, sizeof(url), "imaps://127.0.0.1:%d/%s", port, mailbox);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, up_read);
    for (i = 0; i < n; i++) {
        struct upload u = {msgs[i], strlen(msgs[i]), 0};
        CURLcode cc;
        curl_easy_setopt(c, CURLOPT_READDATA, &u);
        curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)u.len);
        cc = curl_easy_perform(c);
        ck_assert_msg(cc == CURLE_OK, "APPEND: %s", curl_easy_strerror(cc));
    }
    curl_easy_cleanup(c);
}

/* A custom command's untagged answer (malloc'd). */
static char *
imap_cmd(const char *user, const char *mailbox, const char *cmd)
{
    CURL *c = client(user);
    char url[300];
    char *out = NULL;
    CURLcode cc;

    snprintf(url, sizeof(url), "imaps://127.0.0.1:%d/%s", port,
             mailbox ? mailbox : "");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, cmd);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, to_buf);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &out);
    cc = curl_easy_perform(c);
    ck_assert_msg(cc == CURLE_OK, "%s: %s", cmd, curl_easy_strerror(cc));
    curl_easy_cleanup(c);
    return out ? out : strdup("");
}

/* Messages in a mailbox (-1: it does not exist). */
static long
count(const char *user, const char *mailbox)
{
    CURL *c = client(user);
    char url[300], cmd[300];
    char *out = NULL, *p;
    long n = -1;

    snprintf(url, sizeof(url), "imaps://127.0.0.1:%d/", port);
    snprintf(cmd, sizeof(cmd), "STATUS \"%s\" (MESSAGES)", mailbox);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, cmd);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, to_buf);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &out);
    if (curl_easy_perform(c) == CURLE_OK && out &&
        (p = strstr(out, "MESSAGES ")) != NULL)
        n = atol(p + 9);
    free(out);
    curl_easy_cleanup(c);
    return n;
}

/* --- messages ---------------------------------------------------------- */

/* A report message whose report id is "r<i>" (one record, count i). */
static char *
report_msg(int i)
{
    char *m = malloc(4096);

    snprintf(m, 4096,
             "From: dmarc@reporter.example\r\n"
             "To: rua@example.com\r\n"
             "Subject: Report domain: example.com Report-ID: r%d\r\n"
             "Message-ID: <r%d@reporter.example>\r\n"
             "Date: Tue, 14 Nov 2023 00:00:00 +0000\r\n"
             "MIME-Version: 1.0\r\n"
             "Content-Type: application/xml\r\n"
             "Content-Disposition: attachment;"
             " filename=\"reporter.example!example.com!1700000000!"
             "1700086399.xml\"\r\n"
             "\r\n"
             "<?xml version=\"1.0\"?>\r\n<feedback><report_metadata>"
             "<org_name>reporter.example</org_name>"
             "<email>dmarc@reporter.example</email>"
             "<report_id>r%d</report_id><date_range><begin>1700000000</begin>"
             "<end>1700086399</end></date_range></report_metadata>"
             "<policy_published><domain>example.com</domain><p>none</p>"
             "</policy_published><record><row>"
             "<source_ip>192.0.2.%d</source_ip><count>%d</count>"
             "<policy_evaluated><disposition>none</disposition>"
             "<dkim>pass</dkim><spf>fail</spf></policy_evaluated></row>"
             "<identifiers><header_from>example.com</header_from>"
             "</identifiers><auth_results><dkim><domain>example.com</domain>"
             "<result>pass</result></dkim><spf><domain>example.com</domain>"
             "<result>fail</result></spf></auth_results></record>"
             "</feedback>\r\n",
             i, i, i, i % 250 + 1, i);
    return m;
}

/* The messages of an mbox (From_ lines dropped, ">From " unquoted). */
static size_t
split_mbox(const char *path, char **out, size_t max)
{
    size_t len, n = 0;
    char *all = slurp(path, &len), *p, *next;

    ck_assert_ptr_nonnull(all);
    for (p = all; p && *p && n < max; p = next) {
        char *body = strchr(p, '\n'), *m, *q;
        ck_assert_ptr_nonnull(body);
        body++;
        next = strstr(body, "\nFrom ");
        if (next)
            *++next = '\0';
        m = malloc(strlen(body) + 1);
        for (q = m; *body;) {
            if ((body == m || body[-1] == '\n' || q == m) &&
                strncmp(body, ">From ", 6) == 0)
                body++;
            *q++ = *body++;
        }
        *q = '\0';
        out[n++] = m;
        if (next)
            *next = 'F';
    }
    free(all);
    return n;
}

/* The fixture messages: every .eml in fixtures/mail (sorted) and the
 * messages of the sample rua export. */
static size_t
fixture_msgs(char **out, size_t max)
{
    static const char *const eml[] = {
        "arf.eml",          "contenttype-typo.eml", "forwarded.eml",
        "inline.eml",       "mbox-3.eml",           "mimecast.eml",
        "octet-stream.eml", "report-qp.eml",        "report-zip.eml",
        "rfc2231.eml",      "text-only.eml"};
    size_t n = 0, i, len;

    for (i = 0; i < sizeof(eml) / sizeof(eml[0]) && n < max; i++) {
        char rel[64];
        snprintf(rel, sizeof(rel), "mail/%s", eml[i]);
        out[n] = slurp(fixture(rel), &len);
        ck_assert_ptr_nonnull(out[n]);
        n++;
    }
    return n + split_mbox(fixture("sample/rua-export.mbox"), out + n, max - n);
}

static void
free_msgs(char **m, size_t n)
{
    while (n > 0)
        free(m[--n]);
}

/* --- running dmarcsift ------------------------------------------------- */

static char url_buf[300];

static const char *
url(const char *user, const char *mailbox)
{
    snprintf(url_buf, sizeof(url_buf), "imaps://%s@127.0.0.1:%d/%s", user, port,
             mailbox);
    return url_buf;
}

static const char *
pwfile(const char *user)
{
    static char path[700];
    char pw[64];

    snprintf(path, sizeof(path), "%s/pw-%s", box, user);
    snprintf(pw, sizeof(pw), "pw-%s-s3cret\n", user);
    ck_assert_int_eq(spit(path, pw, strlen(pw)), 0);
    return path;
}

/* Run `dmarcsift --db DB ingest ARGS...` (NULL-terminated). */
static int
ingest(char **out, char **err, const char *db, ...)
{
    const char *argv[32];
    va_list ap;
    int n = 0, rc;
    char *o = NULL, *e = NULL;
    const char *a;

    argv[n++] = SIFT_BINARY;
    argv[n++] = "--db";
    argv[n++] = db;
    argv[n++] = "ingest";
    va_start(ap, db);
    while ((a = va_arg(ap, const char *)) != NULL && n < 31)
        argv[n++] = a;
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

static int64_t
db_int(const char *db, const char *sql)
{
    sqlite3 *h = NULL;
    sqlite3_stmt *s = NULL;
    int64_t v = -1;

    /* -1 when the file or its tables are not there (yet: a run killed
     * before its first commit) */
    if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(h, sql, -1, &s, NULL) != SQLITE_OK) {
        sqlite3_close(h);
        return -1;
    }
    if (sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(h);
    return v;
}

/* One text column of every row, joined by '\n' (malloc'd). */
static char *
db_text(const char *db, const char *sql)
{
    sqlite3 *h = NULL;
    sqlite3_stmt *s = NULL;
    char *out = strdup("");

    ck_assert_int_eq(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL),
                     SQLITE_OK);
    ck_assert_int_eq(sqlite3_prepare_v2(h, sql, -1, &s, NULL), SQLITE_OK);
    while (sqlite3_step(s) == SQLITE_ROW) {
        const char *t = (const char *)sqlite3_column_text(s, 0);
        size_t a = strlen(out), b = t ? strlen(t) : 0;
        out = realloc(out, a + b + 2);
        memcpy(out + a, t ? t : "", b);
        out[a + b] = '\n';
        out[a + b + 1] = '\0';
    }
    sqlite3_finalize(s);
    sqlite3_close(h);
    return out;
}

/* --- a TCP proxy that drops the connection ------------------------------ */

/* Relay 127.0.0.1:lport to the server. cut >= 0: each connection is
 * closed after cut bytes from the server; once: after the first cut, stop
 * listening (reconnecting is refused). Returns the proxy's pid. */
static pid_t
proxy_start(int lport, long cut, int once)
{
    struct sockaddr_in a = {0};
    int ls = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    pid_t pid;

    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)lport);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(ls, (struct sockaddr *)&a, sizeof(a)), 0);
    ck_assert_int_eq(listen(ls, 8), 0);
    if ((pid = fork()) != 0) {
        close(ls);
        return pid;
    }
    for (;;) {
        int c = accept(ls, NULL, NULL), s = socket(AF_INET, SOCK_STREAM, 0);
        long down = 0;
        char buf[16384];

        a.sin_port = htons((uint16_t)port);
        if (c < 0 || connect(s, (struct sockaddr *)&a, sizeof(a)) != 0)
            _exit(1);
        for (;;) {
            fd_set rd;
            ssize_t n;
            FD_ZERO(&rd);
            FD_SET(c, &rd);
            FD_SET(s, &rd);
            if (select((c > s ? c : s) + 1, &rd, NULL, NULL, NULL) < 0)
                break;
            if (FD_ISSET(c, &rd)) {
                if ((n = read(c, buf, sizeof(buf))) <= 0 ||
                    write(s, buf, (size_t)n) != n)
                    break;
            }
            if (FD_ISSET(s, &rd)) {
                if ((n = read(s, buf, sizeof(buf))) <= 0)
                    break;
                if (cut >= 0 && down + n > cut)
                    n = cut - down;
                if (n > 0 && write(c, buf, (size_t)n) != n)
                    break;
                down += n;
                if (cut >= 0 && down >= cut)
                    break;
            }
        }
        if (once && cut >= 0 && down >= cut) {
            close(ls); /* first: a reconnect must find nobody listening */
            close(c);
            close(s);
            pause(); /* until killed */
        }
        close(c);
        close(s);
    }
}

static void
proxy_stop(pid_t pid)
{
    int st;

    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
}

/* --- tests ------------------------------------------------------------- */

/* What the mbox and the mailbox yield: the same outcomes, reports,
 * records, and provenance once the message's own name is cut off. */
START_TEST(test_first_fetch_equals_mbox)
{
    char *msgs[64], *o1, *o2, *e, *p1, *p2;
    char mbox[700], dbm[700];
    size_t n = fixture_msgs(msgs, 64), i;
    FILE *fp;
    int rc;

    snprintf(mbox, sizeof(mbox), "%s/same.mbox", box);
    snprintf(dbm, sizeof(dbm), "%s/mbox.db", box);
    fp = fopen(mbox, "w");
    for (i = 0; i < n; i++) {
        const char *l;
        fputs("From fixture@example Tue Nov 14 00:00:00 2023\n", fp);
        for (l = msgs[i]; *l;) {
            const char *nl = strchr(l, '\n');
            size_t k = nl ? (size_t)(nl - l) + 1 : strlen(l);
            const char *q = l;
            while (q < l + k && *q == '>')
                q++;
            if ((size_t)(l + k - q) >= 5 && strncmp(q, "From ", 5) == 0)
                fputc('>', fp);
            fwrite(l, 1, k, fp);
            l += k;
        }
        if (msgs[i][0] && msgs[i][strlen(msgs[i]) - 1] != '\n')
            fputc('\n', fp);
        fputc('\n', fp);
    }
    fclose(fp);
    deliver("u1", "INBOX", msgs, n);
    rc = ingest(&o1, &e, dbm, mbox, NULL);
    ck_assert_msg(rc == 0 || rc == 65, "mbox ingest: %d %s", rc, e);
    free(e);
    ck_assert_int_eq(ingest(&o2, &e, dbpath, "--password-file", pwfile("u1"),
                            "--cacert", cert, url("u1", "INBOX"), NULL),
                     rc);
    ck_assert_str_eq(o2, o1);
    ck_assert_int_ge(db_int(dbpath, "SELECT count(*) FROM reports"), 3);
    free(o1);
    free(o2);
    free(e);
    /* the same reports, with the same records */
    p1 = db_text(dbm, "SELECT org_name || ' ' || report_id || ' ' ||"
                      " record_count || ' ' || message_count FROM reports"
                      " ORDER BY 1");
    p2 = db_text(dbpath, "SELECT org_name || ' ' || report_id || ' ' ||"
                         " record_count || ' ' || message_count FROM reports"
                         " ORDER BY 1");
    ck_assert_str_eq(p2, p1);
    free(p1);
    free(p2);
    /* provenance: "same.mbox#N/..." and "...;UID=N/...": UIDs follow the
     * delivery order, so the rest must match */
    p1 = db_text(dbm, "SELECT substr(input_path, instr(input_path, '#') + 1)"
                      " FROM reports UNION ALL SELECT substr(path,"
                      " instr(path, '#') + 1) FROM failed_inputs ORDER BY 1");
    p2 = db_text(dbpath,
                 "SELECT substr(input_path, instr(input_path, ';UID=') + 5)"
                 " FROM reports UNION ALL SELECT substr(path,"
                 " instr(path, ';UID=') + 5) FROM failed_inputs ORDER BY 1");
    ck_assert_str_eq(p2, p1);
    free(p1);
    free(p2);
    p1 = db_text(dbpath, "SELECT input_path FROM reports ORDER BY 1 LIMIT 1");
    snprintf(mbox, sizeof(mbox),
             "imaps://u1@127.0.0.1:%d/INBOX;UIDVALIDITY=", port);
    ck_assert_msg(strncmp(p1, mbox, strlen(mbox)) == 0, "provenance %s", p1);
    free(p1);
    ck_assert_int_eq(db_int(dbpath, "SELECT count(*) FROM imap_settled"),
                     (int64_t)n);
    /* a second run fetches nothing: not even duplicates */
    ck_assert_int_eq(ingest(&o2, &e, dbpath, "--password-file", pwfile("u1"),
                            "--cacert", cert, url("u1", "INBOX"), NULL),
                     0);
    ck_assert_str_eq(o2, "ingested 0 reports (0 records, 0 messages); 0 "
                         "duplicates (0 conflicting); 0 not a report; 0 "
                         "failure reports; 0 failed\n");
    ck_assert_str_eq(e, "");
    free(o2);
    free(e);
    ck_assert_int_eq(count("u1", "INBOX"), (long)n); /* nothing moved */
    free_msgs(msgs, n);
}
END_TEST

START_TEST(test_move_to_empties_inbox)
{
    char *msgs[64], *o, *e;
    size_t n = fixture_msgs(msgs, 64);
    int rc;

    deliver("u2", "INBOX", msgs, n);
    setenv("DMARCSIFT_IMAP_PASSWORD", "pw-u2-s3cret", 1);
    rc = ingest(&o, &e, dbpath, "--cacert", cert, "--move-to", "Archive",
                "--failed-to", "Failed", url("u2", "INBOX"), NULL);
    unsetenv("DMARCSIFT_IMAP_PASSWORD");
    ck_assert_msg(rc == 0 || rc == 65, "%d %s", rc, e);
    ck_assert_int_eq(count("u2", "INBOX"), 0);
    if (strstr(o, "; 0 failed\n") != NULL) {
        ck_assert_int_eq(count("u2", "Archive"), (long)n);
        ck_assert_int_le(count("u2", "Failed"), 0);
    } else {
        ck_assert_int_eq(count("u2", "Archive") + count("u2", "Failed"),
                         (long)n);
        ck_assert_int_ge(count("u2", "Failed"), 1);
    }
    /* moved messages are forgotten: nothing left to settle or move */
    ck_assert_int_eq(db_int(dbpath, "SELECT count(*) FROM imap_settled"), 0);
    free(o);
    free(e);
    /* new mail after the move: only it is fetched */
    {
        char *one = report_msg(7);
        deliver("u2", "INBOX", &one, 1);
        free(one);
    }
    setenv("DMARCSIFT_IMAP_PASSWORD", "pw-u2-s3cret", 1);
    ck_assert_int_eq(ingest(&o, &e, dbpath, "--cacert", cert, "--move-to",
                            "Archive", url("u2", "INBOX"), NULL),
                     0);
    unsetenv("DMARCSIFT_IMAP_PASSWORD");
    ck_assert_str_eq(o, "ingested 1 report (1 record, 7 messages); 0 "
                        "duplicates (0 conflicting); 0 not a report; 0 "
                        "failure reports; 0 failed\n");
    ck_assert_int_eq(count("u2", "INBOX"), 0);
    free(o);
    free(e);
    free_msgs(msgs, n);
}
END_TEST

/* The fallback without MOVE: UID COPY, \Deleted, UID EXPUNGE. */
START_TEST(test_move_without_move_extension)
{
    char *msgs[3] = {report_msg(1), report_msg(2), report_msg(3)}, *o, *e;

    deliver("u7", "INBOX", msgs, 3);
    setenv("DMARCSIFT_IMAP_NO_MOVE", "1", 1);
    ck_assert_int_eq(ingest(&o, &e, dbpath, "--password-file", pwfile("u7"),
                            "--cacert", cert, "--move-to", "Archive",
                            url("u7", "INBOX"), NULL),
                     0);
    unsetenv("DMARCSIFT_IMAP_NO_MOVE");
    ck_assert_int_eq(count("u7", "INBOX"), 0);
    ck_assert_int_eq(count("u7", "Archive"), 3);
    free(o);
    free(e);
    free_msgs(msgs, 3);
}
END_TEST

/* Every message in the archive has its report stored. */
static void
check_archive(const char *user, const char *db, long *archived)
{
    char *uids, *p;
    CURL *c;
    long n = 0;

    *archived = 0;
    if (count(user, "Archive") < 0)
        return; /* nothing moved yet */
    uids = imap_cmd(user, "Archive", "UID SEARCH ALL");
    c = client(user);

    for (p = strstr(uids, "SEARCH"); p && (p = strchr(p, ' ')) != NULL;) {
        char u[400], *body = NULL, *rid, sql[200];
        long uid = strtol(p + 1, &p, 10);
        if (uid <= 0)
            break;
        snprintf(u, sizeof(u), "imaps://127.0.0.1:%d/Archive;UID=%ld", port,
                 uid);
        curl_easy_setopt(c, CURLOPT_URL, u);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, to_buf);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
        ck_assert_int_eq(curl_easy_perform(c), CURLE_OK);
        ck_assert_ptr_nonnull(body);
        rid = strstr(body, "<report_id>");
        ck_assert_ptr_nonnull(rid);
        *strstr(rid, "</report_id>") = '\0';
        snprintf(sql, sizeof(sql),
                 "SELECT count(*) FROM reports WHERE report_id = '%s'",
                 rid + 11);
        ck_assert_msg(db_int(db, sql) == 1, "%s archived, not stored",
                      rid + 11);
        free(body);
        n++;
    }
    curl_easy_cleanup(c);
    free(uids);
    *archived = n;
}

/* SIGKILL at random points, then a clean run: the same as one clean run,
 * and at no point a message archived before its report was stored. */
START_TEST(test_sigkill_then_rerun)
{
    enum { N = 200 };
    char *msgs[N], *o, *e;
    const char *pw = pwfile("u3");
    unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
    long archived = 0, last = 0;
    int i, k;

    for (i = 0; i < N; i++)
        msgs[i] = report_msg(i + 1);
    deliver("u3", "INBOX", msgs, N);
    fprintf(stderr, "imap: SIGKILL seed %u\n", seed);
    srand(seed);
    for (k = 0; k < 6; k++) {
        const char *argv[] = {SIFT_BINARY, "--db",     dbpath,
                              "ingest",    "--quiet",  "--password-file",
                              pw,          "--cacert", cert,
                              "--move-to", "Archive",  url("u3", "INBOX"),
                              NULL};
        pid_t pid = fork();
        int st;
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
            int dn = open("/dev/null", O_WRONLY);
            dup2(dn, 1);
            dup2(dn, 2);
            execv(argv[0], (char *const *)argv);
            _exit(127);
        }
        usleep((useconds_t)(10000 + rand() % 400000));
        kill(pid, SIGKILL);
        waitpid(pid, &st, 0);
        check_archive("u3", dbpath, &archived);
        fprintf(stderr, "imap: kill %d: %lld stored, %ld archived\n", k,
                (long long)db_int(dbpath, "SELECT count(*) FROM reports"),
                archived);
        ck_assert_int_ge(archived, last);
        last = archived;
    }
    ck_assert_int_eq(ingest(&o, &e, dbpath, "--password-file", pw, "--cacert",
                            cert, "--move-to", "Archive", url("u3", "INBOX"),
                            NULL),
                     0);
    ck_assert_str_eq(e, "");
    free(o);
    free(e);
    ck_assert_int_eq(db_int(dbpath, "SELECT count(*) FROM reports"), N);
    ck_assert_int_eq(db_int(dbpath, "SELECT count(DISTINCT report_id) FROM"
                                    " reports"),
                     N);
    ck_assert_int_eq(db_int(dbpath, "SELECT sum(message_count) FROM reports"),
                     N * (N + 1) / 2);
    ck_assert_int_eq(db_int(dbpath, "SELECT count(*) FROM failed_inputs"), 0);
    ck_assert_int_eq(count("u3", "INBOX"), 0);
    check_archive("u3", dbpath, &archived);
    ck_assert_int_eq(archived, N);
    free_msgs(msgs, N);
}
END_TEST

/* A connection that drops mid-fetch is reopened; when reopening fails
 * too, the run says so in one line, keeps what it stored, and the next
 * run (through the same address) fetches only the rest. */
START_TEST(test_dropped_connection)
{
    enum { N = 60 };
    char *msgs[N], *o, *e, url2[300], want[400];
    const char *pw = pwfile("u8");
    int pport = free_port(), i, rc;
    int64_t stored;
    pid_t px;

    for (i = 0; i < N; i++)
        msgs[i] = report_msg(i + 1);
    deliver("u8", "INBOX", msgs, N);
    snprintf(url2, sizeof(url2), "imaps://u8@127.0.0.1:%d/INBOX", pport);
    /* every connection drops after 40 KB: each fetch that breaks is
     * retried on a new one, and the run completes */
    px = proxy_start(pport, 40000, 0);
    rc = ingest(&o, &e, dbpath, "--password-file", pw, "--cacert", cert, url2,
                NULL);
    proxy_stop(px);
    ck_assert_msg(rc == 0, "%d %s", rc, e);
    ck_assert_int_eq(db_int(dbpath, "SELECT count(*) FROM reports"), N);
    free(o);
    free(e);
    /* the first connection drops and the server is then unreachable */
    snprintf(dbpath, sizeof(dbpath), "%s/second.db", box);
    px = proxy_start(pport, 40000, 1);
    rc = ingest(&o, &e, dbpath, "--password-file", pw, "--cacert", cert, url2,
                NULL);
    proxy_stop(px);
    ck_assert_int_eq(rc, 74);
    snprintf(want, sizeof(want),
             "dmarcsift: %s: connection lost while fetching UID ", url2);
    ck_assert_msg(
        strncmp(e, want, strlen(want)) == 0 &&
            strstr(e, ", and reconnecting failed: cannot connect: ") &&
            strchr(e, '\n') == e + strlen(e) - 1,
        "%s", e);
    stored = db_int(dbpath, "SELECT count(*) FROM reports");
    ck_assert_int_gt(stored, 0);
    ck_assert_int_lt(stored, N);
    ck_assert_int_eq(db_int(dbpath, "SELECT count(*) FROM imap_settled"),
                     stored);
    free(o);
    free(e);
    px = proxy_start(pport, -1, 0);
    rc = ingest(&o, &e, dbpath, "--password-file", pw, "--cacert", cert, url2,
                NULL);
    proxy_stop(px);
    ck_assert_int_eq(rc, 0);
    snprintf(want, sizeof(want), "ingested %lld reports (%lld records, ",
             (long long)(N - stored), (long long)(N - stored));
    ck_assert_msg(strncmp(o, want, strlen(want)) == 0, "%s", o);
    ck_assert_ptr_nonnull(strstr(o, "; 0 duplicates"));
    ck_assert_int_eq(db_int(dbpath, "SELECT count(*) FROM reports"), N);
    free(o);
    free(e);
    free_msgs(msgs, N);
}
END_TEST

/* A failed report is kept with its bytes under the message's provenance;
 * retry-failed reads the kept bytes, not the server. */
START_TEST(test_retry_failed_from_kept_bytes)
{
    static const char broken[] =
        "From: dmarc@reporter.example\r\n"
        "Subject: Report domain: example.com\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: application/gzip; name=\"r.xml.gz\"\r\n"
        "Content-Disposition: attachment; filename=\"r.xml.gz\"\r\n"
        "Content-Transfer-Encoding: base64\r\n"
        "\r\n"
        "H4sIAAAAAAAAA7OxSc/PS0nMyczLVgAA\r\n";
    char *msgs[1], *o, *e, *path, want[400];
    const char *argv[] = {SIFT_BINARY, "--db", dbpath, "retry-failed", NULL};
    int rc;

    msgs[0] = strdup(broken);
    free(imap_cmd("u5", NULL, "CREATE Retry"));
    deliver("u5", "Retry", msgs, 1);
    rc = ingest(&o, &e, dbpath, "--password-file", pwfile("u5"), "--cacert",
                cert, url("u5", "Retry"), NULL);
    ck_assert_msg(rc == 65, "%d %s", rc, e);
    free(o);
    free(e);
    path = db_text(dbpath, "SELECT path FROM failed_inputs WHERE raw IS NOT"
                           " NULL");
    snprintf(want, sizeof(want),
             "imaps://u5@127.0.0.1:%d/Retry;UIDVALIDITY=%lld;UID=1/r.xml.gz\n",
             port,
             (long long)db_int(dbpath, "SELECT uidvalidity FROM"
                                       " imap_mailboxes"));
    ck_assert_str_eq(path, want);
    free(path);
    /* the server is not needed: the URL is not even contacted */
    rc = run(argv, NULL, &o, &e);
    ck_assert_int_eq(rc, 65);
    want[strlen(want) - 1] = '\0';
    ck_assert_msg(strstr(e, want) != NULL, "%s", e);
    ck_assert_ptr_nonnull(strstr(o, "retried 1 failed input: "));
    free(o);
    free(e);
    free_msgs(msgs, 1);
}
END_TEST

/* A mailbox of 2,100 messages: the "* SEARCH" line (8 KB) is longer than
 * half of libcurl's default buffer (which keeps 40 bytes of such a line),
 * and 2,100 fetches pass the 300 KB of response lines that libcurl
 * counts per handle. Both used to end the run after 13 messages. */
START_TEST(test_large_mailbox)
{
    enum { N = 2100 };
    const char *pw = pwfile("u9");
    char dir[800], *o, *e;
    int i, rc;

    ck_assert_int_eq(count("u9", "INBOX"), 0); /* creates the Maildir */
    snprintf(dir, sizeof(dir), "%s/mail/u9/new", srv);
    for (i = 0; i < N; i++) {
        char p[900], m[80];
        int n = snprintf(m, sizeof(m), "Subject: note %d\r\n\r\nhello\r\n", i);
        snprintf(p, sizeof(p), "%s/%07d.test", dir, i);
        ck_assert_int_eq(spit(p, m, (size_t)n), 0);
    }
    if (getuid() == 0)
        ck_assert_int_eq(sh("chown -R 65534:65534 %s", dir), 0);
    rc = ingest(&o, &e, dbpath, "--password-file", pw, "--cacert", cert,
                url("u9", "INBOX"), NULL);
    ck_assert_msg(rc == 0, "exit %d: %s", rc, e);
    ck_assert_str_eq(e, "");
    ck_assert_str_eq(o, "ingested 0 reports (0 records, 0 messages); 0 "
                        "duplicates (0 conflicting); 2100 not a report; 0 "
                        "failure reports; 0 failed\n");
    free(o);
    free(e);
    ck_assert_int_eq(db_int(dbpath, "SELECT count(*) FROM imap_settled"), N);
}
END_TEST

START_TEST(test_uidvalidity_reset)
{
    char *msgs[3] = {report_msg(1), report_msg(2), report_msg(3)}, *o, *e;
    const char *pw = pwfile("u4");
    char path[800];

    deliver("u4", "INBOX", msgs, 3);
    ck_assert_int_eq(ingest(&o, &e, dbpath, "--password-file", pw, "--cacert",
                            cert, url("u4", "INBOX"), NULL),
                     0);
    free(o);
    free(e);
    /* the mailbox is rebuilt with another UIDVALIDITY (as after a restore
     * or a server move): rewrite it in dovecot-uidlist, drop the index */
    snprintf(path, sizeof(path), "%s/mail/u4", srv);
    ck_assert_int_eq(
        sh("cd %s && sed -i '1s/ V[0-9]*/ V12345/' dovecot-uidlist && "
           "rm -f dovecot.index*",
           path),
        0);
    ck_assert_int_eq(ingest(&o, &e, dbpath, "--password-file", pw, "--cacert",
                            cert, url("u4", "INBOX"), NULL),
                     0);
    /* every message is read again; none is stored twice */
    ck_assert_str_eq(o, "ingested 0 reports (0 records, 0 messages); 3 "
                        "duplicates (0 conflicting); 0 not a report; 0 "
                        "failure reports; 0 failed\n");
    ck_assert_int_eq(db_int(dbpath, "SELECT count(*) FROM reports"), 3);
    ck_assert_int_eq(db_int(dbpath, "SELECT count(*) FROM imap_mailboxes"), 2);
    ck_assert_int_eq(db_int(dbpath, "SELECT count(*) FROM imap_settled s JOIN"
                                    " imap_mailboxes m ON m.id = s.mailbox"
                                    " WHERE m.uidvalidity = 12345"),
                     3);
    free(o);
    free(e);
    free_msgs(msgs, 3);
}
END_TEST

START_TEST(test_login_and_tls_errors)
{
    char *msgs[1] = {report_msg(1)}, *o, *e, want[600], bad[700];
    int rc;

    deliver("u5", "INBOX", msgs, 1);
    snprintf(bad, sizeof(bad), "%s/bad-pw", box);
    ck_assert_int_eq(spit(bad, "wrong-Pa55\n", 11), 0);
    rc = ingest(&o, &e, dbpath, "--password-file", bad, "--cacert", cert,
                url("u5", "INBOX"), NULL);
    ck_assert_int_eq(rc, 74);
    snprintf(want, sizeof(want),
             "dmarcsift: imaps://u5@127.0.0.1:%d/INBOX: login failed for "
             "user 'u5': NO [AUTHENTICATIONFAILED] Authentication failed.\n",
             port);
    ck_assert_str_eq(e, want);
    ck_assert_ptr_null(strstr(e, "wrong-Pa55"));
    ck_assert_str_eq(o, "");
    free(o);
    free(e);
    /* no --cacert: the self-signed certificate is refused */
    rc = ingest(&o, &e, dbpath, "--password-file", pwfile("u5"),
                url("u5", "INBOX"), NULL);
    ck_assert_int_eq(rc, 74);
    snprintf(want, sizeof(want),
             "dmarcsift: imaps://u5@127.0.0.1:%d/INBOX: TLS certificate not "
             "trusted: SSL certificate problem: self-signed certificate "
             "(--cacert FILE names a private CA)\n",
             port);
    ck_assert_str_eq(e, want);
    free(o);
    free(e);
    /* a missing mailbox */
    rc = ingest(&o, &e, dbpath, "--password-file", pwfile("u5"), "--cacert",
                cert, url("u5", "Nope"), NULL);
    ck_assert_int_eq(rc, 74);
    snprintf(want, sizeof(want),
             "dmarcsift: imaps://u5@127.0.0.1:%d/Nope: cannot open the "
             "mailbox: NO Mailbox doesn't exist: Nope",
             port);
    ck_assert_msg(strncmp(e, want, strlen(want)) == 0 &&
                      strchr(e, '\n') == e + strlen(e) - 1,
                  "%s", e);
    free(o);
    free(e);
    /* a password on the command line is refused before anything runs */
    rc = ingest(&o, &e, dbpath, "--password", "pw-u5-s3cret",
                url("u5", "INBOX"), NULL);
    ck_assert_int_eq(rc, 64);
    ck_assert_ptr_null(strstr(e, "pw-u5-s3cret"));
    free(o);
    free(e);
    free_msgs(msgs, 1);
}
END_TEST

START_TEST(test_message_over_size_limit)
{
    char *msgs[2], *o, *e, want[700];
    const char *pw = pwfile("u6");
    size_t big = 300 * 1024, i;
    long long size;
    int rc;

    msgs[0] = malloc(big + 200);
    i = (size_t)snprintf(msgs[0], 200,
                         "From: a@example.net\r\nSubject: big\r\n\r\n");
    for (; i < big; i++)
        msgs[0][i] = (i % 78 == 77) ? '\n' : 'x';
    msgs[0][big] = '\0';
    msgs[1] = report_msg(5);
    deliver("u6", "INBOX", msgs, 2);
    rc = ingest(&o, &e, dbpath, "--password-file", pw, "--cacert", cert,
                "--max-input-size", "100K", url("u6", "INBOX"), NULL);
    ck_assert_int_eq(rc, 65);
    {
        char *sz = imap_cmd("u6", "INBOX", "UID FETCH 1 (RFC822.SIZE)");
        size = atoll(strstr(sz, "RFC822.SIZE ") + 12);
        free(sz);
    }
    snprintf(want, sizeof(want),
             "dmarcsift: imaps://u6@127.0.0.1:%d/INBOX;UIDVALIDITY=%lld;"
             "UID=1: message of %lld bytes is larger than the 100 KiB limit "
             "(--max-input-size); not fetched\n",
             port,
             (long long)db_int(dbpath, "SELECT uidvalidity FROM"
                                       " imap_mailboxes"),
             size);
    ck_assert_str_eq(e, want);
    ck_assert_str_eq(o, "ingested 1 report (1 record, 5 messages); 0 "
                        "duplicates (0 conflicting); 0 not a report; 0 "
                        "failure reports; 1 failed\n");
    free(o);
    free(e);
    free_msgs(msgs, 2);
}
END_TEST

/* A local Maildir: --move-to DIR renames each stored message into DIR's
 * cur/ (from new/ with ":2,"), failed ones to --failed-to. */
START_TEST(test_maildir_move_to)
{
    char src[700], dst[700], bad[700], p[900], *o, *e;
    char *m1 = report_msg(1), *m2 = report_msg(2);
    struct stat sb;
    int rc;

    snprintf(src, sizeof(src), "%s/Maildir", box);
    snprintf(dst, sizeof(dst), "%s/Archive", box);
    snprintf(bad, sizeof(bad), "%s/Failed", box);
    sh("mkdir -p %s/cur %s/new %s/tmp", src, src, src);
    snprintf(p, sizeof(p), "%s/new/1.host", src);
    spit(p, m1, strlen(m1));
    snprintf(p, sizeof(p), "%s/cur/2.host:2,S", src);
    spit(p, m2, strlen(m2));
    {
        static const char broken[] = "Subject: x\r\n"
                                     "Content-Type: application/gzip\r\n"
                                     "Content-Transfer-Encoding: base64\r\n"
                                     "\r\nH4sIAAAAAAAAA3N0dHQ=\r\n";
        snprintf(p, sizeof(p), "%s/cur/3.host:2,", src);
        spit(p, broken, sizeof(broken) - 1);
    }
    rc =
        ingest(&o, &e, dbpath, "--move-to", dst, "--failed-to", bad, src, NULL);
    ck_assert_msg(rc == 65 || rc == 0, "%d %s", rc, e);
    snprintf(p, sizeof(p), "%s/cur/1.host:2,", dst);
    ck_assert_int_eq(stat(p, &sb), 0);
    snprintf(p, sizeof(p), "%s/cur/2.host:2,S", dst);
    ck_assert_int_eq(stat(p, &sb), 0);
    snprintf(p, sizeof(p), "%s/new/1.host", src);
    ck_assert_int_ne(stat(p, &sb), 0);
    ck_assert_int_eq(db_int(dbpath, "SELECT count(*) FROM reports"), 2);
    if (rc == 65) { /* the broken one failed: kept, and filed apart */
        snprintf(p, sizeof(p), "%s/cur/3.host:2,", bad);
        ck_assert_int_eq(stat(p, &sb), 0);
    }
    free(o);
    free(e);
    /* --move-to wants Maildir folders or IMAP mailboxes */
    snprintf(p, sizeof(p), "%s/x.mbox", box);
    spit(p, "From x\n\n", 8);
    rc = ingest(&o, &e, dbpath, "--move-to", dst, p, NULL);
    ck_assert_int_eq(rc, 64);
    free(o);
    free(e);
    free(m1);
    free(m2);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("imap");
    TCase *srvc = tcase_create("dovecot"), *local = tcase_create("maildir");
    SRunner *r;
    int failed, have = access(DOVECOT, X_OK) == 0 &&
                       system("openssl version >/dev/null 2>&1") == 0;

    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (!have)
        printf("imap: SKIPPED: %s or openssl not installed (Debian: "
               "dovecot-imapd, openssl)\n",
               DOVECOT);
    tcase_add_checked_fixture(local, setup, teardown);
    tcase_add_test(local, test_maildir_move_to);
    suite_add_tcase(s, local);
    if (have) {
        tcase_set_timeout(srvc, 120);
        tcase_add_unchecked_fixture(srvc, server_start, server_stop);
        tcase_add_checked_fixture(srvc, setup, teardown);
        tcase_add_test(srvc, test_first_fetch_equals_mbox);
        tcase_add_test(srvc, test_move_to_empties_inbox);
        tcase_add_test(srvc, test_move_without_move_extension);
        tcase_add_test(srvc, test_sigkill_then_rerun);
        tcase_add_test(srvc, test_dropped_connection);
        tcase_add_test(srvc, test_uidvalidity_reset);
        tcase_add_test(srvc, test_large_mailbox);
        tcase_add_test(srvc, test_retry_failed_from_kept_bytes);
        tcase_add_test(srvc, test_login_and_tls_errors);
        tcase_add_test(srvc, test_message_over_size_limit);
        suite_add_tcase(s, srvc);
    }
    r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    failed = srunner_ntests_failed(r);
    srunner_free(r);
    curl_global_cleanup();
    if (!have)
        return failed ? 1 : 77;
    return failed ? 1 : 0;
}
