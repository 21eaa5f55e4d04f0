from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class LockState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    LOCK_STATE_UNSPECIFIED: _ClassVar[LockState]
    LOCK_STATE_UNINITIALIZED: _ClassVar[LockState]
    LOCK_STATE_LOCKED: _ClassVar[LockState]
    LOCK_STATE_UNLOCKED: _ClassVar[LockState]
    LOCK_STATE_DAMAGED: _ClassVar[LockState]
    LOCK_STATE_TOO_NEW: _ClassVar[LockState]

class ExpiryState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EXPIRY_STATE_UNSPECIFIED: _ClassVar[ExpiryState]
    EXPIRY_STATE_NEVER: _ClassVar[ExpiryState]
    EXPIRY_STATE_FRESH: _ClassVar[ExpiryState]
    EXPIRY_STATE_SOON: _ClassVar[ExpiryState]
    EXPIRY_STATE_EXPIRED: _ClassVar[ExpiryState]
LOCK_STATE_UNSPECIFIED: LockState
LOCK_STATE_UNINITIALIZED: LockState
LOCK_STATE_LOCKED: LockState
LOCK_STATE_UNLOCKED: LockState
LOCK_STATE_DAMAGED: LockState
LOCK_STATE_TOO_NEW: LockState
EXPIRY_STATE_UNSPECIFIED: ExpiryState
EXPIRY_STATE_NEVER: ExpiryState
EXPIRY_STATE_FRESH: ExpiryState
EXPIRY_STATE_SOON: ExpiryState
EXPIRY_STATE_EXPIRED: ExpiryState

class Approval(_message.Message):
    __slots__ = ("id", "defer")
    ID_FIELD_NUMBER: _ClassVar[int]
    DEFER_FIELD_NUMBER: _ClassVar[int]
    id: int
    defer: bool
    def __init__(self, id: _Optional[int] = ..., defer: _Optional[bool] = ...) -> None: ...

class Policy(_message.Message):
    __slots__ = ("confirm", "approve_for_secs", "allow", "max_unlocked_secs")
    CONFIRM_FIELD_NUMBER: _ClassVar[int]
    APPROVE_FOR_SECS_FIELD_NUMBER: _ClassVar[int]
    ALLOW_FIELD_NUMBER: _ClassVar[int]
    MAX_UNLOCKED_SECS_FIELD_NUMBER: _ClassVar[int]
    confirm: str
    approve_for_secs: int
    allow: _containers.RepeatedScalarFieldContainer[str]
    max_unlocked_secs: int
    def __init__(self, confirm: _Optional[str] = ..., approve_for_secs: _Optional[int] = ..., allow: _Optional[_Iterable[str]] = ..., max_unlocked_secs: _Optional[int] = ...) -> None: ...

class PolicyInfo(_message.Message):
    __slots__ = ("name", "policy", "source", "forgotten", "updated_at")
    NAME_FIELD_NUMBER: _ClassVar[int]
    POLICY_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    FORGOTTEN_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    name: str
    policy: Policy
    source: str
    forgotten: bool
    updated_at: int
    def __init__(self, name: _Optional[str] = ..., policy: _Optional[_Union[Policy, _Mapping]] = ..., source: _Optional[str] = ..., forgotten: _Optional[bool] = ..., updated_at: _Optional[int] = ...) -> None: ...

class GetPolicyRequest(_message.Message):
    __slots__ = ("name", "production_default")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PRODUCTION_DEFAULT_FIELD_NUMBER: _ClassVar[int]
    name: str
    production_default: bool
    def __init__(self, name: _Optional[str] = ..., production_default: _Optional[bool] = ...) -> None: ...

class SetPolicyRequest(_message.Message):
    __slots__ = ("name", "production_default", "policy", "remove", "approval")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PRODUCTION_DEFAULT_FIELD_NUMBER: _ClassVar[int]
    POLICY_FIELD_NUMBER: _ClassVar[int]
    REMOVE_FIELD_NUMBER: _ClassVar[int]
    APPROVAL_FIELD_NUMBER: _ClassVar[int]
    name: str
    production_default: bool
    policy: Policy
    remove: bool
    approval: Approval
    def __init__(self, name: _Optional[str] = ..., production_default: _Optional[bool] = ..., policy: _Optional[_Union[Policy, _Mapping]] = ..., remove: _Optional[bool] = ..., approval: _Optional[_Union[Approval, _Mapping]] = ...) -> None: ...

class ListPoliciesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListPoliciesResponse(_message.Message):
    __slots__ = ("environments", "production_default")
    ENVIRONMENTS_FIELD_NUMBER: _ClassVar[int]
    PRODUCTION_DEFAULT_FIELD_NUMBER: _ClassVar[int]
    environments: _containers.RepeatedCompositeFieldContainer[PolicyInfo]
    production_default: PolicyInfo
    def __init__(self, environments: _Optional[_Iterable[_Union[PolicyInfo, _Mapping]]] = ..., production_default: _Optional[_Union[PolicyInfo, _Mapping]] = ...) -> None: ...

class PendingApproval(_message.Message):
    __slots__ = ("id", "environment", "operation", "client_pid", "client_exe", "client_cmdline", "child_exe", "session", "requested_at", "expires_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    OPERATION_FIELD_NUMBER: _ClassVar[int]
    CLIENT_PID_FIELD_NUMBER: _ClassVar[int]
    CLIENT_EXE_FIELD_NUMBER: _ClassVar[int]
    CLIENT_CMDLINE_FIELD_NUMBER: _ClassVar[int]
    CHILD_EXE_FIELD_NUMBER: _ClassVar[int]
    SESSION_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_AT_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    id: int
    environment: str
    operation: str
    client_pid: int
    client_exe: str
    client_cmdline: _containers.RepeatedScalarFieldContainer[str]
    child_exe: str
    session: str
    requested_at: int
    expires_at: int
    def __init__(self, id: _Optional[int] = ..., environment: _Optional[str] = ..., operation: _Optional[str] = ..., client_pid: _Optional[int] = ..., client_exe: _Optional[str] = ..., client_cmdline: _Optional[_Iterable[str]] = ..., child_exe: _Optional[str] = ..., session: _Optional[str] = ..., requested_at: _Optional[int] = ..., expires_at: _Optional[int] = ...) -> None: ...

class ListApprovalsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListApprovalsResponse(_message.Message):
    __slots__ = ("pending",)
    PENDING_FIELD_NUMBER: _ClassVar[int]
    pending: _containers.RepeatedCompositeFieldContainer[PendingApproval]
    def __init__(self, pending: _Optional[_Iterable[_Union[PendingApproval, _Mapping]]] = ...) -> None: ...

class AnswerApprovalRequest(_message.Message):
    __slots__ = ("id", "approve")
    ID_FIELD_NUMBER: _ClassVar[int]
    APPROVE_FIELD_NUMBER: _ClassVar[int]
    id: int
    approve: bool
    def __init__(self, id: _Optional[int] = ..., approve: _Optional[bool] = ...) -> None: ...

class AnswerApprovalResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class AwaitApprovalRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: int
    def __init__(self, id: _Optional[int] = ...) -> None: ...

class AwaitApprovalResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class AuditDecision(_message.Message):
    __slots__ = ("request", "by", "valid_secs", "session", "child_exe")
    REQUEST_FIELD_NUMBER: _ClassVar[int]
    BY_FIELD_NUMBER: _ClassVar[int]
    VALID_SECS_FIELD_NUMBER: _ClassVar[int]
    SESSION_FIELD_NUMBER: _ClassVar[int]
    CHILD_EXE_FIELD_NUMBER: _ClassVar[int]
    request: str
    by: str
    valid_secs: int
    session: str
    child_exe: str
    def __init__(self, request: _Optional[str] = ..., by: _Optional[str] = ..., valid_secs: _Optional[int] = ..., session: _Optional[str] = ..., child_exe: _Optional[str] = ...) -> None: ...

class Environment(_message.Message):
    __slots__ = ("name", "kind", "host", "port", "database", "username", "options", "production", "description", "created_at", "updated_at", "password_updated_at", "expires_days", "last_test", "rotation", "auth", "password_missing", "source", "cached")
    class OptionsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    HOST_FIELD_NUMBER: _ClassVar[int]
    PORT_FIELD_NUMBER: _ClassVar[int]
    DATABASE_FIELD_NUMBER: _ClassVar[int]
    USERNAME_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    PRODUCTION_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_DAYS_FIELD_NUMBER: _ClassVar[int]
    LAST_TEST_FIELD_NUMBER: _ClassVar[int]
    ROTATION_FIELD_NUMBER: _ClassVar[int]
    AUTH_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_MISSING_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    CACHED_FIELD_NUMBER: _ClassVar[int]
    name: str
    kind: str
    host: str
    port: int
    database: str
    username: str
    options: _containers.ScalarMap[str, str]
    production: bool
    description: str
    created_at: int
    updated_at: int
    password_updated_at: int
    expires_days: int
    last_test: TestResult
    rotation: str
    auth: str
    password_missing: bool
    source: SecretSource
    cached: CachedCredential
    def __init__(self, name: _Optional[str] = ..., kind: _Optional[str] = ..., host: _Optional[str] = ..., port: _Optional[int] = ..., database: _Optional[str] = ..., username: _Optional[str] = ..., options: _Optional[_Mapping[str, str]] = ..., production: _Optional[bool] = ..., description: _Optional[str] = ..., created_at: _Optional[int] = ..., updated_at: _Optional[int] = ..., password_updated_at: _Optional[int] = ..., expires_days: _Optional[int] = ..., last_test: _Optional[_Union[TestResult, _Mapping]] = ..., rotation: _Optional[str] = ..., auth: _Optional[str] = ..., password_missing: _Optional[bool] = ..., source: _Optional[_Union[SecretSource, _Mapping]] = ..., cached: _Optional[_Union[CachedCredential, _Mapping]] = ...) -> None: ...

class SecretSource(_message.Message):
    __slots__ = ("kind", "source", "location", "cache_for_secs")
    KIND_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    CACHE_FOR_SECS_FIELD_NUMBER: _ClassVar[int]
    kind: str
    source: str
    location: str
    cache_for_secs: int
    def __init__(self, kind: _Optional[str] = ..., source: _Optional[str] = ..., location: _Optional[str] = ..., cache_for_secs: _Optional[int] = ...) -> None: ...

class CachedCredential(_message.Message):
    __slots__ = ("fetched_at", "refresh_at", "valid_until", "lease", "renewable", "version", "from_source")
    FETCHED_AT_FIELD_NUMBER: _ClassVar[int]
    REFRESH_AT_FIELD_NUMBER: _ClassVar[int]
    VALID_UNTIL_FIELD_NUMBER: _ClassVar[int]
    LEASE_FIELD_NUMBER: _ClassVar[int]
    RENEWABLE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    FROM_SOURCE_FIELD_NUMBER: _ClassVar[int]
    fetched_at: int
    refresh_at: int
    valid_until: int
    lease: str
    renewable: bool
    version: str
    from_source: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, fetched_at: _Optional[int] = ..., refresh_at: _Optional[int] = ..., valid_until: _Optional[int] = ..., lease: _Optional[str] = ..., renewable: _Optional[bool] = ..., version: _Optional[str] = ..., from_source: _Optional[_Iterable[str]] = ...) -> None: ...

