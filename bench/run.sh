#!/usr/bin/env bash
# ljhttp benchmark harness.  See bench/README.md.
#
#   bench/run.sh            full run (1 warm-up + ROUNDS counted rounds)
#   bench/run.sh --smoke    tiny counts, 1 counted round, no warm-up
#
# Environment: ROUNDS (default 7), WARMUP (default 1), LUAJIT (luajit),
# NGINX (nginx), CURL (curl), CLIENT_TIMEOUT seconds per client run (600),
# REQUIRE_LJHTTP=1 to fail instead of skipping when ljhttp is not built,
# RESULTS_MD (bench/results.md; the smoke run writes none unless set),
# KEEP_TMP=1 to keep the temp dir (nginx config, logs, raw results),
# ONLY="W1 W3" to run only some workloads and rows (W1-W5, N6, S1, J1).
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$BENCH_DIR/.." && pwd)"
LUAJIT="${LUAJIT:-luajit}"
NGINX="${NGINX:-nginx}"
export CURL="${CURL:-curl}"
CLIENT_TIMEOUT="${CLIENT_TIMEOUT:-600}"
NGINX_MODULES="${NGINX_MODULES:-/usr/lib/nginx/modules}"

SMOKE=0
case "${1:-}" in
  --smoke) SMOKE=1 ;;
  "") ;;
  *) echo "usage: $0 [--smoke]" >&2; exit 2 ;;
esac

if [[ $SMOKE == 1 ]]; then
  ROUNDS="${ROUNDS:-1}"; WARMUP="${WARMUP:-0}"
  RESULTS_MD="${RESULTS_MD:-}"
else
  ROUNDS="${ROUNDS:-7}"; WARMUP="${WARMUP:-1}"
  RESULTS_MD="${RESULTS_MD-$BENCH_DIR/results.md}"
fi

log() { echo "bench: $*" >&2; }
die() { echo "bench: FAILED: $*" >&2; exit 1; }

# ---------------------------------------------------------------- workloads
# id  kind  N(full)  N(smoke)  concurrency  description
WORKLOADS=(
  "W1 small 5000 20 1  sequential GETs of /small (13 B)"
  "W2 1m    100  2  1  sequential GETs of 1 MiB"
  "W3 10m   20   1  1  sequential GETs of 10 MiB"
  "W4 small 1000 20 50 batch of /small, at most 50 at once"
  "W5 sleep 200  10 50 batch of /sleep (50 ms), at most 50 at once"
)

# Clients and their per-workload request count (N scaled by a divisor)
# or "na:<reason>" ("na:-" = not applicable, left out of the table).
client_plan() { # client workload
  case "$1:$2" in
    strings:W2|strings:W3|limit.copy:W2|limit.copy:W3|limit.file:W2|limit.file:W3) echo 1 ;;
    strings:*|limit.copy:*|limit.file:*) echo "na:-" ;;
    ljhttp.get:W4|ljhttp.get:W5) echo "na:-" ;;
    ljhttp.output:W2|ljhttp.output:W3|ljhttp.stream:W2|ljhttp.stream:W3|ljhttp.chunks:W2|ljhttp.chunks:W3) echo 1 ;;
    ljhttp.output:*|ljhttp.stream:*|ljhttp.chunks:*) echo "na:-" ;;
    ljhttp.portable:W2|ljhttp.portable:W3) echo "na:-" ;;
    lua-curl:W4|lua-curl:W5) echo "na:easy interface only" ;;
    luasocket:W5) echo 4 ;;            # sequential: 50 ms each
    curl-per-request:W1) echo 10 ;;
    curl-per-request:W4) echo 5 ;;
    *) echo 1 ;;
  esac
}
# ljhttp.portable: c:get and the batch with LJHTTP_BACKEND=portable (what
# Windows uses; macOS can), next to epoll in the same rounds.
CLIENTS=(limit strings limit.copy limit.file ljhttp ljhttp.portable ljhttp.get ljhttp.output ljhttp.stream ljhttp.chunks lua-curl luasocket curl-per-request)

