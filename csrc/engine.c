/* engine: clients own a libcurl multi handle driven through its socket
 * interface. libcurl's socket callback keeps an epoll set in step, so a
 * host loop (Neovim's libuv, a plain poll, OpenResty's sleeps) only has to
 * watch one descriptor and one timer, then call ljh_client_run. No thread,
 * no call into Lua: finished transfers and stream bytes wait in C until
 * Lua pulls them. Redirects are followed here, hop by hop, so every hop is
 * checked (scheme, credentials, method) before it is sent. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "decoding.h"

#define POOL_MAX 128 /* idle easy handles kept per client (a batch of up to 128 reuses all) */
#define EVENTS_MAX 64
#define H2_ORIGINS 32 /* origins remembered as HTTP/2, per client */

/* What a pooled easy handle was last configured for. Two plain requests
 * (no body, cookies, auth, TLS or proxy options) with equal profiles need
 * only their URL and per-transfer pointers set: no curl_easy_reset and no
 * two dozen setopt calls, which is most of the per-request cost. */
typedef struct ljh_profile {
    int plain;
    char method[8];
    int64_t connect_timeout_ms, idle_timeout_ms, max_body;
} ljh_profile;

typedef struct ljh_pooled {
    CURL *easy;
    ljh_profile profile;
} ljh_pooled;

struct ljh_transfer {
    ljh_client *client;       /* NULL once the client is gone */
    ljh_transfer *prev, *next;
    CURL *easy;               /* while running */
    ljh_profile profile;      /* how easy is configured now */
    struct curl_slist *slist; /* headers of the current hop */
    ljh_response *resp;       /* once done, until taken */
    ljh_plan plan;
    ljh_collect col;
    ljh_buf stream;           /* LJH_F_STREAM: bytes not yet taken */
    ljh_buf taken;            /* bytes moved out of stream, handed out by take */
    size_t taken_off;         /* ...up to here */
    ljh_progress progress;    /* frozen at the end */
    int64_t started_ms;
    int64_t hop_bytes;
    int32_t id;
    int done;
    int queued;               /* in the client's ready list */
    int sync;                 /* ljh_client_perform: nobody pulls it */
    int pullable;             /* counted in the client's n_pullable */
    int paused;
    int budget_paused;        /* paused by the run budget until the next run */
    int start_pending;        /* set up, added to the multi by the next run */
    int follow;               /* this hop's answer is a redirect to follow */
    int head_ready;           /* LJH_F_STREAM: the final answer's headers are in */
    ljh_response *head;       /* ...packed then, until ljh_transfer_head */
    int attempts;             /* retries started so far */
    int64_t retry_at;         /* monotonic ms of the next attempt; 0 = none */
    /* LJH_F_BODY_PULL: the piece Lua fed last, sent from upload_off */
    ljh_buf upload;
    size_t upload_off;
    int want_body;            /* the read callback paused for the next piece */
    int body_end;             /* Lua fed the end */
    int body_used;            /* a byte went out: no second hop or attempt */
    int64_t idle_ref_ms;      /* idle_timeout: when a byte last moved */
    curl_off_t idle_bytes;    /* idle_timeout: bytes moved by then */
    int open_errno;           /* this hop: why open_cb had no socket */
    ljh_decoder *dec;         /* options.decompress: this answer's decoder */
    int dec_ready;            /* ...chosen (at the first body byte) */
    char errbuf[CURL_ERROR_SIZE];
};

