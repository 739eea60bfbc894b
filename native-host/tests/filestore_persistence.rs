//! FileStore durability: what was acknowledged survives closing and reopening the store
//! (bytes, flags, UIDVALIDITY, UIDNEXT, expunges), UIDs are never reused, COPY shares blob
//! files, and sessions on other tasks can use the store concurrently (`Send` futures).

mod support;

use std::sync::Arc;

use tidings_engine::command::StoreOp;
use tidings_engine::mime::ParsedMessage;
use tidings_engine::store::{NewMessage, Store, StoreError};
use tidings_engine::types::{Date, DateTime, Flag};
use tidings_host::store::FileStore;

use support::{blob_files, login, mbox, open};

/// A message whose bytes include non-UTF-8 octets, so "byte-identical" means something.
fn message(n: u8, flags: &[Flag]) -> NewMessage {
    let mut raw =
        format!("Subject: message {n}\r\nFrom: a@example.org\r\n\r\nbody {n}\r\n").into_bytes();
    raw.extend_from_slice(&[0xff, 0x00, 0xfe, n, b'\r', b'\n']);
    let raw: Arc<[u8]> = Arc::from(raw);
    NewMessage {
        parsed: Arc::new(ParsedMessage::parse(&raw)),
        raw,
        flags: flags.to_vec(),
        internal_date: DateTime {
            date: Date {
                year: 2024,
                month: 2,
                day: n.clamp(1, 28),
            },
            hour: 23,
            minute: 59,
            second: 58,
            zone_minutes: -420,
        },
    }
}

