/* Tests for request.c: validating an ljh_request into an ljh_plan, the
 * per-hop header list and redirects. Every plan is freed with
 * ljh__plan_free, including after a failed ljh__plan_init (the engine
 * does the same), so ASan/LSan runs check for leaks too. */
#include <criterion/criterion.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "json_body.h"
#include "test_str.h"

#define ERRLEN 256

static ljh_request mkreq(const char *method, const char *url)
{
    ljh_request r;
    memset(&r, 0, sizeof r);
    r.method.ptr = method;
    r.method.len = method ? (int32_t)strlen(method) : 0;
    r.url.ptr = url;
    r.url.len = url ? (int32_t)strlen(url) : 0;
    r.max_redirects = -1;
    return r;
}

static ljh_kv kv(const char *name, const char *value)
{
    ljh_kv p;
    p.name = name;
    p.name_len = name ? (int32_t)strlen(name) : 0;
    p.value = value;
    p.value_len = value ? (int32_t)strlen(value) : 0;
    return p;
}

/* ljh__plan_init, then frees the plan; returns the code and the message. */
static ljh_error init_only(const ljh_request *req, char *msg)
{
    ljh_plan plan;
    msg[0] = '\0';
    ljh_error err = ljh__plan_init(&plan, req, 0, msg, ERRLEN);
    ljh__plan_free(&plan);
    return err;
}

static void expect_error(const ljh_request *req, ljh_error want, const char *what)
{
    char msg[ERRLEN];
    ljh_error err = init_only(req, msg);
    cr_expect_eq(err, want, "%s: got %s (%s), want %s", what, ljh_error_name(err), msg,
                 ljh_error_name(want));
    if (want != LJH_OK)
        cr_expect_neq(msg[0], '\0', "%s: no message", what);
}

static void expect_ok(ljh_plan *plan, const ljh_request *req)
{
    char msg[ERRLEN] = "";
    ljh_error err = ljh__plan_init(plan, req, 0, msg, sizeof msg);
    cr_assert_eq(err, LJH_OK, "ljh__plan_init: %s (%s)", ljh_error_name(err), msg);
}

/* ---- method ---- */

Test(plan_method, valid_get)
{
    ljh_request req = mkreq("GET", "http://example.com/path?x=1");
    ljh_plan plan;
    expect_ok(&plan, &req);
    cr_expect_str_eq(plan.method, "GET");
    cr_expect_str_eq(plan.url, "http://example.com/path?x=1");
    cr_expect_null(plan.origin, "the origin is computed at the first redirect only");
    cr_expect_eq(plan.has_body, 0);
    cr_expect_null(plan.body);
    cr_expect_eq(plan.n_hdr, 0);
    cr_expect_null(plan.cookie);
    cr_expect_null(plan.user);
    cr_expect_eq(plan.cross_origin, 0);
    ljh__plan_free(&plan);
}

Test(plan_method, upper_cased)
{
    static const char *const cases[][2] = {
        {"get", "GET"}, {"pOsT", "POST"}, {"propfind", "PROPFIND"}, {"x-custom_1", "X-CUSTOM_1"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ljh_request req = mkreq(cases[i][0], "http://example.com/");
        ljh_plan plan;
        expect_ok(&plan, &req);
        cr_expect_str_eq(plan.method, cases[i][1]);
        ljh__plan_free(&plan);
    }
}

Test(plan_method, invalid)
{
    char m33[34];
    memset(m33, 'A', 33);
    m33[33] = '\0';
    char m32[33];
    memset(m32, 'A', 32);
    m32[32] = '\0';
    const char *bad[] = {"GE T", "GET\r", "GET\n", "", "GET:", "G(ET", "GÉT", m33};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ljh_request req = mkreq(bad[i], "http://example.com/");
        expect_error(&req, LJH_E_INVALID_ARGUMENT, bad[i]);
    }
    ljh_request req = mkreq("GET", "http://example.com/");
    req.method.ptr = NULL;
    expect_error(&req, LJH_E_INVALID_ARGUMENT, "NULL method");
    req = mkreq("GET", "http://example.com/");
    req.method.ptr = "G\0T";
    req.method.len = 3;
    expect_error(&req, LJH_E_INVALID_ARGUMENT, "NUL in method");
    /* 32 bytes is the limit, inclusive. */
    req = mkreq(m32, "http://example.com/");
    expect_error(&req, LJH_OK, "32-byte method");
}

Test(plan_method, message_names_the_method)
{
    ljh_request req = mkreq("GE T", "http://example.com/");
    char msg[ERRLEN];
    cr_expect_eq(init_only(&req, msg), LJH_E_INVALID_ARGUMENT);
    cr_expect(strstr(msg, "invalid method") != NULL, "%s", msg);
    cr_expect(strstr(msg, "GE T") != NULL, "%s", msg);
}

Test(plan, null_request)
{
    ljh_plan plan;
    char msg[ERRLEN] = "";
    cr_expect_eq(ljh__plan_init(&plan, NULL, 0, msg, sizeof msg), LJH_E_INVALID_ARGUMENT);
    cr_expect_neq(msg[0], '\0');
    ljh__plan_free(&plan);
}

/* ---- URL ---- */

Test(plan_url, refuses_unsafe_bytes)
{
    static const char *const bad[] = {
        "http://example.com/a b", "http://example.com/\r\nX: y", "http://example.com/\n",
        "http://example.com/\r", "http://example.com/\x7f", "http://example.com/\t",
        " http://example.com/", "http://example.com/\x01",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ljh_request req = mkreq("GET", bad[i]);
        expect_error(&req, LJH_E_INVALID_ARGUMENT, bad[i]);
    }
    ljh_request req = mkreq("GET", "http://example.com/");
    req.url.ptr = "http://exa\0mple.com/";
    req.url.len = 20;
    expect_error(&req, LJH_E_INVALID_ARGUMENT, "NUL in URL");
}

Test(plan_url, no_scheme)
{
    const char *cases[] = {"example.com/path", "//example.com/", "/relative", "", NULL,
                           "1http://example.com/", ":foo"};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ljh_request req = mkreq("GET", cases[i]);
        char msg[ERRLEN];
        ljh_error err = init_only(&req, msg);
        cr_expect_eq(err, LJH_E_UNSUPPORTED_SCHEME, "\"%s\": %s", cases[i] ? cases[i] : "(null)",
                     ljh_error_name(err));
        cr_expect(strstr(msg, "unsupported protocol scheme \"\"") != NULL, "\"%s\": %s",
                  cases[i] ? cases[i] : "(null)", msg);
        /* and the way out */
        cr_expect(strstr(msg, "(the url must start with http:// or https://)") != NULL,
                  "\"%s\": %s", cases[i] ? cases[i] : "(null)", msg);
    }
}

