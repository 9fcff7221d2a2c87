import threading

import pytest

import trust


CTX = {"tenant": "acme", "purpose": "oauth-refresh"}


def test_seal_open_roundtrip(home):
    blob = home.seal("orders", b"secret payload", context=CTX)
    assert isinstance(blob, bytes)
    assert b"secret payload" not in blob
    assert home.open(blob, context=CTX) == b"secret payload"


def test_token_roundtrip(home):
    token = home.seal_token("orders", b"shpat_123", context=CTX)
    # Small secrets are sealed with a cached data key (envelope format version 3).
    assert isinstance(token, str) and token.startswith("tle3.")
    assert home.open_token(token, context=CTX) == b"shpat_123"


def test_small_messages_use_cached_data_keys_and_large_ones_do_not(home):
    small = [home.seal("orders", b"x" * 64, context=CTX) for _ in range(3)]
    assert all(b[:4] == b"TLE\x03" for b in small)
    large = home.seal("orders", b"y" * 20000, context=CTX)
    assert large[:4] == b"TLE\x01"
    for blob, data in [(small[0], b"x" * 64), (large, b"y" * 20000)]:
        assert home.open(blob, context=CTX) == data
    with pytest.raises(trust.VerificationError):
        home.open(small[0][:-1] + bytes([small[0][-1] ^ 1]), context=CTX)


def test_empty_and_default_context(home):
    assert home.open(home.seal("orders", b"")) == b""
    assert home.open_token(home.seal_token("orders", b"x", context={})) == b"x"


def test_wrong_context_is_verification_error(home):
    blob = home.seal("orders", b"data", context=CTX)
    with pytest.raises(trust.VerificationError) as e:
        home.open(blob, context={"tenant": "other", "purpose": "oauth-refresh"})
    assert e.value.code == "CONTEXT_MISMATCH"
    assert e.value.category == "VERIFICATION_FAILED"
    assert isinstance(e.value, trust.TrustError)


def test_tampered_envelope_is_opaque_failure(home):
    blob = bytearray(home.seal("orders", b"data" * 10, context=CTX))
    blob[-1] ^= 1
    with pytest.raises(trust.VerificationError) as e:
        home.open(bytes(blob), context=CTX)
    assert e.value.code == "AUTHENTICATION_FAILED"
    assert "data" not in str(e.value)


def test_malformed_token(home):
    with pytest.raises(trust.TrustError) as e:
        home.open_token("tle1.!!!", context=CTX)
    assert e.value.code == "MALFORMED_TOKEN"


def test_unknown_keyring_is_key_unavailable(home):
    with pytest.raises(trust.KeyUnavailableError) as e:
        home.seal("nope", b"x")
    assert e.value.category == "KEY_UNAVAILABLE"


def test_bad_context_value_type_is_type_error(home):
    with pytest.raises(TypeError):
        home.seal("orders", b"x", context={"tenant": 1})


def test_bytes_only(home):
    with pytest.raises(TypeError):
        home.seal("orders", "text is not bytes")


def test_init_twice_refused(tmp_path, home):
    with pytest.raises(trust.TrustError) as e:
        trust.Home.init(home.path, root_key_file=tmp_path / "root.key")
    assert e.value.code == "HOME_EXISTS"


def test_init_needs_exactly_one_root(tmp_path):
    with pytest.raises(trust.UsageError) as e:
        trust.Home.init(tmp_path / "h")
    assert e.value.code == "INVALID_ARGUMENT"


def test_open_existing_home(tmp_path, home):
    blob = home.seal("orders", b"kept", context=CTX)
    again = trust.Home.open(home.path)
    assert again.open(blob, context=CTX) == b"kept"
    explicit = trust.Home.open(home.path, root_key_file=tmp_path / "root.key")
    assert explicit.keyrings() == ["orders"]


def test_open_with_wrong_key_file(tmp_path, home):
    other = tmp_path / "other.key"
    other.write_bytes(bytes(range(32)))
    with pytest.raises(trust.KeyUnavailableError) as e:
        trust.Home.open(home.path, root_key_file=other)
    assert e.value.code == "WRONG_ROOT_KEY"


def test_open_missing_home(tmp_path):
    with pytest.raises(trust.TrustError) as e:
        trust.Home.open(tmp_path / "absent")
    assert e.value.category in ("INPUT_UNREADABLE", "USAGE")


def test_passphrase_home(tmp_path):
    h = trust.Home.init(tmp_path / "p", passphrase="correct horse battery staple", m_kib=8192, t=1, p=1)
    h.create_keyring("k")
    token = h.seal_token("k", b"v")
    again = trust.Home.open(tmp_path / "p", passphrase=b"correct horse battery staple")
    assert again.open_token(token) == b"v"
    with pytest.raises(trust.KeyUnavailableError) as e:
        trust.Home.open(tmp_path / "p", passphrase="wrong passphrase here")
    assert e.value.code == "WRONG_PASSPHRASE"


def test_rotation_lifecycle_and_rewrap(home):
    old = home.seal("orders", b"v1 data", context=CTX)
    assert home.rotate("orders", promote=True) == 2
    info = home.keyring_info("orders")
    assert info["primary"] == 2
    # old data still opens; rewrap moves it to version 2 without re-encrypting the body
    assert home.open(old, context=CTX) == b"v1 data"
    new, changed = home.rewrap(old)
    assert changed
    assert home.open(new, context=CTX) == b"v1 data"
    same, changed = home.rewrap(new)
    assert not changed and same == new
    # retire version 1: what it sealed stops decrypting; enable brings it back
    version, before, after = home.retire("orders", 1)
    assert version == 1 and before != after
    with pytest.raises(trust.KeyUnavailableError):
        home.open(old, context=CTX)
    home.enable("orders", 1)
    assert home.open(old, context=CTX) == b"v1 data"


def test_staged_rotation_then_promote(home):
    assert home.rotate("orders") == 2
    assert home.keyring_info("orders")["primary"] == 1
    home.promote("orders", 2)
    assert home.keyring_info("orders")["primary"] == 2


def test_token_rewrap(home):
    token = home.seal_token("orders", b"t", context=CTX)
    home.rotate("orders", promote=True)
    new, changed = home.rewrap_token(token, context=CTX)
    assert changed and new != token
    assert home.open_token(new, context=CTX) == b"t"


def test_destroy_primary_refused(home):
    with pytest.raises(trust.TrustError) as e:
        home.destroy("orders", 1)
    assert e.value.category in ("REFUSED", "USAGE")


def test_create_keyring_errors(home):
    with pytest.raises(trust.TrustError) as e:
        home.create_keyring("orders")
    assert e.value.code == "KEYRING_EXISTS"
    with pytest.raises(trust.TrustError) as e:
        home.create_keyring("Bad Name")
    assert e.value.code == "INVALID_KEYRING_NAME"
    with pytest.raises(trust.TrustError):
        home.create_keyring("x", suite="rot13")
    home.create_keyring("xc", suite="xchacha20-poly1305")
    assert home.open(home.seal("xc", b"y")) == b"y"
    assert home.keyrings() == ["orders", "xc"]


def test_threads_share_one_home(home):
    errors = []

    def work(i: int) -> None:
        try:
            for j in range(50):
                msg = f"{i}-{j}".encode()
                assert home.open(home.seal("orders", msg, context=CTX), context=CTX) == msg
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_repr_hides_nothing_secret(home):
    assert "Home" in repr(home)
