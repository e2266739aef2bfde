/* ev_portable: the backend with no OS-specific readiness call, built on
 * every OS (the only one on Windows).
 *
 * The host watches libcurl's sockets itself: it pulls each change of what
 * a socket waits for (ljh_client_watches; C never calls Lua) and reports
 * readiness (ljh_client_socket_ready). Neovim uses one libuv poll handle
 * per socket. A host that does not watch lets ljh_client_run(c, wait_ms)
 * poll the sockets with poll() (WSAPoll on Windows). */
#if defined(_WIN32)
#include <winsock2.h>
#include <windows.h>
#else
#include <poll.h>
#endif
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"

#if defined(_WIN32)
typedef WSAPOLLFD ljh_pollfd;
#define ljh_poll(p, n, ms) WSAPoll((p), (ULONG)(n), (ms))
#else
typedef struct pollfd ljh_pollfd;
#define ljh_poll(p, n, ms) poll((p), (nfds_t)(n), (ms))
#endif

/* ---- the backend ---- */

static int p_open(ljh_client *c)
{
    c->ev_fd = -1; /* nothing to watch as one descriptor */
    return 0;
}

static void p_close(ljh_client *c)
{
    c->n_changed = 0;
}

/* Queues the socket for the host's next pull (once, however often it
 * changes before then: the host is told the latest interest). */
static int p_watch(ljh_client *c, curl_socket_t fd, int events, int old)
{
    (void)events;
    (void)old;
    int i = ljh__socket_index(fd);
    if (!c->host_watches || i < 0 || i >= c->n_fds || (c->fdflag[i] & LJH_FD_CHANGED))
        return 0;
    if (c->n_changed == c->changed_cap) {
        int cap = c->changed_cap ? c->changed_cap * 2 : 16;
        curl_socket_t *p = realloc(c->changed, (size_t)cap * sizeof *p);
        if (!p)
            return -1;
        c->changed = p;
        c->changed_cap = cap;
    }
    c->changed[c->n_changed++] = fd;
    c->fdflag[i] |= LJH_FD_CHANGED;
    return 0;
}

static void sleep_ms(int ms)
{
#if defined(_WIN32)
    Sleep((DWORD)ms);
#else
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
#endif
}

/* ljh_client_run's own wait: poll() over the watched sockets. A host
 * that watches them reports readiness itself; its pumps (wait 0) look
 * at nothing here, its blocking waits (Neovim in a fast callback) do. */
static int p_wait(ljh_client *c, ljh_ev_event *out, int max, int timeout_ms)
{
    if (c->host_watches && timeout_ms == 0)
        return 0;
    int n = 0;
    for (int i = 0; i < c->n_fds; i++) {
        if (!c->watched[i])
            continue;
        if (n == c->pollfds_cap) {
            int cap = c->pollfds_cap ? c->pollfds_cap * 2 : 64;
            void *p = realloc(c->pollfds, (size_t)cap * sizeof(ljh_pollfd));
            if (!p)
                break; /* the rest wait for the next run */
            c->pollfds = p;
            c->pollfds_cap = cap;
        }
        ljh_pollfd *pf = (ljh_pollfd *)c->pollfds + n++;
        pf->fd = (curl_socket_t)i;
        pf->events = (short)(((c->watched[i] & LJH_EV_IN) ? POLLIN : 0) |
                             ((c->watched[i] & LJH_EV_OUT) ? POLLOUT : 0));
        pf->revents = 0;
    }
    if (n == 0) { /* (WSAPoll refuses an empty set) */
        if (timeout_ms > 0)
            sleep_ms(timeout_ms);
        return 0;
    }
    int ready = ljh_poll((ljh_pollfd *)c->pollfds, n, timeout_ms);
    int k = 0;
    for (int j = 0; j < n && ready > 0 && k < max; j++) {
        ljh_pollfd *pf = (ljh_pollfd *)c->pollfds + j;
        if (!pf->revents)
            continue;
        out[k].fd = (curl_socket_t)pf->fd;
        out[k].events = ((pf->revents & (POLLIN | POLLHUP)) ? LJH_EV_IN : 0) |
                        ((pf->revents & POLLOUT) ? LJH_EV_OUT : 0) |
                        ((pf->revents & (POLLERR | POLLNVAL)) ? LJH_EV_ERR : 0);
        k++;
    }
    return k;
}

const ljh_ev_backend ljh__ev_portable = {"portable", p_open, p_close, p_watch, p_wait, 1};

const ljh_ev_backend *ljh__ev_find(const char *name, size_t n)
{
    static const ljh_ev_backend *const all[] = {
#if defined(__linux__)
        &ljh__ev_epoll,
#elif defined(__APPLE__) || defined(__FreeBSD__) || defined(__OpenBSD__) || \
    defined(__NetBSD__) || defined(__DragonFly__)
        &ljh__ev_kqueue,
#endif
        &ljh__ev_portable,
    };
    if (!name || n == 0)
        return LJH_EV_DEFAULT;
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (strlen(all[i]->name) == n && memcmp(all[i]->name, name, n) == 0)
            return all[i];
    return NULL;
}
