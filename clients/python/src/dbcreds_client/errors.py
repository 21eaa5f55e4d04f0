"""Typed errors, one per exit code of the `dbcreds` CLI.

Every error carries ``exit_code`` (the number the CLI would exit with) and
``reason`` (the agent's ``dbcreds-reason``, when it gave one). The old
Python tool's names are kept as aliases: ``CredentialError`` is the base
class, ``CredentialNotFoundError`` the "not found" one.
"""

from __future__ import annotations

from typing import Dict, Optional, Type


class DbcredsError(Exception):
    """Base class of every dbcreds error."""

    exit_code: int = 1

    def __init__(self, message: str, reason: Optional[str] = None) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason


class InvalidInputError(DbcredsError):
    """A bad name, field or ``DBCREDS_<ENV>_*`` variable (exit code 2)."""

    exit_code = 2


class EnvironmentNotFoundError(DbcredsError):
    """No environment of that name (exit code 3)."""

    exit_code = 3


class VaultLockedError(DbcredsError):
    """The vault is locked: run ``dbcreds unlock`` (exit code 4)."""

    exit_code = 4


class AlreadyExistsError(DbcredsError):
    """The environment exists already (exit code 5)."""

    exit_code = 5


class AgentUnreachableError(DbcredsError):
    """No agent answers at the socket (exit code 6)."""

    exit_code = 6


class VaultCorruptError(DbcredsError):
    """The vault file is damaged or not a vault (exit code 7)."""

    exit_code = 7


class VaultTooNewError(DbcredsError):
    """The vault was written by a newer dbcreds (exit code 8)."""

    exit_code = 8


class WrongPassphraseError(DbcredsError):
    """The passphrase did not open the vault (exit code 9)."""

    exit_code = 9


class KeyringUnavailableError(DbcredsError):
    """The OS keyring did not answer (exit code 10)."""

    exit_code = 10


class PasswordExpiredError(DbcredsError):
    """The password is past its expiry (exit code 11)."""

    exit_code = 11


class NotInitializedError(DbcredsError):
    """No vault yet: run ``dbcreds init`` (exit code 12)."""

    exit_code = 12


class PermissionDeniedError(DbcredsError):
    """The agent's socket belongs to another user (exit code 13)."""

    exit_code = 13


class DatabaseUnreachableError(DbcredsError):
    """The database server did not answer (exit code 15)."""

    exit_code = 15


class LoginFailedError(DbcredsError):
    """The database server refused the login (exit code 16)."""

    exit_code = 16


class TlsFailedError(DbcredsError):
    """TLS with the database server failed (exit code 17)."""

    exit_code = 17


class UnsupportedError(DbcredsError):
    """No driver for this kind, or not applicable to it (exit code 18)."""

    exit_code = 18


class DatabaseServerError(DbcredsError):
    """The database server answered with an error (exit code 19)."""

    exit_code = 19


class RotationUnfinishedError(DbcredsError):
    """A password rotation is unfinished (exit code 20)."""

    exit_code = 20


class NoPasswordError(DbcredsError):
    """The environment has no password to hand out (exit code 21)."""

    exit_code = 21


# The old tool's names.
CredentialError = DbcredsError
CredentialNotFoundError = EnvironmentNotFoundError

#: The agent's ``dbcreds-reason`` values and their errors.
BY_REASON: Dict[str, Type[DbcredsError]] = {
    "invalid": InvalidInputError,
    "not_found": EnvironmentNotFoundError,
    "already_exists": AlreadyExistsError,
    "locked": VaultLockedError,
    "not_initialized": NotInitializedError,
    "already_initialized": AlreadyExistsError,
    "wrong_passphrase": WrongPassphraseError,
    "vault_corrupt": VaultCorruptError,
    "vault_too_new": VaultTooNewError,
    "keyring_unavailable": KeyringUnavailableError,
    "permission_denied": PermissionDeniedError,
    "internal": DbcredsError,
    "unreachable": DatabaseUnreachableError,
    "login_failed": LoginFailedError,
    "tls_failed": TlsFailedError,
    "unsupported": UnsupportedError,
    "database_error": DatabaseServerError,
    "rotation_unfinished": RotationUnfinishedError,
    "no_password": NoPasswordError,
}


def from_reason(reason: str, message: str) -> DbcredsError:
    """The error for the agent's ``reason``."""
    return BY_REASON.get(reason, DbcredsError)(message, reason or None)
