#!/bin/sh
# make soak: a private nginx on loopback (its own config, port and temp
# directory; never the system's), then tests/soak/soak.lua against it, then
# the reliability group C at the catalogue's full counts (LJHTTP_SOAK=1:
# 100 mixed batches of 1,000, 100,000 sequential requests on the fixture).
# Environment: LUAJIT (luajit), NGINX (nginx), SOAK_SEQ (100000),
# SOAK_BATCHES (100).
set -eu
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
LUAJIT="${LUAJIT:-luajit}"
NGINX="${NGINX:-nginx}"
command -v "$NGINX" >/dev/null || { echo "soak: nginx not found (apt-get install nginx)" >&2; exit 1; }
TMP="$(mktemp -d "${TMPDIR:-/tmp}/ljhttp-soak.XXXXXX")"
chmod 755 "$TMP"
mkdir -p "$TMP/logs" "$TMP/tmp"
NGINX_PID=""
cleanup() {
    if [ -n "$NGINX_PID" ]; then
        kill "$NGINX_PID" 2>/dev/null || true
        wait "$NGINX_PID" 2>/dev/null || true
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT INT TERM
PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
cat > "$TMP/nginx.conf" <<CONF
daemon off;
master_process on;
worker_processes 1;
pid $TMP/nginx.pid;
error_log $TMP/logs/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 10000000;
    keepalive_timeout 300s;
    client_body_temp_path $TMP/tmp/body;
    proxy_temp_path $TMP/tmp/proxy;
    fastcgi_temp_path $TMP/tmp/fastcgi;
    uwsgi_temp_path $TMP/tmp/uwsgi;
    scgi_temp_path $TMP/tmp/scgi;
    server {
        listen 127.0.0.1:$PORT;
        location = /small { return 200 "hello, world\n"; }
    }
}
CONF
"$NGINX" -p "$TMP" -c "$TMP/nginx.conf" -e "$TMP/logs/error.log" >"$TMP/logs/out" 2>&1 </dev/null &
NGINX_PID=$!
i=0
until python3 -c "import socket; socket.create_connection(('127.0.0.1', $PORT), 1)" 2>/dev/null; do
    i=$((i + 1))
    if [ $i -gt 100 ] || ! kill -0 "$NGINX_PID" 2>/dev/null; then
        echo "soak: nginx did not start:" >&2
        cat "$TMP/logs/error.log" "$TMP/logs/out" >&2 2>/dev/null || true
        exit 1
    fi
    sleep 0.05
done
echo "soak: nginx on 127.0.0.1:$PORT, $("$LUAJIT" -v 2>&1 | head -1)"
"$LUAJIT" "$ROOT/tests/soak/soak.lua" "http://127.0.0.1:$PORT" "${SOAK_SEQ:-100000}" "${SOAK_BATCHES:-100}"
echo "soak: reliability group C at full counts"
LJHTTP_SOAK=1 LJHTTP_TEST_VERBOSE=1 "$LUAJIT" "$ROOT/tests/lua/run.lua" test_reliability_c
