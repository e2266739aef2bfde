-- Generated from cdef/ljhttp.h (section ws) by tools/gen-cdef.sh (make). Do not edit.
return [==[
typedef struct ljh_ws ljh_ws;
enum {
    LJH_WS_CONNECTING = 0,
    LJH_WS_OPEN = 1,
    LJH_WS_CLOSING = 2,
    LJH_WS_CLOSED = 3
};
enum {
    LJH_WS_TEXT = 1,
    LJH_WS_BINARY = 2,
    LJH_WS_PING = 3,
    LJH_WS_PONG = 4
};
enum {
    LJH_WS_WANT_READ = 1,
    LJH_WS_WANT_WRITE = 2
};
typedef struct ljh_ws_state {
    int64_t fd;
    int64_t buffered;
    int32_t state;
    int32_t want;
    int32_t timeout_ms;
    int32_t queued;
    int32_t error;
    int32_t close_code;
    char close_reason[124];
    char errmsg[256];
} ljh_ws_state;
ljh_ws *ljh_ws_open(ljh_client *c, const ljh_request *req, int64_t max_message);
int32_t ljh_ws_run(ljh_ws *ws, int32_t wait_ms, ljh_ws_state *out);
int32_t ljh_ws_take(ljh_ws *ws, const char **data, size_t *len, int32_t *kind);
int32_t ljh_ws_send(ljh_ws *ws, const char *data, size_t len, int32_t kind);
int32_t ljh_ws_close(ljh_ws *ws, int32_t code, const char *reason, size_t len);
ljh_response *ljh_ws_response(ljh_ws *ws);
void ljh_ws_free(ljh_ws *ws);
int32_t ljh_ws_open_to(ljh_client *c, const ljh_request *req, int64_t max_message, ljh_ws **slot);
void ljh_ws_free_slot(ljh_ws **slot);
ljh_response *ljh_ws_response_ref(ljh_ws *ws);
]==]
