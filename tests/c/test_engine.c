/* Tests for the engine (client.c, evloop.c, transfer.c...) through the public ABI only (ljhttp.h): clients,
 * blocking and non-blocking transfers, cancellation, closing a client
 * with work in flight. No network: a refused port, a socket that listens
 * and never answers, and a tiny in-test responder thread that serves
 * canned responses on 127.0.0.1. */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
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

/* ---- helpers ---- */

static ljh_request mkreq(const char *method, const char *url)
{
    ljh_request r;
    memset(&r, 0, sizeof r);
    r.method.ptr = method;
    r.method.len = strlen(method);
    r.url.ptr = url;
    r.url.len = url ? (int32_t)strlen(url) : 0;
    r.max_redirects = -1;
    return r;
}

static ljh_kv kv(const char *name, const char *value)
{
    ljh_kv p = {name, value, (int32_t)strlen(name), (int32_t)strlen(value)};
    return p;
}

static const char *header(const ljh_response *r, const char *name)
{
    for (int32_t i = 0; i < r->n_headers; i++)
        if (strcmp(r->headers[i].name, name) == 0)
            return r->headers[i].value;
    return NULL;
}

static ljh_client *new_client(void)
{
    ljh_client *c = ljh_client_new(NULL);
    cr_assert_not_null(c);
    return c;
}

/* Gives a transfer to a silent server time to connect and send. */
static void run_for(ljh_client *c, int ms)
{
    int64_t deadline = ljh_now_ms() + ms;
    while (ljh_now_ms() < deadline)
        ljh_client_run(c, 20);
}

/* Runs c until t is done, for 5 s at most. */
static void run_until_done(ljh_client *c, ljh_transfer *t)
{
    int64_t deadline = ljh_now_ms() + 5000;
    while (!ljh_transfer_done(t) && ljh_now_ms() < deadline)
        ljh_client_run(c, 50);
}

/* ---- the responder: one canned response per accepted connection ---- */

#define MAX_CONNS 4

typedef struct responder {
    int fd;
    int port;
    pthread_t thread;
    const char *responses[MAX_CONNS];
    int n;
    char requests[MAX_CONNS][8192];
    int served;
    char url[64];
} responder;

/* Listens on 127.0.0.1; s->url is its address with path. A responder
 * never started is a server that accepts nothing and never answers
 * (close s->fd at the end). */
static void responder_listen(responder *s, const char *path)
{
    memset(s, 0, sizeof *s);
    s->fd = listen_local(&s->port);
    snprintf(s->url, sizeof s->url, "http://127.0.0.1:%d%s", s->port, path);
}

static void *responder_main(void *arg)
{
    responder *s = arg;
    for (int i = 0; i < s->n; i++) {
        int c = accept_local(s->fd);
        if (c < 0)
            break; /* the client never came: let the test end */
        read_request(c, s->requests[i], sizeof s->requests[i]);
        const char *r = s->responses[i];
        size_t off = 0, len = strlen(r);
        while (off < len) {
            ssize_t n = write(c, r + off, len - off);
            if (n <= 0)
                break;
            off += (size_t)n;
        }
        shutdown(c, SHUT_WR);
        /* Let the client read everything before the close. */
        char sink[256];
        struct pollfd q = {c, POLLIN, 0};
        while (poll(&q, 1, 2000) > 0 && read(c, sink, sizeof sink) > 0)
            ;
        close(c);
        s->served = i + 1;
    }
    return NULL;
}

/* Answers the next connection with r0 and, unless r1 is NULL, the one
 * after it with r1. */
static void responder_start(responder *s, const char *r0, const char *r1)
{
    s->responses[0] = r0;
    s->responses[1] = r1;
    s->n = r1 ? 2 : 1;
    cr_assert_eq(pthread_create(&s->thread, NULL, responder_main, s), 0);
}

/* Both: a responder at path answering r0 (then r1). */
static void serve(responder *s, const char *path, const char *r0, const char *r1)
{
    responder_listen(s, path);
    responder_start(s, r0, r1);
}

static void responder_stop(responder *s)
{
    pthread_join(s->thread, NULL);
    close(s->fd);
}

/* A blocking request to s, which has served it once this returns. */
static ljh_response *perform(ljh_client *c, const ljh_request *req, responder *s)
{
    ljh_response *r = ljh_client_perform(c, req);
    responder_stop(s);
    cr_assert_not_null(r);
    return r;
}

/* A transfer to a server that never answers, given ms to connect and
 * send: still running. */
static ljh_transfer *submit_unanswered(ljh_client *c, const ljh_request *req, int ms)
{
    ljh_transfer *t = ljh_client_submit(c, req);
    cr_assert_not_null(t);
    run_for(c, ms);
    cr_assert_eq(ljh_transfer_done(t), 0, "the server never answers");
    return t;
}

/* ---- NULL safety ---- */

