//! The LMTP listener (RFC 2033): lets an MTA such as Postfix hand mail to Tidings, with one
//! reply per recipient after DATA. Delivery appends to the recipient's INBOX and wakes IDLE.

use std::sync::Arc;

use tidings_engine::command::MailboxName;
use tidings_engine::store::{Account, NewMessage, Store, StoreError};
use tidings_engine::types::DateTime;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::watch;

use crate::HostStore;

/// Longest command line we read (RFC 5321 §4.5.3.1.4 says 512; be a little lenient).
const MAX_LINE: usize = 2048;
/// Most recipients per transaction (RFC 5321 asks for at least 100).
const MAX_RCPT: usize = 1000;

/// Maps an address to an account: the whole address if such a user exists, else its local
/// part (`bob@example.com` → `bob`), else none.
pub fn resolve_recipient(store: &HostStore, address: &str) -> Result<Option<String>, StoreError> {
    let users = store.list_users()?;
    if users.iter().any(|u| u == address) {
        return Ok(Some(address.to_string()));
    }
    let local = address.split('@').next().unwrap_or(address);
    Ok(users.iter().find(|u| *u == local).cloned())
}

/// Appends `raw` to `user`'s INBOX with a Return-Path and Delivered-To trace header.
pub async fn deliver(
    store: &HostStore,
    user: &str,
    sender: &str,
    recipient: &str,
    raw: &[u8],
    now_secs: i64,
) -> Result<u32, StoreError> {
    let mut msg = format!("Return-Path: <{sender}>\r\nDelivered-To: {recipient}\r\n").into_bytes();
    msg.extend_from_slice(raw);
    let new = NewMessage::from_raw(&msg, Vec::new(), DateTime::from_unix(now_secs, 0));
    let account = Account {
        name: user.to_string(),
    };
    store
        .append(&account, &MailboxName::new("INBOX"), new)
        .await
        .map(|a| a.uid)
}

