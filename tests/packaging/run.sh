#!/usr/bin/env bash
# Packaging tests (make test-packaging): what a newcomer meets first.
#   - docs: README <-> doc/ljhttp.txt <-> LuaCATS types <-> the code
#     (check_docs.lua), lua-language-server when installed;
#   - Neovim: :checkhealth ljhttp, :help ljhttp (doc/tags up to date),
#     the example plugin examples/nvim (:LjhttpFetch);
#   - OpenResty: examples/openresty/nginx.conf in a real nginx;
#   - examples/demo.sh (make demo: every examples/*.lua, the unchanged
#     gluahttp script included);
#   - the benchmark chart (bench/chart.lua; skipped without gnuplot).
#
# Environment: NVIM, NGINX, NGINX_MODULES, PYTHON, CURL, LUAJIT. Last
# line: "N passed, N failed"; exit status 0 only when nothing failed.
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
NVIM="${NVIM:-nvim}"
NGINX="${NGINX:-nginx}"
NGINX_MODULES="${NGINX_MODULES:-/usr/lib/nginx/modules}"
PYTHON="${PYTHON:-python3}"
CURL="${CURL:-curl}"
LUAJIT="${LUAJIT:-luajit}"

# shellcheck source=../lib.bash
source "$ROOT/tests/lib.bash"
ljh_setup packaging
PASSED=0
FAILED=0

ok() { PASSED=$((PASSED + 1)); echo "ok - $1"; }
not_ok() { FAILED=$((FAILED + 1)); echo "not ok - $1"; }
check() { if eval "$2"; then ok "$1"; else not_ok "$1${3:+: $3}"; fi; }
# Echoes the "ok - / not ok - " lines of a sub-test and counts them;
# $2 names the sub-test when it printed nothing.
# count_lines OUTPUT NAME [STATUS]: counts OUTPUT's ok/not ok lines; a
# script that printed none, or ended with a non-zero STATUS (an assert
# after some results), is one failure more.
count_lines() {
  local out=$1 name=$2 status=${3:-0} n=0 line
  while IFS= read -r line; do
    case "$line" in
    "ok - "*) PASSED=$((PASSED + 1)); n=$((n + 1)); echo "$line" ;;
    "not ok - "*) FAILED=$((FAILED + 1)); n=$((n + 1)); echo "$line" ;;
    esac
  done <<< "$out"
  [[ $n -gt 0 ]] || not_ok "$name printed no result"
  if [[ $status != 0 ]]; then
    not_ok "$name exited with status $status"
    printf '%s\n' "$out" | tail -n 5 | sed 's/^/#   /'
  fi
}
finish() {
  echo "$PASSED passed, $FAILED failed"
  [[ $FAILED == 0 ]]
  exit $?
}

if [[ ! -f $ROOT/build/libljhttp.so ]]; then
  make -s -C "$ROOT" >/dev/null || { not_ok "make failed"; finish; }
fi

ljh_start_fixture "$TMP/fixture.port" || { not_ok "fixture server did not start"; finish; }

# ---------------------------------------------------------------- docs and types
echo "# docs: README, doc/ljhttp.txt, lua/ljhttp/types.lua and the code agree"
out="$("$LUAJIT" "$HERE/check_docs.lua" "$ROOT" 2>&1)" && st=0 || st=$?
count_lines "$out" "check_docs.lua" "$st"

if command -v lua-language-server >/dev/null 2>&1; then
  if lua-language-server --check "$ROOT/lua" --checklevel=Warning >"$TMP/luals.out" 2>&1; then
    ok "lua-language-server --check lua/"
  else
    not_ok "lua-language-server --check lua/"; tail -n 30 "$TMP/luals.out"
  fi
else
  echo "# lua-language-server is not installed (no Debian 12 or npm package): skipped;"
  echo "#   check_docs.lua above checks the annotations' coverage and type names"
fi

# ---------------------------------------------------------------- Neovim
if ! command -v "$NVIM" >/dev/null 2>&1; then
  not_ok "nvim not found (apt-get install neovim)"
