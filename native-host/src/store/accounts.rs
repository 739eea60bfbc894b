//! Accounts of the FileStore: argon2id password hashes (PHC strings, default parameters) in
//! the `accounts` table, and adding, re-keying, deleting and listing users.
//!
//! Logins: [`Inner::check_login`] first asks the [`AuthCache`](super::auth_cache) (recent
//! successes, keyed MACs, never plaintext); otherwise argon2 runs on one of two verifier
//! threads, each keeping its argon2 memory (19 MiB at default parameters) between jobs instead
//! of allocating and zeroing a fresh block per login. A wrong password or an unknown user
//! always costs a full argon2 verification.

use std::sync::OnceLock;
use std::time::Instant;

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::PasswordHasher;
use argon2::{Algorithm, Argon2, Block, Params, Version};
use redb::ReadableTable;
use tidings_engine::command::MailboxName;
use tidings_engine::store::{constant_time_eq, StoreError, StoreResult, DEFAULT_MAILBOXES};

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
/// argon2 (each check is ~20 ms of CPU and a 19 MiB block). Each thread keeps its block
/// between jobs (growing it for a hash with larger parameters), so a login neither maps nor
/// zeroes 19 MiB; the cost is that memory staying resident (2 × 19 MiB at the defaults).
pub(crate) fn verify_password(phc: &str, password: &[u8]) -> bool {
    let (reply_tx, reply_rx) = std::sync::mpsc::sync_channel(1);
    let job = (phc.to_string(), password.to_vec(), reply_tx);
    let sent = verifier()
        .lock()
        .map(|tx| tx.send(job).is_ok())
        .unwrap_or(false);
    // If the pool is gone (it never exits), fall back to checking here.
    if !sent {
        return verify_with(phc, password, &mut Vec::new());
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
                .spawn(move || {
                    let mut memory = Vec::new();
                    loop {
                        let job = match rx.lock() {
                            Ok(rx) => rx.recv(),
                            Err(_) => return,
                        };
                        let Ok((phc, password, reply)) = job else {
                            return;
                        };
                        let _ = reply.send(verify_with(&phc, &password, &mut memory));
                    }
                });
        }
        std::sync::Mutex::new(tx)
    })
}

