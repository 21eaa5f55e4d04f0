//! The real servers the source tests run against, each started by the test
//! that needs it on a free 127.0.0.1 port and killed when dropped:
//! OpenBao in dev mode ([`Bao`]), moto_server for AWS Secrets Manager
//! ([`Moto`]), a throwaway `pass` store ([`PassStore`]), and the machine's
//! PostgreSQL for OpenBao's database engine ([`Postgres`]).
//!
//! Self-contained (std only) so that the end-to-end tests can include it:
//! `#[path = "../../sources/tests/support/peers.rs"] mod peers;`.
//!
//! `bao`, `moto_server` and boto3 come from the venv made by
//! `tests/support/peers.sh` and named by `DBCREDS_TEST_PEERS_VENV`; see
//! [`peers_venv`] for what happens without it.

#![allow(dead_code)] // each test crate uses a part

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// The venv with `bao`, `moto_server` and boto3, from
/// `DBCREDS_TEST_PEERS_VENV`. Without it: under `CI=true` a panic saying
/// what to run; otherwise `None` after a line saying the test skips (the
/// caller returns).
pub fn peers_venv() -> Option<PathBuf> {
    let venv = std::env::var_os("DBCREDS_TEST_PEERS_VENV").map(PathBuf::from);
    match venv {
        Some(v) if v.join("bin/bao").exists() && v.join("bin/moto_server").exists() => Some(v),
        other => {
            let why = match other {
                Some(v) => format!(
                    "DBCREDS_TEST_PEERS_VENV={} has no bin/bao or bin/moto_server",
                    v.display()
                ),
                None => "DBCREDS_TEST_PEERS_VENV is not set".to_owned(),
            };
            skip_or_panic(&format!(
                "{why}: run `tests/support/peers.sh` and export the DBCREDS_TEST_PEERS_VENV=... line it prints"
            ))
        }
    }
}

/// Under `CI=true` a missing peer is a failure; elsewhere the test skips.
pub fn skip_or_panic<T>(why: &str) -> Option<T> {
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{why}");
    }
    eprintln!("skipped: {why}");
    None
}

/// A port nobody listens on right now. The server is started on it at once;
/// the window in which another process could take it is tiny.
pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().expect("local addr").port()
}

/// A name no other test of this run (nor of a parallel run) uses.
pub fn unique(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

// --- a tiny HTTP/1.0 client (std only) -------------------------------------------------------

/// One HTTP/1.0 request to 127.0.0.1:`port`; the status and the body.
pub fn http(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> std::io::Result<(u16, String)> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    let body = body.unwrap_or("");
    let mut req = format!(
        "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes())?;
    let mut resp = Vec::new();
    s.read_to_end(&mut resp)?;
    let resp = String::from_utf8_lossy(&resp).into_owned();
    let status = resp
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("not an HTTP response: {resp:.100}")))?;
    let body = resp
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}

