//! Root keys and signing keys that live in a PKCS#11 token.
//!
//! trust-core protects every keyring with a [`RootKey`](trust_core::root::RootKey): something
//! that wraps and unwraps small secrets with associated data. The local root is 32 bytes in a
//! file or derived from a passphrase, which is the one secret a copy of the server's disk
//! gives away. This crate puts that key in a hardware security module (or a cloud HSM, a
//! YubiHSM, SoftHSM for tests) where it can be *used* but never *copied*:
//!
//! ```text
//! Pkcs11RootKey ── C_Encrypt / C_Decrypt (CKM_AES_GCM, AAD) ──▶ token: AES-256, sensitive,
//!                                                                never extractable
//! ```
//!
//! * [`Pkcs11Uri`] parses the RFC 7512 URI that names the module, the token and the object:
//!   `pkcs11:token=trust-prod;object=trust-root?module-path=/usr/lib/softhsm/libsofthsm2.so`.
//! * [`Pkcs11RootKey`] implements `RootKey` with AES-256-GCM *inside the token*:
//!   `0x01 ‖ IV(12) ‖ ciphertext ‖ tag(16)`. GCM rather than AES key wrap with padding
//!   (RFC 5649) because GCM authenticates the associated data: every wrap is bound to the
//!   keyring name and version (or the home's check label), exactly as the local root binds
//!   them, so a wrapped key cannot be moved between keyrings. KWP has no associated data; it
//!   would need a second mechanism to bind it. The IV is 96 random bits from the operating
//!   system, per wrap; a home wraps once per keyring change, far below the 2^32 wraps per key
//!   that NIST SP 800-38D allows with random IVs.
//! * [`Pkcs11Signer`] signs audit checkpoints and GDPR receipts with an Ed25519 key in the
//!   token (`CKM_EDDSA`), so no signing key file exists on disk.
//!
//! ## PIN handling
//!
//! The user PIN is a [`secrecy::SecretString`]; the CLI takes it from `TRUST_PKCS11_PIN` or a
//! PIN file, never from argv, and never from the URI (`pin-value` is refused by the parser).
//! It is kept in memory for the life of the key because a lost session has to log in again.
//!
//! ## Sessions
//!
//! A PKCS#11 session serves one thread at a time. Each key holds a small pool: an operation
//! takes an idle session or opens one, and gives it back. When the token logs us out, closes
//! our sessions, or the module is finalized and re-initialized (a token pulled and re-inserted,
//! an HSM failover), the operation is retried once on a fresh, logged-in session. Callers see
//! success or one typed error.
//!
//! ## Errors and exit codes
//!
//! [`Pkcs11Error`] implements [`TrustError`](trust_core::error::TrustError) and converts into
//! [`RootKeyError::Backend`](trust_core::root::RootKeyError::Backend): a wrong PIN, a locked PIN,
//! a missing token or key are *key unavailable* (CLI exit 4); a module that cannot be loaded is
//! an unreadable input (exit 3); a bad URI is a usage error (exit 2).
//!
//! ## What the token does and does not protect
//!
//! A token stops anyone from *copying* the root key: a stolen disk, backup or memory dump of a
//! stopped process yields no root. It does not stop a compromised *live* process that holds the
//! PIN from asking the token to unwrap keyring keys; that process can decrypt what the home
//! protects for as long as it runs. See docs/threat-model.md.
#![forbid(unsafe_code)]

mod error;
mod root;
mod signer;
mod token;
pub mod uri;

pub use error::Pkcs11Error;
pub use root::{IV_LEN, OVERHEAD, Pkcs11RootKey, TAG_LEN, WRAP_FORMAT_GCM};
pub use signer::Pkcs11Signer;
pub use uri::{Pkcs11Uri, UriError};

/// The environment variable the CLI reads the user PIN from.
pub const PIN_ENV: &str = "TRUST_PKCS11_PIN";
