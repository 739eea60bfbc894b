//! Conformance cases about mailboxes: CREATE, DELETE, RENAME (INBOX and children included),
//! subscriptions and UIDVALIDITY identity.

use super::{expect_err, is_no_such, login, mbox, test_message, CaseResult, Failure, TestBackend};
use crate::store::{Account, MailboxInfo, StoreError};
use crate::types::SpecialUse;

async fn names<S: TestBackend>(store: &S, acct: &Account) -> Result<Vec<String>, Failure> {
    Ok(store
        .list_mailboxes(acct)
        .await?
        .into_iter()
        .map(|m| m.name.0.into())
        .collect())
}

fn find<'a>(list: &'a [MailboxInfo], name: &str) -> Option<&'a MailboxInfo> {
    list.iter().find(|m| m.name.as_str() == name)
}

/// CREATE `a/b/c` creates the missing `a` and `a/b` (RFC 9051 §6.3.4); a special-use
/// attribute goes on the named mailbox only.
pub async fn create_makes_missing_parents<S: TestBackend>(store: &S) -> CaseResult {
    let acct = login(store, "alice").await?;
    let id = store
        .create_mailbox(&acct, &mbox("a/b/c"), Some(SpecialUse::Flagged))
        .await?;
    let list = store.list_mailboxes(&acct).await?;
    for name in ["a", "a/b", "a/b/c"] {
        ensure!(find(&list, name).is_some(), "{name} not created");
    }
    ensure_eq!(find(&list, "a/b/c").map(|m| m.id), Some(id), "returned id");
    ensure_eq!(
        find(&list, "a/b/c").and_then(|m| m.special_use),
        Some(SpecialUse::Flagged),
        "special-use of a/b/c"
    );
    ensure_eq!(
        find(&list, "a").and_then(|m| m.special_use),
        None,
        "special-use of the created parent"
    );
    // Parents are real mailboxes: they can hold mail.
    store
        .append(&acct, &mbox("a/b"), test_message("p", &[], 1))
        .await?;
    store.create_mailbox(&acct, &mbox("a/x"), None).await?;
    ensure!(
        names(store, &acct).await?.contains(&"a/x".to_string()),
        "sibling under an existing parent"
    );
    Ok(())
}

/// CREATE refuses malformed names (`NO [CANNOT]`) and existing ones (`NO [ALREADYEXISTS]`),
/// INBOX in any case included, and changes nothing when it refuses.
pub async fn create_refuses_bad_and_existing_names<S: TestBackend>(store: &S) -> CaseResult {
    let acct = login(store, "alice").await?;
    store.create_mailbox(&acct, &mbox("Work/Q1"), None).await?;
    let before = names(store, &acct).await?;
    for bad in [
        "",
        "/Work",
        "Work/",
        "Work//Q2",
        "Tab\there",
        "Bell\u{7}",
        "50%",
        "A*",
    ] {
        expect_err(
            store.create_mailbox(&acct, &mbox(bad), None).await,
            |e| matches!(e, StoreError::InvalidName(_)),
            &format!("CREATE {bad:?}"),
        )?;
    }
    for existing in ["Work", "Work/Q1", "INBOX", "inbox", "Inbox", "Sent"] {
        expect_err(
            store.create_mailbox(&acct, &mbox(existing), None).await,
            |e| *e == StoreError::AlreadyExists,
            &format!("CREATE existing {existing:?}"),
        )?;
    }
    ensure_eq!(
        names(store, &acct).await?,
        before,
        "mailboxes after refusals"
    );
    store.create_mailbox(&acct, &mbox("work"), None).await?;
    ensure!(
        names(store, &acct).await?.contains(&"work".to_string()),
        "names other than INBOX are case-sensitive: work next to Work"
    );
    Ok(())
}

