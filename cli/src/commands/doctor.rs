//! `dbcreds doctor`: checks the setup and explains, in plain words, what is
//! wrong and how to fix it. The agent checks what only it can see (vault
//! integrity, the keyring); everything else is checked from here. Never
//! starts an agent: a doctor must not change what it examines.

use std::path::Path;

use dbcreds::proto::PROTOCOL;
use dbcreds::{Client, Error};
use serde::Serialize;

use crate::exit::{self, Failure};
use crate::output::{self, Paint};

#[derive(Serialize)]
struct Finding {
    check: String,
    ok: bool,
    detail: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    fix: String,
}

impl Finding {
    fn good(check: &str, detail: impl Into<String>) -> Self {
        Self {
            check: check.into(),
            ok: true,
            detail: detail.into(),
            fix: String::new(),
        }
    }

    fn bad(check: &str, detail: impl Into<String>, fix: impl Into<String>) -> Self {
        Self {
            check: check.into(),
            ok: false,
            detail: detail.into(),
            fix: fix.into(),
        }
    }
}

pub async fn run(json: bool) -> Result<(), Failure> {
    let mut findings = vec![config()];
    let socket = dbcreds::paths::socket();
    findings.push(socket_dir(&socket));
    findings.extend(agent(&socket).await);
    findings.push(units());
    if json {
        output::json(&findings)?;
    } else {
        let color = output::color_stdout();
        let mut text = String::new();
        for f in &findings {
            let (mark, paint) = if f.ok {
                ("ok ", Paint::Green)
            } else {
                ("BAD", Paint::Red)
            };
            text.push_str(&format!(
                "{} {:<9} {}\n",
                paint.apply(mark, color),
                f.check,
                f.detail
            ));
            if !f.fix.is_empty() {
                text.push_str(&format!("    {:<9} fix: {}\n", "", f.fix));
            }
        }
        output::stdout(&text)?;
    }
    let bad = findings.iter().filter(|f| !f.ok).count();
    if bad == 0 {
        Ok(())
    } else {
        Err(Failure::new(
            exit::OTHER,
            format!(
                "{bad} problem{} found: see the fixes above",
                if bad == 1 { "" } else { "s" }
            ),
        ))
    }
}

fn config() -> Finding {
    let path = dbcreds::config::path();
    match dbcreds::config::Config::load() {
        Ok(_) if path.exists() => Finding::good("config", format!("{} is valid", path.display())),
        Ok(_) => Finding::good("config", format!("no {} (defaults apply)", path.display())),
        Err(e) => Finding::bad(
            "config",
            e.to_string(),
            "correct the file or the variable; every key is listed in the README",
        ),
    }
}

#[cfg(unix)]
fn socket_dir(socket: &Path) -> Finding {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let Some(dir) = socket.parent() else {
        return Finding::good("socket", format!("{}", socket.display()));
    };
    let meta = match std::fs::symlink_metadata(dir) {
        Ok(m) => m,
        Err(_) => {
            return Finding::good(
                "socket",
                format!(
                    "{} does not exist yet (the agent creates it 0700)",
                    dir.display()
                ),
            );
        }
    };
    let me = rustix::process::geteuid().as_raw();
    let mode = meta.permissions().mode() & 0o777;
    if meta.uid() != me {
        return Finding::bad(
            "socket",
            format!(
                "{} belongs to uid {}, not to you (uid {me})",
                dir.display(),
                meta.uid()
            ),
            "remove it (as its owner or root) or set DBCREDS_SOCK to a path in a directory of yours",
        );
    }
    if mode & 0o077 != 0 {
        return Finding::bad(
            "socket",
            format!(
                "{} has mode {mode:03o}: other users can reach the socket's directory",
                dir.display()
            ),
            format!("chmod 700 {}", dir.display()),
        );
    }
    if let Ok(sm) = std::fs::symlink_metadata(socket) {
        let smode = sm.permissions().mode() & 0o777;
        if smode & 0o077 != 0 {
            return Finding::bad(
                "socket",
                format!("{} has mode {smode:03o}", socket.display()),
                format!(
                    "chmod 600 {} (the agent refuses other users anyway)",
                    socket.display()
                ),
            );
        }
    }
    Finding::good(
        "socket",
        format!("{} is private (directory {mode:03o})", dir.display()),
    )
}

#[cfg(not(unix))]
fn socket_dir(socket: &Path) -> Finding {
    Finding::good("socket", format!("{}", socket.display()))
}

async fn agent(socket: &Path) -> Vec<Finding> {
    let mut client = match Client::connect_to(socket).await {
        Ok(c) => c,
        Err(Error::AgentUnreachable { .. }) => {
            return vec![Finding::good(
                "agent",
                format!(
                    "not running at {} (the next command starts one; agent and vault checks skipped)",
                    socket.display()
                ),
            )];
        }
        Err(e) => {
            return vec![Finding::bad(
                "agent",
                e.to_string(),
                "`dbcreds agent restart`",
            )];
        }
    };
    let st = match client.status().await {
        Ok(s) => s,
        Err(e) => {
            return vec![Finding::bad(
                "agent",
                e.to_string(),
                "`dbcreds agent restart`",
            )];
        }
    };
    if st.protocol != PROTOCOL {
        return vec![Finding::bad(
            "agent",
            format!(
                "pid {} runs version {} speaking protocol {}; this dbcreds speaks protocol {PROTOCOL}",
                st.pid, st.agent_version, st.protocol
            ),
            "`dbcreds agent restart` (any other dbcreds command also replaces it)",
        )];
    }
    let mut out = vec![Finding::good(
        "agent",
        format!(
            "pid {}, version {}, protocol {}",
            st.pid, st.agent_version, st.protocol
        ),
    )];
    match client.diagnose().await {
        Ok(checks) => out.extend(checks.into_iter().map(|c| Finding {
            check: c.name,
            ok: c.ok,
            detail: c.detail,
            fix: c.fix,
        })),
        Err(e) => out.push(Finding::bad(
            "agent",
            e.to_string(),
            "`dbcreds agent restart`",
        )),
    }
    out
}

fn units() -> Finding {
    if cfg!(target_os = "linux") {
        let dir = std::env::var_os("XDG_CONFIG_HOME")
            .map(std::path::PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".config")))
            .unwrap_or_default()
            .join("systemd/user");
        let socket = dir.join("dbcreds-agent.socket");
        if socket.exists() {
            Finding::good("units", format!("{} is installed", socket.display()))
        } else {
            // Not a problem: the CLI starts the agent on demand.
            Finding::good(
                "units",
                "no systemd user units (the CLI starts the agent on demand; to start it at login see README: Starting the agent at login)",
            )
        }
    } else {
        Finding::good("units", "see README: Starting the agent at login")
    }
}
