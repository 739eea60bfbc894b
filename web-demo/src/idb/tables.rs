//! Typed access to the object stores of one transaction: keys built the same way everywhere,
//! values decoded from postcard, every IndexedDB failure turned into `StoreError::Backend`.

use indexed_db_futures::object_store::ObjectStore;
use indexed_db_futures::prelude::*;
use indexed_db_futures::transaction::Transaction;
use indexed_db_futures::KeyRange;
use js_sys::{Array, Uint8Array};
use serde::{de::DeserializeOwned, Serialize};
use tidings_engine::store::{Account, MailboxId, StoreError, StoreResult};
use tidings_engine::types::Uid;
use wasm_bindgen::{JsCast, JsValue};

use super::{backend, ACCOUNTS, BLOBS, COUNTERS, MAILBOXES, MESSAGES, SUBSCRIPTIONS, TOMBSTONES};
use crate::records::{
    decode, encode, AccountRec, MailboxRec, MessageRec, SubscriptionRec, TombstoneRec,
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

fn subscription_key(account: &str, name: &str) -> JsValue {
    Array::of2(&JsValue::from_str(account), &JsValue::from_str(name)).into()
}

fn bytes_value(bytes: &[u8]) -> JsValue {
    Uint8Array::from(bytes).into()
}

fn value_bytes(value: JsValue, what: &str) -> StoreResult<Vec<u8>> {
    value
        .dyn_into::<Uint8Array>()
        .map(|a| a.to_vec())
        .map_err(|_| StoreError::Backend(format!("corrupt {what} record in IndexedDB: not bytes")))
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

    async fn get_raw(
        table: &ObjectStore<'_>,
        key: JsValue,
        what: &str,
    ) -> StoreResult<Option<JsValue>> {
        table
            .get::<JsValue, JsValue, _>(key)
            .await
            .map_err(|e| backend(&format!("read {what}"), e))
    }

    async fn get<T: DeserializeOwned>(
        table: &ObjectStore<'_>,
        key: JsValue,
        what: &str,
    ) -> StoreResult<Option<T>> {
        match Self::get_raw(table, key, what).await? {
            Some(v) => Ok(Some(decode(&value_bytes(v, what)?, what)?)),
            None => Ok(None),
        }
    }

    async fn put_raw(
        table: &ObjectStore<'_>,
        key: JsValue,
        value: JsValue,
        what: &str,
    ) -> StoreResult<()> {
        table
            .put(value)
            .with_key(key)
            .await
            .map(drop)
            .map_err(|e| backend(&format!("write {what}"), e))
    }

    async fn put<T: Serialize>(
        table: &ObjectStore<'_>,
        key: JsValue,
        value: &T,
        what: &str,
    ) -> StoreResult<()> {
        let bytes = encode(value, what)?;
        Self::put_raw(table, key, bytes_value(&bytes), what).await
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

    async fn all<T: DeserializeOwned>(
        table: &ObjectStore<'_>,
        range: Option<KeyRange<JsValue>>,
        what: &str,
    ) -> StoreResult<Vec<T>> {
        let fail = |e: indexed_db_futures::error::Error| backend(&format!("list {what}"), e);
        let values: Vec<JsValue> = match range {
            Some(r) => table
                .get_all::<JsValue>()
                .with_query::<JsValue, _>(r)
                .await
                .map_err(fail)?
                .collect::<Result<_, _>>()
                .map_err(fail)?,
            None => table
                .get_all::<JsValue>()
                .await
                .map_err(fail)?
                .collect::<Result<_, _>>()
                .map_err(fail)?,
        };
        values
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

    /// Fails with `Cannot` for an account that does not exist (a forged `Account`).
    pub async fn check_account(&self, account: &Account) -> StoreResult<()> {
        match self.account(&account.name).await? {
            Some(_) => Ok(()),
            None => Err(StoreError::Cannot("no such account".into())),
        }
    }

    // ---- mailboxes ----------------------------------------------------------------------

    /// Every mailbox of the account, sorted by name. Checks the account exists.
    pub async fn mailboxes_of(&self, account: &Account) -> StoreResult<Vec<MailboxRec>> {
        self.check_account(account).await?;
        let mut all: Vec<MailboxRec> = Self::all(&self.mailboxes, None, "mailbox").await?;
        all.retain(|m| m.account == account.name);
        all.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(all)
    }

    /// The account's mailbox `id` (`NoSuchMailbox` if missing or another account's).
    pub async fn mailbox(&self, account: &Account, id: MailboxId) -> StoreResult<MailboxRec> {
        self.check_account(account).await?;
        let rec: Option<MailboxRec> =
            Self::get(&self.mailboxes, JsValue::from_f64(id as f64), "mailbox").await?;
        rec.filter(|m| m.account == account.name)
            .ok_or(StoreError::NoSuchMailbox)
    }

    pub async fn put_mailbox(&self, rec: &MailboxRec) -> StoreResult<()> {
        Self::put(
            &self.mailboxes,
            JsValue::from_f64(rec.id as f64),
            rec,
            "mailbox",
        )
        .await
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

    pub async fn message(&self, mailbox: MailboxId, uid: Uid) -> StoreResult<Option<MessageRec>> {
        Self::get(&self.messages, message_key(mailbox, uid), "message").await
    }

    pub async fn put_message(&self, mailbox: MailboxId, rec: &MessageRec) -> StoreResult<()> {
        Self::put(
            &self.messages,
            message_key(mailbox, rec.uid),
            rec,
            "message",
        )
        .await
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

    pub async fn blob(&self, mailbox: MailboxId, uid: Uid) -> StoreResult<Option<Vec<u8>>> {
        match Self::get_raw(&self.blobs, message_key(mailbox, uid), "blob").await? {
            Some(v) => Ok(Some(value_bytes(v, "blob")?)),
            None => Ok(None),
        }
    }

    pub async fn put_blob(&self, mailbox: MailboxId, uid: Uid, raw: &[u8]) -> StoreResult<()> {
        Self::put_raw(
            &self.blobs,
            message_key(mailbox, uid),
            bytes_value(raw),
            "blob",
        )
        .await
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
