//! The tamper-evident audit log: create, open, append, checkpoint, verify.
//!
//! A `trust_audit_log` is trust-core's `audit::AuditLog`, the single writer of a log directory:
//! entries are chained (each leaf carries the previous leaf's hash) and form an RFC 9162 Merkle
//! tree; checkpoints are C2SP signed notes an auditor verifies with the log's verifier key.
//! Actors and subjects are stored only as keyed pseudonyms; payloads are stored apart, under a
//! salted commitment, so they can be deleted without breaking the chain.
//!
//! A log lives in a directory or in PostgreSQL (`postgres://…?log=NAME`): every function that
//! takes a log's location hands the string to trust-backends' `AuditLocation`, the dispatcher
//! the CLI uses, so a URL is never taken for a relative path and both stores hold the same
//! leaves, tree and checkpoints.

use std::path::Path;
use std::sync::Arc;

use trust_backends::audit::AuditLocation;
use trust_core::audit::{
    AuditLog, DEFAULT_LOCK_WAIT, Entry, InitOptions, Receipt, SignedCheckpoint, Verifier,
    VerifyOptions, format_hash_lines, parse_hash_lines, verify_checkpoint_consistency,
};

use crate::boundary::{
    Failure, boundary, ffi_free, into_handle, try_buf_out, try_location, try_opt_out, try_out,
    try_ref, try_slice, try_slices, try_str,
};
use crate::bytes::trust_bytes;
use crate::error::trust_error;
use crate::merkle::TRUST_MERKLE_HASH_BYTES;
use crate::status::trust_status;

/// The writer's handle on an audit log (a directory or a PostgreSQL log).
///
/// Opaque; made by `trust_audit_log_open`, freed by `trust_audit_log_free` (which releases the
/// log's lock). Thread-safe: appends from several threads are serialized by the log (one lock
/// per log); a second process opening the same log waits for the first to free it.
#[allow(non_camel_case_types)]
pub struct trust_audit_log {
    pub(crate) inner: Arc<AuditLog>,
}

/// Parses a log location: a `postgres://`/`postgresql://` URL (`?log=NAME` picks one of the
/// database's logs, default `default`) or a directory path.
fn location(text: &str) -> Result<AuditLocation, Failure> {
    Ok(AuditLocation::parse(Path::new(text))?)
}

/// Creates an audit log at `dir` named `origin` (the checkpoint's first line, e.g.
/// `example.com/audit/orders`), with a new Ed25519 checkpoint key and pseudonymization key.
/// `dir` is a directory (created if missing; must not hold a log yet; keys written `0600`) or a
/// `postgres://` URL with `?log=NAME` (schema created or migrated first; the keys are kept in
/// the database). Returns, in `*vkey_out`, the verifier key (C2SP note `vkey` text) to hand to
/// auditors for `trust_audit_log_verify`.
///
/// Errors: `TRUST_INVALID_ARGUMENT` (`EMPTY_PATH`, `BAD_ORIGIN`, `AUDIT_LOG_EXISTS`,
/// `STORE_URL_UNSUPPORTED` for another scheme or `redis://`), `TRUST_INPUT_UNREADABLE` for I/O
/// and an unreachable database (`STORE_UNREACHABLE`; the URL's password is never in the
/// message).
///
/// # Safety
/// `dir` and `origin` point to their lengths in readable bytes (UTF-8); `vkey_out` points to
/// writable storage for one pointer; `err_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_audit_log_init(
    dir: *const u8,
    dir_len: usize,
    origin: *const u8,
    origin_len: usize,
    vkey_out: *mut *mut trust_bytes,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        let dir = try_location!(dir, dir_len);
        let origin = try_str!(origin, origin_len);
        let out = try_out!(vkey_out);
        let verifier = location(dir)?.init(&InitOptions::new(origin))?;
        out.set(trust_bytes::into_raw(verifier.vkey().as_bytes()));
        Ok(())
    })
}

