//! `dbcreds-load`: a load generator for a running dbcreds agent, through the
//! `dbcreds` client library (the same connector and client apps use).
//!
//! ```text
//! dbcreds-load get      --socket S [--name prod] [--connections 1,8,64] [--duration 5] [--warmup 1] [--threads 2] [--wire grpc|direct]
//! dbcreds-load populate --socket S --count 10000 [--prefix env]
//! dbcreds-load unlock   --socket S [--rounds 5]
//! dbcreds-load soak     --socket S --passphrase-file F [--connections 8] [--duration 600] [--warmup 60] [--sample-every 10]
//! ```
//!
//! - `get`: for each N in `--connections`, opens N connections (one
//!   `dbcreds::Client` each, so N sockets and N HTTP/2 sessions), runs one
//!   task per connection that sends `Get` RPCs back to back (closed loop:
//!   one outstanding request per connection) for `--duration` seconds after
//!   `--warmup` seconds, and reports requests/s and the latency
//!   distribution (p50, p90, p99, p99.9, max) of every RPC, measured in the
//!   client from sending the request to holding the decoded credential.
//!   `--wire direct` sends them over the direct wire (`dbcreds::direct`,
//!   what `dbcreds get` speaks), one blocking thread per connection.
//! - `populate`: adds `--count` environments (`PREFIX-00001`, ...) with
//!   `Put` RPCs, for `list` and unlock measurements.
//! - `unlock`: `--rounds` times `Lock` then `Unlock` (keyring unlocker);
//!   reports the `Unlock` RPC time as the client sees it (keyring fetch over
//!   D-Bus + decrypting every password + the RPC itself), and how many
//!   environments the vault holds. Run it on an empty vault too: that time
//!   is the keyring's share, the difference is the per-environment work.
//!
//! - `soak`: Get RPCs from N connections while a writer adds, updates and
//!   removes environments and locks/unlocks the (passphrase) vault; samples
//!   the agent's VmRSS; checks the final state and `PRAGMA integrity_check`
//!   (see `soak.rs`; `bench/soak.sh` drives it).
//!
//! Every subcommand prints a human summary on stderr and one JSON object on
//! stdout, which `bench/run.sh` collects.

mod soak;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use dbcreds::{Client, DatabaseKind, EnvName, Environment};
use hdrhistogram::Histogram;
use secrecy::SecretString;
use serde_json::{Value, json};

