#!/usr/bin/env bash
# Headless Neovim benchmark: N requests at once (default 200) to URL,
# through ljhttp's async API versus one curl process per request
# (vim.fn.jobstart). Prints a table: wall time, CPU time (Neovim's own
# and its children's, i.e. the curl processes), and the lag of a 1 ms
# UI timer meanwhile (p50/p99/max). Exit status 1 if any request failed.
#
#   bench/nvim_async.sh URL         e.g. http://127.0.0.1:8080/sleep (50 ms)
#
# Environment: N (200), ROUNDS (3, medians are shown), NVIM (nvim),
# CURL (curl). Needs build/libljhttp.so (make).
set -euo pipefail

if [[ $# != 1 ]]; then
  echo "usage: $0 URL-of-a-50-ms-endpoint" >&2
  exit 2
fi

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$BENCH_DIR/.." && pwd)"
NVIM="${NVIM:-nvim}"

[[ -f ${LJHTTP_LIBRARY:-$ROOT/build/libljhttp.so} ]] || { echo "nvim_async: build/libljhttp.so missing (run make)" >&2; exit 2; }
command -v "$NVIM" >/dev/null || { echo "nvim_async: $NVIM not found" >&2; exit 2; }

export LJH_ROOT="$ROOT" BENCH_URL="$1"
export N="${N:-200}" ROUNDS="${ROUNDS:-3}" CURL="${CURL:-curl}"
CLK_TCK="$(getconf CLK_TCK 2>/dev/null || echo 100)"
export CLK_TCK

# many curl processes at once need descriptors
ulimit -n 4096 2>/dev/null || true
exec "$NVIM" --headless --clean -u NONE -i NONE -c "luafile $BENCH_DIR/nvim_async.lua" </dev/null
