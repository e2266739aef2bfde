/* ljhttp ABI: the one copy of every declaration shared by C and Lua.
 * csrc/ljhttp.h includes this file and the build turns it into
 * lua/ljhttp/cdef.lua (and one lua/ljhttp/cdef_NAME.lua per "cdef section"
 * below) for ffi.cdef, so keep it free of preprocessor lines.
 *
 * Ownership, once for the whole ABI:
 * - Everything Lua passes in (ljh_request and what it points to) is only
 *   read during the call; C copies what it keeps.
 * - Every pointer inside an ljh_response is owned by that response and
 *   stays valid until ljh_response_free.
 * - ljh_client, ljh_transfer and ljh_response each have one NULL-safe free.
 */

/* Bumped whenever a declaration below changes shape or meaning. */
enum {
    LJH_ABI_VERSION = 7
};

/* The most bytes one ljh_transfer_take returns: a Lua string this small
 * comes from LuaJIT's heap and is reused, where a larger one would be
 * fresh memory (and page faults) every time. */
enum {
    LJH_STREAM_CHUNK = 65536
};

/* Short stable error words: ljh_error_name() gives the text. */
typedef enum ljh_error {
    LJH_OK = 0,
    LJH_E_INVALID_ARGUMENT = 1,
    LJH_E_UNSUPPORTED_SCHEME = 2,
    LJH_E_INVALID_URL = 3,
    LJH_E_DNS = 4,
    LJH_E_CONNECT = 5,
    LJH_E_TLS = 6,
    LJH_E_TIMEOUT = 7,
    LJH_E_TOO_MANY_REDIRECTS = 8,
    LJH_E_TOO_LARGE = 9,
    LJH_E_PROTOCOL = 10,
    LJH_E_NETWORK = 11,
    LJH_E_CANCELLED = 12,
    LJH_E_CLOSED = 13,
    LJH_E_OUT_OF_MEMORY = 14,
    LJH_E_INTERNAL = 15,
    LJH_E_IO = 16,
    LJH_E_JSON = 17,      /* ljh_request.json holds a value JSON cannot carry */
    LJH_E_COUNT = 18
} ljh_error;

/* Request flags (ljh_request.flags). */
enum {
    LJH_F_NO_FOLLOW = 1,  /* return 3xx responses instead of following */
    LJH_F_STREAM = 2,     /* body bytes are pulled with ljh_transfer_take */
    LJH_F_INSECURE = 4,   /* no TLS peer/host verification, this request only */
    LJH_F_DECOMPRESS = 8, /* ask for and decode gzip, deflate, br, zstd */
    LJH_F_VERBOSE = 16,   /* keep libcurl's trace in ljh_response.trace */
    LJH_F_NO_PROXY = 32,  /* ignore proxy environment variables */
    LJH_F_QUERY_APPEND = 64, /* query is appended to the URL's, not replacing it */
    LJH_F_DECODE_JSON = 128, /* parse the body as JSON into ljh_response.json */
    LJH_F_OUTPUT_SYNC = 256, /* fsync the output file (and its directory) */
    LJH_F_NO_EXPECT = 512,   /* no Expect: 100-continue for body_file/multipart */
    LJH_F_BODY_PULL = 1024   /* ljh_client_submit only: the body comes in pieces
                              * through ljh_transfer_feed; its size from a
                              * Content-Length header, else sent chunked */
};

/* HTTP versions (ljh_request.http_version). */
enum {
    LJH_HTTP_DEFAULT = 0,  /* HTTP/2 when TLS negotiates it, else 1.1 */
    LJH_HTTP_1_1 = 11,
    LJH_HTTP_2 = 20,
    LJH_HTTP_2_PRIOR_KNOWLEDGE = 21,
    LJH_HTTP_3 = 30,       /* HTTP/3 over QUIC for https, else what LJH_HTTP_DEFAULT picks */
    LJH_HTTP_3_ONLY = 31   /* HTTP/3 or fail: https only, no fallback */
};

/* ljh_response.http_version may also be an HTTP/1.0 answer. */
enum {
    LJH_HTTP_1_0 = 10
};

