/* Tests for collect.c and response.c: collecting header lines as libcurl
 * delivers them, and packing the collected storage into one ljh_response. */
#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>

#include "internal.h"

static ljh_error feed(ljh_collect *col, const char *line)
{
    return ljh__collect_header(col, line, strlen(line));
}

/* Feeds a NULL-terminated list of lines, each must be accepted. */
static void feed_all(ljh_collect *col, const char *const *lines)
{
    for (; *lines; lines++) {
        ljh_error err = feed(col, *lines);
        cr_assert_eq(err, LJH_OK, "line \"%s\": %s", *lines, ljh_error_name(err));
    }
}

static size_t n_headers(const ljh_collect *col)
{
    return col->hdr_refs.len / sizeof(ljh_hdr_ref);
}

static const char *hname(const ljh_collect *col, size_t i)
{
    const ljh_hdr_ref *r = (const ljh_hdr_ref *)col->hdr_refs.p + i;
    return col->hdr_text.p + r->name_off;
}

static const char *hvalue(const ljh_collect *col, size_t i)
{
    const ljh_hdr_ref *r = (const ljh_hdr_ref *)col->hdr_refs.p + i;
    return col->hdr_text.p + r->value_off;
}

/* Name and value are NUL-terminated in hdr_text and the lengths agree. */
static void expect_header(const ljh_collect *col, size_t i, const char *name, const char *value)
{
    cr_assert_lt(i, n_headers(col));
    const ljh_hdr_ref *r = (const ljh_hdr_ref *)col->hdr_refs.p + i;
    cr_expect_str_eq(hname(col, i), name);
    cr_expect_str_eq(hvalue(col, i), value);
    cr_expect_eq(r->name_len, strlen(name));
    cr_expect_eq(r->value_len, strlen(value));
}

/* ---- collecting ---- */

/* libcurl 8 takes "HTTP/1.1 2000 OK" as 200: the collector refuses every
 * status line Go would refuse, whatever libcurl makes of it. */
Test(collect, status_line_is_validated)
{
    static const char *const good[] = {
        "HTTP/1.1 200 OK\r\n", "HTTP/1.0 404 Not Found\r\n", "HTTP/1.1 200\r\n",
        "HTTP/2 200 \r\n",       "HTTP/3 103 \r\n",           "HTTP/1.1 999 x\r\n",
        "HTTP/1.1 100 Continue\r\n",
    };
    static const char *const bad[] = {
        "HTTP/1.1 2000 OK\r\n", "HTTP/1.1 20 OK\r\n",  "HTTP/1.1 099 OK\r\n",
        "HTTP/1.1 abc\r\n",     "HTTP/1.1 200OK\r\n",  "HTTP/1.1  200 OK\r\n",
        "HTTP/201 200\r\n",     "HTTP/\r\n",           "HTTP/1.1\r\n",
        "HTTP/1.1 -20 OK\r\n",  "HTTP/x.1 200 OK\r\n", "HTTP/1. 200 OK\r\n",
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        ljh_collect col = {0};
        cr_expect_eq(feed(&col, good[i]), LJH_OK, "%s", good[i]);
        ljh__collect_free(&col);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ljh_collect col = {0};
        cr_expect_eq(feed(&col, bad[i]), LJH_E_PROTOCOL, "%s", bad[i]);
        cr_expect_not_null(col.abort_why, "%s", bad[i]);
        ljh__collect_free(&col);
    }
}

Test(collect, simple_block)
{
    ljh_collect col = {0};
    const char *lines[] = {"HTTP/1.1 200 OK\r\n", "Content-Type: text/plain\r\n",
                           "Content-Length: 5\r\n", "\r\n", NULL};
    feed_all(&col, lines);
    cr_expect_eq(col.headers_done, 1);
    cr_assert_eq(n_headers(&col), 2);
    expect_header(&col, 0, "Content-Type", "text/plain");
    expect_header(&col, 1, "Content-Length", "5");
    ljh__collect_free(&col);
}

