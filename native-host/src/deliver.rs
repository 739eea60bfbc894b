//! `tidings deliver` (an LDA): one message from stdin into a user's INBOX, with sendmail's
//! sysexits codes. Goes through the running server's LMTP port so IDLE sessions wake up;
//! opens the store directly only when no server is running.

use std::io::Read;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// sysexits.h codes that sendmail-style callers (Postfix's `mailbox_command`) understand.
pub mod sysexits {
    pub const OK: u8 = 0;
    pub const USAGE: u8 = 64;
    pub const DATAERR: u8 = 65;
    pub const NOUSER: u8 = 67;
    pub const SOFTWARE: u8 = 70;
    pub const IOERR: u8 = 74;
    pub const TEMPFAIL: u8 = 75;
}

/// Delivers stdin to `user`; returns the exit code and prints one line on failure.
pub fn run(user: &str, sender: &str, lmtp: Option<SocketAddr>, data_dir: &Path, max: usize) -> u8 {
    if user.is_empty() {
        eprintln!("tidings deliver: --user must not be empty");
        return sysexits::USAGE;
    }
    let mut raw = Vec::new();
    if let Err(e) = std::io::stdin().take(max as u64 + 1).read_to_end(&mut raw) {
        eprintln!("tidings deliver: reading the message from stdin: {e}");
        return sysexits::IOERR;
    }
    if raw.is_empty() {
        eprintln!("tidings deliver: empty message");
        return sysexits::DATAERR;
    }
    if raw.len() > max {
        eprintln!("tidings deliver: message larger than the limit of {max} bytes");
        return sysexits::DATAERR;
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("tidings deliver: {e}");
            return sysexits::SOFTWARE;
        }
    };
    runtime.block_on(async {
        if let Some(addr) = lmtp {
            match tokio::time::timeout(Duration::from_secs(5), TcpStream::connect(addr)).await {
                Ok(Ok(stream)) => return via_lmtp(stream, user, sender, &raw).await,
                // Nothing listening: the server is not running, so the store is free.
                Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {}
                Ok(Err(e)) => {
                    eprintln!("tidings deliver: connecting to LMTP {addr}: {e}");
                    return sysexits::TEMPFAIL;
                }
                Err(_) => {
                    eprintln!("tidings deliver: LMTP {addr} did not answer");
                    return sysexits::TEMPFAIL;
                }
            }
        }
        direct(user, sender, &raw, data_dir).await
    })
}

async fn direct(user: &str, sender: &str, raw: &[u8], data_dir: &Path) -> u8 {
    let store = match tidings_host::store::FileStore::open(data_dir) {
        Ok(s) => s,
        Err(e) => {
            eprintln!(
                "tidings deliver: opening the store in {}: {e:#}",
                data_dir.display()
            );
            return sysexits::TEMPFAIL;
        }
    };
    let account = match crate::lmtp::resolve_recipient(&store, user) {
        Ok(Some(a)) => a,
        Ok(None) => {
            eprintln!("tidings deliver: no such user: {user}");
            return sysexits::NOUSER;
        }
        Err(e) => {
            eprintln!("tidings deliver: {e}");
            return sysexits::TEMPFAIL;
        }
    };
    let now = crate::conn::now().unix_seconds();
    match crate::lmtp::deliver(&store, &account, sender, user, raw, now).await {
        Ok(_) => sysexits::OK,
        Err(tidings_engine::store::StoreError::TooBig) => {
            eprintln!("tidings deliver: message too big");
            sysexits::DATAERR
        }
        Err(e) => {
            eprintln!("tidings deliver: {e}");
            sysexits::TEMPFAIL
        }
    }
}

async fn via_lmtp(stream: TcpStream, user: &str, sender: &str, raw: &[u8]) -> u8 {
    match lmtp_transaction(stream, user, sender, raw).await {
        Ok((code, text)) => {
            let exit = match code {
                200..=299 => sysexits::OK,
                550 | 551 | 553 => sysexits::NOUSER,
                552 | 554 => sysexits::DATAERR,
                400..=499 => sysexits::TEMPFAIL,
                _ => sysexits::SOFTWARE,
            };
            if exit != sysexits::OK {
                eprintln!("tidings deliver: {text}");
            }
            exit
        }
        Err(e) => {
            eprintln!("tidings deliver: LMTP: {e}");
            sysexits::TEMPFAIL
        }
    }
}

/// Runs LHLO / MAIL / RCPT / DATA; returns the first failing reply, or DATA's final reply.
async fn lmtp_transaction(
    stream: TcpStream,
    user: &str,
    sender: &str,
    raw: &[u8],
) -> std::io::Result<(u16, String)> {
    let (rd, mut wr) = stream.into_split();
    let mut rd = BufReader::new(rd);
    let (code, text) = reply(&mut rd).await?;
    if code != 220 {
        return Ok((code, text));
    }
    for cmd in [
        "LHLO localhost".to_string(),
        format!("MAIL FROM:<{sender}>"),
        format!("RCPT TO:<{user}>"),
        "DATA".to_string(),
    ] {
        wr.write_all(format!("{cmd}\r\n").as_bytes()).await?;
        let (code, text) = reply(&mut rd).await?;
        if code >= 400 {
            return Ok((code, text));
        }
    }
    let mut data = Vec::with_capacity(raw.len() + 64);
    for line in raw.split_inclusive(|&b| b == b'\n') {
        if line.starts_with(b".") {
            data.push(b'.');
        }
        data.extend_from_slice(line);
    }
    if !data.ends_with(b"\n") {
        data.extend_from_slice(b"\r\n");
    }
    data.extend_from_slice(b".\r\n");
    wr.write_all(&data).await?;
    let result = reply(&mut rd).await?;
    let _ = wr.write_all(b"QUIT\r\n").await;
    Ok(result)
}

/// Reads one (possibly multi-line) reply: its code and last line's text.
async fn reply<R: tokio::io::AsyncBufRead + Unpin>(rd: &mut R) -> std::io::Result<(u16, String)> {
    loop {
        let mut line = String::new();
        if rd.read_line(&mut line).await? == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "connection closed",
            ));
        }
        let code: u16 = line.get(..3).and_then(|c| c.parse().ok()).unwrap_or(0);
        if line.as_bytes().get(3) != Some(&b'-') {
            return Ok((code, line.trim_end().to_string()));
        }
    }
}