Test(plan_url, unsupported_schemes)
{
    static const char *const cases[][2] = {
        {"ftp://example.com/", "ftp"},     {"file:///etc/passwd", "file"},
        {"gopher://example.com/", "gopher"}, {"dict://example.com/", "dict"},
        {"ldap://example.com/", "ldap"},   {"scp://example.com/x", "scp"},
        {"FTP://EXAMPLE.COM/", "ftp"},     {"Telnet://example.com/", "telnet"},
        {"httpx://example.com/", "httpx"}, {"https+x://example.com/", "https+x"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ljh_request req = mkreq("GET", cases[i][0]);
        char msg[ERRLEN], want[64];
        ljh_error err = init_only(&req, msg);
        cr_expect_eq(err, LJH_E_UNSUPPORTED_SCHEME, "%s: %s", cases[i][0], ljh_error_name(err));
        snprintf(want, sizeof want, "unsupported protocol scheme \"%s\"", cases[i][1]);
        cr_expect(strstr(msg, want) != NULL, "%s: message \"%s\", want \"%s\"", cases[i][0], msg,
                  want);
    }
}

Test(plan_url, http_and_https_any_case)
{
    static const char *const ok[] = {"HTTP://HOST/", "https://example.com/", "HttpS://example.com:8443/x",
                                     "http://127.0.0.1:8080/", "http://[::1]/"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        ljh_request req = mkreq("GET", ok[i]);
        ljh_plan plan;
        expect_ok(&plan, &req);
        /* Without a query the URL is kept as given: libcurl parses it. */
        cr_expect_str_eq(plan.url, ok[i]);
        ljh__plan_free(&plan);
    }
}

Test(plan_url, origin_has_default_port)
{
    char msg[256];
    ljh_request req = mkreq("GET", "https://example.com/a");
    ljh_plan plan;
    expect_ok(&plan, &req);
    cr_assert_eq(ljh__plan_redirect(&plan, "https://example.com:443/b", 302, msg, sizeof msg), LJH_OK);
    cr_expect_str_eq(plan.origin, "https://example.com:443");
    cr_expect_eq(plan.cross_origin, 0);
    ljh__plan_free(&plan);
    req = mkreq("GET", "HTTP://EXAMPLE.com:8080/a");
    expect_ok(&plan, &req);
    cr_assert_eq(ljh__plan_redirect(&plan, "http://example.com:8080/b", 302, msg, sizeof msg), LJH_OK);
    cr_expect_str_eq(plan.origin, "http://example.com:8080");
    cr_expect_eq(plan.cross_origin, 0, "scheme and host compare without case");
    ljh__plan_free(&plan);
}

Test(plan_url, no_host)
{
    /* Go: "http: no Host in request URL"; libcurl alone would read some of
     * these as host "path" or "x". */
    static const char *const bad[] = {"http:///path", "http://", "http:/x/y", "http:x",
                                      "https:///", "http://?q=1", "http://#f", "http://:80/"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ljh_request req = mkreq("GET", bad[i]);
        char msg[ERRLEN];
        ljh_error err = init_only(&req, msg);
        cr_expect_eq(err, LJH_E_INVALID_URL, "%s: got %s (%s)", bad[i], ljh_error_name(err), msg);
        cr_expect(strstr(msg, "invalid URL") != NULL, "%s: %s", bad[i], msg);
    }
}

Test(plan_url, too_long)
{
    size_t n = LJH_MAX_URL_LEN + 1;
    char *url = malloc(n + 1);
    cr_assert_not_null(url);
    memcpy(url, "http://example.com/", 19);
    memset(url + 19, 'a', n - 19);
    url[n] = '\0';
    ljh_request req = mkreq("GET", url);
    cr_assert_eq((size_t)req.url.len, n);
    char msg[ERRLEN];
    cr_expect_eq(init_only(&req, msg), LJH_E_INVALID_ARGUMENT, "%s", msg);
    cr_expect(strstr(msg, "too long") != NULL, "%s", msg);
    free(url);
}

Test(plan_url, query_replaces_the_urls_query)
{
    ljh_request req = mkreq("GET", "http://example.com/p?old=1#frag");
    req.query.ptr = "a=1&b=2";
    req.query.len = 7;
    ljh_plan plan;
    expect_ok(&plan, &req);
    cr_expect(strstr(plan.url, "a=1&b=2") != NULL, "%s", plan.url);
    cr_expect(strstr(plan.url, "old") == NULL, "%s", plan.url);
    cr_expect_eq(strncmp(plan.url, "http://example.com/p?a=1&b=2", 28), 0, "%s", plan.url);
    ljh__plan_free(&plan);

    req = mkreq("GET", "http://example.com/p");
    req.query.ptr = "x=y";
    req.query.len = 3;
    expect_ok(&plan, &req);
    cr_expect_str_eq(plan.url, "http://example.com/p?x=y");
    ljh__plan_free(&plan);
}

Test(plan_url, empty_query_clears)
{
    ljh_request req = mkreq("GET", "http://example.com/p?old=1");
    req.query.ptr = "";
    req.query.len = 0;
    ljh_plan plan;
    expect_ok(&plan, &req);
    cr_expect_str_eq(plan.url, "http://example.com/p");
    ljh__plan_free(&plan);
}

Test(plan_url, null_query_keeps)
{
    ljh_request req = mkreq("GET", "http://example.com/p?old=1");
    ljh_plan plan;
    expect_ok(&plan, &req);
    cr_expect_str_eq(plan.url, "http://example.com/p?old=1");
    ljh__plan_free(&plan);
}

Test(plan_url, bad_query)
{
    static const char *const bad[] = {"a=1 2", "a=1#frag", "a=\r\n", "a=\x7f", "\t"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ljh_request req = mkreq("GET", "http://example.com/");
        req.query.ptr = bad[i];
        req.query.len = strlen(bad[i]);
        expect_error(&req, LJH_E_INVALID_ARGUMENT, bad[i]);
    }
    ljh_request req = mkreq("GET", "http://example.com/");
    req.query.ptr = "a\0b";
    req.query.len = 3;
    expect_error(&req, LJH_E_INVALID_ARGUMENT, "NUL in query");
}

/* ---- headers ---- */

static ljh_error with_headers(ljh_plan *plan, const ljh_kv *h, int n, const char *body, char *msg)
{
    ljh_request req = mkreq("POST", "http://example.com/");
    req.headers = h;
    req.n_headers = n;
    if (body) {
        req.body.ptr = body;
        req.body.len = strlen(body);
    }
    msg[0] = '\0';
    return ljh__plan_init(plan, &req, 0, msg, ERRLEN);
}

static void expect_header_error(ljh_kv h, const char *what)
{
    ljh_plan plan;
    char msg[ERRLEN];
    ljh_error err = with_headers(&plan, &h, 1, NULL, msg);
    cr_expect_eq(err, LJH_E_INVALID_ARGUMENT, "%s: got %s", what, ljh_error_name(err));
    cr_expect_neq(msg[0], '\0', "%s: no message", what);
    ljh__plan_free(&plan);
}

Test(plan_headers, good_ones_become_lines)
{
    ljh_kv h[] = {kv("Accept", "text/html"), kv("x-custom", "a\tb"), kv("X-Empty", "")};
    ljh_plan plan;
    char msg[ERRLEN];
    cr_assert_eq(with_headers(&plan, h, 3, NULL, msg), LJH_OK, "%s", msg);
    cr_assert_eq(plan.n_hdr, 3);
    cr_expect_str_eq(plan.hdr_lines[0], "Accept: text/html");
    cr_expect_str_eq(plan.hdr_lines[1], "x-custom: a\tb");
    cr_expect_str_eq(plan.hdr_lines[2], "X-Empty;", "an empty value is libcurl's \"Name;\"");
    cr_expect_eq(plan.has_content_type, 0);
    ljh__plan_free(&plan);
}

Test(plan_headers, null_value_is_empty)
{
    ljh_kv h = {"X-Null", NULL, 6, 0};
    ljh_plan plan;
    char msg[ERRLEN];
    cr_assert_eq(with_headers(&plan, &h, 1, NULL, msg), LJH_OK, "%s", msg);
    cr_assert_eq(plan.n_hdr, 1);
    cr_expect_str_eq(plan.hdr_lines[0], "X-Null;");
    ljh__plan_free(&plan);
}

Test(plan_headers, bad_names)
{
    expect_header_error(kv("X:Y", "v"), "colon in name");
    expect_header_error(kv("X Y", "v"), "space in name");
    expect_header_error(kv("", "v"), "empty name");
    expect_header_error(kv("X\r\nY", "v"), "CRLF in name");
    expect_header_error(kv(NULL, "v"), "NULL name");
    ljh_kv nul = {"X\0Y", "v", 3, 1};
    expect_header_error(nul, "NUL in name");
    ljh_kv neg = {"X", "v", -1, 1};
    expect_header_error(neg, "negative name_len");
}

Test(plan_headers, bad_values)
{
    expect_header_error(kv("X", "a\rb"), "CR in value");
    expect_header_error(kv("X", "a\nb"), "LF in value");
    expect_header_error(kv("X", "a\r\nInjected: 1"), "CRLF in value");
    expect_header_error(kv("X", "a\x01"), "control in value");
    expect_header_error(kv("X", "a\x7f"), "DEL in value");
    ljh_kv nul = {"X", "a\0b", 1, 3};
    expect_header_error(nul, "NUL in value");
    ljh_kv neg = {"X", "v", 1, -1};
    expect_header_error(neg, "negative value_len");
    ljh_kv nullv = {"X", NULL, 1, 4};
    expect_header_error(nullv, "NULL value with a length");
}

Test(plan_headers, transfer_encoding_refused)
{
    expect_header_error(kv("Transfer-Encoding", "chunked"), "Transfer-Encoding");
    expect_header_error(kv("transfer-encoding", "identity"), "transfer-encoding");
}

Test(plan_headers, content_length_matching_is_dropped)
{
    ljh_kv h[] = {kv("Content-Length", "5"), kv("X-After", "1")};
    ljh_plan plan;
    char msg[ERRLEN];
    cr_assert_eq(with_headers(&plan, h, 2, "hello", msg), LJH_OK, "%s", msg);
    cr_assert_eq(plan.n_hdr, 1);
    cr_expect_str_eq(plan.hdr_lines[0], "X-After: 1");
    ljh__plan_free(&plan);

    ljh_kv zero = kv("content-length", "0");
    cr_assert_eq(with_headers(&plan, &zero, 1, NULL, msg), LJH_OK, "no body, length 0: %s", msg);
    cr_expect_eq(plan.n_hdr, 0);
    ljh__plan_free(&plan);
}

Test(plan_headers, content_length_disagreeing_refused)
{
    static const char *const bad[] = {"4", "6", "05", " 5", "5 ", "five", "", "-5", "+5"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ljh_kv h = kv("Content-Length", bad[i]);
        ljh_plan plan;
        char msg[ERRLEN];
        ljh_error err = with_headers(&plan, &h, 1, "hello", msg);
        cr_expect_eq(err, LJH_E_INVALID_ARGUMENT, "Content-Length \"%s\" for 5 bytes: %s", bad[i],
                     ljh_error_name(err));
        ljh__plan_free(&plan);
    }
    ljh_kv h = kv("Content-Length", "3");
    ljh_plan plan;
    char msg[ERRLEN];
    cr_expect_eq(with_headers(&plan, &h, 1, NULL, msg), LJH_E_INVALID_ARGUMENT, "no body");
    ljh__plan_free(&plan);
}

Test(plan_headers, connection)
{
    static const char *const ok[] = {"close", "Close", "keep-alive", "Keep-Alive"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        ljh_kv h = kv("Connection", ok[i]);
        ljh_plan plan;
        char msg[ERRLEN];
        cr_expect_eq(with_headers(&plan, &h, 1, NULL, msg), LJH_OK, "Connection: %s: %s", ok[i],
                     msg);
        ljh__plan_free(&plan);
    }
    expect_header_error(kv("Connection", "upgrade"), "Connection: upgrade");
    expect_header_error(kv("connection", "Upgrade"), "connection: Upgrade");
    expect_header_error(kv("Connection", "close, upgrade"), "Connection: close, upgrade");
    expect_header_error(kv("Connection", ""), "Connection: (empty)");
}

Test(plan_headers, count_limit)
{
    int n = LJH_MAX_REQ_HEADERS + 1;
    ljh_kv *h = calloc((size_t)n, sizeof *h);
    cr_assert_not_null(h);
    for (int i = 0; i < n; i++)
        h[i] = kv("X-Many", "1");
    ljh_plan plan;
    char msg[ERRLEN];
    cr_expect_eq(with_headers(&plan, h, n, NULL, msg), LJH_E_INVALID_ARGUMENT);
    cr_expect(strstr(msg, "too many") != NULL, "%s", msg);
    ljh__plan_free(&plan);
    /* Exactly the limit is fine. */
    cr_expect_eq(with_headers(&plan, h, n - 1, NULL, msg), LJH_OK, "%s", msg);
    cr_expect_eq(plan.n_hdr, n - 1);
    ljh__plan_free(&plan);
    free(h);
}

Test(plan_headers, negative_count_or_null_array)
{
    ljh_plan plan;
    char msg[ERRLEN];
    cr_expect_eq(with_headers(&plan, NULL, 1, NULL, msg), LJH_E_INVALID_ARGUMENT);
    ljh__plan_free(&plan);
    ljh_kv h = kv("X", "1");
    cr_expect_eq(with_headers(&plan, &h, -1, NULL, msg), LJH_E_INVALID_ARGUMENT);
    ljh__plan_free(&plan);
    cr_expect_eq(with_headers(&plan, NULL, 0, NULL, msg), LJH_OK);
    ljh__plan_free(&plan);
}

Test(plan_headers, byte_limit)
{
    size_t vl = LJH_MAX_REQ_HEADER_BYTES / 2;
    char *big = malloc(vl + 1);
    cr_assert_not_null(big);
    memset(big, 'v', vl);
    big[vl] = '\0';
    ljh_kv h[] = {kv("X-A", big), kv("X-B", big)};
    ljh_plan plan;
    char msg[ERRLEN];
    cr_expect_eq(with_headers(&plan, h, 2, NULL, msg), LJH_E_INVALID_ARGUMENT);
    cr_expect(strstr(msg, "too large") != NULL, "%s", msg);
    ljh__plan_free(&plan);
    cr_expect_eq(with_headers(&plan, h, 1, NULL, msg), LJH_OK, "%s", msg);
    ljh__plan_free(&plan);
    free(big);
}

Test(plan_headers, content_type_noticed)
{
    ljh_kv h = kv("content-TYPE", "application/json");
    ljh_plan plan;
    char msg[ERRLEN];
    cr_assert_eq(with_headers(&plan, &h, 1, "{}", msg), LJH_OK, "%s", msg);
    cr_expect_eq(plan.has_content_type, 1);
    ljh__plan_free(&plan);
}

/* ---- cookies ---- */

static ljh_error with_cookies(ljh_plan *plan, const ljh_kv *c, int n, char *msg)
{
    ljh_request req = mkreq("GET", "http://example.com/");
    req.cookies = c;
    req.n_cookies = n;
    msg[0] = '\0';
    return ljh__plan_init(plan, &req, 0, msg, ERRLEN);
}

Test(plan_cookies, joined)
{
    ljh_kv c[] = {kv("a", "1"), kv("b", "2"), kv("q", "\"quoted\""), kv("e", "")};
    ljh_plan plan;
    char msg[ERRLEN];
    cr_assert_eq(with_cookies(&plan, c, 2, msg), LJH_OK, "%s", msg);
    cr_expect_str_eq(plan.cookie, "a=1; b=2");
    ljh__plan_free(&plan);
    cr_assert_eq(with_cookies(&plan, c, 4, msg), LJH_OK, "%s", msg);
    cr_expect_str_eq(plan.cookie, "a=1; b=2; q=\"quoted\"; e=");
    ljh__plan_free(&plan);
    cr_assert_eq(with_cookies(&plan, c, 1, msg), LJH_OK, "%s", msg);
    cr_expect_str_eq(plan.cookie, "a=1");
    ljh__plan_free(&plan);
    cr_assert_eq(with_cookies(&plan, NULL, 0, msg), LJH_OK, "%s", msg);
    cr_expect_null(plan.cookie);
    ljh__plan_free(&plan);
}

Test(plan_cookies, bad_names_refused)
{
    static const char *const bad[] = {"", "a b", "a=b", "a;b", "a\r\n", "a,b"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ljh_kv c[] = {kv("ok", "1"), kv(bad[i], "v")};
        ljh_plan plan;
        char msg[ERRLEN];
        ljh_error err = with_cookies(&plan, c, 2, msg);
        cr_expect_eq(err, LJH_E_INVALID_ARGUMENT, "name \"%s\": %s", bad[i], ljh_error_name(err));
        cr_expect(strstr(msg, "cookie") != NULL, "%s", msg);
        ljh__plan_free(&plan);
    }
}

Test(plan_cookies, bad_values_refused)
{
    static const char *const bad[] = {"a;b", "a,b", "a b", "a\"b", "a\\b", "a\r\nb", "\""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ljh_kv c[] = {kv("ok", "1"), kv("n", bad[i])};
        ljh_plan plan;
        char msg[ERRLEN];
        ljh_error err = with_cookies(&plan, c, 2, msg);
        cr_expect_eq(err, LJH_E_INVALID_ARGUMENT, "value \"%s\": %s", bad[i], ljh_error_name(err));
        ljh__plan_free(&plan);
    }
}

Test(plan_cookies, count_limit)
{
    ljh_kv c = kv("a", "1");
    ljh_plan plan;
    char msg[ERRLEN];
    cr_expect_eq(with_cookies(&plan, &c, LJH_MAX_COOKIES + 1, msg), LJH_E_INVALID_ARGUMENT);
    ljh__plan_free(&plan);
    cr_expect_eq(with_cookies(&plan, NULL, 2, msg), LJH_E_INVALID_ARGUMENT);
    ljh__plan_free(&plan);
}

/* ---- auth ---- */

Test(plan_auth, user_and_pass)
{
    ljh_request req = mkreq("GET", "http://example.com/");
    req.user.ptr = "alice";
    req.user.len = 5;
    req.pass.ptr = "s3cret:x";
    req.pass.len = 8;
    ljh_plan plan;
    expect_ok(&plan, &req);
    cr_expect_str_eq(plan.user, "alice");
    cr_expect_str_eq(plan.pass, "s3cret:x");
    ljh__plan_free(&plan);

    req.pass.ptr = "";
    req.pass.len = 0;
    expect_ok(&plan, &req);
    cr_expect_str_eq(plan.pass, "");
    ljh__plan_free(&plan);
}

Test(plan_auth, needs_both)
{
    ljh_request req = mkreq("GET", "http://example.com/");
    req.user.ptr = "alice";
    req.user.len = 5;
    expect_error(&req, LJH_E_INVALID_ARGUMENT, "user without pass");
    req = mkreq("GET", "http://example.com/");
    req.pass.ptr = "x";
    req.pass.len = 1;
    expect_error(&req, LJH_E_INVALID_ARGUMENT, "pass without user");
}

Test(plan_auth, control_characters_refused)
{
    static const char *const bad[] = {"a\rb", "a\nb", "a\x01", "a\x7f", "\t"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ljh_request req = mkreq("GET", "http://example.com/");
        req.user.ptr = bad[i];
        req.user.len = strlen(bad[i]);
        req.pass.ptr = "p";
        req.pass.len = 1;
        expect_error(&req, LJH_E_INVALID_ARGUMENT, "control in user");
        req.user.ptr = "u";
        req.user.len = 1;
        req.pass.ptr = bad[i];
        req.pass.len = strlen(bad[i]);
        expect_error(&req, LJH_E_INVALID_ARGUMENT, "control in pass");
    }
    ljh_request req = mkreq("GET", "http://example.com/");
    req.user.ptr = "u";
    req.user.len = 1;
    req.pass.ptr = "a\0b";
    req.pass.len = 3;
    expect_error(&req, LJH_E_INVALID_ARGUMENT, "NUL in pass");
}

/* ---- durations ---- */

static ljh_duration secs(double s)
{
    ljh_duration d;
    memset(&d, 0, sizeof d);
    d.seconds = s;
    d.is_set = 1;
    return d;
}

static ljh_duration str(const char *s)
{
    ljh_duration d;
    memset(&d, 0, sizeof d);
    d.str.ptr = s;
    d.str.len = strlen(s);
    d.is_set = 1;
    return d;
}

static int dur_ms(ljh_duration d, int64_t *ms, char *msg)
{
    msg[0] = '\0';
    *ms = -12345;
    return ljh__duration_ms(&d, ms, msg, ERRLEN);
}

Test(duration_ms, seconds)
{
    static const struct {
        double s;
        int64_t ms;
    } cases[] = {
        {0.25, 250}, {0.001, 1}, {0, 0}, {1, 1000}, {1.5, 1500}, {0.0001, 1}, {1e-12, 1},
        {0.0015, 2}, {1.1, 1100}, {2.007, 2007}, {4.35, 4350}, {3600, 3600000},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t ms;
        char msg[ERRLEN];
        cr_expect_eq(dur_ms(secs(cases[i].s), &ms, msg), LJH_OK, "%g: %s", cases[i].s, msg);
        cr_expect_eq(ms, cases[i].ms, "%g s -> %lld ms, want %lld", cases[i].s, (long long)ms,
                     (long long)cases[i].ms);
    }
}

Test(duration_ms, bad_seconds)
{
    const double bad[] = {NAN, INFINITY, -INFINITY, -1, -0.001, 1e300, 9.3e9};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t ms;
        char msg[ERRLEN];
        cr_expect_eq(dur_ms(secs(bad[i]), &ms, msg), LJH_E_INVALID_ARGUMENT, "%g accepted", bad[i]);
        cr_expect(strstr(msg, "invalid duration") != NULL, "%g: %s", bad[i], msg);
    }
}

