//! The shim's wire format (`tidings-shim.v1`): one binary WebSocket message per frame, a
//! 5-byte header (type, connection id) and raw IMAP bytes. See `docs/shim-protocol.md`.

use thiserror::Error;

/// The WebSocket subprotocol that names this framing; a new incompatible framing gets `.v2`.
pub const SUBPROTOCOL: &str = "tidings-shim.v1";

/// Bytes before the payload: one type byte, then the connection id as a big-endian `u32`.
pub const HEADER_LEN: usize = 5;

/// Frame type bytes.
pub mod kind {
    /// Shim → page, connection id 0: JSON describing the shim (its IMAP addresses).
    pub const HELLO: u8 = 0x00;
    /// Shim → page: a client connected; payload is JSON (`peer`, `tls`).
    pub const OPEN: u8 = 0x01;
    /// Either way: raw IMAP bytes of one connection, chunked anyhow.
    pub const DATA: u8 = 0x02;
    /// Either way: the connection is gone (or must go); payload is an optional UTF-8 reason.
    pub const CLOSE: u8 = 0x03;
}

/// One decoded frame, borrowing its payload from the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frame<'a> {
    /// Shim information (JSON), always with connection id 0.
    Hello { info: &'a [u8] },
    /// A new client connection (JSON info).
    Open { id: u32, info: &'a [u8] },
    /// IMAP bytes for or from connection `id`.
    Data { id: u32, bytes: &'a [u8] },
    /// Connection `id` is closed; `reason` may be empty.
    Close { id: u32, reason: &'a [u8] },
    /// A type this version does not know: receivers ignore it (room to grow within v1).
    Unknown {
        kind: u8,
        id: u32,
        payload: &'a [u8],
    },
}

/// Why a message is not a frame.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FrameError {
    /// Fewer bytes than the fixed header.
    #[error("frame of {0} bytes is shorter than the {HEADER_LEN}-byte header")]
    Short(usize),
}

impl<'a> Frame<'a> {
    /// Parses one whole WebSocket binary message.
    pub fn decode(msg: &'a [u8]) -> Result<Frame<'a>, FrameError> {
        let Some((head, payload)) = msg.split_first_chunk::<HEADER_LEN>() else {
            return Err(FrameError::Short(msg.len()));
        };
        let id = u32::from_be_bytes([head[1], head[2], head[3], head[4]]);
        Ok(match head[0] {
            kind::HELLO => Frame::Hello { info: payload },
            kind::OPEN => Frame::Open { id, info: payload },
            kind::DATA => Frame::Data { id, bytes: payload },
            kind::CLOSE => Frame::Close {
                id,
                reason: payload,
            },
            other => Frame::Unknown {
                kind: other,
                id,
                payload,
            },
        })
    }

    /// The type byte, id and payload of this frame.
    fn parts(&self) -> (u8, u32, &'a [u8]) {
        match *self {
            Frame::Hello { info } => (kind::HELLO, 0, info),
            Frame::Open { id, info } => (kind::OPEN, id, info),
            Frame::Data { id, bytes } => (kind::DATA, id, bytes),
            Frame::Close { id, reason } => (kind::CLOSE, id, reason),
            Frame::Unknown { kind, id, payload } => (kind, id, payload),
        }
    }

    /// Serializes the frame into a new message buffer.
    pub fn encode(&self) -> Vec<u8> {
        let (kind, id, payload) = self.parts();
        let mut out = Vec::with_capacity(HEADER_LEN + payload.len());
        out.push(kind);
        out.extend_from_slice(&id.to_be_bytes());
        out.extend_from_slice(payload);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_round_trip_keeps_bytes_exactly() {
        let bytes = b"a1 LOGIN demo demo\r\n\x00\xff{5}\r\n";
        let f = Frame::Data {
            id: 0x0102_0304,
            bytes,
        };
        let wire = f.encode();
        assert_eq!(&wire[..HEADER_LEN], &[kind::DATA, 1, 2, 3, 4]);
        assert_eq!(Frame::decode(&wire), Ok(f));
    }

    #[test]
    fn every_kind_round_trips() {
        let frames = [
            Frame::Hello {
                info: br#"{"imap":"127.0.0.1:2143"}"#,
            },
            Frame::Open {
                id: 1,
                info: br#"{"peer":"127.0.0.1:5000","tls":false}"#,
            },
            Frame::Data {
                id: u32::MAX,
                bytes: b"",
            },
            Frame::Close {
                id: 7,
                reason: b"client closed",
            },
            Frame::Close { id: 8, reason: b"" },
            Frame::Unknown {
                kind: 0x7f,
                id: 9,
                payload: b"future",
            },
        ];
        for f in frames {
            assert_eq!(Frame::decode(&f.encode()), Ok(f), "{f:?}");
        }
    }

    #[test]
    fn header_only_is_an_empty_payload() {
        assert_eq!(
            Frame::decode(&[kind::CLOSE, 0, 0, 0, 3]),
            Ok(Frame::Close { id: 3, reason: b"" })
        );
    }

    #[test]
    fn short_messages_are_errors_not_panics() {
        for n in 0..HEADER_LEN {
            let msg = vec![kind::DATA; n];
            assert_eq!(Frame::decode(&msg), Err(FrameError::Short(n)));
        }
    }

    #[test]
    fn hello_encodes_id_zero() {
        let wire = Frame::Hello { info: b"{}" }.encode();
        assert_eq!(wire, [kind::HELLO, 0, 0, 0, 0, b'{', b'}']);
    }

    #[test]
    fn every_byte_pattern_decodes_without_panic() {
        // Small exhaustive-ish sweep: all type bytes, a few ids and payload lengths.
        for kind in 0..=255u8 {
            for len in [HEADER_LEN, HEADER_LEN + 1, 64] {
                let mut msg = vec![0u8; len];
                msg[0] = kind;
                let f = Frame::decode(&msg).expect("header present");
                assert_eq!(f.encode(), msg);
            }
        }
    }
}
