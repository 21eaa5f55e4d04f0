//! The one connector from a client to the agent: a tonic channel over the
//! `interprocess` local socket (a Unix socket, or a named pipe on Windows).

use std::io;
use std::path::{Path, PathBuf};

use hyper_util::rt::TokioIo;
use interprocess::local_socket::tokio::Stream;
use interprocess::local_socket::tokio::prelude::*;
use interprocess::local_socket::{GenericFilePath, ToFsName};
use tonic::transport::{Channel, Endpoint};

use crate::error::{Error, Result};

async fn dial(path: &Path) -> io::Result<Stream> {
    let name = path.to_fs_name::<GenericFilePath>()?;
    Stream::connect(name).await
}

/// Refuses an agent of another user before a byte is sent: that agent
/// would drop us anyway, and an explicit "permission denied" tells the user
/// what is going on (a socket path pointing at someone else's agent).
#[cfg(unix)]
fn check_owner(stream: &Stream, socket: &Path) -> Result<()> {
    let me = rustix::process::geteuid().as_raw();
    match stream.peer_creds().ok().and_then(|c| c.euid()) {
        Some(uid) if uid == me => Ok(()),
        Some(uid) => Err(Error::Agent {
            reason: crate::Reason::PermissionDenied,
            message: format!(
                "the agent at {} belongs to uid {uid}, not to you (uid {me}): unset DBCREDS_SOCK or point it at your own agent",
                socket.display()
            ),
        }),
        None => Ok(()),
    }
}

#[cfg(not(unix))]
fn check_owner(_stream: &Stream, _socket: &Path) -> Result<()> {
    Ok(())
}

/// Opens one connection to the agent at `socket`.
///
/// The channel does not redial on its own: a CLI call makes exactly one
/// connection, and a long-lived application makes a new [`crate::Client`]
/// when this one fails.
pub async fn connect(socket: &Path) -> Result<Channel> {
    let stream = dial(socket)
        .await
        .map_err(|source| Error::AgentUnreachable {
            socket: socket.to_owned(),
            source,
        })?;
    check_owner(&stream, socket)?;
    let mut slot = Some(stream);
    let path: PathBuf = socket.to_owned();
    // The URI is never dialled: the connector hands over the socket we hold.
    Endpoint::from_static("http://dbcreds.agent")
        .connect_with_connector(tower::service_fn(move |_| {
            let taken = slot.take();
            let path = path.clone();
            async move {
                let stream = match taken {
                    Some(s) => s,
                    None => dial(&path).await?,
                };
                Ok::<_, io::Error>(TokioIo::new(stream))
            }
        }))
        .await
        .map_err(|e| Error::AgentUnreachable {
            socket: socket.to_owned(),
            source: io::Error::other(e),
        })
}
