//! `Agent::diagnose`: the checks `dbcreds doctor` cannot make from outside.

use crate::keyring;

use super::{Agent, State, keys};
use dbcreds::Unlocker;

/// One finding of [`Agent::diagnose`].
pub struct Check {
    pub name: &'static str,
    pub ok: bool,
    pub detail: String,
    pub fix: String,
}

impl Check {
    fn good(name: &'static str, detail: impl Into<String>) -> Self {
        Self {
            name,
            ok: true,
            detail: detail.into(),
            fix: String::new(),
        }
    }

    fn bad(name: &'static str, detail: impl Into<String>, fix: &str) -> Self {
        Self {
            name,
            ok: false,
            detail: detail.into(),
            fix: fix.into(),
        }
    }
}

impl Agent {
    /// The checks `dbcreds doctor` cannot make from outside: the vault's
    /// integrity and whether the keyring answers with this vault's key.
    pub async fn diagnose(&self) -> Vec<Check> {
        let mut checks = Vec::new();
        let (vault, keyring_entry) = match &*self.state.read().await {
            State::Missing => {
                checks.push(Check::bad(
                    "vault",
                    format!("no vault at {}", self.vault_path.display()),
                    "run `dbcreds init`",
                ));
                return checks;
            }
            State::Broken(e) => {
                checks.push(Check::bad(
                    "vault",
                    e.to_string(),
                    "see the message: restore the file from a backup or upgrade dbcreds",
                ));
                return checks;
            }
            State::Open(o) => (
                o.vault.clone(),
                keys::find(&o.unlockers, Unlocker::Keyring)
                    .map(|row| keys::keyring_entry(row, &o.vault_id)),
            ),
        };
        checks.push(match vault.integrity_check().await {
            Ok(r) if r == "ok" => Check::good(
                "vault",
                format!(
                    "{} passes PRAGMA integrity_check",
                    self.vault_path.display()
                ),
            ),
            Ok(r) => Check::bad(
                "vault",
                format!("integrity_check found: {r}"),
                "restore the vault from a backup",
            ),
            Err(e) => Check::bad("vault", e.to_string(), "restore the vault from a backup"),
        });
        if let Some(entry) = keyring_entry {
            checks.push(match keyring::fetch_key(&entry).await {
                Ok(_) => Check::good("keyring", "the OS keyring is reachable, unlocked and holds this vault's key"),
                Err(e) => Check::bad(
                    "keyring",
                    e.to_string(),
                    "unlock your login keyring (log in to the desktop session, or `gnome-keyring-daemon --unlock`), then `dbcreds unlock`",
                ),
            });
        } else {
            checks.push(Check::good(
                "keyring",
                "not used: this vault unlocks with a passphrase",
            ));
        }
        checks
    }
}
