'use strict'
// Subjects, session tokens, access control, rate limits, file streaming, the vault, MFA,
// the audit log and homes by URL — with the `trust` CLI reading what Node wrote.
const test = require('node:test')
const assert = require('node:assert')
const crypto = require('node:crypto')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { execFileSync, spawnSync } = require('node:child_process')
const trust = require('..')

const NOW = 1700000000

function tmp () { return fs.mkdtempSync(path.join(os.tmpdir(), 'trust-node-')) }

function newHome () {
  const dir = tmp()
  const homeDir = path.join(dir, 'home')
  const home = trust.Home.init(homeDir, { rootKeyFile: path.join(dir, 'root.key') })
  home.createKeyring('orders')
  return { dir, homeDir, home }
}

function cliPath () {
  if (process.env.TRUST_CLI) return process.env.TRUST_CLI
  const target = process.env.CARGO_TARGET_DIR || path.join(__dirname, '..', '..', '..', 'target')
  return path.join(target, 'debug', 'trust')
}
const noCli = !fs.existsSync(cliPath()) && process.env.CI !== 'true' && 'trust CLI not built (cargo build -p trust-cli)'

function totp (secretB32, t, digits = 6, algo = 'sha1', period = 30) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'
  let bits = ''
  for (const c of secretB32.replace(/=+$/, '')) bits += alphabet.indexOf(c).toString(2).padStart(5, '0')
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)))
  const counter = Buffer.alloc(8)
  counter.writeBigUInt64BE(BigInt(Math.floor(t / period)))
  const mac = crypto.createHmac(algo, key).update(counter).digest()
  const off = mac[mac.length - 1] & 0x0f
  const code = (mac.readUInt32BE(off) & 0x7fffffff) % 10 ** digits
  return String(code).padStart(digits, '0')
}

const secretOf = (uri) => new URL(uri).searchParams.get('secret')

test('the addon version matches the package', () => {
  assert.strictEqual(require('../package.json').version, '0.1.0')
  assert.ok(fs.readFileSync(path.join(__dirname, '..', 'index.js'), 'utf8').includes('nativeVersion'))
})

test('Home.initAsync / openAsync resolve off the event loop; errors reject with .code', async () => {
  const dir = tmp()
  const home = await trust.Home.initAsync(path.join(dir, 'home'), { passphrase: 'correct horse battery staple' })
  home.createKeyring('orders')
  const token = home.sealToken('orders', Buffer.from('x'))
  const again = await trust.Home.openAsync(path.join(dir, 'home'), { passphrase: 'correct horse battery staple' })
  assert.deepStrictEqual(again.openToken(token), Buffer.from('x'))
  assert.strictEqual(again.path, path.join(dir, 'home'))
  await assert.rejects(trust.Home.openAsync(path.join(dir, 'home'), { passphrase: 'wrong passphrase here' }), (e) => e instanceof trust.TrustError && typeof e.code === 'string')
  await assert.rejects(trust.Home.openAsync(path.join(dir, 'absent')), (e) => e instanceof trust.TrustError)
})

test('a store URL with an unsupported scheme is refused, never taken for a path', () => {
  assert.throws(() => trust.Home.init('mysql://db/trust', { rootKeyFile: path.join(tmp(), 'k') }), (e) => e instanceof trust.UsageError)
  assert.throws(() => trust.Home.open('redis://127.0.0.1:6379/'), (e) => e instanceof trust.UsageError)
})