/// DELETE: INBOX never; a mailbox with children `HasChildren`; a missing one `NoSuchMailbox`;
/// a deleted mailbox and its messages are gone, also by id.
pub async fn delete_rules<S: TestBackend>(store: &S) -> CaseResult {
    let acct = login(store, "alice").await?;
    expect_err(
        store.delete_mailbox(&acct, &mbox("INBOX")).await,
        |e| matches!(e, StoreError::Cannot(_)),
        "DELETE INBOX",
    )?;
    expect_err(
        store.delete_mailbox(&acct, &mbox("inbox")).await,
        |e| matches!(e, StoreError::Cannot(_)),
        "DELETE inbox",
    )?;
    expect_err(
        store.delete_mailbox(&acct, &mbox("Nope")).await,
        is_no_such,
        "DELETE missing",
    )?;
    store.create_mailbox(&acct, &mbox("P/C"), None).await?;
    let a = store
        .append(&acct, &mbox("P/C"), test_message("c", &[], 1))
        .await?;
    expect_err(
        store.delete_mailbox(&acct, &mbox("P")).await,
        |e| *e == StoreError::HasChildren,
        "DELETE parent",
    )?;
    store.delete_mailbox(&acct, &mbox("P/C")).await?;
    store.delete_mailbox(&acct, &mbox("P")).await?;
    let left = names(store, &acct).await?;
    ensure!(
        !left.iter().any(|n| n == "P" || n == "P/C"),
        "deleted mailboxes still listed: {left:?}"
    );
    expect_err(
        store.snapshot(&acct, &mbox("P/C")).await,
        is_no_such,
        "SELECT deleted",
    )?;
    expect_err(
        store.changes_since(&acct, a.mailbox, 0).await,
        is_no_such,
        "changes_since on a deleted mailbox's id",
    )?;
    expect_err(
        store.message_bytes(&acct, a.mailbox, a.uid).await,
        is_no_such,
        "bytes of a deleted mailbox's message",
    )?;
    expect_err(
        store
            .append(&acct, &mbox("P/C"), test_message("x", &[], 2))
            .await,
        is_no_such,
        "APPEND to deleted",
    )?;
    Ok(())
}

/// UIDVALIDITY is non-zero, distinct per mailbox, stable, and new (never seen before) when a
/// mailbox is deleted and created again; the mailbox id is new too.
pub async fn uidvalidity_is_distinct_and_renewed<S: TestBackend>(store: &S) -> CaseResult {
    let acct = login(store, "alice").await?;
    store
        .create_mailbox(&acct, &mbox("Projects/X"), None)
        .await?;
    let mut seen = Vec::new();
    for m in store.list_mailboxes(&acct).await? {
        let snap = store.snapshot(&acct, &m.name).await?;
        let again = store.snapshot(&acct, &m.name).await?;
        let status = store.status(&acct, &m.name).await?;
        ensure!(snap.uidvalidity != 0, "UIDVALIDITY 0 for {}", m.name.0);
        ensure_eq!(again.uidvalidity, snap.uidvalidity, "UIDVALIDITY stable");
        ensure_eq!(status.uidvalidity, snap.uidvalidity, "STATUS UIDVALIDITY");
        ensure!(
            !seen.contains(&snap.uidvalidity),
            "UIDVALIDITY {} shared by {}",
            snap.uidvalidity,
            m.name.0
        );
        seen.push(snap.uidvalidity);
    }
    let name = mbox("Projects/X");
    let mut ids = vec![store.snapshot(&acct, &name).await?.id];
    for round in 0..2 {
        store
            .append(&acct, &name, test_message("old", &[], 1))
            .await?;
        store.delete_mailbox(&acct, &name).await?;
        let id = store.create_mailbox(&acct, &name, None).await?;
        let snap = store.snapshot(&acct, &name).await?;
        ensure!(
            !seen.contains(&snap.uidvalidity),
            "round {round}: re-created mailbox reuses UIDVALIDITY {}",
            snap.uidvalidity
        );
        ensure!(!ids.contains(&id), "round {round}: mailbox id reused");
        ensure_eq!(snap.id, id, "snapshot id of the re-created mailbox");
        ensure!(snap.messages.is_empty(), "re-created mailbox has old mail");
        seen.push(snap.uidvalidity);
        ids.push(id);
    }
    Ok(())
}

