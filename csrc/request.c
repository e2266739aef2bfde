/* request: validate what Lua filled in an ljh_request, copy what the
 * transfer keeps into an ljh_plan, and turn the plan into libcurl options
 * for each hop. Nothing reaches libcurl before it has passed here. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "json_body.h"
#include "setopt.h"
#include "strs.h"

/* A short printable rendering of untrusted bytes for messages. */
static void show(const char *s, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 5 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        if (i >= 40) {
            memcpy(out + o, "...", 3);
            o += 3;
            break;
        }
        if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\')
            o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
        else
            out[o++] = (char)c;
    }
    out[o < cap ? o : cap - 1] = '\0';
}

/* Go's getScheme: letters, then letters/digits/+-. up to ':'. */
static size_t scheme_len(const char *u, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = u[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
            continue;
        if ((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.') {
            if (i == 0)
                return 0;
            continue;
        }
        return c == ':' ? i : 0;
    }
    return 0;
}

static int scheme_allowed(const char *s, size_t n)
{
    return ljh__header_is(s, n, "http") || ljh__header_is(s, n, "https");
}

#define NO_SCHEME_HINT " (the url must start with http:// or https://)"

static ljh_error check_scheme(const char *url, size_t n, const char *what, char *errmsg,
                              size_t errlen)
{
    size_t sl = scheme_len(url, n);
    if (sl && scheme_allowed(url, sl))
        return LJH_OK;
    char shown[64];
    char lower[sizeof shown];
    show(url, sl, shown, sizeof shown);
    size_t i = 0;
    for (; shown[i]; i++)
        lower[i] = (shown[i] >= 'A' && shown[i] <= 'Z') ? (char)(shown[i] + 32) : shown[i];
    lower[i] = '\0';
    /* Go's phrase, then the way out when there was no scheme at all */
    ljh__msg(errmsg, errlen, "%sunsupported protocol scheme \"%s\"%s", what, lower,
             sl ? "" : NO_SCHEME_HINT);
    return LJH_E_UNSUPPORTED_SCHEME;
}

void ljh__safe_url(const char *url, char *out, size_t cap)
{
    out[0] = '\0';
    CURLU *u = curl_url();
    char *s = NULL;
    if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK) {
        curl_url_set(u, CURLUPART_USER, NULL, 0);
        curl_url_set(u, CURLUPART_PASSWORD, NULL, 0);
        if (curl_url_get(u, CURLUPART_URL, &s, 0) == CURLUE_OK)
            ljh__msg(out, cap, "%s", s);
    }
    curl_free(s);
    curl_url_cleanup(u);
}

/* scheme://host:port with the default port filled in. */
static char *origin_of(CURLU *u)
{
    char *scheme = NULL, *host = NULL, *port = NULL, *out = NULL;
    if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK) {
        size_t n = strlen(scheme) + strlen(host) + strlen(port) + 5;
        out = malloc(n);
        if (out) {
            snprintf(out, n, "%s://%s:%s", scheme, host, port);
            /* Scheme and host compare without case. */
            for (char *p = out; *p; p++)
                if (*p >= 'A' && *p <= 'Z')
                    *p = (char)(*p + 32);
        }
    }
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    return out;
}

static int bytes_ok_in_url(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20 || c == 0x7f)
            return 0;
    }
    return 1;
}

/* Parses url (already scheme-checked), applies the query, and stores the
 * canonical URL and origin in plan. */