client_cmd() { # client -> command prefix (array printed one word per line)
  case "$1" in
    limit|limit.copy|limit.file) echo "$BENCH_DIR/limit" ;;
    strings) printf '%s\n' "$LUAJIT" "$BENCH_DIR/client_strings.lua" ;;
    ljhttp|ljhttp.get|ljhttp.output|ljhttp.stream|ljhttp.chunks) printf '%s\n' "$LUAJIT" "$BENCH_DIR/client_ljhttp.lua" ;;
    ljhttp.portable) printf '%s\n' env LJHTTP_BACKEND=portable "$LUAJIT" "$BENCH_DIR/client_ljhttp.lua" ;;
    lua-curl) printf '%s\n' "$LUAJIT" "$BENCH_DIR/client_luacurl.lua" ;;
    luasocket) printf '%s\n' "$LUAJIT" "$BENCH_DIR/client_luasocket.lua" ;;
    curl-per-request) printf '%s\n' "$LUAJIT" "$BENCH_DIR/client_curlproc.lua" ;;
  esac
}
client_extra() {
  case "$1" in limit.copy) echo --copy ;; limit.file) echo "$TMP/limit-out.bin" ;; ljhttp.get) echo get ;; ljhttp.output) echo output ;; ljhttp.stream) echo stream ;; ljhttp.chunks) echo chunks ;; ljhttp|ljhttp.portable) echo client ;; esac
}

# ---------------------------------------------------------------- checks
[[ -x "$BENCH_DIR/limit" ]] || die "$BENCH_DIR/limit not built (run: make -C bench)"
command -v "$LUAJIT" >/dev/null || die "luajit not found ($LUAJIT)"
command -v "$NGINX" >/dev/null || die "nginx not found ($NGINX)"
command -v "$CURL" >/dev/null || die "curl not found ($CURL)"
ECHO_SO="$NGINX_MODULES/ngx_http_echo_module.so"
[[ -f "$ECHO_SO" ]] || die "nginx echo module not found at $ECHO_SO (apt-get install libnginx-mod-http-echo)"

HAVE_LJHTTP=1
if [[ ! -f "${LJHTTP_LIBRARY:-$ROOT/build/libljhttp.so}" ]] || { [[ ! -f "$ROOT/lua/ljhttp.lua" ]] && [[ ! -f "$ROOT/lua/ljhttp/init.lua" ]]; }; then
  HAVE_LJHTTP=0
  [[ "${REQUIRE_LJHTTP:-0}" == 1 ]] && die "ljhttp is not built (build/libljhttp.so, lua/ljhttp.lua)"
  log "WARNING: ljhttp is not built (build/libljhttp.so / lua/ljhttp.lua missing): skipping the ljhttp clients"
fi

# The Lua peers come from Debian packages that not every release has
# (lua-curl is gone from unstable): a missing one is left out, and said so.
lua_has() { # module: loads as the bench clients load it
  "$LUAJIT" -e "package.path='/usr/share/lua/5.1/?.lua;'..package.path
    package.cpath='/usr/lib/x86_64-linux-gnu/lua/5.1/?.so;'..package.cpath
    require('$1')" >/dev/null 2>&1
}
MISSING_PEERS=()
lua_has curl || MISSING_PEERS+=("lua-curl")
lua_has socket || MISSING_PEERS+=("luasocket")
for p in "${MISSING_PEERS[@]}"; do
  log "NOTE: $p is not installed (Debian package ${p/luasocket/lua-socket}): its column is left out"
done

