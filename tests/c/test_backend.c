/* Tests for the engine's readiness backends (ev.h) through the public ABI:
 * which backends a build has, how a client names its own, and the
 * portable backend driven only as a host drives it: watches pulled with
 * ljh_client_watches, readiness found with our own poll() and reported
 * with ljh_client_socket_ready. A one-shot responder thread on 127.0.0.1
 * answers. */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ljhttp.h"
#include "loopback.h"

typedef struct oneshot {
    int fd, port;
    pthread_t thread;
    const char *answer;
} oneshot;

static void *oneshot_main(void *arg)
{
    oneshot *s = arg;
    int c = accept_local(s->fd);
    if (c < 0)
        return NULL;
    char buf[4096];
    read_request(c, buf, sizeof buf);
    ssize_t w = write(c, s->answer, strlen(s->answer));
    (void)w;
    close(c); /* Connection: close: libcurl drops the socket after it */
    return NULL;
}

static void oneshot_start(oneshot *s, const char *answer)
{
    s->fd = listen_local(&s->port);
    s->answer = answer;
    cr_assert_eq(pthread_create(&s->thread, NULL, oneshot_main, s), 0);
}

static void oneshot_stop(oneshot *s)
{
    pthread_join(s->thread, NULL);
    close(s->fd);
}

static ljh_client *client_on(const char *backend)
{
    ljh_client_options o;
    memset(&o, 0, sizeof o);
    o.backend.ptr = backend;
    o.backend.len = backend ? strlen(backend) : 0;
    return ljh_client_new(&o);
}

Test(backend, names)
{
    cr_expect_eq(ljh_backend_available("portable"), 1);
    cr_expect_eq(ljh_backend_available("epoll"), 1); /* (these tests run on Linux) */
    cr_expect_eq(ljh_backend_available("kqueue"), 0);
    cr_expect_eq(ljh_backend_available("select"), 0);
    cr_expect_eq(ljh_backend_available(""), 1); /* the platform's default */
    cr_expect_null(client_on("kqueue"), "a backend not built here is refused");
    cr_expect_null(client_on("epol"));

    ljh_client *c = client_on(NULL);
    cr_assert_not_null(c);
    cr_expect_str_eq(ljh_client_backend(c), "epoll");
    cr_expect_geq(ljh_client_fd(c), 0);
    ljh_watch w[4];
    cr_expect_eq(ljh_client_watches(c, w, 4), 0, "only the portable backend has watches");
    ljh_client_free(c);

    c = client_on("portable");
    cr_assert_not_null(c);
    cr_expect_str_eq(ljh_client_backend(c), "portable");
    cr_expect_eq(ljh_client_fd(c), -1, "no descriptor: the host watches the sockets");
    ljh_client_free(c);
    cr_expect_str_eq(ljh_client_backend(NULL), "");
}

#define MAX_FDS 16

/* The host's side: what it watches, from the pulled changes. */
typedef struct host {
    int64_t fd[MAX_FDS];
    int32_t events[MAX_FDS];
    int n, adds, removes;
} host;

static void pull(ljh_client *c, host *h)
{
    ljh_watch w[4];
    int32_t n;
    do {
        n = ljh_client_watches(c, w, 4);
        for (int32_t i = 0; i < n; i++) {
            int k = 0;
            while (k < h->n && h->fd[k] != w[i].fd)
                k++;
            if (w[i].events == 0) {
                cr_assert(w[i].events == 0 && k < h->n, "a removal for a socket never watched");
                h->fd[k] = h->fd[h->n - 1];
                h->events[k] = h->events[h->n - 1];
                h->n--;
                h->removes++;
                continue;
            }
            cr_assert_eq(w[i].events & ~(LJH_EV_IN | LJH_EV_OUT), 0);
            if (k == h->n) {
                cr_assert_lt(h->n, MAX_FDS);
                h->n++;
                h->adds++;
            }
            h->fd[k] = w[i].fd;
            h->events[k] = w[i].events;
        }
    } while (n == 4);
}

/* A GET of the one-shot server's / (url is the buffer the request points into). */
static ljh_request get_request(char *url, size_t cap, int port)
{
    snprintf(url, cap, "http://127.0.0.1:%d/", port);
    ljh_request r;
    memset(&r, 0, sizeof r);
    r.method = (ljh_str){"GET", 3};
    r.url = (ljh_str){url, strlen(url)};
    r.max_redirects = -1;
    return r;
}

