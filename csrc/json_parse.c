/* json_parse: JSON text to a tape (ljh_json_parse, ljh_json_free).
 *
 * The input is checked (UTF-8, no control bytes), cJSON parses it, and
 * the tree is flattened into a tape: one ljh_json_node per value in
 * document order, containers followed by their members (objects as key,
 * value, key, value...). Lua walks the tape in one compiled loop and
 * builds tables; no FFI call per value. Strings point into cJSON's tree,
 * which the document keeps until ljh_json_free. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "json.h"

typedef struct json_doc {
    ljh_json pub;
    cJSON *root;
    ljh_json_node *nodes;
    size_t n, cap;
} json_doc;

static int is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static ljh_json *doc_fail(json_doc *d, ljh_error code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static ljh_json *doc_fail(json_doc *d, ljh_error code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->pub.errmsg, sizeof d->pub.errmsg, fmt, ap);
    va_end(ap);
    d->pub.error = (int32_t)code;
    d->pub.nodes = NULL;
    d->pub.n_nodes = 0;
    return &d->pub;
}

static ljh_json_node *tape_add(json_doc *d)
{
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 64;
        if (cap > (size_t)INT32_MAX)
            cap = (size_t)INT32_MAX;
        if (d->n >= cap)
            return NULL;
        ljh_json_node *p = realloc(d->nodes, cap * sizeof *p);
        if (!p)
            return NULL;
        d->nodes = p;
        d->cap = cap;
    }
    return &d->nodes[d->n++];
}

static ljh_error add_string(json_doc *d, const char *s)
{
    ljh_json_node *nd = tape_add(d);
    if (!nd)
        return d->n >= (size_t)INT32_MAX ? LJH_E_TOO_LARGE : LJH_E_OUT_OF_MEMORY;
    size_t len = strlen(s);
    if (len > (size_t)INT32_MAX)
        return LJH_E_TOO_LARGE;
    nd->str = s;
    nd->num = 0;
    nd->len = (int32_t)len;
    nd->type = LJH_JSON_STRING;
    return LJH_OK;
}

/* Appends the nodes of item; depth counts the containers around it. */
static ljh_error flatten(json_doc *d, const cJSON *item, int depth)
{
    int type = item->type & 0xFF;
    if (type == cJSON_String)
        return add_string(d, item->valuestring ? item->valuestring : "");
    ljh_json_node *nd = tape_add(d);
    if (!nd)
        return d->n >= (size_t)INT32_MAX ? LJH_E_TOO_LARGE : LJH_E_OUT_OF_MEMORY;
    nd->str = NULL;
    nd->num = 0;
    nd->len = 0;
    switch (type) {
    case cJSON_NULL: nd->type = LJH_JSON_NULL; return LJH_OK;
    case cJSON_False: nd->type = LJH_JSON_FALSE; return LJH_OK;
    case cJSON_True: nd->type = LJH_JSON_TRUE; return LJH_OK;
    case cJSON_Number:
        nd->type = LJH_JSON_NUMBER;
        nd->num = item->valuedouble;
        return LJH_OK;
    case cJSON_Array:
    case cJSON_Object: break;
    default: return LJH_E_INTERNAL;
    }
    if (depth >= LJH_JSON_MAX_DEPTH)
        return LJH_E_INVALID_ARGUMENT;
    int obj = type == cJSON_Object;
    size_t at = d->n - 1;
    nd->type = obj ? LJH_JSON_OBJECT : LJH_JSON_ARRAY;
    int32_t count = 0;
    for (const cJSON *c = item->child; c; c = c->next) {
        ljh_error err;
        if (obj && (err = add_string(d, c->string ? c->string : "")) != LJH_OK)
            return err;
        if ((err = flatten(d, c, depth + 1)) != LJH_OK)
            return err;
        if (count == INT32_MAX)
            return LJH_E_TOO_LARGE;
        count++;
    }
    d->nodes[at].len = count;
    return LJH_OK;
}

/* Only asked after cJSON failed, to say why: how deep containers nest
 * before offset end, and whether the document just stops (containers or a
 * string still open at the end). */
static void scan_structure(const char *s, size_t end, int *max_depth, int *open_at_end)
{
    int depth = 0, in_str = 0;
    *max_depth = 0;
    for (size_t i = 0; i < end; i++) {
        char c = s[i];
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = 0;
        } else if (c == '"') {
            in_str = 1;
        } else if (c == '[' || c == '{') {
            if (++depth > *max_depth)
                *max_depth = depth;
        } else if (c == ']' || c == '}') {
            depth--;
        }
    }
    *open_at_end = in_str || depth > 0;
}

