//! The listening side: binding the socket (one agent per socket), checking
//! every peer's uid, and running the gRPC service until shutdown. `serve`
//! is the one entry point, used by `main` and by tests alike.

use std::fs::File;
use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use dbcreds::proto::MAX_MESSAGE_BYTES;
use dbcreds::proto::v1::agent_server::AgentServer;
use interprocess::local_socket::tokio::prelude::*;
use interprocess::local_socket::tokio::{Listener, Stream};
use interprocess::local_socket::{GenericFilePath, ListenerOptions, ToFsName};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tonic::transport::server::Connected;

use crate::audit::AuditLog;
use crate::service::Service;
use crate::state::Agent;

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

/// Keep alive as long as the agent serves: it holds the socket's lock (the
/// kernel drops it if we die, so a crashed agent never blocks the next
/// one) and removes the socket file when dropped.
pub struct SocketGuard {
    socket: PathBuf,
    _lock: Option<File>,
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
fn lock_socket(socket: &Path) -> Result<Option<File>, BindError> {
    use rustix::fs::{FlockOperation, flock};
    use std::io::{Read, Seek, Write};
    use std::os::unix::fs::OpenOptionsExt;

    let dir = socket.parent().unwrap_or(Path::new("."));
    crate::fsutil::create_private_dir(dir).map_err(|source| BindError::Dir {
        dir: dir.to_owned(),
        source,
    })?;
    let lock_path = socket.with_extension("lock");
    let dir_err = |source| BindError::Dir {
        dir: dir.to_owned(),
        source,
    };
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&lock_path)
        .map_err(dir_err)?;
    if flock(&file, FlockOperation::NonBlockingLockExclusive).is_err() {
        let mut text = String::new();
        let _ = file.read_to_string(&mut text);
        return Err(BindError::Busy {
            socket: socket.to_owned(),
            pid: text.trim().parse().ok(),
        });
    }
    file.set_len(0).map_err(dir_err)?;
    file.rewind().map_err(dir_err)?;
    write!(file, "{}", std::process::id()).map_err(dir_err)?;
    Ok(Some(file))
}

#[cfg(not(unix))]
fn lock_socket(_socket: &Path) -> Result<Option<File>, BindError> {
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

/// The accepted stream, carrying its peer for tonic's connect info.
pub struct PeerStream {
    inner: Stream,
    peer: Peer,
}

impl Connected for PeerStream {
    type ConnectInfo = Peer;
    fn connect_info(&self) -> Peer {
        self.peer.clone()
    }
}

impl AsyncRead for PeerStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for PeerStream {
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

/// Serves the agent API on `listener` until `shutdown` completes, then
/// drains the audit log and locks the vault.
pub async fn serve(
    listener: Listener,
    agent: Arc<Agent>,
    shutdown: impl Future<Output = ()> + Send,
) -> io::Result<()> {
    let (audit, audit_task) = AuditLog::start(agent.clone());
    let incoming = async_stream_of(listener);
    let service = Service::new(agent.clone(), audit);
    // Open `Watch` streams would hold up the graceful shutdown: end them.
    let events = service.events();
    let shutdown = async move {
        shutdown.await;
        events.close();
    };
    let svc = AgentServer::new(service)
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES);
    let result = tonic::transport::Server::builder()
        .add_service(svc)
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await;
    // The service (and its AuditLog sender) is dropped with the server, so
    // the writer sees the channel close once the queue is empty.
    let _ = audit_task.await;
    agent.shutdown().await;
    result.map_err(io::Error::other)
}

/// Accepted, admitted connections as the stream tonic wants. Refused peers
/// are dropped here, before a single byte of gRPC is read.
fn async_stream_of(listener: Listener) -> impl tokio_stream::Stream<Item = io::Result<PeerStream>> {
    futures_util::stream::unfold(listener, |listener| async move {
        loop {
            match listener.accept().await {
                Ok(stream) => {
                    if let Some(peer) = admit(&stream) {
                        return Some((
                            Ok(PeerStream {
                                inner: stream,
                                peer,
                            }),
                            listener,
                        ));
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                }
            }
        }
    })
}
