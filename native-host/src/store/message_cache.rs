//! A bounded memory of the per-message facts FETCH and SEARCH ask of whole mailboxes: size
//! and INTERNALDATE, and the decoded, folded header fields SEARCH asks for most (Subject,
//! From, To, Cc, Bcc, Date), so `FETCH 1:* (RFC822.SIZE)` and a repeated header search read
//! neither redb nor files. A first search fills it from the `fields` table, written at
//! delivery (`field_rows`), and reads only the files of messages without a row.
//!
//! A message's bytes never change and a (mailbox id, UID) pair is never reused, so an entry
//! is never stale; expunged messages' entries only cost memory until their mailbox is
//! evicted. Each entry holds just the fields asked for so far (a search by Subject caches
//! Subject alone), which keeps a 100,000-message mailbox's Subjects to a few MiB. Memory is
//! bounded by a byte budget: the least recently searched mailboxes are dropped first, and a
//! mailbox that alone exceeds the budget is searched without caching the rest of it.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tidings_engine::search::Field;
use tidings_engine::store::MailboxId;
use tidings_engine::types::{DateTime, Uid};

/// The fields kept, by bit. Others (`HEADER X-Whatever`) are read from the file each time.
/// The bits are also stored in the `fields` table (`field_rows`): add names at the end,
/// never reorder or remove one.
pub(crate) const CACHED_FIELDS: [&str; 6] = ["subject", "from", "to", "cc", "bcc", "date"];

/// Bytes a [`MessageCache`] may hold by default.
pub const DEFAULT_BUDGET: usize = 64 * 1024 * 1024;

/// Approximate heap cost of a `String` beyond its text (struct, allocator rounding).
const STRING_OVERHEAD: usize = 40;
/// Approximate cost of an entry beyond its fields (map slot, `Arc` header).
const ENTRY_OVERHEAD: usize = 48;

/// The bit set naming `names` (lower case), or `None` if one of them is not cached.
pub(crate) fn field_bits(names: &[String]) -> Option<u8> {
    names.iter().try_fold(0u8, |bits, name| {
        let i = CACHED_FIELDS.iter().position(|f| f == name)?;
        Some(bits | 1 << i)
    })
}

/// The names a bit set stands for.
pub(crate) fn bit_names(bits: u8) -> Vec<String> {
    CACHED_FIELDS
        .iter()
        .enumerate()
        .filter(|(i, _)| bits & (1 << i) != 0)
        .map(|(_, n)| n.to_string())
        .collect()
}

/// What is known of one message: its size and date once read, and header fields (those in
/// `bits`) once searched.
struct Entry {
    summary: Option<(u64, DateTime)>,
    bits: u8,
    fields: Option<Arc<[Field]>>,
}

fn cost(entry: &Entry) -> usize {
    ENTRY_OVERHEAD
        + entry.fields.as_ref().map_or(0, |f| {
            f.iter()
                .map(|f| f.name.len() + f.value.len() + 2 * STRING_OVERHEAD)
                .sum::<usize>()
        })
}

/// Entries ordered by UID: whole-mailbox lookups come in ascending UID order, and walking
/// a B-tree beside them is several times faster than hashing each UID into a table too big
/// for the CPU cache (42% of `FETCH 1:* (RFC822.SIZE)` at 100,000 messages, in `perf`).
#[derive(Default)]
struct MailboxEntries {
    last_used: u64,
    bytes: usize,
    entries: BTreeMap<Uid, Entry>,
}

/// A cursor skips at most this many entries before it seeks instead (sparse lookups).
const MAX_SKIP: usize = 16;

