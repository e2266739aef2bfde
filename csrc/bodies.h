/* bodies: what a request sends or receives beyond a string in memory:
 * multipart forms, files uploaded from disk, bodies written to a file. */
#ifndef LJHTTP_BODIES_H
#define LJHTTP_BODIES_H

#include <curl/curl.h>
#include <stdint.h>

#include "ljhttp.h"

typedef struct ljh_bodies {
    char *output;       /* final path of an output file, or NULL */
    char *body_file;    /* path of a file to upload, or NULL */
    int n_parts;        /* multipart parts (copied), 0 = none */
} ljh_bodies;

ljh_error ljh__bodies_init(ljh_bodies *b, const ljh_request *req, char *errmsg, size_t errlen);
/* Per hop: sets upload/mime options on the easy handle. */
CURLcode ljh__bodies_apply(ljh_bodies *b, CURL *easy);
void ljh__bodies_free(ljh_bodies *b);

#endif
