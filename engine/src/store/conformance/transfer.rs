//! Conformance cases about removing and moving messages (EXPUNGE, COPY, MOVE), STATUS
//! numbers, and reading a message back (bytes, size, INTERNALDATE).

use super::{expect_err, is_no_such, login, mbox, test_message, CaseResult, Failure, TestBackend};
use crate::store::{Account, MessageMeta};
use crate::types::{Flag, Uid};

async fn messages<S: TestBackend>(
    store: &S,
    acct: &Account,
    name: &str,
) -> Result<Vec<MessageMeta>, Failure> {
    Ok(store.snapshot(acct, &mbox(name)).await?.messages)
}

/// EXPUNGE removes exactly the given UIDs that exist (whatever their flags) and says which.
pub async fn expunge_removes_exactly_given<S: TestBackend>(store: &S) -> CaseResult {
    let acct = login(store, "alice").await?;
    let mut uids = Vec::new();
    let mut id = 0;
    for (i, s) in ["a", "b", "c", "d"].into_iter().enumerate() {
        let flags: &[Flag] = if i < 2 { &[Flag::Deleted] } else { &[] };
        let a = store
            .append(&acct, &mbox("INBOX"), test_message(s, flags, 1))
            .await?;
        uids.push(a.uid);
        id = a.mailbox;
    }
    let &[u1, u2, u3, u4] = uids.as_slice() else {
        return Err(Failure("four appends".into()));
    };
    let removed = store.expunge(&acct, id, &[u3, u2, u4 + 50, u2]).await?;
    ensure_eq!(removed, vec![u2, u3], "EXPUNGE result");
    let left: Vec<Uid> = messages(store, &acct, "INBOX")
        .await?
        .iter()
        .map(|m| m.uid)
        .collect();
    ensure_eq!(left, vec![u1, u4], "messages left");
    let again = store.expunge(&acct, id, &[u2]).await?;
    ensure!(again.is_empty(), "expunged twice: {again:?}");
    Ok(())
}

/// COPY keeps bytes, flags and INTERNALDATE, maps source to new UIDs in source order,
/// reports the destination's UIDVALIDITY, skips missing UIDs, leaves the source alone.
pub async fn copy_carries_flags_date_and_bytes<S: TestBackend>(store: &S) -> CaseResult {
    let acct = login(store, "alice").await?;
    let a = store
        .append(&acct, &mbox("INBOX"), test_message("a", &[Flag::Seen], 4))
        .await?;
    let b = store
        .append(
            &acct,
            &mbox("INBOX"),
            test_message("b", &[Flag::Flagged, Flag::Keyword("Work".into())], 9),
        )
        .await?;
    let source_before = messages(store, &acct, "INBOX").await?;
    let copied = store
        .copy(
            &acct,
            a.mailbox,
            &[b.uid, b.uid + 10, a.uid],
            &mbox("Archive"),
        )
        .await?;
    let archive = store.snapshot(&acct, &mbox("Archive")).await?;
    ensure_eq!(copied.uidvalidity, archive.uidvalidity, "COPYUID validity");
    let sources: Vec<Uid> = copied.mapping.iter().map(|p| p.0).collect();
    ensure_eq!(sources, vec![a.uid, b.uid], "mapping sources");
    let targets: Vec<Uid> = copied.mapping.iter().map(|p| p.1).collect();
    let listed: Vec<Uid> = archive.messages.iter().map(|m| m.uid).collect();
    ensure_eq!(listed, targets, "destination UIDs");
    for &(from, to) in &copied.mapping {
        let src = source_before.iter().find(|m| m.uid == from);
        let dst = archive.messages.iter().find(|m| m.uid == to);
        ensure_eq!(
            dst.map(|m| m.flags.clone()),
            src.map(|m| m.flags.clone()),
            "flags of copy {from}->{to}"
        );
        let (sb, db) = (
            store.message_bytes(&acct, a.mailbox, from).await?,
            store.message_bytes(&acct, archive.id, to).await?,
        );
        ensure!(sb[..] == db[..], "bytes of copy {from}->{to} differ");
        let (si, di) = (
            store.message_info(&acct, a.mailbox, from).await?,
            store.message_info(&acct, archive.id, to).await?,
        );
        ensure_eq!(di.internal_date, si.internal_date, "INTERNALDATE of copy");
        ensure_eq!(di.size, si.size, "size of copy");
        ensure_eq!(di.uid, to, "uid in message_info");
    }
    ensure_eq!(
        messages(store, &acct, "INBOX").await?,
        source_before,
        "source after COPY"
    );
    let none = store
        .copy(&acct, a.mailbox, &[b.uid + 99], &mbox("Archive"))
        .await?;
    ensure!(
        none.mapping.is_empty(),
        "COPY of missing UIDs mapped {:?}",
        none.mapping
    );
    Ok(())
}

