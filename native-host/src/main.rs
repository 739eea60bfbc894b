//! The `tidings` binary: command-line parsing and wiring. The IMAP logic is in
//! `tidings-engine`; listeners, TLS and storage are in this crate's modules.

mod config;
mod conn;
mod deliver;
mod import;
mod limits;
mod lmtp;
mod server;
mod shim;
mod tls;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use tidings_engine::session::SessionConfig;
use tidings_host::store::FileStore;
use tokio_rustls::TlsAcceptor;

/// The store the server runs on. Connection tasks are spawned on tokio's multi-thread
/// runtime, which needs `Send` futures: they are proven `Send` for this concrete type (a
/// generic `S: Store` could not promise it, as the trait has no `Send` bound for wasm's sake).
pub type HostStore = FileStore;

/// Tidings: an IMAP server built on a sans-IO engine.
#[derive(Parser)]
#[command(name = "tidings", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the IMAP server (creates a data dir, a dev certificate and a demo user if missing).
    Serve(ServeArgs),
    /// Relay IMAP clients over a WebSocket to the browser page hosting the engine.
    Shim(shim::ShimArgs),
    /// Deliver one message from stdin to a user's INBOX (an LDA; exit codes as sendmail's
    /// sysexits). Uses the running server's LMTP port, else opens the store directly.
    Deliver(DeliverArgs),
    /// Import a Maildir or an mbox file into an account, keeping flags and dates (stop the
    /// server first: the store is locked while it runs).
    Import(ImportArgs),
    /// Manage accounts (the server may be running: stop it first, the store is locked).
    User(UserArgs),
}

#[derive(clap::Args)]
struct DeliverArgs {
    /// Recipient account (or address whose local part is the account).
    #[arg(long)]
    user: String,
    /// Envelope sender, for the Return-Path header.
    #[arg(long, short = 'f', default_value = "MAILER-DAEMON")]
    from: String,
    /// Configuration file (TOML), for the data dir and LMTP address.
    #[arg(long, short)]
    config: Option<PathBuf>,
    /// Data directory (overrides the config file).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// LMTP address of the running server (overrides the config file).
    #[arg(long)]
    lmtp: Option<SocketAddr>,
}

