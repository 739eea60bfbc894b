//! Message operations of the FileStore: APPEND, STORE, EXPUNGE, COPY, MOVE, change queries,
//! \Recent claims and the per-message data FETCH and SEARCH read, plus the reference counts that let COPY share blobs.
//!
//! Blob sharing: COPY and MOVE never duplicate bytes; the copy names the same blob and
//! `blob_refs[blob]` counts the messages naming it. When the count drops to zero (EXPUNGE,
//! DELETE, a MOVE's source side is balanced by its destination) the blob's row, parse and
//! search fields are removed in the same transaction and the file is deleted after the commit.

use std::collections::BTreeSet;
use std::sync::Arc;

use redb::ReadableTable;
use tidings_engine::command::{MailboxName, StoreOp};
use tidings_engine::mime::ParsedMessage;
use tidings_engine::search::{searchable_fields, Field};
use tidings_engine::store::{
    apply_flag_op, canonical_flags, Appended, Changes, Copied, MailboxId, MessageInfo, MessageMeta,
    NewMessage, RunBytes, StoreError, StoreResult,
};
use tidings_engine::types::{DateTime, Flag, Uid};

use super::field_rows;
use super::message_cache::{bit_names, field_bits, Lookup};
use super::schema::{
    check_account, decode, encode, flag_strings, load_mailbox, load_message, mailbox_by_name,
    MailboxRec, MessageRec, OrBackend, Reader, Tables,
};
use super::Inner;
use tidings_engine::store::{normal_name as normal, sorted_uids as sorted};

/// What STORE returns: the targeted messages' state and the UIDs refused by UNCHANGEDSINCE.
pub(crate) type FlagsStored = (Vec<MessageMeta>, Vec<Uid>);

/// Adds one reference to `blob`.
fn add_blob_ref(t: &mut Tables, blob: u64) -> StoreResult<()> {
    let n = t.blob_refs.get(blob).bk()?.map_or(0, |v| v.value());
    t.blob_refs.insert(blob, n + 1).bk()?;
    Ok(())
}

/// Drops one reference to `blob`; returns it if that was the last (its file is then garbage).
pub(crate) fn drop_blob_ref(t: &mut Tables, blob: u64) -> StoreResult<Option<u64>> {
    let n = t.blob_refs.get(blob).bk()?.map_or(0, |v| v.value());
    if n > 1 {
        t.blob_refs.insert(blob, n - 1).bk()?;
        return Ok(None);
    }
    t.blob_refs.remove(blob).bk()?;
    t.parsed.remove(blob).bk()?;
    t.fields.remove(blob).bk()?;
    Ok(Some(blob))
}

/// Inserts messages into mailbox `id` under new UIDs with one new modseq, advancing UIDNEXT
/// in the same transaction. `msgs` carry their blob (already referenced by the caller).
/// Returns (given key, new UID) pairs.
fn insert_all(
    t: &mut Tables,
    id: MailboxId,
    rec: &mut MailboxRec,
    msgs: Vec<(Uid, MessageRec)>,
) -> StoreResult<Vec<(Uid, Uid)>> {
    if msgs.is_empty() {
        return Ok(Vec::new());
    }
    if msgs.len() as u64 > u64::from(u32::MAX - rec.uidnext) {
        return Err(StoreError::Cannot(
            "UID space of this mailbox is exhausted".into(),
        ));
    }
    let modseq = rec.bump();
    let mut mapping = Vec::with_capacity(msgs.len());
    for (old, mut msg) in msgs {
        let uid = rec.uidnext;
        rec.uidnext += 1;
        msg.flags = flag_strings(&canonical_flags(&msg.flags(), &mut rec.keywords));
        msg.modseq = modseq;
        t.put_message(id, uid, &msg)?;
        t.modseqs.insert((id, modseq, uid), ()).bk()?;
        mapping.push((old, uid));
    }
    t.put_mailbox(id, rec)?;
    Ok(mapping)
}