struct ljh_client {
    CURLM *multi;
    CURLSH *share;
    int epfd;
    unsigned fork_gen;        /* fork_generation when made */
    uint32_t *watched;        /* per fd: events registered in epfd */
    uint32_t *wanted;         /* per fd: events libcurl asks for now */
    unsigned char *owned;     /* per fd: opened by open_cb, closed by close_cb */
    int n_fds;
    int64_t timer_deadline;   /* monotonic ms; -1 = no timer */
    ljh_transfer *head;
    ljh_pooled pool[POOL_MAX];
    int npool;
    ljh_transfer **ready;
    int nready, ready_cap;
    int32_t next_id;
    int running;
    int n_pullable;           /* transfers Lua may pull: ready has room for all */
    int retry_waiting;        /* transfers sleeping before a retry */
    uint64_t h2_origins[H2_ORIGINS]; /* origin_hash of origins seen on HTTP/2 */
    int h2_next;              /* ...next slot to overwrite */
    int64_t budget;           /* bytes this run may still take; < 0 = no bound */
    int64_t budget_end_ms;    /* ...until this monotonic ms */
    int n_budget_paused;      /* transfers paused by the budget */
    int n_start_pending;      /* async transfers not yet added to the multi */
    ljh_buf spare[2];         /* a finished stream's buffers, for the next */
    int nspare;
    char *cookie_file;
    uint64_t key_sig;         /* ljh__transport_no_reuse */
    ljh_client_options opts;
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_FAILED_INIT;
/* Bumped in the child of every fork(): clients compare it instead of
 * calling getpid() on every request. */
static volatile unsigned fork_generation;

static void after_fork_child(void)
{
    fork_generation++;
}

/* Once per process, never cleaned up: other code in the same editor or
 * nginx worker may use libcurl too. */
static void global_init(void)
{
    global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
    pthread_atfork(NULL, NULL, after_fork_child);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t ljh_now_ms(void)
{
    return now_ms();
}

int32_t ljh_abi_version(void)
{
    return LJH_ABI_VERSION;
}

const char *ljh_version(void)
{
    return LJH_VERSION;
}

const char *ljh_curl_version(void)
{
    return curl_version_info(CURLVERSION_NOW)->version;
}

/* ---- libcurl callbacks: they only touch C memory ---- */

static int grow_fds(ljh_client *c, int fd)
{
    if (fd < c->n_fds)
        return 0;
    int n = c->n_fds ? c->n_fds : 64;
    while (n <= fd)
        n *= 2;
    uint32_t *w = realloc(c->watched, (size_t)n * sizeof *w);
    if (!w)
        return -1;
    c->watched = w;
    uint32_t *x = realloc(c->wanted, (size_t)n * sizeof *x);
    if (!x)
        return -1;
    c->wanted = x;
    unsigned char *o = realloc(c->owned, (size_t)n);
    if (!o)
        return -1;
    c->owned = o;
    memset(w + c->n_fds, 0, (size_t)(n - c->n_fds) * sizeof *w);
    memset(x + c->n_fds, 0, (size_t)(n - c->n_fds) * sizeof *x);
    memset(o + c->n_fds, 0, (size_t)(n - c->n_fds));
    c->n_fds = n;
    return 0;
}

static void unwatch(ljh_client *c, int fd)
{
    epoll_ctl(c->epfd, EPOLL_CTL_DEL, fd, NULL); /* may already be closed */
    c->watched[fd] = 0;
}

/* Connection sockets are opened and closed here, so the epoll set can
 * never hold a socket that was closed behind its back: a registration
 * outlives close() when a child process inherited the descriptor, and
 * would then report events forever. They are close-on-exec too. */
static curl_socket_t open_cb(void *clientp, curlsocktype purpose, struct curl_sockaddr *addr)
{
    (void)purpose;
    ljh_transfer *t = clientp; /* the transfer that connects */
    ljh_client *c = t->client;
    int s = socket(addr->family, addr->socktype | SOCK_CLOEXEC, addr->protocol);
    if (s < 0) {
        t->open_errno = errno; /* EMFILE is not "Couldn't connect" */
        return CURL_SOCKET_BAD;
    }
    if (grow_fds(c, s) == 0)
        c->owned[s] = 1;
    return s;
}

static int close_cb(void *clientp, curl_socket_t s)
{
    ljh_client *c = clientp;
    if (s >= 0 && s < c->n_fds) {
        if (c->watched[s])
            epoll_ctl(c->epfd, EPOLL_CTL_DEL, s, NULL);
        c->watched[s] = c->wanted[s] = 0;
        c->owned[s] = 0;
    }
    return close(s);
}

/* Keeps the epoll set in step with what libcurl wants. A connection
 * socket libcurl stops watching (going back to the cache) stays
 * registered until it reports an event or close_cb closes it, so reusing
 * a kept-alive connection costs one epoll_ctl instead of three. Other
 * sockets (the resolver's) are removed at once. A socket reported again
 * after a removal always gets a syscall. */
static int socket_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
    (void)easy;
    (void)socketp;
    ljh_client *c = userp;
    if (s < 0 || grow_fds(c, s) != 0) {
        return -1;
    }
    if (what == CURL_POLL_REMOVE) {
        c->wanted[s] = 0;
        if (!c->owned[s] && c->watched[s])
            unwatch(c, s);
        return 0;
    }
    uint32_t events = ((what & CURL_POLL_IN) ? EPOLLIN : 0u) | ((what & CURL_POLL_OUT) ? EPOLLOUT : 0u);
    int was_idle = c->wanted[s] == 0;
    c->wanted[s] = events ? events : EPOLLERR;
    if (!was_idle && c->watched[s] == events)
        return 0;
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.data.fd = s;
    ev.events = events;
    int rc = epoll_ctl(c->epfd, c->watched[s] ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, s, &ev);
    if (rc != 0 && errno == ENOENT)
        rc = epoll_ctl(c->epfd, EPOLL_CTL_ADD, s, &ev);
    else if (rc != 0 && errno == EEXIST)
        rc = epoll_ctl(c->epfd, EPOLL_CTL_MOD, s, &ev);
    c->watched[s] = rc == 0 ? events : 0;
    return 0;
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    (void)multi;
    ljh_client *c = userp;
    c->timer_deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
    return 0;
}

static void check_fork(ljh_client *c);

/* A transfer used in a forked child ends with its client's fork check. */
static void transfer_check_fork(const ljh_transfer *t)
{
    if (t->client)
        check_fork(t->client);
}

static void push_ready(ljh_transfer *t)
{
    ljh_client *c = t->client;
    if (!c || t->queued || t->sync)
        return;
    if (c->nready == c->ready_cap)
        return; /* cannot happen: submit reserved a slot per transfer */
    c->ready[c->nready++] = t;
    t->queued = 1;
}

static int64_t retry_delay(ljh_transfer *t, CURLcode rc);

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

static size_t header_cb(char *data, size_t size, size_t nmemb, void *userp)
{
    ljh_transfer *t = userp;
    size_t n = size * nmemb;
    t->idle_ref_ms = now_ms(); /* header bytes count for idle_timeout */
    int was_done = t->col.headers_done;
    size_t heads = t->col.n_informational;
    ljh_error err = ljh__collect_header(&t->col, data, n);
    if (err) {
        t->col.abort_error = err;
        return 0;
    }
    if (!was_done && t->col.headers_done) {
        /* RFC 9112 6.3: both framings at once is how responses get split;
         * refuse it rather than pick one. */
        long status = 0;
        size_t len;
        curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
        if (status >= 200 && ljh__collect_find(&t->col, "transfer-encoding", &len) &&
            ljh__collect_find(&t->col, "content-length", &len)) {
            t->col.abort_error = LJH_E_PROTOCOL;
            t->col.abort_why = "the response has both Content-Length and Transfer-Encoding";
            return 0;
        }
    }
    if (t->col.n_informational != heads) { /* a status line */
        t->follow = 0;
    } else if (t->col.headers_done && !(t->plan.flags & LJH_F_NO_FOLLOW)) {
        long status = 0;
        size_t len;
        curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
        t->follow = (status == 301 || status == 302 || status == 303 || status == 307 ||
                     status == 308) &&
                    ljh__collect_find(&t->col, "location", &len) != NULL && len > 0;
    }
    if ((t->plan.flags & LJH_F_STREAM) && t->col.headers_done && !t->head_ready && !t->follow) {
        /* The answer a stream will deliver (not a 1xx, a redirect being
         * followed or a 429/503 about to be retried): tell Lua. */
        long status = 0;
        curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
        /* (a status over 999 is refused when the transfer ends) */
        if (status >= 200 && status <= 999 && retry_delay(t, CURLE_OK) < 0) {
            /* Packed now: the transfer may be over before Lua asks. */
            t->head_ready = 1;
            ljh_response_free(t->head);
            t->head = pack_head(t);
            push_ready(t);
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
    if (c->budget == 0 || now_ms() >= c->budget_end_ms) {
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

/* A transfer that ended is no longer the budget's to resume. */
static void budget_forget(ljh_transfer *t)
{
    if (t->budget_paused && t->client)
        t->client->n_budget_paused--;
    t->budget_paused = 0;
    if (t->start_pending && t->client)
        t->client->n_start_pending--;
    t->start_pending = 0;
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
        push_ready(t);
    return LJH_OK;
}

static ljh_error decoded_cb(void *ctx, const char *data, size_t n)
{
    return keep_bytes(ctx, data, n);
}

static size_t write_cb(char *data, size_t size, size_t nmemb, void *userp)
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
                t->col.abort_why = why;
        }
        if (!err && t->dec) {
            err = ljh__decoder_feed(t->dec, data, n, decoded_cb, t);
            if (err == LJH_E_PROTOCOL)
                t->col.abort_why = ljh__decoder_why(t->dec);
            goto out;
        }
    }
    if (!err)
        err = keep_bytes(t, data, n);
out:
    if (err) {
        t->col.abort_error = err;
        return 0;
    }
    return n;
}

/* LJH_F_BODY_PULL: libcurl asks for body bytes. What Lua fed goes out;
 * with nothing left the upload pauses and the id is queued, so Lua pulls
 * the next piece from its body function and feeds it (no call into Lua). */
static size_t pull_read_cb(char *buf, size_t size, size_t nitems, void *userp)
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
    push_ready(t);
    return CURL_READFUNC_PAUSE;
}

/* idle_timeout to the second. libcurl's own low-speed check averages the
 * speed over 5 s, so a stall after a few bytes took idle_timeout + 5 s to
 * notice. While a low-speed limit is set (request.c sets one) libcurl
 * calls this at least once a second, also when nothing arrives. The clock
 * starts once the request is on its way: connecting has connect_timeout. */
static int xferinfo_cb(void *userp, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    (void)dltotal;
    (void)ultotal;
    ljh_transfer *t = userp;
    if (!t || !t->easy || t->plan.idle_timeout_ms <= 0)
        return 0;
    int64_t now = now_ms();
    curl_off_t moved = dlnow + ulnow, pre = 0;
    if (moved != t->idle_bytes || t->paused || t->budget_paused ||
        (curl_easy_getinfo(t->easy, CURLINFO_PRETRANSFER_TIME_T, &pre) == CURLE_OK && pre == 0)) {
        t->idle_bytes = moved;
        t->idle_ref_ms = now;
        return 0;
    }
    if (now - t->idle_ref_ms < t->plan.idle_timeout_ms)
        return 0;
    t->col.abort_error = LJH_E_TIMEOUT;
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
static int debug_cb(CURL *easy, curl_infotype type, char *data, size_t size, void *userp)
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

/* ---- easy handles ---- */

static void easy_get(ljh_client *c, ljh_transfer *t)
{
    if (c->npool) {
        ljh_pooled *p = &c->pool[--c->npool];
        t->easy = p->easy;
        t->profile = p->profile;
    } else {
        t->easy = curl_easy_init();
        memset(&t->profile, 0, sizeof t->profile);
    }
}

/* Each CURLOPT_COOKIEFILE "" (setup_hop) stays in a list on the handle
 * until curl_easy_cleanup: it would grow by one entry per hop on a pooled
 * handle, and libcurl 7.88's curl_easy_reset leaks it (17 bytes a reset).
 * NULL empties the list; the shared jar keeps its cookies. */
static void forget_cookie_files(CURL *e)
{
    curl_easy_setopt(e, CURLOPT_COOKIEFILE, (char *)NULL);
}

static void easy_put(ljh_client *c, ljh_transfer *t)
{
    CURL *e = t->easy;
    if (!e)
        return;
    t->easy = NULL;
    if (c && c->share)
        forget_cookie_files(e);
    if (c && c->npool < POOL_MAX) {
        if (t->profile.plain) {
            /* Nothing may point at the transfer once it is gone. */
            curl_easy_setopt(e, CURLOPT_PRIVATE, NULL);
            curl_easy_setopt(e, CURLOPT_ERRORBUFFER, NULL);
            curl_easy_setopt(e, CURLOPT_WRITEDATA, NULL);
            curl_easy_setopt(e, CURLOPT_HEADERDATA, NULL);
            curl_easy_setopt(e, CURLOPT_XFERINFODATA, NULL);
            curl_easy_setopt(e, CURLOPT_HTTPHEADER, NULL);
        } else {
            curl_easy_reset(e); /* keeps libcurl's caches, drops our options */
        }
        c->pool[c->npool].easy = e;
        c->pool[c->npool].profile = t->profile;
        c->npool++;
    } else {
        curl_easy_cleanup(e);
    }
}

static void profile_of(const ljh_plan *p, ljh_profile *out)
{
    memset(out, 0, sizeof *out);
    const ljh_transport *tr = &p->transport;
    size_t ml = strlen(p->method);
    out->plain = !p->has_body && !p->cookie && !p->user && ml < sizeof out->method &&
                 !(p->flags & (LJH_F_INSECURE | LJH_F_VERBOSE | LJH_F_DECOMPRESS | LJH_F_NO_PROXY)) &&
                 !tr->proxy && !tr->proxy_user && !tr->no_proxy && !tr->ca_file && !tr->ca_path &&
                 !tr->client_cert && !tr->client_key && !tr->pinned && !tr->unix_socket &&
                 !tr->http_version && !tr->tls_min && !p->bodies.output && !p->bodies.body_file && !p->bodies.n_parts && !p->pull &&
                 (strcmp(p->method, "GET") == 0 || strcmp(p->method, "HEAD") == 0);
    if (!out->plain)
        return;
    memcpy(out->method, p->method, ml + 1);
    out->connect_timeout_ms = p->connect_timeout_ms;
    out->idle_timeout_ms = p->idle_timeout_ms;
    out->max_body = p->max_body;
}

static int profile_same(const ljh_profile *a, const ljh_profile *b)
{
    return a->plain && b->plain && strcmp(a->method, b->method) == 0 &&
           a->connect_timeout_ms == b->connect_timeout_ms &&
           a->idle_timeout_ms == b->idle_timeout_ms && a->max_body == b->max_body;
}

/* HTTP/2 may carry every transfer to a host on one connection: a batch to
 * an https server waits for the first connection's ALPN answer instead of
 * opening (and handshaking) one connection per transfer. Not in clear
 * text, where libcurl would only know after the first response. */
/* FNV-1a of a URL's scheme://host:port, lower-cased, without user info
 * (never 0). */
static uint64_t origin_hash(const char *url)
{
    const char *sep = url ? strstr(url, "://") : NULL;
    if (!sep)
        return 1;
    const char *auth = sep + 3;
    size_t alen = strcspn(auth, "/?#");
    const char *host = auth;
    for (const char *c = auth; c < auth + alen; c++)
        if (*c == '@')
            host = c + 1;
    uint64_t h = 1469598103934665603ULL;
    for (const char *c = url; c < auth + alen; c++) {
        if (c == auth)
            c = host;
        if (c >= auth + alen)
            break;
        unsigned char b = (unsigned char)*c;
        h = (h ^ (b >= 'A' && b <= 'Z' ? b + 32 : b)) * 1099511628211ULL;
    }
    return h | 1;
}

static int origin_h2(const ljh_client *c, const char *url)
{
    uint64_t h = origin_hash(url);
    for (int i = 0; i < H2_ORIGINS; i++)
        if (c->h2_origins[i] == h)
            return 1;
    return 0;
}

/* After a hop answered over HTTP/2 or 3: later requests to its origin
 * wait to share the connection (CURLOPT_PIPEWAIT). */
static void remember_h2(ljh_client *c, ljh_transfer *t)
{
    long v = 0;
    if (!c || !t->easy || curl_easy_getinfo(t->easy, CURLINFO_HTTP_VERSION, &v) != CURLE_OK ||
        v < CURL_HTTP_VERSION_2_0 || origin_h2(c, t->plan.url))
        return;
    c->h2_origins[c->h2_next] = origin_hash(t->plan.url);
    c->h2_next = (c->h2_next + 1) % H2_ORIGINS;
}

static CURLcode setup_hop(ljh_transfer *t)
{
    CURL *e = t->easy;
    ljh_client *c = t->client;
    struct curl_slist *list = ljh__plan_headers(&t->plan);
    if (!list)
        return CURLE_OUT_OF_MEMORY;
    curl_slist_free_all(t->slist);
    t->slist = list;
    t->errbuf[0] = '\0';
    t->follow = 0;
    t->head_ready = 0;
    t->hop_bytes = 0;
    t->open_errno = 0;
    ljh__decoder_free(t->dec);
    t->dec = NULL;
    t->dec_ready = 0;
    ljh_profile want;
    profile_of(&t->plan, &want);
    CURLcode rc;
    if (c->share) /* see forget_cookie_files */
        forget_cookie_files(e);
    if (profile_same(&want, &t->profile)) {
        /* Configured for an equivalent request: only what differs. */
        int64_t left = 0;
        if (t->plan.timeout_ms > 0) {
            left = t->plan.timeout_ms - (now_ms() - t->started_ms);
            left = left < 1 ? 1 : left;
        }
        rc = curl_easy_setopt(e, CURLOPT_URL, t->plan.url);
        if (rc == CURLE_OK)
            rc = curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)left);
    } else {
        curl_easy_reset(e);
        rc = ljh__plan_apply(&t->plan, e, now_ms() - t->started_ms);
        if (rc == CURLE_OK)
            rc = curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, open_cb);
        if (rc == CURLE_OK)
            rc = curl_easy_setopt(e, CURLOPT_CLOSESOCKETFUNCTION, close_cb);
        if (rc == CURLE_OK)
            rc = curl_easy_setopt(e, CURLOPT_CLOSESOCKETDATA, c);
    }
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, t);
    t->profile = want;
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->slist);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(e, CURLOPT_PRIVATE, t);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->errbuf);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(e, CURLOPT_HEADERDATA, t);
    int fresh = ljh__transport_no_reuse(&t->plan.transport, &c->key_sig);
    if (rc == CURLE_OK && fresh)
        rc = curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
    if (rc == CURLE_OK && fresh)
        rc = curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(e, CURLOPT_PIPEWAIT,
                              fresh ? 0L
                                    : ljh__transport_pipewait(&t->plan.transport, t->plan.url,
                                                              origin_h2(c, t->plan.url)));
    if (rc == CURLE_OK && t->plan.pull) {
        rc = curl_easy_setopt(e, CURLOPT_READFUNCTION, pull_read_cb);
        if (rc == CURLE_OK)
            rc = curl_easy_setopt(e, CURLOPT_READDATA, t);
    }
    t->idle_ref_ms = now_ms();
    t->idle_bytes = -1;
    if (rc == CURLE_OK && t->plan.idle_timeout_ms > 0) {
        rc = curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, xferinfo_cb);
        if (rc == CURLE_OK)
            rc = curl_easy_setopt(e, CURLOPT_XFERINFODATA, t);
        if (rc == CURLE_OK)
            rc = curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
    }
    if (rc == CURLE_OK && (t->plan.flags & LJH_F_VERBOSE)) {
        rc = curl_easy_setopt(e, CURLOPT_DEBUGFUNCTION, debug_cb);
        if (rc == CURLE_OK)
            rc = curl_easy_setopt(e, CURLOPT_DEBUGDATA, t);
        if (rc == CURLE_OK)
            rc = curl_easy_setopt(e, CURLOPT_VERBOSE, 1L);
    }
    if (rc == CURLE_OK && c->share) {
        rc = curl_easy_setopt(e, CURLOPT_SHARE, c->share);
        if (rc == CURLE_OK) /* "" turns the cookie engine on, reads no file */
            rc = curl_easy_setopt(e, CURLOPT_COOKIEFILE, "");
    }
    return rc;
}

