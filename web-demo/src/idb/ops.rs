//! The `Store` methods of `IndexedDbStore`: MemoryStore's rules, one transaction per call.
//! Each method opens a transaction, works through `Tables`, and commits only on success.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use tidings_engine::command::{MailboxName, StoreOp};
use tidings_engine::search::{searchable_fields, Field};
use tidings_engine::store::{
    canonical_flags, is_below, parent_names, validate_mailbox_name, Account, Appended, Changes,
    Copied, MailboxId, MailboxInfo, MailboxStatus, MessageInfo, MessageMeta, NewMessage, RunBytes,
    Snapshot, Store, StoreError, StoreResult, Watch, DEFAULT_MAILBOXES,
};
use tidings_engine::types::{DateTime, Flag, SpecialUse, Uid};

use super::{runs, IndexedDbStore, Tables};
use crate::batch;
use crate::records::{decode, AccountRec, MailboxRec, MessageHead, MessageRec, TombstoneRec};
use tidings_engine::store::{
    apply_flag_op, normal_name as normal, password_matches, sorted_uids as sorted,
};

/// Counter names.
pub(crate) const UIDVALIDITY: &str = "uidvalidity";
pub(crate) const MAILBOX_ID: &str = "mailbox_id";

const UID_SPACE: &str = "UID space of this mailbox is exhausted";

fn find<'m>(mbs: &'m [MailboxRec], name: &MailboxName) -> Option<&'m MailboxRec> {
    mbs.iter().find(|m| m.name == name.as_str())
}

/// A new, empty mailbox row with a fresh id and UIDVALIDITY (not yet written).
async fn new_mailbox(
    t: &Tables<'_>,
    account: &str,
    name: &MailboxName,
    special_use: Option<SpecialUse>,
) -> StoreResult<MailboxRec> {
    let uidvalidity = t.take_counter(UIDVALIDITY).await?;
    let uidvalidity = u32::try_from(uidvalidity)
        .map_err(|_| StoreError::Backend("UIDVALIDITY space exhausted".into()))?;
    let id = t.take_counter(MAILBOX_ID).await?;
    Ok(MailboxRec {
        id,
        account: account.to_string(),
        name: name.as_str().to_string(),
        special_use: special_use.map(|s| s.as_str().to_string()),
        uidvalidity,
        uidnext: 1,
        highest_modseq: 1,
        recent_mark: 1,
        keywords: Vec::new(),
    })
}

pub(crate) async fn add_user(t: &Tables<'_>, name: &str, password: &[u8]) -> StoreResult<()> {
    if t.account(name).await?.is_some() {
        return Err(StoreError::AlreadyExists);
    }
    t.put_account(
        name,
        &AccountRec {
            password: password.to_vec(),
        },
    )
    .await?;
    for (mbox, special_use) in DEFAULT_MAILBOXES {
        let rec = new_mailbox(t, name, &MailboxName::new(mbox), special_use).await?;
        t.put_mailbox(&rec).await?;
        t.subscribe(name, mbox).await?;
    }
    Ok(())
}

/// Writes started and not awaited yet. IndexedDB runs a transaction's requests in the order
/// they were made, so writes awaited together (or by the commit) share one round trip.
type Writes<'a> = Vec<Pin<Box<dyn Future<Output = StoreResult<()>> + 'a>>>;

/// Waits for started writes; the first failure is the answer.
async fn finish(writes: Writes<'_>) -> StoreResult<()> {
    for w in writes {
        w.await?;
    }
    Ok(())
}