/// Polls `ready` every 20 ms for at most `limit`: a server offers no event
/// to wait on. Panics with `what` and the log when it never gets ready.
fn wait_ready(
    what: &str,
    limit: Duration,
    child: &mut Child,
    log: &Path,
    mut ready: impl FnMut() -> bool,
) {
    let start = Instant::now();
    while start.elapsed() < limit {
        if ready() {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "{what} exited ({status}) before it was ready:\n{}",
                read_log(log)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("{what} was not ready within {limit:?}:\n{}", read_log(log));
}

fn read_log(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let tail: Vec<&str> = text.lines().rev().take(30).collect();
    tail.into_iter().rev().collect::<Vec<_>>().join("\n")
}

fn temp_dir(prefix: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(unique(prefix));
    std::fs::create_dir_all(&dir).expect("create temp dir");
    dir
}

fn stop(child: &mut Option<Child>) {
    if let Some(mut c) = child.take() {
        let _ = c.kill();
        let _ = c.wait();
    }
}

// --- OpenBao ---------------------------------------------------------------------------------

/// `bao server -dev` on a free port, root token `root`; in memory (a
/// restart starts empty), already unsealed, `secret/` is KV v2.
pub struct Bao {
    venv: PathBuf,
    port: u16,
    dir: PathBuf,
    child: Option<Child>,
    /// `-dev-tls`: HTTPS with a CA of its own (see [`Bao::ca_cert`]).
    tls: bool,
}

pub const BAO_ROOT_TOKEN: &str = "root";

impl Bao {
    /// Starts a dev server. Call [`peers_venv`] first (this panics without
    /// the venv).
    pub fn start_dev() -> Bao {
        Self::start(false)
    }

    /// [`Bao::start_dev`] over HTTPS (`-dev-tls`): the server makes a CA
    /// and a certificate for 127.0.0.1; [`Bao::ca_cert`] is the CA file.
    /// The `api*` helpers speak plain HTTP and do not work with it: use
    /// [`Bao::bao`].
    pub fn start_dev_tls() -> Bao {
        Self::start(true)
    }

    fn start(tls: bool) -> Bao {
        let venv = std::env::var_os("DBCREDS_TEST_PEERS_VENV")
            .map(PathBuf::from)
            .expect("DBCREDS_TEST_PEERS_VENV (call peers_venv() first)");
        let mut bao = Bao {
            venv,
            port: free_port(),
            dir: temp_dir("dbcreds-bao"),
            child: None,
            tls,
        };
        bao.spawn();
        bao
    }

    /// The CA that signed a TLS server's certificate.
    pub fn ca_cert(&self) -> Option<PathBuf> {
        self.tls.then(|| self.dir.join("tls/vault-ca.pem"))
    }

    fn spawn(&mut self) {
        let log_path = self.dir.join("server.log");
        let log = std::fs::File::create(&log_path).expect("bao log");
        let err = log.try_clone().expect("bao log");
        let mut args = vec![
            "server".to_owned(),
            "-dev".to_owned(),
            format!("-dev-root-token-id={BAO_ROOT_TOKEN}"),
            format!("-dev-listen-address=127.0.0.1:{}", self.port),
        ];
        if self.tls {
            let certs = self.dir.join("tls");
            std::fs::create_dir_all(&certs).expect("the TLS cert dir");
            args.push("-dev-tls".into());
            args.push(format!(
                "-dev-tls-cert-dir={}",
                self.dir.join("tls").display()
            ));
        }
        let mut child = Command::new(self.venv.join("bin/bao"))
            .args(&args)
            // The dev server writes a token helper file under HOME.
            .env("HOME", &self.dir)
            .env_remove("VAULT_ADDR")
            .env_remove("VAULT_TOKEN")
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err)
            .spawn()
            .expect("start bao (is DBCREDS_TEST_PEERS_VENV right?)");
        let port = self.port;
        let tls = self.tls;
        wait_ready(
            "bao server -dev",
            Duration::from_secs(30),
            &mut child,
            &log_path,
            || {
                if tls {
                    // `bao status` exits 0 once it answers unsealed.
                    self.bao(&["status"]).status.success()
                } else {
                    matches!(http(port, "GET", "/v1/sys/health", &[], None), Ok((200, _)))
                }
            },
        );
        self.child = Some(child);
    }

    /// `http://127.0.0.1:PORT` (`https://` with TLS)
    pub fn address(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Kills the server (its state is gone: dev mode keeps it in memory).
    pub fn kill(&mut self) {
        stop(&mut self.child);
    }

    /// Starts a fresh dev server on the same port (empty again).
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    /// Runs the `bao` CLI against this server as root.
    pub fn bao(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(self.venv.join("bin/bao"));
        if let Some(ca) = self.ca_cert() {
            cmd.env("VAULT_CACERT", ca);
        }
        cmd.args(args)
            .env("VAULT_ADDR", self.address())
            .env("VAULT_TOKEN", BAO_ROOT_TOKEN)
            .env("HOME", &self.dir)
            .stdin(Stdio::null())
            .output()
            .expect("run bao")
    }

    /// [`Bao::bao`], panicking with its stderr unless it succeeds; its
    /// stdout.
    pub fn bao_ok(&self, args: &[&str]) -> String {
        let out = self.bao(args);
        assert!(
            out.status.success(),
            "bao {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// An API request with the root token (`path` without `/v1/`).
    pub fn api(&self, method: &str, path: &str, body: Option<&str>) -> (u16, String) {
        self.api_as(BAO_ROOT_TOKEN, method, path, body)
    }

    pub fn api_as(
        &self,
        token: &str,
        method: &str,
        path: &str,
        body: Option<&str>,
    ) -> (u16, String) {
        http(
            self.port,
            method,
            &format!("/v1/{path}"),
            &[("X-Vault-Token", token)],
            body,
        )
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    /// [`Bao::api`], panicking unless the status is 2xx; the body.
    pub fn api_ok(&self, method: &str, path: &str, body: Option<&str>) -> String {
        let (status, resp) = self.api(method, path, body);
        assert!(
            (200..300).contains(&status),
            "{method} {path} -> {status}: {resp}"
        );
        resp
    }

    /// Writes `policy` (HCL) as `name`.
    pub fn policy(&self, name: &str, hcl: &str) {
        let body = format!("{{\"policy\":{}}}", json_string(hcl));
        self.api_ok("PUT", &format!("sys/policy/{name}"), Some(&body));
    }

    /// A token with `policies`, renewable, for `ttl` (`"1h"`).
    pub fn token(&self, policies: &[&str], ttl: &str) -> String {
        let list: Vec<String> = policies.iter().map(|p| json_string(p)).collect();
        let body = format!(
            "{{\"policies\":[{}],\"ttl\":\"{ttl}\",\"renewable\":true}}",
            list.join(",")
        );
        let resp = self.api_ok("POST", "auth/token/create", Some(&body));
        json_field(&resp, "client_token").expect("client_token")
    }

    /// Enables AppRole at `approle/` with a role bound to `policies`; its
    /// role-id and a fresh secret-id.
    pub fn approle(&self, role: &str, policies: &[&str]) -> (String, String) {
        let _ = self.api("POST", "sys/auth/approle", Some("{\"type\":\"approle\"}"));
        let list: Vec<String> = policies.iter().map(|p| json_string(p)).collect();
        self.api_ok(
            "POST",
            &format!("auth/approle/role/{role}"),
            Some(&format!(
                "{{\"token_policies\":[{}],\"token_ttl\":\"20m\"}}",
                list.join(",")
            )),
        );
        let r = self.api_ok("GET", &format!("auth/approle/role/{role}/role-id"), None);
        let s = self.api_ok(
            "POST",
            &format!("auth/approle/role/{role}/secret-id"),
            Some("{}"),
        );
        (
            json_field(&r, "role_id").expect("role_id"),
            json_field(&s, "secret_id").expect("secret_id"),
        )
    }

    /// Enables userpass at `userpass/` with `user`/`password` bound to
    /// `policies`.
    pub fn userpass(&self, user: &str, password: &str, policies: &[&str]) {
        let _ = self.api("POST", "sys/auth/userpass", Some("{\"type\":\"userpass\"}"));
        self.api_ok(
            "POST",
            &format!("auth/userpass/users/{user}"),
            Some(&format!(
                "{{\"password\":{},\"token_policies\":\"{}\"}}",
                json_string(password),
                policies.join(",")
            )),
        );
    }

    /// Mounts OpenBao's `database` engine at `database/` and points its
    /// connection `pg` at the machine's PostgreSQL, logged in as
    /// `dbcreds_vault_admin` (see [`Postgres`]).
    pub fn database_engine(&self, pg: &Postgres) {
        self.api_ok(
            "POST",
            "sys/mounts/database",
            Some("{\"type\":\"database\"}"),
        );
        let body = format!(
            "{{\"plugin_name\":\"postgresql-database-plugin\",\
              \"connection_url\":\"postgresql://{{{{username}}}}:{{{{password}}}}@127.0.0.1:{}/postgres?sslmode=disable\",\
              \"username\":\"{}\",\"password\":\"{}\",\"allowed_roles\":\"*\",\"verify_connection\":true}}",
            pg.port,
            Postgres::ADMIN,
            Postgres::ADMIN_PASSWORD
        );
        self.api_ok("PUT", "database/config/pg", Some(&body));
    }

    /// A dynamic role `name`: each lease a new PostgreSQL user IN ROLE
    /// dbcreds_test (so its password is checked), dropped on revoke.
    pub fn dynamic_role(&self, name: &str, default_ttl: &str, max_ttl: &str) {
        let create = "CREATE ROLE \\\"{{name}}\\\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}' IN ROLE dbcreds_test;";
        let revoke = "DROP ROLE IF EXISTS \\\"{{name}}\\\";";
        let body = format!(
            "{{\"db_name\":\"pg\",\"creation_statements\":[\"{create}\"],\"revocation_statements\":[\"{revoke}\"],\
              \"default_ttl\":\"{default_ttl}\",\"max_ttl\":\"{max_ttl}\"}}"
        );
        self.api_ok("PUT", &format!("database/roles/{name}"), Some(&body));
    }

    /// A static role `name` for the existing PostgreSQL user `pg_user`
    /// (OpenBao sets its password at once).
    pub fn static_role(&self, name: &str, pg_user: &str, rotation_period: &str) {
        let body = format!(
            "{{\"db_name\":\"pg\",\"username\":\"{pg_user}\",\"rotation_period\":\"{rotation_period}\"}}"
        );
        self.api_ok("PUT", &format!("database/static-roles/{name}"), Some(&body));
    }
}

impl Drop for Bao {
    fn drop(&mut self) {
        if self.child.is_some() {
            // The dynamic users live in the shared PostgreSQL cluster:
            // revoking drops them (best effort; dev data dies with bao).
            let _ = http(
                self.port,
                "PUT",
                "/v1/sys/leases/revoke-prefix/database/creds?sync=true",
                &[("X-Vault-Token", BAO_ROOT_TOKEN)],
                Some("{}"),
            );
        }
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

// --- PostgreSQL (the machine's main cluster, prepared by tests/support/databases.sh) --------

/// The machine's PostgreSQL on 127.0.0.1 as `tests/support/databases.sh`
/// prepared it: `dbcreds_vault_admin` may create users in the scram group
/// `dbcreds_test`.
pub struct Postgres {
    pub port: u16,
}

impl Postgres {
    pub const ADMIN: &'static str = "dbcreds_vault_admin";
    pub const ADMIN_PASSWORD: &'static str = "dbcreds-vault-admin-test-password";

    /// The cluster, when the admin logs in; else skip (panic under CI).
    /// The port is `DBCREDS_TEST_PG_PORT`, or 5432.
    pub fn get() -> Option<Postgres> {
        let port = std::env::var("DBCREDS_TEST_PG_PORT")
            .ok()
            .and_then(|p| p.parse().ok())
            .unwrap_or(5432);
        let pg = Postgres { port };
        match pg.admin_sql("SELECT 1") {
            Ok(_) => Some(pg),
            Err(e) => skip_or_panic(&format!(
                "PostgreSQL on 127.0.0.1:{port} refuses {}: run tests/support/databases.sh as root ({e})",
                Self::ADMIN
            )),
        }
    }

    /// Runs `sql` as the admin; its output or psql's stderr.
    pub fn admin_sql(&self, sql: &str) -> Result<String, String> {
        self.psql(Self::ADMIN, Self::ADMIN_PASSWORD, sql)
    }

    /// Whether `user` logs in with `password` (scram is enforced for
    /// dbcreds_test members).
    pub fn can_login(&self, user: &str, password: &str) -> bool {
        self.psql(user, password, "SELECT current_user")
            .is_ok_and(|out| out.trim() == user)
    }

    pub fn psql(&self, user: &str, password: &str, sql: &str) -> Result<String, String> {
        let out = Command::new("psql")
            .args([
                "-X",
                "-w",
                "-q",
                "-tA",
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                user,
                "-d",
                "postgres",
                "-c",
                sql,
            ])
            .env("PGPASSWORD", password)
            .env("PGPASSFILE", "/nonexistent")
            .env("PGCONNECT_TIMEOUT", "5")
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("psql: {e} (apt-get install postgresql-client)"))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).trim().to_owned())
        }
    }

    /// A login role in dbcreds_test for a static role (dropped by the
    /// caller with [`Postgres::drop_role`]).
    pub fn create_login(&self, name: &str) {
        self.admin_sql(&format!(
            "CREATE ROLE \"{name}\" LOGIN IN ROLE dbcreds_test PASSWORD 'initial-{name}'"
        ))
        .unwrap_or_else(|e| panic!("create role {name}: {e}"));
    }

    pub fn drop_role(&self, name: &str) {
        let _ = self.admin_sql(&format!("DROP ROLE IF EXISTS \"{name}\""));
    }
}

// --- moto (AWS Secrets Manager) --------------------------------------------------------------

/// `moto_server` on a free port. Any credentials work (moto checks no
/// signature), but requests must be signed for the service to be known.
pub struct Moto {
    venv: PathBuf,
    port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

/// Credentials moto accepts; region `us-east-1`.
pub const MOTO_ACCESS_KEY: &str = "testing";
pub const MOTO_SECRET_KEY: &str = "testing";
pub const MOTO_REGION: &str = "us-east-1";

impl Moto {
    pub fn start() -> Moto {
        let venv = std::env::var_os("DBCREDS_TEST_PEERS_VENV")
            .map(PathBuf::from)
            .expect("DBCREDS_TEST_PEERS_VENV (call peers_venv() first)");
        let port = free_port();
        let dir = temp_dir("dbcreds-moto");
        let log_path = dir.join("moto.log");
        let log = std::fs::File::create(&log_path).expect("moto log");
        let err = log.try_clone().expect("moto log");
        let mut child = Command::new(venv.join("bin/moto_server"))
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err)
            .spawn()
            .expect("start moto_server");
        wait_ready(
            "moto_server",
            Duration::from_secs(60),
            &mut child,
            &log_path,
            || {
                matches!(
                    http(port, "POST", "/moto-api/reset", &[], None),
                    Ok((200, _))
                )
            },
        );
        Moto {
            venv,
            port,
            dir,
            child: Some(child),
        }
    }

    /// `http://127.0.0.1:PORT`
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn kill(&mut self) {
        stop(&mut self.child);
    }

    /// A Secrets Manager call (`CreateSecret`, `PutSecretValue`, ...) with
    /// a JSON body; the status and the JSON answer.
    pub fn sm(&self, action: &str, body: &str) -> (u16, String) {
        sm_call(self.port, action, body)
    }

    /// [`Moto::sm`], panicking unless it succeeds.
    pub fn sm_ok(&self, action: &str, body: &str) -> String {
        let (status, resp) = self.sm(action, body);
        assert_eq!(status, 200, "{action}: {resp}");
        resp
    }

    /// Runs `script` with the venv's python, boto3 importable and the AWS
    /// environment pointing at this server (`AWS_ENDPOINT_URL`, test keys).
    pub fn python(&self, script: &str) -> Output {
        Command::new(self.venv.join("bin/python"))
            .args(["-c", script])
            .env("AWS_ENDPOINT_URL", self.endpoint())
            .env("AWS_ACCESS_KEY_ID", MOTO_ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", MOTO_SECRET_KEY)
            .env("AWS_DEFAULT_REGION", MOTO_REGION)
            .stdin(Stdio::null())
            .output()
            .expect("run python")
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A Secrets Manager call to a moto_server on 127.0.0.1:`port` (for a
/// test process that got only the port).
pub fn sm_call(port: u16, action: &str, body: &str) -> (u16, String) {
    let auth = format!(
        "AWS4-HMAC-SHA256 Credential={MOTO_ACCESS_KEY}/20240101/{MOTO_REGION}/secretsmanager/aws4_request, SignedHeaders=host;x-amz-date, Signature=0000"
    );
    let target = format!("secretsmanager.{action}");
    http(
        port,
        "POST",
        "/",
        &[
            ("Content-Type", "application/x-amz-json-1.1"),
            ("X-Amz-Target", &target),
            ("Authorization", &auth),
        ],
        Some(body),
    )
    .unwrap_or_else(|e| panic!("{action}: {e}"))
}

// --- pass ------------------------------------------------------------------------------------

/// A throwaway `pass` store: a GPG key without passphrase in a temp
/// `GNUPGHOME`, a store in a temp `PASSWORD_STORE_DIR`. Hand [`PassStore::env`]
/// to whatever runs `pass`.
pub struct PassStore {
    dir: PathBuf,
    gnupghome: PathBuf,
    store: PathBuf,
}

impl PassStore {
    /// A new store; panics when `pass` or `gpg` is missing (see
    /// [`PassStore::try_new`] to skip instead).
    pub fn new() -> PassStore {
        Self::make().unwrap_or_else(|why| panic!("{why}"))
    }

    /// `None` (the test skips; under CI a panic) when `pass` or `gpg` is
    /// missing.
    pub fn try_new() -> Option<PassStore> {
        match Self::make() {
            Ok(p) => Some(p),
            Err(why) => skip_or_panic(&why),
        }
    }

    fn make() -> Result<PassStore, String> {
        for tool in ["pass", "gpg"] {
            let found = Command::new(tool)
                .arg("--version")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok();
            if !found {
                return Err(format!(
                    "{tool} is not installed (apt-get install pass gnupg)"
                ));
            }
        }
        // Short: gpg-agent's socket path lives under GNUPGHOME.
        let dir = temp_dir("dbc-pass");
        let gnupghome = dir.join("g");
        let store = dir.join("store");
        std::fs::create_dir_all(&gnupghome).expect("GNUPGHOME");
        set_mode_700(&gnupghome);
        let p = PassStore {
            dir,
            gnupghome,
            store,
        };
        let uid = "dbcreds test <pass-test@dbcreds.invalid>";
        p.run_ok(Command::new("gpg").args([
            "--batch",
            "--passphrase",
            "",
            "--quick-gen-key",
            uid,
            "future-default",
            "default",
            "never",
        ]));
        let fpr = p.fingerprint();
        p.run_ok(Command::new("pass").args(["init", &fpr]));
        Ok(p)
    }

    fn fingerprint(&self) -> String {
        let out = self.run_ok(Command::new("gpg").args([
            "--batch",
            "--with-colons",
            "--list-secret-keys",
        ]));
        out.lines()
            .find_map(|l| {
                l.strip_prefix("fpr:")
                    .map(|r| r.trim_matches(':').to_owned())
            })
            .expect("a fingerprint in gpg --list-secret-keys")
    }

    /// The variables that point `pass` and gpg at this store.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("GNUPGHOME".into(), self.gnupghome.display().to_string()),
            (
                "PASSWORD_STORE_DIR".into(),
                self.store.display().to_string(),
            ),
        ]
    }

    /// `pass insert -m NAME` with `content` on stdin.
    pub fn insert(&self, name: &str, content: &str) {
        let mut cmd = Command::new("pass");
        cmd.args(["insert", "-m", "-f", name])
            .envs(self.env())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("pass insert");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(content.as_bytes())
            .expect("write to pass insert");
        let out = child.wait_with_output().expect("pass insert");
        assert!(
            out.status.success(),
            "pass insert {name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn run_ok(&self, cmd: &mut Command) -> String {
        let out = cmd
            .envs(self.env())
            .stdin(Stdio::null())
            .output()
            .expect("run gpg/pass");
        assert!(
            out.status.success(),
            "{cmd:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for PassStore {
    fn drop(&mut self) {
        // gpg-agent was started for this GNUPGHOME; stop it with it.
        let _ = Command::new("gpgconf")
            .args(["--kill", "gpg-agent"])
            .envs(self.env())
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn set_mode_700(p: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o700)).expect("chmod 700");
}

// --- JSON without a JSON crate ---------------------------------------------------------------

/// `s` as a JSON string literal.
pub fn json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The first string value of `"key"` anywhere in `json` (good enough for
/// the tokens and ids the helpers above read; not a JSON parser).
pub fn json_field(json: &str, key: &str) -> Option<String> {
    let pat = format!("\"{key}\":");
    let start = json.find(&pat)? + pat.len();
    let rest = json[start..].trim_start().strip_prefix('"')?;
    let end = rest.find('"')?;
    Some(rest[..end].to_owned())
}
