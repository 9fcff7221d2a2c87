"""Streaming file encryption and per-subject keys (erase, export)."""

import json
import os
import subprocess

import pytest

import trust


def test_encrypt_file_round_trip_and_cli_reads_it(home, tmp_path, cli):
    src = tmp_path / "orders.csv"
    data = os.urandom(100_000) + b"order,total\n"
    src.write_bytes(data)
    enc = tmp_path / "orders.csv.tle"
    out = tmp_path / "orders.out"
    assert home.encrypt_file("orders", src, enc, context={"tenant": "acme"}) == len(data)
    assert home.decrypt_file(enc, out, context={"tenant": "acme"}) == len(data)
    assert out.read_bytes() == data
    p = subprocess.run(
        [str(cli), "--home", home.path, "decrypt", "-i", str(enc), "--context", "tenant=acme"],
        capture_output=True, timeout=120,
    )
    assert p.returncode == 0, p.stderr
    assert p.stdout == data


def test_decrypt_file_tampered_leaves_no_output(home, tmp_path):
    src = tmp_path / "in"
    src.write_bytes(b"x" * 40_000)
    enc = tmp_path / "enc"
    home.encrypt_file("orders", src, enc)
    raw = bytearray(enc.read_bytes())
    raw[-100] ^= 1
    enc.write_bytes(bytes(raw))
    out = tmp_path / "out"
    with pytest.raises(trust.VerificationError) as e:
        home.decrypt_file(enc, out)
    assert e.value.code == "AUTHENTICATION_FAILED"
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_decrypt_file_wrong_context_and_missing_input(home, tmp_path):
    src = tmp_path / "in"
    src.write_bytes(b"hello")
    enc = tmp_path / "enc"
    home.encrypt_file("orders", src, enc, context={"tenant": "acme"})
    with pytest.raises(trust.VerificationError):
        home.decrypt_file(enc, tmp_path / "out", context={"tenant": "globex"})
    with pytest.raises(trust.InputError) as e:
        home.encrypt_file("orders", tmp_path / "absent", tmp_path / "x")
    assert e.value.code == "IO_ERROR"
    with pytest.raises(trust.KeyUnavailableError):
        home.encrypt_file("no-such-keyring", src, tmp_path / "y")
    assert not (tmp_path / "y").exists()


def test_subject_seal_open_erase(home, tmp_path):
    log = trust.audit.Log.init(tmp_path / "audit", origin="example.com/audit")
    subjects = trust.Subjects(home, audit=log)
    blob = subjects.seal("orders", "customer-42", b"jane@example.com", context={"t": "acme"})
    assert subjects.open(blob, context={"t": "acme"}) == b"jane@example.com"
    other = subjects.seal("orders", "customer-43", b"joe@example.com")
    receipt = subjects.erase("orders", "customer-42", request="req-1", actor="dpo")
    assert receipt["receipt"]["request"] == "req-1"
    assert receipt["receipt"]["subject"] == subjects.tag("orders", "customer-42")
    assert receipt["receipt"]["signer"] == subjects.signer_public_key.hex()
    with pytest.raises(trust.KeyUnavailableError) as e:
        subjects.open(blob, context={"t": "acme"})
    assert e.value.code == "SUBJECT_ERASED"
    with pytest.raises(trust.KeyUnavailableError):
        subjects.erase("orders", "customer-42")
    assert subjects.open(other) == b"joe@example.com"
    assert log.size >= 1
    assert len(subjects.signer_public_key) == 32


def test_subject_export_verifies_with_cli(home, tmp_path, cli):
    subjects = trust.Subjects(home)
    out = tmp_path / "jane.export.jsonl"
    manifest = subjects.export(
        "orders",
        "customer-42",
        [("orders", json.dumps({"id": 1042, "total": "99.00"})), ("profile", '{"email":"jane@example.com"}')],
        out,
        request="req-7",
    )
    assert manifest["subject"] == subjects.tag("orders", "customer-42")
    assert sorted(p["category"] for p in manifest["parts"]) == ["orders", "profile"]
    assert (out.stat().st_mode & 0o077) == 0
    p = subprocess.run(
        [str(cli), "--home", home.path, "gdpr", "verify-export", str(out),
         "--public-key", subjects.signer_public_key.hex()],
        capture_output=True, timeout=120,
    )
    assert p.returncode == 0, p.stderr
    with pytest.raises(trust.UsageError):
        subjects.export("orders", "customer-42", [("orders", "{not json")], tmp_path / "bad")
    assert not (tmp_path / "bad").exists()


def test_subjects_needs_a_home():
    with pytest.raises(TypeError):
        trust.Subjects("not a home")
