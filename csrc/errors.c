/* Error words, messages and the mapping from libcurl's codes. */
#include <stdarg.h>
#include <stdio.h>

#include "internal.h"

static const char *const error_names[LJH_E_COUNT] = {
    [LJH_OK] = "ok",
    [LJH_E_INVALID_ARGUMENT] = "invalid_argument",
    [LJH_E_UNSUPPORTED_SCHEME] = "unsupported_scheme",
    [LJH_E_INVALID_URL] = "invalid_url",
    [LJH_E_DNS] = "dns",
    [LJH_E_CONNECT] = "connect",
    [LJH_E_TLS] = "tls",
    [LJH_E_TIMEOUT] = "timeout",
    [LJH_E_TOO_MANY_REDIRECTS] = "too_many_redirects",
    [LJH_E_TOO_LARGE] = "too_large",
    [LJH_E_PROTOCOL] = "protocol",
    [LJH_E_NETWORK] = "network",
    [LJH_E_CANCELLED] = "cancelled",
    [LJH_E_CLOSED] = "closed",
    [LJH_E_OUT_OF_MEMORY] = "out_of_memory",
    [LJH_E_INTERNAL] = "internal",
    [LJH_E_IO] = "io",
};

const char *ljh_error_name(int32_t code)
{
    if (code < 0 || code >= LJH_E_COUNT || !error_names[code])
        return "internal";
    return error_names[code];
}

void ljh__msg(char *dst, size_t cap, const char *fmt, ...)
{
    if (!dst || !cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(dst, cap, fmt, ap);
    va_end(ap);
    if (n < 0)
        dst[0] = '\0';
}

ljh_error ljh__error_from_curl(CURLcode rc)
{
    switch (rc) {
    case CURLE_OK:
        return LJH_OK;
    case CURLE_UNSUPPORTED_PROTOCOL:
        /* Every URL's scheme, first or redirected, is checked before
         * libcurl sees it: libcurl says this of a reply that is not HTTP
         * ("HTTP/0.9", a bad status line). */
        return LJH_E_PROTOCOL;
    case CURLE_URL_MALFORMAT:
        return LJH_E_INVALID_URL;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        return LJH_E_DNS;
    case CURLE_COULDNT_CONNECT:
    case CURLE_PROXY: /* a SOCKS handshake failed or the proxy refused */
        return LJH_E_CONNECT;
    case CURLE_OPERATION_TIMEDOUT:
        return LJH_E_TIMEOUT;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_USE_SSL_FAILED:
        return LJH_E_TLS;
    case CURLE_TOO_MANY_REDIRECTS:
        return LJH_E_TOO_MANY_REDIRECTS;
    case CURLE_FILESIZE_EXCEEDED:
        return LJH_E_TOO_LARGE;
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_HTTP3:
    case CURLE_BAD_CONTENT_ENCODING:
    case CURLE_RANGE_ERROR:
        return LJH_E_PROTOCOL;
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_PARTIAL_FILE:
    case CURLE_GOT_NOTHING:
        return LJH_E_NETWORK;
    case CURLE_OUT_OF_MEMORY:
        return LJH_E_OUT_OF_MEMORY;
    case CURLE_ABORTED_BY_CALLBACK:
        return LJH_E_CANCELLED;
    default:
        return LJH_E_INTERNAL;
    }
}
