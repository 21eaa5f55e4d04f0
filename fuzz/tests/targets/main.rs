//! Fuzz targets for the decoders of outside input in `dbcreds` and
//! `dbcreds-proto`, each a `#[test]` with a time budget
//! (`DBCREDS_FUZZ_SECS`, see the `dbcreds_fuzz` crate docs):
//!
//! - [`proto`]: every request message decoded from bytes and taken into
//!   the model the way the agent's service does (names, environments,
//!   patches, the edit rules), and the replies the client decodes;
//! - [`config`]: the config file, its `DBCREDS_*` overrides, and the
//!   duration, days and option values they hold;
//! - [`model`]: environment names, TLS options, patches, and the renderers
//!   (no panic on any environment; URI and pgpass text parse back).
//!
//! The CLI's import parsers have their targets in the CLI crate
//! (`cli/src/import/fuzz.rs`), since it is binary-only.

mod config;
mod model;
mod proto;
