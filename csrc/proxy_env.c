/* proxy_env: the proxy environment variables, read once per client.
 *
 * libcurl reads them on every connection it looks up: five getenv calls
 * per request when none is set (no_proxy, NO_PROXY, http_proxy,
 * all_proxy, ALL_PROXY), each a walk of the whole environment. A client
 * reads them when it is made, as Go reads them once per process, and
 * hands libcurl the result as CURLOPT_PROXY and CURLOPT_NOPROXY, which
 * libcurl then takes instead of the environment. The choice below is
 * libcurl's own (url.c, detect_proxy): <scheme>_proxy in lower case,
 * then in upper case except HTTP_PROXY (which a CGI request header could
 * set), then all_proxy and ALL_PROXY. curl_getenv, libcurl's own reader:
 * an empty variable is unset there too, and on Windows it also sees a
 * variable set after the C runtime copied the environment. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "setopt.h"
#include "transport.h"

/* 0, or -1 when a variable that is set could not be copied (a client
 * that went direct where the environment names a proxy would leak). */
static int first_set(char **out, const char *lower, const char *upper)
{
    char *v = curl_getenv(lower);
    if (!v && upper)
        v = curl_getenv(upper);
    *out = NULL;
    if (!v)
        return 0;
    *out = strdup(v); /* ours, freed with free() like every string here */
    curl_free(v);
    return *out ? 0 : -1;
}

int ljh__proxy_env_read(ljh_proxy_env *pe)
{
    memset(pe, 0, sizeof *pe);
    if (first_set(&pe->http, "http_proxy", NULL) ||
        first_set(&pe->https, "https_proxy", "HTTPS_PROXY") ||
        first_set(&pe->all, "all_proxy", "ALL_PROXY") ||
        first_set(&pe->no_proxy, "no_proxy", "NO_PROXY")) {
        ljh__proxy_env_free(pe);
        return -1;
    }
    return 0;
}

static void drop(char **s)
{
    free(*s);
    *s = NULL;
}

void ljh__proxy_env_free(ljh_proxy_env *pe)
{
    if (!pe)
        return;
    drop(&pe->http);
    drop(&pe->https);
    drop(&pe->all);
    drop(&pe->no_proxy);
}

const char *ljh__proxy_env_for(const ljh_proxy_env *pe, const char *url)
{
    const char *v = url && strncasecmp(url, "https:", 6) == 0 ? pe->https : pe->http;
    if (!v)
        v = pe->all;
    return v ? v : "";
}

CURLcode ljh__proxy_env_apply(const ljh_proxy_env *pe, const ljh_transport *tr,
                              uint32_t flags, const char *url, CURL *e)
{
    if (!tr->proxy && !(flags & LJH_F_NO_PROXY))
        LJH_SETOPT(e, CURLOPT_PROXY, ljh__proxy_env_for(pe, url));
    /* An explicit no_proxy replaces the variable, as in libcurl; the
     * variable also applies to an explicit proxy. */
    if (!tr->no_proxy)
        LJH_SETOPT(e, CURLOPT_NOPROXY, pe->no_proxy ? pe->no_proxy : "");
    return CURLE_OK;
}