#[derive(Parser, Debug)]
#[command(
    name = "dbcreds-load",
    about = "Load generator for a running dbcreds agent"
)]
struct Args {
    /// The agent's socket (default: the one `dbcreds` would use).
    #[arg(long, global = true)]
    socket: Option<PathBuf>,
    /// Worker threads of the load generator's runtime (default: CPUs).
    #[arg(long, global = true)]
    threads: Option<usize>,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Get RPCs from N concurrent connections for a fixed time.
    Get {
        /// Environment to get.
        #[arg(long, default_value = "prod")]
        name: String,
        /// Connection counts to run, one after the other.
        #[arg(long, value_delimiter = ',', default_value = "1,8,64")]
        connections: Vec<usize>,
        /// Measured seconds per connection count.
        #[arg(long, default_value_t = 5.0)]
        duration: f64,
        /// Unmeasured seconds before each measurement.
        #[arg(long, default_value_t = 1.0)]
        warmup: f64,
        /// The agent's pid: report its CPU time per request too (from
        /// /proc/PID/stat), next to the load generator's own.
        #[arg(long)]
        agent_pid: Option<u32>,
        /// Stop each connection after this many requests (for profiling
        /// under valgrind: a fixed amount of work rather than a fixed time).
        #[arg(long)]
        max_requests: Option<u64>,
        /// The wire: `grpc` (the client library's `Client`), or `direct`
        /// (`dbcreds::direct`, what `dbcreds get` uses; one blocking
        /// thread per connection).
        #[arg(long, value_enum, default_value = "grpc")]
        wire: Wire,
    },
    /// Adds COUNT environments named PREFIX-00001...
    Populate {
        #[arg(long)]
        count: usize,
        #[arg(long, default_value = "env")]
        prefix: String,
    },
    /// Lock, then time the keyring Unlock RPC, ROUNDS times.
    Unlock {
        #[arg(long, default_value_t = 5)]
        rounds: usize,
    },
    /// Gets from N connections with random writes and lock/unlock cycles
    /// interleaved, agent RSS sampled, integrity checked at the end.
    Soak {
        /// Reader connections.
        #[arg(long, default_value_t = 8)]
        connections: usize,
        /// Seconds to run.
        #[arg(long, default_value_t = 600.0)]
        duration: f64,
        /// Seconds of RSS samples left out of min/max/slope.
        #[arg(long, default_value_t = 60.0)]
        warmup: f64,
        /// Seconds between RSS samples.
        #[arg(long, default_value_t = 10.0)]
        sample_every: f64,
        /// File holding the vault's passphrase (the vault is created with
        /// it when the agent has none).
        #[arg(long)]
        passphrase_file: PathBuf,
        /// Environments that are only ever updated; readers get these.
        #[arg(long, default_value_t = 16)]
        stable: usize,
        /// At most this many added environments at once.
        #[arg(long, default_value_t = 200)]
        max_volatile: usize,
        /// Mean milliseconds between the writer's operations.
        #[arg(long, default_value_t = 50)]
        write_every_ms: u64,
        /// Chance that an operation is a lock/unlock cycle.
        #[arg(long, default_value_t = 0.01)]
        lock_chance: f64,
        /// Seed of the writer's and readers' choices.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum Wire {
    Grpc,
    Direct,
}

type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

fn main() {
    let args = Args::parse();
    let mut rt = tokio::runtime::Builder::new_multi_thread();
    if let Some(t) = args.threads {
        rt.worker_threads(t.max(1));
    }
    let rt = rt.enable_all().build().expect("tokio runtime");
    let socket = args.socket.clone().unwrap_or_else(dbcreds::paths::socket);
    let out = rt.block_on(async {
        match args.command {
            Cmd::Get {
                name,
                connections,
                duration,
                warmup,
                agent_pid,
                max_requests,
                wire,
            } => {
                let limit = max_requests.unwrap_or(u64::MAX);
                let run = Run {
                    duration: secs(duration),
                    warmup: secs(warmup),
                    limit,
                    agent_pid,
                    wire,
                };
                get(&socket, &name, &connections, &run).await
            }
            Cmd::Populate { count, prefix } => populate(&socket, count, &prefix).await,
            Cmd::Unlock { rounds } => unlock(&socket, rounds).await,
            Cmd::Soak {
                connections,
                duration,
                warmup,
                sample_every,
                passphrase_file,
                stable,
                max_volatile,
                write_every_ms,
                lock_chance,
                seed,
            } => {
                let a = soak::SoakArgs {
                    connections,
                    duration: secs(duration),
                    warmup: secs(warmup),
                    sample_every: secs(sample_every),
                    passphrase_file,
                    stable,
                    max_volatile,
                    write_every: Duration::from_millis(write_every_ms),
                    lock_chance,
                    seed,
                };
                soak::soak(&socket, a).await
            }
        }
    });
    match out {
        Ok(v) => println!("{v}"),
        Err(e) => {
            eprintln!("dbcreds-load: {e}");
            std::process::exit(1);
        }
    }
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s.max(0.0))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn us_to_ms(us: u64) -> f64 {
    us as f64 / 1e3
}

async fn get(socket: &std::path::Path, name: &str, counts: &[usize], run: &Run) -> Res<Value> {
    let name = EnvName::parse(name)?;
    // One check before the load: a locked vault or a missing name would
    // otherwise be measured as very fast errors.
    Client::connect_to(socket).await?.get(&name).await?;
    let mut runs = Vec::new();
    for &n in counts {
        let r = get_run(socket, &name, n.max(1), run).await?;
        eprintln!(
            "get  wire={:?} connections={:<3} requests/s={:>9.0}  p50={:.3} ms  p99={:.3} ms  p99.9={:.3} ms  max={:.3} ms  ({} requests, {} errors)",
            run.wire,
            n,
            r["requests_per_sec"].as_f64().unwrap_or_default(),
            r["p50_ms"].as_f64().unwrap_or_default(),
            r["p99_ms"].as_f64().unwrap_or_default(),
            r["p999_ms"].as_f64().unwrap_or_default(),
            r["max_ms"].as_f64().unwrap_or_default(),
            r["requests"],
            r["errors"],
        );
        eprintln!(
            "     CPU per request: agent {} µs, load generator {:.1} µs  (2 cores at this cost: {} requests/s at most)",
            r["agent_cpu_us_per_request"]
                .as_f64()
                .map_or("?".into(), |v| format!("{v:.1}")),
            r["client_cpu_us_per_request"].as_f64().unwrap_or_default(),
            r["cpu_bound_requests_per_sec_2_cores"]
                .as_f64()
                .map_or("?".into(), |v| format!("{v:.0}")),
        );
        runs.push(r);
    }
    Ok(json!({ "get": runs }))
}

async fn get_run(socket: &std::path::Path, name: &EnvName, n: usize, run: &Run) -> Res<Value> {
    let Run {
        duration,
        warmup,
        limit,
        agent_pid,
        wire,
    } = *run;
    let start = Instant::now() + Duration::from_millis(50);
    let measure_from = start + warmup;
    let end = measure_from + duration;
    let window = Window {
        start,
        measure_from,
        end,
        limit,
    };
    let mut tasks = Vec::with_capacity(n);
    if wire == Wire::Direct {
        for _ in 0..n {
            let conn = direct_conn(socket)?;
            let name = name.clone();
            tasks.push(tokio::task::spawn_blocking(move || {
                direct_worker(conn, &name, window)
            }));
        }
    } else {
        let mut clients = Vec::with_capacity(n);
        for _ in 0..n {
            clients.push(Client::connect_to(socket).await?);
        }
        for mut client in clients {
            let name = name.clone();
            tasks.push(tokio::spawn(async move {
                let mut tally = Tally::new(window);
                tokio::time::sleep_until(start.into()).await;
                while let Some(t0) = tally.next() {
                    let ok = client.get(&name).await.is_ok();
                    tally.done(t0, ok);
                }
                (tally.hist, tally.errors)
            }));
        }
    }
    // CPU time over the measured window only.
    tokio::time::sleep_until(measure_from.into()).await;
    let cpu0 = (
        cpu_secs("self"),
        agent_pid.and_then(|p| cpu_secs(&p.to_string())),
    );
    // Every connection stops at `end`, or sooner at `--max-requests`
    // (under valgrind): the window ends with the last of them.
    let mut done = Vec::with_capacity(tasks.len());
    for t in tasks {
        done.push(t.await?);
    }
    let cpu1 = (
        cpu_secs("self"),
        agent_pid.and_then(|p| cpu_secs(&p.to_string())),
    );
    let mut all = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    let mut errors = 0;
    for (h, e) in done {
        all.add(h)?;
        errors += e;
    }
    let requests = all.len();
    let per_req = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) if requests > 0 => Some((b - a) * 1e6 / requests as f64),
        _ => None,
    };
    let client_us = per_req(cpu0.0, cpu1.0);
    let agent_us = per_req(cpu0.1, cpu1.1);
    let bound = match (client_us, agent_us) {
        (Some(c), Some(a)) if c + a > 0.0 => Some(2e6 / (c + a)),
        _ => None,
    };
    Ok(json!({
        "wire": format!("{wire:?}").to_lowercase(),
        "connections": n,
        "duration_s": duration.as_secs_f64(),
        "requests": requests,
        "errors": errors,
        "requests_per_sec": requests as f64 / duration.as_secs_f64(),
        "p50_ms": us_to_ms(all.value_at_quantile(0.50)),
        "p90_ms": us_to_ms(all.value_at_quantile(0.90)),
        "p99_ms": us_to_ms(all.value_at_quantile(0.99)),
        "p999_ms": us_to_ms(all.value_at_quantile(0.999)),
        "max_ms": us_to_ms(all.max()),
        "mean_ms": all.mean() / 1e3,
        "client_cpu_us_per_request": client_us,
        "agent_cpu_us_per_request": agent_us,
        "cpu_bound_requests_per_sec_2_cores": bound,
    }))
}

