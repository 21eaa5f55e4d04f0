//! The ways a vault unlocks. One enum, so the agent, the CLI, the config
//! and the wire agree on the spelling.

use std::fmt;
use std::str::FromStr;

/// How a vault's data key is unlocked.
///
/// ```
/// use dbcreds::Unlocker;
/// assert_eq!("keyring".parse::<Unlocker>(), Ok(Unlocker::Keyring));
/// assert_eq!(Unlocker::Passphrase.as_str(), "passphrase");
/// assert!("auto".parse::<Unlocker>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Unlocker {
    /// The data key sits in the OS credential store.
    Keyring,
    /// The data key is wrapped under an Argon2id-derived key.
    Passphrase,
}

impl Unlocker {
    /// The name on the wire, in the vault and in the config.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Keyring => "keyring",
            Self::Passphrase => "passphrase",
        }
    }

    /// How a person would say it worked: "through the OS keyring".
    pub fn describe(self) -> &'static str {
        match self {
            Self::Keyring => "through the OS keyring",
            Self::Passphrase => "with the passphrase",
        }
    }
}

impl fmt::Display for Unlocker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Unlocker {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "keyring" => Ok(Self::Keyring),
            "passphrase" => Ok(Self::Passphrase),
            other => Err(format!(
                "unknown unlocker '{other}': use keyring or passphrase"
            )),
        }
    }
}

/// What `dbcreds init` should set up: a given unlocker, or `Auto` (the
/// keyring when it answers; the passphrase too when one is given).
///
/// ```
/// use dbcreds::unlocker::{InitUnlocker, Unlocker};
/// assert_eq!("auto".parse::<InitUnlocker>(), Ok(InitUnlocker::Auto));
/// assert_eq!("passphrase".parse::<InitUnlocker>(), Ok(InitUnlocker::Only(Unlocker::Passphrase)));
/// assert!("usb".parse::<InitUnlocker>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InitUnlocker {
    /// The keyring if it answers, and the passphrase when one is given.
    #[default]
    Auto,
    /// Exactly this one.
    Only(Unlocker),
}

impl InitUnlocker {
    /// The name on the wire and in the config.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Only(u) => u.as_str(),
        }
    }

    /// Whether the keyring should be tried.
    pub fn wants_keyring(self) -> bool {
        matches!(self, Self::Auto | Self::Only(Unlocker::Keyring))
    }
}

impl fmt::Display for InitUnlocker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for InitUnlocker {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "auto" | "" => Ok(Self::Auto),
            other => other.parse().map(Self::Only).map_err(|_| {
                format!("unknown unlocker '{other}': use auto, keyring or passphrase")
            }),
        }
    }
}

/// The config file's `unlocker` key: the same names as [`FromStr`].
impl<'de> serde::Deserialize<'de> for InitUnlocker {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}
