//! The lease keeper's work on the cache: renews the leases of credentials
//! in use, says which ones to replace before they reach their max_ttl,
//! lets unused ones go, and keeps source logins alive. The loop that runs
//! it (and fetches the replacements) is `crate::state::keeper`.

use std::time::Duration;

use dbcreds_sources::Lease;
use tokio::time::Instant;

use super::Sources;
use super::cache::margin;

/// How long a failed renewal (the source is down) waits before the next
/// try.
const RETRY: Duration = Duration::from_secs(5);

enum Action {
    Renew {
        env: String,
        source: String,
        lease: Lease,
    },
    Replace {
        env: String,
    },
    Drop {
        env: String,
    },
}

/// What one pass of the keeper leaves to its caller.
pub struct Tick {
    /// Environments whose credential must be fetched anew now.
    pub replace: Vec<String>,
    /// When something is due next, if anything is.
    pub next: Option<Instant>,
    /// Something was done: plan again before sleeping.
    pub acted: bool,
}

impl Sources {
    /// Renews and drops what is due; returns what to replace.
    pub async fn tick(&self) -> Tick {
        let (actions, next) = self.plan();
        let acted = !actions.is_empty();
        let mut replace = Vec::new();
        for a in actions {
            match a {
                Action::Renew { env, source, lease } => self.renew(&env, &source, &lease).await,
                Action::Replace { env } => replace.push(env),
                Action::Drop { env } => self.forget(&env).await,
            }
        }
        self.cache.prune_retired();
        Tick {
            replace,
            next,
            acted,
        }
    }

    /// A replacement failed: try again in a while, not in a tight loop.
    pub fn replace_failed(&self, env: &str) {
        self.cache.with(|m| {
            if let Some(c) = m.get_mut(env) {
                c.refresh_at = Instant::now() + RETRY;
            }
        });
    }

    /// Renews tokens, or logs in again, for every open session.
    pub async fn keep_logins(&self) {
        for (name, s) in self.sessions() {
            if let Err(e) = s.keep_login().await {
                tracing::warn!(source = %name, error = %e, "keeping the source login alive failed");
            }
        }
    }

    /// What is due now, and when the next thing will be.
    fn plan(&self) -> (Vec<Action>, Option<Instant>) {
        let watched = self.watched();
        let now = Instant::now();
        let mut next: Option<Instant> = None;
        let mut soon = |t: Instant| next = Some(next.map_or(t, |n| n.min(t)));
        let actions = self
            .cache
            .with(|m| {
                let mut out = Vec::new();
                for (env, c) in m.iter() {
                    let Some(lease) = &c.lease else { continue };
                    let in_use = watched || c.used_within(lease.duration);
                    let ends = c.valid_until.unwrap_or(now);
                    let (due, action) = if !in_use {
                        (ends, Action::Drop { env: env.clone() })
                    } else if c.capped || !lease.renewable {
                        (c.refresh_at, Action::Replace { env: env.clone() })
                    } else {
                        let renew_at = (c.renewed_at + lease.duration / 2).max(c.retry_at);
                        let renew = Action::Renew {
                            env: env.clone(),
                            source: c.source.clone(),
                            lease: lease.clone(),
                        };
                        (renew_at, renew)
                    };
                    if now >= due {
                        out.push(action);
                    } else {
                        soon(due);
                    }
                }
                out
            })
            .unwrap_or_default();
        (actions, next)
    }

    async fn renew(&self, env: &str, source: &str, lease: &Lease) {
        let Some(session) = self.session_of(source) else {
            return;
        };
        match session.renew(lease, lease.duration).await {
            Ok(got) => {
                self.cache.with(|m| {
                    if let Some(c) = m.get_mut(env) {
                        let now = Instant::now();
                        c.renewed_at = now;
                        c.valid_until = Some(now + got);
                        c.refresh_at = now + got - margin(got.min(lease.duration));
                        c.capped = got < lease.duration;
                    }
                });
                let outcome = format!("ok lease …{} for {}s", lease.suffix(), got.as_secs());
                self.audit(env, "source-renew", &outcome).await;
            }
            Err(e) => {
                tracing::warn!(environment = %env, lease = lease.suffix(), error = %e, "lease renewal failed");
                self.audit(env, "source-renew", super::reason_word(&e))
                    .await;
                let outage = e.is_outage();
                self.cache.with(|m| {
                    if let Some(c) = m.get_mut(env) {
                        if outage {
                            c.retry_at = Instant::now() + RETRY;
                        } else {
                            // Revoked outside dbcreds, or no longer
                            // renewable: replace it now.
                            c.capped = true;
                            c.refresh_at = Instant::now();
                        }
                    }
                });
            }
        }
    }
}
