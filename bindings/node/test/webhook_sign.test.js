'use strict'
// webhook.sign / signQuery: published vectors, sign → verify for every scheme, a changed body
// rejected, error paths, and interop with the CLI both ways.
const test = require('node:test')
const assert = require('node:assert')
const fs = require('node:fs')
const path = require('node:path')
const { execFileSync } = require('node:child_process')
const trust = require('..')

const T = 1700000000
const STD = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'
const BODY = Buffer.from('{"id":1,"note":"café"}')
const URL = 'https://app.example.com/hooks?x=%2Fy'

function cliPath () {
  if (process.env.TRUST_CLI) return process.env.TRUST_CLI
  const target = process.env.CARGO_TARGET_DIR || path.join(__dirname, '..', '..', '..', 'target')
  return path.join(target, 'debug', 'trust')
}
const noCli = !fs.existsSync(cliPath()) && process.env.CI !== 'true' && 'trust CLI not built (cargo build -p trust-cli)'

test('published vectors through webhook.sign', () => {
  // Stripe: stripe-python generate_signature_header (docs/webhooks.md).
  assert.deepStrictEqual(
    trust.webhook.sign('stripe', Buffer.from('{"id":"evt_test_webhook","object":"event"}'), 'whsec_test_secret', { now: T }),
    { 'Stripe-Signature': 't=1700000000,v1=d95c6b7477fbd7e9f90b1b0ef5f9c7ac25abca5382460e0d988c2b2a5b71b990' })
  // Slack: api.slack.com "Verifying requests from Slack".
  const slackBody = Buffer.from('token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c')
  const h = trust.webhook.sign('slack', slackBody, '8f742231b10e8888abcd99yyyzzz85a5', { now: 1531420618 })
  assert.strictEqual(h['X-Slack-Signature'], 'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503')
  // Shopify OAuth: shopify.dev "authorization code grant".
  const q = 'code=0907a61c0c8d55e99db179b68161bc00&shop=some-shop.myshopify.com&state=0.6784241404160823&timestamp=1337178173'
  assert.strictEqual(trust.webhook.signQuery('shopify-oauth', q, 'hush'), q + '&hmac=700e2dadb827fcc8609e9d5ce208b2e9cdaab9df07390d2cbca10d7c328fc4bf')
})

for (const scheme of ['shopify', 'shopify-session-token', 'stripe', 'hubspot-v1', 'hubspot-v2', 'hubspot-v3', 'standard-webhooks', 'github', 'slack']) {
  test(`${scheme}: sign then verify; a changed body or another secret fails`, () => {
    const secret = scheme === 'standard-webhooks' ? STD : 'hush-current'
    const opts = { now: T, url: URL, method: 'PUT', apiKey: 'app-key' }
    const headers = trust.webhook.sign(scheme, BODY, [secret], { ...opts, id: 'delivery-1', shop: 's.myshopify.com' })
    assert.strictEqual(trust.webhook.verify(scheme, BODY, headers, secret, opts).scheme, scheme)
    const other = scheme === 'standard-webhooks' ? 'whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD' : 'other'
    assert.throws(() => trust.webhook.verify(scheme, BODY, headers, other, opts), (e) => e instanceof trust.VerificationError && e.code === 'SIGNATURE_INVALID')
    if (scheme !== 'shopify-session-token') {
      assert.throws(() => trust.webhook.verify(scheme, BODY.subarray(1), headers, secret, opts), (e) => e.code === 'SIGNATURE_INVALID')
    }
  })
}

test('app proxy query signs and verifies', () => {
  const q = trust.webhook.signQuery('shopify-app-proxy', `shop=s.myshopify.com&timestamp=${T}`, ['hush'])
  assert.strictEqual(trust.webhook.verify('shopify-app-proxy', Buffer.alloc(0), {}, 'hush', { query: q, now: T }).shop, 's.myshopify.com')
})

test('sign error paths', () => {
  const cases = [
    [() => trust.webhook.sign('gitlab', BODY, 'k'), trust.UsageError, 'INVALID_ARGUMENT'],
    [() => trust.webhook.sign('hubspot-v2', BODY, 'k'), trust.UsageError, 'WEBHOOK_CONFIG'],
    [() => trust.webhook.sign('standard-webhooks', BODY, 'not-whsec'), trust.UsageError, 'WEBHOOK_CONFIG'],
    [() => trust.webhook.sign('stripe', BODY, []), trust.UsageError, 'WEBHOOK_CONFIG'],
    [() => trust.webhook.sign('shopify-oauth', BODY, 'k'), trust.UsageError, 'WEBHOOK_CONFIG'],
    [() => trust.webhook.signQuery('github', 'a=1', 'k'), trust.UsageError, 'WEBHOOK_CONFIG'],
    [() => trust.webhook.signQuery('shopify-app-proxy', 'a=1&signature=00', 'k'), trust.VerificationError, 'MALFORMED'],
    [() => trust.webhook.sign('shopify-session-token', BODY, 'k', { apiKey: 'a', shop: 'evil.example.com' }), trust.VerificationError, 'MALFORMED']
  ]
  for (const [fn, Cls, code] of cases) {
    assert.throws(fn, (e) => e instanceof Cls && e.code === code, code)
  }
})

test('signed by the CLI verifies in Node; signed in Node verifies with the CLI', { skip: noCli }, () => {
  const env = { ...process.env, TRUST_NODE_SIGN: 'hush-current' }
  const out = JSON.parse(execFileSync(cliPath(), ['--json', 'webhook', 'sign', '--provider', 'hubspot-v3', '--secret-env', 'TRUST_NODE_SIGN', '--url', URL, '--now', String(T)], { input: BODY, env }))
  const headers = Object.fromEntries(out.data.headers)
  assert.strictEqual(trust.webhook.verify('hubspot-v3', BODY, headers, 'hush-current', { url: URL, now: T }).scheme, 'hubspot-v3')

  const signed = trust.webhook.sign('shopify', BODY, 'hush-current', { id: 'd-9' })
  const args = ['--json', 'webhook', 'verify', '--provider', 'shopify', '--secret-env', 'TRUST_NODE_SIGN']
  for (const [k, v] of Object.entries(signed)) args.push('-H', `${k}: ${v}`)
  const verdict = JSON.parse(execFileSync(cliPath(), args, { input: BODY, env }))
  assert.strictEqual(verdict.data.delivery_id, 'd-9')
})