/// Opens the log at `dir` (a directory or a `postgres://…?log=NAME` URL, as for
/// `trust_audit_log_init`) for appending. A directory log has one writer at a time: this waits
/// (up to 30 s) for its lock and repairs a torn tail left by a crash. A database log takes any
/// number of writers on any number of hosts; their appends are grouped into one transaction.
///
/// Errors: as `trust_audit_log_init`; `TRUST_INPUT_UNREADABLE` when there is no log there.
///
/// # Safety
/// `dir` points to `dir_len` readable bytes; `log_out` points to writable storage for one
/// pointer; `err_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_audit_log_open(
    dir: *const u8,
    dir_len: usize,
    log_out: *mut *mut trust_audit_log,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        let dir = try_location!(dir, dir_len);
        let out = try_out!(log_out);
        let log = location(dir)?.open(None, DEFAULT_LOCK_WAIT)?;
        out.set(into_handle(trust_audit_log {
            inner: Arc::new(log),
        }));
        Ok(())
    })
}

/// Frees the handle and releases the log's lock. NULL is a no-op. Handles made with it
/// (`trust_subjects`) keep their own reference; the lock is released when the last goes.
///
/// # Safety
/// `log` is NULL or a live handle, not used after this call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_audit_log_free(log: *mut trust_audit_log) {
    ffi_free!(log);
}

/// Appends one entry durably (it survives a crash once this returns) and writes its index to
/// `*index_out`. `event_type` is dotted lower case (`[a-z0-9._-]`, 1–128 bytes, e.g.
/// `order.export`). `actor` and `subject` are raw ids (an e-mail, a customer id): only their
/// keyed pseudonyms are stored; pass length 0 for none. `payload` (length 0 for none) is stored
/// apart from the chain under a salted commitment, so it can be deleted later. The entry's time
/// is the system clock's.
///
/// Errors: `TRUST_INVALID_ARGUMENT` for an invalid event type; `TRUST_INPUT_UNREADABLE` or
/// `TRUST_INTERNAL` for storage failures (nothing acknowledged).
///
/// # Safety
/// `log` is a live handle; data pointers point to their lengths in readable bytes (NULL with
/// length 0); `index_out` points to a writable `uint64_t`; `err_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_audit_log_append(
    log: *const trust_audit_log,
    event_type: *const u8,
    event_type_len: usize,
    actor: *const u8,
    actor_len: usize,
    subject: *const u8,
    subject_len: usize,
    payload: *const u8,
    payload_len: usize,
    index_out: *mut u64,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        let log = try_ref!(log);
        let event_type = try_str!(event_type, event_type_len);
        let actor = try_str!(actor, actor_len);
        let subject = try_str!(subject, subject_len);
        let payload = try_slice!(payload, payload_len);
        let out = try_out!(index_out);
        let mut entry = Entry::new(event_type);
        entry.actor = (!actor.is_empty()).then(|| actor.to_owned());
        entry.subject = (!subject.is_empty()).then(|| subject.to_owned());
        entry.payload = (!payload.is_empty()).then(|| payload.to_vec());
        let index = log.inner.append(&entry)?;
        out.set(index);
        Ok(())
    })
}

/// Writes the number of entries to `*size_out`.
///
/// # Safety
/// `log` is a live handle; `size_out` points to a writable `uint64_t`; `err_out` is NULL or
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_audit_log_size(
    log: *const trust_audit_log,
    size_out: *mut u64,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        let log = try_ref!(log);
        let out = try_out!(size_out);
        out.set(log.inner.size()?);
        Ok(())
    })
}

/// Writes the current RFC 9162 Merkle root (`TRUST_MERKLE_HASH_BYTES`) to `out`.
///
/// # Safety
/// `log` is a live handle; `out` points to `out_len` writable bytes; `err_out` is NULL or
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_audit_log_root(
    log: *const trust_audit_log,
    out: *mut u8,
    out_len: usize,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        let log = try_ref!(log);
        let out = try_buf_out!(out, out_len, TRUST_MERKLE_HASH_BYTES);
        out.copy_from_slice(&log.inner.root()?);
        Ok(())
    })
}

/// Signs and stores a checkpoint of the current tree (after checking it extends the previous
/// one) and returns the C2SP signed note text in `*note_out`.
///
/// # Safety
/// `log` is a live handle; `note_out` points to writable storage for one pointer; `err_out` is
/// NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_audit_log_checkpoint(
    log: *const trust_audit_log,
    note_out: *mut *mut trust_bytes,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        let log = try_ref!(log);
        let out = try_out!(note_out);
        let signed = log.inner.checkpoint()?;
        out.set(trust_bytes::into_raw(signed.note.as_bytes()));
        Ok(())
    })
}

