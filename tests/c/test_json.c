/* Tests for json_parse.c and json_print.c: the tape ljh_json_parse builds
 * with cJSON (types, order, counts, byte-exact strings, every error),
 * ljh_json_print (tape -> text through cJSON), the allocation arena, and
 * the response hook for LJH_F_DECODE_JSON. */
#include <criterion/criterion.h>

#include <cjson/cJSON.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static ljh_json *parse(const char *s)
{
    ljh_json *j = ljh_json_parse(s, strlen(s));
    cr_assert_not_null(j);
    return j;
}

/* Parses s, which must fail, and returns a copy of the message. */
static char *parse_error(const char *s, size_t len)
{
    ljh_json *j = ljh_json_parse(s, len);
    cr_assert_not_null(j);
    cr_assert_neq(j->error, LJH_OK, "\"%.*s\" parsed", (int)(len > 60 ? 60 : len), s);
    cr_expect_eq(j->n_nodes, 0);
    cr_expect_null(j->nodes);
    char *msg = strdup(j->errmsg);
    ljh_json_free(j);
    return msg;
}

static void expect_error(const char *s, const char *part)
{
    char *msg = parse_error(s, strlen(s));
    cr_expect(strstr(msg, part) != NULL, "\"%s\": message \"%s\" lacks \"%s\"", s, msg, part);
    free(msg);
}

static void expect_node(const ljh_json *j, int i, int type, int32_t len)
{
    cr_assert_lt(i, j->n_nodes);
    cr_expect_eq(j->nodes[i].type, type, "node %d type", i);
    if (type == LJH_JSON_STRING || type == LJH_JSON_ARRAY || type == LJH_JSON_OBJECT)
        cr_expect_eq(j->nodes[i].len, len, "node %d len", i);
}

static void expect_string(const ljh_json *j, int i, const char *bytes, size_t len)
{
    expect_node(j, i, LJH_JSON_STRING, (int32_t)len);
    cr_expect_eq(memcmp(j->nodes[i].str, bytes, len), 0, "node %d bytes", i);
    cr_expect_eq(j->nodes[i].str[len], '\0', "node %d NUL-terminated", i);
}

/* ---- parse: shape ---- */

Test(json_parse, scalars_at_top_level)
{
    ljh_json *j = parse("12");
    cr_assert_eq(j->error, LJH_OK);
    cr_assert_eq(j->n_nodes, 1);
    expect_node(j, 0, LJH_JSON_NUMBER, 0);
    cr_expect_eq(j->nodes[0].num, 12.0);
    ljh_json_free(j);

    j = parse(" \"x\" ");
    cr_assert_eq(j->n_nodes, 1);
    expect_string(j, 0, "x", 1);
    ljh_json_free(j);

    const char *lits[] = {"null", "true", "false"};
    int types[] = {LJH_JSON_NULL, LJH_JSON_TRUE, LJH_JSON_FALSE};
    for (int k = 0; k < 3; k++) {
        j = parse(lits[k]);
        cr_assert_eq(j->n_nodes, 1);
        expect_node(j, 0, types[k], 0);
        ljh_json_free(j);
    }
}

Test(json_parse, document_order_and_counts)
{
    ljh_json *j = parse("{\"a\":[1,true,null],\"b\":{},\"c\":[],\"d\":\"s\"}");
    cr_assert_eq(j->error, LJH_OK, "%s", j->errmsg);
    cr_assert_eq(j->n_nodes, 12);
    expect_node(j, 0, LJH_JSON_OBJECT, 4);
    expect_string(j, 1, "a", 1);
    expect_node(j, 2, LJH_JSON_ARRAY, 3);
    expect_node(j, 3, LJH_JSON_NUMBER, 0);
    cr_expect_eq(j->nodes[3].num, 1.0);
    expect_node(j, 4, LJH_JSON_TRUE, 0);
    expect_node(j, 5, LJH_JSON_NULL, 0);
    expect_string(j, 6, "b", 1);
    expect_node(j, 7, LJH_JSON_OBJECT, 0);
    expect_string(j, 8, "c", 1);
    expect_node(j, 9, LJH_JSON_ARRAY, 0);
    expect_string(j, 10, "d", 1);
    expect_string(j, 11, "s", 1);
    ljh_json_free(j);
}

