/* ws: WebSocket connections (RFC 6455) over a connection libcurl opens.
 *
 * libcurl connects (DNS, TCP, proxy tunnel, TLS with the request's
 * options) in a connect-only transfer on a multi handle of the
 * connection's own, so a host never blocks on it. The handshake and the
 * frames are ours, sent and received with curl_easy_send/curl_easy_recv:
 * - the same code on every libcurl this library builds with (7.88's has
 *   no WebSocket; 8.x's curl_ws_recv reads whatever the socket holds into
 *   a buffer of its own, unbounded, so a slow reader could not slow a
 *   fast server);
 * - memory is bounded: the socket is read only while fewer than
 *   WS_HIGH_WATER bytes of messages wait for Lua, so the server's sends
 *   block in the kernel instead;
 * - nothing calls Lua: messages wait in C until Lua takes them, and what
 *   Lua sends waits in C until the socket takes it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "os.h"
#include "ws_internal.h"
#include "setopt.h"

/* ---- failing and closing ---- */

void ljh__ws_fail(ljh_ws *ws, ljh_error code, const char *fmt, const char *arg)
{
    if (ws->state == LJH_WS_CLOSED)
        return;
    ws->state = LJH_WS_CLOSED;
    ws->error = code;
    if (!ws->close_code)
        ws->close_code = 1006; /* no close frame: an abnormal closure */
    ljh__msg(ws->errmsg, sizeof ws->errmsg, fmt, arg ? arg : "");
}

int ljh__ws_push_out(ljh_ws *ws, int opcode, const char *data, size_t len)
{
    unsigned char head[14], mask[4];
    ljh__random(mask, 4);
    size_t hl = ljh__ws_frame_head(head, opcode, 1, len, mask);
    if (ljh__buf_reserve(&ws->out, ws->out.len + hl + len + 1) != 0)
        return -1;
    memcpy(ws->out.p + ws->out.len, head, hl);
    unsigned char *p = (unsigned char *)ws->out.p + ws->out.len + hl;
    if (len)
        memcpy(p, data, len);
    ljh__ws_mask(p, len, mask, 0);
    ws->out.len += hl + len;
    ws->out_payload += len;
    return 0;
}

void ljh__ws_queue_close(ljh_ws *ws, int32_t code, const char *reason, size_t len)
{
    if (ws->we_closed)
        return;
    char payload[125];
    size_t n = 0;
    if (code) {
        payload[0] = (char)((code >> 8) & 0xff);
        payload[1] = (char)(code & 0xff);
        n = 2 + (len > 123 ? 123 : len);
        if (n > 2)
            memcpy(payload + 2, reason, n - 2);
    }
    if (ljh__ws_push_out(ws, 8, payload, n) == 0)
        ws->we_closed = 1;
}

/* A protocol breach by the server: say so with a close frame (1002, or
 * the code given) and end. The frame is sent as far as the socket takes
 * it now (RFC 6455 7.1.7): once failed, the connection sends nothing. */
void ljh__ws_breach(ljh_ws *ws, int32_t code, const char *why)
{
    ljh__ws_queue_close(ws, code, NULL, 0);
    while (ws->easy && ws->out_off < ws->out.len) {
        size_t n = 0;
        if (curl_easy_send(ws->easy, ws->out.p + ws->out_off, ws->out.len - ws->out_off, &n) !=
                CURLE_OK || n == 0)
            break; /* full or gone: the close frame is not owed on a broken connection */
        ws->out_off += n;
    }
    ws->close_code = code;
    ljh__ws_fail(ws, code == 1009 ? LJH_E_TOO_LARGE : LJH_E_PROTOCOL, "%s", why);
}

/* ---- opening ---- */

/* The plan checks ws(s):// as http(s)://. */
static char *swap_scheme(const char *url, size_t n, const char *from, const char *to)
{
    size_t fl = strlen(from), tl = strlen(to);
    if (n < fl || strncasecmp(url, from, fl) != 0)
        return NULL;
    char *s = malloc(n - fl + tl + 1);
    if (!s)
        return NULL;
    memcpy(s, to, tl);
    memcpy(s + tl, url + fl, n - fl);
    s[n - fl + tl] = '\0';
    return s;
}

