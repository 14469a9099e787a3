/* src_imap.c -- an IMAP mailbox as a source of messages, through libcurl.
 *
 * One session (one curl handle, one connection that libcurl keeps open
 * and reopens when the server dropped it) per mailbox. The session asks
 * STATUS for the UIDVALIDITY, UID SEARCH for the UIDs, UID FETCH
 * (RFC822.SIZE) for the sizes of the next SIZE_BATCH messages, then
 * fetches one message at a time (libcurl's ";UID=" URL: UID FETCH n
 * BODY[]) into a buffer capped at --max-input-size, and moves settled
 * messages with UID MOVE (RFC 6851), else UID COPY + \Deleted + UID
 * EXPUNGE (RFC 4315). Every URL carries ";UIDVALIDITY=": libcurl refuses
 * a mailbox whose UIDVALIDITY changed under the run.
 *
 * Secrets: the password and the token are handed to libcurl and never
 * copied into a message. The debug callback keeps only the server's last
 * response line (CURLINFO_HEADER_IN), never what we sent. */
#include "sift_ingest.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest_int.h"

/* sizes asked per UID FETCH: libcurl 7.88.1 as patched in Debian (the
 * 300 KB response-header cap) adds what is left in its read buffer for
 * every response line, so a response of n lines read in one piece counts
 * about n * n * 20 bytes: 256 lines (10 KB) failed the run now and then,
 * after 1,500-2,000 messages; 32 lines count at most ~30 KB */
#define SIZE_BATCH 32
#define RESP_MAX (64u << 20) /* ceiling of one command's untagged text */
#define SET_MAX 4000         /* bytes of one UID set in a command */
/* libcurl (7.88) keeps only the first 40 bytes of a response line longer
 * than half its buffer: the buffer is raised to its maximum, and a
 * search covers at most SEARCH_WINDOW UIDs, so that its "* SEARCH" line
 * (at most 11 bytes per UID) stays below half of it. */
#define CURL_BUF (512L * 1024)
#define SEARCH_WINDOW 20000u

struct sift_imap {
    CURL *c;       /* the current request's handle */
    CURLSH *share; /* the connection, kept between requests */
    int curl_inited;
    char *base;    /* "imaps://host:port/MAILBOX" (escaped), no userinfo */
    char *root;    /* "imaps://host:port/" */
    char *name;    /* "imaps://user@host[:port]/MAILBOX", for people */
    char *server;  /* "host:port" */
    char *user;    /* decoded */
    char *mailbox; /* decoded */
    char *quoted;  /* the mailbox as an IMAP quoted string */
    uint32_t uidvalidity, uidnext;
    uint64_t messages;
    int clipped; /* libcurl cut a response line */
    /* the options, reapplied before every request (set_options); the
     * secrets are wiped on close */
    char *password, *token, *netrc, *cacert;
    int starttls, insecure;
    char errbuf[CURL_ERROR_SIZE];
    char last[300]; /* the server's last response line */
    sift_buf resp;  /* untagged text of a custom command */
    sift_buf *sink; /* where the write callback appends */
    int caps_known, has_move, has_uidplus;
    /* the fetch queue (sift_ingest_add_imap) */
    uint32_t *q;
    size_t qn, qi;
    uint64_t sizes[SIZE_BATCH]; /* of q[sbase ..], UINT64_MAX: gone */
    size_t sbase, sn;
    /* why fetching stopped early */
    int status;
    sift_err stop;
    unsigned long long fetched_bytes;
};

/* ---- libcurl plumbing ---- */

static void
wipe(char *s)
{
    if (s != NULL) {
        volatile char *v = s;
        while (*v)
            *v++ = '\0';
        free(s);
    }
}

static size_t
on_write(char *p, size_t sz, size_t n, void *ctx)
{
    sift_imap *im = ctx;
    size_t len = sz * n;

    if (im->sink == NULL)
        return len;
    if (sift_buf_add(im->sink, p, len, NULL) != SIFT_OK)
        return 0; /* over the cap: CURLE_WRITE_ERROR */
    im->fetched_bytes += len;
    return len;
}

