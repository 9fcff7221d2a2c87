"""Webhook and signed-request verification for every scheme the ``trust`` CLI names.

Scheme names are the CLI's ``--provider`` values: ``shopify``, ``shopify-oauth``,
``shopify-app-proxy``, ``shopify-session-token``, ``stripe``, ``hubspot-v1``, ``hubspot-v2``,
``hubspot-v3``, ``standard-webhooks``, ``github``, ``slack``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Optional, Union

from ._native import VerificationError
from ._native import ReplayGuard
from ._native import Result as _Result
from ._native import webhook_verify as _verify

Result = _Result

__all__ = ["verify", "Result", "ReplayGuard", "SCHEMES", "VerificationError"]

SCHEMES = (
    "shopify",
    "shopify-oauth",
    "shopify-app-proxy",
    "shopify-session-token",
    "stripe",
    "hubspot-v1",
    "hubspot-v2",
    "hubspot-v3",
    "standard-webhooks",
    "github",
    "slack",
)

_Value = Union[str, bytes]
_Secret = Union[str, bytes]


def verify(
    scheme: str,
    body: bytes,
    headers: Union[Mapping[str, _Value], Iterable[tuple[str, _Value]]],
    secrets: Union[_Secret, Sequence[_Secret]],
    *,
    now: Optional[int] = None,
    url: Optional[str] = None,
    method: str = "POST",
    query: Optional[str] = None,
    api_key: Optional[str] = None,
    tolerance: Optional[int] = None,
    lenient: bool = False,
) -> Result:
    """Verifies a delivery before any processing.

    ``body`` is the raw request body, byte for byte (never re-serialized JSON); ``headers`` a
    mapping or ``(name, value)`` pairs (names case-insensitive); ``secrets`` one secret or a
    list, current first. ``now`` is Unix seconds (default: the system clock). ``url`` and
    ``method`` are needed by HubSpot v2/v3, ``query`` by Shopify OAuth and App Proxy,
    ``api_key`` by Shopify session tokens.

    Returns a :class:`Result`; raises :class:`trust.VerificationError` whose ``.code`` is
    ``SIGNATURE_INVALID``, ``TIMESTAMP_STALE``, ``TIMESTAMP_FUTURE``, ``MALFORMED`` or
    ``CLAIM_REJECTED``.
    """
    return _verify(
        scheme,
        body,
        headers,
        secrets,
        now=now,
        url=url,
        method=method,
        query=query,
        api_key=api_key,
        tolerance=tolerance,
        lenient=lenient,
    )
