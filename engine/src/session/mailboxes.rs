//! Commands on whole mailboxes: SELECT/EXAMINE, CREATE, DELETE, RENAME, (UN)SUBSCRIBE, LIST,
//! LSUB, STATUS, APPEND, CLOSE/UNSELECT.

use std::collections::HashSet;

use super::view::{write_flags, SelectedView};
use super::{Session, State};
use crate::codec::encode_mailbox;
use crate::command::{MailboxName, StatusItem};
use crate::response::value::write_astring;
use crate::response::{write_status, write_untagged, Status};
use crate::store::{MailboxInfo, MailboxStatus, NewMessage, Store, StoreError};
use crate::types::{DateTime, Flag, SpecialUse, Timestamp, DELIMITER};

/// LIST selection/return options that change the answer.
#[derive(Debug, Default)]
pub(super) struct ListOptions {
    subscribed_only: bool,
    special_use_only: bool,
    return_subscribed: bool,
    return_special_use: bool,
    return_status: Option<Vec<StatusItem>>,
}

impl ListOptions {
    pub fn new(select: Vec<String>, ret: Vec<String>, status: Option<Vec<StatusItem>>) -> Self {
        let has = |v: &[String], s: &str| v.iter().any(|o| o.eq_ignore_ascii_case(s));
        ListOptions {
            subscribed_only: has(&select, "SUBSCRIBED"),
            special_use_only: has(&select, "SPECIAL-USE"),
            return_subscribed: has(&ret, "SUBSCRIBED") || has(&select, "SUBSCRIBED"),
            // Without LIST-EXTENDED options we still show special-use attributes, as
            // Dovecot does: clients find Trash/Sent that way (RFC 6154 §3 allows it).
            return_special_use: true,
            return_status: status,
        }
    }
    pub fn lsub() -> Self {
        ListOptions {
            subscribed_only: true,
            ..Default::default()
        }
    }
}

impl Session {
    fn account_ref(&self) -> crate::store::Account {
        self.account
            .clone()
            .unwrap_or_else(|| crate::store::Account {
                name: String::new(),
            })
    }

    pub(super) async fn select<S: Store>(
        &mut self,
        store: &S,
        tag: &str,
        name: &MailboxName,
        read_only: bool,
    ) {
        let account = self.account_ref();
        // Selecting always leaves the current mailbox, even if the new one fails.
        if self.selected.take().is_some() {
            self.state = State::Authenticated;
            write_status(
                &mut self.out,
                None,
                Status::Ok,
                Some("CLOSED"),
                "Previous mailbox closed.",
            );
        }
        let snap = match store.snapshot(&account, name).await {
            Ok(s) => s,
            Err(e) => return self.store_error(tag, &e),
        };
        let recent_mark = snap.recent_mark;
        let mut view = SelectedView::from_snapshot(snap, read_only, &self.config.shared_views);
        if read_only {
            // EXAMINE must not take \Recent away from anyone (RFC 3501 §6.3.2).
            view.recent = view
                .messages
                .iter()
                .map(|m| m.uid)
                .filter(|&u| u >= recent_mark)
                .collect();
        } else {
            match store.claim_recent(&account, view.id).await {
                Ok(claimed) => view.recent = claimed.into_iter().collect(),
                Err(e) => return self.store_error(tag, &e),
            }
        }
        write_flags(&mut self.out, &view.keywords, read_only);
        write_untagged(&mut self.out, &format!("{} EXISTS", view.exists()));
        write_untagged(&mut self.out, &format!("{} RECENT", view.recent_count()));
        if let Some(i) = view
            .messages
            .iter()
            .position(|m| !m.flags.contains(&Flag::Seen))
        {
            write_status(
                &mut self.out,
                None,
                Status::Ok,
                Some(&format!("UNSEEN {}", i + 1)),
                "First unseen.",
            );
        }
        write_status(
            &mut self.out,
            None,
            Status::Ok,
            Some(&format!("UIDVALIDITY {}", view.uidvalidity)),
            "UIDs valid",
        );
        write_status(
            &mut self.out,
            None,
            Status::Ok,
            Some(&format!("UIDNEXT {}", view.uidnext)),
            "Predicted next UID",
        );
        if self.condstore {
            let code = format!("HIGHESTMODSEQ {}", view.modseq);
            write_status(&mut self.out, None, Status::Ok, Some(&code), "Highest");
        }
        let code = if read_only { "READ-ONLY" } else { "READ-WRITE" };
        let text = if read_only {
            "Examine completed."
        } else {
            "Select completed."
        };
        self.selected = Some(view);
        self.state = State::Selected;
        write_status(&mut self.out, Some(tag), Status::Ok, Some(code), text);
    }

