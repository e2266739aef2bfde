/* os_posix: os.h for Linux, macOS and the BSDs. Where a better call exists
 * on one system it is taken there and the portable one elsewhere; the
 * ljh__os_fallbacks bits let the Linux tests run the portable ones too. */
#ifndef _WIN32

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <limits.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/random.h>
#endif
#include <stdlib.h> /* arc4random_buf on macOS and the BSDs */

#include "os.h"

int ljh__os_fallbacks;

void ljh__os_once(ljh_once *o, void (*fn)(void))
{
    pthread_once(o, fn);
}

/* ---- files ---- */

int ljh__os_path_kind(const char *path, unsigned *mode)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return errno == ENOENT || errno == ENOTDIR ? LJH_OS_NONE : LJH_OS_ERROR;
    if (mode)
        *mode = (unsigned)(st.st_mode & 07777);
    return S_ISREG(st.st_mode) ? LJH_OS_FILE : S_ISDIR(st.st_mode) ? LJH_OS_DIR : LJH_OS_OTHER;
}

int ljh__os_dir_writable(const char *dir)
{
    return access(dir, W_OK | X_OK) == 0;
}

/* open(2) with close-on-exec: O_CLOEXEC where it exists (atomic: no other
 * thread's fork+exec can inherit the descriptor), else fcntl after. */
static int open_cloexec(const char *path, int flags, mode_t mode)
{
    int fd;
#ifdef O_CLOEXEC
    if (!(ljh__os_fallbacks & LJH_OS_FB_CLOEXEC)) {
        do
            fd = open(path, flags | O_CLOEXEC, mode);
        while (fd < 0 && errno == EINTR);
        return fd;
    }
#endif
    do
        fd = open(path, flags, mode);
    while (fd < 0 && errno == EINTR);
    if (fd >= 0)
        fcntl(fd, F_SETFD, fcntl(fd, F_GETFD) | FD_CLOEXEC);
    return fd;
}

int ljh__os_open_regular(const char *path, int64_t *size)
{
    /* O_NONBLOCK: a FIFO opens at once instead of waiting for a writer; a
     * socket gives ENXIO. The flag is cleared once fstat says regular. */
    int fd = open_cloexec(path, O_RDONLY | O_NOCTTY | O_NONBLOCK, 0);
    if (fd < 0)
        return errno == ENXIO ? -2 : -1;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return -2;
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0)
        fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    *size = (int64_t)st.st_size;
    return fd;
}

int ljh__os_create_excl(const char *path, unsigned mode, int exact)
{
    int fd = open_cloexec(path, O_WRONLY | O_CREAT | O_EXCL | O_NOCTTY, (mode_t)mode);
    if (fd >= 0 && exact)
        fchmod(fd, (mode_t)mode); /* the umask may have taken bits away */
    return fd;
}

int64_t ljh__os_pread(int fd, void *buf, size_t n, int64_t off)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(fd, (char *)buf + got, n - got, (off_t)(off + (int64_t)got));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        got += (size_t)r;
    }
    return (int64_t)got;
}

int64_t ljh__os_pwrite(int fd, const void *buf, size_t n, int64_t off)
{
    size_t done = 0;
    while (done < n) {
        ssize_t w = pwrite(fd, (const char *)buf + done, n - done, (off_t)(off + (int64_t)done));
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -1;
        if (w == 0) {
            errno = EIO;
            return -1;
        }
        done += (size_t)w;
    }
    return (int64_t)done;
}

int ljh__os_truncate(int fd, int64_t len)
{
    return ftruncate(fd, (off_t)len);
}

int ljh__os_fsync(int fd)
{
    return fsync(fd);
}

int ljh__os_close(int fd)
{
    return close(fd);
}

int ljh__os_unlink(const char *path)
{
    return unlink(path);
}

static int space_error(int e)
{
    return e == ENOSPC || e == EFBIG
#ifdef EDQUOT
           || e == EDQUOT
#endif
        ;
}

/* posix_fallocate reports through its result, not errno. Absent on macOS
 * and OpenBSD. */
#if !defined(__APPLE__) && !defined(__OpenBSD__)
static int portable_prealloc(int fd, int64_t len)
{
    int e;
    do
        e = posix_fallocate(fd, 0, (off_t)len);
    while (e == EINTR);
    if (e == 0 || !space_error(e))
        return 0;
    errno = e;
    return -1;
}
#endif

int ljh__os_preallocate(int fd, int64_t len)
{
    if (ljh__os_fallbacks & LJH_OS_FB_NO_PREALLOC)
        return 0;
#if defined(__linux__)
    /* fallocate fails at once where the file system cannot reserve;
     * glibc's posix_fallocate would write zeros over the whole length. */
    if (!(ljh__os_fallbacks & LJH_OS_FB_FALLOCATE)) {
        int rc;
        do
            rc = fallocate(fd, 0, 0, (off_t)len);
        while (rc != 0 && errno == EINTR);
        return rc == 0 || !space_error(errno) ? 0 : -1;
    }
    return portable_prealloc(fd, len);
#elif defined(__APPLE__)
    /* F_PREALLOCATE reserves blocks without changing the size:
     * contiguous first, any blocks if that fails. */
    fstore_t fs = {F_ALLOCATECONTIG | F_ALLOCATEALL, F_PEOFPOSMODE, 0, (off_t)len, 0};
    if (fcntl(fd, F_PREALLOCATE, &fs) == 0)
        return 0;
    fs.fst_flags = F_ALLOCATEALL;
    if (fcntl(fd, F_PREALLOCATE, &fs) == 0 || !space_error(errno))
        return 0;
    return -1;
#elif defined(__OpenBSD__)
    (void)fd;
    (void)len;
    return 0;
#else
    return portable_prealloc(fd, len);
#endif
}

