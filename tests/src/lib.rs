//! Harness for dbcreds' end-to-end tests.
//!
//! Every test runs the real `dbcreds-agent` and the real `dbcreds` binaries
//! over the real socket, in a [`Sandbox`] of its own: a temp dir used as
//! `DBCREDS_HOME` (vault, socket, agent log), a temp `HOME` and XDG dirs, and
//! a clean environment for every child. A sandbox may bring its own
//! [`KeyringSession`]: a private session bus with gnome-keyring's Secret
//! Service in it, unlocked (or locked on purpose). Without one, children see
//! `DBUS_SESSION_BUS_ADDRESS=unix:path=/nonexistent`, so nothing can reach a
//! real desktop keyring by accident.
//!
//! Nothing here sleeps to wait for readiness: the keyring session prints its
//! bus address once the collection is verified unlocked, the agent prints
//! `ready` once it listens, and process exits are awaited through pidfds.
//! Every wait is bounded and panics with what it saw.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use rustix::process::{Pid, Signal};
use tempfile::TempDir;

/// How long a keyring session or an agent may take to become ready.
pub const READY_TIMEOUT: Duration = Duration::from_secs(20);

/// How long one CLI command may run (debug builds, Argon2id, two cores
/// shared by parallel tests) before the test fails as hung.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(90);

/// How long a signalled process may take to exit.
pub const EXIT_TIMEOUT: Duration = Duration::from_secs(20);

/// Bus address given to children of a sandbox without a keyring: a path that
/// does not exist, so no Secret Service can answer.
pub const NO_BUS: &str = "unix:path=/nonexistent";

// ---------------------------------------------------------------------------
// Binaries and support files

/// Path of a workspace binary (`dbcreds`, `dbcreds-agent`):
/// `$DBCREDS_TEST_BIN_DIR/<name>` if that variable is set, else the directory
/// two levels above the running test executable (`target/debug/deps/..` is
/// `target/debug`). Panics if the binary is not there.
pub fn bin(name: &str) -> PathBuf {
    let dir = match std::env::var_os("DBCREDS_TEST_BIN_DIR").filter(|d| !d.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => {
            let exe = std::env::current_exe().expect("current_exe");
            exe.parent()
                .and_then(Path::parent)
                .expect("the test executable lives in target/<profile>/deps")
                .to_path_buf()
        }
    };
    let path = dir.join(name);
    assert!(
        path.is_file(),
        "binary {name} not found at {}: build them with `cargo build --workspace` \
         (or set DBCREDS_TEST_BIN_DIR)",
        path.display()
    );
    path
}

/// A file in `tests/support/`.
pub fn support(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("support")
        .join(name)
}

// ---------------------------------------------------------------------------
// Processes

fn pid_of(raw: u32) -> Pid {
    Pid::from_raw(raw as i32).expect("pid 0 is not a process")
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

/// SIGKILLs process `pid` (not necessarily our child) and waits until it is
/// gone.
pub fn kill_9(pid: u32) {
    signal(pid, Signal::KILL);
    assert!(
        wait_for_exit(pid, EXIT_TIMEOUT),
        "process {pid} still alive {EXIT_TIMEOUT:?} after SIGKILL"
    );
}

/// SIGTERMs process `pid` (not necessarily our child) and waits until it is
/// gone.
pub fn terminate(pid: u32) {
    signal(pid, Signal::TERM);
    assert!(
        wait_for_exit(pid, EXIT_TIMEOUT),
        "process {pid} still alive {EXIT_TIMEOUT:?} after SIGTERM"
    );
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

/// For tests that need root: true when running as root; otherwise prints why
/// the test is skipped and returns false, or panics under CI.
pub fn root_or_skip(test: &str) -> bool {
    if is_root() {
        return true;
    }
    let why = format!("{test}: needs root (to run the CLI as another user)");
    assert!(!in_ci(), "{why}, and CI is set: refusing to skip");
    eprintln!("SKIPPED {why}");
    false
}

/// Reads `reader` to its end on a thread and hands back the first line
/// (without its newline) as soon as it arrives; `None` at end of input.
fn first_line(reader: impl Read + Send + 'static) -> mpsc::Receiver<Option<String>> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut reader = BufReader::new(reader);
        let mut line = String::new();
        let first = match reader.read_line(&mut line) {
            Ok(0) | Err(_) => None,
            Ok(_) => Some(line.trim_end_matches(['\n', '\r']).to_owned()),
        };
        let _ = tx.send(first);
        // Keep draining, so a later write never meets a closed pipe.
        let _ = std::io::copy(&mut reader, &mut std::io::sink());
    });
    rx
}

