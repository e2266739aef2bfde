/* Error words, messages and the mapping from libcurl's codes. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

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
    [LJH_E_JSON] = "json",
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

/* Every CURLcode up to the newest libcurl known, by number (the names
 * after 7.88's are not in its curl.h) and name, each mapped on purpose.
 * Codes of protocols other than HTTP(S), and uses of libcurl's API that
 * cannot fail as ljhttp calls it, are internal. tests/c/test_errors.c
 * reads the installed curl/curl.h and fails on any code missing here. */
const ljh_curl_code ljh__curl_codes[] = {
    {  0, "CURLE_OK", LJH_OK},
    {  1, "CURLE_UNSUPPORTED_PROTOCOL", LJH_E_PROTOCOL},  /* schemes are checked first: not HTTP */
    {  2, "CURLE_FAILED_INIT", LJH_E_INTERNAL},
    {  3, "CURLE_URL_MALFORMAT", LJH_E_INVALID_URL},
    {  4, "CURLE_NOT_BUILT_IN", LJH_E_INTERNAL},          /* a feature this libcurl lacks */
    {  5, "CURLE_COULDNT_RESOLVE_PROXY", LJH_E_DNS},
    {  6, "CURLE_COULDNT_RESOLVE_HOST", LJH_E_DNS},
    {  7, "CURLE_COULDNT_CONNECT", LJH_E_CONNECT},
    {  8, "CURLE_WEIRD_SERVER_REPLY", LJH_E_PROTOCOL},
    {  9, "CURLE_REMOTE_ACCESS_DENIED", LJH_E_INTERNAL},  /* FTP */
    { 10, "CURLE_FTP_ACCEPT_FAILED", LJH_E_INTERNAL},
    { 11, "CURLE_FTP_WEIRD_PASS_REPLY", LJH_E_INTERNAL},
    { 12, "CURLE_FTP_ACCEPT_TIMEOUT", LJH_E_INTERNAL},
    { 13, "CURLE_FTP_WEIRD_PASV_REPLY", LJH_E_INTERNAL},
    { 14, "CURLE_FTP_WEIRD_227_FORMAT", LJH_E_INTERNAL},
    { 15, "CURLE_FTP_CANT_GET_HOST", LJH_E_INTERNAL},
    { 16, "CURLE_HTTP2", LJH_E_PROTOCOL},
    { 17, "CURLE_FTP_COULDNT_SET_TYPE", LJH_E_INTERNAL},
    { 18, "CURLE_PARTIAL_FILE", LJH_E_NETWORK},           /* the body ended before its length */
    { 19, "CURLE_FTP_COULDNT_RETR_FILE", LJH_E_INTERNAL},
    { 20, "CURLE_OBSOLETE20", LJH_E_INTERNAL},
    { 21, "CURLE_QUOTE_ERROR", LJH_E_INTERNAL},
    { 22, "CURLE_HTTP_RETURNED_ERROR", LJH_E_INTERNAL},   /* CURLOPT_FAILONERROR is never set */
    { 23, "CURLE_WRITE_ERROR", LJH_E_INTERNAL},           /* our callbacks record why they stop */
    { 24, "CURLE_OBSOLETE24", LJH_E_INTERNAL},
    { 25, "CURLE_UPLOAD_FAILED", LJH_E_NETWORK},
    { 26, "CURLE_READ_ERROR", LJH_E_IO},                  /* a request body could not be read */
    { 27, "CURLE_OUT_OF_MEMORY", LJH_E_OUT_OF_MEMORY},
    { 28, "CURLE_OPERATION_TIMEDOUT", LJH_E_TIMEOUT},
    { 29, "CURLE_OBSOLETE29", LJH_E_INTERNAL},
    { 30, "CURLE_FTP_PORT_FAILED", LJH_E_INTERNAL},
    { 31, "CURLE_FTP_COULDNT_USE_REST", LJH_E_INTERNAL},
    { 32, "CURLE_OBSOLETE32", LJH_E_INTERNAL},
    { 33, "CURLE_RANGE_ERROR", LJH_E_PROTOCOL},
    { 34, "CURLE_HTTP_POST_ERROR", LJH_E_INTERNAL},
    { 35, "CURLE_SSL_CONNECT_ERROR", LJH_E_TLS},
    { 36, "CURLE_BAD_DOWNLOAD_RESUME", LJH_E_INTERNAL},
    { 37, "CURLE_FILE_COULDNT_READ_FILE", LJH_E_IO},
    { 38, "CURLE_LDAP_CANNOT_BIND", LJH_E_INTERNAL},
    { 39, "CURLE_LDAP_SEARCH_FAILED", LJH_E_INTERNAL},
    { 40, "CURLE_OBSOLETE40", LJH_E_INTERNAL},
    { 41, "CURLE_FUNCTION_NOT_FOUND", LJH_E_INTERNAL},
    { 42, "CURLE_ABORTED_BY_CALLBACK", LJH_E_CANCELLED},
    { 43, "CURLE_BAD_FUNCTION_ARGUMENT", LJH_E_INTERNAL}, /* see ljh__error_of_transfer */
    { 44, "CURLE_OBSOLETE44", LJH_E_INTERNAL},
    { 45, "CURLE_INTERFACE_FAILED", LJH_E_CONNECT},
    { 46, "CURLE_OBSOLETE46", LJH_E_INTERNAL},
    { 47, "CURLE_TOO_MANY_REDIRECTS", LJH_E_TOO_MANY_REDIRECTS},
    { 48, "CURLE_UNKNOWN_OPTION", LJH_E_INTERNAL},
    { 49, "CURLE_SETOPT_OPTION_SYNTAX", LJH_E_INTERNAL},
    { 50, "CURLE_OBSOLETE50", LJH_E_INTERNAL},
    { 51, "CURLE_OBSOLETE51", LJH_E_INTERNAL},
    { 52, "CURLE_GOT_NOTHING", LJH_E_NETWORK},
    { 53, "CURLE_SSL_ENGINE_NOTFOUND", LJH_E_TLS},
    { 54, "CURLE_SSL_ENGINE_SETFAILED", LJH_E_TLS},
    { 55, "CURLE_SEND_ERROR", LJH_E_NETWORK},
    { 56, "CURLE_RECV_ERROR", LJH_E_NETWORK},
    { 57, "CURLE_OBSOLETE57", LJH_E_INTERNAL},
    { 58, "CURLE_SSL_CERTPROBLEM", LJH_E_TLS},
    { 59, "CURLE_SSL_CIPHER", LJH_E_TLS},
    { 60, "CURLE_PEER_FAILED_VERIFICATION", LJH_E_TLS},
    { 61, "CURLE_BAD_CONTENT_ENCODING", LJH_E_PROTOCOL},
    { 62, "CURLE_OBSOLETE62", LJH_E_INTERNAL},
    { 63, "CURLE_FILESIZE_EXCEEDED", LJH_E_TOO_LARGE},
    { 64, "CURLE_USE_SSL_FAILED", LJH_E_TLS},
    { 65, "CURLE_SEND_FAIL_REWIND", LJH_E_NETWORK},
    { 66, "CURLE_SSL_ENGINE_INITFAILED", LJH_E_TLS},
    { 67, "CURLE_LOGIN_DENIED", LJH_E_INTERNAL},
    { 68, "CURLE_TFTP_NOTFOUND", LJH_E_INTERNAL},
    { 69, "CURLE_TFTP_PERM", LJH_E_INTERNAL},
    { 70, "CURLE_REMOTE_DISK_FULL", LJH_E_INTERNAL},
    { 71, "CURLE_TFTP_ILLEGAL", LJH_E_INTERNAL},
    { 72, "CURLE_TFTP_UNKNOWNID", LJH_E_INTERNAL},
    { 73, "CURLE_REMOTE_FILE_EXISTS", LJH_E_INTERNAL},
    { 74, "CURLE_TFTP_NOSUCHUSER", LJH_E_INTERNAL},
    { 75, "CURLE_OBSOLETE75", LJH_E_INTERNAL},
    { 76, "CURLE_OBSOLETE76", LJH_E_INTERNAL},
    { 77, "CURLE_SSL_CACERT_BADFILE", LJH_E_TLS},
    { 78, "CURLE_REMOTE_FILE_NOT_FOUND", LJH_E_INTERNAL},
    { 79, "CURLE_SSH", LJH_E_INTERNAL},
    { 80, "CURLE_SSL_SHUTDOWN_FAILED", LJH_E_TLS},
    { 81, "CURLE_AGAIN", LJH_E_INTERNAL},
    { 82, "CURLE_SSL_CRL_BADFILE", LJH_E_TLS},
    { 83, "CURLE_SSL_ISSUER_ERROR", LJH_E_TLS},
    { 84, "CURLE_FTP_PRET_FAILED", LJH_E_INTERNAL},
    { 85, "CURLE_RTSP_CSEQ_ERROR", LJH_E_INTERNAL},
    { 86, "CURLE_RTSP_SESSION_ERROR", LJH_E_INTERNAL},
    { 87, "CURLE_FTP_BAD_FILE_LIST", LJH_E_INTERNAL},
    { 88, "CURLE_CHUNK_FAILED", LJH_E_INTERNAL},
    { 89, "CURLE_NO_CONNECTION_AVAILABLE", LJH_E_INTERNAL},
    { 90, "CURLE_SSL_PINNEDPUBKEYNOTMATCH", LJH_E_TLS},
    { 91, "CURLE_SSL_INVALIDCERTSTATUS", LJH_E_TLS},
    { 92, "CURLE_HTTP2_STREAM", LJH_E_PROTOCOL},
    { 93, "CURLE_RECURSIVE_API_CALL", LJH_E_INTERNAL},
    { 94, "CURLE_AUTH_ERROR", LJH_E_PROTOCOL},            /* an auth challenge libcurl cannot use */
    { 95, "CURLE_HTTP3", LJH_E_PROTOCOL},
    { 96, "CURLE_QUIC_CONNECT_ERROR", LJH_E_CONNECT},
    { 97, "CURLE_PROXY", LJH_E_CONNECT},                  /* SOCKS handshake or proxy refused */
    { 98, "CURLE_SSL_CLIENTCERT", LJH_E_TLS},
    { 99, "CURLE_UNRECOVERABLE_POLL", LJH_E_INTERNAL},
    {100, "CURLE_TOO_LARGE", LJH_E_TOO_LARGE},            /* 8.6+: headers/body over its limits */
    {101, "CURLE_ECH_REQUIRED", LJH_E_TLS},               /* libcurl >= 8.8 */
};
const size_t ljh__n_curl_codes = sizeof ljh__curl_codes / sizeof ljh__curl_codes[0];