class SourceInfo(_message.Message):
    __slots__ = ("name", "kind", "address", "namespace", "ca_cert", "auth", "auth_name", "mount", "region", "profile", "endpoint", "timeout_secs", "has_login", "health", "environments")
    NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    CA_CERT_FIELD_NUMBER: _ClassVar[int]
    AUTH_FIELD_NUMBER: _ClassVar[int]
    AUTH_NAME_FIELD_NUMBER: _ClassVar[int]
    MOUNT_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    ENDPOINT_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_SECS_FIELD_NUMBER: _ClassVar[int]
    HAS_LOGIN_FIELD_NUMBER: _ClassVar[int]
    HEALTH_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENTS_FIELD_NUMBER: _ClassVar[int]
    name: str
    kind: str
    address: str
    namespace: str
    ca_cert: str
    auth: str
    auth_name: str
    mount: str
    region: str
    profile: str
    endpoint: str
    timeout_secs: int
    has_login: bool
    health: SourceHealth
    environments: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, name: _Optional[str] = ..., kind: _Optional[str] = ..., address: _Optional[str] = ..., namespace: _Optional[str] = ..., ca_cert: _Optional[str] = ..., auth: _Optional[str] = ..., auth_name: _Optional[str] = ..., mount: _Optional[str] = ..., region: _Optional[str] = ..., profile: _Optional[str] = ..., endpoint: _Optional[str] = ..., timeout_secs: _Optional[int] = ..., has_login: _Optional[bool] = ..., health: _Optional[_Union[SourceHealth, _Mapping]] = ..., environments: _Optional[_Iterable[str]] = ...) -> None: ...

class SourceHealth(_message.Message):
    __slots__ = ("reachable", "detail", "token_expires_at")
    REACHABLE_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    TOKEN_EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    reachable: bool
    detail: str
    token_expires_at: int
    def __init__(self, reachable: _Optional[bool] = ..., detail: _Optional[str] = ..., token_expires_at: _Optional[int] = ...) -> None: ...

class PutSourceRequest(_message.Message):
    __slots__ = ("source", "login_secret", "replace")
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    LOGIN_SECRET_FIELD_NUMBER: _ClassVar[int]
    REPLACE_FIELD_NUMBER: _ClassVar[int]
    source: SourceInfo
    login_secret: str
    replace: bool
    def __init__(self, source: _Optional[_Union[SourceInfo, _Mapping]] = ..., login_secret: _Optional[str] = ..., replace: _Optional[bool] = ...) -> None: ...

