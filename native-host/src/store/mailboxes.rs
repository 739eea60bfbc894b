//! Mailbox operations of the FileStore: LIST, CREATE, DELETE, RENAME (INBOX included),
//! subscriptions, STATUS and SELECT snapshots, with MemoryStore's rules.

use redb::ReadableTable;
use tidings_engine::command::MailboxName;
use tidings_engine::store::{
    is_below, parent_names, validate_mailbox_name, MailboxId, MailboxInfo, MailboxStatus, Snapshot,
    StoreError, StoreResult,
};
use tidings_engine::types::{Flag, SpecialUse};

use super::messages::drop_blob_ref;
use super::schema::{
    all_messages, check_account, load_mailbox, mailbox_by_name, mailbox_id, names_of, MailboxRec,
    OrBackend, Tables, NEXT_MAILBOX_ID, NEXT_UIDVALIDITY,
};
use super::Inner;
use tidings_engine::store::normal_name as normal;

/// Creates mailbox `name` for `user` with a fresh id and UIDVALIDITY (both from store-wide
/// counters, never reused). The caller has checked that the name is free.
pub(crate) fn new_mailbox(
    t: &mut Tables,
    user: &str,
    name: &MailboxName,
    special_use: Option<SpecialUse>,
) -> StoreResult<MailboxId> {
    let id = t.counter(NEXT_MAILBOX_ID)?.max(1);
    t.set_counter(NEXT_MAILBOX_ID, id + 1)?;
    let uidvalidity = u32::try_from(t.counter(NEXT_UIDVALIDITY)?.max(1))
        .map_err(|_| StoreError::Backend("UIDVALIDITY space exhausted".into()))?;
    t.set_counter(NEXT_UIDVALIDITY, u64::from(uidvalidity) + 1)?;
    let rec = MailboxRec {
        account: user.to_string(),
        name: name.as_str().to_string(),
        special_use: special_use.map(|s| s.as_str().to_string()),
        uidvalidity,
        uidnext: 1,
        highest_modseq: 1,
        recent_mark: 1,
        keywords: Vec::new(),
    };
    t.put_mailbox(id, &rec)?;
    t.names.insert((user, name.as_str()), id).bk()?;
    Ok(id)
}

/// Removes a mailbox record and everything keyed by its id (messages, modseq index,
/// tombstones). Returns the blobs no longer referenced, to delete after the commit.
pub(crate) fn purge_mailbox(t: &mut Tables, id: MailboxId) -> StoreResult<Vec<u64>> {
    let mut freed = Vec::new();
    for (uid, msg) in all_messages(&t.messages, id)? {
        t.messages.remove((id, uid)).bk()?;
        t.modseqs.remove((id, msg.modseq, uid)).bk()?;
        freed.extend(drop_blob_ref(t, msg.blob)?);
    }
    let mut tombs = Vec::new();
    for item in t.tombstones.range((id, 0u32)..=(id, u32::MAX)).bk()? {
        tombs.push(item.bk()?.0.value());
    }
    for key in tombs {
        t.tombstones.remove(key).bk()?;
    }
    t.mailboxes.remove(id).bk()?;
    Ok(freed)
}

impl Inner {
    pub(crate) fn list_mailboxes(&self, user: &str) -> StoreResult<Vec<MailboxInfo>> {
        self.read(|r| {
            check_account(r.accounts()?, user)?;
            let mut out = Vec::new();
            for name in names_of(r.names()?, user)? {
                let name = MailboxName(name.into());
                let (id, rec) = mailbox_by_name(r.names()?, r.mailboxes()?, user, &name)?;
                let subscribed = r
                    .subscriptions()?
                    .get((user, name.as_str()))
                    .bk()?
                    .is_some();
                out.push(MailboxInfo {
                    id,
                    special_use: rec.special_use(),
                    name,
                    subscribed,
                });
            }
            Ok(out)
        })
    }

    pub(crate) fn create_mailbox(
        &self,
        user: &str,
        name: &MailboxName,
        special_use: Option<SpecialUse>,
    ) -> StoreResult<MailboxId> {
        let name = normal(name);
        validate_mailbox_name(&name)?;
        let user = user.to_owned();
        self.write(move |t| {
            let user = user.as_str();
            check_account(&t.accounts, user)?;
            if mailbox_id(&t.names, user, &name)?.is_some() {
                return Err(StoreError::AlreadyExists);
            }
            for parent in parent_names(&name) {
                if mailbox_id(&t.names, user, &parent)?.is_none() {
                    new_mailbox(t, user, &parent, None)?;
                }
            }
            new_mailbox(t, user, &name, special_use)
        })
    }