# ---------------------------------------------------------------- temp dir, cleanup
TMP="$(mktemp -d "${TMPDIR:-/tmp}/ljhttp-bench.XXXXXX")"
chmod 755 "$TMP"  # nginx workers may run as another user
# ljhttp's output= client writes its file here too: the same file system
# as LIMIT to a file
export BENCH_OUT_DIR="$TMP"
NGINX_PID=""
# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [[ -n "$NGINX_PID" ]] && kill -0 "$NGINX_PID" 2>/dev/null; then
    kill -TERM "$NGINX_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$NGINX_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$NGINX_PID" 2>/dev/null || true
    wait "$NGINX_PID" 2>/dev/null || true
  fi
  if [[ "${KEEP_TMP:-0}" == 1 ]]; then log "temp dir kept: $TMP"; else rm -rf "$TMP"; fi
  exit "$rc"
}
trap cleanup EXIT
INTERRUPTED=0
trap 'INTERRUPTED=1; log "interrupted"; exit 130' INT
trap 'INTERRUPTED=1; log "terminated"; exit 143' TERM

# ---------------------------------------------------------------- data files + manifest
log "generating test files in $TMP"
mkdir -p "$TMP/www/1m" "$TMP/www/10m" "$TMP/www/big" "$TMP/expect" "$TMP/logs" "$TMP/tmp"
# N6's large download: a sparse file (zeros), 1 GiB (smoke: 16 MiB)
truncate -s "$([[ $SMOKE == 1 ]] && echo 16M || echo 1G)" "$TMP/www/big/body"
for k in 0 1 2 3 4 5 6 7; do
  head -c 1048576 /dev/urandom > "$TMP/www/1m/$k"
  head -c 10485760 /dev/urandom > "$TMP/www/10m/$k"
done
chmod -R a+rX "$TMP/www"
printf 'hello, world\n' > "$TMP/expect/small"
printf 'slept\n' > "$TMP/expect/sleep"

hexat() { # file offset length -> hex or "-"
  local h
  h="$(od -An -v -tx1 -j "$2" -N "$3" "$1" | tr -d ' \n')"
  echo "${h:--}"
}
manifest_line() { # kind idx urlpath file
  local size mid_off hl tl
  size=$(stat -c %s "$4")
  hl=$(( size < 8 ? size : 8 )); tl=$hl
  mid_off=$(( size / 2 ))
  local ml=$(( size - mid_off < 8 ? size - mid_off : 8 ))
  echo "$1 $2 $3 $size $(hexat "$4" 0 $hl) $mid_off $(hexat "$4" $mid_off $ml) $(hexat "$4" $((size - tl)) $tl)"
}
MANIFEST="$TMP/manifest.txt"
{
  manifest_line small 0 /small "$TMP/expect/small"
  manifest_line sleep 0 /sleep "$TMP/expect/sleep"
  for k in 0 1 2 3 4 5 6 7; do
    manifest_line 1m "$k" "/1m/$k" "$TMP/www/1m/$k"
    manifest_line 10m "$k" "/10m/$k" "$TMP/www/10m/$k"
  done
} > "$MANIFEST"

# ---------------------------------------------------------------- nginx
free_port() {
  "$LUAJIT" -e '
    package.cpath = "/usr/lib/x86_64-linux-gnu/lua/5.1/?.so;" .. package.cpath
    local s = assert(require("socket").bind("127.0.0.1", 0))
    local _, port = s:getsockname(); s:close(); print(port)'
}

