/* Tests for errors.c: the stable error words, bounded messages and the
 * mapping from libcurl's codes. */
#include <criterion/criterion.h>

#include <string.h>

#include "internal.h"

static const char *const want_names[] = {
    "ok",          "invalid_argument", "unsupported_scheme", "invalid_url",
    "dns",         "connect",          "tls",                "timeout",
    "too_many_redirects", "too_large", "protocol",           "network",
    "cancelled",   "closed",           "out_of_memory",      "internal",
    "io",
};

Test(error_name, exact_words)
{
    cr_assert_eq(sizeof want_names / sizeof want_names[0], (size_t)LJH_E_COUNT);
    for (int32_t i = 0; i < LJH_E_COUNT; i++) {
        const char *n = ljh_error_name(i);
        cr_assert_not_null(n, "code %d", i);
        cr_expect_str_eq(n, want_names[i], "code %d", i);
    }
    cr_expect_str_eq(ljh_error_name(LJH_OK), "ok");
    cr_expect_str_eq(ljh_error_name(LJH_E_TIMEOUT), "timeout");
    cr_expect_str_eq(ljh_error_name(LJH_E_INTERNAL), "internal");
}

Test(error_name, distinct_and_non_empty)
{
    for (int32_t i = 0; i < LJH_E_COUNT; i++) {
        const char *a = ljh_error_name(i);
        cr_assert_not_null(a);
        cr_expect_gt(strlen(a), 0, "code %d has an empty name", i);
        for (int32_t j = 0; j < i; j++)
            cr_expect_str_neq(a, ljh_error_name(j), "codes %d and %d share a name", i, j);
    }
}

Test(error_name, out_of_range_is_internal)
{
    const int32_t bad[] = {-1, LJH_E_COUNT, LJH_E_COUNT + 1, 100, INT32_MIN, INT32_MAX};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_expect_str_eq(ljh_error_name(bad[i]), "internal", "code %d", bad[i]);
}

Test(error_from_curl, mapping)
{
    static const struct {
        CURLcode rc;
        ljh_error want;
    } cases[] = {
        {CURLE_OK, LJH_OK},
        {CURLE_COULDNT_CONNECT, LJH_E_CONNECT},
        {CURLE_OPERATION_TIMEDOUT, LJH_E_TIMEOUT},
        {CURLE_COULDNT_RESOLVE_HOST, LJH_E_DNS},
        {CURLE_COULDNT_RESOLVE_PROXY, LJH_E_DNS},
        {CURLE_PEER_FAILED_VERIFICATION, LJH_E_TLS},
        {CURLE_SSL_CONNECT_ERROR, LJH_E_TLS},
        {CURLE_SSL_CACERT_BADFILE, LJH_E_TLS},
        {CURLE_FILESIZE_EXCEEDED, LJH_E_TOO_LARGE},
        {CURLE_PARTIAL_FILE, LJH_E_NETWORK},
        {CURLE_RECV_ERROR, LJH_E_NETWORK},
        {CURLE_SEND_ERROR, LJH_E_NETWORK},
        {CURLE_GOT_NOTHING, LJH_E_NETWORK},
        {CURLE_WEIRD_SERVER_REPLY, LJH_E_PROTOCOL},
        {CURLE_HTTP2, LJH_E_PROTOCOL},
        {CURLE_BAD_CONTENT_ENCODING, LJH_E_PROTOCOL},
        {CURLE_UNSUPPORTED_PROTOCOL, LJH_E_PROTOCOL}, /* schemes are checked before */
        {CURLE_URL_MALFORMAT, LJH_E_INVALID_URL},
        {CURLE_TOO_MANY_REDIRECTS, LJH_E_TOO_MANY_REDIRECTS},
        {CURLE_OUT_OF_MEMORY, LJH_E_OUT_OF_MEMORY},
        {CURLE_ABORTED_BY_CALLBACK, LJH_E_CANCELLED},
        {CURLE_FAILED_INIT, LJH_E_INTERNAL},
        {(CURLcode)9999, LJH_E_INTERNAL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ljh_error got = ljh__error_from_curl(cases[i].rc);
        cr_expect_eq(got, cases[i].want, "curl %d (%s): got %s, want %s", (int)cases[i].rc,
                     curl_easy_strerror(cases[i].rc), ljh_error_name(got),
                     ljh_error_name(cases[i].want));
    }
}

Test(error_from_curl, always_in_range)
{
    for (int rc = 0; rc < CURL_LAST + 5; rc++) {
        ljh_error got = ljh__error_from_curl((CURLcode)rc);
        cr_expect(got >= LJH_OK && got < LJH_E_COUNT, "curl %d -> %d", rc, (int)got);
        if (rc != CURLE_OK)
            cr_expect_neq(got, LJH_OK, "curl error %d maps to ok", rc);
    }
}

Test(msg, bounded_and_terminated)
{
    char buf[8];
    memset(buf, 'x', sizeof buf);
    ljh__msg(buf, sizeof buf, "%s", "a long message that does not fit");
    cr_expect_eq(strlen(buf), 7);
    cr_expect_eq(memcmp(buf, "a long ", 7), 0);
    ljh__msg(buf, sizeof buf, "%d", 42);
    cr_expect_str_eq(buf, "42");
    ljh__msg(NULL, 10, "%s", "no crash");
    char one[1] = {'x'};
    ljh__msg(one, 0, "%s", "no write");
    cr_expect_eq(one[0], 'x');
    ljh__msg(one, 1, "%s", "only the NUL");
    cr_expect_eq(one[0], '\0');
}