    pub(crate) fn delete_mailbox(&self, user: &str, name: &MailboxName) -> StoreResult<()> {
        let name = normal(name);
        if name.is_inbox() {
            return Err(StoreError::Cannot("INBOX cannot be deleted".into()));
        }
        let user = user.to_owned();
        let freed = self.write(move |t| {
            let user = user.as_str();
            check_account(&t.accounts, user)?;
            let id = mailbox_id(&t.names, user, &name)?.ok_or(StoreError::NoSuchMailbox)?;
            let names = names_of(&t.names, user)?;
            if names
                .iter()
                .any(|n| is_below(&MailboxName(n.as_str().into()), &name))
            {
                return Err(StoreError::HasChildren);
            }
            t.names.remove((user, name.as_str())).bk()?;
            // Subscriptions stay: RFC 9051 §6.3.9 forbids removing them unilaterally.
            purge_mailbox(t, id)
        })?;
        self.blobs.remove(&freed);
        Ok(())
    }

    pub(crate) fn rename_mailbox(
        &self,
        user: &str,
        from: &MailboxName,
        to: &MailboxName,
    ) -> StoreResult<()> {
        let (from, to) = (normal(from), normal(to));
        validate_mailbox_name(&to)?;
        let user = user.to_owned();
        self.write(move |t| {
            let user = user.as_str();
            check_account(&t.accounts, user)?;
            let from_id = mailbox_id(&t.names, user, &from)?.ok_or(StoreError::NoSuchMailbox)?;
            if mailbox_id(&t.names, user, &to)?.is_some() {
                return Err(StoreError::AlreadyExists);
            }
            if is_below(&to, &from) && !from.is_inbox() {
                return Err(StoreError::Cannot(
                    "cannot rename a mailbox under itself".into(),
                ));
            }
            let existing: Vec<MailboxName> = names_of(&t.names, user)?
                .into_iter()
                .map(|n| MailboxName(n.into()))
                .collect();
            // (old name, new name) for the mailbox and, unless it is INBOX, its children.
            let mut moves = vec![(from.clone(), to.clone())];
            if !from.is_inbox() {
                for child in existing.iter().filter(|n| is_below(n, &from)) {
                    let suffix = child.as_str().get(from.as_str().len()..).unwrap_or("");
                    let target = MailboxName::new(format!("{}{suffix}", to.as_str()));
                    if existing.contains(&target) {
                        return Err(StoreError::AlreadyExists);
                    }
                    moves.push((child.clone(), target));
                }
            }
            let parents: Vec<MailboxName> = parent_names(&to)
                .into_iter()
                .filter(|p| !existing.contains(p) && *p != from)
                .collect();
            if from.is_inbox() {
                for parent in &parents {
                    new_mailbox(t, user, parent, None)?;
                }
                return rename_inbox(t, user, from_id, &to);
            }
            // Take every moved mailbox out under its old name, then put it back under the new
            // one, so a move onto a name vacated in the same RENAME cannot collide.
            let mut taken = Vec::new();
            for (old, new) in moves {
                if let Some(id) = t
                    .names
                    .remove((user, old.as_str()))
                    .bk()?
                    .map(|v| v.value())
                {
                    taken.push((id, new.clone()));
                }
                if t.subscriptions.remove((user, old.as_str())).bk()?.is_some() {
                    t.subscriptions.insert((user, new.as_str()), ()).bk()?;
                }
            }
            for (id, new) in taken {
                let mut rec = load_mailbox(&t.mailboxes, user, id)?;
                rec.name = new.as_str().to_string();
                t.put_mailbox(id, &rec)?;
                t.names.insert((user, new.as_str()), id).bk()?;
            }
            for parent in &parents {
                if mailbox_id(&t.names, user, parent)?.is_none() {
                    new_mailbox(t, user, parent, None)?;
                }
            }
            Ok(())
        })
    }

