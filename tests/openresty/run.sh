#!/usr/bin/env bash
# OpenResty host test: a real nginx with lua-nginx-module, ONE worker, a
# private config in a temp dir, ljhttp from this checkout, the fixture
# server as upstream. Checks that a 2 s upstream request made through
# ljhttp (async + wait, and the blocking ljhttp.get) does not stall the
# worker: a /fast request to the same worker meanwhile must answer at once.
#
#   tests/openresty/run.sh        (from anywhere; KEEP_TMP=1 keeps the dir)
#
# Environment: NGINX (nginx), NGINX_MODULES (/usr/lib/nginx/modules),
# PYTHON (python3), CURL (curl). Last line: "N passed, N failed"; exit
# status 0 only when nothing failed.
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
NGINX="${NGINX:-nginx}"
NGINX_MODULES="${NGINX_MODULES:-/usr/lib/nginx/modules}"
PYTHON="${PYTHON:-python3}"
CURL="${CURL:-curl}"

# shellcheck source=../lib.bash
source "$ROOT/tests/lib.bash"
ljh_setup openresty
PASSED=0
FAILED=0

ok() { PASSED=$((PASSED + 1)); echo "ok - $1"; }
not_ok() { FAILED=$((FAILED + 1)); echo "not ok - $1"; }
# check NAME ACTUAL EXPECTED: exact match
check_eq() { if [[ $2 == "$3" ]]; then ok "$1"; else not_ok "$1: got [$2], want [$3]"; fi; }
# check_lt NAME VALUE LIMIT (floating point)
lt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 < b + 0) }'; }

finish() {
  echo "$PASSED passed, $FAILED failed"
  [[ $FAILED == 0 ]]
  exit $?
}

abort() {
  not_ok "$1"
  if [[ -f $TMP/error.log ]]; then
    echo "--- nginx error.log (last lines)"; tail -n 30 "$TMP/error.log"
  fi
  finish
}

# ---- prerequisites
command -v "$NGINX" >/dev/null 2>&1 || abort "nginx not found (apt-get install nginx libnginx-mod-http-lua)"
for m in ndk_http_module.so ngx_http_lua_module.so; do
  [[ -f $NGINX_MODULES/$m ]] || abort "$NGINX_MODULES/$m missing (apt-get install libnginx-mod-http-lua)"
done
if [[ ! -f $ROOT/build/libljhttp.so ]]; then
  make -s -C "$ROOT" >/dev/null || abort "make failed"
fi

# ---- fixture
ljh_start_fixture "$TMP/fixture.port" || abort "fixture server did not start"
export LJH_UPSTREAM="$FIXTURE"
ljh_start_ws_fixture "$TMP/ws.port" || abort "the WebSocket fixture did not start"
export LJH_WS="$WS"

# ---- nginx
NPORT="$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
BASE="http://127.0.0.1:$NPORT"
USER_LINE=""
if [[ $(id -u) == 0 ]]; then
  # master runs as root: keep the worker as root too, so it can read this
  # checkout and the temp dir whatever their modes.
  USER_LINE="user root $(id -gn);"
fi
mkdir -p "$TMP/logs" "$TMP/tmp"
cat > "$TMP/nginx.conf" <<EOF
load_module $NGINX_MODULES/ndk_http_module.so;
load_module $NGINX_MODULES/ngx_http_lua_module.so;
$USER_LINE
daemon off;
master_process on;
worker_processes 1;
pid $TMP/nginx.pid;
error_log $TMP/error.log warn;
env LJH_UPSTREAM;
env LJH_WS;
env LJHTTP_LIBRARY;
env LJHTTP_BACKEND;
thread_pool ljh threads=2;

events { worker_connections 256; }