/// What the argon2 crate's `verify_password` does (algorithm, version, parameters, salt and
/// output length from the PHC string; constant-time comparison), but computing in `memory`,
/// which is grown to fit and kept for the next call. Argon2 overwrites every block it reads
/// before reading it, so leftovers from an earlier job do not matter.
fn verify_with(phc: &str, password: &[u8], memory: &mut Vec<Block>) -> bool {
    let Ok(hash) = PasswordHash::new(phc) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (&hash.salt, &hash.hash) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(hash.algorithm.as_str()) else {
        return false;
    };
    let Ok(version) = hash
        .version
        .map_or(Ok(Version::default()), Version::try_from)
    else {
        return false;
    };
    let Ok(params) = Params::try_from(&hash) else {
        return false;
    };
    if memory.len() < params.block_count() {
        memory.resize(params.block_count(), Block::default());
    }
    let mut out = [0u8; 64];
    let Some(out) = out.get_mut(..expected.len()) else {
        return false;
    };
    Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(password, salt, out, memory.as_mut_slice())
        .is_ok()
        && constant_time_eq(out, expected.as_bytes())
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
    /// True if `password` is `user`'s: from the auth cache if this exact login succeeded
    /// within its TTL, else by argon2 (remembering a success). An unknown user is checked
    /// against a dummy hash, so it costs the same as a wrong password. Blocking.
    pub(crate) fn check_login(&self, user: &str, password: &[u8]) -> StoreResult<bool> {
        let stored = self.password_hash(user)?;
        let phc = stored.as_deref().unwrap_or_else(|| dummy_hash());
        let now = Instant::now();
        if self.auth_cache.lookup(user, phc, password, now) && stored.is_some() {
            return Ok(true);
        }
        self.auth_cache.miss();
        let ok = verify_password(phc, password) && stored.is_some();
        if ok {
            self.auth_cache.remember(user, phc, password, now);
        }
        Ok(ok)
    }

    /// The stored hash of `user`, if any.
    pub(crate) fn password_hash(&self, user: &str) -> StoreResult<Option<String>> {
        self.read(|r| Ok(r.accounts()?.get(user).bk()?.map(|v| v.value().to_string())))
    }

    pub(crate) fn add_user(&self, name: &str, password: &[u8]) -> StoreResult<()> {
        check_user_name(name)?;
        let hash = hash_password(password)?;
        let owned = name.to_owned();
        self.write(move |t| {
            let name = owned.as_str();
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
        let owned = name.to_owned();
        self.write(move |t| {
            let name = owned.as_str();
            if t.accounts.get(name).bk()?.is_none() {
                return Err(StoreError::Cannot("no such account".into()));
            }
            t.accounts.insert(name, hash.as_str()).bk()?;
            Ok(())
        })?;
        self.auth_cache.forget(name);
        Ok(())
    }

    /// Deletes the account, its mailboxes, messages and subscriptions.
    pub(crate) fn delete_user(&self, name: &str) -> StoreResult<()> {
        let owned = name.to_owned();
        let freed = self.write(move |t| delete_account(t, &owned))?;
        self.auth_cache.forget(name);
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A PHC string made by the argon2 crate itself with the given variant and parameters.
    fn phc(algorithm: Algorithm, version: Version, params: Params, password: &[u8]) -> String {
        Argon2::new(algorithm, version, params)
            .hash_password(password)
            .expect("hash")
            .to_string()
    }

    /// A cheap argon2id hash (64 KiB, one pass).
    fn small_phc(password: &[u8]) -> String {
        let params = Params::new(64, 1, 1, None).expect("params");
        phc(Algorithm::Argon2id, Version::V0x13, params, password)
    }

    #[test]
    fn one_buffer_verifies_hashes_of_any_parameters() {
        let small = small_phc(b"pw-small");
        let large = phc(
            Algorithm::Argon2i,
            Version::V0x10,
            Params::new(512, 3, 2, Some(16)).expect("params"),
            b"pw-large",
        );
        let default = hash_password(b"pw-default").expect("hash");
        let mut memory = Vec::new();
        // Small, then larger (the buffer grows), then small again over leftovers, then the
        // defaults; each also refuses the other passwords.
        for (hash, right) in [
            (&small, b"pw-small".as_slice()),
            (&large, b"pw-large"),
            (&small, b"pw-small"),
            (&default, b"pw-default"),
            (&large, b"pw-large"),
        ] {
            assert!(verify_with(hash, right, &mut memory), "{hash}");
            for wrong in [b"pw-small".as_slice(), b"pw-large", b"pw-default", b""] {
                if wrong != right {
                    assert!(!verify_with(hash, wrong, &mut memory), "{hash} {wrong:?}");
                }
            }
        }
        assert_eq!(memory.len(), Params::default().block_count());
    }

    #[test]
    fn malformed_hashes_never_match() {
        let good = small_phc(b"pw");
        let no_output = good.rsplit_once('$').expect("fields").0.to_string();
        let bad_params = good.replace("m=64", "m=1");
        let mut memory = Vec::new();
        for hash in [
            "",
            "x",
            "$argon2id$v=19$m=64,t=1,p=1",
            &no_output,
            &bad_params,
        ] {
            assert!(!verify_with(hash, b"pw", &mut memory), "{hash}");
        }
        assert!(!verify_password(
            "$scrypt$ln=4,r=8,p=1$c2FsdHNhbHQ$aGFzaA",
            b"pw"
        ));
        assert!(verify_with(&good, b"pw", &mut memory));
    }

    #[test]
    fn pool_agrees_with_the_crate() {
        let hash = phc(
            Algorithm::Argon2d,
            Version::V0x13,
            Params::new(128, 2, 1, Some(32)).expect("params"),
            b"secret",
        );
        let parsed = PasswordHash::new(&hash).expect("parse");
        for pw in [b"secret".as_slice(), b"Secret", b""] {
            let theirs = argon2::PasswordVerifier::verify_password(&Argon2::default(), pw, &parsed);
            assert_eq!(verify_password(&hash, pw), theirs.is_ok(), "{pw:?}");
        }
    }
}
