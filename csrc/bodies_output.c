/* bodies_output: options.output, a 2xx body written to a temporary file
 * beside the target as it arrives and renamed over it when the transfer
 * succeeded (file.c), so the target is never a partial download. The
 * other bodies are in bodies.c, which calls ljh__bodies_init_output last. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "os.h"
#include "strs.h"

ljh_error ljh__bodies_init_output(ljh_bodies *b, const ljh_request *req, char *errmsg,
                                  size_t errlen)
{
    if (!ljh__path_ok(&req->output)) {
        ljh__msg(errmsg, errlen, "output must be a file path of 1 to %d bytes without NUL",
                 LJH_MAX_PATH_LEN);
        return LJH_E_INVALID_ARGUMENT;
    }
    if (req->flags & LJH_F_STREAM) {
        ljh__msg(errmsg, errlen, "output cannot be combined with a stream (on_chunk, stream, sse)");
        return LJH_E_INVALID_ARGUMENT;
    }
    char *path = ljh__dup_str(&req->output);
    if (!path)
        return LJH_E_OUT_OF_MEMORY;
    int kind = ljh__os_path_kind(path, NULL);
    if (kind == LJH_OS_DIR)
        ljh__msg(errmsg, errlen, "output \"%s\" is a directory", path);
    else if (kind == LJH_OS_OTHER) /* a FIFO, socket or device would be replaced by the rename */
        ljh__msg(errmsg, errlen, "output \"%s\" is not a regular file", path);
    int rc = kind == LJH_OS_DIR || kind == LJH_OS_OTHER
                 ? -1
                 : ljh__file_open(&b->out, path, 0666, "output", errmsg, errlen);
    int e = errno;
    free(path);
    if (rc != 0)
        return kind == LJH_OS_DIR || kind == LJH_OS_OTHER || e != ENOMEM ? LJH_E_INVALID_ARGUMENT
                                                                          : LJH_E_OUT_OF_MEMORY;
    b->output = b->out.path;
    b->out_max = req->max_body_size > 0 ? req->max_body_size : -1;
    b->out_sync = (req->flags & LJH_F_OUTPUT_SYNC) != 0;
    b->out_prealloc = !(req->flags & LJH_F_DECOMPRESS);
    return LJH_OK;
}

/* Reserves the announced size before the first byte is written: a full
 * disk fails now rather than after the download, and the file's blocks
 * are allocated at once. On ext4 this also spares rename(2) over an
 * existing file from flushing the new file's delayed allocations first
 * (auto_da_alloc), which costs about as much as the write itself.
 * Linux's fallocate gives the temporary file the announced size at once
 * (commit trims it should fewer bytes have been written); which call each
 * OS uses is in os_posix.c / os_win.c, and a file system that cannot
 * reserve is simply written as before. Returns 1 with *err set when the
 * space is not there (or RLIMIT_FSIZE forbids the size). */
static int preallocate(ljh_bodies *b, CURL *easy, ljh_error *err)
{
    curl_off_t cl = -1;
    if (!b->out_prealloc ||
        curl_easy_getinfo(easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl) != CURLE_OK || cl <= 0)
        return 0;
    if (b->out_max > 0 && cl > b->out_max)
        return 0; /* write_cb's limit ends it; no need to reserve */
    int rc = ljh__os_preallocate(b->out.fd, (int64_t)cl);
    /* recorded even on failure: ext4 may have grown the file part way */
    b->out_reserved = (int64_t)cl;
    if (rc == 0)
        return 0;
    ljh__msg(b->errmsg, sizeof b->errmsg, "cannot write output \"%s\": %s (%" PRId64 " bytes announced)",
             b->out.path, strerror(errno), (int64_t)cl);
    b->error = *err = LJH_E_IO;
    return 1;
}

int ljh__bodies_output(ljh_bodies *b, CURL *easy, const char *data, size_t n, ljh_error *err)
{
    *err = LJH_OK;
    if (!b->out.tmp)
        return 0;
    if (b->to_file < 0) {
        /* Only a 2xx body replaces the file; an error page stays in
         * memory, where the caller can read it. */
        long status = 0;
        curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
        b->to_file = status >= 200 && status <= 299;
        if (b->to_file && preallocate(b, easy, err))
            return 1;
    }
    if (!b->to_file)
        return 0;
    if (b->out_max > 0 && (int64_t)n > b->out_max - b->out_len) {
        *err = LJH_E_TOO_LARGE;
        return 1;
    }
    if (ljh__file_write(&b->out, b->out_len, data, n) != 0) {
        ljh__msg(b->errmsg, sizeof b->errmsg, "cannot write output \"%s\": %s", b->out.path,
                 strerror(errno));
        b->error = *err = LJH_E_IO;
        return 1;
    }
    b->out_len += (int64_t)n;
    return 1;
}

ljh_error ljh__bodies_commit(ljh_bodies *b, CURL *easy)
{
    if (!b->out.tmp)
        return LJH_OK;
    long status = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    if (b->is_head || status < 200 || status > 299)
        return LJH_OK; /* nothing to keep: ljh__bodies_free removes the file */
    /* The rename alone keeps a failed or killed download from leaving a
     * partial file. fsync, which also survives power loss, is asked for:
     * it runs on the caller's event loop and takes milliseconds to seconds.
     * A shorter body than the size reserved keeps only what came. */
    int64_t len = b->out_reserved > b->out_len ? b->out_len : -1;
    if (ljh__file_commit(&b->out, len, b->out_sync, "output", b->errmsg, sizeof b->errmsg) != 0) {
        b->error = LJH_E_IO;
        return LJH_E_IO;
    }
    b->written = 1;
    return LJH_OK;
}

void ljh__bodies_report(const ljh_bodies *b, ljh_response *r)
{
    if (r && b->written) {
        r->output_written = 1;
        r->output_len = b->out_len;
    }
}
