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
        root_pkcs11: Optional[str] = None,
        root_aws_kms: Optional[str] = None,
        pin_env: Optional[str] = None,
        pin_file: Optional[_Path] = None,
        m_kib: Optional[int] = None,
        t: Optional[int] = None,
        p: Optional[int] = None,
    ) -> "Home":
        """Creates a home in ``path`` (a directory or a ``postgres://`` URL) with exactly one root:

        * ``root_key_file``: 32 random bytes, created mode 0600 if missing (keep it apart from
          the home);
        * ``passphrase``: stretched with argon2id (``m_kib``/``t``/``p`` override the cost);
        * ``root_pkcs11``: an AES-256 key in a PKCS#11 token (HSM), named by an RFC 7512 URI
          with ``module-path``, generated inside the token when absent. The user PIN comes from
          the environment variable *named* by ``pin_env``, from ``pin_file``, or else from
          ``TRUST_PKCS11_PIN`` — never from an argument holding the PIN itself;
        * ``root_aws_kms``: an AWS KMS key (key id, ``alias/NAME`` or ARN). Region, endpoint
          and credentials come from the environment as for the AWS CLI (``AWS_REGION``,
          ``AWS_ENDPOINT_URL``, the default credentials chain).

        The GIL is released for the whole call (argon2, HSM and KMS calls, database I/O)."""
        return Home(
            _native.Home.init(
                path,
                root_key_file=root_key_file,
                passphrase=passphrase,
                root_pkcs11=root_pkcs11,
                root_aws_kms=root_aws_kms,
                pin_env=pin_env,
                pin_file=pin_file,
                m_kib=m_kib,
                t=t,
                p=p,
            )
        )

    @staticmethod
    def open(  # type: ignore[override]
        path: _Path,
        *,
        root_key_file: Optional[_Path] = None,
        passphrase: Optional[_Secret] = None,
        pin_env: Optional[str] = None,
        pin_file: Optional[_Path] = None,
    ) -> "Home":
        """Opens the home in ``path`` (a directory or a ``postgres://`` URL) with the root it
        recorded: its key file (or ``root_key_file``, another path to the same key), its
        ``passphrase``, or its HSM or KMS key (the PIN as for :meth:`init`; ``pin_env`` and
        ``pin_file`` are ignored by other homes). The GIL is released for the whole call."""
        return Home(
            _native.Home.open(
                path,
                root_key_file=root_key_file,
                passphrase=passphrase,
                pin_env=pin_env,
                pin_file=pin_file,
            )
        )

    @staticmethod
    def rewrap_root(
        path: _Path,
        *,
        to_pkcs11: Optional[str] = None,
        to_aws_kms: Optional[str] = None,
        root_key_file: Optional[_Path] = None,
        passphrase: Optional[_Secret] = None,
        pin_env: Optional[str] = None,
        pin_file: Optional[_Path] = None,
    ) -> int:
        """Moves the home in directory ``path`` to a root key in an HSM (``to_pkcs11``) or AWS KMS
        (``to_aws_kms``) without touching any ciphertext, as ``trust keys rewrap-root`` does;
        returns how many keyrings were rewrapped. The current root unlocks it as in
        :meth:`open`. Afterwards the old key file or passphrase no longer opens the home: open
        it again with :meth:`open`. An interrupted move is finished by calling this again with
        the same target. Stop other writers of the home while it runs."""
        return _native.Home.rewrap_root(
            path,
            to_pkcs11=to_pkcs11,
            to_aws_kms=to_aws_kms,
            root_key_file=root_key_file,
            passphrase=passphrase,
            pin_env=pin_env,
            pin_file=pin_file,
        )

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