/// Verifies the whole log at `dir` (a directory or a `postgres://…?log=NAME` URL; a database
/// log is verified through a key-free copy in a private temporary directory) as an auditor
/// would: the chain, every leaf hash, the tree,
/// every stored checkpoint's signature under `vkey` (the text `trust_audit_log_init` returned)
/// and its consistency with the tree, and the stored payloads against their commitments. The
/// log may be open by a writer meanwhile; entries appended during the run may or may not be
/// covered.
///
/// Returns `TRUST_OK` and the report as JSON in `*report_out` (entries, root, checkpoints
/// checked, redactions…), or `TRUST_VERIFICATION_FAILED` with the first failure's kind as the
/// error code (`CHAIN_BREAK`, `LEAF_HASH_MISMATCH`, `INDEX_GAP`, `ROOT_MISMATCH`, `TRUNCATED`,
/// `FORK`, `BAD_SIGNATURE`, `MALFORMED`, `PAYLOAD_MISMATCH`) and the first bad index in the
/// message.
///
/// # Safety
/// `dir` and `vkey` point to their lengths in readable bytes; `report_out` points to writable
/// storage for one pointer; `err_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_audit_log_verify(
    dir: *const u8,
    dir_len: usize,
    vkey: *const u8,
    vkey_len: usize,
    report_out: *mut *mut trust_bytes,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        let dir = try_location!(dir, dir_len);
        let vkey = try_str!(vkey, vkey_len);
        let out = try_out!(report_out);
        let verifier = Verifier::from_vkey(vkey.trim())?;
        let report = location(dir)?.verify(&VerifyOptions::new(vec![verifier]))?;
        if let Some(failure) = &report.failure {
            let at = report
                .first_bad_index
                .map_or_else(String::new, |i| format!(" at entry {i}"));
            return Err(Failure::new(
                trust_status::TrustVerificationFailed,
                failure.kind.as_str(),
                format!(
                    "audit log verification failed{at}: {} ({})",
                    failure.kind.as_str(),
                    failure.detail
                ),
            ));
        }
        let json = serde_json::to_vec(&report).map_err(|_| {
            Failure::new(
                trust_status::TrustInternal,
                "INTERNAL",
                "could not serialize the report",
            )
        })?;
        out.set(trust_bytes::into_raw(&json));
        Ok(())
    })
}

/// Writes a key-free copy of the log at `log` (a directory or a `postgres://…?log=NAME` URL)
/// into directory `to_dir` (created if missing; must be empty), in the directory format: the
/// leaves, tree and checkpoints, without the checkpoint signing key or the pseudonymization
/// key, so an auditor verifies it offline with `trust_audit_log_verify` or `trust audit
/// verify` (as `trust audit export`). The log may be written meanwhile: an append still in
/// progress at its end is left out. Returns a JSON summary (`entries`, `checkpoints`,
/// `payloads`, `unacknowledged_tail_bytes`) in `*summary_out` (NULL allowed).
///
/// Errors: as `trust_audit_log_open`; `TRUST_INVALID_ARGUMENT` when `to_dir` is not empty.
///
/// # Safety
/// `log` and `to_dir` point to their lengths in readable bytes; `summary_out` is NULL or points
/// to writable storage for one pointer; `err_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_audit_log_export(
    log: *const u8,
    log_len: usize,
    to_dir: *const u8,
    to_dir_len: usize,
    summary_out: *mut *mut trust_bytes,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        let log = try_location!(log, log_len);
        let to_dir = try_location!(to_dir, to_dir_len);
        let out = try_opt_out!(summary_out);
        let summary = location(log)?.export(Path::new(to_dir))?;
        if let Some(out) = out {
            let json = serde_json::to_vec(&summary).map_err(|_| {
                Failure::new(
                    trust_status::TrustInternal,
                    "INTERNAL",
                    "could not serialize the summary",
                )
            })?;
            out.set(trust_bytes::into_raw(&json));
        }
        Ok(())
    })
}

