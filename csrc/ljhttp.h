/* Public C header of ljhttp. The declarations themselves live in
 * cdef/ljhttp.h, the same text LuaJIT's ffi.cdef parses, so the compiler
 * checks the implementation against exactly what Lua sees. */
#ifndef LJHTTP_H
#define LJHTTP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The library builds with -fvisibility=hidden: only these are exported. */
#pragma GCC visibility push(default)
#include "../cdef/ljhttp.h"
#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#endif
