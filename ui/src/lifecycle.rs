//! When the page stops by itself: no request for the idle time, the vault
//! locked by anything but this page (the agent's idle lock or hard cap,
//! `dbcreds lock`), the agent gone (its change stream ends with it), or a
//! signal.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use dbcreds::LockState;
use tokio::time::{Instant, MissedTickBehavior};

use crate::state::AppState;

/// How often the agent's lock state is asked for (`Status` uses no
/// secret, so it does not keep the vault unlocked).
const POLL: Duration = Duration::from_secs(1);

/// How long after a lock the agent's change stream may end for the lock
/// to count as the agent stopping (it lets requests in flight finish for
/// 300 ms, then closes every connection).
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// Why the page stopped.
#[derive(Debug)]
pub enum Stop {
    /// No request for this long.
    Idle(Duration),
    /// The vault was locked, not from this page.
    Locked,
    /// The agent stopped or cannot be reached.
    AgentGone(String),
    /// SIGINT or SIGTERM.
    Signal,
}

impl fmt::Display for Stop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Idle(d) => write!(f, "no request for {}", humantime::format_duration(*d)),
            Self::Locked => f.write_str("the vault was locked"),
            Self::AgentGone(why) => write!(f, "the agent stopped ({why})"),
            Self::Signal => f.write_str("interrupted"),
        }
    }
}

/// Waits until the page must stop, and says why.
pub async fn until_stop(st: Arc<AppState>, unlocked: bool) -> Stop {
    tokio::select! {
        s = idle(&st) => s,
        s = agent(&st, unlocked) => s,
        s = signal() => s,
    }
}

async fn idle(st: &AppState) -> Stop {
    loop {
        let deadline = st.last_request() + st.idle;
        if Instant::now() >= deadline {
            return Stop::Idle(st.idle);
        }
        // A request re-arms the timer early; the deadline is read again.
        tokio::select! {
            _ = tokio::time::sleep_until(deadline) => {}
            _ = st.activity.notified() => {}
        }
    }
}

/// Watches the agent: its change stream ends when it shuts down, and its
/// lock state is polled. `unlocked` is the state the page started in.
async fn agent(st: &AppState, mut unlocked: bool) -> Stop {
    let mut client = st.client();
    let mut watch = match client.watch(&[]).await {
        Ok(w) => w,
        Err(e) => return Stop::AgentGone(e.to_string()),
    };
    let mut tick = tokio::time::interval(POLL);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            change = watch.next() => match change {
                Ok(Some(_)) => {}
                Ok(None) => return Stop::AgentGone("it shut down".into()),
                Err(e) => return Stop::AgentGone(e.to_string()),
            },
            _ = tick.tick() => {
                // Not while this page's own lock is under way: its request
                // and this look must not interleave.
                let _gate = st.lock_gate.lock().await;
                match client.status().await {
                    Err(e) => return Stop::AgentGone(e.to_string()),
                    Ok(s) => {
                        let now_unlocked = s.state == LockState::Unlocked;
                        if unlocked && !now_unlocked && !st.locked_here() {
                            return locked_or_stopping(&mut watch).await;
                        }
                        if now_unlocked {
                            // However it was unlocked, the next lock is not ours.
                            st.set_locked_here(false);
                        }
                        unlocked = now_unlocked;
                    }
                }
            }
        }
    }
}

/// A stopping agent locks the vault first (SIGTERM zeroizes before it
/// closes anything), so a lock may be the start of a shutdown: if the
/// change stream ends soon after, the agent stopped.
async fn locked_or_stopping(watch: &mut dbcreds::Watch) -> Stop {
    let ended = async {
        loop {
            match watch.next().await {
                Ok(Some(_)) => {}
                Ok(None) => return Stop::AgentGone("it shut down".into()),
                Err(e) => return Stop::AgentGone(e.to_string()),
            }
        }
    };
    tokio::time::timeout(SHUTDOWN_GRACE, ended)
        .await
        .unwrap_or(Stop::Locked)
}

#[cfg(unix)]
async fn signal() -> Stop {
    use tokio::signal::unix::{SignalKind, signal};
    match (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) {
        (Ok(mut int), Ok(mut term)) => {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
        }
        _ => std::future::pending::<()>().await,
    }
    Stop::Signal
}

#[cfg(not(unix))]
async fn signal() -> Stop {
    let _ = tokio::signal::ctrl_c().await;
    Stop::Signal
}
