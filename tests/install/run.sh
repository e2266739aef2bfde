#!/bin/sh
# Installs into temporary prefixes the ways users do (make install with
# DESTDIR, luarocks make) and checks that a LuaJIT script then finds the
# library with only LUA_PATH set, and that uninstall removes everything.
set -eu
cd "$(dirname "$0")/../.."
root=$(pwd)
tmp=$(mktemp -d)
server=""
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT INT TERM
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; }

python3 tests/fixture/server.py --port-file "$tmp/port" --watch-pid $$ >/dev/null 2>&1 &
server=$!
i=0
while [ ! -s "$tmp/port" ]; do i=$((i + 1)); [ $i -gt 100 ] && { echo "no fixture server"; exit 1; }; sleep 0.1; done
url="http://127.0.0.1:$(cat "$tmp/port")/echo"

cat > "$tmp/probe.lua" <<'LUA'
local h = require("ljhttp")
local r, e = h.get(arg[1])
assert(r, e)
print(r.status_code, h.info().library_path)
LUA

# make install PREFIX=/opt/x DESTDIR=$tmp/stage
make -s install PREFIX=/opt/ljhttp-test DESTDIR="$tmp/stage" >/dev/null
prefix="$tmp/stage/opt/ljhttp-test"
if [ -L "$prefix/lib/libljhttp.so.0" ] && [ -f "$prefix/lib/libljhttp.so.0.1.0" ] &&
    readelf -d "$prefix/lib/libljhttp.so.0.1.0" | grep -q 'SONAME.*libljhttp.so.0'; then
    ok "make install: versioned library with soname"
else
    bad "make install: versioned library with soname"
fi
[ -f "$prefix/share/ljhttp/cdef/ljhttp.h" ] && ok "make install: cdef file" || bad "make install: cdef file"
out=$(cd "$tmp" && env -i PATH="$PATH" LUA_PATH="$prefix/share/lua/5.1/?.lua;;" luajit "$tmp/probe.lua" "$url" 2>&1) || true
case "$out" in
"200	$prefix/share/lua/5.1/ljhttp/../../../../lib/"*) ok "installed: found with only LUA_PATH set" ;;
*) bad "installed: found with only LUA_PATH set ($out)" ;;
esac
make -s uninstall PREFIX=/opt/ljhttp-test DESTDIR="$tmp/stage" >/dev/null
left=$(find "$prefix" -type f -o -type l | wc -l)
[ "$left" = 0 ] && ok "make uninstall removes every file" || bad "make uninstall left $left files"

# luarocks make into a private tree
if command -v luarocks >/dev/null 2>&1; then
    rock=$(ls "$root"/ljhttp-*.rockspec | head -n 1)
    if (cd "$root" && luarocks --lua-version 5.1 make --tree "$tmp/rocks" "$rock" >"$tmp/rocks.log" 2>&1); then
        lp="$tmp/rocks/share/lua/5.1/?.lua;$tmp/rocks/share/lua/5.1/?/init.lua;;"
        cp="$tmp/rocks/lib/lua/5.1/?.so;;"
        out=$(cd "$tmp" && env -i PATH="$PATH" LUA_PATH="$lp" LUA_CPATH="$cp" luajit "$tmp/probe.lua" "$url" 2>&1) || true
        case "$out" in
        "200	"*) ok "luarocks make: require works" ;;
        *) bad "luarocks make: require works ($out)" ;;
        esac
    else
        bad "luarocks make (see below)"
        tail -n 20 "$tmp/rocks.log"
    fi
else
    bad "luarocks is not installed (sh tools/deps.sh test)"
fi

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
