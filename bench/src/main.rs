//! `tidings-load`: drives any IMAP server with realistic concurrent clients and verifies every
//! answer; each scenario prints a human summary and `metric NAME VALUE UNIT` lines.

mod imap;
mod msg;
mod procstat;
mod scenarios;
mod stats;

use std::time::Duration;

use anyhow::Result;
use clap::{Parser, Subcommand};

/// Load generator and benchmark driver for IMAP servers (Tidings, Dovecot, ...).
#[derive(Parser)]
#[command(name = "tidings-load", version, about)]
struct Cli {
    #[command(flatten)]
    common: Common,
    #[command(subcommand)]
    scenario: Scenario,
}

/// Options every scenario shares.
#[derive(clap::Args, Clone)]
pub struct Common {
    /// Plain IMAP address of the server.
    #[arg(long, global = true, default_value = "127.0.0.1:1143")]
    pub addr: String,
    /// Implicit-TLS (IMAPS) address, for `--tls` scenarios.
    #[arg(long, global = true)]
    pub tls_addr: Option<String>,
    /// PEM file with the CA (or self-signed) certificate to trust for TLS.
    #[arg(long, global = true)]
    pub ca: Option<String>,
    /// Name the server certificate must carry.
    #[arg(long, global = true, default_value = "localhost")]
    pub tls_name: String,
    /// Users are PREFIX1..PREFIXn.
    #[arg(long, global = true, default_value = "load")]
    pub user_prefix: String,
    /// Password of every load user.
    #[arg(long, global = true, default_value = "loadpass")]
    pub password: String,
    /// Mailbox the clients work in.
    #[arg(long, global = true, default_value = "INBOX")]
    pub mailbox: String,
    /// Mailbox UID MOVE moves to.
    #[arg(long, global = true, default_value = "Trash")]
    pub trash: String,
    /// The server's pid: its CPU seconds and memory (with all its child processes) are
    /// read from /proc and reported.
    #[arg(long, global = true)]
    pub server_pid: Option<u32>,
    /// Longest wait for any single response, in seconds.
    #[arg(long, global = true, default_value_t = 60)]
    pub timeout_secs: u64,
}

impl Common {
    pub fn user(&self, n: usize) -> String {
        format!("{}{}", self.user_prefix, n)
    }

    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_secs)
    }
}

#[derive(Subcommand)]
enum Scenario {
    /// Mixed Thunderbird-like load: N clients (one user each) for T seconds.
    Mixed {
        #[arg(long, default_value_t = 10)]
        clients: usize,
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Start at most this many commands a second, all clients together (0: as fast as
        /// the server answers). Compares latency at the same offered load.
        #[arg(long, default_value_t = 0.0)]
        rate: f64,
    },
    /// Open many connections (LOGIN, SELECT, IDLE), then push APPENDs to them and time
    /// until the last watcher has seen `* n EXISTS`; then close them all.
    Idle {
        /// Connections to open.
        #[arg(long, default_value_t = 100)]
        conns: usize,
        /// Connections being set up at the same time.
        #[arg(long, default_value_t = 16)]
        parallel: usize,
        /// Spread the connections over this many users (the pushed APPEND goes to user 1,
        /// so only its watchers are timed).
        #[arg(long, default_value_t = 1)]
        users: usize,
        /// APPENDs to push (0: connection setup only).
        #[arg(long, default_value_t = 5)]
        rounds: usize,
        /// Metric name prefix (e.g. `connect` or `idle`).
        #[arg(long, default_value = "idle")]
        name: String,
        /// Connect over implicit TLS (`--tls-addr`, `--ca`) instead of plain IMAP.
        #[arg(long)]
        tls: bool,
    },
    /// Populate a fresh mailbox with N messages, then time FETCH FLAGS, SEARCH HEADER,
    /// SEARCH TEXT and FETCH RFC822.SIZE over all of them.
    Big {
        #[arg(long, default_value_t = 10_000)]
        messages: usize,
        /// Timed repetitions of each command (the median is reported).
        #[arg(long, default_value_t = 3)]
        repeat: usize,
        #[arg(long, default_value_t = 3000)]
        size: usize,
        /// Use this mailbox instead of a fresh one; it is populated only when empty (so the
        /// queries can be re-run, e.g. under a profiler, without the APPENDs).
        #[arg(long)]
        reuse: Option<String>,
    },
    /// APPEND N messages of S bytes one by one (each waits for its OK).
    Append {
        #[arg(long, default_value_t = 1000)]
        count: usize,
        #[arg(long, default_value_t = 20 * 1024)]
        size: usize,
    },
    /// One connection as USER: APPEND N messages of S bytes one by one, then fetch them all
    /// back (`UID FETCH 1:* (UID RFC822.SIZE BODY.PEEK[])`) and compare every byte.
    AppendFetch {
        /// Log in as this user (e.g. `demo`, which every Tidings host can provide).
        #[arg(long, default_value = "load1")]
        user: String,
        #[arg(long, default_value_t = 1000)]
        count: usize,
        #[arg(long, default_value_t = 20 * 1024)]
        size: usize,
    },
    /// Store N large messages, then `UID FETCH uid (BODY.PEEK[])` each one by one.
    FetchBig {
        #[arg(long, default_value_t = 50)]
        count: usize,
        #[arg(long, default_value_t = 1024 * 1024)]
        size: usize,
        /// Fetch over implicit TLS (`--tls-addr`, `--ca`).
        #[arg(long)]
        tls: bool,
    },
    /// Prints an argon2id PHC hash of a password with the parameters `tidings user add`
    /// uses (for Dovecot's passwd-file as `{ARGON2ID}<hash>`).
    HashPassword { password: String },
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(0) => std::process::ExitCode::SUCCESS,
        Ok(errors) => {
            println!("FAILED: {errors} errors");
            std::process::ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("tidings-load: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}

/// Runs the scenario; returns the number of verification errors.
fn run(cli: Cli) -> Result<u64> {
    if let Scenario::HashPassword { password } = &cli.scenario {
        use argon2::password_hash::PasswordHasher;
        let hash = argon2::Argon2::default()
            .hash_password(password.as_bytes())
            .map_err(|e| anyhow::anyhow!("hashing failed: {e}"))?;
        println!("{hash}");
        return Ok(0);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let c = cli.common;
    rt.block_on(async move {
        match cli.scenario {
            Scenario::Mixed {
                clients,
                seconds,
                rate,
            } => scenarios::mixed(&c, clients, seconds, rate).await,
            Scenario::Idle {
                conns,
                parallel,
                users,
                rounds,
                name,
                tls,
            } => scenarios::idle(&c, conns, parallel, users, rounds, &name, tls).await,
            Scenario::Big {
                messages,
                repeat,
                size,
                reuse,
            } => scenarios::big(&c, messages, repeat, size, reuse.as_deref()).await,
            Scenario::Append { count, size } => scenarios::append(&c, count, size).await,
            Scenario::AppendFetch { user, count, size } => {
                scenarios::append_fetch(&c, &user, count, size).await
            }
            Scenario::FetchBig { count, size, tls } => {
                scenarios::fetch_big(&c, count, size, tls).await
            }
            Scenario::HashPassword { .. } => Ok(0),
        }
    })
}
