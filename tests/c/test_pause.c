/* A stream's unpause failing (libcurl 8: what it held back, decoded, went
 * over max_body_size; the transfer then ends with CURLE_WRITE_ERROR) is
 * reported with its own reason. libcurl 7.88 never fails there, so this
 * binary's curl_easy_pause stands in front of libcurl's and, when a test
 * asks, returns the failure after the real call. */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <dlfcn.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ljhttp.h"
#include "loopback.h"

static CURLcode forced_cont_error = CURLE_OK;
static int n_cont;

CURLcode curl_easy_pause(CURL *handle, int bitmask)
{
    CURLcode (*real)(CURL *, int) = (CURLcode(*)(CURL *, int))dlsym(RTLD_NEXT, "curl_easy_pause");
    CURLcode rc = real ? real(handle, bitmask) : CURLE_FAILED_INIT;
    if (bitmask == CURLPAUSE_CONT) {
        n_cont++;
        if (forced_cont_error != CURLE_OK)
            return forced_cont_error;
    }
    return rc;
}

#define BODY (3 * 1024 * 1024)

typedef struct server {
    int fd, port;
    pthread_t thread;
} server;

/* One answer: 3 MiB, more than a stream buffers before pausing. */
static void *serve(void *arg)
{
    server *s = arg;
    int c = accept_local(s->fd);
    if (c < 0)
        return NULL;
    char req[4096];
    read_request(c, req, sizeof req);
    char head[128];
    int hl = snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", BODY);
    (void)!write(c, head, (size_t)hl);
    static char chunk[65536];
    memset(chunk, 'a', sizeof chunk);
    for (size_t sent = 0; sent < BODY;) {
        ssize_t n = write(c, chunk, sizeof chunk);
        if (n <= 0)
            break;
        sent += (size_t)n;
    }
    close(c);
    return NULL;
}

static void start(server *s)
{
    s->fd = listen_local(&s->port);
    cr_assert_eq(pthread_create(&s->thread, NULL, serve, s), 0);
}

/* Streams the answer, letting the buffer fill (and the transfer pause)
 * before each take. */
static ljh_response *stream_all(size_t *total)
{
    server s;
    start(&s);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", s.port);
    ljh_client *c = ljh_client_new(NULL);
    cr_assert_not_null(c);
    ljh_request req;
    memset(&req, 0, sizeof req);
    req.method.ptr = "GET";
    req.method.len = 3;
    req.url.ptr = url;
    req.url.len = strlen(url);
    req.max_redirects = -1;
    req.max_body_size = 64 * 1024 * 1024;
    req.flags = LJH_F_STREAM;
    ljh_transfer *t = ljh_client_submit(c, &req);
    cr_assert_not_null(t);
    *total = 0;
    int64_t deadline = ljh_now_ms() + 8000;
    while (ljh_now_ms() < deadline) {
        for (int i = 0; i < 5 && !ljh_transfer_done(t); i++)
            ljh_client_run(c, 20);
        const char *data;
        size_t n;
        while ((n = ljh_transfer_take(t, &data)) > 0)
            *total += n;
        if (ljh_transfer_done(t) && ljh_transfer_take(t, &data) == 0)
            break;
    }
    ljh_response *r = ljh_transfer_response(t);
    ljh_transfer_free(t);
    ljh_client_free(c);
    pthread_join(s.thread, NULL);
    close(s.fd);
    return r;
}

Test(pause, unpause_ok_streams_everything, .timeout = 20)
{
    size_t total;
    ljh_response *r = stream_all(&total);
    cr_assert_not_null(r);
    cr_expect_eq(r->error, LJH_OK, "%s", r->errmsg);
    cr_expect_eq(total, (size_t)BODY);
    cr_expect_gt(n_cont, 0, "the stream never paused: the test proves nothing");
    ljh_response_free(r);
}

Test(pause, unpause_failure_is_reported_with_its_reason, .timeout = 20)
{
    forced_cont_error = CURLE_FILESIZE_EXCEEDED;
    size_t total;
    ljh_response *r = stream_all(&total);
    cr_assert_not_null(r);
    cr_expect_gt(n_cont, 0, "the stream never paused: the test proves nothing");
    cr_expect_eq(r->error, LJH_E_TOO_LARGE, "got %s: %s", ljh_error_name(r->error), r->errmsg);
    cr_expect(strstr(r->errmsg, "max_body_size") != NULL, "%s", r->errmsg);
    ljh_response_free(r);
}
