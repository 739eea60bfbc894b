//! One IMAP connection's state machine: bytes in through the decoder, commands executed
//! against a [`Store`], bytes and events out. The host drives it; it never blocks or reads time.
//!
//! # Driving a session
//!
//! ```text
//! let mut s = Session::new(config, now);        // greeting is queued
//! let mut paused = false;
//! loop {
//!     write(s.take_output());                   // 1. flush output
//!     while let Some(ev) = s.poll_event() {..}  // 2. StartTls / LoggedIn / Close ...
//!     if !paused {
//!         wait for: input bytes      -> s.handle_input(bytes)
//!                   account change   -> s.handle_store_change()
//!                   s.poll_timeout() -> s.handle_timeout(now)
//!     }
//!     paused = s.process(&store, now).await == Progress::Paused;  // 3. run what is complete
//! }
//! ```
//!
//! A command with a big answer (a FETCH of many bodies) pauses once about a MiB of output is
//! queued, and so do pipelined commands between them, so a session holds about that much,
//! not the whole answer; the host sends the output and calls `process` again without
//! waiting for input.

mod auth;
mod bytes_run;
mod config;
mod fetch;
mod mailboxes;
mod messages;
mod view;

pub use config::SessionConfig;
pub use view::SharedViews;

use std::collections::VecDeque;

use crate::codec::{Decoded, Decoder, Limits};
use crate::command::{Command, CommandBody, CompactString};
use crate::response::{write_continuation, write_status, Status};
use crate::store::{Account, Store, StoreError};
use crate::types::Timestamp;
use view::SelectedView;

/// Something the host must act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// STARTTLS was accepted: switch the transport to TLS before reading or writing more, then
    /// call [`Session::set_tls_active`]. Buffered plaintext has already been discarded.
    StartTls,
    /// Authentication succeeded: the host may now watch this account for changes.
    LoggedIn(Account),
    /// A login attempt failed (the host may slow this client down).
    AuthFailed,
    /// The client identified itself with `ID` (for logs).
    ClientId(Vec<(CompactString, Option<CompactString>)>),
    /// The session is over: flush output, then close the connection.
    Close,
}

/// Protocol state (RFC 9051 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    NotAuthenticated,
    Authenticated,
    Selected,
    Logout,
}

/// A multi-step exchange in progress that reads raw lines instead of commands.
#[derive(Debug)]
enum Mode {
    Commands,
    /// Waiting for a SASL response line.
    Sasl(auth::SaslExchange),
    /// In IDLE under this tag, waiting for `DONE`.
    Idle {
        tag: String,
    },
}

/// One client connection.
pub struct Session {
    config: SessionConfig,
    decoder: Decoder,
    out: Vec<u8>,
    events: VecDeque<Event>,
    state: State,
    mode: Mode,
    account: Option<Account>,
    selected: Option<SelectedView>,
    /// The host reported a store change not yet looked at.
    store_changed: bool,
    /// Last time the client sent anything (autologout).
    last_input: Timestamp,
    /// Last time we wrote during IDLE (keepalive).
    last_idle_output: Timestamp,
    /// CONDSTORE (RFC 7162) is on: by ENABLE or by the first command that uses it.
    condstore: bool,
    /// Length of the output when the session closed: nothing more is sent after it.
    closed_at: Option<usize>,
    /// A FETCH that paused with much output queued; it goes on at the next `process`.
    paused: Option<Box<fetch::FetchRun>>,
}

/// What [`Session::process`] left undone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use = "a paused command goes on only when `process` is called again"]
pub enum Progress {
    /// Everything complete has run: wait for input, a store change or the next timeout.
    Idle,
    /// A command paused with much output queued: send the output, then call `process` again
    /// (without waiting for input).
    Paused,
}

impl Session {
    /// A new connection; the greeting is queued for output.
    pub fn new(config: SessionConfig, now: Timestamp) -> Session {
        let mut s = Session {
            decoder: Decoder::new(decoder_limits(&config)),
            out: Vec::new(),
            events: VecDeque::new(),
            state: State::NotAuthenticated,
            mode: Mode::Commands,
            account: None,
            selected: None,
            store_changed: false,
            last_input: now,
            last_idle_output: now,
            condstore: false,
            closed_at: None,
            paused: None,
            config,
        };
        let code = format!("CAPABILITY {}", s.config.pre_auth_capabilities());
        let text = format!("{} ready.", s.config.server_name);
        write_status(&mut s.out, None, Status::Ok, Some(&code), &text);
        s
    }

