/* Loopback servers for the C tests: a listening socket on 127.0.0.1 with a
 * port the kernel chose, an accept that gives up after a while (so a test
 * whose client never came still ends), and a read of one whole request
 * (head, then Content-Length bytes of body). Each test's thread decides
 * what to answer. */
#ifndef LJH_TEST_LOOPBACK_H
#define LJH_TEST_LOOPBACK_H

#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static inline int listen_local(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    cr_assert_geq(fd, 0, "socket: %s", strerror(errno));
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0, "bind: %s", strerror(errno));
    cr_assert_eq(listen(fd, 16), 0, "listen: %s", strerror(errno));
    socklen_t len = sizeof a;
    cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

/* The next connection, or -1 when none came within 5 s. */
static inline int accept_local(int fd)
{
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, 5000) <= 0)
        return -1;
    return accept(fd, NULL, NULL);
}

/* Reads one request into buf (NUL-terminated): the head, then
 * Content-Length bytes of body. Returns the bytes read; stops early when
 * the peer closes or is silent for 5 s. */
static inline size_t read_request(int fd, char *buf, size_t cap)
{
    size_t len = 0;
    buf[0] = '\0';
    while (len + 1 < cap) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 5000) <= 0)
            break;
        ssize_t n = read(fd, buf + len, cap - 1 - len);
        if (n <= 0)
            break;
        len += (size_t)n;
        buf[len] = '\0';
        const char *end = strstr(buf, "\r\n\r\n");
        if (!end)
            continue;
        size_t want = 0;
        const char *cl = strcasestr(buf, "\r\nContent-Length:");
        if (cl && cl < end)
            want = strtoul(cl + 17, NULL, 10);
        if ((size_t)(end + 4 - buf) + want <= len)
            break;
    }
    return len;
}

#endif