/// RENAME moves the mailbox and its children, keeping their identity (id, UIDVALIDITY,
/// messages), creating missing parents of the new name, leaving look-alike siblings alone.
pub async fn rename_moves_children<S: TestBackend>(store: &S) -> CaseResult {
    let acct = login(store, "alice").await?;
    store.create_mailbox(&acct, &mbox("a/b/c"), None).await?;
    store.create_mailbox(&acct, &mbox("ab"), None).await?;
    let appended = store
        .append(&acct, &mbox("a/b"), test_message("kept", &[], 1))
        .await?;
    let before = store.snapshot(&acct, &mbox("a/b")).await?;
    store.rename_mailbox(&acct, &mbox("a"), &mbox("x")).await?;
    let now = names(store, &acct).await?;
    for gone in ["a", "a/b", "a/b/c"] {
        ensure!(!now.iter().any(|n| n == gone), "{gone} still listed");
    }
    for there in ["x", "x/b", "x/b/c", "ab"] {
        ensure!(now.iter().any(|n| n == there), "{there} missing: {now:?}");
    }
    let after = store.snapshot(&acct, &mbox("x/b")).await?;
    ensure_eq!(after.id, before.id, "id after rename");
    ensure_eq!(
        after.uidvalidity,
        before.uidvalidity,
        "UIDVALIDITY after rename"
    );
    ensure_eq!(after.messages, before.messages, "messages after rename");
    let bytes = store.message_bytes(&acct, after.id, appended.uid).await?;
    ensure!(!bytes.is_empty(), "message bytes after rename");
    store
        .rename_mailbox(&acct, &mbox("x/b/c"), &mbox("y/z/c"))
        .await?;
    let now = names(store, &acct).await?;
    for there in ["y", "y/z", "y/z/c", "x/b"] {
        ensure!(now.iter().any(|n| n == there), "{there} missing: {now:?}");
    }
    ensure!(!now.iter().any(|n| n == "x/b/c"), "x/b/c still listed");
    Ok(())
}

/// RENAME refuses an existing target (INBOX included), a missing source, a malformed target
/// and a target below the source, and changes nothing when it refuses.
pub async fn rename_refusals<S: TestBackend>(store: &S) -> CaseResult {
    let acct = login(store, "alice").await?;
    store.create_mailbox(&acct, &mbox("A/B"), None).await?;
    let before = names(store, &acct).await?;
    for target in ["Sent", "INBOX", "inbox", "A/B"] {
        expect_err(
            store.rename_mailbox(&acct, &mbox("A"), &mbox(target)).await,
            |e| *e == StoreError::AlreadyExists,
            &format!("RENAME A {target}"),
        )?;
    }
    expect_err(
        store
            .rename_mailbox(&acct, &mbox("Nope"), &mbox("New"))
            .await,
        is_no_such,
        "RENAME missing",
    )?;
    for bad in ["", "New/", "/New", "N//ew", "N*"] {
        expect_err(
            store.rename_mailbox(&acct, &mbox("A"), &mbox(bad)).await,
            |e| matches!(e, StoreError::InvalidName(_)),
            &format!("RENAME A {bad:?}"),
        )?;
    }
    ensure!(
        store
            .rename_mailbox(&acct, &mbox("A"), &mbox("A/B/C"))
            .await
            .is_err(),
        "RENAME under itself succeeded"
    );
    ensure_eq!(
        names(store, &acct).await?,
        before,
        "mailboxes after refusals"
    );
    Ok(())
}

