/* Tests for headers.c: tokens, header and cookie values, Go's canonical
 * header-name form. */
#include <criterion/criterion.h>

#include <string.h>

#include "internal.h"

/* Pointer + length of a literal, so inputs may hold NUL bytes. */
#define LIT(s) (s), (sizeof(s) - 1)

/* ---- ljh__is_token ---- */

Test(is_token, accepts_rfc9110_tokens)
{
    cr_expect(ljh__is_token(LIT("Content-Type")));
    cr_expect(ljh__is_token(LIT("x")));
    cr_expect(ljh__is_token(LIT("GET")));
    cr_expect(ljh__is_token(LIT("0123456789")));
    cr_expect(ljh__is_token(LIT("!#$%&'*+-.^_`|~")));
    cr_expect(ljh__is_token(LIT("azAZ09")));
}

Test(is_token, refuses_empty_and_null)
{
    cr_expect_not(ljh__is_token(LIT("")));
    cr_expect_not(ljh__is_token(NULL, 0));
    cr_expect_not(ljh__is_token(NULL, 5));
}

Test(is_token, refuses_separators_and_controls)
{
    static const char *const bad[] = {
        "a b", "a:b", "a;b", "a,b", "a\"b", "a(b", "a)b", "a/b", "a[b", "a]b", "a?b",
        "a=b", "a{b", "a}b", "a\\b", "a@b", "a<b", "a>b", "a\tb", "a\rb", "a\nb",
        "a\x7f" "b", "a\x01" "b", "a\x80" "b", "\xff",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_expect_not(ljh__is_token(bad[i], strlen(bad[i])), "accepted \"%s\"", bad[i]);
    cr_expect_not(ljh__is_token(LIT("a\0b")), "accepted an embedded NUL");
    cr_expect_not(ljh__is_token(LIT("\0")), "accepted a lone NUL");
}

Test(is_token, honours_the_length)
{
    /* Only the first n bytes count. */
    cr_expect(ljh__is_token("abc def", 3));
    cr_expect_not(ljh__is_token("abc def", 4));
}

/* ---- ljh__is_header_value ---- */

Test(is_header_value, accepts_ordinary_values)
{
    cr_expect(ljh__is_header_value(LIT("text/html; charset=utf-8")));
    cr_expect(ljh__is_header_value(LIT("a\tb")), "HTAB must be allowed");
    cr_expect(ljh__is_header_value(LIT("\t")));
    cr_expect(ljh__is_header_value(LIT("  spaces  ")));
    cr_expect(ljh__is_header_value(LIT("caf\xc3\xa9")), "obs-text (UTF-8) must be allowed");
    cr_expect(ljh__is_header_value(LIT("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")));
}

Test(is_header_value, accepts_empty)
{
    cr_expect(ljh__is_header_value(LIT("")));
    cr_expect(ljh__is_header_value(NULL, 0));
}

Test(is_header_value, refuses_null_with_length)
{
    cr_expect_not(ljh__is_header_value(NULL, 3));
}

Test(is_header_value, refuses_cr_lf_nul_del)
{
    cr_expect_not(ljh__is_header_value(LIT("a\rb")));
    cr_expect_not(ljh__is_header_value(LIT("a\nb")));
    cr_expect_not(ljh__is_header_value(LIT("a\r\nX-Injected: 1")));
    cr_expect_not(ljh__is_header_value(LIT("a\0b")));
    cr_expect_not(ljh__is_header_value(LIT("\0")));
    cr_expect_not(ljh__is_header_value(LIT("a\x7f")));
}

Test(is_header_value, refuses_every_other_control)
{
    for (int c = 0; c < 0x20; c++) {
        char v[3] = {'a', (char)c, 'b'};
        if (c == '\t')
            cr_expect(ljh__is_header_value(v, 3), "HTAB refused");
        else
            cr_expect_not(ljh__is_header_value(v, 3), "control 0x%02x accepted", c);
    }
}

/* ---- ljh__is_cookie_value ---- */

Test(is_cookie_value, accepts_cookie_octets)
{
    cr_expect(ljh__is_cookie_value(LIT("abc123")));
    cr_expect(ljh__is_cookie_value(LIT("a=b")));
    cr_expect(ljh__is_cookie_value(LIT("!#$%&'()*+-./:<=>?@[]^_`{|}~")));
    cr_expect(ljh__is_cookie_value(LIT("")));
    cr_expect(ljh__is_cookie_value(NULL, 0));
}

Test(is_cookie_value, accepts_one_pair_of_quotes)
{
    cr_expect(ljh__is_cookie_value(LIT("\"quoted\"")));
    cr_expect(ljh__is_cookie_value(LIT("\"\"")));
}

Test(is_cookie_value, refuses_separators)
{
    cr_expect_not(ljh__is_cookie_value(LIT("a;b")));
    cr_expect_not(ljh__is_cookie_value(LIT("a,b")));
    cr_expect_not(ljh__is_cookie_value(LIT("a b")));
    cr_expect_not(ljh__is_cookie_value(LIT("a\"b")));
    cr_expect_not(ljh__is_cookie_value(LIT("a\\b")));
    cr_expect_not(ljh__is_cookie_value(LIT("\"")), "a lone quote is not a quoted value");
    cr_expect_not(ljh__is_cookie_value(LIT("\"a")));
    cr_expect_not(ljh__is_cookie_value(LIT("a\"")));
    cr_expect_not(ljh__is_cookie_value(LIT("\"a b\"")), "quotes do not allow a space");
    cr_expect_not(ljh__is_cookie_value(LIT("\"a;b\"")));
    cr_expect_not(ljh__is_cookie_value(LIT("\"\"\"")));
}

Test(is_cookie_value, refuses_controls_and_non_ascii)
{
    cr_expect_not(ljh__is_cookie_value(LIT("a\tb")));
    cr_expect_not(ljh__is_cookie_value(LIT("a\rb")));
    cr_expect_not(ljh__is_cookie_value(LIT("a\nb")));
    cr_expect_not(ljh__is_cookie_value(LIT("a\0b")));
    cr_expect_not(ljh__is_cookie_value(LIT("a\x7f")));
    cr_expect_not(ljh__is_cookie_value(LIT("caf\xc3\xa9")));
    cr_expect_not(ljh__is_cookie_value(NULL, 1));
}

/* ---- canonical header names ---- */

static void expect_canonical(const char *in, size_t n, const char *want)
{
    char out[256];
    cr_assert_lt(n, sizeof out);
    memset(out, 'Z', sizeof out);
    ljh__canonical_header(in, n, out);
    cr_expect_eq(memcmp(out, want, n), 0, "\"%.*s\" -> \"%.*s\", want \"%s\"", (int)n, in,
                 (int)n, out, want);
    cr_expect_eq(out[n], 'Z', "wrote past n bytes for \"%.*s\"", (int)n, in);

    char pub[256];
    memset(pub, 'Z', sizeof pub);
    cr_expect_eq(ljh_canonical_header(in, (int32_t)n, pub), (int32_t)n);
    cr_expect_eq(memcmp(pub, want, n), 0, "ljh_canonical_header(\"%.*s\") -> \"%.*s\"", (int)n,
                 in, (int)n, pub);
}

#define CANON(in, want) expect_canonical(LIT(in), want)

Test(canonical_header, go_examples)
{
    CANON("content-type", "Content-Type");
    CANON("CONTENT-TYPE", "Content-Type");
    CANON("Content-Type", "Content-Type");
    CANON("x-request-uri", "X-Request-Uri");
    CANON("ETAG", "Etag");
    CANON("etag", "Etag");
    CANON("www-authenticate", "Www-Authenticate");
    CANON("x-forwarded-for", "X-Forwarded-For");
    CANON("a", "A");
    CANON("A", "A");
    CANON("x_y-z", "X_y-Z");
    CANON("1abc-2DEF", "1abc-2def");
}

Test(canonical_header, dashes)
{
    CANON("-foo", "-Foo");
    CANON("foo-", "Foo-");
    CANON("foo--bar", "Foo--Bar");
    CANON("-", "-");
    CANON("---", "---");
}

Test(canonical_header, non_tokens_unchanged)
{
    CANON("content type", "content type");
    CANON("foo bar-baz", "foo bar-baz");
    CANON("content:type", "content:type");
    CANON("x-\xc3\xa9t\xc3\xa9", "x-\xc3\xa9t\xc3\xa9");
    CANON("caf\xe9-x", "caf\xe9-x");
    CANON("foo\tbar", "foo\tbar");
    CANON("foo@bar", "foo@bar");
    expect_canonical(LIT("a\0b"), "a\0b");
}

Test(canonical_header, public_wrapper_edge_cases)
{
    char out[8] = "unset";
    cr_expect_eq(ljh_canonical_header(NULL, 3, out), 0);
    cr_expect_eq(ljh_canonical_header("abc", 0, out), 0);
    cr_expect_eq(ljh_canonical_header("abc", -1, out), 0);
    cr_expect_eq(ljh_canonical_header("abc", 3, NULL), 0);
    cr_expect_str_eq(out, "unset");
}

/* ---- ljh__header_is ---- */

Test(header_is, case_insensitive_exact_length)
{
    cr_expect(ljh__header_is(LIT("Content-Length"), "content-length"));
    cr_expect(ljh__header_is(LIT("CONTENT-LENGTH"), "content-length"));
    cr_expect_not(ljh__header_is(LIT("Content-Length2"), "content-length"));
    cr_expect_not(ljh__header_is(LIT("Content-Lengt"), "content-length"));
    cr_expect_not(ljh__header_is(LIT("content-length"), "content-type"));
    cr_expect(ljh__header_is("", 0, ""));
}

/* ---- ljh__canonical_token (the response path's one-pass form) ---- */

/* Every byte, alone and inside names, as is_token + canonical_header say. */
Test(canonical_token, agrees_with_is_token_and_canonical_header)
{
    for (int b = 0; b < 256; b++) {
        char in[4] = {'a', (char)b, 'B', '\0'};
        for (size_t at = 0; at < 3; at++) {
            char probe[3];
            memcpy(probe, in, 3);
            probe[at] = (char)b;
            char want[3], got[3];
            int tok = ljh__is_token(probe, 3);
            ljh__canonical_header(probe, 3, want);
            size_t n = ljh__canonical_token(probe, 3, got);
            cr_assert_eq(n, tok ? 3u : 0u, "byte 0x%02x at %zu", b, at);
            if (tok)
                cr_assert(memcmp(got, want, 3) == 0, "byte 0x%02x at %zu", b, at);
        }
    }
    char out[32];
    cr_expect_eq(ljh__canonical_token(LIT("cONTENT-tYPE"), out), 12u);
    cr_expect(memcmp(out, "Content-Type", 12) == 0);
    cr_expect_eq(ljh__canonical_token(LIT("x--y"), out), 4u);
    cr_expect(memcmp(out, "X--Y", 4) == 0);
    cr_expect_eq(ljh__canonical_token(LIT(""), out), 0u);
    cr_expect_eq(ljh__canonical_token(LIT("a b"), out), 0u);
    cr_expect_eq(ljh__canonical_token(LIT("caf\xc3\xa9"), out), 0u);
}

/* header_is skips the length check on a first byte that differs. */
Test(header_is, first_byte_and_case)
{
    cr_expect(ljh__header_is(LIT("Content-Length"), "content-length"));
    cr_expect(ljh__header_is(LIT("CONTENT-LENGTH"), "content-length"));
    cr_expect_not(ljh__header_is(LIT("Dontent-Length"), "content-length"));
    cr_expect_not(ljh__header_is(LIT("Content-Lengthx"), "content-length"));
    cr_expect_not(ljh__header_is(LIT("C"), "content-length"));
    cr_expect(ljh__header_is(LIT(""), ""));
    cr_expect_not(ljh__header_is(LIT(""), "x"));
    cr_expect_not(ljh__header_is(LIT("x"), ""));
}
