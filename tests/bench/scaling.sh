#!/usr/bin/env bash
# Collections on disk: does a command cost the same on a 1,000,000-member key as on a 10-member
# key? HSET and ZADD overwrite random existing members of each key (redis-benchmark, interleaved
# rounds, median requests/s); then DEL of each 1,000,000-member key is timed (berth removes the
# members in the background afterwards). Prints the cost ratios the issue sets bounds on
# (big/small cost within 1.5x, DEL under 10 ms) for berth and, as a yardstick, for
# redis-server 7 (AOF everysec) filled and measured the same way in the same run.
# The same for the keyspace: GET and SET of random keys among KEYS (1,000,000) string keys
# against the same commands on 1,000 of them, in the same database. Then beyond memory: with
# berth's cache-size at DISK_CACHE (32mb), HGET and HSET of random members of a hash of
# DISK_MEMBERS (4,000,000) against a hash of MEMBERS, both far bigger than the cache, so most
# lookups go to sled's files: a bigger collection should not cost more per command.
#
#   tests/bench/scaling.sh               # ROUNDS=3 N=300000 MEMBERS=1000000 KEYS=1000000
#   BERTH_ARGS='--cache-size 2gb' tests/bench/scaling.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
exec </dev/null

ROUNDS=${ROUNDS:-3}
N=${N:-300000}
MEMBERS=${MEMBERS:-1000000}
KEYS=${KEYS:-1000000}
DISK_MEMBERS=${DISK_MEMBERS:-4000000}
DISK_CACHE=${DISK_CACHE:-32mb}
CLIENTS=${CLIENTS:-50}

for tool in redis-server redis-benchmark redis-cli python3; do
    command -v "$tool" >/dev/null || { echo "scaling.sh: $tool missing (run tests/run-all.sh first)" >&2; exit 1; }
done
cargo build --release -q

work=$(mktemp -d /tmp/berth-scaling.XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT
trap "exit 130" INT TERM

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
wait_ready() {
    for _ in $(seq 200); do redis-cli -p "$1" PING 2>/dev/null | grep -q PONG && return 0; sleep 0.05; done
    echo "scaling.sh: server on port $1 did not start" >&2
    exit 1
}

declare -A port pid
# Starts a fresh berth and redis-server (new data directories), stopping the previous ones;
# arguments after the phase's name are more berth directives.
start_servers() {
    local phase=$1
    shift
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    pids=()
    port[berth]=$(free_port)
    # shellcheck disable=SC2086 # BERTH_ARGS: extra directives, split on spaces
    ./target/release/berth-server --port "${port[berth]}" --bind 127.0.0.1 \
        --dir "$work/$phase-berth" --loglevel warning ${BERTH_ARGS:-} "$@" >"$work/$phase-berth.log" 2>&1 &
    pids+=($!)
    pid[berth]=$!
    port[redis]=$(free_port)
    mkdir -p "$work/$phase-redis"
    redis-server --port "${port[redis]}" --bind 127.0.0.1 --dir "$work/$phase-redis" --save '' \
        --appendonly yes --appendfsync everysec --logfile "$work/$phase-redis.log" &
    pids+=($!)
    pid[redis]=$!
    wait_ready "${port[berth]}"
    wait_ready "${port[redis]}"
}

# Members are named as redis-benchmark's __rand_int__ expands (12 digits), so the benchmark
# overwrites existing members: f:000000000000 .. f:<MEMBERS-1>.
fill() {
    local p=$1 cmd=$2 key=$3 count=$4
    python3 - "$cmd" "$key" "$count" <<'EOF' | redis-cli -p "$p" --pipe >/dev/null
import sys
cmd, key, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
out = sys.stdout.buffer
def bulk(s):
    b = s.encode()
    return b"$%d\r\n%s\r\n" % (len(b), b)
for start in range(0, count, 1000):
    items = []
    for i in range(start, min(count, start + 1000)):
        member = "f:%012d" % i
        items += [member, "v"] if cmd == "HSET" else [str(i), member]
    args = [cmd, key] + items
    out.write(b"*%d\r\n" % len(args) + b"".join(bulk(a) for a in args))
EOF
}

# String keys named as redis-benchmark's GET and SET tests name them (key:<12 digits>).
fill_keys() {
    python3 - "$2" <<'EOF' | redis-cli -p "$1" --pipe >/dev/null
import sys
count = int(sys.argv[1])
out = sys.stdout.buffer
for start in range(0, count, 1000):
    keys = ["key:%012d" % i for i in range(start, min(count, start + 1000))]
    args = [b"MSET"] + [a for k in keys for a in (k.encode(), b"xxx")]
    out.write(b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args))
EOF
}

