//! Where the Python dbcreds (2.x) kept its secrets: one OS keyring entry
//! per environment. The agent reads those entries for `dbcreds import
//! --from python` (the CLI links no keyring code) and the CLI's importer
//! names them in its messages, so the naming lives here, once.

use crate::model::EnvName;

/// The keyring service the Python tool wrote under.
pub const KEYRING_SERVICE: &str = "dbcreds";

/// The keyring user of environment `name`: `dbcreds:<name>`. No valid
/// environment name can spell the agent's own entry (`vault:<id>`).
///
/// ```
/// let name = "prod".parse().unwrap();
/// assert_eq!(dbcreds::legacy::keyring_user(&name), "dbcreds:prod");
/// ```
pub fn keyring_user(name: &EnvName) -> String {
    format!("dbcreds:{name}")
}