/// Serves one LMTP connection.
pub async fn serve_lmtp(
    stream: TcpStream,
    store: Arc<HostStore>,
    max_size: usize,
    mut shutdown: watch::Receiver<bool>,
) {
    let peer = stream.peer_addr().ok();
    let (rd, mut wr) = stream.into_split();
    let mut rd = BufReader::new(rd);
    let mut session = LmtpSession::default();
    if wr
        .write_all(b"220 localhost LMTP Tidings ready\r\n")
        .await
        .is_err()
    {
        return;
    }
    loop {
        let mut line = Vec::new();
        let mut limited = (&mut rd).take(MAX_LINE as u64 + 1);
        let read = tokio::select! {
            r = limited.read_until(b'\n', &mut line) => r,
            _ = shutdown.changed() => {
                let _ = wr.write_all(b"421 4.3.2 Server shutting down\r\n").await;
                return;
            }
        };
        match read {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        if !line.ends_with(b"\n") {
            let _ = wr.write_all(b"500 5.5.2 Line too long\r\n").await;
            return;
        }
        let text = String::from_utf8_lossy(&line).trim_end().to_string();
        let reply = session.command(&store, &text);
        match reply {
            Reply::Line(r) => {
                if wr.write_all(r.as_bytes()).await.is_err() {
                    return;
                }
            }
            Reply::Quit => {
                let _ = wr.write_all(b"221 2.0.0 Bye\r\n").await;
                return;
            }
            Reply::Data => {
                if wr
                    .write_all(b"354 Start mail input; end with <CRLF>.<CRLF>\r\n")
                    .await
                    .is_err()
                {
                    return;
                }
                let body = match read_data(&mut rd, max_size).await {
                    Ok(Some(b)) => b,
                    Ok(None) => {
                        let mut out = String::new();
                        for _ in &session.rcpts {
                            out.push_str("552 5.3.4 Message too big\r\n");
                        }
                        session.reset();
                        if wr.write_all(out.as_bytes()).await.is_err() {
                            return;
                        }
                        continue;
                    }
                    Err(_) => return,
                };
                let now = crate::conn::now().unix_seconds();
                let mut out = String::new();
                for (address, user) in &session.rcpts {
                    // One reply per recipient, in RCPT order (RFC 2033 §4.2).
                    match deliver(&store, user, &session.sender, address, &body, now).await {
                        Ok(uid) => {
                            tracing::info!(?peer, user = %user, uid, "LMTP delivered");
                            out.push_str(&format!("250 2.0.0 <{address}> delivered\r\n"));
                        }
                        Err(StoreError::TooBig) => out.push_str("552 5.3.4 Message too big\r\n"),
                        Err(e) => {
                            tracing::warn!(?peer, user = %user, error = %e, "LMTP delivery failed");
                            out.push_str(&format!(
                                "451 4.3.0 <{address}> temporary failure: {e}\r\n"
                            ));
                        }
                    }
                }
                session.reset();
                if wr.write_all(out.as_bytes()).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// Reads the DATA section up to the lone dot, undoing dot-stuffing. `Ok(None)` when it was
/// larger than `max` (the rest is still read, so the stream stays in sync).
async fn read_data<R: tokio::io::AsyncBufRead + Unpin>(
    rd: &mut R,
    max: usize,
) -> std::io::Result<Option<Vec<u8>>> {
    let mut body = Vec::new();
    let mut too_big = false;
    loop {
        let mut line = Vec::new();
        let n = rd.read_until(b'\n', &mut line).await?;
        if n == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "EOF in DATA",
            ));
        }
        if line == b".\r\n" || line == b".\n" {
            return Ok(if too_big { None } else { Some(body) });
        }
        let content = if line.starts_with(b"..") {
            &line[1..]
        } else {
            &line[..]
        };
        if body.len() + content.len() > max {
            too_big = true;
            body.clear();
        }
        if !too_big {
            body.extend_from_slice(content);
        }
    }
}

enum Reply {
    Line(String),
    Data,
    Quit,
}

/// The envelope state of one LMTP transaction.
#[derive(Default)]
struct LmtpSession {
    greeted: bool,
    sender: String,
    has_sender: bool,
    /// (address as given, account name)
    rcpts: Vec<(String, String)>,
}

impl LmtpSession {
    fn reset(&mut self) {
        self.sender.clear();
        self.has_sender = false;
        self.rcpts.clear();
    }

    fn command(&mut self, store: &HostStore, line: &str) -> Reply {
        let upper = line.to_ascii_uppercase();
        let verb = upper.split_whitespace().next().unwrap_or("");
        let ok = |s: &str| Reply::Line(format!("{s}\r\n"));
        match verb {
            "LHLO" => {
                self.greeted = true;
                self.reset();
                ok("250-localhost\r\n250-PIPELINING\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250 SIZE")
            }
            "HELO" | "EHLO" => ok("500 5.5.1 This is LMTP: use LHLO"),
            "MAIL" if !self.greeted => ok("503 5.5.1 LHLO first"),
            "MAIL" => match path_after(line, "FROM:") {
                Some(addr) if !self.has_sender => {
                    self.sender = addr;
                    self.has_sender = true;
                    ok("250 2.1.0 OK")
                }
                Some(_) => ok("503 5.5.1 Sender already given"),
                None => ok("501 5.5.4 Syntax: MAIL FROM:<address>"),
            },
            "RCPT" if !self.has_sender => ok("503 5.5.1 MAIL first"),
            "RCPT" => match path_after(line, "TO:") {
                Some(addr) if addr.is_empty() => ok("501 5.5.4 Empty recipient"),
                Some(_) if self.rcpts.len() >= MAX_RCPT => ok("452 4.5.3 Too many recipients"),
                Some(addr) => match resolve_recipient(store, &addr) {
                    Ok(Some(user)) => {
                        self.rcpts.push((addr, user));
                        ok("250 2.1.5 OK")
                    }
                    Ok(None) => ok(&format!("550 5.1.1 <{addr}>: user unknown")),
                    Err(e) => ok(&format!("451 4.3.0 <{addr}>: {e}")),
                },
                None => ok("501 5.5.4 Syntax: RCPT TO:<address>"),
            },
            "DATA" if self.rcpts.is_empty() => ok("503 5.5.1 No valid recipients"),
            "DATA" => Reply::Data,
            "RSET" => {
                self.reset();
                ok("250 2.0.0 OK")
            }
            "NOOP" => ok("250 2.0.0 OK"),
            "VRFY" => ok("252 2.1.5 Cannot verify, send some mail"),
            "QUIT" => Reply::Quit,
            _ => ok("500 5.5.2 Unknown command"),
        }
    }
}

/// The address in `MAIL FROM:<a@b> ...` / `RCPT TO:<a@b>`; `None` if malformed.
fn path_after(line: &str, key: &str) -> Option<String> {
    let upper = line.to_ascii_uppercase();
    let at = upper.find(key)? + key.len();
    let rest = line[at..].trim_start();
    let rest = rest.strip_prefix('<')?;
    let end = rest.find('>')?;
    let addr = &rest[..end];
    if addr.contains(['\r', '\n', ' ']) {
        return None;
    }
    Some(addr.to_string())
}

#[cfg(test)]
mod tests {
    use super::path_after;

    #[test]
    fn paths() {
        assert_eq!(
            path_after("MAIL FROM:<a@b.c> SIZE=10", "FROM:").as_deref(),
            Some("a@b.c")
        );
        assert_eq!(path_after("mail from: <>", "FROM:").as_deref(), Some(""));
        assert_eq!(
            path_after("RCPT TO:<bob@x>", "TO:").as_deref(),
            Some("bob@x")
        );
        assert_eq!(path_after("RCPT TO:bob", "TO:"), None);
    }
}