test('a home in PostgreSQL by URL', { skip: !process.env.TRUST_TEST_POSTGRES_URL && process.env.CI !== 'true' && 'TRUST_TEST_POSTGRES_URL unset' }, () => {
  const base = process.env.TRUST_TEST_POSTGRES_URL
  assert.ok(base, 'TRUST_TEST_POSTGRES_URL is required under CI=true')
  const schema = 'nodetest_' + crypto.randomBytes(6).toString('hex')
  execFileSync('psql', [base, '-q', '-c', `CREATE SCHEMA ${schema}`])
  try {
    const url = `${base}${base.includes('?') ? '&' : '?'}options=-csearch_path%3D${schema}`
    const dir = tmp()
    const home = trust.Home.init(url, { rootKeyFile: path.join(dir, 'root.key') })
    assert.strictEqual(home.path, null)
    home.createKeyring('orders')
    const blob = home.seal('orders', Buffer.from('in the database'), { tenant: 'acme' })
    const again = trust.Home.open(url, { rootKeyFile: path.join(dir, 'root.key') })
    assert.deepStrictEqual(again.open(blob, { tenant: 'acme' }), Buffer.from('in the database'))
    const subjects = new trust.Subjects(again, { signingKeyFile: path.join(dir, 'signing.p8') })
    const sealed = subjects.seal('orders', 'c-1', Buffer.from('pii'))
    subjects.erase('orders', 'c-1')
    assert.throws(() => subjects.open(sealed), (e) => e.code === 'SUBJECT_ERASED')
    assert.throws(() => new trust.Subjects(again), (e) => e instanceof trust.UsageError)
    assert.throws(() => new trust.Vault(again), (e) => e instanceof trust.UsageError)
  } finally {
    spawnSync('psql', [base, '-q', '-c', `DROP SCHEMA ${schema} CASCADE`])
  }
})

test('encryptFile / decryptFile stream; a tampered file leaves no output', { skip: noCli }, () => {
  const { dir, homeDir, home } = newHome()
  const src = path.join(dir, 'orders.csv')
  const data = crypto.randomBytes(100000)
  fs.writeFileSync(src, data)
  const enc = path.join(dir, 'orders.tle')
  assert.strictEqual(home.encryptFile('orders', src, enc, { tenant: 'acme' }), data.length)
  assert.strictEqual(home.decryptFile(enc, path.join(dir, 'out'), { tenant: 'acme' }), data.length)
  assert.deepStrictEqual(fs.readFileSync(path.join(dir, 'out')), data)
  const fromCli = execFileSync(cliPath(), ['--home', homeDir, 'decrypt', '-i', enc, '--context', 'tenant=acme'], { maxBuffer: 1 << 24 })
  assert.deepStrictEqual(fromCli, data)
  const raw = fs.readFileSync(enc)
  raw[raw.length - 100] ^= 1
  fs.writeFileSync(enc, raw)
  assert.throws(() => home.decryptFile(enc, path.join(dir, 'bad'), { tenant: 'acme' }), (e) => e instanceof trust.VerificationError)
  assert.ok(!fs.existsSync(path.join(dir, 'bad')))
  assert.throws(() => home.encryptFile('orders', path.join(dir, 'absent'), path.join(dir, 'x')), (e) => e instanceof trust.InputError && e.code === 'IO_ERROR')
})

test('rewrapToken moves a token to the new Primary', () => {
  const { home } = newHome()
  const t = home.sealToken('orders', Buffer.from('v1'), { a: 'b' })
  home.rotate('orders', true)
  const moved = home.rewrapToken(t, { a: 'b' })
  assert.notStrictEqual(moved, t)
  assert.deepStrictEqual(home.openToken(moved, { a: 'b' }), Buffer.from('v1'))
})

