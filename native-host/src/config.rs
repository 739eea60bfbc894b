//! `tidings.toml`: where the server listens, where it keeps data, TLS files and limits, with
//! defaults that make `tidings serve` work on a fresh machine with no file at all.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Deserialize;
use tidings_host::store::{
    DEFAULT_AUTH_CACHE_ENTRIES, DEFAULT_AUTH_CACHE_TTL, DEFAULT_MESSAGE_CACHE_BYTES,
};

/// The whole configuration file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Mail, accounts and the dev certificate live here.
    pub data_dir: PathBuf,
    /// Plain IMAP listeners with STARTTLS.
    pub imap: Vec<SocketAddr>,
    /// Implicit-TLS IMAP listeners.
    pub imaps: Vec<SocketAddr>,
    /// LMTP listeners for mail delivery from an MTA (keep them on loopback).
    pub lmtp: Vec<SocketAddr>,
    /// PEM certificate chain and key; a self-signed one is made in `data_dir` when absent.
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// Allow LOGIN/AUTHENTICATE without TLS from non-loopback addresses (off: LOGINDISABLED).
    pub allow_plaintext_auth: bool,
    /// Treat loopback clients like TLS clients for plaintext LOGIN (on by default: local
    /// tools and tests connect that way; like Dovecot's trusted-networks exemption).
    pub plaintext_auth_on_loopback: bool,
    /// Largest message accepted by APPEND (APPENDLIMIT), in bytes.
    pub max_message_size: u32,
    /// Most simultaneous IMAP connections in all, and from one client address.
    pub max_connections: usize,
    pub max_connections_per_ip: usize,
    /// Seconds a client may stay connected without logging in, and idle after login
    /// (RFC 9051 asks for at least 30 minutes; IDLE keepalives do not count as activity).
    pub preauth_timeout_secs: u64,
    pub idle_timeout_secs: u64,
    /// Create the demo user (`demo` / `demo`) when the store has no users.
    pub demo_user: bool,
    /// Seconds a successful login is remembered, so the same user with the same password
    /// logs in again without argon2 (as Dovecot's `auth_cache_ttl`); 0 disables the cache.
    pub auth_cache_ttl_secs: u64,
    /// Most logins remembered at once (about 100 bytes each); the oldest go first.
    pub auth_cache_max_entries: usize,
    /// MiB kept of message sizes, dates and searched header fields, so whole-mailbox FETCH
    /// and repeated header SEARCH read no files; 0 turns the cache off.
    pub message_cache_mib: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: default_data_dir(),
            imap: vec![SocketAddr::from(([127, 0, 0, 1], 1143))],
            imaps: vec![SocketAddr::from(([127, 0, 0, 1], 1993))],
            lmtp: vec![SocketAddr::from(([127, 0, 0, 1], 2424))],
            tls_cert: None,
            tls_key: None,
            allow_plaintext_auth: false,
            plaintext_auth_on_loopback: true,
            max_message_size: 64 * 1024 * 1024,
            max_connections: 20_000,
            max_connections_per_ip: 200,
            preauth_timeout_secs: 60,
            idle_timeout_secs: 31 * 60,
            demo_user: true,
            auth_cache_ttl_secs: DEFAULT_AUTH_CACHE_TTL.as_secs(),
            auth_cache_max_entries: DEFAULT_AUTH_CACHE_ENTRIES,
            message_cache_mib: DEFAULT_MESSAGE_CACHE_BYTES / (1024 * 1024),
        }
    }
}

/// `$TIDINGS_DATA`, else `$XDG_DATA_HOME/tidings`, else `~/.local/share/tidings`, else
/// `./tidings-data`.
fn default_data_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("TIDINGS_DATA") {
        return PathBuf::from(d);
    }
    if let Some(d) = std::env::var_os("XDG_DATA_HOME") {
        return PathBuf::from(d).join("tidings");
    }
    if let Some(h) = std::env::var_os("HOME") {
        return PathBuf::from(h).join(".local/share/tidings");
    }
    PathBuf::from("tidings-data")
}

impl Config {
    /// Reads `path`, or returns the defaults when `path` is `None`.
    pub fn load(path: Option<&Path>) -> Result<Config> {
        match path {
            None => Ok(Config::default()),
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .with_context(|| format!("reading config file {}", p.display()))?;
                toml::from_str(&text)
                    .with_context(|| format!("parsing config file {}", p.display()))
            }
        }
    }
}
