//! The vault: one SQLite file (through sqlx) holding environments, sealed
//! passwords, unlocker records and the audit log. Every write is a single
//! `BEGIN IMMEDIATE` transaction, so the file never says one thing about an
//! environment's metadata and another about its secret.

mod audit_log;
mod copy;
pub mod crypto;
mod policies;
pub mod rekey;
pub mod rotation;
pub mod sources;

pub use audit_log::{AuditEvent, DECISION};
pub use policies::{PRODUCTION_DEFAULT, PolicyRow};
pub use sources::SourceRow;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use dbcreds::{DatabaseKind, EnvName, Environment, Unlocker};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};

/// Migrations compiled into the binary; a vault with a migration this list
/// lacks was written by a newer dbcreds.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error(
        "the vault file {path} is damaged or not a dbcreds vault ({detail}): restore it from a backup, or move it aside and run `dbcreds init`"
    )]
    Corrupt { path: PathBuf, detail: String },
    #[error(
        "the vault file {path} was written by a newer dbcreds (schema {version}): upgrade dbcreds; the file was left unchanged"
    )]
    TooNew { path: PathBuf, version: i64 },
    #[error("the disk holding {path} is full: free some space and retry; nothing was changed")]
    DiskFull { path: PathBuf },
    #[error("vault storage error: {0}")]
    Db(#[from] sqlx::Error),
}

/// An environment row: its metadata and its sealed password.
#[derive(Clone, Debug)]
pub struct Record {
    pub env: Environment,
    pub sealed: Vec<u8>,
}

/// How the data key is unlocked (a row of `unlockers`).
#[derive(Clone, Debug)]
pub struct UnlockerRow {
    pub kind: Unlocker,
    pub params: String,
    pub wrapped_key: Option<Vec<u8>>,
}

/// Every environment column, plus its last test and the state of an
/// unfinished rotation (`NULL` when none).
const LOAD: &str = "SELECT e.*, t.at AS test_at, t.ok AS test_ok, t.detail AS test_detail, \
     t.latency_ms AS test_latency_ms, t.reason AS test_reason, t.tls AS test_tls, \
     CASE WHEN r.state IN ('pending', 'set', 'verified') THEN r.state END AS rotation_state \
     FROM environments e \
     LEFT JOIN environment_tests t ON t.name = e.name \
     LEFT JOIN rotations r ON r.name = e.name";

#[derive(Clone)]
pub struct Vault {
    pool: SqlitePool,
    path: PathBuf,
}

fn options(path: &Path, create: bool) -> SqliteConnectOptions {
    SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(create)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(Duration::from_secs(5))
        .foreign_keys(true)
}

impl Vault {
    /// Opens an existing vault, checks it and brings its schema up to date.
    /// A damaged file or one from a newer dbcreds is reported and left as
    /// it is.
    pub async fn open(path: &Path) -> Result<Self, VaultError> {
        Self::connect(path, false).await
    }

    /// Creates a new, empty vault at `path` (which must not exist).
    pub async fn create(path: &Path) -> Result<Self, VaultError> {
        Self::connect(path, true).await
    }

