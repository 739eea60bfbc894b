//! The selected mailbox as this session sees it: sequence numbers ⇄ UIDs, flags, \Recent,
//! and the resync that turns store changes into EXISTS / EXPUNGE / FETCH responses.

use std::collections::{HashMap, HashSet};
use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Mutex, Weak};

use super::Session;
use crate::response::{write_status, write_untagged, Status};
use crate::store::{MailboxId, MessageMeta, Snapshot, Store, StoreError};
use crate::types::{Flag, SeqBound, SequenceSet, Uid};

/// One message in the view (its sequence number is its index + 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ViewMessage {
    pub uid: Uid,
    pub flags: Vec<Flag>,
    /// The message's modseq as last reported to this session (CONDSTORE).
    pub modseq: u64,
}

/// The selected mailbox.
#[derive(Debug)]
pub(super) struct SelectedView {
    pub id: MailboxId,
    pub read_only: bool,
    pub uidvalidity: u32,
    pub uidnext: Uid,
    /// Highest modseq this view has caught up with.
    pub modseq: u64,
    pub messages: Messages,
    /// UIDs that are \Recent in this session.
    pub recent: HashSet<Uid>,
    /// Keywords announced in FLAGS so far.
    pub keywords: Vec<String>,
    /// Expunged in the store but not yet announced (expunges were not allowed).
    pub pending_expunge: Vec<Uid>,
    /// Result of the last `SEARCH RETURN (SAVE)`, as UIDs (RFC 5182 `$`).
    pub saved: Vec<Uid>,
}

/// The message list of a view. Sessions that see a mailbox in the same state share one
/// list (10,000 sessions IDLE-ing on one INBOX hold one copy, not 10,000); a session that
/// changes its list first gets a copy of its own (copy on write, `Arc::make_mut`), and
/// [`SharedViews::share`] joins it to the others again once they are equal.
///
/// Reads go through `Deref` to the slice; writes (`DerefMut`, `remove`) copy first
/// if the list is shared, so a write must be made only where something really changes.
#[derive(Debug, Clone, Default)]
pub(super) struct Messages(Arc<Vec<ViewMessage>>);

impl Deref for Messages {
    type Target = [ViewMessage];
    fn deref(&self) -> &[ViewMessage] {
        &self.0
    }
}

impl DerefMut for Messages {
    fn deref_mut(&mut self) -> &mut [ViewMessage] {
        Arc::make_mut(&mut self.0).as_mut_slice()
    }
}

impl Messages {
    pub fn remove(&mut self, index: usize) -> ViewMessage {
        Arc::make_mut(&mut self.0).remove(index)
    }

    /// True if `other` is this very list (not merely an equal one).
    #[cfg(test)]
    fn same_list(&self, other: &Messages) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

/// Where sessions find the message lists they can share: per mailbox, the list the last
/// session to select or update that mailbox ended up with (held weakly: it goes when the
/// last session holding it lets go). A list is shared only if it is equal, message for
/// message, so sharing never changes what a session sees; it only saves memory.
///
/// One registry serves all the sessions of a host: it sits in [`super::SessionConfig`],
/// whose clones share it.
#[derive(Clone, Default)]
pub struct SharedViews(Arc<Mutex<Registry>>);

#[derive(Default)]
struct Registry {
    lists: HashMap<MailboxId, Registered>,
    /// Entries of dropped lists are swept when the map grows past this.
    sweep_at: usize,
}

/// A mailbox's registered list and, if it was made by appending arrivals to a shared list,
/// that list: a session still holding it adopts the new one by checking only the arrivals.
struct Registered {
    list: Weak<Vec<ViewMessage>>,
    parent: Weak<Vec<ViewMessage>>,
}

impl Registry {
    fn list(&self, mailbox: MailboxId) -> Option<Arc<Vec<ViewMessage>>> {
        self.lists.get(&mailbox).and_then(|r| r.list.upgrade())
    }
}

impl std::fmt::Debug for SharedViews {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SharedViews")
    }
}

