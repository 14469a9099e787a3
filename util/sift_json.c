/* sift_json.c -- escaping for JSON, CSV and terminals; see sift_json.h. */
#include "sift_json.h"

#include <inttypes.h>
#include <stdint.h>
#include <string.h>

size_t
sift_utf8_len(const unsigned char *s, size_t avail)
{
    unsigned char c = s[0];
    size_t n, i;
    uint32_t cp;

    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2, cp = c & 0x1f;
    else if (c >= 0xe0 && c <= 0xef)
        n = 3, cp = c & 0x0f;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 4, cp = c & 0x07;
    else
        return 0;
    if (n > avail)
        return 0;
    for (i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

uint32_t
sift_bidi_control(const unsigned char *s, size_t avail)
{
    if (avail < 3 || s[0] != 0xe2)
        return 0;
    if (s[1] == 0x80 && s[2] >= 0xaa && s[2] <= 0xae)
        return 0x2000u + (s[2] - 0x80u); /* U+202A..U+202E */
    if (s[1] == 0x81 && s[2] >= 0xa6 && s[2] <= 0xa9)
        return 0x2040u + (s[2] - 0x80u); /* U+2066..U+2069 */
    return 0;
}

void
sift_json_str(FILE *fp, const char *str)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t n;

    if (s == NULL) {
        fputs("null", fp);
        return;
    }
    putc('"', fp);
    while (*s) {
        switch (*s) {
        case '"':
            fputs("\\\"", fp);
            s++;
            continue;
        case '\\':
            fputs("\\\\", fp);
            s++;
            continue;
        case '\n':
            fputs("\\n", fp);
            s++;
            continue;
        case '\r':
            fputs("\\r", fp);
            s++;
            continue;
        case '\t':
            fputs("\\t", fp);
            s++;
            continue;
        default:
            break;
        }
        if (*s < 0x20 || *s == 0x7f) {
            fprintf(fp, "\\u%04x", *s);
            s++;
            continue;
        }
        if ((n = sift_utf8_len(s, SIZE_MAX)) == 0) {
            fputs("\\ufffd", fp);
            s++;
            continue;
        }
        if (n == 2 && s[0] == 0xc2 && s[1] < 0xa0) {
            /* C1 controls (U+0080..U+009F, CSI among them) are valid JSON
             * but reach a terminal through `jq -r` or a pager: escape */
            fprintf(fp, "\\u%04x", s[1]);
            s += 2;
            continue;
        }
        if (n == 3 && sift_bidi_control(s, n)) {
            /* a right-to-left override reorders what a terminal shows */
            fprintf(fp, "\\u%04x", (unsigned)sift_bidi_control(s, n));
            s += 3;
            continue;
        }
        fwrite(s, 1, n, fp);
        s += n;
    }
    putc('"', fp);
}

void
sift_csv_cell(FILE *fp, const char *s)
{
    int quote, guard;

    if (s == NULL)
        return;
    guard = s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' ||
            s[0] == '\t' || s[0] == '\r';
    quote = guard || strpbrk(s, ",\"\r\n") != NULL;
    if (quote)
        putc('"', fp);
    if (guard)
        putc('\'', fp);
    for (; *s; s++) {
        if (*s == '"')
            putc('"', fp);
        putc(*s, fp);
    }
    if (quote)
        putc('"', fp);
}

void
sift_text_safe(FILE *fp, const char *str)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t n;

    if (s == NULL) {
        putc('-', fp);
        return;
    }
    while (*s) {
        if (*s < 0x20 || *s == 0x7f) {
            fprintf(fp, "\\x%02x", *s++);
            continue;
        }
        n = sift_utf8_len(s, SIZE_MAX);
        /* C1 controls (U+0080..U+009F) include CSI: escape them too, and
         * the bidi controls (each of their bytes) */
        if (n == 0 || (n == 2 && s[0] == 0xc2 && s[1] < 0xa0) ||
            (n == 3 && sift_bidi_control(s, n))) {
            size_t k = n ? n : 1;
            while (k--)
                fprintf(fp, "\\x%02x", *s++);
            continue;
        }
        fwrite(s, 1, n, fp);
        s += n;
    }
}

char *
sift_fmt_thousands(char *buf, size_t n, uint64_t v)
{
    char tmp[32];
    int len = snprintf(tmp, sizeof(tmp), "%" PRIu64, v), i, j = 0;

    for (i = 0; i < len && (size_t)j + 1 < n; i++) {
        if (i > 0 && (len - i) % 3 == 0 && (size_t)j + 2 < n)
            buf[j++] = ',';
        buf[j++] = tmp[i];
    }
    buf[j] = '\0';
    return buf;
}
