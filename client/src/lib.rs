//! # dbcreds
//!
//! Database credentials for named environments (`dev`, `staging`, `prod`),
//! served by the per-user `dbcreds-agent` over a local socket.
//!
//! ```no_run
//! # async fn demo() -> dbcreds::Result<()> {
//! use secrecy::ExposeSecret;
//! let cred = dbcreds::get("prod").await?;          // DBCREDS_PROD_* first, then the agent
//! let url = cred.uri();                            // postgresql://app:...@db:5432/app
//! # let _ = url.expose_secret();
//! # Ok(()) }
//! ```
//!
//! Programs without an async runtime use [`blocking::get`]. The model
//! ([`EnvName`], [`DatabaseKind`], [`Environment`], [`Credential`]) and the
//! renderers in [`render`] are what the agent and the `dbcreds` CLI use too.

#![warn(missing_docs)]

pub mod autostart;
pub mod blocking;
mod client;
pub mod config;
mod convert;
#[cfg(target_os = "linux")]
pub mod direct;
pub mod edit;
pub mod envvars;
pub mod error;
pub mod legacy;
pub mod model;
pub mod paths;
pub mod policy;
pub mod render;
pub mod tls;
pub mod transport;
pub mod unlocker;

pub use client::audit::{AuditEvent, AuditPage, AuditQuery, Change, ChangeKind, Decision, Watch};
pub use client::db::{RotateOptions, Rotation};
pub use client::env::{CheckEntry, Purpose};
pub use client::policy::Policies;
pub use client::safety::{BackupWritten, PassphraseAction, Rekeyed, Restored};
pub use client::sources::SourceInfo;
pub use client::vault::{Diagnosis, Initialized, LockState, Status};
pub use client::{Client, get, is_locked};
pub use dbcreds_proto as proto;
pub use error::{Error, InvalidInput, Reason, Result};
pub use model::{
    Auth, CachedCredential, Credential, DatabaseKind, EnvName, Environment, Expiry, SecretSource,
    SourceRefKind, TestResult,
};
pub use secrecy;
pub use unlocker::{InitUnlocker, Unlocker};
