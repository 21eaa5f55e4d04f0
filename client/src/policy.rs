//! Policies: how an environment's secret may be revealed (docs/security.md).
//! The agent stores them in the vault and enforces them; this is their
//! model, their rules and their wire form, shared by the agent and its
//! clients.
//!
//! ```
//! use dbcreds::policy::{Confirm, Policy};
//! let p = Policy { confirm: Confirm::Always, ..Policy::default() };
//! assert_eq!(p.summary(), "confirm always");
//! assert_eq!("once-per-session".parse::<Confirm>().unwrap(), Confirm::OncePerSession);
//! ```

use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};
use dbcreds_proto::v1;

use crate::convert::time;
use crate::error::InvalidInput;
use crate::model::EnvName;

/// How long a `once-per-session` approval lasts unless the policy says.
pub const DEFAULT_APPROVE_FOR: Duration = Duration::from_secs(15 * 60);
/// The longest approval a policy may grant.
pub const MAX_APPROVE_FOR: Duration = Duration::from_secs(7 * 24 * 3600);
/// Most programs one allow list names.
pub const MAX_ALLOWED: usize = 64;

/// When the agent asks the user before revealing the secret.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Confirm {
    /// Never: any program of the user (and of the allow list) gets it.
    #[default]
    Never,
    /// Once per login session (terminal), then for `approve_for`.
    OncePerSession,
    /// At every reveal.
    Always,
}

impl Confirm {
    /// The spelling in flags, JSON and on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Never => "never",
            Self::OncePerSession => "once-per-session",
            Self::Always => "always",
        }
    }
}

impl std::fmt::Display for Confirm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Confirm {
    type Err = InvalidInput;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "never" | "" => Ok(Self::Never),
            "once-per-session" | "session" => Ok(Self::OncePerSession),
            "always" => Ok(Self::Always),
            other => Err(field(
                "confirm",
                format!("'{other}' is not one of never, once-per-session, always"),
            )),
        }
    }
}

fn field(name: &str, why: String) -> InvalidInput {
    InvalidInput::Field {
        field: name.into(),
        why,
    }
}

/// One environment's policy (or the default of production environments).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    /// When to ask.
    pub confirm: Confirm,
    /// How long a `once-per-session` approval lasts.
    pub approve_for: Duration,
    /// The only executables (canonical paths) that may receive the secret;
    /// empty: any program of the user.
    pub allow: Vec<PathBuf>,
    /// How long the secret stays in the agent's memory after an unlock;
    /// `None`: as long as the vault stays unlocked.
    pub max_unlocked: Option<Duration>,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            confirm: Confirm::Never,
            approve_for: DEFAULT_APPROVE_FOR,
            allow: Vec::new(),
            max_unlocked: None,
        }
    }
}

impl Policy {
    /// True when the policy restricts nothing.
    pub fn is_open(&self) -> bool {
        self.confirm == Confirm::Never && self.allow.is_empty() && self.max_unlocked.is_none()
    }

    /// Checks the bounds: an approval of 1 s to 7 days, at most
    /// [`MAX_ALLOWED`] absolute paths, a `max_unlocked` of 1 s or more.
    pub fn check(&self) -> Result<(), InvalidInput> {
        if self.approve_for < Duration::from_secs(1) || self.approve_for > MAX_APPROVE_FOR {
            return Err(field(
                "approve-for",
                "use a duration from 1s to 7d, for example 15m".into(),
            ));
        }
        if self.allow.len() > MAX_ALLOWED {
            return Err(field(
                "allow",
                format!("at most {MAX_ALLOWED} programs per policy"),
            ));
        }
        if let Some(p) = self.allow.iter().find(|p| !p.is_absolute()) {
            return Err(field(
                "allow",
                format!("'{}' is not an absolute path", p.display()),
            ));
        }
        if self
            .max_unlocked
            .is_some_and(|d| d < Duration::from_secs(1))
        {
            return Err(field(
                "max-unlocked",
                "use a duration of 1s or more, or never".into(),
            ));
        }
        Ok(())
    }

    /// A few words for a table cell: `confirm always`, `once/15m, 2 programs`.
    pub fn summary(&self) -> String {
        let mut parts = Vec::new();
        match self.confirm {
            Confirm::Never => {}
            Confirm::Always => parts.push("confirm always".to_owned()),
            Confirm::OncePerSession => parts.push(format!(
                "confirm once/{}",
                humantime::format_duration(self.approve_for)
            )),
        }
        match self.allow.len() {
            0 => {}
            1 => parts.push("1 program".into()),
            n => parts.push(format!("{n} programs")),
        }
        if let Some(d) = self.max_unlocked {
            parts.push(format!("forgotten after {}", humantime::format_duration(d)));
        }
        if parts.is_empty() {
            "-".into()
        } else {
            parts.join(", ")
        }
    }
}

/// Where an environment's effective policy comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PolicySource {
    /// Its own (`dbcreds policy set NAME`).
    Own,
    /// The default of production environments (`--production-default`).
    ProductionDefault,
    /// None applies.
    None,
}

