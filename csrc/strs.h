/* strs: the copies of caller strings (ljh_str) every request file makes.
 * Header-only: each helper is a few lines. */
#ifndef LJHTTP_STRS_H
#define LJHTTP_STRS_H

#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* n bytes of s, NUL-terminated, freshly allocated; NULL when out of memory. */
static inline char *ljh__dup(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p) {
        if (n)
            memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

static inline char *ljh__dup_str(const ljh_str *s)
{
    return ljh__dup(s->ptr, s->len);
}

/* 1 when s has a control byte (below 0x20, or 0x7f): NUL, CR and LF would
 * truncate or inject where libcurl puts the string. */
static inline int ljh__has_ctl(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return 1;
    return 0;
}

/* An optional option string: *out NULL when in is not given, else its
 * copy, refused (errmsg names it as what) when longer than max bytes or
 * holding a control byte. */
static inline ljh_error ljh__copy_checked(const ljh_str *in, const char *what, size_t max,
                                          char **out, char *errmsg, size_t errlen)
{
    *out = NULL;
    if (!in->ptr)
        return LJH_OK;
    if (in->len > max) {
        ljh__msg(errmsg, errlen, "%s is too long", what);
        return LJH_E_INVALID_ARGUMENT;
    }
    if (ljh__has_ctl(in->ptr, in->len)) {
        ljh__msg(errmsg, errlen, "%s must not contain control characters (CR, LF, NUL...)", what);
        return LJH_E_INVALID_ARGUMENT;
    }
    *out = ljh__dup_str(in);
    return *out ? LJH_OK : LJH_E_OUT_OF_MEMORY;
}

#endif