/// Starts writing `msgs` (with their bytes) into `dest` under new UIDs with one new modseq,
/// as MemoryStore's `insert_all`; returns (old, new) UID pairs and the writes to await. The
/// caller writes `dest`.
fn insert_all<'a>(
    t: &'a Tables<'_>,
    dest: &mut MailboxRec,
    msgs: Vec<(MessageRec, Arc<[u8]>)>,
) -> StoreResult<(Vec<(Uid, Uid)>, Writes<'a>)> {
    let mut writes: Writes<'a> = Vec::new();
    if msgs.is_empty() {
        return Ok((Vec::new(), writes));
    }
    if msgs.len() as u64 > u64::from(u32::MAX - dest.uidnext) {
        return Err(StoreError::Cannot(UID_SPACE.into()));
    }
    let modseq = dest.bump();
    let mut mapping = Vec::with_capacity(msgs.len());
    for (mut msg, raw) in msgs {
        let old = msg.head.uid;
        let uid = dest.uidnext;
        dest.uidnext = uid
            .checked_add(1)
            .ok_or_else(|| StoreError::Cannot(UID_SPACE.into()))?;
        let flags = canonical_flags(&msg.head.flag_values(), &mut dest.keywords);
        msg.head.set_flags(&flags);
        msg.head.uid = uid;
        msg.head.modseq = modseq;
        writes.push(Box::pin(t.put_message(dest.id, &msg)));
        writes.push(Box::pin(t.put_blob(dest.id, uid, &raw)));
        mapping.push((old, uid));
    }
    Ok((mapping, writes))
}

/// Starts writing `message` into `m` under its next UID with a new modseq (as `insert_all`
/// for one message, without waiting for the writes); `m` becomes the row as written.
fn write_append(t: &Tables<'_>, m: &mut MailboxRec, message: &NewMessage) -> StoreResult<Appended> {
    let uid = m.uidnext;
    m.uidnext = uid
        .checked_add(1)
        .ok_or_else(|| StoreError::Cannot(UID_SPACE.into()))?;
    let mut rec = MessageRec::new(message);
    let flags = canonical_flags(&rec.head.flag_values(), &mut m.keywords);
    rec.head.set_flags(&flags);
    rec.head.uid = uid;
    rec.head.modseq = m.bump();
    t.put_message_unwatched(m.id, &rec, &message.raw)?;
    t.put_mailbox_unwatched(m)?;
    Ok(Appended {
        mailbox: m.id,
        uidvalidity: m.uidvalidity,
        uid,
    })
}

/// Removes exactly these UIDs with one new modseq, leaving tombstones; returns the removed
/// ones, ascending. The caller writes `mb`.
async fn remove_all(t: &Tables<'_>, mb: &mut MailboxRec, uids: &[Uid]) -> StoreResult<Vec<Uid>> {
    let mut present = Vec::new();
    for uid in sorted(uids) {
        if t.message(mb.id, uid).await?.is_some() {
            present.push(uid);
        }
    }
    if present.is_empty() {
        return Ok(present);
    }
    let modseq = mb.bump();
    for &uid in &present {
        t.delete_message(mb.id, uid).await?;
        t.put_tombstone(mb.id, TombstoneRec { uid, modseq }).await?;
    }
    Ok(present)
}

/// Copies of the existing messages among `uids` (ascending), with their bytes.
async fn take_copies(
    t: &Tables<'_>,
    mailbox: MailboxId,
    uids: &[Uid],
) -> StoreResult<Vec<(MessageRec, Arc<[u8]>)>> {
    let mut out = Vec::new();
    for uid in sorted(uids) {
        let (msg, raw) = (t.message(mailbox, uid), t.blob(mailbox, uid));
        if let Some(msg) = msg.await? {
            let raw = raw
                .await?
                .ok_or_else(|| StoreError::Backend(format!("bytes of UID {uid} missing")))?;
            out.push((msg, raw));
        }
    }
    Ok(out)
}