else
  echo "# $("$NVIM" --version | head -n 1)"
  # :checkhealth ljhttp, exactly as a user runs it
  run_health() { # output-file [env...]
    local out=$1; shift
    rm -f "$out"
    env "$@" timeout 60 "$NVIM" --headless --clean -u NONE -i NONE --cmd "set rtp+=$ROOT" \
      +"checkhealth ljhttp" +"w! $out" +qa </dev/null >"$TMP/health.log" 2>&1
  }
  # Whether the output holds ljhttp's own first section. Neovim 0.7-0.9
  # write "## ljhttp: LuaJIT" under a "ljhttp: require(...)" or "## ljhttp"
  # header; 0.10-0.12 write "ljhttp: LuaJIT ~" under "ljhttp:   ✅" and mark
  # lines "- ✅ OK" / "- ❌ ERROR" (the words OK and ERROR stay).
  health_ran() { grep -qE '^(## )?ljhttp: LuaJIT( ~)?[[:space:]]*$' <<< "$1"; }
  H07=$'\nljhttp: require("ljhttp.health").check()\n=====\n## ljhttp: LuaJIT\n  - OK: LuaJIT 2.1 with the FFI\n'
  H10=$'\n=====\nljhttp:                    \u2705\n\nljhttp: LuaJIT ~\n- \u2705 OK LuaJIT 2.1 with the FFI\n'
  HNONE=$'\n=====\nljhttp:                    \u274c\n\n- \u274c ERROR No healthcheck found for "ljhttp" plugin.\n'
  check ":checkhealth output parser reads Neovim 0.7-0.9 and 0.10-0.12 formats" \
    'health_ran "$H07" && health_ran "$H10" && ! health_ran "$HNONE"'
  run_health "$TMP/health.out"
  H="$(cat "$TMP/health.out" 2>/dev/null)"
  check ":checkhealth ljhttp runs" 'health_ran "$H"' "$(tail -n 5 "$TMP/health.log")"
  check ":checkhealth ljhttp reports no ERROR" '[[ -n $H && $H != *ERROR* ]]' "$(grep -n ERROR "$TMP/health.out")"
  for want in "with the FFI" "found: $ROOT/build/libljhttp.so" "ABI version $(sed -n "s/.*LJH_ABI_VERSION = \([0-9]*\).*/\1/p" "$ROOT/cdef/ljhttp.h") matches" "libcurl " \
    "TLS backend: " "HTTP/2: " "decompression" "async engine: get_async to a local listener answered" \
    "OS: $(uname -s), architecture: " "backend: epoll"; do
    check ":checkhealth ljhttp says \"$want\"" '[[ $H == *"$want"* ]]'
  done
  run_health "$TMP/health-bad.out" LJHTTP_LIBRARY=/nonexistent/libljhttp.so
  H="$(cat "$TMP/health-bad.out" 2>/dev/null)"
  check ":checkhealth ljhttp reports a missing library as an ERROR" \
    '[[ $H == *"ERROR"*"/nonexistent/libljhttp.so"* ]]' "$H"
  check ":checkhealth ljhttp names :LjhttpBuild when the library is missing" \
    '[[ $H == *":LjhttpBuild"* && $H == *"PackChanged"* ]]' "$H"

  out="$(timeout 60 "$NVIM" --headless --clean -u NONE -i NONE --cmd "set rtp+=$ROOT" \
    -c "luafile $HERE/nvim_health_api.lua" </dev/null 2>&1)" && st=0 || st=$?
  count_lines "$out" "nvim_health_api.lua" "$st"
  out="$("$LUAJIT" "$HERE/nvim_deprecated.lua" "$ROOT" 2>&1)" && st=0 || st=$?
  count_lines "$out" "nvim_deprecated.lua" "$st"

  # :help ljhttp; doc/tags is what :helptags makes of doc/ljhttp.txt
  mkdir -p "$TMP/doc"
  cp "$ROOT/doc/ljhttp.txt" "$TMP/doc/"
  out="$(LJH_ROOT="$ROOT" LJH_TMP="$TMP" timeout 60 "$NVIM" --headless --clean -u NONE -i NONE \
    --cmd "set rtp+=$ROOT" -c "luafile $HERE/nvim_help.lua" </dev/null 2>&1)" && st=0 || st=$?
  count_lines "$out" "nvim_help.lua" "$st"
  if [[ -f $TMP/doc/tags ]] && cmp -s "$TMP/doc/tags" "$ROOT/doc/tags"; then
    ok "doc/tags is up to date (:helptags doc)"
  else
    not_ok "doc/tags is stale: run  nvim --headless --clean -u NONE +'helptags doc' +qa"
    diff "$ROOT/doc/tags" "$TMP/doc/tags" 2>&1 | head -n 10
  fi

  # the example plugin: :LjhttpFetch <url>, :LjhttpWs <url>
  ljh_start_ws_fixture "$TMP/ws.port" || not_ok "the WebSocket fixture did not start"
  out="$(LJH_ROOT="$ROOT" LJH_FIXTURE="$FIXTURE" LJH_WS="${WS:-}" timeout 60 "$NVIM" --headless --clean -u NONE -i NONE \
    -c "luafile $HERE/nvim_fetch.lua" </dev/null 2>&1)" && st=0 || st=$?
  count_lines "$out" "nvim_fetch.lua (examples/nvim)" "$st"
