/* Header name/value validation and Go's canonical form: ljh__is_token,
 * ljh__is_header_value, ljh__is_cookie_value, ljh__canonical_header and
 * the exported ljh_canonical_header, on exactly sized copies. */
#include <string.h>

#include "internal.h"
#include "fuzz.h"

static int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *in = fuzz_dup((const char *)data, size);
    char *out = fuzz_dup((const char *)data, size);
    int tok = ljh__is_token(in, size);
    int val = ljh__is_header_value(in, size);
    int ck = ljh__is_cookie_value(in, size);
    ljh__canonical_header(in, size, out);
    if (tok) {
        /* tokens are valid values; canonical form is a token, same bytes
         * up to case, and canonicalising again changes nothing */
        FUZZ_CHECK(val);
        FUZZ_CHECK(ljh__is_token(out, size));
        for (size_t i = 0; i < size; i++)
            FUZZ_CHECK(lower((unsigned char)in[i]) == lower((unsigned char)out[i]));
        char *again = fuzz_dup(out, size);
        ljh__canonical_header(out, size, again);
        FUZZ_CHECK(memcmp(again, out, size) == 0);
        free(again);
        /* ljh__header_is against the lower-case form */
        char *low = malloc(size + 1);
        for (size_t i = 0; i < size; i++)
            low[i] = (char)lower((unsigned char)in[i]);
        low[size] = '\0';
        if (!memchr(low, '\0', size))
            FUZZ_CHECK(ljh__header_is(out, size, low));
        free(low);
    } else {
        FUZZ_CHECK(memcmp(in, out, size) == 0); /* non-tokens are left as they are */
    }
    if (ck) {
        /* cookie octets never include CR, LF, NUL, ';', ',' or space,
         * outside one pair of surrounding quotes */
        size_t a = 0, b = size;
        if (size >= 2 && in[0] == '"' && in[size - 1] == '"') {
            a = 1;
            b = size - 1;
        }
        for (size_t i = a; i < b; i++) {
            unsigned char c = (unsigned char)in[i];
            FUZZ_CHECK(c > 0x20 && c < 0x7f && c != ';' && c != ',' && c != '"' && c != '\\');
        }
    }
    if (val)
        for (size_t i = 0; i < size; i++)
            FUZZ_CHECK(in[i] != '\r' && in[i] != '\n' && in[i] != '\0');
    /* the exported wrapper */
    if (size <= INT32_MAX) {
        char *out2 = fuzz_dup((const char *)data, size);
        int32_t n = ljh_canonical_header(in, (int32_t)size, out2);
        FUZZ_CHECK(n == (int32_t)size);
        FUZZ_CHECK(memcmp(out, out2, size) == 0);
        free(out2);
    }
    /* name: value split at the first colon, as collect.c does */
    const char *colon = memchr(in, ':', size);
    if (colon) {
        size_t nl = (size_t)(colon - in);
        ljh__is_token(in, nl);
        ljh__is_header_value(colon + 1, size - nl - 1);
    }
    free(in);
    free(out);
    return 0;
}