class ListSourcesRequest(_message.Message):
    __slots__ = ("health",)
    HEALTH_FIELD_NUMBER: _ClassVar[int]
    health: bool
    def __init__(self, health: _Optional[bool] = ...) -> None: ...

class ListSourcesResponse(_message.Message):
    __slots__ = ("sources",)
    SOURCES_FIELD_NUMBER: _ClassVar[int]
    sources: _containers.RepeatedCompositeFieldContainer[SourceInfo]
    def __init__(self, sources: _Optional[_Iterable[_Union[SourceInfo, _Mapping]]] = ...) -> None: ...

class RemoveSourceRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class RemoveSourceResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class LoginSourceRequest(_message.Message):
    __slots__ = ("name", "login_secret")
    NAME_FIELD_NUMBER: _ClassVar[int]
    LOGIN_SECRET_FIELD_NUMBER: _ClassVar[int]
    name: str
    login_secret: str
    def __init__(self, name: _Optional[str] = ..., login_secret: _Optional[str] = ...) -> None: ...

class RefreshRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class RefreshResponse(_message.Message):
    __slots__ = ("environment",)
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    environment: Environment
    def __init__(self, environment: _Optional[_Union[Environment, _Mapping]] = ...) -> None: ...

class StatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class StatusResponse(_message.Message):
    __slots__ = ("agent_version", "protocol", "state", "unlockers", "vault_path", "pid", "environments", "unlocked_at", "idle_lock_in_secs", "hard_lock_in_secs", "audit_held", "audit_lost", "lock_after_secs", "max_unlocked_secs", "vault_error", "forgotten")
    AGENT_VERSION_FIELD_NUMBER: _ClassVar[int]
    PROTOCOL_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    UNLOCKERS_FIELD_NUMBER: _ClassVar[int]
    VAULT_PATH_FIELD_NUMBER: _ClassVar[int]
    PID_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENTS_FIELD_NUMBER: _ClassVar[int]
    UNLOCKED_AT_FIELD_NUMBER: _ClassVar[int]
    IDLE_LOCK_IN_SECS_FIELD_NUMBER: _ClassVar[int]
    HARD_LOCK_IN_SECS_FIELD_NUMBER: _ClassVar[int]
    AUDIT_HELD_FIELD_NUMBER: _ClassVar[int]
    AUDIT_LOST_FIELD_NUMBER: _ClassVar[int]
    LOCK_AFTER_SECS_FIELD_NUMBER: _ClassVar[int]
    MAX_UNLOCKED_SECS_FIELD_NUMBER: _ClassVar[int]
    VAULT_ERROR_FIELD_NUMBER: _ClassVar[int]
    FORGOTTEN_FIELD_NUMBER: _ClassVar[int]
    agent_version: str
    protocol: int
    state: LockState
    unlockers: _containers.RepeatedScalarFieldContainer[str]
    vault_path: str
    pid: int
    environments: int
    unlocked_at: int
    idle_lock_in_secs: int
    hard_lock_in_secs: int
    audit_held: int
    audit_lost: int
    lock_after_secs: int
    max_unlocked_secs: int
    vault_error: str
    forgotten: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, agent_version: _Optional[str] = ..., protocol: _Optional[int] = ..., state: _Optional[_Union[LockState, str]] = ..., unlockers: _Optional[_Iterable[str]] = ..., vault_path: _Optional[str] = ..., pid: _Optional[int] = ..., environments: _Optional[int] = ..., unlocked_at: _Optional[int] = ..., idle_lock_in_secs: _Optional[int] = ..., hard_lock_in_secs: _Optional[int] = ..., audit_held: _Optional[int] = ..., audit_lost: _Optional[int] = ..., lock_after_secs: _Optional[int] = ..., max_unlocked_secs: _Optional[int] = ..., vault_error: _Optional[str] = ..., forgotten: _Optional[_Iterable[str]] = ...) -> None: ...

class InitRequest(_message.Message):
    __slots__ = ("unlocker", "passphrase")
    UNLOCKER_FIELD_NUMBER: _ClassVar[int]
    PASSPHRASE_FIELD_NUMBER: _ClassVar[int]
    unlocker: str
    passphrase: str
    def __init__(self, unlocker: _Optional[str] = ..., passphrase: _Optional[str] = ...) -> None: ...

