//! [`Sandbox`]: one test's world (temp `DBCREDS_HOME`, `HOME`, XDG dirs, a
//! clean environment for every child) and the CLI run inside it.

use std::ffi::{OsStr, OsString};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use tempfile::TempDir;

use crate::bins::{bin, path_var};
use crate::data::{PASSPHRASE, unique_password};
use crate::env_spec::EnvSpec;
use crate::keyring::KeyringSession;
use crate::output::{Output, run};

/// Bus address given to children of a sandbox without a keyring: a path that
/// does not exist, so no Secret Service can answer.
pub const NO_BUS: &str = "unix:path=/nonexistent";

/// Name of the marker variable every child of a sandbox carries.
pub const SANDBOX_MARKER: &str = "DBCREDS_TEST_SANDBOX";

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

/// `pub fn NAME(&self) -> PathBuf { self.BASE().join(FILE) }` for each
/// `NAME = BASE / FILE;`.
macro_rules! sandbox_paths {
    ($($(#[$doc:meta])* $name:ident = $base:ident / $file:literal;)*) => {
        $(
            $(#[$doc])*
            pub fn $name(&self) -> PathBuf {
                self.$base().join($file)
            }
        )*
    };
}

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

    /// A sandbox without a Secret Service and with a vault initialized with
    /// the passphrase [`PASSPHRASE`] (its agent started by `init`).
    pub fn with_passphrase_vault() -> Self {
        let sb = Self::new();
        sb.init_passphrase(PASSPHRASE);
        sb
    }

    /// A keyring sandbox with an initialized vault.
    pub fn with_keyring_vault() -> Self {
        let sb = Self::with_keyring();
        sb.init_keyring();
        sb
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

    sandbox_paths! {
        /// `DBCREDS_HOME`.
        home = root / "dbcreds";
        /// `HOME` (also the directory children run in).
        user_home = root / "home";
        /// The agent's socket: `$DBCREDS_HOME/agent.sock`.
        socket = home / "agent.sock";
        /// The vault: `$DBCREDS_HOME/vault.db`.
        vault = home / "vault.db";
        /// The log of an agent the CLI started detached: `$DBCREDS_HOME/agent.log`.
        agent_log = home / "agent.log";
        /// Stderr of agents started with [`Sandbox::start_agent`].
        agent_stderr_log = root / "agent-stderr.log";
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

    /// Runs `sql` on the vault with the `sqlite3` CLI (stop the agent
    /// first when it must not see the change).
    pub fn vault_sql(&self, sql: &str) -> Output {
        let mut cmd = Command::new("sqlite3");
        cmd.arg(self.vault()).arg(sql);
        run(cmd, None)
    }

    /// The same sandbox with `key=value` in its children's environment.
    pub fn with_env(mut self, key: &str, value: impl Into<OsString>) -> Self {
        self.set_env(key, value);
        self
    }

    /// Writes `text` to `<root>/config/config.toml` and points
    /// `DBCREDS_CONFIG` at it; returns the file.
    pub fn write_config(&mut self, text: &str) -> PathBuf {
        let dir = self.root().join("config");
        fs::create_dir_all(&dir).expect("config dir");
        let file = dir.join("config.toml");
        fs::write(&file, text).expect("write config");
        self.set_env("DBCREDS_CONFIG", file.as_os_str());
        file
    }

    /// `program` with the sandbox's clean environment, run from `HOME`.
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let mut cmd = Command::new(program);
        cmd.env_clear()
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .current_dir(self.user_home());
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

    /// Runs `dbcreds ARGS...` with `vars` added to its environment.
    pub fn cli_env(&self, args: &[&str], vars: &[(&str, &str)]) -> Output {
        let mut cmd = self.cli_command(args);
        cmd.envs(vars.iter().copied());
        run(cmd, None)
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

    /// `dbcreds unlock --passphrase-stdin`; asserts success.
    pub fn unlock_passphrase(&self, passphrase: &str) {
        self.cli_stdin(
            &["unlock", "--passphrase-stdin"],
            &format!("{passphrase}\n"),
        )
        .ok();
    }

    /// `dbcreds add ...` as `spec` says, the password on stdin. Asserts
    /// nothing: chain `.ok()` or `.fails(...)`.
    pub fn add(&self, spec: &EnvSpec) -> Output {
        let args = spec.args();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.cli_stdin(&args, &format!("{}\n", spec.secret()))
    }

    /// `dbcreds add NAME --kind postgres --host HOST ...` (port 5432,
    /// database and user `app`) with `password`; asserts success.
    pub fn add_postgres(&self, name: &str, host: &str, password: &str) -> Output {
        let out = self.add(&EnvSpec::postgres(name, host).password(password));
        out.ok();
        out
    }

    /// Adds `name` as [`Sandbox::add_postgres`] does (on `db.internal`) with
    /// a new [`unique_password`]; returns the password.
    pub fn add_unique(&self, name: &str) -> String {
        let password = unique_password();
        self.add_postgres(name, "db.internal", &password);
        password
    }

    /// `dbcreds update NAME --password-stdin` with `password`; asserts
    /// success.
    pub fn set_password(&self, name: &str, password: &str) {
        self.cli_stdin(
            &["update", name, "--password-stdin"],
            &format!("{password}\n"),
        )
        .ok();
    }

    /// What `dbcreds get NAME` prints, without the newline; asserts success.
    #[track_caller]
    pub fn password_of(&self, name: &str) -> String {
        let out = self.cli(&["get", name]);
        out.ok();
        out.line().to_owned()
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

    /// `dbcreds ARGS... --json`, asserting success; the JSON.
    #[track_caller]
    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut args = args.to_vec();
        args.push("--json");
        let out = self.cli(&args);
        out.ok();
        out.json()
    }

    /// `dbcreds show NAME --json`.
    #[track_caller]
    pub fn show_json(&self, name: &str) -> serde_json::Value {
        self.json(&["show", name])
    }

    /// `dbcreds list --json`.
    #[track_caller]
    pub fn list_json(&self) -> serde_json::Value {
        self.json(&["list"])
    }

    /// The `state` that `dbcreds status --json` reports (`unlocked`,
    /// `locked`, `uninitialized`).
    #[track_caller]
    pub fn state(&self) -> String {
        let status = self.cli(&["status", "--json"]);
        status.json()["state"]
            .as_str()
            .unwrap_or_else(|| panic!("`status --json` has no state:\n{status}"))
            .to_owned()
    }

    /// The `unlockers` that `dbcreds status --json` reports, in its order.
    #[track_caller]
    pub fn unlockers(&self) -> Vec<String> {
        self.json(&["status"])["unlockers"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|u| u.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// `dbcreds audit NAME --json`: its events.
    #[track_caller]
    pub fn audit_events(&self, name: &str) -> Vec<serde_json::Value> {
        self.json(&["audit", name])
            .as_array()
            .cloned()
            .unwrap_or_default()
    }
}

/// True when one of `events` (from [`Sandbox::audit_events`]) is `op` with
/// `outcome`.
pub fn has_event(events: &[serde_json::Value], op: &str, outcome: &str) -> bool {
    events
        .iter()
        .any(|e| e["operation"] == op && e["outcome"] == outcome)
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
