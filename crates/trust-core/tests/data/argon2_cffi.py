"""Reference side of tests/argon2_cffi.rs: argon2-cffi (the Python binding of the reference C
implementation, phc-winner-argon2) hashing and verifying PHC strings.

Reads one JSON request on stdin, prints one line:
  {"op": "hash", "password": str, "t": int, "m": int, "p": int, "pepper_hex": str|null}
      -> the PHC string (argon2id, 16-byte salt, 32-byte tag); with a pepper the argon2 input is
         HMAC-SHA-256(pepper, password) and ",pepper=1" is added to the parameters, as
         trust-core does.
  {"op": "hash_default", "password": str}  -> argon2-cffi's own default PasswordHasher().hash
  {"op": "verify", "hash": str, "password": str, "pepper_hex": str|null} -> "match" | "mismatch"
"""
import hashlib, hmac, json, os, sys

import argon2
from argon2.low_level import Type, hash_secret

req = json.load(sys.stdin)
pw = req["password"].encode()
pepper = bytes.fromhex(req["pepper_hex"]) if req.get("pepper_hex") else None
if pepper is not None:
    pw = hmac.new(pepper, pw, hashlib.sha256).digest()

if req["op"] == "hash":
    phc = hash_secret(pw, os.urandom(16), time_cost=req["t"], memory_cost=req["m"],
                      parallelism=req["p"], hash_len=32, type=Type.ID).decode()
    if pepper is not None:
        head, salt, tag = phc.rsplit("$", 2)
        phc = f"{head},pepper=1${salt}${tag}"
    print(phc)
elif req["op"] == "hash_default":
    print(argon2.PasswordHasher().hash(pw))
elif req["op"] == "verify":
    phc = req["hash"].replace(",pepper=1$", "$")
    try:
        argon2.PasswordHasher().verify(phc, pw)
        print("match")
    except argon2.exceptions.VerifyMismatchError:
        print("mismatch")
else:
    sys.exit("unknown op")