fn describe(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for arg in cmd.get_args() {
        s.push(' ');
        let arg = arg.to_string_lossy();
        if arg.is_empty() || arg.contains(|c: char| c.is_whitespace() || "'\"\\$!?#&*".contains(c))
        {
            s.push_str(&format!("{arg:?}"));
        } else {
            s.push_str(&arg);
        }
    }
    s
}

/// What a finished command did.
#[derive(Debug, Clone)]
pub struct Output {
    /// The command line, for messages.
    pub command: String,
    /// Exit code; `None` when killed by a signal.
    pub code: Option<i32>,
    /// Standard output, lossily decoded.
    pub stdout: String,
    /// Standard error, lossily decoded.
    pub stderr: String,
}

impl fmt::Display for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "$ {}\nexit code: {:?}\n--- stdout ---\n{}--- stderr ---\n{}--------------",
            self.command, self.code, self.stdout, self.stderr
        )
    }
}

impl Output {
    /// Asserts exit code 0; returns `self` for chaining.
    #[track_caller]
    pub fn ok(&self) -> &Self {
        assert_eq!(self.code, Some(0), "command failed:\n{self}");
        self
    }

    /// Asserts the exit code.
    #[track_caller]
    pub fn code(&self, code: i32) -> &Self {
        assert_eq!(self.code, Some(code), "unexpected exit code:\n{self}");
        self
    }

    /// Asserts that stderr is exactly one line starting `dbcreds: ` and
    /// returns that line.
    #[track_caller]
    pub fn error_line(&self) -> &str {
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "stderr must be exactly one line:\n{self}");
        assert!(
            lines[0].starts_with("dbcreds: "),
            "the error line must start with `dbcreds: `:\n{self}"
        );
        lines[0]
    }

    /// Asserts a failure: exit `code`, nothing on stdout, one `dbcreds: ` line
    /// on stderr containing each of `words` (case-insensitive).
    #[track_caller]
    pub fn fails(&self, code: i32, words: &[&str]) -> &Self {
        self.code(code);
        assert_eq!(
            self.stdout, "",
            "a failure prints nothing on stdout:\n{self}"
        );
        let line = self.error_line().to_lowercase();
        for w in words {
            assert!(
                line.contains(&w.to_lowercase()),
                "the error should mention {w:?}:\n{self}"
            );
        }
        self
    }

    /// Stdout parsed as JSON.
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{self}"))
    }

    /// Stdout and stderr together, for searching.
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

