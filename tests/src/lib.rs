//! Shared helpers for Tidings' cross-crate tests (the tests live in `tests/tests/`).
