//! The authentication cache: recent successful logins, so that a client that reconnects with
//! the same password skips argon2 (like Dovecot's `auth_cache_size` / `auth_cache_ttl`).
//!
//! An entry is `user → (tag, time verified)`, where the tag is BLAKE2b-MAC-256 under a key
//! drawn from the OS at startup (never stored) over the user name, the account's stored PHC
//! string and the password. No plaintext and no unkeyed fast hash is kept: a memory dump
//! without the key gives nothing to run a dictionary against faster than argon2.
//!
//! Rules (see `Inner::check_login`):
//! - only a full argon2 success inserts; a wrong password or an unknown user always takes the
//!   full path, so guessing costs what it did (and the per-address login throttle applies);
//! - a wrong password does not evict the entry: it cannot match it, and evicting would let
//!   anyone who knows a user name push that user's next login back onto argon2;
//! - binding the stored hash into the tag means a changed password (or a deleted and
//!   re-created account) can never hit an older entry, even one inserted by a login that
//!   raced the change; `set_password` and `delete_user` also forget the entry outright;
//! - an entry lives `ttl` from its argon2 verification (a hit does not extend it), and at most
//!   `max_entries` are kept: when full, expired entries go first, then the oldest;
//! - `ttl` or `max_entries` of 0 disables the cache.
//!
//! Time is an argument (`now`), so tests drive expiry without sleeping.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use blake2::digest::consts::U32;
use blake2::digest::{KeyInit, Mac};
use blake2::Blake2bMac;
use tidings_engine::store::constant_time_eq;

/// Default lifetime of an entry, as Dovecot's `auth_cache_ttl`.
pub const DEFAULT_AUTH_CACHE_TTL: Duration = Duration::from_secs(3600);
/// Default bound on the number of entries (about 100 bytes each plus the user name).
pub const DEFAULT_AUTH_CACHE_ENTRIES: usize = 50_000;

type Tag = [u8; 32];

/// Counters of [`AuthCache`] lookups, for tests and diagnostics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AuthCacheStats {
    /// Logins answered from the cache, without argon2.
    pub hits: u64,
    /// Logins checked with argon2 (including wrong passwords, unknown users, a disabled cache).
    pub misses: u64,
    /// Entries held now.
    pub entries: usize,
}

/// Recent successful logins; see the module docs.
pub(crate) struct AuthCache {
    key: [u8; 32],
    /// False if the OS gave no randomness for `key`: the cache then stays disabled.
    keyed: bool,
    state: Mutex<State>,
    hits: AtomicU64,
    misses: AtomicU64,
}

struct State {
    ttl: Duration,
    max_entries: usize,
    entries: HashMap<String, Entry>,
}

struct Entry {
    tag: Tag,
    verified: Instant,
}

impl State {
    fn enabled(&self) -> bool {
        !self.ttl.is_zero() && self.max_entries > 0
    }

    fn is_fresh(&self, entry: &Entry, now: Instant) -> bool {
        now.saturating_duration_since(entry.verified) < self.ttl
    }
}

