//! A blocking client for programs without an async runtime. It wraps the
//! async [`crate::Client`] in a private current-thread runtime.

use secrecy::SecretString;
use tokio::runtime::{Builder, Runtime};

use crate::error::{Error, Result};
use crate::model::{Credential, EnvName, Environment};

/// The blocking twin of [`crate::Client`].
///
/// ```no_run
/// let mut client = dbcreds::blocking::Client::connect()?;
/// let names: Vec<String> = client.list()?.into_iter().map(|e| e.name.to_string()).collect();
/// # Ok::<(), dbcreds::Error>(())
/// ```
#[derive(Debug)]
pub struct Client {
    rt: Runtime,
    inner: crate::Client,
}

fn runtime() -> Result<Runtime> {
    Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::AgentStart(format!("cannot create a runtime: {e}")))
}

impl Client {
    /// Connects to the agent at the discovered socket.
    pub fn connect() -> Result<Self> {
        let rt = runtime()?;
        let inner = rt.block_on(crate::Client::connect())?;
        Ok(Self { rt, inner })
    }

    /// Connects, starting an agent when none answers.
    pub fn connect_or_start() -> Result<Self> {
        let rt = runtime()?;
        let inner = rt.block_on(crate::Client::connect_or_start())?;
        Ok(Self { rt, inner })
    }

    /// See [`crate::Client::get`].
    pub fn get(&mut self, name: &EnvName) -> Result<Credential> {
        self.rt.block_on(self.inner.get(name))
    }

    /// See [`crate::Client::describe`].
    pub fn describe(&mut self, name: &EnvName) -> Result<Environment> {
        self.rt.block_on(self.inner.describe(name))
    }

    /// See [`crate::Client::list`].
    pub fn list(&mut self) -> Result<Vec<Environment>> {
        self.rt.block_on(self.inner.list())
    }

    /// See [`crate::Client::put`].
    pub fn put(
        &mut self,
        env: &Environment,
        password: &SecretString,
        replace: bool,
    ) -> Result<Environment> {
        self.rt.block_on(self.inner.put(env, password, replace))
    }

    /// See [`crate::Client::remove`].
    pub fn remove(&mut self, name: &EnvName) -> Result<()> {
        self.rt.block_on(self.inner.remove(name))
    }
}

/// The blocking twin of [`crate::get`]: `DBCREDS_<NAME>_*` variables first,
/// then the agent (started if none runs).
///
/// ```no_run
/// use secrecy::ExposeSecret;
/// let cred = dbcreds::blocking::get("prod")?;
/// assert!(!cred.password().expose_secret().is_empty());
/// # Ok::<(), dbcreds::Error>(())
/// ```
pub fn get(name: &str) -> Result<Credential> {
    let parsed = EnvName::parse(name)?;
    // Variables that define it completely need no runtime at all.
    if let crate::envvars::Source::Vars(cred) = crate::envvars::source(&parsed)? {
        return Ok(*cred);
    }
    runtime()?.block_on(crate::get(name))
}
