/* ev_epoll: the Linux backend. One epoll set per client holds libcurl's
 * sockets; the host watches its descriptor (ljh_client_fd), readable
 * whenever one of them is. */
#if defined(__linux__)
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "engine.h"

static int e_open(ljh_client *c)
{
    c->ev_fd = epoll_create1(EPOLL_CLOEXEC);
    return c->ev_fd < 0 ? -1 : 0;
}

static void e_close(ljh_client *c)
{
    if (c->ev_fd >= 0)
        close(c->ev_fd);
    c->ev_fd = -1;
}

/* ADD or MOD as old says; a registration that old got wrong (a socket
 * closed and reopened under the same number, a failed call) is retried
 * with the other operation. 0 events: removed. */
static int e_watch(ljh_client *c, curl_socket_t fd, int events, int old)
{
    if (events == 0)
        return epoll_ctl(c->ev_fd, EPOLL_CTL_DEL, fd, NULL) == 0 || errno == ENOENT ||
                       errno == EBADF
                   ? 0
                   : -1;
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.data.fd = fd;
    ev.events = ((events & LJH_EV_IN) ? EPOLLIN : 0u) | ((events & LJH_EV_OUT) ? EPOLLOUT : 0u);
    int rc = epoll_ctl(c->ev_fd, old ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev);
    if (rc != 0 && errno == ENOENT)
        rc = epoll_ctl(c->ev_fd, EPOLL_CTL_ADD, fd, &ev);
    else if (rc != 0 && errno == EEXIST)
        rc = epoll_ctl(c->ev_fd, EPOLL_CTL_MOD, fd, &ev);
    return rc == 0 ? 0 : -1;
}

static int e_wait(ljh_client *c, ljh_ev_event *out, int max, int timeout_ms)
{
    struct epoll_event evs[EVENTS_MAX];
    if (max > EVENTS_MAX)
        max = EVENTS_MAX;
    int n = epoll_wait(c->ev_fd, evs, max, timeout_ms);
    for (int i = 0; i < n; i++) {
        out[i].fd = evs[i].data.fd;
        out[i].events = ((evs[i].events & (EPOLLIN | EPOLLHUP)) ? LJH_EV_IN : 0) |
                        ((evs[i].events & EPOLLOUT) ? LJH_EV_OUT : 0) |
                        ((evs[i].events & EPOLLERR) ? LJH_EV_ERR : 0);
    }
    return n < 0 ? 0 : n;
}

const ljh_ev_backend ljh__ev_epoll = {"epoll", e_open, e_close, e_watch, e_wait, 1};
#else
typedef int ljh_ev_epoll_not_here; /* (ISO C wants something in a file) */
#endif