Test(collect, continue_then_final)
{
    ljh_collect col = {0};
    const char *lines[] = {"HTTP/1.1 100 Continue\r\n", "X-Interim: yes\r\n", "\r\n",
                           "HTTP/1.1 200 OK\r\n",       "X-Final: 1\r\n",     "\r\n",
                           NULL};
    feed_all(&col, lines);
    cr_assert_eq(n_headers(&col), 1);
    expect_header(&col, 0, "X-Final", "1");
    size_t len;
    cr_expect_null(ljh__collect_find(&col, "x-interim", &len));
    ljh__collect_free(&col);
}

Test(collect, redirect_then_final)
{
    ljh_collect col = {0};
    const char *lines[] = {"HTTP/1.1 302 Found\r\n", "Location: /next\r\n", "Set-Cookie: a=1\r\n",
                           "\r\n", "HTTP/2 200\r\n", "content-type: text/html\r\n", "\r\n", NULL};
    feed_all(&col, lines);
    cr_assert_eq(n_headers(&col), 1);
    expect_header(&col, 0, "Content-Type", "text/html");
    ljh__collect_free(&col);
}

Test(collect, names_canonicalised)
{
    ljh_collect col = {0};
    const char *lines[] = {"HTTP/1.1 200 OK\r\n", "content-type: a\r\n", "X-REQUEST-ID: b\r\n",
                           "etag: c\r\n", "odd name: d\r\n", "\r\n", NULL};
    feed_all(&col, lines);
    cr_assert_eq(n_headers(&col), 3); /* "odd name" is no token: dropped */
    expect_header(&col, 0, "Content-Type", "a");
    expect_header(&col, 1, "X-Request-Id", "b");
    expect_header(&col, 2, "Etag", "c");
    ljh__collect_free(&col);
}

Test(collect, values_trimmed)
{
    ljh_collect col = {0};
    const char *lines[] = {"HTTP/1.1 200 OK\r\n", "A:   spaced   \r\n", "B:\t\ttabs\t \r\n",
                           "C:\r\n", "D:    \r\n", "E : after-name\r\n", "F:inner  space\n", "\r\n",
                           NULL};
    feed_all(&col, lines);
    cr_assert_eq(n_headers(&col), 6);
    expect_header(&col, 0, "A", "spaced");
    expect_header(&col, 1, "B", "tabs");
    expect_header(&col, 2, "C", "");
    expect_header(&col, 3, "D", "");
    expect_header(&col, 4, "E", "after-name");
    expect_header(&col, 5, "F", "inner  space");
    ljh__collect_free(&col);
}

Test(collect, repeats_kept_in_order)
{
    ljh_collect col = {0};
    const char *lines[] = {"HTTP/1.1 200 OK\r\n", "Set-Cookie: a=1\r\n", "X: 1\r\n",
                           "Set-Cookie: b=2\r\n", "\r\n", NULL};
    feed_all(&col, lines);
    cr_assert_eq(n_headers(&col), 3);
    expect_header(&col, 0, "Set-Cookie", "a=1");
    expect_header(&col, 1, "X", "1");
    expect_header(&col, 2, "Set-Cookie", "b=2");
    ljh__collect_free(&col);
}

Test(collect, obs_fold)
{
    ljh_collect col = {0};
    const char *lines[] = {"HTTP/1.1 200 OK\r\n", "X-Long: part1\r\n", "   part2\r\n",
                           "\tpart3\r\n",         "X-Next: n\r\n",     "\r\n",
                           NULL};
    feed_all(&col, lines);
    cr_assert_eq(n_headers(&col), 2);
    expect_header(&col, 0, "X-Long", "part1 part2 part3");
    expect_header(&col, 1, "X-Next", "n");
    size_t len;
    const char *v = ljh__collect_find(&col, "x-long", &len);
    cr_assert_not_null(v);
    cr_expect_eq(len, strlen("part1 part2 part3"));
    ljh__collect_free(&col);
}

Test(collect, obs_fold_trailing_space_trimmed)
{
    ljh_collect col = {0};
    const char *lines[] = {"HTTP/1.1 200 OK\r\n", "X-Long: part1\r\n", "  part2  \t\r\n",
                           "\r\n", NULL};
    feed_all(&col, lines);
    cr_assert_eq(n_headers(&col), 1);
    expect_header(&col, 0, "X-Long", "part1 part2");
    ljh__collect_free(&col);
}

