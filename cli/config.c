/* config.c -- the INI configuration file (contract in config.h).
 *
 * Syntax: "[section]" lines, "key = value" lines, and comments: a line
 * whose first non-blank character is '#' or ';'. Blanks around keys and
 * values are ignored; a value may be wrapped in double quotes to keep
 * leading or trailing blanks. There are no inline comments (a '#' inside
 * a value is part of it: paths may hold one). Every problem stops the
 * parse with "FILE:LINE: what is wrong": a half-read configuration could
 * point ingest at the wrong database. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "sift_util.h"

enum section {
    SEC_NONE,
    SEC_DATABASE,
    SEC_INGEST,
    SEC_REPORT,
    SEC_OWNER,
    SEC_SENDERS
};

/* Per-file state: which list keys this file has set (to replace the
 * earlier files' lists on first use) and where each scalar was set (to
 * reject a key given twice). */
enum { L_SOURCE = 1, L_NETWORK = 2, L_FORWARDER = 4, L_SENDERS = 8 };
enum {
    K_DB,
    K_QUIET,
    K_MAXREPORT,
    K_MAXINPUT,
    K_MAXDEPTH,
    K_MAXENTRIES,
    K_MAXMESSAGES,
    K_MAXKEEP,
    K_MAXSOURCES,
    K_N
};

struct parse {
    sift_config *c;
    const char *name;
    unsigned line;
    unsigned lists;
    unsigned first_line[K_N];
    sift_err *err;
};

void
sift_config_init(sift_config *c)
{
    sift_limits lim = SIFT_LIMITS_INIT;

    memset(c, 0, sizeof(*c));
    c->quiet = -1;
    c->lim = lim;
}

static void
free_senders(sift_config_sender *v, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        free((char *)v[i].s.name);
}

void
sift_config_free(sift_config *c)
{
    size_t i;

    if (c == NULL)
        return;
    free(c->db);
    for (i = 0; i < c->n_sources; i++)
        free(c->sources[i]);
    free(c->sources);
    free(c->own_nets);
    free_senders(c->senders, c->n_senders);
    free(c->senders);
    free(c->flat);
    sift_config_init(c);
}

static int perr(struct parse *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
perr(struct parse *p, const char *fmt, ...)
{
    char where[sizeof(p->err->where)];
    va_list ap;

    va_start(ap, fmt);
    sift_err_vset(p->err, SIFT_EFORMAT, fmt, ap);
    va_end(ap);
    snprintf(where, sizeof(where), "%s:%u", p->name, p->line);
    if (p->err)
        memcpy(p->err->where, where, sizeof(where));
    return SIFT_EFORMAT;
}

static int
oom(struct parse *p)
{
    return sift_err_set(p->err, SIFT_ENOMEM, "out of memory");
}

/* "192.0.2.0/24", "2001:db8::/32", "192.0.2.7" -> net (host bits
 * cleared). Returns 0 or -1. */
static int
parse_net(sift_ipnet *net, const char *s)
{
    char buf[64];
    const char *slash = strchr(s, '/');
    size_t len = slash ? (size_t)(slash - s) : strlen(s);
    unsigned max, i;

    if (len == 0 || len >= sizeof(buf))
        return -1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    memset(net, 0, sizeof(*net));
    if (inet_pton(AF_INET, buf, net->addr) == 1)
        net->family = 4, max = 32;
    else if (inet_pton(AF_INET6, buf, net->addr) == 1)
        net->family = 6, max = 128;
    else
        return -1;
    net->prefix = max;
    if (slash) {
        char *end;
        unsigned long v;
        if (!isdigit((unsigned char)slash[1]))
            return -1;
        errno = 0;
        v = strtoul(slash + 1, &end, 10);
        if (errno || *end || v > max)
            return -1;
        net->prefix = (unsigned)v;
    }
    for (i = net->prefix; i < 128; i++)
        net->addr[i / 8] &= (unsigned char)~(0x80u >> (i % 8));
    return 0;
}

/* A domain name as written in a config: letters, digits, '-', '_', '.';
 * lowercased in place, one trailing dot dropped. Returns 0 or -1. */
static int
norm_domain(char *s)
{
    size_t n = strlen(s), i, label = 0;

    if (n > 0 && s[n - 1] == '.')
        s[--n] = '\0';
    if (n == 0 || n > 253)
        return -1;
    for (i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '.') {
            if (label == 0)
                return -1;
            label = 0;
            continue;
        }
        if (!isalnum(ch) && ch != '-' && ch != '_')
            return -1;
        if (++label > 63)
            return -1;
        s[i] = (char)tolower(ch);
    }
    return label == 0 ? -1 : 0;
}