/// RENAME INBOX (RFC 9051 §6.3.6): its messages move to a new mailbox `fresh`; INBOX stays,
/// empty, with tombstones for what left.
async fn move_inbox(
    t: &Tables<'_>,
    inbox: &mut MailboxRec,
    fresh: &mut MailboxRec,
) -> StoreResult<()> {
    let msgs = t.messages(inbox.id).await?;
    fresh.keywords = inbox.keywords.clone();
    fresh.uidnext = inbox.uidnext;
    fresh.recent_mark = inbox.recent_mark;
    if msgs.is_empty() {
        return Ok(());
    }
    let modseq = inbox.bump();
    for mut msg in msgs {
        let uid = msg.head.uid;
        let raw = t
            .blob(inbox.id, uid)
            .await?
            .ok_or_else(|| StoreError::Backend(format!("bytes of UID {uid} missing")))?;
        msg.head.modseq = fresh.highest_modseq;
        t.put_message(fresh.id, &msg).await?;
        t.put_blob(fresh.id, uid, &raw).await?;
        t.delete_message(inbox.id, uid).await?;
        t.put_tombstone(inbox.id, TombstoneRec { uid, modseq })
            .await?;
    }
    Ok(())
}

impl Store for IndexedDbStore {
    async fn authenticate(&self, username: &str, password: &[u8]) -> StoreResult<Option<Account>> {
        let tx = self.begin(false)?;
        let t = Tables::new(&tx)?;
        let acct = t.account(username).await?;
        let stored = acct.as_ref().map(|a| a.password.as_slice());
        Ok(password_matches(stored, password).then(|| Account {
            name: username.to_string(),
        }))
    }

    async fn list_mailboxes(&self, account: &Account) -> StoreResult<Vec<MailboxInfo>> {
        let tx = self.begin(false)?;
        let t = Tables::new(&tx)?;
        let mbs = t.mailboxes_of(account).await?;
        let subs = t.subscriptions_of(&account.name).await?;
        Ok(mbs
            .iter()
            .map(|m| MailboxInfo {
                id: m.id,
                name: m.mailbox_name(),
                special_use: m.special_use(),
                subscribed: subs.contains(&m.name),
            })
            .collect())
    }

    async fn create_mailbox(
        &self,
        account: &Account,
        name: &MailboxName,
        special_use: Option<SpecialUse>,
    ) -> StoreResult<MailboxId> {
        let name = normal(name);
        validate_mailbox_name(&name)?;
        let tx = self.begin(true)?;
        let id = {
            let t = Tables::new(&tx)?;
            let mbs = t.mailboxes_of(account).await?;
            if find(&mbs, &name).is_some() {
                return Err(StoreError::AlreadyExists);
            }
            for parent in parent_names(&name) {
                if find(&mbs, &parent).is_none() {
                    let rec = new_mailbox(&t, &account.name, &parent, None).await?;
                    t.put_mailbox(&rec).await?;
                }
            }
            let rec = new_mailbox(&t, &account.name, &name, special_use).await?;
            t.put_mailbox(&rec).await?;
            rec.id
        };
        self.commit(tx, Some(account)).await?;
        Ok(id)
    }

    async fn delete_mailbox(&self, account: &Account, name: &MailboxName) -> StoreResult<()> {
        let name = normal(name);
        if name.is_inbox() {
            return Err(StoreError::Cannot("INBOX cannot be deleted".into()));
        }
        let tx = self.begin(true)?;
        {
            let t = Tables::new(&tx)?;
            let mbs = t.mailboxes_of(account).await?;
            let mb = find(&mbs, &name).ok_or(StoreError::NoSuchMailbox)?;
            if mbs.iter().any(|m| is_below(&m.mailbox_name(), &name)) {
                return Err(StoreError::HasChildren);
            }
            // Subscriptions stay: RFC 9051 §6.3.9 forbids removing them unilaterally.
            t.delete_mailbox(mb.id).await?;
        }
        self.commit_removing(tx, Some(account)).await
    }