/* The handshake connection: the request's options, then connect only. */
static CURLcode ws_options(ljh_ws *ws, ljh_client *c, CURL *e)
{
    CURLcode rc = ljh__plan_apply(&ws->plan, e, 0);
    const ljh_proxy_env *pe = ljh__client_proxy_env(c);
    if (rc == CURLE_OK && pe) /* (the plan's URL is http(s):// by now) */
        rc = ljh__proxy_env_apply(pe, &ws->plan.transport, ws->plan.flags, ws->plan.url, e);
    if (rc != CURLE_OK)
        return rc;
    LJH_SETOPT(e, CURLOPT_CONNECT_ONLY, 1L);
    LJH_SETOPT(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1); /* ALPN: http/1.1 only */
    LJH_SETOPT(e, CURLOPT_HTTPPROXYTUNNEL, 1L); /* through an HTTP proxy: CONNECT, then ours */
    LJH_SETOPT(e, CURLOPT_ERRORBUFFER, ws->errbuf);
    CURLSH *share = ljh__client_share(c);
    if (share) {
        LJH_SETOPT(e, CURLOPT_SHARE, share);
        LJH_SETOPT(e, CURLOPT_COOKIEFILE, "");
    }
    return CURLE_OK;
}

ljh_ws *ljh_ws_open(ljh_client *c, const ljh_request *req, int64_t max_message)
{
    ljh_ws *ws = calloc(1, sizeof *ws);
    if (!ws)
        return NULL;
    ws->fd = CURL_SOCKET_BAD;
    ws->state = LJH_WS_CONNECTING;
    ws->max_message = max_message == 0 ? WS_DEFAULT_MAX_MESSAGE : max_message;
    ws->started_ms = ws->last_io_ms = ljh_now_ms();
    if (!c || !req || !req->url.ptr || req->url.len == 0) {
        ljh__ws_fail(ws, LJH_E_INVALID_ARGUMENT, "%s", "websocket: a client and a url are needed");
        return ws;
    }
    const char *u = req->url.ptr;
    size_t ul = req->url.len;
    char *http_url = swap_scheme(u, ul, "wss://", "https://");
    ws->secure = http_url != NULL;
    if (!http_url)
        http_url = swap_scheme(u, ul, "ws://", "http://");
    if (!http_url) {
        ljh__ws_fail(ws, LJH_E_UNSUPPORTED_SCHEME, "%s",
             "unsupported protocol scheme (a WebSocket url starts with ws:// or wss://)");
        return ws;
    }
    ljh_request r = *req;
    r.url.ptr = http_url;
    r.url.len = strlen(http_url);
    r.flags |= LJH_F_NO_FOLLOW;
    char msg[256] = "";
    ljh_error err = ljh__plan_init(&ws->plan, &r, 0, msg, sizeof msg);
    free(http_url);
    if (err) {
        ljh__ws_fail(ws, err, "%s", msg);
        return ws;
    }
    ws->easy = curl_easy_init();
    ws->multi = curl_multi_init();
    if (!ws->easy || !ws->multi) {
        ljh__ws_fail(ws, LJH_E_OUT_OF_MEMORY, "%s", "out of memory");
        return ws;
    }
    CURLcode rc = ws_options(ws, c, ws->easy);
    if (rc != CURLE_OK || curl_multi_add_handle(ws->multi, ws->easy) != CURLM_OK) {
        ljh__ws_fail(ws, rc == CURLE_OUT_OF_MEMORY ? LJH_E_OUT_OF_MEMORY : LJH_E_INTERNAL, "%s",
             "could not start the WebSocket connection");
        return ws;
    }
    return ws;
}

/* ---- the socket ---- */

static int can_read(const ljh_ws *ws)
{
    if (ws->phase == PH_ANSWER)
        return 1;
    return ws->phase == PH_FRAMES && !ws->peer_closed && ws->state != LJH_WS_CLOSED &&
           ws->in_bytes < WS_HIGH_WATER;
}

