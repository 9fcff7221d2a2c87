#!/usr/bin/env python3
"""Checks docs/vectors/keyring-v1.json and keyring-v2.json against docs/format-keyring.md,
independently of the Rust code: canonical JSON, SHA-256 digest, the auth AAD, XChaCha20-Poly1305 (HChaCha20 written
here from draft-irtf-cfrg-xchacha §2.2, ChaCha20-Poly1305 from the `cryptography` package),
and that every version key unwraps to 32 bytes under its own AAD only.

Usage: python3 docs/vectors/check_keyring_vector.py   (root key of the vector: 32 x 0x42)
"""
import base64
import hashlib
import json
import struct
import sys
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

ROOT = bytes([0x42]) * 32


def _rotl(v, n):
    return ((v << n) & 0xFFFFFFFF) | (v >> (32 - n))


def _quarter(s, a, b, c, d):
    s[a] = (s[a] + s[b]) & 0xFFFFFFFF; s[d] = _rotl(s[d] ^ s[a], 16)
    s[c] = (s[c] + s[d]) & 0xFFFFFFFF; s[b] = _rotl(s[b] ^ s[c], 12)
    s[a] = (s[a] + s[b]) & 0xFFFFFFFF; s[d] = _rotl(s[d] ^ s[a], 8)
    s[c] = (s[c] + s[d]) & 0xFFFFFFFF; s[b] = _rotl(s[b] ^ s[c], 7)


def hchacha20(key, nonce16):
    s = list(struct.unpack("<4I", b"expand 32-byte k")) + list(struct.unpack("<8I", key)) \
        + list(struct.unpack("<4I", nonce16))
    for _ in range(10):
        _quarter(s, 0, 4, 8, 12); _quarter(s, 1, 5, 9, 13)
        _quarter(s, 2, 6, 10, 14); _quarter(s, 3, 7, 11, 15)
        _quarter(s, 0, 5, 10, 15); _quarter(s, 1, 6, 11, 12)
        _quarter(s, 2, 7, 8, 13); _quarter(s, 3, 4, 9, 14)
    return struct.pack("<8I", *(s[0:4] + s[12:16]))


def xchacha_open(key, blob, aad):
    nonce, ct = blob[:24], blob[24:]
    sub = hchacha20(key, nonce[:16])
    return ChaCha20Poly1305(sub).decrypt(b"\0" * 4 + nonce[16:], ct, aad)


def main():
    # draft-irtf-cfrg-xchacha-03 §2.2.1 test vector for HChaCha20.
    k = bytes(range(32))
    n = bytes.fromhex("000000090000004a0000000031415927")
    assert hchacha20(k, n).hex() == (
        "82413b4227b27bfed30e42508a877d73a0f9e4d58a74a853c12ec41326d3ecdc"), "HChaCha20"

    for name, length, digest_hex, fmt in VECTORS:
        check(name, length, digest_hex, fmt)


# (file, len(canonical), SHA-256(canonical), format_version) as printed in docs/format-keyring.md.
VECTORS = [
    ("keyring-v1.json", 860,
     "f786279ac6420357fd121dcb810629152f887ba8ee01457e49399485ddbafa38", 1),
    ("keyring-v2.json", 924,
     "7ef8f68b635d9038e39d11b432f61f7817e647cb7b054118700cba633ac2a5b7", 2),
]

V2_FIELDS = ("min_decryption_version", "min_encryption_version")


def check(name, length, digest_hex, fmt):
    path = Path(__file__).with_name(name)
    doc = json.loads(path.read_text())
    assert doc["format_version"] == fmt, "format_version"
    kr = doc["keyring"]
    # Version-2 fields are present exactly in a version-2 file (and never with value 0).
    uses_v2 = any(f in kr for f in V2_FIELDS) or any("moved" in v for v in kr["versions"])
    assert uses_v2 == (fmt == 2), "version-2 fields vs format_version"
    assert all(kr.get(f, 1) != 0 for f in V2_FIELDS), "a zero version-2 field is written"
    canonical = json.dumps(kr, separators=(",", ":"), ensure_ascii=False).encode()
    digest = hashlib.sha256(canonical).digest()
    assert len(canonical) == length and digest.hex() == digest_hex, "digest"
    key_name = kr["name"].encode()
    aad = b"trust.keyring.auth.v1\0" + key_name + b"\0" + struct.pack(">Q", kr["revision"])
    assert xchacha_open(ROOT, base64.b64decode(doc["auth"]), aad) == digest, "auth"
    for v in kr["versions"]:
        blob = base64.b64decode(v["material"])
        own = b"trust.keyring.version.v1\0" + key_name + b"\0" + struct.pack(">I", v["version"])
        other = own[:-4] + struct.pack(">I", v["version"] + 1)
        assert len(xchacha_open(ROOT, blob, own)) == 32, "material"
        try:
            xchacha_open(ROOT, blob, other)
            sys.exit("material opened under another version's AAD")
        except InvalidTag:
            pass
    print("%s: canonical digest, auth and %d version keys verified" % (name, len(kr["versions"])))


if __name__ == "__main__":
    main()
