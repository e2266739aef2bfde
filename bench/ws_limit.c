/* The C floor for bench/ws.sh: N WebSocket echo round trips of one text
 * message with libcurl's own WebSocket API (8.11+: CONNECT_ONLY = 2,
 * curl_ws_send, curl_ws_recv, poll on the socket).
 *   ws_limit URL N SIZE    prints the seconds the N round trips took */
#include <curl/curl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: ws_limit URL N SIZE\n");
        return 2;
    }
#if LIBCURL_VERSION_NUM < 0x080b00
    (void)argv;
    fprintf(stderr, "ws_limit: libcurl %s has no stable WebSocket API (8.11+)\n", LIBCURL_VERSION);
    return 3;
#else
    long n = atol(argv[2]);
    size_t size = (size_t)atol(argv[3]);
    char *msg = malloc(size), *buf = malloc(size + 65536);
    memset(msg, 'x', size);
    CURL *e = curl_easy_init();
    curl_easy_setopt(e, CURLOPT_URL, argv[1]);
    curl_easy_setopt(e, CURLOPT_CONNECT_ONLY, 2L);
    if (curl_easy_perform(e) != CURLE_OK) {
        fprintf(stderr, "ws_limit: the handshake failed\n");
        return 1;
    }
    curl_socket_t s;
    curl_easy_getinfo(e, CURLINFO_ACTIVESOCKET, &s);
    double t0 = now();
    for (long i = 0; i < n; i++) {
        size_t off = 0, sent;
        while (off < size) {
            CURLcode rc = curl_ws_send(e, msg + off, size - off, &sent, 0, CURLWS_TEXT);
            if (rc == CURLE_AGAIN) {
                struct pollfd p = {s, POLLOUT, 0};
                poll(&p, 1, 1000);
                continue;
            }
            if (rc != CURLE_OK)
                return 1;
            off += sent;
        }
        size_t got = 0;
        for (;;) {
            size_t r;
            const struct curl_ws_frame *meta;
            CURLcode rc = curl_ws_recv(e, buf + got, size + 65536 - got, &r, &meta);
            if (rc == CURLE_AGAIN) {
                struct pollfd p = {s, POLLIN, 0};
                poll(&p, 1, 1000);
                continue;
            }
            if (rc != CURLE_OK)
                return 1;
            got += r;
            if (meta->bytesleft == 0 && !(meta->flags & CURLWS_CONT))
                break;
        }
        if (got != size)
            return 1;
    }
    printf("%.6f\n", now() - t0);
    curl_easy_cleanup(e);
    return 0;
#endif
}
