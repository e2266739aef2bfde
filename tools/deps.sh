#!/bin/sh
# Installs the Debian packages ljhttp needs when they are missing.
#   sh tools/deps.sh build   # to build the library and run the demo
#   sh tools/deps.sh test    # also what the test suites and bench-smoke start
# As root it runs apt-get; otherwise it prints the exact command to run.
set -eu
profile=${1:-test}

# luajit2 (OpenResty's LuaJIT 2.1), not luajit: Debian's nginx Lua module
# depends on libluajit2-5.1-2 and apt removes the other LuaJIT with it.
build="make gcc pkg-config luajit2 libluajit2-5.1-dev libcurl4-openssl-dev libcjson-dev python3"
test="$build luarocks libcriterion-dev nginx libnginx-mod-http-lua libnginx-mod-http-echo neovim lua-curl lua-socket lua-cjson curl openssl tinyproxy zstd microsocks libnginx-mod-http-brotli-filter"

case "$profile" in
build) want=$build ;;
test) want=$test ;;
*) echo "usage: $0 build|test" >&2; exit 2 ;;
esac

missing=""
for p in $want; do
    st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    case "$st" in
    *" installed") ;;
    *)
        # python3 may come from elsewhere (pyenv); a working command is enough
        if [ "$p" = python3 ] && command -v python3 >/dev/null 2>&1; then continue; fi
        missing="$missing $p"
        ;;
    esac
done

[ -z "$missing" ] && exit 0

cmd="apt-get install -y --no-install-recommends$missing"
if [ "$(id -u)" = 0 ]; then
    echo "deps: installing$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing
    # Debian starts system nginx and tinyproxy on install; the tests run their own.
    if command -v service >/dev/null 2>&1; then
        for s in nginx tinyproxy; do service "$s" stop >/dev/null 2>&1 || true; done
    fi
else
    echo "deps: missing Debian packages:$missing" >&2
    echo "deps: run as root:  apt-get update && $cmd" >&2
    exit 1
fi
