/* ev_kqueue: the macOS and BSD backend, epoll's counterpart. One kqueue
 * per client holds libcurl's sockets as a read and a write filter each;
 * the host watches its descriptor (ljh_client_fd), readable whenever one
 * of them fires. Compiled here only by the cross-compilation check. */
#if defined(__APPLE__) || defined(__FreeBSD__) || defined(__OpenBSD__) || \
    defined(__NetBSD__) || defined(__DragonFly__)
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/event.h>
#include <sys/time.h>
#include <sys/types.h>
#include <unistd.h>

#include "engine.h"

static int k_open(ljh_client *c)
{
    c->ev_fd = kqueue();
    if (c->ev_fd < 0)
        return -1;
    fcntl(c->ev_fd, F_SETFD, FD_CLOEXEC); /* (kqueues are not inherited by fork anyway) */
    return 0;
}

static void k_close(ljh_client *c)
{
    if (c->ev_fd >= 0)
        close(c->ev_fd);
    c->ev_fd = -1;
}

/* Adds the filters now wanted and deletes those no longer wanted, in one
 * kevent call. A delete of a filter the kqueue never had (a socket closed
 * and reopened under the same number) fails alone: its error is read from
 * the receipt and ignored. */
static int k_watch(ljh_client *c, curl_socket_t fd, int events, int old)
{
    struct kevent ch[2];
    int n = 0;
    static const struct {
        int bit;
        short filter;
    } f[2] = {{LJH_EV_IN, EVFILT_READ}, {LJH_EV_OUT, EVFILT_WRITE}};
    for (int i = 0; i < 2; i++) {
        int want = (events & f[i].bit) != 0, had = (old & f[i].bit) != 0;
        if (want)
            EV_SET(&ch[n++], (uintptr_t)fd, f[i].filter, EV_ADD | EV_RECEIPT, 0, 0, NULL);
        else if (had || events == 0)
            EV_SET(&ch[n++], (uintptr_t)fd, f[i].filter, EV_DELETE | EV_RECEIPT, 0, 0, NULL);
    }
    if (n == 0)
        return 0;
    struct kevent res[2];
    int got = kevent(c->ev_fd, ch, n, res, n, NULL);
    if (got < 0)
        return -1;
    for (int i = 0; i < got; i++) {
        /* a receipt's flags are EV_ERROR alone on some kernels: whether it
         * answers a delete is read from the change with its filter */
        int was_delete = 0;
        for (int j = 0; j < n; j++)
            if (ch[j].filter == res[i].filter)
                was_delete = (ch[j].flags & EV_DELETE) != 0;
        if ((res[i].flags & EV_ERROR) && res[i].data != 0 && !was_delete && res[i].data != ENOENT)
            return -1;
    }
    return 0;
}

static int k_wait(ljh_client *c, ljh_ev_event *out, int max, int timeout_ms)
{
    struct kevent evs[EVENTS_MAX];
    struct timespec ts = {timeout_ms / 1000, (long)(timeout_ms % 1000) * 1000000L};
    if (max > EVENTS_MAX)
        max = EVENTS_MAX;
    int n = kevent(c->ev_fd, NULL, 0, evs, max, timeout_ms < 0 ? NULL : &ts);
    int k = 0;
    for (int i = 0; i < n; i++) {
        int bits = evs[i].filter == EVFILT_READ ? LJH_EV_IN : LJH_EV_OUT;
        if (evs[i].flags & (EV_EOF | EV_ERROR))
            bits |= (evs[i].flags & EV_ERROR) ? LJH_EV_ERR : LJH_EV_IN;
        /* a socket ready both ways comes as two events: one for libcurl */
        int j = 0;
        while (j < k && out[j].fd != (curl_socket_t)evs[i].ident)
            j++;
        if (j == k) {
            out[k].fd = (curl_socket_t)evs[i].ident;
            out[k++].events = bits;
        } else {
            out[j].events |= bits;
        }
    }
    return k;
}

const ljh_ev_backend ljh__ev_kqueue = {"kqueue", k_open, k_close, k_watch, k_wait, 0};
#else
typedef int ljh_ev_kqueue_not_here; /* (ISO C wants something in a file) */
#endif
