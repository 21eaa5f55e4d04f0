//! Gets an environment's credentials the way an application would.
//!
//! ```sh
//! cargo run -p dbcreds --example get -- prod          # through the agent
//! DBCREDS_PROD_HOST=db DBCREDS_PROD_USERNAME=app DBCREDS_PROD_DATABASE=app \
//!   DBCREDS_PROD_PASSWORD=secret cargo run -p dbcreds --example get -- prod   # no agent
//! ```
//!
//! It prints the connection URI without the password, then the password's
//! length: enough to show it works without putting the secret on a screen.
//! A confirmation the environment's policy asked for and nobody gave is a
//! typed error (`Reason::ApprovalRefused`): it exits 13 for that, as the CLI
//! does, and 1 for anything else.

use dbcreds::secrecy::ExposeSecret;

fn main() {
    let name = std::env::args().nth(1).unwrap_or_else(|| "prod".into());
    match dbcreds::blocking::get(&name) {
        Ok(cred) => {
            let env = cred.environment();
            println!("{}", dbcreds::render::uri(env, None));
            println!(
                "password: {} characters",
                cred.password().expose_secret().chars().count()
            );
        }
        Err(e) if e.reason() == Some(dbcreds::Reason::ApprovalRefused) => {
            eprintln!("get {name}: not approved: {e}");
            std::process::exit(13);
        }
        Err(e) => {
            eprintln!("get {name}: {e}");
            std::process::exit(1);
        }
    }
}
