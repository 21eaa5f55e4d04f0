//! A small fuzzing harness that runs on stable Rust inside `cargo test`:
//! no libFuzzer, no nightly, no instrumentation.
//!
//! [`fuzz`] runs a target for a time budget on inputs made from a seed
//! corpus: each input is a seed (or an earlier input the target accepted)
//! with a few random mutations (bit flips, interesting bytes and numbers,
//! inserted, deleted, duplicated and spliced ranges, dictionary tokens),
//! or now and then plain random bytes. A target returns `true` when it
//! accepted the input (it parsed); accepted inputs join the pool, a crude
//! stand-in for coverage feedback that lets mutations go deeper into valid
//! documents. Structured targets read their choices from the bytes through
//! [`Gen`], so the same mutations drive them.
//!
//! A panic in the target stops the run: the input is written to
//! `target/fuzz-crashes/<target>-<hash>` (hex and escaped text are printed
//! too) and the test fails. At the end each target prints
//! `fuzz <name>: N execs in S s (R/s), A accepted, 0 crashes`.
//!
//! The budget is `DBCREDS_FUZZ_SECS` seconds per target (default
//! [`DEFAULT_SECS`]), `DBCREDS_FUZZ_SEED` fixes the random seed (default:
//! from the clock, printed so a run can be repeated), and
//! `DBCREDS_FUZZ_SECS=0` runs the seeds only.

pub mod model;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Seconds per target when `DBCREDS_FUZZ_SECS` is unset: about a minute of
/// fuzzing over all targets of the workspace (see docs/reliability.md).
pub const DEFAULT_SECS: f64 = 5.0;

/// Most inputs kept in the pool of accepted inputs.
const POOL_MAX: usize = 512;

/// Largest input made by mutation.
const MAX_LEN: usize = 16 * 1024;

/// A fast deterministic generator (SplitMix64).
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }

    /// True with probability 1/n.
    pub fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }
}

/// Bytes that often break parsers.
const INTERESTING_BYTES: &[u8] = &[
    0, 1, 0x7f, 0x80, 0xff, 0xfe, 0xc0, 0xe2, 0xf0, b'\n', b'\r', b'\t', b' ', b'"', b'\'', b'\\',
    b':', b'*', b'#', b'=', b'[', b']', b'{', b'}', b',', b'%', b'@', b'/', b'?', b'&', b'$', b'-',
    b'_', b'.', b'0', b'9',
];

/// Numbers, as text, at the edges of the types parsers use.
const INTERESTING_NUMBERS: &[&str] = &[
    "0",
    "-0",
    "1",
    "-1",
    "65535",
    "65536",
    "2147483647",
    "2147483648",
    "-2147483649",
    "4294967295",
    "4294967296",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775808",
    "18446744073709551615",
    "18446744073709551616",
    "36500",
    "36501",
    "1e400",
    "-1e400",
    "1.5",
    "NaN",
    "inf",
    "0x10",
    "00000000000000000000000001",
    "8262000000000",
    "-8334632851200",
    "253402300799",
    "99999999999999999999999999999",
];

/// What one run of a target found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Report {
    /// Inputs run.
    pub execs: u64,
    /// Inputs the target accepted.
    pub accepted: u64,
    /// Wall time.
    pub elapsed: Duration,
}

/// Seconds per target: `DBCREDS_FUZZ_SECS`, else [`DEFAULT_SECS`].
pub fn budget() -> Duration {
    let secs = std::env::var("DBCREDS_FUZZ_SECS")
        .ok()
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .unwrap_or(DEFAULT_SECS);
    Duration::from_secs_f64(secs)
}

fn seed() -> u64 {
    std::env::var("DBCREDS_FUZZ_SEED")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        })
}

/// A target's seeds and dictionary.
pub struct Corpus {
    /// Inputs to start from (valid documents and known odd ones).
    pub seeds: Vec<Vec<u8>>,
    /// Tokens the format uses (keys, keywords, delimiters).
    pub dict: Vec<Vec<u8>>,
}

impl Corpus {
    /// A corpus from text seeds and a text dictionary.
    pub fn text(seeds: &[&str], dict: &[&str]) -> Self {
        Self {
            seeds: seeds.iter().map(|s| s.as_bytes().to_vec()).collect(),
            dict: dict.iter().map(|s| s.as_bytes().to_vec()).collect(),
        }
    }

