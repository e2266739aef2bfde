/* Tests for errors.c: the stable error words, bounded messages and the
 * mapping from libcurl's codes. */
#include <criterion/criterion.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static const char *const want_names[] = {
    "ok",          "invalid_argument", "unsupported_scheme", "invalid_url",
    "dns",         "connect",          "tls",                "timeout",
    "too_many_redirects", "too_large", "protocol",           "network",
    "cancelled",   "closed",           "out_of_memory",      "internal",
    "io",       "json",
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

/* The table is indexed by code and names each code once. */
Test(error_from_curl, table_is_dense)
{
    cr_assert_geq(ljh__n_curl_codes, (size_t)CURL_LAST, "the installed curl.h has codes the table lacks");
    for (size_t i = 0; i < ljh__n_curl_codes; i++) {
        cr_expect_eq(ljh__curl_codes[i].code, (int)i, "row %zu", i);
        cr_expect_not_null(ljh__curl_codes[i].name);
        cr_expect(ljh__curl_codes[i].error < LJH_E_COUNT, "row %zu", i);
        cr_expect_eq(ljh__error_from_curl((CURLcode)i), ljh__curl_codes[i].error);
    }
    cr_expect_eq(ljh__error_from_curl((CURLcode)ljh__n_curl_codes), LJH_E_INTERNAL);
    cr_expect_eq(ljh__error_from_curl((CURLcode)-1), LJH_E_INTERNAL);
    /* the codes newer than 7.88 that an HTTP client meets */
    cr_expect_eq(ljh__error_from_curl((CURLcode)100), LJH_E_TOO_LARGE, "CURLE_TOO_LARGE");
    cr_expect_str_eq(ljh__curl_codes[100].name, "CURLE_TOO_LARGE");
    cr_expect_eq(ljh__error_from_curl((CURLcode)101), LJH_E_TLS, "CURLE_ECH_REQUIRED");
}

/* The installed curl/curl.h: LJH_CURL_H, else pkg-config's includedir,
 * else the usual places. */
static FILE *open_curl_h(char *path, size_t cap)
{
    const char *env = getenv("LJH_CURL_H");
    if (env && *env) {
        snprintf(path, cap, "%s", env);
        return fopen(path, "r");
    }
    FILE *p = popen("pkg-config --variable=includedir libcurl 2>/dev/null", "r");
    char dir[512] = "";
    if (p) {
        if (!fgets(dir, sizeof dir, p))
            dir[0] = '\0';
        pclose(p);
    }
    dir[strcspn(dir, "\r\n")] = '\0';
    const char *tries[] = {dir, "/usr/include", "/usr/local/include", "/usr/include/x86_64-linux-gnu",
                           "/usr/include/aarch64-linux-gnu", "/opt/homebrew/include"};
    for (size_t i = 0; i < sizeof tries / sizeof tries[0]; i++) {
        if (!tries[i][0])
            continue;
        snprintf(path, cap, "%s/curl/curl.h", tries[i]);
        FILE *f = fopen(path, "r");
        if (f)
            return f;
    }
    return NULL;
}

/* Every enumerator of CURLcode in the installed header has a row with its
 * name at its number: a libcurl that adds a code fails here until errors.c
 * decides what it means. */
Test(error_from_curl, every_code_in_curl_h_is_decided)
{
    char path[600];
    FILE *f = open_curl_h(path, sizeof path);
    cr_assert_not_null(f, "curl/curl.h not found (set LJH_CURL_H)");
    static char text[1 << 20];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    /* comments out, so the enumerators are the only CURLE_ words left */
    for (char *c = text; *c; c++) {
        if (c[0] == '/' && c[1] == '*') {
            char *e = strstr(c + 2, "*/");
            size_t l = e ? (size_t)(e + 2 - c) : strlen(c);
            memset(c, ' ', l);
            c += l - 1;
        }
    }
    char *start = strstr(text, "CURLE_OK = 0");
    cr_assert_not_null(start, "%s: no CURLE_OK = 0", path);
    char *end = strstr(start, "} CURLcode;");
    cr_assert_not_null(end, "%s: no end of CURLcode", path);
    /* 8.x lists test-only values (CURLE_RESERVED115...) after CURL_LAST */
    char *last = strstr(start, "CURL_LAST");
    if (last && last < end)
        end = last;
    *end = '\0';
    int value = 0, seen = 0;
    for (char *c = start; *c;) {
        if (strncmp(c, "CURLE_", 6) != 0 || (c > start && (isalnum((unsigned char)c[-1]) || c[-1] == '_'))) {
            c++;
            continue;
        }
        char name[64];
        size_t l = 0;
        while ((isalnum((unsigned char)c[l]) || c[l] == '_') && l < sizeof name - 1) {
            name[l] = c[l];
            l++;
        }
        name[l] = '\0';
        c += l;
        while (*c == ' ' || *c == '\t' || *c == '\n')
            c++;
        if (*c == '=')
            value = (int)strtol(c + 1, &c, 0);
        if (strncmp(name, "CURLE_RESERVED", 14) == 0) {
            /* 8.x: CURLE_RESERVED115 = 115 ... 126, "used in tests": never a result */
            value++;
            continue;
        }
        cr_expect_lt((size_t)value, ljh__n_curl_codes, "%s = %d (in %s) has no row in errors.c", name,
                     value, path);
        /* an obsolete code keeps its number but changes its name between
         * releases (CURLE_FUNCTION_NOT_FOUND became CURLE_OBSOLETE41) */
        if ((size_t)value < ljh__n_curl_codes && strncmp(name, "CURLE_OBSOLETE", 14) != 0 &&
            strncmp(ljh__curl_codes[value].name, "CURLE_OBSOLETE", 14) != 0)
            cr_expect_str_eq(ljh__curl_codes[value].name, name, "%s = %d (in %s)", name, value, path);
        value++;
        seen++;
    }
    cr_expect_eq(value, CURL_LAST, "%s does not match the curl.h compiled against", path);
    cr_expect_gt(seen, 90, "only %d codes read from %s", seen, path);
}

/* libcurl 8.23 reports a wrong client_key_password as a bad argument. */
Test(error_from_curl, bad_argument_with_client_key_is_tls)
{
    ljh_transport tr;
    memset(&tr, 0, sizeof tr);
    cr_expect_eq(ljh__error_of_transfer(CURLE_BAD_FUNCTION_ARGUMENT, &tr), LJH_E_INTERNAL);
    cr_expect_eq(ljh__error_of_transfer(CURLE_BAD_FUNCTION_ARGUMENT, NULL), LJH_E_INTERNAL);
    char key[] = "client.key";
    tr.client_key = key;
    cr_expect_eq(ljh__error_of_transfer(CURLE_BAD_FUNCTION_ARGUMENT, &tr), LJH_E_TLS);
    cr_expect_eq(ljh__error_of_transfer(CURLE_COULDNT_CONNECT, &tr), LJH_E_CONNECT);
    tr.client_key = NULL;
    tr.client_cert = key;
    cr_expect_eq(ljh__error_of_transfer(CURLE_BAD_FUNCTION_ARGUMENT, &tr), LJH_E_TLS);
    cr_expect_eq(ljh__error_of_transfer(CURLE_OK, &tr), LJH_OK);
}
