'use strict'
// Homes whose root key is in an HSM (SoftHSM2 over PKCS#11) or AWS KMS (moto_server, an
// EMULATOR of the KMS API, not AWS itself), from Node. `source .ci/softhsm` and
// `source .ci/moto` export what these tests read; without them the tests skip with the reason
// printed, and under CI=true they fail instead.
const test = require('node:test')
const assert = require('node:assert')
const crypto = require('node:crypto')
const fs = require('node:fs')
const http = require('node:http')
const os = require('node:os')
const path = require('node:path')
const { execFileSync } = require('node:child_process')
const trust = require('..')

function tmp () { return fs.mkdtempSync(path.join(os.tmpdir(), 'trust-node-custody-')) }

function cliPath () {
  if (process.env.TRUST_CLI) return process.env.TRUST_CLI
  const target = process.env.CARGO_TARGET_DIR || path.join(__dirname, '..', '..', '..', 'target')
  return path.join(target, 'debug', 'trust')
}

// The reason to skip, or false; under CI=true a missing server fails the test instead.
function missing (vars, how) {
  const absent = vars.filter((v) => !process.env[v])
  if (absent.length === 0) return false
  const reason = `${absent.join(', ')} unset (${how})`
  if (process.env.CI === 'true') return false // the test runs and fails on the missing variable
  console.log(`skipping: ${reason}`)
  return reason
}
const noHsm = missing(['TRUST_TEST_PKCS11_MODULE'], 'source .ci/softhsm for a SoftHSM2 token')
const noKms = missing(['TRUST_TEST_KMS_ENDPOINT'], 'source .ci/moto for the moto KMS emulator')
const noCli = !fs.existsSync(cliPath()) && process.env.CI !== 'true' && 'trust CLI not built (cargo build -p trust-cli)'

function need (v) {
  assert.ok(process.env[v], `${v} is unset under CI=true`)
  return process.env[v]
}

function hsmUri () {
  const module = need('TRUST_TEST_PKCS11_MODULE')
  const token = process.env.TRUST_TEST_PKCS11_TOKEN || 'trust-ci'
  // A fresh object per test (and per run: the token outlives test runs).
  return `pkcs11:token=${token};object=node-${crypto.randomBytes(6).toString('hex')}?module-path=${module}`
}
// The tests name their PIN source; the default variable must not answer for them.
delete process.env.TRUST_PKCS11_PIN
process.env.NODE_TEST_HSM_PIN = process.env.TRUST_TEST_PKCS11_PIN || '1234'

// KMS configured the AWS way, from the environment (the SDK inside trust reads it), and
// nothing from the machine running the tests.
function kmsEnv (dir) {
  const endpoint = need('TRUST_TEST_KMS_ENDPOINT')
  Object.assign(process.env, {
    AWS_ENDPOINT_URL: endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    AWS_CONFIG_FILE: path.join(dir, 'no-aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: path.join(dir, 'no-aws-credentials'),
    AWS_EC2_METADATA_DISABLED: 'true'
  })
  delete process.env.AWS_PROFILE
  return endpoint
}

// One unsigned CreateKey (moto accepts it while its IAM checks are off).
async function createKey (endpoint) {
  const res = await fetch(endpoint, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/x-amz-json-1.1',
      'X-Amz-Target': 'TrentService.CreateKey',
      Authorization: 'AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/kms/aws4_request, SignedHeaders=host, Signature=00'
    },
    body: '{}'
  })
  assert.strictEqual(res.status, 200)
  return (await res.json()).KeyMetadata.KeyId
}

function inNewProcess (code) {
  return execFileSync(process.execPath, ['-e', code], { env: process.env, cwd: path.join(__dirname, '..') }).toString()
}