static void flush(ljh_ws *ws)
{
    while (ws->out_off < ws->out.len && ws->state != LJH_WS_CLOSED) {
        size_t n = 0;
        CURLcode rc = curl_easy_send(ws->easy, ws->out.p + ws->out_off, ws->out.len - ws->out_off, &n);
        if (rc == CURLE_AGAIN)
            return;
        if (rc != CURLE_OK) {
            ljh__ws_fail(ws, LJH_E_NETWORK, "websocket: sending failed: %s", curl_easy_strerror(rc));
            return;
        }
        ws->out_off += n;
        ws->last_io_ms = ljh_now_ms();
    }
    if (ws->out_off == ws->out.len) {
        ws->out_off = ws->out.len = 0;
        ws->out_payload = 0;
        if (ws->phase == PH_REQUEST)
            ws->phase = PH_ANSWER;
        if (ws->we_closed) {
            ws->close_flushed = 1;
            if (ws->peer_closed && ws->state != LJH_WS_CLOSED)
                ws->state = LJH_WS_CLOSED; /* both sides said it */
        }
    }
}

static void receive(ljh_ws *ws)
{
    size_t budget = WS_RUN_BUDGET;
    while (can_read(ws) && budget > 0) {
        if (ljh__buf_reserve(&ws->rx, ws->rx.len + WS_RECV_CHUNK + 1) != 0) {
            ljh__ws_fail(ws, LJH_E_OUT_OF_MEMORY, "%s", "out of memory reading a WebSocket");
            return;
        }
        size_t n = 0;
        CURLcode rc = curl_easy_recv(ws->easy, ws->rx.p + ws->rx.len, WS_RECV_CHUNK, &n);
        if (rc == CURLE_AGAIN)
            return;
        if (rc != CURLE_OK || n == 0) {
            if (rc == CURLE_OK && ws->we_closed && ws->close_flushed) {
                ws->state = LJH_WS_CLOSED; /* the server ended the TCP connection after ours */
                return;
            }
            ljh__ws_fail(ws, LJH_E_NETWORK, "%s",
                 rc == CURLE_OK ? "the WebSocket connection was closed without a close frame"
                                : curl_easy_strerror(rc));
            return;
        }
        ws->rx.len += n;
        budget = n < budget ? budget - n : 0;
        ws->last_io_ms = ljh_now_ms();
        if (ws->phase == PH_ANSWER) {
            size_t scan = ws->rx.len < WS_MAX_HEAD_BYTES ? ws->rx.len : WS_MAX_HEAD_BYTES;
            for (size_t i = 0; i + 3 < scan; i++)
                if (memcmp(ws->rx.p + i, "\r\n\r\n", 4) == 0) {
                    ljh__ws_read_answer(ws, i, ws->rx.len);
                    break;
                }
            if (ws->phase == PH_ANSWER && ws->state != LJH_WS_CLOSED &&
                ws->rx.len >= WS_MAX_HEAD_BYTES)
                ljh__ws_fail(ws, LJH_E_TOO_LARGE, "%s", "the WebSocket handshake answer's head is too large");
            if (ws->phase != PH_FRAMES)
                continue;
            /* open: the caller sees that before anything read after it
             * (even an end of the connection) */
            return;
        }
        ljh__ws_parse(ws);
    }
}

static void connect_step(ljh_ws *ws, int32_t wait_ms)
{
    int running = 0;
    if (wait_ms > 0)
        curl_multi_poll(ws->multi, NULL, 0, wait_ms, NULL);
    curl_multi_perform(ws->multi, &running);
    int left;
    CURLMsg *m;
    while ((m = curl_multi_info_read(ws->multi, &left))) {
        if (m->msg != CURLMSG_DONE || m->easy_handle != ws->easy)
            continue;
        ws->connected = 1;
        CURLcode rc = m->data.result;
        curl_socket_t s = CURL_SOCKET_BAD;
        if (rc == CURLE_OK &&
            (curl_easy_getinfo(ws->easy, CURLINFO_ACTIVESOCKET, &s) != CURLE_OK || s == CURL_SOCKET_BAD))
            rc = CURLE_COULDNT_CONNECT;
        if (rc != CURLE_OK) {
            char safe[512], msg[sizeof ws->errmsg];
            ljh__safe_url(ws->plan.url, safe, sizeof safe);
            ljh__msg(msg, sizeof msg, "websocket \"%s\": %s", safe,
                     ws->errbuf[0] ? ws->errbuf : curl_easy_strerror(rc));
            ljh_error code = ljh__error_from_curl(rc);
            ljh__ws_fail(ws, code == LJH_OK ? LJH_E_CONNECT : code, "%s", msg);
            return;
        }
        ws->fd = s;
        ws->last_io_ms = ljh_now_ms();
        if (ljh__ws_build_request(ws) != 0) {
            ljh__ws_fail(ws, LJH_E_OUT_OF_MEMORY, "%s", "out of memory building the WebSocket handshake");
            return;
        }
        ws->phase = PH_REQUEST;
    }
}