Test(json_parse, duplicate_keys_kept_in_order)
{
    ljh_json *j = parse("{\"k\":1,\"k\":2}");
    cr_assert_eq(j->n_nodes, 5);
    expect_node(j, 0, LJH_JSON_OBJECT, 2);
    cr_expect_eq(j->nodes[2].num, 1.0);
    cr_expect_eq(j->nodes[4].num, 2.0);
    ljh_json_free(j);
}

Test(json_parse, numbers)
{
    ljh_json *j = parse("[0,-0,12,-7,1.5,1e3,2E-2,9007199254740993,1e400,-1e400,1e-400]");
    cr_assert_eq(j->error, LJH_OK, "%s", j->errmsg);
    cr_assert_eq(j->n_nodes, 12);
    cr_expect_eq(j->nodes[1].num, 0.0);
    cr_expect_eq(j->nodes[2].num, 0.0);
    cr_expect(signbit(j->nodes[2].num), "-0 keeps its sign");
    cr_expect_eq(j->nodes[3].num, 12.0);
    cr_expect_eq(j->nodes[4].num, -7.0);
    cr_expect_eq(j->nodes[5].num, 1.5);
    cr_expect_eq(j->nodes[6].num, 1000.0);
    cr_expect_eq(j->nodes[7].num, 0.02);
    cr_expect_eq(j->nodes[8].num, 9007199254740992.0, "beyond 2^53: the nearest double");
    cr_expect(isinf(j->nodes[9].num) && j->nodes[9].num > 0, "1e400 is +inf");
    cr_expect(isinf(j->nodes[10].num) && j->nodes[10].num < 0, "-1e400 is -inf");
    cr_expect_eq(j->nodes[11].num, 0.0);
    ljh_json_free(j);
}

/* ---- parse: strings ---- */

Test(json_parse, escapes_and_utf8_pass_through)
{
    ljh_json *j = parse("[\"\\\"\\\\\\/\\b\\f\\n\\r\\t\",\"caf\xc3\xa9 \xe2\x9c\x93\",\"\\u00e9\\u2713\"]");
    cr_assert_eq(j->error, LJH_OK, "%s", j->errmsg);
    expect_string(j, 1, "\"\\/\b\f\n\r\t", 8);
    expect_string(j, 2, "caf\xc3\xa9 \xe2\x9c\x93", 9);
    expect_string(j, 3, "\xc3\xa9\xe2\x9c\x93", 5);
    ljh_json_free(j);
}

Test(json_parse, surrogate_pairs)
{
    ljh_json *j = parse("\"\\ud83d\\ude00 \\uD834\\uDD1E\"");
    cr_assert_eq(j->error, LJH_OK, "%s", j->errmsg);
    expect_string(j, 0, "\xf0\x9f\x98\x80 \xf0\x9d\x84\x9e", 9);
    ljh_json_free(j);
    expect_error("\"\\ud83d\"", "syntax error");
    expect_error("\"\\ude00\"", "syntax error");
    expect_error("\"\\ud83d\\u0041\"", "syntax error");
    expect_error("\"\\uZZZZ\"", "bad \\u escape at byte 2");
    expect_error("[\"\\u12\"]", "bad \\u escape at byte 3");
    expect_error("\"\\\\\\u00G0\"", "bad \\u escape at byte 4");
    j = parse("\"C:\\\\users\"");   /* an escaped backslash, then "users" */
    cr_expect_eq(j->error, LJH_OK, "%s", j->errmsg);
    expect_string(j, 0, "C:\\users", 8);
    ljh_json_free(j);
}

Test(json_parse, nul_escapes_keep_the_full_length)
{
    ljh_json *j = parse("{\"k\\u0000ey\":\"a\\u0000b\",\"x\":[\"\\u00e9\\u0000\\ud83d\\ude00\\n\",\"\"]}");
    cr_assert_eq(j->error, LJH_OK, "%s", j->errmsg);
    cr_assert_eq(j->n_nodes, 7);
    expect_string(j, 1, "k\0ey", 4);
    expect_string(j, 2, "a\0b", 3);
    expect_string(j, 3, "x", 1);
    expect_string(j, 5, "\xc3\xa9\0\xf0\x9f\x98\x80\n", 8);
    expect_string(j, 6, "", 0);
    ljh_json_free(j);
}

