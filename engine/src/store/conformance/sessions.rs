//! Conformance cases about several sessions on one store: \Recent claimed exactly once,
//! watches waking other sessions, and (for persistent backends) state surviving a reopen.

use std::future::Future;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use super::{login, mbox, test_message, CaseResult, Failure, TestBackend, PASSWORD};
use crate::command::StoreOp;
use crate::store::MailboxId;
use crate::types::{Flag, Uid};

/// A waker that remembers whether it was woken.
#[derive(Default)]
struct WakeFlag(AtomicBool);

impl Wake for WakeFlag {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::SeqCst);
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.store(true, Ordering::SeqCst);
    }
}

fn poll_once<F: Future>(fut: Pin<&mut F>, waker: &Waker) -> Poll<F::Output> {
    fut.poll(&mut Context::from_waker(waker))
}

/// A new message is \Recent for exactly one session: the first to claim it, whether it
/// arrived before that session selected the mailbox or while it had it selected (the seed's
/// rule, Dovecot's). Claims are per mailbox; expunged messages are not returned.
pub async fn recent_claimed_exactly_once<S: TestBackend>(store: &S) -> CaseResult {
    let acct = login(store, "alice").await?;
    let inbox = mbox("INBOX");
    let put = |s: &'static str| {
        let acct = acct.clone();
        let inbox = inbox.clone();
        async move {
            Ok::<Uid, Failure>(
                store
                    .append(&acct, &inbox, test_message(s, &[], 1))
                    .await?
                    .uid,
            )
        }
    };
    store
        .append(&acct, &mbox("Archive"), test_message("elsewhere", &[], 1))
        .await?;
    let (u1, u2) = (put("1").await?, put("2").await?);
    // Session A selects first.
    let snap_a = store.snapshot(&acct, &inbox).await?;
    ensure!(
        snap_a.recent_mark <= u1,
        "recent mark {} before any claim",
        snap_a.recent_mark
    );
    let id: MailboxId = snap_a.id;
    ensure_eq!(
        store.claim_recent(&acct, id).await?,
        vec![u1, u2],
        "A's claim"
    );
    // Session B selects after A.
    let snap_b = store.snapshot(&acct, &inbox).await?;
    ensure!(
        snap_b.recent_mark > u2,
        "recent mark not advanced by A's claim"
    );
    ensure_eq!(store.claim_recent(&acct, id).await?, vec![], "B's claim");
    // A message arrives while both have INBOX selected; A notices first.
    let u3 = put("3").await?;
    ensure_eq!(
        store.claim_recent(&acct, id).await?,
        vec![u3],
        "A claims u3"
    );
    ensure_eq!(store.claim_recent(&acct, id).await?, vec![], "B after A");
    // One arrives while nobody looks; B is first.
    let u4 = put("4").await?;
    ensure_eq!(
        store.status(&acct, &inbox).await?.recent,
        1,
        "STATUS RECENT"
    );
    ensure_eq!(
        store.claim_recent(&acct, id).await?,
        vec![u4],
        "B claims u4"
    );
    ensure_eq!(store.claim_recent(&acct, id).await?, vec![], "A after B");
    // An expunged new message is not claimed.
    let (u5, u6) = (put("5").await?, put("6").await?);
    store.expunge(&acct, id, &[u5]).await?;
    ensure_eq!(
        store.claim_recent(&acct, id).await?,
        vec![u6],
        "claim after EXPUNGE"
    );
    ensure_eq!(store.status(&acct, &inbox).await?.recent, 0, "INBOX RECENT");
    ensure_eq!(
        store.status(&acct, &mbox("Archive")).await?.recent,
        1,
        "Archive's message claimed by an INBOX claim"
    );
    // The flags never show \Recent: it is the session's business.
    let snap = store.snapshot(&acct, &inbox).await?;
    ensure!(
        snap.messages
            .iter()
            .all(|m| !m.flags.contains(&Flag::Recent)),
        "\\Recent stored"
    );
    Ok(())
}

