#!/usr/bin/env python3
"""The `trust` Python package against the fastest Python peers, in the same process and run:

* seal+open of 64 B and 1 KiB: `Home.seal`/`Home.open` (AES-256-GCM keyring, context bound)
  against Google Tink's AEAD (AES256_GCM keyset, the context as associated data);
* webhook verification of a 1 KiB Stripe delivery: `trust.webhook.verify("stripe", …)`
  against stripe-python's `WebhookSignature.verify_header`;
* password hashing from two Python threads against one (the GIL is released during argon2,
  so two threads on two cores should take about the time of one).

Setup (a venv):  pip install ./bindings/python tink stripe
Run:             python benches/peers/python_seal_open.py [--repeat 5]
Figures go to docs/PERFORMANCE.md with this command line.
"""

import argparse
import hashlib
import hmac
import json
import tempfile
import threading
import time
import timeit
from pathlib import Path

import trust


def best_ns(fn, repeat: int) -> float:
    """Best of `repeat` runs of an autoranged loop (>= 0.2 s each), in ns per call."""
    timer = timeit.Timer(fn)
    n, _ = timer.autorange()
    return min(timer.repeat(repeat=repeat, number=n)) / n * 1e9


def seal_open(repeat: int) -> None:
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
        t = best_ns(lambda: home.open(home.seal("bench", data, ctx), ctx), repeat)
        line = f"seal+open {size:>5} B  trust {t / 1000:7.2f} µs"
        if primitive is not None:
            ad = b"tenant=acme"
            k = best_ns(lambda: primitive.decrypt(primitive.encrypt(data, ad), ad), repeat)
            line += f"   tink {k / 1000:7.2f} µs   trust/tink {t / k:4.2f}"
        print(line, flush=True)


def webhooks(repeat: int) -> None:
    secret = "whsec_" + "k" * 32
    body = json.dumps({"id": "evt_1", "object": "event", "data": {"pad": "x" * 960}}).encode()[:1024]
    now = int(time.time())
    sig = hmac.new(secret.encode(), f"{now}.".encode() + body, hashlib.sha256).hexdigest()
    header = f"t={now},v1={sig}"
    headers = {"Stripe-Signature": header}
    trust.webhook.verify("stripe", body, headers, secret)
    t = best_ns(lambda: trust.webhook.verify("stripe", body, headers, secret), repeat)
    line = f"webhook stripe {len(body)} B  trust {t / 1000:7.2f} µs"
    try:
        import stripe

        stripe.WebhookSignature.verify_header(body, header, secret, 300)
        s = best_ns(lambda: stripe.WebhookSignature.verify_header(body, header, secret, 300), repeat)
        line += f"   stripe-python {s / 1000:7.2f} µs   trust/stripe {t / s:4.2f}"
    except ImportError:
        line += "   (pip install stripe for the comparison)"
    print(line, flush=True)


def passwords(per_thread: int) -> None:
    def work() -> None:
        for i in range(per_thread):
            trust.password.hash(f"correct horse battery staple {i}")

    trust.password.hash("warm-up password")
    best = {}
    cores = {}
    for threads in (1, 2, 1, 2):
        pool = [threading.Thread(target=work) for _ in range(threads)]
        start, cpu = time.perf_counter(), time.process_time()
        for th in pool:
            th.start()
        for th in pool:
            th.join()
        elapsed = time.perf_counter() - start
        # CPU seconds per wall second: above 1 only if both threads ran at once (GIL released).
        used = (time.process_time() - cpu) / elapsed
        if elapsed < best.get(threads, float("inf")):
            best[threads], cores[threads] = elapsed, used
    print(
        f"password.hash x{per_thread} per thread  1 thread {best[1] * 1000:7.1f} ms"
        f" ({cores[1]:.2f} cores)   2 threads {best[2] * 1000:7.1f} ms ({cores[2]:.2f} cores)"
        f"   2/1 {best[2] / best[1]:4.2f}",
        flush=True,
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--hashes", type=int, default=8, help="passwords hashed per thread")
    args = ap.parse_args()
    seal_open(args.repeat)
    webhooks(args.repeat)
    passwords(args.hashes)


if __name__ == "__main__":
    main()
