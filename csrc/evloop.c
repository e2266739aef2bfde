/* evloop: the event core, the same on every OS. libcurl's socket callback
 * keeps the backend (ev.h) in step with what each socket waits for; the
 * host either watches one descriptor (ljh_client_fd: epoll, kqueue) or
 * each socket itself (ljh_client_watches: the portable backend), plus
 * one timer (ljh_client_timeout), and calls ljh_client_run. */
#include <stdlib.h>
#include <string.h>

#include "engine.h"

int64_t ljh_now_ms(void)
{
    return ljh__now_ms();
}

/* ---- per-socket tables ---- */

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
    unsigned char *o = realloc(c->fdflag, (size_t)n);
    if (!o)
        return -1;
    c->fdflag = o;
    memset(w + c->n_fds, 0, (size_t)(n - c->n_fds) * sizeof *w);
    memset(x + c->n_fds, 0, (size_t)(n - c->n_fds) * sizeof *x);
    memset(o + c->n_fds, 0, (size_t)(n - c->n_fds));
    c->n_fds = n;
    return 0;
}

/* The table index of a socket we know, or -1. */
static int known(const ljh_client *c, curl_socket_t s)
{
    int i = ljh__socket_index(s);
    return i >= 0 && i < c->n_fds ? i : -1;
}

static void unwatch(ljh_client *c, curl_socket_t s, int i)
{
    c->ev->watch(c, s, 0, (int)c->watched[i]); /* may already be closed */
    c->watched[i] = 0;
}

/* Connection sockets are opened and closed here, so a backend can never
 * hold a socket that was closed behind its back: an epoll registration
 * outlives close() when a child process inherited the descriptor, and
 * would then report events forever. They are close-on-exec too. */
curl_socket_t ljh__open_cb(void *clientp, curlsocktype purpose, struct curl_sockaddr *addr)
{
    (void)purpose;
    ljh_transfer *t = clientp; /* the transfer that connects */
    ljh_client *c = t->client;
    int err = 0;
    curl_socket_t s = ljh__socket_open(addr->family, addr->socktype, addr->protocol, &err);
    if (s == CURL_SOCKET_BAD) {
        t->open_errno = err; /* EMFILE is not "Couldn't connect" */
        return CURL_SOCKET_BAD;
    }
    int i = ljh__socket_index(s);
    if (i >= 0 && grow_fds(c, i) == 0)
        c->fdflag[i] = (unsigned char)((c->fdflag[i] & LJH_FD_CHANGED) | LJH_FD_OWNED);
    return s;
}

/* The host may still poll the socket (portable backend): it is closed
 * once the host has pulled its removal (ljh_client_watches), so its
 * number cannot come back as a new socket under the host's old watch. */
int ljh__close_cb(void *clientp, curl_socket_t s)
{
    ljh_client *c = clientp;
    int i = known(c, s);
    if (i < 0)
        return ljh__socket_close(s);
    if (c->watched[i])
        unwatch(c, s, i);
    c->wanted[i] = 0;
    c->fdflag[i] &= (unsigned char)~LJH_FD_OWNED;
    if (c->host_watches && (c->fdflag[i] & LJH_FD_HOST)) {
        if (c->n_closing == c->closing_cap) {
            int cap = c->closing_cap ? c->closing_cap * 2 : 16;
            curl_socket_t *p = realloc(c->closing, (size_t)cap * sizeof *p);
            if (!p)
                return ljh__socket_close(s); /* (the host's poll reports an error) */
            c->closing = p;
            c->closing_cap = cap;
        }
        c->closing[c->n_closing++] = s;
        c->fdflag[i] |= LJH_FD_CLOSING;
        return 0;
    }
    return ljh__socket_close(s);
}

/* Keeps the backend in step with what libcurl wants. A connection socket
 * libcurl stops watching (going back to the cache) stays watched until it
 * reports an event or ljh__close_cb closes it, so reusing a kept-alive
 * connection costs one epoll_ctl instead of three. Other sockets (the
 * resolver's), and all when the host watches them, are removed at once. A socket reported again after a
 * removal goes to the backend only when its watch differs (or the host
 * watches the sockets and must hear of it): one epoll_ctl saved per reuse. */
