'use strict'
// A connector app's security page, kept with the @trust/node package (no koffi glue).
//
// 1. verify a Shopify webhook (raw body + X-Shopify-Hmac-Sha256), and reject a forged one;
// 2. keep the shop's Odoo API key in the vault, read it at job time with a stated purpose;
// 3. hash a password off the event loop;
// 4. append who did what to the tamper-evident audit log, and verify the log.
//
// Run: npm install ./bindings/node && node examples/node/connector.js
// (from a checkout without installing: TRUST_NODE_PACKAGE=./bindings/node node examples/node/connector.js)
// Checks every result itself and exits non-zero on the first surprise.
const assert = require('node:assert')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const trust = require(process.env.TRUST_NODE_PACKAGE ? path.resolve(process.env.TRUST_NODE_PACKAGE) : '@trust/node')

async function main () {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'trust-example-'))
  const home = await trust.Home.initAsync(path.join(work, 'home'), { rootKeyFile: path.join(work, 'root.key') })
  const log = trust.audit.Log.init(path.join(work, 'audit'), { origin: 'example.com/connector' })

  // 1. Webhooks: the raw body, byte for byte, and the header Shopify sent.
  const body = Buffer.from('{"id":1,"email":"a@b.c","note":"café"}')
  const headers = { 'x-shopify-hmac-sha256': 'y6QjIArjFx3gEoeTLJw77ufusmczpg61ege7jjodI/E=' }
  trust.webhook.verify('shopify', body, headers, 'hush')
  assert.throws(() => trust.webhook.verify('shopify', Buffer.from('{"id":2}'), headers, 'hush'),
    (e) => e instanceof trust.VerificationError && e.code === 'SIGNATURE_INVALID')
  log.append('webhook.accept', { actor: 'shopify', attrs: { topic: 'orders/create' } })

  // 2. The vault: readable by the sync worker only, every read audited.
  const vault = new trust.Vault(home, { audit: log })
  vault.put('sync-worker', 'acme/odoo', 'odoo-api-key-0123456789')
  const secret = vault.get('sync-worker', 'acme/odoo', { purpose: 'nightly order sync' })
  assert.strictEqual(secret.value.toString(), 'odoo-api-key-0123456789')
  assert.throws(() => vault.get('support-bot', 'acme/odoo', { purpose: 'curious' }),
    (e) => e instanceof trust.RefusedError && e.code === 'SECRET_NOT_READER')

  // 3. Passwords: argon2id on libuv's pool.
  const phc = await trust.password.hash('correct horse battery staple')
  assert.strictEqual(await trust.password.verify(phc, 'correct horse battery staple'), true)

  // 4. The audit log: signed checkpoints that `trust audit verify --vkey …` checks too.
  log.checkpoint()
  trust.audit.verify(path.join(work, 'audit'), log.vkey)
  console.log(`ok: webhook verified, vault read audited, password hashed, ${log.size} audit entries verified`)
}

main().catch((e) => { console.error(e); process.exit(1) })
