#!/bin/sh
# Runs the README's two commands (demo, then tests) from a fresh minimal
# root of each Debian release, as a new user on a new machine would:
#   sh tools/platforms.sh [RELEASE...]      # default: trixie sid
# Needs root and debootstrap (installed when missing). Each release gets a
# minbase root built once into build/platforms/RELEASE.tar; every run starts
# from a fresh copy of it, holding the files git tracks (and untracked ones
# it does not ignore) of this work tree. Results go to
# build/platforms/RELEASE.log and one summary line to
# build/platforms/RELEASE.row, which `tools/platforms.sh --table` prints as
# the README's table and `--readme` writes into README.md.
#   MIRROR=URL     the Debian mirror (default: the one apt uses here)
#   PLATFORM_CMD   run this instead of the README's two commands
#   KEEP=1         keep the last root after the run (for a look inside)
set -eu
cd "$(dirname "$0")/.."
top=$(pwd -P)
out=$top/build/platforms

table() {
    echo "| release | libcurl | Neovim | nginx | LuaJIT | \`make test\` |"
    echo "|---|---|---|---|---|---|"
    # oldest release first; then any other root that was run
    for r in bookworm trixie forky sid; do [ -f "$out/$r.row" ] && cat "$out/$r.row"; done
    for f in "$out"/*.row; do
        case "${f##*/}" in bookworm.row | trixie.row | forky.row | sid.row) ;; *) [ -f "$f" ] && cat "$f" ;; esac
    done
}

# --readme: the table's rows in README.md (between its platforms-table
# markers) become the Debian 12 row already there plus the last run's rows.
readme() {
    table > "$out/table.md"
    keep=$(awk '/<!-- platforms-table -->/ { s = 1; next } /<!-- \/platforms-table -->/ { s = 0 }
                s && /Debian 12/' README.md)
    awk -v rows="$out/table.md" -v keep="$keep" '
        /<!-- platforms-table -->/ {
            print
            n = 0
            while ((getline l < rows) > 0) { if (++n == 3 && keep != "") print keep; print l }
            if (n == 2 && keep != "") print keep
            skip = 1; next
        }
        /<!-- \/platforms-table -->/ { skip = 0 }
        !skip' README.md > README.md.new
    mv README.md.new README.md
}

if [ "${1:-}" = --table ]; then table; exit 0; fi
if [ "${1:-}" = --readme ]; then readme; exit 0; fi
[ "$(id -u)" = 0 ] || { echo "platforms: needs root (debootstrap, chroot, mount)" >&2; exit 2; }

releases=${*:-trixie sid}

mirror=${MIRROR:-}
if [ -z "$mirror" ]; then
    mirror=$(sed -n 's/^URIs: *\([^ ]*\).*/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n 1)
    [ -n "$mirror" ] || mirror=$(sed -n 's/^deb \(\[[^]]*\] \)\{0,1\}\([^ ]*\) .*/\2/p' \
        /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | head -n 1)
fi
[ -n "$mirror" ] || { echo "platforms: no Debian mirror configured; set MIRROR" >&2; exit 2; }

command -v debootstrap >/dev/null 2>&1 || {
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap
}

# The README's commands, as CI runs them: the demo first, on the bare root.
cmd=${PLATFORM_CMD:-"$(sh tools/readme-cmd.sh demo) && $(sh tools/readme-cmd.sh test)"}

mkdir -p "$out"
root=""
cleanup() {
    [ -n "$root" ] || return 0
    # servers a test left behind inside the root, then the mounts
    for p in /proc/[0-9]*; do
        r=$(readlink "$p/root" 2>/dev/null || true)
        [ "$r" = "$root" ] && kill -9 "${p#/proc/}" 2>/dev/null || true
    done
    for m in dev/pts dev sys proc; do
        mountpoint -q "$root/$m" 2>/dev/null && umount -R -l "$root/$m" 2>/dev/null || true
    done
    if [ -z "${KEEP:-}" ]; then rm -rf "$root"; fi
    root=""
}
trap cleanup EXIT INT TERM

status=0
for rel in $releases; do
    base=$out/$rel.tar
    if [ ! -s "$base" ]; then
        echo "platforms: debootstrap $rel from $mirror"
        tmp=$out/$rel.base
        rm -rf "$tmp"
        debootstrap --variant=minbase "$rel" "$tmp" "$mirror" >"$out/$rel.debootstrap.log" 2>&1 || {
            echo "platforms: $rel: debootstrap failed, see $out/$rel.debootstrap.log" >&2
            status=1; continue
        }
        tar -C "$tmp" -cf "$base.tmp" . && mv "$base.tmp" "$base"
        rm -rf "$tmp"
    fi

    root=$out/$rel.root
    rm -rf "$root"; mkdir -p "$root"
    tar -C "$root" -xf "$base"
    cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
    # The network's trust comes with the machine, not with Debian: a
    # workplace whose HTTPS egress is re-signed by its own CA has it in the
    # host's bundle. The root gets that bundle for npm (the cross check's
    # compiler), as a fresh machine of this workplace has it.
    host_ca=
    if [ -s /etc/ssl/certs/ca-certificates.crt ]; then
        mkdir -p "$root/usr/local/share/ljhttp-platforms"
        cp /etc/ssl/certs/ca-certificates.crt "$root/usr/local/share/ljhttp-platforms/host-ca.crt"
        host_ca=/usr/local/share/ljhttp-platforms/host-ca.crt
    fi
    printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d"
    chmod 755 "$root/usr/sbin/policy-rc.d"
    # unstable's index outlives its Valid-Until on a mirror snapshot
    echo 'Acquire::Check-Valid-Until "false";' > "$root/etc/apt/apt.conf.d/99ljhttp-platforms"
    mkdir -p "$root/src/ljhttp"
    git ls-files -co --exclude-standard -z | xargs -0 tar -cf - | tar -C "$root/src/ljhttp" -xf -
    mount -t proc proc "$root/proc"
    mount --rbind /sys "$root/sys" && mount --make-rslave "$root/sys"
    mount --rbind /dev "$root/dev" && mount --make-rslave "$root/dev"

    echo "platforms: $rel: $cmd"
    start=$(date +%s)
    if chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb \
        PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        ${host_ca:+NODE_EXTRA_CA_CERTS=$host_ca} \
        sh -c "cd /src/ljhttp && $cmd" >"$out/$rel.log" 2>&1 </dev/null; then
        result=passed
    else
        result="FAILED (build/platforms/$rel.log)"; status=1
    fi
    secs=$(( $(date +%s) - start ))

    # what the release gave, read inside the root
    ver() { chroot "$root" sh -c "command -v $1 >/dev/null && $2" 2>/dev/null | head -n 1 || true; }
    curlv=$(ver pkg-config "pkg-config --modversion libcurl")
    nvimv=$(ver nvim "nvim --version | sed -n '1s/^NVIM v//p'")
    nginxv=$(ver nginx "nginx -v 2>&1 | sed 's|.*nginx/||'")
    ljv=$(ver luajit "luajit -v | cut -d' ' -f2")
    ver_id=$(ver true ". /etc/os-release; echo \"\${VERSION_ID:-unstable} \${VERSION_CODENAME:-$rel}\"")
    summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$out/$rel.log" | tail -n 1 || true)
    echo "| Debian ${ver_id:-$rel} | ${curlv:-?} | ${nvimv:-?} | ${nginxv:-?} | ${ljv:-?} | $result in ${secs} s |" \
        > "$out/$rel.row"
    echo "platforms: $rel: $result in ${secs} s ${summary:+($summary)}"
    cleanup
done

table
exit $status
