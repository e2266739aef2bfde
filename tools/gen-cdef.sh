#!/bin/sh
# Wraps cdef/ljhttp.h in a Lua module returning its text, unchanged, for
# ffi.cdef. tests/lua/test_abi.lua checks the two never differ.
set -eu
src=$1
if grep -q ']==]' "$src"; then
    echo "gen-cdef: $src contains ']==]'" >&2
    exit 1
fi
printf -- '-- Generated from %s by tools/gen-cdef.sh (make). Do not edit.\n' "$src"
printf 'return [==[\n'
cat "$src"
printf ']==]\n'
