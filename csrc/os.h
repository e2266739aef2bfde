/* os: the few calls that differ between Linux, macOS/BSD and Windows.
 * os_posix.c implements them for Linux, macOS and the BSDs, os_win.c for
 * Windows (MinGW/MSYS2, MSVC's CRT); everything else in csrc/ calls these
 * and none of the OS's own. docs/platforms.md says which call is used
 * where and why.
 *
 * Descriptors are C runtime descriptors (int) everywhere, also on
 * Windows (_open), so pread/pwrite below take an int. Functions returning
 * int return 0 (or a descriptor) on success and -1 with errno set. */
#ifndef LJHTTP_OS_H
#define LJHTTP_OS_H

#include <curl/curl.h> /* curl_socket_t; on Windows it includes winsock2.h */
#include <stddef.h>
#include <stdint.h>

#ifdef _WIN32
#include <windows.h>
typedef INIT_ONCE ljh_once;
#define LJH_ONCE_INIT INIT_ONCE_STATIC_INIT
#else
#include <pthread.h>
typedef pthread_once_t ljh_once;
#define LJH_ONCE_INIT PTHREAD_ONCE_INIT
#endif

/* fn runs exactly once per o, whichever thread gets there first. */
void ljh__os_once(ljh_once *o, void (*fn)(void));

/* ---- files ---- */

/* What is at path (stat, following links). */
enum { LJH_OS_NONE, LJH_OS_FILE, LJH_OS_DIR, LJH_OS_OTHER, LJH_OS_ERROR };
/* LJH_OS_ERROR leaves errno set; *mode gets the permission bits of a file
 * (may be NULL). */
int ljh__os_path_kind(const char *path, unsigned *mode);
/* 1 when files can be created in the directory dir. */
int ljh__os_dir_writable(const char *dir);

/* Opens path for reading, never blocking (a FIFO without a writer would
 * wait for one for ever), and keeps it only when it is a regular file:
 * returns the descriptor with *size set, -1 with errno set, or -2 when the
 * path is not a regular file. The descriptor is not inherited by children. */
int ljh__os_open_regular(const char *path, int64_t *size);
/* Creates path, which must not exist (O_EXCL: a link planted there is
 * refused), for writing, not inherited. mode goes through the umask;
 * exact != 0 then sets mode exactly (a replaced file keeps its mode). */
int ljh__os_create_excl(const char *path, unsigned mode, int exact);
/* Full reads/writes at an offset; a short read means the end of file.
 * Return the bytes moved, or -1 with errno set. */
int64_t ljh__os_pread(int fd, void *buf, size_t n, int64_t off);
int64_t ljh__os_pwrite(int fd, const void *buf, size_t n, int64_t off);
int ljh__os_truncate(int fd, int64_t len);
int ljh__os_fsync(int fd);
int ljh__os_close(int fd);
int ljh__os_unlink(const char *path);
/* Reserves len bytes for fd so a full disk fails now: 0 when reserved or
 * when this OS or file system cannot reserve (nothing is lost: the writes
 * allocate as they go), -1 with errno ENOSPC/EDQUOT/EFBIG when the space
 * is not there. */
int ljh__os_preallocate(int fd, int64_t len);
/* rename that replaces an existing target (Windows' rename refuses to). */
int ljh__os_rename(const char *from, const char *to);
/* Makes a finished rename in path's directory durable where the OS can
 * (fsync of the directory on POSIX; nothing to do on Windows). */
void ljh__os_fsync_dir_of(const char *path);
/* The process id: a forked child must not remove its parent's files. */
long ljh__os_pid(void);
/* 1 when the environment variable name is set and not empty, read where
 * curl_getenv reads it (getenv; GetEnvironmentVariableA on Windows). */
int ljh__os_env_set(const char *name);

/* ---- the engine's clock, sockets and fork detection ---- */

int64_t ljh__now_ms(void); /* monotonic */
/* Changes in every child after a fork(): pthread_atfork where there is
 * one, else (built with LJH_NO_ATFORK) a pid check; 0 for ever where
 * there is no fork (Windows). */
unsigned ljh__fork_generation(void);
/* A socket not inherited by children, or CURL_SOCKET_BAD with *err set
 * (an errno value: EMFILE when out of descriptors). */
curl_socket_t ljh__socket_open(int family, int type, int protocol, int *err);
int ljh__socket_close(curl_socket_t s);
/* The socket as an index into per-socket tables, or -1. */
int ljh__socket_index(curl_socket_t s);

/* ---- the rest ---- */

/* n bytes from the OS's random source: 0, or -1 when there is none. */
int ljh__os_random(void *out, size_t n);
/* Waits up to ms for fd to become readable (want & 1) or writable
 * (want & 2): 1 ready, 0 timeout, -1 error. */
int ljh__os_wait_socket(curl_socket_t fd, int want, int ms);

/* A shared library by the first of names that loads (NULL-terminated
 * list), and a symbol in it; NULL when none. */
void *ljh__os_dlopen(const char *const *names);
void *ljh__os_dlsym(void *lib, const char *name);

/* Tests only: take the portable fallback instead of the preferred call,
 * so the Linux suite runs the paths other systems use. Bits of
 * ljh__os_fallbacks, 0 in the library. */
enum {
    LJH_OS_FB_CLOEXEC = 1,   /* no O_CLOEXEC: fcntl(FD_CLOEXEC) after open */
    LJH_OS_FB_RANDOM = 2,    /* no getrandom/arc4random: /dev/urandom */
    LJH_OS_FB_FALLOCATE = 4, /* no fallocate: posix_fallocate */
    LJH_OS_FB_NO_PREALLOC = 8 /* no preallocation at all */
};
extern int ljh__os_fallbacks;

#endif