/// Every blob file in the store (not temp files).

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_survives_reopen_and_uids_are_not_reused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let inbox = mbox("INBOX");
    let (before, m1, m3) = {
        let store = open(dir.path());
        store.add_user("alice", "pw").expect("add user");
        let acct = login(&store).await;
        let a1 = store
            .append(&acct, &inbox, message(1, &[]))
            .await
            .expect("append 1");
        let a2 = store
            .append(&acct, &inbox, message(2, &[Flag::Draft]))
            .await
            .expect("append 2");
        let a3 = store
            .append(&acct, &inbox, message(3, &[]))
            .await
            .expect("append 3");
        assert_eq!((a1.uid, a2.uid, a3.uid), (1, 2, 3));
        store
            .store_flags(
                &acct,
                a1.mailbox,
                &[1],
                StoreOp::Add,
                &[Flag::Seen, Flag::Keyword("$Work".into())],
                None,
            )
            .await
            .expect("store flags");
        // Expunge the middle and the highest UID: neither may come back after reopen.
        let gone = store
            .expunge(&acct, a1.mailbox, &[2, 3])
            .await
            .expect("expunge");
        assert_eq!(gone, vec![2, 3]);
        let before = store.snapshot(&acct, &inbox).await.expect("snapshot");
        (before, message(1, &[]).raw, message(3, &[]).raw)
    };

    let store = open(dir.path());
    let acct = login(&store).await;
    let after = store
        .snapshot(&acct, &inbox)
        .await
        .expect("snapshot after reopen");
    assert_eq!(after, before, "INBOX state after reopen");
    assert_eq!(after.uidnext, 4);
    assert_eq!(
        after.messages[0].flags,
        vec![Flag::Seen, Flag::Keyword("$Work".into())]
    );
    let bytes = store
        .message_bytes(&acct, after.id, 1)
        .await
        .expect("bytes of 1");
    assert_eq!(&bytes[..], &m1[..], "message bytes after reopen");
    let info = store.message_info(&acct, after.id, 1).await.expect("info");
    assert_eq!(info.size, m1.len() as u64);
    assert_eq!(info.internal_date, message(1, &[]).internal_date);
    assert_eq!(
        *info.parsed,
        ParsedMessage::parse(&m1),
        "parsed structure stored at append survives reopen"
    );
    for uid in [2, 3] {
        assert_eq!(
            store.message_bytes(&acct, after.id, uid).await,
            Err(StoreError::NoSuchMailbox),
            "expunged {uid} stays gone"
        );
    }
    let changes = store
        .changes_since(&acct, after.id, 1)
        .await
        .expect("changes");
    assert_eq!(changes.expunged, vec![2, 3]);
    let next = store
        .append(&acct, &inbox, message(3, &[]))
        .await
        .expect("append");
    assert_eq!(next.uid, 4, "UIDs are not reused after reopen");
    assert_eq!(next.uidvalidity, before.uidvalidity);
    let bytes = store
        .message_bytes(&acct, after.id, 4)
        .await
        .expect("bytes");
    assert_eq!(&bytes[..], &m3[..]);
    // Only the two live messages have files.
    assert_eq!(blob_files(dir.path()).len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copies_share_one_blob_until_the_last_is_expunged() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = open(dir.path());
    store.add_user("alice", "pw").expect("add user");
    let acct = login(&store).await;
    let a = store
        .append(&acct, &mbox("INBOX"), message(7, &[Flag::Flagged]))
        .await
        .expect("append");
    let copied = store
        .copy(&acct, a.mailbox, &[a.uid], &mbox("Archive"))
        .await
        .expect("copy");
    let archive = store.snapshot(&acct, &mbox("Archive")).await.expect("snap");
    assert_eq!(copied.mapping, vec![(1, 1)]);
    assert_eq!(blob_files(dir.path()).len(), 1, "COPY shares the blob");

    store
        .expunge(&acct, a.mailbox, &[1])
        .await
        .expect("expunge");
    assert_eq!(blob_files(dir.path()).len(), 1, "the copy still needs it");
    drop(store);
    let store = open(dir.path());
    let bytes = store
        .message_bytes(&acct, archive.id, 1)
        .await
        .expect("copy readable after the original is expunged and a reopen");
    assert_eq!(&bytes[..], &message(7, &[]).raw[..]);

    // MOVE keeps the blob too; deleting the mailbox holding the last copy frees it.
    store
        .move_messages(&acct, archive.id, &[1], &mbox("Trash"))
        .await
        .expect("move");
    assert_eq!(blob_files(dir.path()).len(), 1);
    store
        .delete_mailbox(&acct, &mbox("Trash"))
        .await
        .expect("delete");
    assert!(
        blob_files(dir.path()).is_empty(),
        "blob freed with its mailbox"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_appends_from_spawned_tasks_get_distinct_uids() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = open(dir.path());
    store.add_user("alice", "pw").expect("add user");
    let acct = login(&store).await;
    let mut tasks = Vec::new();
    for n in 0..16u8 {
        let (store, acct) = (store.clone(), acct.clone());
        tasks.push(tokio::spawn(async move {
            store.append(&acct, &mbox("INBOX"), message(n, &[])).await
        }));
    }
    let mut uids = Vec::new();
    for t in tasks {
        uids.push(t.await.expect("task").expect("append").uid);
    }
    uids.sort_unstable();
    assert_eq!(uids, (1..=16).collect::<Vec<_>>());
    let status = store.status(&acct, &mbox("INBOX")).await.expect("status");
    assert_eq!((status.messages, status.uidnext), (16, 17));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uidvalidity_is_seeded_from_the_clock_and_persists() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = open(dir.path());
    store.add_user("alice", "pw").expect("add user");
    let acct = login(&store).await;
    let v1 = store
        .status(&acct, &mbox("INBOX"))
        .await
        .expect("status")
        .uidvalidity;
    // 2023-11-14: any store created now starts above that.
    assert!(v1 > 1_700_000_000, "UIDVALIDITY {v1} not clock-seeded");
    drop(store);
    let store = open(dir.path());
    assert_eq!(
        store
            .status(&acct, &mbox("INBOX"))
            .await
            .expect("status")
            .uidvalidity,
        v1
    );
    store
        .create_mailbox(&acct, &mbox("New"), None)
        .await
        .expect("create");
    let v2 = store
        .status(&acct, &mbox("New"))
        .await
        .expect("status")
        .uidvalidity;
    assert!(
        v2 > v1,
        "a mailbox created after reopen gets a fresh UIDVALIDITY"
    );
}

#[test]
fn a_second_open_of_the_same_directory_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let _first = open(dir.path());
    assert!(FileStore::open(dir.path()).is_err());
}