    async fn rename_mailbox(
        &self,
        account: &Account,
        from: &MailboxName,
        to: &MailboxName,
    ) -> StoreResult<()> {
        let (from, to) = (normal(from), normal(to));
        validate_mailbox_name(&to)?;
        let tx = self.begin(true)?;
        {
            let t = Tables::new(&tx)?;
            let mbs = t.mailboxes_of(account).await?;
            let source = find(&mbs, &from).ok_or(StoreError::NoSuchMailbox)?;
            if find(&mbs, &to).is_some() {
                return Err(StoreError::AlreadyExists);
            }
            if is_below(&to, &from) && !from.is_inbox() {
                return Err(StoreError::Cannot(
                    "cannot rename a mailbox under itself".into(),
                ));
            }
            let mut moves = vec![(source.clone(), to.clone())];
            if !from.is_inbox() {
                for child in mbs.iter().filter(|m| is_below(&m.mailbox_name(), &from)) {
                    let suffix = child.name.get(from.as_str().len()..).unwrap_or("");
                    let target = MailboxName::new(format!("{}{suffix}", to.as_str()));
                    if find(&mbs, &target).is_some() {
                        return Err(StoreError::AlreadyExists);
                    }
                    moves.push((child.clone(), target));
                }
            }
            for parent in parent_names(&to) {
                if find(&mbs, &parent).is_none() && parent != from {
                    let rec = new_mailbox(&t, &account.name, &parent, None).await?;
                    t.put_mailbox(&rec).await?;
                }
            }
            if from.is_inbox() {
                let mut inbox = source.clone();
                let mut fresh = new_mailbox(&t, &account.name, &to, None).await?;
                move_inbox(&t, &mut inbox, &mut fresh).await?;
                t.put_mailbox(&inbox).await?;
                t.put_mailbox(&fresh).await?;
            } else {
                for (mut rec, new) in moves {
                    let old = rec.name.clone();
                    rec.name = new.as_str().to_string();
                    t.put_mailbox(&rec).await?;
                    if t.is_subscribed(&account.name, &old).await? {
                        t.unsubscribe(&account.name, &old).await?;
                        t.subscribe(&account.name, new.as_str()).await?;
                    }
                }
            }
        }
        self.commit_removing(tx, Some(account)).await
    }

    async fn set_subscribed(
        &self,
        account: &Account,
        name: &MailboxName,
        subscribed: bool,
    ) -> StoreResult<()> {
        let name = normal(name);
        validate_mailbox_name(&name)?;
        let tx = self.begin(true)?;
        let changed = {
            let t = Tables::new(&tx)?;
            t.check_account(account).await?;
            let now = t.is_subscribed(&account.name, name.as_str()).await?;
            match (now, subscribed) {
                (false, true) => t.subscribe(&account.name, name.as_str()).await?,
                (true, false) => t.unsubscribe(&account.name, name.as_str()).await?,
                _ => {}
            }
            now != subscribed
        };
        self.commit(tx, changed.then_some(account)).await
    }

    async fn subscriptions(&self, account: &Account) -> StoreResult<Vec<MailboxName>> {
        let tx = self.begin(false)?;
        let t = Tables::new(&tx)?;
        t.check_account(account).await?;
        let names = t.subscriptions_of(&account.name).await?;
        Ok(names.into_iter().map(|n| MailboxName(n.into())).collect())
    }

    async fn status(&self, account: &Account, name: &MailboxName) -> StoreResult<MailboxStatus> {
        let tx = self.begin(false)?;
        let t = Tables::new(&tx)?;
        let mbs = t.mailboxes_of(account).await?;
        let m = find(&mbs, &normal(name)).ok_or(StoreError::NoSuchMailbox)?;
        let msgs = t.heads(m.id).await?;
        let count = |f: &dyn Fn(&MessageHead) -> bool| {
            u32::try_from(msgs.iter().filter(|x| f(x)).count()).unwrap_or(u32::MAX)
        };
        Ok(MailboxStatus {
            messages: count(&|_| true),
            recent: count(&|x| x.uid >= m.recent_mark),
            uidnext: m.uidnext,
            uidvalidity: m.uidvalidity,
            unseen: count(&|x| !x.has(&Flag::Seen)),
            deleted: count(&|x| x.has(&Flag::Deleted)),
            size: msgs.iter().map(|x| x.size).sum(),
            highest_modseq: m.highest_modseq,
        })
    }