class InitResponse(_message.Message):
    __slots__ = ("unlockers", "vault_path")
    UNLOCKERS_FIELD_NUMBER: _ClassVar[int]
    VAULT_PATH_FIELD_NUMBER: _ClassVar[int]
    unlockers: _containers.RepeatedScalarFieldContainer[str]
    vault_path: str
    def __init__(self, unlockers: _Optional[_Iterable[str]] = ..., vault_path: _Optional[str] = ...) -> None: ...

class UnlockRequest(_message.Message):
    __slots__ = ("passphrase",)
    PASSPHRASE_FIELD_NUMBER: _ClassVar[int]
    passphrase: str
    def __init__(self, passphrase: _Optional[str] = ...) -> None: ...

class UnlockResponse(_message.Message):
    __slots__ = ("unlocker",)
    UNLOCKER_FIELD_NUMBER: _ClassVar[int]
    unlocker: str
    def __init__(self, unlocker: _Optional[str] = ...) -> None: ...

class LockRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class LockResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListResponse(_message.Message):
    __slots__ = ("environments",)
    ENVIRONMENTS_FIELD_NUMBER: _ClassVar[int]
    environments: _containers.RepeatedCompositeFieldContainer[Environment]
    def __init__(self, environments: _Optional[_Iterable[_Union[Environment, _Mapping]]] = ...) -> None: ...

class DescribeRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class DescribeResponse(_message.Message):
    __slots__ = ("environment",)
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    environment: Environment
    def __init__(self, environment: _Optional[_Union[Environment, _Mapping]] = ...) -> None: ...

class GetRequest(_message.Message):
    __slots__ = ("name", "purpose", "child_exe", "approval")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    CHILD_EXE_FIELD_NUMBER: _ClassVar[int]
    APPROVAL_FIELD_NUMBER: _ClassVar[int]
    name: str
    purpose: str
    child_exe: str
    approval: Approval
    def __init__(self, name: _Optional[str] = ..., purpose: _Optional[str] = ..., child_exe: _Optional[str] = ..., approval: _Optional[_Union[Approval, _Mapping]] = ...) -> None: ...

class GetResponse(_message.Message):
    __slots__ = ("environment", "password", "warning")
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_FIELD_NUMBER: _ClassVar[int]
    WARNING_FIELD_NUMBER: _ClassVar[int]
    environment: Environment
    password: str
    warning: str
    def __init__(self, environment: _Optional[_Union[Environment, _Mapping]] = ..., password: _Optional[str] = ..., warning: _Optional[str] = ...) -> None: ...

class PutRequest(_message.Message):
    __slots__ = ("environment", "password", "replace", "approval")
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_FIELD_NUMBER: _ClassVar[int]
    REPLACE_FIELD_NUMBER: _ClassVar[int]
    APPROVAL_FIELD_NUMBER: _ClassVar[int]
    environment: Environment
    password: str
    replace: bool
    approval: Approval
    def __init__(self, environment: _Optional[_Union[Environment, _Mapping]] = ..., password: _Optional[str] = ..., replace: _Optional[bool] = ..., approval: _Optional[_Union[Approval, _Mapping]] = ...) -> None: ...

class PutResponse(_message.Message):
    __slots__ = ("environment",)
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    environment: Environment
    def __init__(self, environment: _Optional[_Union[Environment, _Mapping]] = ...) -> None: ...

class UpdateRequest(_message.Message):
    __slots__ = ("name", "kind", "host", "port", "database", "username", "password", "production", "description", "expires_days", "options", "auth", "password_changed_at", "approval")
    class OptionsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    HOST_FIELD_NUMBER: _ClassVar[int]
    PORT_FIELD_NUMBER: _ClassVar[int]
    DATABASE_FIELD_NUMBER: _ClassVar[int]
    USERNAME_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_FIELD_NUMBER: _ClassVar[int]
    PRODUCTION_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_DAYS_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    AUTH_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_CHANGED_AT_FIELD_NUMBER: _ClassVar[int]
    APPROVAL_FIELD_NUMBER: _ClassVar[int]
    name: str
    kind: str
    host: str
    port: int
    database: str
    username: str
    password: str
    production: bool
    description: str
    expires_days: int
    options: _containers.ScalarMap[str, str]
    auth: str
    password_changed_at: int
    approval: Approval
    def __init__(self, name: _Optional[str] = ..., kind: _Optional[str] = ..., host: _Optional[str] = ..., port: _Optional[int] = ..., database: _Optional[str] = ..., username: _Optional[str] = ..., password: _Optional[str] = ..., production: _Optional[bool] = ..., description: _Optional[str] = ..., expires_days: _Optional[int] = ..., options: _Optional[_Mapping[str, str]] = ..., auth: _Optional[str] = ..., password_changed_at: _Optional[int] = ..., approval: _Optional[_Union[Approval, _Mapping]] = ...) -> None: ...