/* ---- parse: errors ---- */

Test(json_parse, invalid_utf8_is_an_error)
{
    expect_error("\"\xff\"", "invalid UTF-8 at byte 2");
    expect_error("\"\xc3\"", "invalid UTF-8");
    expect_error("\"\xc0\xaf\"", "invalid UTF-8");          /* overlong */
    expect_error("\"\xed\xa0\x80\"", "invalid UTF-8");      /* surrogate */
    expect_error("\"\xf4\x90\x80\x80\"", "invalid UTF-8");  /* above U+10FFFF */
    expect_error("[\"ok\",\"\xe2\x9c\"]", "invalid UTF-8 at byte 8");
    ljh_json *j = parse("\"\xf4\x8f\xbf\xbf\"");              /* U+10FFFF is fine */
    cr_expect_eq(j->error, LJH_OK);
    ljh_json_free(j);
}

Test(json_parse, control_bytes_are_an_error)
{
    expect_error("\x01[1]", "control character at byte 1");
    expect_error("[1,\"a\x1f\"]", "control character");
    char *msg = parse_error("[1,\0 2]", 7);
    cr_expect(strstr(msg, "control character at byte 4") != NULL, "%s", msg);
    free(msg);
    ljh_json *j = parse("\t[\r\n1 ]\n"); /* whitespace is fine */
    cr_expect_eq(j->error, LJH_OK);
    ljh_json_free(j);
}

Test(json_parse, syntax_errors)
{
    expect_error("", "empty document");
    expect_error(" \n\t", "empty document");
    expect_error("[1,]", "syntax error");
    expect_error("{\"a\":1,}", "syntax error");
    expect_error("[1 2]", "syntax error at byte 4");
    expect_error("{a:1}", "syntax error");
    expect_error("[nul]", "syntax error");
    expect_error("'x'", "syntax error");
    expect_error("NaN", "syntax error");
    expect_error("\"\\x\"", "syntax error");
    expect_error("[1] x", "unexpected data after the value at byte 5");
    expect_error("{} {}", "unexpected data after the value");
}

Test(json_parse, truncated_documents)
{
    const char *doc = "{\"a\":[1,{\"b\":\"text\"},true],\"c\":null}";
    size_t len = strlen(doc);
    for (size_t n = 1; n < len; n++) {
        char *msg = parse_error(doc, n);
        free(msg);
    }
    expect_error("[1,", "unexpected end");
    expect_error("{\"a\":\"b", "unexpected end");
    expect_error("[1,]", "syntax error at byte 4");
}

Test(json_parse, null_input_is_an_empty_document)
{
    ljh_json *j = ljh_json_parse(NULL, 10);
    cr_assert_not_null(j);
    cr_expect_neq(j->error, LJH_OK);
    cr_expect(strstr(j->errmsg, "empty document") != NULL);
    ljh_json_free(j);
    ljh_json_free(NULL);
}

static char *nested(int depth, char open, char close)
{
    char *s = malloc((size_t)depth * 2 + 1);
    memset(s, open, (size_t)depth);
    memset(s + depth, close, (size_t)depth);
    s[depth * 2] = '\0';
    return s;
}

Test(json_parse, nesting_cap)
{
    char *s = nested(LJH_JSON_MAX_DEPTH, '[', ']');
    ljh_json *j = parse(s);
    cr_expect_eq(j->error, LJH_OK, "%d levels: %s", LJH_JSON_MAX_DEPTH, j->errmsg);
    cr_expect_eq(j->n_nodes, LJH_JSON_MAX_DEPTH);
    ljh_json_free(j);
    free(s);
    int deeper[] = {LJH_JSON_MAX_DEPTH + 1, 1000, 1001, 100000};
    for (int k = 0; k < 4; k++) {
        s = nested(deeper[k], k % 2 ? '[' : '{', k % 2 ? ']' : '}');
        if (s[0] == '{') /* objects need keys: {"a":{"a":...}} */ {
            free(s);
            size_t n = (size_t)deeper[k];
            s = malloc(n * 6 + 2);
            char *o = s;
            for (size_t i = 0; i < n; i++) {
                memcpy(o, i + 1 < n ? "{\"a\":" : "{", i + 1 < n ? 5 : 1);
                o += i + 1 < n ? 5 : 1;
            }
            memset(o, '}', n);
            o[n] = '\0';
        }
        char *msg = parse_error(s, strlen(s));
        cr_expect(strstr(msg, "nesting deeper than 512 levels") != NULL, "%d: %s", deeper[k], msg);
        free(msg);
        free(s);
    }
}

