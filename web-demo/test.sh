#!/usr/bin/env bash
# Sets up, builds, then runs tidings-web's tests: host unit tests, and the wasm tests
# (conformance suite on IndexedDB, the JS API) in headless Chromium. Fails if any test fails.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
"$HERE/setup.sh"
"$HERE/build.sh"
cd "$HERE/.."

cargo test -p tidings-web

SCRATCH=$(mktemp -d)
trap 'rm -rf "$SCRATCH"' EXIT
LOG="$SCRATCH/wasm-test.log"
set +e
TMPDIR="$SCRATCH" CHROMEDRIVER=/usr/bin/chromedriver WASM_BINDGEN_TEST_TIMEOUT=120 \
    cargo test -p tidings-web --target wasm32-unknown-unknown --test "*" 2>&1 | tee "$LOG"
STATUS=${PIPESTATUS[0]}
set -e
echo "wasm tests: $(grep -E '^test result:' "$LOG" | tail -n 1)"
exit "$STATUS"
