//! Database operations the agent performs itself, so passwords never leave
//! it for them: connection tests and crash-safe password rotation. Both
//! connect with sqlx through [`connect`]; rotation state lives in the vault
//! (`crate::vault::rotation`); outcomes go to the audit log, password
//! changes to the change stream ([`crate::events`]).

mod accounts;
pub mod connect;
pub mod password;
pub mod rotate;
pub mod scram;
mod set_password;

use std::sync::{Arc, Weak};

use chrono::Utc;
use dbcreds::{Credential, EnvName, TestResult};
use tokio::sync::Mutex;

use crate::audit::AuditLog;
use crate::error::Result;
use crate::events::Events;
use crate::state::Agent;
use crate::transport::Peer;

pub use rotate::{RotateParams, Rotated};

pub struct DbOps {
    agent: Arc<Agent>,
    audit: AuditLog,
    events: Events,
    /// One rotation (or recovery) at a time: each reads the rotation record,
    /// talks to the server and writes the record back.
    rotation_gate: Mutex<()>,
}

impl DbOps {
    pub fn new(agent: Arc<Agent>, audit: AuditLog, events: Events) -> Arc<Self> {
        Arc::new(Self {
            agent,
            audit,
            events,
            rotation_gate: Mutex::new(()),
        })
    }

    /// `dbcreds test`: connect with the stored credentials, report the
    /// version and latency, store the outcome either way.
    pub async fn test(&self, name: &EnvName, peer: Option<&Peer>) -> Result<TestResult> {
        let result = self.test_inner(name).await;
        let outcome = match &result {
            Ok(_) => "ok",
            Err(e) => e.reason().as_str(),
        };
        self.audit
            .record_by(peer, name.as_str(), "test", outcome)
            .await;
        result
    }

    async fn test_inner(&self, name: &EnvName) -> Result<TestResult> {
        let (env, password) = self.agent.get(name).await?;
        let cred = Credential::new(env, password);
        let started = Utc::now();
        let probe = connect::probe(&cred).await;
        let result = match &probe {
            Ok(p) => TestResult {
                at: started,
                ok: true,
                detail: p.version.clone(),
                latency_ms: millis(p.latency),
                reason: String::new(),
                tls: p.tls,
            },
            Err(e) => TestResult {
                at: started,
                ok: false,
                detail: e.message.clone(),
                latency_ms: millis((Utc::now() - started).to_std().unwrap_or_default()),
                reason: e.reason.as_str().to_owned(),
                tls: false,
            },
        };
        self.store_test(name, &result).await?;
        match probe {
            Ok(_) => Ok(result),
            Err(e) => Err(e.into()),
        }
    }

    async fn store_test(&self, name: &EnvName, result: &TestResult) -> Result<()> {
        let n = name.to_string();
        self.agent
            .write_and_reload(name, |v| async move { v.set_last_test(&n, result).await })
            .await?;
        Ok(())
    }

    /// Holds off every rotation and rotation recovery while the guard
    /// lives: for a re-key (which re-seals their pending passwords) and a
    /// restore (which swaps the vault under them).
    pub async fn pause_rotations(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.rotation_gate.lock().await
    }

    /// `dbcreds rotate` and `dbcreds rotate --resume`.
    pub async fn rotate(
        &self,
        name: &EnvName,
        params: RotateParams,
        peer: Option<&Peer>,
    ) -> Result<Rotated> {
        let _gate = self.rotation_gate.lock().await;
        let op = if params.resume {
            "rotate-resume"
        } else {
            "rotate"
        };
        let result = if params.resume {
            rotate::settle(self, name).await
        } else {
            rotate::rotate(self, name, &params).await
        };
        self.after_rotation(name, op, peer, &result).await;
        result
    }

    async fn after_rotation(
        &self,
        name: &EnvName,
        op: &'static str,
        peer: Option<&Peer>,
        result: &Result<Rotated>,
    ) {
        let outcome = match result {
            Ok(Rotated { outcome: o, .. }) => {
                if o.changed_password() {
                    self.events.send(name.as_str(), "rotate", true);
                }
                o.as_str()
            }
            Err(e) => e.reason().as_str(),
        };
        self.audit.record_by(peer, name.as_str(), op, outcome).await;
    }

    /// Finishes or rolls back every interrupted rotation, each time the
    /// vault is unlocked (at start, or later by the user): the pending
    /// passwords are sealed, so this needs the data key. Holds only a weak
    /// reference between unlocks, so it never keeps the service (and its
    /// audit writer) alive past shutdown.
    pub fn spawn_recovery(self: &Arc<Self>) {
        let weak: Weak<Self> = Arc::downgrade(self);
        let mut unlocks = self.agent.unlock_events();
        tokio::spawn(async move {
            loop {
                {
                    let Some(ops) = weak.upgrade() else { return };
                    if ops.agent.with_key(|_| ()).await.is_ok() {
                        ops.recover_all().await;
                    }
                }
                if unlocks.changed().await.is_err() {
                    return;
                }
            }
        });
    }

    async fn recover_all(&self) {
        let Ok(vault) = self.agent.vault_or_error().await else {
            return;
        };
        let names = match vault.unfinished_rotations().await {
            Ok(n) => n,
            Err(e) => {
                tracing::error!(error = %e, "cannot list unfinished rotations");
                return;
            }
        };
        for raw in names {
            let Ok(name) = EnvName::parse(&raw) else {
                continue;
            };
            let _gate = self.rotation_gate.lock().await;
            tracing::info!(environment = %name, "finishing an interrupted password rotation");
            let result = rotate::settle(self, &name).await;
            match &result {
                Ok(r) => {
                    tracing::info!(environment = %name, outcome = r.outcome.as_str(), "interrupted rotation settled")
                }
                Err(e) => {
                    tracing::warn!(environment = %name, error = %e, "interrupted rotation left for `dbcreds rotate --resume`")
                }
            }
            self.after_rotation(&name, "recover", None, &result).await;
        }
    }
}

fn millis(d: std::time::Duration) -> u32 {
    u32::try_from(d.as_millis()).unwrap_or(u32::MAX)
}