/// `f` of the entry of each of `uids` (`None` where there is none), in order. Ascending runs
/// are answered by walking the map; a UID below its predecessor is looked up on its own.
fn lookup<'a, T>(
    entries: &'a BTreeMap<Uid, Entry>,
    uids: &[Uid],
    mut f: impl FnMut(Option<&'a Entry>) -> T,
) -> Vec<T> {
    let mut out = Vec::with_capacity(uids.len());
    let Some(&first) = uids.first() else {
        return out;
    };
    let mut cursor = entries.range(first..).peekable();
    let mut last = first;
    for &uid in uids {
        if uid < last {
            out.push(f(entries.get(&uid)));
            continue;
        }
        last = uid;
        let mut skipped = 0;
        while cursor.next_if(|(u, _)| **u < uid).is_some() {
            skipped += 1;
            if skipped == MAX_SKIP {
                cursor = entries.range(uid..).peekable();
                break;
            }
        }
        let found = cursor.peek().filter(|(u, _)| **u == uid).map(|(_, e)| *e);
        out.push(f(found));
    }
    out
}

#[derive(Default)]
struct State {
    tick: u64,
    bytes: usize,
    mailboxes: HashMap<MailboxId, MailboxEntries>,
}

/// See the module docs. Shared by every session of a store.
pub(crate) struct MessageCache {
    budget: AtomicUsize,
    state: Mutex<State>,
}

/// What the cache has for one message: the fields (covering what was asked), or the bits
/// it does cover (0 if nothing), so the caller computes the union once.
pub(crate) enum Lookup {
    Hit(Arc<[Field]>),
    Miss(u8),
}

