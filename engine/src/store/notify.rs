//! Runtime-free change notification: a per-account version counter and the wakers waiting on
//! it. Stores call `Notifier::notify`; hosts await `Watch::changed` to know when to resync.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

/// One account's change counter and the wakers of the watches waiting on it.
///
/// Wakers are keyed by watch: a watch polled again (a connection's select loop polls it on
/// every turn) replaces its waker in O(1), and 10,000 watchers of one account re-registering
/// after a wake-up cost 10,000 inserts, not a scan of the list each.
#[derive(Default)]
struct Slot {
    version: AtomicU64,
    wakers: Mutex<HashMap<u64, Waker>>,
}

impl Slot {
    fn version(&self) -> u64 {
        self.version.load(Ordering::Acquire)
    }

    fn wakers(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Waker>> {
        self.wakers.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[derive(Default)]
struct Shared {
    slots: Mutex<HashMap<String, Arc<Slot>>>,
    next_watch: AtomicU64,
}

/// Shared by a store and every `Watch` it hands out. Cheap to clone.
#[derive(Clone, Default)]
pub struct Notifier {
    inner: Arc<Shared>,
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

    fn slot(&self, account: &str) -> Arc<Slot> {
        let mut slots = self.inner.slots.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(slot) = slots.get(account) {
            return Arc::clone(slot);
        }
        let slot = Arc::new(Slot::default());
        slots.insert(account.to_string(), Arc::clone(&slot));
        slot
    }

    /// Records a change in `account` and wakes every watcher of it.
    pub fn notify(&self, account: &str) {
        let slot = self.slot(account);
        let wakers = {
            let mut wakers = slot.wakers();
            // Bumped under the wakers' lock: a watch that registers after this sees the new
            // version, one that registered before is in the list being woken.
            slot.version.fetch_add(1, Ordering::AcqRel);
            std::mem::take(&mut *wakers)
        };
        for (_, w) in wakers {
            w.wake();
        }
    }

    /// A watcher of `account` that has seen everything up to now.
    pub fn watch(&self, account: &str) -> Watch {
        let slot = self.slot(account);
        Watch {
            id: self.inner.next_watch.fetch_add(1, Ordering::Relaxed),
            seen: slot.version(),
            slot,
        }
    }
}

/// Wakes when its account changes after the last `changed().await` returned (or after it
/// was created). Changes that happen while nobody awaits are not lost: the next call
/// returns at once.
pub struct Watch {
    id: u64,
    slot: Arc<Slot>,
    seen: u64,
}

impl std::fmt::Debug for Watch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watch")
            .field("id", &self.id)
            .field("seen", &self.seen)
            .finish()
    }
}

impl Watch {
    /// Completes when the account has changed since the last time this returned.
    pub fn changed(&mut self) -> Changed<'_> {
        Changed { watch: self }
    }

    /// True (and marks it seen) if a change happened since the last check, without waiting.
    pub fn take_change(&mut self) -> bool {
        let v = self.slot.version();
        let changed = v != self.seen;
        self.seen = v;
        changed
    }
}

impl Drop for Watch {
    /// A closed connection's waker must not stay in the list until the next change.
    fn drop(&mut self) {
        self.slot.wakers().remove(&self.id);
    }
}

/// Future returned by [`Watch::changed`].
pub struct Changed<'a> {
    watch: &'a mut Watch,
}

impl Future for Changed<'_> {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let watch = &mut self.get_mut().watch;
        if watch.take_change() {
            return Poll::Ready(());
        }
        let Watch { id, slot, seen } = &mut **watch;
        let mut wakers = slot.wakers();
        // Checked again under the lock `notify` bumps the version under: no lost wake-up.
        let v = slot.version();
        if v != *seen {
            *seen = v;
            return Poll::Ready(());
        }
        match wakers.get_mut(id) {
            Some(w) if w.will_wake(cx.waker()) => {}
            Some(w) => w.clone_from(cx.waker()),
            None => {
                wakers.insert(*id, cx.waker().clone());
            }
        }
        Poll::Pending
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

    /// Counts its wake-ups.
    struct Counter(std::sync::atomic::AtomicUsize);
    impl std::task::Wake for Counter {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn a_watch_polled_many_times_is_woken_once_and_forgotten_on_drop() {
        let n = Notifier::new();
        let counter = Arc::new(Counter(Default::default()));
        let waker = Waker::from(Arc::clone(&counter));
        let mut cx = Context::from_waker(&waker);
        let mut w = n.watch("bob");
        for _ in 0..3 {
            let mut fut = w.changed();
            assert!(Pin::new(&mut fut).poll(&mut cx).is_pending());
        }
        assert_eq!(n.slot("bob").wakers().len(), 1, "one waker per watch");
        n.notify("bob");
        assert_eq!(counter.0.load(Ordering::SeqCst), 1);
        assert!(Pin::new(&mut w.changed()).poll(&mut cx).is_ready());
        assert!(Pin::new(&mut w.changed()).poll(&mut cx).is_pending());
        drop(w);
        assert!(
            n.slot("bob").wakers().is_empty(),
            "dropped watch leaves no waker"
        );
    }
}
