//! FETCH and UID FETCH: which data items to load, the implicit `\Seen` of non-PEEK body
//! fetches, and writing each `* n FETCH (...)` response.

use std::iter::Peekable;
use std::vec;

use super::bytes_run::BytesRun;
use super::Session;
use crate::command::{FetchAttr, FetchAttrs, Section, SectionText, StoreOp};
use crate::mime::{apply_partial, BinaryError, ParsedMessage};
use crate::response::value::{write_literal, write_number};
use crate::response::{write_status, Status};
use crate::store::{MessageInfo, Store};
use crate::types::{DateTime, Flag, SequenceSet, Uid};

/// Date of a message whose INTERNALDATE was not asked for (never written).
const NO_DATE: crate::types::DateTime = crate::types::DateTime {
    date: crate::types::Date {
        year: 1970,
        month: 1,
        day: 1,
    },
    hour: 0,
    minute: 0,
    second: 0,
    zone_minutes: 0,
};

/// Messages whose parse FETCH asks the store for in one call: enough to spare a transaction
/// per message, few enough that a huge FETCH does not hold every parse at once.
const FETCH_RUN: usize = 64;

/// Once a FETCH has queued this much output, it pauses before its next message so that the
/// host sends it (`Progress::Paused`): a FETCH of every body in a mailbox holds about this
/// much at a time, not the whole mailbox.
pub(super) const PAUSE_AT: usize = 1024 * 1024;

/// A FETCH under way: what it asks for, how far it got and what it has loaded ahead. Kept in
/// the session while the command is paused.
pub(super) struct FetchRun {
    tag: String,
    uid: bool,
    items: Vec<FetchAttr>,
    /// Indexes into the selected view's messages, in answer order.
    idx: Vec<usize>,
    /// The position in `idx` to go on from.
    next: usize,
    needs_parse: bool,
    needs_summary: bool,
    needs_bytes: bool,
    sets_seen: bool,
    summaries: Peekable<vec::IntoIter<(Uid, u64, DateTime)>>,
    infos: Peekable<vec::IntoIter<MessageInfo>>,
    bytes: BytesRun,
    /// The UID at each position of `idx` (only when bytes are read).
    idx_uids: Vec<Uid>,
    failure: Option<(&'static str, &'static str)>,
}

impl Session {
    pub(super) async fn fetch<S: Store>(
        &mut self,
        store: &S,
        tag: &str,
        uid: bool,
        set: &SequenceSet,
        attrs: &FetchAttrs,
        changed_since: Option<u64>,
    ) {
        let Some(mut idx) = self.resolve_or_bad(tag, set, uid) else {
            return;
        };
        let mut items = attrs.expand();
        if let Some(since) = changed_since {
            // CHANGEDSINCE (RFC 7162 §3.3): only messages changed after `since`, with MODSEQ.
            if let Some(view) = self.selected.as_ref() {
                idx.retain(|&i| view.messages.get(i).is_some_and(|m| m.modseq > since));
            }
            if !items.contains(&FetchAttr::ModSeq) {
                items.push(FetchAttr::ModSeq);
            }
        }
        // UID FETCH always returns UID, and (as Dovecot) UID comes first.
        if uid || items.contains(&FetchAttr::Uid) {
            items.retain(|i| *i != FetchAttr::Uid);
            items.insert(0, FetchAttr::Uid);
        }
        // What to load per message: the stored parse (structure, sections), or only size and
        // date (a cheaper store lookup), or nothing (UID, FLAGS, MODSEQ are in the view).
        let needs_parse = items.iter().any(|i| {
            !matches!(
                i,
                FetchAttr::Uid
                    | FetchAttr::Flags
                    | FetchAttr::ModSeq
                    | FetchAttr::InternalDate
                    | FetchAttr::Rfc822Size
            ) && !is_whole_message(i)
        });
        let needs_summary = items
            .iter()
            .any(|i| matches!(i, FetchAttr::InternalDate | FetchAttr::Rfc822Size));
        let needs_bytes = items.iter().any(|i| {
            matches!(
                i,
                FetchAttr::Rfc822
                    | FetchAttr::Rfc822Header
                    | FetchAttr::Rfc822Text
                    | FetchAttr::BodySection { .. }
                    | FetchAttr::Binary { .. }
                    | FetchAttr::BinarySize { .. }
            )
        });
        let read_only = self.selected.as_ref().is_none_or(|v| v.read_only);
        let sets_seen = !read_only && items.iter().any(sets_seen);
        // Sizes and dates alone come in one store call for the whole set.
        let summaries = match (self.selected.as_ref(), self.account.as_ref()) {
            (Some(view), Some(account)) if needs_summary && !needs_parse => {
                let uids: Vec<_> = idx
                    .iter()
                    .filter_map(|&i| view.messages.get(i))
                    .map(|m| m.uid)
                    .collect();
                match store.message_summaries(account, view.id, &uids).await {
                    Ok(s) => s,
                    Err(e) => return self.store_error(tag, &e),
                }
            }
            _ => Vec::new(),
        };
        if !needs_bytes {
            // Small responses for many messages: grow the output once, not ~20 times.
            self.out.reserve(idx.len().min(PAUSE_AT / 48 + 1) * 48);
        }
        let idx_uids: Vec<Uid> = match self.selected.as_ref() {
            Some(view) if needs_bytes => idx
                .iter()
                .map(|&i| view.messages.get(i).map_or(0, |m| m.uid))
                .collect(),
            _ => Vec::new(),
        };
        let run = FetchRun {
            tag: tag.to_string(),
            uid,
            items,
            idx,
            next: 0,
            needs_parse,
            needs_summary,
            needs_bytes,
            sets_seen,
            summaries: summaries.into_iter().peekable(),
            // Parses and bytes come a run of messages at a time (one store call each run).
            infos: Vec::new().into_iter().peekable(),
            bytes: BytesRun::default(),
            idx_uids,
            failure: None,
        };
        self.fetch_messages(store, run).await;
    }

