//! The vault and the agent itself: status, init, unlock, lock, and the
//! agent's own health checks.

use dbcreds_proto::{PROTOCOL, Wiped, v1};
use secrecy::{ExposeSecret, SecretString};

use super::{Client, rpc};
use crate::error::{Error, Result};
use crate::unlocker::{InitUnlocker, Unlocker};

/// Whether the agent has a vault, and whether it is open.
///
/// ```
/// use dbcreds::LockState;
/// assert_eq!(LockState::Unlocked.as_str(), "unlocked");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LockState {
    /// No vault yet: `dbcreds init` creates one.
    Uninitialized,
    /// A vault, locked: passwords cannot be read until an unlock.
    Locked,
    /// A vault, unlocked.
    Unlocked,
    /// A vault file the agent cannot use: damaged, or not a vault
    /// ([`Status::vault_error`] says why).
    Damaged,
    /// A vault written by a newer dbcreds.
    TooNew,
    /// A state this client does not know (an agent of another version).
    Unknown,
}

impl LockState {
    /// The word `dbcreds status --json` prints.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Uninitialized => "uninitialized",
            Self::Locked => "locked",
            Self::Unlocked => "unlocked",
            Self::Damaged => "damaged",
            Self::TooNew => "too_new",
            Self::Unknown => "unknown",
        }
    }
}

impl From<v1::LockState> for LockState {
    fn from(s: v1::LockState) -> Self {
        match s {
            v1::LockState::Uninitialized => Self::Uninitialized,
            v1::LockState::Locked => Self::Locked,
            v1::LockState::Unlocked => Self::Unlocked,
            v1::LockState::Damaged => Self::Damaged,
            v1::LockState::TooNew => Self::TooNew,
            v1::LockState::Unspecified => Self::Unknown,
        }
    }
}

/// What [`Client::status`] reports.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Status {
    /// The agent's crate version.
    pub agent_version: String,
    /// The agent's protocol number.
    pub protocol: u32,
    /// Uninitialized, locked, unlocked, or a vault that cannot be used.
    pub state: LockState,
    /// Why the vault cannot be used (states `Damaged` and `TooNew`), in
    /// words; empty otherwise.
    pub vault_error: String,
    /// The unlockers the vault has, in the agent's order. One this client
    /// does not know is left out.
    pub unlockers: Vec<Unlocker>,
    /// The vault file the agent serves.
    pub vault_path: String,
    /// The agent's process id.
    pub pid: u32,
    /// Number of environments.
    pub environments: u32,
    /// Unix seconds of the last unlock; 0 while locked.
    pub unlocked_at: i64,
    /// Seconds until the idle lock fires; `None` when off or locked.
    pub idle_lock_in_secs: Option<i64>,
    /// Seconds until the hard cap locks; `None` when off or locked.
    pub hard_lock_in_secs: Option<i64>,
    /// The idle lock's setting in seconds; `None` when off (or an agent
    /// too old to say).
    pub lock_after_secs: Option<i64>,
    /// The hard cap's setting in seconds; `None` when off (or an agent too
    /// old to say).
    pub max_unlocked_secs: Option<i64>,
    /// Environments whose secret was forgotten after their policy's
    /// `max_unlocked` while the vault stayed unlocked: an unlock brings
    /// them back.
    pub forgotten: Vec<String>,
}

/// What [`Client::init`] created.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Initialized {
    /// The unlockers the new vault has.
    pub unlockers: Vec<Unlocker>,
    /// The vault file.
    pub vault_path: String,
}

/// One of the agent's own checks, as [`Client::diagnose`] reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Diagnosis {
    /// What was checked: `vault`, `keyring`, ...
    pub name: String,
    /// Whether it is fine.
    pub ok: bool,
    /// What was found, in words.
    pub detail: String,
    /// What to do about it; empty when ok.
    pub fix: String,
}

/// The unlockers named on the wire, without the ones this client does not
/// know (a newer agent's): `status` and `init` must not fail over them.
pub(crate) fn unlockers(names: Vec<String>) -> Vec<Unlocker> {
    names.iter().filter_map(|n| n.parse().ok()).collect()
}

