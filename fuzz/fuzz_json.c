/* JSON decode and encode: ljh_json_parse on the input; a document that
 * parses has a well-formed tape (every container's members inside the
 * tape, strings NUL-terminated at their length), prints back with
 * ljh_json_print, and the printed text parses to the same tape. */
#include <math.h>
#include <string.h>

#include "internal.h"
#include "fuzz.h"

/* Walks the value at *i; returns 0 when the tape is malformed. */
static int walk(const ljh_json *j, int32_t *i, int depth)
{
    if (*i >= j->n_nodes || depth > LJH_JSON_MAX_DEPTH)
        return 0;
    const ljh_json_node *nd = &j->nodes[(*i)++];
    switch (nd->type) {
    case LJH_JSON_NULL:
    case LJH_JSON_FALSE:
    case LJH_JSON_TRUE: return 1;
    case LJH_JSON_NUMBER: return 1;
    case LJH_JSON_STRING: return nd->len >= 0 && nd->str && nd->str[nd->len] == '\0';
    case LJH_JSON_ARRAY:
    case LJH_JSON_OBJECT:
        if (nd->len < 0)
            return 0;
        for (int32_t m = 0; m < nd->len; m++) {
            if (nd->type == LJH_JSON_OBJECT) {
                if (*i >= j->n_nodes || j->nodes[*i].type != LJH_JSON_STRING || !walk(j, i, depth + 1))
                    return 0;
            }
            if (!walk(j, i, depth + 1))
                return 0;
        }
        return 1;
    default: return 0;
    }
}

static int same_tape(const ljh_json *a, const ljh_json *b)
{
    if (a->n_nodes != b->n_nodes)
        return 0;
    for (int32_t i = 0; i < a->n_nodes; i++) {
        const ljh_json_node *x = &a->nodes[i], *y = &b->nodes[i];
        if (x->type != y->type)
            return 0;
        if (x->type == LJH_JSON_NUMBER && !(x->num == y->num))
            return 0;
        if ((x->type == LJH_JSON_STRING || x->type >= LJH_JSON_ARRAY) && x->len != y->len)
            return 0;
        if (x->type == LJH_JSON_STRING && memcmp(x->str, y->str, (size_t)x->len) != 0)
            return 0;
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *in = fuzz_dup((const char *)data, size);
    ljh_json *j = ljh_json_parse(in, size);
    FUZZ_CHECK(j != NULL);
    FUZZ_CHECK(memchr(j->errmsg, '\0', sizeof j->errmsg) != NULL);
    if (j->error == LJH_OK) {
        FUZZ_CHECK(j->n_nodes > 0);
        int32_t i = 0;
        FUZZ_CHECK(walk(j, &i, 0) && i == j->n_nodes);
        int finite = 1, nul_key = 0;
        for (int32_t k = 0; k < j->n_nodes; k++) {
            const ljh_json_node *nd = &j->nodes[k];
            if (nd->type == LJH_JSON_NUMBER && !isfinite(nd->num))
                finite = 0;
            /* keys are C strings for cJSON's printer: "\u0000" in a key
             * decodes, but is refused on the way out (documented) */
            if (nd->type == LJH_JSON_STRING && memchr(nd->str, '\0', (size_t)nd->len))
                nul_key = 1;
        }
        size_t len = 0;
        int32_t bad = -2;
        char msg[128];
        char *text = ljh_json_print(j->nodes, j->n_nodes, &len, &bad, msg, sizeof msg);
        if (!finite || (nul_key && !text)) {
            /* 1e999 reads as infinity, which JSON cannot print */
            FUZZ_CHECK(text == NULL && bad >= 0);
        } else {
            if (!text)
                fprintf(stderr, "print failed: %s (node %d)\n", msg, bad);
            FUZZ_CHECK(text != NULL && strlen(text) == len);
            ljh_json *back = ljh_json_parse(text, len);
            FUZZ_CHECK(back && back->error == LJH_OK);
            FUZZ_CHECK(same_tape(j, back));
            ljh_json_free(back);
        }
        ljh_json_text_free(text);
    } else {
        FUZZ_CHECK(j->nodes == NULL && j->n_nodes == 0 && j->errmsg[0]);
    }
    ljh_json_free(j);
    free(in);
    return 0;
}
