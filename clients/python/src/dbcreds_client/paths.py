"""Where the agent's socket is: the one rule the Rust library, the CLI and
the agent use (``client/src/paths.rs``, ``resolve_socket``):

``$DBCREDS_SOCK``; else the config file's ``socket`` key (read only when
``DBCREDS_SOCK`` is unset); else ``$DBCREDS_HOME/agent.sock``; else
``$XDG_RUNTIME_DIR/dbcreds/agent.sock``; else ``/tmp/dbcreds-$UID/agent.sock``
(macOS: under ``$TMPDIR``).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Mapping, Optional

SOCKET_FILE = "agent.sock"


def _var(env: Mapping[str, str], name: str) -> Optional[str]:
    value = env.get(name, "")
    return value or None


def config_path(env: Optional[Mapping[str, str]] = None) -> Path:
    """``$DBCREDS_CONFIG``, else ``$XDG_CONFIG_HOME/dbcreds/config.toml``,
    else the platform's config directory (``~/.config`` on Linux)."""
    env = os.environ if env is None else env
    explicit = _var(env, "DBCREDS_CONFIG")
    if explicit:
        return Path(explicit)
    base = _var(env, "XDG_CONFIG_HOME")
    if base:
        root = Path(base)
    elif sys.platform == "darwin":
        root = Path.home() / "Library" / "Application Support"
    elif sys.platform == "win32":
        root = Path(_var(env, "APPDATA") or Path.home())
    else:
        root = Path.home() / ".config"
    return root / "dbcreds" / "config.toml"


def _configured_socket(env: Mapping[str, str]) -> Optional[str]:
    """The config file's ``socket`` key; an unreadable file is skipped, as
    the Rust resolver does (the commands that load the config report it)."""
    try:
        if sys.version_info >= (3, 11):
            import tomllib
        else:  # pragma: no cover - older Pythons
            import tomli as tomllib
        with open(config_path(env), "rb") as f:
            value = tomllib.load(f).get("socket")
    except (OSError, ValueError, ImportError):
        return None
    return value if isinstance(value, str) and value else None


def resolve_socket(flag: Optional[str] = None, env: Optional[Mapping[str, str]] = None) -> Path:
    """The socket, by the rule above; ``flag`` (an explicit path) wins."""
    env = os.environ if env is None else env
    if flag:
        return Path(flag)
    sock = _var(env, "DBCREDS_SOCK")
    if sock:
        return Path(sock)
    configured = _configured_socket(env)
    if configured:
        return Path(configured)
    home = _var(env, "DBCREDS_HOME")
    if home:
        return Path(home) / SOCKET_FILE
    run = _var(env, "XDG_RUNTIME_DIR")
    if run:
        return Path(run) / "dbcreds" / SOCKET_FILE
    base = Path(tempfile.gettempdir()) if sys.platform == "darwin" else Path("/tmp")
    return base / f"dbcreds-{os.getuid()}" / SOCKET_FILE
