#!/usr/bin/env bash
# Where berth's CPU goes for one redis-benchmark test, background work included: runs the test
# once against a fresh berth, waits until every acknowledged write is in sled's tree (INFO
# berth_apply_backlog 0), then prints CPU microseconds per request for each kind of thread
# (the command thread, the log and apply threads) and the bytes written to files per request.
# A diagnostic, not a goal check: bench.sh and scaling.sh hold the ratios against Redis. The
# apply thread's figure is what limits berth once a load outlasts the memtable budget.
#
#   tests/bench/apply_cost.sh                    # TEST=lpush N=3000000
#   TEST=hset N=1000000 RANGE=100000 tests/bench/apply_cost.sh
#   BERTH=/path/to/other/berth-server tests/bench/apply_cost.sh   # compare two builds
set -euo pipefail
cd "$(dirname "$0")/../.."
exec </dev/null

TEST=${TEST:-lpush}
N=${N:-3000000}
RANGE=${RANGE:-}
CLIENTS=${CLIENTS:-50}

for tool in redis-benchmark redis-cli python3; do
    command -v "$tool" >/dev/null || { echo "apply_cost.sh: $tool missing (run tests/run-all.sh first)" >&2; exit 1; }
done
if [ -z "${BERTH:-}" ]; then
    cargo build --release -q
    BERTH=./target/release/berth-server
fi

work=$(mktemp -d /tmp/berth-apply-cost.XXXXXX)
pid=
cleanup() {
    if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT
trap "exit 130" INT TERM

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$BERTH" --port "$port" --bind 127.0.0.1 --dir "$work/data" --loglevel warning >"$work/berth.log" 2>&1 &
pid=$!
for _ in $(seq 200); do redis-cli -p "$port" PING 2>/dev/null | grep -q PONG && break; sleep 0.05; done

# CPU ticks per thread name, summed over threads of the same name.
threads() {
    for t in /proc/"$pid"/task/*; do
        echo "$(tr ' ' '_' <"$t/comm") $(awk '{print $14 + $15}' "$t/stat")"
    done | awk '{a[$1] += $2} END {for (k in a) print k, a[k]}' | sort
}
written() { awk '/^wchar/ {print $2}' "/proc/$pid/io"; }

threads >"$work/before"
bytes_before=$(written)
# shellcheck disable=SC2086 # RANGE: an optional -r argument
rps=$(redis-benchmark -p "$port" -c "$CLIENTS" -n "$N" -P 16 ${RANGE:+-r $RANGE} -t "$TEST" -q 2>/dev/null |
    tr '\r' '\n' | grep -o '[0-9.]* requests per second' | tail -1 | cut -d' ' -f1)
for _ in $(seq 3000); do
    redis-cli -p "$port" INFO persistence | grep -q '^berth_apply_backlog:0' && break
    sleep 0.1
done
threads >"$work/after"

echo "$TEST: $N requests at $rps requests/s; until the tree was current, per request:"
join "$work/before" "$work/after" | awk -v n="$N" -v hz="$(getconf CLK_TCK)" \
    '$3 > $2 {printf "  %-16s %6.2f us CPU\n", $1, ($3 - $2) / hz * 1e6 / n}'
awk -v b="$(($(written) - bytes_before))" -v n="$N" 'BEGIN {printf "  %-16s %6.0f bytes written\n", "files", b / n}'
