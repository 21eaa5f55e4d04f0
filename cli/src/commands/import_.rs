//! `dbcreds import --from python|env|pgpass|json [PATH]`: gathers the
//! source's text (and, for the Python layout, its keyring entries through
//! the agent), lets the library's parsers turn it into environments, and
//! stores them with `Put`. Existing environments are kept unless
//! `--overwrite`; `--dry-run` changes nothing. The summary lists what was
//! imported, what was skipped and why.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::import::{Batch, SourceError, legacy, pgpass, python};
use dbcreds::{Client, EnvName, render};
use serde::Serialize;
use zeroize::Zeroizing;

use crate::args::{ImportArgs, ImportSource};
use crate::exit::Failure;
use crate::output::{self, Cell, Paint};

/// The name `--from env` gives its environment without `--name`: what the
/// Python tool's `dbcreds-migrate` called it.
pub const DEFAULT_ENV_NAME: &str = "default";

pub async fn run(a: ImportArgs) -> Result<(), Failure> {
    if a.kind.is_some() && a.from != ImportSource::Env {
        return Err(Failure::usage(format!(
            "--kind applies to --from env only; --from {} reads the kind from the source",
            a.from.as_str()
        )));
    }
    if a.from == ImportSource::Env && a.path.is_some() {
        return Err(Failure::usage(
            "--from env reads variables, not a file: leave the path out",
        ));
    }
    let mut client = None;
    let (source, mut batch) = match a.from {
        ImportSource::Python => {
            let dir = match &a.path {
                Some(p) => p.clone(),
                None => home()?.join(".dbcreds"),
            };
            let c = connect(&mut client).await?;
            (dir.display().to_string(), from_python(&dir, c).await?)
        }
        ImportSource::Env => {
            let default = EnvName::parse(DEFAULT_ENV_NAME)?;
            let name = a.name.as_ref().unwrap_or(&default);
            let batch = legacy::parse(|k| std::env::var(k).ok(), name, a.kind);
            ("DB_* variables".to_owned(), batch)
        }
        ImportSource::Pgpass => {
            let file = match &a.path {
                Some(p) => p.clone(),
                None => default_pgpass()?,
            };
            let text = read_text(&file, "password file")?;
            (file.display().to_string(), pgpass::parse(&text))
        }
        ImportSource::Json => {
            let file = a.path.clone().ok_or_else(|| {
                Failure::usage(
                    "--from json needs the file: `dbcreds import --from json FILE` (- for standard input)",
                )
            })?;
            let text = if file == Path::new("-") {
                let mut buf = Zeroizing::new(String::new());
                std::io::stdin().read_to_string(&mut buf).map_err(|e| {
                    Failure::usage(format!("cannot read the JSON from standard input: {e}"))
                })?;
                buf
            } else {
                read_text(&file, "JSON file")?
            };
            let shown = if file == Path::new("-") {
                "standard input".to_owned()
            } else {
                file.display().to_string()
            };
            let batch = crate::import::json::parse_named(&text, a.name.as_ref())
                .map_err(|e| source_error(&shown, &e))?;
            (shown, batch)
        }
    };
    if let (Some(name), false) = (&a.name, a.from == ImportSource::Env) {
        batch.rename(name)?;
    }

    let client = connect(&mut client).await?;
    let existing: BTreeSet<String> = client
        .list()
        .await?
        .into_iter()
        .map(|e| e.name.to_string())
        .collect();
    let mut summary = Summary {
        source,
        dry_run: a.dry_run,
        ..Summary::default()
    };
    for s in std::mem::take(&mut batch.skipped) {
        summary.skipped.push(SkippedJson {
            name: s.name,
            origin: s.origin,
            reason: s.reason,
        });
    }
    // Names already taken, by the vault or earlier in this batch, for the
    // DBCREDS_<ENV>_* clash the agent would refuse (`eu-prod`, `eu_prod`).
    let mut taken: Vec<dbcreds::EnvName> = existing
        .iter()
        .filter_map(|n| dbcreds::EnvName::parse(n).ok())
        .collect();
    for entry in std::mem::take(&mut batch.entries) {
        let name = entry.environment.name.to_string();
        if let Some(other) = taken
            .iter()
            .find(|t| t.shares_variables_with(&entry.environment.name))
        {
            summary.skipped.push(SkippedJson {
                name: Some(name.clone()),
                origin: entry.origin,
                reason: entry.environment.name.variables_clash(other).to_string(),
            });
            continue;
        }
        taken.push(entry.environment.name.clone());
        let exists = existing.contains(&name);
        if exists && !a.overwrite {
            summary.skipped.push(SkippedJson {
                name: Some(name.clone()),
                origin: entry.origin,
                reason: format!(
                    "'{name}' exists already: kept as it is (pass --overwrite to replace it)"
                ),
            });
            continue;
        }
        if !a.dry_run
            && let Err(e) = client
                .put(&entry.environment, &entry.password, a.overwrite)
                .await
        {
            let mut f = Failure::from(e);
            f.message = format!(
                "importing '{name}' ({}) failed after {} imported: {}",
                entry.origin,
                summary.imported.len(),
                f.message
            );
            return Err(f);
        }
        summary.imported.push(ImportedJson {
            uri: render::uri(&entry.environment, None),
            name,
            origin: entry.origin,
            action: match (exists, a.dry_run) {
                (false, false) => "added",
                (true, false) => "replaced",
                (false, true) => "would add",
                (true, true) => "would replace",
            },
            notes: entry.notes,
        });
    }
    if a.json {
        output::json(&summary)
    } else {
        output::stdout(&text(&summary, output::color_stdout()))
    }
}

