/* Internal declarations shared by the library's C files. Nothing here is
 * exported: the ABI is cdef/ljhttp.h. Data flows request.c (validate,
 * plan) -> engine.c (run transfers) -> collect.c, response.c (pack the
 * result). */
#ifndef LJHTTP_INTERNAL_H
#define LJHTTP_INTERNAL_H

#include <curl/curl.h>
#include <stddef.h>
#include <stdint.h>

#include "ljhttp.h"

#define LJH_VERSION "0.1.0"

/* Limits on what callers send (refused with LJH_E_INVALID_ARGUMENT). */
#define LJH_MAX_URL_LEN (1024 * 1024)
#define LJH_MAX_METHOD_LEN 32
#define LJH_MAX_REQ_HEADERS 1000
#define LJH_MAX_REQ_HEADER_BYTES (256 * 1024)
#define LJH_MAX_COOKIES 1000

/* Limits on what servers send (LJH_E_TOO_LARGE / LJH_E_PROTOCOL). */
#define LJH_MAX_RESP_HEADERS 1000
#define LJH_MAX_RESP_HEADER_BYTES (256 * 1024)
#define LJH_MAX_INFORMATIONAL 10000

/* Defaults for options the caller leaves unset. */
#define LJH_DEFAULT_MAX_BODY ((int64_t)256 * 1024 * 1024)
#define LJH_DEFAULT_CONNECT_TIMEOUT_MS 10000
#define LJH_DEFAULT_IDLE_TIMEOUT_MS 30000
#define LJH_DEFAULT_MAX_REDIRECTS 10

/* Stream mode: pause the transfer when this many bytes wait for Lua. */
#define LJH_STREAM_HIGH_WATER (1024 * 1024)
/* A client keeps the buffers of its last stream, up to this capacity
 * each, for its next one: fresh megabytes cost a page fault per 4 KiB. */
#define LJH_STREAM_SPARE_MAX (2 * LJH_STREAM_HIGH_WATER + 65536)

/* ljh_client_run(c, 0), a host's pump from its event loop: the body bytes
 * all its transfers may take in that call, and the ms it may spend on
 * them (a slow disk under options.output). Past either a transfer pauses
 * until the next run, so one pump costs a few ms at loopback speed and
 * the host's loop (an editor) gets its turn between pumps. */
#define LJH_RUN_BUDGET (1024 * 1024)
#define LJH_RUN_BUDGET_MS 3
/* ...and the async transfers it starts (connecting 200 at once took one
 * pump 30-50 ms on a loaded machine); the rest start in the next runs. */
#define LJH_RUN_STARTS 16

/* options.output: libcurl's receive buffer, and so the size of each write. */
#define LJH_OUTPUT_BUFFER 65536L

/* ---- growable byte buffer (buf.c) ---- */
typedef struct ljh_buf {
    char *p;     /* NUL-terminated when not NULL */
    size_t len;
    size_t cap;
} ljh_buf;

int ljh__buf_reserve(ljh_buf *b, size_t total);   /* 0 or -1 (OOM) */
int ljh__buf_append(ljh_buf *b, const void *data, size_t n);
void ljh__buf_free(ljh_buf *b);
/* Hands the storage over to the caller (never NULL on success: an empty
 * buffer gives a fresh "" allocation); the buffer is left empty. */
char *ljh__buf_steal(ljh_buf *b);

