//! `Get` over the direct protocol ([`dbcreds_proto::direct`]): one request
//! on a plain Unix socket, blocking, with no runtime and no HTTP/2. This is
//! how `dbcreds get` reaches the agent; a program that reads many
//! passwords can keep a [`DirectConn`] open.
//!
//! Anything this path cannot finish, it leaves to gRPC, which says what
//! went wrong in words and knows what to do about it: no agent yet (gRPC
//! starts one), a socket of another user, an agent that speaks no direct
//! protocol (an older one, replaced over gRPC), a Get a person must
//! confirm. The agent's own refusals (not found, locked, not allowed) are
//! final here, exactly as over gRPC, so nothing is asked or recorded twice.
//!
//! Linux only: elsewhere there is no checked peer credential to go on, and
//! every `get` uses gRPC.

use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use dbcreds_proto::direct::{self, GET, HEAD, MAGIC, OK, REFUSED, Refusal, USE_GRPC, WORKING};
use dbcreds_proto::{MAX_MESSAGE_BYTES, v1};
use prost::Message;
use secrecy::SecretString;
use zeroize::Zeroizing;

use crate::error::{Error, REASON_KEY, Result};
use crate::transport::{PING_AFTER, PING_TIMEOUT, Timeouts};
use crate::{Credential, EnvName, Purpose};

/// An agent that sent nothing for this long (not even a
/// [`WORKING`] frame) is taken for stopped: what gRPC's pings allow.
const SILENCE: Duration = Duration::from_secs(PING_AFTER.as_secs() + PING_TIMEOUT.as_secs());

/// One direct connection to the agent.
#[derive(Debug)]
pub struct DirectConn {
    stream: UnixStream,
    socket: PathBuf,
    pid: Option<u32>,
    timeouts: Timeouts,
    /// The magic is still to be sent (with the first request: one write).
    fresh: bool,
    /// Set when the connection can no longer be trusted to be in step.
    broken: bool,
}

impl DirectConn {
    /// Dials the agent at `socket`; `None` when nothing of ours listens
    /// there (gRPC then says why, or starts an agent).
    pub fn connect(socket: &Path, timeouts: Timeouts) -> Option<Self> {
        let stream = UnixStream::connect(socket).ok()?;
        let creds = rustix::net::sockopt::socket_peercred(&stream).ok()?;
        if creds.uid != rustix::process::geteuid() {
            return None;
        }
        stream.set_write_timeout(Some(timeouts.connect)).ok()?;
        stream.set_read_timeout(Some(SILENCE)).ok()?;
        Some(Self {
            stream,
            socket: socket.to_owned(),
            pid: u32::try_from(creds.pid.as_raw_nonzero().get()).ok(),
            timeouts,
            fresh: true,
            broken: false,
        })
    }

    /// The password of `name` and its environment, for `purpose`.
    /// `Ok(None)`: send this request over gRPC (the agent asked for it, or
    /// does not speak this protocol; this connection is then done).
    pub fn get(&mut self, name: &EnvName, purpose: Purpose) -> Result<Option<Credential>> {
        if self.broken {
            return Ok(None);
        }
        let request = v1::GetRequest {
            name: name.to_string(),
            purpose: purpose.as_str().to_owned(),
            ..Default::default()
        };
        let body = request.encode_to_vec();
        let Some(head) = direct::head(GET, body.len()) else {
            return Ok(None);
        };
        let mut frame = Vec::with_capacity(MAGIC.len() + HEAD + body.len());
        if std::mem::take(&mut self.fresh) {
            frame.extend_from_slice(&MAGIC);
        }
        frame.extend_from_slice(&head);
        frame.extend_from_slice(&body);
        if self.stream.write_all(&frame).is_err() {
            return Ok(self.lost());
        }
        let (kind, payload) = match self.answer()? {
            Some(a) => a,
            None => return Ok(self.lost()),
        };
        match kind {
            OK => self.credential(&payload).map(Some),
            REFUSED => match Refusal::decode(&payload) {
                Some(r) => Err(refused(r)),
                None => Ok(self.lost()),
            },
            _ => Ok(None), // USE_GRPC
        }
    }