Test(collect, obs_fold_without_a_header_ignored)
{
    ljh_collect col = {0};
    const char *lines[] = {"HTTP/1.1 200 OK\r\n", "  stray\r\n", "X: 1\r\n", "\r\n", NULL};
    feed_all(&col, lines);
    cr_assert_eq(n_headers(&col), 1);
    expect_header(&col, 0, "X", "1");
    ljh__collect_free(&col);
}

Test(collect, lines_without_colon_ignored)
{
    ljh_collect col = {0};
    const char *lines[] = {"HTTP/1.1 200 OK\r\n", "garbage line\r\n", ": no name\r\n",
                           "X: 1\r\n", "\r\n", NULL};
    feed_all(&col, lines);
    cr_assert_eq(n_headers(&col), 1);
    expect_header(&col, 0, "X", "1");
    ljh__collect_free(&col);
}

Test(collect, trailers_not_kept)
{
    ljh_collect col = {0};
    const char *lines[] = {"HTTP/1.1 200 OK\r\n", "X: 1\r\n", "\r\n", "X-Trailer: t\r\n",
                           "\r\n", NULL};
    feed_all(&col, lines);
    cr_assert_eq(n_headers(&col), 1);
    expect_header(&col, 0, "X", "1");
    ljh__collect_free(&col);
}

Test(collect, header_count_cap)
{
    ljh_collect col = {0};
    cr_assert_eq(feed(&col, "HTTP/1.1 200 OK\r\n"), LJH_OK);
    for (int i = 0; i < LJH_MAX_RESP_HEADERS; i++)
        cr_assert_eq(feed(&col, "X-Many: 1\r\n"), LJH_OK, "header %d", i + 1);
    cr_expect_eq(feed(&col, "X-Many: 1\r\n"), LJH_E_TOO_LARGE);
    cr_expect_eq(n_headers(&col), LJH_MAX_RESP_HEADERS);
    /* A new response (after the blank line) starts the count again. */
    cr_expect_eq(feed(&col, "\r\n"), LJH_OK);
    cr_expect_eq(feed(&col, "HTTP/1.1 200 OK\r\n"), LJH_OK);
    cr_expect_eq(feed(&col, "X-Many: 1\r\n"), LJH_OK);
    ljh__collect_free(&col);
}

Test(collect, header_byte_cap)
{
    ljh_collect col = {0};
    size_t n = 10 * 1024;
    char *line = malloc(n + 1);
    cr_assert_not_null(line);
    memcpy(line, "X-Big: ", 7);
    memset(line + 7, 'v', n - 7);
    line[n] = '\0';
    cr_assert_eq(feed(&col, "HTTP/1.1 200 OK\r\n"), LJH_OK);
    ljh_error err = LJH_OK;
    int accepted = 0;
    for (int i = 0; i < 100 && err == LJH_OK; i++) {
        err = feed(&col, line);
        if (!err)
            accepted++;
    }
    cr_expect_eq(err, LJH_E_TOO_LARGE);
    cr_expect_leq((size_t)accepted * n, (size_t)LJH_MAX_RESP_HEADER_BYTES);
    cr_expect_gt(accepted, 20);
    free(line);
    ljh__collect_free(&col);

    /* One line over the cap on its own. */
    ljh_collect col2 = {0};
    size_t big = LJH_MAX_RESP_HEADER_BYTES + 10;
    char *huge = malloc(big + 1);
    cr_assert_not_null(huge);
    memcpy(huge, "X-Huge: ", 8);
    memset(huge + 8, 'h', big - 8);
    huge[big] = '\0';
    cr_expect_eq(feed(&col2, huge), LJH_E_TOO_LARGE);
    free(huge);
    ljh__collect_free(&col2);
}

Test(collect, too_many_informational)
{
    ljh_collect col = {0};
    ljh_error err = LJH_OK;
    int i;
    for (i = 0; i <= LJH_MAX_INFORMATIONAL + 1 && err == LJH_OK; i++)
        if ((err = feed(&col, "HTTP/1.1 103 Early Hints\r\n")) == LJH_OK)
            err = feed(&col, "\r\n");
    cr_expect_eq(err, LJH_E_PROTOCOL);
    cr_expect_eq(i, LJH_MAX_INFORMATIONAL + 1);
    ljh__collect_free(&col);
}

