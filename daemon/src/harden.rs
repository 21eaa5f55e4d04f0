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

/// A detached agent keeps none of its starter's descriptors above stderr,
/// as ssh-agent and daemon(7) do: a shell or CI runner waiting for its
/// pipes to close must not wait for the agent too. Descriptors systemd
/// passes (`LISTEN_FDS`) are kept.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
pub fn close_inherited_fds() {
    let passed = std::env::var("LISTEN_PID")
        .ok()
        .and_then(|p| p.parse::<u32>().ok())
        .filter(|p| *p == std::process::id())
        .and_then(|_| std::env::var("LISTEN_FDS").ok()?.parse::<i32>().ok())
        .unwrap_or(0);
    let Ok(dir) = std::fs::read_dir("/proc/self/fd") else {
        return;
    };
    let fds: Vec<i32> = dir
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .filter(|fd| *fd > 2 && !(3..3 + passed).contains(fd))
        .collect();
    for fd in fds {
        // SAFETY: called first thing in `main`, on the only thread, before
        // anything in this process opened a descriptor of its own (the
        // directory listing's is closed by now; closing it again fails
        // harmlessly with EBADF). Nothing holds these descriptors.
        unsafe { libc::close(fd) };
    }
}

#[cfg(not(target_os = "linux"))]
pub fn close_inherited_fds() {}
