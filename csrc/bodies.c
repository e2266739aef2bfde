/* bodies: multipart forms through libcurl's MIME API, uploads streamed
 * from a file, the checks of every body option (output's are in
 * bodies_output.c, with the download written to a file); and the URL
 * escaping Lua uses for query and form tables. File problems are found
 * before anything is sent. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"
#include "os.h"
#include "setopt.h"
#include "strs.h"

#define MAX_PARTS 10000

/* ---- escaping (exported) ---- */

size_t ljh_escape(const char *s, size_t len, char *out, size_t cap)
{
    if (len == 0)
        return 0; /* curl_easy_escape would take strlen() of s */
    if (!s || len > INT_MAX / 3)
        return (size_t)-1;
    /* The handle is unused since libcurl 7.82. */
    char *e = curl_easy_escape(NULL, s, (int)len);
    if (!e)
        return (size_t)-1;
    size_t n = strlen(e);
    if (out && n <= cap)
        memcpy(out, e, n);
    curl_free(e);
    return n;
}

/* ---- helpers ---- */

/* Text that ends up inside a MIME header: no NUL, CR or LF. */
static int mime_text_ok(const ljh_str *s)
{
    for (size_t i = 0; i < s->len; i++)
        if (s->ptr[i] == '\0' || s->ptr[i] == '\r' || s->ptr[i] == '\n')
            return 0;
    return 1;
}

/* Opens path for reading (never blocking on a FIFO) and checks it is a
 * regular file; returns the descriptor (>= 0) with *size set, or -1 with
 * errmsg written. */
static int open_regular(const char *path, const char *what, int64_t *size, char *errmsg,
                        size_t errlen)
{
    int fd = ljh__os_open_regular(path, size);
    if (fd == -2)
        ljh__msg(errmsg, errlen, "cannot read %s \"%s\": not a regular file", what, path);
    else if (fd < 0)
        ljh__msg(errmsg, errlen, "cannot read %s \"%s\": %s", what, path, strerror(errno));
    return fd < 0 ? -1 : fd;
}

/* The last directory separator in path, or NULL: '/', and on Windows
 * also '\\'. */
static const char *last_sep(const char *path)
{
    const char *slash = strrchr(path, '/');
#ifdef _WIN32
    const char *back = strrchr(path, '\\');
    if (back && (!slash || back > slash))
        slash = back;
#endif
    return slash;
}

int ljh__check_writable_path(const char *path, const char *what, char *errmsg, size_t errlen)
{
    int kind = ljh__os_path_kind(path, NULL);
    if (kind == LJH_OS_DIR || kind == LJH_OS_OTHER) {
        ljh__msg(errmsg, errlen, "%s \"%s\" is not a regular file", what, path);
        return -1;
    } else if (kind == LJH_OS_ERROR) {
        ljh__msg(errmsg, errlen, "%s \"%s\": %s", what, path, strerror(errno));
        return -1;
    }
    const char *slash = last_sep(path);
    char dir[LJH_MAX_PATH_LEN + 1];
    size_t n = !slash ? 0 : slash == path ? 1 : (size_t)(slash - path);
    if (n > LJH_MAX_PATH_LEN) {
        ljh__msg(errmsg, errlen, "%s path is too long", what);
        return -1;
    }
    if (n == 0)
        dir[n++] = '.';
    else
        memcpy(dir, path, n);
    dir[n] = '\0';
    if (ljh__os_path_kind(dir, NULL) != LJH_OS_DIR) {
        ljh__msg(errmsg, errlen, "%s \"%s\": the directory %s does not exist", what, path, dir);
        return -1;
    }
    if (!ljh__os_dir_writable(dir)) {
        ljh__msg(errmsg, errlen, "%s \"%s\": the directory %s is not writable", what, path, dir);
        return -1;
    }
    return 0;
}

/* ---- init ---- */