test('HSM home: init, seal, reopen in a new process, the CLI opens it', { skip: noHsm }, async () => {
  const dir = tmp()
  const homeDir = path.join(dir, 'home')
  const home = await trust.Home.initAsync(homeDir, { rootPkcs11: hsmUri(), pinEnv: 'NODE_TEST_HSM_PIN' })
  assert.match(JSON.parse(fs.readFileSync(path.join(homeDir, 'home.json'), 'utf8')).root.uri, /module-path/)
  home.createKeyring('creds')
  const token = home.sealToken('creds', Buffer.from('shpat_from_node'), { shop: 'a' })

  const pinFile = path.join(dir, 'pin')
  fs.writeFileSync(pinFile, process.env.NODE_TEST_HSM_PIN + '\n')
  const out = inNewProcess(`const trust = require('.'); const h = trust.Home.open(${JSON.stringify(homeDir)}, { pinFile: ${JSON.stringify(pinFile)} }); process.stdout.write(h.openToken(${JSON.stringify(token)}, { shop: 'a' }))`)
  assert.strictEqual(out, 'shpat_from_node')
  const again = await trust.Home.openAsync(homeDir, { pinFile })
  assert.deepStrictEqual(again.openToken(token, { shop: 'a' }), Buffer.from('shpat_from_node'))

  if (noCli) return console.log(`skipping the CLI part: ${noCli}`)
  const env = { ...process.env, TRUST_PKCS11_PIN: process.env.NODE_TEST_HSM_PIN }
  const fromCli = execFileSync(cliPath(), ['--home', homeDir, 'decrypt', '--context', 'shop=a'], { input: token, env })
  assert.strictEqual(fromCli.toString(), 'shpat_from_node')
})

test('HSM: a wrong PIN is a KeyUnavailableError, sync and async, never echoed', { skip: noHsm }, async () => {
  const dir = tmp()
  const homeDir = path.join(dir, 'home')
  trust.Home.init(homeDir, { rootPkcs11: hsmUri(), pinEnv: 'NODE_TEST_HSM_PIN' }).createKeyring('k')
  // In a fresh process: PKCS#11 logs in per process, so while a home of this process holds a
  // session on the token (until it is garbage-collected), the token accepts any login.
  const script = `
    const trust = require('.')
    const [homeDir, other, uri] = process.argv.slice(1)
    const seen = (e) => [e.constructor.name, e.code, e.message.includes('wrong-pin-0000')]
    ;(async () => {
      const out = []
      try { trust.Home.open(homeDir, { pinEnv: 'NODE_TEST_WRONG_PIN' }); out.push('opened') } catch (e) { out.push(seen(e)) }
      await trust.Home.openAsync(homeDir, { pinEnv: 'NODE_TEST_WRONG_PIN' }).then(() => out.push('opened'), (e) => out.push(seen(e)))
      await trust.Home.initAsync(other, { rootPkcs11: uri, pinEnv: 'NODE_TEST_WRONG_PIN' }).then(() => out.push('created'), (e) => out.push(seen(e)))
      process.stdout.write(JSON.stringify(out))
    })()`
  const out = execFileSync(process.execPath, ['-e', script, homeDir, path.join(dir, 'other'), hsmUri()],
    { env: { ...process.env, NODE_TEST_WRONG_PIN: 'wrong-pin-0000' }, cwd: path.join(__dirname, '..'), timeout: 60_000 })
  const wrong = ['KeyUnavailableError', 'PKCS11_WRONG_PIN', false]
  assert.deepStrictEqual(JSON.parse(out.toString()), [wrong, wrong, wrong])
  assert.ok(!fs.existsSync(path.join(dir, 'other', 'home.json')))
  // PIN sources are checked.
  assert.throws(() => trust.Home.init(path.join(dir, 'h'), { rootPkcs11: hsmUri(), pinEnv: 'NODE_TEST_UNSET_PIN_VARIABLE' }),
    (e) => e instanceof trust.InputError && e.code === 'INPUT_UNREADABLE' && e.message.includes('NODE_TEST_UNSET_PIN_VARIABLE'))
  assert.throws(() => trust.Home.init(path.join(dir, 'h'), { rootPkcs11: hsmUri() }),
    (e) => e instanceof trust.UsageError && e.code === 'PKCS11_NO_PIN')
  await assert.rejects(trust.Home.initAsync(path.join(dir, 'h'), { rootPkcs11: hsmUri(), pinEnv: 'A', pinFile: 'B' }),
    (e) => e instanceof trust.UsageError && e.code === 'INVALID_ARGUMENT')
  assert.throws(() => trust.Home.init(path.join(dir, 'h'), { rootKeyFile: path.join(dir, 'k'), pinEnv: 'NODE_TEST_HSM_PIN' }), trust.UsageError)
  assert.throws(() => trust.Home.init(path.join(dir, 'h'), { rootKeyFile: path.join(dir, 'k'), rootPkcs11: hsmUri() }), trust.UsageError)
  assert.throws(() => trust.Home.open(homeDir, { rootPkcs11: hsmUri() }), trust.UsageError)
})

