/* Reusing a kept-alive connection costs no epoll_ctl when the socket is
 * still watched for what libcurl now wants (evloop.c, socket_cb): the
 * OpenResty host measured one redundant EPOLL_CTL_MOD per reused request.
 * epoll_ctl is wrapped here (this binary's definition comes first) and
 * counted per descriptor set; a keep-alive responder answers after a
 * short delay, so libcurl waits for the answer through the set. */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <dlfcn.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ljhttp.h"
#include "loopback.h"

static int counted_epfd = -1;
static int n_changes; /* ADD and MOD calls on counted_epfd */

int epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
    static int (*real)(int, int, int, struct epoll_event *);
    if (!real)
        *(void **)&real = dlsym(RTLD_NEXT, "epoll_ctl");
    if (epfd == counted_epfd && op != EPOLL_CTL_DEL)
        __atomic_add_fetch(&n_changes, 1, __ATOMIC_SEQ_CST);
    return real(epfd, op, fd, ev);
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
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", k.port);

    ljh_response *r = get(c, url); /* connects: the socket gets watched */
    cr_assert_eq(r->error, LJH_OK, "%s", r->errmsg);
    ljh_response_free(r);

    counted_epfd = ljh_client_fd(c);
    n_changes = 0;
    r = get(c, url); /* the same connection, waited on for 50 ms */
    int changes = __atomic_load_n(&n_changes, __ATOMIC_SEQ_CST);
    counted_epfd = -1;
    cr_assert_eq(r->error, LJH_OK, "%s", r->errmsg);
    ljh_response_free(r);
    cr_expect_eq(changes, 0, "reusing the connection changed the epoll set %d times", changes);

    pthread_join(k.thread, NULL);
    close(k.fd);
    ljh_client_free(c);
}