start_servers collections
for server in berth redis; do
    p=${port[$server]}
    echo "filling $server: HSET/ZADD $MEMBERS members into big keys, 10 into small ones" >&2
    fill "$p" HSET hbig "$MEMBERS"
    fill "$p" HSET hsmall 10
    fill "$p" ZADD zbig "$MEMBERS"
    fill "$p" ZADD zsmall 10
    echo "sizes: hbig $(redis-cli -p "$p" HLEN hbig), zbig $(redis-cli -p "$p" ZCARD zbig)," \
        "hsmall $(redis-cli -p "$p" HLEN hsmall), zsmall $(redis-cli -p "$p" ZCARD zsmall)" >&2
done

# Waits until every write berth acknowledged is in sled's tree (INFO berth_apply_backlog 0),
# so that no run pays for the previous one's disk writes; a no-op for redis.
settle() {
    [ "$1" = berth ] || return 0
    for _ in $(seq 1200); do
        redis-cli -p "${port[berth]}" INFO persistence | grep -q '^berth_apply_backlog:0' && return 0
        sleep 0.1
    done
    echo "scaling.sh: berth's apply backlog did not drain" >&2
}

# CPU time of a server process (all threads), in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# One measured run: requests/s, and CPU microseconds per request (all threads, until the
# writes are applied: what the command really costs the server, background work included).
run() {
    local server=$1 range=$2 rps before
    shift 2
    settle "$server"
    before=$(cpu_ticks "${pid[$server]}")
    rps=$(redis-benchmark -p "${port[$server]}" -c "$CLIENTS" -n "$N" -P 16 -r "$range" -q "$@" 2>/dev/null |
        tr '\r' '\n' | sed -n 's/.*: \([0-9.]*\) requests per second.*/\1/p' | tail -1)
    settle "$server"
    echo "$rps $(awk -v t="$(($(cpu_ticks "${pid[$server]}") - before))" -v hz="$(getconf CLK_TCK)" \
        -v n="$N" 'BEGIN {printf "%.2f", t / hz * 1e6 / n}')"
}

results="$work/results"
: >"$results"
for round in $(seq "$ROUNDS"); do
    for server in berth redis; do
        echo "$server hset big $(run $server "$MEMBERS" HSET hbig f:__rand_int__ x)" >>"$results"
        echo "$server hset small $(run $server 10 HSET hsmall f:__rand_int__ x)" >>"$results"
        echo "$server zadd big $(run $server "$MEMBERS" ZADD zbig __rand_int__ f:__rand_int__)" >>"$results"
        echo "$server zadd small $(run $server 10 ZADD zsmall __rand_int__ f:__rand_int__)" >>"$results"
    done
    echo "round $round/$ROUNDS done" >&2
done

dels="$work/dels"
: >"$dels"
for server in berth redis; do
    for key in hbig zbig; do
        ms=$(python3 - "${port[$server]}" "$key" <<'EOF'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
key = sys.argv[2].encode()
cmd = b"*2\r\n$3\r\nDEL\r\n$%d\r\n%s\r\n" % (len(key), key)
t = time.perf_counter()
s.sendall(cmd)
reply = s.recv(64)
ms = (time.perf_counter() - t) * 1000
assert reply == b":1\r\n", reply
print("%.2f" % ms)
EOF
)
        echo "$server: DEL $key ($MEMBERS members): $ms ms" >>"$dels"
    done