    /// Writes the FETCH responses of `run` from `run.next` on, then its tagged status; or,
    /// once [`PAUSE_AT`] bytes of output are queued, keeps `run` in the session and returns.
    pub(super) async fn fetch_messages<S: Store>(&mut self, store: &S, mut run: FetchRun) {
        let start = run.next;
        for n in start..run.idx.len() {
            if n > start && self.out.len() >= PAUSE_AT {
                run.next = n;
                self.paused = Some(Box::new(run));
                return;
            }
            let i = run.idx[n];
            if run.needs_parse && n % FETCH_RUN == 0 {
                let (Some(view), Some(account)) = (self.selected.as_ref(), self.account.as_ref())
                else {
                    return;
                };
                let uids: Vec<_> = run.idx[n..run.idx.len().min(n + FETCH_RUN)]
                    .iter()
                    .filter_map(|&i| view.messages.get(i))
                    .map(|m| m.uid)
                    .collect();
                run.infos = match store.message_infos(account, view.id, &uids).await {
                    Ok(v) => v.into_iter().peekable(),
                    Err(e) => return self.store_error(&run.tag, &e),
                };
            }
            let (Some(view), Some(account)) = (self.selected.as_mut(), self.account.as_ref())
            else {
                return;
            };
            let Some(msg) = view.messages.get(i) else {
                continue;
            };
            let (uid_n, seq) = (msg.uid, i as u32 + 1);
            let mut flags_changed = false;
            if run.sets_seen && !msg.flags.contains(&Flag::Seen) {
                if let Ok((metas, _)) = store
                    .store_flags(
                        account,
                        view.id,
                        &[uid_n],
                        StoreOp::Add,
                        &[Flag::Seen],
                        None,
                    )
                    .await
                {
                    if let Some(m) = metas.into_iter().next() {
                        view.messages[i].flags = m.flags;
                        view.messages[i].modseq = m.modseq;
                        flags_changed = true;
                    }
                }
            }
            let (size, date, parsed) = if run.needs_parse {
                match run.infos.next_if(|info| info.uid <= uid_n) {
                    Some(info) if info.uid == uid_n => {
                        (info.size, info.internal_date, Some(info.parsed))
                    }
                    _ => continue, // expunged by another session meanwhile
                }
            } else if run.needs_summary {
                match run.summaries.next_if(|s| s.0 <= uid_n) {
                    Some((uid, size, date)) if uid == uid_n => (size, date, None),
                    _ => continue, // expunged by another session meanwhile
                }
            } else {
                (0, NO_DATE, None)
            };
            let raw = if run.needs_bytes {
                let upcoming = &run.idx_uids[n..];
                match run.bytes.next(store, account, view.id, upcoming).await {
                    Ok(Some(b)) => Some(b),
                    _ => continue, // expunged meanwhile
                }
            } else {
                None
            };
            let raw: &[u8] = raw.as_deref().unwrap_or(&[]);
            let flags = &view.messages[i].flags;
            // Written straight into the session's output: a body is copied once, from the
            // store's bytes into the outgoing buffer.
            let out = &mut self.out;
            out.extend_from_slice(b"* ");
            write_number(out, u64::from(seq));
            out.extend_from_slice(b" FETCH (");
            let mut first = true;
            let mut sep = |out: &mut Vec<u8>| {
                if !std::mem::take(&mut first) {
                    out.push(b' ');
                }
            };
            for item in &run.items {
                match item {
                    FetchAttr::Uid => {
                        sep(out);
                        out.extend_from_slice(b"UID ");
                        write_number(out, u64::from(uid_n));
                    }
                    FetchAttr::Flags => {
                        sep(out);
                        out.extend_from_slice(b"FLAGS ");
                        view.write_flags(out, uid_n, flags);
                    }
                    FetchAttr::ModSeq => {
                        sep(out);
                        out.extend_from_slice(b"MODSEQ (");
                        write_number(out, view.messages[i].modseq);
                        out.push(b')');
                    }
                    _ => {
                        match write_item(out, &mut sep, item, parsed.as_deref(), raw, size, &date) {
                            Ok(()) => {}
                            Err(e) => run.failure = Some(e),
                        }
                    }
                }
            }
            if flags_changed && !run.items.contains(&FetchAttr::Flags) {
                sep(out);
                out.extend_from_slice(b"FLAGS ");
                view.write_flags(out, uid_n, flags);
            }
            out.extend_from_slice(b")\r\n");
        }
        match run.failure {
            Some((code, text)) => {
                self.sync(store, run.uid).await;
                write_status(&mut self.out, Some(&run.tag), Status::No, Some(code), text);
            }
            None => {
                self.finish(store, &run.tag, run.uid, "Fetch completed.")
                    .await
            }
        }
    }
}

