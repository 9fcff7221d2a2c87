//! # trust-ffi: the trust layer as a C ABI
//!
//! Connector apps are mostly written in Node, Python, PHP or Ruby. This crate exposes
//! `trust-core` to them as a plain C library (`libtrust.so` / `libtrust.a`, header
//! `include/trust.h`) that a host can load without a compiler (ctypes, koffi, PHP FFI, Ruby
//! Fiddle). It adds no logic of its own: every function converts arguments, calls the core and
//! converts the result. How to link and load it is in `docs/ffi.md`.
//!
//! ## Conventions (rustls-ffi's; docs/ffi.md)
//!
//! * Everything is prefixed `trust_`. Handles are opaque, made by `trust_X_new`/`_open` and
//!   released by `trust_X_free`; `_free(NULL)` is a no-op.
//! * Parameters come in the order *handle, inputs, outputs, `err_out`*. Every data pointer is
//!   followed by its length; a NULL data pointer is accepted only with length 0.
//! * Fallible functions return a [`status::trust_status`]: `TRUST_OK` (0) or a failure whose
//!   family (`status / 100`) matches the CLI exit code. Outputs are written **only on success**.
//! * The optional last parameter `trust_error **err_out` receives, on failure, an error object
//!   with a stable code and a one-line message ([`error`]); there is no thread-local last error.
//! * Variable-length and secret outputs are library-owned [`bytes::trust_bytes`], zeroized when
//!   freed. Fixed-size public outputs go to caller buffers sized by a `TRUST_*_BYTES` macro,
//!   each mirrored by a function for hosts that cannot read macros.
//! * Every entry point checks its pointers and catches panics (the private `boundary` module):
//!   a panic becomes `TRUST_PANIC`, never an abort of the host process.
//!
//! ## Modules
//!
//! | C names | module |
//! |---|---|
//! | `trust_status`, `trust_status_str` | [`status`] |
//! | `trust_error_*` | [`error`] |
//! | `trust_bytes_*` | [`bytes`] |
//! | `trust_audit_log_*` | [`audit`] |
//! | `trust_subjects_*`, `trust_gdpr_verify_receipt` | [`gdpr`] |
//! | `trust_subjects_export`, `trust_gdpr_verify_export` (signed subject export bundles) | [`gdpr_export`] |
//! | `trust_gdpr_request_*`, `trust_gdpr_requests_list` (the request register) | [`gdpr_requests`] |
//! | `trust_home_*` (directories and store URLs), `trust_context_*` (keyrings, seal/open, tokens) | [`home`] |
//! | `trust_merkle_*` | [`merkle`] |
//! | `trust_mfa_*` (TOTP enrollment, verification, recovery codes) | [`mfa`] |
//! | `trust_password_*` | [`password`] |
//! | `trust_access_token_*` (scoped session tokens) | [`token`] |
//! | `trust_access_*` (roles, members, overrides, authorize) | [`access`] |
//! | `trust_rate_limiter_*` (GCRA, in-process or Redis) | [`ratelimit`] |
//! | `trust_vault_*` (named, versioned, audited secrets; OAuth refresh) | [`vault`] |
//! | `trust_redact`, `trust_redactor_*` | [`redact`] |
//! | `trust_rewrapper_*` (rewrap with the census destroy relies on) | [`rewrap`] |
//! | `trust_home_encrypt_file`, `trust_home_decrypt_file` (streaming, atomic) | [`stream`] |
//! | `trust_webhook_*` (verification, replay guard) | [`webhook`] |
//! | `trust_webhook_sign`, `trust_webhook_signed_*` (signing, for tests) | [`webhook_sign`] |
//! | `TRUST_VERSION_*`, `trust_version`, `trust_abi_version`, `trust_test_panic` | [`version`] |
//!
//! The header is generated from these sources by cbindgen (`crates/trust-ffi/cbindgen.toml`,
//! pinned version in `.ci/run`) and committed; CI fails when it drifts.

// The workspace denies `unsafe_code`, and trust-core forbids it. This crate is the one place
// where it is needed: a C ABI receives raw pointers, and turning them into references is unsafe
// by nature. Every unsafe block carries a `// SAFETY:` comment (clippy's
// `undocumented_unsafe_blocks` is denied workspace-wide), unsafe operations inside unsafe
// functions must be in their own blocks, and the pointer handling is concentrated in
// `boundary`.
#![allow(unsafe_code)]
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(missing_docs)]
#![deny(clippy::missing_safety_doc)]

pub mod access;
pub mod audit;
mod boundary;
pub mod bytes;
pub mod error;
pub mod gdpr;
pub mod gdpr_export;
pub mod gdpr_requests;
pub mod home;
pub mod merkle;
pub mod mfa;
pub mod password;
pub mod ratelimit;
pub mod redact;
pub mod rewrap;
pub mod status;
pub mod stream;
pub mod token;
pub mod vault;
pub mod version;
pub mod webhook;
pub mod webhook_sign;
