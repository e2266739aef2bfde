/* request: what the request files share. request.c validates an
 * ljh_request into an ljh_plan, request_url.c makes and moves its URL
 * (the first hop, each redirect), request_curl.c hands the plan to
 * libcurl. The plan itself and the engine's entry points: internal.h. */
#ifndef LJHTTP_REQUEST_H
#define LJHTTP_REQUEST_H

#include <string.h>

#include "internal.h"

/* A short printable rendering of untrusted bytes for messages. */
void ljh__show(const char *s, size_t n, char *out, size_t cap);
/* Checks req->url (length, bytes, scheme, host), applies req->query and
 * stores the URL of the first hop in plan->url. */
ljh_error ljh__plan_url(ljh_plan *plan, const ljh_request *req, char *errmsg, size_t errlen);

/* plan->method: one of the common methods points at static text (no
 * allocation per request); free it with this, never with free(). */
const char *ljh__method_static(const char *upper, size_t len);
void ljh__method_free(char *method);

static inline int ljh__method_is(const ljh_plan *plan, const char *m)
{
    return strcmp(plan->method, m) == 0;
}

#endif