/// Is this item the whole message (`RFC822`, `BODY[]`, `BODY.PEEK[]<partial>`), which needs
/// the stored bytes but not the parse?
fn is_whole_message(item: &FetchAttr) -> bool {
    match item {
        FetchAttr::Rfc822 => true,
        FetchAttr::BodySection { section, .. } => *section == Section::default(),
        _ => false,
    }
}

/// Does this item set `\Seen` (RFC 9051 §6.4.5: BODY[...] and BINARY[...] without PEEK,
/// RFC822 and RFC822.TEXT)?
fn sets_seen(item: &FetchAttr) -> bool {
    match item {
        FetchAttr::Rfc822 | FetchAttr::Rfc822Text => true,
        FetchAttr::BodySection { peek, .. } | FetchAttr::Binary { peek, .. } => !peek,
        _ => false,
    }
}

/// The `[section]` label as the response names it: `1.HEADER.FIELDS (SUBJECT FROM)`.
fn section_label(s: &Section) -> String {
    let mut label: Vec<String> = s.part.iter().map(|p| p.to_string()).collect();
    if let Some(text) = &s.text {
        label.push(match text {
            SectionText::Header => "HEADER".into(),
            SectionText::Text => "TEXT".into(),
            SectionText::Mime => "MIME".into(),
            SectionText::HeaderFields { not, fields } => {
                let fields: Vec<String> = fields
                    .iter()
                    .map(|f| f.as_str().to_ascii_uppercase())
                    .collect();
                format!(
                    "HEADER.FIELDS{} ({})",
                    if *not { ".NOT" } else { "" },
                    fields.join(" ")
                )
            }
        });
    }
    label.join(".")
}

