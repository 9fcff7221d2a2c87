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

class Home {
  constructor (inner) { this._inner = inner }
  static init (dir, options = {}) { return new Home(call(() => native.Home.init(dir, options))) }
  static open (dir, options) { return new Home(call(() => native.Home.open(dir, options))) }
  createKeyring (name, suite) { call(() => this._inner.createKeyring(name, suite)) }
  keyrings () { return call(() => this._inner.keyrings()) }
  keyringInfo (name) { return JSON.parse(call(() => this._inner.keyringInfoJson(name))) }
  rotate (name, promote = false) { return call(() => this._inner.rotate(name, promote)) }
  promote (name, version) { call(() => this._inner.promote(name, version)) }
  retire (name, version) { call(() => this._inner.retire(name, version)) }
  enable (name, version) { call(() => this._inner.enable(name, version)) }
  seal (name, data, context) { return call(() => this._inner.seal(name, data, context)) }
  open (blob, context) { return call(() => this._inner.openBlob(blob, context)) }
  sealToken (name, data, context) { return call(() => this._inner.sealToken(name, data, context)) }
  openToken (token, context) { return call(() => this._inner.openToken(token, context)) }
  rewrap (blob) { return call(() => this._inner.rewrap(blob)) }
}

const webhook = {
  verify (scheme, body, headers, secrets, options) {
    const list = Array.isArray(secrets) ? secrets : [secrets]
    const lower = {}
    for (const [k, v] of Object.entries(headers || {})) lower[k] = Array.isArray(v) ? v.join(', ') : String(v)
    return call(() => native.webhookVerify(scheme, body, lower, list, options))
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
  Home, webhook, password, redact,
  TrustError, VerificationError, KeyUnavailableError, RefusedError, InputError, UsageError
}
