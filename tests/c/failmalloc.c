/* LD_PRELOAD shim for reliability case 48 (tests/lua/test_reliability_c.lua):
 * once armed with n, the n-th malloc/calloc/realloc of the process fails
 * (returns NULL with ENOMEM), exactly once. It also counts live blocks, so
 * the test can tell a leak from a failure path. Not part of the library;
 * built by the test with `cc -shared -fPIC`. Uses glibc's __libc_* entry
 * points, so no dlsym bootstrap is needed. */
#include <errno.h>
#include <stddef.h>

extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t n);
extern void __libc_free(void *p);

static long fail_at = -1; /* the armed allocation number, -1 = off */
static long seen;         /* allocations since arming */
static long live;         /* blocks allocated and not freed */

void failmalloc_arm(long n);
long failmalloc_disarm(void);
long failmalloc_live(void);

void failmalloc_arm(long n)
{
    seen = 0;
    fail_at = n;
}

long failmalloc_disarm(void)
{
    fail_at = -1;
    return seen;
}

long failmalloc_live(void)
{
    return live;
}

/* A place for a debugger's breakpoint: the failing call's stack. */
void failmalloc_hit(void);
__attribute__((noinline)) void failmalloc_hit(void)
{
    __asm__ volatile("");
}

static int fail_now(void)
{
    if (fail_at < 0)
        return 0;
    if (++seen == fail_at) {
        failmalloc_hit();
        errno = ENOMEM;
        return 1;
    }
    return 0;
}

void *malloc(size_t n)
{
    if (fail_now())
        return NULL;
    void *p = __libc_malloc(n);
    if (p)
        __atomic_add_fetch(&live, 1, __ATOMIC_RELAXED);
    return p;
}

void *calloc(size_t n, size_t size)
{
    if (fail_now())
        return NULL;
    void *p = __libc_calloc(n, size);
    if (p)
        __atomic_add_fetch(&live, 1, __ATOMIC_RELAXED);
    return p;
}

void *realloc(void *old, size_t n)
{
    if (!old)
        return malloc(n);
    if (n == 0) {
        __libc_free(old);
        __atomic_sub_fetch(&live, 1, __ATOMIC_RELAXED);
        return NULL;
    }
    if (fail_now())
        return NULL;
    return __libc_realloc(old, n);
}

void free(void *p)
{
    if (p) {
        __atomic_sub_fetch(&live, 1, __ATOMIC_RELAXED);
        __libc_free(p);
    }
}
