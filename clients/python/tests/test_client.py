"""The Python client against a real agent and real PostgreSQL/MariaDB.

Run by the end-to-end test ``python_client::`` (tests/tests/e2e/python_client.rs),
which gives the agent's sandbox and these variables:

- ``DBCREDS_TEST_PG_ROLE`` / ``DBCREDS_TEST_PG_PASSWORD``: a PostgreSQL login,
  stored as environments ``prod`` and ``dev``, whose search path has a
  ``users`` table of two rows;
- ``DBCREDS_TEST_MARIA_USER``: a MariaDB login stored as ``shop``;
- ``DBCREDS_TEST_CLI`` and ``DBCREDS_TEST_PASSPHRASE``: to lock and unlock;
- ``DBCREDS_TEST_PROTO``: the proto directory.
"""

from __future__ import annotations

import ast
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import pytest

import dbcreds_client as dc
from dbcreds_client.paths import resolve_socket

ROLE = os.environ.get("DBCREDS_TEST_PG_ROLE", "")
PASSWORD = os.environ.get("DBCREDS_TEST_PG_PASSWORD", "")
MARIA = os.environ.get("DBCREDS_TEST_MARIA_USER", "")

needs_agent = pytest.mark.skipif(
    not ROLE, reason="needs the agent and databases of tests/tests/e2e/python_client.rs"
)

# The old tool's README, "3. Use in Python", verbatim.
OLD_README_EXAMPLE = '''\
from dbcreds import get_engine, get_connection

# Get SQLAlchemy engine
engine = get_engine("dev")

# Get connection
with get_connection("prod") as conn:
    df = pd.read_sql("SELECT * FROM users LIMIT 10", conn)

# Async support
from dbcreds import get_async_engine

async_engine = await get_async_engine("dev")
'''


def scalar(engine, sql: str):  # type: ignore[no-untyped-def]
    from sqlalchemy import text

    with engine.connect() as conn:
        return conn.execute(text(sql)).scalar()


@needs_agent
def test_get_credentials_from_the_agent() -> None:
    c = dc.get_credentials("prod")
    assert (c.environment, c.kind, c.host, c.port, c.username) == (
        "prod",
        "postgres",
        "127.0.0.1",
        5432,
        ROLE,
    )
    assert c.password.get_secret_value() == PASSWORD
    assert PASSWORD not in repr(c) and PASSWORD not in str(c.password)
    assert c.password_expires_at is not None and not c.is_password_expired()
    assert dc.get_connection_string("prod", include_password=False) == f"postgresql://{ROLE}@127.0.0.1:5432/postgres"


@needs_agent
def test_the_connection_string_logs_in() -> None:
    import psycopg

    with psycopg.connect(dc.get_connection_string("prod")) as conn:
        assert conn.execute("select current_user").fetchone()[0] == ROLE


@needs_agent
def test_get_engine_connects() -> None:
    assert scalar(dc.get_engine("prod"), "select current_user") == ROLE


@needs_agent
def test_get_async_engine_connects() -> None:
    from sqlalchemy import text

    async def who() -> str:
        engine = await dc.get_async_engine("prod")
        async with engine.connect() as conn:
            name = (await conn.execute(text("select current_user"))).scalar()
        await engine.dispose()
        return name

    assert asyncio.run(who()) == ROLE


@needs_agent
def test_get_connection_postgres_and_mariadb() -> None:
    with dc.get_connection("prod") as conn:
        with conn.cursor() as cur:
            cur.execute("select current_user")
            assert cur.fetchone()[0] == ROLE
    assert conn.closed
    if MARIA:
        with dc.get_connection("shop") as conn:
            with conn.cursor() as cur:
                cur.execute("select current_user()")
                assert cur.fetchone()[0] == f"{MARIA}@%"


