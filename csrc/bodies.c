/* bodies: multipart, file uploads and downloads to files. */
#include <string.h>

#include "internal.h"

ljh_error ljh__bodies_init(ljh_bodies *b, const ljh_request *req, char *errmsg, size_t errlen)
{
    memset(b, 0, sizeof *b);
    if (req->output.ptr || req->body_file.ptr || req->n_parts) {
        ljh__msg(errmsg, errlen, "output, body_file and multipart are not supported yet");
        return LJH_E_INVALID_ARGUMENT;
    }
    return LJH_OK;
}

CURLcode ljh__bodies_apply(ljh_bodies *b, CURL *easy)
{
    (void)b;
    (void)easy;
    return CURLE_OK;
}

void ljh__bodies_free(ljh_bodies *b)
{
    memset(b, 0, sizeof *b);
}
