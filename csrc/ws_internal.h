/* ws_internal: what ws.c (connection, socket, public face), ws_handshake.c
 * (the upgrade request and answer) and ws_read.c (frames in) share. */
#ifndef LJHTTP_WS_INTERNAL_H
#define LJHTTP_WS_INTERNAL_H

#include "internal.h"
#include "utf8.h"
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

/* ws.c */
void ljh__ws_fail(ljh_ws *ws, ljh_error code, const char *fmt, const char *arg);
/* Queues one frame (masked) for the socket; 0 or -1 when out of memory. */
int ljh__ws_push_out(ljh_ws *ws, int opcode, const char *data, size_t len);
void ljh__ws_queue_close(ljh_ws *ws, int32_t code, const char *reason, size_t len);
/* A protocol breach by the server: a close frame with code, and the end. */
void ljh__ws_breach(ljh_ws *ws, int32_t code, const char *why);
/* ws_handshake.c */
int ljh__ws_build_request(ljh_ws *ws);
void ljh__ws_read_answer(ljh_ws *ws, size_t head_len, size_t total);
/* ws_read.c: moves parsed bytes from rx into messages */
void ljh__ws_parse(ljh_ws *ws);

#endif
