/* response: collect header lines as libcurl hands them over, keeping only
 * the final response's, then pack status, headers, cookies, body and the
 * redirect chain into one ljh_response with one free function. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "decoding.h"

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

/* ---- collecting ---- */

static int is_ows(char c)
{
    return c == ' ' || c == '\t';
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* As Go reads it: "HTTP/" major ["." minor], one space, three digits
 * from 100 to 999, then a space or the end. libcurl 8 reads the status
 * of "HTTP/1.1 2000 OK" as 200; 7.88 refused it: ljhttp decides. */
static int status_line_ok(const char *s, size_t len)
{
    size_t i = 5;
    if (i >= len || !is_digit(s[i++]))
        return 0;
    if (i < len && s[i] == '.') {
        if (++i >= len || !is_digit(s[i++]))
            return 0;
    }
    if (i + 4 > len || s[i] != ' ' || s[i + 1] < '1' || s[i + 1] > '9' || !is_digit(s[i + 2]) ||
        !is_digit(s[i + 3]))
        return 0;
    i += 4;
    return i == len || s[i] == ' ';
}

void ljh__collect_reset_hop(ljh_collect *col)
{
    col->hdr_text.len = 0;
    col->hdr_refs.len = 0;
    col->body.len = 0;
    col->headers_done = 0;
    col->in_head = 0;
    col->in_trailers = 0;
}

ljh_error ljh__collect_header(ljh_collect *col, const char *line, size_t len)
{
    while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        len--;
    if (len == 0) {
        if (col->in_head) {
            /* A final (2xx-5xx) chunked answer: what follows its body is
             * trailers, never a new status line (a proxy's CONNECT answer
             * or a 1xx has no Transfer-Encoding). */
            size_t n;
            col->in_trailers = col->head_status >= 200 &&
                               ljh__collect_find(col, "transfer-encoding", &n) != NULL;
        }
        col->headers_done = 1;
        col->in_head = 0;
        return LJH_OK;
    }
    if (len >= 5 && memcmp(line, "HTTP/", 5) == 0 && !col->in_head && !col->in_trailers) {
        /* A new status line: whatever came before was a redirect or 1xx.
         * Inside a head it is an odd header line (dropped below), so a
         * server cannot make the headers before it disappear. */
        if (!status_line_ok(line, len)) {
            col->abort_why = "malformed HTTP status line (want HTTP/x.y and a 3-digit code)";
            return LJH_E_PROTOCOL;
        }
        if (++col->n_informational > LJH_MAX_INFORMATIONAL)
            return LJH_E_PROTOCOL;
        col->hdr_text.len = 0;
        col->hdr_refs.len = 0;
        col->headers_done = 0;
        col->in_head = 1;
        const char *sp = memchr(line, ' ', len);
        col->head_status = 0;
        for (size_t i = sp ? (size_t)(sp - line) + 1 : len; i < len && line[i] >= '0' && line[i] <= '9' &&
                                                           col->head_status < 1000; i++)
            col->head_status = col->head_status * 10 + (line[i] - '0');
        return LJH_OK;
    }
    if (col->headers_done)
        return LJH_OK; /* trailers after a chunked body: not kept */
    if (col->hdr_text.len + len > LJH_MAX_RESP_HEADER_BYTES)
        return LJH_E_TOO_LARGE;
    ljh_hdr_ref *refs = (ljh_hdr_ref *)col->hdr_refs.p;
    size_t n = col->hdr_refs.len / sizeof(ljh_hdr_ref);
    if (is_ows(line[0])) {
        /* obs-fold: continues the previous value after one space. */
        if (n == 0)
            return LJH_OK;
        while (len && is_ows(line[0])) {
            line++;
            len--;
        }
        while (len && is_ows(line[len - 1]))
            len--;
        if (len == 0)
            return LJH_OK;
        ljh_hdr_ref *last = &refs[n - 1];
        if (last->value_off + last->value_len + 1 != col->hdr_text.len)
            return LJH_E_INTERNAL;
        col->hdr_text.len--; /* drop the value's NUL, append " rest\0" */
        if (ljh__buf_append(&col->hdr_text, " ", 1) ||
            ljh__buf_append(&col->hdr_text, line, len) || ljh__buf_append(&col->hdr_text, "", 1))
            return LJH_E_OUT_OF_MEMORY;
        for (char *p = col->hdr_text.p + col->hdr_text.len - 1 - len; p < col->hdr_text.p + col->hdr_text.len - 1; p++)
            if (*p == '\r' || *p == '\0') /* as below */
                *p = ' ';
        last->value_len += len + 1;
        return LJH_OK;
    }
    const char *colon = memchr(line, ':', len);
    if (!colon || colon == line)
        return LJH_OK; /* not a header line: ignored, as libcurl does */
    if (n >= LJH_MAX_RESP_HEADERS)
        return LJH_E_TOO_LARGE;
    size_t nl = (size_t)(colon - line);
    while (nl && is_ows(line[nl - 1]))
        nl--;
    const char *v = colon + 1;
    size_t vl = len - (size_t)(v - line);
    while (vl && is_ows(*v)) {
        v++;
        vl--;
    }
    while (vl && is_ows(v[vl - 1]))
        vl--;
    /* "Name\0value\0" written in place: the name checked and made
     * canonical in one pass, the value copied with each CR or NUL made a
     * space (RFC 9110 5.5). Nothing counts until the ref is stored. */
    size_t at = col->hdr_text.len, end = at + nl + vl + 2;
    if (ljh__buf_reserve(&col->hdr_text, end))
        return LJH_E_OUT_OF_MEMORY;
    char *out = col->hdr_text.p + at;
    if (!ljh__canonical_token(line, nl, out))
        return LJH_OK; /* a name with a space, control or 8-bit byte: dropped */
    out[nl] = '\0';
    char *o = out + nl + 1;
    memcpy(o, v, vl);
    o[vl] = '\0';
    for (char *p = memchr(o, '\r', vl); p; p = memchr(p, '\r', (size_t)(o + vl - p)))
        *p = ' ';
    for (char *p = memchr(o, '\0', vl); p; p = memchr(p, '\0', (size_t)(o + vl - p)))
        *p = ' ';
    ljh_hdr_ref ref = {at, nl, at + nl + 1, vl};
    if (ljh__buf_append(&col->hdr_refs, &ref, sizeof ref))
        return LJH_E_OUT_OF_MEMORY;
    col->hdr_text.len = end;
    col->hdr_text.p[end] = '\0'; /* (reserve left room for it) */
    return LJH_OK;
}

ljh_error ljh__collect_decoder(const ljh_collect *col, struct ljh_decoder **out, const char **why)
{
    /* Repeated lines are one comma-separated list: "gzip" then "br" is
     * "gzip, br" (br decoded first). */
    char list[1024];
    size_t len = 0;
    const ljh_hdr_ref *refs = (const ljh_hdr_ref *)col->hdr_refs.p;
    size_t n = col->hdr_refs.len / sizeof(ljh_hdr_ref);
    *out = NULL;
    for (size_t i = 0; i < n; i++) {
        if (!ljh__header_is(col->hdr_text.p + refs[i].name_off, refs[i].name_len,
                            "content-encoding"))
            continue;
        if (len + 2 + refs[i].value_len > sizeof list) {
            *why = "the response's Content-Encoding list is too long to decode";
            return LJH_E_PROTOCOL;
        }
        if (len) {
            memcpy(list + len, ", ", 2);
            len += 2;
        }
        memcpy(list + len, col->hdr_text.p + refs[i].value_off, refs[i].value_len);
        len += refs[i].value_len;
    }
    return ljh__decoder_new(list, len, out, why);
}

const char *ljh__collect_find(const ljh_collect *col, const char *lower, size_t *len)
{
    const ljh_hdr_ref *refs = (const ljh_hdr_ref *)col->hdr_refs.p;
    size_t n = col->hdr_refs.len / sizeof(ljh_hdr_ref);
    for (size_t i = 0; i < n; i++) {
        if (ljh__header_is(col->hdr_text.p + refs[i].name_off, refs[i].name_len, lower)) {
            *len = refs[i].value_len;
            return col->hdr_text.p + refs[i].value_off;
        }
    }
    return NULL;
}

ljh_error ljh__collect_redirect(ljh_collect *col, const char *url, int status)
{
    size_t ul = strlen(url);
    ljh_hdr_ref ref = {col->redir_text.len, ul, (size_t)status, 0};
    if (ljh__buf_append(&col->redir_text, url, ul + 1) ||
        ljh__buf_append(&col->redir_refs, &ref, sizeof ref))
        return LJH_E_OUT_OF_MEMORY;
    return LJH_OK;
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

void ljh__collect_keep(ljh_collect *col)
{
    ljh__buf_free(&col->trace);
    ljh__buf_free(&col->redir_text);
    ljh__buf_free(&col->redir_refs);
    ljh_buf *keep[] = {&col->hdr_text, &col->hdr_refs, &col->body};
    for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++) {
        if (keep[i]->cap > LJH_COLLECT_KEEP)
            ljh__buf_free(keep[i]);
        else if (keep[i]->p)
            keep[i]->p[keep[i]->len = 0] = '\0';
    }
}

void ljh__collect_free(ljh_collect *col)
{
    ljh__buf_free(&col->trace);
    ljh__buf_free(&col->hdr_text);
    ljh__buf_free(&col->hdr_refs);
    ljh__buf_free(&col->body);
    ljh__buf_free(&col->redir_text);
    ljh__buf_free(&col->redir_refs);
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
        while (nl && is_ows(s[nl - 1]))
            nl--;
        const char *v = eq + 1;
        size_t vl = len - (size_t)(v - s);
        while (vl && is_ows(*v)) {
            v++;
            vl--;
        }
        while (vl && is_ows(v[vl - 1]))
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
