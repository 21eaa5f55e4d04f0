//! The audit log writer. Handlers hand events to a channel and reply at
//! once; this task writes them to the vault in batches, off the reply's
//! path. On shutdown the channel closes and the task drains what is left
//! before the vault closes, so no event is lost.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::mpsc;

use crate::state::Agent;
use crate::transport::Peer;
use crate::vault::AuditEvent;

/// Events waiting beyond this are written by the sender itself (back
/// pressure) rather than dropped.
const QUEUE: usize = 4096;
const BATCH: usize = 512;
/// Events kept in memory while the vault cannot take them (disk full),
/// retried every [`RETRY`]; beyond this many the oldest are counted as lost.
const HELD_MAX: usize = 100_000;
const RETRY: Duration = Duration::from_secs(1);

/// What `status` and `doctor` report about the writer.
#[derive(Debug, Default)]
pub struct AuditHealth {
    /// Events waiting for the vault to accept them again.
    pub held: AtomicU64,
    /// Events dropped because more than [`HELD_MAX`] were waiting.
    pub lost: AtomicU64,
}

/// What the writer receives: an event, or a request to confirm that
/// everything sent before it is written (so `Audit` reads its own writes).
enum Item {
    Event(AuditEvent),
    Flush(tokio::sync::oneshot::Sender<()>),
}

#[derive(Clone)]
pub struct AuditLog {
    tx: mpsc::Sender<Item>,
    health: Arc<AuditHealth>,
}

impl AuditLog {
    /// Starts the writer; it ends once every `AuditLog` clone is dropped
    /// and the queue is drained.
    pub fn start(agent: Arc<Agent>) -> (Self, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(QUEUE);
        let health = Arc::new(AuditHealth::default());
        let task = tokio::spawn(write_loop(agent, rx, health.clone()));
        (Self { tx, health }, task)
    }

    /// Events held for a retry, and events lost.
    pub fn health(&self) -> (u64, u64) {
        (
            self.health.held.load(Ordering::Relaxed),
            self.health.lost.load(Ordering::Relaxed),
        )
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

async fn write_loop(agent: Arc<Agent>, mut rx: mpsc::Receiver<Item>, health: Arc<AuditHealth>) {
    let mut items = Vec::with_capacity(BATCH);
    let mut batch = Vec::with_capacity(BATCH);
    let mut flushes = Vec::new();
    loop {
        // With events held back, wake up to retry even if nothing new comes.
        let got = if batch.is_empty() {
            rx.recv_many(&mut items, BATCH).await
        } else {
            match tokio::time::timeout(RETRY, rx.recv_many(&mut items, BATCH)).await {
                Ok(n) => n,
                Err(_) => usize::MAX,
            }
        };
        if got == 0 {
            break;
        }
        for item in items.drain(..) {
            match item {
                Item::Event(e) => batch.push(e),
                Item::Flush(done) => flushes.push(done),
            }
        }
        write_or_hold(&agent, &mut batch, &health).await;
        // Events before a flush request arrived in the same or an earlier
        // batch, so they are written (or held, and counted) by now.
        for done in flushes.drain(..) {
            let _ = done.send(());
        }
    }
    if !batch.is_empty() {
        write_or_hold(&agent, &mut batch, &health).await;
        if !batch.is_empty() {
            tracing::error!(
                events = batch.len(),
                "audit events lost at shutdown: the vault refused them"
            );
        }
    }
}

/// Writes `batch`; on failure keeps it for the next try, dropping (and
/// counting) the oldest beyond [`HELD_MAX`].
async fn write_or_hold(
    agent: &Agent,
    batch: &mut Vec<crate::vault::AuditEvent>,
    health: &AuditHealth,
) {
    if batch.is_empty() {
        return;
    }
    let result = match agent.vault().await {
        Some(vault) => vault.append_audit(batch).await.map_err(|e| e.to_string()),
        None => Err("no vault".to_owned()),
    };
    match result {
        Ok(()) => {
            if health.held.swap(0, Ordering::Relaxed) > 0 {
                tracing::info!(events = batch.len(), "held audit events written");
            }
            batch.clear();
        }
        Err(e) => {
            if batch.len() > HELD_MAX {
                let over = batch.len() - HELD_MAX;
                batch.drain(..over);
                health.lost.fetch_add(over as u64, Ordering::Relaxed);
            }
            let before = health.held.swap(batch.len() as u64, Ordering::Relaxed);
            if before == 0 {
                tracing::error!(error = %e, events = batch.len(), "audit write failed; holding the events and retrying");
            }
        }
    }
}
