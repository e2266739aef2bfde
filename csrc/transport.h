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
void ljh__transport_free(ljh_transport *tr);
/* CURLOPT_PIPEWAIT for a hop to url; origin_h2: the client has seen this
 * origin answer over HTTP/2 (or 3). */
long ljh__transport_pipewait(const ljh_transport *tr, const char *url, int origin_h2);
/* Workarounds for libcurl's connection reuse: 1 when this request must
 * connect afresh and close its connection after (FRESH_CONNECT and
 * FORBID_REUSE). *key_sig is the client's: the TLS client key of the
 * connections it keeps (0 until the first request with one). */
int ljh__transport_no_reuse(const ljh_transport *tr, uint64_t *key_sig);

#endif
