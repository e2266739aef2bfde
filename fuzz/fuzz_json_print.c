/* JSON encode from an arbitrary tape: Lua builds tapes, but the printer
 * must stay inside the n nodes it is given whatever they say. The input
 * is a list of 3-byte node headers (type, length, string length) followed
 * by the bytes strings take. Whatever prints must parse back. */
#include <string.h>

#include "internal.h"
#include "json_body.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int32_t n = data[0] % 64;
    size_t at = 1;
    ljh_json_node *nodes = malloc(((size_t)n ? (size_t)n : 1) * sizeof *nodes);
    char *strs[64] = {0};
    int32_t k = 0;
    for (; k < n && at + 3 <= size; k++) {
        ljh_json_node *nd = &nodes[k];
        memset(nd, 0, sizeof *nd);
        nd->type = data[at] % 9 - (data[at] == 0xff ? 3 : 0);
        nd->len = (int8_t)data[at + 1];
        size_t sl = data[at + 2] % 32;
        at += 3;
        if (sl > size - at)
            sl = size - at;
        if (nd->type == LJH_JSON_NUMBER) {
            double d = 0;
            if (sl >= sizeof d)
                memcpy(&d, data + at, sizeof d);
            nd->num = d;
        }
        if (nd->type == LJH_JSON_STRING || nd->type == LJH_JSON_INTEGER_TEXT) {
            /* exactly sized, NUL at [sl] only when the length byte says so */
            strs[k] = malloc(sl + 1);
            memcpy(strs[k], data + at, sl);
            strs[k][sl] = (data[at - 2] & 0x80) ? 'x' : '\0';
            nd->str = strs[k];
            nd->len = (int32_t)sl;
        }
        at += sl;
    }
    size_t len = 0;
    int32_t bad = -2;
    char msg[64];
    char *text = ljh_json_print(nodes, k, &len, &bad, msg, sizeof msg);
    if (text) {
        FUZZ_CHECK(strlen(text) == len);
        ljh_json *back = ljh_json_parse(text, len);
        FUZZ_CHECK(back && back->error == LJH_OK);
        ljh_json_free(back);
        ljh_json_text_free(text);
    } else {
        FUZZ_CHECK(msg[0] && memchr(msg, '\0', sizeof msg));
        FUZZ_CHECK(bad >= -1 && bad <= k);
        /* the path a refused json = value body names (json_body.c) */
        char where[48];
        ljh__json_path(nodes, k, bad, where, sizeof where);
        FUZZ_CHECK(memchr(where, '\0', sizeof where) && (where[0] == '\0' || where[0] == '$'));
    }
    for (int32_t i = 0; i < 64; i++)
        free(strs[i]);
    free(nodes);
    return 0;
}