/// Expunges exactly these UIDs with one new modseq, leaving tombstones. Returns the removed
/// UIDs (ascending) and the blobs freed.
fn remove_all(
    t: &mut Tables,
    user: &str,
    id: MailboxId,
    uids: &[Uid],
) -> StoreResult<(Vec<Uid>, Vec<u64>)> {
    let mut rec = load_mailbox(&t.mailboxes, user, id)?;
    let mut present = Vec::new();
    for uid in sorted(uids) {
        if let Some(msg) = load_message(&t.messages, id, uid)? {
            present.push((uid, msg));
        }
    }
    if present.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let modseq = rec.bump();
    let mut removed = Vec::with_capacity(present.len());
    let mut freed = Vec::new();
    for (uid, msg) in present {
        t.messages.remove((id, uid)).bk()?;
        t.modseqs.remove((id, msg.modseq, uid)).bk()?;
        t.tombstones.insert((id, uid), modseq).bk()?;
        freed.extend(drop_blob_ref(t, msg.blob)?);
        removed.push(uid);
    }
    t.put_mailbox(id, &rec)?;
    Ok((removed, freed))
}

/// COPY, and MOVE when `expunge_source`: one transaction, blobs shared by reference count.
fn copy_in(
    t: &mut Tables,
    user: &str,
    source: MailboxId,
    uids: &[Uid],
    dest: &MailboxName,
    expunge_source: bool,
) -> StoreResult<(Copied, Vec<u64>)> {
    check_account(&t.accounts, user)?;
    load_mailbox(&t.mailboxes, user, source)?;
    let mut msgs = Vec::new();
    for uid in sorted(uids) {
        if let Some(msg) = load_message(&t.messages, source, uid)? {
            msgs.push((uid, msg));
        }
    }
    let (dest_id, mut dest_rec) = mailbox_by_name(&t.names, &t.mailboxes, user, &normal(dest))?;
    for (_, msg) in &msgs {
        add_blob_ref(t, msg.blob)?;
    }
    let mapping = insert_all(t, dest_id, &mut dest_rec, msgs)?;
    let mut freed = Vec::new();
    if expunge_source {
        let moved: Vec<Uid> = mapping.iter().map(|p| p.0).collect();
        freed = remove_all(t, user, source, &moved)?.1;
    }
    Ok((
        Copied {
            uidvalidity: dest_rec.uidvalidity,
            mapping,
        },
        freed,
    ))
}

impl Inner {
    /// APPEND: the blob is written and synced first; the transaction naming it commits after.
    /// If the transaction fails, the blob is deleted again. The blob's parse and search
    /// fields are stored with it (every delivery path, LMTP, `deliver` and import, ends here).
    /// The file half of an APPEND: writes and syncs the message file and encodes what the
    /// transaction stores beside it. Blocks (file I/O); the transaction is [`append_job`].
    pub(crate) fn append_file(&self, message: &NewMessage) -> StoreResult<AppendFile> {
        let parsed = encode(message.parsed.as_ref())?;
        let fields = field_rows::row_of(&message.raw)?;
        let blob = self
            .blobs
            .write(&message.raw)
            .map_err(|e| StoreError::Backend(format!("writing message file: {e}")))?;
        Ok(AppendFile {
            blob,
            parsed,
            fields,
        })
    }

    /// After an APPEND's transaction failed: its file names nothing, so it goes.
    pub(crate) fn append_failed(&self, file: u64) {
        self.blobs.remove(&[file]);
    }

    pub(crate) fn expunge(
        &self,
        user: &str,
        mailbox: MailboxId,
        uids: &[Uid],
    ) -> StoreResult<Vec<Uid>> {
        let (user, uids) = (user.to_owned(), uids.to_vec());
        let (removed, freed) = self.write(move |t| {
            check_account(&t.accounts, &user)?;
            remove_all(t, &user, mailbox, &uids)
        })?;
        self.cache.forget(mailbox, &removed);
        self.blobs.remove(&freed);
        Ok(removed)
    }

