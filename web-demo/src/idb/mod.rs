//! `IndexedDbStore`: the engine's `Store` on IndexedDB, one object store per logical table,
//! every mutation one short readwrite transaction that awaits nothing but its own requests.
//!
//! Tables (all with out-of-line keys, values are postcard bytes in a `Uint8Array` unless said):
//! `accounts` (name), `mailboxes` (id), `messages` and `blobs` (raw bytes) and `tombstones`
//! (`[mailboxId, uid]`), `subscriptions` (`[account, name]`), `counters` (name → number).
//!
//! Durability: a mutation answers after its transaction commits, with the browser's default
//! durability hint. In Chromium that behaves as `relaxed` (a 20 KB write and commit: ~0.6 ms,
//! against ~1.9 ms with `strict`): committed mail survives the tab or the browser crashing,
//! not necessarily the OS crashing or a power cut, where the native FileStore syncs.

mod ops;
mod runs;
mod tables;

use std::cell::RefCell;
use std::collections::HashMap;

use indexed_db_futures::database::Database;
use indexed_db_futures::prelude::*;
use indexed_db_futures::transaction::{Transaction, TransactionMode};
use tidings_engine::store::{Account, MailboxId, Notifier, StoreError, StoreResult};

pub(crate) use tables::Tables;

use crate::records::MailboxRec;

/// Object store names.
pub(crate) const ACCOUNTS: &str = "accounts";
pub(crate) const MAILBOXES: &str = "mailboxes";
pub(crate) const MESSAGES: &str = "messages";
pub(crate) const BLOBS: &str = "blobs";
pub(crate) const TOMBSTONES: &str = "tombstones";
pub(crate) const SUBSCRIPTIONS: &str = "subscriptions";
pub(crate) const COUNTERS: &str = "counters";

const ALL_TABLES: [&str; 7] = [
    ACCOUNTS,
    MAILBOXES,
    MESSAGES,
    BLOBS,
    TOMBSTONES,
    SUBSCRIPTIONS,
    COUNTERS,
];

/// Schema version; bump with a migration in `open` when the tables change.
const SCHEMA_VERSION: u32 = 1;

thread_local! {
    /// One notifier per database name, so two handles on the same database in one tab wake
    /// each other's watchers.
    static NOTIFIERS: RefCell<HashMap<String, Notifier>> = RefCell::new(HashMap::new());
}

/// A [`Store`](tidings_engine::store::Store) kept in the browser's IndexedDB: a reload (or a
/// second `open` of the same name) sees every account, mailbox, message, flag, UIDVALIDITY
/// and UIDNEXT. Watchers are woken within the tab only.
pub struct IndexedDbStore {
    db: Database,
    name: String,
    notifier: Notifier,
    /// (account, mailbox name) → the mailbox id it had when last looked up: a hint that
    /// lets APPEND read one mailbox row instead of all of them. Checked against the row it
    /// names, so a rename or delete (here or in another tab) only costs the full lookup.
    mailbox_ids: RefCell<HashMap<(String, String), MailboxId>>,
    /// The mailbox row as the last APPEND through this store wrote it: the next APPEND to
    /// that mailbox writes at once and only checks, in the same transaction, that the row
    /// is still this.
    last_append: RefCell<Option<MailboxRec>>,
    /// The bytes run FETCH or SEARCH will most likely ask for next, being read.
    read_ahead: runs::ReadAhead,
}

impl std::fmt::Debug for IndexedDbStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IndexedDbStore")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// Maps an IndexedDB failure to a backend error that says what we were doing.
pub(crate) fn backend(what: &str, err: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(format!("IndexedDB {what}: {err}"))
}

/// A transaction over every table of `db`. Mutations use `write`; reads are dropped
/// (aborted) when done, which undoes nothing.
pub(crate) fn begin_on(db: &Database, write: bool) -> StoreResult<Transaction<'_>> {
    let mode = if write {
        TransactionMode::Readwrite
    } else {
        TransactionMode::Readonly
    };
    db.transaction(ALL_TABLES)
        .with_mode(mode)
        .build()
        .map_err(|e| backend("begin transaction", e))
}

impl IndexedDbStore {
    /// Opens (creating if needed) the database `name`. A new database gets its UIDVALIDITY
    /// counter seeded from the clock, so values differ from any earlier database's.
    pub async fn open(name: &str) -> StoreResult<IndexedDbStore> {
        let db = Database::open(name)
            .with_version(SCHEMA_VERSION)
            .with_on_upgrade_needed(|event, db| {
                if event.old_version() < 1.0 {
                    for table in ALL_TABLES {
                        db.create_object_store(table).build()?;
                    }
                }
                Ok(())
            })
            .await
            .map_err(|e| backend(&format!("open {name:?}"), e))?;
        let notifier =
            NOTIFIERS.with(|n| n.borrow_mut().entry(name.to_string()).or_default().clone());
        let store = IndexedDbStore {
            db,
            name: name.to_string(),
            notifier,
            mailbox_ids: RefCell::default(),
            last_append: RefCell::default(),
            read_ahead: runs::ReadAhead::default(),
        };
        store.seed_counters().await?;
        Ok(store)
    }

    /// Closes the connection to the database (pending transactions finish first).
    pub fn close(self) {
        self.db.close();
    }

    /// The database name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The notifier this store wakes.
    pub fn notifier(&self) -> &Notifier {
        &self.notifier
    }

    /// Adds an account with INBOX and the special-use mailboxes, all subscribed.
    /// `AlreadyExists` if the name is taken.
    pub async fn add_user(&self, name: &str, password: &str) -> StoreResult<()> {
        let tx = self.begin(true)?;
        {
            let t = Tables::new(&tx)?;
            ops::add_user(&t, name, password.as_bytes()).await?;
        }
        self.commit(tx, None).await
    }

    async fn seed_counters(&self) -> StoreResult<()> {
        let tx = self.begin(true)?;
        {
            let t = Tables::new(&tx)?;
            if t.counter(ops::UIDVALIDITY).await?.is_none() {
                let secs = (js_sys::Date::now() / 1000.0).floor();
                // Seconds since 1970 fit in u32 until 2106; clamp rather than wrap.
                let seed = secs.clamp(1.0, f64::from(u32::MAX / 2));
                t.set_counter(ops::UIDVALIDITY, seed).await?;
                t.set_counter(ops::MAILBOX_ID, 1.0).await?;
            }
        }
        self.commit(tx, None).await
    }

    /// A transaction over every table (see [`begin_on`]).
    pub(crate) fn begin(&self, write: bool) -> StoreResult<Transaction<'_>> {
        begin_on(&self.db, write)
    }

    /// [`commit`](Self::commit) for a transaction that may remove messages (EXPUNGE, MOVE,
    /// DELETE, RENAME of INBOX): a bytes run read ahead before it is dropped, since it may
    /// hold messages that are gone. Other writes leave message bytes as they were.
    pub(crate) async fn commit_removing(
        &self,
        tx: Transaction<'_>,
        changed: Option<&Account>,
    ) -> StoreResult<()> {
        let done = self.commit(tx, changed).await;
        self.read_ahead.clear();
        done
    }

    /// Commits `tx`, then wakes the account's watchers if it changed something.
    pub(crate) async fn commit(
        &self,
        tx: Transaction<'_>,
        changed: Option<&Account>,
    ) -> StoreResult<()> {
        tx.commit().await.map_err(|e| backend("commit", e))?;
        if let Some(account) = changed {
            self.notifier.notify(&account.name);
        }
        Ok(())
    }
}
