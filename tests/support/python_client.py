#!/usr/bin/env python3
"""A third-party client of the dbcreds agent: Python grpcio over unix://.

Usage: python_client.py PROTO_DIR SOCKET NAME [AUTHORITY [PURPOSE]]
Compiles dbcreds/v1/agent.proto with grpcio-tools into a temp dir, then
calls Status and Get(NAME) and prints `protocol=<n>` and `password=<...>`.
Shows that the wire contract needs nothing from the Rust crates.

AUTHORITY: `default` (or absent) leaves grpc-core's own `:authority`,
which for a `unix:` target is the socket path percent-encoded; anything
else is set as `grpc.default_authority` (a raw path is what grpc-java and
grpcurl send). PURPOSE goes in GetRequest.purpose (default: unset).
"""
import importlib
import sys
import tempfile

import grpc
from grpc_tools import protoc


def main() -> int:
    proto_dir, socket, name = sys.argv[1:4]
    authority = sys.argv[4] if len(sys.argv) > 4 else "default"
    purpose = sys.argv[5] if len(sys.argv) > 5 else None
    out = tempfile.mkdtemp()
    rc = protoc.main([
        "protoc", f"-I{proto_dir}", f"--python_out={out}", f"--grpc_python_out={out}",
        "dbcreds/v1/agent.proto",
    ])
    if rc != 0:
        print("protoc failed", file=sys.stderr)
        return 2
    sys.path.insert(0, out)
    pb = importlib.import_module("dbcreds.v1.agent_pb2")
    rpc = importlib.import_module("dbcreds.v1.agent_pb2_grpc")
    # Plain grpcio needs no option: the agent accepts the authority grpc-core
    # sends for unix: targets.
    options = [] if authority == "default" else [("grpc.default_authority", authority)]
    with grpc.insecure_channel(f"unix://{socket}", options=options) as channel:
        stub = rpc.AgentStub(channel)
        status = stub.Status(pb.StatusRequest(), timeout=10)
        print(f"protocol={status.protocol}")
        try:
            request = pb.GetRequest(name=name)
            if purpose is not None:
                request.purpose = purpose
            reply = stub.Get(request, timeout=10)
            print(f"password={reply.password}")
        except grpc.RpcError as e:
            reason = dict(e.trailing_metadata() or ()).get("dbcreds-reason", "")
            print(f"error={e.code().name} reason={reason} message={e.details()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
