/* info: what the libcurl this library runs on can do, for ljhttp.info()
 * and :checkhealth. Built once per process from curl_version_info. */
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "os.h"

static ljh_once features_once = LJH_ONCE_INIT;
static char features[512];

static void add_word(size_t *len, const char *word)
{
    int n = snprintf(features + *len, sizeof features - *len, "%s%s", *len ? " " : "", word);
    if (n > 0 && (size_t)n < sizeof features - *len)
        *len += (size_t)n;
}

static void build_features(void)
{
    const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
    size_t len = 0;
    features[0] = '\0';
    if (v->ssl_version && v->ssl_version[0]) {
        /* "tls=OpenSSL/3.0.11"; a MultiSSL build lists several, joined by ',' */
        char word[160];
        snprintf(word, sizeof word, "tls=%s", v->ssl_version);
        for (char *p = word; *p; p++)
            if (*p == ' ')
                *p = ',';
        add_word(&len, word);
    }
    static const struct {
        int bit;
        const char *name;
    } bits[] = {
        { CURL_VERSION_SSL, "ssl" },
        { CURL_VERSION_HTTP2, "http2" },
#ifdef CURL_VERSION_HTTP3
        { CURL_VERSION_HTTP3, "http3" },
#endif
        { CURL_VERSION_LIBZ, "libz" },
        { CURL_VERSION_BROTLI, "brotli" },
#ifdef CURL_VERSION_ZSTD
        { CURL_VERSION_ZSTD, "zstd" },
#endif
        { CURL_VERSION_UNIX_SOCKETS, "unixsockets" },
        { CURL_VERSION_HTTPS_PROXY, "https-proxy" },
        { CURL_VERSION_IPV6, "ipv6" },
        { CURL_VERSION_ASYNCHDNS, "asynchdns" },
        { CURL_VERSION_IDN, "idn" },
        { CURL_VERSION_PSL, "psl" },
        { CURL_VERSION_LARGEFILE, "largefile" },
#ifdef CURL_VERSION_ALTSVC
        { CURL_VERSION_ALTSVC, "alt-svc" },
#endif
#ifdef CURL_VERSION_HSTS
        { CURL_VERSION_HSTS, "hsts" },
#endif
#ifdef CURL_VERSION_THREADSAFE
        { CURL_VERSION_THREADSAFE, "threadsafe" },
#endif
    };
    for (size_t i = 0; i < sizeof bits / sizeof bits[0]; i++)
        if (v->features & bits[i].bit)
            add_word(&len, bits[i].name);
    /* WebSocket is ljhttp's own (ws.c) over any libcurl connection */
    add_word(&len, "ws");
}

const char *ljh_curl_features(void)
{
    ljh__os_once(&features_once, build_features);
    return features;
}

/* ---- library facts ---- */

int32_t ljh_abi_version(void)
{
    return LJH_ABI_VERSION;
}

const char *ljh_version(void)
{
    return LJH_VERSION;
}

const char *ljh_curl_version(void)
{
    return curl_version_info(CURLVERSION_NOW)->version;
}