/* ---- finishing ---- */

static void freeze_progress(ljh_transfer *t)
{
    if (!t->easy)
        return;
    curl_off_t v = 0;
    ljh_progress *p = &t->progress;
    if (curl_easy_getinfo(t->easy, CURLINFO_SIZE_DOWNLOAD_T, &v) == CURLE_OK)
        p->downloaded = v;
    if (curl_easy_getinfo(t->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &v) == CURLE_OK)
        p->download_total = v > 0 ? v : 0;
    if (curl_easy_getinfo(t->easy, CURLINFO_SIZE_UPLOAD_T, &v) == CURLE_OK)
        p->uploaded = v;
    if (curl_easy_getinfo(t->easy, CURLINFO_CONTENT_LENGTH_UPLOAD_T, &v) == CURLE_OK)
        p->upload_total = v > 0 ? v : 0;
}

/* Blanks every copy of secret in msg (same length, so nothing moves). */
static void mask(char *msg, const char *secret)
{
    size_t sl = secret ? strlen(secret) : 0;
    char *p;
    while (sl && (p = strstr(msg, secret)) != NULL)
        memset(p, '*', sl);
}

/* Go prints the method as "Get", "Post": keep its shape. */
static void go_method(const char *m, char *out, size_t cap)
{
    ljh__msg(out, cap, "%s", m ? m : "");
    for (size_t i = 1; out[0] && out[i]; i++)
        if (out[i] >= 'A' && out[i] <= 'Z')
            out[i] = (char)(out[i] + 32);
}