Test(duration_ms, strings)
{
    static const struct {
        const char *s;
        int64_t ms;
    } cases[] = {
        {"1h", 3600000}, {"2us", 1}, {"300ms", 300}, {"1.5s", 1500}, {"1h30m", 5400000},
        {"0", 0},        {"1ns", 1}, {"1000001ns", 2}, {"0s", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t ms;
        char msg[ERRLEN];
        cr_expect_eq(dur_ms(str(cases[i].s), &ms, msg), LJH_OK, "%s: %s", cases[i].s, msg);
        cr_expect_eq(ms, cases[i].ms, "\"%s\" -> %lld ms, want %lld", cases[i].s, (long long)ms,
                     (long long)cases[i].ms);
    }
}

Test(duration_ms, bad_strings)
{
    static const char *const bad[] = {"abc", "", "1", "1x", "-1s", "1h-", "--1s"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t ms;
        char msg[ERRLEN];
        cr_expect_eq(dur_ms(str(bad[i]), &ms, msg), LJH_E_INVALID_ARGUMENT, "\"%s\" accepted",
                     bad[i]);
        cr_expect(strstr(msg, "invalid duration") != NULL, "\"%s\": %s", bad[i], msg);
    }
}

Test(duration_ms, unset_is_zero)
{
    ljh_duration d = secs(5);
    d.is_set = 0;
    int64_t ms;
    char msg[ERRLEN];
    cr_expect_eq(dur_ms(d, &ms, msg), LJH_OK);
    cr_expect_eq(ms, 0);
    cr_expect_eq(ljh__duration_ms(NULL, &ms, msg, ERRLEN), LJH_OK);
    cr_expect_eq(ms, 0);
}

Test(duration_ms, tiny_error_buffer)
{
    ljh_duration d = str("not a duration at all, quite a long string really");
    int64_t ms;
    char msg[4] = "xyz";
    cr_expect_eq(ljh__duration_ms(&d, &ms, msg, sizeof msg), LJH_E_INVALID_ARGUMENT);
    cr_expect_lt(strlen(msg), sizeof msg);
    cr_expect_eq(ljh__duration_ms(&d, &ms, NULL, 0), LJH_E_INVALID_ARGUMENT);
    d = secs(-1);
    cr_expect_eq(ljh__duration_ms(&d, &ms, NULL, 0), LJH_E_INVALID_ARGUMENT);
}

Test(plan_durations, defaults)
{
    ljh_request req = mkreq("GET", "http://example.com/");
    ljh_plan plan;
    expect_ok(&plan, &req);
    cr_expect_eq(plan.timeout_ms, 0);
    cr_expect_eq(plan.connect_timeout_ms, 10000);
    cr_expect_eq(plan.idle_timeout_ms, 30000);
    cr_expect_eq(plan.max_body, (int64_t)256 * 1024 * 1024);
    cr_expect_eq(plan.max_redirects, 10);
    ljh__plan_free(&plan);
}

Test(plan_durations, set)
{
    ljh_request req = mkreq("GET", "http://example.com/");
    req.timeout = secs(0.25);
    req.connect_timeout = str("2us");
    req.idle_timeout = str("1h");
    req.max_body_size = 1234;
    req.max_redirects = 0;
    ljh_plan plan;
    expect_ok(&plan, &req);
    cr_expect_eq(plan.timeout_ms, 250);
    cr_expect_eq(plan.connect_timeout_ms, 1);
    cr_expect_eq(plan.idle_timeout_ms, 3600000);
    cr_expect_eq(plan.max_body, 1234);
    cr_expect_eq(plan.max_redirects, 0);
    ljh__plan_free(&plan);

    req.max_body_size = -1;
    req.max_redirects = 3;
    req.connect_timeout = secs(0); /* zero: back to the default */
    expect_ok(&plan, &req);
    cr_expect_lt(plan.max_body, 0);
    cr_expect_eq(plan.max_redirects, 3);
    cr_expect_eq(plan.connect_timeout_ms, 10000);
    ljh__plan_free(&plan);
}

Test(plan_durations, bad_ones_refused)
{
    ljh_request req = mkreq("GET", "http://example.com/");
    req.timeout = str("abc");
    char msg[ERRLEN];
    cr_expect_eq(init_only(&req, msg), LJH_E_INVALID_ARGUMENT);
    cr_expect(strstr(msg, "invalid duration") != NULL, "%s", msg);
    req = mkreq("GET", "http://example.com/");
    req.idle_timeout = secs(NAN);
    cr_expect_eq(init_only(&req, msg), LJH_E_INVALID_ARGUMENT);
    req = mkreq("GET", "http://example.com/");
    req.connect_timeout = secs(-1);
    cr_expect_eq(init_only(&req, msg), LJH_E_INVALID_ARGUMENT);
}

/* ---- body ---- */

Test(plan_body, copied_by_default)
{
    char body[] = "hello\0world";
    ljh_request req = mkreq("POST", "http://example.com/");
    req.body.ptr = body;
    req.body.len = sizeof body - 1;
    ljh_plan plan;
    expect_ok(&plan, &req);
    cr_expect_eq(plan.has_body, 1);
    cr_expect_eq(plan.body_len, sizeof body - 1);
    cr_assert_not_null(plan.owned_body);
    cr_expect_neq((const void *)plan.owned_body, (const void *)body);
    cr_expect_eq((const void *)plan.body, (const void *)plan.owned_body);
    cr_expect_eq(memcmp(plan.body, body, sizeof body - 1), 0);
    body[0] = 'J'; /* the caller's buffer may change after the call */
    cr_expect_eq(plan.body[0], 'h');
    ljh__plan_free(&plan);
}

Test(plan_body, borrowed)
{
    const char body[] = "hello";
    ljh_request req = mkreq("POST", "http://example.com/");
    req.body.ptr = body;
    req.body.len = 5;
    ljh_plan plan;
    char msg[ERRLEN];
    cr_assert_eq(ljh__plan_init(&plan, &req, 1, msg, sizeof msg), LJH_OK, "%s", msg);
    cr_expect_eq((const void *)plan.body, (const void *)body);
    cr_expect_null(plan.owned_body);
    cr_expect_eq(plan.body_len, 5);
    ljh__plan_free(&plan);
}

Test(plan_body, empty_body_is_a_body)
{
    ljh_request req = mkreq("POST", "http://example.com/");
    req.body.ptr = "";
    req.body.len = 0;
    ljh_plan plan;
    expect_ok(&plan, &req);
    cr_expect_eq(plan.has_body, 1);
    cr_expect_eq(plan.body_len, 0);
    ljh__plan_free(&plan);
}

/* ---- redirects ---- */

static void plan_for(ljh_plan *plan, const char *method, const char *url, const char *body)
{
    ljh_request req = mkreq(method, url);
    if (body) {
        req.body.ptr = body;
        req.body.len = strlen(body);
    }
    expect_ok(plan, &req);
}

static ljh_error redirect(ljh_plan *plan, const char *loc, int status, char *msg)
{
    msg[0] = '\0';
    return ljh__plan_redirect(plan, loc, status, msg, ERRLEN);
}

Test(plan_redirect, see_other_turns_post_into_get)
{
    const int statuses[] = {301, 302, 303};
    for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++) {
        ljh_plan plan;
        char msg[ERRLEN];
        plan_for(&plan, "POST", "http://example.com/form", "a=1");
        cr_assert_eq(redirect(&plan, "http://example.com/done", statuses[i], msg), LJH_OK, "%s", msg);
        cr_expect_str_eq(plan.method, "GET", "after %d", statuses[i]);
        cr_expect_eq(plan.has_body, 0);
        cr_expect_null(plan.body);
        cr_expect_null(plan.owned_body);
        cr_expect_eq(plan.body_len, 0);
        cr_expect_str_eq(plan.url, "http://example.com/done");
        cr_expect_eq(plan.cross_origin, 0);
        ljh__plan_free(&plan);
    }
}