/* ---- print ---- */

static char *print_tape(const ljh_json_node *nodes, int32_t n, size_t *len, int32_t *bad, char *msg)
{
    return ljh_json_print(nodes, n, len, bad, msg, 256);
}

static void expect_roundtrip(const char *doc)
{
    ljh_json *j = parse(doc);
    cr_assert_eq(j->error, LJH_OK, "%s: %s", doc, j->errmsg);
    size_t len = 0;
    int32_t bad = 0;
    char msg[256];
    char *out = print_tape(j->nodes, j->n_nodes, &len, &bad, msg);
    cr_assert_not_null(out, "%s: %s", doc, msg);
    cr_expect_str_eq(out, doc);
    cr_expect_eq(len, strlen(doc));
    ljh_json_text_free(out);
    ljh_json_free(j);
}

Test(json_print, compact_documents_round_trip)
{
    expect_roundtrip("{\"a\":[1,true,null,false],\"b\":{},\"c\":[],\"d\":\"s\"}");
    expect_roundtrip("[0,-0,12,-7,1.5,1000,0.02,0.1,0.3333333333333333,1e+300]");
    expect_roundtrip("[9007199254740992,-9007199254740992,9007199254740994,1.2345678901234568e+20]");
    expect_roundtrip("[\"\\\"\\\\/\\b\\f\\n\\r\\t\\u0001\",\"caf\xc3\xa9 \xf0\x9f\x98\x80\"]");
    expect_roundtrip("\"a\\u0000b\"");
    expect_roundtrip("[[[[]]],{\"x\":{\"y\":{}}}]");
    expect_roundtrip("null");
}

Test(json_print, numbers_are_exact)
{
    /* cJSON's own printer writes 2^53+2 as 9.00719925474099e+15 */
    double xs[] = {9007199254740994.0, 0.1, 0.30000000000000004, 1e21, 5e-324, -53.37, 1e-7,
                   1.7976931348623157e308, 4503599627370495.5};
    for (size_t k = 0; k < sizeof xs / sizeof xs[0]; k++) {
        ljh_json_node nd = {NULL, xs[k], 0, LJH_JSON_NUMBER};
        size_t len;
        char msg[256];
        char *out = print_tape(&nd, 1, &len, NULL, msg);
        cr_assert_not_null(out, "%s", msg);
        cr_expect_eq(strtod(out, NULL), xs[k], "%.17g printed as %s", xs[k], out);
        ljh_json_text_free(out);
    }
}

Test(json_print, integer_text)
{
    ljh_json_node nodes[] = {{NULL, 0, 2, LJH_JSON_ARRAY},
                             {"-9223372036854775808", 0, 20, LJH_JSON_INTEGER_TEXT},
                             {"18446744073709551615", 0, 20, LJH_JSON_INTEGER_TEXT}};
    char msg[256];
    char *out = print_tape(nodes, 3, NULL, NULL, msg);
    cr_assert_not_null(out, "%s", msg);
    cr_expect_str_eq(out, "[-9223372036854775808,18446744073709551615]");
    ljh_json_text_free(out);
    const char *bad_texts[] = {"", "-", "1.5", "01", "1e3", "+1", "12a"};
    for (size_t k = 0; k < sizeof bad_texts / sizeof bad_texts[0]; k++) {
        ljh_json_node nd = {bad_texts[k], 0, (int32_t)strlen(bad_texts[k]), LJH_JSON_INTEGER_TEXT};
        int32_t bad = -5;
        cr_expect_null(print_tape(&nd, 1, NULL, &bad, msg), "\"%s\" accepted", bad_texts[k]);
        cr_expect_eq(bad, 0);
    }
}

