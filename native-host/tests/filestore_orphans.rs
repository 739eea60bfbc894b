//! FileStore start-up collection: blob files no message references (left by a crash between
//! writing a blob and committing, or between committing an expunge and deleting) and temp
//! files are removed by `open`; live blobs are kept and new ids never collide with old files.

use std::fs;
use std::sync::Arc;

use tidings_engine::command::MailboxName;
use tidings_engine::mime::ParsedMessage;
use tidings_engine::store::{NewMessage, Store};
use tidings_engine::types::DateTime;
use tidings_host::store::{FileStore, BLOB_DIR};

fn message(text: &str) -> NewMessage {
    let raw: Arc<[u8]> = Arc::from(format!("Subject: {text}\r\n\r\n{text}\r\n").into_bytes());
    NewMessage {
        parsed: Arc::new(ParsedMessage::parse(&raw)),
        raw,
        flags: Vec::new(),
        internal_date: DateTime::from_unix(1_700_000_000, 0),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_removes_orphan_blobs_and_temp_files() {
    let dir = tempfile::tempdir().expect("temp dir");
    let inbox = MailboxName::new("INBOX");
    let blobs = dir.path().join(BLOB_DIR);
    let (acct, mailbox) = {
        let store = FileStore::open(dir.path()).expect("open");
        store.add_user("alice", "pw").expect("add user");
        let acct = store
            .authenticate("alice", b"pw")
            .await
            .expect("auth")
            .expect("alice");
        let a = store
            .append(&acct, &inbox, message("kept"))
            .await
            .expect("append");
        (acct, a.mailbox)
    };
    // What a crash can leave behind: a blob never committed, whole or half-written (with a higher id than
    // any live one), a half-written temp file, a temp file in a fresh fan-out directory.
    let stray = blobs.join("ff").join(format!("{:016x}", 0xffu64));
    let temp = blobs.join("01").join(format!("{:016x}.tmp", 0x101u64));
    let temp2 = blobs.join("7e").join("000000000000007e.tmp");
    for p in [&stray, &temp, &temp2] {
        fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        fs::write(p, b"junk").expect("write stray");
    }

    let store = FileStore::open(dir.path()).expect("reopen");
    for p in [&stray, &temp, &temp2] {
        assert!(!p.exists(), "{} survived open", p.display());
    }
    let bytes = store
        .message_bytes(&acct, mailbox, 1)
        .await
        .expect("live message kept");
    assert_eq!(&bytes[..], &message("kept").raw[..]);
    // New blobs get ids past every file seen, so they cannot be confused with the old stray.
    let b = store
        .append(&acct, &inbox, message("new"))
        .await
        .expect("append");
    let bytes = store
        .message_bytes(&acct, mailbox, b.uid)
        .await
        .expect("bytes");
    assert_eq!(&bytes[..], &message("new").raw[..]);
    assert!(!stray.exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_blob_is_a_backend_error_not_a_panic() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = FileStore::open(dir.path()).expect("open");
    store.add_user("alice", "pw").expect("add user");
    let acct = store
        .authenticate("alice", b"pw")
        .await
        .expect("auth")
        .expect("alice");
    let a = store
        .append(&acct, &MailboxName::new("INBOX"), message("x"))
        .await
        .expect("append");
    for sub in fs::read_dir(dir.path().join(BLOB_DIR)).expect("blob dir") {
        let sub = sub.expect("entry").path();
        if sub.is_dir() {
            fs::remove_dir_all(sub).expect("remove");
        }
    }
    let got = store.message_bytes(&acct, a.mailbox, a.uid).await;
    assert!(
        matches!(got, Err(tidings_engine::store::StoreError::Backend(_))),
        "{got:?}"
    );
    // Metadata does not need the file.
    let info = store
        .message_info(&acct, a.mailbox, a.uid)
        .await
        .expect("info");
    assert_eq!(info.size, message("x").raw.len() as u64);
}
