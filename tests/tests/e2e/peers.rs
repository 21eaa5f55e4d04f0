//! Another uid is refused by the agent itself (peer credentials), even when
//! the socket file is world-writable and its directories traversable.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use dbcreds_tests::{Output, SANDBOX_MARKER, Sandbox, bin, exit, password_tail, root_or_skip, run};

const NOBODY: u32 = 65534;

fn chmod(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("chmod {mode:o} {}: {e}", path.display()));
}

/// An unlocked keyring sandbox holding `prod`, its socket chmod 0777 and its
/// directories 0755, the binaries copied where `nobody` can run them, and a
/// home of nobody's own.
struct Exposed {
    sb: Sandbox,
    password: String,
    owner_pid: u32,
    bindir: PathBuf,
    theirs: PathBuf,
}

impl Exposed {
    fn new() -> Self {
        let sb = Sandbox::with_keyring_vault();
        let password = sb.add_unique("prod");
        let owner_pid = sb.agent_pid();

        // Binaries nobody may run.
        let bindir = sb.root().join("bin");
        fs::create_dir(&bindir).expect("bin dir");
        for name in ["dbcreds", "dbcreds-agent"] {
            let to = bindir.join(name);
            fs::copy(bin(name), &to).expect("copy binary");
            chmod(&to, 0o755);
        }
        chmod(&bindir, 0o755);

        // Open the way to the socket as wide as it goes.
        for dir in sb.root().ancestors().skip(1) {
            let mode = fs::metadata(dir).expect("dir").permissions().mode();
            assert_eq!(
                mode & 0o005,
                0o005,
                "{} is not traversable by others",
                dir.display()
            );
        }
        chmod(sb.root(), 0o755);
        chmod(&sb.home(), 0o755);
        chmod(&sb.socket(), 0o777);

        // nobody's own home, which it may write.
        let theirs = sb.root().join("nobody");
        fs::create_dir(&theirs).expect("nobody home");
        std::os::unix::fs::chown(&theirs, Some(NOBODY), Some(NOBODY)).expect("chown");
        chmod(&theirs, 0o700);

        Exposed {
            sb,
            password,
            owner_pid,
            bindir,
            theirs,
        }
    }

    /// `dbcreds ARGS...` as nobody (runuser), pointed at the owner's socket.
    fn as_nobody(&self, args: &[&str]) -> Output {
        let mut cmd = self.sb.command("runuser");
        cmd.args(["-u", "nobody", "--", "env", "-i"])
            .arg(format!(
                "PATH={}",
                std::env::var("PATH").unwrap_or_default()
            ))
            .arg(format!("HOME={}", self.theirs.display()))
            .arg(format!(
                "DBCREDS_HOME={}",
                self.theirs.join("dbcreds").display()
            ))
            .arg(format!("DBCREDS_SOCK={}", self.sb.socket().display()))
            .arg(format!(
                "DBCREDS_AGENT_BIN={}",
                self.bindir.join("dbcreds-agent").display()
            ))
            .arg("DBUS_SESSION_BUS_ADDRESS=unix:path=/nonexistent")
            .arg(format!("{}={}", SANDBOX_MARKER, self.sb.root().display()))
            .arg(self.bindir.join("dbcreds"))
            .args(args)
            .current_dir(&self.theirs);
        run(cmd, None)
    }

    /// The owner's agent is unharmed: same process, still unlocked, still
    /// answering.
    fn assert_owner_unharmed(&self) {
        let sb = &self.sb;
        assert!(sb.socket().exists(), "the socket is gone");
        assert_eq!(
            sb.agent_pid(),
            self.owner_pid,
            "the owner's agent was replaced"
        );
        assert_eq!(sb.state(), "unlocked");
        sb.assert_password("prod", &self.password);
    }
}

/// Requests that would reveal a secret or metadata.
const READS: [&[&str]; 5] = [
    &["get", "prod"],
    &["get", "prod", "uri"],
    &["export", "prod", "--format", "env"],
    &["list", "--json"],
    &["show", "prod"],
];

#[test]
fn another_uid_is_refused_even_with_a_world_writable_socket() {
    if !root_or_skip("another_uid_is_refused_even_with_a_world_writable_socket") {
        return;
    }
    let ex = Exposed::new();
    // Positive control: nobody really can run the CLI.
    ex.as_nobody(&["--version"]).ok();

    let tail = password_tail(&ex.password);
    for args in READS {
        let out = ex.as_nobody(args);
        out.failed().error_line();
        assert!(
            !out.all().contains(tail),
            "the password leaked to another uid:\n{out}"
        );
        assert!(
            !out.stdout.contains("db.internal"),
            "metadata leaked to another uid:\n{out}"
        );
        eprintln!("refused, as it should be:\n{out}");
    }
    ex.assert_owner_unharmed();
}

/// Exit code 13 is the contract for "the agent refused the caller (another
/// user ...)"; the message must say so rather than blame the transport or
/// try to start an agent of nobody's own.
#[test]
fn another_uid_is_told_permission_denied() {
    if !root_or_skip("another_uid_is_told_permission_denied") {
        return;
    }
    let ex = Exposed::new();
    for args in READS.into_iter().chain([&["lock"][..], &["status"]]) {
        let out = ex.as_nobody(args);
        out.code(exit::PERMISSION_DENIED);
        let line = out.error_line().to_lowercase();
        assert!(
            line.contains("uid") || line.contains("user") || line.contains("permission"),
            "the error must say the agent belongs to another user:\n{out}"
        );
    }
    ex.assert_owner_unharmed();
}
