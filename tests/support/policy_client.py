#!/usr/bin/env python3
"""A third-party client against the agent's policies: Python grpcio over unix://.

Usage:
  policy_client.py PROTO_DIR SOCKET get NAME [CHILD]
      Get(NAME) (with child_exe=CHILD when given, as `dbcreds exec` sends
      it): prints `password=<...>`, or `error=<CODE> reason=<...> message=<...>`.
  policy_client.py PROTO_DIR SOCKET self-approve NAME
      Get(NAME) deferred (Approval.defer), so the agent answers at once with
      reason approval_pending and the request's id; then tries to approve
      that request itself through AnswerApproval, and prints what each step
      got (`pending=<id>`, then `answer=<CODE> reason=<...> message=<...>`
      or `answer=OK`), and whether it is still pending afterwards.
"""
import importlib
import sys
import tempfile

import grpc
from grpc_tools import protoc


def stubs(proto_dir):
    out = tempfile.mkdtemp()
    rc = protoc.main([
        "protoc", f"-I{proto_dir}", f"--python_out={out}", f"--grpc_python_out={out}",
        "dbcreds/v1/agent.proto",
    ])
    if rc != 0:
        print("protoc failed", file=sys.stderr)
        sys.exit(2)
    sys.path.insert(0, out)
    return (importlib.import_module("dbcreds.v1.agent_pb2"),
            importlib.import_module("dbcreds.v1.agent_pb2_grpc"))


def failure(e):
    meta = dict(e.trailing_metadata() or ())
    return e.code().name, meta.get("dbcreds-reason", ""), meta, e.details()


def main() -> int:
    proto_dir, socket, mode, name = sys.argv[1:5]
    child = sys.argv[5] if len(sys.argv) > 5 else ""
    pb, rpc = stubs(proto_dir)
    # A plain :authority; see python_client.py.
    options = [("grpc.default_authority", "localhost")]
    with grpc.insecure_channel(f"unix://{socket}", options=options) as channel:
        stub = rpc.AgentStub(channel)
        if mode == "get":
            try:
                reply = stub.Get(pb.GetRequest(name=name, child_exe=child), timeout=60)
                print(f"password={reply.password}")
            except grpc.RpcError as e:
                code, reason, _, message = failure(e)
                print(f"error={code} reason={reason} message={message}")
            return 0
        try:
            stub.Get(pb.GetRequest(name=name, approval=pb.Approval(defer=True)), timeout=30)
            print("revealed without an approval")
            return 1
        except grpc.RpcError as e:
            code, reason, meta, message = failure(e)
            if reason != "approval_pending":
                print(f"error={code} reason={reason} message={message}")
                return 1
            pending = int(meta["dbcreds-approval-id"])
        print(f"pending={pending}")
        try:
            stub.AnswerApproval(pb.AnswerApprovalRequest(id=pending, approve=True), timeout=10)
            print("answer=OK")
        except grpc.RpcError as e:
            code, reason, _, message = failure(e)
            print(f"answer={code} reason={reason} message={message}")
        listed = stub.ListApprovals(pb.ListApprovalsRequest(), timeout=10)
        still = any(p.id == pending for p in listed.pending)
        print(f"still_pending={still}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