static int
on_debug(CURL *c, curl_infotype type, char *p, size_t n, void *ctx)
{
    sift_imap *im = ctx;
    size_t i;

    (void)c;
    if (type == CURLINFO_TEXT && n > 30 &&
        strncmp(p, "Excessive server response line", 30) == 0)
        im->clipped = 1;
    if (type != CURLINFO_HEADER_IN || n == 0)
        return 0;
    /* keep what explains a failure: a tagged NO or BAD, else a BYE (the
     * LOGOUT that follows a failure must not overwrite it) */
    if (p[0] == '*') {
        if (n <= 6 || strncmp(p, "* BYE ", 6) != 0 || im->last[0] != '\0')
            return 0;
    } else {
        const char *sp = memchr(p, ' ', n);
        size_t rest = sp ? n - (size_t)(sp + 1 - p) : 0;
        if (sp == NULL || p[0] == '+' ||
            !((rest >= 3 && strncmp(sp + 1, "NO ", 3) == 0) ||
              (rest >= 4 && strncmp(sp + 1, "BAD ", 4) == 0)))
            return 0;
    }
    if (n >= sizeof(im->last))
        n = sizeof(im->last) - 1;
    for (i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)p[i];
        im->last[i] = ch < 0x20 || ch == 0x7f ? ' ' : (char)ch;
    }
    while (n > 0 && im->last[n - 1] == ' ')
        n--;
    im->last[n] = '\0';
    return 0;
}

/* The server's words without the tag: "NO [TRYCREATE] ...". */
static const char *
server_says(const sift_imap *im)
{
    const char *s = im->last, *sp;

    if (s[0] == '*')
        return s + 2;
    if ((sp = strchr(s, ' ')) != NULL)
        return sp + 1;
    return s;
}

static int
is_connection_error(CURLcode cc)
{
    return cc == CURLE_RECV_ERROR || cc == CURLE_SEND_ERROR ||
           cc == CURLE_GOT_NOTHING || cc == CURLE_PARTIAL_FILE ||
           cc == CURLE_OPERATION_TIMEDOUT || cc == CURLE_WEIRD_SERVER_REPLY;
}

/* One line for a libcurl failure: what went wrong, in the user's terms. */
static int
curl_fail(sift_imap *im, CURLcode cc, const char *doing, sift_err *err)
{
    const char *detail = im->errbuf[0] ? im->errbuf : curl_easy_strerror(cc);
    int code = SIFT_EIO;

    switch (cc) {
    case CURLE_LOGIN_DENIED:
        sift_err_set(err, code, "login failed for user '%s': %s", im->user,
                     im->last[0] ? server_says(im) : detail);
        break;
    case CURLE_PEER_FAILED_VERIFICATION:
#if CURLE_SSL_CACERT != CURLE_PEER_FAILED_VERIFICATION
    case CURLE_SSL_CACERT:
#endif
    case CURLE_SSL_CACERT_BADFILE:
        sift_err_set(err, code,
                     "TLS certificate not trusted: %s (--cacert FILE names "
                     "a private CA)",
                     detail);
        break;
    case CURLE_SSL_CONNECT_ERROR:
        sift_err_set(err, code, "TLS handshake failed: %s", detail);
        break;
    case CURLE_USE_SSL_FAILED:
        sift_err_set(err, code,
                     "the server does not offer STARTTLS (plain text only "
                     "with --insecure)");
        break;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
        sift_err_set(err, code, "cannot connect: %s", detail);
        break;
    case CURLE_REMOTE_FILE_NOT_FOUND:
        sift_err_set(err, code,
                     "UIDVALIDITY changed during the run (the next run "
                     "rescans the mailbox)");
        break;
    case CURLE_QUOTE_ERROR:
        sift_err_set(err, code, "%s: %s", doing,
                     im->last[0] ? server_says(im) : detail);
        break;
    case CURLE_OUT_OF_MEMORY:
        code = sift_err_set(err, SIFT_ENOMEM, "out of memory");
        break;
    default:
        if (is_connection_error(cc))
            sift_err_set(err, code, "connection lost while %s: %s", doing,
                         detail);
        else
            sift_err_set(err, code, "%s: %s", doing, detail);
        break;
    }
    sift_err_where(err, im->name);
    return code;
}

/* Run one request: url (mailbox URLs get ";UIDVALIDITY=") and an optional
 * custom command whose untagged lines land in im->resp. */
/* A fresh easy handle for each request, with every option; the
 * connection (and the mailbox selected on it) lives in the share's
 * connection cache and is reused, so a request costs no new login. */