impl PolicySource {
    /// The spelling in JSON and on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Own => "own",
            Self::ProductionDefault => "production-default",
            Self::None => "none",
        }
    }

    /// Reads the wire spelling; anything unknown is `None`.
    pub fn parse(s: &str) -> Self {
        match s {
            "own" => Self::Own,
            "production-default" => Self::ProductionDefault,
            _ => Self::None,
        }
    }
}

/// Whose policy a request is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PolicyTarget {
    /// One environment's own policy.
    Env(EnvName),
    /// The default of every production environment without its own.
    ProductionDefault,
}

/// An effective policy, as the agent reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PolicyInfo {
    /// The environment; `None` for the production default.
    pub name: Option<EnvName>,
    /// The policy in force (the default, open one when `source` is `None`).
    pub policy: Policy,
    /// Where it comes from.
    pub source: PolicySource,
    /// The secret was forgotten after `max_unlocked`; `dbcreds unlock`
    /// brings it back.
    pub forgotten: bool,
    /// When the policy was last set.
    pub updated_at: Option<DateTime<Utc>>,
}

/// A request waiting for a confirmation, as `dbcreds approve` lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PendingApproval {
    /// What `dbcreds approve ID` answers.
    pub id: u64,
    /// The environment, or `*` for the whole vault.
    pub environment: String,
    /// `get`, `export`, `rotate`, `remove`, `policy`, ...
    pub operation: String,
    /// The requester's process id.
    pub client_pid: u32,
    /// Its executable, as the agent resolved it.
    pub client_exe: String,
    /// Its command line, as the agent read it.
    pub client_cmdline: Vec<String>,
    /// `dbcreds exec`: the program that gets the secret.
    pub child_exe: Option<String>,
    /// The requester's session.
    pub session: String,
    /// When it asked.
    pub requested_at: Option<DateTime<Utc>>,
    /// When it is refused unless answered.
    pub expires_at: Option<DateTime<Utc>>,
}

fn secs(d: Duration) -> u64 {
    d.as_secs()
}

impl From<&Policy> for v1::Policy {
    fn from(p: &Policy) -> Self {
        v1::Policy {
            confirm: p.confirm.as_str().into(),
            approve_for_secs: secs(p.approve_for),
            allow: p.allow.iter().map(|a| a.display().to_string()).collect(),
            max_unlocked_secs: p.max_unlocked.map_or(0, secs),
        }
    }
}

impl TryFrom<v1::Policy> for Policy {
    type Error = InvalidInput;
    fn try_from(m: v1::Policy) -> Result<Self, Self::Error> {
        let p = Policy {
            confirm: m.confirm.parse()?,
            approve_for: match m.approve_for_secs {
                0 => DEFAULT_APPROVE_FOR,
                n => Duration::from_secs(n),
            },
            allow: m.allow.into_iter().map(PathBuf::from).collect(),
            max_unlocked: (m.max_unlocked_secs > 0)
                .then(|| Duration::from_secs(m.max_unlocked_secs)),
        };
        p.check()?;
        Ok(p)
    }
}

impl TryFrom<v1::PolicyInfo> for PolicyInfo {
    type Error = InvalidInput;
    fn try_from(m: v1::PolicyInfo) -> Result<Self, Self::Error> {
        Ok(PolicyInfo {
            name: (!m.name.is_empty())
                .then(|| EnvName::parse(&m.name))
                .transpose()?,
            policy: m
                .policy
                .map(Policy::try_from)
                .transpose()?
                .unwrap_or_default(),
            source: PolicySource::parse(&m.source),
            forgotten: m.forgotten,
            updated_at: time(m.updated_at),
        })
    }
}

impl From<v1::PendingApproval> for PendingApproval {
    fn from(m: v1::PendingApproval) -> Self {
        PendingApproval {
            id: m.id,
            environment: m.environment,
            operation: m.operation,
            client_pid: m.client_pid,
            client_exe: m.client_exe,
            client_cmdline: m.client_cmdline,
            child_exe: Some(m.child_exe).filter(|c| !c.is_empty()),
            session: m.session,
            requested_at: time(m.requested_at),
            expires_at: time(m.expires_at),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_policy_round_trips_through_the_wire() {
        let p = Policy {
            confirm: Confirm::OncePerSession,
            approve_for: Duration::from_secs(2),
            allow: vec![PathBuf::from("/usr/bin/psql")],
            max_unlocked: Some(Duration::from_secs(3600)),
        };
        assert_eq!(Policy::try_from(v1::Policy::from(&p)).unwrap(), p);
        assert_eq!(
            p.summary(),
            "confirm once/2s, 1 program, forgotten after 1h"
        );
        assert_eq!(Policy::default().summary(), "-");
    }

    #[test]
    fn bad_policies_say_what_is_wrong() {
        let relative = Policy {
            allow: vec![PathBuf::from("psql")],
            ..Policy::default()
        };
        assert!(
            relative
                .check()
                .unwrap_err()
                .to_string()
                .contains("absolute")
        );
        let long = Policy {
            approve_for: Duration::from_secs(30 * 24 * 3600),
            ..Policy::default()
        };
        assert!(long.check().unwrap_err().to_string().contains("7d"));
        let err = "sometimes".parse::<Confirm>().unwrap_err();
        assert!(err.to_string().contains("once-per-session"), "{err}");
    }
}