static void error_message(ljh_transfer *t, ljh_error code, CURLcode rc, char *out, size_t cap)
{
    char url[1024];
    char method[LJH_MAX_METHOD_LEN + 1];
    ljh__safe_url(t->plan.url ? t->plan.url : "", url, sizeof url);
    if (strlen(url) > 160) /* the reason must fit in the message */
        memcpy(url + 157, "...", 4);
    go_method(t->plan.method, method, sizeof method);
    const char *why;
    char buf[256];
    switch (t->col.abort_error ? t->col.abort_error : LJH_OK) {
    case LJH_E_TOO_LARGE:
        /* libcurl says CURLE_WRITE_ERROR for a header callback abort too:
         * only a body arrives after the blank line. */
        if (t->col.headers_done)
            ljh__msg(buf, sizeof buf, "response body is larger than max_body_size (%lld bytes)",
                     (long long)t->plan.max_body);
        else
            ljh__msg(buf, sizeof buf, "response headers are too large (at most %d headers, %d bytes, "
                     "%d bytes per line)", LJH_MAX_RESP_HEADERS, LJH_MAX_RESP_HEADER_BYTES,
                     CURL_MAX_HTTP_HEADER);
        why = buf;
        break;
    case LJH_E_TIMEOUT:
        ljh__msg(buf, sizeof buf, "no byte received or sent for %lld ms (idle_timeout)",
                 (long long)t->plan.idle_timeout_ms);
        why = buf;
        break;
    case LJH_E_PROTOCOL:
        why = t->col.abort_why ? t->col.abort_why : "too many informational (1xx) responses";
        break;
    case LJH_E_OUT_OF_MEMORY:
        why = "out of memory";
        break;
    default:
        if (t->plan.bodies.errmsg[0]) { /* a file of options.output/body_file */
            why = t->plan.bodies.errmsg;
        } else if (code == LJH_E_TOO_LARGE && rc == CURLE_FILESIZE_EXCEEDED) {
            ljh__msg(buf, sizeof buf,
                     "response body is larger than max_body_size (%lld bytes)",
                     (long long)t->plan.max_body);
            why = buf;
        } else {
            why = t->errbuf[0] ? t->errbuf : curl_easy_strerror(rc);
        }
        break;
    }
    ljh__msg(out, cap, "%s \"%s\": %s", method, url, why);
    mask(out, t->plan.pass);
    mask(out, t->plan.transport.proxy_pass);
}

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
static int64_t retry_delay(ljh_transfer *t, CURLcode rc)
{
    const ljh_plan *p = &t->plan;
    int idle = t->col.abort_error == LJH_E_TIMEOUT; /* xferinfo_cb's idle_timeout */
    if (t->attempts >= p->transport.retries || !idempotent(p->method) ||
        (t->col.abort_error && !idle) || (p->pull && t->body_used))
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
    if (p->timeout_ms > 0 && now_ms() - t->started_ms + delay >= p->timeout_ms)
        return -1;
    return delay;
}

/* Whether a block larger than what libcurl's header buffer wanted can be
 * had now (tells its header limit from a real shortage). */
static int memory_left(void)
{
    void *p = malloc(4 * CURL_MAX_HTTP_HEADER);
    free(p);
    return p != NULL;
}