test('subjects: seal, open, erase with a receipt, export verified by the CLI', { skip: noCli }, () => {
  const { dir, homeDir, home } = newHome()
  const log = trust.audit.Log.init(path.join(dir, 'audit'), { origin: 'example.com/audit' })
  const subjects = new trust.Subjects(home, { audit: log })
  const blob = subjects.seal('orders', 'customer-42', Buffer.from('jane@example.com'), { t: 'acme' })
  assert.deepStrictEqual(subjects.open(blob, { t: 'acme' }), Buffer.from('jane@example.com'))
  const out = path.join(dir, 'jane.export.jsonl')
  const manifest = subjects.export('orders', 'customer-42', [{ category: 'orders', record: { id: 1042 } }], out, { request: 'req-7' })
  assert.strictEqual(manifest.subject, subjects.tag('orders', 'customer-42'))
  execFileSync(cliPath(), ['--home', homeDir, 'gdpr', 'verify-export', out, '--public-key', subjects.signerPublicKey.toString('hex')])
  const receipt = subjects.erase('orders', 'customer-42', { request: 'req-1' })
  assert.strictEqual(receipt.receipt.request, 'req-1')
  assert.throws(() => subjects.open(blob, { t: 'acme' }), (e) => e instanceof trust.KeyUnavailableError && e.code === 'SUBJECT_ERASED')
  assert.throws(() => subjects.erase('orders', 'customer-42'), (e) => e instanceof trust.KeyUnavailableError)
  assert.ok(log.size >= 1)
  assert.throws(() => new trust.Subjects({}), TypeError)
})

test('session tokens: issue, verify, refusals, CLI interop', { skip: noCli }, () => {
  const { homeDir, home } = newHome()
  home.createKeyring('tokens')
  const tokens = new trust.SessionTokens(home)
  const t = tokens.issue('tokens', 'acme', ['chat:write'], { ttl: 900, now: NOW })
  const c = tokens.verify(t, { tenant: 'acme', scope: 'chat:write', now: NOW + 5 })
  assert.deepStrictEqual([c.tenant, c.scopes, c.expiresAt], ['acme', ['chat:write'], NOW + 900])
  for (const [opts, code] of [
    [{ tenant: 'globex', scope: 'chat:write', now: NOW }, 'TOKEN_WRONG_TENANT'],
    [{ tenant: 'acme', scope: 'admin', now: NOW }, 'TOKEN_MISSING_SCOPE'],
    [{ now: NOW + 1000 }, 'TOKEN_EXPIRED']
  ]) {
    assert.throws(() => tokens.verify(t, opts), (e) => e instanceof trust.VerificationError && e.code === code)
  }
  assert.throws(() => tokens.verify(t, { tenant: 'acme' }), (e) => e instanceof trust.UsageError)
  assert.throws(() => tokens.issue('tokens', 'acme', ['a'], { ttl: -1 }), (e) => e instanceof trust.UsageError)
  const live = tokens.issue('tokens', 'acme', ['chat:write'], { ttl: 600 })
  execFileSync(cliPath(), ['--home', homeDir, 'token', 'verify', '--tenant', 'acme', '--scope', 'chat:write'], { input: live })
  const fromCli = execFileSync(cliPath(), ['--home', homeDir, 'token', 'issue', '--tenant', 'globex', '--scope', 'orders:read', '--ttl', '5m']).toString().trim()
  assert.strictEqual(tokens.verify(fromCli, { tenant: 'globex', scope: 'orders:read' }).tenant, 'globex')
})

test('access control and rate limiting', () => {
  const acl = new trust.AccessControl()
  acl.addMember('acme', 'alice', ['agent'])
  const ticket = { tenant: 'acme', kind: 'ticket', id: '42' }
  acl.authorize('acme', 'alice', 'tickets.reply', ticket)
  assert.throws(() => acl.authorize('acme', 'alice', 'billing.update', ticket), (e) => e instanceof trust.RefusedError && e.code === 'ACCESS_NO_PERMISSION')
  assert.throws(() => acl.authorize('globex', 'alice', 'tickets.reply', ticket), (e) => e.code === 'ACCESS_CROSS_TENANT')
  acl.deny('acme', 'alice', 'tickets.*')
  assert.strictEqual(acl.isAllowed('acme', 'alice', 'tickets.reply', ticket), false)
  assert.throws(() => acl.addMember('acme', 'bob', ['no-such-role']), (e) => e instanceof trust.TrustError)
  const custom = new trust.AccessControl({ support: ['tickets.*'] })
  custom.addMember('acme', 'carol', ['support'])
  assert.ok(custom.isAllowed('acme', 'carol', 'tickets.close', ticket))
  assert.throws(() => new trust.AccessControl('[1]'), (e) => e instanceof trust.TrustError)

  const rl = new trust.RateLimiter(10, { period: 1, burst: 20, now: NOW })
  for (let i = 0; i < 20; i++) assert.strictEqual(rl.check('acme', 'POST /m'), 0)
  assert.ok(Math.abs(rl.check('acme', 'POST /m') - 0.1) < 1e-9)
  assert.strictEqual(rl.check('globex', 'POST /m'), 0)
  assert.throws(() => rl.check('globex', 'POST /m', 21), (e) => e instanceof trust.TrustError)
  assert.throws(() => new trust.RateLimiter(0), (e) => e instanceof trust.TrustError)
})

