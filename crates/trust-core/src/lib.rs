//! # trust-core: the trust layer for SaaS connector apps
//!
//! Connector apps (a Shopify⇄Odoo order sync, a Stripe→HubSpot streamer, a support-chat app for
//! Shopify merchants) all promise their customers the same things on their security pages:
//! credentials encrypted at rest and decrypted only at job time, keys rotated on a schedule,
//! webhooks verified before any processing, an immutable audit trail, GDPR erasure and export on
//! request, hashed passwords, TLS 1.2+ and tenant isolation. This crate turns each promise into a
//! small, tested primitive so that an app does not hand-roll them.
//!
//! ## Map of the crate
//!
//! | promise | module |
//! |---|---|
//! | secrets never leak through `Debug`, logs or errors | [`secret`] |
//! | a failure says what happened, in a stable category | [`error`] |
//! | state on disk survives a crash | [`durable`] |
//! | every security-relevant change is recorded | [`event`] |
//! | time is injected, so every deadline is testable | [`clock`] |
//! | the envelope asks for keys, the keyring decides policy | [`keys`] |
//! | webhooks and signed requests are verified before any processing | [`webhook`] |
//! | credentials and records encrypted at rest, bound to their context, rotatable | [`envelope`] |
//! | root keys: a key file or a passphrase (argon2id), later an HSM/KMS | [`kek`] |
//! | keyrings: versions, rotation, authenticated files, the home | [`keyring`] |
//! | passwords hashed with argon2id, peppered, upgraded from bcrypt | [`password`] |
//! | TLS 1.2+ with AEAD suites only, and no `http://` endpoints | [`tls`] |
//! | tenant isolation, roles as data, per-member overrides | [`access`] |
//! | short-lived tenant- and scope-bound session tokens | [`token`] |
//! | APIs rate-limited per tenant and route | [`ratelimit`] |
//! | an append-only, signed, provable audit trail | [`audit`] |
//! | personal identifiers become keyed, versioned, domain-separated pseudonyms | [`pseudonym`] |
//! | credentials are never written to logs | [`redact`] |
//! | erasure is one call; exports, deadlines, retention and breaches are tracked | [`gdpr`] |
//! | administrators prove a second factor (TOTP, replay-proof) | [`mfa`] |
//! | third-party credentials: named, versioned, sealed, access-listed, audited | [`vault`] |
//!
//! The first six rows are the foundations every other module builds on; each module opens with
//! chapter-style docs of its own.
//!
//! ## Conventions every module follows
//!
//! * **Opaque failures.** A failed MAC, tag, commitment or signature check says only that it
//!   failed — never which byte or which key. Every error type reports an [`error::Category`] so
//!   callers (the CLI, the C ABI) can map it to an exit code or a status without string matching.
//! * **Secrets are typed.** Key material and tokens live in [`secret`] types that zeroize on drop
//!   and print as `<redacted>`.
//! * **Time is a parameter.** Anything that compares against "now" takes a [`clock::Clock`] or an
//!   explicit timestamp.
//! * **Bounded parsing.** Every parser of untrusted bytes enforces hard size limits before it
//!   allocates, and has a fuzz target in `fuzz/`.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![deny(rustdoc::broken_intra_doc_links)]

pub mod access;
pub mod audit;
pub mod clock;
pub mod durable;
pub mod envelope;
pub mod error;
pub mod event;
pub mod gdpr;
pub mod kek;
pub mod keyring;
pub mod keys;
pub mod mfa;
pub mod password;
pub mod pseudonym;
pub mod ratelimit;
pub mod redact;
pub mod secret;
pub mod store_url;
pub mod tls;
pub mod token;
pub mod vault;
pub mod webhook;
