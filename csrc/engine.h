/* The engine's own declarations, shared by the files it is split into
 * (nothing here is exported; the ABI is cdef/ljhttp.h):
 *   client.c    clients: create, free, the handle pool, fork, submit
 *   evloop.c    the event core: libcurl's socket and timer callbacks,
 *               ljh_client_run and the host's wait (fd, timeout, watches)
 *   ev_*.c      its backends and OS calls, behind ev.h
 *   hop.c       easy handles set up for one hop of a transfer
 *   callbacks.c libcurl's per-transfer callbacks (headers, body, upload,
 *               progress, trace): they only touch C memory
 *   transfer.c  a transfer's end (finish, fail, redirects) and its ABI
 *   retry.c     when and after how long a transfer is tried again
 * A client owns a libcurl multi handle driven through its socket interface;
 * nothing calls into Lua: finished transfers and stream bytes wait in C
 * until Lua pulls them. */
#ifndef LJHTTP_ENGINE_H
#define LJHTTP_ENGINE_H

#include "internal.h"
#include "decoding.h"
#include "ev.h"

/* ljh_client.fdflag bits */
#define LJH_FD_OWNED 1     /* opened by ljh__open_cb, closed by ljh__close_cb */
#define LJH_FD_CHANGED 2   /* in ljh_client.changed */
#define LJH_FD_CLOSING 4   /* in ljh_client.closing */
#define LJH_FD_TOLD 8      /* ...and its removal was pulled by the host */
#define LJH_FD_HOST 16     /* the host was last told to watch it */

#define POOL_MAX 128 /* idle easy handles kept per client (a batch of up to 128 reuses all) */
#define EVENTS_MAX 64 /* readiness events taken per wait */
#define H2_ORIGINS 32 /* origins remembered as HTTP/2, per client */
#define SPARE_T 32    /* freed transfers kept per client (a batch's window) */

/* What a pooled easy handle was last configured for. Two plain requests
 * (no body, cookies, auth, TLS or proxy options) with equal profiles need
 * only their URL and per-transfer pointers set: no curl_easy_reset and no
 * two dozen setopt calls, which is most of the per-request cost. */
typedef struct ljh_profile {
    int plain;
    char method[8];
    int64_t connect_timeout_ms, idle_timeout_ms, max_body;
    const char *env_proxy; /* ljh__proxy_env_for the URL: the client's string */
} ljh_profile;

typedef struct ljh_pooled {
    CURL *easy;
    ljh_profile profile;
    ljh_transfer *owner;      /* plain profile: its data options still point
                                 at this transfer (see ljh__easy_put) */
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
    int idle_moved;           /* idle_timeout: header bytes came since */
    int idle_sent;            /* idle_timeout: this hop's request went out */
    int data_set;             /* easy's data options point here already */
    int open_errno;           /* this hop: why ljh__open_cb had no socket */
    ljh_decoder *dec;         /* options.decompress: this answer's decoder */
    int dec_ready;            /* ...chosen (at the first body byte) */
    ljh_fault fault;          /* why it stopped (set once, by the first cause) */
    char errbuf[CURL_ERROR_SIZE]; /* libcurl's words, when no fault says why */
};

struct ljh_client {
    CURLM *multi;
    CURLSH *share;
    const ljh_ev_backend *ev; /* the readiness backend (ev.h) */
    int ev_fd;                /* its descriptor (epoll, kqueue); -1 = none */
    unsigned fork_gen;        /* ljh__fork_generation() when made */
    uint32_t *watched;        /* per socket: LJH_EV_* the backend watches */
    uint32_t *wanted;         /* per socket: LJH_EV_* libcurl asks for now */
    unsigned char *fdflag;    /* per socket: LJH_FD_* */
    int n_fds;
    /* the portable backend (ev_portable.c) */
    int host_watches;         /* the host pulls watches and polls the sockets */
    curl_socket_t *changed;   /* sockets whose watch changed since the last pull */
    int n_changed, changed_cap;
    curl_socket_t *closing;   /* closed by libcurl; closed for real once the
                                 host has been told to stop watching them */
    int n_closing, closing_cap;
    void *pollfds;            /* ljh_client_run's own poll set */
    int pollfds_cap;
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
    ljh_transfer *spare_t;    /* freed transfers' memory, for the next
                                 submits (linked by next), at most SPARE_T */
    int n_spare_t;
    int nspare;
    char *cookie_file;
    ljh_proxy_env proxy_env;  /* read when the client was made */
    uint64_t key_sig;         /* ljh__transport_no_reuse */
    ljh_client_options opts;
};

/* ---- shared between the engine's files ---- */
/* After a fork the child abandons the parent's connections (client.c). */
void ljh__check_fork(ljh_client *c);
void ljh__spare_put(ljh_client *c, ljh_buf *b);

/* evloop.c: the multi handle's socket bookkeeping */
int ljh__evloop_init(ljh_client *c);   /* opens the backend, sets the multi's callbacks */
void ljh__evloop_close(ljh_client *c); /* the backend's side (epoll set, kqueue) */
void ljh__evloop_free(ljh_client *c);  /* ...and the per-socket tables */
curl_socket_t ljh__open_cb(void *clientp, curlsocktype purpose, struct curl_sockaddr *addr);
int ljh__close_cb(void *clientp, curl_socket_t s);

/* hop.c */
void ljh__easy_get(ljh_client *c, ljh_transfer *t);
void ljh__easy_put(ljh_client *c, ljh_transfer *t);
CURLcode ljh__setup_hop(ljh_transfer *t);
long ljh__remember_h2(ljh_client *c, ljh_transfer *t);
/* Before t's memory is freed for good: no pooled handle points at it. */
void ljh__easy_forget(ljh_client *c, const ljh_transfer *t);

/* callbacks.c */
size_t ljh__header_cb(char *data, size_t size, size_t nmemb, void *userp);
size_t ljh__write_cb(char *data, size_t size, size_t nmemb, void *userp);
size_t ljh__pull_read_cb(char *buf, size_t size, size_t nitems, void *userp);
int ljh__xferinfo_cb(void *userp, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                     curl_off_t ulnow);
int ljh__debug_cb(CURL *easy, curl_infotype type, char *data, size_t size, void *userp);

/* transfer.c */
void ljh__push_ready(ljh_transfer *t);   /* queue it for ljh_client_ready */
void ljh__fail(ljh_transfer *t, ljh_error code, const char *msg);
/* A hop that could not be set up (a body file's error when it was one). */
void ljh__fail_start(ljh_transfer *t, const char *what);
void ljh__collect_finished(ljh_client *c);

/* retry.c: ms before the next attempt, or -1: none. */
int64_t ljh__retry_delay(ljh_transfer *t, CURLcode rc);

#endif
