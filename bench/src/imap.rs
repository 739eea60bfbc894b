//! A minimal IMAP client for load generation: connects (plain or implicit TLS), sends tagged
//! commands, reads whole responses (literals included) and turns every surprise into an error.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use base64::Engine as _;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio_rustls::rustls;
use tokio_rustls::TlsConnector;

/// Longest response line we accept (outside literals), and the largest literal.
const MAX_LINE: usize = 1024 * 1024;
const MAX_LITERAL: usize = 256 * 1024 * 1024;

/// Where and how to connect.
#[derive(Clone)]
pub struct Target {
    pub addr: String,
    /// `Some` for implicit TLS: the connector and the name the certificate must carry.
    pub tls: Option<(TlsConnector, rustls::pki_types::ServerName<'static>)>,
    /// Longest wait for any one response.
    pub timeout: Duration,
}

impl Target {
    /// A plain-TCP target.
    pub fn plain(addr: &str, timeout: Duration) -> Target {
        Target {
            addr: addr.to_string(),
            tls: None,
            timeout,
        }
    }

    /// An implicit-TLS target trusting only the certificates in `ca_file` (PEM).
    pub fn tls(addr: &str, ca_file: &str, name: &str, timeout: Duration) -> Result<Target> {
        use rustls_pki_types::pem::PemObject;
        let mut roots = rustls::RootCertStore::empty();
        for cert in rustls_pki_types::CertificateDer::pem_file_iter(ca_file)
            .with_context(|| format!("reading CA file {ca_file}"))?
        {
            let cert = cert.with_context(|| format!("parsing CA file {ca_file}"))?;
            roots.add(cert).context("adding CA certificate")?;
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .context("TLS protocol versions")?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let server_name = rustls::pki_types::ServerName::try_from(name.to_string())
            .with_context(|| format!("bad TLS server name {name}"))?;
        Ok(Target {
            addr: addr.to_string(),
            tls: Some((TlsConnector::from(Arc::new(config)), server_name)),
            timeout,
        })
    }
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// One server response: its text with every literal's bytes moved to `lits` (the `{n}`
/// markers stay in `text`).
#[derive(Debug, Default)]
pub struct Resp {
    pub text: Vec<u8>,
    pub lits: Vec<Vec<u8>>,
}

impl Resp {
    /// The text as (lossy) UTF-8, for matching and error messages.
    pub fn line(&self) -> String {
        String::from_utf8_lossy(&self.text).into_owned()
    }
}

/// The answer to one command: untagged responses, then the tagged status line.
#[derive(Debug)]
pub struct Answer {
    pub untagged: Vec<Resp>,
    pub tagged: String,
}

impl Answer {
    /// Fails unless the tagged status is OK.
    pub fn ok(self) -> Result<Answer> {
        let mut words = self.tagged.splitn(3, ' ');
        let _tag = words.next();
        if words.next().map(|s| s.eq_ignore_ascii_case("OK")) != Some(true) {
            bail!("expected OK, got: {}", shorten(&self.tagged));
        }
        Ok(self)
    }

    /// Untagged responses of the form `* N WORD ...` (e.g. FETCH), in order.
    pub fn numbered<'a>(&'a self, word: &'a str) -> impl Iterator<Item = (u32, &'a Resp)> + 'a {
        self.untagged.iter().filter_map(move |r| {
            let head = r.text.get(..r.text.len().min(64))?;
            // A cut through a multi-byte character must not hide the response.
            let line = match std::str::from_utf8(head) {
                Ok(l) => l,
                Err(e) => std::str::from_utf8(head.get(..e.valid_up_to())?).ok()?,
            };
            let mut it = line.split(' ');
            if it.next()? != "*" {
                return None;
            }
            let n: u32 = it.next()?.parse().ok()?;
            let w = it.next()?;
            let w = w.trim_end_matches(['\r', '\n']);
            w.eq_ignore_ascii_case(word).then_some((n, r))
        })
    }
}

/// Clips a server line for an error message.
pub fn shorten(s: &str) -> String {
    let s = s.trim_end();
    if s.len() > 160 {
        let mut end = 160;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}…", &s[..end])
    } else {
        s.to_string()
    }
}