class UpdateResponse(_message.Message):
    __slots__ = ("environment",)
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    environment: Environment
    def __init__(self, environment: _Optional[_Union[Environment, _Mapping]] = ...) -> None: ...

class RemoveRequest(_message.Message):
    __slots__ = ("name", "approval")
    NAME_FIELD_NUMBER: _ClassVar[int]
    APPROVAL_FIELD_NUMBER: _ClassVar[int]
    name: str
    approval: Approval
    def __init__(self, name: _Optional[str] = ..., approval: _Optional[_Union[Approval, _Mapping]] = ...) -> None: ...

class RemoveResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class TestResult(_message.Message):
    __slots__ = ("at", "ok", "detail", "latency_ms", "reason", "tls")
    AT_FIELD_NUMBER: _ClassVar[int]
    OK_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    LATENCY_MS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    TLS_FIELD_NUMBER: _ClassVar[int]
    at: int
    ok: bool
    detail: str
    latency_ms: int
    reason: str
    tls: bool
    def __init__(self, at: _Optional[int] = ..., ok: _Optional[bool] = ..., detail: _Optional[str] = ..., latency_ms: _Optional[int] = ..., reason: _Optional[str] = ..., tls: _Optional[bool] = ...) -> None: ...

class TestRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class TestResponse(_message.Message):
    __slots__ = ("result",)
    RESULT_FIELD_NUMBER: _ClassVar[int]
    result: TestResult
    def __init__(self, result: _Optional[_Union[TestResult, _Mapping]] = ...) -> None: ...

class RotateRequest(_message.Message):
    __slots__ = ("name", "length", "alphabet", "admin", "resume", "hosts", "approval")
    NAME_FIELD_NUMBER: _ClassVar[int]
    LENGTH_FIELD_NUMBER: _ClassVar[int]
    ALPHABET_FIELD_NUMBER: _ClassVar[int]
    ADMIN_FIELD_NUMBER: _ClassVar[int]
    RESUME_FIELD_NUMBER: _ClassVar[int]
    HOSTS_FIELD_NUMBER: _ClassVar[int]
    APPROVAL_FIELD_NUMBER: _ClassVar[int]
    name: str
    length: int
    alphabet: str
    admin: str
    resume: bool
    hosts: _containers.RepeatedScalarFieldContainer[str]
    approval: Approval
    def __init__(self, name: _Optional[str] = ..., length: _Optional[int] = ..., alphabet: _Optional[str] = ..., admin: _Optional[str] = ..., resume: _Optional[bool] = ..., hosts: _Optional[_Iterable[str]] = ..., approval: _Optional[_Union[Approval, _Mapping]] = ...) -> None: ...

class RotateResponse(_message.Message):
    __slots__ = ("environment", "outcome", "detail", "accounts", "notes")
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    ACCOUNTS_FIELD_NUMBER: _ClassVar[int]
    NOTES_FIELD_NUMBER: _ClassVar[int]
    environment: Environment
    outcome: str
    detail: str
    accounts: _containers.RepeatedScalarFieldContainer[str]
    notes: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, environment: _Optional[_Union[Environment, _Mapping]] = ..., outcome: _Optional[str] = ..., detail: _Optional[str] = ..., accounts: _Optional[_Iterable[str]] = ..., notes: _Optional[_Iterable[str]] = ...) -> None: ...

class AuditRequest(_message.Message):
    __slots__ = ("name", "since", "limit", "decisions")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SINCE_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    DECISIONS_FIELD_NUMBER: _ClassVar[int]
    name: str
    since: int
    limit: int
    decisions: bool
    def __init__(self, name: _Optional[str] = ..., since: _Optional[int] = ..., limit: _Optional[int] = ..., decisions: _Optional[bool] = ...) -> None: ...

class AuditEvent(_message.Message):
    __slots__ = ("at", "environment", "operation", "client_pid", "client_uid", "client_exe", "outcome", "decision")
    AT_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    OPERATION_FIELD_NUMBER: _ClassVar[int]
    CLIENT_PID_FIELD_NUMBER: _ClassVar[int]
    CLIENT_UID_FIELD_NUMBER: _ClassVar[int]
    CLIENT_EXE_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    DECISION_FIELD_NUMBER: _ClassVar[int]
    at: int
    environment: str
    operation: str
    client_pid: int
    client_uid: int
    client_exe: str
    outcome: str
    decision: AuditDecision
    def __init__(self, at: _Optional[int] = ..., environment: _Optional[str] = ..., operation: _Optional[str] = ..., client_pid: _Optional[int] = ..., client_uid: _Optional[int] = ..., client_exe: _Optional[str] = ..., outcome: _Optional[str] = ..., decision: _Optional[_Union[AuditDecision, _Mapping]] = ...) -> None: ...

