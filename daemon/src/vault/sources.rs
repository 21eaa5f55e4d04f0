//! The sources table, and the `source` column of environments: where a
//! secret comes from when it is not sealed here.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::Utc;
use dbcreds::SecretSource;
use dbcreds_sources::SourceSpec;
use serde_json::json;
use sqlx::Row;

use super::{Vault, VaultError};

/// A configured source and its sealed login secret.
#[derive(Clone, Debug)]
pub struct SourceRow {
    pub spec: SourceSpec,
    pub sealed_login: Option<Vec<u8>>,
}

/// The associated data a source's login secret is sealed with: it cannot
/// be moved to an environment's password or another source.
pub fn login_aad(name: &str) -> Vec<u8> {
    format!("source:{name}").into_bytes()
}

/// The `source` column's JSON.
pub fn source_json(s: &SecretSource) -> String {
    json!({
        "kind": s.kind.as_str(),
        "source": s.source,
        "location": s.location,
        "cache_for_secs": s.cache_for.map(|d| d.as_secs()),
    })
    .to_string()
}

/// Reads the `source` column back.
pub fn source_from_json(raw: &str) -> Result<SecretSource, String> {
    let v: serde_json::Value = serde_json::from_str(raw).map_err(|e| e.to_string())?;
    let text = |k: &str| v[k].as_str().unwrap_or_default().to_owned();
    let mut s = SecretSource::new(
        text("kind").parse().map_err(|e| format!("{e}"))?,
        &text("source"),
        &text("location"),
    );
    s.cache_for = v["cache_for_secs"].as_u64().map(Duration::from_secs);
    s.check().map_err(|e| e.to_string())?;
    Ok(s)
}

impl Vault {
    /// Every configured source, by name.
    pub async fn load_sources(&self) -> Result<BTreeMap<String, SourceRow>, VaultError> {
        let rows = sqlx::query("SELECT name, spec, sealed_login FROM sources")
            .fetch_all(&self.pool)
            .await
            .map_err(|e| self.classify(e))?;
        let mut out = BTreeMap::new();
        for row in rows {
            let name: String = row.try_get("name").map_err(|e| self.classify(e))?;
            let spec: String = row.try_get("spec").map_err(|e| self.classify(e))?;
            let spec: SourceSpec =
                serde_json::from_str(&spec).map_err(|e| VaultError::Corrupt {
                    path: self.path.clone(),
                    detail: format!("source '{name}': {e}"),
                })?;
            let sealed_login = row.try_get("sealed_login").map_err(|e| self.classify(e))?;
            out.insert(name, SourceRow { spec, sealed_login });
        }
        Ok(out)
    }

    pub async fn upsert_source(&self, row: &SourceRow) -> Result<(), VaultError> {
        let now = Utc::now().timestamp();
        let spec = serde_json::to_string(&row.spec).unwrap_or_else(|_| "{}".into());
        let query = sqlx::query(
            "INSERT INTO sources (name, spec, sealed_login, created_at, updated_at) VALUES (?, ?, ?, ?, ?) \
             ON CONFLICT (name) DO UPDATE SET spec = excluded.spec, sealed_login = excluded.sealed_login, \
             updated_at = excluded.updated_at",
        )
        .bind(&row.spec.name)
        .bind(spec)
        .bind(&row.sealed_login)
        .bind(now)
        .bind(now);
        self.write_one(query).await
    }

    pub async fn delete_source(&self, name: &str) -> Result<(), VaultError> {
        self.write_one(sqlx::query("DELETE FROM sources WHERE name = ?").bind(name))
            .await
    }
}