/// A connected client.
pub struct Client {
    io: BufReader<Box<dyn Io>>,
    next_tag: u64,
    timeout: Duration,
    /// Untagged responses that arrived while nothing was asked (IDLE pushes).
    pub greeting: String,
}

impl Client {
    /// Connects and reads the greeting (which must be `* OK`).
    pub async fn connect(target: &Target) -> Result<Client> {
        let tcp = tokio::time::timeout(target.timeout, TcpStream::connect(&target.addr))
            .await
            .map_err(|_| anyhow!("connect timed out"))?
            .with_context(|| format!("connecting to {}", target.addr))?;
        let _ = tcp.set_nodelay(true);
        let io: Box<dyn Io> = match &target.tls {
            None => Box::new(tcp),
            Some((connector, name)) => {
                let tls =
                    tokio::time::timeout(target.timeout, connector.connect(name.clone(), tcp))
                        .await
                        .map_err(|_| anyhow!("TLS handshake timed out"))?
                        .context("TLS handshake")?;
                Box::new(tls)
            }
        };
        let mut c = Client {
            io: BufReader::with_capacity(64 * 1024, io),
            next_tag: 1,
            timeout: target.timeout,
            greeting: String::new(),
        };
        let g = c.read_resp().await?;
        let line = g.line();
        if !line.starts_with("* OK") {
            bail!("bad greeting: {}", shorten(&line));
        }
        c.greeting = line;
        Ok(c)
    }

    fn tag(&mut self) -> String {
        let t = format!("a{}", self.next_tag);
        self.next_tag += 1;
        t
    }

    /// Reads one response (a line plus any literals it announces), within the timeout.
    pub async fn read_resp(&mut self) -> Result<Resp> {
        if let Some(r) = self.buffered_resp() {
            return Ok(r);
        }
        let timeout = self.timeout;
        tokio::time::timeout(timeout, self.read_resp_inner())
            .await
            .map_err(|_| anyhow!("no response within {timeout:?}"))?
    }

    /// A response that is already whole in the read buffer (one line, no literal), taken
    /// without an await or a timer: a 100,000-line FETCH answer otherwise cost the load
    /// generator about as much time as the server took to send it.
    fn buffered_resp(&mut self) -> Option<Resp> {
        let buf = self.io.buffer();
        let end = buf.iter().take(MAX_LINE).position(|&b| b == b'\n')? + 1;
        let line = &buf[..end];
        if !line.ends_with(b"\r\n") || literal_len(line).is_some() {
            return None; // the slow path reports a bad line and reads literals
        }
        let text = line.to_vec();
        self.io.consume(end);
        Some(Resp {
            text,
            lits: Vec::new(),
        })
    }

    /// Like `read_resp`, but `Ok(None)` when nothing arrives within `wait`.
    pub async fn read_resp_within(&mut self, wait: Duration) -> Result<Option<Resp>> {
        match tokio::time::timeout(wait, self.read_resp_inner()).await {
            Ok(r) => r.map(Some),
            Err(_) => Ok(None),
        }
    }

    async fn read_resp_inner(&mut self) -> Result<Resp> {
        let mut resp = Resp::default();
        loop {
            let start = resp.text.len();
            let n = (&mut self.io)
                .take(MAX_LINE as u64)
                .read_until(b'\n', &mut resp.text)
                .await
                .context("reading from server")?;
            if n == 0 {
                bail!("server closed the connection");
            }
            if !resp.text.ends_with(b"\r\n") {
                bail!("response line over {MAX_LINE} bytes or not CRLF-terminated");
            }
            match literal_len(&resp.text[start..]) {
                Some(len) => {
                    if len > MAX_LITERAL {
                        bail!("literal of {len} bytes is over the limit");
                    }
                    let mut lit = vec![0u8; len];
                    self.io
                        .read_exact(&mut lit)
                        .await
                        .context("reading a literal")?;
                    resp.lits.push(lit);
                }
                None => return Ok(resp),
            }
        }
    }

