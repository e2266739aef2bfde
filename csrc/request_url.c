/* request_url: the URL of each hop. The first one is checked (http or
 * https, a host, no stray bytes) and gets the query option; a redirect's
 * Location becomes the next hop, leaving credentials behind once the
 * chain changes origin and turning the method into GET where Go does. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "request.h"
#include "strs.h"

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
    ljh__show(url, sl, shown, sizeof shown);
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

/* Checks that the URL (already scheme-checked) names a host and stores
 * it in plan->url; with a query option, parsed and rewritten by libcurl. */
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
    if (curl_url_get(u, CURLUPART_URL, &full, 0) != CURLUE_OK)
        goto out;
    plan->url = ljh__dup(full, strlen(full));
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

ljh_error ljh__plan_url(ljh_plan *plan, const ljh_request *req, char *errmsg, size_t errlen)
{
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
    ljh_error err = check_scheme(req->url.ptr, ul, "", errmsg, errlen);
    return err ? err : build_url(plan, req, errmsg, errlen);
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
    if ((status == 301 || status == 302 || status == 303) && !ljh__method_is(plan, "GET") &&
        !ljh__method_is(plan, "HEAD")) {
        ljh__method_free(plan->method);
        plan->method = (char *)ljh__method_static("GET", 3);
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
