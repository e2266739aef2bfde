/* retry: the policy of options.retries (transport.c reads the options):
 * which failures are tried again, and after how long. */
#include <string.h>

#include "engine.h"

static int idempotent(const char *m)
{
    static const char *const ok[] = {"GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (strcmp(m, ok[i]) == 0)
            return 1;
    return 0;
}

/* Retry only what cannot have reached the application twice with a
 * different outcome: idempotent methods, after a refused connection, a
 * timeout before any response byte, or a 429/503 answer. */
int64_t ljh__retry_delay(ljh_transfer *t, CURLcode rc)
{
    const ljh_plan *p = &t->plan;
    int idle = t->fault.code == LJH_E_TIMEOUT; /* ljh__xferinfo_cb's idle_timeout */
    if (t->attempts >= p->transport.retries || !idempotent(p->method) ||
        (t->fault.code && !idle) || (p->pull && t->body_used))
        return -1;
    long status = 0;
    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
    int retryable = (rc == CURLE_COULDNT_CONNECT && !idle) ||
                    ((rc == CURLE_OPERATION_TIMEDOUT || idle) && status == 0 && t->hop_bytes == 0) ||
                    (rc == CURLE_OK && !idle && (status == 429 || status == 503));
    if (!retryable)
        return -1;
    int64_t delay = p->transport.retry_delay_ms;
    for (int i = 0; i < t->attempts && delay < 60000; i++)
        delay *= 2;
    size_t len;
    const char *ra = rc == CURLE_OK ? ljh__collect_find(&t->col, "retry-after", &len) : NULL;
    if (ra) {
        /* Only the seconds form; an HTTP date falls back to our delay. */
        int64_t secs = 0;
        size_t i = 0;
        for (; i < len && i < 6 && ra[i] >= '0' && ra[i] <= '9'; i++)
            secs = secs * 10 + (ra[i] - '0');
        if (i == len && len > 0)
            delay = secs * 1000 > 60000 ? 60000 : secs * 1000;
    }
    if (p->timeout_ms > 0 && ljh__now_ms() - t->started_ms + delay >= p->timeout_ms)
        return -1;
    return delay;
}

