//! dbcreds end to end, in one test binary (linked once): a module per verb
//! or concern. Every test has a [`dbcreds_tests::Sandbox`] of its own (its
//! own `DBCREDS_HOME`, agent and keyring), so they run in parallel.
//!
//! One module's tests: `cargo test -p dbcreds-tests --test e2e core_flow::`.

/// `or_return!(setup)`: the value in `Some`, or the end of the test (`None`:
/// it was skipped, and said why).
macro_rules! or_return {
    ($setup:expr) => {
        match $setup {
            Some(value) => value,
            None => return,
        }
    };
}

mod agent_lifecycle;
mod audit;
mod auth_modes;
mod backup;
mod bad_input;
mod check;
mod config;
mod copy;
mod core_flow;
mod dbtest;
mod direct;
mod doctor;
mod exec;
mod export;
mod faults;
mod flood;
mod hardening;
mod harness;
mod idle_lock;
mod import;
mod inject;
mod lifecycle;
mod mask;
mod passphrase;
mod peers;
mod planted;
mod policy;
mod prompt;
mod python_client;
mod rekey;
mod restart;
mod rotate;
mod rotate_accounts;
mod run;
mod secrecy;
mod service_files;
mod sources;
mod third_party;
mod ui;
mod unlockers;
mod unresponsive;
