//! `dbcreds ui`, the web page: driven in a real headless Chromium against a
//! real agent and PostgreSQL ([`browser`]); its refusals and the password's
//! absence from every page, with plain HTTP requests ([`security`]); when
//! it stops by itself ([`lifecycle`]).

mod browser;
mod lifecycle;
mod security;

use dbcreds_tests::{Sandbox, UiProcess};

/// A sandbox whose vault (passphrase unlocker) holds `prod`, its password,
/// and a running page with an open session (the `Cookie` header value).
fn page_with_prod() -> (Sandbox, String, UiProcess, String) {
    let sb = Sandbox::with_passphrase_vault();
    let password = sb.add_unique("prod");
    let ui = sb.start_ui(&[]);
    let cookie = ui.open_session();
    (sb, password, ui, cookie)
}