static void finish(ljh_transfer *t, CURLcode rc)
{
    ljh_client *c = t->client;
    if (!t->col.abort_error && t->plan.bodies.error) /* a body callback aborted */
        t->col.abort_error = t->plan.bodies.error;
    /* libcurl 7.88 refuses a header line over CURL_MAX_HTTP_HEADER (100 KiB)
     * with CURLE_OUT_OF_MEMORY and no message: a response too large, not a
     * failed malloc, when it happens after the status line and memory is
     * still there. */
    if (rc == CURLE_OUT_OF_MEMORY && !t->col.abort_error && !t->col.headers_done &&
        t->col.n_informational > 0 && memory_left())
        t->col.abort_error = LJH_E_TOO_LARGE;
    /* libcurl >= 8.6 says CURLE_TOO_LARGE (100) of headers or a body over
     * its own limits: the same answer, and message, as ljhttp's limits. */
    if ((int)rc == 100 && !t->col.abort_error)
        t->col.abort_error = LJH_E_TOO_LARGE;
    int64_t delay = c ? retry_delay(t, rc) : -1;
    if (delay >= 0) {
        t->col.abort_error = LJH_OK; /* an idle timeout being retried */
        t->attempts++;
        t->retry_at = now_ms() + delay;
        if (t->retry_at == 0)
            t->retry_at = 1;
        c->retry_waiting++;
        ljh__collect_reset_hop(&t->col);
        return;
    }
    freeze_progress(t);
    if (rc == CURLE_OK)
        remember_h2(c, t);
    long final_status = 0;
    if (rc == CURLE_OK && !t->col.abort_error &&
        curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &final_status) == CURLE_OK &&
        (final_status < 100 || final_status > 999)) {
        /* libcurl reads "HTTP/201 200" as status 1: not a 3-digit status */
        rc = CURLE_WEIRD_SERVER_REPLY;
        ljh__msg(t->errbuf, sizeof t->errbuf, "malformed HTTP status code %ld", final_status);
    } else if (rc == CURLE_OK && !t->col.abort_error && !t->col.headers_done) {
        /* libcurl takes a close before the blank line as the end */
        rc = CURLE_RECV_ERROR;
        ljh__msg(t->errbuf, sizeof t->errbuf,
                 "the connection closed before the end of the response headers");
    }
    if (rc == CURLE_OK && !t->col.abort_error && t->dec && ljh__decoder_finish(t->dec)) {
        /* a compressed body that stops before its stream ends */
        t->col.abort_error = LJH_E_PROTOCOL;
        t->col.abort_why = ljh__decoder_why(t->dec);
    }
    if (rc == CURLE_OK && !t->col.abort_error) /* options.output: into place */
        t->col.abort_error = ljh__bodies_commit(&t->plan.bodies, t->easy);
    if (rc == CURLE_OK && !t->col.abort_error) {
        t->resp = ljh__response_pack(&t->col, t->easy);
        if (!t->resp)
            t->resp = ljh__response_new_error(LJH_E_OUT_OF_MEMORY, "out of memory");
        ljh__bodies_report(&t->plan.bodies, t->resp);
        if (t->plan.flags & LJH_F_DECODE_JSON)
            ljh__response_parse_json(t->resp);
    } else {
        ljh_error code = t->col.abort_error ? t->col.abort_error
                                             : ljh__error_of_transfer(rc, &t->plan.transport);
        if (code == LJH_E_CONNECT && (t->open_errno == EMFILE || t->open_errno == ENFILE)) {
            /* out of descriptors: the server was never tried */
            code = LJH_E_IO;
            ljh__msg(t->errbuf, sizeof t->errbuf, "cannot open a socket: too many open files (%s)",
                     t->open_errno == EMFILE ? "the process's limit, ulimit -n" : "the system's limit");
        }
        /* The proxy answered CONNECT with an error (407, 403...): there is
         * no response to return, and no connection to the server. */
        long proxy_code = 0;
        if (code == LJH_E_NETWORK && t->easy &&
            curl_easy_getinfo(t->easy, CURLINFO_HTTP_CONNECTCODE, &proxy_code) == CURLE_OK &&
            proxy_code >= 300)
            code = LJH_E_CONNECT;
        char msg[sizeof t->resp->errmsg];
        error_message(t, code, rc, msg, sizeof msg);
        t->resp = ljh__response_new_error(code, msg);
    }
    ljh__response_finish(t->resp, &t->col, t->attempts);
    ljh__decoder_free(t->dec);
    t->dec = NULL;
    easy_put(c, t);
    curl_slist_free_all(t->slist);
    t->slist = NULL;
    ljh__collect_free(&t->col);
    ljh__plan_free(&t->plan);
    t->done = 1;
    if (c)
        c->running--;
    budget_forget(t);
    push_ready(t);
}

static void fail(ljh_transfer *t, ljh_error code, const char *msg)
{
    if (t->retry_at && t->client)
        t->client->retry_waiting--;
    t->retry_at = 0;
    if (t->easy && t->client)
        curl_multi_remove_handle(t->client->multi, t->easy);
    t->col.abort_error = LJH_OK;
    freeze_progress(t);
    easy_put(t->client, t);
    curl_slist_free_all(t->slist);
    t->slist = NULL;
    t->resp = ljh__response_new_error(code, msg);
    ljh__response_finish(t->resp, &t->col, t->attempts);
    ljh__decoder_free(t->dec);
    t->dec = NULL;
    ljh__collect_free(&t->col);
    ljh__plan_free(&t->plan);
    t->done = 1;
    if (t->client)
        t->client->running--;
    budget_forget(t);
    push_ready(t);
}

/* A hop that could not be set up: a file of the request's bodies says
 * why when it was one (io), else it is ours. */
static void fail_start(ljh_transfer *t, const char *what)
{
    const ljh_bodies *b = &t->plan.bodies;
    fail(t, b->error ? b->error : LJH_E_INTERNAL, b->errmsg[0] ? b->errmsg : what);
}

/* The hop ended with a redirect to follow: check and start the next. */
static void next_hop(ljh_transfer *t)
{
    ljh_client *c = t->client;
    char msg[256];
    char *loc = NULL;
    long status = 0;
    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
    if (curl_easy_getinfo(t->easy, CURLINFO_REDIRECT_URL, &loc) != CURLE_OK || !loc) {
        curl_multi_remove_handle(c->multi, t->easy);
        finish(t, CURLE_OK); /* no usable Location: the 3xx is the answer */
        return;
    }
    size_t hops = t->col.redir_refs.len / sizeof(ljh_hdr_ref);
    if ((int)hops >= t->plan.max_redirects) {
        char url[1024], method[LJH_MAX_METHOD_LEN + 1];
        ljh__safe_url(t->plan.url, url, sizeof url);
        go_method(t->plan.method, method, sizeof method);
        ljh__msg(msg, sizeof msg, "%s \"%s\": stopped after %d redirects", method, url,
                 t->plan.max_redirects);
        fail(t, LJH_E_TOO_MANY_REDIRECTS, msg);
        return;
    }
    char *where = strdup(loc);
    char here[1024];
    ljh__safe_url(t->plan.url, here, sizeof here);
    ljh_error err = where ? ljh__collect_redirect(&t->col, here, (int)status) : LJH_E_OUT_OF_MEMORY;
    if (!err)
        err = ljh__plan_redirect(&t->plan, where, (int)status, msg, sizeof msg);
    free(where);
    curl_multi_remove_handle(c->multi, t->easy);
    if (err) {
        fail(t, err, err == LJH_E_OUT_OF_MEMORY ? "out of memory" : msg);
        return;
    }
    if (t->plan.pull && t->body_used) {
        fail(t, LJH_E_INVALID_ARGUMENT,
             "the body function was read once: it cannot be sent again to a redirect");
        return;
    }
    ljh__collect_reset_hop(&t->col);
    if (setup_hop(t) != CURLE_OK || curl_multi_add_handle(c->multi, t->easy) != CURLM_OK)
        fail_start(t, "could not start the redirected request");
}

static void collect_finished(ljh_client *c)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(c->multi, &left)) != NULL) {
        if (m->msg != CURLMSG_DONE)
            continue;
        ljh_transfer *t = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&t);
        if (!t || t->done)
            continue;
        CURLcode rc = m->data.result;
        if (rc == CURLE_OK && t->follow) {
            next_hop(t);
            continue;
        }
        curl_multi_remove_handle(c->multi, t->easy);
        finish(t, rc);
    }
}

/* ---- clients ---- */

