/* relay: lets an event loop that can only wait on sockets it connects
 * itself (OpenResty's cosockets) wait on a client's epoll descriptor.
 *
 * One thread per process, started on first use, listens on a Unix socket
 * in a private directory (mkdtemp, mode 0700). A connection sends "arms":
 * 12 bytes, the client's descriptor, a timeout in ms and a token naming
 * the client (int32 each, host order; timeout < 0: none; bits 29 and 30
 * of the token: wait for readable and/or writable, neither: readable).
 * The thread watches a dup of that descriptor (one-shot) and writes one
 * byte back when it is ready or the timeout passed. The dup is kept while the
 * same descriptor and token come back, so a re-arm is one epoll_ctl; a
 * dup keeps watching the file it was made from even if the number is
 * reused. ljh_relay_poke answers every armed connection at once (a
 * transfer was added while they slept).
 *
 * A hello (descriptor -2, token = a nonzero id) names the connection;
 * then ljh_relay_arm arms it straight from the worker's thread (one
 * epoll_ctl and one timerfd_settime) without waking the relay, which
 * then wakes only to answer. Timeouts are a timerfd per connection.
 *
 * The thread never runs libcurl or Lua: the worker's own thread pumps the
 * client when its byte arrives, so no locking is needed around libcurl. A
 * forked child starts its own thread (threads do not survive fork).
 *
 * An arm costs one epoll_ctl and an answer one write: the timer is lazy
 * (set_timer), so most arms make no timerfd call.
 *
 * Linux only (epoll, timerfd, eventfd). Elsewhere the three functions
 * report "unsupported" (path -1, arm -1, poke nothing) and the OpenResty
 * host waits with its ngx.sleep ladder instead (docs/hosts.md). */
#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE /* accept4, F_DUPFD_CLOEXEC, mkdtemp (the Makefile sets it too) */
#endif
#include "internal.h"

#if defined(__linux__)
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

typedef struct relay_conn {
    int fd;      /* the accepted connection */
    int watch;   /* dup of the watched descriptor, -1 when none */
    int tfd;     /* timerfd: the arm's timeout */
    int32_t watch_fd, watch_token; /* what the dup was made from */
    uint32_t id; /* from the connection's hello; 0 = none yet */
    int armed;
    int timer_set;   /* tfd runs, to expire at deadline */
    int64_t deadline; /* ljh_now_ms() clock */
    int inlen;
    unsigned char in[12];
    struct relay_conn *next;
} relay_conn;

/* relay_mu guards everything below and every relay_conn: the thread holds
 * it while it handles events, ljh_relay_arm while it arms. */
static pthread_mutex_t relay_mu = PTHREAD_MUTEX_INITIALIZER;
static pid_t relay_pid;       /* process that owns the state below */
static volatile int relay_here; /* this process started it: 0 again in a forked child */
static int relay_lfd = -1;    /* listening socket */
static int relay_ep = -1;     /* the thread's epoll set */
static int relay_poke_fd = -1; /* eventfd: ljh_relay_poke */
static char relay_dir[64];
static char relay_path[108];
static relay_conn *relay_conns;

/* epoll data: the two fixed descriptors have tags; a connection's socket
 * is its relay_conn pointer (16-byte aligned), its watched dup the
 * pointer + 1, its timer the pointer + 2. */
#define TAG_LISTEN ((uint64_t)1 << 62)
#define TAG_POKE ((uint64_t)1 << 61)
#define KIND_WATCH 1
#define KIND_TIMER 2

/* The timer is lazy: an answer leaves it running, and an arm whose
 * deadline is not before the running timer's keeps it (the timer then
 * answers early, and the caller re-arms). So a driver that re-arms with
 * "nothing due for 1 s" after each answer sets it about once a second,
 * not once a turn. A timer that fires unarmed is read and ignored. */
