/* decoding: Content-Encoding decoded by ljhttp (options.decompress), with
 * the end of every stream checked. The decoders are those of the
 * libraries libcurl itself is linked with (zlib, libbrotlidec, libzstd),
 * found at run time, so building ljhttp needs none of their headers: the
 * few entry points are declared here as each library documents them. */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"
#include "decoding.h"
#include "os.h"

/* ---- the libraries ---- */

/* zlib's z_stream (zlib.h, unchanged since 1.0) */
typedef struct z_stream_ {
    const unsigned char *next_in;
    unsigned avail_in;
    unsigned long total_in;
    unsigned char *next_out;
    unsigned avail_out;
    unsigned long total_out;
    const char *msg;
    void *state;
    void *zalloc, *zfree, *opaque;
    int data_type;
    unsigned long adler, reserved;
} z_stream_;
enum { Z_OK_ = 0, Z_STREAM_END_ = 1, Z_BUF_ERROR_ = -5 };

/* libzstd's buffers (zstd.h) */
typedef struct { const void *src; size_t size, pos; } zstd_in;
typedef struct { void *dst; size_t size, pos; } zstd_out;

/* libbrotlidec's results (brotli/decode.h) */
enum { BR_ERROR = 0, BR_SUCCESS = 1, BR_NEEDS_INPUT = 2, BR_NEEDS_OUTPUT = 3 };

static struct {
    const char *(*zlib_version)(void);
    int (*inflate_init2)(z_stream_ *, int, const char *, int);
    int (*inflate)(z_stream_ *, int);
    int (*inflate_reset)(z_stream_ *);
    int (*inflate_end)(z_stream_ *);
    void *(*br_new)(void *, void *, void *);
    int (*br_stream)(void *, size_t *, const uint8_t **, size_t *, uint8_t **, size_t *);
    void (*br_free)(void *);
    void *(*zstd_new)(void);
    size_t (*zstd_free)(void *);
    size_t (*zstd_stream)(void *, zstd_out *, zstd_in *);
    unsigned (*zstd_is_error)(size_t);
    int z, br, zstd;
    char accept[40];
} lib;
static ljh_once lib_once = LJH_ONCE_INIT;

/* dlsym returns void *: copied into the function pointer (ISO C has no
 * cast between the two) */
#define SYM(h, field, name)                           \
    do {                                              \
        void *p_ = ljh__os_dlsym((h), (name));        \
        memcpy(&lib.field, &p_, sizeof p_);           \
        ok = ok && p_ != NULL;                        \
    } while (0)

/* Each OS's file names for the libraries, most usual first: the system's
 * or the package manager's runtime name (Debian, Homebrew on arm64 and
 * x86_64, MacPorts, MSYS2, vcpkg), then the development name. */
#if defined(_WIN32)
static const char *const z_names[] = {"zlib1.dll", "libz.dll", "z.dll", NULL};
static const char *const br_names[] = {"libbrotlidec.dll", "brotlidec.dll", NULL};
static const char *const zstd_names[] = {"libzstd.dll", "zstd.dll", NULL};
#elif defined(__APPLE__)
#define MAC_LIB(n) n, "/opt/homebrew/lib/" n, "/usr/local/lib/" n, "/opt/local/lib/" n
static const char *const z_names[] = {"/usr/lib/libz.1.dylib", MAC_LIB("libz.1.dylib"), NULL};
static const char *const br_names[] = {MAC_LIB("libbrotlidec.1.dylib"), NULL};
static const char *const zstd_names[] = {MAC_LIB("libzstd.1.dylib"), NULL};
#else
static const char *const z_names[] = {"libz.so.1", "libz.so", NULL};
static const char *const br_names[] = {"libbrotlidec.so.1", "libbrotlidec.so", NULL};
static const char *const zstd_names[] = {"libzstd.so.1", "libzstd.so", NULL};
#endif