    pub(super) async fn close_mailbox<S: Store>(&mut self, store: &S, tag: &str, expunge: bool) {
        if let (true, Some(view), Some(account)) =
            (expunge, self.selected.as_ref(), self.account.as_ref())
        {
            if !view.read_only {
                let deleted: Vec<_> = view
                    .messages
                    .iter()
                    .filter(|m| m.flags.contains(&Flag::Deleted))
                    .map(|m| m.uid)
                    .collect();
                if !deleted.is_empty() {
                    if let Err(e) = store.expunge(account, view.id, &deleted).await {
                        return self.store_error(tag, &e);
                    }
                }
            }
        }
        self.selected = None;
        self.state = State::Authenticated;
        let text = if expunge {
            "Close completed."
        } else {
            "Unselect completed."
        };
        write_status(&mut self.out, Some(tag), Status::Ok, None, text);
    }

    pub(super) async fn create<S: Store>(
        &mut self,
        store: &S,
        tag: &str,
        name: &MailboxName,
        special_use: &[String],
    ) {
        // A trailing delimiter only says "this will have children" (RFC 9051 §6.3.4).
        let trimmed = MailboxName::new(name.as_str().trim_end_matches(DELIMITER));
        let mut uses = special_use.iter().map(|s| SpecialUse::from_attr(s));
        let special = match (uses.next(), uses.next()) {
            (None, _) => None,
            (Some(Some(u)), None) => Some(u),
            _ => {
                return write_status(
                    &mut self.out,
                    Some(tag),
                    Status::No,
                    Some("USEATTR"),
                    "Unsupported special-use attribute.",
                )
            }
        };
        if trimmed.is_inbox() {
            return self.store_error(tag, &StoreError::AlreadyExists);
        }
        match store
            .create_mailbox(&self.account_ref(), &trimmed, special)
            .await
        {
            Ok(_) => self.finish(store, tag, true, "Create completed.").await,
            Err(e) => self.store_error(tag, &e),
        }
    }

    pub(super) async fn delete<S: Store>(&mut self, store: &S, tag: &str, name: &MailboxName) {
        match store.delete_mailbox(&self.account_ref(), name).await {
            Ok(()) => self.finish(store, tag, true, "Delete completed.").await,
            Err(e) => self.store_error(tag, &e),
        }
    }

    pub(super) async fn rename<S: Store>(
        &mut self,
        store: &S,
        tag: &str,
        from: &MailboxName,
        to: &MailboxName,
    ) {
        match store.rename_mailbox(&self.account_ref(), from, to).await {
            Ok(()) => self.finish(store, tag, true, "Rename completed.").await,
            Err(e) => self.store_error(tag, &e),
        }
    }

    pub(super) async fn subscribe<S: Store>(
        &mut self,
        store: &S,
        tag: &str,
        name: &MailboxName,
        on: bool,
    ) {
        match store.set_subscribed(&self.account_ref(), name, on).await {
            Ok(()) => {
                let text = if on {
                    "Subscribe completed."
                } else {
                    "Unsubscribe completed."
                };
                self.finish(store, tag, true, text).await
            }
            Err(e) => self.store_error(tag, &e),
        }
    }

