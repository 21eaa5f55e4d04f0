//! Third-party gRPC clients on a Unix socket send an `:authority` that is
//! no host name: grpc-core (Python grpcio, C++, Ruby, ...) sends the socket
//! path percent-encoded (`tmp%2Fdbcreds%2Fagent.sock`), grpc-java and
//! grpcurl the path itself (`/run/user/1000/dbcreds/agent.sock`). The
//! agent's HTTP/2 server (h2) parses `:authority` as a URI authority and
//! resets such a stream (`RST_STREAM`, `PROTOCOL_ERROR`), and has no setting
//! to accept it. On a Unix socket whose peer's uid is checked the authority
//! means nothing, so [`AuthorityFix`] rewrites an invalid one, in the bytes
//! the client sends, before h2 reads them.
//!
//! It reads the HTTP/2 frames of the client's side of the connection and
//! forwards every byte as it is, except the header block (HEADERS and its
//! CONTINUATION frames) of a request whose `:authority` h2 would refuse:
//! there that one field's value is replaced by one of the same length whose
//! bytes outside `A-Z a-z 0-9 - . _ ~` are `-`, sent as a plain (not
//! Huffman-coded) string, and the block is framed again. The same length
//! keeps the HPACK dynamic table of the client and the server the same
//! size, entry for entry, so every later index means the same field (its
//! value is the rewritten one, on the server's side). Nothing else is
//! decoded or changed; a stream this cannot follow is passed on untouched
//! from there on, and h2 judges it as before.

use super::huffman;
use tonic::codegen::http::uri::Authority;

const PREFACE: usize = 24;
const FRAME_HEADER: usize = 9;
const HEADERS: u8 = 0x1;
const CONTINUATION: u8 = 0x9;
const END_STREAM: u8 = 0x1;
const END_HEADERS: u8 = 0x4;
const PADDED: u8 = 0x8;
const PRIORITY: u8 = 0x20;
/// The smallest SETTINGS_MAX_FRAME_SIZE there is: every peer takes frames
/// of this size.
const MAX_FRAME: usize = 16_384;
/// A header block longer than this is passed on without a look (h2's own
/// header list limit is 16 KiB by default).
const MAX_BLOCK: usize = 1 << 20;

/// Where in the client's byte stream the reader is.
#[derive(Clone, Copy, Debug)]
enum State {
    /// The connection preface, this many bytes of it still to come.
    Preface(usize),
    /// At the start of a frame.
    Frame,
    /// Inside the payload of a frame that is passed on: this many bytes.
    Skip(usize),
    /// Lost (or given up on): everything is passed on as it is.
    Passthrough,
}

/// A header block being collected: the raw frames, and what reframing it
/// needs.
#[derive(Debug)]
struct Block {
    raw: Vec<u8>,
    fragment: Vec<u8>,
    stream: [u8; 4],
    end_stream: bool,
    priority: Option<[u8; 5]>,
}

/// The rewriter of one connection's incoming bytes (see the module).
#[derive(Debug)]
pub struct AuthorityFix {
    state: State,
    /// Bytes read but not yet passed on: a partial frame header, or a
    /// HEADERS/CONTINUATION frame not complete yet.
    held: Vec<u8>,
    block: Option<Block>,
}

impl Default for AuthorityFix {
    fn default() -> Self {
        Self {
            state: State::Preface(PREFACE),
            held: Vec::new(),
            block: None,
        }
    }
}

