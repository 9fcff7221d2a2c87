"""The trust C ABI from Python, with nothing but the standard library's ctypes.

1. verify a Shopify webhook (raw body + X-Shopify-Hmac-Sha256), and reject a forged one;
2. seal an Odoo API key into a tle1 token for a database column, and open it again;
3. append who did what to the tamper-evident audit log, and verify the log.

Run: TRUST_LIB=target/release/libtrust.so python3 examples/ffi/python/example.py
Checks every result itself and exits non-zero on the first surprise.
"""

import ctypes
import os
import sys
import tempfile
from ctypes import POINTER, c_bool, c_char_p, c_int64, c_size_t, c_uint32, c_uint64, c_void_p

TRUST_OK = 0
TRUST_VERIFICATION_FAILED = 100
TRUST_ABI_VERSION = 1
SCHEME_DEFAULT = 2**64 - 1
SUITE_AES_256_GCM = 1

here = os.path.dirname(os.path.abspath(__file__))
lib = ctypes.CDLL(os.environ.get("TRUST_LIB") or os.path.join(here, "../../../target/release/libtrust.so"))

u8p = c_char_p  # const uint8_t * from Python bytes
handle = c_void_p
out = POINTER(c_void_p)

def fn(name, restype, *argtypes):
    f = getattr(lib, name)
    f.restype, f.argtypes = restype, list(argtypes)
    return f

status = c_uint32
trust_abi_version = fn("trust_abi_version", c_uint32)
trust_version = fn("trust_version", c_char_p)
trust_status_str = fn("trust_status_str", c_char_p, c_uint32)
trust_error_code = fn("trust_error_code", c_char_p, handle)
trust_error_message = fn("trust_error_message", c_char_p, handle)
trust_error_free = fn("trust_error_free", None, handle)
trust_bytes_data = fn("trust_bytes_data", c_void_p, handle)
trust_bytes_len = fn("trust_bytes_len", c_size_t, handle)
trust_bytes_free = fn("trust_bytes_free", None, handle)
verifier_new = fn("trust_webhook_verifier_new", status, POINTER(c_char_p), POINTER(c_size_t), c_size_t, c_uint64, out, out)
verifier_free = fn("trust_webhook_verifier_free", None, handle)
verify_shopify = fn("trust_webhook_verify_shopify", status, handle, u8p, c_size_t, u8p, c_size_t, out)
home_init = fn("trust_home_init_key_file", status, u8p, c_size_t, u8p, c_size_t, out, out)
home_free = fn("trust_home_free", None, handle)
create_keyring = fn("trust_home_create_keyring", status, handle, u8p, c_size_t, c_uint32, out)
context_new = fn("trust_context_new", status, out, out)
context_add = fn("trust_context_add", status, handle, u8p, c_size_t, u8p, c_size_t, out)
context_free = fn("trust_context_free", None, handle)
seal_token = fn("trust_home_seal_token", status, handle, u8p, c_size_t, handle, u8p, c_size_t, out, out)
open_token = fn("trust_home_open_token", status, handle, handle, u8p, c_size_t, out, out)
log_init = fn("trust_audit_log_init", status, u8p, c_size_t, u8p, c_size_t, out, out)
log_open = fn("trust_audit_log_open", status, u8p, c_size_t, out, out)
log_append = fn("trust_audit_log_append", status, handle, u8p, c_size_t, u8p, c_size_t, u8p, c_size_t,
                u8p, c_size_t, POINTER(c_uint64), out)
log_free = fn("trust_audit_log_free", None, handle)
log_verify = fn("trust_audit_log_verify", status, u8p, c_size_t, u8p, c_size_t, out, out)


class TrustError(Exception):
    def __init__(self, status, code, message):
        super().__init__(f"{code}: {message}")
        self.status, self.code = status, code


def call(f, *args):
    """Calls f(*args, &err) and raises TrustError (status, code, message) on failure."""
    err = c_void_p()
    st = f(*args, ctypes.byref(err))
    if st != TRUST_OK:
        code = trust_error_code(err).decode() if err else trust_status_str(st).decode()
        message = trust_error_message(err).decode() if err else ""
        trust_error_free(err)
        raise TrustError(st, code, message)


def take(b):
    """Copies a trust_bytes out and frees (zeroizes) the library's copy."""
    try:
        return ctypes.string_at(trust_bytes_data(b), trust_bytes_len(b))
    finally:
        trust_bytes_free(b)


def new(f, *args):
    h = c_void_p()
    call(f, *args, ctypes.byref(h))
    return h


def main():
    assert trust_abi_version() == TRUST_ABI_VERSION, "library built for another ABI"
    print(trust_version().decode())

    # 1. Shopify webhook.
    secret = b"hush"
    secrets = (c_char_p * 1)(secret)
    lens = (c_size_t * 1)(len(secret))
    verifier = new(verifier_new, secrets, lens, 1, SCHEME_DEFAULT)
    body = '{"id":1,"email":"a@b.c","note":"café"}'.encode()
    hmac = b"y6QjIArjFx3gEoeTLJw77ufusmczpg61ege7jjodI/E="
    call(verify_shopify, verifier, hmac, len(hmac), body, len(body))
    try:
        call(verify_shopify, verifier, hmac, len(hmac), b'{"id":2}', 8)
        sys.exit("a forged webhook was accepted")
    except TrustError as e:
        assert e.status == TRUST_VERIFICATION_FAILED and e.code == "SIGNATURE_INVALID", e
    verifier_free(verifier)
    print("webhook: authentic delivery accepted, forged one rejected")

    with tempfile.TemporaryDirectory(dir=".") as tmp:
        home_dir, key_file, log_dir = (os.path.join(tmp, n).encode() for n in ("home", "root.key", "audit"))

        # 2. Seal a credential into a token bound to its tenant, then open it.
        home = new(home_init, home_dir, len(home_dir), key_file, len(key_file))
        call(create_keyring, home, b"credentials", 11, SUITE_AES_256_GCM)
        ctx = new(context_new)
        call(context_add, ctx, b"tenant", 6, b"acme", 4)
        secret = b"odoo-api-key-123"
        token = take(new(seal_token, home, b"credentials", 11, ctx, secret, len(secret)))
        assert token.startswith(b"tle1."), token
        plain = take(new(open_token, home, ctx, token, len(token)))
        assert plain == secret, plain
        context_free(ctx)
        home_free(home)
        print(f"token: {token[:12].decode()}... opens to the sealed secret")

        # 3. Audit: append, then verify the whole log with the auditor's key.
        vkey = take(new(log_init, log_dir, len(log_dir), b"example.com/audit", 17))
        log = new(log_open, log_dir, len(log_dir))
        index = c_uint64()
        actor = b"ops@example.com"
        call(log_append, log, b"credential.seal", 15, actor, len(actor), b"acme", 4, None, 0, ctypes.byref(index))
        call(log_append, log, b"webhook.accept", 14, None, 0, None, 0, body, len(body), ctypes.byref(index))
        assert index.value == 1, index.value
        log_free(log)
        report = take(new(log_verify, log_dir, len(log_dir), vkey, len(vkey)))
        assert b'"entries":2' in report, report
        print("audit: 2 entries appended, log verifies")
    print("example: ok")


if __name__ == "__main__":
    main()
