//! Environments: reading, storing, changing and removing them, where their
//! passwords stand, and the Python tool's keyring entries for importing.

use std::path::Path;

use dbcreds_proto::{Wiped, v1};
use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use super::{Client, environment, rpc};
use crate::edit::Patch;
use crate::error::{Error, Result};
use crate::model::{Credential, EnvName, Environment, Expiry};

/// One environment in the answer of [`Client::check`].
///
/// ```
/// # use dbcreds::{CheckEntry, Expiry};
/// fn needs_attention(e: &CheckEntry) -> bool {
///     matches!(e.expiry, Expiry::Expired { .. } | Expiry::Soon { .. })
/// }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CheckEntry {
    /// The environment (never its password).
    pub environment: Environment,
    /// Where its password stands.
    pub expiry: Expiry,
}

impl CheckEntry {
    /// `environment` with where its password stands on `now`, as the agent
    /// computes it.
    ///
    /// ```
    /// use dbcreds::{CheckEntry, DatabaseKind, EnvName, Environment, Expiry};
    /// let env = Environment::new(EnvName::parse("dev").unwrap(), DatabaseKind::Postgres);
    /// let e = CheckEntry::new(env, chrono::Utc::now());
    /// assert_eq!(e.expiry, Expiry::Never); // no password age yet
    /// ```
    pub fn new(environment: Environment, now: chrono::DateTime<chrono::Utc>) -> Self {
        let expiry = environment.expiry(now);
        Self {
            environment,
            expiry,
        }
    }
}

/// The wire request for `patch`; its password goes straight into the
/// [`Wiped`] message.
fn update_request(
    name: &EnvName,
    patch: &Patch,
    approval: v1::Approval,
) -> Wiped<v1::UpdateRequest> {
    Wiped(v1::UpdateRequest {
        name: name.to_string(),
        password: patch
            .password
            .as_ref()
            .map(|p| p.expose_secret().to_owned()),
        kind: patch.kind.clone(),
        host: patch.host.clone(),
        port: patch.port,
        database: patch.database.clone(),
        username: patch.username.clone(),
        production: patch.production,
        description: patch.description.clone(),
        expires_days: patch.expires_days,
        options: patch
            .options
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        auth: patch.auth.clone(),
        password_changed_at: patch.password_changed_at.map(|t| t.timestamp()),
        approval: Some(approval),
    })
}

/// What a password is fetched for, as the agent's audit log records it
/// ([`Client::get_for`]): `get`, `get:uri`, `get:jdbc`, `get:libpq`,
/// `exec`, `export`.
///
/// ```
/// assert_eq!(dbcreds::Purpose::GetUri.as_str(), "get:uri");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Purpose {
    /// The password itself (what [`Client::get`] records).
    Get,
    /// A connection URI with the password (`dbcreds get NAME uri`).
    GetUri,
    /// A JDBC URL with the password (`dbcreds get NAME jdbc`).
    GetJdbc,
    /// A libpq connection string with the password (`dbcreds get NAME libpq`).
    GetLibpq,
    /// The environment of a command (`dbcreds exec`).
    Exec,
    /// An export format (`dbcreds export`).
    Export,
}

impl Purpose {
    /// The wire value (`GetRequest.purpose`), which is also the audit
    /// event's operation.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "get",
            Self::GetUri => "get:uri",
            Self::GetJdbc => "get:jdbc",
            Self::GetLibpq => "get:libpq",
            Self::Exec => "exec",
            Self::Export => "export",
        }
    }
}

impl Client {
    /// One environment with its password. The agent records the reveal in
    /// its audit log (as `get`). When the environment's policy asks for a
    /// confirmation, this waits for it ([`Client::on_approval_wait`]); a
    /// refusal is [`crate::Reason::ApprovalRefused`], a program its allow
    /// list does not name [`crate::Reason::PermissionDenied`].
    pub async fn get(&mut self, name: &EnvName) -> Result<Credential> {
        self.get_for(name, Purpose::Get).await
    }

    /// [`Client::get`], telling the agent what the password is for, which
    /// its audit log records as the operation.
    pub async fn get_for(&mut self, name: &EnvName, purpose: Purpose) -> Result<Credential> {
        self.get_request(name, purpose, "").await
    }

    /// [`Client::get`] for `dbcreds exec`: the secret goes to the program
    /// `child` (a canonical path), which the policy's allow list must name.
    /// The agent takes this word only from the dbcreds CLI binary itself.
    pub async fn get_for_child(&mut self, name: &EnvName, child: &Path) -> Result<Credential> {
        let child = child.to_str().ok_or_else(|| {
            Error::Invalid(crate::InvalidInput::Field {
                field: "command".into(),
                why: format!("'{}' is not UTF-8", child.display()),
            })
        })?;
        self.get_request(name, Purpose::Exec, child).await
    }

    async fn get_request(
        &mut self,
        name: &EnvName,
        purpose: Purpose,
        child: &str,
    ) -> Result<Credential> {
        let mut r: v1::GetResponse = self
            .approved(rpc::GET, |approval| v1::GetRequest {
                name: name.to_string(),
                purpose: purpose.as_str().to_owned(),
                child_exe: child.to_owned(),
                approval: Some(approval),
            })
            .await?;
        let env = environment(r.environment.take())?;
        let password = SecretString::from(std::mem::take(&mut r.password));
        let mut cred = Credential::new(env, password);
        if !r.warning.is_empty() {
            cred.set_warning(std::mem::take(&mut r.warning));
        }
        Ok(cred)
    }

