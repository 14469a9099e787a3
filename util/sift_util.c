/* sift_util.c -- bounded buffers, size and date parsing, hashing. */
#include "sift_util.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void
sift_buf_init(sift_buf *b, size_t max)
{
    b->p = NULL;
    b->len = b->cap = 0;
    b->max = max;
}

void
sift_buf_dispose(sift_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

void
sift_buf_reset(sift_buf *b)
{
    b->len = 0;
    if (b->p)
        b->p[0] = '\0';
}

static int
buf_grow(sift_buf *b, size_t need, sift_err *err)
{
    size_t ncap;
    char *np;

    if (need > b->max)
        return sift_err_set(err, SIFT_ETOOBIG, "value longer than %zu bytes",
                            b->max);
    if (need + 1 <= b->cap)
        return SIFT_OK;
    ncap = b->cap ? b->cap : 64;
    while (ncap < need + 1)
        ncap *= 2;
    if ((np = realloc(b->p, ncap)) == NULL)
        return sift_err_set(err, SIFT_ENOMEM, "out of memory");
    b->p = np;
    b->cap = ncap;
    return SIFT_OK;
}

int
sift_buf_add(sift_buf *b, const void *p, size_t n, sift_err *err)
{
    int rc;

    if (n > b->max - b->len)
        return sift_err_set(err, SIFT_ETOOBIG, "value longer than %zu bytes",
                            b->max);
    if ((rc = buf_grow(b, b->len + n, err)) != SIFT_OK)
        return rc;
    if (n)
        memcpy(b->p + b->len, p, n);
    b->len += n;
    b->p[b->len] = '\0';
    return SIFT_OK;
}

int
sift_buf_addf(sift_buf *b, sift_err *err, const char *fmt, ...)
{
    va_list ap;
    char tmp[512];
    int n;

    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0)
        return sift_err_set(err, SIFT_ERR, "format failed");
    if ((size_t)n < sizeof(tmp))
        return sift_buf_add(b, tmp, (size_t)n, err);
    {
        int rc;
        char *big = malloc((size_t)n + 1);
        if (big == NULL)
            return sift_err_set(err, SIFT_ENOMEM, "out of memory");
        va_start(ap, fmt);
        vsnprintf(big, (size_t)n + 1, fmt, ap);
        va_end(ap);
        rc = sift_buf_add(b, big, (size_t)n, err);
        free(big);
        return rc;
    }
}

int
sift_parse_size(uint64_t *out, const char *s, sift_err *err)
{
    char *end;
    unsigned long long v;
    unsigned shift = 0;

    errno = 0;
    if (s == NULL || !isdigit((unsigned char)*s))
        goto bad;
    v = strtoull(s, &end, 10);
    if (errno != 0)
        goto bad;
    switch (toupper((unsigned char)*end)) {
    case '\0':
        break;
    case 'K':
        shift = 10;
        end++;
        break;
    case 'M':
        shift = 20;
        end++;
        break;
    case 'G':
        shift = 30;
        end++;
        break;
    default:
        goto bad;
    }
    if (toupper((unsigned char)*end) == 'I')
        end++;
    if (toupper((unsigned char)*end) == 'B')
        end++;
    if (*end != '\0' || v == 0 || v > (UINT64_MAX >> shift))
        goto bad;
    *out = (uint64_t)v << shift;
    return SIFT_OK;
bad:
    return sift_err_set(err, SIFT_EUSAGE,
                        "invalid size '%.64s' (expected e.g. 512M or 2G)",
                        s ? s : "");
}

void
sift_fmt_size(char *buf, size_t n, uint64_t bytes)
{
    static const char *unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    unsigned u = 0;

    while (u < 4 && bytes >= 1024 && bytes % 1024 == 0) {
        bytes /= 1024;
        u++;
    }
    snprintf(buf, n, "%" PRIu64 " %s", bytes, unit[u]);
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
    int64_t era;
    unsigned yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned)(y - era * 400);
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

/* n ASCII digits at s, as a number; -1 when any is not a digit. */
static int
digits(const char *s, int n)
{
    int v = 0, i;

    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

#define DATE_FORMS "YYYY-MM-DD, YYYY-MM-DDTHH:MM:SS[Z] (UTC) or @EPOCH-SECONDS"

int
sift_parse_date(int64_t *out, const char *s, sift_err *err)
{
    static const char *const months[] = {
        "January", "February", "March",     "April",   "May",      "June",
        "July",    "August",   "September", "October", "November", "December"};
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y, mo, d, h = 0, mi = 0, se = 0, dim;
    size_t n;

    if (s == NULL || *s == '\0')
        return sift_err_set(err, SIFT_EUSAGE,
                            "empty date (expected " DATE_FORMS ")");
    n = strlen(s);
    if (s[0] == '@') {
        /* epoch seconds only when marked: a bare 20231201 is a typo for
         * 2023-12-01, not a day in 1970 */
        const char *p = s + 1;
        int64_t v = 0;
        if (*p == '\0' || n > 12)
            goto bad;
        for (; *p; p++) {
            if (*p < '0' || *p > '9')
                goto bad;
            v = v * 10 + (*p - '0');
        }
        *out = v;
        return SIFT_OK;
    }
    if (n != 10 && n != 19 && n != 20)
        goto bad;
    y = digits(s, 4);
    mo = digits(s + 5, 2);
    d = digits(s + 8, 2);
    if (y < 0 || mo < 0 || d < 0 || s[4] != '-' || s[7] != '-')
        goto bad;
    if (n > 10) {
        if ((s[10] != 'T' && s[10] != ' ') || s[13] != ':' || s[16] != ':' ||
            (n == 20 && s[19] != 'Z'))
            goto bad;
        h = digits(s + 11, 2);
        mi = digits(s + 14, 2);
        se = digits(s + 17, 2);
        if (h < 0 || mi < 0 || se < 0)
            goto bad;
    }
    if (y < 1970 || mo < 1 || mo > 12)
        goto bad;
    dim = mdays[mo - 1] +
          (mo == 2 && y % 4 == 0 && (y % 100 != 0 || y % 400 == 0));
    if (d < 1 || d > dim)
        return sift_err_set(err, SIFT_EUSAGE,
                            "invalid date '%s': %s %d has %d days (expected "
                            "YYYY-MM-DD)",
                            s, months[mo - 1], y, dim);
    if (h > 23 || mi > 59 || se > 59)
        return sift_err_set(err, SIFT_EUSAGE,
                            "invalid time in '%s' (expected HH:MM:SS from "
                            "00:00:00 to 23:59:59)",
                            s);
    *out = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 +
           mi * 60 + se;
    return SIFT_OK;
bad:
    return sift_err_set(err, SIFT_EUSAGE,
                        "invalid date '%.64s' (expected " DATE_FORMS ")", s);
}

void
sift_fmt_time(char *buf, size_t n, int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;

    if (gmtime_r(&tt, &tm) == NULL ||
        strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(buf, n, "%" PRId64, t);
}

uint64_t
sift_hash64w(uint64_t h, const void *p, size_t n)
{
    const unsigned char *s = p;
    uint64_t w;

    for (; n >= 8; n -= 8, s += 8) {
        memcpy(&w, s, sizeof(w));
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        w = __builtin_bswap64(w);
#endif
        h = (h ^ w) * UINT64_C(0x100000001b3);
    }
    return sift_hash64(h, s, n);
}

uint64_t
sift_hash64(uint64_t h, const void *p, size_t n)
{
    const unsigned char *s = p;

    while (n--) {
        h ^= *s++;
        h *= UINT64_C(0x100000001b3);
    }
    return h;
}