test('vault: put/get with purpose and actor, readers, list, delete, CLI reads it', { skip: noCli }, () => {
  const { dir, homeDir, home } = newHome()
  const log = trust.audit.Log.init(path.join(dir, 'audit'), { origin: 'example.com/audit' })
  const vault = new trust.Vault(home, { audit: log })
  assert.strictEqual(vault.put('sync-worker', 'acme/shopify', 'shpat_0123456789abcdef', { scopes: ['read_orders'] }), 1)
  assert.strictEqual(vault.rotate('sync-worker', 'acme/shopify', Buffer.from('shpat_fedcba9876543210')), 2)
  const before = log.size
  const s = vault.get('sync-worker', 'acme/shopify', { purpose: 'nightly sync' })
  assert.deepStrictEqual([s.value.toString(), s.version, s.kind], ['shpat_fedcba9876543210', 2, 'api-key'])
  assert.strictEqual(vault.get('sync-worker', 'acme/shopify', { purpose: 'x', version: 1 }).value.toString(), 'shpat_0123456789abcdef')
  assert.throws(() => vault.get('intruder', 'acme/shopify', { purpose: 'x' }), (e) => e instanceof trust.RefusedError && e.code === 'SECRET_NOT_READER')
  assert.strictEqual(log.size, before + 3)
  assert.ok(!vault.redact('t=shpat_fedcba9876543210').includes('shpat_fedcba9876543210'))
  const [info] = vault.list('acme')
  assert.deepStrictEqual([info.name, info.readers, info.versions.map((v) => v.version)], ['acme/shopify', ['sync-worker'], [1, 2]])
  const out = execFileSync(cliPath(), ['--home', homeDir, '--actor', 'sync-worker', 'secrets', 'get', 'acme/shopify', '--purpose', 'interop'])
  assert.strictEqual(out.toString().trim(), 'shpat_fedcba9876543210')
  vault.delete('sync-worker', 'acme/shopify')
  assert.throws(() => vault.get('sync-worker', 'acme/shopify', { purpose: 'x' }), (e) => e instanceof trust.KeyUnavailableError && e.code === 'SECRET_DELETED')
  assert.throws(() => vault.get('w', 'acme/absent', { purpose: 'x' }), (e) => e.code === 'SECRET_NOT_FOUND')
  assert.throws(() => vault.put('w', 'acme/x', 'value-123456', { kind: 'jwt' }), (e) => e instanceof trust.UsageError)
})

