#!/usr/bin/env python3
"""Seal+open beside the peers, on the same sizes, in one run: Google Tink's AEAD and the AWS
Encryption SDK (committing suite) from Python, and trust's Rust library through a small native
program (benches/examples/seal_open_count.rs), each with its key already in memory.

What runs:
* tink        `tink.aead` AES256_GCM keyset: encrypt + decrypt with associated data.
* esdk        aws-encryption-sdk, raw AES-256 wrapping key (the legacy `RawMasterKeyProvider`,
              the raw AES keyring's equivalent without the optional MPL package), suite
              AES_256_GCM_HKDF_SHA512_COMMIT_KEY, commitment policy REQUIRE_ENCRYPT_REQUIRE_DECRYPT,
              an encryption context; a new data key per message.
* esdk-cache  the same through `CachingCryptoMaterialsManager` (max age 60 s, 4096 messages):
              ESDK's own data-key caching, the model of trust's DataKeyCache.
* trust v1 / trust cached   `envelope::seal`+`open` (a data key per message) and
              `DataKeyCache::seal`+`open` (format version 2), Rust, AES-256-GCM, run as
              `seal_open_count OP SIZE N`: per-operation time = (t(N) - t(0)) / N.
* ring        raw ring AES-256-GCM seal+open in place, fixed key and nonce (the floor).

Setup:
    python3 -m venv target/peers-venv
    target/peers-venv/bin/pip install tink aws-encryption-sdk
    cargo build --release -p trust-benches --example seal_open_count
Run:
    target/peers-venv/bin/python benches/peers/peers_seal_open.py [--repeat 5]

Python peers are timed with timeit (best of --repeat autoranged loops); the Rust figures
include no Python call overhead, so compare Rust with Rust and Python with Python, and read
the trust-from-Python figures from benches/peers/python_seal_open.py.
"""

import argparse
import os
import subprocess
import time
import timeit
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SIZES = (64, 1024, 1 << 20)


def best_us(fn, repeat):
    timer = timeit.Timer(fn)
    n, _ = timer.autorange()
    return min(timer.repeat(repeat=repeat, number=n)) / n * 1e6


def tink_bench(repeat):
    import tink
    from tink import aead

    aead.register()
    primitive = tink.new_keyset_handle(aead.aead_key_templates.AES256_GCM).primitive(aead.Aead)
    ad = b"tenant=acme;record=order-1042"
    return {s: best_us(lambda d=bytes(s): primitive.decrypt(primitive.encrypt(d, ad), ad), repeat)
            for s in SIZES}


def esdk_bench(repeat):
    import aws_encryption_sdk
    from aws_encryption_sdk import CommitmentPolicy
    from aws_encryption_sdk.identifiers import Algorithm, EncryptionKeyType, WrappingAlgorithm
    from aws_encryption_sdk.internal.crypto.wrapping_keys import WrappingKey
    from aws_encryption_sdk.key_providers.raw import RawMasterKeyProvider

    key = os.urandom(32)

    class StaticKeys(RawMasterKeyProvider):
        provider_id = "trust-bench"

        def _get_raw_key(self, key_id):
            return WrappingKey(
                wrapping_algorithm=WrappingAlgorithm.AES_256_GCM_IV12_TAG16_NO_PADDING,
                wrapping_key=key,
                wrapping_key_type=EncryptionKeyType.SYMMETRIC,
            )

    provider = StaticKeys()
    provider.add_master_key(b"orders")
    client = aws_encryption_sdk.EncryptionSDKClient(
        commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT
    )
    ctx = {"tenant": "acme", "record": "order-1042"}
    suite = Algorithm.AES_256_GCM_HKDF_SHA512_COMMIT_KEY
    cmm = aws_encryption_sdk.CachingCryptoMaterialsManager(
        master_key_provider=provider,
        cache=aws_encryption_sdk.LocalCryptoMaterialsCache(capacity=64),
        max_age=60.0,
        max_messages_encrypted=4096,
    )

    def plain(data):
        ct, _ = client.encrypt(source=data, key_provider=provider, encryption_context=ctx,
                               algorithm=suite)
        pt, _ = client.decrypt(source=ct, key_provider=provider)
        assert pt == data

    def cached(data):
        ct, _ = client.encrypt(source=data, materials_manager=cmm, encryption_context=ctx,
                               algorithm=suite)
        pt, _ = client.decrypt(source=ct, materials_manager=cmm)
        assert pt == data

    out = {}
    for s in SIZES:
        data = bytes(s)
        out[s] = (best_us(lambda: plain(data), repeat), best_us(lambda: cached(data), repeat))
    return out


def rust_bench(repeat):
    exe = ROOT / "target" / "release" / "examples" / "seal_open_count"
    if not exe.exists():
        print(f"{exe} missing: cargo build --release -p trust-benches --example seal_open_count")
        return None

    def per_op(op, size):
        n = 200_000 if size <= 1024 else 300
        best = float("inf")
        for _ in range(repeat):
            times = []
            for count in (0, n):
                start = time.perf_counter()
                subprocess.run([exe, op, str(size), str(count)], check=True)
                times.append(time.perf_counter() - start)
            best = min(best, (times[1] - times[0]) / n * 1e6)
        return best

    return {s: {op: per_op(op, s) for op in ("ring", "v1", "cached")} for s in SIZES}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    tink = tink_bench(args.repeat)
    esdk = esdk_bench(args.repeat)
    rust = rust_bench(args.repeat)
    print("seal+open, µs per message (best of runs)")
    print(f"{'size':>8} | {'tink':>9} | {'esdk':>9} | {'esdk-cache':>10} || "
          f"{'trust v1':>9} | {'trust cached':>12} | {'ring':>8}")
    for s in SIZES:
        row = f"{s:>8} | {tink[s]:9.2f} | {esdk[s][0]:9.1f} | {esdk[s][1]:10.1f} || "
        if rust:
            r = rust[s]
            row += f"{r['v1']:9.2f} | {r['cached']:12.2f} | {r['ring']:8.2f}"
        print(row)
    print("(left of ||: Python; right: Rust. 1 MiB trust cached = version 1, over the "
          "cache's 16 KiB message limit.)")


if __name__ == "__main__":
    main()
