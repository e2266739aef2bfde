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
#include <sys/wait.h>
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

/* Bits 29 and 30 of a token choose readable and/or writable (a WebSocket
 * waits for its socket to take a send): the write end of a pipe is
 * writable at once, never readable. */
Test(relay, writable_and_readable_bits, .timeout = 20)
{
    int s = relay_connect();
    int p[2];
    cr_assert(pipe(p) == 0);
    const int32_t rd = (int32_t)1 << 29, wr = (int32_t)1 << 30;
    send_arm(s, p[1], 300, 4 | rd);
    cr_expect_eq(answered(s, 150), 0, "the write end is never readable");
    cr_expect_eq(answered(s, 5000), 1, "its timeout");
    send_arm(s, p[1], -1, 4 | wr);
    cr_expect_eq(answered(s, 5000), 1, "writable at once");
    send_arm(s, p[1], -1, 4 | rd | wr);
    cr_expect_eq(answered(s, 5000), 1, "either: writable at once");
    /* the read end, readable only */
    send_arm(s, p[0], -1, 5 | rd | wr);
    cr_expect_eq(answered(s, 200), 0);
    cr_assert(write(p[1], "x", 1) == 1);
    cr_expect_eq(answered(s, 5000), 1);
    close(p[0]);
    close(p[1]);
    close(s);
}

/* The timer is lazy (kept between arms) but never late, and never
 * answers an arm that has no timeout. */
Test(relay, lazy_timer_is_never_late, .timeout = 20)
{
    int s = relay_connect();
    int p[2];
    cr_assert(pipe(p) == 0);
    char b;
    /* a long timer left running by a data answer... */
    send_arm(s, p[0], 4000, 6);
    cr_assert(write(p[1], "x", 1) == 1);
    cr_expect_eq(answered(s, 5000), 1);
    cr_assert(read(p[0], &b, 1) == 1);
    /* ...does not delay a shorter one */
    send_arm(s, p[0], 50, 6);
    cr_expect_eq(answered(s, 2000), 1, "the 50 ms timeout, not the 4 s one");
    /* a running timer does not answer an arm without timeout */
    send_arm(s, p[0], 300, 6);
    cr_assert(write(p[1], "x", 1) == 1);
    cr_expect_eq(answered(s, 5000), 1);
    cr_assert(read(p[0], &b, 1) == 1);
    send_arm(s, p[0], -1, 6);
    cr_expect_eq(answered(s, 700), 0, "no timeout asked: the earlier 300 ms timer is off");
    close(p[0]);
    close(p[1]);
    close(s);
}

/* A forked child does not arm its parent's relay by id (its thread is
 * not there); it starts its own relay. */
Test(relay, forked_child_does_not_arm_by_id, .timeout = 20)
{
    int s = relay_connect();
    int p[2];
    cr_assert(pipe(p) == 0);
    send_arm(s, -2, 0, 779); /* hello */
    int32_t rc = -1;
    for (int i = 0; i < 500 && rc != 0; i++) {
        rc = ljh_relay_arm(779, p[0], -1, 7);
        if (rc != 0)
            usleep(10000);
    }
    cr_assert_eq(rc, 0);
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        char path[128];
        int ok = ljh_relay_arm(779, p[0], -1, 7) == -1 && ljh_relay_path(path, sizeof path) > 0 &&
                 ljh_relay_arm(779, p[0], -1, 7) == -1; /* its own relay has no such connection */
        _exit(ok ? 0 : 1);
    }
    int status = 0;
    cr_assert(waitpid(pid, &status, 0) == pid);
    cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    close(p[0]);
    close(p[1]);
    close(s);
}

/* An answer to a connection its peer just closed is no SIGPIPE (a host
 * that does not ignore it would die): the watched pipe's writer closes,
 * then the relay connection, many times over. */
Test(relay, answer_to_a_closed_peer_is_no_sigpipe, .timeout = 20)
{
    for (int32_t i = 0; i < 40; i++) {
        int s = relay_connect();
        int p[2];
        cr_assert(pipe(p) == 0);
        send_arm(s, -2, 0, 800 + i); /* hello */
        int32_t rc = -1;
        for (int k = 0; k < 500 && rc != 0; k++) {
            rc = ljh_relay_arm((uint32_t)(800 + i), p[0], -1, 8);
            if (rc != 0)
                usleep(1000);
        }
        cr_assert_eq(rc, 0);
        close(p[1]); /* the read end is readable (end of file): answered... */
        close(s);    /* ...maybe after this */
        close(p[0]);
    }
    /* a last round trip: the relay has handled what came before */
    int s = relay_connect();
    send_arm(s, -1, -1, 9);
    cr_expect_eq(answered(s, 5000), 1, "the relay still answers, and this process lives");
    close(s);
}
