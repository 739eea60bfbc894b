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
use crate::search::{searchable_fields, Field};
use crate::types::{DateTime, Flag, SpecialUse, Uid, DELIMITER};

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

impl NewMessage {
    /// Prepares raw bytes for storage the one way every entry point (APPEND, LMTP, import)
    /// must: bare LF becomes CRLF (as Dovecot stores it), then the structure is parsed once.
    pub fn from_raw(raw: &[u8], flags: Vec<Flag>, internal_date: DateTime) -> NewMessage {
        let raw: Arc<[u8]> = Arc::from(crate::mime::normalize_line_endings(raw).into_owned());
        let parsed = Arc::new(ParsedMessage::parse(&raw));
        NewMessage {
            raw,
            parsed,
            flags,
            internal_date,
        }
    }
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

/// What [`Store::message_bytes_run`] returns: UIDs in order, each with its bytes, or `None`
/// for a message that does not exist.
pub type RunBytes = Vec<(Uid, Option<Arc<[u8]>>)>;

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
    /// Creates a mailbox and any missing superior names (RFC 9051 §6.3.4). The name must
    /// pass [`validate_mailbox_name`] (`InvalidName`); an existing name is `AlreadyExists`.
    async fn create_mailbox(
        &self,
        account: &Account,
        name: &MailboxName,
        special_use: Option<SpecialUse>,
    ) -> StoreResult<MailboxId>;
    /// Deletes a mailbox and its messages. INBOX cannot be deleted; a mailbox with children
    /// gives `HasChildren`.
    async fn delete_mailbox(&self, account: &Account, name: &MailboxName) -> StoreResult<()>;
    /// Renames a mailbox and its children, which keep their ids and UIDVALIDITY; missing
    /// superiors of the new name are created. Renaming INBOX moves its messages into a new
    /// mailbox with the new name and leaves INBOX empty, its children where they are
    /// (RFC 9051 §6.3.6). An existing target is `AlreadyExists`; a target below the source
    /// (other than INBOX's) is `Cannot`.
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
    /// Returns the claimed UIDs that still exist, ascending. Persistent backends persist the
    /// mark. No message changes, so no modseq bump is required.
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
    /// whose modseq is greater are left alone and listed (only) in the second vector.
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

    /// Size, INTERNALDATE and parsed structure of one message (`NoSuchMailbox` if the UID
    /// does not exist).
    async fn message_info(
        &self,
        account: &Account,
        mailbox: MailboxId,
        uid: Uid,
    ) -> StoreResult<MessageInfo>;
    /// Size and INTERNALDATE of one message: what `RFC822.SIZE`, `INTERNALDATE` and SEARCH by
    /// size or date need. Backends that store the parse apart override this to skip decoding
    /// it; the default asks [`Store::message_info`].
    async fn message_summary(
        &self,
        account: &Account,
        mailbox: MailboxId,
        uid: Uid,
    ) -> StoreResult<(u64, DateTime)> {
        self.message_info(account, mailbox, uid)
            .await
            .map(|i| (i.size, i.internal_date))
    }

