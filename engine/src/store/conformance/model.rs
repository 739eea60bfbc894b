//! A seeded random walk over the Store API that checks, after every step, the invariants a
//! resyncing client relies on: identity, monotonic counters, and `changes_since` exactness.

use std::collections::HashMap;

use super::{login, mbox, test_message, CaseResult, Failure, TestBackend};
use crate::command::StoreOp;
use crate::store::{Account, MailboxId, Snapshot, StoreError};
use crate::types::{Flag, Uid};

/// A tiny deterministic PRNG (xorshift64*), so a failure replays exactly.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        items.get(self.below(items.len()))
    }
    fn subset(&mut self, uids: &[Uid]) -> Vec<Uid> {
        let mut out: Vec<Uid> = uids
            .iter()
            .copied()
            .filter(|_| self.below(3) == 0)
            .collect();
        if self.below(4) == 0 {
            out.push(uids.last().copied().unwrap_or(0) + 7); // a UID that does not exist
        }
        out
    }
    fn flags(&mut self) -> Vec<Flag> {
        let all = [
            Flag::Seen,
            Flag::Flagged,
            Flag::Deleted,
            Flag::Answered,
            Flag::Draft,
            Flag::Recent,
            Flag::Keyword("$Label1".into()),
            Flag::Keyword("Work".into()),
        ];
        all.into_iter().filter(|_| self.below(3) == 0).collect()
    }
}

const NAMES: [&str; 6] = ["INBOX", "Archive", "Trash", "F", "F/G", "H"];

/// 300 random APPEND/STORE/EXPUNGE/COPY/MOVE/CREATE/DELETE/RENAME steps (seeded, so a
/// failure replays). After each: a mailbox id keeps its UIDVALIDITY and no other id shares
/// it; UIDNEXT and HIGHESTMODSEQ never go back; UIDs are ascending and below UIDNEXT;
/// `\Recent` is never stored; and `changes_since(previous HIGHESTMODSEQ)` reports exactly
/// the messages that are new or changed and every UID that disappeared.
pub async fn random_operations_keep_invariants<S: TestBackend>(store: &S) -> CaseResult {
    let acct = login(store, "alice").await?;
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut last: HashMap<MailboxId, Snapshot> = HashMap::new();
    let mut validity_owner: HashMap<u32, MailboxId> = HashMap::new();
    for step in 0..300 {
        let op = step_once(store, &acct, &mut rng).await;
        match op {
            Ok(_) => {}
            Err((what, e)) => match e {
                StoreError::NoSuchMailbox
                | StoreError::AlreadyExists
                | StoreError::HasChildren
                | StoreError::Cannot(_) => {}
                other => {
                    return Err(Failure(format!(
                        "step {step}: {what} failed unexpectedly: {other:?}"
                    )))
                }
            },
        }
        check(store, &acct, step, &mut last, &mut validity_owner).await?;
    }
    Ok(())
}

type StepResult = Result<&'static str, (&'static str, StoreError)>;

