"""trust.webhook.sign / sign_query: published vectors, sign → verify for every scheme, a changed
body rejected, error paths, and interop with the CLI in both directions."""

import json
import os
import subprocess

import pytest

import trust
import trust.webhook

T = 1_700_000_000
STD_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
BODY = '{"id":1,"note":"café"}'.encode()
URL = "https://app.example.com/hooks?x=%2Fy"


def test_published_vectors():
    # Stripe: stripe-python generate_signature_header (docs/webhooks.md).
    h = trust.webhook.sign("stripe", b'{"id":"evt_test_webhook","object":"event"}', "whsec_test_secret", now=T)
    assert h == {"Stripe-Signature": "t=1700000000,v1=d95c6b7477fbd7e9f90b1b0ef5f9c7ac25abca5382460e0d988c2b2a5b71b990"}
    # Standard Webhooks: the standardwebhooks libraries' vector.
    h = trust.webhook.sign("standard-webhooks", b'{"test": 2432232314}', STD_SECRET, now=1614265330, id="msg_p5jXN8AQM9LWM0D4loKWxJek")
    assert h["webhook-signature"] == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    assert h["webhook-timestamp"] == "1614265330"
    # GitHub: docs.github.com "Validating webhook deliveries".
    h = trust.webhook.sign("github", b"Hello, World!", b"It's a Secret to Everybody")
    assert h == {"X-Hub-Signature-256": "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"}
    # Shopify App Proxy: shopify.dev "Authenticate app proxies".
    q = "extra=1&extra=2&shop=shop-name.myshopify.com&logged_in_customer_id=1&path_prefix=%2Fapps%2Fawesome_reviews&timestamp=1317327555"
    assert trust.webhook.sign_query("shopify-app-proxy", q, "hush") == q + "&signature=4c68c8624d737112c91818c11017d24d334b524cb5c2b8ba08daa056f7395ddb"


@pytest.mark.parametrize("scheme", [s for s in trust.webhook.SCHEMES if s not in ("shopify-oauth", "shopify-app-proxy")])
def test_sign_then_verify_every_header_scheme(scheme):
    secret = STD_SECRET if scheme == "standard-webhooks" else "hush-current"
    kw = dict(now=T, url=URL, method="PUT", api_key="app-key")
    headers = trust.webhook.sign(scheme, BODY, [secret], shop="s.myshopify.com", id="delivery-1", **kw)
    assert trust.webhook.verify(scheme, BODY, headers, secret, **kw).scheme == scheme
    with pytest.raises(trust.VerificationError) as e:
        trust.webhook.verify(scheme, BODY, headers, "other-secret" if scheme != "standard-webhooks" else "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD", **kw)
    assert e.value.code == "SIGNATURE_INVALID"
    if scheme != "shopify-session-token":
        with pytest.raises(trust.VerificationError) as e:
            trust.webhook.verify(scheme, BODY[:-1], headers, secret, **kw)
        assert e.value.code == "SIGNATURE_INVALID"


@pytest.mark.parametrize("scheme", ["shopify-oauth", "shopify-app-proxy"])
def test_sign_query_then_verify(scheme):
    q = trust.webhook.sign_query(scheme, f"code=a&shop=s.myshopify.com&timestamp={T}", "hush")
    assert trust.webhook.verify(scheme, b"", {}, "hush", query=q, now=T).shop == "s.myshopify.com"


def test_rotation_signs_with_every_secret_where_the_scheme_does():
    h = trust.webhook.sign("stripe", BODY, ["whsec_new", "whsec_old"], now=T)
    assert h["Stripe-Signature"].count("v1=") == 2
    assert trust.webhook.verify("stripe", BODY, h, "whsec_old", now=T).secret_index == 0


def test_sign_errors():
    cases = [
        (lambda: trust.webhook.sign("gitlab", BODY, "k"), trust.UsageError, "INVALID_ARGUMENT"),
        (lambda: trust.webhook.sign("hubspot-v3", BODY, "k"), trust.UsageError, "WEBHOOK_CONFIG"),
        (lambda: trust.webhook.sign("shopify-session-token", b"", "k", api_key="a"), trust.UsageError, "WEBHOOK_CONFIG"),
        (lambda: trust.webhook.sign("standard-webhooks", BODY, "not-whsec"), trust.UsageError, "WEBHOOK_CONFIG"),
        (lambda: trust.webhook.sign("stripe", BODY, []), trust.UsageError, "WEBHOOK_CONFIG"),
        (lambda: trust.webhook.sign("shopify-oauth", b"", "k"), trust.UsageError, "WEBHOOK_CONFIG"),
        (lambda: trust.webhook.sign_query("stripe", "a=1", "k"), trust.UsageError, "WEBHOOK_CONFIG"),
        (lambda: trust.webhook.sign_query("shopify-oauth", "a=1&hmac=00", "k"), trust.VerificationError, "MALFORMED"),
        (lambda: trust.webhook.sign("github", BODY, "k", id="two words"), trust.VerificationError, "MALFORMED"),
        (lambda: trust.webhook.sign("shopify-session-token", b"", "k", api_key="a", shop="evil.example.com"), trust.VerificationError, "MALFORMED"),
    ]
    for call, cls, code in cases:
        with pytest.raises(cls) as e:
            call()
        assert e.value.code == code, (code, e.value)


def test_signed_in_python_verifies_with_the_cli(cli):
    headers = trust.webhook.sign("hubspot-v3", BODY, "hush-current", now=T, url=URL)
    args = [str(cli), "--json", "webhook", "verify", "--provider", "hubspot-v3", "--secret-env", "TRUST_PY_SIGN", "--url", URL, "--now", str(T)]
    for name, value in headers.items():
        args += ["-H", f"{name}: {value}"]
    env = dict(os.environ, TRUST_PY_SIGN="hush-current")
    p = subprocess.run(args, input=BODY, capture_output=True, env=env, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    assert json.loads(p.stdout)["data"]["verdict"] == "valid"


def test_signed_by_the_cli_verifies_in_python(cli):
    env = dict(os.environ, TRUST_PY_SIGN=STD_SECRET)
    p = subprocess.run(
        [str(cli), "--json", "webhook", "sign", "--provider", "standard-webhooks", "--secret-env", "TRUST_PY_SIGN", "--now", str(T)],
        input=BODY, capture_output=True, env=env, timeout=120,
    )
    assert p.returncode == 0, p.stdout + p.stderr
    headers = [tuple(h) for h in json.loads(p.stdout)["data"]["headers"]]
    r = trust.webhook.verify("standard-webhooks", BODY, headers, STD_SECRET, now=T)
    assert r.delivery_id.startswith("msg_")
