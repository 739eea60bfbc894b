//! The `Store` trait: the only door between the session and mail data, plus the plain types
//! that cross it. Backends: `MemoryStore` here, FileStore (native host), IndexedDbStore (web).

pub mod conformance;
pub mod memory;
pub mod notify;

use std::sync::Arc;

pub use memory::MemoryStore;
pub use notify::{Notifier, Watch};

use crate::command::{MailboxName, StoreOp};
use crate::mime::ParsedMessage;
use crate::types::{DateTime, Flag, SpecialUse, Uid};

/// Identifies a mailbox for as long as it exists. Never reused: a mailbox deleted and created
/// again under the same name gets a new id (and a new UIDVALIDITY).
pub type MailboxId = u64;

/// An authenticated user. Every store call is scoped to one account: a session can never
/// name another account's mailboxes, whatever the mailbox name says.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Account {
    /// The login name, as stored (the key of the account).
    pub name: String,
}

/// Why a store call failed. Each maps to one tagged `NO` response code in the session.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The mailbox (or message) does not exist: `NO [NONEXISTENT]`.
    #[error("no such mailbox")]
    NoSuchMailbox,
    /// `NO [ALREADYEXISTS]`.
    #[error("mailbox already exists")]
    AlreadyExists,
    /// DELETE of a mailbox that still has children: `NO`.
    #[error("mailbox has children; delete them first")]
    HasChildren,
    /// A name the store refuses (empty, bad hierarchy, reserved): `NO [CANNOT]`.
    #[error("invalid mailbox name: {0}")]
    InvalidName(String),
    /// An operation the store does not allow (e.g. DELETE INBOX): `NO [CANNOT]`.
    #[error("{0}")]
    Cannot(String),
    /// A message over the size limit: `NO [TOOBIG]`.
    #[error("message too large")]
    TooBig,
    /// A backend failure (I/O, corruption): `NO [SERVERBUG]`; the session stays usable.
    #[error("storage failure: {0}")]
    Backend(String),
}

/// Result alias for store calls.
pub type StoreResult<T> = Result<T, StoreError>;

/// A mailbox as LIST shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailboxInfo {
    pub id: MailboxId,
    pub name: MailboxName,
    pub special_use: Option<SpecialUse>,
    pub subscribed: bool,
}

/// A message's mutable state: its UID, stored flags (never `\Recent`) and last-change modseq.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageMeta {
    pub uid: Uid,
    pub flags: Vec<Flag>,
    pub modseq: u64,
}

/// What SELECT/EXAMINE needs: the mailbox's identity and every message's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub id: MailboxId,
    pub name: MailboxName,
    pub uidvalidity: u32,
    pub uidnext: Uid,
    pub highest_modseq: u64,
    /// UID of the first message no session has claimed as \Recent yet (see `claim_recent`).
    pub recent_mark: Uid,
    /// Keywords in use in the mailbox (for the FLAGS response), in first-use order.
    pub keywords: Vec<String>,
    /// Messages in UID order.
    pub messages: Vec<MessageMeta>,
}

/// What changed in a mailbox since a modseq.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Changes {
    pub highest_modseq: u64,
    pub uidnext: Uid,
    /// New messages and messages whose flags changed, in UID order, with current state.
    pub changed: Vec<MessageMeta>,
    /// UIDs expunged since that modseq, in UID order (may include UIDs the caller never saw).
    pub expunged: Vec<Uid>,
    /// Keywords in use now.
    pub keywords: Vec<String>,
}

/// STATUS numbers for a mailbox.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MailboxStatus {
    pub messages: u32,
    pub recent: u32,
    pub uidnext: Uid,
    pub uidvalidity: u32,
    pub unseen: u32,
    pub deleted: u32,
    /// Sum of RFC822.SIZE.
    pub size: u64,
    pub highest_modseq: u64,
}

/// A message to store: raw bytes (CRLF line ends), parsed once, flags and INTERNALDATE.
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub raw: Arc<[u8]>,
    pub parsed: Arc<ParsedMessage>,
    pub flags: Vec<Flag>,
    pub internal_date: DateTime,
}

/// Where an APPEND went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    pub mailbox: MailboxId,
    pub uidvalidity: u32,
    pub uid: Uid,
}

/// Result of COPY/MOVE: the destination's UIDVALIDITY and (source UID, new UID) pairs, in
/// source UID order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copied {
    pub uidvalidity: u32,
    pub mapping: Vec<(Uid, Uid)>,
}

/// Everything FETCH may need about one message except its bytes.
#[derive(Debug, Clone)]
pub struct MessageInfo {
    pub uid: Uid,
    pub size: u64,
    pub internal_date: DateTime,
    pub parsed: Arc<ParsedMessage>,
}

