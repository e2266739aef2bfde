/* One final response head: "HTTP/1.1 200 OK", the input's lines (split
 * after each LF, empty lines left out so the head never ends early), then
 * the blank line. Whatever the lines say (status-like "HTTP/" lines, odd
 * names, folds), every line whose name is a token must be collected, and
 * nothing else: a server cannot hide headers or slip in malformed names. */
#include <string.h>

#include "internal.h"
#include "fuzz.h"

static int is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* The model: does this line (without its CR/LF) make one header? */
static int makes_header(const char *l, size_t n)
{
    if (n == 0 || is_ows(l[0]))
        return 0;
    const char *colon = memchr(l, ':', n);
    if (!colon)
        return 0;
    size_t nl = (size_t)(colon - l);
    while (nl && is_ows(l[nl - 1]))
        nl--;
    return ljh__is_token(l, nl);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ljh_collect col;
    memset(&col, 0, sizeof col);
    ljh_error err = ljh__collect_header(&col, "HTTP/1.1 200 OK\r\n", 17);
    size_t expect = 0, start = 0;
    for (size_t i = 0; i < size && err == LJH_OK; i++) {
        if (data[i] != '\n' && i + 1 < size)
            continue;
        size_t n = i + 1 - start;
        const char *line = (const char *)data + start;
        start = i + 1;
        size_t bare = n;
        while (bare && (line[bare - 1] == '\n' || line[bare - 1] == '\r'))
            bare--;
        if (bare == 0)
            continue; /* would end the head */
        char *copy = fuzz_dup(line, n);
        err = ljh__collect_header(&col, copy, n);
        free(copy);
        expect += (size_t)makes_header(line, bare);
    }
    if (err == LJH_OK)
        err = ljh__collect_header(&col, "\r\n", 2);
    FUZZ_CHECK(err == LJH_OK || err == LJH_E_TOO_LARGE);
    const ljh_hdr_ref *refs = (const ljh_hdr_ref *)col.hdr_refs.p;
    size_t got = col.hdr_refs.len / sizeof(ljh_hdr_ref);
    if (err == LJH_OK)
        FUZZ_CHECK(got == expect);
    for (size_t i = 0; i < got; i++) {
        FUZZ_CHECK(ljh__is_token(col.hdr_text.p + refs[i].name_off, refs[i].name_len));
        FUZZ_CHECK(col.hdr_text.p[refs[i].value_off + refs[i].value_len] == '\0');
    }
    ljh__collect_free(&col);
    return 0;
}