Test(engine, null_safety)
{
    ljh_client_free(NULL);
    ljh_transfer_free(NULL);
    ljh_response_free(NULL);
    ljh_transfer_cancel(NULL);
    cr_expect_eq(ljh_client_run(NULL, 0), 0);
    cr_expect_eq(ljh_client_run(NULL, 10), 0);
    cr_expect_eq(ljh_client_fd(NULL), -1);
    cr_expect_eq(ljh_client_timeout(NULL), -1);
    int32_t ids[4];
    cr_expect_eq(ljh_client_ready(NULL, ids, 4), 0);
    cr_expect_null(ljh_client_submit(NULL, NULL));
    ljh_request req = mkreq("GET", "http://127.0.0.1:1/");
    cr_expect_null(ljh_client_perform(NULL, &req));
    cr_expect_null(ljh_client_submit(NULL, &req));
    cr_expect_eq(ljh_transfer_id(NULL), 0);
    cr_expect_eq(ljh_transfer_done(NULL), 1);
    cr_expect_null(ljh_transfer_response(NULL));
    const char *data = NULL;
    cr_expect_eq(ljh_transfer_take(NULL, &data), 0);
    cr_expect_not_null(data);
    ljh_progress p;
    memset(&p, 0xff, sizeof p);
    ljh_transfer_progress(NULL, &p);
    cr_expect_eq(p.downloaded, 0);
    cr_expect_eq(p.download_total, 0);
    ljh_transfer_progress(NULL, NULL);
}

Test(engine, client_lifecycle)
{
    ljh_client *c = new_client();
    cr_expect_geq(ljh_client_fd(c), 0);
    cr_expect_eq(ljh_client_run(c, 0), 0, "nothing to run");
    int32_t ids[4];
    cr_expect_eq(ljh_client_ready(c, ids, 4), 0);
    cr_expect_eq(ljh_client_ready(c, NULL, 4), 0);
    cr_expect_eq(ljh_client_ready(c, ids, 0), 0);
    ljh_client_free(c);
    /* the options themselves are checked by cookie_jar_option below */
}

Test(engine, version_facts)
{
    cr_expect_eq(ljh_abi_version(), LJH_ABI_VERSION);
    cr_assert_not_null(ljh_version());
    cr_expect_gt(strlen(ljh_version()), 0);
    cr_assert_not_null(ljh_curl_version());
    cr_expect_gt(strlen(ljh_curl_version()), 0);
    int64_t a = ljh_now_ms();
    usleep(2000);
    cr_expect_gt(ljh_now_ms(), a);
}

/* ---- failures without a server ---- */

Test(engine, refused_port, .timeout = 10)
{
    ljh_client *c = new_client();
    ljh_request req = mkreq("GET", "http://127.0.0.1:1/");
    ljh_response *r = ljh_client_perform(c, &req);
    cr_assert_not_null(r);
    cr_expect_eq(r->error, LJH_E_CONNECT, "got %s: %s", ljh_error_name(r->error), r->errmsg);
    cr_expect_gt(strlen(r->errmsg), 0);
    cr_expect(strstr(r->errmsg, "Get \"http://127.0.0.1:1/\"") != NULL, "%s", r->errmsg);
    cr_expect_eq(r->status, 0);
    cr_assert_not_null(r->body);
    cr_expect_eq(r->body_len, 0);
    ljh_response_free(r);
    ljh_client_free(c);
}

Test(engine, password_not_in_messages, .timeout = 10)
{
    ljh_client *c = new_client();
    ljh_request req = mkreq("GET", "http://127.0.0.1:1/");
    req.user.ptr = "alice";
    req.user.len = 5;
    req.pass.ptr = "hunter2secret";
    req.pass.len = 13;
    ljh_response *r = ljh_client_perform(c, &req);
    cr_assert_not_null(r);
    cr_expect_eq(r->error, LJH_E_CONNECT);
    cr_expect(strstr(r->errmsg, "hunter2secret") == NULL, "%s", r->errmsg);
    ljh_response_free(r);

    req = mkreq("GET", "http://bob:hunter2secret@127.0.0.1:1/");
    r = ljh_client_perform(c, &req);
    cr_assert_not_null(r);
    cr_expect(strstr(r->errmsg, "hunter2secret") == NULL, "%s", r->errmsg);
    ljh_response_free(r);
    ljh_client_free(c);
}

Test(engine, invalid_request_is_done_at_submit, .timeout = 10)
{
    ljh_client *c = new_client();
    ljh_request bad_url = mkreq("GET", "ftp://example.com/");
    ljh_request bad_method = mkreq("GE T", "http://example.com/");
    ljh_transfer *t1 = ljh_client_submit(c, &bad_url);
    ljh_transfer *t2 = ljh_client_submit(c, &bad_method);
    cr_assert_not_null(t1);
    cr_assert_not_null(t2);
    cr_expect_eq(ljh_transfer_done(t1), 1);
    cr_expect_eq(ljh_transfer_done(t2), 1);
    cr_expect_neq(ljh_transfer_id(t1), ljh_transfer_id(t2));
    cr_expect_gt(ljh_transfer_id(t1), 0);

    int32_t ids[8];
    int32_t n = ljh_client_ready(c, ids, 8);
    cr_assert_eq(n, 2);
    cr_expect((ids[0] == ljh_transfer_id(t1) && ids[1] == ljh_transfer_id(t2)) ||
              (ids[1] == ljh_transfer_id(t1) && ids[0] == ljh_transfer_id(t2)));
    cr_expect_eq(ljh_client_ready(c, ids, 8), 0, "reported once");
    cr_expect_eq(ljh_client_run(c, 0), 0, "nothing unfinished");

    ljh_response *r = ljh_transfer_response(t1);
    cr_assert_not_null(r);
    cr_expect_eq(r->error, LJH_E_UNSUPPORTED_SCHEME);
    cr_expect(strstr(r->errmsg, "unsupported protocol scheme \"ftp\"") != NULL, "%s", r->errmsg);
    cr_expect_null(ljh_transfer_response(t1), "handed over once");
    ljh_response_free(r);
    ljh_transfer_free(t1);

    /* Freed without taking the response: no leak. */
    ljh_transfer_free(t2);
    ljh_client_free(c);
}