static int
set_options(sift_imap *im)
{
    CURL *c;

    if (im->c != NULL)
        curl_easy_cleanup(im->c);
    im->c = NULL;
    if ((c = im->c = curl_easy_init()) == NULL)
        return -1;
    curl_easy_setopt(c, CURLOPT_SHARE, im->share);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, im->errbuf);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, im);
    curl_easy_setopt(c, CURLOPT_VERBOSE, 1L);
    curl_easy_setopt(c, CURLOPT_DEBUGFUNCTION, on_debug);
    curl_easy_setopt(c, CURLOPT_DEBUGDATA, im);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
    curl_easy_setopt(c, CURLOPT_BUFFERSIZE, CURL_BUF);
    /* a server that stops sending fails the request after two minutes */
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 120L);
    curl_easy_setopt(c, CURLOPT_USERNAME, im->user);
    if (im->token != NULL) {
        curl_easy_setopt(c, CURLOPT_XOAUTH2_BEARER, im->token);
    } else if (im->password != NULL) {
        curl_easy_setopt(c, CURLOPT_PASSWORD, im->password);
    } else {
        curl_easy_setopt(c, CURLOPT_NETRC, (long)CURL_NETRC_OPTIONAL);
        if (im->netrc != NULL)
            curl_easy_setopt(c, CURLOPT_NETRC_FILE, im->netrc);
    }
    if (im->starttls)
        curl_easy_setopt(c, CURLOPT_USE_SSL,
                         im->insecure ? (long)CURLUSESSL_TRY
                                      : (long)CURLUSESSL_ALL);
    if (im->cacert != NULL)
        curl_easy_setopt(c, CURLOPT_CAINFO, im->cacert);
    return 0;
}

static CURLcode
perform(sift_imap *im, const char *url, const char *custom, sift_buf *sink)
{
    if (set_options(im) != 0)
        return CURLE_OUT_OF_MEMORY;
    im->errbuf[0] = '\0';
    im->last[0] = '\0';
    im->sink = sink;
    if (sink != NULL)
        sift_buf_reset(sink);
    curl_easy_setopt(im->c, CURLOPT_URL, url);
    curl_easy_setopt(im->c, CURLOPT_CUSTOMREQUEST, custom);
    return curl_easy_perform(im->c);
}

static int
custom(sift_imap *im, int in_mailbox, const char *cmd, const char *doing,
       sift_err *err)
{
    char url[2200];
    CURLcode cc;

    if (in_mailbox)
        snprintf(url, sizeof(url), "%s;UIDVALIDITY=%u", im->base,
                 (unsigned)im->uidvalidity);
    else
        snprintf(url, sizeof(url), "%s", im->root);
    im->clipped = 0;
    cc = perform(im, url, cmd, &im->resp);
    if (cc != CURLE_OK)
        return curl_fail(im, cc, doing, err);
    if (im->clipped) {
        sift_err_set(err, SIFT_EIO, "%s: a response line was too long", doing);
        sift_err_where(err, im->name);
        return SIFT_EIO;
    }
    if (sift_buf_add(&im->resp, "", 1, err) != SIFT_OK) /* NUL */
        return SIFT_ENOMEM;
    return SIFT_OK;
}

/* ---- URL and login ---- */

static char *
quote_mailbox(const char *s)
{
    size_t n = strlen(s), i, j = 0;
    char *q = malloc(2 * n + 3);

    if (q == NULL)
        return NULL;
    q[j++] = '"';
    for (i = 0; i < n; i++) {
        if (s[i] == '"' || s[i] == '\\')
            q[j++] = '\\';
        q[j++] = s[i];
    }
    q[j++] = '"';
    q[j] = '\0';
    return q;
}

static int
bad_name(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 1;
    return 0;
}

