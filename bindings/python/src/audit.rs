//! `trust.audit`: the append-only, signed, provable audit log.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use pyo3::prelude::*;
use trust_core::audit::{
    AuditLog, Entry, InitOptions, Receipt, Verifier, VerifyOptions, verify_log,
};
use trust_core::error::Category;

use crate::errors::{core, raise};

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Log>()?;
    m.add_function(wrap_pyfunction!(audit_verify_json, m)?)?;
    m.add_function(wrap_pyfunction!(audit_verify_proof, m)?)?;
    Ok(())
}

fn verifier(vkey: &str) -> PyResult<Verifier> {
    Verifier::from_vkey(vkey.trim()).map_err(core)
}

/// An audit log directory opened for appending. Thread-safe.
#[pyclass(frozen, module = "trust.audit")]
pub(crate) struct Log {
    pub(crate) inner: Arc<AuditLog>,
}

#[pymethods]
impl Log {
    /// Creates a log in `path` (and its Ed25519 checkpoint key, mode 0600) and opens it.
    #[staticmethod]
    #[pyo3(signature = (path, *, origin))]
    fn init(py: Python<'_>, path: PathBuf, origin: String) -> PyResult<Self> {
        let inner = py
            .detach(|| {
                AuditLog::init(&path, &InitOptions::new(origin))?;
                AuditLog::open(&path)
            })
            .map_err(core)?;
        Ok(Self {
            inner: Arc::new(inner),
        })
    }

    /// Opens an existing log for appending.
    #[staticmethod]
    fn open(py: Python<'_>, path: PathBuf) -> PyResult<Self> {
        let inner = py.detach(|| AuditLog::open(&path)).map_err(core)?;
        Ok(Self {
            inner: Arc::new(inner),
        })
    }

    /// The verifier key auditors need (`trust audit verify --vkey`).
    #[getter]
    fn vkey(&self) -> String {
        self.inner.verifier().vkey()
    }

    /// The log's origin line.
    #[getter]
    fn origin(&self) -> &str {
        self.inner.origin()
    }

    /// The number of entries.
    #[getter]
    fn size(&self, py: Python<'_>) -> PyResult<u64> {
        py.detach(|| self.inner.size()).map_err(core)
    }

    /// Appends one entry, durably; returns its index. `actor` and `subject` are stored as
    /// keyed pseudonyms, never in clear.
    #[pyo3(signature = (event, *, actor=None, subject=None, attrs=None, payload=None))]
    fn append(
        &self,
        py: Python<'_>,
        event: String,
        actor: Option<String>,
        subject: Option<String>,
        attrs: Option<BTreeMap<String, String>>,
        payload: Option<Vec<u8>>,
    ) -> PyResult<u64> {
        let mut entry = Entry::new(event);
        entry.actor = actor;
        entry.subject = subject;
        entry.attrs = attrs.unwrap_or_default();
        entry.payload = payload;
        entry.validate().map_err(core)?;
        py.detach(|| self.inner.append(&entry)).map_err(core)
    }

    /// Signs a checkpoint of the current tree; returns `(size, note)`.
    fn checkpoint(&self, py: Python<'_>) -> PyResult<(u64, String)> {
        let cp = py.detach(|| self.inner.checkpoint()).map_err(core)?;
        Ok((cp.checkpoint.size, cp.note))
    }

    /// An inclusion receipt (text) for entry `index` against the latest checkpoint, or the one
    /// of tree size `size`.
    #[pyo3(signature = (index, size=None))]
    fn prove(&self, py: Python<'_>, index: u64, size: Option<u64>) -> PyResult<String> {
        let r = py.detach(|| self.inner.prove(index, size)).map_err(core)?;
        Ok(r.to_text())
    }

    fn __repr__(&self) -> String {
        format!("<trust.audit.Log {}>", self.inner.dir().display())
    }
}

/// Verifies the whole log in `path` against `vkey`; returns the report as JSON, or raises
/// `VerificationError` whose code is the failure kind (the same as `trust audit verify`).
#[pyfunction]
#[pyo3(signature = (path, vkey, *, check_payloads=true))]
fn audit_verify_json(
    py: Python<'_>,
    path: PathBuf,
    vkey: &str,
    check_payloads: bool,
) -> PyResult<String> {
    let verifier = verifier(vkey)?;
    let report = py
        .detach(|| {
            let mut opts = VerifyOptions::new(vec![verifier]);
            opts.check_payloads = check_payloads;
            verify_log(&path, &opts)
        })
        .map_err(core)?;
    if let Some(failure) = &report.failure {
        let kind = failure.kind.as_str();
        let at = report
            .first_bad_index
            .map_or(String::new(), |i| format!(", first bad entry {i}"));
        return Err(raise(
            Category::Verification,
            kind,
            format!(
                "audit log verification failed: {kind}{at}: {}",
                failure.detail
            ),
            None,
        ));
    }
    serde_json::to_string(&report).map_err(|e| crate::errors::invalid(e.to_string()))
}

/// Verifies an inclusion receipt against `vkey`; returns `(index, checkpoint_size, event,
/// time_unix_ms)`.
#[pyfunction]
#[pyo3(signature = (receipt, vkey, *, origin=None))]
fn audit_verify_proof(
    receipt: &str,
    vkey: &str,
    origin: Option<&str>,
) -> PyResult<(u64, u64, String, i64)> {
    let verifier = verifier(vkey)?;
    let receipt = Receipt::parse(receipt.as_bytes()).map_err(core)?;
    let origin = origin.unwrap_or(verifier.name()).to_owned();
    let (cp, leaf) = receipt
        .verify(std::slice::from_ref(&verifier), Some(&origin), None)
        .map_err(core)?;
    Ok((
        receipt.index,
        cp.checkpoint.size,
        leaf.event_type,
        leaf.time_unix_ms,
    ))
}
