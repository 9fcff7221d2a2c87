"""The credential vault and TOTP second factors."""

import base64
import hashlib
import hmac
import os
import struct
import subprocess
import urllib.parse

import pytest

import trust

NOW = 1_700_000_000


@pytest.fixture
def vault(home):
    return trust.Vault(home)


def test_put_get_versions_and_list(vault):
    v1 = vault.put("sync-worker", "acme/shopify", b"shpat_0123456789abcdef", scopes=["read_orders"])
    v2 = vault.rotate("sync-worker", "acme/shopify", "shpat_fedcba9876543210")
    assert (v1, v2) == (1, 2)
    s = vault.get("sync-worker", "acme/shopify", purpose="nightly order sync")
    assert (s.value, s.version, s.kind, s.scopes) == (b"shpat_fedcba9876543210", 2, "api-key", ["read_orders"])
    assert "shpat" not in repr(s)
    assert vault.get("sync-worker", "acme/shopify", purpose="audit", version=1).value == b"shpat_0123456789abcdef"
    [info] = vault.list("acme")
    assert info["name"] == "acme/shopify" and info["readers"] == ["sync-worker"]
    assert [v["version"] for v in info["versions"]] == [1, 2]
    assert "shpat" not in repr(vault.list())
    assert vault.list("globex") == []
    # Values read are registered with the vault's redactor.
    assert "shpat_fedcba9876543210" not in vault.redact("token=shpat_fedcba9876543210 sent")


def test_readers_deleted_absent(vault):
    vault.put("sync-worker", "acme/hubspot", b"pat-na1-0123456789", readers=["sync-worker", "ops"])
    assert vault.get("ops", "acme/hubspot", purpose="debug").value == b"pat-na1-0123456789"
    with pytest.raises(trust.RefusedError) as e:
        vault.get("intruder", "acme/hubspot", purpose="curious")
    assert e.value.code == "SECRET_NOT_READER"
    with pytest.raises(trust.RefusedError):
        vault.rotate("intruder", "acme/hubspot", b"overwritten-by-intruder")
    with pytest.raises(trust.KeyUnavailableError) as e:
        vault.get("ops", "acme/absent", purpose="x")
    assert e.value.code == "SECRET_NOT_FOUND"
    vault.delete("ops", "acme/hubspot")
    with pytest.raises(trust.KeyUnavailableError) as e:
        vault.get("ops", "acme/hubspot", purpose="x")
    assert e.value.code == "SECRET_DELETED"
    with pytest.raises(trust.TrustError) as e:
        vault.put("a", "no-slash", b"value-123456")
    assert e.value.code == "SECRET_INVALID_NAME"
    with pytest.raises(trust.UsageError):
        vault.put("a", "acme/x", b"value-123456", kind="jwt")


def test_refresh_compare_and_swap(vault):
    vault.put("w", "acme/stripe", b"access-token-1", kind="oauth", expires=NOW + 60, refresh_token=b"refresh-1")
    assert vault.needs_refresh("acme/stripe", 300, now=NOW)
    assert not vault.needs_refresh("acme/stripe", 30, now=NOW)
    calls = []

    def refresher(current):
        calls.append(current.refresh_token)
        return (b"access-token-2", None, NOW + 100_000_000)

    s, outcome = vault.refresh("w", "acme/stripe", purpose="refresh", margin=10**9, refresher=refresher)
    assert (outcome, s.value, s.version, s.refresh_token) == ("refreshed", b"access-token-2", 2, b"refresh-1")
    assert calls == [b"refresh-1"]
    s, outcome = vault.refresh("w", "acme/stripe", purpose="refresh", margin=0, refresher=refresher)
    assert (outcome, s.version) == ("still-fresh", 2)

    # Another worker commits while this one talks to the provider: this one takes the winner's.
    def racing(current):
        vault.rotate("w", "acme/stripe", b"winner-token", expires=NOW + 200_000_000)
        return (b"loser-token", b"refresh-x", NOW + 100_000_000)

    s, outcome = vault.refresh("w", "acme/stripe", purpose="refresh", margin=10**10, refresher=racing)
    assert (outcome, s.value) == ("took-winners", b"winner-token")

    def failing(current):
        raise RuntimeError("provider down")

    with pytest.raises(RuntimeError):
        vault.refresh("w", "acme/stripe", purpose="refresh", margin=10**10, refresher=failing)
    assert vault.info("acme/stripe")["versions"][-1]["version"] == 3