    pub(super) async fn list<S: Store>(
        &mut self,
        store: &S,
        tag: &str,
        reference: &str,
        patterns: &[String],
        opts: ListOptions,
        lsub: bool,
    ) {
        let account = self.account_ref();
        let cmd = if lsub { "LSUB" } else { "LIST" };
        // `LIST "" ""`: the hierarchy delimiter and root (RFC 9051 §6.3.9).
        if patterns.len() == 1 && patterns[0].is_empty() {
            write_untagged(
                &mut self.out,
                &format!("{cmd} (\\Noselect) \"{DELIMITER}\" \"\""),
            );
            return self
                .finish(store, tag, true, &format!("{cmd} completed."))
                .await;
        }
        let boxes = match store.list_mailboxes(&account).await {
            Ok(b) => b,
            Err(e) => return self.store_error(tag, &e),
        };
        let subs: HashSet<MailboxName> = match store.subscriptions(&account).await {
            Ok(s) => s.into_iter().collect(),
            Err(e) => return self.store_error(tag, &e),
        };
        let names: Vec<&str> = boxes.iter().map(|b| b.name.as_str()).collect();
        let mut lines: Vec<(Vec<u8>, Option<MailboxName>)> = Vec::new();
        for info in &boxes {
            let full = info.name.as_str();
            let matched = patterns.iter().any(|p| {
                let pat = format!("{reference}{p}");
                wildcard_match(&pat, full)
            });
            if !matched {
                continue;
            }
            let subscribed = subs.contains(&info.name);
            if opts.subscribed_only && !subscribed {
                continue;
            }
            if opts.special_use_only && info.special_use.is_none() {
                continue;
            }
            let prefix = format!("{full}{DELIMITER}");
            let has_children = names.iter().any(|n| n.starts_with(&prefix));
            let mut attrs: Vec<&str> = Vec::new();
            if !lsub {
                attrs.push(if has_children {
                    "\\HasChildren"
                } else {
                    "\\HasNoChildren"
                });
            }
            if opts.return_subscribed && subscribed {
                attrs.push("\\Subscribed");
            }
            if opts.return_special_use && !lsub {
                if let Some(u) = info.special_use {
                    attrs.push(u.as_str());
                }
            }
            let mut line = format!("* {cmd} ({}) \"{DELIMITER}\" ", attrs.join(" ")).into_bytes();
            write_astring(&mut line, encode_mailbox(full).as_bytes());
            line.extend_from_slice(b"\r\n");
            lines.push((line, Some(info.name.clone())));
        }
        // Subscriptions may outlive their mailbox (RFC 9051 §6.3.7): shown, but not selectable.
        if opts.subscribed_only {
            let mut gone: Vec<&MailboxName> = subs
                .iter()
                .filter(|n| !names.contains(&n.as_str()))
                .collect();
            gone.sort();
            for name in gone {
                if !patterns
                    .iter()
                    .any(|p| wildcard_match(&format!("{reference}{p}"), name.as_str()))
                {
                    continue;
                }
                let attrs = if lsub {
                    "\\Noselect"
                } else {
                    "\\NonExistent \\Subscribed"
                };
                let mut line = format!("* {cmd} ({attrs}) \"{DELIMITER}\" ").into_bytes();
                write_astring(&mut line, encode_mailbox(name.as_str()).as_bytes());
                line.extend_from_slice(b"\r\n");
                lines.push((line, None));
            }
        }
        for (line, name) in lines {
            self.out.extend_from_slice(&line);
            if let (Some(items), Some(name)) = (opts.return_status.as_ref(), name) {
                if let Ok(st) = store.status(&account, &name).await {
                    self.write_status_response(&name, items, &st);
                }
            }
        }
        let _: &[MailboxInfo] = &boxes;
        self.finish(store, tag, true, &format!("{cmd} completed."))
            .await;
    }

    pub(super) async fn status<S: Store>(
        &mut self,
        store: &S,
        tag: &str,
        name: &MailboxName,
        items: &[StatusItem],
    ) {
        match store.status(&self.account_ref(), name).await {
            Ok(st) => {
                self.write_status_response(name, items, &st);
                self.finish(store, tag, true, "Status completed.").await
            }
            Err(e) => self.store_error(tag, &e),
        }
    }

