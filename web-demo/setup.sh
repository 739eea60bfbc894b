#!/usr/bin/env bash
# Installs what building and testing tidings-web needs, each step only when missing:
# the wasm32 target, wasm-bindgen-cli (same version as the pinned wasm-bindgen), Chromium.
set -euo pipefail
cd "$(dirname "$0")"

# The exact version pinned in Cargo.toml (`wasm-bindgen = "=X"`).
WBG_VERSION=$(sed -n 's/^wasm-bindgen = "=\([0-9.]*\)".*/\1/p' Cargo.toml)
if [ -z "$WBG_VERSION" ]; then
    echo "setup.sh: cannot find the pinned wasm-bindgen version in Cargo.toml" >&2
    exit 1
fi

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    rustup target add wasm32-unknown-unknown
fi

if ! command -v wasm-bindgen >/dev/null 2>&1 \
    || ! wasm-bindgen --version | grep -q " $WBG_VERSION\$" \
    || ! command -v wasm-bindgen-test-runner >/dev/null 2>&1; then
    cargo install wasm-bindgen-cli --version "$WBG_VERSION"
fi

if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
    apt-get update
    apt-get install -y chromium chromium-driver
fi
