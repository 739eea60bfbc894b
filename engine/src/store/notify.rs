//! Runtime-free change notification: a per-account version counter and the wakers waiting on
//! it. Stores call `Notifier::notify`; hosts await `Watch::changed` to know when to resync.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

#[derive(Default)]
struct Slot {
    version: u64,
    wakers: Vec<Waker>,
}

/// Shared by a store and every `Watch` it hands out. Cheap to clone.
#[derive(Clone, Default)]
pub struct Notifier {
    inner: Arc<Mutex<HashMap<String, Slot>>>,
}

impl std::fmt::Debug for Notifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Notifier")
    }
}

impl Notifier {
    /// A notifier with no watchers and every account at version 0.
    pub fn new() -> Notifier {
        Notifier::default()
    }

    /// Records a change in `account` and wakes every watcher of it.
    pub fn notify(&self, account: &str) {
        let wakers = {
            let mut map = self.inner.lock().unwrap_or_else(|p| p.into_inner());
            let slot = map.entry(account.to_string()).or_default();
            slot.version += 1;
            std::mem::take(&mut slot.wakers)
        };
        for w in wakers {
            w.wake();
        }
    }

    /// A watcher of `account` that has seen everything up to now.
    pub fn watch(&self, account: &str) -> Watch {
        let version = self.version(account);
        Watch {
            notifier: self.clone(),
            account: account.to_string(),
            seen: version,
        }
    }

    fn version(&self, account: &str) -> u64 {
        let map = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        map.get(account).map_or(0, |s| s.version)
    }
}

/// Wakes when its account changes after the last `changed().await` returned (or after it
/// was created). Changes that happen while nobody awaits are not lost: the next call
/// returns at once.
#[derive(Debug)]
pub struct Watch {
    notifier: Notifier,
    account: String,
    seen: u64,
}

impl Watch {
    /// Completes when the account has changed since the last time this returned.
    pub fn changed(&mut self) -> Changed<'_> {
        Changed { watch: self }
    }

    /// True (and marks it seen) if a change happened since the last check, without waiting.
    pub fn take_change(&mut self) -> bool {
        let v = self.notifier.version(&self.account);
        let changed = v != self.seen;
        self.seen = v;
        changed
    }
}

/// Future returned by [`Watch::changed`].
pub struct Changed<'a> {
    watch: &'a mut Watch,
}

impl Future for Changed<'_> {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let mut map = this
            .watch
            .notifier
            .inner
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let slot = map.entry(this.watch.account.clone()).or_default();
        if slot.version != this.watch.seen {
            this.watch.seen = slot.version;
            Poll::Ready(())
        } else {
            if !slot.wakers.iter().any(|w| w.will_wake(cx.waker())) {
                slot.wakers.push(cx.waker().clone());
            }
            Poll::Pending
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_before_waiting_is_not_lost() {
        let n = Notifier::new();
        let mut w = n.watch("bob");
        assert!(!w.take_change());
        n.notify("alice");
        assert!(!w.take_change(), "other accounts do not wake bob");
        n.notify("bob");
        assert!(w.take_change());
        assert!(!w.take_change());
    }
}
