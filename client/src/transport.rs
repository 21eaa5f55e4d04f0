//! The one connector from a client to the agent: one HTTP/2 connection
//! over the `interprocess` local socket (a Unix socket, or a named pipe on
//! Windows), which the generated tonic client drives as its transport.
//!
//! It is hyper's HTTP/2 client connection used directly rather than a tonic
//! `Channel`: a `Channel` puts a buffer task (and a reconnect layer) in front
//! of the connection, one more task hop per request, which showed in the
//! profiles of both the CLI and a busy application (docs/performance.md).
//!
//! Every wait is bounded ([`Timeouts`]): connecting, each request (by RPC),
//! and an agent that stops answering mid-request (HTTP/2 pings while a
//! request is open). A connection the agent closed while this client was
//! not looking (an idle blocking client, an agent restart) is redialled
//! once, before the request is sent.

use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::client::conn::http2;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use interprocess::local_socket::tokio::Stream;
use interprocess::local_socket::tokio::prelude::*;
use interprocess::local_socket::{GenericFilePath, ToFsName};

use crate::error::{Error, Result};

/// Default bound on reaching the agent (connect and HTTP/2 handshake).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Default bound on a request that only reads the agent's memory (status,
/// list, describe, check, audit, lock, remove, opening a watch).
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Added to the keyring timeout for requests that may wait on the OS
/// keyring or a passphrase's key derivation (get, add, update, unlock,
/// init, doctor's checks, and any RPC this client does not know).
pub const SLOW_MARGIN: Duration = Duration::from_secs(20);
/// The agent's default keyring timeout (`keyring_timeout`), which the
/// slow requests' bound follows.
pub const DEFAULT_KEYRING_TIMEOUT: Duration = Duration::from_secs(10);
/// Default bound on `test` and `rotate`: the agent connects to a database
/// (each connection bounded by the environment's `connect_timeout`, at
/// most 300 s) up to a few times. An agent that stops answering is still
/// found within seconds, by [`PING_AFTER`] and [`PING_TIMEOUT`].
pub const DEFAULT_DATABASE_TIMEOUT: Duration = Duration::from_secs(600);
/// While a request is open and nothing came from the agent for this long,
/// the client pings it...
pub const PING_AFTER: Duration = Duration::from_secs(1);
/// ...and gives up when the ping is not answered within this: a stopped
/// or hung agent fails the request after at most both, whatever the
/// request's own bound.
pub const PING_TIMEOUT: Duration = Duration::from_secs(3);

/// How long a client waits for the agent.
///
/// ```
/// use std::time::Duration;
/// let t = dbcreds::transport::Timeouts::default();
/// assert_eq!(t.for_rpc("/dbcreds.v1.Agent/Status"), Duration::from_secs(5));
/// assert_eq!(t.for_rpc("/dbcreds.v1.Agent/Get"), Duration::from_secs(30));
/// assert_eq!(t.for_rpc("/dbcreds.v1.Agent/Rotate"), Duration::from_secs(600));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Timeouts {
    /// Reaching the agent: connect and HTTP/2 handshake.
    pub connect: Duration,
    /// A request that only reads the agent's memory.
    pub request: Duration,
    /// A request that may wait on the OS keyring or a key derivation.
    pub slow: Duration,
    /// `test` and `rotate`.
    pub database: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            connect: DEFAULT_CONNECT_TIMEOUT,
            request: DEFAULT_REQUEST_TIMEOUT,
            slow: DEFAULT_KEYRING_TIMEOUT + SLOW_MARGIN,
            database: DEFAULT_DATABASE_TIMEOUT,
        }
    }
}

/// The bound on requests that may wait on the keyring: the keyring's
/// own timeout (the agent's default when unset or "never") and a margin,
/// and never less than a quick request's.
fn slow_bound(request: Duration, keyring: Option<crate::config::Limit>) -> Duration {
    let keyring = keyring
        .and_then(crate::config::Limit::duration)
        .unwrap_or(DEFAULT_KEYRING_TIMEOUT);
    request.max(keyring + SLOW_MARGIN)
}

