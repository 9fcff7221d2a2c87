"""The append-only, signed, provable audit log (the ``trust audit`` format).

A :class:`Log` appends entries durably and signs checkpoints; auditors verify the directory
with :func:`verify` (or ``trust audit verify``) and single entries with :func:`verify_proof`.
"""

from __future__ import annotations

import json
from os import PathLike
from typing import Any, NamedTuple, Optional, Union

from ._native import Log, audit_verify_json, audit_verify_proof

__all__ = ["Log", "verify", "verify_proof", "ProofResult"]


class ProofResult(NamedTuple):
    index: int
    checkpoint_size: int
    event: str
    time_unix_ms: int


def verify(
    path: Union[str, "PathLike[str]"], vkey: str, *, check_payloads: bool = True
) -> dict[str, Any]:
    """Verifies every entry, the tree and every checkpoint signature of the log in ``path``.

    Returns the report (the object ``trust audit verify --json`` prints under ``data``);
    raises :class:`trust.VerificationError` whose ``.code`` names the failure kind."""
    result: dict[str, Any] = json.loads(
        audit_verify_json(path, vkey, check_payloads=check_payloads)
    )
    return result


def verify_proof(receipt: str, vkey: str, *, origin: Optional[str] = None) -> ProofResult:
    """Verifies an inclusion receipt from :meth:`Log.prove` (or ``trust audit prove``)."""
    return ProofResult(*audit_verify_proof(receipt, vkey, origin=origin))