Test(engine, ready_in_batches, .timeout = 10)
{
    ljh_client *c = new_client();
    ljh_request bad = mkreq("GET", "nope");
    ljh_transfer *t[5];
    for (int i = 0; i < 5; i++) {
        t[i] = ljh_client_submit(c, &bad);
        cr_assert_not_null(t[i]);
    }
    int32_t ids[2];
    cr_expect_eq(ljh_client_ready(c, ids, 2), 2);
    cr_expect_eq(ljh_client_ready(c, ids, 2), 2);
    cr_expect_eq(ljh_client_ready(c, ids, 2), 1);
    cr_expect_eq(ljh_client_ready(c, ids, 2), 0);
    /* Free one still queued, in the middle of the list. */
    ljh_transfer *u[3];
    for (int i = 0; i < 3; i++)
        u[i] = ljh_client_submit(c, &bad);
    ljh_transfer_free(u[1]);
    int32_t all[8];
    cr_assert_eq(ljh_client_ready(c, all, 8), 2);
    cr_expect_eq(all[0], ljh_transfer_id(u[0]));
    cr_expect_eq(all[1], ljh_transfer_id(u[2]));
    ljh_transfer_free(u[0]);
    ljh_transfer_free(u[2]);
    for (int i = 0; i < 5; i++)
        ljh_transfer_free(t[i]);
    ljh_client_free(c);
}

Test(engine, perform_invalid_request)
{
    ljh_client *c = new_client();
    ljh_request req = mkreq("GET", "");
    ljh_response *r = ljh_client_perform(c, &req);
    cr_assert_not_null(r);
    cr_expect_eq(r->error, LJH_E_UNSUPPORTED_SCHEME);
    ljh_response_free(r);
    r = ljh_client_perform(c, NULL);
    cr_assert_not_null(r);
    cr_expect_eq(r->error, LJH_E_INVALID_ARGUMENT);
    ljh_response_free(r);
    ljh_client_free(c);
}

/* ---- a server that never answers ---- */

Test(engine, client_free_closes_running_transfers, .timeout = 10)
{
    responder quiet;
    responder_listen(&quiet, "/slow");
    ljh_client *c = new_client();
    ljh_request req = mkreq("POST", quiet.url);
    req.body.ptr = "payload";
    req.body.len = 7;
    ljh_transfer *t = ljh_client_submit(c, &req);
    ljh_transfer *t2 = ljh_client_submit(c, &req);
    cr_assert_not_null(t);
    cr_assert_not_null(t2);
    run_for(c, 200);
    cr_assert_eq(ljh_transfer_done(t), 0, "the server never answers");
    cr_expect_gt(ljh_client_run(c, 0), 0);

    ljh_transfer_free(t2); /* one freed while running: cancelled */
    ljh_client_free(c);
    cr_expect_eq(ljh_transfer_done(t), 1);
    cr_expect_eq(ljh_transfer_id(t) > 0, 1);
    ljh_progress p;
    ljh_transfer_progress(t, &p);
    const char *data;
    cr_expect_eq(ljh_transfer_take(t, &data), 0);
    ljh_transfer_cancel(t); /* no-op once done, no client */
    ljh_response *r = ljh_transfer_response(t);
    cr_assert_not_null(r);
    cr_expect_eq(r->error, LJH_E_CLOSED, "got %s: %s", ljh_error_name(r->error), r->errmsg);
    cr_expect_gt(strlen(r->errmsg), 0);
    ljh_response_free(r);
    ljh_transfer_free(t);
    close(quiet.fd);
}

Test(engine, client_free_before_taking_the_response, .timeout = 10)
{
    responder quiet;
    responder_listen(&quiet, "/");
    ljh_client *c = new_client();
    ljh_request req = mkreq("GET", quiet.url);
    ljh_transfer *t = submit_unanswered(c, &req, 100);
    ljh_client_free(c);
    /* The transfer ended with the client and keeps its response; freeing
     * the transfer without taking it leaks nothing (ASan run). */
    cr_expect_eq(ljh_transfer_done(t), 1);
    ljh_transfer_free(t);
    close(quiet.fd);
}

Test(engine, cancel, .timeout = 10)
{
    responder quiet;
    responder_listen(&quiet, "/");
    ljh_client *c = new_client();
    ljh_request req = mkreq("GET", quiet.url);
    ljh_transfer *t = submit_unanswered(c, &req, 150);
    cr_expect_null(ljh_transfer_response(t), "not finished yet");

    ljh_transfer_cancel(t);
    cr_expect_eq(ljh_transfer_done(t), 1);
    cr_expect_eq(ljh_client_run(c, 0), 0, "nothing left running");
    int32_t ids[4];
    cr_expect_eq(ljh_client_ready(c, ids, 4), 1);
    cr_expect_eq(ids[0], ljh_transfer_id(t));
    ljh_transfer_cancel(t); /* again: no-op */
    ljh_response *r = ljh_transfer_response(t);
    cr_assert_not_null(r);
    cr_expect_eq(r->error, LJH_E_CANCELLED, "got %s", ljh_error_name(r->error));
    cr_expect_gt(strlen(r->errmsg), 0);
    ljh_response_free(r);
    ljh_transfer_free(t);

    /* The client is still usable: a new transfer to the same place. */
    t = ljh_client_submit(c, &req);
    cr_assert_not_null(t);
    run_for(c, 50);
    ljh_transfer_free(t); /* freeing a running transfer cancels it */
    cr_expect_eq(ljh_client_run(c, 0), 0);
    cr_expect_eq(ljh_client_ready(c, ids, 4), 0, "a freed transfer is never reported");
    ljh_client_free(c);
    close(quiet.fd);
}