/// RPCs that only read the agent's memory (or, for `Watch`, open a stream
/// whose first reply comes at once).
const QUICK_RPCS: &[&str] = &[
    "Status", "List", "Describe", "Check", "Audit", "Lock", "Remove", "Watch",
];
/// RPCs that connect to a database.
const DATABASE_RPCS: &[&str] = &["Test", "Rotate"];

impl Timeouts {
    /// The timeouts the configuration asks for: `agent_connect_timeout`,
    /// `agent_timeout` and `keyring_timeout` from the config file and their
    /// `DBCREDS_*` variables ([`crate::config`]), else the defaults. A
    /// config file that cannot be read is skipped (the commands that load
    /// the whole config report it); a malformed variable is an error.
    pub fn load() -> Result<Self> {
        let file = crate::config::Config::from_file(&crate::config::path()).unwrap_or_default();
        let mut t = Self::from_config(&file);
        let var = |name: &'static str| -> Result<Option<Duration>> {
            let Some(v) = std::env::var(name).ok().filter(|v| !v.is_empty()) else {
                return Ok(None);
            };
            crate::config::parse_timeout(&v)
                .map(Some)
                .map_err(|why| Error::EnvVar {
                    var: name.into(),
                    why,
                })
        };
        if let Some(d) = var("DBCREDS_AGENT_CONNECT_TIMEOUT")? {
            t.connect = d;
        }
        if let Some(d) = var("DBCREDS_AGENT_TIMEOUT")? {
            t.request = d;
        }
        // The agent's variable, read as the agent reads it; a bad value is
        // the agent's to report, so here it only leaves the file's value.
        let keyring = std::env::var("DBCREDS_KEYRING_TIMEOUT")
            .ok()
            .and_then(|v| v.parse::<crate::config::Limit>().ok())
            .or(file.keyring_timeout);
        t.slow = slow_bound(t.request, keyring);
        Ok(t)
    }

    /// The timeouts `cfg` sets, the defaults for the rest.
    pub fn from_config(cfg: &crate::config::Config) -> Self {
        let mut t = Self::default();
        if let Some(d) = cfg.agent_connect_timeout {
            t.connect = d.0;
        }
        if let Some(d) = cfg.agent_timeout {
            t.request = d.0;
        }
        t.slow = slow_bound(t.request, cfg.keyring_timeout);
        t
    }

    /// The bound on the RPC at `path` (`/dbcreds.v1.Agent/<Method>`).
    pub fn for_rpc(&self, path: &str) -> Duration {
        let method = path.rsplit('/').next().unwrap_or(path);
        if QUICK_RPCS.contains(&method) {
            self.request
        } else if DATABASE_RPCS.contains(&method) {
            self.database.max(self.request)
        } else {
            self.slow
        }
    }
}

/// Why the transport failed, kept as plain data so that it survives the
/// trip through a `tonic::Status` (whose source it becomes) and turns back
/// into an [`Error`] ([`Error::from_status`]).
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// Nothing listens at the socket (or it could not be dialled).
    #[error("cannot reach the agent at {}: {detail}", socket.display())]
    Unreachable {
        /// Where the agent was looked for.
        socket: PathBuf,
        /// The dial's error kind.
        kind: io::ErrorKind,
        /// The dial's error in words.
        detail: String,
    },
    /// The agent took no notice within `waited`.
    #[error("the agent at {} did not answer within {waited:?}", socket.display())]
    Unresponsive {
        /// Its socket.
        socket: PathBuf,
        /// Its pid, from the socket's peer credentials.
        pid: Option<u32>,
        /// How long we waited.
        waited: Duration,
    },
    /// The connection broke while a request was under way.
    #[error("the connection to the agent at {} broke: {detail}", socket.display())]
    Broken {
        /// Its socket.
        socket: PathBuf,
        /// Its pid, from the socket's peer credentials.
        pid: Option<u32>,
        /// What hyper said.
        detail: String,
    },
    /// The socket belongs to another user's process.
    #[error("{0}")]
    Foreign(String),
}

impl From<TransportError> for Error {
    fn from(e: TransportError) -> Self {
        match e {
            TransportError::Unreachable {
                socket,
                kind,
                detail,
            } => Error::AgentUnreachable {
                socket,
                source: io::Error::new(kind, detail),
            },
            TransportError::Unresponsive {
                socket,
                pid,
                waited,
            } => Error::AgentUnresponsive {
                socket,
                pid,
                waited,
            },
            TransportError::Broken {
                socket,
                pid,
                detail,
            } => Error::AgentConnectionLost {
                socket,
                pid,
                detail,
            },
            TransportError::Foreign(message) => Error::Agent {
                reason: crate::Reason::PermissionDenied,
                message,
            },
        }
    }
}

