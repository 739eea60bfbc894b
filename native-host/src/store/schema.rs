//! The redb schema of the FileStore: table definitions, the postcard-encoded records stored in
//! them, conversions from engine types, and the mapping of redb/I/O errors to `StoreError`.
//!
//! Tables (every key that names a mailbox uses its never-reused numeric id):
//!
//! | table           | key                      | value                                   |
//! |-----------------|--------------------------|-----------------------------------------|
//! | `accounts`      | user name                | argon2 PHC string                       |
//! | `names`         | (user, mailbox name)     | mailbox id                              |
//! | `mailboxes`     | mailbox id               | [`MailboxRec`] (postcard)               |
//! | `messages`      | (mailbox id, uid)        | [`MessageRec`] (postcard)               |
//! | `modseqs`       | (mailbox id, modseq, uid)| `()`: messages by last-change modseq    |
//! | `tombstones`    | (mailbox id, uid)        | modseq of the expunge                   |
//! | `subscriptions` | (user, mailbox name)     | `()`                                    |
//! | `blob_refs`     | blob id                  | number of messages naming the blob      |
//! | `parsed`        | blob id                  | postcard `ParsedMessage` of the blob    |
//! | `fields`        | blob id                  | postcard `FieldsRec`: SEARCH's fields   |
//! | `counters`      | counter name             | next value                              |
//!
//! `fields` holds the decoded, folded Subject/From/To/Cc/Bcc/Date of each blob, computed at
//! delivery (see `field_rows`). Stores written before it existed have no rows (the table is
//! created empty at open); their messages are searched from their files, as before.

use std::cell::OnceCell;
use std::fmt::Display;

use redb::{ReadTransaction, ReadableTable, TableDefinition, WriteTransaction};
use serde::{Deserialize, Serialize};
use tidings_engine::command::MailboxName;
use tidings_engine::store::{MailboxId, MessageMeta, StoreError, StoreResult};
use tidings_engine::types::{Date, DateTime, Flag, SpecialUse, Uid};

pub(crate) const ACCOUNTS: TableDefinition<&str, &str> = TableDefinition::new("accounts");
pub(crate) const NAMES: TableDefinition<(&str, &str), u64> = TableDefinition::new("names");
pub(crate) const MAILBOXES: TableDefinition<u64, &[u8]> = TableDefinition::new("mailboxes");
pub(crate) const MESSAGES: TableDefinition<(u64, u32), &[u8]> = TableDefinition::new("messages");
pub(crate) const MODSEQS: TableDefinition<(u64, u64, u32), ()> = TableDefinition::new("modseqs");
pub(crate) const TOMBSTONES: TableDefinition<(u64, u32), u64> = TableDefinition::new("tombstones");
pub(crate) const SUBSCRIPTIONS: TableDefinition<(&str, &str), ()> =
    TableDefinition::new("subscriptions");
pub(crate) const BLOB_REFS: TableDefinition<u64, u64> = TableDefinition::new("blob_refs");
pub(crate) const PARSED: TableDefinition<u64, &[u8]> = TableDefinition::new("parsed");
pub(crate) const FIELDS: TableDefinition<u64, &[u8]> = TableDefinition::new("fields");
pub(crate) const COUNTERS: TableDefinition<&str, u64> = TableDefinition::new("counters");

/// Counter: the id the next mailbox gets.
pub(crate) const NEXT_MAILBOX_ID: &str = "next_mailbox_id";
/// Counter: the UIDVALIDITY the next mailbox gets (seeded from the clock at creation).
pub(crate) const NEXT_UIDVALIDITY: &str = "next_uidvalidity";

/// Turns any displayable failure into `StoreError::Backend`.
pub(crate) fn backend(e: impl Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

/// `.bk()?` = `.map_err(backend)?`, for the many redb error types.
pub(crate) trait OrBackend<T> {
    fn bk(self) -> StoreResult<T>;
}

impl<T, E: Display> OrBackend<T> for Result<T, E> {
    fn bk(self) -> StoreResult<T> {
        self.map_err(backend)
    }
}

pub(crate) fn encode<T: Serialize>(value: &T) -> StoreResult<Vec<u8>> {
    postcard::to_allocvec(value).map_err(|e| StoreError::Backend(format!("encode: {e}")))
}

/// Decodes a record; `T` may borrow from `bytes` (`&str` fields).
pub(crate) fn decode<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> StoreResult<T> {
    postcard::from_bytes(bytes).map_err(|e| StoreError::Backend(format!("corrupt record: {e}")))
}

/// A mailbox's state. The name is also the key in `names`; both change together on RENAME.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct MailboxRec {
    pub account: String,
    pub name: String,
    pub special_use: Option<String>,
    pub uidvalidity: u32,
    pub uidnext: Uid,
    pub highest_modseq: u64,
    pub recent_mark: Uid,
    /// Keywords in use, in first-use order.
    pub keywords: Vec<String>,
}