    /// A corpus from byte seeds (for binary formats and [`Gen`] targets).
    pub fn bytes(seeds: Vec<Vec<u8>>, dict: &[&[u8]]) -> Self {
        Self {
            seeds,
            dict: dict.iter().map(|s| s.to_vec()).collect(),
        }
    }
}

/// Runs `target` on the seeds, then on mutated inputs until the budget is
/// spent; panics (failing the test) on the first input the target panics
/// on, after saving it. Returns the counts, which it also prints.
pub fn fuzz(name: &str, corpus: Corpus, mut target: impl FnMut(&[u8]) -> bool) -> Report {
    let budget = budget();
    let seed = seed();
    let mut rng = Rng::new(seed);
    let mut pool: Vec<Vec<u8>> = corpus.seeds.clone();
    if pool.is_empty() {
        pool.push(Vec::new());
    }
    let dict = corpus.dict;
    let start = Instant::now();
    let mut execs = 0u64;
    let mut accepted = 0u64;
    let mut slowest = Duration::ZERO;
    let mut run = |input: &[u8], execs: &mut u64| -> bool {
        *execs += 1;
        let t0 = Instant::now();
        let r = catch_unwind(AssertUnwindSafe(|| target(input)));
        let took = t0.elapsed();
        if took > slowest {
            slowest = took;
        }
        match r {
            Ok(ok) => ok,
            Err(e) => crash(name, seed, input, &*e),
        }
    };
    for s in &corpus.seeds {
        if run(s, &mut execs) {
            accepted += 1;
        }
    }
    let deadline = start + budget;
    while Instant::now() < deadline {
        // The clock is read once per batch: it costs as much as a small target.
        for _ in 0..64 {
            let input = if rng.one_in(50) {
                random_bytes(&mut rng)
            } else {
                let mut x = pool[rng.below(pool.len())].clone();
                let other = &pool[rng.below(pool.len())];
                let most = if rng.one_in(4) { 16 } else { 4 };
                let n = 1 + rng.below(most);
                for _ in 0..n {
                    mutate(&mut x, &mut rng, &dict, other);
                }
                x
            };
            if run(&input, &mut execs) {
                accepted += 1;
                if pool.len() < POOL_MAX {
                    pool.push(input);
                } else if rng.one_in(8) {
                    // Keep the seeds; replace an earlier find.
                    let keep = corpus.seeds.len().min(POOL_MAX / 2);
                    let i = keep + rng.below(POOL_MAX - keep);
                    pool[i] = input;
                }
            }
        }
    }
    let elapsed = start.elapsed();
    println!(
        "fuzz {name}: {execs} execs in {:.1} s ({:.0}/s), {accepted} accepted, slowest input {:.1} ms, 0 crashes (seed {seed})",
        elapsed.as_secs_f64(),
        execs as f64 / elapsed.as_secs_f64().max(1e-9),
        slowest.as_secs_f64() * 1e3,
    );
    Report {
        execs,
        accepted,
        elapsed,
    }
}

fn crash(name: &str, seed: u64, input: &[u8], payload: &(dyn std::any::Any + Send)) -> ! {
    let msg = payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
        .unwrap_or("(no message)");
    let hash = input.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3)
    });
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/fuzz-crashes");
    let file = dir.join(format!("{name}-{hash:016x}"));
    let saved = std::fs::create_dir_all(&dir)
        .and_then(|()| std::fs::write(&file, input))
        .map_or_else(
            |e| format!("(not saved: {e})"),
            |()| file.display().to_string(),
        );
    let hex: String = input.iter().map(|b| format!("{b:02x}")).collect();
    panic!(
        "fuzz {name}: the target panicked ({msg}) on a {}-byte input, saved as {saved} (seed {seed})\n  text: {:?}\n  hex: {hex}",
        input.len(),
        String::from_utf8_lossy(input),
    );
}

fn random_bytes(rng: &mut Rng) -> Vec<u8> {
    let most = if rng.one_in(8) { 2048 } else { 64 };
    let len = rng.below(most);
    (0..len).map(|_| rng.next_u64() as u8).collect()
}

