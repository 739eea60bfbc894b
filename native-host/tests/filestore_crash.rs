//! `kill -9` in the middle of appends loses nothing acknowledged: a child process (this test
//! binary re-run with an env var) appends in a loop and reports each UID once `append`
//! returned; the parent kills it with SIGKILL, reopens the store and checks every reported
//! message is there, byte-identical, and that no orphan blob file is left.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;

use tidings_engine::command::MailboxName;
use tidings_engine::mime::ParsedMessage;
use tidings_engine::store::{NewMessage, Store};
use tidings_engine::types::DateTime;
use tidings_host::store::{FileStore, BLOB_DIR};

const DIR_VAR: &str = "TIDINGS_FILESTORE_CRASH_DIR";

fn message(n: u32) -> NewMessage {
    let raw = format!(
        "Subject: crash {n}\r\n\r\n{}\r\n",
        "x".repeat(n as usize % 997)
    );
    let raw: Arc<[u8]> = Arc::from(raw.into_bytes());
    NewMessage {
        parsed: Arc::new(ParsedMessage::parse(&raw)),
        raw,
        flags: Vec::new(),
        internal_date: DateTime::from_unix(1_700_000_000, 0),
    }
}

/// The child: appends until killed, printing `ACK <uid> <n>` after each acknowledged append.
/// Does nothing when run as an ordinary test.
#[test]
fn crash_child() {
    let Some(dir) = std::env::var_os(DIR_VAR) else {
        return;
    };
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let store = FileStore::open(Path::new(&dir)).expect("child open");
        let acct = store
            .authenticate("alice", b"pw")
            .await
            .expect("auth")
            .expect("alice");
        for n in 1.. {
            let a = store
                .append(&acct, &MailboxName::new("INBOX"), message(n))
                .await
                .expect("append");
            println!("ACK {} {n}", a.uid);
        }
    });
}

fn blob_count(dir: &Path) -> usize {
    let mut n = 0;
    for sub in std::fs::read_dir(dir.join(BLOB_DIR)).expect("blob dir") {
        let sub = sub.expect("entry").path();
        if sub.is_dir() {
            n += std::fs::read_dir(&sub).expect("sub").count();
        }
    }
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_appends_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().expect("temp dir");
    FileStore::open(dir.path())
        .expect("open")
        .add_user("alice", "pw")
        .expect("add user");

    let mut child = Command::new(std::env::current_exe().expect("test binary"))
        .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
        .env(DIR_VAR, dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn child");
    let stdout = child.stdout.take().expect("child stdout");
    let mut acked = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("read child");
        if let Some(rest) = line.strip_prefix("ACK ") {
            let mut it = rest.split(' ').map(|x| x.parse::<u32>().expect("number"));
            acked.push((it.next().expect("uid"), it.next().expect("n")));
            if acked.len() == 40 {
                break;
            }
        }
    }
    child.kill().expect("SIGKILL child");
    child.wait().expect("reap child");
    assert_eq!(acked.len(), 40, "child stopped early");

    let store = FileStore::open(dir.path()).expect("reopen after kill");
    let acct = store
        .authenticate("alice", b"pw")
        .await
        .expect("auth")
        .expect("alice");
    let snap = store
        .snapshot(&acct, &MailboxName::new("INBOX"))
        .await
        .expect("snapshot");
    for (uid, n) in &acked {
        let bytes = store
            .message_bytes(&acct, snap.id, *uid)
            .await
            .expect("acknowledged message present");
        assert_eq!(&bytes[..], &message(*n).raw[..], "bytes of UID {uid}");
    }
    assert!(snap.messages.len() >= acked.len());
    assert_eq!(
        blob_count(dir.path()),
        snap.messages.len(),
        "one blob per message after open: orphans collected"
    );
    let next = store
        .append(&acct, &MailboxName::new("INBOX"), message(0))
        .await
        .expect("append after crash");
    assert_eq!(next.uid, snap.uidnext, "UIDs continue after the crash");
}