static ljh_error init_body_file(ljh_bodies *b, const ljh_request *req, char *errmsg,
                                size_t errlen)
{
    if (!ljh__path_ok(&req->body_file)) {
        ljh__msg(errmsg, errlen, "body_file must be a file path of 1 to %d bytes without NUL",
                 LJH_MAX_PATH_LEN);
        return LJH_E_INVALID_ARGUMENT;
    }
    if (!(b->body_file = ljh__dup_str(&req->body_file)))
        return LJH_E_OUT_OF_MEMORY;
    b->in_fd = open_regular(b->body_file, "body_file", &b->in_size, errmsg, errlen);
    if (b->in_fd < 0)
        return LJH_E_INVALID_ARGUMENT;
    return LJH_OK;
}

static ljh_error init_parts(ljh_bodies *b, const ljh_request *req, char *errmsg, size_t errlen)
{
    int n = req->n_parts;
    if (n < 0 || n > MAX_PARTS || !req->parts) {
        ljh__msg(errmsg, errlen, "multipart must have 1 to %d parts", MAX_PARTS);
        return LJH_E_INVALID_ARGUMENT;
    }
    if (!(b->parts = calloc((size_t)n, sizeof *b->parts)))
        return LJH_E_OUT_OF_MEMORY;
    b->n_parts = n;
    for (int i = 0; i < n; i++) {
        b->parts[i].file_fd = -1;
        b->parts[i].owner = b;
    }
    for (int i = 0; i < n; i++) {
        const ljh_part *in = &req->parts[i];
        ljh_body_part *p = &b->parts[i];
        if (!in->name.ptr || in->name.len == 0 || in->name.len > 4096 || !mime_text_ok(&in->name)) {
            ljh__msg(errmsg, errlen,
                     "multipart part %d: name must be 1 to 4096 bytes without NUL, CR or LF",
                     i + 1);
            return LJH_E_INVALID_ARGUMENT;
        }
        if (!(p->name = ljh__dup_str(&in->name)))
            return LJH_E_OUT_OF_MEMORY;
        if (!in->data.ptr == !in->file.ptr) {
            ljh__msg(errmsg, errlen, "multipart part %d (\"%s\"): give exactly one of data and file",
                     i + 1, p->name);
            return LJH_E_INVALID_ARGUMENT;
        }
        if (in->filename.ptr && (in->filename.len > 4096 || !mime_text_ok(&in->filename))) {
            ljh__msg(errmsg, errlen,
                     "multipart part %d (\"%s\"): filename must not contain NUL, CR or LF",
                     i + 1, p->name);
            return LJH_E_INVALID_ARGUMENT;
        }
        if (in->content_type.ptr &&
            (in->content_type.len == 0 || in->content_type.len > 1024 ||
             !ljh__is_header_value(in->content_type.ptr, in->content_type.len))) {
            ljh__msg(errmsg, errlen,
                     "multipart part %d (\"%s\"): content_type must be 1 to 1024 bytes without "
                     "control characters",
                     i + 1, p->name);
            return LJH_E_INVALID_ARGUMENT;
        }
        if ((in->filename.ptr && !(p->filename = ljh__dup_str(&in->filename))) ||
            (in->content_type.ptr && !(p->content_type = ljh__dup_str(&in->content_type))))
            return LJH_E_OUT_OF_MEMORY;
        if (in->data.ptr) {
            if (!(p->data = ljh__dup_str(&in->data)))
                return LJH_E_OUT_OF_MEMORY;
            p->data_len = in->data.len;
            continue;
        }
        if (!ljh__path_ok(&in->file)) {
            ljh__msg(errmsg, errlen,
                     "multipart part %d (\"%s\"): file must be a path of 1 to %d bytes without NUL",
                     i + 1, p->name, LJH_MAX_PATH_LEN);
            return LJH_E_INVALID_ARGUMENT;
        }
        if (!(p->file = ljh__dup_str(&in->file)))
            return LJH_E_OUT_OF_MEMORY;
        /* A missing or unreadable file fails before the request; its size
         * now is the part's size. read_part opens it again when the part is
         * sent (one descriptor at a time, however many parts). */
        char what[64];
        ljh__msg(what, sizeof what, "multipart part %d file", i + 1);
        int fd = open_regular(p->file, what, &p->file_size, errmsg, errlen);
        if (fd < 0)
            return LJH_E_INVALID_ARGUMENT;
        ljh__os_close(fd);
    }
    return LJH_OK;
}

