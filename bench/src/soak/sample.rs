//! The soak's random choices and what it samples of the agent.

use dbcreds::{DatabaseKind, EnvName, Environment};
use secrecy::SecretString;

/// A small deterministic generator (SplitMix64): the soak's choices are
/// reproducible from `--seed`, and no dependency is needed for them.
pub(super) struct Rng(pub(super) u64);

impl Rng {
    pub(super) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    pub(super) fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    pub(super) fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// VmRSS of `pid` in KiB.
pub(super) fn vm_rss_kib(pid: u32) -> Option<u64> {
    vm_kib(pid, "VmRSS:")
}

/// A `Vm*:` line of /proc/PID/status in KiB.
pub(super) fn vm_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// Least-squares slope of `(x, y)` points.
pub(super) fn slope(points: &[(f64, f64)]) -> Option<f64> {
    if points.len() < 2 {
        return None;
    }
    let n = points.len() as f64;
    let mx = points.iter().map(|p| p.0).sum::<f64>() / n;
    let my = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    (sxx > 0.0).then(|| sxy / sxx)
}

pub(super) fn stable_name(i: usize) -> EnvName {
    EnvName::parse(&format!("soak-stable-{i:02}")).expect("valid name")
}

pub(super) fn password(name: &EnvName, generation: u64, rng: &mut Rng) -> SecretString {
    SecretString::from(format!(
        "{name}:{generation}:{:016x}{:016x}",
        rng.next(),
        rng.next()
    ))
}

pub(super) fn environment(name: EnvName, rng: &mut Rng) -> Environment {
    let mut env = Environment::new(name, DatabaseKind::Postgres);
    env.host = format!("db{}.soak.internal", rng.below(50));
    env.database = "app".into();
    env.username = format!("app_{}", rng.below(1000));
    env
}
