/* sniff.c -- decide what a unit is from its first bytes, never its name.
 *
 * Only content counts: names and Content-Types lie in real reports. The
 * order matters: binary magic first, then XML (which may not start with
 * a header-like "name:"), then mail formats. */
#include "ingest_int.h"

#include <string.h>
#include <strings.h>

static int
is_ws(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* UTF-16 text: skip whitespace code units, then expect '<'. */
static int
utf16_lt(const unsigned char *p, size_t n, int le)
{
    size_t i;

    for (i = 0; i + 1 < n; i += 2) {
        unsigned lo = le ? p[i] : p[i + 1], hi = le ? p[i + 1] : p[i];
        if (hi != 0)
            return 0;
        if (lo == '<')
            return 1;
        if (!is_ws((unsigned char)lo))
            return 0;
    }
    return 0;
}

static int
header_line(const unsigned char *p, size_t n)
{
    size_t i;

    /* RFC 5322 field name: printable ASCII except ':' (and no space). */
    for (i = 0; i < n && i < 80; i++) {
        if (p[i] == ':')
            return i > 0;
        if (p[i] <= 32 || p[i] >= 127)
            return 0;
    }
    return 0;
}

sniff_kind
sift_ingest__sniff(const unsigned char *p, size_t n)
{
    size_t i = 0;

    if (n == 0)
        return SNIFF_EMPTY;
    if (n >= 2 && p[0] == 0x1f && p[1] == 0x8b)
        return SNIFF_GZIP;
    if (n >= 4 && memcmp(p, "PK\3\4", 4) == 0)
        return SNIFF_ZIP;
    if (n >= 4 && memcmp(p, "PK\5\6", 4) == 0)
        return SNIFF_ZIP_EMPTY;
    if (n >= 6 && memcmp(p,
                         "\xfd"
                         "7zXZ\0",
                         6) == 0)
        return SNIFF_XZ;
    if (n >= 10 && memcmp(p, "BZh", 3) == 0 && p[3] >= '1' && p[3] <= '9' &&
        (memcmp(p + 4, "1AY&SY", 6) == 0 ||
         memcmp(p + 4, "\x17rE8P\x90", 6) == 0))
        return SNIFF_BZIP2;
    if (n >= 263 && memcmp(p + 257, "ustar", 5) == 0 &&
        (p[262] == '\0' || p[262] == ' '))
        return SNIFF_TAR;
    if (n >= 2 && p[0] == 0xff && p[1] == 0xfe)
        return utf16_lt(p + 2, n - 2, 1) ? SNIFF_XML : SNIFF_UNKNOWN;
    if (n >= 2 && p[0] == 0xfe && p[1] == 0xff)
        return utf16_lt(p + 2, n - 2, 0) ? SNIFF_XML : SNIFF_UNKNOWN;
    if (n >= 2 && ((p[0] == '<' && p[1] == 0) || (p[0] == 0 && p[1] == '<')))
        return SNIFF_XML;
    if (n >= 2 && p[0] == 0x78 &&
        (p[1] == 0x01 || p[1] == 0x5e || p[1] == 0x9c || p[1] == 0xda) &&
        ((unsigned)p[0] * 256 + p[1]) % 31 == 0)
        return SNIFF_ZLIB;
    if (n >= 3 && p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf)
        i = 3;
    while (i < n && is_ws(p[i]))
        i++;
    if (i < n && p[i] == '<')
        return SNIFF_XML;
    if (n >= 5 && memcmp(p, "From ", 5) == 0)
        return SNIFF_MBOX;
    if (header_line(p, n))
        return SNIFF_MESSAGE;
    return SNIFF_UNKNOWN;
}

int
sift_ingest__strict_xml(const unsigned char *p, size_t n)
{
    size_t i = 0, j;

    if (sift_ingest__sniff(p, n) != SNIFF_XML)
        return 0;
    if (n >= 3 && p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf)
        i = 3;
    while (i < n && is_ws(p[i]))
        i++;
    if (n - i >= 5 && strncasecmp((const char *)p + i, "<?xml", 5) == 0)
        return 1;
    for (j = i; j + 9 <= n; j++)
        if ((p[j] == '<' || p[j] == ':') &&
            strncasecmp((const char *)p + j + 1, "feedback", 8) == 0)
            return 1;
    return 0;
}
