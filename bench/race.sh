#!/usr/bin/env bash
# bench/race.sh BIN_DIR: 20 rounds of 50 parallel first calls (no agent
# running) against one vault; prints the failures (issue 9.4: must be 0)
# and any round that ended with more than one agent.
set -u
B=${1:?bin dir with dbcreds and dbcreds-agent}; T=$(mktemp -d); mkdir -m700 $T/run
export XDG_RUNTIME_DIR=$T/run DBUS_SESSION_BUS_ADDRESS=unix:path=/nonexistent DBCREDS_CONFIG=$T/none.toml DBCREDS_HOME=$T/h DBCREDS_AGENT_BIN=$B/dbcreds-agent
printf pp > $T/pass; export DBCREDS_PASSPHRASE_FILE=$T/pass
printf pp | $B/dbcreds init --unlocker passphrase --passphrase-stdin >/dev/null
printf 's3cret' | $B/dbcreds add prod --kind postgres --host h --database d --user u --password-stdin >/dev/null
fail=0; total=0
for round in $(seq 1 20); do
  $B/dbcreds agent stop >/dev/null 2>&1
  for i in $(seq 1 50); do ( out=$($B/dbcreds get prod 2>&1); [ "$out" = s3cret ] || echo "FAIL: $out" ) & done > $T/out.$round
  wait
  n=$(grep -c FAIL $T/out.$round); fail=$((fail+n)); total=$((total+50))
  agents=$(pgrep -fc "$B/dbcreds-agent")
  [ "$agents" = 1 ] || echo "round $round: $agents agents"
done
echo "failures: $fail of $total"; grep -h FAIL $T/out.* | sort | uniq -c | head
$B/dbcreds agent stop >/dev/null 2>&1