Test(plan_redirect, head_and_get_stay)
{
    ljh_plan plan;
    char msg[ERRLEN];
    plan_for(&plan, "HEAD", "http://example.com/", NULL);
    cr_assert_eq(redirect(&plan, "http://example.com/b", 302, msg), LJH_OK, "%s", msg);
    cr_expect_str_eq(plan.method, "HEAD");
    ljh__plan_free(&plan);
    plan_for(&plan, "GET", "http://example.com/", NULL);
    cr_assert_eq(redirect(&plan, "http://example.com/b", 301, msg), LJH_OK, "%s", msg);
    cr_expect_str_eq(plan.method, "GET");
    ljh__plan_free(&plan);
}

Test(plan_redirect, temporary_keeps_method_and_body)
{
    const int statuses[] = {307, 308};
    for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++) {
        ljh_plan plan;
        char msg[ERRLEN];
        plan_for(&plan, "POST", "http://example.com/form", "a=1");
        cr_assert_eq(redirect(&plan, "http://example.com/other", statuses[i], msg), LJH_OK, "%s", msg);
        cr_expect_str_eq(plan.method, "POST");
        cr_expect_eq(plan.has_body, 1);
        cr_expect_eq(plan.body_len, 3);
        cr_assert_not_null(plan.body);
        cr_expect_eq(memcmp(plan.body, "a=1", 3), 0);
        ljh__plan_free(&plan);
    }
}

