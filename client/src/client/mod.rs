//! The async client: one connection to the agent and one method per RPC,
//! returning model types and typed errors. Every method of [`Client`] is
//! in this module, one file per concern: connecting here, the vault
//! ([`vault`]), environments ([`env`]), databases ([`db`]) and the audit log
//! and change stream ([`audit`]).

use std::path::{Path, PathBuf};

use dbcreds_proto::codec::SmallBufferCodec;
use dbcreds_proto::v1::agent_client::AgentClient;
use dbcreds_proto::{MAX_MESSAGE_BYTES, MAX_REQUEST_BYTES, Wiped, v1};
use tonic::client::Grpc;
use zeroize::Zeroize;

use crate::error::{Error, Reason, Result};
use crate::model::{Credential, EnvName, Environment};
use crate::transport::{Connection, Timeouts};

mod approval;
pub(crate) mod audit;
pub(crate) mod db;
pub(crate) mod env;
pub(crate) mod policy;
pub(crate) mod safety;
pub(crate) mod sources;
pub(crate) mod vault;

use approval::Notice;

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
    /// The same connection without the generated methods, for the requests
    /// that carry a secret: they go out as [`Wiped`] messages (see
    /// [`Client::send_wiped`]), which the generated methods do not take.
    grpc: Grpc<Connection>,
    conn: Connection,
    socket: PathBuf,
    /// Told when a request waits for a confirmation ([`Client::on_approval_wait`]).
    notice: Notice,
}

/// The origin gives every request the :scheme and :authority HTTP/2 wants;
/// it is never dialled.
const ORIGIN: &str = "http://dbcreds.agent";

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
    ///
    /// Every wait is bounded by the configured [`Timeouts`] (see
    /// [`Timeouts::load`]); [`Client::connect_with`] takes them explicitly.
    pub async fn connect_to(socket: &Path) -> Result<Self> {
        Self::connect_with(socket, Timeouts::load()?).await
    }

    /// Connects to the agent listening at `socket`, waiting at most as long
    /// as `timeouts` say.
    ///
    /// ```no_run
    /// # async fn demo() -> dbcreds::Result<()> {
    /// use dbcreds::transport::Timeouts;
    /// let mut t = Timeouts::default();
    /// t.request = std::time::Duration::from_secs(1);
    /// let client = dbcreds::Client::connect_with(&dbcreds::paths::socket(), t).await?;
    /// # Ok(()) }
    /// ```
    pub async fn connect_with(socket: &Path, timeouts: Timeouts) -> Result<Self> {
        let conn = crate::transport::connect_with(socket, timeouts).await?;
        let origin = http::Uri::from_static(ORIGIN);
        // Requests are refused here, before sending, above what the agent
        // reads (it would cut the connection's stream with a raw message).
        let inner = AgentClient::with_origin(conn.clone(), origin.clone())
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_REQUEST_BYTES);
        let grpc = Grpc::with_origin(conn.clone(), origin)
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_REQUEST_BYTES);
        Ok(Self {
            inner,
            grpc,
            conn,
            socket: socket.to_owned(),
            notice: Notice::default(),
        })
    }

    /// The agent's process id as the kernel tells it (the socket's peer
    /// credentials), without asking the agent: it is known even when the
    /// agent does not answer. `None` where the platform does not tell.
    pub fn agent_pid(&self) -> Option<u32> {
        self.conn.agent_pid()
    }

    /// Connects to the agent at the discovered socket, starting one (and
    /// waiting until it listens) when none answers. Clients racing to start
    /// one take turns ([`crate::autostart::StartLock`]): one starts it, the
    /// others connect to it.
    pub async fn connect_or_start() -> Result<Self> {
        Self::connect_or_start_for(NeedsVault::Yes).await
    }

    /// [`Client::connect_or_start`] for requests that make a vault (`init`,
    /// `restore`) or need none: it starts an agent even where no vault
    /// exists yet.
    pub async fn connect_or_start_without_vault() -> Result<Self> {
        Self::connect_or_start_for(NeedsVault::No).await
    }

    async fn connect_or_start_for(needs: NeedsVault) -> Result<Self> {
        // The config file's `socket` and timeout keys both matter here:
        // one read for both (`dbcreds get` reads no other file).
        let file = crate::config::Config::from_file(&crate::config::path()).unwrap_or_default();
        let socket = crate::paths::resolve_socket(None, file.socket.as_deref());
        let timeouts = Timeouts::load_with(&file)?;
        match Self::connect_with(&socket, timeouts).await {
            Err(Error::AgentUnreachable { .. }) => {
                let s = socket.clone();
                let _turn = blocking(move || crate::autostart::StartLock::acquire(&s)).await?;
                // Whoever held the lock before us may have started it.
                if let Ok(client) = Self::connect_with(&socket, timeouts).await {
                    return Ok(client);
                }
                // An agent started where there is no vault could only say
                // "no vault yet" and then linger (in CI, say): say it here.
                let vault = crate::paths::vault();
                if needs == NeedsVault::Yes && !vault.exists() {
                    return Err(Error::Agent {
                        reason: Reason::NotInitialized,
                        message: format!(
                            "no vault yet at {} (and no agent runs): run `dbcreds init`, or `dbcreds restore FILE`",
                            vault.display()
                        ),
                    });
                }
                let s = socket.clone();
                blocking(move || crate::autostart::start_agent(&s)).await?;
                Self::connect_with(&socket, timeouts).await
            }
            other => other,
        }
    }

    /// The socket this client is connected to.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// Sends `req`, a message that carries a secret, to the RPC at `path`
    /// (one of the [`rpc`] paths). The message is [`Wiped`] from the start
    /// and moved into tonic, which encodes it and drops it: that drop, or
    /// the drop of a request that never left, zeroizes the secret. No clone
    /// is made. The encoded bytes in the transport's buffers are not
    /// covered: only a zeroing allocator reaches those.
    async fn send_wiped<Req, Resp>(&mut self, path: &'static str, req: Wiped<Req>) -> Result<Resp>
    where
        Req: prost::Message + Zeroize + Send + 'static,
        Resp: prost::Message + Default + Send + 'static,
    {
        Ok(self.unary(path, req).await?)
    }

    /// Sends `req` to the RPC at `path` and hands back the raw status on
    /// failure (the approval flow reads its metadata).
    async fn unary<Req, Resp>(
        &mut self,
        path: &'static str,
        req: Req,
    ) -> std::result::Result<Resp, tonic::Status>
    where
        Req: prost::Message + Send + 'static,
        Resp: prost::Message + Default + Send + 'static,
    {
        let request = tonic::Request::new(req);
        self.grpc
            .ready()
            .await
            // As the generated methods say it.
            .map_err(|e| tonic::Status::unknown(format!("Service was not ready: {e}")))?;
        let response = self
            .grpc
            .unary(
                request,
                http::uri::PathAndQuery::from_static(path),
                SmallBufferCodec::<Req, Resp>::default(),
            )
            .await?;
        Ok(response.into_inner())
    }
}

