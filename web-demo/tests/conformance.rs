//! The engine's Store conformance suite against IndexedDbStore in a real browser, plus the
//! reopen case: close the database and open it again by name.
#![cfg(target_arch = "wasm32")]

use std::cell::Cell;

use tidings_engine::command::{MailboxName, StoreOp};
use tidings_engine::store::conformance::{run_all, survives_reopen, test_message, Report};
use tidings_engine::store::{Account, MailboxId, RunBytes, Store};
use tidings_engine::types::{Flag, Uid};
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

/// Walks `uids` in runs of `per_run` as the engine's FETCH does (each call asks from the
/// first UID the last one did not cover), so IndexedDbStore reads each next run ahead.
async fn walk(
    store: &IndexedDbStore,
    acct: &Account,
    id: MailboxId,
    uids: &[Uid],
    per_run: usize,
    max_bytes: usize,
) -> RunBytes {
    let mut out = Vec::new();
    let mut at = 0;
    while at < uids.len() {
        let asked = &uids[at..uids.len().min(at + per_run)];
        let run = store
            .message_bytes_run(acct, id, asked, max_bytes)
            .await
            .expect("bytes run");
        assert!(!run.is_empty() && run.len() <= asked.len());
        at += run.len();
        out.extend(run);
    }
    out
}

#[wasm_bindgen_test]
async fn bytes_runs_read_ahead_answer_as_fresh_reads_do() {
    let store = open(&fresh_name("tidings-runs")).await;
    store.add_user("ra", "pw").await.expect("user");
    let acct = Account { name: "ra".into() };
    let inbox = MailboxName::new("INBOX");
    let mut raws = Vec::new();
    for i in 0..60u8 {
        let msg = test_message(&format!("run {i}"), &[], 1 + i % 28);
        raws.push(msg.raw.clone());
        store.append(&acct, &inbox, msg).await.expect("append");
    }
    let id = store.snapshot(&acct, &inbox).await.expect("select").id;
    let uids: Vec<Uid> = (1..=60).collect();
    let expect = |run: &RunBytes, gone: &[Uid]| {
        assert_eq!(run.iter().map(|r| r.0).collect::<Vec<_>>(), uids);
        for (uid, bytes) in run {
            let want = (!gone.contains(uid)).then(|| raws[*uid as usize - 1].clone());
            assert_eq!(bytes.as_deref(), want.as_deref(), "UID {uid}");
        }
    };
    // Whole runs of 20, then runs cut short by a budget of about two messages.
    expect(&walk(&store, &acct, id, &uids, 20, usize::MAX).await, &[]);
    let two = raws[0].len() + 1;
    expect(&walk(&store, &acct, id, &uids, 20, two).await, &[]);
    // Flags set between two runs (as a non-PEEK FETCH does) change no bytes.
    store
        .message_bytes_run(&acct, id, &uids[..20], usize::MAX)
        .await
        .expect("first run");
    store
        .store_flags(&acct, id, &[21, 22], StoreOp::Add, &[Flag::Seen], None)
        .await
        .expect("flags");
    let next = store
        .message_bytes_run(&acct, id, &uids[20..40], usize::MAX)
        .await
        .expect("second run");
    assert!(next
        .iter()
        .all(|(uid, b)| b.as_deref() == Some(&raws[*uid as usize - 1][..])));
    // An expunge after a run was handed out (the next one being read ahead) is seen.
    store
        .message_bytes_run(&acct, id, &uids[..20], usize::MAX)
        .await
        .expect("first run");
    store.expunge(&acct, id, &[25]).await.expect("expunge");
    let rest = store
        .message_bytes_run(&acct, id, &uids[20..40], usize::MAX)
        .await
        .expect("second run");
    assert_eq!(
        rest.iter().find(|r| r.0 == 25).map(|r| r.1.is_some()),
        Some(false)
    );
    assert!(rest.iter().filter(|r| r.0 != 25).all(|r| r.1.is_some()));
}

#[wasm_bindgen_test]
async fn an_append_after_another_handle_wrote_takes_the_next_uid() {
    // IndexedDbStore writes an APPEND before it has read the mailbox row again when the
    // row should still be the one it wrote last; another writer must make it start over.
    let name = fresh_name("tidings-appends");
    let (a, b) = (open(&name).await, open(&name).await);
    a.add_user("ap", "pw").await.expect("user");
    let acct = Account { name: "ap".into() };
    let inbox = MailboxName::new("INBOX");
    async fn append(s: &IndexedDbStore, acct: &Account, inbox: &MailboxName, i: u8) -> Uid {
        let msg = test_message(&format!("append {i}"), &[Flag::Seen], 1 + i);
        s.append(acct, inbox, msg).await.expect("append").uid
    }
    assert_eq!(append(&a, &acct, &inbox, 1).await, 1);
    assert_eq!(append(&a, &acct, &inbox, 2).await, 2);
    assert_eq!(append(&b, &acct, &inbox, 3).await, 3);
    assert_eq!(append(&a, &acct, &inbox, 4).await, 4);
    assert_eq!(append(&a, &acct, &inbox, 5).await, 5);
    let id = a.snapshot(&acct, &inbox).await.expect("select").id;
    b.store_flags(&acct, id, &[1], StoreOp::Add, &[Flag::Flagged], None)
        .await
        .expect("flags");
    assert_eq!(append(&a, &acct, &inbox, 6).await, 6);
    let snap = b.snapshot(&acct, &inbox).await.expect("select");
    assert_eq!(snap.uidnext, 7);
    assert_eq!(
        snap.messages.iter().map(|m| m.uid).collect::<Vec<_>>(),
        (1..=6).collect::<Vec<_>>()
    );
    // Every message's bytes are its own, none lost to an undone write.
    let run = a
        .message_bytes_run(&acct, id, &(1..=6).collect::<Vec<_>>(), usize::MAX)
        .await
        .expect("bytes");
    for (uid, bytes) in run {
        let text = String::from_utf8_lossy(bytes.as_deref().expect("bytes")).into_owned();
        assert!(text.contains(&format!("append {uid}")), "UID {uid}");
    }
}

fn web_sys_log(s: &str) {
    wasm_bindgen_test::console_log!("{s}");
}
