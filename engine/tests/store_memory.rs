//! Runs the `Store` conformance suite against `MemoryStore`, with a poll loop for a runtime
//! (the memory store never really waits).

use tidings_engine::store::conformance::{self, block_on_ready, run_all, Report};
use tidings_engine::store::MemoryStore;

/// Polls a future that is expected to complete without waiting.
fn block_on<F: std::future::Future>(fut: F) -> F::Output {
    match block_on_ready(fut, 1_000_000) {
        Some(v) => v,
        None => panic!("a MemoryStore future stayed pending"),
    }
}

#[test]
fn memory_store_passes_the_conformance_suite() {
    let report: Report = block_on(run_all(|| async { MemoryStore::new() }));
    println!("{report}");
    assert!(report.is_success(), "{report}");
    assert!(report.len() >= 29, "only {} cases ran", report.len());
}

#[test]
fn memory_store_passes_with_a_high_uidvalidity_base() {
    let report = block_on(run_all(|| async {
        MemoryStore::with_uidvalidity_base(1_750_701_677)
    }));
    assert!(report.is_success(), "{report}");
}

#[test]
fn reopen_case_runs_with_an_identity_reopen() {
    // MemoryStore cannot restart; reopening as itself still exercises the case's checks.
    let result = block_on(conformance::survives_reopen(
        MemoryStore::new(),
        |s| async { s },
    ));
    assert_eq!(result, Ok(()));
}

#[test]
fn run_matching_filters_cases() {
    let report = block_on(conformance::run_matching("rename", || async {
        MemoryStore::new()
    }));
    assert_eq!(report.len(), 3, "{report}");
    assert!(report.is_success(), "{report}");
}
