//! The lease keeper: renews the leases of credentials in use, replaces
//! them before they reach their max_ttl (and tells watchers, so pools
//! rebuild), lets unused ones go, and keeps source logins alive.

use std::sync::Arc;
use std::time::Duration;

use dbcreds::EnvName;
use tokio::time::Instant;

use super::cache::margin;
use crate::state::Agent;

/// The longest the keeper sleeps, so logins are kept alive too.
const TICK: Duration = Duration::from_secs(30);

enum Action {
    Renew {
        env: String,
        source: String,
        lease: dbcreds_sources::Lease,
    },
    Replace {
        env: String,
    },
    Drop {
        env: String,
    },
}

/// Runs for the agent's lifetime.
pub async fn run(agent: Arc<Agent>) {
    let mut last_login_check = Instant::now();
    loop {
        let (actions, next) = plan(&agent);
        tracing::trace!(due = actions.len(), next = ?next.map(|n| n.saturating_duration_since(Instant::now())), "lease keeper");
        let acted = !actions.is_empty();
        for a in actions {
            act(&agent, a).await;
        }
        agent.sources.cache.prune_retired();
        if last_login_check.elapsed() >= TICK {
            last_login_check = Instant::now();
            for (name, s) in agent.sources.sessions() {
                if let Err(e) = s.keep_login().await {
                    tracing::warn!(source = %name, error = %e, "keeping the source login alive failed");
                }
            }
        }
        if acted {
            // What was just done moved its own deadlines: plan again.
            continue;
        }
        let sleep = next.map_or(TICK, |n| {
            n.saturating_duration_since(Instant::now()).min(TICK)
        });
        tokio::select! {
            () = tokio::time::sleep(sleep.max(Duration::from_millis(50))) => {}
            () = agent.sources.wake.notified() => {}
        }
    }
}

/// What is due now, and when the next thing will be.
fn plan(agent: &Agent) -> (Vec<Action>, Option<Instant>) {
    let watched = agent.sources.watched();
    let now = Instant::now();
    let mut next: Option<Instant> = None;
    let mut soon = |t: Instant| next = Some(next.map_or(t, |n| n.min(t)));
    let actions = agent
        .sources
        .cache
        .with(|m| {
            let mut out = Vec::new();
            for (env, c) in m.iter() {
                let Some(lease) = &c.lease else { continue };
                let in_use = watched || c.used_within(lease.duration);
                let ends = c.valid_until.unwrap_or(now);
                if !in_use {
                    if now >= ends {
                        out.push(Action::Drop { env: env.clone() });
                    } else {
                        soon(ends);
                    }
                    continue;
                }
                if c.capped || !lease.renewable {
                    if now >= c.refresh_at {
                        out.push(Action::Replace { env: env.clone() });
                    } else {
                        soon(c.refresh_at);
                    }
                    continue;
                }
                let renew_at = c.renewed_at + lease.duration / 2;
                if now >= renew_at {
                    out.push(Action::Renew {
                        env: env.clone(),
                        source: c.source.clone(),
                        lease: lease.clone(),
                    });
                } else {
                    soon(renew_at);
                }
            }
            out
        })
        .unwrap_or_default();
    (actions, next)
}

async fn act(agent: &Agent, a: Action) {
    let sources = &agent.sources;
    match a {
        Action::Renew { env, source, lease } => {
            let Some(session) = sources.session_of(&source) else {
                return;
            };
            match session.renew(&lease, lease.duration).await {
                Ok(got) => {
                    sources.cache.with(|m| {
                        if let Some(c) = m.get_mut(&env) {
                            let now = Instant::now();
                            c.renewed_at = now;
                            c.valid_until = Some(now + got);
                            c.refresh_at = now + got
                                - margin(lease.duration.min(got.max(Duration::from_secs(1))));
                            c.capped = got < lease.duration;
                        }
                    });
                    let outcome = format!("ok lease …{} for {}s", lease.suffix(), got.as_secs());
                    sources.audit(&env, "source-renew", &outcome).await;
                }
                Err(e) => {
                    tracing::warn!(environment = %env, lease = lease.suffix(), error = %e, "lease renewal failed");
                    sources
                        .audit(&env, "source-renew", super::reason_word(&e))
                        .await;
                    if !e.is_outage() {
                        // Revoked outside dbcreds, or no longer renewable: the
                        // next use fetches a new one.
                        sources.cache.with(|m| {
                            if let Some(c) = m.get_mut(&env) {
                                c.capped = true;
                                c.refresh_at = Instant::now();
                            }
                        });
                    }
                }
            }
        }
        Action::Replace { env } => {
            let Ok(name) = EnvName::parse(&env) else {
                return;
            };
            match agent.refetch(&name).await {
                Ok(()) => sources.announce(&env),
                Err(e) => {
                    tracing::warn!(environment = %env, error = %e, "replacing a lease failed");
                    // Try again in a while, not in a tight loop.
                    sources.cache.with(|m| {
                        if let Some(c) = m.get_mut(&env) {
                            c.refresh_at = Instant::now() + Duration::from_secs(5);
                        }
                    });
                }
            }
        }
        Action::Drop { env } => sources.forget(&env).await,
    }
}