    // ---- getters --------------------------------------------------------------------------

    /// The protocol state.
    pub fn state(&self) -> State {
        self.state
    }
    /// The logged-in account, if any.
    pub fn account(&self) -> Option<&Account> {
        self.account.as_ref()
    }
    /// True once the session has ended (after LOGOUT, BYE or a fatal error).
    pub fn is_closed(&self) -> bool {
        self.state == State::Logout
    }
    /// True while in IDLE.
    pub fn is_idling(&self) -> bool {
        matches!(self.mode, Mode::Idle { .. })
    }

    // ---- inputs ---------------------------------------------------------------------------

    /// Bytes received from the client, in any chunking. Call [`Session::process`] next.
    pub fn handle_input(&mut self, bytes: &[u8], now: Timestamp) {
        if self.is_closed() {
            return;
        }
        if !bytes.is_empty() {
            self.last_input = now;
        }
        self.decoder.feed(bytes);
    }

    /// The store reported a change in this account. Changes are delivered at the next point
    /// the RFC allows (at once while IDLE, else with the next command's responses).
    pub fn handle_store_change(&mut self) {
        self.store_changed = true;
    }

    /// The host finished the TLS handshake after [`Event::StartTls`] (or knows the transport
    /// is TLS).
    pub fn set_tls_active(&mut self) {
        self.config.tls_active = true;
    }

    /// Time has passed: sends IDLE keepalives and enforces autologout.
    pub fn handle_timeout(&mut self, now: Timestamp) {
        if self.is_closed() {
            return;
        }
        let limit = if self.account.is_some() {
            self.config.auth_timeout_ms
        } else {
            self.config.preauth_timeout_ms
        };
        if now >= self.last_input.plus_millis(limit) {
            write_status(
                &mut self.out,
                None,
                Status::Bye,
                None,
                "Disconnected for inactivity.",
            );
            self.close();
            return;
        }
        if self.is_idling()
            && now
                >= self
                    .last_idle_output
                    .plus_millis(self.config.idle_keepalive_ms)
        {
            write_status(&mut self.out, None, Status::Ok, None, "Still here");
            self.last_idle_output = now;
        }
    }

    // ---- outputs --------------------------------------------------------------------------