class AuditResponse(_message.Message):
    __slots__ = ("events", "pruned", "pruned_before")
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    PRUNED_FIELD_NUMBER: _ClassVar[int]
    PRUNED_BEFORE_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[AuditEvent]
    pruned: int
    pruned_before: int
    def __init__(self, events: _Optional[_Iterable[_Union[AuditEvent, _Mapping]]] = ..., pruned: _Optional[int] = ..., pruned_before: _Optional[int] = ...) -> None: ...

class WatchRequest(_message.Message):
    __slots__ = ("names", "vault_events")
    NAMES_FIELD_NUMBER: _ClassVar[int]
    VAULT_EVENTS_FIELD_NUMBER: _ClassVar[int]
    names: _containers.RepeatedScalarFieldContainer[str]
    vault_events: bool
    def __init__(self, names: _Optional[_Iterable[str]] = ..., vault_events: _Optional[bool] = ...) -> None: ...

class Change(_message.Message):
    __slots__ = ("environment", "change", "password_changed", "at")
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    CHANGE_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_CHANGED_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    environment: str
    change: str
    password_changed: bool
    at: int
    def __init__(self, environment: _Optional[str] = ..., change: _Optional[str] = ..., password_changed: _Optional[bool] = ..., at: _Optional[int] = ...) -> None: ...

class DiagnoseRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DiagnoseCheck(_message.Message):
    __slots__ = ("name", "ok", "detail", "fix")
    NAME_FIELD_NUMBER: _ClassVar[int]
    OK_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    FIX_FIELD_NUMBER: _ClassVar[int]
    name: str
    ok: bool
    detail: str
    fix: str
    def __init__(self, name: _Optional[str] = ..., ok: _Optional[bool] = ..., detail: _Optional[str] = ..., fix: _Optional[str] = ...) -> None: ...

class DiagnoseResponse(_message.Message):
    __slots__ = ("checks",)
    CHECKS_FIELD_NUMBER: _ClassVar[int]
    checks: _containers.RepeatedCompositeFieldContainer[DiagnoseCheck]
    def __init__(self, checks: _Optional[_Iterable[_Union[DiagnoseCheck, _Mapping]]] = ...) -> None: ...

class CheckRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class CheckEntry(_message.Message):
    __slots__ = ("environment", "state", "days", "expires_at")
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    DAYS_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    environment: Environment
    state: ExpiryState
    days: int
    expires_at: int
    def __init__(self, environment: _Optional[_Union[Environment, _Mapping]] = ..., state: _Optional[_Union[ExpiryState, str]] = ..., days: _Optional[int] = ..., expires_at: _Optional[int] = ...) -> None: ...

class CheckResponse(_message.Message):
    __slots__ = ("entries", "now")
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    NOW_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[CheckEntry]
    now: int
    def __init__(self, entries: _Optional[_Iterable[_Union[CheckEntry, _Mapping]]] = ..., now: _Optional[int] = ...) -> None: ...

class ReadLegacyKeyringRequest(_message.Message):
    __slots__ = ("environment",)
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    environment: str
    def __init__(self, environment: _Optional[str] = ...) -> None: ...

class ReadLegacyKeyringResponse(_message.Message):
    __slots__ = ("secret",)
    SECRET_FIELD_NUMBER: _ClassVar[int]
    secret: bytes
    def __init__(self, secret: _Optional[bytes] = ...) -> None: ...

class BackupRequest(_message.Message):
    __slots__ = ("path", "passphrase", "overwrite", "approval")
    PATH_FIELD_NUMBER: _ClassVar[int]
    PASSPHRASE_FIELD_NUMBER: _ClassVar[int]
    OVERWRITE_FIELD_NUMBER: _ClassVar[int]
    APPROVAL_FIELD_NUMBER: _ClassVar[int]
    path: str
    passphrase: str
    overwrite: bool
    approval: Approval
    def __init__(self, path: _Optional[str] = ..., passphrase: _Optional[str] = ..., overwrite: _Optional[bool] = ..., approval: _Optional[_Union[Approval, _Mapping]] = ...) -> None: ...

