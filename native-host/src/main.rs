//! The `tidings` binary: command-line parsing and wiring. The IMAP logic is in
//! `tidings-engine`; listeners, TLS and storage are in this crate's modules.

mod config;
mod conn;
mod limits;
mod server;
mod shim;
mod tls;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use tidings_engine::session::SessionConfig;
use tidings_engine::store::MemoryStore;
use tokio_rustls::TlsAcceptor;

/// The store the server runs on. Connection tasks are spawned on tokio's multi-thread
/// runtime, which needs `Send` futures: they are proven `Send` for this concrete type (a
/// generic `S: Store` could not promise it, as the trait has no `Send` bound for wasm's sake).
pub type HostStore = MemoryStore;

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
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("TIDINGS_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    match cli.command {
        Command::Serve(args) => serve(args),
        Command::Shim(args) => shim::run(args),
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

    let store = MemoryStore::new();
    if cfg.demo_user {
        store.add_user("demo", "demo").map_err(|e| anyhow::anyhow!("creating demo user: {e}"))?;
        println!("demo user: demo / demo");
    }
    println!("data dir: {}", cfg.data_dir.display());
    let session = SessionConfig {
        allow_plaintext_auth: cfg.allow_plaintext_auth,
        max_message_size: cfg.max_message_size,
        ..SessionConfig::default()
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(server::run(server::ServerParts {
        store: Arc::new(store),
        session,
        tls: Some(tls),
        imap: cfg.imap,
        imaps: cfg.imaps,
    }))
}
