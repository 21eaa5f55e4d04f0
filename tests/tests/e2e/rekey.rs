//! `dbcreds rekey`: a new data key with every password kept, the keyring
//! left with one entry, old backups still restoring; and crash safety as
//! for rotations: an abort at each step (failpoints), then SIGKILLs at
//! random moments of re-keys of a vault of 300 environments. After each,
//! a fresh agent must open every password with whichever key is in charge.

use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::{Duration, Instant};

use dbcreds_tests::{PASSPHRASE, Sandbox, exit, kill_9, token, unique_password};

/// Adds `n` environments (`env-000`, ...) with unique passwords in one
/// `import --from json`; returns them by name.
fn populate(sb: &Sandbox, n: usize) -> BTreeMap<String, String> {
    let all: BTreeMap<String, String> = (0..n)
        .map(|i| (format!("env-{i:03}"), unique_password()))
        .collect();
    let docs: Vec<serde_json::Value> = all
        .iter()
        .map(|(name, pw)| {
            serde_json::json!({"name": name, "host": "db.internal", "database": "app",
                               "username": "app", "password": pw})
        })
        .collect();
    let file = sb.root().join("populate.json");
    std::fs::write(&file, serde_json::to_string(&docs).unwrap()).unwrap();
    sb.cli(&["import", "--from", "json", file.to_str().unwrap()])
        .ok();
    all
}

