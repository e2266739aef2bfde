/* transport: validate and apply the connection-shaping options. Every
 * string is checked for bytes that would truncate or inject (NUL, CR, LF)
 * and copied, since libcurl may read it on any later hop. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "decoding.h"
#include "setopt.h"
#include "strs.h"

static int proxy_scheme_ok(const char *p)
{
    static const char *const ok[] = {"http://", "https://", "socks4://", "socks4a://",
                                     "socks5://", "socks5h://"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        size_t n = strlen(ok[i]);
        if (strncasecmp(p, ok[i], n) == 0)
            return 1;
    }
    return 0;
}

/* HTTP/3 needs a libcurl built with a QUIC stack, which many are not
 * (Debian 12's 7.88 among them): say which libcurl this is and what to do,
 * instead of libcurl's later "unsupported protocol". "3-only" cannot fall
 * back, so it needs an https:// URL. */
static ljh_error http3_usable(const ljh_request *req, char *errmsg, size_t errlen)
{
    const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
    const char *word = req->http_version == LJH_HTTP_3 ? "3" : "3-only";
#if LIBCURL_VERSION_NUM >= 0x075800 && defined(CURL_VERSION_HTTP3)
    if (v->features & CURL_VERSION_HTTP3) {
        if (req->http_version == LJH_HTTP_3_ONLY &&
            (!req->url.ptr || req->url.len < 8 || strncasecmp(req->url.ptr, "https://", 8) != 0)) {
            ljh__msg(errmsg, errlen, "http_version \"3-only\" needs an https:// url");
            return LJH_E_INVALID_ARGUMENT;
        }
        return LJH_OK;
    }
#endif
    ljh__msg(errmsg, errlen,
             "http_version \"%s\" needs a libcurl built with HTTP/3, and libcurl %s has none "
             "(install a libcurl 8.x with HTTP/3, such as Debian 13's; http.info().features.http3 "
             "tells)",
             word, v->version);
    return LJH_E_INVALID_ARGUMENT;
}

ljh_error ljh__transport_init(ljh_transport *tr, const ljh_request *req, char *errmsg,
                              size_t errlen)
{
    memset(tr, 0, sizeof *tr);
    struct {
        const ljh_str *in;
        const char *what;
        char **out;
    } strs[] = {
        {&req->proxy, "proxy", &tr->proxy},
        {&req->proxy_user, "proxy_auth user", &tr->proxy_user},
        {&req->proxy_pass, "proxy_auth pass", &tr->proxy_pass},
        {&req->no_proxy, "no_proxy", &tr->no_proxy},
        {&req->ca_file, "ca_file", &tr->ca_file},
        {&req->ca_path, "ca_path", &tr->ca_path},
        {&req->client_cert, "client_cert", &tr->client_cert},
        {&req->client_key, "client_key", &tr->client_key},
        {&req->key_password, "client_key password", &tr->key_password},
        {&req->pinned_public_key, "pinned_public_key", &tr->pinned},
        {&req->unix_socket, "unix_socket", &tr->unix_socket},
    };
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) {
        ljh_error err = ljh__copy_checked(strs[i].in, strs[i].what, 64 * 1024, strs[i].out, errmsg,
                                           errlen);
        if (err)
            return err;
    }
    if (tr->proxy && tr->proxy[0] && !proxy_scheme_ok(tr->proxy)) {
        ljh__msg(errmsg, errlen,
                 "unsupported proxy scheme: use http://, https://, socks4://, socks4a://, "
                 "socks5:// or socks5h://");
        return LJH_E_UNSUPPORTED_SCHEME;
    }
    if (!tr->proxy_user != !tr->proxy_pass) {
        ljh__msg(errmsg, errlen, "proxy_auth needs both user and pass");
        return LJH_E_INVALID_ARGUMENT;
    }
    switch (req->http_version) {
    case LJH_HTTP_DEFAULT:
    case LJH_HTTP_1_1:
    case LJH_HTTP_2:
    case LJH_HTTP_2_PRIOR_KNOWLEDGE:
        tr->http_version = req->http_version;
        break;
    case LJH_HTTP_3:
    case LJH_HTTP_3_ONLY: {
        ljh_error err = http3_usable(req, errmsg, errlen);
        if (err)
            return err;
        tr->http_version = req->http_version;
        break;
    }
    default:
        ljh__msg(errmsg, errlen,
                 "http_version must be \"1.1\", \"2\", \"2-prior-knowledge\", \"3\" or \"3-only\"");
        return LJH_E_INVALID_ARGUMENT;
    }
    if (req->tls_min_version != 0 && req->tls_min_version != 12 && req->tls_min_version != 13) {
        ljh__msg(errmsg, errlen, "tls_min_version must be \"1.2\" or \"1.3\"");
        return LJH_E_INVALID_ARGUMENT;
    }
    tr->tls_min = req->tls_min_version;
    if (req->retries < 0 || req->retries > 10) {
        ljh__msg(errmsg, errlen, "retries must be a number from 0 to 10");
        return LJH_E_INVALID_ARGUMENT;
    }
    tr->retries = req->retries;
    ljh_error rc = ljh__duration_ms(&req->retry_delay, &tr->retry_delay_ms, errmsg, errlen);
    if (rc != LJH_OK)
        return rc;
    if (!req->retry_delay.is_set)
        tr->retry_delay_ms = 1000;
    return LJH_OK;
}

