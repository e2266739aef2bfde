#!/bin/sh
# Prints one of the README's two commands: sh tools/readme-cmd.sh demo|test
# (the line inside the fenced block after "<!-- NAME-command" in README.md).
# CI and tools/platforms.sh run what this prints, so the README cannot drift.
set -eu
cd "$(dirname "$0")/.."
line=$(awk -v m="<!-- ${1:?usage: readme-cmd.sh demo|test}-command" '
    index($0, m) == 1 { on = 1; next }
    on && /^```/ { if (fenced) exit; fenced = 1; next }
    on && fenced { print; exit }' README.md)
[ -n "$line" ] || { echo "readme-cmd: no $1 command in README.md" >&2; exit 2; }
printf '%s\n' "$line"
