//! The domain model shared by the agent, the CLI and applications:
//! environment names, database kinds, environments and credentials, and
//! password-expiry arithmetic. It holds the rules once, so every side
//! rejects the same bad input with the same words.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Duration, Utc};
use secrecy::{ExposeSecret, SecretString};

use crate::error::InvalidInput;

/// Longest environment name accepted.
pub const MAX_NAME_LEN: usize = 50;

/// Days a password stays fresh unless the environment says otherwise.
pub const DEFAULT_EXPIRES_DAYS: u32 = 90;

/// Days before expiry from which a password counts as "expiring soon".
pub const EXPIRING_SOON_DAYS: i64 = 14;

/// A validated environment name: 1–50 characters of `[a-z0-9_-]`,
/// case-folded to lower case.
///
/// ```
/// use dbcreds::EnvName;
/// let name: EnvName = "Prod".parse().unwrap();
/// assert_eq!(name.as_str(), "prod");
/// assert!("Prod DB!".parse::<EnvName>().is_err());
/// ```
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EnvName(String);

impl EnvName {
    /// Validates and case-folds `raw`.
    ///
    /// ```
    /// assert_eq!(dbcreds::EnvName::parse("dev_2").unwrap().as_str(), "dev_2");
    /// ```
    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        let folded = raw.to_ascii_lowercase();
        if folded.is_empty() {
            return Err(InvalidInput::Name {
                name: raw.to_owned(),
                why: "it is empty".into(),
            });
        }
        if folded.chars().count() > MAX_NAME_LEN {
            return Err(InvalidInput::Name {
                name: raw.to_owned(),
                why: format!(
                    "it is {} characters long (at most {MAX_NAME_LEN})",
                    folded.chars().count()
                ),
            });
        }
        if let Some(bad) = folded
            .chars()
            .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_' || *c == '-'))
        {
            return Err(InvalidInput::Name {
                name: raw.to_owned(),
                why: format!("{bad:?} is not allowed (use a-z, 0-9, _ and -)"),
            });
        }
        Ok(Self(folded))
    }

    /// The name as stored.
    ///
    /// ```
    /// assert_eq!(dbcreds::EnvName::parse("qa").unwrap().as_str(), "qa");
    /// ```
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name as it appears in `DBCREDS_<ENV>_*` variables: upper case,
    /// `-` turned into `_`.
    ///
    /// ```
    /// assert_eq!(dbcreds::EnvName::parse("eu-prod").unwrap().env_var_stem(), "EU_PROD");
    /// ```
    pub fn env_var_stem(&self) -> String {
        self.0.to_ascii_uppercase().replace('-', "_")
    }
}

impl FromStr for EnvName {
    type Err = InvalidInput;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for EnvName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for EnvName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

impl AsRef<str> for EnvName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// The database products dbcreds knows.
///
/// ```
/// use dbcreds::DatabaseKind;
/// let kind: DatabaseKind = "postgresql".parse().unwrap();
/// assert_eq!(kind, DatabaseKind::Postgres);
/// assert_eq!(kind.default_port(), Some(5432));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DatabaseKind {
    /// PostgreSQL.
    Postgres,
    /// MySQL.
    Mysql,
    /// MariaDB.
    Mariadb,
    /// SQLite: `database` is a file path; host and port are unused.
    Sqlite,
    /// Microsoft SQL Server.
    Mssql,
    /// Oracle Database.
    Oracle,
    /// Snowflake: `host` is the account locator.
    Snowflake,
}

impl DatabaseKind {
    /// Every kind, in the order `--help` lists them.
    pub const ALL: [DatabaseKind; 7] = [
        Self::Postgres,
        Self::Mysql,
        Self::Mariadb,
        Self::Sqlite,
        Self::Mssql,
        Self::Oracle,
        Self::Snowflake,
    ];

    /// The canonical name, as stored and shown.
    ///
    /// ```
    /// assert_eq!(dbcreds::DatabaseKind::Mariadb.as_str(), "mariadb");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Postgres => "postgres",
            Self::Mysql => "mysql",
            Self::Mariadb => "mariadb",
            Self::Sqlite => "sqlite",
            Self::Mssql => "mssql",
            Self::Oracle => "oracle",
            Self::Snowflake => "snowflake",
        }
    }

    /// The port the server listens on unless told otherwise; `None` for
    /// SQLite, which has no server.
    ///
    /// ```
    /// assert_eq!(dbcreds::DatabaseKind::Mssql.default_port(), Some(1433));
    /// ```
    pub fn default_port(self) -> Option<u16> {
        match self {
            Self::Postgres => Some(5432),
            Self::Mysql | Self::Mariadb => Some(3306),
            Self::Sqlite => None,
            Self::Mssql => Some(1433),
            Self::Oracle => Some(1521),
            Self::Snowflake => Some(443),
        }
    }

    /// Whether the kind talks to a server over the network (everything but
    /// SQLite).
    ///
    /// ```
    /// assert!(!dbcreds::DatabaseKind::Sqlite.has_server());
    /// ```
    pub fn has_server(self) -> bool {
        self != Self::Sqlite
    }
}