/* A borrowed byte string; ptr NULL = not set. */
typedef struct ljh_str {
    const char *ptr;
    size_t len;
} ljh_str;

/* A name/value pair: request headers and cookies (borrowed from the
 * caller), response headers and cookies (owned by the response).
 * Lengths are bytes; names and values may not be NUL-terminated on input,
 * are always NUL-terminated on output. */
typedef struct ljh_kv {
    const char *name;
    const char *value;
    int32_t name_len;
    int32_t value_len;
} ljh_kv;

/* A duration given either as seconds or as a Go duration string
 * ("1h30m", "300ms", "1.5s"). Ignored unless is_set. */
typedef struct ljh_duration {
    ljh_str str;         /* when str.ptr is not NULL: parse these bytes */
    double seconds;      /* otherwise: this many seconds, finite, >= 0 */
    int32_t is_set;
} ljh_duration;

/* One multipart/form-data part: in-memory data, or a file streamed from
 * disk when file is set. */
typedef struct ljh_part {
    ljh_str name;
    ljh_str data;
    ljh_str file;
    ljh_str filename;       /* NULL = the file's base name (file parts) */
    ljh_str content_type;   /* NULL = libcurl's guess (file) / none (data) */
} ljh_part;

/* What Lua fills for one request. Every string is an ljh_str (ptr NULL =
 * not given); lengths are bytes. */
typedef struct ljh_request {
    ljh_str method;          /* any HTTP token, case-insensitive */
    ljh_str url;             /* absolute http:// or https:// URL */
    ljh_str query;           /* NULL, or replaces the URL's query */
    ljh_str body;            /* NULL = no body */
    const ljh_kv *headers;   /* n_headers pairs, sent last, override */
    const ljh_kv *cookies;   /* n_cookies pairs, sent as one Cookie: */
    ljh_str user;            /* NULL = no basic auth */
    ljh_str pass;            /* required when user is set */
    ljh_duration timeout;          /* whole request; 0 = no total limit */
    ljh_duration connect_timeout;  /* default 10 s */
    ljh_duration idle_timeout;     /* no byte for this long: abort; default 30 s */
    int64_t max_body_size;   /* bytes; 0 = default (256 MiB), < 0 = no limit */
    int32_t n_headers;
    int32_t n_cookies;
    int32_t max_redirects;   /* < 0 = default (10) */
    uint32_t flags;          /* LJH_F_* */
    /* bodies */
    ljh_str output;          /* write the body to this file, atomically */
    ljh_str body_file;       /* upload this file's bytes */
    const ljh_part *parts;   /* multipart/form-data body: n_parts parts */
    int32_t n_parts;
    int32_t retries;         /* extra attempts for idempotent requests */
    /* transport: NULL strings and 0 numbers mean libcurl's defaults */
    ljh_str proxy;           /* http://, https://, socks5://, socks5h:// */
    ljh_str proxy_user;
    ljh_str proxy_pass;
    ljh_str no_proxy;        /* comma-separated hosts */
    ljh_str ca_file;
    ljh_str ca_path;
    ljh_str client_cert;
    ljh_str client_key;
    ljh_str key_password;
    ljh_str pinned_public_key;
    ljh_str unix_socket;
    ljh_duration retry_delay;  /* default 1 s, doubled per attempt */
    int32_t http_version;    /* LJH_HTTP_* */
    int32_t tls_min_version; /* 0 = default, 12 = TLS 1.2, 13 = TLS 1.3 */
    /* json = value: when n_json > 0 the body is this tape (see
     * ljh_json_node below) printed by C as ljh_json_print prints it,
     * straight into the request; body must then be NULL. A tape it
     * refuses fails the request with LJH_E_JSON, naming the node's path. */
    const struct ljh_json_node *json;
    int32_t n_json;
} ljh_request;

/* One redirect hop: the response status and the URL that answered it. */
typedef struct ljh_redirect {
    const char *url;
    int32_t url_len;
    int32_t status;
} ljh_redirect;

