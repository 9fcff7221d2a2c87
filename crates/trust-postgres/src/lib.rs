//! trust's shared state on PostgreSQL, for many workers on many hosts.
//!
//! trust-core keeps every piece of state behind a store trait whose embedded default is a local
//! directory. This crate implements those traits on PostgreSQL, in the manner of rustls's crypto
//! providers: trust-core's dependency tree stays small, and an app that needs a shared store
//! adds this crate (or opens stores by URL through `trust-backends`).
//!
//! ## Pieces
//!
//! | piece | module |
//! |---|---|
//! | a `postgres://` URL: `sslmode`, `sslrootcert`, rustls | [`config`] |
//! | the pool; one transaction per operation; reconnects and retries | [`Database`] |
//! | the schema, created and migrated by the library | [`migrate`] |
//! | what can go wrong, with exit-code categories | [`Error`] |
//! | audit logs: group commit under a tree-row lock, export, search | [`audit`] |
//! | the home record and keyrings (compare-and-swap) | [`home`] |
//! | subject keys (creation race, final tombstones) | [`subject`] |
//! | the GDPR request register (table lock, changed rows only) | [`register`] |
//! | webhook seen ids (`INSERT … ON CONFLICT` with expiry) | [`seen`] |
//! | the GDPR receipt signing key, sealed under the home | [`signer`] |
//! | vault secrets (compare-and-swap on the revision) | [`vault`] |
//! | TOTP factors (last-accepted-step CAS), recovery codes, MFA policy | [`mfa`] |
//! | a fresh schema per test (feature `testing`) | `testing` |
//!
//! ## Guarantees
//!
//! * **Synchronous API.** The `postgres` client keeps its tokio runtime inside; callers (the CLI,
//!   the C ABI, the packages) see plain blocking calls.
//! * **Nothing half-applied.** Each operation is one transaction; a dropped connection gives
//!   [`Error::ConnectionLost`] (nothing applied) or [`Error::OutcomeUnknown`] (during commit),
//!   and the next call reconnects.
//! * **The database is storage, not a root of trust.** Rows hold the same authenticated bytes as
//!   the local files; whoever can write the database cannot forge them.
//! * **No password in output.** URLs display redacted and server messages are scrubbed of the
//!   URL's password ([`trust_core::store_url`]).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod audit;
pub mod config;
mod database;
mod error;
pub mod home;
pub mod mfa;
pub mod migrate;
pub mod register;
pub mod seen;
pub mod signer;
pub mod subject;
#[cfg(feature = "testing")]
pub mod testing;
pub mod vault;

pub use audit::{LogLocation, PgLogStore};
pub use config::{ConnectOptions, SslMode, Verification};
pub use database::Database;
pub use error::Error;
pub use home::{PgHomeRecords, PgKeyringStore, init_home, open_home};
pub use mfa::PgMfaStore;
pub use postgres::Transaction;
pub use register::PgRequestRegister;
pub use seen::PgSeenStore;
pub use signer::load_or_create_signer;
pub use subject::PgSubjectStore;
pub use vault::PgVaultStore;
