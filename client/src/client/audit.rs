//! The audit log and the change stream. Both work while the vault is
//! locked, and neither carries a secret.

use chrono::{DateTime, Utc};
use dbcreds_proto::v1;

use super::Client;
use crate::convert::time;
use crate::error::Result;
use crate::model::EnvName;

/// Which audit events [`Client::audit`] returns.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditQuery {
    /// Only this environment.
    pub name: Option<EnvName>,
    /// Only events at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// At most this many, the newest (default 1000, at most 10000).
    pub limit: Option<u32>,
    /// Only the decisions on confirmations (operation `decision`).
    pub decisions: bool,
}

/// Audit events and what the agent's retention (365 days, the newest
/// 1,000,000 events) has removed since the vault was created.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuditPage {
    /// The events asked for, oldest first.
    pub events: Vec<AuditEvent>,
    /// How many events the retention removed.
    pub pruned: u64,
    /// The time of the newest removed event.
    pub pruned_before: Option<chrono::DateTime<chrono::Utc>>,
}

/// One line of the agent's audit log.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuditEvent {
    /// When it happened.
    pub at: DateTime<Utc>,
    /// The environment concerned.
    pub environment: String,
    /// `get`, `test`, `rotate`, `rotate-resume`, `recover`, ...
    pub operation: String,
    /// The client's process id, when the kernel told.
    pub client_pid: Option<u32>,
    /// The client's user id.
    pub client_uid: Option<u32>,
    /// The client's executable.
    pub client_exe: Option<String>,
    /// `ok`, or the failure's reason; for a decision `approved`,
    /// `refused`, `timed_out` or `not_allowed`.
    pub outcome: String,
    /// Operation `decision`: what was decided, by whom, for how long.
    pub decision: Option<Decision>,
}

/// A confirmation's outcome, from the audit log.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Decision {
    /// The operation asked for (`get`, `export`, `rotate`, ...).
    pub request: String,
    /// Who answered (`askpass <path>`, `pid <n> (<exe>)`); `None`: nobody
    /// (timed out, or the allow list refused).
    pub by: Option<String>,
    /// How long the approval holds for the session; `None`: this request only.
    pub valid_for: Option<std::time::Duration>,
    /// The requester's session.
    pub session: String,
    /// `dbcreds exec`: the program the secret went to.
    pub child_exe: Option<String>,
}

impl From<v1::AuditDecision> for Decision {
    fn from(d: v1::AuditDecision) -> Self {
        Decision {
            request: d.request,
            by: Some(d.by).filter(|b| !b.is_empty()),
            valid_for: (d.valid_secs > 0).then(|| std::time::Duration::from_secs(d.valid_secs)),
            session: d.session,
            child_exe: Some(d.child_exe).filter(|c| !c.is_empty()),
        }
    }
}

/// What happened to an environment, as [`Watch`] reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChangeKind {
    /// Created or replaced.
    Put,
    /// Some fields changed.
    Update,
    /// Removed.
    Remove,
    /// Its password was rotated (or a rotation was finished or rolled back).
    Rotate,
    /// This watcher fell behind and missed changes: re-read what you use.
    Lagged,
    /// The vault is locked (or there is none): no password can be had.
    /// Only from [`Client::watch_vault`], which starts with the vault's
    /// state, [`ChangeKind::Lock`] or [`ChangeKind::Unlock`].
    Lock,
    /// The vault is unlocked.
    Unlock,
    /// A change this client does not know yet.
    Other(String),
}

/// One change reported by [`Watch::next`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Change {
    /// The environment; `None` for [`ChangeKind::Lagged`].
    pub environment: Option<EnvName>,
    /// What happened.
    pub kind: ChangeKind,
    /// True when the password changed: rebuild connections (a lagged
    /// watcher should assume it did).
    pub password_changed: bool,
    /// When.
    pub at: Option<DateTime<Utc>>,
}

/// A stream of changes from the agent, opened by [`Client::watch`]. It ends
/// (`Ok(None)`) when the agent shuts down.
#[derive(Debug)]
pub struct Watch {
    stream: tonic::Streaming<v1::Change>,
}

