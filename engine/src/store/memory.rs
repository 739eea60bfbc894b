//! `MemoryStore`: every account, mailbox and message in memory behind one mutex. The
//! reference backend: what the conformance suite expects, written as plainly as possible.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use super::{apply_flag_op, normal_name as normal, password_matches, sorted_uids as sorted};
use super::{
    canonical_flags, is_below, parent_names, validate_mailbox_name, Account, Appended, Changes,
    Copied, MailboxId, MailboxInfo, MailboxStatus, MessageInfo, MessageMeta, NewMessage, Notifier,
    Snapshot, Store, StoreError, StoreResult, Watch, DEFAULT_MAILBOXES,
};
use crate::command::{MailboxName, StoreOp};
use crate::mime::ParsedMessage;
use crate::types::{DateTime, Flag, SpecialUse, Uid};

/// An in-memory [`Store`]. `Send + Sync`; one `std::sync::Mutex` makes every call atomic.
/// Nothing survives the process: use it for tests, the web demo's first run and examples.
///
/// Choices the trait leaves open: RENAME carries the subscriptions of the renamed names
/// along (as Dovecot does); DELETE keeps them (RFC 9051 §6.3.9); `claim_recent` neither bumps
/// the modseq nor wakes watchers; a forged [`Account`] naming no user gets `Cannot`.
///
/// ```
/// use tidings_engine::store::MemoryStore;
/// let store = MemoryStore::new();
/// store.add_user("alice", "secret").unwrap();
/// ```
pub struct MemoryStore {
    state: Mutex<State>,
    notifier: Notifier,
    max_message_size: Option<usize>,
}

struct State {
    next_uidvalidity: u32,
    next_mailbox_id: MailboxId,
    accounts: HashMap<String, AccountData>,
}

struct AccountData {
    password: Vec<u8>,
    /// Keyed by name, so iteration is LIST order.
    mailboxes: BTreeMap<MailboxName, Mailbox>,
    subscriptions: BTreeSet<MailboxName>,
}

struct Mailbox {
    id: MailboxId,
    special_use: Option<SpecialUse>,
    uidvalidity: u32,
    uidnext: Uid,
    highest_modseq: u64,
    recent_mark: Uid,
    keywords: Vec<String>,
    messages: BTreeMap<Uid, Message>,
    /// Expunged UIDs with the modseq of their expunge, in expunge order.
    tombstones: Vec<(Uid, u64)>,
}

#[derive(Clone)]
struct Message {
    flags: Vec<Flag>,
    modseq: u64,
    raw: Arc<[u8]>,
    parsed: Arc<ParsedMessage>,
    internal_date: DateTime,
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let st = self.lock();
        f.debug_struct("MemoryStore")
            .field("accounts", &st.accounts.len())
            .field("next_uidvalidity", &st.next_uidvalidity)
            .field("max_message_size", &self.max_message_size)
            .finish_non_exhaustive()
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        MemoryStore::new()
    }
}

impl MemoryStore {
    /// An empty store whose first mailbox gets UIDVALIDITY 1.
    pub fn new() -> MemoryStore {
        MemoryStore::with_uidvalidity_base(1)
    }

    /// An empty store whose first mailbox gets UIDVALIDITY `base` (0 counts as 1); each
    /// later mailbox gets the next value. A host can seed it from the clock so that values
    /// differ from an earlier run's.
    pub fn with_uidvalidity_base(base: u32) -> MemoryStore {
        MemoryStore {
            state: Mutex::new(State {
                next_uidvalidity: base.max(1),
                next_mailbox_id: 1,
                accounts: HashMap::new(),
            }),
            notifier: Notifier::new(),
            max_message_size: None,
        }
    }

    /// Refuses APPEND (and delivery) of messages longer than `bytes` with
    /// [`StoreError::TooBig`]. No limit by default.
    pub fn with_max_message_size(mut self, bytes: usize) -> MemoryStore {
        self.max_message_size = Some(bytes);
        self
    }

