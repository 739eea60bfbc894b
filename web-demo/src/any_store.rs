//! `AnyStore`: the one store type the wasm host runs sessions on, either IndexedDB (the page)
//! or memory (the Node edge host), implementing `Store` by plain delegation.

use std::sync::Arc;

use tidings_engine::command::{MailboxName, StoreOp};
use tidings_engine::search::Field;
use tidings_engine::store::{
    Account, Appended, Changes, Copied, MailboxId, MailboxInfo, MailboxStatus, MemoryStore,
    MessageInfo, MessageMeta, NewMessage, RunBytes, Snapshot, Store, StoreError, StoreResult,
    Watch,
};
use tidings_engine::types::{DateTime, Flag, SpecialUse, Uid};

use crate::idb::IndexedDbStore;

/// Where the mail lives.
#[derive(Debug)]
pub enum AnyStore {
    /// Persistent, in the browser's IndexedDB.
    IndexedDb(IndexedDbStore),
    /// In memory, gone when the process ends.
    Memory(MemoryStore),
}

impl AnyStore {
    /// Adds a user with the default mailboxes; `Ok` if the name is already taken (the
    /// password is left as it was).
    pub async fn ensure_user(&self, name: &str, password: &str) -> StoreResult<()> {
        let result = match self {
            AnyStore::IndexedDb(s) => s.add_user(name, password).await,
            AnyStore::Memory(s) => s.add_user(name, password),
        };
        match result {
            Err(StoreError::AlreadyExists) => Ok(()),
            other => other,
        }
    }
}

/// Forwards one `Store` method to whichever backend this is.
macro_rules! delegate {
    ($self:ident, $method:ident ( $($arg:expr),* )) => {
        match $self {
            AnyStore::IndexedDb(s) => s.$method($($arg),*).await,
            AnyStore::Memory(s) => s.$method($($arg),*).await,
        }
    };
}

impl Store for AnyStore {
    async fn authenticate(&self, username: &str, password: &[u8]) -> StoreResult<Option<Account>> {
        delegate!(self, authenticate(username, password))
    }
    async fn list_mailboxes(&self, account: &Account) -> StoreResult<Vec<MailboxInfo>> {
        delegate!(self, list_mailboxes(account))
    }
    async fn create_mailbox(
        &self,
        account: &Account,
        name: &MailboxName,
        special_use: Option<SpecialUse>,
    ) -> StoreResult<MailboxId> {
        delegate!(self, create_mailbox(account, name, special_use))
    }
    async fn delete_mailbox(&self, account: &Account, name: &MailboxName) -> StoreResult<()> {
        delegate!(self, delete_mailbox(account, name))
    }
    async fn rename_mailbox(
        &self,
        account: &Account,
        from: &MailboxName,
        to: &MailboxName,
    ) -> StoreResult<()> {
        delegate!(self, rename_mailbox(account, from, to))
    }
    async fn set_subscribed(
        &self,
        account: &Account,
        name: &MailboxName,
        subscribed: bool,
    ) -> StoreResult<()> {
        delegate!(self, set_subscribed(account, name, subscribed))
    }
    async fn subscriptions(&self, account: &Account) -> StoreResult<Vec<MailboxName>> {
        delegate!(self, subscriptions(account))
    }
    async fn status(&self, account: &Account, name: &MailboxName) -> StoreResult<MailboxStatus> {
        delegate!(self, status(account, name))
    }
    async fn snapshot(&self, account: &Account, name: &MailboxName) -> StoreResult<Snapshot> {
        delegate!(self, snapshot(account, name))
    }
    async fn changes_since(
        &self,
        account: &Account,
        mailbox: MailboxId,
        modseq: u64,
    ) -> StoreResult<Changes> {
        delegate!(self, changes_since(account, mailbox, modseq))
    }
    async fn claim_recent(&self, account: &Account, mailbox: MailboxId) -> StoreResult<Vec<Uid>> {
        delegate!(self, claim_recent(account, mailbox))
    }
    async fn append(
        &self,
        account: &Account,
        mailbox: &MailboxName,
        message: NewMessage,
    ) -> StoreResult<Appended> {
        delegate!(self, append(account, mailbox, message))
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
        delegate!(
            self,
            store_flags(account, mailbox, uids, op, flags, unchanged_since)
        )
    }
    async fn expunge(
        &self,
        account: &Account,
        mailbox: MailboxId,
        uids: &[Uid],
    ) -> StoreResult<Vec<Uid>> {
        delegate!(self, expunge(account, mailbox, uids))
    }
    async fn copy(
        &self,
        account: &Account,
        mailbox: MailboxId,
        uids: &[Uid],
        dest: &MailboxName,
    ) -> StoreResult<Copied> {
        delegate!(self, copy(account, mailbox, uids, dest))
    }
    async fn move_messages(
        &self,
        account: &Account,
        mailbox: MailboxId,
        uids: &[Uid],
        dest: &MailboxName,
    ) -> StoreResult<Copied> {
        delegate!(self, move_messages(account, mailbox, uids, dest))
    }
    async fn message_info(
        &self,
        account: &Account,
        mailbox: MailboxId,
        uid: Uid,
    ) -> StoreResult<MessageInfo> {
        delegate!(self, message_info(account, mailbox, uid))
    }
    async fn message_summary(
        &self,
        account: &Account,
        mailbox: MailboxId,
        uid: Uid,
    ) -> StoreResult<(u64, DateTime)> {
        delegate!(self, message_summary(account, mailbox, uid))
    }
    async fn message_bytes(
        &self,
        account: &Account,
        mailbox: MailboxId,
        uid: Uid,
    ) -> StoreResult<Arc<[u8]>> {
        delegate!(self, message_bytes(account, mailbox, uid))
    }
    async fn message_infos(
        &self,
        account: &Account,
        mailbox: MailboxId,
        uids: &[Uid],
    ) -> StoreResult<Vec<MessageInfo>> {
        delegate!(self, message_infos(account, mailbox, uids))
    }
    async fn message_summaries(
        &self,
        account: &Account,
        mailbox: MailboxId,
        uids: &[Uid],
    ) -> StoreResult<Vec<(Uid, u64, DateTime)>> {
        delegate!(self, message_summaries(account, mailbox, uids))
    }
    async fn search_fields(
        &self,
        account: &Account,
        mailbox: MailboxId,
        uids: &[Uid],
        names: &[String],
    ) -> StoreResult<Vec<(Uid, Arc<[Field]>)>> {
        delegate!(self, search_fields(account, mailbox, uids, names))
    }
    async fn message_bytes_run(
        &self,
        account: &Account,
        mailbox: MailboxId,
        uids: &[Uid],
        max_bytes: usize,
    ) -> StoreResult<RunBytes> {
        delegate!(self, message_bytes_run(account, mailbox, uids, max_bytes))
    }
    fn watch(&self, account: &Account) -> Watch {
        match self {
            AnyStore::IndexedDb(s) => s.watch(account),
            AnyStore::Memory(s) => s.watch(account),
        }
    }
}
