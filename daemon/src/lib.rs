//! dbcreds-agent: the per-user agent that holds the unlocked vault and
//! serves the `dbcreds.v1.Agent` API over a local socket.
//!
//! `main` parses flags and calls [`run`]; tests call [`server::serve`] with
//! a listener of their own.

pub mod activation;
pub mod audit;
pub mod dbops;
pub mod error;
pub mod events;
pub mod fsutil;
pub mod harden;
pub mod keyring;
pub mod memory;
pub mod run;
pub mod server;
pub mod service;
pub mod state;
pub mod timers;
pub mod vault;

pub use run::{Options, run};
