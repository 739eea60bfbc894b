//! Helpers shared by the FileStore integration tests: opening a store, logging in as the
//! test account, naming mailboxes and listing the message files on disk.

use std::path::{Path, PathBuf};

use tidings_engine::command::MailboxName;
use tidings_engine::store::{Account, Store};
use tidings_host::store::{FileStore, BLOB_DIR};

pub fn mbox(name: &str) -> MailboxName {
    MailboxName::new(name)
}

pub fn open(dir: &Path) -> FileStore {
    FileStore::open(dir).expect("open store")
}

/// Logs in as `alice` (password `pw`), whom each test creates.
pub async fn login(store: &FileStore) -> Account {
    store
        .authenticate("alice", b"pw")
        .await
        .expect("authenticate")
        .expect("alice exists")
}

/// Every message file under the store's blob directory, sorted.
pub fn blob_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for sub in std::fs::read_dir(dir.join(BLOB_DIR)).expect("blob dir") {
        let sub = sub.expect("entry").path();
        if sub.is_dir() {
            for f in std::fs::read_dir(&sub).expect("sub dir") {
                out.push(f.expect("entry").path());
            }
        }
    }
    out.sort();
    out
}
