# Type stubs for the native module (Rust, PyO3). Public names are re-exported by `trust`,
# `trust.webhook`, `trust.password` and `trust.audit`.
from os import PathLike
from typing import Any, Callable, Iterable, Mapping, Optional, Sequence, Union, final

_Path = Union[str, PathLike[str]]
_Secret = Union[str, bytes]
_Context = Optional[Mapping[str, str]]
_Change = tuple[int, Optional[str], str]

__version__: str

class TrustError(Exception):
    code: str
    category: str
    hint: Optional[str]

class VerificationError(TrustError): ...
class UsageError(TrustError): ...
class InputError(TrustError): ...
class KeyUnavailableError(TrustError): ...
class RefusedError(TrustError): ...

@final
class Home:
    @staticmethod
    def init(
        path: _Path,
        *,
        root_key_file: Optional[_Path] = ...,
        passphrase: Optional[_Secret] = ...,
        root_pkcs11: Optional[str] = ...,
        root_aws_kms: Optional[str] = ...,
        pin_env: Optional[str] = ...,
        pin_file: Optional[_Path] = ...,
        m_kib: Optional[int] = ...,
        t: Optional[int] = ...,
        p: Optional[int] = ...,
    ) -> Home: ...
    @staticmethod
    def open(
        path: _Path,
        *,
        root_key_file: Optional[_Path] = ...,
        passphrase: Optional[_Secret] = ...,
        pin_env: Optional[str] = ...,
        pin_file: Optional[_Path] = ...,
    ) -> Home: ...
    @staticmethod
    def rewrap_root(
        path: _Path,
        *,
        to_pkcs11: Optional[str] = ...,
        to_aws_kms: Optional[str] = ...,
        root_key_file: Optional[_Path] = ...,
        passphrase: Optional[_Secret] = ...,
        pin_env: Optional[str] = ...,
        pin_file: Optional[_Path] = ...,
    ) -> int: ...
    @property
    def path(self) -> Optional[str]: ...
    def create_keyring(self, name: str, *, suite: str = ...) -> None: ...
    def keyrings(self) -> list[str]: ...
    def keyring_info_json(self, name: str) -> str: ...
    def rotate(self, name: str, promote: bool = ...) -> int: ...
    def promote(self, name: str, version: int) -> None: ...
    def retire(self, name: str, version: int) -> _Change: ...
    def enable(self, name: str, version: int) -> _Change: ...
    def schedule_destroy(self, name: str, version: int) -> _Change: ...
    def cancel_destroy(self, name: str, version: int) -> _Change: ...
    def destroy(
        self, name: str, version: int, *, force: bool = ..., reason: str | None = ...
    ) -> tuple[bool, bool, int | None]: ...
    def seal(self, name: str, data: bytes, context: _Context = ...) -> bytes: ...
    def open_blob(self, blob: bytes, context: _Context = ...) -> bytes: ...
    def seal_token(self, name: str, data: bytes, context: _Context = ...) -> str: ...
    def open_token(self, token: str, context: _Context = ...) -> bytes: ...
    def rewrap(self, blob: bytes) -> tuple[bytes, bool]: ...
    def rewrap_token(self, token: str, context: _Context = ...) -> tuple[str, bool]: ...
    def encrypt_file(self, name: str, src: _Path, dst: _Path, context: _Context = ...) -> int: ...
    def decrypt_file(self, src: _Path, dst: _Path, context: _Context = ...) -> int: ...

@final
class Result:
    scheme: str
    secret_index: int
    timestamp: Optional[int]
    delivery_id: Optional[str]
    shop: Optional[str]

