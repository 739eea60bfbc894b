#!/usr/bin/env bash
# Runs every Tidings test suite from a fresh clone. First installs, idempotently and only
# when missing, what the suites need; then runs each suite, prints its runner's summary and
# a final "N passed, N failed" line over suites. Any failing suite fails the run.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
export CARGO_TERM_COLOR=never

step() { printf '\n==== %s\n' "$*"; }
passed=0
failed=0
failed_names=()
suite() {
    local name=$1
    shift
    step "$name"
    if "$@"; then
        passed=$((passed + 1))
        echo "suite $name: ok"
    else
        failed=$((failed + 1))
        failed_names+=("$name")
        echo "suite $name: FAILED"
    fi
}

step "setup (idempotent)"
if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
    rustup target add wasm32-unknown-unknown || exit 1
fi
if [ -x web-demo/setup.sh ]; then
    bash web-demo/setup.sh || exit 1
fi
if ! command -v mbsync >/dev/null 2>&1; then
    { apt-get update && apt-get install -y isync; } >/dev/null || exit 1
fi
if [ -f package.json ] && [ ! -d node_modules ]; then
    npm ci --no-audit --no-fund || exit 1
fi

suite fmt cargo fmt --all -- --check
suite clippy cargo clippy --workspace --all-targets -- -D warnings
suite engine-wasm32 cargo build -p tidings-engine --target wasm32-unknown-unknown
suite cargo-test cargo test --workspace --no-fail-fast
suite build-binary cargo build -p tidings-host
export TIDINGS_BIN="$ROOT/target/debug/tidings"
suite imaplib bash -c 'cd tests/clients && python3 -m unittest -v test_imaplib 2>&1'
suite curl bash -c 'cd tests/clients && python3 -m unittest -v test_curl 2>&1'
suite seed-over-tcp bash -c 'cd tests/clients && python3 -m unittest -v test_seed_tcp 2>&1'
suite security bash -c 'cd tests/clients && python3 -m unittest -v test_security 2>&1'
suite import bash -c 'cd tests/clients && python3 -m unittest -v test_import 2>&1'
suite mbsync bash -c 'cd tests/clients && python3 -m unittest -v test_mbsync 2>&1'
suite crash python3 tests/clients/crash.py --rounds 6 --max-seconds 90
suite delivery bash -c 'cd tests/clients && python3 -m unittest -v test_delivery 2>&1'
for extra in tests/suites/*.sh; do
    [ -e "$extra" ] || continue
    suite "$(basename "$extra" .sh)" bash "$extra"
done

echo
if [ "$failed" -gt 0 ]; then
    echo "failed suites: ${failed_names[*]}"
fi
echo "suites: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