test('rewrapRootAsync moves a key-file home into the HSM; the old key no longer opens it', { skip: noHsm }, async () => {
  const dir = tmp()
  const homeDir = path.join(dir, 'home')
  const home = trust.Home.init(homeDir, { rootKeyFile: path.join(dir, 'root.key') })
  home.createKeyring('a')
  const blob = home.seal('a', Buffer.from('kept'))
  assert.strictEqual(await trust.Home.rewrapRootAsync(homeDir, { toPkcs11: hsmUri(), pinEnv: 'NODE_TEST_HSM_PIN' }), 1)
  assert.deepStrictEqual(trust.Home.open(homeDir, { pinEnv: 'NODE_TEST_HSM_PIN' }).open(blob), Buffer.from('kept'))
  assert.throws(() => trust.Home.open(homeDir, { rootKeyFile: path.join(dir, 'root.key') }), trust.TrustError)
  assert.throws(() => trust.Home.rewrapRoot(homeDir, {}), trust.UsageError)
})

test('KMS home: init, seal, reopen in a new process, the CLI opens it', { skip: noKms }, async () => {
  const dir = tmp()
  const endpoint = kmsEnv(dir)
  const key = await createKey(endpoint)
  const homeDir = path.join(dir, 'home')
  const home = await trust.Home.initAsync(homeDir, { rootAwsKms: key })
  assert.ok(JSON.parse(fs.readFileSync(path.join(homeDir, 'home.json'), 'utf8')).root.uri.startsWith(`aws-kms:key=${key};store=`))
  home.createKeyring('creds')
  const token = home.sealToken('creds', Buffer.from('sk_live_node'), { tenant: 'acme' })
  const out = inNewProcess(`const trust = require('.'); const h = trust.Home.open(${JSON.stringify(homeDir)}); process.stdout.write(h.openToken(${JSON.stringify(token)}, { tenant: 'acme' }))`)
  assert.strictEqual(out, 'sk_live_node')
  if (noCli) return console.log(`skipping the CLI part: ${noCli}`)
  const fromCli = execFileSync(cliPath(), ['--home', homeDir, 'decrypt', '--context', 'tenant=acme'], { input: token })
  assert.strictEqual(fromCli.toString(), 'sk_live_node')
})

test('KMS: unreachable endpoint, missing region, bad key id are typed errors', { skip: noKms }, async () => {
  const dir = tmp()
  const endpoint = kmsEnv(dir)
  const key = await createKey(endpoint)
  const homeDir = path.join(dir, 'home')
  trust.Home.init(homeDir, { rootAwsKms: key }).createKeyring('k')
  assert.throws(() => trust.Home.init(path.join(dir, 'x'), { rootAwsKms: 'not a key id' }), (e) => e instanceof trust.UsageError && e.code === 'KMS_KEY_ID_INVALID')
  assert.throws(() => trust.Home.init(path.join(dir, 'x'), { rootAwsKms: key, pinEnv: 'NODE_TEST_HSM_PIN' }), trust.UsageError)
  process.env.AWS_ENDPOINT_URL = 'http://127.0.0.1:9' // nothing listens on loopback's discard port
  try {
    await assert.rejects(trust.Home.openAsync(homeDir), (e) => e instanceof trust.InputError && e.code === 'KMS_UNREACHABLE')
    await assert.rejects(trust.Home.initAsync(path.join(dir, 'fresh'), { rootAwsKms: key }), (e) => e.code === 'KMS_UNREACHABLE')
    assert.ok(!fs.existsSync(path.join(dir, 'fresh', 'home.json')))
  } finally {
    process.env.AWS_ENDPOINT_URL = endpoint
  }
  delete process.env.AWS_REGION
  try {
    assert.throws(() => trust.Home.open(homeDir), (e) => e instanceof trust.UsageError && e.code === 'KMS_CONFIG_INCOMPLETE')
  } finally {
    process.env.AWS_REGION = 'us-east-1'
  }
})