/// Runs `cmd` to completion with `input` on its stdin (null when `None`), for
/// at most [`COMMAND_TIMEOUT`].
pub fn run(mut cmd: Command, input: Option<&[u8]>) -> Output {
    let command = describe(&cmd);
    cmd.stdin(if input.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {command}: {e}"));
    if let (Some(mut stdin), Some(input)) = (child.stdin.take(), input) {
        let input = input.to_vec();
        // Closing stdin (end of the thread) is the end of the input.
        thread::spawn(move || {
            let _ = stdin.write_all(&input);
        });
    }
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(COMMAND_TIMEOUT) {
        Ok(Ok(out)) => Output {
            command,
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        },
        Ok(Err(e)) => panic!("waiting for {command}: {e}"),
        Err(_) => {
            signal(pid, Signal::KILL);
            panic!(
                "{command} did not finish within {COMMAND_TIMEOUT:?} \
                 (hung, or a process it started keeps its stdout/stderr open)"
            )
        }
    }
}

// ---------------------------------------------------------------------------
// Keyring session

/// A private Secret Service: `tests/support/keyring-session.sh` running
/// gnome-keyring-daemon inside its own `dbus-run-session`, with its own temp
/// HOME, XDG_DATA_HOME and XDG_RUNTIME_DIR. The session ends when this value
/// is dropped.
pub struct KeyringSession {
    child: Child,
    stdin: Option<ChildStdin>,
    address: String,
    dirs: TempDir,
}

impl KeyringSession {
    /// Starts a session whose default collection is unlocked (checked with a
    /// real store and lookup before this returns).
    pub fn start() -> Self {
        Self::start_mode("unlocked")
    }

    /// Starts a session whose default collection exists but is locked (and
    /// cannot be unlocked: there is no display for the prompt).
    pub fn start_locked() -> Self {
        Self::start_mode("locked")
    }

    fn start_mode(mode: &str) -> Self {
        let dirs = tempfile::Builder::new()
            .prefix("dbcreds-keyring-")
            .tempdir()
            .expect("temp dir");
        let home = dirs.path().join("home");
        let data = dirs.path().join("data");
        let runtime = dirs.path().join("runtime");
        for d in [&home, &data, &runtime] {
            fs::create_dir(d).expect("create keyring dirs");
        }
        fs::set_permissions(&runtime, fs::Permissions::from_mode(0o700)).expect("chmod 0700");
        let log_path = dirs.path().join("session.log");
        let log = fs::File::create(&log_path).expect("session log");

        let script = support("keyring-session.sh");
        let mut cmd = Command::new(&script);
        cmd.arg(mode)
            .env_clear()
            .env("PATH", path_var())
            .env("HOME", &home)
            .env("XDG_DATA_HOME", &data)
            .env("XDG_RUNTIME_DIR", &runtime)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(log);
        {
            use std::os::unix::process::CommandExt;
            // A group of its own, so Drop can end the whole session.
            cmd.process_group(0);
        }
        let mut child = cmd.spawn().unwrap_or_else(|e| {
            panic!(
                "cannot start {}: {e} (install gnome-keyring dbus libsecret-tools libglib2.0-bin)",
                script.display()
            )
        });
        let stdin = child.stdin.take();
        let line = first_line(child.stdout.take().expect("piped stdout"));
        let mut session = KeyringSession {
            child,
            stdin,
            address: String::new(),
            dirs,
        };
        let got = line.recv_timeout(READY_TIMEOUT + Duration::from_secs(10));
        match got {
            Ok(Some(l)) if l.starts_with("DBUS_SESSION_BUS_ADDRESS=") => {
                session.address = l["DBUS_SESSION_BUS_ADDRESS=".len()..].to_owned();
                session
            }
            other => {
                let log = fs::read_to_string(&log_path).unwrap_or_default();
                drop(session);
                panic!("keyring session ({mode}) did not start: got {other:?}\n{log}");
            }
        }
    }

    /// The session bus address.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// Variables a child needs to reach this Secret Service.
    pub fn env(&self) -> Vec<(OsString, OsString)> {
        vec![(
            "DBUS_SESSION_BUS_ADDRESS".into(),
            self.address.clone().into(),
        )]
    }

    /// A command (clean environment plus [`KeyringSession::env`]) talking to
    /// this session, e.g. `secret-tool` or `gdbus`.
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let mut cmd = Command::new(program);
        cmd.env_clear()
            .env("PATH", path_var())
            .env("HOME", self.dirs.path().join("home"))
            .envs(self.env());
        cmd
    }

    /// Whether the default collection is locked (`Locked` property).
    pub fn is_locked(&self) -> bool {
        let mut cmd = self.command("gdbus");
        cmd.args([
            "call",
            "--session",
            "--dest",
            "org.freedesktop.secrets",
            "--object-path",
            "/org/freedesktop/secrets/aliases/default",
            "--method",
            "org.freedesktop.DBus.Properties.Get",
            "org.freedesktop.Secret.Collection",
            "Locked",
        ]);
        let out = run(cmd, None);
        out.ok();
        match out.stdout.trim() {
            "(<true>,)" => true,
            "(<false>,)" => false,
            other => panic!("unexpected Locked value {other:?}"),
        }
    }

    /// How many items the default collection holds (`Items` property).
    pub fn item_count(&self) -> usize {
        let mut cmd = self.command("gdbus");
        cmd.args([
            "call",
            "--session",
            "--dest",
            "org.freedesktop.secrets",
            "--object-path",
            "/org/freedesktop/secrets/aliases/default",
            "--method",
            "org.freedesktop.DBus.Properties.Get",
            "org.freedesktop.Secret.Collection",
            "Items",
        ]);
        let out = run(cmd, None);
        out.ok();
        // (<[objectpath '/org/freedesktop/secrets/collection/login/1']>,) or (<@ao []>,)
        out.stdout.matches("objectpath").count()
    }

    /// Locks the default collection (org.freedesktop.Secret.Service.Lock).
    /// Nothing can unlock it afterwards: headless, the prompt fails.
    pub fn lock(&self) {
        let mut cmd = self.command("gdbus");
        cmd.args([
            "call",
            "--session",
            "--dest",
            "org.freedesktop.secrets",
            "--object-path",
            "/org/freedesktop/secrets",
            "--method",
            "org.freedesktop.Secret.Service.Lock",
            "['/org/freedesktop/secrets/aliases/default']",
        ]);
        run(cmd, None).ok();
        assert!(self.is_locked(), "the default collection did not lock");
    }
}

