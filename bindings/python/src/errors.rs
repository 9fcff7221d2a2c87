//! Exceptions: `TrustError` with `.code`, `.category` and `.hint`, one subclass per category.

use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};
use trust_core::error::{Category, TrustError as CoreError};
use trust_core::secret::SecretBytes;

pyo3::create_exception!(
    trust,
    TrustError,
    PyException,
    "A trust-core failure; `.code` is the stable code string, `.category` its family."
);
pyo3::create_exception!(
    trust,
    VerificationError,
    TrustError,
    "A signature, MAC, tag or proof did not verify (CLI exit code 1)."
);
pyo3::create_exception!(
    trust,
    UsageError,
    TrustError,
    "The request or configuration is invalid (CLI exit code 2)."
);
pyo3::create_exception!(
    trust,
    InputError,
    TrustError,
    "An input is missing or unreadable (CLI exit code 3)."
);
pyo3::create_exception!(
    trust,
    KeyUnavailableError,
    TrustError,
    "The key needed is unknown, disabled, destroyed, or its subject erased (exit code 4)."
);
pyo3::create_exception!(
    trust,
    RefusedError,
    TrustError,
    "A destructive operation was not confirmed or not permitted (exit code 5)."
);

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("TrustError", py.get_type::<TrustError>())?;
    m.add("VerificationError", py.get_type::<VerificationError>())?;
    m.add("UsageError", py.get_type::<UsageError>())?;
    m.add("InputError", py.get_type::<InputError>())?;
    m.add("KeyUnavailableError", py.get_type::<KeyUnavailableError>())?;
    m.add("RefusedError", py.get_type::<RefusedError>())?;
    Ok(())
}

/// Builds the exception for `category`, with its attributes set.
pub(crate) fn raise(category: Category, code: &str, message: String, hint: Option<&str>) -> PyErr {
    let err = match category {
        Category::Verification => VerificationError::new_err(message),
        Category::Usage => UsageError::new_err(message),
        Category::Input => InputError::new_err(message),
        Category::KeyUnavailable => KeyUnavailableError::new_err(message),
        Category::Refused => RefusedError::new_err(message),
        _ => TrustError::new_err(message),
    };
    Python::attach(|py| {
        let value = err.value(py);
        // Setting plain attributes on a fresh exception instance cannot fail short of memory
        // exhaustion; if it does, the exception still carries its class and message.
        let _ = value.setattr("code", code);
        let _ = value.setattr("category", category.as_str());
        let _ = value.setattr("hint", hint);
    });
    err
}

/// Maps any trust-core error to its Python exception.
pub(crate) fn core<E: CoreError>(err: E) -> PyErr {
    raise(err.category(), err.code(), err.to_string(), err.hint())
}

/// A bad argument caught at the boundary, with the C ABI's code for it.
pub(crate) fn invalid(message: impl Into<String>) -> PyErr {
    raise(Category::Usage, "INVALID_ARGUMENT", message.into(), None)
}

/// A secret given as `bytes` or `str` (UTF-8), copied once into zeroizing memory.
pub(crate) fn secret(value: &Bound<'_, PyAny>, what: &str) -> PyResult<SecretBytes> {
    if let Ok(b) = value.cast::<PyBytes>() {
        return Ok(SecretBytes::from(b.as_bytes().to_vec()));
    }
    if let Ok(s) = value.cast::<PyString>() {
        return Ok(SecretBytes::from(s.to_cow()?.as_bytes().to_vec()));
    }
    Err(pyo3::exceptions::PyTypeError::new_err(format!(
        "{what} must be bytes or str"
    )))
}