    async fn snapshot(&self, account: &Account, name: &MailboxName) -> StoreResult<Snapshot> {
        let tx = self.begin(false)?;
        let t = Tables::new(&tx)?;
        let name = normal(name);
        let mbs = t.mailboxes_of(account).await?;
        let m = find(&mbs, &name).ok_or(StoreError::NoSuchMailbox)?;
        let msgs = t.heads(m.id).await?;
        Ok(Snapshot {
            id: m.id,
            name,
            uidvalidity: m.uidvalidity,
            uidnext: m.uidnext,
            highest_modseq: m.highest_modseq,
            recent_mark: m.recent_mark,
            keywords: m.keywords.clone(),
            messages: msgs.iter().map(MessageHead::meta).collect(),
        })
    }

    async fn changes_since(
        &self,
        account: &Account,
        mailbox: MailboxId,
        modseq: u64,
    ) -> StoreResult<Changes> {
        let tx = self.begin(false)?;
        let t = Tables::new(&tx)?;
        let m = t.mailbox(account, mailbox).await?;
        if m.highest_modseq <= modseq {
            // Every change (flags, a new message, an expunge) bumps the mailbox's modseq, so
            // nothing has one above `modseq`: no need to read every head and tombstone, as
            // each command's closing sync would (~10 ms for 1,000 messages).
            return Ok(Changes {
                highest_modseq: m.highest_modseq,
                uidnext: m.uidnext,
                changed: Vec::new(),
                expunged: Vec::new(),
                keywords: m.keywords,
            });
        }
        let mut expunged: Vec<Uid> = t
            .tombstones(mailbox)
            .await?
            .into_iter()
            .filter(|x| x.modseq > modseq)
            .map(|x| x.uid)
            .collect();
        expunged.sort_unstable();
        expunged.dedup();
        let changed: Vec<MessageMeta> = t
            .heads(mailbox)
            .await?
            .iter()
            .filter(|x| x.modseq > modseq)
            .map(MessageHead::meta)
            .collect();
        Ok(Changes {
            highest_modseq: m.highest_modseq,
            uidnext: m.uidnext,
            changed,
            expunged,
            keywords: m.keywords,
        })
    }

    /// Advances the recent mark to UIDNEXT; neither bumps the modseq nor wakes watchers.
    async fn claim_recent(&self, account: &Account, mailbox: MailboxId) -> StoreResult<Vec<Uid>> {
        let tx = self.begin(true)?;
        let claimed = {
            let t = Tables::new(&tx)?;
            let mut m = t.mailbox(account, mailbox).await?;
            let claimed: Vec<Uid> = t
                .heads(mailbox)
                .await?
                .iter()
                .map(|x| x.uid)
                .filter(|u| *u >= m.recent_mark)
                .collect();
            m.recent_mark = m.uidnext;
            t.put_mailbox(&m).await?;
            claimed
        };
        self.commit(tx, None).await?;
        Ok(claimed)
    }