impl AuthorityFix {
    /// Takes `input` (bytes as read) and appends to `out` what may be
    /// passed on now.
    pub fn push(&mut self, input: &[u8], out: &mut Vec<u8>) {
        self.held.extend_from_slice(input);
        let mut at = 0;
        loop {
            let rest = &self.held[at..];
            match self.state {
                State::Passthrough => {
                    out.extend_from_slice(rest);
                    at = self.held.len();
                    break;
                }
                State::Preface(n) | State::Skip(n) => {
                    let k = n.min(rest.len());
                    out.extend_from_slice(&rest[..k]);
                    at += k;
                    let left = n - k;
                    self.state = match (self.state, left) {
                        (_, 0) => State::Frame,
                        (State::Preface(_), l) => State::Preface(l),
                        (_, l) => State::Skip(l),
                    };
                    if left > 0 {
                        break;
                    }
                }
                State::Frame => {
                    if rest.len() < FRAME_HEADER {
                        break;
                    }
                    let len = usize::from(rest[0]) << 16
                        | usize::from(rest[1]) << 8
                        | usize::from(rest[2]);
                    let kind = rest[3];
                    let in_block = self.block.is_some();
                    if kind != HEADERS && kind != CONTINUATION && !in_block {
                        out.extend_from_slice(&rest[..FRAME_HEADER]);
                        at += FRAME_HEADER;
                        self.state = State::Skip(len);
                        continue;
                    }
                    let held_block = self.block.as_ref().map_or(0, |b| b.raw.len());
                    if len > MAX_BLOCK || held_block + len > MAX_BLOCK {
                        self.give_up(out);
                        continue;
                    }
                    if rest.len() < FRAME_HEADER + len {
                        break;
                    }
                    let frame = rest[..FRAME_HEADER + len].to_vec();
                    at += FRAME_HEADER + len;
                    if !self.frame(&frame, out) {
                        out.extend_from_slice(&frame);
                        self.give_up(out);
                    }
                }
            }
        }
        self.held.drain(..at);
    }

    /// Passes on the block collected so far and stops looking.
    fn give_up(&mut self, out: &mut Vec<u8>) {
        // Nothing else was passed on since the block began.
        if let Some(b) = self.block.take() {
            out.extend(b.raw);
        }
        self.state = State::Passthrough;
    }

    /// One complete HEADERS or CONTINUATION frame; `false` when the stream
    /// is not what HTTP/2 allows here (then the caller passes it on and
    /// gives up).
    fn frame(&mut self, frame: &[u8], out: &mut Vec<u8>) -> bool {
        let (kind, flags) = (frame[3], frame[4]);
        let stream: [u8; 4] = [frame[5], frame[6], frame[7], frame[8]];
        let payload = &frame[FRAME_HEADER..];
        match (kind, self.block.as_mut()) {
            (HEADERS, None) => {
                let mut p = payload;
                let mut pad = 0;
                if flags & PADDED != 0 {
                    let Some((&n, r)) = p.split_first() else {
                        return false;
                    };
                    pad = usize::from(n);
                    p = r;
                }
                let mut priority = None;
                if flags & PRIORITY != 0 {
                    if p.len() < 5 {
                        return false;
                    }
                    priority = Some([p[0], p[1], p[2], p[3], p[4]]);
                    p = &p[5..];
                }
                if pad > p.len() {
                    return false;
                }
                self.block = Some(Block {
                    raw: frame.to_vec(),
                    fragment: p[..p.len() - pad].to_vec(),
                    stream,
                    end_stream: flags & END_STREAM != 0,
                    priority,
                });
            }
            (CONTINUATION, Some(b)) if b.stream == stream => {
                b.raw.extend_from_slice(frame);
                b.fragment.extend_from_slice(payload);
            }
            _ => {
                // A frame inside a header block, or a CONTINUATION outside
                // one: a protocol error for h2 to report.
                if let Some(b) = self.block.take() {
                    out.extend(b.raw);
                }
                return false;
            }
        }
        if flags & END_HEADERS != 0 {
            let b = self.block.take().expect("a block is open");
            match rewrite_block(&b.fragment) {
                Some(block) => reframe(&b, &block, out),
                None => out.extend(b.raw),
            }
        }
        true
    }
}

/// The frames carrying `block` in place of `b`'s: HEADERS (its END_STREAM
/// and priority kept, no padding) and CONTINUATIONs of at most
/// [`MAX_FRAME`] bytes.
fn reframe(b: &Block, block: &[u8], out: &mut Vec<u8>) {
    let first_room = MAX_FRAME - if b.priority.is_some() { 5 } else { 0 };
    let (first, mut rest) = block.split_at(block.len().min(first_room));
    let mut flags = if b.end_stream { END_STREAM } else { 0 };
    if b.priority.is_some() {
        flags |= PRIORITY;
    }
    if rest.is_empty() {
        flags |= END_HEADERS;
    }
    let prio: &[u8] = b.priority.as_ref().map_or(&[], |p| &p[..]);
    frame_header(out, prio.len() + first.len(), HEADERS, flags, b.stream);
    out.extend_from_slice(prio);
    out.extend_from_slice(first);
    while !rest.is_empty() {
        let (chunk, r) = rest.split_at(rest.len().min(MAX_FRAME));
        rest = r;
        let flags = if rest.is_empty() { END_HEADERS } else { 0 };
        frame_header(out, chunk.len(), CONTINUATION, flags, b.stream);
        out.extend_from_slice(chunk);
    }
}

