//! Stand-ins for an agent that does not answer: a real agent stopped with
//! SIGSTOP ([`Stopped`], resumed when dropped), and a socket whose listener
//! accepts connections and never says a word ([`SilentSocket`]), or hangs
//! up as soon as a request has come in.

use std::fs;
use std::io::Read;
use std::os::unix::fs::DirBuilderExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, JoinHandle};

use rustix::process::Signal;

use crate::process::signal;

/// A process stopped with SIGSTOP; SIGCONT when dropped (so that whatever
/// kills it afterwards, the sandbox or a test, finds it runnable).
pub struct Stopped {
    pid: u32,
}

impl Stopped {
    /// Sends SIGSTOP to `pid`, a child of this process (an agent from
    /// [`crate::Sandbox::start_agent`]), and waits until it has stopped: a
    /// stop is asynchronous, and `waitid(WSTOPPED | WNOWAIT)` reports it
    /// without reaping anything.
    pub fn new(pid: u32) -> Self {
        use rustix::process::{WaitIdOptions, waitid};
        signal(pid, Signal::STOP);
        let status = waitid(
            rustix::process::WaitId::Pid(crate::process::pid_of(pid)),
            WaitIdOptions::STOPPED | WaitIdOptions::NOWAIT,
        )
        .unwrap_or_else(|e| panic!("waitid({pid}): {e} (is it a child of this test?)"));
        assert!(
            status.as_ref().is_some_and(|s| s.stopped()),
            "process {pid} did not stop: {status:?}"
        );
        Stopped { pid }
    }

    /// The stopped process.
    pub fn pid(&self) -> u32 {
        self.pid
    }
}

impl Drop for Stopped {
    fn drop(&mut self) {
        signal(self.pid, Signal::CONT);
    }
}

/// What a [`SilentSocket`] does with a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Silence {
    /// Keep it open and never read or write: a hung agent.
    Hold,
    /// Read until a request is in (more than the HTTP/2 preface and
    /// settings, or a direct frame's head), then close: an agent dying
    /// mid-request.
    HangUpAfterRequest,
}

/// A listener on a socket path, in this test process, that accepts and
/// never answers. Dropping it stops the accept thread, closes every
/// connection and removes the socket file.
pub struct SilentSocket {
    path: PathBuf,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// Bytes of the client preface (24), its SETTINGS frame and a little more:
/// past this much, a request's HEADERS have started to arrive.
const PAST_PREFACE: usize = 64;

/// The first bytes of the direct wire (`dbcreds_proto::direct`), which
/// `dbcreds get` speaks first.
const DIRECT_MAGIC: &[u8] = b"DBCREDS\x01";

/// True once a request has started to arrive on either wire: past the
/// HTTP/2 preface and settings, or the direct wire's magic and the head of
/// its first frame.
fn request_in(first: &[u8]) -> bool {
    first.len() > PAST_PREFACE
        || (first.starts_with(DIRECT_MAGIC) && first.len() >= DIRECT_MAGIC.len() + 5)
}

impl SilentSocket {
    /// Listens at `path` (its directory created 0700 if missing).
    pub fn bind(path: &Path, silence: Silence) -> Self {
        if let Some(dir) = path.parent() {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .expect("create the socket's directory");
        }
        let listener = UnixListener::bind(path).expect("bind the silent socket");
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = thread::spawn(move || {
            let mut held: Vec<UnixStream> = Vec::new();
            for conn in listener.incoming() {
                if flag.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(mut conn) = conn else { continue };
                match silence {
                    Silence::Hold => held.push(conn),
                    Silence::HangUpAfterRequest => {
                        thread::spawn(move || {
                            let mut first = Vec::new();
                            let mut buf = [0_u8; 256];
                            while !request_in(&first) {
                                match conn.read(&mut buf) {
                                    Ok(0) | Err(_) => break,
                                    Ok(n) => first.extend_from_slice(&buf[..n]),
                                }
                            }
                            drop(conn);
                        });
                    }
                }
            }
        });
        SilentSocket {
            path: path.to_owned(),
            stop,
            thread: Some(thread),
        }
    }

    /// The socket path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for SilentSocket {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so it sees the flag.
        let _ = UnixStream::connect(&self.path);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let _ = fs::remove_file(&self.path);
    }
}
