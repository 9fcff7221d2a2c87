"""trust: the trust layer for SaaS connector apps, over the Rust library trust-core.

Envelope encryption under rotatable keyrings (:class:`Home`, in a directory or PostgreSQL),
per-data-subject keys with erasure and export (:class:`Subjects`), session tokens
(:class:`SessionTokens`), access control (:class:`AccessControl`), rate limiting
(:class:`RateLimiter`), a credential vault (:class:`Vault`), TOTP second factors (:class:`Mfa`),
webhook verification (:mod:`trust.webhook`), password hashing (:mod:`trust.password`), a signed
append-only audit log (:mod:`trust.audit`) and log redaction (:func:`redact`,
:class:`RedactingFilter`).

Every failure raises a :class:`TrustError` subclass whose ``.code`` is the same stable string the
``trust`` CLI prints with ``--json`` and the C ABI returns from ``trust_error_code``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from os import PathLike
from typing import Any, Optional, Union

from . import _native
from ._native import (
    AccessControl,
    Claims,
    InputError,
    KeyUnavailableError,
    Mfa,
    RateLimiter,
    Redactor,
    RefusedError,
    Secret,
    SessionTokens,
    Subjects,
    TrustError,
    UsageError,
    Vault,
    VerificationError,
    redact,
)

__version__: str = _native.__version__

__all__ = [
    "Home",
    "Subjects",
    "SessionTokens",
    "Claims",
    "AccessControl",
    "RateLimiter",
    "Vault",
    "Secret",
    "Mfa",
    "Redactor",
    "RedactingFilter",
    "redact",
    "TrustError",
    "VerificationError",
    "KeyUnavailableError",
    "RefusedError",
    "InputError",
    "UsageError",
    "audit",
    "password",
    "webhook",
]

_Path = Union[str, "PathLike[str]"]
_Secret = Union[str, bytes]


class Home:
    """Keyrings under one root key; seals and opens data bound to a context.

    Make one with :meth:`Home.init` or :meth:`Home.open` and share it between threads: it is
    thread-safe, caches unwrapped keys, and releases the GIL while it encrypts or reads files.

    ``Home.open(path)`` opens a home; ``home.open(blob, context=...)`` opens an envelope.
    """

    # Instance methods are the native ones, bound in __init__: a call goes straight into Rust
    # with no Python frame in between. `open` on an instance (the envelope) shadows the
    # class-level static `open` (the home) because a staticmethod is a non-data descriptor.
    def __init__(self, native: _native.Home) -> None:
        if not isinstance(native, _native.Home):
            raise TypeError("use Home.init(...) or Home.open(...)")
        self._native = native
        self.seal = native.seal
        self.open = native.open_blob  # type: ignore[assignment]
        self.seal_token = native.seal_token
        self.open_token = native.open_token
        self.create_keyring = native.create_keyring
        self.keyrings = native.keyrings
        self.rotate = native.rotate
        self.promote = native.promote
        self.retire = native.retire
        self.enable = native.enable
        self.schedule_destroy = native.schedule_destroy
        self.cancel_destroy = native.cancel_destroy
        self.destroy = native.destroy
        self.rewrap = native.rewrap
        self.rewrap_token = native.rewrap_token
        self.encrypt_file = native.encrypt_file
        self.decrypt_file = native.decrypt_file

    @staticmethod
    def init(
        path: _Path,
        *,
        root_key_file: Optional[_Path] = None,
        passphrase: Optional[_Secret] = None,
        m_kib: Optional[int] = None,
        t: Optional[int] = None,
        p: Optional[int] = None,
    ) -> "Home":
        """Creates a home in ``path`` (a directory or a ``postgres://`` URL) whose root key is ``root_key_file`` (32 random bytes,
        created mode 0600 if missing; keep it apart from the home) or a passphrase stretched
        with argon2id (``m_kib``/``t``/``p`` override the cost)."""
        return Home(
            _native.Home.init(
                path, root_key_file=root_key_file, passphrase=passphrase, m_kib=m_kib, t=t, p=p
            )
        )

    @staticmethod
    def open(  # type: ignore[override]
        path: _Path,
        *,
        root_key_file: Optional[_Path] = None,
        passphrase: Optional[_Secret] = None,
    ) -> "Home":
        """Opens the home in ``path`` (a directory or a ``postgres://`` URL) with the key file it recorded, another path to the same
        key (``root_key_file``), or its ``passphrase``."""
        return Home(_native.Home.open(path, root_key_file=root_key_file, passphrase=passphrase))

    @property
    def path(self) -> Optional[str]:
        p = self._native.path
        return None if p is None else str(p)

    def keyring_info(self, name: str) -> dict[str, Any]:
        """Keyring ``name``: suite, Primary, every version's state, dates and usage (never key
        material) — the object ``trust keys list --json`` prints."""
        result: dict[str, Any] = json.loads(self._native.keyring_info_json(name))
        return result

    def __repr__(self) -> str:
        return repr(self._native)


class RedactingFilter(logging.Filter):
    """A :class:`logging.Filter` that redacts credentials from every record it passes.

    The message is formatted first (``record.getMessage()``), redacted, and stored back with
    its arguments cleared, so a token passed as a ``%s`` argument is caught too::

        handler.addFilter(trust.RedactingFilter())
        handler.addFilter(trust.RedactingFilter(trust.Redactor([api_token])))
    """

    def __init__(self, redactor: Optional[Union[Redactor, Vault]] = None, name: str = "") -> None:
        super().__init__(name)
        self._redact = redact if redactor is None else redactor.redact

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = self._redact(message)
        if cleaned is not message and cleaned != message:
            record.msg = cleaned
            record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._redact(record.exc_text)
        return True


from . import audit, password, webhook  # noqa: E402  (submodules use the names above)