static ljh_error build_url(ljh_plan *plan, const ljh_request *req, char *errmsg, size_t errlen)
{
    /* libcurl reads "http:///x" and "http:/x" as host "x"; Go sees no host. */
    const char *given = req->url.ptr;
    size_t gl = req->url.len;
    size_t sl = scheme_len(given, gl);
    if (gl < sl + 4 || memcmp(given + sl, "://", 3) != 0 || memchr("/?#", given[sl + 3], 3)) {
        ljh__msg(errmsg, errlen, "invalid URL: no host");
        return LJH_E_INVALID_URL;
    }
    /* The authority must name a host after any user info: "http://:80/"
     * and "http://u@/" have none. */
    const char *a = given + sl + 3, *end = given + gl;
    const char *stop = a;
    while (stop < end && *stop != '/' && *stop != '?' && *stop != '#')
        stop++;
    for (const char *p = a; p < stop; p++)
        if (*p == '@')
            a = p + 1;
    if (a == stop || *a == ':') {
        ljh__msg(errmsg, errlen, "invalid URL: no host");
        return LJH_E_INVALID_URL;
    }
    if (!req->query.ptr) {
        /* Nothing to rewrite: libcurl parses the URL when the transfer
         * starts and reports a malformed one as CURLE_URL_MALFORMAT
         * (invalid_url); a second parse here would cost more than the
         * rest of the plan. */
        plan->url = ljh__dup_str(&req->url);
        return plan->url ? LJH_OK : LJH_E_OUT_OF_MEMORY;
    }
    ljh_error err = LJH_E_OUT_OF_MEMORY;
    char *url = ljh__dup_str(&req->url);
    char *query = NULL, *full = NULL, *host = NULL;
    CURLU *u = curl_url();
    if (!url || !u)
        goto out;
    CURLUcode uc = curl_url_set(u, CURLUPART_URL, url, 0);
    if (uc != CURLUE_OK) {
        err = uc == CURLUE_OUT_OF_MEMORY ? LJH_E_OUT_OF_MEMORY : LJH_E_INVALID_URL;
        ljh__msg(errmsg, errlen, "invalid URL: %s", curl_url_strerror(uc));
        goto out;
    }
    if ((uc = curl_url_get(u, CURLUPART_HOST, &host, 0)) != CURLUE_OK || !host[0]) {
        if (uc == CURLUE_OUT_OF_MEMORY)
            goto out;
        err = LJH_E_INVALID_URL;
        ljh__msg(errmsg, errlen, "invalid URL: no host");
        goto out;
    }
    if (req->query.ptr) {
        if (!bytes_ok_in_url(req->query.ptr, req->query.len) ||
            memchr(req->query.ptr, '#', req->query.len)) {
            err = LJH_E_INVALID_ARGUMENT;
            ljh__msg(errmsg, errlen, "query must not contain spaces, '#' or control characters");
            goto out;
        }
        /* Like Go's client: the query option replaces the URL's query;
         * with LJH_F_QUERY_APPEND (a query table) it is added after it. */
        int append = (req->flags & LJH_F_QUERY_APPEND) != 0;
        if (req->query.len == 0) {
            uc = append ? CURLUE_OK : curl_url_set(u, CURLUPART_QUERY, NULL, 0);
        } else {
            query = ljh__dup_str(&req->query);
            if (!query)
                goto out;
            uc = curl_url_set(u, CURLUPART_QUERY, query, append ? CURLU_APPENDQUERY : 0);
        }
        if (uc != CURLUE_OK) {
            err = uc == CURLUE_OUT_OF_MEMORY ? LJH_E_OUT_OF_MEMORY : LJH_E_INVALID_ARGUMENT;
            ljh__msg(errmsg, errlen, "invalid query: %s", curl_url_strerror(uc));
            goto out;
        }
    }
    if (!req->query.ptr) {
        /* Parsed and valid as given: keep it, libcurl parses it again. */
        plan->url = url;
        url = NULL;
    } else {
        if (curl_url_get(u, CURLUPART_URL, &full, 0) != CURLUE_OK)
            goto out;
        plan->url = ljh__dup(full, strlen(full));
    }
    if (plan->url)
        err = LJH_OK;
out:
    free(url);
    free(query);
    curl_free(full);
    curl_free(host);
    curl_url_cleanup(u);
    return err;
}