    /// One readwrite transaction and two waits on IndexedDB. Usually the mailbox row is
    /// the one this store wrote at the last APPEND to it: the writes then go out with the
    /// read of that row, and the commit once the row proved unchanged (else the transaction
    /// is dropped, undoing the writes, and the APPEND starts over from the row it read).
    /// Otherwise the row is read first, then the writes and the commit go out together.
    /// Either way only reads and the commit are awaited (a write that fails aborts the
    /// transaction, and the commit reports it): the message is stored before the answer.
    async fn append(
        &self,
        account: &Account,
        mailbox: &MailboxName,
        message: NewMessage,
    ) -> StoreResult<Appended> {
        let name = normal(mailbox);
        let last = self.last_append.borrow().clone();
        if let Some(last) = last.filter(|m| m.account == account.name && m.name == name.as_str()) {
            let tx = self.begin(true)?;
            let (appended, after, current) = {
                let t = Tables::new(&tx)?;
                let current = t.mailbox_row(last.id);
                let mut m = last.clone();
                let appended = write_append(&t, &mut m, &message)?;
                (appended, m, current.await?)
            };
            if current.as_ref() == Some(&last) {
                self.commit(tx, Some(account)).await?;
                *self.last_append.borrow_mut() = Some(after);
                return Ok(appended);
            }
            // Changed meanwhile (another session, another tab): undo, and read it.
            drop(tx);
        }
        *self.last_append.borrow_mut() = None;
        let tx = self.begin(true)?;
        let (appended, after) = {
            let t = Tables::new(&tx)?;
            let mut m = self.mailbox_named(&t, account, &name).await?;
            let appended = write_append(&t, &mut m, &message)?;
            (appended, m)
        };
        self.commit(tx, Some(account)).await?;
        *self.last_append.borrow_mut() = Some(after);
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
        let tx = self.begin(true)?;
        let (result, changed) = {
            let t = Tables::new(&tx)?;
            let mut m = t.mailbox(account, mailbox).await?;
            let mut failed = Vec::new();
            let mut updates = Vec::new();
            for uid in sorted(uids) {
                let Some(msg) = t.message(mailbox, uid).await? else {
                    continue;
                };
                if unchanged_since.is_some_and(|since| msg.head.modseq > since) {
                    failed.push(uid);
                    continue;
                }
                let new = apply_flag_op(&msg.head.flag_values(), op, flags, &mut m.keywords);
                updates.push((msg, new));
            }
            let changed = updates.iter().any(|(_, new)| new.is_some());
            let modseq = if changed { m.bump() } else { m.highest_modseq };
            let mut done = Vec::new();
            for (mut msg, new) in updates {
                if let Some(flags) = new {
                    msg.head.set_flags(&flags);
                    msg.head.modseq = modseq;
                    t.put_message(mailbox, &msg).await?;
                }
                done.push(msg.head.meta());
            }
            t.put_mailbox(&m).await?;
            ((done, failed), changed)
        };
        self.commit(tx, changed.then_some(account)).await?;
        Ok(result)
    }

    async fn expunge(
        &self,
        account: &Account,
        mailbox: MailboxId,
        uids: &[Uid],
    ) -> StoreResult<Vec<Uid>> {
        let tx = self.begin(true)?;
        let removed = {
            let t = Tables::new(&tx)?;
            let mut m = t.mailbox(account, mailbox).await?;
            let removed = remove_all(&t, &mut m, uids).await?;
            t.put_mailbox(&m).await?;
            removed
        };
        self.commit_removing(tx, (!removed.is_empty()).then_some(account))
            .await?;
        Ok(removed)
    }

    async fn copy(
        &self,
        account: &Account,
        mailbox: MailboxId,
        uids: &[Uid],
        dest: &MailboxName,
    ) -> StoreResult<Copied> {
        self.copy_or_move(account, mailbox, uids, dest, false).await
    }

    async fn move_messages(
        &self,
        account: &Account,
        mailbox: MailboxId,
        uids: &[Uid],
        dest: &MailboxName,
    ) -> StoreResult<Copied> {
        self.copy_or_move(account, mailbox, uids, dest, true).await
    }

    async fn message_info(
        &self,
        account: &Account,
        mailbox: MailboxId,
        uid: Uid,
    ) -> StoreResult<MessageInfo> {
        let tx = self.begin(false)?;
        let t = Tables::new(&tx)?;
        let msg = t.message(mailbox, uid);
        t.mailbox(account, mailbox).await?;
        let msg = msg.await?.ok_or(StoreError::NoSuchMailbox)?;
        Ok(batch::info(uid, msg))
    }

