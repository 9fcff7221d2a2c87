"""A home in PostgreSQL, named by URL: the package hands the string to trust-backends."""

import os
import secrets
import shutil
import subprocess

import pytest

import trust


def test_unsupported_scheme_is_refused_not_a_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(trust.UsageError):
        trust.Home.init("mysql://db/trust", root_key_file=tmp_path / "root.key")
    with pytest.raises(trust.UsageError):
        trust.Home.open("redis://127.0.0.1:6379/")
    assert list(tmp_path.iterdir()) in ([], [tmp_path / "root.key"])
    assert not (tmp_path / "mysql:").exists()


@pytest.fixture
def pg_url():
    base = os.environ.get("TRUST_TEST_POSTGRES_URL")
    psql = shutil.which("psql")
    if not base or not psql:
        if os.environ.get("CI") == "true":
            pytest.fail("TRUST_TEST_POSTGRES_URL and psql are required under CI=true")
        pytest.skip("TRUST_TEST_POSTGRES_URL unset or psql missing: PostgreSQL home test skipped")
    schema = "pytest_" + secrets.token_hex(6)
    subprocess.run([psql, base, "-q", "-c", f"CREATE SCHEMA {schema}"], check=True, timeout=60)
    sep = "&" if "?" in base else "?"
    yield f"{base}{sep}options=-csearch_path%3D{schema}"
    subprocess.run([psql, base, "-q", "-c", f"DROP SCHEMA {schema} CASCADE"], check=False, timeout=60)


def test_home_in_postgres(pg_url, tmp_path):
    home = trust.Home.init(pg_url, root_key_file=tmp_path / "root.key")
    assert home.path is None
    home.create_keyring("orders")
    blob = home.seal("orders", b"in the database", context={"tenant": "acme"})
    again = trust.Home.open(pg_url, root_key_file=tmp_path / "root.key")
    assert again.open(blob, context={"tenant": "acme"}) == b"in the database"
    subjects = trust.Subjects(again, signing_key_file=tmp_path / "signing.p8")
    sealed = subjects.seal("orders", "customer-1", b"pii")
    subjects.erase("orders", "customer-1")
    with pytest.raises(trust.KeyUnavailableError):
        trust.Subjects(home, signing_key_file=tmp_path / "signing.p8").open(sealed)
    with pytest.raises(trust.UsageError):
        trust.Subjects(home)  # a database home has no default signing key path
    with pytest.raises(trust.UsageError):
        trust.Vault(home)
    with pytest.raises(trust.TrustError):
        trust.Home.init(pg_url, root_key_file=tmp_path / "root.key")  # already there