Test(engine, total_timeout, .timeout = 10)
{
    responder quiet;
    responder_listen(&quiet, "/");
    ljh_client *c = new_client();
    ljh_request req = mkreq("GET", quiet.url);
    req.timeout.seconds = 0.3;
    req.timeout.is_set = 1;
    int64_t t0 = ljh_now_ms();
    ljh_response *r = ljh_client_perform(c, &req);
    int64_t took = ljh_now_ms() - t0;
    cr_assert_not_null(r);
    cr_expect_eq(r->error, LJH_E_TIMEOUT, "got %s: %s", ljh_error_name(r->error), r->errmsg);
    cr_expect_geq(took, 250);
    cr_expect_lt(took, 3000);
    ljh_response_free(r);
    ljh_client_free(c);
    close(quiet.fd);
}

/* ---- with the responder ---- */

#define OK_RESPONSE                                                                   \
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nx-test: yes\r\n"                  \
    "Set-Cookie: sid=\"abc\"; Path=/\r\nContent-Length: 5\r\nConnection: close\r\n\r\n" \
    "hello"

Test(engine, perform_success, .timeout = 10)
{
    responder s;
    serve(&s, "/path?q=1", OK_RESPONSE, NULL);
    ljh_client *c = new_client();
    ljh_request req = mkreq("get", s.url);
    ljh_kv h[] = {kv("X-Req", "one"), kv("Accept", "text/plain")};
    req.headers = h;
    req.n_headers = 2;
    ljh_response *r = perform(c, &req, &s);
    cr_assert_eq(r->error, LJH_OK, "%s: %s", ljh_error_name(r->error), r->errmsg);
    cr_expect_eq(r->status, 200);
    cr_expect_eq(r->http_version, 11);
    cr_expect_eq(r->body_len, 5);
    cr_expect_str_eq(r->body, "hello");
    cr_expect_str_eq(r->url, s.url);
    cr_expect_eq((size_t)r->url_len, strlen(s.url));
    cr_expect_str_eq(r->remote_ip, "127.0.0.1");
    cr_expect_str_eq(r->errmsg, "");
    const char *v = header(r, "X-Test");
    cr_assert_not_null(v, "X-Test (canonicalised from x-test)");
    cr_expect_str_eq(v, "yes");
    cr_expect_str_eq(header(r, "Content-Type"), "text/plain");
    cr_assert_eq(r->n_cookies, 1);
    cr_expect_str_eq(r->cookies[0].name, "sid");
    cr_expect_str_eq(r->cookies[0].value, "abc");
    cr_expect_eq(r->n_redirects, 0);
    cr_expect_geq(r->t_total, r->t_connect);

    const char *sent = s.requests[0];
    cr_expect_eq(strncmp(sent, "GET /path?q=1 HTTP/1.1\r\n", 24), 0, "%s", sent);
    cr_expect(strstr(sent, "\r\nX-Req: one\r\n") != NULL, "%s", sent);
    cr_expect(strstr(sent, "Expect:") == NULL, "%s", sent);
    ljh_response_free(r);
    ljh_client_free(c);
}

Test(engine, submit_success, .timeout = 10)
{
    responder s;
    serve(&s, "/", OK_RESPONSE, NULL);
    ljh_client *c = new_client();
    ljh_request req = mkreq("POST", s.url);
    char body[] = "form=1";
    req.body.ptr = body;
    req.body.len = 6;
    ljh_transfer *t = ljh_client_submit(c, &req);
    cr_assert_not_null(t);
    memset(body, 'X', 6); /* the request was copied at submit */
    cr_expect_eq(ljh_transfer_done(t), 0);
    cr_expect_null(ljh_transfer_response(t));
    int32_t ids[4], n = 0;
    int64_t deadline = ljh_now_ms() + 5000;
    while (n == 0 && ljh_now_ms() < deadline) {
        ljh_client_run(c, 50);
        n = ljh_client_ready(c, ids, 4);
    }
    cr_assert_eq(n, 1);
    cr_expect_eq(ids[0], ljh_transfer_id(t));
    cr_expect_eq(ljh_transfer_done(t), 1);
    ljh_progress p;
    ljh_transfer_progress(t, &p);
    cr_expect_eq(p.downloaded, 5);
    cr_expect_eq(p.download_total, 5);
    cr_expect_eq(p.uploaded, 6);
    ljh_response *r = ljh_transfer_response(t);
    ljh_transfer_free(t);
    responder_stop(&s);
    cr_assert_not_null(r);
    cr_assert_eq(r->error, LJH_OK, "%s", r->errmsg);
    cr_expect_eq(r->status, 200);
    cr_expect_str_eq(r->body, "hello");
    const char *sent = s.requests[0];
    cr_expect_eq(strncmp(sent, "POST / HTTP/1.1\r\n", 17), 0, "%s", sent);
    cr_expect(strstr(sent, "\r\n\r\nform=1") != NULL, "%s", sent);
    cr_expect(strstr(sent, "Content-Type:") == NULL, "no Content-Type nobody asked for: %s", sent);
    ljh_response_free(r);
    ljh_client_free(c);
}