ljh_error ljh__bodies_init(ljh_bodies *b, const ljh_request *req, char *errmsg, size_t errlen)
{
    memset(b, 0, sizeof *b);
    b->out.fd = -1;
    b->in_fd = -1;
    int sources = (req->body.ptr != NULL) + (req->body_file.ptr != NULL) + (req->n_parts != 0);
    if (sources > 1) {
        ljh__msg(errmsg, errlen,
                 "give only one request body: body (or form, json), multipart or body_file");
        return LJH_E_INVALID_ARGUMENT;
    }
    b->is_head = req->method.ptr && req->method.len == 4 && strncasecmp(req->method.ptr, "HEAD", 4) == 0;
    b->no_expect = (req->flags & LJH_F_NO_EXPECT) != 0;
    ljh_error err = LJH_OK;
    if (req->body_file.ptr && (err = init_body_file(b, req, errmsg, errlen)) != LJH_OK)
        return err;
    if (req->n_parts && (err = init_parts(b, req, errmsg, errlen)) != LJH_OK)
        return err;
    /* Last: it creates a file, which must not happen for a bad request. */
    if (req->output.ptr && (err = ljh__bodies_init_output(b, req, errmsg, errlen)) != LJH_OK)
        return err;
    return LJH_OK;
}

/* ---- per hop ---- */

/* Reads up to want bytes at off of an upload of size bytes; 0 at the end.
 * A file that ends early (it shrank since its size was taken) or fails to
 * read sets b's error (LJH_E_IO, naming what and path) and returns -1. */
static int64_t read_at(ljh_bodies *b, int fd, char *buf, size_t want, int64_t off, int64_t size,
                       const char *what, const char *path)
{
    if (off >= size)
        return 0;
    if ((int64_t)want > size - off)
        want = (size_t)(size - off);
    int64_t r = ljh__os_pread(fd, buf, want, off);
    if (r > 0)
        return r;
    b->error = LJH_E_IO;
    if (r == 0)
        ljh__msg(b->errmsg, sizeof b->errmsg, "%s \"%s\" became shorter while it was sent", what,
                 path);
    else
        ljh__msg(b->errmsg, sizeof b->errmsg, "cannot read %s \"%s\": %s", what, path,
                 strerror(errno));
    return -1;
}

static size_t read_cb(char *buf, size_t size, size_t nitems, void *userp)
{
    ljh_bodies *b = userp;
    int64_t r = read_at(b, b->in_fd, buf, size * nitems, b->in_off, b->in_size, "body_file",
                        b->body_file);
    if (r < 0)
        return CURL_READFUNC_ABORT;
    b->in_off += r;
    return (size_t)r;
}

/* libcurl rewinds when it has to send the body again on the same hop
 * (a reused connection that turned out dead, authentication). */
static int seek_cb(void *userp, curl_off_t offset, int origin)
{
    ljh_bodies *b = userp;
    int64_t base = origin == SEEK_SET ? 0 : origin == SEEK_CUR ? b->in_off : b->in_size;
    int64_t to = base + (int64_t)offset;
    if (origin != SEEK_SET && origin != SEEK_CUR && origin != SEEK_END)
        return CURL_SEEKFUNC_CANTSEEK;
    if (to < 0 || to > b->in_size)
        return CURL_SEEKFUNC_FAIL;
    b->in_off = to;
    return CURL_SEEKFUNC_OK;
}

/* What curl_mime_filedata would name and type a file part: the path's
 * last component, and a type from a few well-known extensions, else
 * application/octet-stream. */
static const char *base_name(const char *path)
{
    const char *slash = last_sep(path);
    return slash ? slash + 1 : path;
}

