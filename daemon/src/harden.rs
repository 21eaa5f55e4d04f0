//! Process hardening at start-up: no core dumps and no ptrace attach by
//! other processes of the same user (Linux `PR_SET_DUMPABLE 0` also makes
//! /proc/<pid>/mem unreadable to them), and a private umask so the vault,
//! its WAL and the log are created 0600. Also the file-descriptor limit
//! goes up to the hard limit, so the connection cap
//! (`crate::transport::MAX_CONNECTIONS`), not `EMFILE`, is what a flood of
//! connections meets first.

pub fn apply() {
    #[cfg(unix)]
    {
        use rustix::process::{Resource, Rlimit, setrlimit};
        let _ = setrlimit(
            Resource::Core,
            Rlimit {
                current: Some(0),
                maximum: Some(0),
            },
        );
        rustix::process::umask(rustix::fs::Mode::from_bits_truncate(0o077));
        raise_nofile();
    }
    #[cfg(target_os = "linux")]
    if let Err(e) =
        rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable)
    {
        tracing::warn!(error = %e, "could not make the agent non-dumpable");
    }
}

#[cfg(unix)]
fn raise_nofile() {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    if limit.current.is_some() && limit.current != limit.maximum {
        let raised = Rlimit {
            current: limit.maximum,
            maximum: limit.maximum,
        };
        if let Err(e) = setrlimit(Resource::Nofile, raised) {
            tracing::warn!(error = %e, "could not raise the open-file limit");
        }
    }
}
