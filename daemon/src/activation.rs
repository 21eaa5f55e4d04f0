//! systemd socket activation (`LISTEN_PID`/`LISTEN_FDS`, sd_listen_fds(3)):
//! systemd owns the socket file and passes the listening socket as fd 3.

use std::io;

use interprocess::local_socket::tokio::Listener;

/// First passed file descriptor, per sd_listen_fds(3).
#[cfg(unix)]
const SD_LISTEN_FDS_START: i32 = 3;

/// The listener systemd passed, if it passed one to this process.
#[cfg(unix)]
pub fn take_listener() -> Option<io::Result<Listener>> {
    use std::os::fd::{FromRawFd, OwnedFd};
    let pid: u32 = std::env::var("LISTEN_PID").ok()?.parse().ok()?;
    if pid != std::process::id() {
        return None;
    }
    let fds: i32 = std::env::var("LISTEN_FDS").ok()?.parse().ok()?;
    // SAFETY: not thread-safe in general; this runs at start-up before the
    // agent reads any other variable concurrently. Children must not
    // inherit the activation variables.
    unsafe {
        std::env::remove_var("LISTEN_PID");
        std::env::remove_var("LISTEN_FDS");
        std::env::remove_var("LISTEN_FDNAMES");
    }
    if fds < 1 {
        return None;
    }
    // SAFETY: systemd guarantees fd 3 is open and ours when LISTEN_PID is
    // our pid and LISTEN_FDS >= 1; nothing else in this process owns it.
    let fd = unsafe { OwnedFd::from_raw_fd(SD_LISTEN_FDS_START) };
    // systemd passes it inheritable; the programs the agent runs (an
    // askpass) must not get the listening socket.
    let _ = rustix::io::fcntl_setfd(&fd, rustix::io::FdFlags::CLOEXEC);
    let listener =
        interprocess::os::unix::uds_local_socket::tokio::Listener::try_from(fd).map(|mut l| {
            // systemd keeps the socket file: never unlink it on exit.
            use interprocess::local_socket::traits::tokio::Listener as _;
            l.do_not_reclaim_name_on_drop();
            Listener::from(l)
        });
    Some(listener)
}

#[cfg(not(unix))]
pub fn take_listener() -> Option<io::Result<Listener>> {
    None
}
