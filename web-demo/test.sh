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
    cargo test -p tidings-web --target wasm32-unknown-unknown --test "*" --no-fail-fast 2>&1 | tee "$LOG"
STATUS=${PIPESTATUS[0]}
set -e
# One closing line for all wasm test binaries, summed from the runner's "test result:" lines.
grep -E '^test result:' "$LOG" | awk '
    { for (i = 1; i <= NF; i++) { if ($i ~ /^passed/) p += $(i-1); if ($i ~ /^failed/) f += $(i-1); if ($i ~ /^ignored/) s += $(i-1) } }
    END { printf "wasm: %d passed, %d failed, %d skipped\n", p, f, s }'
if [ "$STATUS" -eq 0 ] && ! grep -qE '^test result: ok\. [1-9]' "$LOG"; then
    echo "test.sh: the wasm runner ran no test" >&2
    STATUS=1
fi
exit "$STATUS"