Test(backend, portable_driven_by_the_host, .timeout = 20)
{
    oneshot s;
    oneshot_start(&s, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello");
    ljh_client *c = client_on("portable");
    cr_assert_not_null(c);
    char url[64];
    ljh_request r = get_request(url, sizeof url, s.port);
    ljh_transfer *t = ljh_client_submit(c, &r);
    cr_assert_not_null(t);

    host h = {0};
    int reported = 0;
    int64_t deadline = ljh_now_ms() + 15000;
    pull(c, &h); /* from now on the host watches */
    while (!ljh_transfer_done(t) && ljh_now_ms() < deadline) {
        /* timers and starts: ljh_client_run(c, 0) polls no socket now */
        ljh_client_run(c, 0);
        pull(c, &h);
        struct pollfd p[MAX_FDS];
        for (int i = 0; i < h.n; i++) {
            p[i].fd = (int)h.fd[i];
            p[i].events = (short)(((h.events[i] & LJH_EV_IN) ? POLLIN : 0) |
                                  ((h.events[i] & LJH_EV_OUT) ? POLLOUT : 0));
            p[i].revents = 0;
        }
        int32_t ms = ljh_client_timeout(c);
        int n = poll(p, (nfds_t)h.n, ms < 0 || ms > 50 ? 50 : ms);
        for (int i = 0; i < h.n && n > 0; i++) {
            if (!p[i].revents)
                continue;
            int32_t ev = ((p[i].revents & (POLLIN | POLLHUP)) ? LJH_EV_IN : 0) |
                         ((p[i].revents & POLLOUT) ? LJH_EV_OUT : 0) |
                         ((p[i].revents & POLLERR) ? LJH_EV_ERR : 0);
            ljh_client_socket_ready(c, p[i].fd, ev);
            reported++;
        }
        pull(c, &h);
    }
    cr_assert(ljh_transfer_done(t), "the transfer finished");
    cr_expect_gt(h.adds, 0, "watches were pulled");
    cr_expect_gt(reported, 0, "readiness was reported");
    ljh_response *res = ljh_transfer_response(t);
    cr_assert_not_null(res);
    cr_expect_eq(res->error, 0, "%s", res->errmsg);
    cr_expect_eq(res->status, 200);
    cr_expect_eq(res->body_len, 5);
    /* The closed connection's removal, pulled once (the socket itself
     * closes at the pull after that). */
    ljh_client_run(c, 0);
    pull(c, &h);
    pull(c, &h);
    cr_expect_gt(h.removes, 0, "the closed socket was removed");
    cr_expect_eq(h.n, 0, "nothing left to watch");
    ljh_response_free(res);
    ljh_transfer_free(t);
    ljh_client_free(c);
    oneshot_stop(&s);
}

/* Plain LuaJIT on the portable backend: nobody watches, ljh_client_run
 * polls the sockets itself. */
Test(backend, portable_run_polls_itself, .timeout = 20)
{
    oneshot s;
    oneshot_start(&s, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
    ljh_client *c = client_on("portable");
    cr_assert_not_null(c);
    char url[64];
    ljh_request r = get_request(url, sizeof url, s.port);
    ljh_response *res = ljh_client_perform(c, &r);
    cr_assert_not_null(res);
    cr_expect_eq(res->error, 0, "%s", res->errmsg);
    cr_expect_eq(res->status, 200);
    ljh_response_free(res);
    ljh_client_free(c);
    oneshot_stop(&s);
}

/* A kept-alive connection the server closes once nothing runs: the set
 * (ljh_client_fd) becomes readable, and one ljh_client_run must clear
 * it, or a host that polls the descriptor wakes for ever. */
Test(backend, idle_socket_closed_by_the_server_is_cleared, .timeout = 20)
{
    oneshot s;
    oneshot_start(&s, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    ljh_client *c = client_on(NULL);
    cr_assert_not_null(c);
    int fd = ljh_client_fd(c);
    if (fd < 0) {
        ljh_client_free(c);
        oneshot_stop(&s);
        cr_skip_test("this platform's default backend has no descriptor");
    }
    char url[64];
    ljh_request r = get_request(url, sizeof url, s.port);
    ljh_transfer *t = ljh_client_submit(c, &r);
    cr_assert_not_null(t);
    int64_t deadline = ljh_now_ms() + 15000;
    while (!ljh_transfer_done(t) && ljh_now_ms() < deadline)
        ljh_client_run(c, 100);
    ljh_response *res = ljh_transfer_response(t);
    cr_assert_not_null(res);
    cr_expect_eq(res->status, 200);
    oneshot_stop(&s); /* the server has closed the kept-alive connection */
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, 5000) > 0) { /* the close reached the set */
        ljh_client_run(c, 0);
        cr_expect_eq(poll(&p, 1, 0), 0, "the descriptor stays readable after a run");
    }
    ljh_response_free(res);
    ljh_transfer_free(t);
    ljh_client_free(c);
}