start_nginx() {
  PORT="$(free_port)"
  cat > "$TMP/nginx.conf" <<EOF
load_module $ECHO_SO;
daemon off;
master_process on;
worker_processes 2;
pid $TMP/nginx.pid;
error_log $TMP/logs/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 1000000;
    keepalive_timeout 300s;
    sendfile on;
    tcp_nopush on;
    default_type application/octet-stream;
    client_body_temp_path $TMP/tmp/body;
    proxy_temp_path $TMP/tmp/proxy;
    fastcgi_temp_path $TMP/tmp/fastcgi;
    uwsgi_temp_path $TMP/tmp/uwsgi;
    scgi_temp_path $TMP/tmp/scgi;
    server {
        listen 127.0.0.1:$PORT reuseport;
        location = /small { return 200 "hello, world\n"; }
        location /1m/ { alias $TMP/www/1m/; }
        location /10m/ { alias $TMP/www/10m/; }
        location /big/ { alias $TMP/www/big/; }
        location = /sleep { echo_sleep 0.05; echo "slept"; }
    }
}
EOF
  # own session: a Ctrl-C in the terminal reaches the clients and this
  # script, and the trap below stops nginx after them
  setsid "$NGINX" -p "$TMP" -c "$TMP/nginx.conf" -e "$TMP/logs/error.log" \
    > "$TMP/logs/nginx.out" 2>&1 < /dev/null &
  NGINX_PID=$!
  BASE="http://127.0.0.1:$PORT"
  for _ in $(seq 100); do
    if ! kill -0 "$NGINX_PID" 2>/dev/null; then
      wait "$NGINX_PID" 2>/dev/null || true
      NGINX_PID=""
      return 1
    fi
    if "$CURL" -s -o /dev/null --max-time 1 "$BASE/small"; then return 0; fi
    sleep 0.1
  done
  return 1
}

started=0
for attempt in 1 2 3; do
  if start_nginx; then started=1; break; fi
  log "nginx did not start (attempt $attempt):"
  cat "$TMP/logs/nginx.out" "$TMP/logs/error.log" 2>/dev/null | tail -5 >&2 || true
  [[ -n "$NGINX_PID" ]] && { kill "$NGINX_PID" 2>/dev/null || true; wait "$NGINX_PID" 2>/dev/null || true; NGINX_PID=""; }
done
[[ $started == 1 ]] || die "could not start nginx"
log "nginx pid $NGINX_PID on $BASE"

# sanity: the server serves what the manifest says
"$CURL" -sS --fail "$BASE/small" | cmp -s - "$TMP/expect/small" || die "/small body is wrong"
"$CURL" -sS --fail "$BASE/sleep" | cmp -s - "$TMP/expect/sleep" || die "/sleep body is wrong"
"$CURL" -sS --fail "$BASE/10m/3" | cmp -s - "$TMP/www/10m/3" || die "/10m/3 body is wrong"