static int client_init(ljh_client *c)
{
    c->fork_gen = fork_generation;
    if (c->n_fds) { /* NULL until the first socket: memset(NULL, 0, 0) is UB */
        memset(c->watched, 0, (size_t)c->n_fds * sizeof *c->watched);
        memset(c->wanted, 0, (size_t)c->n_fds * sizeof *c->wanted);
        memset(c->owned, 0, (size_t)c->n_fds);
    }
    c->timer_deadline = -1;
    c->key_sig = 0; /* no connection kept yet */
    c->epfd = epoll_create1(EPOLL_CLOEXEC);
    c->multi = curl_multi_init();
    if (c->epfd < 0 || !c->multi)
        return -1;
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
    /* libcurl keeps 4 idle connections per transfer in flight: a burst
     * that ebbs closes the rest, and the next burst reconnects (16 % of
     * requests at c=50 in bench/openresty.sh) */
    curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, 256L);
    if (c->opts.max_connections > 0)
        curl_multi_setopt(c->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)c->opts.max_connections);
    if (c->opts.max_host_connections > 0)
        curl_multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
                          (long)c->opts.max_host_connections);
    if (c->opts.cookie_jar || c->cookie_file) {
        c->share = curl_share_init();
        if (!c->share ||
            curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_COOKIE) != CURLSHE_OK)
            return -1;
    }
    if (c->cookie_file) {
        /* Load the jar now into the share; a missing file is an empty jar. */
        CURL *e = curl_easy_init();
        if (!e)
            return -1;
        curl_easy_setopt(e, CURLOPT_SHARE, c->share);
        curl_easy_setopt(e, CURLOPT_COOKIEFILE, c->cookie_file);
        curl_easy_setopt(e, CURLOPT_COOKIELIST, "RELOAD");
        curl_easy_cleanup(e);
    }
    return 0;
}

int32_t ljh_cookie_file_check(const char *path, char *errmsg, int32_t errlen)
{
    size_t cap = errlen > 0 ? (size_t)errlen : 0;
    if (!path || !path[0]) {
        ljh__msg(errmsg, cap, "cookie_jar path must be a non-empty string");
        return LJH_E_INVALID_ARGUMENT;
    }
    if (ljh__check_writable_path(path, "cookie_jar", errmsg, cap) != 0)
        return LJH_E_INVALID_ARGUMENT;
    return LJH_OK;
}

int32_t ljh_client_save_cookies(ljh_client *c, char *errmsg, int32_t errlen)
{
    size_t cap = errlen > 0 ? (size_t)errlen : 0;
    if (!c || !c->cookie_file) {
        ljh__msg(errmsg, cap, "this client has no cookie file");
        return LJH_E_INVALID_ARGUMENT;
    }
    CURL *e = curl_easy_init();
    struct curl_slist *list = NULL;
    if (!e)
        return LJH_E_OUT_OF_MEMORY;
    curl_easy_setopt(e, CURLOPT_SHARE, c->share);
    curl_easy_setopt(e, CURLOPT_COOKIEFILE, "");
    curl_easy_getinfo(e, CURLINFO_COOKIELIST, &list);
    /* Written beside the jar and renamed over it: a crash mid-write leaves
     * the old jar whole. */
    size_t n = strlen(c->cookie_file) + 16;
    char *tmp = malloc(n);
    int fd = -1;
    ljh_error err = LJH_OK;
    if (!tmp) {
        err = LJH_E_OUT_OF_MEMORY;
        goto out;
    }
    snprintf(tmp, n, "%s.tmp.XXXXXX", c->cookie_file);
    fd = mkostemp(tmp, O_CLOEXEC);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        ljh__msg(errmsg, cap, "cannot write the cookie jar beside %s: %s", c->cookie_file,
                 strerror(errno));
        err = LJH_E_IO;
        if (fd >= 0) { /* fdopen failed: memory, and a file to remove */
            close(fd);
            unlink(tmp);
            err = LJH_E_OUT_OF_MEMORY;
        }
        goto out;
    }
    fd = -1;
    int bad = fputs("# Netscape HTTP Cookie File\n# Written by ljhttp.\n\n", f) < 0;
    for (struct curl_slist *l = list; l && !bad; l = l->next)
        bad = fputs(l->data, f) < 0 || fputc('\n', f) < 0;
    bad = fflush(f) != 0 || fsync(fileno(f)) != 0 || bad;
    bad = fclose(f) != 0 || bad;
    if (bad || rename(tmp, c->cookie_file) != 0) {
        ljh__msg(errmsg, cap, "cannot write the cookie jar %s: %s", c->cookie_file,
                 strerror(errno));
        unlink(tmp);
        err = LJH_E_IO;
    }
out:
    free(tmp);
    curl_slist_free_all(list);
    curl_easy_cleanup(e);
    return err;
}

/* After fork() the child must not touch the parent's connections (a TLS
 * close_notify would end the parent's session): abandon them, start anew. */
static void check_fork(ljh_client *c)
{
    if (c->fork_gen == fork_generation)
        return;
    for (ljh_transfer *t = c->head; t; t = t->next) {
        if (t->done)
            continue;
        t->easy = NULL; /* owned by the abandoned multi */
        fail(t, LJH_E_CLOSED, "the process forked while this request was running");
    }
    if (c->epfd >= 0)
        close(c->epfd);
    c->npool = 0;
    c->multi = NULL;
    c->share = NULL;
    c->running = 0;
    client_init(c);
}

ljh_client *ljh_client_new(const ljh_client_options *opts)
{
    pthread_once(&global_once, global_init);
    if (global_rc != CURLE_OK)
        return NULL;
    ljh_client *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->epfd = -1;
    if (opts) {
        c->opts = *opts;
        c->opts.cookie_file.ptr = NULL; /* borrowed: copied below */
        if (opts->cookie_file.ptr) {
            const char *p = opts->cookie_file.ptr;
            size_t n = opts->cookie_file.len;
            if (n == 0 || n > 4096 || memchr(p, '\0', n) || !(c->cookie_file = malloc(n + 1))) {
                ljh_client_free(c);
                return NULL;
            }
            memcpy(c->cookie_file, p, n);
            c->cookie_file[n] = '\0';
            char msg[256];
            /* libcurl would fopen() it: a FIFO would block for ever */
            if (ljh__check_writable_path(c->cookie_file, "cookie_jar", msg, sizeof msg) != 0) {
                ljh_client_free(c);
                return NULL;
            }
        }
    }
    if (client_init(c) != 0) {
        ljh_client_free(c);
        return NULL;
    }
    return c;
}

void ljh_client_free(ljh_client *c)
{
    if (!c)
        return;
    int forked = c->fork_gen != fork_generation;
    for (ljh_transfer *t = c->head; t; t = t->next) {
        if (t->done)
            continue;
        if (forked)
            t->easy = NULL; /* the parent's: never touched in the child */
        fail(t, LJH_E_CLOSED, forked ? "the process forked while this request was running"
                                     : "the client was closed");
    }
    for (ljh_transfer *t = c->head, *next; t; t = next) {
        next = t->next;
        t->client = NULL;
        t->prev = t->next = NULL;
        t->queued = 0;
    }
    if (c->fork_gen == fork_generation) {
        for (int i = 0; i < c->npool; i++)
            curl_easy_cleanup(c->pool[i].easy);
        if (c->multi)
            curl_multi_cleanup(c->multi);
        if (c->share)
            curl_share_cleanup(c->share);
    }
    if (c->epfd >= 0)
        close(c->epfd);
    for (int i = 0; i < c->nspare; i++)
        ljh__buf_free(&c->spare[i]);
    free(c->ready);
    free(c->watched);
    free(c->wanted);
    free(c->owned);
    free(c->cookie_file);
    free(c);
}

