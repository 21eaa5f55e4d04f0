//! `exec`/`run` with `--mask` or `--restart-on-change`: dbcreds does not
//! replace itself with the command but stays as its parent.
//!
//! - `--mask`: the command's stdout and stderr pass through dbcreds, every
//!   password it was given replaced by `***` ([`output`], [`mask`]).
//! - `--restart-on-change`: dbcreds follows the agent's change stream
//!   ([`watch`]); when a password the command uses changes (rotate,
//!   update, add --force), it reads the credentials again and restarts the
//!   command with them (SIGTERM, then SIGKILL after 10 s), or with
//!   `--signal SIG` sends it that signal instead (for programs that re-read
//!   their credentials themselves: the pid stays).
//!
//! Either way SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 are
//! passed on to the command, and dbcreds exits with its exit code (128+N
//! when a signal N ended it). dbcreds keeps the credentials in memory as
//! long as it runs, which plain `exec` does not.

use std::ffi::OsString;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dbcreds::EnvName;
use rustix::process::Signal;
use tokio::signal::unix::{SignalKind, signal};
use zeroize::Zeroizing;

use crate::exit::Failure;
use crate::output::note;

pub mod mask;
mod output;
mod watch;

use mask::Masker;
use output::Sink;

/// How long a command may take to exit after SIGTERM before a restart
/// kills it.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// How long dbcreds waits, once the command exited, for the rest of its
/// output (a background child of it may hold the pty or pipe).
const DRAIN_WAIT: Duration = Duration::from_secs(2);

/// What the command's environment gets, as `exec` or `run` worked it out.
pub struct Launch {
    pub set: Vec<(OsString, Zeroizing<String>)>,
    pub remove: Vec<OsString>,
    /// The passwords in it, for `--mask`.
    pub passwords: Vec<Zeroizing<String>>,
    /// The environments it came from, whose changes matter.
    pub environments: Vec<EnvName>,
}

impl Launch {
    /// True when the command would get the same environment.
    fn same_as(&self, other: &Launch) -> bool {
        fn set(l: &Launch) -> Vec<(&OsString, &str)> {
            let mut v: Vec<_> = l.set.iter().map(|(k, v)| (k, v.as_str())).collect();
            v.sort();
            v
        }
        fn remove(l: &Launch) -> Vec<&OsString> {
            let mut v: Vec<_> = l.remove.iter().collect();
            v.sort();
            v
        }
        set(self) == set(other) && remove(self) == remove(other)
    }

    fn secrets(&self) -> Vec<Zeroizing<Vec<u8>>> {
        self.passwords.iter().flat_map(|p| mask::forms(p)).collect()
    }
}

/// The supervision asked for.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    pub mask: bool,
    pub restart: bool,
    pub signal: Option<i32>,
}

/// The command running, with its masked streams.
struct Running {
    child: tokio::process::Child,
    pid: u32,
    drained: Vec<std::sync::mpsc::Receiver<()>>,
    ptys: Vec<(Arc<std::os::fd::OwnedFd>, Sink)>,
}

/// Runs the command under supervision until it exits, then exits with its
/// code; returns only a failure to start it (or to read the credentials).
pub async fn run(
    build: impl AsyncFn() -> Result<Launch, Failure>,
    program: OsString,
    args: Vec<OsString>,
    opts: Options,
) -> Failure {
    match supervise(build, &program, &args, opts).await {
        Ok(code) => std::process::exit(code),
        Err(f) => f,
    }
}