ljh_error ljh__error_from_curl(CURLcode rc)
{
    /* A code newer than this table: internal, and the header test fails. */
    if ((int)rc < 0 || (size_t)rc >= ljh__n_curl_codes)
        return LJH_E_INTERNAL;
    return ljh__curl_codes[rc].error;
}

ljh_error ljh__error_of_transfer(CURLcode rc, const ljh_transport *tr)
{
    /* libcurl 8.23 says CURLE_BAD_FUNCTION_ARGUMENT when OpenSSL refuses
     * the client key's password (older versions: CURLE_SSL_CERTPROBLEM):
     * with a client certificate or key set, that is the TLS setup. */
    if (rc == CURLE_BAD_FUNCTION_ARGUMENT && tr && (tr->client_cert || tr->client_key))
        return LJH_E_TLS;
    return ljh__error_from_curl(rc);
}

/* ---- the wording of a failed transfer ---- */

/* Blanks every copy of secret in msg (same length, so nothing moves). */
static void mask(char *msg, const char *secret)
{
    size_t sl = secret ? strlen(secret) : 0;
    char *p;
    while (sl && (p = strstr(msg, secret)) != NULL)
        memset(p, '*', sl);
}

/* Go prints the method as "Get", "Post": keep its shape. */
void ljh__go_method(const char *m, char *out, size_t cap)
{
    ljh__msg(out, cap, "%s", m ? m : "");
    for (size_t i = 1; out[0] && out[i]; i++)
        if (out[i] >= 'A' && out[i] <= 'Z')
            out[i] = (char)(out[i] + 32);
}

