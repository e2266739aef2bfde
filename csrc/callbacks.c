/* callbacks: what libcurl calls during a transfer (header lines, body
 * bytes, upload pieces, progress, trace). They only touch C memory; what
 * Lua must see is queued for ljh_client_ready. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "engine.h"

/* Status and headers of the current answer as a response with no body,
 * from copies: the transfer keeps collecting into its own buffers. */
static ljh_response *pack_head(ljh_transfer *t)
{
    ljh_collect copy;
    memset(&copy, 0, sizeof copy);
    const ljh_buf *from[] = {&t->col.hdr_text, &t->col.hdr_refs, &t->col.redir_text,
                             &t->col.redir_refs};
    ljh_buf *to[] = {&copy.hdr_text, &copy.hdr_refs, &copy.redir_text, &copy.redir_refs};
    ljh_response *r = NULL;
    for (size_t i = 0; i < sizeof from / sizeof from[0]; i++)
        if (from[i]->len && ljh__buf_append(to[i], from[i]->p, from[i]->len) != 0)
            goto out;
    r = ljh__response_pack(&copy, t->easy);
out:
    ljh__collect_free(&copy);
    return r;
}

size_t ljh__header_cb(char *data, size_t size, size_t nmemb, void *userp)
{
    ljh_transfer *t = userp;
    size_t n = size * nmemb;
    t->idle_moved = 1; /* header bytes count for idle_timeout */
    int was_done = t->col.headers_done;
    size_t heads = t->col.n_informational;
    ljh_error err = ljh__collect_header(&t->col, data, n);
    if (err) {
        ljh__fault_set(&t->fault, err, err == LJH_E_PROTOCOL ? t->col.abort_why : NULL);
        return 0;
    }
    if (!t->col.headers_done) {
        if (t->col.n_informational != heads) /* a status line */
            t->follow = 0;
        return n;
    }
    /* The answer's head is complete (or a trailer line came): its status,
     * read once for the checks below. */
    long status = 0;
    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
    if (!was_done) {
        /* RFC 9112 6.3: both framings at once is how responses get split;
         * refuse it rather than pick one. */
        size_t len;
        if (status >= 200 && ljh__collect_find(&t->col, "transfer-encoding", &len) &&
            ljh__collect_find(&t->col, "content-length", &len)) {
            ljh__fault_set(&t->fault, LJH_E_PROTOCOL,
                           "the response has both Content-Length and Transfer-Encoding");
            return 0;
        }
    }
    if (t->col.n_informational != heads) { /* a status line */
        t->follow = 0;
    } else if (!(t->plan.flags & LJH_F_NO_FOLLOW)) {
        size_t len;
        t->follow = (status == 301 || status == 302 || status == 303 || status == 307 ||
                     status == 308) &&
                    ljh__collect_find(&t->col, "location", &len) != NULL && len > 0;
    }
    if ((t->plan.flags & LJH_F_STREAM) && !t->head_ready && !t->follow) {
        /* The answer a stream will deliver (not a 1xx, a redirect being
         * followed or a 429/503 about to be retried): tell Lua.
         * (a status over 999 is refused when the transfer ends) */
        if (status >= 200 && status <= 999 && ljh__retry_delay(t, CURLE_OK) < 0) {
            /* Packed now: the transfer may be over before Lua asks. */
            t->head_ready = 1;
            ljh_response_free(t->head);
            t->head = pack_head(t);
            ljh__push_ready(t);
        }
    }
    return n;
}

/* The run budget: 1 when this write must wait for the next run. */
static int over_budget(ljh_transfer *t, size_t n)
{
    ljh_client *c = t->client;
    if (!c || c->budget < 0 || t->sync)
        return 0;
    if (c->budget == 0 || ljh__now_ms() >= c->budget_end_ms) {
        c->budget = 0;
        if (!t->budget_paused) {
            t->budget_paused = 1;
            c->n_budget_paused++;
        }
        return 1;
    }
    c->budget = (int64_t)n >= c->budget ? 0 : c->budget - (int64_t)n;
    return 0;
}

