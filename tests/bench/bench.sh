#!/usr/bin/env bash
# berth vs redis-server with redis-benchmark: same machine, same client settings, interleaved
# rounds, median requests/s per test. Redis runs with AOF (appendonly yes, everysec) so both
# persist every write; berth runs with its defaults (appendfsync everysec).
#
#   tests/bench/bench.sh                 # ROUNDS=5 N=1000000
#   ROUNDS=3 N=200000 tests/bench/bench.sh
#   TESTS=LPUSH,RPOP,SADD,HSET,ZADD,LRANGE_100 PIPELINES=16 tests/bench/bench.sh
#
# Env: ROUNDS (rounds per server), N (requests per redis-benchmark run), CLIENTS (default 50),
# TESTS (default: strings and collections, redis-benchmark's own tests), PIPELINES (default
# "16 1"). tests/bench/scaling.sh measures collection commands against collection size.
set -euo pipefail
cd "$(dirname "$0")/../.."
exec </dev/null

ROUNDS=${ROUNDS:-5}
N=${N:-1000000}
CLIENTS=${CLIENTS:-50}
TESTS=${TESTS:-SET,GET,INCR,LPUSH,RPOP,SADD,HSET,ZADD,LRANGE_100}
PIPELINES=${PIPELINES:-16 1}

for tool in redis-server redis-benchmark redis-cli; do
    command -v "$tool" >/dev/null || { echo "bench.sh: $tool missing (run tests/run-all.sh first)" >&2; exit 1; }
done

cargo build --release -q

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

work=$(mktemp -d /tmp/berth-bench.XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT
trap "exit 130" INT TERM

wait_ready() {
    for _ in $(seq 200); do
        redis-cli -p "$1" PING 2>/dev/null | grep -q PONG && return 0
        sleep 0.05
    done
    echo "bench.sh: server on port $1 did not start" >&2
    exit 1
}

berth_port=$(free_port)
mkdir -p "$work/berth" "$work/redis"
./target/release/berth-server --port "$berth_port" --bind 127.0.0.1 --dir "$work/berth" \
    --loglevel warning >"$work/berth.log" 2>&1 &
pids+=($!)
redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$work/redis" --save '' \
    --appendonly yes --appendfsync everysec --logfile "$work/redis.log" &
pids+=($!)
wait_ready "$berth_port"
wait_ready "$redis_port"

# One run: prints "TEST rps" lines for the given server and pipeline depth.
run() {
    local port=$1 pipeline=$2
    redis-benchmark -p "$port" -c "$CLIENTS" -r 100000 -n "$N" -P "$pipeline" -t "$TESTS" -q 2>/dev/null |
        tr '\r' '\n' |
        sed -n 's/^\([A-Z_0-9]*\)\( (first [0-9]* elements)\)\{0,1\}: \([0-9.]*\) requests per second.*/\1 \3/p'
}

results="$work/results"
: >"$results"
for round in $(seq "$ROUNDS"); do
    for p in $PIPELINES; do
        # Interleaved so both servers see the same machine conditions.
        run "$berth_port" "$p" | sed "s/^/berth $p /" >>"$results"
        run "$redis_port" "$p" | sed "s/^/redis $p /" >>"$results"
    done
    echo "round $round/$ROUNDS done" >&2
done

median() { sort -n | awk '{a[NR]=$1} END {if (NR==0) print 0; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

echo
echo "redis-benchmark -c $CLIENTS -r 100000 -n $N, median of $ROUNDS rounds (requests/s)"
printf '%-10s %-4s %14s %14s %8s\n' TEST "-P" berth redis ratio
for p in $PIPELINES; do
    for t in ${TESTS//,/ }; do
        b=$(awk -v p="$p" -v t="$t" '$1=="berth" && $2==p && $3==t {print $4}' "$results" | median)
        r=$(awk -v p="$p" -v t="$t" '$1=="redis" && $2==p && $3==t {print $4}' "$results" | median)
        ratio=$(awk -v b="$b" -v r="$r" 'BEGIN {if (r > 0) printf "%.2f", b / r; else print "n/a"}')
        printf '%-10s %-4s %14.0f %14.0f %8s\n' "$t" "$p" "$b" "$r" "$ratio"
    done
done