static int
parse_url(sift_imap *im, const char *url, int insecure, int *tls_implicit,
          sift_err *err)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL, *user = NULL, *pass = NULL,
         *path = NULL, *esc = NULL;
    int rc = SIFT_EUSAGE, defport;
    size_t n;

    if (u == NULL)
        return sift_err_set(err, SIFT_ENOMEM, "out of memory");
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
        sift_err_set(err, rc, "not an IMAP URL (imaps://user@host/MAILBOX)");
        goto out;
    }
    if (strcmp(scheme, "imaps") != 0 && strcmp(scheme, "imap") != 0) {
        sift_err_set(err, rc, "not an IMAP URL (imaps://user@host/MAILBOX)");
        goto out;
    }
    *tls_implicit = strcmp(scheme, "imaps") == 0;
    if (!*tls_implicit && !insecure) {
        /* STARTTLS is required below; nothing to refuse here */
    }
    if (curl_url_get(u, CURLUPART_PASSWORD, &pass, 0) == CURLUE_OK) {
        sift_err_set(err, rc,
                     "the URL holds a password: other users can read it in "
                     "ps; use --password-file, ~/.netrc or "
                     "DMARCSIFT_IMAP_PASSWORD");
        goto out;
    }
    if (curl_url_get(u, CURLUPART_USER, &user, CURLU_URLDECODE) != CURLUE_OK ||
        user[0] == '\0') {
        sift_err_set(err, rc, "the URL names no user (imaps://user@host/...)");
        goto out;
    }
    defport = curl_url_get(u, CURLUPART_PORT, &port, 0) != CURLUE_OK;
    if (defport && curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) !=
                       CURLUE_OK) {
        sift_err_set(err, rc, "the URL has no port");
        goto out;
    }
    if (curl_url_get(u, CURLUPART_PATH, &path, CURLU_URLDECODE) != CURLUE_OK)
        path = NULL;
    im->mailbox =
        strdup(path && path[0] == '/' && path[1] ? path + 1 : "INBOX");
    if (im->mailbox == NULL)
        goto nomem;
    n = strlen(im->mailbox);
    if (n > 0 && im->mailbox[n - 1] == '/')
        im->mailbox[n - 1] = '\0';
    if (strchr(im->mailbox, ';') != NULL || bad_name(im->mailbox) ||
        bad_name(user) || im->mailbox[0] == '\0') {
        sift_err_set(err, rc, "the URL's mailbox name is not usable");
        goto out;
    }
    if ((im->user = strdup(user)) == NULL ||
        (im->quoted = quote_mailbox(im->mailbox)) == NULL ||
        (esc = curl_easy_escape(NULL, im->mailbox, 0)) == NULL)
        goto nomem;
    n = strlen(scheme) + strlen(host) + strlen(port) + strlen(esc) +
        strlen(user) + strlen(im->mailbox) + 16;
    if ((im->base = malloc(n)) == NULL || (im->root = malloc(n)) == NULL ||
        (im->name = malloc(n)) == NULL || (im->server = malloc(n)) == NULL)
        goto nomem;
    snprintf(im->root, n, "%s://%s:%s/", scheme, host, port);
    snprintf(im->base, n, "%s://%s:%s/%s", scheme, host, port, esc);
    snprintf(im->server, n, "%s:%s", host, port);
    if (defport)
        snprintf(im->name, n, "%s://%s@%s/%s", scheme, user, host, im->mailbox);
    else
        snprintf(im->name, n, "%s://%s@%s:%s/%s", scheme, user, host, port,
                 im->mailbox);
    rc = SIFT_OK;
    goto out;
nomem:
    rc = sift_err_set(err, SIFT_ENOMEM, "out of memory");
out:
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_free(user);
    curl_free(pass);
    curl_free(path);
    curl_free(esc);
    curl_url_cleanup(u);
    if (rc != SIFT_OK)
        sift_err_where(err, url);
    return rc;
}

/* The number after `key` in s (0 when absent). */
static uint64_t
number_after(const char *s, const char *key)
{
    const char *p = strstr(s, key);

    if (p == NULL)
        return 0;
    return strtoull(p + strlen(key), NULL, 10);
}

int
sift_imap_open(sift_imap **out, const sift_imap_opts *o, sift_err *err)
{
    sift_imap *im;
    char cmd[1200];
    int tls_implicit = 0, rc;
    const char *st;

    *out = NULL;
    if ((im = calloc(1, sizeof(*im))) == NULL)
        return sift_err_set(err, SIFT_ENOMEM, "out of memory");
    sift_buf_init(&im->resp, RESP_MAX);
    if ((rc = parse_url(im, o->url, o->insecure, &tls_implicit, err)) !=
        SIFT_OK) {
        sift_imap_close(im);
        return rc;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
        (im->curl_inited = 1, im->share = curl_share_init()) == NULL ||
        curl_share_setopt(im->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT) !=
            CURLSHE_OK) {
        sift_imap_close(im);
        return sift_err_set(err, SIFT_ENOMEM, "cannot start libcurl");
    }
    if ((o->password && (im->password = strdup(o->password)) == NULL) ||
        (o->oauth2_token && (im->token = strdup(o->oauth2_token)) == NULL) ||
        (o->netrc_file && (im->netrc = strdup(o->netrc_file)) == NULL) ||
        (o->cacert && (im->cacert = strdup(o->cacert)) == NULL)) {
        sift_imap_close(im);
        return sift_err_set(err, SIFT_ENOMEM, "out of memory");
    }
    im->starttls = !tls_implicit;
    im->insecure = o->insecure;
    /* log in, and learn the mailbox's UIDVALIDITY without selecting it */
    snprintf(cmd, sizeof(cmd), "STATUS %s (UIDVALIDITY UIDNEXT MESSAGES)",
             im->quoted);
    if ((rc = custom(im, 0, cmd, "cannot open the mailbox", err)) != SIFT_OK) {
        sift_imap_close(im);
        return rc;
    }
    st = strstr(im->resp.p, "* STATUS ");
    if (st == NULL || strstr(st, "UIDVALIDITY ") == NULL) {
        sift_err_set(err, SIFT_EIO,
                     "cannot open the mailbox: no UIDVALIDITY in the "
                     "server's STATUS answer");
        sift_err_where(err, im->name);
        sift_imap_close(im);
        return SIFT_EIO;
    }
    im->uidvalidity = (uint32_t)number_after(st, "UIDVALIDITY ");
    im->messages = number_after(st, "MESSAGES ");
    im->uidnext = (uint32_t)number_after(st, "UIDNEXT ");
    *out = im;
    return SIFT_OK;
}