static int
parse_bool(int *out, const char *v)
{
    static const char *yes[] = {"yes", "true", "on", "1"};
    static const char *no[] = {"no", "false", "off", "0"};
    size_t i;

    for (i = 0; i < 4; i++) {
        if (strcmp(v, yes[i]) == 0)
            return *out = 1, 0;
        if (strcmp(v, no[i]) == 0)
            return *out = 0, 0;
    }
    return -1;
}

/* Before this file's first entry of list `bit`, drop the earlier files'
 * entries of that list. */
static void
replace_list(struct parse *p, unsigned bit)
{
    sift_config *c = p->c;
    size_t i, j;

    if (p->lists & bit)
        return;
    p->lists |= bit;
    if (bit == L_SOURCE) {
        for (i = 0; i < c->n_sources; i++)
            free(c->sources[i]);
        c->n_sources = 0;
    } else if (bit == L_NETWORK) {
        c->n_own_nets = 0;
    } else {
        int fwd = bit == L_FORWARDER;
        for (i = j = 0; i < c->n_senders; i++) {
            if (c->senders[i].from_forwarder == fwd)
                free((char *)c->senders[i].s.name);
            else
                c->senders[j++] = c->senders[i];
        }
        c->n_senders = j;
    }
}

static int
grow(void *pv, size_t n, size_t size)
{
    void **pp = pv;
    void *q;

    /* n is the count before the append; the capacity is the power of two
     * at or above it (a list emptied by a later file keeps its buffer:
     * the realloc at n == 0 shrinks it to one element) */
    if (n != 0 && (n & (n - 1)) != 0)
        return 0;
    q = realloc(*pp, (n ? 2 * n : 1) * size);
    if (q == NULL)
        return -1;
    *pp = q;
    return 0;
}

static int
add_sender(struct parse *p, const char *who, sift_sender_label label,
           int from_forwarder)
{
    sift_config *c = p->c;
    sift_config_sender e;
    char *name;

    memset(&e, 0, sizeof(e));
    if ((name = strdup(who)) == NULL)
        return oom(p);
    if (parse_net(&e.s.net, name) == 0) {
        e.s.is_net = 1;
    } else if (norm_domain(name) != 0) {
        free(name);
        return perr(p, "'%s' is not an IP address, IP range or domain name",
                    who);
    }
    e.s.name = name;
    e.s.label = label;
    e.from_forwarder = from_forwarder;
    e.file = c->files;
    if (grow(&c->senders, c->n_senders, sizeof(*c->senders)) != 0) {
        free(name);
        return oom(p);
    }
    c->senders[c->n_senders++] = e;
    return SIFT_OK;
}

static int
set_scalar(struct parse *p, int k, const char *key)
{
    if (p->first_line[k])
        return perr(p, "'%s' is set twice (first on line %u)", key,
                    p->first_line[k]);
    p->first_line[k] = p->line;
    return SIFT_OK;
}

static int
count_value(struct parse *p, unsigned *out, const char *key, const char *v,
            unsigned long max)
{
    char *end;
    unsigned long n;

    errno = 0;
    n = strtoul(v, &end, 10);
    /* digits only, as on the command line (strtoul takes "+5", " 5") */
    if (errno || *v < '0' || *v > '9' || *end || n < 1 || n > max)
        return perr(p, "%s needs a count from 1 to %lu, not '%s'", key, max, v);
    *out = (unsigned)n;
    return SIFT_OK;
}