impl MailboxRec {
    pub fn special_use(&self) -> Option<SpecialUse> {
        self.special_use.as_deref().and_then(SpecialUse::from_attr)
    }

    /// Bumps and returns the mailbox's modseq.
    pub fn bump(&mut self) -> u64 {
        self.highest_modseq += 1;
        self.highest_modseq
    }
}

/// A message's state. The bytes live in blob `blob`; its parse in `parsed[blob]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct MessageRec {
    /// Stored flags in wire form (`\Seen`, `$Label`), canonical order.
    pub flags: Vec<String>,
    pub modseq: u64,
    pub size: u64,
    pub date: DateRec,
    pub blob: u64,
}

impl MessageRec {
    pub fn flags(&self) -> Vec<Flag> {
        self.flags.iter().map(|f| Flag::from_atom(f)).collect()
    }

    pub fn has(&self, flag: &Flag) -> bool {
        self.flags.iter().any(|f| f.as_str() == flag.as_str())
    }

    pub fn meta(&self, uid: Uid) -> MessageMeta {
        MessageMeta {
            uid,
            flags: self.flags(),
            modseq: self.modseq,
        }
    }
}

/// Flags in their stored (wire) form.
pub(crate) fn flag_strings(flags: &[Flag]) -> Vec<String> {
    flags.iter().map(|f| f.as_str().to_string()).collect()
}

/// An INTERNALDATE, field by field, so it round-trips exactly.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub(crate) struct DateRec {
    pub year: u16,
    pub month: u8,
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
    pub zone_minutes: i16,
}

impl From<DateTime> for DateRec {
    fn from(d: DateTime) -> DateRec {
        DateRec {
            year: d.date.year,
            month: d.date.month,
            day: d.date.day,
            hour: d.hour,
            minute: d.minute,
            second: d.second,
            zone_minutes: d.zone_minutes,
        }
    }
}

impl From<DateRec> for DateTime {
    fn from(d: DateRec) -> DateTime {
        DateTime {
            date: Date {
                year: d.year,
                month: d.month,
                day: d.day,
            },
            hour: d.hour,
            minute: d.minute,
            second: d.second,
            zone_minutes: d.zone_minutes,
        }
    }
}

/// Every table, opened once for one write transaction (redb allows one handle per table).
pub(crate) struct Tables<'t> {
    pub accounts: redb::Table<'t, &'static str, &'static str>,
    pub names: redb::Table<'t, (&'static str, &'static str), u64>,
    pub mailboxes: redb::Table<'t, u64, &'static [u8]>,
    pub messages: redb::Table<'t, (u64, u32), &'static [u8]>,
    pub modseqs: redb::Table<'t, (u64, u64, u32), ()>,
    pub tombstones: redb::Table<'t, (u64, u32), u64>,
    pub subscriptions: redb::Table<'t, (&'static str, &'static str), ()>,
    pub blob_refs: redb::Table<'t, u64, u64>,
    pub parsed: redb::Table<'t, u64, &'static [u8]>,
    pub fields: redb::Table<'t, u64, &'static [u8]>,
    pub counters: redb::Table<'t, &'static str, u64>,
}

