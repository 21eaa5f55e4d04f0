#!/usr/bin/env bash
# bench/ui-start.sh: how long `dbcreds ui` takes from its start to the
# first page in the browser's hands, and how big dbcreds-ui is. Writes
# bench/results/ui-start.json.
#
# Usage: bench/ui-start.sh [RUNS]        (default 50, after 5 warm-ups)
# Environment:
#   BENCH_BIN=DIR   take dbcreds, dbcreds-agent and dbcreds-ui from DIR
#                   instead of building release binaries into target/bench
#   BENCH_OUT=FILE  write the result there instead of bench/results/ui-start.json
#
# One run, timed with bash's $EPOCHREALTIME around exactly this:
#   1. `dbcreds ui --no-open` starts (the CLI runs dbcreds-ui in its place,
#      which connects to the running agent, checks its protocol, binds
#      127.0.0.1 and prints the link);
#   2. the link is read from its stdout;
#   3. curl fetches it: the token exchange (303 and the session cookie),
#      then `/` with the cookie, which the page renders from the agent's
#      List (20 environments here), HTML in full.
# The page is then stopped (SIGTERM, waited for) outside the timed part.
# The agent runs already, unlocked (a passphrase vault in a temp home), as
# when someone with a working dbcreds opens the page.
#
# Tools: bash 5 ($EPOCHREALTIME), curl, cargo (unless BENCH_BIN).
set -euo pipefail

cd "$(dirname "$0")/.."
runs=${1:-50}
warmup=5
out=${BENCH_OUT:-bench/results/ui-start.json}

for tool in curl; do
    command -v "$tool" >/dev/null || { echo "bench/ui-start.sh: $tool is missing (apt-get install $tool)" >&2; exit 1; }
done

if [ -n "${BENCH_BIN:-}" ]; then
    bin=$BENCH_BIN
else
    echo "==> cargo build --release (dbcreds, dbcreds-agent, dbcreds-ui) into target/bench" >&2
    CARGO_TARGET_DIR=target/bench cargo build --release -q -p dbcreds-cli -p dbcreds-agent -p dbcreds-ui
    bin=target/bench/release
fi
bin=$(cd "$bin" && pwd)

tmp=$(mktemp -d)
cleanup() {
    "$bin/dbcreds" agent stop >/dev/null 2>&1 || true
    rm -rf "$tmp"
}
trap cleanup EXIT

export HOME=$tmp DBCREDS_HOME=$tmp/home XDG_RUNTIME_DIR=$tmp/run XDG_CONFIG_HOME=$tmp/config \
       DBCREDS_AGENT_BIN=$bin/dbcreds-agent DBUS_SESSION_BUS_ADDRESS=unix:path=/nonexistent
mkdir -m 700 "$XDG_RUNTIME_DIR"
printf 'bench passphrase\n' | "$bin/dbcreds" init --unlocker passphrase --passphrase-stdin >/dev/null 2>&1
for i in $(seq -w 1 20); do
    printf 'pw-%s\n' "$i" | "$bin/dbcreds" add "env-$i" --host db.internal --database app --user app \
        --password-stdin >/dev/null 2>&1
done

# Milliseconds (3 decimals) from $EPOCHREALTIME stamps.
ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b - a) * 1000 }'; }

once() {
    local start end url
    start=$EPOCHREALTIME
    coproc UI { exec "$bin/dbcreds" ui --no-open 2>/dev/null; }
    read -r url <&"${UI[0]}"
    curl -sf -c "$tmp/jar" -L -o "$tmp/page.html" "$url"
    end=$EPOCHREALTIME
    kill "$UI_PID"
    wait "$UI_PID" || true
    rm -f "$tmp/jar"
    grep -q 'env-20' "$tmp/page.html" || { echo "bench/ui-start.sh: the first page lacks the environments" >&2; exit 1; }
    ms "$start" "$end"
}

load_before=$(cut -d' ' -f1 /proc/loadavg)
for _ in $(seq "$warmup"); do once >/dev/null; done
times=()
for _ in $(seq "$runs"); do times+=("$(once)"); done
load_after=$(cut -d' ' -f1 /proc/loadavg)

sorted=$(printf '%s\n' "${times[@]}" | sort -n)
pick() { printf '%s\n' "$sorted" | sed -n "$1p"; }
min=$(pick 1)
median=$(pick $(( (runs + 1) / 2 )))
p90=$(pick $(( (runs * 9 + 9) / 10 )))
max=$(pick "$runs")
size_ui=$(stat -c %s "$bin/dbcreds-ui")
size_cli=$(stat -c %s "$bin/dbcreds")

mkdir -p "$(dirname "$out")"
cat > "$out" <<EOF
{
  "what": "dbcreds ui --no-open: start to the first page (token exchange and / over HTTP), ms",
  "runs": $runs,
  "warmup": $warmup,
  "min_ms": $min,
  "median_ms": $median,
  "p90_ms": $p90,
  "max_ms": $max,
  "dbcreds_ui_bytes": $size_ui,
  "dbcreds_bytes": $size_cli,
  "environments": 20,
  "load_before": $load_before,
  "load_after": $load_after,
  "nproc": $(nproc),
  "at": "$(date -u +%Y-%m-%dT%H:%M:%SZ)",
  "commit": "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
}
EOF
printf 'start to first page: median %s ms, p90 %s ms (min %s, max %s; %s runs)\n' "$median" "$p90" "$min" "$max" "$runs"
printf 'dbcreds-ui: %s bytes; dbcreds: %s bytes\n' "$size_ui" "$size_cli"
echo "wrote $out"