Test(collect, find)
{
    ljh_collect col = {0};
    const char *lines[] = {"HTTP/1.1 200 OK\r\n", "Location: /first\r\n", "location: /second\r\n",
                           "X-Empty:\r\n", "\r\n", NULL};
    feed_all(&col, lines);
    size_t len = 99;
    const char *v = ljh__collect_find(&col, "location", &len);
    cr_assert_not_null(v);
    cr_expect_eq(len, 6);
    cr_expect_eq(memcmp(v, "/first", 6), 0);
    v = ljh__collect_find(&col, "x-empty", &len);
    cr_assert_not_null(v);
    cr_expect_eq(len, 0);
    cr_expect_null(ljh__collect_find(&col, "missing", &len));
    cr_expect_null(ljh__collect_find(&col, "locatio", &len));
    ljh__collect_free(&col);

    ljh_collect none = {0};
    cr_expect_null(ljh__collect_find(&none, "location", &len));
}

Test(collect, reset_hop)
{
    ljh_collect col = {0};
    const char *lines[] = {"HTTP/1.1 301 Moved\r\n", "Location: /x\r\n", "\r\n", NULL};
    feed_all(&col, lines);
    cr_assert_eq(ljh__buf_append(&col.body, "redirect body", 13), 0);
    ljh__collect_reset_hop(&col);
    cr_expect_eq(n_headers(&col), 0);
    cr_expect_eq(col.body.len, 0);
    cr_expect_eq(col.headers_done, 0);
    ljh__collect_free(&col);
}

/* ---- packing ---- */

static const ljh_kv *find_kv(const ljh_kv *kv, int32_t n, const char *name)
{
    for (int32_t i = 0; i < n; i++)
        if (strcmp(kv[i].name, name) == 0)
            return &kv[i];
    return NULL;
}

Test(pack, headers_cookies_body_redirects)
{
    ljh_collect col = {0};
    const char *lines[] = {
        "HTTP/1.1 200 OK\r\n",
        "content-type: text/plain\r\n",
        "Set-Cookie: a=1; Path=/; HttpOnly\r\n",
        "set-cookie: q=\"quoted value\"; Secure\r\n",
        "Set-Cookie: bad name=x\r\n",
        "Set-Cookie: noequals\r\n",
        "Set-Cookie: =novalue\r\n",
        "Set-Cookie: e=\r\n",
        "Set-Cookie: s = spaced ; Max-Age=1\r\n",
        "Set-Cookie: \"\"=x\r\n",
        "X-Last: yes\r\n",
        "\r\n",
        NULL,
    };
    feed_all(&col, lines);
    cr_assert_eq(ljh__buf_append(&col.body, "hello", 5), 0);
    cr_assert_eq(ljh__collect_redirect(&col, "http://example.com/one", 302), LJH_OK);
    cr_assert_eq(ljh__collect_redirect(&col, "http://example.com/two", 307), LJH_OK);

    CURL *e = curl_easy_init();
    cr_assert_not_null(e);
    ljh_response *r = ljh__response_pack(&col, e);
    curl_easy_cleanup(e);
    ljh__collect_free(&col);
    cr_assert_not_null(r);

    cr_expect_eq(r->error, LJH_OK);
    cr_expect_str_eq(r->errmsg, "");
    cr_expect_eq(r->status, 0, "no transfer: getinfo gives 0");
    cr_assert_not_null(r->url);
    cr_expect_eq((size_t)r->url_len, strlen(r->url));

    cr_assert_not_null(r->body);
    cr_expect_eq(r->body_len, 5);
    cr_expect_eq(memcmp(r->body, "hello", 5), 0);
    cr_expect_eq(r->body[5], '\0');

    cr_assert_eq(r->n_headers, 10);
    cr_expect_str_eq(r->headers[0].name, "Content-Type");
    cr_expect_str_eq(r->headers[0].value, "text/plain");
    cr_expect_eq(r->headers[0].name_len, 12);
    cr_expect_eq(r->headers[0].value_len, 10);
    cr_expect_str_eq(r->headers[2].name, "Set-Cookie", "canonicalised");
    cr_expect_str_eq(r->headers[9].name, "X-Last");
    cr_expect_str_eq(r->headers[9].value, "yes");
    for (int32_t i = 0; i < r->n_headers; i++) {
        cr_expect_eq(strlen(r->headers[i].name), (size_t)r->headers[i].name_len);
        cr_expect_eq(strlen(r->headers[i].value), (size_t)r->headers[i].value_len);
    }

    cr_assert_eq(r->n_cookies, 4, "a, q, e, s; invalid names skipped");
    cr_assert_not_null(r->cookies);
    const ljh_kv *c = find_kv(r->cookies, r->n_cookies, "a");
    cr_assert_not_null(c);
    cr_expect_str_eq(c->value, "1");
    cr_expect_eq(c->value_len, 1);
    c = find_kv(r->cookies, r->n_cookies, "q");
    cr_assert_not_null(c);
    cr_expect_str_eq(c->value, "quoted value", "quotes removed");
    cr_expect_eq(c->value_len, 12);
    c = find_kv(r->cookies, r->n_cookies, "e");
    cr_assert_not_null(c);
    cr_expect_str_eq(c->value, "");
    c = find_kv(r->cookies, r->n_cookies, "s");
    cr_assert_not_null(c);
    cr_expect_str_eq(c->value, "spaced");
    cr_expect_null(find_kv(r->cookies, r->n_cookies, "bad name"));
    cr_expect_str_eq(r->cookies[0].name, "a", "wire order");
    for (int32_t i = 0; i < r->n_cookies; i++) {
        cr_expect_eq(strlen(r->cookies[i].name), (size_t)r->cookies[i].name_len);
        cr_expect_eq(strlen(r->cookies[i].value), (size_t)r->cookies[i].value_len);
    }

    cr_assert_eq(r->n_redirects, 2);
    cr_expect_str_eq(r->redirects[0].url, "http://example.com/one");
    cr_expect_eq(r->redirects[0].url_len, 22);
    cr_expect_eq(r->redirects[0].status, 302);
    cr_expect_str_eq(r->redirects[1].url, "http://example.com/two");
    cr_expect_eq(r->redirects[1].status, 307);
    ljh_response_free(r);
}

