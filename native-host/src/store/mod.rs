//! `FileStore`: the native host's durable `Store`: metadata in one redb database, message
//! bytes in immutable blob files, accounts with argon2 hashes, change notification.
//!
//! Layout of a store directory:
//!
//! ```text
//! <dir>/tidings.redb        metadata (see `schema` for the tables)
//! <dir>/blobs/<xx>/<id>     message bytes, one immutable file per stored message body
//! ```
//!
//! Durability: a blob is written to a temp file, fsynced, renamed and its directory fsynced
//! *before* the redb transaction that names it commits (redb commits are durable), so a crash
//! at any instant leaves either no trace of a message or a complete one. UIDNEXT advances in
//! the transaction that inserts the message, so UIDs are never reused, even after a crash.
//! Blobs left unreferenced by a crash (written but never committed, or expunged but not yet
//! deleted) and stray temp files are collected by [`FileStore::open`].
//!
//! Sharing: COPY and MOVE never duplicate bytes; copies name the same blob, whose reference
//! count lives in redb and is updated in the same transaction. The file is deleted after the
//! commit that drops the last reference (EXPUNGE, DELETE, account deletion).
//!
//! Accounts: argon2id with the crate's default parameters (19 MiB, 2 passes), stored as PHC
//! strings; verification runs on two verifier threads and an unknown user costs the same work.
//! Recent successful logins are remembered (as keyed MACs) for an hour by default, so a
//! reconnecting client skips argon2 (`auth_cache`).
//!
//! Concurrency: `FileStore` is `Send + Sync` and cheap to clone (an `Arc`). Writes that also
//! touch files (APPEND, EXPUNGE, mailbox management), file reads and login checks run on
//! tokio's blocking pool (`spawn_blocking`) when called inside a tokio runtime, inline
//! otherwise (a login's argon2 itself runs on one of the verifier threads while the
//! blocking-pool thread waits); STORE, COPY and MOVE queue their transaction on the writer
//! and await its answer without taking a thread; small reads (LIST, LSUB, changes, message
//! info, cached summaries) run inline. Every write transaction runs on one writer thread,
//! which commits the writes queued behind each other together, with one fsync (`commit`);
//! readers see consistent snapshots and never wait for writers. Sessions woken by one change share read answers
//! (`memo`); sizes, dates and searched header fields are kept in `message_cache`, which a
//! first search fills from the header fields stored at delivery (`field_rows`).
//! One process only: redb locks the database file, so a second `open` of the same directory
//! fails. Change notification is in-process (a separate `tidings deliver` process would need a
//! cross-process signal, not built yet).

mod accounts;
mod auth_cache;
mod blobs;
mod commit;
mod field_rows;
mod mailboxes;
mod memo;
mod message_cache;
mod messages;
mod schema;

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use redb::{Database, ReadableTable};
use tidings_engine::command::{MailboxName, StoreOp};
use tidings_engine::search::Field;
use tidings_engine::store::{
    Account, Appended, Changes, Copied, MailboxId, MailboxInfo, MailboxStatus, MessageInfo,
    MessageMeta, NewMessage, Notifier, RunBytes, Snapshot, Store, StoreError, StoreResult, Watch,
};
use tidings_engine::types::{Flag, SpecialUse, Uid};

use auth_cache::AuthCache;
pub use auth_cache::{AuthCacheStats, DEFAULT_AUTH_CACHE_ENTRIES, DEFAULT_AUTH_CACHE_TTL};
use blobs::BlobDir;
pub use message_cache::DEFAULT_BUDGET as DEFAULT_MESSAGE_CACHE_BYTES;
use schema::{OrBackend, Reader, Tables, NEXT_UIDVALIDITY};

/// Up to this many message summaries are read inline; more go to the blocking pool (a
/// whole 100,000-message mailbox takes tens of milliseconds).
const INLINE_SUMMARIES: usize = 256;

/// File name of the metadata database inside the store directory.
pub const DB_FILE: &str = "tidings.redb";
/// Directory of message blobs inside the store directory.
pub const BLOB_DIR: &str = "blobs";

/// A durable [`Store`] in a directory. See the module docs for layout and guarantees.
#[derive(Clone, Debug)]
pub struct FileStore {
    inner: Arc<Inner>,
    max_message_size: Option<usize>,
}