/* The handshake's own limits once libcurl's transfer is over. */
static void check_deadline(ljh_ws *ws)
{
    if (ws->state != LJH_WS_CONNECTING || ws->phase == PH_CONNECT)
        return;
    int64_t now = ljh_now_ms();
    int64_t idle = ws->plan.idle_timeout_ms > 0 ? ws->plan.idle_timeout_ms : LJH_DEFAULT_IDLE_TIMEOUT_MS;
    if ((ws->plan.timeout_ms > 0 && now - ws->started_ms >= ws->plan.timeout_ms) ||
        now - ws->last_io_ms >= idle)
        ljh__ws_fail(ws, LJH_E_TIMEOUT, "%s", "the WebSocket handshake timed out");
}

/* ---- the public face ---- */

static int32_t want_of(const ljh_ws *ws)
{
    if (ws->state == LJH_WS_CLOSED || ws->phase == PH_CONNECT)
        return 0;
    return (can_read(ws) ? 1 : 0) | (ws->out_off < ws->out.len ? 2 : 0);
}

static void fill_state(const ljh_ws *ws, ljh_ws_state *out)
{
    if (!out)
        return;
    memset(out, 0, sizeof *out);
    out->state = ws->state;
    out->error = ws->error;
    out->want = want_of(ws);
    out->fd = ws->fd == CURL_SOCKET_BAD || ws->state == LJH_WS_CLOSED ? -1 : (int64_t)ws->fd;
    out->queued = ws->in_count;
    out->buffered = (int64_t)ws->out_payload;
    out->close_code = ws->close_code;
    out->timeout_ms = -1;
    if (ws->state == LJH_WS_CONNECTING)
        out->timeout_ms = 10; /* a host without libcurl's sockets looks again soon */
    memcpy(out->close_reason, ws->close_reason, sizeof out->close_reason);
    memcpy(out->errmsg, ws->errmsg, sizeof out->errmsg);
}

static void step(ljh_ws *ws)
{
    if (ws->state == LJH_WS_CLOSED)
        return;
    int was = ws->phase;
    flush(ws);
    receive(ws);
    if (was != PH_FRAMES)
        return; /* just opened: the caller sees that before any frame */
    ljh__ws_parse(ws); /* what an earlier run left unparsed (after backpressure) */
    flush(ws); /* pongs and close answers at once */
}

int32_t ljh_ws_run(ljh_ws *ws, int32_t wait_ms, ljh_ws_state *out)
{
    if (!ws)
        return LJH_WS_CLOSED;
    if (ws->taken_end) { /* records handed out by ljh_ws_take go now */
        memmove(ws->in.p, ws->in.p + ws->taken_end, ws->in.len - ws->taken_end);
        ws->in.len -= ws->taken_end;
        ws->in_off -= ws->taken_end;
        ws->taken_end = 0;
    }
    if (ws->state != LJH_WS_CLOSED && ws->phase == PH_CONNECT) {
        connect_step(ws, wait_ms);
        wait_ms = 0;
    }
    if (ws->state != LJH_WS_CLOSED && ws->phase != PH_CONNECT) {
        int was = ws->phase;
        step(ws);
        int32_t w = want_of(ws);
        if (wait_ms > 0 && w && ws->in_count == 0 && ws->state != LJH_WS_CLOSED &&
            ws->phase == was) {
            if (ljh__os_wait_socket(ws->fd, (int)w, wait_ms) > 0)
                step(ws);
        }
    }
    check_deadline(ws);
    fill_state(ws, out);
    return ws->state;
}

