//! Sources in the agent's state: their stored configuration and sealed
//! logins, and the `get` of an environment whose secret lives in one.

use dbcreds::{EnvName, Environment, SecretSource};
use dbcreds_sources::SourceSpec;
use secrecy::{ExposeSecret, SecretString};

use super::{Agent, open, open_mut};
use crate::error::{AgentError, Result};
use crate::sources::Revealed;
use crate::vault::SourceRow;
use crate::vault::sources::login_aad;

/// A source as `ListSources` shows it.
pub struct SourceView {
    pub spec: SourceSpec,
    pub has_login: bool,
    pub environments: Vec<String>,
}

impl Agent {
    /// Adds or replaces a source. A login secret is sealed with the data
    /// key, so it needs the vault unlocked.
    pub async fn put_source(
        &self,
        spec: SourceSpec,
        login: Option<SecretString>,
        replace: bool,
    ) -> Result<SourceView> {
        EnvName::parse(&spec.name).map_err(|_| {
            AgentError::BadRequest(format!(
                "invalid source name '{}': use 1-50 characters of a-z, 0-9, _ and -",
                spec.name
            ))
        })?;
        if spec.kind.needs_login_secret() && login.is_none() {
            return Err(AgentError::BadRequest(format!(
                "a {} source needs its login secret (token, secret-id or password) on stdin or at the prompt",
                spec.kind.as_str()
            )));
        }
        if login.is_some() {
            self.unlock_for_request().await?;
        }
        // Leases taken with the old login are revoked with it.
        self.sources.forget_source(&spec.name).await;
        let mut state = self.state.write().await;
        let o = open_mut(&mut state)?;
        if o.sources.contains_key(&spec.name) && !replace {
            return Err(AgentError::BadRequest(format!(
                "source '{}' exists already: pass --force to replace it, or `dbcreds source login {}` for a new login",
                spec.name, spec.name
            )));
        }
        let sealed_login = match &login {
            Some(secret) => {
                let u = o.unlocked.as_ref().ok_or(AgentError::Locked)?;
                Some(
                    u.key
                        .seal(&login_aad(&spec.name), secret.expose_secret().as_bytes()),
                )
            }
            None => None,
        };
        let row = SourceRow { spec, sealed_login };
        o.vault.upsert_source(&row).await?;
        let name = row.spec.name.clone();
        o.sources.insert(name.clone(), row);
        self.sources.drop_session(&name);
        Ok(view(o, &name))
    }

    /// A new login secret for `name`.
    pub async fn login_source(&self, name: &str, login: SecretString) -> Result<SourceView> {
        let spec = {
            let state = self.state.read().await;
            let o = open(&state)?;
            o.sources
                .get(name)
                .map(|r| r.spec.clone())
                .ok_or_else(|| no_source(name))?
        };
        self.put_source(spec, Some(login), true).await
    }

    /// Checks source `name`, logging in when no session is open yet
    /// (`None` while locked: its login is sealed).
    pub async fn source_health(&self, name: &str) -> Option<dbcreds_sources::Health> {
        let login = {
            let state = self.state.read().await;
            let o = open(&state).ok()?;
            self.source_login(o, name).ok()?
        };
        let mut login = Some(login);
        let session = self
            .sources
            .session(name, || login.take().ok_or_else(|| no_source(name)))
            .ok()?;
        Some(session.health().await)
    }

    pub async fn list_sources(&self) -> Result<Vec<SourceView>> {
        let state = self.state.read().await;
        let o = open(&state)?;
        Ok(o.sources.keys().map(|n| view(o, n)).collect())
    }

    /// Removes a source no environment uses.
    pub async fn remove_source(&self, name: &str) -> Result<()> {
        let mut state = self.state.write().await;
        let o = open_mut(&mut state)?;
        if !o.sources.contains_key(name) {
            return Err(no_source(name));
        }
        let users = users(o, name);
        if !users.is_empty() {
            return Err(AgentError::SourceInUse(name.to_owned(), users.join(", ")));
        }
        o.vault.delete_source(name).await?;
        o.sources.remove(name);
        self.sources.drop_session(name);
        Ok(())
    }