impl Client {
    /// Agent version, protocol and lock state.
    pub async fn status(&mut self) -> Result<Status> {
        let r = self.inner.status(v1::StatusRequest {}).await?.into_inner();
        Ok(Status {
            state: r.state().into(),
            vault_error: r.vault_error,
            forgotten: r.forgotten,
            agent_version: r.agent_version,
            protocol: r.protocol,
            unlockers: unlockers(r.unlockers),
            vault_path: r.vault_path,
            pid: r.pid,
            environments: r.environments,
            unlocked_at: r.unlocked_at,
            idle_lock_in_secs: r.idle_lock_in_secs,
            hard_lock_in_secs: r.hard_lock_in_secs,
            lock_after_secs: r.lock_after_secs,
            max_unlocked_secs: r.max_unlocked_secs,
        })
    }

    /// Fails with [`Error::ProtocolMismatch`] unless the agent speaks this
    /// client's protocol.
    pub async fn check_protocol(&mut self) -> Result<Status> {
        let status = self.status().await?;
        if status.protocol != PROTOCOL {
            return Err(Error::ProtocolMismatch {
                agent: status.protocol,
                client: PROTOCOL,
            });
        }
        Ok(status)
    }

    /// Creates the vault with `unlocker`; the passphrase unlocker needs
    /// `passphrase`.
    ///
    /// ```no_run
    /// # async fn demo() -> dbcreds::Result<()> {
    /// use dbcreds::unlocker::{InitUnlocker, Unlocker};
    /// let mut client = dbcreds::Client::connect().await?;
    /// let pass = dbcreds::secrecy::SecretString::from("correct horse");
    /// let done = client.init(InitUnlocker::Only(Unlocker::Passphrase), Some(&pass)).await?;
    /// assert_eq!(done.unlockers, [Unlocker::Passphrase]);
    /// # Ok(()) }
    /// ```
    pub async fn init(
        &mut self,
        unlocker: InitUnlocker,
        passphrase: Option<&SecretString>,
    ) -> Result<Initialized> {
        let req = Wiped(v1::InitRequest {
            unlocker: unlocker.as_str().into(),
            passphrase: passphrase.map(|p| p.expose_secret().to_owned()),
        });
        let r: v1::InitResponse = self.send_wiped(rpc::INIT, req).await?;
        Ok(Initialized {
            unlockers: unlockers(r.unlockers),
            vault_path: r.vault_path,
        })
    }

    /// Unlocks through the OS keyring (`None`) or a passphrase. Returns the
    /// unlocker that worked.
    pub async fn unlock(&mut self, passphrase: Option<&SecretString>) -> Result<Unlocker> {
        let req = Wiped(v1::UnlockRequest {
            passphrase: passphrase.map(|p| p.expose_secret().to_owned()),
        });
        let r: v1::UnlockResponse = self.send_wiped(rpc::UNLOCK, req).await?;
        r.unlocker
            .parse()
            .map_err(|_| Error::Protocol(format!("unknown unlocker '{}'", r.unlocker)))
    }

    /// Drops the data key and every decrypted secret in the agent.
    pub async fn lock(&mut self) -> Result<()> {
        self.inner.lock(v1::LockRequest {}).await?;
        Ok(())
    }

    /// The agent's own checks (vault integrity, the OS keyring), for
    /// `dbcreds doctor`. Reveals no secret.
    pub async fn diagnose(&mut self) -> Result<Vec<Diagnosis>> {
        let r = self
            .inner
            .diagnose(v1::DiagnoseRequest {})
            .await?
            .into_inner();
        Ok(r.checks
            .into_iter()
            .map(|c| Diagnosis {
                name: c.name,
                ok: c.ok,
                detail: c.detail,
                fix: c.fix,
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_unlockers_are_left_out() {
        assert_eq!(
            unlockers(vec!["keyring".into(), "fido".into(), "passphrase".into()]),
            [Unlocker::Keyring, Unlocker::Passphrase]
        );
    }

    #[test]
    fn every_wire_state_maps() {
        for (wire, word) in [
            (v1::LockState::Uninitialized, "uninitialized"),
            (v1::LockState::Locked, "locked"),
            (v1::LockState::Unlocked, "unlocked"),
            (v1::LockState::Damaged, "damaged"),
            (v1::LockState::TooNew, "too_new"),
            (v1::LockState::Unspecified, "unknown"),
        ] {
            assert_eq!(LockState::from(wire).as_str(), word);
        }
    }
}