Test(engine, stream, .timeout = 10)
{
    responder s;
    serve(&s, "/",
          "HTTP/1.1 200 OK\r\nContent-Length: 11\r\nConnection: close\r\n\r\nhello world",
          NULL);
    ljh_client *c = new_client();
    ljh_request req = mkreq("GET", s.url);
    req.flags = LJH_F_STREAM;
    ljh_transfer *t = ljh_client_submit(c, &req);
    cr_assert_not_null(t);
    char got[64] = "";
    size_t total = 0;
    int64_t deadline = ljh_now_ms() + 5000;
    for (;;) {
        ljh_client_run(c, 50);
        const char *data;
        size_t n = ljh_transfer_take(t, &data);
        cr_assert_leq(total + n, sizeof got - 1);
        memcpy(got + total, data, n);
        total += n;
        if ((ljh_transfer_done(t) && n == 0) || ljh_now_ms() > deadline)
            break;
    }
    got[total] = '\0';
    cr_expect_str_eq(got, "hello world");
    ljh_response *r = ljh_transfer_response(t);
    cr_assert_not_null(r);
    cr_expect_eq(r->error, LJH_OK, "%s", r->errmsg);
    cr_expect_eq(r->status, 200);
    cr_expect_eq(r->body_len, 0, "stream bytes are not kept in the response");
    ljh_response_free(r);
    ljh_transfer_free(t);
    responder_stop(&s);
    ljh_client_free(c);
}

Test(engine, body_too_large, .timeout = 10)
{
    responder s;
    serve(&s, "/", OK_RESPONSE, NULL);
    ljh_client *c = new_client();
    ljh_request req = mkreq("GET", s.url);
    req.max_body_size = 4;
    ljh_response *r = perform(c, &req, &s);
    cr_expect_eq(r->error, LJH_E_TOO_LARGE, "got %s: %s", ljh_error_name(r->error), r->errmsg);
    cr_expect(strstr(r->errmsg, "max_body_size") != NULL, "%s", r->errmsg);
    ljh_response_free(r);
    ljh_client_free(c);
}

Test(engine, redirect_same_origin_post_to_get, .timeout = 10)
{
    responder s;
    responder_listen(&s, "/start");
    char r0[256];
    snprintf(r0, sizeof r0,
             "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:%d/final\r\n"
             "Content-Length: 3\r\nConnection: close\r\n\r\nbye",
             s.port);
    responder_start(&s, r0, OK_RESPONSE);
    ljh_client *c = new_client();
    ljh_request req = mkreq("POST", s.url);
    req.body.ptr = "x=1";
    req.body.len = 3;
    ljh_kv h = kv("Authorization", "Bearer same-origin");
    req.headers = &h;
    req.n_headers = 1;
    ljh_response *r = perform(c, &req, &s);
    cr_assert_eq(r->error, LJH_OK, "%s: %s", ljh_error_name(r->error), r->errmsg);
    cr_expect_eq(r->status, 200);
    cr_expect_str_eq(r->body, "hello", "the redirect's own body is dropped");
    cr_assert_eq(r->n_redirects, 1);
    cr_expect_str_eq(r->redirects[0].url, s.url);
    cr_expect_eq(r->redirects[0].status, 302);
    cr_expect(strstr(r->url, "/final") != NULL, "%s", r->url);
    cr_expect_eq(strncmp(s.requests[0], "POST /start ", 12), 0, "%s", s.requests[0]);
    cr_expect_eq(strncmp(s.requests[1], "GET /final ", 11), 0, "%s", s.requests[1]);
    cr_expect(strstr(s.requests[1], "x=1") == NULL, "body dropped: %s", s.requests[1]);
    cr_expect(strstr(s.requests[1], "Bearer same-origin") != NULL, "same origin keeps it: %s",
              s.requests[1]);
    ljh_response_free(r);
    ljh_client_free(c);
}

/* Common methods come from a static table, others are copied: both
 * are sent upper-cased, whatever the caller's case. The status and
 * version the engine reads once before packing are the response's. */
Test(engine, method_case_and_http10_status, .timeout = 10)
{
    static const char *const methods[][2] = {
        {"options", "OPTIONS /m "}, {"Purge", "PURGE /m "}, {"delete", "DELETE /m "}};
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
        responder s;
        serve(&s, "/m", "HTTP/1.0 203 Fine\r\nContent-Length: 2\r\n\r\nok", NULL);
        ljh_client *c = new_client();
        ljh_request req = mkreq(methods[i][0], s.url);
        ljh_response *r = perform(c, &req, &s);
        cr_assert_eq(r->error, LJH_OK, "%s: %s", ljh_error_name(r->error), r->errmsg);
        cr_expect_eq(r->status, 203);
        cr_expect_eq(r->http_version, 10);
        cr_expect_str_eq(r->body, "ok");
        cr_expect_eq(strncmp(s.requests[0], methods[i][1], strlen(methods[i][1])), 0, "%s",
                     s.requests[0]);
        ljh_response_free(r);
        ljh_client_free(c);
    }
}

