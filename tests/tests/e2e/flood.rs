//! Hostile clients on the agent's socket (issue 9.2): a flood of
//! connections that never finish their HTTP/2 handshake, or finish it and
//! go quiet, does not starve `get`, does not grow the agent, and is closed
//! (at most 256 open, the oldest closed first; 5 s for the handshake); a
//! request over 64 KiB is refused, and the agent keeps serving.

use std::fs;
use std::io::{ErrorKind, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags, Timespec, poll};
use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};

use dbcreds_tests::*;

/// The HTTP/2 client preface.
const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/// A SETTINGS frame without settings: with the preface, the 33 bytes the
/// agent wants within [`HANDSHAKE`].
const EMPTY_SETTINGS: [u8; 9] = [0, 0, 0, 4, 0, 0, 0, 0, 0];
/// The agent's limits (`daemon/src/transport/conn.rs`).
const MAX_CONNECTIONS: usize = 256;
const HANDSHAKE: Duration = Duration::from_secs(5);

const HOSTILE: usize = 2000;
const GETS: usize = 20;
/// The target is 100 ms; this leaves room for a loaded CI machine
/// (it is a behaviour bound: starved, a `get` takes seconds or never ends).
const GET_BOUND: Duration = Duration::from_millis(500);
/// The first `get` queues behind the flood's accept backlog (2,000
/// connections the agent has not accepted yet): bounded, but looser.
const FIRST_GET_BOUND: Duration = Duration::from_secs(5);
const RSS_BOUND_KIB: u64 = 128 * 1024;
/// How long the agent may take to close what its limits close.
const CLOSE_BOUND: Duration = Duration::from_secs(20);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Connects and sends nothing.
    Idle,
    /// Sends the preface and an empty SETTINGS frame, then nothing.
    Preface,
    /// Sends the preface one byte at a time ([`Hostile::dribble`]).
    Slowloris,
}

struct Hostile {
    stream: UnixStream,
    kind: Kind,
    sent: usize,
    /// The agent closed it: a read returned 0 (or the connection reset).
    closed: bool,
}

impl Hostile {
    fn open(socket: &Path, kind: Kind) -> Self {
        let mut stream = UnixStream::connect(socket)
            .unwrap_or_else(|e| panic!("connect to {}: {e}", socket.display()));
        if kind == Kind::Preface {
            stream.write_all(PREFACE).expect("send the preface");
            stream.write_all(&EMPTY_SETTINGS).expect("send SETTINGS");
        }
        stream.set_nonblocking(true).expect("non-blocking");
        let mut h = Hostile {
            stream,
            kind,
            sent: 0,
            closed: false,
        };
        h.dribble();
        h
    }

    /// A slowloris sends the next byte of the preface.
    fn dribble(&mut self) {
        if self.kind == Kind::Slowloris
            && !self.closed
            && self.sent < PREFACE.len()
            && matches!(self.stream.write(&PREFACE[self.sent..=self.sent]), Ok(1))
        {
            self.sent += 1;
        }
    }

    /// Reads what the agent sent (its SETTINGS); notes end-of-file.
    fn drain(&mut self) {
        let mut buf = [0_u8; 4096];
        loop {
            match self.stream.read(&mut buf) {
                Ok(0) => break self.closed = true,
                Ok(_) => continue,
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => break self.closed = true,
            }
        }
    }
}

/// Raises this process's soft RLIMIT_NOFILE to the hard limit (the flood
/// needs 2,000 descriptors).
fn raise_nofile() {
    let limit = getrlimit(Resource::Nofile);
    let wanted = Rlimit {
        current: limit.maximum,
        maximum: limit.maximum,
    };
    setrlimit(Resource::Nofile, wanted).expect("raise RLIMIT_NOFILE");
}

/// `VmRSS` of process `pid`, in KiB.
fn vm_rss_kib(pid: u32) -> u64 {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc/PID/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no VmRSS in /proc/{pid}/status:\n{status}"))
}

/// Waits until `done(conns)`, reading what comes on the connections still
/// open (through poll, no sleeping) and noting which the agent closes; for
/// at most [`CLOSE_BOUND`]. False when time ran out.
fn wait_for_closes(conns: &mut [Hostile], done: impl Fn(&[Hostile]) -> bool) -> bool {
    let deadline = Instant::now() + CLOSE_BOUND;
    while !done(conns) {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        let open: Vec<usize> = (0..conns.len()).filter(|&i| !conns[i].closed).collect();
        let ready: Vec<usize> = {
            let mut fds: Vec<PollFd<'_>> = open
                .iter()
                .map(|&i| PollFd::new(&conns[i].stream, PollFlags::IN))
                .collect();
            let timeout = Timespec {
                tv_sec: left.as_secs() as _,
                tv_nsec: left.subsec_nanos() as _,
            };
            match poll(&mut fds, Some(&timeout)) {
                Ok(_) | Err(rustix::io::Errno::INTR) => {}
                Err(e) => panic!("poll: {e}"),
            }
            fds.iter()
                .zip(&open)
                .filter(|(fd, _)| !fd.revents().is_empty())
                .map(|(_, &i)| i)
                .collect()
        };
        for i in ready {
            conns[i].drain();
        }
    }
    true
}

