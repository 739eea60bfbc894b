//! The shim's HTTP side: reads one request head, tells a WebSocket upgrade from a page load,
//! and serves the demo page's static files (`www/`, and `pkg/` for the wasm build).

use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};

/// Largest request head we read; more is refused with 431.
pub const MAX_HEAD: usize = 16 * 1024;

/// A parsed request head (only what the shim looks at).
#[derive(Debug, Clone)]
pub struct RequestHead {
    pub method: String,
    pub target: String,
    pub headers: Vec<(String, String)>,
}

impl RequestHead {
    /// The first header named `name` (case-insensitive), if any.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// True if a comma-separated header `name` lists `token` (case-insensitive).
    pub fn header_has_token(&self, name: &str, token: &str) -> bool {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .flat_map(|(_, v)| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    }

    /// The target's path without query or fragment.
    pub fn path(&self) -> &str {
        let end = self.target.find(['?', '#']).unwrap_or(self.target.len());
        &self.target[..end]
    }

    /// A WebSocket upgrade request (RFC 6455 §4.2.1: `Upgrade: websocket`).
    pub fn is_websocket(&self) -> bool {
        self.header_has_token("upgrade", "websocket")
    }
}

/// Why a request head could not be read.
#[derive(Debug)]
pub enum HeadError {
    /// The peer closed or failed before a whole head arrived.
    Io(io::Error),
    /// Not HTTP/1.x.
    Malformed,
    /// Longer than [`MAX_HEAD`].
    TooLarge,
}

/// Reads from `stream` until a whole request head is buffered. Returns the head and every
/// byte read so far (the head included), which a WebSocket handshake must see again.
pub async fn read_head<S: AsyncRead + Unpin>(
    stream: &mut S,
) -> Result<(RequestHead, Vec<u8>), HeadError> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 2048];
    loop {
        let n = stream.read(&mut chunk).await.map_err(HeadError::Io)?;
        if n == 0 {
            return Err(HeadError::Io(io::ErrorKind::UnexpectedEof.into()));
        }
        buf.extend_from_slice(&chunk[..n]);
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut req = httparse::Request::new(&mut headers);
        match req.parse(&buf) {
            Ok(httparse::Status::Complete(_)) => {
                let head = RequestHead {
                    method: req.method.unwrap_or("").to_string(),
                    target: req.path.unwrap_or("").to_string(),
                    headers: req
                        .headers
                        .iter()
                        .map(|h| {
                            (
                                h.name.to_string(),
                                String::from_utf8_lossy(h.value).into_owned(),
                            )
                        })
                        .collect(),
                };
                return Ok((head, buf));
            }
            Ok(httparse::Status::Partial) if buf.len() > MAX_HEAD => {
                return Err(HeadError::TooLarge)
            }
            Ok(httparse::Status::Partial) => {}
            Err(httparse::Error::TooManyHeaders) => return Err(HeadError::TooLarge),
            Err(_) => return Err(HeadError::Malformed),
        }
    }
}

/// Where the page's files come from: `/pkg/...` from `pkg`, everything else from `www`.
#[derive(Debug, Clone)]
pub struct WebRoot {
    pub www: PathBuf,
    pub pkg: PathBuf,
}

impl WebRoot {
    /// `dir/www` and `dir/pkg`.
    pub fn under(dir: &Path) -> WebRoot {
        WebRoot {
            www: dir.join("www"),
            pkg: dir.join("pkg"),
        }
    }

    /// Maps a request path to a file, or `None` if it tries to leave the roots.
    pub fn resolve(&self, path: &str) -> Option<PathBuf> {
        let decoded = percent_decode(path)?;
        let rest = decoded.strip_prefix('/')?;
        let mut segments = Vec::new();
        for seg in rest.split('/') {
            match seg {
                "" => {}
                "." | ".." => return None,
                s if s.contains(['\\', '\0']) || s.starts_with('.') => return None,
                s => segments.push(s),
            }
        }
        let (mut file, segments) = match segments.split_first() {
            Some((&"pkg", tail)) => (self.pkg.clone(), tail),
            _ => (self.www.clone(), segments.as_slice()),
        };
        for s in segments {
            file.push(s);
        }
        if segments.is_empty() || decoded.ends_with('/') {
            file.push("index.html");
        }
        Some(file)
    }
}

/// `%XX` decoding; `None` for bad escapes or non-UTF-8 results.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The Content-Type for a file name (what the page needs; `application/wasm` matters for
/// `WebAssembly.instantiateStreaming`).
pub fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" | "htm" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "wasm" => "application/wasm",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "txt" | "md" | "ts" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// Writes a whole response and closes our side (`Connection: close`, one request each).
pub async fn respond<S: AsyncWrite + Unpin>(
    stream: &mut S,
    status: &str,
    content_type: &str,
    body: &[u8],
    with_body: bool,
) -> io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         Cache-Control: no-cache\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    if with_body {
        stream.write_all(body).await?;
    }
    stream.flush().await?;
    stream.shutdown().await
}

