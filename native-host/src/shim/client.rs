//! One IMAP client connection at the shim: relays its bytes to the page as DATA frames and
//! the page's DATA back, and turns either side's end into the other's (CLOSE / TCP close).

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::frame::Frame;
use super::hub::{open_info, Hub, ToClient};

/// Read size for client bytes; each read becomes one DATA frame. 64 KiB: a typical APPEND
/// (command line and a literal of tens of KB, sent together) reaches the page as one frame,
/// one task and one session wake there instead of two or three.
const READ_CHUNK: usize = 64 * 1024;

/// Sent when a client connects and no page hosts the engine.
pub fn no_page_bye(http_url: &str) -> String {
    format!(
        "* BYE [UNAVAILABLE] No Tidings page is connected to the shim: open {http_url} in a \
         browser, then reconnect\r\n"
    )
}

/// Sent when the page goes away while a client is connected.
const PAGE_GONE_BYE: &[u8] =
    b"* BYE [UNAVAILABLE] The Tidings page hosting the engine went away (tab closed or reloaded)\r\n";

/// Relays one client connection until either side ends it.
pub async fn relay<S>(stream: S, peer: SocketAddr, tls: bool, hub: Arc<Hub>, http_url: Arc<str>)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let (mut rd, mut wr) = tokio::io::split(stream);
    let Some(mut att) = hub.attach_client() else {
        tracing::info!(%peer, "client refused: no page connected");
        let _ = wr.write_all(no_page_bye(&http_url).as_bytes()).await;
        let _ = wr.shutdown().await;
        return;
    };
    let id = att.id;
    tracing::info!(id, %peer, tls, "client connected");
    let info = open_info(peer, tls);
    if att
        .to_page
        .send(
            Frame::Open {
                id,
                info: info.as_bytes(),
            }
            .encode(),
        )
        .await
        .is_err()
    {
        let _ = wr.write_all(PAGE_GONE_BYE).await;
        let _ = wr.shutdown().await;
        hub.detach_client(att.generation, id);
        return;
    }
    let mut buf = vec![0u8; READ_CHUNK];
    // Whether the last byte the client got ends a line: only then may a BYE be slipped in.
    let mut at_line_start = true;
    let mut page_open = true;
    loop {
        tokio::select! {
            r = rd.read(&mut buf), if page_open => match r {
                Ok(0) | Err(_) => {
                    tracing::info!(id, "client closed");
                    let _ = att.to_page.send(Frame::Close { id, reason: b"client closed" }.encode()).await;
                    break;
                }
                Ok(n) => {
                    if att.to_page.send(Frame::Data { id, bytes: &buf[..n] }.encode()).await.is_err() {
                        // The page task ended; its PageGone message follows on `rx`.
                        page_open = false;
                    }
                }
            },
            m = att.rx.recv() => match m {
                Some(ToClient::Data(bytes)) => {
                    att.queued.fetch_sub(bytes.len(), Ordering::Relaxed);
                    if wr.write_all(&bytes).await.is_err() {
                        let _ = att.to_page.send(Frame::Close { id, reason: b"client write failed" }.encode()).await;
                        break;
                    }
                    if let Some(&last) = bytes.last() {
                        at_line_start = last == b'\n';
                    }
                }
                Some(ToClient::Close) => {
                    tracing::info!(id, "page closed the connection");
                    break;
                }
                Some(ToClient::PageGone) | None => {
                    tracing::info!(id, "page went away");
                    if at_line_start {
                        let _ = wr.write_all(PAGE_GONE_BYE).await;
                    }
                    break;
                }
            },
        }
    }
    hub.detach_client(att.generation, id);
    let _ = wr.flush().await;
    let _ = wr.shutdown().await;
}
