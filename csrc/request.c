/* request: validate what Lua filled in an ljh_request and copy what the
 * transfer keeps into an ljh_plan: method, URL (request_url.c), body,
 * headers, cookies, auth, timeouts, transport and body options. Nothing
 * reaches libcurl before it has passed here; request_curl.c then turns
 * the plan into libcurl options for each hop. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "json_body.h"
#include "request.h"
#include "strs.h"

/* A short printable rendering of untrusted bytes for messages. */
void ljh__show(const char *s, size_t n, char *out, size_t cap)
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

/* A header's or a cookie's name must be a token (what names which in the
 * message); 1 (errmsg written) when it is not. */
static int bad_name(const ljh_kv *kv, const char *what, char *errmsg, size_t errlen)
{
    if (kv->name_len >= 0 && kv->value_len >= 0 && kv->name &&
        ljh__is_token(kv->name, (size_t)kv->name_len))
        return 0;
    char shown[128];
    ljh__show(kv->name ? kv->name : "", kv->name && kv->name_len > 0 ? (size_t)kv->name_len : 0,
              shown, sizeof shown);
    ljh__msg(errmsg, errlen, "invalid %s name \"%s\"", what, shown);
    return 1;
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
        if (bad_name(kv, "header", errmsg, errlen))
            return LJH_E_INVALID_ARGUMENT;
        size_t nl = (size_t)kv->name_len, vl = (size_t)kv->value_len;
        ljh__show(kv->name, nl, shown, sizeof shown);
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
    /* Every cookie checked and the line measured first, in the order the
     * errors are reported, then the line written into one allocation:
     * no partial copy to free and no copy left behind by a realloc
     * (the values are credentials: ljh__plan_wipe). */
    size_t len = 0;
    char shown[128];
    for (int i = 0; i < n; i++) {
        const ljh_kv *kv = &req->cookies[i];
        if (bad_name(kv, "cookie", errmsg, errlen))
            return LJH_E_INVALID_ARGUMENT;
        if (!ljh__is_cookie_value(kv->value, (size_t)kv->value_len)) {
            ljh__show(kv->name, (size_t)kv->name_len, shown, sizeof shown);
            ljh__msg(errmsg, errlen,
                     "invalid value for cookie \"%s\": spaces, quotes, ';', ',', '\\' and "
                     "control characters are not allowed",
                     shown);
            return LJH_E_INVALID_ARGUMENT;
        }
        len += (i ? 2 : 0) + (size_t)kv->name_len + 1 + (size_t)kv->value_len;
        if (len > LJH_MAX_REQ_HEADER_BYTES) {
            ljh__msg(errmsg, errlen, "cookies are too large (at most %d bytes)",
                     LJH_MAX_REQ_HEADER_BYTES);
            return LJH_E_INVALID_ARGUMENT;
        }
    }
    ljh_buf b = {0};
    if (ljh__buf_reserve(&b, len) != 0) /* the appends below fit: none can fail */
        return LJH_E_OUT_OF_MEMORY;
    for (int i = 0; i < n; i++) {
        const ljh_kv *kv = &req->cookies[i];
        if (i)
            ljh__buf_append(&b, "; ", 2);
        ljh__buf_append(&b, kv->name, (size_t)kv->name_len);
        ljh__buf_append(&b, "=", 1);
        ljh__buf_append(&b, kv->value, (size_t)kv->value_len);
    }
    plan->cookie = ljh__buf_steal(&b);
    return LJH_OK;
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

static const char *const common_methods[] = {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH",
                                              "OPTIONS"};

const char *ljh__method_static(const char *m, size_t len)
{
    for (size_t i = 0; i < sizeof common_methods / sizeof common_methods[0]; i++)
        if (strlen(common_methods[i]) == len && strncasecmp(m, common_methods[i], len) == 0)
            return common_methods[i];
    return NULL;
}

void ljh__method_free(char *method)
{
    for (size_t i = 0; i < sizeof common_methods / sizeof common_methods[0]; i++)
        if (method == common_methods[i])
            return;
    free(method);
}

static ljh_error add_method(ljh_plan *plan, const ljh_request *req, char *errmsg, size_t errlen)
{
    char shown[128];
    const ljh_str *m = &req->method;
    if (!m->ptr || m->len == 0 || m->len > LJH_MAX_METHOD_LEN || !ljh__is_token(m->ptr, m->len)) {
        ljh__show(m->ptr ? m->ptr : "", m->ptr ? m->len : 0, shown, sizeof shown);
        ljh__msg(errmsg, errlen, "invalid method \"%s\": it must be an HTTP token of 1 to %d bytes",
                 shown, LJH_MAX_METHOD_LEN);
        return LJH_E_INVALID_ARGUMENT;
    }
    const char *common = ljh__method_static(m->ptr, m->len);
    if (common) {
        plan->method = (char *)common; /* read only: see ljh__method_free */
        return LJH_OK;
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
    if ((err = ljh__plan_url(plan, req, errmsg, errlen)) ||
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

/* The plan's own credentials (the transport's are wiped by its free). */
static void wipe_own(ljh_plan *plan)
{
    for (int i = 0; i < plan->n_hdr; i++)
        if (plan->hdr_sensitive[i]) /* Authorization, Cookie, ... */
            ljh__wipe_str(plan->hdr_lines[i]);
    ljh__wipe_str(plan->cookie);
    ljh__wipe_str(plan->pass);
}

void ljh__plan_wipe(ljh_plan *plan)
{
    wipe_own(plan);
    ljh__transport_wipe(&plan->transport);
}

void ljh__plan_free(ljh_plan *plan)
{
    wipe_own(plan); /* ljh__transport_free below wipes the transport's */
    ljh__method_free(plan->method);
    free(plan->url);
    free(plan->origin);
    free(plan->owned_body);
    for (int i = 0; i < plan->n_hdr; i++)
        free(plan->hdr_lines[i]);
    free(plan->hdr_lines);
    free(plan->hdr_sensitive);
    free(plan->cookie);
    free(plan->user);
    free(plan->pass);
    ljh__transport_free(&plan->transport);
    ljh__bodies_free(&plan->bodies);
    memset(plan, 0, sizeof *plan);
}
