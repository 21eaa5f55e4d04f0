//! How long the client waits for the agent: connecting, each RPC by its
//! kind, and an agent that stops answering mid-request.

use std::time::Duration;

use crate::error::{Error, Result};

/// Default bound on reaching the agent (connect and HTTP/2 handshake).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Default bound on a request that only reads the agent's memory (status,
/// list, describe, check, audit, lock, remove, opening a watch).
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Added to the keyring timeout for requests that may wait on the OS
/// keyring or a passphrase's key derivation (get, add, update, unlock,
/// init, doctor's checks, and any RPC this client does not know).
pub const SLOW_MARGIN: Duration = Duration::from_secs(20);
/// The agent's default keyring timeout (`keyring_timeout`), which the
/// slow requests' bound follows.
pub const DEFAULT_KEYRING_TIMEOUT: Duration = Duration::from_secs(10);
/// Default bound on `test` and `rotate`: the agent connects to a database
/// (each connection bounded by the environment's `connect_timeout`, at
/// most 300 s) up to a few times. An agent that stops answering is still
/// found within seconds, by [`PING_AFTER`] and [`PING_TIMEOUT`].
pub const DEFAULT_DATABASE_TIMEOUT: Duration = Duration::from_secs(600);
/// Default bound on waiting for a confirmation (`AwaitApproval`): the
/// agent refuses one nobody answered within its `approval_timeout`
/// (default 60 s) and ends the wait itself, so this only has to be longer.
/// An agent that stops answering is found by the pings, as above.
pub const DEFAULT_APPROVAL_TIMEOUT: Duration = Duration::from_secs(600);
/// While a request is open and nothing came from the agent for this long,
/// the client pings it...
pub const PING_AFTER: Duration = Duration::from_secs(1);
/// ...and gives up when the ping is not answered within this: a stopped
/// or hung agent fails the request after at most both, whatever the
/// request's own bound.
pub const PING_TIMEOUT: Duration = Duration::from_secs(3);

/// How long a client waits for the agent.
///
/// ```
/// use std::time::Duration;
/// let t = dbcreds::transport::Timeouts::default();
/// assert_eq!(t.for_rpc("/dbcreds.v1.Agent/Status"), Duration::from_secs(5));
/// assert_eq!(t.for_rpc("/dbcreds.v1.Agent/Get"), Duration::from_secs(30));
/// assert_eq!(t.for_rpc("/dbcreds.v1.Agent/Rotate"), Duration::from_secs(600));
/// assert_eq!(t.for_rpc("/dbcreds.v1.Agent/AwaitApproval"), Duration::from_secs(600));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Timeouts {
    /// Reaching the agent: connect and HTTP/2 handshake.
    pub connect: Duration,
    /// A request that only reads the agent's memory.
    pub request: Duration,
    /// A request that may wait on the OS keyring or a key derivation.
    pub slow: Duration,
    /// `test` and `rotate`.
    pub database: Duration,
    /// Waiting for a person to confirm a request (`AwaitApproval`).
    pub approval: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            connect: DEFAULT_CONNECT_TIMEOUT,
            request: DEFAULT_REQUEST_TIMEOUT,
            slow: DEFAULT_KEYRING_TIMEOUT + SLOW_MARGIN,
            database: DEFAULT_DATABASE_TIMEOUT,
            approval: DEFAULT_APPROVAL_TIMEOUT,
        }
    }
}

/// The bound on requests that may wait on the keyring: the keyring's
/// own timeout (the agent's default when unset or "never") and a margin,
/// and never less than a quick request's.
fn slow_bound(request: Duration, keyring: Option<crate::config::Limit>) -> Duration {
    let keyring = keyring
        .and_then(crate::config::Limit::duration)
        .unwrap_or(DEFAULT_KEYRING_TIMEOUT);
    request.max(keyring + SLOW_MARGIN)
}

/// RPCs that only read the agent's memory (or, for `Watch`, open a stream
/// whose first reply comes at once).
const QUICK_RPCS: &[&str] = &[
    "Status",
    "List",
    "Describe",
    "Check",
    "Audit",
    "Lock",
    "Remove",
    "Watch",
    "GetPolicy",
    "ListPolicies",
    "ListApprovals",
    "AnswerApproval",
];
/// RPCs that connect to a database.
const DATABASE_RPCS: &[&str] = &["Test", "Rotate"];

impl Timeouts {
    /// The timeouts the configuration asks for: `agent_connect_timeout`,
    /// `agent_timeout` and `keyring_timeout` from the config file and their
    /// `DBCREDS_*` variables ([`crate::config`]), else the defaults. A
    /// config file that cannot be read is skipped (the commands that load
    /// the whole config report it); a malformed variable is an error.
    pub fn load() -> Result<Self> {
        let file = crate::config::Config::from_file(&crate::config::path()).unwrap_or_default();
        Self::load_with(&file)
    }

    /// [`Timeouts::load`] with the config file already read (`file`), so a
    /// connection that also needs its `socket` key reads it once.
    pub(crate) fn load_with(file: &crate::config::Config) -> Result<Self> {
        let mut t = Self::from_config(file);
        let var = |name: &'static str| -> Result<Option<Duration>> {
            let Some(v) = std::env::var(name).ok().filter(|v| !v.is_empty()) else {
                return Ok(None);
            };
            crate::config::parse_timeout(&v)
                .map(Some)
                .map_err(|why| Error::EnvVar {
                    var: name.into(),
                    why,
                })
        };
        if let Some(d) = var("DBCREDS_AGENT_CONNECT_TIMEOUT")? {
            t.connect = d;
        }
        if let Some(d) = var("DBCREDS_AGENT_TIMEOUT")? {
            t.request = d;
        }
        // The agent's variable, read as the agent reads it; a bad value is
        // the agent's to report, so here it only leaves the file's value.
        let keyring = std::env::var("DBCREDS_KEYRING_TIMEOUT")
            .ok()
            .and_then(|v| v.parse::<crate::config::Limit>().ok())
            .or(file.keyring_timeout);
        t.slow = slow_bound(t.request, keyring);
        Ok(t)
    }

    /// The timeouts `cfg` sets, the defaults for the rest.
    pub fn from_config(cfg: &crate::config::Config) -> Self {
        let mut t = Self::default();
        if let Some(d) = cfg.agent_connect_timeout {
            t.connect = d.0;
        }
        if let Some(d) = cfg.agent_timeout {
            t.request = d.0;
        }
        t.slow = slow_bound(t.request, cfg.keyring_timeout);
        t
    }

    /// The bound on the RPC at `path` (`/dbcreds.v1.Agent/<Method>`).
    pub fn for_rpc(&self, path: &str) -> Duration {
        let method = path.rsplit('/').next().unwrap_or(path);
        if QUICK_RPCS.contains(&method) {
            self.request
        } else if DATABASE_RPCS.contains(&method) {
            self.database.max(self.request)
        } else if method == "AwaitApproval" {
            self.approval.max(self.request)
        } else {
            self.slow
        }
    }
}
