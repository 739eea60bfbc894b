#!/usr/bin/env bash
# The engine on wasm32 in headless Chromium: IndexedDbStore conformance and the JS API.
exec bash "$(dirname "$0")/../../web-demo/test.sh"