/// Serves a GET or HEAD for a static file.
pub async fn serve_file<S: AsyncWrite + Unpin>(
    stream: &mut S,
    head: &RequestHead,
    root: &WebRoot,
) -> io::Result<()> {
    let with_body = head.method != "HEAD";
    if head.method != "GET" && head.method != "HEAD" {
        return respond(
            stream,
            "405 Method Not Allowed",
            "text/plain",
            b"GET or HEAD only\n",
            true,
        )
        .await;
    }
    let Some(mut file) = root.resolve(head.path()) else {
        return respond(
            stream,
            "400 Bad Request",
            "text/plain",
            b"bad path\n",
            with_body,
        )
        .await;
    };
    if tokio::fs::metadata(&file)
        .await
        .map(|m| m.is_dir())
        .unwrap_or(false)
    {
        file.push("index.html");
    }
    match tokio::fs::read(&file).await {
        Ok(body) => respond(stream, "200 OK", content_type(&file), &body, with_body).await,
        Err(_) => {
            let hint = if head.path().starts_with("/pkg/") {
                "\nThe wasm build is missing: run web-demo/build.sh (it writes web-demo/pkg).\n"
            } else {
                "\n"
            };
            let body = format!("not found: {}{hint}", head.path());
            respond(
                stream,
                "404 Not Found",
                "text/plain; charset=utf-8",
                body.as_bytes(),
                with_body,
            )
            .await
        }
    }
}

/// A stream that first yields bytes already read from it, then reads on; writes go straight
/// through. It lets the WebSocket handshake re-read the request head we peeked at.
pub struct Prefixed<S> {
    prefix: Vec<u8>,
    pos: usize,
    inner: S,
}

impl<S> Prefixed<S> {
    /// Wraps `inner`, replaying `prefix` before its own bytes.
    pub fn new(prefix: Vec<u8>, inner: S) -> Self {
        Prefixed {
            prefix,
            pos: 0,
            inner,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Prefixed<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if this.pos < this.prefix.len() {
            let n = (this.prefix.len() - this.pos).min(buf.remaining());
            buf.put_slice(&this.prefix[this.pos..this.pos + n]);
            this.pos += n;
            if this.pos == this.prefix.len() {
                this.prefix = Vec::new();
                this.pos = 0;
            }
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Prefixed<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> WebRoot {
        WebRoot::under(Path::new("/srv/web"))
    }

    #[test]
    fn resolve_maps_pkg_and_www() {
        let r = root();
        assert_eq!(
            r.resolve("/"),
            Some(PathBuf::from("/srv/web/www/index.html"))
        );
        assert_eq!(
            r.resolve("/app.js"),
            Some(PathBuf::from("/srv/web/www/app.js"))
        );
        assert_eq!(
            r.resolve("/pkg/tidings_web_bg.wasm"),
            Some(PathBuf::from("/srv/web/pkg/tidings_web_bg.wasm"))
        );
        assert_eq!(
            r.resolve("/pkg/"),
            Some(PathBuf::from("/srv/web/pkg/index.html"))
        );
        assert_eq!(
            r.resolve("/a%20b.css"),
            Some(PathBuf::from("/srv/web/www/a b.css"))
        );
    }

    #[test]
    fn resolve_refuses_escapes() {
        let r = root();
        for bad in [
            "/../etc/passwd",
            "/pkg/../../x",
            "/%2e%2e/x",
            "/a/%2E%2E/b",
            "/.git/config",
            "/a\\b",
            "/%00",
            "/%zz",
            "/%e9",
            "relative",
        ] {
            assert_eq!(r.resolve(bad), None, "{bad}");
        }
    }

    #[test]
    fn content_types_for_the_page() {
        assert_eq!(content_type(Path::new("x.wasm")), "application/wasm");
        assert_eq!(
            content_type(Path::new("x.js")),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(content_type(Path::new("x")), "application/octet-stream");
    }

    #[tokio::test]
    async fn read_head_in_pieces_and_replay() {
        let (mut a, b) = tokio::io::duplex(64);
        let writer = tokio::spawn(async move {
            for piece in [
                "GET /shim?x=1 HTTP/1.1\r\nHo",
                "st: h\r\nUpgrade: WebSocket\r\n",
                "\r\nextra",
            ] {
                a.write_all(piece.as_bytes()).await?;
            }
            Ok::<_, io::Error>(a)
        });
        let mut b = b;
        let (head, buf) = read_head(&mut b).await.expect("head");
        assert_eq!(head.method, "GET");
        assert_eq!(head.path(), "/shim");
        assert_eq!(head.header("HOST"), Some("h"));
        assert!(head.is_websocket());
        let _a = writer.await;
        let mut replay = Prefixed::new(buf.clone(), b);
        let mut again = vec![0u8; buf.len()];
        replay.read_exact(&mut again).await.expect("replay");
        assert_eq!(again, buf);
    }

    #[tokio::test]
    async fn read_head_refuses_garbage_and_huge() {
        let mut garbage: &[u8] = b"\x16\x03\x01 not http\r\n\r\n";
        assert!(matches!(
            read_head(&mut garbage).await,
            Err(HeadError::Malformed)
        ));
        let huge = format!("GET / HTTP/1.1\r\nX: {}\r\n", "a".repeat(MAX_HEAD + 10));
        let mut huge = huge.as_bytes();
        assert!(matches!(
            read_head(&mut huge).await,
            Err(HeadError::TooLarge)
        ));
        let mut short: &[u8] = b"GET / HT";
        assert!(matches!(read_head(&mut short).await, Err(HeadError::Io(_))));
    }
}
