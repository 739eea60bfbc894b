//! Drives one engine `Session` over a byte stream: reads into the session, writes its output,
//! wakes it on store changes and timers, and performs the STARTTLS upgrade.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tidings_engine::session::{Event, Progress, Session, SessionConfig};
use tidings_engine::store::{Store, Watch};

use crate::HostStore;
use tidings_engine::types::Timestamp;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

use crate::limits::{ConnSlot, Throttle};

/// Wall-clock time as the engine wants it.
pub fn now() -> Timestamp {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    Timestamp(ms)
}

/// Read buffer of an IDLE-ing connection (the client sends `DONE\r\n` and little else; a
/// read that fills it grows it back to `MIN_READ`), and the smallest and largest otherwise.
const IDLE_READ: usize = 64;
const MIN_READ: usize = 2048;
const MAX_READ: usize = 64 * 1024;
/// Output buffers above this size are freed after they are written.
const MAX_KEPT_OUTPUT: usize = 64 * 1024;

/// Why a drive loop returned.
enum Next {
    Closed,
    StartTls,
}

/// Everything a connection needs from the server.
pub struct ConnContext {
    pub store: Arc<HostStore>,
    pub tls: Option<TlsAcceptor>,
    pub throttle: Arc<Throttle>,
    pub shutdown: watch::Receiver<bool>,
    pub trust_loopback: bool,
    pub id: u64,
    pub peer: SocketAddr,
    /// This connection's place under the connection limits, given back when it ends.
    pub _slot: ConnSlot,
}

/// Serves one TCP connection to the end. `implicit_tls` wraps it in TLS first.
///
/// The returned future is most of a connection's task, which every idle connection keeps, so
/// it is laid out by hand: the session, the context and the transport are captured by an
/// `async move` block and used in place (an `async fn` would keep a second copy of each
/// argument), there is one drive loop whatever the transport, and what is large and not
/// always needed (the TLS state, the handshake) is boxed.
pub fn serve_connection(
    stream: TcpStream,
    implicit_tls: bool,
    mut config: SessionConfig,
    ctx: ConnContext,
) -> impl Future<Output = ()> + Send {
    let _ = stream.set_nodelay(true);
    // Loopback is as private as TLS: plaintext login is allowed there (as Dovecot's
    // login_trusted_networks / disable_plaintext_auth exemptions for localhost).
    if ctx.trust_loopback && ctx.peer.ip().is_loopback() {
        config.allow_plaintext_auth = true;
    }
    config.starttls_available = ctx.tls.is_some();
    config.tls_active = implicit_tls;
    tracing::info_span!("conn", id = ctx.id, peer = %ctx.peer)
        .in_scope(|| tracing::info!(tls = implicit_tls, "connected"));
    // The greeting is queued now and sent once the transport is ready.
    let mut session = Session::new(config, now());
    let mut ctx = ctx;
    let mut io = Transport::Plain(stream);
    let mut watch: Option<Watch> = None;
    async move {
        let mut tls_wanted = implicit_tls;
        loop {
            if tls_wanted {
                let Transport::Plain(tcp) = std::mem::replace(&mut io, Transport::Closed) else {
                    break;
                };
                let what = if implicit_tls { "TLS" } else { "STARTTLS" };
                let Some(tls) = accept_tls(&ctx, tcp, what).await else {
                    break;
                };
                io = Transport::Tls(tls);
                session.set_tls_active();
            }
            match drive(&mut ctx, &mut session, &mut io, &mut watch).await {
                Ok(Next::StartTls) => tls_wanted = true,
                Ok(Next::Closed) | Err(_) => break,
            }
        }
        tracing::info!(id = ctx.id, "disconnected");
    }
}

/// The TLS handshake on `stream`, its state boxed. `None` (logged) if it failed.
async fn accept_tls(
    ctx: &ConnContext,
    stream: TcpStream,
    what: &str,
) -> Option<Box<TlsStream<TcpStream>>> {
    let acceptor = ctx.tls.clone()?;
    // The handshake future is boxed too, so only a pointer to it sits in the task.
    match Box::pin(acceptor.accept(stream)).await {
        Ok(tls) => Some(Box::new(tls)),
        Err(e) => {
            tracing::info!(id = ctx.id, error = %e, "{what} handshake failed");
            None
        }
    }
}

/// A connection's byte stream. TLS is boxed: its state is KiBs that plain connections
/// should not reserve in their tasks.
enum Transport {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
    /// After a failed handshake took the TCP stream (nothing is read or written then).
    Closed,
}

fn closed() -> std::io::Error {
    std::io::Error::from(std::io::ErrorKind::NotConnected)
}

impl AsyncRead for Transport {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Transport::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
            Transport::Closed => Poll::Ready(Err(closed())),
        }
    }
}

impl AsyncWrite for Transport {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Transport::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
            Transport::Closed => Poll::Ready(Err(closed())),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Transport::Plain(s) => Pin::new(s).poll_flush(cx),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
            Transport::Closed => Poll::Ready(Err(closed())),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Transport::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
            Transport::Closed => Poll::Ready(Err(closed())),
        }
    }
}