async fn step_once<S: TestBackend>(store: &S, acct: &Account, rng: &mut Rng) -> StepResult {
    let name = mbox(rng.pick(&NAMES).copied().unwrap_or("INBOX"));
    let other = mbox(rng.pick(&NAMES).copied().unwrap_or("INBOX"));
    let snap = store.snapshot(acct, &name).await;
    let (id, uids) = match &snap {
        Ok(s) => (s.id, s.messages.iter().map(|m| m.uid).collect::<Vec<_>>()),
        Err(_) => (0, Vec::new()),
    };
    let op = rng.below(20);
    let tag = |what: &'static str| move |e: StoreError| (what, e);
    match op {
        0..=5 => {
            let day = u8::try_from(rng.below(28) + 1).unwrap_or(1);
            let flags = rng.flags();
            store
                .append(acct, &name, test_message("random", &flags, day))
                .await
                .map_err(tag("APPEND"))?;
            Ok("APPEND")
        }
        6..=9 => {
            let ops = [StoreOp::Add, StoreOp::Remove, StoreOp::Replace];
            let sop = rng.pick(&ops).copied().unwrap_or(StoreOp::Add);
            let targets = rng.subset(&uids);
            let flags = rng.flags();
            store
                .store_flags(acct, id, &targets, sop, &flags, None)
                .await
                .map_err(tag("STORE"))?;
            Ok("STORE")
        }
        10..=11 => {
            let targets = rng.subset(&uids);
            store
                .expunge(acct, id, &targets)
                .await
                .map_err(tag("EXPUNGE"))?;
            Ok("EXPUNGE")
        }
        12..=13 => {
            let targets = rng.subset(&uids);
            store
                .copy(acct, id, &targets, &other)
                .await
                .map_err(tag("COPY"))?;
            Ok("COPY")
        }
        14..=15 => {
            let targets = rng.subset(&uids);
            store
                .move_messages(acct, id, &targets, &other)
                .await
                .map_err(tag("MOVE"))?;
            Ok("MOVE")
        }
        16..=17 => {
            store
                .create_mailbox(acct, &name, None)
                .await
                .map_err(tag("CREATE"))?;
            Ok("CREATE")
        }
        18 => {
            store
                .delete_mailbox(acct, &name)
                .await
                .map_err(tag("DELETE"))?;
            Ok("DELETE")
        }
        _ => {
            store
                .rename_mailbox(acct, &name, &other)
                .await
                .map_err(tag("RENAME"))?;
            Ok("RENAME")
        }
    }
}

async fn check<S: TestBackend>(
    store: &S,
    acct: &Account,
    step: usize,
    last: &mut HashMap<MailboxId, Snapshot>,
    validity_owner: &mut HashMap<u32, MailboxId>,
) -> CaseResult {
    for info in store.list_mailboxes(acct).await? {
        let snap = store.snapshot(acct, &info.name).await?;
        let at = format!("step {step}, {}", info.name.0);
        ensure_eq!(snap.id, info.id, "{at}: snapshot id vs LIST id");
        let owner = *validity_owner.entry(snap.uidvalidity).or_insert(snap.id);
        ensure_eq!(
            owner,
            snap.id,
            "{at}: UIDVALIDITY {} reused",
            snap.uidvalidity
        );
        let mut prev_uid = 0;
        for m in &snap.messages {
            ensure!(m.uid > prev_uid, "{at}: UIDs not ascending at {}", m.uid);
            ensure!(m.uid < snap.uidnext, "{at}: UID {} >= UIDNEXT", m.uid);
            ensure!(
                m.modseq <= snap.highest_modseq,
                "{at}: modseq above HIGHESTMODSEQ"
            );
            ensure!(!m.flags.contains(&Flag::Recent), "{at}: \\Recent stored");
            prev_uid = m.uid;
        }
        if let Some(prev) = last.get(&snap.id) {
            ensure_eq!(
                snap.uidvalidity,
                prev.uidvalidity,
                "{at}: UIDVALIDITY changed"
            );
            ensure!(snap.uidnext >= prev.uidnext, "{at}: UIDNEXT went back");
            ensure!(
                snap.highest_modseq >= prev.highest_modseq,
                "{at}: HIGHESTMODSEQ went back"
            );
            let ch = store
                .changes_since(acct, snap.id, prev.highest_modseq)
                .await?;
            let want_changed: Vec<_> = snap
                .messages
                .iter()
                .filter(|m| !prev.messages.contains(m))
                .cloned()
                .collect();
            ensure_eq!(ch.changed, want_changed, "{at}: changes_since changed");
            for old in &prev.messages {
                let now = snap.messages.iter().find(|m| m.uid == old.uid);
                match now {
                    None => ensure!(
                        ch.expunged.contains(&old.uid),
                        "{at}: UID {} vanished but is not reported expunged",
                        old.uid
                    ),
                    Some(now) => ensure!(
                        now.flags != old.flags || now.modseq == old.modseq,
                        "{at}: UID {} got a new modseq without a flag change",
                        old.uid
                    ),
                }
            }
            for uid in &ch.expunged {
                ensure!(
                    !snap.messages.iter().any(|m| m.uid == *uid),
                    "{at}: UID {uid} reported expunged but still there"
                );
            }
        }
        last.insert(snap.id, snap);
    }
    Ok(())
}
