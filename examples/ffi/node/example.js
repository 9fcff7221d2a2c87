// The trust C ABI from Node, through koffi (npm install --prefix examples/ffi/node).
//
// 1. verify a Shopify webhook (raw body + X-Shopify-Hmac-Sha256), and reject a forged one;
// 2. seal an Odoo API key into a tle1 token for a database column, and open it again;
// 3. append who did what to the tamper-evident audit log, and verify the log.
//
// Run: TRUST_LIB=target/release/libtrust.so node examples/ffi/node/example.js
// Checks every result itself and exits non-zero on the first surprise.
'use strict';
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const koffi = require('koffi');

const lib = koffi.load(process.env.TRUST_LIB || path.join(__dirname, '../../../target/release/libtrust.so'));
const TRUST_OK = 0;
const TRUST_VERIFICATION_FAILED = 100;
const TRUST_ABI_VERSION = 1;
const SCHEME_DEFAULT = 2n ** 64n - 1n;

// Opaque handles are plain pointers; outputs are `void **` written by the library.
const H = 'void *';
const OUT = koffi.out(koffi.pointer('void *'));
const f = (decl) => lib.func(decl);
const abiVersion = f('uint32_t trust_abi_version(void)');
const version = f('const char *trust_version(void)');
const statusStr = f('const char *trust_status_str(uint32_t)');
const errorCode = f('const char *trust_error_code(void *)');
const errorMessage = f('const char *trust_error_message(void *)');
const errorFree = f('void trust_error_free(void *)');
const bytesData = f('const uint8_t *trust_bytes_data(void *)');
const bytesLen = f('size_t trust_bytes_len(void *)');
const bytesFree = f('void trust_bytes_free(void *)');
const verifierNew = lib.func('trust_webhook_verifier_new', 'uint32_t',
  ['const uint8_t **', 'const size_t *', 'size_t', 'uint64_t', OUT, OUT]);
const verifierFree = f('void trust_webhook_verifier_free(void *)');
const verifyShopify = lib.func('trust_webhook_verify_shopify', 'uint32_t',
  [H, 'const uint8_t *', 'size_t', 'const uint8_t *', 'size_t', OUT]);
const homeInit = lib.func('trust_home_init_key_file', 'uint32_t',
  ['const uint8_t *', 'size_t', 'const uint8_t *', 'size_t', OUT, OUT]);
const homeFree = f('void trust_home_free(void *)');
const createKeyring = lib.func('trust_home_create_keyring', 'uint32_t', [H, 'const uint8_t *', 'size_t', 'uint32_t', OUT]);
const contextNew = lib.func('trust_context_new', 'uint32_t', [OUT, OUT]);
const contextAdd = lib.func('trust_context_add', 'uint32_t',
  [H, 'const uint8_t *', 'size_t', 'const uint8_t *', 'size_t', OUT]);
const contextFree = f('void trust_context_free(void *)');
const sealToken = lib.func('trust_home_seal_token', 'uint32_t',
  [H, 'const uint8_t *', 'size_t', H, 'const uint8_t *', 'size_t', OUT, OUT]);
const openToken = lib.func('trust_home_open_token', 'uint32_t', [H, H, 'const uint8_t *', 'size_t', OUT, OUT]);
const logInit = lib.func('trust_audit_log_init', 'uint32_t',
  ['const uint8_t *', 'size_t', 'const uint8_t *', 'size_t', OUT, OUT]);
const logOpen = lib.func('trust_audit_log_open', 'uint32_t', ['const uint8_t *', 'size_t', OUT, OUT]);
const logAppend = lib.func('trust_audit_log_append', 'uint32_t',
  [H, 'const uint8_t *', 'size_t', 'const uint8_t *', 'size_t', 'const uint8_t *', 'size_t',
    'const uint8_t *', 'size_t', koffi.out(koffi.pointer('uint64_t')), OUT]);