impl AuthCache {
    /// A cache with a fresh random key. If the OS has no randomness to give, the cache is
    /// disabled (logins are then always verified with argon2).
    pub(crate) fn new(ttl: Duration, max_entries: usize) -> AuthCache {
        let mut key = [0u8; 32];
        let keyed = getrandom::fill(&mut key).is_ok();
        if !keyed {
            tracing::warn!("no OS randomness for the auth cache key: auth cache disabled");
        }
        AuthCache {
            key,
            keyed,
            state: Mutex::new(State {
                ttl: if keyed { ttl } else { Duration::ZERO },
                max_entries,
                entries: HashMap::new(),
            }),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// Changes the bounds and drops every entry.
    pub(crate) fn configure(&self, ttl: Duration, max_entries: usize) {
        let mut state = self.lock();
        state.ttl = if self.keyed { ttl } else { Duration::ZERO };
        state.max_entries = max_entries;
        state.entries = HashMap::new();
    }

    /// True if `user` logged in with exactly this `password` against this stored `phc`
    /// within the TTL. Counts a hit (the caller counts its argon2 checks, see [`Self::miss`]).
    pub(crate) fn lookup(&self, user: &str, phc: &str, password: &[u8], now: Instant) -> bool {
        let tag = self.tag(user, phc, password);
        let hit = {
            let state = self.lock();
            state.enabled()
                && state
                    .entries
                    .get(user)
                    .is_some_and(|e| state.is_fresh(e, now) && constant_time_eq(&e.tag, &tag))
        };
        if hit {
            self.hits.fetch_add(1, Ordering::Relaxed);
        }
        hit
    }

    /// Counts a login checked with argon2 (called next to the check itself, so the count
    /// proves what ran).
    pub(crate) fn miss(&self) {
        self.misses.fetch_add(1, Ordering::Relaxed);
    }

    /// Records a login that argon2 has just verified (at `now`), replacing any entry of
    /// `user`.
    pub(crate) fn remember(&self, user: &str, phc: &str, password: &[u8], now: Instant) {
        let tag = self.tag(user, phc, password);
        let mut state = self.lock();
        if !state.enabled() {
            return;
        }
        if !state.entries.contains_key(user) && state.entries.len() >= state.max_entries {
            make_room(&mut state, now);
        }
        state
            .entries
            .insert(user.to_string(), Entry { tag, verified: now });
    }

    /// Drops the entry of `user` (password changed, account deleted).
    pub(crate) fn forget(&self, user: &str) {
        self.lock().entries.remove(user);
    }

    pub(crate) fn stats(&self) -> AuthCacheStats {
        AuthCacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            entries: self.lock().entries.len(),
        }
    }

    /// MAC over the length-prefixed user and PHC string, then the password.
    fn tag(&self, user: &str, phc: &str, password: &[u8]) -> Tag {
        let mut mac = <Blake2bMac<U32> as KeyInit>::new_from_slice(&self.key)
            .expect("32 bytes is a valid BLAKE2b key length");
        for field in [user.as_bytes(), phc.as_bytes()] {
            mac.update(&(field.len() as u64).to_le_bytes());
            mac.update(field);
        }
        mac.update(password);
        mac.finalize().into_bytes().into()
    }

    /// The state; a panic while it was held leaves nothing half-done, so poisoning is ignored.
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Frees at least one slot of a full cache: drops expired entries, else the oldest one.
fn make_room(state: &mut State, now: Instant) {
    let ttl = state.ttl;
    state
        .entries
        .retain(|_, e| now.saturating_duration_since(e.verified) < ttl);
    if state.entries.len() < state.max_entries {
        return;
    }
    let oldest = state
        .entries
        .iter()
        .min_by_key(|(_, e)| e.verified)
        .map(|(user, _)| user.clone());
    if let Some(user) = oldest {
        state.entries.remove(&user);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PHC: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA";
    const OTHER_PHC: &str = "$argon2id$v=19$m=19456,t=2,p=1$b3RoZXJzYWx0$aGFzaGhhc2hoYXNoaGFzaA";

    fn cache() -> AuthCache {
        AuthCache::new(Duration::from_secs(60), 3)
    }

    #[test]
    fn remembered_login_hits_until_the_ttl() {
        let c = cache();
        let t0 = Instant::now();
        assert!(!c.lookup("bob", PHC, b"pw", t0));
        c.remember("bob", PHC, b"pw", t0);
        assert!(c.lookup("bob", PHC, b"pw", t0 + Duration::from_secs(59)));
        assert!(!c.lookup("bob", PHC, b"pw", t0 + Duration::from_secs(60)));
        let s = c.stats();
        assert_eq!((s.hits, s.misses, s.entries), (1, 0, 1));
    }

    #[test]
    fn only_the_same_user_password_and_hash_hit() {
        let c = cache();
        let t0 = Instant::now();
        c.remember("bob", PHC, b"pw", t0);
        assert!(!c.lookup("bob", PHC, b"pw2", t0));
        assert!(!c.lookup("bob", PHC, b"", t0));
        assert!(!c.lookup("alice", PHC, b"pw", t0));
        assert!(
            !c.lookup("bob", OTHER_PHC, b"pw", t0),
            "password changed elsewhere"
        );
        assert!(
            c.lookup("bob", PHC, b"pw", t0),
            "a wrong password does not evict"
        );
    }

    #[test]
    fn forget_drops_the_entry() {
        let c = cache();
        let t0 = Instant::now();
        c.remember("bob", PHC, b"pw", t0);
        c.forget("bob");
        assert!(!c.lookup("bob", PHC, b"pw", t0));
        assert_eq!(c.stats().entries, 0);
    }

    #[test]
    fn zero_ttl_or_size_never_caches() {
        for c in [
            AuthCache::new(Duration::ZERO, 10),
            AuthCache::new(Duration::from_secs(60), 0),
        ] {
            let t0 = Instant::now();
            c.remember("bob", PHC, b"pw", t0);
            assert!(!c.lookup("bob", PHC, b"pw", t0));
            assert_eq!(c.stats().entries, 0);
        }
    }

    #[test]
    fn configure_clears_and_can_disable() {
        let c = cache();
        let t0 = Instant::now();
        c.remember("bob", PHC, b"pw", t0);
        c.configure(Duration::from_secs(60), 3);
        assert!(!c.lookup("bob", PHC, b"pw", t0));
        c.configure(Duration::ZERO, 3);
        c.remember("bob", PHC, b"pw", t0);
        assert!(!c.lookup("bob", PHC, b"pw", t0));
    }

    #[test]
    fn a_full_cache_drops_expired_then_oldest() {
        let c = cache();
        let t0 = Instant::now();
        let s = Duration::from_secs;
        c.remember("a", PHC, b"pw", t0);
        c.remember("b", PHC, b"pw", t0 + s(10));
        c.remember("c", PHC, b"pw", t0 + s(20));
        // Full; nothing expired: the oldest ("a") goes.
        c.remember("d", PHC, b"pw", t0 + s(30));
        assert_eq!(c.stats().entries, 3);
        assert!(!c.lookup("a", PHC, b"pw", t0 + s(30)));
        assert!(c.lookup("b", PHC, b"pw", t0 + s(30)));
        // Re-remembering a present user needs no room.
        c.remember("b", PHC, b"pw", t0 + s(40));
        assert!(c.lookup("c", PHC, b"pw", t0 + s(40)));
        // At t0+95 "c" (t0+20) and "d" (t0+30) are expired; both go, "b" (t0+40) stays.
        c.remember("e", PHC, b"pw", t0 + s(95));
        assert_eq!(c.stats().entries, 2);
        assert!(c.lookup("b", PHC, b"pw", t0 + s(95)));
        assert!(c.lookup("e", PHC, b"pw", t0 + s(95)));
    }

    #[test]
    fn tags_are_keyed_per_process() {
        let (a, b) = (cache(), cache());
        assert_ne!(a.tag("bob", PHC, b"pw"), b.tag("bob", PHC, b"pw"));
        assert_eq!(a.tag("bob", PHC, b"pw"), a.tag("bob", PHC, b"pw"));
        // Length prefixes: moving bytes from one field into the next changes the tag.
        let shifted = format!("b{PHC}");
        assert_ne!(a.tag("bob", PHC, b"pw"), a.tag("bo", &shifted, b"pw"));
    }
}
