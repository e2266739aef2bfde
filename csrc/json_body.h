/* json_body: a `json = value` request body, printed by C into the plan. */
#ifndef LJHTTP_JSON_BODY_H
#define LJHTTP_JSON_BODY_H

#include <stddef.h>

#include "ljhttp.h"

/* Prints req->json (req->n_json nodes) as ljh_json_print does into *text
 * (malloc'd, NUL-terminated, *len bytes): LJH_OK, or LJH_E_JSON with
 * errmsg "cannot encode as JSON: <why> (at <path>)", or
 * LJH_E_OUT_OF_MEMORY. */
ljh_error ljh__json_body(const ljh_request *req, char **text, size_t *len, char *errmsg,
                         size_t errlen);

/* The path of node target in a tape ("$", "$.a[2]", "$[\"a b\"]", and
 * " (the key)" for an object key), as json.lua writes paths; "" when the
 * tape does not reach it. */
void ljh__json_path(const ljh_json_node *nodes, int32_t n, int32_t target, char *out, size_t cap);

#endif