/// One random change to `x`.
fn mutate(x: &mut Vec<u8>, rng: &mut Rng, dict: &[Vec<u8>], other: &[u8]) {
    let pos = |rng: &mut Rng, x: &Vec<u8>| rng.below(x.len() + 1);
    match rng.below(14) {
        0 if !x.is_empty() => {
            let i = rng.below(x.len());
            x[i] ^= 1 << rng.below(8);
        }
        1 if !x.is_empty() => {
            let i = rng.below(x.len());
            x[i] = INTERESTING_BYTES[rng.below(INTERESTING_BYTES.len())];
        }
        2 if !x.is_empty() => {
            let i = rng.below(x.len());
            x[i] = rng.next_u64() as u8;
        }
        3 => {
            let i = pos(rng, x);
            let n = 1 + rng.below(8);
            let bytes: Vec<u8> = (0..n).map(|_| rng.next_u64() as u8).collect();
            x.splice(i..i, bytes);
        }
        4 if !x.is_empty() => {
            let i = rng.below(x.len());
            let most = if rng.one_in(4) { 256 } else { 8 };
            let n = 1 + rng.below((x.len() - i).min(most));
            x.drain(i..i + n);
        }
        5 if !x.is_empty() => {
            // Duplicate a range (repeats keys, nests brackets).
            let i = rng.below(x.len());
            let n = 1 + rng.below((x.len() - i).min(64));
            let copy = x[i..i + n].to_vec();
            let at = pos(rng, x);
            x.splice(at..at, copy);
        }
        6 | 7 if !dict.is_empty() => {
            let t = &dict[rng.below(dict.len())];
            let i = pos(rng, x);
            x.splice(i..i, t.iter().copied());
        }
        8 if !dict.is_empty() && !x.is_empty() => {
            // Overwrite with a token.
            let t = &dict[rng.below(dict.len())];
            let i = rng.below(x.len());
            let end = (i + t.len()).min(x.len());
            x.splice(i..end, t.iter().copied());
        }
        9 => {
            let t = INTERESTING_NUMBERS[rng.below(INTERESTING_NUMBERS.len())];
            let i = pos(rng, x);
            x.splice(i..i, t.bytes());
        }
        10 if !other.is_empty() => {
            // Splice: our head, the other's tail.
            let i = pos(rng, x);
            let j = rng.below(other.len());
            x.truncate(i);
            x.extend_from_slice(&other[j..]);
        }
        11 if !x.is_empty() => {
            x.truncate(rng.below(x.len()));
        }
        12 if !x.is_empty() => {
            // A run of one byte (long fields, deep nesting).
            let i = pos(rng, x);
            let b = if rng.one_in(2) {
                INTERESTING_BYTES[rng.below(INTERESTING_BYTES.len())]
            } else {
                x[rng.below(x.len())]
            };
            let most = if rng.one_in(8) { 5000 } else { 64 };
            let n = 1 + rng.below(most);
            x.splice(i..i, std::iter::repeat_n(b, n));
        }
        13 if x.len() >= 2 => {
            let i = rng.below(x.len());
            let j = rng.below(x.len());
            x.swap(i, j);
        }
        _ => {
            let i = pos(rng, x);
            x.insert(i, rng.next_u64() as u8);
        }
    }
    if x.len() > MAX_LEN {
        x.truncate(MAX_LEN);
    }
}

mod generate;
pub use generate::Gen;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gen_answers_zero_when_input_runs_out() {
        let mut g = Gen::new(&[3]);
        assert_eq!(g.byte(), 3);
        assert_eq!(g.byte(), 0);
        assert_eq!(g.string(10), "");
        assert!(g.is_empty());
    }

    #[test]
    fn mutation_stays_bounded() {
        let mut rng = Rng::new(7);
        let mut x = b"seed".to_vec();
        for _ in 0..10_000 {
            mutate(&mut x, &mut rng, &[b"tok".to_vec()], b"other");
            assert!(x.len() <= MAX_LEN);
        }
    }

    #[test]
    fn a_panicking_target_fails_with_its_input() {
        let r = catch_unwind(|| {
            fuzz(
                "selftest",
                Corpus::text(&["boom"], &[]),
                |b: &[u8]| -> bool { b != b"boom" || panic!("found it") },
            )
        });
        let msg = *r.unwrap_err().downcast::<String>().unwrap();
        assert!(
            msg.contains("found it") && msg.contains("626f6f6d"),
            "{msg}"
        );
    }
}