async fn connect(slot: &mut Option<Client>) -> Result<&mut Client, Failure> {
    if slot.is_none() {
        *slot = Some(super::noticing(Client::connect_or_start().await?));
    }
    slot.as_mut()
        .ok_or_else(|| Failure::other("no agent connection"))
}

fn home() -> Result<PathBuf, Failure> {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
        .ok_or_else(|| Failure::usage("HOME is not set: give the path explicitly"))
}

/// libpq's own choice: `$PGPASSFILE`, else `~/.pgpass`.
fn default_pgpass() -> Result<PathBuf, Failure> {
    match std::env::var_os("PGPASSFILE").filter(|v| !v.is_empty()) {
        Some(p) => Ok(PathBuf::from(p)),
        None => Ok(home()?.join(".pgpass")),
    }
}

fn source_error(shown: &str, e: &SourceError) -> Failure {
    Failure::usage(format!("cannot import {shown}: {e}"))
}

/// A whole file as text; a missing or unreadable one is a usage error
/// naming it.
fn read_text(path: &Path, what: &str) -> Result<Zeroizing<String>, Failure> {
    let bytes = Zeroizing::new(std::fs::read(path).map_err(|e| {
        Failure::usage(format!(
            "cannot read the {what} {}: {}",
            path.display(),
            io_reason(&e)
        ))
    })?);
    match std::str::from_utf8(&bytes) {
        Ok(t) => Ok(Zeroizing::new(t.to_owned())),
        Err(_) => Err(Failure::usage(format!(
            "the {what} {} is not UTF-8 text",
            path.display()
        ))),
    }
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

/// The Python layout: `DIR/environments.json` (and `metadata.json`), and
/// for each environment its keyring entry, read by the agent.
async fn from_python(dir: &Path, client: &mut Client) -> Result<Batch, Failure> {
    let envs_file = dir.join("environments.json");
    let envs = match std::fs::read(&envs_file) {
        Ok(b) => String::from_utf8(b)
            .map_err(|_| Failure::usage(format!("{} is not UTF-8 text", envs_file.display())))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Failure::usage(format!(
                "no environments.json in {}: give the Python dbcreds config directory (it defaults to ~/.dbcreds)",
                dir.display()
            )));
        }
        Err(e) => {
            return Err(Failure::usage(format!(
                "cannot read {}: {}",
                envs_file.display(),
                io_reason(&e)
            )));
        }
    };
    // metadata.json only fills gaps; an unreadable one is no reason to stop.
    let metadata = std::fs::read_to_string(dir.join("metadata.json")).ok();
    let layout = python::Layout::parse(&envs, metadata.as_deref())
        .map_err(|e| source_error(&envs_file.display().to_string(), &e))?;
    let mut secrets: BTreeMap<String, Zeroizing<Vec<u8>>> = BTreeMap::new();
    for name in layout.names() {
        match client.read_legacy_keyring(&name).await {
            Ok(Some(secret)) => {
                secrets.insert(name.to_string(), secret);
            }
            Ok(None) => {}
            Err(e) => {
                let mut f = Failure::from(e);
                f.message = format!(
                    "cannot read the Python dbcreds' keyring entry '{}' (nothing was imported): {}",
                    python::keyring_user(&name),
                    f.message
                );
                return Err(f);
            }
        }
    }
    Ok(layout.resolve(|n| secrets.get(n.as_str()).map(|s| s.to_vec())))
}