Test(pack, empty)
{
    ljh_collect col = {0};
    CURL *e = curl_easy_init();
    cr_assert_not_null(e);
    ljh_response *r = ljh__response_pack(&col, e);
    curl_easy_cleanup(e);
    ljh__collect_free(&col);
    cr_assert_not_null(r);
    cr_assert_not_null(r->body);
    cr_expect_eq(r->body_len, 0);
    cr_expect_str_eq(r->body, "");
    cr_assert_not_null(r->url);
    cr_expect_eq(r->n_headers, 0);
    cr_expect_eq(r->n_cookies, 0);
    cr_expect_eq(r->n_redirects, 0);
    cr_expect_null(r->redirects);
    cr_expect_eq(r->error, LJH_OK);
    ljh_response_free(r);
}

Test(pack, body_with_nul_bytes)
{
    ljh_collect col = {0};
    feed(&col, "HTTP/1.1 200 OK\r\n");
    feed(&col, "\r\n");
    cr_assert_eq(ljh__buf_append(&col.body, "a\0b\0c", 5), 0);
    CURL *e = curl_easy_init();
    cr_assert_not_null(e);
    ljh_response *r = ljh__response_pack(&col, e);
    curl_easy_cleanup(e);
    ljh__collect_free(&col);
    cr_assert_not_null(r);
    cr_expect_eq(r->body_len, 5);
    cr_expect_eq(memcmp(r->body, "a\0b\0c", 6), 0, "bytes plus the terminating NUL");
    ljh_response_free(r);
}

Test(response, free_null_is_safe)
{
    ljh_response_free(NULL);
}

