//! The database-aware calls: connection tests and password rotation. The
//! agent connects with the stored credentials; no secret travels in these
//! replies: after a rotation, [`Client::get`] fetches the new password like
//! any other.

use dbcreds_proto::v1;

use super::{Client, environment};
use crate::convert::test_result;
use crate::error::{Error, Result};
use crate::model::{EnvName, Environment, TestResult};

/// What [`Client::rotate`] should do.
///
/// ```
/// let opts = dbcreds::RotateOptions { length: Some(40), ..Default::default() };
/// assert!(!opts.resume);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RotateOptions {
    /// Length of the new password (16 to 128; default 32).
    pub length: Option<u32>,
    /// Characters to draw it from (default: letters, digits and `-_.~`).
    pub alphabet: Option<String>,
    /// Change the password through this environment's (admin) credentials.
    pub admin: Option<EnvName>,
    /// Finish or roll back an interrupted rotation instead of starting one.
    pub resume: bool,
    /// MySQL/MariaDB: change exactly the accounts `'user'@'HOST'` of these
    /// hosts. Empty: the account the environment logs in to and every other
    /// account of the user name with the same password.
    pub hosts: Vec<String>,
}

/// What a rotation did.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Rotation {
    /// The environment afterwards.
    pub environment: Environment,
    /// `rotated`, `finished`, `rolled_back`, `restored_previous` or
    /// `nothing_to_resume`.
    pub outcome: String,
    /// The outcome in words.
    pub detail: String,
    /// MySQL/MariaDB: the accounts whose password was set, `'user'@'host'`.
    pub accounts: Vec<String>,
    /// What the user should know beside the outcome (accounts left alone,
    /// or not looked up), one sentence each.
    pub notes: Vec<String>,
}

impl Client {
    /// Has the agent connect to the environment's database with the stored
    /// credentials; returns the server version and latency. A failure is an
    /// [`Error::Agent`] whose reason is `Unreachable`, `LoginFailed`,
    /// `TlsFailed`, `Unsupported` or `DatabaseError`.
    ///
    /// ```no_run
    /// # async fn demo() -> dbcreds::Result<()> {
    /// let mut client = dbcreds::Client::connect().await?;
    /// let r = client.test(&"prod".parse()?).await?;
    /// println!("{} in {} ms", r.detail, r.latency_ms);
    /// # Ok(()) }
    /// ```
    pub async fn test(&mut self, name: &EnvName) -> Result<TestResult> {
        let r = self
            .inner
            .test(v1::TestRequest {
                name: name.to_string(),
            })
            .await?
            .into_inner();
        let t = r
            .result
            .ok_or_else(|| Error::Protocol("reply without a result".into()))?;
        test_result(t).ok_or_else(|| Error::Protocol("test result without a time".into()))
    }

    /// Rotates the environment's password (see [`RotateOptions`]). The new
    /// password is not in the reply: [`Client::get`] it.
    ///
    /// ```no_run
    /// # async fn demo() -> dbcreds::Result<()> {
    /// let mut client = dbcreds::Client::connect().await?;
    /// let r = client.rotate(&"prod".parse()?, &Default::default()).await?;
    /// assert_eq!(r.outcome, "rotated");
    /// # Ok(()) }
    /// ```
    pub async fn rotate(&mut self, name: &EnvName, opts: &RotateOptions) -> Result<Rotation> {
        let r: v1::RotateResponse = self
            .approved(super::rpc::ROTATE, |approval| v1::RotateRequest {
                name: name.to_string(),
                length: opts.length.unwrap_or(0),
                alphabet: opts.alphabet.clone().unwrap_or_default(),
                admin: opts.admin.as_ref().map(ToString::to_string),
                resume: opts.resume,
                hosts: opts.hosts.clone(),
                approval: Some(approval),
            })
            .await?;
        Ok(Rotation {
            environment: environment(r.environment)?,
            outcome: r.outcome,
            detail: r.detail,
            accounts: r.accounts,
            notes: r.notes,
        })
    }
}