const char *
sift_imap_name(const sift_imap *im)
{
    return im->name;
}

const char *
sift_imap_server(const sift_imap *im)
{
    return im->server;
}

const char *
sift_imap_user(const sift_imap *im)
{
    return im->user;
}

const char *
sift_imap_mailbox(const sift_imap *im)
{
    return im->mailbox;
}

uint32_t
sift_imap_uidvalidity(const sift_imap *im)
{
    return im->uidvalidity;
}

/* ---- UID lists ---- */

static int
cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

    return x < y ? -1 : x > y;
}

/* Append the UIDs of one "UID SEARCH UID from:to" (to = 0: from:*). */
static int
search_window(sift_imap *im, uint32_t from, uint32_t to, uint32_t **v,
              size_t *k, size_t *cap, sift_err *err)
{
    char cmd[96];
    const char *p, *line;
    int rc;

    if (to == 0)
        snprintf(cmd, sizeof(cmd), "UID SEARCH UID %u:*", (unsigned)from);
    else
        snprintf(cmd, sizeof(cmd), "UID SEARCH UID %u:%u", (unsigned)from,
                 (unsigned)to);
    if ((rc = custom(im, 1, cmd, "cannot search the mailbox", err)) != SIFT_OK)
        return rc;
    for (line = im->resp.p; line != NULL && *line;
         line = (p = strchr(line, '\n')) ? p + 1 : NULL) {
        if (strncmp(line, "* SEARCH", 8) != 0)
            continue;
        for (p = line + 8; *p == ' ';) {
            char *end;
            unsigned long u = strtoul(p + 1, &end, 10);
            if (end == p + 1)
                break;
            p = end;
            /* "N:*" names the highest UID even when it is below N */
            if (u < from || u > UINT32_MAX || (to != 0 && u > to))
                continue;
            if (*k == *cap) {
                size_t nc = *cap ? *cap * 2 : 256;
                uint32_t *nv = realloc(*v, nc * sizeof(**v));
                if (nv == NULL)
                    return sift_err_set(err, SIFT_ENOMEM, "out of memory");
                *v = nv;
                *cap = nc;
            }
            (*v)[(*k)++] = (uint32_t)u;
        }
    }
    return SIFT_OK;
}

int
sift_imap_search(sift_imap *im, uint32_t from, uint32_t to, uint32_t **uids,
                 size_t *n, sift_err *err)
{
    uint32_t *v = NULL, lo, last;
    size_t cap = 0, k = 0, i, j;
    int rc = SIFT_OK;

    *uids = NULL;
    *n = 0;
    if (from == 0)
        from = 1;
    if (to != 0 && to < from)
        return SIFT_OK;
    /* bounded windows up to the last UID that STATUS announced, then (for
     * an open end) one search for what arrived since */
    last = to != 0 ? to : (im->uidnext > 1 ? im->uidnext - 1 : 0);
    for (lo = from; rc == SIFT_OK && lo <= last;) {
        uint32_t hi =
            last - lo >= SEARCH_WINDOW - 1 ? lo + SEARCH_WINDOW - 1 : last;
        rc = search_window(im, lo, hi, &v, &k, &cap, err);
        if (hi == UINT32_MAX)
            break;
        lo = hi + 1;
    }
    if (rc == SIFT_OK && to == 0 && last < UINT32_MAX)
        rc = search_window(im, last + 1 > from ? last + 1 : from, 0, &v, &k,
                           &cap, err);
    if (rc != SIFT_OK) {
        free(v);
        return rc;
    }
    if (k > 1)
        qsort(v, k, sizeof(*v), cmp_u32);
    for (i = j = 0; i < k; i++) /* "N:*" may repeat the highest UID */
        if (j == 0 || v[i] != v[j - 1])
            v[j++] = v[i];
    *uids = v;
    *n = j;
    return SIFT_OK;
}

/* uids[*i..n) as an IMAP set ("1:4,7"), at most SET_MAX bytes; *i moves
 * past what it holds. uids ascending. */
