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
/// Under load the writer waits this long after the first event of a
/// batch, so that one transaction (and one commit) takes the events of
/// many requests: at 30,000 Gets a second it wrote batches of about 30,
/// and SQLite's thread was a quarter of the agent's CPU per Get
/// (docs/performance.md). A flush (`Audit` reads its own writes, and
/// shutdown) does not wait.
const GATHER: Duration = Duration::from_millis(20);
/// What one gathered write takes at most (the queue holds [`QUEUE`]).
const GATHER_MAX: usize = 2048;

/// Retention: events older than this are pruned...
pub const KEEP: Duration = Duration::from_secs(365 * 24 * 3600);
/// ...and all but the newest this many (about 90 MB of vault).
pub const KEEP_EVENTS: i64 = 1_000_000;
/// Pruning runs at start and then this often, in the background.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// Prunes the audit table by [`KEEP`] and [`KEEP_EVENTS`], for the
/// agent's lifetime. A failure (disk full) is logged and tried again later.
/// `first` turns true after the first pass, so `Audit` never lists what
/// the retention is about to remove.
async fn prune_forever(agent: Arc<Agent>, first: tokio::sync::watch::Sender<bool>) {
    let mut every = tokio::time::interval(PRUNE_EVERY);
    loop {
        every.tick().await;
        prune_once(&agent).await;
        first.send_replace(true);
    }
}

async fn prune_once(agent: &Agent) {
    let Some(vault) = agent.vault().await else {
        return;
    };
    let keep = i64::try_from(KEEP.as_secs()).unwrap_or(i64::MAX);
    let before = chrono::Utc::now().timestamp().saturating_sub(keep);
    match vault.prune_audit(before, KEEP_EVENTS).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(events = n, "audit retention pruned old events"),
        Err(e) => tracing::warn!(error = %e, "audit retention failed; trying again later"),
    }
}

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
    pruned: tokio::sync::watch::Receiver<bool>,
}

impl AuditLog {
    /// Starts the writer; it ends once every `AuditLog` clone is dropped
    /// and the queue is drained.
    /// Also starts the retention's pruning, whose handle comes second.
    pub fn start(
        agent: Arc<Agent>,
    ) -> (
        Self,
        tokio::task::JoinHandle<()>,
        tokio::task::JoinHandle<()>,
    ) {
        let (tx, rx) = mpsc::channel(QUEUE);
        let health = Arc::new(AuditHealth::default());
        let (first, pruned) = tokio::sync::watch::channel(false);
        let pruning = tokio::spawn(prune_forever(agent.clone(), first));
        let task = tokio::spawn(write_loop(agent, rx, health.clone()));
        (Self { tx, health, pruned }, task, pruning)
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
        self.record(AuditEvent {
            at: chrono::Utc::now(),
            environment: environment.to_owned(),
            operation,
            client_pid: peer.and_then(|p| p.pid),
            client_uid: peer.and_then(|p| p.uid),
            client_exe: peer.and_then(|p| p.exe.as_deref().map(str::to_owned)),
            outcome: outcome.to_owned(),
            detail: None,
        })
        .await;
    }

    /// Records a decision on a confirmation about `environment`, asked by
    /// `peer`: `outcome` (approved, refused, timed_out, not_allowed) and
    /// `detail`, the JSON of what, by whom, for how long.
    pub async fn record_decision(
        &self,
        peer: Option<&Peer>,
        environment: &str,
        outcome: &str,
        detail: String,
    ) {
        self.record(AuditEvent {
            at: chrono::Utc::now(),
            environment: environment.to_owned(),
            operation: crate::vault::DECISION,
            client_pid: peer.and_then(|p| p.pid),
            client_uid: peer.and_then(|p| p.uid),
            client_exe: peer.and_then(|p| p.exe.as_deref().map(str::to_owned)),
            outcome: outcome.to_owned(),
            detail: Some(detail),
        })
        .await;
    }

    /// Returns once every event recorded before the call is in the vault
    /// (and the retention's first pass is done).
    pub async fn flush(&self) {
        let _ = self.pruned.clone().wait_for(|done| *done).await;
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
        if got != usize::MAX && got < BATCH {
            gather(&mut rx, &mut items).await;
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

/// Waits [`GATHER`] for more events after the few in `items`, unless one
/// of them is a flush, then takes what came (up to [`GATHER_MAX`]).
async fn gather(rx: &mut mpsc::Receiver<Item>, items: &mut Vec<Item>) {
    if items.iter().any(|i| matches!(i, Item::Flush(_))) {
        return;
    }
    tokio::time::sleep(GATHER).await;
    while items.len() < GATHER_MAX {
        match rx.try_recv() {
            Ok(item) => items.push(item),
            Err(_) => return,
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

/// The sources' fetches, renewals and revocations, recorded as the agent's
/// own (no peer).
impl crate::sources::AuditSink for AuditLog {
    fn record<'a>(
        &'a self,
        env: &'a str,
        operation: &'static str,
        outcome: &'a str,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + 'a>> {
        Box::pin(self.record_by(None, env, operation, outcome))
    }
}
