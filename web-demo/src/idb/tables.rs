//! Typed access to the object stores of one transaction: keys built the same way everywhere,
//! values decoded from postcard, every IndexedDB failure turned into `StoreError::Backend`.

use indexed_db_futures::internals::SystemRepr;
use indexed_db_futures::object_store::ObjectStore;
use indexed_db_futures::prelude::*;
use indexed_db_futures::transaction::Transaction;
use indexed_db_futures::KeyRange;
use js_sys::{Array, Uint8Array};
use std::future::{Future, IntoFuture};
use std::sync::Arc;

use serde::{de::DeserializeOwned, Serialize};
use tidings_engine::store::{Account, MailboxId, StoreError, StoreResult};
use tidings_engine::types::Uid;
use wasm_bindgen::{JsCast, JsValue};

use super::{backend, ACCOUNTS, BLOBS, COUNTERS, MAILBOXES, MESSAGES, SUBSCRIPTIONS, TOMBSTONES};
use crate::records::{
    decode, encode, AccountRec, MailboxRec, MessageHead, MessageRec, SubscriptionRec, TombstoneRec,
};

/// The tables of one transaction. Drop it before committing the transaction.
pub(crate) struct Tables<'a> {
    pub accounts: ObjectStore<'a>,
    pub mailboxes: ObjectStore<'a>,
    pub messages: ObjectStore<'a>,
    pub blobs: ObjectStore<'a>,
    pub tombstones: ObjectStore<'a>,
    pub subscriptions: ObjectStore<'a>,
    pub counters: ObjectStore<'a>,
}

/// `[mailboxId, uid]`, the key of `messages`, `blobs` and `tombstones`.
pub(crate) fn message_key(mailbox: MailboxId, uid: Uid) -> JsValue {
    Array::of2(&JsValue::from_f64(mailbox as f64), &JsValue::from(uid)).into()
}

/// Every key of one mailbox in `messages`, `blobs` or `tombstones`.
fn mailbox_range(mailbox: MailboxId) -> KeyRange<JsValue> {
    KeyRange::Bound(
        message_key(mailbox, 0),
        false,
        message_key(mailbox, u32::MAX),
        false,
    )
}

/// The keys of UIDs `first..=last` of one mailbox.
fn uid_range(mailbox: MailboxId, first: Uid, last: Uid) -> KeyRange<JsValue> {
    KeyRange::Bound(
        message_key(mailbox, first),
        false,
        message_key(mailbox, last),
        false,
    )
}

/// The UID in a `[mailboxId, uid]` key.
fn key_uid(key: &JsValue) -> Option<Uid> {
    let uid = Array::from(key).get(1).as_f64()?;
    (uid >= 0.0 && uid <= f64::from(Uid::MAX)).then_some(uid as Uid)
}

fn subscription_key(account: &str, name: &str) -> JsValue {
    Array::of2(&JsValue::from_str(account), &JsValue::from_str(name)).into()
}

fn bytes_value(bytes: &[u8]) -> JsValue {
    Uint8Array::from(bytes).into()
}

fn value_bytes(value: JsValue, what: &str) -> StoreResult<Vec<u8>> {
    value_array(value, what).map(|a| a.to_vec())
}

fn value_array(value: JsValue, what: &str) -> StoreResult<Uint8Array> {
    value
        .dyn_into::<Uint8Array>()
        .map_err(|_| StoreError::Backend(format!("corrupt {what} record in IndexedDB: not bytes")))
}

/// A message's bytes, copied from JS once, straight into the shared buffer the engine keeps
/// (a `Vec` first, then `Arc::from`, copied every byte of a FETCH twice).
fn blob_bytes(value: JsValue) -> StoreResult<Arc<[u8]>> {
    let array = value_array(value, "blob")?;
    let mut bytes: Arc<[u8]> = std::iter::repeat_n(0, array.length() as usize).collect();
    match Arc::get_mut(&mut bytes) {
        Some(buf) => array.copy_to(buf),
        None => unreachable!("a new Arc has no other owner"),
    }
    Ok(bytes)
}

