//! Conformance cases about messages in one mailbox: UID allocation, flags and keywords,
//! modseq bumps and `changes_since`, CONDSTORE's UNCHANGEDSINCE.

use super::{login, mbox, test_message, CaseResult, Failure, TestBackend};
use crate::command::StoreOp;
use crate::store::{Account, MessageMeta};
use crate::types::{Flag, Uid};

fn kw(k: &str) -> Flag {
    Flag::Keyword(k.to_string())
}

async fn flags_of<S: TestBackend>(
    store: &S,
    acct: &Account,
    name: &str,
    uid: Uid,
) -> Result<Option<Vec<Flag>>, Failure> {
    let snap = store.snapshot(acct, &mbox(name)).await?;
    Ok(snap
        .messages
        .into_iter()
        .find(|m| m.uid == uid)
        .map(|m| m.flags))
}

/// APPEND gives strictly increasing UIDs below UIDNEXT; the snapshot lists them in order.
pub async fn uids_strictly_increase<S: TestBackend>(store: &S) -> CaseResult {
    let acct = login(store, "alice").await?;
    let first = store.snapshot(&acct, &mbox("INBOX")).await?;
    let mut uids = Vec::new();
    for (i, s) in ["a", "b", "c"].into_iter().enumerate() {
        let a = store
            .append(&acct, &mbox("INBOX"), test_message(s, &[], 1))
            .await?;
        ensure_eq!(a.mailbox, first.id, "Appended.mailbox");
        ensure_eq!(a.uidvalidity, first.uidvalidity, "Appended.uidvalidity");
        ensure!(
            a.uid >= first.uidnext,
            "UID {} below the old UIDNEXT",
            a.uid
        );
        ensure!(a.uid != 0, "UID 0");
        if let Some(prev) = uids.last() {
            ensure!(a.uid > *prev, "append {i}: UID {} after {prev}", a.uid);
        }
        uids.push(a.uid);
    }
    let snap = store.snapshot(&acct, &mbox("INBOX")).await?;
    let listed: Vec<Uid> = snap.messages.iter().map(|m| m.uid).collect();
    ensure_eq!(listed, uids, "snapshot UIDs");
    ensure!(
        uids.last().is_some_and(|u| snap.uidnext > *u),
        "UIDNEXT {} not above the last UID",
        snap.uidnext
    );
    Ok(())
}

/// Expunging the newest messages does not let their UIDs come back.
pub async fn uids_never_reused_after_expunge<S: TestBackend>(store: &S) -> CaseResult {
    let acct = login(store, "alice").await?;
    let mut top = 0;
    let mut id = 0;
    for s in ["a", "b", "c"] {
        let a = store
            .append(&acct, &mbox("INBOX"), test_message(s, &[], 1))
            .await?;
        top = a.uid;
        id = a.mailbox;
    }
    let before = store.snapshot(&acct, &mbox("INBOX")).await?.uidnext;
    let all: Vec<Uid> = store
        .snapshot(&acct, &mbox("INBOX"))
        .await?
        .messages
        .iter()
        .map(|m| m.uid)
        .collect();
    store.expunge(&acct, id, &all).await?;
    let after = store.snapshot(&acct, &mbox("INBOX")).await?.uidnext;
    ensure!(
        after >= before,
        "UIDNEXT went back from {before} to {after}"
    );
    let a = store
        .append(&acct, &mbox("INBOX"), test_message("d", &[], 1))
        .await?;
    ensure!(a.uid > top, "UID {} reused (highest was {top})", a.uid);
    Ok(())
}

/// Moving a message out and back gives it a new, higher UID in each mailbox.
pub async fn uids_never_reused_across_move<S: TestBackend>(store: &S) -> CaseResult {
    let acct = login(store, "alice").await?;
    let a = store
        .append(&acct, &mbox("INBOX"), test_message("a", &[], 1))
        .await?;
    let out = store
        .move_messages(&acct, a.mailbox, &[a.uid], &mbox("Archive"))
        .await?;
    let Some(&(_, in_archive)) = out.mapping.first() else {
        return Err(Failure("MOVE gave no mapping".into()));
    };
    let archive = store.snapshot(&acct, &mbox("Archive")).await?;
    let back = store
        .move_messages(&acct, archive.id, &[in_archive], &mbox("INBOX"))
        .await?;
    ensure_eq!(back.mapping.len(), 1, "MOVE back mapping");
    let new_uid = back.mapping.first().map_or(0, |p| p.1);
    ensure!(
        new_uid > a.uid,
        "INBOX reused UID {new_uid} (was {})",
        a.uid
    );
    let again = store
        .move_messages(&acct, a.mailbox, &[new_uid], &mbox("Archive"))
        .await?;
    let uid2 = again.mapping.first().map_or(0, |p| p.1);
    ensure!(uid2 > in_archive, "Archive reused UID {uid2}");
    Ok(())
}

