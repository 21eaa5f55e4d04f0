//! TLS settings of an environment, read once from its driver options so the
//! agent's connection test, its password rotation and the `dbcreds-sqlx`
//! pools apply the same rules.
//!
//! Keys (either spelling): `sslmode` / `ssl-mode`, `sslrootcert` / `ssl-ca`,
//! `sslcert` / `ssl-cert`, `sslkey` / `ssl-key`. Modes take the libpq names
//! (`disable`, `allow`, `prefer`, `require`, `verify-ca`, `verify-full`) or
//! the MySQL ones (`DISABLED`, `PREFERRED`, `REQUIRED`, `VERIFY_CA`,
//! `VERIFY_IDENTITY`), in any case.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use crate::error::InvalidInput;

/// How hard to insist on TLS.
///
/// ```
/// use dbcreds::tls::TlsMode;
/// assert_eq!("VERIFY_IDENTITY".parse::<TlsMode>().unwrap(), TlsMode::VerifyFull);
/// assert_eq!("require".parse::<TlsMode>().unwrap(), TlsMode::Require);
/// ```
// Exhaustive on purpose: every driver mapping (dbcreds-sqlx) must say
// what a new mode means rather than fall into a catch-all.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TlsMode {
    /// Never TLS.
    Disable,
    /// libpq's `allow`: plain first, TLS if the server insists.
    Allow,
    /// TLS when the server offers it, else plain (the drivers' default).
    #[default]
    Prefer,
    /// TLS or fail; the certificate is not checked.
    Require,
    /// TLS with a certificate signed by a trusted CA.
    VerifyCa,
    /// As `VerifyCa`, and the certificate must name the host.
    VerifyFull,
}

impl TlsMode {
    /// True when a connection without TLS is refused.
    pub fn requires_tls(self) -> bool {
        matches!(self, Self::Require | Self::VerifyCa | Self::VerifyFull)
    }
}

impl std::str::FromStr for TlsMode {
    type Err = InvalidInput;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(
            match s.trim().to_ascii_lowercase().replace('_', "-").as_str() {
                "disable" | "disabled" => Self::Disable,
                "allow" => Self::Allow,
                "prefer" | "preferred" => Self::Prefer,
                "require" | "required" => Self::Require,
                "verify-ca" => Self::VerifyCa,
                "verify-full" | "verify-identity" => Self::VerifyFull,
                _ => {
                    return Err(InvalidInput::Field {
                        field: "option sslmode".into(),
                        why: format!(
                            "'{s}' is not a TLS mode: use disable, prefer, require, verify-ca or verify-full"
                        ),
                    });
                }
            },
        )
    }
}

/// Default bound on establishing a connection (TCP, TLS and login).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A `connect_timeout` option: whole seconds from 1 to 300.
fn parse_connect_timeout(raw: &str) -> Result<Duration, InvalidInput> {
    match raw.trim().parse::<u64>() {
        Ok(s) if (1..=300).contains(&s) => Ok(Duration::from_secs(s)),
        _ => Err(InvalidInput::Field {
            field: "option connect_timeout".into(),
            why: format!("'{raw}' is not a number of seconds from 1 to 300"),
        }),
    }
}

/// Checks one option whose meaning dbcreds knows (the TLS mode, the
/// connect timeout) when it is written, so a typo fails at `add` or
/// `update` rather than at `test`, `rotate` or in `exec`'s `PGSSLMODE`.
/// Other options (and the certificate paths, which are the agent's
/// machine's business) pass.
///
/// ```
/// use dbcreds::tls::check_option;
/// assert!(check_option("sslmode", "require").is_ok());
/// assert!(check_option("ssl-mode", "bogus").is_err());
/// assert!(check_option("connect_timeout", "abc").is_err());
/// assert!(check_option("application_name", "anything").is_ok());
/// ```
pub fn check_option(key: &str, value: &str) -> Result<(), InvalidInput> {
    match key.to_ascii_lowercase().replace('_', "-").as_str() {
        "sslmode" | "ssl-mode" => value.parse::<TlsMode>().map(|_| ()),
        "connect-timeout" => parse_connect_timeout(value).map(|_| ()),
        _ => Ok(()),
    }
}

