#!/bin/sh
# make demo: starts the local fixture server and runs each example
# against it. Nothing leaves 127.0.0.1.
set -eu
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
python3 tests/fixture/server.py --port-file "$tmp/port" --watch-pid $$ >/dev/null 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; rm -rf "$tmp"' EXIT INT TERM
i=0
while [ ! -s "$tmp/port" ]; do
    i=$((i + 1))
    [ $i -gt 100 ] && { echo "demo: the fixture server did not start" >&2; exit 1; }
    sleep 0.1
done
base="http://127.0.0.1:$(cat "$tmp/port")"
echo "fixture server on $base"
for ex in basics batch cookies async stream gluahttp_script; do
    echo
    echo "==== examples/$ex.lua"
    luajit examples/$ex.lua "$base"
done
