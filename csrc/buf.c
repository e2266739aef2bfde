/* A growable byte buffer that stays NUL-terminated, so bodies and header
 * text can be handed to Lua as pointer + length and to C as strings. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int ljh__buf_reserve(ljh_buf *b, size_t total)
{
    if (total < b->cap)
        return 0;
    if (total >= SIZE_MAX / 2)
        return -1;
    size_t cap = b->cap ? b->cap : 256;
    while (cap <= total)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p)
        return -1;
    b->p = p;
    b->cap = cap;
    return 0;
}

int ljh__buf_append(ljh_buf *b, const void *data, size_t n)
{
    if (n > SIZE_MAX / 2 - b->len || ljh__buf_reserve(b, b->len + n) != 0)
        return -1;
    if (n)
        memcpy(b->p + b->len, data, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

void ljh__buf_free(ljh_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

char *ljh__buf_steal(ljh_buf *b)
{
    if (!b->p && ljh__buf_reserve(b, 0) != 0)
        return NULL;
    if (!b->len)
        b->p[0] = '\0';
    char *p = b->p;
    b->p = NULL;
    b->len = b->cap = 0;
    return p;
}
