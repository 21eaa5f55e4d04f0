//! Change notifications for the `Watch` RPC: every put, update, remove and
//! rotation is announced on a broadcast channel; each watcher holds a
//! receiver. Nothing secret travels here, only names and what changed.
//!
//! On shutdown [`Events::close`] ends every open stream, so tonic's graceful
//! shutdown (which waits for open streams) is not held up by watchers.

use std::pin::Pin;

use chrono::{DateTime, Utc};
use dbcreds::proto::v1;
use tokio::sync::{broadcast, watch};

/// How many changes a slow watcher may fall behind before it is told it
/// lagged (and should re-read everything).
const BACKLOG: usize = 256;

#[derive(Clone, Debug)]
pub struct ChangeEvent {
    pub environment: String,
    /// put, update, remove, rotate.
    pub change: &'static str,
    pub password_changed: bool,
    pub at: DateTime<Utc>,
}

#[derive(Clone)]
pub struct Events {
    tx: broadcast::Sender<ChangeEvent>,
    closed: watch::Sender<bool>,
}

impl Default for Events {
    fn default() -> Self {
        Self::new()
    }
}

pub type ChangeStream =
    Pin<Box<dyn tokio_stream::Stream<Item = Result<v1::Change, tonic::Status>> + Send + 'static>>;

impl Events {
    pub fn new() -> Self {
        Self {
            tx: broadcast::channel(BACKLOG).0,
            closed: watch::Sender::new(false),
        }
    }

    /// Announces a change; nobody listening is fine.
    pub fn send(&self, environment: &str, change: &'static str, password_changed: bool) {
        let _ = self.tx.send(ChangeEvent {
            environment: environment.to_owned(),
            change,
            password_changed,
            at: Utc::now(),
        });
    }

    /// Whether any `Watch` stream is open (the keeper counts their
    /// credentials as in use).
    pub fn watching(&self) -> bool {
        self.tx.receiver_count() > 0
    }

    /// Ends every stream from [`Events::stream`], now and later.
    pub fn close(&self) {
        self.closed.send_replace(true);
    }

    /// Changes from now on, of the environments in `names` (all when empty).
    /// Subscribes before returning, so nothing that happens after the call
    /// is missed. With `vault` (whether the vault is unlocked), the stream
    /// starts with the vault's state, "lock" or "unlock", and reports each
    /// change of it.
    pub fn stream(&self, names: Vec<String>, vault: Option<watch::Receiver<bool>>) -> ChangeStream {
        let rx = self.tx.subscribe();
        let closed = self.closed.subscribe();
        let vault = vault.map(|mut v| {
            // Unseen, so the first poll reports the state as it is.
            v.mark_changed();
            v
        });
        Box::pin(futures_util::stream::unfold(
            (rx, closed, names, vault),
            |(mut rx, mut closed, names, mut vault)| async move {
                loop {
                    if *closed.borrow_and_update() {
                        return None;
                    }
                    let change = tokio::select! {
                        biased;
                        _ = closed.changed() => return None,
                        unlocked = vault_changed(&mut vault) => match unlocked {
                            Some(u) => vault_change(u),
                            // The agent is going away.
                            None => return None,
                        },
                        r = rx.recv() => match r {
                            Ok(ev) if names.is_empty() || names.contains(&ev.environment) => v1::Change {
                                environment: ev.environment,
                                change: ev.change.into(),
                                password_changed: ev.password_changed,
                                at: ev.at.timestamp(),
                            },
                            Ok(_) => continue,
                            Err(broadcast::error::RecvError::Lagged(_)) => v1::Change {
                                environment: String::new(),
                                change: "lagged".into(),
                                password_changed: true,
                                at: Utc::now().timestamp(),
                            },
                            Err(broadcast::error::RecvError::Closed) => return None,
                        },
                    };
                    return Some((Ok(change), (rx, closed, names, vault)));
                }
            },
        ))
    }
}

/// The vault's state once it changed (at once the first time); never
/// without a receiver; `None` once the sender is gone.
async fn vault_changed(vault: &mut Option<watch::Receiver<bool>>) -> Option<bool> {
    match vault {
        Some(v) => match v.changed().await {
            Ok(()) => Some(*v.borrow_and_update()),
            Err(_) => None,
        },
        None => std::future::pending().await,
    }
}

fn vault_change(unlocked: bool) -> v1::Change {
    v1::Change {
        environment: String::new(),
        change: if unlocked { "unlock" } else { "lock" }.into(),
        password_changed: false,
        at: Utc::now().timestamp(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio_stream::StreamExt;

    #[tokio::test]
    async fn filtered_changes_then_the_end_on_close() {
        let events = Events::new();
        let mut all = events.stream(vec![], None);
        let mut prod = events.stream(vec!["prod".into()], None);
        events.send("dev", "update", false);
        events.send("prod", "rotate", true);
        let c = all.next().await.unwrap().unwrap();
        assert_eq!(
            (c.environment.as_str(), c.change.as_str()),
            ("dev", "update")
        );
        let c = prod.next().await.unwrap().unwrap();
        assert_eq!(
            (c.environment.as_str(), c.change.as_str()),
            ("prod", "rotate")
        );
        assert!(c.password_changed);
        events.close();
        assert!(prod.next().await.is_none());
        // Closing wins over what is still queued.
        assert!(all.next().await.is_none());
    }

    #[tokio::test]
    async fn vault_events_start_with_the_state_and_follow_it() {
        let events = Events::new();
        let state = watch::Sender::new(true);
        let mut s = events.stream(vec!["prod".into()], Some(state.subscribe()));
        let mut plain = events.stream(vec![], None);
        let c = s.next().await.unwrap().unwrap();
        assert_eq!((c.environment.as_str(), c.change.as_str()), ("", "unlock"));
        state.send_replace(false);
        assert_eq!(s.next().await.unwrap().unwrap().change, "lock");
        // Unchanged: nothing to say. An environment change comes next.
        state.send_if_modified(|u| std::mem::replace(u, false));
        events.send("prod", "rotate", true);
        assert_eq!(s.next().await.unwrap().unwrap().change, "rotate");
        // Without vault events, none.
        assert_eq!(plain.next().await.unwrap().unwrap().change, "rotate");
        events.close();
        assert!(s.next().await.is_none());
    }
}
