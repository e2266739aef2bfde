/* collect: header lines as libcurl hands them over, keeping only the
 * final response's (status lines checked as Go reads them, names that
 * are not tokens dropped), the redirect chain and the buffers a transfer
 * keeps for its next request. response.c packs what is collected. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "decoding.h"

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* As Go reads it: "HTTP/" major ["." minor], one space, three digits
 * from 100 to 999, then a space or the end. libcurl 8 reads the status
 * of "HTTP/1.1 2000 OK" as 200; 7.88 refused it: ljhttp decides. */
static int status_line_ok(const char *s, size_t len)
{
    size_t i = 5;
    if (i >= len || !is_digit(s[i++]))
        return 0;
    if (i < len && s[i] == '.') {
        if (++i >= len || !is_digit(s[i++]))
            return 0;
    }
    if (i + 4 > len || s[i] != ' ' || s[i + 1] < '1' || s[i + 1] > '9' || !is_digit(s[i + 2]) ||
        !is_digit(s[i + 3]))
        return 0;
    i += 4;
    return i == len || s[i] == ' ';
}

void ljh__collect_reset_hop(ljh_collect *col)
{
    col->hdr_text.len = 0;
    col->hdr_refs.len = 0;
    col->body.len = 0;
    col->headers_done = 0;
    col->in_head = 0;
    col->in_trailers = 0;
}

ljh_error ljh__collect_header(ljh_collect *col, const char *line, size_t len)
{
    while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        len--;
    if (len == 0) {
        if (col->in_head) {
            /* A final (2xx-5xx) chunked answer: what follows its body is
             * trailers, never a new status line (a proxy's CONNECT answer
             * or a 1xx has no Transfer-Encoding). */
            size_t n;
            col->in_trailers = col->head_status >= 200 &&
                               ljh__collect_find(col, "transfer-encoding", &n) != NULL;
        }
        col->headers_done = 1;
        col->in_head = 0;
        return LJH_OK;
    }
    if (len >= 5 && memcmp(line, "HTTP/", 5) == 0 && !col->in_head && !col->in_trailers) {
        /* A new status line: whatever came before was a redirect or 1xx.
         * Inside a head it is an odd header line (dropped below), so a
         * server cannot make the headers before it disappear. */
        if (!status_line_ok(line, len)) {
            col->abort_why = "malformed HTTP status line (want HTTP/x.y and a 3-digit code)";
            return LJH_E_PROTOCOL;
        }
        if (++col->n_informational > LJH_MAX_INFORMATIONAL)
            return LJH_E_PROTOCOL;
        col->hdr_text.len = 0;
        col->hdr_refs.len = 0;
        col->headers_done = 0;
        col->in_head = 1;
        const char *sp = memchr(line, ' ', len);
        col->head_status = 0;
        for (size_t i = sp ? (size_t)(sp - line) + 1 : len; i < len && line[i] >= '0' && line[i] <= '9' &&
                                                           col->head_status < 1000; i++)
            col->head_status = col->head_status * 10 + (line[i] - '0');
        return LJH_OK;
    }
    if (col->headers_done)
        return LJH_OK; /* trailers after a chunked body: not kept */
    if (col->hdr_text.len + len > LJH_MAX_RESP_HEADER_BYTES)
        return LJH_E_TOO_LARGE;
    ljh_hdr_ref *refs = (ljh_hdr_ref *)col->hdr_refs.p;
    size_t n = col->hdr_refs.len / sizeof(ljh_hdr_ref);
    if (ljh__is_ows(line[0])) {
        /* obs-fold: continues the previous value after one space. */
        if (n == 0)
            return LJH_OK;
        while (len && ljh__is_ows(line[0])) {
            line++;
            len--;
        }
        while (len && ljh__is_ows(line[len - 1]))
            len--;
        if (len == 0)
            return LJH_OK;
        ljh_hdr_ref *last = &refs[n - 1];
        if (last->value_off + last->value_len + 1 != col->hdr_text.len)
            return LJH_E_INTERNAL;
        col->hdr_text.len--; /* drop the value's NUL, append " rest\0" */
        if (ljh__buf_append(&col->hdr_text, " ", 1) ||
            ljh__buf_append(&col->hdr_text, line, len) || ljh__buf_append(&col->hdr_text, "", 1))
            return LJH_E_OUT_OF_MEMORY;
        for (char *p = col->hdr_text.p + col->hdr_text.len - 1 - len; p < col->hdr_text.p + col->hdr_text.len - 1; p++)
            if (*p == '\r' || *p == '\0') /* as below */
                *p = ' ';
        last->value_len += len + 1;
        return LJH_OK;
    }
    const char *colon = memchr(line, ':', len);
    if (!colon || colon == line)
        return LJH_OK; /* not a header line: ignored, as libcurl does */
    if (n >= LJH_MAX_RESP_HEADERS)
        return LJH_E_TOO_LARGE;
    size_t nl = (size_t)(colon - line);
    while (nl && ljh__is_ows(line[nl - 1]))
        nl--;
    const char *v = colon + 1;
    size_t vl = len - (size_t)(v - line);
    while (vl && ljh__is_ows(*v)) {
        v++;
        vl--;
    }
    while (vl && ljh__is_ows(v[vl - 1]))
        vl--;
    /* "Name\0value\0" written in place: the name checked and made
     * canonical in one pass, the value copied with each CR or NUL made a
     * space (RFC 9110 5.5). Nothing counts until the ref is stored. */
    size_t at = col->hdr_text.len, end = at + nl + vl + 2;
    if (ljh__buf_reserve(&col->hdr_text, end))
        return LJH_E_OUT_OF_MEMORY;
    char *out = col->hdr_text.p + at;
    if (!ljh__canonical_token(line, nl, out))
        return LJH_OK; /* a name with a space, control or 8-bit byte: dropped */
    out[nl] = '\0';
    char *o = out + nl + 1;
    memcpy(o, v, vl);
    o[vl] = '\0';
    for (char *p = memchr(o, '\r', vl); p; p = memchr(p, '\r', (size_t)(o + vl - p)))
        *p = ' ';
    for (char *p = memchr(o, '\0', vl); p; p = memchr(p, '\0', (size_t)(o + vl - p)))
        *p = ' ';
    ljh_hdr_ref ref = {at, nl, at + nl + 1, vl};
    if (ljh__buf_append(&col->hdr_refs, &ref, sizeof ref))
        return LJH_E_OUT_OF_MEMORY;
    col->hdr_text.len = end;
    col->hdr_text.p[end] = '\0'; /* (reserve left room for it) */
    return LJH_OK;
}