static void
uid_set(char *buf, size_t cap, const uint32_t *uids, size_t n, size_t *i)
{
    size_t len = 0;

    buf[0] = '\0';
    while (*i < n) {
        size_t j = *i;
        char part[32];
        int w;

        while (j + 1 < n && uids[j + 1] == uids[j] + 1)
            j++;
        if (j > *i)
            w = snprintf(part, sizeof(part), "%s%u:%u", len ? "," : "",
                         (unsigned)uids[*i], (unsigned)uids[j]);
        else
            w = snprintf(part, sizeof(part), "%s%u", len ? "," : "",
                         (unsigned)uids[*i]);
        if (len + (size_t)w + 1 > cap || len + (size_t)w > SET_MAX)
            return;
        memcpy(buf + len, part, (size_t)w + 1);
        len += (size_t)w;
        *i = j + 1;
    }
}

static int
capabilities(sift_imap *im, sift_err *err)
{
    int rc;

    if (im->caps_known)
        return SIFT_OK;
    if ((rc = custom(im, 0, "CAPABILITY", "CAPABILITY", err)) != SIFT_OK)
        return rc;
    im->has_move = strstr(im->resp.p, " MOVE") != NULL;
    im->has_uidplus = strstr(im->resp.p, " UIDPLUS") != NULL;
    if (getenv("DMARCSIFT_IMAP_NO_MOVE") != NULL) /* tests: the fallback */
        im->has_move = 0;
    im->caps_known = 1;
    return SIFT_OK;
}

/* Run cmd (built from fmt with the set and the folder); on TRYCREATE make
 * the folder and try once more. */
static int
with_folder(sift_imap *im, const char *verb, const char *set,
            const char *folder_q, const char *doing, sift_err *err)
{
    char cmd[SET_MAX + 1200];
    int rc, tried = 0;

    snprintf(cmd, sizeof(cmd), "%s %s %s", verb, set, folder_q);
    for (;;) {
        rc = custom(im, 1, cmd, doing, err);
        if (rc == SIFT_OK || tried || strstr(im->last, "[TRYCREATE]") == NULL)
            return rc;
        tried = 1;
        {
            char mk[1200];
            sift_err e2;
            snprintf(mk, sizeof(mk), "CREATE %s", folder_q);
            sift_err_clear(&e2);
            if (custom(im, 0, mk, "cannot create the folder", &e2) != SIFT_OK) {
                *err = e2;
                return e2.code;
            }
        }
    }
}

int
sift_imap_move(sift_imap *im, const uint32_t *uids, size_t n,
               const char *folder, sift_err *err)
{
    char set[SET_MAX + 64], cmd[SET_MAX + 128], doing[1200];
    char *fq;
    size_t i = 0;
    int rc;

    if (n == 0)
        return SIFT_OK;
    if (bad_name(folder) || folder[0] == '\0')
        return sift_err_set(err, SIFT_EUSAGE, "the folder name is not usable");
    if ((rc = capabilities(im, err)) != SIFT_OK)
        return rc;
    if (!im->has_move && !im->has_uidplus) {
        sift_err_set(err, SIFT_EIO,
                     "the server offers neither MOVE nor UIDPLUS: messages "
                     "cannot be moved safely");
        sift_err_where(err, im->name);
        return SIFT_EIO;
    }
    if ((fq = quote_mailbox(folder)) == NULL)
        return sift_err_set(err, SIFT_ENOMEM, "out of memory");
    snprintf(doing, sizeof(doing), "cannot move messages to '%s'", folder);
    while (i < n) {
        uid_set(set, sizeof(set), uids, n, &i);
        if (im->has_move) {
            if ((rc = with_folder(im, "UID MOVE", set, fq, doing, err)) !=
                SIFT_OK)
                break;
            continue;
        }
        if ((rc = with_folder(im, "UID COPY", set, fq, doing, err)) != SIFT_OK)
            break;
        snprintf(cmd, sizeof(cmd), "UID STORE %s +FLAGS.SILENT (\\Deleted)",
                 set);
        if ((rc = custom(im, 1, cmd, doing, err)) != SIFT_OK)
            break;
        snprintf(cmd, sizeof(cmd), "UID EXPUNGE %s", set);
        if ((rc = custom(im, 1, cmd, doing, err)) != SIFT_OK)
            break;
    }
    free(fq);
    return rc;
}

/* ---- the fetch queue ---- */

