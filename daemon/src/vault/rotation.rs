//! Storage of the password-rotation state machine (table `rotations`) and of
//! connection-test results (table `environment_tests`). Every step is one
//! `BEGIN IMMEDIATE` transaction; the steps that change the current password
//! write the environment row and the rotation row in the same transaction,
//! so the vault never holds a promoted password without its rotation record
//! or the other way round.

use chrono::{DateTime, Utc};
use dbcreds::TestResult;
use sqlx::Row;

use super::{Vault, VaultError};

/// Where a rotation stands; see the migration that creates `rotations`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RotationState {
    /// The new password is stored; the server may or may not have it.
    Pending,
    /// The server accepted the new password.
    Set,
    /// A login with the new password worked.
    Verified,
    /// Promoted: the new password is current.
    Done,
    /// Undone: the server kept the current password.
    RolledBack,
    /// Only the previous password logged in; it is current again.
    RestoredPrevious,
}

impl RotationState {
    const ALL: [(RotationState, &'static str); 6] = [
        (Self::Pending, "pending"),
        (Self::Set, "set"),
        (Self::Verified, "verified"),
        (Self::Done, "done"),
        (Self::RolledBack, "rolled_back"),
        (Self::RestoredPrevious, "restored_previous"),
    ];

    pub fn as_str(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(s, _)| *s == self)
            .map_or("pending", |(_, t)| t)
    }

    fn parse(s: &str) -> Option<Self> {
        Self::ALL.iter().find(|(_, t)| *t == s).map(|(r, _)| *r)
    }

    /// True while a rotation is under way (it holds a pending password).
    pub fn is_unfinished(self) -> bool {
        matches!(self, Self::Pending | Self::Set | Self::Verified)
    }
}

/// A row of `rotations`.
#[derive(Clone, Debug)]
pub struct RotationRow {
    pub state: RotationState,
    pub sealed_pending: Option<Vec<u8>>,
    pub sealed_previous: Option<Vec<u8>>,
    /// The environment whose credentials changed the password, if not its own.
    pub admin: Option<String>,
    pub started_at: i64,
    pub updated_at: i64,
}

/// Associated data of a pending password: distinct from the current
/// password's (the bare name), so one can never be opened as the other.
pub fn pending_aad(name: &str) -> Vec<u8> {
    format!("dbcreds/v1/rotation/pending/{name}").into_bytes()
}

/// Associated data of the previous password.
pub fn previous_aad(name: &str) -> Vec<u8> {
    format!("dbcreds/v1/rotation/previous/{name}").into_bytes()
}

