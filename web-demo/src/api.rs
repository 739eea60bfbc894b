//! The JS-facing API: `Engine` (a store plus connections) and `Connection` (one IMAP client's
//! byte stream). Promises reject with an `Error` whose message names what failed.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::{Arc, Once};

use js_sys::{Array, Function, Object, Promise, Reflect};
use tidings_engine::command::MailboxName;
use tidings_engine::mime::{normalize_line_endings, ParsedMessage};
use tidings_engine::session::SessionConfig;
use tidings_engine::store::{Account, MemoryStore, NewMessage, Store, StoreError};
use tidings_engine::types::DateTime;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use crate::any_store::AnyStore;
use crate::connection::{self, Shared};
use crate::idb::IndexedDbStore;
use crate::summary::summarize;

static TRACING: Once = Once::new();

/// Sends `tracing` output (INFO and above) to the browser (or Node) console, once.
fn init_tracing() {
    TRACING.call_once(|| {
        let config = tracing_wasm::WASMLayerConfigBuilder::new()
            .set_max_level(tracing::Level::INFO)
            .build();
        tracing_wasm::set_as_global_default_with_config(config);
    });
}

fn js_err(err: StoreError) -> JsValue {
    js_sys::Error::new(&err.to_string()).into()
}

/// Sets `obj[key] = value` (cannot fail on a plain object we just made).
fn set(obj: &Object, key: &str, value: impl Into<JsValue>) {
    let _ = Reflect::set(obj, &JsValue::from_str(key), &value.into());
}

/// The engine: a store (IndexedDB or memory) and the connections running on it.
#[wasm_bindgen]
pub struct Engine {
    store: Rc<AnyStore>,
    next_id: Rc<Cell<u32>>,
    config: RefCell<SessionConfig>,
}

/// One client connection. Output and the end of the session arrive through the callbacks
/// given to [`Engine::connect`].
#[wasm_bindgen]
pub struct Connection {
    id: u32,
    shared: Rc<Shared>,
}

#[wasm_bindgen]
impl Engine {
    /// An engine whose mail lives in the IndexedDB database `dbName` (created if missing).
    pub async fn open(
        #[wasm_bindgen(js_name = dbName)] db_name: String,
    ) -> Result<Engine, JsValue> {
        init_tracing();
        let store = IndexedDbStore::open(&db_name).await.map_err(js_err)?;
        tracing::info!(db = %db_name, "IndexedDB store opened");
        Ok(Engine::with(AnyStore::IndexedDb(store)))
    }

    /// An engine whose mail lives in memory (the Node edge host; lost on exit).
    pub fn memory() -> Engine {
        init_tracing();
        let base = (js_sys::Date::now() / 1000.0) as u32;
        Engine::with(AnyStore::Memory(MemoryStore::with_uidvalidity_base(base)))
    }

