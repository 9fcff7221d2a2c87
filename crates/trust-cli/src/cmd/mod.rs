//! One module per command group; each parses its own arguments and calls `trust-core`.

pub(crate) mod generate;
pub(crate) mod webhook;