/// MOVE = COPY + EXPUNGE in one step: the source loses the messages (and reports them as
/// expunged), the destination has them with their flags.
pub async fn move_expunges_source<S: TestBackend>(store: &S) -> CaseResult {
    let acct = login(store, "alice").await?;
    let inbox = mbox("INBOX");
    let a = store
        .append(&acct, &inbox, test_message("a", &[Flag::Answered], 1))
        .await?;
    let b = store
        .append(&acct, &inbox, test_message("b", &[], 2))
        .await?;
    let c = store
        .append(&acct, &inbox, test_message("c", &[], 3))
        .await?;
    let m = store.snapshot(&acct, &inbox).await?.highest_modseq;
    let moved = store
        .move_messages(&acct, a.mailbox, &[c.uid, a.uid], &mbox("Junk"))
        .await?;
    let sources: Vec<Uid> = moved.mapping.iter().map(|p| p.0).collect();
    ensure_eq!(sources, vec![a.uid, c.uid], "MOVE mapping sources");
    let left: Vec<Uid> = messages(store, &acct, "INBOX")
        .await?
        .iter()
        .map(|m| m.uid)
        .collect();
    ensure_eq!(left, vec![b.uid], "INBOX after MOVE");
    let ch = store.changes_since(&acct, a.mailbox, m).await?;
    ensure_eq!(
        ch.expunged,
        vec![a.uid, c.uid],
        "source expunges after MOVE"
    );
    let junk = store.snapshot(&acct, &mbox("Junk")).await?;
    ensure_eq!(junk.uidvalidity, moved.uidvalidity, "MOVE uidvalidity");
    let dest_a = moved.mapping.first().map_or(0, |p| p.1);
    ensure_eq!(
        junk.messages
            .iter()
            .find(|m| m.uid == dest_a)
            .map(|m| m.flags.clone()),
        Some(vec![Flag::Answered]),
        "flags carried by MOVE"
    );
    let bytes = store.message_bytes(&acct, junk.id, dest_a).await?;
    ensure!(
        String::from_utf8_lossy(&bytes).contains("Subject: a\r\n"),
        "MOVE carried the wrong bytes"
    );
    expect_err(
        store.message_bytes(&acct, a.mailbox, a.uid).await,
        |_| true,
        "source bytes after MOVE",
    )?;
    Ok(())
}

/// APPEND/COPY/MOVE into a missing mailbox fail with `NoSuchMailbox` (the session's
/// `NO [TRYCREATE]`) and change nothing.
pub async fn copy_and_move_to_missing_mailbox<S: TestBackend>(store: &S) -> CaseResult {
    let acct = login(store, "alice").await?;
    let a = store
        .append(&acct, &mbox("INBOX"), test_message("a", &[], 1))
        .await?;
    let before = store.snapshot(&acct, &mbox("INBOX")).await?;
    expect_err(
        store
            .append(&acct, &mbox("Nowhere"), test_message("x", &[], 1))
            .await,
        is_no_such,
        "APPEND to missing",
    )?;
    expect_err(
        store
            .copy(&acct, a.mailbox, &[a.uid], &mbox("Nowhere"))
            .await,
        is_no_such,
        "COPY to missing",
    )?;
    expect_err(
        store
            .move_messages(&acct, a.mailbox, &[a.uid], &mbox("Nowhere"))
            .await,
        is_no_such,
        "MOVE to missing",
    )?;
    let after = store.snapshot(&acct, &mbox("INBOX")).await?;
    ensure_eq!(after.messages, before.messages, "INBOX after failed MOVE");
    ensure_eq!(
        after.highest_modseq,
        before.highest_modseq,
        "modseq after failures"
    );
    ensure!(
        !store
            .list_mailboxes(&acct)
            .await?
            .iter()
            .any(|m| m.name.as_str() == "Nowhere"),
        "a failed APPEND/COPY created the mailbox"
    );
    Ok(())
}

