#!/bin/sh
# Regenerates the committed gRPC stubs from proto/dbcreds/v1/agent.proto
# (needs grpcio-tools: `pip install grpcio-tools`). The stubs are committed
# so installing the package needs no code generator; CI checks they are
# current (tests/run compares a fresh generation with them).
set -eu
here="$(cd "$(dirname "$0")/.." && pwd)"
proto="$here/../../proto"
out="${1:-$here/src/dbcreds_client/_proto}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
python3 -m grpc_tools.protoc -I"$proto" --python_out="$tmp" --pyi_out="$tmp" \
    --grpc_python_out="$tmp" dbcreds/v1/agent.proto
mkdir -p "$out"
# The generated import names a top-level `dbcreds` package (the proto's
# path), which is the old Python tool's name: import the sibling instead.
sed 's/^from dbcreds\.v1 import agent_pb2 as/from . import agent_pb2 as/' \
    "$tmp/dbcreds/v1/agent_pb2_grpc.py" > "$out/agent_pb2_grpc.py"
cp "$tmp/dbcreds/v1/agent_pb2.py" "$tmp/dbcreds/v1/agent_pb2.pyi" "$out/"
