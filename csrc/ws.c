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
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"
#include "ws_frame.h"

#define WS_DEFAULT_MAX_MESSAGE ((int64_t)16 << 20)
#define WS_HIGH_WATER ((size_t)4 << 20) /* message bytes queued for Lua */
#define WS_RECV_CHUNK 65536
#define WS_RUN_BUDGET ((size_t)1 << 20) /* bytes read per run: the host's loop gets its turn */
#define WS_MAX_HEAD_BYTES 65536         /* the handshake answer's head */
#define WS_MAX_REFUSAL_BODY 65536

enum { PH_CONNECT, PH_REQUEST, PH_ANSWER, PH_FRAMES };

struct ljh_ws {
    CURLM *multi;            /* the connect-only transfer's; kept until free:
                                the connection belongs to the easy handle
                                only while it stays in it */
    CURL *easy;
    ljh_plan plan;
    int plan_ok;
    int phase;
    int connected;           /* the connect-only transfer ended */
    curl_socket_t fd;
    int64_t started_ms, last_io_ms;
    int64_t max_message;     /* < 0: no limit */
    int32_t state;
    int32_t error;
    char errmsg[256];
    char errbuf[CURL_ERROR_SIZE];
    char key[25];            /* Sec-WebSocket-Key */
    int secure;              /* wss */
    ljh_response *handshake; /* the answer's status and headers, until taken */
    ljh_buf rx;              /* bytes read, not yet parsed */
    size_t rx_off;
    ljh_ws_head head;        /* the frame being read */
    int have_head;
    uint64_t got;            /* its payload bytes read so far */
    ljh_buf cur;             /* the message being joined */
    int32_t cur_kind;        /* 0: none started */
    ljh_buf ctl;             /* a control frame's payload */
    ljh_buf in;              /* complete messages: [head][bytes] records */
    size_t in_off, in_bytes, taken_end;
    int32_t in_count;
    ljh_buf out;             /* bytes for the socket: the request, then frames */
    size_t out_off;
    size_t out_payload;      /* message bytes in out, for ljh_ws_state.buffered */
    int peer_closed, we_closed, close_flushed;
    int32_t close_code;
    char close_reason[124];
};

typedef struct rec_head {
    uint32_t kind;
    uint32_t pad;
    uint64_t len;
} rec_head;

/* ---- failing and closing ---- */

static void fail(ljh_ws *ws, ljh_error code, const char *fmt, const char *arg)
{
    if (ws->state == LJH_WS_CLOSED)
        return;
    ws->state = LJH_WS_CLOSED;
    ws->error = code;
    if (!ws->close_code)
        ws->close_code = 1006; /* no close frame: an abnormal closure */
    ljh__msg(ws->errmsg, sizeof ws->errmsg, fmt, arg ? arg : "");
}

static int push_out(ljh_ws *ws, int opcode, const char *data, size_t len)
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

static void queue_close(ljh_ws *ws, int32_t code, const char *reason, size_t len)
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
    if (push_out(ws, 8, payload, n) == 0)
        ws->we_closed = 1;
}

/* A protocol breach by the server: say so with a close frame (1002, or
 * the code given) and end. */
