//! Who is on the other end of a connection, from the kernel
//! (SO_PEERCRED / getpeereid / the pipe client's process id), and whether
//! they may talk to us at all.

use interprocess::local_socket::tokio::Stream;
use interprocess::local_socket::tokio::prelude::*;

/// Who is on the other end of a connection, from the kernel
/// (SO_PEERCRED / getpeereid / the pipe client's process id).
///
/// tonic copies it into every request's extensions: `exe` is shared, not
/// a `String`, so that copy allocates nothing.
#[derive(Clone, Debug, Default)]
pub struct Peer {
    pub pid: Option<u32>,
    pub uid: Option<u32>,
    pub exe: Option<std::sync::Arc<str>>,
}

/// The peer of `stream` if it may talk to us: same user as the agent.
/// An unknown peer is refused too.
pub(super) fn admit(stream: &Stream) -> Option<Peer> {
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
fn exe_of(pid: u32) -> Option<std::sync::Arc<str>> {
    std::fs::read_link(format!("/proc/{pid}/exe"))
        .ok()
        .map(|p| p.display().to_string().into())
}

#[cfg(not(target_os = "linux"))]
fn exe_of(_pid: u32) -> Option<std::sync::Arc<str>> {
    None
}