static void lib_load(void)
{
    curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
    int ok;
    if (v->features & CURL_VERSION_LIBZ) {
        void *h = ljh__os_dlopen(z_names);
        ok = 1;
        SYM(h, zlib_version, "zlibVersion");
        SYM(h, inflate_init2, "inflateInit2_");
        SYM(h, inflate, "inflate");
        SYM(h, inflate_reset, "inflateReset");
        SYM(h, inflate_end, "inflateEnd");
        lib.z = ok;
    }
    if (v->features & CURL_VERSION_BROTLI) {
        void *h = ljh__os_dlopen(br_names);
        ok = 1;
        SYM(h, br_new, "BrotliDecoderCreateInstance");
        SYM(h, br_stream, "BrotliDecoderDecompressStream");
        SYM(h, br_free, "BrotliDecoderDestroyInstance");
        lib.br = ok;
    }
    if (v->features & CURL_VERSION_ZSTD) {
        void *h = ljh__os_dlopen(zstd_names);
        ok = 1;
        SYM(h, zstd_new, "ZSTD_createDCtx");
        SYM(h, zstd_free, "ZSTD_freeDCtx");
        SYM(h, zstd_stream, "ZSTD_decompressStream");
        SYM(h, zstd_is_error, "ZSTD_isError");
        lib.zstd = ok;
    }
    ljh__msg(lib.accept, sizeof lib.accept, "%s%s%s", lib.z ? "gzip, deflate" : "",
             lib.br ? (lib.z ? ", br" : "br") : "",
             lib.zstd ? (lib.z || lib.br ? ", zstd" : "zstd") : "");
}

const char *ljh__decoding_accept(void)
{
    ljh__os_once(&lib_once, lib_load);
    return lib.accept[0] ? lib.accept : NULL;
}

/* ---- decoders ---- */

enum { ENC_GZIP, ENC_DEFLATE, ENC_BR, ENC_ZSTD };
static const char *const enc_names[] = {"gzip", "deflate", "br", "zstd"};
#define MAX_STEPS 4

typedef struct step {
    int enc;
    int ended;          /* the stream reached its end */
    int raw;            /* deflate without the zlib wrapper */
    int zinit;
    size_t used;        /* input consumed so far */
    unsigned char head[2]; /* deflate: the first bytes, replayed as raw */
    z_stream_ z;
    void *state;        /* brotli or zstd */
    char buf[16384];
} step;

struct ljh_decoder {
    int n;
    char why[128];
    step steps[];       /* in header order: the last is decoded first */
};

static ljh_error bad(ljh_decoder *d, const step *s, const char *what)
{
    ljh__msg(d->why, sizeof d->why, "the %s-encoded body %s", enc_names[s->enc], what);
    return LJH_E_PROTOCOL;
}

static int z_start(step *s)
{
    /* gzip: 15 + 32 also reads a zlib wrapper, as libcurl does */
    int bits = s->enc == ENC_GZIP ? 15 + 32 : s->raw ? -15 : 15;
    if (s->zinit)
        lib.inflate_end(&s->z);
    memset(&s->z, 0, sizeof s->z);
    s->zinit = lib.inflate_init2(&s->z, bits, lib.zlib_version(), (int)sizeof s->z) == Z_OK_;
    return s->zinit;
}