impl SharedViews {
    fn registry(&self) -> std::sync::MutexGuard<'_, Registry> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `list` as a [`Messages`]: the registered list of `mailbox` if it is equal (and `list`
    /// is dropped), else `list` itself, which becomes the registered one.
    fn share(&self, mailbox: MailboxId, list: Vec<ViewMessage>) -> Messages {
        let known = self.registry().list(mailbox);
        // Compared outside the lock: a big mailbox takes a while.
        if let Some(known) = known {
            if *known == list {
                return Messages(known);
            }
        }
        let list = Arc::new(list);
        self.register(mailbox, &list, Weak::new());
        Messages(list)
    }

    /// Re-joins `messages` (just changed by a resync) with the registered list of `mailbox`
    /// if they are equal again, or registers it for the sessions that follow.
    pub(super) fn reshare(&self, mailbox: MailboxId, messages: &mut Messages) {
        self.reshare_from(mailbox, messages, Weak::new());
    }

    /// [`SharedViews::reshare`], registering `parent` as the list `messages` grew from.
    fn reshare_from(
        &self,
        mailbox: MailboxId,
        messages: &mut Messages,
        parent: Weak<Vec<ViewMessage>>,
    ) {
        let known = self.registry().list(mailbox);
        match known {
            Some(known) if Arc::ptr_eq(&known, &messages.0) => {}
            Some(known) if *known == *messages.0 => messages.0 = known,
            _ => self.register(mailbox, &messages.0, parent),
        }
    }

    /// Appends messages that arrived to `messages`. When nothing else changed in it
    /// (`only_arrivals`), it is shared, and the registered list is exactly it plus `arrived`
    /// (another session that held the same list took the same step first), that list is
    /// adopted: 10,000 IDLE-ing sessions told of one new message make one copy, not 10,000.
    pub(super) fn extend(
        &self,
        mailbox: MailboxId,
        messages: &mut Messages,
        arrived: Vec<ViewMessage>,
        only_arrivals: bool,
    ) {
        let shared = Arc::strong_count(&messages.0) > 1;
        if only_arrivals && shared {
            let found = {
                let reg = self.registry();
                reg.lists.get(&mailbox).map(|r| {
                    let grew_from_ours = std::ptr::eq(r.parent.as_ptr(), Arc::as_ptr(&messages.0));
                    (r.list.upgrade(), grew_from_ours)
                })
            };
            if let Some((Some(known), grew_from_ours)) = found {
                let n = messages.len();
                // The list grown from this very one needs only its arrivals checked; any
                // other list is compared whole (O(messages), which on a big mailbox with
                // thousands of watchers would cost each of them).
                if known.len() == n + arrived.len()
                    && known[n..] == arrived[..]
                    && (grew_from_ours || known[..n] == messages[..])
                {
                    messages.0 = known;
                    return;
                }
            }
        }
        let parent = if shared {
            Arc::downgrade(&messages.0)
        } else {
            Weak::new()
        };
        Arc::make_mut(&mut messages.0).extend(arrived);
        self.reshare_from(mailbox, messages, parent);
    }

    fn register(
        &self,
        mailbox: MailboxId,
        list: &Arc<Vec<ViewMessage>>,
        parent: Weak<Vec<ViewMessage>>,
    ) {
        let mut reg = self.registry();
        let list = Arc::downgrade(list);
        reg.lists.insert(mailbox, Registered { list, parent });
        if reg.lists.len() > reg.sweep_at {
            reg.lists.retain(|_, r| r.list.strong_count() > 0);
            reg.sweep_at = (reg.lists.len() * 2).max(64);
        }
    }
}

impl SelectedView {
    /// The view of a freshly selected mailbox; its message list is shared with the other
    /// sessions of `shared` that see the mailbox in the same state.
    pub fn from_snapshot(snap: Snapshot, read_only: bool, shared: &SharedViews) -> SelectedView {
        let messages = snap
            .messages
            .into_iter()
            .map(|m| ViewMessage {
                uid: m.uid,
                flags: m.flags,
                modseq: m.modseq,
            })
            .collect();
        SelectedView {
            id: snap.id,
            read_only,
            uidvalidity: snap.uidvalidity,
            uidnext: snap.uidnext,
            modseq: snap.highest_modseq,
            messages: shared.share(snap.id, messages),
            recent: HashSet::new(),
            keywords: snap.keywords,
            pending_expunge: Vec::new(),
            saved: Vec::new(),
        }
    }