    async fn connect(path: &Path, create: bool) -> Result<Self, VaultError> {
        let classify = |e: sqlx::Error| classify(path, e);
        let pool = SqlitePoolOptions::new()
            // The agent is the only writer; one connection also makes every
            // write naturally serial.
            .max_connections(1)
            // A COMMIT that fails (disk full) is rolled back by SQLite
            // itself; sqlx's own ROLLBACK then fails and its transaction
            // depth stays at 1, so every later `begin` on that connection
            // fails. A connection released inside a transaction is closed
            // instead, and the next write gets a fresh one.
            .after_release(|conn, _| {
                Box::pin(async move {
                    use sqlx::Connection;
                    Ok(!conn.is_in_transaction())
                })
            })
            .connect_with(options(path, create))
            .await
            .map_err(classify)?;
        let check: String = sqlx::query_scalar("PRAGMA quick_check")
            .fetch_one(&pool)
            .await
            .map_err(classify)?;
        if check != "ok" {
            return Err(VaultError::Corrupt {
                path: path.to_owned(),
                detail: check,
            });
        }
        if let Err(e) = MIGRATOR.run(&pool).await {
            return Err(match e {
                sqlx::migrate::MigrateError::VersionMissing(version) => VaultError::TooNew {
                    path: path.to_owned(),
                    version,
                },
                sqlx::migrate::MigrateError::Execute(e) => classify(e),
                other => VaultError::Corrupt {
                    path: path.to_owned(),
                    detail: other.to_string(),
                },
            });
        }
        Ok(Self {
            pool,
            path: path.to_owned(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn classify(&self, e: sqlx::Error) -> VaultError {
        classify(&self.path, e)
    }

    /// Starts a write transaction with `BEGIN IMMEDIATE`, so it holds the
    /// write lock from its first statement.
    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, VaultError> {
        self.pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(|e| self.classify(e))
    }

    /// Runs one statement in a write transaction of its own and commits it.
    async fn write_one(
        &self,
        query: sqlx::query::Query<'_, sqlx::Sqlite, sqlx::sqlite::SqliteArguments>,
    ) -> Result<(), VaultError> {
        let mut tx = self.begin_write().await?;
        query
            .execute(&mut *tx)
            .await
            .map_err(|e| self.classify(e))?;
        tx.commit().await.map_err(|e| self.classify(e))
    }

    pub async fn meta(&self, key: &str) -> Result<Option<String>, VaultError> {
        sqlx::query_scalar("SELECT value FROM meta WHERE key = ?")
            .bind(key)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| self.classify(e))
    }

    /// Writes the vault id and the unlockers of a new vault in one transaction.
    pub async fn initialize(
        &self,
        vault_id: &str,
        key_check: &str,
        unlockers: &[UnlockerRow],
    ) -> Result<(), VaultError> {
        let mut tx = self.begin_write().await?;
        sqlx::query("INSERT INTO meta (key, value) VALUES ('vault_id', ?), ('key_check', ?)")
            .bind(vault_id)
            .bind(key_check)
            .execute(&mut *tx)
            .await
            .map_err(|e| self.classify(e))?;
        copy::insert_unlockers(self, &mut tx, unlockers).await?;
        tx.commit().await.map_err(|e| self.classify(e))
    }

    pub async fn unlockers(&self) -> Result<Vec<UnlockerRow>, VaultError> {
        let rows = sqlx::query("SELECT kind, params, wrapped_key FROM unlockers ORDER BY kind")
            .fetch_all(&self.pool)
            .await
            .map_err(|e| self.classify(e))?;
        rows.iter()
            .map(|r| {
                let kind: String = r.try_get("kind").map_err(|e| self.classify(e))?;
                Ok(UnlockerRow {
                    kind: kind.parse().map_err(|why: String| VaultError::Corrupt {
                        path: self.path.clone(),
                        detail: why,
                    })?,
                    params: r.try_get("params").map_err(|e| self.classify(e))?,
                    wrapped_key: r.try_get("wrapped_key").map_err(|e| self.classify(e))?,
                })
            })
            .collect()
    }

    /// Every environment, keyed by name.
    pub async fn load(&self) -> Result<BTreeMap<String, Record>, VaultError> {
        use futures_util::TryStreamExt;
        // Row by row, not `fetch_all`: 10,000 rows held at once only to be
        // copied into records doubled the agent's peak memory at start.
        let mut rows = sqlx::query(LOAD).fetch(&self.pool);
        let mut out = BTreeMap::new();
        while let Some(row) = rows.try_next().await.map_err(|e| self.classify(e))? {
            let rec = record_from_row(&row).map_err(|detail| VaultError::Corrupt {
                path: self.path.clone(),
                detail,
            })?;
            out.insert(rec.env.name.to_string(), rec);
        }
        Ok(out)
    }

    /// One environment as [`Vault::load`] reads it, or `None`.
    pub async fn load_one(&self, name: &str) -> Result<Option<Record>, VaultError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("{LOAD} WHERE e.name = ?")))
            .bind(name)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| self.classify(e))?;
        row.map(|row| {
            record_from_row(&row).map_err(|detail| VaultError::Corrupt {
                path: self.path.clone(),
                detail,
            })
        })
        .transpose()
    }

    /// Inserts `rec`, or replaces the row of the same name when `replace`.
    pub async fn upsert(&self, rec: &Record) -> Result<(), VaultError> {
        let e = &rec.env;
        let options = serde_json::to_string(&e.options).unwrap_or_else(|_| "{}".into());
        let query = sqlx::query(
            "INSERT OR REPLACE INTO environments (name, kind, host, port, database, username, options, \
             production, description, created_at, updated_at, password_updated_at, expires_days, sealed_password, \
             auth, password_missing, source) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(e.name.as_str())
        .bind(e.kind.as_str())
        .bind(&e.host)
        .bind(i64::from(e.port))
        .bind(&e.database)
        .bind(&e.username)
        .bind(options)
        .bind(e.production)
        .bind(&e.description)
        .bind(secs(e.created_at))
        .bind(secs(e.updated_at))
        .bind(secs(e.password_updated_at))
        .bind(e.expires_days.map(i64::from))
        .bind(&rec.sealed)
        .bind(e.auth.as_str())
        .bind(e.password_missing)
        .bind(e.source.as_ref().map(sources::source_json));
        self.write_one(query).await
    }

    pub async fn delete(&self, name: &str) -> Result<bool, VaultError> {
        let mut tx = self.begin_write().await?;
        let n = sqlx::query("DELETE FROM environments WHERE name = ?")
            .bind(name)
            .execute(&mut *tx)
            .await
            .map_err(|e| self.classify(e))?
            .rows_affected();
        // Its test result, rotation state (pending and previous passwords
        // included) and policy go with it.
        for sql in [
            "DELETE FROM environment_tests WHERE name = ?",
            "DELETE FROM rotations WHERE name = ?",
            "DELETE FROM policies WHERE name = ?",
        ] {
            sqlx::query(sql)
                .bind(name)
                .execute(&mut *tx)
                .await
                .map_err(|e| self.classify(e))?;
        }
        tx.commit().await.map_err(|e| self.classify(e))?;
        Ok(n > 0)
    }

    /// `PRAGMA integrity_check`: "ok", or the first problems SQLite found.
    pub async fn integrity_check(&self) -> Result<String, VaultError> {
        let rows: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check(5)")
            .fetch_all(&self.pool)
            .await
            .map_err(|e| self.classify(e))?;
        Ok(rows.join("; "))
    }

    /// Merges the WAL into the file and closes, so after a clean stop
    /// `vault.db` alone is the whole vault (a copy of it is a backup).
    pub async fn close(&self) {
        if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&self.pool)
            .await
        {
            tracing::warn!(error = %e, "WAL checkpoint at close failed");
        }
        self.pool.close().await;
    }
}