impl Drop for KeyringSession {
    fn drop(&mut self) {
        // End of stdin ends the script; the signal makes sure of the rest of
        // the group (dbus-daemon, gnome-keyring-daemon).
        drop(self.stdin.take());
        let pid = self.child.id();
        let _ = rustix::process::kill_process_group(pid_of(pid), Signal::TERM);
        if !wait_for_exit(pid, EXIT_TIMEOUT) {
            let _ = rustix::process::kill_process_group(pid_of(pid), Signal::KILL);
        }
        let _ = self.child.wait();
    }
}

fn path_var() -> OsString {
    std::env::var_os("PATH")
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into())
}

// ---------------------------------------------------------------------------
// Sandbox

/// One test's world: a temp root holding
///
/// - `dbcreds/` — `DBCREDS_HOME` (not created here: the product creates it):
///   `vault.db`, `agent.sock`, `agent.log` of a detached agent;
/// - `home/` — `HOME`; `xdg/{data,config,cache,runtime}` — the XDG dirs;
/// - `agent-stderr.log` — stderr of agents started by [`Sandbox::start_agent`].
///
/// Children get a clean environment: `PATH`, `HOME`, the XDG dirs,
/// `DBCREDS_HOME`, `DBCREDS_AGENT_BIN` (so CLI autostart runs the binary under
/// test), `DBCREDS_LOG=debug` (so the secrecy tests see the chattiest logs),
/// `DBUS_SESSION_BUS_ADDRESS` (the sandbox's keyring, or [`NO_BUS`]) and a
/// marker by which Drop finds and kills agents the CLI started detached.
pub struct Sandbox {
    env: Vec<(OsString, OsString)>,
    keyring: Option<KeyringSession>,
    root: TempDir,
}

/// Name of the marker variable every child of a sandbox carries.
pub const SANDBOX_MARKER: &str = "DBCREDS_TEST_SANDBOX";

impl Sandbox {
    /// A sandbox without any Secret Service.
    pub fn new() -> Self {
        Self::build(None)
    }

    /// A sandbox with its own unlocked Secret Service.
    pub fn with_keyring() -> Self {
        Self::build(Some(KeyringSession::start()))
    }

    /// A sandbox whose Secret Service has a locked default collection.
    pub fn with_locked_keyring() -> Self {
        Self::build(Some(KeyringSession::start_locked()))
    }

    fn build(keyring: Option<KeyringSession>) -> Self {
        let root = tempfile::Builder::new()
            .prefix("dbcreds-e2e-")
            .tempdir()
            .expect("temp dir");
        let r = root.path();
        let xdg = r.join("xdg");
        for d in ["home", "xdg/data", "xdg/config", "xdg/cache", "xdg/runtime"] {
            fs::create_dir_all(r.join(d)).expect("create sandbox dirs");
        }
        fs::set_permissions(xdg.join("runtime"), fs::Permissions::from_mode(0o700))
            .expect("chmod 0700");
        let bus: OsString = match &keyring {
            Some(k) => k.address().into(),
            None => NO_BUS.into(),
        };
        let env: Vec<(OsString, OsString)> = vec![
            ("PATH".into(), path_var()),
            ("HOME".into(), r.join("home").into()),
            ("XDG_DATA_HOME".into(), xdg.join("data").into()),
            ("XDG_CONFIG_HOME".into(), xdg.join("config").into()),
            ("XDG_CACHE_HOME".into(), xdg.join("cache").into()),
            ("XDG_RUNTIME_DIR".into(), xdg.join("runtime").into()),
            ("DBCREDS_HOME".into(), r.join("dbcreds").into()),
            ("DBCREDS_AGENT_BIN".into(), bin("dbcreds-agent").into()),
            ("DBCREDS_LOG".into(), "debug".into()),
            ("DBUS_SESSION_BUS_ADDRESS".into(), bus),
            (SANDBOX_MARKER.into(), r.into()),
        ];
        Sandbox { env, keyring, root }
    }

    /// The sandbox's temp root.
    pub fn root(&self) -> &Path {
        self.root.path()
    }

    /// `DBCREDS_HOME`.
    pub fn home(&self) -> PathBuf {
        self.root().join("dbcreds")
    }

    /// The agent's socket: `$DBCREDS_HOME/agent.sock`.
    pub fn socket(&self) -> PathBuf {
        self.home().join("agent.sock")
    }

    /// The vault: `$DBCREDS_HOME/vault.db`.
    pub fn vault(&self) -> PathBuf {
        self.home().join("vault.db")
    }

    /// The log of an agent the CLI started detached: `$DBCREDS_HOME/agent.log`.
    pub fn agent_log(&self) -> PathBuf {
        self.home().join("agent.log")
    }

    /// Stderr of agents started with [`Sandbox::start_agent`].
    pub fn agent_stderr_log(&self) -> PathBuf {
        self.root().join("agent-stderr.log")
    }

