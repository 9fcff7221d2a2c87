"""Session tokens, access control and rate limiting."""

import subprocess

import pytest

import trust

NOW = 1_700_000_000


@pytest.fixture
def tokens(home):
    home.create_keyring("tokens")
    return trust.SessionTokens(home)


def test_issue_verify(tokens):
    t = tokens.issue("tokens", "acme", ["chat:write", "orders:read"], ttl=900, audience="widget", now=NOW)
    assert t.startswith("tst1.tokens.1.")
    c = tokens.verify(t, tenant="acme", scope="chat:write", audience="widget", now=NOW + 10)
    assert (c.tenant, c.scopes, c.audience, c.expires_at) == ("acme", ["chat:write", "orders:read"], "widget", NOW + 900)
    assert c.has_scope("orders:read") and not c.has_scope("admin")
    assert tokens.verify(t, audience="widget", now=NOW).tenant == "acme"
    with pytest.raises(trust.VerificationError) as e:
        tokens.verify(t, now=NOW)  # a token for an audience needs a verifier that names it
    assert e.value.code == "TOKEN_WRONG_AUDIENCE"


@pytest.mark.parametrize(
    "kwargs, code",
    [
        (dict(tenant="globex", scope="chat:write", audience="widget"), "TOKEN_WRONG_TENANT"),
        (dict(tenant="acme", scope="billing:write", audience="widget"), "TOKEN_MISSING_SCOPE"),
        (dict(tenant="acme", scope="chat:write", audience="other"), "TOKEN_WRONG_AUDIENCE"),
        (dict(audience="widget", now=NOW + 900 + 31), "TOKEN_EXPIRED"),
    ],
)
def test_verify_refusals(tokens, kwargs, code):
    t = tokens.issue("tokens", "acme", ["chat:write"], ttl=900, audience="widget", now=NOW)
    kwargs.setdefault("now", NOW)
    with pytest.raises(trust.VerificationError) as e:
        tokens.verify(t, **kwargs)
    assert e.value.code == code


def test_tampered_and_bad_requests(tokens):
    t = tokens.issue("tokens", "acme", ["chat:write"], ttl=60, now=NOW)
    bad = t[:-2] + ("A" if t[-2] != "A" else "B") + t[-1]
    with pytest.raises(trust.VerificationError):
        tokens.verify(bad, now=NOW)
    with pytest.raises(trust.VerificationError):
        tokens.verify("tst1.garbage", now=NOW)
    with pytest.raises(trust.UsageError):
        tokens.verify(t, tenant="acme")
    with pytest.raises(trust.TrustError) as e:
        tokens.issue("tokens", "acme", [], ttl=60)
    assert e.value.code == "TOKEN_BAD_REQUEST"
    with pytest.raises(trust.KeyUnavailableError):
        tokens.issue("nope", "acme", ["a"], ttl=60)


def test_session_tokens_interop_with_cli(tokens, home, cli):
    t = tokens.issue("tokens", "acme", ["chat:write"], ttl=600)
    p = subprocess.run(
        [str(cli), "--home", home.path, "token", "verify", "--tenant", "acme", "--scope", "chat:write"],
        input=t.encode(), capture_output=True, timeout=120,
    )
    assert p.returncode == 0, p.stderr
    p = subprocess.run(
        [str(cli), "--home", home.path, "token", "issue", "--tenant", "globex", "--scope", "orders:read", "--ttl", "5m"],
        capture_output=True, timeout=120,
    )
    assert p.returncode == 0, p.stderr
    c = tokens.verify(p.stdout.decode().strip(), tenant="globex", scope="orders:read")
    assert c.tenant == "globex"


def test_access_control():
    acl = trust.AccessControl()
    acl.add_member("acme", "alice", ["agent"])
    acl.add_member("globex", "bob", ["owner"])
    acl.authorize("acme", "alice", "tickets.reply", "acme", "ticket", "42")
    assert acl.is_allowed("acme", "alice", "tickets.reply", "acme", "ticket", "42")
    for args, code in [
        (("acme", "alice", "billing.update", "acme", "invoice", "1"), "ACCESS_NO_PERMISSION"),
        (("globex", "bob", "tickets.reply", "acme", "ticket", "42"), "ACCESS_CROSS_TENANT"),
        (("acme", "mallory", "tickets.reply", "acme", "ticket", "42"), "ACCESS_NOT_A_MEMBER"),
        (("acme", "alice", "Tickets!", "acme", "ticket", "42"), "ACCESS_INVALID_ACTION"),
    ]:
        with pytest.raises(trust.RefusedError) as e:
            acl.authorize(*args)
        assert e.value.code == code
    acl.deny("acme", "alice", "tickets.reply")
    with pytest.raises(trust.RefusedError) as e:
        acl.authorize("acme", "alice", "tickets.reply", "acme", "ticket", "42")
    assert e.value.code == "ACCESS_DENIED_OVERRIDE"
    acl.allow("acme", "alice", "billing.*")
    assert acl.is_allowed("acme", "alice", "billing.update", "acme", "invoice", "1")
    acl.remove_member("acme", "alice")
    assert not acl.is_allowed("acme", "alice", "billing.update", "acme", "invoice", "1")


def test_access_control_roles_json_and_errors():
    acl = trust.AccessControl('{"support": ["tickets.*"]}')
    acl.add_member("acme", "carol", ["support"])
    assert acl.is_allowed("acme", "carol", "tickets.close", "acme", "ticket", "1")
    acl.revoke_role("acme", "carol", "support")
    assert not acl.is_allowed("acme", "carol", "tickets.close", "acme", "ticket", "1")
    with pytest.raises(trust.TrustError):
        trust.AccessControl('["not", "an", "object"]')
    with pytest.raises(trust.TrustError):
        acl.add_member("acme", "dave", ["no-such-role"])
    with pytest.raises(trust.TrustError):
        acl.allow("acme", "nobody", "tickets.*")


def test_rate_limiter():
    rl = trust.RateLimiter(10, period=1.0, burst=20, now=NOW)
    assert all(rl.check("acme", "POST /messages") == 0.0 for _ in range(20))
    assert rl.check("acme", "POST /messages") == pytest.approx(0.1)
    assert rl.check("globex", "POST /messages") == 0.0
    with pytest.raises(trust.TrustError):
        rl.check("globex", "POST /messages", 21)
    with pytest.raises(trust.TrustError):
        trust.RateLimiter(0)
    with pytest.raises(trust.UsageError):
        trust.RateLimiter(1, period=-1.0)
