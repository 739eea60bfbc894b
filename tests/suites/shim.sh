#!/usr/bin/env bash
# `tidings shim`, the demo page and the Node edge host (tests/shim/run.sh): relay with a fake
# page, the page's JS units, the edge host under imaplib, and the end-to-end test in headless
# Chromium. Builds the wasm (web-demo/pkg, pkg-node) first; incremental when up to date.
set -uo pipefail
cd "$(dirname "$0")/../.."
bash web-demo/build.sh || exit 1
exec bash tests/shim/run.sh