    /// Both agent logs, for failure messages.
    pub fn logs(&self) -> String {
        let mut s = String::new();
        for p in [self.agent_log(), self.agent_stderr_log()] {
            if let Ok(text) = fs::read_to_string(&p) {
                s.push_str(&format!("=== {} ===\n{text}", p.display()));
            }
        }
        s
    }

    /// The environment children get.
    pub fn env(&self) -> &[(OsString, OsString)] {
        &self.env
    }

    /// The sandbox's Secret Service, if it has one.
    pub fn keyring(&self) -> Option<&KeyringSession> {
        self.keyring.as_ref()
    }

    /// Replaces (or adds) a variable in the children's environment.
    pub fn set_env(&mut self, key: &str, value: impl Into<OsString>) {
        self.env.retain(|(k, _)| k != key);
        self.env.push((key.into(), value.into()));
    }

    /// `program` with the sandbox's clean environment, run from `HOME`.
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let mut cmd = Command::new(program);
        cmd.env_clear()
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .current_dir(self.root().join("home"));
        cmd
    }

    /// `dbcreds ARGS...` with the sandbox's environment.
    pub fn cli_command(&self, args: &[&str]) -> Command {
        let mut cmd = self.command(bin("dbcreds"));
        cmd.args(args);
        cmd
    }

    /// Runs `dbcreds ARGS...` with stdin null.
    pub fn cli(&self, args: &[&str]) -> Output {
        run(self.cli_command(args), None)
    }

    /// Runs `dbcreds ARGS...` with `input` on stdin.
    pub fn cli_stdin(&self, args: &[&str], input: &str) -> Output {
        run(self.cli_command(args), Some(input.as_bytes()))
    }

    /// `dbcreds init` with the keyring unlocker (the sandbox needs a keyring).
    pub fn init_keyring(&self) -> Output {
        let out = self.cli(&["init", "--unlocker", "keyring"]);
        out.ok();
        out
    }

    /// `dbcreds init --unlocker passphrase --passphrase-stdin`.
    pub fn init_passphrase(&self, passphrase: &str) -> Output {
        let out = self.cli_stdin(
            &["init", "--unlocker", "passphrase", "--passphrase-stdin"],
            &format!("{passphrase}\n"),
        );
        out.ok();
        out
    }

    /// `dbcreds add NAME --kind postgres ...` with the password on stdin;
    /// asserts success.
    pub fn add_postgres(&self, name: &str, host: &str, password: &str) -> Output {
        let out = self.cli_stdin(
            &[
                "add",
                name,
                "--kind",
                "postgres",
                "--host",
                host,
                "--port",
                "5432",
                "--database",
                "app",
                "--user",
                "app",
                "--password-stdin",
            ],
            &format!("{password}\n"),
        );
        out.ok();
        out
    }

    /// Asserts that `dbcreds get NAME` prints exactly `password` and a newline.
    #[track_caller]
    pub fn assert_password(&self, name: &str, password: &str) {
        let out = self.cli(&["get", name]);
        out.ok();
        assert_eq!(
            out.stdout,
            format!("{password}\n"),
            "`get {name}` must print the password and nothing else:\n{out}"
        );
    }

    /// The pid of the agent serving this sandbox, from `dbcreds status --json`.
    #[track_caller]
    pub fn agent_pid(&self) -> u32 {
        let out = self.cli(&["status", "--json"]);
        out.ok();
        let pid = out.json()["pid"]
            .as_u64()
            .unwrap_or_else(|| panic!("`status --json` has no numeric pid:\n{out}"));
        u32::try_from(pid).expect("pid fits u32")
    }

    /// Starts `dbcreds-agent --socket <sock> --ready-line` in the foreground
    /// (stderr appended to [`Sandbox::agent_stderr_log`]) and waits for its
    /// `ready` line. Panics if it does not come.
    #[track_caller]
    pub fn start_agent(&self) -> AgentProcess {
        match self.try_start_agent() {
            Ok(agent) => agent,
            Err(failure) => panic!("the agent did not start: {failure}"),
        }
    }

    /// Like [`Sandbox::start_agent`], but an agent that refuses to start
    /// (prints `error: ...` or nothing, and exits) is an `Err`.
    pub fn try_start_agent(&self) -> Result<AgentProcess, AgentStartFailure> {
        let log_path = self.agent_stderr_log();
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .expect("agent stderr log");
        let mut cmd = self.command(bin("dbcreds-agent"));
        cmd.arg("--socket")
            .arg(self.socket())
            .arg("--ready-line")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log);
        let mut child = cmd.spawn().expect("spawn dbcreds-agent");
        let line = first_line(child.stdout.take().expect("piped stdout"));
        let mut agent = AgentProcess {
            child,
            status: None,
        };
        match line.recv_timeout(READY_TIMEOUT) {
            Ok(Some(l)) if l == "ready" => Ok(agent),
            Ok(first_line) => {
                let pid = agent.pid();
                if !wait_for_exit(pid, EXIT_TIMEOUT) {
                    panic!(
                        "the agent said {first_line:?} instead of `ready` but did not exit\n{}",
                        self.logs()
                    );
                }
                let status = agent.child.wait().expect("wait agent");
                agent.status = Some(status);
                Err(AgentStartFailure {
                    first_line: first_line.unwrap_or_default(),
                    status,
                    log: fs::read_to_string(&log_path).unwrap_or_default(),
                })
            }
            Err(_) => {
                drop(agent);
                panic!(
                    "the agent printed nothing within {READY_TIMEOUT:?}\n{}",
                    self.logs()
                )
            }
        }
    }

    /// Kills every process that belongs to this sandbox (agents the CLI
    /// started detached included): those whose environment carries the
    /// sandbox marker, or whose command line names a path inside the
    /// sandbox. Waits until they are gone.
    pub fn kill_all_processes(&self) {
        let root = self.root().as_os_str().as_encoded_bytes().to_vec();
        let mut marker = format!("{SANDBOX_MARKER}=").into_bytes();
        marker.extend_from_slice(&root);
        marker.push(0);
        let me = std::process::id();
        let Ok(dir) = fs::read_dir("/proc") else {
            return;
        };
        let mut victims = Vec::new();
        for entry in dir.flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<u32>().ok())
            else {
                continue;
            };
            if pid == me {
                continue;
            }
            let environ = fs::read(entry.path().join("environ")).unwrap_or_default();
            let cmdline = fs::read(entry.path().join("cmdline")).unwrap_or_default();
            let marked = environ
                .windows(marker.len())
                .any(|w| w == marker.as_slice());
            let names_root = cmdline.split(|b| *b == 0).skip(1).any(|arg| {
                arg.strip_prefix(root.as_slice())
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with(b"/"))
            });
            if marked || names_root {
                victims.push(pid);
            }
        }
        for pid in &victims {
            signal(*pid, Signal::KILL);
        }
        for pid in victims {
            wait_for_exit(pid, EXIT_TIMEOUT);
        }
    }
}