static const char *default_type(const char *filename)
{
    static const char *const types[][2] = {
        {".gif", "image/gif"},  {".jpg", "image/jpeg"},         {".jpeg", "image/jpeg"},
        {".png", "image/png"},  {".svg", "image/svg+xml"},      {".txt", "text/plain"},
        {".htm", "text/html"},  {".html", "text/html"},         {".pdf", "application/pdf"},
        {".xml", "application/xml"},
    };
    const char *dot = strrchr(filename, '.');
    for (size_t i = 0; dot && i < sizeof types / sizeof types[0]; i++)
        if (strcasecmp(dot, types[i][0]) == 0)
            return types[i][1];
    return "application/octet-stream";
}

/* A multipart file part, read as it is sent. The size was taken when the
 * request was made and is what Content-Length counts: a file that has
 * shrunk since ends the transfer with LJH_E_IO, never a short body that
 * leaves the server waiting; one that has grown sends its first size
 * bytes. The descriptor is closed once the part is sent. */
static size_t read_part(char *buf, size_t size, size_t nitems, void *userp)
{
    ljh_body_part *p = userp;
    ljh_bodies *b = p->owner;
    if (p->file_off >= p->file_size)
        return 0;
    int64_t now_size; /* the size taken at init is the one sent */
    if (p->file_fd < 0 && (p->file_fd = open_regular(p->file, "multipart file", &now_size,
                                                     b->errmsg, sizeof b->errmsg)) < 0) {
        b->error = LJH_E_IO;
        return CURL_READFUNC_ABORT;
    }
    int64_t r = read_at(b, p->file_fd, buf, size * nitems, p->file_off, p->file_size,
                        "multipart file", p->file);
    if (r < 0)
        return CURL_READFUNC_ABORT;
    p->file_off += r;
    if (p->file_off == p->file_size) {
        ljh__os_close(p->file_fd);
        p->file_fd = -1;
    }
    return (size_t)r;
}

static int seek_part(void *userp, curl_off_t offset, int origin)
{
    ljh_body_part *p = userp;
    if (origin != SEEK_SET || offset < 0 || (int64_t)offset > p->file_size)
        return CURL_SEEKFUNC_CANTSEEK;
    p->file_off = (int64_t)offset;
    return CURL_SEEKFUNC_OK;
}

static CURLcode build_mime(ljh_bodies *b, CURL *easy)
{
    curl_mime_free(b->mime); /* the easy handle was reset: nothing uses it */
    b->mime = curl_mime_init(easy);
    if (!b->mime)
        return CURLE_OUT_OF_MEMORY;
    CURLcode rc = CURLE_OK;
    for (int i = 0; i < b->n_parts && rc == CURLE_OK; i++) {
        ljh_body_part *p = &b->parts[i];
        curl_mimepart *part = curl_mime_addpart(b->mime);
        if (!part)
            return CURLE_OUT_OF_MEMORY;
        const char *fname = p->filename, *ftype = p->content_type;
        rc = curl_mime_name(part, p->name);
        if (rc == CURLE_OK && p->file) {
            p->file_off = 0; /* a new hop sends it from the start */
            rc = curl_mime_data_cb(part, (curl_off_t)p->file_size, read_part, seek_part, NULL, p);
            /* the file's own name and a type, as curl_mime_filedata gives */
            fname = fname ? fname : base_name(p->file);
            ftype = ftype ? ftype : default_type(fname);
        } else if (rc == CURLE_OK) {
            rc = curl_mime_data(part, p->data, p->data_len);
        }
        if (rc == CURLE_OK && fname)
            rc = curl_mime_filename(part, fname);
        if (rc == CURLE_OK && ftype)
            rc = curl_mime_type(part, ftype);
    }
    return rc;
}

