//! Message bytes for a command that walks many messages (FETCH of bodies, SEARCH of text):
//! read a run at a time through `Store::message_bytes_run`, handed out one by one.

use std::collections::VecDeque;
use std::sync::Arc;

use crate::store::{Account, MailboxId, Store, StoreResult};
use crate::types::Uid;

/// Messages asked for per run, and the bytes a run may hold (a run always has one message).
const RUN_MESSAGES: usize = 64;
const RUN_BYTES: usize = 4 * 1024 * 1024;

/// The unread rest of the last run.
#[derive(Default)]
pub(super) struct BytesRun {
    pending: VecDeque<(Uid, Option<Arc<[u8]>>)>,
}

impl BytesRun {
    /// The bytes of `upcoming[0]` (`None` if it no longer exists). `upcoming` is the UIDs
    /// the command will still ask for, ascending, so the next run can be read ahead.
    pub async fn next<S: Store>(
        &mut self,
        store: &S,
        account: &Account,
        mailbox: MailboxId,
        upcoming: &[Uid],
    ) -> StoreResult<Option<Arc<[u8]>>> {
        let Some(&uid) = upcoming.first() else {
            return Ok(None);
        };
        // Messages the caller skipped (e.g. expunged before their bytes were needed).
        while self.pending.front().is_some_and(|(u, _)| *u < uid) {
            self.pending.pop_front();
        }
        if self.pending.front().is_none_or(|(u, _)| *u != uid) {
            let run = &upcoming[..upcoming.len().min(RUN_MESSAGES)];
            self.pending = store
                .message_bytes_run(account, mailbox, run, RUN_BYTES)
                .await?
                .into();
        }
        match self.pending.pop_front() {
            Some((u, bytes)) if u == uid => Ok(bytes),
            _ => Ok(None),
        }
    }
}