http {
    access_log off;
    client_body_temp_path $TMP/tmp/body;
    proxy_temp_path $TMP/tmp/proxy;
    fastcgi_temp_path $TMP/tmp/fastcgi;
    uwsgi_temp_path $TMP/tmp/uwsgi;
    scgi_temp_path $TMP/tmp/scgi;
    lua_package_path "$ROOT/lua/?.lua;$HERE/?.lua;;";

    server {
        listen 127.0.0.1:$NPORT;
        default_type text/plain;
        location = /info         { content_by_lua_block { require("ljh_or_app").info() } }
        location = /fast         { content_by_lua_block { require("ljh_or_app").fast() } }
        location = /slow_async   { content_by_lua_block { require("ljh_or_app").slow_async() } }
        location = /slow_blocking { content_by_lua_block { require("ljh_or_app").slow_blocking() } }
        location = /slow_plain   { content_by_lua_block { require("ljh_or_app").slow_plain() } }
        location = /seq          { content_by_lua_block { require("ljh_or_app").seq() } }
        location = /c_boundary   { content_by_lua_block { require("ljh_or_app").c_boundary() } }
        location = /many         { content_by_lua_block { require("ljh_or_app").many() } }
        location = /wait_timeout { content_by_lua_block { require("ljh_or_app").wait_timeout() } }
        location = /drip         { content_by_lua_block { require("ljh_or_app").drip() } }
        location = /iso          { content_by_lua_block { require("ljh_or_app").iso() } }
        location = /orphan_start { content_by_lua_block { require("ljh_or_app").orphan_start() } }
        location = /orphan_check { content_by_lua_block { require("ljh_or_app").orphan_check() } }
        location = /stream       { content_by_lua_block { require("ljh_or_app").stream() } }
        location = /no_relay     { content_by_lua_block { require("ljh_or_app").no_relay() } }
        location = /wake         { content_by_lua_block { require("ljh_or_app").wake() } }
        location = /answer_in    { content_by_lua_block { require("ljh_or_app").answer_in() } }
        location = /semas        { content_by_lua_block { require("ljh_or_app").semas() } }
        location = /ws           { content_by_lua_block { require("ljh_or_app").ws() } }
        location = /ws_event     { content_by_lua_block { require("ljh_or_app").ws_event() } }
        location = /thread       { content_by_lua_block { require("ljh_or_app").thread() } }
        location = /nested       { content_by_lua_block { require("ljh_or_app").nested() } }
        location = /thread_host  {
            content_by_lua_block {
                local ok, name = ngx.run_worker_thread("ljh", "ljh_or_thread", "host")
                ngx.say(tostring(ok), " ", tostring(name))
            }
        }
        location = /in_set {
            set_by_lua_block \$r { return require("ljh_or_app").in_set() }
            return 200 "\$r\n";
        }
    }
}
EOF
"$NGINX" -p "$TMP" -c "$TMP/nginx.conf" -e "$TMP/error.log" &
NGINX_PID=$!
for _ in $(seq 100); do
  "$CURL" -s -o /dev/null --max-time 1 "$BASE/fast" && break
  kill -0 "$NGINX_PID" 2>/dev/null || break
  sleep 0.05
done
"$CURL" -s -o /dev/null --max-time 2 "$BASE/fast" || abort "nginx did not start"
echo "# nginx $("$NGINX" -v 2>&1 | sed 's/.*: //'), one worker, port $NPORT; upstream $FIXTURE"

get() { "$CURL" -s --max-time 20 "$BASE$1"; }
get_up() { "$CURL" -s --max-time 5 "$FIXTURE$1"; }

check_eq "host is openresty in content_by_lua" "$(get /info)" "openresty content"

# ---- the point: a slow upstream request does not stall the worker.
# stalls PATH: starts PATH (2 s upstream) in the background, times /fast
# on the same (only) worker meanwhile, then checks the slow answer.
# Sets FAST and SLOW (seconds), SLOW_BODY, and FAST_EARLY: how long
# before the slow answer /fast's answer came (negative: after it).
# /fast is sent once the upstream has the slow request (its /stats count),
# not after a fixed sleep: on a loaded machine the slow request could reach
# the worker after /fast, and the control below then saw no stall.
stalls() {
  get_up /stats/reset >/dev/null
  ("$CURL" -s --max-time 30 -o "$TMP/slow.out" -w '%{time_total}' "$BASE$1" >"$TMP/slow.time"
   date +%s.%N >"$TMP/slow.end") &
  local spid=$! i fast_end
  for ((i = 0; i < 200; i++)); do
    [[ $(get_up /stats) == *"requests 0"* ]] || break
    sleep 0.05
  done
  FAST="$("$CURL" -s -o /dev/null --max-time 30 -w '%{time_total}' "$BASE/fast")"
  fast_end=$(date +%s.%N)
  wait "$spid"
  SLOW_BODY="$(cat "$TMP/slow.out")"
  SLOW="$(cat "$TMP/slow.time")"
  FAST_EARLY=$(awk -v s="$(cat "$TMP/slow.end")" -v f="$fast_end" 'BEGIN { printf "%.3f", s - f }')
}

for path in /slow_async /slow_blocking; do
  stalls "$path?ms=2000"
  echo "# /fast during $path (2 s upstream): ${FAST} s; $path itself: ${SLOW} s"
  check_eq "$path answer" "$SLOW_BODY" "200 slow 2000"
  if lt "$SLOW" 2.5; then ok "$path is not slowed by the polling ($SLOW s for 2 s upstream)"
  else not_ok "$path took $SLOW s for a 2 s upstream"; fi
  if lt "$FAST" 0.5; then ok "$path does not stall the worker (/fast took $FAST s)"
  else not_ok "$path stalls the worker: /fast took $FAST s (limit 0.5 s)"; fi
