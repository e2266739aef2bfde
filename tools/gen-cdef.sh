#!/bin/sh
# Wraps cdef/ljhttp.h in a Lua module returning its declarations for
# ffi.cdef: the text without its /* */ comments, trailing blanks and empty
# lines. The comments are two thirds of the header and every process pays
# for them twice, lexing the Lua string and ffi.cdef's C parser (about
# 0.6M instructions at start-up). tests/lua/test_abi.lua checks that
# cdef.lua is what this script makes of the header.
set -eu
src=$1
if grep -q ']==]' "$src"; then
    echo "gen-cdef: $src contains ']==]'" >&2
    exit 1
fi
printf -- '-- Generated from %s by tools/gen-cdef.sh (make). Do not edit.\n' "$src"
printf 'return [==[\n'
awk '{
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
