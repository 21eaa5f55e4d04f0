//! The domain model shared by the agent, the CLI and applications:
//! environment names, database kinds, environments and credentials, and
//! password-expiry arithmetic. It holds the rules once, so every side
//! rejects the same bad input with the same words.

use std::fmt;
use std::str::FromStr;

use crate::error::InvalidInput;

mod credential;
mod environment;
mod source;

pub use credential::Credential;
pub use environment::{Environment, Expiry, TestResult};
pub use source::{CachedCredential, SecretSource, SourceRefKind};

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

    /// True when `other` is another name whose `DBCREDS_<ENV>_*` variables
    /// would be this one's (`eu-prod` and `eu_prod`): two such
    /// environments cannot both exist.
    ///
    /// ```
    /// use dbcreds::EnvName;
    /// let a = EnvName::parse("eu-prod").unwrap();
    /// assert!(a.shares_variables_with(&EnvName::parse("eu_prod").unwrap()));
    /// assert!(!a.shares_variables_with(&a));
    /// ```
    pub fn shares_variables_with(&self, other: &EnvName) -> bool {
        self != other && self.env_var_stem() == other.env_var_stem()
    }

    /// The refusal of `self` beside `other`, which
    /// [`shares_variables_with`](Self::shares_variables_with) it.
    pub fn variables_clash(&self, other: &EnvName) -> InvalidInput {
        InvalidInput::Field {
            field: "environment name".into(),
            why: format!(
                "'{self}' would have the variables DBCREDS_{}_* of environment '{other}': pick another name (or remove '{other}' first)",
                self.env_var_stem()
            ),
        }
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

/// How an environment logs in to its database.
///
/// ```
/// use dbcreds::Auth;
/// assert_eq!("cert".parse::<Auth>().unwrap(), Auth::Cert);
/// assert!(Auth::Password.uses_password());
/// assert!(!Auth::None.uses_password());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Auth {
    /// A user name and password (the default).
    #[default]
    Password,
    /// No credential at all: `trust`/`peer` development databases, or a
    /// SQLite file.
    None,
    /// A client certificate (`sslcert`/`sslkey` options) and no password.
    Cert,
}

impl Auth {
    /// Every mode, in the order `--help` lists them.
    pub const ALL: [Auth; 3] = [Self::Password, Self::None, Self::Cert];

    /// The canonical name, as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Password => "password",
            Self::None => "none",
            Self::Cert => "cert",
        }
    }

    /// Whether the environment has a password to store and hand out.
    pub fn uses_password(self) -> bool {
        self == Self::Password
    }

    /// How the mode reads in a sentence: "authenticates with a client
    /// certificate".
    pub fn describe(self) -> &'static str {
        match self {
            Self::Password => "logs in with a password",
            Self::None => "logs in without a credential (--auth none)",
            Self::Cert => "authenticates with a client certificate (--auth cert)",
        }
    }
}

impl FromStr for Auth {
    type Err = InvalidInput;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s.to_ascii_lowercase().as_str() {
            // The wire's and older vaults' "no mode" is a password.
            "" | "password" => Self::Password,
            "none" | "trust" | "peer" => Self::None,
            "cert" | "certificate" => Self::Cert,
            _ => {
                return Err(InvalidInput::Field {
                    field: "auth".into(),
                    why: format!("'{s}' is not a mode: use password, none or cert"),
                });
            }
        })
    }
}

impl fmt::Display for Auth {
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

#[cfg(test)]
mod tests;