Test(json_print, errors_name_the_node)
{
    char msg[256];
    int32_t bad = -5;
    ljh_json_node nan_tape[] = {{NULL, 0, 2, LJH_JSON_ARRAY}, {NULL, 1, 0, LJH_JSON_NUMBER},
                                {NULL, NAN, 0, LJH_JSON_NUMBER}};
    cr_expect_null(print_tape(nan_tape, 3, NULL, &bad, msg));
    cr_expect_eq(bad, 2);
    cr_expect(strstr(msg, "NaN or infinite") != NULL, "%s", msg);

    ljh_json_node inf_tape[] = {{NULL, INFINITY, 0, LJH_JSON_NUMBER}};
    cr_expect_null(print_tape(inf_tape, 1, NULL, &bad, msg));
    cr_expect_eq(bad, 0);

    ljh_json_node utf8[] = {{NULL, 0, 1, LJH_JSON_OBJECT}, {"k", 0, 1, LJH_JSON_STRING},
                            {"\xff", 0, 1, LJH_JSON_STRING}};
    cr_expect_null(print_tape(utf8, 3, NULL, &bad, msg));
    cr_expect_eq(bad, 2);
    cr_expect(strstr(msg, "a string is not valid UTF-8") != NULL, "%s", msg);

    ljh_json_node key_utf8[] = {{NULL, 0, 1, LJH_JSON_OBJECT}, {"\xc3", 0, 1, LJH_JSON_STRING},
                                {NULL, 0, 0, LJH_JSON_NULL}};
    cr_expect_null(print_tape(key_utf8, 3, NULL, &bad, msg));
    cr_expect_eq(bad, 1);
    cr_expect(strstr(msg, "object key is not valid UTF-8") != NULL, "%s", msg);

    ljh_json_node key_nul[] = {{NULL, 0, 1, LJH_JSON_OBJECT}, {"a\0b", 0, 3, LJH_JSON_STRING},
                               {NULL, 0, 0, LJH_JSON_NULL}};
    cr_expect_null(print_tape(key_nul, 3, NULL, &bad, msg));
    cr_expect_eq(bad, 1);
    cr_expect(strstr(msg, "NUL") != NULL, "%s", msg);
}

Test(json_print, malformed_tapes_are_refused)
{
    char msg[256];
    int32_t bad;
    cr_expect_null(print_tape(NULL, 0, NULL, &bad, msg));
    ljh_json_node short_tape[] = {{NULL, 0, 2, LJH_JSON_ARRAY}, {NULL, 0, 0, LJH_JSON_NULL}};
    cr_expect_null(print_tape(short_tape, 2, NULL, &bad, msg));
    cr_expect(strstr(msg, "ends early") != NULL, "%s", msg);
    ljh_json_node extra[] = {{NULL, 0, 0, LJH_JSON_NULL}, {NULL, 0, 0, LJH_JSON_NULL}};
    cr_expect_null(print_tape(extra, 2, NULL, &bad, msg));
    cr_expect(strstr(msg, "left over") != NULL, "%s", msg);
    ljh_json_node key_not_string[] = {{NULL, 0, 1, LJH_JSON_OBJECT}, {NULL, 1, 0, LJH_JSON_NUMBER},
                                      {NULL, 0, 0, LJH_JSON_NULL}};
    cr_expect_null(print_tape(key_not_string, 3, NULL, &bad, msg));
    cr_expect(strstr(msg, "key is not a string") != NULL, "%s", msg);
    ljh_json_node neg[] = {{NULL, 0, -1, LJH_JSON_ARRAY}};
    cr_expect_null(print_tape(neg, 1, NULL, &bad, msg));
    ljh_json_node unknown[] = {{NULL, 0, 0, 99}};
    cr_expect_null(print_tape(unknown, 1, NULL, &bad, msg));
    cr_expect(strstr(msg, "unknown node type") != NULL, "%s", msg);
    ljh_json_node null_str[] = {{NULL, 0, 3, LJH_JSON_STRING}};
    cr_expect_null(print_tape(null_str, 1, NULL, &bad, msg));
    /* no errmsg buffer: still no crash */
    cr_expect_null(ljh_json_print(neg, 1, NULL, NULL, NULL, 0));
}

