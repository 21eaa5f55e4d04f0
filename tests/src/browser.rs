//! A real browser for the web page's tests: Debian's headless Chromium
//! driven over WebDriver (chromedriver on a port the kernel picks, read
//! from its start-up line: no sleep, no port race) through `fantoccini`.
//! Each [`Browser`] has a fresh profile and its own chromedriver; the
//! network is closed, so Chromium is told not to reach for it.
//!
//! The calls are blocking (each runs on the browser's own runtime), so the
//! tests read like the other e2e tests.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use tempfile::TempDir;

use crate::process::{EXIT_TIMEOUT, READY_TIMEOUT, all_pids, lines, signal, skip, wait_for_exit};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// How long a page or an element may take to appear.
const PAGE_TIMEOUT: Duration = Duration::from_secs(30);

/// The variable naming a directory for the tests' screenshots.
pub const SCREENSHOTS_VAR: &str = "DBCREDS_UI_SCREENSHOTS";

/// A headless Chromium session; closed (and its processes gone) on drop.
pub struct Browser {
    rt: tokio::runtime::Runtime,
    client: Option<Client>,
    driver: Child,
    profile: TempDir,
}

impl Browser {
    /// A browser, or `None` when Chromium or chromedriver is missing
    /// (skipped; a failure under CI).
    pub fn start_or_skip(test: &str) -> Option<Self> {
        for bin in [CHROMIUM, CHROMEDRIVER] {
            if !Path::new(bin).is_file() {
                skip(&format!(
                    "{test}: {bin} is missing (apt-get install chromium chromium-driver; tests/run does)"
                ));
                return None;
            }
        }
        Some(Self::start())
    }

