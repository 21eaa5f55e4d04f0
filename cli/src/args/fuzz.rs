//! Fuzz targets of the command line (time budget: `DBCREDS_FUZZ_SECS`,
//! see the `dbcreds-fuzz` crate): the value parsers the verbs share, and
//! whole command lines made of the real verbs, flags and values (read from
//! the clap definition, so new verbs are fuzzed too) mixed with any text.

use clap::{CommandFactory, Parser};
use dbcreds_fuzz::{Corpus, Gen, fuzz};

use super::Cli;
use super::data::parse_since;
use super::values::{ExpiresDays, MAX_EXPIRES_DAYS, parse_expires_days, parse_name, parse_option};

#[test]
fn values() {
    let seeds = [
        "90",
        "never",
        "NEVER",
        "0",
        "36500",
        "36501",
        " 7 ",
        "sslmode=require",
        "=x",
        "a b=c",
        "k=",
        "k==v",
        "7d",
        "30m",
        "1y 2w",
        "2026-01-31",
        "2026-01-31T10:00:00Z",
        "584942417355y",
        "99999999999999999999s",
        "prod",
        "Prod DB!",
    ];
    let dict = [
        "=", " ", "\t", "d", "h", "m", "s", "y", "-", ":", "T", "Z", "+", "never",
    ];
    fuzz("args::values", Corpus::text(&seeds, &dict), |b| {
        let s = String::from_utf8_lossy(b);
        let mut any = false;
        if let Ok(d) = parse_expires_days(&s) {
            any = true;
            if let ExpiresDays::Days(n) = d {
                assert!((1..=MAX_EXPIRES_DAYS).contains(&n));
            }
        }
        if let Ok((k, v)) = parse_option(&s) {
            any = true;
            assert!(!k.is_empty() && !k.chars().any(|c| c.is_whitespace() || c.is_control()));
            let (raw_k, raw_v) = s.split_once('=').expect("an '='");
            assert_eq!((raw_k.trim(), raw_v), (k.as_str(), v.as_str()));
        }
        any |= parse_since(&s).is_ok();
        any |= parse_name(&s).is_ok();
        any
    });
}

/// Every subcommand path, long and short flag and possible value of the
/// definition.
fn vocabulary() -> Vec<String> {
    fn walk(cmd: &clap::Command, out: &mut Vec<String>) {
        out.push(cmd.get_name().to_owned());
        for a in cmd.get_arguments() {
            if let Some(l) = a.get_long() {
                out.push(format!("--{l}"));
            }
            if let Some(s) = a.get_short() {
                out.push(format!("-{s}"));
            }
            for v in a.get_possible_values() {
                out.push(v.get_name().to_owned());
            }
        }
        for sub in cmd.get_subcommands() {
            walk(sub, out);
        }
    }
    let mut out = Vec::new();
    walk(&Cli::command(), &mut out);
    out.extend(
        [
            "--",
            "-",
            "prod",
            "PROD",
            "x y",
            "5432",
            "0",
            "70000",
            "7d",
            "never",
            "k=v",
            "=",
            "--port=0",
            "--help",
            "-h",
            "--version",
        ]
        .map(String::from),
    );
    out.sort();
    out.dedup();
    out
}

#[test]
fn command_line() {
    let words = vocabulary();
    let seeds = vec![
        vec![0; 16],
        vec![1; 32],
        vec![2, 0, 5, 9, 13, 200, 3],
        (0..=255).collect(),
    ];
    fuzz("args::command_line", Corpus::bytes(seeds, &[]), |b| {
        let mut g = Gen::new(b);
        let mut argv = vec!["dbcreds".to_owned()];
        for _ in 0..g.below(12) {
            argv.push(if g.below(4) == 0 {
                g.string(30)
            } else {
                words[g.below(words.len())].clone()
            });
        }
        match Cli::try_parse_from(&argv) {
            Ok(_) => true,
            Err(e) => {
                // Help, version and error text render without a panic.
                let _ = e.render().to_string();
                false
            }
        }
    });
}