fn secs(t: Option<DateTime<Utc>>) -> i64 {
    t.map_or(0, |t| t.timestamp())
}

fn time(s: i64) -> Option<DateTime<Utc>> {
    if s == 0 {
        None
    } else {
        Utc.timestamp_opt(s, 0).single()
    }
}

fn record_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<Record, String> {
    let get_s = |c: &str| row.try_get::<String, _>(c).map_err(|e| e.to_string());
    let get_i = |c: &str| row.try_get::<i64, _>(c).map_err(|e| e.to_string());
    let name = get_s("name")?;
    let kind =
        DatabaseKind::from_str(&get_s("kind")?).map_err(|e| format!("environment {name}: {e}"))?;
    let mut env = Environment::new(EnvName::parse(&name).map_err(|e| e.to_string())?, kind);
    env.host = get_s("host")?;
    env.port =
        u16::try_from(get_i("port")?).map_err(|_| format!("environment {name}: bad port"))?;
    env.database = get_s("database")?;
    env.username = get_s("username")?;
    env.options = serde_json::from_str(&get_s("options")?)
        .map_err(|e| format!("environment {name}: options: {e}"))?;
    env.production = get_i("production")? != 0;
    env.description = get_s("description")?;
    env.created_at = time(get_i("created_at")?);
    env.updated_at = time(get_i("updated_at")?);
    env.password_updated_at = time(get_i("password_updated_at")?);
    env.expires_days = row
        .try_get::<Option<i64>, _>("expires_days")
        .map_err(|e| e.to_string())?
        .and_then(|d| u32::try_from(d).ok());
    env.auth = get_s("auth")?
        .parse()
        .map_err(|e| format!("environment {name}: {e}"))?;
    env.password_missing = get_i("password_missing")? != 0;
    if let Some(raw) = row
        .try_get::<Option<String>, _>("source")
        .map_err(|e| e.to_string())?
    {
        env.source = Some(
            sources::source_from_json(&raw)
                .map_err(|e| format!("environment {name}: source: {e}"))?,
        );
    }
    let sealed: Vec<u8> = row.try_get("sealed_password").map_err(|e| e.to_string())?;
    let opt_i = |c: &str| row.try_get::<Option<i64>, _>(c).map_err(|e| e.to_string());
    let opt_s = |c: &str| {
        row.try_get::<Option<String>, _>(c)
            .map_err(|e| e.to_string())
    };
    // Rows read without the joins (none today) simply have no test result.
    if let Ok(Some(at)) = opt_i("test_at") {
        env.last_test = time(at).map(|at| dbcreds::TestResult {
            at,
            ok: opt_i("test_ok").ok().flatten().unwrap_or(0) != 0,
            detail: opt_s("test_detail").ok().flatten().unwrap_or_default(),
            latency_ms: opt_i("test_latency_ms")
                .ok()
                .flatten()
                .and_then(|v| u32::try_from(v).ok())
                .unwrap_or(0),
            reason: opt_s("test_reason").ok().flatten().unwrap_or_default(),
            tls: opt_i("test_tls").ok().flatten().unwrap_or(0) != 0,
        });
    }
    env.rotation = opt_s("rotation_state").ok().flatten();
    Ok(Record { env, sealed })
}