async fn supervise(
    build: impl AsyncFn() -> Result<Launch, Failure>,
    program: &OsString,
    args: &[OsString],
    opts: Options,
) -> Result<i32, Failure> {
    let mut watcher = if opts.restart {
        match watch::Watcher::open().await {
            Ok(w) => Some(w),
            // Variables may define the environments with no agent at all:
            // the command runs, without restarts.
            Err(e) => {
                note(&format!(
                    "dbcreds: cannot follow changes ({}): the command is not restarted",
                    crate::exit::from_error(&e)
                ));
                None
            }
        }
    } else {
        None
    };
    let mut launch = build().await?;
    warn_unmaskable(&launch, opts);
    if let Some(w) = watcher.as_mut() {
        w.follow(&launch.environments);
    }
    let maskers: Vec<Arc<Mutex<Masker>>> = [Sink::Stdout, Sink::Stderr]
        .iter()
        .map(|_| Arc::new(Mutex::new(Masker::new(launch.secrets()))))
        .collect();
    let mut running = spawn(program, args, &launch, opts.mask, &maskers)?;
    let mut signals = Signals::new()?;
    loop {
        tokio::select! {
            status = running.child.wait() => {
                let status = status.map_err(|e| Failure::other(format!("waiting for the command: {e}")))?;
                drain(&running);
                return Ok(exit_code(status));
            }
            sig = signals.next() => match sig {
                Some(s) if s == Signal::WINCH => {
                    for (master, sink) in &running.ptys {
                        output::resize(master, *sink);
                    }
                    send(running.pid, s);
                }
                Some(s) => send(running.pid, s),
                None => {}
            },
            news = next_news(&mut watcher) => {
                let why = match news {
                    watch::News::Lost => {
                        note("dbcreds: the agent went away; changes are followed again once it is back");
                        continue;
                    }
                    watch::News::Reread(why) => why,
                };
                let fresh = match build().await {
                    Ok(l) => l,
                    Err(f) => {
                        note(&format!("dbcreds: {why}, but the credentials cannot be read ({f}); the command keeps running with the old ones"));
                        continue;
                    }
                };
                if fresh.same_as(&launch) {
                    continue;
                }
                for m in &maskers {
                    let mut m = m.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                    let mut all = launch.secrets();
                    all.extend(fresh.secrets());
                    m.set_secrets(all);
                }
                launch = fresh;
                if let Some(w) = watcher.as_mut() {
                    w.follow(&launch.environments);
                }
                match opts.signal {
                    Some(n) => {
                        let sig = Signal::from_named_raw(n).unwrap_or(Signal::HUP);
                        note(&format!("dbcreds: {why}: sending signal {n} to the command (pid {})", running.pid));
                        send(running.pid, sig);
                    }
                    None => {
                        note(&format!("dbcreds: {why}: restarting the command (pid {})", running.pid));
                        stop(&mut running).await;
                        running = spawn(program, args, &launch, opts.mask, &maskers)?;
                    }
                }
            }
        }
    }
}

/// The watcher's next news; never, without one.
async fn next_news(w: &mut Option<watch::Watcher>) -> watch::News {
    match w {
        Some(w) => w.next().await,
        None => std::future::pending().await,
    }
}

fn warn_unmaskable(launch: &Launch, opts: Options) {
    if opts.mask
        && launch
            .passwords
            .iter()
            .any(|p| !p.is_empty() && p.len() < mask::MIN_SECRET_LEN)
    {
        note(&format!(
            "dbcreds: a password shorter than {} characters is not masked",
            mask::MIN_SECRET_LEN
        ));
    }
}

/// Starts the command with `launch`'s environment, its output through
/// masked streams when `mask`.
fn spawn(
    program: &OsString,
    args: &[OsString],
    launch: &Launch,
    mask: bool,
    maskers: &[Arc<Mutex<Masker>>],
) -> Result<Running, Failure> {
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args);
    for k in &launch.remove {
        cmd.env_remove(k);
    }
    for (k, v) in &launch.set {
        cmd.env(k, v.as_str());
    }
    let mut pumps = Vec::new();
    if mask {
        for sink in [Sink::Stdout, Sink::Stderr] {
            let (end, pump) = output::open(sink).map_err(|e| {
                Failure::other(format!("cannot open a pty or pipe for --mask: {e}"))
            })?;
            match sink {
                Sink::Stdout => cmd.stdout(end),
                Sink::Stderr => cmd.stderr(end),
            };
            pumps.push(pump);
        }
    }
    let child = cmd
        .spawn()
        .map_err(|e| crate::commands::launch_error(program, &e))?;
    // Our copies of the command's ends go, so its exit ends the streams.
    drop(cmd);
    let pid = child.id().unwrap_or(0);
    let mut drained = Vec::new();
    let mut ptys = Vec::new();
    for (pump, m) in pumps.into_iter().zip(maskers) {
        if let Some(master) = pump.pty_master() {
            ptys.push((master, pump.sink));
        }
        drained.push(pump.start(m.clone()));
    }
    Ok(Running {
        child,
        pid,
        drained,
        ptys,
    })
}

