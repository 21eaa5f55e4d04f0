//! The README's starship snippet, read from the README itself and run
//! inside `dbcreds exec` and `dbcreds run`: the red module shows for prod,
//! the yellow one for any other environment, neither outside.

use dbcreds_tests::{Sandbox, python_or_skip, repo_path, run};

/// The `[custom.*]` modules of the README's starship snippet, as JSON.
fn snippet() -> serde_json::Value {
    let readme = std::fs::read_to_string(repo_path("README.md")).expect("README");
    let section = readme
        .split_once("### The environment in your prompt")
        .expect("the prompt section")
        .1;
    let toml = section
        .split_once("```toml\n")
        .and_then(|(_, rest)| rest.split_once("```"))
        .expect("a toml block")
        .0;
    let mut cmd = std::process::Command::new("python3");
    cmd.args([
        "-c",
        "import json, sys, tomllib; print(json.dumps(tomllib.loads(sys.stdin.read())))",
    ]);
    let out = run(cmd, Some(toml.as_bytes()));
    out.ok();
    out.json()["custom"].clone()
}

#[test]
fn the_starship_snippet_shows_the_environment_prod_in_red() {
    if !python_or_skip(
        "the_starship_snippet_shows_the_environment_prod_in_red",
        &["tomllib"],
    ) {
        return;
    }
    let modules = snippet();
    let sb = Sandbox::with_passphrase_vault();
    sb.add_unique("prod");
    sb.add_unique("dev");
    // Which modules show, and what they print, in a shell of `args`.
    let shown = |args: &[&str], vars: &[(&str, &str)]| -> Vec<(String, String, String)> {
        let mut found = Vec::new();
        for (name, m) in modules.as_object().expect("modules") {
            let script = format!(
                "{} && {}",
                m["when"].as_str().unwrap(),
                m["command"].as_str().unwrap()
            );
            let mut full: Vec<&str> = args.to_vec();
            full.extend_from_slice(&["--", "sh", "-c", &script]);
            let out = sb.cli_env(&full, vars);
            if out.code == Some(0) {
                found.push((
                    name.clone(),
                    out.stdout.clone(),
                    m["style"].as_str().unwrap().to_owned(),
                ));
            }
        }
        found
    };
    assert_eq!(
        shown(&["exec", "prod"], &[]),
        [("dbcreds_prod".into(), "prod".into(), "bold red".into())]
    );
    assert_eq!(
        shown(&["exec", "dev"], &[]),
        [("dbcreds".into(), "dev".into(), "bold yellow".into())]
    );
    assert_eq!(
        shown(&["run"], &[("PW", "dbcreds://prod/password")]),
        [("dbcreds_prod".into(), "prod".into(), "bold red".into())]
    );
    // Outside: nothing (`run` with no references leaves DBCREDS_ENV unset).
    assert_eq!(shown(&["run"], &[]), []);
}
