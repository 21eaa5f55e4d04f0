//! The database-aware calls: connection tests, password rotation, the audit
//! log and the change stream. Secrets never travel in these replies: after a
//! rotation, [`Client::get`] fetches the new password like any other.

use chrono::{DateTime, TimeZone, Utc};
use dbcreds_proto::v1;

use crate::client::Client;
use crate::error::{Error, Result};
use crate::model::{EnvName, Environment, TestResult};

/// What [`Client::rotate`] should do.
///
/// ```
/// let opts = dbcreds::RotateOptions { length: Some(40), ..Default::default() };
/// assert!(!opts.resume);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RotateOptions {
    /// Length of the new password (16 to 128; default 32).
    pub length: Option<u32>,
    /// Characters to draw it from (default: letters, digits and `-_.~`).
    pub alphabet: Option<String>,
    /// Change the password through this environment's (admin) credentials.
    pub admin: Option<EnvName>,
    /// Finish or roll back an interrupted rotation instead of starting one.
    pub resume: bool,
}

/// What a rotation did.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Rotation {
    /// The environment afterwards.
    pub environment: Environment,
    /// `rotated`, `finished`, `rolled_back`, `restored_previous` or
    /// `nothing_to_resume`.
    pub outcome: String,
    /// The outcome in words.
    pub detail: String,
}

/// Which audit events [`Client::audit`] returns.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditQuery {
    /// Only this environment.
    pub name: Option<EnvName>,
    /// Only events at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// At most this many, the newest (default 1000, at most 10000).
    pub limit: Option<u32>,
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
    /// `ok`, or the failure's reason.
    pub outcome: String,
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

fn time(secs: i64) -> Option<DateTime<Utc>> {
    (secs != 0)
        .then(|| Utc.timestamp_opt(secs, 0).single())
        .flatten()
}

fn test_result(t: v1::TestResult) -> Result<TestResult> {
    Ok(TestResult {
        at: time(t.at).ok_or_else(|| Error::Protocol("test result without a time".into()))?,
        ok: t.ok,
        detail: t.detail,
        latency_ms: t.latency_ms,
        reason: t.reason,
        tls: t.tls,
    })
}

impl Client {
    /// Has the agent connect to the environment's database with the stored
    /// credentials; returns the server version and latency. A failure is an
    /// [`Error::Agent`] whose reason is `Unreachable`, `LoginFailed`,
    /// `TlsFailed`, `Unsupported` or `DatabaseError`.
    ///
    /// ```no_run
    /// # async fn demo() -> dbcreds::Result<()> {
    /// let mut client = dbcreds::Client::connect().await?;
    /// let r = client.test(&"prod".parse()?).await?;
    /// println!("{} in {} ms", r.detail, r.latency_ms);
    /// # Ok(()) }
    /// ```
    pub async fn test(&mut self, name: &EnvName) -> Result<TestResult> {
        let r = self
            .raw()
            .test(v1::TestRequest {
                name: name.to_string(),
            })
            .await?
            .into_inner();
        test_result(
            r.result
                .ok_or_else(|| Error::Protocol("reply without a result".into()))?,
        )
    }

    /// Rotates the environment's password (see [`RotateOptions`]). The new
    /// password is not in the reply: [`Client::get`] it.
    ///
    /// ```no_run
    /// # async fn demo() -> dbcreds::Result<()> {
    /// let mut client = dbcreds::Client::connect().await?;
    /// let r = client.rotate(&"prod".parse()?, &Default::default()).await?;
    /// assert_eq!(r.outcome, "rotated");
    /// # Ok(()) }
    /// ```
    pub async fn rotate(&mut self, name: &EnvName, opts: &RotateOptions) -> Result<Rotation> {
        let r = self
            .raw()
            .rotate(v1::RotateRequest {
                name: name.to_string(),
                length: opts.length.unwrap_or(0),
                alphabet: opts.alphabet.clone().unwrap_or_default(),
                admin: opts.admin.as_ref().map(ToString::to_string),
                resume: opts.resume,
            })
            .await?
            .into_inner();
        let environment = r
            .environment
            .ok_or_else(|| Error::Protocol("reply without an environment".into()))?;
        Ok(Rotation {
            environment: Environment::try_from(environment)?,
            outcome: r.outcome,
            detail: r.detail,
        })
    }

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
        let r = self
            .raw()
            .audit(v1::AuditRequest {
                name: q.name.as_ref().map(ToString::to_string),
                since: q.since.map_or(0, |t| t.timestamp()),
                limit: q.limit.unwrap_or(0),
            })
            .await?
            .into_inner();
        Ok(r.events
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
                })
            })
            .collect())
    }

    /// Opens a stream of changes to `names` (all environments when empty),
    /// so a long-running program learns when a password changed (after
    /// `rotate`, `update`, `add --force`, `remove`) and can rebuild its
    /// connections without a restart.
    ///
    /// ```no_run
    /// # #[cfg(feature = "postgres")]
    /// # async fn demo() -> dbcreds::Result<()> {
    /// let prod: dbcreds::EnvName = "prod".parse()?;
    /// let mut client = dbcreds::Client::connect().await?;
    /// let mut watch = client.watch(&[prod.clone()]).await?;
    /// let mut pool = dbcreds::sqlx::pg_pool_for(&client.get(&prod).await?).await?;
    /// while let Some(change) = watch.next().await? {
    ///     if change.password_changed {
    ///         pool = dbcreds::sqlx::pg_pool_for(&client.get(&prod).await?).await?;
    ///     }
    /// }
    /// # drop(pool);
    /// # Ok(()) }
    /// ```
    pub async fn watch(&mut self, names: &[EnvName]) -> Result<Watch> {
        let stream = self
            .raw()
            .watch(v1::WatchRequest {
                names: names.iter().map(ToString::to_string).collect(),
            })
            .await?
            .into_inner();
        Ok(Watch { stream })
    }
}