static ljh_error add_headers(ljh_plan *plan, const ljh_request *req, char *errmsg, size_t errlen)
{
    int n = req->n_headers;
    if (n < 0 || n > LJH_MAX_REQ_HEADERS || (n > 0 && !req->headers)) {
        ljh__msg(errmsg, errlen, "too many request headers (at most %d)", LJH_MAX_REQ_HEADERS);
        return LJH_E_INVALID_ARGUMENT;
    }
    if (n == 0)
        return LJH_OK;
    plan->hdr_lines = calloc((size_t)n, sizeof *plan->hdr_lines);
    plan->hdr_sensitive = calloc((size_t)n, 1);
    if (!plan->hdr_lines || !plan->hdr_sensitive)
        return LJH_E_OUT_OF_MEMORY;
    size_t total = 0;
    char shown[128];
    for (int i = 0; i < n; i++) {
        const ljh_kv *kv = &req->headers[i];
        if (kv->name_len < 0 || kv->value_len < 0 || !kv->name ||
            !ljh__is_token(kv->name, (size_t)kv->name_len)) {
            show(kv->name ? kv->name : "", kv->name && kv->name_len > 0 ? (size_t)kv->name_len : 0,
                 shown, sizeof shown);
            ljh__msg(errmsg, errlen, "invalid header name \"%s\"", shown);
            return LJH_E_INVALID_ARGUMENT;
        }
        size_t nl = (size_t)kv->name_len, vl = (size_t)kv->value_len;
        show(kv->name, nl, shown, sizeof shown);
        if (!ljh__is_header_value(kv->value, vl)) {
            ljh__msg(errmsg, errlen,
                     "invalid value for header \"%s\": it contains CR, LF, NUL or "
                     "another control character",
                     shown);
            return LJH_E_INVALID_ARGUMENT;
        }
        total += nl + vl + 4;
        if (total > LJH_MAX_REQ_HEADER_BYTES) {
            ljh__msg(errmsg, errlen, "request headers are too large (at most %d bytes)",
                     LJH_MAX_REQ_HEADER_BYTES);
            return LJH_E_INVALID_ARGUMENT;
        }
        if (ljh__header_is(kv->name, nl, "transfer-encoding")) {
            ljh__msg(errmsg, errlen, "header \"Transfer-Encoding\" is set by ljhttp, not by callers");
            return LJH_E_INVALID_ARGUMENT;
        }
        if (ljh__header_is(kv->name, nl, "content-length") && (req->flags & LJH_F_BODY_PULL)) {
            /* a pulled body's size: libcurl sends it, and no more bytes */
            int64_t size = 0;
            size_t d = 0;
            for (; d < vl && d < 18 && kv->value[d] >= '0' && kv->value[d] <= '9'; d++)
                size = size * 10 + (kv->value[d] - '0');
            if (d == 0 || d != vl) {
                ljh__msg(errmsg, errlen, "header \"Content-Length\" must be a number of bytes");
                return LJH_E_INVALID_ARGUMENT;
            }
            plan->pull_size = size;
            continue;
        }
        if (ljh__header_is(kv->name, nl, "content-length")) {
            if (req->body_file.ptr || req->n_parts) {
                ljh__msg(errmsg, errlen, "header \"Content-Length\" is set by ljhttp for "
                                         "body_file and multipart");
                return LJH_E_INVALID_ARGUMENT;
            }
            /* libcurl sends the true length; a caller's value may only agree. */
            char want[32];
            snprintf(want, sizeof want, "%zu", plan->has_body ? plan->body_len : (size_t)0);
            if (vl != strlen(want) || memcmp(kv->value, want, vl) != 0) {
                ljh__msg(errmsg, errlen, "header \"Content-Length\" disagrees with the body (%s bytes)",
                         want);
                return LJH_E_INVALID_ARGUMENT;
            }
            continue;
        }
        if (ljh__header_is(kv->name, nl, "connection") &&
            !ljh__header_is(kv->value, vl, "close") &&
            !ljh__header_is(kv->value, vl, "keep-alive")) {
            ljh__msg(errmsg, errlen, "header \"Connection\" may only be \"close\" or \"keep-alive\"");
            return LJH_E_INVALID_ARGUMENT;
        }
        if (ljh__header_is(kv->name, nl, "content-type"))
            plan->has_content_type = 1;
        unsigned char sensitive = (unsigned char)(ljh__header_is(kv->name, nl, "authorization") ||
                                                  ljh__header_is(kv->name, nl, "cookie") ||
                                                  ljh__header_is(kv->name, nl, "proxy-authorization") ||
                                                  /* a Host meant for the first origin */
                                                  ljh__header_is(kv->name, nl, "host"));
        /* "Name;" is libcurl's way to send an empty header ("Name:" would
         * delete it). */
        char *line = malloc(nl + vl + 3);
        if (!line)
            return LJH_E_OUT_OF_MEMORY;
        memcpy(line, kv->name, nl);
        if (vl == 0) {
            line[nl] = ';';
            line[nl + 1] = '\0';
        } else {
            line[nl] = ':';
            line[nl + 1] = ' ';
            memcpy(line + nl + 2, kv->value, vl);
            line[nl + 2 + vl] = '\0';
        }
        plan->hdr_sensitive[plan->n_hdr] = sensitive;
        plan->hdr_lines[plan->n_hdr++] = line;
    }
    return LJH_OK;
}

