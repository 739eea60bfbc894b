//! Bytes runs (`Store::message_bytes_run`, what FETCH of bodies and SEARCH of text walk a
//! mailbox with): the read itself, and the next run read ahead while the engine writes out
//! this one.
//!
//! Why read ahead: the engine asks for a run, writes every message of it into its output,
//! then asks for the next. Most of a run's time is IndexedDB reading the bytes (~9 ms for
//! 64 × 20 KB in Chromium), in the browser's storage thread; the tab's thread is free
//! meanwhile. So when a long run of consecutive UIDs is handed out, the next one (see
//! `batch::next_uids`) starts at once, in a task of its own, and the engine's next call
//! takes it if it asks for a prefix of those UIDs with the same budget.
//! A run is greedy over its UIDs (see `batch::run_within`), so the answer for a prefix is
//! the read-ahead answer cut to that length. Message bytes never change under a UID, and
//! the engine's own runs are read before their messages are written out just the same, so
//! an answer read a little earlier says nothing the engine would not have said; still, a
//! write through this store that may remove messages drops what was read ahead (flag
//! changes do not: a non-PEEK FETCH sets `\Seen` on every message it walks).

use std::cell::RefCell;
use std::future::{poll_fn, ready, Future};
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use indexed_db_futures::database::Database;
use tidings_engine::store::{Account, MailboxId, RunBytes, StoreResult};
use tidings_engine::types::Uid;

use super::{begin_on, Tables};
use crate::batch;
use crate::records::MessageHead;

/// One readonly transaction: the heads give the sizes, then only the bytes of the run that
/// fits `max_bytes` are read. A dense run of UIDs takes one request for the heads and one
/// (with its keys) for the bytes, instead of one per message each.
pub(super) async fn read(
    db: &Database,
    account: &Account,
    mailbox: MailboxId,
    uids: &[Uid],
    max_bytes: usize,
) -> StoreResult<RunBytes> {
    let tx = begin_on(db, false)?;
    let t = Tables::new(&tx)?;
    let check = t.mailbox(account, mailbox);
    if let Some((first, last)) = batch::dense_range(uids) {
        let rows = t.message_rows_in(mailbox, first, last);
        check.await?;
        let heads = rows
            .await?
            .iter()
            .map(|row| MessageHead::decode(row, "message").map(|h| (h.uid, h.size)))
            .collect::<StoreResult<Vec<_>>>()?;
        let sizes = batch::pick(uids, heads.clone());
        let run = batch::run_within(&sizes, max_bytes);
        let present: Vec<Uid> = run.iter().filter(|r| r.1.is_some()).map(|r| r.0).collect();
        let blobs = match (present.first(), present.last()) {
            (Some(&a), Some(&b)) => {
                // Every message row has its blob under the same key, written and removed in
                // the same transactions, and this one reads both: the blobs of a..=b belong to
                // the rows of a..=b in order, so their keys need no second scan of the range.
                // Should the two not pair up (a count or a length that differs), the keys
                // are read after all.
                let rows: Vec<(Uid, u64)> = heads
                    .into_iter()
                    .filter(|h| (a..=b).contains(&h.0))
                    .collect();
                let values = t.blob_values_in(mailbox, a, b).await?;
                let paired = values.len() == rows.len()
                    && rows.iter().zip(&values).all(|(r, v)| r.1 == v.len() as u64);
                if paired {
                    rows.into_iter().map(|r| r.0).zip(values).collect()
                } else {
                    t.blobs_in(mailbox, a, b).await?
                }
            }
            _ => Vec::new(),
        };
        return Ok(batch::in_place(run, batch::pick(&present, blobs)));
    }
    let head = |u| t.message_head(mailbox, u);
    let sizes = batch::read_rows(check, uids, head, |_, h| h.size).await?;
    let run = batch::run_within(&sizes, max_bytes);
    let present: Vec<Uid> = run.iter().filter(|r| r.1.is_some()).map(|r| r.0).collect();
    let blobs = batch::read_rows(
        ready(Ok(())),
        &present,
        |u| t.blob(mailbox, u),
        |_, raw| raw,
    )
    .await?;
    Ok(batch::in_place(run, blobs))
}

/// A run being read (or read) ahead, and for what.
struct Ahead {
    account: String,
    mailbox: MailboxId,
    uids: Vec<Uid>,
    max_bytes: usize,
    state: Rc<RefCell<Pending>>,
}

/// What the read-ahead task leaves for the call that takes it.
#[derive(Default)]
struct Pending {
    answer: Option<StoreResult<RunBytes>>,
    waker: Option<Waker>,
}

/// At most one run read ahead per store.
#[derive(Default)]
pub(super) struct ReadAhead {
    slot: RefCell<Option<Ahead>>,
}

impl ReadAhead {
    /// Forgets what was read ahead (a write went through the store).
    pub fn clear(&self) {
        self.slot.borrow_mut().take();
    }

    /// The answer read ahead for this call, if there is one: it must be for the same
    /// account, mailbox and budget, and `uids` a prefix of the UIDs read. Whatever is there
    /// is dropped either way. A read ahead that failed is no answer (the caller reads again,
    /// and gets the error if there still is one).
    pub async fn take(
        &self,
        account: &Account,
        mailbox: MailboxId,
        uids: &[Uid],
        max_bytes: usize,
    ) -> Option<RunBytes> {
        let ahead = self.slot.borrow_mut().take()?;
        let fits = ahead.account == account.name
            && ahead.mailbox == mailbox
            && ahead.max_bytes == max_bytes
            && !uids.is_empty()
            && ahead.uids.starts_with(uids);
        if !fits {
            return None;
        }
        let answer = poll_fn(|cx| {
            let mut state = ahead.state.borrow_mut();
            match state.answer.take() {
                Some(answer) => Poll::Ready(answer),
                None => {
                    state.waker = Some(cx.waker().clone());
                    Poll::Pending
                }
            }
        })
        .await;
        let mut run = answer.ok()?;
        run.truncate(uids.len());
        Some(run)
    }

    /// Starts reading `uids` in a task of its own. Its first requests are issued before this
    /// returns, so IndexedDB works on them while the engine writes out the current run.
    pub fn start(
        &self,
        db: &Database,
        account: &Account,
        mailbox: MailboxId,
        uids: Vec<Uid>,
        max_bytes: usize,
    ) {
        let state = Rc::new(RefCell::new(Pending::default()));
        let task = {
            let (db, account, uids, state) =
                (db.clone(), account.clone(), uids.clone(), state.clone());
            async move {
                let answer = read(&db, &account, mailbox, &uids, max_bytes).await;
                let mut state = state.borrow_mut();
                state.answer = Some(answer);
                if let Some(w) = state.waker.take() {
                    w.wake();
                }
            }
        };
        let mut task = Box::pin(task);
        // Polled once here to issue the first requests now. The task's own first poll comes
        // at the next microtask, before any IndexedDB answer can (those come as tasks), so
        // the no-op waker is never the one an answer wakes.
        if task
            .as_mut()
            .poll(&mut Context::from_waker(Waker::noop()))
            .is_pending()
        {
            wasm_bindgen_futures::spawn_local(task);
        }
        *self.slot.borrow_mut() = Some(Ahead {
            account: account.name.clone(),
            mailbox,
            uids,
            max_bytes,
            state,
        });
    }
}
