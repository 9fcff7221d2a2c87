//! Second factors: RFC 6238 TOTP with replay protection, and single-use recovery codes.
//!
//! A `trust_mfa` is trust-core's `mfa::Mfa` on a home: each factor's secret is sealed under the
//! home's `mfa` keyring (created on first use) and stored where the CLI keeps it
//! (`HOME/mfa/users/`, or the database of a home in PostgreSQL), so `trust mfa verify` checks a factor a C host enrolled and the reverse.
//! A code is accepted once: the last accepted time step per user and device advances by
//! compare-and-swap, so two workers racing the same code see one success. Attempts are limited
//! (5 per user per 30 seconds, per process); recovery codes are stored hashed.

use std::time::{Duration, UNIX_EPOCH};

use trust_core::mfa::{self, Algorithm, EnrollOptions, Mfa, TotpParams};
use trust_core::secret::ExposeSecret;
use zeroize::Zeroizing;

use crate::audit::trust_audit_log;
use crate::boundary::{
    Failure, boundary, ffi_free, into_handle, try_opt_out, try_out, try_ref, try_slice, try_str,
};
use crate::bytes::trust_bytes;
use crate::error::trust_error;
use crate::home::trust_home;
use crate::status::trust_status;
use crate::vault::{ensure_keyring, sink_of};

/// `algorithm` for `trust_mfa_enroll`: the default (SHA-1, what every authenticator app reads).
pub const TRUST_MFA_DEFAULT: u32 = 0;
/// `algorithm`: HMAC-SHA-1.
pub const TRUST_MFA_SHA1: u32 = 1;
/// `algorithm`: HMAC-SHA-256.
pub const TRUST_MFA_SHA256: u32 = 2;
/// `algorithm`: HMAC-SHA-512.
pub const TRUST_MFA_SHA512: u32 = 3;

/// The keyring factor secrets are sealed under (the CLI's).
const KEYRING: &str = "mfa";

/// Second factors on a home. Opaque; made by `trust_mfa_new`, freed by `trust_mfa_free`.
/// Thread-safe: every function may be called from any number of threads (and processes) at
/// once.
#[allow(non_camel_case_types)]
pub struct trust_mfa {
    inner: Mfa,
}

/// Opens the second factors of `home`, recording enrollments, verifications (accepted and
/// rejected) and removals in `audit_log` (NULL: not recorded). `issuer` (length 0: `trust`) is
/// the name authenticator apps show beside the account. The handle keeps its own references to
/// the home and the log.
///
/// Factors live in the home's own store: `HOME/mfa/users/` for a home in a directory, the
/// `trust_mfa_factors` and `trust_mfa_recovery` tables for a home in PostgreSQL.
///
/// # Safety
/// `home` is a live home; `issuer` points to `issuer_len` readable bytes; `audit_log` is NULL
/// or a live log; `mfa_out` points to writable storage for one pointer; `err_out` is NULL or
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_mfa_new(
    home: *const trust_home,
    issuer: *const u8,
    issuer_len: usize,
    audit_log: *const trust_audit_log,
    mfa_out: *mut *mut trust_mfa,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        let home = try_ref!(home);
        let issuer = try_str!(issuer, issuer_len);
        // SAFETY: NULL (no audit) or a live handle, per the contract.
        let audit_log = unsafe { audit_log.as_ref() };
        let out = try_out!(mfa_out);
        let store = home.location()?.mfa_store();
        ensure_keyring(&home.inner, KEYRING)?;
        let mut service =
            Mfa::new(store, home.inner.clone(), KEYRING).with_sink(sink_of(audit_log));
        if !issuer.is_empty() {
            service = service.with_issuer(issuer);
        }
        out.set(into_handle(trust_mfa { inner: service }));
        Ok(())
    })
}

/// Frees the handle. NULL is a no-op.
///
/// # Safety
/// `mfa` is NULL or a live handle, not used after this call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_mfa_free(mfa: *mut trust_mfa) {
    ffi_free!(mfa);
}

fn device_or_default(device: &str) -> &str {
    if device.is_empty() {
        mfa::DEFAULT_DEVICE
    } else {
        device
    }
}

/// Enrolls a TOTP factor for `user` on `device` (length 0: `default`) and returns its
/// `otpauth://` URI in `*uri_out` (it holds the secret: show it once, as text or a QR code;
/// zeroized when freed). `secret` imports an existing secret (16 to 128 bytes; length 0
/// generates one); `algorithm` is a `TRUST_MFA_*` value, `digits` 6 or 8 (0: 6).
///
/// Errors: `TRUST_INVALID_ARGUMENT` for a bad user, device, algorithm, digits or secret, and
/// (code `MFA_ALREADY_ENROLLED`) when the device already has a factor.
///
/// # Safety
/// `mfa` is a live handle; data pointers point to their lengths in readable bytes; `uri_out`
/// points to writable storage for one pointer; `err_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_mfa_enroll(
    mfa: *const trust_mfa,
    user: *const u8,
    user_len: usize,
    device: *const u8,
    device_len: usize,
    secret: *const u8,
    secret_len: usize,
    algorithm: u32,
    digits: u32,
    uri_out: *mut *mut trust_bytes,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        let mfa = try_ref!(mfa);
        let user = try_str!(user, user_len);
        let device = try_str!(device, device_len);
        let secret = try_slice!(secret, secret_len);
        let out = try_out!(uri_out);
        let mut params = TotpParams::default();
        params.algorithm = match algorithm {
            TRUST_MFA_DEFAULT => params.algorithm,
            TRUST_MFA_SHA1 => Algorithm::Sha1,
            TRUST_MFA_SHA256 => Algorithm::Sha256,
            TRUST_MFA_SHA512 => Algorithm::Sha512,
            _ => return Err(Failure::invalid("unknown MFA algorithm")),
        };
        if digits != 0 {
            params.digits =
                u8::try_from(digits).map_err(|_| Failure::invalid("digits must be 6 or 8"))?;
        }
        let options = EnrollOptions::new(
            params,
            (!secret.is_empty()).then(|| Zeroizing::new(secret.to_vec())),
        );
        let enrollment = mfa.inner.enroll(user, device_or_default(device), options)?;
        out.set(trust_bytes::into_raw(
            enrollment.uri.expose_secret().as_bytes(),
        ));
        Ok(())
    })
}

