//! The audit log writer. Handlers hand events to a channel and reply at
//! once; this task writes them to the vault in batches, off the reply's
//! path. On shutdown the channel closes and the task drains what is left
//! before the vault closes, so no event is lost.

use std::sync::Arc;

use tokio::sync::mpsc;

use crate::state::Agent;
use crate::vault::AuditEvent;

/// Events waiting beyond this are written by the sender itself (back
/// pressure) rather than dropped.
const QUEUE: usize = 4096;
const BATCH: usize = 512;

#[derive(Clone)]
pub struct AuditLog {
    tx: mpsc::Sender<AuditEvent>,
}

impl AuditLog {
    /// Starts the writer; it ends once every `AuditLog` clone is dropped
    /// and the queue is drained.
    pub fn start(agent: Arc<Agent>) -> (Self, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(QUEUE);
        let task = tokio::spawn(write_loop(agent, rx));
        (Self { tx }, task)
    }

    pub async fn record(&self, event: AuditEvent) {
        // `send` waits when the queue is full: slower under a flood, never
        // lossy.
        if self.tx.send(event).await.is_err() {
            tracing::error!("audit writer gone; event not recorded");
        }
    }
}

async fn write_loop(agent: Arc<Agent>, mut rx: mpsc::Receiver<AuditEvent>) {
    let mut batch = Vec::with_capacity(BATCH);
    while rx.recv_many(&mut batch, BATCH).await > 0 {
        match agent.vault().await {
            Some(vault) => {
                if let Err(e) = vault.append_audit(&batch).await {
                    tracing::error!(error = %e, events = batch.len(), "audit write failed");
                }
            }
            None => tracing::warn!(events = batch.len(), "no vault for audit events"),
        }
        batch.clear();
    }
}
