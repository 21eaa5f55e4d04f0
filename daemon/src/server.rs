//! Running the gRPC service until shutdown. [`serve`] takes any stream of
//! connections that carry their [`Peer`](crate::transport::Peer): the agent
//! passes [`crate::transport::incoming`] of its socket, in-process tests a
//! stream of `tokio::io::duplex` halves.

use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use dbcreds::proto::MAX_MESSAGE_BYTES;
use dbcreds::proto::v1::agent_server::AgentServer;
use futures_util::StreamExt;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tokio_stream::wrappers::ReceiverStream;

use crate::audit::AuditLog;
use crate::service::Service;
use crate::state::Agent;
use crate::transport::{PeerStream, Wire};

/// After shutdown starts, how long requests in flight may take to finish
/// before the connections still open are dropped. Idle clients (a CLI that
/// just sent `agent stop`, an application's pool) must not hold the exit.
const DRAIN: Duration = Duration::from_millis(300);

/// The largest request the agent reads. Every request carries at most one
/// environment (bounded by `dbcreds::edit`), so this is far below the 8 MiB
/// a reply may take (a `List` of thousands of environments).
pub const MAX_REQUEST_BYTES: usize = dbcreds::proto::MAX_REQUEST_BYTES;
/// Streams one connection may have open at once (a CLI uses one; a pool
/// and its `Watch` a few).
pub const MAX_STREAMS_PER_CONNECTION: u32 = 8;
/// What a client may send before the agent reads it: bounds the memory a
/// connection can pin, with [`MAX_REQUEST_BYTES`] per stream.
const STREAM_WINDOW: u32 = 64 * 1024;
const CONNECTION_WINDOW: u32 = 128 * 1024;
/// Every connection is pinged this often; one that does not answer within
/// [`PING_TIMEOUT`] is closed, and the answers keep live clients clear of
/// the idle deadline (`crate::transport::IDLE_TIMEOUT`).
const PING_EVERY: Duration = Duration::from_secs(30);
const PING_TIMEOUT: Duration = Duration::from_secs(20);

/// Serves the agent API on `incoming` until `shutdown` completes, then
/// drains the audit log and locks the vault. Each connection says first
/// which protocol it speaks: gRPC connections go to tonic, direct ones
/// (`dbcreds_proto::direct`) to [`crate::direct::serve`].
pub async fn serve<S, T>(
    incoming: S,
    agent: Arc<Agent>,
    shutdown: impl Future<Output = ()> + Send,
) -> io::Result<()>
where
    S: tokio_stream::Stream<Item = io::Result<PeerStream<T>>> + Send,
    T: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let (audit, audit_task, pruning) = AuditLog::start(agent.clone());
    let service = Arc::new(Service::new(agent.clone(), audit.clone()));
    // Open `Watch` streams would hold up the graceful shutdown: end them.
    let events = service.events();
    let (started, stopping) = tokio::sync::oneshot::channel::<()>();
    let (stop_direct, direct_stopping) = watch::channel(false);
    let shutdown = async move {
        shutdown.await;
        events.close();
        stop_direct.send_replace(true);
        let _ = started.send(());
    };
    let (grpc_tx, grpc_rx) = mpsc::channel(ROUTED);
    let routing = route(incoming, grpc_tx, service.clone(), direct_stopping);
    let svc = AgentServer::from_arc(service)
        .max_decoding_message_size(MAX_REQUEST_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES);
    let server = tonic::transport::Server::builder()
        .max_concurrent_streams(MAX_STREAMS_PER_CONNECTION)
        .initial_stream_window_size(STREAM_WINDOW)
        .initial_connection_window_size(CONNECTION_WINDOW)
        .http2_keepalive_interval(Some(PING_EVERY))
        .http2_keepalive_timeout(Some(PING_TIMEOUT))
        .add_service(svc)
        .serve_with_incoming_shutdown(ReceiverStream::new(grpc_rx), shutdown);
    let drained = async {
        if stopping.await.is_ok() {
            tokio::time::sleep(DRAIN).await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    // Routing ends only with the server: dropping it here closes the
    // direct connections left, and with them their hold on the audit log.
    let (result, all_closed) = tokio::select! {
        r = server => (r, true),
        () = routing => unreachable!("routing never ends first"),
        () = drained => {
            tracing::info!("connections still open after the drain are dropped");
            (Ok(()), false)
        }
    };
    pruning.abort();
    // Leases are revoked (and audited) now; then the sources let go of
    // the audit log, whose writer ends only when every sender is gone.
    agent.sources.clear().await;
    agent.sources.detach();
    // Everything recorded so far reaches the vault before it closes.
    audit.flush().await;
    drop(audit);
    if all_closed {
        // The service (and every AuditLog sender) went with the server, so
        // the writer ends once its queue is empty.
        let _ = audit_task.await;
    }
    agent.shutdown().await;
    result.map_err(io::Error::other)
}

/// Connections told apart and waiting for tonic at most.
const ROUTED: usize = 64;

/// Tells every connection of `incoming` apart ([`PeerStream::sniff`], in a
/// task of its own, so a slow client holds up nobody): gRPC ones go to
/// `grpc`, direct ones are served in the task. When `incoming` ends,
/// `grpc` is closed (tonic then ends) once the connections in hand are
/// routed. Never returns; dropping it ends every direct connection.
async fn route<S, T>(
    incoming: S,
    grpc: mpsc::Sender<io::Result<PeerStream<T>>>,
    service: Arc<Service>,
    stopping: watch::Receiver<bool>,
) where
    S: tokio_stream::Stream<Item = io::Result<PeerStream<T>>> + Send,
    T: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let mut incoming = std::pin::pin!(incoming);
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            next = incoming.next() => match next {
                Some(Ok(conn)) => {
                    conns.spawn(one(conn, grpc.clone(), service.clone(), stopping.clone()));
                }
                Some(Err(e)) => {
                    let _ = grpc.send(Err(e)).await;
                }
                None => break,
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    drop(grpc);
    while conns.join_next().await.is_some() {}
    std::future::pending::<()>().await;
}

async fn one<T>(
    mut conn: PeerStream<T>,
    grpc: mpsc::Sender<io::Result<PeerStream<T>>>,
    service: Arc<Service>,
    stopping: watch::Receiver<bool>,
) where
    T: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    match conn.sniff().await {
        Ok(Wire::Grpc) => {
            drop(service);
            let _ = grpc.send(Ok(conn)).await;
        }
        Ok(Wire::Direct) => {
            drop(grpc);
            crate::direct::serve(conn, service, stopping).await;
        }
        Ok(Wire::Closed) | Err(_) => {}
    }
}