/* ---- messages (errors.c) ---- */
/* snprintf into a fixed buffer, always NUL-terminated, never overruns. */
void ljh__msg(char *dst, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* libcurl's code -> ours: one row per CURLcode, by number (errors.c). */
typedef struct ljh_curl_code {
    int code;
    const char *name;       /* "CURLE_TOO_LARGE" */
    ljh_error error;
} ljh_curl_code;
extern const ljh_curl_code ljh__curl_codes[];
extern const size_t ljh__n_curl_codes;
ljh_error ljh__error_from_curl(CURLcode rc);

/* ---- tokens and headers (headers.c) ---- */
int ljh__is_token(const char *s, size_t n);
/* Header value: no NUL, CR, LF or other control bytes except HTAB. */
int ljh__is_header_value(const char *s, size_t n);
int ljh__is_cookie_value(const char *s, size_t n);
/* Writes Go's canonical form of a header name ("content-type" ->
 * "Content-Type") into out (n bytes); names that are not tokens are
 * copied unchanged, as Go does. */
void ljh__canonical_header(const char *in, size_t n, char *out);
/* The same in one pass for a name that must be a token: writes the
 * canonical form and returns n, or returns 0 (out partly written) when
 * the name is empty or not a token. */
size_t ljh__canonical_token(const char *in, size_t n, char *out);
int ljh__header_is(const char *name, size_t n, const char *lower);
/* Optional whitespace (RFC 9110 5.6.3): space or tab. */
static inline int ljh__is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* ---- credentials (wipe.c) ---- */
/* Overwrites n bytes at p with stores the compiler keeps. */
void ljh__wipe(void *p, size_t n);
/* ljh__wipe of a NUL-terminated string; s may be NULL. */
void ljh__wipe_str(char *s);
/* curl_slist_free_all after wiping every line (header lines that may
 * carry Authorization or Cookie, cookie jar lines); list may be NULL. */
void ljh__slist_free_wiped(struct curl_slist *list);

/* ---- durations (duration.c) ---- */
#include "duration.h"

#include "bodies.h"
#include "transport.h"

/* ljh__error_from_curl, told what the transfer used (errors.c). */
ljh_error ljh__error_of_transfer(CURLcode rc, const ljh_transport *tr);

/* ---- the validated request (request.c, request_url.c, request_curl.c) ---- */
typedef struct ljh_plan {
    char *method;           /* upper-case token */
    char *url;              /* the current hop's absolute URL */
    char *origin;           /* scheme://host:port of the first hop, set at
                               the first redirect */
    const char *body;       /* owned_body, or the caller's (sync calls) */
    char *owned_body;
    size_t body_len;
    int has_body;
    int pull;               /* LJH_F_BODY_PULL: the engine reads the body from Lua */
    int64_t pull_size;      /* ...its Content-Length, or -1: chunked */
    char **hdr_lines;       /* "Name: value" / "Name;" lines, caller's */
    unsigned char *hdr_sensitive;  /* 1: dropped on a cross-origin hop */
    int n_hdr;
    int has_content_type;
    char *cookie;           /* "a=1; b=2" or NULL */
    char *user;
    char *pass;
    int64_t timeout_ms;     /* 0 = none */
    int64_t connect_timeout_ms;
    int64_t idle_timeout_ms;
    int64_t max_body;       /* < 0 = no limit */
    int max_redirects;
    uint32_t flags;
    int cross_origin;       /* sticky: credentials never come back */
    ljh_transport transport;
    ljh_bodies bodies;
} ljh_plan;

/* Validates req and fills plan (all copies owned by plan unless
 * borrow_body). On failure returns the error and writes errmsg. */
ljh_error ljh__plan_init(ljh_plan *plan, const ljh_request *req, int borrow_body,
                         char *errmsg, size_t errlen);
void ljh__plan_free(ljh_plan *plan);
/* Overwrites the plan's credentials (ljh__plan_free does it first): the
 * password, the Cookie line, caller headers that are dropped on a
 * cross-origin hop, and the transport's (ljh__transport_wipe). */
void ljh__plan_wipe(ljh_plan *plan);
/* The caller's headers for the current hop plus the fixed ones. */
struct curl_slist *ljh__plan_headers(const ljh_plan *plan);
/* Applies the plan's current hop to a (reset) easy handle. */
CURLcode ljh__plan_apply(ljh_plan *plan, CURL *easy, int64_t elapsed_ms);
/* Moves the plan to the next hop of a redirect answered with status. */
ljh_error ljh__plan_redirect(ljh_plan *plan, const char *location, int status,
                             char *errmsg, size_t errlen);
/* The URL without user info, for messages ("" when unparseable). */
void ljh__safe_url(const char *url, char *out, size_t cap);

/* ---- clients (engine.c) ---- */
/* The client's cookie share (NULL without a jar), for ws.c's handshake. */
CURLSH *ljh__client_share(ljh_client *c);
/* The proxy variables as the client read them (NULL without a client). */
const ljh_proxy_env *ljh__client_proxy_env(const ljh_client *c);

/* ---- collecting (collect.c) and packing (response.c) the response ---- */
typedef struct ljh_hdr_ref {
    size_t name_off, name_len, value_off, value_len;
} ljh_hdr_ref;

typedef struct ljh_collect {
    ljh_buf hdr_text;       /* name\0value\0... of the current response */
    ljh_buf hdr_refs;       /* ljh_hdr_ref[] into hdr_text */
    ljh_buf body;
    ljh_buf redir_text;     /* hop URLs, NUL-separated */
    ljh_buf redir_refs;     /* ljh_hdr_ref[]: name = url, value_off = status */
    ljh_buf trace;          /* LJH_F_VERBOSE */
    size_t n_informational;
    int headers_done;       /* blank line seen for the current response */
    int in_head;            /* a status line seen, its blank line not yet:
                               an "HTTP/" line now is no status line */
    int in_trailers;        /* after a final chunked head: trailers */
    int head_status;        /* the status line's code, as far as read */
    long known_status;      /* the engine's reads just before packing, so */
    long known_version;     /* pack asks libcurl again only when 0 */
    const char *abort_why;  /* ljh__collect_header's LJH_E_PROTOCOL: what was
                               wrong (static text, for the fault record) */
} ljh_collect;

/* One header line from libcurl; returns 0 or the error that aborts. */
ljh_error ljh__collect_header(ljh_collect *col, const char *line, size_t len);
void ljh__collect_reset_hop(ljh_collect *col);
ljh_error ljh__collect_redirect(ljh_collect *col, const char *url, int status);
void ljh__collect_free(ljh_collect *col);
/* At a transfer's end: frees what ljh__collect_free frees but the header
 * text, header refs and body buffers of at most LJH_COLLECT_KEEP bytes,
 * emptied, which the transfer keeps for its next request (a pooled one
 * too); ljh__response_pack copies such small ones into the response. */
#define LJH_COLLECT_KEEP 1024
void ljh__collect_keep(ljh_collect *col);
/* libcurl's trace (LJH_F_VERBOSE), capped, credentials masked. */
#define LJH_MAX_TRACE (256 * 1024)

/* Finds the first value of a header in the current response. */
const char *ljh__collect_find(const ljh_collect *col, const char *lower, size_t *len);
/* The decoder for every Content-Encoding line of the current response,
 * read as one list (RFC 9110 5.3); ljh__decoder_new's results. */
struct ljh_decoder;
ljh_error ljh__collect_decoder(const ljh_collect *col, struct ljh_decoder **out, const char **why);

ljh_response *ljh__response_new_error(ljh_error code, const char *msg);
/* Hands the collected trace (if any) and the attempt count to r. */
void ljh__response_finish(ljh_response *r, ljh_collect *col, int retries);
/* Packs a successful transfer: takes the collected storage. */
ljh_response *ljh__response_pack(ljh_collect *col, CURL *easy);
/* LJH_F_DECODE_JSON (json_parse.c parses): sets r->json; when the body is JSON
 * its bytes are freed (or left unused in a small response's block) and
 * r->body becomes "" (body_len keeps the byte count). */
void ljh__response_parse_json(ljh_response *r);

/* ---- the wording of failures (errors.c) ---- */
/* Why a transfer stopped: one record per transfer, set once, by the first
 * cause (a libcurl callback, a body file, the checks at the end); libcurl's
 * own error buffer is read only when nothing set it. */
typedef struct ljh_fault {
    ljh_error code;       /* LJH_OK: no fault yet */
    const char *why;      /* its reason: static text, or text below; NULL:
                             the message is made from code */
    char text[256];
} ljh_fault;
/* Records code and why (NULL: none) unless a fault is recorded already. */
void ljh__fault_set(ljh_fault *f, ljh_error code, const char *why);
/* The same with a formatted reason, copied into the record. */
void ljh__fault_text(ljh_fault *f, ljh_error code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The message of a failed transfer: 'Get "url": why', the why from the
 * fault record, else curl_msg (libcurl's error buffer), else libcurl's
 * words for rc; credentials masked. */
void ljh__error_message(const ljh_plan *p, const ljh_collect *col, const ljh_fault *f,
                        const char *curl_msg, ljh_error code, CURLcode rc, char *out,
                        size_t cap);
/* Go prints the method as "Get", "Post": keep its shape. */
void ljh__go_method(const char *m, char *out, size_t cap);

#endif