fn count(conns: &[Hostile], kind: Kind, closed: bool) -> usize {
    conns
        .iter()
        .filter(|c| c.kind == kind && c.closed == closed)
        .count()
}

#[test]
fn a_flood_of_connections_does_not_starve_get() {
    raise_nofile();
    let sb = Sandbox::with_passphrase_vault();
    let password = sb.add_unique("prod");
    let pid = sb.agent_pid();
    let rss_before = vm_rss_kib(pid);
    let started = Instant::now();
    sb.assert_password("prod", &password);
    let unloaded = started.elapsed();

    let kinds = [Kind::Idle, Kind::Preface, Kind::Slowloris];
    let socket = sb.socket();
    let mut conns: Vec<Hostile> = (0..HOSTILE)
        .map(|i| Hostile::open(&socket, kinds[i % kinds.len()]))
        .collect();
    let opened = started.elapsed();

    let t = Instant::now();
    sb.assert_password("prod", &password);
    let first = t.elapsed();
    // The agent has accepted the whole flood once no more than it keeps
    // are still open (it closed the oldest to make room).
    let accepted = wait_for_closes(&mut conns, |c| {
        c.iter().filter(|h| !h.closed).count() <= MAX_CONNECTIONS
    });
    assert!(
        accepted,
        "the agent did not work through the flood's backlog in {CLOSE_BOUND:?}"
    );

    let mut times = Vec::with_capacity(GETS);
    let mut rss_max = vm_rss_kib(pid);
    for _ in 0..GETS {
        conns.iter_mut().for_each(Hostile::dribble);
        let t = Instant::now();
        sb.assert_password("prod", &password);
        times.push(t.elapsed());
        rss_max = rss_max.max(vm_rss_kib(pid));
    }
    let slowest = times.iter().max().copied().unwrap_or_default();
    eprintln!(
        "flood: {HOSTILE} connections opened in {opened:?}; `get` {unloaded:?} before, \
         {first:?} behind the backlog, slowest of {GETS} during {slowest:?} (all: {times:?}); \
         agent VmRSS {rss_before} KiB before, at most {rss_max} KiB during"
    );
    assert!(
        first < FIRST_GET_BOUND,
        "the first `get` behind the flood took {first:?} (bound {FIRST_GET_BOUND:?})"
    );
    assert!(
        slowest < GET_BOUND,
        "the slowest `get` under the flood took {slowest:?} (bound {GET_BOUND:?})"
    );
    assert!(
        rss_max < RSS_BOUND_KIB,
        "the agent grew to {rss_max} KiB under the flood (bound {RSS_BOUND_KIB} KiB)"
    );

    // Idle and slowloris connections never send the 33 handshake bytes:
    // closed HANDSHAKE after they were accepted. The rest beyond the
    // newest MAX_CONNECTIONS were closed to make room.
    let closed_enough = |c: &[Hostile]| {
        count(c, Kind::Idle, false) == 0
            && count(c, Kind::Slowloris, false) == 0
            && c.iter().filter(|h| !h.closed).count() <= MAX_CONNECTIONS
    };
    let all_closed_in_time = wait_for_closes(&mut conns, closed_enough);
    let waited = started.elapsed();
    let report = format!(
        "after {waited:?}: still open: {} idle, {} preface-only, {} slowloris (of {HOSTILE}); \
         the agent closes a connection without its handshake {HANDSHAKE:?} after accepting it \
         and keeps at most {MAX_CONNECTIONS} open",
        count(&conns, Kind::Idle, false),
        count(&conns, Kind::Preface, false),
        count(&conns, Kind::Slowloris, false),
    );
    eprintln!("flood: {report}");
    assert!(all_closed_in_time, "{report}\n{}", sb.logs());
    assert_eq!(
        sb.agent_pid(),
        pid,
        "the agent that took the flood still serves"
    );
    sb.assert_password("prod", &password);
}

/// A gRPC request over the agent's 64 KiB limit (two options of 100 KB;
/// one argument may not exceed 128 KiB) is refused with one error line;
/// the same agent goes on serving, no bigger for it.
#[test]
fn an_oversized_request_is_refused_and_the_agent_keeps_serving() {
    let sb = Sandbox::with_passphrase_vault();
    let pid = sb.agent_pid();
    let password = sb.add_unique("prod");
    let rss_before = vm_rss_kib(pid);

    let big = format!("comment={}", "x".repeat(100_000));
    let more = format!("note={}", "y".repeat(100_000));
    let spec = EnvSpec::new("big")
        .kind("postgres")
        .host("h")
        .user("u")
        .database("d")
        .options(&[&big, &more]);
    let out = sb.add(&spec);
    let rss_after = vm_rss_kib(pid);
    eprintln!(
        "oversized add: exit code {:?}, {:?}; agent VmRSS {rss_before} KiB before, {rss_after} KiB after",
        out.code,
        out.stderr.trim()
    );
    out.failed();
    out.error_line();
    assert!(!out.all().contains("panicked"), "{out}");
    assert_eq!(
        sb.agent_pid(),
        pid,
        "the agent that refused it still serves"
    );
    sb.assert_password("prod", &password);
    sb.cli(&["get", "big"]).fails(exit::NOT_FOUND, &["big"]);
    assert!(
        rss_after < rss_before + 32 * 1024,
        "the agent grew from {rss_before} KiB to {rss_after} KiB"
    );
}
