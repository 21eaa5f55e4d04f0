//! The agent's life: bind the socket (or take systemd's), tell whoever
//! started us that we listen, unlock through the keyring once, serve until
//! a signal, then zeroize and remove the socket within a bounded time.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use dbcreds::config::{Config, Limit};

use crate::lockfile::{self, HeldLock, LockError};
use crate::state::Agent;
use crate::timers::Limits;
use crate::{server, transport};

/// The lock file beside `vault.db` (one agent per vault).
const VAULT_LOCK_FILE: &str = "vault.lock";

/// How long a graceful shutdown may take before the agent exits anyway
/// (for example while a keyring call hangs).
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Exit codes, the same numbers as the CLI's table (README, `dbcreds
/// --help`), so a script reads the agent's codes the way it reads the CLI's.
pub mod exit {
    pub const OTHER: i32 = 1;
    /// A bad configuration file or variable.
    pub const USAGE: i32 = 2;
    /// Another agent serves the socket or holds the vault.
    pub const AGENT_BUSY: i32 = 6;
    /// A directory that is not ours alone (or a link in our place).
    pub const PERMISSION: i32 = 13;
}

/// Why the agent could not start; each has its exit code.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] dbcreds::config::ConfigError),
    #[error("cannot use the socket systemd passed: {0}")]
    Activation(std::io::Error),
    #[error(transparent)]
    Bind(#[from] transport::BindError),
    #[error(
        "another dbcreds-agent (pid {pid}, socket {socket}) has the vault {vault} open: use that agent (DBCREDS_SOCK={socket}), or stop it with `dbcreds agent stop`"
    )]
    VaultBusy {
        pid: String,
        socket: String,
        vault: PathBuf,
    },
    #[error("{0}")]
    VaultDir(std::io::Error),
}