/// What every clone shares; the blocking operations are methods on it.
pub(crate) struct Inner {
    db: Arc<Database>,
    /// The writer thread: every write transaction runs there, batched (group commit).
    committer: commit::Committer,
    blobs: BlobDir,
    notifier: Notifier,
    /// Read answers shared by the sessions a change wakes; forgotten on every commit.
    memo: Arc<memo::Memo>,
    /// Sizes, dates and SEARCH's most asked-for header fields, within a memory budget.
    cache: message_cache::MessageCache,
    auth_cache: AuthCache,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inner").field("blobs", &self.blobs).finish()
    }
}

impl Inner {
    /// Runs `f` in a write transaction and returns once that has durably committed; if `f`
    /// fails, none of its writes commit. Concurrent writes share one transaction and one fsync
    /// (`commit`), so `f` may run twice and must touch nothing but the tables. Blocks.
    fn write<T: Send + 'static>(
        &self,
        f: impl FnMut(&mut Tables) -> StoreResult<T> + Send + 'static,
    ) -> StoreResult<T> {
        self.committer.run(redb::Durability::Immediate, f)
    }

    /// As [`Inner::write`] with a chosen durability: `Eventual` for state whose loss in a
    /// power failure is harmless (the \Recent mark). redb 2 still syncs an `Eventual`
    /// commit on Linux (only macOS gets a cheaper barrier); the only level without a sync,
    /// `None`, is lost on a process crash, so every write here is synced in effect.
    fn write_with<T: Send + 'static>(
        &self,
        durability: redb::Durability,
        f: impl FnMut(&mut Tables) -> StoreResult<T> + Send + 'static,
    ) -> StoreResult<T> {
        self.committer.run(durability, f)
    }

    /// Runs `f` against one consistent read snapshot.
    fn read<T>(&self, f: impl FnOnce(&Reader) -> StoreResult<T>) -> StoreResult<T> {
        let txn = self.db.begin_read().bk()?;
        let reader = Reader::open(&txn)?;
        f(&reader)
    }
}

