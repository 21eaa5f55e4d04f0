//! `dbcreds-load soak`: Get RPCs from N connections for a long time while a
//! writer interleaves random adds, updates, removes and lock/unlock cycles
//! (passphrase vault), sampling the agent's VmRSS, then checking that the
//! agent's view matches what the writer did and that the vault passes
//! `PRAGMA integrity_check` (through the agent's `Diagnose`).
//!
//! - Readers get the stable environments `soak-stable-NN` (never removed,
//!   only updated). Every password the writer stores starts with
//!   `<name>:`, so a reader that receives another environment's password,
//!   or another environment, counts an error. While the writer holds the
//!   vault locked, gets fail with "locked": counted as `locked`, not as
//!   errors.
//! - The writer, one connection of its own, picks an operation every
//!   `--write-every-ms` (±50 %): put a new `soak-v-N` (while fewer than
//!   `--max-volatile` exist), update a random environment (password, host,
//!   port, an option), remove a random `soak-v-N`, or, with probability
//!   `--lock-chance`, lock, wait up to 500 ms and unlock with the
//!   passphrase. It keeps the password it last stored for each name.
//! - At the end: `list` must name exactly the writer's environments, `get`
//!   of each must return the password the writer last stored, and
//!   `Diagnose` must report the vault as passing `PRAGMA integrity_check`.
//!
//! Errors are every failed or timed-out RPC (10 s per RPC) other than a
//! reader's "locked", and every mismatch; the run fails (exit 1) unless
//! there are none and the integrity check is ok.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use dbcreds::edit::Patch;
use dbcreds::unlocker::{InitUnlocker, Unlocker};
use dbcreds::{Client, EnvName, LockState};
use hdrhistogram::Histogram;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use crate::Res;

mod sample;
use sample::{Rng, environment, password, slope, stable_name, vm_kib, vm_rss_kib};

/// What `soak` is told to do.
#[derive(Clone, Debug)]
pub struct SoakArgs {
    pub connections: usize,
    pub duration: Duration,
    pub warmup: Duration,
    pub sample_every: Duration,
    pub passphrase_file: PathBuf,
    pub stable: usize,
    pub max_volatile: usize,
    pub write_every: Duration,
    pub lock_chance: f64,
    pub seed: u64,
}

const RPC_TIMEOUT: Duration = Duration::from_secs(10);
const INTEGRITY_TIMEOUT: Duration = Duration::from_secs(600);

#[derive(Default)]
struct Counters {
    gets_ok: AtomicU64,
    gets_locked: AtomicU64,
    errors: AtomicU64,
}

/// Runs an RPC under [`RPC_TIMEOUT`]; a time-out is an error like any other.
async fn timed<T>(f: impl Future<Output = dbcreds::Result<T>>) -> Result<T, String> {
    match tokio::time::timeout(RPC_TIMEOUT, f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("no answer within {RPC_TIMEOUT:?}")),
    }
}

/// The writer's record of what the vault should hold.
struct Expected {
    passwords: HashMap<EnvName, SecretString>,
    volatile: BTreeSet<EnvName>,
    generation: u64,
    next_volatile: u64,
}

#[derive(Default)]
struct WriteStats {
    puts: u64,
    updates: u64,
    removes: u64,
    lock_cycles: u64,
    errors: u64,
    first_errors: Vec<String>,
}

impl WriteStats {
    fn fail(&mut self, what: &str, e: String) {
        self.errors += 1;
        if self.first_errors.len() < 10 {
            self.first_errors.push(format!("{what}: {e}"));
        }
    }
}