/// Whether a request needs an existing vault (then no agent is started
/// where none exists).
#[derive(Clone, Copy, PartialEq, Eq)]
enum NeedsVault {
    Yes,
    No,
}

/// The paths of the RPCs [`Client::send_wiped`] calls, as the generated
/// client spells them (`/<package>.<service>/<method>`).
mod rpc {
    pub const INIT: &str = "/dbcreds.v1.Agent/Init";
    pub const UNLOCK: &str = "/dbcreds.v1.Agent/Unlock";
    pub const PUT: &str = "/dbcreds.v1.Agent/Put";
    pub const UPDATE: &str = "/dbcreds.v1.Agent/Update";
    pub const BACKUP: &str = "/dbcreds.v1.Agent/Backup";
    pub const RESTORE: &str = "/dbcreds.v1.Agent/Restore";
    pub const PASSPHRASE: &str = "/dbcreds.v1.Agent/Passphrase";
    pub const REKEY: &str = "/dbcreds.v1.Agent/Rekey";
    pub const GET: &str = "/dbcreds.v1.Agent/Get";
    pub const REMOVE: &str = "/dbcreds.v1.Agent/Remove";
    pub const ROTATE: &str = "/dbcreds.v1.Agent/Rotate";
    pub const EXPORT_ALL: &str = "/dbcreds.v1.Agent/ExportAll";
    pub const SET_POLICY: &str = "/dbcreds.v1.Agent/SetPolicy";
    pub const PUT_SOURCE: &str = "/dbcreds.v1.Agent/PutSource";
    pub const LOGIN_SOURCE: &str = "/dbcreds.v1.Agent/LoginSource";
}

/// The environment a reply must carry.
pub(crate) fn environment(m: Option<v1::Environment>) -> Result<Environment> {
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
    let overlay = match crate::envvars::source(&name)? {
        crate::envvars::Source::Vars(cred) => return Ok(*cred),
        crate::envvars::Source::Agent(overlay) => overlay,
    };
    let fetched = match Client::connect_or_start().await {
        Ok(mut client) => client.get(&name).await,
        Err(e) => Err(e),
    };
    crate::envvars::finish(overlay.as_ref(), fetched)
}

/// True when the error means "the vault is locked".
pub fn is_locked(err: &Error) -> bool {
    err.reason() == Some(Reason::Locked)
}

/// Runs `f` on the blocking pool (process spawns, file locks).
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::AgentStart(e.to_string()))?
}

#[cfg(test)]
mod tests {
    use dbcreds_proto::v1::agent_server::SERVICE_NAME;

    #[test]
    fn wiped_paths_name_the_service() {
        for (path, method) in [
            (super::rpc::INIT, "Init"),
            (super::rpc::UNLOCK, "Unlock"),
            (super::rpc::PUT, "Put"),
            (super::rpc::UPDATE, "Update"),
            (super::rpc::BACKUP, "Backup"),
            (super::rpc::RESTORE, "Restore"),
            (super::rpc::PASSPHRASE, "Passphrase"),
            (super::rpc::REKEY, "Rekey"),
            (super::rpc::GET, "Get"),
            (super::rpc::REMOVE, "Remove"),
            (super::rpc::ROTATE, "Rotate"),
            (super::rpc::EXPORT_ALL, "ExportAll"),
            (super::rpc::SET_POLICY, "SetPolicy"),
            (super::rpc::PUT_SOURCE, "PutSource"),
            (super::rpc::LOGIN_SOURCE, "LoginSource"),
        ] {
            assert_eq!(path, format!("/{SERVICE_NAME}/{method}"));
        }
    }
}
