/* An ljh_str over a C string (NULL: "not given"), for the C tests that
 * build requests field by field (lstr: test_request.c's str() makes a
 * duration). */
#ifndef LJH_TEST_STR_H
#define LJH_TEST_STR_H

#include <string.h>

#include "ljhttp.h"

static inline ljh_str lstr(const char *s)
{
    ljh_str v = {s, s ? strlen(s) : 0};
    return v;
}

#endif