static void set_timer(relay_conn *rc, int32_t ms)
{
    int64_t now = ljh_now_ms();
    if (ms >= 0 && rc->timer_set && rc->deadline > now && rc->deadline <= now + ms)
        return;
    if (ms < 0 && !rc->timer_set)
        return;
    rc->timer_set = ms >= 0;
    rc->deadline = now + (ms >= 0 ? ms : 0);
    struct itimerspec it = { { 0, 0 }, { 0, 0 } };
    if (ms >= 0) {
        it.it_value.tv_sec = ms / 1000;
        it.it_value.tv_nsec = (long)(ms % 1000) * 1000000L;
        if (ms == 0)
            it.it_value.tv_nsec = 1; /* 0 would disarm */
    }
    timerfd_settime(rc->tfd, 0, &it, NULL);
}

static void unwatch_dup(relay_conn *rc)
{
    if (rc->watch >= 0) {
        epoll_ctl(relay_ep, EPOLL_CTL_DEL, rc->watch, NULL);
        close(rc->watch);
        rc->watch = -1;
    }
}

/* After an answer that was not the one-shot event itself (timeout, poke)
 * the registration is still armed: turn it off, or it answers later. */
static void disarm(relay_conn *rc, int fired)
{
    if (rc->armed && !fired && rc->watch >= 0) {
        struct epoll_event ev = { .events = 0, .data.u64 = (uint64_t)(uintptr_t)rc + KIND_WATCH };
        epoll_ctl(relay_ep, EPOLL_CTL_MOD, rc->watch, &ev);
    }
    rc->armed = 0; /* the timer runs on (set_timer) */
}

static void answer(relay_conn *rc, int fired)
{
    disarm(rc, fired);
    ssize_t w;
    do
        w = send(rc->fd, "r", 1, MSG_NOSIGNAL); /* a peer that just closed: EPIPE, no SIGPIPE */
    while (w < 0 && errno == EINTR);
    /* EAGAIN: unread answers are piling up; the reader wakes anyway */
}

static void drop(relay_conn *rc)
{
    disarm(rc, 0);
    unwatch_dup(rc);
    epoll_ctl(relay_ep, EPOLL_CTL_DEL, rc->fd, NULL);
    epoll_ctl(relay_ep, EPOLL_CTL_DEL, rc->tfd, NULL);
    close(rc->fd);
    close(rc->tfd);
    for (relay_conn **p = &relay_conns; *p; p = &(*p)->next)
        if (*p == rc) {
            *p = rc->next;
            break;
        }
    free(rc);
}

/* Bits of an arm's token that say what to wait for (neither: readable). */
#define TOKEN_READ ((int32_t)1 << 29)
#define TOKEN_WRITE ((int32_t)1 << 30)

static void arm(relay_conn *rc, int32_t fd, int32_t timeout_ms, int32_t token)
{
    uint32_t events = EPOLLONESHOT;
    if (!(token & (TOKEN_READ | TOKEN_WRITE)))
        events |= EPOLLIN;
    if (token & TOKEN_READ)
        events |= EPOLLIN;
    if (token & TOKEN_WRITE)
        events |= EPOLLOUT;
    token &= ~(TOKEN_READ | TOKEN_WRITE);
    struct epoll_event ev = { .events = events,
                              .data.u64 = (uint64_t)(uintptr_t)rc + KIND_WATCH };
    if (rc->watch >= 0 && rc->watch_fd == fd && rc->watch_token == token &&
        epoll_ctl(relay_ep, EPOLL_CTL_MOD, rc->watch, &ev) == 0) {
        rc->armed = 1;
    } else {
        unwatch_dup(rc);
        int d = fd >= 0 ? fcntl(fd, F_DUPFD_CLOEXEC, 0) : -1;
        if (d < 0 || epoll_ctl(relay_ep, EPOLL_CTL_ADD, d, &ev) != 0) {
            if (d >= 0)
                close(d);
            rc->armed = 0;
            answer(rc, 1); /* cannot watch it: let the caller pump and see */
            return;
        }
        rc->watch = d;
        rc->watch_fd = fd;
        rc->watch_token = token;
        rc->armed = 1;
    }
    set_timer(rc, timeout_ms);
}

static relay_conn *find(relay_conn *rc)
{
    for (relay_conn *x = relay_conns; x; x = x->next)
        if (x == rc)
            return x;
    return NULL;
}