    /// After a COPY or MOVE committed: forgets what the cache knew of moved messages and
    /// deletes the files no message names any more.
    pub(crate) fn copy_done(
        &self,
        mailbox: MailboxId,
        expunge_source: bool,
        (copied, freed): (Copied, Vec<u64>),
    ) -> Copied {
        if expunge_source {
            let moved: Vec<Uid> = copied.mapping.iter().map(|m| m.0).collect();
            self.cache.forget(mailbox, &moved);
        }
        self.blobs.remove(&freed);
        copied
    }

    pub(crate) fn changes_since(
        &self,
        user: &str,
        mailbox: MailboxId,
        modseq: u64,
    ) -> StoreResult<Changes> {
        if let Some(changes) = self.memo.changes(user, mailbox, modseq) {
            return Ok(changes);
        }
        let generation = self.memo.generation();
        let changes = self.read(|r| {
            check_account(r.accounts()?, user)?;
            let rec = load_mailbox(r.mailboxes()?, user, mailbox)?;
            let mut changed_uids = BTreeSet::new();
            if let Some(from) = modseq.checked_add(1) {
                let range = (mailbox, from, 0u32)..=(mailbox, u64::MAX, u32::MAX);
                for item in r.modseqs()?.range(range).bk()? {
                    changed_uids.insert(item.bk()?.0.value().2);
                }
            }
            let mut changed = Vec::with_capacity(changed_uids.len());
            for uid in changed_uids {
                if let Some(msg) = load_message(r.messages()?, mailbox, uid)? {
                    changed.push(msg.meta(uid));
                }
            }
            let mut expunged = Vec::new();
            for item in r
                .tombstones()?
                .range((mailbox, 0u32)..=(mailbox, u32::MAX))
                .bk()?
            {
                let (k, v) = item.bk()?;
                if v.value() > modseq {
                    expunged.push(k.value().1);
                }
            }
            Ok(Changes {
                highest_modseq: rec.highest_modseq,
                uidnext: rec.uidnext,
                changed,
                expunged,
                keywords: rec.keywords,
            })
        })?;
        self.memo
            .keep_changes(generation, user, mailbox, modseq, &changes);
        Ok(changes)
    }

    /// Is anything left to claim as \Recent in `mailbox`? Usually another session has
    /// claimed it already: answered from a read transaction (so N watchers of a new message
    /// don't queue for redb's single writer) and remembered (so they don't each ask redb).
    pub(crate) fn recent_pending(&self, user: &str, mailbox: MailboxId) -> StoreResult<bool> {
        if self.memo.settled(user, mailbox) {
            return Ok(false);
        }
        let generation = self.memo.generation();
        let pending = self.read(|r| {
            check_account(r.accounts()?, user)?;
            let rec = load_mailbox(r.mailboxes()?, user, mailbox)?;
            Ok(rec.recent_mark < rec.uidnext)
        })?;
        if !pending {
            self.memo.keep_settled(generation, user, mailbox);
        }
        Ok(pending)
    }

    /// Advances the recent mark to UIDNEXT; not a change to any message (no modseq bump).
    /// Committed with eventual durability: after a power loss a message may be \Recent
    /// once more, which RFC 9051 allows; a process crash loses nothing.
    pub(crate) fn claim_recent(&self, user: &str, mailbox: MailboxId) -> StoreResult<Vec<Uid>> {
        let user = user.to_owned();
        self.write_with(redb::Durability::Eventual, move |t| {
            let user = user.as_str();
            check_account(&t.accounts, user)?;
            let mut rec = load_mailbox(&t.mailboxes, user, mailbox)?;
            let mut claimed = Vec::new();
            if rec.recent_mark < rec.uidnext {
                let range = (mailbox, rec.recent_mark)..(mailbox, rec.uidnext);
                for item in t.messages.range(range).bk()? {
                    claimed.push(item.bk()?.0.value().1);
                }
                rec.recent_mark = rec.uidnext;
                t.put_mailbox(mailbox, &rec)?;
            }
            Ok(claimed)
        })
    }

