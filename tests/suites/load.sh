#!/usr/bin/env bash
# Load smoke test: builds tidings-load, starts `tidings serve` (debug build) on free loopback
# ports, runs the mixed Thunderbird-like load (10 clients, 5 s) and requires zero errors:
# every answer verified, none wrong or missing. Speed is not asserted (see BENCHMARKS.md).
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
export CARGO_TERM_COLOR=never
CLIENTS=${LOAD_CLIENTS:-10}
SECONDS_=${LOAD_SECONDS:-5}
BIN=${TIDINGS_BIN:-$ROOT/target/debug/tidings}

result() { # passed failed
    echo "$1 passed, $2 failed"
    [ "$2" = 0 ]
    exit
}

if ! cargo build -q -p tidings-load; then
    echo "building tidings-load failed"
    result 0 1
fi
if [ ! -x "$BIN" ] && ! cargo build -q -p tidings-host; then
    echo "building tidings failed"
    result 0 1
fi

TMP=$(mktemp -d /tmp/tidings-load-test.XXXXXX)
PID=""
cleanup() {
    if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
        kill -TERM "$PID" 2>/dev/null
        for _ in $(seq 1 50); do
            kill -0 "$PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$PID" 2>/dev/null
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT

for i in $(seq 1 "$CLIENTS"); do
    if ! echo loadpass | "$BIN" user add "load$i" --password-stdin --data-dir "$TMP/data" >/dev/null; then
        echo "creating user load$i failed"
        result 0 1
    fi
done
printf 'demo_user = false\nmax_connections_per_ip = 1000\n' > "$TMP/tidings.toml"
TIDINGS_LOG=warn "$BIN" serve --config "$TMP/tidings.toml" --data-dir "$TMP/data" \
    --imap 127.0.0.1:0 --imaps 127.0.0.1:0 --lmtp 127.0.0.1:0 > "$TMP/stdout" 2> "$TMP/stderr" &
PID=$!
ADDR=""
for _ in $(seq 1 300); do
    ADDR=$(awk '$1=="listening" && $2=="imap" {print $3}' "$TMP/stdout" 2>/dev/null)
    [ -n "$ADDR" ] && break
    kill -0 "$PID" 2>/dev/null || break
    sleep 0.1
done
if [ -z "$ADDR" ]; then
    echo "tidings serve did not start:"
    cat "$TMP/stderr"
    result 0 1
fi

echo "mixed load: $CLIENTS clients, $SECONDS_ s against $ADDR"
timeout $((SECONDS_ + 120)) "$ROOT/target/debug/tidings-load" --addr "$ADDR" --password loadpass \
    --server-pid "$PID" mixed --clients "$CLIENTS" --seconds "$SECONDS_" > "$TMP/load.out" 2>&1
rc=$?
grep -v '^metric' "$TMP/load.out"
errors=$(awk '$1=="metric" && $2=="mixed.errors" {print int($3)}' "$TMP/load.out")
cmds=$(awk '$1=="metric" && $2=="mixed.cmds_per_s" {print $3}' "$TMP/load.out")
if [ "$rc" = 0 ] && [ "${errors:-1}" = 0 ] && awk -v c="${cmds:-0}" 'BEGIN { exit !(c > 0) }'; then
    echo "test_mixed_load_zero_errors ... ok"
    result 1 0
fi
echo "test_mixed_load_zero_errors ... FAIL (exit $rc, errors ${errors:-unknown})"
tail -n 20 "$TMP/stderr"
result 0 1
