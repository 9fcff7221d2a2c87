//! `trust.password`: argon2id hashing, verification and upgrade from bcrypt; the GIL is
//! released while argon2 runs, so threads hash in parallel.

use std::sync::OnceLock;

use pyo3::prelude::*;
use trust_core::password::{self, PasswordHasher};

use crate::errors::core;

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(password_hash, m)?)?;
    m.add_function(wrap_pyfunction!(password_verify, m)?)?;
    m.add_function(wrap_pyfunction!(password_verify_and_upgrade, m)?)?;
    m.add_function(wrap_pyfunction!(password_needs_rehash, m)?)?;
    m.add_function(wrap_pyfunction!(password_verify_unknown_user, m)?)?;
    Ok(())
}

/// The default hasher (trust-core's argon2id parameters, no pepper), built once.
fn hasher() -> &'static PasswordHasher {
    static HASHER: OnceLock<PasswordHasher> = OnceLock::new();
    HASHER.get_or_init(PasswordHasher::new)
}

/// Hashes a new password into an argon2id PHC string.
#[pyfunction]
fn password_hash(py: Python<'_>, password: &str) -> PyResult<String> {
    py.detach(|| hasher().hash(password)).map_err(core)
}

/// True when `password` matches `phc` (argon2 PHC string or legacy bcrypt hash).
#[pyfunction]
fn password_verify(py: Python<'_>, phc: &str, password: &str) -> PyResult<bool> {
    py.detach(|| hasher().verify(password, phc)).map_err(core)
}

/// `(matched, new_hash)`: `new_hash` is a fresh argon2id hash to store when `phc` is outdated
/// (bcrypt, other parameters), else None.
#[pyfunction]
fn password_verify_and_upgrade(
    py: Python<'_>,
    phc: &str,
    password: &str,
) -> PyResult<(bool, Option<String>)> {
    let v = py
        .detach(|| hasher().verify_and_upgrade(password, phc))
        .map_err(core)?;
    Ok(match v {
        password::Verified::Match { rehash } => (true, rehash),
        _ => (false, None),
    })
}

/// True when `phc` should be replaced at the next successful login.
#[pyfunction]
fn password_needs_rehash(phc: &str) -> bool {
    hasher().needs_rehash(phc)
}

/// Spends one verification's time and returns False (for unknown login names).
#[pyfunction]
fn password_verify_unknown_user(py: Python<'_>, password: &str) -> bool {
    py.detach(|| hasher().verify_unknown_user(password))
}
