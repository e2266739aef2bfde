/* evloop: the event core. libcurl's socket callback keeps an epoll set
 * in step, so a host loop (Neovim's libuv, a plain poll, OpenResty's
 * sleeps) only has to watch one descriptor and one timer, then call
 * ljh_client_run. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"

int64_t ljh__now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Clears the per-socket tables (after a fork they describe the parent's
 * sockets), opens the epoll set and points the multi at our callbacks. */
static int socket_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp);
static int timer_cb(CURLM *multi, long timeout_ms, void *userp);

int ljh__evloop_init(ljh_client *c)
{
    if (c->n_fds) { /* NULL until the first socket: memset(NULL, 0, 0) is UB */
        memset(c->watched, 0, (size_t)c->n_fds * sizeof *c->watched);
        memset(c->wanted, 0, (size_t)c->n_fds * sizeof *c->wanted);
        memset(c->owned, 0, (size_t)c->n_fds);
    }
    c->timer_deadline = -1;
    c->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (c->epfd < 0)
        return -1;
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
    return 0;
}

void ljh__evloop_close(ljh_client *c)
{
    if (c->epfd >= 0)
        close(c->epfd);
    c->epfd = -1;
}

void ljh__evloop_free(ljh_client *c)
{
    ljh__evloop_close(c);
    free(c->watched);
    free(c->wanted);
    free(c->owned);
}

int64_t ljh_now_ms(void)
{
    return ljh__now_ms();
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
curl_socket_t ljh__open_cb(void *clientp, curlsocktype purpose, struct curl_sockaddr *addr)
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

int ljh__close_cb(void *clientp, curl_socket_t s)
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
 * registered until it reports an event or ljh__close_cb closes it, so reusing
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
    c->timer_deadline = timeout_ms < 0 ? -1 : ljh__now_ms() + timeout_ms;
    return 0;
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
            ljh__fail(t, LJH_E_INTERNAL, "could not start the request");
    }
}

/* Starts the retries whose delay is over; returns ms to the next one. */
static int64_t start_retries(ljh_client *c)
{
    int64_t next = -1, now = ljh__now_ms();
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
        if (ljh__setup_hop(t) != CURLE_OK || curl_multi_add_handle(c->multi, t->easy) != CURLM_OK)
            ljh__fail_start(t, "could not start the retry");
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
            ljh__fail(t, code, msg);
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
    ljh__check_fork(c);
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
    c->budget_end_ms = ljh__now_ms() + LJH_RUN_BUDGET_MS;
    if (c->retry_waiting) {
        int64_t next = start_retries(c);
        if (next >= 0 && next < timeout)
            timeout = next;
    }
    if (c->timer_deadline >= 0) {
        int64_t left = c->timer_deadline - ljh__now_ms();
        if (left < timeout)
            timeout = left < 0 ? 0 : left;
    }
    struct epoll_event evs[EVENTS_MAX];
    /* A due timer (a transfer just added) needs no syscall first. Only a
     * due one: with wait_ms == 0 (hosts that poll ljh_client_fd) a timer
     * still ahead must not hide ready sockets, or the fd stays readable
     * and nothing reads it until that timer fires. */
    int n = timeout == 0 && c->timer_deadline >= 0 && ljh__now_ms() >= c->timer_deadline
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
    if (c->timer_deadline >= 0 && ljh__now_ms() >= c->timer_deadline) {
        c->timer_deadline = -1;
        lost_track(c, curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &still));
    }
    c->budget = -1;
    ljh__collect_finished(c);
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
    int64_t left = deadline - ljh__now_ms();
    return left < 0 ? 0 : (left > INT32_MAX ? INT32_MAX : (int32_t)left);
}
