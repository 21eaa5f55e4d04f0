//! The agent's side of the local socket: binding it for one agent alone,
//! checking who is on the other end of every connection, and turning
//! accepted, admitted connections into the stream [`crate::server::serve`]
//! takes. Nothing here knows about gRPC beyond tonic's `Connected`.

use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use interprocess::local_socket::tokio::prelude::*;
use interprocess::local_socket::tokio::{Listener, Stream};
use interprocess::local_socket::{GenericFilePath, ListenerOptions, ToFsName};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tonic::transport::server::Connected;

use crate::lockfile::{self, HeldLock, LockError};

/// Accept errors back off from this up to [`MAX_BACKOFF`], doubling, so a
/// persistent one (no file descriptors left) does not spin a core.
const MIN_BACKOFF: Duration = Duration::from_millis(5);
const MAX_BACKOFF: Duration = Duration::from_secs(1);

#[derive(Debug, thiserror::Error)]
pub enum BindError {
    #[error("another dbcreds-agent{} already serves {socket}: use it, or stop it with `dbcreds agent stop`", pid.map(|p| format!(" (pid {p})")).unwrap_or_default())]
    Busy { socket: PathBuf, pid: Option<u32> },
    #[error("cannot prepare the socket directory {dir}: {source}")]
    Dir { dir: PathBuf, source: io::Error },
    #[error("cannot listen on {socket}: {source}")]
    Listen { socket: PathBuf, source: io::Error },
}

/// Who is on the other end of a connection, from the kernel
/// (SO_PEERCRED / getpeereid / the pipe client's process id).
#[derive(Clone, Debug, Default)]
pub struct Peer {
    pub pid: Option<u32>,
    pub uid: Option<u32>,
    pub exe: Option<String>,
}

/// A bound socket plus the guard that makes it ours.
pub struct Bound {
    pub listener: Listener,
    pub guard: SocketGuard,
}

/// Keep alive as long as the agent serves: it holds the socket's lock and
/// removes the socket file when dropped.
pub struct SocketGuard {
    socket: PathBuf,
    _lock: Option<HeldLock>,
}

impl SocketGuard {
    pub fn socket(&self) -> &Path {
        &self.socket
    }
}

impl Drop for SocketGuard {
    fn drop(&mut self) {
        #[cfg(unix)]
        let _ = std::fs::remove_file(&self.socket);
    }
}

/// Binds `socket` for this agent alone. A live agent's socket is never
/// taken over; a stale one (its agent died) is removed first.
pub fn bind(socket: &Path) -> Result<Bound, BindError> {
    let lock = lock_socket(socket)?;
    #[cfg(unix)]
    if socket.exists() {
        // We hold the lock, so whatever agent made this file is gone.
        let _ = std::fs::remove_file(socket);
    }
    let listener = listen(socket).map_err(|source| BindError::Listen {
        socket: socket.to_owned(),
        source,
    })?;
    Ok(Bound {
        listener,
        guard: SocketGuard {
            socket: socket.to_owned(),
            _lock: lock,
        },
    })
}

#[cfg(unix)]
fn lock_socket(socket: &Path) -> Result<Option<HeldLock>, BindError> {
    let dir = socket.parent().unwrap_or(Path::new("."));
    crate::fsutil::create_private_dir(dir).map_err(|source| BindError::Dir {
        dir: dir.to_owned(),
        source,
    })?;
    match lockfile::acquire(
        &socket.with_extension("lock"),
        &std::process::id().to_string(),
    ) {
        Ok(lock) => Ok(Some(lock)),
        Err(LockError::Held { holder }) => Err(BindError::Busy {
            socket: socket.to_owned(),
            pid: holder.parse().ok(),
        }),
        Err(LockError::Io { source, .. }) => Err(BindError::Dir {
            dir: dir.to_owned(),
            source,
        }),
    }
}