Test(plan_redirect, cross_origin_is_sticky)
{
    static const char *const away[] = {
        "http://other.example.com/", "http://example.com:8080/", "https://example.com/",
        "http://EXAMPLE.com.evil/",
    };
    for (size_t i = 0; i < sizeof away / sizeof away[0]; i++) {
        ljh_plan plan;
        char msg[ERRLEN];
        plan_for(&plan, "GET", "http://example.com/start", NULL);
        cr_assert_eq(redirect(&plan, "http://example.com:80/same", 302, msg), LJH_OK, "%s", msg);
        cr_expect_eq(plan.cross_origin, 0, "explicit default port is the same origin");
        cr_assert_eq(redirect(&plan, away[i], 302, msg), LJH_OK, "%s", msg);
        cr_expect_eq(plan.cross_origin, 1, "%s is another origin", away[i]);
        cr_assert_eq(redirect(&plan, "http://example.com/back", 302, msg), LJH_OK, "%s", msg);
        cr_expect_eq(plan.cross_origin, 1, "back to the first origin after %s: must stay set", away[i]);
        cr_expect_str_eq(plan.url, "http://example.com/back");
        ljh__plan_free(&plan);
    }
}

Test(plan_redirect, https_to_http_is_cross_origin)
{
    ljh_plan plan;
    char msg[ERRLEN];
    plan_for(&plan, "GET", "https://example.com/", NULL);
    cr_assert_eq(redirect(&plan, "http://example.com/", 302, msg), LJH_OK, "%s", msg);
    cr_expect_eq(plan.cross_origin, 1);
    ljh__plan_free(&plan);
}

