/* json_text: the byte check both JSON directions make, decoding on the
 * whole document, encoding on each string: valid UTF-8, and no control
 * bytes where JSON text may not have them. */
#include <stdint.h>
#include <string.h>

#include "json.h"
#include "utf8.h"

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
        size_t q = ljh__utf8_seq(s + i, len - i);
        if (!q) {
            *why = "invalid UTF-8";
            return i;
        }
        i += q;
    }
    return len;
}
