// Type declarations for @trust/node.
/// <reference types="node" />

export type Context = Record<string, string>
export type Secret = string | Buffer

export declare class TrustError extends Error {
  /** The stable code string, the same as the CLI's `--json` code and the C ABI's. */
  readonly code: string
  /** The family: VERIFICATION_FAILED, USAGE, INPUT_UNREADABLE, KEY_UNAVAILABLE, REFUSED, INTERNAL. */
  readonly category: string
}
export declare class VerificationError extends TrustError {}
export declare class KeyUnavailableError extends TrustError {}
export declare class RefusedError extends TrustError {}
export declare class InputError extends TrustError {}
export declare class UsageError extends TrustError {}

export interface HomeOptions {
  rootKeyFile?: string
  passphrase?: Secret
}

export declare class Home {
  static init(path: string, options: HomeOptions): Home
  static open(path: string, options?: HomeOptions): Home
  createKeyring(name: string, suite?: 'aes-256-gcm' | 'xchacha20-poly1305'): void
  keyrings(): string[]
  keyringInfo(name: string): Record<string, unknown>
  rotate(name: string, promote?: boolean): number
  promote(name: string, version: number): void
  retire(name: string, version: number): void
  enable(name: string, version: number): void
  seal(name: string, data: Buffer, context?: Context): Buffer
  open(blob: Buffer, context?: Context): Buffer
  sealToken(name: string, data: Buffer, context?: Context): string
  openToken(token: string, context?: Context): Buffer
  rewrap(blob: Buffer): Buffer
}

export interface VerifyOptions {
  now?: number
  url?: string
  method?: string
  query?: string
  apiKey?: string
  tolerance?: number
  lenient?: boolean
}

export interface WebhookResult {
  scheme: string
  secretIndex: number
  timestamp?: number
  deliveryId?: string
  shop?: string
}

export declare const webhook: {
  verify(scheme: string, body: Buffer, headers: Record<string, string | string[]>, secrets: Secret | Secret[], options?: VerifyOptions): WebhookResult
}

export declare const password: {
  hash(pw: string): Promise<string>
  verify(phc: string, pw: string): Promise<boolean>
  verifyAndUpgrade(phc: string, pw: string): Promise<{ matched: boolean, rehash: string | null }>
  hashSync(pw: string): string
  verifySync(phc: string, pw: string): boolean
}

export declare function redact(text: string): string
