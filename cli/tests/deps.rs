//! The CLI links no SQL driver, no keyring code and no vault cryptography:
//! those belong to the agent. Checked on the dependency graph, both for the
//! CLI built alone (`cargo install --path cli`) and for the CLI of a
//! workspace build, where cargo unifies the features every member asks of
//! a shared crate, so a feature the agent turned on would reach the CLI.

use std::process::Command;

/// Crates (by a part of their name) the CLI must not link.
const FORBIDDEN: &[&str] = &["sqlx", "keyring", "aes-gcm"];

/// `cargo tree -e normal ARGS`, run from this crate's directory.
fn cargo_tree(args: &[&str]) -> String {
    // Set by `cargo test` when it runs tests; the compile-time value is the
    // same cargo, for a test binary run by hand.
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| env!("CARGO").into());
    let out = Command::new(cargo)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["tree", "-e", "normal"])
        .args(args)
        .output()
        .expect("run cargo tree");
    assert!(
        out.status.success(),
        "cargo tree {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("cargo tree prints UTF-8")
}

/// The forbidden crates among `lines` (`name vX.Y.Z ...`, any prefix of
/// depth digits already removed).
fn forbidden<'a>(lines: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut found: Vec<String> = lines
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| FORBIDDEN.iter().any(|f| name.contains(f)))
        .map(str::to_owned)
        .collect();
    found.sort();
    found.dedup();
    found
}

#[test]
fn the_cli_built_alone_links_no_driver_keyring_or_vault_crypto() {
    let tree = cargo_tree(&["-p", "dbcreds-cli", "--prefix", "none"]);
    assert!(tree.starts_with("dbcreds-cli "), "{tree}");
    assert_eq!(forbidden(tree.lines()), Vec::<String>::new());
}

/// The web page's crates: `dbcreds ui` runs the `dbcreds-ui` binary, so the
/// CLI itself links no HTTP server and no templates.
const WEB: &[&str] = &["axum", "maud", "dbcreds-ui"];

#[test]
fn the_cli_built_alone_links_no_web_server() {
    let tree = cargo_tree(&["-p", "dbcreds-cli", "--prefix", "none"]);
    let found: Vec<&str> = tree
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| WEB.contains(name))
        .collect();
    assert_eq!(found, Vec::<&str>::new());
    // The check can see them: the web page's own tree has them.
    let ui = cargo_tree(&["-p", "dbcreds-ui", "--prefix", "none"]);
    for w in WEB {
        assert!(
            ui.lines().any(|l| l.split_whitespace().next() == Some(w)),
            "{w} not in the tree of dbcreds-ui"
        );
    }
}

#[test]
fn the_cli_of_a_workspace_build_links_none_either() {
    // Features unified over every member, as `cargo build --workspace`
    // resolves them; without dedupe, so the CLI's subtree is printed in
    // full even where the agent's came first.
    let tree = cargo_tree(&["--workspace", "--no-dedupe", "--prefix", "depth"]);
    let cli: Vec<&str> = tree
        .lines()
        .skip_while(|l| !l.starts_with("0dbcreds-cli "))
        .enumerate()
        .take_while(|(i, l)| *i == 0 || !l.starts_with('0'))
        .map(|(_, l)| l.trim_start_matches(|c: char| c.is_ascii_digit()))
        .collect();
    assert!(cli.len() > 1, "no dbcreds-cli subtree in:\n{tree}");
    assert_eq!(forbidden(cli.into_iter()), Vec::<String>::new());
    // The check can see them: the agent's subtree has all three.
    let all = forbidden(
        tree.lines()
            .map(|l| l.trim_start_matches(|c: char| c.is_ascii_digit())),
    );
    for f in FORBIDDEN {
        assert!(all.iter().any(|n| n.contains(f)), "{f} not in {all:?}");
    }
}
