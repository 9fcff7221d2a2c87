//! `Subjects`: per-data-subject keys (crypto-shredding), erasure receipts, export bundles.

use std::collections::HashMap;
use std::io::BufWriter;
use std::path::PathBuf;
use std::sync::Arc;

use jiff::SignedDuration;
use napi::Result;
use napi::bindgen_prelude::Buffer;
use napi_derive::napi;
use trust_backends::{HomeLocation, SubjectStore};
use trust_core::durable::AtomicFile;
use trust_core::event::{EventSink, NoSink};
use trust_core::gdpr::ExportWriter;
use trust_core::gdpr::Signer;
use trust_core::gdpr::{EraseOptions, SubjectKeys};
use trust_core::gdpr::{GdprError, timestamp};
use trust_core::keyring;

use crate::audit::AuditLog;
use crate::{Home, context, core, invalid};

pub(crate) fn sink(audit: Option<&AuditLog>) -> Arc<dyn EventSink> {
    match audit {
        Some(log) => log.inner.clone(),
        None => Arc::new(NoSink),
    }
}

/// Options of `new Subjects(home, options)`.
#[napi(object)]
pub struct SubjectsOptions {
    /// The Ed25519 key (PKCS#8) that signs receipts; default `HOME/gdpr/signing.p8`.
    pub signing_key_file: Option<String>,
}

/// Options of `Subjects.erase`.
#[napi(object)]
pub struct EraseRequest {
    pub request: Option<String>,
    pub actor: Option<String>,
    /// How long backups holding key stores are kept (default 35 days).
    pub backup_retention_days: Option<u32>,
}

/// One record of an export: a category and the record's JSON text.
#[napi(object)]
pub struct ExportRecord {
    pub category: String,
    pub json: String,
}

/// Per-subject keys over a home.
#[napi]
pub struct Subjects {
    keys: SubjectKeys<Arc<keyring::Home>, SubjectStore>,
    signer: Signer,
    sink: Arc<dyn EventSink>,
}

#[napi]
impl Subjects {
    /// Subject keys of `home` (`HOME/subjects`, or the database of a database home); with
    /// `audit`, erasures are recorded there.
    #[napi(constructor)]
    pub fn new(
        home: &Home,
        options: Option<SubjectsOptions>,
        audit: Option<&AuditLog>,
    ) -> Result<Self> {
        let key_file = match (options.and_then(|o| o.signing_key_file), &home.location) {
            (Some(file), _) => PathBuf::from(file),
            (None, HomeLocation::Local(dir)) => {
                // As `trust gdpr` does: the home's gdpr directory, private to this user.
                let gdpr = dir.join("gdpr");
                trust_core::durable::create_private_dir(&gdpr)
                    .map_err(GdprError::Io)
                    .map_err(core)?;
                gdpr.join("signing.p8")
            }
            (None, HomeLocation::Postgres(_)) => {
                return Err(invalid("a database home needs signingKeyFile"));
            }
        };
        Ok(Self {
            keys: SubjectKeys::new(Arc::clone(&home.inner), home.location.subject_store()),
            signer: Signer::load_or_create(&key_file).map_err(core)?,
            sink: sink(audit),
        })
    }

    /// The Ed25519 public key that verifies this store's receipts and bundles.
    #[napi(getter)]
    pub fn signer_public_key(&self) -> Buffer {
        self.signer.public_key().to_vec().into()
    }

    /// The subject's pseudonym tag under `keyring`.
    #[napi]
    pub fn tag(&self, keyring: String, subject: String) -> Result<String> {
        self.keys.subject_tag(&keyring, &subject).map_err(core)
    }

    /// Seals `data` for `subject` under `keyring`, bound to `context`.
    #[napi]
    pub fn seal(
        &self,
        keyring: String,
        subject: String,
        data: Buffer,
        context: Option<HashMap<String, String>>,
    ) -> Result<Buffer> {
        let ctx = self::context(context)?;
        let sealed = self
            .keys
            .seal_for_subject(&keyring, &subject, &ctx, &data)
            .map_err(core)?;
        Ok(sealed.into())
    }

    /// Opens an envelope sealed for a subject (`SUBJECT_ERASED` once erased).
    #[napi]
    pub fn open(&self, blob: Buffer, context: Option<HashMap<String, String>>) -> Result<Buffer> {
        let ctx = self::context(context)?;
        let plain = self.keys.open_for_subject(&ctx, &blob).map_err(core)?;
        Ok(plain.to_vec().into())
    }

    /// Erases `subject`'s key under `keyring`; returns the signed receipt as JSON text.
    #[napi]
    pub fn erase(
        &self,
        keyring: String,
        subject: String,
        options: Option<EraseRequest>,
    ) -> Result<String> {
        let (request, actor, days) = options.map_or((None, None, 35), |o| {
            (o.request, o.actor, o.backup_retention_days.unwrap_or(35))
        });
        let opts = EraseOptions {
            request: request.as_deref(),
            actor: actor.as_deref(),
            at: timestamp(std::time::SystemTime::now()),
            backup_retention: SignedDuration::from_hours(i64::from(days) * 24),
        };
        let receipt = self
            .keys
            .erase(&keyring, &subject, &opts, &self.signer, &*self.sink)
            .map_err(core)?;
        Ok(receipt.to_json())
    }

    /// Writes a signed export bundle of `records` for `subject` to `out` (mode 0600, in
    /// place only once complete); returns the manifest as JSON text.
    #[napi]
    pub fn export(
        &self,
        keyring: String,
        subject: String,
        records: Vec<ExportRecord>,
        out: String,
        request: Option<String>,
    ) -> Result<String> {
        let mut parsed = Vec::with_capacity(records.len());
        for (i, r) in records.into_iter().enumerate() {
            let value: serde_json::Value = serde_json::from_str(&r.json)
                .map_err(|e| invalid(&format!("record {i} is not JSON: {e}")))?;
            parsed.push((r.category, value));
        }
        let out = PathBuf::from(out);
        let manifest = (|| -> std::result::Result<_, GdprError> {
            let tag = self.keys.subject_tag(&keyring, &subject)?;
            let mut file = AtomicFile::create(&out)?;
            let mut writer =
                ExportWriter::new(BufWriter::new(&mut file), &tag, request.as_deref())?;
            for (category, value) in &parsed {
                writer.record(category, value)?;
            }
            let (buffered, manifest) =
                writer.finish(timestamp(std::time::SystemTime::now()), &self.signer)?;
            drop(buffered);
            file.commit()?;
            Ok(manifest)
        })()
        .map_err(core)?;
        serde_json::to_string(&manifest).map_err(|e| invalid(&e.to_string()))
    }
}
