#!/usr/bin/env bash
# bench/run.sh: dbcreds against ssh-agent, secret-tool and Python keyring,
# as whole processes, in one hyperfine run; plus the agent's load and
# unlock numbers and peak RSS. Writes bench/results/latest.json.
#
# Usage: bench/run.sh [--quick]
#   --quick   fewer runs and shorter load phases (a smoke test of the
#             script; its numbers are not the ones to quote)
# Environment:
#   BENCH_BIN=DIR   take dbcreds and dbcreds-agent from DIR instead of this
#                   tree's install (to measure an older build the same way;
#                   dbcreds-load is still built from this tree)
#   BENCH_OUT=FILE  write the result there instead of bench/results/latest.json
#
# What it does, in order:
#   1. checks for the tools below and names every missing one (it installs
#      nothing itself);
#   2. installs dbcreds and dbcreds-agent as the README does
#      (`cargo install --locked --path cli`, `--path daemon`) into
#      <repo>/target/bench-install, and builds dbcreds-load, all with
#      CARGO_TARGET_DIR=<repo>/target/bench, a target dir of its own so
#      other people's debug builds on this machine do not fight over the
#      cargo lock (and the three share their dependencies' builds);
#   3. starts a private, headless Secret Service (gnome-keyring-daemon in
#      its own dbus-run-session, tests/support/keyring-session.sh) and a
#      private ssh-agent holding one ed25519 key;
#   4. home A (temp DBCREDS_HOME): `dbcreds init --unlocker keyring`,
#      `dbcreds add prod`, restarts the agent (it unlocks through the
#      keyring at start, as at login), measures its idle RSS, then adds
#      1,000 more environments (env-00001..env-01000) with dbcreds-load.
#      `get` and `list` share this one agent so every hyperfine command
#      runs bare under -N, with no wrapper process to set a different
#      DBCREDS_HOME; `get` is a HashMap lookup whatever the map's size
#      (docs/performance.md shows get with 1 and 1,001 environments);
#   5. ONE hyperfine run (--warmup 20 --runs 200 -N --export-json):
#      `dbcreds get prod`, `dbcreds get prod uri`, `dbcreds list --json`
#      (1,001 environments), `ssh-add -l`, `secret-tool lookup service
#      dbcreds-bench username prod`, `/bin/true`, and Python
#      `keyring.get_password` (skipped, and said so, when python3 has no
#      `keyring` module);
#   6. peak RSS of each CLI with GNU time (`/usr/bin/time -v`, max of 20),
#      with its minor page faults (median of the same runs), and the
#      system calls of one `dbcreds get prod` and one `ssh-add -l`
#      (`strace -f -c`);
#   7. dbcreds-load: Get RPCs from 1, 8 and 64 connections against agent A,
#      over gRPC and over the direct wire (`--wire direct`, what `dbcreds get` speaks)
#      (requests/s, p50/p99, and the CPU time per request of the agent and
#      of the load generator, which share the machine's cores);
#   8. home B: init (keyring), Lock+Unlock rounds on the empty vault (the
#      keyring's share of an unlock), 10,000 environments, agent restart,
#      RSS with 10,000 environments unlocked (VmRSS/VmHWM from
#      /proc/<pid>/status), Lock+Unlock rounds again;
#   9. prints medians and the ratios `dbcreds get / ssh-add -l` and
#      `secret-tool / dbcreds get` (issue 15's targets: <= 0.5 and >= 8,
#      peak RSS <= 4 MiB), and writes bench/results/latest.json
#      (with the machine, its load average before and after, and the raw
#      hyperfine export beside it in bench/results/hyperfine-latest.json).
#
# Tools (Debian 12 packages in brackets):
#   hyperfine [hyperfine], ssh-agent ssh-add ssh-keygen [openssh-client],
#   secret-tool [libsecret-tools], gnome-keyring-daemon [gnome-keyring],
#   dbus-run-session [dbus] (dbus-daemon), gdbus [libglib2.0-bin],
#   /usr/bin/time [time], strace [strace], readelf [binutils],
#   python3 [python3], cargo (rustup);
#   optional: python3 module keyring (`pip install keyring`, or Debian's
#   python3-keyring).
#   apt-get install hyperfine openssh-client libsecret-tools gnome-keyring dbus libglib2.0-bin time strace binutils python3
#
# The machine has 2 cores and is shared: note `uptime` before quoting
# numbers (the JSON records the load average before and after the run).

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT_DIR="$ROOT/bench/results"