/* JSON (json_parse.c, json_print.c, through cJSON). A tape is a flat array of nodes in
 * document order: an ARRAY node is followed by its len members, an OBJECT
 * node by len pairs of a STRING node (the key) and the value's nodes. */
enum {
    LJH_JSON_NULL = 0,
    LJH_JSON_FALSE = 1,
    LJH_JSON_TRUE = 2,
    LJH_JSON_NUMBER = 3,
    LJH_JSON_STRING = 4,
    LJH_JSON_ARRAY = 5,
    LJH_JSON_OBJECT = 6,
    LJH_JSON_INTEGER_TEXT = 7, /* print only: str holds -?[0-9]+ (int64 cdata) */
    LJH_JSON_MAX_DEPTH = 512   /* containers nested deeper are an error */
};

typedef struct ljh_json_node {
    const char *str;   /* STRING, INTEGER_TEXT: len bytes, NUL at str[len] */
    double num;        /* NUMBER */
    int32_t len;       /* STRING: bytes; ARRAY, OBJECT: members */
    int32_t type;      /* LJH_JSON_* */
} ljh_json_node;

/* A parsed document: nodes stay valid until ljh_json_free. When error is
 * not 0 (LJH_E_INVALID_ARGUMENT: not JSON, LJH_E_OUT_OF_MEMORY,
 * LJH_E_TOO_LARGE) there are no nodes and errmsg says why. */
typedef struct ljh_json {
    const ljh_json_node *nodes;
    int32_t n_nodes;
    int32_t error;
    char errmsg[128];
} ljh_json;

/* The result of one request. When error != LJH_OK only error and errmsg
 * are meaningful (url may hold the URL that failed, without credentials). */
typedef struct ljh_response {
    const char *body;        /* body_len bytes, NUL-terminated, never NULL */
    const char *url;         /* final URL after redirects, NUL-terminated */
    const ljh_kv *headers;   /* final response only, wire order, repeats kept */
    const ljh_kv *cookies;   /* from the final response's Set-Cookie lines */
    const ljh_redirect *redirects;
    size_t body_len;
    double t_dns;            /* seconds from start, as libcurl measures */
    double t_connect;
    double t_tls;
    double t_first_byte;
    double t_total;
    int32_t status;          /* HTTP status code; 0 on error */
    int32_t error;           /* ljh_error */
    int32_t url_len;
    int32_t n_headers;
    int32_t n_cookies;
    int32_t n_redirects;
    int32_t http_version;    /* 10, 11, 20, 30; 0 unknown */
    int32_t retries;         /* attempts made beyond the first */
    const char *trace;       /* LJH_F_VERBOSE: libcurl's trace, capped */
    size_t trace_len;
    char remote_ip[48];
    char errmsg[256];        /* NUL-terminated; empty on success */
    int64_t output_len;      /* output_written: bytes in the output file */
    int32_t output_written;  /* 1: the body went to ljh_request.output
                                (body is then ""), 0: it is in body */
    const ljh_json *json;    /* LJH_F_DECODE_JSON: the parsed body, or its
                                error; on success body is "" (body_len
                                still counts the bytes received) */
} ljh_response;

/* Client options (ljh_client_new). */
typedef struct ljh_client_options {
    ljh_str cookie_file;           /* Netscape cookie file: loaded now, saved
                                      by ljh_client_save_cookies */
    int32_t cookie_jar;            /* 1 = cookie jar (in memory unless
                                      cookie_file is set) */
    int32_t max_connections;       /* 0 = libcurl's default */
    int32_t max_host_connections;  /* 0 = no cap */
    ljh_str backend;               /* "epoll", "kqueue", "portable"; empty:
                                      the platform's (ljh_backend_available) */
} ljh_client_options;

/* Transfer progress in bytes; totals are 0 when unknown. */
typedef struct ljh_progress {
    int64_t downloaded;
    int64_t download_total;
    int64_t uploaded;
    int64_t upload_total;
} ljh_progress;

typedef struct ljh_client ljh_client;
typedef struct ljh_transfer ljh_transfer;

