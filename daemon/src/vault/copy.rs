//! What backups, restores and unlocker changes need from the file: an
//! online copy (`VACUUM INTO`), meta values, unlocker rows, and a copy made
//! self-contained (no `-wal` beside it).

use std::path::Path;

use dbcreds::Unlocker;

use super::{UnlockerRow, Vault, VaultError};

impl Vault {
    /// Opens `path` for reading only: no migration, no change of journal
    /// mode, nothing written (checking a backup just made). Close it with
    /// [`Vault::close_read_only`].
    pub async fn open_read_only(path: &Path) -> Result<Self, VaultError> {
        let options = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(path)
            .read_only(true)
            .busy_timeout(std::time::Duration::from_secs(5));
        let pool = sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await
            .map_err(|e| super::classify(path, e))?;
        Ok(Self {
            pool,
            path: path.to_owned(),
        })
    }

    /// Closes a vault opened with [`Vault::open_read_only`] (no checkpoint).
    pub async fn close_read_only(&self) {
        self.pool.close().await;
    }

    /// Writes a consistent snapshot of the vault into `target`, which must
    /// be missing or empty. `VACUUM INTO` reads in one read transaction, so
    /// the copy is whole even while other requests write; in WAL mode it
    /// blocks no reader.
    pub async fn vacuum_into(&self, target: &Path) -> Result<(), VaultError> {
        let Some(target) = target.to_str() else {
            return Err(VaultError::Corrupt {
                path: target.to_owned(),
                detail: "the path is not UTF-8".into(),
            });
        };
        sqlx::query("VACUUM INTO ?")
            .bind(target)
            .execute(&self.pool)
            .await
            .map_err(|e| self.classify(e))?;
        Ok(())
    }

    /// The vault id and the sealed key-check value every vault has; a file
    /// without them is not a vault.
    pub async fn identity(&self) -> Result<(String, Vec<u8>), VaultError> {
        let corrupt = |detail: &str| VaultError::Corrupt {
            path: self.path.clone(),
            detail: detail.to_owned(),
        };
        let vault_id = self
            .meta("vault_id")
            .await?
            .ok_or_else(|| corrupt("no vault id"))?;
        let key_check = self
            .meta("key_check")
            .await?
            .and_then(|h| super::crypto::unhex(&h))
            .ok_or_else(|| corrupt("no key check"))?;
        Ok((vault_id, key_check))
    }

    pub async fn set_meta(&self, key: &str, value: &str) -> Result<(), VaultError> {
        self.write_one(
            sqlx::query("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)")
                .bind(key)
                .bind(value),
        )
        .await
    }

    pub async fn delete_meta(&self, key: &str) -> Result<(), VaultError> {
        self.write_one(sqlx::query("DELETE FROM meta WHERE key = ?").bind(key))
            .await
    }

    /// Replaces every unlocker row with `rows`, in one transaction.
    pub async fn replace_unlockers(&self, rows: &[UnlockerRow]) -> Result<(), VaultError> {
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM unlockers")
            .execute(&mut *tx)
            .await
            .map_err(|e| self.classify(e))?;
        insert_unlockers(self, &mut tx, rows).await?;
        tx.commit().await.map_err(|e| self.classify(e))
    }

    /// Adds `row`, or replaces the row of its kind.
    pub async fn put_unlocker(&self, row: &UnlockerRow) -> Result<(), VaultError> {
        self.write_one(
            sqlx::query(
                "INSERT OR REPLACE INTO unlockers (kind, params, wrapped_key) VALUES (?, ?, ?)",
            )
            .bind(row.kind.as_str())
            .bind(&row.params)
            .bind(&row.wrapped_key),
        )
        .await
    }

    pub async fn delete_unlocker(&self, kind: Unlocker) -> Result<(), VaultError> {
        self.write_one(sqlx::query("DELETE FROM unlockers WHERE kind = ?").bind(kind.as_str()))
            .await
    }

    /// Leaves WAL mode, so that once closed the file alone is the whole
    /// vault (a backup travels as one file; a restore opens it in WAL mode
    /// again).
    pub async fn make_self_contained(&self) -> Result<(), VaultError> {
        sqlx::query("PRAGMA journal_mode = DELETE")
            .execute(&self.pool)
            .await
            .map_err(|e| self.classify(e))?;
        Ok(())
    }
}

/// Inserts `rows` into `unlockers` inside `tx`.
pub(super) async fn insert_unlockers(
    vault: &Vault,
    tx: &mut sqlx::Transaction<'static, sqlx::Sqlite>,
    rows: &[UnlockerRow],
) -> Result<(), VaultError> {
    for u in rows {
        sqlx::query("INSERT INTO unlockers (kind, params, wrapped_key) VALUES (?, ?, ?)")
            .bind(u.kind.as_str())
            .bind(&u.params)
            .bind(&u.wrapped_key)
            .execute(&mut **tx)
            .await
            .map_err(|e| vault.classify(e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vault::Record;
    use dbcreds::{DatabaseKind, EnvName, Environment};

    #[tokio::test]
    async fn an_online_copy_is_a_whole_vault_on_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let v = Vault::create(&dir.path().join("vault.db")).await.unwrap();
        v.initialize("id", "00", &[]).await.unwrap();
        let env = Environment::new(EnvName::parse("prod").unwrap(), DatabaseKind::Postgres);
        v.upsert(&Record {
            env,
            sealed: b"sealed".to_vec(),
        })
        .await
        .unwrap();
        let target = dir.path().join("copy.db");
        std::fs::File::create(&target).unwrap();
        // The source stays open and in WAL mode: its last write may sit in
        // the WAL only, and must be in the copy all the same.
        v.vacuum_into(&target).await.unwrap();
        let copy = Vault::open(&target).await.unwrap();
        let row = UnlockerRow {
            kind: Unlocker::Passphrase,
            params: "{}".into(),
            wrapped_key: Some(vec![7]),
        };
        copy.replace_unlockers(std::slice::from_ref(&row))
            .await
            .unwrap();
        copy.set_meta("backup_created_at", "1").await.unwrap();
        copy.make_self_contained().await.unwrap();
        copy.close().await;
        assert!(!dir.path().join("copy.db-wal").exists());
        let copy = Vault::open(&target).await.unwrap();
        assert_eq!(copy.load().await.unwrap()["prod"].sealed, b"sealed");
        let kinds: Vec<_> = copy.unlockers().await.unwrap();
        assert_eq!(kinds.len(), 1);
        assert_eq!(kinds[0].wrapped_key.as_deref(), Some(&[7u8][..]));
        assert_eq!(copy.meta("vault_id").await.unwrap().as_deref(), Some("id"));
        copy.delete_meta("backup_created_at").await.unwrap();
        assert_eq!(copy.meta("backup_created_at").await.unwrap(), None);
        // The source is untouched.
        assert!(v.unlockers().await.unwrap().is_empty());
    }
}
