//! The `trust` Python package's native module (`trust._native`).
//!
//! Every function here is a thin call into trust-core: it converts Python values to Rust ones,
//! releases the GIL around work that takes time (argon2, I/O, bulk encryption), and maps
//! trust-core errors to `trust.TrustError` subclasses carrying the same stable code strings as
//! the CLI's `--json` output and the C ABI's `trust_error_code`. The Python modules under
//! `python/trust/` give the public names and type stubs.
#![forbid(unsafe_code)]

mod audit;
mod errors;
mod home;
mod password;
mod redact;
mod session;
mod subjects;
mod vault;
mod webhook;
mod webhook_sign;

use pyo3::prelude::*;

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    errors::register(m)?;
    home::register(m)?;
    webhook::register(m)?;
    webhook_sign::register(m)?;
    password::register(m)?;
    redact::register(m)?;
    audit::register(m)?;
    subjects::register(m)?;
    session::register(m)?;
    vault::register(m)?;
    Ok(())
}