/* Library facts. */
int32_t ljh_abi_version(void);
const char *ljh_version(void);
const char *ljh_curl_version(void);
/* What that libcurl supports, as space-separated words: "tls=<backend>"
 * (its TLS library and version), then "ssl", "http2", "http3", "libz",
 * "brotli", "zstd", "unixsockets", "https-proxy", "ipv6", "asynchdns",
 * "idn", "psl", "largefile", "alt-svc", "hsts", "threadsafe" when present. */
const char *ljh_curl_features(void);
/* Stable word for an ljh_error ("timeout"); "internal" when out of range. */
const char *ljh_error_name(int32_t code);
/* The Lua modules' bytecode, embedded at build time (docs/abi.md). For
 * module `name` ("ljhttp.client"): its length, with *code set to it
 * (static, read-only), only when it was compiled by this jit_version and
 * jit_arch, whose string.dump of the loader's probe chunk was these
 * probe_len bytes, from exactly the bytes of the file at source_path,
 * which is read and hashed here. Otherwise *code is NULL and the result is: -1 not
 * embedded, -2 compiled by another LuaJIT, -3 source_path unreadable,
 * -4 the source differs. */
int32_t ljh_bytecode_find(const char *name, const char *source_path, const char *jit_version,
                          const char *jit_arch, const char *probe, int32_t probe_len,
                          const char **code);

/* Clients own connections, the cookie jar and every transfer.
 * ljh_client_new returns NULL only when out of memory or when
 * ljh_cookie_file_check refuses opts->cookie_file. Freeing a client
 * with transfers in flight ends them (LJH_E_CLOSED); their handles stay
 * valid until ljh_transfer_free. */
ljh_client *ljh_client_new(const ljh_client_options *opts);
void ljh_client_free(ljh_client *c);
/* ljh_client_new, the client put in *slot (a client *slot still holds is
 * freed first); 0, or -1 as ljh_client_new returns NULL (*slot NULL).
 * ljh_client_free_slot frees what *slot holds and sets it to NULL. */
int32_t ljh_client_new_to(const ljh_client_options *opts, ljh_client **slot);
void ljh_client_free_slot(ljh_client **slot);

/* Checks a cookie_file path before ljh_client_new (which refuses the same
 * paths with NULL): it is a regular file or does not exist yet, and its
 * directory exists and is writable (saving writes a file beside it).
 * Returns 0, or LJH_E_INVALID_ARGUMENT with errmsg filled. */
int32_t ljh_cookie_file_check(const char *path, char *errmsg, int32_t errlen);

/* Writes the cookie jar to cookie_file atomically (temporary file, then
 * rename). Returns 0, or an ljh_error with errmsg filled. */
int32_t ljh_client_save_cookies(ljh_client *c, char *errmsg, int32_t errlen);

/* Blocking request: validate, run to completion, return the response
 * (check ->error). NULL only when out of memory. */
ljh_response *ljh_client_perform(ljh_client *c, const ljh_request *req);

/* Non-blocking requests. ljh_client_submit returns NULL only when out of
 * memory; a request that fails validation comes back already done. */
ljh_transfer *ljh_client_submit(ljh_client *c, const ljh_request *req);

/* The engine. The host waits until ljh_client_fd is readable or
 * ljh_client_timeout ms have passed, then calls ljh_client_run(c, 0);
 * or it lets ljh_client_run wait up to wait_ms itself.
 * ljh_client_run returns the number of unfinished transfers. */
int32_t ljh_client_run(ljh_client *c, int32_t wait_ms);
int32_t ljh_client_fd(const ljh_client *c);        /* -1 when none */
int32_t ljh_client_timeout(const ljh_client *c);   /* ms; -1 = no timer */
/* Ids of transfers that finished or got stream bytes since the last call;
 * returns how many were written to ids (at most max). */
int32_t ljh_client_ready(ljh_client *c, int32_t *ids, int32_t max);

/* Readiness backends. epoll (Linux) and kqueue (macOS, BSD) keep the
 * sockets in one descriptor, ljh_client_fd. The portable backend (every
 * OS; Windows has only it) has none (ljh_client_fd is -1): either
 * ljh_client_run(c, wait_ms > 0) polls the sockets itself, or the host
 * watches each one: it pulls what changed with ljh_client_watches after
 * every call into the client, and reports readiness with
 * ljh_client_socket_ready. A socket removed (events 0) is closed by the
 * next ljh_client_watches call, so the host must stop watching it before
 * it pulls again. */
