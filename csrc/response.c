/* response: pack status, headers, cookies, body and the redirect chain
 * that collect.c gathered into one ljh_response with one free function;
 * and LJH_F_DECODE_JSON's parse of its body. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* What ljh_response_free releases; the public part comes first so a
 * pointer to one is a pointer to the other. */
typedef struct response_full {
    ljh_response pub;
    char *body;
    char *url;
    char *hdr_text;
    ljh_kv *headers;
    char *cookie_text;
    ljh_kv *cookies;
    char *redir_text;
    ljh_redirect *redirects;
    char *trace;
    /* a packed response's header array and URL follow in the same block */
} response_full;

static const char empty[] = "";

void ljh_response_free(ljh_response *r)
{
    if (!r)
        return;
    response_full *f = (response_full *)r;
    free(f->body);
    free(f->hdr_text);
    free(f->cookie_text);
    free(f->cookies);
    free(f->redir_text);
    free(f->redirects);
    free(f->trace);
    ljh_json_free((ljh_json *)r->json);
    free(f);
}

static response_full *response_alloc(void)
{
    response_full *f = calloc(1, sizeof *f);
    if (f) {
        f->pub.body = empty;
        f->pub.url = empty;
    }
    return f;
}

ljh_response *ljh__response_new_error(ljh_error code, const char *msg)
{
    response_full *f = response_alloc();
    if (!f)
        return NULL;
    f->pub.error = (int32_t)code;
    ljh__msg(f->pub.errmsg, sizeof f->pub.errmsg, "%s", msg && msg[0] ? msg : ljh_error_name(code));
    return &f->pub;
}

void ljh__response_finish(ljh_response *r, ljh_collect *col, int retries)
{
    if (!r)
        return;
    response_full *f = (response_full *)r;
    r->retries = retries;
    if (col->trace.len && !f->trace) {
        size_t n = col->trace.len;
        f->trace = ljh__buf_steal(&col->trace);
        if (f->trace) {
            r->trace = f->trace;
            r->trace_len = n;
        }
    }
}

/* ---- packing ---- */

/* Set-Cookie: name=value; attrs -> (name, value), Go's leniency: value
 * trimmed, one pair of quotes removed, invalid names skipped. */
static ljh_error pack_cookies(response_full *f)
{
    size_t n = 0, bytes = 0;
    for (int32_t i = 0; i < f->pub.n_headers; i++)
        if (ljh__header_is(f->headers[i].name, (size_t)f->headers[i].name_len, "set-cookie")) {
            n++;
            bytes += (size_t)f->headers[i].value_len + 2;
        }
    if (!n)
        return LJH_OK;
    f->cookies = calloc(n, sizeof *f->cookies);
    f->cookie_text = malloc(bytes);
    if (!f->cookies || !f->cookie_text)
        return LJH_E_OUT_OF_MEMORY;
    char *out = f->cookie_text;
    int32_t k = 0;
    for (int32_t i = 0; i < f->pub.n_headers; i++) {
        const ljh_kv *h = &f->headers[i];
        if (!ljh__header_is(h->name, (size_t)h->name_len, "set-cookie"))
            continue;
        const char *s = h->value;
        size_t len = (size_t)h->value_len;
        const char *semi = memchr(s, ';', len);
        if (semi)
            len = (size_t)(semi - s);
        const char *eq = memchr(s, '=', len);
        if (!eq)
            continue;
        size_t nl = (size_t)(eq - s);
        while (nl && ljh__is_ows(s[nl - 1]))
            nl--;
        const char *v = eq + 1;
        size_t vl = len - (size_t)(v - s);
        while (vl && ljh__is_ows(*v)) {
            v++;
            vl--;
        }
        while (vl && ljh__is_ows(v[vl - 1]))
            vl--;
        if (vl >= 2 && v[0] == '"' && v[vl - 1] == '"') {
            v++;
            vl -= 2;
        }
        if (!ljh__is_token(s, nl))
            continue;
        ljh_kv *c = &f->cookies[k++];
        memcpy(out, s, nl);
        out[nl] = '\0';
        c->name = out;
        c->name_len = (int32_t)nl;
        out += nl + 1;
        memcpy(out, v, vl);
        out[vl] = '\0';
        c->value = out;
        c->value_len = (int32_t)vl;
        out += vl + 1;
    }
    f->pub.cookies = f->cookies;
    f->pub.n_cookies = k;
    return LJH_OK;
}

/* f->headers has room for every collected header (response_pack). */
/* text: the header text, in the response's block or stolen (f->hdr_text). */
static ljh_error pack_headers(response_full *f, ljh_collect *col, const char *text)
{
    size_t n = col->hdr_refs.len / sizeof(ljh_hdr_ref);
    const ljh_hdr_ref *refs = (const ljh_hdr_ref *)col->hdr_refs.p;
    for (size_t i = 0; i < n; i++) {
        f->headers[i].name = text + refs[i].name_off;
        f->headers[i].name_len = (int32_t)refs[i].name_len;
        f->headers[i].value = text + refs[i].value_off;
        f->headers[i].value_len = (int32_t)refs[i].value_len;
    }
    f->pub.headers = f->headers;
    f->pub.n_headers = (int32_t)n;
    return pack_cookies(f);
}

