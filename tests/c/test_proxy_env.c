/* Tests for proxy_env.c: the proxy variables a client reads when it is
 * made, chosen per URL as libcurl chooses them (the requests through a
 * real proxy are in tests/lua/test_transport_proxy.lua). Criterion runs
 * each test in a process of its own, so setenv stays in it. */
#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "os.h"

static const char *const VARS[] = {"http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY",
                                   "all_proxy",  "ALL_PROXY",  "no_proxy",    "NO_PROXY"};

static void clear(void)
{
    for (size_t i = 0; i < sizeof VARS / sizeof VARS[0]; i++)
        unsetenv(VARS[i]);
}

Test(proxy_env, env_set_is_set_and_not_empty, .init = clear)
{
    cr_assert_eq(ljh__os_env_set("LJH_TEST_VAR"), 0);
    setenv("LJH_TEST_VAR", "", 1);
    cr_assert_eq(ljh__os_env_set("LJH_TEST_VAR"), 0);
    setenv("LJH_TEST_VAR", "x", 1);
    cr_assert_eq(ljh__os_env_set("LJH_TEST_VAR"), 1);
}

Test(proxy_env, nothing_set_is_no_proxy, .init = clear)
{
    ljh_proxy_env pe;
    cr_assert_eq(ljh__proxy_env_read(&pe), 0);
    cr_assert_null(pe.http);
    cr_assert_null(pe.https);
    cr_assert_null(pe.all);
    cr_assert_null(pe.no_proxy);
    cr_assert_str_eq(ljh__proxy_env_for(&pe, "http://a/"), "");
    cr_assert_str_eq(ljh__proxy_env_for(&pe, "https://a/"), "");
    ljh__proxy_env_free(&pe);
    ljh__proxy_env_free(NULL);
}

Test(proxy_env, per_scheme_then_all, .init = clear)
{
    setenv("http_proxy", "http://h:1", 1);
    setenv("HTTPS_PROXY", "http://s:2", 1);
    setenv("ALL_PROXY", "socks5h://a:3", 1);
    setenv("NO_PROXY", "localhost", 1);
    ljh_proxy_env pe;
    cr_assert_eq(ljh__proxy_env_read(&pe), 0);
    cr_assert_str_eq(ljh__proxy_env_for(&pe, "http://x/"), "http://h:1");
    cr_assert_str_eq(ljh__proxy_env_for(&pe, "HTTPS://x/"), "http://s:2");
    cr_assert_str_eq(pe.no_proxy, "localhost");
    ljh__proxy_env_free(&pe);
    cr_assert_null(pe.http);

    unsetenv("http_proxy");
    cr_assert_eq(ljh__proxy_env_read(&pe), 0);
    cr_assert_str_eq(ljh__proxy_env_for(&pe, "http://x/"), "socks5h://a:3");
    ljh__proxy_env_free(&pe);
}

Test(proxy_env, lower_case_first_and_never_HTTP_PROXY, .init = clear)
{
    setenv("HTTP_PROXY", "http://upper:1", 1); /* a CGI request header can set it */
    setenv("https_proxy", "http://lower:2", 1);
    setenv("HTTPS_PROXY", "http://upper:2", 1);
    setenv("no_proxy", "a", 1);
    setenv("NO_PROXY", "b", 1);
    ljh_proxy_env pe;
    cr_assert_eq(ljh__proxy_env_read(&pe), 0);
    cr_assert_str_eq(ljh__proxy_env_for(&pe, "http://x/"), "");
    cr_assert_str_eq(ljh__proxy_env_for(&pe, "https://x/"), "http://lower:2");
    cr_assert_str_eq(pe.no_proxy, "a");
    ljh__proxy_env_free(&pe);
}

Test(proxy_env, an_empty_variable_is_unset, .init = clear)
{
    setenv("http_proxy", "", 1);
    setenv("https_proxy", "", 1);
    setenv("HTTPS_PROXY", "http://s:2", 1);
    setenv("all_proxy", "http://a:3", 1);
    setenv("no_proxy", "", 1);
    ljh_proxy_env pe;
    cr_assert_eq(ljh__proxy_env_read(&pe), 0);
    cr_assert_str_eq(ljh__proxy_env_for(&pe, "http://x/"), "http://a:3");
    cr_assert_str_eq(ljh__proxy_env_for(&pe, "https://x/"), "http://s:2");
    cr_assert_null(pe.no_proxy);
    ljh__proxy_env_free(&pe);
}
