/* The response path, as curl's own fuzzer does it: a server thread in this
 * process answers every connection with the input's bytes and closes, and
 * a real ljhttp client reads them through libcurl. The first two bytes
 * choose the request: decompression, HEAD, following redirects, a small
 * max_body_size, streaming, JSON decoding, a cookie jar, verbose traces and
 * the HTTP version. Every connection goes to the server's Unix socket
 * (the unix_socket option), so a redirect to any host stays in-process. */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "internal.h"
#include "fuzz.h"

static char sock_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static uint8_t *reply; /* a copy of the current input, under mu */
static size_t reply_len;

static void *serve(void *arg)
{
    int lfd = *(int *)arg;
    for (;;) {
        int c = accept(lfd, NULL, NULL);
        if (c < 0)
            continue;
        struct timeval tv = {1, 0};
        setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        /* Read the request head first: closing with unread bytes would
         * send a reset instead of the reply. */
        char buf[4096];
        size_t got = 0;
        for (;;) {
            ssize_t r = recv(c, buf + got, sizeof buf - 1 - got, 0);
            if (r <= 0)
                break;
            got += (size_t)r;
            buf[got] = '\0';
            if (strstr(buf, "\r\n\r\n") || got >= sizeof buf - 1)
                break;
            if (got >= 24 && memcmp(buf, "PRI * HTTP/2.0", 14) == 0)
                break; /* h2 prior knowledge: the preface is enough */
        }
        /* A private copy: a connection may outlive its input. */
        pthread_mutex_lock(&mu);
        size_t n = reply_len;
        uint8_t *copy = malloc(n ? n : 1);
        if (n)
            memcpy(copy, reply, n);
        pthread_mutex_unlock(&mu);
        const uint8_t *p = copy;
        while (n > 0) {
            ssize_t w = send(c, p, n, MSG_NOSIGNAL);
            if (w <= 0)
                break;
            p += w;
            n -= (size_t)w;
        }
        free(copy);
        shutdown(c, SHUT_WR);
        close(c);
    }
    return NULL;
}

static void start_server(void)
{
    snprintf(sock_path, sizeof sock_path, "/tmp/ljh-fuzz-%d.sock", (int)getpid());
    unlink(sock_path);
    static int lfd;
    lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, sock_path, strlen(sock_path) + 1);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(lfd, 64) != 0) {
        perror("fuzz_transfer: listen");
        abort();
    }
    pthread_t th;
    pthread_create(&th, NULL, serve, &lfd);
    pthread_detach(th);
}

static void check_response(const ljh_response *r)
{
    FUZZ_CHECK(r != NULL);
    FUZZ_CHECK(r->error >= 0 && r->error < LJH_E_COUNT);
    FUZZ_CHECK(memchr(r->errmsg, '\0', sizeof r->errmsg) != NULL);
    FUZZ_CHECK(r->body && r->url);
    if (r->error)
        return;
    FUZZ_CHECK(r->json || r->body[r->body_len] == '\0'); /* json: body is "" */
    if (getenv("FUZZ_DEBUG"))
        fprintf(stderr, "status %d error %d json %p body_len %zu msg %s\n", r->status, r->error, (void *)r->json, r->body_len, r->json ? r->json->errmsg : "");
    FUZZ_CHECK(r->status >= 100 && r->status <= 999);
    for (int32_t i = 0; i < r->n_headers; i++)
        FUZZ_CHECK(r->headers[i].name[r->headers[i].name_len] == '\0' &&
                   r->headers[i].value[r->headers[i].value_len] == '\0');
    for (int32_t i = 0; i < r->n_cookies; i++)
        FUZZ_CHECK(ljh__is_token(r->cookies[i].name, (size_t)r->cookies[i].name_len));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int started;
    if (!started) {
        start_server();
        started = 1;
    }
    if (size < 2)
        return 0;
    uint8_t o = data[0], v = data[1];
    uint8_t *next = malloc(size - 2 ? size - 2 : 1);
    memcpy(next, data + 2, size - 2);
    pthread_mutex_lock(&mu);
    free(reply);
    reply = next;
    reply_len = size - 2;
    pthread_mutex_unlock(&mu);

    ljh_client_options co;
    memset(&co, 0, sizeof co);
    co.cookie_jar = (o & 64) != 0;
    ljh_client *c = ljh_client_new(&co);
    FUZZ_CHECK(c != NULL);
    ljh_request req;
    memset(&req, 0, sizeof req);
    req.method.ptr = (o & 2) ? "HEAD" : ((v & 4) ? "POST" : "GET");
    req.method.len = strlen(req.method.ptr);
    if (v & 4) {
        req.body.ptr = "k=v";
        req.body.len = 3;
    }
    req.url.ptr = "http://fuzz.test/path?q=1";
    req.url.len = strlen(req.url.ptr);
    req.unix_socket.ptr = sock_path;
    req.unix_socket.len = strlen(sock_path);
    req.timeout.is_set = 1;
    req.timeout.seconds = 2;
    req.idle_timeout.is_set = 1;
    req.idle_timeout.seconds = 1;
    req.max_redirects = 3;
    req.max_body_size = (o & 8) ? 1000 : 0;
    req.flags = ((o & 1) ? LJH_F_DECOMPRESS : 0) | ((o & 4) ? 0 : LJH_F_NO_FOLLOW) |
                ((o & 16) ? LJH_F_STREAM : 0) | ((o & 32) && !(o & 16) ? LJH_F_DECODE_JSON : 0) |
                ((o & 128) ? LJH_F_VERBOSE : 0);
    req.http_version = (v & 3) == 1 ? LJH_HTTP_1_1 : (v & 3) == 2 ? LJH_HTTP_2_PRIOR_KNOWLEDGE : 0;
    ljh_response *r;
    if (req.flags & LJH_F_STREAM) {
        ljh_transfer *t = ljh_client_submit(c, &req);
        FUZZ_CHECK(t != NULL);
        int32_t ids[8];
        while (!ljh_transfer_done(t)) {
            ljh_client_run(c, 100);
            ljh_client_ready(c, ids, 8);
            ljh_response *head = ljh_transfer_head(t);
            if (head)
                check_response(head);
            ljh_response_free(head);
            const char *bytes;
            size_t n = ljh_transfer_take(t, &bytes);
            if (n)
                FUZZ_CHECK(bytes != NULL);
        }
        r = ljh_transfer_response(t);
        ljh_transfer_free(t);
    } else {
        r = ljh_client_perform(c, &req);
    }
    check_response(r);
    ljh_response_free(r);
    ljh_client_free(c);
    return 0;
}