    /// Size and date of one message, without decoding its stored parse.
    pub(crate) fn message_summary(
        &self,
        user: &str,
        mailbox: MailboxId,
        uid: Uid,
    ) -> StoreResult<(u64, tidings_engine::types::DateTime)> {
        self.read_message(user, mailbox, uid, |_, msg| Ok((msg.size, msg.date.into())))
    }

    /// Size and date of each of `uids` (ascending) that exists: from the cache, and what it
    /// lacks from one read transaction (which also checks ownership).
    pub(crate) fn message_summaries(
        &self,
        user: &str,
        mailbox: MailboxId,
        uids: &[Uid],
    ) -> StoreResult<Vec<(Uid, u64, DateTime)>> {
        let known = self.cache.summaries(mailbox, uids);
        let missing: Vec<Uid> = uids
            .iter()
            .zip(&known)
            .filter(|(_, k)| k.is_none())
            .map(|(u, _)| *u)
            .collect();
        let mut read = Vec::with_capacity(missing.len());
        self.each_message(user, mailbox, &missing, |uid, msg| {
            read.push((uid, msg.size, msg.date.into()))
        })?;
        self.cache.put_summaries(mailbox, &read);
        let mut out: Vec<(Uid, u64, DateTime)> = uids
            .iter()
            .zip(known)
            .filter_map(|(&uid, k)| k.map(|(size, date)| (uid, size, date)))
            .collect();
        if !read.is_empty() {
            out.extend(read);
            out.sort_unstable_by_key(|e| e.0);
        }
        Ok(out)
    }

    /// Calls `f` for each of `uids` (ascending) that exists, in UID order, from one read
    /// transaction (see [`messages_in`]).
    fn each_message(
        &self,
        user: &str,
        mailbox: MailboxId,
        uids: &[Uid],
        f: impl FnMut(Uid, MessageRec),
    ) -> StoreResult<()> {
        self.read(|r| messages_in(r, user, mailbox, uids, f))
    }

    /// SEARCH's header fields of each of `uids` (ascending) that exists: from the field
    /// cache when it has them, else from the `fields` rows stored at delivery, else from the
    /// start of each message file (stores written before rows existed, names outside the
    /// cached set). What comes from rows or files is then cached, if the cache keeps it.
    pub(crate) fn search_fields(
        &self,
        user: &str,
        mailbox: MailboxId,
        uids: &[Uid],
        names: &[String],
    ) -> StoreResult<Vec<(Uid, Arc<[Field]>)>> {
        let bits = field_bits(names);
        let lookups = match bits {
            Some(bits) => self.cache.fields(mailbox, uids, bits),
            None => uids.iter().map(|_| Lookup::Miss(0)).collect(),
        };
        let mut out = Vec::with_capacity(uids.len());
        let mut missing = Vec::new();
        for (&uid, lookup) in uids.iter().zip(lookups) {
            match lookup {
                Lookup::Hit(fields) => out.push((uid, fields)),
                Lookup::Miss(had) => missing.push((uid, had)),
            }
        }
        // One read checks ownership (even when everything was cached), takes what the rows
        // have and names the files of the rest. Each miss is computed for the fields asked
        // and those its cache entry already had, so the entry keeps covering them.
        let missing_uids: Vec<Uid> = missing.iter().map(|m| m.0).collect();
        let (found, rows) = self.read(|r| {
            let mut had = missing.into_iter();
            let mut found = Vec::with_capacity(missing_uids.len());
            messages_in(r, user, mailbox, &missing_uids, |uid, msg| {
                let before = had.find(|m| m.0 == uid).map_or(0, |m| m.1);
                found.push((uid, bits.map(|bits| bits | before), msg.blob));
            })?;
            let asked: Vec<(u64, u8)> = found
                .iter()
                .filter_map(|&(_, want, blob)| Some((blob, want?)))
                .collect();
            let rows = if asked.is_empty() {
                Vec::new()
            } else {
                field_rows::lookup(r.fields()?, &asked)?
            };
            Ok((found, rows))
        })?;
        let mut rows = rows.into_iter();
        let mut computed = Vec::with_capacity(found.len());
        let mut files = Vec::new();
        for (uid, want, blob) in found {
            let Some(want) = want else {
                files.push((uid, None, blob));
                continue;
            };
            match rows.next().flatten() {
                Some(fields) => computed.push((uid, want, fields)),
                None => files.push((uid, Some(want), blob)),
            }
        }
        for (uid, want, blob) in files {
            let header = match self.blobs.read_header(blob) {
                Ok(h) => h,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue, // expunged
                Err(e) => return Err(StoreError::Backend(format!("reading message file: {e}"))),
            };
            match want {
                Some(want) => {
                    let fields: Arc<[Field]> = searchable_fields(&header, &bit_names(want)).into();
                    computed.push((uid, want, fields));
                }
                None => out.push((uid, searchable_fields(&header, names).into())),
            }
        }
        self.cache.put_fields(mailbox, &computed);
        out.extend(computed.into_iter().map(|(uid, _, f)| (uid, f)));
        out.sort_unstable_by_key(|e| e.0);
        Ok(out)
    }