/// STORE +FLAGS / -FLAGS / FLAGS; the result lists the new state, as the snapshot does.
pub async fn flags_add_remove_replace<S: TestBackend>(store: &S) -> CaseResult {
    let acct = login(store, "alice").await?;
    let a = store
        .append(&acct, &mbox("INBOX"), test_message("a", &[Flag::Seen], 1))
        .await?;
    ensure_eq!(
        flags_of(store, &acct, "INBOX", a.uid).await?,
        Some(vec![Flag::Seen]),
        "APPEND flags"
    );
    let steps: [(StoreOp, Vec<Flag>, Vec<Flag>); 4] = [
        (
            StoreOp::Add,
            vec![Flag::Flagged],
            vec![Flag::Flagged, Flag::Seen],
        ),
        (StoreOp::Remove, vec![Flag::Seen], vec![Flag::Flagged]),
        (
            StoreOp::Replace,
            vec![Flag::Draft, Flag::Answered],
            vec![Flag::Answered, Flag::Draft],
        ),
        (StoreOp::Replace, vec![], vec![]),
    ];
    for (op, given, want) in steps {
        let (done, failed) = store
            .store_flags(&acct, a.mailbox, &[a.uid], op, &given, None)
            .await?;
        ensure!(failed.is_empty(), "{op:?} {given:?}: failed {failed:?}");
        ensure_eq!(
            done.iter().map(|m| m.flags.clone()).collect::<Vec<_>>(),
            vec![want.clone()],
            "{op:?} {given:?} result"
        );
        ensure_eq!(
            flags_of(store, &acct, "INBOX", a.uid).await?,
            Some(want),
            "{op:?} {given:?} stored"
        );
    }
    let (done, _) = store
        .store_flags(
            &acct,
            a.mailbox,
            &[a.uid + 100],
            StoreOp::Add,
            &[Flag::Seen],
            None,
        )
        .await?;
    ensure!(done.is_empty(), "STORE on a missing UID reported {done:?}");
    Ok(())
}

/// Keywords are case-insensitive, keep their first spelling, and come after system flags in
/// first-use order; the mailbox lists the keywords in use for FLAGS.
pub async fn keywords_in_first_use_order<S: TestBackend>(store: &S) -> CaseResult {
    let acct = login(store, "alice").await?;
    let flags = [kw("Project"), Flag::Seen, kw("$Later")];
    let a = store
        .append(&acct, &mbox("INBOX"), test_message("a", &flags, 1))
        .await?;
    let want = vec![Flag::Seen, kw("Project"), kw("$Later")];
    ensure_eq!(
        flags_of(store, &acct, "INBOX", a.uid).await?,
        Some(want.clone()),
        "stored order"
    );
    store
        .store_flags(
            &acct,
            a.mailbox,
            &[a.uid],
            StoreOp::Add,
            &[kw("project")],
            None,
        )
        .await?;
    ensure_eq!(
        flags_of(store, &acct, "INBOX", a.uid).await?,
        Some(want),
        "+FLAGS project when Project is set"
    );
    let snap = store.snapshot(&acct, &mbox("INBOX")).await?;
    ensure_eq!(
        snap.keywords,
        vec!["Project".to_string(), "$Later".to_string()],
        "mailbox keywords"
    );
    store
        .store_flags(
            &acct,
            a.mailbox,
            &[a.uid],
            StoreOp::Remove,
            &[kw("PROJECT")],
            None,
        )
        .await?;
    ensure_eq!(
        flags_of(store, &acct, "INBOX", a.uid).await?,
        Some(vec![Flag::Seen, kw("$Later")]),
        "-FLAGS PROJECT"
    );
    let b = store
        .append(
            &acct,
            &mbox("INBOX"),
            test_message("b", &[kw("$later"), kw("New")], 2),
        )
        .await?;
    ensure_eq!(
        flags_of(store, &acct, "INBOX", b.uid).await?,
        Some(vec![kw("$Later"), kw("New")]),
        "second message reuses the first spelling"
    );
    let changes = store.changes_since(&acct, a.mailbox, 0).await?;
    ensure!(
        changes.keywords.iter().any(|k| k == "New"),
        "changes_since keywords lack New: {:?}",
        changes.keywords
    );
    Ok(())
}

