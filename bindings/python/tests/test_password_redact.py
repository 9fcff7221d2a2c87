import logging
import threading

import pytest

import trust
import trust.password


def test_hash_and_verify():
    phc = trust.password.hash("correct horse battery")
    assert phc.startswith("$argon2id$")
    assert trust.password.verify(phc, "correct horse battery") is True
    assert trust.password.verify(phc, "wrong horse battery") is False
    assert trust.password.needs_rehash(phc) is False


def test_short_password_refused():
    with pytest.raises(trust.TrustError) as e:
        trust.password.hash("short")
    assert e.value.code


def test_malformed_hash():
    with pytest.raises(trust.TrustError):
        trust.password.verify("$argon2id$garbage", "whatever password")


def test_bcrypt_upgrade():
    # bcrypt's own test vector (OpenBSD, "U*U" with cost 5), as used by the `bcrypt` crate.
    stored = "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"
    assert trust.password.needs_rehash(stored)
    ok, new = trust.password.verify_and_upgrade(stored, "U*U")
    assert ok and new is not None and new.startswith("$argon2id$")
    assert trust.password.verify(new, "U*U")
    ok, new = trust.password.verify_and_upgrade(stored, "wrong")
    assert not ok and new is None


def test_unknown_user_costs_and_fails():
    assert trust.password.verify_unknown_user("any password at all") is False


def test_threads_hash_concurrently():
    out = []
    threads = [threading.Thread(target=lambda: out.append(trust.password.hash("parallel password"))) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(out) == 2 and out[0] != out[1]


def test_redact_known_formats():
    text = "token shpat_0123456789abcdef0123456789abcdef for shop"
    cleaned = trust.redact(text)
    assert "shpat_0123456789abcdef0123456789abcdef" not in cleaned
    assert cleaned.startswith("token ")
    assert trust.redact("nothing to see") == "nothing to see"


def test_redactor_literals():
    r = trust.Redactor(["my-own-secret-value"])
    assert "my-own-secret-value" not in r.redact("x my-own-secret-value y")
    with pytest.raises(trust.TrustError):
        trust.Redactor(["short"])


def test_logging_filter(caplog):
    logger = logging.getLogger("trust-test")
    handler_filter = trust.RedactingFilter()
    logger.addFilter(handler_filter)
    try:
        with caplog.at_level(logging.INFO, logger="trust-test"):
            logger.info("calling with %s", "sk_live_0123456789abcdefghijklmnop")
        assert "sk_live_0123456789abcdefghijklmnop" not in caplog.text
        assert "calling with" in caplog.text
    finally:
        logger.removeFilter(handler_filter)
