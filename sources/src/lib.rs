//! Where an environment's secret comes from when it is not typed into the
//! local vault. A *source* is named and configured once ([`SourceSpec`]) and
//! holds its own login; an environment points into it with a [`SecretRef`].
//! [`Session`] fetches what a reference names and manages what it leased.
//!
//! Only the agent links this crate: the CLI and applications see an
//! environment and a password, whatever the source.
//!
//! Adding a source kind (GCP Secret Manager, Azure Key Vault) is one more
//! module: a spec variant, a `SecretRef` variant, and a session arm that
//! turns a fetch into [`Fetched`].

mod aws;
mod command;
mod error;
mod fields;
mod pass;
mod process;
pub mod rds_iam;
mod session;
mod spec;
mod vault;

pub use error::SourceError;
pub use fields::{Fetched, Lease};
pub use session::{Health, Session, Target, fetch_local, fetch_local_with_env};
pub use spec::{AwsSpec, SecretRef, SourceKind, SourceSpec, VaultAuth, VaultSpec};

/// How long a source may take to answer before it counts as unreachable.
pub const DEFAULT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);
