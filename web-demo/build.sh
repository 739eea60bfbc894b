#!/usr/bin/env bash
# Builds tidings-web for wasm32 and generates the JS bindings: web-demo/pkg (ES module for
# the page) and web-demo/pkg-node (CommonJS for the Node edge host). Run setup.sh first.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --target wasm32-unknown-unknown -p tidings-web
TARGET_DIR=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
WASM="$TARGET_DIR/wasm32-unknown-unknown/release/tidings_web.wasm"
wasm-bindgen --target web --out-dir web-demo/pkg "$WASM"
wasm-bindgen --target nodejs --out-dir web-demo/pkg-node "$WASM"
echo "built web-demo/pkg and web-demo/pkg-node"
