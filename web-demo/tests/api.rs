//! The JS-facing API driven from Rust in the browser: connections through `Engine.connect`,
//! the mailbox view calls, change notifications, and reload persistence on IndexedDB.
#![cfg(target_arch = "wasm32")]

use std::cell::RefCell;
use std::rc::Rc;

use gloo_timers::future::TimeoutFuture;
use js_sys::{Array, Function, Promise, Reflect, Uint8Array};
use tidings_web::{Connection, Engine};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// A connection with its output collected.
struct Client {
    conn: Connection,
    out: Rc<RefCell<Vec<u8>>>,
    closed: Rc<RefCell<bool>>,
    _on_data: Closure<dyn FnMut(Uint8Array)>,
    _on_close: Closure<dyn FnMut()>,
}

fn connect(engine: &Engine) -> Client {
    let out = Rc::new(RefCell::new(Vec::new()));
    let closed = Rc::new(RefCell::new(false));
    let o = Rc::clone(&out);
    let on_data = Closure::<dyn FnMut(Uint8Array)>::new(move |b: Uint8Array| {
        o.borrow_mut().extend(b.to_vec());
    });
    let c = Rc::clone(&closed);
    let on_close = Closure::<dyn FnMut()>::new(move || *c.borrow_mut() = true);
    let conn = engine.connect(
        on_data.as_ref().unchecked_ref::<Function>().clone(),
        on_close.as_ref().unchecked_ref::<Function>().clone(),
    );
    Client {
        conn,
        out,
        closed,
        _on_data: on_data,
        _on_close: on_close,
    }
}

impl Client {
    /// Waits (up to 5 s) until the output contains `needle`; returns and clears the output.
    async fn expect(&self, needle: &str) -> String {
        for _ in 0..500 {
            let text = String::from_utf8_lossy(&self.out.borrow()).into_owned();
            if text.contains(needle) {
                self.out.borrow_mut().clear();
                return text;
            }
            TimeoutFuture::new(10).await;
        }
        panic!(
            "no {needle:?} in output: {:?}",
            String::from_utf8_lossy(&self.out.borrow())
        );
    }
}

async fn wait(p: Promise) -> JsValue {
    match JsFuture::from(p).await {
        Ok(v) => v,
        Err(e) => panic!("promise rejected: {e:?}"),
    }
}

