"""Password hashing with argon2id; legacy bcrypt hashes verify and upgrade at login.

Each call releases the GIL while argon2 runs, so threads hash on several cores at once.
"""

from __future__ import annotations

from typing import Optional

from ._native import (
    password_hash as hash,  # noqa: A001  (the issue's fixed name: trust.password.hash)
    password_needs_rehash as needs_rehash,
    password_verify as _verify,
    password_verify_and_upgrade as _verify_and_upgrade,
    password_verify_unknown_user as verify_unknown_user,
)

__all__ = ["hash", "verify", "verify_and_upgrade", "needs_rehash", "verify_unknown_user"]


def verify(phc: str, password: str) -> bool:
    """True when ``password`` matches the stored hash ``phc`` (argon2 PHC or bcrypt)."""
    return _verify(phc, password)


def verify_and_upgrade(phc: str, password: str) -> tuple[bool, Optional[str]]:
    """``(matched, new_hash)``; store ``new_hash`` when it is not None (the stored hash was
    bcrypt or used other parameters). It is computed only after a match."""
    return _verify_and_upgrade(phc, password)
