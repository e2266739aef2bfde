/* json_text: the byte check both JSON directions make, decoding on the
 * whole document, encoding on each string: valid UTF-8, and no control
 * bytes where JSON text may not have them. */
#include <stdint.h>
#include <string.h>

#include "json.h"

/* The length of the UTF-8 sequence at s (n bytes left, s[0] >= 0x80),
 * 0 when it is not one. */
static size_t sequence_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0], lo = 0x80, hi = 0xBF;
    size_t need;
    if (c >= 0xC2 && c <= 0xDF) {
        need = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 2;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 3;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else {
        return 0;
    }
    if (n <= need || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t k = 2; k <= need; k++)
        if ((s[k] & 0xC0) != 0x80)
            return 0;
    return need + 1;
}

/* Offset of the first byte of s that is not part of valid UTF-8 (RFC 3629:
 * no overlongs, no surrogates, nothing above U+10FFFF) or, when ctl is
 * set, that is a control byte other than TAB, LF and CR. len when none.
 * *why says which. ASCII runs go eight bytes at a time. */
size_t ljh__json_check_text(const unsigned char *s, size_t len, int ctl, const char **why)
{
    size_t i = 0;
    while (i < len) {
        if (i + 8 <= len) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            uint64_t low = ctl ? (w - 0x2020202020202020ULL) & ~w : 0;
            if (((w | low) & 0x8080808080808080ULL) == 0) {
                i += 8;
                continue;
            }
        }
        unsigned c = s[i];
        if (c < 0x80) {
            if (ctl && c < 0x20 && c != '\t' && c != '\n' && c != '\r') {
                *why = "control character";
                return i;
            }
            i++;
            continue;
        }
        size_t q = sequence_len(s + i, len - i);
        if (!q) {
            *why = "invalid UTF-8";
            return i;
        }
        i += q;
    }
    return len;
}