enum {
    LJH_EV_IN = 1,   /* readable */
    LJH_EV_OUT = 2,  /* writable */
    LJH_EV_ERR = 4   /* error or hang-up (readiness only) */
};
typedef struct ljh_watch {
    int64_t fd;       /* a socket (a SOCKET on Windows) */
    int32_t events;   /* LJH_EV_IN | LJH_EV_OUT to watch for; 0 = stop */
    int32_t reserved;
} ljh_watch;
/* 1 when the backend called name is built into this library, else 0. */
int32_t ljh_backend_available(const char *name);
/* The backend the client runs on: "epoll", "kqueue" or "portable". */
const char *ljh_client_backend(const ljh_client *c);
/* Portable backend: writes up to max changed watches to out, returns how
 * many (0 for other backends). The first call makes the host the watcher:
 * ljh_client_run(c, 0) then leaves the sockets to it. out NULL: the host
 * dropped every watch it had (closed its handles); the next pulls report
 * every socket still watched. */
int32_t ljh_client_watches(ljh_client *c, ljh_watch *out, int32_t max);
/* Portable backend: fd is ready for events (LJH_EV_*): runs libcurl on
 * it; returns the number of unfinished transfers, as ljh_client_run. */
int32_t ljh_client_socket_ready(ljh_client *c, int64_t fd, int32_t events);

int32_t ljh_transfer_id(const ljh_transfer *t);
int32_t ljh_transfer_done(const ljh_transfer *t);  /* 1 when finished */
/* The next stream bytes, at most LJH_STREAM_CHUNK; 0 when none wait (call
 * again until 0: one take may leave bytes for the next). *data stays valid
 * until the next take or free of this transfer: running the client writes
 * only into the transfer's other buffer. Resumes a paused transfer once
 * what it had buffered is all taken. */
size_t ljh_transfer_take(ljh_transfer *t, const char **data);
void ljh_transfer_progress(const ljh_transfer *t, ljh_progress *out);
/* LJH_F_STREAM: the final response's status and headers (body empty),
 * kept from the moment they arrived (the transfer's id is then queued by
 * ljh_client_ready), also after the transfer ended. Handed to the caller
 * once, who frees it with ljh_response_free; NULL before the headers
 * arrived, after the first call, or when out of memory. */
ljh_response *ljh_transfer_head(ljh_transfer *t);
/* LJH_F_BODY_PULL: 1 while the upload waits for its next piece (the id is
 * then queued by ljh_client_ready), else 0. */
int32_t ljh_transfer_wants_body(const ljh_transfer *t);
/* LJH_F_BODY_PULL: the next piece of the body, copied (len 0 = the end),
 * and the upload resumes. Returns 0, or -1 when t does not wait for a
 * piece or out of memory (the transfer then fails). */
int32_t ljh_transfer_feed(ljh_transfer *t, const char *data, size_t len);
/* Ends an unfinished transfer with LJH_E_CANCELLED; no-op when done. */
void ljh_transfer_cancel(ljh_transfer *t);
/* The finished transfer's response, handed to the caller; NULL when not
 * finished or already taken. */
ljh_response *ljh_transfer_response(ljh_transfer *t);
void ljh_transfer_free(ljh_transfer *t);
/* For a caller whose own copy of a pointer can fail (LuaJIT boxes every
 * pointer C returns, and that allocation may find no memory): no object
 * is handed over before the caller can hold it.
 * ljh_client_submit_to: ljh_client_submit, but the transfer goes to
 * *slot, made by the caller beforehand; it stays the slot's until the
 * caller sets *slot to NULL. Returns 0, or -1 when out of memory (*slot
 * NULL). ljh_transfer_free_slot frees what *slot still holds and sets it
 * to NULL (no-op when NULL).
 * ljh_transfer_head_ref / ljh_transfer_response_ref: the head or the
 * response, still the transfer's (freed by ljh_transfer_free; a later
 * ljh_transfer_head or ljh_transfer_response hands it over); NULL as
 * those would return NULL. */
