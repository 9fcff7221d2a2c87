#!/usr/bin/env python3
"""Independent reference for the trust audit leaf v1 (docs/format-audit.md §2).

Prints the encoding and leaf hash of the sample leaf used in the spec and in the Rust tests.
Written from the spec text only, so it checks the Rust encoder rather than copying it.
"""
import hashlib, struct

def leaf_v1(index, prev, time_ms, event_type, writer, pkv, actor, subject, payload, attrs):
    flags = (1 if actor else 0) | (2 if subject else 0) | (4 if payload else 0)
    out = bytes([1]) + struct.pack(">Q", index) + prev + struct.pack(">q", time_ms) + bytes([flags])
    out += bytes([len(event_type)]) + event_type + bytes([len(writer)]) + writer
    out += struct.pack(">I", pkv)
    if actor: out += actor
    if subject: out += subject
    if payload: out += payload[0] + struct.pack(">Q", payload[1])
    out += struct.pack(">H", len(attrs))
    for k, v in attrs:
        out += bytes([len(k)]) + k + struct.pack(">H", len(v)) + v
    return out

sample = leaf_v1(7, b"\x11" * 32, 1_700_000_000_123, b"key.rotate", b"keyring", 1,
                 b"\xaa" * 32, None, (b"\xcc" * 32, 42), [(b"key", b"orders"), (b"version", b"3")])
print("leaf", sample.hex())
print("leaf_hash", hashlib.sha256(b"\x00" + sample).hexdigest())
print("genesis(example.com/audit)", hashlib.sha256(b"trust-layer/audit/v1 genesis\nexample.com/audit").hexdigest())
print("payload_commit(salt=01*32, 'hello')", hashlib.sha256(b"trust-layer/audit/v1 payload\n" + b"\x01" * 32 + b"hello").hexdigest())