static ljh_error add_cookies(ljh_plan *plan, const ljh_request *req, char *errmsg, size_t errlen)
{
    int n = req->n_cookies;
    if (n < 0 || n > LJH_MAX_COOKIES || (n > 0 && !req->cookies)) {
        ljh__msg(errmsg, errlen, "too many cookies (at most %d)", LJH_MAX_COOKIES);
        return LJH_E_INVALID_ARGUMENT;
    }
    if (n == 0)
        return LJH_OK;
    ljh_buf b = {0};
    char shown[128];
    for (int i = 0; i < n; i++) {
        const ljh_kv *kv = &req->cookies[i];
        if (kv->name_len < 0 || kv->value_len < 0 || !kv->name ||
            !ljh__is_token(kv->name, (size_t)kv->name_len)) {
            show(kv->name ? kv->name : "", kv->name && kv->name_len > 0 ? (size_t)kv->name_len : 0,
                 shown, sizeof shown);
            ljh__msg(errmsg, errlen, "invalid cookie name \"%s\"", shown);
            ljh__buf_free(&b);
            return LJH_E_INVALID_ARGUMENT;
        }
        if (!ljh__is_cookie_value(kv->value, (size_t)kv->value_len)) {
            show(kv->name, (size_t)kv->name_len, shown, sizeof shown);
            ljh__msg(errmsg, errlen,
                     "invalid value for cookie \"%s\": spaces, quotes, ';', ',', '\\' and "
                     "control characters are not allowed",
                     shown);
            ljh__buf_free(&b);
            return LJH_E_INVALID_ARGUMENT;
        }
        if ((i && ljh__buf_append(&b, "; ", 2)) ||
            ljh__buf_append(&b, kv->name, (size_t)kv->name_len) || ljh__buf_append(&b, "=", 1) ||
            ljh__buf_append(&b, kv->value, (size_t)kv->value_len)) {
            ljh__buf_free(&b);
            return LJH_E_OUT_OF_MEMORY;
        }
        if (b.len > LJH_MAX_REQ_HEADER_BYTES) {
            ljh__msg(errmsg, errlen, "cookies are too large (at most %d bytes)",
                     LJH_MAX_REQ_HEADER_BYTES);
            ljh__buf_free(&b);
            return LJH_E_INVALID_ARGUMENT;
        }
    }
    plan->cookie = ljh__buf_steal(&b);
    return plan->cookie ? LJH_OK : LJH_E_OUT_OF_MEMORY;
}

static ljh_error add_auth(ljh_plan *plan, const ljh_request *req, char *errmsg, size_t errlen)
{
    if (!req->user.ptr && !req->pass.ptr)
        return LJH_OK;
    if (!req->user.ptr || !req->pass.ptr) {
        ljh__msg(errmsg, errlen, "auth needs both user and pass");
        return LJH_E_INVALID_ARGUMENT;
    }
    if (ljh__has_ctl(req->user.ptr, req->user.len) || ljh__has_ctl(req->pass.ptr, req->pass.len)) {
        ljh__msg(errmsg, errlen, "auth user and pass must not contain control characters");
        return LJH_E_INVALID_ARGUMENT;
    }
    plan->user = ljh__dup_str(&req->user);
    plan->pass = ljh__dup_str(&req->pass);
    return plan->user && plan->pass ? LJH_OK : LJH_E_OUT_OF_MEMORY;
}

static ljh_error add_method(ljh_plan *plan, const ljh_request *req, char *errmsg, size_t errlen)
{
    char shown[128];
    const ljh_str *m = &req->method;
    if (!m->ptr || m->len == 0 || m->len > LJH_MAX_METHOD_LEN || !ljh__is_token(m->ptr, m->len)) {
        show(m->ptr ? m->ptr : "", m->ptr ? m->len : 0, shown, sizeof shown);
        ljh__msg(errmsg, errlen, "invalid method \"%s\": it must be an HTTP token of 1 to %d bytes",
                 shown, LJH_MAX_METHOD_LEN);
        return LJH_E_INVALID_ARGUMENT;
    }
    plan->method = ljh__dup_str(m);
    if (!plan->method)
        return LJH_E_OUT_OF_MEMORY;
    for (char *p = plan->method; *p; p++)
        if (*p >= 'a' && *p <= 'z')
            *p = (char)(*p - 32);
    return LJH_OK;
}