impl FromStr for DatabaseKind {
    type Err = InvalidInput;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "postgres" | "postgresql" | "pg" => Self::Postgres,
            "mysql" => Self::Mysql,
            "mariadb" => Self::Mariadb,
            "sqlite" | "sqlite3" => Self::Sqlite,
            "mssql" | "sqlserver" => Self::Mssql,
            "oracle" => Self::Oracle,
            "snowflake" => Self::Snowflake,
            _ => return Err(InvalidInput::Kind(s.to_owned())),
        })
    }
}

impl fmt::Display for DatabaseKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Parses a port, refusing 0 and anything above 65535 with a message that
/// says so.
///
/// ```
/// assert_eq!(dbcreds::model::parse_port("5432").unwrap(), 5432);
/// assert!(dbcreds::model::parse_port("0").is_err());
/// assert!(dbcreds::model::parse_port("70000").is_err());
/// ```
pub fn parse_port(raw: &str) -> Result<u16, InvalidInput> {
    match raw.trim().parse::<u32>() {
        Ok(p) => check_port(p),
        Err(_) => Err(InvalidInput::Port(raw.to_owned())),
    }
}

/// Checks a port number that arrived as a wider integer (for example from
/// the wire).
///
/// ```
/// assert!(dbcreds::model::check_port(65535).is_ok());
/// assert!(dbcreds::model::check_port(65536).is_err());
/// ```
pub fn check_port(port: u32) -> Result<u16, InvalidInput> {
    match u16::try_from(port) {
        Ok(p) if p != 0 => Ok(p),
        _ => Err(InvalidInput::Port(port.to_string())),
    }
}

/// Everything about an environment except its password.
///
/// ```
/// use dbcreds::{DatabaseKind, EnvName, Environment};
/// let env = Environment::new(EnvName::parse("dev").unwrap(), DatabaseKind::Postgres);
/// assert_eq!(env.port, 5432);
/// assert_eq!(env.expires_days, Some(90));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Environment {
    /// The environment's name.
    pub name: EnvName,
    /// Which database product.
    pub kind: DatabaseKind,
    /// Host name or address (SQLite: unused).
    pub host: String,
    /// TCP port (SQLite: 0).
    pub port: u16,
    /// Database name (SQLite: the file path).
    pub database: String,
    /// Login role or user.
    pub username: String,
    /// Driver options: `sslmode`, `sslrootcert`, `sslcert`, `sslkey`, ...
    pub options: BTreeMap<String, String>,
    /// Marks production environments in listings.
    pub production: bool,
    /// Free text.
    pub description: String,
    /// When the environment was created.
    pub created_at: Option<DateTime<Utc>>,
    /// When any field last changed.
    pub updated_at: Option<DateTime<Utc>>,
    /// When the password last changed.
    pub password_updated_at: Option<DateTime<Utc>>,
    /// Days a password stays fresh; `None` means it never expires.
    pub expires_days: Option<u32>,
    /// The outcome of the last connection test (`dbcreds test`, or the login
    /// a rotation verified with); `None` when never tested.
    pub last_test: Option<TestResult>,
    /// The state of an unfinished password rotation (`pending`, `set`,
    /// `verified`); `None` when none is under way.
    pub rotation: Option<String>,
}

impl Environment {
    /// A new environment with the kind's default port and the default expiry.
    ///
    /// ```
    /// use dbcreds::{DatabaseKind, EnvName, Environment};
    /// let env = Environment::new(EnvName::parse("local").unwrap(), DatabaseKind::Sqlite);
    /// assert_eq!(env.port, 0);
    /// ```
    pub fn new(name: EnvName, kind: DatabaseKind) -> Self {
        Self {
            name,
            kind,
            host: if kind.has_server() {
                "localhost".into()
            } else {
                String::new()
            },
            port: kind.default_port().unwrap_or(0),
            database: String::new(),
            username: String::new(),
            options: BTreeMap::new(),
            production: false,
            description: String::new(),
            created_at: None,
            updated_at: None,
            password_updated_at: None,
            expires_days: Some(DEFAULT_EXPIRES_DAYS),
            last_test: None,
            rotation: None,
        }
    }