static int socket_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
    (void)easy;
    (void)socketp;
    ljh_client *c = userp;
    int i = ljh__socket_index(s);
    if (i < 0 || grow_fds(c, i) != 0)
        return -1;
    if (what == CURL_POLL_REMOVE) {
        c->wanted[i] = 0;
        /* (a host's poll handle left on would wake it for nothing) */
        if ((!(c->fdflag[i] & LJH_FD_OWNED) || c->host_watches) && c->watched[i])
            unwatch(c, s, i);
        return 0;
    }
    uint32_t events = ((what & CURL_POLL_IN) ? LJH_EV_IN : 0u) | ((what & CURL_POLL_OUT) ? LJH_EV_OUT : 0u);
    int was_idle = c->wanted[i] == 0;
    c->wanted[i] = events ? events : LJH_EV_ERR; /* (not 0: in use) */
    if (c->watched[i] == events && (!was_idle || !c->host_watches))
        return 0;
    c->watched[i] = c->ev->watch(c, s, (int)events, (int)c->watched[i]) == 0 ? events : 0;
    return 0;
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    (void)multi;
    ljh_client *c = userp;
    c->timer_deadline = timeout_ms < 0 ? -1 : ljh__now_ms() + timeout_ms;
    return 0;
}

/* Clears the per-socket tables (after a fork they describe the parent's
 * sockets), opens the backend and points the multi at our callbacks. */
int ljh__evloop_init(ljh_client *c)
{
    if (c->n_fds) { /* NULL until the first socket: memset(NULL, 0, 0) is UB */
        memset(c->watched, 0, (size_t)c->n_fds * sizeof *c->watched);
        memset(c->wanted, 0, (size_t)c->n_fds * sizeof *c->wanted);
        memset(c->fdflag, 0, (size_t)c->n_fds);
    }
    c->n_changed = c->n_closing = 0;
    c->host_watches = 0;
    c->timer_deadline = -1;
    if (c->ev->open(c) != 0)
        return -1;
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
    return 0;
}

void ljh__evloop_close(ljh_client *c)
{
    if (c->fork_gen != ljh__fork_generation() && !c->ev->survives_fork)
        c->ev_fd = -1; /* not inherited: in this child the number is another file's */
    c->ev->close(c);
}

void ljh__evloop_free(ljh_client *c)
{
    ljh__evloop_close(c);
    for (int k = 0; k < c->n_closing; k++)
        ljh__socket_close(c->closing[k]);
    free(c->watched);
    free(c->wanted);
    free(c->fdflag);
    free(c->changed);
    free(c->closing);
    free(c->pollfds);
}

/* ---- running ---- */

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


/* Hands one socket's readiness to libcurl. */
static void on_ready(ljh_client *c, curl_socket_t s, int events)
{
    int i = known(c, s), still;
    if (i >= 0 && c->wanted[i] == 0) {
        /* an idle kept-alive connection (libcurl checks it on reuse), or
         * a socket closed since the host polled it */
        if (c->watched[i])
            unwatch(c, s, i);
        return;
    }
    int flags = 0;
    if (events & LJH_EV_IN)
        flags |= CURL_CSELECT_IN;
    if (events & LJH_EV_OUT)
        flags |= CURL_CSELECT_OUT;
    if (events & LJH_EV_ERR)
        flags |= CURL_CSELECT_ERR;
    lost_track(c, curl_multi_socket_action(c->multi, s, flags, &still));
}

int32_t ljh_client_run(ljh_client *c, int32_t wait_ms)
{
    if (!c)
        return 0;
    ljh__check_fork(c);
    ljh_ev_event evs[EVENTS_MAX];
    if (c->running == 0) {
        /* Nothing runs, but an idle kept-alive socket the server closed
         * still makes the set readable: look once, so on_ready unwatches
         * it, or a host polling ljh_client_fd would wake for ever. */
        int n = c->ev_fd >= 0 ? c->ev->wait(c, evs, EVENTS_MAX, 0) : 0;
        for (int i = 0; i < n; i++)
            on_ready(c, evs[i].fd, evs[i].events);
        ljh__collect_finished(c);
        return c->running;
    }
    int64_t timeout = wait_ms < 0 ? 1000 : wait_ms;
    c->budget = -1;
    if (c->n_budget_paused || c->n_start_pending)
        timeout = 0; /* work for now */
    resume_budget(c);
    start_pending(c, wait_ms == 0 ? LJH_RUN_STARTS : INT32_MAX);
    /* a host pumping from its event loop gets a bounded amount of work */
    c->budget = wait_ms == 0 ? LJH_RUN_BUDGET : -1;
    if (wait_ms == 0)
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
    /* A due timer (a transfer just added) needs no syscall first. Only a
     * due one: with wait_ms == 0 (hosts that poll ljh_client_fd) a timer
     * still ahead must not hide ready sockets, or the fd stays readable
     * and nothing reads it until that timer fires. */
    int n = timeout == 0 && c->timer_deadline >= 0 && ljh__now_ms() >= c->timer_deadline
                ? 0
                : c->ev->wait(c, evs, EVENTS_MAX, (int)timeout);
    for (int i = 0; i < n; i++)
        on_ready(c, evs[i].fd, evs[i].events);
    if (c->timer_deadline >= 0 && ljh__now_ms() >= c->timer_deadline) {
        int still;
        c->timer_deadline = -1;
        lost_track(c, curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &still));
    }
    c->budget = -1;
    ljh__collect_finished(c);
    return c->running;
}

