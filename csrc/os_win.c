/* os_win: os.h for Windows (MinGW-w64/MSYS2; Windows 7 SP1 or later:
 * WSA_FLAG_NO_HANDLE_INHERIT). Paths come
 * from Lua as UTF-8 and are converted to UTF-16 for the wide calls, so
 * any file name works whatever the ANSI code page. Descriptors are the C
 * runtime's (_wopen); the Win32 calls get their handle from
 * _get_osfhandle. */
#ifdef _WIN32

#include <winsock2.h>
#include <windows.h>
#include <bcrypt.h>
#include <errno.h>
#include <fcntl.h>
#include <io.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "os.h"

int ljh__os_fallbacks;

typedef struct { void (*fn)(void); } once_call;

static BOOL CALLBACK once_tramp(PINIT_ONCE o, PVOID param, PVOID *ctx)
{
    (void)o;
    (void)ctx;
    ((once_call *)param)->fn();
    return TRUE;
}

void ljh__os_once(ljh_once *o, void (*fn)(void))
{
    once_call c = {fn};
    InitOnceExecuteOnce(o, once_tramp, &c, NULL);
}

/* ---- files ---- */

/* UTF-8 to a malloc'd UTF-16 string; NULL with errno set. */
static wchar_t *wide(const char *s)
{
    int n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, NULL, 0);
    if (n <= 0) {
        errno = EINVAL;
        return NULL;
    }
    wchar_t *w = malloc((size_t)n * sizeof *w);
    if (!w) {
        errno = ENOMEM;
        return NULL;
    }
    MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, w, n);
    return w;
}

static void set_errno_from(DWORD e)
{
    switch (e) {
    case ERROR_FILE_NOT_FOUND:
    case ERROR_PATH_NOT_FOUND: errno = ENOENT; break;
    case ERROR_ACCESS_DENIED: errno = EACCES; break;
    case ERROR_DISK_FULL:
    case ERROR_HANDLE_DISK_FULL: errno = ENOSPC; break;
    case ERROR_FILE_EXISTS:
    case ERROR_ALREADY_EXISTS: errno = EEXIST; break;
    default: errno = EIO; break;
    }
}

int ljh__os_path_kind(const char *path, unsigned *mode)
{
    wchar_t *w = wide(path);
    if (!w)
        return LJH_OS_ERROR;
    struct _stat64 st;
    int rc = _wstat64(w, &st);
    free(w);
    if (rc != 0)
        return errno == ENOENT ? LJH_OS_NONE : LJH_OS_ERROR;
    if (mode)
        *mode = (unsigned)(st.st_mode & 0777);
    return (st.st_mode & _S_IFMT) == _S_IFREG   ? LJH_OS_FILE
           : (st.st_mode & _S_IFMT) == _S_IFDIR ? LJH_OS_DIR
                                                 : LJH_OS_OTHER;
}

int ljh__os_dir_writable(const char *dir)
{
    wchar_t *w = wide(dir);
    int ok = w && _waccess(w, 2) == 0;
    free(w);
    return ok;
}

int ljh__os_open_regular(const char *path, int64_t *size)
{
    /* Opening a named pipe's client end never waits (it fails when the
     * pipe is busy); the type check then refuses pipes and devices. */
    wchar_t *w = wide(path);
    if (!w)
        return -1;
    int fd = _wopen(w, _O_RDONLY | _O_BINARY | _O_NOINHERIT);
    free(w);
    if (fd < 0)
        return -1;
    struct _stat64 st;
    HANDLE h = (HANDLE)_get_osfhandle(fd);
    if (GetFileType(h) != FILE_TYPE_DISK || _fstat64(fd, &st) != 0 ||
        (st.st_mode & _S_IFMT) != _S_IFREG) {
        _close(fd);
        return -2;
    }
    *size = (int64_t)st.st_size;
    return fd;
}

int ljh__os_create_excl(const char *path, unsigned mode, int exact)
{
    (void)mode; /* Windows has only read-only or not; a new file is writable */
    (void)exact;
    wchar_t *w = wide(path);
    if (!w)
        return -1;
    int fd = _wopen(w, _O_WRONLY | _O_CREAT | _O_EXCL | _O_BINARY | _O_NOINHERIT,
                    _S_IREAD | _S_IWRITE);
    free(w);
    return fd;
}

/* ReadFile/WriteFile at an offset (OVERLAPPED on a synchronous handle). */
static int64_t move_at(int fd, void *buf, size_t n, int64_t off, int write)
{
    HANDLE h = (HANDLE)_get_osfhandle(fd);
    if (h == INVALID_HANDLE_VALUE) {
        errno = EBADF;
        return -1;
    }
    size_t done = 0;
    while (done < n) {
        OVERLAPPED ov;
        memset(&ov, 0, sizeof ov);
        uint64_t at = (uint64_t)off + done;
        ov.Offset = (DWORD)at;
        ov.OffsetHigh = (DWORD)(at >> 32);
        DWORD chunk = n - done > 0x40000000u ? 0x40000000u : (DWORD)(n - done), got = 0;
        BOOL ok = write ? WriteFile(h, (const char *)buf + done, chunk, &got, &ov)
                        : ReadFile(h, (char *)buf + done, chunk, &got, &ov);
        if (!ok && !write && GetLastError() == ERROR_HANDLE_EOF)
            break;
        if (!ok) {
            set_errno_from(GetLastError());
            return -1;
        }
        if (got == 0) {
            if (write) {
                errno = EIO;
                return -1;
            }
            break;
        }
        done += got;
    }
    return (int64_t)done;
}

