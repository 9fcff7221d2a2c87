//! Rewrap: moving stored ciphertexts to their keyring's current Primary, with the census that
//! lets the old version be destroyed afterwards.
//!
//! After a rotation, messages sealed earlier still name the old version. A `trust_rewrapper`
//! (trust-core's `keyring::Rewrapper`) gives each one a new wrapped data key under the Primary
//! without decrypting its body (the body stays byte-identical; the data key is checked against
//! the body's key commitment first). It also keeps the *census*: how many ciphertexts were moved
//! off each version. `trust_home_destroy` compares that with the number the version sealed and
//! refuses (`KEY_STILL_IN_USE`) while live data may still need it.
//!
//! The census must never count a replacement the host did not store, or a key could be destroyed
//! while the old ciphertext is still the only copy. So the host confirms each replacement once
//! it is stored (`trust_rewrapper_stored`, given the replacement's bytes: only a replacement this
//! handle issued and not yet confirmed is counted), and `trust_rewrapper_finish` records the
//! confirmed counts in the keyrings. A crash before `finish` leaves the census short, which is
//! safe: destroy keeps refusing, and running the job again only moves what is left.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};

use sha2::{Digest, Sha256};
use trust_core::keyring::{Home, ItemStatus, Rewrapper, Sealed};
use trust_core::provider::KeyRef;

use crate::boundary::{
    Failure, boundary, ffi_free, into_handle, try_opt_out, try_out, try_ref, try_slice, try_str,
};
use crate::bytes::trust_bytes;
use crate::error::trust_error;
use crate::gdpr::{SubjectKeysHandle, trust_subjects};
use crate::home::{trust_context, trust_home};
use crate::status::trust_status;

/// A rewrap job over a home: rewraps items and keeps the census of what the host stored.
///
/// Opaque; made by `trust_rewrapper_new`, freed by `trust_rewrapper_free` (counts confirmed but
/// not yet recorded by `trust_rewrapper_finish` are dropped: the census stays short, which only
/// makes destroy more cautious). Thread-safe: every function may be called from any number of
/// threads at once.
#[allow(non_camel_case_types)]
pub struct trust_rewrapper {
    home: Arc<Home>,
    subjects: Option<SubjectKeysHandle>,
    state: Mutex<Census>,
}

#[derive(Default)]
struct Census {
    /// SHA-256 of each replacement handed out and not yet confirmed → the version it moved off.
    issued: HashMap<[u8; 32], KeyRef>,
    /// Confirmed (stored by the host), not yet recorded in the keyrings.
    stored: BTreeMap<KeyRef, u64>,
}

impl trust_rewrapper {
    fn census(&self) -> std::sync::MutexGuard<'_, Census> {
        // Every change under the lock is one insert or remove: a panic cannot leave it torn.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Rewraps one item; `None` when it is already under its keyring's Primary.
    fn item(&self, item: &Sealed) -> Result<Option<Sealed>, Failure> {
        let job = Rewrapper::new(&self.home);
        let job = match &self.subjects {
            Some(s) => job.with_subjects(&**s),
            None => job,
        };
        match job.item(item) {
            (ItemStatus::Rewrapped { from, .. }, Some(replacement)) => {
                let bytes = match &replacement {
                    Sealed::Envelope(b) => b.as_slice(),
                    Sealed::Token { token, .. } => token.as_bytes(),
                };
                self.census().issued.insert(digest(bytes), from);
                Ok(Some(replacement))
            }
            (ItemStatus::Current { .. }, _) => Ok(None),
            (
                ItemStatus::Failed {
                    category,
                    code,
                    message,
                    ..
                },
                _,
            ) => Err(Failure::new(
                trust_status::from_category(category),
                code,
                message,
            )),
            _ => Err(Failure::new(
                trust_status::TrustInternal,
                "INTERNAL",
                "rewrap returned no replacement",
            )),
        }
    }
}

fn digest(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Makes a rewrap job over `home`. With `subjects` (NULL for none; made over the same home),
/// messages sealed for a data subject are rewrapped too and keep their subject; without it they
/// fail with `SUBJECT_MISMATCH`.
///
/// Errors: `TRUST_INVALID_ARGUMENT` when `subjects` was made over another home handle.
///
/// # Safety
/// `home` is a live home, `subjects` NULL or a live handle; `rewrapper_out` points to writable
/// storage for one pointer; `err_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_rewrapper_new(
    home: *const trust_home,
    subjects: *const trust_subjects,
    rewrapper_out: *mut *mut trust_rewrapper,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        let home = try_ref!(home);
        // SAFETY: NULL (no subject layer) or a live handle, per the contract.
        let subjects = unsafe { subjects.as_ref() };
        let out = try_out!(rewrapper_out);
        let subjects = match subjects {
            Some(s) if !Arc::ptr_eq(s.keys.tenant(), &home.inner) => {
                return Err(Failure::invalid(
                    "`subjects` was made over another home handle",
                ));
            }
            Some(s) => Some(Arc::clone(&s.keys)),
            None => None,
        };
        out.set(into_handle(trust_rewrapper {
            home: Arc::clone(&home.inner),
            subjects,
            state: Mutex::new(Census::default()),
        }));
        Ok(())
    })
}

/// Frees the job. NULL is a no-op. Confirmed counts not yet recorded are dropped (see the type).
///
/// # Safety
/// `rewrapper` is NULL or a live handle, not used after this call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_rewrapper_free(rewrapper: *mut trust_rewrapper) {
    ffi_free!(rewrapper);
}

