//! The async client: one connection to the agent and one method per RPC,
//! returning model types and typed errors.

use std::path::{Path, PathBuf};

use dbcreds_proto::v1::agent_client::AgentClient;
use dbcreds_proto::{MAX_MESSAGE_BYTES, PROTOCOL, v1};
use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroize;

use crate::error::{Error, Reason, Result};
use crate::model::{Credential, EnvName, Environment, Expiry};
use crate::transport::Connection;

/// A connection to a running agent.
///
/// ```no_run
/// # async fn demo() -> dbcreds::Result<()> {
/// let mut client = dbcreds::Client::connect().await?;
/// let cred = client.get(&"prod".parse()?).await?;
/// println!("{}", cred.environment().host);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Client {
    inner: AgentClient<Connection>,
    socket: PathBuf,
}

/// What [`Client::status`] reports.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Status {
    /// The agent's crate version.
    pub agent_version: String,
    /// The agent's protocol number.
    pub protocol: u32,
    /// Uninitialized, locked or unlocked.
    pub state: v1::LockState,
    /// Unlockers the vault has ("keyring", "passphrase").
    pub unlockers: Vec<String>,
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
}

impl Client {
    /// Connects to the agent at the discovered socket ([`crate::paths::socket`]).
    /// Does not start one: see [`Client::connect_or_start`].
    pub async fn connect() -> Result<Self> {
        Self::connect_to(&crate::paths::socket()).await
    }

    /// Connects to the agent listening at `socket`.
    ///
    /// ```no_run
    /// # async fn demo() -> dbcreds::Result<()> {
    /// let client = dbcreds::Client::connect_to("/run/user/1000/dbcreds/agent.sock".as_ref()).await?;
    /// # Ok(()) }
    /// ```
    pub async fn connect_to(socket: &Path) -> Result<Self> {
        let conn = crate::transport::connect(socket).await?;
        // The origin gives every request the :scheme and :authority HTTP/2
        // wants; it is never dialled.
        let inner = AgentClient::with_origin(conn, http::Uri::from_static("http://dbcreds.agent"))
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES);
        Ok(Self {
            inner,
            socket: socket.to_owned(),
        })
    }

    /// Connects to the agent at the discovered socket, starting one (and
    /// waiting until it listens) when none answers.
    pub async fn connect_or_start() -> Result<Self> {
        let socket = crate::paths::socket();
        match Self::connect_to(&socket).await {
            Err(Error::AgentUnreachable { .. }) => {
                let s = socket.clone();
                tokio::task::spawn_blocking(move || crate::autostart::start_agent(&s))
                    .await
                    .map_err(|e| Error::AgentStart(e.to_string()))??;
                Self::connect_to(&socket).await
            }
            other => other,
        }
    }

    /// The socket this client is connected to.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// The generated gRPC client, for RPCs this type does not wrap yet.
    pub fn raw(&mut self) -> &mut AgentClient<Connection> {
        &mut self.inner
    }

    /// Agent version, protocol and lock state.
    pub async fn status(&mut self) -> Result<Status> {
        let r = self.inner.status(v1::StatusRequest {}).await?.into_inner();
        Ok(Status {
            state: r.state(),
            agent_version: r.agent_version,
            protocol: r.protocol,
            unlockers: r.unlockers,
            vault_path: r.vault_path,
            pid: r.pid,
            environments: r.environments,
            unlocked_at: r.unlocked_at,
            idle_lock_in_secs: r.idle_lock_in_secs,
            hard_lock_in_secs: r.hard_lock_in_secs,
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

    /// One environment with its password. The agent records the reveal in
    /// its audit log.
    pub async fn get(&mut self, name: &EnvName) -> Result<Credential> {
        let mut r = self
            .inner
            .get(v1::GetRequest {
                name: name.to_string(),
            })
            .await?
            .into_inner();
        let env = environment(r.environment.take())?;
        let password = SecretString::from(std::mem::take(&mut r.password));
        Ok(Credential::new(env, password))
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
        let mut req = v1::PutRequest {
            environment: Some(env.into()),
            password: password.expose_secret().to_owned(),
            replace,
        };
        let result = self.inner.put(req.clone()).await;
        req.password.zeroize();
        environment(result?.into_inner().environment)
    }

    /// Changes the fields set in `req`.
    pub async fn update(&mut self, mut req: v1::UpdateRequest) -> Result<Environment> {
        let result = self.inner.update(req.clone()).await;
        req.password.zeroize();
        environment(result?.into_inner().environment)
    }

    /// Deletes an environment and its password.
    pub async fn remove(&mut self, name: &EnvName) -> Result<()> {
        self.inner
            .remove(v1::RemoveRequest {
                name: name.to_string(),
            })
            .await?;
        Ok(())
    }

    /// Creates the vault. `unlocker` is "auto", "keyring" or "passphrase".
    pub async fn init(
        &mut self,
        unlocker: &str,
        passphrase: Option<&SecretString>,
    ) -> Result<v1::InitResponse> {
        let mut req = v1::InitRequest {
            unlocker: unlocker.into(),
            passphrase: passphrase.map(|p| p.expose_secret().to_owned()),
        };
        let result = self.inner.init(req.clone()).await;
        req.passphrase.zeroize();
        Ok(result?.into_inner())
    }

    /// Unlocks through the OS keyring (`None`) or a passphrase. Returns the
    /// unlocker that worked.
    pub async fn unlock(&mut self, passphrase: Option<&SecretString>) -> Result<String> {
        let mut req = v1::UnlockRequest {
            passphrase: passphrase.map(|p| p.expose_secret().to_owned()),
        };
        let result = self.inner.unlock(req.clone()).await;
        req.passphrase.zeroize();
        Ok(result?.into_inner().unlocker)
    }

    /// Drops the data key and every decrypted secret in the agent.
    pub async fn lock(&mut self) -> Result<()> {
        self.inner.lock(v1::LockRequest {}).await?;
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
    /// keyring for environment `name` (service `dbcreds`, user
    /// `dbcreds:<name>`), read by the agent; `None` when there is no such
    /// entry. The agent records the read in its audit log.
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
    ) -> Result<Option<zeroize::Zeroizing<Vec<u8>>>> {
        let r = self
            .inner
            .read_legacy_keyring(v1::ReadLegacyKeyringRequest {
                environment: name.to_string(),
            })
            .await?
            .into_inner();
        Ok(r.secret.map(zeroize::Zeroizing::new))
    }
}

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

fn environment(m: Option<v1::Environment>) -> Result<Environment> {
    let m = m.ok_or_else(|| Error::Protocol("reply without an environment".into()))?;
    Ok(Environment::try_from(m)?)
}

/// The credential for `name`: from `DBCREDS_<NAME>_*` variables when they
/// are set, else from the agent (started if none runs).
///
/// ```no_run
/// # async fn demo() -> dbcreds::Result<()> {
/// use secrecy::ExposeSecret;
/// let cred = dbcreds::get("prod").await?;
/// let url = cred.uri();
/// # let _ = url.expose_secret();
/// # Ok(()) }
/// ```
pub async fn get(name: &str) -> Result<Credential> {
    let name = EnvName::parse(name)?;
    if let Some(cred) = crate::envvars::lookup(&name)? {
        return Ok(cred);
    }
    Client::connect_or_start().await?.get(&name).await
}

/// True when the error means "the vault is locked".
pub fn is_locked(err: &Error) -> bool {
    err.reason() == Some(Reason::Locked)
}