static ljh_error add_durations(ljh_plan *plan, const ljh_request *req, char *errmsg, size_t errlen)
{
    struct {
        const ljh_duration *d;
        int64_t *out;
        int64_t dflt;
    } items[] = {
        {&req->timeout, &plan->timeout_ms, 0},
        {&req->connect_timeout, &plan->connect_timeout_ms, LJH_DEFAULT_CONNECT_TIMEOUT_MS},
        {&req->idle_timeout, &plan->idle_timeout_ms, LJH_DEFAULT_IDLE_TIMEOUT_MS},
    };
    for (size_t i = 0; i < sizeof items / sizeof items[0]; i++) {
        ljh_error rc = ljh__duration_ms(items[i].d, items[i].out, errmsg, errlen);
        if (rc != LJH_OK)
            return rc;
        if (!items[i].d->is_set || (*items[i].out == 0 && items[i].dflt))
            *items[i].out = items[i].dflt;
    }
    return LJH_OK;
}

#define ONE_BODY "give only one request body: body (or form, json), multipart or body_file"

/* The in-memory body: the caller's bytes (borrowed by a blocking call,
 * else copied), or the json tape printed here. Before the headers, which
 * check a caller's Content-Length against it. */
static ljh_error add_body(ljh_plan *plan, const ljh_request *req, int borrow_body, char *errmsg,
                          size_t errlen)
{
    if (req->n_json > 0) {
        if (req->body.ptr || req->body_file.ptr || req->n_parts) {
            ljh__msg(errmsg, errlen, ONE_BODY);
            return LJH_E_INVALID_ARGUMENT;
        }
        ljh_error err = ljh__json_body(req, &plan->owned_body, &plan->body_len, errmsg, errlen);
        if (err)
            return err;
        plan->has_body = 1;
        plan->body = plan->owned_body;
        return LJH_OK;
    }
    if (!req->body.ptr)
        return LJH_OK;
    plan->has_body = 1;
    plan->body_len = req->body.len;
    if (borrow_body) {
        plan->body = req->body.ptr;
        return LJH_OK;
    }
    plan->owned_body = ljh__dup_str(&req->body);
    if (!plan->owned_body)
        return LJH_E_OUT_OF_MEMORY;
    plan->body = plan->owned_body;
    return LJH_OK;
}

ljh_error ljh__plan_init(ljh_plan *plan, const ljh_request *req, int borrow_body,
                         char *errmsg, size_t errlen)
{
    memset(plan, 0, sizeof *plan);
    if (!req) {
        ljh__msg(errmsg, errlen, "no request");
        return LJH_E_INVALID_ARGUMENT;
    }
    plan->pull_size = -1;
    ljh_error err = add_method(plan, req, errmsg, errlen);
    if (err)
        return err;
    if (!req->url.ptr || req->url.len == 0) {
        ljh__msg(errmsg, errlen, "unsupported protocol scheme \"\"" NO_SCHEME_HINT);
        return LJH_E_UNSUPPORTED_SCHEME;
    }
    size_t ul = req->url.len;
    if (ul > LJH_MAX_URL_LEN) {
        ljh__msg(errmsg, errlen, "URL is too long (at most %d bytes)", LJH_MAX_URL_LEN);
        return LJH_E_INVALID_ARGUMENT;
    }
    if (!bytes_ok_in_url(req->url.ptr, ul)) {
        ljh__msg(errmsg, errlen, "URL must not contain spaces or control characters (CR, LF, NUL...)");
        return LJH_E_INVALID_ARGUMENT;
    }
    if ((err = check_scheme(req->url.ptr, ul, "", errmsg, errlen)) ||
        (err = build_url(plan, req, errmsg, errlen)) ||
        (err = add_body(plan, req, borrow_body, errmsg, errlen)) ||
        (err = add_headers(plan, req, errmsg, errlen)) ||
        (err = add_cookies(plan, req, errmsg, errlen)) ||
        (err = add_auth(plan, req, errmsg, errlen)) ||
        (err = add_durations(plan, req, errmsg, errlen)) ||
        (err = ljh__transport_init(&plan->transport, req, errmsg, errlen)) ||
        (err = ljh__bodies_init(&plan->bodies, req, errmsg, errlen)))
        return err;
    if (req->flags & LJH_F_BODY_PULL) {
        if (plan->has_body || req->body_file.ptr || req->n_parts) {
            ljh__msg(errmsg, errlen, ONE_BODY);
            return LJH_E_INVALID_ARGUMENT;
        }
        plan->pull = 1;
    }
    plan->max_body = req->max_body_size == 0 ? LJH_DEFAULT_MAX_BODY : req->max_body_size;
    plan->max_redirects = req->max_redirects < 0 ? LJH_DEFAULT_MAX_REDIRECTS : req->max_redirects;
    plan->flags = req->flags;
    return LJH_OK;
}

