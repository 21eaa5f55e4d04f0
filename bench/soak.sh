#!/usr/bin/env bash
# bench/soak.sh: the soak of issue 9. Release build, a passphrase vault in a
# temp DBCREDS_HOME (no Secret Service), then `dbcreds-load soak`: Get RPCs
# from 8 connections for 10 minutes while a writer adds, updates and removes
# environments and locks/unlocks the vault, the agent's VmRSS sampled every
# 10 s. At the end the load generator compares the agent's view with the
# writer's and asks the agent for `PRAGMA integrity_check` (Diagnose); then
# this script stops the agent and runs `sqlite3 vault.db 'PRAGMA
# integrity_check'` on the file itself (when sqlite3 is installed).
#
# Usage: bench/soak.sh [--quick]        (--quick: 60 s, 10 s warm-up)
# Environment: SOAK_SECS (default 600), SOAK_WARMUP (60), SOAK_CONNECTIONS (8),
#   SOAK_SEED (1), SOAK_OUT (default bench/results/soak-latest.json).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
SECS="${SOAK_SECS:-600}"
WARMUP="${SOAK_WARMUP:-60}"
if [[ "${1:-}" == --quick ]]; then
    SECS=60
    WARMUP=10
fi
CONNS="${SOAK_CONNECTIONS:-8}"
SEED="${SOAK_SEED:-1}"
OUT="${SOAK_OUT:-$ROOT/bench/results/soak-latest.json}"

say() { printf 'soak.sh: %s\n' "$*" >&2; }
die() {
    say "$*"
    exit 1
}

export CARGO_TARGET_DIR="$ROOT/target/bench"
say "building release binaries in $CARGO_TARGET_DIR"
(cd "$ROOT" && cargo build --release -p dbcreds-cli -p dbcreds-agent -p dbcreds-bench) >&2 ||
    die "release build failed"
BIN="$CARGO_TARGET_DIR/release"
DBCREDS="$BIN/dbcreds"

WORK="$(mktemp -d /tmp/dbcreds-soak.XXXXXX)"
cleanup() {
    set +e
    DBCREDS_HOME="$WORK/home" "$DBCREDS" agent stop >/dev/null 2>&1
    rm -rf "$WORK"
}
trap cleanup EXIT
mkdir -p "$WORK/xdg/config" "$WORK/xdg/runtime"
chmod 700 "$WORK/xdg/runtime"
export XDG_CONFIG_HOME="$WORK/xdg/config" XDG_RUNTIME_DIR="$WORK/xdg/runtime"
export DBCREDS_HOME="$WORK/home" DBCREDS_AGENT_BIN="$BIN/dbcreds-agent"
export DBUS_SESSION_BUS_ADDRESS="unix:path=/nonexistent" # no Secret Service: passphrase only
unset DBCREDS_SOCK DBCREDS_LOG DBCREDS_PASSPHRASE_FILE
for v in $(env | sed -n 's/^\(DBCREDS_[A-Z0-9_]*_PASSWORD\)=.*/\1/p'); do unset "$v"; done

PASSFILE="$WORK/passphrase"
printf 'soak-passphrase-%s\n' "$RANDOM$RANDOM" >"$PASSFILE"
chmod 600 "$PASSFILE"
say "init (passphrase) in $DBCREDS_HOME"
"$DBCREDS" init --unlocker passphrase --passphrase-stdin <"$PASSFILE" >&2

mkdir -p "$(dirname "$OUT")"
LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"
say "load average before: $LOAD_BEFORE; soak: $CONNS connections, $SECS s, warm-up $WARMUP s, seed $SEED"
status=0
"$BIN/dbcreds-load" --socket "$DBCREDS_HOME/agent.sock" soak --connections "$CONNS" \
    --duration "$SECS" --warmup "$WARMUP" --sample-every 10 --passphrase-file "$PASSFILE" \
    --seed "$SEED" >"$WORK/soak.json" || status=$?
say "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

"$DBCREDS" doctor >&2 || say "dbcreds doctor reported a problem"
"$DBCREDS" agent stop >&2
FILE_CHECK="sqlite3 not installed"
AUDIT_ROWS=""
if command -v sqlite3 >/dev/null; then
    FILE_CHECK="$(sqlite3 "$DBCREDS_HOME/vault.db" 'PRAGMA integrity_check')"
    AUDIT_ROWS="$(sqlite3 "$DBCREDS_HOME/vault.db" 'SELECT count(*) FROM audit')"
fi
say "sqlite3 vault.db 'PRAGMA integrity_check' after agent stop: $FILE_CHECK; audit rows: $AUDIT_ROWS; vault.db $(du -h "$DBCREDS_HOME/vault.db" | cut -f1)"

export FILE_CHECK LOAD_BEFORE AUDIT_ROWS
export LOAD_AFTER="$(cut -d' ' -f1-3 /proc/loadavg)"
export GIT_REV="$(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo unknown)"
python3 - "$WORK/soak.json" "$OUT" <<'PY'
import json, os, sys
r = json.load(open(sys.argv[1]))
r["soak"]["file_integrity_check"] = os.environ["FILE_CHECK"]
r["soak"]["audit_rows"] = int(os.environ["AUDIT_ROWS"] or 0)
r["soak"]["git"] = os.environ["GIT_REV"]
r["soak"]["loadavg_before"] = os.environ["LOAD_BEFORE"]
r["soak"]["loadavg_after"] = os.environ["LOAD_AFTER"]
json.dump(r, open(sys.argv[2], "w"), indent=2)
print("wrote", sys.argv[2])
PY
[[ "$FILE_CHECK" == ok || "$FILE_CHECK" == "sqlite3 not installed" ]] || status=1
exit "$status"
