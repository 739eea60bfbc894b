//! FileStore's header fields for SEARCH, stored at delivery (the `fields` table): a store
//! reopened from disk answers `search_fields` without reading message files, copies share
//! their blob's row, collected blobs drop it, stores written without rows still answer from
//! the files, and both sources give the same answers on tricky messages.

mod support;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use redb::{ReadableTableMetadata, TableDefinition};
use tidings_engine::mime::ParsedMessage;
use tidings_engine::search::{searchable_fields, Field};
use tidings_engine::store::{MailboxId, NewMessage, Store};
use tidings_engine::types::{DateTime, Uid};
use tidings_host::store::{FileStore, DB_FILE};

use support::{blob_files, login, mbox, open};

/// The table of stored fields, as `store/schema.rs` defines it.
const FIELDS: TableDefinition<u64, &[u8]> = TableDefinition::new("fields");

/// Every name the store keeps fields for.
const CACHED: [&str; 6] = ["subject", "from", "to", "cc", "bcc", "date"];

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|n| n.to_string()).collect()
}

/// `raw` as it is (bare LFs kept, unlike `NewMessage::from_raw`), delivered at 2024-01-01
/// 12:00 UTC without flags.
fn new_message(raw: &[u8]) -> NewMessage {
    let raw: Arc<[u8]> = Arc::from(raw);
    NewMessage {
        parsed: Arc::new(ParsedMessage::parse(&raw)),
        raw,
        flags: Vec::new(),
        internal_date: DateTime::from_unix(1_704_110_400, 0),
    }
}

/// Simple messages: header and body apart, so their fields are those of the whole message.
fn plain(n: usize) -> Vec<u8> {
    format!(
        "Subject: Message {n}\r\nFrom: Sender {n} <s{n}@example.org>\r\n\
         To: r@example.org\r\nX-Tag: t{n}\r\n\r\nbody {n}\r\n"
    )
    .into_bytes()
}

/// Messages whose fields need decoding and unfolding, then the golden corpus if this
/// checkout has it (`shared/testdata/golden`).
fn tricky() -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = vec![
        b"Subject: =?UTF-8?B?SGVsbG8=?= =?UTF-8?Q?_W=C3=B6rld?=\r\n\
From: =?ISO-8859-1?Q?Fran=E7ois?= <f@example.fr>\r\n\
To: a long\r\n  list\r\n\tof <x@example.org>, group:;\r\n\
Subject: second\r\ncc : spaced@example.org\r\nBCC: Upper <u@example.org>\r\n\
Date: Mon, 1 Jan 2024 12:00:00 +0000\r\n\r\nSubject: in the body\r\n"
            .to_vec(),
        b"Subject: bare\n LF folding\nFrom: lf@example.org\n\nbody\n".to_vec(),
        b"Subject: no blank line\r\nTo: t@example.org\r\n".to_vec(),
        b"X-Only: nothing cached\r\n\r\nbody".to_vec(),
    ];
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/testdata/golden/messages");
    if let Ok(entries) = std::fs::read_dir(dir) {
        let mut paths: Vec<PathBuf> = entries.map(|e| e.expect("dir entry").path()).collect();
        paths.sort();
        for path in paths {
            out.push(std::fs::read(&path).expect("read golden message"));
        }
    }
    out
}

/// A store in `dir` with user alice and `messages` appended to INBOX (UIDs 1..).
async fn filled(dir: &Path, messages: &[Vec<u8>]) -> MailboxId {
    let store = open(dir);
    store.add_user("alice", "pw").expect("add user");
    let acct = login(&store).await;
    let mut id = 0;
    for raw in messages {
        id = store
            .append(&acct, &mbox("INBOX"), new_message(raw))
            .await
            .expect("append")
            .mailbox;
    }
    id
}

/// Empties every message file (the store must be closed): a search that reads a file now
/// finds no header fields at all.
fn truncate_blobs(dir: &Path) {
    let files = blob_files(dir);
    assert!(!files.is_empty());
    for f in files {
        std::fs::write(&f, b"").expect("truncate blob");
    }
}

/// The number of rows in `fields` (the store must be closed).
fn field_rows(dir: &Path) -> u64 {
    let db = redb::Database::open(dir.join(DB_FILE)).expect("open database");
    let txn = db.begin_read().expect("read");
    txn.open_table(FIELDS)
        .expect("fields table")
        .len()
        .expect("len")
}

/// Makes the store look written by a version without the `fields` table (store closed).
fn drop_fields_table(dir: &Path) {
    let db = redb::Database::open(dir.join(DB_FILE)).expect("open database");
    let txn = db.begin_write().expect("write");
    assert!(txn.delete_table(FIELDS).expect("delete table"));
    txn.commit().expect("commit");
}

type Answer = Vec<(Uid, Arc<[Field]>)>;

/// `search_fields` for every UID of `mailbox` (1..=n) and `wanted`.
async fn search(store: &FileStore, mailbox: MailboxId, n: usize, wanted: &[&str]) -> Answer {
    let acct = login(store).await;
    let uids: Vec<Uid> = (1..=n as Uid).collect();
    store
        .search_fields(&acct, mailbox, &uids, &names(wanted))
        .await
        .expect("search_fields")
}

