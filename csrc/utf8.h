/* utf8: the one UTF-8 check (RFC 3629: no overlongs, no surrogates,
 * nothing above U+10FFFF), for JSON text and WebSocket text messages. */
#ifndef LJH_UTF8_H
#define LJH_UTF8_H

#include <stddef.h>

/* The length of the UTF-8 sequence at s (n bytes left, s[0] >= 0x80),
 * 0 when it is not a valid one. */
size_t ljh__utf8_seq(const unsigned char *s, size_t n);

/* 1 when all n bytes at s are valid UTF-8, else 0. */
int ljh__utf8_valid(const unsigned char *s, size_t n);

#endif
