import base64
import os
import hashlib
import hmac
import time

import pytest

import trust
import trust.webhook

BODY = b'{"id":"evt_1","object":"event"}'
SECRET = "whsec_test_secret"


def stripe_header(secret: str, body: bytes, ts: int) -> str:
    # Stripe's documented scheme, computed here with Python's own hmac (an independent
    # implementation): v1 = hex(HMAC-SHA256(secret, f"{t}.{body}")).
    mac = hmac.new(secret.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={ts},v1={mac}"


def test_stripe_valid():
    now = 1_700_000_000
    r = trust.webhook.verify("stripe", BODY, {"Stripe-Signature": stripe_header(SECRET, BODY, now)}, SECRET, now=now)
    assert r.scheme == "stripe"
    assert r.secret_index == 0
    assert r.timestamp == now


def test_stripe_previous_secret_and_bytes():
    now = 1_700_000_000
    header = stripe_header("whsec_old", BODY, now)
    r = trust.webhook.verify("stripe", BODY, [("stripe-signature", header.encode())], [SECRET.encode(), "whsec_old"], now=now)
    assert r.secret_index == 1


def test_stripe_tampered_body():
    now = 1_700_000_000
    with pytest.raises(trust.VerificationError) as e:
        trust.webhook.verify("stripe", BODY + b" ", {"Stripe-Signature": stripe_header(SECRET, BODY, now)}, SECRET, now=now)
    assert e.value.code == "SIGNATURE_INVALID"
    assert e.value.category == "VERIFICATION_FAILED"
    assert SECRET not in str(e.value)


def test_stripe_stale_and_future():
    now = 1_700_000_000
    header = {"Stripe-Signature": stripe_header(SECRET, BODY, now)}
    with pytest.raises(trust.VerificationError) as e:
        trust.webhook.verify("stripe", BODY, header, SECRET, now=now + 301)
    assert e.value.code == "TIMESTAMP_STALE"
    with pytest.raises(trust.VerificationError) as e:
        trust.webhook.verify("stripe", BODY, header, SECRET, now=now - 301)
    assert e.value.code == "TIMESTAMP_FUTURE"
    # a wider tolerance accepts it
    trust.webhook.verify("stripe", BODY, header, SECRET, now=now + 301, tolerance=600)


def test_default_now_is_the_clock():
    now = int(time.time())
    trust.webhook.verify("stripe", BODY, {"Stripe-Signature": stripe_header(SECRET, BODY, now)}, SECRET)


def test_missing_header_is_malformed():
    with pytest.raises(trust.VerificationError) as e:
        trust.webhook.verify("stripe", BODY, {}, SECRET, now=1)
    assert e.value.code == "MALFORMED"


def test_shopify_and_github():
    mac = base64.b64encode(hmac.new(b"shpss_secret", BODY, hashlib.sha256).digest()).decode()
    r = trust.webhook.verify("shopify", BODY, {"X-Shopify-Hmac-Sha256": mac, "X-Shopify-Webhook-Id": "d-1"}, "shpss_secret")
    assert r.scheme == "shopify" and r.delivery_id == "d-1"
    gh = "sha256=" + hmac.new(b"gh-secret", BODY, hashlib.sha256).hexdigest()
    r = trust.webhook.verify("github", BODY, {"X-Hub-Signature-256": gh}, b"gh-secret")
    assert r.scheme == "github"
    with pytest.raises(trust.VerificationError):
        trust.webhook.verify("github", BODY, {"X-Hub-Signature-256": gh}, b"other-secret")


def test_hubspot_v3_needs_url():
    with pytest.raises(trust.UsageError) as e:
        trust.webhook.verify("hubspot-v3", BODY, {}, "s")
    assert e.value.code == "INVALID_ARGUMENT"


def test_hubspot_v3_valid():
    ts_ms = 1_700_000_000_000
    url = "https://app.example.com/hooks"
    msg = b"POST" + url.encode() + BODY + str(ts_ms).encode()
    sig = base64.b64encode(hmac.new(b"hs-secret", msg, hashlib.sha256).digest()).decode()
    headers = {"X-HubSpot-Signature-v3": sig, "X-HubSpot-Request-Timestamp": str(ts_ms)}
    r = trust.webhook.verify("hubspot-v3", BODY, headers, "hs-secret", now=ts_ms // 1000, url=url, method="POST")
    assert r.scheme == "hubspot-v3"


def test_unknown_scheme():
    with pytest.raises(trust.UsageError):
        trust.webhook.verify("paypal", BODY, {}, "s")


def test_empty_secret_list_is_config_error():
    with pytest.raises(trust.TrustError) as e:
        trust.webhook.verify("github", BODY, {}, [])
    assert e.value.code == "WEBHOOK_CONFIG"


def test_every_cli_scheme_name_is_accepted():
    for scheme in trust.webhook.SCHEMES:
        with pytest.raises(trust.TrustError) as e:
            trust.webhook.verify(scheme, BODY, {}, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", now=1, url="https://x.example/", query="a=b", api_key="k")
        assert not isinstance(e.value, trust.UsageError) or e.value.code != "INVALID_ARGUMENT", scheme


def _github_delivery(delivery="72d3162e-cc78-11e3-81ab-4c9367dc0958"):
    body = b'{"action":"opened"}'
    sig = "sha256=" + hmac.new(b"whsec_x", body, hashlib.sha256).hexdigest()
    return body, {"X-Hub-Signature-256": sig, "X-GitHub-Delivery": delivery}


def test_replay_guard_in_memory():
    now = 1_700_000_000
    body, headers = _github_delivery()
    guard = trust.webhook.ReplayGuard(600)
    result = trust.webhook.verify("github", body, headers, "whsec_x", now=now)
    assert result.delivery_id == headers["X-GitHub-Delivery"]
    guard.check(result, now=now)
    with pytest.raises(trust.VerificationError) as e:
        guard.check(result, now=now + 1)
    assert e.value.code == "REPLAYED"
    guard.check_id("github", "another-delivery", now=now)
    with pytest.raises(trust.VerificationError) as e:
        guard.check_id("github", "", now=now)
    assert e.value.code == "MALFORMED"
    full = trust.webhook.ReplayGuard(600, capacity=1)
    full.check_id("x", "1", now=now)
    with pytest.raises(trust.TrustError) as e:
        full.check_id("x", "2", now=now)
    assert e.value.code == "REPLAY_STORE"


def test_replay_guard_store_urls(monkeypatch):
    with pytest.raises(trust.UsageError):
        trust.webhook.ReplayGuard(600, store="mysql://db/x")
    with pytest.raises(trust.TrustError):
        trust.webhook.ReplayGuard(600, store="/a/path")  # the in-process store needs no location
    url = os.environ.get("TRUST_TEST_REDIS_URL")
    if not url:
        if os.environ.get("CI") == "true":
            pytest.fail("TRUST_TEST_REDIS_URL is required under CI=true")
        pytest.skip("TRUST_TEST_REDIS_URL unset: shared replay store test skipped")
    now = int(__import__("time").time())
    ns = "pytest-" + os.urandom(6).hex()
    a = trust.webhook.ReplayGuard(600, store=url)
    b = trust.webhook.ReplayGuard(600, store=url)  # another worker
    a.check_id(ns, "evt_1", now=now)
    with pytest.raises(trust.VerificationError) as e:
        b.check_id(ns, "evt_1", now=now)
    assert e.value.code == "REPLAYED"
