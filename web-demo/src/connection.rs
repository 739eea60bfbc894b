//! The host loop for one connection: a single `spawn_local` task that owns the `Session` and
//! runs it on input, account changes and timers, one step at a time, output to JS callbacks.
//!
//! JS only queues bytes (`feed`) or raises a flag (`close`) and wakes the task, so two
//! `process` calls of one session can never overlap however fast bytes arrive.

use std::cell::{Cell, RefCell};
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Poll, Waker};

use gloo_timers::future::TimeoutFuture;
use js_sys::{Function, Uint8Array};
use tidings_engine::session::{Event, Progress, Session, SessionConfig};
use tidings_engine::store::{Store, Watch};
use tidings_engine::types::Timestamp;
use wasm_bindgen::JsValue;

use crate::any_store::AnyStore;

/// Longest single timer we arm; a later deadline just re-arms (setTimeout takes an i32).
const MAX_TIMER_MS: i64 = 24 * 60 * 60 * 1000;

/// The current time from the JS clock.
pub(crate) fn now() -> Timestamp {
    Timestamp(js_sys::Date::now() as i64)
}

/// What JS and the driver task share.
#[derive(Default)]
pub(crate) struct Shared {
    /// Client bytes not yet handed to the session.
    input: RefCell<Vec<u8>>,
    /// The client went away.
    closed: Cell<bool>,
    /// The driver task, when it is waiting.
    waker: RefCell<Option<Waker>>,
}

impl Shared {
    /// Queues client bytes and wakes the driver.
    pub fn feed(&self, bytes: &[u8]) {
        if self.closed.get() {
            return;
        }
        self.input.borrow_mut().extend_from_slice(bytes);
        self.wake();
    }

    /// Ends the connection from the client side.
    pub fn close(&self) {
        self.closed.set(true);
        self.wake();
    }

    fn wake(&self) {
        if let Some(w) = self.waker.borrow_mut().take() {
            w.wake();
        }
    }
}

/// Why the driver woke up.
enum Wake {
    Input,
    StoreChanged,
    Timer,
    ClientGone,
}

/// The session settings of the web host: no TLS in the tab (the shim terminates it), so
/// plaintext LOGIN is allowed.
pub(crate) fn default_config() -> SessionConfig {
    SessionConfig {
        server_name: "Tidings (web)".into(),
        allow_plaintext_auth: true,
        ..SessionConfig::default()
    }
}

/// Starts the driver task of connection `id`.
pub(crate) fn spawn(
    id: u32,
    config: SessionConfig,
    store: Rc<AnyStore>,
    shared: Rc<Shared>,
    on_data: Function,
    on_close: Function,
) {
    wasm_bindgen_futures::spawn_local(run(id, config, store, shared, on_data, on_close));
}

async fn run(
    id: u32,
    config: SessionConfig,
    store: Rc<AnyStore>,
    shared: Rc<Shared>,
    on_data: Function,
    on_close: Function,
) {
    tracing::debug!(conn = id, "connection opened");
    let mut session = Session::new(config, now());
    let mut watch: Option<Watch> = None;
    // A command paused with its output handed over so far: go on with it before waiting.
    let mut paused = false;
    loop {
        let out = session.take_output();
        if !out.is_empty() && !shared.closed.get() {
            let bytes = Uint8Array::from(&out[..]);
            if let Err(e) = on_data.call1(&JsValue::NULL, &bytes) {
                tracing::warn!(conn = id, "onData threw: {e:?}");
            }
        }
        let mut server_closed = false;
        while let Some(event) = session.poll_event() {
            match event {
                Event::LoggedIn(account) => {
                    tracing::info!(conn = id, user = %account.name, "logged in");
                    watch = Some(store.watch(&account));
                }
                Event::Close => server_closed = true,
                Event::AuthFailed => tracing::info!(conn = id, "authentication failed"),
                Event::ClientId(params) => tracing::info!(conn = id, "client ID {params:?}"),
                Event::StartTls => tracing::warn!(conn = id, "STARTTLS is never offered here"),
            }
        }
        if server_closed {
            tracing::debug!(conn = id, "session closed by the server");
            if !shared.closed.get() {
                if let Err(e) = on_close.call0(&JsValue::NULL) {
                    tracing::warn!(conn = id, "onClose threw: {e:?}");
                }
            }
            break;
        }
        if paused {
            if shared.closed.get() {
                tracing::debug!(conn = id, "client went away");
                break;
            }
            paused = session.process(&*store, now()).await == Progress::Paused;
            continue;
        }
        let wake = wait(&shared, watch.as_mut(), session.poll_timeout()).await;
        let now = now();
        match wake {
            Wake::ClientGone => {
                tracing::debug!(conn = id, "client went away");
                break;
            }
            Wake::Input => {
                let bytes = std::mem::take(&mut *shared.input.borrow_mut());
                session.handle_input(&bytes, now);
            }
            Wake::StoreChanged => session.handle_store_change(),
            Wake::Timer => {
                if session.poll_timeout().is_some_and(|t| t <= now) {
                    session.handle_timeout(now);
                }
            }
        }
        paused = session.process(&*store, now).await == Progress::Paused;
    }
    // Later `feed` calls are ignored instead of piling up bytes nobody reads.
    shared.closed.set(true);
    shared.input.borrow_mut().clear();
}

/// Waits for the first of: the client closing, client bytes, an account change (after
/// login), or the session's next deadline.
async fn wait(shared: &Shared, mut watch: Option<&mut Watch>, deadline: Option<Timestamp>) -> Wake {
    let mut timer = deadline.map(|t| {
        let ms = (t.0 - now().0).clamp(0, MAX_TIMER_MS);
        TimeoutFuture::new(u32::try_from(ms).unwrap_or(u32::MAX))
    });
    poll_fn(|cx| {
        if shared.closed.get() {
            return Poll::Ready(Wake::ClientGone);
        }
        if !shared.input.borrow().is_empty() {
            return Poll::Ready(Wake::Input);
        }
        *shared.waker.borrow_mut() = Some(cx.waker().clone());
        if let Some(w) = watch.as_deref_mut() {
            if Pin::new(&mut w.changed()).poll(cx).is_ready() {
                return Poll::Ready(Wake::StoreChanged);
            }
        }
        if let Some(t) = timer.as_mut() {
            if Pin::new(t).poll(cx).is_ready() {
                return Poll::Ready(Wake::Timer);
            }
        }
        Poll::Pending
    })
    .await
}