    /// Sequence number of a UID.
    pub fn seq_of(&self, uid: Uid) -> Option<u32> {
        self.messages
            .binary_search_by_key(&uid, |m| m.uid)
            .ok()
            .map(|i| i as u32 + 1)
    }

    pub fn exists(&self) -> u32 {
        self.messages.len() as u32
    }

    pub fn recent_count(&self) -> u32 {
        self.messages
            .iter()
            .filter(|m| self.recent.contains(&m.uid))
            .count() as u32
    }

    /// The FLAGS list to show for a message: stored system flags, `\Recent`, then keywords
    /// (Dovecot's order).
    pub fn display_flags(&self, uid: Uid, flags: &[Flag]) -> String {
        let mut out = Vec::new();
        self.write_flags(&mut out, uid, flags);
        String::from_utf8_lossy(&out).into_owned()
    }

    /// Writes the FLAGS list of [`SelectedView::display_flags`] straight into `out`.
    pub fn write_flags(&self, out: &mut Vec<u8>, uid: Uid, flags: &[Flag]) {
        let is_keyword = |f: &&Flag| matches!(f, Flag::Keyword(_) | Flag::Extension(_));
        let recent = self.recent.contains(&uid).then_some("\\Recent");
        let system = flags.iter().filter(|f| !is_keyword(f)).map(|f| f.as_str());
        let keywords = flags.iter().filter(is_keyword).map(|f| f.as_str());
        out.push(b'(');
        for (i, f) in system.chain(recent).chain(keywords).enumerate() {
            if i > 0 {
                out.push(b' ');
            }
            out.extend_from_slice(f.as_bytes());
        }
        out.push(b')');
    }

    /// The messages a set names, as (seq, index) in ascending order. Sequence numbers outside
    /// 1..=EXISTS are an error (Dovecot: "Invalid messageset"); UIDs that don't exist are
    /// simply skipped.
    pub fn resolve(&self, set: &SequenceSet, uid: bool) -> Result<Vec<usize>, String> {
        let ranges = match set {
            SequenceSet::Saved => {
                let mut idx: Vec<usize> = self
                    .saved
                    .iter()
                    .filter_map(|u| self.seq_of(*u).map(|s| s as usize - 1))
                    .collect();
                idx.sort_unstable();
                return Ok(idx);
            }
            SequenceSet::Ranges(r) => r,
        };
        let mut out = Vec::new();
        if uid {
            let star = self.messages.last().map_or(0, |m| m.uid);
            for &(a, b) in ranges {
                let (lo, hi) = order(bound(a, star), bound(b, star));
                let start = self.messages.partition_point(|m| m.uid < lo);
                for (i, m) in self.messages.iter().enumerate().skip(start) {
                    if m.uid > hi {
                        break;
                    }
                    out.push(i);
                }
            }
        } else {
            let n = self.exists();
            for &(a, b) in ranges {
                let (lo, hi) = order(bound(a, n), bound(b, n));
                if lo == 0 || hi > n {
                    return Err("Invalid messageset".into());
                }
                out.extend((lo - 1) as usize..hi as usize);
            }
        }
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }
}

fn bound(b: SeqBound, star: u32) -> u32 {
    match b {
        SeqBound::Value(v) => v,
        SeqBound::Star => star,
    }
}

fn order(a: u32, b: u32) -> (u32, u32) {
    if a <= b {
        (a, b)
    } else {
        (b, a)
    }
}

/// `* FLAGS (...)` and `* OK [PERMANENTFLAGS (...)]` for a view.
pub(super) fn write_flags(out: &mut Vec<u8>, keywords: &[String], read_only: bool) {
    let mut flags = String::from("\\Answered \\Flagged \\Deleted \\Seen \\Draft");
    for k in keywords {
        flags.push(' ');
        flags.push_str(k);
    }
    write_untagged(out, &format!("FLAGS ({flags})"));
    let perm = if read_only {
        String::new()
    } else {
        format!("{flags} \\*")
    };
    write_status(
        out,
        None,
        Status::Ok,
        Some(&format!("PERMANENTFLAGS ({perm})")),
        "Flags permitted.",
    );
}