done

# Control: the plain (blocking) host does stall it, so the timing above
# can see a stall when there is one.
stalls "/slow_plain?ms=1500"
echo "# /fast during /slow_plain (1.5 s upstream, blocking host, control): ${FAST} s, answered ${FAST_EARLY} s before /slow_plain"
check_eq "/slow_plain answer" "$SLOW_BODY" "200 slow 1500"
# Stalled, /fast is answered only once the worker is free, after the slow
# answer (compared by when each ended: how long /fast took depends on how
# late the loaded machine got to send it).
if lt "$FAST_EARLY" 0.7; then ok "control: the blocking host stalls the worker (/fast answered ${FAST_EARLY} s before /slow_plain)"
else not_ok "control: expected /fast to wait behind the blocking call, answered ${FAST_EARLY} s before it"; fi

# ---- more of the host's behaviour
SEQ="$(get '/seq?n=50')"
if [[ $SEQ =~ ^50/50\ ([0-9]+)$ ]] && (( BASH_REMATCH[1] < 1500 )); then
  ok "50 sequential yielding requests in ${BASH_REMATCH[1]} ms"
else
  not_ok "50 sequential yielding requests: got [$SEQ] (want 50/50 in < 1500 ms)"
fi
check_eq "many handles + client:run() (yields)" "$(get '/many?n=50')" "true 50/50"
WT="$(get /wait_timeout)"
if [[ $WT =~ ^nil\ timeout\ ([0-9.]+)\ nil\ cancelled$ ]] && lt "${BASH_REMATCH[1]}" 0.6 && lt 0.15 "${BASH_REMATCH[1]}"; then
  ok "wait(0.2) times out (${BASH_REMATCH[1]} s), then cancel"
else
  not_ok "wait timeout/cancel: got [$WT]"
fi
check_eq "on_chunk in order, then the callback once" "$(get /drip)" "200 000111222333444|done 200 1"
check_eq "a stream read yields and wakes on its bytes" "$(get /stream)" "200 000111222333444 nil"
check_eq "no yield across a C boundary: blocks instead" "$(get /c_boundary)" "slow 50"
check_eq "set_by_lua falls back to the blocking call" "$(get /in_set)" "200 openresty set"

# ---- a request made inside another's encoding (options __index), four
# at once on one worker: each outer and inner request is its own
pids=()
for i in 1 2 3 4; do
  "$CURL" -s --max-time 20 "$BASE/nested?id=$i" >"$TMP/nested.$i" &
  pids+=($!)
done
wait "${pids[@]}"
bad=0
for i in 1 2 3 4; do
  want="who=outer&id=$i $i | 200 inner=$i"
  got="$(cat "$TMP/nested.$i")"
  [[ $got == "$want" ]] || { bad=1; echo "# nested $i: got [$got], want [$want]"; }
done
if (( bad == 0 )); then ok "requests made inside others' encodings, 4 at once: each its own"
else not_ok "requests made inside others' encodings got another's"; fi

# ---- isolation: six concurrent requests on one worker, each with its
# own callbacks; every response must hold its own lines and no other's.
for mode in module shared; do
  q=""; [[ $mode == shared ]] && q="&shared=1"
  pids=()
  for i in 1 2 3 4 5 6; do
    "$CURL" -s --max-time 20 "$BASE/iso?id=$i&ms=$(( (7 - i) * 40 ))$q" >"$TMP/iso.$i" &
    pids+=($!)
  done
  wait "${pids[@]}"
  bad=0
  for i in 1 2 3 4 5 6; do
    want="$(printf 'cb %s 200\ncb2 %s 200\ndone %s 200 chunks' "$i" "$i" "$i")"
    got="$(sort "$TMP/iso.$i" | tr -s '\n')"
    wsorted="$(printf '%s\n' "$want" | sort)"
    if [[ $got != "$wsorted" ]]; then
      bad=$((bad + 1)); echo "# /iso $mode id=$i got: $(tr '\n' '|' <"$TMP/iso.$i")"
    fi
  done
  check_eq "isolation ($mode): six concurrent requests, callbacks in their own response" "$bad" 0
done

# ---- WebSocket: each request reads its own socket; a waiting one yields
pids=()
for i in 1 2 3 4; do
  "$CURL" -s --max-time 20 "$BASE/ws?id=$i" >"$TMP/ws.$i" &
  pids+=($!)
done
sleep 0.2
t_fast="$("$CURL" -s -o /dev/null -w '%{time_total}' --max-time 10 "$BASE/fast")"
wait "${pids[@]}"
bad=0
for i in 1 2 3 4; do
  want="$(printf 'echo ws-%s-a\necho ws-%s-b\ntimeout\nclosed 1000' "$i" "$i")"
  got="$(cat "$TMP/ws.$i")"
  [[ $got == "$want" ]] || { bad=$((bad + 1)); echo "# /ws id=$i got: $(tr '\n' '|' <"$TMP/ws.$i")"; }