/// STATUS: MESSAGES, RECENT, UNSEEN, DELETED, SIZE, UIDNEXT, UIDVALIDITY, HIGHESTMODSEQ.
pub async fn status_counts<S: TestBackend>(store: &S) -> CaseResult {
    let acct = login(store, "alice").await?;
    let inbox = mbox("INBOX");
    let mut size = 0;
    let mut id = 0;
    for (s, flags) in [
        ("a", vec![Flag::Seen]),
        ("bb", vec![Flag::Deleted, Flag::Seen]),
        ("ccc", vec![]),
    ] {
        let msg = test_message(s, &flags, 1);
        size += msg.raw.len() as u64;
        id = store.append(&acct, &inbox, msg).await?.mailbox;
    }
    let st = store.status(&acct, &inbox).await?;
    let snap = store.snapshot(&acct, &inbox).await?;
    ensure_eq!(st.messages, 3, "MESSAGES");
    ensure_eq!(st.unseen, 1, "UNSEEN");
    ensure_eq!(st.deleted, 1, "DELETED");
    ensure_eq!(st.size, size, "SIZE");
    ensure_eq!(st.recent, 3, "RECENT before any session claimed");
    ensure_eq!(st.uidnext, snap.uidnext, "UIDNEXT");
    ensure_eq!(st.uidvalidity, snap.uidvalidity, "UIDVALIDITY");
    ensure_eq!(st.highest_modseq, snap.highest_modseq, "HIGHESTMODSEQ");
    store.claim_recent(&acct, id).await?;
    ensure_eq!(
        store.status(&acct, &inbox).await?.recent,
        0,
        "RECENT after claim"
    );
    let empty = store.status(&acct, &mbox("Drafts")).await?;
    ensure_eq!(
        (empty.messages, empty.unseen, empty.size),
        (0, 0, 0),
        "empty mailbox"
    );
    Ok(())
}

/// What APPEND stored comes back unchanged: bytes, size (RFC822.SIZE), INTERNALDATE.
pub async fn message_bytes_and_info_round_trip<S: TestBackend>(store: &S) -> CaseResult {
    let acct = login(store, "alice").await?;
    let msg = test_message("round trip", &[], 17);
    let (raw, date) = (msg.raw.clone(), msg.internal_date);
    let a = store.append(&acct, &mbox("Drafts"), msg).await?;
    let bytes = store.message_bytes(&acct, a.mailbox, a.uid).await?;
    ensure!(bytes[..] == raw[..], "bytes differ");
    let info = store.message_info(&acct, a.mailbox, a.uid).await?;
    ensure_eq!(info.uid, a.uid, "uid");
    ensure_eq!(info.size, raw.len() as u64, "size");
    ensure_eq!(info.internal_date, date, "INTERNALDATE");
    ensure_eq!(
        store.message_summary(&acct, a.mailbox, a.uid).await?,
        (raw.len() as u64, date),
        "message_summary agrees with message_info"
    );
    ensure!(
        store
            .message_summary(&acct, a.mailbox, a.uid + 1)
            .await
            .is_err(),
        "summary of a missing UID"
    );
    ensure!(
        store
            .message_bytes(&acct, a.mailbox, a.uid + 1)
            .await
            .is_err(),
        "bytes of a missing UID"
    );
    ensure!(
        store
            .message_info(&acct, a.mailbox, a.uid + 1)
            .await
            .is_err(),
        "info of a missing UID"
    );
    Ok(())
}

