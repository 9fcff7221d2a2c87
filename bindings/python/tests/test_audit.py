import pytest

import trust
import trust.audit


def test_log_append_checkpoint_prove_verify(tmp_path):
    log = trust.audit.Log.init(tmp_path / "audit", origin="example.com/audit")
    assert log.vkey.startswith("example.com/audit+")
    assert log.append("key.rotate", actor="ops@example.com", subject="orders") == 0
    assert log.append("gdpr.erase", actor="dpo", subject="customer-42", attrs={"request": "r-1"}, payload=b"{}") == 1
    assert log.size == 2
    size, note = log.checkpoint()
    assert size == 2 and note.startswith("example.com/audit\n")
    report = trust.audit.verify(tmp_path / "audit", log.vkey)
    assert report["entries"] == 2
    receipt = log.prove(1)
    proof = trust.audit.verify_proof(receipt, log.vkey)
    assert proof.index == 1 and proof.event == "gdpr.erase" and proof.checkpoint_size == 2
    # the clear actor and subject are never stored
    data = b"".join(p.read_bytes() for p in (tmp_path / "audit").rglob("*") if p.is_file())
    assert b"customer-42" not in data and b"ops@example.com" not in data


def test_reopen_and_append(tmp_path):
    trust.audit.Log.init(tmp_path / "a", origin="o.example/log")
    log = trust.audit.Log.open(tmp_path / "a")
    assert log.append("x.y") == 0


def test_verify_detects_tampering(tmp_path):
    log = trust.audit.Log.init(tmp_path / "a", origin="o.example/log")
    for i in range(3):
        log.append("event.n", attrs={"i": str(i)})
    log.checkpoint()
    vkey = log.vkey
    del log
    segments = sorted(p for p in (tmp_path / "a").rglob("*") if p.is_file() and p.stat().st_size > 100 and "seg" in p.name)
    assert segments, list((tmp_path / "a").rglob("*"))
    data = bytearray(segments[0].read_bytes())
    i = data.find(b"event.n")
    data[i] = ord("E")
    segments[0].write_bytes(bytes(data))
    with pytest.raises(trust.VerificationError) as e:
        trust.audit.verify(tmp_path / "a", vkey)
    assert e.value.code


def test_wrong_vkey(tmp_path):
    a = trust.audit.Log.init(tmp_path / "a", origin="o.example/log")
    b = trust.audit.Log.init(tmp_path / "b", origin="o.example/log")
    a.append("x")
    a.checkpoint()
    with pytest.raises(trust.TrustError):
        trust.audit.verify(tmp_path / "a", b.vkey)
    with pytest.raises(trust.TrustError):
        trust.audit.verify(tmp_path / "a", "not a vkey")


def test_bad_event_name(tmp_path):
    log = trust.audit.Log.init(tmp_path / "a", origin="o.example/log")
    with pytest.raises(trust.TrustError):
        log.append("")
    with pytest.raises(trust.TrustError):
        trust.audit.Log.init(tmp_path / "a", origin="o.example/log")
