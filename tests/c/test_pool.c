/* The pool of configured easy handles: a plain handle keeps its data
 * options pointing at the transfer that used it last (hop.c). A transfer
 * whose hop setup failed before it set them (out of memory building its
 * header list) must not be recorded as their owner: that handle still
 * points at its previous user, which may be freed while the pool says
 * otherwise, and the next request on the record's transfer would then
 * set none of them again (use after free, or a request never done). */
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

#include "ljhttp.h"
#include "loopback.h"
#include "test_str.h"

/* curl_slist_append fails while armed (the test binary's definition is
 * the one libljhttp's objects call; the real one otherwise). Each
 * Criterion test runs in its own process. */
static int fail_slist;
struct curl_slist *curl_slist_append(struct curl_slist *l, const char *s)
{
    static struct curl_slist *(*real)(struct curl_slist *, const char *);
    if (fail_slist)
        return NULL;
    if (!real)
        *(void **)&real = dlsym(RTLD_NEXT, "curl_slist_append");
    return real(l, s);
}

/* Answers every request on every connection with "hello". */
static int pool_fd;
static void *keepalive_main(void *arg)
{
    (void)arg;
    int fd;
    while ((fd = accept_local(pool_fd)) >= 0) {
        char buf[8192];
        while (read_request(fd, buf, sizeof buf) > 0) {
            const char *r = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
            if (write(fd, r, strlen(r)) < 0)
                break;
        }
        close(fd);
    }
    return NULL;
}

static void run_until_done(ljh_client *c, ljh_transfer *t)
{
    for (int i = 0; i < 100 && !ljh_transfer_done(t); i++)
        ljh_client_run(c, 100);
}

static pthread_t start_server(char *url, size_t n)
{
    int port;
    pool_fd = listen_local(&port);
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, keepalive_main, NULL), 0);
    snprintf(url, n, "http://127.0.0.1:%d/", port);
    return th;
}

static void stop_server(pthread_t th)
{
    shutdown(pool_fd, SHUT_RDWR);
    close(pool_fd);
    pthread_join(th, NULL);
}

/* A plain GET of url, as the Lua side fills it with no options. */
static ljh_request get_request(const char *url)
{
    ljh_request rq;
    memset(&rq, 0, sizeof rq);
    rq.method = lstr("GET");
    rq.url = lstr(url);
    rq.max_redirects = -1;
    return rq;
}

/* A request on c that fails (out of memory) building its header list,
 * after which its handle is back in the pool. */
static ljh_transfer *submit_failing(ljh_client *c, const ljh_request *rq)
{
    ljh_kv h;
    memset(&h, 0, sizeof h);
    h.name = "X-A";
    h.name_len = 3;
    h.value = "1";
    h.value_len = 1;
    ljh_request rb = *rq;
    rb.headers = &h;
    rb.n_headers = 1;
    fail_slist = 1;
    ljh_transfer *b = ljh_client_submit(c, &rb);
    fail_slist = 0;
    cr_assert(b);
    run_until_done(c, b);
    ljh_response *resp = ljh_transfer_response(b);
    cr_assert(resp);
    cr_assert_eq(resp->error, LJH_E_OUT_OF_MEMORY, "b: error %d", resp->error);
    ljh_response_free(resp);
    return b;
}

static void expect_hello(ljh_client *c, ljh_transfer *d)
{
    run_until_done(c, d);
    cr_assert(ljh_transfer_done(d), "the request after the failed setup never finished");
    ljh_response *resp = ljh_transfer_response(d);
    cr_assert(resp);
    cr_assert_eq(resp->error, 0, "d: error %d %s", resp->error, resp->errmsg);
    cr_assert_eq(resp->status, 200);
    cr_assert_eq(resp->body_len, 5);
    cr_assert_eq(memcmp(resp->body, "hello", 5), 0);
    ljh_response_free(resp);
}

Test(pool, a_failed_hop_setup_does_not_take_over_a_pooled_handle)
{
    char url[64];
    pthread_t th = start_server(url, sizeof url);
    ljh_client *c = ljh_client_new(NULL);
    cr_assert(c);
    ljh_request rq = get_request(url);
    /* enough transfers that freeing them fills the client's spare list,
     * so a later free is a real one */
    ljh_transfer *fill[40];
    for (int i = 0; i < 40; i++)
        fill[i] = ljh_client_submit(c, &rq);
    for (int i = 0; i < 40; i++)
        run_until_done(c, fill[i]);
    ljh_transfer *a = ljh_client_submit(c, &rq); /* its handle pooled last */
    run_until_done(c, a);
    cr_assert(ljh_transfer_done(a));
    for (int i = 0; i < 40; i++)
        ljh_transfer_free(fill[i]);
    /* b takes a's handle; building its header list fails */
    ljh_transfer *b = submit_failing(c, &rq);
    ljh_transfer_free(b); /* to the spare list */
    ljh_transfer_free(a); /* freed for good */
    /* the next request (on b's memory, from the spare list) is whole */
    ljh_transfer *d = ljh_client_submit(c, &rq);
    expect_hello(c, d);
    ljh_transfer_free(d);
    ljh_client_free(c);
    stop_server(th);
}

/* The handle a failed setup gives back is reset (hop.c's ljh__easy_put):
 * it is recorded blank, so a new transfer whose request has the profile
 * the handle had before sets every option and callback again instead of
 * only its URL on a handle that has none. */
Test(pool, a_handle_reset_after_a_failed_setup_is_configured_again)
{
    char url[64];
    pthread_t th = start_server(url, sizeof url);
    ljh_client *c = ljh_client_new(NULL);
    cr_assert(c);
    ljh_request rq = get_request(url);
    ljh_transfer *a = ljh_client_submit(c, &rq); /* configures the handle */
    expect_hello(c, a);
    ljh_transfer *b = submit_failing(c, &rq);  /* takes it, gives it back reset */
    ljh_transfer *d = ljh_client_submit(c, &rq); /* new memory, same profile as a */
    expect_hello(c, d);
    ljh_transfer *e = ljh_client_submit(c, &rq); /* and again, pooled by d */
    expect_hello(c, e);
    ljh_transfer_free(e);
    ljh_transfer_free(d);
    ljh_transfer_free(b);
    ljh_transfer_free(a);
    ljh_client_free(c);
    stop_server(th);
}