/// The subjects in an answer, by UID.
fn subjects(answer: &Answer) -> Vec<(Uid, Vec<String>)> {
    answer
        .iter()
        .map(|(uid, fields)| {
            let s = fields
                .iter()
                .filter(|f| f.name.eq_ignore_ascii_case("subject"))
                .map(|f| f.value.clone())
                .collect();
            (*uid, s)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reopened_store_answers_from_stored_fields_without_message_files() {
    let dir = tempfile::tempdir().expect("temp dir");
    let messages: Vec<Vec<u8>> = (1..=20).map(plain).collect();
    let inbox = filled(dir.path(), &messages).await;
    truncate_blobs(dir.path());

    for wanted in [&["subject"][..], &CACHED[..], &["from", "date"][..]] {
        // A fresh store each time: nothing in its memory, every answer from the rows.
        let got = search(&open(dir.path()), inbox, messages.len(), wanted).await;
        assert_eq!(got.len(), messages.len(), "{wanted:?}");
        for ((uid, fields), raw) in got.iter().zip(&messages) {
            let want = searchable_fields(raw, &names(wanted));
            assert!(!want.is_empty());
            assert_eq!(&fields[..], &want[..], "UID {uid}, {wanted:?}");
        }
    }
    // The files really are gone: their bytes are empty, and a name outside the stored set
    // (read from the file) finds nothing.
    let store = open(dir.path());
    let acct = login(&store).await;
    let bytes = store.message_bytes(&acct, inbox, 1).await;
    assert!(bytes.is_err(), "bytes of an emptied file: {bytes:?}");
    let tags = search(&store, inbox, messages.len(), &["x-tag"]).await;
    assert!(tags.iter().all(|(_, f)| f.is_empty()), "{tags:?}");
    // Stored fields and file fields together (a name outside the set): from the file.
    let mixed = search(&store, inbox, messages.len(), &["subject", "x-tag"]).await;
    assert!(mixed.iter().all(|(_, f)| f.is_empty()), "{mixed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copies_share_the_row_and_collected_blobs_drop_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let messages: Vec<Vec<u8>> = (1..=3).map(plain).collect();
    let inbox = filled(dir.path(), &messages).await;
    let archive = {
        let store = open(dir.path());
        let acct = login(&store).await;
        store
            .copy(&acct, inbox, &[1, 2, 3], &mbox("Archive"))
            .await
            .expect("copy");
        // The originals go; their blobs live on in the copies. A copy of 3 within INBOX
        // (UID 4) names the same blob as UID 3 there.
        store.expunge(&acct, inbox, &[1, 2]).await.expect("expunge");
        store
            .copy(&acct, inbox, &[3], &mbox("INBOX"))
            .await
            .expect("copy within INBOX");
        store
            .snapshot(&acct, &mbox("Archive"))
            .await
            .expect("snapshot")
            .id
    };
    assert_eq!(field_rows(dir.path()), 3, "one row per blob, none per copy");
    truncate_blobs(dir.path());

    let store = open(dir.path());
    let acct = login(&store).await;
    let got = search(&store, archive, 3, &["subject"]).await;
    let want: Vec<(Uid, Vec<String>)> = (1..=3)
        .map(|n| (n as Uid, vec![format!("message {n}")]))
        .collect();
    assert_eq!(subjects(&got), want, "copies answer from their blob's row");
    let got = search(&store, inbox, 4, &["subject"]).await;
    let three = vec!["message 3".to_string()];
    assert_eq!(subjects(&got), vec![(3, three.clone()), (4, three)]);

    // Expunging the last names of blobs 1 and 2 collects them, and their rows.
    store
        .expunge(&acct, archive, &[1, 2])
        .await
        .expect("expunge");
    assert_eq!(
        subjects(&search(&store, archive, 3, &["subject"]).await)[..],
        want[2..]
    );
    drop(store);
    assert_eq!(field_rows(dir.path()), 1);
    // EXPUNGE and DELETE of its last three names collect the last.
    let store = open(dir.path());
    let acct = login(&store).await;
    store.expunge(&acct, inbox, &[3, 4]).await.expect("expunge");
    store
        .delete_mailbox(&acct, &mbox("Archive"))
        .await
        .expect("delete");
    drop(store);
    assert_eq!(field_rows(dir.path()), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stores_without_rows_answer_from_the_files_and_the_same_as_with_rows() {
    let dir = tempfile::tempdir().expect("temp dir");
    let messages = tricky();
    let inbox = filled(dir.path(), &messages).await;
    let n = messages.len();
    let asks: [&[&str]; 5] = [
        &["subject"],
        &CACHED,
        &["to", "cc", "bcc"],
        &["date", "subject"],
        &[],
    ];

    // From the rows (a fresh store each time, nothing cached in memory).
    let mut from_rows = Vec::new();
    for wanted in asks {
        from_rows.push(search(&open(dir.path()), inbox, n, wanted).await);
    }
    // As a store written before the table existed: every answer from the files.
    drop_fields_table(dir.path());
    for (wanted, rows) in asks.iter().zip(&from_rows) {
        let files = search(&open(dir.path()), inbox, n, wanted).await;
        assert_eq!(&files, rows, "{wanted:?}");
    }
    let store = open(dir.path());
    assert_eq!(from_rows[1].len(), n);
    assert!(subjects(&from_rows[0])[0]
        .1
        .contains(&"hello wörld".to_string()));

    // Old messages without rows and new ones with rows in one mailbox.
    let acct = login(&store).await;
    let extra = plain(99);
    store
        .append(&acct, &mbox("INBOX"), new_message(&extra))
        .await
        .expect("append");
    drop(store);
    assert_eq!(
        field_rows(dir.path()),
        1,
        "the table is back, for new messages"
    );
    let store = open(dir.path());
    let got = search(&store, inbox, n + 1, &CACHED).await;
    assert_eq!(got[..n], from_rows[1][..]);
    let last = &got[n];
    assert_eq!(last.0, n as Uid + 1);
    assert_eq!(&last.1[..], &searchable_fields(&extra, &names(&CACHED))[..]);
}
