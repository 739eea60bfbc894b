//! The selected mailbox as this session sees it: sequence numbers ⇄ UIDs, flags, \Recent,
//! and the resync that turns store changes into EXISTS / EXPUNGE / FETCH responses.

use std::collections::HashSet;

use super::Session;
use crate::response::{write_status, write_untagged, Status};
use crate::store::{MailboxId, MessageMeta, Snapshot, Store, StoreError};
use crate::types::{Flag, SeqBound, SequenceSet, Uid};

/// One message in the view (its sequence number is its index + 1).
#[derive(Debug, Clone)]
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
    pub messages: Vec<ViewMessage>,
    /// UIDs that are \Recent in this session.
    pub recent: HashSet<Uid>,
    /// Keywords announced in FLAGS so far.
    pub keywords: Vec<String>,
    /// Expunged in the store but not yet announced (expunges were not allowed).
    pub pending_expunge: Vec<Uid>,
    /// Result of the last `SEARCH RETURN (SAVE)`, as UIDs (RFC 5182 `$`).
    pub saved: Vec<Uid>,
}

impl SelectedView {
    pub fn from_snapshot(snap: Snapshot, read_only: bool) -> SelectedView {
        SelectedView {
            id: snap.id,
            read_only,
            uidvalidity: snap.uidvalidity,
            uidnext: snap.uidnext,
            modseq: snap.highest_modseq,
            messages: snap
                .messages
                .into_iter()
                .map(|m| ViewMessage {
                    uid: m.uid,
                    flags: m.flags,
                    modseq: m.modseq,
                })
                .collect(),
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
                    }
                    view.messages[idx].modseq = modseq;
                }
                None if uid > last_uid => {
                    view.messages.push(ViewMessage { uid, flags, modseq });
                    new_uids.push(uid);
                }
                None => {}
            }
        }
        view.modseq = view.modseq.max(changes.highest_modseq);
        view.uidnext = view.uidnext.max(changes.uidnext);
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
