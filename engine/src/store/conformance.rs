//! The conformance suite every `Store` backend must pass: generic async cases, a runner that
//! returns a report instead of panicking, and the little harness they share.
//!
//! A backend implements [`TestBackend`] (how to add an account) and calls [`run_all`] with a
//! factory that returns a fresh, empty backend for every case, from whatever runtime it uses:
//!
//! ```
//! use tidings_engine::store::conformance::{block_on_ready, run_all};
//! use tidings_engine::store::MemoryStore;
//! let report = block_on_ready(run_all(|| async { MemoryStore::new() }), 1_000_000).unwrap();
//! assert!(report.is_success(), "{report}");
//! ```
//!
//! Backends that persist also run [`survives_reopen`] with a closure that closes and reopens
//! the same data. Every case states the client-visible rule it checks in its doc comment.

use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use super::{Account, StoreError, StoreResult};
use crate::command::MailboxName;
use crate::mime::ParsedMessage;
use crate::types::{Date, DateTime, Flag};

/// Fails the current case with a message (and the caller's file and line) unless `cond`.
macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err($crate::store::conformance::Failure::at(
                file!(),
                line!(),
                format!($($msg)+),
            ));
        }
    };
}

/// Fails the current case unless `left == right`, showing both.
macro_rules! ensure_eq {
    ($left:expr, $right:expr, $($msg:tt)+) => {{
        let (left, right) = (&$left, &$right);
        if left != right {
            return Err($crate::store::conformance::Failure::at(
                file!(),
                line!(),
                format!("{}: got {:?}, expected {:?}", format!($($msg)+), left, right),
            ));
        }
    }};
}

mod accounts;
mod mailboxes;
mod messages;
mod model;
mod sessions;
mod transfer;

pub use accounts::{accounts_are_isolated, authenticate_checks_passwords, default_mailboxes};
pub use mailboxes::{
    create_makes_missing_parents, create_refuses_bad_and_existing_names, delete_rules,
    rename_inbox_moves_messages, rename_moves_children, rename_refusals, subscriptions,
    uidvalidity_is_distinct_and_renewed,
};
pub use messages::{
    changes_since_reports_new_changed_expunged, flags_add_remove_replace, flags_have_no_duplicates,
    keywords_in_first_use_order, modseq_bumps_on_every_mutation, recent_is_never_stored,
    store_unchanged_since, uids_never_reused_across_move, uids_never_reused_after_expunge,
    uids_strictly_increase,
};
pub use model::random_operations_keep_invariants;
pub use sessions::{recent_claimed_exactly_once, survives_reopen, watch_wakes_other_session};
pub use transfer::{
    batch_reads_agree_with_single_reads, copy_and_move_to_missing_mailbox,
    copy_carries_flags_date_and_bytes, expunge_removes_exactly_given,
    message_bytes_and_info_round_trip, move_expunges_source, status_counts,
};

/// The password every case gives its test accounts.
pub const PASSWORD: &str = "correct horse battery staple";

/// A backend under test: a [`Store`](super::Store) that can also create accounts. No `Send`
/// bound, so IndexedDB on wasm32 qualifies.
#[allow(async_fn_in_trait)]
pub trait TestBackend: super::Store {
    /// Creates an account as a real "add user" would: INBOX plus the special-use mailboxes
    /// of [`DEFAULT_MAILBOXES`](super::DEFAULT_MAILBOXES), each with its attribute, all
    /// subscribed.
    async fn add_test_user(&self, name: &str, password: &str) -> StoreResult<()>;
}

impl TestBackend for super::MemoryStore {
    async fn add_test_user(&self, name: &str, password: &str) -> StoreResult<()> {
        self.add_user(name, password)
    }
}

/// Why a case failed: a sentence naming the broken rule, prefixed with where it was checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure(pub String);

impl Failure {
    /// A failure found at `file:line`.
    pub fn at(file: &str, line: u32, message: String) -> Failure {
        Failure(format!("{file}:{line}: {message}"))
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<StoreError> for Failure {
    /// An unexpected store error, reported where `?` met it.
    #[track_caller]
    fn from(e: StoreError) -> Failure {
        let loc = Location::caller();
        Failure::at(
            loc.file(),
            loc.line(),
            format!("unexpected store error: {e:?}"),
        )
    }
}

/// What one case returns.
pub type CaseResult = Result<(), Failure>;

/// One case's name and result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseOutcome {
    /// The case's function name, e.g. `uids_strictly_increase`.
    pub name: &'static str,
    /// `Ok` or the first broken rule.
    pub result: CaseResult,
}

/// The outcome of a run: every case that ran, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// One entry per case run, in run order.
    pub outcomes: Vec<CaseOutcome>,
}

