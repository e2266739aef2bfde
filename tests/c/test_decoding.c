/* Tests for decoding.c: Content-Encoding lists, the zlib formats (gzip,
 * zlib-wrapped and raw deflate), byte-at-a-time input, members back to
 * back, and the end-of-stream check. br and zstd are covered end to end
 * by tests/lua/test_decoding.lua. */
#include <criterion/criterion.h>

#include <string.h>

#include "internal.h"
#include "decoding.h"

static const unsigned char gz[] = {0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02,
                                   0x03, 0xcb, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x86,
                                   0xa6, 0x10, 0x36, 0x05, 0x00, 0x00, 0x00};
static const unsigned char zl[] = {0x78, 0x9c, 0xcb, 0x48, 0xcd, 0xc9, 0xc9,
                                   0x07, 0x00, 0x06, 0x2c, 0x02, 0x15};
static const unsigned char raw[] = {0xcb, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00};

static ljh_error collect(void *ctx, const char *data, size_t n)
{
    ljh_buf *b = ctx;
    return ljh__buf_append(b, data, n) ? LJH_E_OUT_OF_MEMORY : LJH_OK;
}

/* Decodes in pieces of `step` bytes; returns the first error or finish's. */
static ljh_error decode(const char *enc, const void *in, size_t n, size_t step, ljh_buf *out)
{
    ljh_decoder *d = NULL;
    const char *why = NULL;
    ljh_error err = ljh__decoder_new(enc, strlen(enc), &d, &why);
    cr_assert_eq(err, LJH_OK, "%s: %s", enc, why ? why : "");
    cr_assert_not_null(d, "%s", enc);
    for (size_t off = 0; off < n && !err; off += step)
        err = ljh__decoder_feed(d, (const char *)in + off, n - off < step ? n - off : step, collect, out);
    if (!err)
        err = ljh__decoder_finish(d);
    ljh__decoder_free(d);
    return err;
}

Test(decoding, lists)
{
    ljh_decoder *d = (ljh_decoder *)1;
    const char *why = NULL;
    cr_expect_eq(ljh__decoder_new(NULL, 0, &d, &why), LJH_OK);
    cr_expect_null(d, "no Content-Encoding: no decoder");
    cr_expect_eq(ljh__decoder_new("identity", 8, &d, &why), LJH_OK);
    cr_expect_null(d);
    cr_expect_eq(ljh__decoder_new("gzip, compress", 14, &d, &why), LJH_E_PROTOCOL);
    cr_assert_not_null(why);
    cr_expect(strstr(why, "\"compress\"") != NULL, "the encoding is named: %s", why);
    ljh__decoder_free(d); /* the holder of the message */
    cr_expect_eq(ljh__decoder_new("gzip, gzip, gzip, gzip, gzip", 28, &d, &why), LJH_E_PROTOCOL,
                 "at most four");
    ljh__decoder_free(d);
    cr_assert_not_null(ljh__decoding_accept());
    cr_expect(strstr(ljh__decoding_accept(), "gzip") != NULL);
}

Test(decoding, zlib_formats_in_any_pieces)
{
    struct {
        const char *enc;
        const void *p;
        size_t n;
    } cases[] = {{"gzip", gz, sizeof gz}, {"X-GZIP", gz, sizeof gz}, {"deflate", zl, sizeof zl},
                 {"deflate", raw, sizeof raw}, {" gzip ,identity", gz, sizeof gz}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        for (size_t step = 1; step <= 32; step *= 2) {
            ljh_buf out = {0};
            ljh_error err = decode(cases[i].enc, cases[i].p, cases[i].n, step, &out);
            cr_expect_eq(err, LJH_OK, "case %zu step %zu", i, step);
            cr_expect(out.len == 5 && memcmp(out.p, "hello", 5) == 0, "case %zu step %zu", i, step);
            ljh__buf_free(&out);
        }
    }
}

Test(decoding, gzip_members_back_to_back)
{
    unsigned char two[2 * sizeof gz];
    memcpy(two, gz, sizeof gz);
    memcpy(two + sizeof gz, gz, sizeof gz);
    for (size_t step = 1; step <= sizeof two; step += 7) {
        ljh_buf out = {0};
        cr_expect_eq(decode("gzip", two, sizeof two, step, &out), LJH_OK);
        cr_expect(out.len == 10 && memcmp(out.p, "hellohello", 10) == 0, "step %zu", step);
        ljh__buf_free(&out);
    }
}

Test(decoding, cut_short_or_trailing_data_is_protocol)
{
    for (size_t cut = 1; cut < sizeof gz; cut++) {
        ljh_buf out = {0};
        cr_expect_eq(decode("gzip", gz, sizeof gz - cut, 3, &out), LJH_E_PROTOCOL, "cut %zu", cut);
        ljh__buf_free(&out);
    }
    unsigned char extra[sizeof zl + 1];
    memcpy(extra, zl, sizeof zl);
    extra[sizeof zl] = 'x';
    ljh_buf out = {0};
    cr_expect_eq(decode("deflate", extra, sizeof extra, 4, &out), LJH_E_PROTOCOL);
    ljh__buf_free(&out);
    /* a stacked list decodes the last encoding first: gzip inside identity */
    out = (ljh_buf){0};
    cr_expect_eq(decode("gzip, gzip", gz, sizeof gz, 5, &out), LJH_E_PROTOCOL,
                 "hello is not gzip: the outer layer fails");
    ljh__buf_free(&out);
}