CURLcode ljh__transport_apply(const ljh_transport *tr, uint32_t flags, CURL *e)
{
#define SET_STR(opt, s)            \
    do {                           \
        if (s)                     \
            LJH_SETOPT(e, opt, s); \
    } while (0)
    if (tr->proxy)
        LJH_SETOPT(e, CURLOPT_PROXY, tr->proxy);
    else if (flags & LJH_F_NO_PROXY)
        LJH_SETOPT(e, CURLOPT_PROXY, ""); /* "" also ignores http_proxy & co. */
    SET_STR(CURLOPT_PROXYUSERNAME, tr->proxy_user);
    SET_STR(CURLOPT_PROXYPASSWORD, tr->proxy_pass);
    SET_STR(CURLOPT_NOPROXY, tr->no_proxy);
    SET_STR(CURLOPT_CAINFO, tr->ca_file);
    SET_STR(CURLOPT_CAPATH, tr->ca_path);
    /* ca_path alone means only that directory: libcurl's built-in CA file
     * would still be trusted (and be an error where it does not exist,
     * as on a system without ca-certificates). */
    if (tr->ca_path && !tr->ca_file)
        LJH_SETOPT(e, CURLOPT_CAINFO, (char *)NULL);
    SET_STR(CURLOPT_SSLCERT, tr->client_cert);
    SET_STR(CURLOPT_SSLKEY, tr->client_key);
    SET_STR(CURLOPT_KEYPASSWD, tr->key_password);
    /* Without a password OpenSSL would ask for one on the terminal (and
     * block a Neovim or nginx process reading stdin): an encrypted key
     * without client_key_password must just fail. */
    if (!tr->key_password && (tr->client_cert || tr->client_key))
        LJH_SETOPT(e, CURLOPT_KEYPASSWD, "");
    SET_STR(CURLOPT_PINNEDPUBLICKEY, tr->pinned);
    SET_STR(CURLOPT_UNIX_SOCKET_PATH, tr->unix_socket);
    if (tr->tls_min == 12)
        LJH_SETOPT(e, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    else if (tr->tls_min == 13)
        LJH_SETOPT(e, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_3);
    switch (tr->http_version) {
    case LJH_HTTP_1_1:
        LJH_SETOPT(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
        break;
    case LJH_HTTP_2:
        LJH_SETOPT(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
        break;
    case LJH_HTTP_2_PRIOR_KNOWLEDGE:
        LJH_SETOPT(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE);
        break;
#if LIBCURL_VERSION_NUM >= 0x075800
    case LJH_HTTP_3:
        LJH_SETOPT(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_3);
        break;
    case LJH_HTTP_3_ONLY:
        LJH_SETOPT(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_3ONLY);
        break;
#endif
    default:
        break;
    }
    if (flags & LJH_F_DECOMPRESS) {
        /* decoded by ljhttp (decoding.c), which checks that each stream
         * ends: libcurl's decoders take a truncated one as complete */
        const char *accept = ljh__decoding_accept();
        if (accept) {
            LJH_SETOPT(e, CURLOPT_ACCEPT_ENCODING, accept);
            LJH_SETOPT(e, CURLOPT_HTTP_CONTENT_DECODING, 0L);
        } else { /* no decoder library loads: libcurl's, unchecked */
            LJH_SETOPT(e, CURLOPT_ACCEPT_ENCODING, "");
        }
    }
#undef SET_STR
    return CURLE_OK;
}

void ljh__transport_wipe(ljh_transport *tr)
{
    ljh__wipe_str(tr->proxy); /* a proxy URL may carry a password */
    ljh__wipe_str(tr->proxy_pass);
    ljh__wipe_str(tr->key_password);
}

void ljh__transport_free(ljh_transport *tr)
{
    ljh__transport_wipe(tr);
    char **all[] = {&tr->proxy,       &tr->proxy_user, &tr->proxy_pass,   &tr->no_proxy,
                    &tr->ca_file,     &tr->ca_path,    &tr->client_cert,  &tr->client_key,
                    &tr->key_password, &tr->pinned,    &tr->unix_socket};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        free(*all[i]);
        *all[i] = NULL;
    }
}

long ljh__transport_pipewait(const ljh_transport *tr, const char *url, int origin_h2)
{
    /* Waiting for a connection to multiplex on serialises HTTP/1.1 over
     * TLS on libcurl 8 (the connection under way is waited for, then
     * turns out to be 1.1): wait only where HTTP/2 is asked for or the
     * origin has already answered over it. */
    if (tr->http_version == LJH_HTTP_2_PRIOR_KNOWLEDGE)
        return 1L;
    if (tr->http_version == LJH_HTTP_1_1 || !url || strncasecmp(url, "https://", 8) != 0)
        return 0L;
    return tr->http_version == LJH_HTTP_2 || origin_h2 ? 1L : 0L;
}

static uint64_t fnv1a(uint64_t h, const char *s)
{
    for (; s && *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return (h ^ 0xff) * 1099511628211ULL; /* field end: "a","bc" != "ab","c" */
}

int ljh__transport_no_reuse(const ljh_transport *tr, uint64_t *key_sig)
{
    /* libcurl before 8.0.0 fails every request after the first on an h2c
     * prior-knowledge connection ("Error in the HTTP2 framing layer"). */
    if (tr->http_version == LJH_HTTP_2_PRIOR_KNOWLEDGE &&
        curl_version_info(CURLVERSION_NOW)->version_num < 0x080000)
        return 1;
    /* libcurl's reuse check compares the client certificate but not the
     * key or its password: a request with a wrong or missing key would
     * ride on the connection the right key opened. The client keeps the
     * connections of one key; any other key gets a connection of its own,
     * closed after. */
    if (!tr->client_cert && !tr->client_key && !tr->key_password)
        return 0;
    uint64_t h = fnv1a(fnv1a(fnv1a(14695981039346656037ULL, tr->client_cert), tr->client_key),
                       tr->key_password);
    if (h == 0)
        h = 1;
    if (*key_sig == 0)
        *key_sig = h;
    return h != *key_sig;
}