static void breach(ljh_ws *ws, int32_t code, const char *why)
{
    queue_close(ws, code, NULL, 0);
    ws->close_code = code;
    fail(ws, code == 1009 ? LJH_E_TOO_LARGE : LJH_E_PROTOCOL, "%s", why);
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

ljh_ws *ljh_ws_open(ljh_client *c, const ljh_request *req, int64_t max_message)
{
    ljh_ws *ws = calloc(1, sizeof *ws);
    if (!ws)
        return NULL;
    ws->fd = CURL_SOCKET_BAD;
    ws->state = LJH_WS_CONNECTING;
    ws->max_message = max_message == 0 ? WS_DEFAULT_MAX_MESSAGE : max_message;
    ws->started_ms = ws->last_io_ms = ljh_now_ms();
    if (!c || !req || !req->url || req->url_len <= 0) {
        fail(ws, LJH_E_INVALID_ARGUMENT, "%s", "websocket: a client and a url are needed");
        return ws;
    }
    const char *u = req->url;
    size_t ul = (size_t)req->url_len;
    char *http_url = swap_scheme(u, ul, "wss://", "https://");
    ws->secure = http_url != NULL;
    if (!http_url)
        http_url = swap_scheme(u, ul, "ws://", "http://");
    if (!http_url) {
        fail(ws, LJH_E_UNSUPPORTED_SCHEME, "%s",
             "unsupported protocol scheme (a WebSocket url starts with ws:// or wss://)");
        return ws;
    }
    ljh_request r = *req;
    r.url = http_url;
    r.url_len = (int32_t)strlen(http_url);
    r.flags |= LJH_F_NO_FOLLOW;
    char msg[256] = "";
    ljh_error err = ljh__plan_init(&ws->plan, &r, 0, msg, sizeof msg);
    free(http_url);
    if (err) {
        fail(ws, err, "%s", msg);
        return ws;
    }
    ws->plan_ok = 1;
    ws->easy = curl_easy_init();
    ws->multi = curl_multi_init();
    if (!ws->easy || !ws->multi) {
        fail(ws, LJH_E_OUT_OF_MEMORY, "%s", "out of memory");
        return ws;
    }
    CURL *e = ws->easy;
    CURLcode rc = ljh__plan_apply(&ws->plan, e, 0);
#define SET(opt, val)                           \
    do {                                        \
        if (rc == CURLE_OK)                     \
            rc = curl_easy_setopt(e, opt, val); \
    } while (0)
    SET(CURLOPT_CONNECT_ONLY, 1L);
    SET(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1); /* ALPN: http/1.1 only */
    SET(CURLOPT_HTTPPROXYTUNNEL, 1L); /* through an HTTP proxy: CONNECT, then ours */
    SET(CURLOPT_ERRORBUFFER, ws->errbuf);
    CURLSH *share = ljh__client_share(c);
    if (share) {
        SET(CURLOPT_SHARE, share);
        SET(CURLOPT_COOKIEFILE, "");
    }
#undef SET
    if (rc != CURLE_OK || curl_multi_add_handle(ws->multi, e) != CURLM_OK) {
        fail(ws, rc == CURLE_OUT_OF_MEMORY ? LJH_E_OUT_OF_MEMORY : LJH_E_INTERNAL, "%s",
             "could not start the WebSocket connection");
        return ws;
    }
    return ws;
}

/* ---- the handshake request ---- */

static int add(ljh_buf *b, const char *s)
{
    return ljh__buf_append(b, s, strlen(s));
}

static int has_header(const ljh_plan *p, const char *name)
{
    size_t n = strlen(name);
    for (int i = 0; i < p->n_hdr; i++)
        if (strncasecmp(p->hdr_lines[i], name, n) == 0 &&
            (p->hdr_lines[i][n] == ':' || p->hdr_lines[i][n] == ';'))
            return 1;
    return 0;
}

/* The jar's cookies for this URL: libcurl keeps them (CURLINFO_COOKIELIST
 * gives Netscape lines), the matching is RFC 6265's. */
static int add_jar_cookies(ljh_ws *ws, ljh_buf *b, const char *host, const char *path, int first)
{
    struct curl_slist *list = NULL;
    if (curl_easy_getinfo(ws->easy, CURLINFO_COOKIELIST, &list) != CURLE_OK)
        return 0;
    int64_t now = (int64_t)time(NULL);
    int rc = 0;
    for (struct curl_slist *l = list; l && rc == 0; l = l->next) {
        char line[8192];
        ljh__msg(line, sizeof line, "%s", l->data);
        char *f[7];
        int nf = 0;
        for (char *s = line, *t; nf < 7 && (t = strsep(&s, "\t"));)
            f[nf++] = t;
        if (nf < 7)
            continue;
        const char *dom = f[0];
        if (strncmp(dom, "#HttpOnly_", 10) == 0)
            dom += 10;
        int sub = strcmp(f[1], "TRUE") == 0;
        if (*dom == '.') {
            dom++;
            sub = 1;
        }
        size_t hl = strlen(host), dl = strlen(dom);
        int dom_ok = strcasecmp(host, dom) == 0 ||
                     (sub && hl > dl && strcasecmp(host + hl - dl, dom) == 0 && host[hl - dl - 1] == '.');
        size_t pl = strlen(f[2]);
        int path_ok = strncmp(path, f[2], pl) == 0 &&
                      (path[pl] == '\0' || path[pl] == '/' || (pl && f[2][pl - 1] == '/'));
        int64_t exp = strtoll(f[4], NULL, 10);
        if (!dom_ok || !path_ok || (strcmp(f[3], "TRUE") == 0 && !ws->secure) ||
            (exp != 0 && exp < now))
            continue;
        if ((!first && add(b, "; ")) || add(b, f[5]) || add(b, "=") || add(b, f[6]))
            rc = -1;
        first = 0;
    }
    curl_slist_free_all(list);
    return rc;
}

static int build_request(ljh_ws *ws)
{
    CURLU *u = curl_url();
    char *host = NULL, *port = NULL, *path = NULL, *query = NULL;
    int rc = -1;
    if (!u || curl_url_set(u, CURLUPART_URL, ws->plan.url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK)
        goto out;
    curl_url_get(u, CURLUPART_PORT, &port, 0); /* absent: the default */
    curl_url_get(u, CURLUPART_QUERY, &query, 0);
    unsigned char raw[16];
    ljh__random(raw, sizeof raw);
    ljh__base64(raw, sizeof raw, ws->key);
    ljh_buf *b = &ws->out;
    if (add(b, "GET ") || add(b, path) || (query && (add(b, "?") || add(b, query))) ||
        add(b, " HTTP/1.1\r\n"))
        goto out;
    if (!has_header(&ws->plan, "Host") &&
        (add(b, "Host: ") || add(b, host) || (port && (add(b, ":") || add(b, port))) ||
         add(b, "\r\n")))
        goto out;
    if (add(b, "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
               "Sec-WebSocket-Key: ") ||
        add(b, ws->key) || add(b, "\r\n"))
        goto out;
    if (ws->plan.user && !has_header(&ws->plan, "Authorization")) {
        size_t ul = strlen(ws->plan.user), pl = strlen(ws->plan.pass ? ws->plan.pass : "");
        char *cred = malloc(ul + pl + 2), *b64 = malloc(4 * ((ul + pl + 3) / 3) + 1);
        int bad = !cred || !b64;
        if (!bad) {
            memcpy(cred, ws->plan.user, ul);
            cred[ul] = ':';
            memcpy(cred + ul + 1, ws->plan.pass ? ws->plan.pass : "", pl);
            ljh__base64((unsigned char *)cred, ul + pl + 1, b64);
            bad = add(b, "Authorization: Basic ") || add(b, b64) || add(b, "\r\n");
            memset(cred, 0, ul + pl + 1);
        }
        free(cred);
        free(b64);
        if (bad)
            goto out;
    }
    size_t mark = b->len;
    if (add(b, "Cookie: ") || (ws->plan.cookie && add(b, ws->plan.cookie)) ||
        add_jar_cookies(ws, b, host, path, ws->plan.cookie == NULL))
        goto out;
    if (b->len == mark + 8)
        b->len = mark; /* no cookie at all */
    else if (add(b, "\r\n"))
        goto out;
    static const char *const ours[] = {"Upgrade", "Connection", "Sec-WebSocket-Key",
                                       "Sec-WebSocket-Version", "Sec-WebSocket-Extensions"};
    for (int i = 0; i < ws->plan.n_hdr; i++) {
        const char *line = ws->plan.hdr_lines[i];
        size_t nl = strcspn(line, ":;");
        int skip = line[nl] == ':' && line[nl + 1] == '\0'; /* "Name:" removes a default */
        for (size_t k = 0; k < sizeof ours / sizeof ours[0] && !skip; k++)
            skip = strlen(ours[k]) == nl && strncasecmp(line, ours[k], nl) == 0;
        if (skip)
            continue;
        if (line[nl] == ';') { /* "Name;": the header with an empty value */
            if (ljh__buf_append(b, line, nl) || add(b, ":\r\n"))
                goto out;
        } else if (add(b, line) || add(b, "\r\n")) {
            goto out;
        }
    }
    rc = add(b, "\r\n");
out:
    curl_free(host);
    curl_free(port);
    curl_free(path);
    curl_free(query);
    curl_url_cleanup(u);
    return rc;
}

/* ---- the handshake answer ---- */

static int token_in(const char *value, size_t n, const char *token)
{
    size_t tl = strlen(token);
    for (size_t i = 0; i + tl <= n; i++)
        if (strncasecmp(value + i, token, tl) == 0 && (i == 0 || strchr(" ,\t", value[i - 1])) &&
            (i + tl == n || strchr(" ,\t", value[i + tl])))
            return 1;
    return 0;
}

/* Parses the head ending at end (exclusive of the blank line). */
static void read_answer(ljh_ws *ws, size_t head_len, size_t total)
{
    ljh_collect col;
    memset(&col, 0, sizeof col);
    const char *p = ws->rx.p, *end = p + head_len;
    int status = 0, minor = -1;
    char tail;
    if (sscanf(p, "HTTP/1.%d %3d%c", &minor, &status, &tail) < 2 || status < 100 || status > 999 ||
        (minor != 0 && minor != 1)) {
        fail(ws, LJH_E_PROTOCOL, "%s", "the WebSocket handshake was not answered with HTTP/1.x");
        return;
    }
    for (const char *line = p; line < end;) {
        const char *eol = memchr(line, '\n', (size_t)(end - line));
        size_t len = eol ? (size_t)(eol - line) + 1 : (size_t)(end - line);
        ljh_error err = ljh__collect_header(&col, line, len);
        if (err) {
            ljh__collect_free(&col);
            fail(ws, err, "%s", "the WebSocket handshake answer's headers were refused");
            return;
        }
        line += len;
    }
    ljh__collect_header(&col, "\r\n", 2);
    size_t vl;
    const char *upgrade = ljh__collect_find(&col, "upgrade", &vl);
    int ok_up = upgrade && token_in(upgrade, vl, "websocket");
    const char *conn = ljh__collect_find(&col, "connection", &vl);
    int ok_conn = conn && token_in(conn, vl, "upgrade");
    const char *accept = ljh__collect_find(&col, "sec-websocket-accept", &vl);
    char want[29];
    ljh__ws_accept(ws->key, want);
    int ok_accept = accept && vl == 28 && memcmp(accept, want, 28) == 0;
    int ext = ljh__collect_find(&col, "sec-websocket-extensions", &vl) != NULL;
    if (status != 101) {
        /* a refusal: what of its body came with the head is the caller's */
        size_t body = total - head_len - 4;
        const char *cl = ljh__collect_find(&col, "content-length", &vl);
        if (cl) {
            unsigned long long n = strtoull(cl, NULL, 10);
            if (n < body)
                body = (size_t)n;
        }
        if (body > WS_MAX_REFUSAL_BODY)
            body = WS_MAX_REFUSAL_BODY;
        ljh__buf_append(&col.body, ws->rx.p + head_len + 4, body);
    }
    ws->handshake = ljh__response_pack(&col, ws->easy);
    ljh__collect_free(&col);
    if (ws->handshake) {
        ws->handshake->status = status;
        ws->handshake->http_version = 10 + minor;
    }
    char safe[512], m[sizeof ws->errmsg];
    ljh__safe_url(ws->plan.url, safe, sizeof safe);
    if (status != 101) {
        ljh__msg(m, sizeof m, "websocket \"%s\": the handshake was answered with status %d", safe,
                 status);
        fail(ws, LJH_E_PROTOCOL, "%s", m);
    } else if (!ok_up || !ok_conn || !ok_accept || ext) {
        ljh__msg(m, sizeof m, "websocket \"%s\": the 101 answer is not a WebSocket upgrade (%s)",
                 safe, !ok_up ? "Upgrade" : !ok_conn ? "Connection"
                                          : !ok_accept ? "Sec-WebSocket-Accept"
                                                       : "an extension nobody asked for");
        fail(ws, LJH_E_PROTOCOL, "%s", m);
    } else {
        ws->state = LJH_WS_OPEN;
        ws->phase = PH_FRAMES;
        ws->rx_off = head_len + 4; /* frames that came with the answer stay */
    }
}

/* ---- frames in ---- */

static int push_in(ljh_ws *ws, uint32_t kind, const char *data, size_t len)
{
    rec_head h = {kind, 0, (uint64_t)len};
    if (ljh__buf_reserve(&ws->in, ws->in.len + sizeof h + len + 1) != 0)
        return -1;
    memcpy(ws->in.p + ws->in.len, &h, sizeof h);
    if (len)
        memcpy(ws->in.p + ws->in.len + sizeof h, data, len);
    ws->in.len += sizeof h + len;
    ws->in_bytes += len;
    ws->in_count++;
    return 0;
}

static void got_close(ljh_ws *ws, const unsigned char *p, size_t n)
{
    ws->peer_closed = 1;
    if (n == 1) {
        breach(ws, 1002, "a WebSocket close frame with a one-byte payload");
        return;
    }
    if (n >= 2) {
        ws->close_code = (p[0] << 8) | p[1];
        size_t rl = n - 2 < sizeof ws->close_reason - 1 ? n - 2 : sizeof ws->close_reason - 1;
        memcpy(ws->close_reason, p + 2, rl);
        ws->close_reason[rl] = '\0';
    } else {
        ws->close_code = 1005; /* no status in the close frame */
    }
    queue_close(ws, n >= 2 ? ws->close_code : 0, NULL, 0); /* RFC 6455 5.5.1 */
    if (ws->state == LJH_WS_OPEN)
        ws->state = LJH_WS_CLOSING;
}

static void frame_done(ljh_ws *ws)
{
    ljh_ws_head *h = &ws->head;
    ws->have_head = 0;
    switch (h->opcode) {
    case 8:
        got_close(ws, (unsigned char *)ws->ctl.p, ws->ctl.len);
        break;
    case 9: /* RFC 6455 5.5.3: the pong carries the ping's payload */
        if (!ws->we_closed && push_out(ws, 10, ws->ctl.p, ws->ctl.len) == 0)
            ws->out_payload -= ws->ctl.len; /* not the caller's bytes */
        break;
    case 10:
        if (push_in(ws, LJH_WS_PONG, ws->ctl.p ? ws->ctl.p : "", ws->ctl.len) != 0)
            fail(ws, LJH_E_OUT_OF_MEMORY, "%s", "out of memory queueing a pong");
        break;
    default:
        if (!h->fin)
            break;
        if (ws->cur_kind == LJH_WS_TEXT &&
            !ljh__utf8_valid((unsigned char *)ws->cur.p, ws->cur.len)) {
            breach(ws, 1007, "a WebSocket text message that is not UTF-8");
            return;
        }
        if (push_in(ws, (uint32_t)ws->cur_kind, ws->cur.p ? ws->cur.p : "", ws->cur.len) != 0) {
            fail(ws, LJH_E_OUT_OF_MEMORY, "%s", "out of memory queueing a message");
            return;
        }
        ws->cur.len = 0;
        ws->cur_kind = 0;
    }
    ws->ctl.len = 0;
}

static int start_frame(ljh_ws *ws)
{
    ljh_ws_head *h = &ws->head;
    int control = h->opcode >= 8;
    if (h->masked)
        breach(ws, 1002, "a masked frame from the server");
    else if (h->rsv)
        breach(ws, 1002, "a WebSocket frame with reserved bits set (no extension was agreed)");
    else if (control && (!h->fin || h->len > 125))
        breach(ws, 1002, "a fragmented or long WebSocket control frame");
    else if (control && h->opcode > 10)
        breach(ws, 1002, "an unknown WebSocket control frame");
    else if (!control && h->opcode > 2)
        breach(ws, 1002, "an unknown WebSocket data frame");
    else if (h->opcode == 0 && !ws->cur_kind)
        breach(ws, 1002, "a WebSocket continuation frame without a message");
    else if ((h->opcode == 1 || h->opcode == 2) && ws->cur_kind)
        breach(ws, 1002, "a new WebSocket message inside a fragmented one");
    else if (!control && ws->max_message >= 0 &&
             (uint64_t)ws->cur.len + h->len > (uint64_t)ws->max_message) {
        char m[128];
        ljh__msg(m, sizeof m, "a WebSocket message is larger than max_message_size (%lld bytes)",
                 (long long)ws->max_message);
        breach(ws, 1009, m);
    } else {
        if (h->opcode == 1 || h->opcode == 2)
            ws->cur_kind = h->opcode == 1 ? LJH_WS_TEXT : LJH_WS_BINARY;
        ws->got = 0;
        ws->have_head = 1;
        return 0;
    }
    return -1;
}

/* Moves parsed bytes from rx into messages. */
static void parse(ljh_ws *ws)
{
    while (ws->state != LJH_WS_CLOSED && !ws->peer_closed) {
        size_t avail = ws->rx.len - ws->rx_off;
        const unsigned char *p = (const unsigned char *)ws->rx.p + ws->rx_off;
        if (!ws->have_head) {
            int hl = ljh__ws_parse_head(p, avail, &ws->head);
            if (hl < 0) {
                breach(ws, 1002, "a WebSocket frame length over 2^63");
                return;
            }
            if (hl == 0 || start_frame(ws) != 0)
                break;
            ws->rx_off += (size_t)hl;
            continue;
        }
        uint64_t want = ws->head.len - ws->got;
        size_t take = avail < want ? avail : (size_t)want;
        ljh_buf *dst = ws->head.opcode >= 8 ? &ws->ctl : &ws->cur;
        if (take && ljh__buf_append(dst, (const char *)p, take) != 0) {
            fail(ws, LJH_E_OUT_OF_MEMORY, "%s", "out of memory joining a WebSocket message");
            return;
        }
        ws->rx_off += take;
        ws->got += take;
        if (ws->got < ws->head.len)
            break;
        frame_done(ws);
    }
    if (ws->rx_off == ws->rx.len) {
        ws->rx_off = ws->rx.len = 0;
    } else if (ws->rx_off > WS_RECV_CHUNK) {
        memmove(ws->rx.p, ws->rx.p + ws->rx_off, ws->rx.len - ws->rx_off);
        ws->rx.len -= ws->rx_off;
        ws->rx_off = 0;
    }
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
            fail(ws, LJH_E_NETWORK, "websocket: sending failed: %s", curl_easy_strerror(rc));
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
            fail(ws, LJH_E_OUT_OF_MEMORY, "%s", "out of memory reading a WebSocket");
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
            fail(ws, LJH_E_NETWORK, "%s",
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
                    read_answer(ws, i, ws->rx.len);
                    break;
                }
            if (ws->phase == PH_ANSWER && ws->state != LJH_WS_CLOSED &&
                ws->rx.len >= WS_MAX_HEAD_BYTES)
                fail(ws, LJH_E_TOO_LARGE, "%s", "the WebSocket handshake answer's head is too large");
            if (ws->phase != PH_FRAMES)
                continue;
            /* open: the caller sees that before anything read after it
             * (even an end of the connection) */
            return;
        }
        parse(ws);
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
            fail(ws, code == LJH_OK ? LJH_E_CONNECT : code, "%s", msg);
            return;
        }
        ws->fd = s;
        ws->last_io_ms = ljh_now_ms();
        if (build_request(ws) != 0) {
            fail(ws, LJH_E_OUT_OF_MEMORY, "%s", "out of memory building the WebSocket handshake");
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
        fail(ws, LJH_E_TIMEOUT, "%s", "the WebSocket handshake timed out");
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
    parse(ws); /* what an earlier run left unparsed (after backpressure) */
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
            struct pollfd p = {ws->fd, (short)(((w & 1) ? POLLIN : 0) | ((w & 2) ? POLLOUT : 0)), 0};
            if (poll(&p, 1, wait_ms) > 0)
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
    return push_out(ws, op, data, len) == 0 ? LJH_OK : LJH_E_OUT_OF_MEMORY;
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
        fail(ws, LJH_E_CANCELLED, "%s", "the WebSocket was closed before it opened");
        return LJH_OK;
    }
    if (ws->state != LJH_WS_OPEN)
        return LJH_OK; /* closing or closed already */
    queue_close(ws, code, reason, len);
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
    if (ws->plan_ok)
        ljh__plan_free(&ws->plan);
    ljh_response_free(ws->handshake);
    ljh__buf_free(&ws->rx);
    ljh__buf_free(&ws->cur);
    ljh__buf_free(&ws->ctl);
    ljh__buf_free(&ws->in);
    ljh__buf_free(&ws->out);
    free(ws);
}