/* The client keeps the buffers of a finished stream (memory already
 * faulted in) for its next stream; too large ones, or with no client
 * left, are freed. */
static void spare_put(ljh_client *c, ljh_buf *b)
{
    if (c && b->p && b->cap <= LJH_STREAM_SPARE_MAX &&
        c->nspare < (int)(sizeof c->spare / sizeof c->spare[0])) {
        b->len = 0;
        b->p[0] = '\0';
        c->spare[c->nspare++] = *b;
        *b = (ljh_buf){0};
        return;
    }
    ljh__buf_free(b);
}

static void spare_get(ljh_client *c, ljh_buf *b)
{
    if (c->nspare > 0)
        *b = c->spare[--c->nspare];
}

static ljh_transfer *submit(ljh_client *c, const ljh_request *req, int sync)
{
    if (!sync && c->n_pullable >= c->ready_cap) {
        /* Room in the ready list for every transfer Lua may pull, taken
         * now so that finishing one can never fail to announce it. */
        int cap = c->ready_cap ? c->ready_cap * 2 : 64;
        ljh_transfer **p = realloc(c->ready, (size_t)cap * sizeof *p);
        if (!p)
            return NULL;
        c->ready = p;
        c->ready_cap = cap;
    }
    ljh_transfer *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->client = c;
    t->sync = sync;
    t->pullable = !sync;
    c->n_pullable += !sync;
    t->started_ms = now_ms();
    t->id = c->next_id = c->next_id == INT32_MAX ? 1 : c->next_id + 1;
    t->next = c->head;
    if (c->head)
        c->head->prev = t;
    c->head = t;
    c->running++;
    char msg[sizeof t->resp->errmsg];
    msg[0] = '\0';
    ljh_error err = ljh__plan_init(&t->plan, req, sync, msg, sizeof msg);
    if (!err && sync && t->plan.pull) {
        err = LJH_E_INVALID_ARGUMENT;
        ljh__msg(msg, sizeof msg, "a pulled body (LJH_F_BODY_PULL) needs ljh_client_submit");
    }
    if (err) {
        fail(t, err, msg);
        return t;
    }
    if (t->plan.flags & LJH_F_STREAM) {
        /* A stream is consumed as it comes: no size limit unless asked. */
        if (req->max_body_size == 0)
            t->plan.max_body = -1;
        spare_get(c, &t->stream);
        spare_get(c, &t->taken);
    }
    easy_get(c, t);
    if (!t->easy) {
        fail(t, LJH_E_OUT_OF_MEMORY, "out of memory");
        return t;
    }
    CURLcode rc = setup_hop(t);
    if (rc != CURLE_OK) {
        ljh_error code = t->plan.bodies.error ? t->plan.bodies.error : ljh__error_from_curl(rc);
        error_message(t, code, rc, msg, sizeof msg);
        fail(t, code, msg);
        return t;
    }
    if (!sync) {
        /* started by the next run, a bounded number per run */
        t->start_pending = 1;
        c->n_start_pending++;
        return t;
    }
    if (curl_multi_add_handle(c->multi, t->easy) != CURLM_OK)
        fail(t, LJH_E_INTERNAL, "could not start the request");
    return t;
}

/* Adds up to max submitted transfers to the multi, oldest first. */
static void start_pending(ljh_client *c, int max)
{
    if (!c->n_start_pending)
        return;
    ljh_transfer *t = c->head;
    while (t && t->next)
        t = t->next;
    for (; t && c->n_start_pending && max > 0; t = t->prev) {
        if (!t->start_pending)
            continue;
        t->start_pending = 0;
        c->n_start_pending--;
        max--;
        if (curl_multi_add_handle(c->multi, t->easy) != CURLM_OK)
            fail(t, LJH_E_INTERNAL, "could not start the request");
    }
}

ljh_transfer *ljh_client_submit(ljh_client *c, const ljh_request *req)
{
    if (!c)
        return NULL;
    check_fork(c);
    return submit(c, req, 0);
}

/* Starts the retries whose delay is over; returns ms to the next one. */
static int64_t start_retries(ljh_client *c)
{
    int64_t next = -1, now = now_ms();
    for (ljh_transfer *t = c->head; t && c->retry_waiting; t = t->next) {
        if (!t->retry_at || t->done)
            continue;
        if (t->retry_at > now) {
            if (next < 0 || t->retry_at - now < next)
                next = t->retry_at - now;
            continue;
        }
        t->retry_at = 0;
        c->retry_waiting--;
        if (setup_hop(t) != CURLE_OK || curl_multi_add_handle(c->multi, t->easy) != CURLM_OK)
            fail_start(t, "could not start the retry");
    }
    return next;
}

/* libcurl returns an error from curl_multi_socket_action when it could not
 * allocate its socket bookkeeping (or socket_cb refused a socket): the
 * socket is then watched by nobody and its transfer would wait forever,
 * as no timer is left for it either. Memory is short: end them all. */
static void lost_track(ljh_client *c, CURLMcode mc)
{
    if (mc == CURLM_OK || mc == CURLM_BAD_SOCKET)
        return;
    ljh_error code = mc == CURLM_OUT_OF_MEMORY ? LJH_E_OUT_OF_MEMORY : LJH_E_INTERNAL;
    char msg[128];
    ljh__msg(msg, sizeof msg, "%s (libcurl lost track of a connection)", curl_multi_strerror(mc));
    for (ljh_transfer *t = c->head; t; t = t->next)
        if (!t->done)
            fail(t, code, msg);
}

/* Resumes the transfers the last run's budget paused (unless a stream
 * is also paused for Lua: ljh_transfer_take resumes that one). */
static void resume_budget(ljh_client *c)
{
    for (ljh_transfer *t = c->head; t && c->n_budget_paused; t = t->next) {
        if (!t->budget_paused)
            continue;
        t->budget_paused = 0;
        c->n_budget_paused--;
        if (t->easy && !t->paused && !t->done)
            curl_easy_pause(t->easy, CURLPAUSE_CONT); /* may write: no budget now */
    }
}

int32_t ljh_client_run(ljh_client *c, int32_t wait_ms)
{
    if (!c)
        return 0;
    check_fork(c);
    if (c->running == 0)
        return 0;
    int64_t timeout = wait_ms < 0 ? 1000 : wait_ms;
    c->budget = -1;
    if (c->n_budget_paused || c->n_start_pending)
        timeout = 0; /* work for now */
    resume_budget(c);
    start_pending(c, wait_ms == 0 ? LJH_RUN_STARTS : INT32_MAX);
    /* a host pumping from its event loop gets a bounded amount of work */
    c->budget = wait_ms == 0 ? LJH_RUN_BUDGET : -1;
    c->budget_end_ms = now_ms() + LJH_RUN_BUDGET_MS;
    if (c->retry_waiting) {
        int64_t next = start_retries(c);
        if (next >= 0 && next < timeout)
            timeout = next;
    }
    if (c->timer_deadline >= 0) {
        int64_t left = c->timer_deadline - now_ms();
        if (left < timeout)
            timeout = left < 0 ? 0 : left;
    }
    struct epoll_event evs[EVENTS_MAX];
    /* A due timer (a transfer just added) needs no syscall first. Only a
     * due one: with wait_ms == 0 (hosts that poll ljh_client_fd) a timer
     * still ahead must not hide ready sockets, or the fd stays readable
     * and nothing reads it until that timer fires. */
    int n = timeout == 0 && c->timer_deadline >= 0 && now_ms() >= c->timer_deadline
                ? 0
                : epoll_wait(c->epfd, evs, EVENTS_MAX, (int)timeout);
    int still;
    for (int i = 0; i < n; i++) {
        int fd = evs[i].data.fd;
        if (fd < c->n_fds && c->wanted[fd] == 0) {
            unwatch(c, fd); /* an idle kept-alive connection: libcurl checks it on reuse */
            continue;
        }
        int flags = 0;
        if (evs[i].events & (EPOLLIN | EPOLLHUP))
            flags |= CURL_CSELECT_IN;
        if (evs[i].events & EPOLLOUT)
            flags |= CURL_CSELECT_OUT;
        if (evs[i].events & EPOLLERR)
            flags |= CURL_CSELECT_ERR;
        lost_track(c, curl_multi_socket_action(c->multi, fd, flags, &still));
    }
    if (c->timer_deadline >= 0 && now_ms() >= c->timer_deadline) {
        c->timer_deadline = -1;
        lost_track(c, curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &still));
    }
    c->budget = -1;
    collect_finished(c);
    return c->running;
}