/// Rewraps a binary envelope (from `trust_home_seal` or `trust_subjects_seal`) under its
/// keyring's current Primary. `*replacement_out` receives the new envelope to store in place of
/// the old one, or NULL when the envelope is already under the Primary (nothing to store).
/// After storing a replacement, confirm it with `trust_rewrapper_stored`.
///
/// Errors (the envelope is unchanged): `TRUST_VERIFICATION_FAILED` (`AUTHENTICATION_FAILED`,
/// `KEY_COMMITMENT_MISMATCH`: it does not authenticate), `TRUST_KEY_UNAVAILABLE` (its version
/// is disabled or destroyed, the keyring unknown, the subject erased), `TRUST_INVALID_ARGUMENT`
/// for bytes that are not an envelope.
///
/// # Safety
/// `rewrapper` is a live handle; `envelope` points to `envelope_len` readable bytes;
/// `replacement_out` points to writable storage for one pointer; `err_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_rewrapper_blob(
    rewrapper: *const trust_rewrapper,
    envelope: *const u8,
    envelope_len: usize,
    replacement_out: *mut *mut trust_bytes,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        let rewrapper = try_ref!(rewrapper);
        let envelope = try_slice!(envelope, envelope_len);
        let out = try_out!(replacement_out);
        let replacement = rewrapper.item(&Sealed::Envelope(envelope.to_vec()))?;
        out.set(match replacement {
            Some(Sealed::Envelope(bytes)) => trust_bytes::into_raw(&bytes),
            _ => core::ptr::null_mut(),
        });
        Ok(())
    })
}

/// As `trust_rewrapper_blob`, for a `tle1.` text token; tokens do not store their context, so
/// give the `context` it was sealed with (`AUTHENTICATION_FAILED` otherwise).
///
/// # Safety
/// As for `trust_rewrapper_blob`; `context` is a live context; `token` points to `token_len`
/// readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_rewrapper_token(
    rewrapper: *const trust_rewrapper,
    context: *const trust_context,
    token: *const u8,
    token_len: usize,
    replacement_out: *mut *mut trust_bytes,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        let rewrapper = try_ref!(rewrapper);
        let context = try_ref!(context);
        let token = try_str!(token, token_len);
        let out = try_out!(replacement_out);
        let replacement = rewrapper.item(&Sealed::Token {
            token: token.to_owned(),
            context: context.inner().clone(),
        })?;
        out.set(match replacement {
            Some(Sealed::Token { token, .. }) => trust_bytes::into_raw(token.as_bytes()),
            _ => core::ptr::null_mut(),
        });
        Ok(())
    })
}

/// Confirms that `replacement` (the bytes `trust_rewrapper_blob` or `_token` returned) is now
/// stored in place of the old item, so it counts in the census of the version it moved off.
/// Each replacement counts once.
///
/// Errors: `TRUST_INVALID_ARGUMENT` (code `REWRAP_NOT_ISSUED`) for bytes this job did not hand
/// out, or already confirmed: nothing is counted.
///
/// # Safety
/// `rewrapper` is a live handle; `replacement` points to `replacement_len` readable bytes;
/// `err_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_rewrapper_stored(
    rewrapper: *const trust_rewrapper,
    replacement: *const u8,
    replacement_len: usize,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        let rewrapper = try_ref!(rewrapper);
        let replacement = try_slice!(replacement, replacement_len);
        let mut census = rewrapper.census();
        let from = census.issued.remove(&digest(replacement)).ok_or_else(|| {
            Failure::new(
                trust_status::TrustInvalidArgument,
                "REWRAP_NOT_ISSUED",
                "this replacement was not issued by this rewrap job, or was confirmed already",
            )
        })?;
        *census.stored.entry(from).or_default() += 1;
        Ok(())
    })
}

/// Records the confirmed counts in each keyring (one compare-and-swap per keyring, a
/// `key.census` event per version), so `trust_home_destroy` can tell when nothing known still
/// needs an old version, and gives back the seals the home handle reserved but did not use
/// (seals are counted in blocks; other processes that sealed under the old version give theirs
/// back when they wind down, or keep the guard refusing, which is safe). Call it at the end of the job, and at checkpoints of a long one.
/// `*recorded_out` (NULL allowed) receives the number of replacements recorded by this call.
///
/// Errors: store failures; the counts not recorded stay pending and the next call retries them.
///
/// # Safety
/// `rewrapper` is a live handle; `recorded_out` is NULL or a writable `uint64_t`; `err_out` is
/// NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_rewrapper_finish(
    rewrapper: *const trust_rewrapper,
    recorded_out: *mut u64,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        let rewrapper = try_ref!(rewrapper);
        let recorded_out = try_opt_out!(recorded_out);
        let mut census = rewrapper.census();
        let mut job = Rewrapper::new(&rewrapper.home);
        let mut total = 0u64;
        for (from, n) in &census.stored {
            for _ in 0..*n {
                job.stored(from);
            }
            total += n;
        }
        let result = job.finish();
        // What the core did not record stays pending, in its own terms.
        let pending: BTreeMap<KeyRef, u64> = job
            .pending_census()
            .iter()
            .flat_map(|(name, versions)| {
                versions
                    .iter()
                    .map(move |(v, n)| (KeyRef::new(name.clone(), *v), *n))
            })
            .collect();
        let left: u64 = pending.values().sum();
        census.stored = pending;
        result?;
        // As the CLI's rewrap does at the end of a job: give back the seals this home reserved
        // but did not use, so the counters compared with the census are tight (otherwise a
        // reserved block keeps the destroy guard refusing).
        rewrapper.home.release_unused()?;
        if let Some(out) = recorded_out {
            out.set(total - left);
        }
        Ok(())
    })
}
