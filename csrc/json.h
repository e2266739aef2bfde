/* json: what json_parse.c (JSON text -> tape) and json_print.c (tape ->
 * JSON text) share. The tape, one ljh_json_node per value in document
 * order, is the layout Lua reads and writes: cdef/ljhttp.h. */
#ifndef LJHTTP_JSON_H
#define LJHTTP_JSON_H

#include <cjson/cJSON.h>
#include <stddef.h>

#if CJSON_VERSION_MAJOR != 1 || CJSON_VERSION_MINOR < 7 || \
    (CJSON_VERSION_MINOR == 7 && CJSON_VERSION_PATCH < 13)
#error "ljhttp needs cJSON >= 1.7.13 (cJSON_ParseWithLengthOpts, O(1) appends)"
#endif

/* Offset of the first byte of s that is not part of valid UTF-8 or, with
 * ctl, is a control byte other than TAB, LF and CR; len when none. *why
 * says which ("invalid UTF-8", "control character"). json_text.c. */
size_t ljh__json_check_text(const unsigned char *s, size_t len, int ctl, const char **why);

#endif
