// Type-checked (never run) by .ci/packages: `tsc --noEmit --strict` against index.d.ts, so the
// hand-written declarations keep matching the API the tests exercise.
import * as trust from '../index.js'
async function main (): Promise<void> {
  const home = await trust.Home.openAsync('/x')
  const v = new trust.Vault(home, {})
  const s = v.get('a', 'b/c', { purpose: 'p' })
  const n: number = s.version
  const r = await v.refresh('a', 'b/c', { purpose: 'p', margin: 1, refresher: async () => ({ value: 'x' }) })
  const o: string = r.outcome
  const log = trust.audit.Log.init('/x', { origin: 'o' })
  const i: number = log.append('e', { attrs: { a: 'b' } })
  new trust.Mfa(home).verify('u', '123456', { now: 1 })
  new trust.AccessControl({ a: ['b'] }).authorize('t', 'm', 'a.b', { tenant: 't', kind: 'k', id: '1' })
  new trust.webhook.ReplayGuard(600, { store: 'redis://127.0.0.1/' }).checkId('github', 'd1', { now: 1 })
  const signed: Record<string, string> = trust.webhook.sign('stripe', Buffer.from('{}'), ['whsec_x'], { now: 1, id: 'd' })
  const q: string = trust.webhook.signQuery('shopify-oauth', 'shop=x.myshopify.com', 'k')
  console.log(n, o, i, signed, q)
  const hsm = await trust.Home.initAsync('/h', { rootPkcs11: 'pkcs11:token=t;object=o?module-path=/m.so', pinEnv: 'PIN' })
  const kms = trust.Home.open('/k', { pinFile: '/run/pin' })
  const moved: number = await trust.Home.rewrapRootAsync('/x', { toAwsKms: 'alias/trust', rootKeyFile: '/k' })
  console.log(hsm.path, kms.path, moved + trust.Home.rewrapRoot('/y', { toPkcs11: 'pkcs11:…' }))
}
void main()
