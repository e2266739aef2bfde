/* Response headers and Set-Cookie: lines from the input (split after each
 * LF, as libcurl's header callback hands them over) go through
 * ljh__collect_header, some become redirect hops, and the result is packed
 * by ljh__response_pack with a real (idle) easy handle. The packed headers
 * and cookies are checked for shape. */
#include <string.h>

#include "internal.h"
#include "fuzz.h"

static CURL *easy;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!easy) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        easy = curl_easy_init();
    }
    ljh_collect col;
    memset(&col, 0, sizeof col);
    ljh_error err = LJH_OK;
    size_t start = 0;
    int lines = 0;
    for (size_t i = 0; i <= size && err == LJH_OK; i++) {
        if (i < size && data[i] != '\n')
            continue;
        size_t n = (i < size ? i + 1 : i) - start;
        if (n == 0)
            break;
        char *line = fuzz_dup((const char *)data + start, n);
        /* a line starting with 0x01 is a redirect hop instead */
        if (line[0] == 0x01) {
            char *url = malloc(n + 1);
            memcpy(url, line, n);
            url[n] = '\0';
            err = ljh__collect_redirect(&col, url + 1, 302);
            ljh__collect_reset_hop(&col);
            free(url);
        } else {
            err = ljh__collect_header(&col, line, n);
        }
        free(line);
        start = i + 1;
        lines++;
    }
    FUZZ_CHECK(err == LJH_OK || err == LJH_E_TOO_LARGE || err == LJH_E_PROTOCOL);
    FUZZ_CHECK(col.hdr_refs.len / sizeof(ljh_hdr_ref) <= LJH_MAX_RESP_HEADERS);
    FUZZ_CHECK(col.hdr_text.len <= LJH_MAX_RESP_HEADER_BYTES + 2 * LJH_MAX_RESP_HEADERS + 2);
    size_t len = 0;
    const char *v = ljh__collect_find(&col, "set-cookie", &len);
    if (v)
        FUZZ_CHECK(v[len] == '\0');
    ljh__collect_find(&col, "location", &len);
    if (err == LJH_OK) {
        /* some body bytes, as write_cb would have collected */
        ljh__buf_append(&col.body, data, size < 64 ? size : 64);
        ljh_response *r = ljh__response_pack(&col, easy);
        FUZZ_CHECK(r != NULL);
        FUZZ_CHECK(r->body && r->body[r->body_len] == '\0');
        for (int32_t i = 0; i < r->n_headers; i++) {
            const ljh_kv *h = &r->headers[i];
            FUZZ_CHECK(h->name_len >= 0 && h->value_len >= 0);
            FUZZ_CHECK(h->name[h->name_len] == '\0' && h->value[h->value_len] == '\0');
            FUZZ_CHECK(h->name_len > 0 && !memchr(h->name, ':', (size_t)h->name_len));
        }
        FUZZ_CHECK(r->n_cookies >= 0 && r->n_cookies <= r->n_headers);
        for (int32_t i = 0; i < r->n_cookies; i++) {
            const ljh_kv *c = &r->cookies[i];
            FUZZ_CHECK(ljh__is_token(c->name, (size_t)c->name_len));
            FUZZ_CHECK(c->name[c->name_len] == '\0' && c->value[c->value_len] == '\0');
            FUZZ_CHECK(!memchr(c->value, ';', (size_t)c->value_len));
        }
        for (int32_t i = 0; i < r->n_redirects; i++)
            FUZZ_CHECK(r->redirects[i].url[r->redirects[i].url_len] == '\0');
        ljh__response_finish(r, &col, 0);
        ljh_response_free(r);
    }
    ljh__collect_free(&col);
    (void)lines;
    return 0;
}
