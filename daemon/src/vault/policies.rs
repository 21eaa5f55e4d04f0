//! The policies table (docs/security.md): one row per environment with a
//! policy of its own, and the default of production environments under
//! the name [`PRODUCTION_DEFAULT`].

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};
use dbcreds::policy::Policy;
use sqlx::Row;

use super::{Vault, VaultError};

/// The row of the production default: no environment name can be this.
pub const PRODUCTION_DEFAULT: &str = "*production";

/// A stored policy and when it was set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyRow {
    pub policy: Policy,
    pub updated_at: DateTime<Utc>,
}

fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

fn row_of(r: &sqlx::sqlite::SqliteRow) -> Result<(String, PolicyRow), String> {
    let get = |e: sqlx::Error| e.to_string();
    let name: String = r.try_get("name").map_err(get)?;
    let confirm: String = r.try_get("confirm").map_err(get)?;
    let approve: i64 = r.try_get("approve_for_secs").map_err(get)?;
    let allow: String = r.try_get("allow").map_err(get)?;
    let max: Option<i64> = r.try_get("max_unlocked_secs").map_err(get)?;
    let at: i64 = r.try_get("updated_at").map_err(get)?;
    let allow: Vec<PathBuf> = serde_json::from_str(&allow)
        .map_err(|e| format!("the allow list of the policy of '{name}': {e}"))?;
    let duration = |n: i64| Duration::from_secs(u64::try_from(n).unwrap_or(0));
    let policy = Policy {
        confirm: confirm.parse().map_err(|e| format!("{e}"))?,
        approve_for: duration(approve),
        allow,
        max_unlocked: max.map(duration),
    };
    policy
        .check()
        .map_err(|e| format!("the policy of '{name}': {e}"))?;
    Ok((
        name,
        PolicyRow {
            policy,
            updated_at: DateTime::from_timestamp(at, 0).unwrap_or_default(),
        },
    ))
}

impl Vault {
    /// Every stored policy, by name.
    pub async fn load_policies(&self) -> Result<BTreeMap<String, PolicyRow>, VaultError> {
        let rows = sqlx::query("SELECT * FROM policies")
            .fetch_all(&self.pool)
            .await
            .map_err(|e| self.classify(e))?;
        rows.iter()
            .map(|r| {
                row_of(r).map_err(|detail| VaultError::Corrupt {
                    path: self.path.clone(),
                    detail,
                })
            })
            .collect()
    }

    /// Stores `row` as `name`'s policy, replacing any.
    pub async fn put_policy(&self, name: &str, row: &PolicyRow) -> Result<(), VaultError> {
        let p = &row.policy;
        let allow = serde_json::to_string(&p.allow).unwrap_or_else(|_| "[]".into());
        self.write_one(
            sqlx::query(
                "INSERT OR REPLACE INTO policies (name, confirm, approve_for_secs, allow, \
                 max_unlocked_secs, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
            )
            .bind(name.to_owned())
            .bind(p.confirm.as_str())
            .bind(secs(p.approve_for))
            .bind(allow)
            .bind(p.max_unlocked.map(secs))
            .bind(row.updated_at.timestamp()),
        )
        .await
    }

    /// Removes `name`'s policy, if any.
    pub async fn delete_policy(&self, name: &str) -> Result<(), VaultError> {
        self.write_one(sqlx::query("DELETE FROM policies WHERE name = ?").bind(name.to_owned()))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dbcreds::policy::Confirm;

    #[tokio::test]
    async fn policies_are_stored_and_read_back_whole() {
        let dir = tempfile::tempdir().unwrap();
        let v = Vault::create(&dir.path().join("vault.db")).await.unwrap();
        let row = PolicyRow {
            policy: Policy {
                confirm: Confirm::OncePerSession,
                approve_for: Duration::from_secs(2),
                allow: vec![PathBuf::from("/usr/bin/psql")],
                max_unlocked: Some(Duration::from_secs(60)),
            },
            updated_at: DateTime::from_timestamp(1_000, 0).unwrap(),
        };
        v.put_policy("prod", &row).await.unwrap();
        v.put_policy(PRODUCTION_DEFAULT, &row).await.unwrap();
        let all = v.load_policies().await.unwrap();
        assert_eq!(all.get("prod"), Some(&row));
        assert_eq!(all.len(), 2);
        v.delete_policy("prod").await.unwrap();
        assert!(!v.load_policies().await.unwrap().contains_key("prod"));
    }
}
