#!/usr/bin/env python3
"""The official Stripe Python SDK's webhook verify on the same 4 KiB payload as
benches/benches/webhook.rs (`webhook_4KiB/stripe`), timed with timeit, beside Python's own raw
hmac-sha256 of the same bytes. Figures go into docs/PERFORMANCE.md ("Webhook verification").

Run: python3 -m venv /tmp/v && /tmp/v/bin/pip install stripe==16.1.0 &&
     /tmp/v/bin/python benches/python/stripe_verify_bench.py
"""
import hashlib
import hmac
import time
import timeit

import stripe


def payload(n):
    # Same bytes as trust_benches::payload + the mapping in webhook.rs.
    out = []
    for i in range(n):
        x = ((i * 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF) >> 56
        out.append(chr(ord("a") + x % 26))
    return "".join(out)


prefix = '{"id":"evt_bench","object":"event","data":"'
body = (prefix + payload(4096))[: 4096 - 2] + '"}'
assert len(body.encode()) == 4096
secret = "whsec_bench_secret_0123456789abcdef"
t = int(time.time())
sig = hmac.new(secret.encode(), f"{t}.{body}".encode(), hashlib.sha256).hexdigest()
header = f"t={t},v1={sig}"
assert stripe.WebhookSignature.verify_header(body, header, secret, tolerance=300)


def best_per_call(fn, number=500, repeat=100):
    # Same method as the interleaved figures of webhook.rs: the fastest of many short rounds,
    # the least disturbed by other processes on a shared machine.
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number


sdk = best_per_call(lambda: stripe.WebhookSignature.verify_header(body, header, secret, tolerance=300))
raw = best_per_call(lambda: hmac.new(secret.encode(), body.encode(), hashlib.sha256).digest())
print(f"stripe-python {stripe.VERSION} WebhookSignature.verify_header, 4 KiB: {sdk * 1e6:.2f} us/call")
print(f"python hmac.new(...).digest() raw HMAC-SHA256, 4 KiB:          {raw * 1e6:.2f} us/call")
