/* json: JSON through cJSON.
 *
 * Decoding: the input is checked (UTF-8, no control bytes), cJSON parses
 * it, and the tree is flattened into a tape: one ljh_json_node per value
 * in document order, containers followed by their members (objects as
 * key, value, key, value...). Lua walks the tape in one compiled loop and
 * builds tables; no FFI call per value. Strings point into cJSON's tree,
 * which the document keeps until ljh_json_free.
 *
 * Encoding: Lua writes a tape of the same shape, pointing at its own
 * strings; C checks it, builds a cJSON tree that references those strings
 * (no copies) and prints it with cJSON. Numbers are formatted here, not by
 * cJSON, whose printer loses digits of integers above 2^31 (it accepts
 * "%1.15g" when that reads back within a relative epsilon). */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#if CJSON_VERSION_MAJOR != 1 || CJSON_VERSION_MINOR < 7 || \
    (CJSON_VERSION_MINOR == 7 && CJSON_VERSION_PATCH < 13)
#error "ljhttp needs cJSON >= 1.7.13 (cJSON_ParseWithLengthOpts, O(1) appends)"
#endif

typedef struct json_doc {
    ljh_json pub;
    cJSON *root;
    ljh_json_node *nodes;
    size_t n, cap;
} json_doc;

/* ---- byte checks shared by both directions ---- */

/* Offset of the first byte of s that is not part of valid UTF-8 (RFC 3629:
 * no overlongs, no surrogates, nothing above U+10FFFF) or, when ctl is
 * set, that is a control byte other than TAB, LF and CR. len when none.
 * *why says which. ASCII runs go eight bytes at a time. */
static size_t check_text(const unsigned char *s, size_t len, int ctl, const char **why)
{
    size_t i = 0;
    while (i < len) {
        if (i + 8 <= len) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            uint64_t low = ctl ? (w - 0x2020202020202020ULL) & ~w : 0;
            if (((w | low) & 0x8080808080808080ULL) == 0) {
                i += 8;
                continue;
            }
        }
        unsigned c = s[i];
        if (c < 0x80) {
            if (ctl && c < 0x20 && c != '\t' && c != '\n' && c != '\r') {
                *why = "control character";
                return i;
            }
            i++;
            continue;
        }
        size_t need;
        unsigned lo = 0x80, hi = 0xBF;
        if (c >= 0xC2 && c <= 0xDF) {
            need = 1;
        } else if (c >= 0xE0 && c <= 0xEF) {
            need = 2;
            if (c == 0xE0)
                lo = 0xA0;
            else if (c == 0xED)
                hi = 0x9F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            need = 3;
            if (c == 0xF0)
                lo = 0x90;
            else if (c == 0xF4)
                hi = 0x8F;
        } else {
            *why = "invalid UTF-8";
            return i;
        }
        if (len - i <= need) {
            *why = "invalid UTF-8";
            return i;
        }
        if (s[i + 1] < lo || s[i + 1] > hi) {
            *why = "invalid UTF-8";
            return i;
        }
        for (size_t k = 2; k <= need; k++)
            if ((s[i + k] & 0xC0) != 0x80) {
                *why = "invalid UTF-8";
                return i;
            }
        i += need + 1;
    }
    return len;
}

static int is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* ---- decoding ---- */

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
    size_t bad = check_text((const unsigned char *)s, len, 1, &why);
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

/* ---- encoding ---- */

typedef struct printer {
    const ljh_json_node *nodes;
    int32_t n;
    int32_t i;          /* next node */
    int32_t bad;        /* node the error is about, -1 = none */
    char *nums;         /* formatted numbers, referenced by raw items */
    size_t nums_len;
    char *errmsg;
    size_t errlen;
} printer;

