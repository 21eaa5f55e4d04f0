//! Start-up and the serving loop: connect to the agent (starting it, as
//! any client may), bind 127.0.0.1 on a port the kernel picks, print the
//! URL with its one-time token, open it, and serve until
//! [`lifecycle::until_stop`] says to stop.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::middleware::from_fn_with_state;
use dbcreds::{Client, LockState};

use crate::lifecycle::{Stop, until_stop};
use crate::peer::SameUser;
use crate::session::Session;
use crate::state::AppState;
use crate::{guard, open, pages};

/// How long connections still open may take to finish once the page stops.
const DRAIN: Duration = Duration::from_secs(2);

/// Runs the page; returns why it stopped.
pub async fn run(idle: Duration, open_browser: bool) -> anyhow::Result<Stop> {
    let mut client = Client::connect_or_start().await?;
    let status = client.check_protocol().await?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .context("cannot listen on 127.0.0.1")?;
    let port = listener.local_addr()?.port();
    let session = Session::new().context("no randomness from the OS")?;
    let url = format!(
        "http://127.0.0.1:{port}{}?token={}",
        guard::SESSION_PATH,
        session.token()
    );
    let st = Arc::new(AppState::new(client, session, port, idle));
    let app = router(st.clone());

    // The URL alone on stdout (for scripts and the tests); words on stderr.
    println!("{url}");
    eprintln!(
        "dbcreds ui: serving {} for the browser that opens the link above; it stops after {} without a request, when the vault is locked elsewhere or the agent stops (Ctrl-C stops it now)",
        st.origin,
        humantime::format_duration(idle)
    );
    if open_browser && !open::browser(&url) {
        eprintln!("dbcreds ui: no browser opener (xdg-open) found: open the link above yourself");
    }

    let (tx, rx) = tokio::sync::oneshot::channel();
    let watcher = st.clone();
    let unlocked = status.state == LockState::Unlocked;
    let serve = axum::serve(SameUser::new(listener), app).with_graceful_shutdown(async move {
        let _ = tx.send(until_stop(watcher, unlocked).await);
    });
    let serving = tokio::spawn(async move { serve.await });
    let stop = rx.await.unwrap_or(Stop::Signal);
    // Keep-alive connections of the browser must not hold the exit.
    let _ = tokio::time::timeout(DRAIN, serving).await;
    Ok(stop)
}

fn router(st: Arc<AppState>) -> Router {
    pages::routes(st.clone()).layer(from_fn_with_state(st, guard::guard))
}

/// The exit code for a failure to start: 6 when no agent could be reached
/// or started, 12 when there is no vault (as the CLI says them), 1
/// otherwise.
pub fn exit_code(e: &anyhow::Error) -> u8 {
    use dbcreds::{Error, Reason};
    match e.downcast_ref::<Error>() {
        Some(e) if e.reason() == Some(Reason::NotInitialized) => 12,
        Some(
            Error::AgentUnreachable { .. }
            | Error::AgentUnresponsive { .. }
            | Error::AgentConnectionLost { .. }
            | Error::AgentStart(_)
            | Error::ProtocolMismatch { .. },
        ) => 6,
        _ => 1,
    }
}
