'use strict'
// @trust/node: the trust layer for SaaS connector apps, over the Rust library trust-core.
// The native addon is built by `napi build` (npm install runs it); this file gives the public
// names and turns the addon's errors into TrustError instances carrying `.code` and `.category`.

const path = require('node:path')
const fs = require('node:fs')

function loadAddon () {
  if (process.env.TRUST_NODE_ADDON) return require(path.resolve(process.env.TRUST_NODE_ADDON))
  const local = fs.readdirSync(__dirname).find((f) => f.startsWith('trust.') && f.endsWith('.node'))
  if (!local) throw new Error('@trust/node: the native addon is not built (run `npm run build`)')
  return require(path.join(__dirname, local))
}

const native = loadAddon()
const SEP = '\u001f'

// The addon links trust-core directly (no C ABI between them), so the version contract is the
// addon's own: it must come from the same release as this file.
const EXPECTED_VERSION = require('./package.json').version
if (typeof native.nativeVersion !== 'function' || native.nativeVersion() !== EXPECTED_VERSION) {
  const got = typeof native.nativeVersion === 'function' ? native.nativeVersion() : 'unknown'
  throw new Error(`@trust/node: the native addon is version ${got}, this package ${EXPECTED_VERSION} (rebuild it with \`npm run build\`)`)
}

class TrustError extends Error {
  constructor (message, code, category) {
    super(message)
    this.name = 'TrustError'
    this.code = code
    this.category = category
  }
}
class VerificationError extends TrustError { constructor (m, c, k) { super(m, c, k); this.name = 'VerificationError' } }
class KeyUnavailableError extends TrustError { constructor (m, c, k) { super(m, c, k); this.name = 'KeyUnavailableError' } }
class RefusedError extends TrustError { constructor (m, c, k) { super(m, c, k); this.name = 'RefusedError' } }
class InputError extends TrustError { constructor (m, c, k) { super(m, c, k); this.name = 'InputError' } }
class UsageError extends TrustError { constructor (m, c, k) { super(m, c, k); this.name = 'UsageError' } }

const BY_CATEGORY = {
  VERIFICATION_FAILED: VerificationError,
  KEY_UNAVAILABLE: KeyUnavailableError,
  REFUSED: RefusedError,
  INPUT_UNREADABLE: InputError,
  USAGE: UsageError
}

function convert (err) {
  const parts = typeof err?.message === 'string' ? err.message.split(SEP) : []
  if (parts.length !== 3) return err
  const [code, category, message] = parts
  const Cls = BY_CATEGORY[category] || TrustError
  return new Cls(message, code, category)
}

function call (fn) {
  try { return fn() } catch (err) { throw convert(err) }
}

async function callAsync (promise) {
  try { return await promise } catch (err) { throw convert(err) }
}

function inner (obj, what) {
  if (obj && obj._inner) return obj._inner
  throw new TypeError(`${what} must be a trust ${what}`)
}

class Home {
  constructor (inner) { this._inner = inner }
  static init (dir, options = {}) { return new Home(call(() => native.Home.init(dir, options))) }
  static open (dir, options) { return new Home(call(() => native.Home.open(dir, options))) }
  static async initAsync (dir, options = {}) { return new Home(await callAsync(call(() => native.Home.initAsync(dir, options)))) }
  static async openAsync (dir, options) { return new Home(await callAsync(call(() => native.Home.openAsync(dir, options)))) }
  static rewrapRoot (dir, options) { return call(() => native.Home.rewrapRoot(dir, options)) }
  static async rewrapRootAsync (dir, options) { return await callAsync(call(() => native.Home.rewrapRootAsync(dir, options))) }
  get path () { return this._inner.path }
  createKeyring (name, suite) { call(() => this._inner.createKeyring(name, suite)) }
  keyrings () { return call(() => this._inner.keyrings()) }
  keyringInfo (name) { return JSON.parse(call(() => this._inner.keyringInfoJson(name))) }
  rotate (name, promote = false) { return call(() => this._inner.rotate(name, promote)) }
  promote (name, version) { call(() => this._inner.promote(name, version)) }
  retire (name, version) { call(() => this._inner.retire(name, version)) }
  enable (name, version) { call(() => this._inner.enable(name, version)) }
  scheduleDestroy (name, version) { call(() => this._inner.scheduleDestroy(name, version)) }
  cancelDestroy (name, version) { call(() => this._inner.cancelDestroy(name, version)) }
  destroy (name, version, options) { return call(() => this._inner.destroy(name, version, options)) }
  seal (name, data, context) { return call(() => this._inner.seal(name, data, context)) }
  open (blob, context) { return call(() => this._inner.openBlob(blob, context)) }
  sealToken (name, data, context) { return call(() => this._inner.sealToken(name, data, context)) }
  openToken (token, context) { return call(() => this._inner.openToken(token, context)) }
  rewrap (blob) { return call(() => this._inner.rewrap(blob)) }
  rewrapToken (token, context) { return call(() => this._inner.rewrapToken(token, context)) }
  encryptFile (name, src, dst, context) { return call(() => this._inner.encryptFile(name, src, dst, context)) }
  decryptFile (src, dst, context) { return call(() => this._inner.decryptFile(src, dst, context)) }
}