void ljh__fault_set(ljh_fault *f, ljh_error code, const char *why)
{
    if (f->code || !code)
        return;
    f->code = code;
    f->why = why;
}

void ljh__fault_text(ljh_fault *f, ljh_error code, const char *fmt, ...)
{
    if (f->code || !code)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->text, sizeof f->text, fmt, ap);
    va_end(ap);
    f->code = code;
    f->why = f->text;
}

void ljh__error_message(const ljh_plan *p, const ljh_collect *col, const ljh_fault *f,
                        const char *curl_msg, ljh_error code, CURLcode rc, char *out, size_t cap)
{
    char url[1024];
    char method[LJH_MAX_METHOD_LEN + 1];
    ljh__safe_url(p->url ? p->url : "", url, sizeof url);
    if (strlen(url) > 160) /* the reason must fit in the message */
        memcpy(url + 157, "...", 4);
    ljh__go_method(p->method, method, sizeof method);
    const char *why;
    char buf[256];
    switch (f->code) {
    case LJH_E_TOO_LARGE:
        /* libcurl says CURLE_WRITE_ERROR for a header callback abort too:
         * only a body arrives after the blank line. */
        if (col->headers_done)
            ljh__msg(buf, sizeof buf, "response body is larger than max_body_size (%lld bytes)",
                     (long long)p->max_body);
        else
            ljh__msg(buf, sizeof buf, "response headers are too large (at most %d headers, %d bytes, "
                     "%d bytes per line)", LJH_MAX_RESP_HEADERS, LJH_MAX_RESP_HEADER_BYTES,
                     CURL_MAX_HTTP_HEADER);
        why = buf;
        break;
    case LJH_E_TIMEOUT:
        ljh__msg(buf, sizeof buf, "no byte received or sent for %lld ms (idle_timeout)",
                 (long long)p->idle_timeout_ms);
        why = buf;
        break;
    case LJH_E_PROTOCOL:
        why = f->why ? f->why : "too many informational (1xx) responses";
        break;
    case LJH_E_OUT_OF_MEMORY:
        why = "out of memory";
        break;
    default:
        if (f->why) { /* a file of options.output/body_file, our own checks */
            why = f->why;
        } else if (p->bodies.errmsg[0]) {
            why = p->bodies.errmsg;
        } else if (code == LJH_E_TOO_LARGE && rc == CURLE_FILESIZE_EXCEEDED) {
            ljh__msg(buf, sizeof buf,
                     "response body is larger than max_body_size (%lld bytes)",
                     (long long)p->max_body);
            why = buf;
        } else {
            why = curl_msg && curl_msg[0] ? curl_msg : curl_easy_strerror(rc);
        }
        break;
    }
    ljh__msg(out, cap, "%s \"%s\": %s", method, url, why);
    mask(out, p->pass);
    mask(out, p->transport.proxy_pass);
}
