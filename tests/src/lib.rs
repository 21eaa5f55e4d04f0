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
//!
//! The modules, by what they are about: the binaries under test and the
//! support files ([`bins`]); signals, waits, skipping, reading output line
//! by line ([`process`]); running a command, bounded, and asserting on its
//! [`Output`] ([`output`]); the private Secret Service ([`keyring`]); the
//! [`Sandbox`] and the agents in it ([`sandbox`], [`agent`]); [`EnvSpec`],
//! an environment for [`Sandbox::add`] ([`env_spec`]); passwords, exported
//! environments, searching files ([`data`]); the PostgreSQL and MariaDB
//! servers and their test logins ([`databases`]), MariaDB accounts of
//! one user for several hosts and test databases ([`mariadb`]); agents that do not
//! answer: a stopped one and a silent socket ([`silent`]); the web page
//! and plain HTTP requests to it ([`ui`]), and a headless Chromium to drive
//! it ([`browser`]); the exit codes by name ([`exit`]).
//!
//! Everything public is re-exported here (except [`exit`], used as
//! `exit::LOCKED`).

pub mod agent;
pub mod bins;
pub mod browser;
pub mod data;
pub mod databases;
pub mod display;
pub mod env_spec;
pub mod exit;
pub mod keyring;
pub mod mariadb;
pub mod output;
pub mod process;
pub mod sandbox;
pub mod silent;
pub mod ui;

pub use agent::{AgentProcess, AgentStartFailure};
pub use bins::{bin, example, path_var, repo_path, support};
pub use browser::{Browser, SCREENSHOTS_VAR};
pub use data::{
    PASSPHRASE, PASSWORD_PREFIX, assert_no_file_holds, awkward_password, contains_bytes,
    exported_env, files_under, password_tail, read_or_empty, token, unique_password,
};
pub use databases::{
    DB_HOST, DbLogin, MariaDb, MariaTestUser, PgTestRole, Postgres, Server, closed_port,
    mariadb_or_skip, mariadb_root, pg_log_file, pg_superuser, postgres_or_skip, unique_db_name,
};
pub use display::XServer;
pub use env_spec::EnvSpec;
pub use keyring::{Frozen, KeyringSession};
pub use mariadb::{MariaTestDb, mariadb_as};
pub use output::{Output, run, run_args, run_parallel};
pub use process::{
    COMMAND_TIMEOUT, EXIT_TIMEOUT, READY_TIMEOUT, TimedOut, all_pids, first_line, in_ci, is_root,
    kill_9, lines, python_or_skip, root_or_skip, signal, skip, terminate, wait_for_exit,
};
pub use sandbox::{NO_BUS, SANDBOX_MARKER, Sandbox, has_event};
pub use silent::{Silence, SilentSocket, Stopped};
pub use ui::{HttpResponse, UiProcess, http};
