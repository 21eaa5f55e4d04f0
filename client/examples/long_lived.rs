//! A long-lived application: one `dbcreds::blocking::Client`, kept between
//! requests, asked for an environment each time a name arrives on stdin.
//!
//! ```sh
//! printf 'prod\nstaging\n' | cargo run -p dbcreds --example long_lived
//! ```
//!
//! Between two requests the client's runtime is not driven, so it cannot
//! answer the agent's pings and the agent may drop the connection; the
//! agent may also have been restarted. The client then dials again before
//! sending. Each line printed is the URI without the password and the
//! password's length (never the secret), or the error.

use std::io::BufRead;

use dbcreds::secrecy::ExposeSecret;

fn main() {
    let mut client = match dbcreds::blocking::Client::connect_or_start() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("connect: {e}");
            std::process::exit(1);
        }
    };
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        let name = match dbcreds::EnvName::parse(line.trim()) {
            Ok(n) => n,
            Err(e) => {
                println!("{}: error: {e}", line.trim());
                continue;
            }
        };
        match client.get(&name) {
            Ok(cred) => println!(
                "{name}: {}, password {} characters",
                dbcreds::render::uri(cred.environment(), None),
                cred.password().expose_secret().chars().count()
            ),
            Err(e) => println!("{name}: error: {e}"),
        }
    }
}
