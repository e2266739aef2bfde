/* bodies: what a request sends or receives beyond a string in memory:
 * multipart forms, files uploaded from disk, bodies written to a file.
 *
 * Everything that can fail for a local reason (a missing file, a
 * directory that cannot be written) is checked by ljh__bodies_init, so
 * such a request fails before anything is sent. ljh__bodies_apply runs
 * once per hop and per retry: it rewinds the upload, rebuilds the MIME
 * tree for the (reset) easy handle and empties the output file. */
#ifndef LJHTTP_BODIES_H
#define LJHTTP_BODIES_H

#include <curl/curl.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#include "file.h"
#include "ljhttp.h"

#define LJH_MAX_PATH_LEN 4096

/* A path: 1..LJH_MAX_PATH_LEN bytes, no NUL (it could not reach the
 * kernel whole). */
static inline int ljh__path_ok(const ljh_str *s)
{
    return s->ptr && s->len > 0 && s->len <= LJH_MAX_PATH_LEN && !memchr(s->ptr, '\0', s->len);
}

typedef struct ljh_body_part {
    char *name;
    char *data;             /* data parts: data_len bytes */
    size_t data_len;
    char *file;             /* file parts: the path read_part streams from */
    int64_t file_size;      /* its size when the request was made */
    int64_t file_off;       /* next byte to send */
    int file_fd;            /* open while the part is being sent, else -1 */
    char *filename;         /* NULL = libcurl's default */
    char *content_type;     /* NULL = libcurl's default */
    struct ljh_bodies *owner;
} ljh_body_part;

typedef struct ljh_bodies {
    /* output: the body of a 2xx answer goes to a sibling temporary file,
     * renamed over output when the transfer succeeded */
    char *output;           /* final path, or NULL (out.path, not owned) */
    ljh_file out;           /* out.tmp: the temporary file until renamed */
    int64_t out_len;        /* bytes written by the current hop */
    int64_t out_max;        /* explicit max_body_size, or -1 */
    int64_t out_reserved;   /* size fallocate gave the file for this hop, or 0 */
    int to_file;            /* current hop: -1 undecided, 0 memory, 1 file */
    int written;            /* the file was renamed into place */
    int out_sync;           /* LJH_F_OUTPUT_SYNC: fsync before and after rename */
    int out_prealloc;       /* the body is written as received (no decompress):
                             * Content-Length is the file's size */
    int is_head;
    int no_expect;          /* LJH_F_NO_EXPECT */
    /* body_file: streamed by libcurl's read callback */
    char *body_file;
    int in_fd;              /* -1 when none */
    int64_t in_size;
    int64_t in_off;
    /* multipart/form-data */
    ljh_body_part *parts;
    int n_parts;
    curl_mime *mime;        /* built per hop for the hop's easy handle */
    int dropped;            /* a 301/302/303 turned the request into a GET */
    ljh_error error;        /* set by a callback that aborted the transfer */
    char errmsg[200];       /* its message */
} ljh_bodies;

ljh_error ljh__bodies_init(ljh_bodies *b, const ljh_request *req, char *errmsg, size_t errlen);
/* options.output (bodies_output.c), from ljh__bodies_init: checks the
 * path and creates the temporary file. */
ljh_error ljh__bodies_init_output(ljh_bodies *b, const ljh_request *req, char *errmsg,
                                  size_t errlen);
/* Per hop, after the plan's own options, on a reset easy handle: sets
 * upload/MIME options (method = the hop's upper-case method). */
CURLcode ljh__bodies_apply(ljh_bodies *b, CURL *easy, const char *method);
/* body_file and multipart uploads from this size ask the server first
 * (Expect: 100-continue), as curl does, so a refusal (401, 413) comes
 * before the body is sent; libcurl sends anyway after LJH_EXPECT_WAIT_MS. */
#define LJH_EXPECT_THRESHOLD (1024 * 1024)
#define LJH_EXPECT_WAIT_MS 1000L
/* True when this hop's upload sends Expect: 100-continue. */
int ljh__bodies_expect(const ljh_bodies *b);
/* True when libcurl writes the Content-Type header (multipart). */
int ljh__bodies_sets_content_type(const ljh_bodies *b);
/* A 301/302/303 redirect turned the request into a body-less GET. */
void ljh__bodies_drop(ljh_bodies *b);
/* options.output, from the write callback (not for a redirect's body):
 * returns 1 when the bytes were taken (written to the file, or *err set
 * to abort the transfer), 0 when the body goes to memory as usual. */
int ljh__bodies_output(ljh_bodies *b, CURL *easy, const char *data, size_t n, ljh_error *err);
/* At the end of a successful transfer: fsync and rename the output file
 * into place (2xx answers only). Returns 0, or an error with errmsg set. */
ljh_error ljh__bodies_commit(ljh_bodies *b, CURL *easy);
/* Marks r as written to the file (body empty, output_len = bytes). */
void ljh__bodies_report(const ljh_bodies *b, ljh_response *r);
/* Closes everything; removes a temporary file that was not renamed. */
void ljh__bodies_free(ljh_bodies *b);

/* A path ljhttp writes by renaming a file beside it (the cookie jar): a
 * regular file or nothing yet, in an existing writable directory. Never
 * opens it (a FIFO would block). 0, or -1 with errmsg written. */
int ljh__check_writable_path(const char *path, const char *what, char *errmsg, size_t errlen);

#endif
