//! Conformance cases about accounts: password checks, the mailboxes a new account starts
//! with, and isolation between accounts whatever names or ids a session passes.

use super::{expect_err, is_no_such, login, mbox, test_message, CaseResult, TestBackend, PASSWORD};
use crate::command::StoreOp;
use crate::store::DEFAULT_MAILBOXES;
use crate::types::Flag;

/// LOGIN succeeds with the right password only; an unknown user looks like a wrong password.
pub async fn authenticate_checks_passwords<S: TestBackend>(store: &S) -> CaseResult {
    store.add_test_user("alice", PASSWORD).await?;
    store.add_test_user("bob", "another secret").await?;
    let acct = store.authenticate("alice", PASSWORD.as_bytes()).await?;
    ensure_eq!(
        acct.map(|a| a.name),
        Some("alice".to_string()),
        "right password"
    );
    let pw = PASSWORD.as_bytes();
    let wrong: [&[u8]; 5] = [
        b"wrong",
        b"",
        pw.get(..pw.len() - 1).unwrap_or_default(),
        &[pw, b"x"].concat(),
        b"another secret",
    ];
    for bad in wrong {
        let got = store.authenticate("alice", bad).await?;
        ensure!(
            got.is_none(),
            "alice authenticated with password {:?}",
            String::from_utf8_lossy(bad)
        );
    }
    ensure!(
        store
            .authenticate("nobody", PASSWORD.as_bytes())
            .await?
            .is_none(),
        "unknown user authenticated"
    );
    let bob = store.authenticate("bob", b"another secret").await?;
    ensure_eq!(
        bob.map(|a| a.name),
        Some("bob".to_string()),
        "second account"
    );
    Ok(())
}

/// A new account has INBOX and the special-use mailboxes Drafts, Sent, Trash, Junk, Archive
/// with their attributes (RFC 6154), all subscribed; LIST order is by name; ids distinct.
pub async fn default_mailboxes<S: TestBackend>(store: &S) -> CaseResult {
    let acct = login(store, "alice").await?;
    let list = store.list_mailboxes(&acct).await?;
    for (name, special_use) in DEFAULT_MAILBOXES {
        let found = list.iter().find(|m| m.name.as_str() == name);
        ensure!(found.is_some(), "{name} missing from a new account");
        ensure_eq!(
            found.and_then(|m| m.special_use),
            special_use,
            "special-use of {name}"
        );
        ensure_eq!(
            found.map(|m| m.subscribed),
            Some(true),
            "{name} subscribed (Thunderbird shows only subscribed folders)"
        );
    }
    let names: Vec<&str> = list.iter().map(|m| m.name.as_str()).collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    ensure_eq!(names, sorted, "mailboxes listed in name order");
    let mut ids: Vec<_> = list.iter().map(|m| m.id).collect();
    ids.sort_unstable();
    ids.dedup();
    ensure_eq!(ids.len(), list.len(), "distinct mailbox ids");
    let inbox = store.snapshot(&acct, &mbox("inbox")).await?;
    ensure_eq!(inbox.name.as_str(), "INBOX", "INBOX in any case is INBOX");
    ensure!(inbox.messages.is_empty(), "a new INBOX is empty");
    Ok(())
}

/// Bob can neither see nor touch Alice's mailboxes, by name or by id.
pub async fn accounts_are_isolated<S: TestBackend>(store: &S) -> CaseResult {
    let alice = login(store, "alice").await?;
    let bob = login(store, "bob").await?;
    store.create_mailbox(&alice, &mbox("Secret"), None).await?;
    let a = store
        .append(&alice, &mbox("Secret"), test_message("secret", &[], 1))
        .await?;
    let a_inbox = store
        .append(&alice, &mbox("INBOX"), test_message("inbox", &[], 2))
        .await?;
    let listed = store.list_mailboxes(&bob).await?;
    ensure!(
        !listed.iter().any(|m| m.name.as_str() == "Secret"),
        "bob lists alice's mailbox"
    );
    ensure!(
        !listed
            .iter()
            .any(|m| m.id == a.mailbox || m.id == a_inbox.mailbox),
        "bob's list has one of alice's mailbox ids"
    );
    expect_err(
        store.snapshot(&bob, &mbox("Secret")).await,
        is_no_such,
        "bob selects alice's Secret",
    )?;
    expect_err(
        store.status(&bob, &mbox("Secret")).await,
        is_no_such,
        "bob STATUS alice's Secret",
    )?;
    let bob_inbox = store.snapshot(&bob, &mbox("INBOX")).await?;
    ensure!(
        bob_inbox.messages.is_empty(),
        "bob's INBOX shows alice's mail"
    );
    ensure!(bob_inbox.id != a_inbox.mailbox, "bob and alice share INBOX");
    let (id, uid) = (a.mailbox, a.uid);
    expect_err(
        store.changes_since(&bob, id, 0).await,
        is_no_such,
        "bob changes_since alice's id",
    )?;
    expect_err(
        store.message_bytes(&bob, id, uid).await,
        is_no_such,
        "bob reads alice's bytes",
    )?;
    expect_err(
        store.message_info(&bob, id, uid).await,
        is_no_such,
        "bob reads alice's info",
    )?;
    expect_err(
        store
            .store_flags(&bob, id, &[uid], StoreOp::Add, &[Flag::Deleted], None)
            .await,
        is_no_such,
        "bob stores flags in alice's mailbox",
    )?;
    expect_err(
        store.expunge(&bob, id, &[uid]).await,
        is_no_such,
        "bob expunges alice's mail",
    )?;
    expect_err(
        store.copy(&bob, id, &[uid], &mbox("INBOX")).await,
        is_no_such,
        "bob copies alice's mail",
    )?;
    expect_err(
        store.move_messages(&bob, id, &[uid], &mbox("INBOX")).await,
        is_no_such,
        "bob moves alice's mail",
    )?;
    expect_err(
        store.claim_recent(&bob, id).await,
        is_no_such,
        "bob claims alice's recent",
    )?;
    expect_err(
        store.delete_mailbox(&bob, &mbox("Secret")).await,
        is_no_such,
        "bob deletes alice's Secret",
    )?;
    // Bob may have his own "Secret"; it is a different mailbox.
    let bobs = store.create_mailbox(&bob, &mbox("Secret"), None).await?;
    ensure!(bobs != id, "bob's Secret reuses alice's id");
    let snap = store.snapshot(&alice, &mbox("Secret")).await?;
    ensure_eq!(
        snap.messages.len(),
        1,
        "alice's Secret after bob's attempts"
    );
    ensure_eq!(
        snap.messages.first().map(|m| m.flags.clone()),
        Some(vec![]),
        "alice's flags after bob's attempts"
    );
    ensure!(
        store
            .snapshot(&bob, &mbox("Secret"))
            .await?
            .messages
            .is_empty(),
        "bob's Secret shows alice's mail"
    );
    Ok(())
}
