#!/usr/bin/env bash
# Tidings and Dovecot side by side on loopback: starts both (temp dirs, free ports, same users
# and password hash), runs every tidings-load scenario against each in alternation, prints one
# table (Tidings, Dovecot, ratio) and stops both servers on exit.
#
#   bash bench/run.sh            # the full run (about 10 minutes on 2 cores)
#   QUICK=1 bash bench/run.sh    # small sizes: a smoke test of the whole pipeline
#   KEEP=1 ...                   # keep the temp dir (logs, raw outputs) for inspection
#   ONLY="big" BIG_N=100000 ...  # just some scenarios (mixed mixed_paced connect big append
#                                # fetch_big fetch_big_tls idle), e.g. 100,000 messages
#   REPEAT=3 ...                 # every scenario 3 times; the table shows each median
#   MIX_RATE=2000 ...            # the offered load of mixed_paced, commands/s (both servers)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
export CARGO_TERM_COLOR=never

QUICK=${QUICK:-0}
PASS=loadpass
if [ "$QUICK" = 1 ]; then
    MIX_CLIENTS=4 MIX_SECS=4 MIX_RATE=200 CONNECT_N=50 IDLE_T=200 IDLE_D=100 PUSH_ROUNDS=2
    BIG_N=500 BIG_REPEAT=2 APPEND_N=100 FETCH_N=5
else
    MIX_CLIENTS=${MIX_CLIENTS:-50} MIX_SECS=${MIX_SECS:-30} MIX_RATE=${MIX_RATE:-2000}
    CONNECT_N=${CONNECT_N:-1000}
    IDLE_T=${IDLE_T:-10000} IDLE_D=${IDLE_D:-1000} PUSH_ROUNDS=${PUSH_ROUNDS:-5}
    BIG_N=${BIG_N:-10000} BIG_REPEAT=${BIG_REPEAT:-3} APPEND_N=${APPEND_N:-1000}
    FETCH_N=${FETCH_N:-50}
fi
NUSERS=$MIX_CLIENTS
REPEAT=${REPEAT:-1}
ROUND=1

T=$(mktemp -d /tmp/tidings-bench.XXXXXX)
chmod 755 "$T"
mkdir -p "$T/out"
TPID="" DPID="" INOTIFY_OLD=""

stop_pid() { # pid: SIGTERM, wait up to 10 s, then SIGKILL
    local pid=$1
    [ -n "$pid" ] || return 0
    kill -TERM "$pid" 2>/dev/null || return 0
    for _ in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
}
cleanup() {
    set +e
    stop_pid "$TPID"
    stop_pid "$DPID"
    if [ -n "$INOTIFY_OLD" ]; then
        echo "$INOTIFY_OLD" > /proc/sys/fs/inotify/max_user_instances
        say "fs.inotify.max_user_instances restored to $(cat /proc/sys/fs/inotify/max_user_instances)"
    fi
    if [ "${KEEP:-0}" = 1 ]; then
        echo "kept $T"
    else
        rm -rf "$T"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { printf '==== %s\n' "$*" >&2; }

# ---- prerequisites ---------------------------------------------------------------------
if ! command -v dovecot >/dev/null 2>&1; then
    say "installing dovecot-imapd"
    { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y dovecot-imapd; } >/dev/null
fi
say "building (release)"
cargo build --release -q -p tidings-host -p tidings-load
TIDINGS=$ROOT/target/release/tidings
LOAD=$ROOT/target/release/tidings-load
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [ -w /proc/sys/fs/inotify/max_user_instances ]; then
    INOTIFY_OLD=$(cat /proc/sys/fs/inotify/max_user_instances)
    # A run killed with SIGKILL cannot restore it: say so rather than "restore" 8192.
    [ "$INOTIFY_OLD" = 8192 ] && say "note: fs.inotify.max_user_instances is already 8192 (an earlier run killed?); the usual default is 128"
    echo 8192 > /proc/sys/fs/inotify/max_user_instances
else
    say "warning: cannot raise fs.inotify.max_user_instances; Dovecot IDLE may fall back to polling"
fi

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
wait_port() { # port: bounded wait until something listens
    for _ in $(seq 1 100); do
        if python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$1),1)" 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    return 1
}

# ---- Tidings -----------------------------------------------------------------------------
TD=$T/tidings
mkdir -p "$TD"
cat > "$TD/tidings.toml" <<EOF
demo_user = false
max_connections = 20000
max_connections_per_ip = 20000
EOF
say "creating $NUSERS users in Tidings"
for i in $(seq 1 "$NUSERS"); do
    echo "$PASS" | "$TIDINGS" user add "load$i" --password-stdin --data-dir "$TD/data" >/dev/null
