"""Webhook and signed-request verification for every scheme the ``trust`` CLI names.

Scheme names are the CLI's ``--provider`` values: ``shopify``, ``shopify-oauth``,
``shopify-app-proxy``, ``shopify-session-token``, ``stripe``, ``hubspot-v1``, ``hubspot-v2``,
``hubspot-v3``, ``standard-webhooks``, ``github``, ``slack``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Optional, Union

from ._native import UsageError, VerificationError
from ._native import ReplayGuard
from ._native import Result as _Result
from ._native import webhook_verify as _verify
from ._native import webhook_sign as _sign

Result = _Result

__all__ = ["verify", "sign", "sign_query", "Result", "ReplayGuard", "SCHEMES", "VerificationError"]

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


_QUERY_SCHEMES = ("shopify-oauth", "shopify-app-proxy")


def _wrong_function(message: str) -> UsageError:
    # The same shape the native module gives its errors: code, category, hint.
    err = UsageError(message)
    err.code = "WEBHOOK_CONFIG"
    err.category = "USAGE"
    err.hint = None
    return err


def sign(
    scheme: str,
    body: bytes,
    secrets: Union[_Secret, Sequence[_Secret]],
    *,
    now: Optional[int] = None,
    url: Optional[str] = None,
    method: str = "POST",
    id: Optional[str] = None,
    api_key: Optional[str] = None,
    shop: Optional[str] = None,
) -> dict[str, str]:
    """Signs a delivery as the provider would, for tests; returns its headers.

    The result (header name to value, in the provider's order) passes :func:`verify` under the
    same scheme, secrets, ``url``, ``method`` and ``now``. Stripe and Standard Webhooks send one
    signature per secret (as during a rotation); the other schemes sign with the first
    (current) secret. ``url`` and ``method`` are signed by HubSpot v2/v3; ``id`` is the delivery
    id (Standard Webhooks' signed ``webhook-id``, random when ``None``; sent as
    ``X-Shopify-Webhook-Id`` / ``X-GitHub-Delivery`` when given); ``api_key`` and ``shop`` make
    a Shopify session token (``Authorization: Bearer …``). Shopify OAuth and App Proxy sign a
    query string instead: use :func:`sign_query`.

    Raises :class:`trust.UsageError` (``WEBHOOK_CONFIG``) for an unknown scheme, a bad secret
    or a missing argument, :class:`trust.VerificationError` (``MALFORMED``) for a shop or id
    that a verifier would refuse.
    """
    if scheme in _QUERY_SCHEMES:
        raise _wrong_function(f"{scheme} signs a query string: use trust.webhook.sign_query")
    headers, _ = _sign(
        scheme, body, secrets, now=now, url=url, method=method, id=id, api_key=api_key, shop=shop
    )
    return dict(headers)


def sign_query(scheme: str, query: str, secrets: Union[_Secret, Sequence[_Secret]]) -> str:
    """Signs the raw ``query`` (without ``?``) of a Shopify OAuth callback (``shopify-oauth``:
    appends ``hmac``) or App Proxy request (``shopify-app-proxy``: appends ``signature``) with
    the first secret; :func:`verify` accepts the result as its ``query=``.

    Raises :class:`trust.UsageError` for another scheme, :class:`trust.VerificationError`
    (``MALFORMED``) for a query that does not parse or is already signed.
    """
    if scheme not in _QUERY_SCHEMES:
        raise _wrong_function(f"{scheme} signs headers: use trust.webhook.sign")
    _, signed = _sign(scheme, b"", secrets, query=query)
    assert signed is not None  # the query schemes always return the signed query
    return signed
