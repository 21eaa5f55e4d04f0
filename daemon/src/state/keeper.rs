//! The lease keeper's loop, for the agent's lifetime: each pass renews and
//! drops what is due (`Sources::tick`), fetches replacements for leases
//! near their max_ttl and tells watchers, then sleeps until the next
//! deadline, a cache change, or a tick (to keep source logins alive).

use std::sync::Arc;
use std::time::Duration;

use dbcreds::EnvName;
use tokio::time::Instant;

use super::Agent;

/// The longest the keeper sleeps, so logins are kept alive too.
const TICK: Duration = Duration::from_secs(30);

pub async fn run(agent: Arc<Agent>) {
    let mut last_login_check = Instant::now();
    loop {
        let tick = agent.sources.tick().await;
        tracing::trace!(
            replace = tick.replace.len(),
            acted = tick.acted,
            "lease keeper"
        );
        for env in &tick.replace {
            replace(&agent, env).await;
        }
        if last_login_check.elapsed() >= TICK {
            last_login_check = Instant::now();
            agent.sources.keep_logins().await;
        }
        if tick.acted {
            // What was just done moved its own deadlines: plan again.
            continue;
        }
        let sleep = tick.next.map_or(TICK, |n| {
            n.saturating_duration_since(Instant::now()).min(TICK)
        });
        tokio::select! {
            () = tokio::time::sleep(sleep.max(Duration::from_millis(50))) => {}
            () = agent.sources.wake.notified() => {}
        }
    }
}

/// A new credential before the old lease ends; watchers rebuild pools.
async fn replace(agent: &Agent, env: &str) {
    let Ok(name) = EnvName::parse(env) else {
        return;
    };
    match agent.refetch(&name).await {
        Ok(()) => agent.sources.announce(env),
        Err(e) => {
            tracing::warn!(environment = %env, error = %e, "replacing a lease failed");
            agent.sources.replace_failed(env);
        }
    }
}
