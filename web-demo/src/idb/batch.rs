//! The batch reads of `IndexedDbStore` (FETCH and SEARCH over many messages): each call is
//! one readonly transaction whose row requests are issued a window at a time, instead of
//! one transaction per message as the trait's defaults would give.

use std::future::{ready, Future};
use std::sync::Arc;

use tidings_engine::search::{searchable_fields, Field};
use tidings_engine::store::{Account, MailboxId, MessageInfo, RunBytes, StoreResult};
use tidings_engine::types::{DateTime, Uid};

use super::{IndexedDbStore, Tables};
use crate::records::{MessageHead, MessageRec};

/// Row requests in flight at once. The next window is issued before the current one is
/// awaited, so IndexedDB always has work queued; at most two windows of rows are held.
const READ_WINDOW: usize = 64;

/// One row per UID: `read(uid)` issues the request (it must start it when called), `map`
/// turns each row found into the answer as it arrives. `check` (the mailbox ownership read)
/// runs in the same round trip as the first window and fails the whole call. UIDs in the
/// order given, `None` where there is no row.
async fn read_rows<C, T, U, F>(
    check: impl Future<Output = StoreResult<C>>,
    uids: &[Uid],
    read: impl Fn(Uid) -> F,
    mut map: impl FnMut(Uid, T) -> U,
) -> StoreResult<Vec<(Uid, Option<U>)>>
where
    F: Future<Output = StoreResult<Option<T>>>,
{
    let start =
        |window: &[Uid]| -> Vec<(Uid, F)> { window.iter().map(|&u| (u, read(u))).collect() };
    let mut windows = uids.chunks(READ_WINDOW);
    let mut next = windows.next().map(start).unwrap_or_default();
    check.await?;
    let mut out = Vec::with_capacity(uids.len());
    while !next.is_empty() {
        let current = std::mem::replace(&mut next, windows.next().map(start).unwrap_or_default());
        for (uid, row) in current {
            out.push((uid, row.await?.map(|v| map(uid, v))));
        }
    }
    Ok(out)
}

/// The rows found, without the UIDs that had none.
fn found<U>(rows: Vec<(Uid, Option<U>)>) -> Vec<U> {
    rows.into_iter().filter_map(|(_, v)| v).collect()
}

/// What FETCH needs of one message row but its bytes.
pub(super) fn info(uid: Uid, msg: MessageRec) -> MessageInfo {
    MessageInfo {
        uid,
        size: msg.head.size,
        internal_date: msg.head.internal_date(),
        parsed: Arc::new(msg.parsed),
    }
}

/// Size and INTERNALDATE from a row's head.
pub(super) fn summary(head: &MessageHead) -> (u64, DateTime) {
    (head.size, head.internal_date())
}

impl IndexedDbStore {
    pub(super) async fn batch_infos(
        &self,
        account: &Account,
        mailbox: MailboxId,
        uids: &[Uid],
    ) -> StoreResult<Vec<MessageInfo>> {
        let tx = self.begin(false)?;
        let t = Tables::new(&tx)?;
        let check = t.mailbox(account, mailbox);
        let rows = read_rows(check, uids, |u| t.message(mailbox, u), info).await?;
        Ok(found(rows))
    }

    /// Heads only: the parses stay undecoded.
    pub(super) async fn batch_summaries(
        &self,
        account: &Account,
        mailbox: MailboxId,
        uids: &[Uid],
    ) -> StoreResult<Vec<(Uid, u64, DateTime)>> {
        let tx = self.begin(false)?;
        let t = Tables::new(&tx)?;
        let check = t.mailbox(account, mailbox);
        let rows = read_rows(
            check,
            uids,
            |u| t.message_head(mailbox, u),
            |u, h| {
                let (size, date) = summary(&h);
                (u, size, date)
            },
        )
        .await?;
        Ok(found(rows))
    }

    /// The heads give the sizes, so only the bytes of the run that fits are read.
    pub(super) async fn batch_bytes_run(
        &self,
        account: &Account,
        mailbox: MailboxId,
        uids: &[Uid],
        max_bytes: usize,
    ) -> StoreResult<RunBytes> {
        let tx = self.begin(false)?;
        let t = Tables::new(&tx)?;
        let check = t.mailbox(account, mailbox);
        let sizes = read_rows(check, uids, |u| t.message_head(mailbox, u), |_, h| h.size).await?;
        let (mut n, mut total) = (0, 0u64);
        for (_, size) in &sizes {
            if n > 0 && total >= max_bytes as u64 {
                break;
            }
            total = total.saturating_add(size.unwrap_or(0));
            n += 1;
        }
        let present: Vec<Uid> = sizes[..n]
            .iter()
            .filter(|(_, s)| s.is_some())
            .map(|(u, _)| *u)
            .collect();
        let mut blobs = read_rows(
            ready(Ok(())),
            &present,
            |u| t.blob(mailbox, u),
            |_, raw| Arc::<[u8]>::from(raw),
        )
        .await?
        .into_iter()
        .peekable();
        // Missing messages keep their place in the run, as `None`.
        Ok(sizes[..n]
            .iter()
            .map(|&(uid, _)| match blobs.next_if(|b| b.0 == uid) {
                Some((_, bytes)) => (uid, bytes),
                None => (uid, None),
            })
            .collect())
    }

    /// Fields parsed from each message's bytes as they arrive, a window at a time, so a
    /// SEARCH chunk of thousands of messages never holds all their bytes.
    pub(super) async fn batch_search_fields(
        &self,
        account: &Account,
        mailbox: MailboxId,
        uids: &[Uid],
        names: &[String],
    ) -> StoreResult<Vec<(Uid, Arc<[Field]>)>> {
        let tx = self.begin(false)?;
        let t = Tables::new(&tx)?;
        let check = t.mailbox(account, mailbox);
        let rows = read_rows(
            check,
            uids,
            |u| t.blob(mailbox, u),
            |u, raw| (u, Arc::<[Field]>::from(searchable_fields(&raw, names))),
        )
        .await?;
        Ok(found(rows))
    }
}