done
start_tidings() { # [env assignments...]
    env "$@" "$TIDINGS" serve --config "$TD/tidings.toml" --data-dir "$TD/data" \
        --imap 127.0.0.1:0 --imaps 127.0.0.1:0 --lmtp 127.0.0.1:0 \
        > "$TD/stdout" 2>> "$TD/stderr" &
    TPID=$!
    for _ in $(seq 1 100); do
        grep -q '^listening imaps ' "$TD/stdout" 2>/dev/null && break
        sleep 0.1
    done
    T_ADDR=$(awk '$1=="listening" && $2=="imap" {print $3}' "$TD/stdout")
    T_TLS=$(awk '$1=="listening" && $2=="imaps" {print $3}' "$TD/stdout")
    [ -n "$T_ADDR" ] && [ -n "$T_TLS" ] || { cat "$TD/stderr" >&2; echo "tidings did not start" >&2; exit 1; }
}
export TIDINGS_LOG=warn
start_tidings ${TIDINGS_ENV:-}
CA=$TD/data/tls/dev-cert.pem

# ---- Dovecot -----------------------------------------------------------------------------
DD=$T/dovecot
mkdir -p "$DD/state" "$DD/mail"
chown dovecot:dovecot "$DD/mail"
D_PORT=$(free_port)
D_TLS_PORT=$(free_port)
HASH=$("$LOAD" hash-password "$PASS")
for i in $(seq 1 "$NUSERS"); do echo "load$i:{ARGON2ID}$HASH"; done > "$DD/passwd"
chmod 644 "$DD/passwd"
cp "$TD/data/tls/dev-cert.pem" "$DD/cert.pem"
cp "$TD/data/tls/dev-key.pem" "$DD/key.pem"
cat > "$DD/dovecot.conf" <<EOF
# Generated by bench/run.sh: loopback only, everything under $DD, no system config.
base_dir = $DD/run
state_dir = $DD/state
log_path = $DD/dovecot.log
info_log_path = $DD/dovecot.log
protocols = imap
listen = 127.0.0.1
default_internal_user = dovecot
default_login_user = dovenull
first_valid_uid = $(id -u dovecot)
default_process_limit = 20000
default_client_limit = 40000
default_vsz_limit = 1G
ssl = yes
ssl_cert = <$DD/cert.pem
ssl_key = <$DD/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain login
# Tidings caches successful logins for an hour by default (auth_cache_ttl_secs); give
# Dovecot its equivalent so logins cost both servers the same.
auth_cache_size = 10M
auth_cache_ttl = 1 hour
passdb {
  driver = passwd-file
  args = $DD/passwd
}
userdb {
  driver = static
  args = uid=dovecot gid=dovecot home=$DD/mail/%u
}
mail_location = maildir:~/Maildir
mail_fsync = optimized
namespace inbox {
  inbox = yes
  mailbox Drafts {
    auto = subscribe
    special_use = \\Drafts
  }
  mailbox Sent {
    auto = subscribe
    special_use = \\Sent
  }
  mailbox Trash {
    auto = subscribe
    special_use = \\Trash
  }
  mailbox Junk {
    auto = subscribe
    special_use = \\Junk
  }
  mailbox Archive {
    auto = subscribe
    special_use = \\Archive
  }
}
protocol imap {
  mail_max_userip_connections = 20000
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $D_PORT
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = $D_TLS_PORT
    ssl = yes
  }
}
EOF
dovecot -F -c "$DD/dovecot.conf" > "$DD/stdout" 2>&1 &
DPID=$!
wait_port "$D_PORT" || { cat "$DD/stdout" "$DD/dovecot.log" >&2; echo "dovecot did not start" >&2; exit 1; }
D_ADDR=127.0.0.1:$D_PORT
D_TLS=127.0.0.1:$D_TLS_PORT
say "tidings $T_ADDR (pid $TPID), dovecot $D_ADDR (pid $DPID)"

