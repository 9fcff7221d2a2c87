//! The CLI tests: one binary (as in ripgrep), one module per area, one harness.
//!
//! Every module runs the built `trust` through [`harness`]; run one area with
//! `cargo test -p trust-cli --test cli keys::`.
// Test code: a failed unwrap is a failed test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod harness;

mod access;
mod audit;
mod audit_export;
mod conventions;
mod crypt;
mod demo;
mod gdpr;
mod keys;
mod mfa;
mod pkcs11;
mod secrets;
mod store;
mod webhook;