/// The storage interface. All methods are `async` without a `Send` bound so IndexedDB can
/// implement it on wasm32; native backends get `Send` futures by being `Send` themselves.
///
/// Every mutation is atomic and bumps the mailbox's modseq; every mutation that another
/// session could observe calls the account's [`Notifier`] so watchers wake up.
#[allow(async_fn_in_trait)]
pub trait Store {
    /// Checks a password. `Ok(None)` for an unknown user or a wrong password.
    async fn authenticate(&self, username: &str, password: &[u8]) -> StoreResult<Option<Account>>;

    /// All mailboxes of the account, INBOX included, sorted by name.
    async fn list_mailboxes(&self, account: &Account) -> StoreResult<Vec<MailboxInfo>>;
    async fn create_mailbox(
        &self,
        account: &Account,
        name: &MailboxName,
        special_use: Option<SpecialUse>,
    ) -> StoreResult<MailboxId>;
    /// Deletes a mailbox and its messages. INBOX cannot be deleted; a mailbox with children
    /// gives `HasChildren`.
    async fn delete_mailbox(&self, account: &Account, name: &MailboxName) -> StoreResult<()>;
    /// Renames a mailbox and its children. Renaming INBOX moves its messages into a new
    /// mailbox with the new name and leaves INBOX empty (RFC 9051 §6.3.6).
    async fn rename_mailbox(
        &self,
        account: &Account,
        from: &MailboxName,
        to: &MailboxName,
    ) -> StoreResult<()>;
    /// Subscribes or unsubscribes a name (the mailbox need not exist).
    async fn set_subscribed(
        &self,
        account: &Account,
        name: &MailboxName,
        subscribed: bool,
    ) -> StoreResult<()>;
    /// Subscribed names, sorted.
    async fn subscriptions(&self, account: &Account) -> StoreResult<Vec<MailboxName>>;

    async fn status(&self, account: &Account, name: &MailboxName) -> StoreResult<MailboxStatus>;
    /// Opens a mailbox: its identity and every message's state.
    async fn snapshot(&self, account: &Account, name: &MailboxName) -> StoreResult<Snapshot>;
    /// Changes in `mailbox` after `modseq`.
    async fn changes_since(
        &self,
        account: &Account,
        mailbox: MailboxId,
        modseq: u64,
    ) -> StoreResult<Changes>;
    /// Claims every message from the recent mark up to (excluding) `uidnext` as \Recent for
    /// the caller and advances the mark: a message is \Recent for exactly one session.
    /// Returns the claimed UIDs that still exist, ascending.
    async fn claim_recent(&self, account: &Account, mailbox: MailboxId) -> StoreResult<Vec<Uid>>;

    async fn append(
        &self,
        account: &Account,
        mailbox: &MailboxName,
        message: NewMessage,
    ) -> StoreResult<Appended>;
    /// Changes flags of the given UIDs (missing UIDs are skipped). Returns the state after
    /// the change of every targeted message that exists, in UID order; only messages whose
    /// flags really changed get a new modseq. With `unchanged_since` (CONDSTORE), messages
    /// whose modseq is greater are left alone and listed in the second vector.
    async fn store_flags(
        &self,
        account: &Account,
        mailbox: MailboxId,
        uids: &[Uid],
        op: StoreOp,
        flags: &[Flag],
        unchanged_since: Option<u64>,
    ) -> StoreResult<(Vec<MessageMeta>, Vec<Uid>)>;
    /// Expunges exactly these UIDs (missing ones skipped); returns those removed, ascending.
    async fn expunge(
        &self,
        account: &Account,
        mailbox: MailboxId,
        uids: &[Uid],
    ) -> StoreResult<Vec<Uid>>;
    /// Copies messages (bytes, flags, INTERNALDATE) to another mailbox of the same account.
    async fn copy(
        &self,
        account: &Account,
        mailbox: MailboxId,
        uids: &[Uid],
        dest: &MailboxName,
    ) -> StoreResult<Copied>;
    /// Moves messages atomically: copied to `dest` and expunged from the source in one step.
    async fn move_messages(
        &self,
        account: &Account,
        mailbox: MailboxId,
        uids: &[Uid],
        dest: &MailboxName,
    ) -> StoreResult<Copied>;

    /// Size, INTERNALDATE and parsed structure of one message.
    async fn message_info(
        &self,
        account: &Account,
        mailbox: MailboxId,
        uid: Uid,
    ) -> StoreResult<MessageInfo>;
    /// The raw bytes of one message.
    async fn message_bytes(
        &self,
        account: &Account,
        mailbox: MailboxId,
        uid: Uid,
    ) -> StoreResult<Arc<[u8]>>;

    /// A handle that wakes when anything in the account changes.
    fn watch(&self, account: &Account) -> Watch;
}
