"""A connector app's security page, kept with the `trust` Python package (no ctypes glue).

1. verify a Shopify webhook (raw body + X-Shopify-Hmac-Sha256), and reject a forged one;
2. keep the shop's Odoo API key in the vault, read it at job time with a stated purpose;
3. seal a customer's e-mail for that customer, then erase the customer (crypto-shredding);
4. append who did what to the tamper-evident audit log, and verify the log.

Run: pip install ./bindings/python && python3 examples/python/connector.py
Checks every result itself and exits non-zero on the first surprise.
"""

import tempfile
from pathlib import Path

import trust
import trust.audit
import trust.webhook

work = Path(tempfile.mkdtemp(prefix="trust-example-"))
home = trust.Home.init(work / "home", root_key_file=work / "root.key")
log = trust.audit.Log.init(work / "audit", origin="example.com/connector")

# 1. Webhooks: the raw body, byte for byte, and the header Shopify sent.
body = '{"id":1,"email":"a@b.c","note":"café"}'.encode()
headers = {"X-Shopify-Hmac-Sha256": "y6QjIArjFx3gEoeTLJw77ufusmczpg61ege7jjodI/E="}
trust.webhook.verify("shopify", body, headers, "hush")
try:
    trust.webhook.verify("shopify", b'{"id":2}', headers, "hush")
    raise SystemExit("a forged webhook was accepted")
except trust.VerificationError as e:
    assert e.code == "SIGNATURE_INVALID", e.code
log.append("webhook.accept", actor="shopify", attrs={"topic": "orders/create"})

# 2. The vault: sealed under the home's keyring, readable by the sync worker only, every read audited.
vault = trust.Vault(home, audit=log)
vault.put("sync-worker", "acme/odoo", b"odoo-api-key-0123456789")
secret = vault.get("sync-worker", "acme/odoo", purpose="nightly order sync")
assert secret.value == b"odoo-api-key-0123456789" and secret.version == 1
try:
    vault.get("support-bot", "acme/odoo", purpose="curious")
    raise SystemExit("a non-reader read the key")
except trust.RefusedError as e:
    assert e.code == "SECRET_NOT_READER", e.code

# 3. Data subjects: erase a customer and every copy of their data sealed for them is unreadable.
home.create_keyring("customers")
subjects = trust.Subjects(home, audit=log)
sealed = subjects.seal("customers", "customer-42", b"jane@example.com", context={"tenant": "acme"})
assert subjects.open(sealed, context={"tenant": "acme"}) == b"jane@example.com"
receipt = subjects.erase("customers", "customer-42", request="gdpr-7")
try:
    subjects.open(sealed, context={"tenant": "acme"})
    raise SystemExit("erased data still opened")
except trust.KeyUnavailableError as e:
    assert e.code == "SUBJECT_ERASED", e.code

# 4. The audit log: signed checkpoints that `trust audit verify --vkey …` checks too.
log.checkpoint()
report = trust.audit.verify(work / "audit", log.vkey)
print(f"ok: webhook verified, vault read audited, subject erased ({receipt['receipt']['subject']}), "
      f"{log.size} audit entries verified")