/* Fills p->errmsg and returns NULL. */
static cJSON *pfail(printer *p, int32_t node, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static cJSON *pfail(printer *p, int32_t node, const char *fmt, ...)
{
    if (p->errmsg[0] == '\0') {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(p->errmsg, p->errlen, fmt, ap);
        va_end(ap);
        p->bad = node;
    }
    return NULL;
}

#define NUM_MAX 32 /* longest text fmt_number writes, NUL included */

/* JSON text of a finite double: integers up to 2^53 in plain digits,
 * anything else in the shortest of %.15g, %.16g, %.17g that reads back
 * exactly. Returns the length. */
static size_t fmt_number(double x, char *out)
{
    if (x == floor(x) && fabs(x) <= 9007199254740992.0) {
        char tmp[24];
        size_t n = 0;
        uint64_t u = (uint64_t)fabs(x);
        do {
            tmp[n++] = (char)('0' + u % 10);
            u /= 10;
        } while (u);
        size_t k = 0;
        if (signbit(x))
            out[k++] = '-';
        while (n)
            out[k++] = tmp[--n];
        out[k] = '\0';
        return k;
    }
    /* Few decimals (prices, coordinates): when r / 10^k == x for an
     * integer r below 2^53, the decimal text of r / 10^k reads back as x
     * (division and strtod both round the same exact value correctly);
     * the smallest such k gives the shortest text. */
    static const double pow10[] = {1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8};
    for (int k = 0; k < 8; k++) {
        double r = nearbyint(x * pow10[k]);
        if (fabs(r) >= 9007199254740992.0)
            break;
        if (r / pow10[k] != x)
            continue;
        char tmp[24];
        size_t n = 0, frac = (size_t)k + 1;
        uint64_t u = (uint64_t)fabs(r);
        while (u || n <= frac) {
            if (n == frac)
                tmp[n++] = '.';
            tmp[n++] = (char)('0' + u % 10);
            u /= 10;
        }
        size_t o = 0;
        if (signbit(x))
            out[o++] = '-';
        while (n)
            out[o++] = tmp[--n];
        out[o] = '\0';
        return o;
    }
    int len = 0;
    for (int prec = 15; prec <= 17; prec++) {
        len = snprintf(out, NUM_MAX, "%.*g", prec, x);
        if (prec == 17 || strtod(out, NULL) == x)
            break;
    }
    /* The locale may have written another decimal point. */
    for (int k = 0; k < len; k++) {
        char c = out[k];
        if (!((c >= '0' && c <= '9') || c == '-' || c == '+' || c == 'e' || c == '.'))
            out[k] = '.';
    }
    return (size_t)len;
}

/* A raw item whose text lives in the printer's number buffer. */
static cJSON *raw_ref(const char *text)
{
    cJSON *it = cJSON_CreateNull();
    if (it) {
        it->type = cJSON_Raw | cJSON_IsReference;
        it->valuestring = (char *)text;
    }
    return it;
}

/* A string with NUL bytes (cJSON's strings end at the first NUL), as a
 * raw item escaped here. */
static cJSON *string_with_nul(const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    if (len > ((size_t)INT32_MAX - 3) / 6)
        return NULL;
    char *buf = malloc(len * 6 + 3), *o = buf;
    if (!buf)
        return NULL;
    *o++ = '"';
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            *o++ = '\\';
            *o++ = (char)c;
        } else if (c < 0x20) {
            memcpy(o, "\\u00", 4);
            o[4] = hex[c >> 4];
            o[5] = hex[c & 15];
            o += 6;
        } else {
            *o++ = (char)c;
        }
    }
    *o++ = '"';
    *o = '\0';
    cJSON *it = cJSON_CreateRaw(buf);
    free(buf);
    return it;
}