impl<'a> Tables<'a> {
    /// Opens every table of `tx`.
    pub fn new(tx: &'a Transaction<'_>) -> StoreResult<Tables<'a>> {
        let open = |name: &str| {
            tx.object_store(name)
                .map_err(|e| backend(&format!("table {name}"), e))
        };
        Ok(Tables {
            accounts: open(ACCOUNTS)?,
            mailboxes: open(MAILBOXES)?,
            messages: open(MESSAGES)?,
            blobs: open(BLOBS)?,
            tombstones: open(TOMBSTONES)?,
            subscriptions: open(SUBSCRIPTIONS)?,
            counters: open(COUNTERS)?,
        })
    }

    // ---- generic helpers ----------------------------------------------------------------

    // Each of these issues its IndexedDB request when called, not when awaited: requests
    // started together are served in one round trip to the browser's storage, so a caller
    // that needs several records starts them all before awaiting the first.

    fn get_raw<'t>(
        table: &ObjectStore<'_>,
        key: JsValue,
        what: &'t str,
    ) -> impl Future<Output = StoreResult<Option<JsValue>>> + 't {
        let req = table.get::<JsValue, JsValue, _>(key).into_future();
        async move { req.await.map_err(|e| backend(&format!("read {what}"), e)) }
    }

    fn get<'t, T: DeserializeOwned>(
        table: &ObjectStore<'_>,
        key: JsValue,
        what: &'t str,
    ) -> impl Future<Output = StoreResult<Option<T>>> + 't {
        let raw = Self::get_raw(table, key, what);
        async move {
            match raw.await? {
                Some(v) => Ok(Some(decode(&value_bytes(v, what)?, what)?)),
                None => Ok(None),
            }
        }
    }

    fn put_raw<'t>(
        table: &ObjectStore<'_>,
        key: JsValue,
        value: JsValue,
        what: &'t str,
    ) -> impl Future<Output = StoreResult<()>> + 't {
        let req = table.put(value).with_key(key).into_future();
        async move {
            req.await
                .map(drop)
                .map_err(|e| backend(&format!("write {what}"), e))
        }
    }

    fn put<'t, T: Serialize>(
        table: &ObjectStore<'_>,
        key: JsValue,
        value: &T,
        what: &'t str,
    ) -> impl Future<Output = StoreResult<()>> + 't {
        let started =
            encode(value, what).map(|bytes| Self::put_raw(table, key, bytes_value(&bytes), what));
        async move { started?.await }
    }

    /// Issues a write nobody waits for: no listener, so no callback into wasm when it is
    /// done. Only for readwrite transactions that are then committed and awaited: a write
    /// that fails aborts its transaction, so the commit reports it.
    fn put_unwatched(
        table: &ObjectStore<'_>,
        key: &JsValue,
        value: &JsValue,
        what: &str,
    ) -> StoreResult<()> {
        table
            .as_sys()
            .put_with_key(value, key)
            .map(drop)
            .map_err(|e| backend(&format!("write {what}"), format!("{e:?}")))
    }

    async fn delete(
        table: &ObjectStore<'_>,
        key: KeyRange<JsValue>,
        what: &str,
    ) -> StoreResult<()> {
        table
            .delete::<JsValue, _>(key)
            .await
            .map_err(|e| backend(&format!("delete {what}"), e))
    }

    /// Every value in `range` (or the whole table), undecoded, in key order.
    async fn all_raw(
        table: &ObjectStore<'_>,
        range: Option<KeyRange<JsValue>>,
        what: &str,
    ) -> StoreResult<Vec<JsValue>> {
        let fail = |e: indexed_db_futures::error::Error| backend(&format!("list {what}"), e);
        match range {
            Some(r) => table
                .get_all::<JsValue>()
                .with_query::<JsValue, _>(r)
                .await
                .map_err(fail)?
                .collect::<Result<_, _>>()
                .map_err(fail),
            None => table
                .get_all::<JsValue>()
                .await
                .map_err(fail)?
                .collect::<Result<_, _>>()
                .map_err(fail),
        }
    }

    async fn all<T: DeserializeOwned>(
        table: &ObjectStore<'_>,
        range: Option<KeyRange<JsValue>>,
        what: &str,
    ) -> StoreResult<Vec<T>> {
        Self::all_raw(table, range, what)
            .await?
            .into_iter()
            .map(|v| decode(&value_bytes(v, what)?, what))
            .collect()
    }

    // ---- counters -----------------------------------------------------------------------

    /// A counter's value, `None` before it was first set.
    pub async fn counter(&self, name: &str) -> StoreResult<Option<f64>> {
        Ok(
            Self::get_raw(&self.counters, JsValue::from_str(name), "counter")
                .await?
                .and_then(|v| v.as_f64()),
        )
    }

    pub async fn set_counter(&self, name: &str, value: f64) -> StoreResult<()> {
        Self::put_raw(
            &self.counters,
            JsValue::from_str(name),
            JsValue::from_f64(value),
            "counter",
        )
        .await
    }

    /// Returns the counter's value and stores the next one.
    pub async fn take_counter(&self, name: &str) -> StoreResult<u64> {
        let v = self
            .counter(name)
            .await?
            .ok_or_else(|| StoreError::Backend(format!("counter {name} missing in IndexedDB")))?;
        self.set_counter(name, v + 1.0).await?;
        Ok(v as u64)
    }

    // ---- accounts -----------------------------------------------------------------------

    pub async fn account(&self, name: &str) -> StoreResult<Option<AccountRec>> {
        Self::get(&self.accounts, JsValue::from_str(name), "account").await
    }

    pub async fn put_account(&self, name: &str, rec: &AccountRec) -> StoreResult<()> {
        Self::put(&self.accounts, JsValue::from_str(name), rec, "account").await
    }

    /// Fails with `Cannot` for an account that does not exist (a forged `Account`). Starts
    /// the read at once.
    pub fn check_account(&self, account: &Account) -> impl Future<Output = StoreResult<()>> {
        let row = Self::get_raw(&self.accounts, JsValue::from_str(&account.name), "account");
        async move {
            match row.await? {
                Some(_) => Ok(()),
                None => Err(StoreError::Cannot("no such account".into())),
            }
        }
    }

    // ---- mailboxes ----------------------------------------------------------------------

    /// Every mailbox of the account, sorted by name. Checks the account exists.
    pub async fn mailboxes_of(&self, account: &Account) -> StoreResult<Vec<MailboxRec>> {
        let known = self.check_account(account);
        let mut all: Vec<MailboxRec> = Self::all(&self.mailboxes, None, "mailbox").await?;
        known.await?;
        all.retain(|m| m.account == account.name);
        all.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(all)
    }

    /// The account's mailbox `id` (`NoSuchMailbox` if missing or another account's).
    /// Starts both reads at once.
    pub async fn mailbox(&self, account: &Account, id: MailboxId) -> StoreResult<MailboxRec> {
        let known = self.check_account(account);
        let rec = Self::get::<MailboxRec>(&self.mailboxes, JsValue::from_f64(id as f64), "mailbox");
        known.await?;
        rec.await?
            .filter(|m| m.account == account.name)
            .ok_or(StoreError::NoSuchMailbox)
    }

    /// The mailbox row `id`, whoever owns it; starts the read at once.
    pub fn mailbox_row(
        &self,
        id: MailboxId,
    ) -> impl Future<Output = StoreResult<Option<MailboxRec>>> {
        Self::get(&self.mailboxes, JsValue::from_f64(id as f64), "mailbox")
    }

    /// Writes a mailbox row without waiting for it (see [`Tables::put_unwatched`]).
    pub fn put_mailbox_unwatched(&self, rec: &MailboxRec) -> StoreResult<()> {
        let bytes = encode(rec, "mailbox")?;
        Self::put_unwatched(
            &self.mailboxes,
            &JsValue::from_f64(rec.id as f64),
            &bytes_value(&bytes),
            "mailbox",
        )
    }

    /// Starts the write at once.
    pub fn put_mailbox(&self, rec: &MailboxRec) -> impl Future<Output = StoreResult<()>> {
        Self::put(
            &self.mailboxes,
            JsValue::from_f64(rec.id as f64),
            rec,
            "mailbox",
        )
    }

    /// Deletes a mailbox row with its messages, blobs and tombstones.
    pub async fn delete_mailbox(&self, id: MailboxId) -> StoreResult<()> {
        Self::delete(
            &self.mailboxes,
            KeyRange::Only(JsValue::from_f64(id as f64)),
            "mailbox",
        )
        .await?;
        Self::delete(&self.messages, mailbox_range(id), "messages").await?;
        Self::delete(&self.blobs, mailbox_range(id), "blobs").await?;
        Self::delete(&self.tombstones, mailbox_range(id), "tombstones").await
    }

    // ---- messages -----------------------------------------------------------------------

    /// Every message of a mailbox, in UID order.
    pub async fn messages(&self, mailbox: MailboxId) -> StoreResult<Vec<MessageRec>> {
        Self::all(&self.messages, Some(mailbox_range(mailbox)), "message").await
    }

    /// Every message head of a mailbox (no parse decoded), in UID order.
    pub async fn heads(&self, mailbox: MailboxId) -> StoreResult<Vec<MessageHead>> {
        Self::all_raw(&self.messages, Some(mailbox_range(mailbox)), "message")
            .await?
            .into_iter()
            .map(|v| MessageHead::decode(&value_bytes(v, "message")?, "message"))
            .collect()
    }

    /// Starts the read at once.
    pub fn message(
        &self,
        mailbox: MailboxId,
        uid: Uid,
    ) -> impl Future<Output = StoreResult<Option<MessageRec>>> {
        Self::get(&self.messages, message_key(mailbox, uid), "message")
    }

    /// A message's head (no parse decoded); starts the read at once.
    pub fn message_head(
        &self,
        mailbox: MailboxId,
        uid: Uid,
    ) -> impl Future<Output = StoreResult<Option<MessageHead>>> {
        let row = Self::get_raw(&self.messages, message_key(mailbox, uid), "message");
        async move {
            match row.await? {
                Some(v) => Ok(Some(MessageHead::decode(
                    &value_bytes(v, "message")?,
                    "message",
                )?)),
                None => Ok(None),
            }
        }
    }

    /// The `messages` rows of UIDs `first..=last` of a mailbox, undecoded, in UID order
    /// (each row names its UID): one request for the lot, started at once.
    pub fn message_rows_in(
        &self,
        mailbox: MailboxId,
        first: Uid,
        last: Uid,
    ) -> impl Future<Output = StoreResult<Vec<Vec<u8>>>> {
        let rows = self
            .messages
            .get_all::<JsValue>()
            .with_query::<JsValue, _>(uid_range(mailbox, first, last))
            .into_future();
        async move {
            let fail = |e: indexed_db_futures::error::Error| backend("list messages", e);
            rows.await
                .map_err(fail)?
                .map(|row| value_bytes(row.map_err(fail)?, "message"))
                .collect()
        }
    }

    /// The bytes of UIDs `first..=last` of a mailbox, in UID order, without their UIDs: one
    /// request, for a caller that knows which UIDs are there (see `runs::read`).
    pub fn blob_values_in(
        &self,
        mailbox: MailboxId,
        first: Uid,
        last: Uid,
    ) -> impl Future<Output = StoreResult<Vec<Arc<[u8]>>>> {
        let values = self
            .blobs
            .get_all::<JsValue>()
            .with_query::<JsValue, _>(uid_range(mailbox, first, last))
            .into_future();
        async move {
            let fail = |e: indexed_db_futures::error::Error| backend("list blobs", e);
            values
                .await
                .map_err(fail)?
                .map(|value| blob_bytes(value.map_err(fail)?))
                .collect()
        }
    }

    /// The bytes of UIDs `first..=last` of a mailbox with their UIDs, in UID order: the
    /// values and their keys, two requests started at once.
    pub fn blobs_in(
        &self,
        mailbox: MailboxId,
        first: Uid,
        last: Uid,
    ) -> impl Future<Output = StoreResult<Vec<(Uid, Arc<[u8]>)>>> {
        let range = || uid_range(mailbox, first, last);
        let values = self
            .blobs
            .get_all::<JsValue>()
            .with_query::<JsValue, _>(range())
            .into_future();
        let keys = self
            .blobs
            .get_all_keys::<JsValue>()
            .with_query::<JsValue, _>(range())
            .into_future();
        async move {
            let fail = |e: indexed_db_futures::error::Error| backend("list blobs", e);
            let values: Vec<JsValue> = values
                .await
                .map_err(fail)?
                .collect::<Result<_, _>>()
                .map_err(fail)?;
            let keys: Vec<JsValue> = keys
                .await
                .map_err(fail)?
                .collect::<Result<_, _>>()
                .map_err(fail)?;
            if keys.len() != values.len() {
                return Err(StoreError::Backend(
                    "IndexedDB gave blobs and keys that do not pair up".into(),
                ));
            }
            keys.iter()
                .zip(values)
                .map(|(key, value)| {
                    let uid = key_uid(key).ok_or_else(|| {
                        StoreError::Backend("corrupt blob key in IndexedDB".into())
                    })?;
                    Ok((uid, blob_bytes(value)?))
                })
                .collect()
        }
    }

    /// Starts the write at once.
    pub fn put_message(
        &self,
        mailbox: MailboxId,
        rec: &MessageRec,
    ) -> impl Future<Output = StoreResult<()>> {
        Self::put(
            &self.messages,
            message_key(mailbox, rec.head.uid),
            rec,
            "message",
        )
    }

    /// Writes a message row and its bytes without waiting for them (see
    /// [`Tables::put_unwatched`]).
    pub fn put_message_unwatched(
        &self,
        mailbox: MailboxId,
        rec: &MessageRec,
        raw: &[u8],
    ) -> StoreResult<()> {
        let key = message_key(mailbox, rec.head.uid);
        let row = encode(rec, "message")?;
        Self::put_unwatched(&self.messages, &key, &bytes_value(&row), "message")?;
        Self::put_unwatched(&self.blobs, &key, &bytes_value(raw), "blob")
    }

    /// Removes a message row and its bytes.
    pub async fn delete_message(&self, mailbox: MailboxId, uid: Uid) -> StoreResult<()> {
        Self::delete(
            &self.messages,
            KeyRange::Only(message_key(mailbox, uid)),
            "message",
        )
        .await?;
        Self::delete(
            &self.blobs,
            KeyRange::Only(message_key(mailbox, uid)),
            "blob",
        )
        .await
    }

    /// Starts the read at once.
    pub fn blob(
        &self,
        mailbox: MailboxId,
        uid: Uid,
    ) -> impl Future<Output = StoreResult<Option<Arc<[u8]>>>> {
        let row = Self::get_raw(&self.blobs, message_key(mailbox, uid), "blob");
        async move {
            match row.await? {
                Some(v) => Ok(Some(blob_bytes(v)?)),
                None => Ok(None),
            }
        }
    }

    /// Starts the write at once.
    pub fn put_blob(
        &self,
        mailbox: MailboxId,
        uid: Uid,
        raw: &[u8],
    ) -> impl Future<Output = StoreResult<()>> {
        Self::put_raw(
            &self.blobs,
            message_key(mailbox, uid),
            bytes_value(raw),
            "blob",
        )
    }

    pub async fn tombstones(&self, mailbox: MailboxId) -> StoreResult<Vec<TombstoneRec>> {
        Self::all(&self.tombstones, Some(mailbox_range(mailbox)), "tombstone").await
    }

    pub async fn put_tombstone(&self, mailbox: MailboxId, rec: TombstoneRec) -> StoreResult<()> {
        Self::put(
            &self.tombstones,
            message_key(mailbox, rec.uid),
            &rec,
            "tombstone",
        )
        .await
    }

    // ---- subscriptions ------------------------------------------------------------------

    /// The account's subscribed names, sorted.
    pub async fn subscriptions_of(&self, account: &str) -> StoreResult<Vec<String>> {
        let all: Vec<SubscriptionRec> =
            Self::all(&self.subscriptions, None, "subscription").await?;
        let mut names: Vec<String> = all
            .into_iter()
            .filter(|s| s.account == account)
            .map(|s| s.name)
            .collect();
        names.sort();
        Ok(names)
    }

    pub async fn is_subscribed(&self, account: &str, name: &str) -> StoreResult<bool> {
        Ok(Self::get_raw(
            &self.subscriptions,
            subscription_key(account, name),
            "subscription",
        )
        .await?
        .is_some())
    }

    pub async fn subscribe(&self, account: &str, name: &str) -> StoreResult<()> {
        let rec = SubscriptionRec {
            account: account.to_string(),
            name: name.to_string(),
        };
        Self::put(
            &self.subscriptions,
            subscription_key(account, name),
            &rec,
            "subscription",
        )
        .await
    }

    pub async fn unsubscribe(&self, account: &str, name: &str) -> StoreResult<()> {
        Self::delete(
            &self.subscriptions,
            KeyRange::Only(subscription_key(account, name)),
            "subscription",
        )
        .await
    }
}
