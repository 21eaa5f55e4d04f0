//! `dbcreds policy set|show|remove`: what an environment's secret may be
//! revealed to, and how (docs/security.md). The agent stores and enforces
//! it; a change that loosens a policy in force waits for a confirmation.

use std::path::PathBuf;

use dbcreds::policy::{Policy, PolicyInfo, PolicySource, PolicyTarget};
use serde::Serialize;

use crate::args::{PolicyCommand, PolicySetArgs, PolicyTargetArgs};
use crate::exit::Failure;
use crate::output::{self, Paint};

pub async fn run(c: PolicyCommand) -> Result<(), Failure> {
    match c {
        PolicyCommand::Set(a) => set(a).await,
        PolicyCommand::Show(a) => {
            let mut client = super::connect().await?;
            let info = client.policy(&target(&a.target)).await?;
            print(&info, a.json)
        }
        PolicyCommand::Remove(a) => {
            let mut client = super::connect().await?;
            let info = client.set_policy(&target(&a), None).await?;
            print(&info, false)
        }
    }
}

fn target(a: &PolicyTargetArgs) -> PolicyTarget {
    match &a.name {
        Some(n) if !a.production_default => PolicyTarget::Env(n.clone()),
        _ => PolicyTarget::ProductionDefault,
    }
}

async fn set(a: PolicySetArgs) -> Result<(), Failure> {
    let allow = a
        .allow
        .iter()
        .map(|p| program_path(p))
        .collect::<Result<Vec<_>, _>>()?;
    let t = target(&a.target);
    let mut client = super::connect().await?;
    // Flags not given keep what is in force.
    let mut policy = client.policy(&t).await?.policy;
    if let Some(c) = a.confirm {
        policy.confirm = c;
    }
    if let Some(d) = a.approve_for {
        policy.approve_for = d;
    }
    if a.allow_any {
        policy.allow.clear();
    } else if !allow.is_empty() {
        policy.allow = allow;
    }
    if let Some(m) = a.max_unlocked {
        policy.max_unlocked = m.duration();
    }
    policy.check()?;
    let info = client.set_policy(&t, Some(&policy)).await?;
    print(&info, a.json)
}

/// What `--allow` names, as an absolute path for the agent to resolve:
/// `~` and `~/...` against `$HOME`, a bare name through `PATH`, anything
/// else against the working directory.
fn program_path(raw: &str) -> Result<PathBuf, Failure> {
    let home = || {
        std::env::var_os("HOME")
            .filter(|h| !h.is_empty())
            .map(PathBuf::from)
            .ok_or_else(|| Failure::usage(format!("--allow {raw}: HOME is not set to expand ~")))
    };
    let path = if raw == "~" {
        home()?
    } else if let Some(rest) = raw.strip_prefix("~/") {
        home()?.join(rest)
    } else if !raw.contains('/') {
        let dirs = std::env::var_os("PATH").unwrap_or_default();
        std::env::split_paths(&dirs)
            .map(|d| d.join(raw))
            .find(|p| p.is_file())
            .ok_or_else(|| {
                Failure::usage(format!(
                    "--allow {raw}: no such program on PATH: give its path"
                ))
            })?
    } else {
        PathBuf::from(raw)
    };
    std::path::absolute(&path).map_err(|e| Failure::usage(format!("--allow {raw}: {e}")))
}

#[derive(Serialize)]
struct PolicyJson<'a> {
    name: Option<&'a str>,
    source: &'a str,
    confirm: &'a str,
    approve_for_secs: u64,
    allow: Vec<String>,
    max_unlocked_secs: Option<u64>,
    forgotten: bool,
    updated_at: Option<String>,
}

/// The JSON of `show --json`'s `policy` and of `policy show --json`.
pub fn json_of(info: &PolicyInfo) -> serde_json::Value {
    let p = &info.policy;
    serde_json::to_value(PolicyJson {
        name: info.name.as_ref().map(|n| n.as_str()),
        source: info.source.as_str(),
        confirm: p.confirm.as_str(),
        approve_for_secs: p.approve_for.as_secs(),
        allow: p.allow.iter().map(|a| a.display().to_string()).collect(),
        max_unlocked_secs: p.max_unlocked.map(|d| d.as_secs()),
        forgotten: info.forgotten,
        updated_at: info.updated_at.map(output::rfc3339),
    })
    .unwrap_or_default()
}

fn print(info: &PolicyInfo, json: bool) -> Result<(), Failure> {
    if json {
        return output::json(&json_of(info));
    }
    output::stdout(&human(info, output::color_stdout()))
}

/// Where a policy comes from, in words.
pub fn source_words(info: &PolicyInfo) -> &'static str {
    match (info.source, info.name.is_some()) {
        (PolicySource::Own, true) => "its own",
        (PolicySource::Own, false) => "set",
        (PolicySource::ProductionDefault, _) => "the production default",
        (PolicySource::None, true) => "none (any program of yours, no confirmation)",
        (PolicySource::None, false) => "none set",
    }
}

/// The rows of a policy for `policy show` and `show`.
pub fn rows(info: &PolicyInfo) -> Vec<(&'static str, String, Paint)> {
    let p: &Policy = &info.policy;
    let mut rows = vec![("policy", source_words(info).to_owned(), Paint::Plain)];
    if info.source == PolicySource::None && info.name.is_some() {
        return rows;
    }
    let confirm = match p.confirm {
        dbcreds::policy::Confirm::OncePerSession => format!(
            "once-per-session (an approval lasts {})",
            humantime::format_duration(p.approve_for)
        ),
        other => other.to_string(),
    };
    rows.push(("confirm", confirm, Paint::Plain));
    let allow = if p.allow.is_empty() {
        "any program".to_owned()
    } else {
        p.allow
            .iter()
            .map(|a| a.display().to_string())
            .collect::<Vec<_>>()
            .join(" ")
    };
    rows.push(("allow", allow, Paint::Plain));
    let kept = match (p.max_unlocked, info.forgotten) {
        (_, true) => ("forgotten: run `dbcreds unlock`".to_owned(), Paint::Yellow),
        (Some(d), false) => (
            format!("{} after an unlock", humantime::format_duration(d)),
            Paint::Plain,
        ),
        (None, false) => ("as long as the vault".to_owned(), Paint::Plain),
    };
    rows.push(("max unlocked", kept.0, kept.1));
    rows
}

fn human(info: &PolicyInfo, color: bool) -> String {
    let mut rows = vec![(
        "environment",
        info.name
            .as_ref()
            .map_or("(production default)".to_owned(), ToString::to_string),
        Paint::Bold,
    )];
    rows.extend(self::rows(info));
    let width = rows.iter().map(|(k, _, _)| k.len()).max().unwrap_or(0) + 1;
    rows.iter()
        .map(|(k, v, paint)| {
            format!(
                "{:<width$} {}\n",
                format!("{k}:"),
                paint.apply(&output::printable(v), color)
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn allow_paths_are_made_absolute_for_the_agent() {
        let sh = program_path("sh").unwrap();
        assert!(sh.is_absolute() && sh.ends_with("sh"), "{}", sh.display());
        let rel = program_path("./bin/x").unwrap();
        assert!(rel.is_absolute());
        assert!(program_path("no-such-program-here").is_err());
        if let Some(home) = std::env::var_os("HOME").filter(|h| !h.is_empty()) {
            assert_eq!(
                program_path("~/.cargo/bin/x").unwrap(),
                Path::new(&home).join(".cargo/bin/x")
            );
        }
    }
}
