//! Handing out secrets: `get` (a stored password, or one from the
//! environment's source) and `export_all`, each trying one automatic
//! keyring unlock when the vault is locked and the user did not lock it.

use dbcreds::{EnvName, Environment};
use secrecy::SecretString;

use super::{Agent, open};
use crate::error::{AgentError, Result};
use crate::sources::Revealed;

/// What `get_unlocked` found: a stored password, or where to fetch one.
pub(super) enum Found {
    Stored(Environment, SecretString),
    Sourced(Environment, dbcreds::SecretSource),
}

impl Agent {
    /// The environment and its password. Tries one automatic keyring unlock
    /// when the vault is locked and the user did not lock it.
    pub async fn get(&self, name: &EnvName) -> Result<(Environment, SecretString)> {
        self.reveal(name).await.map(|r| (r.env, r.password))
    }

    /// [`Agent::get`], with the warning a source outage gives.
    pub async fn reveal(&self, name: &EnvName) -> Result<Revealed> {
        let found = match self.get_unlocked(name).await {
            Err(AgentError::Locked) => {
                if self.auto_unlock().await? {
                    self.get_unlocked(name).await
                } else {
                    Err(AgentError::Locked)
                }
            }
            other => other,
        }?;
        match found {
            Found::Stored(env, password) => Ok(Revealed {
                env,
                password,
                warning: None,
            }),
            Found::Sourced(env, src) => self.reveal_sourced(env, src).await,
        }
    }

    async fn get_unlocked(&self, name: &EnvName) -> Result<Found> {
        let state = self.state.read().await;
        let o = open(&state)?;
        let rec = o
            .records
            .get(name.as_str())
            .ok_or_else(|| AgentError::NotFound(name.to_string()))?;
        if rec.env.password_missing {
            return Err(AgentError::PasswordMissing(name.to_string()));
        }
        let u = o.unlocked.as_ref().ok_or(AgentError::Locked)?;
        u.check_not_forgotten(name.as_str())?;
        self.timers.touch();
        if let Some(src) = &rec.env.source {
            return Ok(Found::Sourced(rec.env.clone(), src.clone()));
        }
        let secret = u
            .secrets
            .get(name.as_str())
            .ok_or_else(|| AgentError::Internal(format!("no secret for {name}")))?;
        Ok(Found::Stored(rec.env.clone(), secret.clone()))
    }

    /// Every environment with its password, from one snapshot (a read
    /// lock), sorted by name. Tries one automatic keyring unlock as `get`.
    pub async fn export_all(&self) -> Result<Vec<(Environment, SecretString)>> {
        self.unlock_for_request().await?;
        let found: Vec<Found> = {
            let state = self.state.read().await;
            let o = open(&state)?;
            let u = o.unlocked.as_ref().ok_or(AgentError::Locked)?;
            self.timers.touch();
            o.records
                .iter()
                .map(|(name, rec)| {
                    u.check_not_forgotten(name)?;
                    if let Some(src) = &rec.env.source {
                        return Ok(Found::Sourced(rec.env.clone(), src.clone()));
                    }
                    let secret = u
                        .secrets
                        .get(name)
                        .ok_or_else(|| AgentError::Internal(format!("no secret for {name}")))?;
                    Ok(Found::Stored(rec.env.clone(), secret.clone()))
                })
                .collect::<Result<_>>()?
        };
        // Sourced ones are fetched after the snapshot, outside its lock.
        let mut out = Vec::with_capacity(found.len());
        for f in found {
            out.push(match f {
                Found::Stored(env, secret) => (env, secret),
                Found::Sourced(env, src) => {
                    let r = self.reveal_sourced(env, src).await?;
                    (r.env, r.password)
                }
            });
        }
        Ok(out)
    }
}