static int hex4(const char *p, unsigned *out)
{
    unsigned v = 0;
    for (int k = 0; k < 4; k++) {
        char c = p[k];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

/* cJSON reads a \u escape with bad hex digits ("\uZZZZ") as U+0000
 * instead of failing, so every \u escape is checked here first. Outside
 * strings a backslash is a syntax error anyway, and inside them escapes
 * pair up from the left. Returns the offset of the first bad escape, or
 * len; *has_nul tells whether some escape is \u0000. */
static size_t check_escapes(const char *s, size_t len, int *has_nul)
{
    *has_nul = 0;
    const char *p = s, *end = s + len;
    while ((p = memchr(p, '\\', (size_t)(end - p))) != NULL) {
        if (p + 1 >= end)
            return len; /* cJSON reports the truncation */
        if (p[1] != 'u') {
            p += 2;
            continue;
        }
        unsigned cp;
        if (end - p < 6 || hex4(p + 2, &cp))
            return (size_t)(p - s);
        if (cp == 0)
            *has_nul = 1;
        p += 6;
    }
    return len;
}

/* cJSON keeps strings NUL-terminated and has no length, so a string
 * holding \u0000 would look cut short. Only then (check_escapes saw a
 * \u0000), the decoded length of every string is computed from the
 * source: cJSON already validated it, and strings appear in the source in
 * tape order. */
static ljh_error fix_lengths(json_doc *d, const char *s, size_t len)
{
    size_t i = 0;
    for (size_t k = 0; k < d->n; k++) {
        if (d->nodes[k].type != LJH_JSON_STRING)
            continue;
        while (i < len && s[i] != '"')
            i++; /* outside strings a quote can only open one */
        if (i >= len)
            return LJH_E_INTERNAL;
        i++;
        size_t out = 0;
        while (i < len && s[i] != '"') {
            if (s[i] != '\\') {
                i++;
                out++;
                continue;
            }
            if (i + 1 >= len)
                return LJH_E_INTERNAL;
            if (s[i + 1] != 'u') {
                i += 2;
                out++;
                continue;
            }
            unsigned cp;
            if (i + 6 > len || hex4(s + i + 2, &cp))
                return LJH_E_INTERNAL;
            i += 6;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                i += 6; /* cJSON checked the low half that follows */
                out += 4;
            } else {
                out += cp < 0x80 ? 1 : cp < 0x800 ? 2 : 3;
            }
        }
        if (i >= len || out > (size_t)INT32_MAX)
            return LJH_E_INTERNAL;
        i++;
        d->nodes[k].len = (int32_t)out;
    }
    return LJH_OK;
}

ljh_json *ljh_json_parse(const char *s, size_t len)
{
    json_doc *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    if (!s) {
        s = "";
        len = 0;
    }
    const char *why = "";
    size_t bad = ljh__json_check_text((const unsigned char *)s, len, 1, &why);
    if (bad < len)
        return doc_fail(d, LJH_E_INVALID_ARGUMENT, "invalid JSON: %s at byte %zu", why, bad + 1);
    size_t k = 0;
    while (k < len && is_ws(s[k]))
        k++;
    if (k == len)
        return doc_fail(d, LJH_E_INVALID_ARGUMENT, "invalid JSON: empty document");
    int has_nul = 0;
    bad = check_escapes(s, len, &has_nul);
    if (bad < len)
        return doc_fail(d, LJH_E_INVALID_ARGUMENT, "invalid JSON: bad \\u escape at byte %zu",
                        bad + 1);
    const char *end = NULL;
    /* cJSON allocates with its process-wide hooks, which belong to the
     * host program: ljhttp never changes them. */
    d->root = cJSON_ParseWithLengthOpts(s, len, &end, 0);
    if (!d->root) {
        size_t at = end && end >= s && end <= s + len ? (size_t)(end - s) : 0;
        int max_depth, open_at_end;
        scan_structure(s, at < len ? at + 1 : len, &max_depth, &open_at_end);
        if (max_depth > LJH_JSON_MAX_DEPTH)
            return doc_fail(d, LJH_E_INVALID_ARGUMENT,
                            "invalid JSON: nesting deeper than %d levels", LJH_JSON_MAX_DEPTH);
        if (at + 1 >= len) {
            scan_structure(s, len, &max_depth, &open_at_end);
            if (open_at_end)
                return doc_fail(d, LJH_E_INVALID_ARGUMENT,
                                "invalid JSON: unexpected end of the document (byte %zu)", len);
        }
        return doc_fail(d, LJH_E_INVALID_ARGUMENT, "invalid JSON: syntax error at byte %zu", at + 1);
    }
    size_t at = (size_t)(end - s);
    while (at < len && is_ws(s[at]))
        at++;
    if (at < len)
        return doc_fail(d, LJH_E_INVALID_ARGUMENT,
                        "invalid JSON: unexpected data after the value at byte %zu", at + 1);
    d->cap = len / 8 + 16;
    if (d->cap > (size_t)INT32_MAX)
        d->cap = (size_t)INT32_MAX;
    d->nodes = malloc(d->cap * sizeof *d->nodes);
    if (!d->nodes)
        return doc_fail(d, LJH_E_OUT_OF_MEMORY, "out of memory");
    ljh_error err = flatten(d, d->root, 0);
    if (err == LJH_OK && has_nul)
        err = fix_lengths(d, s, len);
    switch (err) {
    case LJH_OK: break;
    case LJH_E_INVALID_ARGUMENT:
        return doc_fail(d, err, "invalid JSON: nesting deeper than %d levels", LJH_JSON_MAX_DEPTH);
    case LJH_E_TOO_LARGE: return doc_fail(d, err, "JSON document too large (over 2^31 values)");
    case LJH_E_OUT_OF_MEMORY: return doc_fail(d, err, "out of memory");
    default: return doc_fail(d, err, "internal error while reading JSON");
    }
    d->pub.nodes = d->nodes;
    d->pub.n_nodes = (int32_t)d->n;
    return &d->pub;
}

void ljh_json_free(ljh_json *j)
{
    if (!j)
        return;
    json_doc *d = (json_doc *)j;
    cJSON_Delete(d->root);
    free(d->nodes);
    free(d);
}
