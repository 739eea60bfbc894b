//! The engine's Store conformance suite against IndexedDbStore in a real browser, plus the
//! reopen case: close the database and open it again by name.
#![cfg(target_arch = "wasm32")]

use std::cell::Cell;

use tidings_engine::store::conformance::{run_all, survives_reopen, Report};
use tidings_web::IndexedDbStore;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// A database name no earlier run or case used.
fn fresh_name(prefix: &str) -> String {
    thread_local!(static N: Cell<u32> = const { Cell::new(0) });
    let n = N.with(|n| {
        n.set(n.get() + 1);
        n.get()
    });
    format!("{prefix}-{}-{n}", js_sys::Date::now() as u64)
}

async fn open(name: &str) -> IndexedDbStore {
    match IndexedDbStore::open(name).await {
        Ok(s) => s,
        Err(e) => panic!("cannot open IndexedDB {name:?}: {e}"),
    }
}

#[wasm_bindgen_test]
async fn conformance_suite_passes_on_indexeddb() {
    let report: Report = run_all(|| async { open(&fresh_name("tidings-conf")).await }).await;
    web_sys_log(&report.to_string());
    assert!(report.len() >= 30, "only {} cases ran", report.len());
    assert!(report.is_success(), "{report}");
}

#[wasm_bindgen_test]
async fn survives_a_real_reopen() {
    let name = fresh_name("tidings-reopen");
    let store = open(&name).await;
    let result = survives_reopen(store, |s| {
        let name = name.clone();
        async move {
            s.close();
            open(&name).await
        }
    })
    .await;
    let mut report = Report::default();
    report.record("survives_reopen", result);
    assert!(report.is_success(), "{report}");
}

fn web_sys_log(s: &str) {
    wasm_bindgen_test::console_log!("{s}");
}