#[derive(Clone, Copy)]
struct Run {
    duration: Duration,
    warmup: Duration,
    limit: u64,
    agent_pid: Option<u32>,
    wire: Wire,
}

/// When a connection starts, starts counting, and stops.
#[derive(Clone, Copy)]
struct Window {
    start: Instant,
    measure_from: Instant,
    end: Instant,
    limit: u64,
}

#[cfg(target_os = "linux")]
type DirectConn = dbcreds::direct::DirectConn;
#[cfg(not(target_os = "linux"))]
type DirectConn = ();

#[cfg(target_os = "linux")]
fn direct_conn(socket: &std::path::Path) -> Res<DirectConn> {
    dbcreds::direct::DirectConn::connect(socket, dbcreds::transport::Timeouts::default())
        .ok_or_else(|| "no agent of ours at the socket for the direct wire".into())
}

#[cfg(not(target_os = "linux"))]
fn direct_conn(_socket: &std::path::Path) -> Res<DirectConn> {
    Err("the direct wire is Linux only".into())
}

/// One connection's closed loop: when to send the next request, and the
/// latencies of those inside the measured window.
struct Tally {
    window: Window,
    sent: u64,
    hist: Histogram<u64>,
    errors: u64,
}

impl Tally {
    fn new(window: Window) -> Self {
        Self {
            window,
            sent: 0,
            // 1 µs to 60 s, 3 significant digits.
            hist: Histogram::new_with_bounds(1, 60_000_000, 3).expect("histogram"),
            errors: 0,
        }
    }

