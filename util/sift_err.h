/* sift_err.h -- return codes and the caller-owned error struct.
 *
 * Every fallible function returns int: SIFT_OK (0) or a negative sift_code.
 * The error is described once, where it happens, in a sift_err the caller
 * owns; callers pass the code up unchanged and add context only at the
 * edges (ingest sets `where` to the input's provenance path, xml appends
 * ":line"). No globals, no allocation: safe on the out-of-memory path. */
#ifndef SIFT_ERR_H
#define SIFT_ERR_H

#include <stdarg.h>

typedef enum sift_code {
    SIFT_OK = 0,
    SIFT_ERR = -1,        /* generic failure */
    SIFT_ENOMEM = -2,     /* allocation failed */
    SIFT_EIO = -3,        /* read/write/open failed; sys_errno says why */
    SIFT_EFORMAT = -4,    /* input is not what it claims (bad XML, bad zip) */
    SIFT_ETOOBIG = -5,    /* a sift_limits ceiling was hit */
    SIFT_EDUP = -6,       /* report already stored: a skip, not a failure */
    SIFT_EDB = -7,        /* database error (open, corrupt, read-only, full) */
    SIFT_EUSAGE = -8,     /* caller asked for something invalid (bad option) */
    SIFT_ENOTREPORT = -9, /* well-formed input of another kind: not a failure */
    SIFT_ENOFD = -10,     /* out of file descriptors (EMFILE, ENFILE): the
                             process's problem, not the input's */
    SIFT_ITEROVER = -100  /* normal end of an iteration */
} sift_code;

typedef struct sift_err {
    sift_code code;
    int sys_errno;    /* errno captured by sift_err_sys(), else 0 */
    char where[1024]; /* input provenance, e.g. "a.mbox#3/r.zip/r.xml:57" */
    char msg[512];    /* one line, lowercase, no trailing period */
} sift_err;

/* Reset to SIFT_OK with empty where/msg. NULL is a no-op. */
void sift_err_clear(sift_err *err);

/* Set code and printf-formatted message (control characters in the result
 * are replaced by '?'). Returns `code`, so callers can write
 * `return sift_err_set(err, SIFT_EFORMAT, "...")`. err may be NULL. */
int sift_err_set(sift_err *err, sift_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int sift_err_vset(sift_err *err, sift_code code, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* Like sift_err_set() with errno appended as ": strerror(errno)"; the code
 * is SIFT_ENOMEM for ENOMEM, else SIFT_EIO. Returns that code. */
int sift_err_sys(sift_err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Set err->where to `where` unless it is already set (first context wins:
 * the innermost input name is the most precise). */
void sift_err_where(sift_err *err, const char *where);

/* Static English name of a code, e.g. "format error". */
const char *sift_code_name(int code);

#endif