impl MessageCache {
    /// A cache holding at most about `budget` bytes (0: keeps nothing).
    pub fn new(budget: usize) -> MessageCache {
        MessageCache {
            budget: AtomicUsize::new(budget),
            state: Mutex::new(State::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Changes the budget (`message_cache_mib`); what is kept is dropped, so a smaller
    /// budget holds at once.
    pub fn set_budget(&self, budget: usize) {
        self.budget.store(budget, Ordering::Relaxed);
        let mut state = self.lock();
        state.mailboxes.clear();
        state.bytes = 0;
    }

    /// Runs `f` on `mailbox`'s entries (marking it used), or returns `None` if it has none.
    fn with_mailbox<T>(
        &self,
        mailbox: MailboxId,
        f: impl FnOnce(&BTreeMap<Uid, Entry>) -> T,
    ) -> Option<T> {
        let mut state = self.lock();
        state.tick += 1;
        let tick = state.tick;
        let mb = state.mailboxes.get_mut(&mailbox)?;
        mb.last_used = tick;
        Some(f(&mb.entries))
    }

    /// Looks up `uids` of `mailbox` for the fields in `bits`.
    pub fn fields(&self, mailbox: MailboxId, uids: &[Uid], bits: u8) -> Vec<Lookup> {
        let found = self.with_mailbox(mailbox, |entries| {
            lookup(entries, uids, |entry| match entry {
                Some(Entry {
                    bits: have,
                    fields: Some(f),
                    ..
                }) if have & bits == bits => Lookup::Hit(Arc::clone(f)),
                Some(e) => Lookup::Miss(e.bits),
                None => Lookup::Miss(0),
            })
        });
        found.unwrap_or_else(|| uids.iter().map(|_| Lookup::Miss(0)).collect())
    }

    /// Size and date of each of `uids` of `mailbox`, where known.
    pub fn summaries(&self, mailbox: MailboxId, uids: &[Uid]) -> Vec<Option<(u64, DateTime)>> {
        let found = self.with_mailbox(mailbox, |entries| {
            lookup(entries, uids, |entry| entry.and_then(|e| e.summary))
        });
        found.unwrap_or_else(|| vec![None; uids.len()])
    }

    /// Drops what is known of expunged messages: answers for them stop at once, and their
    /// memory is given back.
    pub fn forget(&self, mailbox: MailboxId, uids: &[Uid]) {
        let mut state = self.lock();
        let State {
            bytes, mailboxes, ..
        } = &mut *state;
        let Some(mb) = mailboxes.get_mut(&mailbox) else {
            return;
        };
        for uid in uids {
            if let Some(e) = mb.entries.remove(uid) {
                let c = cost(&e);
                mb.bytes -= c;
                *bytes -= c;
            }
        }
    }

    /// Keeps the size and date of messages of `mailbox`, while the budget allows.
    pub fn put_summaries(&self, mailbox: MailboxId, items: &[(Uid, u64, DateTime)]) {
        let updates = items
            .iter()
            .map(|&(uid, size, date)| (uid, Some((size, date)), None));
        self.put(mailbox, updates);
    }

    /// Keeps fields computed for `bits`, replacing the fields each message had, while the
    /// budget allows.
    pub fn put_fields(&self, mailbox: MailboxId, items: &[(Uid, u8, Arc<[Field]>)]) {
        let updates = items
            .iter()
            .map(|(uid, bits, fields)| (*uid, None, Some((*bits, Arc::clone(fields)))));
        self.put(mailbox, updates);
    }

    /// Merges what is now known of some messages of `mailbox` into their entries. Less
    /// recently used mailboxes are dropped to make room; once this mailbox alone would
    /// exceed the budget, its other messages are not kept.
    fn put(
        &self,
        mailbox: MailboxId,
        updates: impl Iterator<Item = (Uid, Option<(u64, DateTime)>, Option<(u8, Arc<[Field]>)>)>,
    ) {
        let budget = self.budget.load(Ordering::Relaxed);
        if budget == 0 {
            return;
        }
        let mut state = self.lock();
        let State {
            tick,
            bytes,
            mailboxes,
        } = &mut *state;
        *tick += 1;
        mailboxes.entry(mailbox).or_default().last_used = *tick;
        for (uid, summary, fields) in updates {
            let mut entry = Entry {
                summary,
                bits: 0,
                fields: None,
            };
            if let Some((bits, f)) = fields {
                entry.bits = bits;
                entry.fields = Some(f);
            }
            let Some(mb) = mailboxes.get_mut(&mailbox) else {
                return;
            };
            if let Some(old) = mb.entries.remove(&uid) {
                let old_cost = cost(&old);
                mb.bytes -= old_cost;
                *bytes -= old_cost;
                entry.summary = entry.summary.or(old.summary);
                if entry.fields.is_none() {
                    entry.bits = old.bits;
                    entry.fields = old.fields;
                }
            }
            while *bytes + cost(&entry) > budget {
                let victim = mailboxes
                    .iter()
                    .filter(|(id, _)| **id != mailbox)
                    .min_by_key(|(_, m)| m.last_used)
                    .map(|(id, _)| *id);
                let Some(victim) = victim else { break };
                if let Some(m) = mailboxes.remove(&victim) {
                    *bytes -= m.bytes;
                }
            }
            let Some(mb) = mailboxes.get_mut(&mailbox) else {
                return;
            };
            if *bytes + cost(&entry) > budget {
                return; // this mailbox alone fills the budget: the rest goes uncached
            }
            let c = cost(&entry);
            mb.entries.insert(uid, entry);
            mb.bytes += c;
            *bytes += c;
        }
    }

    /// Bytes held now (approximate).
    #[cfg(test)]
    fn bytes(&self) -> usize {
        self.lock().bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(value: &str) -> Arc<[Field]> {
        vec![Field {
            name: "Subject".into(),
            value: value.into(),
        }]
        .into()
    }

    fn hit(l: &Lookup) -> Option<&str> {
        match l {
            Lookup::Hit(f) => Some(f[0].value.as_str()),
            Lookup::Miss(_) => None,
        }
    }

    #[test]
    fn names_map_to_bits_and_back() {
        let names = vec!["from".to_string(), "subject".to_string()];
        let bits = field_bits(&names).expect("cached names");
        assert_eq!(bit_names(bits), vec!["subject", "from"]);
        assert_eq!(field_bits(&["x-spam".to_string()]), None);
        assert_eq!(field_bits(&[]), Some(0));
    }

    #[test]
    fn entries_answer_only_for_the_fields_they_cover() {
        let cache = MessageCache::new(DEFAULT_BUDGET);
        cache.put_fields(1, &[(10, 0b1, fields("hello"))]);
        let got = cache.fields(1, &[10, 11], 0b1);
        assert_eq!(hit(&got[0]), Some("hello"));
        assert!(matches!(got[1], Lookup::Miss(0)));
        assert!(matches!(cache.fields(1, &[10], 0b11)[0], Lookup::Miss(0b1)));
        assert!(matches!(cache.fields(2, &[10], 0b1)[0], Lookup::Miss(0)));
    }

    #[test]
    fn the_budget_evicts_the_least_recently_used_mailbox() {
        let one = cost(&Entry {
            summary: None,
            bits: 1,
            fields: Some(fields("x")),
        });
        let cache = MessageCache::new(3 * one);
        cache.put_fields(1, &[(1, 1, fields("x")), (2, 1, fields("x"))]);
        cache.put_fields(2, &[(1, 1, fields("x"))]);
        cache.fields(1, &[1], 1); // mailbox 1 is now the most recent
        cache.put_fields(3, &[(1, 1, fields("x"))]);
        assert!(
            hit(&cache.fields(1, &[1], 1)[0]).is_some(),
            "recent mailbox kept"
        );
        assert!(
            hit(&cache.fields(2, &[1], 1)[0]).is_none(),
            "oldest mailbox evicted"
        );
        assert!(hit(&cache.fields(3, &[1], 1)[0]).is_some());
        assert!(cache.bytes() <= 3 * one);
        // A mailbox bigger than the budget stops being cached, without evicting itself.
        cache.put_fields(4, &(1..10).map(|u| (u, 1, fields("x"))).collect::<Vec<_>>());
        assert!(cache.bytes() <= 3 * one);
        assert!(hit(&cache.fields(4, &[1], 1)[0]).is_some());
    }

    #[test]
    fn summaries_and_fields_of_a_message_share_its_entry() {
        let cache = MessageCache::new(DEFAULT_BUDGET);
        let date = DateTime::from_unix(1_700_000_000, 60);
        cache.put_summaries(1, &[(10, 123, date)]);
        cache.put_fields(1, &[(10, 1, fields("hello"))]);
        assert_eq!(cache.summaries(1, &[10, 11]), vec![Some((123, date)), None]);
        assert_eq!(hit(&cache.fields(1, &[10], 1)[0]), Some("hello"));
        cache.put_summaries(1, &[(10, 123, date)]);
        assert_eq!(
            hit(&cache.fields(1, &[10], 1)[0]),
            Some("hello"),
            "fields kept"
        );
    }

    #[test]
    fn setting_the_budget_drops_what_is_kept() {
        let cache = MessageCache::new(DEFAULT_BUDGET);
        cache.put_fields(1, &[(10, 1, fields("hello"))]);
        cache.set_budget(0);
        assert!(matches!(cache.fields(1, &[10], 1)[0], Lookup::Miss(0)));
        cache.put_fields(1, &[(10, 1, fields("hello"))]);
        assert!(
            matches!(cache.fields(1, &[10], 1)[0], Lookup::Miss(0)),
            "off at 0"
        );
    }

    #[test]
    fn lookups_in_any_order_find_every_entry() {
        let cache = MessageCache::new(DEFAULT_BUDGET);
        let date = DateTime::from_unix(1_700_000_000, 0);
        // Every third UID of 1..=300 is known.
        let known: Vec<_> = (1..=100).map(|i| (i * 3, u64::from(i), date)).collect();
        cache.put_summaries(7, &known);
        let expect = |uid: Uid| (uid % 3 == 0).then(|| (u64::from(uid / 3), date));
        for uids in [
            (1..=300).collect::<Vec<Uid>>(),       // dense, ascending
            vec![3, 150, 151, 297, 298, 299, 300], // sparse: the cursor seeks
            vec![300, 3, 9, 6, 6, 1, 299],         // out of order and repeated
            vec![],
        ] {
            let got = cache.summaries(7, &uids);
            let want: Vec<_> = uids.iter().map(|&u| expect(u)).collect();
            assert_eq!(got, want, "uids {uids:?}");
        }
    }

    #[test]
    fn a_zero_budget_keeps_nothing() {
        let cache = MessageCache::new(0);
        cache.put_fields(1, &[(10, 1, fields("hello"))]);
        assert!(matches!(cache.fields(1, &[10], 1)[0], Lookup::Miss(0)));
    }
}
