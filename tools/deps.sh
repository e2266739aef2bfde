#!/bin/sh
# Installs the Debian packages ljhttp needs when they are missing.
#   sh tools/deps.sh build   # to build the library and run the demo
#   sh tools/deps.sh test    # also what the test suites and bench-smoke start
# As root it runs apt-get; otherwise it prints the exact command to run.
#
# Works on a minimal Debian 12, 13 or unstable (no make, no ca-certificates):
# where a package was renamed between releases, a word below lists the
# names to try in order, separated by '|', and the first one the archive
# has is taken. A name ending in '?' is optional: a benchmark peer that is
# installed where the release still has it and skipped where it has not.
# npm fetches the pinned cross compiler of tools/cross.sh (make test-cross).
set -eu
profile=${1:-test}

# OpenResty's LuaJIT 2.1: Debian 12 calls it luajit2 (and its nginx Lua
# module removes the plain luajit); from Debian 13 on it is luajit itself.
build="make gcc libc6-dev pkg-config luajit2|luajit libluajit2-5.1-dev|libluajit-5.1-dev
       libcurl4-openssl-dev libcjson-dev python3"
test="$build luarocks libcriterion-dev nginx libnginx-mod-http-lua libnginx-mod-http-echo
      libnginx-mod-http-brotli-filter neovim lua-socket lua-cjson curl openssl tinyproxy zstd
      microsocks strace lua-curl? npm"

case "$profile" in
build) want=$build ;;
test) want=$test ;;
*) echo "usage: $0 build|test" >&2; exit 2 ;;
esac

installed() {
    case "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" in
    *" installed") return 0 ;;
    esac
    # python3 may come from elsewhere (pyenv), npm with Node.js's own
    # package (NodeSource's nodejs conflicts with Debian's npm): a working
    # command is enough
    case "$1" in python3 | npm) command -v "$1" >/dev/null 2>&1 ;; *) return 1 ;; esac
}

# True when the archive knows $1 as a real package (not only a name that
# another package provides). Needs the package lists, so call after update.
available() {
    apt-cache policy "$1" 2>/dev/null | grep -q '^ *Candidate: [^(]'
}

# First pass: what is missing, before touching the network.
missing=""
for word in $want; do
    alts=$(echo "${word%\?}" | tr '|' ' ')
    found=""
    for p in $alts; do
        # a later name counts only where the archive lacks the earlier ones
        if installed "$p"; then found=1; break; fi
        available "$p" && break
    done
    [ -z "$found" ] && missing="$missing $word"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
    echo "deps: missing Debian packages (alternatives with |, optional with ?):$missing" >&2
    echo "deps: run as root:  sh tools/deps.sh $profile" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq

# Second pass: pick the name this release has.
pick=""
for word in $missing; do
    alts=$(echo "${word%\?}" | tr '|' ' ')
    chosen=""
    for p in $alts; do available "$p" && { chosen=$p; break; }; done
    if [ -n "$chosen" ]; then
        pick="$pick $chosen"
    elif [ "$word" != "${word%\?}" ]; then
        echo "deps: ${word%\?} is not in this release's archive; skipped (optional)"
    else
        echo "deps: none of '${word}' is in this release's archive" >&2
        exit 1
    fi
done

echo "deps: installing$pick"
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $pick
# Debian starts system nginx and tinyproxy on install; the tests run their own.
# Where policy-rc.d forbids starting services (a chroot, a container build)
# none was started, and stopping would reach for processes by name: in a
# root that shares the machine's processes, the machine's own.
policy=/usr/sbin/policy-rc.d
if command -v service >/dev/null 2>&1 &&
    ! { [ -x "$policy" ] && { "$policy" nginx start >/dev/null 2>&1; [ $? -eq 101 ]; }; }; then
    for s in nginx tinyproxy; do service "$s" stop >/dev/null 2>&1 || true; done
fi