Test(plan_redirect, unsupported_scheme_refused)
{
    static const char *const bad[][2] = {
        {"ftp://example.com/file", "ftp"}, {"file:///etc/passwd", "file"}, {"FTP://x/", "ftp"},
        {"/relative", ""},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ljh_plan plan;
        char msg[ERRLEN], want[64];
        plan_for(&plan, "GET", "http://example.com/", NULL);
        cr_expect_eq(redirect(&plan, bad[i][0], 302, msg), LJH_E_UNSUPPORTED_SCHEME, "%s", bad[i][0]);
        snprintf(want, sizeof want, "unsupported protocol scheme \"%s\"", bad[i][1]);
        cr_expect(strstr(msg, want) != NULL, "%s: %s", bad[i][0], msg);
        cr_expect_str_eq(plan.url, "http://example.com/", "the plan must not move");
        ljh__plan_free(&plan);
    }
}

/* ---- the header list for a hop ---- */

static int list_has(const struct curl_slist *l, const char *line)
{
    for (; l; l = l->next)
        if (strcmp(l->data, line) == 0)
            return 1;
    return 0;
}

static int list_len(const struct curl_slist *l)
{
    int n = 0;
    for (; l; l = l->next)
        n++;
    return n;
}

Test(plan_header_list, fixed_lines)
{
    ljh_plan plan;
    plan_for(&plan, "GET", "http://example.com/", NULL);
    struct curl_slist *l = ljh__plan_headers(&plan);
    cr_assert_not_null(l);
    cr_expect(list_has(l, "Expect:"));
    cr_expect(list_has(l, "Content-Type:"));
    cr_expect_eq(list_len(l), 2);
    curl_slist_free_all(l);
    ljh__plan_free(&plan);
}

