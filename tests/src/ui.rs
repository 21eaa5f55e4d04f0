//! The web page under test: `dbcreds ui --no-open` run in a sandbox (the
//! CLI runs `dbcreds-ui` in its place), the link it prints, and plain
//! HTTP/1.1 requests that carry exactly the headers a test wants (a foreign
//! `Host`, no `Origin`, a replayed token), which a browser would not send.

use std::fs;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, ExitStatus, Stdio};
use std::time::Duration;

use crate::process::{EXIT_TIMEOUT, READY_TIMEOUT, first_line, signal, wait_for_exit};
use crate::sandbox::Sandbox;

/// A running `dbcreds ui`; stopped when dropped.
pub struct UiProcess {
    child: Child,
    status: Option<ExitStatus>,
    /// The link it printed: `http://127.0.0.1:PORT/session?token=...`.
    pub url: String,
    /// Its port.
    pub port: u16,
    log: PathBuf,
}

impl Sandbox {
    /// Starts `dbcreds ui --no-open ARGS...` and waits for the link on its
    /// stdout (printed once it listens). Its stderr goes to `ui-stderr.log`.
    #[track_caller]
    pub fn start_ui(&self, args: &[&str]) -> UiProcess {
        let log = self.root().join("ui-stderr.log");
        let err = fs::File::create(&log).expect("ui stderr log");
        let mut cmd = self.cli_command(&["ui", "--no-open"]);
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(err);
        let mut child = cmd.spawn().expect("spawn dbcreds ui");
        let stdout = child.stdout.take().expect("piped stdout");
        let url = match first_line(stdout, READY_TIMEOUT) {
            Ok(Some(url)) => url,
            other => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "dbcreds ui printed no link ({other:?}):\n{}\n{}",
                    fs::read_to_string(&log).unwrap_or_default(),
                    self.logs()
                );
            }
        };
        let port = url
            .strip_prefix("http://127.0.0.1:")
            .and_then(|rest| rest.split('/').next())
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("not a link on 127.0.0.1: {url:?}"));
        UiProcess {
            child,
            status: None,
            url,
            port,
            log,
        }
    }
}

impl UiProcess {
    /// `http://127.0.0.1:PORT`.
    pub fn origin(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// `127.0.0.1:PORT`: the `Host` it answers to.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The path and query of the printed link (`/session?token=...`).
    pub fn token_path(&self) -> String {
        self.url
            .strip_prefix(&self.origin())
            .unwrap_or(&self.url)
            .to_owned()
    }

    /// Its pid (the CLI's: it runs dbcreds-ui in its own place).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What it said on stderr so far.
    pub fn stderr(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits (bounded) for it to exit by itself; its status, or `None`
    /// when it still runs after `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        if self.status.is_none() && wait_for_exit(self.pid(), timeout) {
            self.status = self.child.wait().ok();
        }
        self.status
    }

    /// A plain request with the right `Host` and `headers`.
    pub fn get(&self, path: &str, headers: &[(&str, &str)]) -> HttpResponse {
        let host = self.host();
        let mut all = vec![("Host", host.as_str())];
        all.extend_from_slice(headers);
        http(self.port, "GET", path, &all, None)
    }

    /// A form POST with the right `Host` and `Origin`, and `headers`.
    pub fn post(&self, path: &str, headers: &[(&str, &str)], form: &str) -> HttpResponse {
        let (host, origin) = (self.host(), self.origin());
        let mut all = vec![("Host", host.as_str()), ("Origin", origin.as_str())];
        all.extend_from_slice(headers);
        all.push(("Content-Type", "application/x-www-form-urlencoded"));
        http(self.port, "POST", path, &all, Some(form))
    }

    /// Exchanges the printed link's token; the `Cookie` header value of
    /// the session it opens.
    #[track_caller]
    pub fn open_session(&self) -> String {
        let r = self.get(&self.token_path(), &[]);
        assert_eq!(r.status, 303, "token exchange:\n{r}");
        let set = r.header("set-cookie").unwrap_or_default();
        set.split(';').next().unwrap_or_default().to_owned()
    }
}

impl Drop for UiProcess {
    fn drop(&mut self) {
        if self.status.is_none() {
            signal(self.pid(), rustix::process::Signal::TERM);
            if !wait_for_exit(self.pid(), EXIT_TIMEOUT) {
                let _ = self.child.kill();
            }
            let _ = self.child.wait();
        }
    }
}

/// A response: status, headers (names in lower case), body.
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl HttpResponse {
    /// The first header `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

impl std::fmt::Display for HttpResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "HTTP {}", self.status)?;
        for (k, v) in &self.headers {
            writeln!(f, "{k}: {v}")?;
        }
        write!(f, "\n{}", self.body)
    }
}

/// One HTTP/1.1 request to 127.0.0.1:`port` with exactly `headers` (and
/// `Connection: close`), bounded by a read timeout.
#[track_caller]
pub fn http(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> HttpResponse {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect to the ui");
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("read timeout");
    let mut req = format!("{method} {path} HTTP/1.1\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if let Some(b) = body {
        req.push_str(&format!("Content-Length: {}\r\n", b.len()));
    }
    req.push_str("Connection: close\r\n\r\n");
    req.push_str(body.unwrap_or_default());
    s.write_all(req.as_bytes()).expect("send the request");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("read the response");
    parse(&raw).unwrap_or_else(|| {
        panic!(
            "not an HTTP response to {method} {path}: {:?}",
            String::from_utf8_lossy(&raw)
        )
    })
}

fn parse(raw: &[u8]) -> Option<HttpResponse> {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..split]).ok()?;
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split_whitespace().nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"));
    if chunked {
        body = dechunk(&body)?;
    }
    Some(HttpResponse {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

fn dechunk(mut b: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let eol = b.windows(2).position(|w| w == b"\r\n")?;
        let size = usize::from_str_radix(std::str::from_utf8(&b[..eol]).ok()?.trim(), 16).ok()?;
        b = &b[eol + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(b.get(..size)?);
        b = b.get(size + 2..)?;
    }
}
