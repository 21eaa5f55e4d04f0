//! Service files for clients that read them: `export --all --format
//! pg_service --pgpass FILE`, and `serve-files`, whose files exist (0600,
//! in a 0700 directory) while the vault is unlocked, are gone within a
//! second of `dbcreds lock` and of the agent's stop, and let
//! `psql "service=prod"` and `mariadb --defaults-group-suffix=_shop` log in.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use dbcreds_tests::{
    MariaTestUser, Output, PgTestRole, Sandbox, mariadb_or_skip, run, signal, wait_for_exit,
};
use rustix::process::Signal;

fn mode(p: &Path) -> u32 {
    fs::metadata(p).unwrap().permissions().mode() & 0o7777
}

/// `psql "service=NAME"` with the service and password files given.
fn psql_service(sb: &Sandbox, service: &str, conf: &Path, pgpass: &Path) -> Output {
    let mut cmd = sb.command("psql");
    cmd.env("PGSERVICEFILE", conf)
        .env("PGPASSFILE", pgpass)
        .env("PGCONNECT_TIMEOUT", "10")
        .args([
            "-X",
            "-w",
            &format!("service={service}"),
            "-tAc",
            "select current_user",
        ]);
    run(cmd, None)
}

/// Waits until `done` holds, at most `within`; how long it took.
#[track_caller]
fn until(what: &str, within: Duration, mut done: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < within, "not within {within:?}: {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
    start.elapsed()
}

#[test]
fn export_all_as_pg_service_with_a_matching_pgpass() {
    let (sb, role) = or_return!(PgTestRole::awkward_or_skip(
        "export_all_as_pg_service_with_a_matching_pgpass",
        "svc",
        &["prod"]
    ));
    sb.add_unique("other");
    let out = sb.cli(&[
        "export",
        "--all",
        "--format",
        "pg_service",
        "--pgpass",
        "pgpass",
    ]);
    out.ok();
    assert!(
        out.stdout.contains("[prod]\nhost=127.0.0.1\nport=5432\n"),
        "{out}"
    );
    assert!(out.stdout.contains("[other]\n"), "{out}");
    assert!(
        !out.stdout.contains(&role.password),
        "no password in pg_service.conf:\n{out}"
    );
    let home = sb.user_home();
    let conf = home.join("pg_service.conf");
    fs::write(&conf, &out.stdout).unwrap();
    let pgpass = home.join("pgpass");
    assert_eq!(mode(&pgpass), 0o600);
    let login = psql_service(&sb, "prod", &conf, &pgpass);
    login.ok();
    assert_eq!(login.line(), role.name, "{login}");

    sb.cli(&["export", "prod", "--format", "pgpass", "--pgpass", "x"])
        .fails(dbcreds_tests::exit::USAGE, &["--pgpass", "--all"]);
}

/// A running `serve-files`, stopped (SIGTERM) when dropped.
struct Server {
    child: Child,
    dir: PathBuf,
}

impl Server {
    fn start(sb: &Sandbox) -> Self {
        let mut cmd = sb.cli_command(&["serve-files"]);
        cmd.stdout(Stdio::null()).stderr(Stdio::null());
        Self {
            child: cmd.spawn().expect("start serve-files"),
            dir: sb.root().join("xdg/runtime/dbcreds/files"),
        }
    }

    fn files(&self) -> [PathBuf; 3] {
        ["pg_service.conf", ".pgpass", ".my.cnf"].map(|f| self.dir.join(f))
    }

    fn all_there(&self) -> bool {
        self.files().iter().all(|f| f.exists())
    }

    fn none_there(&self) -> bool {
        self.files().iter().all(|f| !f.exists())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn serve_files_exist_while_unlocked_and_go_on_lock_and_agent_stop() {
    let test = "serve_files_exist_while_unlocked_and_go_on_lock_and_agent_stop";
    if !mariadb_or_skip(test) {
        return;
    }
    let (sb, role) = or_return!(PgTestRole::awkward_or_skip(test, "serve", &["prod"]));
    let maria = MariaTestUser::with_password("serve", &dbcreds_tests::awkward_password());
    sb.add(&maria.env("shop")).ok();
    let server = Server::start(&sb);
    let second = Duration::from_secs(1);
    until("the files are written", Duration::from_secs(15), || {
        server.all_there()
    });
    assert_eq!(mode(&server.dir), 0o700, "the directory is private");
    for f in server.files() {
        assert_eq!(mode(&f), 0o600, "{}", f.display());
    }
    let [conf, pgpass, mycnf] = server.files();
    assert!(!fs::read_to_string(&conf).unwrap().contains(&role.password));
    let login = psql_service(&sb, "prod", &conf, &pgpass);
    login.ok();
    assert_eq!(login.line(), role.name, "{login}");
    let mut cmd = sb.command("mariadb");
    cmd.arg(format!("--defaults-extra-file={}", mycnf.display()))
        .args([
            "--defaults-group-suffix=_shop",
            "-N",
            "-B",
            "-e",
            "select current_user()",
        ]);
    let out = run(cmd, None);
    out.ok();
    assert_eq!(out.line(), maria.current_user(), "{out}");

    // A rotation reaches the files.
    sb.cli(&["rotate", "prod"]).ok();
    let new = sb.password_of("prod");
    until(
        "the new password is in .pgpass",
        Duration::from_secs(5),
        || fs::read_to_string(&pgpass).is_ok_and(|t| t.contains(&new.replace(':', "\\:"))),
    );
    psql_service(&sb, "prod", &conf, &pgpass).ok();

    sb.cli(&["lock"]).ok();
    let took = until("the files are gone after lock", second, || {
        server.none_there()
    });
    eprintln!("files gone {took:?} after `dbcreds lock` returned");
    sb.unlock_passphrase(dbcreds_tests::PASSPHRASE);
    until(
        "the files are back after unlock",
        Duration::from_secs(5),
        || server.all_there(),
    );

    sb.cli(&["agent", "stop"]).ok();
    let took = until("the files are gone after agent stop", second, || {
        server.none_there()
    });
    eprintln!("files gone {took:?} after `dbcreds agent stop` returned");

    // It waits for the agent to come back; SIGTERM ends it, exit code 0.
    let pid = server.child.id();
    signal(pid, Signal::TERM);
    assert!(wait_for_exit(pid, Duration::from_secs(10)));
    let mut server = server;
    assert_eq!(server.child.wait().unwrap().code(), Some(0));
    assert!(server.none_there());
}