int32_t ljh_client_submit_to(ljh_client *c, const ljh_request *req, ljh_transfer **slot);
void ljh_transfer_free_slot(ljh_transfer **slot);
ljh_response *ljh_transfer_head_ref(ljh_transfer *t);
ljh_response *ljh_transfer_response_ref(ljh_transfer *t);
/* The same for the blocking request and the WebSocket:
 * ljh_client_perform_to: ljh_client_perform, the response put in *slot
 * (a response *slot still held is freed first); 0, or -1 when out of
 * memory (*slot NULL). ljh_response_free_slot frees what *slot holds and
 * sets it to NULL. ljh_ws_open_to / ljh_ws_free_slot: the same for
 * ljh_ws_open / ljh_ws_free (declared with the WebSocket below). */
int32_t ljh_client_perform_to(ljh_client *c, const ljh_request *req, ljh_response **slot);
void ljh_response_free_slot(ljh_response **slot);

void ljh_response_free(ljh_response *r);

/* Go's canonical header name ("content-type" -> "Content-Type") into out
 * (len bytes); returns len. Names that are not tokens are copied as is. */
int32_t ljh_canonical_header(const char *name, int32_t len, char *out);

/* libcurl's URL escaping (curl_easy_escape: every byte but A-Z a-z 0-9
 * - . _ ~ becomes %XX) of len bytes of s. Returns the escaped length and
 * writes it to out when it fits in cap (3 * len always does); (size_t)-1
 * when out of memory. */
size_t ljh_escape(const char *s, size_t len, char *out, size_t cap);

/* JSON through cJSON (json_parse.c, json_print.c). ljh_json_parse reads len bytes of s
 * (UTF-8, at most LJH_JSON_MAX_DEPTH levels, one value and whitespace) and
 * returns the tape; NULL only when out of memory. Strings in it are
 * byte-exact (\u0000 included) and NUL-terminated. */
ljh_json *ljh_json_parse(const char *s, size_t len);
void ljh_json_free(ljh_json *j);
/* Prints a tape of n nodes as compact JSON text with cJSON. Returns the
 * text (NUL-terminated, *len bytes, free with ljh_json_text_free), or NULL
 * with errmsg filled and *bad_node = the offending node (-1 = none). */
char *ljh_json_print(const ljh_json_node *nodes, int32_t n, size_t *len, int32_t *bad_node,
                     char *errmsg, int32_t errlen);
void ljh_json_text_free(char *text);

/* Monotonic clock in milliseconds, for hosts that wait with deadlines. */
int64_t ljh_now_ms(void);

/* The relay (OpenResty host, docs/hosts.md): a thread that watches client
 * descriptors for event loops that can only wait on sockets they connect.
 * ljh_relay_path starts it (once per process) and writes the path of its
 * Unix socket, in a private directory, to out; returns the length, or -1
 * (cap too small, or it could not start). A connection sends arms of 12
 * bytes: int32 descriptor (ljh_client_fd), int32 timeout ms (-1: none),
 * int32 token naming the client, host order; the relay answers each with
 * one byte when the descriptor is readable or the time is up (maybe
 * early, never late: a caller re-arms after each answer). A hello
 * (descriptor -2, timeout 0, token = a nonzero id) names the connection;
 * ljh_relay_arm then arms it by that id without a message: 0, or -1 when
 * no connection has that id (yet): send the arm instead. Tokens are below
 * 2^29; bits 29 (readable) and 30 (writable) of an arm's token choose what
 * to wait for (neither: readable), for a socket such as a WebSocket's.
 * ljh_relay_poke answers every pending arm. On systems other than Linux
 * there is no relay: ljh_relay_path returns -1. */
int32_t ljh_relay_path(char *out, int32_t cap);
int32_t ljh_relay_arm(uint32_t id, int32_t fd, int32_t timeout_ms, int32_t token);
void ljh_relay_poke(void);

