//! The shim's switchboard: which page (at most one) hosts the engine, and which client
//! connections it serves. Routes page frames to clients; tells clients when the page goes.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::{mpsc, watch};

use super::frame::Frame;

/// Most bytes the page may have queued for one client that is not reading; past it the
/// connection is dropped rather than growing the shim's memory.
pub const MAX_QUEUED: usize = 16 * 1024 * 1024;

/// What a client task receives.
#[derive(Debug)]
pub enum ToClient {
    /// Bytes from the engine for the client.
    Data(Vec<u8>),
    /// The page closed this connection (e.g. after LOGOUT): flush and close.
    Close,
    /// The page went away (closed, reloaded, replaced, or the shim stops).
    PageGone,
}

/// A client connection as the hub sees it.
struct ClientSlot {
    tx: mpsc::UnboundedSender<ToClient>,
    queued: Arc<AtomicUsize>,
}

/// The connected page.
struct PageSlot {
    generation: u64,
    /// Frames for the page's WebSocket.
    out: mpsc::Sender<Vec<u8>>,
    /// Dropped when the page is replaced: its task then closes the WebSocket.
    _alive: watch::Sender<()>,
    clients: HashMap<u32, ClientSlot>,
}

/// What a client task holds once it is attached to the page.
pub struct Attached {
    pub id: u32,
    pub generation: u64,
    /// Frames to the page (OPEN/DATA/CLOSE of this connection).
    pub to_page: mpsc::Sender<Vec<u8>>,
    pub rx: mpsc::UnboundedReceiver<ToClient>,
    /// Bytes queued in `rx`; the client task subtracts what it writes.
    pub queued: Arc<AtomicUsize>,
}

/// What a page task holds.
pub struct PageHandle {
    pub generation: u64,
    pub out: mpsc::Receiver<Vec<u8>>,
    /// Changes (errors) when a newer page took over.
    pub replaced: watch::Receiver<()>,
}

/// Shared state of one shim.
#[derive(Default)]
pub struct Hub {
    page: Mutex<Option<PageSlot>>,
    next_id: AtomicU32,
    next_generation: AtomicU64,
}

impl Hub {
    fn lock(&self) -> MutexGuard<'_, Option<PageSlot>> {
        // A panic while holding the lock cannot leave the map half-updated in a way that
        // matters more than losing the shim; keep serving.
        self.page.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Makes a newly connected page the engine host. A previous page is told to go and its
    /// clients get [`ToClient::PageGone`].
    pub fn attach_page(&self) -> PageHandle {
        let generation = self.next_generation.fetch_add(1, Ordering::Relaxed) + 1;
        let (out_tx, out_rx) = mpsc::channel(256);
        let (alive_tx, alive_rx) = watch::channel(());
        let slot = PageSlot {
            generation,
            out: out_tx,
            _alive: alive_tx,
            clients: HashMap::new(),
        };
        let old = self.lock().replace(slot);
        if let Some(old) = old {
            tracing::info!(
                old = old.generation,
                new = generation,
                "a newer page took over"
            );
            for c in old.clients.values() {
                let _ = c.tx.send(ToClient::PageGone);
            }
        }
        PageHandle {
            generation,
            out: out_rx,
            replaced: alive_rx,
        }
    }

    /// Forgets the page if it is still the current one; its clients get `PageGone`.
    pub fn detach_page(&self, generation: u64) {
        let mut guard = self.lock();
        if guard.as_ref().is_some_and(|p| p.generation == generation) {
            if let Some(old) = guard.take() {
                for c in old.clients.values() {
                    let _ = c.tx.send(ToClient::PageGone);
                }
            }
        }
    }

    /// Detaches whatever page is connected (shutdown).
    pub fn detach_any(&self) {
        if let Some(g) = self.current_generation() {
            self.detach_page(g);
        }
    }

    /// The generation of the connected page, if any.
    pub fn current_generation(&self) -> Option<u64> {
        self.lock().as_ref().map(|p| p.generation)
    }

    /// True if a page is connected.
    #[cfg(test)]
    pub fn has_page(&self) -> bool {
        self.lock().is_some()
    }

    /// Registers a new client with the current page, or `None` if there is none. The caller
    /// sends the OPEN frame itself (so frames of one connection keep their order).
    pub fn attach_client(&self) -> Option<Attached> {
        let mut guard = self.lock();
        let page = guard.as_mut()?;
        // Ids are never 0 (HELLO's id) and not reused while the shim runs (2^32 connections).
        let id = loop {
            let id = self.next_id.fetch_add(1, Ordering::Relaxed).wrapping_add(1);
            if id != 0 && !page.clients.contains_key(&id) {
                break id;
            }
        };
        let (tx, rx) = mpsc::unbounded_channel();
        let queued = Arc::new(AtomicUsize::new(0));
        page.clients.insert(
            id,
            ClientSlot {
                tx,
                queued: queued.clone(),
            },
        );
        Some(Attached {
            id,
            generation: page.generation,
            to_page: page.out.clone(),
            rx,
            queued,
        })
    }