void ljh__plan_free(ljh_plan *plan)
{
    free(plan->method);
    free(plan->url);
    free(plan->origin);
    free(plan->owned_body);
    for (int i = 0; i < plan->n_hdr; i++)
        free(plan->hdr_lines[i]);
    free(plan->hdr_lines);
    free(plan->hdr_sensitive);
    free(plan->cookie);
    if (plan->pass)
        memset(plan->pass, 0, strlen(plan->pass));
    free(plan->user);
    free(plan->pass);
    ljh__transport_free(&plan->transport);
    ljh__bodies_free(&plan->bodies);
    memset(plan, 0, sizeof *plan);
}

static int method_is(const ljh_plan *plan, const char *m)
{
    return strcmp(plan->method, m) == 0;
}

struct curl_slist *ljh__plan_headers(const ljh_plan *plan)
{
    struct curl_slist *list = NULL, *next;
    /* Expect: 100-continue only for large file and multipart uploads
     * (bodies.h), and no Content-Type nobody asked for (libcurl adds one
     * for POST bodies). */
    const char *fixed[] = {ljh__bodies_expect(&plan->bodies) ? "Expect: 100-continue" : "Expect:",
                           plan->has_content_type ||
                                              ljh__bodies_sets_content_type(&plan->bodies)
                                          ? NULL
                                          : "Content-Type:"};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        if (!fixed[i])
            continue;
        if (!(next = curl_slist_append(list, fixed[i])))
            goto oom;
        list = next;
    }
    for (int i = 0; i < plan->n_hdr; i++) {
        if (plan->cross_origin && plan->hdr_sensitive[i])
            continue;
        if (!(next = curl_slist_append(list, plan->hdr_lines[i])))
            goto oom;
        list = next;
    }
    return list;
oom:
    curl_slist_free_all(list);
    return NULL;
}