#[derive(Debug, Default, Serialize)]
struct Summary {
    source: String,
    dry_run: bool,
    imported: Vec<ImportedJson>,
    skipped: Vec<SkippedJson>,
}

#[derive(Debug, Serialize)]
struct ImportedJson {
    name: String,
    origin: String,
    /// added, replaced, would add, would replace
    action: &'static str,
    /// The connection URI without the password.
    uri: String,
    notes: Vec<String>,
}

#[derive(Debug, Serialize)]
struct SkippedJson {
    name: Option<String>,
    origin: String,
    reason: String,
}

fn text(s: &Summary, color: bool) -> String {
    let mut rows: Vec<Vec<Cell>> = Vec::new();
    for i in &s.imported {
        rows.push(vec![
            (i.action.to_owned(), Paint::Green),
            (i.name.clone(), Paint::Bold),
            (i.origin.clone(), Paint::Plain),
            (i.uri.clone(), Paint::Plain),
        ]);
    }
    for k in &s.skipped {
        rows.push(vec![
            ("skipped".to_owned(), Paint::Yellow),
            (k.name.clone().unwrap_or_else(|| "-".into()), Paint::Plain),
            (k.origin.clone(), Paint::Plain),
            (k.reason.clone(), Paint::Plain),
        ]);
    }
    let mut out = format!("Import from {}:\n", s.source);
    if rows.is_empty() {
        out.push_str("  nothing found\n");
    } else {
        out.push_str(&output::table(
            &["ACTION", "NAME", "FROM", "DETAIL"],
            &rows,
            color,
        ));
    }
    for i in &s.imported {
        for n in &i.notes {
            out.push_str(&format!("note: {} ({}): {n}\n", i.name, i.origin));
        }
    }
    let count = |a: &str| s.imported.iter().filter(|i| i.action.ends_with(a)).count();
    if s.dry_run {
        out.push_str(&format!(
            "Dry run, nothing changed: {} would be added, {} replaced, {} skipped.\n",
            count("add"),
            count("replace"),
            s.skipped.len()
        ));
    } else {
        out.push_str(&format!(
            "{} added, {} replaced, {} skipped.\n",
            count("added"),
            count("replaced"),
            s.skipped.len()
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_text() {
        let s = Summary {
            source: "/h/.pgpass".into(),
            dry_run: false,
            imported: vec![ImportedJson {
                name: "app".into(),
                origin: "line 1".into(),
                action: "added",
                uri: "postgresql://app@db:5432/app".into(),
                notes: vec!["port * taken as the default port 5432".into()],
            }],
            skipped: vec![SkippedJson {
                name: None,
                origin: "line 2".into(),
                reason: "the host is a wildcard (*)".into(),
            }],
        };
        let t = text(&s, false);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[0], "Import from /h/.pgpass:");
        assert!(lines[1].starts_with("ACTION"), "{t}");
        assert!(lines[2].starts_with("added    app   line 1"), "{t}");
        assert!(
            lines[3].starts_with("skipped  -     line 2  the host"),
            "{t}"
        );
        assert_eq!(
            lines[4],
            "note: app (line 1): port * taken as the default port 5432"
        );
        assert_eq!(lines[5], "1 added, 0 replaced, 1 skipped.");
        let dry = Summary {
            dry_run: true,
            imported: vec![],
            skipped: vec![],
            source: "x".into(),
        };
        assert!(text(&dry, false).contains("nothing found"));
        assert!(text(&dry, false).contains("Dry run, nothing changed"));
    }
}