static int
size_value(struct parse *p, uint64_t *out, const char *v)
{
    sift_err e;

    sift_err_clear(&e);
    if (sift_parse_size(out, v, &e) != SIFT_OK)
        return perr(p, "%s", e.msg);
    return SIFT_OK;
}

static int
key_value(struct parse *p, enum section sec, const char *sname, char *key,
          char *val)
{
    sift_config *c = p->c;
    int rc;

    if (*val == '\0')
        return perr(p, "'%s' needs a value", key);
    switch (sec) {
    case SEC_DATABASE:
        if (strcmp(key, "path") == 0) {
            char *d;
            if ((rc = set_scalar(p, K_DB, key)) != SIFT_OK)
                return rc;
            if ((d = strdup(val)) == NULL)
                return oom(p);
            free(c->db);
            c->db = d;
            return SIFT_OK;
        }
        break;
    case SEC_INGEST:
        if (strcmp(key, "source") == 0) {
            char *s;
            replace_list(p, L_SOURCE);
            if ((s = strdup(val)) == NULL ||
                grow(&c->sources, c->n_sources, sizeof(*c->sources)) != 0) {
                free(s);
                return oom(p);
            }
            c->sources[c->n_sources++] = s;
            return SIFT_OK;
        }
        if (strcmp(key, "quiet") == 0) {
            if ((rc = set_scalar(p, K_QUIET, key)) != SIFT_OK)
                return rc;
            if (parse_bool(&c->quiet, val) != 0)
                return perr(p, "quiet must be yes or no, not '%s'", val);
            return SIFT_OK;
        }
        if (strcmp(key, "max-report-size") == 0) {
            if ((rc = set_scalar(p, K_MAXREPORT, key)) != SIFT_OK ||
                (rc = size_value(p, &c->lim.max_report_size, val)) != SIFT_OK)
                return rc;
            c->lim_set |= SIFT_CFG_MAX_REPORT_SIZE;
            return SIFT_OK;
        }
        if (strcmp(key, "max-input-size") == 0) {
            if ((rc = set_scalar(p, K_MAXINPUT, key)) != SIFT_OK ||
                (rc = size_value(p, &c->lim.max_input_size, val)) != SIFT_OK)
                return rc;
            c->lim_set |= SIFT_CFG_MAX_INPUT_SIZE;
            return SIFT_OK;
        }
        if (strcmp(key, "max-keep-size") == 0) {
            if ((rc = set_scalar(p, K_MAXKEEP, key)) != SIFT_OK ||
                (rc = size_value(p, &c->lim.max_keep_size, val)) != SIFT_OK)
                return rc;
            if (c->lim.max_keep_size > SIFT_MAX_KEEP_CEILING)
                return perr(p, "max-keep-size is at most 900M, not '%s'", val);
            c->lim_set |= SIFT_CFG_MAX_KEEP_SIZE;
            return SIFT_OK;
        }
        if (strcmp(key, "max-depth") == 0) {
            if ((rc = set_scalar(p, K_MAXDEPTH, key)) != SIFT_OK ||
                (rc = count_value(p, &c->lim.max_depth, key, val, 1000000)) !=
                    SIFT_OK)
                return rc;
            c->lim_set |= SIFT_CFG_MAX_DEPTH;
            return SIFT_OK;
        }
        if (strcmp(key, "max-entries") == 0) {
            if ((rc = set_scalar(p, K_MAXENTRIES, key)) != SIFT_OK ||
                (rc = count_value(p, &c->lim.max_entries, key, val, 1000000)) !=
                    SIFT_OK)
                return rc;
            c->lim_set |= SIFT_CFG_MAX_ENTRIES;
            return SIFT_OK;
        }
        if (strcmp(key, "max-messages") == 0) {
            if ((rc = set_scalar(p, K_MAXMESSAGES, key)) != SIFT_OK ||
                (rc = count_value(p, &c->lim.max_messages, key, val,
                                  1000000000)) != SIFT_OK)
                return rc;
            c->lim_set |= SIFT_CFG_MAX_MESSAGES;
            return SIFT_OK;
        }
        break;
    case SEC_REPORT:
        if (strcmp(key, "max-sources") == 0) {
            if ((rc = set_scalar(p, K_MAXSOURCES, key)) != SIFT_OK)
                return rc;
            return count_value(p, &c->max_sources, key, val,
                               SIFT_CONFIG_MAX_SOURCES);
        }
        break;
    case SEC_OWNER:
        if (strcmp(key, "network") == 0) {
            sift_ipnet net;
            if (parse_net(&net, val) != 0)
                return perr(p, "'%s' is not an IP address or range", val);
            replace_list(p, L_NETWORK);
            if (grow(&c->own_nets, c->n_own_nets, sizeof(*c->own_nets)) != 0)
                return oom(p);
            c->own_nets[c->n_own_nets++] = net;
            return SIFT_OK;
        }
        if (strcmp(key, "forwarder") == 0) {
            replace_list(p, L_FORWARDER);
            return add_sender(p, val, SIFT_LABEL_FORWARDER, 1);
        }
        break;
    case SEC_SENDERS: {
        static const struct {
            const char *word;
            sift_sender_label label;
        } labels[] = {{"legitimate", SIFT_LABEL_LEGITIMATE},
                      {"forwarder", SIFT_LABEL_FORWARDER},
                      {"not-ours", SIFT_LABEL_NOT_OURS},
                      {"not ours", SIFT_LABEL_NOT_OURS}};
        size_t i;
        for (i = 0; i < sizeof(labels) / sizeof(labels[0]); i++)
            if (strcmp(val, labels[i].word) == 0)
                break;
        if (i == sizeof(labels) / sizeof(labels[0]))
            return perr(p,
                        "label for '%s' must be legitimate, forwarder or "
                        "not-ours, not '%s'",
                        key, val);
        replace_list(p, L_SENDERS);
        return add_sender(p, key, labels[i].label, 0);
    }
    case SEC_NONE:
        return perr(p, "'%s' is outside any [section]", key);
    }
    return perr(p, "unknown key '%s' in [%s]", key, sname);
}

