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
#include "os.h"
#include "transport.h"

/* 1: unset (or empty); 0: *out holds a copy; -1: out of memory (a
 * client that went direct where the environment names a proxy would
 * leak). curl_getenv is NULL also when its own copy failed. */
static int read_var(const char *name, char **out)
{
    char *v = curl_getenv(name);
    if (!v)
        return ljh__os_env_set(name) ? -1 : 1;
    *out = strdup(v); /* ours, freed with free() like every string here */
    ljh__wipe_str(v); /* a proxy URL may carry a password */
    curl_free(v);
    return *out ? 0 : -1;
}

static int first_set(char **out, const char *lower, const char *upper)
{
    *out = NULL;
    int r = read_var(lower, out);
    if (r == 1 && upper)
        r = read_var(upper, out);
    return r < 0 ? -1 : 0;
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
    ljh__wipe_str(*s); /* a proxy URL may carry a password */
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
    CURLcode rc = CURLE_OK;
    if (!tr->proxy && !(flags & LJH_F_NO_PROXY))
        rc = curl_easy_setopt(e, CURLOPT_PROXY, ljh__proxy_env_for(pe, url));
    /* An explicit no_proxy replaces the variable, as in libcurl; the
     * variable also applies to an explicit proxy. */
    if (rc == CURLE_OK && !tr->no_proxy)
        rc = curl_easy_setopt(e, CURLOPT_NOPROXY, pe->no_proxy ? pe->no_proxy : "");
    /* A libcurl built without proxies (CURL_DISABLE_PROXY) has neither
     * option, and reads no variable either. */
    if (rc == CURLE_UNKNOWN_OPTION || rc == CURLE_NOT_BUILT_IN)
        rc = CURLE_OK;
    return rc;
}