async fn dial(path: &Path) -> io::Result<Stream> {
    let name = path.to_fs_name::<GenericFilePath>()?;
    Stream::connect(name).await
}

/// The agent's pid, and a refusal of an agent of another user before a
/// byte is sent: that agent would drop us anyway, and an explicit
/// "permission denied" tells the user what is going on (a socket path
/// pointing at someone else's agent).
#[cfg(unix)]
fn check_owner(stream: &Stream, socket: &Path) -> Result<Option<u32>, TransportError> {
    let me = rustix::process::geteuid().as_raw();
    let creds = stream.peer_creds().ok();
    let pid = creds
        .as_ref()
        .and_then(|c| c.pid())
        .and_then(|p| u32::try_from(p).ok())
        .filter(|p| *p > 0);
    match creds.and_then(|c| c.euid()) {
        Some(uid) if uid != me => Err(TransportError::Foreign(format!(
            "the agent at {} belongs to uid {uid}, not to you (uid {me}): unset DBCREDS_SOCK or point it at your own agent",
            socket.display()
        ))),
        _ => Ok(pid),
    }
}

#[cfg(not(unix))]
fn check_owner(_stream: &Stream, _socket: &Path) -> Result<Option<u32>, TransportError> {
    Ok(None)
}

/// A duplicate of the socket's descriptor, only polled: it shows that the
/// agent hung up even when the connection task has not run since (a
/// blocking client's runtime is not driven between calls), so the request
/// goes on a fresh connection instead of into a dead one.
#[cfg(unix)]
type Watcher = Option<rustix::fd::OwnedFd>;
#[cfg(not(unix))]
type Watcher = ();

#[cfg(unix)]
fn watcher(stream: &Stream) -> Watcher {
    use rustix::fd::AsFd;
    #[allow(unreachable_patterns)]
    match stream {
        Stream::UdSocket(s) => rustix::io::fcntl_dupfd_cloexec(s.inner().as_fd(), 0).ok(),
        _ => None,
    }
}

#[cfg(not(unix))]
fn watcher(_stream: &Stream) -> Watcher {}

/// True when the peer has closed its end (the agent exited, or dropped an
/// idle connection).
#[cfg(unix)]
fn hung_up(w: &Watcher) -> bool {
    use rustix::event::{PollFd, PollFlags, Timespec, poll};
    let Some(fd) = w else { return false };
    #[cfg(any(target_os = "linux", target_os = "android"))]
    let gone = PollFlags::RDHUP | PollFlags::HUP | PollFlags::ERR;
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    let gone = PollFlags::HUP | PollFlags::ERR;
    let mut fds = [PollFd::new(fd, gone)];
    let now = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    matches!(poll(&mut fds, Some(&now)), Ok(n) if n > 0 && fds[0].revents().intersects(gone))
}

#[cfg(not(unix))]
fn hung_up(_w: &Watcher) -> bool {
    false
}

/// One dialled connection.
struct Link {
    send: http2::SendRequest<tonic::body::Body>,
    watcher: Watcher,
    pid: Option<u32>,
}

impl Link {
    fn is_dead(&self) -> bool {
        self.send.is_closed() || hung_up(&self.watcher)
    }
}

