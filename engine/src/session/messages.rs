//! Commands on messages of the selected mailbox other than FETCH: STORE, SEARCH, COPY, MOVE,
//! EXPUNGE and UID EXPUNGE.

use super::bytes_run::BytesRun;
use super::view::write_flags;
use super::Session;
use crate::command::{SearchKey, StoreOp};
use crate::response::{compact_set, write_status, write_untagged, Status};
use crate::search::{
    charset_supported, header_field_names, matches_with_modseq, needs_content, needs_metadata,
    MessageView,
};
use crate::store::{Store, StoreError};
use crate::types::{Flag, SeqBound, SequenceSet, Uid};

/// SEARCH asks the store about this many messages at a time: one pass each, bounded memory.
const SEARCH_CHUNK: usize = 2048;

impl Session {
    /// Resolves a set against the view, answering `BAD` itself when it is invalid.
    pub(super) fn resolve_or_bad(
        &mut self,
        tag: &str,
        set: &SequenceSet,
        uid: bool,
    ) -> Option<Vec<usize>> {
        let view = self.selected.as_ref()?;
        match view.resolve(set, uid) {
            Ok(v) => Some(v),
            Err(why) => {
                write_status(&mut self.out, Some(tag), Status::Bad, None, &why);
                None
            }
        }
    }

    fn refuse_read_only(&mut self, tag: &str) -> bool {
        if self.selected.as_ref().is_some_and(|v| v.read_only) {
            write_status(
                &mut self.out,
                Some(tag),
                Status::No,
                Some("READ-ONLY"),
                "Mailbox is read-only.",
            );
            return true;
        }
        false
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) async fn store_flags<S: Store>(
        &mut self,
        store: &S,
        tag: &str,
        uid: bool,
        set: &SequenceSet,
        op: StoreOp,
        silent: bool,
        flags: Vec<Flag>,
        unchanged_since: Option<u64>,
    ) {
        if flags.iter().any(|f| matches!(f, Flag::Extension(_))) {
            return write_status(
                &mut self.out,
                Some(tag),
                Status::Bad,
                None,
                "Invalid system flag.",
            );
        }
        if self.refuse_read_only(tag) {
            return;
        }
        let Some(idx) = self.resolve_or_bad(tag, set, uid) else {
            return;
        };
        let (Some(view), Some(account)) = (self.selected.as_mut(), self.account.as_ref()) else {
            return;
        };
        // \Recent belongs to the server (RFC 3501 §2.3.2): ignored in STORE.
        let flags: Vec<Flag> = flags.into_iter().filter(|f| *f != Flag::Recent).collect();
        let uids: Vec<Uid> = idx.iter().map(|&i| view.messages[i].uid).collect();
        let (metas, refused) = match store
            .store_flags(account, view.id, &uids, op, &flags, unchanged_since)
            .await
        {
            Ok(r) => r,
            Err(e) => return self.store_error(tag, &e),
        };
        // A new keyword is announced before the FETCH responses that carry it (as Dovecot).
        let mut new_kw = false;
        for f in &flags {
            if let Flag::Keyword(k) = f {
                if !view.keywords.contains(k) && op != StoreOp::Remove {
                    view.keywords.push(k.clone());
                    new_kw = true;
                }
            }
        }
        if new_kw {
            write_flags(&mut self.out, &view.keywords, view.read_only);
        }
        for meta in metas {
            let Some(seq) = view.seq_of(meta.uid) else {
                continue;
            };
            let shown = view.display_flags(meta.uid, &meta.flags);
            let held = &mut view.messages[seq as usize - 1];
            held.flags = meta.flags;
            let modseq_changed = held.modseq != meta.modseq;
            held.modseq = meta.modseq;
            // .SILENT still reports the new MODSEQ under CONDSTORE (RFC 7162 §3.2).
            if !silent || (self.condstore && modseq_changed) {
                let uid_part = if uid {
                    format!("UID {} ", meta.uid)
                } else {
                    String::new()
                };
                let flags_part = if silent {
                    String::new()
                } else {
                    format!("FLAGS {shown}")
                };
                let modseq_part = match (self.condstore, silent) {
                    (false, _) => String::new(),
                    (true, true) => format!("MODSEQ ({})", meta.modseq),
                    (true, false) => format!(" MODSEQ ({})", meta.modseq),
                };
                write_untagged(
                    &mut self.out,
                    &format!("{seq} FETCH ({uid_part}{flags_part}{modseq_part})"),
                );
            }
        }
        // The other sessions on this mailbox will see the same flags: share the list again.
        self.config
            .shared_views
            .reshare(view.id, &mut view.messages);
        self.store_changed = false;
        self.sync(store, uid).await;
        if refused.is_empty() {
            write_status(
                &mut self.out,
                Some(tag),
                Status::Ok,
                None,
                "Store completed.",
            );
        } else {
            let code = format!("MODIFIED {}", compact_set(&refused));
            write_status(
                &mut self.out,
                Some(tag),
                Status::Ok,
                Some(&code),
                "Conditional store failed.",
            );
        }
    }