int32_t ljh_ws_take(ljh_ws *ws, const char **data, size_t *len, int32_t *kind)
{
    if (!ws || !data || !len || !kind || ws->in_off >= ws->in.len)
        return 0;
    rec_head h;
    memcpy(&h, ws->in.p + ws->in_off, sizeof h);
    *data = ws->in.p + ws->in_off + sizeof h;
    *len = (size_t)h.len;
    *kind = (int32_t)h.kind;
    ws->in_off += sizeof h + (size_t)h.len;
    ws->in_bytes -= (size_t)h.len;
    ws->in_count--;
    ws->taken_end = ws->in_off;
    return 1;
}

int32_t ljh_ws_send(ljh_ws *ws, const char *data, size_t len, int32_t kind)
{
    if (!ws)
        return LJH_E_INVALID_ARGUMENT;
    if (ws->state != LJH_WS_OPEN || ws->we_closed)
        return ws->state == LJH_WS_CONNECTING ? LJH_E_INVALID_ARGUMENT : LJH_E_CLOSED;
    int op = kind == LJH_WS_TEXT ? 1 : kind == LJH_WS_BINARY ? 2 : kind == LJH_WS_PING ? 9
             : kind == LJH_WS_PONG ? 10 : -1;
    if (op < 0 || (len && !data) || (op >= 9 && len > 125))
        return LJH_E_INVALID_ARGUMENT;
    if (op == 1 && !ljh__utf8_valid((const unsigned char *)data, len))
        return LJH_E_INVALID_ARGUMENT;
    return ljh__ws_push_out(ws, op, data, len) == 0 ? LJH_OK : LJH_E_OUT_OF_MEMORY;
}

int32_t ljh_ws_close(ljh_ws *ws, int32_t code, const char *reason, size_t len)
{
    if (!ws)
        return LJH_E_INVALID_ARGUMENT;
    if (code != 0 && (code < 1000 || code > 4999 || code == 1004 || code == 1005 || code == 1006 ||
                      code == 1015))
        return LJH_E_INVALID_ARGUMENT;
    if (len > 123 || (len && !reason) || (code == 0 && len))
        return LJH_E_INVALID_ARGUMENT;
    if (ws->state == LJH_WS_CONNECTING) {
        ljh__ws_fail(ws, LJH_E_CANCELLED, "%s", "the WebSocket was closed before it opened");
        return LJH_OK;
    }
    if (ws->state != LJH_WS_OPEN)
        return LJH_OK; /* closing or closed already */
    ljh__ws_queue_close(ws, code, reason, len);
    ws->state = LJH_WS_CLOSING;
    return LJH_OK;
}

ljh_response *ljh_ws_response(ljh_ws *ws)
{
    if (!ws)
        return NULL;
    ljh_response *r = ws->handshake;
    ws->handshake = NULL;
    return r;
}

ljh_response *ljh_ws_response_ref(ljh_ws *ws)
{
    return ws ? ws->handshake : NULL;
}

int32_t ljh_ws_open_to(ljh_client *c, const ljh_request *req, int64_t max_message, ljh_ws **slot)
{
    if (!slot)
        return -1;
    ljh_ws_free_slot(slot); /* left by a caller that raised */
    *slot = ljh_ws_open(c, req, max_message);
    return *slot ? 0 : -1;
}

void ljh_ws_free_slot(ljh_ws **slot)
{
    if (slot && *slot) {
        ljh_ws *ws = *slot;
        *slot = NULL;
        ljh_ws_free(ws);
    }
}

void ljh_ws_free(ljh_ws *ws)
{
    if (!ws)
        return;
    if (ws->multi && ws->easy)
        curl_multi_remove_handle(ws->multi, ws->easy);
    if (ws->easy)
        curl_easy_cleanup(ws->easy);
    if (ws->multi)
        curl_multi_cleanup(ws->multi);
    /* also a plan ljh__plan_init left half made (refused), which holds
     * what it copied so far: ljh__plan_free takes any of them */
    ljh__plan_free(&ws->plan);
    ljh_response_free(ws->handshake);
    ljh__buf_free(&ws->rx);
    ljh__buf_free(&ws->cur);
    ljh__buf_free(&ws->ctl);
    ljh__buf_free(&ws->in);
    ljh__buf_free(&ws->out);
    free(ws);
}