int64_t ljh__os_pread(int fd, void *buf, size_t n, int64_t off)
{
    return move_at(fd, buf, n, off, 0);
}

int64_t ljh__os_pwrite(int fd, const void *buf, size_t n, int64_t off)
{
    return move_at(fd, (void *)buf, n, off, 1);
}

int ljh__os_truncate(int fd, int64_t len)
{
    errno_t e = _chsize_s(fd, len);
    if (e == 0)
        return 0;
    errno = e;
    return -1;
}

int ljh__os_fsync(int fd)
{
    return _commit(fd);
}

int ljh__os_close(int fd)
{
    return _close(fd);
}

int ljh__os_unlink(const char *path)
{
    wchar_t *w = wide(path);
    int rc = w ? _wunlink(w) : -1;
    free(w);
    return rc;
}

int ljh__os_preallocate(int fd, int64_t len)
{
    if (ljh__os_fallbacks & LJH_OS_FB_NO_PREALLOC)
        return 0;
    /* The allocation size reserves clusters without changing the end of
     * file, as macOS's F_PREALLOCATE does. */
    FILE_ALLOCATION_INFO info;
    info.AllocationSize.QuadPart = len;
    HANDLE h = (HANDLE)_get_osfhandle(fd);
    if (SetFileInformationByHandle(h, FileAllocationInfo, &info, sizeof info))
        return 0;
    DWORD e = GetLastError();
    if (e != ERROR_DISK_FULL && e != ERROR_HANDLE_DISK_FULL)
        return 0;
    errno = ENOSPC;
    return -1;
}

int ljh__os_rename(const char *from, const char *to)
{
    /* The CRT's rename refuses an existing target; this replaces it. */
    wchar_t *wf = wide(from), *wt = wf ? wide(to) : NULL;
    int rc = -1;
    if (wt && MoveFileExW(wf, wt, MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH))
        rc = 0;
    else if (wt)
        set_errno_from(GetLastError());
    free(wf);
    free(wt);
    return rc;
}

void ljh__os_fsync_dir_of(const char *path)
{
    (void)path; /* MOVEFILE_WRITE_THROUGH already waited for the rename */
}

long ljh__os_pid(void)
{
    return (long)GetCurrentProcessId();
}

int ljh__os_env_set(const char *name)
{
    char one[2];
    /* 0: unset or empty; else the length copied or the size needed */
    return GetEnvironmentVariableA(name, one, sizeof one) > 0;
}

/* ---- the rest ---- */

int ljh__os_random(void *out, size_t n)
{
    unsigned char *p = out;
    while (n > 0) {
        ULONG chunk = n > 0x10000000u ? 0x10000000u : (ULONG)n;
        if (!BCRYPT_SUCCESS(BCryptGenRandom(NULL, p, chunk, BCRYPT_USE_SYSTEM_PREFERRED_RNG)))
            return -1;
        p += chunk;
        n -= chunk;
    }
    return 0;
}

int ljh__os_wait_socket(curl_socket_t fd, int want, int ms)
{
    WSAPOLLFD p;
    p.fd = fd;
    p.events = (SHORT)(((want & 1) ? POLLRDNORM : 0) | ((want & 2) ? POLLWRNORM : 0));
    p.revents = 0;
    int rc = WSAPoll(&p, 1, ms);
    return rc == SOCKET_ERROR ? -1 : rc > 0;
}

void *ljh__os_dlopen(const char *const *names)
{
    for (; *names; names++) {
        HMODULE h = LoadLibraryA(*names);
        if (h)
            return (void *)h;
    }
    return NULL;
}

void *ljh__os_dlsym(void *lib, const char *name)
{
    if (!lib)
        return NULL;
    FARPROC f = GetProcAddress((HMODULE)lib, name);
    void *p;
    memcpy(&p, &f, sizeof p); /* ISO C has no cast between the two */
    return p;
}


/* ---- the engine's clock, sockets and fork detection ---- */

int64_t ljh__now_ms(void)
{
    return (int64_t)GetTickCount64();
}

int ljh__socket_index(curl_socket_t s)
{
    if (s == CURL_SOCKET_BAD || (uint64_t)s > (uint64_t)INT_MAX)
        return -1;
    return (int)s;
}

curl_socket_t ljh__socket_open(int family, int type, int protocol, int *err)
{
    /* WSA_FLAG_NO_HANDLE_INHERIT: the socket is not inherited by children */
    SOCKET s = WSASocketW(family, type, protocol, NULL, 0, WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
    if (s == INVALID_SOCKET)
        *err = WSAGetLastError() == WSAEMFILE ? EMFILE : EIO;
    return s;
}

int ljh__socket_close(curl_socket_t s)
{
    return closesocket(s);
}

/* No fork() on Windows. */
unsigned ljh__fork_generation(void)
{
    return 0;
}

#else
typedef int ljh_os_win_unused; /* ISO C wants a declaration in every file */
#endif