    pub(super) async fn search<S: Store>(
        &mut self,
        store: &S,
        tag: &str,
        uid: bool,
        charset: Option<String>,
        criteria: SearchKey,
        ret: Option<Vec<String>>,
    ) {
        if let Some(cs) = &charset {
            if !charset_supported(cs) {
                return write_status(
                    &mut self.out,
                    Some(tag),
                    Status::No,
                    Some("BADCHARSET (UTF-8 US-ASCII)"),
                    "Unsupported charset.",
                );
            }
        }
        let (Some(view), Some(account)) = (self.selected.as_ref(), self.account.as_ref()) else {
            return;
        };
        let criteria = resolve_saved(criteria, &view.saved);
        let content = needs_content(&criteria);
        let max_seq = view.exists();
        let max_uid = view.messages.last().map_or(0, |m| m.uid);
        let mut hits: Vec<(u32, Uid)> = Vec::new();
        // With a MODSEQ key the answer also names the highest modseq matched (RFC 7162 §3.4).
        let by_modseq = mentions_modseq(&criteria);
        let mut highest = 0u64;
        let metadata = needs_metadata(&criteria);
        // Keys on header fields only are answered from the fields the store hands over
        // (cached by FileStore), never from the message bytes.
        let field_names = if content {
            header_field_names(&criteria)
        } else {
            None
        };
        let mut bytes = BytesRun::default();
        for (chunk_no, chunk) in view.messages.chunks(SEARCH_CHUNK).enumerate() {
            let uids: Vec<Uid> = chunk.iter().map(|m| m.uid).collect();
            let summaries = if metadata {
                store.message_summaries(account, view.id, &uids).await
            } else {
                Ok(Vec::new())
            };
            let fields = match &field_names {
                Some(names) => store.search_fields(account, view.id, &uids, names).await,
                None => Ok(Vec::new()),
            };
            let (summaries, fields) = match (summaries, fields) {
                (Ok(s), Ok(f)) => (s, f),
                // The mailbox is gone: the resync after the command says so.
                (Err(StoreError::NoSuchMailbox), _) | (_, Err(StoreError::NoSuchMailbox)) => break,
                (Err(e), _) | (_, Err(e)) => return self.store_error(tag, &e),
            };
            let (mut summaries, mut fields) =
                (summaries.iter().peekable(), fields.iter().peekable());
            for (j, m) in chunk.iter().enumerate() {
                let i = chunk_no * SEARCH_CHUNK + j;
                // Both lists are in UID order and skip messages expunged meanwhile.
                let (size, internal_date) = if metadata {
                    match summaries.next_if(|s| s.0 <= m.uid) {
                        Some(&(uid, size, date)) if uid == m.uid => (size, date),
                        _ => continue,
                    }
                } else {
                    (0, crate::types::DateTime::from_unix(0, 0))
                };
                let header = if field_names.is_some() {
                    match fields.next_if(|f| f.0 <= m.uid) {
                        Some((uid, f)) if *uid == m.uid => Some(&f[..]),
                        _ => continue,
                    }
                } else {
                    None
                };
                let raw = if content && header.is_none() {
                    match bytes.next(store, account, view.id, &uids[j..]).await {
                        Ok(Some(b)) => Some(b),
                        _ => continue, // expunged meanwhile
                    }
                } else {
                    None
                };
                let mv = MessageView {
                    seq: i as u32 + 1,
                    uid: m.uid,
                    flags: &m.flags,
                    recent: view.recent.contains(&m.uid),
                    size,
                    internal_date,
                    raw: raw.as_deref().unwrap_or(&[]),
                    fields: header,
                    max_seq,
                    max_uid,
                };
                if matches_with_modseq(&criteria, &mv, m.modseq) {
                    hits.push((i as u32 + 1, m.uid));
                    highest = highest.max(m.modseq);
                }
            }
        }
        let numbers: Vec<u32> = hits.iter().map(|&(s, u)| if uid { u } else { s }).collect();
        match ret {
            None => {
                let mut line = String::from("SEARCH");
                for n in &numbers {
                    line.push(' ');
                    line.push_str(&n.to_string());
                }
                if by_modseq && !numbers.is_empty() {
                    line.push_str(&format!(" (MODSEQ {highest})"));
                }
                write_untagged(&mut self.out, &line);
            }
            Some(opts) => {
                let has = |s: &str| opts.iter().any(|o| o.eq_ignore_ascii_case(s));
                let all = opts.is_empty() || has("ALL");
                if has("SAVE") {
                    if let Some(v) = self.selected.as_mut() {
                        v.saved = hits.iter().map(|&(_, u)| u).collect();
                    }
                }
                // RFC 4731 ESEARCH.
                let mut line = format!("ESEARCH (TAG \"{tag}\")");
                if uid {
                    line.push_str(" UID");
                }
                if !numbers.is_empty() {
                    if has("MIN") {
                        line.push_str(&format!(" MIN {}", numbers[0]));
                    }
                    if has("MAX") {
                        line.push_str(&format!(" MAX {}", numbers[numbers.len() - 1]));
                    }
                    if all {
                        line.push_str(&format!(" ALL {}", compact_set(&numbers)));
                    }
                }
                if has("COUNT") {
                    line.push_str(&format!(" COUNT {}", numbers.len()));
                }
                if by_modseq && !numbers.is_empty() {
                    line.push_str(&format!(" MODSEQ {highest}"));
                }
                if !(has("SAVE") && opts.len() == 1) {
                    write_untagged(&mut self.out, &line);
                }
            }
        }
        self.finish(store, tag, uid, "Search completed.").await;
    }

