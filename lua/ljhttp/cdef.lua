-- Generated from cdef/ljhttp.h by tools/gen-cdef.sh (make). Do not edit.
return [==[
enum {
    LJH_ABI_VERSION = 7
};
enum {
    LJH_STREAM_CHUNK = 65536
};
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
    LJH_E_JSON = 17,
    LJH_E_COUNT = 18
} ljh_error;
enum {
    LJH_F_NO_FOLLOW = 1,
    LJH_F_STREAM = 2,
    LJH_F_INSECURE = 4,
    LJH_F_DECOMPRESS = 8,
    LJH_F_VERBOSE = 16,
    LJH_F_NO_PROXY = 32,
    LJH_F_QUERY_APPEND = 64,
    LJH_F_DECODE_JSON = 128,
    LJH_F_OUTPUT_SYNC = 256,
    LJH_F_NO_EXPECT = 512,
    LJH_F_BODY_PULL = 1024
};
enum {
    LJH_HTTP_DEFAULT = 0,
    LJH_HTTP_1_1 = 11,
    LJH_HTTP_2 = 20,
    LJH_HTTP_2_PRIOR_KNOWLEDGE = 21,
    LJH_HTTP_3 = 30,
    LJH_HTTP_3_ONLY = 31
};
enum {
    LJH_HTTP_1_0 = 10
};
typedef struct ljh_str {
    const char *ptr;
    size_t len;
} ljh_str;
typedef struct ljh_kv {
    const char *name;
    const char *value;
    int32_t name_len;
    int32_t value_len;
} ljh_kv;
typedef struct ljh_duration {
    ljh_str str;
    double seconds;
    int32_t is_set;
} ljh_duration;
typedef struct ljh_part {
    ljh_str name;
    ljh_str data;
    ljh_str file;
    ljh_str filename;
    ljh_str content_type;
} ljh_part;
typedef struct ljh_request {
    ljh_str method;
    ljh_str url;
    ljh_str query;
    ljh_str body;
    const ljh_kv *headers;
    const ljh_kv *cookies;
    ljh_str user;
    ljh_str pass;
    ljh_duration timeout;
    ljh_duration connect_timeout;
    ljh_duration idle_timeout;
    int64_t max_body_size;
    int32_t n_headers;
    int32_t n_cookies;
    int32_t max_redirects;
    uint32_t flags;
    ljh_str output;
    ljh_str body_file;
    const ljh_part *parts;
    int32_t n_parts;
    int32_t retries;
    ljh_str proxy;
    ljh_str proxy_user;
    ljh_str proxy_pass;
    ljh_str no_proxy;
    ljh_str ca_file;
    ljh_str ca_path;
    ljh_str client_cert;
    ljh_str client_key;
    ljh_str key_password;
    ljh_str pinned_public_key;
    ljh_str unix_socket;
    ljh_duration retry_delay;
    int32_t http_version;
    int32_t tls_min_version;
    const struct ljh_json_node *json;
    int32_t n_json;
} ljh_request;
typedef struct ljh_redirect {
    const char *url;
    int32_t url_len;
    int32_t status;
} ljh_redirect;
enum {
    LJH_JSON_NULL = 0,
    LJH_JSON_FALSE = 1,
    LJH_JSON_TRUE = 2,
    LJH_JSON_NUMBER = 3,
    LJH_JSON_STRING = 4,
    LJH_JSON_ARRAY = 5,
    LJH_JSON_OBJECT = 6,
    LJH_JSON_INTEGER_TEXT = 7,
    LJH_JSON_MAX_DEPTH = 512
};
typedef struct ljh_json_node {
    const char *str;
    double num;
    int32_t len;
    int32_t type;
} ljh_json_node;
typedef struct ljh_json {
    const ljh_json_node *nodes;
    int32_t n_nodes;
    int32_t error;
    char errmsg[128];
} ljh_json;
typedef struct ljh_response {
    const char *body;
    const char *url;
    const ljh_kv *headers;
    const ljh_kv *cookies;
    const ljh_redirect *redirects;
    size_t body_len;
    double t_dns;
    double t_connect;
    double t_tls;
    double t_first_byte;
    double t_total;
    int32_t status;
    int32_t error;
    int32_t url_len;
    int32_t n_headers;
    int32_t n_cookies;
    int32_t n_redirects;
    int32_t http_version;
    int32_t retries;
    const char *trace;
    size_t trace_len;
    char remote_ip[48];
    char errmsg[256];
    int64_t output_len;
    int32_t output_written;
    const ljh_json *json;
} ljh_response;
typedef struct ljh_client_options {
    ljh_str cookie_file;
    int32_t cookie_jar;
    int32_t max_connections;
    int32_t max_host_connections;
    ljh_str backend;
} ljh_client_options;
typedef struct ljh_progress {
    int64_t downloaded;
    int64_t download_total;
    int64_t uploaded;
    int64_t upload_total;
} ljh_progress;
typedef struct ljh_client ljh_client;
typedef struct ljh_transfer ljh_transfer;
int32_t ljh_abi_version(void);
const char *ljh_version(void);
const char *ljh_curl_version(void);
const char *ljh_curl_features(void);
const char *ljh_error_name(int32_t code);
int32_t ljh_bytecode_find(const char *name, const char *source_path, const char *jit_version,
                          const char *jit_arch, const char *probe, int32_t probe_len,
                          const char **code);
ljh_client *ljh_client_new(const ljh_client_options *opts);
void ljh_client_free(ljh_client *c);
int32_t ljh_client_new_to(const ljh_client_options *opts, ljh_client **slot);
void ljh_client_free_slot(ljh_client **slot);
int32_t ljh_cookie_file_check(const char *path, char *errmsg, int32_t errlen);
int32_t ljh_client_save_cookies(ljh_client *c, char *errmsg, int32_t errlen);
ljh_response *ljh_client_perform(ljh_client *c, const ljh_request *req);
ljh_transfer *ljh_client_submit(ljh_client *c, const ljh_request *req);
int32_t ljh_client_run(ljh_client *c, int32_t wait_ms);
int32_t ljh_client_fd(const ljh_client *c);
int32_t ljh_client_timeout(const ljh_client *c);
int32_t ljh_client_ready(ljh_client *c, int32_t *ids, int32_t max);
enum {
    LJH_EV_IN = 1,
    LJH_EV_OUT = 2,
    LJH_EV_ERR = 4
};
typedef struct ljh_watch {
    int64_t fd;
    int32_t events;
    int32_t reserved;
} ljh_watch;
int32_t ljh_backend_available(const char *name);
const char *ljh_client_backend(const ljh_client *c);
int32_t ljh_client_watches(ljh_client *c, ljh_watch *out, int32_t max);
int32_t ljh_client_socket_ready(ljh_client *c, int64_t fd, int32_t events);
int32_t ljh_transfer_id(const ljh_transfer *t);
int32_t ljh_transfer_done(const ljh_transfer *t);
size_t ljh_transfer_take(ljh_transfer *t, const char **data);
void ljh_transfer_progress(const ljh_transfer *t, ljh_progress *out);
ljh_response *ljh_transfer_head(ljh_transfer *t);
int32_t ljh_transfer_wants_body(const ljh_transfer *t);
int32_t ljh_transfer_feed(ljh_transfer *t, const char *data, size_t len);
void ljh_transfer_cancel(ljh_transfer *t);
ljh_response *ljh_transfer_response(ljh_transfer *t);
void ljh_transfer_free(ljh_transfer *t);
int32_t ljh_client_submit_to(ljh_client *c, const ljh_request *req, ljh_transfer **slot);
void ljh_transfer_free_slot(ljh_transfer **slot);
ljh_response *ljh_transfer_head_ref(ljh_transfer *t);
ljh_response *ljh_transfer_response_ref(ljh_transfer *t);
int32_t ljh_client_perform_to(ljh_client *c, const ljh_request *req, ljh_response **slot);
void ljh_response_free_slot(ljh_response **slot);
void ljh_response_free(ljh_response *r);
int32_t ljh_canonical_header(const char *name, int32_t len, char *out);
size_t ljh_escape(const char *s, size_t len, char *out, size_t cap);
ljh_json *ljh_json_parse(const char *s, size_t len);
void ljh_json_free(ljh_json *j);
char *ljh_json_print(const ljh_json_node *nodes, int32_t n, size_t *len, int32_t *bad_node,
                     char *errmsg, int32_t errlen);
void ljh_json_text_free(char *text);
int64_t ljh_now_ms(void);
int32_t ljh_relay_path(char *out, int32_t cap);
int32_t ljh_relay_arm(uint32_t id, int32_t fd, int32_t timeout_ms, int32_t token);
void ljh_relay_poke(void);
]==]
