//! Answers to the read-only questions every watching session asks right after a change
//! ("what changed since modseq m?", "is anything left to claim as \Recent?"), shared until
//! the next write commits.
//!
//! When a message arrives in a mailbox that N sessions IDLE on, all N wake and ask the same
//! two questions about the same state. Without this, each asks redb in its own read
//! transaction (the profile of 10,000 watchers showed that per-session read as the cost that
//! grows with N); with it, the first computes the answer and the others copy it.
//!
//! It also tracks which mailboxes have a \Recent claim being written, so that the sessions
//! woken together do not all queue a write transaction (and a blocking-pool thread each)
//! for a claim only the first can win.
//!
//! Correctness: every write transaction calls [`Memo::invalidate`] after it commits, which
//! bumps a generation and forgets everything. A reader takes the generation *before* it
//! begins its read transaction and stores its answer only if the generation is still the
//! same, so an answer computed from a snapshot that a later commit made stale is never kept.
//! (A lookup that races with a commit may still get the answer from just before it: the
//! same as a reader that started a moment earlier. Watchers are woken only after the
//! commit's invalidation, so every wake-up sees the new state.)

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use tidings_engine::store::{Changes, MailboxId};

/// More distinct questions than this between two writes (sessions at many different
/// modseqs) and the memo starts over rather than grow.
const MAX_ENTRIES: usize = 4096;

#[derive(Default)]
struct State {
    generation: u64,
    /// (mailbox, modseq) → (account, answer).
    changes: HashMap<(MailboxId, u64), (String, Changes)>,
    /// Mailboxes (with their account) whose recent mark has reached UIDNEXT.
    settled: HashMap<MailboxId, String>,
}

/// See the module docs. One per store; cheap to query.
#[derive(Default)]
pub(crate) struct Memo {
    state: Mutex<State>,
    claiming: Mutex<HashSet<MailboxId>>,
}

/// A \Recent claim in progress on a mailbox; ends when dropped.
pub(crate) struct Claim<'a> {
    memo: &'a Memo,
    mailbox: MailboxId,
}

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        self.memo.claims().remove(&self.mailbox);
    }
}

impl Memo {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn claims(&self) -> std::sync::MutexGuard<'_, HashSet<MailboxId>> {
        self.claiming.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts a \Recent claim on `mailbox`, unless one is in progress: then the caller has
    /// nothing to claim (the other claim takes what is there; a message that arrives after
    /// it started wakes every session again).
    pub fn begin_claim(&self, mailbox: MailboxId) -> Option<Claim<'_>> {
        // Not `then_some`: that would build (and drop) a Claim when the insert fails, and
        // its drop would end the other session's claim.
        let started = self.claims().insert(mailbox);
        if started {
            Some(Claim {
                memo: self,
                mailbox,
            })
        } else {
            None
        }
    }

    /// The current generation: take it before beginning a read whose answer may be kept.
    pub fn generation(&self) -> u64 {
        self.lock().generation
    }

    /// Forgets every answer. Called after each write transaction commits.
    pub fn invalidate(&self) {
        let mut s = self.lock();
        s.generation += 1;
        s.changes.clear();
        s.settled.clear();
    }

    /// A kept answer to "changes in `mailbox` of `user` after `modseq`".
    pub fn changes(&self, user: &str, mailbox: MailboxId, modseq: u64) -> Option<Changes> {
        let s = self.lock();
        match s.changes.get(&(mailbox, modseq)) {
            Some((owner, changes)) if owner == user => Some(changes.clone()),
            _ => None,
        }
    }

    /// Keeps an answer computed from a read that began at generation `seen`.
    pub fn keep_changes(
        &self,
        seen: u64,
        user: &str,
        mailbox: MailboxId,
        modseq: u64,
        changes: &Changes,
    ) {
        let mut s = self.lock();
        if s.generation != seen {
            return;
        }
        if s.changes.len() >= MAX_ENTRIES {
            s.changes.clear();
        }
        s.changes
            .insert((mailbox, modseq), (user.to_string(), changes.clone()));
    }

    /// True if a read since the last write found nothing to claim as \Recent in `mailbox`.
    pub fn settled(&self, user: &str, mailbox: MailboxId) -> bool {
        self.lock()
            .settled
            .get(&mailbox)
            .is_some_and(|owner| owner == user)
    }

    /// Records that a read begun at generation `seen` found nothing to claim.
    pub fn keep_settled(&self, seen: u64, user: &str, mailbox: MailboxId) {
        let mut s = self.lock();
        if s.generation != seen {
            return;
        }
        if s.settled.len() >= MAX_ENTRIES {
            s.settled.clear();
        }
        s.settled.insert(mailbox, user.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn changes(modseq: u64) -> Changes {
        Changes {
            highest_modseq: modseq,
            ..Changes::default()
        }
    }

    #[test]
    fn answers_are_kept_until_the_next_write() {
        let memo = Memo::default();
        let g = memo.generation();
        memo.keep_changes(g, "alice", 7, 3, &changes(5));
        assert_eq!(memo.changes("alice", 7, 3), Some(changes(5)));
        assert_eq!(memo.changes("alice", 7, 4), None, "other modseq");
        assert_eq!(memo.changes("bob", 7, 3), None, "other account");
        memo.invalidate();
        assert_eq!(memo.changes("alice", 7, 3), None);
    }

    #[test]
    fn an_answer_from_before_a_write_is_not_kept() {
        let memo = Memo::default();
        let g = memo.generation();
        memo.invalidate(); // a write committed while the read ran
        memo.keep_changes(g, "alice", 7, 3, &changes(5));
        memo.keep_settled(g, "alice", 7);
        assert_eq!(memo.changes("alice", 7, 3), None);
        assert!(!memo.settled("alice", 7));
    }

    #[test]
    fn one_claim_at_a_time_per_mailbox() {
        let memo = Memo::default();
        let first = memo.begin_claim(7).expect("first claim");
        assert!(
            memo.begin_claim(7).is_none(),
            "second claim while the first runs"
        );
        assert!(memo.begin_claim(8).is_some(), "other mailbox");
        drop(first);
        assert!(memo.begin_claim(7).is_some(), "after the first ended");
    }

    #[test]
    fn settled_is_per_account_and_forgotten_on_write() {
        let memo = Memo::default();
        memo.keep_settled(memo.generation(), "alice", 7);
        assert!(memo.settled("alice", 7));
        assert!(!memo.settled("bob", 7));
        memo.invalidate();
        assert!(!memo.settled("alice", 7));
    }
}