fn field(obj: &JsValue, key: &str) -> JsValue {
    Reflect::get(obj, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

fn fresh_db(prefix: &str) -> String {
    format!("{prefix}-{}", js_sys::Date::now() as u64)
}

const MESSAGE: &[u8] = b"From: Alice <alice@example.org>\nTo: bob@example.org\n\
Subject: Hello from the API\nDate: Fri, 01 Mar 2024 10:00:00 +0100\n\nHi Bob.\n";

#[wasm_bindgen_test]
async fn a_connection_gets_the_greeting_and_ids_differ() {
    let engine = Engine::memory();
    let a = connect(&engine);
    let b = connect(&engine);
    let greeting = a.expect("\r\n").await;
    assert!(
        greeting.starts_with("* OK [CAPABILITY IMAP4rev1"),
        "{greeting}"
    );
    assert_ne!(a.conn.id(), b.conn.id());
    a.conn.close();
    b.conn.close();
}

#[wasm_bindgen_test]
async fn mailbox_view_append_list_and_change_notification() {
    let engine = Engine::memory();
    wait(engine.add_user("alice".into(), "pw".into())).await;
    wait(engine.add_user("alice".into(), "other".into())).await; // exists: still fine

    let changes = Rc::new(RefCell::new(0u32));
    let c = Rc::clone(&changes);
    let cb = Closure::<dyn FnMut()>::new(move || *c.borrow_mut() += 1);
    engine.on_change(
        "alice".into(),
        cb.as_ref().unchecked_ref::<Function>().clone(),
    );

    let uid = wait(engine.append_message("alice".into(), "INBOX".into(), MESSAGE.to_vec())).await;
    assert_eq!(uid.as_f64(), Some(1.0));

    let boxes: Array = wait(engine.list_mailboxes("alice".into()))
        .await
        .unchecked_into();
    assert_eq!(boxes.length(), 6);
    let inbox = boxes
        .iter()
        .find(|b| field(b, "name").as_string().as_deref() == Some("INBOX"))
        .unwrap_or(JsValue::UNDEFINED);
    assert_eq!(field(&inbox, "messages").as_f64(), Some(1.0));
    assert_eq!(field(&inbox, "unseen").as_f64(), Some(1.0));
    assert_eq!(field(&inbox, "uidnext").as_f64(), Some(2.0));

    let msgs: Array = wait(engine.list_messages("alice".into(), "INBOX".into()))
        .await
        .unchecked_into();
    assert_eq!(msgs.length(), 1);
    let m = msgs.get(0);
    assert_eq!(
        field(&m, "subject").as_string().as_deref(),
        Some("Hello from the API")
    );
    assert_eq!(
        field(&m, "from").as_string().as_deref(),
        Some("Alice <alice@example.org>")
    );
    assert_eq!(field(&m, "uid").as_f64(), Some(1.0));

    for _ in 0..100 {
        if *changes.borrow() > 0 {
            break;
        }
        TimeoutFuture::new(10).await;
    }
    assert!(
        *changes.borrow() > 0,
        "onChange was not called after appendMessage"
    );

    let err = JsFuture::from(engine.list_messages("alice".into(), "Nope".into())).await;
    assert!(err.is_err(), "a missing mailbox must reject");
}

#[wasm_bindgen_test]
async fn indexeddb_engine_keeps_mail_across_reopen() {
    let db = fresh_db("tidings-api-reload");
    let engine = match Engine::open(db.clone()).await {
        Ok(e) => e,
        Err(e) => panic!("open failed: {e:?}"),
    };
    wait(engine.add_user("bob".into(), "pw".into())).await;
    wait(engine.append_message("bob".into(), "INBOX".into(), MESSAGE.to_vec())).await;
    let before: Array = wait(engine.list_mailboxes("bob".into()))
        .await
        .unchecked_into();
    drop(engine);

    let again = match Engine::open(db).await {
        Ok(e) => e,
        Err(e) => panic!("reopen failed: {e:?}"),
    };
    let after: Array = wait(again.list_mailboxes("bob".into()))
        .await
        .unchecked_into();
    assert_eq!(after.length(), before.length());
    for (a, b) in after.iter().zip(before.iter()) {
        for key in ["name", "uidvalidity", "uidnext", "messages", "unseen"] {
            assert_eq!(
                field(&a, key)
                    .as_string()
                    .or(field(&a, key).as_f64().map(|f| f.to_string())),
                field(&b, key)
                    .as_string()
                    .or(field(&b, key).as_f64().map(|f| f.to_string())),
                "{key} after reopen"
            );
        }
    }
    let msgs: Array = wait(again.list_messages("bob".into(), "INBOX".into()))
        .await
        .unchecked_into();
    assert_eq!(msgs.length(), 1);
}

/// A whole conversation through `Connection`: LOGIN, SELECT, IDLE woken by `appendMessage`
/// (the watch loop), LOGOUT ending in `onClose`.
#[wasm_bindgen_test]
async fn login_select_and_idle_push_through_connections() {
    let engine = Engine::memory();
    wait(engine.add_user("alice".into(), "pw".into())).await;
    let a = connect(&engine);
    a.expect("\r\n").await;
    a.conn.feed(b"a1 LOGIN alice pw\r\n");
    a.expect("a1 OK").await;
    a.conn.feed(b"a2 SELECT INBOX\r\n");
    a.expect("a2 OK").await;
    a.conn.feed(b"a3 IDLE\r\n");
    a.expect("+ ").await;
    wait(engine.append_message("alice".into(), "INBOX".into(), MESSAGE.to_vec())).await;
    a.expect("* 1 EXISTS").await;
    a.conn.feed(b"DONE\r\na4 LOGOUT\r\n");
    a.expect("a4 OK").await;
    for _ in 0..100 {
        if *a.closed.borrow() {
            break;
        }
        TimeoutFuture::new(10).await;
    }
    assert!(*a.closed.borrow(), "onClose not called after LOGOUT");
}

/// Two connections on IndexedDB: A idles, B appends with a byte-at-a-time APPEND (input
/// queued, never two `process` at once), A is pushed `EXISTS`; FETCH answers from the stored
/// parse and bytes.
#[wasm_bindgen_test]
async fn two_connections_on_indexeddb_push_and_fetch() {
    let engine = match Engine::open(fresh_db("tidings-api-conns")).await {
        Ok(e) => e,
        Err(e) => panic!("open failed: {e:?}"),
    };
    wait(engine.add_user("carol".into(), "pw".into())).await;
    let a = connect(&engine);
    let b = connect(&engine);
    a.expect("\r\n").await;
    b.expect("\r\n").await;
    a.conn
        .feed(b"a1 LOGIN carol pw\r\na2 SELECT INBOX\r\na3 IDLE\r\n");
    a.expect("+ ").await;

    let msg = "From: Dan <dan@example.org>\r\nSubject: chunked\r\n\r\nHello.\r\n";
    let script = format!(
        "b1 LOGIN carol pw\r\nb2 APPEND INBOX (\\Flagged) {{{}+}}\r\n{msg}\r\n",
        msg.len()
    );
    for byte in script.as_bytes() {
        b.conn.feed(&[*byte]);
    }
    let appended = b.expect("b2 OK").await;
    assert!(appended.contains("[APPENDUID "), "{appended}");
    a.expect("* 1 EXISTS").await;

    a.conn
        .feed(b"DONE\r\na4 FETCH 1 (FLAGS ENVELOPE BODY.PEEK[HEADER.FIELDS (SUBJECT)])\r\n");
    let fetched = a.expect("a4 OK").await;
    assert!(fetched.contains("\\Flagged"), "{fetched}");
    assert!(fetched.contains("\"chunked\""), "{fetched}");
    assert!(fetched.contains("Subject: chunked"), "{fetched}");
    a.conn.close();
    b.conn.close();
}

/// The timers run on setTimeout: IDLE keepalives arrive, and autologout before login sends
/// BYE and calls `onClose`.
#[wasm_bindgen_test]
async fn timers_send_keepalives_and_autologout() {
    let engine = Engine::memory();
    wait(engine.add_user("erin".into(), "pw".into())).await;
    engine.set_timeouts(300.0, 60_000.0, 100.0);
    let a = connect(&engine);
    a.expect("\r\n").await;
    a.conn
        .feed(b"a1 LOGIN erin pw\r\na2 SELECT INBOX\r\na3 IDLE\r\n");
    a.expect("+ ").await;
    a.expect("* OK Still here").await;

    let b = connect(&engine);
    b.expect("\r\n").await;
    b.expect("* BYE").await;
    for _ in 0..100 {
        if *b.closed.borrow() {
            break;
        }
        TimeoutFuture::new(10).await;
    }
    assert!(*b.closed.borrow(), "onClose not called after autologout");
    assert!(!*a.closed.borrow(), "the idling session must stay up");
    a.conn.close();
}

/// Concurrent APPENDs on IndexedDB (ten promises in flight at once) each get their own UID:
/// every mutation is one readwrite transaction, and IndexedDB serialises them.
#[wasm_bindgen_test]
async fn concurrent_appends_get_distinct_uids() {
    let engine = match Engine::open(fresh_db("tidings-api-concurrent")).await {
        Ok(e) => e,
        Err(e) => panic!("open failed: {e:?}"),
    };
    wait(engine.add_user("frank".into(), "pw".into())).await;
    let pending = Array::new();
    for _ in 0..10 {
        pending.push(&engine.append_message("frank".into(), "INBOX".into(), MESSAGE.to_vec()));
    }
    let uids: Array = wait(Promise::all(&pending)).await.unchecked_into();
    let mut got: Vec<u32> = uids
        .iter()
        .filter_map(|u| u.as_f64())
        .map(|u| u as u32)
        .collect();
    got.sort_unstable();
    assert_eq!(got, (1..=10).collect::<Vec<u32>>());
    let msgs: Array = wait(engine.list_messages("frank".into(), "INBOX".into()))
        .await
        .unchecked_into();
    assert_eq!(msgs.length(), 10);
}