impl FileStore {
    /// Opens (creating if needed) the store in `dir`: creates the tables, seeds the
    /// UIDVALIDITY counter from the wall clock on first use, and collects orphan blobs and
    /// temp files. Fails if another process has the store open.
    pub fn open(dir: &Path) -> anyhow::Result<FileStore> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating store directory {}", dir.display()))?;
        let db_path = dir.join(DB_FILE);
        let db = Database::create(&db_path)
            .with_context(|| format!("opening database {}", db_path.display()))?;
        let live = init_tables(&db).context("initialising database")?;
        let max_live = live.iter().copied().max().unwrap_or(0);
        let blobs = BlobDir::open(dir.join(BLOB_DIR), 0).context("creating blob directory")?;
        let (removed, max_seen) = blobs
            .collect_orphans(&live)
            .context("collecting orphan blobs")?;
        if removed > 0 {
            tracing::info!(removed, "collected orphan message files");
        }
        let next = max_live.max(max_seen).saturating_add(1);
        let blobs = BlobDir::open(dir.join(BLOB_DIR), next).context("opening blob directory")?;
        let db = Arc::new(db);
        let memo = Arc::new(memo::Memo::default());
        let committer = commit::Committer::start(Arc::clone(&db), Arc::clone(&memo))
            .context("starting the writer thread")?;
        Ok(FileStore {
            inner: Arc::new(Inner {
                db,
                committer,
                blobs,
                notifier: Notifier::new(),
                memo,
                cache: message_cache::MessageCache::new(message_cache::DEFAULT_BUDGET),
                auth_cache: AuthCache::new(DEFAULT_AUTH_CACHE_TTL, DEFAULT_AUTH_CACHE_ENTRIES),
            }),
            max_message_size: None,
        })
    }

    /// Refuses APPEND of messages longer than `bytes` with [`StoreError::TooBig`].
    pub fn with_max_message_size(mut self, bytes: usize) -> FileStore {
        self.max_message_size = Some(bytes);
        self
    }

    /// Bounds the message cache (sizes, dates and searched header fields) to about `bytes`;
    /// 0 turns it off.
    pub fn with_message_cache(self, bytes: usize) -> FileStore {
        self.inner.cache.set_budget(bytes);
        self
    }

    /// Bounds the auth cache (recent successful logins skip argon2): entries live `ttl` from
    /// their verification, at most `max_entries` are kept; either 0 disables it. Applies to
    /// every clone and drops the current entries. Default: 1 hour, 50 000 entries.
    pub fn with_auth_cache(self, ttl: std::time::Duration, max_entries: usize) -> FileStore {
        self.inner.auth_cache.configure(ttl, max_entries);
        self
    }

    /// Hits, misses and size of the auth cache.
    pub fn auth_cache_stats(&self) -> AuthCacheStats {
        self.inner.auth_cache.stats()
    }

    /// The notifier this store wakes on every change.
    pub fn notifier(&self) -> &Notifier {
        &self.inner.notifier
    }

    /// Adds an account (argon2id hash of `password`) with INBOX and the special-use
    /// mailboxes of `DEFAULT_MAILBOXES`, all subscribed. `AlreadyExists` if the name is taken. Blocking.
    pub fn add_user(&self, name: &str, password: impl AsRef<[u8]>) -> StoreResult<()> {
        self.inner.add_user(name, password.as_ref())
    }

    /// Replaces an account's password. `Cannot` if there is no such account. Blocking.
    pub fn set_password(&self, name: &str, password: impl AsRef<[u8]>) -> StoreResult<()> {
        self.inner.set_password(name, password.as_ref())
    }

    /// Deletes an account with all its mailboxes, messages and subscriptions. Blocking.
    pub fn delete_user(&self, name: &str) -> StoreResult<()> {
        self.inner.delete_user(name)
    }

    /// Every account name, sorted.
    pub fn list_users(&self) -> StoreResult<Vec<String>> {
        self.inner.list_users()
    }

    /// Runs `f` on tokio's blocking pool if inside a runtime, else inline.
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Inner) -> StoreResult<T> + Send + 'static,
    ) -> StoreResult<T> {
        let inner = Arc::clone(&self.inner);
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => handle
                .spawn_blocking(move || f(&inner))
                .await
                .map_err(|e| StoreError::Backend(format!("store task failed: {e}")))?,
            Err(_) => f(&inner),
        }
    }

    /// Queues a write transaction on the writer thread and waits for its durable commit
    /// without holding a thread (see `commit`): for writes that touch only the tables.
    fn submit<T: Send + 'static>(
        &self,
        job: impl FnMut(&mut Tables) -> StoreResult<T> + Send + 'static,
    ) -> impl std::future::Future<Output = StoreResult<T>> {
        self.inner
            .committer
            .submit(redb::Durability::Immediate, job)
    }

    /// COPY (`is_move` false) or MOVE, then wakes watchers if anything was transferred.
    async fn transfer(
        &self,
        account: &Account,
        mailbox: MailboxId,
        uids: &[Uid],
        dest: &MailboxName,
        is_move: bool,
    ) -> StoreResult<Copied> {
        let job = messages::copy_job(&account.name, mailbox, uids, dest, is_move);
        let written = self.submit(job).await?;
        let copied = self.inner.copy_done(mailbox, is_move, written);
        self.notify_if(account, !copied.mapping.is_empty());
        Ok(copied)
    }

    /// Wakes the account's watchers (before the mutation returns) if `changed`.
    fn notify_if(&self, account: &Account, changed: bool) {
        if changed {
            self.inner.notifier.notify(&account.name);
        }
    }
}

/// Creates every table and the counters; returns the ids of all referenced blobs.
fn init_tables(db: &Database) -> anyhow::Result<HashSet<u64>> {
    let txn = db.begin_write()?;
    let mut live = HashSet::new();
    {
        let mut t = Tables::open(&txn).map_err(anyhow::Error::msg)?;
        if t.counters.get(NEXT_UIDVALIDITY)?.is_none() {
            // Seeded from the clock so a store re-created from scratch does not hand out the
            // UIDVALIDITY values a client may have cached from the previous one.
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_secs());
            let seed = u32::try_from(now).unwrap_or(1).max(1);
            t.counters.insert(NEXT_UIDVALIDITY, u64::from(seed))?;
        }
        for item in t.blob_refs.iter()? {
            live.insert(item?.0.value());
        }
    }
    txn.commit()?;
    Ok(live)
}

fn owned(uids: &[Uid]) -> Vec<Uid> {
    uids.to_vec()
}

