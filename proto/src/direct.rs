//! The direct protocol: `Get` without HTTP/2, on the agent's own socket.
//!
//! `dbcreds get` is one request on a fresh connection, and a Get over gRPC
//! costs both sides an HTTP/2 handshake, HPACK, three frames each way and a
//! task per stream: about 70 % of the agent's instructions per Get
//! (docs/performance.md). This protocol carries the same `GetRequest` and
//! `GetResponse` messages in gRPC's own length-prefixed framing, and
//! nothing else; every other RPC, and any Get it cannot finish (one that a
//! person must confirm), stays on gRPC, on the same socket.
//!
//! A connection that starts with [`MAGIC`] speaks it; any other first bytes
//! are HTTP/2 (its preface starts with `P`). Then, in both directions,
//! frames of one kind byte, a big-endian `u32` length, and that many bytes:
//!
//! | client sends | payload |
//! |---|---|
//! | [`GET`] | a `GetRequest` |
//!
//! | agent answers | payload |
//! |---|---|
//! | [`OK`] | a `GetResponse` |
//! | [`REFUSED`] | the refusal: see [`Refusal`] |
//! | [`USE_GRPC`] | none: send this request over gRPC (nothing was revealed or recorded) |
//! | [`WORKING`] | none: still at it (every [`WORKING_EVERY`]); the answer follows |
//!
//! A connection may carry any number of requests, one at a time. A frame
//! longer than [`crate::MAX_REQUEST_BYTES`] (client to agent) or
//! [`crate::MAX_MESSAGE_BYTES`] (agent to client), or of an unknown kind
//! from a client, closes the connection.

use std::time::Duration;

/// The first bytes of a direct connection; the last one is the version.
pub const MAGIC: [u8; 8] = *b"DBCREDS\x01";
/// Kind byte and length: the head of every frame.
pub const HEAD: usize = 5;

/// A `Get`.
pub const GET: u8 = b'g';
/// The answer to a `Get`.
pub const OK: u8 = b'o';
/// The agent refused the request.
pub const REFUSED: u8 = b'r';
/// Send this request over gRPC instead.
pub const USE_GRPC: u8 = b'u';
/// The request is still being worked on.
pub const WORKING: u8 = b'w';

/// How often an agent busy with a request (a source's fetch, the keyring)
/// says so, so that a client can tell it from one that stopped.
pub const WORKING_EVERY: Duration = Duration::from_millis(500);

/// The head of a frame of `kind` with `len` bytes of payload.
pub fn head(kind: u8, len: usize) -> Option<[u8; HEAD]> {
    let len = u32::try_from(len).ok()?.to_be_bytes();
    Some([kind, len[0], len[1], len[2], len[3]])
}

/// The kind and payload length a frame head gives.
pub fn parse_head(head: &[u8; HEAD]) -> (u8, usize) {
    let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]);
    (head[0], len as usize)
}

/// A [`REFUSED`] payload: the gRPC status code (one byte), the reason's
/// length (one byte), the reason (`dbcreds-reason` of the gRPC metadata,
/// ASCII; may be empty), and the message (UTF-8) to the end.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// The gRPC status code the same refusal has over gRPC.
    pub code: i32,
    /// The machine-readable reason, as over gRPC.
    pub reason: String,
    /// The words for a person.
    pub message: String,
}

impl Refusal {
    /// The payload of a [`REFUSED`] frame.
    pub fn encode(&self) -> Vec<u8> {
        let reason = &self.reason.as_bytes()[..self.reason.len().min(255)];
        let mut out = Vec::with_capacity(2 + reason.len() + self.message.len());
        out.push(u8::try_from(self.code).unwrap_or(2)); // 2: UNKNOWN
        out.push(reason.len() as u8);
        out.extend_from_slice(reason);
        out.extend_from_slice(self.message.as_bytes());
        out
    }

    /// Reads a [`REFUSED`] payload; `None` when it is not one.
    pub fn decode(payload: &[u8]) -> Option<Self> {
        let (&code, rest) = payload.split_first()?;
        let (&n, rest) = rest.split_first()?;
        let reason = std::str::from_utf8(rest.get(..usize::from(n))?).ok()?;
        let message = String::from_utf8_lossy(rest.get(usize::from(n)..)?);
        Some(Self {
            code: i32::from(code),
            reason: reason.to_owned(),
            message: message.into_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_reads_back_as_written() {
        let r = Refusal {
            code: 9,
            reason: "locked".into(),
            message: "the vault is locked: run `dbcreds unlock`".into(),
        };
        assert_eq!(Refusal::decode(&r.encode()), Some(r));
        assert_eq!(Refusal::decode(&[9]), None);
        assert_eq!(Refusal::decode(&[9, 5, b'a']), None, "reason cut short");
    }

    #[test]
    fn a_head_reads_back_and_the_preface_is_not_magic() {
        let h = head(GET, 300).unwrap();
        assert_eq!(parse_head(&h), (GET, 300));
        assert_ne!(MAGIC[0], b'P', "HTTP/2's preface starts with P");
    }
}
