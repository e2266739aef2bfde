/* transport: proxies, TLS, HTTP version, compression, Unix sockets and
 * retries: the options that shape the connection rather than the body. */
#ifndef LJHTTP_TRANSPORT_H
#define LJHTTP_TRANSPORT_H

#include <curl/curl.h>
#include <stdint.h>

#include "ljhttp.h"

typedef struct ljh_transport {
    char *proxy;
    char *proxy_user;
    char *proxy_pass;
    char *no_proxy;
    char *ca_file;
    char *ca_path;
    char *client_cert;
    char *client_key;
    char *key_password;
    char *pinned;
    char *unix_socket;
    int64_t retry_delay_ms;
    int retries;
    int http_version;
    int tls_min;
} ljh_transport;

ljh_error ljh__transport_init(ljh_transport *tr, const ljh_request *req, char *errmsg,
                              size_t errlen);
CURLcode ljh__transport_apply(const ljh_transport *tr, uint32_t flags, CURL *easy);
/* Overwrites the proxy URL, the proxy password and the key password
 * (ljh__transport_free does it first). */
void ljh__transport_wipe(ljh_transport *tr);
void ljh__transport_free(ljh_transport *tr);
/* CURLOPT_PIPEWAIT for a hop to url; origin_h2: the client has seen this
 * origin answer over HTTP/2 (or 3). */
long ljh__transport_pipewait(const ljh_transport *tr, const char *url, int origin_h2);
/* Workarounds for libcurl's connection reuse: 1 when this request must
 * connect afresh and close its connection after (FRESH_CONNECT and
 * FORBID_REUSE). *key_sig is the client's: the TLS client key of the
 * connections it keeps (0 until the first request with one). */
int ljh__transport_no_reuse(const ljh_transport *tr, uint64_t *key_sig);

/* proxy_env.c: the proxy variables of the environment, as a client read
 * them when it was made. NULL: unset or empty (curl_getenv's reading). */
typedef struct ljh_proxy_env {
    char *http, *https, *all, *no_proxy;
} ljh_proxy_env;
int ljh__proxy_env_read(ljh_proxy_env *pe); /* 0, or -1: out of memory */
void ljh__proxy_env_free(ljh_proxy_env *pe); /* NULL-safe */
/* The proxy libcurl would take from the environment for url ("" none). */
const char *ljh__proxy_env_for(const ljh_proxy_env *pe, const char *url);
/* CURLOPT_PROXY (unless the request names one or refuses any) and
 * CURLOPT_NOPROXY (unless it names its own) from pe: libcurl then reads
 * no variable. */
CURLcode ljh__proxy_env_apply(const ljh_proxy_env *pe, const ljh_transport *tr,
                              uint32_t flags, const char *url, CURL *easy);

#endif
