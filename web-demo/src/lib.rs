//! Tidings' WebAssembly host: the engine compiled for wasm32. (Being written: issue 4.)
#![forbid(unsafe_code)]