    /// The bytes of a prefix of `uids` (ascending) within about `max_bytes` (at least one
    /// message), `None` for those that do not exist: one read transaction names the files.
    pub(crate) fn message_bytes_run(
        &self,
        user: &str,
        mailbox: MailboxId,
        uids: &[Uid],
        max_bytes: usize,
    ) -> StoreResult<RunBytes> {
        let mut files = Vec::with_capacity(uids.len());
        self.each_message(user, mailbox, uids, |uid, msg| {
            files.push((uid, msg.blob, msg.size))
        })?;
        let mut files = files.into_iter().peekable();
        let mut out = Vec::new();
        let mut total = 0;
        for &uid in uids {
            if !out.is_empty() && total >= max_bytes {
                break;
            }
            let bytes = match files.next_if(|f| f.0 == uid) {
                Some((_, blob, size)) => match self.blobs.read(blob, size) {
                    Ok(b) => Some(b),
                    // Expunged (and collected) since the lookup.
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                    Err(e) => {
                        return Err(StoreError::Backend(format!("reading message file: {e}")))
                    }
                },
                None => None,
            };
            total += bytes.as_ref().map_or(0, |b| b.len());
            out.push((uid, bytes));
        }
        Ok(out)
    }

    /// [`Inner::message_info`] of each of `uids` (ascending) that exists, from one read
    /// transaction.
    pub(crate) fn message_infos(
        &self,
        user: &str,
        mailbox: MailboxId,
        uids: &[Uid],
    ) -> StoreResult<Vec<MessageInfo>> {
        self.read(|r| {
            check_account(r.accounts()?, user)?;
            load_mailbox(r.mailboxes()?, user, mailbox)?;
            let (messages, parsed) = (r.messages()?, r.parsed()?);
            let mut out = Vec::with_capacity(uids.len());
            for &uid in uids {
                if let Some(msg) = load_message(messages, mailbox, uid)? {
                    out.push(info_of(parsed, uid, &msg)?);
                }
            }
            Ok(out)
        })
    }

    /// Size, date and parse of one message; never touches the blob file.
    pub(crate) fn message_info(
        &self,
        user: &str,
        mailbox: MailboxId,
        uid: Uid,
    ) -> StoreResult<MessageInfo> {
        self.read_message(user, mailbox, uid, |r, msg| info_of(r.parsed()?, uid, &msg))
    }

    /// The blob id and size of one message (checked against the account), for reading its
    /// bytes.
    pub(crate) fn message_blob(
        &self,
        user: &str,
        mailbox: MailboxId,
        uid: Uid,
    ) -> StoreResult<(u64, u64)> {
        self.read_message(user, mailbox, uid, |_, msg| Ok((msg.blob, msg.size)))
    }

