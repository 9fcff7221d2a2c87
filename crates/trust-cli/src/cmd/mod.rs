//! One module per command group; each parses its own arguments and calls `trust-core`.

pub(crate) mod audit;
pub(crate) mod crypt;
pub(crate) mod demo;
pub(crate) mod gdpr;
pub(crate) mod generate;
pub(crate) mod home;
pub(crate) mod init;
pub(crate) mod keys;
pub(crate) mod mfa;
pub(crate) mod password;
pub(crate) mod redact;
pub(crate) mod secrets;
pub(crate) mod store;
pub(crate) mod tls;
pub(crate) mod token;
pub(crate) mod webhook;
