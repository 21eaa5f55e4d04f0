"""A connection to the dbcreds agent over its Unix socket (gRPC, the
contract in ``proto/dbcreds/v1/agent.proto``)."""

from __future__ import annotations

import os
import stat
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType
from typing import List, Optional, Type

import grpc

from ._proto import agent_pb2 as pb
from ._proto import agent_pb2_grpc as rpc
from .errors import AgentUnreachableError, DbcredsError, PermissionDeniedError, from_reason
from .model import DatabaseCredentials, Secret
from .paths import resolve_socket

#: Seconds a request may take. `get` may wait on the OS keyring (the Rust
#: client allows the keyring timeout and 20 s: 30 s).
DEFAULT_TIMEOUT = 30.0

REASON_KEY = "dbcreds-reason"


def _time(secs: int) -> Optional[datetime]:
    return datetime.fromtimestamp(secs, tz=timezone.utc) if secs > 0 else None


def credentials_from(env: "pb.Environment", password: str) -> DatabaseCredentials:
    """The model of an agent's ``Environment`` message."""
    return DatabaseCredentials(
        environment=env.name,
        kind=env.kind,
        host=env.host,
        port=env.port,
        database=env.database,
        username=env.username,
        password=Secret(password),
        options=dict(env.options),
        auth=env.auth or "password",
        production=env.production,
        description=env.description,
        password_updated_at=_time(env.password_updated_at),
        expires_days=env.expires_days if env.HasField("expires_days") and env.expires_days > 0 else None,
    )


class Client:
    """One connection to the agent.

    >>> with Client() as c:  # doctest: +SKIP
    ...     print(c.get("prod").host)
    """

    def __init__(self, socket: Optional[str] = None, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.socket: Path = resolve_socket(socket)
        self.timeout = timeout
        self._check_socket()
        # grpc-core would send the socket path as :authority, which the
        # agent's HTTP/2 stack refuses as malformed; any plain name does.
        self._channel = grpc.insecure_channel(
            f"unix://{self.socket}", options=[("grpc.default_authority", "localhost")]
        )
        self._stub = rpc.AgentStub(self._channel)

    def _check_socket(self) -> None:
        """Refuses a socket of another user before sending anything (the
        Rust client's exit code 13), and says where none is."""
        try:
            st = os.stat(self.socket)
        except FileNotFoundError:
            raise AgentUnreachableError(
                f"no agent answers at {self.socket}: start one with `dbcreds agent start` "
                "(any dbcreds command starts it), or set DBCREDS_SOCK"
            ) from None
        except OSError as e:
            raise AgentUnreachableError(f"cannot reach the agent at {self.socket}: {e}") from None
        if not stat.S_ISSOCK(st.st_mode):
            raise AgentUnreachableError(f"{self.socket} is not a socket: is DBCREDS_SOCK right?")
        if hasattr(os, "getuid") and st.st_uid != os.getuid():
            raise PermissionDeniedError(
                f"the agent socket {self.socket} belongs to uid {st.st_uid}, not to you: "
                "dbcreds talks only to your own agent",
                "permission_denied",
            )

    def _call(self, method: str, request: object) -> object:
        try:
            return getattr(self._stub, method)(request, timeout=self.timeout)
        except grpc.RpcError as e:
            raise self._error(e) from None

    def _error(self, e: grpc.RpcError) -> DbcredsError:
        code = e.code() if hasattr(e, "code") else None
        details = e.details() if hasattr(e, "details") else str(e)
        meta = dict(e.trailing_metadata() or ()) if hasattr(e, "trailing_metadata") else {}
        reason = meta.get(REASON_KEY, "")
        if reason:
            return from_reason(reason, details or reason)
        if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
            return AgentUnreachableError(
                f"the agent at {self.socket} does not answer ({details}): "
                "`dbcreds status` says more"
            )
        return DbcredsError(details or str(code))

    def get(self, name: str) -> DatabaseCredentials:
        """One environment with its password (audited by the agent)."""
        r = self._call("Get", pb.GetRequest(name=name))
        return credentials_from(r.environment, r.password)  # type: ignore[attr-defined]

    def describe(self, name: str) -> DatabaseCredentials:
        """One environment without its password (works while locked)."""
        r = self._call("Describe", pb.DescribeRequest(name=name))
        return credentials_from(r.environment, "")  # type: ignore[attr-defined]

    def list(self) -> List[DatabaseCredentials]:
        """Every environment, without passwords."""
        r = self._call("List", pb.ListRequest())
        return [credentials_from(e, "") for e in r.environments]  # type: ignore[attr-defined]

    def status(self) -> "pb.StatusResponse":
        """The agent's state (version, protocol, locked or not)."""
        return self._call("Status", pb.StatusRequest())  # type: ignore[return-value]

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.close()
