//! The binaries under test, the support files beside this crate, and the
//! `PATH` children get.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// Path of a workspace binary (`dbcreds`, `dbcreds-agent`):
/// `$DBCREDS_TEST_BIN_DIR/<name>` if that variable is set, else the directory
/// two levels above the running test executable (`target/debug/deps/..` is
/// `target/debug`). Panics if the binary is not there.
pub fn bin(name: &str) -> PathBuf {
    let dir = match std::env::var_os("DBCREDS_TEST_BIN_DIR").filter(|d| !d.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => {
            let exe = std::env::current_exe().expect("current_exe");
            exe.parent()
                .and_then(Path::parent)
                .expect("the test executable lives in target/<profile>/deps")
                .to_path_buf()
        }
    };
    let path = dir.join(name);
    assert!(
        path.is_file(),
        "binary {name} not found at {}: build them with `cargo build --workspace` \
         (or set DBCREDS_TEST_BIN_DIR)",
        path.display()
    );
    path
}

/// A path under `target/<profile>/examples/` (built by `cargo test`).
pub fn example(name: &str) -> PathBuf {
    let path = bin("dbcreds").with_file_name("examples").join(name);
    assert!(
        path.is_file(),
        "example {name} not found at {}: run the tests with `cargo test --workspace`",
        path.display()
    );
    path
}

/// A file in `tests/support/`.
pub fn support(name: &str) -> PathBuf {
    repo_path("tests/support").join(name)
}

/// A path relative to the repository root (`packaging/systemd`, `proto`).
pub fn repo_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(relative)
}

/// The test's `PATH` (or a standard one), for children with a clean
/// environment.
pub fn path_var() -> OsString {
    std::env::var_os("PATH")
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into())
}