    pub(super) async fn copy_or_move<S: Store>(
        &mut self,
        store: &S,
        tag: &str,
        uid: bool,
        set: &SequenceSet,
        dest: &crate::command::MailboxName,
        is_move: bool,
    ) {
        if is_move && self.refuse_read_only(tag) {
            return;
        }
        let Some(idx) = self.resolve_or_bad(tag, set, uid) else {
            return;
        };
        let (Some(view), Some(account)) = (self.selected.as_ref(), self.account.as_ref()) else {
            return;
        };
        let uids: Vec<Uid> = idx.iter().map(|&i| view.messages[i].uid).collect();
        let done = if is_move {
            "Move completed."
        } else {
            "Copy completed."
        };
        if uids.is_empty() {
            return self.finish(store, tag, true, "No messages found.").await;
        }
        let result = if is_move {
            store.move_messages(account, view.id, &uids, dest).await
        } else {
            store.copy(account, view.id, &uids, dest).await
        };
        let copied = match result {
            Ok(c) => c,
            Err(StoreError::NoSuchMailbox) => {
                return write_status(
                    &mut self.out,
                    Some(tag),
                    Status::No,
                    Some("TRYCREATE"),
                    "Mailbox doesn't exist.",
                )
            }
            Err(e) => return self.store_error(tag, &e),
        };
        let src: Vec<Uid> = copied.mapping.iter().map(|p| p.0).collect();
        let dst: Vec<Uid> = copied.mapping.iter().map(|p| p.1).collect();
        let code = if src.is_empty() {
            None
        } else {
            Some(format!(
                "COPYUID {} {} {}",
                copied.uidvalidity,
                compact_set(&src),
                compact_set(&dst)
            ))
        };
        if is_move {
            // RFC 6851: COPYUID goes in an untagged OK before the EXPUNGEs.
            if let Some(code) = &code {
                write_status(&mut self.out, None, Status::Ok, Some(code), "Moved UIDs.");
            }
            self.store_changed = false;
            self.sync(store, true).await;
            write_status(&mut self.out, Some(tag), Status::Ok, None, done);
        } else {
            self.store_changed = false;
            self.sync(store, uid).await;
            write_status(&mut self.out, Some(tag), Status::Ok, code.as_deref(), done);
        }
    }