# ---- scenarios ---------------------------------------------------------------------------
FAILS=0
run_one() { # server name args...: runs the load tool, keeps its output
    local server=$1 name=$2
    shift 2
    local addr tls pid
    if [ "$server" = tidings ]; then addr=$T_ADDR tls=$T_TLS pid=$TPID; else addr=$D_ADDR tls=$D_TLS pid=$DPID; fi
    local out="$T/out/$name.$server.$ROUND"
    say "$name: $server (round $ROUND of $REPEAT)"
    if ! timeout 900 "$LOAD" --addr "$addr" --tls-addr "$tls" --ca "$CA" --password "$PASS" \
        --server-pid "$pid" "$@" > "$out" 2>&1; then
        FAILS=$((FAILS + 1))
        echo "  $name on $server reported errors (see below)" >&2
    fi
    grep -v '^metric' "$out" | sed 's/^/  /' >&2
}
ORDER=0
ONLY=${ONLY:-}
wanted() { # name: is the scenario selected (ONLY="big append" runs just those)?
    [ -z "$ONLY" ] || [[ " $ONLY " == *" $1 "* ]]
}
pair() { # name args...: both servers, alternating who goes first
    local name=$1
    shift
    wanted "$name" || return 0
    if [ $((ORDER % 2)) = 0 ]; then
        run_one tidings "$name" "$@"
        run_one dovecot "$name" "$@"
    else
        run_one dovecot "$name" "$@"
        run_one tidings "$name" "$@"
    fi
    ORDER=$((ORDER + 1))
}

scenarios() {
    pair mixed mixed --clients "$MIX_CLIENTS" --seconds "$MIX_SECS"
    # The same mix at one fixed offered load for both (below either one's saturation), so
    # latencies compare service times, not the length of each server's queue.
    pair mixed_paced mixed --clients "$MIX_CLIENTS" --seconds "$MIX_SECS" --rate "$MIX_RATE"
    pair connect idle --name connect --conns "$CONNECT_N" --rounds 0 --users "$NUSERS"
    pair big big --messages "$BIG_N" --repeat "$BIG_REPEAT"
    pair append append --count "$APPEND_N"
    pair fetch_big fetch-big --count "$FETCH_N"
    pair fetch_big_tls fetch-big --count "$FETCH_N" --tls
    # Many idle connections: Tidings at IDLE_T, Dovecot (a process per connection) at IDLE_D.
    # Tidings is restarted first, so memory per connection is measured from a fresh process.
    if wanted idle; then
        stop_pid "$TPID"
        start_tidings ${TIDINGS_ENV:-}
        run_one dovecot idle idle --conns "$IDLE_D" --rounds "$PUSH_ROUNDS"
        run_one tidings idle idle --conns "$IDLE_T" --rounds "$PUSH_ROUNDS"
    fi
}
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
for ROUND in $(seq 1 "$REPEAT"); do
    scenarios
done