impl Vault {
    /// The rotation record of `name`, if it was ever rotated.
    pub async fn rotation(&self, name: &str) -> Result<Option<RotationRow>, VaultError> {
        let row = sqlx::query(
            "SELECT state, sealed_pending, sealed_previous, admin, started_at, updated_at \
             FROM rotations WHERE name = ?",
        )
        .bind(name)
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| self.classify(e))?;
        let Some(row) = row else { return Ok(None) };
        let state: String = row.try_get("state").map_err(|e| self.classify(e))?;
        let state = RotationState::parse(&state).ok_or_else(|| VaultError::Corrupt {
            path: self.path.clone(),
            detail: format!("rotation of '{name}' in unknown state '{state}'"),
        })?;
        let get = || -> Result<RotationRow, sqlx::Error> {
            Ok(RotationRow {
                state,
                sealed_pending: row.try_get("sealed_pending")?,
                sealed_previous: row.try_get("sealed_previous")?,
                admin: row.try_get("admin")?,
                started_at: row.try_get("started_at")?,
                updated_at: row.try_get("updated_at")?,
            })
        };
        get().map(Some).map_err(|e| self.classify(e))
    }

    /// Names of the environments with an unfinished rotation.
    pub async fn unfinished_rotations(&self) -> Result<Vec<String>, VaultError> {
        sqlx::query_scalar(
            "SELECT r.name FROM rotations r JOIN environments e ON e.name = r.name \
             WHERE r.state IN ('pending', 'set', 'verified') ORDER BY r.name",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(|e| self.classify(e))
    }

    /// Step 1: stores the new password as pending. Committed (and synced:
    /// `synchronous=FULL`) before the caller touches the server. The previous
    /// password of an earlier rotation is kept.
    pub async fn rotation_begin(
        &self,
        name: &str,
        sealed_pending: &[u8],
        admin: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(), VaultError> {
        let query = sqlx::query(
            "INSERT INTO rotations (name, state, sealed_pending, sealed_previous, admin, started_at, updated_at) \
             VALUES (?1, 'pending', ?2, NULL, ?3, ?4, ?4) \
             ON CONFLICT (name) DO UPDATE SET state = 'pending', sealed_pending = ?2, admin = ?3, \
             started_at = ?4, updated_at = ?4",
        )
        .bind(name)
        .bind(sealed_pending)
        .bind(admin)
        .bind(now.timestamp());
        self.write_one(query).await
    }

    /// Steps 2 and 3: the server took the pending password (`Set`), a login
    /// with it worked (`Verified`).
    pub async fn rotation_mark(
        &self,
        name: &str,
        state: RotationState,
        now: DateTime<Utc>,
    ) -> Result<(), VaultError> {
        self.write_one(
            sqlx::query("UPDATE rotations SET state = ?, updated_at = ? WHERE name = ?")
                .bind(state.as_str())
                .bind(now.timestamp())
                .bind(name),
        )
        .await
    }

    /// Step 4, in one transaction: the pending password becomes the current
    /// one (`sealed_current`, the password clock reset to `now`), the old
    /// current one is kept as previous, and the pending copy is dropped.
    /// Also used with [`RotationState::RestoredPrevious`] when only the
    /// previous password logs in.
    pub async fn rotation_promote(
        &self,
        name: &str,
        sealed_current: &[u8],
        sealed_previous: Option<&[u8]>,
        outcome: RotationState,
        now: DateTime<Utc>,
    ) -> Result<(), VaultError> {
        let mut tx = self.begin_write().await?;
        let n = sqlx::query(
            "UPDATE environments SET sealed_password = ?, password_updated_at = ?, updated_at = ? \
             WHERE name = ?",
        )
        .bind(sealed_current)
        .bind(now.timestamp())
        .bind(now.timestamp())
        .bind(name)
        .execute(&mut *tx)
        .await
        .map_err(|e| self.classify(e))?
        .rows_affected();
        if n != 1 {
            // Removed meanwhile: nothing to promote into. Dropping the
            // transaction rolls it back.
            return Err(VaultError::Corrupt {
                path: self.path.clone(),
                detail: format!("environment '{name}' vanished during its rotation"),
            });
        }
        sqlx::query(
            "UPDATE rotations SET state = ?, sealed_pending = NULL, \
             sealed_previous = COALESCE(?, sealed_previous), updated_at = ? WHERE name = ?",
        )
        .bind(outcome.as_str())
        .bind(sealed_previous)
        .bind(now.timestamp())
        .bind(name)
        .execute(&mut *tx)
        .await
        .map_err(|e| self.classify(e))?;
        tx.commit().await.map_err(|e| self.classify(e))
    }

    /// Undoes an unfinished rotation whose server kept the current password:
    /// the pending password is dropped, nothing else changes.
    pub async fn rotation_roll_back(
        &self,
        name: &str,
        now: DateTime<Utc>,
    ) -> Result<(), VaultError> {
        let query = sqlx::query(
            "UPDATE rotations SET state = 'rolled_back', sealed_pending = NULL, updated_at = ? \
             WHERE name = ?",
        )
        .bind(now.timestamp())
        .bind(name);
        self.write_one(query).await
    }

    /// Stores the outcome of a connection test of `name`.
    pub async fn set_last_test(&self, name: &str, t: &TestResult) -> Result<(), VaultError> {
        let query = sqlx::query(
            "INSERT OR REPLACE INTO environment_tests (name, at, ok, detail, latency_ms, reason, tls) \
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(name)
        .bind(t.at.timestamp())
        .bind(t.ok)
        .bind(&t.detail)
        .bind(i64::from(t.latency_ms))
        .bind(&t.reason)
        .bind(t.tls);
        self.write_one(query).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vault::Record;
    use dbcreds::{DatabaseKind, EnvName, Environment};

    async fn vault_with_prod(dir: &tempfile::TempDir) -> Vault {
        let v = Vault::create(&dir.path().join("vault.db")).await.unwrap();
        v.initialize("id", "00", &[]).await.unwrap();
        let env = Environment::new(EnvName::parse("prod").unwrap(), DatabaseKind::Postgres);
        v.upsert(&Record {
            env,
            sealed: b"old".to_vec(),
        })
        .await
        .unwrap();
        v
    }

    #[tokio::test]
    async fn a_rotation_walks_its_states_and_keeps_the_previous_password() {
        let dir = tempfile::tempdir().unwrap();
        let v = vault_with_prod(&dir).await;
        let now = Utc::now();
        assert!(v.rotation("prod").await.unwrap().is_none());
        v.rotation_begin("prod", b"new", None, now).await.unwrap();
        assert_eq!(v.unfinished_rotations().await.unwrap(), vec!["prod"]);
        assert_eq!(
            v.load().await.unwrap()["prod"].env.rotation.as_deref(),
            Some("pending")
        );
        v.rotation_mark("prod", RotationState::Set, now)
            .await
            .unwrap();
        v.rotation_mark("prod", RotationState::Verified, now)
            .await
            .unwrap();
        let r = v.rotation("prod").await.unwrap().unwrap();
        assert_eq!(r.state, RotationState::Verified);
        assert_eq!(r.sealed_pending.as_deref(), Some(&b"new"[..]));
        v.rotation_promote(
            "prod",
            b"new-current",
            Some(b"old-prev"),
            RotationState::Done,
            now,
        )
        .await
        .unwrap();
        let r = v.rotation("prod").await.unwrap().unwrap();
        assert_eq!(r.state, RotationState::Done);
        assert!(r.sealed_pending.is_none());
        assert_eq!(r.sealed_previous.as_deref(), Some(&b"old-prev"[..]));
        let rec = v.load_one("prod").await.unwrap().unwrap();
        assert_eq!(rec.sealed, b"new-current");
        assert_eq!(rec.env.rotation, None);
        assert!(v.unfinished_rotations().await.unwrap().is_empty());

        // A second rotation keeps the first one's previous until it promotes.
        v.rotation_begin("prod", b"newer", None, now).await.unwrap();
        v.rotation_roll_back("prod", now).await.unwrap();
        let r = v.rotation("prod").await.unwrap().unwrap();
        assert_eq!(r.state, RotationState::RolledBack);
        assert!(r.sealed_pending.is_none());
        assert_eq!(r.sealed_previous.as_deref(), Some(&b"old-prev"[..]));
        assert_eq!(
            v.load_one("prod").await.unwrap().unwrap().sealed,
            b"new-current"
        );
    }

    #[tokio::test]
    async fn promoting_a_removed_environment_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let v = vault_with_prod(&dir).await;
        let now = Utc::now();
        v.rotation_begin("prod", b"new", None, now).await.unwrap();
        assert!(v.delete("prod").await.unwrap());
        assert!(v.rotation("prod").await.unwrap().is_none());
        assert!(
            v.rotation_promote("prod", b"x", None, RotationState::Done, now)
                .await
                .is_err()
        );
    }

    #[tokio::test]
    async fn test_results_survive_an_update_of_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        let v = vault_with_prod(&dir).await;
        let t = TestResult {
            at: chrono::TimeZone::timestamp_opt(&Utc, 1_700_000_000, 0).unwrap(),
            ok: false,
            detail: "refused".into(),
            latency_ms: 7,
            reason: "unreachable".into(),
            tls: false,
        };
        v.set_last_test("prod", &t).await.unwrap();
        let mut rec = v.load_one("prod").await.unwrap().unwrap();
        assert_eq!(rec.env.last_test.as_ref(), Some(&t));
        rec.env.host = "elsewhere".into();
        v.upsert(&rec).await.unwrap();
        assert_eq!(v.load().await.unwrap()["prod"].env.last_test, Some(t));
    }
}