async fn drive<IO: AsyncRead + AsyncWrite + Unpin>(
    ctx: &mut ConnContext,
    session: &mut Session,
    io: &mut IO,
    watch: &mut Option<Watch>,
) -> std::io::Result<Next> {
    // The read buffer adapts: it doubles up to 64 KiB while reads fill it (pipelined
    // commands, APPEND literals) and shrinks to `IDLE_READ` in IDLE (thousands of IDLE-ing
    // connections each hold one).
    let mut buf = vec![0u8; MIN_READ];
    let mut out = Vec::new();
    // A command paused with its output sent so far: go on with it before reading more.
    let mut paused = false;
    loop {
        session.write_output(&mut out);
        if !out.is_empty() {
            io.write_all(&out).await?;
            io.flush().await?;
            out.clear();
            if out.capacity() > MAX_KEPT_OUTPUT {
                // Don't keep a big FETCH's buffer for the rest of the connection.
                out = Vec::new();
            }
        }
        while let Some(ev) = session.poll_event() {
            match ev {
                Event::StartTls => return Ok(Next::StartTls),
                Event::Close => {
                    let _ = io.shutdown().await;
                    return Ok(Next::Closed);
                }
                Event::LoggedIn(account) => {
                    tracing::info!(id = ctx.id, user = %account.name, "logged in");
                    ctx.throttle.succeeded(ctx.peer.ip());
                    *watch = Some(ctx.store.watch(&account));
                }
                Event::AuthFailed => {
                    let delay = ctx.throttle.failed(ctx.peer.ip());
                    tracing::info!(
                        id = ctx.id,
                        delay_ms = delay.as_millis() as u64,
                        "login failed"
                    );
                    tokio::time::sleep(delay).await;
                }
                Event::ClientId(params) => {
                    let id: Vec<String> = params
                        .iter()
                        .map(|(k, v)| format!("{k}={}", v.as_deref().unwrap_or("NIL")))
                        .collect();
                    tracing::info!(id = ctx.id, client = %id.join(" "), "client ID");
                }
            }
        }
        if session.is_idling() && buf.len() > IDLE_READ {
            // An IDLE-ing client sends nothing until DONE: give the buffers back, as
            // thousands of connections may sit here. (Not on every short read: pipelined
            // APPENDs ran at half speed with that.) A read that fills it grows it again.
            buf = vec![0u8; IDLE_READ];
            out = Vec::new();
            session.shrink_buffers();
        }
        if paused {
            if ctx.shutdown.has_changed().unwrap_or(true) {
                return Ok(shut_down(io).await);
            }
            paused = Box::pin(session.process(ctx.store.as_ref(), now())).await == Progress::Paused;
            continue;
        }
        let sleep_for = session
            .poll_timeout()
            .map(|t| Duration::from_millis((t.0 - now().0).max(0) as u64))
            .unwrap_or(Duration::from_secs(3600));
        tokio::select! {
            r = io.read(&mut buf) => {
                let n = r?;
                if n == 0 {
                    return Ok(Next::Closed);
                }
                session.handle_input(&buf[..n], now());
                if n == buf.len() && buf.len() < MAX_READ {
                    buf.resize((buf.len() * 2).max(MIN_READ), 0);
                }
            }
            _ = wait_change(watch) => session.handle_store_change(),
            _ = tokio::time::sleep(sleep_for) => session.handle_timeout(now()),
            _ = ctx.shutdown.changed() => return Ok(shut_down(io).await),
        }
        // Boxed: the engine's command future is several KiB and only lives while a command
        // runs; inline it would sit in every idle connection's task.
        paused = Box::pin(session.process(ctx.store.as_ref(), now())).await == Progress::Paused;
    }
}

/// Says goodbye to the client as the server stops.
async fn shut_down<IO: AsyncWrite + Unpin>(io: &mut IO) -> Next {
    let _ = io.write_all(b"* BYE Server shutting down.\r\n").await;
    let _ = io.shutdown().await;
    Next::Closed
}

/// Waits for a change in the watched account, or forever when not logged in.
async fn wait_change(watch: &mut Option<Watch>) {
    match watch {
        Some(w) => w.changed().await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::ConnLimits;

    /// Every idle connection keeps its whole task, so its size is watched: it was 3.8 KiB
    /// when a TLS stream and the arguments sat in it beside the session (704 bytes) and the
    /// drive loop (496). The bound leaves room for compiler and dependency changes, not for
    /// another copy of the session.
    #[tokio::test]
    async fn a_connection_task_stays_small() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Arc::new(HostStore::open(dir.path()).expect("open store"));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let client = tokio::spawn(TcpStream::connect(listener.local_addr().expect("addr")));
        let (stream, peer) = listener.accept().await.expect("accept");
        let _client = client.await.expect("join").expect("connect");
        let (_stop, shutdown) = watch::channel(false);
        let limits = Arc::new(ConnLimits::new(10, 10));
        let ctx = ConnContext {
            store,
            tls: None,
            throttle: Arc::new(Throttle::default()),
            shutdown,
            trust_loopback: true,
            id: 1,
            peer,
            _slot: limits.acquire(peer.ip()).expect("slot"),
        };
        let conn = serve_connection(stream, false, SessionConfig::default(), ctx);
        let size = std::mem::size_of_val(&conn);
        assert!(size <= 1600, "a connection's future is {size} bytes");
    }
}
