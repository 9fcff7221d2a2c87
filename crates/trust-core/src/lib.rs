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
//! | the envelope asks for keys, the keyring decides policy | [`provider`] |
//! | webhooks and signed requests are verified before any processing | [`webhook`] |
//! | credentials and records encrypted at rest, bound to their context, rotatable | [`envelope`] |
//! | root keys: a key file or a passphrase (argon2id), later an HSM/KMS | [`root`] |
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
//! ## One path per item
//!
//! Each concept module is flat: what it offers is re-exported at its root and its files are
//! private, so there is one name for everything — `trust_core::audit::Receipt`,
//! `trust_core::gdpr::ErasureReceipt`, `trust_core::keyring::Rewrapper`,
//! `trust_core::webhook::ReplayGuard`. Two kinds of submodule stay public because they are
//! namespaces of their own: the providers under [`webhook`] (`webhook::stripe::Verifier`,
//! `webhook::shopify::WebhookVerifier`, …, each with its own `HEADER` and `sign`), and
//! [`audit::merkle`], the RFC 9162 tree functions a second implementation checks itself against.
//!
//! ```
//! use trust_core::audit::{AuditLog, Entry, InitOptions, Receipt};
//! use trust_core::gdpr::{ErasureReceipt, SubjectKeys};
//! use trust_core::keyring::{Home, Policy, Rewrapper, Rollout};
//! use trust_core::webhook::{ReplayGuard, SecretSet, stripe};
//! ```
//!
//! Whatever is not reachable this way is an implementation detail and may change in any
//! release. The `internal` module, hidden from these docs, exists only for the fuzz targets in
//! `fuzz/`; it is not part of the API either.
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
pub mod keyring;
pub mod mfa;
pub mod password;
pub mod provider;
pub mod pseudonym;
pub mod ratelimit;
pub mod redact;
pub mod root;
pub mod secret;
pub mod store_url;
pub mod tls;
pub mod token;
pub mod vault;
pub mod webhook;

/// Entry points for the fuzz targets in `fuzz/`: parsers that the public API reaches only
/// behind a key or a MAC check, exposed so the fuzzers can drive them directly.
///
/// Not part of the API: anything here may change or disappear in any release, as in rustls.
#[doc(hidden)]
pub mod internal {
    pub use crate::audit::leaf::check as audit_leaf_check;
    pub use crate::audit::segment::{
        HEADER_LEN as AUDIT_SEGMENT_HEADER_LEN, decode_header as audit_segment_decode_header,
        parse_records as audit_segment_parse_records,
        parse_records_in as audit_segment_parse_records_in,
    };
    pub use crate::audit::store::list_segments as audit_list_segments;
    pub use crate::keyring::file::{
        check as keyring_file_check, parse as keyring_file_parse, seal as keyring_file_seal,
        verify as keyring_file_verify,
    };
    pub use crate::mfa::store::parse_user_file as mfa_parse_user_file;

    /// Decodes a session-token claims body as `Tokens::verify` does after the tag verifies
    /// (a path otherwise unreachable without the key); true when it re-encodes to the same bytes.
    pub fn token_claims_round_trip(bytes: &[u8]) -> bool {
        crate::token::decode_claims_for_fuzzing(bytes)
    }
}