def webhook_verify(
    scheme: str,
    body: bytes,
    headers: Union[Mapping[str, Union[str, bytes]], Iterable[tuple[str, Union[str, bytes]]]],
    secrets: Union[_Secret, Sequence[_Secret]],
    *,
    now: Optional[int] = ...,
    url: Optional[str] = ...,
    method: str = ...,
    query: Optional[str] = ...,
    api_key: Optional[str] = ...,
    tolerance: Optional[int] = ...,
    lenient: bool = ...,
) -> Result: ...
def webhook_sign(
    scheme: str,
    body: bytes,
    secrets: Union[_Secret, Sequence[_Secret]],
    *,
    now: Optional[int] = ...,
    url: Optional[str] = ...,
    method: str = ...,
    id: Optional[str] = ...,
    query: Optional[str] = ...,
    api_key: Optional[str] = ...,
    shop: Optional[str] = ...,
) -> tuple[list[tuple[str, str]], Optional[str]]: ...
@final
class ReplayGuard:
    def __init__(self, ttl: int, *, store: Optional[str] = ..., capacity: int = ...) -> None: ...
    def check(self, result: Result, *, now: Optional[int] = ...) -> None: ...
    def check_id(self, namespace: str, id: str, *, now: Optional[int] = ...) -> None: ...

def password_hash(password: str) -> str: ...
def password_verify(phc: str, password: str) -> bool: ...
def password_verify_and_upgrade(phc: str, password: str) -> tuple[bool, Optional[str]]: ...
def password_needs_rehash(phc: str) -> bool: ...
def password_verify_unknown_user(password: str) -> bool: ...
def redact(text: str) -> str: ...

@final
class Redactor:
    def __init__(self, secrets: Sequence[_Secret] = ..., *, cards: bool = ...) -> None: ...
    def redact(self, text: str) -> str: ...

@final
class Log:
    @staticmethod
    def init(path: _Path, *, origin: str) -> Log: ...
    @staticmethod
    def open(path: _Path) -> Log: ...
    @property
    def vkey(self) -> str: ...
    @property
    def origin(self) -> str: ...
    @property
    def size(self) -> int: ...
    def append(
        self,
        event: str,
        *,
        actor: Optional[str] = ...,
        subject: Optional[str] = ...,
        attrs: Optional[Mapping[str, str]] = ...,
        payload: Optional[bytes] = ...,
    ) -> int: ...
    def checkpoint(self) -> tuple[int, str]: ...
    def prove(self, index: int, size: Optional[int] = ...) -> str: ...

def audit_verify_json(path: _Path, vkey: str, *, check_payloads: bool = ...) -> str: ...
def audit_verify_proof(
    receipt: str, vkey: str, *, origin: Optional[str] = ...
) -> tuple[int, int, str, int]: ...

_AnyHome = Any  # trust.Home or the native Home

@final
class Subjects:
    def __init__(
        self, home: _AnyHome, *, signing_key_file: Optional[_Path] = ..., audit: Optional[Log] = ...
    ) -> None: ...
    @property
    def signer_public_key(self) -> bytes: ...
    def tag(self, keyring: str, subject: str) -> str: ...
    def seal(self, keyring: str, subject: str, data: bytes, context: _Context = ...) -> bytes: ...
    def open(self, blob: bytes, context: _Context = ...) -> bytes: ...
    def erase(
        self,
        keyring: str,
        subject: str,
        *,
        request: Optional[str] = ...,
        actor: Optional[str] = ...,
        backup_retention_days: int = ...,
    ) -> dict[str, Any]: ...
    def export(
        self,
        keyring: str,
        subject: str,
        records: Sequence[tuple[str, str]],
        out: _Path,
        *,
        request: Optional[str] = ...,
    ) -> dict[str, Any]: ...

@final
class Claims:
    tenant: str
    scopes: list[str]
    audience: Optional[str]
    issued_at: int
    expires_at: int
    id: str
    keyring: str
    version: int
    def has_scope(self, scope: str) -> bool: ...

@final
class SessionTokens:
    def __init__(self, home: _AnyHome) -> None: ...
    def issue(
        self,
        keyring: str,
        tenant: str,
        scopes: Sequence[str],
        *,
        ttl: int,
        audience: Optional[str] = ...,
        now: Optional[int] = ...,
    ) -> str: ...
    def verify(
        self,
        token: str,
        *,
        tenant: Optional[str] = ...,
        scope: Optional[str] = ...,
        audience: Optional[str] = ...,
        leeway: Optional[int] = ...,
        now: Optional[int] = ...,
    ) -> Claims: ...

