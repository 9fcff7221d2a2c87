#!/usr/bin/env python3
"""Times the reference argon2 C implementation (phc-winner-argon2, via argon2-cffi's bindings)
on the parameters given, for benches/benches/access.rs. Prints one JSON line:
{"impl": ..., "m_kib": M, "t": T, "p": P, "runs": N, "median_ms": X, "min_ms": Y}
Usage: argon2_reference.py M T P RUNS
       argon2_reference.py M T P serve   (one hash per "hash" line on stdin; prints its ms)
The serve mode lets benches/benches/access.rs interleave reference and trust-core hashes one by
one, so machine load hits both sides alike.
"""
import importlib.metadata, json, os, statistics, sys, time

import argon2
from argon2.low_level import Type, hash_secret_raw

m, t, p = (int(x) for x in sys.argv[1:4])
password, salt = b"correct horse battery staple", os.urandom(16)
hash_secret_raw(password, salt, t, m, p, 32, Type.ID)  # warm-up: page in the memory
if sys.argv[4] == "serve":
    print("ready", flush=True)
    for line in sys.stdin:
        start = time.perf_counter()
        hash_secret_raw(password, salt, t, m, p, 32, Type.ID)
        print(f"{(time.perf_counter() - start) * 1e3:.3f}", flush=True)
    sys.exit(0)
runs = int(sys.argv[4])
samples = []
for _ in range(runs):
    start = time.perf_counter()
    hash_secret_raw(password, salt, t, m, p, 32, Type.ID)
    samples.append((time.perf_counter() - start) * 1e3)
print(json.dumps({
    "impl": f"argon2-cffi {importlib.metadata.version('argon2-cffi')} (phc-winner-argon2 C)",
    "m_kib": m, "t": t, "p": p, "runs": runs,
    "median_ms": round(statistics.median(samples), 3),
    "min_ms": round(min(samples), 3),
}))