fi

# ---------------------------------------------------------------- OpenResty
# examples/openresty/nginx.conf as shipped, with its two placeholders
# rewritten: /opt/ljhttp -> this checkout, port 8080 -> a free one.
echo "# examples/openresty/nginx.conf in a real nginx"
if ! command -v "$NGINX" >/dev/null 2>&1 || [[ ! -f $NGINX_MODULES/ngx_http_lua_module.so ]]; then
  not_ok "nginx with the Lua module not found (apt-get install nginx libnginx-mod-http-lua)"
else
  NPORT="$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  mkdir -p "$TMP/nginx/logs"
  chmod 755 "$TMP" "$TMP/nginx"
  sed -e "s#/opt/ljhttp#$ROOT#g" -e "s#listen 127.0.0.1:8080;#listen 127.0.0.1:$NPORT;#" \
    -e "s#/usr/lib/nginx/modules/#$NGINX_MODULES/#g" \
    "$ROOT/examples/openresty/nginx.conf" >"$TMP/nginx/nginx.conf"
  check "the config's placeholders were rewritten" \
    '! grep -q "/opt/ljhttp\|:8080;" "$TMP/nginx/nginx.conf"'
  GLOBAL="daemon off;"
  # as root, the master would hand the workers to "nobody": keep root so
  # they can read this checkout whatever its modes
  [[ $(id -u) == 0 ]] && GLOBAL="$GLOBAL user root $(id -gn);"
  LJHTTP_LIBRARY="$ROOT/build/libljhttp.so" "$NGINX" -p "$TMP/nginx" -e logs/error.log \
    -c "$TMP/nginx/nginx.conf" -g "$GLOBAL" >"$TMP/nginx/stdout" 2>&1 &
  NGINX_PID=$!
  BASE="http://127.0.0.1:$NPORT"
  for _ in $(seq 100); do
    "$CURL" -s -o /dev/null --max-time 1 "$BASE/hello" && break
    kill -0 "$NGINX_PID" 2>/dev/null || break
    sleep 0.05
  done
  if ! "$CURL" -s -o /dev/null --max-time 2 "$BASE/hello"; then
    not_ok "nginx did not start with examples/openresty/nginx.conf"
    cat "$TMP/nginx/stdout" "$TMP/nginx/logs/error.log" 2>/dev/null | tail -n 20
  else
    ok "nginx loads examples/openresty/nginx.conf"
    get() { "$CURL" -s --max-time 20 "$BASE$1"; }
    A="$(get /async)"
    check "/async: the non-blocking API (one worker fetching from itself)" \
      '[[ $A == "async 200 hello from nginx" ]]' "[$A]"
    T="$(get /thread)"
    check "/thread: the blocking API in ngx.run_worker_thread" \
      '[[ $T == "thread 200 hello from nginx" ]]' "[$T]"
    I="$(get /info)"
    check "/info: the library came from LJHTTP_LIBRARY (env directive)" \
      '[[ $I == "ljhttp 0.1.0, libcurl "*", $ROOT/build/libljhttp.so" ]]' "[$I]"
    check "no errors in nginx's error.log" \
      '! grep -qE "\[(error|alert|crit|emerg)\]" "$TMP/nginx/logs/error.log"' \
      "$(grep -E '\[(error|alert|crit|emerg)\]' "$TMP/nginx/logs/error.log" | tail -n 5)"
  fi
  if [[ -n $NGINX_PID ]]; then
    kill -QUIT "$NGINX_PID" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$NGINX_PID" 2>/dev/null || break; sleep 0.1; done
    NGINX_PID=""
  fi
