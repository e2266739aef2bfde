/* What may appear in header names, values and cookies, and Go's canonical
 * header-name form. Pure functions over bytes: no allocation. */
#include <string.h>

#include "internal.h"

/* RFC 9110 tchar: letters, digits and !#$%&'*+-.^_`|~, one bit per
 * byte below 128 (every response header name is checked). */
static int is_tchar(unsigned char c)
{
    static const uint32_t bits[4] = {0x00000000u, 0x03ff6cfau, 0xc7fffffeu, 0x57ffffffu};
    return c < 128 && ((bits[c >> 5] >> (c & 31)) & 1u);
}

int ljh__is_token(const char *s, size_t n)
{
    if (!s || n == 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!is_tchar((unsigned char)s[i]))
            return 0;
    return 1;
}

int ljh__is_header_value(const char *s, size_t n)
{
    if (!s)
        return n == 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return 0;
    }
    return 1;
}

/* RFC 6265 cookie-octet, optionally inside one pair of double quotes. */
static int is_cookie_octet(unsigned char c)
{
    return c == 0x21 || (c >= 0x23 && c <= 0x2b) || (c >= 0x2d && c <= 0x3a) ||
           (c >= 0x3c && c <= 0x5b) || (c >= 0x5d && c <= 0x7e);
}

int ljh__is_cookie_value(const char *s, size_t n)
{
    if (!s)
        return n == 0;
    if (n >= 2 && s[0] == '"' && s[n - 1] == '"') {
        s++;
        n -= 2;
    }
    for (size_t i = 0; i < n; i++)
        if (!is_cookie_octet((unsigned char)s[i]))
            return 0;
    return 1;
}

void ljh__canonical_header(const char *in, size_t n, char *out)
{
    memcpy(out, in, n);
    /* Go leaves names with bytes outside the token set as they are. */
    for (size_t i = 0; i < n; i++)
        if (!is_tchar((unsigned char)in[i]))
            return;
    int upper = 1;
    for (size_t i = 0; i < n; i++) {
        char c = out[i];
        if (upper && c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        else if (!upper && c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        out[i] = c;
        upper = c == '-';
    }
}

/* Per byte below 128: 0 when it is no tchar, else the byte lower-cased. */
static const unsigned char token_lower[128] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 33, 0, 35, 36, 37, 38, 39, 0, 0, 42, 43, 0, 45, 46, 0,
    48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 0, 0, 0, 0, 0, 0,
    0, 97, 98, 99, 100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111,
    112, 113, 114, 115, 116, 117, 118, 119, 120, 121, 122, 0, 0, 0, 94, 95,
    96, 97, 98, 99, 100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111,
    112, 113, 114, 115, 116, 117, 118, 119, 120, 121, 122, 0, 124, 0, 126, 0,
};

size_t ljh__canonical_token(const char *in, size_t n, char *out)
{
    int upper = 1;
    for (size_t i = 0; i < n; i++) {
        unsigned char b = (unsigned char)in[i];
        unsigned char c = b < 128 ? token_lower[b] : 0;
        if (!c)
            return 0;
        if (upper && c >= 'a' && c <= 'z')
            c = (unsigned char)(c - 32);
        out[i] = (char)c;
        upper = c == '-';
    }
    return n;
}

int ljh__header_is(const char *name, size_t n, const char *lower)
{
    if (n && lower[0]) { /* most names differ at once: no strlen for them */
        char c0 = name[0] >= 'A' && name[0] <= 'Z' ? (char)(name[0] + 32) : name[0];
        if (c0 != lower[0])
            return 0;
    }
    size_t m = strlen(lower);
    if (n != m)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != lower[i])
            return 0;
    }
    return 1;
}

int32_t ljh_canonical_header(const char *name, int32_t len, char *out)
{
    if (!name || !out || len <= 0)
        return 0;
    ljh__canonical_header(name, (size_t)len, out);
    return len;
}
