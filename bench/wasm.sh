#!/usr/bin/env bash
# The wasm engine against native: the same tidings-load scenario (APPEND N messages one by
# one, then fetch them all back and compare every byte) against
#   native    `tidings serve` (release, FileStore in a fresh temp data dir),
#   node      the Node edge host (web-demo/edge/server.mjs: the wasm engine, MemoryStore),
#   chromium  the demo page in headless Chromium (the wasm engine, IndexedDbStore in a fresh
#             profile) behind `tidings shim` (TCP -> WebSocket -> the tab),
# all on 127.0.0.1, user demo / demo. Prints one table with each host's figures and the
# ratio to native; the target is wasm within 3x of native time. Stops everything on exit.
#
#   bash bench/wasm.sh                  # 1,000 x 20 KB (COUNT, SIZE change it)
#   QUICK=1 bash bench/wasm.sh          # 100 x 4 KB: checks the whole pipeline
#   KEEP=1 ...                          # keep the temp dir (raw outputs, logs)
#   PROFILE=DIR ...                     # also save the page's CPU profile (DevTools format)
#                                       # of the Chromium run as DIR/chromium.cpuprofile
#   WEB_ROOT=DIR ...                    # serve the page from DIR (www/ and pkg/) instead of
#                                       # web-demo/: another build of it, to compare the two
#                                       # under the same conditions
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
export CARGO_TERM_COLOR=never

if [ "${QUICK:-0}" = 1 ]; then
    COUNT=${COUNT:-100} SIZE=${SIZE:-4096}
else
    COUNT=${COUNT:-1000} SIZE=${SIZE:-20480}
fi
LIMIT=${LIMIT:-900}   # seconds any one host's run may take

T=$(mktemp -d /tmp/tidings-wasm-bench.XXXXXX)
mkdir -p "$T/out"
PIDS=()
PAGE_PID=""

stop_pid() { # pid: SIGTERM, wait up to 10 s, then SIGKILL
    kill -TERM "$1" 2>/dev/null || return 0
    timeout 10 tail --pid="$1" -f /dev/null || kill -KILL "$1" 2>/dev/null || true
}
cleanup() {
    set +eu   # whatever failed, stop everything
    if [ -n "$PAGE_PID" ] && kill -0 "$PAGE_PID" 2>/dev/null; then
        [ -n "${DRV[1]:-}" ] && echo quit >&"${DRV[1]}" 2>/dev/null
        for _ in $(seq 1 100); do kill -0 "$PAGE_PID" 2>/dev/null || break; sleep 0.1; done
        stop_pid "$PAGE_PID"
    fi
    for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
    if [ "${KEEP:-0}" = 1 ]; then echo "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { printf '==== %s\n' "$*" >&2; }

# ---- build ---------------------------------------------------------------------------------
say "building tidings and tidings-load (release), the wasm engine (web-demo/build.sh)"
bash web-demo/setup.sh >/dev/null
cargo build --release -q -p tidings-host -p tidings-load
bash web-demo/build.sh >/dev/null
[ -d node_modules/playwright-core ] || npm ci --no-audit --no-fund >/dev/null
TARGET_DIR=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
TIDINGS=$TARGET_DIR/release/tidings
LOAD=$TARGET_DIR/release/tidings-load

# Waits until FILE has a line `listening imap ADDR`; prints ADDR.
imap_addr() { # file pid
    for _ in $(seq 1 200); do
        local a
        a=$(awk '$1=="listening" && $2=="imap" {print $3; exit}' "$1" 2>/dev/null)
        if [ -n "$a" ]; then echo "$a"; return 0; fi
        kill -0 "$2" 2>/dev/null || break
        sleep 0.1
    done
    return 1
}
# Runs the scenario against ADDR, the host's CPU read from PID and its children.
load() { # name addr pid
    say "$1: APPEND $COUNT x $SIZE B, then FETCH them back"
    if ! timeout "$LIMIT" "$LOAD" --addr "$2" --password demo --server-pid "$3" --timeout-secs 120 \
        append-fetch --user demo --count "$COUNT" --size "$SIZE" | tee "$T/out/$1.txt" | grep -v '^metric' >&2; then
        FAILED="$FAILED $1"
    fi
}
FAILED=""
export TIDINGS_LOG=warn

# ---- native --------------------------------------------------------------------------------
"$TIDINGS" serve --data-dir "$T/native" --imap 127.0.0.1:0 --imaps 127.0.0.1:0 \
    --lmtp 127.0.0.1:0 > "$T/native.out" 2> "$T/native.err" &
PIDS+=($!)
ADDR=$(imap_addr "$T/native.out" $!) || { cat "$T/native.err" >&2; echo "tidings serve did not start" >&2; exit 1; }
load native "$ADDR" "${PIDS[-1]}"
stop_pid "${PIDS[-1]}"

# ---- Node edge host ------------------------------------------------------------------------
TIDINGS_LOG=off node web-demo/edge/server.mjs --port 0 --user demo:demo \
    > "$T/node.out" 2> "$T/node.err" &
PIDS+=($!)
ADDR=$(imap_addr "$T/node.out" $!) || { cat "$T/node.err" >&2; echo "edge host did not start" >&2; exit 1; }
load node "$ADDR" "${PIDS[-1]}"
stop_pid "${PIDS[-1]}"

# ---- headless Chromium through the shim ----------------------------------------------------
"$TIDINGS" shim --imap 127.0.0.1:0 --http 127.0.0.1:0 --web-root "${WEB_ROOT:-$ROOT/web-demo}" \
    > "$T/shim.out" 2> "$T/shim.err" &
PIDS+=($!)
ADDR=$(imap_addr "$T/shim.out" $!) || { cat "$T/shim.err" >&2; echo "shim did not start" >&2; exit 1; }
URL=$(awk '$1=="listening" && $2=="http" {print $3; exit}' "$T/shim.out")
# tests/shim/page_driver.mjs: Chromium with a fresh profile under $TMPDIR, one JSON answer
# per command line. The page serves every relayed connection from IndexedDB ("db").
coproc DRV { TMPDIR=$T exec node tests/shim/page_driver.mjs "${URL}?db=bench" 2> "$T/driver.err"; }
PAGE_PID=$DRV_PID   # bash unsets DRV_PID when the coprocess exits
ask() { # command: sends it, fails unless the answer is ok
    local reply
    echo "$1" >&"${DRV[1]}"
    read -r -t 90 reply <&"${DRV[0]}" || { echo "page driver: no answer to $1" >&2; return 1; }
    case $reply in *'"ok":true'*) ;; *) echo "page driver: $1: $reply" >&2; return 1 ;; esac
}
read -r -t 90 _ <&"${DRV[0]}" || { cat "$T/driver.err" >&2; echo "page driver did not start" >&2; exit 1; }
ask wait-ready
[ -z "${PROFILE:-}" ] || { mkdir -p "$PROFILE"; ask profile-start; }
load chromium "$ADDR" "$PAGE_PID"
[ -z "${PROFILE:-}" ] || ask "profile-stop $(realpath "$PROFILE")/chromium.cpuprofile"
ask quit || true

