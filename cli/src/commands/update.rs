//! `dbcreds update NAME`: change some fields, or the password.

use dbcreds::DatabaseKind;
use dbcreds::edit::Patch;
use secrecy::ExposeSecret;

use crate::args::UpdateArgs;
use crate::exit::Failure;
use crate::{output, prompt};

pub async fn run(a: UpdateArgs) -> Result<(), Failure> {
    if a.password && !prompt::interactive() {
        return Err(Failure::usage(
            "--password prompts on a terminal and there is none: pipe the password in with --password-stdin",
        ));
    }
    let mut patch = patch(&a);
    if !changes_anything(&patch) && !a.password && !a.password_stdin {
        return Err(Failure::usage(
            "nothing to update: pass at least one of --kind, --host, --port, --database, --user, --production, --description, --option, --expires-days, --auth, --password-changed, --password (see `dbcreds update --help`)",
        ));
    }

    let password = if a.password_stdin {
        Some(prompt::secret_from_stdin_all()?)
    } else if a.password {
        Some(prompt::new_secret(
            &format!("New password for {}: ", a.name),
            "Repeat the password: ",
            "password",
        )?)
    } else {
        None
    };

    // Each field on its own, before anything is sent; the agent checks the
    // result as a whole.
    patch.check()?;
    if let Some(p) = &password
        && !p.expose_secret().is_empty()
    {
        dbcreds::edit::check_password(p)?;
    }
    let mut client = super::connect().await?;
    if let (Some(kind), None) = (a.kind, a.port) {
        // A kind change moves the port along when it was the old kind's
        // default; a port set by hand stays.
        let current = client.describe(&a.name).await?;
        if let Some(port) = port_for_new_kind(current.kind, current.port, kind) {
            patch.port = Some(port.into());
        }
    }
    if let Some(p) = &password
        && p.expose_secret().is_empty()
    {
        output::warn(&format!("storing an empty password for '{}'", a.name));
    }
    patch.password = password;
    let updated = client.update(&a.name, patch).await?;
    output::note(&format!(
        "Updated {}: {} ({}).",
        updated.name,
        dbcreds::render::uri(&updated, None),
        output::password_state(&updated, chrono::Utc::now())
    ));
    Ok(())
}

/// The change for everything the flags set, without the password.
fn patch(a: &UpdateArgs) -> Patch {
    let mut patch = Patch {
        kind: a.kind.map(|k| k.as_str().to_owned()),
        host: a.host.clone(),
        port: a.port.map(u32::from),
        database: a.database.clone(),
        username: a.user.clone(),
        production: a.production,
        description: a.description.clone(),
        expires_days: a.expires_days.map(|e| e.as_wire()),
        auth: a.auth.map(|m| m.as_str().to_owned()),
        password_changed_at: a.password_changed,
        ..Patch::default()
    };
    patch.options.extend(a.options.iter().cloned());
    patch
}

fn changes_anything(r: &Patch) -> bool {
    r.kind.is_some()
        || r.host.is_some()
        || r.port.is_some()
        || r.database.is_some()
        || r.username.is_some()
        || r.production.is_some()
        || r.description.is_some()
        || r.expires_days.is_some()
        || !r.options.is_empty()
        || r.auth.is_some()
        || r.password_changed_at.is_some()
}

/// The port to send when the kind changes from `old` to `new` and no
/// `--port` was given: the new default when the current port is the old
/// default.
fn port_for_new_kind(old: DatabaseKind, port: u16, new: DatabaseKind) -> Option<u16> {
    if old == new {
        return None;
    }
    let new_default = new.default_port()?;
    match old.default_port() {
        Some(d) if d != port => None,
        _ => Some(new_default),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::{Cli, Command};
    use clap::Parser;

    fn parse(args: &[&str]) -> UpdateArgs {
        let mut all = vec!["dbcreds", "update"];
        all.extend_from_slice(args);
        match Cli::try_parse_from(all) {
            Ok(Cli {
                command: Command::Update(u),
                ..
            }) => u,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn request_carries_only_what_was_given() {
        let a = parse(&[
            "prod",
            "--host",
            "db2",
            "--option",
            "sslmode=",
            "--expires-days",
            "never",
        ]);
        let r = patch(&a);
        assert_eq!(r.host.as_deref(), Some("db2"));
        assert_eq!(r.port, None);
        assert_eq!(r.expires_days, Some(0));
        assert_eq!(r.options.get("sslmode").map(String::as_str), Some(""));
        assert!(r.password.is_none());
        assert!(changes_anything(&r));
        assert!(!changes_anything(&patch(&parse(&["prod"]))));
        let r = patch(&parse(&["prod", "--production", "false", "-p", "6432"]));
        assert_eq!(r.production, Some(false));
        assert_eq!(r.port, Some(6432));
    }

    #[test]
    fn password_flags_conflict() {
        assert!(
            Cli::try_parse_from(["dbcreds", "update", "x", "--password", "--password-stdin"])
                .is_err()
        );
    }

    #[test]
    fn kind_change_moves_default_ports_only() {
        use DatabaseKind::*;
        assert_eq!(port_for_new_kind(Postgres, 5432, Mysql), Some(3306));
        assert_eq!(port_for_new_kind(Postgres, 6432, Mysql), None);
        assert_eq!(port_for_new_kind(Sqlite, 0, Postgres), Some(5432));
        assert_eq!(port_for_new_kind(Postgres, 5432, Sqlite), None);
        assert_eq!(port_for_new_kind(Mysql, 3306, Mariadb), Some(3306));
        assert_eq!(port_for_new_kind(Postgres, 5432, Postgres), None);
    }
}