    /// Runs `f` on one message of `user`'s `mailbox` in a read transaction;
    /// `NoSuchMailbox` if the message or the mailbox is not there (or not theirs).
    fn read_message<T>(
        &self,
        user: &str,
        mailbox: MailboxId,
        uid: Uid,
        f: impl FnOnce(&Reader, MessageRec) -> StoreResult<T>,
    ) -> StoreResult<T> {
        self.read(|r| {
            check_account(r.accounts()?, user)?;
            load_mailbox(r.mailboxes()?, user, mailbox)?;
            let msg =
                load_message(r.messages()?, mailbox, uid)?.ok_or(StoreError::NoSuchMailbox)?;
            f(r, msg)
        })
    }

    pub(crate) fn message_bytes(
        &self,
        user: &str,
        mailbox: MailboxId,
        uid: Uid,
    ) -> StoreResult<Arc<[u8]>> {
        let (blob, size) = self.message_blob(user, mailbox, uid)?;
        match self.blobs.read(blob, size) {
            Ok(bytes) => Ok(bytes),
            // Expunged (and collected) between the lookup and the read.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                self.message_blob(user, mailbox, uid)?;
                Err(StoreError::Backend(format!(
                    "message file {blob:016x} is missing"
                )))
            }
            Err(e) => Err(StoreError::Backend(format!("reading message file: {e}"))),
        }
    }
}

/// Calls `f` for each of `uids` (ascending) of `user`'s `mailbox` that exists, in UID order,
/// after checking the account and the mailbox: a range scan when the UIDs are dense, lookups
/// when they are few.
fn messages_in(
    r: &Reader,
    user: &str,
    mailbox: MailboxId,
    uids: &[Uid],
    mut f: impl FnMut(Uid, MessageRec),
) -> StoreResult<()> {
    check_account(r.accounts()?, user)?;
    load_mailbox(r.mailboxes()?, user, mailbox)?;
    let (Some(&first), Some(&last)) = (uids.first(), uids.last()) else {
        return Ok(());
    };
    let messages = r.messages()?;
    if (last - first) as usize / 4 > uids.len() {
        for &uid in uids {
            if let Some(msg) = load_message(messages, mailbox, uid)? {
                f(uid, msg);
            }
        }
        return Ok(());
    }
    let mut wanted = uids.iter().peekable();
    for item in messages.range((mailbox, first)..=(mailbox, last)).bk()? {
        let (k, v) = item.bk()?;
        let uid = k.value().1;
        while wanted.next_if(|&&w| w < uid).is_some() {}
        if wanted.next_if(|&&w| w == uid).is_some() {
            f(uid, decode(v.value())?);
        }
    }
    Ok(())
}

/// A message's [`MessageInfo`], its parse decoded from the `parsed` table.
fn info_of(
    parsed: &impl ReadableTable<u64, &'static [u8]>,
    uid: Uid,
    msg: &MessageRec,
) -> StoreResult<MessageInfo> {
    let parse: ParsedMessage = match parsed.get(msg.blob).bk()? {
        Some(v) => decode(v.value())?,
        None => {
            return Err(StoreError::Backend(format!(
                "parse of blob {} missing",
                msg.blob
            )))
        }
    };
    Ok(MessageInfo {
        uid,
        size: msg.size,
        internal_date: msg.date.into(),
        parsed: Arc::new(parse),
    })
}

