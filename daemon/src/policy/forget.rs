//! The timer behind `max_unlocked` per environment: forgets each secret
//! when its policy's time since the unlock (or since it was stored) runs
//! out, while the vault and the other secrets stay unlocked. It wakes at
//! the next deadline, or when secrets come into memory or a policy changes.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use crate::state::Agent;

/// Every environment's effective `max_unlocked`.
async fn limits(agent: &Agent) -> HashMap<String, Duration> {
    let Ok((views, _)) = agent.policy_views().await else {
        return HashMap::new();
    };
    views
        .iter()
        .filter_map(|v| {
            let d = v.effective().0?.policy.max_unlocked?;
            Some((v.env.name.to_string(), d))
        })
        .collect()
}

/// Runs for the agent's lifetime.
pub async fn run(agent: Arc<Agent>, changed: Arc<Notify>) {
    loop {
        let limits = limits(&agent).await;
        let next = if limits.is_empty() {
            None
        } else {
            agent.forget_due(&limits).await
        };
        let due = async {
            match next {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = due => {}
            () = changed.notified() => {}
            () = agent.loaded().notified() => {}
        }
    }
}
