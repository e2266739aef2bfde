#!/usr/bin/env bash
# Instructions per request of the OpenResty front (bench/README.md,
# "OpenResty"): bench/openresty.sh --serve with the front as one process
# under callgrind, wrk warms it up, the counters are zeroed, wrk loads one
# location, and the dump's total is divided by wrk's request count. All
# of the process is counted (nginx, LuaJIT, libcurl, libc, the relay
# thread); the kernel is not. Slower than the real thing by ~50x, so wrk
# sees a few thousand requests, but the count does not move with the
# machine's load as the wall-clock ratios do.
#
#   bench/openresty_cg.sh [LOCATION [C [SECONDS]]]
#       LOCATION  /async?p=/small (or /block, /cosocket, /proxy ...)
#       C         wrk connections (50)
#       SECONDS   measured wrk run (10; the warm-up is 5)
#   OR_CG_KEEP=FILE  keeps the callgrind dump (callgrind_annotate FILE)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LOC="${1:-/async?p=/small}"
CONC="${2:-50}"
SECS="${3:-10}"
command -v valgrind >/dev/null && command -v callgrind_control >/dev/null \
  || { echo "openresty_cg: skipped: valgrind not found" >&2; exit 0; }
command -v wrk >/dev/null || { echo "openresty_cg: skipped: wrk not found" >&2; exit 0; }

OUT="$(mktemp -d "${TMPDIR:-/tmp}/ljhttp-orcg.XXXXXX")"
OR_FRONT_WRAP="valgrind --tool=callgrind --callgrind-out-file=$OUT/cg.out" \
  "$HERE/openresty.sh" --serve 2>"$OUT/serve.log" &
SERVE=$!
trap 'kill $SERVE 2>/dev/null; wait 2>/dev/null; rm -rf "$OUT"' EXIT
for _ in $(seq 600); do
  grep -q "serving:" "$OUT/serve.log" 2>/dev/null && break
  kill -0 $SERVE 2>/dev/null || { cat "$OUT/serve.log" >&2; exit 1; }
  sleep 0.1
done
URL="$(sed -n 's/.*front \(http:[^ ]*\) (worker pid \([0-9]*\)).*/\1/p' "$OUT/serve.log")"
PID="$(sed -n 's/.*(worker pid \([0-9]*\)).*/\1/p' "$OUT/serve.log")"
[[ -n $URL && -n $PID ]] || { cat "$OUT/serve.log" >&2; exit 1; }

wrk -t1 -c"$CONC" -d5s "$URL$LOC" >/dev/null
callgrind_control -z "$PID" >/dev/null 2>&1
n="$(wrk -t1 -c"$CONC" -d"${SECS}s" "$URL$LOC" | awk '/requests in/ { print $1 }')"
callgrind_control -d "$PID" >/dev/null 2>&1
dump="$(ls -t "$OUT"/cg.out* | head -1)"
ir="$(awk '/^(summary|totals):/ { print $2; exit }' "$dump")"
awk -v ir="$ir" -v n="$n" -v loc="$LOC" -v c="$CONC" \
  'BEGIN { printf "%s c=%s: %d requests, %.1fk instructions per request\n", loc, c, n, ir / n / 1000 }'
[[ -z ${OR_CG_KEEP:-} ]] || cp "$dump" "$OR_CG_KEEP"
