#!/usr/bin/env bash
# Plain LuaJIT host test (lua/ljhttp/hosts/luajit.lua) against the fixture.
#
#   tests/luajit/run.sh
#
# Environment: LUAJIT (luajit), PYTHON (python3). Last line: "N passed,
# N failed"; exit status 0 only when nothing failed.
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
LUAJIT="${LUAJIT:-luajit}"
PYTHON="${PYTHON:-python3}"

# shellcheck source=../lib.bash
source "$ROOT/tests/lib.bash"
ljh_setup luajit

fail() { echo "not ok - $1"; echo "0 passed, 1 failed"; exit 1; }

if [[ ! -f $ROOT/build/libljhttp.so ]]; then
  make -s -C "$ROOT" >/dev/null || fail "make failed"
fi
ljh_start_fixture "$TMP/port" || fail "fixture server did not start"

export LJH_FIXTURE="$FIXTURE"
export LUA_PATH="$ROOT/lua/?.lua;;"
timeout 120 "$LUAJIT" "$HERE/test_host.lua" >"$TMP/out" 2>&1
rc=$?
cat "$TMP/out"
if [[ $rc != 0 ]]; then
  tail -n 1 "$TMP/out" | grep -q ' passed, ' || echo "0 passed, 1 failed"
  exit 1
fi
exit 0