static void readable(relay_conn *rc)
{
    for (;;) {
        ssize_t n = read(rc->fd, rc->in + rc->inlen, sizeof rc->in - (size_t)rc->inlen);
        if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) {
            drop(rc);
            return;
        }
        if (n < 0) {
            if (errno == EAGAIN)
                return;
            continue;
        }
        rc->inlen += (int)n;
        if (rc->inlen == (int)sizeof rc->in) {
            int32_t fd, ms, token;
            memcpy(&fd, rc->in, 4);
            memcpy(&ms, rc->in + 4, 4);
            memcpy(&token, rc->in + 8, 4);
            rc->inlen = 0;
            if (fd == -2) /* hello: the id ljh_relay_arm will name it by */
                rc->id = (uint32_t)token;
            else
                arm(rc, fd, ms, token);
        }
    }
}

static void accept_all(void)
{
    for (;;) {
        int fd = accept4(relay_lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        relay_conn *rc = calloc(1, sizeof *rc);
        int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
        struct epoll_event ev = { .events = EPOLLIN, .data.ptr = rc };
        struct epoll_event tev = { .events = EPOLLIN,
                                   .data.u64 = (uint64_t)(uintptr_t)rc + KIND_TIMER };
        if (!rc || tfd < 0 || epoll_ctl(relay_ep, EPOLL_CTL_ADD, fd, &ev) != 0 ||
            epoll_ctl(relay_ep, EPOLL_CTL_ADD, tfd, &tev) != 0) {
            if (rc)
                epoll_ctl(relay_ep, EPOLL_CTL_DEL, fd, NULL);
            free(rc);
            close(fd);
            if (tfd >= 0)
                close(tfd);
            continue;
        }
        rc->fd = fd;
        rc->tfd = tfd;
        rc->watch = -1;
        rc->next = relay_conns;
        relay_conns = rc;
    }
}

static void *relay_main(void *arg)
{
    (void)arg;
    struct epoll_event evs[32];
    for (;;) {
        int n = epoll_wait(relay_ep, evs, 32, -1);
        pthread_mutex_lock(&relay_mu);
        for (int i = 0; i < n; i++) {
            uint64_t tag = evs[i].data.u64;
            if (tag == TAG_LISTEN) {
                accept_all();
                continue;
            }
            if (tag == TAG_POKE) {
                uint64_t v;
                if (read(relay_poke_fd, &v, sizeof v) < 0) {
                    /* EAGAIN: already read */
                }
                for (relay_conn *rc = relay_conns; rc; rc = rc->next)
                    if (rc->armed)
                        answer(rc, 0);
                continue;
            }
            /* one turn may have dropped or answered it already */
            relay_conn *rc = find((relay_conn *)(uintptr_t)(tag & ~(uint64_t)3));
            if (!rc)
                continue;
            if ((tag & 3) == KIND_WATCH) {
                if (rc->armed)
                    answer(rc, 1);
            } else if ((tag & 3) == KIND_TIMER) {
                uint64_t v;
                /* nothing to read: re-armed since it expired */
                if (read(rc->tfd, &v, sizeof v) == (ssize_t)sizeof v) {
                    rc->timer_set = 0;
                    if (rc->armed)
                        answer(rc, 0);
                }
            } else {
                readable(rc);
            }
        }
        pthread_mutex_unlock(&relay_mu);
    }
    return NULL;
}

int32_t ljh_relay_arm(uint32_t id, int32_t fd, int32_t timeout_ms, int32_t token)
{
    int32_t rc = -1;
    if (!relay_here || id == 0)
        return -1; /* not started here (or forked since): send the arm */
    pthread_mutex_lock(&relay_mu);
    {
        for (relay_conn *x = relay_conns; x; x = x->next)
            if (x->id == id) {
                arm(x, fd, timeout_ms, token);
                rc = 0;
                break;
            }
    }
    pthread_mutex_unlock(&relay_mu);
    return rc;
}

static void remove_socket_dir(void)
{
    if (relay_pid == getpid() && relay_path[0]) {
        unlink(relay_path);
        rmdir(relay_dir);
    }
}

/* A forked child: no relay here until ljh_relay_path starts one (arm and
 * poke test this flag, not getpid(), which is a system call per arm). */
static void forked_child(void)
{
    relay_here = 0;
}

/* Starts this process's relay; 0 or -1 (relay_mu held). */
static int relay_start(void)
{
    static int atexit_done;
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp || strlen(tmp) > 40)
        tmp = "/tmp";
    snprintf(relay_dir, sizeof relay_dir, "%s/ljhttp-XXXXXX", tmp);
    if (!mkdtemp(relay_dir))
        return -1;
    snprintf(relay_path, sizeof relay_path, "%s/relay", relay_dir);
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    memcpy(sa.sun_path, relay_path, strlen(relay_path) + 1);
    relay_lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    relay_ep = epoll_create1(EPOLL_CLOEXEC);
    relay_poke_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    struct epoll_event lev = { .events = EPOLLIN, .data.u64 = TAG_LISTEN };
    struct epoll_event pev = { .events = EPOLLIN, .data.u64 = TAG_POKE };
    pthread_t th;
    pthread_attr_t at;
    int ok = relay_lfd >= 0 && relay_ep >= 0 && relay_poke_fd >= 0 &&
             bind(relay_lfd, (struct sockaddr *)&sa, sizeof sa) == 0 && listen(relay_lfd, 64) == 0 &&
             epoll_ctl(relay_ep, EPOLL_CTL_ADD, relay_lfd, &lev) == 0 &&
             epoll_ctl(relay_ep, EPOLL_CTL_ADD, relay_poke_fd, &pev) == 0 &&
             pthread_attr_init(&at) == 0;
    if (ok) {
        pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
        pthread_attr_setstacksize(&at, 64 * 1024);
        ok = pthread_create(&th, &at, relay_main, NULL) == 0;
        pthread_attr_destroy(&at);
    }
    if (!ok) {
        if (relay_lfd >= 0)
            close(relay_lfd);
        if (relay_ep >= 0)
            close(relay_ep);
        if (relay_poke_fd >= 0)
            close(relay_poke_fd);
        relay_lfd = relay_ep = relay_poke_fd = -1;
        unlink(relay_path);
        rmdir(relay_dir);
        relay_path[0] = '\0';
        return -1;
    }
    relay_pid = getpid();
    if (!atexit_done)
        atexit_done = atexit(remove_socket_dir) == 0 && pthread_atfork(NULL, NULL, forked_child) == 0;
    relay_here = atexit_done; /* without the fork handler, arms go as messages */
    return 0;
}