/* Body bytes (decoded when options.decompress) to options.output, the
 * stream or the body, within max_body_size. */
static ljh_error keep_bytes(ljh_transfer *t, const char *data, size_t n)
{
    if (t->plan.bodies.output && !t->follow) {
        /* options.output: a 2xx body goes to the file, with its own limit */
        ljh_error oerr;
        if (ljh__bodies_output(&t->plan.bodies, t->easy, data, n, &oerr)) {
            if (oerr)
                return oerr;
            t->hop_bytes += (int64_t)n;
            return LJH_OK;
        }
    }
    int64_t max = t->plan.max_body;
    if (max > 0 && (int64_t)n > max - t->hop_bytes)
        return LJH_E_TOO_LARGE;
    if (t->follow || ((t->plan.flags & LJH_F_STREAM) && !t->head_ready)) {
        /* a redirect's own body is of no use, nor a retried answer's */
        t->hop_bytes += (int64_t)n;
        return LJH_OK;
    }
    ljh_buf *b = (t->plan.flags & LJH_F_STREAM) ? &t->stream : &t->col.body;
    if (b->cap == 0 && b == &t->col.body) {
        /* One allocation for bodies of known size. */
        curl_off_t cl = -1;
        curl_easy_getinfo(t->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
        if (cl > 0 && (max <= 0 || cl <= max))
            ljh__buf_reserve(b, (size_t)cl);
    }
    if (ljh__buf_append(b, data, n) != 0)
        return LJH_E_OUT_OF_MEMORY;
    t->hop_bytes += (int64_t)n;
    if (b == &t->stream)
        ljh__push_ready(t);
    return LJH_OK;
}

static ljh_error decoded_cb(void *ctx, const char *data, size_t n)
{
    return keep_bytes(ctx, data, n);
}

size_t ljh__write_cb(char *data, size_t size, size_t nmemb, void *userp)
{
    ljh_transfer *t = userp;
    size_t n = size * nmemb;
    if (!t->follow && over_budget(t, n))
        return CURL_WRITEFUNC_PAUSE; /* (before decoding: a paused write comes again) */
    int kept = !t->follow && !((t->plan.flags & LJH_F_STREAM) && !t->head_ready);
    if (kept && (t->plan.flags & LJH_F_STREAM) && t->stream.len >= LJH_STREAM_HIGH_WATER) {
        /* Lua is behind: stop reading until ljh_transfer_take (before
         * decoding: a paused write comes again). */
        t->paused = 1;
        return CURL_WRITEFUNC_PAUSE;
    }
    ljh_error err = LJH_OK;
    if (kept && (t->plan.flags & LJH_F_DECOMPRESS) && ljh__decoding_accept()) {
        if (!t->dec_ready) { /* the answer's first body bytes */
            const char *why = NULL;
            t->dec_ready = 1;
            err = ljh__collect_decoder(&t->col, &t->dec, &why);
            if (err == LJH_E_PROTOCOL)
                ljh__fault_set(&t->fault, err, why);
        }
        if (!err && t->dec) {
            err = ljh__decoder_feed(t->dec, data, n, decoded_cb, t);
            if (err == LJH_E_PROTOCOL)
                ljh__fault_set(&t->fault, err, ljh__decoder_why(t->dec));
            goto out;
        }
    }
    if (!err)
        err = keep_bytes(t, data, n);
out:
    if (err) {
        ljh__fault_set(&t->fault, err, NULL);
        return 0;
    }
    return n;
}

/* LJH_F_BODY_PULL: libcurl asks for body bytes. What Lua fed goes out;
 * with nothing left the upload pauses and the id is queued, so Lua pulls
 * the next piece from its body function and feeds it (no call into Lua). */
size_t ljh__pull_read_cb(char *buf, size_t size, size_t nitems, void *userp)
{
    ljh_transfer *t = userp;
    size_t left = t->upload.len - t->upload_off;
    if (left > 0) {
        size_t n = size * nitems < left ? size * nitems : left;
        memcpy(buf, t->upload.p + t->upload_off, n);
        t->upload_off += n;
        t->body_used = 1;
        return n;
    }
    if (t->body_end)
        return 0;
    t->want_body = 1;
    ljh__push_ready(t);
    return CURL_READFUNC_PAUSE;
}

/* idle_timeout to the second. libcurl's own low-speed check averages the
 * speed over 5 s, so a stall after a few bytes took idle_timeout + 5 s to
 * notice. While a low-speed limit is set (request.c sets one) libcurl
 * calls this at least once a second, also when nothing arrives. The clock
 * starts once the request is on its way: connecting has connect_timeout. */
int ljh__xferinfo_cb(void *userp, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    (void)dltotal;
    (void)ultotal;
    ljh_transfer *t = userp;
    if (!t || !t->easy || t->plan.idle_timeout_ms <= 0)
        return 0;
    curl_off_t moved = dlnow + ulnow;
    if (!t->idle_sent) { /* once it is, it stays so for this hop */
        curl_off_t pre = 0;
        if (curl_easy_getinfo(t->easy, CURLINFO_PRETRANSFER_TIME_T, &pre) == CURLE_OK && pre == 0) {
            /* Not on its way yet: no clock read; the call that sees it
             * sent starts the clock (idle_bytes -1 never matches). */
            t->idle_bytes = -1;
            return 0;
        }
        t->idle_sent = 1;
    }
    int64_t now = ljh__now_ms();
    if (moved != t->idle_bytes || t->idle_moved || t->paused || t->budget_paused) {
        t->idle_bytes = moved;
        t->idle_moved = 0;
        t->idle_ref_ms = now;
        return 0;
    }
    if (now - t->idle_ref_ms < t->plan.idle_timeout_ms)
        return 0;
    ljh__fault_set(&t->fault, LJH_E_TIMEOUT, NULL);
    return 1;
}

/* Masks a credential shown in a text line, as libcurl's HTTP/2 code logs
 * every request header ("h2h3 [authorization: Basic ...]"): returns the
 * bytes to keep (through the colon), or n when there is nothing to hide. */
static size_t text_secret(const char *data, size_t n)
{
    static const char *const secret[] = {"[authorization:", "[proxy-authorization:", "[cookie:"};
    for (size_t i = 0; i < sizeof secret / sizeof secret[0]; i++) {
        size_t sl = strlen(secret[i]);
        for (size_t at = 0; at + sl <= n; at++)
            if (strncasecmp(data + at, secret[i], sl) == 0)
                return at + sl;
    }
    return n;
}

/* libcurl's trace for verbose = true: text, and headers both ways with
 * credentials masked; never the body. Capped at LJH_MAX_TRACE. */
int ljh__debug_cb(CURL *easy, curl_infotype type, char *data, size_t size, void *userp)
{
    (void)easy;
    ljh_transfer *t = userp;
    ljh_buf *b = &t->col.trace;
    const char *prefix;
    switch (type) {
    case CURLINFO_TEXT: prefix = "* "; break;
    case CURLINFO_HEADER_IN: prefix = "< "; break;
    case CURLINFO_HEADER_OUT: prefix = "> "; break;
    default: return 0;
    }
    while (size && b->len < LJH_MAX_TRACE) {
        const char *nl = memchr(data, '\n', size);
        size_t n = nl ? (size_t)(nl - data) + 1 : size;
        size_t keep = n;
        static const char *const secret[] = {"authorization:", "proxy-authorization:", "cookie:"};
        for (size_t i = 0; i < sizeof secret / sizeof secret[0]; i++) {
            size_t sl = strlen(secret[i]);
            if (type == CURLINFO_HEADER_OUT && n > sl && strncasecmp(data, secret[i], sl) == 0)
                keep = sl;
        }
        if (type == CURLINFO_TEXT)
            keep = text_secret(data, n);
        if (b->len + n + 8 > LJH_MAX_TRACE)
            break;
        ljh__buf_append(b, prefix, 2);
        ljh__buf_append(b, data, keep);
        if (keep != n)
            ljh__buf_append(b, " ***\n", 5);
        data += n;
        size -= n;
    }
    return 0;
}