    /// When the password expires, if it ever does and its age is known.
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use dbcreds::{DatabaseKind, EnvName, Environment};
    /// let mut env = Environment::new(EnvName::parse("dev").unwrap(), DatabaseKind::Postgres);
    /// env.password_updated_at = Some(Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap());
    /// assert_eq!(env.password_expires_at(), Some(Utc.with_ymd_and_hms(2026, 4, 1, 0, 0, 0).unwrap()));
    /// ```
    pub fn password_expires_at(&self) -> Option<DateTime<Utc>> {
        let days = self.expires_days?;
        // A silly policy (millions of days) means "never", not a panic.
        self.password_updated_at?
            .checked_add_signed(Duration::try_days(i64::from(days))?)
    }

    /// Where the password stands on `now`.
    ///
    /// ```
    /// use chrono::{Duration, Utc};
    /// use dbcreds::{DatabaseKind, EnvName, Environment, Expiry};
    /// let mut env = Environment::new(EnvName::parse("dev").unwrap(), DatabaseKind::Postgres);
    /// let now = Utc::now();
    /// env.password_updated_at = Some(now - Duration::days(100));
    /// assert!(matches!(env.expiry(now), Expiry::Expired { .. }));
    /// ```
    pub fn expiry(&self, now: DateTime<Utc>) -> Expiry {
        let Some(at) = self.password_expires_at() else {
            return Expiry::Never;
        };
        let left = at - now;
        if left <= Duration::zero() {
            return Expiry::Expired {
                days_ago: (-left).num_days(),
            };
        }
        // Round up: a password set a minute ago "expires in 90 days".
        let days_left = (left + Duration::days(1) - Duration::nanoseconds(1)).num_days();
        if days_left <= EXPIRING_SOON_DAYS {
            Expiry::Soon { days_left }
        } else {
            Expiry::Fresh { days_left }
        }
    }
}

/// The outcome of a connection test, as the agent stores it.
///
/// ```
/// use chrono::Utc;
/// use dbcreds::model::TestResult;
/// let ok = TestResult { at: Utc::now(), ok: true, detail: "PostgreSQL 15.4".into(), latency_ms: 12, reason: String::new(), tls: false };
/// assert!(ok.summary().starts_with("ok"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TestResult {
    /// When the test ran.
    pub at: DateTime<Utc>,
    /// Whether the login worked.
    pub ok: bool,
    /// On success the server's version; on failure what went wrong.
    pub detail: String,
    /// Connect plus one round trip, in milliseconds.
    pub latency_ms: u32,
    /// The failure's reason (`unreachable`, `login_failed`, `tls_failed`,
    /// ...); empty on success.
    pub reason: String,
    /// Whether the connection was encrypted.
    pub tls: bool,
}

impl TestResult {
    /// A few words for tables: `ok (12 ms)` or the failure's reason.
    ///
    /// ```
    /// use chrono::Utc;
    /// use dbcreds::model::TestResult;
    /// let bad = TestResult { at: Utc::now(), ok: false, detail: "refused".into(), latency_ms: 3, reason: "unreachable".into(), tls: false };
    /// assert_eq!(bad.summary(), "failed: unreachable");
    /// ```
    pub fn summary(&self) -> String {
        if self.ok {
            format!("ok ({} ms)", self.latency_ms)
        } else if self.reason.is_empty() {
            "failed".into()
        } else {
            format!("failed: {}", self.reason)
        }
    }
}

/// Where a password stands against its expiry policy.
///
/// ```
/// use dbcreds::Expiry;
/// assert_eq!(Expiry::Soon { days_left: 3 }.to_string(), "expires in 3 days");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Expiry {
    /// No expiry policy, or the password's age is unknown.
    Never,
    /// More than 14 days left.
    Fresh {
        /// Whole days until expiry.
        days_left: i64,
    },
    /// 14 days or fewer left.
    Soon {
        /// Whole days until expiry.
        days_left: i64,
    },
    /// Past its expiry.
    Expired {
        /// Whole days since expiry.
        days_ago: i64,
    },
}

impl Expiry {
    /// True when the password is past its expiry.
    ///
    /// ```
    /// assert!(dbcreds::Expiry::Expired { days_ago: 0 }.is_expired());
    /// ```
    pub fn is_expired(self) -> bool {
        matches!(self, Self::Expired { .. })
    }
}

