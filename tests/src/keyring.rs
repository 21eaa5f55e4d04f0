//! A private Secret Service per test: gnome-keyring inside its own
//! `dbus-run-session`, unlocked or locked on purpose.

use std::ffi::{OsStr, OsString};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::Duration;

use rustix::process::Signal;
use tempfile::TempDir;

use crate::bins::{path_var, support};
use crate::output::{Output, run};
use crate::process::{
    EXIT_TIMEOUT, READY_TIMEOUT, all_pids, first_line, pid_of, signal, wait_for_exit,
};

/// The default collection, as a D-Bus object path.
const DEFAULT_COLLECTION: &str = "/org/freedesktop/secrets/aliases/default";

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
        let stdout = child.stdout.take().expect("piped stdout");
        let mut session = KeyringSession {
            child,
            stdin,
            address: String::new(),
            dirs,
        };
        match first_line(stdout, READY_TIMEOUT + Duration::from_secs(10)) {
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

    /// `gdbus call` of `method` on `object` of the Secret Service; asserts
    /// success.
    fn gdbus(&self, object: &str, method: &str, args: &[&str]) -> Output {
        let mut cmd = self.command("gdbus");
        cmd.args(["call", "--session", "--dest", "org.freedesktop.secrets"])
            .args(["--object-path", object, "--method", method])
            .args(args);
        let out = run(cmd, None);
        out.ok();
        out
    }

    /// A property of the default collection, as gdbus prints it.
    fn collection_property(&self, name: &str) -> String {
        let out = self.gdbus(
            DEFAULT_COLLECTION,
            "org.freedesktop.DBus.Properties.Get",
            &["org.freedesktop.Secret.Collection", name],
        );
        out.stdout.trim().to_owned()
    }

    /// Whether the default collection is locked (`Locked` property).
    pub fn is_locked(&self) -> bool {
        match self.collection_property("Locked").as_str() {
            "(<true>,)" => true,
            "(<false>,)" => false,
            other => panic!("unexpected Locked value {other:?}"),
        }
    }

    /// How many items the default collection holds (`Items` property).
    pub fn item_count(&self) -> usize {
        // (<[objectpath '/org/freedesktop/secrets/collection/login/1', '/org/.../2']>,)
        // or (<@ao []>,): gdbus names the type once, so count the paths.
        self.collection_property("Items")
            .matches("'/org/freedesktop/secrets/collection/")
            .count()
    }

    /// Locks the default collection (org.freedesktop.Secret.Service.Lock).
    /// Nothing can unlock it afterwards: headless, the prompt fails.
    pub fn lock(&self) {
        let collections = format!("['{DEFAULT_COLLECTION}']");
        self.gdbus(
            "/org/freedesktop/secrets",
            "org.freedesktop.Secret.Service.Lock",
            &[&collections],
        );
        assert!(self.is_locked(), "the default collection did not lock");
    }

    /// The pid of this session's `gnome-keyring-daemon`: the process of the
    /// session's group whose name (`/proc/PID/comm`, 15 characters at most)
    /// is `gnome-keyring-d`.
    #[track_caller]
    pub fn daemon_pid(&self) -> u32 {
        let group = self.child.id();
        let mut seen = Vec::new();
        let mut found = Vec::new();
        for pid in all_pids() {
            let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
                continue;
            };
            // PID (COMM) STATE PPID PGRP ...
            let Some((head, rest)) = stat.rsplit_once(')') else {
                continue;
            };
            let comm = head.split_once('(').map_or("", |(_, c)| c);
            let pgrp = rest
                .split_whitespace()
                .nth(2)
                .and_then(|g| g.parse::<u32>().ok());
            if pgrp == Some(group) {
                seen.push(format!("{pid} {comm}"));
                if comm == "gnome-keyring-d" {
                    found.push(pid);
                }
            }
        }
        match found[..] {
            [pid] => pid,
            _ => panic!(
                "want one gnome-keyring-daemon in process group {group}; the group: {seen:?}"
            ),
        }
    }

    /// Stops this session's `gnome-keyring-daemon` (SIGSTOP): the bus stays
    /// up, so calls to the Secret Service are queued and never answered,
    /// as with a daemon hung on a prompt. It goes on (SIGCONT) when the
    /// returned [`Frozen`] is dropped.
    pub fn freeze(&self) -> Frozen {
        let pid = self.daemon_pid();
        signal(pid, Signal::STOP);
        Frozen { pid }
    }
}

/// A stopped `gnome-keyring-daemon` ([`KeyringSession::freeze`]); dropping
/// it continues the daemon.
#[must_use = "dropping it continues the daemon at once"]
pub struct Frozen {
    pid: u32,
}

impl Frozen {
    /// The stopped daemon's pid.
    pub fn pid(&self) -> u32 {
        self.pid
    }
}

impl Drop for Frozen {
    fn drop(&mut self) {
        signal(self.pid, Signal::CONT);
    }
}

impl Drop for KeyringSession {
    fn drop(&mut self) {
        // End of stdin ends the script; the signal makes sure of the rest of
        // the group (dbus-daemon, gnome-keyring-daemon).
        drop(self.stdin.take());
        let pid = self.child.id();
        let _ = rustix::process::kill_process_group(pid_of(pid), Signal::TERM);
        // A stopped daemon (a [`Frozen`] leaked) gets the TERM only once it
        // goes on.
        let _ = rustix::process::kill_process_group(pid_of(pid), Signal::CONT);
        if !wait_for_exit(pid, EXIT_TIMEOUT) {
            let _ = rustix::process::kill_process_group(pid_of(pid), Signal::KILL);
        }
        let _ = self.child.wait();
    }
}
