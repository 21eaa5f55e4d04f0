//! The `pass` store, through the `pass` program (so gpg-agent and the
//! user's pass configuration apply: `PASSWORD_STORE_DIR` and `GNUPGHOME`
//! come from the agent's environment).

use secrecy::SecretString;
use tokio::process::Command;

use crate::process::{self, RunError};
use crate::{Fetched, SourceError};

pub(crate) async fn fetch(name: &str, env: &[(String, String)]) -> Result<Fetched, SourceError> {
    let fail = |detail: String| SourceError::Pass {
        entry: name.to_owned(),
        detail,
    };
    let mut cmd = Command::new("pass");
    // `--` so an entry name starting with `-` is not taken for an option.
    cmd.arg("show")
        .arg("--")
        .arg(name)
        .envs(env.iter().map(|(k, v)| (k, v)));
    let out = process::run(cmd, process::RUN_TIMEOUT)
        .await
        .map_err(|e| fail(run_error(e)))?;
    if !out.status.success() {
        let line = process::stderr_line(&out.stderr);
        return Err(fail(if line.is_empty() {
            process::status_text(out.status)
        } else {
            line
        }));
    }
    let text =
        std::str::from_utf8(&out.stdout).map_err(|_| fail("the entry is not UTF-8 text".into()))?;
    if let Some(fetched) = from_json(text, name)? {
        return Ok(fetched);
    }
    let line = text.lines().next().unwrap_or("");
    if line.is_empty() {
        return Err(SourceError::NoPassword {
            what: format!("pass entry {name}"),
        });
    }
    Ok(Fetched {
        password: SecretString::from(line.to_owned()),
        fields: Default::default(),
        lease: None,
        valid_for: None,
        version: None,
    })
}

/// The entry read as seed 001's JSON shape, when the whole of it is a JSON
/// object; `None` when it is not JSON (then its first line is the password).
fn from_json(text: &str, name: &str) -> Result<Option<Fetched>, SourceError> {
    let trimmed = text.trim();
    if !trimmed.starts_with('{') {
        return Ok(None);
    }
    let Ok(mut value) = serde_json::from_str::<serde_json::Value>(trimmed) else {
        return Ok(None);
    };
    let result = match &value {
        serde_json::Value::Object(obj) => {
            crate::fields::from_json_object(obj, &format!("pass entry {name}"))
        }
        _ => return Ok(None),
    };
    crate::fields::zeroize_json(&mut value);
    let (password, fields) = result?;
    Ok(Some(Fetched {
        password,
        fields,
        lease: None,
        valid_for: None,
        version: None,
    }))
}

fn run_error(e: RunError) -> String {
    match e {
        RunError::Spawn(e) if e.kind() == std::io::ErrorKind::NotFound => {
            "the pass program is not installed: apt install pass (or set PATH for the agent)".into()
        }
        RunError::Spawn(e) => format!("could not run pass: {e}"),
        RunError::Timeout(t) => format!(
            "pass did not finish within {} s (is gpg waiting for a passphrase? unlock the key with gpg-agent first)",
            t.as_secs()
        ),
        RunError::Io(e) => format!("reading what pass printed: {e}"),
    }
}