/// The write transaction of a STORE: the flags of `uids` (`FlagsStored`) and whether any
/// changed. Queued straight to the writer by `FileStore::store_flags`.
pub(crate) fn store_flags_job(
    user: &str,
    mailbox: MailboxId,
    uids: &[Uid],
    op: StoreOp,
    flags: &[Flag],
    unchanged_since: Option<u64>,
) -> impl FnMut(&mut Tables) -> StoreResult<(FlagsStored, bool)> + Send + 'static {
    let (user, uids, flags) = (user.to_owned(), uids.to_vec(), flags.to_vec());
    move |t| {
        let (user, uids, flags) = (user.as_str(), uids.as_slice(), flags.as_slice());
        check_account(&t.accounts, user)?;
        let mut rec = load_mailbox(&t.mailboxes, user, mailbox)?;
        let mut failed = Vec::new();
        let mut updates = Vec::new();
        for uid in sorted(uids) {
            let Some(msg) = load_message(&t.messages, mailbox, uid)? else {
                continue;
            };
            if unchanged_since.is_some_and(|since| msg.modseq > since) {
                failed.push(uid);
                continue;
            }
            let new = apply_flag_op(&msg.flags(), op, flags, &mut rec.keywords);
            updates.push((uid, msg, new));
        }
        let changed = updates.iter().any(|u| u.2.is_some());
        let modseq = if changed {
            rec.bump()
        } else {
            rec.highest_modseq
        };
        let mut done = Vec::with_capacity(updates.len());
        for (uid, mut msg, new) in updates {
            if let Some(flags) = new {
                t.modseqs.remove((mailbox, msg.modseq, uid)).bk()?;
                msg.flags = flag_strings(&flags);
                msg.modseq = modseq;
                t.put_message(mailbox, uid, &msg)?;
                t.modseqs.insert((mailbox, modseq, uid), ()).bk()?;
            }
            done.push(msg.meta(uid));
        }
        // Keywords may be new even when no message changed; keep them either way.
        t.put_mailbox(mailbox, &rec)?;
        Ok(((done, failed), changed))
    }
}

/// The write transaction of a COPY (or MOVE, `expunge_source`): what was copied, and the
/// blobs no message names any more (see [`Inner::copy_done`]).
pub(crate) fn copy_job(
    user: &str,
    mailbox: MailboxId,
    uids: &[Uid],
    dest: &MailboxName,
    expunge_source: bool,
) -> impl FnMut(&mut Tables) -> StoreResult<(Copied, Vec<u64>)> + Send + 'static {
    let (user, uids, dest) = (user.to_owned(), uids.to_vec(), dest.clone());
    move |t| copy_in(t, &user, mailbox, &uids, &dest, expunge_source)
}

/// A message file written and synced, with the encoded parse and search fields that the
/// APPEND's transaction stores beside it.
pub(crate) struct AppendFile {
    pub blob: u64,
    parsed: Vec<u8>,
    fields: Vec<u8>,
}

/// The write transaction of an APPEND whose file is `file`: the message enters `mailbox`
/// with `message`'s flags and date. Queued straight to the writer by `FileStore::append`.
pub(crate) fn append_job(
    user: &str,
    mailbox: &MailboxName,
    message: &NewMessage,
    file: AppendFile,
) -> impl FnMut(&mut Tables) -> StoreResult<Appended> + Send + 'static {
    let (user, mailbox) = (user.to_owned(), normal(mailbox));
    let flags = flag_strings(&message.flags);
    let (size, date) = (message.raw.len() as u64, message.internal_date.into());
    let AppendFile {
        blob,
        parsed,
        fields,
    } = file;
    move |t| {
        check_account(&t.accounts, &user)?;
        let (id, mut rec) = mailbox_by_name(&t.names, &t.mailboxes, &user, &mailbox)?;
        t.blob_refs.insert(blob, 1).bk()?;
        t.parsed.insert(blob, parsed.as_slice()).bk()?;
        t.fields.insert(blob, fields.as_slice()).bk()?;
        let msg = MessageRec {
            flags: flags.clone(),
            modseq: 0,
            size,
            date,
            blob,
        };
        let mapping = insert_all(t, id, &mut rec, vec![(0, msg)])?;
        Ok(Appended {
            mailbox: id,
            uidvalidity: rec.uidvalidity,
            uid: mapping.first().map(|p| p.1).unwrap_or_default(),
        })
    }
}
