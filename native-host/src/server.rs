//! `tidings serve`: binds the configured listeners, accepts connections and spawns a driver
//! for each, and shuts down gracefully (BYE to every client) on SIGTERM or Ctrl-C.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::HostStore;
use anyhow::{Context, Result};
use tidings_engine::session::SessionConfig;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

use crate::conn::{serve_connection, ConnContext};
use crate::limits::Throttle;

/// What the listeners share.
pub struct ServerParts {
    pub store: Arc<HostStore>,
    pub session: SessionConfig,
    pub tls: Option<TlsAcceptor>,
    pub imap: Vec<SocketAddr>,
    pub imaps: Vec<SocketAddr>,
    pub lmtp: Vec<SocketAddr>,
    pub trust_loopback: bool,
    /// Most simultaneous IMAP connections, in all and from one address.
    pub max_connections: usize,
    pub max_connections_per_ip: usize,
    /// Largest message LMTP accepts.
    pub max_message_size: usize,
}

/// Binds every listener, prints where each listens, and serves until a signal arrives.
pub async fn run(parts: ServerParts) -> Result<()> {
    let (stop_tx, stop_rx) = watch::channel(false);
    let throttle = Arc::new(Throttle::default());
    let limits = Arc::new(crate::limits::ConnLimits::new(
        parts.max_connections,
        parts.max_connections_per_ip,
    ));
    let ids = Arc::new(AtomicU64::new(1));
    let mut tasks = Vec::new();
    let mut bound = Vec::new();
    for (addrs, implicit) in [(&parts.imap, false), (&parts.imaps, true)] {
        for addr in addrs {
            if implicit && parts.tls.is_none() {
                continue;
            }
            let listener = TcpListener::bind(addr)
                .await
                .with_context(|| format!("binding {addr}"))?;
            let local = listener.local_addr()?;
            // Machine-readable line: tests and scripts read the real port from it.
            println!(
                "listening {} {local}",
                if implicit { "imaps" } else { "imap" }
            );
            bound.push(local);
            let store = parts.store.clone();
            let session = parts.session.clone();
            let tls = parts.tls.clone();
            let throttle = throttle.clone();
            let limits = limits.clone();
            let ids = ids.clone();
            let trust_loopback = parts.trust_loopback;
            let mut stop = stop_rx.clone();
            tasks.push(tokio::spawn(async move {
                loop {
                    let accepted = tokio::select! {
                        r = listener.accept() => r,
                        _ = stop.changed() => break,
                    };
                    let (stream, peer) = match accepted {
                        Ok(a) => a,
                        Err(e) => {
                            tracing::warn!(error = %e, "accept failed");
                            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                            continue;
                        }
                    };
                    let slot = match limits.acquire(peer.ip()) {
                        Ok(slot) => slot,
                        Err(why) => {
                            tracing::warn!(%peer, why, "connection refused");
                            tokio::spawn(refuse(stream, why));
                            continue;
                        }
                    };
                    let config = session.clone();
                    let ctx = ConnContext {
                        store: store.clone(),
                        tls: tls.clone(),
                        throttle: throttle.clone(),
                        shutdown: stop.clone(),
                        trust_loopback,
                        id: ids.fetch_add(1, Ordering::Relaxed),
                        peer,
                        _slot: slot,
                    };
                    // Spawned as it is: a wrapping block would keep a second copy of it.
                    tokio::spawn(serve_connection(stream, implicit, config, ctx));
                }
            }));
        }
    }
    for addr in &parts.lmtp {
        let listener = TcpListener::bind(addr)
            .await
            .with_context(|| format!("binding LMTP {addr}"))?;
        let local = listener.local_addr()?;
        println!("listening lmtp {local}");
        let store = parts.store.clone();
        let max = parts.max_message_size;
        let mut stop = stop_rx.clone();
        tasks.push(tokio::spawn(async move {
            loop {
                let accepted = tokio::select! {
                    r = listener.accept() => r,
                    _ = stop.changed() => break,
                };
                match accepted {
                    Ok((stream, _)) => {
                        tokio::spawn(crate::lmtp::serve_lmtp(
                            stream,
                            store.clone(),
                            max,
                            stop.clone(),
                        ));
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "LMTP accept failed");
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    }
                }
            }
        }));
    }
    use std::io::Write as _;
    let _ = std::io::stdout().flush();
    wait_for_signal().await;
    tracing::info!("shutting down");
    let _ = stop_tx.send(true);
    for t in tasks {
        let _ = t.await;
    }
    // Give connections a moment to send their BYE.
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    Ok(())
}

/// Tells a client over the limit why it is turned away. Over implicit TLS the client sees
/// only a closed connection (no handshake is spent on it).
async fn refuse(mut stream: tokio::net::TcpStream, why: &str) {
    use tokio::io::AsyncWriteExt;
    let _ = stream
        .write_all(format!("* BYE {why}\r\n").as_bytes())
        .await;
    let _ = stream.shutdown().await;
}

pub(crate) async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let term = signal(SignalKind::terminate());
        let ctrl_c = tokio::signal::ctrl_c();
        match term {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = ctrl_c => {}
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