    /// Adds a user with INBOX and the special-use mailboxes. Resolves (and changes nothing)
    /// if the user exists.
    #[wasm_bindgen(js_name = addUser, unchecked_return_type = "Promise<void>")]
    pub fn add_user(&self, name: String, password: String) -> Promise {
        let store = Rc::clone(&self.store);
        future_to_promise(async move {
            store.ensure_user(&name, &password).await.map_err(js_err)?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Opens a connection: the greeting and every later response go to `onData`; `onClose`
    /// is called when the server ends the session (LOGOUT, autologout, fatal error), not
    /// after `Connection.close()`.
    pub fn connect(
        &self,
        #[wasm_bindgen(js_name = onData, unchecked_param_type = "(bytes: Uint8Array) => void")]
        on_data: Function,
        #[wasm_bindgen(js_name = onClose, unchecked_param_type = "() => void")] on_close: Function,
    ) -> Connection {
        let id = self.next_id.get();
        self.next_id.set(id.wrapping_add(1));
        let shared = Rc::new(Shared::default());
        let config = self.config.borrow().clone();
        connection::spawn(
            id,
            config,
            Rc::clone(&self.store),
            Rc::clone(&shared),
            on_data,
            on_close,
        );
        Connection { id, shared }
    }

    /// Sets the session timers of connections opened from now on, in milliseconds:
    /// autologout before and after login, and the IDLE keepalive interval. Values below
    /// 1 are ignored. (An addition to the core API, for tests and demos.)
    #[wasm_bindgen(js_name = setTimeouts)]
    pub fn set_timeouts(
        &self,
        #[wasm_bindgen(js_name = preauthMs)] preauth_ms: f64,
        #[wasm_bindgen(js_name = authMs)] auth_ms: f64,
        #[wasm_bindgen(js_name = idleKeepaliveMs)] idle_keepalive_ms: f64,
    ) {
        let mut config = self.config.borrow_mut();
        let valid = |ms: f64| (ms >= 1.0 && ms.is_finite()).then_some(ms as i64);
        if let Some(ms) = valid(preauth_ms) {
            config.preauth_timeout_ms = ms;
        }
        if let Some(ms) = valid(auth_ms) {
            config.auth_timeout_ms = ms;
        }
        if let Some(ms) = valid(idle_keepalive_ms) {
            config.idle_keepalive_ms = ms;
        }
    }

    /// The user's mailboxes with their counters, sorted by name.
    #[wasm_bindgen(
        js_name = listMailboxes,
        unchecked_return_type = "Promise<Array<{name: string, uidvalidity: number, uidnext: number, messages: number, unseen: number}>>"
    )]
    pub fn list_mailboxes(&self, user: String) -> Promise {
        let store = Rc::clone(&self.store);
        future_to_promise(async move {
            let account = Account { name: user };
            let out = Array::new();
            for info in store.list_mailboxes(&account).await.map_err(js_err)? {
                let st = store.status(&account, &info.name).await.map_err(js_err)?;
                let obj = Object::new();
                set(&obj, "name", info.name.as_str());
                set(&obj, "uidvalidity", st.uidvalidity);
                set(&obj, "uidnext", st.uidnext);
                set(&obj, "messages", st.messages);
                set(&obj, "unseen", st.unseen);
                out.push(&obj);
            }
            Ok(out.into())
        })
    }

    /// The messages of one mailbox in UID order, with what a list view shows.
    #[wasm_bindgen(
        js_name = listMessages,
        unchecked_return_type = "Promise<Array<{uid: number, flags: string[], size: number, subject: string, from: string, date: string}>>"
    )]
    pub fn list_messages(&self, user: String, mailbox: String) -> Promise {
        let store = Rc::clone(&self.store);
        future_to_promise(async move {
            let account = Account { name: user };
            let snap = store
                .snapshot(&account, &MailboxName::new(mailbox))
                .await
                .map_err(js_err)?;
            let out = Array::new();
            for meta in snap.messages {
                let raw = store
                    .message_bytes(&account, snap.id, meta.uid)
                    .await
                    .map_err(js_err)?;
                let summary = summarize(&raw);
                let flags = Array::new();
                for f in &meta.flags {
                    flags.push(&JsValue::from_str(f.as_str()));
                }
                let obj = Object::new();
                set(&obj, "uid", meta.uid);
                set(&obj, "flags", flags);
                set(&obj, "size", raw.len() as f64);
                set(&obj, "subject", summary.subject);
                set(&obj, "from", summary.from);
                set(&obj, "date", summary.date);
                out.push(&obj);
            }
            Ok(out.into())
        })
    }

    /// Stores a message (line ends normalised to CRLF) with no flags and INTERNALDATE now;
    /// resolves to its UID. IDLE-ing sessions of the user see it at once.
    #[wasm_bindgen(js_name = appendMessage, unchecked_return_type = "Promise<number>")]
    pub fn append_message(&self, user: String, mailbox: String, raw: Vec<u8>) -> Promise {
        let store = Rc::clone(&self.store);
        future_to_promise(async move {
            let account = Account { name: user };
            let raw: Arc<[u8]> = Arc::from(normalize_line_endings(&raw).into_owned());
            let zone = -js_sys::Date::new_0().get_timezone_offset();
            let message = NewMessage {
                parsed: Arc::new(ParsedMessage::parse(&raw)),
                raw,
                flags: Vec::new(),
                internal_date: DateTime::from_unix(connection::now().unix_seconds(), zone as i16),
            };
            let appended = store
                .append(&account, &MailboxName::new(mailbox), message)
                .await
                .map_err(js_err)?;
            Ok(JsValue::from(appended.uid))
        })
    }

    /// Calls `cb` after every change in the user's account (from any connection or from
    /// `appendMessage`), for as long as the engine lives.
    #[wasm_bindgen(js_name = onChange)]
    pub fn on_change(
        &self,
        user: String,
        #[wasm_bindgen(unchecked_param_type = "() => void")] cb: Function,
    ) {
        let mut watch = self.store.watch(&Account { name: user });
        wasm_bindgen_futures::spawn_local(async move {
            loop {
                watch.changed().await;
                if let Err(e) = cb.call0(&JsValue::NULL) {
                    tracing::warn!("onChange callback threw: {e:?}");
                }
            }
        });
    }
}

impl Engine {
    fn with(store: AnyStore) -> Engine {
        Engine {
            store: Rc::new(store),
            next_id: Rc::new(Cell::new(1)),
            config: RefCell::new(connection::default_config()),
        }
    }
}

#[wasm_bindgen]
impl Connection {
    /// Client bytes in, in any chunking; responses come through `onData`, asynchronously.
    pub fn feed(&self, bytes: &[u8]) {
        self.shared.feed(bytes);
    }

    /// The client went away: the session ends without further output or `onClose`.
    pub fn close(&self) {
        self.shared.close();
    }

    /// This connection's number, unique within its engine (for logs).
    #[wasm_bindgen(getter)]
    pub fn id(&self) -> u32 {
        self.id
    }
}
