//! GDPR subject keys: seal records for a data subject, erase the subject, get a signed receipt.
//!
//! A `trust_subjects` is trust-core's `gdpr::SubjectKeys` over a home: each data
//! subject gets a key of their own, wrapped by a tenant keyring, so erasing the subject
//! destroys that key and every record sealed for them becomes unreadable at once (crypto-
//! shredding), in the database and in backups alike — except backups holding the wrapped key,
//! which the signed receipt states honestly. Subjects are stored and named only by pseudonyms.

use std::path::Path;
use std::sync::Arc;

use jiff::SignedDuration;
use trust_backends::SubjectStore;
use trust_core::event::{EventSink, NoSink};
use trust_core::gdpr::{EraseOptions, ErasureReceipt, LocalStore, Signer, SubjectKeys, timestamp};
use trust_core::keyring::Home;

use crate::audit::trust_audit_log;
use crate::boundary::{
    Failure, boundary, boundary_or, ffi_free, into_handle, try_buf_out, try_out, try_path, try_ref,
    try_slice, try_str,
};
use crate::bytes::trust_bytes;
use crate::error::trust_error;
use crate::home::{trust_context, trust_home};
use crate::status::trust_status;

/// Size of an Ed25519 public key (the receipt signer's), in bytes.
pub const TRUST_ED25519_PUBLIC_KEY_BYTES: usize = 32;

/// Returns `TRUST_ED25519_PUBLIC_KEY_BYTES`, for hosts that cannot read macros.
#[unsafe(no_mangle)]
pub extern "C" fn trust_ed25519_public_key_bytes() -> usize {
    boundary_or(TRUST_ED25519_PUBLIC_KEY_BYTES, || {
        TRUST_ED25519_PUBLIC_KEY_BYTES
    })
}

/// Per-subject keys over a home, with the key that signs erasure receipts.
///
/// Opaque; made by `trust_subjects_new`, freed by `trust_subjects_free`. Thread-safe: every
/// function may be called from any number of threads at once. Unwrapped subject keys are
/// cached in memory; `trust_subjects_erase` clears this handle's copy, other processes keep
/// theirs until they make a new handle.
#[allow(non_camel_case_types)]
pub struct trust_subjects {
    pub(crate) keys: SubjectKeysHandle,
    pub(crate) signer: Signer,
}

/// Subject keys over a home, shared by the handles that use them (`trust_rewrapper`).
pub(crate) type SubjectKeysHandle = Arc<SubjectKeys<Arc<Home>, SubjectStore>>;

/// Makes a subject-key store over `home`: subject keys live under directory `store_dir`, and
/// erasure receipts are signed with the Ed25519 key in `signing_key_file` (PKCS#8), created
/// (`0600`) if it does not exist. To share state with the `trust` CLI use `HOME/subjects` and
/// `HOME/gdpr/signing.p8`.
///
/// # Safety
/// `home` is a live home; `store_dir` and `signing_key_file` point to their lengths in readable
/// bytes; `subjects_out` points to writable storage for one pointer; `err_out` is NULL or
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_subjects_new(
    home: *const trust_home,
    store_dir: *const u8,
    store_dir_len: usize,
    signing_key_file: *const u8,
    signing_key_file_len: usize,
    subjects_out: *mut *mut trust_subjects,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        let home = try_ref!(home);
        let store_dir = try_path!(store_dir, store_dir_len);
        let key_file = try_path!(signing_key_file, signing_key_file_len);
        let out = try_out!(subjects_out);
        let signer = Signer::load_or_create(Path::new(key_file))?;
        let keys = Arc::new(SubjectKeys::new(
            Arc::clone(&home.inner),
            SubjectStore::Local(LocalStore::new(store_dir)),
        ));
        out.set(into_handle(trust_subjects { keys, signer }));
        Ok(())
    })
}