    fn write_status_response(
        &mut self,
        name: &MailboxName,
        items: &[StatusItem],
        st: &MailboxStatus,
    ) {
        let mut line = b"* STATUS ".to_vec();
        write_astring(&mut line, encode_mailbox(name.as_str()).as_bytes());
        let parts: Vec<String> = items
            .iter()
            .map(|i| match i {
                StatusItem::Messages => format!("MESSAGES {}", st.messages),
                StatusItem::Recent => format!("RECENT {}", st.recent),
                StatusItem::UidNext => format!("UIDNEXT {}", st.uidnext),
                StatusItem::UidValidity => format!("UIDVALIDITY {}", st.uidvalidity),
                StatusItem::Unseen => format!("UNSEEN {}", st.unseen),
                StatusItem::Deleted => format!("DELETED {}", st.deleted),
                StatusItem::Size => format!("SIZE {}", st.size),
                StatusItem::HighestModSeq => format!("HIGHESTMODSEQ {}", st.highest_modseq),
            })
            .collect();
        line.extend_from_slice(format!(" ({})\r\n", parts.join(" ")).as_bytes());
        self.out.extend_from_slice(&line);
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) async fn append<S: Store>(
        &mut self,
        store: &S,
        tag: &str,
        name: &MailboxName,
        flags: Vec<Flag>,
        date: Option<DateTime>,
        message: Vec<u8>,
        now: Timestamp,
    ) {
        if message.is_empty() {
            return write_status(
                &mut self.out,
                Some(tag),
                Status::No,
                None,
                "Can't save a zero byte message.",
            );
        }
        if flags.iter().any(|f| matches!(f, Flag::Extension(_))) {
            return write_status(
                &mut self.out,
                Some(tag),
                Status::Bad,
                None,
                "Invalid system flag.",
            );
        }
        let flags: Vec<Flag> = flags.into_iter().filter(|f| *f != Flag::Recent).collect();
        // Bare LF is stored as CRLF, as Dovecot does: sizes and sections stay consistent.
        let internal_date = date.unwrap_or_else(|| DateTime::from_unix(now.unix_seconds(), 0));
        let msg = NewMessage::from_raw(&message, flags, internal_date);
        match store.append(&self.account_ref(), name, msg).await {
            Ok(a) => {
                self.store_changed = false;
                self.sync(store, true).await;
                let code = format!("APPENDUID {} {}", a.uidvalidity, a.uid);
                write_status(
                    &mut self.out,
                    Some(tag),
                    Status::Ok,
                    Some(&code),
                    "Append completed.",
                );
            }
            Err(StoreError::NoSuchMailbox) => write_status(
                &mut self.out,
                Some(tag),
                Status::No,
                Some("TRYCREATE"),
                "Mailbox doesn't exist.",
            ),
            Err(e) => self.store_error(tag, &e),
        }
    }
}

/// LIST pattern matching: `*` matches anything, `%` anything but the delimiter (RFC 9051
/// §6.3.9). INBOX matches case-insensitively.
pub(super) fn wildcard_match(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    if matches_from(&p, &n) {
        return true;
    }
    // "inbox" or "INBOX/..." patterns in another case still name INBOX.
    if name == "INBOX" || name.starts_with("INBOX/") {
        let up: String = pattern
            .char_indices()
            .map(|(i, c)| if i < 5 { c.to_ascii_uppercase() } else { c })
            .collect();
        let p: Vec<char> = up.chars().collect();
        return matches_from(&p, &n);
    }
    false
}

fn matches_from(p: &[char], n: &[char]) -> bool {
    // ok[j]: pattern prefix p[..i] matches name prefix n[..j]; one row per pattern char.
    let mut ok = vec![false; n.len() + 1];
    ok[0] = true;
    for &c in p {
        let mut next = vec![false; n.len() + 1];
        for j in 0..=n.len() {
            next[j] = match c {
                '*' => ok[j] || (j > 0 && next[j - 1]),
                '%' => ok[j] || (j > 0 && n[j - 1] != DELIMITER && next[j - 1]),
                _ => j > 0 && ok[j - 1] && n[j - 1] == c,
            };
        }
        ok = next;
    }
    ok[n.len()]
}

#[cfg(test)]
mod tests {
    use super::wildcard_match;

    #[test]
    fn list_wildcards() {
        assert!(wildcard_match("*", "a/b/c"));
        assert!(wildcard_match("%", "Trash"));
        assert!(!wildcard_match("%", "a/b"));
        assert!(wildcard_match("a/%", "a/b"));
        assert!(!wildcard_match("a/%", "a/b/c"));
        assert!(wildcard_match("a*c", "a/b/c"));
        assert!(wildcard_match("inbox", "INBOX"));
        assert!(!wildcard_match("Trash", "trash"));
        assert!(wildcard_match("%/%", "a/b"));
        assert!(!wildcard_match("%b", "a/b"));
    }
}
