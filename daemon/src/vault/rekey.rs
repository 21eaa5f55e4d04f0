//! Re-sealing the whole vault under a new data key, in one transaction.
//!
//! SQLite in WAL mode with `synchronous=FULL` commits a transaction whole or
//! not at all, also when the process is killed mid-way or the machine loses
//! power: so every sealed value, the key-check value and the unlocker rows
//! (the new key's keyring entry name, the passphrase-wrapped new key) change
//! together, and the file never holds a password sealed under one key next
//! to a key check of the other.

use sqlx::Row;

use super::copy::insert_unlockers;
use super::rotation::{pending_aad, previous_aad};
use super::{UnlockerRow, Vault, VaultError};

/// How every sealed value is carried over: `(associated data, sealed under
/// the old key)` to the value sealed under the new key, or why it cannot be
/// opened.
pub type Reseal<'a> = dyn Fn(&[u8], &[u8]) -> Result<Vec<u8>, String> + Send + Sync + 'a;

/// The transaction's other writes: the new key check, the unlockers, and
/// the `meta` entry that tracks the keyring side of the re-key (`None`
/// deletes it).
pub struct Rekeyed<'a> {
    pub key_check_hex: &'a str,
    pub unlockers: &'a [UnlockerRow],
    pub meta: (&'a str, Option<&'a str>),
}