def test_vault_reads_are_audited(home, tmp_path):
    log = trust.audit.Log.init(tmp_path / "audit", origin="example.com/audit")
    vault = trust.Vault(home, audit=log)
    vault.put("w", "acme/shopify", b"shpat_0123456789abcdef")
    before = log.size
    vault.get("w", "acme/shopify", purpose="sync")
    with pytest.raises(trust.RefusedError):
        vault.get("eve", "acme/shopify", purpose="sync")
    assert log.size == before + 2


def test_vault_value_put_from_python_reads_with_cli(vault, home, cli):
    vault.put("sync-worker", "acme/shopify", b"shpat_from_python_1234")
    env = dict(os.environ, TRUST_ACTOR="sync-worker")
    p = subprocess.run(
        [str(cli), "--home", home.path, "secrets", "get", "acme/shopify", "--purpose", "interop"],
        capture_output=True, timeout=120, env=env,
    )
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == b"shpat_from_python_1234"
    env["TRUST_ACTOR"] = "someone-else"
    p = subprocess.run(
        [str(cli), "--home", home.path, "secrets", "get", "acme/shopify", "--purpose", "interop"],
        capture_output=True, timeout=120, env=env,
    )
    assert p.returncode == 5


def totp(secret_b32, t, digits=6, period=30, algo=hashlib.sha1):
    key = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8))
    mac = hmac.new(key, struct.pack(">Q", t // period), algo).digest()
    off = mac[-1] & 0x0F
    code = (struct.unpack(">I", mac[off:off + 4])[0] & 0x7FFFFFFF) % 10**digits
    return str(code).zfill(digits)


def secret_of(uri):
    return urllib.parse.parse_qs(urllib.parse.urlparse(uri).query)["secret"][0]


def test_mfa_enroll_verify_replay(home):
    mfa = trust.Mfa(home, issuer="Acme Sync")
    uri = mfa.enroll("alice")
    assert uri.startswith("otpauth://totp/Acme%20Sync:alice?")
    secret = secret_of(uri)
    code = totp(secret, NOW)
    step = mfa.verify("alice", code, now=NOW)
    assert step == NOW // 30
    with pytest.raises(trust.VerificationError) as e:
        mfa.verify("alice", code, now=NOW)  # the same code twice
    assert e.value.code == "MFA_REJECTED"
    wrong = "000000" if code != "000000" else "111111"
    with pytest.raises(trust.VerificationError):
        mfa.verify("alice", wrong, now=NOW + 30)
    assert mfa.verify("alice", totp(secret, NOW + 60), now=NOW + 60) == (NOW + 60) // 30
    with pytest.raises(trust.TrustError) as e:
        mfa.enroll("alice")
    assert e.value.code == "MFA_ALREADY_ENROLLED"


def test_mfa_sha256_8_digits_and_recovery_codes(home):
    mfa = trust.Mfa(home)
    uri = mfa.enroll("bob", digits=8, algorithm="sha256")
    assert "digits=8" in uri and "algorithm=SHA256" in uri
    assert mfa.verify("bob", totp(secret_of(uri), NOW, 8, algo=hashlib.sha256), now=NOW) == NOW // 30
    codes = mfa.recovery_codes("bob")
    assert len(codes) == mfa.remaining_recovery_codes("bob") >= 8
    mfa.redeem_recovery_code("bob", codes[0])
    with pytest.raises(trust.VerificationError):
        mfa.redeem_recovery_code("bob", codes[0])
    assert mfa.remaining_recovery_codes("bob") == len(codes) - 1
    assert mfa.remove("bob") is True
    assert mfa.remove("bob") is False
    assert not mfa.is_enrolled("bob")
    with pytest.raises(trust.TrustError) as e:
        mfa.verify("bob", "123456", now=NOW)
    assert e.value.code in ("MFA_NOT_ENROLLED", "MFA_REJECTED")
    with pytest.raises(trust.UsageError):
        mfa.enroll("carol", algorithm="md5")
    with pytest.raises(trust.TrustError) as e:
        mfa.enroll("carol", digits=7)
    assert e.value.code == "MFA_INVALID_PARAMS"


def test_mfa_factor_enrolled_from_python_verifies_with_cli(home, cli):
    mfa = trust.Mfa(home)
    secret = secret_of(mfa.enroll("ops"))
    code = totp(secret, NOW)
    p = subprocess.run(
        [str(cli), "--home", home.path, "mfa", "verify", "ops", "--code-file", "-", "--now", str(NOW)],
        input=code.encode(), capture_output=True, timeout=120,
    )
    assert p.returncode == 0, p.stderr
    # The CLI burned that step: Python sees the replay.
    with pytest.raises(trust.VerificationError):
        mfa.verify("ops", code, now=NOW)


def test_vault_and_mfa_need_a_directory_home_or_a_home():
    with pytest.raises(TypeError):
        trust.Vault(object())
