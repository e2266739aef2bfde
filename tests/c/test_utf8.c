/* The UTF-8 check shared by JSON and WebSocket text (csrc/utf8.c): the
 * RFC 3629 edges one by one, then the whole check against a decoder
 * written the other way round (code point arithmetic) on random input. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"

static int valid(const char *s, size_t n)
{
    return ljh__utf8_valid((const unsigned char *)s, n);
}

#define OK(lit) cr_expect(valid(lit, sizeof lit - 1), "valid: %s", #lit)
#define BAD(lit) cr_expect(!valid(lit, sizeof lit - 1), "invalid: %s", #lit)

Test(utf8, rfc3629_edges)
{
    OK("");
    OK("plain ASCII, longer than eight bytes");
    OK("\x7f");
    OK("\xc2\x80");
    OK("\xdf\xbf");
    OK("\xe0\xa0\x80");
    OK("\xed\x9f\xbf");             /* U+D7FF, just below the surrogates */
    OK("\xee\x80\x80");             /* U+E000, just above */
    OK("\xef\xbf\xbf");
    OK("\xf0\x90\x80\x80");
    OK("\xf4\x8f\xbf\xbf");         /* U+10FFFF */
    OK("12345678\xe2\x82\xac" "abc"); /* a sequence after a fast ASCII run */
    BAD("\x80");                    /* a lone continuation byte */
    BAD("\xc0\x80");                /* overlong NUL */
    BAD("\xc1\xbf");
    BAD("\xe0\x9f\xbf");            /* overlong three-byte */
    BAD("\xed\xa0\x80");            /* U+D800, a surrogate */
    BAD("\xed\xbf\xbf");
    BAD("\xf0\x8f\xbf\xbf");        /* overlong four-byte */
    BAD("\xf4\x90\x80\x80");        /* past U+10FFFF */
    BAD("\xf5\x80\x80\x80");
    BAD("\xff");
    BAD("\xe2\x82");                /* cut short at the end */
    BAD("abcdefgh\xe2\x82");
    BAD("\xe2\x28\xa1");            /* a continuation byte missing */
}

/* A second decoder: code point arithmetic, as the definition reads. */
static int valid_by_code_point(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned c = s[i];
        size_t k;
        uint32_t cp, min;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            k = 1, cp = c & 0x1f, min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
            k = 2, cp = c & 0x0f, min = 0x800;
        } else if ((c & 0xf8) == 0xf0) {
            k = 3, cp = c & 0x07, min = 0x10000;
        } else {
            return 0;
        }
        if (i + k >= n)
            return 0;
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xc0) != 0x80)
                return 0;
            cp = cp << 6 | (s[i + j] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += k + 1;
    }
    return 1;
}

Test(utf8, agrees_with_code_point_decoding)
{
    unsigned char buf[24];
    unsigned seed = 12345;
    int seen_valid = 0, seen_invalid = 0;
    for (int round = 0; round < 300000; round++) {
        size_t n = (size_t)(rand_r(&seed) % sizeof buf);
        for (size_t i = 0; i < n; i++) {
            unsigned r = (unsigned)rand_r(&seed);
            /* mostly ASCII and continuation/lead bytes, where the edges are */
            buf[i] = (unsigned char)(r % 4 == 0 ? r >> 8 & 0x7f : 0x80 | (r >> 8 & 0x7f));
        }
        int want = valid_by_code_point(buf, n);
        cr_assert_eq(ljh__utf8_valid(buf, n), want, "round %d, %zu bytes", round, n);
        seen_valid += want;
        seen_invalid += !want;
    }
    cr_expect_gt(seen_valid, 1000);
    cr_expect_gt(seen_invalid, 1000);
}
