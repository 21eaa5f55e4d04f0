//! The agent's life: bind the socket, tell whoever started us that we
//! listen, unlock through the keyring once, serve until a signal, then
//! zeroize and remove the socket within a bounded time.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::server;
use crate::state::Agent;

/// How long a graceful shutdown may take before the agent exits anyway
/// (for example while a keyring call hangs).
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Socket to listen on; default from `dbcreds::paths::socket()`.
    pub socket: Option<PathBuf>,
    /// Print `ready` on stdout once listening (or `error: ...`).
    pub ready_line: bool,
    /// Started by a client's autostart: new session, ready line, stdout
    /// closed afterwards.
    pub detach: bool,
}

/// Runs the agent; returns the process exit code.
pub async fn run(opts: Options) -> i32 {
    let socket = opts.socket.clone().unwrap_or_else(dbcreds::paths::socket);
    let bound = match server::bind(&socket) {
        Ok(b) => b,
        Err(e) => {
            tracing::error!(error = %e, "cannot start");
            if opts.ready_line || opts.detach {
                println!("error: {e}");
            } else {
                eprintln!("dbcreds-agent: {e}");
            }
            return 3;
        }
    };
    let agent = Arc::new(Agent::open(&dbcreds::paths::vault()).await);
    tracing::info!(socket = %socket.display(), vault = %agent.vault_path().display(), pid = std::process::id(), "listening");
    if opts.ready_line || opts.detach {
        println!("ready");
        let _ = std::io::stdout().flush();
    }
    if opts.detach {
        release_stdout();
    }
    tokio::spawn(unlock_at_start(agent.clone()));

    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let signals = tokio::spawn(watch_signals(agent.clone(), stop_tx, socket.clone()));
    let shutdown = async {
        let _ = stop_rx.await;
        tracing::info!("shutting down");
    };
    let server::Bound { listener, guard } = bound;
    let code = match server::serve(listener, agent.clone(), shutdown).await {
        Ok(()) => 0,
        Err(e) => {
            tracing::error!(error = %e, "server failed");
            1
        }
    };
    signals.abort();
    drop(guard);
    code
}

async fn unlock_at_start(agent: Arc<Agent>) {
    if let Some(file) = std::env::var_os("DBCREDS_PASSPHRASE_FILE").filter(|f| !f.is_empty()) {
        if let Err(e) = agent.unlock_with_file(std::path::Path::new(&file)).await {
            tracing::warn!(error = %e, "unlock with DBCREDS_PASSPHRASE_FILE failed");
        }
        return;
    }
    agent.auto_unlock().await;
}

#[cfg(unix)]
async fn watch_signals(agent: Arc<Agent>, stop: tokio::sync::oneshot::Sender<()>, socket: PathBuf) {
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
            _ = hup.recv() => tracing::info!("SIGHUP: nothing to reload"),
        }
    }
    // Zeroize first, whatever else happens next.
    agent.lock(false).await;
    let _ = stop.send(());
    tokio::time::sleep(SHUTDOWN_GRACE).await;
    tracing::warn!("graceful shutdown took too long; exiting");
    let _ = std::fs::remove_file(&socket);
    std::process::exit(0);
}

#[cfg(not(unix))]
async fn watch_signals(agent: Arc<Agent>, stop: tokio::sync::oneshot::Sender<()>, socket: PathBuf) {
    let _ = tokio::signal::ctrl_c().await;
    agent.lock(false).await;
    let _ = stop.send(());
    tokio::time::sleep(SHUTDOWN_GRACE).await;
    let _ = socket;
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
