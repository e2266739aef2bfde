#!/usr/bin/env bash
# OpenResty benchmark (bench/README.md, "OpenResty"): a front nginx with
# ONE worker fetches from a local upstream nginx through
#   ljhttp async   http.get_async(url):wait()
#   ljhttp block   http.get(url) (yields: the host's perform hook)
#   cosocket       a minimal HTTP/1.1 GET on ngx.socket.tcp with keepalive
#                  (bench/openresty_app.lua): the limit for a Lua client
#   proxy_pass     nginx itself, upstream keepalive: nginx's limit
# and wrk loads the front at several concurrencies. Rows: 13 B, 64 KiB,
# a 20 ms delayed reply, and a fan-out of 3 x 13 B per request (ljhttp:
# 3 async + waits, or request_batch; cosocket: 3 light threads). Every
# client runs in the same round, so the ratios compare like with like.
#
#   bench/openresty.sh            DURATION=5 (s per cell), ROUNDS=1
#   bench/openresty.sh --smoke    1 s per cell, fewer rows
#   OR_ROWS=REGEX                 only the rows whose "name|path|c" match
#   bench/openresty.sh --serve    start both nginx, print the front's URL
#                                 and worker pid, wait (for strace/perf)
#   OR_JIT=v|dump OR_JIT_OUT=FILE LuaJIT's jit.v / jit.dump log of the
#                                 front worker (init_worker_by_lua)
#   /prof?mode=vl&out=FILE ... /prof  jit.p over a wrk run (openresty_app.lua)
#   OR_FRONT_WRAP="valgrind --tool=callgrind ..."  runs the front as one
#                                 process (master_process off) under that
#                                 command; with --serve, for instructions
#                                 per request (bench/README.md)
#
# Prints a markdown table; writes it to OR_RESULTS_MD if set.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
NGINX="${NGINX:-nginx}"
NGINX_MODULES="${NGINX_MODULES:-/usr/lib/nginx/modules}"
WRK="${WRK:-wrk}"
DURATION="${DURATION:-5}"
ROUNDS="${ROUNDS:-1}"
SMOKE=0
SERVE=0
[[ ${1:-} == --smoke ]] && SMOKE=1 && DURATION=1
[[ ${1:-} == --serve ]] && SERVE=1

log() { echo "bench-openresty: $*" >&2; }
command -v "$WRK" >/dev/null || { log "skipped: wrk not found (apt-get install wrk)"; exit 0; }
command -v "$NGINX" >/dev/null || { log "skipped: nginx not found"; exit 0; }
[[ -f $NGINX_MODULES/ngx_http_lua_module.so ]] || { log "skipped: no lua-nginx-module"; exit 0; }
[[ -f $ROOT/build/libljhttp.so ]] || make -s -C "$ROOT" >/dev/null

TMP="$(mktemp -d "${TMPDIR:-/tmp}/ljhttp-orbench.XXXXXX")"
chmod 755 "$TMP"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [[ ${KEEP_TMP:-0} == 1 ]] || rm -rf "$TMP"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
USER_LINE=""
[[ $(id -u) == 0 ]] && USER_LINE="user root $(id -gn);"
COMMON="load_module $NGINX_MODULES/ndk_http_module.so;
load_module $NGINX_MODULES/ngx_http_lua_module.so;
$USER_LINE
daemon off;
master_process on;
worker_processes 1;
events { worker_connections 4096; }"
TEMPS="access_log off; client_body_temp_path $TMP/tmp; proxy_temp_path $TMP/tmp;
    fastcgi_temp_path $TMP/tmp; uwsgi_temp_path $TMP/tmp; scgi_temp_path $TMP/tmp;
    keepalive_requests 1000000; keepalive_timeout 300s;"