#[cfg(not(unix))]
fn lock_socket(_socket: &Path) -> Result<Option<HeldLock>, BindError> {
    // A named pipe cannot be created twice with FILE_FLAG_FIRST_PIPE_INSTANCE;
    // interprocess reports that as AddrInUse.
    Ok(None)
}

fn listen(socket: &Path) -> io::Result<Listener> {
    let name = socket.to_fs_name::<GenericFilePath>()?;
    let opts = ListenerOptions::new().name(name);
    #[cfg(unix)]
    let opts = {
        use interprocess::os::unix::local_socket::ListenerOptionsExt;
        opts.mode(0o600)
    };
    // Windows: a protected DACL with one entry, full access for the pipe's
    // owner (OWNER RIGHTS); no Everyone, no Anonymous. interprocess already
    // creates the pipe with PIPE_REJECT_REMOTE_CLIENTS.
    #[cfg(windows)]
    let opts = {
        use interprocess::os::windows::local_socket::ListenerOptionsExt;
        use interprocess::os::windows::security_descriptor::SecurityDescriptor;
        let sddl = widestring::U16CString::from_str("D:P(A;;GA;;;OW)").map_err(io::Error::other)?;
        opts.security_descriptor(SecurityDescriptor::deserialize(&sddl)?)
    };
    opts.create_tokio()
}

/// A connection carrying its peer for tonic's connect info. Generic over
/// the byte stream, so in-process tests can serve over `tokio::io::duplex`.
pub struct PeerStream<S = Stream> {
    inner: S,
    peer: Peer,
}

impl<S> PeerStream<S> {
    /// A connection from `peer` (tests: any peer they like).
    pub fn new(inner: S, peer: Peer) -> Self {
        Self { inner, peer }
    }
}

impl<S> Connected for PeerStream<S> {
    type ConnectInfo = Peer;
    fn connect_info(&self) -> Peer {
        self.peer.clone()
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for PeerStream<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for PeerStream<S> {
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

/// Accepted, admitted connections of `listener`. Refused peers are dropped
/// here, before a single byte of gRPC is read. Accept errors (for example
/// no file descriptors left) back off exponentially and are logged once
/// per streak, not once per retry.
pub fn incoming(listener: Listener) -> impl tokio_stream::Stream<Item = io::Result<PeerStream>> {
    futures_util::stream::unfold(listener, |listener| async move {
        let mut backoff = Backoff::default();
        loop {
            match listener.accept().await {
                Ok(stream) => {
                    backoff.reset();
                    if let Some(peer) = admit(&stream) {
                        return Some((Ok(PeerStream::new(stream, peer)), listener));
                    }
                }
                Err(e) => backoff.wait(&e).await,
            }
        }
    })
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

/// The peer of `stream` if it may talk to us: same user as the agent.
/// An unknown peer is refused too.
fn admit(stream: &Stream) -> Option<Peer> {
    let creds = match stream.peer_creds() {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(error = %e, "refused a connection whose peer is unknown");
            return None;
        }
    };
    let pid = creds.pid().and_then(|p| u32::try_from(p).ok());
    #[cfg(unix)]
    {
        let me = rustix::process::geteuid().as_raw();
        match creds.euid() {
            Some(uid) if uid == me => {}
            other => {
                tracing::warn!(peer_uid = ?other, peer_pid = ?pid, "refused a connection from another user");
                return None;
            }
        }
    }
    Some(Peer {
        pid,
        uid: creds_uid(&creds),
        exe: pid.and_then(exe_of),
    })
}

#[cfg(unix)]
fn creds_uid(c: &interprocess::local_socket::PeerCreds) -> Option<u32> {
    c.euid()
}

#[cfg(not(unix))]
fn creds_uid(_c: &interprocess::local_socket::PeerCreds) -> Option<u32> {
    None
}

#[cfg(target_os = "linux")]
fn exe_of(pid: u32) -> Option<String> {
    std::fs::read_link(format!("/proc/{pid}/exe"))
        .ok()
        .map(|p| p.display().to_string())
}

#[cfg(not(target_os = "linux"))]
fn exe_of(_pid: u32) -> Option<String> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