/* A finished transfer keeps its small buffers for the next request on
 * the client, and the response gets copies: an earlier response must
 * not change when the next one arrives into the same buffers. */
Test(engine, small_responses_own_their_bytes, .timeout = 10)
{
    responder s;
    serve(&s, "/a",
          "HTTP/1.1 200 OK\r\nX-First: one\r\nContent-Length: 5\r\nConnection: close\r\n\r\nfirst",
          "HTTP/1.1 201 Created\r\nX-Second: two\r\nX-More: 3\r\nContent-Length: 7\r\n"
          "Connection: close\r\n\r\nsecond!");
    ljh_client *c = new_client();
    ljh_request req = mkreq("GET", s.url);
    ljh_response *r1 = ljh_client_perform(c, &req);
    cr_assert_not_null(r1);
    ljh_response *r2 = perform(c, &req, &s);
    cr_assert_eq(r1->error, LJH_OK, "%s", r1->errmsg);
    cr_assert_eq(r2->error, LJH_OK, "%s", r2->errmsg);
    cr_expect_eq(r1->status, 200);
    cr_expect_eq(r1->body_len, 5);
    cr_expect_str_eq(r1->body, "first");
    cr_expect_str_eq(header(r1, "X-First"), "one");
    cr_expect_null(header(r1, "X-Second"));
    cr_expect_eq(r2->status, 201);
    cr_expect_str_eq(r2->body, "second!");
    cr_expect_str_eq(header(r2, "X-Second"), "two");
    cr_expect_str_eq(header(r2, "X-More"), "3");
    ljh_response_free(r1);
    ljh_response_free(r2);
    ljh_client_free(c);
}

Test(engine, redirect_cross_origin_drops_credentials, .timeout = 10)
{
    responder a, b;
    responder_listen(&a, "/start");
    serve(&b, "/other", OK_RESPONSE, NULL);
    char r0[256];
    snprintf(r0, sizeof r0,
             "HTTP/1.1 307 Temporary Redirect\r\nLocation: %s\r\n"
             "Content-Length: 0\r\nConnection: close\r\n\r\n",
             b.url);
    responder_start(&a, r0, NULL);
    ljh_client *c = new_client();
    ljh_request req = mkreq("PUT", a.url);
    req.body.ptr = "data";
    req.body.len = 4;
    ljh_kv h[] = {kv("Authorization", "Bearer tok"), kv("X-Keep", "k")};
    req.headers = h;
    req.n_headers = 2;
    ljh_kv ck = kv("session", "s1");
    req.cookies = &ck;
    req.n_cookies = 1;
    req.user.ptr = "alice";
    req.user.len = 5;
    req.pass.ptr = "pw";
    req.pass.len = 2;
    ljh_response *r = ljh_client_perform(c, &req);
    responder_stop(&a);
    responder_stop(&b);
    cr_assert_not_null(r);
    cr_assert_eq(r->error, LJH_OK, "%s: %s", ljh_error_name(r->error), r->errmsg);
    cr_expect_eq(r->status, 200);
    cr_assert_eq(r->n_redirects, 1);
    cr_expect_eq(r->redirects[0].status, 307);

    const char *first = a.requests[0], *second = b.requests[0];
    cr_expect(strstr(first, "Bearer tok") != NULL, "%s", first);
    cr_expect(strstr(first, "session=s1") != NULL, "%s", first);
    cr_expect_eq(strncmp(second, "PUT /other ", 11), 0, "307 keeps the method: %s", second);
    cr_expect(strstr(second, "\r\n\r\ndata") != NULL, "307 keeps the body: %s", second);
    cr_expect(strstr(second, "X-Keep: k") != NULL, "%s", second);
    cr_expect(strcasestr(second, "Authorization") == NULL, "credentials leaked: %s", second);
    cr_expect(strstr(second, "session=s1") == NULL, "cookie leaked: %s", second);
    ljh_response_free(r);
    ljh_client_free(c);
}

Test(engine, no_follow, .timeout = 10)
{
    responder s;
    serve(&s, "/",
          "HTTP/1.1 301 Moved\r\nLocation: /elsewhere\r\nContent-Length: 4\r\n"
          "Connection: close\r\n\r\nmove",
          NULL);
    ljh_client *c = new_client();
    ljh_request req = mkreq("GET", s.url);
    req.flags = LJH_F_NO_FOLLOW;
    ljh_response *r = perform(c, &req, &s);
    cr_assert_eq(r->error, LJH_OK, "%s", r->errmsg);
    cr_expect_eq(r->status, 301);
    cr_expect_str_eq(header(r, "Location"), "/elsewhere");
    cr_expect_str_eq(r->body, "move");
    cr_expect_eq(r->n_redirects, 0);
    ljh_response_free(r);
    ljh_client_free(c);
}

Test(engine, too_many_redirects, .timeout = 10)
{
    responder s;
    serve(&s, "/",
          "HTTP/1.1 302 Found\r\nLocation: /again\r\nContent-Length: 0\r\n"
          "Connection: close\r\n\r\n",
          NULL);
    ljh_client *c = new_client();
    ljh_request req = mkreq("GET", s.url);
    req.max_redirects = 0;
    ljh_response *r = perform(c, &req, &s);
    cr_expect_eq(r->error, LJH_E_TOO_MANY_REDIRECTS, "got %s: %s", ljh_error_name(r->error),
                 r->errmsg);
    cr_expect(strstr(r->errmsg, "stopped after 0 redirects") != NULL, "%s", r->errmsg);
    ljh_response_free(r);
    ljh_client_free(c);
}