ljh_error ljh__collect_decoder(const ljh_collect *col, struct ljh_decoder **out, const char **why)
{
    /* Repeated lines are one comma-separated list: "gzip" then "br" is
     * "gzip, br" (br decoded first). */
    char list[1024];
    size_t len = 0;
    const ljh_hdr_ref *refs = (const ljh_hdr_ref *)col->hdr_refs.p;
    size_t n = col->hdr_refs.len / sizeof(ljh_hdr_ref);
    *out = NULL;
    for (size_t i = 0; i < n; i++) {
        if (!ljh__header_is(col->hdr_text.p + refs[i].name_off, refs[i].name_len,
                            "content-encoding"))
            continue;
        if (len + 2 + refs[i].value_len > sizeof list) {
            *why = "the response's Content-Encoding list is too long to decode";
            return LJH_E_PROTOCOL;
        }
        if (len) {
            memcpy(list + len, ", ", 2);
            len += 2;
        }
        memcpy(list + len, col->hdr_text.p + refs[i].value_off, refs[i].value_len);
        len += refs[i].value_len;
    }
    return ljh__decoder_new(list, len, out, why);
}

const char *ljh__collect_find(const ljh_collect *col, const char *lower, size_t *len)
{
    const ljh_hdr_ref *refs = (const ljh_hdr_ref *)col->hdr_refs.p;
    size_t n = col->hdr_refs.len / sizeof(ljh_hdr_ref);
    for (size_t i = 0; i < n; i++) {
        if (ljh__header_is(col->hdr_text.p + refs[i].name_off, refs[i].name_len, lower)) {
            *len = refs[i].value_len;
            return col->hdr_text.p + refs[i].value_off;
        }
    }
    return NULL;
}

ljh_error ljh__collect_redirect(ljh_collect *col, const char *url, int status)
{
    size_t ul = strlen(url);
    ljh_hdr_ref ref = {col->redir_text.len, ul, (size_t)status, 0};
    if (ljh__buf_append(&col->redir_text, url, ul + 1) ||
        ljh__buf_append(&col->redir_refs, &ref, sizeof ref))
        return LJH_E_OUT_OF_MEMORY;
    return LJH_OK;
}

void ljh__collect_keep(ljh_collect *col)
{
    ljh__buf_free(&col->trace);
    ljh__buf_free(&col->redir_text);
    ljh__buf_free(&col->redir_refs);
    ljh_buf *keep[] = {&col->hdr_text, &col->hdr_refs, &col->body};
    for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++) {
        if (keep[i]->cap > LJH_COLLECT_KEEP)
            ljh__buf_free(keep[i]);
        else if (keep[i]->p)
            keep[i]->p[keep[i]->len = 0] = '\0';
    }
}

void ljh__collect_free(ljh_collect *col)
{
    ljh__buf_free(&col->trace);
    ljh__buf_free(&col->hdr_text);
    ljh__buf_free(&col->hdr_refs);
    ljh__buf_free(&col->body);
    ljh__buf_free(&col->redir_text);
    ljh__buf_free(&col->redir_refs);
}
