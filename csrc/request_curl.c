/* request_curl: a plan's current hop as libcurl options (the header list
 * and the options of the easy handle). The plan was validated by
 * request.c: nothing here refuses anything. */
#include "request.h"
#include "setopt.h"

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
    ljh__slist_free_wiped(list);
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
    if (ljh__method_is(plan, "HEAD")) {
        LJH_SETOPT(easy, CURLOPT_NOBODY, 1L);
    } else if (plan->pull) {
        /* the engine's read callback (engine.c) supplies the bytes */
        LJH_SETOPT(easy, CURLOPT_POST, 1L);
        LJH_SETOPT(easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)plan->pull_size);
        if (!ljh__method_is(plan, "POST"))
            LJH_SETOPT(easy, CURLOPT_CUSTOMREQUEST, plan->method);
    } else if (plan->has_body || ljh__method_is(plan, "POST") || ljh__method_is(plan, "PUT") ||
               ljh__method_is(plan, "PATCH")) {
        /* A POST/PUT/PATCH without a body still sends Content-Length: 0. */
        LJH_SETOPT(easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(plan->has_body ? plan->body_len : 0));
        LJH_SETOPT(easy, CURLOPT_POSTFIELDS, plan->has_body ? plan->body : "");
        if (!ljh__method_is(plan, "POST"))
            LJH_SETOPT(easy, CURLOPT_CUSTOMREQUEST, plan->method);
    } else if (!ljh__method_is(plan, "GET")) {
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
    if (plan->max_body > 0 && !ljh__method_is(plan, "HEAD"))
        LJH_SETOPT(easy, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)plan->max_body);
    if (plan->flags & LJH_F_INSECURE) {
        LJH_SETOPT(easy, CURLOPT_SSL_VERIFYPEER, 0L);
        LJH_SETOPT(easy, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if ((rc = ljh__transport_apply(&plan->transport, plan->flags, easy)) != CURLE_OK)
        return rc;
    return ljh__bodies_apply(&plan->bodies, easy, plan->method);
}