    /// The client side of `id` is gone; forget it.
    pub fn detach_client(&self, generation: u64, id: u32) {
        let mut guard = self.lock();
        if let Some(page) = guard.as_mut().filter(|p| p.generation == generation) {
            page.clients.remove(&id);
        }
    }

    /// Routes one frame from page `generation`. Returns a frame to send back to the page, if
    /// any (a CLOSE when a client had to be dropped).
    pub fn route_from_page(&self, generation: u64, frame: Frame<'_>) -> Option<Vec<u8>> {
        let mut guard = self.lock();
        let page = guard.as_mut().filter(|p| p.generation == generation)?;
        match frame {
            Frame::Data { id, bytes } => {
                let slot = page.clients.get(&id)?;
                if bytes.is_empty() {
                    return None;
                }
                let queued = slot.queued.fetch_add(bytes.len(), Ordering::Relaxed) + bytes.len();
                if queued > MAX_QUEUED {
                    tracing::warn!(id, queued, "client is not reading; dropping it");
                    if let Some(slot) = page.clients.remove(&id) {
                        let _ = slot.tx.send(ToClient::Close);
                    }
                    let reason = b"client is not reading its data";
                    return Some(Frame::Close { id, reason }.encode());
                }
                if slot.tx.send(ToClient::Data(bytes.to_vec())).is_err() {
                    page.clients.remove(&id);
                }
                None
            }
            Frame::Close { id, .. } => {
                if let Some(slot) = page.clients.remove(&id) {
                    let _ = slot.tx.send(ToClient::Close);
                }
                None
            }
            Frame::Hello { .. } | Frame::Open { .. } | Frame::Unknown { .. } => {
                tracing::debug!(?frame, "ignoring a frame the page should not send");
                None
            }
        }
    }
}

/// The JSON payload of an OPEN frame.
pub fn open_info(peer: SocketAddr, tls: bool) -> String {
    format!(r#"{{"peer":"{peer}","tls":{tls}}}"#)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_page_no_client() {
        let hub = Hub::default();
        assert!(hub.attach_client().is_none());
        assert!(!hub.has_page());
    }

    #[test]
    fn data_and_close_reach_the_right_client() {
        let hub = Hub::default();
        let page = hub.attach_page();
        let mut a = hub.attach_client().expect("a");
        let mut b = hub.attach_client().expect("b");
        assert_ne!(a.id, b.id);
        assert_eq!(
            hub.route_from_page(
                page.generation,
                Frame::Data {
                    id: b.id,
                    bytes: b"* OK"
                }
            ),
            None
        );
        assert!(matches!(b.rx.try_recv(), Ok(ToClient::Data(d)) if d == b"* OK"));
        assert!(a.rx.try_recv().is_err());
        hub.route_from_page(
            page.generation,
            Frame::Close {
                id: a.id,
                reason: b"",
            },
        );
        assert!(matches!(a.rx.try_recv(), Ok(ToClient::Close)));
        // Frames for unknown ids, or from a stale page, are ignored.
        assert_eq!(
            hub.route_from_page(
                page.generation,
                Frame::Data {
                    id: 999,
                    bytes: b"x"
                }
            ),
            None
        );
        assert_eq!(
            hub.route_from_page(
                page.generation + 7,
                Frame::Data {
                    id: b.id,
                    bytes: b"x"
                }
            ),
            None
        );
        assert!(b.rx.try_recv().is_err());
    }

    #[test]
    fn newer_page_takes_over_and_old_clients_hear_it() {
        let hub = Hub::default();
        let mut old = hub.attach_page();
        let mut a = hub.attach_client().expect("a");
        let new = hub.attach_page();
        assert!(matches!(a.rx.try_recv(), Ok(ToClient::PageGone)));
        assert!(
            old.replaced.has_changed().is_err(),
            "old page is told to go"
        );
        // The old page detaching later does not remove the new one.
        hub.detach_page(old.generation);
        assert!(hub.has_page());
        assert!(old.out.try_recv().is_err());
        let b = hub.attach_client().expect("b");
        assert_eq!(b.generation, new.generation);
        hub.detach_page(new.generation);
        assert!(!hub.has_page());
    }

    #[test]
    fn a_client_that_does_not_read_is_dropped() {
        let hub = Hub::default();
        let page = hub.attach_page();
        let mut a = hub.attach_client().expect("a");
        let chunk = vec![b'x'; 1024 * 1024];
        let mut reply = None;
        for _ in 0..=MAX_QUEUED / chunk.len() {
            reply = hub.route_from_page(
                page.generation,
                Frame::Data {
                    id: a.id,
                    bytes: &chunk,
                },
            );
            if reply.is_some() {
                break;
            }
        }
        let reply = reply.expect("a CLOSE for the page");
        assert!(matches!(Frame::decode(&reply), Ok(Frame::Close { id, .. }) if id == a.id));
        let mut saw_close = false;
        while let Ok(m) = a.rx.try_recv() {
            saw_close |= matches!(m, ToClient::Close);
        }
        assert!(saw_close);
    }

    #[test]
    fn open_info_is_json() {
        let peer: SocketAddr = "127.0.0.1:5000".parse().expect("addr");
        assert_eq!(
            open_info(peer, true),
            r#"{"peer":"127.0.0.1:5000","tls":true}"#
        );
    }
}