Test(engine, redirect_to_unsupported_scheme, .timeout = 10)
{
    responder s;
    serve(&s, "/",
          "HTTP/1.1 302 Found\r\nLocation: ftp://127.0.0.1/file\r\nContent-Length: 0\r\n"
          "Connection: close\r\n\r\n",
          NULL);
    ljh_client *c = new_client();
    ljh_request req = mkreq("GET", s.url);
    ljh_response *r = perform(c, &req, &s);
    cr_expect_eq(r->error, LJH_E_UNSUPPORTED_SCHEME, "got %s: %s", ljh_error_name(r->error),
                 r->errmsg);
    cr_expect(strstr(r->errmsg, "unsupported protocol scheme \"ftp\"") != NULL, "%s", r->errmsg);
    ljh_response_free(r);
    ljh_client_free(c);
}

/* LJH_F_BODY_PULL: the upload pauses until each piece is fed. */
Test(engine, pulled_body, .timeout = 10)
{
    responder s;
    serve(&s, "/", OK_RESPONSE, NULL);
    ljh_client *c = new_client();
    ljh_request req = mkreq("PUT", s.url);
    ljh_kv h = kv("Content-Length", "10");
    req.headers = &h;
    req.n_headers = 1;
    req.flags = LJH_F_BODY_PULL;
    cr_expect_eq(ljh_transfer_feed(NULL, "x", 1), -1);
    ljh_response *sync = ljh_client_perform(c, &req); /* needs submit */
    cr_assert_not_null(sync);
    cr_expect_eq(sync->error, LJH_E_INVALID_ARGUMENT);
    ljh_response_free(sync);
    ljh_transfer *t = ljh_client_submit(c, &req);
    cr_assert_not_null(t);
    cr_expect_eq(ljh_transfer_feed(t, "x", 1), -1, "not asked for a piece yet");
    const char *pieces[] = {"hello", "world", ""};
    int fed = 0;
    int32_t ids[4];
    int64_t deadline = ljh_now_ms() + 5000;
    while (!ljh_transfer_done(t) && ljh_now_ms() < deadline) {
        ljh_client_run(c, 50);
        ljh_client_ready(c, ids, 4);
        if (ljh_transfer_wants_body(t)) {
            cr_assert_lt(fed, 3);
            cr_expect_eq(ljh_transfer_feed(t, pieces[fed], strlen(pieces[fed])), 0);
            fed++;
        }
    }
    cr_expect_geq(fed, 2); /* with a known size, libcurl may not ask for the end */
    ljh_response *r = ljh_transfer_response(t);
    ljh_transfer_free(t);
    responder_stop(&s);
    cr_assert_not_null(r);
    cr_assert_eq(r->error, LJH_OK, "%s", r->errmsg);
    const char *sent = s.requests[0];
    cr_expect(strstr(sent, "Content-Length: 10\r\n") != NULL, "%s", sent);
    cr_expect(strstr(sent, "\r\n\r\nhelloworld") != NULL, "%s", sent);
    ljh_response_free(r);
    ljh_client_free(c);
}

/* ---- bounded work per ljh_client_run(c, 0) ---- */

/* A host pumping from its loop gets its turn back: one run moves at most
 * about 1 MiB of body (then the transfer pauses and the timeout says 0),
 * and the body still arrives whole. */