    pub(super) async fn expunge<S: Store>(
        &mut self,
        store: &S,
        tag: &str,
        uids: Option<SequenceSet>,
    ) {
        if self.refuse_read_only(tag) {
            return;
        }
        // Catch up first, so \Deleted set by other sessions counts too.
        self.sync(store, true).await;
        let (Some(view), Some(account)) = (self.selected.as_ref(), self.account.as_ref()) else {
            return;
        };
        let max_uid = view.messages.last().map_or(0, |m| m.uid);
        let deleted: Vec<Uid> = view
            .messages
            .iter()
            .filter(|m| m.flags.contains(&Flag::Deleted))
            .filter(|m| uids.as_ref().is_none_or(|s| s.contains(m.uid, max_uid)))
            .map(|m| m.uid)
            .collect();
        if !deleted.is_empty() {
            if let Err(e) = store.expunge(account, view.id, &deleted).await {
                return self.store_error(tag, &e);
            }
        }
        self.finish(store, tag, true, "Expunge completed.").await;
    }
}

/// Replaces `$` with the saved UIDs (RFC 5182) so the evaluator sees plain sets.
fn resolve_saved(key: SearchKey, saved: &[Uid]) -> SearchKey {
    let as_uids = || {
        SearchKey::Uid(SequenceSet::Ranges(
            saved
                .iter()
                .map(|&u| (SeqBound::Value(u), SeqBound::Value(u)))
                .collect(),
        ))
    };
    match key {
        SearchKey::SequenceSet(SequenceSet::Saved) | SearchKey::Uid(SequenceSet::Saved) => {
            as_uids()
        }
        SearchKey::Not(k) => SearchKey::Not(Box::new(resolve_saved(*k, saved))),
        SearchKey::Or(a, b) => SearchKey::Or(
            Box::new(resolve_saved(*a, saved)),
            Box::new(resolve_saved(*b, saved)),
        ),
        SearchKey::And(v) => {
            SearchKey::And(v.into_iter().map(|k| resolve_saved(k, saved)).collect())
        }
        other => other,
    }
}

/// Does the criteria use a `MODSEQ` key anywhere?
pub(super) fn mentions_modseq(key: &SearchKey) -> bool {
    match key {
        SearchKey::ModSeq(_) => true,
        SearchKey::Not(k) => mentions_modseq(k),
        SearchKey::Or(a, b) => mentions_modseq(a) || mentions_modseq(b),
        SearchKey::And(v) => v.iter().any(mentions_modseq),
        _ => false,
    }
}
