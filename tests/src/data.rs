//! Test data: passwords that cannot occur by chance, environments as
//! `export --format json` writes them, and searching files for secrets.

use std::fs;
use std::path::{Path, PathBuf};

/// The passphrase of [`crate::Sandbox::with_passphrase_vault`] and
/// [`crate::Sandbox::with_passphrase_file_agent`].
pub const PASSPHRASE: &str = "correct horse battery staple";

/// The prefix of every [`unique_password`].
pub const PASSWORD_PREFIX: &str = "p@ss:w/rd?#%-";

/// A password that cannot appear anywhere by chance: URI-special characters
/// (`p@ss:w/rd?#%`) followed by a random 32-hex-digit token, so tests can
/// also search files for it.
pub fn unique_password() -> String {
    format!("{PASSWORD_PREFIX}{}", token())
}

/// The random tail of a [`unique_password`]: unique, and it survives any
/// quoting or encoding.
pub fn password_tail(password: &str) -> &str {
    password
        .strip_prefix(PASSWORD_PREFIX)
        .expect("a unique_password()")
}

/// A [`unique_password`] with the characters `.pgpass`, URIs and shells
/// treat specially (`:` `\` `@` `/` `?` `#` `%` `$` space).
pub fn awkward_password() -> String {
    format!("{} \\$x", unique_password())
}

/// 32 random hex digits (std's randomly keyed hasher, no extra crate).
pub fn token() -> String {
    use std::collections::hash_map::RandomState;
    use std::hash::{BuildHasher, Hasher};
    let mut s = String::new();
    for i in 0..2u8 {
        let mut h = RandomState::new().build_hasher();
        h.write_u8(i);
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0),
        );
        s.push_str(&format!("{:016x}", h.finish()));
    }
    s
}

/// An environment as `export --format json` writes it (PostgreSQL on
/// `db.internal`, database and user `app`, password `pw-<name>`), its
/// password set `age_days` ago.
pub fn exported_env(name: &str, age_days: i64, expires_days: Option<u32>) -> serde_json::Value {
    let set = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs() as i64
        - age_days * 86_400;
    serde_json::json!({
        "name": name, "kind": "postgres", "host": "db.internal", "port": 5432,
        "database": "app", "username": "app", "password": format!("pw-{name}"),
        "expires_days": expires_days, "password_updated_at": set,
    })
}

/// Every regular file under `dir`, recursively (sockets and the like left
/// out).
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let Ok(ft) = e.file_type() else { continue };
            if ft.is_dir() {
                stack.push(e.path());
            } else if ft.is_file() {
                out.push(e.path());
            }
        }
    }
    out.sort();
    out
}

/// True when `needle` occurs in `haystack`.
pub fn contains_bytes(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// The bytes of a file, or empty when it does not exist.
pub fn read_or_empty(path: &Path) -> Vec<u8> {
    fs::read(path).unwrap_or_default()
}

/// Asserts that no file under `dir` holds any of `secrets`; returns the
/// files searched.
#[track_caller]
pub fn assert_no_file_holds(dir: &Path, secrets: &[&str]) -> Vec<PathBuf> {
    let files = files_under(dir);
    for f in &files {
        let bytes = read_or_empty(f);
        for secret in secrets {
            assert!(
                !contains_bytes(&bytes, secret.as_bytes()),
                "{} contains a secret ({secret:?})",
                f.display()
            );
        }
    }
    files
}
