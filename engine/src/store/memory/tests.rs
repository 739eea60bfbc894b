//! MemoryStore-specific unit tests: the choices the conformance suite leaves open
//! (UIDVALIDITY seeding, size limit, subscriptions on RENAME, forged accounts).

use super::*;
use crate::store::constant_time_eq;

#[test]
fn memory_store_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<MemoryStore>();
}

#[test]
fn constant_time_eq_compares_whole_secrets() {
    assert!(constant_time_eq(b"secret", b"secret"));
    assert!(!constant_time_eq(b"secret", b"secreT"));
    assert!(!constant_time_eq(b"secret", b"secret2"));
    assert!(!constant_time_eq(b"secret", b"secre"));
    assert!(!constant_time_eq(b"", b"x"));
    assert!(constant_time_eq(b"", b""));
}

fn block_on<F: std::future::Future>(fut: F) -> F::Output {
    match crate::store::conformance::block_on_ready(fut, 1000) {
        Some(v) => v,
        None => panic!("MemoryStore future pending"),
    }
}

fn alice(store: &MemoryStore) -> Account {
    let _ = store.add_user("alice", "pw");
    Account {
        name: "alice".into(),
    }
}

fn msg(body: &str) -> NewMessage {
    crate::store::conformance::test_message(body, &[], 1)
}

fn n(s: &str) -> MailboxName {
    MailboxName::new(s)
}

#[test]
fn uidvalidity_counts_up_from_the_base() {
    let s = MemoryStore::with_uidvalidity_base(1_750_701_677);
    let a = alice(&s);
    let inbox = block_on(s.status(&a, &n("INBOX"))).map(|x| x.uidvalidity);
    assert_eq!(inbox, Ok(1_750_701_677));
    block_on(s.create_mailbox(&a, &n("x"), None)).unwrap_or_default();
    let x = block_on(s.status(&a, &n("x"))).map(|x| x.uidvalidity);
    assert_eq!(x, Ok(1_750_701_677 + DEFAULT_MAILBOXES.len() as u32));
    let z = MemoryStore::with_uidvalidity_base(0);
    let a = alice(&z);
    assert_eq!(
        block_on(z.status(&a, &n("INBOX"))).map(|x| x.uidvalidity),
        Ok(1)
    );
}

#[test]
fn oversized_messages_are_refused() {
    let s = MemoryStore::new().with_max_message_size(50);
    let a = alice(&s);
    assert_eq!(
        block_on(s.append(&a, &n("INBOX"), msg("too big"))),
        Err(StoreError::TooBig)
    );
    assert_eq!(
        block_on(s.status(&a, &n("INBOX"))).map(|x| x.messages),
        Ok(0)
    );
}

#[test]
fn rename_carries_subscriptions_and_inbox_may_go_below_itself() {
    let s = MemoryStore::new();
    let a = alice(&s);
    block_on(s.create_mailbox(&a, &n("L/R"), None)).unwrap_or_default();
    assert_eq!(block_on(s.set_subscribed(&a, &n("L/R"), true)), Ok(()));
    assert_eq!(block_on(s.rename_mailbox(&a, &n("L"), &n("M"))), Ok(()));
    let subs = block_on(s.subscriptions(&a)).unwrap_or_default();
    assert!(
        subs.contains(&n("M/R")) && !subs.contains(&n("L/R")),
        "{subs:?}"
    );
    block_on(s.append(&a, &n("INBOX"), msg("x")))
        .map(drop)
        .unwrap_or_default();
    assert_eq!(
        block_on(s.rename_mailbox(&a, &n("inbox"), &n("INBOX/old"))),
        Ok(())
    );
    let old = block_on(s.status(&a, &n("INBOX/old"))).map(|x| x.messages);
    assert_eq!(old, Ok(1));
}

#[test]
fn move_within_one_mailbox_renumbers() {
    let s = MemoryStore::new();
    let a = alice(&s);
    let ap = block_on(s.append(&a, &n("INBOX"), msg("x")));
    let Ok(ap) = ap else { panic!("{ap:?}") };
    let moved = block_on(s.move_messages(&a, ap.mailbox, &[ap.uid], &n("INBOX")));
    assert_eq!(moved.map(|c| c.mapping), Ok(vec![(ap.uid, ap.uid + 1)]));
    let snap = block_on(s.snapshot(&a, &n("INBOX"))).map(|x| x.messages.len());
    assert_eq!(snap, Ok(1));
}

#[test]
fn a_forged_account_is_refused_without_panicking() {
    let s = MemoryStore::new();
    let ghost = Account {
        name: "ghost".into(),
    };
    assert!(block_on(s.list_mailboxes(&ghost)).is_err());
    assert!(block_on(s.append(&ghost, &n("INBOX"), msg("x"))).is_err());
    assert!(block_on(s.claim_recent(&ghost, 1)).is_err());
}

#[test]
fn add_user_twice_is_refused() {
    let s = MemoryStore::new();
    assert_eq!(s.add_user("a", "p"), Ok(()));
    assert_eq!(s.add_user("a", "q"), Err(StoreError::AlreadyExists));
}

#[test]
fn multibyte_names_near_the_inbox_prefix_do_not_panic() {
    let s = MemoryStore::new();
    let a = alice(&s);
    for name in ["abcdé", "abcdeé", "INBOXé", "INBOX/é", "Ünïcødé/子"] {
        assert!(
            block_on(s.create_mailbox(&a, &n(name), None)).is_ok(),
            "{name}"
        );
    }
}