/// Every password, by name, from one `export --all --include-passwords`.
#[track_caller]
fn passwords(sb: &Sandbox) -> BTreeMap<String, String> {
    let out = sb.cli(&["export", "--all", "--format", "json", "--include-passwords"]);
    out.ok();
    out.json()
        .as_array()
        .expect("a JSON array")
        .iter()
        .map(|d| {
            (
                d["name"].as_str().unwrap_or_default().to_owned(),
                d["password"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// The vault's key-check value: changes exactly when a new key commits.
fn key_check(sb: &Sandbox) -> String {
    let out = sb.vault_sql("SELECT value FROM meta WHERE key = 'key_check';");
    out.ok();
    out.stdout.trim().to_owned()
}

fn rekey(sb: &Sandbox, passphrase: &str) -> dbcreds_tests::Output {
    sb.cli_stdin(&["rekey", "--passphrase-stdin"], &format!("{passphrase}\n"))
}

fn keyring_items(sb: &Sandbox) -> usize {
    sb.keyring().expect("a keyring sandbox").item_count()
}

#[test]
fn rekey_keeps_every_password_and_old_backups_still_restore() {
    let sb = Sandbox::with_keyring_vault();
    sb.cli_stdin(
        &["passphrase", "add", "--passphrase-stdin"],
        &format!("{PASSPHRASE}\n"),
    )
    .ok();
    let expected = populate(&sb, 20);
    let recovery = format!("recovery {}", token());
    let old_backup = sb.root().join("before-rekey.db");
    sb.cli_stdin(
        &["backup", old_backup.to_str().unwrap(), "--passphrase-stdin"],
        &format!("{recovery}\n"),
    )
    .ok();
    let before = key_check(&sb);
    let sealed = |sb: &Sandbox| {
        let out =
            sb.vault_sql("SELECT hex(sealed_password) FROM environments WHERE name = 'env-000';");
        out.ok();
        out.stdout.trim().to_owned()
    };
    let sealed_before = sealed(&sb);

    // The vault has a passphrase: rekey needs it, and a wrong one changes
    // nothing.
    sb.cli(&["rekey"])
        .fails(exit::USAGE, &["--passphrase-stdin"]);
    rekey(&sb, "not it").fails(exit::WRONG_PASSPHRASE, &["passphrase"]);
    assert_eq!(key_check(&sb), before);

    let out = rekey(&sb, PASSPHRASE);
    out.ok();
    assert!(out.stderr.contains("20 passwords re-sealed"), "{out}");
    assert_ne!(key_check(&sb), before, "a new key is in charge");
    assert_ne!(sealed(&sb), sealed_before, "the passwords are sealed anew");
    assert_eq!(passwords(&sb), expected);
    assert_eq!(
        keyring_items(&sb),
        1,
        "the old key's keyring entry is deleted"
    );
    let events = sb.json(&["audit"]);
    assert!(
        events
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["environment"] == "*" && e["operation"] == "rekey" && e["outcome"] == "ok"),
        "{events}"
    );

    // Both unlockers hand out the new key: the keyring to a new agent, the
    // passphrase after a lock.
    kill_9(sb.agent_pid());
    assert_eq!(passwords(&sb), expected);
    sb.cli(&["lock"]).ok();
    sb.unlock_passphrase(PASSPHRASE);
    assert_eq!(passwords(&sb), expected);

    // A backup from before holds the old key, and still restores.
    let fresh = Sandbox::new();
    fresh
        .cli_stdin(
            &[
                "restore",
                old_backup.to_str().unwrap(),
                "--passphrase-stdin",
                "--no-keyring",
            ],
            &format!("{recovery}\n"),
        )
        .ok();
    assert_eq!(passwords(&fresh), expected);
    assert_eq!(key_check(&fresh), before);
}

#[test]
fn a_passphrase_vault_rekeys_with_its_passphrase_file() {
    let (sb, _agent) = Sandbox::with_passphrase_file_agent();
    let expected = populate(&sb, 5);
    let before = key_check(&sb);
    // DBCREDS_PASSPHRASE_FILE names the vault's passphrase: rekey reads it.
    sb.cli(&["rekey"]).ok();
    assert_ne!(key_check(&sb), before);
    assert_eq!(passwords(&sb), expected);
    sb.cli(&["lock"]).ok();
    sb.unlock_passphrase(PASSPHRASE);
    assert_eq!(passwords(&sb), expected);
}

/// A vault with both unlockers and `n` environments, its agent stopped.
fn stopped_vault(n: usize) -> (Sandbox, BTreeMap<String, String>) {
    let sb = Sandbox::with_keyring();
    let agent = sb.start_agent();
    sb.init_keyring();
    sb.cli_stdin(
        &["passphrase", "add", "--passphrase-stdin"],
        &format!("{PASSPHRASE}\n"),
    )
    .ok();
    let expected = populate(&sb, n);
    agent.terminate();
    (sb, expected)
}

/// After a crash: a new agent opens every password (with whichever key
/// is in charge), through the keyring and through the passphrase, and the
/// keyring is left with one entry. Returns whether the new key is in
/// charge.
#[track_caller]
fn check_after_crash(
    sb: &Sandbox,
    expected: &BTreeMap<String, String>,
    key_before: &str,
    what: &str,
) -> bool {
    let got = passwords(sb);
    let lost: Vec<&String> = expected
        .iter()
        .filter(|(name, pw)| got.get(*name) != Some(pw))
        .map(|(name, _)| name)
        .collect();
    assert!(
        lost.is_empty(),
        "{what}: passwords lost or changed: {lost:?}\n{}",
        sb.logs()
    );
    assert_eq!(got.len(), expected.len(), "{what}");
    assert_eq!(
        keyring_items(sb),
        1,
        "{what}: the stray keyring entry is settled"
    );
    key_check(sb) != key_before
}

#[test]
fn a_crash_at_each_step_of_a_rekey_leaves_one_key_that_opens_everything() {
    let (mut sb, expected) = stopped_vault(30);
    // The failpoint, whether the new key is in charge afterwards, and how
    // many keyring entries the crash left (two: the old key's and the new
    // one's, until the next agent deletes the one not in charge).
    for (failpoint, new_key, entries) in [
        ("rekey:after_record", false, 1),
        ("rekey:after_keyring", false, 2),
        ("rekey:before_commit", false, 2),
        ("rekey:after_commit", true, 2),
        ("rekey:after_delete", true, 1),
    ] {
        sb.set_env("DBCREDS_FAILPOINT", failpoint);
        let crashing = sb.start_agent();
        let before = key_check(&sb);
        rekey(&sb, PASSPHRASE).failed();
        let status = crashing.terminate();
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&status),
            Some(6),
            "{failpoint}: the agent should have aborted: {status:?}\n{}",
            sb.logs()
        );
        assert_eq!(
            keyring_items(&sb),
            entries,
            "{failpoint}: entries left by the crash"
        );
        sb.set_env("DBCREDS_FAILPOINT", "");
        let agent = sb.start_agent();
        let in_charge = check_after_crash(&sb, &expected, &before, failpoint);
        assert_eq!(in_charge, new_key, "{failpoint}: which key is in charge");
        // The passphrase row matches the key in charge.
        sb.cli(&["lock"]).ok();
        sb.unlock_passphrase(PASSPHRASE);
        assert_eq!(passwords(&sb), expected, "{failpoint}");
        agent.terminate();
    }
    // And a re-key after all that works.
    let _agent = sb.start_agent();
    let before = key_check(&sb);
    rekey(&sb, PASSPHRASE).ok();
    assert!(check_after_crash(&sb, &expected, &before, "a last re-key"));
}

/// xorshift64*: random kill times without another dependency; the seed is
/// printed so a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `[0, max)`.
    fn below(&mut self, max: Duration) -> Duration {
        let micros = u64::try_from(max.as_micros()).unwrap_or(u64::MAX).max(1);
        Duration::from_micros(self.next() % micros)
    }
}

/// Starts `dbcreds rekey` (no terminal, nothing to ask: a keyring vault)
/// without waiting for it. It may not start an agent of its own when the
/// one it meets is already dead.
fn spawn_rekey(sb: &Sandbox) -> std::process::Child {
    let mut cmd = sb.cli_command(&["rekey"]);
    cmd.env("DBCREDS_AGENT_BIN", "/nonexistent/dbcreds-agent")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    cmd.spawn().expect("spawn dbcreds rekey")
}

/// Where a kill left the re-key, told apart by the key check and the
/// number of keyring entries right after the kill (before any agent ran).
#[derive(Debug, Default)]
struct Tally {
    /// Old key, one entry: killed before the new key reached the keyring.
    before_keyring: u32,
    /// Old key, two entries: the new key stored, the transaction not committed.
    stored_not_committed: u32,
    /// New key, two entries: committed, the old entry not deleted yet.
    committed_old_entry_left: u32,
    /// New key, one entry: finished (or killed after the old entry went).
    finished: u32,
}

/// SIGKILLs at the agent's own pace, and (the second test) with a pause
/// after every step (`DBCREDS_TEST_STEP_PAUSE_MS`), so that the moments
/// between storing the new key and deleting the old one get their share
/// of kills too. Two tests, so they run side by side.
const KILLS_AT_PACE: u32 = 20;
const KILLS_WITH_PAUSES: u32 = 40;
const ENVIRONMENTS: usize = 300;

#[test]
fn rekey_under_random_sigkills_loses_no_password() {
    let tally = random_kills(KILLS_AT_PACE, "");
    assert!(
        tally.before_keyring + tally.stored_not_committed > 0
            && tally.committed_old_entry_left + tally.finished > 0,
        "the kills must land before and after the commit: {tally:?}"
    );
}

#[test]
fn rekey_under_random_sigkills_between_paused_steps_loses_no_password() {
    let tally = random_kills(KILLS_WITH_PAUSES, "25");
    // Every stretch is tens of milliseconds wide: kills must have landed
    // on both sides of the commit, and between the keyring and the commit
    // or the commit and the old entry's deletion.
    assert!(
        tally.before_keyring + tally.stored_not_committed > 0
            && tally.committed_old_entry_left + tally.finished > 0
            && tally.stored_not_committed + tally.committed_old_entry_left > 0,
        "the kills must land before, between and after the keyring and the commit: {tally:?}"
    );
}

/// A keyring vault of [`ENVIRONMENTS`], re-keyed `kills` times with a
/// SIGKILL at a random moment of each (agents paused `pause_ms` after
/// every step); every password checked by a new agent after each kill.
fn random_kills(kills: u32, pause_ms: &str) -> Tally {
    let sb = Sandbox::with_keyring_vault().with_env("DBCREDS_TEST_STEP_PAUSE_MS", pause_ms);
    let expected = populate(&sb, ENVIRONMENTS);
    kill_9(sb.agent_pid());
    let seed = u64::from_str_radix(&token()[..16], 16).unwrap_or(1) | 1;
    let mut rng = Rng(seed);
    let (tally, took) = kill_rounds(&sb, &expected, &mut rng, kills);
    eprintln!(
        "rekey under SIGKILL: {kills} kills (pause {pause_ms:?} ms, seed {seed:#x}, one re-key {took:?}), \
         {ENVIRONMENTS} environments, 0 passwords lost: {tally:?}"
    );
    tally
}

/// `kills` re-keys killed at random moments, each checked by a new agent;
/// returns where the kills landed and how long one whole re-key took.
fn kill_rounds(
    sb: &Sandbox,
    expected: &BTreeMap<String, String>,
    rng: &mut Rng,
    kills: u32,
) -> (Tally, Duration) {
    // How long one re-key takes here, to aim the kills at it.
    let agent = sb.start_agent();
    check_after_crash(sb, expected, &key_check(sb), "before the kills");
    let started = Instant::now();
    let out = spawn_rekey(sb).wait_with_output().expect("wait rekey");
    let took = started.elapsed();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    agent.kill_9();

    // Starts a little past one re-key; narrows when kills come too late,
    // widens when they come too early, so most land inside one.
    let mut window = took + took / 2;
    let mut tally = Tally::default();
    let mut agent = sb.start_agent();
    let mut before = key_check(sb);
    for kill in 0..kills {
        let mut cli = spawn_rekey(sb);
        let delay = rng.below(window);
        // The kill time is the experiment, not a wait for readiness.
        std::thread::sleep(delay);
        agent.kill_9();
        let _ = cli.wait();
        let entries = keyring_items(sb);
        let new_key = key_check(sb) != before;
        match (new_key, entries) {
            (false, 1) => {
                tally.before_keyring += 1;
                window += window / 10;
            }
            (false, _) => tally.stored_not_committed += 1,
            (true, 1) => {
                tally.finished += 1;
                window -= window / 5;
            }
            (true, _) => tally.committed_old_entry_left += 1,
        }
        agent = sb.start_agent();
        check_after_crash(
            sb,
            expected,
            &before,
            &format!("after kill {kill} at {delay:?}"),
        );
        before = key_check(sb);
    }
    agent.kill_9();
    (tally, took)
}