/// The TLS and timeout settings found in an environment's options.
///
/// ```
/// use std::collections::BTreeMap;
/// use dbcreds::tls::{ConnectSettings, TlsMode};
/// let mut opts = BTreeMap::new();
/// opts.insert("ssl-mode".to_string(), "REQUIRED".to_string());
/// opts.insert("connect_timeout".to_string(), "2".to_string());
/// let s = ConnectSettings::from_options(&opts).unwrap();
/// assert_eq!(s.mode, Some(TlsMode::Require));
/// assert_eq!(s.connect_timeout.as_secs(), 2);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConnectSettings {
    /// The TLS mode; `None` leaves the driver's default (prefer).
    pub mode: Option<TlsMode>,
    /// CA certificate(s) to trust, PEM.
    pub root_cert: Option<PathBuf>,
    /// Client certificate, PEM.
    pub client_cert: Option<PathBuf>,
    /// Client private key, PEM.
    pub client_key: Option<PathBuf>,
    /// Bound on establishing a connection (`connect_timeout`, seconds).
    pub connect_timeout: Duration,
}

fn first<'a>(options: &'a BTreeMap<String, String>, keys: &[&str]) -> Option<&'a str> {
    options.iter().find_map(|(k, v)| {
        let k = k.to_ascii_lowercase().replace('_', "-");
        (keys.contains(&k.as_str()) && !v.is_empty()).then_some(v.as_str())
    })
}

impl ConnectSettings {
    /// Reads the settings out of `options`; a bad mode or timeout is an
    /// error that names the option.
    pub fn from_options(options: &BTreeMap<String, String>) -> Result<Self, InvalidInput> {
        let mode = first(options, &["sslmode", "ssl-mode"])
            .map(str::parse)
            .transpose()?;
        let path = |keys: &[&str]| first(options, keys).map(PathBuf::from);
        let connect_timeout = match first(options, &["connect-timeout"]) {
            None => DEFAULT_CONNECT_TIMEOUT,
            Some(raw) => parse_connect_timeout(raw)?,
        };
        Ok(Self {
            mode,
            root_cert: path(&["sslrootcert", "ssl-ca"]),
            client_cert: path(&["sslcert", "ssl-cert"]),
            client_key: path(&["sslkey", "ssl-key"]),
            connect_timeout,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn both_spellings_are_read() {
        let s = ConnectSettings::from_options(&opts(&[
            ("sslmode", "verify-full"),
            ("sslrootcert", "/ca.pem"),
            ("ssl-cert", "/c.pem"),
            ("ssl_key", "/k.pem"),
        ]))
        .unwrap();
        assert_eq!(s.mode, Some(TlsMode::VerifyFull));
        assert_eq!(s.root_cert, Some(PathBuf::from("/ca.pem")));
        assert_eq!(s.client_cert, Some(PathBuf::from("/c.pem")));
        assert_eq!(s.client_key, Some(PathBuf::from("/k.pem")));
        assert_eq!(s.connect_timeout, DEFAULT_CONNECT_TIMEOUT);
    }

    #[test]
    fn bad_values_name_the_option() {
        let e = ConnectSettings::from_options(&opts(&[("sslmode", "maybe")])).unwrap_err();
        assert!(e.to_string().contains("sslmode"), "{e}");
        let e = ConnectSettings::from_options(&opts(&[("connect_timeout", "0")])).unwrap_err();
        assert!(e.to_string().contains("connect_timeout"), "{e}");
        assert_eq!(
            ConnectSettings::from_options(&opts(&[])).unwrap().mode,
            None
        );
    }
}