@final
class AccessControl:
    def __init__(self, roles_json: Optional[str] = ...) -> None: ...
    def add_member(self, tenant: str, member: str, roles: Sequence[str]) -> None: ...
    def remove_member(self, tenant: str, member: str) -> None: ...
    def revoke_role(self, tenant: str, member: str, role: str) -> None: ...
    def allow(self, tenant: str, member: str, pattern: str) -> None: ...
    def deny(self, tenant: str, member: str, pattern: str) -> None: ...
    def authorize(
        self, tenant: str, member: str, action: str, resource_tenant: str, kind: str, id: str
    ) -> None: ...
    def is_allowed(
        self, tenant: str, member: str, action: str, resource_tenant: str, kind: str, id: str
    ) -> bool: ...

@final
class RateLimiter:
    def __init__(
        self, rate: int, *, period: float = ..., burst: Optional[int] = ..., now: Optional[int] = ...
    ) -> None: ...
    def check(self, tenant: str, route: str, cost: int = ...) -> float: ...

@final
class Secret:
    name: str
    version: int
    expires: Optional[int]
    kind: str
    scopes: list[str]
    @property
    def value(self) -> bytes: ...
    @property
    def refresh_token(self) -> Optional[bytes]: ...
    def needs_refresh(self, margin: int, now: Optional[int] = ...) -> bool: ...

@final
class Vault:
    def __init__(
        self, home: _AnyHome, *, keyring: str = ..., audit: Optional[Log] = ...
    ) -> None: ...
    def put(
        self,
        actor: str,
        name: str,
        value: _Secret,
        *,
        kind: Optional[str] = ...,
        readers: Optional[Sequence[str]] = ...,
        scopes: Optional[Sequence[str]] = ...,
        expires: Optional[int] = ...,
        refresh_token: Optional[_Secret] = ...,
    ) -> int: ...
    def rotate(
        self,
        actor: str,
        name: str,
        value: _Secret,
        *,
        readers: Optional[Sequence[str]] = ...,
        scopes: Optional[Sequence[str]] = ...,
        expires: Optional[int] = ...,
        refresh_token: Optional[_Secret] = ...,
    ) -> int: ...
    def get(
        self, actor: str, name: str, *, purpose: str, version: Optional[int] = ...
    ) -> Secret: ...
    def list(self, tenant: Optional[str] = ...) -> list[dict[str, Any]]: ...
    def info(self, name: str) -> dict[str, Any]: ...
    def needs_refresh(self, name: str, margin: int, now: Optional[int] = ...) -> bool: ...
    def delete(self, actor: str, name: str) -> None: ...
    def prune(self, actor: str, name: str, keep: int) -> int: ...
    def refresh(
        self,
        actor: str,
        name: str,
        *,
        purpose: str,
        margin: int,
        refresher: Callable[[Secret], tuple[_Secret, Optional[_Secret], Optional[int]]],
    ) -> tuple[Secret, str]: ...
    def redact(self, text: str) -> str: ...

@final
class Mfa:
    def __init__(
        self,
        home: _AnyHome,
        *,
        keyring: str = ...,
        audit: Optional[Log] = ...,
        issuer: str = ...,
    ) -> None: ...
    def enroll(
        self,
        user: str,
        device: str = ...,
        *,
        digits: int = ...,
        algorithm: str = ...,
        period: int = ...,
        secret: Optional[str] = ...,
    ) -> str: ...
    def verify(
        self, user: str, code: str, *, device: str = ..., now: Optional[int] = ...
    ) -> int: ...
    def recovery_codes(self, user: str) -> list[str]: ...
    def redeem_recovery_code(self, user: str, code: str) -> None: ...
    def remaining_recovery_codes(self, user: str) -> int: ...
    def is_enrolled(self, user: str) -> bool: ...
    def remove(self, user: str) -> bool: ...
