/* file: the atomic file writer of file.h, on the calls of os.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "file.h"
#include "internal.h"
#include "os.h"

#define TMP_SUFFIX ".tmp."
#define TMP_RANDOM 12

/* 12 characters of [a-z0-9] from 12 random bytes (60 bits after the
 * modulo's slight bias: nothing a local attacker can guess). */
static int random_name(char *out)
{
    static const char set[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    unsigned char r[TMP_RANDOM];
    if (ljh__os_random(r, sizeof r) != 0)
        return -1;
    for (int i = 0; i < TMP_RANDOM; i++)
        out[i] = set[r[i] % (sizeof set - 1)];
    out[TMP_RANDOM] = '\0';
    return 0;
}

int ljh__file_open(ljh_file *f, const char *path, unsigned new_mode, const char *what,
                   char *errmsg, size_t errlen)
{
    memset(f, 0, sizeof *f);
    f->fd = -1;
    size_t len = strlen(path);
    f->path = malloc(len + 1);
    f->tmp = malloc(len + sizeof TMP_SUFFIX + TMP_RANDOM);
    if (!f->path || !f->tmp) {
        ljh__file_discard(f);
        ljh__msg(errmsg, errlen, "out of memory");
        errno = ENOMEM;
        return -1;
    }
    memcpy(f->path, path, len + 1);
    unsigned mode = new_mode;
    int exact = ljh__os_path_kind(path, &mode) == LJH_OS_FILE;
    if (!exact)
        mode = new_mode;
    memcpy(f->tmp, path, len);
    memcpy(f->tmp + len, TMP_SUFFIX, sizeof TMP_SUFFIX - 1);
    char *name = f->tmp + len + sizeof TMP_SUFFIX - 1;
    for (int tries = 0; tries < 100 && f->fd < 0; tries++) {
        if (random_name(name) != 0) {
            errno = EIO;
            break;
        }
        f->fd = ljh__os_create_excl(f->tmp, mode, exact);
        if (f->fd < 0 && errno != EEXIST)
            break;
    }
    if (f->fd < 0) {
        int e = errno;
        ljh__msg(errmsg, errlen, "cannot create a temporary file beside %s \"%s\": %s", what,
                 path, strerror(e));
        free(f->tmp);
        f->tmp = NULL;
        ljh__file_discard(f);
        errno = e;
        return -1;
    }
    f->pid = ljh__os_pid();
    return 0;
}

int ljh__file_write(ljh_file *f, int64_t off, const void *data, size_t n)
{
    if (!f->tmp || f->fd < 0) {
        errno = EBADF;
        return -1;
    }
    return ljh__os_pwrite(f->fd, data, n, off) == (int64_t)n ? 0 : -1;
}

int ljh__file_commit(ljh_file *f, int64_t len, int sync, const char *what, char *errmsg,
                     size_t errlen)
{
    if (!f->tmp || f->fd < 0) {
        ljh__msg(errmsg, errlen, "%s: nothing to write", what);
        return -1;
    }
    int fd = f->fd;
    f->fd = -1;
    const char *why = NULL;
    if (len >= 0 && ljh__os_truncate(fd, len) != 0)
        why = "truncate";
    if (!why && sync && ljh__os_fsync(fd) != 0)
        why = "fsync";
    if (ljh__os_close(fd) != 0 && !why)
        why = "close";
    if (!why && ljh__os_rename(f->tmp, f->path) != 0)
        why = "rename";
    if (why) {
        int e = errno;
        ljh__msg(errmsg, errlen, "cannot write %s \"%s\" (%s): %s", what, f->path, why,
                 strerror(e));
        ljh__os_unlink(f->tmp);
        free(f->tmp);
        f->tmp = NULL;
        errno = e;
        return -1;
    }
    free(f->tmp);
    f->tmp = NULL;
    if (sync)
        ljh__os_fsync_dir_of(f->path);
    return 0;
}

void ljh__file_discard(ljh_file *f)
{
    if (f->tmp) {
        if (f->fd >= 0)
            ljh__os_close(f->fd);
        /* After fork() the child must not remove the parent's file. */
        if (f->pid == ljh__os_pid())
            ljh__os_unlink(f->tmp);
    }
    free(f->tmp);
    free(f->path);
    f->tmp = f->path = NULL;
    f->fd = -1;
}

int ljh__file_save(const char *path, const void *data, size_t n, unsigned new_mode,
                   const char *what, char *errmsg, size_t errlen)
{
    ljh_file f;
    if (ljh__file_open(&f, path, new_mode, what, errmsg, errlen) != 0)
        return -1;
    int rc = 0;
    if (ljh__file_write(&f, 0, data, n) != 0) {
        ljh__msg(errmsg, errlen, "cannot write %s \"%s\": %s", what, path, strerror(errno));
        rc = -1;
    } else {
        rc = ljh__file_commit(&f, -1, 1, what, errmsg, errlen);
    }
    ljh__file_discard(&f);
    return rc;
}