static char *
trim(char *s)
{
    char *e;

    while (*s == ' ' || *s == '\t')
        s++;
    e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
        *--e = '\0';
    return s;
}

/* A value wrapped in double quotes loses them (and keeps its blanks). */
static int
unquote(char **v)
{
    size_t n = strlen(*v);

    if (n == 0 || (*v)[0] != '"')
        return 0;
    if (n < 2 || (*v)[n - 1] != '"')
        return -1;
    (*v)[n - 1] = '\0';
    (*v)++;
    return 0;
}

int
sift_config_parse(sift_config *c, const char *name, const char *text,
                  size_t len, sift_err *err)
{
    static const struct {
        const char *name;
        enum section sec;
    } secs[] = {{"database", SEC_DATABASE},
                {"ingest", SEC_INGEST},
                {"report", SEC_REPORT},
                {"owner", SEC_OWNER},
                {"senders", SEC_SENDERS}};
    struct parse p;
    char line[SIFT_CONFIG_MAX_LINE + 2], sname[32] = "";
    enum section sec = SEC_NONE;
    size_t pos = 0;
    int rc = SIFT_OK;

    memset(&p, 0, sizeof(p));
    p.c = c;
    p.name = name;
    p.err = err;
    if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
        pos = 3; /* a UTF-8 byte order mark from a Windows editor */
    while (pos < len && rc == SIFT_OK) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
        char *s, *eq;

        p.line++;
        if (n > SIFT_CONFIG_MAX_LINE) {
            rc = perr(&p, "line longer than %d bytes", SIFT_CONFIG_MAX_LINE);
            break;
        }
        if (memchr(text + pos, '\0', n) != NULL) {
            rc = perr(&p, "%s", "NUL byte (not a text file?)");
            break;
        }
        memcpy(line, text + pos, n);
        line[n] = '\0';
        pos += n + (nl != NULL);
        s = trim(line);
        if (*s == '\0' || *s == '#' || *s == ';')
            continue;
        if (*s == '[') {
            size_t i, k = strlen(s);
            char *inner;
            if (s[k - 1] != ']') {
                rc = perr(&p, "%s", "section header without ']'");
                break;
            }
            s[k - 1] = '\0';
            inner = trim(s + 1);
            for (i = 0; i < sizeof(secs) / sizeof(secs[0]); i++)
                if (strcmp(inner, secs[i].name) == 0)
                    break;
            if (i == sizeof(secs) / sizeof(secs[0])) {
                rc = perr(&p,
                          "unknown section [%s] (known: [database], "
                          "[ingest], [report], [owner], [senders])",
                          inner);
                break;
            }
            sec = secs[i].sec;
            snprintf(sname, sizeof(sname), "%s", secs[i].name);
            continue;
        }
        if ((eq = strchr(s, '=')) == NULL) {
            rc = perr(&p, "%s",
                      "expected 'key = value', '[section]' or a comment");
            break;
        }
        *eq = '\0';
        {
            char *key = trim(s), *val = trim(eq + 1);
            if (*key == '\0') {
                rc = perr(&p, "%s", "'=' without a key before it");
                break;
            }
            if (unquote(&val) != 0) {
                rc = perr(&p, "%s", "value opens a '\"' it does not close");
                break;
            }
            rc = key_value(&p, sec, sname, key, val);
        }
    }
    c->files++;
    return rc;
}

