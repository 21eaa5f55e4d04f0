//! One accepted connection: its peer, the reaper's accounts of it, and
//! which of the two protocols it speaks ([`PeerStream::sniff`]). An HTTP/2
//! connection's bytes go through [`AuthorityFix`] on their way to tonic; a
//! direct one's (`dbcreds_proto::direct`) go to the agent as they came.

use std::io;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};

use dbcreds::proto::direct::MAGIC;
use interprocess::local_socket::tokio::Stream;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tonic::transport::server::Connected;

use super::authority::AuthorityFix;
use super::conn::Guard;
use super::peer::Peer;

/// What a connection speaks, from its first bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wire {
    /// gRPC: HTTP/2 (or garbage, which h2 refuses).
    Grpc,
    /// `dbcreds_proto::direct`; the magic is consumed.
    Direct,
    /// The client hung up (or the reaper closed it) before saying which.
    Closed,
}

/// A connection carrying its peer for tonic's connect info. Generic over
/// the byte stream, so in-process tests can serve over `tokio::io::duplex`.
pub struct PeerStream<S = Stream> {
    inner: S,
    peer: Peer,
    guard: Option<Guard>,
    /// Rewrites the `:authority` h2 would refuse (`super::authority`);
    /// `None` on a direct connection.
    fix: Option<AuthorityFix>,
    /// What the rewriter passed on (or the sniffer read) and the reader
    /// has not taken yet, from `ready_at`.
    ready: Vec<u8>,
    ready_at: usize,
    scratch: Vec<u8>,
}

impl<S> PeerStream<S> {
    /// A connection from `peer` (tests: any peer they like), outside the
    /// connection limits.
    pub fn new(inner: S, peer: Peer) -> Self {
        Self::with_guard(inner, peer, None)
    }

    pub(super) fn with_guard(inner: S, peer: Peer, guard: Option<Guard>) -> Self {
        Self {
            inner,
            peer,
            guard,
            fix: Some(AuthorityFix::default()),
            ready: Vec::new(),
            ready_at: 0,
            scratch: Vec::new(),
        }
    }

    /// Who is on the other end.
    pub fn peer(&self) -> &Peer {
        &self.peer
    }
}

/// How much is read from the socket at a time.
const READ_CHUNK: usize = 16 * 1024;

impl<S> Connected for PeerStream<S> {
    type ConnectInfo = Peer;
    fn connect_info(&self) -> Peer {
        self.peer.clone()
    }
}

impl<S: AsyncRead + Unpin> PeerStream<S> {
    /// Reads the first bytes and says which protocol follows. Bytes read
    /// past the magic, or an HTTP/2 client's first bytes, are kept for the
    /// reader. Bounded by the reaper's handshake deadline: a client that
    /// sends nothing is closed, and this sees end of file.
    pub async fn sniff(&mut self) -> io::Result<Wire> {
        let mut first = Vec::with_capacity(READ_CHUNK);
        loop {
            let mut chunk = [0u8; 512];
            let n = std::future::poll_fn(|cx| {
                let mut buf = ReadBuf::new(&mut chunk);
                self.poll_raw(cx, &mut buf).map_ok(|()| buf.filled().len())
            })
            .await?;
            if n == 0 {
                return Ok(Wire::Closed);
            }
            first.extend_from_slice(&chunk[..n]);
            let seen = first.len().min(MAGIC.len());
            if first[..seen] != MAGIC[..seen] {
                self.pass_on(&first);
                return Ok(Wire::Grpc);
            }
            if seen == MAGIC.len() {
                self.fix = None;
                if let Some(g) = &self.guard {
                    g.handshaken();
                }
                self.ready.extend_from_slice(&first[MAGIC.len()..]);
                return Ok(Wire::Direct);
            }
        }
    }

    /// Hands the first bytes of an HTTP/2 connection to the rewriter.
    fn pass_on(&mut self, bytes: &[u8]) {
        match &mut self.fix {
            Some(fix) => fix.push(bytes, &mut self.ready),
            None => self.ready.extend_from_slice(bytes),
        }
    }

