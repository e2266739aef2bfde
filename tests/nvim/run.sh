#!/usr/bin/env bash
# Neovim host test: headless Neovim (nvim --headless --clean -u NONE) with
# this checkout on the runtimepath, against the fixture server.
#
#   tests/nvim/run.sh
#
# Environment: NVIM (nvim), PYTHON (python3). Last line: "N passed,
# N failed"; exit status 0 only when nothing failed.
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
NVIM="${NVIM:-nvim}"
PYTHON="${PYTHON:-python3}"

# shellcheck source=../lib.bash
source "$ROOT/tests/lib.bash"
ljh_setup nvim

fail() { echo "not ok - $1"; echo "0 passed, 1 failed"; exit 1; }

command -v "$NVIM" >/dev/null 2>&1 || fail "nvim not found (apt-get install neovim)"
if [[ ! -f $ROOT/build/libljhttp.so ]]; then
  make -s -C "$ROOT" >/dev/null || fail "make failed"
fi

ljh_start_fixture "$TMP/port" || fail "fixture server did not start"

echo "# $("$NVIM" --version | head -n 1)"
export LJH_ROOT="$ROOT"
export LJH_FIXTURE="$FIXTURE"
# run_nvim NAME SECONDS: headless Neovim runs tests/nvim/NAME.lua. stdout:
# the test's lines. stderr: what Neovim reports (one callback in the host
# test raises on purpose), kept out of the way but shown on failure.
# Returns 1 unless it ended with "N passed, 0 failed".
run_nvim() {
  local name=$1 secs=$2 rc
  timeout "$secs" "$NVIM" --headless --clean -u NONE -i NONE \
    -c "luafile $HERE/$name.lua" </dev/null 2>"$TMP/$name.err" >"$TMP/$name.out"
  rc=$?
  cat "$TMP/$name.out"
  if [[ $rc != 0 ]]; then
    echo "# nvim ($name) exited with status $rc; its stderr:"
    sed 's/^/#   /' "$TMP/$name.err"
    tail -n 1 "$TMP/$name.out" | grep -q ' passed, ' || echo "0 passed, 1 failed"
    return 1
  fi
  tail -n 1 "$TMP/$name.out" | grep -qE ', 0 failed(, [0-9]+ skipped)?$'
}

run_nvim test_host 300 || exit 1

# :LjhttpBuild in a copy of the plugin whose Makefile waits for the editor
export LJH_TMP="$TMP"
run_nvim test_build 200 || exit 1

# WebSocket callbacks on the editor's loop, against the WebSocket fixture
ljh_start_ws_fixture "$TMP/ws.port" || fail "the WebSocket fixture did not start"
export LJH_WS="$WS"
run_nvim test_ws 120 || exit 1
exit 0