test('vault refresh: an async provider call, then compare-and-swap', async () => {
  const { home } = newHome()
  const vault = new trust.Vault(home)
  const soon = Math.floor(Date.now() / 1000) + 60
  vault.put('w', 'acme/stripe', 'access-token-1', { kind: 'oauth', expires: soon, refreshToken: 'refresh-1' })
  assert.strictEqual(vault.needsRefresh('acme/stripe', 300), true)
  assert.strictEqual(vault.needsRefresh('acme/stripe', 10), false)
  const calls = []
  const r = await vault.refresh('w', 'acme/stripe', {
    purpose: 'refresh',
    margin: 300,
    refresher: async (current) => { calls.push(current.refreshToken.toString()); return { value: 'access-token-2', expires: soon + 3600 } }
  })
  assert.deepStrictEqual([r.outcome, r.secret.value.toString(), r.secret.version, r.secret.refreshToken.toString()], ['refreshed', 'access-token-2', 2, 'refresh-1'])
  assert.deepStrictEqual(calls, ['refresh-1'])
  const fresh = await vault.refresh('w', 'acme/stripe', { purpose: 'refresh', margin: 300, refresher: () => assert.fail('not called') })
  assert.strictEqual(fresh.outcome, 'still-fresh')
  // Another worker stores a fresh token while this one awaits the provider: this one takes it.
  const lost = await vault.refresh('w', 'acme/stripe', {
    purpose: 'refresh',
    margin: 7200,
    refresher: async () => {
      vault.rotate('w', 'acme/stripe', 'winner-token', { expires: soon + 86400 })
      return { value: 'loser-token', expires: soon + 3600 }
    }
  })
  assert.deepStrictEqual([lost.outcome, lost.secret.value.toString()], ['took-winners', 'winner-token'])
  await assert.rejects(vault.refresh('w', 'acme/stripe', { purpose: 'r', margin: 10 ** 9, refresher: async () => { throw new Error('provider down') } }), /provider down/)
  assert.strictEqual(vault.info('acme/stripe').versions.at(-1).version, 3)
})

test('mfa: enroll, verify, replay refused, recovery codes, remove; the CLI accepts a Node-enrolled factor', { skip: noCli }, () => {
  const { homeDir, home } = newHome()
  const mfa = new trust.Mfa(home, { issuer: 'Acme Sync' })
  const uri = mfa.enroll('alice')
  assert.ok(uri.startsWith('otpauth://totp/Acme%20Sync:alice?'))
  const code = totp(secretOf(uri), NOW)
  assert.strictEqual(mfa.verify('alice', code, { now: NOW }), Math.floor(NOW / 30))
  assert.throws(() => mfa.verify('alice', code, { now: NOW }), (e) => e instanceof trust.VerificationError && e.code === 'MFA_REJECTED')
  const uri8 = mfa.enroll('bob', { digits: 8, algorithm: 'sha512' })
  assert.ok(mfa.verify('bob', totp(secretOf(uri8), NOW, 8, 'sha512'), { now: NOW }) > 0)
  const codes = mfa.recoveryCodes('bob')
  mfa.redeemRecoveryCode('bob', codes[0])
  assert.throws(() => mfa.redeemRecoveryCode('bob', codes[0]), (e) => e instanceof trust.VerificationError)
  assert.strictEqual(mfa.remainingRecoveryCodes('bob'), codes.length - 1)
  assert.strictEqual(mfa.remove('bob'), true)
  assert.strictEqual(mfa.isEnrolled('bob'), false)
  assert.throws(() => mfa.enroll('carol', { algorithm: 'md5' }), (e) => e instanceof trust.UsageError)
  assert.throws(() => mfa.enroll('carol', { digits: 7 }), (e) => e.code === 'MFA_INVALID_PARAMS')
  const opsCode = totp(secretOf(mfa.enroll('ops')), NOW)
  execFileSync(cliPath(), ['--home', homeDir, 'mfa', 'verify', 'ops', '--code-file', '-', '--now', String(NOW)], { input: opsCode })
  assert.throws(() => mfa.verify('ops', opsCode, { now: NOW }), (e) => e.code === 'MFA_REJECTED')
})