    /// One readonly transaction for the whole run (see `batch`); a dense run of UIDs (as
    /// `UID FETCH 1:*` asks for) is one request.
    async fn message_infos(
        &self,
        account: &Account,
        mailbox: MailboxId,
        uids: &[Uid],
    ) -> StoreResult<Vec<MessageInfo>> {
        let tx = self.begin(false)?;
        let t = Tables::new(&tx)?;
        let check = t.mailbox(account, mailbox);
        if let Some((first, last)) = batch::dense_range(uids) {
            let rows = t.message_rows_in(mailbox, first, last);
            check.await?;
            let mut infos = Vec::with_capacity(uids.len());
            for row in rows.await? {
                let uid = MessageHead::decode(&row, "message")?.uid;
                if uids.binary_search(&uid).is_ok() {
                    infos.push(batch::info(uid, decode(&row, "message")?));
                }
            }
            return Ok(infos);
        }
        let rows = batch::read_rows(check, uids, |u| t.message(mailbox, u), batch::info).await?;
        Ok(batch::found(rows))
    }

    /// Heads only, in one readonly transaction: the parses stay undecoded. A dense run of
    /// UIDs (`FETCH 1:* (RFC822.SIZE)`) is one request for the range, not one per message:
    /// a thousand `get`s cost the tab ~13 ms and IndexedDB more before the first byte of the
    /// answer could go out.
    async fn message_summaries(
        &self,
        account: &Account,
        mailbox: MailboxId,
        uids: &[Uid],
    ) -> StoreResult<Vec<(Uid, u64, DateTime)>> {
        let tx = self.begin(false)?;
        let t = Tables::new(&tx)?;
        let check = t.mailbox(account, mailbox);
        if let Some((first, last)) = batch::dense_range(uids) {
            let rows = t.message_rows_in(mailbox, first, last);
            check.await?;
            let mut found = Vec::with_capacity(uids.len());
            for row in rows.await? {
                let head = MessageHead::decode(&row, "message")?;
                if uids.binary_search(&head.uid).is_ok() {
                    let (size, date) = batch::summary(&head);
                    found.push((head.uid, size, date));
                }
            }
            return Ok(found);
        }
        let head = |u| t.message_head(mailbox, u);
        let rows = batch::read_rows(check, uids, head, |u, h| {
            let (size, date) = batch::summary(&h);
            (u, size, date)
        })
        .await?;
        Ok(batch::found(rows))
    }

    /// One readonly transaction; each message's fields are parsed as its bytes arrive, so a
    /// SEARCH chunk of thousands of messages never holds all their bytes.
    async fn search_fields(
        &self,
        account: &Account,
        mailbox: MailboxId,
        uids: &[Uid],
        names: &[String],
    ) -> StoreResult<Vec<(Uid, Arc<[Field]>)>> {
        let tx = self.begin(false)?;
        let t = Tables::new(&tx)?;
        let check = t.mailbox(account, mailbox);
        let rows = batch::read_rows(
            check,
            uids,
            |u| t.blob(mailbox, u),
            |u, raw| (u, Arc::<[Field]>::from(searchable_fields(&raw, names))),
        )
        .await?;
        Ok(batch::found(rows))
    }

    /// See `runs`: one readonly transaction per run, and the next run of a long walk read
    /// ahead.
    async fn message_bytes_run(
        &self,
        account: &Account,
        mailbox: MailboxId,
        uids: &[Uid],
        max_bytes: usize,
    ) -> StoreResult<RunBytes> {
        let run = match self
            .read_ahead
            .take(account, mailbox, uids, max_bytes)
            .await
        {
            Some(run) => run,
            None => runs::read(&self.db, account, mailbox, uids, max_bytes).await?,
        };
        if let Some(next) = batch::next_uids(uids, run.len()) {
            self.read_ahead
                .start(&self.db, account, mailbox, next, max_bytes);
        }
        Ok(run)
    }

