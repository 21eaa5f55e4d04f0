#!/usr/bin/env bash
# bench/callgrind.sh BIN_DIR [CONNECTIONS] [REQUESTS_PER_CONNECTION] [OUT]
#
# The agent's instructions and frees per Get, as callgrind counts them
# (exact and repeatable whatever else the machine runs, unlike time):
# BIN_DIR's dbcreds-agent runs under `valgrind --tool=callgrind` with
# collection off, on a passphrase vault in a temp home holding `prod`;
# dbcreds-load (built from this tree into target/bench) warms it up, then
# collection is switched on for CONNECTIONS x REQUESTS_PER_CONNECTION Get
# RPCs (defaults 8 x 500) and off again. Prints, and writes to OUT (default
# bench/results/callgrind-get.json): instructions per Get (all threads: the
# runtime's workers, the audit writer, sqlx's SQLite thread), frees per
# Get (the zeroing allocator calls libc's explicit_bzero once for every
# block Rust frees, whichever allocator is under it: release binaries are
# stripped, so that dynamic symbol is what callgrind can name; glibc's
# `free` counted apart, SQLite's included), and the top functions by
# exclusive count.
#
# LOADGEN=PATH takes another dbcreds-load; WIRE=direct sends the Gets over
# the direct wire (what `dbcreds get` speaks) instead of gRPC.
# Needs valgrind (callgrind_control, callgrind_annotate), python3.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="$(cd "${1:?usage: bench/callgrind.sh BIN_DIR [CONNECTIONS] [REQUESTS_PER_CONNECTION] [OUT]}" && pwd)"
CONN=${2:-8}
PER=${3:-500}
OUT=${4:-$ROOT/bench/results/callgrind-get.json}
LOADGEN="${LOADGEN:-$ROOT/target/bench/release/dbcreds-load}"
WIRE="${WIRE:-grpc}"
if [[ ! -x "$LOADGEN" ]]; then
    (cd "$ROOT" && CARGO_TARGET_DIR="$ROOT/target/bench" cargo build --locked --release -p dbcreds-bench) >&2
fi

T=$(mktemp -d /tmp/dbcreds-callgrind.XXXXXX)
mkdir -m700 "$T/run"
VPID=""
cleanup() {
    [[ -n "$VPID" ]] && kill "$VPID" 2>/dev/null
    [[ -n "${KEEP:-}" ]] || rm -rf "$T"
}
trap cleanup EXIT
export XDG_RUNTIME_DIR=$T/run DBUS_SESSION_BUS_ADDRESS=unix:path=/nonexistent DBCREDS_CONFIG=$T/none.toml
export DBCREDS_HOME=$T/home DBCREDS_SOCK=$T/agent.sock DBCREDS_AGENT_BIN=$BIN/dbcreds-agent
# Switching instrumentation on makes valgrind translate everything anew:
# the first requests after it take seconds.
export DBCREDS_AGENT_TIMEOUT=120s DBCREDS_AGENT_CONNECT_TIMEOUT=120s
printf pp >"$T/pass"
"$BIN/dbcreds" init --unlocker passphrase --passphrase-stdin <"$T/pass" >/dev/null
printf 's3cret-pass' | "$BIN/dbcreds" add prod --kind postgres --host db.internal \
    --database app --user app --password-stdin >/dev/null
"$BIN/dbcreds" agent stop >/dev/null

DBCREDS_PASSPHRASE_FILE=$T/pass valgrind --tool=callgrind --instr-atstart=no \
    --callgrind-out-file="$T/cg.out" "$BIN/dbcreds-agent" --socket "$T/agent.sock" 2>"$T/vg.log" &
VPID=$!
# Until the socket exists a get would start an agent of its own.
for _ in $(seq 600); do
    [[ -S "$T/agent.sock" ]] && [[ "$("$BIN/dbcreds" get prod 2>/dev/null)" == s3cret-pass ]] && break
    sleep 0.1
done
[[ "$("$BIN/dbcreds" get prod)" == s3cret-pass ]] || {
    cat "$T/vg.log" >&2
    exit 1
}
"$LOADGEN" --socket "$T/agent.sock" get --wire "$WIRE" --connections "$CONN" --max-requests 100 \
    --duration 120 --warmup 0 >/dev/null
callgrind_control -i on "$VPID" >/dev/null
LOAD_JSON="$("$LOADGEN" --socket "$T/agent.sock" get --wire "$WIRE" --connections "$CONN" --max-requests "$PER" \
    --duration 600 --warmup 0)"
callgrind_control -i off "$VPID" >/dev/null
"$BIN/dbcreds" agent stop >/dev/null
wait "$VPID" || true
VPID=""
callgrind_annotate --inclusive=no "$T"/cg.out* >"$T/annotate.txt" 2>/dev/null

export LOAD_JSON CONN PER BIN WIRE
python3 - "$OUT" "$T" <<'PY'
import glob, json, os, re, sys, time
out, t = sys.argv[1], sys.argv[2]
e = os.environ
requests = sum(r["requests"] for r in json.loads(e["LOAD_JSON"])["get"])
total = 0
frees = 0
libc_frees = 0
# callgrind's format: `fn=`/`cfn=(id) name` lines name functions once and
# then by id; a `calls=N ...` line follows each `cfn=`.
for path in glob.glob(os.path.join(t, "cg.out*")):
    names = {}
    callee = None
    for line in open(path, errors="replace"):
        if line.startswith("summary:") or line.startswith("totals:"):
            total += int(line.split()[1])
            continue
        m = re.match(r"cfn=\((\d+)\)(?: (.*))?", line)
        if m:
            if m.group(2):
                names[m.group(1)] = m.group(2).strip()
            callee = names.get(m.group(1), "")
            continue
        m = re.match(r"c?fn=\((\d+)\) (.*)", line)
        if m:
            names[m.group(1)] = m.group(2).strip()
        if line.startswith("calls=") and callee is not None:
            n = int(line.split()[0][6:])
            if callee in ("explicit_bzero", "__explicit_bzero_chk"):
                frees += n
            elif callee in ("free", "__libc_free", "cfree"):
                libc_frees += n
            callee = None
top = []
for line in open(os.path.join(t, "annotate.txt")):
    m = re.match(r"\s*([\d,]+) \(\s*([\d.]+)%\)\s+(\S.*)", line)
    if m and "PROGRAM TOTALS" not in line:
        top.append({"ir": int(m.group(1).replace(",", "")), "pct": float(m.group(2)), "fn": m.group(3)[:160]})
    if len(top) >= 25:
        break
res = {
    "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    "binaries": e["BIN"],
    "wire": e["WIRE"],
    "connections": int(e["CONN"]),
    "requests": requests,
    "instructions": total,
    "instructions_per_get": round(total / requests),
    "frees_per_get": round(frees / requests, 1),
    "glibc_free_calls_per_get": round(libc_frees / requests, 1),
    "top_exclusive": top,
}
json.dump(res, open(out, "w"), indent=2)
print("%d Gets over %s connections: %d instructions per Get, %.1f frees (wiped) and %.1f glibc free calls per Get"
      % (requests, e["CONN"], res["instructions_per_get"], res["frees_per_get"], res["glibc_free_calls_per_get"]))
for f in top[:15]:
    print("%6.2f%%  %s" % (f["pct"], f["fn"]))
print("wrote", out)
PY