int32_t ljh_client_fd(const ljh_client *c)
{
    return c ? c->epfd : -1;
}

int32_t ljh_client_timeout(const ljh_client *c)
{
    if (!c)
        return -1;
    if (c->n_budget_paused || c->n_start_pending)
        return 0; /* paused by the last run's budget, or not started: run now */
    int64_t deadline = c->timer_deadline;
    for (ljh_transfer *t = c->head; t && c->retry_waiting; t = t->next)
        if (t->retry_at && !t->done && (deadline < 0 || t->retry_at < deadline))
            deadline = t->retry_at;
    if (deadline < 0)
        return -1;
    int64_t left = deadline - now_ms();
    return left < 0 ? 0 : (left > INT32_MAX ? INT32_MAX : (int32_t)left);
}

int32_t ljh_client_ready(ljh_client *c, int32_t *ids, int32_t max)
{
    if (!c || !ids || max <= 0 || c->nready == 0)
        return 0; /* c->ready may still be NULL: no memmove from it */
    int n = c->nready < max ? c->nready : max;
    for (int i = 0; i < n; i++) {
        ids[i] = c->ready[i]->id;
        c->ready[i]->queued = 0;
    }
    memmove(c->ready, c->ready + n, (size_t)(c->nready - n) * sizeof *c->ready);
    c->nready -= n;
    return n;
}

ljh_response *ljh_client_perform(ljh_client *c, const ljh_request *req)
{
    if (!c)
        return NULL;
    check_fork(c);
    ljh_transfer *t = submit(c, req, 1);
    if (!t)
        return NULL;
    while (!t->done)
        ljh_client_run(c, 1000);
    ljh_response *r = ljh_transfer_response(t);
    ljh_transfer_free(t);
    return r;
}

/* ---- transfers ---- */

int32_t ljh_transfer_id(const ljh_transfer *t)
{
    return t ? t->id : 0;
}

int32_t ljh_transfer_done(const ljh_transfer *t)
{
    return t ? t->done : 1;
}

size_t ljh_transfer_take(ljh_transfer *t, const char **data)
{
    static const char none[] = "";
    if (data)
        *data = none;
    if (!t)
        return 0;
    transfer_check_fork(t);
    if (t->taken_off >= t->taken.len) {
        /* all handed out: swap in what arrived since, reuse the old buffer */
        ljh_buf tmp = t->taken;
        tmp.len = 0;
        t->taken = t->stream;
        t->taken_off = 0;
        t->stream = tmp;
        if (t->stream.p)
            t->stream.p[0] = '\0';
        if (t->paused && t->easy) {
            t->paused = 0;
            /* May deliver into stream. libcurl 8 can fail here (what it
             * held back, decoded, went over a limit) and then ends the
             * transfer with CURLE_WRITE_ERROR: keep the real reason. */
            CURLcode prc = curl_easy_pause(t->easy, CURLPAUSE_CONT);
            if (prc != CURLE_OK && !t->col.abort_error)
                t->col.abort_error = ljh__error_from_curl(prc);
        }
    }
    size_t n = t->taken.len - t->taken_off;
    if (n > LJH_STREAM_CHUNK)
        n = LJH_STREAM_CHUNK;
    if (data && n > 0)
        *data = t->taken.p + t->taken_off;
    t->taken_off += n;
    return n;
}

void ljh_transfer_progress(const ljh_transfer *t, ljh_progress *out)
{
    if (!out)
        return;
    memset(out, 0, sizeof *out);
    if (!t)
        return;
    transfer_check_fork(t);
    if (t->done || !t->easy) {
        *out = t->progress;
        return;
    }
    ljh_transfer *mut = (ljh_transfer *)t;
    freeze_progress(mut);
    *out = t->progress;
}

int32_t ljh_transfer_wants_body(const ljh_transfer *t)
{
    return t && !t->done && t->want_body;
}

int32_t ljh_transfer_feed(ljh_transfer *t, const char *data, size_t len)
{
    if (!t)
        return -1;
    transfer_check_fork(t);
    if (t->done || !t->want_body || (len > 0 && !data))
        return -1;
    t->upload.len = 0;
    t->upload_off = 0;
    if (len == 0) {
        t->body_end = 1;
    } else if (ljh__buf_append(&t->upload, data, len) != 0) {
        fail(t, LJH_E_OUT_OF_MEMORY, "out of memory");
        return -1;
    }
    t->want_body = 0;
    if (t->easy) /* keep a stream's receive pause (ljh_transfer_take lifts it) */
        curl_easy_pause(t->easy, t->paused ? CURLPAUSE_RECV : CURLPAUSE_CONT);
    return 0;
}

ljh_response *ljh_transfer_head(ljh_transfer *t)
{
    if (!t)
        return NULL;
    ljh_response *r = t->head;
    t->head = NULL;
    return r;
}

void ljh_transfer_cancel(ljh_transfer *t)
{
    if (!t)
        return;
    transfer_check_fork(t);
    if (t->done)
        return;
    fail(t, LJH_E_CANCELLED, "cancelled");
}

ljh_response *ljh_transfer_response(ljh_transfer *t)
{
    if (!t || !t->done)
        return NULL;
    ljh_response *r = t->resp;
    t->resp = NULL;
    return r;
}

void ljh_transfer_free(ljh_transfer *t)
{
    if (!t)
        return;
    transfer_check_fork(t);
    ljh_client *c = t->client;
    if (c) {
        t->sync = 1; /* nobody will pull it any more */
        if (!t->done)
            fail(t, LJH_E_CANCELLED, "cancelled");
        if (t->queued) {
            for (int i = 0; i < c->nready; i++) {
                if (c->ready[i] == t) {
                    memmove(c->ready + i, c->ready + i + 1,
                            (size_t)(c->nready - i - 1) * sizeof *c->ready);
                    c->nready--;
                    break;
                }
            }
        }
        c->n_pullable -= t->pullable;
        if (t->prev)
            t->prev->next = t->next;
        else
            c->head = t->next;
        if (t->next)
            t->next->prev = t->prev;
    }
    ljh_response_free(t->resp);
    ljh_response_free(t->head);
    spare_put(c, &t->stream);
    spare_put(c, &t->taken);
    ljh__buf_free(&t->upload);
    free(t);
}

CURLSH *ljh__client_share(ljh_client *c)
{
    if (!c)
        return NULL;
    check_fork(c);
    return c->share;
}