impl Default for Sandbox {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.kill_all_processes();
        // The keyring session and the temp dir go with the fields.
    }
}

/// Why [`Sandbox::try_start_agent`] got no agent.
#[derive(Debug)]
pub struct AgentStartFailure {
    /// The first line on the agent's stdout (`error: ...`), or empty.
    pub first_line: String,
    /// How the agent exited.
    pub status: ExitStatus,
    /// The sandbox's agent stderr log.
    pub log: String,
}

impl fmt::Display for AgentStartFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "first line {:?}, {}\n--- agent stderr ---\n{}",
            self.first_line, self.status, self.log
        )
    }
}

/// An agent started by [`Sandbox::start_agent`]; killed when dropped.
pub struct AgentProcess {
    child: Child,
    status: Option<ExitStatus>,
}

impl AgentProcess {
    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL, then reap.
    pub fn kill_9(mut self) -> ExitStatus {
        signal(self.pid(), Signal::KILL);
        self.reap("SIGKILL")
    }

    /// SIGTERM, then wait (bounded) for the exit.
    pub fn terminate(mut self) -> ExitStatus {
        signal(self.pid(), Signal::TERM);
        self.reap("SIGTERM")
    }

    /// True while the process has not exited.
    pub fn is_running(&mut self) -> bool {
        self.status.is_none() && matches!(self.child.try_wait(), Ok(None))
    }

    fn reap(&mut self, what: &str) -> ExitStatus {
        if let Some(s) = self.status {
            return s;
        }
        let pid = self.pid();
        if !wait_for_exit(pid, EXIT_TIMEOUT) {
            signal(pid, Signal::KILL);
            let _ = self.child.wait();
            panic!("agent {pid} did not exit within {EXIT_TIMEOUT:?} of {what}");
        }
        let status = self.child.wait().expect("wait agent");
        self.status = Some(status);
        status
    }
}

