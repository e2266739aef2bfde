#!/usr/bin/env bash
# WebSocket benchmark (bench/README.md, "WebSocket"): echo round trips of
# one text message on one connection against tests/fixture/ws_server.py,
# ljhttp (http.websocket, receive()) beside ws_limit, a C program on
# libcurl's own WebSocket API (where libcurl has a stable one, 8.11+), in
# the same rounds. The server is Python: both sides wait on it alike, so
# the ratio is what each client adds.
#   bench/ws.sh [--smoke]     WS_N (round trips, 5000), WS_ROUNDS (5)
# Prints a markdown table; writes it to WS_RESULTS_MD if set.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
N="${WS_N:-5000}"
ROUNDS="${WS_ROUNDS:-5}"
[[ ${1:-} == --smoke ]] && N=200 && ROUNDS=1
LUAJIT="${LUAJIT:-luajit}"
TMP="$(mktemp -d "${TMPDIR:-/tmp}/ljhttp-wsbench.XXXXXX")"
trap 'kill "${SRV:-}" 2>/dev/null || true; rm -rf "$TMP"' EXIT
[[ -f $ROOT/build/libljhttp.so ]] || make -s -C "$ROOT" >/dev/null
python3 "$ROOT/tests/fixture/ws_server.py" --port-file "$TMP/port" --watch-pid $$ >/dev/null 2>&1 &
SRV=$!
for _ in $(seq 100); do [[ -s $TMP/port ]] && break; sleep 0.05; done
URL="ws://127.0.0.1:$(head -n 1 "$TMP/port")/echo"
have_c=1
"$HERE/ws_limit" "$URL" 1 13 >/dev/null 2>"$TMP/limit.err" || have_c=0
rows=""
for size in 13 65536; do
  ratios=() ljs=() cs=()
  for ((r = 1; r <= ROUNDS; r++)); do
    lj=$("$LUAJIT" "$HERE/ws_client.lua" "$URL" "$N" "$size")
    ljs+=("$lj")
    if [[ $have_c == 1 ]]; then
      c=$("$HERE/ws_limit" "$URL" "$N" "$size")
      cs+=("$c")
      ratios+=("$(awk -v a="$lj" -v b="$c" 'BEGIN { printf "%.2f", a / b }')")
    fi
  done
  med() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
  lj=$(med "${ljs[@]}")
  ljrate=$(awk -v t="$lj" -v n="$N" 'BEGIN { printf "%.0f", n / t }')
  if [[ $have_c == 1 ]]; then
    c=$(med "${cs[@]}")
    crate=$(awk -v t="$c" -v n="$N" 'BEGIN { printf "%.0f", n / t }')
    rows+="| $size B | $ljrate | $crate | $(med "${ratios[@]}")x |"$'\n'
  else
    rows+="| $size B | $ljrate | n/a: $(head -c 120 "$TMP/limit.err") | - |"$'\n'
  fi
done
out="| message | ljhttp round trips/s | libcurl ws API (C) round trips/s | ljhttp time / C time (median of $ROUNDS rounds) |
|---|---|---|---|
$rows"
printf '%s' "$out"
[[ -n ${WS_RESULTS_MD:-} ]] && printf '%s' "$out" > "$HERE/$WS_RESULTS_MD"
exit 0
