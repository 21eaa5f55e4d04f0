//! The one connector from a client to the agent: one HTTP/2 connection
//! over the `interprocess` local socket (a Unix socket, or a named pipe on
//! Windows), which the generated tonic client drives as its transport.
//!
//! It is hyper's HTTP/2 client connection used directly rather than a tonic
//! `Channel`: a `Channel` puts a buffer task (and a reconnect layer) in front
//! of the connection, one more task hop per request, which showed in the
//! profiles of both the CLI and a busy application (docs/performance.md).

use std::future::Future;
use std::io;
use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll};

use hyper::client::conn::http2;
use hyper_util::rt::{TokioExecutor, TokioIo};
use interprocess::local_socket::tokio::Stream;
use interprocess::local_socket::tokio::prelude::*;
use interprocess::local_socket::{GenericFilePath, ToFsName};

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

/// One HTTP/2 connection to the agent; cheap to clone (clones share the
/// connection, each request is its own stream).
///
/// A task on the current tokio runtime drives the connection and ends when
/// the agent closes it or every clone is dropped. It does not redial: a CLI
/// call makes exactly one connection, and a long-lived application makes a
/// new [`crate::Client`] when this one fails.
#[derive(Clone, Debug)]
pub struct Connection {
    send: http2::SendRequest<tonic::body::Body>,
}

type ResponseFuture = Pin<
    Box<
        dyn Future<
                Output = std::result::Result<http::Response<hyper::body::Incoming>, hyper::Error>,
            > + Send,
    >,
>;

impl tower::Service<http::Request<tonic::body::Body>> for Connection {
    type Response = http::Response<hyper::body::Incoming>;
    type Error = hyper::Error;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<std::result::Result<(), hyper::Error>> {
        self.send.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<tonic::body::Body>) -> Self::Future {
        Box::pin(self.send.send_request(req))
    }
}

/// Opens one connection to the agent at `socket`.
pub async fn connect(socket: &Path) -> Result<Connection> {
    let stream = dial(socket)
        .await
        .map_err(|source| Error::AgentUnreachable {
            socket: socket.to_owned(),
            source,
        })?;
    check_owner(&stream, socket)?;
    let (send, conn) = http2::Builder::new(TokioExecutor::new())
        .handshake(TokioIo::new(stream))
        .await
        .map_err(|e| Error::AgentUnreachable {
            socket: socket.to_owned(),
            source: io::Error::other(e),
        })?;
    tokio::spawn(async move {
        // An error here (the agent went away) reaches the caller through
        // its request; there is nobody else to tell.
        let _ = conn.await;
    });
    Ok(Connection { send })
}