/// Checks `code` for `user` on `device` (length 0: `default`) at `now_unix` (Unix seconds; 0 =
/// the system clock) and, when it is accepted, burns its time step: the same code is refused
/// the second time, by any worker. Returns `TRUST_OK` and writes the accepted time step to
/// `*step_out` (if not NULL).
///
/// Errors: `TRUST_VERIFICATION_FAILED` (code `MFA_REJECTED`) for a wrong, expired, already used
/// or malformed code; `TRUST_REFUSED` (`MFA_RATE_LIMITED`) after too many attempts;
/// `TRUST_KEY_UNAVAILABLE` (`MFA_NOT_ENROLLED`).
///
/// # Safety
/// `mfa` is a live handle; data pointers point to their lengths in readable bytes; `step_out`
/// is NULL or a writable `uint64_t`; `err_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_mfa_verify(
    mfa: *const trust_mfa,
    user: *const u8,
    user_len: usize,
    device: *const u8,
    device_len: usize,
    code: *const u8,
    code_len: usize,
    now_unix: i64,
    step_out: *mut u64,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        let mfa = try_ref!(mfa);
        let user = try_str!(user, user_len);
        let device = device_or_default(try_str!(device, device_len));
        let code = try_str!(code, code_len);
        let step_out = try_opt_out!(step_out);
        let step = match now_unix {
            0 => mfa.inner.verify(user, device, code)?,
            n => {
                let secs = u64::try_from(n)
                    .map_err(|_| Failure::invalid("now_unix must be 0 or positive"))?;
                let now = UNIX_EPOCH
                    .checked_add(Duration::from_secs(secs))
                    .ok_or_else(|| Failure::invalid("now_unix is out of range"))?;
                mfa.inner.verify_at(user, device, code, now)?
            }
        };
        if let Some(out) = step_out {
            out.set(step);
        }
        Ok(())
    })
}

/// Makes a new set of single-use recovery codes for `user` (replacing any earlier set) and
/// returns them as a JSON array of strings in `*codes_out` (show them once; zeroized when
/// freed). Only their hashes are stored.
///
/// Errors: `TRUST_KEY_UNAVAILABLE` (`MFA_NOT_ENROLLED`).
///
/// # Safety
/// `mfa` is a live handle; `user` points to `user_len` readable bytes; `codes_out` points to
/// writable storage for one pointer; `err_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_mfa_recovery_codes(
    mfa: *const trust_mfa,
    user: *const u8,
    user_len: usize,
    codes_out: *mut *mut trust_bytes,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        let mfa = try_ref!(mfa);
        let user = try_str!(user, user_len);
        let out = try_out!(codes_out);
        let codes = mfa.inner.new_recovery_codes(user)?;
        let exposed: Vec<&str> = codes.iter().map(|c| c.expose_secret()).collect();
        let json = Zeroizing::new(serde_json::to_vec(&exposed).map_err(|_| {
            Failure::new(
                trust_status::TrustInternal,
                "INTERNAL",
                "could not serialize the codes",
            )
        })?);
        out.set(trust_bytes::into_raw(&json));
        Ok(())
    })
}

/// Redeems one recovery code of `user` (instead of a TOTP code): accepted once, then burnt.
///
/// Errors: `TRUST_VERIFICATION_FAILED` (`MFA_REJECTED`) for an unknown or used code;
/// `TRUST_REFUSED` (`MFA_RATE_LIMITED`); `TRUST_KEY_UNAVAILABLE` (`MFA_NOT_ENROLLED`).
///
/// # Safety
/// `mfa` is a live handle; data pointers point to their lengths in readable bytes; `err_out` is
/// NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_mfa_redeem_recovery_code(
    mfa: *const trust_mfa,
    user: *const u8,
    user_len: usize,
    code: *const u8,
    code_len: usize,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        let mfa = try_ref!(mfa);
        let user = try_str!(user, user_len);
        let code = try_str!(code, code_len);
        mfa.inner.redeem_recovery_code(user, code)?;
        Ok(())
    })
}

/// Removes every factor and recovery code of `user`; `*removed_out` (if not NULL) says whether
/// there was anything to remove. Recorded in the audit log.
///
/// # Safety
/// `mfa` is a live handle; `user` points to `user_len` readable bytes; `removed_out` is NULL or
/// a writable `bool`; `err_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trust_mfa_remove(
    mfa: *const trust_mfa,
    user: *const u8,
    user_len: usize,
    removed_out: *mut bool,
    err_out: *mut *mut trust_error,
) -> trust_status {
    boundary(err_out, || {
        let mfa = try_ref!(mfa);
        let user = try_str!(user, user_len);
        let removed_out = try_opt_out!(removed_out);
        let removed = mfa.inner.remove(user)?;
        if let Some(out) = removed_out {
            out.set(removed);
        }
        Ok(())
    })
}
