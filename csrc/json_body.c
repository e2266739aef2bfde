/* json_body: a `json = value` request body. Lua hands C the value's tape
 * (ljh_request.json) once; json_print.c prints it and the plan keeps that
 * text as its body, so the JSON text never crosses back into Lua. A node
 * json_print.c refuses (a string that is not UTF-8, a NUL in a key) is
 * named by its path, as json.lua names what it refuses itself. */
#include <string.h>

#include "internal.h"
#include "json_body.h"

typedef struct frame {
    int32_t left;   /* members not yet started */
    int32_t index;  /* arrays: 1-based index of the current member */
    int32_t key;    /* objects: node of the current member's key */
    int obj;
    int want_key;   /* objects: the next node is a key */
} frame;

static void put_str(char *out, size_t cap, size_t *o, const char *s, size_t n)
{
    for (size_t i = 0; i < n && *o + 1 < cap; i++)
        out[(*o)++] = s[i];
    out[*o < cap ? *o : cap - 1] = '\0';
}

static int is_ident(const char *s, int32_t n)
{
    if (n <= 0 || (s[0] >= '0' && s[0] <= '9'))
        return 0;
    for (int32_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_'))
            return 0;
    }
    return 1;
}

/* ".name" or ["any text"], printable ASCII only. */
static void put_key(char *out, size_t cap, size_t *o, const ljh_json_node *k)
{
    if (k->type != LJH_JSON_STRING || !k->str || k->len < 0) {
        put_str(out, cap, o, "[?]", 3); /* a malformed tape's key */
        return;
    }
    if (is_ident(k->str, k->len)) {
        put_str(out, cap, o, ".", 1);
        put_str(out, cap, o, k->str, (size_t)k->len);
        return;
    }
    put_str(out, cap, o, "[\"", 2);
    for (int32_t i = 0; i < k->len && i < 40; i++) {
        unsigned char c = (unsigned char)k->str[i];
        char esc[8];
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            put_str(out, cap, o, esc, 2);
        } else if (c < 0x20 || c >= 0x7f) {
            ljh__msg(esc, sizeof esc, "\\%03u", c);
            put_str(out, cap, o, esc, strlen(esc));
        } else {
            put_str(out, cap, o, (const char *)&c, 1);
        }
    }
    put_str(out, cap, o, "\"]", 2);
}

static void put_path(char *out, size_t cap, const ljh_json_node *nodes, const frame *st, int sp,
                     int is_key)
{
    size_t o = 0;
    put_str(out, cap, &o, "$", 1);
    for (int k = 0; k < sp; k++) {
        if (st[k].obj) {
            put_key(out, cap, &o, &nodes[st[k].key]);
        } else {
            char idx[16];
            ljh__msg(idx, sizeof idx, "[%d]", (int)st[k].index);
            put_str(out, cap, &o, idx, strlen(idx));
        }
    }
    if (is_key)
        put_str(out, cap, &o, " (the key)", 10);
}

void ljh__json_path(const ljh_json_node *nodes, int32_t n, int32_t target, char *out, size_t cap)
{
    static _Thread_local frame st[LJH_JSON_MAX_DEPTH + 1];
    int sp = 0;
    if (cap)
        out[0] = '\0';
    for (int32_t i = 0; i < n && i <= target; i++) {
        frame *top = sp ? &st[sp - 1] : NULL;
        if (top && top->obj && top->want_key) {
            top->key = i;
            top->want_key = 0;
            if (i == target) {
                /* the key's own path is its member's, marked */
                put_path(out, cap, nodes, st, sp, 1);
                return;
            }
            continue;
        }
        if (top) {
            top->left--;
            top->index++;
        }
        if (i == target) {
            put_path(out, cap, nodes, st, sp, 0);
            return;
        }
        int32_t t = nodes[i].type;
        if ((t == LJH_JSON_ARRAY || t == LJH_JSON_OBJECT) && nodes[i].len > 0) {
            if (sp > LJH_JSON_MAX_DEPTH)
                return;
            st[sp++] = (frame){nodes[i].len, 0, -1, t == LJH_JSON_OBJECT, t == LJH_JSON_OBJECT};
            continue;
        }
        /* a value ended: so did every container whose last member it was */
        while (sp && st[sp - 1].left == 0)
            sp--;
        if (sp && st[sp - 1].obj)
            st[sp - 1].want_key = 1;
    }
}

ljh_error ljh__json_body(const ljh_request *req, char **text, size_t *len, char *errmsg,
                         size_t errlen)
{
    char why[128];
    int32_t bad = -1;
    *text = ljh_json_print(req->json, req->n_json, len, &bad, why, (int32_t)sizeof why);
    if (*text)
        return LJH_OK; /* cJSON's allocator is malloc: ljhttp sets no hooks */
    if (strncmp(why, "out of memory", 13) == 0) {
        ljh__msg(errmsg, errlen, "out of memory");
        return LJH_E_OUT_OF_MEMORY;
    }
    char where[160] = "";
    if (bad >= 0)
        ljh__json_path(req->json, req->n_json, bad, where, sizeof where);
    ljh__msg(errmsg, errlen, "cannot encode as JSON: %s%s%s%s", why, where[0] ? " (at " : "",
             where, where[0] ? ")" : "");
    return LJH_E_JSON;
}