int32_t ljh_relay_path(char *out, int32_t cap)
{
    /* a forked child: the parent's thread may have held the lock (only the
     * calling thread survives fork, so no one else touches it here) */
    if (relay_pid != 0 && relay_pid != getpid())
        pthread_mutex_init(&relay_mu, NULL);
    pthread_mutex_lock(&relay_mu);
    pid_t me = getpid();
    if (relay_pid != me) {
        if (relay_pid != 0) {
            /* forked: the parent's thread is not here; its descriptors are
             * (no O_CLOEXEC effect on fork), close them, keep its files */
            close(relay_lfd);
            close(relay_ep);
            close(relay_poke_fd);
            relay_lfd = relay_ep = relay_poke_fd = -1;
            relay_conns = NULL; /* the parent's memory; its sockets leak */
            relay_pid = 0;
            relay_path[0] = '\0';
        }
        if (relay_start() != 0) {
            pthread_mutex_unlock(&relay_mu);
            return -1;
        }
    }
    int32_t n = (int32_t)strlen(relay_path);
    if (!out || cap <= n)
        n = -1;
    else
        memcpy(out, relay_path, (size_t)n + 1);
    pthread_mutex_unlock(&relay_mu);
    return n;
}

void ljh_relay_poke(void)
{
    if (relay_here && relay_poke_fd >= 0) {
        uint64_t one = 1;
        if (write(relay_poke_fd, &one, sizeof one) < 0) {
            /* EAGAIN: a poke is already pending */
        }
    }
}

#else /* not Linux: no relay, the host polls */

int32_t ljh_relay_arm(uint32_t id, int32_t fd, int32_t timeout_ms, int32_t token)
{
    (void)id;
    (void)fd;
    (void)timeout_ms;
    (void)token;
    return -1;
}

int32_t ljh_relay_path(char *out, int32_t cap)
{
    if (out && cap > 0)
        out[0] = '\0';
    return -1;
}

void ljh_relay_poke(void)
{
}

#endif