impl Vault {
    /// Re-seals every password (current, and the pending and previous ones
    /// of rotations) with `reseal` and writes `then`, all in one
    /// transaction; returns how many values were re-sealed. A value that
    /// does not open rolls everything back.
    pub async fn reseal_all(
        &self,
        reseal: &Reseal<'_>,
        then: Rekeyed<'_>,
    ) -> Result<usize, VaultError> {
        let corrupt = |detail: String| VaultError::Corrupt {
            path: self.path.clone(),
            detail,
        };
        let mut tx = self.begin_write().await?;
        let mut count = 0;
        let rows = sqlx::query("SELECT name, sealed_password FROM environments")
            .fetch_all(&mut *tx)
            .await
            .map_err(|e| self.classify(e))?;
        for row in rows {
            let name: String = row.try_get("name").map_err(|e| self.classify(e))?;
            let sealed: Vec<u8> = row
                .try_get("sealed_password")
                .map_err(|e| self.classify(e))?;
            let new = reseal(name.as_bytes(), &sealed)
                .map_err(|why| corrupt(format!("the password of '{name}' {why}")))?;
            sqlx::query("UPDATE environments SET sealed_password = ? WHERE name = ?")
                .bind(new)
                .bind(&name)
                .execute(&mut *tx)
                .await
                .map_err(|e| self.classify(e))?;
            count += 1;
        }
        let rows = sqlx::query("SELECT name, sealed_pending, sealed_previous FROM rotations")
            .fetch_all(&mut *tx)
            .await
            .map_err(|e| self.classify(e))?;
        for row in rows {
            let name: String = row.try_get("name").map_err(|e| self.classify(e))?;
            let mut carried = [None, None];
            for (slot, (column, aad)) in carried.iter_mut().zip([
                ("sealed_pending", pending_aad(&name)),
                ("sealed_previous", previous_aad(&name)),
            ]) {
                let sealed: Option<Vec<u8>> = row.try_get(column).map_err(|e| self.classify(e))?;
                if let Some(sealed) = sealed {
                    *slot = Some(reseal(&aad, &sealed).map_err(|why| {
                        corrupt(format!("the {column} password of '{name}' {why}"))
                    })?);
                    count += 1;
                }
            }
            let [pending, previous] = carried;
            sqlx::query(
                "UPDATE rotations SET sealed_pending = ?, sealed_previous = ? WHERE name = ?",
            )
            .bind(pending)
            .bind(previous)
            .bind(&name)
            .execute(&mut *tx)
            .await
            .map_err(|e| self.classify(e))?;
        }
        let rows =
            sqlx::query("SELECT name, sealed_login FROM sources WHERE sealed_login IS NOT NULL")
                .fetch_all(&mut *tx)
                .await
                .map_err(|e| self.classify(e))?;
        for row in rows {
            let name: String = row.try_get("name").map_err(|e| self.classify(e))?;
            let sealed: Vec<u8> = row.try_get("sealed_login").map_err(|e| self.classify(e))?;
            let new = reseal(&super::sources::login_aad(&name), &sealed)
                .map_err(|why| corrupt(format!("the login of source '{name}' {why}")))?;
            sqlx::query("UPDATE sources SET sealed_login = ? WHERE name = ?")
                .bind(new)
                .bind(&name)
                .execute(&mut *tx)
                .await
                .map_err(|e| self.classify(e))?;
            count += 1;
        }
        sqlx::query("UPDATE meta SET value = ? WHERE key = 'key_check'")
            .bind(then.key_check_hex)
            .execute(&mut *tx)
            .await
            .map_err(|e| self.classify(e))?;
        sqlx::query("DELETE FROM unlockers")
            .execute(&mut *tx)
            .await
            .map_err(|e| self.classify(e))?;
        insert_unlockers(self, &mut tx, then.unlockers).await?;
        let (key, value) = then.meta;
        let meta = match value {
            Some(v) => sqlx::query("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)")
                .bind(key)
                .bind(v),
            None => sqlx::query("DELETE FROM meta WHERE key = ?").bind(key),
        };
        meta.execute(&mut *tx).await.map_err(|e| self.classify(e))?;
        // Everything is written but nothing committed: a crash here must
        // leave the old key in charge.
        crate::testhooks::step("rekey:before_commit").await;
        tx.commit().await.map_err(|e| self.classify(e))?;
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vault::Record;
    use chrono::Utc;
    use dbcreds::{DatabaseKind, EnvName, Environment, Unlocker};

    fn flip(_: &[u8], sealed: &[u8]) -> Result<Vec<u8>, String> {
        if sealed == b"bad" {
            return Err("fails authentication".into());
        }
        Ok(sealed.iter().rev().copied().collect())
    }

    async fn vault(dir: &tempfile::TempDir, names: &[(&str, &[u8])]) -> Vault {
        let v = Vault::create(&dir.path().join("vault.db")).await.unwrap();
        v.initialize("id", "00", &[]).await.unwrap();
        for (name, sealed) in names {
            let env = Environment::new(EnvName::parse(name).unwrap(), DatabaseKind::Postgres);
            v.upsert(&Record {
                env,
                sealed: sealed.to_vec(),
            })
            .await
            .unwrap();
        }
        v
    }

    fn keyring_row() -> Vec<UnlockerRow> {
        vec![UnlockerRow {
            kind: Unlocker::Keyring,
            params: r#"{"entry":"vault:id:new"}"#.into(),
            wrapped_key: None,
        }]
    }

    #[tokio::test]
    async fn everything_sealed_moves_to_the_new_key_in_one_go() {
        let dir = tempfile::tempdir().unwrap();
        let v = vault(&dir, &[("prod", b"ab"), ("dev", b"cd")]).await;
        v.rotation_begin("prod", b"pq", None, Utc::now())
            .await
            .unwrap();
        v.set_meta("rekey", "storing").await.unwrap();
        let unlockers = keyring_row();
        let n = v
            .reseal_all(
                &flip,
                Rekeyed {
                    key_check_hex: "ff",
                    unlockers: &unlockers,
                    meta: ("rekey", Some("committed")),
                },
            )
            .await
            .unwrap();
        assert_eq!(n, 3);
        let all = v.load().await.unwrap();
        assert_eq!(all["prod"].sealed, b"ba");
        assert_eq!(all["dev"].sealed, b"dc");
        let r = v.rotation("prod").await.unwrap().unwrap();
        assert_eq!(r.sealed_pending.as_deref(), Some(&b"qp"[..]));
        assert_eq!(r.sealed_previous, None);
        assert_eq!(v.meta("key_check").await.unwrap().as_deref(), Some("ff"));
        assert_eq!(v.meta("rekey").await.unwrap().as_deref(), Some("committed"));
        assert_eq!(v.unlockers().await.unwrap()[0].params, unlockers[0].params);
    }

    #[tokio::test]
    async fn one_value_that_does_not_open_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let v = vault(&dir, &[("a", b"ok"), ("b", b"bad")]).await;
        let err = v
            .reseal_all(
                &flip,
                Rekeyed {
                    key_check_hex: "ff",
                    unlockers: &keyring_row(),
                    meta: ("rekey", None),
                },
            )
            .await
            .unwrap_err();
        assert!(err.to_string().contains("'b'"), "{err}");
        let all = v.load().await.unwrap();
        assert_eq!(all["a"].sealed, b"ok");
        assert_eq!(v.meta("key_check").await.unwrap().as_deref(), Some("00"));
        assert!(v.unlockers().await.unwrap().is_empty());
    }
}