class Subjects {
  constructor (home, options = {}) {
    const { audit, ...rest } = options
    this._inner = call(() => new native.Subjects(inner(home, 'Home'), rest, audit ? inner(audit, 'audit.Log') : undefined))
  }

  get signerPublicKey () { return this._inner.signerPublicKey }
  tag (keyring, subject) { return call(() => this._inner.tag(keyring, subject)) }
  seal (keyring, subject, data, context) { return call(() => this._inner.seal(keyring, subject, data, context)) }
  open (blob, context) { return call(() => this._inner.open(blob, context)) }
  erase (keyring, subject, options) { return JSON.parse(call(() => this._inner.erase(keyring, subject, options))) }
  export (keyring, subject, records, out, options = {}) {
    const list = records.map(({ category, record }) => ({ category, json: JSON.stringify(record) }))
    return JSON.parse(call(() => this._inner.export(keyring, subject, list, out, options.request)))
  }
}

class SessionTokens {
  constructor (home) { this._inner = call(() => new native.SessionTokens(inner(home, 'Home'))) }
  issue (keyring, tenant, scopes, options) { return call(() => this._inner.issue(keyring, tenant, scopes, options)) }
  verify (token, options) { return call(() => this._inner.verify(token, options)) }
}

class AccessControl {
  constructor (roles) {
    const json = roles === undefined || typeof roles === 'string' ? roles : JSON.stringify(roles)
    this._inner = call(() => new native.AccessControl(json))
  }

  addMember (tenant, member, roles) { call(() => this._inner.addMember(tenant, member, roles)) }
  removeMember (tenant, member) { this._inner.removeMember(tenant, member) }
  revokeRole (tenant, member, role) { this._inner.revokeRole(tenant, member, role) }
  allow (tenant, member, pattern) { call(() => this._inner.allow(tenant, member, pattern)) }
  deny (tenant, member, pattern) { call(() => this._inner.deny(tenant, member, pattern)) }
  authorize (tenant, member, action, resource) { call(() => this._inner.authorize(tenant, member, action, resource)) }
  isAllowed (tenant, member, action, resource) {
    try { this.authorize(tenant, member, action, resource); return true } catch (e) {
      if (e instanceof RefusedError) return false
      throw e
    }
  }
}

class RateLimiter {
  constructor (rate, options) { this._inner = call(() => new native.RateLimiter(rate, options)) }
  check (tenant, route, cost) { return call(() => this._inner.check(tenant, route, cost)) }
}

class Vault {
  constructor (home, options = {}) {
    this._inner = call(() => new native.Vault(inner(home, 'Home'), options.keyring, options.audit ? inner(options.audit, 'audit.Log') : undefined))
  }

  put (actor, name, value, options) { return call(() => this._inner.put(actor, name, value, options)) }
  rotate (actor, name, value, options) { return call(() => this._inner.rotate(actor, name, value, options)) }
  get (actor, name, { purpose, version } = {}) { return call(() => this._inner.get(actor, name, purpose, version)) }
  list (tenant) { return call(() => this._inner.list(tenant)) }
  info (name) { return call(() => this._inner.info(name)) }
  needsRefresh (name, margin, now) { return call(() => this._inner.needsRefresh(name, margin, now)) }
  delete (actor, name) { call(() => this._inner.delete(actor, name)) }
  redact (text) { return this._inner.redact(text) }

  // Reads the token; if it expires within `margin` seconds, awaits `refresher(current)` (the
  // provider call) and commits its {value, refreshToken, expires} with a compare-and-swap: of
  // two workers refreshing at once one stores its token, the other gets the winner's.
  async refresh (actor, name, { purpose, margin, refresher, now }) {
    const current = this.get(actor, name, { purpose })
    const nowS = now ?? Math.floor(Date.now() / 1000)
    if (current.expires == null || current.expires > nowS + margin) return { secret: current, outcome: 'still-fresh' }
    const fresh = await refresher(current)
    return call(() => this._inner.commitRefresh(actor, name, purpose, margin, fresh))
  }
}

class Mfa {
  constructor (home, options = {}) {
    this._inner = call(() => new native.Mfa(inner(home, 'Home'), options.issuer, options.keyring, options.audit ? inner(options.audit, 'audit.Log') : undefined))
  }