# ---------------------------------------------------------------- machine facts
FACTS="$TMP/facts.txt"
ver_lua() { "$LUAJIT" -e "package.path='/usr/share/lua/5.1/?.lua;'..package.path
  package.cpath='/usr/lib/x86_64-linux-gnu/lua/5.1/?.so;'..package.cpath
  $1" 2>/dev/null || echo "?"; }
dpkgv() { dpkg-query -W -f '${Version}' "$1" 2>/dev/null || echo "?"; }
{
  echo "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
  echo "host: nproc $(nproc), $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), $(awk '/MemTotal/ {printf "%.1f GiB RAM", $2/1048576}' /proc/meminfo), kernel $(uname -r)"
  echo "libcurl (LIMIT, ljhttp): $("$BENCH_DIR/limit" --version)"
  echo "luajit: $("$LUAJIT" -v 2>&1 | head -1)"
  echo "nginx: $("$NGINX" -v 2>&1 | sed 's/^nginx version: //'), 2 workers, echo module"
  echo "lua-curl: $(ver_lua 'local c=require("curl"); print(c._VERSION .. " (Debian " .. "'"$(dpkgv lua-curl)"'" .. "), " .. c.version())')"
  echo "lua-socket: $(ver_lua 'print(require("socket")._VERSION .. " (Debian '"$(dpkgv lua-socket)"')")')"
  echo "curl: $("$CURL" --version | head -1)"
  if [[ $HAVE_LJHTTP == 1 ]]; then
    echo "ljhttp: $("$LUAJIT" -e "package.path='$ROOT/lua/?.lua;$ROOT/lua/?/init.lua;'..package.path
      local i, err = require('ljhttp').info()
      print(i and (i.version .. ', library ' .. i.library_version .. ', ABI ' .. i.abi_version) or tostring(err))" 2>&1 | head -1)"
  else
    echo "ljhttp: not built"
  fi
  echo "rounds: $WARMUP warm-up + $ROUNDS counted$([[ $SMOKE == 1 ]] && echo ' (smoke)')"
} > "$FACTS"
cat "$FACTS"
echo

# ---------------------------------------------------------------- rounds
RAW="$TMP/results.txt"
: > "$RAW"

run_client() { # workload kind n conc client round
  local w="$1" kind="$2" n="$3" conc="$4" client="$5" round="$6"
  local -a cmd
  mapfile -t cmd < <(client_cmd "$client")
  local extra; extra="$(client_extra "$client")"
  local out="$TMP/out.txt" err="$TMP/err.txt" rc=0
  # --foreground: stay in our process group so Ctrl-C reaches the client;
  # $extra unquoted on purpose: empty means no argument
  # shellcheck disable=SC2086
  timeout --foreground "$CLIENT_TIMEOUT" "${cmd[@]}" "$kind" "$n" "$conc" "$BASE" "$MANIFEST" $extra \
    > "$out" 2> "$err" || rc=$?
  local line; line="$(grep -m1 '^RESULT ' "$out" || true)"
  if [[ $INTERRUPTED == 1 || $rc == 130 || $rc == 143 ]]; then log "interrupted"; exit 130; fi
  if [[ $rc != 0 || -z "$line" ]]; then
    echo "bench: FAILED: client $client, workload $w, round $round (exit $rc)" >&2
    echo "  command: ${cmd[*]} $kind $n $conc $BASE $MANIFEST $extra" >&2
    sed 's/^/  | /' "$err" "$out" | tail -20 >&2
    [[ $rc == 124 ]] && echo "  (timed out after ${CLIENT_TIMEOUT}s)" >&2
    exit 1
  fi
  echo "workload=$w round=$round client=$client ${line#RESULT }" >> "$RAW"
}

# Whether ONLY (empty: everything) names this workload or row.
selected() {
  [[ -z "${ONLY:-}" || " ${ONLY//,/ } " == *" $1 "* ]]
}

for spec in "${WORKLOADS[@]}"; do
  read -r w kind nfull nsmoke conc desc <<< "$spec"
  selected "$w" || continue
  n=$nfull; [[ $SMOKE == 1 ]] && n=$nsmoke
  echo "workload=$w meta n=$n conc=$conc desc=${desc// /_}" >> "$RAW"
  active=()
  for c in "${CLIENTS[@]}"; do
    plan="$(client_plan "$c" "$w")"
    if [[ $c == ljhttp* && $HAVE_LJHTTP == 0 && $plan != na:* ]]; then plan="na:not built"; fi
    if [[ " ${MISSING_PEERS[*]} " == *" $c "* && $plan != na:* ]]; then plan="na:not installed"; fi
    if [[ $plan == na:* ]]; then
      reason="${plan#na:}"
      if [[ $reason != - ]]; then echo "workload=$w client=$c na=${reason// /_}" >> "$RAW"; fi
      continue
    fi
    active+=("$c")
  done
  log "$w ($desc, n=$n): ${active[*]}"
  for ((r = 1 - WARMUP; r <= ROUNDS; r++)); do
    k=${#active[@]}
    for ((j = 0; j < k; j++)); do
      c="${active[$(( (j + r + k) % k ))]}"
      div="$(client_plan "$c" "$w")"
      cn=$(( n / div )); (( cn < 1 )) && cn=1
      run_client "$w" "$kind" "$cn" "$conc" "$c" "$r"
    done
    printf '.' >&2
  done
  echo >&2
done

# ---------------------------------------------------------------- report
"$LUAJIT" "$BENCH_DIR/report.lua" "$RAW" "$FACTS" "${RESULTS_MD:-}"
if [[ -n "$RESULTS_MD" ]]; then log "wrote $RESULTS_MD"; fi

# ------------------------------------------- Neovim: async vs curl per job
# N6: in headless Neovim, requests to the 50 ms endpoint in flight at
# once, and one large download, through ljhttp's async API and through
# one curl process each; the editor's lateness meanwhile.
if [[ $SMOKE == 1 ]]; then NVIM_N=${NVIM_N:-10}; NVIM_ROUNDS=${NVIM_ROUNDS:-1}; fi
if [[ ${NVIM_BENCH:-1} == 1 && $HAVE_LJHTTP == 1 ]] && selected N6 && command -v nvim >/dev/null; then
  log "N6 (headless Neovim, ${NVIM_N:-200} requests to /sleep at once)"
  nvim_out="$(N="${NVIM_N:-200}" ROUNDS="${NVIM_ROUNDS:-5}" BIG_URL="$BASE/big/body" \
    BIG_ROUNDS="${NVIM_BIG_ROUNDS:-$([[ $SMOKE == 1 ]] && echo 1 || echo 3)}" BIG_DIR="$TMP/nvim-big" \
    bash "$BENCH_DIR/nvim_async.sh" "$BASE/sleep")" \
    || die "the Neovim benchmark failed"
  printf '\n%s\n' "$nvim_out"
  if [[ -n "${RESULTS_MD:-}" ]]; then
    { printf '\n## N6: headless Neovim, %s requests to /sleep (50 ms) at once, and a 1 GiB download\n\n```\n%s\n```\n' \
        "${NVIM_N:-200}" "$nvim_out"; } >> "$RESULTS_MD"
  fi
fi

# ------------------------------------------- S1: start-up, one request
# Whole process from spawn to exit: ljhttp, the C one-shot, the Lua peers
# and the curl program, rotated round by round (bench/startup.lua).
if [[ ${STARTUP_BENCH:-1} == 1 && $HAVE_LJHTTP == 1 ]] && selected S1; then
  [[ $SMOKE == 1 ]] && export STARTUP_ROUNDS="${STARTUP_ROUNDS:-2}"
  [[ -x "$BENCH_DIR/oneshot" ]] || die "$BENCH_DIR/oneshot not built (run: make -C bench)"
  log "S1 (start-up: one request, whole process, ${STARTUP_ROUNDS:-50} rounds)"
  echo
  "$LUAJIT" "$BENCH_DIR/startup.lua" "$BASE/small" "${RESULTS_MD:-}" || die "the start-up benchmark failed"
fi

# ---------------------------------------------------------------- chart
# bench/results.svg from the tables just written (skipped without gnuplot).
if [[ -n "${RESULTS_MD:-}" ]]; then
  "$LUAJIT" "$BENCH_DIR/chart.lua" "$RESULTS_MD" "${RESULTS_SVG:-${RESULTS_MD%.md}.svg}" || log "WARNING: the chart failed"
fi
# ------------------------------------------------------- J1: JSON vs lua-cjson
if [[ ${JSON_BENCH:-1} == 1 && $HAVE_LJHTTP == 1 ]] && selected J1; then
  log "J1 (JSON decode/encode against lua-cjson)"
  json_args=()
  [[ $SMOKE == 1 ]] && json_args=(--smoke)
  json_out="$("$LUAJIT" "$BENCH_DIR/json.lua" "${json_args[@]}")" || die "the JSON benchmark failed"
  printf '\n%s\n' "$json_out"
  if [[ -n "${RESULTS_MD:-}" ]]; then
    printf '\n## J1: JSON through cJSON against lua-cjson\n\n```\n%s\n```\n' "$json_out" >> "$RESULTS_MD"
  fi
fi
exit 0
