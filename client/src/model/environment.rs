//! Environments, the outcome of their last connection test, and where
//! their passwords stand against the expiry policy.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Duration, Utc};

use super::{
    Auth, CachedCredential, DEFAULT_EXPIRES_DAYS, DatabaseKind, EXPIRING_SOON_DAYS, EnvName,
    SecretSource,
};

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
    /// How it logs in: with a password (the default), a client
    /// certificate, or no credential.
    pub auth: Auth,
    /// True for a password environment whose password is not known yet
    /// (imported from metadata alone): `get` refuses it until
    /// `dbcreds update NAME --password` sets one.
    pub password_missing: bool,
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
    /// Where the password comes from when it is not stored in the vault.
    pub source: Option<SecretSource>,
    /// What the agent holds from the source (in answers only).
    pub cached: Option<CachedCredential>,
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
            auth: if kind.has_server() {
                Auth::Password
            } else {
                Auth::None
            },
            password_missing: false,
            options: BTreeMap::new(),
            production: false,
            description: String::new(),
            created_at: None,
            updated_at: None,
            password_updated_at: None,
            expires_days: Some(DEFAULT_EXPIRES_DAYS),
            last_test: None,
            rotation: None,
            source: None,
            cached: None,
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
        // Without a password there is nothing to expire.
        if !self.auth.uses_password() || self.password_missing {
            return None;
        }
        let days = self.expires_days?;
        // A silly policy (millions of days) means "never", not a panic.
        self.password_updated_at?
            .checked_add_signed(Duration::try_days(i64::from(days))?)
    }

    /// True when the environment hands out a password (its mode uses one
    /// and it is set).
    ///
    /// ```
    /// use dbcreds::{Auth, DatabaseKind, EnvName, Environment};
    /// let mut env = Environment::new(EnvName::parse("dev").unwrap(), DatabaseKind::Postgres);
    /// assert!(env.has_password());
    /// env.auth = Auth::Cert;
    /// assert!(!env.has_password());
    /// ```
    pub fn has_password(&self) -> bool {
        self.auth.uses_password() && !self.password_missing
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