/// A consistency proof between two signed checkpoints of this log (`old_note` and `new_note`,
/// as `trust_audit_log_checkpoint` returned them): the base64 hash lines (one per line; empty
/// when the old checkpoint is empty or not older) proving the new tree extends the old one —
/// no fork, no truncation, no rewritten entry — as `trust audit consistency-proof` prints.
/// The proof is checked before it is returned, as the auditor will check it with
/// `trust_audit_verify_consistency`.
///
/// Errors: `TRUST_VERIFICATION_FAILED` when a checkpoint is not this log's or the new one does
/// not extend the old one (`FORK`…); `TRUST_INVALID_ARGUMENT` for sizes the log does not have.
///
/// # Safety
/// `log` is a live handle; `old_note` and `new_note` point to their lengths in readable bytes;
/// `proof_out` points to writable storage for one pointer; `err_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_audit_log_consistency_proof(
    log: *const trust_audit_log,
    old_note: *const u8,
    old_note_len: usize,
    new_note: *const u8,
    new_note_len: usize,
    proof_out: *mut *mut trust_bytes,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        let log = try_ref!(log);
        let old = try_slice!(old_note, old_note_len);
        let new = try_slice!(new_note, new_note_len);
        let out = try_out!(proof_out);
        let log = &log.inner;
        let known = [log.verifier().clone()];
        let o = SignedCheckpoint::open(old, &known, Some(log.origin()))?;
        let n = SignedCheckpoint::open(new, &known, Some(log.origin()))?;
        let (s1, s2) = (o.checkpoint.size, n.checkpoint.size);
        let hashes = if s1 == 0 || s1 >= s2 {
            Vec::new()
        } else {
            log.consistency_proof(s1, s2)?
        };
        verify_checkpoint_consistency(old, new, &known, &hashes)?;
        out.set(trust_bytes::into_raw(format_hash_lines(&hashes).as_bytes()));
        Ok(())
    })
}

/// Verifies, as an auditor would and without the log, that signed checkpoint `new_note`
/// extends `old_note` (both signed by the log whose verifier key is `vkey`), given the
/// consistency proof `proof` (the hash lines `trust_audit_log_consistency_proof` or `trust
/// audit consistency-proof` returned; length 0 when the old checkpoint is empty or the same
/// size). On success `*result_out` (NULL allowed) receives JSON with `old_size` and
/// `new_size`.
///
/// Errors: `TRUST_VERIFICATION_FAILED` for a fork, a truncation, a bad signature or a proof
/// that does not verify; `TRUST_INVALID_ARGUMENT` for a malformed `vkey`.
///
/// # Safety
/// Data pointers point to their lengths in readable bytes; `result_out` is NULL or points to
/// writable storage for one pointer; `err_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_audit_verify_consistency(
    old_note: *const u8,
    old_note_len: usize,
    new_note: *const u8,
    new_note_len: usize,
    vkey: *const u8,
    vkey_len: usize,
    proof: *const u8,
    proof_len: usize,
    result_out: *mut *mut trust_bytes,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        let old = try_slice!(old_note, old_note_len);
        let new = try_slice!(new_note, new_note_len);
        let vkey = try_str!(vkey, vkey_len);
        let proof = try_slice!(proof, proof_len);
        let result_out = try_opt_out!(result_out);
        let known = [Verifier::from_vkey(vkey.trim())?];
        let hashes = parse_hash_lines(proof)?;
        let (o, n) = verify_checkpoint_consistency(old, new, &known, &hashes)?;
        if let Some(out) = result_out {
            let json = serde_json::json!({
                "old_size": o.checkpoint.size,
                "new_size": n.checkpoint.size,
            });
            out.set(trust_bytes::into_raw(json.to_string().as_bytes()));
        }
        Ok(())
    })
}

