//! `dbcreds run [--env-file FILE]... -- CMD`: CMD gets the caller's
//! environment and the env files' variables, with every value that is a
//! `dbcreds://ENV/FIELD` reference replaced by what it names (as `op run`
//! does). Nothing else is added: the application keeps its own names
//! (`SPRING_DATASOURCE_PASSWORD=dbcreds://prod/password`).
//!
//! Every reference is resolved before CMD starts, with one `Get` per
//! environment; a bad one fails naming the variable. `DBCREDS_ENV` is set
//! when exactly one environment is referenced (so a prompt shows it and the
//! nesting guard works as with `exec`), removed when several are, and left
//! alone when none is.

use std::collections::BTreeMap;
use std::ffi::OsString;

use zeroize::Zeroizing;

use super::child::{self, DBCREDS_ENV};
use crate::args::RunArgs;
use crate::exit::Failure;
use crate::refs::{self, Wanted};

/// Where a variable's value came from.
#[derive(Clone)]
enum From {
    Process,
    File { file: String, line: usize },
}

/// The variables as CMD would see them before resolution: the process's,
/// then each env file's in order (a later one wins).
struct Vars {
    values: BTreeMap<OsString, (OsString, From)>,
}

impl Vars {
    fn gather(files: &[std::path::PathBuf]) -> Result<Self, Failure> {
        let mut values: BTreeMap<OsString, (OsString, From)> = std::env::vars_os()
            .map(|(k, v)| (k, (v, From::Process)))
            .collect();
        for path in files {
            for e in crate::dotenv::read(path)? {
                let from = From::File {
                    file: path.display().to_string(),
                    line: e.line,
                };
                values.insert(e.key.into(), (e.value.into(), from));
            }
        }
        Ok(Self { values })
    }

    /// The references among the values, with the variable of each.
    fn references(&self) -> Result<(Wanted, Vec<(OsString, refs::Reference)>), Failure> {
        let mut wanted = Wanted::default();
        let mut by_var = Vec::new();
        for (key, (value, from)) in &self.values {
            let Some(text) = value.to_str() else { continue };
            let origin = origin(key, from);
            let r = refs::parse(text.trim())
                .map_err(|f| Failure::new(f.code, format!("{origin}: {}", f.message)))?;
            if let Some(r) = r {
                wanted.push(r.clone(), origin);
                by_var.push((key.clone(), r));
            }
        }
        Ok((wanted, by_var))
    }
}

fn origin(key: &OsString, from: &From) -> String {
    let key = key.to_string_lossy();
    match from {
        From::Process => key.into_owned(),
        From::File { file, line } => format!("{key} ({file}:{line})"),
    }
}

/// What CMD's environment gets on top of the caller's: the env files'
/// variables and the resolved references, and `DBCREDS_ENV` set or removed.
pub struct Prepared {
    pub set: Vec<(OsString, Zeroizing<String>)>,
    pub remove: Vec<OsString>,
    /// The passwords handed out, for `--mask`.
    pub passwords: Vec<Zeroizing<String>>,
    /// The environments referenced.
    pub environments: Vec<dbcreds::EnvName>,
}

impl Prepared {
    /// As the supervisor takes it.
    fn into_launch(self) -> super::Launch {
        super::Launch {
            set: self.set,
            remove: self.remove,
            passwords: self.passwords,
            environments: self.environments,
        }
    }
}

/// Gathers the variables, resolves every reference (before anything
/// starts) and says what CMD's environment gets.
pub async fn prepare(a: &RunArgs) -> Result<Prepared, Failure> {
    let vars = Vars::gather(&a.env_files)?;
    let (wanted, by_var) = vars.references()?;
    let environments = wanted.environments();
    child::check_nesting(child::current_env().as_deref(), &environments, a.force)?;
    if wanted.is_empty() {
        crate::output::note(
            "dbcreds: no dbcreds://ENV/FIELD references in the environment or the env files: the command gets them unchanged",
        );
    }
    let resolved = wanted.fetch(true, a.require_fresh).await?;
    let mut set: Vec<(OsString, Zeroizing<String>)> = Vec::new();
    for (key, (value, from)) in &vars.values {
        if matches!(from, From::File { .. }) {
            // Read from a file as text: valid UTF-8.
            set.push((
                key.clone(),
                Zeroizing::new(value.to_string_lossy().into_owned()),
            ));
        }
    }
    for (key, r) in &by_var {
        let value = resolved.value(r)?;
        set.push((key.clone(), value));
    }
    let mut remove = Vec::new();
    match environments.as_slice() {
        [] => {}
        [one] => set.push((DBCREDS_ENV.into(), Zeroizing::new(one.to_string()))),
        _ => remove.push(DBCREDS_ENV.into()),
    }
    Ok(Prepared {
        set,
        remove,
        passwords: resolved.passwords(),
        environments,
    })
}

/// The command with `p` applied to its environment.
pub fn command(program: &OsString, args: &[OsString], p: &Prepared) -> std::process::Command {
    let mut cmd = std::process::Command::new(program);
    cmd.args(args);
    for k in &p.remove {
        cmd.env_remove(k);
    }
    for (k, v) in &p.set {
        cmd.env(k, v.as_str());
    }
    cmd
}

pub async fn run(a: RunArgs) -> Result<(), Failure> {
    if a.supervise.supervises() {
        let (program, args) = child::program(&a.command, "the references resolved");
        return Err(super::supervised(
            async || prepare(&a).await.map(Prepared::into_launch),
            program,
            args,
            &a.supervise,
        )
        .await);
    }
    let p = prepare(&a).await?;
    let (program, args) = child::program(&a.command, "the references resolved");
    Err(child::launch(command(&program, &args, &p), &program))
}
