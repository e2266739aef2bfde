/* json_print: a tape to JSON text (ljh_json_print, ljh_json_text_free).
 *
 * Lua writes a tape of the shape json_parse.c builds, pointing at its own
 * strings; C checks it, builds a cJSON tree that references those strings
 * (no copies) and prints it with cJSON. Numbers are formatted here, not by
 * cJSON, whose printer loses digits of integers above 2^31 (it accepts
 * "%1.15g" when that reads back within a relative epsilon). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "json.h"
#include "num.h"

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

/* The digits of u, '-' first when neg, with a point before the last frac
 * of them (none when frac is 0; "0.05" for u 5, frac 2). Returns the
 * length. */
static size_t put_digits(uint64_t u, size_t frac, int neg, char *out)
{
    char tmp[24];
    size_t n = 0;
    do {
        if (frac && n == frac)
            tmp[n++] = '.';
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u || (frac && n <= frac));
    size_t o = 0;
    if (neg)
        out[o++] = '-';
    while (n)
        out[o++] = tmp[--n];
    out[o] = '\0';
    return o;
}

/* JSON text of a finite double: integers up to 2^53 in plain digits,
 * anything else in the shortest of %.15g, %.16g, %.17g that reads back
 * exactly. Returns the length. */
static size_t fmt_number(double x, char *out)
{
    if (x == ljh__floor(x) && fabs(x) <= 9007199254740992.0)
        return put_digits((uint64_t)fabs(x), 0, signbit(x), out);
    /* Few decimals (prices, coordinates): when r / 10^k == x for an
     * integer r below 2^53, the decimal text of r / 10^k reads back as x
     * (division and strtod both round the same exact value correctly);
     * the smallest such k gives the shortest text. */
    static const double pow10[] = {1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8};
    for (int k = 0; k < 8; k++) {
        double r = ljh__round_even(x * pow10[k]);
        if (fabs(r) >= 9007199254740992.0)
            break;
        if (r / pow10[k] != x)
            continue;
        return put_digits((uint64_t)fabs(r), (size_t)k + 1, signbit(x), out);
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
    if (ljh__json_check_text((const unsigned char *)nd->str, len, 0, &why) < len) {
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
