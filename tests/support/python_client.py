#!/usr/bin/env python3
"""A third-party client of the dbcreds agent: Python grpcio over unix://.

Usage: python_client.py PROTO_DIR SOCKET NAME
Compiles dbcreds/v1/agent.proto with grpcio-tools into a temp dir, then
calls Status and Get(NAME) and prints `protocol=<n>` and `password=<...>`.
Shows that the wire contract needs nothing from the Rust crates.
"""
import importlib
import sys
import tempfile

import grpc
from grpc_tools import protoc


def main() -> int:
    proto_dir, socket, name = sys.argv[1:4]
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
    # grpc-core would send the socket path as :authority, which the agent's
    # HTTP/2 stack (h2) rejects as malformed; any plain host name does.
    options = [("grpc.default_authority", "localhost")]
    with grpc.insecure_channel(f"unix://{socket}", options=options) as channel:
        stub = rpc.AgentStub(channel)
        status = stub.Status(pb.StatusRequest(), timeout=10)
        print(f"protocol={status.protocol}")
        try:
            reply = stub.Get(pb.GetRequest(name=name), timeout=10)
            print(f"password={reply.password}")
        except grpc.RpcError as e:
            reason = dict(e.trailing_metadata() or ()).get("dbcreds-reason", "")
            print(f"error={e.code().name} reason={reason} message={e.details()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
