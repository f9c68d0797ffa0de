#!/usr/bin/env bash
# berth vs redis-server with redis-benchmark: same machine, same client settings, one test per
# run, the servers taking turns, median requests/s per test over the rounds. Redis runs with AOF
# (appendonly yes, everysec) so both persist every write; berth runs with its defaults
# (appendfsync everysec). Every run starts with berth's tree current (INFO
# berth_apply_backlog 0), so no run shares the machine with berth's background tree work; the
# CPU time berth's apply thread spends on each run's writes is measured and reported as a
# second, "sustained" rate (requests over the run's time plus that CPU time).
#
#   tests/bench/bench.sh                 # ROUNDS=5 N=1000000
#   ROUNDS=3 N=200000 tests/bench/bench.sh
#   TESTS=LPUSH,RPOP,SADD,HSET,ZADD,LRANGE_100 PIPELINES=16 tests/bench/bench.sh
#
# Env: ROUNDS (rounds per server), N (requests per redis-benchmark run), CLIENTS (default 50),
# TESTS (default: strings and collections, redis-benchmark's own tests), PIPELINES (default
# "16 1"), BERTH_BIN (a berth-server to measure instead of this tree's release build, to
# compare builds on one machine). tests/bench/scaling.sh measures collection commands against
# collection size.
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

if [ -z "${BERTH_BIN:-}" ]; then
    cargo build --release -q
    BERTH_BIN=./target/release/berth-server
fi

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
"$BERTH_BIN" --port "$berth_port" --bind 127.0.0.1 --dir "$work/berth" \
    --loglevel warning >"$work/berth.log" 2>&1 &
pids+=($!)
berth_pid=$!
redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$work/redis" --save '' \
    --appendonly yes --appendfsync everysec --logfile "$work/redis.log" &
pids+=($!)
wait_ready "$berth_port"
wait_ready "$redis_port"

# Waits until every write berth acknowledged is in sled's tree (INFO berth_apply_backlog 0);
# prints how many seconds that took.
settle() {
    local start
    start=$(date +%s.%N)
    for _ in $(seq 3000); do
        redis-cli -p "$berth_port" INFO persistence | grep -q '^berth_apply_backlog:0' && break
        sleep 0.1
    done
    awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN {printf "%.2f", e - s}'
}

# CPU seconds berth's apply thread (the one writing sled's tree) has used so far.
apply_cpu() {
    local t
    for t in /proc/"$berth_pid"/task/*; do
        if [ "$(cat "$t/comm")" = berth-apply ]; then
            awk -v hz="$(getconf CLK_TCK)" '{printf "%.2f", ($14 + $15) / hz}' "$t/stat"
            return
        fi
    done
    echo 0
}

# One run of one test: prints "SERVER PIPELINE TEST rps drain". Every run starts with berth's
# tree current, so no run (of either server) shares the machine with berth's backlog; for
# berth, drain is the CPU time its apply thread spent on the run's writes (during the run and
# until the tree caught up).
run() {
    local server=$1 port=$2 pipeline=$3 test=$4 rps drain=0 before
    settle >/dev/null
    before=$(apply_cpu)
    rps=$(redis-benchmark -p "$port" -c "$CLIENTS" -r 100000 -n "$N" -P "$pipeline" -t "$test" -q 2>/dev/null |
        tr '\r' '\n' |
        sed -n 's/^\([A-Z_0-9]*\)\( (first [0-9]* elements)\)\{0,1\}: \([0-9.]*\) requests per second.*/\1 \3/p' |
        awk -v t="$test" '$1 == t {print $2}' | tail -1)
    if [ "$server" = berth ]; then
        settle >/dev/null
        drain=$(awk -v a="$before" -v b="$(apply_cpu)" 'BEGIN {printf "%.2f", b - a}')
    fi
    echo "$server $pipeline $test ${rps:-0} $drain"
}

results="$work/results"
: >"$results"
for round in $(seq "$ROUNDS"); do
    for p in $PIPELINES; do
        for t in ${TESTS//,/ }; do
            # Interleaved so both servers see the same machine conditions.
            run berth "$berth_port" "$p" "$t" >>"$results"
            run redis "$redis_port" "$p" "$t" >>"$results"
        done
    done
    echo "round $round/$ROUNDS done" >&2
done

median() { sort -n | awk '{a[NR]=$1} END {if (NR==0) print 0; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

col() { awk -v s="$1" -v p="$2" -v t="$3" -v f="$4" '$1==s && $2==p && $3==t {print $f}' "$results" | median; }
ratio() { awk -v b="$1" -v r="$2" 'BEGIN {if (r > 0) printf "%.2f", b / r; else print "n/a"}'; }

echo
echo "redis-benchmark -c $CLIENTS -r 100000 -n $N, one test per run, median of $ROUNDS rounds"
echo "(requests/s). Burst: the run itself. Sustained: berth's requests over the run's time plus the"
echo "CPU time its apply thread spent writing them to the tree (redis has no such second step)."
printf '%-10s %-4s %12s %12s %8s %12s %10s\n' TEST "-P" berth redis ratio sustained ratio
for p in $PIPELINES; do
    for t in ${TESTS//,/ }; do
        b=$(col berth "$p" "$t" 4) r=$(col redis "$p" "$t" 4) d=$(col berth "$p" "$t" 5)
        sus=$(awk -v n="$N" -v b="$b" -v d="$d" 'BEGIN {if (b > 0) printf "%.0f", n / (n / b + d); else print 0}')
        printf '%-10s %-4s %12.0f %12.0f %8s %12.0f %10s\n' "$t" "$p" "$b" "$r" "$(ratio "$b" "$r")" \
            "$sus" "$(ratio "$sus" "$r")"
    done
done
