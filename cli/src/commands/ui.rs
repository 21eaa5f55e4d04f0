//! `dbcreds ui`: runs `dbcreds-ui`, the web page, in place of this process
//! (its output, signals and exit code are its own). The web server lives
//! in its own binary so this one links no HTTP server and no templates.

use std::path::PathBuf;

use crate::args::UiArgs;
use crate::exit::{self, Failure};

/// `$DBCREDS_UI_BIN`, else `dbcreds-ui` beside this executable, else
/// `dbcreds-ui` on PATH (as the agent binary is found).
fn ui_binary() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("DBCREDS_UI_BIN").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let name = format!("dbcreds-ui{}", std::env::consts::EXE_SUFFIX);
    let beside = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|d| d.join(&name)))
        .filter(|p| p.is_file());
    beside.or_else(|| {
        std::env::split_paths(&std::env::var_os("PATH")?)
            .map(|d| d.join(&name))
            .find(|p| p.is_file())
    })
}

pub fn run(a: UiArgs) -> Result<(), Failure> {
    let Some(bin) = ui_binary() else {
        return Err(Failure::new(
            exit::OTHER,
            "dbcreds-ui is not installed beside dbcreds or on PATH: install it with the dbcreds package \
             (or `cargo install --path ui`), or point DBCREDS_UI_BIN at it",
        ));
    };
    let mut cmd = std::process::Command::new(&bin);
    if a.no_open {
        cmd.arg("--no-open");
    }
    if let Some(d) = a.idle_timeout {
        cmd.arg("--idle-timeout")
            .arg(humantime::format_duration(d).to_string());
    }
    exec(cmd, &bin)
}

#[cfg(unix)]
fn exec(mut cmd: std::process::Command, bin: &std::path::Path) -> Result<(), Failure> {
    use std::os::unix::process::CommandExt;
    // Returns only on failure.
    let e = cmd.exec();
    Err(Failure::new(
        exit::OTHER,
        format!("cannot run {}: {e}", bin.display()),
    ))
}

#[cfg(not(unix))]
fn exec(mut cmd: std::process::Command, bin: &std::path::Path) -> Result<(), Failure> {
    let status = cmd
        .status()
        .map_err(|e| Failure::new(exit::OTHER, format!("cannot run {}: {e}", bin.display())))?;
    std::process::exit(status.code().unwrap_or(1));
}
