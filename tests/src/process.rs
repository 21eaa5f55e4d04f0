//! Processes: signals, bounded waits through pidfds (no polling, also for
//! processes that are not our children), the root/CI rules for skipping,
//! and reading a child's output line by line as it comes.

use std::io::{BufRead, BufReader, Read};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use rustix::process::{Pid, Signal};

/// How long a keyring session or an agent may take to become ready.
pub const READY_TIMEOUT: Duration = Duration::from_secs(20);

/// How long one CLI command may run (debug builds, Argon2id, two cores
/// shared by parallel tests) before the test fails as hung.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(90);

/// How long a signalled process may take to exit.
pub const EXIT_TIMEOUT: Duration = Duration::from_secs(20);

pub(crate) fn pid_of(raw: u32) -> Pid {
    Pid::from_raw(raw as i32).expect("pid 0 is not a process")
}

/// The pids of all processes (the numeric entries of `/proc`).
pub fn all_pids() -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .collect()
}

/// Sends `signal` to process `pid`; a process that is already gone is fine.
pub fn signal(pid: u32, signal: Signal) {
    match rustix::process::kill_process(pid_of(pid), signal) {
        Ok(()) | Err(rustix::io::Errno::SRCH) => {}
        Err(e) => panic!("kill({pid}, {signal:?}): {e}"),
    }
}

/// Waits (through a pidfd, no polling) until process `pid` has exited, for at
/// most `timeout`. Works for processes that are not our children (an agent
/// the CLI started detached). True when it is gone.
pub fn wait_for_exit(pid: u32, timeout: Duration) -> bool {
    use rustix::event::{PollFd, PollFlags, Timespec, poll};
    let fd = match rustix::process::pidfd_open(pid_of(pid), rustix::process::PidfdFlags::empty()) {
        Ok(fd) => fd,
        Err(rustix::io::Errno::SRCH) => return true,
        Err(e) => panic!("pidfd_open({pid}): {e}"),
    };
    let timeout = Timespec {
        tv_sec: timeout.as_secs() as _,
        tv_nsec: timeout.subsec_nanos() as _,
    };
    loop {
        let mut fds = [PollFd::new(&fd, PollFlags::IN)];
        match poll(&mut fds, Some(&timeout)) {
            Ok(n) => return n > 0,
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => panic!("poll(pidfd {pid}): {e}"),
        }
    }
}

/// Sends `sig` to process `pid` (not necessarily our child) and waits until
/// it is gone.
fn signal_and_wait(pid: u32, sig: Signal) {
    signal(pid, sig);
    assert!(
        wait_for_exit(pid, EXIT_TIMEOUT),
        "process {pid} still alive {EXIT_TIMEOUT:?} after {sig:?}"
    );
}

/// SIGKILLs process `pid` (not necessarily our child) and waits until it is
/// gone.
pub fn kill_9(pid: u32) {
    signal_and_wait(pid, Signal::KILL);
}

/// SIGTERMs process `pid` (not necessarily our child) and waits until it is
/// gone.
pub fn terminate(pid: u32) {
    signal_and_wait(pid, Signal::TERM);
}

/// True when running as root.
pub fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// True when the `CI` variable asks for strictness (set, not empty, not
/// `false`/`0`): tests that would skip must fail instead.
pub fn in_ci() -> bool {
    std::env::var("CI")
        .map(|v| !v.is_empty() && v != "false" && v != "0")
        .unwrap_or(false)
}

/// Skips a test for `why` (prints `SKIPPED <why>`) and returns false; under
/// CI panics instead: there a missing prerequisite is a failure.
pub fn skip(why: &str) -> bool {
    assert!(!in_ci(), "{why}\nCI is set: refusing to skip");
    eprintln!("SKIPPED {why}");
    false
}

/// For tests that need root: true when running as root; otherwise prints why
/// the test is skipped and returns false, or panics under CI.
pub fn root_or_skip(test: &str) -> bool {
    is_root() || skip(&format!("{test}: needs root"))
}

/// Reads `reader` line by line on a thread and hands over each line
/// (without its newline, lossily decoded) as it arrives; the channel closes
/// at end of input. It keeps reading when nobody listens any more, so a
/// later write of the child never meets a closed pipe.
pub fn lines(reader: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut reader = BufReader::new(reader);
        let mut line = Vec::new();
        loop {
            line.clear();
            match reader.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let text = String::from_utf8_lossy(&line);
                    let _ = tx.send(text.trim_end_matches(['\n', '\r']).to_owned());
                }
            }
        }
    });
    rx
}

/// Nothing came within the time allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimedOut;

/// The first line of `reader` within `timeout`: `Ok(Some(line))`,
/// `Ok(None)` at end of input, `Err(TimedOut)` when nothing came in time.
pub fn first_line(
    reader: impl Read + Send + 'static,
    timeout: Duration,
) -> Result<Option<String>, TimedOut> {
    match lines(reader).recv_timeout(timeout) {
        Ok(line) => Ok(Some(line)),
        Err(mpsc::RecvTimeoutError::Disconnected) => Ok(None),
        Err(mpsc::RecvTimeoutError::Timeout) => Err(TimedOut),
    }
}

/// True when `python3` imports every one of `modules`; otherwise skips (or,
/// under CI, panics: `tests/run` installs them).
pub fn python_or_skip(test: &str, modules: &[&str]) -> bool {
    let script = modules
        .iter()
        .map(|m| format!("import {m}"))
        .collect::<Vec<_>>()
        .join("; ");
    let out = crate::output::run_args("python3", &["-c", &script]);
    out.code == Some(0)
        || skip(&format!(
            "{test}: python3 cannot import {} (tests/run installs them):\n{out}",
            modules.join(", ")
        ))
}