/// SQLite result codes that mean the file itself is bad, not the request.
fn classify(path: &Path, e: sqlx::Error) -> VaultError {
    if let sqlx::Error::Database(db) = &e {
        let code = db.code().unwrap_or_default();
        // 11 SQLITE_CORRUPT, 26 SQLITE_NOTADB (primary codes; extended codes
        // keep the primary in the low byte).
        let primary = code.parse::<i64>().map(|c| c & 0xff).unwrap_or(-1);
        match primary {
            11 | 26 => {
                return VaultError::Corrupt {
                    path: path.to_owned(),
                    detail: db.message().to_owned(),
                };
            }
            13 => {
                return VaultError::DiskFull {
                    path: path.to_owned(),
                };
            }
            _ => {}
        }
    }
    VaultError::Db(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn create_write_reload() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vault.db");
        let v = Vault::create(&path).await.unwrap();
        v.initialize("id1", "00", &[]).await.unwrap();
        let mut env = Environment::new(EnvName::parse("prod").unwrap(), DatabaseKind::Postgres);
        env.options.insert("sslmode".into(), "require".into());
        env.created_at = time(1_700_000_000);
        v.upsert(&Record {
            env: env.clone(),
            sealed: vec![1, 2, 3],
        })
        .await
        .unwrap();
        v.close().await;
        let v = Vault::open(&path).await.unwrap();
        let all = v.load().await.unwrap();
        assert_eq!(all["prod"].env, env);
        assert_eq!(all["prod"].sealed, vec![1, 2, 3]);
        assert_eq!(v.meta("vault_id").await.unwrap().as_deref(), Some("id1"));
    }

    #[tokio::test]
    async fn garbage_is_reported_corrupt_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vault.db");
        let garbage = vec![0x5a_u8; 8192];
        std::fs::write(&path, &garbage).unwrap();
        assert!(matches!(
            Vault::open(&path).await,
            Err(VaultError::Corrupt { .. })
        ));
        assert_eq!(std::fs::read(&path).unwrap(), garbage);
    }

    #[tokio::test]
    async fn newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vault.db");
        let v = Vault::create(&path).await.unwrap();
        sqlx::query("INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) VALUES (99990101000000, 'future', 1, X'00', 0)")
            .execute(&v.pool)
            .await
            .unwrap();
        v.close().await;
        assert!(matches!(
            Vault::open(&path).await,
            Err(VaultError::TooNew {
                version: 99990101000000,
                ..
            })
        ));
    }
}
