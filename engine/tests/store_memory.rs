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
    assert!(report.len() >= 30, "only {} cases ran", report.len());
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

// -------------------------------------------------------------------------------------------
// The suite must be able to fail: a MemoryStore with one injected fault must fail the case
// that guards that rule.

mod faulty {
    use std::sync::Arc;

    use tidings_engine::command::{MailboxName, StoreOp};
    use tidings_engine::store::conformance::TestBackend;
    use tidings_engine::store::{
        Account, Appended, Changes, Copied, MailboxId, MailboxInfo, MailboxStatus, MemoryStore,
        MessageInfo, MessageMeta, NewMessage, Notifier, Snapshot, Store, StoreResult, Watch,
    };
    use tidings_engine::types::{Flag, SpecialUse, Uid};

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Fault {
        AnyPassword,
        ClaimNeverAdvances,
        ForgetTombstones,
        StoreRecent,
        SilentWatch,
        CopyDropsFlags,
        SharedUidValidity,
        RenameLeavesChildren,
    }

    pub struct Faulty {
        pub inner: MemoryStore,
        pub fault: Fault,
        silent: Notifier,
    }

    impl Faulty {
        pub fn new(fault: Fault) -> Faulty {
            Faulty {
                inner: MemoryStore::new(),
                fault,
                silent: Notifier::new(),
            }
        }
    }

    impl TestBackend for Faulty {
        async fn add_test_user(&self, name: &str, password: &str) -> StoreResult<()> {
            self.inner.add_user(name, password)
        }
    }

    impl Store for Faulty {
        async fn authenticate(&self, u: &str, p: &[u8]) -> StoreResult<Option<Account>> {
            if self.fault == Fault::AnyPassword {
                return Ok(Some(Account { name: u.into() }));
            }
            self.inner.authenticate(u, p).await
        }
        async fn list_mailboxes(&self, a: &Account) -> StoreResult<Vec<MailboxInfo>> {
            self.inner.list_mailboxes(a).await
        }
        async fn create_mailbox(
            &self,
            a: &Account,
            n: &MailboxName,
            s: Option<SpecialUse>,
        ) -> StoreResult<MailboxId> {
            self.inner.create_mailbox(a, n, s).await
        }
        async fn delete_mailbox(&self, a: &Account, n: &MailboxName) -> StoreResult<()> {
            self.inner.delete_mailbox(a, n).await
        }
        async fn rename_mailbox(
            &self,
            a: &Account,
            f: &MailboxName,
            t: &MailboxName,
        ) -> StoreResult<()> {
            if self.fault == Fault::RenameLeavesChildren && !f.is_inbox() {
                let id = self.inner.create_mailbox(a, t, None).await?;
                let old = self.inner.snapshot(a, f).await?;
                let uids: Vec<Uid> = old.messages.iter().map(|m| m.uid).collect();
                let _ = id;
                self.inner.move_messages(a, old.id, &uids, t).await?;
                return self.inner.delete_mailbox(a, f).await;
            }
            self.inner.rename_mailbox(a, f, t).await
        }
        async fn set_subscribed(&self, a: &Account, n: &MailboxName, s: bool) -> StoreResult<()> {
            self.inner.set_subscribed(a, n, s).await
        }
        async fn subscriptions(&self, a: &Account) -> StoreResult<Vec<MailboxName>> {
            self.inner.subscriptions(a).await
        }
        async fn status(&self, a: &Account, n: &MailboxName) -> StoreResult<MailboxStatus> {
            let mut s = self.inner.status(a, n).await?;
            if self.fault == Fault::SharedUidValidity {
                s.uidvalidity = 42;
            }
            Ok(s)
        }
        async fn snapshot(&self, a: &Account, n: &MailboxName) -> StoreResult<Snapshot> {
            let mut s = self.inner.snapshot(a, n).await?;
            if self.fault == Fault::StoreRecent {
                for m in &mut s.messages {
                    m.flags.push(Flag::Recent);
                }
            }
            if self.fault == Fault::SharedUidValidity {
                s.uidvalidity = 42;
            }
            Ok(s)
        }
        async fn changes_since(&self, a: &Account, m: MailboxId, s: u64) -> StoreResult<Changes> {
            let mut c = self.inner.changes_since(a, m, s).await?;
            if self.fault == Fault::ForgetTombstones {
                c.expunged.clear();
            }
            Ok(c)
        }
        async fn claim_recent(&self, a: &Account, m: MailboxId) -> StoreResult<Vec<Uid>> {
            if self.fault == Fault::ClaimNeverAdvances {
                let s = self.inner.changes_since(a, m, 0).await?;
                return Ok(s.changed.iter().map(|x| x.uid).collect());
            }
            self.inner.claim_recent(a, m).await
        }
        async fn append(
            &self,
            a: &Account,
            n: &MailboxName,
            msg: NewMessage,
        ) -> StoreResult<Appended> {
            self.inner.append(a, n, msg).await
        }
        async fn store_flags(
            &self,
            a: &Account,
            m: MailboxId,
            u: &[Uid],
            op: StoreOp,
            f: &[Flag],
            since: Option<u64>,
        ) -> StoreResult<(Vec<MessageMeta>, Vec<Uid>)> {
            self.inner.store_flags(a, m, u, op, f, since).await
        }
        async fn expunge(&self, a: &Account, m: MailboxId, u: &[Uid]) -> StoreResult<Vec<Uid>> {
            self.inner.expunge(a, m, u).await
        }
        async fn copy(
            &self,
            a: &Account,
            m: MailboxId,
            u: &[Uid],
            d: &MailboxName,
        ) -> StoreResult<Copied> {
            let c = self.inner.copy(a, m, u, d).await?;
            if self.fault == Fault::CopyDropsFlags {
                let dest = self.inner.snapshot(a, d).await?;
                let new: Vec<Uid> = c.mapping.iter().map(|p| p.1).collect();
                self.inner
                    .store_flags(a, dest.id, &new, StoreOp::Replace, &[], None)
                    .await?;
            }
            Ok(c)
        }
        async fn move_messages(
            &self,
            a: &Account,
            m: MailboxId,
            u: &[Uid],
            d: &MailboxName,
        ) -> StoreResult<Copied> {
            self.inner.move_messages(a, m, u, d).await
        }
        async fn message_info(
            &self,
            a: &Account,
            m: MailboxId,
            u: Uid,
        ) -> StoreResult<MessageInfo> {
            self.inner.message_info(a, m, u).await
        }
        async fn message_bytes(&self, a: &Account, m: MailboxId, u: Uid) -> StoreResult<Arc<[u8]>> {
            self.inner.message_bytes(a, m, u).await
        }
        fn watch(&self, a: &Account) -> Watch {
            if self.fault == Fault::SilentWatch {
                return self.silent.watch(&a.name);
            }
            self.inner.watch(a)
        }
    }
}