@needs_agent
def test_the_old_readme_example_runs_with_only_the_import_line_changed() -> None:
    import pandas

    source = OLD_README_EXAMPLE.replace("from dbcreds import", "from dbcreds_client import")
    changed = [a for a, b in zip(OLD_README_EXAMPLE.splitlines(), source.splitlines()) if a != b]
    assert len(changed) == 2 and all(line.startswith("from dbcreds import") for line in changed)
    # As in a notebook or `python -m asyncio`: top-level await, and pandas
    # imported as pd (the example assumes both).
    code = compile(source, "<old README>", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    ns: dict = {"pd": pandas}
    with warnings.catch_warnings():
        # pandas prefers SQLAlchemy connectables; a DB-API one still works.
        warnings.simplefilter("ignore", UserWarning)
        result = eval(code, ns)
        if asyncio.iscoroutine(result):
            asyncio.run(result)
    assert list(ns["df"]["name"]) == ["ada", "grace"]
    assert scalar(ns["engine"], "select current_user") == ROLE
    assert ns["async_engine"].url.drivername == "postgresql+psycopg"


def test_a_complete_set_of_variables_needs_no_agent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DBCREDS_SOCK", "/nonexistent/agent.sock")
    for k, v in {
        "HOST": "127.0.0.1",
        "DATABASE": "postgres",
        "USERNAME": ROLE or "app",
        "PASSWORD": PASSWORD or "pw",
        "OPT_SSLMODE": "disable",
    }.items():
        monkeypatch.setenv(f"DBCREDS_CI_{k}", v)
    c = dc.get_credentials("ci")
    assert (c.kind, c.port, c.options) == ("postgres", 5432, {"sslmode": "disable"})
    assert c.password_expires_at is None
    if ROLE:
        assert scalar(dc.get_engine("ci"), "select current_user") == ROLE


@needs_agent
def test_a_partial_set_overlays_the_vault(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DBCREDS_PROD_DATABASE", "template1")
    c = dc.get_credentials("prod")
    assert (c.database, c.username, c.password.get_secret_value()) == ("template1", ROLE, PASSWORD)
    assert scalar(dc.get_engine("prod"), "select current_database()") == "template1"


@needs_agent
def test_a_partial_set_without_a_vault_environment_names_what_is_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DBCREDS_NOSUCH_HOST", "db")
    with pytest.raises(dc.InvalidInputError) as e:
        dc.get_credentials("nosuch")
    assert e.value.exit_code == 2
    assert "DBCREDS_NOSUCH_DATABASE, DBCREDS_NOSUCH_USERNAME and DBCREDS_NOSUCH_PASSWORD" in str(e.value)


def test_variables_of_another_environment_are_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    # Inside `dbcreds exec eu-prod`, DBCREDS_EU_PROD_* are eu-prod's.
    monkeypatch.setenv("DBCREDS_ENV", "eu-prod")
    monkeypatch.setenv("DBCREDS_SOCK", "/nonexistent/agent.sock")
    for k in ("HOST", "DATABASE", "USERNAME", "PASSWORD"):
        monkeypatch.setenv(f"DBCREDS_EU_PROD_{k}", "x")
    assert dc.get_credentials("eu-prod").host == "x"
    with pytest.raises(dc.AgentUnreachableError):
        dc.get_credentials("eu_prod")


@needs_agent
def test_errors_are_typed_with_the_exit_codes() -> None:
    with pytest.raises(dc.CredentialNotFoundError) as e:
        dc.get_credentials("nosuch")
    assert isinstance(e.value, dc.EnvironmentNotFoundError) and isinstance(e.value, dc.CredentialError)
    assert (e.value.exit_code, e.value.reason) == (3, "not_found")
    assert "nosuch" in str(e.value)
    with pytest.raises(dc.InvalidInputError):
        dc.get_credentials("Prod DB!")


def test_expired_passwords_warn_or_fail(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DBCREDS_SOCK", "/nonexistent/agent.sock")
    for k, v in {"HOST": "h", "DATABASE": "d", "USERNAME": "u", "PASSWORD": "p", "EXPIRES_AT": "2000-01-01T00:00:00Z"}.items():
        monkeypatch.setenv(f"DBCREDS_OLD_{k}", v)
    with pytest.warns(UserWarning, match="'old' has expired"):
        dc.get_credentials("old")
    with pytest.raises(dc.PasswordExpiredError) as e:
        dc.get_credentials("old", require_fresh=True)
    assert e.value.exit_code == 11


def test_no_agent_is_typed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DBCREDS_SOCK", str(tmp_path / "agent.sock"))
    with pytest.raises(dc.AgentUnreachableError) as e:
        dc.get_credentials("prod")
    assert e.value.exit_code == 6 and "dbcreds agent start" in str(e.value)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root to chown")
def test_a_socket_of_another_user_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "agent.sock")
        s = socket.socket(socket.AF_UNIX)
        s.bind(path)
        s.listen()
        os.chown(path, 65534, 65534)
        monkeypatch.setenv("DBCREDS_SOCK", path)
        with pytest.raises(dc.PermissionDeniedError) as e:
            dc.get_credentials("prod")
        s.close()
    assert e.value.exit_code == 13 and "uid 65534" in str(e.value)


def test_socket_discovery_is_the_rust_rule(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text('socket = "/run/from-config.sock"\n')
    base = {"DBCREDS_CONFIG": str(cfg), "DBCREDS_HOME": "/h", "XDG_RUNTIME_DIR": "/run/user/1"}
    assert resolve_socket("/flag.sock", base) == Path("/flag.sock")
    assert resolve_socket(None, {**base, "DBCREDS_SOCK": "/s.sock"}) == Path("/s.sock")
    assert resolve_socket(None, base) == Path("/run/from-config.sock")
    no_cfg = {**base, "DBCREDS_CONFIG": str(tmp_path / "none.toml")}
    assert resolve_socket(None, no_cfg) == Path("/h/agent.sock")
    del no_cfg["DBCREDS_HOME"]
    assert resolve_socket(None, no_cfg) == Path("/run/user/1/dbcreds/agent.sock")
    del no_cfg["XDG_RUNTIME_DIR"]
    if sys.platform.startswith("linux"):
        assert resolve_socket(None, no_cfg) == Path(f"/tmp/dbcreds-{os.getuid()}/agent.sock")


def test_the_committed_stubs_match_the_proto(tmp_path: Path) -> None:
    proto = os.environ.get("DBCREDS_TEST_PROTO") or str(Path(__file__).parents[3] / "proto")
    from google.protobuf import descriptor_pb2
    from grpc_tools import protoc

    from dbcreds_client._proto import agent_pb2

    out = tmp_path / "fds.bin"
    assert protoc.main(["protoc", f"-I{proto}", f"--descriptor_set_out={out}", "dbcreds/v1/agent.proto"]) == 0
    fds = descriptor_pb2.FileDescriptorSet()
    fds.ParseFromString(out.read_bytes())
    committed = descriptor_pb2.FileDescriptorProto()
    committed.ParseFromString(agent_pb2.DESCRIPTOR.serialized_pb)

    def strip(fd):  # type: ignore[no-untyped-def]
        def walk(m):  # type: ignore[no-untyped-def]
            for f in m.field:
                f.ClearField("json_name")
            for n in m.nested_type:
                walk(n)

        for m in fd.message_type:
            walk(m)
        return fd

    assert strip(fds.file[0]) == strip(committed), "run clients/python/scripts/gen_stubs.sh"


@needs_agent
def test_a_locked_vault_is_typed() -> None:
    cli = os.environ["DBCREDS_TEST_CLI"]
    subprocess.run([cli, "lock"], check=True, capture_output=True)
    try:
        with pytest.raises(dc.VaultLockedError) as e:
            dc.get_credentials("prod")
        assert (e.value.exit_code, e.value.reason) == (4, "locked")
        # Describe works while locked and reveals nothing.
        with dc.Client() as c:
            assert c.describe("prod").password.get_secret_value() == ""
    finally:
        subprocess.run(
            [cli, "unlock", "--passphrase-stdin"],
            input=os.environ["DBCREDS_TEST_PASSPHRASE"] + "\n",
            text=True,
            check=True,
            capture_output=True,
        )
    assert dc.get_credentials("prod").password.get_secret_value() == PASSWORD