mkdir -p "$TMP/up" "$TMP/front" "$TMP/www" "$TMP/tmp"
printf 'hello, world\n' > "$TMP/www/small"
head -c 65536 /dev/urandom > "$TMP/www/64k"
UPORT="$(free_port)"
cat > "$TMP/up/nginx.conf" <<EOF
$COMMON
pid $TMP/up/nginx.pid;
error_log $TMP/up/error.log warn;
http {
    $TEMPS
    default_type application/octet-stream;
    server {
        listen 127.0.0.1:$UPORT;
        location = /small { alias $TMP/www/small; }
        location = /64k   { alias $TMP/www/64k; }
        location = /delay {
            content_by_lua_block {
                ngx.sleep(0.02)
                ngx.header["Content-Length"] = 13
                ngx.print("hello, world\n")
            }
        }
    }
}
EOF
FPORT="$(free_port)"
JIT_LINE=""
if [[ -n ${OR_JIT:-} ]]; then
  JIT_LINE="init_worker_by_lua_block { require(\"jit.$OR_JIT\").on(${OR_JIT_FLAGS:+\"$OR_JIT_FLAGS\", }\"${OR_JIT_OUT:-$TMP/jit.log}\") }"
fi
loc() { echo "location = /$1 { content_by_lua_block { require(\"openresty_app\").$2() } }"; }
FRONT_COMMON="$COMMON"
[[ -n ${OR_FRONT_WRAP:-} ]] && FRONT_COMMON="${COMMON/master_process on;/master_process off;}"
cat > "$TMP/front/nginx.conf" <<EOF
$FRONT_COMMON
pid $TMP/front/nginx.pid;
error_log $TMP/front/error.log warn;
env LJH_BENCH_UPSTREAM;
http {
    $TEMPS
    lua_package_path "$ROOT/lua/?.lua;$HERE/?.lua;;";
    $JIT_LINE
    upstream up { server 127.0.0.1:$UPORT; keepalive 256; }
    server {
        listen 127.0.0.1:$FPORT;
        $(loc async async) $(loc block blocking) $(loc cosocket cosocket)
        $(loc probe probe) $(loc prof prof) $(loc stats stats) $(loc async_fan async_fan) $(loc block_fan blocking_fan) $(loc cosocket_fan cosocket_fan)
        location = /proxy { proxy_pass http://up\$arg_p; proxy_http_version 1.1; proxy_set_header Connection ""; }
    }
}
EOF
export LJH_BENCH_UPSTREAM="127.0.0.1:$UPORT"
"$NGINX" -p "$TMP/up" -c "$TMP/up/nginx.conf" -e "$TMP/up/error.log" & PIDS+=($!)
# shellcheck disable=SC2086 # OR_FRONT_WRAP is a command line
${OR_FRONT_WRAP:-} "$NGINX" -p "$TMP/front" -c "$TMP/front/nginx.conf" -e "$TMP/front/error.log" & FRONT=$!; PIDS+=($FRONT)
TRIES=100; [[ -n ${OR_FRONT_WRAP:-} ]] && TRIES=1000 # (valgrind starts slowly)
for _ in $(seq $TRIES); do
  curl -s -o /dev/null "http://127.0.0.1:$FPORT/async?p=/small" && curl -s -o /dev/null "http://127.0.0.1:$UPORT/small" && break
  sleep 0.05
done
if [[ -n ${OR_FRONT_WRAP:-} ]]; then WORKER=$FRONT; else WORKER="$(pgrep -P "$FRONT" | head -1 || true)"; fi
[[ -n $WORKER ]] || { log "front nginx did not start"; cat "$TMP/front/error.log" >&2; exit 1; }
for ep in async block cosocket; do
  [[ "$(curl -s "http://127.0.0.1:$FPORT/$ep?p=/small")" == "hello, world" ]] || { log "/$ep is broken"; tail "$TMP/front/error.log" >&2; exit 1; }
done

if [[ $SERVE == 1 ]]; then
  log "serving: front http://127.0.0.1:$FPORT (worker pid $WORKER), upstream http://127.0.0.1:$UPORT; paths /async /block /cosocket /proxy ?p=/small|/64k|/delay; Ctrl-C ends"
  wait "$FRONT"
  exit 0
fi

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$WORKER/stat"; }
TCK="$(getconf CLK_TCK)"
# cell PATH CONC -> "req/s p50_ms cpu_us_per_req"
cell() {
  local t0 t1 out
  t0="$(cpu_ticks)"
  out="$("$WRK" -t1 -c"$2" -d"${DURATION}s" --latency "http://127.0.0.1:$FPORT$1" 2>&1)"
  t1="$(cpu_ticks)"
  if grep -q "Non-2xx\|Socket errors" <<<"$out"; then
    log "errors on $1 c=$2:"; echo "$out" | grep "Non-2xx\|Socket errors" >&2
  fi
  awk -v dt=$((t1 - t0)) -v tck="$TCK" -v d="$DURATION" '
    /Requests\/sec/ { rps = $2 }
    /^ +50%/ { v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v)
               p50 = (u == "us") ? v / 1000 : (u == "s") ? v * 1000 : v }
    END { n = rps * d; printf "%.0f %.3f %.1f\n", rps, p50, (n > 0 ? dt / tck * 1e6 / n : 0) }' <<<"$out"
}

ROWS=("13 B|/small|1" "13 B|/small|10" "13 B|/small|50" "64 KiB|/64k|1" "64 KiB|/64k|10"
      "20 ms delay|/delay|1" "20 ms delay|/delay|10" "fan-out 3 x 13 B|/small|1|fan" "fan-out 3 x 13 B|/small|10|fan")
[[ $SMOKE == 1 ]] && ROWS=("13 B|/small|1" "20 ms delay|/delay|1" "fan-out 3 x 13 B|/small|1|fan")
if [[ -n ${OR_ROWS:-} ]]; then # e.g. OR_ROWS='/small\|50$': rows whose "name|path|c" match
  keep=(); for r in "${ROWS[@]}"; do grep -q -- "$OR_ROWS" <<<"$r" && keep+=("$r"); done; ROWS=("${keep[@]}")
fi

TABLE="| upstream | c | ljhttp async: req/s, p50 ms, CPU µs/req | ljhttp blocking | cosocket | proxy_pass | async/cosocket: req/s, p50 |
|---|---|---|---|---|---|---|"
for row in "${ROWS[@]}"; do
  IFS='|' read -r name p c fan <<<"$row"
  declare -A R=()
  for round in $(seq "$ROUNDS"); do
    for client in async block cosocket proxy; do
      [[ -n $fan && $client == proxy ]] && continue
      ep="/$client"; [[ -n $fan ]] && ep="/${client}_fan"
      R[$client.$round]="$(cell "$ep?p=$p" "$c")"
    done
  done
  # median over rounds of each figure
  med() { for r in $(seq "$ROUNDS"); do echo "${R[$1.$r]}" | awk -v f="$2" '{ print $f }'; done | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
  fmt() { [[ -z ${R[$1.1]:-} ]] && { echo "-"; return; }; echo "$(med "$1" 1), $(med "$1" 2), $(med "$1" 3)"; }
  ratio="$(awk -v a="$(med async 1)" -v b="$(med cosocket 1)" -v pa="$(med async 2)" -v pb="$(med cosocket 2)" \
    'BEGIN { printf "%.2fx, %.2fx (%+.2f ms)", a / b, pa / pb, pa - pb }')"
  line="| $name | $c | $(fmt async) | $(fmt block) | $(fmt cosocket) | $(fmt proxy) | $ratio |"
  echo "$line" >&2
  TABLE="$TABLE
$line"
  unset R
done
if grep -E '\[(error|alert|crit|emerg)\]' "$TMP/front/error.log" >&2; then
  log "the front nginx logged errors (above)"; exit 1
fi
echo "$TABLE"
if [[ -n ${OR_RESULTS_MD:-} ]]; then # the file's "## Notes" section stays
  notes=""; [[ -f $OR_RESULTS_MD ]] && notes="$(sed -n '/^## Notes/,$p' "$OR_RESULTS_MD")"
  { echo "Run $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), wrk -t1 ${DURATION}s per cell, $ROUNDS round(s); nginx $("$NGINX" -v 2>&1 | sed 's/.*\///')"
    echo; echo "$TABLE"; [[ -z $notes ]] || printf '\n%s\n' "$notes"; } > "$OR_RESULTS_MD"
fi
exit 0