ljh_error ljh__decoder_new(const char *value, size_t len, ljh_decoder **out, const char **why)
{
    *out = NULL;
    ljh__os_once(&lib_once, lib_load);
    int encs[MAX_STEPS], n = 0;
    for (size_t i = 0; i < len;) {
        while (i < len && (value[i] == ' ' || value[i] == '\t' || value[i] == ','))
            i++;
        size_t start = i;
        while (i < len && value[i] != ',' && value[i] != ' ' && value[i] != '\t')
            i++;
        size_t wl = i - start;
        const char *w = value + start;
        if (wl == 0 || (wl == 8 && strncasecmp(w, "identity", 8) == 0))
            continue;
        int e = (wl == 4 && strncasecmp(w, "gzip", 4) == 0) || (wl == 6 && strncasecmp(w, "x-gzip", 6) == 0)
                    ? ENC_GZIP
                : wl == 7 && strncasecmp(w, "deflate", 7) == 0 ? ENC_DEFLATE
                : wl == 2 && strncasecmp(w, "br", 2) == 0      ? ENC_BR
                : wl == 4 && strncasecmp(w, "zstd", 4) == 0    ? ENC_ZSTD
                                                                : -1;
        int have = e == ENC_BR ? lib.br : e == ENC_ZSTD ? lib.zstd : e >= 0 ? lib.z : 0;
        if (!have || n == MAX_STEPS) {
            /* named in the message, which a decoder without steps holds */
            *why = "the response has a Content-Encoding ljhttp cannot decode";
            ljh_decoder *f = calloc(1, sizeof *f);
            if (f) {
                char shown[48];
                size_t k = 0;
                for (; k < wl && k < sizeof shown - 1; k++)
                    shown[k] = (w[k] > 0x20 && w[k] < 0x7f && w[k] != '"') ? w[k] : '?';
                shown[k] = '\0';
                if (n == MAX_STEPS)
                    ljh__msg(f->why, sizeof f->why,
                             "the response has more than %d Content-Encodings", MAX_STEPS);
                else
                    ljh__msg(f->why, sizeof f->why,
                             "the response has a Content-Encoding ljhttp cannot decode: \"%s\"",
                             shown);
                *out = f;
                *why = f->why;
            }
            return LJH_E_PROTOCOL;
        }
        encs[n++] = e;
    }
    if (n == 0)
        return LJH_OK;
    ljh_decoder *d = calloc(1, sizeof *d + (size_t)n * sizeof(step));
    if (!d)
        return LJH_E_OUT_OF_MEMORY;
    for (int i = 0; i < n; i++, d->n++) {
        step *s = &d->steps[i];
        s->enc = encs[i];
        int ok = s->enc == ENC_BR     ? (s->state = lib.br_new(NULL, NULL, NULL)) != NULL
                 : s->enc == ENC_ZSTD ? (s->state = lib.zstd_new()) != NULL
                                      : z_start(s);
        if (!ok) {
            ljh__decoder_free(d);
            return LJH_E_OUT_OF_MEMORY;
        }
    }
    *out = d;
    return LJH_OK;
}

static ljh_error feed(ljh_decoder *d, int i, const char *in, size_t n, ljh_decoded_fn sink,
                      void *ctx);

/* Decoded bytes of step i go on to the step before it, or to the sink. */
static ljh_error emit(ljh_decoder *d, int i, const char *p, size_t n, ljh_decoded_fn sink,
                      void *ctx)
{
    if (n == 0)
        return LJH_OK;
    return i == 0 ? sink(ctx, p, n) : feed(d, i - 1, p, n, sink, ctx);
}

static ljh_error z_feed(ljh_decoder *d, int i, const char *in, size_t n, ljh_decoded_fn sink,
                        void *ctx)
{
    step *s = &d->steps[i];
    for (;;) {
        if (s->ended) {
            if (n == 0)
                return LJH_OK;
            /* gzip -d reads concatenated members; deflate has one stream */
            if (s->enc != ENC_GZIP)
                return bad(d, s, "has data after the end of its stream");
            if (lib.inflate_reset(&s->z) != Z_OK_)
                return bad(d, s, "could not be decoded");
            s->ended = 0;
        }
        unsigned take = n > UINT_MAX / 2 ? UINT_MAX / 2 : (unsigned)n;
        for (size_t k = s->used; k < sizeof s->head && k - s->used < n; k++)
            s->head[k] = (unsigned char)in[k - s->used];
        s->z.next_in = (const unsigned char *)in;
        s->z.avail_in = take;
        s->z.next_out = (unsigned char *)s->buf;
        s->z.avail_out = sizeof s->buf;
        int rc = lib.inflate(&s->z, 0);
        size_t used = take - s->z.avail_in, got = sizeof s->buf - s->z.avail_out;
        if (rc < 0 && rc != Z_BUF_ERROR_ && s->enc == ENC_DEFLATE && !s->raw &&
            s->used <= sizeof s->head) {
            /* Some servers send raw deflate without the zlib wrapper: its
             * 2-byte header fails, and the bytes taken before this call
             * are all in head. Start again as raw deflate from there. */
            size_t again = s->used;
            s->raw = 1;
            s->used = 0;
            if (!z_start(s))
                return LJH_E_OUT_OF_MEMORY;
            ljh_error err = again ? z_feed(d, i, (const char *)s->head, again, sink, ctx) : LJH_OK;
            if (err)
                return err;
            continue;
        }
        if (rc != Z_OK_ && rc != Z_STREAM_END_ && rc != Z_BUF_ERROR_)
            return bad(d, s, "is not valid (corrupt or not that encoding)");
        s->used += used;
        in += used;
        n -= used;
        ljh_error err = emit(d, i, s->buf, got, sink, ctx);
        if (err)
            return err;
        if (rc == Z_STREAM_END_)
            s->ended = 1;
        else if (n == 0 && got < sizeof s->buf)
            return LJH_OK; /* all input taken, nothing more pending */
        else if (used == 0 && got == 0)
            return bad(d, s, "could not be decoded");
    }
}