    /// Sends raw bytes.
    pub async fn send(&mut self, bytes: &[u8]) -> Result<()> {
        let w = self.io.get_mut();
        tokio::time::timeout(self.timeout, async {
            w.write_all(bytes).await?;
            w.flush().await
        })
        .await
        .map_err(|_| anyhow!("write timed out"))?
        .context("writing to server")
    }

    /// Reads until the tagged response for `tag`.
    async fn answer(&mut self, tag: &str) -> Result<Answer> {
        let mut untagged = Vec::new();
        loop {
            let r = self.read_resp().await?;
            if r.text.starts_with(b"* ") {
                untagged.push(r);
                continue;
            }
            let line = r.line();
            if line.starts_with(tag) && line.as_bytes().get(tag.len()) == Some(&b' ') {
                return Ok(Answer {
                    untagged,
                    tagged: line.trim_end().to_string(),
                });
            }
            bail!("unexpected response: {}", shorten(&line));
        }
    }

    /// Sends `TAG command` and returns the whole answer (not yet checked for OK).
    pub async fn cmd(&mut self, command: &str) -> Result<Answer> {
        let tag = self.tag();
        self.send(format!("{tag} {command}\r\n").as_bytes()).await?;
        self.answer(&tag).await
    }

    /// Sends a command and requires OK.
    pub async fn ok(&mut self, command: &str) -> Result<Answer> {
        self.cmd(command)
            .await?
            .ok()
            .with_context(|| format!("command: {}", shorten(command)))
    }

    /// AUTHENTICATE PLAIN without SASL-IR, as Thunderbird does: command, `+`, credentials.
    pub async fn authenticate_plain(&mut self, user: &str, pass: &str) -> Result<()> {
        let tag = self.tag();
        self.send(format!("{tag} AUTHENTICATE PLAIN\r\n").as_bytes())
            .await?;
        let cont = self.read_resp().await?;
        if !cont.text.starts_with(b"+") {
            bail!("AUTHENTICATE: expected +, got: {}", shorten(&cont.line()));
        }
        let creds = base64::engine::general_purpose::STANDARD.encode(format!("\0{user}\0{pass}"));
        self.send(format!("{creds}\r\n").as_bytes()).await?;
        self.answer(&tag)
            .await?
            .ok()
            .context("AUTHENTICATE PLAIN")?;
        Ok(())
    }

    /// LOGIN with quoted arguments.
    pub async fn login(&mut self, user: &str, pass: &str) -> Result<()> {
        self.ok(&format!("LOGIN {} {}", quote(user), quote(pass)))
            .await
            .map(drop)
    }

    /// SELECT; returns the EXISTS count.
    pub async fn select(&mut self, mailbox: &str) -> Result<u32> {
        let a = self.ok(&format!("SELECT {}", quote(mailbox))).await?;
        let exists = a
            .numbered("EXISTS")
            .map(|(n, _)| n)
            .last()
            .ok_or_else(|| anyhow!("SELECT {mailbox}: no EXISTS"))?;
        Ok(exists)
    }

    /// APPEND with a LITERAL+ literal; returns the new UID from APPENDUID when the server
    /// gives one.
    pub async fn append(&mut self, mailbox: &str, flags: &str, msg: &[u8]) -> Result<Option<u32>> {
        let tag = self.tag();
        let head = format!(
            "{tag} APPEND {} ({flags}) {{{}+}}\r\n",
            quote(mailbox),
            msg.len()
        );
        let mut buf = Vec::with_capacity(head.len() + msg.len() + 2);
        buf.extend_from_slice(head.as_bytes());
        buf.extend_from_slice(msg);
        buf.extend_from_slice(b"\r\n");
        self.send(&buf).await?;
        let a = self.answer(&tag).await?.ok().context("APPEND")?;
        Ok(appenduid(&a.tagged))
    }