impl<'t> Tables<'t> {
    pub fn open(txn: &'t WriteTransaction) -> StoreResult<Tables<'t>> {
        Ok(Tables {
            accounts: txn.open_table(ACCOUNTS).bk()?,
            names: txn.open_table(NAMES).bk()?,
            mailboxes: txn.open_table(MAILBOXES).bk()?,
            messages: txn.open_table(MESSAGES).bk()?,
            modseqs: txn.open_table(MODSEQS).bk()?,
            tombstones: txn.open_table(TOMBSTONES).bk()?,
            subscriptions: txn.open_table(SUBSCRIPTIONS).bk()?,
            blob_refs: txn.open_table(BLOB_REFS).bk()?,
            parsed: txn.open_table(PARSED).bk()?,
            fields: txn.open_table(FIELDS).bk()?,
            counters: txn.open_table(COUNTERS).bk()?,
        })
    }

    pub fn counter(&self, name: &str) -> StoreResult<u64> {
        Ok(self.counters.get(name).bk()?.map_or(0, |v| v.value()))
    }

    pub fn set_counter(&mut self, name: &str, value: u64) -> StoreResult<()> {
        self.counters.insert(name, value).bk()?;
        Ok(())
    }

    pub fn put_mailbox(&mut self, id: MailboxId, rec: &MailboxRec) -> StoreResult<()> {
        self.mailboxes.insert(id, encode(rec)?.as_slice()).bk()?;
        Ok(())
    }

    pub fn put_message(
        &mut self,
        mailbox: MailboxId,
        uid: Uid,
        rec: &MessageRec,
    ) -> StoreResult<()> {
        self.messages
            .insert((mailbox, uid), encode(rec)?.as_slice())
            .bk()?;
        Ok(())
    }
}

/// The read-only tables of one read transaction (a consistent snapshot), each opened on
/// first use: opening a redb table type-checks it, and most queries need only a few (the
/// benchmark profile had opening all of them, eight then, as half the cost of a per-message
/// lookup).
pub(crate) struct Reader<'t> {
    txn: &'t ReadTransaction,
    accounts: OnceCell<redb::ReadOnlyTable<&'static str, &'static str>>,
    names: OnceCell<redb::ReadOnlyTable<(&'static str, &'static str), u64>>,
    mailboxes: OnceCell<redb::ReadOnlyTable<u64, &'static [u8]>>,
    messages: OnceCell<redb::ReadOnlyTable<(u64, u32), &'static [u8]>>,
    modseqs: OnceCell<redb::ReadOnlyTable<(u64, u64, u32), ()>>,
    tombstones: OnceCell<redb::ReadOnlyTable<(u64, u32), u64>>,
    subscriptions: OnceCell<redb::ReadOnlyTable<(&'static str, &'static str), ()>>,
    parsed: OnceCell<redb::ReadOnlyTable<u64, &'static [u8]>>,
    fields: OnceCell<redb::ReadOnlyTable<u64, &'static [u8]>>,
}

impl<'t> Reader<'t> {
    pub fn open(txn: &'t ReadTransaction) -> StoreResult<Reader<'t>> {
        Ok(Reader {
            txn,
            accounts: OnceCell::new(),
            names: OnceCell::new(),
            mailboxes: OnceCell::new(),
            messages: OnceCell::new(),
            modseqs: OnceCell::new(),
            tombstones: OnceCell::new(),
            subscriptions: OnceCell::new(),
            parsed: OnceCell::new(),
            fields: OnceCell::new(),
        })
    }

    pub fn accounts(&self) -> StoreResult<&redb::ReadOnlyTable<&'static str, &'static str>> {
        lazy(&self.accounts, || self.txn.open_table(ACCOUNTS))
    }

    pub fn names(&self) -> StoreResult<&redb::ReadOnlyTable<(&'static str, &'static str), u64>> {
        lazy(&self.names, || self.txn.open_table(NAMES))
    }

    pub fn mailboxes(&self) -> StoreResult<&redb::ReadOnlyTable<u64, &'static [u8]>> {
        lazy(&self.mailboxes, || self.txn.open_table(MAILBOXES))
    }

    pub fn messages(&self) -> StoreResult<&redb::ReadOnlyTable<(u64, u32), &'static [u8]>> {
        lazy(&self.messages, || self.txn.open_table(MESSAGES))
    }

    pub fn modseqs(&self) -> StoreResult<&redb::ReadOnlyTable<(u64, u64, u32), ()>> {
        lazy(&self.modseqs, || self.txn.open_table(MODSEQS))
    }

    pub fn tombstones(&self) -> StoreResult<&redb::ReadOnlyTable<(u64, u32), u64>> {
        lazy(&self.tombstones, || self.txn.open_table(TOMBSTONES))
    }

    pub fn subscriptions(
        &self,
    ) -> StoreResult<&redb::ReadOnlyTable<(&'static str, &'static str), ()>> {
        lazy(&self.subscriptions, || self.txn.open_table(SUBSCRIPTIONS))
    }

    pub fn parsed(&self) -> StoreResult<&redb::ReadOnlyTable<u64, &'static [u8]>> {
        lazy(&self.parsed, || self.txn.open_table(PARSED))
    }

    pub fn fields(&self) -> StoreResult<&redb::ReadOnlyTable<u64, &'static [u8]>> {
        lazy(&self.fields, || self.txn.open_table(FIELDS))
    }
}

