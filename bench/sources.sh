#!/usr/bin/env bash
# bench/sources.sh: `dbcreds get` of a credential the agent holds from a
# source (a dynamic OpenBao database user, cached) next to `get` of a
# password stored in the vault, in ONE hyperfine run against ONE agent.
# Writes bench/results/sources-latest.json (hyperfine's export).
#
# Usage: bench/sources.sh [--quick]
# Environment:
#   BENCH_BIN=DIR   take dbcreds and dbcreds-agent from DIR (default: a
#                   release build into target/bench, as bench/run.sh does)
#   DBCREDS_TEST_PEERS_VENV  the venv with `bao` (tests/support/peers.sh)
#
# Needs root's tests/support/databases.sh done (the role OpenBao's database
# engine logs in with), hyperfine, and the peers venv. What it does:
#   1. starts `bao server -dev` on a free port, mounts the database engine
#      on the machine's PostgreSQL and a dynamic role with a 1 h TTL (no
#      renewal falls inside the run);
#   2. a temp DBCREDS_HOME with a passphrase vault: source `team`,
#      environment `stored` (a password in the vault) and `leased`
#      (`--dynamic database/creds/bench`); one `get leased` fetches the
#      lease, so every measured `get` is a cache hit;
#   3. hyperfine -N --warmup 20 --runs 300: `dbcreds get stored`,
#      `dbcreds get leased`, `/bin/true`;
#   4. stops the agent (which revokes the lease) and bao.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="$ROOT/bench/results/sources-latest.json"
WARMUP=20 RUNS=300
[[ "${1:-}" == "--quick" ]] && WARMUP=3 RUNS=20

die() { echo "bench/sources.sh: $*" >&2; exit 1; }
command -v hyperfine >/dev/null || die "hyperfine is missing (apt-get install hyperfine)"
VENV="${DBCREDS_TEST_PEERS_VENV:-$ROOT/target/peers-venv}"
[[ -x "$VENV/bin/bao" ]] || die "no bao in $VENV: run tests/support/peers.sh"

if [[ -n "${BENCH_BIN:-}" ]]; then
    BIN="$BENCH_BIN"
else
    CARGO_TARGET_DIR="$ROOT/target/bench" cargo build --release -q -p dbcreds-cli -p dbcreds-agent
    BIN="$ROOT/target/bench/release"
fi

WORK="$(mktemp -d /tmp/dbcreds-bench-sources.XXXXXX)"
BAO_PID=""
cleanup() {
    DBCREDS_HOME="$WORK/home" "$BIN/dbcreds" agent stop >/dev/null 2>&1 || true
    [[ -n "$BAO_PID" ]] && kill "$BAO_PID" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
ADDR="http://127.0.0.1:$PORT"
HOME="$WORK" "$VENV/bin/bao" server -dev -dev-root-token-id=root -dev-listen-address="127.0.0.1:$PORT" \
    >"$WORK/bao.log" 2>&1 &
BAO_PID=$!
for _ in $(seq 1 300); do
    curl -fs "$ADDR/v1/sys/health" >/dev/null 2>&1 && break
    sleep 0.1
done
curl -fs "$ADDR/v1/sys/health" >/dev/null || die "bao did not start: $(tail -3 "$WORK/bao.log")"

api() { curl -fsS -H 'X-Vault-Token: root' -X "$1" "$ADDR/v1/$2" ${3:+-d "$3"} >/dev/null; }
api POST sys/mounts/database '{"type":"database"}'
api PUT database/config/pg '{"plugin_name":"postgresql-database-plugin","connection_url":"postgresql://{{username}}:{{password}}@127.0.0.1:5432/postgres?sslmode=disable","username":"dbcreds_vault_admin","password":"dbcreds-vault-admin-test-password","allowed_roles":"*"}'
api PUT database/roles/bench '{"db_name":"pg","creation_statements":["CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '"'"'{{password}}'"'"' VALID UNTIL '"'"'{{expiration}}'"'"' IN ROLE dbcreds_test;"],"revocation_statements":["DROP ROLE IF EXISTS \"{{name}}\";"],"default_ttl":"1h","max_ttl":"2h"}'

export DBCREDS_HOME="$WORK/home" DBCREDS_AGENT_BIN="$BIN/dbcreds-agent"
printf 'bench-passphrase\n' | "$BIN/dbcreds" init --unlocker passphrase --passphrase-stdin >/dev/null
printf 'root' | "$BIN/dbcreds" source add team --kind openbao --address "$ADDR" --login-stdin >/dev/null
printf 'stored-password' | "$BIN/dbcreds" add stored --host 127.0.0.1 --database postgres --user app --password-stdin >/dev/null
"$BIN/dbcreds" add leased --source team --dynamic database/creds/bench --host 127.0.0.1 --database postgres >/dev/null
"$BIN/dbcreds" get leased >/dev/null   # the fetch: every measured get is a cache hit

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
hyperfine -N --warmup "$WARMUP" --runs "$RUNS" --export-json "$OUT" \
    "$BIN/dbcreds get stored" "$BIN/dbcreds get leased" "/bin/true"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "wrote $OUT"
