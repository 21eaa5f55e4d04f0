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
pub mod edit;
mod convert;
pub mod envvars;
pub mod error;
pub mod legacy;
pub mod model;
mod ops;
pub mod paths;
pub mod render;
pub mod tls;
pub mod transport;
pub mod unlocker;

pub use client::{CheckEntry, Client, Status, get, is_locked};
pub use dbcreds_proto as proto;
pub use error::{Error, InvalidInput, Reason, Result};
pub use model::{Credential, DatabaseKind, EnvName, Environment, Expiry, TestResult};
pub use ops::{AuditEvent, AuditQuery, Change, ChangeKind, RotateOptions, Rotation, Watch};
pub use secrecy;
pub use unlocker::Unlocker;