// The strongest check that openAsync leaves the event loop free: the KMS endpoint it calls is
// a proxy served by THIS process's event loop. Were the KMS call made on the loop's thread, no
// request could be answered and the open would fail; here every request the SDK sends is
// counted as served by the loop while the promise is pending.
test('openAsync/initAsync make their KMS calls off the event loop', { skip: noKms }, async () => {
  const dir = tmp()
  const upstream = new URL(kmsEnv(dir))
  const key = await createKey(upstream.href)
  let served = 0
  const proxy = http.createServer((req, res) => {
    const fwd = http.request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
      served++
      res.writeHead(up.statusCode, up.headers)
      up.pipe(res)
    })
    req.pipe(fwd)
  })
  await new Promise((resolve) => proxy.listen(0, '127.0.0.1', resolve))
  process.env.AWS_ENDPOINT_URL = `http://127.0.0.1:${proxy.address().port}`
  try {
    const homeDir = path.join(dir, 'home')
    const home = await trust.Home.initAsync(homeDir, { rootAwsKms: key })
    const afterInit = served
    assert.ok(afterInit >= 1, `initAsync's KMS calls were answered by this event loop (${afterInit})`)
    assert.deepStrictEqual(home.keyrings(), [])
    // createKeyring is synchronous: its KMS Encrypt runs on this thread, so it must not go
    // through the proxy this thread serves (a home's KMS client keeps the endpoint it was
    // opened with: open one straight to the emulator).
    process.env.AWS_ENDPOINT_URL = upstream.href
    trust.Home.open(homeDir).createKeyring('k')
    process.env.AWS_ENDPOINT_URL = `http://127.0.0.1:${proxy.address().port}`
    const opened = await trust.Home.openAsync(homeDir)
    assert.ok(served > afterInit, 'openAsync reached KMS through this event loop')
    assert.ok(opened.keyrings().includes('k'))
  } finally {
    process.env.AWS_ENDPOINT_URL = upstream.href
    proxy.close()
  }
})

// The same for the HSM path, which cannot be watched from outside the process: the PIN file
// is a FIFO, written by this process's event loop only after openAsync/initAsync returned. The
// read (like every HSM call after it) happens inside the async task; were it made on the
// loop's thread, the loop could never write the PIN and the child would hang until killed.
test('openAsync/initAsync read the PIN and make their HSM calls off the event loop', { skip: noHsm }, () => {
  const dir = tmp()
  const uri = hsmUri()
  const homeDir = path.join(dir, 'home')
  trust.Home.init(homeDir, { rootPkcs11: uri, pinEnv: 'NODE_TEST_HSM_PIN' }).createKeyring('k')
  const fifo = path.join(dir, 'pin.fifo')
  execFileSync('mkfifo', ['-m', '600', fifo])
  const script = `
    const fs = require('node:fs')
    const trust = require('.')
    const [homeDir, fifo, uri, other] = process.argv.slice(1)
    const feed = () => new Promise((resolve, reject) =>
      fs.writeFile(fifo, process.env.NODE_TEST_HSM_PIN + '\\n', (e) => (e ? reject(e) : resolve())))
    ;(async () => {
      const opening = trust.Home.openAsync(homeDir, { pinFile: fifo })
      await feed()
      const home = await opening
      const creating = trust.Home.initAsync(other, { rootPkcs11: uri, pinFile: fifo })
      await feed()
      await creating
      process.stdout.write(home.keyrings().join(','))
    })().catch((e) => { console.error(e); process.exit(1) })`
  const out = execFileSync(process.execPath, ['-e', script, homeDir, fifo, uri, path.join(dir, 'other')],
    { env: process.env, cwd: path.join(__dirname, '..'), timeout: 60_000, killSignal: 'SIGKILL' })
  assert.strictEqual(out.toString(), 'k')
  assert.ok(fs.existsSync(path.join(dir, 'other', 'home.json')))
})
