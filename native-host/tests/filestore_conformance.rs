//! Runs the engine's `Store` conformance suite against `FileStore`, each case in a fresh
//! temp directory on a multi-thread tokio runtime, plus the suite's reopen case.

use std::path::PathBuf;

use tidings_engine::store::conformance::{run_all, survives_reopen};
use tidings_host::store::FileStore;

/// A store in a new temp dir; the dir is leaked into `dirs` so it lives until the test ends.
fn fresh(dirs: &mut Vec<tempfile::TempDir>) -> FileStore {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = FileStore::open(dir.path()).expect("open store");
    dirs.push(dir);
    store
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_store_passes_the_conformance_suite() {
    let mut dirs = Vec::new();
    let report = run_all(|| {
        let store = fresh(&mut dirs);
        async move { store }
    })
    .await;
    println!("{report}");
    assert!(report.is_success(), "{report}");
    assert!(report.len() >= 30, "only {} cases ran", report.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_store_survives_reopen() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path: PathBuf = dir.path().to_path_buf();
    let store = FileStore::open(&path).expect("open store");
    let result = survives_reopen(store, |old| async move {
        drop(old);
        FileStore::open(&path).expect("reopen store")
    })
    .await;
    assert_eq!(result, Ok(()));
}

#[tokio::test(flavor = "current_thread")]
async fn file_store_passes_on_a_current_thread_runtime() {
    let mut dirs = Vec::new();
    let report = run_all(|| {
        let store = fresh(&mut dirs);
        async move { store }
    })
    .await;
    assert!(report.is_success(), "{report}");
}
