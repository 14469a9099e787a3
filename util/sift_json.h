/* sift_json.h -- minimal JSON/CSV/terminal output helpers shared by the
 * renderers (xml inspect, report, export). They write to a caller's FILE;
 * nothing here decides where output goes. */
#ifndef SIFT_JSON_H
#define SIFT_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Length (1..4) of the valid, shortest-form UTF-8 sequence at s, at most
 * avail bytes long; 0 if the bytes there are not one (surrogates and code
 * points above U+10FFFF included). For a NUL-terminated s pass SIZE_MAX:
 * the NUL ends a sequence as an invalid continuation byte. */
size_t sift_utf8_len(const unsigned char *s, size_t avail);

/* The code point when s[0..avail) starts with a Unicode bidirectional
 * control that can reorder what a terminal shows (U+202A..U+202E
 * embeddings and overrides, U+2066..U+2069 isolates), else 0. They are
 * escaped wherever C1 controls are. */
uint32_t sift_bidi_control(const unsigned char *s, size_t avail);

/* Write s as a JSON string literal (quotes included), escaping '"', '\\'
 * and every control character (C0, DEL, C1 and the bidi controls, as
 * \uXXXX); invalid UTF-8 bytes become U+FFFD so the output is always
 * valid JSON. NULL writes `null`. */
void sift_json_str(FILE *fp, const char *s);

/* Write s as one RFC 4180 CSV cell: quoted when it holds , " CR or LF;
 * a cell starting with = + - @ TAB or CR is prefixed with ' so that
 * spreadsheets do not run it as a formula. NULL writes an empty cell. */
void sift_csv_cell(FILE *fp, const char *s);

/* Write s for a terminal: control characters (C0, DEL, C1 and ESC
 * sequences) and the bidi controls are shown as \xHH (each byte), never
 * sent raw; so are invalid UTF-8 bytes. NULL writes "-". */
void sift_text_safe(FILE *fp, const char *s);

/* Format v with thousands separators ("1,234,567") into buf (>= 27). */
char *sift_fmt_thousands(char *buf, size_t n, uint64_t v);

#endif