class BackupResponse(_message.Message):
    __slots__ = ("path", "environments", "bytes")
    PATH_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENTS_FIELD_NUMBER: _ClassVar[int]
    BYTES_FIELD_NUMBER: _ClassVar[int]
    path: str
    environments: int
    bytes: int
    def __init__(self, path: _Optional[str] = ..., environments: _Optional[int] = ..., bytes: _Optional[int] = ...) -> None: ...

class RestoreRequest(_message.Message):
    __slots__ = ("path", "passphrase", "force", "keyring", "approval")
    PATH_FIELD_NUMBER: _ClassVar[int]
    PASSPHRASE_FIELD_NUMBER: _ClassVar[int]
    FORCE_FIELD_NUMBER: _ClassVar[int]
    KEYRING_FIELD_NUMBER: _ClassVar[int]
    APPROVAL_FIELD_NUMBER: _ClassVar[int]
    path: str
    passphrase: str
    force: bool
    keyring: bool
    approval: Approval
    def __init__(self, path: _Optional[str] = ..., passphrase: _Optional[str] = ..., force: _Optional[bool] = ..., keyring: _Optional[bool] = ..., approval: _Optional[_Union[Approval, _Mapping]] = ...) -> None: ...

class RestoreResponse(_message.Message):
    __slots__ = ("vault_path", "environments", "previous_vault", "unlockers", "keyring_error", "backup_created_at", "state")
    VAULT_PATH_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENTS_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_VAULT_FIELD_NUMBER: _ClassVar[int]
    UNLOCKERS_FIELD_NUMBER: _ClassVar[int]
    KEYRING_ERROR_FIELD_NUMBER: _ClassVar[int]
    BACKUP_CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    vault_path: str
    environments: int
    previous_vault: str
    unlockers: _containers.RepeatedScalarFieldContainer[str]
    keyring_error: str
    backup_created_at: int
    state: LockState
    def __init__(self, vault_path: _Optional[str] = ..., environments: _Optional[int] = ..., previous_vault: _Optional[str] = ..., unlockers: _Optional[_Iterable[str]] = ..., keyring_error: _Optional[str] = ..., backup_created_at: _Optional[int] = ..., state: _Optional[_Union[LockState, str]] = ...) -> None: ...

class ExportAllRequest(_message.Message):
    __slots__ = ("approval",)
    APPROVAL_FIELD_NUMBER: _ClassVar[int]
    approval: Approval
    def __init__(self, approval: _Optional[_Union[Approval, _Mapping]] = ...) -> None: ...

class ExportedEnvironment(_message.Message):
    __slots__ = ("environment", "password")
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_FIELD_NUMBER: _ClassVar[int]
    environment: Environment
    password: str
    def __init__(self, environment: _Optional[_Union[Environment, _Mapping]] = ..., password: _Optional[str] = ...) -> None: ...

class ExportAllResponse(_message.Message):
    __slots__ = ("environments",)
    ENVIRONMENTS_FIELD_NUMBER: _ClassVar[int]
    environments: _containers.RepeatedCompositeFieldContainer[ExportedEnvironment]
    def __init__(self, environments: _Optional[_Iterable[_Union[ExportedEnvironment, _Mapping]]] = ...) -> None: ...

class PassphraseRequest(_message.Message):
    __slots__ = ("action", "current", "passphrase", "approval")
    ACTION_FIELD_NUMBER: _ClassVar[int]
    CURRENT_FIELD_NUMBER: _ClassVar[int]
    PASSPHRASE_FIELD_NUMBER: _ClassVar[int]
    APPROVAL_FIELD_NUMBER: _ClassVar[int]
    action: str
    current: str
    passphrase: str
    approval: Approval
    def __init__(self, action: _Optional[str] = ..., current: _Optional[str] = ..., passphrase: _Optional[str] = ..., approval: _Optional[_Union[Approval, _Mapping]] = ...) -> None: ...

class PassphraseResponse(_message.Message):
    __slots__ = ("unlockers",)
    UNLOCKERS_FIELD_NUMBER: _ClassVar[int]
    unlockers: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, unlockers: _Optional[_Iterable[str]] = ...) -> None: ...

class RekeyRequest(_message.Message):
    __slots__ = ("passphrase",)
    PASSPHRASE_FIELD_NUMBER: _ClassVar[int]
    passphrase: str
    def __init__(self, passphrase: _Optional[str] = ...) -> None: ...

class RekeyResponse(_message.Message):
    __slots__ = ("sealed", "unlockers")
    SEALED_FIELD_NUMBER: _ClassVar[int]
    UNLOCKERS_FIELD_NUMBER: _ClassVar[int]
    sealed: int
    unlockers: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, sealed: _Optional[int] = ..., unlockers: _Optional[_Iterable[str]] = ...) -> None: ...
