"""The old tool's entry points: credentials, a connection string, a
SQLAlchemy engine (sync and async) and a DB-API connection for an
environment, from ``DBCREDS_<ENV>_*`` variables first, else the agent."""

from __future__ import annotations

import importlib.util
import os
import warnings
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Iterator, Optional

from . import envvars
from .client import Client
from .errors import DbcredsError, PasswordExpiredError, UnsupportedError
from .model import DatabaseCredentials, parse_name

if TYPE_CHECKING:  # pragma: no cover
    from sqlalchemy.engine import Engine
    from sqlalchemy.ext.asyncio import AsyncEngine


def get_credentials(environment: str = "default", require_fresh: bool = False) -> DatabaseCredentials:
    """The credentials of ``environment``: its ``DBCREDS_<ENV>_*`` variables
    when they define it completely (no agent is asked), else the agent's,
    with any of those variables laid over them.

    An expired password is returned with a warning, or raises
    :class:`PasswordExpiredError` with ``require_fresh``.
    """
    name = parse_name(environment)
    creds, overlay = envvars.source(name, os.environ)
    if creds is None:
        try:
            with Client() as c:
                creds = c.get(name)
        except DbcredsError as e:
            if overlay is not None and envvars.vault_lacks_it(e):
                raise overlay.incomplete() from None
            raise
        if overlay is not None:
            creds = overlay.overlay(creds)
    if creds.is_password_expired():
        message = (
            f"the password of '{name}' has expired: set a new one with "
            f"`dbcreds update {name} --password`"
        )
        if require_fresh:
            raise PasswordExpiredError(message, "expired")
        warnings.warn(message, stacklevel=2)
    return creds


def get_connection_string(environment: str = "default", include_password: bool = True) -> str:
    """The connection URI of ``environment`` (as ``dbcreds get NAME uri``)."""
    return get_credentials(environment).get_connection_string(include_password=include_password)


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def _sqlalchemy_url(creds: DatabaseCredentials, asynchronous: bool) -> Any:
    """A SQLAlchemy ``URL`` (never a string: the password needs no
    escaping) with a driver that is installed."""
    from sqlalchemy.engine import URL

    if creds.kind == "postgres":
        if _installed("psycopg"):
            driver = "postgresql+psycopg"
        elif asynchronous:
            driver = "postgresql+asyncpg"
        else:
            driver = "postgresql+psycopg2"
    elif creds.kind in ("mysql", "mariadb"):
        driver = "mysql+aiomysql" if asynchronous else "mysql+pymysql"
    elif creds.kind == "sqlite":
        driver = "sqlite+aiosqlite" if asynchronous else "sqlite"
        return URL.create(driver, database=creds.database)
    elif creds.kind == "mssql" and not asynchronous:
        driver = "mssql+pyodbc"
    elif creds.kind == "oracle" and not asynchronous:
        driver = "oracle+oracledb"
    else:
        raise UnsupportedError(
            f"no SQLAlchemy {'async ' if asynchronous else ''}driver for '{creds.environment}' ({creds.kind})",
            "unsupported",
        )
    query = {k: v for k, v in creds.options.items() if k in ("sslmode", "sslrootcert", "sslcert", "sslkey")}
    return URL.create(
        driver,
        username=creds.username or None,
        password=creds.password.get_secret_value() if creds.auth == "password" else None,
        host=creds.host or None,
        port=creds.port or None,
        database=creds.database or None,
        query=query,
    )


def get_engine(environment: str = "default", **kwargs: Any) -> "Engine":
    """A SQLAlchemy engine for ``environment`` (extra ``sqlalchemy``;
    psycopg for PostgreSQL, PyMySQL for MySQL/MariaDB). ``kwargs`` go to
    ``create_engine``."""
    from sqlalchemy import create_engine

    return create_engine(_sqlalchemy_url(get_credentials(environment), False), **kwargs)


async def get_async_engine(environment: str = "default", **kwargs: Any) -> "AsyncEngine":
    """An async SQLAlchemy engine for ``environment`` (psycopg's async
    mode, else asyncpg, for PostgreSQL; aiomysql for MySQL/MariaDB)."""
    from sqlalchemy.ext.asyncio import create_async_engine

    return create_async_engine(_sqlalchemy_url(get_credentials(environment), True), **kwargs)


@contextmanager
def get_connection(environment: str = "default", **kwargs: Any) -> Iterator[Any]:
    """A DB-API connection to ``environment``, closed on leaving the
    ``with`` block: psycopg (3, else psycopg2) for PostgreSQL, PyMySQL for
    MySQL/MariaDB, sqlite3 for SQLite. ``kwargs`` go to ``connect``."""
    creds = get_credentials(environment)
    password: Optional[str] = creds.password.get_secret_value() if creds.auth == "password" else None
    if creds.kind == "postgres":
        params: dict = {
            "host": creds.host,
            "port": creds.port,
            "dbname": creds.database,
            "user": creds.username,
        }
        if password is not None:
            params["password"] = password
        for key in ("sslmode", "sslrootcert", "sslcert", "sslkey", "connect_timeout"):
            if key in creds.options:
                params[key] = creds.options[key]
        params.update(kwargs)
        if _installed("psycopg"):
            import psycopg

            conn: Any = psycopg.connect(**params)
        else:
            import psycopg2

            conn = psycopg2.connect(**params)
    elif creds.kind in ("mysql", "mariadb"):
        import pymysql

        conn = pymysql.connect(
            host=creds.host,
            port=creds.port,
            user=creds.username,
            password=password or "",
            database=creds.database or None,
            **kwargs,
        )
    elif creds.kind == "sqlite":
        import sqlite3

        conn = sqlite3.connect(creds.database, **kwargs)
    else:
        raise UnsupportedError(
            f"no DB-API driver for '{creds.environment}' ({creds.kind}): use get_credentials()",
            "unsupported",
        )
    try:
        yield conn
    finally:
        conn.close()