/// `\Recent` is a session flag: APPEND and STORE never store it.
pub async fn recent_is_never_stored<S: TestBackend>(store: &S) -> CaseResult {
    let acct = login(store, "alice").await?;
    let a = store
        .append(
            &acct,
            &mbox("INBOX"),
            test_message("a", &[Flag::Recent, Flag::Seen], 1),
        )
        .await?;
    ensure_eq!(
        flags_of(store, &acct, "INBOX", a.uid).await?,
        Some(vec![Flag::Seen]),
        "APPEND (\\Recent \\Seen)"
    );
    for (op, flags) in [
        (StoreOp::Add, vec![Flag::Recent]),
        (StoreOp::Replace, vec![Flag::Recent, Flag::Flagged]),
    ] {
        let (done, _) = store
            .store_flags(&acct, a.mailbox, &[a.uid], op, &flags, None)
            .await?;
        ensure!(
            done.iter().all(|m| !m.flags.contains(&Flag::Recent)),
            "{op:?} {flags:?} returned \\Recent"
        );
    }
    let snap = store.snapshot(&acct, &mbox("INBOX")).await?;
    ensure!(
        snap.messages
            .iter()
            .all(|m| !m.flags.contains(&Flag::Recent)),
        "\\Recent stored"
    );
    ensure!(
        !snap
            .keywords
            .iter()
            .any(|k| k.eq_ignore_ascii_case("\\Recent")),
        "\\Recent listed as a keyword"
    );
    Ok(())
}

/// A flag given twice is stored once; setting a set flag changes nothing (not even modseq).
pub async fn flags_have_no_duplicates<S: TestBackend>(store: &S) -> CaseResult {
    let acct = login(store, "alice").await?;
    let dup = [
        Flag::Seen,
        Flag::Seen,
        Flag::Flagged,
        Flag::Seen,
        kw("x"),
        kw("X"),
    ];
    let a = store
        .append(&acct, &mbox("INBOX"), test_message("a", &dup, 1))
        .await?;
    let want = vec![Flag::Flagged, Flag::Seen, kw("x")];
    ensure_eq!(
        flags_of(store, &acct, "INBOX", a.uid).await?,
        Some(want.clone()),
        "APPEND with duplicates"
    );
    let before = store.snapshot(&acct, &mbox("INBOX")).await?;
    let (done, _) = store
        .store_flags(
            &acct,
            a.mailbox,
            &[a.uid, a.uid],
            StoreOp::Add,
            &[Flag::Seen],
            None,
        )
        .await?;
    ensure_eq!(done.len(), 1, "a UID given twice is reported once");
    ensure_eq!(
        done.first().map(|m| m.flags.clone()),
        Some(want),
        "+FLAGS \\Seen when set"
    );
    let after = store.snapshot(&acct, &mbox("INBOX")).await?;
    ensure_eq!(
        after.messages,
        before.messages,
        "a no-op STORE changed state"
    );
    Ok(())
}

/// Every mutation raises the mailbox's HIGHESTMODSEQ, and a changed message carries it.
pub async fn modseq_bumps_on_every_mutation<S: TestBackend>(store: &S) -> CaseResult {
    let acct = login(store, "alice").await?;
    let inbox = mbox("INBOX");
    let highest = |name: &'static str| {
        let acct = acct.clone();
        async move { Ok::<u64, Failure>(store.status(&acct, &mbox(name)).await?.highest_modseq) }
    };
    let m0 = highest("INBOX").await?;
    ensure!(m0 > 0, "HIGHESTMODSEQ of a new mailbox is 0");
    let a = store
        .append(&acct, &inbox, test_message("a", &[], 1))
        .await?;
    let b = store
        .append(&acct, &inbox, test_message("b", &[], 2))
        .await?;
    let m1 = highest("INBOX").await?;
    ensure!(m1 > m0, "APPEND did not bump ({m0} -> {m1})");
    let meta = |snap: &[MessageMeta], uid: Uid| snap.iter().find(|m| m.uid == uid).cloned();
    let snap = store.snapshot(&acct, &inbox).await?;
    ensure_eq!(snap.highest_modseq, m1, "snapshot HIGHESTMODSEQ");
    ensure!(
        meta(&snap.messages, b.uid).is_some_and(|m| m.modseq == m1),
        "newest message's modseq is not HIGHESTMODSEQ"
    );
    let (done, _) = store
        .store_flags(
            &acct,
            a.mailbox,
            &[a.uid],
            StoreOp::Add,
            &[Flag::Seen],
            None,
        )
        .await?;
    let m2 = highest("INBOX").await?;
    ensure!(m2 > m1, "STORE did not bump");
    ensure_eq!(
        done.first().map(|m| m.modseq),
        Some(m2),
        "STORE result modseq"
    );
    let (done, _) = store
        .store_flags(
            &acct,
            a.mailbox,
            &[a.uid],
            StoreOp::Add,
            &[Flag::Seen],
            None,
        )
        .await?;
    ensure_eq!(
        done.first().map(|m| m.modseq),
        Some(m2),
        "no-op STORE modseq"
    );
    let snap = store.snapshot(&acct, &inbox).await?;
    ensure!(
        meta(&snap.messages, b.uid).is_some_and(|m| m.modseq == m1),
        "STORE on one message changed another one's modseq"
    );
    store.expunge(&acct, a.mailbox, &[b.uid]).await?;
    let m3 = highest("INBOX").await?;
    ensure!(m3 > m2, "EXPUNGE did not bump");
    let t0 = highest("Trash").await?;
    store
        .copy(&acct, a.mailbox, &[a.uid], &mbox("Trash"))
        .await?;
    let t1 = highest("Trash").await?;
    ensure!(t1 > t0, "COPY did not bump the destination");
    store
        .move_messages(&acct, a.mailbox, &[a.uid], &mbox("Trash"))
        .await?;
    ensure!(
        highest("Trash").await? > t1,
        "MOVE did not bump the destination"
    );
    ensure!(highest("INBOX").await? > m3, "MOVE did not bump the source");
    Ok(())
}

