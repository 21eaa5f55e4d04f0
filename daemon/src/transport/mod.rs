//! The agent's side of the local socket: binding it for one agent alone,
//! checking who is on the other end of every connection, and turning
//! accepted, admitted connections into the stream [`crate::server::serve`]
//! takes. Nothing here knows about gRPC beyond tonic's `Connected`, and
//! which of the two protocols a connection speaks ([`Wire`]).

mod authority;
mod conn;
mod huffman;
mod peer;
mod stream;

use std::io;
use std::path::{Path, PathBuf};

use interprocess::local_socket::tokio::Listener;
use interprocess::local_socket::{GenericFilePath, ListenerOptions, ToFsName};

use crate::lockfile::{self, HeldLock, LockError};

pub use conn::{HANDSHAKE_TIMEOUT, IDLE_TIMEOUT, MAX_CONNECTIONS, incoming};
pub use peer::Peer;
pub use stream::{PeerStream, Wire};

#[derive(Debug, thiserror::Error)]
pub enum BindError {
    #[error("another dbcreds-agent{} already serves {socket}: use it, or stop it with `dbcreds agent stop`", pid.map(|p| format!(" (pid {p})")).unwrap_or_default())]
    Busy { socket: PathBuf, pid: Option<u32> },
    #[error("cannot prepare the socket directory {dir}: {source}")]
    Dir { dir: PathBuf, source: io::Error },
    #[error("cannot listen on {socket}: {source}")]
    Listen { socket: PathBuf, source: io::Error },
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
    remove_stale(socket)?;
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

/// Removes what a dead agent left at `socket`: a socket or a (possibly
/// dangling) link of ours. We hold the socket's lock, so no live agent owns
/// it; anything else there is not ours to delete.
#[cfg(unix)]
fn remove_stale(socket: &Path) -> Result<(), BindError> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let Ok(meta) = std::fs::symlink_metadata(socket) else {
        return Ok(());
    };
    let ours = meta.uid() == rustix::process::geteuid().as_raw();
    let kind = meta.file_type();
    if ours && (kind.is_socket() || kind.is_symlink()) {
        let _ = std::fs::remove_file(socket);
        return Ok(());
    }
    Err(BindError::Listen {
        socket: socket.to_owned(),
        source: io::Error::other(
            "something that is not a dbcreds socket is in the way: remove it, or choose another path",
        ),
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
        Err(LockError::Io { path, source }) => Err(BindError::Dir {
            dir: dir.to_owned(),
            source: io::Error::new(source.kind(), format!("{}: {source}", path.display())),
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