int
sift_config_read(sift_config *c, const char *path, int missing_ok,
                 sift_err *err)
{
    FILE *f;
    char *buf = NULL;
    size_t n = 0;
    int rc = SIFT_OK;

    if ((f = fopen(path, "rb")) == NULL) {
        if (missing_ok && errno == ENOENT)
            return SIFT_OK;
        rc = sift_err_sys(err, "cannot read configuration file");
        sift_err_where(err, path);
        return rc;
    }
    if ((buf = malloc(SIFT_CONFIG_MAX_FILE + 1)) == NULL) {
        rc = sift_err_set(err, SIFT_ENOMEM, "out of memory");
        goto out;
    }
    n = fread(buf, 1, SIFT_CONFIG_MAX_FILE + 1, f);
    if (ferror(f)) {
        rc = sift_err_sys(err, "cannot read configuration file");
        sift_err_where(err, path);
        goto out;
    }
    if (n > SIFT_CONFIG_MAX_FILE) {
        rc = sift_err_set(err, SIFT_ETOOBIG,
                          "configuration file larger than 1 MiB");
        sift_err_where(err, path);
        goto out;
    }
    rc = sift_config_parse(c, path, buf, n, err);
out:
    free(buf);
    fclose(f);
    return rc;
}

int
sift_config_user_path(char *buf, size_t n)
{
    const char *x = getenv("XDG_CONFIG_HOME"), *h = getenv("HOME");
    int k;

    /* the XDG spec: a relative XDG_CONFIG_HOME is invalid, ignore it */
    if (x != NULL && x[0] == '/')
        k = snprintf(buf, n, "%s/dmarcsift/config", x);
    else if (h != NULL && h[0] != '\0')
        k = snprintf(buf, n, "%s/.config/dmarcsift/config", h);
    else
        return -1;
    return k < 0 || (size_t)k >= n ? -1 : 0;
}

int
sift_config_owner(sift_config *c, sift_owner_knowledge *out, sift_err *err)
{
    size_t i;

    memset(out, 0, sizeof(*out));
    free(c->flat);
    c->flat = NULL;
    if (c->n_senders > 0) {
        if ((c->flat = malloc(c->n_senders * sizeof(*c->flat))) == NULL)
            return sift_err_set(err, SIFT_ENOMEM, "out of memory");
        /* forwarders first, then [senders], each in the order read */
        out->n_senders = 0;
        for (i = 0; i < c->n_senders; i++)
            if (c->senders[i].from_forwarder)
                c->flat[out->n_senders++] = c->senders[i].s;
        for (i = 0; i < c->n_senders; i++)
            if (!c->senders[i].from_forwarder)
                c->flat[out->n_senders++] = c->senders[i].s;
    }
    out->own_nets = c->own_nets;
    out->n_own_nets = c->n_own_nets;
    out->senders = c->flat;
    return SIFT_OK;
}