const logFree = f('void trust_audit_log_free(void *)');
const logVerify = lib.func('trust_audit_log_verify', 'uint32_t',
  ['const uint8_t *', 'size_t', 'const uint8_t *', 'size_t', OUT, OUT]);

class TrustError extends Error {
  constructor(status, code, message) { super(`${code}: ${message}`); this.status = status; this.code = code; }
}

// Calls fn(...args, &err); throws TrustError(status, code, message) on failure.
function call(fn, ...args) {
  const err = [null];
  const status = fn(...args, err);
  if (status !== TRUST_OK) {
    const code = err[0] ? errorCode(err[0]) : statusStr(status);
    const message = err[0] ? errorMessage(err[0]) : '';
    errorFree(err[0]);
    throw new TrustError(status, code, message);
  }
}

// Calls a constructor-like function whose last output is a handle, and returns the handle.
function make(fn, ...args) {
  const out = [null];
  call(fn, ...args, out);
  return out[0];
}

// Copies a trust_bytes into a Buffer and frees (zeroizes) the library's copy.
function take(bytes) {
  try {
    const len = Number(bytesLen(bytes));
    return Buffer.from(koffi.decode(bytesData(bytes), koffi.array('uint8_t', len)));
  } finally {
    bytesFree(bytes);
  }
}

const b = (s) => Buffer.from(s);

assert.strictEqual(abiVersion(), TRUST_ABI_VERSION, 'library built for another ABI');
console.log(version());

// 1. Shopify webhook.
const secret = b('hush');
const verifier = make(verifierNew, [secret], [secret.length], 1, SCHEME_DEFAULT);
const body = b('{"id":1,"email":"a@b.c","note":"café"}');
const hmac = b('y6QjIArjFx3gEoeTLJw77ufusmczpg61ege7jjodI/E=');
call(verifyShopify, verifier, hmac, hmac.length, body, body.length);
assert.throws(() => call(verifyShopify, verifier, hmac, hmac.length, b('{"id":2}'), 8),
  (e) => e.status === TRUST_VERIFICATION_FAILED && e.code === 'SIGNATURE_INVALID');
verifierFree(verifier);
console.log('webhook: authentic delivery accepted, forged one rejected');

const tmp = fs.mkdtempSync(path.join(process.cwd(), 'trust-example-'));
try {
  const homeDir = b(path.join(tmp, 'home'));
  const keyFile = b(path.join(tmp, 'root.key'));
  const logDir = b(path.join(tmp, 'audit'));

  // 2. Seal a credential into a token bound to its tenant, then open it.
  const home = make(homeInit, homeDir, homeDir.length, keyFile, keyFile.length);
  call(createKeyring, home, b('credentials'), 11, 1);
  const ctx = make(contextNew);
  call(contextAdd, ctx, b('tenant'), 6, b('acme'), 4);
  const credential = b('odoo-api-key-123');
  const token = take(make(sealToken, home, b('credentials'), 11, ctx, credential, credential.length));
  assert.ok(token.toString().startsWith('tle1.'));
  const plain = take(make(openToken, home, ctx, token, token.length));
  assert.ok(plain.equals(credential));
  contextFree(ctx);
  homeFree(home);
  console.log(`token: ${token.subarray(0, 12)}... opens to the sealed secret`);

  // 3. Audit: append, then verify the whole log with the auditor's key.
  const vkey = take(make(logInit, logDir, logDir.length, b('example.com/audit'), 17));
  const log = make(logOpen, logDir, logDir.length);
  const index = [0n];
  const actor = b('ops@example.com');
  call(logAppend, log, b('credential.seal'), 15, actor, actor.length, b('acme'), 4, null, 0, index);
  call(logAppend, log, b('webhook.accept'), 14, null, 0, null, 0, body, body.length, index);
  assert.strictEqual(Number(index[0]), 1);
  logFree(log);
  const report = take(make(logVerify, logDir, logDir.length, vkey, vkey.length));
  assert.ok(report.toString().includes('"entries":2'), report.toString());
  console.log('audit: 2 entries appended, log verifies');
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}
console.log('example: ok');
