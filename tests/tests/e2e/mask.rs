//! `exec`/`run --mask`: the password (and its percent-encoded form in a
//! URI) becomes `***` in the command's stdout and stderr, through pipes and
//! through a pty when dbcreds runs on a terminal (util-linux `script`
//! gives it one), with `ls`'s colours intact either way.

use std::fs;

use dbcreds_tests::{Sandbox, bin, password_tail, run};

/// A directory with a subdirectory, so `ls` colours something.
fn colourful_dir(sb: &Sandbox) -> String {
    let dir = sb.user_home().join("lsdir");
    fs::create_dir_all(dir.join("subdir")).unwrap();
    fs::write(dir.join("file"), "x").unwrap();
    dir.to_str().unwrap().to_owned()
}

#[test]
fn mask_hides_the_password_through_pipes_and_keeps_colours() {
    let sb = Sandbox::with_passphrase_vault();
    let password = sb.add_unique("prod");
    let tail = password_tail(&password).to_owned();

    let script = r#"echo "pw=$PGPASSWORD"; echo "url=$DATABASE_URL"; echo "err $DBCREDS_PROD_PASSWORD" >&2; exit 4"#;
    let out = sb.cli(&["exec", "prod", "--mask", "--", "sh", "-c", script]);
    out.code(4);
    assert_eq!(
        out.stdout, "pw=***\nurl=postgresql://app:***@db.internal:5432/app\n",
        "{out}"
    );
    assert_eq!(out.stderr, "err ***\n", "{out}");
    assert!(!out.all().contains(&tail), "{out}");

    // Written in two pieces: still masked.
    let split = r#"printf '%s' "$(printf '%s' "$P" | cut -c1-9)"; sleep 0.1; printf '%s\n' "$(printf '%s' "$P" | cut -c10-)""#;
    let out = sb.cli_env(
        &["run", "--mask", "--", "sh", "-c", split],
        &[("P", "dbcreds://prod/password")],
    );
    out.ok();
    assert_eq!(out.stdout, "***\n", "{out}");

    // Colours pass untouched: byte for byte what ls writes by itself.
    let dir = colourful_dir(&sb);
    let plain = run(
        {
            let mut c = sb.command("ls");
            c.args(["--color=always", &dir]).env("TERM", "xterm");
            c
        },
        None,
    );
    assert!(
        plain.stdout.contains("\u{1b}["),
        "ls wrote no colours:\n{plain}"
    );
    // (GNU ls colours only for a TERM it knows.)
    let masked = sb.cli_env(
        &["exec", "prod", "--mask", "--", "ls", "--color=always", &dir],
        &[("TERM", "xterm")],
    );
    masked.ok();
    assert_eq!(masked.stdout, plain.stdout, "{masked}");

    // A signal ending the command: the shells' 128+N.
    let out = sb.cli(&["exec", "prod", "--mask", "--", "sh", "-c", "kill -TERM $$"]);
    out.code(128 + 15);
}

#[test]
fn mask_on_a_terminal_gives_the_command_a_pty() {
    let sb = Sandbox::with_passphrase_vault();
    let password = sb.add_unique("prod");
    let dir = colourful_dir(&sb);
    let on_terminal = |command: &str| {
        let mut cmd = sb.command("script");
        cmd.args(["-q", "-e", "-c", command, "/dev/null"])
            .env("TERM", "xterm");
        run(cmd, None)
    };
    let inner =
        format!("ls --color=auto {dir}; test -t 1 && echo stdout-is-a-tty; echo \"$PGPASSWORD\"");
    let out = on_terminal(&format!(
        "{} exec prod --mask -- sh -c '{inner}'",
        bin("dbcreds").display()
    ));
    out.ok();
    let text = out.stdout.replace("\r\n", "\n");
    assert!(text.contains("stdout-is-a-tty\n***\n"), "{out}");
    assert!(!out.stdout.contains(password_tail(&password)), "{out}");
    // `--color=auto` colours only on a terminal: the pty made it colour,
    // exactly as it does on the terminal itself.
    let direct = on_terminal(&format!("ls --color=auto {dir}"));
    assert!(direct.stdout.contains("\u{1b}["), "{direct}");
    assert!(
        out.stdout.starts_with(&direct.stdout),
        "colours differ:\n{out}\n{direct}"
    );
    assert!(!out.stdout.contains("\r\r\n"), "line ends doubled:\n{out}");
}
