/* sift_err.c -- formatting of sift_err; see sift_err.h. */
#include "sift_err.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

void
sift_err_clear(sift_err *err)
{
    if (err == NULL)
        return;
    err->code = SIFT_OK;
    err->sys_errno = 0;
    err->where[0] = '\0';
    err->msg[0] = '\0';
}

/* Error text often quotes attacker-controlled input: never let a control
 * character reach a terminal through it. */
static void
scrub(char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            *s = '?';
}

int
sift_err_vset(sift_err *err, sift_code code, const char *fmt, va_list ap)
{
    if (err == NULL)
        return code;
    err->code = code;
    err->sys_errno = 0;
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    scrub(err->msg);
    return code;
}

int
sift_err_set(sift_err *err, sift_code code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    sift_err_vset(err, code, fmt, ap);
    va_end(ap);
    return code;
}

int
sift_err_sys(sift_err *err, const char *fmt, ...)
{
    int e = errno;
    sift_code code = e == ENOMEM ? SIFT_ENOMEM : SIFT_EIO;
    va_list ap;
    size_t n;

    if (err == NULL)
        return code;
    va_start(ap, fmt);
    sift_err_vset(err, code, fmt, ap);
    va_end(ap);
    n = strlen(err->msg);
    if (e != 0 && n < sizeof(err->msg))
        snprintf(err->msg + n, sizeof(err->msg) - n, ": %s", strerror(e));
    err->sys_errno = e;
    return code;
}

void
sift_err_where(sift_err *err, const char *where)
{
    if (err == NULL || where == NULL || err->where[0] != '\0')
        return;
    snprintf(err->where, sizeof(err->where), "%s", where);
    scrub(err->where);
}

const char *
sift_code_name(int code)
{
    switch (code) {
    case SIFT_OK:
        return "ok";
    case SIFT_ERR:
        return "error";
    case SIFT_ENOMEM:
        return "out of memory";
    case SIFT_EIO:
        return "i/o error";
    case SIFT_EFORMAT:
        return "format error";
    case SIFT_ETOOBIG:
        return "limit exceeded";
    case SIFT_EDUP:
        return "duplicate";
    case SIFT_EDB:
        return "database error";
    case SIFT_EUSAGE:
        return "usage error";
    case SIFT_ENOTREPORT:
        return "not a report";
    case SIFT_ENOFD:
        return "out of file descriptors";
    case SIFT_ITEROVER:
        return "end of iteration";
    default:
        return "unknown error";
    }
}