    /// APPENDs `count` messages made by `make(i)` with up to `window` commands in flight
    /// (LITERAL+, no round trip per message); every answer must be OK. Returns the UIDs from
    /// APPENDUID (0 where the server gave none).
    pub async fn append_pipelined(
        &mut self,
        mailbox: &str,
        count: usize,
        window: usize,
        mut make: impl FnMut(usize) -> Vec<u8>,
    ) -> Result<Vec<u32>> {
        let mut inflight = std::collections::VecDeque::new();
        let mut uids = Vec::with_capacity(count);
        let mut next = 0;
        while next < count || !inflight.is_empty() {
            while next < count && inflight.len() < window.max(1) {
                let msg = make(next);
                let tag = self.tag();
                let head = format!("{tag} APPEND {} () {{{}+}}\r\n", quote(mailbox), msg.len());
                let mut buf = Vec::with_capacity(head.len() + msg.len() + 2);
                buf.extend_from_slice(head.as_bytes());
                buf.extend_from_slice(&msg);
                buf.extend_from_slice(b"\r\n");
                self.send(&buf).await?;
                inflight.push_back(tag);
                next += 1;
            }
            let r = self.read_resp().await?;
            if r.text.starts_with(b"* ") {
                continue;
            }
            let line = r.line();
            let Some(tag) = inflight.pop_front() else {
                bail!("unexpected response: {}", shorten(&line));
            };
            if !line.starts_with(&format!("{tag} OK")) {
                bail!("APPEND {tag}: {}", shorten(&line));
            }
            uids.push(appenduid(&line).unwrap_or(0));
        }
        Ok(uids)
    }

    /// Starts IDLE: sends the command and waits for the `+` continuation (untagged
    /// responses before it are returned).
    pub async fn idle_start(&mut self) -> Result<(String, Vec<Resp>)> {
        let tag = self.tag();
        self.send(format!("{tag} IDLE\r\n").as_bytes()).await?;
        let mut early = Vec::new();
        loop {
            let r = self.read_resp().await?;
            if r.text.starts_with(b"+") {
                return Ok((tag, early));
            }
            if r.text.starts_with(b"* ") {
                early.push(r);
                continue;
            }
            bail!("IDLE: expected +, got: {}", shorten(&r.line()));
        }
    }

    /// Ends IDLE with DONE and waits for the tagged OK.
    pub async fn idle_done(&mut self, tag: &str) -> Result<Answer> {
        self.send(b"DONE\r\n").await?;
        self.answer(tag).await?.ok().context("IDLE/DONE")
    }

    /// LOGOUT: expects BYE then OK (a server that just closes after BYE is accepted).
    pub async fn logout(&mut self) -> Result<()> {
        let tag = self.tag();
        self.send(format!("{tag} LOGOUT\r\n").as_bytes()).await?;
        let mut saw_bye = false;
        loop {
            let r = match self.read_resp().await {
                Ok(r) => r,
                Err(_) if saw_bye => return Ok(()),
                Err(e) => return Err(e.context("LOGOUT")),
            };
            let line = r.line();
            if line.starts_with("* BYE") {
                saw_bye = true;
            } else if line.starts_with(&format!("{tag} OK")) {
                if !saw_bye {
                    bail!("LOGOUT: OK without BYE");
                }
                return Ok(());
            } else if !line.starts_with("* ") {
                bail!("LOGOUT: unexpected {}", shorten(&line));
            }
        }
    }
}