int32_t ljh_client_fd(const ljh_client *c)
{
    return c ? c->ev_fd : -1;
}

const char *ljh_client_backend(const ljh_client *c)
{
    return c ? c->ev->name : "";
}

int32_t ljh_backend_available(const char *name)
{
    return ljh__ev_find(name ? name : "", name ? strlen(name) : 0) != NULL;
}

/* ---- the host watches the sockets (portable backend) ---- */

/* Sockets whose removal the host has pulled: it stopped polling them. */
static void close_told(ljh_client *c)
{
    int k = 0;
    for (int j = 0; j < c->n_closing; j++) {
        curl_socket_t s = c->closing[j];
        int i = known(c, s);
        if (i >= 0 && (c->fdflag[i] & LJH_FD_TOLD)) {
            c->fdflag[i] = 0;
            ljh__socket_close(s);
        } else {
            c->closing[k++] = s;
        }
    }
    c->n_closing = k;
}

int32_t ljh_client_watches(ljh_client *c, ljh_watch *out, int32_t max)
{
    if (!c || c->ev != &ljh__ev_portable)
        return 0;
    ljh__check_fork(c);
    if (!out) { /* the host forgot its watches: tell it again */
        for (int i = 0; i < c->n_fds; i++) {
            if (c->fdflag[i] & LJH_FD_CLOSING)
                c->fdflag[i] |= LJH_FD_TOLD;
            c->fdflag[i] &= (unsigned char)~LJH_FD_HOST;
        }
        close_told(c);
        if (c->host_watches)
            for (int i = 0; i < c->n_fds; i++)
                if (c->watched[i])
                    c->ev->watch(c, (curl_socket_t)i, (int)c->watched[i], 0);
        return 0;
    }
    if (max <= 0)
        return 0;
    if (!c->host_watches) {
        /* from now on the host polls: tell it what is watched already */
        c->host_watches = 1;
        for (int i = 0; i < c->n_fds; i++)
            if (c->watched[i])
                c->ev->watch(c, (curl_socket_t)i, (int)c->watched[i], 0);
    }
    close_told(c);
    int n = 0;
    while (n < max && c->n_changed > 0) {
        curl_socket_t s = c->changed[0];
        memmove(c->changed, c->changed + 1, (size_t)(--c->n_changed) * sizeof *c->changed);
        int i = known(c, s);
        if (i < 0)
            continue;
        c->fdflag[i] &= (unsigned char)~LJH_FD_CHANGED;
        out[n].fd = (int64_t)s;
        out[n].events = (c->fdflag[i] & LJH_FD_CLOSING) ? 0 : (int32_t)c->watched[i];
        if (out[n].events)
            c->fdflag[i] |= LJH_FD_HOST;
        else
            c->fdflag[i] &= (unsigned char)~LJH_FD_HOST;
        if (c->fdflag[i] & LJH_FD_CLOSING)
            c->fdflag[i] |= LJH_FD_TOLD;
        n++;
    }
    return n;
}

int32_t ljh_client_socket_ready(ljh_client *c, int64_t fd, int32_t events)
{
    if (!c)
        return 0;
    ljh__check_fork(c);
    int i = known(c, (curl_socket_t)fd); /* (also with nothing running: an
                                            idle connection is unwatched) */
    if (i < 0 || (c->fdflag[i] & LJH_FD_CLOSING))
        return c->running; /* gone since the host polled it */
    c->budget = LJH_RUN_BUDGET; /* as ljh_client_run(c, 0) */
    c->budget_end_ms = ljh__now_ms() + LJH_RUN_BUDGET_MS;
    on_ready(c, (curl_socket_t)fd, events);
    c->budget = -1;
    ljh__collect_finished(c);
    return c->running;
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