int
sift_imap__queue(sift_imap *im, const uint32_t *uids, size_t n, sift_err *err)
{
    uint32_t *q = NULL;

    if (n > 0) {
        if ((q = malloc(n * sizeof(*q))) == NULL)
            return sift_err_set(err, SIFT_ENOMEM, "out of memory");
        memcpy(q, uids, n * sizeof(*q));
    }
    free(im->q);
    im->q = q;
    im->qn = n;
    im->qi = 0;
    im->sbase = im->sn = 0;
    im->status = SIFT_OK;
    sift_err_clear(&im->stop);
    return SIFT_OK;
}

/* Stop fetching: the rest of the queue waits for the next run. */
static int
stop(sift_imap *im, const sift_err *e)
{
    im->status = e->code != SIFT_OK ? e->code : SIFT_EIO;
    im->stop = *e;
    im->qi = im->qn;
    return SIFT_ITEROVER;
}

/* Sizes of q[qi .. qi + SIZE_BATCH). */
static int
load_sizes(sift_imap *im, sift_err *e)
{
    char set[SET_MAX + 64], cmd[SET_MAX + 128];
    const char *line, *nl;
    size_t i = im->qi, k;
    int rc = SIFT_OK, attempt;

    im->sbase = im->qi;
    im->sn = im->qn - im->qi < SIZE_BATCH ? im->qn - im->qi : SIZE_BATCH;
    for (k = 0; k < im->sn; k++)
        im->sizes[k] = UINT64_MAX; /* gone unless the server names it */
    uid_set(set, sizeof(set), im->q, im->sbase + im->sn, &i);
    im->sn = i - im->sbase; /* the set may hold fewer */
    snprintf(cmd, sizeof(cmd), "UID FETCH %s (UID RFC822.SIZE)", set);
    for (attempt = 0; attempt < 2; attempt++) {
        sift_err_clear(e);
        if ((rc = custom(im, 1, cmd, "reading message sizes", e)) == SIFT_OK)
            break;
        if (rc == SIFT_ENOMEM)
            return rc;
    }
    if (rc != SIFT_OK)
        return rc;
    for (line = im->resp.p; line && *line; line = nl ? nl + 1 : NULL) {
        uint64_t uid, size;
        const char *u;
        nl = strchr(line, '\n');
        if (line[0] != '*' || (u = strstr(line, " FETCH (")) == NULL ||
            (nl != NULL && u > nl))
            continue;
        uid = number_after(u, "UID ");
        size = number_after(u, "RFC822.SIZE ");
        for (k = 0; k < im->sn; k++)
            if (im->q[im->sbase + k] == uid) {
                im->sizes[k] = size;
                break;
            }
    }
    return SIFT_OK;
}

/* The next queued message into b (reset first; b->max is the size limit).
 * SIFT_OK: *path (malloc'd, the caller's) and the bytes. SIFT_ETOOBIG:
 * *path set, e says why, nothing fetched. SIFT_ITEROVER: the queue is
 * done, or fetching stopped (sift_imap_status). SIFT_ENOMEM. */
static int
fetch_next(sift_imap *im, sift_buf *b, char **path, sift_err *e)
{
    char url[2300], lim[96];
    uint64_t size;
    uint32_t uid;
    CURLcode cc = CURLE_OK;
    int rc, attempt;

    *path = NULL;
    for (;;) {
        if (im->qi >= im->qn)
            return SIFT_ITEROVER;
        if (im->qi >= im->sbase + im->sn && (rc = load_sizes(im, e)) != SIFT_OK)
            return rc == SIFT_ENOMEM ? rc : stop(im, e);
        uid = im->q[im->qi];
        size = im->sizes[im->qi - im->sbase];
        im->qi++;
        if (size != UINT64_MAX)
            break;
        /* expunged meanwhile (another client): nothing to ingest */
    }
    snprintf(url, sizeof(url), "%s;UIDVALIDITY=%u;UID=%u", im->name,
             (unsigned)im->uidvalidity, (unsigned)uid);
    if ((*path = strdup(url)) == NULL)
        return sift_err_set(e, SIFT_ENOMEM, "out of memory");
    if (size > b->max) {
        sift_ingest__limit(lim, sizeof(lim), b->max, "--max-input-size");
        return sift_err_set(e, SIFT_ETOOBIG,
                            "message of %llu bytes is larger than %s; not "
                            "fetched",
                            (unsigned long long)size, lim);
    }
    snprintf(url, sizeof(url), "%s;UIDVALIDITY=%u;UID=%u", im->base,
             (unsigned)im->uidvalidity, (unsigned)uid);
    for (attempt = 0; attempt < 2; attempt++) {
        cc = perform(im, url, NULL, b);
        if (cc == CURLE_OK || !is_connection_error(cc))
            break;
        /* a dropped connection: libcurl reconnects once */
    }
    if (cc != CURLE_OK) {
        char doing[64];
        snprintf(doing, sizeof(doing), "fetching UID %u", (unsigned)uid);
        if (cc == CURLE_WRITE_ERROR) {
            sift_ingest__limit(lim, sizeof(lim), b->max, "--max-input-size");
            sift_err_set(e, SIFT_ETOOBIG, "message larger than %s", lim);
            return SIFT_ETOOBIG; /* it grew: a failed unit */
        }
        curl_fail(im, cc, doing, e);
        if (attempt > 0 && !is_connection_error(cc)) {
            /* the retry could not even reconnect */
            char why[sizeof(e->msg)];
            snprintf(why, sizeof(why), "%s", e->msg);
            sift_err_set(e, e->code,
                         "connection lost while fetching UID %u, and "
                         "reconnecting failed: %s",
                         (unsigned)uid, why);
        }
        free(*path);
        *path = NULL;
        return e->code == SIFT_ENOMEM ? SIFT_ENOMEM : stop(im, e);
    }
    return SIFT_OK;
}

