//! The page's side of the shim: the WebSocket handshake (subprotocol, origin check) and the
//! loop that moves frames between the page and the hub until the page leaves or is replaced.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::Message;

use super::frame::{Frame, SUBPROTOCOL};
use super::http::RequestHead;
use super::hub::Hub;

/// The WebSocket endpoint's path.
pub const WS_PATH: &str = "/shim";

/// Close code sent to a page when a newer page took over (4000–4999 are for applications).
pub const CLOSE_REPLACED: u16 = 4001;

/// Largest WebSocket message accepted from the page (a big FETCH may come as one message).
const MAX_MESSAGE: usize = 64 * 1024 * 1024;

/// Interval between pings, so a vanished page is noticed.
const PING_EVERY: Duration = Duration::from_secs(30);

/// Checks an upgrade request before the handshake: our subprotocol offered, and no foreign
/// web origin (any site open in the browser could otherwise connect and read IMAP traffic).
/// Returns an HTTP status and message on refusal.
pub fn check_upgrade(head: &RequestHead) -> Result<(), (&'static str, String)> {
    if head.path() != WS_PATH {
        return Err((
            "404 Not Found",
            format!("the WebSocket endpoint is {WS_PATH}\n"),
        ));
    }
    if !head.header_has_token("sec-websocket-protocol", SUBPROTOCOL) {
        return Err((
            "400 Bad Request",
            format!("offer the WebSocket subprotocol {SUBPROTOCOL} (Sec-WebSocket-Protocol)\n"),
        ));
    }
    if let Some(origin) = head.header("origin") {
        let host = head.header("host").unwrap_or("");
        if origin != format!("http://{host}") {
            return Err((
                "403 Forbidden",
                format!("origin {origin} may not use this shim\n"),
            ));
        }
    }
    Ok(())
}

/// The close frame for a page whose slot the hub dropped: 4001 if a newer page took over,
/// else 1001 (the shim is stopping).
fn goodbye(hub: &Hub, generation: u64) -> CloseFrame {
    match hub.current_generation() {
        Some(g) if g != generation => CloseFrame {
            code: CloseCode::from(CLOSE_REPLACED),
            reason: "replaced by a newer page".into(),
        },
        _ => CloseFrame {
            code: CloseCode::Away,
            reason: "the shim is stopping".into(),
        },
    }
}

/// Completes the handshake on a checked request and serves the page until it leaves.
pub async fn serve_page<S>(stream: S, hub: Arc<Hub>, hello: Arc<str>)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let config = WebSocketConfig::default()
        .max_message_size(Some(MAX_MESSAGE))
        .max_frame_size(Some(MAX_MESSAGE));
    // The error type is tungstenite's, fixed by its `Callback` trait.
    #[allow(clippy::result_large_err)]
    let callback = |_req: &Request, mut resp: Response| -> Result<Response, ErrorResponse> {
        resp.headers_mut().insert(
            "sec-websocket-protocol",
            HeaderValue::from_static(SUBPROTOCOL),
        );
        Ok(resp)
    };
    let mut ws =
        match tokio_tungstenite::accept_hdr_async_with_config(stream, callback, Some(config)).await
        {
            Ok(ws) => ws,
            Err(e) => {
                tracing::info!(error = %e, "WebSocket handshake failed");
                return;
            }
        };
    let mut page = hub.attach_page();
    let generation = page.generation;
    tracing::info!(generation, "page connected");
    let hello_frame = Frame::Hello {
        info: hello.as_bytes(),
    }
    .encode();
    if ws.send(Message::Binary(hello_frame.into())).await.is_err() {
        hub.detach_page(generation);
        return;
    }
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    loop {
        tokio::select! {
            m = ws.next() => match m {
                Some(Ok(Message::Binary(bytes))) => match Frame::decode(&bytes) {
                    Ok(frame) => {
                        if let Some(reply) = hub.route_from_page(generation, frame) {
                            if ws.send(Message::Binary(reply.into())).await.is_err() {
                                break;
                            }
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "bad frame from the page; ignored"),
                },
                Some(Ok(Message::Close(_))) | None => break,
                Some(Ok(_)) => {} // text, ping, pong: nothing to relay
                Some(Err(e)) => {
                    tracing::info!(error = %e, "page WebSocket failed");
                    break;
                }
            },
            f = page.out.recv() => match f {
                Some(frame) => {
                    if ws.send(Message::Binary(frame.into())).await.is_err() {
                        break;
                    }
                }
                // The hub dropped this page's slot: replaced, or the shim is stopping.
                None => {
                    let _ = ws.close(Some(goodbye(&hub, generation))).await;
                    break;
                }
            },
            _ = page.replaced.changed() => {
                let _ = ws.close(Some(goodbye(&hub, generation))).await;
                break;
            }
            _ = ping.tick() => {
                if ws.send(Message::Ping(Default::default())).await.is_err() {
                    break;
                }
            }
        }
    }
    tracing::info!(generation, "page disconnected");
    hub.detach_page(generation);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(path: &str, headers: &[(&str, &str)]) -> RequestHead {
        RequestHead {
            method: "GET".into(),
            target: path.into(),
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn upgrade_needs_path_subprotocol_and_own_origin() {
        let good = [
            ("Host", "127.0.0.1:8143"),
            ("Sec-WebSocket-Protocol", "chat, tidings-shim.v1"),
            ("Origin", "http://127.0.0.1:8143"),
        ];
        assert!(check_upgrade(&head("/shim", &good)).is_ok());
        // No Origin: not a browser (tests, tools).
        assert!(check_upgrade(&head("/shim?x", &good[..2])).is_ok());
        assert!(matches!(
            check_upgrade(&head("/", &good)),
            Err(("404 Not Found", _))
        ));
        let no_proto = [good[0], good[2]];
        assert!(matches!(
            check_upgrade(&head("/shim", &no_proto)),
            Err(("400 Bad Request", _))
        ));
        let old = [
            good[0],
            ("Sec-WebSocket-Protocol", "tidings-shim.v0"),
            good[2],
        ];
        assert!(matches!(
            check_upgrade(&head("/shim", &old)),
            Err(("400 Bad Request", _))
        ));
        let foreign = [good[0], good[1], ("Origin", "https://example.org")];
        assert!(matches!(
            check_upgrade(&head("/shim", &foreign)),
            Err(("403 Forbidden", _))
        ));
    }
}