    /// The agent's answer, past its [`WORKING`] frames; `None` when what
    /// came is not this protocol, or the connection ended. Read in as few
    /// reads as the kernel allows (one, for a Get's answer).
    fn answer(&mut self) -> Result<Option<(u8, Zeroizing<Vec<u8>>)>> {
        let bound = self.timeouts.for_rpc("/dbcreds.v1.Agent/Get");
        let started = Instant::now();
        let mut buf = Zeroizing::new(vec![0u8; 4096]);
        let mut filled = 0;
        loop {
            if filled >= HEAD {
                let mut head = [0u8; HEAD];
                head.copy_from_slice(&buf[..HEAD]);
                let (kind, len) = direct::parse_head(&head);
                if !matches!(kind, OK | REFUSED | USE_GRPC | WORKING) || len > MAX_MESSAGE_BYTES {
                    return Ok(None);
                }
                let end = HEAD + len;
                if filled >= end && kind == WORKING {
                    buf.copy_within(end..filled, 0);
                    filled -= end;
                    if started.elapsed() > bound {
                        return Err(self.unresponsive(bound));
                    }
                    continue;
                }
                if filled >= end {
                    buf.truncate(end);
                    buf.drain(..HEAD);
                    return Ok(Some((kind, buf)));
                }
                if buf.len() < end {
                    // A new buffer, so the old one is wiped as it goes.
                    let mut bigger = Zeroizing::new(vec![0u8; end]);
                    bigger[..filled].copy_from_slice(&buf[..filled]);
                    buf = bigger;
                }
            }
            match self.stream.read(&mut buf[filled..]) {
                Ok(0) => return Ok(None),
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if silent(&e) => return Err(self.unresponsive(SILENCE)),
                Err(_) => return Ok(None),
            }
        }
    }

    fn credential(&mut self, payload: &[u8]) -> Result<Credential> {
        let mut reply = dbcreds_proto::Wiped(
            v1::GetResponse::decode(payload).map_err(|e| Error::Protocol(e.to_string()))?,
        );
        let env = crate::client::environment(reply.0.environment.take())?;
        let password = SecretString::from(std::mem::take(&mut reply.0.password));
        let mut cred = Credential::new(env, password);
        if !reply.0.warning.is_empty() {
            cred.set_warning(std::mem::take(&mut reply.0.warning));
        }
        Ok(cred)
    }

    /// Marks the connection done; the request goes to gRPC.
    fn lost(&mut self) -> Option<Credential> {
        self.broken = true;
        None
    }

    fn unresponsive(&mut self, waited: Duration) -> Error {
        self.broken = true;
        Error::AgentUnresponsive {
            socket: self.socket.clone(),
            pid: self.pid,
            waited,
        }
    }
}

/// A read that ran into its timeout.
fn silent(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// The agent's refusal as the same [`Error`] gRPC's status gives.
fn refused(r: Refusal) -> Error {
    let mut status = tonic::Status::new(tonic::Code::from_i32(r.code), r.message);
    if let Ok(v) = r.reason.parse() {
        status.metadata_mut().insert(REASON_KEY, v);
    }
    Error::from_status(status)
}

/// `Get` of `name` from the agent the config and environment point at,
/// as the CLI's `dbcreds get` does it: `None` when gRPC must take the
/// request (see the module's words).
pub fn get(name: &EnvName, purpose: Purpose) -> Option<Result<Credential>> {
    // The same two keys gRPC's connect reads, from the one file.
    let file = crate::config::Config::from_file(&crate::config::path()).unwrap_or_default();
    let socket = crate::paths::resolve_socket(None, file.socket.as_deref());
    let timeouts = Timeouts::load_with(&file).ok()?;
    let mut conn = DirectConn::connect(&socket, timeouts)?;
    conn.get(name, purpose).transpose()
}
