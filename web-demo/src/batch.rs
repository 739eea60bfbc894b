//! What the batch reads of `IndexedDbStore` share (FETCH and SEARCH over many messages):
//! each call is one readonly transaction whose row requests are issued a window at a time,
//! instead of one transaction per message as the trait's defaults would give.

use std::future::Future;
use std::sync::Arc;

use tidings_engine::store::{MessageInfo, RunBytes, StoreResult};
use tidings_engine::types::{DateTime, Uid};

use crate::records::{MessageHead, MessageRec};

/// Row requests in flight at once. The next window is issued before the current one is
/// awaited, so IndexedDB always has work queued; at most two windows of rows are held.
const READ_WINDOW: usize = 64;

/// One row per UID: `read(uid)` issues the request (it must start it when called), `map`
/// turns each row found into the answer as it arrives. `check` (the mailbox ownership read)
/// runs in the same round trip as the first window and fails the whole call. UIDs in the
/// order given, `None` where there is no row.
pub(crate) async fn read_rows<C, T, U, F>(
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

/// The UID range to read with one request instead of one per UID: when `uids` ascend and
/// the range holds at most as many other UIDs as asked-for ones (which it reads for
/// nothing). `UID FETCH 1:*` and the runs it is read in are such ranges.
pub(crate) fn dense_range(uids: &[Uid]) -> Option<(Uid, Uid)> {
    let (&first, &last) = (uids.first()?, uids.last()?);
    let ascending = uids.windows(2).all(|w| w[0] < w[1]);
    let span = u64::from(last - first.min(last)) + 1;
    (ascending && span <= 2 * uids.len() as u64).then_some((first, last))
}

/// The rows of `uids` (ascending) from `rows` (ascending by UID, perhaps with others), in
/// the shape `read_rows` gives: every UID asked for, `None` where there is no row.
pub(crate) fn pick<T>(uids: &[Uid], rows: Vec<(Uid, T)>) -> Vec<(Uid, Option<T>)> {
    let mut rows = rows.into_iter().peekable();
    uids.iter()
        .map(|&uid| {
            while rows.next_if(|r| r.0 < uid).is_some() {}
            (uid, rows.next_if(|r| r.0 == uid).map(|r| r.1))
        })
        .collect()
}

/// Runs asked for with fewer UIDs than this are not read ahead: a client fetching one
/// message at a time need not want the next.
pub(crate) const READ_AHEAD_MIN: usize = 16;

/// The UIDs the engine will most likely ask for after `asked`, of which the answer covered
/// the first `covered`: as many again, consecutive from the first one not covered (a run
/// cut short by its byte budget is asked again from there). `None` unless `asked` is a long
/// consecutive run, as the engine asks for when it walks `UID FETCH 1:*` over a mailbox.
pub(crate) fn next_uids(asked: &[Uid], covered: usize) -> Option<Vec<Uid>> {
    let consecutive = asked.windows(2).all(|w| w[0].checked_add(1) == Some(w[1]));
    if !consecutive || asked.len() < READ_AHEAD_MIN || covered == 0 {
        return None;
    }
    let start = match asked.get(covered) {
        Some(&u) => u,
        None => asked.last()?.checked_add(1)?,
    };
    let n = u32::try_from(asked.len()).ok()?;
    let end = start.checked_add(n - 1)?;
    Some((start..=end).collect())
}

/// The rows found, without the UIDs that had none.
pub(crate) fn found<U>(rows: Vec<(Uid, Option<U>)>) -> Vec<U> {
    rows.into_iter().filter_map(|(_, v)| v).collect()
}

/// What FETCH needs of one message row but its bytes.
pub(crate) fn info(uid: Uid, msg: MessageRec) -> MessageInfo {
    MessageInfo {
        uid,
        size: msg.head.size,
        internal_date: msg.head.internal_date(),
        parsed: Arc::new(msg.parsed),
    }
}

/// Size and INTERNALDATE from a row's head.
pub(crate) fn summary(head: &MessageHead) -> (u64, DateTime) {
    (head.size, head.internal_date())
}

/// The prefix of `sizes` (UID, size if the message exists) that a bytes run returns: the
/// first, then more while the total before each stays under `max_bytes`, as the trait's
/// default counts.
pub(crate) fn run_within(sizes: &[(Uid, Option<u64>)], max_bytes: usize) -> &[(Uid, Option<u64>)] {
    let mut total = 0u64;
    let mut n = 0;
    for (_, size) in sizes {
        if n > 0 && total >= max_bytes as u64 {
            break;
        }
        total = total.saturating_add(size.unwrap_or(0));
        n += 1;
    }
    &sizes[..n]
}

/// The run with each message's bytes from `blobs` (read for the present ones, in order);
/// missing messages keep their place as `None`.
pub(crate) fn in_place(
    run: &[(Uid, Option<u64>)],
    blobs: Vec<(Uid, Option<Arc<[u8]>>)>,
) -> RunBytes {
    let mut blobs = blobs.into_iter().peekable();
    run.iter()
        .map(|&(uid, _)| match blobs.next_if(|b| b.0 == uid) {
            Some((_, bytes)) => (uid, bytes),
            None => (uid, None),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::ready;
    use std::pin::pin;
    use std::task::{Context, Poll, Waker};
    use tidings_engine::store::StoreError;

    /// Polls a future whose reads are all ready.
    fn now<T>(f: impl Future<Output = T>) -> T {
        match pin!(f).poll(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(v) => v,
            Poll::Pending => panic!("pending"),
        }
    }

    #[test]
    fn rows_come_in_uid_order_across_windows_with_none_for_missing() {
        let uids: Vec<Uid> = (1..=150).collect();
        let rows = now(read_rows(
            ready(Ok(())),
            &uids,
            |u| ready(Ok((u % 3 != 0).then_some(u * 2))),
            |u, v| (u, v),
        ))
        .unwrap();
        assert_eq!(rows.len(), 150);
        assert!(rows.iter().all(|(u, r)| (u % 3 == 0) == r.is_none()));
        assert_eq!(rows[149], (150, None));
        assert_eq!(rows[148], (149, Some((149, 298))));
        assert_eq!(found(rows).len(), 100);
    }

    #[test]
    fn a_failed_check_fails_the_call() {
        let check = ready(Err::<(), _>(StoreError::NoSuchMailbox));
        let rows = now(read_rows(
            check,
            &[1, 2],
            |_| ready(Ok(Some(0))),
            |_, v: u8| v,
        ));
        assert!(matches!(rows, Err(StoreError::NoSuchMailbox)));
    }

    #[test]
    fn a_run_keeps_its_first_message_and_stops_once_the_budget_is_spent() {
        let sizes = [(1, Some(10)), (2, None), (3, Some(10)), (4, Some(10))];
        assert_eq!(run_within(&sizes, 1).len(), 1);
        // 10 < 15 after UID 1 and the missing UID 2; 20 >= 15 after UID 3.
        assert_eq!(run_within(&sizes, 15).len(), 3);
        assert_eq!(run_within(&sizes, usize::MAX).len(), 4);
        assert!(run_within(&[], 10).is_empty());
    }

    #[test]
    fn only_ascending_runs_without_many_gaps_are_read_as_a_range() {
        assert_eq!(dense_range(&[]), None);
        assert_eq!(dense_range(&[7]), Some((7, 7)));
        assert_eq!(dense_range(&(1..=64).collect::<Vec<_>>()), Some((1, 64)));
        // Half the range asked for is still worth one request; less is not.
        assert_eq!(dense_range(&[1, 3, 5, 7]), Some((1, 7)));
        assert_eq!(dense_range(&[1, 2, 100]), None);
        assert_eq!(dense_range(&[3, 2, 1]), None);
        assert_eq!(dense_range(&[2, 2]), None);
    }

    #[test]
    fn picking_from_a_range_keeps_the_uids_asked_for_in_order() {
        let rows = vec![(1, 'a'), (2, 'b'), (4, 'd'), (5, 'e')];
        assert_eq!(
            pick(&[2, 3, 5, 6], rows),
            vec![(2, Some('b')), (3, None), (5, Some('e')), (6, None)]
        );
        assert_eq!(pick::<u8>(&[1], Vec::new()), vec![(1, None)]);
    }

    #[test]
    fn the_run_read_ahead_follows_what_was_covered() {
        let asked: Vec<Uid> = (1..=20).collect();
        assert_eq!(next_uids(&asked, 20), Some((21..=40).collect()));
        // Cut short by its byte budget: the engine asks again from the first left out.
        assert_eq!(next_uids(&asked, 2), Some((3..=22).collect()));
        assert_eq!(next_uids(&asked, 0), None);
        // Gaps, short runs and the end of the UID space: no guess.
        let gappy: Vec<Uid> = (1..=20).map(|u| u * 2).collect();
        assert_eq!(next_uids(&gappy, 20), None);
        assert_eq!(next_uids(&[1, 2, 3], 3), None);
        let top: Vec<Uid> = (u32::MAX - 19..=u32::MAX).collect();
        assert_eq!(next_uids(&top, 20), None);
    }

    #[test]
    fn missing_messages_keep_their_place() {
        let run = [(1, Some(1)), (2, None), (3, Some(1))];
        let bytes: Arc<[u8]> = Arc::from(&b"x"[..]);
        let blobs = vec![(1, Some(bytes.clone())), (3, None)];
        let got = in_place(&run, blobs);
        assert_eq!(
            got.iter().map(|r| (r.0, r.1.is_some())).collect::<Vec<_>>(),
            vec![(1, true), (2, false), (3, false)]
        );
    }
}
