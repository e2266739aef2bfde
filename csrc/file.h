/* file: the one way ljhttp writes a file the caller named (options.output,
 * the cookie jar): a temporary file beside the target, written, then
 * renamed over it, so the target is only ever the old file or the whole
 * new one; a failure or a crash leaves at most a temporary file, and every
 * failure this code sees removes it. */
#ifndef LJHTTP_FILE_H
#define LJHTTP_FILE_H

#include <stddef.h>
#include <stdint.h>

typedef struct ljh_file {
    char *path;   /* the target (owned) */
    char *tmp;    /* the temporary file while open (owned), else NULL */
    int fd;       /* its descriptor; meaningful only while tmp is set */
    long pid;     /* the creating process: a forked child leaves it alone */
} ljh_file;

/* Creates the temporary file beside path: "<path>.tmp.<12 random
 * characters>", made with O_EXCL (never a name someone planted). A new
 * file gets new_mode less the umask (0666 for downloads, 0600 for secrets
 * such as cookies), a replaced one keeps its mode. 0, or -1 with errmsg
 * written and nothing left behind. what names the file in messages
 * ("output", "cookie jar"). */
int ljh__file_open(ljh_file *f, const char *path, unsigned new_mode, const char *what,
                   char *errmsg, size_t errlen);
/* Writes n bytes at off: 0, or -1 with errno set. */
int ljh__file_write(ljh_file *f, int64_t off, const void *data, size_t n);
/* Finishes: truncates to len (when len >= 0), fsyncs when sync, closes and
 * renames over the target (then fsyncs the directory when sync). On
 * failure the temporary file is removed and errmsg says which step. */
int ljh__file_commit(ljh_file *f, int64_t len, int sync, const char *what, char *errmsg,
                     size_t errlen);
/* Closes and removes a temporary file that was not committed; frees the
 * paths. Safe on a zeroed struct and twice. */
void ljh__file_discard(ljh_file *f);
/* The whole writer for a buffer in memory, with fsync (the cookie jar). */
int ljh__file_save(const char *path, const void *data, size_t n, unsigned new_mode,
                   const char *what, char *errmsg, size_t errlen);

#endif