async fn dial_link(socket: &Path, timeouts: &Timeouts) -> Result<Link, TransportError> {
    let attempt = async {
        let stream = dial(socket)
            .await
            .map_err(|e| TransportError::Unreachable {
                socket: socket.to_owned(),
                kind: e.kind(),
                detail: e.to_string(),
            })?;
        let pid = check_owner(&stream, socket)?;
        let watcher = watcher(&stream);
        let (send, conn) = http2::Builder::new(TokioExecutor::new())
            .timer(TokioTimer::new())
            .keep_alive_interval(PING_AFTER)
            .keep_alive_timeout(PING_TIMEOUT)
            // Pings only while a request is open: an idle client (a
            // blocking one whose runtime nobody drives) could not answer
            // the agent's pings anyway, and is redialled when it returns.
            .keep_alive_while_idle(false)
            .handshake(TokioIo::new(stream))
            .await
            .map_err(|e| TransportError::Unreachable {
                socket: socket.to_owned(),
                kind: io::ErrorKind::ConnectionAborted,
                detail: e.to_string(),
            })?;
        tokio::spawn(async move {
            // An error here (the agent went away) reaches the caller through
            // its request; there is nobody else to tell.
            let _ = conn.await;
        });
        Ok(Link { send, watcher, pid })
    };
    match tokio::time::timeout(timeouts.connect, attempt).await {
        Ok(r) => r,
        Err(_) => Err(TransportError::Unresponsive {
            socket: socket.to_owned(),
            pid: None,
            waited: timeouts.connect,
        }),
    }
}

struct Shared {
    socket: PathBuf,
    timeouts: Timeouts,
    link: Mutex<Link>,
}

impl Shared {
    /// The current connection, or `None` when it is known to be dead.
    fn current(&self) -> Option<(http2::SendRequest<tonic::body::Body>, Option<u32>)> {
        let link = self.link.lock().ok()?;
        (!link.is_dead()).then(|| (link.send.clone(), link.pid))
    }

    async fn redial(
        &self,
    ) -> Result<(http2::SendRequest<tonic::body::Body>, Option<u32>), TransportError> {
        let link = dial_link(&self.socket, &self.timeouts).await?;
        let out = (link.send.clone(), link.pid);
        if let Ok(mut current) = self.link.lock() {
            *current = link;
        }
        Ok(out)
    }

    fn pid(&self) -> Option<u32> {
        self.link.lock().ok().and_then(|l| l.pid)
    }

    fn failure(&self, e: &hyper::Error, pid: Option<u32>) -> TransportError {
        if e.is_timeout() {
            // hyper's keep-alive: the agent did not answer a ping.
            TransportError::Unresponsive {
                socket: self.socket.clone(),
                pid,
                waited: PING_AFTER + PING_TIMEOUT,
            }
        } else {
            TransportError::Broken {
                socket: self.socket.clone(),
                pid,
                detail: error_chain(e),
            }
        }
    }

    /// Sends `req`, redialling once when the connection turns out dead
    /// before the request left (never after: a request the agent may have
    /// seen is not sent twice).
    async fn send(
        &self,
        req: http::Request<tonic::body::Body>,
    ) -> Result<http::Response<AgentBody>, TransportError> {
        let (mut send, pid, redialled) = match self.current() {
            Some((s, p)) => (s, p, false),
            None => {
                let (s, p) = self.redial().await?;
                (s, p, true)
            }
        };
        match send.try_send_request(req).await {
            Ok(r) => Ok(self.wrap(r, pid)),
            // hyper hands back a request that never left: the connection
            // closed under it. Once, on a new one.
            Err(mut e) => match e.take_message() {
                Some(unsent) if !redialled => {
                    let (mut send, pid) = self.redial().await?;
                    self.send_once(&mut send, pid, unsent).await
                }
                _ => Err(self.failure(e.error(), pid)),
            },
        }
    }

    async fn send_once(
        &self,
        send: &mut http2::SendRequest<tonic::body::Body>,
        pid: Option<u32>,
        req: http::Request<tonic::body::Body>,
    ) -> Result<http::Response<AgentBody>, TransportError> {
        match send.send_request(req).await {
            Ok(r) => Ok(self.wrap(r, pid)),
            Err(e) => Err(self.failure(&e, pid)),
        }
    }

    fn wrap(&self, r: http::Response<Incoming>, pid: Option<u32>) -> http::Response<AgentBody> {
        let socket = self.socket.clone();
        r.map(|inner| AgentBody { inner, socket, pid })
    }
}

/// hyper's error and its causes in one line ("connection closed: broken
/// pipe").
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        s.push_str(": ");
        s.push_str(&cause.to_string());
        source = cause.source();
    }
    s
}

/// A reply body whose errors say that the agent connection broke (rather
/// than hyper's raw words), for [`Error::from_status`] to map.
pub struct AgentBody {
    inner: Incoming,
    socket: PathBuf,
    pid: Option<u32>,
}