impl Session {
    /// Brings the selected view up to date with the store and reports the differences:
    /// EXPUNGE (only if `allow_expunge`), FETCH for flag changes, EXISTS/RECENT for new mail.
    pub(super) async fn sync<S: Store>(&mut self, store: &S, allow_expunge: bool) {
        let (Some(view), Some(account)) = (self.selected.as_mut(), self.account.as_ref()) else {
            return;
        };
        let changes = match store.changes_since(account, view.id, view.modseq).await {
            Ok(c) => c,
            Err(StoreError::NoSuchMailbox) => {
                write_status(
                    &mut self.out,
                    None,
                    Status::Bye,
                    None,
                    "Selected mailbox was deleted, have to disconnect.",
                );
                self.close();
                return;
            }
            Err(e) => {
                tracing::warn!(error = %e, "resync failed");
                return;
            }
        };
        // Whether the message list changed (then it may be shared with others again).
        let mut changed = false;
        for uid in changes.expunged {
            if view.seq_of(uid).is_some() && !view.pending_expunge.contains(&uid) {
                view.pending_expunge.push(uid);
            }
        }
        if allow_expunge && !view.pending_expunge.is_empty() {
            view.pending_expunge.sort_unstable();
            for uid in std::mem::take(&mut view.pending_expunge) {
                if let Some(seq) = view.seq_of(uid) {
                    write_untagged(&mut self.out, &format!("{seq} EXPUNGE"));
                    view.messages.remove(seq as usize - 1);
                    view.recent.remove(&uid);
                    changed = true;
                }
            }
        }
        if changes.keywords.iter().any(|k| !view.keywords.contains(k)) {
            for k in changes.keywords {
                if !view.keywords.contains(&k) {
                    view.keywords.push(k);
                }
            }
            write_flags(&mut self.out, &view.keywords, view.read_only);
        }
        let last_uid = view.messages.last().map_or(0, |m| m.uid);
        let mut new_uids = Vec::new();
        // New messages are added after the loop, in one step that can adopt another
        // session's list instead of copying the shared one.
        let mut arrived = Vec::new();
        for MessageMeta { uid, flags, modseq } in changes.changed {
            if view.pending_expunge.contains(&uid) {
                continue;
            }
            match view.seq_of(uid) {
                Some(seq) => {
                    let idx = seq as usize - 1;
                    if view.messages[idx].flags != flags {
                        let shown = view.display_flags(uid, &flags);
                        // With CONDSTORE every FETCH carries the new MODSEQ (RFC 7162 §3.2).
                        let modseq_part = if self.condstore {
                            format!(" MODSEQ ({modseq})")
                        } else {
                            String::new()
                        };
                        write_untagged(
                            &mut self.out,
                            &format!("{seq} FETCH (UID {uid} FLAGS {shown}{modseq_part})"),
                        );
                        view.messages[idx].flags = flags;
                        changed = true;
                    }
                    // Written only if different: a write copies a shared list.
                    if view.messages[idx].modseq != modseq {
                        view.messages[idx].modseq = modseq;
                        changed = true;
                    }
                }
                None if uid > last_uid => {
                    arrived.push(ViewMessage { uid, flags, modseq });
                    new_uids.push(uid);
                }
                None => {}
            }
        }
        view.modseq = view.modseq.max(changes.highest_modseq);
        view.uidnext = view.uidnext.max(changes.uidnext);
        let shared = &self.config.shared_views;
        if !arrived.is_empty() {
            shared.extend(view.id, &mut view.messages, arrived, !changed);
        } else if changed {
            shared.reshare(view.id, &mut view.messages);
        }
        if !new_uids.is_empty() {
            if !view.read_only {
                match store.claim_recent(account, view.id).await {
                    Ok(claimed) => view.recent.extend(claimed),
                    Err(e) => tracing::warn!(error = %e, "claim_recent failed"),
                }
            }
            let exists = view.exists();
            let recent = view.recent_count();
            write_untagged(&mut self.out, &format!("{exists} EXISTS"));
            write_untagged(&mut self.out, &format!("{recent} RECENT"));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::harness::Harness;
    use crate::store::MemoryStore;

    fn bench() -> Harness<MemoryStore> {
        let store = MemoryStore::new();
        store.add_user("bob", "pw").unwrap();
        let mut h = Harness::new(store);
        let (w, _) = h.connect();
        h.send(w, "l LOGIN bob pw\r\n");
        for i in 1..=3 {
            let out = h.send(w, format!("a{i} APPEND INBOX {{5+}}\r\nhello\r\n"));
            assert!(out.contains(&format!("a{i} OK")), "{out}");
        }
        h
    }

    fn select(h: &mut Harness<MemoryStore>) -> usize {
        let (c, _) = h.connect();
        h.send(c, "l LOGIN bob pw\r\n");
        let out = h.send(c, "s SELECT INBOX\r\n");
        assert!(out.contains("s OK"), "{out}");
        c
    }

    fn shared(h: &Harness<MemoryStore>, a: usize, b: usize) -> bool {
        let list = |c: usize| &h.session(c).selected.as_ref().unwrap().messages;
        list(a).same_list(list(b))
    }

    #[test]
    fn sessions_in_the_same_state_share_one_message_list() {
        let mut h = bench();
        let (a, b, c) = (select(&mut h), select(&mut h), select(&mut h));
        assert!(shared(&h, a, b) && shared(&h, a, c));

        // A flag change: `a` gets a list of its own, `b` joins it when it catches up.
        let out = h.send(a, "f STORE 1 +FLAGS (\\Flagged)\r\n");
        assert!(out.contains("* 1 FETCH (FLAGS (\\Flagged"), "{out}");
        assert!(!shared(&h, a, b));
        let out = h.send(b, "n NOOP\r\n");
        assert!(out.contains("* 1 FETCH (UID 1 FLAGS (\\Flagged"), "{out}");
        assert!(shared(&h, a, b));
        h.send(c, "n NOOP\r\n");
        assert!(shared(&h, a, c));

        // New mail pushed to IDLE-ing sessions: the first copies the list, the second
        // adopts that copy while the last still holds the old one, the last joins them.
        for s in [a, b, c] {
            h.send(s, "i IDLE\r\n");
        }
        let w = 0;
        h.send(w, "x APPEND INBOX {5+}\r\nhello\r\n");
        for s in [a, b, c] {
            assert!(h.take(s).contains("* 4 EXISTS"));
            h.send(s, "DONE\r\n");
        }
        assert!(shared(&h, a, b) && shared(&h, a, c));

        // An expunge held back by a FETCH (RFC 9051 §7.5.1) keeps `b` apart until it is told.
        h.send(w, "s SELECT INBOX\r\n");
        h.send(w, "d STORE 2 +FLAGS.SILENT (\\Deleted)\r\n");
        let out = h.send(w, "e EXPUNGE\r\n");
        assert!(out.contains("* 2 EXPUNGE"), "{out}");
        h.send(a, "n NOOP\r\n");
        let out = h.send(b, "f FETCH 1:* (FLAGS)\r\n");
        assert!(!out.contains("EXPUNGE"), "{out}");
        assert!(!shared(&h, a, b));
        let out = h.send(b, "n NOOP\r\n");
        assert!(out.contains("* 2 EXPUNGE"), "{out}");
        assert!(shared(&h, a, b));
    }

    #[test]
    fn a_list_nobody_holds_is_not_kept() {
        let mut h = bench();
        let a = select(&mut h);
        let weak = {
            let list = &h.session(a).selected.as_ref().unwrap().messages;
            std::sync::Arc::downgrade(&list.0)
        };
        h.send(a, "c CLOSE\r\n");
        assert!(weak.upgrade().is_none(), "the registry holds lists weakly");
    }
}