    /// [`Store::message_info`] of each of `uids` (ascending) that still exists, in UID order:
    /// what a FETCH of structure or sections needs for a run of messages. The default asks
    /// once per message; backends override it to answer from one transaction.
    async fn message_infos(
        &self,
        account: &Account,
        mailbox: MailboxId,
        uids: &[Uid],
    ) -> StoreResult<Vec<MessageInfo>> {
        let mut out = Vec::with_capacity(uids.len());
        for &uid in uids {
            match self.message_info(account, mailbox, uid).await {
                Ok(info) => out.push(info),
                Err(StoreError::NoSuchMailbox) => {} // expunged meanwhile
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// [`Store::message_summary`] of each of `uids` (ascending) that still exists, as
    /// `(uid, size, INTERNALDATE)` in UID order: what one FETCH or SEARCH over many messages
    /// needs. The default asks once per message; backends override it to answer in one pass.
    async fn message_summaries(
        &self,
        account: &Account,
        mailbox: MailboxId,
        uids: &[Uid],
    ) -> StoreResult<Vec<(Uid, u64, DateTime)>> {
        let mut out = Vec::with_capacity(uids.len());
        for &uid in uids {
            match self.message_summary(account, mailbox, uid).await {
                Ok((size, date)) => out.push((uid, size, date)),
                Err(StoreError::NoSuchMailbox) => {} // expunged meanwhile
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// For each of `uids` (ascending) that still exists, in UID order: its top-level header
    /// fields named in `names` (lower case, from [`crate::search::header_field_names`]),
    /// decoded and folded as [`crate::search::searchable_fields`] gives them. A backend may
    /// return more fields than asked (a cached superset); never fewer. The default reads each
    /// message's bytes; backends override it to answer from a cache.
    async fn search_fields(
        &self,
        account: &Account,
        mailbox: MailboxId,
        uids: &[Uid],
        names: &[String],
    ) -> StoreResult<Vec<(Uid, Arc<[Field]>)>> {
        let mut out = Vec::with_capacity(uids.len());
        for &uid in uids {
            match self.message_bytes(account, mailbox, uid).await {
                Ok(raw) => out.push((uid, searchable_fields(&raw, names).into())),
                Err(StoreError::NoSuchMailbox) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// The raw bytes of a run of `uids` (ascending), in order, for a prefix of them: at
    /// least the first, then more while their total stays within `max_bytes` (a store may
    /// return fewer). `None` for a message that does not exist. FETCH of bodies and SEARCH
    /// of text walk a mailbox with it; the default asks [`Store::message_bytes`] once per
    /// message, backends override it to read a run in one go.
    async fn message_bytes_run(
        &self,
        account: &Account,
        mailbox: MailboxId,
        uids: &[Uid],
        max_bytes: usize,
    ) -> StoreResult<RunBytes> {
        let mut out = Vec::new();
        let mut total = 0;
        for &uid in uids {
            if !out.is_empty() && total >= max_bytes {
                break;
            }
            match self.message_bytes(account, mailbox, uid).await {
                Ok(b) => {
                    total += b.len();
                    out.push((uid, Some(b)));
                }
                Err(StoreError::NoSuchMailbox) => out.push((uid, None)),
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// The raw bytes of one message (`NoSuchMailbox` if the UID does not exist).
    async fn message_bytes(
        &self,
        account: &Account,
        mailbox: MailboxId,
        uid: Uid,
    ) -> StoreResult<Arc<[u8]>>;

    /// A handle that wakes when anything in the account changes. Mutations wake it before
    /// they return, so a session that just changed something sees its own wake-up too.
    fn watch(&self, account: &Account) -> Watch;
}

// ---------------------------------------------------------------------------------------------
// Helpers every backend shares, so the rules are written once.

/// The mailboxes every new account starts with, and their special-use attributes (RFC 6154).
/// Backends create exactly these, subscribed (clients such as Thunderbird only show
/// subscribed folders by default), when a user is added.
pub const DEFAULT_MAILBOXES: [(&str, Option<SpecialUse>); 6] = [
    ("INBOX", None),
    ("Drafts", Some(SpecialUse::Drafts)),
    ("Sent", Some(SpecialUse::Sent)),
    ("Trash", Some(SpecialUse::Trash)),
    ("Junk", Some(SpecialUse::Junk)),
    ("Archive", Some(SpecialUse::Archive)),
];

/// Checks a (decoded, normalised) mailbox name against the rules every backend enforces:
/// not empty, no leading or trailing `/`, no empty level (`//`), no control characters and
/// no LIST wildcards `%` `*`. A CREATE with a trailing delimiter must be stripped by the
/// session before it reaches the store.
pub fn validate_mailbox_name(name: &MailboxName) -> StoreResult<()> {
    let s = name.as_str();
    let bad = |why: &str| Err(StoreError::InvalidName(format!("{s:?}: {why}")));
    if s.is_empty() {
        return bad("empty name");
    }
    if s.starts_with(DELIMITER) || s.ends_with(DELIMITER) {
        return bad("leading or trailing hierarchy delimiter");
    }
    if s.split(DELIMITER).any(str::is_empty) {
        return bad("empty hierarchy level");
    }
    if s.chars().any(|c| c.is_control()) {
        return bad("control character");
    }
    if s.contains(['%', '*']) {
        return bad("wildcard character");
    }
    Ok(())
}

/// The superior names of `name`, outermost first: `a/b/c` gives `a`, `a/b`.
pub fn parent_names(name: &MailboxName) -> Vec<MailboxName> {
    let s = name.as_str();
    s.match_indices(DELIMITER)
        .filter_map(|(i, _)| s.get(..i).map(MailboxName::new))
        .collect()
}

/// Is `name` strictly below `parent` in the hierarchy (`a/b` is below `a`, `ab` is not)?
pub fn is_below(name: &MailboxName, parent: &MailboxName) -> bool {
    name.as_str()
        .strip_prefix(parent.as_str())
        .is_some_and(|rest| rest.starts_with(DELIMITER))
}

/// Puts flags in their stored form: `\Recent` and unknown `\Extension` flags dropped (a
/// server must not generate flag-extensions, RFC 9051 §9, so it cannot keep them; the session
/// should refuse them first), duplicates removed (keywords compare ASCII case-insensitively
/// and keep the mailbox's first spelling), system flags first in the order
/// `\Answered \Flagged \Deleted \Seen \Draft`, then keywords in the mailbox's first-use
/// order. New keywords are appended to `keywords`, the mailbox's list of keywords in use.
pub fn canonical_flags(flags: &[Flag], keywords: &mut Vec<String>) -> Vec<Flag> {
    let mut system = [false; 5];
    let mut used: Vec<usize> = Vec::new();
    for flag in flags {
        let slot = match flag {
            Flag::Answered => 0,
            Flag::Flagged => 1,
            Flag::Deleted => 2,
            Flag::Seen => 3,
            Flag::Draft => 4,
            Flag::Recent | Flag::Extension(_) => continue,
            Flag::Keyword(k) => {
                if k.is_empty() {
                    continue;
                }
                let idx = match keywords.iter().position(|x| x.eq_ignore_ascii_case(k)) {
                    Some(i) => i,
                    None => {
                        keywords.push(k.clone());
                        keywords.len() - 1
                    }
                };
                if !used.contains(&idx) {
                    used.push(idx);
                }
                continue;
            }
        };
        if let Some(s) = system.get_mut(slot) {
            *s = true;
        }
    }
    used.sort_unstable();
    let sys = [
        Flag::Answered,
        Flag::Flagged,
        Flag::Deleted,
        Flag::Seen,
        Flag::Draft,
    ];
    let mut out: Vec<Flag> = sys
        .into_iter()
        .zip(system)
        .filter_map(|(f, on)| on.then_some(f))
        .collect();
    out.extend(
        used.into_iter()
            .filter_map(|i| keywords.get(i).map(|k| Flag::Keyword(k.clone()))),
    );
    out
}

/// Does `a` name the same flag as `b` (keywords compared ASCII case-insensitively)?
pub fn same_flag(a: &Flag, b: &Flag) -> bool {
    match (a, b) {
        (Flag::Keyword(x), Flag::Keyword(y)) | (Flag::Extension(x), Flag::Extension(y)) => {
            x.eq_ignore_ascii_case(y)
        }
        _ => a == b,
    }
}

/// A message's flags after STORE `op` with `flags`, in stored form (see [`canonical_flags`];
/// new keywords are added to `keywords`). `None` when nothing changes.
pub fn apply_flag_op(
    current: &[Flag],
    op: StoreOp,
    flags: &[Flag],
    keywords: &mut Vec<String>,
) -> Option<Vec<Flag>> {
    let wanted: Vec<Flag> = match op {
        StoreOp::Replace => flags.to_vec(),
        StoreOp::Add => current.iter().chain(flags).cloned().collect(),
        StoreOp::Remove => current
            .iter()
            .filter(|f| !flags.iter().any(|g| same_flag(f, g)))
            .cloned()
            .collect(),
    };
    let new = canonical_flags(&wanted, keywords);
    (new != current).then_some(new)
}

/// Checks a login password against the stored one (`None`: no such user) in time that does
/// not reveal whether the user exists.
pub fn password_matches(stored: Option<&[u8]>, given: &[u8]) -> bool {
    match stored {
        Some(stored) => constant_time_eq(stored, given),
        None => {
            let _ = constant_time_eq(b"no such user: constant-time filler", given);
            false
        }
    }
}

/// `MailboxName::new` again: callers should pass normalised names, but a hand-built
/// `MailboxName("inbox".into())` must still mean INBOX.
pub fn normal_name(name: &MailboxName) -> MailboxName {
    MailboxName::new(name.as_str())
}

/// UIDs ascending without duplicates.
pub fn sorted_uids(uids: &[Uid]) -> Vec<Uid> {
    let set: std::collections::BTreeSet<Uid> = uids.iter().copied().collect();
    set.into_iter().collect()
}

/// Compares two secrets in time that depends only on their lengths.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let n = a.len().max(b.len());
    let mut diff = u8::from(a.len() != b.len());
    for i in 0..n {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0);
        diff |= x ^ y;
    }
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_are_deduplicated_and_ordered() {
        let mut kw = vec!["$Later".to_string()];
        let got = canonical_flags(
            &[
                Flag::Keyword("Project".into()),
                Flag::Seen,
                Flag::Recent,
                Flag::Keyword("$later".into()),
                Flag::Answered,
                Flag::Seen,
                Flag::Keyword("project".into()),
                Flag::Extension("\\Unknown".into()),
            ],
            &mut kw,
        );
        assert_eq!(
            got,
            vec![
                Flag::Answered,
                Flag::Seen,
                Flag::Keyword("$Later".into()),
                Flag::Keyword("Project".into()),
            ]
        );
        assert_eq!(kw, vec!["$Later".to_string(), "Project".to_string()]);
    }

    #[test]
    fn names_are_checked_and_split() {
        for bad in ["", "/a", "a/", "a//b", "a\u{7}b", "a%", "*"] {
            assert!(
                validate_mailbox_name(&MailboxName::new(bad)).is_err(),
                "{bad:?}"
            );
        }
        assert!(validate_mailbox_name(&MailboxName::new("Ünïcode/ok b")).is_ok());
        assert_eq!(
            parent_names(&MailboxName::new("a/b/c")),
            vec![MailboxName::new("a"), MailboxName::new("a/b")]
        );
        assert!(is_below(&MailboxName::new("a/b"), &MailboxName::new("a")));
        assert!(!is_below(&MailboxName::new("ab"), &MailboxName::new("a")));
        assert!(!is_below(&MailboxName::new("a"), &MailboxName::new("a")));
    }
}