#[test]
fn each_injected_fault_is_caught_by_its_case() {
    use faulty::{Fault, Faulty};
    let expectations = [
        (Fault::AnyPassword, "authenticate_checks_passwords"),
        (Fault::ClaimNeverAdvances, "recent_claimed_exactly_once"),
        (
            Fault::ForgetTombstones,
            "changes_since_reports_new_changed_expunged",
        ),
        (Fault::ForgetTombstones, "move_expunges_source"),
        (Fault::ForgetTombstones, "random_operations_keep_invariants"),
        (
            Fault::SharedUidValidity,
            "random_operations_keep_invariants",
        ),
        (Fault::StoreRecent, "recent_is_never_stored"),
        (Fault::SilentWatch, "watch_wakes_other_session"),
        (Fault::CopyDropsFlags, "copy_carries_flags_date_and_bytes"),
        (
            Fault::SharedUidValidity,
            "uidvalidity_is_distinct_and_renewed",
        ),
        (Fault::RenameLeavesChildren, "rename_moves_children"),
    ];
    for (fault, case) in expectations {
        let report = block_on(run_all(|| async move { Faulty::new(fault) }));
        let failed: Vec<&str> = report.failures().iter().map(|f| f.0).collect();
        assert!(
            failed.contains(&case),
            "{fault:?} not caught by {case}; failures: {report}"
        );
        // Failures name the line where the rule was checked.
        for (_, failure) in report.failures() {
            assert!(failure.0.contains(".rs:"), "no location in {failure}");
        }
    }
}
