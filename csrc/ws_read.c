/* ws_read: frames from the server into whole messages (RFC 6455 5): heads
 * checked, fragments joined, control frames answered, text checked for
 * UTF-8. */
#include <string.h>

#include "ws_internal.h"

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
        ljh__ws_breach(ws, 1002, "a WebSocket close frame with a one-byte payload");
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
    ljh__ws_queue_close(ws, n >= 2 ? ws->close_code : 0, NULL, 0); /* RFC 6455 5.5.1 */
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
        if (!ws->we_closed && ljh__ws_push_out(ws, 10, ws->ctl.p, ws->ctl.len) == 0)
            ws->out_payload -= ws->ctl.len; /* not the caller's bytes */
        break;
    case 10:
        if (push_in(ws, LJH_WS_PONG, ws->ctl.p ? ws->ctl.p : "", ws->ctl.len) != 0)
            ljh__ws_fail(ws, LJH_E_OUT_OF_MEMORY, "%s", "out of memory queueing a pong");
        break;
    default:
        if (!h->fin)
            break;
        if (ws->cur_kind == LJH_WS_TEXT &&
            !ljh__utf8_valid((unsigned char *)ws->cur.p, ws->cur.len)) {
            ljh__ws_breach(ws, 1007, "a WebSocket text message that is not UTF-8");
            return;
        }
        if (push_in(ws, (uint32_t)ws->cur_kind, ws->cur.p ? ws->cur.p : "", ws->cur.len) != 0) {
            ljh__ws_fail(ws, LJH_E_OUT_OF_MEMORY, "%s", "out of memory queueing a message");
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
        ljh__ws_breach(ws, 1002, "a masked frame from the server");
    else if (h->rsv)
        ljh__ws_breach(ws, 1002, "a WebSocket frame with reserved bits set (no extension was agreed)");
    else if (control && (!h->fin || h->len > 125))
        ljh__ws_breach(ws, 1002, "a fragmented or long WebSocket control frame");
    else if (control && h->opcode > 10)
        ljh__ws_breach(ws, 1002, "an unknown WebSocket control frame");
    else if (!control && h->opcode > 2)
        ljh__ws_breach(ws, 1002, "an unknown WebSocket data frame");
    else if (h->opcode == 0 && !ws->cur_kind)
        ljh__ws_breach(ws, 1002, "a WebSocket continuation frame without a message");
    else if ((h->opcode == 1 || h->opcode == 2) && ws->cur_kind)
        ljh__ws_breach(ws, 1002, "a new WebSocket message inside a fragmented one");
    else if (!control && ws->max_message >= 0 &&
             (uint64_t)ws->cur.len + h->len > (uint64_t)ws->max_message) {
        char m[128];
        ljh__msg(m, sizeof m, "a WebSocket message is larger than max_message_size (%lld bytes)",
                 (long long)ws->max_message);
        ljh__ws_breach(ws, 1009, m);
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
void ljh__ws_parse(ljh_ws *ws)
{
    while (ws->state != LJH_WS_CLOSED && !ws->peer_closed) {
        size_t avail = ws->rx.len - ws->rx_off;
        const unsigned char *p = (const unsigned char *)ws->rx.p + ws->rx_off;
        if (!ws->have_head) {
            int hl = ljh__ws_parse_head(p, avail, &ws->head);
            if (hl < 0) {
                ljh__ws_breach(ws, 1002, "a WebSocket frame length over 2^63");
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
            ljh__ws_fail(ws, LJH_E_OUT_OF_MEMORY, "%s", "out of memory joining a WebSocket message");
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