Test(plan_header_list, callers_content_type_kept)
{
    ljh_kv h = kv("Content-Type", "application/json");
    ljh_plan plan;
    char msg[ERRLEN];
    cr_assert_eq(with_headers(&plan, &h, 1, "{}", msg), LJH_OK, "%s", msg);
    struct curl_slist *l = ljh__plan_headers(&plan);
    cr_assert_not_null(l);
    cr_expect(list_has(l, "Expect:"));
    cr_expect_not(list_has(l, "Content-Type:"));
    cr_expect(list_has(l, "Content-Type: application/json"));
    curl_slist_free_all(l);
    ljh__plan_free(&plan);
}

Test(plan_header_list, credentials_dropped_cross_origin)
{
    ljh_kv h[] = {kv("Authorization", "Bearer t"), kv("X-Keep", "1"), kv("cookie", "a=1"),
                  kv("Proxy-Authorization", "Basic x"), kv("X-Empty", "")};
    ljh_plan plan;
    char msg[ERRLEN];
    cr_assert_eq(with_headers(&plan, h, 5, NULL, msg), LJH_OK, "%s", msg);

    struct curl_slist *l = ljh__plan_headers(&plan);
    cr_assert_not_null(l);
    cr_expect(list_has(l, "Authorization: Bearer t"));
    cr_expect(list_has(l, "cookie: a=1"));
    cr_expect(list_has(l, "Proxy-Authorization: Basic x"));
    cr_expect(list_has(l, "X-Keep: 1"));
    cr_expect(list_has(l, "X-Empty;"));
    curl_slist_free_all(l);

    cr_assert_eq(redirect(&plan, "http://elsewhere.example/", 307, msg), LJH_OK, "%s", msg);
    cr_assert_eq(plan.cross_origin, 1);
    l = ljh__plan_headers(&plan);
    cr_assert_not_null(l);
    cr_expect_not(list_has(l, "Authorization: Bearer t"));
    cr_expect_not(list_has(l, "cookie: a=1"));
    cr_expect_not(list_has(l, "Proxy-Authorization: Basic x"));
    cr_expect(list_has(l, "X-Keep: 1"));
    cr_expect(list_has(l, "X-Empty;"));
    cr_expect(list_has(l, "Expect:"));
    cr_expect_eq(list_len(l), 4);
    curl_slist_free_all(l);

    /* Back home: still dropped. */
    cr_assert_eq(redirect(&plan, "http://example.com/", 307, msg), LJH_OK, "%s", msg);
    l = ljh__plan_headers(&plan);
    cr_assert_not_null(l);
    cr_expect_not(list_has(l, "Authorization: Bearer t"));
    curl_slist_free_all(l);
    ljh__plan_free(&plan);
}

/* ---- credentials are wiped before they are freed (wipe.c) ---- */

/* n bytes at p are all zero */
static int zeroed(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != 0)
            return 0;
    return 1;
}

Test(plan_wipe, credentials_overwritten_the_rest_kept)
{
    ljh_kv h[] = {kv("Authorization", "Bearer secret-token"), kv("X-Keep", "visible"),
                  kv("Proxy-Authorization", "Basic c2VjcmV0")};
    ljh_kv ck[] = {kv("session", "s3cr3t")};
    ljh_request req = mkreq("GET", "http://example.com/");
    req.headers = h;
    req.n_headers = 3;
    req.cookies = ck;
    req.n_cookies = 1;
    req.user = lstr("alice");
    req.pass = lstr("hunter2");
    req.proxy = lstr("http://bob:pw@127.0.0.1:3128");
    req.proxy_user = lstr("bob");
    req.proxy_pass = lstr("proxy-pw");
    ljh_plan plan;
    char msg[ERRLEN] = "";
    cr_assert_eq(ljh__plan_init(&plan, &req, 0, msg, ERRLEN), LJH_OK, "%s", msg);
    cr_assert_eq(plan.n_hdr, 3);
    size_t lens[3];
    for (int i = 0; i < 3; i++)
        lens[i] = strlen(plan.hdr_lines[i]);
    size_t cookie_len = strlen(plan.cookie), pass_len = strlen(plan.pass);
    size_t proxy_len = strlen(plan.transport.proxy), ppass_len = strlen(plan.transport.proxy_pass);
    cr_assert(cookie_len > 0 && pass_len > 0 && proxy_len > 0 && ppass_len > 0);

    ljh__plan_wipe(&plan);
    for (int i = 0; i < 3; i++) {
        if (plan.hdr_sensitive[i])
            cr_expect(zeroed(plan.hdr_lines[i], lens[i]), "header line %d kept its bytes", i);
        else
            cr_expect_str_eq(plan.hdr_lines[i], "X-Keep: visible");
    }
    cr_expect_eq(plan.hdr_sensitive[0] + plan.hdr_sensitive[1] + plan.hdr_sensitive[2], 2);
    cr_expect(zeroed(plan.cookie, cookie_len), "the Cookie line kept its bytes");
    cr_expect(zeroed(plan.pass, pass_len), "the password kept its bytes");
    cr_expect(zeroed(plan.transport.proxy, proxy_len), "the proxy URL kept its bytes");
    cr_expect(zeroed(plan.transport.proxy_pass, ppass_len), "the proxy password kept its bytes");
    cr_expect_str_eq(plan.user, "alice", "a user name is no secret");
    cr_expect_str_eq(plan.url, "http://example.com/");
    ljh__plan_free(&plan); /* wipes again (empty strings) and frees */
}

Test(plan_wipe, header_list_lines_wiped_and_freed)
{
    /* nothing to observe after the free itself: this runs it on a list
     * ljh__plan_headers made (ASan and valgrind runs check the memory) */
    ljh_kv h[] = {kv("Authorization", "Bearer t"), kv("X-Keep", "1")};
    ljh_plan plan;
    char msg[ERRLEN];
    cr_assert_eq(with_headers(&plan, h, 2, NULL, msg), LJH_OK, "%s", msg);
    struct curl_slist *l = ljh__plan_headers(&plan);
    cr_assert_not_null(l);
    ljh__slist_free_wiped(l);
    ljh__slist_free_wiped(NULL);
    char buf[] = "secret";
    ljh__wipe(buf, 3);
    cr_expect(zeroed(buf, 3));
    cr_expect_str_eq(buf + 3, "ret", "only n bytes");
    ljh__wipe_str(NULL);
    ljh__plan_free(&plan);
}