impl fmt::Display for Expiry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn days(n: i64) -> String {
            if n == 1 {
                "1 day".into()
            } else {
                format!("{n} days")
            }
        }
        match *self {
            Self::Never => f.write_str("never expires"),
            Self::Fresh { days_left } | Self::Soon { days_left } if days_left == 0 => {
                f.write_str("expires today")
            }
            Self::Fresh { days_left } | Self::Soon { days_left } => {
                write!(f, "expires in {}", days(days_left))
            }
            Self::Expired { days_ago: 0 } => f.write_str("expired today"),
            Self::Expired { days_ago } => write!(f, "expired {} ago", days(days_ago)),
        }
    }
}

/// An environment together with its password.
///
/// The password is a [`SecretString`]: it is zeroed when the credential is
/// dropped and never shown by `Debug`.
///
/// ```
/// use dbcreds::{Credential, DatabaseKind, EnvName, Environment};
/// use secrecy::ExposeSecret;
/// let mut env = Environment::new(EnvName::parse("dev").unwrap(), DatabaseKind::Postgres);
/// env.username = "app".into();
/// let cred = Credential::new(env, "s3cret".into());
/// assert_eq!(cred.password().expose_secret(), "s3cret");
/// assert!(!format!("{cred:?}").contains("s3cret"));
/// ```
#[derive(Clone)]
pub struct Credential {
    environment: Environment,
    password: SecretString,
}

impl Credential {
    /// Pairs an environment with its password.
    pub fn new(environment: Environment, password: SecretString) -> Self {
        Self {
            environment,
            password,
        }
    }

    /// The non-secret part.
    ///
    /// ```
    /// # use dbcreds::{Credential, DatabaseKind, EnvName, Environment};
    /// # let cred = Credential::new(Environment::new(EnvName::parse("dev").unwrap(), DatabaseKind::Mysql), "x".into());
    /// assert_eq!(cred.environment().port, 3306);
    /// ```
    pub fn environment(&self) -> &Environment {
        &self.environment
    }

    /// The password; call `expose_secret()` on it only where it is used.
    pub fn password(&self) -> &SecretString {
        &self.password
    }

    /// A connection URI with the password percent-encoded, for example
    /// `postgresql://app:p%40ss@db.internal:5432/app`.
    ///
    /// ```
    /// # use dbcreds::{Credential, DatabaseKind, EnvName, Environment};
    /// use secrecy::ExposeSecret;
    /// let mut env = Environment::new(EnvName::parse("prod").unwrap(), DatabaseKind::Postgres);
    /// env.host = "db.internal".into();
    /// env.database = "app".into();
    /// env.username = "app".into();
    /// let cred = Credential::new(env, "p@ss/word".into());
    /// assert_eq!(cred.uri().expose_secret(), "postgresql://app:p%40ss%2Fword@db.internal:5432/app");
    /// ```
    pub fn uri(&self) -> SecretString {
        crate::render::uri(&self.environment, Some(self.password.expose_secret())).into()
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential")
            .field("environment", &self.environment)
            .field("password", &"[redacted]")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_rules() {
        assert_eq!(EnvName::parse("PROD").unwrap().as_str(), "prod");
        assert!(EnvName::parse("Prod DB!").is_err());
        assert!(EnvName::parse(&"a".repeat(50)).is_ok());
        assert!(EnvName::parse(&"a".repeat(51)).is_err());
        assert!(EnvName::parse("").is_err());
        assert!(EnvName::parse("é").is_err());
    }

    #[test]
    fn ports_are_bounded() {
        assert!(parse_port("0").is_err());
        assert!(parse_port("70000").is_err());
        assert!(parse_port("abc").is_err());
        assert_eq!(parse_port("65535").unwrap(), 65535);
    }

    #[test]
    fn expiry_boundaries() {
        let now = Utc::now();
        let mut env = Environment::new(EnvName::parse("x").unwrap(), DatabaseKind::Postgres);
        env.password_updated_at = Some(now - Duration::days(80));
        assert_eq!(env.expiry(now), Expiry::Soon { days_left: 10 });
        env.password_updated_at = Some(now - Duration::days(10));
        assert_eq!(env.expiry(now), Expiry::Fresh { days_left: 80 });
        env.password_updated_at = Some(now - Duration::minutes(1));
        assert_eq!(env.expiry(now), Expiry::Fresh { days_left: 90 });
        env.password_updated_at = Some(now - Duration::days(76));
        assert_eq!(env.expiry(now), Expiry::Soon { days_left: 14 });
        env.expires_days = None;
        assert_eq!(env.expiry(now), Expiry::Never);
    }
}