Test(response, new_error)
{
    ljh_response *r = ljh__response_new_error(LJH_E_TIMEOUT, "Get \"http://x/\": timed out");
    cr_assert_not_null(r);
    cr_expect_eq(r->error, LJH_E_TIMEOUT);
    cr_expect_str_eq(r->errmsg, "Get \"http://x/\": timed out");
    cr_expect_eq(r->status, 0);
    cr_assert_not_null(r->body);
    cr_expect_str_eq(r->body, "");
    cr_expect_eq(r->body_len, 0);
    cr_assert_not_null(r->url);
    cr_expect_eq(r->n_headers, 0);
    cr_expect_eq(r->n_cookies, 0);
    cr_expect_eq(r->n_redirects, 0);
    ljh_response_free(r);

    r = ljh__response_new_error(LJH_E_CONNECT, NULL);
    cr_assert_not_null(r);
    cr_expect_str_eq(r->errmsg, "connect", "no message: the error's name");
    ljh_response_free(r);
    r = ljh__response_new_error(LJH_E_DNS, "");
    cr_assert_not_null(r);
    cr_expect_str_eq(r->errmsg, "dns");
    ljh_response_free(r);
}

Test(response, new_error_truncates_long_messages)
{
    char msg[1000];
    memset(msg, 'm', sizeof msg - 1);
    msg[sizeof msg - 1] = '\0';
    ljh_response *r = ljh__response_new_error(LJH_E_NETWORK, msg);
    cr_assert_not_null(r);
    cr_expect_eq(strlen(r->errmsg), sizeof r->errmsg - 1);
    ljh_response_free(r);
}

Test(collect, status_like_line_inside_a_head_is_no_status_line)
{
    ljh_collect col = {0};
    const char *lines[] = {"HTTP/1.1 200 OK\r\n", "Set-Cookie: a=1\r\n", "X-Before: b\r\n",
                           "HTTP/1.1 302 Found\r\n", "HTTP/1.1: x\r\n", "X-After: c\r\n", "\r\n",
                           NULL};
    feed_all(&col, lines);
    cr_assert_eq(n_headers(&col), 3);
    expect_header(&col, 0, "Set-Cookie", "a=1");
    expect_header(&col, 1, "X-Before", "b");
    expect_header(&col, 2, "X-After", "c");
    ljh__collect_free(&col);
}

Test(collect, status_like_trailer_after_a_chunked_answer_keeps_the_headers)
{
    ljh_collect col = {0};
    const char *lines[] = {"HTTP/1.1 100 Continue\r\n", "\r\n", "HTTP/1.1 200 OK\r\n",
                           "Transfer-Encoding: chunked\r\n", "X-Head: h\r\n", "\r\n",
                           "HTTP/1.1 404 Not Found\r\n", "X-Trailer: t\r\n", "\r\n", NULL};
    feed_all(&col, lines);
    cr_assert_eq(n_headers(&col), 2);
    expect_header(&col, 1, "X-Head", "h");
    ljh__collect_free(&col);
}

Test(collect, names_that_are_not_tokens_are_dropped)
{
    ljh_collect col = {0};
    const char *lines[] = {"HTTP/1.1 200 OK\r\n", "Good: 1\r\n",  "Sp ace: 2\r\n",
                           "Ctl\x01: 3\r\n",     "Hi\x80: 4\r\n", "Del\x7f: 5\r\n",
                           "Sl/ash: 6\r\n",      "Ok-2: 7\r\n",   "\r\n",
                           NULL};
    feed_all(&col, lines);
    cr_assert_eq(n_headers(&col), 2);
    expect_header(&col, 0, "Good", "1");
    expect_header(&col, 1, "Ok-2", "7");
    ljh__collect_free(&col);
}

/* RFC 9110 5.5: a CR or NUL inside a value is kept as a space, every one
 * of them (the value is copied in one piece, then mended). */
Test(collect, cr_and_nul_inside_values_become_spaces)
{
    ljh_collect col = {0};
    static const char line[] = "X-Odd: a\rb\0c\r\0d\r\n";
    cr_assert_eq(feed(&col, "HTTP/1.1 200 OK\r\n"), LJH_OK);
    cr_assert_eq(ljh__collect_header(&col, line, sizeof line - 1), LJH_OK);
    cr_assert_eq(feed(&col, "After: \r\x00z\r\n"), LJH_OK); /* (strlen stops at the NUL) */
    cr_assert_eq(feed(&col, "\r\n"), LJH_OK);
    cr_assert_eq(n_headers(&col), 2);
    expect_header(&col, 0, "X-Odd", "a b c  d");
    expect_header(&col, 1, "After", "");
    cr_expect_eq(col.hdr_text.p[col.hdr_text.len], '\0');
    ljh__collect_free(&col);
}
