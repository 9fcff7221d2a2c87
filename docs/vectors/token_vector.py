#!/usr/bin/env python3
"""Recomputes the tst1 test vector of docs/format-token.md with the Python standard library only."""
import base64, hashlib, hmac, struct

def b64u(b): return base64.urlsafe_b64encode(b).rstrip(b"=").decode()

def hkdf_sha256(ikm, info, length=32, salt=b""):
    prk = hmac.new(salt or b"\0" * 32, ikm, hashlib.sha256).digest()
    out, t, i = b"", b"", 1
    while len(out) < length:
        t = hmac.new(prk, t + info + bytes([i]), hashlib.sha256).digest()
        out += t; i += 1
    return out[:length]

kek = bytes([0x41]) * 32            # keyring "tokens", version 1
keyring, version = b"tokens", 1
t0 = 1_700_000_000
body = struct.pack(">qqq", t0, t0, t0 + 900) + bytes(range(16))
for field in (b"acme", b"widget"):
    body += bytes([len(field)]) + field
scopes = [b"chat:write"]
body += bytes([len(scopes)]) + b"".join(bytes([len(s)]) + s for s in scopes)

signed = f"tst1.{keyring.decode()}.{version}.{b64u(body)}"
mac_key = hkdf_sha256(kek, b"trust token v1 mac\0" + keyring + b"\0" + struct.pack(">I", version))
tag = hmac.new(mac_key, signed.encode(), hashlib.sha256).digest()
print(f"{signed}.{b64u(tag)}")
