/* ljh_curl_features: libcurl's abilities as words, for ljhttp.info(). */
#include <criterion/criterion.h>
#include <string.h>

#include "internal.h"

static int has_word(const char *list, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = list; (p = strstr(p, word)) != NULL; p += n)
        if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
            return 1;
    return 0;
}

Test(info, features_match_curl_version_info)
{
    const char *f = ljh_curl_features();
    cr_assert_not_null(f);
    cr_assert_eq(f, ljh_curl_features(), "built once, same buffer");
    const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
    cr_expect_eq(has_word(f, "http2"), !!(v->features & CURL_VERSION_HTTP2));
    cr_expect_eq(has_word(f, "libz"), !!(v->features & CURL_VERSION_LIBZ));
    cr_expect_eq(has_word(f, "brotli"), !!(v->features & CURL_VERSION_BROTLI));
    cr_expect_eq(has_word(f, "unixsockets"), !!(v->features & CURL_VERSION_UNIX_SOCKETS));
    if (v->ssl_version && v->ssl_version[0])
        cr_expect_eq(strncmp(f, "tls=", 4), 0, "starts with the TLS backend: %s", f);
    cr_expect_null(strstr(f, "  "), "single spaces: %s", f);
}
