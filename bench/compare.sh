#!/usr/bin/env bash
# bench/compare.sh OLD_BIN_DIR NEW_BIN_DIR [OUT.json]: `dbcreds get prod` of
# two builds in ONE hyperfine run (-N, 50 warm-up, 500 runs), each CLI
# against its own agent on a passphrase vault, plus `/bin/true` as the
# floor. Both commands start through `env` (to point at their socket), so
# both pay the same extra exec. Needs hyperfine.
#
# Build the two sides as `cargo install` would, e.g. for the old one:
#   git worktree add /tmp/old <rev> && (cd /tmp/old &&
#     cargo build --release -p dbcreds-cli && cargo build --release -p dbcreds-agent)
set -euo pipefail
OLD=${1:?old bin dir}; NEW=${2:?new bin dir}; OUT=${3:-bench/results/compare.json}
T=$(mktemp -d); mkdir -m700 "$T/run"
trap 'for v in old new; do DBCREDS_SOCK=$T/$v.sock DBCREDS_HOME=$T/$v "$NEW/dbcreds" agent stop >/dev/null 2>&1 || true; done; rm -rf "$T"' EXIT
export XDG_RUNTIME_DIR=$T/run DBUS_SESSION_BUS_ADDRESS=unix:path=/nonexistent DBCREDS_CONFIG=$T/none.toml
for v in old new; do
    bin=$OLD; [ "$v" = new ] && bin=$NEW
    export DBCREDS_HOME=$T/$v DBCREDS_SOCK=$T/$v.sock DBCREDS_AGENT_BIN=$bin/dbcreds-agent
    printf pp | "$bin/dbcreds" init --unlocker passphrase --passphrase-stdin >/dev/null
    printf 's3cret-pass' | "$bin/dbcreds" add prod --kind postgres --host db.internal \
        --database app --user app --password-stdin >/dev/null
    [ "$("$bin/dbcreds" get prod)" = s3cret-pass ]
done
unset DBCREDS_HOME DBCREDS_SOCK
hyperfine -N --warmup 50 --runs 500 --export-json "$OUT" \
    -n "old: dbcreds get prod" "env DBCREDS_SOCK=$T/old.sock $OLD/dbcreds get prod" \
    -n "new: dbcreds get prod" "env DBCREDS_SOCK=$T/new.sock $NEW/dbcreds get prod" \
    -n "floor: env /bin/true" "env DBCREDS_SOCK=$T/new.sock /bin/true"
