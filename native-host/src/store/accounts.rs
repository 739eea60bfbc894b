//! Accounts of the FileStore: argon2id password hashes (PHC strings, default parameters) in
//! the `accounts` table, and adding, re-keying, deleting and listing users.

use std::sync::OnceLock;

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::Argon2;
use redb::ReadableTable;
use tidings_engine::command::MailboxName;
use tidings_engine::store::{StoreError, StoreResult, DEFAULT_MAILBOXES};

use super::mailboxes::{new_mailbox, purge_mailbox};
use super::schema::{names_of, OrBackend, Tables};
use super::Inner;

/// Hashes a password with argon2id and a fresh random salt. CPU- and memory-heavy (tens of
/// milliseconds): async callers run it on a blocking thread.
pub(crate) fn hash_password(password: &[u8]) -> StoreResult<String> {
    Argon2::default()
        .hash_password(password)
        .map(|h| h.to_string())
        .map_err(|e| StoreError::Backend(format!("password hashing failed: {e}")))
}

/// Checks `password` against a stored PHC string; a malformed hash never matches.
///
/// The work runs on one of [`VERIFIER_THREADS`] long-lived threads (the caller blocks until
/// it is done), so a burst of logins cannot occupy every core and tokio's blocking pool with
/// argon2 (each check is ~20 ms of CPU and a 19 MiB block), and the blocks stay with these
/// few threads. (With glibc malloc those blocks also fragmented the heap, about 1 MiB kept
/// per login; the `tidings` binary uses mimalloc, which measured ~40 KiB per extra session.)
pub(crate) fn verify_password(phc: &str, password: &[u8]) -> bool {
    let (reply_tx, reply_rx) = std::sync::mpsc::sync_channel(1);
    let job = (phc.to_string(), password.to_vec(), reply_tx);
    let sent = verifier()
        .lock()
        .map(|tx| tx.send(job).is_ok())
        .unwrap_or(false);
    // If the pool is gone (it never exits), fall back to checking here.
    if !sent {
        return verify_here(phc, password);
    }
    reply_rx.recv().unwrap_or(false)
}

/// How many threads verify passwords.
pub(crate) const VERIFIER_THREADS: usize = 2;

type Job = (String, Vec<u8>, std::sync::mpsc::SyncSender<bool>);

fn verifier() -> &'static std::sync::Mutex<std::sync::mpsc::Sender<Job>> {
    static POOL: OnceLock<std::sync::Mutex<std::sync::mpsc::Sender<Job>>> = OnceLock::new();
    POOL.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel::<Job>();
        let rx = std::sync::Arc::new(std::sync::Mutex::new(rx));
        for i in 0..VERIFIER_THREADS {
            let rx = rx.clone();
            let _ = std::thread::Builder::new()
                .name(format!("tidings-argon2-{i}"))
                .spawn(move || loop {
                    let job = match rx.lock() {
                        Ok(rx) => rx.recv(),
                        Err(_) => return,
                    };
                    let Ok((phc, password, reply)) = job else {
                        return;
                    };
                    let _ = reply.send(verify_here(&phc, &password));
                });
        }
        std::sync::Mutex::new(tx)
    })
}

fn verify_here(phc: &str, password: &[u8]) -> bool {
    match PasswordHash::new(phc) {
        Ok(hash) => Argon2::default().verify_password(password, &hash).is_ok(),
        Err(_) => false,
    }
}

/// A hash to verify against when the user does not exist, so that an unknown user costs as
/// much time as a wrong password.
pub(crate) fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_password(b"tidings: no such user").unwrap_or_default())
}

fn check_user_name(name: &str) -> StoreResult<()> {
    if name.is_empty() || name.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(StoreError::Cannot(format!(
            "invalid user name {name:?}: empty, or contains spaces or control characters"
        )));
    }
    Ok(())
}

impl Inner {
    /// The stored hash of `user`, if any.
    pub(crate) fn password_hash(&self, user: &str) -> StoreResult<Option<String>> {
        self.read(|r| Ok(r.accounts()?.get(user).bk()?.map(|v| v.value().to_string())))
    }

    pub(crate) fn add_user(&self, name: &str, password: &[u8]) -> StoreResult<()> {
        check_user_name(name)?;
        let hash = hash_password(password)?;
        self.write(|t| {
            if t.accounts.get(name).bk()?.is_some() {
                return Err(StoreError::AlreadyExists);
            }
            t.accounts.insert(name, hash.as_str()).bk()?;
            for (mbox, special_use) in DEFAULT_MAILBOXES {
                new_mailbox(t, name, &MailboxName::new(mbox), special_use)?;
                t.subscriptions.insert((name, mbox), ()).bk()?;
            }
            Ok(())
        })?;
        self.notifier.notify(name);
        Ok(())
    }

    pub(crate) fn set_password(&self, name: &str, password: &[u8]) -> StoreResult<()> {
        let hash = hash_password(password)?;
        self.write(|t| {
            if t.accounts.get(name).bk()?.is_none() {
                return Err(StoreError::Cannot("no such account".into()));
            }
            t.accounts.insert(name, hash.as_str()).bk()?;
            Ok(())
        })
    }

    /// Deletes the account, its mailboxes, messages and subscriptions.
    pub(crate) fn delete_user(&self, name: &str) -> StoreResult<()> {
        let freed = self.write(|t| delete_account(t, name))?;
        self.blobs.remove(&freed);
        self.notifier.notify(name);
        Ok(())
    }

    pub(crate) fn list_users(&self) -> StoreResult<Vec<String>> {
        self.read(|r| {
            let mut out = Vec::new();
            for item in r.accounts()?.iter().bk()? {
                let (k, _) = item.bk()?;
                out.push(k.value().to_string());
            }
            Ok(out)
        })
    }
}

/// Removes everything of account `name`; returns the blobs no longer referenced.
fn delete_account(t: &mut Tables, name: &str) -> StoreResult<Vec<u64>> {
    if t.accounts.remove(name).bk()?.is_none() {
        return Err(StoreError::Cannot("no such account".into()));
    }
    let mut freed = Vec::new();
    for mbox in names_of(&t.names, name)? {
        let id = t
            .names
            .remove((name, mbox.as_str()))
            .bk()?
            .map(|v| v.value());
        if let Some(id) = id {
            freed.extend(purge_mailbox(t, id)?);
        }
    }
    for sub in names_of(&t.subscriptions, name)? {
        t.subscriptions.remove((name, sub.as_str())).bk()?;
    }
    Ok(freed)
}