test('audit log from Node: append with attributes, checkpoint, prove, verify; `trust audit verify` agrees', { skip: noCli }, () => {
  const dir = tmp()
  const logDir = path.join(dir, 'audit')
  const log = trust.audit.Log.init(logDir, { origin: 'example.com/audit' })
  assert.strictEqual(log.append('key.rotate', { actor: 'ops', subject: 'orders', attrs: { keyring: 'orders', version: '2' } }), 0)
  assert.strictEqual(log.append('gdpr.erase'), 1)
  const cp = log.checkpoint()
  assert.strictEqual(cp.size, 2)
  const receipt = log.prove(1)
  const proof = trust.audit.verifyProof(receipt, log.vkey)
  assert.deepStrictEqual([proof.index, proof.checkpointSize, proof.event], [1, 2, 'gdpr.erase'])
  // A receipt claiming another index does not verify against the signed tree.
  assert.throws(() => trust.audit.verifyProof(receipt.replace('\nindex 1\n', '\nindex 0\n'), log.vkey), (e) => e instanceof trust.VerificationError)
  assert.throws(() => trust.audit.verifyProof('not a receipt', log.vkey), (e) => e instanceof trust.TrustError)
  const report = trust.audit.verify(logDir, log.vkey)
  assert.ok(report)
  const vkey = log.vkey
  const out = JSON.parse(execFileSync(cliPath(), ['--json', 'audit', 'verify', '--log', logDir, '--vkey', vkey]))
  assert.strictEqual(out.ok, true)
  assert.throws(() => log.append(''), (e) => e instanceof trust.TrustError)
  assert.throws(() => trust.audit.Log.init(logDir, { origin: 'example.com/audit' }), (e) => e instanceof trust.TrustError)
})

test('webhook.ReplayGuard: a replayed delivery is refused; shared through Redis', async (t) => {
  const body = Buffer.from('{"action":"opened"}')
  const headers = { 'X-Hub-Signature-256': 'sha256=' + crypto.createHmac('sha256', 'whsec_x').update(body).digest('hex'), 'X-GitHub-Delivery': '72d3162e-cc78-11e3-81ab-4c9367dc0958' }
  const result = trust.webhook.verify('github', body, headers, 'whsec_x', { now: NOW })
  const guard = new trust.webhook.ReplayGuard(600)
  guard.check(result, { now: NOW })
  assert.throws(() => guard.check(result, { now: NOW + 1 }), (e) => e instanceof trust.VerificationError && e.code === 'REPLAYED')
  assert.throws(() => guard.checkId('github', '', { now: NOW }), (e) => e.code === 'MALFORMED')
  assert.throws(() => new trust.webhook.ReplayGuard(600, { store: 'mysql://db/x' }), (e) => e instanceof trust.UsageError)
  const url = process.env.TRUST_TEST_REDIS_URL
  if (!url) {
    if (process.env.CI === 'true') assert.fail('TRUST_TEST_REDIS_URL is required under CI=true')
    t.skip('TRUST_TEST_REDIS_URL unset')
    return
  }
  const ns = 'nodetest-' + crypto.randomBytes(6).toString('hex')
  const now = Math.floor(Date.now() / 1000)
  const a = new trust.webhook.ReplayGuard(600, { store: url })
  const b = new trust.webhook.ReplayGuard(600, { store: url })
  a.checkId(ns, 'evt_1', { now })
  assert.throws(() => b.checkId(ns, 'evt_1', { now }), (e) => e.code === 'REPLAYED')
})

test('destroy with its guard: refused while in use, forced with a reason, then unreadable', () => {
  const { home } = newHome()
  const blob = home.seal('orders', Buffer.from('x'))
  assert.throws(() => home.destroy('orders', 1), (e) => e instanceof trust.UsageError && e.code === 'INVALID_TRANSITION')
  home.rotate('orders', true)
  home.retire('orders', 1)
  assert.throws(() => home.destroy('orders', 1), (e) => e instanceof trust.RefusedError && e.code === 'KEY_STILL_IN_USE')
  assert.throws(() => home.destroy('orders', 1, { force: true }), (e) => e instanceof trust.UsageError)
  assert.deepStrictEqual(home.destroy('orders', 1, { force: true, reason: 'test: data re-encrypted' }), { destroyed: true, forced: true })
  assert.throws(() => home.open(blob), (e) => e instanceof trust.KeyUnavailableError && e.code === 'KEY_DESTROYED')
  assert.throws(() => home.scheduleDestroy('orders', 2), (e) => e instanceof trust.UsageError) // the Primary
  home.rotate('orders', true)
  home.retire('orders', 2)
  home.scheduleDestroy('orders', 2)
  home.cancelDestroy('orders', 2)
})