/// `{n}` or `{n+}` at the end of a line (before CRLF): the literal length.
fn literal_len(line: &[u8]) -> Option<usize> {
    let line = line.strip_suffix(b"\r\n")?;
    let line = line.strip_suffix(b"}")?;
    let open = line.iter().rposition(|&b| b == b'{')?;
    let digits = &line[open + 1..];
    let digits = digits.strip_suffix(b"+").unwrap_or(digits);
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// The UID from an `[APPENDUID v uid]` response code.
fn appenduid(tagged: &str) -> Option<u32> {
    let i = tagged.find("[APPENDUID ")?;
    let rest = &tagged[i + 11..];
    let mut it = rest.split([' ', ']']);
    let _validity = it.next()?;
    it.next()?.parse().ok()
}

/// An IMAP quoted string.
pub fn quote(s: &str) -> String {
    let mut q = String::with_capacity(s.len() + 2);
    q.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            q.push('\\');
        }
        q.push(c);
    }
    q.push('"');
    q
}

/// The value after `NAME ` in a FETCH response text, up to the next space or `)`.
pub fn fetch_item<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    let pat = format!("{name} ");
    let mut from = 0;
    while let Some(i) = text[from..].find(&pat) {
        let at = from + i;
        let before = text.as_bytes().get(at.wrapping_sub(1)).copied();
        if at == 0 || matches!(before, Some(b' ') | Some(b'(')) {
            let rest = &text[at + pat.len()..];
            let end = rest.find([' ', ')', '\r']).unwrap_or(rest.len());
            return Some(&rest[..end]);
        }
        from = at + pat.len();
    }
    None
}

/// The parenthesised FLAGS list of a FETCH response text.
pub fn fetch_flags(text: &str) -> Option<&str> {
    let i = text.find("FLAGS (")?;
    let rest = &text[i + 7..];
    Some(&rest[..rest.find(')')?])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lines already buffered take the fast path; a line announcing a literal, a line split
    /// across reads and the tagged status still come out whole and in order.
    #[tokio::test]
    async fn buffered_and_literal_responses_mix() {
        let (mine, mut server) = tokio::io::duplex(64);
        let mut c = Client {
            io: BufReader::with_capacity(1024, Box::new(mine)),
            next_tag: 1,
            timeout: Duration::from_secs(5),
            greeting: String::new(),
        };
        let script: &[&[u8]] = &[
            b"* 1 FETCH (FLAGS ())\r\n* 2 FETCH (UID 9 BODY[] {5}\r\nab",
            b"c\r\n)\r\n* 3 FETCH (FL",
            b"AGS (\\Seen))\r\na1 OK done\r\n",
        ];
        let writer = tokio::spawn(async move {
            for part in script {
                server.write_all(part).await.unwrap();
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            server
        });
        let a = c.answer("a1").await.unwrap();
        assert_eq!(a.tagged, "a1 OK done");
        let seqs: Vec<u32> = a.numbered("FETCH").map(|(n, _)| n).collect();
        assert_eq!(seqs, [1, 2, 3]);
        assert_eq!(a.untagged[1].lits, [b"abc\r\n".to_vec()]);
        assert_eq!(a.untagged[1].text, b"* 2 FETCH (UID 9 BODY[] {5}\r\n)\r\n");
        assert_eq!(
            a.untagged[2].line().trim_end(),
            "* 3 FETCH (FLAGS (\\Seen))"
        );
        drop(writer.await.unwrap());
    }

    #[test]
    fn literal_lengths() {
        assert_eq!(literal_len(b"* 1 FETCH (BODY[] {12}\r\n"), Some(12));
        assert_eq!(literal_len(b"a APPEND x {5+}\r\n"), Some(5));
        assert_eq!(literal_len(b"* OK {x}\r\n"), None);
        assert_eq!(literal_len(b"* OK done\r\n"), None);
    }

    #[test]
    fn items() {
        let t = "* 3 FETCH (UID 7 RFC822.SIZE 621 FLAGS (\\Seen \\Recent))";
        assert_eq!(fetch_item(t, "UID"), Some("7"));
        assert_eq!(fetch_item(t, "RFC822.SIZE"), Some("621"));
        assert_eq!(fetch_flags(t), Some("\\Seen \\Recent"));
        assert_eq!(
            appenduid("a1 OK [APPENDUID 17 42] Append completed."),
            Some(42)
        );
    }
}