fi

# ---------------------------------------------------------------- make demo
echo "# examples/demo.sh (make demo)"
if LUAJIT="$LUAJIT" timeout 120 sh "$ROOT/examples/demo.sh" >"$TMP/demo.out" 2>&1; then
  ok "examples/demo.sh exits 0"
else
  not_ok "examples/demo.sh failed"; tail -n 20 "$TMP/demo.out"
fi
D="$(cat "$TMP/demo.out")"
for f in "$ROOT"/examples/*.lua; do
  name="$(basename "$f")"
  [[ $name == path.lua ]] && continue
  check "make demo runs examples/$name" '[[ $D == *"==== examples/$name"* ]]'
done
check "no Lua error in the demo" '[[ $D != *"stack traceback"* ]]'
for want in $'GET /headers ->\t200' $'3\terror:\tRequest must be a table' \
  "client with a jar sends:   session=abc123; theme=dark" "streamed 4 chunks: 000 111 222 333" \
  "read_ref: 5000000 bytes in" "plain GET hashes the same:"$'\t'"true" $'  event:\t3\tevent 3' \
  $'200\tunsupported protocol scheme "nope"' $'nil\tinvalid duration "soon"'; do
  check "demo output has \"${want//$'\t'/ }\"" '[[ $D == *"$want"* ]]'
done

# ---------------------------------------------------------------- bench chart
echo "# bench/chart.lua (the SVG make bench writes)"
check "bench/results.svg is in the repository" '[[ -s $ROOT/bench/results.svg ]]'
if command -v gnuplot >/dev/null 2>&1; then
  if "$LUAJIT" "$ROOT/bench/chart.lua" "$ROOT/bench/results.md" "$TMP/chart.svg" 2>"$TMP/chart.err"; then
    ok "bench/chart.lua draws bench/results.md"
    check "the chart is well-formed SVG with every workload and client" \
      '"$PYTHON" - "$TMP/chart.svg" <<"PY"
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
text = "".join(root.itertext())
assert root.tag.endswith("svg"), root.tag
for want in ("W1:", "W2:", "W3:", "W4:", "W5:", "ljhttp", "lua-curl", "LuaSocket", "curl per request", "LIMIT"):
    assert want in text, want
PY'
  else
    not_ok "bench/chart.lua failed: $(cat "$TMP/chart.err")"
  fi
else
  echo "# gnuplot is not installed: chart not drawn (Debian: gnuplot-nox)"
  out="$("$LUAJIT" "$ROOT/bench/chart.lua" "$ROOT/bench/results.md" "$TMP/chart.svg" 2>&1)"
  rc=$?
  check "without gnuplot the chart step says so and succeeds" '[[ $rc == 0 && $out == *"gnuplot not found"* ]]' "$out"
fi

# ------------------------------------------- bench-smoke without lua-curl
# Debian unstable has no lua-curl: the benchmark leaves that peer out and
# says so. Simulated by hiding the module in a private mount namespace.
CURL_SO="$("$LUAJIT" -e "package.cpath='/usr/lib/x86_64-linux-gnu/lua/5.1/?.so;'..package.cpath
  print(package.searchpath and package.searchpath('curl', package.cpath) or '')" 2>/dev/null)"
[[ -n $CURL_SO ]] || CURL_SO=/usr/lib/x86_64-linux-gnu/lua/5.1/curl.so
if [[ ! -f $CURL_SO ]]; then
  echo "# lua-curl is not installed here: make bench-smoke already runs without it"
elif ! unshare -m true 2>/dev/null; then
  echo "# unshare -m is not allowed here: bench without lua-curl not simulated"
elif ! make -s -C "$ROOT/bench" limit oneshot >/dev/null 2>&1; then
  not_ok "make -C bench limit oneshot failed"
else
  out="$(unshare -m sh -c 'mount --bind /dev/null "$0" && exec env ONLY="W1 S1" NVIM_BENCH=0 JSON_BENCH=0 bash "$1" --smoke' \
    "$CURL_SO" "$ROOT/bench/run.sh" 2>&1)"
  rc=$?
  check "bench --smoke without lua-curl succeeds and says the peer is left out" \
    '[[ $rc == 0 && $out == *"lua-curl is not installed"* && $out == *"not installed"* ]]' "$(tail -n 8 <<< "$out")"
fi

finish