    /// The spec and unsealed login of `name`, to open its session.
    fn source_login(
        &self,
        o: &super::OpenVault,
        name: &str,
    ) -> Result<(SourceSpec, Option<SecretString>)> {
        let row = o.sources.get(name).ok_or_else(|| no_source(name))?;
        let login = match &row.sealed_login {
            Some(sealed) => {
                let u = o.unlocked.as_ref().ok_or(AgentError::Locked)?;
                let plain = u.key.open(&login_aad(name), sealed).map_err(|_| {
                    AgentError::Internal(format!(
                        "the login of source '{name}' fails authentication"
                    ))
                })?;
                let text = String::from_utf8(plain.to_vec()).map_err(|_| {
                    AgentError::Internal(format!("the login of source '{name}' is not UTF-8"))
                })?;
                Some(SecretString::from(text))
            }
            None => None,
        };
        Ok((row.spec.clone(), login))
    }

    /// The credential of a sourced environment: from the cache, or fetched
    /// (outside the state lock: a slow source must not hold up other
    /// requests).
    pub(super) async fn reveal_sourced(
        &self,
        env: Environment,
        src: SecretSource,
    ) -> Result<Revealed> {
        if let Some(hit) = self.sources.cached(&env, &src) {
            return Ok(hit);
        }
        self.fetch_sourced(env, src, true).await
    }

    /// Fetches (`fallback`: serving the cache while the source is down).
    async fn fetch_sourced(
        &self,
        env: Environment,
        src: SecretSource,
        fallback: bool,
    ) -> Result<Revealed> {
        let login = if src.kind.needs_source() {
            let state = self.state.read().await;
            let o = open(&state)?;
            Some(self.source_login(o, &src.source)?)
        } else {
            None
        };
        let mut login = login;
        self.sources
            .resolve(env, src, fallback, |name| {
                login.take().ok_or_else(|| no_source(name))
            })
            .await
    }

    /// Fetches `name`'s credential again (the keeper, before a lease ends;
    /// `dbcreds refresh`), without counting as use of the vault.
    pub async fn refetch(&self, name: &EnvName) -> Result<()> {
        let (env, src) = self.sourced(name).await?;
        self.sources.expire(name.as_str());
        self.fetch_sourced(env, src, false).await.map(|_| ())
    }

    /// `dbcreds refresh`: fetches a new credential, then revokes the lease
    /// of the one it replaces.
    pub async fn refresh(&self, name: &EnvName) -> Result<Environment> {
        let (env, src) = self.sourced(name).await?;
        self.timers.touch();
        // Expired, not dropped: a source that is down keeps it served.
        self.sources.expire(name.as_str());
        let got = self.fetch_sourced(env, src, false).await?;
        self.sources.revoke_retired(name.as_str()).await;
        Ok(got.env)
    }

    async fn sourced(&self, name: &EnvName) -> Result<(Environment, SecretSource)> {
        let state = self.state.read().await;
        let o = open(&state)?;
        let rec = o
            .records
            .get(name.as_str())
            .ok_or_else(|| AgentError::NotFound(name.to_string()))?;
        o.unlocked.as_ref().ok_or(AgentError::Locked)?;
        let src = rec.env.source.clone().ok_or_else(|| {
            AgentError::BadRequest(format!(
                "environment '{name}' has no source: its password is stored in the vault"
            ))
        })?;
        Ok((rec.env.clone(), src))
    }
}

fn no_source(name: &str) -> AgentError {
    AgentError::BadRequest(format!(
        "no source '{name}': see `dbcreds source list`, or add it with `dbcreds source add {name}`"
    ))
}

fn users(o: &super::OpenVault, name: &str) -> Vec<String> {
    o.records
        .values()
        .filter(|r| r.env.source.as_ref().is_some_and(|s| s.source == name))
        .map(|r| r.env.name.to_string())
        .collect()
}

fn view(o: &super::OpenVault, name: &str) -> SourceView {
    let row = &o.sources[name];
    SourceView {
        spec: row.spec.clone(),
        has_login: row.sealed_login.is_some(),
        environments: users(o, name),
    }
}