/// Makes a subject-key store in `home`'s own store, where the CLI keeps it: `HOME/subjects/`
/// for a home in a directory, the `trust_subject_keys` table for a home in PostgreSQL (shared
/// by every worker: a creation race returns the stored key, an erasure is final everywhere).
/// Erasure receipts are signed with the Ed25519 key in `signing_key_file` (PKCS#8), created
/// (`0600`) if missing; the CLI's is `HOME/gdpr/signing.p8`.
///
/// # Safety
/// `home` is a live home; `signing_key_file` points to its length in readable bytes;
/// `subjects_out` points to writable storage for one pointer; `err_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_subjects_in_home(
    home: *const trust_home,
    signing_key_file: *const u8,
    signing_key_file_len: usize,
    subjects_out: *mut *mut trust_subjects,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        let home = try_ref!(home);
        let key_file = try_path!(signing_key_file, signing_key_file_len);
        let out = try_out!(subjects_out);
        let store = home.location()?.subject_store();
        let signer = Signer::load_or_create(key_file)?;
        let keys = Arc::new(SubjectKeys::new(Arc::clone(&home.inner), store));
        out.set(into_handle(trust_subjects { keys, signer }));
        Ok(())
    })
}

/// Frees the handle (cached subject keys are wiped). NULL is a no-op.
///
/// # Safety
/// `subjects` is NULL or a live handle, not used after this call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_subjects_free(subjects: *mut trust_subjects) {
    ffi_free!(subjects);
}

/// Writes the public key that verifies this store's erasure receipts
/// (`TRUST_ED25519_PUBLIC_KEY_BYTES`) to `out`; give it to whoever checks receipts.
///
/// # Safety
/// `subjects` is a live handle; `out` points to `out_len` writable bytes; `err_out` is NULL or
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_subjects_signer_public_key(
    subjects: *const trust_subjects,
    out: *mut u8,
    out_len: usize,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        let subjects = try_ref!(subjects);
        let out = try_buf_out!(out, out_len, TRUST_ED25519_PUBLIC_KEY_BYTES);
        out.copy_from_slice(&subjects.signer.public_key());
        Ok(())
    })
}

/// Encrypts `plaintext` for data subject `subject_id` (a raw id such as a customer id; only its
/// pseudonym is stored) under the subject's key, wrapped by `keyring`, bound to `context`. The
/// subject key is created on first use. Returns the envelope in `*envelope_out`.
///
/// Errors: `TRUST_KEY_UNAVAILABLE` (code `SUBJECT_ERASED`) once the subject was erased.
///
/// # Safety
/// `subjects` and `context` are live handles; data pointers point to their lengths in readable
/// bytes; `envelope_out` points to writable storage for one pointer; `err_out` is NULL or
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_subjects_seal(
    subjects: *const trust_subjects,
    keyring: *const u8,
    keyring_len: usize,
    subject_id: *const u8,
    subject_id_len: usize,
    context: *const trust_context,
    plaintext: *const u8,
    plaintext_len: usize,
    envelope_out: *mut *mut trust_bytes,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        let subjects = try_ref!(subjects);
        let keyring = try_str!(keyring, keyring_len);
        let subject_id = try_str!(subject_id, subject_id_len);
        let context = try_ref!(context);
        let plaintext = try_slice!(plaintext, plaintext_len);
        let out = try_out!(envelope_out);
        let sealed =
            subjects
                .keys
                .seal_for_subject(keyring, subject_id, context.inner(), plaintext)?;
        out.set(trust_bytes::into_raw(&sealed));
        Ok(())
    })
}