    /// One environment without its password.
    pub async fn describe(&mut self, name: &EnvName) -> Result<Environment> {
        let r = self
            .inner
            .describe(v1::DescribeRequest {
                name: name.to_string(),
            })
            .await?
            .into_inner();
        environment(r.environment)
    }

    /// Every environment, without passwords, sorted by name.
    pub async fn list(&mut self) -> Result<Vec<Environment>> {
        let r = self.inner.list(v1::ListRequest {}).await?.into_inner();
        r.environments
            .into_iter()
            .map(|e| Environment::try_from(e).map_err(Error::from))
            .collect()
    }

    /// Creates an environment (or replaces one when `replace`).
    pub async fn put(
        &mut self,
        env: &Environment,
        password: &SecretString,
        replace: bool,
    ) -> Result<Environment> {
        let r: v1::PutResponse = self
            .approved(rpc::PUT, |approval| {
                Wiped(v1::PutRequest {
                    environment: Some(env.into()),
                    password: password.expose_secret().to_owned(),
                    replace,
                    approval: Some(approval),
                })
            })
            .await?;
        environment(r.environment)
    }

    /// Changes the fields `patch` sets (the agent applies it with
    /// [`Patch::apply`]) and returns the environment afterwards.
    ///
    /// ```no_run
    /// # async fn demo() -> dbcreds::Result<()> {
    /// use dbcreds::edit::Patch;
    /// let mut client = dbcreds::Client::connect().await?;
    /// let patch = Patch { port: Some(6543), ..Patch::default() };
    /// let env = client.update(&"prod".parse()?, patch).await?;
    /// assert_eq!(env.port, 6543);
    /// # Ok(()) }
    /// ```
    pub async fn update(&mut self, name: &EnvName, patch: Patch) -> Result<Environment> {
        let r: v1::UpdateResponse = self
            .approved(rpc::UPDATE, |approval| {
                update_request(name, &patch, approval)
            })
            .await?;
        environment(r.environment)
    }

    /// Deletes an environment and its password (after a confirmation,
    /// when its policy asks for them).
    pub async fn remove(&mut self, name: &EnvName) -> Result<()> {
        let _: v1::RemoveResponse = self
            .approved(rpc::REMOVE, |approval| v1::RemoveRequest {
                name: name.to_string(),
                approval: Some(approval),
            })
            .await?;
        Ok(())
    }

    /// Where every environment's password stands against its expiry
    /// policy, sorted by name. Works while the vault is locked.
    ///
    /// ```no_run
    /// # async fn demo() -> dbcreds::Result<()> {
    /// let mut client = dbcreds::Client::connect().await?;
    /// for entry in client.check().await? {
    ///     if entry.expiry.is_expired() {
    ///         eprintln!("{}: {}", entry.environment.name, entry.expiry);
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn check(&mut self) -> Result<Vec<CheckEntry>> {
        let r = self.inner.check(v1::CheckRequest {}).await?.into_inner();
        r.entries
            .into_iter()
            .map(|e| {
                let expiry = match e.state() {
                    v1::ExpiryState::Fresh => Expiry::Fresh { days_left: e.days },
                    v1::ExpiryState::Soon => Expiry::Soon { days_left: e.days },
                    v1::ExpiryState::Expired => Expiry::Expired { days_ago: e.days },
                    _ => Expiry::Never,
                };
                Ok(CheckEntry {
                    environment: environment(e.environment)?,
                    expiry,
                })
            })
            .collect()
    }

    /// Importing support: the secret the Python dbcreds stored in the OS
    /// keyring for environment `name` (see [`crate::legacy`]), read by the
    /// agent; `None` when there is no such entry. The agent records the
    /// read in its audit log.
    ///
    /// ```no_run
    /// # async fn demo() -> dbcreds::Result<()> {
    /// let mut client = dbcreds::Client::connect().await?;
    /// let blob = client.read_legacy_keyring(&"prod".parse()?).await?;
    /// println!("an entry: {}", blob.is_some());
    /// # Ok(()) }
    /// ```
    pub async fn read_legacy_keyring(
        &mut self,
        name: &EnvName,
    ) -> Result<Option<Zeroizing<Vec<u8>>>> {
        let r = self
            .inner
            .read_legacy_keyring(v1::ReadLegacyKeyringRequest {
                environment: name.to_string(),
            })
            .await?
            .into_inner();
        Ok(r.secret.map(Zeroizing::new))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_patch_becomes_the_request_field_by_field() {
        let mut patch = Patch {
            kind: Some("mysql".into()),
            port: Some(3307),
            password: Some(SecretString::from("two")),
            expires_days: Some(0),
            ..Patch::default()
        };
        patch.options.insert("sslmode".into(), String::new());
        let req = update_request(
            &EnvName::parse("prod").unwrap(),
            &patch,
            crate::client::approval::first(),
        );
        assert_eq!(req.name, "prod");
        assert_eq!(req.kind.as_deref(), Some("mysql"));
        assert_eq!(req.port, Some(3307));
        assert_eq!(req.password.as_deref(), Some("two"));
        assert_eq!(req.expires_days, Some(0));
        assert_eq!(req.host, None);
        assert_eq!(req.options.get("sslmode").map(String::as_str), Some(""));
    }
}