done

# The keyspace, on fresh servers: the big keys' members are not in the way.
start_servers keyspace
for server in berth redis; do
    echo "filling $server: $KEYS string keys" >&2
    fill_keys "${port[$server]}" "$KEYS"
    echo "keys: $(redis-cli -p "${port[$server]}" DBSIZE)" >&2
done
for round in $(seq "$ROUNDS"); do
    for server in berth redis; do
        for t in get set; do
            echo "$server $t big $(run $server "$KEYS" -t $t)" >>"$results"
            echo "$server $t small $(run $server 1000 -t $t)" >>"$results"
        done
    done
    echo "keyspace round $round/$ROUNDS done" >&2
done

# Beyond memory, on fresh servers: berth's cache is a small fraction of both hashes.
start_servers disk --cache-size "$DISK_CACHE"
for server in berth redis; do
    echo "filling $server: HSET $DISK_MEMBERS members into one hash, $MEMBERS into another" >&2
    fill "${port[$server]}" HSET hhuge "$DISK_MEMBERS"
    fill "${port[$server]}" HSET hbig "$MEMBERS"
done
for round in $(seq "$ROUNDS"); do
    for server in berth redis; do
        echo "$server hget-disk big $(run $server "$DISK_MEMBERS" HGET hhuge f:__rand_int__)" >>"$results"
        echo "$server hget-disk small $(run $server "$MEMBERS" HGET hbig f:__rand_int__)" >>"$results"
        echo "$server hset-disk big $(run $server "$DISK_MEMBERS" HSET hhuge f:__rand_int__ x)" >>"$results"
        echo "$server hset-disk small $(run $server "$MEMBERS" HSET hbig f:__rand_int__ x)" >>"$results"
    done
    echo "beyond-memory round $round/$ROUNDS done" >&2
done
settle berth
disk="berth with cache-size $DISK_CACHE: $(du -sm "$work/disk-berth" | cut -f1) MB on disk,"
disk+=" $(awk '/^VmRSS/ {printf "%.0f", $2 / 1024}' "/proc/${pid[berth]}/status") MB resident"

median() { sort -n | awk '{a[NR]=$1} END {if (NR==0) print 0; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

echo
echo "redis-benchmark -c $CLIENTS -P 16 -n $N, median of $ROUNDS rounds; each berth run starts"
echo "with its tree current; CPU us/request counts every thread until the writes are applied."
echo "HSET/ZADD: key of $MEMBERS members (big) or 10 (small); GET/SET: random keys among $KEYS"
echo "string keys (big) or 1000 of them (small), in a database holding only those;"
echo "HGET-DISK/HSET-DISK: berth's cache-size $DISK_CACHE, hash of $DISK_MEMBERS members (big) or"
echo "$MEMBERS (small)"
printf '%-7s %-9s %10s %10s %11s %10s %10s %11s\n' SERVER CMD "big req/s" "small" "big/small" \
    "big cpu" "small cpu" "big/small"
for server in berth redis; do
    for c in hset zadd get set hget-disk hset-disk; do
        col() { awk -v s=$server -v c=$c -v z="$1" -v f="$2" '$1==s && $2==c && $3==z {print $f}' "$results" | median; }
        b=$(col big 4) m=$(col small 4) bc=$(col big 5) mc=$(col small 5)
        printf '%-7s %-9s %10.0f %10.0f %11s %10s %10s %11s\n' "$server" "${c^^}" "$b" "$m" \
            "$(awk -v b="$b" -v s="$m" 'BEGIN {if (b > 0) printf "%.2f", s / b; else print "n/a"}')" \
            "$bc" "$mc" "$(awk -v b="$bc" -v s="$mc" 'BEGIN {if (s > 0) printf "%.2f", b / s; else print "n/a"}')"
    done
done

echo
cat "$dels"
echo "$disk"