/// As `trust_audit_log_append`, with `attr_count` key/value attributes (`attr_keys[i]` =
/// `attr_values[i]`, UTF-8, each with its length): structured fields an auditor can search
/// (`trust audit search`), stored in the leaf in clear — no secrets or personal data (put those
/// in the actor and subject, which are pseudonymized, or the payload, which can be redacted).
///
/// Errors: as `trust_audit_log_append`; `TRUST_INVALID_ARGUMENT` for attributes the leaf format
/// refuses (empty or over-long keys, too many).
///
/// # Safety
/// As for `trust_audit_log_append`; the four attribute arrays point to `attr_count` elements
/// each (NULL when 0).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_audit_log_append_attrs(
    log: *const trust_audit_log,
    event_type: *const u8,
    event_type_len: usize,
    actor: *const u8,
    actor_len: usize,
    subject: *const u8,
    subject_len: usize,
    attr_keys: *const *const u8,
    attr_key_lens: *const usize,
    attr_values: *const *const u8,
    attr_value_lens: *const usize,
    attr_count: usize,
    payload: *const u8,
    payload_len: usize,
    index_out: *mut u64,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        let log = try_ref!(log);
        let event_type = try_str!(event_type, event_type_len);
        let actor = try_str!(actor, actor_len);
        let subject = try_str!(subject, subject_len);
        let keys = try_slices!(attr_keys, attr_key_lens, attr_count);
        let values = try_slices!(attr_values, attr_value_lens, attr_count);
        let payload = try_slice!(payload, payload_len);
        let out = try_out!(index_out);
        let text = |b: &[u8]| {
            core::str::from_utf8(b).map(str::to_owned).map_err(|_| {
                Failure::new(
                    trust_status::TrustInvalidUtf8,
                    "INVALID_UTF8",
                    "an attribute is not valid UTF-8",
                )
            })
        };
        let mut entry = Entry::new(event_type);
        entry.actor = (!actor.is_empty()).then(|| actor.to_owned());
        entry.subject = (!subject.is_empty()).then(|| subject.to_owned());
        entry.payload = (!payload.is_empty()).then(|| payload.to_vec());
        for (key, value) in keys.into_iter().zip(values) {
            entry.attrs.insert(text(key)?, text(value)?);
        }
        let index = log.inner.append(&entry)?;
        out.set(index);
        Ok(())
    })
}

/// An inclusion receipt for entry `index` (C2SP `tlog-proof` text with the leaf's bytes, so an
/// auditor verifies it with `trust audit verify-proof` or `trust_audit_verify_receipt`, without
/// the log) against the stored checkpoint of `size` entries (0: the newest checkpoint covering
/// the entry, signing a fresh one when none does). Returned as text in `*receipt_out`.
///
/// Errors: `TRUST_INVALID_ARGUMENT`/`TRUST_INPUT_UNREADABLE` for an entry or checkpoint size the
/// log does not have (codes `NO_SUCH_ENTRY`, `NO_CHECKPOINT`).
///
/// # Safety
/// `log` is a live log; `receipt_out` points to writable storage for one pointer; `err_out` is
/// NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_audit_log_prove(
    log: *const trust_audit_log,
    index: u64,
    size: u64,
    receipt_out: *mut *mut trust_bytes,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        let log = try_ref!(log);
        let out = try_out!(receipt_out);
        let receipt = log.inner.prove(index, (size != 0).then_some(size))?;
        out.set(trust_bytes::into_raw(receipt.to_text().as_bytes()));
        Ok(())
    })
}

/// Verifies an inclusion receipt (the text `trust_audit_log_prove` or `trust audit prove`
/// made) against the log's verifier key `vkey`: the checkpoint's signature and origin, then the
/// inclusion of the leaf. On success `*result_out` (if not NULL) receives JSON with `index`,
/// `checkpoint_size`, `event` and `time_unix_ms` — what `trust audit verify-proof --json`
/// prints.
///
/// Errors: `TRUST_VERIFICATION_FAILED` for a receipt that does not verify (altered leaf, proof
/// or checkpoint, another log's key); `TRUST_INVALID_ARGUMENT` for a malformed `vkey`.
///
/// # Safety
/// `receipt` and `vkey` point to their lengths in readable bytes; `result_out` is NULL or points
/// to writable storage for one pointer; `err_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_audit_verify_receipt(
    receipt: *const u8,
    receipt_len: usize,
    vkey: *const u8,
    vkey_len: usize,
    result_out: *mut *mut trust_bytes,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        let receipt = try_slice!(receipt, receipt_len);
        let vkey = try_str!(vkey, vkey_len);
        let result_out = try_opt_out!(result_out);
        let verifier = Verifier::from_vkey(vkey.trim())?;
        let origin = verifier.name().to_owned();
        let receipt = Receipt::parse(receipt)?;
        let (cp, leaf) = receipt.verify(&[verifier], Some(&origin), None)?;
        if let Some(out) = result_out {
            let json = serde_json::json!({
                "index": receipt.index,
                "checkpoint_size": cp.checkpoint.size,
                "event": leaf.event_type,
                "time_unix_ms": leaf.time_unix_ms,
            });
            out.set(trust_bytes::into_raw(json.to_string().as_bytes()));
        }
        Ok(())
    })
}
