//! Accepted connections and the limits that keep a flood of them from
//! starving the agent: at most [`MAX_CONNECTIONS`] open (a new one closes
//! the oldest), a deadline for the HTTP/2 preface, and a deadline for any
//! sign of life. A reaper task enforces the deadlines once a second; a
//! connection it closes sees end-of-file on its next read, so tonic drops
//! it like any client that went away.
//!
//! Healthy HTTP/2 clients never trip the idle deadline: the server pings
//! every connection (`crate::server`), and a live client answers. A direct
//! connection (`dbcreds_proto::direct`) gets no pings: one left idle that
//! long is closed, and its client dials again.

use std::collections::BTreeMap;
use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Waker;
use std::time::Duration;

use interprocess::local_socket::tokio::Listener;
use interprocess::local_socket::tokio::prelude::*;

use super::peer::admit;
use super::stream::PeerStream;

/// Open connections at most; the oldest is closed to make room, so a
/// client that connects now is always served.
pub const MAX_CONNECTIONS: usize = 256;
/// A connection must have sent the HTTP/2 preface (24 bytes) and its
/// SETTINGS frame header within this time of being accepted.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);
/// A connection that has sent nothing for this long is closed (live
/// clients answer the server's pings well within it).
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(120);
/// The preface and one frame header.
const HANDSHAKE_BYTES: u64 = 24 + 9;
const TICK: Duration = Duration::from_secs(1);

/// Accept errors back off from this up to [`MAX_BACKOFF`], doubling, so a
/// persistent one (no file descriptors left) does not spin a core.
const MIN_BACKOFF: Duration = Duration::from_millis(5);
const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// What the reaper knows of one connection; shared with its stream.
#[derive(Default)]
pub(super) struct Liveness {
    accepted_tick: u64,
    last_read_tick: AtomicU64,
    bytes_read: AtomicU64,
    pub(super) closed: AtomicBool,
    /// The reader's waker while it waits, so closing wakes it.
    pub(super) waker: Mutex<Option<Waker>>,
}

impl Liveness {
    fn close(&self) {
        self.closed.store(true, Ordering::Release);
        if let Some(w) = self.waker.lock().ok().and_then(|mut w| w.take()) {
            w.wake();
        }
    }
}

/// The open connections, oldest first, and the reaper's clock.
#[derive(Default)]
pub(crate) struct Registry {
    conns: Mutex<BTreeMap<u64, Arc<Liveness>>>,
    next_id: AtomicU64,
    tick: AtomicU64,
}

impl Registry {
    fn register(self: &Arc<Self>) -> Guard {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let now = self.tick.load(Ordering::Relaxed);
        let live = Arc::new(Liveness {
            accepted_tick: now,
            last_read_tick: AtomicU64::new(now),
            ..Liveness::default()
        });
        if let Ok(mut conns) = self.conns.lock() {
            while conns.len() >= MAX_CONNECTIONS {
                let Some((_, oldest)) = conns.pop_first() else {
                    break;
                };
                oldest.close();
                tracing::debug!("connection limit reached: closed the oldest connection");
            }
            conns.insert(id, live.clone());
        }
        Guard {
            registry: self.clone(),
            id,
            live,
        }
    }

    /// One reaper pass: closes connections past a deadline.
    fn reap(&self) -> usize {
        let now = self.tick.fetch_add(1, Ordering::Relaxed) + 1;
        let handshake = HANDSHAKE_TIMEOUT.as_secs();
        let idle = IDLE_TIMEOUT.as_secs();
        let Ok(mut conns) = self.conns.lock() else {
            return 0;
        };
        let before = conns.len();
        conns.retain(|_, c| {
            let late = now.saturating_sub(c.accepted_tick) >= handshake
                && c.bytes_read.load(Ordering::Relaxed) < HANDSHAKE_BYTES;
            let silent = now.saturating_sub(c.last_read_tick.load(Ordering::Relaxed)) >= idle;
            if late || silent {
                c.close();
            }
            !(late || silent)
        });
        before - conns.len()
    }

    pub(crate) fn open(&self) -> usize {
        self.conns.lock().map(|c| c.len()).unwrap_or(0)
    }
}

/// Removes its connection from the registry when the stream is dropped.
pub(super) struct Guard {
    registry: Arc<Registry>,
    id: u64,
    pub(super) live: Arc<Liveness>,
}

impl Guard {
    /// `n` bytes came from the client.
    pub(super) fn read(&self, n: u64) {
        let live = &self.live;
        live.last_read_tick.store(
            self.registry.tick.load(Ordering::Relaxed),
            Ordering::Relaxed,
        );
        live.bytes_read.fetch_add(n, Ordering::Relaxed);
    }

    /// The client said which protocol it speaks: a direct request is
    /// shorter than HTTP/2's preface, and must not be taken for a client
    /// that never sent one.
    pub(super) fn handshaken(&self) {
        self.live
            .bytes_read
            .fetch_max(HANDSHAKE_BYTES, Ordering::Relaxed);
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Ok(mut conns) = self.registry.conns.lock() {
            conns.remove(&self.id);
        }
    }
}

