//! The audit log writer. Handlers hand events to a channel and reply at
//! once; this task writes them to the vault in batches, off the reply's
//! path. On shutdown the channel closes and the task drains what is left
//! before the vault closes, so no event is lost.

use std::sync::Arc;

use tokio::sync::mpsc;

use crate::state::Agent;
use crate::transport::Peer;
use crate::vault::AuditEvent;

/// Events waiting beyond this are written by the sender itself (back
/// pressure) rather than dropped.
const QUEUE: usize = 4096;
const BATCH: usize = 512;

/// What the writer receives: an event, or a request to confirm that
/// everything sent before it is written (so `Audit` reads its own writes).
enum Item {
    Event(AuditEvent),
    Flush(tokio::sync::oneshot::Sender<()>),
}

#[derive(Clone)]
pub struct AuditLog {
    tx: mpsc::Sender<Item>,
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
        if self.tx.send(Item::Event(event)).await.is_err() {
            tracing::error!("audit writer gone; event not recorded");
        }
    }

    /// Records `operation` on `environment` by `peer` (all unknown when
    /// `None`) with its `outcome`, stamped now.
    pub async fn record_by(
        &self,
        peer: Option<&Peer>,
        environment: &str,
        operation: &'static str,
        outcome: &str,
    ) {
        let peer = peer.cloned().unwrap_or_default();
        self.record(AuditEvent {
            at: chrono::Utc::now(),
            environment: environment.to_owned(),
            operation,
            client_pid: peer.pid,
            client_uid: peer.uid,
            client_exe: peer.exe,
            outcome: outcome.to_owned(),
        })
        .await;
    }

    /// Returns once every event recorded before the call is in the vault.
    pub async fn flush(&self) {
        let (done, wait) = tokio::sync::oneshot::channel();
        if self.tx.send(Item::Flush(done)).await.is_ok() {
            let _ = wait.await;
        }
    }
}

async fn write_loop(agent: Arc<Agent>, mut rx: mpsc::Receiver<Item>) {
    let mut items = Vec::with_capacity(BATCH);
    let mut batch = Vec::with_capacity(BATCH);
    let mut flushes = Vec::new();
    while rx.recv_many(&mut items, BATCH).await > 0 {
        for item in items.drain(..) {
            match item {
                Item::Event(e) => batch.push(e),
                Item::Flush(done) => flushes.push(done),
            }
        }
        if !batch.is_empty() {
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
        // Events before a flush request arrived in the same or an earlier
        // batch, so they are written by now.
        for done in flushes.drain(..) {
            let _ = done.send(());
        }
    }
}