/// Decrypts an envelope sealed by `trust_subjects_seal` (or by `trust_home_seal`: the key is
/// found from the envelope's header) with an equal `context`.
///
/// Errors: as `trust_home_open`, and `TRUST_KEY_UNAVAILABLE` (code `SUBJECT_ERASED`) once the
/// subject was erased.
///
/// # Safety
/// As for `trust_subjects_seal`; `plaintext_out` points to writable storage for one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_subjects_open(
    subjects: *const trust_subjects,
    context: *const trust_context,
    envelope: *const u8,
    envelope_len: usize,
    plaintext_out: *mut *mut trust_bytes,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        let subjects = try_ref!(subjects);
        let context = try_ref!(context);
        let sealed = try_slice!(envelope, envelope_len);
        let out = try_out!(plaintext_out);
        let plaintext = subjects.keys.open_for_subject(context.inner(), sealed)?;
        out.set(trust_bytes::into_raw(&plaintext));
        Ok(())
    })
}

/// Erases data subject `subject_id` under `keyring`: destroys their key (durably, before this
/// returns), so everything sealed for them becomes unreadable, and returns the signed erasure
/// receipt (JSON, `trust-erasure-receipt/v1`, no personal data) in `*receipt_out`.
/// `request` (length 0 for none) is the request id the erasure answers;
/// `backup_retention_days` is how long backups holding key stores are kept (the receipt's
/// `backups_expire_by`). When `audit_log` is not NULL a `gdpr.erase` entry naming only the
/// pseudonym is appended to it.
///
/// Errors: `TRUST_KEY_UNAVAILABLE` (code `SUBJECT_ERASED`) when already erased; storage errors
/// (nothing erased). If the audit append fails after the key was destroyed, the status is the
/// audit failure's and the receipt is not returned: the key *is* gone; record the event again.
///
/// # Safety
/// `subjects` is a live handle, `audit_log` NULL or a live handle; data pointers point to their
/// lengths in readable bytes; `receipt_out` points to writable storage for one pointer;
/// `err_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_subjects_erase(
    subjects: *const trust_subjects,
    keyring: *const u8,
    keyring_len: usize,
    subject_id: *const u8,
    subject_id_len: usize,
    request: *const u8,
    request_len: usize,
    backup_retention_days: u32,
    audit_log: *const trust_audit_log,
    receipt_out: *mut *mut trust_bytes,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        let subjects = try_ref!(subjects);
        let keyring = try_str!(keyring, keyring_len);
        let subject_id = try_str!(subject_id, subject_id_len);
        let request = try_str!(request, request_len);
        // SAFETY: NULL (no audit) or a live handle, per the contract.
        let audit_log = unsafe { audit_log.as_ref() };
        let out = try_out!(receipt_out);
        let mut opts = EraseOptions::new(
            timestamp(std::time::SystemTime::now()),
            SignedDuration::from_hours(i64::from(backup_retention_days) * 24),
        );
        opts.request = (!request.is_empty()).then_some(request);
        let sink: &dyn EventSink = match audit_log {
            Some(log) => &*log.inner,
            None => &NoSink,
        };
        let receipt = subjects
            .keys
            .erase(keyring, subject_id, &opts, &subjects.signer, sink)?;
        out.set(trust_bytes::into_raw(receipt.to_json().as_bytes()));
        Ok(())
    })
}

/// Verifies an erasure receipt (the JSON `trust_subjects_erase` returned) against the signer's
/// public key (`TRUST_ED25519_PUBLIC_KEY_BYTES`). Returns `TRUST_OK`, or
/// `TRUST_VERIFICATION_FAILED` for an altered, re-signed or malformed receipt.
///
/// # Safety
/// Data pointers point to their lengths in readable bytes; `err_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_gdpr_verify_receipt(
    receipt: *const u8,
    receipt_len: usize,
    public_key: *const u8,
    public_key_len: usize,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        let receipt = try_slice!(receipt, receipt_len);
        let key = try_slice!(public_key, public_key_len);
        let key: &[u8; TRUST_ED25519_PUBLIC_KEY_BYTES] = key.try_into().map_err(|_| {
            Failure::invalid(format!(
                "`public_key` must be {TRUST_ED25519_PUBLIC_KEY_BYTES} bytes"
            ))
        })?;
        ErasureReceipt::parse_and_verify(receipt, key)?;
        Ok(())
    })
}