int ljh__os_rename(const char *from, const char *to)
{
    return rename(from, to); /* atomic, and replaces to */
}

void ljh__os_fsync_dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    char dir[4097];
    size_t n = !slash ? 0 : slash == path ? 1 : (size_t)(slash - path);
    if (n >= sizeof dir)
        return;
    if (n == 0)
        dir[n++] = '.';
    else
        memcpy(dir, path, n);
    dir[n] = '\0';
    int fd = open_cloexec(dir, O_RDONLY, 0);
    if (fd >= 0) {
        fsync(fd); /* best effort: the rename itself already happened */
        close(fd);
    }
}

long ljh__os_pid(void)
{
    return (long)getpid();
}

int ljh__os_env_set(const char *name)
{
    const char *v = getenv(name);
    return v && v[0];
}

/* ---- the rest ---- */

static int urandom(void *out, size_t n)
{
    int fd = open_cloexec("/dev/urandom", O_RDONLY | O_NOCTTY, 0);
    if (fd < 0)
        return -1;
    int64_t r = ljh__os_pread(fd, out, n, 0);
    close(fd);
    return r == (int64_t)n ? 0 : -1;
}

int ljh__os_random(void *out, size_t n)
{
    if (ljh__os_fallbacks & LJH_OS_FB_RANDOM)
        return urandom(out, n);
#if defined(__linux__)
    size_t got = 0;
    while (got < n) {
        ssize_t r = getrandom((char *)out + got, n - got, GRND_NONBLOCK);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return urandom((char *)out + got, n - got); /* old kernel, or early boot */
        got += (size_t)r;
    }
    return 0;
#elif defined(__APPLE__) || defined(__FreeBSD__) || defined(__OpenBSD__) || \
    defined(__NetBSD__) || defined(__DragonFly__)
    arc4random_buf(out, n);
    return 0;
#else
    return urandom(out, n);
#endif
}

int ljh__os_wait_socket(curl_socket_t fd, int want, int ms)
{
    struct pollfd p = {fd, (short)(((want & 1) ? POLLIN : 0) | ((want & 2) ? POLLOUT : 0)), 0};
    int rc = poll(&p, 1, ms);
    return rc < 0 ? -1 : rc > 0;
}

void *ljh__os_dlopen(const char *const *names)
{
    for (; *names; names++) {
        void *h = dlopen(*names, RTLD_NOW | RTLD_LOCAL);
        if (h)
            return h;
    }
    return NULL;
}

void *ljh__os_dlsym(void *lib, const char *name)
{
    return lib ? dlsym(lib, name) : NULL;
}


/* ---- the engine's clock, sockets and fork detection ---- */

int64_t ljh__now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int ljh__socket_index(curl_socket_t s)
{
    if (s == CURL_SOCKET_BAD || (uint64_t)s > (uint64_t)INT_MAX)
        return -1;
    return (int)s;
}

curl_socket_t ljh__socket_open(int family, int type, int protocol, int *err)
{
#if defined(SOCK_CLOEXEC)
    int s = socket(family, type | SOCK_CLOEXEC, protocol);
#else /* macOS: no SOCK_CLOEXEC; nothing forks in between in our hosts */
    int s = socket(family, type, protocol);
    if (s >= 0)
        fcntl(s, F_SETFD, FD_CLOEXEC);
#endif
    if (s < 0) {
        *err = errno;
        return CURL_SOCKET_BAD;
    }
    return s;
}

int ljh__socket_close(curl_socket_t s)
{
    return close(s);
}

/* Bumped in the child of every fork() by pthread_atfork, so clients
 * compare a number instead of calling getpid() on every request. Built
 * with LJH_NO_ATFORK (a libc without it), the pid is compared instead. */
static volatile unsigned fork_gen;

#if !defined(LJH_NO_ATFORK)
static void after_fork_child(void)
{
    fork_gen++;
}

static void atfork_init(void)
{
    pthread_atfork(NULL, NULL, after_fork_child);
}

static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

unsigned ljh__fork_generation(void)
{
    pthread_once(&atfork_once, atfork_init);
    return fork_gen;
}
#else
static pid_t fork_pid;

unsigned ljh__fork_generation(void)
{
    pid_t now = getpid();
    if (fork_pid != now) {
        if (fork_pid)
            fork_gen++;
        fork_pid = now;
    }
    return fork_gen;
}
#endif

#else
typedef int ljh_os_posix_unused; /* ISO C wants a declaration in every file */
#endif
