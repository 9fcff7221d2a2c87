#!/usr/bin/env python3
"""Seal+open of 64 B and 1 KiB from Python: the `trust` package against Google Tink's AEAD
(AES-256-GCM keyset) in the same process and run.

Setup (a venv):  pip install ./bindings/python tink
Run:             python benches/peers/python_seal_open.py [--repeat 5]
Figures go to docs/PERFORMANCE.md with this command line; run on an idle machine.
"""

import argparse
import tempfile
import timeit
from pathlib import Path

import trust


def best_ns(fn, repeat: int) -> float:
    """Best of `repeat` runs of an autoranged loop (>= 0.2 s each), in ns per call."""
    timer = timeit.Timer(fn)
    n, _ = timer.autorange()
    return min(timer.repeat(repeat=repeat, number=n)) / n * 1e9


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp())
    home = trust.Home.init(tmp / "home", root_key_file=tmp / "root.key")
    home.create_keyring("bench")
    ctx = {"tenant": "acme"}
    try:
        import tink
        from tink import aead

        aead.register()
        primitive = tink.new_keyset_handle(aead.aead_key_templates.AES256_GCM).primitive(aead.Aead)
    except ImportError:
        primitive = None
        print("tink not installed (pip install tink): trust only")
    for size in (64, 1024):
        data = bytes(size)
        t = best_ns(lambda: home.open(home.seal("bench", data, ctx), ctx), args.repeat)
        line = f"{size:>5} B  trust seal+open {t / 1000:7.2f} µs"
        if primitive is not None:
            ad = b"tenant=acme"
            k = best_ns(lambda: primitive.decrypt(primitive.encrypt(data, ad), ad), args.repeat)
            line += f"   tink {k / 1000:7.2f} µs   ratio {t / k:4.2f}"
        print(line)


if __name__ == "__main__":
    main()