/* ---- applying a plan to an easy handle ---- */

Test(plan_apply, sets_options_on_a_fresh_handle)
{
    static const char *const methods[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"};
    CURL *e = curl_easy_init();
    cr_assert_not_null(e);
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
        ljh_request req = mkreq(methods[i], "https://example.com/");
        req.timeout = secs(1);
        req.user.ptr = "u";
        req.user.len = 1;
        req.pass.ptr = "p";
        req.pass.len = 1;
        ljh_kv c = kv("a", "1");
        req.cookies = &c;
        req.n_cookies = 1;
        req.flags = LJH_F_INSECURE;
        ljh_plan plan;
        expect_ok(&plan, &req);
        cr_expect_eq(ljh__plan_apply(&plan, e, 5000), CURLE_OK, "%s", methods[i]);
        curl_easy_reset(e);
        ljh__plan_free(&plan);
    }
    curl_easy_cleanup(e);
}

Test(plan_safe_url, strips_credentials)
{
    char out[256];
    ljh__safe_url("http://user:secret@example.com/p?q=1", out, sizeof out);
    cr_expect(strstr(out, "secret") == NULL, "%s", out);
    cr_expect(strstr(out, "user") == NULL, "%s", out);
    cr_expect(strstr(out, "example.com/p?q=1") != NULL, "%s", out);
    ljh__safe_url("not a url", out, sizeof out);
    cr_expect_str_eq(out, "");
    char tiny[8];
    ljh__safe_url("http://example.com/long/path", tiny, sizeof tiny);
    cr_expect_lt(strlen(tiny), sizeof tiny);
}

/* libcurl 8 serialises HTTP/1.1 over TLS behind CURLOPT_PIPEWAIT: it is
 * set only where HTTP/2 is asked for or already seen for the origin. */
Test(transport_pipewait, only_where_http2_is_known)
{
    ljh_transport tr;
    memset(&tr, 0, sizeof tr);
    const char *tls = "https://example.test/a", *clear = "http://example.test/a";
    cr_expect_eq(ljh__transport_pipewait(&tr, tls, 0), 0L, "https, origin not seen on HTTP/2");
    cr_expect_eq(ljh__transport_pipewait(&tr, tls, 1), 1L, "https, origin seen on HTTP/2");
    cr_expect_eq(ljh__transport_pipewait(&tr, clear, 1), 0L, "cleartext without prior knowledge");
    cr_expect_eq(ljh__transport_pipewait(&tr, NULL, 1), 0L);
    tr.http_version = LJH_HTTP_1_1;
    cr_expect_eq(ljh__transport_pipewait(&tr, tls, 1), 0L, "1.1 asked for");
    tr.http_version = LJH_HTTP_2;
    cr_expect_eq(ljh__transport_pipewait(&tr, tls, 0), 1L, "2 asked for over TLS");
    cr_expect_eq(ljh__transport_pipewait(&tr, "HTTPS://example.test/", 0), 1L);
    cr_expect_eq(ljh__transport_pipewait(&tr, clear, 0), 0L, "2 over cleartext stays 1.1");
    tr.http_version = LJH_HTTP_2_PRIOR_KNOWLEDGE;
    cr_expect_eq(ljh__transport_pipewait(&tr, clear, 0), 1L, "prior knowledge");
}

/* ---- json = value: the tape printed into the plan ---- */

static ljh_json_node jnode(int32_t type, const char *str, int32_t len)
{
    ljh_json_node n;
    memset(&n, 0, sizeof n);
    n.type = type;
    n.str = str;
    n.len = str ? (int32_t)strlen(str) : len;
    return n;
}

Test(plan_json, prints_the_tape_into_the_body)
{
    /* {"a":[1,"x"]} */
    ljh_json_node t[5] = {jnode(LJH_JSON_OBJECT, NULL, 1), jnode(LJH_JSON_STRING, "a", 0),
                          jnode(LJH_JSON_ARRAY, NULL, 2), jnode(LJH_JSON_NUMBER, NULL, 0),
                          jnode(LJH_JSON_STRING, "x", 0)};
    t[3].num = 1;
    ljh_request req = mkreq("POST", "http://example.com/");
    req.json = t;
    req.n_json = 5;
    ljh_plan plan;
    expect_ok(&plan, &req);
    cr_expect(plan.has_body);
    cr_expect_eq(plan.body_len, strlen("{\"a\":[1,\"x\"]}"));
    cr_expect_str_eq(plan.body, "{\"a\":[1,\"x\"]}");
    ljh__plan_free(&plan);
    /* with another body: one body only */
    req.body.ptr = "x";
    req.body.len = 1;
    expect_error(&req, LJH_E_INVALID_ARGUMENT, "json and body");
}

Test(plan_json, a_refused_node_is_named_by_its_path)
{
    /* {"ok":1,"list":[true,{"deep":"\xff"}]} */
    ljh_json_node t[8] = {jnode(LJH_JSON_OBJECT, NULL, 2), jnode(LJH_JSON_STRING, "ok", 0),
                          jnode(LJH_JSON_NUMBER, NULL, 0), jnode(LJH_JSON_STRING, "list", 0),
                          jnode(LJH_JSON_ARRAY, NULL, 2), jnode(LJH_JSON_TRUE, NULL, 0),
                          jnode(LJH_JSON_OBJECT, NULL, 1), jnode(LJH_JSON_STRING, "deep", 0)};
    ljh_json_node all[9];
    memcpy(all, t, sizeof t);
    all[8] = jnode(LJH_JSON_STRING, "\xff", 0);
    ljh_request req = mkreq("POST", "http://example.com/");
    req.json = all;
    req.n_json = 9;
    ljh_plan plan;
    char msg[ERRLEN];
    cr_assert_eq(ljh__plan_init(&plan, &req, 0, msg, ERRLEN), LJH_E_JSON, "%s", msg);
    ljh__plan_free(&plan);
    cr_expect(strstr(msg, "cannot encode as JSON") != NULL, "%s", msg);
    cr_expect(strstr(msg, "(at $.list[2].deep)") != NULL, "%s", msg);
    char where[64];
    ljh__json_path(all, 9, 7, where, sizeof where);
    cr_expect_str_eq(where, "$.list[2].deep (the key)");
    ljh__json_path(all, 9, 2, where, sizeof where);
    cr_expect_str_eq(where, "$.ok");
    ljh__json_path(all, 9, 0, where, sizeof where);
    cr_expect_str_eq(where, "$");
}