    /// Adds an account with INBOX and the special-use mailboxes of [`DEFAULT_MAILBOXES`],
    /// all subscribed. Fails with `AlreadyExists` if the name is taken.
    pub fn add_user(&self, name: &str, password: impl AsRef<[u8]>) -> StoreResult<()> {
        let mut st = self.lock();
        if st.accounts.contains_key(name) {
            return Err(StoreError::AlreadyExists);
        }
        let mut acct = AccountData {
            password: password.as_ref().to_vec(),
            mailboxes: BTreeMap::new(),
            subscriptions: BTreeSet::new(),
        };
        for (mbox, special_use) in DEFAULT_MAILBOXES {
            let mailbox = st.new_mailbox(special_use)?;
            acct.mailboxes.insert(MailboxName::new(mbox), mailbox);
            acct.subscriptions.insert(MailboxName::new(mbox));
        }
        st.accounts.insert(name.to_string(), acct);
        Ok(())
    }

    /// The notifier this store wakes; hosts that deliver mail around the store (none today)
    /// can use it to wake sessions.
    pub fn notifier(&self) -> &Notifier {
        &self.notifier
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` on the account's data under the lock; notifies the account's watchers after
    /// the lock is released if `f` succeeded and reported a change.
    fn mutate<T>(
        &self,
        account: &Account,
        f: impl FnOnce(&mut State, &str) -> StoreResult<(T, bool)>,
    ) -> StoreResult<T> {
        let (value, changed) = {
            let mut st = self.lock();
            f(&mut st, &account.name)?
        };
        if changed {
            self.notifier.notify(&account.name);
        }
        Ok(value)
    }

    fn read<T>(
        &self,
        account: &Account,
        f: impl FnOnce(&AccountData) -> StoreResult<T>,
    ) -> StoreResult<T> {
        let st = self.lock();
        f(st.account(&account.name)?)
    }
}

impl State {
    fn account(&self, name: &str) -> StoreResult<&AccountData> {
        self.accounts
            .get(name)
            .ok_or_else(|| StoreError::Cannot("no such account".into()))
    }

    fn account_mut(&mut self, name: &str) -> StoreResult<&mut AccountData> {
        self.accounts
            .get_mut(name)
            .ok_or_else(|| StoreError::Cannot("no such account".into()))
    }

    fn new_mailbox(&mut self, special_use: Option<SpecialUse>) -> StoreResult<Mailbox> {
        let uidvalidity = self.next_uidvalidity;
        self.next_uidvalidity = uidvalidity
            .checked_add(1)
            .ok_or_else(|| StoreError::Backend("UIDVALIDITY space exhausted".into()))?;
        let id = self.next_mailbox_id;
        self.next_mailbox_id += 1;
        Ok(Mailbox {
            id,
            special_use,
            uidvalidity,
            uidnext: 1,
            highest_modseq: 1,
            recent_mark: 1,
            keywords: Vec::new(),
            messages: BTreeMap::new(),
            tombstones: Vec::new(),
        })
    }
}

impl AccountData {
    fn by_id(&self, id: MailboxId) -> StoreResult<&Mailbox> {
        self.mailboxes
            .values()
            .find(|m| m.id == id)
            .ok_or(StoreError::NoSuchMailbox)
    }

    fn by_id_mut(&mut self, id: MailboxId) -> StoreResult<&mut Mailbox> {
        self.mailboxes
            .values_mut()
            .find(|m| m.id == id)
            .ok_or(StoreError::NoSuchMailbox)
    }

    fn by_name(&self, name: &MailboxName) -> StoreResult<&Mailbox> {
        self.mailboxes
            .get(&normal(name))
            .ok_or(StoreError::NoSuchMailbox)
    }

    fn by_name_mut(&mut self, name: &MailboxName) -> StoreResult<&mut Mailbox> {
        self.mailboxes
            .get_mut(&normal(name))
            .ok_or(StoreError::NoSuchMailbox)
    }

    /// Takes copies of the existing messages among `uids` (ascending, deduplicated).
    fn take_copies(&self, id: MailboxId, uids: &[Uid]) -> StoreResult<Vec<(Uid, Message)>> {
        let src = self.by_id(id)?;
        Ok(sorted(uids)
            .into_iter()
            .filter_map(|uid| src.messages.get(&uid).map(|m| (uid, m.clone())))
            .collect())
    }
}

impl Mailbox {
    fn bump(&mut self) -> u64 {
        self.highest_modseq += 1;
        self.highest_modseq
    }

    fn allocate_uid(&mut self) -> StoreResult<Uid> {
        let uid = self.uidnext;
        self.uidnext = uid
            .checked_add(1)
            .ok_or_else(|| StoreError::Cannot("UID space of this mailbox is exhausted".into()))?;
        Ok(uid)
    }

    /// Adds messages under new UIDs with one new modseq; returns (old, new) UID pairs.
    fn insert_all(&mut self, msgs: Vec<(Uid, Message)>) -> StoreResult<Vec<(Uid, Uid)>> {
        if msgs.is_empty() {
            return Ok(Vec::new());
        }
        if msgs.len() as u64 > u64::from(u32::MAX - self.uidnext) {
            return Err(StoreError::Cannot(
                "UID space of this mailbox is exhausted".into(),
            ));
        }
        let modseq = self.bump();
        let mut mapping = Vec::with_capacity(msgs.len());
        for (old, mut msg) in msgs {
            let uid = self.allocate_uid()?;
            msg.flags = canonical_flags(&msg.flags, &mut self.keywords);
            msg.modseq = modseq;
            self.messages.insert(uid, msg);
            mapping.push((old, uid));
        }
        Ok(mapping)
    }

    /// Removes exactly these UIDs with one new modseq; returns the removed ones, ascending.
    fn remove_all(&mut self, uids: &[Uid]) -> Vec<Uid> {
        let present: Vec<Uid> = sorted(uids)
            .into_iter()
            .filter(|u| self.messages.contains_key(u))
            .collect();
        if present.is_empty() {
            return present;
        }
        let modseq = self.bump();
        for uid in &present {
            self.messages.remove(uid);
            self.tombstones.push((*uid, modseq));
        }
        present
    }

    fn meta(uid: Uid, m: &Message) -> MessageMeta {
        MessageMeta {
            uid,
            flags: m.flags.clone(),
            modseq: m.modseq,
        }
    }

    fn has(m: &Message, flag: &Flag) -> bool {
        m.flags.iter().any(|f| f == flag)
    }
}

impl Store for MemoryStore {
    async fn authenticate(&self, username: &str, password: &[u8]) -> StoreResult<Option<Account>> {
        let st = self.lock();
        let stored = st.accounts.get(username).map(|a| a.password.as_slice());
        Ok(password_matches(stored, password).then(|| Account {
            name: username.to_string(),
        }))
    }

    async fn list_mailboxes(&self, account: &Account) -> StoreResult<Vec<MailboxInfo>> {
        self.read(account, |acct| {
            Ok(acct
                .mailboxes
                .iter()
                .map(|(name, m)| MailboxInfo {
                    id: m.id,
                    name: name.clone(),
                    special_use: m.special_use,
                    subscribed: acct.subscriptions.contains(name),
                })
                .collect())
        })
    }

    async fn create_mailbox(
        &self,
        account: &Account,
        name: &MailboxName,
        special_use: Option<SpecialUse>,
    ) -> StoreResult<MailboxId> {
        let name = normal(name);
        validate_mailbox_name(&name)?;
        self.mutate(account, |st, user| {
            if st.account(user)?.mailboxes.contains_key(&name) {
                return Err(StoreError::AlreadyExists);
            }
            let mut created = Vec::new();
            for parent in parent_names(&name) {
                if !st.account(user)?.mailboxes.contains_key(&parent) {
                    created.push((parent, st.new_mailbox(None)?));
                }
            }
            let mailbox = st.new_mailbox(special_use)?;
            let id = mailbox.id;
            created.push((name, mailbox));
            st.account_mut(user)?.mailboxes.extend(created);
            Ok((id, true))
        })
    }

    async fn delete_mailbox(&self, account: &Account, name: &MailboxName) -> StoreResult<()> {
        let name = normal(name);
        if name.is_inbox() {
            return Err(StoreError::Cannot("INBOX cannot be deleted".into()));
        }
        self.mutate(account, |st, user| {
            let acct = st.account_mut(user)?;
            if !acct.mailboxes.contains_key(&name) {
                return Err(StoreError::NoSuchMailbox);
            }
            if acct.mailboxes.keys().any(|n| is_below(n, &name)) {
                return Err(StoreError::HasChildren);
            }
            acct.mailboxes.remove(&name);
            // Subscriptions stay: RFC 9051 §6.3.9 forbids removing them unilaterally.
            Ok(((), true))
        })
    }

    async fn rename_mailbox(
        &self,
        account: &Account,
        from: &MailboxName,
        to: &MailboxName,
    ) -> StoreResult<()> {
        let (from, to) = (normal(from), normal(to));
        validate_mailbox_name(&to)?;
        self.mutate(account, |st, user| {
            let acct = st.account(user)?;
            if !acct.mailboxes.contains_key(&from) {
                return Err(StoreError::NoSuchMailbox);
            }
            if acct.mailboxes.contains_key(&to) {
                return Err(StoreError::AlreadyExists);
            }
            if is_below(&to, &from) && !from.is_inbox() {
                return Err(StoreError::Cannot(
                    "cannot rename a mailbox under itself".into(),
                ));
            }
            // (old name, new name) for the mailbox and, unless it is INBOX, its children.
            let mut moves = vec![(from.clone(), to.clone())];
            if !from.is_inbox() {
                for child in acct.mailboxes.keys().filter(|n| is_below(n, &from)) {
                    let suffix = child.as_str().get(from.as_str().len()..).unwrap_or("");
                    let target = MailboxName::new(format!("{}{suffix}", to.as_str()));
                    if acct.mailboxes.contains_key(&target) {
                        return Err(StoreError::AlreadyExists);
                    }
                    moves.push((child.clone(), target));
                }
            }
            let mut parents = Vec::new();
            for parent in parent_names(&to) {
                if !acct.mailboxes.contains_key(&parent) && parent != from {
                    parents.push(parent);
                }
            }
            let mut new_parents = Vec::new();
            for parent in parents {
                new_parents.push((parent, st.new_mailbox(None)?));
            }
            if from.is_inbox() {
                // RFC 9051 §6.3.6: INBOX's messages go to a new mailbox; INBOX stays, empty.
                let mut fresh = st.new_mailbox(None)?;
                let acct = st.account_mut(user)?;
                let inbox = acct.by_name_mut(&from)?;
                let uids: Vec<Uid> = inbox.messages.keys().copied().collect();
                fresh.messages = std::mem::take(&mut inbox.messages);
                fresh.keywords = inbox.keywords.clone();
                fresh.uidnext = inbox.uidnext;
                fresh.recent_mark = inbox.recent_mark;
                for m in fresh.messages.values_mut() {
                    m.modseq = fresh.highest_modseq;
                }
                if !uids.is_empty() {
                    let modseq = inbox.bump();
                    inbox
                        .tombstones
                        .extend(uids.into_iter().map(|u| (u, modseq)));
                }
                acct.mailboxes.insert(to, fresh);
                acct.mailboxes.extend(new_parents);
                return Ok(((), true));
            }
            let acct = st.account_mut(user)?;
            let mut taken = Vec::new();
            for (old, new) in moves {
                if let Some(m) = acct.mailboxes.remove(&old) {
                    taken.push((new.clone(), m));
                }
                if acct.subscriptions.remove(&old) {
                    acct.subscriptions.insert(new);
                }
            }
            acct.mailboxes.extend(taken);
            acct.mailboxes.extend(new_parents);
            Ok(((), true))
        })
    }

    async fn set_subscribed(
        &self,
        account: &Account,
        name: &MailboxName,
        subscribed: bool,
    ) -> StoreResult<()> {
        let name = normal(name);
        validate_mailbox_name(&name)?;
        self.mutate(account, |st, user| {
            let subs = &mut st.account_mut(user)?.subscriptions;
            let changed = if subscribed {
                subs.insert(name)
            } else {
                subs.remove(&name)
            };
            Ok(((), changed))
        })
    }

    async fn subscriptions(&self, account: &Account) -> StoreResult<Vec<MailboxName>> {
        self.read(account, |acct| {
            Ok(acct.subscriptions.iter().cloned().collect())
        })
    }

    async fn status(&self, account: &Account, name: &MailboxName) -> StoreResult<MailboxStatus> {
        self.read(account, |acct| {
            let m = acct.by_name(name)?;
            let count = |f: &dyn Fn(&Message) -> bool| {
                u32::try_from(m.messages.values().filter(|x| f(x)).count()).unwrap_or(u32::MAX)
            };
            Ok(MailboxStatus {
                messages: count(&|_| true),
                recent: u32::try_from(m.messages.range(m.recent_mark..).count())
                    .unwrap_or(u32::MAX),
                uidnext: m.uidnext,
                uidvalidity: m.uidvalidity,
                unseen: count(&|x| !Mailbox::has(x, &Flag::Seen)),
                deleted: count(&|x| Mailbox::has(x, &Flag::Deleted)),
                size: m.messages.values().map(|x| x.raw.len() as u64).sum(),
                highest_modseq: m.highest_modseq,
            })
        })
    }

    async fn snapshot(&self, account: &Account, name: &MailboxName) -> StoreResult<Snapshot> {
        self.read(account, |acct| {
            let m = acct.by_name(name)?;
            Ok(Snapshot {
                id: m.id,
                name: normal(name),
                uidvalidity: m.uidvalidity,
                uidnext: m.uidnext,
                highest_modseq: m.highest_modseq,
                recent_mark: m.recent_mark,
                keywords: m.keywords.clone(),
                messages: m
                    .messages
                    .iter()
                    .map(|(u, x)| Mailbox::meta(*u, x))
                    .collect(),
            })
        })
    }

    async fn changes_since(
        &self,
        account: &Account,
        mailbox: MailboxId,
        modseq: u64,
    ) -> StoreResult<Changes> {
        self.read(account, |acct| {
            let m = acct.by_id(mailbox)?;
            let mut expunged: Vec<Uid> = m
                .tombstones
                .iter()
                .filter(|(_, ms)| *ms > modseq)
                .map(|(u, _)| *u)
                .collect();
            expunged.sort_unstable();
            expunged.dedup();
            Ok(Changes {
                highest_modseq: m.highest_modseq,
                uidnext: m.uidnext,
                changed: m
                    .messages
                    .iter()
                    .filter(|(_, x)| x.modseq > modseq)
                    .map(|(u, x)| Mailbox::meta(*u, x))
                    .collect(),
                expunged,
                keywords: m.keywords.clone(),
            })
        })
    }

    /// Advances the recent mark to UIDNEXT. Not a change to any message, so it neither bumps
    /// the modseq nor wakes watchers.
    async fn claim_recent(&self, account: &Account, mailbox: MailboxId) -> StoreResult<Vec<Uid>> {
        self.mutate(account, |st, user| {
            let m = st.account_mut(user)?.by_id_mut(mailbox)?;
            let claimed = m.messages.range(m.recent_mark..).map(|(u, _)| *u).collect();
            m.recent_mark = m.uidnext;
            Ok((claimed, false))
        })
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
        self.mutate(account, |st, user| {
            let m = st.account_mut(user)?.by_name_mut(mailbox)?;
            let msg = Message {
                flags: message.flags,
                modseq: 0,
                raw: message.raw,
                parsed: message.parsed,
                internal_date: message.internal_date,
            };
            let mapping = m.insert_all(vec![(0, msg)])?;
            let uid = mapping.first().map(|p| p.1).unwrap_or_default();
            Ok((
                Appended {
                    mailbox: m.id,
                    uidvalidity: m.uidvalidity,
                    uid,
                },
                true,
            ))
        })
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
        self.mutate(account, |st, user| {
            let m = st.account_mut(user)?.by_id_mut(mailbox)?;
            let mut done = Vec::new();
            let mut failed = Vec::new();
            let mut updates = Vec::new();
            for uid in sorted(uids) {
                let Some(msg) = m.messages.get(&uid) else {
                    continue;
                };
                if unchanged_since.is_some_and(|since| msg.modseq > since) {
                    failed.push(uid);
                    continue;
                }
                updates.push((uid, apply_flag_op(&msg.flags, op, flags, &mut m.keywords)));
            }
            let changed = updates.iter().any(|(_, new)| new.is_some());
            let modseq = if changed { m.bump() } else { m.highest_modseq };
            for (uid, new) in updates {
                if let Some(msg) = m.messages.get_mut(&uid) {
                    if let Some(flags) = new {
                        msg.flags = flags;
                        msg.modseq = modseq;
                    }
                    done.push(Mailbox::meta(uid, msg));
                }
            }
            Ok(((done, failed), changed))
        })
    }

    async fn expunge(
        &self,
        account: &Account,
        mailbox: MailboxId,
        uids: &[Uid],
    ) -> StoreResult<Vec<Uid>> {
        self.mutate(account, |st, user| {
            let removed = st.account_mut(user)?.by_id_mut(mailbox)?.remove_all(uids);
            let changed = !removed.is_empty();
            Ok((removed, changed))
        })
    }

    async fn copy(
        &self,
        account: &Account,
        mailbox: MailboxId,
        uids: &[Uid],
        dest: &MailboxName,
    ) -> StoreResult<Copied> {
        self.mutate(account, |st, user| {
            let acct = st.account_mut(user)?;
            let msgs = acct.take_copies(mailbox, uids)?;
            let target = acct.by_name_mut(dest)?;
            let mapping = target.insert_all(msgs)?;
            let changed = !mapping.is_empty();
            Ok((
                Copied {
                    uidvalidity: target.uidvalidity,
                    mapping,
                },
                changed,
            ))
        })
    }

    async fn move_messages(
        &self,
        account: &Account,
        mailbox: MailboxId,
        uids: &[Uid],
        dest: &MailboxName,
    ) -> StoreResult<Copied> {
        self.mutate(account, |st, user| {
            let acct = st.account_mut(user)?;
            let msgs = acct.take_copies(mailbox, uids)?;
            let target = acct.by_name_mut(dest)?;
            let uidvalidity = target.uidvalidity;
            let mapping = target.insert_all(msgs)?;
            let moved: Vec<Uid> = mapping.iter().map(|p| p.0).collect();
            acct.by_id_mut(mailbox)?.remove_all(&moved);
            let changed = !mapping.is_empty();
            Ok((
                Copied {
                    uidvalidity,
                    mapping,
                },
                changed,
            ))
        })
    }

    async fn message_info(
        &self,
        account: &Account,
        mailbox: MailboxId,
        uid: Uid,
    ) -> StoreResult<MessageInfo> {
        self.read(account, |acct| {
            let msg = acct
                .by_id(mailbox)?
                .messages
                .get(&uid)
                .ok_or(StoreError::NoSuchMailbox)?;
            Ok(MessageInfo {
                uid,
                size: msg.raw.len() as u64,
                internal_date: msg.internal_date,
                parsed: Arc::clone(&msg.parsed),
            })
        })
    }

    async fn message_bytes(
        &self,
        account: &Account,
        mailbox: MailboxId,
        uid: Uid,
    ) -> StoreResult<Arc<[u8]>> {
        self.read(account, |acct| {
            acct.by_id(mailbox)?
                .messages
                .get(&uid)
                .map(|m| Arc::clone(&m.raw))
                .ok_or(StoreError::NoSuchMailbox)
        })
    }

    fn watch(&self, account: &Account) -> Watch {
        self.notifier.watch(&account.name)
    }
}

#[cfg(test)]
mod tests;
