'use strict'
const test = require('node:test')
const assert = require('node:assert')
const crypto = require('node:crypto')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const trust = require('..')

function tmp () { return fs.mkdtempSync(path.join(os.tmpdir(), 'trust-node-')) }

function newHome () {
  const dir = tmp()
  const home = trust.Home.init(path.join(dir, 'home'), { rootKeyFile: path.join(dir, 'root.key') })
  home.createKeyring('orders')
  return { dir, home }
}

const CTX = { tenant: 'acme' }

test('token seal/open round trip with context', () => {
  const { home } = newHome()
  const token = home.sealToken('orders', Buffer.from('shpat_1'), CTX)
  assert.ok(token.startsWith('tle1.'))
  assert.deepStrictEqual(home.openToken(token, CTX), Buffer.from('shpat_1'))
})

test('blob seal/open, wrong context is a VerificationError with .code', () => {
  const { home } = newHome()
  const blob = home.seal('orders', Buffer.from('payload'), CTX)
  assert.deepStrictEqual(home.open(blob, CTX), Buffer.from('payload'))
  assert.throws(() => home.open(blob, { tenant: 'other' }), (e) =>
    e instanceof trust.VerificationError && e instanceof Error && e.code === 'CONTEXT_MISMATCH' && e.category === 'VERIFICATION_FAILED')
})

test('unknown keyring is KeyUnavailableError', () => {
  const { home } = newHome()
  assert.throws(() => home.seal('nope', Buffer.from('x')), (e) => e instanceof trust.KeyUnavailableError)
})

test('rotation keeps old data readable; rewrap moves it', () => {
  const { home } = newHome()
  const old = home.seal('orders', Buffer.from('v1'), CTX)
  assert.strictEqual(home.rotate('orders', true), 2)
  assert.strictEqual(home.keyringInfo('orders').primary, 2)
  const moved = home.rewrap(old)
  assert.deepStrictEqual(home.open(moved, CTX), Buffer.from('v1'))
  assert.deepStrictEqual(home.keyrings(), ['orders'])
})

test('reopen a home; init twice is refused', () => {
  const { dir, home } = newHome()
  const token = home.sealToken('orders', Buffer.from('t'), CTX)
  const again = trust.Home.open(path.join(dir, 'home'))
  assert.deepStrictEqual(again.openToken(token, CTX), Buffer.from('t'))
  assert.throws(() => trust.Home.init(path.join(dir, 'home'), { rootKeyFile: path.join(dir, 'root.key') }), (e) => e.code === 'HOME_EXISTS')
  assert.throws(() => trust.Home.init(path.join(dir, 'x'), {}), (e) => e instanceof trust.UsageError && e.code === 'INVALID_ARGUMENT')
})

test('webhook.verify: stripe valid, tampered, stale', () => {
  const body = Buffer.from('{"id":"evt_1"}')
  const now = 1700000000
  // Stripe's documented scheme computed with node:crypto, an independent implementation.
  const mac = crypto.createHmac('sha256', 'whsec_x').update(`${now}.`).update(body).digest('hex')
  const headers = { 'Stripe-Signature': `t=${now},v1=${mac}` }
  const r = trust.webhook.verify('stripe', body, headers, ['whsec_x'], { now })
  assert.strictEqual(r.scheme, 'stripe')
  assert.strictEqual(r.secretIndex, 0)
  assert.throws(() => trust.webhook.verify('stripe', Buffer.concat([body, Buffer.from(' ')]), headers, 'whsec_x', { now }),
    (e) => e instanceof trust.VerificationError && e.code === 'SIGNATURE_INVALID')
  assert.throws(() => trust.webhook.verify('stripe', body, headers, 'whsec_x', { now: now + 301 }), (e) => e.code === 'TIMESTAMP_STALE')
  assert.throws(() => trust.webhook.verify('paypal', body, headers, 'whsec_x'), (e) => e instanceof trust.UsageError)
  assert.throws(() => trust.webhook.verify('hubspot-v3', body, {}, 's'), (e) => e.code === 'INVALID_ARGUMENT')
})

test('webhook.verify: github with a previous secret', () => {
  const body = Buffer.from('{}')
  const sig = 'sha256=' + crypto.createHmac('sha256', 'old').update(body).digest('hex')
  const r = trust.webhook.verify('github', body, { 'X-Hub-Signature-256': sig }, ['new-secret', Buffer.from('old')])
  assert.strictEqual(r.secretIndex, 1)
})

test('password hash/verify are Promises; bcrypt upgrades', async () => {
  const phc = await trust.password.hash('correct horse battery')
  assert.ok(phc.startsWith('$argon2id$'))
  assert.strictEqual(await trust.password.verify(phc, 'correct horse battery'), true)
  assert.strictEqual(await trust.password.verify(phc, 'wrong'), false)
  await assert.rejects(trust.password.hash('short'), (e) => e instanceof trust.TrustError && typeof e.code === 'string')
  // bcrypt's OpenBSD test vector ("U*U", cost 5).
  const up = await trust.password.verifyAndUpgrade('$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW', 'U*U')
  assert.strictEqual(up.matched, true)
  assert.ok(up.rehash.startsWith('$argon2id$'))
  assert.strictEqual(trust.password.verifySync(up.rehash, 'U*U'), true)
})

test('redact', () => {
  const out = trust.redact('key sk_live_0123456789abcdefghijklmnop end')
  assert.ok(!out.includes('sk_live_0123456789abcdefghijklmnop'))
  assert.strictEqual(trust.redact('clean'), 'clean')
})

test('a token sealed in Node opens with the trust CLI', { skip: !fs.existsSync(cliPath()) && process.env.CI !== 'true' && 'trust CLI not built' }, () => {
  const { execFileSync } = require('node:child_process')
  const { dir, home } = newHome()
  const token = home.sealToken('orders', Buffer.from('from-node'), CTX)
  const out = execFileSync(cliPath(), ['--home', path.join(dir, 'home'), 'decrypt', '--context', 'tenant=acme'], { input: token })
  assert.strictEqual(out.toString(), 'from-node')
  const armored = execFileSync(cliPath(), ['--home', path.join(dir, 'home'), 'encrypt', '--key', 'orders', '--armor', '--context', 'tenant=acme'], { input: 'from-cli' })
  assert.deepStrictEqual(home.openToken(armored.toString().trim(), CTX), Buffer.from('from-cli'))
})

function cliPath () {
  if (process.env.TRUST_CLI) return process.env.TRUST_CLI
  const target = process.env.CARGO_TARGET_DIR || path.join(__dirname, '..', '..', '..', 'target')
  return path.join(target, 'debug', 'trust')
}