impl StartError {
    pub fn exit_code(&self) -> i32 {
        let refused = |e: &std::io::Error| {
            matches!(
                e.kind(),
                std::io::ErrorKind::Other | std::io::ErrorKind::PermissionDenied
            )
        };
        match self {
            Self::Config(_) => exit::USAGE,
            Self::Bind(transport::BindError::Busy { .. }) | Self::VaultBusy { .. } => {
                exit::AGENT_BUSY
            }
            Self::Bind(transport::BindError::Dir { source, .. }) | Self::VaultDir(source)
                if refused(source) =>
            {
                exit::PERMISSION
            }
            _ => exit::OTHER,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Socket to listen on; default from the config and `dbcreds::paths::socket()`.
    pub socket: Option<PathBuf>,
    /// Print `ready` on stdout once listening (or `error: ...`).
    pub ready_line: bool,
    /// Started by a client's autostart: new session, ready line, stdout
    /// closed afterwards.
    pub detach: bool,
    /// `--lock-after`, overriding the config.
    pub lock_after: Option<Limit>,
    /// `--max-unlocked`, overriding the config.
    pub max_unlocked: Option<Limit>,
}

impl Options {
    fn limits(&self, cfg: &Config) -> Limits {
        Limits {
            lock_after: self.lock_after.unwrap_or(cfg.lock_after).duration(),
            max_unlocked: self.max_unlocked.unwrap_or(cfg.max_unlocked).duration(),
        }
    }

    /// Reports `e` once: to the starter (a ready line) and the log, or in
    /// the foreground on stderr, which is where the log goes too.
    fn fail(&self, e: StartError) -> i32 {
        if self.ready_line || self.detach {
            tracing::error!("cannot start: {e}");
            println!("error: {e}");
        } else {
            eprintln!("dbcreds-agent: {e}");
        }
        e.exit_code()
    }
}

/// The socket path this agent serves, by the library's one rule (flag,
/// `DBCREDS_SOCK`, the config's `socket`, then the defaults), so clients
/// find the agent the config describes.
pub fn socket_path(opts: &Options, cfg: &Config) -> PathBuf {
    dbcreds::paths::resolve_socket(opts.socket.as_deref(), cfg.socket.as_deref())
}

/// One agent per vault, whatever their sockets: a lock beside `vault.db`
/// naming this agent's pid and socket, so a second agent can say which
/// one holds the vault.
fn lock_vault(vault: &Path, socket: &Path) -> Result<HeldLock, StartError> {
    let dir = vault.parent().unwrap_or(Path::new("."));
    crate::fsutil::create_private_dir(dir).map_err(StartError::VaultDir)?;
    let holder = format!("{} {}", std::process::id(), socket.display());
    lockfile::acquire(&dir.join(VAULT_LOCK_FILE), &holder).map_err(|e| match e {
        LockError::Held { holder } => {
            let (pid, sock) = holder.split_once(' ').unwrap_or((holder.as_str(), "?"));
            StartError::VaultBusy {
                pid: pid.to_owned(),
                socket: sock.to_owned(),
                vault: vault.to_owned(),
            }
        }
        LockError::Io { path, source } => StartError::VaultDir(std::io::Error::new(
            source.kind(),
            format!("cannot lock {}: {source}", path.display()),
        )),
    })
}

fn apply_config(cfg: &Config) {
    if let Some(Limit::After(d)) = cfg.keyring_timeout {
        crate::keyring::set_timeout(d);
    }
}

/// Runs the agent; returns the process exit code.
pub async fn run(opts: Options) -> i32 {
    let cfg = match Config::load() {
        Ok(c) => c,
        Err(e) => return opts.fail(e.into()),
    };
    apply_config(&cfg);
    let socket = socket_path(&opts, &cfg);
    let (listener, guard) = match crate::activation::take_listener() {
        Some(Ok(l)) => {
            tracing::info!("using the socket systemd passed (socket activation)");
            (l, None)
        }
        Some(Err(e)) => return opts.fail(StartError::Activation(e)),
        None => match transport::bind(&socket) {
            Ok(b) => (b.listener, Some(b.guard)),
            Err(e) => return opts.fail(e.into()),
        },
    };
    let vault = dbcreds::paths::vault();
    let _vault_lock = match lock_vault(&vault, &socket) {
        Ok(l) => l,
        Err(e) => return opts.fail(e),
    };
    let agent = Arc::new(Agent::open(&vault, opts.limits(&cfg)).await);
    agent.sources.configure(crate::sources::Settings {
        default_ttl: cfg
            .source_cache_ttl
            .map_or(crate::sources::Settings::default().default_ttl, |t| t.0),
        revoke_on_lock: cfg.revoke_on_lock.unwrap_or(true),
    });
    // A passphrase file is read before we report ready, so a request sent
    // right after `ready` finds the vault unlocked.
    let passphrase_file = std::env::var_os("DBCREDS_PASSPHRASE_FILE").filter(|f| !f.is_empty());
    if let Some(file) = &passphrase_file
        && let Err(e) = agent.unlock_with_file(std::path::Path::new(file)).await
    {
        tracing::warn!(error = %e, "unlock with DBCREDS_PASSPHRASE_FILE failed");
    }
    tracing::info!(socket = %socket.display(), vault = %agent.vault_path().display(), pid = std::process::id(), "listening");
    if opts.ready_line || opts.detach {
        println!("ready");
        let _ = std::io::stdout().flush();
    }
    if opts.detach {
        release_stdout();
    }
    if passphrase_file.is_none() {
        // Keyring unlocks may wait on a prompt: in the background. A `get`
        // arriving meanwhile waits for it (the unlock gate).
        let agent = agent.clone();
        tokio::spawn(async move {
            let _ = agent.auto_unlock().await;
        });
    }
    let timers = tokio::spawn({
        let agent = agent.clone();
        async move { agent.run_lock_timers().await }
    });

    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let signals = tokio::spawn(watch_signals(
        agent.clone(),
        stop_tx,
        opts.clone(),
        guard.is_some().then(|| socket.clone()),
    ));
    let shutdown = async {
        let _ = stop_rx.await;
        tracing::info!("shutting down");
    };
    let code = match server::serve(transport::incoming(listener), agent.clone(), shutdown).await {
        Ok(()) => 0,
        Err(e) => {
            tracing::error!(error = %e, "server failed");
            1
        }
    };
    signals.abort();
    timers.abort();
    drop(guard);
    code
}

/// SIGHUP: re-read the configuration; a bad file keeps the old settings.
fn reload(agent: &Agent, opts: &Options) {
    match Config::load() {
        Ok(cfg) => {
            apply_config(&cfg);
            agent.timers.set_limits(opts.limits(&cfg));
            tracing::info!("configuration reloaded");
        }
        Err(e) => tracing::error!(error = %e, "configuration not reloaded; keeping the old one"),
    }
}

#[cfg(unix)]
async fn watch_signals(
    agent: Arc<Agent>,
    stop: tokio::sync::oneshot::Sender<()>,
    opts: Options,
    socket: Option<PathBuf>,
) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int), Ok(mut usr1), Ok(mut hup)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
        signal(SignalKind::user_defined1()),
        signal(SignalKind::hangup()),
    ) else {
        tracing::error!("cannot install signal handlers");
        return;
    };
    loop {
        tokio::select! {
            _ = term.recv() => break,
            _ = int.recv() => break,
            _ = usr1.recv() => {
                // Like ssh-agent: SIGUSR1 drops every secret.
                agent.lock(true).await;
            }
            _ = hup.recv() => reload(&agent, &opts),
        }
    }
    shut_down(agent, stop, socket).await;
}

#[cfg(not(unix))]
async fn watch_signals(
    agent: Arc<Agent>,
    stop: tokio::sync::oneshot::Sender<()>,
    _opts: Options,
    socket: Option<PathBuf>,
) {
    let _ = tokio::signal::ctrl_c().await;
    shut_down(agent, stop, socket).await;
}

async fn shut_down(
    agent: Arc<Agent>,
    stop: tokio::sync::oneshot::Sender<()>,
    socket: Option<PathBuf>,
) {
    // Zeroize first, whatever else happens next. Bounded too: the state
    // lock could be held by a request stuck on a hung keyring call.
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, agent.lock(false)).await;
    let _ = stop.send(());
    tokio::time::sleep(SHUTDOWN_GRACE).await;
    tracing::warn!("graceful shutdown took too long; exiting");
    if let Some(s) = socket {
        let _ = std::fs::remove_file(s);
    }
    std::process::exit(0);
}

/// The starter reads our stdout only up to the ready line; point it at
/// /dev/null so later writes cannot fail on a closed pipe.
fn release_stdout() {
    #[cfg(unix)]
    if let Ok(null) = std::fs::OpenOptions::new().write(true).open("/dev/null") {
        let _ = rustix::stdio::dup2_stdout(&null);
    }
}