CURLcode ljh__plan_apply(ljh_plan *plan, CURL *easy, int64_t elapsed_ms)
{
    CURLcode rc;
    LJH_SETOPT(easy, CURLOPT_URL, plan->url);
    LJH_SETOPT(easy, CURLOPT_NOSIGNAL, 1L);
    LJH_SETOPT(easy, CURLOPT_PROTOCOLS_STR, "http,https");
    LJH_SETOPT(easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    LJH_SETOPT(easy, CURLOPT_FOLLOWLOCATION, 0L); /* hops are ours: see ljh__plan_redirect */
    if (method_is(plan, "HEAD")) {
        LJH_SETOPT(easy, CURLOPT_NOBODY, 1L);
    } else if (plan->pull) {
        /* the engine's read callback (engine.c) supplies the bytes */
        LJH_SETOPT(easy, CURLOPT_POST, 1L);
        LJH_SETOPT(easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)plan->pull_size);
        if (!method_is(plan, "POST"))
            LJH_SETOPT(easy, CURLOPT_CUSTOMREQUEST, plan->method);
    } else if (plan->has_body || method_is(plan, "POST") || method_is(plan, "PUT") ||
               method_is(plan, "PATCH")) {
        /* A POST/PUT/PATCH without a body still sends Content-Length: 0. */
        LJH_SETOPT(easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(plan->has_body ? plan->body_len : 0));
        LJH_SETOPT(easy, CURLOPT_POSTFIELDS, plan->has_body ? plan->body : "");
        if (!method_is(plan, "POST"))
            LJH_SETOPT(easy, CURLOPT_CUSTOMREQUEST, plan->method);
    } else if (!method_is(plan, "GET")) {
        LJH_SETOPT(easy, CURLOPT_CUSTOMREQUEST, plan->method);
    }
    if (plan->cookie && !plan->cross_origin)
        LJH_SETOPT(easy, CURLOPT_COOKIE, plan->cookie);
    if (plan->user && !plan->cross_origin) {
        LJH_SETOPT(easy, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        LJH_SETOPT(easy, CURLOPT_USERNAME, plan->user);
        LJH_SETOPT(easy, CURLOPT_PASSWORD, plan->pass);
    }
    if (plan->timeout_ms > 0) {
        int64_t left = plan->timeout_ms - elapsed_ms;
        if (left < 1)
            left = 1;
        LJH_SETOPT(easy, CURLOPT_TIMEOUT_MS, (long)left);
    }
    LJH_SETOPT(easy, CURLOPT_CONNECTTIMEOUT_MS, (long)plan->connect_timeout_ms);
    if (plan->idle_timeout_ms > 0) {
        /* "Below 1 byte/s for N seconds" is libcurl's stall detector. */
        LJH_SETOPT(easy, CURLOPT_LOW_SPEED_LIMIT, 1L);
        LJH_SETOPT(easy, CURLOPT_LOW_SPEED_TIME, (long)((plan->idle_timeout_ms + 999) / 1000));
    }
    /* A HEAD response announces a length it never sends: libcurl would
     * refuse it against MAXFILESIZE. write_cb still guards real bodies. */
    if (plan->max_body > 0 && !method_is(plan, "HEAD"))
        LJH_SETOPT(easy, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)plan->max_body);
    if (plan->flags & LJH_F_INSECURE) {
        LJH_SETOPT(easy, CURLOPT_SSL_VERIFYPEER, 0L);
        LJH_SETOPT(easy, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if ((rc = ljh__transport_apply(&plan->transport, plan->flags, easy)) != CURLE_OK)
        return rc;
    return ljh__bodies_apply(&plan->bodies, easy, plan->method);
}

ljh_error ljh__plan_redirect(ljh_plan *plan, const char *location, int status,
                             char *errmsg, size_t errlen)
{
    ljh_error err = check_scheme(location, strlen(location), "redirect to ", errmsg, errlen);
    if (err)
        return err;
    CURLU *u = curl_url();
    char *origin = NULL, *url = NULL;
    if (!u)
        return LJH_E_OUT_OF_MEMORY;
    CURLUcode uc = curl_url_set(u, CURLUPART_URL, location, 0);
    if (uc != CURLUE_OK) {
        curl_url_cleanup(u);
        ljh__msg(errmsg, errlen, "redirect to an invalid URL: %s", curl_url_strerror(uc));
        return LJH_E_INVALID_URL;
    }
    origin = origin_of(u);
    url = ljh__dup(location, strlen(location));
    curl_url_cleanup(u);
    if (!plan->origin) {
        /* The first origin, computed only once a redirect needs it. */
        CURLU *first = curl_url();
        if (first && curl_url_set(first, CURLUPART_URL, plan->url, 0) == CURLUE_OK)
            plan->origin = origin_of(first);
        curl_url_cleanup(first);
    }
    if (!origin || !url || !plan->origin) {
        free(origin);
        free(url);
        return LJH_E_OUT_OF_MEMORY;
    }
    /* Once the chain leaves the first origin, credentials stay behind for
     * good: a -> b -> a must not hand them back either. */
    if (strcmp(origin, plan->origin) != 0)
        plan->cross_origin = 1;
    free(origin);
    free(plan->url);
    plan->url = url;
    /* Go's rule: 301/302/303 continue as GET (HEAD stays HEAD) without the
     * body; 307/308 keep method and body. */
    if ((status == 301 || status == 302 || status == 303) && !method_is(plan, "GET") &&
        !method_is(plan, "HEAD")) {
        char *get = ljh__dup("GET", 3);
        if (!get)
            return LJH_E_OUT_OF_MEMORY;
        free(plan->method);
        plan->method = get;
        free(plan->owned_body);
        plan->owned_body = NULL;
        ljh__bodies_drop(&plan->bodies);
        plan->body = NULL;
        plan->body_len = 0;
        plan->has_body = 0;
        plan->pull = 0;
    }
    return LJH_OK;
}