# ---- the table -----------------------------------------------------------------------------
m() { # host metric: its value, or "-"
    awk -v k="append_fetch.$2" '$1=="metric" && $2==k {v=$3} END {print (v=="" ? "-" : v)}' "$T/out/$1.txt"
}
total() { # host: APPEND s + FETCH s
    awk '$1=="metric" && ($2=="append_fetch.append.total" || $2=="append_fetch.fetch.total") {s+=$3; n++}
         END {print (n==2 ? s : "-")}' "$T/out/$1.txt"
}
ratio() { # value native
    awk -v a="$1" -v b="$2" 'BEGIN {if (a=="-" || b=="-" || b==0) print "-"; else printf "%.2f", a/b}'
}
row() { # label n c k
    printf '| %-34s | %10s | %10s | %6s | %10s | %6s |\n' "$1" "$2" "$3" "$(ratio "$3" "$2")" "$4" "$(ratio "$4" "$2")"
}
metric_row() { # label metric
    row "$1" "$(m native "$2")" "$(m node "$2")" "$(m chromium "$2")"
}
echo
echo "APPEND $COUNT x $SIZE B one by one, then UID FETCH 1:* (UID RFC822.SIZE BODY.PEEK[]); ratio = host / native"
echo
printf '| %-34s | %10s | %10s | %6s | %10s | %6s |\n' metric native node ratio chromium ratio
echo "|------------------------------------|------------|------------|--------|------------|--------|"
metric_row "APPEND total s" append.total
metric_row "APPEND msg/s" append.per_s
metric_row "APPEND p50 ms" append.p50
metric_row "APPEND p99 ms" append.p99
metric_row "FETCH all s" fetch.total
metric_row "FETCH MiB/s" fetch.mib_per_s
metric_row "host CPU s, APPEND phase" append.server_cpu
metric_row "host CPU s, FETCH phase" fetch.server_cpu
metric_row "verification errors" errors
row "APPEND + FETCH s (target <= 3x)" "$(total native)" "$(total node)" "$(total chromium)"
echo
for host in node chromium; do
    r=$(ratio "$(total $host)" "$(total native)")
    verdict=$(awk -v r="$r" 'BEGIN {print (r != "-" && r <= 3 ? "met" : "missed")}')
    echo "$host: ${r}x native time: target $verdict"
done
echo "(native: tidings serve, FileStore, fsync per APPEND; node: edge host, MemoryStore;"
echo " chromium: demo page, IndexedDbStore, through tidings shim; host CPU includes children)"
if [ -n "$FAILED" ]; then
    echo "FAILED:$FAILED (see the output above)"
    exit 1
fi