    /// Takes all output queued so far (may be empty).
    pub fn take_output(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.out)
    }

    /// Appends all queued output to `buf`.
    pub fn write_output(&mut self, buf: &mut Vec<u8>) {
        if buf.is_empty() {
            std::mem::swap(buf, &mut self.out);
        } else {
            buf.append(&mut self.out);
        }
    }

    /// Gives back memory kept for output already taken (and spare event slots). A host
    /// calls it when a connection goes quiet, such as in IDLE, so thousands of idle sessions
    /// hold no buffers sized for the biggest response they once sent.
    pub fn shrink_buffers(&mut self) {
        if self.out.is_empty() {
            self.out = Vec::new();
        }
        self.events.shrink_to_fit();
        // The decoder keeps the capacity of the biggest command it ever held (an APPEND's
        // literal: MiBs). In IDLE with nothing buffered it is at a command boundary (IDLE
        // itself was decoded whole, nothing followed), so a fresh decoder, armed for DONE
        // like this one, is the same decoder without that memory.
        if self.is_idling() && self.decoder.buffered() == 0 && !self.decoder.is_failed() {
            self.decoder = Decoder::new(decoder_limits(&self.config));
            self.arm_decoder();
        }
    }

    /// The next event for the host, if any.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When [`Session::handle_timeout`] should be called next.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        if self.is_closed() {
            return None;
        }
        let limit = if self.account.is_some() {
            self.config.auth_timeout_ms
        } else {
            self.config.preauth_timeout_ms
        };
        let logout = self.last_input.plus_millis(limit);
        if self.is_idling() {
            Some(
                logout.min(
                    self.last_idle_output
                        .plus_millis(self.config.idle_keepalive_ms),
                ),
            )
        } else {
            Some(logout)
        }
    }

    // ---- work -----------------------------------------------------------------------------

    /// Executes every complete command in the input (in order) and, while IDLE, pushes
    /// pending mailbox changes. Returns when it needs more input ([`Progress::Idle`]), or
    /// when a command paused with much output queued ([`Progress::Paused`]): the host sends
    /// that output and calls `process` again, which goes on with the command before any
    /// later one.
    pub async fn process<S: Store>(&mut self, store: &S, now: Timestamp) -> Progress {
        if let Some(run) = self.paused.take() {
            if !self.is_closed() {
                self.fetch_messages(store, *run).await;
                if let Some(end) = self.closed_at {
                    self.out.truncate(end);
                }
            }
        }
        while !self.is_closed() && self.paused.is_none() {
            if self.out.len() >= fetch::PAUSE_AT {
                // Pipelined commands with big answers: send what is queued first.
                return Progress::Paused;
            }
            let Some(item) = self.decoder.next() else {
                break;
            };
            match item {
                Decoded::Command(cmd) => {
                    self.execute(store, cmd, now).await;
                    // A command that ended the session mid-way (its mailbox was deleted) says
                    // nothing after the BYE.
                    if let Some(end) = self.closed_at {
                        self.out.truncate(end);
                    }
                }
                Decoded::NeedContinuation => {
                    write_continuation(&mut self.out, "Ready for literal data")
                }
                Decoded::Line(line) => self.handle_line(store, line, now).await,
                Decoded::Error(err) => {
                    // A bad line inside AUTHENTICATE or IDLE ends that exchange.
                    match std::mem::replace(&mut self.mode, Mode::Commands) {
                        Mode::Commands => self.decode_error(err),
                        Mode::Sasl(ex) => write_status(
                            &mut self.out,
                            Some(ex.tag()),
                            Status::Bad,
                            None,
                            &err.message,
                        ),
                        Mode::Idle { tag } => {
                            write_status(&mut self.out, Some(&tag), Status::Bad, None, &err.message)
                        }
                    }
                }
            }
            self.arm_decoder();
        }
        if self.is_closed() {
            self.paused = None;
        }
        if self.paused.is_some() {
            return Progress::Paused;
        }
        if self.store_changed && self.is_idling() && !self.is_closed() {
            self.store_changed = false;
            let before = self.out.len();
            self.sync(store, true).await;
            if self.out.len() != before {
                self.last_idle_output = now;
            }
        }
        Progress::Idle
    }

    /// Puts the decoder in line mode when the next input is a SASL response or `DONE`.
    fn arm_decoder(&mut self) {
        if !matches!(self.mode, Mode::Commands) {
            self.decoder.expect_line();
        }
    }

    fn decode_error(&mut self, err: crate::codec::DecodeError) {
        let status = match err.outcome() {
            crate::codec::Outcome::Bad => Status::Bad,
            crate::codec::Outcome::No => Status::No,
            crate::codec::Outcome::Bye => Status::Bye,
        };
        let code = err.response_code();
        // A fatal error has no tag to answer: it is an untagged BYE.
        let tag = if status == Status::Bye {
            None
        } else {
            err.tag.as_deref()
        };
        write_status(&mut self.out, tag, status, code, &err.message);
        if status == Status::Bye {
            self.close();
        }
    }

    async fn handle_line<S: Store>(&mut self, store: &S, line: Vec<u8>, now: Timestamp) {
        match std::mem::replace(&mut self.mode, Mode::Commands) {
            Mode::Commands => {}
            Mode::Sasl(exchange) => self.sasl_step(store, exchange, line).await,
            Mode::Idle { tag } => {
                if line.eq_ignore_ascii_case(b"DONE") {
                    if self.store_changed {
                        self.store_changed = false;
                        self.sync(store, true).await;
                    }
                    write_status(
                        &mut self.out,
                        Some(&tag),
                        Status::Ok,
                        None,
                        "Idle completed.",
                    );
                } else {
                    write_status(
                        &mut self.out,
                        Some(&tag),
                        Status::Bad,
                        None,
                        "Expected DONE.",
                    );
                }
                let _ = now;
            }
        }
    }

    /// Ends the session (after a BYE has been queued).
    fn close(&mut self) {
        self.state = State::Logout;
        self.selected = None;
        self.closed_at = Some(self.out.len());
        self.events.push_back(Event::Close);
    }

    async fn execute<S: Store>(&mut self, store: &S, cmd: Command, now: Timestamp) {
        let Command { tag, body } = cmd;
        if let Err(why) = self.check_state(&body) {
            write_status(&mut self.out, Some(&tag), Status::Bad, None, &why);
            return;
        }
        if uses_condstore(&body) {
            // RFC 7162 §3.1: a CONDSTORE-enabling command turns it on for the session.
            self.condstore = true;
        }
        // Commands that read message state first catch up with changes made elsewhere, so
        // their answers are current (EXPUNGE only where the command allows it).
        if let CommandBody::Fetch { uid, .. }
        | CommandBody::Search { uid, .. }
        | CommandBody::Store { uid, .. }
        | CommandBody::Copy { uid, .. }
        | CommandBody::Move { uid, .. } = &body
        {
            let allow_expunge = *uid;
            self.sync(store, allow_expunge).await;
        }
        match body {
            CommandBody::Capability => {
                let caps = if self.account.is_some() {
                    self.config.post_auth_capabilities()
                } else {
                    self.config.pre_auth_capabilities()
                };
                crate::response::write_untagged(&mut self.out, &format!("CAPABILITY {caps}"));
                self.finish(store, &tag, true, "Capability completed.")
                    .await;
            }
            CommandBody::Noop => self.finish(store, &tag, true, "NOOP completed.").await,
            CommandBody::Check => self.finish(store, &tag, true, "Check completed.").await,
            CommandBody::Logout => {
                write_status(&mut self.out, None, Status::Bye, None, "Logging out");
                write_status(
                    &mut self.out,
                    Some(&tag),
                    Status::Ok,
                    None,
                    "Logout completed.",
                );
                self.close();
            }
            CommandBody::Id(params) => {
                if let Some(p) = params {
                    self.events.push_back(Event::ClientId(p));
                }
                let id = crate::response::Value::List(vec![
                    crate::response::Value::str("name"),
                    crate::response::Value::str(&self.config.server_name),
                    crate::response::Value::str("version"),
                    crate::response::Value::str(env!("CARGO_PKG_VERSION")),
                ]);
                let mut line = b"* ID ".to_vec();
                id.write(&mut line);
                line.extend_from_slice(b"\r\n");
                self.out.extend_from_slice(&line);
                self.finish(store, &tag, true, "ID completed.").await;
            }
            CommandBody::Enable(caps) => {
                // Of the ENABLE-able extensions we implement CONDSTORE; others are
                // acknowledged by omission (RFC 5161).
                let mut enabled = String::from("ENABLED");
                if caps.iter().any(|c| c.eq_ignore_ascii_case("CONDSTORE")) {
                    self.condstore = true;
                    enabled.push_str(" CONDSTORE");
                }
                crate::response::write_untagged(&mut self.out, &enabled);
                write_status(&mut self.out, Some(&tag), Status::Ok, None, "Enabled.");
            }
            CommandBody::StartTls => {
                if self.config.tls_active || !self.config.starttls_available {
                    write_status(
                        &mut self.out,
                        Some(&tag),
                        Status::Bad,
                        None,
                        "TLS is not available here.",
                    );
                    return;
                }
                write_status(
                    &mut self.out,
                    Some(&tag),
                    Status::Ok,
                    None,
                    "Begin TLS negotiation now.",
                );
                // Anything the client pipelined after STARTTLS was sent in the clear and
                // must not be executed (RFC 9051 §6.2.1).
                self.decoder.discard_buffered();
                self.events.push_back(Event::StartTls);
            }
            CommandBody::Login { username, password } => {
                self.login(store, &tag, &username, &password).await
            }
            CommandBody::Authenticate { mechanism, initial } => {
                self.authenticate(store, &tag, &mechanism, initial.map(|s| s.0))
                    .await
            }
            CommandBody::Idle => {
                write_continuation(&mut self.out, "idling");
                self.last_idle_output = now;
                self.mode = Mode::Idle { tag: tag.into() };
                self.store_changed = false;
                self.sync(store, true).await;
            }
            CommandBody::Select { mailbox, .. } => self.select(store, &tag, &mailbox, false).await,
            CommandBody::Examine { mailbox, .. } => self.select(store, &tag, &mailbox, true).await,
            CommandBody::Create {
                mailbox,
                special_use,
            } => self.create(store, &tag, &mailbox, &special_use).await,
            CommandBody::Delete { mailbox } => self.delete(store, &tag, &mailbox).await,
            CommandBody::Rename { from, to } => self.rename(store, &tag, &from, &to).await,
            CommandBody::Subscribe { mailbox } => self.subscribe(store, &tag, &mailbox, true).await,
            CommandBody::Unsubscribe { mailbox } => {
                self.subscribe(store, &tag, &mailbox, false).await
            }
            CommandBody::List {
                reference,
                patterns,
                select_options,
                return_options,
                return_status,
            } => {
                let opts =
                    mailboxes::ListOptions::new(select_options, return_options, return_status);
                self.list(store, &tag, &reference, &patterns, opts, false)
                    .await
            }
            CommandBody::Lsub { reference, pattern } => {
                let opts = mailboxes::ListOptions::lsub();
                self.list(store, &tag, &reference, &[pattern], opts, true)
                    .await
            }
            CommandBody::Namespace => {
                crate::response::write_untagged(&mut self.out, "NAMESPACE ((\"\" \"/\")) NIL NIL");
                self.finish(store, &tag, true, "Namespace completed.").await;
            }
            CommandBody::Status { mailbox, items } => {
                self.status(store, &tag, &mailbox, &items).await
            }
            CommandBody::Append {
                mailbox,
                flags,
                date,
                message,
                ..
            } => {
                self.append(store, &tag, &mailbox, flags, date, message, now)
                    .await
            }
            CommandBody::Close => self.close_mailbox(store, &tag, true).await,
            CommandBody::Unselect => self.close_mailbox(store, &tag, false).await,
            CommandBody::Expunge { uids } => self.expunge(store, &tag, uids).await,
            CommandBody::Search {
                uid,
                charset,
                criteria,
                ret,
            } => self.search(store, &tag, uid, charset, criteria, ret).await,
            CommandBody::Fetch {
                uid,
                set,
                attrs,
                changed_since,
            } => {
                self.fetch(store, &tag, uid, &set, &attrs, changed_since)
                    .await
            }
            CommandBody::Store {
                uid,
                set,
                op,
                silent,
                flags,
                unchanged_since,
            } => {
                self.store_flags(store, &tag, uid, &set, op, silent, flags, unchanged_since)
                    .await
            }
            CommandBody::Copy { uid, set, mailbox } => {
                self.copy_or_move(store, &tag, uid, &set, &mailbox, false)
                    .await
            }
            CommandBody::Move { uid, set, mailbox } => {
                self.copy_or_move(store, &tag, uid, &set, &mailbox, true)
                    .await
            }
        }
    }

    /// Is `body` valid in the current state? The error is the `BAD` text.
    fn check_state(&self, body: &CommandBody) -> Result<(), String> {
        use CommandBody::*;
        let ok = match body {
            Capability | Noop | Logout | Id(_) => true,
            StartTls | Login { .. } | Authenticate { .. } => self.state == State::NotAuthenticated,
            Enable(_)
            | Select { .. }
            | Examine { .. }
            | Create { .. }
            | Delete { .. }
            | Rename { .. }
            | Subscribe { .. }
            | Unsubscribe { .. }
            | List { .. }
            | Lsub { .. }
            | Namespace
            | Status { .. }
            | Append { .. }
            | Idle => {
                matches!(self.state, State::Authenticated | State::Selected)
            }
            Check
            | Close
            | Unselect
            | Expunge { .. }
            | Search { .. }
            | Fetch { .. }
            | Store { .. }
            | Copy { .. }
            | Move { .. } => self.state == State::Selected,
        };
        if ok {
            return Ok(());
        }
        Err(match self.state {
            State::NotAuthenticated => format!("{} needs authentication first.", body.name()),
            State::Authenticated
                if matches!(body, StartTls | Login { .. } | Authenticate { .. }) =>
            {
                "Already authenticated.".to_string()
            }
            State::Selected => "Already authenticated.".to_string(),
            _ => format!("{}: no mailbox selected.", body.name()),
        })
    }

    /// Sends pending changes of the selected mailbox (if any) then the tagged OK. Expunges are
    /// held back when `allow_expunge` is false (RFC 9051 §7.5.1).
    async fn finish<S: Store>(&mut self, store: &S, tag: &str, allow_expunge: bool, text: &str) {
        self.store_changed = false;
        self.sync(store, allow_expunge).await;
        write_status(&mut self.out, Some(tag), Status::Ok, None, text);
    }

    /// Writes a tagged `NO` for a store error, with its response code.
    fn store_error(&mut self, tag: &str, err: &StoreError) {
        let code = match err {
            StoreError::NoSuchMailbox => Some("NONEXISTENT"),
            StoreError::AlreadyExists => Some("ALREADYEXISTS"),
            StoreError::HasChildren => Some("INUSE"),
            StoreError::InvalidName(_) | StoreError::Cannot(_) => Some("CANNOT"),
            StoreError::TooBig => Some("TOOBIG"),
            StoreError::Backend(_) => Some("SERVERBUG"),
        };
        write_status(&mut self.out, Some(tag), Status::No, code, &err.to_string());
    }
}

