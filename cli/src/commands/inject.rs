//! `dbcreds inject [-i TEMPLATE] [-o FILE] [--check]`: a text file with its
//! `{{ dbcreds://ENV/FIELD }}` references replaced (`config/database.yml`, a
//! Django settings file), written 0600 ([`crate::files`]) or to stdout.
//! `--check` resolves every reference against `Describe` only: the
//! environments and fields exist, and nothing secret is fetched.

use std::io::Read;
use std::path::Path;

use crate::args::InjectArgs;
use crate::exit::Failure;
use crate::refs::Wanted;
use crate::template;

pub async fn run(a: InjectArgs) -> Result<(), Failure> {
    let (text, name) = read_template(a.input.as_deref())?;
    let slots = template::scan(&text, &name)?;
    let mut wanted = Wanted::default();
    for s in &slots {
        wanted.push(s.reference.clone(), format!("{name}:{}", s.line));
    }
    if a.check {
        wanted.fetch(false, false).await?;
        let envs: Vec<String> = wanted
            .environments()
            .iter()
            .map(ToString::to_string)
            .collect();
        return crate::output::stdout_line(&format!(
            "ok: {} reference{} ({})",
            wanted.len(),
            if wanted.len() == 1 { "" } else { "s" },
            if envs.is_empty() {
                "none".to_owned()
            } else {
                envs.join(", ")
            }
        ));
    }
    let resolved = wanted.fetch(true, a.require_fresh).await?;
    let out = template::render(&text, &slots, |r| resolved.value(r))?;
    match &a.output {
        Some(path) if path != Path::new("-") => {
            crate::files::write_private(path, out.as_bytes(), a.force)
        }
        _ => crate::output::stdout(&out),
    }
}

/// The template's text and the name errors give it.
fn read_template(input: Option<&Path>) -> Result<(String, String), Failure> {
    match input.filter(|p| *p != Path::new("-")) {
        Some(path) => {
            let bytes = std::fs::read(path).map_err(|e| {
                Failure::usage(format!("cannot read the template {}: {e}", path.display()))
            })?;
            let name = path.display().to_string();
            let text = String::from_utf8(bytes)
                .map_err(|_| Failure::usage(format!("{name} is not UTF-8 text")))?;
            Ok((text, name))
        }
        None => {
            let mut text = String::new();
            std::io::stdin().read_to_string(&mut text).map_err(|e| {
                Failure::usage(format!("cannot read the template from standard input: {e}"))
            })?;
            Ok((text, "<stdin>".into()))
        }
    }
}
