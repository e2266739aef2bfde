#!/bin/sh
# `make test-load`: `make test` RUNS times in a row (default 3) while one
# busy loop per core keeps the machine loaded, as on a shared CI runner.
# The loops are this script's children, ended by their pids on exit.
RUNS=${1:-3}
CORES=$(nproc 2>/dev/null || echo 2)
PIDS=""
stop() {
    for p in $PIDS; do kill "$p" 2>/dev/null; done
}
trap stop EXIT INT TERM
i=0
while [ "$i" -lt "$CORES" ]; do
    sh -c 'while :; do :; done' &
    PIDS="$PIDS $!"
    i=$((i + 1))
done
echo "== $CORES busy loops running (pids$PIDS)"
n=1
while [ "$n" -le "$RUNS" ]; do
    echo "== make test under load, run $n of $RUNS"
    if ! ${MAKE:-make} test; then
        echo "== run $n failed under load"
        exit 1
    fi
    n=$((n + 1))
done
echo "== $RUNS runs of make test passed under load"