#[derive(clap::Args)]
struct ImportArgs {
    /// Account to import into.
    #[arg(long)]
    user: String,
    /// A Maildir (cur/, new/, and Maildir++ .Sub.Folder subfolders).
    #[arg(long, conflicts_with = "mbox", required_unless_present = "mbox")]
    maildir: Option<PathBuf>,
    /// An mbox file.
    #[arg(long)]
    mbox: Option<PathBuf>,
    /// Mailbox that receives the top-level messages.
    #[arg(long, default_value = "INBOX")]
    mailbox: String,
    #[arg(long, short)]
    config: Option<PathBuf>,
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

#[derive(clap::Args)]
struct UserArgs {
    /// Configuration file (TOML), for the data dir.
    #[arg(long, short, global = true)]
    config: Option<PathBuf>,
    /// Data directory (overrides the config file).
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    action: UserAction,
}

#[derive(Subcommand)]
enum UserAction {
    /// Create an account (with INBOX, Drafts, Sent, Trash, Junk, Archive).
    Add {
        name: String,
        /// Read the password from the first line of standard input instead of a prompt.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Change an account's password.
    Passwd {
        name: String,
        #[arg(long)]
        password_stdin: bool,
    },
    /// Delete an account and all its mail.
    Del { name: String },
    /// List accounts.
    List,
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Configuration file (TOML). Without it, built-in defaults are used.
    #[arg(long, short)]
    config: Option<PathBuf>,
    /// Data directory (overrides the config file).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Plain+STARTTLS listen address, repeatable (overrides the config file; port 0 = any).
    #[arg(long)]
    imap: Vec<SocketAddr>,
    /// Implicit-TLS listen address, repeatable (overrides the config file).
    #[arg(long)]
    imaps: Vec<SocketAddr>,
    /// LMTP listen address, repeatable (overrides the config file).
    #[arg(long)]
    lmtp: Vec<SocketAddr>,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // One clear line (with its causes), not a backtrace.
            eprintln!("tidings: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("TIDINGS_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match cli.command {
        Command::Serve(args) => serve(args),
        Command::Shim(args) => shim::run(args),
        Command::User(args) => user(args),
        Command::Import(args) => {
            let mut cfg = config::Config::load(args.config.as_deref())?;
            if let Some(d) = args.data_dir {
                cfg.data_dir = d;
            }
            let store = open_store(&cfg.data_dir)?;
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            let n = runtime.block_on(import::run(
                &store,
                &args.user,
                args.maildir.as_deref(),
                args.mbox.as_deref(),
                &args.mailbox,
            ))?;
            println!("imported {n} messages into {}", args.user);
            Ok(())
        }
        Command::Deliver(args) => {
            let mut cfg = config::Config::load(args.config.as_deref())?;
            if let Some(d) = args.data_dir {
                cfg.data_dir = d;
            }
            let lmtp = args.lmtp.or_else(|| cfg.lmtp.first().copied());
            let code = deliver::run(
                &args.user,
                &args.from,
                lmtp,
                &cfg.data_dir,
                cfg.max_message_size as usize,
            );
            std::process::exit(code.into());
        }
    }
}

fn serve(args: ServeArgs) -> Result<()> {
    let mut cfg = config::Config::load(args.config.as_deref())?;
    if let Some(d) = args.data_dir {
        cfg.data_dir = d;
    }
    if !args.imap.is_empty() {
        cfg.imap = args.imap;
    }
    if !args.imaps.is_empty() {
        cfg.imaps = args.imaps;
    }
    if !args.lmtp.is_empty() {
        cfg.lmtp = args.lmtp;
    }
    std::fs::create_dir_all(&cfg.data_dir)
        .with_context(|| format!("creating data dir {}", cfg.data_dir.display()))?;
    let (cert, key) = match (&cfg.tls_cert, &cfg.tls_key) {
        (Some(c), Some(k)) => (c.clone(), k.clone()),
        _ => {
            let (c, k) = tls::dev_cert_paths(&cfg.data_dir);
            if tls::ensure_dev_cert(&c, &k)? {
                println!("created a self-signed dev certificate: {}", c.display());
            }
            (c, k)
        }
    };
    let tls = TlsAcceptor::from(tls::server_config(&cert, &key)?);

    let store = open_store(&cfg.data_dir)?
        .with_max_message_size(cfg.max_message_size as usize)
        .with_auth_cache(
            std::time::Duration::from_secs(cfg.auth_cache_ttl_secs),
            cfg.auth_cache_max_entries,
        )
        .with_message_cache(cfg.message_cache_mib.saturating_mul(1024 * 1024));
    if cfg.demo_user
        && store
            .list_users()
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .is_empty()
    {
        store
            .add_user("demo", "demo")
            .map_err(|e| anyhow::anyhow!("creating demo user: {e}"))?;
        println!("created demo user: demo / demo");
    } else if cfg.demo_user
        && store
            .list_users()
            .unwrap_or_default()
            .iter()
            .any(|u| u == "demo")
    {
        println!("demo user: demo / demo");
    }
    println!("data dir: {}", cfg.data_dir.display());
    let session = SessionConfig {
        allow_plaintext_auth: cfg.allow_plaintext_auth,
        max_message_size: cfg.max_message_size,
        preauth_timeout_ms: cfg.preauth_timeout_secs.saturating_mul(1000) as i64,
        auth_timeout_ms: cfg.idle_timeout_secs.saturating_mul(1000) as i64,
        ..SessionConfig::default()
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(server::run(server::ServerParts {
        store: Arc::new(store),
        session,
        tls: Some(tls),
        imap: cfg.imap,
        imaps: cfg.imaps,
        lmtp: cfg.lmtp,
        trust_loopback: cfg.plaintext_auth_on_loopback,
        max_connections: cfg.max_connections,
        max_connections_per_ip: cfg.max_connections_per_ip,
        max_message_size: cfg.max_message_size as usize,
    }))
}

/// Opens the durable store in `data_dir`, explaining the usual failure (a running server
/// holds the lock).
fn open_store(data_dir: &std::path::Path) -> Result<FileStore> {
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("creating data dir {}", data_dir.display()))?;
    FileStore::open(data_dir).with_context(|| {
        format!(
            "opening the mail store in {} (is `tidings serve` running on it? only one process \
             may open it at a time)",
            data_dir.display()
        )
    })
}

fn user(args: UserArgs) -> Result<()> {
    let mut cfg = config::Config::load(args.config.as_deref())?;
    if let Some(d) = args.data_dir {
        cfg.data_dir = d;
    }
    let store = open_store(&cfg.data_dir)?;
    let fail = |e: tidings_engine::store::StoreError| anyhow::anyhow!("{e}");
    match args.action {
        UserAction::Add {
            name,
            password_stdin,
        } => {
            let password = read_password(password_stdin, &format!("password for {name}: "))?;
            store.add_user(&name, password).map_err(fail)?;
            println!("added user {name}");
        }
        UserAction::Passwd {
            name,
            password_stdin,
        } => {
            let password = read_password(password_stdin, &format!("new password for {name}: "))?;
            store.set_password(&name, password).map_err(fail)?;
            println!("changed password of {name}");
        }
        UserAction::Del { name } => {
            store.delete_user(&name).map_err(fail)?;
            println!("deleted user {name} and all their mail");
        }
        UserAction::List => {
            for name in store.list_users().map_err(fail)? {
                println!("{name}");
            }
        }
    }
    Ok(())
}

/// A password from stdin's first line, or from a prompt on the terminal (no echo).
fn read_password(from_stdin: bool, prompt: &str) -> Result<String> {
    let password = if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .read_line(&mut line)
            .context("reading password from stdin")?;
        line.trim_end_matches(['\r', '\n']).to_string()
    } else {
        let first = rpassword::prompt_password(prompt).context("reading password")?;
        let again = rpassword::prompt_password("again: ").context("reading password")?;
        if first != again {
            anyhow::bail!("the passwords do not match");
        }
        first
    };
    if password.is_empty() {
        anyhow::bail!("empty password refused");
    }
    Ok(password)
}
