//! An in-memory test bench: several sessions wired to one store with virtual time, so whole
//! IMAP conversations (and multi-client interleavings) run without sockets or a runtime.
//!
//! Only for stores whose futures complete without waiting on I/O (e.g. `MemoryStore`):
//! [`block_on`] polls with a no-op waker.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use crate::session::{Event, Progress, Session, SessionConfig};
use crate::store::{Store, Watch};
use crate::types::Timestamp;

/// Runs a future that never waits on anything external to completion.
///
/// # Panics
/// If the future is still pending after many polls (it is waiting on real I/O).
pub fn block_on<F: Future>(fut: F) -> F::Output {
    let mut fut = pin!(fut);
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..1_000_000 {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
    }
    panic!("block_on: future did not complete; harness stores must not wait on I/O")
}

/// One simulated client connection.
struct Client {
    session: Session,
    watch: Option<Watch>,
    /// Output produced but not yet taken by the test.
    pending: Vec<u8>,
    events: Vec<Event>,
    /// Times a command paused with output queued (`Progress::Paused`).
    pauses: usize,
}

/// Sessions sharing one store, driven like a host would drive them.
pub struct Harness<S: Store> {
    store: S,
    now: Timestamp,
    config: SessionConfig,
    clients: Vec<Client>,
}

impl<S: Store> Harness<S> {
    /// A bench over `store`, starting at a fixed virtual time.
    pub fn new(store: S) -> Self {
        Harness {
            store,
            now: Timestamp(1_750_000_000_000),
            config: SessionConfig::default(),
            clients: Vec::new(),
        }
    }

    /// Uses `config` for connections opened from now on.
    pub fn with_config(mut self, config: SessionConfig) -> Self {
        self.config = config;
        self
    }

    /// The shared store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Current virtual time.
    pub fn now(&self) -> Timestamp {
        self.now
    }

    /// Opens a connection; returns its id and the greeting.
    pub fn connect(&mut self) -> (usize, String) {
        let session = Session::new(self.config.clone(), self.now);
        self.clients.push(Client {
            session,
            watch: None,
            pending: Vec::new(),
            events: Vec::new(),
            pauses: 0,
        });
        let id = self.clients.len() - 1;
        self.pump();
        (id, self.take(id))
    }

    /// Sends client bytes on connection `id`, runs everything that follows (including pushes
    /// to other connections) and returns the output of `id`.
    pub fn send(&mut self, id: usize, bytes: impl AsRef<[u8]>) -> String {
        let now = self.now;
        if let Some(c) = self.clients.get_mut(id) {
            c.session.handle_input(bytes.as_ref(), now);
        }
        self.pump();
        self.take(id)
    }

    /// Like [`Harness::send`], returning raw bytes (for binary content).
    pub fn send_raw(&mut self, id: usize, bytes: impl AsRef<[u8]>) -> Vec<u8> {
        let now = self.now;
        if let Some(c) = self.clients.get_mut(id) {
            c.session.handle_input(bytes.as_ref(), now);
        }
        self.pump();
        self.take_raw(id)
    }

    /// Output of `id` produced since it was last taken (e.g. IDLE pushes).
    pub fn take(&mut self, id: usize) -> String {
        String::from_utf8_lossy(&self.take_raw(id)).into_owned()
    }

    /// Raw output of `id` produced since it was last taken.
    pub fn take_raw(&mut self, id: usize) -> Vec<u8> {
        self.clients
            .get_mut(id)
            .map(|c| std::mem::take(&mut c.pending))
            .unwrap_or_default()
    }

    /// Events `id` has raised so far (StartTls, LoggedIn, Close, ...), oldest first.
    pub fn events(&mut self, id: usize) -> Vec<Event> {
        self.clients
            .get_mut(id)
            .map(|c| std::mem::take(&mut c.events))
            .unwrap_or_default()
    }

    /// How many times a command of `id` paused with output queued so far.
    pub fn pauses(&self, id: usize) -> usize {
        self.clients.get(id).map_or(0, |c| c.pauses)
    }

    /// The session behind `id` (for assertions on state).
    pub fn session(&self, id: usize) -> &Session {
        &self.clients[id].session
    }

    /// Advances virtual time, firing timers that fall due.
    pub fn advance(&mut self, millis: i64) {
        self.now = self.now.plus_millis(millis);
        let now = self.now;
        for c in &mut self.clients {
            if c.session.poll_timeout().is_some_and(|t| t <= now) {
                c.session.handle_timeout(now);
            }
        }
        self.pump();
    }

    /// Runs every session until nothing changes: processes input, delivers store changes to
    /// watchers, collects output and events.
    fn pump(&mut self) {
        let now = self.now;
        for _round in 0..16 {
            let mut progressed = false;
            for i in 0..self.clients.len() {
                let store = &self.store;
                let c = &mut self.clients[i];
                if c.watch.as_mut().is_some_and(|w| w.take_change()) {
                    c.session.handle_store_change();
                }
                // A paused FETCH goes on once its output is taken, as a host would send it.
                while block_on(c.session.process(store, now)) == Progress::Paused {
                    c.pending.extend_from_slice(&c.session.take_output());
                    c.pauses += 1;
                }
                let out = c.session.take_output();
                if !out.is_empty() {
                    progressed = true;
                    c.pending.extend_from_slice(&out);
                }
                while let Some(ev) = c.session.poll_event() {
                    if let Event::LoggedIn(account) = &ev {
                        c.watch = Some(store.watch(account));
                    }
                    c.events.push(ev);
                    progressed = true;
                }
            }
            // Every mutation answers its command, so a change always shows as progress and
            // the next round delivers it to the other watchers.
            if !progressed {
                break;
            }
        }
    }
}