/// Writes one message-data item. An error is the tagged `NO` code and text for the command.
fn write_item(
    out: &mut Vec<u8>,
    sep: &mut impl FnMut(&mut Vec<u8>),
    item: &FetchAttr,
    parsed: Option<&ParsedMessage>,
    raw: &[u8],
    size: u64,
    date: &crate::types::DateTime,
) -> Result<(), (&'static str, &'static str)> {
    match item {
        FetchAttr::InternalDate => {
            sep(out);
            out.extend_from_slice(format!("INTERNALDATE \"{}\"", date.to_imap()).as_bytes());
            return Ok(());
        }
        FetchAttr::Rfc822Size => {
            sep(out);
            out.extend_from_slice(b"RFC822.SIZE ");
            write_number(out, size);
            return Ok(());
        }
        _ => {}
    }
    // The whole message is its bytes as stored; every other item needs the parse, which the
    // caller loads whenever one is asked for.
    if is_whole_message(item) {
        let (name, partial) = match item {
            FetchAttr::BodySection { partial, .. } => ("BODY[]", *partial),
            _ => ("RFC822", None),
        };
        sep(out);
        out.extend_from_slice(name.as_bytes());
        if let Some(p) = partial {
            out.extend_from_slice(format!("<{}>", p.start).as_bytes());
        }
        out.push(b' ');
        write_literal(out, &crate::mime::replace_nul(apply_partial(raw, partial)));
        return Ok(());
    }
    let Some(parsed) = parsed else { return Ok(()) };
    let whole = Section::default();
    let header = Section {
        part: vec![],
        text: Some(SectionText::Header),
    };
    let text = Section {
        part: vec![],
        text: Some(SectionText::Text),
    };
    match item {
        FetchAttr::Envelope => {
            sep(out);
            out.extend_from_slice(b"ENVELOPE ");
            parsed.envelope().write(out);
        }
        FetchAttr::Body => {
            sep(out);
            out.extend_from_slice(b"BODY ");
            parsed.body_structure(false).write(out);
        }
        FetchAttr::BodyStructure => {
            sep(out);
            out.extend_from_slice(b"BODYSTRUCTURE ");
            parsed.body_structure(true).write(out);
        }
        FetchAttr::Rfc822 | FetchAttr::Rfc822Header | FetchAttr::Rfc822Text => {
            let (name, section) = match item {
                FetchAttr::Rfc822 => ("RFC822", &whole),
                FetchAttr::Rfc822Header => ("RFC822.HEADER", &header),
                _ => ("RFC822.TEXT", &text),
            };
            let data = parsed.section(raw, section).unwrap_or_default();
            sep(out);
            out.extend_from_slice(name.as_bytes());
            out.push(b' ');
            write_literal(out, &crate::mime::replace_nul(&data));
        }
        FetchAttr::BodySection {
            section, partial, ..
        } => {
            let data = parsed.section(raw, section).unwrap_or_default();
            let data = apply_partial(&data, *partial);
            sep(out);
            out.extend_from_slice(format!("BODY[{}]", section_label(section)).as_bytes());
            if let Some(p) = partial {
                out.extend_from_slice(format!("<{}>", p.start).as_bytes());
            }
            out.push(b' ');
            write_literal(out, &crate::mime::replace_nul(data));
        }
        FetchAttr::Binary {
            section, partial, ..
        } => {
            let data = parsed.binary(raw, section).map_err(binary_failure)?;
            let data = apply_partial(&data, *partial);
            sep(out);
            out.extend_from_slice(format!("BINARY[{}]", section_label(section)).as_bytes());
            if let Some(p) = partial {
                out.extend_from_slice(format!("<{}>", p.start).as_bytes());
            }
            out.push(b' ');
            if data.contains(&0) {
                out.push(b'~');
            }
            write_literal(out, data);
        }
        FetchAttr::BinarySize { section } => {
            let data = parsed.binary(raw, section).map_err(binary_failure)?;
            sep(out);
            out.extend_from_slice(
                format!("BINARY.SIZE[{}] {}", section_label(section), data.len()).as_bytes(),
            );
        }
        FetchAttr::Uid
        | FetchAttr::Flags
        | FetchAttr::ModSeq
        | FetchAttr::InternalDate
        | FetchAttr::Rfc822Size => {}
    }
    Ok(())
}

fn binary_failure(e: BinaryError) -> (&'static str, &'static str) {
    match e {
        BinaryError::UnknownCte(_) => ("UNKNOWN-CTE", "Unknown Content-Transfer-Encoding."),
        _ => ("PARSE", "Invalid data in MIME part."),
    }
}
