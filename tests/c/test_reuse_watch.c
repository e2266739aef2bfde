/* Reusing a kept-alive connection makes no redundant epoll_ctl: a socket
 * still watched for what libcurl now wants is not registered again
 * (evloop.c, socket_cb). The OpenResty host measured one redundant
 * EPOLL_CTL_MOD per reused request. epoll_ctl is wrapped here (this
 * binary's definition comes first) and each call on the client's set is
 * compared with what that descriptor is already registered for: the set
 * is level-triggered, so setting the same events again is redundant.
 * (How many changes a reuse needs at all is libcurl's business: 7.88
 * keeps the watch, 8.x asks for writability while it sends.) A
 * keep-alive responder answers after a short delay, so libcurl waits for
 * the answer through the set. */
#include <criterion/criterion.h>

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "ljhttp.h"
#include "loopback.h"

#define MAX_FD 1024

static int counted_epfd = -1;
static uint32_t registered[MAX_FD]; /* events per descriptor; 0: not in the set */
static int n_redundant;             /* ADD/MOD calls that changed nothing */

int epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
    static int (*real)(int, int, int, struct epoll_event *);
    if (!real)
        *(void **)&real = dlsym(RTLD_NEXT, "epoll_ctl");
    int rc = real(epfd, op, fd, ev);
    if (epfd == counted_epfd && fd >= 0 && fd < MAX_FD && rc == 0) {
        if (op == EPOLL_CTL_DEL) {
            registered[fd] = 0;
        } else {
            if (registered[fd] != 0 && registered[fd] == ev->events)
                n_redundant++;
            registered[fd] = ev->events;
        }
    }
    return rc;
}

typedef struct keeper {
    int fd, port, n;
    pthread_t thread;
} keeper;

/* One connection, n requests on it, each answered 50 ms after it came. */
static void *keeper_main(void *arg)
{
    keeper *k = arg;
    int c = accept_local(k->fd);
    if (c < 0)
        return NULL;
    for (int i = 0; i < k->n; i++) {
        char buf[4096];
        read_request(c, buf, sizeof buf);
        if (!strstr(buf, "\r\n\r\n"))
            break;
        usleep(50 * 1000);
        const char *ans = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
        if (write(c, ans, strlen(ans)) < 0)
            break;
    }
    close(c);
    return NULL;
}

static ljh_response *get(ljh_client *c, const char *url)
{
    ljh_request req;
    memset(&req, 0, sizeof req);
    req.method.ptr = "GET";
    req.method.len = 3;
    req.url.ptr = url;
    req.url.len = (int32_t)strlen(url);
    req.max_redirects = -1;
    ljh_transfer *t = ljh_client_submit(c, &req);
    cr_assert_not_null(t);
    int64_t deadline = ljh_now_ms() + 5000;
    while (!ljh_transfer_done(t) && ljh_now_ms() < deadline)
        ljh_client_run(c, 100);
    cr_assert(ljh_transfer_done(t), "the request did not finish");
    ljh_response *r = ljh_transfer_response(t);
    ljh_transfer_free(t);
    return r;
}

Test(reuse_watch, kept_alive_socket_is_not_watched_again, .timeout = 20)
{
    keeper k = {.n = 2};
    k.fd = listen_local(&k.port);
    cr_assert_eq(pthread_create(&k.thread, NULL, keeper_main, &k), 0);

    ljh_client_options o;
    memset(&o, 0, sizeof o);
    o.backend.ptr = "epoll";
    o.backend.len = 5;
    ljh_client *c = ljh_client_new(&o);
    cr_assert_not_null(c);
    counted_epfd = ljh_client_fd(c); /* (all calls run on this thread) */
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", k.port);

    ljh_response *r = get(c, url); /* connects: the socket gets watched */
    cr_assert_eq(r->error, LJH_OK, "%s", r->errmsg);
    ljh_response_free(r);

    r = get(c, url); /* the same connection, waited on for 50 ms */
    int redundant = n_redundant;
    counted_epfd = -1;
    cr_assert_eq(r->error, LJH_OK, "%s", r->errmsg);
    ljh_response_free(r);
    cr_expect_eq(redundant, 0, "%d epoll_ctl calls set the events a socket already had", redundant);

    pthread_join(k.thread, NULL);
    close(k.fd);
    ljh_client_free(c);
}