    pub(crate) fn set_subscribed(
        &self,
        user: &str,
        name: &MailboxName,
        subscribed: bool,
    ) -> StoreResult<bool> {
        let name = normal(name);
        validate_mailbox_name(&name)?;
        let user = user.to_owned();
        self.write(move |t| {
            let user = user.as_str();
            check_account(&t.accounts, user)?;
            let key = (user, name.as_str());
            let was = if subscribed {
                t.subscriptions.insert(key, ()).bk()?.is_some()
            } else {
                t.subscriptions.remove(key).bk()?.is_some()
            };
            Ok(was != subscribed)
        })
    }

    pub(crate) fn subscriptions(&self, user: &str) -> StoreResult<Vec<MailboxName>> {
        self.read(|r| {
            check_account(r.accounts()?, user)?;
            Ok(names_of(r.subscriptions()?, user)?
                .into_iter()
                .map(|n| MailboxName(n.into()))
                .collect())
        })
    }

    pub(crate) fn status(&self, user: &str, name: &MailboxName) -> StoreResult<MailboxStatus> {
        let name = normal(name);
        self.read(|r| {
            check_account(r.accounts()?, user)?;
            let (id, rec) = mailbox_by_name(r.names()?, r.mailboxes()?, user, &name)?;
            let msgs = all_messages(r.messages()?, id)?;
            let count = |f: &dyn Fn(&super::schema::MessageRec) -> bool| {
                u32::try_from(msgs.iter().filter(|(_, m)| f(m)).count()).unwrap_or(u32::MAX)
            };
            Ok(MailboxStatus {
                messages: count(&|_| true),
                recent: u32::try_from(msgs.iter().filter(|(u, _)| *u >= rec.recent_mark).count())
                    .unwrap_or(u32::MAX),
                uidnext: rec.uidnext,
                uidvalidity: rec.uidvalidity,
                unseen: count(&|m| !m.has(&Flag::Seen)),
                deleted: count(&|m| m.has(&Flag::Deleted)),
                size: msgs.iter().map(|(_, m)| m.size).sum(),
                highest_modseq: rec.highest_modseq,
            })
        })
    }

    pub(crate) fn snapshot(&self, user: &str, name: &MailboxName) -> StoreResult<Snapshot> {
        let name = normal(name);
        self.read(|r| {
            check_account(r.accounts()?, user)?;
            let (id, rec) = mailbox_by_name(r.names()?, r.mailboxes()?, user, &name)?;
            let messages = all_messages(r.messages()?, id)?
                .into_iter()
                .map(|(uid, m)| m.meta(uid))
                .collect();
            Ok(Snapshot {
                id,
                name: name.clone(),
                uidvalidity: rec.uidvalidity,
                uidnext: rec.uidnext,
                highest_modseq: rec.highest_modseq,
                recent_mark: rec.recent_mark,
                keywords: rec.keywords,
                messages,
            })
        })
    }
}

/// RFC 9051 §6.3.6: INBOX's messages move (same UIDs) to a new mailbox `to`; INBOX stays,
/// empty, with tombstones for what left so sessions see the expunges.
fn rename_inbox(
    t: &mut Tables,
    user: &str,
    inbox_id: MailboxId,
    to: &MailboxName,
) -> StoreResult<()> {
    let fresh_id = new_mailbox(t, user, to, None)?;
    let mut inbox = load_mailbox(&t.mailboxes, user, inbox_id)?;
    let mut fresh = load_mailbox(&t.mailboxes, user, fresh_id)?;
    fresh.keywords = inbox.keywords.clone();
    fresh.uidnext = inbox.uidnext;
    fresh.recent_mark = inbox.recent_mark;
    let msgs = all_messages(&t.messages, inbox_id)?;
    if !msgs.is_empty() {
        let expunged_at = inbox.bump();
        for (uid, mut msg) in msgs {
            t.messages.remove((inbox_id, uid)).bk()?;
            t.modseqs.remove((inbox_id, msg.modseq, uid)).bk()?;
            t.tombstones.insert((inbox_id, uid), expunged_at).bk()?;
            msg.modseq = fresh.highest_modseq;
            t.put_message(fresh_id, uid, &msg)?;
            t.modseqs.insert((fresh_id, msg.modseq, uid), ()).bk()?;
        }
    }
    t.put_mailbox(inbox_id, &inbox)?;
    t.put_mailbox(fresh_id, &fresh)?;
    Ok(())
}
