//! Password commands: any program that prints a password. The command
//! line and what it prints are never logged (the line may carry a token).

use std::time::Duration;

use secrecy::SecretString;
use tokio::process::Command;

use crate::process::{self, RunError};
use crate::{Fetched, SourceError};

pub(crate) async fn run(
    command: &str,
    cache_for: Duration,
    env: &[(String, String)],
) -> Result<Fetched, SourceError> {
    run_bounded(command, cache_for, env, process::RUN_TIMEOUT).await
}

async fn run_bounded(
    command: &str,
    cache_for: Duration,
    env: &[(String, String)],
    timeout: Duration,
) -> Result<Fetched, SourceError> {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(command)
        .envs(env.iter().map(|(k, v)| (k, v)));
    let out = process::run(cmd, timeout).await.map_err(run_error)?;
    if !out.status.success() {
        return Err(SourceError::CommandFailed {
            status: process::status_text(out.status),
            detail: process::stderr_line(&out.stderr),
        });
    }
    let line = process::first_line(&out.stdout);
    if line.is_empty() {
        return Err(SourceError::CommandEmpty);
    }
    let password = std::str::from_utf8(line).map_err(|_| SourceError::CommandFailed {
        status: process::status_text(out.status),
        detail: "its output is not UTF-8 text".into(),
    })?;
    Ok(Fetched {
        password: SecretString::from(password.to_owned()),
        fields: Default::default(),
        lease: None,
        valid_for: Some(cache_for),
        version: None,
    })
}

fn run_error(e: RunError) -> SourceError {
    match e {
        RunError::Spawn(e) => SourceError::CommandFailed {
            status: "not started".into(),
            detail: format!("sh: {e}"),
        },
        RunError::Timeout(t) => SourceError::CommandFailed {
            status: format!("killed after {} s", t.as_secs()),
            detail: "it did not finish in time (waiting for input?)".into(),
        },
        RunError::Io(e) => SourceError::CommandFailed {
            status: "unknown".into(),
            detail: format!("reading its output: {e}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use secrecy::ExposeSecret;

    use super::*;

    const TEN_MIN: Duration = Duration::from_secs(600);

    #[tokio::test]
    async fn first_line_is_the_password() {
        let f = run("printf 'pw-1\\r\\nsecond line\\n'", TEN_MIN, &[])
            .await
            .unwrap();
        assert_eq!(f.password.expose_secret(), "pw-1");
        assert_eq!(f.valid_for, Some(TEN_MIN));
        assert!(f.lease.is_none() && f.fields.is_empty());
    }

    #[tokio::test]
    async fn non_zero_exit_shows_stderr_first_line() {
        let e = run(
            "echo 'vault: token expired' >&2; echo more >&2; exit 3",
            TEN_MIN,
            &[],
        )
        .await
        .unwrap_err();
        match e {
            SourceError::CommandFailed { status, detail } => {
                assert!(status.contains('3'), "{status}");
                assert_eq!(detail, "vault: token expired");
            }
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn empty_output_is_command_empty() {
        assert!(matches!(
            run("true", TEN_MIN, &[]).await,
            Err(SourceError::CommandEmpty)
        ));
        assert!(matches!(
            run("echo", TEN_MIN, &[]).await,
            Err(SourceError::CommandEmpty)
        ));
    }

    #[tokio::test]
    async fn env_is_added() {
        let env = [("DBCREDS_TEST_PW".to_owned(), "from-env".to_owned())];
        let f = run("echo \"$DBCREDS_TEST_PW\"", TEN_MIN, &env)
            .await
            .unwrap();
        assert_eq!(f.password.expose_secret(), "from-env");
    }

    #[tokio::test]
    async fn stdin_is_closed() {
        // `read` gets EOF at once instead of waiting for a terminal.
        let f = run("read x; echo \"got:$x\"", TEN_MIN, &[]).await.unwrap();
        assert_eq!(f.password.expose_secret(), "got:");
    }

    #[tokio::test]
    async fn a_hanging_command_is_killed() {
        let t = Instant::now();
        let e = run_bounded(
            "sleep 30 & sleep 30; echo late",
            TEN_MIN,
            &[],
            Duration::from_millis(300),
        )
        .await
        .unwrap_err();
        assert!(matches!(e, SourceError::CommandFailed { .. }), "{e:?}");
        assert!(t.elapsed() < Duration::from_secs(5));
    }
}
