//! The stored policies (docs/security.md), read while locked or unlocked:
//! an environment's own, and the default of production environments.
//! What they mean is `crate::policy`'s business; here they are kept
//! beside the records they belong to.

use dbcreds::policy::PolicySource;
use dbcreds::{EnvName, Environment};

use super::forget::is_forgotten;
use super::{Agent, OpenVault, open, open_mut};
use crate::error::{AgentError, Result};
use crate::vault::{PRODUCTION_DEFAULT, PolicyRow};

/// An environment with its own policy and the production default.
#[derive(Clone, Debug)]
pub struct PolicyView {
    pub env: Environment,
    pub own: Option<PolicyRow>,
    pub default: Option<PolicyRow>,
    pub forgotten: bool,
}

impl PolicyView {
    /// The policy in force and where it comes from: its own, else the
    /// production default for a production environment, else none.
    pub fn effective(&self) -> (Option<&PolicyRow>, PolicySource) {
        match (&self.own, &self.default) {
            (Some(own), _) => (Some(own), PolicySource::Own),
            (None, Some(d)) if self.env.production => (Some(d), PolicySource::ProductionDefault),
            _ => (None, PolicySource::None),
        }
    }
}

fn view(o: &OpenVault, env: &Environment) -> PolicyView {
    PolicyView {
        env: env.clone(),
        own: o.policies.get(env.name.as_str()).cloned(),
        default: o.policies.get(PRODUCTION_DEFAULT).cloned(),
        forgotten: is_forgotten(o, env.name.as_str()),
    }
}

impl Agent {
    /// `name`'s policies; `NotFound` when there is no such environment.
    pub async fn policy_view(&self, name: &EnvName) -> Result<PolicyView> {
        let state = self.state.read().await;
        let o = open(&state)?;
        let rec = o
            .records
            .get(name.as_str())
            .ok_or_else(|| AgentError::NotFound(name.to_string()))?;
        Ok(view(o, &rec.env))
    }

    /// The policy in force for `name`, without copying anything when none
    /// applies (the path every `Get` takes); `NotFound` when there is no
    /// such environment.
    pub async fn effective_policy(&self, name: &EnvName) -> Result<Option<PolicyRow>> {
        let state = self.state.read().await;
        let o = open(&state)?;
        let rec = o
            .records
            .get(name.as_str())
            .ok_or_else(|| AgentError::NotFound(name.to_string()))?;
        Ok(match o.policies.get(name.as_str()) {
            Some(own) => Some(own.clone()),
            None if rec.env.production => o.policies.get(PRODUCTION_DEFAULT).cloned(),
            None => None,
        })
    }

    /// Every environment's policies, by name, and the production default.
    pub async fn policy_views(&self) -> Result<(Vec<PolicyView>, Option<PolicyRow>)> {
        let state = self.state.read().await;
        let o = open(&state)?;
        let views = o.records.values().map(|r| view(o, &r.env)).collect();
        Ok((views, o.policies.get(PRODUCTION_DEFAULT).cloned()))
    }

    /// Stores (`Some`) or removes `name`'s own policy.
    pub async fn store_policy(&self, name: &EnvName, row: Option<PolicyRow>) -> Result<()> {
        let mut state = self.state.write().await;
        let o = open_mut(&mut state)?;
        if !o.records.contains_key(name.as_str()) {
            return Err(AgentError::NotFound(name.to_string()));
        }
        store(o, name.as_str(), row).await
    }

    /// Stores (`Some`) or removes the production default.
    pub async fn store_production_default(&self, row: Option<PolicyRow>) -> Result<()> {
        let mut state = self.state.write().await;
        store(open_mut(&mut state)?, PRODUCTION_DEFAULT, row).await
    }
}

async fn store(o: &mut OpenVault, key: &str, row: Option<PolicyRow>) -> Result<()> {
    match row {
        Some(row) => {
            o.vault.put_policy(key, &row).await?;
            o.policies.insert(key.to_owned(), row);
        }
        None => {
            o.vault.delete_policy(key).await?;
            o.policies.remove(key);
        }
    }
    Ok(())
}