pub async fn soak(socket: &Path, a: SoakArgs) -> Res<Value> {
    let passphrase = SecretString::from(
        std::fs::read_to_string(&a.passphrase_file)?
            .trim_end_matches('\n')
            .to_owned(),
    );
    let mut rng = Rng(a.seed);
    let mut admin = Client::connect_to(socket).await?;
    let status = admin.status().await?;
    match status.state {
        LockState::Uninitialized => {
            admin
                .init(InitUnlocker::Only(Unlocker::Passphrase), Some(&passphrase))
                .await?;
        }
        LockState::Locked => {
            admin.unlock(Some(&passphrase)).await?;
        }
        _ => {}
    }
    let pid = admin.status().await?.pid;
    // Start from the stable environments only.
    for env in admin.list().await? {
        admin.remove(&env.name).await?;
    }
    let mut expected = Expected {
        passwords: HashMap::new(),
        volatile: BTreeSet::new(),
        generation: 0,
        next_volatile: 0,
    };
    for i in 0..a.stable.max(1) {
        let name = stable_name(i);
        let pw = password(&name, 0, &mut rng);
        admin
            .put(&environment(name.clone(), &mut rng), &pw, true)
            .await?;
        expected.passwords.insert(name, pw);
    }
    let stable = a.stable.max(1);
    eprintln!(
        "soak: agent pid {pid}, {} connections, {} s ({} s warm-up), RSS every {} s, {stable} stable environments, up to {} more",
        a.connections,
        a.duration.as_secs(),
        a.warmup.as_secs(),
        a.sample_every.as_secs(),
        a.max_volatile
    );

    let counters = Arc::new(Counters::default());
    let stop = Arc::new(AtomicBool::new(false));
    let t_start = Instant::now();
    let end = t_start + a.duration;

    // Readers.
    let mut readers = Vec::new();
    for r in 0..a.connections.max(1) {
        let mut client = Client::connect_to(socket).await?;
        let counters = counters.clone();
        let stop = stop.clone();
        let mut rng = Rng(a.seed ^ (0x1000 + r as u64));
        readers.push(tokio::spawn(async move {
            let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("histogram");
            let mut first_errors = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let name = stable_name(rng.below(stable));
                let t0 = Instant::now();
                let got = tokio::time::timeout(RPC_TIMEOUT, client.get(&name)).await;
                let error = match got {
                    Ok(Ok(cred)) => {
                        let us = u64::try_from(t0.elapsed().as_micros()).unwrap_or(u64::MAX);
                        hist.saturating_record(us.max(1));
                        let prefix = format!("{name}:");
                        if cred.environment().name != name {
                            Some(format!("asked {name}, got {}", cred.environment().name))
                        } else if !cred.password().expose_secret().starts_with(&prefix) {
                            Some(format!("{name}: a password that is not its own"))
                        } else {
                            counters.gets_ok.fetch_add(1, Ordering::Relaxed);
                            None
                        }
                    }
                    Ok(Err(e)) if dbcreds::is_locked(&e) => {
                        counters.gets_locked.fetch_add(1, Ordering::Relaxed);
                        None
                    }
                    Ok(Err(e)) => Some(format!("get {name}: {e}")),
                    Err(_) => Some(format!("get {name}: no answer within {RPC_TIMEOUT:?}")),
                };
                if let Some(e) = error {
                    counters.errors.fetch_add(1, Ordering::Relaxed);
                    if first_errors.len() < 10 {
                        first_errors.push(e);
                    }
                }
            }
            (hist, first_errors)
        }));
    }

    // RSS sampler.
    let sampler = {
        let counters = counters.clone();
        let stop = stop.clone();
        let every = a.sample_every.max(Duration::from_millis(100));
        tokio::spawn(async move {
            let mut samples = Vec::new();
            let mut tick = tokio::time::interval(every);
            loop {
                tick.tick().await;
                let t = t_start.elapsed().as_secs_f64();
                let rss = vm_rss_kib(pid);
                let gets = counters.gets_ok.load(Ordering::Relaxed);
                eprintln!(
                    "soak: t={t:>6.1} s  VmRSS {} kB  gets ok {gets}  locked {}  errors {}",
                    rss.map_or("?".into(), |v| v.to_string()),
                    counters.gets_locked.load(Ordering::Relaxed),
                    counters.errors.load(Ordering::Relaxed),
                );
                samples.push((t, rss));
                if stop.load(Ordering::Relaxed) {
                    return samples;
                }
            }
        })
    };

    // Writer, on this task.
    let mut stats = WriteStats::default();
    let mut writer = Client::connect_to(socket).await?;
    while Instant::now() < end {
        let jitter = 0.5 + rng.unit();
        tokio::time::sleep(a.write_every.mul_f64(jitter)).await;
        if rng.unit() < a.lock_chance {
            if let Err(e) = timed(writer.lock()).await {
                stats.fail("lock", e);
                continue;
            }
            tokio::time::sleep(Duration::from_millis(rng.below(500) as u64)).await;
            match timed(writer.unlock(Some(&passphrase))).await {
                Ok(_) => stats.lock_cycles += 1,
                Err(e) => {
                    stats.fail("unlock", e);
                    // Without an unlock every later write fails: stop here.
                    break;
                }
            }
            continue;
        }
        let choice = rng.below(100);
        let n_vol = expected.volatile.len();
        if (choice < 35 && n_vol < a.max_volatile) || n_vol == 0 {
            expected.next_volatile += 1;
            let name = EnvName::parse(&format!("soak-v-{}", expected.next_volatile))?;
            expected.generation += 1;
            let pw = password(&name, expected.generation, &mut rng);
            let env = environment(name.clone(), &mut rng);
            match timed(writer.put(&env, &pw, false)).await {
                Ok(_) => {
                    stats.puts += 1;
                    expected.volatile.insert(name.clone());
                    expected.passwords.insert(name, pw);
                }
                Err(e) => stats.fail("put", e),
            }
        } else if choice < 70 {
            let names: Vec<&EnvName> = expected.passwords.keys().collect();
            let name = names[rng.below(names.len())].clone();
            expected.generation += 1;
            let mut patch = Patch::default();
            let new_pw =
                (rng.below(2) == 0).then(|| password(&name, expected.generation, &mut rng));
            patch.password = new_pw
                .as_ref()
                .map(|p| SecretString::from(p.expose_secret().to_owned()));
            match rng.below(3) {
                0 => patch.host = Some(format!("db{}.soak.internal", rng.below(50))),
                1 => patch.port = Some(1024 + rng.below(60000) as u32),
                _ => {
                    let value = if rng.below(3) == 0 {
                        String::new()
                    } else {
                        ["disable", "prefer", "require"][rng.below(3)].to_owned()
                    };
                    patch.options.insert("sslmode".into(), value);
                }
            }
            match timed(writer.update(&name, patch)).await {
                Ok(_) => {
                    stats.updates += 1;
                    if let Some(pw) = new_pw {
                        expected.passwords.insert(name, pw);
                    }
                }
                Err(e) => stats.fail("update", e),
            }
        } else {
            let vol: Vec<&EnvName> = expected.volatile.iter().collect();
            let name = vol[rng.below(vol.len())].clone();
            match timed(writer.remove(&name)).await {
                Ok(()) => {
                    stats.removes += 1;
                    expected.volatile.remove(&name);
                    expected.passwords.remove(&name);
                }
                Err(e) => stats.fail("remove", e),
            }
        }
    }
    stop.store(true, Ordering::Relaxed);
    let mut gets_hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    let mut read_errors = Vec::new();
    for r in readers {
        let (h, e) = r.await?;
        gets_hist.add(h)?;
        read_errors.extend(e);
    }
    let samples = sampler.await?;
    let elapsed = t_start.elapsed().as_secs_f64();

    // The agent's view against the writer's.
    let mut mismatches = Vec::new();
    let listed: BTreeSet<EnvName> = match timed(admin.list()).await {
        Ok(envs) => envs.into_iter().map(|e| e.name).collect(),
        Err(e) => {
            mismatches.push(format!("list: {e}"));
            BTreeSet::new()
        }
    };
    let wanted: BTreeSet<EnvName> = expected.passwords.keys().cloned().collect();
    if listed != wanted {
        mismatches.push(format!(
            "list has {} environments, the writer expects {} ({} only listed, {} only expected)",
            listed.len(),
            wanted.len(),
            listed.difference(&wanted).count(),
            wanted.difference(&listed).count()
        ));
    }
    for (name, pw) in &expected.passwords {
        match timed(admin.get(name)).await {
            Ok(c) if c.password().expose_secret() == pw.expose_secret() => {}
            Ok(_) => mismatches.push(format!("{name}: not the password last stored")),
            Err(e) => mismatches.push(format!("get {name}: {e}")),
        }
    }
    // PRAGMA integrity_check reads the whole file, and every get of the
    // soak added an audit row: minutes, not seconds, on a loaded machine.
    let t_check = Instant::now();
    let integrity = match tokio::time::timeout(INTEGRITY_TIMEOUT, admin.diagnose())
        .await
        .map_err(|_| format!("no answer within {INTEGRITY_TIMEOUT:?}"))
        .and_then(|r| r.map_err(|e| e.to_string()))
    {
        Ok(checks) => checks
            .into_iter()
            .find(|c| c.name == "vault")
            .map(|c| (c.ok, c.detail))
            .unwrap_or((false, "no vault check in Diagnose".into())),
        Err(e) => (false, e),
    };
    let integrity_secs = t_check.elapsed().as_secs_f64();
    let vault_path = admin.status().await?.vault_path;
    let file_bytes =
        |suffix: &str| std::fs::metadata(format!("{vault_path}{suffix}")).map_or(0, |m| m.len());
    let vault_bytes = file_bytes("") + file_bytes("-wal");

    // RSS after warm-up.
    let warm = a.warmup.as_secs_f64();
    let after: Vec<(f64, f64)> = samples
        .iter()
        .filter(|(t, _)| *t >= warm)
        .filter_map(|(t, r)| r.map(|r| (*t, r as f64)))
        .collect();
    let rss_min = after.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
    let rss_max = after.iter().map(|p| p.1).fold(0.0, f64::max);
    let slope_kib_per_min = slope(&after).map(|s| s * 60.0);
    let half = after.len() / 2;
    let mean = |p: &[(f64, f64)]| p.iter().map(|x| x.1).sum::<f64>() / p.len().max(1) as f64;
    let (first_half, second_half) = (mean(&after[..half]), mean(&after[half..]));
    // VmRSS swings by the Argon2id buffer (19 MiB) of each unlock, which the
    // allocator keeps or returns; a leak lifts the floor and the ceiling
    // alike. So: the minimum and maximum of each minute after warm-up, and
    // the slope of each.
    let mut minutes: Vec<(f64, f64, f64)> = Vec::new(); // (minute start, min, max)
    for &(t, r) in &after {
        let m = ((t - warm) / 60.0).floor() * 60.0 + warm;
        match minutes.last_mut() {
            Some(last) if last.0 == m => {
                last.1 = last.1.min(r);
                last.2 = last.2.max(r);
            }
            _ => minutes.push((m, r, r)),
        }
    }
    let floor_slope =
        slope(&minutes.iter().map(|w| (w.0, w.1)).collect::<Vec<_>>()).map(|s| s * 60.0);
    let ceiling_slope =
        slope(&minutes.iter().map(|w| (w.0, w.2)).collect::<Vec<_>>()).map(|s| s * 60.0);
    let hwm = vm_kib(pid, "VmHWM:");

    let gets_ok = counters.gets_ok.load(Ordering::Relaxed);
    let gets_locked = counters.gets_locked.load(Ordering::Relaxed);
    let read_errs = counters.errors.load(Ordering::Relaxed);
    let errors = read_errs + stats.errors + mismatches.len() as u64;
    let pass = errors == 0 && integrity.0;
    eprintln!(
        "soak: {elapsed:.0} s; gets ok {gets_ok} ({:.0}/s, p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms), gets while locked {gets_locked}; writes: {} puts, {} updates, {} removes, {} lock/unlock cycles; errors {errors} (reads {read_errs}, writes {}, final check {})",
        gets_ok as f64 / elapsed,
        us_ms(gets_hist.value_at_quantile(0.5)),
        us_ms(gets_hist.value_at_quantile(0.99)),
        us_ms(gets_hist.max()),
        stats.puts,
        stats.updates,
        stats.removes,
        stats.lock_cycles,
        stats.errors,
        mismatches.len()
    );
    eprintln!(
        "soak: VmRSS after {warm:.0} s warm-up: min {rss_min:.0} kB, max {rss_max:.0} kB, slope {} kB/min, mean of first half {first_half:.0} kB, second half {second_half:.0} kB",
        slope_kib_per_min.map_or("?".into(), |s| format!("{s:.1}"))
    );
    eprintln!(
        "soak: VmRSS per minute after warm-up (min/max kB): {}; slope of the minima {} kB/min, of the maxima {} kB/min; VmHWM {} kB",
        minutes
            .iter()
            .map(|w| format!("{:.0}/{:.0}", w.1, w.2))
            .collect::<Vec<_>>()
            .join(", "),
        floor_slope.map_or("?".into(), |s| format!("{s:.1}")),
        ceiling_slope.map_or("?".into(), |s| format!("{s:.1}")),
        hwm.map_or("?".into(), |v| v.to_string()),
    );
    eprintln!(
        "soak: integrity: {} ({}; {integrity_secs:.1} s; vault.db and its WAL: {:.1} MB)",
        if integrity.0 { "ok" } else { "FAILED" },
        integrity.1,
        vault_bytes as f64 / 1e6
    );
    for e in read_errors
        .iter()
        .chain(&stats.first_errors)
        .chain(&mismatches)
    {
        eprintln!("soak: error: {e}");
    }
    eprintln!("soak: {}", if pass { "PASS" } else { "FAIL" });
    let out = json!({ "soak": {
        "pass": pass,
        "agent_pid": pid,
        "connections": a.connections,
        "seconds": elapsed,
        "warmup_s": warm,
        "seed": a.seed,
        "gets_ok": gets_ok,
        "gets_locked": gets_locked,
        "gets_per_sec": gets_ok as f64 / elapsed,
        "get_p50_ms": us_ms(gets_hist.value_at_quantile(0.5)),
        "get_p99_ms": us_ms(gets_hist.value_at_quantile(0.99)),
        "get_max_ms": us_ms(gets_hist.max()),
        "writes": { "puts": stats.puts, "updates": stats.updates, "removes": stats.removes,
                    "lock_unlock_cycles": stats.lock_cycles },
        "errors": errors,
        "read_errors": read_errs,
        "write_errors": stats.errors,
        "final_mismatches": mismatches,
        "environments_at_end": wanted.len(),
        "integrity_ok": integrity.0,
        "integrity": integrity.1,
        "integrity_check_s": integrity_secs,
        "vault_bytes_at_end": vault_bytes,
        "rss_kib": samples.iter().map(|(t, r)| json!([(t * 10.0).round() / 10.0, r])).collect::<Vec<_>>(),
        "rss_after_warmup": { "min_kib": rss_min, "max_kib": rss_max,
                              "slope_kib_per_min": slope_kib_per_min,
                              "mean_first_half_kib": first_half, "mean_second_half_kib": second_half,
                              "per_minute_min_max_kib": minutes.iter().map(|w| json!([w.0, w.1, w.2])).collect::<Vec<_>>(),
                              "slope_of_minute_minima_kib_per_min": floor_slope,
                              "slope_of_minute_maxima_kib_per_min": ceiling_slope },
        "vm_hwm_kib": hwm,
    }});
    if !pass {
        println!("{out}");
        return Err("the soak failed: see the errors above".into());
    }
    Ok(out)
}

fn us_ms(us: u64) -> f64 {
    us as f64 / 1e3
}