  enroll (user, options) { return call(() => this._inner.enroll(user, options)) }
  verify (user, code, { device, now } = {}) { return call(() => this._inner.verify(user, code, device, now)) }
  recoveryCodes (user) { return call(() => this._inner.recoveryCodes(user)) }
  redeemRecoveryCode (user, code) { call(() => this._inner.redeemRecoveryCode(user, code)) }
  remainingRecoveryCodes (user) { return call(() => this._inner.remainingRecoveryCodes(user)) }
  isEnrolled (user) { return call(() => this._inner.isEnrolled(user)) }
  remove (user) { return call(() => this._inner.remove(user)) }
}

class Log {
  constructor (inner) { this._inner = inner }
  static init (dir, { origin }) { return new Log(call(() => native.AuditLog.init(dir, origin))) }
  static open (dir) { return new Log(call(() => native.AuditLog.open(dir))) }
  get vkey () { return this._inner.vkey }
  get origin () { return this._inner.origin }
  get size () { return call(() => this._inner.size()) }
  append (event, options) { return call(() => this._inner.append(event, options)) }
  checkpoint () { return call(() => this._inner.checkpoint()) }
  prove (index, size) { return call(() => this._inner.prove(index, size)) }
}

const audit = {
  Log,
  verify (dir, vkey, { checkPayloads = true } = {}) { return JSON.parse(call(() => native.auditVerifyJson(dir, vkey, checkPayloads))) },
  verifyProof (receipt, vkey, { origin } = {}) { return call(() => native.auditVerifyProof(receipt, vkey, origin)) }
}

class ReplayGuard {
  constructor (ttl, { store, capacity } = {}) { this._inner = call(() => new native.ReplayGuard(ttl, store, capacity)) }
  // Records a verified delivery (webhook.verify's result); throws a VerificationError with code
  // REPLAYED when its id was seen (answer 200 and skip it), MALFORMED when it carries none.
  check (result, { now } = {}) { call(() => this._inner.checkId(result.scheme, result.deliveryId ?? '', now)) }
  checkId (namespace, id, { now } = {}) { call(() => this._inner.checkId(namespace, id, now)) }
}

const QUERY_SCHEMES = ['shopify-oauth', 'shopify-app-proxy']
function wrongFunction (message) {
  return new UsageError(message, 'WEBHOOK_CONFIG', 'USAGE')
}

const webhook = {
  ReplayGuard,
  verify (scheme, body, headers, secrets, options) {
    const list = Array.isArray(secrets) ? secrets : [secrets]
    const lower = {}
    for (const [k, v] of Object.entries(headers || {})) lower[k] = Array.isArray(v) ? v.join(', ') : String(v)
    return call(() => native.webhookVerify(scheme, body, lower, list, options))
  },
  // Signs a delivery as the provider would (for tests): its headers, name -> value in the
  // provider's order, which verify() accepts under the same scheme, secrets and options.
  // Shopify OAuth and App Proxy sign a query string instead: signQuery().
  sign (scheme, body, secrets, options) {
    if (QUERY_SCHEMES.includes(scheme)) throw wrongFunction(`${scheme} signs a query string: use webhook.signQuery`)
    const list = Array.isArray(secrets) ? secrets : [secrets]
    const signed = call(() => native.webhookSign(scheme, body, list, options))
    const headers = {}
    for (const { name, value } of signed.headers) headers[name] = value
    return headers
  },
  // Appends `hmac` (shopify-oauth) or `signature` (shopify-app-proxy) to a raw query string.
  signQuery (scheme, query, secrets) {
    if (!QUERY_SCHEMES.includes(scheme)) throw wrongFunction(`${scheme} signs headers: use webhook.sign`)
    const list = Array.isArray(secrets) ? secrets : [secrets]
    return call(() => native.webhookSign(scheme, Buffer.alloc(0), list, { query })).query
  }
}

const password = {
  hash (pw) { return native.passwordHash(pw).catch((e) => { throw convert(e) }) },
  async verify (phc, pw) {
    try { const [ok] = await native.passwordVerify(phc, pw, false); return ok !== null } catch (e) { throw convert(e) }
  },
  async verifyAndUpgrade (phc, pw) {
    try {
      const [ok, rehash] = await native.passwordVerify(phc, pw, true)
      return { matched: ok !== null, rehash: rehash ?? null }
    } catch (e) { throw convert(e) }
  },
  hashSync (pw) { return call(() => native.passwordHashSync(pw)) },
  verifySync (phc, pw) { return call(() => native.passwordVerifySync(phc, pw)) }
}

function redact (text) { return native.redact(text) }

module.exports = {
  Home, Subjects, SessionTokens, AccessControl, RateLimiter, Vault, Mfa, audit, webhook, password, redact,
  TrustError, VerificationError, KeyUnavailableError, RefusedError, InputError, UsageError
}