impl Drop for AgentProcess {
    fn drop(&mut self) {
        if self.status.is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

// ---------------------------------------------------------------------------
// Data helpers

/// A password that cannot appear anywhere by chance: URI-special characters
/// (`p@ss:w/rd?#%`) followed by a random 32-hex-digit token, so tests can
/// also search files for it.
pub fn unique_password() -> String {
    format!("p@ss:w/rd?#%-{}", token())
}

/// 32 random hex digits (std's randomly keyed hasher, no extra crate).
pub fn token() -> String {
    use std::collections::hash_map::RandomState;
    use std::hash::{BuildHasher, Hasher};
    let mut s = String::new();
    for i in 0..2u8 {
        let mut h = RandomState::new().build_hasher();
        h.write_u8(i);
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0),
        );
        s.push_str(&format!("{:016x}", h.finish()));
    }
    s
}

/// Every regular file under `dir`, recursively (sockets and the like left
/// out).
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let Ok(ft) = e.file_type() else { continue };
            if ft.is_dir() {
                stack.push(e.path());
            } else if ft.is_file() {
                out.push(e.path());
            }
        }
    }
    out.sort();
    out
}

/// True when `needle` occurs in `haystack`.
pub fn contains_bytes(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// The bytes of a file, or empty when it does not exist.
pub fn read_or_empty(path: &Path) -> Vec<u8> {
    fs::read(path).unwrap_or_default()
}

// ---------------------------------------------------------------------------
// Database servers (tests/tests/databases.rs)
//
// The machine's PostgreSQL and MariaDB, made ready by
// `tests/support/databases.sh`: test roles are members of the group
// `dbcreds_test`, which a `scram-sha-256` rule first in pg_hba.conf makes
// give their password over 127.0.0.1 even where other rules say `trust`.
// Every test creates its own role or user with a unique name and drops it.

/// Where the test servers listen (TCP, so passwords are checked).
pub const DB_HOST: &str = "127.0.0.1";

/// Runs SQL as the PostgreSQL superuser over the local socket (trust).
pub fn pg_superuser(sql: &str) -> Output {
    let mut cmd = Command::new("psql");
    cmd.env("PGCONNECT_TIMEOUT", "10").args([
        "-X",
        "-q",
        "-v",
        "ON_ERROR_STOP=1",
        "-h",
        "/var/run/postgresql",
        "-U",
        "postgres",
        "-d",
        "postgres",
        "-tAc",
        sql,
    ]);
    run(cmd, None)
}

/// Runs SQL as MariaDB's root over the local socket (unix_socket auth).
pub fn mariadb_root(sql: &str) -> Output {
    let mut cmd = Command::new("mariadb");
    cmd.args(["-u", "root", "-N", "-B", "-e", sql]);
    run(cmd, None)
}

fn server_or_skip(what: &str, probe: impl FnOnce() -> Output, test: &str) -> bool {
    let out = probe();
    if out.code == Some(0) {
        return true;
    }
    let why =
        format!("{test}: {what} is not reachable (run tests/support/databases.sh as root):\n{out}");
    assert!(
        !in_ci(),
        "{why}\nCI is set: a missing server is a failure, not a skip"
    );
    eprintln!("SKIPPED {why}");
    false
}

/// True when the PostgreSQL server answers its superuser; otherwise skips
/// (prints why) or, under CI, panics.
pub fn postgres_or_skip(test: &str) -> bool {
    server_or_skip("PostgreSQL", || pg_superuser("SELECT 1"), test)
}

/// True when the MariaDB server answers its root; otherwise skips or,
/// under CI, panics.
pub fn mariadb_or_skip(test: &str) -> bool {
    server_or_skip("MariaDB", || mariadb_root("SELECT 1"), test)
}

/// A unique lower-case name for a role or user: `dbc_<prefix>_<12 hex>`.
pub fn unique_db_name(prefix: &str) -> String {
    format!("dbc_{prefix}_{}", &token()[..12])
}

/// A PostgreSQL login role in `dbcreds_test` (so its password is enforced
/// on 127.0.0.1), with a random password; dropped with the value.
pub struct PgTestRole {
    /// Role name.
    pub name: String,
    /// Its password as created.
    pub password: String,
}

impl PgTestRole {
    /// Creates the role; `extra` goes after `LOGIN` (e.g. `CREATEROLE`).
    pub fn create(prefix: &str, extra: &str) -> Self {
        let name = unique_db_name(prefix);
        let password = format!("pw-{}", token());
        pg_superuser(&format!(
            "CREATE ROLE {name} LOGIN {extra} PASSWORD '{password}' IN ROLE dbcreds_test"
        ))
        .ok();
        Self { name, password }
    }

    /// `psql` as this role over TCP with `password`, in a clean environment.
    pub fn psql(&self, password: &str, sql: &str) -> Output {
        let mut cmd = Command::new("psql");
        cmd.env_clear()
            .env("PATH", path_var())
            .env("PGPASSWORD", password)
            .env("PGPASSFILE", "/nonexistent")
            .env("PGCONNECT_TIMEOUT", "10")
            .args([
                "-X", "-w", "-h", DB_HOST, "-U", &self.name, "-d", "postgres", "-tAc", sql,
            ]);
        run(cmd, None)
    }

    /// Whether the server lets this role in with `password`; any failure
    /// other than a refused password panics (the test would prove nothing).
    #[track_caller]
    pub fn logs_in_with(&self, password: &str) -> bool {
        let out = self.psql(password, "SELECT current_user");
        if out.code == Some(0) {
            assert_eq!(out.stdout.trim(), self.name, "{out}");
            return true;
        }
        assert!(
            out.stderr.contains("password authentication failed"),
            "expected a refused password, got:\n{out}"
        );
        false
    }
}

impl Drop for PgTestRole {
    fn drop(&mut self) {
        let _ = pg_superuser(&format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{0}'; \
             DROP ROLE IF EXISTS {0}",
            self.name
        ));
    }
}