static ljh_error pack_redirects(response_full *f, ljh_collect *col)
{
    size_t n = col->redir_refs.len / sizeof(ljh_hdr_ref);
    if (!n)
        return LJH_OK;
    const ljh_hdr_ref *refs = (const ljh_hdr_ref *)col->redir_refs.p;
    f->redirects = calloc(n, sizeof *f->redirects);
    f->redir_text = ljh__buf_steal(&col->redir_text);
    if (!f->redirects || !f->redir_text)
        return LJH_E_OUT_OF_MEMORY;
    for (size_t i = 0; i < n; i++) {
        f->redirects[i].url = f->redir_text + refs[i].name_off;
        f->redirects[i].url_len = (int32_t)refs[i].name_len;
        f->redirects[i].status = (int32_t)refs[i].value_off;
    }
    f->pub.redirects = f->redirects;
    f->pub.n_redirects = (int32_t)n;
    return LJH_OK;
}

static double info_seconds(CURL *easy, CURLINFO what)
{
    curl_off_t us = 0;
    if (curl_easy_getinfo(easy, what, &us) != CURLE_OK)
        return 0;
    return (double)us / 1e6;
}

static void pack_info(response_full *f, const ljh_collect *col, CURL *easy)
{
    long status = col->known_status, version = col->known_version;
    char *ip = NULL;
    if (!status)
        curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    if (!version)
        curl_easy_getinfo(easy, CURLINFO_HTTP_VERSION, &version);
    f->pub.status = (int32_t)status;
    switch (version) {
    case CURL_HTTP_VERSION_1_0: f->pub.http_version = 10; break;
    case CURL_HTTP_VERSION_1_1: f->pub.http_version = 11; break;
    case CURL_HTTP_VERSION_2_0: f->pub.http_version = 20; break;
    case CURL_HTTP_VERSION_3: f->pub.http_version = 30; break;
    default: f->pub.http_version = 0; break;
    }
    if (curl_easy_getinfo(easy, CURLINFO_PRIMARY_IP, &ip) == CURLE_OK && ip) {
        size_t n = strnlen(ip, sizeof f->pub.remote_ip - 1);
        memcpy(f->pub.remote_ip, ip, n);
        f->pub.remote_ip[n] = '\0';
    }
    f->pub.t_dns = info_seconds(easy, CURLINFO_NAMELOOKUP_TIME_T);
    f->pub.t_connect = info_seconds(easy, CURLINFO_CONNECT_TIME_T);
    f->pub.t_tls = info_seconds(easy, CURLINFO_APPCONNECT_TIME_T);
    f->pub.t_first_byte = info_seconds(easy, CURLINFO_STARTTRANSFER_TIME_T);
    f->pub.t_total = info_seconds(easy, CURLINFO_TOTAL_TIME_T);
}

ljh_response *ljh__response_pack(ljh_collect *col, CURL *easy)
{
    char *url = NULL;
    if (curl_easy_getinfo(easy, CURLINFO_EFFECTIVE_URL, &url) != CURLE_OK || !url)
        url = "";
    char safe[LJH_MAX_URL_LEN < 8192 ? LJH_MAX_URL_LEN : 8192];
    if (strchr(url, '@')) {
        /* Never hand credentials back in response.url. */
        ljh__safe_url(url, safe, sizeof safe);
        url = safe;
    }
    size_t ul = strlen(url);
    size_t body_len = col->body.len, text_len = col->hdr_text.len;
    /* One block: the response, its header array and its URL, and the
     * header text and body when their buffers are small ones the
     * transfer keeps (ljh__collect_keep); larger ones are taken over. */
    int copy_text = col->hdr_text.cap <= LJH_COLLECT_KEEP;
    int copy_body = col->body.cap <= LJH_COLLECT_KEEP;
    size_t nh = col->hdr_refs.len / sizeof(ljh_hdr_ref);
    response_full *f = calloc(1, sizeof *f + nh * sizeof(ljh_kv) + ul + 1 +
                                     (copy_text ? text_len + 1 : 0) +
                                     (copy_body ? body_len + 1 : 0));
    if (!f)
        return NULL;
    f->pub.body = empty;
    f->pub.url = empty;
    f->headers = nh ? (ljh_kv *)(f + 1) : NULL;
    f->url = (char *)(f + 1) + nh * sizeof(ljh_kv);
    char *text = f->url + ul + 1, *body = text + (copy_text ? text_len + 1 : 0);
    if (copy_text) {
        if (text_len)
            memcpy(text, col->hdr_text.p, text_len);
    } else {
        text = f->hdr_text = ljh__buf_steal(&col->hdr_text);
    }
    if (copy_body) {
        if (body_len)
            memcpy(body, col->body.p, body_len);
    } else {
        body = f->body = ljh__buf_steal(&col->body);
    }
    if (!text || !body || pack_headers(f, col, text) || pack_redirects(f, col)) {
        ljh_response_free(&f->pub);
        return NULL;
    }
    memcpy(f->url, url, ul + 1);
    f->pub.url = f->url;
    f->pub.url_len = (int32_t)ul;
    f->pub.body = body;
    f->pub.body_len = body_len;
    pack_info(f, col, easy);
    col->known_status = col->known_version = 0;
    return &f->pub;
}

/* ---- LJH_F_DECODE_JSON ---- */

void ljh__response_parse_json(ljh_response *r)
{
    if (!r || r->error || r->json)
        return;
    response_full *f = (response_full *)r;
    ljh_json *j = ljh_json_parse(r->body, r->body_len);
    if (!j) {
        r->error = LJH_E_OUT_OF_MEMORY;
        ljh__msg(r->errmsg, sizeof r->errmsg, "out of memory while decoding the JSON body");
        return;
    }
    r->json = j;
    if (j->error == LJH_OK) {
        /* The tape points into cJSON's tree, not into the body (a small
         * body in the response's own block just stays unused there). */
        free(f->body);
        f->body = NULL;
        r->body = empty;
    }
}