impl Store for FileStore {
    /// Asks the auth cache, else verifies the argon2 hash off the runtime; an unknown user
    /// costs the same work as a wrong password.
    async fn authenticate(&self, username: &str, password: &[u8]) -> StoreResult<Option<Account>> {
        let (user, password) = (username.to_string(), password.to_vec());
        self.blocking(move |inner| {
            let ok = inner.check_login(&user, &password)?;
            Ok(ok.then_some(Account { name: user }))
        })
        .await
    }

    async fn list_mailboxes(&self, account: &Account) -> StoreResult<Vec<MailboxInfo>> {
        self.inner.list_mailboxes(&account.name)
    }

    async fn create_mailbox(
        &self,
        account: &Account,
        name: &MailboxName,
        special_use: Option<SpecialUse>,
    ) -> StoreResult<MailboxId> {
        let (user, name) = (account.name.clone(), name.clone());
        let id = self
            .blocking(move |i| i.create_mailbox(&user, &name, special_use))
            .await?;
        self.notify_if(account, true);
        Ok(id)
    }

    async fn delete_mailbox(&self, account: &Account, name: &MailboxName) -> StoreResult<()> {
        let (user, name) = (account.name.clone(), name.clone());
        self.blocking(move |i| i.delete_mailbox(&user, &name))
            .await?;
        self.notify_if(account, true);
        Ok(())
    }

    async fn rename_mailbox(
        &self,
        account: &Account,
        from: &MailboxName,
        to: &MailboxName,
    ) -> StoreResult<()> {
        let (user, from, to) = (account.name.clone(), from.clone(), to.clone());
        self.blocking(move |i| i.rename_mailbox(&user, &from, &to))
            .await?;
        self.notify_if(account, true);
        Ok(())
    }

    async fn set_subscribed(
        &self,
        account: &Account,
        name: &MailboxName,
        subscribed: bool,
    ) -> StoreResult<()> {
        let (user, name) = (account.name.clone(), name.clone());
        let changed = self
            .blocking(move |i| i.set_subscribed(&user, &name, subscribed))
            .await?;
        self.notify_if(account, changed);
        Ok(())
    }

    async fn subscriptions(&self, account: &Account) -> StoreResult<Vec<MailboxName>> {
        self.inner.subscriptions(&account.name)
    }

    async fn status(&self, account: &Account, name: &MailboxName) -> StoreResult<MailboxStatus> {
        let (user, name) = (account.name.clone(), name.clone());
        self.blocking(move |i| i.status(&user, &name)).await
    }

    async fn snapshot(&self, account: &Account, name: &MailboxName) -> StoreResult<Snapshot> {
        let (user, name) = (account.name.clone(), name.clone());
        self.blocking(move |i| i.snapshot(&user, &name)).await
    }

    async fn changes_since(
        &self,
        account: &Account,
        mailbox: MailboxId,
        modseq: u64,
    ) -> StoreResult<Changes> {
        self.inner.changes_since(&account.name, mailbox, modseq)
    }

    /// Not a change to any message: no modseq bump, no wake-up (as MemoryStore). Checked
    /// inline first; only a claim with something to take, and none in progress on the
    /// mailbox, goes to the blocking pool for its write.
    async fn claim_recent(&self, account: &Account, mailbox: MailboxId) -> StoreResult<Vec<Uid>> {
        if !self.inner.recent_pending(&account.name, mailbox)? {
            return Ok(Vec::new());
        }
        let Some(_claim) = self.inner.memo.begin_claim(mailbox) else {
            return Ok(Vec::new());
        };
        let user = account.name.clone();
        self.blocking(move |i| i.claim_recent(&user, mailbox)).await
    }

    async fn append(
        &self,
        account: &Account,
        mailbox: &MailboxName,
        message: NewMessage,
    ) -> StoreResult<Appended> {
        if self
            .max_message_size
            .is_some_and(|max| message.raw.len() > max)
        {
            return Err(StoreError::TooBig);
        }
        // The file is written and synced on the blocking pool; the transaction goes to the
        // writer and is awaited here, so no thread waits through the commit.
        let message = Arc::new(message);
        let for_file = Arc::clone(&message);
        let file = self.blocking(move |i| i.append_file(&for_file)).await?;
        let blob = file.blob;
        let job = messages::append_job(&account.name, mailbox, &message, file);
        let appended = match self.submit(job).await {
            Ok(appended) => appended,
            Err(e) => {
                self.inner.append_failed(blob);
                return Err(e);
            }
        };
        self.notify_if(account, true);
        Ok(appended)
    }

