/* Tests for os_posix.c (os.h) and file.c, the atomic writer: each with
 * the preferred call and, where os.h has one, the portable fallback
 * macOS, the BSDs or old kernels take (ljh__os_fallbacks), so the paths
 * other systems run are run here too. */
#include <criterion/criterion.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "file.h"
#include "os.h"

static char dir[64];

static void setup(void)
{
    ljh__os_fallbacks = 0;
    snprintf(dir, sizeof dir, "/tmp/ljh-os-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
    ljh__os_fallbacks = 0;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_expect_eq(system(cmd), 0);
}

static const char *at(const char *name)
{
    static char p[4][128];
    static int i;
    i = (i + 1) % 4;
    snprintf(p[i], sizeof p[i], "%s/%s", dir, name);
    return p[i];
}

static void put(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    cr_assert_eq(fclose(f), 0);
}

static const char *get(const char *path)
{
    static char buf[256];
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static int entries(void)
{
    DIR *d = opendir(dir);
    cr_assert_not_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static void check_open_regular(void)
{
    put(at("f"), "hello");
    int64_t size = -1;
    int fd = ljh__os_open_regular(at("f"), &size);
    cr_assert_geq(fd, 0);
    cr_expect_eq(size, 5);
    cr_expect(fcntl(fd, F_GETFD) & FD_CLOEXEC, "not inherited by exec");
    cr_expect_eq(fcntl(fd, F_GETFL) & O_NONBLOCK, 0, "blocking again once known regular");
    close(fd);
    /* a FIFO with no writer: refused at once, not waited on (the timeout) */
    cr_assert_eq(mkfifo(at("fifo"), 0600), 0);
    cr_expect_eq(ljh__os_open_regular(at("fifo"), &size), -2);
    cr_expect_eq(ljh__os_open_regular(dir, &size), -2, "a directory");
    errno = 0;
    cr_expect_eq(ljh__os_open_regular(at("missing"), &size), -1);
    cr_expect_eq(errno, ENOENT);
}

Test(os, open_regular_refuses_a_fifo_without_blocking, .init = setup, .fini = teardown,
     .timeout = 20)
{
    check_open_regular();
}

Test(os, open_regular_with_the_fcntl_cloexec_fallback, .init = setup, .fini = teardown,
     .timeout = 20)
{
    ljh__os_fallbacks = LJH_OS_FB_CLOEXEC;
    check_open_regular();
}

Test(os, path_kind, .init = setup, .fini = teardown)
{
    unsigned mode = 0;
    put(at("f"), "x");
    chmod(at("f"), 0640);
    cr_expect_eq(ljh__os_path_kind(at("f"), &mode), LJH_OS_FILE);
    cr_expect_eq(mode, 0640);
    cr_expect_eq(ljh__os_path_kind(dir, NULL), LJH_OS_DIR);
    cr_expect_eq(ljh__os_path_kind(at("none"), NULL), LJH_OS_NONE);
    cr_expect_eq(ljh__os_path_kind(at("f/under-a-file"), NULL), LJH_OS_NONE);
    cr_assert_eq(mkfifo(at("fifo"), 0600), 0);
    cr_expect_eq(ljh__os_path_kind(at("fifo"), NULL), LJH_OS_OTHER);
    cr_expect(ljh__os_dir_writable(dir));
    cr_expect(!ljh__os_dir_writable(at("none")));
}

Test(os, rename_replaces_an_existing_file, .init = setup, .fini = teardown)
{
    put(at("old"), "old");
    put(at("new"), "new");
    cr_assert_eq(ljh__os_rename(at("new"), at("old")), 0, "%s", strerror(errno));
    cr_expect_str_eq(get(at("old")), "new");
    cr_expect_null(get(at("new")));
    cr_expect_eq(entries(), 1);
}

Test(os, create_excl_refuses_an_existing_name, .init = setup, .fini = teardown)
{
    put(at("f"), "x");
    errno = 0;
    cr_expect_eq(ljh__os_create_excl(at("f"), 0666, 0), -1);
    cr_expect_eq(errno, EEXIST);
    /* nor a symbolic link planted there, even to a missing file */
    cr_assert_eq(symlink(at("target"), at("link")), 0);
    cr_expect_eq(ljh__os_create_excl(at("link"), 0666, 0), -1);
    cr_expect_null(get(at("target")));
    int fd = ljh__os_create_excl(at("g"), 0600, 1);
    cr_assert_geq(fd, 0);
    cr_expect(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    struct stat st;
    cr_assert_eq(fstat(fd, &st), 0);
    cr_expect_eq(st.st_mode & 0777, 0600);
    close(fd);
}

static void check_random(void)
{
    unsigned char a[32], b[32], zero[32] = {0};
    cr_assert_eq(ljh__os_random(a, sizeof a), 0);
    cr_assert_eq(ljh__os_random(b, sizeof b), 0);
    cr_expect_neq(memcmp(a, b, sizeof a), 0, "two draws differ");
    cr_expect_neq(memcmp(a, zero, sizeof a), 0, "filled");
}

Test(os, random_bytes_differ)
{
    check_random();
}

Test(os, random_bytes_from_dev_urandom)
{
    ljh__os_fallbacks = LJH_OS_FB_RANDOM;
    check_random();
}

static void check_prealloc(int fallbacks, int64_t want)
{
    ljh__os_fallbacks = fallbacks;
    int fd = open(at("p"), O_RDWR | O_CREAT | O_TRUNC, 0600);
    cr_assert_geq(fd, 0);
    cr_expect_eq(ljh__os_preallocate(fd, 65536), 0);
    struct stat st;
    cr_assert_eq(fstat(fd, &st), 0);
    cr_expect_eq((int64_t)st.st_size, want, "size after preallocation");
    /* more than any disk holds: refused now, as a space error */
    errno = 0;
    int rc = ljh__os_preallocate(fd, (int64_t)1 << 60);
    if (fallbacks & LJH_OS_FB_NO_PREALLOC) {
        cr_expect_eq(rc, 0);
    } else {
        cr_expect_eq(rc, -1);
        cr_expect(errno == EFBIG || errno == ENOSPC, "%s", strerror(errno));
    }
    close(fd);
}

Test(os, preallocate_with_fallocate, .init = setup, .fini = teardown)
{
    check_prealloc(0, 65536);
}

Test(os, preallocate_with_posix_fallocate, .init = setup, .fini = teardown)
{
    check_prealloc(LJH_OS_FB_FALLOCATE, 65536);
}

Test(os, preallocate_none, .init = setup, .fini = teardown)
{
    check_prealloc(LJH_OS_FB_NO_PREALLOC, 0);
}

Test(os, pread_pwrite_at_offsets, .init = setup, .fini = teardown)
{
    int fd = open(at("f"), O_RDWR | O_CREAT, 0600);
    cr_assert_geq(fd, 0);
    cr_expect_eq(ljh__os_pwrite(fd, "world", 5, 6), 5);
    cr_expect_eq(ljh__os_pwrite(fd, "hello ", 6, 0), 6);
    char buf[16] = "";
    cr_expect_eq(ljh__os_pread(fd, buf, sizeof buf, 0), 11, "short at the end");
    cr_expect_eq(memcmp(buf, "hello world", 11), 0);
    cr_expect_eq(ljh__os_pread(fd, buf, 4, 11), 0);
    cr_expect_eq(ljh__os_truncate(fd, 5), 0);
    cr_expect_eq(ljh__os_pread(fd, buf, sizeof buf, 0), 5);
    close(fd);
}

static int once_count;
static ljh_once once = LJH_ONCE_INIT;
static void once_fn(void)
{
    __atomic_add_fetch(&once_count, 1, __ATOMIC_SEQ_CST);
}
static void *once_thread(void *arg)
{
    ljh__os_once(&once, once_fn);
    return arg;
}

Test(os, once_runs_once_across_threads)
{
    pthread_t t[8];
    for (int i = 0; i < 8; i++)
        cr_assert_eq(pthread_create(&t[i], NULL, once_thread, NULL), 0);
    for (int i = 0; i < 8; i++)
        pthread_join(t[i], NULL);
    ljh__os_once(&once, once_fn);
    cr_expect_eq(once_count, 1);
}

Test(os, dlopen_takes_the_first_name_that_loads)
{
    const char *const none[] = {"libljh-no-such-1.so", "libljh-no-such-2.so", NULL};
    cr_expect_null(ljh__os_dlopen(none));
    cr_expect_null(ljh__os_dlsym(NULL, "zlibVersion"));
    const char *const names[] = {"libljh-no-such-1.so", "libz.so.1", NULL};
    void *h = ljh__os_dlopen(names);
    cr_assert_not_null(h, "libz.so.1 (libcurl's own zlib)");
    cr_expect_not_null(ljh__os_dlsym(h, "zlibVersion"));
    cr_expect_null(ljh__os_dlsym(h, "ljh_no_such_symbol"));
}

Test(os, wait_socket, .timeout = 20)
{
    int sv[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    cr_expect_eq(ljh__os_wait_socket(sv[0], 1, 0), 0, "nothing to read");
    cr_expect_eq(ljh__os_wait_socket(sv[0], 2, 1000), 1, "writable");
    cr_assert_eq(write(sv[1], "x", 1), 1);
    cr_expect_eq(ljh__os_wait_socket(sv[0], 1, 5000), 1, "readable");
    close(sv[0]);
    close(sv[1]);
}

/* ---- the atomic writer ---- */

Test(file, save_creates_with_the_umask_and_keeps_a_replaced_files_mode, .init = setup,
     .fini = teardown)
{
    char msg[256] = "";
    mode_t old = umask(027);
    int rc = ljh__file_save(at("new"), "abc", 3, 0666, "test file", msg, sizeof msg);
    umask(old);
    cr_assert_eq(rc, 0, "%s", msg);
    cr_expect_str_eq(get(at("new")), "abc");
    struct stat st;
    cr_assert_eq(stat(at("new"), &st), 0);
    cr_expect_eq(st.st_mode & 0777, 0640, "0666 less the umask: %o", st.st_mode & 0777);
    /* replacing: the old file's mode, even one the umask would change */
    chmod(at("new"), 0604);
    cr_assert_eq(ljh__file_save(at("new"), "defg", 4, 0666, "test file", msg, sizeof msg), 0, "%s", msg);
    cr_expect_str_eq(get(at("new")), "defg");
    cr_assert_eq(stat(at("new"), &st), 0);
    cr_expect_eq(st.st_mode & 0777, 0604);
    cr_expect_eq(entries(), 1, "no temporary file left");
    /* a secret (the cookie jar): 0600 when new */
    cr_assert_eq(ljh__file_save(at("jar"), "c", 1, 0600, "test file", msg, sizeof msg), 0, "%s", msg);
    cr_assert_eq(stat(at("jar"), &st), 0);
    cr_expect_eq(st.st_mode & 0777, 0600);
}

Test(file, temporary_names_are_random_and_beside_the_target, .init = setup, .fini = teardown)
{
    char msg[256] = "";
    ljh_file a, b;
    cr_assert_eq(ljh__file_open(&a, at("t"), 0666, "test file", msg, sizeof msg), 0, "%s", msg);
    cr_assert_eq(ljh__file_open(&b, at("t"), 0666, "test file", msg, sizeof msg), 0, "%s", msg);
    size_t n = strlen(at("t.tmp."));
    cr_expect_eq(strncmp(a.tmp, at("t.tmp."), n), 0, "%s", a.tmp);
    cr_expect_eq(strlen(a.tmp), n + 12);
    cr_expect_str_neq(a.tmp, b.tmp);
    cr_expect_eq(entries(), 2);
    ljh__file_discard(&a);
    ljh__file_discard(&b);
    ljh__file_discard(&b); /* twice is safe */
    cr_expect_eq(entries(), 0, "discard removes them");
}

Test(file, a_failed_commit_leaves_the_target_and_no_temporary_file, .init = setup,
     .fini = teardown)
{
    char msg[256] = "";
    /* the target is a non-empty directory: rename(2) refuses */
    cr_assert_eq(mkdir(at("d"), 0700), 0);
    put(at("d/inside"), "x");
    ljh_file f;
    cr_assert_eq(ljh__file_open(&f, at("d"), 0666, "test file", msg, sizeof msg), 0, "%s", msg);
    cr_assert_eq(ljh__file_write(&f, 0, "data", 4), 0);
    cr_expect_eq(entries(), 2);
    cr_expect_eq(ljh__file_commit(&f, -1, 1, "test file", msg, sizeof msg), -1);
    cr_expect(strstr(msg, "rename") != NULL, "%s", msg);
    cr_expect_eq(entries(), 1, "the temporary file is gone");
    cr_expect_str_eq(get(at("d/inside")), "x");
    ljh__file_discard(&f);
    /* the same through ljh__file_save */
    cr_expect_eq(ljh__file_save(at("d"), "data", 4, 0666, "test file", msg, sizeof msg), -1);
    cr_expect_eq(entries(), 1);
    /* a directory that does not exist: nothing made */
    cr_expect_eq(ljh__file_save(at("none/f"), "data", 4, 0666, "test file", msg, sizeof msg), -1);
    cr_expect(strstr(msg, "test file") != NULL, "%s", msg);
    cr_expect_eq(entries(), 1);
}

Test(file, commit_truncates_to_the_length_given, .init = setup, .fini = teardown)
{
    char msg[256] = "";
    ljh_file f;
    cr_assert_eq(ljh__file_open(&f, at("t"), 0666, "test file", msg, sizeof msg), 0, "%s", msg);
    cr_assert_eq(ljh__os_preallocate(f.fd, 4096), 0);
    cr_assert_eq(ljh__file_write(&f, 0, "abc", 3), 0);
    cr_assert_eq(ljh__file_commit(&f, 3, 0, "test file", msg, sizeof msg), 0, "%s", msg);
    cr_expect_str_eq(get(at("t")), "abc");
    ljh__file_discard(&f);
    cr_expect_eq(entries(), 1);
}

Test(file, a_forked_child_leaves_the_parents_temporary_file, .init = setup, .fini = teardown)
{
    char msg[256] = "";
    ljh_file f;
    cr_assert_eq(ljh__file_open(&f, at("t"), 0666, "test file", msg, sizeof msg), 0, "%s", msg);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        ljh__file_discard(&f);
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    cr_expect_eq(entries(), 1, "still there");
    ljh__file_discard(&f);
    cr_expect_eq(entries(), 0);
}
