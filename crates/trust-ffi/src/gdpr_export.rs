//! GDPR subject export: a signed bundle of one data subject's records, and its verification.
//!
//! The bundle is trust-core's `trust-export/v1` format (docs/format-gdpr.md): JSON Lines of
//! `{"category","record"}` followed by a manifest with per-category counts and SHA-256 sums,
//! signed with the same Ed25519 key as the erasure receipts. It is what `trust gdpr export`
//! writes and `trust gdpr verify-export` checks, so either side can be the CLI.

use std::fs::File;
use std::io::{BufReader, BufWriter};

use trust_core::durable::AtomicFile;
use trust_core::gdpr::{ExportWriter, GdprError, timestamp, verify_bundle};

use crate::boundary::{
    Failure, boundary, try_opt_out, try_out, try_path, try_ref, try_slice, try_slices, try_str,
};
use crate::bytes::trust_bytes;
use crate::error::trust_error;
use crate::gdpr::{TRUST_ED25519_PUBLIC_KEY_BYTES, trust_subjects};
use crate::status::trust_status;

/// Writes the signed export bundle of data subject `subject_id` (named in the manifest only by
/// their pseudonym under `keyring`) to the file `out_path` and returns the manifest as JSON in
/// `*manifest_out`. The subject's records are `record_count` pairs: `categories[i]` (a label
/// such as `orders`) and `records[i]`, the record as JSON text. `request` (length 0 for none) is
/// the request id the export answers. The file is private (`0600`) and appears under its name
/// only once complete and signed; on any error nothing is left there.
///
/// Errors: `TRUST_INVALID_ARGUMENT` for an empty path (`EMPTY_PATH`), a record that is not JSON,
/// a bad category or request id (`BAD_NAME`), `TOO_LARGE`; `TRUST_INPUT_UNREADABLE` when the
/// file cannot be written; as `trust_subjects_seal` for the keyring.
///
/// # Safety
/// `subjects` is a live handle; text pointers point to their lengths in readable bytes; the
/// four record arrays point to `record_count` elements each (NULL when 0); `manifest_out` points
/// to writable storage for one pointer; `err_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_subjects_export(
    subjects: *const trust_subjects,
    keyring: *const u8,
    keyring_len: usize,
    subject_id: *const u8,
    subject_id_len: usize,
    request: *const u8,
    request_len: usize,
    categories: *const *const u8,
    category_lens: *const usize,
    records: *const *const u8,
    record_lens: *const usize,
    record_count: usize,
    out_path: *const u8,
    out_path_len: usize,
    manifest_out: *mut *mut trust_bytes,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        let subjects = try_ref!(subjects);
        let keyring = try_str!(keyring, keyring_len);
        let subject_id = try_str!(subject_id, subject_id_len);
        let request = try_str!(request, request_len);
        let categories = try_slices!(categories, category_lens, record_count);
        let records = try_slices!(records, record_lens, record_count);
        let out_path = try_path!(out_path, out_path_len);
        let out = try_out!(manifest_out);
        let mut parsed = Vec::with_capacity(record_count);
        for (i, (category, record)) in categories.iter().zip(&records).enumerate() {
            let category = core::str::from_utf8(category)
                .map_err(|_| Failure::invalid(format!("category {i} is not UTF-8")))?;
            let value: serde_json::Value = serde_json::from_slice(record)
                .map_err(|_| Failure::invalid(format!("record {i} is not JSON")))?;
            parsed.push((category, value));
        }
        let tag = subjects.keys.subject_tag(keyring, subject_id)?;
        let request = (!request.is_empty()).then_some(request);
        let manifest = (|| -> Result<_, GdprError> {
            let mut file = AtomicFile::create(out_path)?;
            let mut writer = ExportWriter::new(BufWriter::new(&mut file), &tag, request)?;
            for (category, value) in &parsed {
                writer.record(category, value)?;
            }
            let (buffered, manifest) =
                writer.finish(timestamp(std::time::SystemTime::now()), &subjects.signer)?;
            drop(buffered);
            file.commit()?;
            Ok(manifest)
        })()?;
        out.set(trust_bytes::json(&manifest)?);
        Ok(())
    })
}

/// Verifies the export bundle in file `bundle_path` (from `trust_subjects_export` or `trust
/// gdpr export`) against the signer's public key (`TRUST_ED25519_PUBLIC_KEY_BYTES`, from
/// `trust_subjects_signer_public_key`): every line's checksum and count and the manifest's
/// signature. On success `*manifest_out` (NULL allowed) receives the manifest as JSON.
///
/// Errors: `TRUST_VERIFICATION_FAILED` (`BAD_SIGNATURE`, `MANIFEST_MISMATCH`, `MALFORMED`) for
/// an altered or foreign bundle; `TRUST_INPUT_UNREADABLE` when the file cannot be read;
/// `TRUST_INVALID_ARGUMENT` for an empty path or a key of the wrong size.
///
/// # Safety
/// Data pointers point to their lengths in readable bytes; `manifest_out` is NULL or points to
/// writable storage for one pointer; `err_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_gdpr_verify_export(
    bundle_path: *const u8,
    bundle_path_len: usize,
    public_key: *const u8,
    public_key_len: usize,
    manifest_out: *mut *mut trust_bytes,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        let path = try_path!(bundle_path, bundle_path_len);
        let key = try_slice!(public_key, public_key_len);
        let out = try_opt_out!(manifest_out);
        let key: &[u8; TRUST_ED25519_PUBLIC_KEY_BYTES] = key.try_into().map_err(|_| {
            Failure::invalid(format!(
                "`public_key` must be {TRUST_ED25519_PUBLIC_KEY_BYTES} bytes"
            ))
        })?;
        let file = File::open(path).map_err(|e| {
            Failure::new(
                trust_status::TrustInputUnreadable,
                "INPUT_UNREADABLE",
                format!("cannot open the bundle {}: {e}", path.display()),
            )
        })?;
        let manifest = verify_bundle(BufReader::new(file), key)?;
        if let Some(out) = out {
            out.set(trust_bytes::json(&manifest)?);
        }
        Ok(())
    })
}