/// The decoder's limits for a session with `config`.
fn decoder_limits(config: &SessionConfig) -> Limits {
    Limits {
        max_line: config.max_line,
        max_literal: config.max_message_size as usize,
        ..Limits::default()
    }
}

/// Does this command use CONDSTORE (and so enable it, RFC 7162 §3.1)?
fn uses_condstore(body: &CommandBody) -> bool {
    use crate::command::{FetchAttr, FetchAttrs, StatusItem};
    match body {
        CommandBody::Select { condstore, .. } | CommandBody::Examine { condstore, .. } => {
            *condstore
        }
        CommandBody::Fetch {
            attrs,
            changed_since,
            ..
        } => {
            changed_since.is_some()
                || matches!(attrs, FetchAttrs::Items(items) if items.contains(&FetchAttr::ModSeq))
        }
        CommandBody::Store {
            unchanged_since, ..
        } => unchanged_since.is_some(),
        CommandBody::Search { criteria, .. } => messages::mentions_modseq(criteria),
        CommandBody::Status { items, .. } => items.contains(&StatusItem::HighestModSeq),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::harness::block_on;
    use crate::store::MemoryStore;

    #[test]
    fn idle_goes_on_after_the_buffers_are_shrunk() {
        let store = MemoryStore::new();
        store.add_user("bob", "pw").unwrap();
        let now = Timestamp(1_750_000_000_000);
        let mut s = Session::new(SessionConfig::default(), now);
        let run = |s: &mut Session, input: &[u8]| {
            s.handle_input(input, now);
            assert_eq!(block_on(s.process(&store, now)), Progress::Idle);
            String::from_utf8_lossy(&s.take_output()).into_owned()
        };
        run(&mut s, b"l LOGIN bob pw\r\n");
        let mut append = b"a APPEND INBOX {100000+}\r\n".to_vec();
        append.extend(std::iter::repeat_n(b'a', 100_000));
        append.extend_from_slice(b"\r\n");
        assert!(run(&mut s, &append).contains("a OK"));
        assert!(run(&mut s, b"s SELECT INBOX\r\n").contains("s OK"));

        // Half a DONE is buffered: the decoder (and what it holds) stays.
        assert!(run(&mut s, b"i IDLE\r\nDO").contains("+ idling"));
        s.shrink_buffers();
        assert!(run(&mut s, b"NE\r\n").contains("i OK"));

        // Nothing buffered: a fresh decoder, still waiting for DONE.
        assert!(run(&mut s, b"j IDLE\r\n").contains("+ idling"));
        s.shrink_buffers();
        assert_eq!(s.decoder.buffered(), 0);
        assert!(run(&mut s, b"DONE\r\n").contains("j OK"));
        assert!(run(&mut s, b"n NOOP\r\n").contains("n OK"));
    }
}