/// RENAME INBOX moves its messages to a new mailbox and leaves INBOX existing and empty,
/// with the same identity; INBOX's children stay; INBOX UIDs are never reused afterwards.
pub async fn rename_inbox_moves_messages<S: TestBackend>(store: &S) -> CaseResult {
    let acct = login(store, "alice").await?;
    store
        .create_mailbox(&acct, &mbox("INBOX/Kids"), None)
        .await?;
    let m1 = store
        .append(&acct, &mbox("INBOX"), test_message("one", &[], 1))
        .await?;
    let m2 = store
        .append(&acct, &mbox("INBOX"), test_message("two", &[], 2))
        .await?;
    let inbox_before = store.snapshot(&acct, &mbox("INBOX")).await?;
    store
        .rename_mailbox(&acct, &mbox("INBOX"), &mbox("Old Inbox"))
        .await?;
    let inbox = store.snapshot(&acct, &mbox("INBOX")).await?;
    ensure!(inbox.messages.is_empty(), "INBOX not empty after RENAME");
    ensure_eq!(inbox.id, inbox_before.id, "INBOX id after RENAME");
    let old = store.snapshot(&acct, &mbox("Old Inbox")).await?;
    ensure_eq!(old.messages.len(), 2, "messages in the renamed INBOX");
    ensure!(old.uidvalidity != inbox.uidvalidity, "UIDVALIDITY shared");
    let mut subjects = Vec::new();
    for m in &old.messages {
        subjects.push(store.message_bytes(&acct, old.id, m.uid).await?.to_vec());
    }
    for want in ["one", "two"] {
        ensure!(
            subjects
                .iter()
                .any(|b| String::from_utf8_lossy(b).contains(&format!("Subject: {want}\r\n"))),
            "message {want} not moved"
        );
    }
    ensure!(
        names(store, &acct)
            .await?
            .contains(&"INBOX/Kids".to_string()),
        "INBOX's child was moved"
    );
    let m3 = store
        .append(&acct, &mbox("INBOX"), test_message("three", &[], 3))
        .await?;
    ensure!(
        m3.uidvalidity != inbox_before.uidvalidity || m3.uid > m2.uid.max(m1.uid),
        "INBOX reused UID {} under the same UIDVALIDITY",
        m3.uid
    );
    Ok(())
}

/// SUBSCRIBE/UNSUBSCRIBE: names need not exist; the list is sorted and has no duplicates;
/// LIST shows the state; DELETE does not drop a subscription (RFC 9051 §6.3.9).
pub async fn subscriptions<S: TestBackend>(store: &S) -> CaseResult {
    let acct = login(store, "alice").await?;
    store
        .create_mailbox(&acct, &mbox("Lists/Rust"), None)
        .await?;
    for name in ["Sent", "Lists/Rust", "Not/There", "Sent"] {
        store.set_subscribed(&acct, &mbox(name), true).await?;
    }
    let subs = store.subscriptions(&acct).await?;
    let subs: Vec<&str> = subs.iter().map(|n| n.as_str()).collect();
    for name in ["Sent", "Lists/Rust", "Not/There"] {
        ensure_eq!(
            subs.iter().filter(|n| **n == name).count(),
            1,
            "{name} in SUBSCRIBED list"
        );
    }
    let mut sorted = subs.clone();
    sorted.sort_unstable();
    ensure_eq!(subs, sorted, "subscriptions sorted");
    let list = store.list_mailboxes(&acct).await?;
    ensure_eq!(
        find(&list, "Sent").map(|m| m.subscribed),
        Some(true),
        "Sent"
    );
    ensure_eq!(
        find(&list, "Lists").map(|m| m.subscribed),
        Some(false),
        "Lists"
    );
    store.set_subscribed(&acct, &mbox("Sent"), false).await?;
    store.set_subscribed(&acct, &mbox("Junk"), false).await?;
    let list = store.list_mailboxes(&acct).await?;
    ensure_eq!(
        find(&list, "Sent").map(|m| m.subscribed),
        Some(false),
        "Sent"
    );
    store.delete_mailbox(&acct, &mbox("Lists/Rust")).await?;
    let subs = store.subscriptions(&acct).await?;
    ensure!(
        subs.iter().any(|n| n.as_str() == "Lists/Rust"),
        "DELETE removed the subscription"
    );
    ensure!(
        !subs.iter().any(|n| n.as_str() == "Sent"),
        "UNSUBSCRIBE kept Sent"
    );
    Ok(())
}