    #[track_caller]
    fn start() -> Self {
        let profile = tempfile::Builder::new()
            .prefix("dbcreds-chromium-")
            .tempdir()
            .expect("profile dir");
        let mut driver = Command::new(CHROMEDRIVER)
            .arg("--port=0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn chromedriver");
        let port = driver_port(&mut driver);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let mut builder =
            ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new());
        builder.capabilities(capabilities(profile.path()));
        let client = rt
            .block_on(builder.connect(&format!("http://127.0.0.1:{port}")))
            .unwrap_or_else(|e| panic!("no Chromium session from chromedriver: {e}"));
        Self {
            rt,
            client: Some(client),
            driver,
            profile,
        }
    }

    fn c(&self) -> &Client {
        self.client.as_ref().expect("an open session")
    }

    /// Loads `url` (and waits for the page).
    #[track_caller]
    pub fn goto(&self, url: &str) {
        self.rt
            .block_on(self.c().goto(url))
            .unwrap_or_else(|e| panic!("goto {url}: {e}"));
    }

    /// The current address.
    pub fn url(&self) -> String {
        self.rt
            .block_on(self.c().current_url())
            .expect("current url")
            .to_string()
    }

    /// The current path (`/environments/prod`).
    pub fn path(&self) -> String {
        self.rt
            .block_on(self.c().current_url())
            .expect("current url")
            .path()
            .to_owned()
    }

    /// The page's HTML as the browser holds it.
    pub fn source(&self) -> String {
        self.rt.block_on(self.c().source()).expect("page source")
    }

    /// The element at `css`, once it is there.
    #[track_caller]
    fn find(&self, css: &str) -> fantoccini::elements::Element {
        let wait = self.c().wait().at_most(PAGE_TIMEOUT);
        self.rt
            .block_on(wait.for_element(Locator::Css(css)))
            .unwrap_or_else(|e| {
                panic!(
                    "no {css} on {} within {PAGE_TIMEOUT:?}: {e}\n{}",
                    self.path(),
                    self.source()
                )
            })
    }

    /// Whether an element matches `css` now.
    pub fn exists(&self, css: &str) -> bool {
        self.rt
            .block_on(self.c().find_all(Locator::Css(css)))
            .map(|v| !v.is_empty())
            .unwrap_or(false)
    }

    /// The visible text of `css`.
    #[track_caller]
    pub fn text(&self, css: &str) -> String {
        let e = self.find(css);
        self.rt.block_on(e.text()).expect("element text")
    }

    /// The `value` of the input at `css`.
    #[track_caller]
    pub fn value(&self, css: &str) -> String {
        let e = self.find(css);
        self.rt
            .block_on(e.prop("value"))
            .expect("element value")
            .unwrap_or_default()
    }

    /// Clicks `css`, a link or a submit button, and waits until the next
    /// page has loaded.
    #[track_caller]
    pub fn click(&self, css: &str) {
        // A mark on this document: gone once another one is loaded.
        self.eval("window.__dbcreds_old_page = true; return 1");
        self.toggle(css);
        self.wait_for_new_page(css);
    }

    /// Clicks `css` without waiting for a page (a checkbox).
    #[track_caller]
    pub fn toggle(&self, css: &str) {
        let e = self.find(css);
        self.rt
            .block_on(e.click())
            .unwrap_or_else(|err| panic!("click {css}: {err}"));
    }

    /// Polls, to a deadline, until the marked document is replaced by a
    /// loaded one. Each look is a round trip to the driver, which answers
    /// once the navigation under way has committed.
    #[track_caller]
    fn wait_for_new_page(&self, what: &str) {
        let deadline = std::time::Instant::now() + PAGE_TIMEOUT;
        loop {
            let state = self.rt.block_on(self.c().execute(
                "return window.__dbcreds_old_page !== true && document.readyState === 'complete'",
                vec![],
            ));
            if matches!(state, Ok(Value::Bool(true))) {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no new page after {what} within {PAGE_TIMEOUT:?} (still {})",
                self.path()
            );
        }
    }

    /// Replaces the text of the input at `css` with `value`.
    #[track_caller]
    pub fn fill(&self, css: &str, value: &str) {
        let e = self.find(css);
        self.rt.block_on(e.clear()).expect("clear");
        if !value.is_empty() {
            self.rt.block_on(e.send_keys(value)).expect("type");
        }
    }

    /// Picks the option `value` of the select at `css`.
    #[track_caller]
    pub fn select(&self, css: &str, value: &str) {
        let e = self.find(css);
        self.rt
            .block_on(e.select_by_value(value))
            .unwrap_or_else(|err| panic!("select {value} in {css}: {err}"));
    }

    /// Types `keys` into whatever has the focus (WebDriver key codes:
    /// `\u{E004}` is Tab, `\u{E007}` Enter).
    #[track_caller]
    pub fn keys(&self, keys: &str) {
        let e = self.rt.block_on(self.c().active_element()).expect("focus");
        self.rt.block_on(e.send_keys(keys)).expect("keys");
    }

    /// Runs `js` in the page (through the driver, not the page's CSP) and
    /// returns what it returns.
    #[track_caller]
    pub fn eval(&self, js: &str) -> Value {
        self.rt
            .block_on(self.c().execute(js, vec![]))
            .unwrap_or_else(|e| panic!("execute {js}: {e}"))
    }

    /// Resizes the window.
    pub fn window_size(&self, width: u32, height: u32) {
        self.rt
            .block_on(self.c().set_window_size(width, height))
            .expect("window size");
    }

    /// Writes a PNG of the page to `$DBCREDS_UI_SCREENSHOTS/NAME.png` when
    /// that variable names a directory (so a test run leaves the tree as
    /// it was otherwise).
    pub fn screenshot(&self, name: &str) {
        let Some(dir) = std::env::var_os(SCREENSHOTS_VAR).filter(|d| !d.is_empty()) else {
            return;
        };
        // The whole page: the window as tall as the document, then back.
        let height = self
            .eval(
                "return document.documentElement.scrollHeight + window.outerHeight - window.innerHeight",
            )
            .as_u64()
            .unwrap_or(900);
        self.window_size(1100, u32::try_from(height).unwrap_or(900).clamp(600, 4000));
        let png = self.rt.block_on(self.c().screenshot()).expect("screenshot");
        self.window_size(1100, 900);
        let dir = Path::new(&dir);
        std::fs::create_dir_all(dir).expect("screenshot dir");
        std::fs::write(dir.join(format!("{name}.png")), png).expect("write screenshot");
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if let Some(c) = self.client.take() {
            let _ = self
                .rt
                .block_on(async { tokio::time::timeout(Duration::from_secs(10), c.close()).await });
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        // Any Chromium process left of this profile.
        let profile = self.profile.path().as_os_str().as_encoded_bytes().to_vec();
        for pid in all_pids() {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            if cmdline
                .windows(profile.len())
                .any(|w| w == profile.as_slice())
            {
                signal(pid, rustix::process::Signal::KILL);
                wait_for_exit(pid, EXIT_TIMEOUT);
            }
        }
    }
}

/// The port from chromedriver's `... started successfully on port N.`
#[track_caller]
fn driver_port(driver: &mut Child) -> u16 {
    let out = lines(driver.stdout.take().expect("piped stdout"));
    let deadline = std::time::Instant::now() + READY_TIMEOUT;
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match out.recv_timeout(left) {
            Ok(line) => {
                if let Some(rest) = line.split("started successfully on port ").nth(1) {
                    return rest
                        .trim_end_matches('.')
                        .parse()
                        .unwrap_or_else(|_| panic!("chromedriver's port in {line:?}"));
                }
            }
            Err(e) => {
                let _ = driver.kill();
                panic!("chromedriver did not say it started ({e})");
            }
        }
    }
}

/// Headless Chromium as root in a closed network: no sandbox (root), no
/// GPU, nothing that phones home, a fresh profile.
fn capabilities(profile: &Path) -> serde_json::Map<String, Value> {
    let mut caps = serde_json::Map::new();
    caps.insert("browserName".into(), json!("chrome"));
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": CHROMIUM,
            "args": [
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
                "--window-size=1100,900",
                format!("--user-data-dir={}", profile.display()),
            ],
        }),
    );
    caps
}
