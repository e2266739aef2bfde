/* Query/form escaping (ljh_escape, which the Lua side's urlencode calls):
 * the output only holds unreserved bytes and %XX, decodes back to the
 * input, and nothing is written past a too-small buffer. */
#include <string.h>

#include "internal.h"
#include "fuzz.h"

static int unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '.' || c == '_' || c == '~';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int inited;
    if (!inited) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        inited = 1;
    }
    char *in = fuzz_dup((const char *)data, size);
    size_t cap = 3 * size;
    char *out = malloc(cap ? cap : 1);
    size_t n = ljh_escape(in, size, out, cap);
    FUZZ_CHECK(n != (size_t)-1);
    FUZZ_CHECK(n <= cap && n >= size);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)out[i];
        if (c == '%') {
            FUZZ_CHECK(i + 2 < n);
            int hi = out[i + 1], lo = out[i + 2];
            FUZZ_CHECK(strchr("0123456789ABCDEF", hi) && strchr("0123456789ABCDEF", lo) && hi && lo);
            int v = (hi <= '9' ? hi - '0' : hi - 'A' + 10) * 16 + (lo <= '9' ? lo - '0' : lo - 'A' + 10);
            FUZZ_CHECK(k < size && (unsigned char)in[k] == v);
            i += 2;
        } else {
            FUZZ_CHECK(unreserved(c));
            FUZZ_CHECK(k < size && in[k] == (char)c);
        }
        k++;
    }
    FUZZ_CHECK(k == size);
    /* a buffer that is too small is left alone, the length still comes back */
    if (n > 0) {
        size_t small = n - 1;
        char *tiny = malloc(small ? small : 1);
        size_t m = ljh_escape(in, size, tiny, small);
        FUZZ_CHECK(m == n);
        free(tiny);
        FUZZ_CHECK(ljh_escape(in, size, NULL, 0) == n);
    }
    free(out);
    free(in);
    return 0;
}
