/* Tests for relay.c through the public ABI: the socket lives in a private
 * directory, an arm is answered when the watched descriptor is readable,
 * when its timeout passes, or on a poke, and only once per arm. The
 * watched descriptor here is a pipe (any pollable descriptor works the
 * same as a client's epoll set). */
#include <criterion/criterion.h>

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ljhttp.h"

static int relay_connect(void)
{
    char path[128];
    int32_t n = ljh_relay_path(path, sizeof path);
    cr_assert(n > 0, "the relay did not start");
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    memcpy(sa.sun_path, path, (size_t)n + 1);
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    cr_assert(s >= 0);
    cr_assert(connect(s, (struct sockaddr *)&sa, sizeof sa) == 0, "connect: %s", strerror(errno));
    return s;
}

static void send_arm(int s, int32_t fd, int32_t ms, int32_t token)
{
    int32_t m[3] = { fd, ms, token };
    cr_assert(write(s, m, sizeof m) == (ssize_t)sizeof m);
}

/* 1 when a byte arrives within ms, 0 otherwise */
static int answered(int s, int ms)
{
    struct pollfd p = { .fd = s, .events = POLLIN };
    if (poll(&p, 1, ms) != 1)
        return 0;
    char b;
    return read(s, &b, 1) == 1;
}

Test(relay, private_directory)
{
    char path[128];
    int32_t n = ljh_relay_path(path, sizeof path);
    cr_assert(n > 0);
    char *slash = strrchr(path, '/');
    cr_assert(slash);
    *slash = '\0';
    struct stat st;
    cr_assert(stat(path, &st) == 0);
    cr_expect_eq(st.st_mode & 0777, 0700);
    cr_expect(strstr(path, "XXXXXX") == NULL);
    char small[4];
    cr_expect_eq(ljh_relay_path(small, sizeof small), -1);
}

Test(relay, readable_timeout_poke, .timeout = 20)
{
    int s = relay_connect();
    int p[2];
    cr_assert(pipe(p) == 0);

    /* nothing readable, no timeout: no answer */
    send_arm(s, p[0], -1, 1);
    cr_expect_eq(answered(s, 200), 0);
    /* data: answered once */
    cr_assert(write(p[1], "x", 1) == 1);
    cr_expect_eq(answered(s, 5000), 1);
    cr_expect_eq(answered(s, 100), 0, "one answer per arm");

    /* still readable (level): a re-arm is answered at once */
    send_arm(s, p[0], -1, 1);
    cr_expect_eq(answered(s, 5000), 1);
    char b;
    cr_assert(read(p[0], &b, 1) == 1);

    /* timeout */
    send_arm(s, p[0], 50, 1);
    cr_expect_eq(answered(s, 5000), 1);
    cr_expect_eq(answered(s, 100), 0);

    /* poke */
    send_arm(s, p[0], -1, 1);
    cr_expect_eq(answered(s, 100), 0);
    ljh_relay_poke();
    cr_expect_eq(answered(s, 5000), 1);

    /* a deadline or poke answer disarms: later data is not answered */
    cr_assert(write(p[1], "y", 1) == 1);
    cr_expect_eq(answered(s, 200), 0);
    close(p[0]);
    close(p[1]);
    close(s);
}

Test(relay, bad_descriptor_is_answered, .timeout = 20)
{
    int s = relay_connect();
    send_arm(s, -1, -1, 2);
    cr_expect_eq(answered(s, 5000), 1, "an arm it cannot watch is answered at once");
    close(s);
}

Test(relay, direct_arm_after_hello, .timeout = 20)
{
    int s = relay_connect();
    int p[2];
    cr_assert(pipe(p) == 0);
    cr_expect_eq(ljh_relay_arm(777, p[0], -1, 3), -1, "no connection has this id yet");
    send_arm(s, -2, 0, 777); /* hello */
    int32_t rc = -1;
    for (int i = 0; i < 500 && rc != 0; i++) { /* the relay reads the hello when it can */
        rc = ljh_relay_arm(777, p[0], -1, 3);
        if (rc != 0)
            usleep(10000);
    }
    cr_assert_eq(rc, 0);
    cr_expect_eq(answered(s, 200), 0);
    cr_assert(write(p[1], "x", 1) == 1);
    cr_expect_eq(answered(s, 5000), 1);
    char b;
    cr_assert(read(p[0], &b, 1) == 1);
    cr_assert_eq(ljh_relay_arm(777, p[0], 30, 3), 0);
    cr_expect_eq(answered(s, 5000), 1, "its timeout");
    cr_expect_eq(answered(s, 100), 0);
    close(p[0]);
    close(p[1]);
    close(s);
}
