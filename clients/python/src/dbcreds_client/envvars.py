"""Environments defined by ``DBCREDS_<ENV>_*`` variables, by the same rule
as the Rust library (``client/src/envvars.rs``):

- Any field can be set: ``_KIND``, ``_HOST``, ``_PORT``, ``_DATABASE``,
  ``_USERNAME`` (or ``_USER``), ``_PASSWORD``, ``_AUTH``, ``_EXPIRES_AT``
  (RFC 3339), ``_PRODUCTION`` and any option as ``_OPT_<KEY>`` (the key in
  lower case).
- A **complete** set is used alone, with no agent: a server needs
  ``_HOST``, ``_DATABASE``, ``_USERNAME`` and, unless ``_AUTH`` is ``none``
  or ``cert``, ``_PASSWORD``; a SQLite file needs ``_DATABASE``.
- A **partial** set overlays the vault's environment field by field; with
  no such environment in the vault it is an error naming what is missing.

``<ENV>`` is the name upper-cased with ``-`` as ``_``; inside
``dbcreds exec eu-prod`` (``DBCREDS_ENV=eu-prod``) the variables are
eu-prod's alone, so a lookup of ``eu_prod`` skips them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Dict, List, Mapping, Optional, Tuple

from .errors import DbcredsError, InvalidInputError
from .model import DEFAULT_PORTS, DatabaseCredentials, Secret, parse_auth, parse_kind

CURRENT_ENV = "DBCREDS_ENV"
SUFFIXES = (
    "KIND",
    "HOST",
    "PORT",
    "DATABASE",
    "USERNAME",
    "USER",
    "PASSWORD",
    "AUTH",
    "EXPIRES_AT",
    "PRODUCTION",
)
OPTION_PREFIX = "OPT_"


def stem(name: str) -> str:
    """``DBCREDS_<ENV>_`` for environment ``name``."""
    return f"DBCREDS_{name.upper().replace('-', '_')}_"


@dataclass
class Vars:
    """The ``DBCREDS_<ENV>_*`` variables set for one environment."""

    name: str
    prefix: str
    values: Dict[str, str]

    @classmethod
    def read(cls, name: str, env: Mapping[str, str]) -> Optional["Vars"]:
        prefix = stem(name)
        values = {
            k[len(prefix):]: v
            for k, v in env.items()
            if k.startswith(prefix)
            and (k[len(prefix):] in SUFFIXES or k[len(prefix):].startswith(OPTION_PREFIX))
        }
        current = env.get(CURRENT_ENV, "").lower()
        shares = current and current != name and stem(current) == prefix
        if not values or shares:
            return None
        return cls(name, prefix, values)

    def _bad(self, suffix: str, why: str) -> InvalidInputError:
        return InvalidInputError(f"{self.prefix}{suffix}: {why}", "invalid")

    def _kind(self) -> Optional[str]:
        raw = self.values.get("KIND")
        if raw is None:
            return None
        try:
            return parse_kind(raw)
        except InvalidInputError as e:
            raise self._bad("KIND", e.message) from None

    def _auth(self) -> Optional[str]:
        raw = self.values.get("AUTH")
        if raw is None:
            return None
        try:
            return parse_auth(raw)
        except InvalidInputError as e:
            raise self._bad("AUTH", e.message) from None

    def _username(self) -> Optional[str]:
        return self.values.get("USERNAME", self.values.get("USER"))

    def missing(self) -> List[str]:
        """The variables a complete definition still needs."""
        kind = self._kind() or "postgres"
        need = ["DATABASE"]
        if kind != "sqlite":
            need += ["HOST", "USERNAME"]
            if (self._auth() or "password") == "password":
                need.append("PASSWORD")
        out = []
        for s in need:
            present = self._username() is not None if s == "USERNAME" else s in self.values
            if not present:
                out.append(self.prefix + s)
        return out

    def complete(self) -> Optional[DatabaseCredentials]:
        """The credentials, when the variables define them alone."""
        if self.missing():
            return None
        kind = self._kind() or "postgres"
        base = DatabaseCredentials(
            environment=self.name,
            kind=kind,
            host="",
            port=DEFAULT_PORTS[kind] or 0,
            database="",
            username="",
            password=Secret(""),
        )
        return self.overlay(base)

    def overlay(self, base: DatabaseCredentials) -> DatabaseCredentials:
        """``base`` with every variable set laid over it."""
        f: Dict[str, object] = {}
        kind = self._kind()
        if kind is not None and kind != base.kind:
            f["kind"] = kind
            f["port"] = DEFAULT_PORTS[kind] or 0
        kind = kind or base.kind
        if "PORT" in self.values:
            raw = self.values["PORT"]
            if not raw.strip().isdigit() or not 1 <= int(raw) <= 65535:
                raise self._bad("PORT", f"'{raw}' is not a port (1-65535)")
            f["port"] = int(raw)
        if kind == "sqlite":
            f["port"] = 0
        for suffix, fieldname in (("HOST", "host"), ("DATABASE", "database")):
            if suffix in self.values:
                f[fieldname] = self.values[suffix]
        user = self._username()
        if user is not None:
            f["username"] = user
        auth = self._auth()
        if auth is not None:
            f["auth"] = auth
        if "PRODUCTION" in self.values:
            f["production"] = _parse_bool(self.values["PRODUCTION"], self._bad)
        if "EXPIRES_AT" in self.values:
            raw = self.values["EXPIRES_AT"].strip()
            try:
                at = datetime.fromisoformat(raw.replace("Z", "+00:00"))
            except ValueError:
                raise self._bad(
                    "EXPIRES_AT", f"'{raw}' is not a time: use RFC 3339, e.g. 2026-04-01T12:00:00Z"
                ) from None
            if at.tzinfo is None:
                at = at.replace(tzinfo=timezone.utc)
            # No "expires at" in the model: a policy of 0 days from then.
            f["password_updated_at"] = at
            f["expires_days"] = 0
        options = dict(base.options)
        for suffix, value in self.values.items():
            if suffix.startswith(OPTION_PREFIX):
                key = suffix[len(OPTION_PREFIX):].lower()
                if value:
                    options[key] = value
                else:
                    options.pop(key, None)
        f["options"] = options
        if "PASSWORD" in self.values:
            f["password"] = Secret(self.values["PASSWORD"])
            if auth is None:
                f["auth"] = "password"
        out = base.with_fields(**f)
        if out.auth != "password":
            out = out.with_fields(password=Secret(""))
        return out

    def incomplete(self) -> InvalidInputError:
        """The error for a partial definition with nothing under it."""
        missing = self.missing()
        listed = missing[0] if len(missing) == 1 else ", ".join(missing[:-1]) + " and " + missing[-1]
        return InvalidInputError(
            f"{self.prefix}*: they define '{self.name}' only in part and the vault has no "
            f"'{self.name}' to complete it: set {listed} as well (or add '{self.name}' to the vault)",
            "invalid",
        )


def _parse_bool(raw: str, bad) -> bool:  # type: ignore[no-untyped-def]
    v = raw.strip().lower()
    if v in ("1", "true", "yes", "on"):
        return True
    if v in ("0", "false", "no", "off", ""):
        return False
    raise bad("PRODUCTION", f"'{raw}' is not true or false")


def source(name: str, env: Mapping[str, str]) -> Tuple[Optional[DatabaseCredentials], Optional[Vars]]:
    """``(credentials, None)`` when the variables define ``name`` alone,
    else ``(None, overlay)`` (``overlay`` ``None`` without variables)."""
    v = Vars.read(name, env)
    if v is None:
        return None, None
    done = v.complete()
    return (done, None) if done is not None else (None, v)


def vault_lacks_it(e: DbcredsError) -> bool:
    """True when ``e`` means there is no environment to lay variables over."""
    from .errors import AgentUnreachableError

    return e.reason in ("not_found", "not_initialized") or isinstance(e, AgentUnreachableError)
