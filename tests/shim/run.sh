#!/usr/bin/env bash
# Runs every shim, page and edge-host test: the Rust unit tests of the shim (frame codec,
# HTTP, hub), the relay with a fake page, the page's JS units, the edge host under Node, and
# the end-to-end test in headless Chromium. The last two need the wasm build
# (web-demo/setup.sh && web-demo/build.sh) and `npm ci`; without them they fail, saying so.
# Prints one line per suite and a final `N passed, N failed` (suites).
set -uo pipefail
cd "$(dirname "$0")/../.."

passed=0
failed=0
run() {
    local name=$1
    shift
    echo "== $name: $*"
    if "$@"; then
        passed=$((passed + 1))
    else
        echo "== $name FAILED"
        failed=$((failed + 1))
    fi
}

run "shim unit tests" cargo test -q -p tidings-host --bin tidings shim::
run "relay with a fake page" timeout 300 python3 tests/shim/test_relay.py
run "page units (node)" timeout 60 node tests/shim/test_page_units.mjs
run "edge host" timeout 120 python3 tests/shim/test_edge.py
run "end to end (chromium)" timeout 600 python3 tests/shim/test_e2e.py

echo "suites: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
