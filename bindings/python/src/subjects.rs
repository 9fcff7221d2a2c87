//! `trust.Subjects`: per-data-subject keys (crypto-shredding), erasure receipts, export bundles.

use std::collections::BTreeMap;
use std::io::BufWriter;
use std::path::PathBuf;
use std::sync::Arc;

use jiff::SignedDuration;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use trust_backends::SubjectStore;
use trust_core::durable::AtomicFile;
use trust_core::event::{EventSink, NoSink};
use trust_core::gdpr::ExportWriter;
use trust_core::gdpr::Signer;
use trust_core::gdpr::{EraseOptions, SubjectKeys};
use trust_core::gdpr::{GdprError, timestamp};
use trust_core::keyring;

use crate::audit::Log;
use crate::errors::{core, invalid};
use crate::home::{context, native_home};

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Subjects>()
}

/// `value` (any serde value) as the Python object `json.loads` makes of it.
pub(crate) fn to_python<'py, T: serde::Serialize>(
    py: Python<'py>,
    value: &T,
) -> PyResult<Bound<'py, PyAny>> {
    let text = serde_json::to_string(value).map_err(|e| invalid(e.to_string()))?;
    py.import("json")?.call_method1("loads", (text,))
}

/// An audit log as the sink of a service's events, or none.
pub(crate) fn sink(audit: Option<&Bound<'_, Log>>) -> Arc<dyn EventSink> {
    match audit {
        Some(log) => log.get().inner.clone(),
        None => Arc::new(NoSink),
    }
}

/// Per-subject keys over a home. Thread-safe.
#[pyclass(frozen, module = "trust")]
pub(crate) struct Subjects {
    keys: SubjectKeys<Arc<keyring::Home>, SubjectStore>,
    signer: Signer,
    sink: Arc<dyn EventSink>,
}

#[pymethods]
impl Subjects {
    /// Subject keys of `home`: in `HOME/subjects` for a directory home (shared with `trust
    /// gdpr`), in the database for a database home. Erasure receipts are signed with the
    /// Ed25519 key in `signing_key_file` (default `HOME/gdpr/signing.p8`, created 0600).
    /// With `audit`, erasures are recorded in that log.
    #[new]
    #[pyo3(signature = (home, *, signing_key_file=None, audit=None))]
    fn new(
        py: Python<'_>,
        home: &Bound<'_, PyAny>,
        signing_key_file: Option<PathBuf>,
        audit: Option<&Bound<'_, Log>>,
    ) -> PyResult<Self> {
        let home = native_home(home)?;
        let home = home.get();
        let key_file = match (signing_key_file, home.dir()) {
            (Some(file), _) => file,
            (None, Some(dir)) => {
                // As `trust gdpr` does: the home's gdpr directory, private to this user.
                let gdpr = dir.join("gdpr");
                trust_core::durable::create_private_dir(&gdpr)
                    .map_err(GdprError::Io)
                    .map_err(core)?;
                gdpr.join("signing.p8")
            }
            (None, None) => return Err(invalid("a database home needs signing_key_file=")),
        };
        let signer = py
            .detach(|| Signer::load_or_create(&key_file))
            .map_err(core)?;
        Ok(Self {
            keys: SubjectKeys::new(Arc::clone(&home.inner), home.location.subject_store()),
            signer,
            sink: sink(audit),
        })
    }

    /// The Ed25519 public key that verifies this store's erasure receipts (32 bytes).
    #[getter]
    fn signer_public_key<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.signer.public_key())
    }

    /// The subject's pseudonym tag under `keyring` (what receipts and logs name).
    fn tag(&self, py: Python<'_>, keyring: &str, subject: &str) -> PyResult<String> {
        py.detach(|| self.keys.subject_tag(keyring, subject))
            .map_err(core)
    }

    /// Seals `data` for `subject` under `keyring`, bound to `context`.
    #[pyo3(signature = (keyring, subject, data, context=None))]
    fn seal<'py>(
        &self,
        py: Python<'py>,
        keyring: &str,
        subject: &str,
        data: &[u8],
        context: Option<BTreeMap<String, String>>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let ctx = self::context(context)?;
        let sealed = py
            .detach(|| self.keys.seal_for_subject(keyring, subject, &ctx, data))
            .map_err(core)?;
        Ok(PyBytes::new(py, &sealed))
    }

    /// Opens an envelope sealed for a subject; `KeyUnavailableError` (`SUBJECT_ERASED`) once
    /// the subject was erased.
    #[pyo3(signature = (blob, context=None))]
    fn open<'py>(
        &self,
        py: Python<'py>,
        blob: &[u8],
        context: Option<BTreeMap<String, String>>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let ctx = self::context(context)?;
        let plain = py
            .detach(|| self.keys.open_for_subject(&ctx, blob))
            .map_err(core)?;
        Ok(PyBytes::new(py, &plain))
    }

    /// Erases `subject`'s key under `keyring`: everything sealed for them becomes unreadable.
    /// Returns the signed erasure receipt as a dict.
    #[pyo3(signature = (keyring, subject, *, request=None, actor=None, backup_retention_days=35))]
    fn erase<'py>(
        &self,
        py: Python<'py>,
        keyring: &str,
        subject: &str,
        request: Option<&str>,
        actor: Option<&str>,
        backup_retention_days: u32,
    ) -> PyResult<Bound<'py, PyAny>> {
        let opts = EraseOptions {
            request,
            actor,
            at: timestamp(std::time::SystemTime::now()),
            backup_retention: SignedDuration::from_hours(i64::from(backup_retention_days) * 24),
        };
        let receipt = py
            .detach(|| {
                self.keys
                    .erase(keyring, subject, &opts, &self.signer, &*self.sink)
            })
            .map_err(core)?;
        py.import("json")?
            .call_method1("loads", (receipt.to_json(),))
    }

    /// Writes a signed export bundle (`trust-export/v1`, verifiable with `trust gdpr
    /// verify-export`) of `records` — an iterable of `(category, record)` pairs, each record
    /// any JSON-serialisable value given as its JSON text — for `subject` to `out` (mode 0600,
    /// in place only once complete). Returns the manifest as a dict.
    #[pyo3(signature = (keyring, subject, records, out, *, request=None))]
    fn export<'py>(
        &self,
        py: Python<'py>,
        keyring: &str,
        subject: &str,
        records: Vec<(String, String)>,
        out: PathBuf,
        request: Option<&str>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let mut parsed = Vec::with_capacity(records.len());
        for (i, (category, text)) in records.into_iter().enumerate() {
            let value: serde_json::Value = serde_json::from_str(&text)
                .map_err(|e| invalid(format!("record {i} is not JSON: {e}")))?;
            parsed.push((category, value));
        }
        let manifest = py
            .detach(|| -> Result<_, GdprError> {
                let tag = self.keys.subject_tag(keyring, subject)?;
                let mut file = AtomicFile::create(&out)?;
                let mut writer = ExportWriter::new(BufWriter::new(&mut file), &tag, request)?;
                for (category, value) in &parsed {
                    writer.record(category, value)?;
                }
                let (buffered, manifest) =
                    writer.finish(timestamp(std::time::SystemTime::now()), &self.signer)?;
                drop(buffered);
                file.commit()?;
                Ok(manifest)
            })
            .map_err(core)?;
        to_python(py, &manifest)
    }
}
