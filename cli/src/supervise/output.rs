//! The command's stdout and stderr under `--mask`: each through a pty when
//! ours is a terminal (so the command still sees one, and colours, line
//! buffering and `ls`'s columns stay as they were; the pty gets our
//! terminal's size, also after a resize), else through a pipe; a thread
//! per stream copies it to ours through a [`Masker`].
//!
//! The command's stdin stays ours: only output passes through dbcreds.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::mask::Masker;

/// How long bytes that might start a secret wait for the rest before they
/// are written as they are: long enough for the next write of a program
/// printing a line in pieces, short enough for a prompt to appear.
const IDLE_FLUSH: Duration = Duration::from_millis(300);

/// Which of our outputs a stream goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sink {
    Stdout,
    Stderr,
}

impl Sink {
    fn is_terminal(self) -> bool {
        use std::io::IsTerminal;
        match self {
            Self::Stdout => std::io::stdout().is_terminal(),
            Self::Stderr => std::io::stderr().is_terminal(),
        }
    }

    fn write(self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        // A closed stdout of ours must not stop the copy: the command would
        // block on a full pty or pipe.
        let _ = match self {
            Self::Stdout => {
                let mut o = std::io::stdout().lock();
                o.write_all(bytes).and_then(|()| o.flush())
            }
            Self::Stderr => {
                let mut e = std::io::stderr().lock();
                e.write_all(bytes).and_then(|()| e.flush())
            }
        };
    }

    /// Our terminal's size, for a pty standing in for it.
    fn winsize(self) -> Option<rustix::termios::Winsize> {
        match self {
            Self::Stdout => rustix::termios::tcgetwinsize(std::io::stdout()).ok(),
            Self::Stderr => rustix::termios::tcgetwinsize(std::io::stderr()).ok(),
        }
    }
}

/// Our end of one masked stream: a pty's master or a pipe's read end.
pub struct Pump {
    pub sink: Sink,
    ours: Arc<OwnedFd>,
    pty: bool,
}

/// A new masked stream for `sink`: a pty when it is a terminal, else a
/// pipe. The first of the pair is the end for the command (a pty's slave,
/// a pipe's write end).
pub fn open(sink: Sink) -> std::io::Result<(OwnedFd, Pump)> {
    if sink.is_terminal() {
        let (master, slave) = open_pty()?;
        if let Some(ws) = sink.winsize() {
            let _ = rustix::termios::tcsetwinsize(&master, ws);
        }
        let pump = Pump {
            sink,
            ours: Arc::new(master),
            pty: true,
        };
        return Ok((slave, pump));
    }
    let (r, w) = std::io::pipe()?;
    let pump = Pump {
        sink,
        ours: Arc::new(r.into()),
        pty: false,
    };
    Ok((w.into(), pump))
}

impl Pump {
    /// The master of a pty stream, to resize it after a SIGWINCH.
    pub fn pty_master(&self) -> Option<Arc<OwnedFd>> {
        self.pty.then(|| self.ours.clone())
    }

    /// Starts the thread copying the stream to its sink through `masker`;
    /// the receiver hears once the stream has ended and is written out.
    pub fn start(self, masker: Arc<Mutex<Masker>>) -> std::sync::mpsc::Receiver<()> {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            copy(&self.ours, self.sink, &masker);
            let _ = tx.send(());
        });
        rx
    }
}

/// Resizes the pty behind `master` to our terminal's size.
pub fn resize(master: &OwnedFd, sink: Sink) {
    if let Some(ws) = sink.winsize() {
        let _ = rustix::termios::tcsetwinsize(master, ws);
    }
}

fn open_pty() -> std::io::Result<(OwnedFd, OwnedFd)> {
    use rustix::pty::{OpenptFlags, grantpt, openpt, ptsname, unlockpt};
    use std::os::unix::fs::OpenOptionsExt;
    let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC)?;
    grantpt(&master)?;
    unlockpt(&master)?;
    let name = ptsname(&master, Vec::new())?;
    let path: &std::ffi::OsStr = std::os::unix::ffi::OsStrExt::from_bytes(name.as_bytes());
    let slave = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(rustix::fs::OFlags::NOCTTY.bits() as i32)
        .open(path)?;
    // Our own terminal turns the command's "\n" into "\r\n" when we write
    // it out; the pty doing so as well would double the "\r".
    let mut t = rustix::termios::tcgetattr(&slave)?;
    t.output_modes.remove(rustix::termios::OutputModes::OPOST);
    rustix::termios::tcsetattr(&slave, rustix::termios::OptionalActions::Now, &t)?;
    Ok((master, slave.into()))
}

/// Copies `from` to `sink` until the end of the stream (a pty's master
/// reads EIO once the last slave is closed), masking on the way.
fn copy(from: &OwnedFd, sink: Sink, masker: &Mutex<Masker>) {
    use rustix::event::{PollFd, PollFlags, poll};
    let mut file = match from.as_fd().try_clone_to_owned() {
        Ok(fd) => File::from(fd),
        Err(_) => return,
    };
    let mut buf = zeroize::Zeroizing::new(vec![0u8; 16 * 1024]);
    let lock = || {
        masker
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    };
    loop {
        let idle = rustix::event::Timespec {
            tv_sec: 0,
            tv_nsec: IDLE_FLUSH.subsec_nanos().into(),
        };
        let timeout = lock().holding().then_some(idle);
        let mut fds = [PollFd::new(&file, PollFlags::IN)];
        match poll(&mut fds, timeout.as_ref()) {
            Ok(0) => {
                let out = lock().flush();
                sink.write(&out);
                continue;
            }
            Ok(_) => {}
            Err(rustix::io::Errno::INTR) => continue,
            Err(_) => break,
        }
        match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                let out = lock().feed(&buf[..n]);
                sink.write(&out);
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            // EIO: the pty's other side is gone.
            Err(_) => break,
        }
    }
    let out = lock().flush();
    sink.write(&out);
}