/// A session waiting on `watch` wakes when another session changes the account (before the
/// mutating call returns), then sees the change with `changes_since`; other accounts do not
/// wake it; a change made while nobody waits is not lost; every mutation kind notifies.
pub async fn watch_wakes_other_session<S: TestBackend>(store: &S) -> CaseResult {
    let alice = login(store, "alice").await?;
    let bob = login(store, "bob").await?;
    let inbox = mbox("INBOX");
    let snap = store.snapshot(&alice, &inbox).await?;
    let mut idle = store.watch(&alice);
    let mut bobs = store.watch(&bob);
    let flag = Arc::new(WakeFlag::default());
    let waker = Waker::from(Arc::clone(&flag));
    let a = {
        let mut changed = pin!(idle.changed());
        ensure!(
            poll_once(changed.as_mut(), &waker).is_pending(),
            "watch ready before any change"
        );
        let a = store
            .append(&alice, &inbox, test_message("a", &[], 1))
            .await?;
        ensure!(
            flag.0.load(Ordering::SeqCst),
            "APPEND by one session did not wake another's watch"
        );
        ensure!(
            poll_once(changed.as_mut(), &waker).is_ready(),
            "woken watch not ready"
        );
        a
    };
    let ch = store
        .changes_since(&alice, snap.id, snap.highest_modseq)
        .await?;
    ensure_eq!(
        ch.changed.iter().map(|m| m.uid).collect::<Vec<_>>(),
        vec![a.uid],
        "the other session's APPEND in changes_since"
    );
    ensure!(!bobs.take_change(), "alice's APPEND woke bob");
    ensure!(!idle.take_change(), "change seen twice");
    let id = a.mailbox;
    let steps: [(&str, StepFuture<'_>); 7] = [
        (
            "STORE",
            Box::pin(async {
                store
                    .store_flags(&alice, id, &[a.uid], StoreOp::Add, &[Flag::Seen], None)
                    .await
                    .map(drop)
            }),
        ),
        (
            "COPY",
            Box::pin(async {
                store
                    .copy(&alice, id, &[a.uid], &mbox("Trash"))
                    .await
                    .map(drop)
            }),
        ),
        (
            "MOVE",
            Box::pin(async {
                store
                    .move_messages(&alice, id, &[a.uid], &mbox("Junk"))
                    .await
                    .map(drop)
            }),
        ),
        (
            "EXPUNGE",
            Box::pin(async {
                let t = store.snapshot(&alice, &mbox("Trash")).await?;
                let uids: Vec<Uid> = t.messages.iter().map(|m| m.uid).collect();
                store.expunge(&alice, t.id, &uids).await.map(drop)
            }),
        ),
        (
            "CREATE",
            Box::pin(async {
                store
                    .create_mailbox(&alice, &mbox("W"), None)
                    .await
                    .map(drop)
            }),
        ),
        (
            "RENAME",
            Box::pin(async { store.rename_mailbox(&alice, &mbox("W"), &mbox("V")).await }),
        ),
        (
            "DELETE",
            Box::pin(async { store.delete_mailbox(&alice, &mbox("V")).await }),
        ),
    ];
    for (what, step) in steps {
        step.await?;
        ensure!(
            idle.take_change(),
            "{what} did not notify the account's watchers"
        );
    }
    ensure!(!bobs.take_change(), "alice's changes woke bob");
    Ok(())
}

type StepFuture<'a> = Pin<Box<dyn Future<Output = crate::store::StoreResult<()>> + 'a>>;

/// For persistent backends: after `reopen` (close and open the same data) accounts,
/// mailboxes with their ids and UIDVALIDITY, messages with UIDs, flags and modseqs,
/// tombstones, subscriptions and claimed \Recent survive; UIDs and UIDVALIDITY values are
/// still never reused (even the highest UID expunged just before, even a deleted mailbox's).
pub async fn survives_reopen<S, R, Fut>(store: S, reopen: R) -> CaseResult
where
    S: TestBackend,
    R: FnOnce(S) -> Fut,
    Fut: Future<Output = S>,
{
    let acct = login(&store, "alice").await?;
    let inbox = mbox("INBOX");
    store
        .create_mailbox(&acct, &mbox("Keep/Child"), None)
        .await?;
    store.set_subscribed(&acct, &mbox("Keep"), true).await?;
    let flags = [Flag::Seen, Flag::Keyword("Work".into())];
    let a = store
        .append(&acct, &inbox, test_message("a", &flags, 1))
        .await?;
    store
        .append(&acct, &inbox, test_message("b", &[], 2))
        .await?;
    let c = store
        .append(&acct, &inbox, test_message("c", &[], 3))
        .await?;
    store.claim_recent(&acct, a.mailbox).await?;
    let before_expunge = store.snapshot(&acct, &inbox).await?.highest_modseq;
    store.expunge(&acct, a.mailbox, &[c.uid]).await?;
    let gone = store.create_mailbox(&acct, &mbox("Gone"), None).await?;
    let gone_validity = store.snapshot(&acct, &mbox("Gone")).await?.uidvalidity;
    store.delete_mailbox(&acct, &mbox("Gone")).await?;

    let list = store.list_mailboxes(&acct).await?;
    let mut validities = vec![gone_validity];
    for m in &list {
        validities.push(store.snapshot(&acct, &m.name).await?.uidvalidity);
    }
    let snap = store.snapshot(&acct, &inbox).await?;
    let subs = store.subscriptions(&acct).await?;
    let bytes = store.message_bytes(&acct, a.mailbox, a.uid).await?;
    let info = store.message_info(&acct, a.mailbox, a.uid).await?;

    let store = reopen(store).await;

    ensure!(
        store
            .authenticate("alice", PASSWORD.as_bytes())
            .await?
            .is_some(),
        "account lost"
    );
    ensure_eq!(
        store.list_mailboxes(&acct).await?,
        list,
        "mailboxes after reopen"
    );
    for (m, v) in list.iter().zip(validities.iter().skip(1)) {
        let now = store.snapshot(&acct, &m.name).await?.uidvalidity;
        ensure_eq!(now, *v, "UIDVALIDITY of {} after reopen", m.name.0);
    }
    let again = store.snapshot(&acct, &inbox).await?;
    ensure_eq!(again.messages, snap.messages, "INBOX messages after reopen");
    ensure_eq!(again.uidnext, snap.uidnext, "UIDNEXT after reopen");
    ensure_eq!(again.keywords, snap.keywords, "keywords after reopen");
    ensure!(
        again.highest_modseq >= snap.highest_modseq,
        "HIGHESTMODSEQ went back"
    );
    ensure_eq!(store.subscriptions(&acct).await?, subs, "subscriptions");
    ensure_eq!(
        store.status(&acct, &inbox).await?.recent,
        0,
        "claimed \\Recent"
    );
    let b2 = store.message_bytes(&acct, a.mailbox, a.uid).await?;
    ensure!(b2[..] == bytes[..], "bytes after reopen");
    let i2 = store.message_info(&acct, a.mailbox, a.uid).await?;
    ensure_eq!(
        (i2.size, i2.internal_date),
        (info.size, info.internal_date),
        "size and INTERNALDATE after reopen"
    );
    let ch = store
        .changes_since(&acct, a.mailbox, before_expunge)
        .await?;
    ensure_eq!(ch.expunged, vec![c.uid], "tombstones after reopen");
    let d = store
        .append(&acct, &inbox, test_message("d", &[], 4))
        .await?;
    ensure!(d.uid > c.uid, "UID {} reused after reopen", d.uid);
    let re = store.create_mailbox(&acct, &mbox("Gone"), None).await?;
    ensure!(re != gone, "mailbox id reused after reopen");
    let v = store.snapshot(&acct, &mbox("Gone")).await?.uidvalidity;
    ensure!(
        !validities.contains(&v),
        "UIDVALIDITY {v} reused after reopen"
    );
    Ok(())
}
