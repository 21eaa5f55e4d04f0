//! The agent is hard to extract secrets from: after `lock`, a core image of
//! the running agent holds no password bytes (while a control string does);
//! no log line at any level holds a secret; the process is not dumpable, so
//! even its own user cannot ptrace it or read its memory.

use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Command;

use dbcreds_tests::*;

/// Dumps the memory of `pid` with gdb's `gcore` (needs root: the agent is
/// non-dumpable) and returns the image's bytes.
fn core_image(dir: &Path, pid: u32, tag: &str) -> Vec<u8> {
    let prefix = dir.join(format!("core-{tag}"));
    let out = Command::new("gcore")
        .arg("-o")
        .arg(&prefix)
        .arg(pid.to_string())
        .output()
        .expect("gcore (Debian package gdb)");
    let file = dir.join(format!("core-{tag}.{pid}"));
    assert!(
        file.exists(),
        "gcore wrote no image: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = std::fs::read(&file).expect("read core image");
    let _ = std::fs::remove_file(&file);
    bytes
}

#[test]
fn a_core_image_after_lock_holds_no_password() {
    if !root_or_skip("a_core_image_after_lock_holds_no_password") {
        return;
    }
    let sb = Sandbox::new();
    let agent = sb.start_agent();
    sb.init_passphrase("correct horse battery");
    let pw = unique_password();
    // The host name stays in the agent's memory when locked (metadata is
    // not secret): the control that proves the search can find things.
    let control = format!("control-host-{}", token());
    sb.add_postgres("prod", &control, &pw);
    sb.assert_password("prod", &pw);
    sb.cli(&["get", "prod", "uri"]).ok();

    let unlocked = core_image(sb.root(), agent.pid(), "unlocked");
    assert!(
        contains_bytes(&unlocked, control.as_bytes()),
        "control string not found: the search is broken"
    );
    assert!(
        contains_bytes(&unlocked, pw.as_bytes()),
        "an unlocked agent holds the password in memory; not finding it means the search is broken"
    );
    drop(unlocked);

    sb.cli(&["lock"]).ok();
    let locked = core_image(sb.root(), agent.pid(), "locked");
    assert!(
        contains_bytes(&locked, control.as_bytes()),
        "control string not found after lock"
    );
    assert!(
        !contains_bytes(&locked, pw.as_bytes()),
        "the password survived `lock` in the agent's memory"
    );
    let encoded = pw
        .replace('@', "%40")
        .replace(':', "%3A")
        .replace('/', "%2F");
    assert!(
        !contains_bytes(&locked, encoded.as_bytes()),
        "the URI-encoded password survived `lock`"
    );
    assert!(
        !contains_bytes(&locked, b"correct horse battery"),
        "the passphrase survived in the agent's memory"
    );
}

#[test]
fn no_secret_in_any_log_at_trace_level() {
    let sb = Sandbox::new().with_env("DBCREDS_LOG", "trace");
    let _agent = sb.start_agent();
    let passphrase = format!("passphrase-{}", token());
    sb.init_passphrase(&passphrase);
    let pw = sb.add_unique("prod");
    sb.assert_password("prod", &pw);
    for format in ["uri", "env", "json", "pgpass"] {
        sb.cli(&["export", "prod", "--format", format]).ok();
    }
    let pw2 = unique_password();
    sb.set_password("prod", &pw2);
    sb.cli(&["lock"]).ok();
    sb.unlock_passphrase(&passphrase);
    sb.assert_password("prod", &pw2);

    let logs = sb.logs();
    assert!(logs.contains("TRACE"), "trace logging was not on:\n{logs}");
    assert!(
        logs.contains("vault unlocked"),
        "control line missing from the log"
    );
    for secret in [&pw, &pw2, &passphrase] {
        assert!(!logs.contains(secret.as_str()), "a secret reached the log");
    }
}

#[test]
fn the_agent_is_not_dumpable_even_for_its_own_user() {
    if !root_or_skip("the_agent_is_not_dumpable_even_for_its_own_user") {
        return;
    }
    // Run the agent as `nobody`, then try to attach to it as `nobody`: only
    // PR_SET_DUMPABLE 0 stands in the way (same uid otherwise may ptrace).
    let dir = tempfile::Builder::new()
        .prefix("dbcreds-nd-")
        .tempdir()
        .unwrap();
    let root = dir.path();
    std::fs::set_permissions(root, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let bin_dir = root.join("bin");
    std::fs::create_dir(&bin_dir).unwrap();
    std::fs::copy(bin("dbcreds-agent"), bin_dir.join("dbcreds-agent")).unwrap();
    let home = root.join("home");
    std::fs::create_dir(&home).unwrap();
    let status = Command::new("chown")
        .arg("-R")
        .arg("nobody")
        .arg(&home)
        .status()
        .unwrap();
    assert!(status.success());
    let mut agent = Command::new("runuser")
        .args(["-u", "nobody", "--"])
        .arg("env")
        .arg(format!("DBCREDS_HOME={}", home.display()))
        .arg("DBUS_SESSION_BUS_ADDRESS=unix:path=/nonexistent")
        .arg(bin_dir.join("dbcreds-agent"))
        .arg("--ready-line")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = agent.stdout.take().expect("piped stdout");
    assert_eq!(
        first_line(stdout, READY_TIMEOUT),
        Ok(Some("ready".to_owned()))
    );
    // runuser forks: find the agent (the child whose exe is ours).
    let pid = std::fs::read_to_string(home.join("agent.lock"))
        .unwrap()
        .trim()
        .parse::<u32>()
        .unwrap();

    // Non-dumpable processes have their /proc files owned by root.
    let meta = std::fs::metadata(format!("/proc/{pid}/mem")).unwrap();
    assert_eq!(
        meta.uid(),
        0,
        "/proc/{pid}/mem should belong to root for a non-dumpable process"
    );

    let attach = Command::new("runuser")
        .args(["-u", "nobody", "--", "gdb", "-batch", "-nx", "-p"])
        .arg(pid.to_string())
        .arg("-ex")
        .arg("info registers rip")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&attach.stdout).to_string()
        + &String::from_utf8_lossy(&attach.stderr);
    assert!(
        text.contains("Operation not permitted") || text.contains("ptrace"),
        "gdb attached to a non-dumpable agent as its own user:\n{text}"
    );
    assert!(
        !text.contains("rip "),
        "gdb read the agent's registers:\n{text}"
    );
    terminate(pid);
    let _ = agent.wait();
}
