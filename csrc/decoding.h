/* decoding: Content-Encoding (gzip, deflate, br, zstd) decoded by ljhttp
 * itself for options.decompress, so that a compressed stream that does not
 * end (a truncated body with a matching Content-Length) is an error rather
 * than a short success: libcurl's decoders (7.88 and 8.x) never check. */
#ifndef LJHTTP_DECODING_H
#define LJHTTP_DECODING_H

#include <stddef.h>

#include "ljhttp.h"

typedef struct ljh_decoder ljh_decoder;

/* Where decoded bytes go: returns 0, or the error that stops decoding. */
typedef ljh_error (*ljh_decoded_fn)(void *ctx, const char *data, size_t n);

/* The Accept-Encoding value of what can be decoded here ("gzip, deflate,
 * br, zstd", as available), or NULL when nothing can. */
const char *ljh__decoding_accept(void);

/* A decoder for a Content-Encoding header value (a list is decoded last
 * first; repeated header lines are one list, see ljh__collect_decoder).
 * NULL value or "identity": *out = NULL and LJH_OK. An encoding that
 * cannot be decoded: LJH_E_PROTOCOL with why set, naming it (why then
 * points into *out, a decoder that decodes nothing: free it as any). */
ljh_error ljh__decoder_new(const char *value, size_t len, ljh_decoder **out, const char **why);
/* Decodes n bytes into sink. On error the reason is ljh__decoder_why. */
ljh_error ljh__decoder_feed(ljh_decoder *d, const char *in, size_t n, ljh_decoded_fn sink,
                            void *ctx);
/* At the end of the body: LJH_E_PROTOCOL when a stream did not end. */
ljh_error ljh__decoder_finish(ljh_decoder *d);
const char *ljh__decoder_why(const ljh_decoder *d);
void ljh__decoder_free(ljh_decoder *d);

#endif
