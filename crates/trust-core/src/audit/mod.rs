//! The tamper-evident audit log.
pub mod leaf;
pub mod merkle;
