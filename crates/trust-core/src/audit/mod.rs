//! The tamper-evident audit log.
pub mod checkpoint;
pub mod leaf;
pub mod merkle;
pub mod note;
pub mod proof;
pub mod segment;
pub mod store;
