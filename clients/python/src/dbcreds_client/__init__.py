"""dbcreds for Python: database credentials from the dbcreds agent (or
``DBCREDS_<ENV>_*`` variables), with the old Python tool's entry points.

>>> from dbcreds_client import get_engine, get_connection  # doctest: +SKIP
>>> engine = get_engine("dev")  # doctest: +SKIP
"""

from .client import Client
from .errors import (
    AgentUnreachableError,
    AlreadyExistsError,
    CredentialError,
    CredentialNotFoundError,
    DatabaseServerError,
    DatabaseUnreachableError,
    DbcredsError,
    EnvironmentNotFoundError,
    InvalidInputError,
    KeyringUnavailableError,
    LoginFailedError,
    NoPasswordError,
    NotInitializedError,
    PasswordExpiredError,
    PermissionDeniedError,
    RotationUnfinishedError,
    TlsFailedError,
    UnsupportedError,
    VaultCorruptError,
    VaultLockedError,
    VaultTooNewError,
    WrongPassphraseError,
)
from .model import DatabaseCredentials, Secret
from .paths import resolve_socket
from .shortcuts import (
    get_async_engine,
    get_connection,
    get_connection_string,
    get_credentials,
    get_engine,
)

__version__ = "0.1.0"

__all__ = [
    "AgentUnreachableError",
    "AlreadyExistsError",
    "Client",
    "CredentialError",
    "CredentialNotFoundError",
    "DatabaseCredentials",
    "DatabaseServerError",
    "DatabaseUnreachableError",
    "DbcredsError",
    "EnvironmentNotFoundError",
    "InvalidInputError",
    "KeyringUnavailableError",
    "LoginFailedError",
    "NoPasswordError",
    "NotInitializedError",
    "PasswordExpiredError",
    "PermissionDeniedError",
    "RotationUnfinishedError",
    "Secret",
    "TlsFailedError",
    "UnsupportedError",
    "VaultCorruptError",
    "VaultLockedError",
    "VaultTooNewError",
    "WrongPassphraseError",
    "get_async_engine",
    "get_connection",
    "get_connection_string",
    "get_credentials",
    "get_engine",
    "resolve_socket",
]
