//! The agent when the world around it fails: the disk holding the vault
//! fills up and frees again; the OS keyring hangs.

use std::fs;
use std::io::Write;
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use dbcreds_tests::*;

/// A sandbox whose `DBCREDS_HOME` is a small tmpfs of its own (mounted with
/// `mount`, so root only). Dropping it kills the sandbox's agents, then
/// unmounts.
struct TmpfsHome {
    sb: Sandbox,
}

impl TmpfsHome {
    /// Mounts a tmpfs of `size` (`mount -o size=...`), mode 0700, as the
    /// `DBCREDS_HOME` of a new sandbox.
    fn mount(size: &str) -> Self {
        let sb = Sandbox::new();
        fs::create_dir(sb.home()).expect("create DBCREDS_HOME");
        let home = sb.home().display().to_string();
        let options = format!("size={size},mode=0700");
        run_args("mount", &["-t", "tmpfs", "-o", &options, "tmpfs", &home]).ok();
        TmpfsHome { sb }
    }
}

impl Deref for TmpfsHome {
    type Target = Sandbox;
    fn deref(&self) -> &Sandbox {
        &self.sb
    }
}

impl Drop for TmpfsHome {
    fn drop(&mut self) {
        // Nothing may keep the mount busy; lazy in case something still does.
        self.sb.kill_all_processes();
        let _ = Command::new("umount")
            .arg("--lazy")
            .arg(self.sb.home())
            .status();
    }
}

/// Writes a file into `dir` until the file system says it is full
/// (ENOSPC); returns the file.
fn fill(dir: &Path) -> PathBuf {
    let path = dir.join("filler");
    let mut file = fs::File::create(&path).expect("create the filler");
    let chunk = vec![0x5a_u8; 4096];
    let mut written = 0_usize;
    loop {
        match file.write(&chunk) {
            Ok(0) => panic!("write returned 0 after {written} bytes"),
            Ok(n) => written += n,
            Err(e) if e.raw_os_error() == Some(rustix::io::Errno::NOSPC.raw_os_error()) => break,
            Err(e) => panic!("writing the filler after {written} bytes: {e}"),
        }
    }
    eprintln!("the filler took {written} bytes until ENOSPC");
    path
}

/// How many `get` events with outcome `ok` the audit log holds for `name`.
fn gets_in_audit(sb: &Sandbox, name: &str) -> usize {
    sb.audit_events(name)
        .iter()
        .filter(|e| e["operation"] == "get" && e["outcome"] == "ok")
        .count()
}

/// Issue 9.1: a full disk is an error that names itself, reads go on, and
/// once there is space again everything works (before the fix every later
/// write failed with "internal agent error" until the agent restarted).
/// Audit events the vault could not take meanwhile are written afterwards.
#[test]
fn a_full_disk_is_reported_and_writes_work_again_once_there_is_space() {
    if !root_or_skip("a_full_disk_is_reported_and_writes_work_again_once_there_is_space") {
        return;
    }
    let sb = TmpfsHome::mount("512k");
    // In the foreground: its log goes outside the tmpfs.
    let _agent = sb.start_agent();
    sb.init_passphrase(PASSPHRASE);
    let prod = sb.add_unique("prod");
    let stage = sb.add_unique("stage");
    sb.assert_password("prod", &prod);

    let filler = fill(&sb.home());
    let late = EnvSpec::postgres("late", "db.internal").password(&unique_password());
    let refused = sb.add(&late);
    refused.failed();
    eprintln!("add on a full disk: {:?}", refused.stderr.trim());
    assert!(
        refused.error_line().to_lowercase().contains("full"),
        "the error must say the disk is full:\n{refused}\n{}",
        sb.logs()
    );
    // Reads go on; their audit events cannot be written yet (`stage` is
    // read for the first time here).
    sb.assert_password("prod", &prod);
    sb.assert_password("stage", &stage);
    let status = sb.json(&["status"]);
    assert_eq!(status["state"], "unlocked", "{status}");
    assert_eq!(status["environments"], 2, "{status}");

    fs::remove_file(&filler).expect("remove the filler");
    sb.add(&late).ok();
    sb.assert_password("late", late.secret());
    sb.assert_password("prod", &prod);
    sb.assert_password("stage", &stage);

    // Before, during and after the full disk.
    assert_eq!(
        gets_in_audit(&sb, "prod"),
        3,
        "{:?}",
        sb.audit_events("prod")
    );
    // The first of them was read while the disk was full.
    assert_eq!(
        gets_in_audit(&sb, "stage"),
        2,
        "{:?}",
        sb.audit_events("stage")
    );
    assert_eq!(
        gets_in_audit(&sb, "late"),
        1,
        "{:?}",
        sb.audit_events("late")
    );

    let status = sb.json(&["status"]);
    for field in [
        "running",
        "socket",
        "agent_version",
        "protocol",
        "client_version",
        "client_protocol",
        "state",
        "unlockers",
        "vault_path",
        "pid",
        "environments",
        "unlocked_at",
    ] {
        assert!(
            !status[field].is_null(),
            "status --json lacks {field}: {status}"
        );
    }
    assert_eq!(status["state"], "unlocked", "{status}");
    assert_eq!(status["environments"], 3, "{status}");
}

/// Issue 9.5: while the keyring hangs, requests that find the vault locked
/// share one automatic unlock attempt (bounded by DBCREDS_KEYRING_TIMEOUT)
/// instead of each making their own one after the other (2, 4, 6, 8, 10 s
/// for five before the fix).
#[test]
fn parallel_gets_share_one_attempt_on_a_hung_keyring() {
    const TIMEOUT: Duration = Duration::from_secs(2);
    const GETS: usize = 5;
    let mut sb = Sandbox::with_keyring_vault();
    let password = sb.add_unique("prod");
    kill_9(sb.agent_pid());
    sb.set_env("DBCREDS_KEYRING_TIMEOUT", "2s");

    let frozen = sb.keyring().expect("a keyring sandbox").freeze();
    // Started here rather than by the gets (five CLIs racing to start
    // one); its own automatic unlock starts at once, and the gets find it
    // under way.
    let _agent = sb.start_agent();
    let outs = run_parallel(
        (0..GETS)
            .map(|_| sb.cli_command(&["get", "prod"]))
            .collect(),
    );
    let took: Vec<Duration> = outs.iter().map(|(_, t)| *t).collect();
    let messages: Vec<&str> = outs.iter().map(|(o, _)| o.stderr.trim()).collect();
    eprintln!(
        "{GETS} parallel gets on a hung keyring (timeout {TIMEOUT:?}) ended after {took:?}: {messages:?}"
    );

    for (out, _) in &outs {
        out.fails(exit::LOCKED, &[]);
        assert!(!out.all().contains(&password), "{out}");
    }
    let bound = 2 * TIMEOUT + Duration::from_secs(4);
    let slowest = took.iter().max().copied().unwrap_or_default();
    assert!(
        slowest < bound,
        "the gets ended after {took:?}: at most {bound:?} with one shared attempt\n{}",
        sb.logs()
    );
    assert!(
        outs.iter()
            .any(|(out, _)| out.stderr.to_lowercase().contains("keyring")),
        "no error says the keyring is why the vault stayed locked: {:?}",
        outs.iter()
            .map(|(o, _)| o.stderr.trim())
            .collect::<Vec<_>>()
    );

    drop(frozen);
    sb.cli(&["unlock"]).ok();
    sb.assert_password("prod", &password);
}