done
check_eq "websocket: four concurrent requests each get their own echoes" "$bad" 0
if lt "$t_fast" 0.4; then ok "websocket: a receive() waiting 0.5 s does not stall the worker (/fast took $t_fast s)"
else not_ok "websocket: /fast took $t_fast s while receive() waited"; fi

# ---- a WebSocket wait wakes on its socket (the relay), not a sleep timer
WE="$(get /ws_event)"
echo "# /ws_event: push, 2 MB echo, ngx.sleep calls, relay waits, push ms = $WE"
if [[ $WE =~ ^later\ 2097152\ 0\ true\ ([0-9.]+)$ ]] && lt "${BASH_REMATCH[1]}" 2000; then
  ok "websocket: a push and a 2 MB echo arrive through the relay, no ngx.sleep (${BASH_REMATCH[1]} ms)"
else
  not_ok "websocket event-driven wait: got [$WE] (want later 2097152 0 true <ms>)"
fi

WE="$(get '/ws_event?no_relay=1')"
if [[ $WE =~ ^later\ 2097152\ ([0-9]+)\ false\ [0-9.]+$ ]] && (( BASH_REMATCH[1] > 0 )); then
  ok "websocket without the relay: the same messages through ngx.sleep (${BASH_REMATCH[1]} sleeps)"
else
  not_ok "websocket without the relay: got [$WE] (want later 2097152 <sleeps > 0> false <ms>)"
fi

# ---- a handler that ends without waiting: callback dropped, transfer cancelled
check_eq "orphan request started" "$(get '/orphan_start?ms=4000')" "started"
check_eq "orphan: cancelled, its callback never ran" "$(get /orphan_check)" "true cancelled false"

# ---- waits wake on events, not on a timer
WK="$(get '/wake?n=7')"
echo "# /wake (7 x 20 ms upstream): polls wakeups n median_ms = $WK"
if [[ ${LJHTTP_BACKEND:-} == portable ]]; then
  # no descriptor for the relay to watch: waits poll, and still finish
  if [[ $WK =~ ^([0-9]+)\ [0-9]+\ 7\ [0-9.]+$ ]] && (( BASH_REMATCH[1] > 0 )); then
    ok "portable backend: waits poll (no relay) and all 7 requests finish"
  else
    not_ok "portable backend wait: got [$WK] (want <polls > 0> <wake-ups> 7 <ms>)"
  fi
elif [[ $WK =~ ^0\ ([0-9]+)\ 7\ ([0-9.]+)$ ]] && (( BASH_REMATCH[1] <= 21 )); then
  ok "a wait wakes on data, no timer tick (${BASH_REMATCH[1]} wake-ups for 7 requests, median ${BASH_REMATCH[2]} ms)"
else
  not_ok "event-driven wait: got [$WK] (want 0 polls, <= 3 wake-ups a request)"
fi

if [[ ${LJHTTP_BACKEND:-} != portable ]]; then
  check_eq "an answer already in when the wait starts: no relay turn" "$(get /answer_in)" "0 200"
  check_eq "a new client's driver makes one semaphore (its idle one)" "$(get /semas)" "1 200"
fi

check_eq "without the relay: waits poll, callbacks still run" "$(get /no_relay)" "200 200 polled"

# ---- ngx.run_worker_thread (lua-nginx-module >= 0.10.21, Linux)
TH="$(get /thread_host)"
if [[ $TH == true* ]]; then
  echo "# in ngx.run_worker_thread, ljhttp's host is: ${TH#true }"
  check_eq "worker thread host is the plain blocking one" "$TH" "true luajit"
  stalls "/thread?ms=2000"
  echo "# /fast during /thread (2 s upstream in a worker thread): ${FAST} s; /thread itself: ${SLOW} s"
  check_eq "/thread answer" "$SLOW_BODY" "200 slow 2000"
  if lt "$FAST" 0.5; then ok "/thread does not stall the worker (/fast took $FAST s)"
  else not_ok "/thread stalls the worker: /fast took $FAST s"; fi
else
  not_ok "ngx.run_worker_thread unavailable or failed: [$TH]"
fi

# ---- nginx must not have logged Lua errors
if grep -E '\[(error|alert|crit|emerg)\]' "$TMP/error.log" >/dev/null 2>&1; then
  not_ok "nginx error.log has errors:"; grep -E '\[(error|alert|crit|emerg)\]' "$TMP/error.log" | tail -n 20
else
  ok "no errors in nginx's error.log"
fi

finish