    /// Reads from the socket, keeping the reaper's accounts.
    fn poll_raw(&mut self, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self;
        let Some(guard) = &this.guard else {
            return Pin::new(&mut this.inner).poll_read(cx, buf);
        };
        let live = &guard.live;
        if live.closed.load(Ordering::Acquire) {
            return Poll::Ready(Ok(())); // end of file: tonic drops the connection
        }
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                let n = (buf.filled().len() - before) as u64;
                if n > 0 {
                    guard.read(n);
                }
                Poll::Ready(Ok(()))
            }
            Poll::Pending => {
                if let Ok(mut w) = live.waker.lock()
                    && !w.as_ref().is_some_and(|old| old.will_wake(cx.waker()))
                {
                    // Only when it changed: a connection's reads are polled
                    // by the same task, so this is once per connection.
                    *w = Some(cx.waker().clone());
                }
                // Closed between the first check and storing the waker:
                // nobody would wake us.
                if live.closed.load(Ordering::Acquire) {
                    return Poll::Ready(Ok(()));
                }
                Poll::Pending
            }
            other => other,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for PeerStream<S> {
    /// The client's bytes: what [`PeerStream::sniff`] kept first, then the
    /// socket's, through [`AuthorityFix`] on an HTTP/2 connection.
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        loop {
            if this.ready_at < this.ready.len() {
                let n = (this.ready.len() - this.ready_at).min(buf.remaining());
                buf.put_slice(&this.ready[this.ready_at..this.ready_at + n]);
                this.ready_at += n;
                if this.ready_at == this.ready.len() {
                    this.ready.clear();
                    this.ready_at = 0;
                }
                return Poll::Ready(Ok(()));
            }
            if this.fix.is_none() {
                return this.poll_raw(cx, buf);
            }
            let mut scratch = std::mem::take(&mut this.scratch);
            scratch.resize(READ_CHUNK, 0);
            let mut raw = ReadBuf::new(&mut scratch);
            let polled = this.poll_raw(cx, &mut raw);
            let n = raw.filled().len();
            if let Poll::Ready(Ok(())) = polled
                && n > 0
            {
                this.pass_on(&scratch[..n]);
                this.scratch = scratch;
                // Bytes held back (a header block not complete yet) leave
                // nothing to hand over: read on.
                continue;
            }
            this.scratch = scratch;
            // End of file, an error, or nothing yet.
            return polled;
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for PeerStream<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self
            .guard
            .as_ref()
            .is_some_and(|g| g.live.closed.load(Ordering::Acquire))
        {
            return Poll::Ready(Err(io::ErrorKind::ConnectionAborted.into()));
        }
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
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn sniffed(first: &[&[u8]]) -> (Wire, Vec<u8>) {
        let (mut client, server) = tokio::io::duplex(4096);
        for part in first {
            client.write_all(part).await.expect("write");
        }
        drop(client);
        let mut conn = PeerStream::new(server, Peer::default());
        let wire = conn.sniff().await.expect("sniff");
        let mut rest = Vec::new();
        conn.read_to_end(&mut rest).await.expect("read");
        (wire, rest)
    }

    #[tokio::test]
    async fn the_magic_makes_a_direct_connection_and_is_consumed() {
        let (wire, rest) = sniffed(&[b"DBC", b"REDS\x01", b"g\0\0\0\0"]).await;
        assert_eq!(wire, Wire::Direct);
        assert_eq!(rest, b"g\0\0\0\0");
    }

    #[tokio::test]
    async fn anything_else_reaches_the_http2_reader_whole() {
        let preface = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
        let (wire, rest) = sniffed(&[preface]).await;
        assert_eq!(wire, Wire::Grpc);
        assert_eq!(rest, preface);
        // Close to the magic is not the magic.
        let (wire, rest) = sniffed(&[b"DBCREDS\x02rest"]).await;
        assert_eq!(wire, Wire::Grpc);
        assert_eq!(rest, b"DBCREDS\x02rest");
        let (wire, _) = sniffed(&[b"DBC"]).await;
        assert_eq!(wire, Wire::Closed, "hung up inside the magic");
    }
}