Test(json_print, nesting_cap)
{
    int depth = LJH_JSON_MAX_DEPTH + 1;
    ljh_json_node *nodes = calloc((size_t)depth, sizeof *nodes);
    for (int i = 0; i < depth; i++) {
        nodes[i].type = LJH_JSON_ARRAY;
        nodes[i].len = i + 1 < depth ? 1 : 0;
    }
    char msg[256];
    int32_t bad;
    cr_expect_null(print_tape(nodes, depth, NULL, &bad, msg));
    cr_expect(strstr(msg, "nesting deeper than 512") != NULL, "%s", msg);
    char *out = print_tape(nodes + 1, depth - 1, NULL, &bad, msg);
    cr_expect_not_null(out, "512 levels: %s", msg);
    ljh_json_text_free(out);
    free(nodes);
}

Test(json_print, strings_with_nul_and_controls)
{
    ljh_json_node nd = {"a\0\x01\"\\z", 0, 6, LJH_JSON_STRING};
    char msg[256];
    size_t len;
    char *out = print_tape(&nd, 1, &len, NULL, msg);
    cr_assert_not_null(out, "%s", msg);
    cr_expect_str_eq(out, "\"a\\u0000\\u0001\\\"\\\\z\"");
    cr_expect_eq(len, strlen(out));
    ljh_json_text_free(out);
    /* not NUL-terminated at len: escaped here, not read past len */
    ljh_json_node part = {"abcdef", 0, 3, LJH_JSON_STRING};
    out = print_tape(&part, 1, &len, NULL, msg);
    cr_assert_not_null(out, "%s", msg);
    cr_expect_str_eq(out, "\"abc\"");
    ljh_json_text_free(out);
}

/* ---- the arena and other users of cJSON ---- */

Test(json_arena, other_cjson_users_are_unaffected)
{
    ljh_json *j = parse("{\"a\":[1,2,3]}"); /* installs the hooks */
    ljh_json_free(j);
    cJSON *mine = cJSON_Parse("{\"x\":[\"y\",2]}");
    cr_assert_not_null(mine);
    char *text = cJSON_PrintUnformatted(mine);
    cr_expect_str_eq(text, "{\"x\":[\"y\",2]}");
    cJSON_free(text);
    j = parse("[\"between\"]"); /* a parse of ours while the tree lives */
    cJSON_AddItemToObject(mine, "z", cJSON_CreateString("w"));
    ljh_json_free(j);
    cJSON_Delete(mine);
}

Test(json_arena, someone_elses_hooks_later)
{
    ljh_json *j = parse("[1]");
    ljh_json_free(j);
    cJSON_InitHooks(NULL); /* plain malloc/free: the arena stays empty */
    j = parse("{\"a\":[\"b\",{\"c\":null}]}");
    cr_expect_eq(j->error, LJH_OK);
    cr_expect_eq(j->n_nodes, 7);
    expect_string(j, 3, "b", 1);
    ljh_json_free(j); /* deleted the normal way */
    size_t len;
    ljh_json_node nd[] = {{NULL, 0, 1, LJH_JSON_ARRAY}, {"q", 0, 1, LJH_JSON_STRING}};
    char *out = print_tape(nd, 2, &len, NULL, (char[256]){0});
    cr_expect_str_eq(out, "[\"q\"]");
    ljh_json_text_free(out);
}

static void *parse_many(void *arg)
{
    const char *doc = arg;
    for (int i = 0; i < 200; i++) {
        ljh_json *j = ljh_json_parse(doc, strlen(doc));
        if (!j || j->error || j->n_nodes != 10 || j->nodes[9].len != 5 ||
            memcmp(j->nodes[9].str, "hello", 5))
            return (void *)1;
        ljh_json_free(j);
    }
    return NULL;
}