fn frame_header(out: &mut Vec<u8>, len: usize, kind: u8, flags: u8, stream: [u8; 4]) {
    out.extend_from_slice(&[(len >> 16) as u8, (len >> 8) as u8, len as u8, kind, flags]);
    out.extend_from_slice(&stream);
}

/// An HPACK integer with an `n`-bit prefix at `block[*i]` (RFC 7541 5.1).
fn integer(block: &[u8], i: &mut usize, n: u32) -> Option<usize> {
    let max = (1usize << n) - 1;
    let mut v = usize::from(*block.get(*i)?) & max;
    *i += 1;
    if v < max {
        return Some(v);
    }
    let mut shift = 0;
    loop {
        let b = *block.get(*i)?;
        *i += 1;
        v = v.checked_add(usize::from(b & 0x7f).checked_shl(shift)?)?;
        if b & 0x80 == 0 {
            return Some(v);
        }
        shift += 7;
        if shift > 28 {
            return None;
        }
    }
}

/// An HPACK string literal at `block[*i]`, decoded.
fn string(block: &[u8], i: &mut usize) -> Option<Vec<u8>> {
    let huffman = block.get(*i)? & 0x80 != 0;
    let len = integer(block, i, 7)?;
    let raw = block.get(*i..i.checked_add(len)?)?;
    *i += len;
    if huffman {
        huffman::decode(raw)
    } else {
        Some(raw.to_vec())
    }
}

/// A plain (not Huffman-coded) HPACK string literal.
fn push_string(out: &mut Vec<u8>, s: &[u8]) {
    let mut len = s.len();
    if len < 127 {
        out.push(len as u8);
    } else {
        out.push(127);
        len -= 127;
        while len >= 128 {
            out.push((len % 128) as u8 | 0x80);
            len /= 128;
        }
        out.push(len as u8);
    }
    out.extend_from_slice(s);
}

/// Whether h2 takes `v` as `:authority` (it parses it exactly so).
fn valid(v: &[u8]) -> bool {
    Authority::try_from(v).is_ok()
}

/// `v` with every byte outside `A-Z a-z 0-9 - . _ ~` made `-`: a host name
/// of the same length; `None` when even that is no authority (empty).
fn sanitized(v: &[u8]) -> Option<Vec<u8>> {
    let s: Vec<u8> = v
        .iter()
        .map(|&b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                b
            } else {
                b'-'
            }
        })
        .collect();
    valid(&s).then_some(s)
}

/// The header block with an invalid `:authority` rewritten (see the
/// module), or `None` when it needs no change or cannot be read (then it is
/// passed on as it came).
pub fn rewrite_block(block: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(block.len());
    let mut changed = false;
    let mut i = 0;
    while i < block.len() {
        let start = i;
        let b = block[i];
        if b & 0x80 != 0 {
            // Indexed field. Static entry 1 is `:authority` with an empty
            // value, which h2 refuses: send a name instead, without
            // indexing, so no table changes.
            if integer(block, &mut i, 7)? == 1 {
                out.extend_from_slice(&[0x01]);
                push_string(&mut out, b"localhost");
                changed = true;
            } else {
                out.extend_from_slice(&block[start..i]);
            }
            continue;
        }
        if b & 0xe0 == 0x20 {
            // Dynamic table size update.
            integer(block, &mut i, 5)?;
            out.extend_from_slice(&block[start..i]);
            continue;
        }
        // A literal: with incremental indexing (01), without (0000) or
        // never indexed (0001); its name indexed, or a literal (index 0).
        let prefix = if b & 0xc0 == 0x40 { 6 } else { 4 };
        let index = integer(block, &mut i, prefix)?;
        let authority = if index == 0 {
            string(block, &mut i)? == b":authority"
        } else {
            index == 1
        };
        let name_end = i;
        let value = string(block, &mut i)?;
        match authority.then(|| (!valid(&value)).then(|| sanitized(&value))) {
            Some(Some(Some(fixed))) => {
                out.extend_from_slice(&block[start..name_end]);
                push_string(&mut out, &fixed);
                changed = true;
            }
            _ => out.extend_from_slice(&block[start..i]),
        }
    }
    changed.then_some(out)
}

#[cfg(test)]
mod tests;
