/* ev: the engine's one interface to the OS, kept small so that each
 * platform's code is a backend file and the event core (evloop.c) is the
 * same everywhere:
 *   ev_epoll.c     Linux: one epoll set the host watches (ljh_client_fd)
 *   ev_kqueue.c    macOS and the BSDs: the same with a kqueue
 *   ev_portable.c  no OS-specific readiness call: the host watches
 *                  libcurl's sockets itself (ljh_client_watches), or
 *                  ljh_client_run polls them; built everywhere, the only
 *                  backend on Windows.
 * The OS calls the core needs besides readiness (clock, sockets, fork
 * detection) are in os.h with the rest.
 * #if blocks for platforms live in these files only. */
#ifndef LJHTTP_EV_H
#define LJHTTP_EV_H

#include <curl/curl.h>
#include <stdint.h>

#include "ljhttp.h"
#include "os.h"

/* Interest and readiness bits: LJH_EV_IN, LJH_EV_OUT, LJH_EV_ERR (cdef). */

typedef struct ljh_ev_event {
    curl_socket_t fd;
    int events; /* LJH_EV_* */
} ljh_ev_event;

typedef struct ljh_ev_backend {
    const char *name;
    /* Opens the backend's state for c (c->ev_fd); 0 or -1. */
    int (*open)(ljh_client *c);
    /* Frees it; the client's sockets are not closed here. */
    void (*close)(ljh_client *c);
    /* fd is now watched for events (LJH_EV_IN|LJH_EV_OUT; 0: not at all);
     * old is what it was watched for. 0, or -1 when it could not be. */
    int (*watch)(ljh_client *c, curl_socket_t fd, int events, int old);
    /* Waits up to timeout_ms (0: just looks) for readiness; fills out
     * with up to max sockets; returns their count (0 on error). */
    int (*wait)(ljh_client *c, ljh_ev_event *out, int max, int timeout_ms);
    /* 1 when a forked child inherits c->ev_fd (epoll); 0 when it does not
     * (kqueue): the child must not close that number, someone else's now. */
    int survives_fork;
} ljh_ev_backend;

extern const ljh_ev_backend ljh__ev_portable;
#if defined(__linux__)
extern const ljh_ev_backend ljh__ev_epoll;
#define LJH_EV_DEFAULT (&ljh__ev_epoll)
#elif defined(__APPLE__) || defined(__FreeBSD__) || defined(__OpenBSD__) || \
    defined(__NetBSD__) || defined(__DragonFly__)
extern const ljh_ev_backend ljh__ev_kqueue;
#define LJH_EV_DEFAULT (&ljh__ev_kqueue)
#else
#define LJH_EV_DEFAULT (&ljh__ev_portable)
#endif

/* The backend called name (n bytes; n == 0: this platform's default), or
 * NULL when it is not built here. */
const ljh_ev_backend *ljh__ev_find(const char *name, size_t n);

#endif
