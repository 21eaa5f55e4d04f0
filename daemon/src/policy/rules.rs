//! The rules of a policy that need no person: which program receives a
//! secret and whether the allow list names it, what a new policy looks
//! like once its paths are resolved, and whether a change loosens one.

use std::path::Path;

use dbcreds::policy::{Confirm, Policy};

use super::caller::Caller;
use crate::error::AgentError;

/// The program that receives the secret: for `dbcreds exec` (a `child`
/// named) the child, which only the dbcreds CLI may name; else the caller
/// itself. The child's path is the CLI's word, resolved again here.
pub fn receiver(caller: &Caller, child: &str) -> Result<String, AgentError> {
    if child.is_empty() {
        return caller.exe.clone().ok_or_else(|| {
            AgentError::NotAllowed(format!(
                "the agent cannot tell which program process {} runs, and the policy allows only some",
                caller.pid
            ))
        });
    }
    if !caller.is_dbcreds_cli() {
        return Err(AgentError::NotAllowed(format!(
            "only the dbcreds CLI may name the program that gets a secret (GetRequest.child_exe); {} (pid {}) did",
            caller.exe_words(),
            caller.pid
        )));
    }
    std::fs::canonicalize(child)
        .map(|p| p.display().to_string())
        .map_err(|e| AgentError::NotAllowed(format!("cannot resolve the program {child}: {e}")))
}

/// Refuses `receiver` unless `policy`'s allow list names it (an empty list
/// names every program).
pub fn check_allowed(
    env: &str,
    policy: &Policy,
    receiver: &str,
    pid: u32,
) -> Result<(), AgentError> {
    if policy.allow.is_empty() || policy.allow.iter().any(|a| a == Path::new(receiver)) {
        return Ok(());
    }
    let list: Vec<String> = policy
        .allow
        .iter()
        .map(|a| a.display().to_string())
        .collect();
    Err(AgentError::NotAllowed(format!(
        "'{env}' may be revealed only to {} (its policy's allow list), not to {receiver} (pid {pid}): \
         run an allowed program (`dbcreds exec {env} -- PROGRAM`), or add it with `dbcreds policy set {env} --allow PATH`",
        list.join(", ")
    )))
}

/// `policy` with every allowed path resolved by the agent (symbolic links
/// followed): the kernel reports a caller's executable that way, so a link
/// named like an allowed program is no way in. A path that does not exist
/// is refused.
pub fn resolve(mut policy: Policy) -> Result<Policy, AgentError> {
    let mut seen = Vec::with_capacity(policy.allow.len());
    for p in &policy.allow {
        let real = std::fs::canonicalize(p).map_err(|e| {
            AgentError::BadRequest(format!(
                "--allow {}: {e}: name an installed program (its path, or a name on PATH)",
                p.display()
            ))
        })?;
        if !real.is_file() {
            return Err(AgentError::BadRequest(format!(
                "--allow {}: not a file: name a program",
                p.display()
            )));
        }
        if !seen.contains(&real) {
            seen.push(real);
        }
    }
    policy.allow = seen;
    Ok(policy)
}

fn rank(c: Confirm) -> u8 {
    match c {
        Confirm::Never => 0,
        Confirm::OncePerSession => 1,
        Confirm::Always => 2,
    }
}

/// True when going from `old` to `new` lets something through that `old`
/// stopped: fewer confirmations or longer approvals, more programs, a
/// secret kept longer.
pub fn loosens(old: &Policy, new: &Policy) -> bool {
    let confirm = rank(new.confirm) < rank(old.confirm)
        || (old.confirm == Confirm::OncePerSession
            && new.confirm == Confirm::OncePerSession
            && new.approve_for > old.approve_for);
    let allow = !old.allow.is_empty()
        && (new.allow.is_empty() || new.allow.iter().any(|p| !old.allow.contains(p)));
    let kept = match (old.max_unlocked, new.max_unlocked) {
        (Some(_), None) => true,
        (Some(o), Some(n)) => n > o,
        _ => false,
    };
    confirm || allow || kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;
    use std::time::Duration;

    fn p(confirm: Confirm, allow: &[&str], max: Option<u64>) -> Policy {
        Policy {
            confirm,
            allow: allow.iter().map(PathBuf::from).collect(),
            max_unlocked: max.map(Duration::from_secs),
            ..Policy::default()
        }
    }

    #[test]
    fn loosening_is_anything_that_lets_more_through() {
        let strict = p(Confirm::Always, &["/a", "/b"], Some(60));
        assert!(!loosens(&strict, &strict));
        assert!(loosens(
            &strict,
            &p(Confirm::OncePerSession, &["/a", "/b"], Some(60))
        ));
        assert!(loosens(&strict, &p(Confirm::Always, &[], Some(60))));
        assert!(loosens(
            &strict,
            &p(Confirm::Always, &["/a", "/c"], Some(60))
        ));
        assert!(loosens(&strict, &p(Confirm::Always, &["/a", "/b"], None)));
        assert!(!loosens(&strict, &p(Confirm::Always, &["/a"], Some(30))));
        assert!(!loosens(&Policy::default(), &strict));
        let mut longer = p(Confirm::OncePerSession, &[], None);
        let short = longer.clone();
        longer.approve_for = Duration::from_secs(3600);
        assert!(loosens(&short, &longer));
    }

    #[test]
    fn an_empty_list_allows_all_and_a_list_only_its_paths() {
        let open = Policy::default();
        assert!(check_allowed("prod", &open, "/usr/bin/python3", 1).is_ok());
        let psql = p(Confirm::Never, &["/usr/bin/psql"], None);
        assert!(check_allowed("prod", &psql, "/usr/bin/psql", 1).is_ok());
        let err = check_allowed("prod", &psql, "/usr/bin/python3", 7).unwrap_err();
        let words = err.to_string();
        assert!(words.contains("/usr/bin/python3 (pid 7)"), "{words}");
        assert!(words.contains("only to /usr/bin/psql"), "{words}");
    }

    #[test]
    fn allowed_paths_are_resolved_and_must_exist() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("prog");
        std::fs::write(&real, "").unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let resolved = resolve(p(Confirm::Never, &[link.to_str().unwrap()], None)).unwrap();
        assert_eq!(resolved.allow, [std::fs::canonicalize(&real).unwrap()]);
        let missing = dir.path().join("missing");
        assert!(resolve(p(Confirm::Never, &[missing.to_str().unwrap()], None)).is_err());
    }
}
