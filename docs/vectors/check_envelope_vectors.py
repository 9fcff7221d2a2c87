#!/usr/bin/env python3
"""Independent check of docs/vectors/envelope-v1.json, envelope-v2.json and envelope-v3.json
against docs/format-envelope.md.

A second implementation of the TLE1, TLE2 (cached data key) and TLE3 (cached data key,
XAES-256-GCM) seals, written from the format document (not from the Rust code) with the
`cryptography` package: it rebuilds every vector's envelope from its inputs and compares the
bytes (and the text token). XChaCha20 is HChaCha20 (draft-irtf-cfrg-xchacha §2.2, implemented
below) followed by ChaCha20-Poly1305; XAES-256-GCM (c2sp.org/XAES-256-GCM) is its CMAC-based
key derivation on AES-256-ECB, implemented below and checked against the spec's two vectors,
followed by AES-256-GCM.

    python3 docs/vectors/check_envelope_vectors.py
"""
import base64
import hashlib
import hmac
import json
import struct
import sys
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

CHUNK = 16384
SUITES = {"aes-256-gcm": (1, b"AEAD_AES_256_GCM", 12), "xchacha20-poly1305": (2, b"AEAD_XCHACHA20_POLY1305", 24)}


def hkdf_expand(prk, info, length):
    return HKDFExpand(hashes.SHA256(), length, info).derive(prk)


def u16(n):
    return struct.pack(">H", n)


def encode_context(pairs):
    out = u16(len(pairs))
    for k, v in sorted(pairs, key=lambda kv: kv[0].encode()):
        out += u16(len(k.encode())) + k.encode() + u16(len(v.encode())) + v.encode()
    return out


def rotl(v, c):
    return ((v << c) & 0xFFFFFFFF) | (v >> (32 - c))


def hchacha20(key, nonce16):
    s = [0x61707865, 0x3320646E, 0x79622D32, 0x6B206574]
    s += list(struct.unpack("<8L", key)) + list(struct.unpack("<4L", nonce16))

    def qr(a, b, c, d):
        s[a] = (s[a] + s[b]) & 0xFFFFFFFF; s[d] = rotl(s[d] ^ s[a], 16)
        s[c] = (s[c] + s[d]) & 0xFFFFFFFF; s[b] = rotl(s[b] ^ s[c], 12)
        s[a] = (s[a] + s[b]) & 0xFFFFFFFF; s[d] = rotl(s[d] ^ s[a], 8)
        s[c] = (s[c] + s[d]) & 0xFFFFFFFF; s[b] = rotl(s[b] ^ s[c], 7)

    for _ in range(10):
        qr(0, 4, 8, 12); qr(1, 5, 9, 13); qr(2, 6, 10, 14); qr(3, 7, 11, 15)
        qr(0, 5, 10, 15); qr(1, 6, 11, 12); qr(2, 7, 8, 13); qr(3, 4, 9, 14)
    return struct.pack("<8L", *(s[0:4] + s[12:16]))


def xaes_key(key, nonce12):
    """K_x of c2sp.org/XAES-256-GCM for the first 12 bytes of the 24-byte nonce."""
    enc = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    l_int = int.from_bytes(enc.update(bytes(16)), "big")
    k1 = ((l_int << 1) & ((1 << 128) - 1)) ^ (0x87 if l_int >> 127 else 0)
    m1 = int.from_bytes(b"\x00\x01X\x00" + nonce12, "big") ^ k1
    m2 = int.from_bytes(b"\x00\x02X\x00" + nonce12, "big") ^ k1
    return enc.update(m1.to_bytes(16, "big") + m2.to_bytes(16, "big"))


def xaes_seal(key, nonce24, plaintext, aad):
    return AESGCM(xaes_key(key, nonce24[:12])).encrypt(nonce24[12:], plaintext, aad)


# The spec's own vectors first: the derivation above must reproduce them.
assert xaes_seal(b"\x01" * 32, b"ABCDEFGHIJKLMNOPQRSTUVWX", b"XAES-256-GCM", b"").hex() == (
    "ce546ef63c9cc60765923609b33a9a1974e96e52daf2fcf7075e2271")
assert xaes_seal(b"\x03" * 32, b"ABCDEFGHIJKLMNOPQRSTUVWX", b"XAES-256-GCM",
                 b"c2sp.org/XAES-256-GCM").hex() == "986ec1832593df5443a179437fd083bf3fdb41abd740a21f71eb769d"


def aead(suite, key, nonce):
    if suite == "aes-256-gcm":
        return AESGCM(key), nonce
    return ChaCha20Poly1305(hchacha20(key, nonce[:16])), b"\0\0\0\0" + nonce[16:]


