#!/bin/sh
# Wraps one section of cdef/ljhttp.h in a Lua module returning its
# declarations for ffi.cdef: the text without its /* */ comments, trailing
# blanks and empty lines. The comments are two thirds of the header and
# every process pays for them twice, lexing the Lua string and ffi.cdef's
# C parser (about 0.6M instructions at start-up).
#
#   sh tools/gen-cdef.sh cdef/ljhttp.h        > lua/ljhttp/cdef.lua
#   sh tools/gen-cdef.sh cdef/ljhttp.h ws     > lua/ljhttp/cdef_ws.lua
#
# A line starting "/* cdef section: NAME" begins section NAME, which runs
# to the next such line; what comes before the first is the core, which
# the loader declares when it loads. A section is declared by the first
# module that needs it (loader.declare), so a process that never opens a
# WebSocket never parses its declarations. tests/lua/test_abi.lua checks
# that the cdef files are what this script makes of the header.
set -eu
src=$1
section=${2:-core}
if grep -q ']==]' "$src"; then
    echo "gen-cdef: $src contains ']==]'" >&2
    exit 1
fi
if [ "$section" != core ] && ! grep -q "^/\* cdef section: $section[ *]" "$src"; then
    echo "gen-cdef: $src has no section '$section'" >&2
    exit 1
fi
if [ "$section" = core ]; then
    printf -- '-- Generated from %s by tools/gen-cdef.sh (make). Do not edit.\n' "$src"
else
    printf -- '-- Generated from %s (section %s) by tools/gen-cdef.sh (make). Do not edit.\n' "$src" "$section"
fi
printf 'return [==[\n'
awk -v want="$section" 'BEGIN { cur = "core" }
/^\/\* cdef section: / {
    cur = $4
    sub(/[^a-z0-9_].*$/, "", cur)
}
cur != want { next }
{
    line = $0; out = ""
    while (line != "") {
        if (incomment) {
            i = index(line, "*/")
            if (i == 0) { line = "" } else { line = substr(line, i + 2); incomment = 0 }
        } else {
            i = index(line, "/*")
            if (i == 0) { out = out line; line = "" }
            else { out = out substr(line, 1, i - 1); line = substr(line, i + 2); incomment = 1 }
        }
    }
    sub(/[ \t]+$/, "", out)
    if (out != "") print out
}' "$src"
printf ']==]\n'
