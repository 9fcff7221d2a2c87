//! C ABI over `trust-core` (issue #6 fills this crate in).
//!
//! Until then the crate only exists so that the workspace has the shape the design brief fixes;
//! it exports nothing.
#![deny(unsafe_op_in_unsafe_fn)]