    async fn message_bytes(
        &self,
        account: &Account,
        mailbox: MailboxId,
        uid: Uid,
    ) -> StoreResult<Arc<[u8]>> {
        let tx = self.begin(false)?;
        let t = Tables::new(&tx)?;
        let raw = t.blob(mailbox, uid);
        t.mailbox(account, mailbox).await?;
        let raw = raw.await?.ok_or(StoreError::NoSuchMailbox)?;
        Ok(raw)
    }

    /// Size and date from the head of the message row, without decoding its parse.
    async fn message_summary(
        &self,
        account: &Account,
        mailbox: MailboxId,
        uid: Uid,
    ) -> StoreResult<(u64, DateTime)> {
        let tx = self.begin(false)?;
        let t = Tables::new(&tx)?;
        let head = t.message_head(mailbox, uid);
        t.mailbox(account, mailbox).await?;
        let head = head.await?.ok_or(StoreError::NoSuchMailbox)?;
        Ok(batch::summary(&head))
    }

    fn watch(&self, account: &Account) -> Watch {
        self.notifier().watch(&account.name)
    }
}

impl IndexedDbStore {
    /// The account's mailbox `name` (normalized). First the row of the id this name had last
    /// time (one `get`); it counts only if it still has this account and name, since names
    /// are unique per account. Otherwise every mailbox of the account is read (which also
    /// checks the account exists; a hint is only ever stored after that check, and accounts
    /// are never removed).
    async fn mailbox_named(
        &self,
        t: &Tables<'_>,
        account: &Account,
        name: &MailboxName,
    ) -> StoreResult<MailboxRec> {
        let key = (account.name.clone(), name.as_str().to_string());
        let hint = self.mailbox_ids.borrow().get(&key).copied();
        if let Some(id) = hint {
            if let Some(rec) = t.mailbox_row(id).await? {
                if rec.account == account.name && rec.name == name.as_str() {
                    return Ok(rec);
                }
            }
        }
        let mbs = t.mailboxes_of(account).await?;
        let rec = find(&mbs, name).ok_or(StoreError::NoSuchMailbox)?.clone();
        self.mailbox_ids.borrow_mut().insert(key, rec.id);
        Ok(rec)
    }

    /// COPY, or MOVE when `expunge_source`: both in one transaction.
    async fn copy_or_move(
        &self,
        account: &Account,
        mailbox: MailboxId,
        uids: &[Uid],
        dest: &MailboxName,
        expunge_source: bool,
    ) -> StoreResult<Copied> {
        let tx = self.begin(true)?;
        let copied = {
            let t = Tables::new(&tx)?;
            let src = t.mailbox(account, mailbox).await?;
            let msgs = take_copies(&t, mailbox, uids).await?;
            let mbs = t.mailboxes_of(account).await?;
            let mut target = find(&mbs, &normal(dest))
                .ok_or(StoreError::NoSuchMailbox)?
                .clone();
            let (mapping, writes) = insert_all(&t, &mut target, msgs)?;
            finish(writes).await?;
            if expunge_source {
                let moved: Vec<Uid> = mapping.iter().map(|p| p.0).collect();
                if target.id == src.id {
                    remove_all(&t, &mut target, &moved).await?;
                } else {
                    let mut src = src;
                    remove_all(&t, &mut src, &moved).await?;
                    t.put_mailbox(&src).await?;
                }
            }
            t.put_mailbox(&target).await?;
            Copied {
                uidvalidity: target.uidvalidity,
                mapping,
            }
        };
        self.commit_removing(tx, (!copied.mapping.is_empty()).then_some(account))
            .await?;
        Ok(copied)
    }
}

impl tidings_engine::store::conformance::TestBackend for IndexedDbStore {
    async fn add_test_user(&self, name: &str, password: &str) -> StoreResult<()> {
        self.add_user(name, password).await
    }
}
