//! The audit table: appended in batches by the audit writer
//! (`crate::audit`), read back by the `Audit` RPC.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{Vault, VaultError};

/// One audit-log line as read back.
#[derive(Clone, Debug)]
pub struct AuditRow {
    /// Unix seconds.
    pub at: i64,
    pub environment: String,
    pub operation: String,
    pub client_pid: Option<u32>,
    pub client_uid: Option<u32>,
    pub client_exe: Option<String>,
    pub outcome: String,
    /// A decision's JSON (operation `decision`).
    pub detail: Option<String>,
}

/// One audit-log line.
#[derive(Clone, Debug)]
pub struct AuditEvent {
    pub at: DateTime<Utc>,
    pub environment: String,
    pub operation: &'static str,
    pub client_pid: Option<u32>,
    pub client_uid: Option<u32>,
    pub client_exe: Option<String>,
    pub outcome: String,
    /// What a decision decided, as JSON; `None` for other events.
    pub detail: Option<String>,
}

/// The operation of a confirmation's outcome.
pub const DECISION: &str = "decision";

/// Most rows per audit INSERT (a power of two): 8 parameters each, so a
/// statement stays under SQLite's historical limit of 999 bound parameters.
const AUDIT_ROWS_PER_INSERT: usize = 64;

impl Vault {
    /// Appends audit events in one transaction, as multi-row INSERTs: under
    /// load a batch costs a few round trips to SQLite's worker thread
    /// instead of one per event (docs/performance.md). The rows per INSERT
    /// are powers of two up to [`AUDIT_ROWS_PER_INSERT`], so at most seven
    /// statement shapes exist and each stays prepared in sqlx's cache.
    pub async fn append_audit(&self, events: &[AuditEvent]) -> Result<(), VaultError> {
        if events.is_empty() {
            return Ok(());
        }
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(|e| self.classify(e))?;
        let mut rest = events;
        while !rest.is_empty() {
            let n = AUDIT_ROWS_PER_INSERT.min(1 << rest.len().ilog2());
            let (chunk, tail) = rest.split_at(n);
            rest = tail;
            let mut insert = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
                "INSERT INTO audit (at, environment, operation, client_pid, client_uid, client_exe, outcome, detail) ",
            );
            insert.push_values(chunk, |mut row, ev| {
                row.push_bind(ev.at.timestamp())
                    .push_bind(ev.environment.clone())
                    .push_bind(ev.operation)
                    .push_bind(ev.client_pid.map(i64::from))
                    .push_bind(ev.client_uid.map(i64::from))
                    .push_bind(ev.client_exe.clone())
                    .push_bind(ev.outcome.clone())
                    .push_bind(ev.detail.clone());
            });
            insert
                .build()
                .execute(&mut *tx)
                .await
                .map_err(|e| self.classify(e))?;
        }
        tx.commit().await.map_err(|e| self.classify(e))
    }

    /// The newest `limit` audit events (of `environment`, at or after
    /// `since` Unix seconds, only `operation`'s when given), oldest first.
    pub async fn audit_events(
        &self,
        environment: Option<&str>,
        since: i64,
        limit: u32,
        operation: Option<&str>,
    ) -> Result<Vec<AuditRow>, VaultError> {
        let rows = sqlx::query(
            "SELECT * FROM (SELECT id, at, environment, operation, client_pid, client_uid, client_exe, outcome, detail \
             FROM audit WHERE (?1 IS NULL OR environment = ?1) AND at >= ?2 AND (?4 IS NULL OR operation = ?4) \
             ORDER BY id DESC LIMIT ?3) ORDER BY id ASC",
        )
        .bind(environment)
        .bind(since)
        .bind(i64::from(limit))
        .bind(operation)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| self.classify(e))?;
        rows.iter()
            .map(|r| {
                Ok(AuditRow {
                    at: r.try_get("at")?,
                    environment: r.try_get("environment")?,
                    operation: r.try_get("operation")?,
                    client_pid: r
                        .try_get::<Option<i64>, _>("client_pid")?
                        .and_then(|p| u32::try_from(p).ok()),
                    client_uid: r
                        .try_get::<Option<i64>, _>("client_uid")?
                        .and_then(|p| u32::try_from(p).ok()),
                    client_exe: r.try_get("client_exe")?,
                    outcome: r.try_get("outcome")?,
                    detail: r.try_get("detail")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(|e| self.classify(e))
    }

    /// Deletes events older than `before` (Unix seconds) and all but the
    /// newest `keep`, and adds them to the pruned count in `meta`, in one
    /// transaction. Returns how many went.
    pub async fn prune_audit(&self, before: i64, keep: i64) -> Result<u64, VaultError> {
        let mut tx = self.begin_write().await?;
        let newest_pruned: Option<i64> = sqlx::query_scalar(
            "SELECT max(at) FROM audit WHERE at < ?1 OR id <= (SELECT max(id) FROM audit) - ?2",
        )
        .bind(before)
        .bind(keep)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| self.classify(e))?;
        let gone = sqlx::query(
            "DELETE FROM audit WHERE at < ?1 OR id <= (SELECT max(id) FROM audit) - ?2",
        )
        .bind(before)
        .bind(keep)
        .execute(&mut *tx)
        .await
        .map_err(|e| self.classify(e))?
        .rows_affected();
        if gone > 0 {
            let (count, at) = pruned_info(&mut tx).await.map_err(|e| self.classify(e))?;
            let at = at.max(newest_pruned.unwrap_or(0));
            sqlx::query(
                "INSERT INTO meta (key, value) VALUES ('audit_pruned', ?1), ('audit_pruned_before', ?2) \
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            )
            .bind((count + gone).to_string())
            .bind(at.to_string())
            .execute(&mut *tx)
            .await
            .map_err(|e| self.classify(e))?;
        }
        tx.commit().await.map_err(|e| self.classify(e))?;
        Ok(gone)
    }

    /// How many events the retention removed, and the newest one's time.
    pub async fn audit_pruned(&self) -> Result<(u64, i64), VaultError> {
        let mut conn = self.pool.acquire().await.map_err(|e| self.classify(e))?;
        pruned_info(&mut conn).await.map_err(|e| self.classify(e))
    }

    pub async fn audit_count(&self) -> Result<i64, VaultError> {
        sqlx::query_scalar("SELECT count(*) FROM audit")
            .fetch_one(&self.pool)
            .await
            .map_err(|e| self.classify(e))
    }
}

async fn pruned_info(conn: &mut sqlx::SqliteConnection) -> Result<(u64, i64), sqlx::Error> {
    let value = |key: &'static str| {
        sqlx::query_scalar::<_, String>("SELECT value FROM meta WHERE key = ?").bind(key)
    };
    let count = value("audit_pruned").fetch_optional(&mut *conn).await?;
    let at = value("audit_pruned_before")
        .fetch_optional(&mut *conn)
        .await?;
    Ok((
        count.and_then(|c| c.parse().ok()).unwrap_or(0),
        at.and_then(|a| a.parse().ok()).unwrap_or(0),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn audit_batches_of_any_size_are_written_whole_and_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let v = Vault::create(&dir.path().join("vault.db")).await.unwrap();
        let event = |i: usize| AuditEvent {
            at: Utc::now(),
            environment: format!("env-{i}"),
            operation: "get",
            client_pid: u32::try_from(i).ok(),
            client_uid: Some(1000),
            client_exe: i.is_multiple_of(2).then(|| "/usr/bin/dbcreds".to_owned()),
            outcome: "ok".into(),
            detail: None,
        };
        let mut written = 0;
        // One row, a power of two, odd sizes, and more than one full INSERT.
        for n in [0, 1, 2, 3, 127, 128, 129, 300] {
            let batch: Vec<_> = (written..written + n).map(event).collect();
            v.append_audit(&batch).await.unwrap();
            written += n;
        }
        assert_eq!(
            v.audit_count().await.unwrap(),
            i64::try_from(written).unwrap()
        );
        let rows: Vec<(String, Option<i64>, Option<String>)> =
            sqlx::query_as("SELECT environment, client_pid, client_exe FROM audit ORDER BY id")
                .fetch_all(&v.pool)
                .await
                .unwrap();
        for (i, (env, pid, exe)) in rows.into_iter().enumerate() {
            assert_eq!(env, format!("env-{i}"));
            assert_eq!(pid, i64::try_from(i).ok());
            assert_eq!(exe.is_some(), i.is_multiple_of(2));
        }
    }

    #[tokio::test]
    async fn retention_prunes_by_age_and_by_count_and_remembers_it() {
        let dir = tempfile::tempdir().unwrap();
        let v = Vault::create(&dir.path().join("vault.db")).await.unwrap();
        let at = |secs: i64| chrono::DateTime::from_timestamp(secs, 0).unwrap();
        let events: Vec<_> = (0..10)
            .map(|i| AuditEvent {
                at: at(1_000 + i),
                environment: format!("env-{i}"),
                operation: "get",
                client_pid: None,
                client_uid: None,
                client_exe: None,
                outcome: "ok".into(),
                detail: None,
            })
            .collect();
        v.append_audit(&events).await.unwrap();
        assert_eq!(
            v.prune_audit(1_003, 100).await.unwrap(),
            3,
            "three older than 1003"
        );
        assert_eq!(
            v.prune_audit(0, 5).await.unwrap(),
            2,
            "all but the newest five"
        );
        assert_eq!(v.audit_count().await.unwrap(), 5);
        assert_eq!(v.audit_pruned().await.unwrap(), (5, 1_004));
        assert_eq!(v.prune_audit(0, 5).await.unwrap(), 0);
        assert_eq!(v.audit_pruned().await.unwrap(), (5, 1_004));
    }
}