/// A MariaDB user `name@'%'` identified by a random password; dropped with
/// the value.
pub struct MariaTestUser {
    /// User name.
    pub name: String,
    /// Its password as created.
    pub password: String,
}

impl MariaTestUser {
    /// Creates the user; `grant` (e.g. `CREATE USER ON *.*`) is granted when
    /// not empty.
    pub fn create(prefix: &str, grant: &str) -> Self {
        let name = unique_db_name(prefix);
        let password = format!("pw-{}", token());
        mariadb_root(&format!(
            "CREATE USER '{name}'@'%' IDENTIFIED BY '{password}'"
        ))
        .ok();
        if !grant.is_empty() {
            mariadb_root(&format!("GRANT {grant} TO '{name}'@'%'")).ok();
        }
        Self { name, password }
    }

    /// Whether the server lets this user in over TCP with `password`.
    #[track_caller]
    pub fn logs_in_with(&self, password: &str) -> bool {
        let mut cmd = Command::new("mariadb");
        cmd.env_clear()
            .env("PATH", path_var())
            .env("MYSQL_PWD", password)
            .args([
                "--no-defaults",
                "--connect-timeout=10",
                "-h",
                DB_HOST,
                "-u",
                &self.name,
                "-N",
                "-B",
                "-e",
                "SELECT CURRENT_USER()",
            ]);
        let out = run(cmd, None);
        if out.code == Some(0) {
            assert_eq!(out.stdout.trim(), format!("{}@%", self.name), "{out}");
            return true;
        }
        assert!(
            out.stderr.contains("Access denied"),
            "expected a refused password, got:\n{out}"
        );
        false
    }
}

impl Drop for MariaTestUser {
    fn drop(&mut self) {
        let _ = mariadb_root(&format!("DROP USER IF EXISTS '{}'@'%'", self.name));
    }
}

/// The log file of the PostgreSQL cluster on port 5432, from
/// `pg_lsclusters` (Debian's wrapper redirects the server's stderr there).
pub fn pg_log_file() -> Option<PathBuf> {
    let out = run(
        {
            let mut c = Command::new("pg_lsclusters");
            c.arg("--no-header");
            c
        },
        None,
    );
    out.stdout.lines().find_map(|l| {
        let cols: Vec<&str> = l.split_whitespace().collect();
        (cols.get(2) == Some(&"5432") && cols.len() >= 7).then(|| PathBuf::from(cols[6]))
    })
}

/// A path under `target/<profile>/examples/` (built by `cargo test`).
pub fn example(name: &str) -> PathBuf {
    let path = bin("dbcreds").with_file_name("examples").join(name);
    assert!(
        path.is_file(),
        "example {name} not found at {}: run the tests with `cargo test --workspace`",
        path.display()
    );
    path
}

impl Sandbox {
    /// `dbcreds add NAME --kind KIND --host 127.0.0.1 ...` (the kind's
    /// default port) with the password on stdin and `--option` for each of
    /// `options`; asserts success.
    #[track_caller]
    pub fn add_db(
        &self,
        name: &str,
        kind: &str,
        database: &str,
        user: &str,
        password: &str,
        options: &[&str],
    ) -> Output {
        let port = if kind == "postgres" { "5432" } else { "3306" };
        let mut args = vec![
            "add",
            name,
            "--kind",
            kind,
            "--host",
            DB_HOST,
            "--port",
            port,
            "--database",
            database,
            "--user",
            user,
            "--password-stdin",
        ];
        for o in options {
            args.push("--option");
            args.push(o);
        }
        let out = self.cli_stdin(&args, &format!("{password}\n"));
        out.ok();
        out
    }
}