static ljh_error br_feed(ljh_decoder *d, int i, const char *in, size_t n, ljh_decoded_fn sink,
                         void *ctx)
{
    step *s = &d->steps[i];
    const uint8_t *next_in = (const uint8_t *)in;
    size_t avail_in = n;
    while (avail_in > 0 || !s->ended) {
        if (s->ended)
            return bad(d, s, "has data after the end of its stream");
        uint8_t *next_out = (uint8_t *)s->buf;
        size_t avail_out = sizeof s->buf;
        int rc = lib.br_stream(s->state, &avail_in, &next_in, &avail_out, &next_out, NULL);
        if (rc == BR_ERROR)
            return bad(d, s, "is not valid (corrupt or not that encoding)");
        s->used = 1;
        ljh_error err = emit(d, i, s->buf, sizeof s->buf - avail_out, sink, ctx);
        if (err)
            return err;
        if (rc == BR_SUCCESS)
            s->ended = 1;
        else if (rc == BR_NEEDS_INPUT)
            return LJH_OK;
    }
    return LJH_OK;
}

static ljh_error zstd_feed(ljh_decoder *d, int i, const char *in, size_t n, ljh_decoded_fn sink,
                           void *ctx)
{
    step *s = &d->steps[i];
    zstd_in src = {in, n, 0};
    for (;;) {
        zstd_out dst = {s->buf, sizeof s->buf, 0};
        size_t before = src.pos;
        size_t rc = lib.zstd_stream(s->state, &dst, &src);
        if (lib.zstd_is_error(rc))
            return bad(d, s, "is not valid (corrupt or not that encoding)");
        s->used = 1;
        /* 0: a frame is complete and flushed; frames may follow (zstd -d).
         * A call that moved nothing (output drained) changes nothing. */
        if (rc == 0 || src.pos != before || dst.pos != 0)
            s->ended = rc == 0;
        ljh_error err = emit(d, i, s->buf, dst.pos, sink, ctx);
        if (err)
            return err;
        if (src.pos == src.size && dst.pos < dst.size)
            return LJH_OK;
    }
}

static ljh_error feed(ljh_decoder *d, int i, const char *in, size_t n, ljh_decoded_fn sink,
                      void *ctx)
{
    switch (d->steps[i].enc) {
    case ENC_BR:
        return br_feed(d, i, in, n, sink, ctx);
    case ENC_ZSTD:
        return zstd_feed(d, i, in, n, sink, ctx);
    default:
        return z_feed(d, i, in, n, sink, ctx);
    }
}

ljh_error ljh__decoder_feed(ljh_decoder *d, const char *in, size_t n, ljh_decoded_fn sink,
                            void *ctx)
{
    return d && n ? feed(d, d->n - 1, in, n, sink, ctx) : LJH_OK;
}

ljh_error ljh__decoder_finish(ljh_decoder *d)
{
    /* An empty body is empty: only a stream that began must end. */
    for (int i = d ? d->n - 1 : -1; i >= 0; i--)
        if (d->steps[i].used && !d->steps[i].ended)
            return bad(d, &d->steps[i], "ends before its compressed stream does (truncated)");
    return LJH_OK;
}

const char *ljh__decoder_why(const ljh_decoder *d)
{
    return d && d->why[0] ? d->why : "the response body could not be decoded";
}

void ljh__decoder_free(ljh_decoder *d)
{
    if (!d)
        return;
    for (int i = 0; i < d->n; i++) {
        step *s = &d->steps[i];
        if (s->enc == ENC_BR && s->state)
            lib.br_free(s->state);
        else if (s->enc == ENC_ZSTD && s->state)
            lib.zstd_free(s->state);
        else if (s->zinit)
            lib.inflate_end(&s->z);
    }
    free(d);
}