/// Accepted, admitted connections of `listener`, under the limits above.
/// Refused peers are dropped here, before a single byte of gRPC is read.
/// Accept errors (for example no file descriptors left) back off
/// exponentially and are logged once per streak, not once per retry.
pub fn incoming(listener: Listener) -> impl tokio_stream::Stream<Item = io::Result<PeerStream>> {
    let registry = Arc::new(Registry::default());
    let reaper = tokio::spawn(reap_forever(Arc::downgrade(&registry)));
    let state = (listener, registry, AbortOnDrop(reaper), Backoff::default());
    futures_util::stream::unfold(
        state,
        |(listener, registry, reaper, mut backoff)| async move {
            loop {
                match listener.accept().await {
                    Ok(stream) => {
                        backoff.reset();
                        if let Some(peer) = admit(&stream) {
                            let conn =
                                PeerStream::with_guard(stream, peer, Some(registry.register()));
                            return Some((Ok(conn), (listener, registry, reaper, backoff)));
                        }
                    }
                    Err(e) => backoff.wait(&e).await,
                }
            }
        },
    )
}

/// Stops the reaper with the stream of connections.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn reap_forever(registry: std::sync::Weak<Registry>) {
    let mut every = tokio::time::interval(TICK);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    every.tick().await;
    loop {
        every.tick().await;
        let Some(registry) = registry.upgrade() else {
            return;
        };
        let closed = registry.reap();
        if closed > 0 {
            tracing::debug!(
                closed,
                open = registry.open(),
                "closed connections past their deadline"
            );
        }
    }
}

/// The delay between failing accepts.
#[derive(Default)]
struct Backoff {
    delay: Option<Duration>,
    failures: u64,
}

impl Backoff {
    async fn wait(&mut self, e: &io::Error) {
        self.failures += 1;
        let delay = self.delay.map_or(MIN_BACKOFF, |d| (d * 2).min(MAX_BACKOFF));
        if self.delay.is_none() {
            tracing::warn!(error = %e, "accept failed; retrying with backoff");
        }
        self.delay = Some(delay);
        tokio::time::sleep(delay).await;
    }

    fn reset(&mut self) {
        if self.failures > 0 {
            tracing::info!(failures = self.failures, "accepting again");
        }
        *self = Self::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::Peer;

    #[tokio::test(start_paused = true)]
    async fn accept_errors_back_off_doubling_up_to_the_cap() {
        let mut b = Backoff::default();
        let e = io::Error::other("Too many open files");
        let mut delays = Vec::new();
        for _ in 0..12 {
            let start = tokio::time::Instant::now();
            b.wait(&e).await;
            delays.push(start.elapsed());
        }
        assert_eq!(delays[0], MIN_BACKOFF);
        assert_eq!(delays[1], MIN_BACKOFF * 2);
        assert!(delays.windows(2).all(|w| w[1] >= w[0]));
        assert_eq!(*delays.last().unwrap(), MAX_BACKOFF);
        b.reset();
        let start = tokio::time::Instant::now();
        b.wait(&e).await;
        assert_eq!(start.elapsed(), MIN_BACKOFF);
    }

    fn registry() -> Arc<Registry> {
        Arc::new(Registry::default())
    }

    #[test]
    fn the_oldest_connection_makes_room_for_a_new_one() {
        let r = registry();
        let guards: Vec<_> = (0..MAX_CONNECTIONS).map(|_| r.register()).collect();
        assert_eq!(r.open(), MAX_CONNECTIONS);
        let newest = r.register();
        assert_eq!(r.open(), MAX_CONNECTIONS);
        assert!(
            guards[0].live.closed.load(Ordering::Acquire),
            "the oldest stays open"
        );
        assert!(!guards[1].live.closed.load(Ordering::Acquire));
        assert!(!newest.live.closed.load(Ordering::Acquire));
    }

    #[test]
    fn silent_and_preface_less_connections_are_closed_and_live_ones_kept() {
        let r = registry();
        let mute = r.register();
        let talker = r.register();
        talker
            .live
            .bytes_read
            .store(HANDSHAKE_BYTES, Ordering::Relaxed);
        for _ in 0..HANDSHAKE_TIMEOUT.as_secs() {
            talker
                .live
                .last_read_tick
                .store(r.tick.load(Ordering::Relaxed), Ordering::Relaxed);
            r.reap();
        }
        assert!(
            mute.live.closed.load(Ordering::Acquire),
            "no preface, still open"
        );
        assert!(!talker.live.closed.load(Ordering::Acquire));
        // Handshaken but then silent: closed at the idle deadline, not before.
        for _ in 0..IDLE_TIMEOUT.as_secs() - 1 {
            r.reap();
        }
        assert!(
            talker.live.closed.load(Ordering::Acquire),
            "silent past the idle deadline"
        );
        drop((mute, talker));
        assert_eq!(r.open(), 0);
    }

    #[tokio::test]
    async fn a_closed_connection_reads_end_of_file_and_wakes_a_waiting_reader() {
        let r = registry();
        let (_client, server) = tokio::io::duplex(64);
        let guard = r.register();
        let live = guard.live.clone();
        let mut conn = PeerStream::with_guard(server, Peer::default(), Some(guard));
        let reader = tokio::spawn(async move {
            use tokio::io::AsyncReadExt;
            let mut buf = [0u8; 8];
            conn.read(&mut buf).await
        });
        tokio::task::yield_now().await;
        live.close();
        let n = reader.await.expect("join").expect("read");
        assert_eq!(n, 0);
    }
}
