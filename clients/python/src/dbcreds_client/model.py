"""What an environment is, as the agent and ``DBCREDS_<ENV>_*`` variables
describe it, with the password kept out of ``repr`` and logs."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import Dict, Optional
from urllib.parse import quote

#: Kinds and the port each listens on by default (SQLite has none).
DEFAULT_PORTS: Dict[str, Optional[int]] = {
    "postgres": 5432,
    "mysql": 3306,
    "mariadb": 3306,
    "sqlite": None,
    "mssql": 1433,
    "oracle": 1521,
    "snowflake": 443,
}

_KIND_ALIASES = {
    "postgresql": "postgres",
    "pg": "postgres",
    "sqlite3": "sqlite",
    "sqlserver": "mssql",
}

_NAME = re.compile(r"^[a-z0-9_-]{1,50}$")


def parse_name(raw: str) -> str:
    """An environment name, case-folded: 1-50 of ``a-z 0-9 _ -``."""
    from .errors import InvalidInputError

    name = raw.lower()
    if not _NAME.match(name):
        raise InvalidInputError(
            f"invalid environment name '{raw}': use 1-50 characters of a-z, 0-9, _ and -"
        )
    return name


def parse_kind(raw: str) -> str:
    """A database kind by its name or an alias (``postgresql``, ``pg``)."""
    from .errors import InvalidInputError

    kind = raw.lower()
    kind = _KIND_ALIASES.get(kind, kind)
    if kind not in DEFAULT_PORTS:
        raise InvalidInputError(
            f"unknown database kind '{raw}': use one of {', '.join(DEFAULT_PORTS)}"
        )
    return kind


def parse_auth(raw: str) -> str:
    """``password`` (also empty), ``none`` (trust, peer) or ``cert``."""
    from .errors import InvalidInputError

    auth = raw.lower()
    if auth in ("", "password"):
        return "password"
    if auth in ("none", "trust", "peer"):
        return "none"
    if auth in ("cert", "certificate"):
        return "cert"
    raise InvalidInputError(f"'{raw}' is not a mode: use password, none or cert")


class Secret:
    """A secret string that does not show itself in ``repr`` or ``str``
    (as pydantic's ``SecretStr``, which the old tool used)."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get_secret_value(self) -> str:
        """The secret itself."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')" if self._value else "Secret('')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __len__(self) -> int:
        return len(self._value)


@dataclass(frozen=True)
class DatabaseCredentials:
    """One environment and its password.

    ``environment`` is its name; ``kind`` is ``postgres``, ``mysql``,
    ``mariadb``, ``sqlite``, ``mssql``, ``oracle`` or ``snowflake``.
    """

    environment: str
    kind: str
    host: str
    port: int
    database: str
    username: str
    password: Secret
    options: Dict[str, str] = field(default_factory=dict)
    auth: str = "password"
    production: bool = False
    description: str = ""
    password_updated_at: Optional[datetime] = None
    expires_days: Optional[int] = None

    @property
    def ssl_mode(self) -> Optional[str]:
        """The ``sslmode`` (or ``ssl-mode``) option, if set."""
        return self.options.get("sslmode") or self.options.get("ssl-mode")

    @property
    def password_expires_at(self) -> Optional[datetime]:
        """When the password expires; ``None`` when it never does."""
        if self.auth != "password" or self.expires_days is None or self.password_updated_at is None:
            return None
        return self.password_updated_at + timedelta(days=self.expires_days)

    def is_password_expired(self) -> bool:
        """Whether the password is past its expiry."""
        at = self.password_expires_at
        return at is not None and datetime.now(timezone.utc) >= at

    def days_until_expiry(self) -> Optional[int]:
        """Whole days until the password expires (0 once expired)."""
        at = self.password_expires_at
        if at is None:
            return None
        return max(0, (at - datetime.now(timezone.utc)).days)

    def with_fields(self, **changes: object) -> "DatabaseCredentials":
        """A copy with some fields changed."""
        return replace(self, **changes)  # type: ignore[arg-type]

    def get_connection_string(self, include_password: bool = True, driver: Optional[str] = None) -> str:
        """The connection URI, as ``dbcreds get NAME uri`` prints it; the
        user, password and database percent-encoded. ``driver`` replaces
        the scheme (``postgresql+psycopg``).

        >>> creds.get_connection_string(include_password=False)  # doctest: +SKIP
        'postgresql://app@db.internal:5432/app'
        """
        scheme = {
            "postgres": "postgresql",
            "mysql": "mysql",
            "mariadb": "mysql",
            "sqlite": "sqlite",
            "mssql": "mssql",
            "oracle": "oracle",
            "snowflake": "snowflake",
        }[self.kind]
        scheme = driver or scheme
        query = "&".join(f"{_enc(k)}={_enc(v)}" for k, v in sorted(self.options.items()))
        query = f"?{query}" if query else ""
        if self.kind == "sqlite":
            return f"{scheme}://{self.database}{query}"
        userinfo = _enc(self.username)
        if include_password and self.auth == "password":
            userinfo += ":" + _enc(self.password.get_secret_value())
        at = "@" if userinfo else ""
        host = self.host
        if host.startswith("/"):
            host = _enc(host)
        elif ":" in host and not host.startswith("["):
            host = f"[{host}]"
        return f"{scheme}://{userinfo}{at}{host}:{self.port}/{_enc(self.database)}{query}"


def _enc(s: str) -> str:
    """RFC 3986 unreserved characters stay, as in the Rust renderer."""
    return quote(s, safe="-._~")