impl Watch {
    /// The next change; waits until one happens.
    pub async fn next(&mut self) -> Result<Option<Change>> {
        let Some(c) = self.stream.message().await? else {
            return Ok(None);
        };
        let kind = match c.change.as_str() {
            "put" => ChangeKind::Put,
            "update" => ChangeKind::Update,
            "remove" => ChangeKind::Remove,
            "rotate" => ChangeKind::Rotate,
            "lagged" => ChangeKind::Lagged,
            "lock" => ChangeKind::Lock,
            "unlock" => ChangeKind::Unlock,
            other => ChangeKind::Other(other.to_owned()),
        };
        Ok(Some(Change {
            environment: EnvName::parse(&c.environment).ok(),
            password_changed: c.password_changed || kind == ChangeKind::Lagged,
            kind,
            at: time(c.at),
        }))
    }
}

impl Client {
    /// Audit-log events, oldest first. Works while the vault is locked.
    ///
    /// ```no_run
    /// # async fn demo() -> dbcreds::Result<()> {
    /// let mut client = dbcreds::Client::connect().await?;
    /// for e in client.audit(&Default::default()).await? {
    ///     println!("{} {} {}", e.at, e.operation, e.environment);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn audit(&mut self, q: &AuditQuery) -> Result<Vec<AuditEvent>> {
        self.audit_page(q).await.map(|p| p.events)
    }

    /// [`Client::audit`], with what the retention removed so far.
    pub async fn audit_page(&mut self, q: &AuditQuery) -> Result<AuditPage> {
        let r = self
            .inner
            .audit(v1::AuditRequest {
                name: q.name.as_ref().map(ToString::to_string),
                since: q.since.map_or(0, |t| t.timestamp()),
                limit: q.limit.unwrap_or(0),
                decisions: q.decisions,
            })
            .await?
            .into_inner();
        let events = r
            .events
            .into_iter()
            .filter_map(|e| {
                Some(AuditEvent {
                    at: time(e.at)?,
                    environment: e.environment,
                    operation: e.operation,
                    client_pid: e.client_pid,
                    client_uid: e.client_uid,
                    client_exe: (!e.client_exe.is_empty()).then_some(e.client_exe),
                    outcome: e.outcome,
                    decision: e.decision.map(Decision::from),
                })
            })
            .collect();
        Ok(AuditPage {
            events,
            pruned: r.pruned,
            pruned_before: (r.pruned > 0).then(|| time(r.pruned_before)).flatten(),
        })
    }

    /// Opens a stream of changes to `names` (all environments when empty),
    /// so a long-running program learns when a password changed (after
    /// `rotate`, `update`, `add --force`, `remove`) and can rebuild its
    /// connections without a restart.
    ///
    /// ```no_run
    /// # async fn demo() -> dbcreds::Result<()> {
    /// let prod: dbcreds::EnvName = "prod".parse()?;
    /// let mut client = dbcreds::Client::connect().await?;
    /// let mut watch = client.watch(&[prod.clone()]).await?;
    /// let mut cred = client.get(&prod).await?; // build the pool from it
    /// while let Some(change) = watch.next().await? {
    ///     if change.password_changed {
    ///         cred = client.get(&prod).await?; // and rebuild the pool
    ///     }
    /// }
    /// # drop(cred);
    /// # Ok(()) }
    /// ```
    ///
    /// `dbcreds-sqlx` has the pools; its `examples/pool.rs` does this.
    pub async fn watch(&mut self, names: &[EnvName]) -> Result<Watch> {
        self.open_watch(names, false).await
    }

    /// [`Client::watch`], and the vault's own state: the stream starts with
    /// [`ChangeKind::Lock`] or [`ChangeKind::Unlock`] (the vault as it is
    /// now) and reports each lock and unlock after it, so a program that
    /// keeps secrets outside the agent (`dbcreds serve-files`) drops them
    /// on lock. Needs an agent of protocol 5 or later: an older one sends
    /// no first message.
    ///
    /// ```no_run
    /// # async fn demo() -> dbcreds::Result<()> {
    /// use dbcreds::ChangeKind;
    /// let mut client = dbcreds::Client::connect().await?;
    /// let mut watch = client.watch_vault(&[]).await?;
    /// while let Some(change) = watch.next().await? {
    ///     match change.kind {
    ///         ChangeKind::Lock => { /* forget what was read */ }
    ///         ChangeKind::Unlock => { /* read again */ }
    ///         _ => {}
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn watch_vault(&mut self, names: &[EnvName]) -> Result<Watch> {
        self.open_watch(names, true).await
    }

    async fn open_watch(&mut self, names: &[EnvName], vault_events: bool) -> Result<Watch> {
        let stream = self
            .inner
            .watch(v1::WatchRequest {
                names: names.iter().map(ToString::to_string).collect(),
                vault_events,
            })
            .await?
            .into_inner();
        Ok(Watch { stream })
    }
}