/// The table in `cell`, opening it with `open` the first time.
fn lazy<T>(
    cell: &OnceCell<T>,
    open: impl FnOnce() -> Result<T, redb::TableError>,
) -> StoreResult<&T> {
    if let Some(t) = cell.get() {
        return Ok(t);
    }
    let t = open().bk()?;
    Ok(cell.get_or_init(|| t))
}

// Lookups shared by readers and writers, generic over redb's `ReadableTable`.

/// Fails with `Cannot("no such account")` (as MemoryStore does) unless the account exists.
pub(crate) fn check_account(
    accounts: &impl ReadableTable<&'static str, &'static str>,
    user: &str,
) -> StoreResult<()> {
    match accounts.get(user).bk()? {
        Some(_) => Ok(()),
        None => Err(StoreError::Cannot("no such account".into())),
    }
}

/// The id of `user`'s mailbox `name`, if it exists.
pub(crate) fn mailbox_id(
    names: &impl ReadableTable<(&'static str, &'static str), u64>,
    user: &str,
    name: &MailboxName,
) -> StoreResult<Option<MailboxId>> {
    Ok(names.get((user, name.as_str())).bk()?.map(|v| v.value()))
}

/// Mailbox `id`, provided it belongs to `user` (else `NoSuchMailbox`: ids of other accounts
/// are indistinguishable from ids that never existed).
pub(crate) fn load_mailbox(
    mailboxes: &impl ReadableTable<u64, &'static [u8]>,
    user: &str,
    id: MailboxId,
) -> StoreResult<MailboxRec> {
    let rec: MailboxRec = match mailboxes.get(id).bk()? {
        Some(v) => decode(v.value())?,
        None => return Err(StoreError::NoSuchMailbox),
    };
    if rec.account != user {
        return Err(StoreError::NoSuchMailbox);
    }
    Ok(rec)
}

/// Mailbox `name` of `user` with its id.
pub(crate) fn mailbox_by_name(
    names: &impl ReadableTable<(&'static str, &'static str), u64>,
    mailboxes: &impl ReadableTable<u64, &'static [u8]>,
    user: &str,
    name: &MailboxName,
) -> StoreResult<(MailboxId, MailboxRec)> {
    let id = mailbox_id(names, user, name)?.ok_or(StoreError::NoSuchMailbox)?;
    Ok((id, load_mailbox(mailboxes, user, id)?))
}

/// One message, if it exists.
pub(crate) fn load_message(
    messages: &impl ReadableTable<(u64, u32), &'static [u8]>,
    mailbox: MailboxId,
    uid: Uid,
) -> StoreResult<Option<MessageRec>> {
    match messages.get((mailbox, uid)).bk()? {
        Some(v) => Ok(Some(decode(v.value())?)),
        None => Ok(None),
    }
}

/// Every message of a mailbox, in UID order.
pub(crate) fn all_messages(
    messages: &impl ReadableTable<(u64, u32), &'static [u8]>,
    mailbox: MailboxId,
) -> StoreResult<Vec<(Uid, MessageRec)>> {
    let mut out = Vec::new();
    for item in messages.range((mailbox, 0u32)..=(mailbox, u32::MAX)).bk()? {
        let (k, v) = item.bk()?;
        out.push((k.value().1, decode(v.value())?));
    }
    Ok(out)
}

/// The names of `user`'s entries in a `(user, name)`-keyed table, in name order.
pub(crate) fn names_of<V: redb::Value + 'static>(
    table: &impl ReadableTable<(&'static str, &'static str), V>,
    user: &str,
) -> StoreResult<Vec<String>> {
    let mut out = Vec::new();
    for item in table.range((user, "")..).bk()? {
        let (k, _) = item.bk()?;
        let (owner, name) = k.value();
        if owner != user {
            break;
        }
        out.push(name.to_string());
    }
    Ok(out)
}
