//! What the host tells a session about its situation (TLS, limits, timers) and the
//! capability lists that follow from it.

use super::view::SharedViews;

/// Per-connection settings chosen by the host.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// Name in the greeting and in `ID`.
    pub server_name: String,
    /// The transport is already TLS (implicit TLS port).
    pub tls_active: bool,
    /// STARTTLS can be offered (the host has a certificate).
    pub starttls_available: bool,
    /// Cleartext LOGIN/AUTHENTICATE is allowed before TLS (e.g. loopback, or configured).
    /// When false and TLS is not active, the session advertises `LOGINDISABLED`.
    pub allow_plaintext_auth: bool,
    /// Largest APPEND message accepted (advertised as `APPENDLIMIT=`).
    pub max_message_size: u32,
    /// Longest command line (excluding literals).
    pub max_line: usize,
    /// Interval of `* OK Still here` during IDLE, in milliseconds.
    pub idle_keepalive_ms: i64,
    /// Autologout before authentication, in milliseconds.
    pub preauth_timeout_ms: i64,
    /// Autologout after authentication without any client input (IDLE included: RFC 9051
    /// asks for at least 30 minutes), in milliseconds.
    pub auth_timeout_ms: i64,
    /// Selected-mailbox message lists that sessions in the same state share (memory only:
    /// what a session sees is the same with or without it). Clones of a config share it,
    /// so a host that clones one config per connection gets the sharing for free.
    pub shared_views: SharedViews,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            server_name: "Tidings".into(),
            tls_active: false,
            starttls_available: false,
            allow_plaintext_auth: true,
            max_message_size: 64 * 1024 * 1024,
            max_line: 64 * 1024,
            // Dovecot's imap_idle_notify_interval is 2 minutes.
            idle_keepalive_ms: 2 * 60 * 1000,
            preauth_timeout_ms: 60 * 1000,
            auth_timeout_ms: 30 * 60 * 1000 + 60 * 1000,
            shared_views: SharedViews::default(),
        }
    }
}

impl SessionConfig {
    /// Whether LOGIN/AUTHENTICATE may be used now.
    pub fn auth_allowed(&self) -> bool {
        self.tls_active || self.allow_plaintext_auth
    }

    /// Capabilities before login (also in the greeting).
    pub fn pre_auth_capabilities(&self) -> String {
        let mut caps = String::from("IMAP4rev1 SASL-IR ID ENABLE IDLE LITERAL+");
        if self.starttls_available && !self.tls_active {
            caps.push_str(" STARTTLS");
        }
        if self.auth_allowed() {
            caps.push_str(" AUTH=PLAIN AUTH=LOGIN");
        } else {
            caps.push_str(" LOGINDISABLED");
        }
        caps
    }

    /// Capabilities after login.
    pub fn post_auth_capabilities(&self) -> String {
        format!(
            "IMAP4rev1 SASL-IR ID ENABLE IDLE UNSELECT CHILDREN NAMESPACE \
             UIDPLUS MOVE CONDSTORE LITERAL+ SPECIAL-USE BINARY ESEARCH APPENDLIMIT={}",
            self.max_message_size
        )
    }
}