    async fn store_flags(
        &self,
        account: &Account,
        mailbox: MailboxId,
        uids: &[Uid],
        op: StoreOp,
        flags: &[Flag],
        unchanged_since: Option<u64>,
    ) -> StoreResult<(Vec<MessageMeta>, Vec<Uid>)> {
        let job =
            messages::store_flags_job(&account.name, mailbox, uids, op, flags, unchanged_since);
        let (result, changed) = self.submit(job).await?;
        self.notify_if(account, changed);
        Ok(result)
    }

    async fn expunge(
        &self,
        account: &Account,
        mailbox: MailboxId,
        uids: &[Uid],
    ) -> StoreResult<Vec<Uid>> {
        let (user, uids) = (account.name.clone(), owned(uids));
        let removed = self
            .blocking(move |i| i.expunge(&user, mailbox, &uids))
            .await?;
        self.notify_if(account, !removed.is_empty());
        Ok(removed)
    }

    async fn copy(
        &self,
        account: &Account,
        mailbox: MailboxId,
        uids: &[Uid],
        dest: &MailboxName,
    ) -> StoreResult<Copied> {
        self.transfer(account, mailbox, uids, dest, false).await
    }

    async fn move_messages(
        &self,
        account: &Account,
        mailbox: MailboxId,
        uids: &[Uid],
        dest: &MailboxName,
    ) -> StoreResult<Copied> {
        self.transfer(account, mailbox, uids, dest, true).await
    }

    async fn message_info(
        &self,
        account: &Account,
        mailbox: MailboxId,
        uid: Uid,
    ) -> StoreResult<MessageInfo> {
        self.inner.message_info(&account.name, mailbox, uid)
    }

    async fn message_summary(
        &self,
        account: &Account,
        mailbox: MailboxId,
        uid: Uid,
    ) -> StoreResult<(u64, tidings_engine::types::DateTime)> {
        self.inner.message_summary(&account.name, mailbox, uid)
    }

    /// On the blocking pool: file reads.
    async fn message_bytes_run(
        &self,
        account: &Account,
        mailbox: MailboxId,
        uids: &[Uid],
        max_bytes: usize,
    ) -> StoreResult<RunBytes> {
        let (user, uids) = (account.name.clone(), owned(uids));
        self.blocking(move |i| i.message_bytes_run(&user, mailbox, &uids, max_bytes))
            .await
    }

    async fn message_infos(
        &self,
        account: &Account,
        mailbox: MailboxId,
        uids: &[Uid],
    ) -> StoreResult<Vec<MessageInfo>> {
        self.inner.message_infos(&account.name, mailbox, uids)
    }

    async fn message_summaries(
        &self,
        account: &Account,
        mailbox: MailboxId,
        uids: &[Uid],
    ) -> StoreResult<Vec<(Uid, u64, tidings_engine::types::DateTime)>> {
        if uids.len() <= INLINE_SUMMARIES {
            return self.inner.message_summaries(&account.name, mailbox, uids);
        }
        let (user, uids) = (account.name.clone(), owned(uids));
        self.blocking(move |i| i.message_summaries(&user, mailbox, &uids))
            .await
    }

    /// On the blocking pool: a first search reads the start of every message file.
    async fn search_fields(
        &self,
        account: &Account,
        mailbox: MailboxId,
        uids: &[Uid],
        names: &[String],
    ) -> StoreResult<Vec<(Uid, Arc<[Field]>)>> {
        let (user, uids, names) = (account.name.clone(), owned(uids), names.to_vec());
        self.blocking(move |i| i.search_fields(&user, mailbox, &uids, &names))
            .await
    }

    async fn message_bytes(
        &self,
        account: &Account,
        mailbox: MailboxId,
        uid: Uid,
    ) -> StoreResult<Arc<[u8]>> {
        let user = account.name.clone();
        self.blocking(move |i| i.message_bytes(&user, mailbox, uid))
            .await
    }

    fn watch(&self, account: &Account) -> Watch {
        self.inner.notifier.watch(&account.name)
    }
}

/// Lets the engine's conformance suite create accounts (`tidings user add` in effect).
impl tidings_engine::store::conformance::TestBackend for FileStore {
    async fn add_test_user(&self, name: &str, password: &str) -> StoreResult<()> {
        let (name, password) = (name.to_string(), password.to_string());
        self.blocking(move |i| i.add_user(&name, password.as_bytes()))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_store_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<FileStore>();
    }
}