/// `changes_since(m)` lists messages added or changed after `m` with their state, and UIDs
/// expunged after `m` (even ones added after `m`); nothing for the current modseq.
pub async fn changes_since_reports_new_changed_expunged<S: TestBackend>(store: &S) -> CaseResult {
    let acct = login(store, "alice").await?;
    let inbox = mbox("INBOX");
    let m0 = store.snapshot(&acct, &inbox).await?.highest_modseq;
    let a = store
        .append(&acct, &inbox, test_message("a", &[], 1))
        .await?;
    let b = store
        .append(&acct, &inbox, test_message("b", &[], 2))
        .await?;
    let c = store
        .append(&acct, &inbox, test_message("c", &[], 3))
        .await?;
    let id = a.mailbox;
    let m1 = store.snapshot(&acct, &inbox).await?.highest_modseq;
    store
        .store_flags(&acct, id, &[a.uid], StoreOp::Add, &[Flag::Answered], None)
        .await?;
    store.expunge(&acct, id, &[b.uid]).await?;
    let ch = store.changes_since(&acct, id, m1).await?;
    let changed: Vec<(Uid, Vec<Flag>)> = ch
        .changed
        .iter()
        .map(|m| (m.uid, m.flags.clone()))
        .collect();
    ensure_eq!(
        changed,
        vec![(a.uid, vec![Flag::Answered])],
        "changed since m1"
    );
    ensure_eq!(ch.expunged, vec![b.uid], "expunged since m1");
    let status = store.status(&acct, &inbox).await?;
    ensure_eq!(ch.highest_modseq, status.highest_modseq, "highest_modseq");
    ensure_eq!(ch.uidnext, status.uidnext, "uidnext");
    ensure!(
        ch.changed
            .iter()
            .all(|m| m.modseq > m1 && m.modseq <= ch.highest_modseq),
        "changed modseqs out of range: {:?}",
        ch.changed
    );
    let ch0 = store.changes_since(&acct, id, m0).await?;
    let uids: Vec<Uid> = ch0.changed.iter().map(|m| m.uid).collect();
    ensure_eq!(uids, vec![a.uid, c.uid], "changed since m0 (UID order)");
    ensure_eq!(ch0.expunged, vec![b.uid], "expunged since m0");
    let now = store.changes_since(&acct, id, ch.highest_modseq).await?;
    ensure!(
        now.changed.is_empty() && now.expunged.is_empty(),
        "changes since the current modseq: {now:?}"
    );
    Ok(())
}

/// CONDSTORE: with UNCHANGEDSINCE, messages modified later are left alone and reported.
pub async fn store_unchanged_since<S: TestBackend>(store: &S) -> CaseResult {
    let acct = login(store, "alice").await?;
    let inbox = mbox("INBOX");
    let a = store
        .append(&acct, &inbox, test_message("a", &[], 1))
        .await?;
    let b = store
        .append(&acct, &inbox, test_message("b", &[], 2))
        .await?;
    let id = a.mailbox;
    let seen = store.snapshot(&acct, &inbox).await?.highest_modseq;
    store
        .store_flags(&acct, id, &[b.uid], StoreOp::Add, &[Flag::Flagged], None)
        .await?;
    let (done, failed) = store
        .store_flags(
            &acct,
            id,
            &[a.uid, b.uid],
            StoreOp::Add,
            &[Flag::Deleted],
            Some(seen),
        )
        .await?;
    ensure_eq!(failed, vec![b.uid], "UNCHANGEDSINCE failures");
    ensure_eq!(
        done.iter().map(|m| m.uid).collect::<Vec<_>>(),
        vec![a.uid],
        "UNCHANGEDSINCE successes"
    );
    ensure_eq!(
        flags_of(store, &acct, "INBOX", b.uid).await?,
        Some(vec![Flag::Flagged]),
        "b after a failed conditional STORE"
    );
    ensure_eq!(
        flags_of(store, &acct, "INBOX", a.uid).await?,
        Some(vec![Flag::Deleted]),
        "a after a conditional STORE"
    );
    Ok(())
}