/// The batch reads FETCH and SEARCH use over many messages (`message_bytes_run`,
/// `message_infos`,
/// `message_summaries`, `search_fields`) agree with the per-message reads, skip UIDs that do not exist (or were
/// expunged, even after an earlier batch read of them), answer again the same way (a cache
/// must not change answers) and give nothing of another account's mailbox.
pub async fn batch_reads_agree_with_single_reads<S: TestBackend>(store: &S) -> CaseResult {
    let acct = login(store, "alice").await?;
    let mut uids = Vec::new();
    for (i, subject) in ["Zebra crossing", "quokka", "ZEBRA again", "plain"]
        .iter()
        .enumerate()
    {
        let a = store
            .append(
                &acct,
                &mbox("INBOX"),
                test_message(subject, &[], 10 + i as u8),
            )
            .await?;
        uids.push(a.uid);
    }
    let id = store.snapshot(&acct, &mbox("INBOX")).await?.id;
    let mut asked = uids.clone();
    asked.push(uids[3] + 100); // never existed
    let names = vec!["subject".to_string(), "from".to_string()];
    for round in 0..2 {
        let summaries = store.message_summaries(&acct, id, &asked).await?;
        ensure_eq!(summaries.len(), uids.len(), "summaries, round {round}");
        for (uid, size, date) in &summaries {
            ensure_eq!(
                store.message_summary(&acct, id, *uid).await?,
                (*size, *date),
                "summary of {uid}, round {round}"
            );
        }
        let run = store
            .message_bytes_run(&acct, id, &asked, usize::MAX)
            .await?;
        ensure_eq!(run.len(), asked.len(), "bytes run, round {round}");
        for (uid, bytes) in &run {
            match bytes {
                Some(b) => ensure!(
                    b[..] == store.message_bytes(&acct, id, *uid).await?[..],
                    "bytes of {uid} differ, round {round}"
                ),
                None => ensure!(!uids.contains(uid), "bytes of {uid} missing, round {round}"),
            }
        }
        ensure_eq!(
            store.message_bytes_run(&acct, id, &asked, 1).await?.len(),
            1,
            "a run within 1 byte still has its first message"
        );
        let infos = store.message_infos(&acct, id, &asked).await?;
        ensure_eq!(
            infos.iter().map(|i| i.uid).collect::<Vec<Uid>>(),
            uids,
            "message_infos UIDs, round {round}"
        );
        for info in &infos {
            let one = store.message_info(&acct, id, info.uid).await?;
            ensure_eq!(
                (info.size, info.internal_date, info.parsed.envelope()),
                (one.size, one.internal_date, one.parsed.envelope()),
                "info of {}, round {round}",
                info.uid
            );
        }
        let fields = store.search_fields(&acct, id, &asked, &names).await?;
        ensure_eq!(
            fields.iter().map(|f| f.0).collect::<Vec<Uid>>(),
            uids,
            "search_fields UIDs, round {round}"
        );
        for (uid, got) in &fields {
            let raw = store.message_bytes(&acct, id, *uid).await?;
            for want in crate::search::searchable_fields(&raw, &names) {
                ensure!(
                    got.contains(&want),
                    "field {want:?} of {uid} missing, round {round}"
                );
            }
        }
    }
    let subject = vec!["subject".to_string()];
    let first = store.search_fields(&acct, id, &uids[..1], &subject).await?;
    ensure!(
        first[0].1.iter().any(|f| f.value == "zebra crossing"),
        "values are folded: {:?}",
        first[0].1
    );
    store.expunge(&acct, id, &uids[..1]).await?;
    ensure_eq!(
        store.message_summaries(&acct, id, &uids[..1]).await?.len(),
        0,
        "summary of an expunged message"
    );
    ensure_eq!(
        store.message_infos(&acct, id, &uids[..1]).await?.len(),
        0,
        "info of an expunged message"
    );
    let bob = login(store, "bob").await?;
    // Another account's mailbox: an error, or nothing (as for UIDs that do not exist).
    ensure!(
        store
            .message_summaries(&bob, id, &uids)
            .await
            .map_or(true, |s| s.is_empty()),
        "bob read alice's summaries"
    );
    ensure!(
        store
            .message_bytes_run(&bob, id, &uids, usize::MAX)
            .await
            .map_or(true, |r| r.iter().all(|(_, b)| b.is_none())),
        "bob read alice's bytes"
    );
    ensure!(
        store
            .message_infos(&bob, id, &uids)
            .await
            .map_or(true, |i| i.is_empty()),
        "bob read alice's message infos"
    );
    ensure!(
        store
            .search_fields(&bob, id, &uids, &subject)
            .await
            .map_or(true, |f| f.is_empty()),
        "bob read alice's fields"
    );
    Ok(())
}