int
sift_imap_status(const sift_imap *im, sift_err *err)
{
    if (im->status != SIFT_OK && err != NULL)
        *err = im->stop;
    return im->status;
}

/* ---- the source: a mailbox frame yields one message unit per call ---- */

typedef struct imap_st {
    sift_imap *im;
    sift_buf msg; /* the message fetched, parsed in place */
} imap_st;

static int
imap_start(sift_ingest *in, input *ip, sift_err *err)
{
    frame *f = NULL;
    imap_st *s;
    int rc;

    free(ip->buf);
    if ((rc = sift_ingest__push(in, &sift_src_imap, ip->name, 0, NULL, &f,
                                err)) != SIFT_OK)
        return rc;
    if ((s = f->st = calloc(1, sizeof(*s))) == NULL) {
        f->done = 1;
        return sift_ingest__enomem(err);
    }
    s->im = ip->im;
    sift_buf_init(&s->msg, (size_t)in->lim.max_input_size);
    return SIFT_OK;
}

static int
imap_next(sift_ingest *in, frame *f, sift_err *err)
{
    imap_st *s = f->st;
    origin org = {.kind = O_MEM};
    unsigned long long before = s->im->fetched_bytes;
    char *p = NULL;
    sift_err e;
    int rc;

    sift_err_clear(&e);
    rc = fetch_next(s->im, &s->msg, &p, &e);
    in->bytes += s->im->fetched_bytes - before;
    if (rc == SIFT_ITEROVER) {
        f->done = 1;
        return SIFT_OK;
    }
    if (rc == SIFT_ENOMEM) {
        free(p);
        return sift_ingest__enomem(err);
    }
    if (rc != SIFT_OK) { /* over the size limit: not fetched */
        sift_ingest__emit(in, SIFT_ITEM_FAILED, p, NULL, NULL, NULL, &e);
        return SIFT_OK;
    }
    org.p = (const unsigned char *)s->msg.p;
    org.len = s->msg.len;
    if (org.len == 0) {
        sift_ingest__emit(in, SIFT_ITEM_NOT_REPORT, p, NULL, NULL, &org, NULL);
        return SIFT_OK;
    }
    if (f->depth + 1 > in->lim.max_depth)
        return sift_ingest__depth_fail(in, p, NULL, &org);
    return sift_ingest__msg_start(in, org.p, org.len, NULL, p, f->depth + 1,
                                  &org, err);
}

static void
imap_dispose(frame *f)
{
    imap_st *s = f->st;

    if (s == NULL)
        return;
    sift_buf_dispose(&s->msg);
    free(s);
}

/* Started by sift_ingest_add_imap(), never by a path: no claims(). */
const src_ops sift_src_imap = {
    .name = "imap",
    .start = imap_start,
    .next = imap_next,
    .dispose = imap_dispose,
};

void
sift_imap_close(sift_imap *im)
{
    if (im == NULL)
        return;
    if (im->c != NULL)
        curl_easy_cleanup(im->c);
    if (im->share != NULL)
        curl_share_cleanup(im->share); /* closes the connection */
    if (im->curl_inited)
        curl_global_cleanup();
    sift_buf_dispose(&im->resp);
    wipe(im->password);
    wipe(im->token);
    free(im->netrc);
    free(im->cacert);
    free(im->q);
    free(im->base);
    free(im->root);
    free(im->name);
    free(im->server);
    free(im->user);
    free(im->mailbox);
    free(im->quoted);
    free(im);
}