static int is_int_text(const char *s, int32_t len)
{
    int32_t i = s[0] == '-' ? 1 : 0;
    if (i >= len || len > 40 || (s[i] == '0' && len > i + 1))
        return 0;
    for (; i < len; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

static cJSON *print_node(printer *p, int depth);

/* Checks the string node at; returns 1 when cJSON can take it by
 * reference (NUL-terminated at len, no NUL inside), 0 when it needs
 * string_with_nul, -1 (errmsg filled) when it cannot be encoded. */
static int check_string(printer *p, int32_t at, int key)
{
    const ljh_json_node *nd = &p->nodes[at];
    if (nd->len < 0 || !nd->str) {
        pfail(p, at, "malformed tape: bad string");
        return -1;
    }
    size_t len = (size_t)nd->len;
    const char *why = "";
    if (check_text((const unsigned char *)nd->str, len, 0, &why) < len) {
        pfail(p, at, "%s is not valid UTF-8", key ? "an object key" : "a string");
        return -1;
    }
    if (nd->str[len] == '\0' && !memchr(nd->str, '\0', len))
        return 1;
    if (key) {
        pfail(p, at, "an object key contains a NUL byte");
        return -1;
    }
    return 0;
}

static cJSON *print_string(printer *p, int32_t at)
{
    int plain = check_string(p, at, 0);
    if (plain < 0)
        return NULL;
    const ljh_json_node *nd = &p->nodes[at];
    cJSON *it = plain ? cJSON_CreateStringReference(nd->str)
                      : string_with_nul(nd->str, (size_t)nd->len);
    return it ? it : pfail(p, at, "out of memory");
}

static cJSON *print_node(printer *p, int depth)
{
    if (p->i >= p->n)
        return pfail(p, -1, "malformed tape: ends early");
    int32_t at = p->i++;
    const ljh_json_node *nd = &p->nodes[at];
    cJSON *it = NULL;
    switch (nd->type) {
    case LJH_JSON_NULL: it = cJSON_CreateNull(); break;
    case LJH_JSON_FALSE: it = cJSON_CreateFalse(); break;
    case LJH_JSON_TRUE: it = cJSON_CreateTrue(); break;
    case LJH_JSON_STRING: return print_string(p, at);
    case LJH_JSON_NUMBER: {
        if (!isfinite(nd->num))
            return pfail(p, at, "a number that is NaN or infinite");
        char *text = p->nums + p->nums_len;
        p->nums_len += fmt_number(nd->num, text) + 1;
        it = raw_ref(text);
        break;
    }
    case LJH_JSON_INTEGER_TEXT:
        if (!nd->str || !is_int_text(nd->str, nd->len))
            return pfail(p, at, "malformed tape: bad integer text");
        if (nd->len >= NUM_MAX)
            return pfail(p, at, "malformed tape: integer text too long");
        {
            char *text = p->nums + p->nums_len;
            memcpy(text, nd->str, (size_t)nd->len);
            text[nd->len] = '\0';
            p->nums_len += (size_t)nd->len + 1;
            it = raw_ref(text);
        }
        break;
    case LJH_JSON_ARRAY:
    case LJH_JSON_OBJECT: {
        if (depth >= LJH_JSON_MAX_DEPTH)
            return pfail(p, at, "nesting deeper than %d levels", LJH_JSON_MAX_DEPTH);
        if (nd->len < 0)
            return pfail(p, at, "malformed tape: negative member count");
        int obj = nd->type == LJH_JSON_OBJECT;
        it = obj ? cJSON_CreateObject() : cJSON_CreateArray();
        if (!it)
            return pfail(p, at, "out of memory");
        for (int32_t m = 0; m < nd->len; m++) {
            int32_t key_at = p->i;
            if (obj) {
                if (key_at >= p->n || p->nodes[key_at].type != LJH_JSON_STRING) {
                    cJSON_Delete(it);
                    return pfail(p, key_at, "malformed tape: object key is not a string");
                }
                p->i++;
                if (check_string(p, key_at, 1) < 0) {
                    cJSON_Delete(it);
                    return NULL;
                }
            }
            cJSON *child = print_node(p, depth + 1);
            if (!child) {
                cJSON_Delete(it);
                return NULL;
            }
            if (!(obj ? cJSON_AddItemToObjectCS(it, p->nodes[key_at].str, child)
                      : cJSON_AddItemToArray(it, child))) {
                cJSON_Delete(child);
                cJSON_Delete(it);
                return pfail(p, at, "out of memory");
            }
        }
        return it;
    }
    default: return pfail(p, at, "malformed tape: unknown node type %d", (int)nd->type);
    }
    return it ? it : pfail(p, at, "out of memory");
}

char *ljh_json_print(const ljh_json_node *nodes, int32_t n, size_t *len, int32_t *bad_node,
                     char *errmsg, int32_t errlen)
{
    char scratch[8];
    if (!errmsg || errlen <= 0) {
        errmsg = scratch;
        errlen = (int32_t)sizeof scratch;
    }
    errmsg[0] = '\0';
    if (len)
        *len = 0;
    if (bad_node)
        *bad_node = -1;
    printer p = {nodes, n, 0, -1, NULL, 0, errmsg, (size_t)errlen};
    if (!nodes || n <= 0) {
        ljh__msg(errmsg, (size_t)errlen, "malformed tape: no nodes");
        return NULL;
    }
    /* One buffer for every number's text, sized before any is written,
     * so the raw items' pointers never move; also the print estimate. */
    size_t n_nums = 0, estimate = 64;
    for (int32_t i = 0; i < n; i++) {
        int32_t t = nodes[i].type;
        if (t == LJH_JSON_NUMBER || t == LJH_JSON_INTEGER_TEXT)
            n_nums++;
        else if (t == LJH_JSON_STRING && nodes[i].len > 0)
            estimate += (size_t)nodes[i].len;
        estimate += 8;
    }
    estimate += n_nums * 12;
    p.nums = malloc(n_nums * NUM_MAX + 1);
    if (!p.nums) {
        ljh__msg(errmsg, (size_t)errlen, "out of memory");
        return NULL;
    }
    cJSON *root = print_node(&p, 0);
    char *out = NULL;
    if (root && p.i != n) {
        pfail(&p, p.i, "malformed tape: %d nodes left over", (int)(n - p.i));
    } else if (root) {
        out = cJSON_PrintBuffered(root, estimate > INT32_MAX ? INT32_MAX : (int)estimate, 0);
        if (!out)
            ljh__msg(errmsg, (size_t)errlen, "out of memory (or JSON text over 2 GiB)");
        else if (len)
            *len = strlen(out);
    }
    cJSON_Delete(root);
    free(p.nums);
    if (!out && bad_node)
        *bad_node = p.bad;
    return out;
}

void ljh_json_text_free(char *text)
{
    if (text)
        cJSON_free(text);
}