/* cdef section: ws -- everything below, in lua/ljhttp/cdef_ws.lua, which
 * ws.lua declares when it loads (tools/gen-cdef.sh): a process that opens
 * no WebSocket does not parse it. */

/* WebSocket (ws.c): a connection to a ws:// or wss:// URL, opened with
 * the same request options as any request (libcurl connects; the
 * handshake and frames are ljhttp's own, on any libcurl). ljh_ws_open
 * returns NULL only when out of memory; a connection that could not
 * start comes back already LJH_WS_CLOSED with error set.
 * Nothing calls back: the host drives ljh_ws_run when ljh_ws_state.fd is
 * ready for what .want asks (LJH_WS_WANT_*), or after .timeout_ms while
 * the handshake runs (fd -1), and pulls complete messages with
 * ljh_ws_take. ljh_ws_run may wait up to wait_ms itself. */
typedef struct ljh_ws ljh_ws;

enum {
    LJH_WS_CONNECTING = 0,
    LJH_WS_OPEN = 1,
    LJH_WS_CLOSING = 2,  /* a close frame was sent or received */
    LJH_WS_CLOSED = 3
};

/* Message kinds (ljh_ws_take, ljh_ws_send). */
enum {
    LJH_WS_TEXT = 1,
    LJH_WS_BINARY = 2,
    LJH_WS_PING = 3,     /* send only: answered by the peer with a PONG */
    LJH_WS_PONG = 4
};

/* Bits of ljh_ws_state.want: what the socket must be ready for. */
enum {
    LJH_WS_WANT_READ = 1,
    LJH_WS_WANT_WRITE = 2
};

typedef struct ljh_ws_state {
    int64_t fd;              /* the socket to watch; -1 during the handshake */
    int64_t buffered;        /* bytes queued by ljh_ws_send, not yet sent */
    int32_t state;           /* LJH_WS_* */
    int32_t want;            /* LJH_WS_WANT_* bits; 0: nothing to wait for */
    int32_t timeout_ms;      /* handshake: run again after this; -1 otherwise */
    int32_t queued;          /* messages waiting for ljh_ws_take */
    int32_t error;           /* ljh_error once failed; 0 for a clean close */
    int32_t close_code;      /* the peer's close code; 1005 none, 1006 abnormal */
    char close_reason[124];
    char errmsg[256];
} ljh_ws_state;

ljh_ws *ljh_ws_open(ljh_client *c, const ljh_request *req, int64_t max_message);
int32_t ljh_ws_run(ljh_ws *ws, int32_t wait_ms, ljh_ws_state *out);
/* The next complete message: 1 and its bytes (valid until the next take,
 * run or free), or 0 when none waits. */
int32_t ljh_ws_take(ljh_ws *ws, const char **data, size_t *len, int32_t *kind);
/* Queues one message (sent by the next runs); 0 or an ljh_error. */
int32_t ljh_ws_send(ljh_ws *ws, const char *data, size_t len, int32_t kind);
/* Starts the closing handshake: code 0 sends none, else 1000-4999. */
int32_t ljh_ws_close(ljh_ws *ws, int32_t code, const char *reason, size_t len);
/* The handshake's answer (status 101 and headers, or the refusal), handed
 * over once; NULL before it came or after the first call. */
ljh_response *ljh_ws_response(ljh_ws *ws);
void ljh_ws_free(ljh_ws *ws);
/* Hand-overs a failed box cannot leak (see ljh_client_submit_to):
 * ljh_ws_open_to puts the connection in *slot (an ljh_ws *slot still
 * held is freed first); 0, or -1 when out of memory (*slot NULL).
 * ljh_ws_free_slot frees what *slot holds and sets it to NULL.
 * ljh_ws_response_ref: the handshake's answer, still the connection's
 * (freed by ljh_ws_free; a later ljh_ws_response hands it over). */
int32_t ljh_ws_open_to(ljh_client *c, const ljh_request *req, int64_t max_message, ljh_ws **slot);
void ljh_ws_free_slot(ljh_ws **slot);
ljh_response *ljh_ws_response_ref(ljh_ws *ws);