WARMUP=20
RUNS=200
LOAD_SECS=5
LOAD_WARMUP=1
RSS_RUNS=20
UNLOCK_ROUNDS=5
LIST_ENVS=1000
BIG_ENVS=10000
if [[ "${1:-}" == "--quick" ]]; then
    WARMUP=3 RUNS=20 LOAD_SECS=1 LOAD_WARMUP=0.2 RSS_RUNS=3 UNLOCK_ROUNDS=2 LIST_ENVS=100 BIG_ENVS=500
fi

say() { printf '==> %s\n' "$*" >&2; }
die() {
    printf 'bench/run.sh: %s\n' "$*" >&2
    exit 1
}

# --- 1. tools ---------------------------------------------------------------
missing=()
need() { # need COMMAND PACKAGE
    command -v "$1" >/dev/null 2>&1 || missing+=("$1 (Debian package $2)")
}
need hyperfine hyperfine
need ssh-agent openssh-client
need ssh-add openssh-client
need ssh-keygen openssh-client
need secret-tool libsecret-tools
need gnome-keyring-daemon gnome-keyring
need dbus-run-session dbus
need gdbus libglib2.0-bin
need python3 python3
need strace strace
need readelf binutils
need cargo "none: install Rust with rustup"
[[ -x /usr/bin/time ]] || missing+=("/usr/bin/time, GNU time (Debian package time)")
if ((${#missing[@]})); then
    printf 'bench/run.sh: missing tools:\n' >&2
    printf '  %s\n' "${missing[@]}" >&2
    printf 'install them with: apt-get install hyperfine openssh-client libsecret-tools gnome-keyring dbus libglib2.0-bin time strace binutils python3\n' >&2
    exit 1
fi
HAVE_PYKEYRING=1
if ! python3 -c 'import keyring' 2>/dev/null; then
    HAVE_PYKEYRING=0
    say "python3 has no 'keyring' module (pip install keyring, or Debian's python3-keyring): the Python row is skipped"
fi

# --- 2. build ---------------------------------------------------------------
export CARGO_TARGET_DIR="$ROOT/target/bench"
INSTALL="$ROOT/target/bench-install"
say "installing dbcreds and dbcreds-agent as the README does, into $INSTALL"
(cd "$ROOT" && cargo install --locked --path cli --root "$INSTALL" &&
    cargo install --locked --path daemon --root "$INSTALL") >&2 ||
    die "cargo install failed"
say "building dbcreds-load in $CARGO_TARGET_DIR"
(cd "$ROOT" && cargo build --locked --release -p dbcreds-bench) >&2 || die "release build failed"
BIN="$INSTALL/bin"
LOADGEN="$CARGO_TARGET_DIR/release/dbcreds-load"
if [[ -n "${BENCH_BIN:-}" ]]; then
    BIN="$(cd "$BENCH_BIN" && pwd)"
    say "measuring dbcreds and dbcreds-agent from $BIN"
fi
DBCREDS="$BIN/dbcreds"
# What the loader sees: "DYN, no interpreter" is static-pie.
ELF_TYPE="$(readelf -h "$DBCREDS" | awk '/Type:/ { print $2 }')"
if readelf -l "$DBCREDS" | grep -q 'program interpreter'; then ELF_INTERP=yes; else ELF_INTERP=no; fi
say "dbcreds: ELF type $ELF_TYPE, program interpreter: $ELF_INTERP, $(stat -c %s "$DBCREDS") bytes"

# --- 3. private Secret Service and ssh-agent ---------------------------------
WORK="$(mktemp -d /tmp/dbcreds-bench.XXXXXX)"
KS_PID=""
SSH_AGENT_PID=""
cleanup() {
    set +e
    for h in "$WORK"/home-*; do
        [[ -d "$h" ]] && DBCREDS_HOME="$h" "$DBCREDS" agent stop >/dev/null 2>&1
    done
    [[ -n "$SSH_AGENT_PID" ]] && kill "$SSH_AGENT_PID" 2>/dev/null
    if [[ -n "$KS_PID" ]]; then
        exec {KS_IN}>&- 2>/dev/null # closing its stdin ends the session
        kill -- "-$KS_PID" 2>/dev/null
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

mkdir -p "$WORK/ks/home" "$WORK/ks/data" "$WORK/ks/runtime" "$WORK/xdg/config" "$WORK/xdg/runtime"
chmod 700 "$WORK/ks/runtime" "$WORK/xdg/runtime"
say "starting a private Secret Service (gnome-keyring in dbus-run-session)"
coproc KS {
    exec setsid env -i PATH="$PATH" HOME="$WORK/ks/home" XDG_DATA_HOME="$WORK/ks/data" \
        XDG_RUNTIME_DIR="$WORK/ks/runtime" "$ROOT/tests/support/keyring-session.sh" unlocked \
        2>"$WORK/ks.log"
}
KS_PID=$KS_PID
exec {KS_IN}>&"${KS[1]}"
line=""
read -r -t 30 line <&"${KS[0]}" || true
[[ "$line" == DBUS_SESSION_BUS_ADDRESS=* ]] || die "the Secret Service did not start: $(cat "$WORK/ks.log")"
export DBUS_SESSION_BUS_ADDRESS="${line#DBUS_SESSION_BUS_ADDRESS=}"

printf %s bench-secret-tool-password |
    secret-tool store --label=dbcreds-bench service dbcreds-bench username prod
[[ "$(secret-tool lookup service dbcreds-bench username prod)" == bench-secret-tool-password ]] ||
    die "secret-tool lookup does not return what was stored"

say "starting ssh-agent with one ed25519 key"
eval "$(ssh-agent -s -a "$WORK/ssh-agent.sock")" >/dev/null
ssh-keygen -q -t ed25519 -N '' -C dbcreds-bench -f "$WORK/id_ed25519"
ssh-add -q "$WORK/id_ed25519" 2>/dev/null
[[ "$(ssh-add -l | wc -l)" == 1 ]] || die "ssh-agent does not list exactly one key"

if ((HAVE_PYKEYRING)); then
    export PYTHON_KEYRING_BACKEND=keyring.backends.SecretService.Keyring
    PY_GET='python3 -c "import keyring; keyring.get_password(\"dbcreds-bench\", \"prod\")"'
    got="$(python3 -c 'import keyring; print(keyring.get_password("dbcreds-bench", "prod"))')" ||
        die "Python keyring cannot read the Secret Service"
    [[ "$got" == bench-secret-tool-password ]] || die "Python keyring returned '$got'"
fi

# dbcreds sees only the sandbox: its own config dir, runtime dir, agent binary.
export XDG_CONFIG_HOME="$WORK/xdg/config" XDG_RUNTIME_DIR="$WORK/xdg/runtime"
export DBCREDS_AGENT_BIN="$BIN/dbcreds-agent"
unset DBCREDS_SOCK DBCREDS_LOG DBCREDS_PASSPHRASE_FILE
for v in $(env | sed -n 's/^\(DBCREDS_[A-Z0-9_]*_PASSWORD\)=.*/\1/p'); do unset "$v"; done

agent_pid() { "$DBCREDS" status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])'; }
proc_kib() { # proc_kib PID FIELD -> kB
    awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"
}
restart_agent() {
    "$DBCREDS" agent stop >/dev/null
    "$DBCREDS" agent start >/dev/null
    # The agent unlocks through the keyring at start; a get waits for it.
    "$DBCREDS" get "$1" >/dev/null
}

# --- 4. home A: prod (+ 1,000 for list) --------------------------------------
export DBCREDS_HOME="$WORK/home-a"
say "home A: init (keyring), add prod"
"$DBCREDS" init --unlocker keyring >&2
printf 'S3cret-pr0d-p@ss\n' | "$DBCREDS" add prod --kind postgres --host db.internal --port 5432 \
    --database app --user app --password-stdin >&2
[[ "$("$DBCREDS" get prod)" == 'S3cret-pr0d-p@ss' ]] || die "dbcreds get prod does not print the password"
restart_agent prod
for _ in $(seq 20); do "$DBCREDS" get prod >/dev/null; done
PID_A="$(agent_pid)"
IDLE_RSS=$(proc_kib "$PID_A" VmRSS)
IDLE_HWM=$(proc_kib "$PID_A" VmHWM)
say "agent idle (1 environment, unlocked, after 20 gets): VmRSS ${IDLE_RSS} kB, VmHWM ${IDLE_HWM} kB"

say "home A: adding $LIST_ENVS environments for list"
"$LOADGEN" --socket "$DBCREDS_HOME/agent.sock" populate --count "$LIST_ENVS" >/dev/null
N_LIST="$("$DBCREDS" list --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')"

# --- 5. one hyperfine run -----------------------------------------------------
LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"
say "load average before: $LOAD_BEFORE (nproc $(nproc))"
cmds=(
    -n "dbcreds get prod" "$DBCREDS get prod"
    -n "dbcreds get prod uri" "$DBCREDS get prod uri"
    -n "dbcreds list --json ($N_LIST envs)" "$DBCREDS list --json"
    -n "ssh-add -l" "ssh-add -l"
    -n "secret-tool lookup" "secret-tool lookup service dbcreds-bench username prod"
    -n "/bin/true" "/bin/true"
)
((HAVE_PYKEYRING)) && cmds+=(-n "python keyring.get_password" "$PY_GET")
mkdir -p "$OUT_DIR"
HF_JSON="$(dirname "${BENCH_OUT:-$OUT_DIR/latest.json}")/hyperfine-$(basename "${BENCH_OUT:-$OUT_DIR/latest.json}")"
say "hyperfine --warmup $WARMUP --runs $RUNS -N"
hyperfine --warmup "$WARMUP" --runs "$RUNS" -N --style basic --export-json "$HF_JSON" "${cmds[@]}" >&2
LOAD_AFTER_HF="$(cut -d' ' -f1-3 /proc/loadavg)"

# --- 6. peak RSS of the CLIs -------------------------------------------------
max_rss() { # max_rss CMD... -> max "Maximum resident set size" over RSS_RUNS runs, kB
    local best=0 r
    for _ in $(seq "$RSS_RUNS"); do
        r=$(/usr/bin/time -v "$@" 2>&1 >/dev/null | awk -F': ' '/Maximum resident set size/ { print $2 }')
        ((r > best)) && best=$r
    done
    echo "$best"
}
faults() { # faults CMD... -> median minor page faults over RSS_RUNS runs
    for _ in $(seq "$RSS_RUNS"); do
        /usr/bin/time -v "$@" 2>&1 >/dev/null | awk -F': ' '/Minor .*page faults/ { print $2 }'
    done | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}
syscalls() { # syscalls CMD... -> the total of `strace -f -c` (calls) for one run
    strace -f -c -o "$WORK/strace.txt" "$@" >/dev/null 2>&1
    awk '$NF == "total" { print $4 + 0 }' "$WORK/strace.txt"
}
say "peak RSS (GNU time, max of $RSS_RUNS), page faults, system calls"
FLT_GET=$(faults "$DBCREDS" get prod)
FLT_SSH=$(faults ssh-add -l)
FLT_TRUE=$(faults /bin/true)
SYS_GET=$(syscalls "$DBCREDS" get prod)
SYS_SSH=$(syscalls ssh-add -l)
SYS_TRUE=$(syscalls /bin/true)
RSS_GET=$(max_rss "$DBCREDS" get prod)
RSS_URI=$(max_rss "$DBCREDS" get prod uri)
RSS_LIST=$(max_rss "$DBCREDS" list --json)
RSS_SSH=$(max_rss ssh-add -l)
RSS_ST=$(max_rss secret-tool lookup service dbcreds-bench username prod)
RSS_TRUE=$(max_rss /bin/true)
AGENT_A_RSS=$(proc_kib "$PID_A" VmRSS)
AGENT_A_HWM=$(proc_kib "$PID_A" VmHWM)

# --- 7. load generator --------------------------------------------------------
say "dbcreds-load get: 1, 8, 64 connections, ${LOAD_SECS}s each, over gRPC and over the direct wire"
LOAD_JSON="$("$LOADGEN" --socket "$DBCREDS_HOME/agent.sock" get --name prod --agent-pid "$PID_A" \
    --connections 1,8,64 --duration "$LOAD_SECS" --warmup "$LOAD_WARMUP")"
LOAD_DIRECT_JSON="$("$LOADGEN" --socket "$DBCREDS_HOME/agent.sock" get --name prod --agent-pid "$PID_A" \
    --wire direct --connections 1,8,64 --duration "$LOAD_SECS" --warmup "$LOAD_WARMUP")"
AGENT_A_HWM_LOAD=$(proc_kib "$PID_A" VmHWM)

# --- 8. home B: unlock and RSS with 10,000 environments ----------------------
export DBCREDS_HOME="$WORK/home-b"
say "home B: init (keyring); unlock of the empty vault"
"$DBCREDS" init --unlocker keyring >&2
UNLOCK0_JSON="$("$LOADGEN" --socket "$DBCREDS_HOME/agent.sock" unlock --rounds "$UNLOCK_ROUNDS")"
say "home B: adding $BIG_ENVS environments"
POP_JSON="$("$LOADGEN" --socket "$DBCREDS_HOME/agent.sock" populate --count "$BIG_ENVS")"
restart_agent env-00001
PID_B="$(agent_pid)"
BIG_RSS=$(proc_kib "$PID_B" VmRSS)
BIG_HWM=$(proc_kib "$PID_B" VmHWM)
say "agent with $BIG_ENVS environments unlocked (fresh start): VmRSS ${BIG_RSS} kB, VmHWM ${BIG_HWM} kB"
UNLOCK_JSON="$("$LOADGEN" --socket "$DBCREDS_HOME/agent.sock" unlock --rounds "$UNLOCK_ROUNDS")"
BIG_RSS_AFTER=$(proc_kib "$PID_B" VmRSS)
BIG_HWM_AFTER=$(proc_kib "$PID_B" VmHWM)
LOAD_AFTER="$(cut -d' ' -f1-3 /proc/loadavg)"

# --- 9. report ----------------------------------------------------------------
export HF_JSON LOAD_JSON LOAD_DIRECT_JSON UNLOCK0_JSON UNLOCK_JSON POP_JSON LOAD_BEFORE LOAD_AFTER_HF LOAD_AFTER
export IDLE_RSS IDLE_HWM AGENT_A_RSS AGENT_A_HWM AGENT_A_HWM_LOAD BIG_RSS BIG_HWM BIG_RSS_AFTER BIG_HWM_AFTER
export RSS_GET RSS_URI RSS_LIST RSS_SSH RSS_ST RSS_TRUE N_LIST BIG_ENVS WARMUP RUNS BIN
export FLT_GET FLT_SSH FLT_TRUE SYS_GET SYS_SSH SYS_TRUE ELF_TYPE ELF_INTERP
export GIT_REV="$(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo unknown)$(cd "$ROOT" && git diff --quiet 2>/dev/null || echo -dirty)"
python3 - "${BENCH_OUT:-$OUT_DIR/latest.json}" <<'PY'
import json, os, platform, subprocess, sys, time
e = os.environ
hf = json.load(open(e["HF_JSON"]))
med = {r["command"]: r["median"] * 1e3 for r in hf["results"]}
rows = {r["command"]: {k: round(r[k] * 1e3, 3) for k in ("median", "mean", "stddev", "min", "max")} for r in hf["results"]}
def cpu():
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()
get, ssh, st = med["dbcreds get prod"], med["ssh-add -l"], med["secret-tool lookup"]
kib = lambda v: int(e[v])
result = {
    "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    "git": e["GIT_REV"],
    "binaries": e["BIN"],
    "machine": {"nproc": os.cpu_count(), "cpu": cpu(), "kernel": platform.release(),
                "loadavg_before": e["LOAD_BEFORE"], "loadavg_after_hyperfine": e["LOAD_AFTER_HF"],
                "loadavg_after": e["LOAD_AFTER"]},
    "hyperfine": {"warmup": int(e["WARMUP"]), "runs": int(e["RUNS"]), "ms": rows},
    "ratios": {"dbcreds_get_over_ssh_add": round(get / ssh, 3),
               "secret_tool_over_dbcreds_get": round(st / get, 3)},
    "targets": {"get_le_0.5x_ssh_add": get <= 0.5 * ssh, "get_8x_faster_than_secret_tool": st >= 8 * get,
                "get_peak_rss_le_4MiB": kib("RSS_GET") <= 4096},
    "dbcreds_binary": {"path": os.path.join(e["BIN"], "dbcreds"), "elf_type": e["ELF_TYPE"],
                       "program_interpreter": e["ELF_INTERP"] == "yes",
                       "bytes": os.path.getsize(os.path.join(e["BIN"], "dbcreds"))},
    "minor_page_faults_median": {"dbcreds get prod": kib("FLT_GET"), "ssh-add -l": kib("FLT_SSH"),
                                 "/bin/true": kib("FLT_TRUE")},
    "syscalls_strace_f_c": {"dbcreds get prod": kib("SYS_GET"), "ssh-add -l": kib("SYS_SSH"),
                            "/bin/true": kib("SYS_TRUE")},
    "cli_peak_rss_kib": {"dbcreds get prod": kib("RSS_GET"), "dbcreds get prod uri": kib("RSS_URI"),
                         "dbcreds list --json": kib("RSS_LIST"), "ssh-add -l": kib("RSS_SSH"),
                         "secret-tool lookup": kib("RSS_ST"), "/bin/true": kib("RSS_TRUE")},
    "agent_rss_kib": {
        "idle_1_env": {"VmRSS": kib("IDLE_RSS"), "VmHWM": kib("IDLE_HWM")},
        "after_hyperfine_%s_envs" % e["N_LIST"]: {"VmRSS": kib("AGENT_A_RSS"), "VmHWM": kib("AGENT_A_HWM")},
        "VmHWM_after_load": kib("AGENT_A_HWM_LOAD"),
        "unlocked_%s_envs_fresh" % e["BIG_ENVS"]: {"VmRSS": kib("BIG_RSS"), "VmHWM": kib("BIG_HWM")},
        "unlocked_%s_envs_after_unlock_rounds" % e["BIG_ENVS"]: {"VmRSS": kib("BIG_RSS_AFTER"), "VmHWM": kib("BIG_HWM_AFTER")},
    },
    "load": json.loads(e["LOAD_JSON"])["get"] + json.loads(e["LOAD_DIRECT_JSON"])["get"],
    "unlock_empty": json.loads(e["UNLOCK0_JSON"])["unlock"],
    "unlock_big": json.loads(e["UNLOCK_JSON"])["unlock"],
    "populate": json.loads(e["POP_JSON"])["populate"],
}
json.dump(result, open(sys.argv[1], "w"), indent=2)
print()
print("machine: %d cores, %s, kernel %s; load average before %s, after %s"
      % (os.cpu_count(), cpu(), platform.release(), e["LOAD_BEFORE"], e["LOAD_AFTER"]))
print()
print("%-40s %10s" % ("command (hyperfine -N, %s runs)" % e["RUNS"], "median ms"))
for name, r in rows.items():
    print("%-40s %10.3f" % (name, r["median"]))
print()
print("dbcreds get / ssh-add -l   = %.3f   (target <= 0.5)" % (get / ssh))
print("secret-tool / dbcreds get  = %.2f    (target >= 8)" % (st / get))
b = result["dbcreds_binary"]
print("dbcreds binary: ELF %s, program interpreter %s, %d bytes" % (b["elf_type"], b["program_interpreter"], b["bytes"]))
print("minor page faults (median): " + ", ".join("%s %d" % kv for kv in result["minor_page_faults_median"].items()))
print("system calls (strace -f -c): " + ", ".join("%s %d" % kv for kv in result["syscalls_strace_f_c"].items()))
print()
print("CLI peak RSS (KiB): " + ", ".join("%s %d" % kv for kv in result["cli_peak_rss_kib"].items()))
a = result["agent_rss_kib"]
print("agent RSS (KiB): idle %d (HWM %d); %s envs unlocked %d (HWM %d)"
      % (a["idle_1_env"]["VmRSS"], a["idle_1_env"]["VmHWM"], e["BIG_ENVS"],
         a["unlocked_%s_envs_fresh" % e["BIG_ENVS"]]["VmRSS"], a["unlocked_%s_envs_fresh" % e["BIG_ENVS"]]["VmHWM"]))
for r in result["load"]:
    print("Get over %-6s %3d connections: %9.0f req/s, p50 %.3f ms, p99 %.3f ms; CPU/request: agent %s us, load generator %s us"
          % (r.get("wire", "grpc"), r["connections"], r["requests_per_sec"], r["p50_ms"], r["p99_ms"],
             "%.1f" % r["agent_cpu_us_per_request"] if r.get("agent_cpu_us_per_request") is not None else "?",
             "%.1f" % r["client_cpu_us_per_request"] if r.get("client_cpu_us_per_request") is not None else "?"))
print("unlock (keyring, RPC as the client sees it): empty vault %.1f ms, %d envs %.1f ms (medians)"
      % (result["unlock_empty"]["median_ms"], result["unlock_big"]["environments"], result["unlock_big"]["median_ms"]))
print()
print("wrote", sys.argv[1])
PY