/// Waits (bounded) until the command's output is all written.
fn drain(r: &Running) {
    let deadline = std::time::Instant::now() + DRAIN_WAIT;
    for rx in &r.drained {
        let _ = rx.recv_timeout(deadline.saturating_duration_since(std::time::Instant::now()));
    }
}

/// Ends the command for a restart: SIGTERM, then SIGKILL after
/// [`STOP_GRACE`].
async fn stop(r: &mut Running) {
    send(r.pid, Signal::TERM);
    if tokio::time::timeout(STOP_GRACE, r.child.wait())
        .await
        .is_err()
    {
        let _ = r.child.kill().await;
    }
    drain(r);
}

fn send(pid: u32, sig: Signal) {
    if let Some(pid) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    {
        let _ = rustix::process::kill_process(pid, sig);
    }
}

/// The shells' convention: the code, or 128+N for a death by signal N.
fn exit_code(status: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .unwrap_or(1)
}

/// The signals passed on to the command.
struct Signals {
    streams: Vec<(Signal, tokio::signal::unix::Signal)>,
}

impl Signals {
    fn new() -> Result<Self, Failure> {
        let mut streams = Vec::new();
        for sig in [
            Signal::INT,
            Signal::TERM,
            Signal::HUP,
            Signal::QUIT,
            Signal::USR1,
            Signal::USR2,
            Signal::WINCH,
        ] {
            let s = signal(SignalKind::from_raw(sig.as_raw()))
                .map_err(|e| Failure::other(format!("cannot handle signals: {e}")))?;
            streams.push((sig, s));
        }
        Ok(Self { streams })
    }

    /// The next signal that arrived.
    async fn next(&mut self) -> Option<Signal> {
        let futures = self.streams.iter_mut().map(|(sig, s)| {
            let sig = *sig;
            Box::pin(async move { s.recv().await.map(|()| sig) })
        });
        futures_select_all(futures).await
    }
}

/// The first of `futures` to finish.
async fn futures_select_all<F>(futures: impl Iterator<Item = std::pin::Pin<Box<F>>>) -> F::Output
where
    F: std::future::Future,
{
    let mut futures: Vec<_> = futures.collect();
    std::future::poll_fn(move |cx| {
        for f in &mut futures {
            if let std::task::Poll::Ready(v) = f.as_mut().poll(cx) {
                return std::task::Poll::Ready(v);
            }
        }
        std::task::Poll::Pending
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn launch(vars: &[(&str, &str)]) -> Launch {
        Launch {
            set: vars
                .iter()
                .map(|(k, v)| ((*k).into(), Zeroizing::new((*v).to_owned())))
                .collect(),
            remove: vec!["PGSERVICE".into()],
            passwords: vec![],
            environments: vec![],
        }
    }

    #[test]
    fn a_restart_only_when_the_environment_differs() {
        let a = launch(&[("PGUSER", "app"), ("PGPASSWORD", "one")]);
        assert!(a.same_as(&launch(&[("PGPASSWORD", "one"), ("PGUSER", "app")])));
        assert!(!a.same_as(&launch(&[("PGUSER", "app"), ("PGPASSWORD", "two")])));
        assert!(!a.same_as(&launch(&[("PGUSER", "app")])));
    }

    #[test]
    fn exit_codes_follow_the_shells() {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(exit_code(std::process::ExitStatus::from_raw(3 << 8)), 3);
        assert_eq!(exit_code(std::process::ExitStatus::from_raw(15)), 128 + 15);
    }
}