Test(engine_budget, bytes_per_pump, .timeout = 30)
{
    enum { BODY = 8 * 1024 * 1024 };
    static char resp[BODY + 128];
    int h = snprintf(resp, 128, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", BODY);
    memset(resp + h, 'b', BODY);
    resp[h + BODY] = '\0';
    responder s;
    serve(&s, "/", resp, NULL);
    ljh_client *c = new_client();
    ljh_request req = mkreq("GET", s.url);
    ljh_transfer *t = ljh_client_submit(c, &req);
    cr_assert_not_null(t);
    int64_t last = 0, most = 0, deadline = ljh_now_ms() + 20000;
    int zero_after_budget = 0;
    while (!ljh_transfer_done(t) && ljh_now_ms() < deadline) {
        int32_t ms = ljh_client_timeout(c);
        struct pollfd p = {ljh_client_fd(c), POLLIN, 0};
        poll(&p, 1, ms < 0 || ms > 50 ? 50 : ms);
        ljh_client_run(c, 0);
        ljh_progress pr;
        ljh_transfer_progress(t, &pr);
        if (pr.downloaded - last > most)
            most = pr.downloaded - last;
        if (pr.downloaded > last && !ljh_transfer_done(t) && ljh_client_timeout(c) == 0)
            zero_after_budget++;
        last = pr.downloaded;
    }
    cr_assert_eq(ljh_transfer_done(t), 1);
    cr_expect_leq(most, 1024 * 1024 + 128 * 1024, "one run moved %lld bytes", (long long)most);
    cr_expect_gt(zero_after_budget, 0, "a run stopped by its budget leaves work for now");
    ljh_response *r = ljh_transfer_response(t);
    cr_assert_not_null(r);
    cr_assert_eq(r->error, LJH_OK, "%s", r->errmsg);
    cr_expect_eq(r->body_len, (size_t)BODY);
    cr_expect(r->body_len == BODY && r->body[0] == 'b' && r->body[BODY - 1] == 'b');
    ljh_response_free(r);
    ljh_transfer_free(t);
    responder_stop(&s);
    ljh_client_free(c);
}

/* One run starts at most 16 submitted transfers; the rest wait for the
 * next runs (the timeout says 0 meanwhile). A blocking run starts all. */
Test(engine_budget, starts_per_pump, .timeout = 30)
{
    responder quiet;
    responder_listen(&quiet, "/");
    ljh_client *c = new_client();
    ljh_transfer *ts[40];
    for (int i = 0; i < 40; i++) {
        ljh_request req = mkreq("GET", quiet.url);
        ts[i] = ljh_client_submit(c, &req);
        cr_assert_not_null(ts[i]);
    }
    ljh_client_run(c, 0);
    cr_expect_eq(ljh_client_timeout(c), 0, "transfers left to start");
    ljh_client_run(c, 0);
    cr_expect_eq(ljh_client_timeout(c), 0, "transfers left to start");
    ljh_transfer_cancel(ts[39]); /* a cancelled one is no longer owed a start */
    ljh_client_run(c, 0);
    ljh_client_run(c, 20);
    int wrong = 0;
    for (int i = 0; i < 40; i++) {
        wrong += ljh_transfer_done(ts[i]) != (i == 39);
        ljh_transfer_free(ts[i]);
    }
    cr_expect_eq(wrong, 0, "only the cancelled transfer is done");
    ljh_client_free(c);
    close(quiet.fd);
}

/* Options reach libcurl: with cookie_jar the cookie of the first response
 * goes out with the second request; without it, it does not. */
static void two_requests(const ljh_client_options *o, responder *s)
{
    serve(s, "/", OK_RESPONSE, OK_RESPONSE);
    ljh_client *c = ljh_client_new(o);
    cr_assert_not_null(c);
    ljh_request req = mkreq("GET", s->url);
    for (int i = 0; i < 2; i++) {
        ljh_response *r = ljh_client_perform(c, &req);
        cr_assert_not_null(r);
        cr_expect_eq(r->error, LJH_OK, "%s", r->errmsg);
        ljh_response_free(r);
    }
    responder_stop(s);
    ljh_client_free(c);
}

Test(engine, cookie_jar_option, .timeout = 10)
{
    ljh_client_options o;
    memset(&o, 0, sizeof o);
    o.cookie_jar = 1;
    o.max_connections = 4;
    o.max_host_connections = 2;
    responder s;
    two_requests(&o, &s);
    cr_expect(strstr(s.requests[0], "Cookie:") == NULL, "%s", s.requests[0]);
    cr_expect(strstr(s.requests[1], "Cookie: sid=\"abc\"") != NULL, "%s", s.requests[1]);
    two_requests(NULL, &s);
    cr_expect(strstr(s.requests[1], "Cookie:") == NULL, "no jar: %s", s.requests[1]);
}

/* A freed transfer's memory serves the client's next submit: nothing of
 * the old transfer (its head, stream bytes, state) shows in the new one. */
Test(engine, reused_transfer_starts_clean, .timeout = 10)
{
    responder s;
    serve(&s, "/",
          "HTTP/1.1 200 OK\r\nContent-Length: 11\r\nX-Old: 1\r\nConnection: close\r\n\r\n"
          "hello world",
          "HTTP/1.1 201 Created\r\nContent-Length: 3\r\nConnection: close\r\n\r\nnew");
    ljh_client *c = new_client();
    ljh_request req = mkreq("GET", s.url);
    req.flags = LJH_F_STREAM;
    ljh_transfer *t = ljh_client_submit(c, &req);
    cr_assert_not_null(t);
    run_until_done(c, t);
    cr_assert(ljh_transfer_done(t));
    int32_t old_id = ljh_transfer_id(t);
    ljh_transfer_free(t); /* head, stream bytes and response never taken */

    ljh_request plain = mkreq("GET", s.url);
    ljh_transfer *u = ljh_client_submit(c, &plain);
    cr_assert_not_null(u);
    cr_expect_neq(ljh_transfer_id(u), old_id);
    cr_expect_eq(ljh_transfer_done(u), 0);
    cr_expect_null(ljh_transfer_head(u));
    cr_expect_null(ljh_transfer_response(u));
    cr_expect_eq(ljh_transfer_wants_body(u), 0);
    const char *data = NULL;
    cr_expect_eq(ljh_transfer_take(u, &data), 0);
    ljh_progress p;
    ljh_transfer_progress(u, &p);
    cr_expect_eq(p.downloaded, 0);
    run_until_done(c, u);
    ljh_response *r = ljh_transfer_response(u);
    cr_assert_not_null(r);
    cr_expect_eq(r->error, LJH_OK, "%s", r->errmsg);
    cr_expect_eq(r->status, 201);
    cr_expect_eq(r->body_len, 3);
    cr_expect_str_eq(r->body, "new");
    cr_expect_null(header(r, "X-Old"));
    cr_expect_eq(r->retries, 0);
    ljh_transfer_progress(u, &p);
    cr_expect_eq(p.downloaded, 3, "an async transfer's progress is kept at its end");
    ljh_response_free(r);
    ljh_transfer_free(u);
    responder_stop(&s);
    ljh_client_free(c);
}