    /// The next request's start, or `None` once the window or the
    /// request limit is over.
    fn next(&mut self) -> Option<Instant> {
        let t0 = Instant::now();
        if t0 >= self.window.end || self.sent >= self.window.limit {
            return None;
        }
        self.sent += 1;
        Some(t0)
    }

    /// The request started at `t0` ended now, `ok` or not.
    fn done(&mut self, t0: Instant, ok: bool) {
        let t1 = Instant::now();
        if t0 < self.window.measure_from || t1 > self.window.end {
            return;
        }
        if ok {
            let us = u64::try_from((t1 - t0).as_micros()).unwrap_or(u64::MAX);
            self.hist.saturating_record(us.max(1));
        } else {
            self.errors += 1;
        }
    }
}

/// One direct connection's closed loop of Gets, as the gRPC tasks do it.
fn direct_worker(mut conn: DirectConn, name: &EnvName, w: Window) -> (Histogram<u64>, u64) {
    let mut tally = Tally::new(w);
    std::thread::sleep(w.start.saturating_duration_since(Instant::now()));
    while let Some(t0) = tally.next() {
        #[cfg(target_os = "linux")]
        let ok = matches!(conn.get(name, dbcreds::Purpose::Get), Ok(Some(_)));
        #[cfg(not(target_os = "linux"))]
        let ok = {
            let _ = (&mut conn, name);
            false
        };
        tally.done(t0, ok);
    }
    (tally.hist, tally.errors)
}

/// User + system CPU seconds of a process (all its threads), from
/// /proc/PID/stat; `None` where there is no such file.
fn cpu_secs(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may hold
    // spaces: utime and stime are the 12th and 13th of them.
    let rest = &stat[stat.rfind(')')? + 2..];
    let mut f = rest.split(' ').skip(11);
    let utime: f64 = f.next()?.parse().ok()?;
    let stime: f64 = f.next()?.parse().ok()?;
    // USER_HZ is 100 on every Linux this runs on.
    Some((utime + stime) / 100.0)
}

async fn populate(socket: &std::path::Path, count: usize, prefix: &str) -> Res<Value> {
    let mut client = Client::connect_to(socket).await?;
    let t0 = Instant::now();
    for i in 1..=count {
        let name = EnvName::parse(&format!("{prefix}-{i:05}"))?;
        let mut env = Environment::new(name, DatabaseKind::Postgres);
        env.host = format!("db{}.bench.internal", i % 97);
        env.database = "app".into();
        env.username = format!("app_{i}");
        let password = SecretString::from(format!("bench-password-{i:05}-xxxxxxxxxxxxxxxx"));
        client.put(&env, &password, true).await?;
    }
    let took = t0.elapsed();
    eprintln!(
        "populate: {count} environments in {:.1} s ({:.2} ms each)",
        took.as_secs_f64(),
        ms(took) / count.max(1) as f64
    );
    Ok(json!({ "populate": { "count": count, "seconds": took.as_secs_f64() } }))
}

async fn unlock(socket: &std::path::Path, rounds: usize) -> Res<Value> {
    let mut client = Client::connect_to(socket).await?;
    let environments = client.status().await?.environments;
    let mut times = Vec::with_capacity(rounds);
    for _ in 0..rounds.max(1) {
        client.lock().await?;
        let t0 = Instant::now();
        client.unlock(None).await?;
        times.push(ms(t0.elapsed()));
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    eprintln!(
        "unlock (keyring) of {environments} environments: median {median:.1} ms, min {:.1} ms, max {:.1} ms over {} rounds",
        times[0],
        times[times.len() - 1],
        times.len()
    );
    Ok(json!({ "unlock": {
        "unlocker": "keyring",
        "environments": environments,
        "rounds": times.len(),
        "median_ms": median,
        "min_ms": times[0],
        "max_ms": times[times.len() - 1],
        "all_ms": times,
    }}))
}