# ---- the table ---------------------------------------------------------------------------
ran() { # scenario.server: did any round run it?
    compgen -G "$T/out/$1.[0-9]*" >/dev/null
}
metric() { # scenario.server name -> the median over rounds of the value, or empty
    ran "$1" || return 0
    for f in "$T/out/$1".[0-9]*; do
        awk -v n="$2" '$1=="metric" && $2==n {print $3}' "$f" | tail -n 1
    done | sort -g | awk '{ v[NR] = $1 } END { if (NR) print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'
}
row() { # scenario metric label better (scenarios left out by ONLY print no rows)
    local t d ratio
    ran "$1.tidings" || ran "$1.dovecot" || return 0
    t=$(metric "$1.tidings" "$2")
    d=$(metric "$1.dovecot" "$2")
    ratio=$(awk -v t="${t:-}" -v d="${d:-}" 'BEGIN { if (t == "" || d == "" || d + 0 == 0) print "-"; else printf "%.2f", t / d }')
    printf '| %-44s | %12s | %12s | %6s | %-6s |\n' "$3" "${t:--}" "${d:--}" "$ratio" "$4"
}
{
echo
echo "Tidings $("$TIDINGS" --version | awk '{print $2}') vs Dovecot $(dovecot --version | awk '{print $1}'), $(nproc) cores, $(date -u '+%Y-%m-%d %H:%M UTC'), load average before: $LOAD_BEFORE"
echo "ratio = Tidings / Dovecot; 'better' says which direction wins; each figure the median of $REPEAT round(s)"
echo
printf '| %-44s | %12s | %12s | %6s | %-6s |\n' "metric" "Tidings" "Dovecot" "ratio" "better"
printf '|%s|%s|%s|%s|%s|\n' "----------------------------------------------" "--------------" "--------------" "--------" "--------"
row mixed mixed.cmds_per_s "mixed ($MIX_CLIENTS clients): commands/s" higher
row mixed mixed.errors "mixed: errors" lower
row mixed mixed.server_cpu_per_1000cmd "mixed: server CPU ms per 1000 commands" lower
row mixed mixed.server_mem_peak "mixed: server peak memory MiB" lower
row mixed mixed.client_cpu "mixed: load generator CPU s (same 2 cores)" info
for c in authenticate select fetch_flags fetch_headers fetch_body store_seen append move idle_done; do
    row mixed "mixed.$c.p50" "mixed: $c p50 ms" lower
    row mixed "mixed.$c.p99" "mixed: $c p99 ms" lower
done
row mixed_paced mixed.cmds_per_s "mixed paced at $MIX_RATE/s: commands/s" info
row mixed_paced mixed.server_cpu_per_1000cmd "mixed paced: server CPU ms per 1000 commands" lower
for c in authenticate select fetch_flags fetch_headers fetch_body store_seen append move idle_done; do
    row mixed_paced "mixed.$c.p50" "mixed paced: $c p50 ms" lower
    row mixed_paced "mixed.$c.p99" "mixed paced: $c p99 ms" lower
done
row connect connect.setup_per_s "connect $CONNECT_N (LOGIN+SELECT+IDLE)/s" higher
row connect connect.server_cpu_per_conn "connect: server CPU ms per connection" lower
row connect connect.server_mem_per_conn "connect: server KiB per idle connection" lower
row connect connect.server_mem_peak "connect: server peak memory MiB" lower
row idle idle.setup_per_s "idle T=$IDLE_T D=$IDLE_D: setups/s" higher
row idle idle.server_cpu_per_conn "idle: server CPU ms per connection" lower
row idle idle.server_mem_per_conn "idle: server KiB per idle connection" lower
row idle idle.push_last_p50 "idle: APPEND -> last watcher EXISTS p50 ms" lower
row idle idle.push_last_max "idle: APPEND -> last watcher EXISTS max ms" lower
row idle idle.push_server_us_per_watcher "idle: server CPU us per watcher per push" lower
row idle idle.push_client_us_per_watcher "idle: load generator CPU us per watcher" info
row big big.populate_per_s "big $BIG_N: pipelined APPEND msg/s" higher
row big big.fetch_flags "big: UID FETCH 1:* (FLAGS) ms" lower
row big big.fetch_flags.first "big: UID FETCH 1:* (FLAGS) first ms" lower
row big big.search_subject "big: UID SEARCH HEADER Subject ms" lower
row big big.search_subject.first "big: UID SEARCH HEADER Subject first ms" lower
row big big.search_text "big: UID SEARCH TEXT ms" lower
row big big.search_text.first "big: UID SEARCH TEXT first ms" lower
row big big.fetch_sizes "big: FETCH 1:* (UID RFC822.SIZE) ms" lower
row big big.fetch_sizes.first "big: FETCH 1:* (UID RFC822.SIZE) first ms" lower
row append append.total "APPEND $APPEND_N x 20 KB one by one: s" lower
row append append.append.p50 "APPEND: p50 ms" lower
row append append.append.p99 "APPEND: p99 ms" lower
row append append.server_cpu_per_msg "APPEND: server CPU ms per message" lower
row fetch_big fetch_big.total "FETCH $FETCH_N x 1 MiB BODY.PEEK[]: s" lower
row fetch_big fetch_big.mib_per_s "FETCH 1 MiB plain: MiB/s" higher
row fetch_big fetch_big.fetch_body.p50 "FETCH 1 MiB plain: p50 ms" lower
row fetch_big fetch_big.fetch_body.p99 "FETCH 1 MiB plain: p99 ms" lower
row fetch_big fetch_big.server_cpu "FETCH 1 MiB plain: server CPU s" lower
row fetch_big_tls fetch_big_tls.total "FETCH $FETCH_N x 1 MiB over TLS: s" lower
row fetch_big_tls fetch_big_tls.mib_per_s "FETCH 1 MiB TLS: MiB/s" higher
row fetch_big_tls fetch_big_tls.fetch_body.p50 "FETCH 1 MiB TLS: p50 ms" lower
row fetch_big_tls fetch_big_tls.fetch_body.p99 "FETCH 1 MiB TLS: p99 ms" lower
row fetch_big_tls fetch_big_tls.server_cpu "FETCH 1 MiB TLS: server CPU s" lower
echo
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg); scenario runs with errors: $FAILS"
} | tee "$T/table.md"
[ "$FAILS" = 0 ]
