//! `audit.Log`: the append-only, signed, provable audit log (the `trust audit` format).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use napi::Result;
use napi_derive::napi;
use trust_core::audit::{
    AuditLog as CoreLog, Entry, InitOptions, Receipt, Verifier, VerifyOptions, verify_log,
};
use trust_core::error::Category;

use crate::{core, fail, invalid};

/// An audit log directory opened for appending.
#[napi]
pub struct AuditLog {
    pub(crate) inner: Arc<CoreLog>,
}

/// Options of `AuditLog.append`.
#[napi(object)]
pub struct AppendOptions {
    /// Who acted (stored as a keyed pseudonym, never in clear).
    pub actor: Option<String>,
    /// Whom it concerns (stored as a keyed pseudonym).
    pub subject: Option<String>,
    /// Free-form attributes (no personal data).
    pub attrs: Option<HashMap<String, String>>,
}

/// A signed checkpoint.
#[napi(object)]
pub struct Checkpoint {
    pub size: i64,
    pub note: String,
}

/// A verified inclusion receipt.
#[napi(object)]
pub struct ProofResult {
    pub index: i64,
    pub checkpoint_size: i64,
    pub event: String,
    pub time_unix_ms: i64,
}

fn signed(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[napi]
impl AuditLog {
    /// Creates a log in `path` (and its Ed25519 checkpoint key, mode 0600) and opens it.
    #[napi(factory)]
    pub fn init(path: String, origin: String) -> Result<Self> {
        let path = PathBuf::from(path);
        CoreLog::init(&path, &InitOptions::new(origin)).map_err(core)?;
        Self::open(path.display().to_string())
    }

    /// Opens an existing log for appending (one writer per log).
    #[napi(factory)]
    pub fn open(path: String) -> Result<Self> {
        let log = CoreLog::open(&PathBuf::from(path)).map_err(core)?;
        Ok(Self {
            inner: Arc::new(log),
        })
    }

    /// The verifier key auditors need (`trust audit verify --vkey`).
    #[napi(getter)]
    pub fn vkey(&self) -> String {
        self.inner.verifier().vkey()
    }

    /// The log's origin line.
    #[napi(getter)]
    pub fn origin(&self) -> String {
        self.inner.origin().to_owned()
    }

    /// The number of entries.
    #[napi]
    pub fn size(&self) -> Result<i64> {
        self.inner.size().map(signed).map_err(core)
    }

    /// Appends one entry durably; returns its index.
    #[napi]
    pub fn append(&self, event: String, options: Option<AppendOptions>) -> Result<i64> {
        let mut entry = Entry::new(event);
        if let Some(o) = options {
            entry.actor = o.actor;
            entry.subject = o.subject;
            entry.attrs = o.attrs.unwrap_or_default().into_iter().collect();
        }
        entry.validate().map_err(core)?;
        self.inner.append(&entry).map(signed).map_err(core)
    }

    /// Signs a checkpoint of the current tree.
    #[napi]
    pub fn checkpoint(&self) -> Result<Checkpoint> {
        let cp = self.inner.checkpoint().map_err(core)?;
        Ok(Checkpoint {
            size: signed(cp.checkpoint.size),
            note: cp.note,
        })
    }

    /// An inclusion receipt (text) for entry `index` against the latest checkpoint, or the
    /// one of tree size `size`.
    #[napi]
    pub fn prove(&self, index: i64, size: Option<i64>) -> Result<String> {
        let index = u64::try_from(index).map_err(|_| invalid("index must be >= 0"))?;
        let size = size
            .map(|s| u64::try_from(s).map_err(|_| invalid("size must be >= 0")))
            .transpose()?;
        Ok(self.inner.prove(index, size).map_err(core)?.to_text())
    }
}

fn verifier(vkey: &str) -> Result<Verifier> {
    Verifier::from_vkey(vkey.trim()).map_err(core)
}

/// Verifies the whole log in `path` against `vkey`; returns the report as JSON text, or
/// throws a `VerificationError` whose code is the failure kind (as `trust audit verify`).
#[napi]
pub fn audit_verify_json(
    path: String,
    vkey: String,
    check_payloads: Option<bool>,
) -> Result<String> {
    let mut opts = VerifyOptions::new(vec![verifier(&vkey)?]);
    opts.check_payloads = check_payloads.unwrap_or(true);
    let report = verify_log(&PathBuf::from(path), &opts).map_err(core)?;
    if let Some(failure) = &report.failure {
        let kind = failure.kind.as_str();
        let at = report
            .first_bad_index
            .map_or(String::new(), |i| format!(", first bad entry {i}"));
        return Err(fail(
            Category::Verification,
            kind,
            &format!(
                "audit log verification failed: {kind}{at}: {}",
                failure.detail
            ),
        ));
    }
    serde_json::to_string(&report).map_err(|e| invalid(&e.to_string()))
}

/// Verifies an inclusion receipt against `vkey` (and the log's `origin`, default the key's
/// name).
#[napi]
pub fn audit_verify_proof(
    receipt: String,
    vkey: String,
    origin: Option<String>,
) -> Result<ProofResult> {
    let verifier = verifier(&vkey)?;
    let receipt = Receipt::parse(receipt.as_bytes()).map_err(core)?;
    let origin = origin.unwrap_or_else(|| verifier.name().to_owned());
    let (cp, leaf) = receipt
        .verify(std::slice::from_ref(&verifier), Some(&origin), None)
        .map_err(core)?;
    Ok(ProofResult {
        index: signed(receipt.index),
        checkpoint_size: signed(cp.checkpoint.size),
        event: leaf.event_type,
        time_unix_ms: leaf.time_unix_ms,
    })
}