impl Report {
    /// Adds a case's result (used by the runner, and by backends for their own cases such
    /// as [`survives_reopen`]).
    pub fn record(&mut self, name: &'static str, result: CaseResult) {
        self.outcomes.push(CaseOutcome { name, result });
    }
    /// True if every case passed.
    pub fn is_success(&self) -> bool {
        self.outcomes.iter().all(|o| o.result.is_ok())
    }
    /// Number of cases that ran.
    pub fn len(&self) -> usize {
        self.outcomes.len()
    }
    /// True if no case ran.
    pub fn is_empty(&self) -> bool {
        self.outcomes.is_empty()
    }
    /// The failed cases with their failures.
    pub fn failures(&self) -> Vec<(&'static str, &Failure)> {
        self.outcomes
            .iter()
            .filter_map(|o| o.result.as_ref().err().map(|f| (o.name, f)))
            .collect()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let failures = self.failures();
        writeln!(
            f,
            "{} cases, {} passed, {} failed",
            self.len(),
            self.len() - failures.len(),
            failures.len()
        )?;
        for (name, failure) in failures {
            writeln!(f, "FAILED {name}: {failure}")?;
        }
        Ok(())
    }
}

/// Runs every generic case, each against a fresh backend from `fresh`.
pub async fn run_all<S, F, Fut>(fresh: F) -> Report
where
    S: TestBackend,
    F: FnMut() -> Fut,
    Fut: Future<Output = S>,
{
    run_matching("", fresh).await
}

/// Runs the cases whose name contains `filter` (all of them for `""`).
pub async fn run_matching<S, F, Fut>(filter: &str, mut fresh: F) -> Report
where
    S: TestBackend,
    F: FnMut() -> Fut,
    Fut: Future<Output = S>,
{
    let mut report = Report::default();
    macro_rules! cases {
        ($($case:ident),* $(,)?) => {$(
            if stringify!($case).contains(filter) {
                let store = fresh().await;
                let result = $case(&store).await;
                report.record(stringify!($case), result);
            }
        )*};
    }
    cases!(
        authenticate_checks_passwords,
        default_mailboxes,
        accounts_are_isolated,
        create_makes_missing_parents,
        create_refuses_bad_and_existing_names,
        delete_rules,
        uidvalidity_is_distinct_and_renewed,
        rename_moves_children,
        rename_refusals,
        rename_inbox_moves_messages,
        subscriptions,
        uids_strictly_increase,
        uids_never_reused_after_expunge,
        uids_never_reused_across_move,
        flags_add_remove_replace,
        keywords_in_first_use_order,
        recent_is_never_stored,
        flags_have_no_duplicates,
        modseq_bumps_on_every_mutation,
        changes_since_reports_new_changed_expunged,
        store_unchanged_since,
        expunge_removes_exactly_given,
        copy_carries_flags_date_and_bytes,
        move_expunges_source,
        copy_and_move_to_missing_mailbox,
        status_counts,
        message_bytes_and_info_round_trip,
        batch_reads_agree_with_single_reads,
        recent_claimed_exactly_once,
        watch_wakes_other_session,
        random_operations_keep_invariants,
    );
    report
}

/// Polls `fut` with a no-op waker until it completes, at most `max_polls` times; `None` if it
/// is still pending then. Enough for backends that never really wait (the MemoryStore);
/// a backend doing real I/O needs its own runtime.
pub fn block_on_ready<F: Future>(fut: F, max_polls: usize) -> Option<F::Output> {
    let mut fut = pin!(fut);
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..max_polls {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return Some(v);
        }
    }
    None
}

// ---------------------------------------------------------------------------------------------
// Helpers shared by the cases.

/// A user with the default mailboxes, logged in.
async fn login<S: TestBackend>(store: &S, name: &str) -> Result<Account, Failure> {
    store.add_test_user(name, PASSWORD).await?;
    match store.authenticate(name, PASSWORD.as_bytes()).await? {
        Some(acct) => Ok(acct),
        None => Err(Failure(format!(
            "authenticate({name:?}) with the password just set gave None"
        ))),
    }
}

/// A small RFC 5322 message whose bytes depend on `subject`, with an INTERNALDATE on
/// `day` March 2024 (+0100).
pub fn test_message(subject: &str, flags: &[Flag], day: u8) -> super::NewMessage {
    let raw = format!(
        "From: Alice <alice@example.org>\r\nTo: Bob <bob@example.org>\r\n\
         Subject: {subject}\r\nDate: Fri, {day:02} Mar 2024 10:00:00 +0100\r\n\
         Message-ID: <{subject}.{day}@example.org>\r\n\r\nHello about {subject}.\r\n"
    );
    let raw: Arc<[u8]> = Arc::from(raw.into_bytes());
    super::NewMessage {
        parsed: Arc::new(ParsedMessage::parse(&raw)),
        raw,
        flags: flags.to_vec(),
        internal_date: DateTime {
            date: Date {
                year: 2024,
                month: 3,
                day,
            },
            hour: 10,
            minute: 0,
            second: 0,
            zone_minutes: 60,
        },
    }
}

fn mbox(name: &str) -> MailboxName {
    MailboxName::new(name)
}

/// Passes if `result` is an error accepted by `want`.
#[track_caller]
fn expect_err<T: fmt::Debug>(
    result: StoreResult<T>,
    want: impl Fn(&StoreError) -> bool,
    what: &str,
) -> CaseResult {
    let loc = Location::caller();
    match result {
        Err(e) if want(&e) => Ok(()),
        other => Err(Failure::at(
            loc.file(),
            loc.line(),
            format!("{what}: got {other:?}"),
        )),
    }
}

fn is_no_such(e: &StoreError) -> bool {
    *e == StoreError::NoSuchMailbox
}