def seal(v, plaintext, version=1):
    suite_id, aead_name, nonce_len = SUITES[v["suite"]]
    ctx = encode_context(v["context"])
    flags = 1 if v["detached"] else 0
    immutable = b"TLE" + bytes([version]) + u16(suite_id) + bytes([flags])
    immutable += u16(0) if v["detached"] else u16(len(ctx)) + ctx
    binding = immutable + (ctx if v["detached"] else b"")
    kek, dek = bytes.fromhex(v["kek"]), bytes.fromhex(v["dek"])
    salt, wrap_nonce = bytes.fromhex(v["salt"]), bytes.fromhex(v["wrap_nonce"])
    subject = (v["subject"] or "").encode()
    entry = b"\x01" + bytes([len(v["keyring"])]) + v["keyring"].encode()
    entry += struct.pack(">L", v["version"]) + bytes([len(subject)]) + subject
    if version == 1:
        aad = b"trust.envelope.v1.wrap" + struct.pack(">L", len(binding)) + binding + salt + entry
    else:
        # Versions 2 and 3: the wrap names the suite and the key reference, not the message.
        aad = f"trust.envelope.v{version}.wrap".encode() + u16(suite_id) + entry
    wrap_key = hkdf_expand(kek, b"trust.envelope.v1.wrap-key" + wrap_nonce, 32)
    wrapped = wrap_nonce + AESGCM(wrap_key).encrypt(b"\0" * 12, dek, aad)
    if version == 1:
        okm = hkdf_expand(dek, b"c2sp.org/chunked-encryption@v1+" + aead_name + b"\0" + salt + binding, 32 + nonce_len + 32)
        key, base_nonce, commitment = okm[:32], okm[32:32 + nonce_len], okm[32 + nonce_len:]
    elif version == 3:
        # One XAES-256-GCM chunk; the binding is its associated data.
        assert suite_id == 1 and len(plaintext) < CHUNK
        commitment = hmac.new(dek, b"trust.envelope.v3.commitment", hashlib.sha256).digest()
        xkey = hmac.new(dek, b"trust.envelope.v3.xaes-key", hashlib.sha256).digest()
        out = immutable + b"\x01" + entry + u16(len(wrapped)) + wrapped + salt + commitment
        return out + xaes_seal(xkey, salt, plaintext, binding)
    else:
        commitment = hmac.new(dek, b"trust.envelope.v2.commitment", hashlib.sha256).digest()
        key = hmac.new(dek, b"trust.envelope.v2.key" + salt + binding, hashlib.sha256).digest()
        base_nonce = bytes(nonce_len)
    out = immutable + b"\x01" + entry + u16(len(wrapped)) + wrapped + salt + commitment
    i = 0
    while True:
        chunk = plaintext[i * CHUNK:(i + 1) * CHUNK]
        nonce = (int.from_bytes(base_nonce, "big") ^ i).to_bytes(nonce_len, "big")
        cipher, n = aead(v["suite"], key, nonce)
        out += cipher.encrypt(n, chunk, b"")
        i += 1
        if len(chunk) < CHUNK:
            return out


def main():
    for version in (1, 2, 3):
        check(version)
    return 0


def generate(version):
    """Prints a vector file's JSON with the outputs computed here (used once, to write
    envelope-v3.json from its inputs; the check above then compares every later build)."""
    doc = json.loads(sys.stdin.read())
    for v in doc["vectors"]:
        if "plaintext_pattern" in v:
            plaintext = bytes(i % 251 for i in range(v["plaintext_pattern"]))
        else:
            plaintext = bytes.fromhex(v["plaintext"])
        env = seal(v, plaintext, version)
        if "plaintext_pattern" in v:
            v["envelope_sha256"] = hashlib.sha256(env).hexdigest()
        else:
            v["envelope"] = env.hex()
        if v["detached"]:
            v["token"] = f"tle{version}." + base64.urlsafe_b64encode(env).decode().rstrip("=")
    print(json.dumps(doc, indent=2))


def check(version):
    doc = json.loads((Path(__file__).parent / f"envelope-v{version}.json").read_text())
    for v in doc["vectors"]:
        if "plaintext_pattern" in v:
            plaintext = bytes(i % 251 for i in range(v["plaintext_pattern"]))
        else:
            plaintext = bytes.fromhex(v["plaintext"])
        env = seal(v, plaintext, version)
        if "envelope" in v:
            assert env.hex() == v["envelope"], v["name"]
        else:
            assert hashlib.sha256(env).hexdigest() == v["envelope_sha256"], v["name"]
        if "token" in v:
            token = f"tle{version}." + base64.urlsafe_b64encode(env).decode().rstrip("=")
            assert token == v["token"], v["name"]
        print(f"ok: v{version}", v["name"])


if __name__ == "__main__":
    if sys.argv[1:2] == ["--generate"]:
        generate(int(sys.argv[2]))
        sys.exit(0)
    sys.exit(main())