Test(json_arena, threads)
{
    const char *doc = "{\"a\":[1,2,{\"b\":null}],\"s\":\"hello\"}";
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        cr_assert_eq(pthread_create(&th[i], NULL, parse_many, (void *)doc), 0);
    for (int i = 0; i < 4; i++) {
        void *rc;
        pthread_join(th[i], &rc);
        cr_expect_null(rc, "thread %d", i);
    }
}

Test(json_arena, large_document)
{
    /* several arena chunks: [{"i":0,"s":"xxxxxxxx..."},...] */
    size_t n = 20000;
    size_t cap = n * 80 + 16;
    char *doc = malloc(cap), *o = doc;
    *o++ = '[';
    for (size_t i = 0; i < n; i++)
        o += sprintf(o, "%s{\"i\":%zu,\"s\":\"%040zu\"}", i ? "," : "", i, i);
    *o++ = ']';
    *o = '\0';
    ljh_json *j = ljh_json_parse(doc, (size_t)(o - doc));
    cr_assert_eq(j->error, LJH_OK, "%s", j->errmsg);
    cr_assert_eq(j->n_nodes, (int32_t)(1 + n * 5));
    cr_expect_eq(j->nodes[1 + 5 * (n - 1) + 2].num, (double)(n - 1));
    cr_expect_eq(j->nodes[1 + 5 * (n - 1) + 4].len, 40);
    size_t len;
    char msg[256];
    char *out = print_tape(j->nodes, j->n_nodes, &len, NULL, msg);
    cr_assert_not_null(out, "%s", msg);
    cr_expect_eq(len, (size_t)(o - doc));
    cr_expect_eq(memcmp(out, doc, len), 0);
    ljh_json_text_free(out);
    ljh_json_free(j);
    free(doc);
}

/* ---- LJH_F_DECODE_JSON: the response hook ---- */

static ljh_response *packed(const char *body, size_t len)
{
    ljh_collect col = {0};
    cr_assert_eq(ljh__collect_header(&col, "HTTP/1.1 200 OK\r\n", 17), LJH_OK);
    cr_assert_eq(ljh__collect_header(&col, "\r\n", 2), LJH_OK);
    cr_assert_eq(ljh__buf_append(&col.body, body, len), 0);
    CURL *e = curl_easy_init();
    cr_assert_not_null(e);
    ljh_response *r = ljh__response_pack(&col, e);
    curl_easy_cleanup(e);
    ljh__collect_free(&col);
    cr_assert_not_null(r);
    return r;
}

Test(json_response, json_body_is_parsed_and_dropped)
{
    const char *doc = "{\"a\":[1,\"x\"]}";
    ljh_response *r = packed(doc, strlen(doc));
    cr_expect_null(r->json);
    ljh__response_parse_json(r);
    cr_assert_not_null(r->json);
    cr_expect_eq(r->json->error, LJH_OK);
    cr_expect_eq(r->json->n_nodes, 5);
    expect_string(r->json, 4, "x", 1);
    cr_expect_str_eq(r->body, "", "the body is dropped");
    cr_expect_eq(r->body_len, strlen(doc), "body_len still counts the bytes");
    ljh__response_parse_json(r); /* twice: no-op */
    ljh_response_free(r);
}

Test(json_response, other_body_is_kept_with_the_error)
{
    const char *html = "<html>oops</html>";
    ljh_response *r = packed(html, strlen(html));
    ljh__response_parse_json(r);
    cr_assert_not_null(r->json);
    cr_expect_neq(r->json->error, LJH_OK);
    cr_expect(strstr(r->json->errmsg, "syntax error at byte 1") != NULL, "%s", r->json->errmsg);
    cr_expect_str_eq(r->body, html);
    cr_expect_eq(r->body_len, strlen(html));
    ljh_response_free(r);

    r = packed("", 0);
    ljh__response_parse_json(r);
    cr_expect(strstr(r->json->errmsg, "empty document") != NULL);
    ljh_response_free(r);
}

Test(json_response, error_responses_are_left_alone)
{
    ljh_response *r = ljh__response_new_error(LJH_E_TIMEOUT, "late");
    ljh__response_parse_json(r);
    cr_expect_null(r->json);
    ljh_response_free(r);
    ljh__response_parse_json(NULL);
}