impl Body for AgentBody {
    type Data = hyper::body::Bytes;
    type Error = TransportError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<std::result::Result<Frame<Self::Data>, Self::Error>>> {
        match Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Ready(Some(Err(e))) => {
                let err = if e.is_timeout() {
                    TransportError::Unresponsive {
                        socket: self.socket.clone(),
                        pid: self.pid,
                        waited: PING_AFTER + PING_TIMEOUT,
                    }
                } else {
                    TransportError::Broken {
                        socket: self.socket.clone(),
                        pid: self.pid,
                        detail: error_chain(&e),
                    }
                };
                Poll::Ready(Some(Err(err)))
            }
            Poll::Ready(Some(Ok(frame))) => Poll::Ready(Some(Ok(frame))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// One HTTP/2 connection to the agent; cheap to clone (clones share the
/// connection, each request is its own stream).
///
/// A task on the current tokio runtime drives the connection and ends when
/// the agent closes it or every clone is dropped. When the agent has closed
/// it by the time the next request is sent (an agent restart, or a client
/// idle past the agent's ping deadline), the request goes on a new
/// connection, dialled once; a request that was sent is never resent.
#[derive(Clone)]
pub struct Connection {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("socket", &self.shared.socket)
            .field("timeouts", &self.shared.timeouts)
            .finish_non_exhaustive()
    }
}

impl Connection {
    /// The agent's process id, from the socket's peer credentials (`None`
    /// where the platform does not tell).
    pub fn agent_pid(&self) -> Option<u32> {
        self.shared.pid()
    }

    /// The bounds this connection applies.
    pub fn timeouts(&self) -> Timeouts {
        self.shared.timeouts
    }
}

type ResponseFuture = Pin<
    Box<dyn Future<Output = std::result::Result<http::Response<AgentBody>, TransportError>> + Send>,
>;

impl tower::Service<http::Request<tonic::body::Body>> for Connection {
    type Response = http::Response<AgentBody>;
    type Error = TransportError;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<std::result::Result<(), Self::Error>> {
        // hyper's own readiness only says "closed", which `call` handles by
        // redialling.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<tonic::body::Body>) -> Self::Future {
        let shared = self.shared.clone();
        Box::pin(async move {
            let limit = shared.timeouts.for_rpc(req.uri().path());
            match tokio::time::timeout(limit, shared.send(req)).await {
                Ok(r) => r,
                Err(_) => Err(TransportError::Unresponsive {
                    socket: shared.socket.clone(),
                    pid: shared.pid(),
                    waited: limit,
                }),
            }
        })
    }
}

/// Opens one connection to the agent at `socket`, with the configured
/// [`Timeouts`].
pub async fn connect(socket: &Path) -> Result<Connection> {
    connect_with(socket, Timeouts::load()?).await
}

/// Opens one connection to the agent at `socket` with `timeouts`.
pub async fn connect_with(socket: &Path, timeouts: Timeouts) -> Result<Connection> {
    let link = dial_link(socket, &timeouts).await?;
    Ok(Connection {
        shared: Arc::new(Shared {
            socket: socket.to_owned(),
            timeouts,
            link: Mutex::new(link),
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rpc_has_a_bound() {
        let t = Timeouts::default();
        assert_eq!(t.for_rpc("/dbcreds.v1.Agent/List"), t.request);
        assert_eq!(t.for_rpc("/dbcreds.v1.Agent/Unlock"), t.slow);
        assert_eq!(t.for_rpc("/dbcreds.v1.Agent/Test"), t.database);
        // An RPC added later gets the generous bound, not none.
        assert_eq!(t.for_rpc("/dbcreds.v1.Agent/Backup"), t.slow);
        assert!(t.slow > DEFAULT_KEYRING_TIMEOUT);
    }

    #[test]
    fn the_slow_bound_follows_the_keyring_timeout() {
        let cfg: crate::config::Config =
            toml::from_str("keyring_timeout = \"40s\"\nagent_timeout = \"1s\"").unwrap();
        let t = Timeouts::from_config(&cfg);
        assert_eq!(t.request, Duration::from_secs(1));
        assert_eq!(t.slow, Duration::from_secs(40) + SLOW_MARGIN);
    }
}
