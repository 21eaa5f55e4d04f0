//! dbcreds-agent: the per-user agent that holds the unlocked vault and
//! serves the `dbcreds.v1.Agent` API over a local socket.
//!
//! `main` parses flags and calls [`run`]; tests call [`server::serve`] with
//! connections of their own ([`transport::incoming`] of a socket they
//! bound, or in-memory streams). Everything else is private to the crate,
//! so the compiler reports what nothing uses.
//!
//! Modules, from the socket inwards: `transport` (bind, peer checks,
//! accept) → `server` (tonic) → `service` (gRPC ↔ model) → `state` (the
//! vault's state machine) and `dbops` (connection tests, rotation) →
//! `vault` (SQLite storage, crypto); `policy` (allow lists, confirmations,
//! per-environment forgetting) sits between the service and the state on
//! every path that reveals or changes what a policy protects; `audit` and
//! `events` are written by the service and dbops; `error` is the one error
//! type and its gRPC mapping.

// Takes ownership of the listening fd systemd passed (fd 3).
#[allow(unsafe_code)]
mod activation;
mod audit;
mod dbops;
mod direct;
mod error;
mod events;
pub mod fsutil;
pub mod harden;
mod keyring;
mod lockfile;
// The global allocator that wipes freed memory, and mlock.
#[allow(unsafe_code)]
pub mod memory;
mod policy;
pub mod run;
pub mod server;
mod service;
mod sources;
pub mod state;
mod testhooks;
mod timers;
pub mod transport;
mod vault;

pub use run::{Options, run};
