#!/usr/bin/env python3
"""Independent verifier of a trust checkpoint note (C2SP signed-note + tlog-checkpoint).

Written from the C2SP specs, not from our Rust code; uses Python's `cryptography` for Ed25519.
Usage: verify_checkpoint.py VKEY NOTE_FILE   -> prints "ok <origin> <size> <root>" or exits 1.
"""
import base64, hashlib, sys
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

def main(vkey, path):
    name, keyid_hex, key_b64 = vkey.strip().split("+", 2)   # base64 may contain '+'
    key = base64.b64decode(key_b64, validate=True)
    assert key[0] == 1 and len(key) == 33, "not an Ed25519 vkey"
    keyid = hashlib.sha256(name.encode() + b"\n" + key).digest()[:4]
    assert keyid.hex() == keyid_hex, "vkey key ID mismatch"
    note = open(path, "rb").read().decode()
    split = note.rindex("\n\n")
    text, sigs = note[: split + 1], note[split + 2 :]
    ok = False
    for line in sigs.rstrip("\n").split("\n"):
        assert line.startswith("\u2014 "), "bad signature line"
        sname, b64 = line[2:].split(" ", 1)
        raw = base64.b64decode(b64, validate=True)
        if sname != name or raw[:4] != keyid:
            continue  # unknown signer: ignored
        Ed25519PublicKey.from_public_bytes(key[1:]).verify(raw[4:], text.encode())  # raises
        ok = True
    assert ok, "no signature from the known key"
    origin, size, root = text.rstrip("\n").split("\n")[:3]
    assert origin == name and str(int(size)) == size and len(base64.b64decode(root)) == 32
    print("ok", origin, size, root)

if __name__ == "__main__":
    try:
        main(sys.argv[1], sys.argv[2])
    except Exception as e:  # noqa: BLE001 - any failure is a rejection
        print("rejected:", e)
        sys.exit(1)