CURLcode ljh__bodies_apply(ljh_bodies *b, CURL *easy, const char *method)
{
    CURLcode rc = CURLE_OK;
    b->error = LJH_OK;
    b->errmsg[0] = '\0';
    if (b->out.tmp) {
        /* A retry or a redirect starts the file over. */
        if ((b->out_len > 0 || b->out_reserved > 0) && ljh__os_truncate(b->out.fd, 0) != 0) {
            ljh__msg(b->errmsg, sizeof b->errmsg, "cannot start output \"%s\" over: %s",
                     b->out.path, strerror(errno));
            b->error = LJH_E_IO;
            return CURLE_WRITE_ERROR;
        }
        b->out_len = 0;
        b->out_reserved = 0;
        b->to_file = -1;
        /* The size limit is checked by write_cb on what really arrives; a
         * file download has none unless max_body_size was given. */
        LJH_SETOPT(easy, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)(b->out_max > 0 ? b->out_max : 0));
        /* Larger reads, so a quarter as many recv and pwrite calls. The
         * next request on this handle is not plain, so curl_easy_reset
         * puts the default back (see profile_of in engine.c). */
        LJH_SETOPT(easy, CURLOPT_BUFFERSIZE, LJH_OUTPUT_BUFFER);
    }
    if (b->dropped || b->is_head || (!b->body_file && !b->n_parts))
        return CURLE_OK;
    if (b->body_file) {
        b->in_off = 0;
        /* POSTFIELDS NULL: the body comes from the read callback, with
         * Content-Length from POSTFIELDSIZE. */
        LJH_SETOPT(easy, CURLOPT_POSTFIELDS, (char *)NULL);
        LJH_SETOPT(easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)b->in_size);
        LJH_SETOPT(easy, CURLOPT_READFUNCTION, read_cb);
        LJH_SETOPT(easy, CURLOPT_READDATA, b);
        LJH_SETOPT(easy, CURLOPT_SEEKFUNCTION, seek_cb);
        LJH_SETOPT(easy, CURLOPT_SEEKDATA, b);
    } else {
        if ((rc = build_mime(b, easy)) != CURLE_OK)
            return rc;
        LJH_SETOPT(easy, CURLOPT_MIMEPOST, b->mime);
    }
    if (ljh__bodies_expect(b))
        LJH_SETOPT(easy, CURLOPT_EXPECT_100_TIMEOUT_MS, LJH_EXPECT_WAIT_MS);
    if (strcmp(method, "POST") != 0)
        LJH_SETOPT(easy, CURLOPT_CUSTOMREQUEST, method);
    else
        LJH_SETOPT(easy, CURLOPT_CUSTOMREQUEST, (char *)NULL);
    return CURLE_OK;
}

int ljh__bodies_expect(const ljh_bodies *b)
{
    if (b->no_expect || b->dropped || b->is_head || (!b->body_file && !b->n_parts))
        return 0;
    int64_t size = b->body_file ? b->in_size : 0;
    for (int i = 0; i < b->n_parts; i++) /* parts only: the boundaries are small */
        size += b->parts[i].file ? b->parts[i].file_size : (int64_t)b->parts[i].data_len;
    return size >= LJH_EXPECT_THRESHOLD;
}

int ljh__bodies_sets_content_type(const ljh_bodies *b)
{
    return b->n_parts > 0 && !b->dropped && !b->is_head;
}

void ljh__bodies_drop(ljh_bodies *b)
{
    b->dropped = 1;
}

void ljh__bodies_free(ljh_bodies *b)
{
    /* A plan that failed before ljh__bodies_init has zeroed fields: only
     * trust a descriptor whose path is set. ljh__file_discard leaves a
     * forked child's parent's download alone. */
    ljh__file_discard(&b->out);
    if (b->body_file && b->in_fd >= 0)
        ljh__os_close(b->in_fd);
    free(b->body_file);
    for (int i = 0; i < b->n_parts; i++) {
        ljh_body_part *p = &b->parts[i];
        if (p->file_fd >= 0)
            ljh__os_close(p->file_fd);
        free(p->name);
        free(p->data);
        free(p->file);
        free(p->filename);
        free(p->content_type);
    }
    free(b->parts);
    curl_mime_free(b->mime);
    memset(b, 0, sizeof *b);
    b->out.fd = -1;
    b->in_fd = -1;
}
