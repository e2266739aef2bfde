# Shared by the bash test runners (tests/{luajit,nvim,openresty,packaging}/run.sh):
# a private temp dir, cleanup of what a runner starts (the fixture server,
# nginx), and starting the fixture server. Source it after ROOT and PYTHON
# are set, then call ljh_setup NAME.

# Makes $TMP and arranges for ljh_cleanup to run on exit.
ljh_setup() {
  TMP="$(mktemp -d "${TMPDIR:-/tmp}/ljhttp-$1.XXXXXX")"
  FIXTURE_PID=""
  NGINX_PID=""
  trap ljh_cleanup EXIT
  trap 'exit 130' INT TERM
}

# Stops nginx (gracefully, then for good) and the fixture; removes $TMP
# unless KEEP_TMP=1.
ljh_cleanup() {
  if [[ -n $NGINX_PID ]] && kill -0 "$NGINX_PID" 2>/dev/null; then
    kill -QUIT "$NGINX_PID" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$NGINX_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$NGINX_PID" 2>/dev/null
  fi
  if [[ -n $FIXTURE_PID ]]; then kill "$FIXTURE_PID" 2>/dev/null; fi
  if [[ ${KEEP_TMP:-0} == 1 ]]; then echo "kept $TMP" >&2; else rm -rf "$TMP"; fi
}

# Starts tests/fixture/server.py writing its port to PORTFILE; sets
# FIXTURE_PID and FIXTURE (its base URL). Returns 1 if it did not start.
ljh_start_fixture() {
  "$PYTHON" "$ROOT/tests/fixture/server.py" --port-file "$1" --watch-pid $$ \
    >/dev/null 2>"$TMP/fixture.err" &
  FIXTURE_PID=$!
  for _ in $(seq 100); do [[ -s $1 ]] && break; sleep 0.05; done
  [[ -s $1 ]] || return 1
  FIXTURE="http://127.0.0.1:$(cat "$1")"
}

# Starts tests/fixture/ws_server.py writing its port to PORTFILE; sets WS
# (its base URL, ws://127.0.0.1:PORT). Returns 1 if it did not start.
ljh_start_ws_fixture() {
  "$PYTHON" "$ROOT/tests/fixture/ws_server.py" --port-file "$1" --watch-pid $$ \
    >/dev/null 2>"$TMP/ws.err" &
  for _ in $(seq 100); do [[ -s $1 ]] && break; sleep 0.05; done
  [[ -s $1 ]] || return 1
  WS="ws://127.0.0.1:$(head -n 1 "$1")"
}
